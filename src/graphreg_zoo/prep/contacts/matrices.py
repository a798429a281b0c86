"""Binary contact matrices -> raw-count pixels on the graph's bins: `.cool`/`.mcool` and `.hic`.

Counts are the raw (unbalanced) observed counts: the significance caller models coverage itself.
A file (or `.mcool` / `.hic` resolution) finer than the graph is summed into graph bins; a coarser
one is refused. Chromosome names are matched through `assembly.normalize_chrom` (`22` = `chr22`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InvalidInputError
from ..assembly import match_chroms, require_chroms
from .significance import canonical_pixels

_BLOCK_BP = 10_000_000  # rows read from a .cool at a time


def pick_resolution(available: list[int], resolution: int, where: str) -> int:
    """`resolution` if stored, else the coarsest stored bin size that divides it; refuse otherwise."""
    usable = [r for r in available if r <= resolution and resolution % r == 0]
    if not usable:
        raise InvalidInputError(
            f"{where}: stored resolution(s) {', '.join(f'{r:,}' for r in sorted(available))} bp; none is "
            f"{resolution:,} bp or a finer divisor of it (a coarser matrix cannot make a {resolution:,} bp "
            "graph). Re-bin the raw contacts at 5 kb (e.g. `cooler cload` / juicer `pre -r 5000`)."
        )
    return max(usable)


def _to_graph_bins(
    bin1: np.ndarray, bin2: np.ndarray, count: np.ndarray, factor: int, n_bins: int, max_bins: int
) -> pd.DataFrame:
    """Sum stored pixels into graph bins (`factor` stored bins each); keep pairs <= max_bins apart."""
    px = canonical_pixels(bin1 // factor, bin2 // factor, count, n_bins)
    return px[px["bin2"] - px["bin1"] <= max_bins].reset_index(drop=True)


def read_cool(
    source: str, chroms: list[str], resolution: int, max_distance: int
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Pixels per chromosome (within `max_distance`) and the file's chromosome lengths."""
    path = str(source).partition("::")[0]
    if not Path(path).is_file():
        raise InvalidInputError(f"cooler file {path} does not exist")
    try:
        return _read_cool(source, chroms, resolution, max_distance)
    except InvalidInputError:
        raise
    except (OSError, KeyError, ValueError) as exc:  # h5py on a truncated or damaged file
        raise InvalidInputError(
            f"{path}: not a readable cooler file ({exc}); it is probably truncated or damaged. Download or "
            "write it again (`cooler info` on it should work)"
        ) from None


def _read_cool(
    source: str, chroms: list[str], resolution: int, max_distance: int
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    import cooler

    path, _, group = str(source).partition("::")
    groups = cooler.fileops.list_coolers(path)
    if not group and "/" not in groups:
        stored = [int(g.rsplit("/", 1)[1]) for g in groups if g.startswith("/resolutions/")]
        if not stored:
            found = ", ".join(groups) or "none"
            raise InvalidInputError(f"{path}: no cooler at the root (groups: {found}); pass `{path}::GROUP`")
        source = f"{path}::/resolutions/{pick_resolution(stored, resolution, path)}"
    clr = cooler.Cooler(str(source))
    if clr.binsize is None:
        raise InvalidInputError(f"{source}: variable-size bins; GraphReg needs a fixed-bin cooler at 5 kb or finer")
    factor = resolution // pick_resolution([clr.binsize], resolution, str(source))
    mapping = match_chroms(clr.chromnames, chroms, str(source))
    require_chroms(mapping, chroms, str(source))
    selector = clr.matrix(balance=False, as_pixels=True)
    pixels, sizes = {}, {}
    for chrom in chroms:
        name = mapping[chrom]
        length = int(clr.chromsizes[name])
        offset = clr.offset(name)
        parts = []
        for start in range(0, length, _BLOCK_BP):
            end = min(start + _BLOCK_BP, length)
            block = selector.fetch((name, start, end), (name, start, min(end + max_distance + resolution, length)))
            parts.append(block[block["bin2_id"] >= block["bin1_id"]])
        px = pd.concat(parts)
        pixels[chrom] = _to_graph_bins(
            px["bin1_id"].to_numpy() - offset,
            px["bin2_id"].to_numpy() - offset,
            px["count"].to_numpy(),
            factor,
            -(-length // resolution),
            max_distance // resolution,
        )
        sizes[chrom] = length
    return pixels, sizes


def read_hic(
    source: str, chroms: list[str], resolution: int, max_distance: int
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Raw observed pixels per chromosome from a `.hic` (needs hic-straw) and the file's lengths."""
    try:
        import hicstraw
    except ImportError as exc:
        raise InvalidInputError(
            "reading .hic files needs hic-straw: `pip install graphreg-zoo[hic]` (on Linux it builds against "
            "libcurl: `apt-get install libcurl4-openssl-dev` first), or convert with hic2cool"
        ) from exc
    if not Path(source).is_file():
        raise InvalidInputError(f".hic file {source} does not exist")
    hic = hicstraw.HiCFile(str(source))
    stored = pick_resolution(list(hic.getResolutions()), resolution, str(source))
    lengths = {c.name: int(c.length) for c in hic.getChromosomes() if c.name.upper() != "ALL"}
    mapping = match_chroms(lengths, chroms, str(source))
    require_chroms(mapping, chroms, str(source))
    pixels, sizes = {}, {}
    for chrom in chroms:
        name, length = mapping[chrom], lengths[mapping[chrom]]
        zoom = hic.getMatrixZoomData(name, name, "observed", "NONE", "BP", stored)
        records = zoom.getRecords(0, length, 0, length)
        x = np.fromiter((r.binX for r in records), np.int64, len(records)) // stored
        y = np.fromiter((r.binY for r in records), np.int64, len(records)) // stored
        count = np.fromiter((r.counts for r in records), np.float64, len(records))
        pixels[chrom] = _to_graph_bins(
            x, y, count, resolution // stored, -(-length // resolution), max_distance // resolution
        )
        sizes[chrom] = length
    return pixels, sizes


MATRIX_READERS = {"cool": read_cool, "mcool": read_cool, "hic": read_hic}
