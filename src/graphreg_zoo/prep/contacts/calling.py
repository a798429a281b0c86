"""Chromatin contacts -> GraphReg graphs: one binary, symmetric 5 kb adjacency per chromosome.

Formats: `hicdcplus` (called pairs, headered or the legacy 5 columns), `bedpe` (loops),
`juicer_dump`, `cool`/`mcool` and `hic` (raw counts: thresholded by the built-in significance
caller with `call=True`, or by `min_count`). See docs/contacts.md.
"""
from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path
from typing import Mapping, Union

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..._atomic import atomic_path
from ...errors import InvalidInputError
from ..assembly import check_extent, check_lengths
from ..spec import GraphSpec
from .formats import FORMATS as CONTACT_FORMATS
from .formats import RAW_FORMATS
from .matrices import MATRIX_READERS
from .pairs import PAIRS_READERS
from .significance import call_contacts
from .tables import BEDPE_COUNT_NAMES, HICDCPLUS_COLUMNS, TEXT_READERS

__all__ = [
    "READERS", "build_graphs", "call_contacts", "call_table", "edges_to_graph", "read_contacts", "write_hicdcplus"
]

#: the formats read as contacts (npz is already a graph): format -> reader
READERS = {**TEXT_READERS, **MATRIX_READERS, **PAIRS_READERS}
Source = Union[str, os.PathLike, Mapping[str, Union[str, os.PathLike]]]


def _paths_by_chrom(source: Source, fmt: str, chroms: list[str]) -> dict[str, Path]:
    """One file per chromosome: a mapping, a path template with `{chrom}`, or one file for all."""
    if isinstance(source, Mapping):
        missing = [c for c in chroms if c not in source]
        if missing:
            raise InvalidInputError(f"no contact file given for {', '.join(missing)}; add them to the mapping")
        return {c: Path(source[c]).expanduser() for c in chroms}
    text = os.fspath(source)
    if "{chrom}" in text:
        return {c: Path(text.format(chrom=c)).expanduser() for c in chroms}
    if fmt == "juicer_dump" and len(chroms) > 1:
        raise InvalidInputError(
            f"{text}: a juicer dump holds one chromosome but {len(chroms)} were asked for; pass a path "
            "template such as 'dumps/{chrom}.txt.gz' or a {chrom: path} mapping"
        )
    return {c: Path(text).expanduser() for c in chroms}


