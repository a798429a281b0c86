"""CRISPRi validation of enhancer attributions (UPSTREAM §6.1).

Every CRISPRi table is normalised to one schema, one row per element-gene pair:
chrom, start, end (element, as in the file), gene, tss, effect, regulated (bool: a
significant decrease), distance (|element midpoint - TSS|) and, where the source has it,
abc_score. Scores are ranked per gene and pooled with precision-recall metrics; baselines
are distance (closer = higher) and ABC.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from .._tables import read_table, require_columns
from ..errors import InvalidInputError
from ..prep.assembly import normalize_chrom
from ._crispr_report import markdown, write_report
from .prcurve import auprc, average_precision, precision_at_recall, precision_recall_curve

SCHEMA = ("chrom", "start", "end", "gene", "tss", "effect", "regulated", "distance")
KEYS = ["chrom", "start", "end", "gene"]
#: source column names of each supported format, in SCHEMA order (before distance)
FORMATS: dict[str, dict[str, str]] = {
    "epcrisprbenchmark": {
        "chrom": "chrom", "start": "chromStart", "end": "chromEnd", "gene": "measuredGeneSymbol",
        "tss": "startTSS", "effect": "EffectSize", "regulated": "Regulated",
    },
    "fulco": {
        "chrom": "chr", "start": "start", "end": "end", "gene": "Gene", "tss": "Gene.TSS",
        "effect": "Fraction.change.in.gene.expr", "regulated": "Significant", "abc_score": "ABC.Score",
    },
}
#: score name -> (column, sign, fill): baselines derived from schema columns. `fill` stands for a missing
#: value that has a meaning: an ABC file lists only pairs above its threshold, so a pair it lacks scores 0.
DERIVED_SCORES = {"distance": ("distance", -1.0, math.nan), "abc": ("abc_score", 1.0, 0.0)}
DEFAULT_SCORES = ("graphreg", "distance", "abc")
#: bp: one gene's TSS in two annotations of one build (most agree within 2 kb; hg19 vs hg38 ~400 kb on chr22)
TSS_TOLERANCE = 10_000
MIN_GENES_FOR_BUILD = 5  # genes in both the table and the cell needed to judge the table's build
_BUILD_IN_NAME = re.compile(r"(hg19|hg38|grch37|grch38|mm9|mm10|mm39)", re.IGNORECASE)

#: attribution_lookup(gene, chrom) -> (100-bp bin start coordinates, scores) or None
AttributionLookup = Callable[[str, str], Optional[tuple[np.ndarray, np.ndarray]]]


def _as_bool(values: pd.Series) -> pd.Series:
    """TRUE/True/true/1/yes -> True; anything else, missing included, -> False."""
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "t", "1", "1.0", "yes"]).fillna(False).astype(bool)


def _detect(raw: pd.DataFrame, path: Path) -> str:
    for fmt, columns in FORMATS.items():
        if {columns["start"], columns["gene"], columns["tss"]} <= set(raw.columns):
            return fmt
    raise InvalidInputError(
        f"{path}: not an EPCrisprBenchmark (chromStart, measuredGeneSymbol, startTSS, ...) nor a "
        f"Fulco FlowFISH (chr, start, Gene, Gene.TSS, ...) table; columns are {', '.join(raw.columns)}"
    )


def normalise_crispr_table(raw: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """Map a raw EPCrisprBenchmark or Fulco table to the common schema (see module docstring)."""
    columns = FORMATS[fmt]
    require_columns(raw, list(columns.values()), f"{fmt} CRISPR table")
    out = pd.DataFrame({new: raw[old] for new, old in columns.items()})
    out["chrom"] = out["chrom"].astype(str).map(normalize_chrom)
    out["gene"] = out["gene"].astype(str)
    for col in ("start", "end", "tss", "effect"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    out["regulated"] = _as_bool(out["regulated"])
    if fmt == "fulco":
        out["regulated"] &= out["effect"] < 0
        out["abc_score"] = pd.to_numeric(out["abc_score"], errors="coerce")
    out["distance"] = ((out["start"] + out["end"]) / 2 - out["tss"]).abs()
    return out[[*SCHEMA, *(["abc_score"] if "abc_score" in out else [])]].reset_index(drop=True)


def read_crispr_table(path: str | os.PathLike, fmt: str = "auto") -> pd.DataFrame:
    """Read a CRISPRi element-gene table (EPCrisprBenchmark TSV or Fulco FlowFISH CSV).

    Args:
        path: a tab- or comma-separated file (optionally gzipped) or Parquet.
        fmt: "auto" (by the columns), "epcrisprbenchmark" or "fulco".

    Returns:
        One row per pair: chrom, start, end, gene, tss, effect, regulated, distance (+ abc_score
        for Fulco). Positives: `Regulated == TRUE` (EPCrisprBenchmark) or `Significant` and
        effect < 0 (Fulco). Rows are kept as read; a missing label counts as not regulated.
    """
    path = Path(path)
    raw = read_table(path)
    if fmt == "auto":
        fmt = _detect(raw, path)
    elif fmt not in FORMATS:
        raise InvalidInputError(f"unknown CRISPR table format {fmt!r}; use auto, {', '.join(FORMATS)}")
    return normalise_crispr_table(raw, fmt)


def check_build(pairs: pd.DataFrame, cell, where: str = "the CRISPRi table") -> None:
    """Refuse CRISPRi pairs on another genome build than `cell` (scoring them would attribute the wrong
    elements with exit 0): coordinates past the end of the cell's chromosome, or gene TSSs that mostly
    lie more than TSS_TOLERANCE from the cell's own TSSs of the same genes."""
    on_cell = pairs[pairs["chrom"].isin(cell.chroms)]
    build = _build_hint(where)
    offsets = _tss_offsets(on_cell, cell)
    close = offsets["offset"].abs() <= TSS_TOLERANCE
    if len(offsets) >= MIN_GENES_FOR_BUILD and close.mean() < 0.5:
        far = offsets[~close]
        first = far.iloc[0]
        raise InvalidInputError(
            f"{where}{build} is not on the cell's genome build ({cell.genome}): {len(far)} of {len(offsets)} genes "
            f"in both have their TSS over {TSS_TOLERANCE // 1000} kb from the cell's TSS of that gene (median "
            f"{far['offset'].abs().median():,.0f} bp; e.g. {first['gene']}: {first['chrom']}:{int(first['tss']):,} "
            f"in the table, {int(first['tss'] - first['offset']):,} in the cell). Use the table for "
            f"{cell.genome} (or lift it over).")
    for chrom, rows in on_cell.groupby("chrom"):
        size = cell.chrom_sizes[chrom]
        past = rows[rows[["start", "end", "tss"]].max(axis=1) > size]
        if len(past):
            first = past.iloc[0]
            raise InvalidInputError(
                f"{where}{build}: {len(past)} pairs lie past the end of {chrom} ({size:,} bp on the cell's "
                f"{cell.genome}), e.g. {first['gene']} at {chrom}:{int(first['start']):,}. The table is on "
                f"another genome build than the cell ({cell.genome}); use the table for {cell.genome}.")


