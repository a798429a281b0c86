"""Synthetic genomes with known regulation, written as real input files: `simulate(out_dir)`.

A seeded genome build `synth1` (chr1..chrN) gets genes (~1 per 100 kb), candidate enhancers
(proximal ones around each gene, some active; distal ones 100 kb-1 Mb away joined to a target
promoter by a chromatin loop; decoy active enhancers joined to nothing), DNA with planted real
JASPAR motifs, a 5 kb contact map, three epigenomic tracks and CAGE. The CAGE formula:

    cage_g   ~ Poisson(lambda_g)                                   (reads at gene g's TSS)
    lambda_g = exp(b0 + b1 * ln P_g) * (1 + w * S_g)
    S_g      = sum over active enhancers e on g's chromosome with |centre_e - tss_g| <= 1 Mb of
               C(e, g) * A_e
    C(e, g)  = (1 + d)^-alpha + (sum of strengths of the loops joining bin(e) and bin(g))
               d = |bin(e) - bin(g)| in 5 kb bins
    A_e      = eps_e * (1.0 * n_GATA1(e) + 0.6 * n_KLF1(e) + 0 * n_CTCF(e)),  eps_e ~ LogNormal(0, 0.25)

P_g ~ LogNormal(0, 1) is the promoter activity and n_TF(e) the number of TF sites planted in
enhancer e (sampled from the JASPAR PFMs MA0035.5 GATA1, MA0493.3 KLF1, MA0139.2 CTCF; CTCF is
neutral; the `activator` and `partner` options replace GATA1 and KLF1, e.g. by KLF1 and the GATA1::TAL1
composite MA0140.3). Defaults: b0 = ln 10, b1 = 1, w = 2, alpha = 1.5 (steep: (1 + d)^-1.5 is
0.35 for the next bin and 0.01 at 100 kb, while a loop adds 0.4-1.0). The Hi-C expectation of a bin pair is
`hic_depth * C`, so the contact map carries exactly the C of the formula; counts are Poisson.
Genes: TSS ~1 per 100 kb, P_g ~ LogNormal(0, 1). Enhancers (400 bp): 2 + Poisson(1.5) proximal
candidates 3-60 kb from each TSS, 40% active (Binomial(3, 0.5) GATA1 and Binomial(2, 0.5) KLF1
sites, at least one); for a fraction `loop_fraction` (0.5) of genes, 1-2 loop-connected distal
enhancers 100 kb-1 Mb away with 3-5 GATA1 sites; as many decoys with the same marks at random
places, joined to nothing, and as many structural loops join random places 100 kb-1 Mb apart
(they enter C like any loop). So only the graph tells which distal enhancer acts on which gene.
CTCF sites (30% of elements) have no effect. `activator`, `partner`, `promoter_sd`, `proximal_active`,
`activator_fraction` and `site_sharpness` (defaults GATA1, KLF1, 1.0, 0.4, 1.0, 1.0: the numbers above)
shape what a sequence model can learn; the `sequence` preset lets KLF1 lead on 30% of the active elements
only (the GATA1::TAL1 composite alone drives the rest) with promoter_sd 0.3, and draws sites from the PFM
frequencies raised to the 4th power (near the consensus). GATA1's 7 bp sites also occur by chance all over
background DNA, about twice as often as KLF1's (docs/simulation.md: why the sequence demo leads with KLF1).

Tracks (counts per 100 bp, negative-binomial noise around a flat background): H3K4me3 peaks at
promoters (height 40 P_g), H3K27ac at promoters (15 P_g) and active enhancers (12 A_e), DNase at
promoters (20 P_g), active enhancers (15 A_e) and weakly at inactive candidates (3). The file
layout, truth tables and the `cell.yaml` for `graphreg_zoo.prep` are described in
docs/simulation.md; `oracle_cage(truth)` recomputes every lambda_g from the truth tables.
"""
from __future__ import annotations

import bisect
import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from ..geometry import EPI_TRACKS

