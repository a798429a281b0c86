"""Text contact tables -> pixels on the graph's bins: HiCDCPlus calls, bedpe loops, juicer dumps.

Each reader returns, per requested chromosome, a DataFrame with 0-based `bin1`, `bin2` on bins of
`resolution` bp, plus `qvalue` (HiCDCPlus) or `count` (juicer dump). Malformed lines are reported
with their line number. The input bin size is the table's own end - start where it has an end
column (HiCDCPlus), else the gcd of the bin starts (1-based GRanges starts such as 5001 are
recognised); a finer size that divides `resolution` is aggregated, a coarser one is refused.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from ..._tables import open_text
from ...errors import InvalidInputError
from ..assembly import match_chroms, require_chroms

HICDCPLUS_COLUMNS = (
    "chrI", "startI", "endI", "chrJ", "startJ", "endJ", "D", "counts", "pvalue", "qvalue", "mu", "sdev"
)
_LEGACY_HICDCPLUS = ("chr", "start_i", "start_j", "qval", "count")
_MIN_STARTS_FOR_GCD = 20  # fewer distinct starts: the gcd says nothing, assume `resolution`
BEDPE_COUNT_NAMES = ("cc", "count", "counts", "observed", "pets", "pet_count", "petcount")
_DTYPES = {str: "str", int: "int64", float: "float64"}
_KIND_NAMES = {str: "text", int: "an integer", float: "a number"}




def _data_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank, non-comment line."""
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip() and not line.startswith("#"):
                yield lineno, line.split()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_fields(path: Path) -> list[str]:
    if not path.is_file():
        raise InvalidInputError(f"contact file {path} does not exist")
    for _, fields in _data_lines(path):
        return [f.strip("\"'") for f in fields]  # R writes quoted header names
    raise InvalidInputError(f"{path} has no data lines; it is empty or all comments")


def _first_bad_line(
    path: Path, kinds: dict[int, Callable[[str], object]], n_fields: tuple[int, int | None], header: bool
) -> str:
    """Describe the first line that does not parse, e.g. "line 7: field 2 'abc' is not a number"."""
    lo, hi = n_fields
    for lineno, fields in _data_lines(path):
        if header:
            header = False
            continue
        if len(fields) < lo or (hi is not None and len(fields) > hi):
            want = f"{lo}" if hi == lo else f"at least {lo}"
            return f"line {lineno}: {len(fields)} fields, expected {want}"
        for pos, kind in kinds.items():
            try:
                kind(fields[pos])
            except ValueError:
                return f"line {lineno}: field {pos + 1} {fields[pos]!r} is not {_KIND_NAMES[kind]}"
    return "a line that pandas could not parse"


def _read(
    path: Path,
    columns: dict[int | str, tuple[int, Callable[[str], object]]],
    n_fields: tuple[int, int | None],
    *,
    header: bool,
    expected: str,
) -> pd.DataFrame:
    """Read `columns` ({key: (position, type)}) of a whitespace-separated table; on failure name the bad line."""
    cause: Exception | None = None
    try:
        table = pd.read_csv(
            path,
            sep=r"\s+",
            header=0 if header else None,
            usecols=list(columns),
            dtype={key: _DTYPES[kind] for key, (_, kind) in columns.items()},
            comment="#",
        )
        if not table.isna().to_numpy().any():
            return table
    except (ValueError, pd.errors.ParserError) as exc:  # a non-number, or too many fields
        cause = exc
    where = _first_bad_line(path, dict(columns.values()), n_fields, header)
    raise InvalidInputError(f"{path}, {where}; expected {expected}. Fix or remove that line.") from cause


def _bin_size_from_ends(start: np.ndarray, end: np.ndarray) -> int | None:
    """A table's own bin size from its start/end columns: the most common end - start (the last bin
    of a chromosome is shorter), plus one for 1-based inclusive GRanges bins (5001-10000)."""
    if not len(start):
        return None
    widths, counts = np.unique(end - start, return_counts=True)
    width = int(widths[np.argmax(counts)])
    return width + 1 if width > 0 and np.all((start - 1) % (width + 1) == 0) else width


