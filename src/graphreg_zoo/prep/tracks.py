"""Signal tracks (bigWig or bedGraph) -> fixed-size bins, plus the track normalisations.

Binning is exact and vectorised: the intervals of a chromosome are read in 10 Mb chunks with
pyBigWig `intervals()`, cut at bin edges with numpy, and reduced per bin. Conventions:

- `sum`: sum over bases of the value (area; `bam_cov.py`-style per-base coverage).
- `mean`: mean over the *covered* bases of the bin (pyBigWig `stats(exact=True)` semantics).
- `max`: maximum over the covered bases (deepTools RPGC per-bin values).
- A bin with no data is 0 for every statistic.
- NaN values: `nan="error"` (default) refuses the file and names the first NaN position;
  `nan="zero"` treats NaN intervals as no data (they contribute 0).
- Intervals must be sorted and non-overlapping; otherwise the file is refused with the
  chromosome and position of the first offence.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from .._tables import open_text
from ..errors import InvalidInputError

STATS = ("sum", "mean", "max")
NORMALISATIONS = ("log2", "upstream_minmax", "raw")
NAN_POLICIES = ("error", "zero")
_CHUNK_BP = 10_000_000
_BEDGRAPH_SUFFIXES = (".bedgraph", ".bdg", ".bedgraph.gz", ".bdg.gz")

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


class TrackFile:
    """A bigWig or bedGraph file opened for binning; `chroms` maps file names to lengths.

    bedGraph files carry no chromosome lengths (their `chroms` values are None).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._bw = None
        self._bedgraph: dict[str, Arrays] | None = None
        if self.path.name.lower().endswith(_BEDGRAPH_SUFFIXES):
            self._bedgraph = _read_bedgraph(self.path)
            self.chroms: dict[str, int | None] = {c: None for c in self._bedgraph}
            return
        import pyBigWig

        try:
            self._bw = pyBigWig.open(str(self.path))
        except RuntimeError:
            self._bw = None
        if self._bw is None or not self._bw.isBigWig():
            raise InvalidInputError(
                f"{self.path}: not a readable bigWig file (bedGraph files need a .bedgraph/.bdg suffix)"
            )
        self.chroms = dict(self._bw.chroms())

    def intervals(self, chrom: str, start: int, end: int) -> Arrays:
        """(starts, ends, values) of the intervals overlapping [start, end), in file order."""
        if self._bedgraph is not None:
            s, e, v = self._bedgraph[chrom]
            lo, hi = np.searchsorted(e, start, side="right"), np.searchsorted(s, end, side="left")
            return s[lo:hi], e[lo:hi], v[lo:hi]
        found = self._bw.intervals(chrom, start, end) or ()
        flat = np.fromiter(itertools.chain.from_iterable(found), dtype=np.float64, count=3 * len(found))
        flat = flat.reshape(-1, 3)
        return flat[:, 0].astype(np.int64), flat[:, 1].astype(np.int64), flat[:, 2]

    def close(self) -> None:
        """Release the file handle."""
        if self._bw is not None:
            self._bw.close()
            self._bw = None

    def __enter__(self) -> "TrackFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_bedgraph(path: Path) -> dict[str, Arrays]:
    import pandas as pd

    try:
        table = pd.read_csv(
            path, sep=r"\s+", header=None, usecols=[0, 1, 2, 3], comment="#",
            names=["chrom", "start", "end", "value"], dtype={"chrom": str},
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"{path}: not a 4-column bedGraph (chrom start end value): {exc}") from None
    table = table[~table["chrom"].isin(["track", "browser"])]
    for column in ("start", "end", "value"):
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & table[column].notna().to_numpy())
        if bad.size:
            raise InvalidInputError(_not_a_bedgraph(path, column, table[column].iloc[bad[0]], int(bad[0])))
        table[column] = numbers
    out: dict[str, Arrays] = {}
    for chrom, rows in table.groupby("chrom", sort=False):
        s, e = rows["start"].to_numpy(np.int64), rows["end"].to_numpy(np.int64)
        v = rows["value"].to_numpy(np.float64)
        check_intervals(s, e, v, f"{path}, {chrom}", nan="zero")  # order is checked once, NaN per use
        out[chrom] = (s, e, v)
    return out