def read_contacts(
    source: Source, fmt: str, chroms: list[str], *, resolution: int = 5000, max_distance: int = 2_000_000
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Pixels per chromosome on `resolution` bins, and chromosome lengths the file states (cool/hic)."""
    if fmt not in READERS:
        raise InvalidInputError(f"unknown contact format {fmt!r}; choose one of {', '.join(READERS)}")
    if max_distance < resolution:
        raise InvalidInputError(
            f"the resolution ({resolution:,} bp) exceeds the maximum distance ({max_distance:,} bp): no two bins are "
            "within reach, so there is nothing to keep. Use a resolution of at most the maximum distance (GraphReg's "
            "graph is 5,000 bp)"
        )
    if CONTACT_FORMATS[fmt].whole_genome:
        if isinstance(source, Mapping):
            raise InvalidInputError(f"a {fmt} file holds every chromosome; pass one path, not a mapping")
        return READERS[fmt](os.fspath(source), chroms, resolution, max_distance)
    by_path: dict[Path, list[str]] = defaultdict(list)
    for chrom, path in _paths_by_chrom(source, fmt, chroms).items():
        by_path[path].append(chrom)
    pixels: dict[str, pd.DataFrame] = {}
    for path, wanted in by_path.items():
        if not path.is_file():
            raise InvalidInputError(f"contact file {path} (for {', '.join(wanted)}) does not exist")
        pixels.update(TEXT_READERS[fmt](path, wanted, resolution))
    return pixels, {}


def edges_to_graph(bin1: np.ndarray, bin2: np.ndarray, n_nodes: int, max_bins: int, where: str) -> sp.csr_matrix:
    """Binary float32 symmetric CSR graph with a zero diagonal; pairs farther than `max_bins` are dropped."""
    bin1, bin2 = np.asarray(bin1, dtype=np.int64), np.asarray(bin2, dtype=np.int64)
    outside = (bin1 < 0) | (bin2 < 0) | (bin1 >= n_nodes) | (bin2 >= n_nodes)
    if outside.any():
        k = int(np.argmax(outside))
        raise InvalidInputError(
            f"{where}: pair of bins ({bin1[k]}, {bin2[k]}) lies beyond the chromosome's {n_nodes} bins; the "
            "contacts and the chromosome sizes come from different assemblies (check the genome build)"
        )
    dist = np.abs(bin2 - bin1)
    keep = (dist > 0) & (dist <= max_bins)
    rows = np.concatenate([bin1[keep], bin2[keep]])
    cols = np.concatenate([bin2[keep], bin1[keep]])
    graph = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n_nodes, n_nodes))
    graph.data[:] = 1.0  # duplicates were summed
    return graph


def _significant(
    pixels: pd.DataFrame, fmt: str, chrom_len: int, *, fdr: float, call: bool, min_count: float | None,
    resolution: int, max_distance: int,
) -> tuple[pd.DataFrame, str]:
    """The pixels that become edges, and a phrase saying how they were chosen."""
    if "qvalue" in pixels:
        return pixels[pixels["qvalue"] <= fdr], f"q <= {fdr}"
    if "count" not in pixels:  # loops
        if min_count is None:
            return pixels, "loops"
        if "loop_count" not in pixels:
            raise InvalidInputError(
                f"{fmt}: min_count needs a loop-count column, and this table has none (a header naming "
                f"{'/'.join(BEDPE_COUNT_NAMES)}, or a 7th column of whole numbers); remove min_count to keep every loop"
            )
        return pixels[pixels["loop_count"] >= min_count], f"loop count >= {min_count}"
    if call:
        called = call_contacts(pixels, chrom_len, resolution=resolution, max_distance=max_distance)
        return called[called["qvalue"] <= fdr], f"q <= {fdr} (built-in caller)"
    if min_count is not None:
        return pixels[pixels["count"] >= min_count], f"count >= {min_count}"
    raise InvalidInputError(
        f"{fmt} holds raw counts, which are not a graph: pass call=True (CLI: call-contacts) to keep the "
        "significant pairs, or min_count=N to keep pixels with at least N contacts"
    )


def build_graphs(
    source: Source,
    fmt: str,
    chrom_sizes: Mapping[str, int],
    chroms: list[str],
    *,
    fdr: float = 0.1,
    max_distance: int = 2_000_000,
    resolution: int = 5000,
    call: bool = False,
    min_count: float | None = None,
) -> dict[str, sp.csr_matrix]:
    """Per chromosome a binary, symmetric, zero-diagonal graph over ceil(length / resolution) nodes.

    Args:
        source: a file (`file.mcool::/resolutions/5000` for cooler), a path template with `{chrom}`,
            or a {chrom: path} mapping (per-chromosome HiCDCPlus tables or juicer dumps).
        fmt: one of READERS (formats.FORMATS less npz).
        chrom_sizes: chromosome lengths (bp) keyed by the names in `chroms`.
        chroms: chromosomes to build; file names are matched through `assembly.normalize_chrom`.
        fdr: q-value threshold (`q <= fdr`) for HiCDCPlus tables and the built-in caller.
        max_distance: longest edge in bp.
        resolution: graph bin size in bp; finer inputs are summed into it, coarser ones refused.
        call: run the built-in significance caller on raw counts (juicer_dump, cool, mcool, hic).
        min_count: alternative to `call` for raw counts: keep pixels with at least this many contacts.

    Raises:
        InvalidInputError: unreadable or malformed input, missing chromosome, coarser resolution,
            another assembly, or a chromosome whose graph would be empty.
    """
    missing = [c for c in chroms if c not in chrom_sizes]
    if missing:
        raise InvalidInputError(f"chrom_sizes lacks {', '.join(missing)}; give the length of every chromosome")
    if fmt in READERS:  # refuse a setting this format would ignore
        GraphSpec(format=fmt, path="", call=call, min_count=min_count)
    pixels, file_sizes = read_contacts(source, fmt, chroms, resolution=resolution, max_distance=max_distance)
    check_lengths(file_sizes, {c: c for c in file_sizes}, chrom_sizes, "the given chrom_sizes", f"{source}")
    if not file_sizes:  # text tables state no chromosome lengths: judge the build by where contacts lie
        last = {c: int(px[["bin1", "bin2"]].to_numpy().max()) * resolution for c, px in pixels.items() if len(px)}
        check_extent(last, {c: chrom_sizes[c] for c in chroms}, f"{source}", raw=fmt in RAW_FORMATS)
    max_bins = max_distance // resolution
    graphs = {}
    for chrom in chroms:
        where = f"{source} ({chrom})"
        n_nodes = math.ceil(chrom_sizes[chrom] / resolution)
        kept, rule = _significant(
            pixels[chrom], fmt, chrom_sizes[chrom], fdr=fdr, call=call, min_count=min_count,
            resolution=resolution, max_distance=max_distance,
        )
        graph = edges_to_graph(kept["bin1"].to_numpy(), kept["bin2"].to_numpy(), n_nodes, max_bins, where)
        if graph.nnz == 0:
            raise InvalidInputError(_empty_message(where, pixels[chrom], len(kept), rule, max_distance))
        graphs[chrom] = graph
    return graphs


def _empty_message(where: str, read: pd.DataFrame, n_kept: int, rule: str, max_distance: int) -> str:
    detail = f"; the smallest q-value read is {read['qvalue'].min():.3g}" if "qvalue" in read and len(read) else ""
    return (
        f"{where}: the graph is empty ({len(read)} pairs read, {n_kept} with {rule}, none off the diagonal "
        f"within {max_distance:,} bp){detail}. Check that the file is the right one for this chromosome and "
        "format (a headered table read as headerless, or another chromosome's file, gives no edges), or "
        "relax the threshold."
    )


def call_table(
    source: Source,
    fmt: str,
    chroms: list[str],
    *,
    chrom_sizes: Mapping[str, int] | None = None,
    fdr: float = 0.1,
    max_distance: int = 2_000_000,
    resolution: int = 5000,
) -> pd.DataFrame:
    """Run the built-in caller on raw counts; return the pairs with q <= fdr as a HiCDCPlus table.

    Chromosome lengths come from `chrom_sizes`, else from the file (cool/hic), else (juicer dump)
    from the last bin with contacts.
    """
    if fmt not in RAW_FORMATS:
        raise InvalidInputError(f"call_table needs raw counts ({', '.join(RAW_FORMATS)}), not {fmt!r}")
    pixels, file_sizes = read_contacts(source, fmt, chroms, resolution=resolution, max_distance=max_distance)
    parts = []
    for chrom in chroms:
        px = pixels[chrom]
        length = (chrom_sizes or file_sizes).get(chrom) or (int(px[["bin1", "bin2"]].to_numpy().max()) + 1) * resolution
        called = call_contacts(px, length, resolution=resolution, max_distance=max_distance)
        called = called[called["qvalue"] <= fdr]
        start_i, start_j = called["bin1"].to_numpy() * resolution, called["bin2"].to_numpy() * resolution
        parts.append(
            pd.DataFrame(
                {
                    "chrI": chrom,
                    "startI": start_i,
                    "endI": np.minimum(start_i + resolution, length),
                    "chrJ": chrom,
                    "startJ": start_j,
                    "endJ": np.minimum(start_j + resolution, length),
                    "D": start_j - start_i,
                    "counts": called["count"].to_numpy(),
                    **{c: called[c].to_numpy() for c in ("pvalue", "qvalue", "mu", "sdev")},
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[list(HICDCPLUS_COLUMNS)]


def write_hicdcplus(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a HiCDCPlus-style tab-separated table (header once) atomically; return the path."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    return Path(path)
