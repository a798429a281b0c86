"""Contact pairs (4DN `.pairs`, HiC-Pro `allValidPairs`) -> raw-count pixels on the graph's bins.

Both are one line per read pair, 1-based positions (the SAM POS of each mate), gzipped or not,
fields separated by any whitespace. `pairs` reads the 4DN layout (`readID chr1 pos1 chr2 pos2
strand1 strand2 ...`, or the order its `#columns:` header gives) and its `#chromsize:` lines;
`hicpro` reads HiC-Pro's (`readID chr1 pos1 strand1 chr2 pos2 strand2 ...`). A first data line
that does not fit the layout is refused, naming the file and the line.

The file is streamed in chunks of rows (never held whole): each chunk's intra-chromosomal pairs of
the requested chromosomes are binned at `(pos - 1) // resolution`, folded onto the upper triangle,
kept within `max_distance` and counted per pixel, and the per-chunk counts are merged. Trans pairs
and other chromosomes are skipped. This is `cooler cload pairs` (1-based, reflected lower triangle)
restricted to the pixels a graph uses, without writing a .cool in between.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..._tables import open_text
from ...errors import InvalidInputError
from ..assembly import normalize_chrom
from .significance import canonical_pixels

_CHUNK_ROWS = 2_000_000
_COMPACT_AT = 20_000_000  # merge every chromosome's buffered pixels when this many are pending in all
_STRANDS = {"+", "-"}
#: field index of chrom1, pos1, chrom2, pos2 and of the two strands (None: not required)
LAYOUTS = {
    "pairs": {"chrom1": 1, "pos1": 2, "chrom2": 3, "pos2": 4, "strand1": 5, "strand2": 6},
    "hicpro": {"chrom1": 1, "pos1": 2, "strand1": 3, "chrom2": 4, "pos2": 5, "strand2": 6},
}
_4DN_NAMES = {"chr1": "chrom1", "pos1": "pos1", "chr2": "chrom2", "pos2": "pos2", "strand1": "strand1",
              "strand2": "strand2"}


def _header(path: Path, fmt: str) -> tuple[dict[str, int], dict[str, int], tuple[int, list[str]]]:
    """The layout (field indices), `#chromsize:` lengths and the first data line (number, fields)."""
    layout, sizes = dict(LAYOUTS[fmt]), {}
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#"):
                words = line[1:].split()
                if fmt == "pairs" and words[:1] == ["columns:"]:
                    names = words[1:]
                    missing = [n for n in ("chr1", "pos1", "chr2", "pos2") if n not in names]
                    if missing:
                        raise InvalidInputError(f"{path}, line {lineno}: the `#columns:` header lacks "
                                                f"{', '.join(missing)}; a 4DN pairs file names chr1 pos1 chr2 pos2")
                    layout = {_4DN_NAMES[n]: names.index(n) for n in names if n in _4DN_NAMES}
                elif fmt == "pairs" and words[:1] == ["chromsize:"] and len(words) == 3:
                    sizes[words[1]] = int(words[2])
                continue
            if line.strip():
                return layout, sizes, (lineno, line.split())
    raise InvalidInputError(f"{path}: no pairs (the file is empty or all header)")


def _check_layout(path: Path, fmt: str, layout: dict[str, int], first: tuple[int, list[str]]) -> None:
    lineno, fields = first
    ok = len(fields) > max(layout.values()) and all(fields[layout[k]].isdigit() for k in ("pos1", "pos2")) and all(
        fields[layout[k]] in _STRANDS for k in ("strand1", "strand2") if k in layout)
    if not ok:
        other = "hicpro" if fmt == "pairs" else "pairs"
        order = " ".join(sorted(LAYOUTS[fmt], key=LAYOUTS[fmt].get))
        raise InvalidInputError(
            f"{path}, line {lineno}: unknown column layout {' '.join(fields[:8])!r}; format {fmt!r} expects "
            f"readID {order} (1-based positions, strands + or -). If this is a "
            f"{'HiC-Pro allValidPairs' if other == 'hicpro' else '4DN .pairs'} file use format {other!r}"
        )


def read_pairs(
    source: str, chroms: list[str], resolution: int, max_distance: int, fmt: str = "pairs"
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Pixels (`bin1 <= bin2`, `count`) per requested chromosome, and the lengths the file states."""
    path = Path(source)
    if not path.is_file():
        raise InvalidInputError(f"pairs file {path} does not exist")
    layout, sizes, first = _header(path, fmt)
    _check_layout(path, fmt, layout, first)
    wanted = {normalize_chrom(c): c for c in chroms}
    cols = [layout[k] for k in ("chrom1", "pos1", "chrom2", "pos2")]
    max_bins = max_distance // resolution
    buffers = PixelBuffers(chroms)
    seen: set[str] = set()
    line = first[0] - 1
    try:
        reader = pd.read_csv(path, sep=r"\s+", header=None, skiprows=first[0] - 1, usecols=cols,
                             chunksize=_CHUNK_ROWS, dtype={cols[0]: str, cols[2]: str}, compression="infer")
        for chunk in reader:
            seen.update(chunk[cols[0]].unique())
            _add_chunk(chunk, cols, wanted, resolution, max_bins, buffers, path, line)
            line += len(chunk)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"{path}: a line after line {line} does not fit the {fmt} layout "
                                f"({' '.join(sorted(LAYOUTS[fmt], key=LAYOUTS[fmt].get))}): {exc}") from None
    found = {normalize_chrom(s) for s in seen}
    missing = [c for c in chroms if normalize_chrom(c) not in found]
    if missing:
        raise InvalidInputError(f"{path}: no pairs on {', '.join(missing)} (the file names "
                                f"{', '.join(sorted(seen)[:8])}); fix the chromosomes or use another file")
    pixels = {c: _merge(buffers.parts.pop(c)) for c in chroms}  # each chromosome's buffers freed once merged
    by_spec = {wanted[normalize_chrom(n)]: v for n, v in sizes.items() if normalize_chrom(n) in wanted}
    return pixels, by_spec


