"""`simulate()`: the planted-truth genome of `simulation.genome`, written as real files: DNA with planted
motifs, bigWigs, contacts, GTF, YAML, and the truth tables.

Each chromosome is generated and written in turn (FASTA, four bigWigs, HiCDCPlus table), then the
.cool, GTF, chrom.sizes, motif file and `cell.yaml`. Random streams are keyed by (seed, chromosome,
component), so every file is a function of the seed alone.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..errors import InvalidInputError
from ..geometry import EPI_TRACKS, TRACK_BIN
from .genome import (
    BIN,
    ELEMENT,
    PRESETS,
    PROXIMAL_MAX,
    SimConfig,
    SimulatedGenome,
    Truth,
    _file_layout,
    _layout,
    _links,
    _loop_lookup,
    _tf_targets,
    expected_cage,
    rng_for,
    simulation_motifs,
)

SITE_COLUMNS = ["chrom", "start", "end", "strand", "tf", "matrix_id", "enhancer_id", "sequence"]
_SLOT = 50  # motif sites sit in 50 bp slots of an enhancer element
# track -> (background counts per 100 bp, [(feature, height per unit activity, peak sd in bp)])
TRACK_MODEL = {
    "h3k4me3": (0.5, [("promoter", 40.0, 800.0), ("enhancer", 1.0, 500.0)]),
    "h3k27ac": (1.0, [("promoter", 15.0, 1000.0), ("enhancer", 12.0, 800.0)]),
    "dnase": (0.8, [("promoter", 20.0, 200.0), ("enhancer", 15.0, 200.0), ("inactive", 3.0, 200.0)]),
}
_NB_SHAPE = 4.0  # gamma shape of the negative-binomial track noise
_CAGE_SD = 20.0  # bp spread of CAGE reads around a TSS
_CAGE_BACKGROUND = 2e-5  # background CAGE reads per bp


def random_bases(gc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 codes (A=0 C=1 G=2 T=3), i.i.d. with per-position GC probability `gc`."""
    u = rng.random(len(gc), dtype=np.float32)
    return np.where(u < gc / 2, 1, np.where(u < gc, 2, np.where(u < (1 + gc) / 2, 0, 3))).astype(np.uint8)