def _build_hint(where: str) -> str:
    """' (hg19 by its file name)' when the name says a build, else ''."""
    match = _BUILD_IN_NAME.search(Path(where).name)
    return f" ({match[1]} by its file name)" if match else ""


def _tss_offsets(pairs: pd.DataFrame, cell) -> pd.DataFrame:
    """Per gene in both: gene, chrom, the table's TSS and its offset from the cell's nearest TSS of the gene."""
    rows = []
    for chrom, on_chrom in pairs.dropna(subset=["tss"]).groupby("chrom"):
        table = cell.tss(chrom)
        cell_tss: dict[str, list[int]] = {}
        for names, tss in zip(table["genes"], table["tss"]):
            for name in names.split("+"):
                cell_tss.setdefault(name, []).append(int(tss))
        for gene, tss in on_chrom.groupby("gene")["tss"].first().items():
            if gene in cell_tss:
                nearest = min(cell_tss[gene], key=lambda t: abs(tss - t))
                rows.append({"gene": gene, "chrom": chrom, "tss": tss, "offset": tss - nearest})
    return pd.DataFrame(rows, columns=["gene", "chrom", "tss", "offset"])


def attach_abc_scores(
    pairs: pd.DataFrame, abc_table_path: str | os.PathLike, *, aggregate: str = "sum"
) -> pd.DataFrame:
    """Add `abc_score` from an ABC predictions file, joined by element overlap and gene name.

    The ABC file needs chr, start, end, TargetGene, ABC.Score. A pair's score aggregates
    ("sum" or "max") the ABC elements of the same gene overlapping it; NaN when none does
    (ABC files list only pairs above their threshold). An existing abc_score is replaced.
    """
    if aggregate not in ("sum", "max"):
        raise InvalidInputError(f"aggregate must be 'sum' or 'max', not {aggregate!r}")
    abc = read_table(abc_table_path)
    require_columns(abc, ["chr", "start", "end", "TargetGene", "ABC.Score"], f"ABC table {abc_table_path}")
    abc = abc.rename(columns={"chr": "chrom", "start": "abc_start", "end": "abc_end", "TargetGene": "gene"})
    abc["chrom"] = abc["chrom"].astype(str)
    abc["gene"] = abc["gene"].astype(str)
    left = pairs[["chrom", "start", "end", "gene"]].reset_index(drop=True).rename_axis("row").reset_index()
    hits = left.merge(abc[["chrom", "gene", "abc_start", "abc_end", "ABC.Score"]], on=["chrom", "gene"])
    hits = hits[(hits["abc_start"] < hits["end"]) & (hits["abc_end"] > hits["start"])]
    scores = hits.groupby("row")["ABC.Score"].agg(aggregate)
    out = pairs.reset_index(drop=True).copy()
    out["abc_score"] = scores.reindex(range(len(out))).to_numpy()
    return out


