"""In-silico perturbations: TF motif knockout, saturation mutagenesis, variants, graph edges.

Every effect is read at a gene's TSS node in the window whose middle 2 Mb holds it (the
gene table of `prediction.predict`). log2 fold changes use a pseudocount of 1:
log2((perturbed + 1) / (wild type + 1)).

- `knockout` (UPSTREAM §6.2): a TF's motif hits are zeroed (or set to N = 0.25, or
  shuffled) in the one-hot sequence; hits not fully inside a window, or starting in the last
  20 bp of a 100 kb chunk, are left alone, as in the original. Wild type comes from one
  `predict` pass; only windows holding hits are predicted again.
- `ism` (§6.3): every position of a region mutated to each of its 3 other bases.
- `variant_effects`: VCF substitutions, reference alleles checked against the cell's FASTA.
- `edge_knockout`: the contact-graph edges touching a region's nodes are removed.

For epigenome models, which see marks rather than sequence, `knockout(..., mode="marks")`
approximates a TF knockout by removing the enhancer marks (H3K27ac and DNase, set to 0) in
the 100 bp bins within 500 bp of each of the TF's motif hits: it models the loss of the
activity those sites confer, not the sequence change itself.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .._tables import open_text
from ..errors import InvalidInputError
from ..geometry import CHUNK_BP, NODE_BIN, WINDOW_BP, WINDOW_NODES
from ..prep.contacts.significance import benjamini_hochberg
from ..prep.windows import Window, windows
from ..zoo.ensemble import FoldEnsemble
from ._windows import Edit, Member, WindowRun, locate, members, resolve_inputs

MODES = ("zero", "shuffle", "n", "marks")
SEQUENCE_MODES = ("zero", "shuffle", "n")
MARK_TRACKS = ("h3k27ac", "dnase")  # enhancer marks removed by mode="marks"
MARK_FLANK = 500  # bp on each side of a hit whose marks are removed
BASES = "ACGT"
CHUNK_EDGE = 20  # hits starting in the last 20 bp of a 100 kb chunk are skipped (UPSTREAM §6.2)
SCAN_BLOCK = 10_000_000  # bp of sequence scanned for motifs at a time
GENE_COLUMNS = ["chrom", "bin_start", "tss", "genes", "n_tss", "n_contact"]


def log2fc(perturbed, wild_type):
    """log2((perturbed + 1) / (wild_type + 1))."""
    return np.log2((np.asarray(perturbed) + 1.0) / (np.asarray(wild_type) + 1.0))


# ----------------------------------------------------------------------------------- TF knockout


def knockout(
    model,
    cell,
    tf: str,
    *,
    motifs=None,
    mode: str = "zero",
    chroms: Sequence[str] | None = None,
    pvalue: float = 1e-4,
    seed: int = 0,
    batch_size: int = 1,
    progress: bool = False,
    base=None,
    allow_base_mismatch: bool = False,
) -> pd.DataFrame:
    """Predicted effect of knocking out a TF's binding sites on every gene.

    Args:
        model: a sequence model (end-to-end, or a separate Seq-GraphReg / Seq-CNN with `base`), an
            Epi model (mode "marks"), a list of them, or a FoldEnsemble; each member is one replicate
            predicting every chromosome (as the original used folds 1 and 2).
        cell: a CellData with a FASTA.
        tf: the motif name (case-insensitive) or matrix id.
        motifs: None (JASPAR through the optional `pyjaspar`), a JASPAR/MEME motif file
            (scanned over the cell's sequence at `pvalue`), a hit table file (FIMO TSV or
            BED, see `motifs.read_hits`) or a hits DataFrame (chrom, start, end, motif).
        mode: "marks" for Epi models (see the module docstring); for sequence models
            "zero" (the original: all-zero one-hot), "n" (0.25 each) or "shuffle" (the
            hit's bases permuted, seeded).
        chroms: chromosomes to predict (default: all of the cell's).
        pvalue: motif scanning threshold (ignored for precomputed hits).
        batch_size: windows per forward pass of the knockout.
        base, allow_base_mismatch: the Seq-CNN base(s) feeding separate Seq models (as `predict`); the edited
            DNA reaches the head through its base.

    Returns:
        One row per TSS bin: chrom, bin_start, tss, genes, n_tss, n_contact, cage, wt, ko
        (means over replicates), log2fc (mean of the replicates' log2 fold changes), n_hits
        (hits knocked out in the gene's window) and, with >= 2 replicates, log2fc_<member>
        per replicate, t, pvalue (two-sided one-sample t-test of the replicates' log2fc
        against 0; 1 where they are all 0) and padj (Benjamini-Hochberg).
    """
    model, cell = resolve_inputs(model, cell)
    from ..prediction import cell_chroms, predict

    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    group = members(model, base, allow_base_mismatch=allow_base_mismatch)
    if mode == "marks":
        _require(group, lambda m: m.primary == "epigenome", "mode='marks' edits epigenomic tracks; use an Epi model")
        edit_for = lambda spans: _marks_edit(spans, cell.track_names)  # noqa: E731
    else:
        _require(group, lambda m: m.primary in ("sequence", "bottleneck"),
                 "TF knockout edits DNA; it needs a sequence model (or mode='marks' for Epi models)")
        edit_for = lambda spans: _mask_edit(spans, mode, rng)  # noqa: E731
    chroms = cell_chroms(cell, chroms)
    hits = tf_hits(cell, tf, motifs, chroms, pvalue)
    labels = _member_labels(model, group)
    tables = [predict(m.model, cell, chroms, progress=progress, base=m.base, allow_base_mismatch=True)
              for m in group]  # (each member is already paired with its base)
    table = tables[0][[*GENE_COLUMNS, "cage"]].copy()
    wt = np.stack([t["prediction"].to_numpy(dtype="float64") for t in tables])
    ko = wt.copy()
    n_hits = np.zeros(len(table), dtype=np.int64)
    row_of = {key: i for i, key in enumerate(zip(table["chrom"], table["bin_start"]))}
    rng = np.random.default_rng(seed)
    for chrom in chroms:
        on_chrom = hits[hits["chrom"] == chrom]
        for window in windows(cell.n_nodes(chrom), chrom):
            spans = window_hits(on_chrom, window)
            if not len(spans):
                continue
            run = WindowRun(model, cell, window, base, allow_base_mismatch)
            genes = run.genes()
            if genes.empty:
                continue
            pred = run.predict([edit_for(spans)], batch_size)[:, 0]
            rows = [row_of[(chrom, b)] for b in genes["bin_start"]]
            ko[:, rows] = pred[:, genes["local"].to_numpy()]
            n_hits[rows] = len(spans)
    table["wt"], table["ko"] = wt.mean(axis=0), ko.mean(axis=0)
    per_member = log2fc(ko, wt)
    table["log2fc"] = per_member.mean(axis=0)
    table["n_hits"] = n_hits
    if len(group) > 1:
        for label, values in zip(labels, per_member):
            table[f"log2fc_{label}"] = values
        table = table.assign(**_replicate_test(per_member))
    table.attrs.update(tf=tf, mode=mode, n_hits=int(len(hits)), replicates=labels)
    return table


def _member_labels(model, group: list[Member]) -> list[str]:
    if isinstance(model, FoldEnsemble):
        return [f"fold{k}" for k in sorted(model.models)]
    names = [m.model.name for m in group]
    return names if len(set(names)) == len(names) else [f"model{i + 1}" for i in range(len(group))]


def _replicate_test(per_member: np.ndarray) -> dict[str, np.ndarray]:
    """One-sample t-test of each gene's replicate log2fc against 0, with BH adjustment."""
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        t, p = stats.ttest_1samp(per_member, 0.0, axis=0)
    flat = np.all(per_member == 0, axis=0)
    t, p = np.where(flat, 0.0, t), np.where(flat, 1.0, p)
    return {"t": t, "pvalue": p, "padj": benjamini_hochberg(p)}


def window_hits(hits: pd.DataFrame, window: Window) -> np.ndarray:
    """(k, 2) window offsets [start, end) of the hits fully inside `window`, minus those
    starting in the last 20 bp of a 100 kb chunk (the original's rule)."""
    origin = window.start_node * NODE_BIN
    start = hits["start"].to_numpy(dtype=np.int64) - origin
    end = hits["end"].to_numpy(dtype=np.int64) - origin
    keep = (start >= 0) & (end <= WINDOW_BP) & (start % CHUNK_BP < CHUNK_BP - CHUNK_EDGE)
    return np.column_stack([start[keep], end[keep]])


def _marks_edit(spans: np.ndarray, track_names: Sequence[str]) -> Edit:
    """Edit that zeroes the enhancer marks in the 100 bp bins within MARK_FLANK of `spans`."""
    from ..geometry import TRACK_BIN

    columns = [list(track_names).index(t) for t in MARK_TRACKS]

    def edit(arrays: dict) -> dict:
        epigenome = arrays["epigenome"].copy()
        for s, e in spans:
            lo, hi = max(0, (s - MARK_FLANK) // TRACK_BIN), -(-(e + MARK_FLANK) // TRACK_BIN)
            epigenome[lo:hi, columns] = 0.0
        return {**arrays, "epigenome": epigenome}

    return edit


def _mask_edit(spans: np.ndarray, mode: str, rng: np.random.Generator) -> Edit:
    """Edit that knocks out the sequence at `spans` (shuffles are drawn once, shared by all members)."""
    orders = [rng.permutation(e - s) for s, e in spans] if mode == "shuffle" else []

    def edit(arrays: dict) -> dict:
        seq = arrays["sequence"].copy()
        for k, (s, e) in enumerate(spans):
            if mode == "shuffle":
                seq[s:e] = seq[s:e][orders[k]]
            else:
                seq[s:e] = 0.0 if mode == "zero" else 0.25
        return {**arrays, "sequence": seq}

    return edit


def tf_hits(cell, tf: str, motifs, chroms: Sequence[str], pvalue: float = 1e-4) -> pd.DataFrame:
    """The motif hits of `tf` on `chroms` (see `knockout` for what `motifs` may be), with the cell's
    chromosome names (`22` and `chr22` are one chromosome). No hit is an InvalidInputError naming the
    TF, the chromosomes searched and the closest motif names: a knockout of nothing reports every
    log2FC as 0, which reads as a result."""
    from ..prediction import cell_chrom
    from . import motifs as motif_io

    source = "the hit table" if isinstance(motifs, pd.DataFrame) else str(motifs or "JASPAR")
    if isinstance(motifs, pd.DataFrame):
        hits = motifs
    elif motifs is None or _is_motif_file(motifs):
        found = motif_io.from_pyjaspar() if motifs is None else motif_io.read_motifs(motifs)
        chosen = [m for m in found if tf.lower() in (m.name.lower(), m.matrix_id.lower())]
        if not chosen:
            raise InvalidInputError(f"no motif named {tf!r} in {source}{_closest(tf, [m.name for m in found])}")
        hits = _scan(cell, chosen, chroms, pvalue, motif_io.Scanner)
        source = f"{source} scanned at p < {pvalue:g}"
    else:
        hits = motif_io.read_hits(motifs)
    names = {c: cell_chrom(cell, c) or c for c in hits["chrom"].astype(str).unique()}
    hits = hits.assign(chrom=hits["chrom"].astype(str).map(names))
    named = hits["motif"].astype(str).str.lower() == tf.lower()
    if "matrix_id" in hits:
        named |= hits["matrix_id"].astype(str).str.lower() == tf.lower()
    out = hits[named & hits["chrom"].isin(list(chroms))].reset_index(drop=True)
    if out.empty:
        raise InvalidInputError(_no_hits(tf, hits, named, chroms, source))
    return out


def _closest(tf: str, names: Sequence[str]) -> str:
    """'; closest motif names: …' (case-insensitive difflib matches), or how many names there are."""
    by_lower = {n.lower(): n for n in map(str, names)}
    close = [by_lower[n] for n in difflib.get_close_matches(tf.lower(), list(by_lower), n=5, cutoff=0.5)]
    return f"; closest motif names: {', '.join(close)}" if close else f" (it names {len(by_lower)} motifs)"


def _no_hits(tf: str, hits: pd.DataFrame, named: pd.Series, chroms: Sequence[str], source: str) -> str:
    """Why `tf` has no hit on `chroms`: no motif of that name, or its hits lie on other chromosomes."""
    searched = ", ".join(chroms)
    if not named.any():
        return (f"no hits of {tf!r} in {source} on {searched}: no motif of that name"
                f"{_closest(tf, hits['motif'].unique())}")
    elsewhere = sorted(hits.loc[named, "chrom"].unique())
    return (f"{tf!r} has {int(named.sum())} hits in {source}, on {', '.join(elsewhere[:10])}, but none on the "
            f"chromosomes searched ({searched}). Check that the hits are on this cell's genome and chromosomes.")


def _is_motif_file(path: str | os.PathLike) -> bool:
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"motif or hit file {path} does not exist")
    with open(path) as fh:
        first = next((line for line in fh if line.strip()), "")
    return first.startswith(("MEME version", ">"))


def _scan(cell, chosen, chroms: Sequence[str], pvalue: float, scanner_class) -> pd.DataFrame:
    """Scan the cell's sequence block by block; a hit belongs to the block it starts in."""
    scanner = scanner_class(chosen, pvalue)
    parts = []
    for chrom in chroms:
        size = cell.chrom_sizes[chrom]
        for start in range(0, size, SCAN_BLOCK):
            stop = min(size, start + SCAN_BLOCK + scanner.max_length - 1)
            found = scanner.scan(cell.sequence(chrom, start, stop, dtype=np.uint8), chrom=chrom, start=start)
            parts.append(found[found["start"] < start + SCAN_BLOCK])
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------------- ISM and variants


def ism(model, cell, gene: str, chrom: str, start: int, end: int, *, tss: int | None = None, base=None,
        batch_size: int = 3, allow_base_mismatch: bool = False) -> pd.DataFrame:
    """In-silico saturation mutagenesis of [start, end) for one gene.

    Every position is set to each of its 3 other bases (4 when the reference is N), one
    mutant per forward pass, `batch_size` at a time.

    Returns:
        DataFrame chrom, pos (0-based), ref, alt, wt, mut, delta (= mut - wt), the prediction
        at the gene's TSS node (mean over ensemble members).
    """
    model, cell = resolve_inputs(model, cell)
    site = locate(cell, gene, chrom, tss)
    run = WindowRun(model, cell, site.window, base, allow_base_mismatch)
    _require(run.members, lambda m: m.primary in ("sequence", "bottleneck"),
             "ISM mutates DNA; it needs a sequence model")
    if not (start < end and run.contains(start, end)):
        raise InvalidInputError(
            f"ISM region {chrom}:{start}-{end} must be non-empty and inside {gene}'s window "
            f"{chrom}:{max(run.bp_start, 0)}-{run.bp_start + WINDOW_BP}"
        )
    reference = decode(run.arrays["sequence"][start - run.bp_start : end - run.bp_start])
    rows, edits = [], []
    for pos, ref in zip(range(start, end), reference):
        for alt in BASES:
            if alt != ref:
                rows.append((pos, ref, alt))
                edits.append(substitution(pos - run.bp_start, alt))
    pred = run.predict([None, *edits], batch_size).mean(axis=0)[:, site.local]
    df = pd.DataFrame(rows, columns=["pos", "ref", "alt"])
    df.insert(0, "chrom", chrom)
    df["wt"], df["mut"] = pred[0], pred[1:]
    df["delta"] = df["mut"] - df["wt"]
    df.attrs.update(gene=gene, tss=site.tss, node=site.node)
    return df


def decode(one_hot: np.ndarray) -> str:
    """A one-hot (n, 4) as text; rows that are not exactly one base read N."""
    one_hot = np.asarray(one_hot)
    letters = np.array(list(BASES))[one_hot.argmax(axis=1)]
    letters[(one_hot == 1).sum(axis=1) != 1] = "N"
    return "".join(letters)


def substitution(offset: int, alt: str) -> Edit:
    """Edit that writes the bases `alt` at window offset `offset`."""
    code = np.zeros((len(alt), 4), dtype="float32")
    for i, base in enumerate(alt):
        code[i, BASES.index(base)] = 1.0

    def edit(arrays: dict) -> dict:
        seq = arrays["sequence"].copy()
        seq[offset : offset + len(alt)] = code
        return {**arrays, "sequence": seq}

    return edit


def read_vcf(path: str | os.PathLike) -> tuple[pd.DataFrame, int]:
    """Substitutions of a VCF (plain or gzipped) as chrom, pos (1-based), id, ref, alt, one row per
    ALT allele; returns them and the number of other alleles (indels, symbolic) skipped."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"VCF {path} does not exist")
    rows, skipped = [], 0
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5 or not fields[1].isdigit():
                raise InvalidInputError(f"{path}, line {lineno}: not a VCF record (CHROM POS ID REF ALT ...)")
            chrom, pos, vid, ref = fields[0], int(fields[1]), fields[2], fields[3].upper()
            for alt in fields[4].upper().split(","):
                if len(alt) == len(ref) and set(alt + ref) <= set(BASES + "N") and alt != ref:
                    rows.append((chrom, pos, vid, ref, alt))
                else:
                    skipped += 1
    return pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt"]), skipped


def _check_references(cell, variants: pd.DataFrame, path) -> None:
    for v in variants.itertuples():
        size = cell.chrom_sizes[v.chrom]
        if v.pos < 1 or v.pos - 1 + len(v.ref) > size:
            raise InvalidInputError(f"{path}: variant {v.chrom}:{v.pos} lies outside the chromosome (length {size})")
        found = decode(cell.sequence(v.chrom, v.pos - 1, v.pos - 1 + len(v.ref)))
        if found != v.ref:
            raise InvalidInputError(
                f"{path}: reference allele mismatch at {v.chrom}:{v.pos}: the VCF has {v.ref}, the FASTA "
                f"({cell.fasta}) has {found}. Is the VCF on this cell's genome ({cell.genome})?"
            )


def variant_effects(model, cell, vcf_path: str | os.PathLike, genes: Sequence[str] | None = None, *, base=None,
                    batch_size: int = 2, allow_base_mismatch: bool = False) -> pd.DataFrame:
    """Predicted effect of each VCF substitution on the genes of the windows that hold it.

    Reference alleles are checked against the cell's FASTA first (a mismatch raises
    InvalidInputError naming chrom:pos). Variants on chromosomes the cell lacks, indels and
    symbolic alleles are skipped (counted in `df.attrs["skipped"]`). A variant reaches every
    gene whose TSS lies in the middle of a window containing it (up to 6 Mb away).

    Returns:
        DataFrame chrom, pos, id, ref, alt, bin_start, tss, genes, n_tss, n_contact, distance
        (tss - pos), wt, alt_prediction, delta, log2fc; optionally only rows whose genes
        include one of `genes`.
    """
    from ..prediction import cell_chrom

    model, cell = resolve_inputs(model, cell)
    _require(members(model, base, allow_base_mismatch=allow_base_mismatch),
             lambda m: m.primary in ("sequence", "bottleneck"), "variant effects edit DNA; they need a sequence model")
    variants, skipped = read_vcf(vcf_path)
    variants["chrom"] = [cell_chrom(cell, c) for c in variants["chrom"]]
    skipped += int(variants["chrom"].isna().sum())
    variants = variants.dropna(subset=["chrom"]).reset_index(drop=True)
    _check_references(cell, variants, vcf_path)
    parts = []
    for chrom, on_chrom in variants.groupby("chrom", sort=False):
        for window in windows(cell.n_nodes(chrom), chrom):
            origin = window.start_node * NODE_BIN
            offsets = on_chrom["pos"].to_numpy() - 1 - origin
            inside = on_chrom[(offsets >= 0) & (offsets + on_chrom["ref"].str.len().to_numpy() <= WINDOW_BP)]
            if inside.empty:
                continue
            run = WindowRun(model, cell, window, base, allow_base_mismatch)
            table = _select_genes(run.genes(), genes)
            if table.empty:
                continue
            edits = [substitution(v.pos - 1 - origin, v.alt) for v in inside.itertuples()]
            pred = run.predict([None, *edits], batch_size).mean(axis=0)[:, table["local"].to_numpy()]
            for k, v in enumerate(inside.itertuples(index=False)):
                rows = _effects(table, chrom, pred[0], pred[k + 1], "alt_prediction")
                rows.insert(1, "pos", v.pos)
                rows.insert(2, "id", v.id)
                rows.insert(3, "ref", v.ref)
                rows.insert(4, "alt", v.alt)
                rows.insert(rows.columns.get_loc("n_contact") + 1, "distance", rows["tss"] - v.pos)
                parts.append(rows)
    columns = ["chrom", "pos", "id", "ref", "alt", *GENE_COLUMNS[1:], "distance", "wt", "alt_prediction", "delta",
               "log2fc"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    out.attrs["skipped"] = skipped
    return out


def _select_genes(table: pd.DataFrame, genes: Sequence[str] | None) -> pd.DataFrame:
    if genes is None:
        return table
    wanted = set(genes)
    return table[table["genes"].str.split("+").apply(lambda names: bool(wanted & set(names)))]


def _effects(table: pd.DataFrame, chrom: str, wt: np.ndarray, perturbed: np.ndarray, name: str) -> pd.DataFrame:
    """Gene rows with wt, the perturbed prediction `name`, delta and log2fc."""
    out = table[GENE_COLUMNS[1:]].reset_index(drop=True)
    out.insert(0, "chrom", chrom)
    out["wt"], out[name] = wt, perturbed
    out["delta"] = out[name] - out["wt"]
    out["log2fc"] = log2fc(out[name], out["wt"])
    return out


# ----------------------------------------------------------------------------------- graph edges


def edge_knockout(model, cell, chrom: str, start: int, end: int, genes: Sequence[str] | None = None, *,
                  base=None, allow_base_mismatch: bool = False) -> pd.DataFrame:
    """Remove every contact-graph edge touching the nodes that overlap [start, end) (a loop
    anchor or an enhancer) and report the change of the genes in the windows holding them.

    Only graph models qualify; a CNN model has no edges and is refused.

    Returns:
        DataFrame chrom, bin_start, tss, genes, n_tss, n_contact, wt, ko, delta, log2fc,
        n_edges_removed (in the gene's window). Genes of windows without those nodes are
        unchanged by construction and not listed.
    """
    model, cell = resolve_inputs(model, cell)
    group = members(model, base, allow_base_mismatch=allow_base_mismatch)
    _require(group, lambda m: m.is_graph, "edge knockout removes contact-graph edges; it needs a graph model "
             "(Epi-GraphReg, Seq-GraphReg, Seq-GraphReg e2e), not a CNN")
    size = cell.chrom_sizes[chrom] if chrom in cell.chroms else None
    if size is None or not 0 <= start < end <= size:
        raise InvalidInputError(f"region {chrom}:{start}-{end} is not a non-empty range on the cell's chromosomes")
    nodes = np.arange(start // NODE_BIN, -(-end // NODE_BIN))
    parts = []
    for window in windows(cell.n_nodes(chrom), chrom):
        local = nodes - window.start_node
        local = local[(local >= 0) & (local < WINDOW_NODES)]
        if not len(local):
            continue
        run = WindowRun(model, cell, window, base, allow_base_mismatch)
        table = _select_genes(run.genes(), genes)
        if table.empty:
            continue
        adjacency = run.arrays["adjacency"]
        touched = np.zeros(WINDOW_NODES, dtype=bool)
        touched[local] = True
        removed = int(np.triu(adjacency * (touched[:, None] | touched[None, :])).astype(bool).sum())
        pred = run.predict([None, _cut_edit(local)]).mean(axis=0)[:, table["local"].to_numpy()]
        rows = _effects(table, chrom, pred[0], pred[1], "ko")
        rows["n_edges_removed"] = removed
        parts.append(rows)
    columns = [*GENE_COLUMNS, "wt", "ko", "delta", "log2fc", "n_edges_removed"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _cut_edit(local: np.ndarray) -> Edit:
    def edit(arrays: dict) -> dict:
        adjacency = arrays["adjacency"].copy()
        adjacency[local, :] = 0.0
        adjacency[:, local] = 0.0
        return {**arrays, "adjacency": adjacency}

    return edit


def _require(group: list[Member], ok, message: str) -> None:
    bad = [m.model.name for m in group if not ok(m)]
    if bad:
        raise InvalidInputError(f"{message}; {bad[0]} does not qualify")