BIN = 5000
MARGIN = 100_000  # no genes or enhancers this close to a chromosome end
ELEMENT = 400  # candidate enhancer width (bp)
PROXIMAL_MAX = 100_000  # links closer than this are "proximal"
DECOY_TSS_GAP = 30_000  # decoy enhancers keep this far from every TSS
# the TFs that can drive elements: the lead `activator` (effect 1.0 per site) and its `partner` (0.6)
ACTIVATORS = {"GATA1": "MA0035.5", "GATA1::TAL1": "MA0140.3", "KLF1": "MA0493.3"}
NEUTRAL = {"CTCF": "MA0139.2"}  # sites on 30% of elements, no effect
PACKAGE_MOTIFS = Path(__file__).resolve().parents[1] / "_demo" / "sim_motifs.jaspar"
PRESETS = {
    "default": {"n_chroms": 5, "chrom_length": 10_000_000},
    "demo": {"n_chroms": 4, "chrom_length": 6_000_000},
    "tiny": {"n_chroms": 2, "chrom_length": 3_000_000},
    # the sequence demo: KLF1 leads on 30% of active elements (the GATA1::TAL1 composite alone drives the
    # rest), promoters nearly uniform (their strength is not in the DNA), so the KLF1 knockout truth is a
    # minority of genes; KLF1 because the pilots' sequence trunks learned it and never GATA1 (docs/simulation.md);
    # sites near the consensus, so that a motif scan finds the planted sites; 8 chromosomes, so that the heads
    # train on the 18 windows of chr1-6 (the pilots' 6 windows gave a weaker knockout)
    "sequence": {"n_chroms": 8, "chrom_length": 6_000_000, "activator": "KLF1", "partner": "GATA1::TAL1",
                 "activator_fraction": 0.3, "promoter_sd": 0.3, "site_sharpness": 4.0},
}
TRUTH_TABLES = ("genes", "enhancers", "links", "loops", "motif_sites", "tf_targets")


@dataclass(frozen=True)
class SimConfig:
    """Every knob of the simulation (stored in truth/params.json)."""

    seed: int = 0
    n_chroms: int = 5
    chrom_length: int = 10_000_000
    gene_spacing: int = 100_000
    loop_fraction: float = 0.5
    proximal_active: float = 0.4
    activator: str = "GATA1"
    partner: str = "KLF1"
    activator_fraction: float = 1.0
    promoter_sd: float = 1.0
    site_sharpness: float = 1.0
    alpha: float = 1.5
    b0: float = math.log(10.0)
    b1: float = 1.0
    w: float = 2.0
    max_link_distance: int = 1_000_000
    hic_depth: float = 300.0
    hic_max_distance: int = 2_000_000
    fdr: float = 0.1
    cell: str = "synth"
    genome: str = "synth1"

    def __post_init__(self) -> None:
        if self.n_chroms < 1 or self.chrom_length < 2 * MARGIN + 10 * BIN:
            raise InvalidInputError(
                f"need n_chroms >= 1 and chrom_length >= {2 * MARGIN + 10 * BIN:,} bp; "
                f"got {self.n_chroms} x {self.chrom_length:,}"
            )
        fractions = (self.loop_fraction, self.proximal_active, self.activator_fraction)
        if not all(0 <= f <= 1 for f in fractions) or not 0 < self.fdr < 1:
            raise InvalidInputError(
                "loop_fraction, proximal_active and activator_fraction must be in [0, 1] and fdr in (0, 1)"
            )
        if {self.activator, self.partner} - set(ACTIVATORS) or self.activator == self.partner:
            raise InvalidInputError(f"activator and partner must be two of {', '.join(ACTIVATORS)}; "
                                    f"got {self.activator!r} and {self.partner!r}")
        if self.promoter_sd < 0:
            raise InvalidInputError(f"promoter_sd must be >= 0, got {self.promoter_sd}")
        if self.site_sharpness < 1:
            raise InvalidInputError(f"site_sharpness must be >= 1 (1: sites drawn from the JASPAR frequencies), "
                                    f"got {self.site_sharpness}")

    def motif_ids(self) -> dict[str, str]:
        """JASPAR matrix ID of each planted TF: the lead activator, its partner, the neutral CTCF."""
        return {self.activator: ACTIVATORS[self.activator], self.partner: ACTIVATORS[self.partner], **NEUTRAL}

    def tf_effect(self) -> dict[str, float]:
        """Each planted TF's contribution per site to an element's activity A_e."""
        return {self.activator: 1.0, self.partner: 0.6, **dict.fromkeys(NEUTRAL, 0.0)}

    def chrom_sizes(self) -> dict[str, int]:
        """chr1 has `chrom_length` bp; each next one is ~2.5% shorter and not a multiple of 5 kb."""
        return {f"chr{i + 1}": int(self.chrom_length * (1 - 0.025 * i)) + 777 * i for i in range(self.n_chroms)}