def element_score(coords: np.ndarray, scores: np.ndarray, midpoint: float, L: int = 40, bin_size: int = 100) -> float:
    """max(scores[i - L : i + L + 1]) / max(scores), i = the bin holding `midpoint`.

    NaN when the midpoint lies outside the bins or the gene's maximum is not positive.
    """
    i = int(np.searchsorted(coords, midpoint, side="right")) - 1
    top = float(np.max(scores)) if len(scores) else math.nan
    if i < 0 or midpoint >= coords[-1] + bin_size or not top > 0:
        return math.nan
    return float(np.max(scores[max(0, i - L): i + L + 1]) / top)


def score_elements(
    pairs: pd.DataFrame,
    attribution_lookup: AttributionLookup,
    L: int = 40,
    *,
    column: str = "graphreg",
    bin_size: int = 100,
) -> pd.DataFrame:
    """Score every pair by the gene's attribution around the element (see `element_score`).

    `attribution_lookup(gene, chrom)` returns the gene's attribution track as (bin start
    coordinates, scores), both 1-D and sorted by coordinate, or None when the gene cannot
    be scored (its pairs get NaN). Returns a copy of `pairs` with `column` added.
    """
    out = pairs.copy()
    values = np.full(len(out), math.nan)
    midpoints = ((out["start"] + out["end"]) / 2).to_numpy()
    for (gene, chrom), rows in out.groupby(["gene", "chrom"], sort=False).indices.items():
        track = attribution_lookup(gene, chrom)
        if track is None:
            continue
        coords, scores = (np.asarray(a, dtype=float).ravel() for a in track)
        if coords.shape != scores.shape:
            raise InvalidInputError(f"attribution for {gene}: {coords.size} coordinates but {scores.size} scores")
        values[rows] = [element_score(coords, scores, midpoints[r], L, bin_size) for r in rows]
    out[column] = values
    return out


def _raw_values(pairs: pd.DataFrame, name: str) -> Optional[np.ndarray]:
    column, sign, _ = DERIVED_SCORES.get(name, (name, 1.0, math.nan))
    if column not in pairs:
        return None
    return sign * pd.to_numeric(pairs[column], errors="coerce").to_numpy(dtype=float)


def score_values(pairs: pd.DataFrame, name: str) -> Optional[np.ndarray]:
    """The values ranked for score `name` (distance negated, a missing ABC 0), or None when absent;
    NaN marks a pair the score could not rate (e.g. a gene the model's cell lacks)."""
    values = _raw_values(pairs, name)
    if values is None:
        return None
    fill = DERIVED_SCORES.get(name, (name, 1.0, math.nan))[2]
    return np.where(np.isnan(values), fill, values)


def _has_scores(pairs: pd.DataFrame, name: str) -> bool:
    values = _raw_values(pairs, name)
    return values is not None and bool(np.isfinite(values).any())


def _split_scorable(pairs: pd.DataFrame, scores: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairs every score rates, the others with `unscored_by`): comparing scores on different pairs,
    or ranking a score's unrated pairs last, would make the same ranking look better or worse."""
    missing = pd.DataFrame({s: ~np.isfinite(score_values(pairs, s)) for s in scores}, index=pairs.index)
    bad = missing.any(axis=1)
    unscorable = pairs[bad].copy()
    unscorable["unscored_by"] = [",".join(s for s in scores if row[s]) for _, row in missing[bad].iterrows()]
    return pairs[~bad].reset_index(drop=True), unscorable.reset_index(drop=True)