def _not_a_bedgraph(path: Path, column: str, value: object, row: int) -> str:
    """Why a text file is not a bedGraph: which line, what it looks like, and what to do instead."""
    with open_text(path) as fh:
        data = ((n, line) for n, line in enumerate(fh, 1)
                if line.strip() and not line.startswith(("#", "track", "browser")))
        lineno, line = next((item for i, item in enumerate(data) if i == row), (row + 1, ""))
    fields = line.split()
    if len(fields) >= 10:
        kind = "a peak file (narrowPeak: name, score, strand, fold-enrichment, p, q, summit)"
    elif len(fields) >= 6 and fields[5] in ("+", "-", "."):
        kind = "a reads or intervals BED (chrom start end name score strand)"
    else:
        kind = f"a {len(fields)}-column table"
    return (
        f"{path}, line {lineno}: the {column} column holds {value!r}, not a number, so this is not a bedGraph "
        f"(chrom start end value); it looks like {kind}. A track needs signal per base: turn reads into a "
        "coverage bigWig first (docs/tutorial-from-bam.md), or give the bigWig of the assay."
    )


def check_intervals(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, where: str, nan: str) -> None:
    """Refuse empty, unsorted or overlapping intervals, and NaN values unless `nan="zero"`."""
    bad = np.flatnonzero(ends <= starts)
    if bad.size:
        i = bad[0]
        raise InvalidInputError(f"{where}: interval [{starts[i]}, {ends[i]}) is empty or reversed")
    bad = np.flatnonzero(starts[1:] < starts[:-1])
    if bad.size:
        i = bad[0]
        raise InvalidInputError(
            f"{where}: intervals are not sorted: [{starts[i + 1]}, {ends[i + 1]}) "
            f"comes after [{starts[i]}, {ends[i]}). Sort the file (e.g. `sort -k1,1 -k2,2n`)."
        )
    bad = np.flatnonzero(starts[1:] < ends[:-1])
    if bad.size:
        i = bad[0]
        raise InvalidInputError(
            f"{where}: intervals [{starts[i]}, {ends[i]}) and [{starts[i + 1]}, {ends[i + 1]}) "
            "overlap. Merge or clip them (e.g. `bedtools merge -o sum`)."
        )
    if nan == "error":
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            i = bad[0]
            raise InvalidInputError(
                f"{where}: NaN value at [{starts[i]}, {ends[i]}) ({bad.size} NaN interval(s) in this stretch). "
                "Fix the file, or set `nan: zero` for this track to treat NaN as no data."
            )