@dataclass
class Truth:
    """Ground truth: genes, enhancers, enhancer-gene links, loops, motif sites, TF knockouts."""

    genes: pd.DataFrame
    enhancers: pd.DataFrame
    links: pd.DataFrame
    loops: pd.DataFrame
    motif_sites: pd.DataFrame
    tf_targets: pd.DataFrame
    params: dict[str, Any]

    def save(self, folder: Path) -> None:
        """Write one TSV per table plus params.json."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in TRUTH_TABLES:
            getattr(self, name).to_csv(folder / f"{name}.tsv", sep="\t", index=False, float_format="%.6g")
        (folder / "params.json").write_text(json.dumps(self.params, indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> "Truth":
        """Read the tables written by `save`."""
        folder = Path(folder)
        if not (folder / "params.json").is_file():
            raise InvalidInputError(f"{folder} is not a simulated genome's truth folder (no params.json)")
        tables = {name: pd.read_csv(folder / f"{name}.tsv", sep="\t") for name in TRUTH_TABLES}
        return cls(**tables, params=json.loads((folder / "params.json").read_text()))


@dataclass
class SimulatedGenome:
    """A simulated genome on disk: `files` maps each role to its path; `truth` holds the tables."""

    out_dir: Path
    files: dict[str, Path]
    truth: Truth
    config: SimConfig = field(repr=False)

    @classmethod
    def load(cls, out_dir: str | Path) -> "SimulatedGenome":
        """Reopen a folder written by `simulate`."""
        out_dir = Path(out_dir)
        truth = Truth.load(out_dir / "truth")
        params = {("activator_fraction" if k == "gata1_fraction" else k): v for k, v in truth.params.items()}
        config = SimConfig(**{f.name: params[f.name] for f in dataclasses.fields(SimConfig) if f.name in params})
        return cls(out_dir, _file_layout(out_dir, config), truth, config)


def _file_layout(out: Path, cfg: SimConfig) -> dict[str, Path]:
    fdr_tag = f"{cfg.fdr:g}".split(".")[-1]  # HiCDCPlus naming: 0.1 -> 1, 0.01 -> 01
    tracks = {k: out / "tracks" / f"{k}.bw" for k in (*EPI_TRACKS, "cage")}
    return {
        "cell_yaml": out / "cell.yaml",
        "chrom_sizes": out / f"{cfg.genome}.chrom.sizes",
        "fasta": out / f"{cfg.genome}.fa",
        "fai": out / f"{cfg.genome}.fa.fai",
        "gtf": out / "genes.gtf",
        "motifs": out / "motifs.jaspar",
        **tracks,
        "cool": out / "contacts" / f"{cfg.cell}_5kb.cool",
        "hicdcplus": out / "contacts" / "hicdcplus",
        "hicdcplus_template": out / "contacts" / "hicdcplus" / f"{cfg.cell}_HiC_FDR_{fdr_tag}_{{chrom}}",
        "truth": out / "truth",
    }


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent, reproducible stream for (seed, keys...)."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def simulation_motifs(cfg: SimConfig, jaspar: str | Path | None = None) -> dict[str, Any]:
    """The PFMs of `cfg`'s planted TFs by TF name, from `jaspar` or the package's copy of the JASPAR 2024
    matrices."""
    from ..interpret.motifs import read_motifs

    by_id = {m.matrix_id: m for m in read_motifs(jaspar or PACKAGE_MOTIFS)}
    ids = cfg.motif_ids()
    missing = [i for i in ids.values() if i not in by_id]
    if missing:
        raise InvalidInputError(f"{jaspar}: the simulator needs JASPAR matrices {', '.join(missing)}")
    return {tf: by_id[i] for tf, i in ids.items()}


# ----------------------------------------------------------------------------------- layout


def _genes(cfg: SimConfig, chrom: str, length: int, rng: np.random.Generator, first_id: int) -> pd.DataFrame:
    n = max(2, length // cfg.gene_spacing)
    tss = np.sort(rng.integers(MARGIN, length - MARGIN, n))
    tss = tss[np.concatenate([[True], np.diff(tss) >= 10_000])]
    strand = rng.choice(np.array(["+", "-"]), len(tss))
    body = np.clip(rng.lognormal(math.log(20_000), 0.8, len(tss)), 2_000, 100_000).astype(np.int64)
    plus = strand == "+"
    start = np.where(plus, tss, tss - body + 1)
    end = np.where(plus, tss + body, tss + 1)
    k = np.arange(len(tss))
    return pd.DataFrame(
        {
            "gene_id": [f"SYNG{first_id + i:07d}" for i in k],
            "gene_name": [f"SG_{chrom}_{i + 1:03d}" for i in k],
            "chrom": chrom,
            "tss": tss,
            "strand": strand,
            "start": start,
            "end": end,
            "promoter_activity": rng.lognormal(0.0, cfg.promoter_sd, len(tss)),
        }
    )


def _candidates(cfg: SimConfig, genes: pd.DataFrame, length: int, rng: np.random.Generator) -> pd.DataFrame:
    """Proximal, loop-connected distal and decoy enhancer candidates (before collision removal)."""
    rows = []
    for g in genes.itertuples():
        for _ in range(2 + rng.poisson(1.5)):
            offset = rng.choice([-1, 1]) * math.exp(rng.uniform(math.log(3_000), math.log(60_000)))
            active = rng.random() < cfg.proximal_active
            rows.append(("proximal", g.tss + offset, g.gene_id, 0.0, active))
        if rng.random() < cfg.loop_fraction:
            for _ in range(1 + int(rng.random() < 0.5)):
                dist = math.exp(rng.uniform(math.log(100_000), math.log(cfg.max_link_distance)))
                side = rng.choice([-1, 1])
                centre = g.tss + side * dist
                centre = centre if MARGIN <= centre < length - MARGIN else g.tss - side * dist
                if MARGIN <= centre < length - MARGIN:
                    rows.append(("distal", centre, g.gene_id, rng.uniform(0.4, 1.0), True))
    n_decoys = sum(r[0] == "distal" for r in rows)
    pool = rng.uniform(MARGIN, length - MARGIN, 20 * n_decoys + 20)
    free = pool[_tss_distance(genes["tss"].to_numpy(), pool) >= DECOY_TSS_GAP]
    rows += [("decoy", c, "", 0.0, True) for c in free[:n_decoys]]
    table = pd.DataFrame(rows, columns=["kind", "centre", "target_gene", "loop_strength", "active"])
    table["centre"] = table["centre"].astype(np.int64)
    strong = table["kind"] != "proximal"
    n = len(table)
    lead, second = f"n_{cfg.activator}", f"n_{cfg.partner}"
    table[lead] = np.where(strong, 3 + rng.binomial(2, 0.5, n), rng.binomial(3, 0.5, n)) * table["active"]
    table[second] = rng.binomial(2, 0.5, n) * table["active"]
    table.loc[table["active"] & (table[lead] + table[second] == 0), lead] = 1
    table["n_CTCF"] = (rng.random(n) < 0.3).astype(np.int64)
    table["eps"] = rng.lognormal(0.0, 0.25, n)
    if cfg.activator_fraction < 1:  # drawn last, so the default keeps every earlier draw
        _restrict_activator(table, (lead, second), strong, rng.random(n) < cfg.activator_fraction, rng)
    return table


def _restrict_activator(table: pd.DataFrame, columns: tuple[str, str], strong: pd.Series, carries: np.ndarray,
                        rng: np.random.Generator) -> None:
    """Active elements not in `carries` lose their lead-activator sites (`columns`: lead, partner) and are
    driven by the partner alone (3-5 sites for distal and decoy elements, as many as they had otherwise): a
    knockout of the activator then hits a minority of genes, and an element's strength does not tell its TF."""
    lead, second = columns
    lose = table["active"].to_numpy() & ~carries
    sites = np.where(strong, 3 + rng.binomial(2, 0.5, len(table)), np.maximum(table[lead], 1))
    table.loc[lose, second] = sites[lose]
    table.loc[lose, lead] = 0