def _gc_profile(length: int, tss: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """GC content varying per 50 kb (mean 41%), GC-rich (62%) within 500 bp of each TSS."""
    segments = np.clip(rng.normal(0.41, 0.04, length // 50_000 + 1), 0.3, 0.55).astype(np.float32)
    gc = np.repeat(segments, 50_000)[:length]
    for t in tss:
        gc[max(0, t - 500) : t + 500] = 0.62
    return gc


def site_probabilities(pfm: np.ndarray, sharpness: float = 1.0) -> np.ndarray:
    """Per-position base probabilities that planted sites are drawn from: the PFM's frequencies raised
    to `sharpness` and renormalised (1: the JASPAR frequencies; larger: closer to the consensus)."""
    freq = pfm / pfm.sum(1, keepdims=True)
    if sharpness != 1.0:
        freq = freq**sharpness
        freq = freq / freq.sum(1, keepdims=True)
    return freq


def _plant_sites(codes: np.ndarray, enh: pd.DataFrame, pfms: dict[str, Any], rng: np.random.Generator,
                 sharpness: float = 1.0) -> list[dict]:
    """Write PFM-sampled TF sites into the enhancers' slots; returns one row per site."""
    rows = []
    probs = {tf: np.cumsum(site_probabilities(m.pfm, sharpness), axis=1)[:, :3] for tf, m in pfms.items()}
    counts = enh[[f"n_{tf}" for tf in pfms]].to_numpy()  # (a TF name like GATA1::TAL1 is no attribute name)
    for e, n_sites in zip(enh.itertuples(), counts):
        tfs = [tf for tf, n in zip(pfms, n_sites) for _ in range(n)]
        slots = rng.choice(ELEMENT // _SLOT, len(tfs), replace=False)
        for tf, slot in zip(tfs, slots):
            site = (rng.random(len(probs[tf]))[:, None] > probs[tf]).sum(1).astype(np.uint8)
            strand = "+" if rng.random() < 0.5 else "-"
            written = site if strand == "+" else 3 - site[::-1]
            start = int(e.start) + int(slot) * _SLOT + 5
            codes[start : start + len(site)] = written
            rows.append(
                {
                    "chrom": e.chrom, "start": start, "end": start + len(site), "strand": strand, "tf": tf,
                    "matrix_id": pfms[tf].matrix_id, "enhancer_id": e.enhancer_id,
                    "sequence": "".join("ACGT"[b] for b in written),
                }
            )
    return rows


def _write_fasta_record(fh, chrom: str, codes: np.ndarray, width: int = 60) -> str:
    """Append one record (60 bases per line); returns its .fai line."""
    header = f">{chrom}\n".encode()
    fh.write(header)
    offset = fh.tell()
    body = np.frombuffer(b"ACGTN", dtype=np.uint8)[codes]
    full = len(body) // width
    lines = np.empty((full, width + 1), dtype=np.uint8)
    lines[:, :width] = body[: full * width].reshape(full, width)
    lines[:, width] = ord("\n")
    fh.write(lines.tobytes())
    if len(body) % width:
        fh.write(body[full * width :].tobytes() + b"\n")
    return f"{chrom}\t{len(body)}\t{offset}\t{width}\t{width + 1}\n"


def _peaks(n_bins: int, centres: np.ndarray, heights: np.ndarray, sd: float) -> np.ndarray:
    """Gaussian peaks (height at the centre) summed on 100 bp bins."""
    half = int(4 * sd / TRACK_BIN) + 1
    bins = centres[:, None] // TRACK_BIN + np.arange(-half, half + 1)[None, :]
    mid = bins * TRACK_BIN + TRACK_BIN / 2
    weights = heights[:, None] * np.exp(-0.5 * ((mid - centres[:, None]) / sd) ** 2)
    ok = (bins >= 0) & (bins < n_bins)
    return np.bincount(bins[ok], weights=weights[ok], minlength=n_bins)


def _tracks(length: int, genes: pd.DataFrame, enh: pd.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Noisy counts per 100 bp bin for each epigenomic track."""
    n_bins = -(-length // TRACK_BIN)
    inactive = enh[enh["activity"] <= 0]
    active = enh[enh["activity"] > 0]
    features = {
        "promoter": (genes["tss"].to_numpy(), genes["promoter_activity"].to_numpy()),
        "enhancer": (active["centre"].to_numpy(), active["activity"].to_numpy()),
        "inactive": (inactive["centre"].to_numpy(), np.ones(len(inactive))),
    }
    out = {}
    for name, (background, peaks) in TRACK_MODEL.items():
        mean = np.full(n_bins, background)
        for feature, height, sd in peaks:
            centres, scale = features[feature]
            mean += _peaks(n_bins, centres, height * scale, sd)
        out[name] = rng.poisson(mean * rng.gamma(_NB_SHAPE, 1 / _NB_SHAPE, n_bins)).astype(np.float64)
    return out


def _cage_reads(length: int, genes: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(positions, counts) of CAGE 5' ends: each gene's reads around its TSS plus sparse background."""
    reads = genes["cage_reads"].to_numpy()
    pos = np.repeat(genes["tss"].to_numpy(), reads) + np.rint(rng.normal(0, _CAGE_SD, reads.sum())).astype(np.int64)
    noise = rng.integers(0, length, rng.poisson(length * _CAGE_BACKGROUND))
    return np.unique(np.clip(np.concatenate([pos, noise]), 0, length - 1), return_counts=True)


def _add(bw, chrom: str, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
    keep = values != 0
    chroms = [chrom] * int(keep.sum())
    bw.addEntries(chroms, starts[keep].tolist(), ends=ends[keep].tolist(), values=values[keep].tolist())


def _contacts(cfg: SimConfig, chrom: str, length: int, lookup: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Every bin pair within `hic_max_distance`: Poisson counts around depth * C, HiCDC-style p/q-values."""
    from scipy.stats import poisson

    from ..prep.contacts.significance import benjamini_hochberg

    n = -(-length // BIN)
    max_d = min(cfg.hic_max_distance // BIN, n - 1)
    d = np.concatenate([np.full(n - k, k) for k in range(max_d + 1)])
    i = np.concatenate([np.arange(n - k) for k in range(max_d + 1)])
    mu = cfg.hic_depth * (1.0 + d) ** -cfg.alpha
    extra = np.zeros(len(d))
    starts = np.concatenate([[0], np.cumsum(n - np.arange(max_d))])
    for (c, lo, hi), strength in lookup.items():
        if c == chrom and hi - lo <= max_d:
            extra[starts[hi - lo] + lo] += cfg.hic_depth * strength
    counts = rng.poisson(mu + extra)
    pvalue = poisson.sf(counts - 1, mu)
    return pd.DataFrame({"bin1": i, "bin2": i + d, "count": counts, "mu": mu, "pvalue": pvalue,
                         "qvalue": benjamini_hochberg(pvalue)})


def _write_hicdcplus(path: Path, chrom: str, length: int, table: pd.DataFrame, fdr: float) -> None:
    """HiCDCPlus `gi_list_write(rows="significant")` format: headered, 12 columns, qvalue < fdr."""
    sig = table[table["qvalue"] < fdr].sort_values(["bin1", "bin2"])
    start_i, start_j = sig["bin1"] * BIN, sig["bin2"] * BIN
    pd.DataFrame(
        {
            "chrI": chrom, "startI": start_i, "endI": np.minimum(start_i + BIN, length),
            "chrJ": chrom, "startJ": start_j, "endJ": np.minimum(start_j + BIN, length),
            "D": start_j - start_i, "counts": sig["count"], "pvalue": sig["pvalue"], "qvalue": sig["qvalue"],
            "mu": sig["mu"], "sdev": np.sqrt(sig["mu"]),
        }
    ).to_csv(path, sep="\t", index=False, float_format="%.6g")


def _write_cool(path: Path, sizes: dict[str, int], tables: list[pd.DataFrame]) -> None:
    import cooler

    bins = cooler.binnify(pd.Series(sizes), BIN)
    offsets = np.concatenate([[0], np.cumsum([-(-s // BIN) for s in sizes.values()])])
    pixels = pd.concat(
        [pd.DataFrame({"bin1_id": t["bin1"] + o, "bin2_id": t["bin2"] + o, "count": t["count"]})[t["count"] > 0]
         for t, o in zip(tables, offsets)],
        ignore_index=True,
    ).sort_values(["bin1_id", "bin2_id"], ignore_index=True)
    cooler.create_cooler(str(path), bins, pixels, ordered=True, dtypes={"count": np.int32}, assembly="synth1")


def _write_gtf(path: Path, genes: pd.DataFrame) -> None:
    lines = []
    for k, g in enumerate(genes.itertuples(), 1):
        attrs = f'gene_id "{g.gene_id}"; gene_name "{g.gene_name}"; gene_type "protein_coding";'
        cols = f"{g.chrom}\tsynth\t{{}}\t{g.start + 1}\t{g.end}\t.\t{g.strand}\t."
        lines.append(cols.format("gene") + "\t" + attrs)
        transcript = f'transcript_id "SYNT{k:07d}"; transcript_type "protein_coding";'
        lines.append(cols.format("transcript") + f"\t{attrs} {transcript}")
    path.write_text("\n".join(lines) + "\n")


def _write_cell_yaml(path: Path, cfg: SimConfig, files: dict[str, Path], sizes: dict[str, int]) -> None:
    import yaml

    rel = {k: str(p.relative_to(path.parent)) for k, p in files.items()}
    spec = {
        "name": cfg.cell,
        "genome": cfg.genome,
        "chrom_sizes": rel["chrom_sizes"],
        "chromosomes": list(sizes),
        "tracks": {k: {"path": rel[k], "stat": "max"} for k in EPI_TRACKS},
        "cage": {"path": rel["cage"], "stat": "sum"},
        "graph": {"format": "hicdcplus", "path": rel["hicdcplus_template"], "fdr": cfg.fdr},
        "genes": {"path": rel["gtf"], "format": "gtf"},
        "fasta": rel["fasta"],
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def write_all(
    out: Path, cfg: SimConfig, sizes: dict[str, int], genes: pd.DataFrame, enh: pd.DataFrame,
    loops: pd.DataFrame, pfms: dict[str, Any],
) -> pd.DataFrame:
    """Write every file of a simulated genome under `out`; returns the planted motif sites."""
    import pyBigWig

    from ..interpret.motifs import write_jaspar

    files = _file_layout(out, cfg)
    for folder in ("tracks", "hicdcplus"):
        (files["cage"].parent if folder == "tracks" else files[folder]).mkdir(parents=True, exist_ok=True)
    lookup = _loop_lookup(loops)
    bws = {k: pyBigWig.open(str(files[k]), "w") for k in (*TRACK_MODEL, "cage")}
    for bw in bws.values():
        bw.addHeader(list(sizes.items()), maxZooms=10)
    sites, fai, contacts = [], [], []
    with open(files["fasta"], "wb") as fasta:
        for c, (chrom, length) in enumerate(sizes.items()):
            g, e = genes[genes["chrom"] == chrom], enh[enh["chrom"] == chrom]
            gc = _gc_profile(length, g["tss"].to_numpy(), rng_for(cfg.seed, c, 1))
            codes = random_bases(gc, rng_for(cfg.seed, c, 2))
            sites += _plant_sites(codes, e, pfms, rng_for(cfg.seed, c, 3), cfg.site_sharpness)
            fai.append(_write_fasta_record(fasta, chrom, codes))
            starts = np.arange(0, length, TRACK_BIN)
            for name, values in _tracks(length, g, e, rng_for(cfg.seed, c, 4)).items():
                _add(bws[name], chrom, starts, np.minimum(starts + TRACK_BIN, length), values)
            pos, count = _cage_reads(length, g, rng_for(cfg.seed, c, 5))
            _add(bws["cage"], chrom, pos, pos + 1, count.astype(np.float64))
            contacts.append(_contacts(cfg, chrom, length, lookup, rng_for(cfg.seed, c, 6)))
            hicdc = Path(str(files["hicdcplus_template"]).format(chrom=chrom))
            _write_hicdcplus(hicdc, chrom, length, contacts[-1], cfg.fdr)
    for bw in bws.values():
        bw.close()
    files["fai"].write_text("".join(fai))
    files["chrom_sizes"].write_text("".join(f"{k}\t{v}\n" for k, v in sizes.items()))
    _write_cool(files["cool"], sizes, contacts)
    _write_gtf(files["gtf"], genes)
    write_jaspar(pfms.values(), files["motifs"])
    _write_cell_yaml(files["cell_yaml"], cfg, files, sizes)
    return pd.DataFrame(sites, columns=SITE_COLUMNS)


def simulate(
    out_dir: str | Path,
    *,
    seed: int = 0,
    preset: str = "default",
    n_chroms: int | None = None,
    chrom_length: int | None = None,
    motifs: str | Path | None = None,
    **options: Any,
) -> SimulatedGenome:
    """Write a seeded synthetic genome (files + truth tables) to `out_dir` and return it.

    Args:
        out_dir: folder to (re)write atomically.
        seed: everything is a function of the seed (same seed -> same data).
        preset: `default` (5 x 10 Mb), `demo` (4 x 6 Mb, trains a tiny model in well under a
            minute) or `tiny` (2 x 3 Mb, for tests).
        n_chroms, chrom_length: override the preset's size.
        motifs: a JASPAR/MEME file holding the matrices of `activator`, `partner` (two of MA0035.5, MA0140.3,
            MA0493.3) and CTCF (MA0139.2); default: the package's copy of those JASPAR 2024 matrices.
        **options: any other `SimConfig` field (loop_fraction, alpha, b0, b1, w, hic_depth, ...).
    """
    if preset not in PRESETS:
        raise InvalidInputError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
    known = {f.name for f in dataclasses.fields(SimConfig)} - {"seed", "n_chroms", "chrom_length"}
    unknown = set(options) - known
    if unknown:
        raise InvalidInputError(f"unknown simulate option(s) {sorted(unknown)}; known: {sorted(known)}")
    size = {k: v for k, v in (("n_chroms", n_chroms), ("chrom_length", chrom_length)) if v is not None}
    cfg = SimConfig(seed=seed, **{**PRESETS[preset], **size, **options})
    pfms = simulation_motifs(cfg, motifs)
    sizes = cfg.chrom_sizes()
    genes, enh, loops = _layout(cfg, sizes)
    links = _links(cfg, genes, enh, loops)
    params = {**dataclasses.asdict(cfg), "tf_effect": cfg.tf_effect(), "motif_ids": cfg.motif_ids(), "bin": BIN,
              "proximal_max": PROXIMAL_MAX}
    genes = genes.assign(tss_bin=genes["tss"] // BIN)
    terms = expected_cage(genes, links, params).drop(columns="gene_id")
    genes = pd.concat([genes, terms], axis=1)
    genes["has_loop"] = genes["gene_id"].isin(loops["gene_id"][loops["kind"] == "enhancer-promoter"])
    genes["cage_reads"] = rng_for(cfg.seed, 10**6, 1).poisson(genes["expected_cage"].to_numpy())
    tf_targets = _tf_targets(cfg, genes, enh, links)
    out_dir = Path(out_dir)
    with atomic_path(out_dir, directory=True) as tmp:
        sites = write_all(Path(tmp), cfg, sizes, genes, enh, loops, pfms)
        truth = Truth(genes, enh, links, loops, sites, tf_targets, params)
        truth.save(Path(tmp) / "truth")
    return SimulatedGenome(out_dir, _file_layout(out_dir, cfg), truth, cfg)