def bin_intervals(
    starts: np.ndarray, ends: np.ndarray, values: np.ndarray, start: int, n_bins: int, bin_size: int, stat: str
) -> np.ndarray:
    """Reduce sorted, non-overlapping intervals to `n_bins` bins beginning at `start` (float64)."""
    stop = start + n_bins * bin_size
    s = np.clip(np.asarray(starts, dtype=np.int64), start, stop)
    e = np.clip(np.asarray(ends, dtype=np.int64), start, stop)
    keep = e > s
    s, e, v = s[keep], e[keep], values[keep]
    first, last = (s - start) // bin_size, (e - 1 - start) // bin_size
    pieces = last - first + 1
    which = np.repeat(np.arange(s.size), pieces)
    offset = np.arange(which.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    bins = first[which] + offset
    edge = start + bins * bin_size
    width = np.minimum(e[which], edge + bin_size) - np.maximum(s[which], edge)
    if stat == "max":
        out = np.full(n_bins, -np.inf)
        np.maximum.at(out, bins, v[which])
        out[np.isneginf(out)] = 0.0
        return out
    total = np.bincount(bins, weights=width * v[which], minlength=n_bins)
    if stat == "sum":
        return total
    covered = np.bincount(bins, weights=width, minlength=n_bins)
    return np.divide(total, covered, out=np.zeros(n_bins), where=covered > 0)


def bin_track(
    track: TrackFile, file_chrom: str, length: int, *, bin_size: int = 100, stat: str = "sum", nan: str = "error"
) -> np.ndarray:
    """Bin one chromosome of `track` into ceil(length / bin_size) float32 values.

    `file_chrom` is the chromosome's name in the file; the statistic and NaN policy are
    described in the module docstring.
    """
    if stat not in STATS:
        raise InvalidInputError(f"{track.path}: unknown statistic {stat!r}; use one of {', '.join(STATS)}")
    if nan not in NAN_POLICIES:
        raise InvalidInputError(f"{track.path}: unknown NaN policy {nan!r}; use one of {', '.join(NAN_POLICIES)}")
    n_bins = -(-length // bin_size)
    out = np.zeros(n_bins, dtype=np.float32)
    chunk_bins = max(1, _CHUNK_BP // bin_size)
    for first_bin in range(0, n_bins, chunk_bins):
        nb = min(chunk_bins, n_bins - first_bin)
        start = first_bin * bin_size
        s, e, v = track.intervals(file_chrom, start, min(length, start + nb * bin_size))
        check_intervals(s, e, v, f"{track.path}, {file_chrom}", nan)
        if nan == "zero":
            v = np.nan_to_num(v, nan=0.0)
        out[first_bin : first_bin + nb] = bin_intervals(s, e, v, start, nb, bin_size, stat)
    return out


def log2p1(x: np.ndarray, clip: float | None = None) -> np.ndarray:
    """log2(x + 1) after optional clipping to [0, clip] (negative values become 0)."""
    x = np.clip(x, 0, clip)
    return np.log2(x + 1, dtype=np.float32)


def upstream_minmax(x: np.ndarray, ref_max: float) -> np.ndarray:
    """The original rescaling of already-logged values: (x - min_chrom) / (ref_max - min_chrom).

    `ref_max` is the track's maximum on the reference chromosome (chr1 upstream); the minimum
    is this chromosome's own. Values can exceed 1 on chromosomes whose maximum beats chr1's.
    A degenerate range (ref_max <= min) gives zeros.
    """
    lo = float(x.min()) if x.size else 0.0
    span = float(ref_max) - lo
    if span <= 0:
        return np.zeros_like(x, dtype=np.float32)
    return ((x - lo) / span).astype(np.float32)


def normalise(x: np.ndarray, method: str, *, clip: float | None = None, ref_max: float | None = None) -> np.ndarray:
    """Apply a named normalisation (`log2`, `upstream_minmax`, `raw`) to binned values."""
    if method == "raw":
        return np.clip(x, None, clip).astype(np.float32) if clip is not None else x.astype(np.float32)
    logged = log2p1(x, clip)
    if method == "log2":
        return logged
    if method == "upstream_minmax":
        if ref_max is None:
            raise ValueError("upstream_minmax needs the reference chromosome's maximum")
        return upstream_minmax(logged, ref_max)
    raise InvalidInputError(f"unknown normalisation {method!r}; use one of {', '.join(NORMALISATIONS)}")


def file_bin_size(track: TrackFile, chroms: dict[str, int], sample: int = 1000) -> int:
    """The bin width of a per-bin file, or 1 for per-base coverage.

    deepTools bamCoverage writes one value per bin (equal neighbours merged), so every interval
    starts and ends on a grid of the bin width; per-base coverage (Basenji bam_cov.py) has intervals
    of any length. `chroms` maps file chromosome names to lengths; intervals are read from the start
    of each until `sample` are seen (an interval ending at the chromosome's end is left out: the last
    bin is cut short). Fewer than 20 intervals cannot tell, and give 1.
    """
    starts, widths = [], []
    seen = 0
    for chrom, length in chroms.items():
        for lo in range(0, length, 1_000_000):
            s, e, _ = track.intervals(chrom, lo, min(length, lo + 1_000_000))
            keep = (e < length) & (s >= lo)  # an interval crossing `lo` was read with the previous chunk
            starts.append(s[keep])
            widths.append(e[keep] - s[keep])
            seen += int(keep.sum())
            if seen >= sample:
                break
        if seen >= sample:
            break
    if seen < 20:
        return 1
    return int(np.gcd.reduce(np.concatenate([*starts, *widths]).astype(np.int64)))