def _bins(start: np.ndarray, resolution: int, where: str, size: int | None = None) -> np.ndarray:
    """Bin index at `resolution` of each start, after checking the file's own bin size (`size`
    when the table states it through its end column, else the gcd of enough distinct starts)."""
    distinct = np.unique(start)
    if size is None and len(distinct) >= _MIN_STARTS_FOR_GCD:
        zero_based, one_based = int(np.gcd.reduce(distinct)), int(np.gcd.reduce(distinct - 1))
        size = max(zero_based, one_based)
    if size is not None:
        if size > resolution:
            raise InvalidInputError(
                f"{where}: bins are {size:,} bp, coarser than the {resolution:,} bp graph; GraphReg needs "
                f"contacts at {resolution:,} bp or finer (finer bins are summed)"
            )
        if resolution % size:
            raise InvalidInputError(
                f"{where}: bins are {size:,} bp, which does not divide {resolution:,} bp, so they cannot be "
                f"summed into graph bins; export the contacts at {resolution:,} bp or a divisor of it"
            )
    return start // resolution


def _split_chroms(table: pd.DataFrame, chrom_col: str, chroms: list[str], where: str) -> dict[str, pd.DataFrame]:
    names = table[chrom_col].astype("category")
    mapping = match_chroms(names.cat.categories, chroms, where)
    require_chroms(mapping, chroms, where)
    groups = table.groupby(names, observed=True).indices
    return {c: table.iloc[groups[mapping[c]]] for c in chroms}


def read_hicdcplus(path: Path, chroms: list[str], resolution: int) -> dict[str, pd.DataFrame]:
    """HiCDCPlus significant pairs: headered (read by name) or the legacy headerless 5 columns."""
    fields = _first_fields(path)
    header = not _is_number(fields[1])
    if header:
        needed = ["chrI", "startI", "chrJ", "startJ", "qvalue"]
        missing = [c for c in needed if c not in fields]
        if missing:
            raise InvalidInputError(
                f"{path}: header line lacks {', '.join(missing)} (it has {' '.join(fields)}); a HiCDCPlus "
                f"table has `{' '.join(HICDCPLUS_COLUMNS)}`. Write it with gi_list_write(...) so the q-values "
                "are included."
            )
        if "endI" in fields:
            needed.append("endI")
        columns = {c: (fields.index(c), kind) for c, kind in zip(needed, (str, int, str, int, float, int))}
        table = _read(path, columns, (len(fields), len(fields)), header=True, expected=" ".join(fields))
        table = table[table["chrI"] == table["chrJ"]]
        chrom_col, start_i, start_j, q_col = "chrI", "startI", "startJ", "qvalue"
    else:
        if len(fields) != len(_LEGACY_HICDCPLUS):
            raise InvalidInputError(
                f"{path}: a headerless HiCDCPlus table has 5 columns ({' '.join(_LEGACY_HICDCPLUS)}), this one "
                f"has {len(fields)}; add the header line `{' '.join(HICDCPLUS_COLUMNS)}` if it is a full table"
            )
        columns = {i: (i, kind) for i, kind in enumerate((str, int, int, float))}
        table = _read(path, columns, (5, 5), header=False, expected=" ".join(_LEGACY_HICDCPLUS))
        chrom_col, start_i, start_j, q_col = 0, 1, 2, 3
    out = {}
    for chrom, part in _split_chroms(table, chrom_col, chroms, str(path)).items():
        where = f"{path} ({chrom})"
        size = _bin_size_from_ends(part["startI"].to_numpy(), part["endI"].to_numpy()) if "endI" in part else None
        out[chrom] = pd.DataFrame(
            {
                "bin1": _bins(part[start_i].to_numpy(), resolution, where, size),
                "bin2": _bins(part[start_j].to_numpy(), resolution, where, size),
                "qvalue": part[q_col].to_numpy(),
            }
        )
    return out


def _bedpe_count_column(path: Path, fields: list[str], header: bool) -> int | None:
    """Position of a bedpe's loop-count column: a header name such as `cc` (FitHiChIP) or `counts`,
    or, headerless, a 7th column of whole numbers (hichipper/mango); None when there is none."""
    if header:
        named = [i for i, name in enumerate(fields) if name.lower() in BEDPE_COUNT_NAMES and i >= 6]
        return named[0] if named else None
    if len(fields) < 7:
        return None
    seventh = pd.read_csv(path, sep=r"\s+", header=None, usecols=[6], comment="#")[6]
    values = pd.to_numeric(seventh, errors="coerce")
    return 6 if values.notna().all() and (values % 1 == 0).all() and (values >= 0).all() else None