class PixelBuffers:
    """Pixel counts per chromosome, buffered as (keys, counts) parts and merged in bulk.

    Memory follows the distinct pixels, not the pairs read: once `cap` entries are pending across all
    chromosomes (a genome-wide file spreads them so no single chromosome may ever reach the cap), every
    chromosome's parts are merged into one. `peak` is the most entries ever held, for tests and benchmarks.
    """

    def __init__(self, chroms: list[str], cap: int = _COMPACT_AT):
        self.parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {c: [] for c in chroms}
        self.cap, self.pending, self.peak = cap, 0, 0

    def add(self, chrom: str, keys: np.ndarray, counts: np.ndarray) -> None:
        self.parts[chrom].append((keys, counts))
        self.pending += keys.size
        self.peak = max(self.peak, self.held())
        if self.pending > self.cap:
            for parts in self.parts.values():
                if len(parts) > 1:
                    parts[:] = [_compact(parts)]
            self.pending = 0

    def held(self) -> int:
        return sum(k.size for parts in self.parts.values() for k, _ in parts)


def _add_chunk(chunk: pd.DataFrame, cols: list[int], wanted: dict[str, str], resolution: int, max_bins: int,
               buffers: PixelBuffers, path: Path, line: int) -> None:
    """Bin one chunk's intra-chromosomal pairs of the wanted chromosomes and buffer their pixel counts."""
    c1, p1, c2, p2 = (chunk[c] for c in cols)
    names = {n: wanted.get(normalize_chrom(n)) for n in c1.unique()}
    spec_chrom = c1.map(names)
    cis = (c1 == c2).to_numpy() & spec_chrom.notna().to_numpy()
    pos1, pos2 = p1.to_numpy(np.int64), p2.to_numpy(np.int64)
    bad = np.flatnonzero(cis & ((pos1 < 1) | (pos2 < 1)))
    if bad.size:
        raise InvalidInputError(f"{path}, line {line + int(bad[0]) + 1}: position below 1; pairs positions are 1-based")
    for chrom in spec_chrom[cis].unique():
        sel = cis & (spec_chrom == chrom).to_numpy()
        b1, b2 = (pos1[sel] - 1) // resolution, (pos2[sel] - 1) // resolution
        lo, hi = np.minimum(b1, b2), np.maximum(b1, b2)
        near = hi - lo <= max_bins
        keys, counts = np.unique((lo[near] << 32) | hi[near], return_counts=True)
        buffers.add(chrom, keys, counts)


def _compact(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([k for k, _ in parts]) if parts else np.zeros(0, np.int64)
    counts = np.concatenate([c for _, c in parts]) if parts else np.zeros(0, np.int64)
    merged, inverse = np.unique(keys, return_inverse=True)
    return merged, np.bincount(inverse, weights=counts, minlength=merged.size).astype(np.int64)


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    keys, counts = _compact(parts)
    bin1, bin2 = keys >> 32, keys & 0xFFFFFFFF
    n_bins = int(bin2.max()) + 1 if bin2.size else 1
    return canonical_pixels(bin1, bin2, counts, n_bins)


def read_4dn_pairs(source: str, chroms: list[str], resolution: int, max_distance: int):
    """4DN `.pairs` (see module docstring)."""
    return read_pairs(source, chroms, resolution, max_distance, "pairs")


def read_hicpro_pairs(source: str, chroms: list[str], resolution: int, max_distance: int):
    """HiC-Pro `allValidPairs` (see module docstring)."""
    return read_pairs(source, chroms, resolution, max_distance, "hicpro")


PAIRS_READERS = {"pairs": read_4dn_pairs, "hicpro": read_hicpro_pairs}