def _missing_last(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), -np.inf, values)


def pr_metrics(labels: np.ndarray, values: np.ndarray, min_recall: float) -> dict[str, float]:
    """AP, AUPRC and precision at `min_recall`; missing scores rank last."""
    filled = _missing_last(values)
    return {
        "average_precision": average_precision(labels, filled),
        "auprc": auprc(labels, filled),
        "precision_at_recall": precision_at_recall(labels, filled, min_recall),
    }


@dataclass
class CrisprReport:
    """Enhancer-validation results.

    Attributes:
        pairs: the evaluated pairs (with a TSS, rated by every score) and their score columns.
        pooled: per subset ("all pairs" / "kept genes") and score: n_pairs, n_positives,
            n_scored, prevalence, average_precision, auprc, precision_at_recall.
        per_gene: per kept gene and score: n_candidates, n_positives, n_scored and the metrics.
        scores: the score names evaluated; min_recall: the recall of precision_at_recall.
        n_dropped: pairs left out because their gene has no TSS.
        unscorable: pairs with a TSS that some score could not rate, left out of every score
            (`unscored_by` names those scores).
    """

    pairs: pd.DataFrame
    pooled: pd.DataFrame
    per_gene: pd.DataFrame
    scores: list[str]
    min_recall: float
    n_dropped: int
    unscorable: pd.DataFrame = field(default_factory=pd.DataFrame)
    files: dict[str, Path] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Mean per-gene metrics per score."""
        metrics = ["average_precision", "auprc", "precision_at_recall"]
        grouped = self.per_gene.groupby("score", sort=False)
        return grouped[metrics].mean().join(grouped.size().rename("n_genes")).reset_index()

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Pooled PR curves over all pairs, score -> (recall, precision)."""
        labels = self.pairs["regulated"].to_numpy()
        out = {}
        for name in self.scores:
            curve = precision_recall_curve(labels, _missing_last(score_values(self.pairs, name)))
            out[name] = (curve.recall, curve.precision)
        return out

    def to_markdown(self) -> str:
        """The report as Markdown."""
        return markdown(self)


def _metrics_rows(table: pd.DataFrame, scores: list[str], min_recall: float, **keys) -> list[dict]:
    labels = table["regulated"].to_numpy()
    rows = []
    for name in scores:
        values = score_values(table, name)
        n_scored = int(np.isfinite(values).sum())
        if n_scored == 0:
            continue
        rows.append({**keys, "score": name, "n_scored": n_scored, **pr_metrics(labels, values, min_recall)})
    return rows


def validate(
    pairs_with_scores: pd.DataFrame,
    score_columns: Sequence[str] = DEFAULT_SCORES,
    min_candidates: int = 10,
    min_positives: int = 1,
    *,
    min_recall: float = 0.7,
) -> CrisprReport:
    """Precision-recall of each score against the CRISPRi labels, pooled and per gene.

    Scores named in `score_columns` but absent (or all missing) are skipped; "distance"
    ranks by -distance and "abc" by abc_score (0 where the ABC file lists no prediction).
    Pairs without a TSS are left out, and so are pairs some score cannot rate (NaN): every
    score is measured on the same pairs, and the others are reported in `unscorable`.
    Genes are kept for the per-gene metrics (and the "kept genes" pooled subset) with
    >= `min_candidates` pairs and >= `min_positives` positives.
    """
    require_columns(pairs_with_scores, list(SCHEMA), "CRISPR pairs table")
    has_tss = pairs_with_scores["tss"].notna()
    pairs = pairs_with_scores[has_tss].reset_index(drop=True)
    if pairs.empty:
        raise InvalidInputError("no CRISPR pairs with a TSS to evaluate")
    scores = [s for s in dict.fromkeys(score_columns) if _has_scores(pairs, s)]
    if not scores:
        raise InvalidInputError(f"none of the scores {list(score_columns)} has values in the pairs table")
    pairs, unscorable = _split_scorable(pairs, scores)
    if pairs.empty:
        raise InvalidInputError(f"no CRISPR pair is rated by every score ({', '.join(scores)}); "
                                "evaluate the scores separately")
    counts = pairs.groupby(["gene", "chrom"])["regulated"].agg(["size", "sum"])
    kept = counts[(counts["size"] >= min_candidates) & (counts["sum"] >= min_positives)]
    in_kept = pd.MultiIndex.from_frame(pairs[["gene", "chrom"]]).isin(kept.index)
    pooled, per_gene = [], []
    for subset, table in (("all pairs", pairs), ("kept genes", pairs[in_kept])):
        if len(table):
            base = {"subset": subset, "n_pairs": len(table), "n_positives": int(table["regulated"].sum()),
                    "prevalence": float(table["regulated"].mean())}
            pooled += _metrics_rows(table, scores, min_recall, **base)
    for (gene, chrom), table in pairs[in_kept].groupby(["gene", "chrom"], sort=True):
        base = {"gene": gene, "chrom": chrom, "n_candidates": len(table),
                "n_positives": int(table["regulated"].sum())}
        per_gene += _metrics_rows(table, scores, min_recall, **base)
    metric_columns = ["score", "n_scored", "average_precision", "auprc", "precision_at_recall"]
    return CrisprReport(
        pairs=pairs,
        pooled=pd.DataFrame(pooled, columns=["subset", "n_pairs", "n_positives", "prevalence", *metric_columns]),
        per_gene=pd.DataFrame(per_gene, columns=["gene", "chrom", "n_candidates", "n_positives", *metric_columns]),
        scores=scores,
        min_recall=min_recall,
        n_dropped=int((~has_tss).sum()),
        unscorable=unscorable,
    )


