"""Reading user tables (CSV/TSV/Parquet) and writing report files atomically."""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import TextIO

import pandas as pd

from ._atomic import atomic_path
from .errors import InvalidInputError


def open_text(path: str | os.PathLike) -> TextIO:
    """Open a text file for reading, gunzipping it on the fly when it is gzipped (by its magic bytes, so a
    gzipped file without `.gz` in its name reads too)."""
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gzipped else open(path)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a `.parquet`, or a text table (optionally gzipped) separated by tabs or commas.

    The separator is a tab when the header line holds one, else a comma.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"table {path} does not exist; pass a CSV, TSV or Parquet file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        with open_text(path) as fh:
            header = fh.readline()
        return pd.read_csv(path, sep="\t" if "\t" in header else ",")
    except (ValueError, OSError, ImportError) as exc:
        raise InvalidInputError(f"cannot read table {path}: {exc}") from exc


def require_columns(table: pd.DataFrame, columns: list[str], what: str, hint: str = "") -> None:
    """Raise InvalidInputError naming every column of `columns` that `table` lacks (then `hint`)."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InvalidInputError(
            f"{what} lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, table.columns))}{hint}"
        )


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write `table` as CSV (no index) atomically; return the path."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def markdown_table(table: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A GitHub-flavoured Markdown table of `table` (floats with `floatfmt`)."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "NA" if value != value else format(value, floatfmt)
        return str(value)

    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)
