"""Reads (BAM, CRAM, reads BED / tagAlign) -> per-bin counts with deepTools `bamCoverage` semantics.

A reads file used as a track behaves exactly like the bigWig that
`bamCoverage --binSize <bin_size> <options>` would write from it: one value per bin, zero where no
read falls. What is counted (deepTools 3.5 `countReadsPerBin`):

- every mapped alignment (secondary and supplementary included, as deepTools does) that passes
  `min_mapq`, `sam_flag_include`/`sam_flag_exclude`, the fragment-length limits and, with
  `ignore_duplicates`, is not a repeat of an earlier read with the same start, fragment end, mate
  chromosome and strand;
- a read adds 1 to every bin that one of its aligned blocks overlaps, once per bin: spliced (`N`)
  and deleted (`D`) stretches are not covered;
- with `extend_reads`, a properly paired read stands for its whole fragment (mate to mate) and any
  other read is extended from its 5' end to the fragment length (`true`: the median fragment
  length of the proper pairs; a number: that length);
- a blacklist removes its bases: blocks are cut at blacklisted intervals (deepTools restarts its bin
  grid after each blacklisted interval; the grid here stays fixed so bins line up with the model's).

Normalisation multiplies every bin by one factor: `none` by 1 (raw counts), `CPM` by 1e6 / kept,
`RPGC` by effective genome size / (kept x fragment length), the fragment length being the extension
length, or without extension the median read length. "kept" is the number of mapped alignments
that pass the filters. deepTools estimates the kept fraction and the length medians from a sample
of the file; here they are exact (its `--exactScaling`, and exact medians: deepTools' sampled
median fragment length can be far off for RNA-seq, whose spliced pairs have long templates).

BAM files are decoded here, block by block, into numpy arrays (no per-read Python), in one
streaming pass that needs no index; CRAM goes through pysam (it needs the reference).
"""
from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError

NORMALIZATIONS = ("none", "CPM", "RPGC")
# deepTools' "Effective Genome Size" page (non-N bases counted with faCount): fits when
# multimapping reads are kept.
EFFECTIVE_GENOME_SIZES = {"hg19": 2864785220, "hg38": 2913022398, "mm10": 2652783500}
BAM_SUFFIXES = (".bam",)
CRAM_SUFFIXES = (".cram",)
BED_SUFFIXES = (".bed", ".bed.gz", ".tagalign", ".tagalign.gz", ".tagAlign", ".tagAlign.gz")
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_CHUNK_BYTES = 32 << 20
_BED_CHUNK_ROWS = 2_000_000
# CIGAR op codes M I D N S H P = X: which consume the reference, the query, and form aligned blocks
_REF_OPS = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
_QUERY_OPS = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
_BLOCK_OPS = np.array([1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
_TLEN_OPS = np.array([1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)  # deepTools getTLen
PAIRED, PROPER, UNMAPPED, REVERSE, MATE_REVERSE, READ1 = 1, 2, 4, 16, 32, 64


@dataclass
class ReadsOptions:
    """`bamCoverage` options for a reads input (the spec's `reads:` mapping); defaults are deepTools'.

    `bin_size` None means the target's bin (100 bp tracks, 5 kb CAGE: the reference cards' commands).
    `effective_genome_size` None means the spec genome's value (hg19, hg38, mm10) for RPGC.
    """

    bin_size: int | None = None
    extend_reads: bool | int = False
    min_mapq: int = 0
    sam_flag_include: int = 0
    sam_flag_exclude: int = 0
    ignore_duplicates: bool = False
    min_fragment_length: int = 0
    max_fragment_length: int = 0
    blacklist: str | None = None
    normalize: str = "none"
    effective_genome_size: int | None = None

    def __post_init__(self) -> None:
        if self.normalize not in NORMALIZATIONS:
            raise InvalidInputError(
                f"unknown reads normalize {self.normalize!r}; use one of {', '.join(NORMALIZATIONS)}")
        for name in ("min_mapq", "sam_flag_include", "sam_flag_exclude", "min_fragment_length", "max_fragment_length"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInputError(f"reads `{name}:` must be a whole number >= 0, got {value!r}")
        if self.bin_size is not None and (isinstance(self.bin_size, bool) or not isinstance(self.bin_size, int)
                                          or self.bin_size < 1):
            raise InvalidInputError(f"reads `bin_size:` must be a whole number >= 1, got {self.bin_size!r}")
        if self.effective_genome_size is not None and self.normalize != "RPGC":
            raise InvalidInputError("reads `effective_genome_size:` is used by `normalize: RPGC` only; remove it or "
                                    "set `normalize: RPGC`")
        ext = self.extend_reads
        if not isinstance(ext, (bool, int)) or (not isinstance(ext, bool) and not 1 <= ext <= 2000):
            raise InvalidInputError(f"reads `extend_reads:` must be true, false or a length in 1..2000, got {ext!r}")


def is_reads_path(path: str | Path) -> bool:
    """Whether a spec path names a reads file (BAM, CRAM, reads BED or tagAlign) by its suffix."""
    name = str(path).lower()
    return name.endswith(BAM_SUFFIXES + CRAM_SUFFIXES + tuple(s.lower() for s in BED_SUFFIXES))


def header_lengths(path: str | Path, reference: str | Path | None = None) -> dict[str, int | None]:
    """Chromosome lengths from a BAM/CRAM header (read before the file's records, so a file of
    another build is refused at once); None for a reads BED, which has no header."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(BAM_SUFFIXES):
        return dict(_BamReader(path).refs)
    if name.endswith(CRAM_SUFFIXES):
        return _cram_batches(path, reference)[0]
    return None


@dataclass
class _Batch:
    """Alignment records as arrays; ops (CIGAR operations) belong to reads via `op_read`."""

    ref: np.ndarray
    pos: np.ndarray
    flag: np.ndarray
    mapq: np.ndarray
    tlen: np.ndarray
    next_ref: np.ndarray
    next_pos: np.ndarray
    op_read: np.ndarray
    op: np.ndarray
    op_len: np.ndarray
    first_record: int = 0


@dataclass
class _Lengths:
    """Exact value counts (for medians) without keeping every value."""

    counts: dict[int, int] = field(default_factory=dict)

    def add(self, values: np.ndarray) -> None:
        vals, cnt = np.unique(values, return_counts=True)
        for v, c in zip(vals.tolist(), cnt.tolist()):
            self.counts[v] = self.counts.get(v, 0) + c

    def total(self) -> int:
        return sum(self.counts.values())

    def median(self) -> float:
        """numpy's median (mean of the two middle values for an even count)."""
        keys = sorted(self.counts)
        cum = np.cumsum([self.counts[k] for k in keys])
        n = int(cum[-1])
        lo = keys[int(np.searchsorted(cum, (n - 1) // 2, side="right"))]
        hi = keys[int(np.searchsorted(cum, n // 2, side="right"))]
        return (lo + hi) / 2


class ReadsTrack:
    """A reads file counted into fixed bins; quacks like `tracks.TrackFile` (`chroms`, `intervals`).

    The whole file is read at construction (twice when `extend_reads` needs the length medians first):
    every problem (unsorted, truncated, unknown names) is found before anything is written, and the
    normalisation needs genome-wide totals.
    """

    def __init__(self, path: str | Path, options: ReadsOptions, bin_size: int, genome: str | None = None,
                 reference: str | Path | None = None):
        self.path = Path(path)
        self.options = options
        self.bin_size = options.bin_size or bin_size
        self.genome = genome
        self._reference = reference
        self._is_bed = not self.path.name.lower().endswith(BAM_SUFFIXES + CRAM_SUFFIXES)
        if self._is_bed:
            self._check_bed_options()
        self._blacklist = _read_blacklist(Path(options.blacklist)) if options.blacklist else {}
        self._names: list[str] = []
        self.chroms: dict[str, int | None] = {}
        self._read_len_pp, self._read_len_all, self._frag_len = _Lengths(), _Lengths(), _Lengths()
        self._fragment = 0
        if options.extend_reads is not False:
            for batch in self._batches():
                self._record_lengths(batch)
            self._fragment = self._extension()
        self._diff: dict[str, np.ndarray] = {}
        self._seen_end: dict[str, int] = {}
        self._mapped = self._kept = 0
        self._last_key = -1
        self._carry = np.zeros((0, 5), dtype=np.int64)
        for batch in self._batches():
            self._count(batch)
        if self._is_bed:
            self.chroms = {c: None for c in self._names}
        self.scale = self._scale()

    def _check_bed_options(self) -> None:
        o = self.options
        if o.min_mapq or o.sam_flag_include or o.sam_flag_exclude:
            raise InvalidInputError(f"{self.path}: a reads BED has no MAPQ or SAM flags; remove `min_mapq:` and "
                                    "`sam_flag_include/exclude:` for this input")
        if o.extend_reads is True:
            raise InvalidInputError(f"{self.path}: single-end reads have no fragment length to estimate; "
                                    "give `extend_reads:` a length (e.g. 200)")

    def _batches(self) -> Iterator[_Batch]:
        """A fresh pass over the file's records (also sets `chroms` and the reference names)."""
        if self._is_bed:
            self._names.clear()
            return _bed_batches(self.path, self._names)
        if self.path.name.lower().endswith(CRAM_SUFFIXES):
            self.chroms, batches = _cram_batches(self.path, self._reference)
        else:
            reader = _BamReader(self.path)
            self.chroms, batches = dict(reader.refs), reader.batches()
        self._names = list(self.chroms)
        return batches

    def _record_lengths(self, batch: _Batch) -> None:
        """Read and fragment lengths of the mapped records (what deepTools samples for its medians)."""
        mapped = ((batch.flag & UNMAPPED) == 0) & (batch.ref >= 0)
        qlen = _per_read(batch, _QUERY_OPS)
        self._read_len_all.add(qlen[mapped])
        pp = mapped & ((batch.flag & PROPER) != 0) & ((batch.flag & READ1) != 0)
        self._read_len_pp.add(qlen[pp])
        self._frag_len.add(np.abs(batch.tlen[pp]))

    def _read_lengths(self) -> _Lengths:
        return self._read_len_pp if self._read_len_pp.total() else self._read_len_all

    def _extension(self) -> int:
        """The fragment length reads are extended to (0: not extended), as deepTools decides it."""
        ext = self.options.extend_reads
        if ext is True:
            if not self._frag_len.total() or self._frag_len.median() <= 0:
                raise InvalidInputError(f"{self.path}: `extend_reads: true` needs properly paired reads and this "
                                        "file has none; give `extend_reads:` a length (e.g. 200)")
            return int(self._frag_len.median())
        if self._read_len_all.total() and ext < self._read_lengths().median():
            return 0  # deepTools: an extension shorter than the reads is ignored
        return int(ext)

    def _count(self, batch: _Batch) -> None:
        self._check_sorted(batch)
        mapped = ((batch.flag & UNMAPPED) == 0) & (batch.ref >= 0)
        self._mapped += int(mapped.sum())
        if self.options.extend_reads is False and self.options.normalize == "RPGC":
            self._record_lengths(batch)
        keep = mapped & self._filters(batch)
        if self.options.ignore_duplicates:
            keep &= self._not_duplicate(batch, keep)
        self._kept += int(keep.sum())
        self._add(_subset(batch, keep))

    def _filters(self, batch: _Batch) -> np.ndarray:
        o = self.options
        keep = np.ones(batch.ref.size, dtype=bool)
        if o.min_mapq:
            keep &= batch.mapq >= o.min_mapq
        if o.sam_flag_include:
            keep &= (batch.flag & o.sam_flag_include) == o.sam_flag_include
        if o.sam_flag_exclude:
            keep &= (batch.flag & o.sam_flag_exclude) == 0
        if o.min_fragment_length or o.max_fragment_length:
            tlen = _template_length(batch)
            if o.min_fragment_length:
                keep &= tlen >= o.min_fragment_length
            if o.max_fragment_length:
                keep &= tlen <= o.max_fragment_length
        return keep

    def _not_duplicate(self, batch: _Batch, keep: np.ndarray) -> np.ndarray:
        """deepTools' rule: a kept read repeating (start, fragment end, mate chromosome, strand) of an
        earlier kept read at the same start is a duplicate (the input is sorted by position)."""
        end = np.where(batch.ref != batch.next_ref, batch.next_pos, batch.pos + _template_length(batch))
        idx = np.flatnonzero(keep)
        keys = np.stack([batch.ref[idx], batch.pos[idx], end[idx], batch.next_ref[idx],
                         (batch.flag[idx] & REVERSE).astype(np.int64)], axis=1)
        both = np.concatenate([self._carry, keys])
        first = np.zeros(len(both), dtype=bool)
        first[np.unique(both, axis=0, return_index=True)[1]] = True
        out = np.ones(batch.ref.size, dtype=bool)
        out[idx[~first[len(self._carry):]]] = False
        if len(both):
            last = both[-1, :2]
            self._carry = both[(both[:, 0] == last[0]) & (both[:, 1] == last[1])]
        return out

    def _check_sorted(self, batch: _Batch) -> None:
        """Refuse a BAM not sorted by (chromosome, position) (and a reads BED when duplicates are removed);
        records without a chromosome come last."""
        if self._is_bed and not self.options.ignore_duplicates:
            return  # counting is order-free
        key = np.where(batch.ref >= 0, batch.ref * (1 << 32) + batch.pos, np.int64(1) << 62)
        prev = np.concatenate([[self._last_key], key[:-1]])
        bad = np.flatnonzero(key < prev)
        if bad.size:
            i = int(bad[0])
            chrom = self._names[batch.ref[i]] if batch.ref[i] >= 0 else "*"
            fix = "sort -k1,1 -k2,2n" if self._is_bed else f"samtools sort -o sorted.bam {self.path.name}"
            raise InvalidInputError(
                f"{self.path}: not sorted by coordinate: record {batch.first_record + i + 1} ({chrom}:"
                f"{int(batch.pos[i]) + 1}) comes after a later position. Sort it: `{fix}`"
            )
        if key.size:
            self._last_key = int(key[-1])

    def _add(self, batch: _Batch) -> None:
        """Add the kept reads of a batch to the per-chromosome difference arrays."""
        read, start, end = self._blocks(batch)
        if self._blacklist:
            read, start, end = self._cut_blacklist(batch, read, start, end)
        ok = end > np.maximum(start, 0)
        read, start, end = read[ok], start[ok], end[ok]
        bs = self.bin_size
        sbin, ebin = np.maximum(start, 0) // bs, -(-end // bs)
        same = np.concatenate([[False], read[1:] == read[:-1]])
        prev_e = np.concatenate([[0], ebin[:-1]])
        sbin = np.where(same, np.maximum(sbin, prev_e), sbin)  # a read counts once per bin
        ok = sbin < ebin
        refs, sbin, ebin, end = batch.ref[read[ok]], sbin[ok], ebin[ok], end[ok]
        for ref in np.unique(refs):
            sel = refs == ref
            self._accumulate(self._names[ref], sbin[sel], ebin[sel], int(end[sel].max()))

    def _accumulate(self, chrom: str, sbin: np.ndarray, ebin: np.ndarray, max_end: int) -> None:
        self._seen_end[chrom] = max(self._seen_end.get(chrom, 0), max_end)
        length = self.chroms.get(chrom)
        if length:  # deepTools: a fragment past the end counts in the last bin; one starting past it not at all
            n_bins = -(-length // self.bin_size)
            sbin, ebin = np.minimum(sbin, n_bins), np.minimum(ebin, n_bins)
        size = int(ebin.max(initial=0)) + 1
        diff = self._diff.get(chrom)
        if diff is None or diff.size < size:
            grown = np.zeros(-(-length // self.bin_size) + 1 if length else max(size, 2 * (diff.size if diff is not None
                                                                                            else 0)), dtype=np.int64)
            if diff is not None:
                grown[: diff.size] = diff
            diff = self._diff[chrom] = grown
        diff += np.bincount(sbin, minlength=diff.size)
        diff -= np.bincount(ebin, minlength=diff.size)

    def _blocks(self, batch: _Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(read index, start, end) of what each read covers: aligned blocks, or its extended fragment."""
        ref_adv = np.where(_REF_OPS[batch.op], batch.op_len, 0)
        n_reads = batch.ref.size
        ref_len = np.bincount(batch.op_read, weights=ref_adv, minlength=n_reads).astype(np.int64)
        if not self._fragment:
            csum = np.cumsum(ref_adv)
            read_start = np.concatenate([[0], np.cumsum(ref_len)[:-1]])
            offset = csum - ref_adv - read_start[batch.op_read]
            blk = _BLOCK_OPS[batch.op] & (batch.op_len > 0)
            read = batch.op_read[blk]
            start = batch.pos[read] + offset[blk]
            return read, start, start + batch.op_len[blk]
        length = self._fragment
        pos, ref_end = batch.pos, batch.pos + ref_len
        rev = (batch.flag & REVERSE) != 0
        proper = _proper_pairs(batch, rev, self.options.max_fragment_length or 4 * length)
        start = np.where(proper, np.where(rev, batch.next_pos, pos), np.where(rev, ref_end - length, pos))
        end = np.where(proper, np.where(rev, ref_end, pos + np.abs(batch.tlen)),
                       np.where(rev, ref_end, pos + length))
        return np.arange(n_reads), start, end

    def _cut_blacklist(self, batch: _Batch, read, start, end):
        """Cut blocks at blacklisted intervals, keeping the pieces outside them (in read order)."""
        refs = batch.ref[read]
        out = []
        for ref in np.unique(refs):
            sel = np.flatnonzero(refs == ref)
            r, s, e = read[sel], start[sel], end[sel]
            if self._names[ref] in self._blacklist:
                r, s, e = _minus_intervals(r, s, e, *self._blacklist[self._names[ref]])
            out.append((r, s, e))
        r, s, e = (np.concatenate(x) for x in zip(*out))
        order = np.lexsort((s, r))
        return r[order], s[order], e[order]

    def _scale(self) -> float:
        """The factor every bin is multiplied by (see the module docstring)."""
        if self._kept == 0:
            raise InvalidInputError(f"{self.path}: no read passes the filters "
                                    f"({_describe(self.options) or 'none set'}); check the file and `reads:`")
        norm, ext = self.options.normalize, self.options.extend_reads
        if norm == "none":
            return 1.0
        if norm == "CPM":
            return 1e6 / self._kept
        size = self.options.effective_genome_size or EFFECTIVE_GENOME_SIZES.get(self.genome or "")
        if not size:
            raise InvalidInputError(f"{self.path}: RPGC needs `effective_genome_size:` for genome {self.genome!r} "
                                    f"(built in: {', '.join(EFFECTIVE_GENOME_SIZES)})")
        if ext is True:
            fragment = self._frag_len.median()
        elif ext is False:
            fragment = int(self._read_lengths().median())
        else:
            fragment = int(ext)
        return size / (self._kept * fragment)

    # -- the TrackFile interface -------------------------------------------------------------------------------
    def values(self, chrom: str, length: int) -> np.ndarray:
        """float64 bamCoverage values of every bin of `chrom` (ceil(length / bin_size) bins)."""
        n_bins = -(-length // self.bin_size)
        counts = np.zeros(n_bins)
        diff = self._diff.get(chrom)
        if diff is not None:
            m = min(n_bins, diff.size)
            counts[:m] = np.cumsum(diff[:m])
            counts[m:] = counts[m - 1] if m else 0
        return counts * self.scale

    def check_extent(self, chrom: str, length: int) -> None:
        """Refuse reads starting past the chromosome's end (a file of another build)."""
        end = self._seen_end.get(chrom, 0)
        if end > length + 2000:
            raise InvalidInputError(f"{self.path}, {chrom}: reads reach {end:,} bp but {chrom} has {length:,} bp in "
                                    "the spec's genome; the reads are of another build")

    def intervals(self, chrom: str, start: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The bins overlapping [start, end) as (starts, ends, values), the last bin cut at `end`."""
        bs = self.bin_size
        first, last = start // bs, -(-end // bs)
        values = self.values(chrom, last * bs)[first:last]
        starts = np.arange(first, last, dtype=np.int64) * bs
        return starts, np.minimum(starts + bs, end), values

    def close(self) -> None:
        """Nothing to release (the file was read at construction)."""

    def provenance(self) -> dict:
        """What was counted: options, totals and the factor applied (stored in the CellData file)."""
        import dataclasses

        return {**dataclasses.asdict(self.options), "bin_size": self.bin_size, "mapped": self._mapped,
                "kept": self._kept, "extended_to": self._fragment, "scale": self.scale}


def _proper_pairs(batch: _Batch, rev: np.ndarray, max_len: int) -> np.ndarray:
    """Mates flagged proper, on one chromosome, facing each other, within `max_len` (deepTools)."""
    mate_rev = (batch.flag & MATE_REVERSE) != 0
    inward = np.where(rev, batch.pos >= batch.next_pos, batch.pos <= batch.next_pos)
    return (((batch.flag & PROPER) != 0) & (batch.ref == batch.next_ref) & (np.abs(batch.tlen) <= max_len)
            & (rev != mate_rev) & inward)


def _minus_intervals(read, start, end, b_start: np.ndarray, b_end: np.ndarray):
    """Blocks minus sorted, disjoint intervals: block i becomes up to k_i + 1 pieces."""
    first = np.searchsorted(b_end, start, side="right")  # first interval ending after the block starts
    stop = np.searchsorted(b_start, end, side="left")  # intervals starting before the block ends
    k = np.maximum(stop - first, 0)
    which = np.repeat(np.arange(read.size), k + 1)
    j = np.arange(which.size) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)
    lo = first[which] + j - 1
    s = np.where(j == 0, start[which], b_end[np.clip(lo, 0, b_end.size - 1)])
    e = np.where(j == k[which], end[which], b_start[np.clip(lo + 1, 0, b_start.size - 1)])
    s, e = np.maximum(s, start[which]), np.minimum(e, end[which])
    keep = e > s
    return read[which][keep], s[keep], e[keep]


def _describe(options: ReadsOptions) -> str:
    return ", ".join(f"{k}={v}" for k, v in vars(options).items() if v not in (0, None, False, "none"))


def _subset(batch: _Batch, keep: np.ndarray) -> _Batch:
    """The records selected by `keep`, with their ops renumbered."""
    idx = np.flatnonzero(keep)
    new_index = np.full(batch.ref.size, -1, dtype=np.int64)
    new_index[idx] = np.arange(idx.size)
    op_keep = keep[batch.op_read]
    return _Batch(batch.ref[idx], batch.pos[idx], batch.flag[idx], batch.mapq[idx], batch.tlen[idx],
                  batch.next_ref[idx], batch.next_pos[idx], new_index[batch.op_read[op_keep]],
                  batch.op[op_keep], batch.op_len[op_keep])


def _per_read(batch: _Batch, ops: np.ndarray) -> np.ndarray:
    """Per read, the summed length of its CIGAR ops of the kinds in `ops`."""
    weights = np.where(ops[batch.op], batch.op_len, 0)
    return np.bincount(batch.op_read, weights=weights, minlength=batch.ref.size).astype(np.int64)


def _template_length(batch: _Batch) -> np.ndarray:
    """deepTools getTLen: |TLEN|, or without one the aligned length (M, D, =, X)."""
    return np.where(batch.tlen != 0, np.abs(batch.tlen), _per_read(batch, _TLEN_OPS))


# -- BAM ------------------------------------------------------------------------------------------------------
class _BamReader:
    """A BAM file's header and its records as `_Batch`es, decoded with numpy from BGZF blocks."""

    def __init__(self, path: Path):
        self.path = path
        self._check_eof()
        self._chunks = self._decompressed()
        self._buf, self._at = b"", 0
        magic = self._take(4)
        if magic != b"BAM\x01":
            raise InvalidInputError(f"{path}: not a BAM file (no BAM magic); BAM, CRAM and reads BED are read")
        l_text = struct.unpack("<i", self._take(4))[0]
        text = self._take(l_text).split(b"\0")[0].decode(errors="replace")
        self.sort_order = next((f[3:] for line in text.splitlines() if line.startswith("@HD")
                                for f in line.split("\t") if f.startswith("SO:")), None)
        if self.sort_order not in (None, "coordinate", "unknown"):
            raise InvalidInputError(f"{path}: its header says sorted by {self.sort_order!r}, not by coordinate. "
                                    f"Sort it: `samtools sort -o sorted.bam {path.name}`")
        n_ref = struct.unpack("<i", self._take(4))[0]
        self.refs: dict[str, int] = {}
        for _ in range(n_ref):
            l_name = struct.unpack("<i", self._take(4))[0]
            name = self._take(l_name)[:-1].decode()
            self.refs[name] = struct.unpack("<i", self._take(4))[0]

    def _check_eof(self) -> None:
        with open(self.path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - len(_BGZF_EOF)))
            tail = fh.read()
        if tail != _BGZF_EOF:
            raise InvalidInputError(f"{self.path}: truncated (no BGZF end-of-file marker); the download or copy "
                                    "was cut short: fetch the file again")

    def _decompressed(self) -> Iterator[bytes]:
        """The decompressed stream, about `_CHUNK_BYTES` at a time."""
        with open(self.path, "rb") as fh:
            data = b""
            offset = 0
            while True:
                parts, size = [], 0
                while size < _CHUNK_BYTES:
                    if len(data) - offset < 18:
                        more = fh.read(_CHUNK_BYTES)
                        data, offset = data[offset:] + more, 0
                        if len(data) < 18:
                            if data:
                                raise InvalidInputError(f"{self.path}: truncated BGZF block at the end")
                            break
                    block_size = _bgzf_block_size(data, offset, self.path)
                    if len(data) - offset < block_size:
                        more = fh.read(max(_CHUNK_BYTES, block_size))
                        if not more:
                            raise InvalidInputError(f"{self.path}: truncated BGZF block at byte {fh.tell()}")
                        data, offset = data[offset:] + more, 0
                        continue
                    xlen = data[offset + 10] | data[offset + 11] << 8
                    cdata = data[offset + 12 + xlen: offset + block_size - 8]
                    try:
                        parts.append(zlib.decompress(cdata, -15))
                    except zlib.error as exc:
                        raise InvalidInputError(f"{self.path}: corrupt BGZF block: {exc}") from None
                    size += len(parts[-1])
                    offset += block_size
                if not parts:
                    return
                yield b"".join(parts)

    def _take(self, n: int) -> bytes:
        """The next `n` header bytes (the records after the header stay in `_buf` from `_at`)."""
        while len(self._buf) - self._at < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise InvalidInputError(f"{self.path}: the BAM header is cut short")
            self._buf, self._at = self._buf[self._at:] + chunk, 0
        self._at += n
        return self._buf[self._at - n: self._at]

    def batches(self) -> Iterator[_Batch]:
        """All records, one `_Batch` per decompressed chunk."""
        buf, n_done = self._buf[self._at:], 0
        while True:
            offsets, end = _record_offsets(buf)
            if offsets.size:
                yield _decode(buf, offsets, n_done)
                n_done += offsets.size
            chunk = next(self._chunks, None)
            if chunk is None:
                if end != len(buf):
                    raise InvalidInputError(f"{self.path}: the last record (number {n_done + 1}) is cut short; "
                                            "the file is truncated")
                return
            buf = buf[end:] + chunk


def _bgzf_block_size(data: bytes, offset: int, path: Path) -> int:
    if data[offset: offset + 4] != b"\x1f\x8b\x08\x04":
        raise InvalidInputError(f"{path}: not BGZF-compressed where a block should start (a BAM is BGZF; "
                                "was it re-compressed with plain gzip?)")
    xlen = data[offset + 10] | data[offset + 11] << 8
    pos = offset + 12
    while pos < offset + 12 + xlen:
        if data[pos: pos + 2] == b"BC":
            return (data[pos + 4] | data[pos + 5] << 8) + 1
        pos += 4 + (data[pos + 2] | data[pos + 3] << 8)
    raise InvalidInputError(f"{path}: a gzip block without the BGZF size field; not a BAM")


def _record_offsets(buf: bytes) -> tuple[np.ndarray, int]:
    """Start of every complete record in `buf` (each begins with its int32 size) and where they stop."""
    unpack, offsets, off, n = struct.Struct("<i").unpack_from, [], 0, len(buf)
    append = offsets.append
    while off + 4 <= n:
        nxt = off + 4 + unpack(buf, off)[0]
        if nxt > n:
            break
        append(off)
        off = nxt
    return np.array(offsets, dtype=np.int64), off


def _decode(buf: bytes, offsets: np.ndarray, first_record: int) -> _Batch:
    """Fixed fields and CIGARs of the records starting at `offsets` in `buf`.

    Every fixed field is an aligned 4-byte word counted from its record's start, so the buffer is
    read through four int32 views (one per byte offset mod 4) with plain gathers: no per-record
    Python and no (records x bytes) index arrays.
    """
    views = [np.frombuffer(buf, dtype="<u4", offset=r, count=(len(buf) - r) // 4) for r in range(4)]
    words = np.empty((8, offsets.size), dtype=np.uint32)
    residue, quot = offsets & 3, offsets >> 2
    for r in range(4):
        sel = np.flatnonzero(residue == r)
        for k in range(8):
            words[k, sel] = views[r][quot[sel] + 1 + k]
    signed = words.view(np.int32)
    l_name = (words[2] & 0xFF).astype(np.int64)
    n_cigar = (words[3] & 0xFFFF).astype(np.int64)
    op_read = np.repeat(np.arange(offsets.size), n_cigar)
    within = np.arange(op_read.size) - np.repeat(np.cumsum(n_cigar) - n_cigar, n_cigar)
    at = (offsets + 36 + l_name)[op_read] + 4 * within
    raw = np.empty(at.size, dtype=np.uint32)
    for r in range(4):
        sel = np.flatnonzero((at & 3) == r)
        raw[sel] = views[r][at[sel] >> 2]
    return _Batch(signed[0].astype(np.int64), signed[1].astype(np.int64), (words[3] >> 16).astype(np.uint16),
                  ((words[2] >> 8) & 0xFF).astype(np.uint8), signed[7].astype(np.int64), signed[5].astype(np.int64),
                  signed[6].astype(np.int64), op_read, (raw & 0xF).astype(np.int64), (raw >> 4).astype(np.int64),
                  first_record=first_record)


# -- CRAM (through pysam) ------------------------------------------------------------------------------------
def _cram_batches(path: Path, reference) -> tuple[dict[str, int], Iterator[_Batch]]:
    import pysam

    quiet = pysam.set_verbosity(0)  # htslib would warn that a CRAM index is missing: one pass needs none
    try:
        handle = pysam.AlignmentFile(str(path), "rc", reference_filename=str(reference) if reference else None)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a readable CRAM file: {exc}") from None
    finally:
        pysam.set_verbosity(quiet)
    refs = dict(zip(handle.references, handle.lengths))

    def batches() -> Iterator[_Batch]:
        rows, ops, done = [], [], 0
        for read in handle.fetch(until_eof=True):
            rows.append((read.reference_id, read.reference_start, read.flag, read.mapping_quality,
                         read.template_length, read.next_reference_id, read.next_reference_start))
            ops.append(read.cigartuples or [])
            if len(rows) == 500_000:
                yield _rows_batch(rows, ops, done)
                done += len(rows)
                rows, ops = [], []
        if rows:
            yield _rows_batch(rows, ops, done)

    return refs, batches()


def _rows_batch(rows: list[tuple], ops: list[list[tuple[int, int]]], first: int) -> _Batch:
    cols = np.array(rows, dtype=np.int64).reshape(-1, 7)
    counts = np.array([len(o) for o in ops], dtype=np.int64)
    flat = np.array([x for o in ops for x in o], dtype=np.int64).reshape(-1, 2)
    return _Batch(cols[:, 0], cols[:, 1], cols[:, 2].astype(np.uint16), cols[:, 3], cols[:, 4], cols[:, 5],
                  cols[:, 6], np.repeat(np.arange(len(rows)), counts), flat[:, 0], flat[:, 1], first_record=first)


# -- reads BED / tagAlign ------------------------------------------------------------------------------------
def _bed_batches(path: Path, names: list[str]) -> Iterator[_Batch]:
    """Reads BED rows (chrom start end [name score strand]) as single-block alignments, streamed."""
    import pandas as pd

    index: dict[str, int] = {}
    try:
        reader = pd.read_csv(path, sep=r"\s+", header=None, comment="#", usecols=[0, 1, 2, 5],
                             names=["chrom", "start", "end", "strand"], dtype={"chrom": str, "strand": str},
                             chunksize=_BED_CHUNK_ROWS, compression="infer")
        line = 0
        for chunk in reader:
            chunk = chunk[~chunk["chrom"].isin(["track", "browser"])]
            start, end = chunk["start"].to_numpy(np.int64), chunk["end"].to_numpy(np.int64)
            bad = np.flatnonzero((end <= start) | (start < 0) | ~chunk["strand"].isin(["+", "-", "."]).to_numpy())
            if bad.size:
                row = chunk.iloc[int(bad[0])]
                raise InvalidInputError(f"{path}: record {line + int(bad[0]) + 1} ({row['chrom']} {row['start']} "
                                        f"{row['end']} strand {row['strand']}) is not a read (start < end, strand "
                                        "+, - or .)")
            for chrom in chunk["chrom"].unique():
                if chrom not in index:
                    index[chrom] = len(names)
                    names.append(chrom)
            ref = chunk["chrom"].map(index).to_numpy(np.int64)
            n = ref.size
            flag = np.where(chunk["strand"].to_numpy() == "-", REVERSE, 0).astype(np.uint16)
            yield _Batch(ref, start, flag, np.full(n, 255), np.zeros(n, np.int64), np.full(n, -1, np.int64),
                         np.full(n, -1, np.int64), np.arange(n), np.zeros(n, np.int64), end - start,
                         first_record=line)
            line += n
    except (ValueError, pd.errors.ParserError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InvalidInputError(f"{path}: not a reads BED (chrom start end name score strand): {exc}") from None


def _read_blacklist(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Blacklisted intervals per chromosome, sorted and merged."""
    import pandas as pd

    if not path.is_file():
        raise InvalidInputError(f"blacklist {path} does not exist; fix `blacklist:` under `reads:`")
    try:
        table = pd.read_csv(path, sep=r"\s+", header=None, usecols=[0, 1, 2], comment="#",
                            names=["chrom", "start", "end"], dtype={"chrom": str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"{path}: not a BED file (chrom start end): {exc}") from None
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for chrom, rows in table.sort_values(["chrom", "start"]).groupby("chrom"):
        merged: list[list[int]] = []
        for s, e in zip(rows["start"].tolist(), rows["end"].tolist()):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        cut = np.array(merged, dtype=np.int64).reshape(-1, 2)
        out[chrom] = (cut[:, 0], cut[:, 1])
    return out