def _join_scores(pairs: pd.DataFrame, scores_table: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    table = scores_table if isinstance(scores_table, pd.DataFrame) else read_table(scores_table)
    require_columns(table, KEYS, "score table")
    extra = [c for c in table.columns if c not in KEYS]
    clash = [c for c in extra if c in pairs.columns]
    if not extra or clash:
        raise InvalidInputError(
            f"the score table needs score columns besides {', '.join(KEYS)} that the pairs lack; "
            f"it has {', '.join(extra) or 'none'}" + (f" (clashing: {', '.join(clash)})" if clash else "")
        )
    table = table.copy()
    table["chrom"] = table["chrom"].astype(str)
    table["gene"] = table["gene"].astype(str)
    if table.duplicated(KEYS).any():
        raise InvalidInputError("the score table has repeated (chrom, start, end, gene) rows")
    return pairs.merge(table, on=KEYS, how="left")


def validate_enhancers(
    pairs_path: str | os.PathLike,
    scores_table: pd.DataFrame | str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    abc_table: str | os.PathLike | None = None,
    score_columns: Sequence[str] | None = None,
    chroms: Sequence[str] | None = None,
    fmt: str = "auto",
    min_candidates: int = 10,
    min_positives: int = 1,
    min_recall: float = 0.7,
) -> CrisprReport:
    """Validate per-element scores against a CRISPRi table and write a report.

    Args:
        pairs_path: EPCrisprBenchmark or Fulco table (see `read_crispr_table`).
        scores_table: DataFrame or file with chrom, start, end, gene and score columns
            (e.g. `graphreg` from `score_elements`), joined to the pairs on those four keys.
        out_dir: where to write report.md, pooled.csv, per_gene.csv, pairs.csv, pr_curves.png.
        abc_table: ABC predictions file to attach as the "abc" baseline (`attach_abc_scores`).
        score_columns: scores to evaluate; default: the score table's columns, distance, abc.
        chroms: evaluate only pairs on these chromosomes.

    Example:
        >>> report = validate_enhancers("EPCrisprBenchmark.tsv.gz", "scores.csv", "out")  # doctest: +SKIP
        >>> report.pooled  # doctest: +SKIP
    """
    pairs = read_crispr_table(pairs_path, fmt)
    if chroms is not None:
        pairs = pairs[pairs["chrom"].isin(list(chroms))].reset_index(drop=True)
    extra: list[str] = []
    if scores_table is not None:
        before = set(pairs.columns)
        pairs = _join_scores(pairs, scores_table)
        extra = [c for c in pairs.columns if c not in before]
    if abc_table is not None:
        pairs = attach_abc_scores(pairs, abc_table)
    names = list(score_columns) if score_columns is not None else [*extra, "distance", "abc"]
    report = validate(pairs, names, min_candidates, min_positives, min_recall=min_recall)
    if out_dir is not None:
        report.files = write_report(report, Path(out_dir))
    return report
