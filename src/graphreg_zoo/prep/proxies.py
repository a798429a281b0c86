"""Stand-in inputs for cells that lack 100 bp coverage or CAGE (the K562 chr22 case study).

Some public data sets give an assay only as read counts per candidate element (ABC's
`*.CountReads.bedgraph`: one ~500 bp element, one count) and expression only as gene TPM.
These helpers turn them into files `prepare` reads, written atomically:

- `spread_counts`: every element's reads spread uniformly over its base pairs, then summed per
  100 bp bin (a bin gets count x overlap / element length; the chromosome's total is kept).
  Bins outside every element are 0. This is element-level signal at 100 bp, not coverage:
  the shape inside an element is flat by construction.
- `tss_expression`: gene TPM matched to TSSs by gene symbol; symbols listed more than once in
  the expression table are ambiguous and left out. Written as 1 bp bedGraph intervals
  (values of TSSs at the same base summed), it is a CAGE-like target once `prepare` sums
  it per 5 kb node (TPM, not counts: see docs/case-study-k562-chr22.md).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..errors import InvalidInputError
from ..geometry import TRACK_BIN
from .tracks import TrackFile, bin_intervals, check_intervals

__all__ = ["spread_counts", "element_count_track", "read_expression", "tss_expression",
           "write_bin_bedgraph", "write_point_bedgraph"]


def spread_counts(
    starts: np.ndarray, ends: np.ndarray, counts: np.ndarray, length: int, bin_size: int = TRACK_BIN
) -> np.ndarray:
    """Per-bin reads (float64, ceil(length / bin_size) bins) of counts spread uniformly over elements.

    Elements must be sorted, non-empty and non-overlapping (`tracks.check_intervals`).
    """
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.float64)
    check_intervals(starts, ends, counts, "element counts", nan="error")
    if starts.size and ends[-1] > length:
        raise InvalidInputError(f"element counts: element [{starts[-1]}, {ends[-1]}) ends beyond {length:,} bp")
    density = counts / (ends - starts)
    return bin_intervals(starts, ends, density, 0, -(-length // bin_size), bin_size, "sum")


def element_count_track(path: str | os.PathLike, chrom: str, length: int, bin_size: int = TRACK_BIN) -> np.ndarray:
    """`spread_counts` of one chromosome of an element-count bedGraph (chrom start end count)."""
    with TrackFile(path) as track:
        if chrom not in track.chroms:
            raise InvalidInputError(f"{path}: no elements on {chrom}; it has {', '.join(track.chroms) or 'none'}")
        starts, ends, counts = track.intervals(chrom, 0, length)
    return spread_counts(starts, ends, counts, length, bin_size)


def read_expression(path: str | os.PathLike) -> pd.Series:
    """Gene symbol -> value from a headerless two-column table (symbol, TPM); ambiguous symbols dropped."""
    try:
        table = pd.read_csv(path, sep="\t", header=None, usecols=[0, 1], names=["gene", "value"],
                            dtype={"gene": str}, comment="#")
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"{path}: not a two-column (gene, value) table: {exc}") from None
    table["value"] = pd.to_numeric(table["value"], errors="coerce")
    if table["value"].isna().any() or (table["value"] < 0).any():
        raise InvalidInputError(f"{path}: expression values must be non-negative numbers")
    unique = table[~table["gene"].duplicated(keep=False)]
    return unique.set_index("gene")["value"]


def tss_expression(tss: pd.DataFrame, expression: pd.Series) -> pd.DataFrame:
    """The TSSs (columns chrom, tss, gene, strand as `genes.read_tss` gives) whose gene has a
    value, with a `value` column added."""
    matched = tss[tss["gene"].isin(expression.index)].copy()
    matched["value"] = expression.reindex(matched["gene"]).to_numpy(dtype=np.float64)
    return matched.reset_index(drop=True)


def write_bin_bedgraph(path: str | os.PathLike, chrom: str, values: np.ndarray, length: int,
                       bin_size: int = TRACK_BIN) -> Path:
    """Write the non-zero bins of one chromosome as a bedGraph (last bin clipped to `length`)."""
    values = np.asarray(values, dtype=np.float64)
    nonzero = np.flatnonzero(values)
    if nonzero.size == 0:  # prepare needs the chromosome in the file: one zero interval
        nonzero, values = np.array([0]), np.zeros(1)
    starts = nonzero * bin_size
    table = pd.DataFrame({"chrom": chrom, "start": starts, "end": np.minimum(starts + bin_size, length),
                          "value": values[nonzero]})
    return _write_bedgraph(table, path)


def write_point_bedgraph(path: str | os.PathLike, points: pd.DataFrame, column: str = "value") -> Path:
    """Write 1 bp intervals at `points["tss"]` (per chromosome, values at one base summed)."""
    summed = points.groupby(["chrom", "tss"], sort=True)[column].sum().reset_index()
    table = pd.DataFrame({"chrom": summed["chrom"], "start": summed["tss"], "end": summed["tss"] + 1,
                          "value": summed[column]})
    return _write_bedgraph(table, path)


def _write_bedgraph(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", header=False, index=False, float_format="%.9g")
    return Path(path)