def read_bedpe(path: Path, chroms: list[str], resolution: int) -> dict[str, pd.DataFrame]:
    """Loops (chr1 s1 e1 chr2 s2 e2 ...): every bin under anchor 1 is joined to every bin under anchor 2.

    A loop-count column, when the table has one, comes along as `loop_count` (`min_count` filters it).
    """
    fields = _first_fields(path)
    header = not _is_number(fields[1])
    count_col = _bedpe_count_column(path, fields, header)
    keys = fields[:6] if header else list(range(6))
    kinds = (str, int, int, str, int, int)
    if count_col is not None:
        keys, kinds = [*keys, fields[count_col] if header else count_col], (*kinds, float)
    positions = [*range(6), *([count_col] if count_col is not None else [])]
    columns = {key: (i, kind) for key, i, kind in zip(keys, positions, kinds)}
    table = _read(path, columns, (6, None), header=header, expected="chr1 s1 e1 chr2 s2 e2 [...]")
    table = table[list(columns)]
    table.columns = ["chr1", "s1", "e1", "chr2", "s2", "e2", *(["loop_count"] if count_col is not None else [])]
    bad = table.index[(table["e1"] <= table["s1"]) | (table["e2"] <= table["s2"])]
    if len(bad):
        raise InvalidInputError(f"{path}: data row {bad[0] + 1} has an anchor with end <= start; fix the loop table")
    table = table[table["chr1"] == table["chr2"]]
    per_chrom = _split_chroms(table, "chr1", chroms, str(path))
    return {chrom: _anchor_pairs(part, resolution) for chrom, part in per_chrom.items()}


def _anchor_pairs(loops: pd.DataFrame, resolution: int) -> pd.DataFrame:
    first1, last1 = loops["s1"].to_numpy() // resolution, (loops["e1"].to_numpy() - 1) // resolution
    first2, last2 = loops["s2"].to_numpy() // resolution, (loops["e2"].to_numpy() - 1) // resolution
    n2 = last2 - first2 + 1
    per_loop = (last1 - first1 + 1) * n2
    loop = np.repeat(np.arange(len(loops)), per_loop)
    offset = np.arange(per_loop.sum()) - np.repeat(np.cumsum(per_loop) - per_loop, per_loop)
    pairs = pd.DataFrame({"bin1": first1[loop] + offset // n2[loop], "bin2": first2[loop] + offset % n2[loop]})
    if "loop_count" in loops:
        pairs["loop_count"] = loops["loop_count"].to_numpy()[loop]
    return pairs


def read_juicer_dump(path: Path, chroms: list[str], resolution: int) -> dict[str, pd.DataFrame]:
    """`juicer_tools dump observed NONE ...` text: `start1 start2 count` for one chromosome."""
    fields = _first_fields(path)
    if len(fields) != 3 or not all(_is_number(f) for f in fields):
        raise InvalidInputError(
            f"{path}: first line {' '.join(fields)!r} is not a juicer dump line `start1 start2 count`; a line of "
            "names is a header (is this a HiCDCPlus table? use format 'hicdcplus')"
        )
    columns = {i: (i, kind) for i, kind in enumerate((int, int, float))}
    table = _read(path, columns, (3, 3), header=False, expected="start1 start2 count")
    where = f"{path} ({chroms[0]})"
    return {
        chroms[0]: pd.DataFrame(
            {
                "bin1": _bins(table[0].to_numpy(), resolution, where),
                "bin2": _bins(table[1].to_numpy(), resolution, where),
                "count": table[2].to_numpy(),
            }
        )
    }


TEXT_READERS: dict[str, Callable[[Path, list[str], int], dict[str, pd.DataFrame]]] = {
    "hicdcplus": read_hicdcplus,
    "bedpe": read_bedpe,
    "juicer_dump": read_juicer_dump,
}