def _tss_distance(tss: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Distance from each centre to the nearest TSS."""
    taken = np.sort(tss)
    pos = np.searchsorted(taken, centres)
    left = np.abs(centres - taken[np.clip(pos - 1, 0, len(taken) - 1)])
    right = np.abs(taken[np.clip(pos, 0, len(taken) - 1)] - centres)
    return np.minimum(left, right)


def _drop_collisions(table: pd.DataFrame, tss: np.ndarray) -> pd.DataFrame:
    """Keep enhancers >= 1 kb apart and >= 2 kb from any TSS; distal, then decoy, then proximal first."""
    order = table.assign(rank=table["kind"].map({"distal": 0, "decoy": 1, "proximal": 2})).sort_values(
        ["rank", "centre"], kind="stable"
    )
    order = order[_tss_distance(tss, order["centre"].to_numpy()) >= 2_000]
    kept: list[int] = []
    placed: list[int] = []
    for idx, centre in zip(order.index, order["centre"]):
        pos = bisect.bisect_left(placed, centre)
        if any(abs(placed[p] - centre) < 1_000 for p in (pos - 1, pos) if 0 <= p < len(placed)):
            continue
        placed.insert(pos, centre)
        kept.append(idx)
    return table.loc[kept].sort_values("centre", kind="stable").reset_index(drop=True)


def _layout(cfg: SimConfig, sizes: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Genes, enhancers (with activity) and loops of every chromosome."""
    genes, enhancers = [], []
    for c, (chrom, length) in enumerate(sizes.items()):
        rng = rng_for(cfg.seed, c, 0)
        g = _genes(cfg, chrom, length, rng, sum(len(x) for x in genes) + 1)
        e = _drop_collisions(_candidates(cfg, g, length, rng), g["tss"].to_numpy())
        e.insert(0, "chrom", chrom)
        genes.append(g)
        enhancers.append(e)
    genes_t = pd.concat(genes, ignore_index=True)
    enh = pd.concat(enhancers, ignore_index=True)
    enh.insert(0, "enhancer_id", [f"SYNE{i + 1:07d}" for i in range(len(enh))])
    enh["start"] = enh["centre"] - ELEMENT // 2
    enh["end"] = enh["start"] + ELEMENT
    enh["activity"] = enh["eps"] * sum(effect * enh[f"n_{tf}"] for tf, effect in cfg.tf_effect().items())
    distal = enh[enh["kind"] == "distal"].merge(genes_t[["gene_id", "tss"]], left_on="target_gene", right_on="gene_id")
    loops = pd.DataFrame(
        {
            "chrom": distal["chrom"],
            "kind": "enhancer-promoter",
            "enhancer_id": distal["enhancer_id"],
            "gene_id": distal["gene_id"],
            "bin1": distal["centre"] // BIN,
            "bin2": distal["tss"] // BIN,
            "strength": distal["loop_strength"],
        }
    )
    loops = pd.concat([loops, _structural_loops(cfg, sizes, len(loops))], ignore_index=True)
    loops["distance"] = (loops["bin1"] - loops["bin2"]).abs() * BIN
    return genes_t, enh, loops


def _structural_loops(cfg: SimConfig, sizes: dict[str, int], n: int) -> pd.DataFrame:
    """`n` loops between random places 100 kb-1 Mb apart (CTCF-style; they count in C like any loop)."""
    rng = rng_for(cfg.seed, 10**6, 2)
    chrom = rng.choice(list(sizes), n)
    span = np.exp(rng.uniform(math.log(100_000), math.log(cfg.max_link_distance), n))
    limit = np.array([sizes[c] for c in chrom]) - MARGIN - span
    left = rng.uniform(MARGIN, np.maximum(limit, MARGIN + 1))
    return pd.DataFrame(
        {
            "chrom": chrom,
            "kind": "structural",
            "enhancer_id": "",
            "gene_id": "",
            "bin1": (left // BIN).astype(np.int64),
            "bin2": ((left + span) // BIN).astype(np.int64),
            "strength": rng.uniform(0.4, 1.0, n),
        }
    )


def _loop_lookup(loops: pd.DataFrame) -> dict[tuple[str, int, int], float]:
    """(chrom, low bin, high bin) -> summed loop strength."""
    out: dict[tuple[str, int, int], float] = {}
    for r in loops.itertuples():
        key = (r.chrom, min(r.bin1, r.bin2), max(r.bin1, r.bin2))
        out[key] = out.get(key, 0.0) + r.strength
    return out


def _links(cfg: SimConfig, genes: pd.DataFrame, enh: pd.DataFrame, loops: pd.DataFrame) -> pd.DataFrame:
    """Every (active enhancer, gene) pair within `max_link_distance`, with C(e, g) and effect w*C*A."""
    pairs = enh[enh["activity"] > 0].merge(genes[["chrom", "gene_id", "tss"]], on="chrom")
    pairs = pairs[(pairs["centre"] - pairs["tss"]).abs() <= cfg.max_link_distance]
    ebin, gbin = pairs["centre"].to_numpy() // BIN, pairs["tss"].to_numpy() // BIN
    lookup = _loop_lookup(loops)
    strength = np.array(
        [lookup.get((c, min(a, b), max(a, b)), 0.0) for c, a, b in zip(pairs["chrom"], ebin, gbin)], dtype=float
    )
    contact = (1.0 + np.abs(ebin - gbin)) ** -cfg.alpha + strength
    return pd.DataFrame(
        {
            "enhancer_id": pairs["enhancer_id"].to_numpy(),
            "gene_id": pairs["gene_id"].to_numpy(),
            "chrom": pairs["chrom"].to_numpy(),
            "distance": np.abs(pairs["centre"] - pairs["tss"]).to_numpy(),
            "loop": strength > 0,
            "loop_strength": strength,
            "contact": contact,
            "activity": pairs["activity"].to_numpy(),
            "effect": cfg.w * contact * pairs["activity"].to_numpy(),
        }
    )


def expected_cage(genes: pd.DataFrame, links: pd.DataFrame, params: dict[str, float]) -> pd.DataFrame:
    """lambda_g and its components (base, proximal, loop-distal and other-distal enhancer terms)."""
    base = np.exp(params["b0"] + params["b1"] * np.log(genes["promoter_activity"].to_numpy()))
    w_effect = params["w"] * links["contact"] * links["activity"]
    proximal = ~links["loop"].astype(bool) & (links["distance"] < PROXIMAL_MAX)
    parts = {
        "proximal_sum": w_effect.where(proximal, 0.0),
        "distal_loop_sum": w_effect.where(links["loop"].astype(bool), 0.0),
        "distal_other_sum": w_effect.where(~links["loop"].astype(bool) & ~proximal, 0.0),
    }
    sums = pd.DataFrame(parts).groupby(links["gene_id"].to_numpy()).sum().reindex(genes["gene_id"]).fillna(0.0)
    total = sums.sum(axis=1).to_numpy()
    out = pd.DataFrame({"gene_id": genes["gene_id"].to_numpy(), "base": base, "enhancer_sum": total})
    for name in parts:
        out[name] = sums[name].to_numpy()
    out["expected_cage"] = base * (1.0 + total)
    out["distal_fraction"] = out["distal_loop_sum"] / (1.0 + total)
    return out


def oracle_cage(truth: Truth | SimulatedGenome) -> pd.Series:
    """The noiseless expected CAGE lambda_g of every gene, recomputed from the truth tables."""
    truth = truth.truth if isinstance(truth, SimulatedGenome) else truth
    table = expected_cage(truth.genes, truth.links, truth.params)
    return pd.Series(table["expected_cage"].to_numpy(), index=truth.genes["gene_id"].to_numpy(), name="expected_cage")


def _tf_targets(cfg: SimConfig, genes: pd.DataFrame, enh: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Expected CAGE with each TF's sites removed (in-silico knockout truth)."""
    params = dataclasses.asdict(cfg)
    wild = expected_cage(genes, links, params)["expected_cage"].to_numpy()
    frames = []
    effects, ids = cfg.tf_effect(), cfg.motif_ids()
    for tf in ids:
        ko_activity = enh["eps"] * sum(e * enh[f"n_{t}"] for t, e in effects.items() if t != tf)
        ko_links = links.assign(activity=links["enhancer_id"].map(dict(zip(enh["enhancer_id"], ko_activity))))
        ko = expected_cage(genes, ko_links, params)["expected_cage"].to_numpy()
        sites = links.assign(n=links["enhancer_id"].map(dict(zip(enh["enhancer_id"], enh[f"n_{tf}"]))))
        n_sites = sites[sites["effect"] > 0.05].groupby("gene_id")["n"].sum().reindex(genes["gene_id"]).fillna(0)
        log2fc = np.log2(ko / wild)
        frames.append(
            pd.DataFrame(
                {
                    "tf": tf,
                    "matrix_id": ids[tf],
                    "gene_id": genes["gene_id"],
                    "gene_name": genes["gene_name"],
                    "n_sites": n_sites.to_numpy().astype(np.int64),
                    "expected_wt": wild,
                    "expected_ko": ko,
                    "log2fc": log2fc,
                    "target": log2fc <= -0.5,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------- entry point
