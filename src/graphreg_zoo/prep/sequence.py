"""Indexed FASTA reading and one-hot encoding, without loading a whole genome.

The `.fai` index (samtools format) is built on first use when missing and written atomically
next to the FASTA; if that folder is read-only the index is kept in memory. Columns of the
one-hot code are A, C, G, T (either case); N and any other letter encode as all zeros.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._atomic import atomic_path
from ..errors import InvalidInputError

_LUT = np.zeros((256, 4), dtype=np.uint8)
for _i, _base in enumerate("ACGT"):
    _LUT[ord(_base), _i] = 1
    _LUT[ord(_base.lower()), _i] = 1


@dataclass(frozen=True)
class FaiRecord:
    """One `.fai` line: sequence length, byte offset, bases per line, bytes per line."""

    length: int
    offset: int
    line_bases: int
    line_bytes: int


def one_hot(seq: bytes | str, dtype: type = np.float32) -> np.ndarray:
    """One-hot encode a sequence as (len, 4) in A, C, G, T order; other letters are zeros."""
    raw = np.frombuffer(seq.encode() if isinstance(seq, str) else seq, dtype=np.uint8)
    return _LUT[raw].astype(dtype, copy=False)


def build_fai(fasta: str | Path) -> dict[str, FaiRecord]:
    """Scan a FASTA and return its index; raises on ragged line lengths (like samtools)."""
    fasta = Path(fasta)
    index: dict[str, FaiRecord] = {}
    name, length, offset, lb, lbytes, last_short, pos = None, 0, 0, 0, 0, False, 0
    with open(fasta, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith(b">"):
                if name is not None:
                    index[name] = FaiRecord(length, offset, lb, lbytes)
                name = line[1:].split()[0].decode()
                length, offset, lb, lbytes, last_short = 0, pos + len(line), 0, 0, False
            elif name is not None and line.strip():
                bases = len(line.rstrip(b"\r\n"))
                if lb == 0:
                    lb, lbytes = bases, len(line)
                elif last_short or bases > lb:
                    raise InvalidInputError(
                        f"{fasta}, line {lineno} ({name}): uneven line lengths; an indexed FASTA needs "
                        "equal-length lines (reformat with `samtools faidx` or `seqkit seq -w 60`)"
                    )
                last_short = bases < lb
                length += bases
            pos += len(line)
    if name is not None:
        index[name] = FaiRecord(length, offset, lb, lbytes)
    if not index:
        raise InvalidInputError(f"{fasta}: no FASTA records (no line starting with '>')")
    return index


def _read_fai(path: Path) -> dict[str, FaiRecord]:
    index = {}
    with open(path) as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            index[parts[0]] = FaiRecord(*(int(x) for x in parts[1:5]))
    return index


def _write_fai(path: Path, index: dict[str, FaiRecord]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            for name, r in index.items():
                fh.write(f"{name}\t{r.length}\t{r.offset}\t{r.line_bases}\t{r.line_bytes}\n")


class Fasta:
    """A FASTA file with random access through its `.fai` index.

    Args:
        path: the (uncompressed) FASTA file.
        write_index: save a missing or stale `.fai` next to the FASTA (else keep it in memory).

    Example:
        >>> fa = Fasta("hg38.fa")                       # doctest: +SKIP
        >>> fa.one_hot("chr1", 1_000_000, 1_000_100).shape  # doctest: +SKIP
        (100, 4)
    """

    def __init__(self, path: str | Path, write_index: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise InvalidInputError(f"FASTA {self.path} does not exist; fix `fasta:` in the spec")
        if self.path.name.endswith((".gz", ".bgz")):
            raise InvalidInputError(f"{self.path}: compressed FASTA is not supported; decompress it (gunzip)")
        fai = self.path.with_name(self.path.name + ".fai")
        if fai.is_file() and fai.stat().st_mtime >= self.path.stat().st_mtime:
            self.index = _read_fai(fai)
        else:
            self.index = build_fai(self.path)
            if write_index:
                try:
                    _write_fai(fai, self.index)
                except OSError:
                    pass  # read-only folder: keep the index in memory

    @property
    def chroms(self) -> dict[str, int]:
        """Sequence names and lengths, in file order."""
        return {name: r.length for name, r in self.index.items()}

    def fetch(self, chrom: str, start: int, end: int) -> bytes:
        """Bases [start, end) of `chrom` (clipped to the sequence) as bytes."""
        if chrom not in self.index:
            raise InvalidInputError(f"{self.path}: no sequence named {chrom!r} (has {list(self.index)[:6]})")
        r = self.index[chrom]
        start, end = max(0, start), min(r.length, end)
        if end <= start:
            return b""

        def byte_of(i: int) -> int:
            return r.offset + (i // r.line_bases) * r.line_bytes + i % r.line_bases

        with open(self.path, "rb") as fh:
            fh.seek(byte_of(start))
            raw = fh.read(byte_of(end - 1) + 1 - byte_of(start))
        return raw.translate(None, b"\r\n")

    def one_hot(self, chrom: str, start: int, end: int, dtype: type = np.float32) -> np.ndarray:
        """(end - start, 4) one-hot of [start, end); positions outside the sequence are zeros."""
        out = np.zeros((end - start, 4), dtype=dtype)
        lo = max(0, start)
        seq = self.fetch(chrom, start, end)
        out[lo - start : lo - start + len(seq)] = one_hot(seq, dtype)
        return out
