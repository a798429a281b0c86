"""Reads -> bins: the real RNA-seq BAM and reads BED against deepTools `bamCoverage`, bin by bin; bad files."""
from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.reads import EFFECTIVE_GENOME_SIZES, ReadsOptions, ReadsTrack
from graphreg_zoo.prep.tracks import TrackFile, bin_track

BAM = "reads/bam_chr9_4000000_6000000.bam"
BED = "reads/CTCF_SE_CTRL_chr22_50k.bed.gz"
CHR9 = 138_394_717  # GRCh38
CHR22_HG19 = 51_304_566
WINDOW = {"chr9": (3_000_000, 7_000_000), "chr22": (15_000_000, 51_304_566)}  # every read lies inside


@pytest.fixture(scope="module")
def indexed_bam(realdata, tmp_path_factory) -> Path:
    """The real BAM with an index (bamCoverage needs one; the shared folder is read-only)."""
    pysam = pytest.importorskip("pysam")
    path = tmp_path_factory.mktemp("bam") / "rna.bam"
    shutil.copyfile(realdata / BAM, path)
    pysam.index(str(path))
    return path


@pytest.fixture(scope="module")
def chr9_bam(realdata, tmp_path_factory) -> Path:
    """The same reads (all on chr9, mates too) under a chr9-only header: deepTools samples every contig
    of the header for its scale factors, which takes a minute with the 292 of the real one."""
    pysam = pytest.importorskip("pysam")
    path = tmp_path_factory.mktemp("bam9") / "rna_chr9.bam"
    with pysam.AlignmentFile(str(realdata / BAM)) as src:
        header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.4", "SO": "coordinate"},
                                                  "SQ": [{"SN": "chr9", "LN": CHR9}]})
        with pysam.AlignmentFile(str(path), "wb", header=header) as out:
            for read in src.fetch(until_eof=True):
                out.write(pysam.AlignedSegment.from_dict(read.to_dict(), header))
    pysam.index(str(path))
    return path


@pytest.fixture(scope="module")
def bed_as_bam(realdata, tmp_path_factory) -> Path:
    """The reads BED as a sorted single-end BAM (deepTools reads only BAM/CRAM)."""
    pysam = pytest.importorskip("pysam")
    folder = tmp_path_factory.mktemp("bed")
    rows = sorted((int(f[1]), int(f[2]), f[5]) for f in
                  (line.split() for line in gzip.open(realdata / BED, "rt")))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr22", "LN": CHR22_HG19}]}
    path = folder / "reads.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, (start, end, strand) in enumerate(rows):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name, seg.reference_id, seg.reference_start = f"r{i}", 0, start
            seg.cigarstring, seg.mapping_quality, seg.flag = f"{end - start}M", 255, 16 if strand == "-" else 0
            seg.query_sequence = "A" * (end - start)
            out.write(seg)
    pysam.index(str(path))
    return path


def bam_coverage(bam: Path, out: Path, chrom: str, bin_size: int, *args: str) -> np.ndarray:
    """deepTools' bamCoverage values per bin over WINDOW[chrom]."""
    pytest.importorskip("deeptools")
    lo, hi = WINDOW[chrom]
    exe = Path(sys.executable).with_name("bamCoverage")
    subprocess.run([str(exe), "-b", str(bam), "-o", str(out), "--binSize", str(bin_size), "-p", "1",
                    "--region", f"{chrom}:{lo}:{hi}", *args], check=True, capture_output=True)
    with TrackFile(out) as track:
        length = track.chroms[chrom]
        return bin_track(track, chrom, length, bin_size=bin_size, stat="max")[lo // bin_size: hi // bin_size]


def ours(path: Path, chrom: str, length: int, genome: str, **options) -> np.ndarray:
    track = ReadsTrack(path, ReadsOptions(**options), 100, genome=genome)
    lo, hi = WINDOW[chrom]
    bs = track.bin_size
    return track.values(chrom, length)[lo // bs: hi // bs]


def assert_same_bins(got: np.ndarray, want: np.ndarray) -> None:
    """At least 99.9 % of the bins agree (float32 bigWig values: 1e-3 relative)."""
    same = np.isclose(got, want, rtol=1e-3, atol=1e-6)
    assert want.any() and same.mean() >= 0.999, (same.mean(), np.flatnonzero(~same)[:5])


CASES = {
    "defaults_100bp": ({"bin_size": 100}, []),
    "defaults_1kb": ({"bin_size": 1000}, []),
    "mapq10": ({"bin_size": 100, "min_mapq": 10}, ["--minMappingQuality", "10"]),
    "rpgc": ({"bin_size": 100, "normalize": "RPGC"},
             ["--normalizeUsing", "RPGC", "--effectiveGenomeSize", str(EFFECTIVE_GENOME_SIZES["hg38"])]),
    "rpgc_mapq10_1kb": ({"bin_size": 1000, "normalize": "RPGC", "min_mapq": 10},
                        ["--normalizeUsing", "RPGC", "--effectiveGenomeSize", str(EFFECTIVE_GENOME_SIZES["hg38"]),
                         "--minMappingQuality", "10", "--exactScaling"]),
    "no_secondary_1kb": ({"bin_size": 1000, "sam_flag_exclude": 256}, ["--samFlagExclude", "256"]),
    "proper_pairs_only": ({"bin_size": 100, "sam_flag_include": 2}, ["--samFlagInclude", "2"]),
    "duplicates": ({"bin_size": 100, "ignore_duplicates": True}, ["--ignoreDuplicates"]),
    "paired_fragments": ({"bin_size": 100, "extend_reads": 183}, ["--extendReads", "183"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bam_equals_bamcoverage(realdata, chr9_bam, tmp_path, case):
    options, args = CASES[case]
    want = bam_coverage(chr9_bam, tmp_path / "dt.bw", "chr9", options["bin_size"], *args)
    got = ours(realdata / BAM, "chr9", CHR9, "hg38", **options)
    assert_same_bins(got, want)


def test_cpm_divides_by_the_kept_alignments(realdata):
    """CPM = count x 1e6 / alignments kept, counted here independently (deepTools estimates the
    denominator from 50 kb samples, which spliced reads spanning several windows skew by ~0.2 %)."""
    pysam = pytest.importorskip("pysam")
    kept = sum(1 for r in pysam.AlignmentFile(str(realdata / BAM)).fetch(until_eof=True)
               if not r.is_unmapped and not r.is_secondary)
    raw = ours(realdata / BAM, "chr9", CHR9, "hg38", bin_size=1000, sam_flag_exclude=256)
    cpm = ours(realdata / BAM, "chr9", CHR9, "hg38", bin_size=1000, sam_flag_exclude=256, normalize="CPM")
    np.testing.assert_allclose(cpm, raw * 1e6 / kept, rtol=1e-12)


def test_bam_without_index_read_from_read_only_folder(realdata, indexed_bam):
    """The shared BAM has no index and sits in a read-only folder: one streaming pass needs none."""
    assert not (realdata / (BAM + ".bai")).exists()
    np.testing.assert_array_equal(ours(realdata / BAM, "chr9", CHR9, "hg38", bin_size=100),
                                  ours(indexed_bam, "chr9", CHR9, "hg38", bin_size=100))


@pytest.mark.parametrize("bin_size", [100, 1000])
def test_reads_bed_extended_equals_bamcoverage(realdata, bed_as_bam, tmp_path, bin_size):
    want = bam_coverage(bed_as_bam, tmp_path / "dt.bw", "chr22", bin_size, "--extendReads", "200")
    got = ours(realdata / BED, "chr22", CHR22_HG19, "hg19", bin_size=bin_size, extend_reads=200)
    assert_same_bins(got, want)


def test_reads_bed_rpgc_equals_bamcoverage(realdata, bed_as_bam, tmp_path):
    want = bam_coverage(bed_as_bam, tmp_path / "dt.bw", "chr22", 100, "--normalizeUsing", "RPGC",
                        "--effectiveGenomeSize", str(EFFECTIVE_GENOME_SIZES["hg19"]))
    got = ours(realdata / BED, "chr22", CHR22_HG19, "hg19", normalize="RPGC")
    assert_same_bins(got, want)


def test_spliced_reads_skip_introns_and_count_once_per_bin(realdata):
    """An independent count with pysam's aligned blocks (the definition deepTools uses)."""
    pysam = pytest.importorskip("pysam")
    want = np.zeros(-(-CHR9 // 100))
    for read in pysam.AlignmentFile(str(realdata / BAM)).fetch(until_eof=True):
        if read.is_unmapped:
            continue
        bins = {b for s, e in read.get_blocks() for b in range(s // 100, -(-e // 100))}
        want[list(bins)] += 1
    got = ReadsTrack(realdata / BAM, ReadsOptions(), 100).values("chr9", CHR9)
    np.testing.assert_array_equal(got, want)
    assert any("N" in (r.cigarstring or "") for r in pysam.AlignmentFile(str(realdata / BAM)).fetch(until_eof=True))


def test_blacklist_removes_its_bases(realdata, tmp_path):
    """Blocks are cut at a blacklisted interval: counted against pysam's blocks minus the interval."""
    pysam = pytest.importorskip("pysam")
    lo, hi = 4_100_050, 4_200_000
    black = tmp_path / "black.bed"
    black.write_text(f"chr9\t{lo}\t{hi}\n")
    want = np.zeros(-(-CHR9 // 100))
    for read in pysam.AlignmentFile(str(realdata / BAM)).fetch(until_eof=True):
        pieces = [(s, e) for a, b in read.get_blocks() for s, e in ((a, min(b, lo)), (max(a, hi), b)) if e > s]
        want[list({i for s, e in pieces for i in range(s // 100, -(-e // 100))})] += 1
    plain = ReadsTrack(realdata / BAM, ReadsOptions(), 100).values("chr9", CHR9)
    cut = ReadsTrack(realdata / BAM, ReadsOptions(blacklist=str(black)), 100).values("chr9", CHR9)
    np.testing.assert_array_equal(cut, want)
    assert plain[41001:42000].any() and not cut[41001:42000].any()


def test_extend_true_needs_pairs(realdata):
    with pytest.raises(InvalidInputError, match="extend_reads"):
        ReadsTrack(realdata / BED, ReadsOptions(extend_reads=True), 100)


def test_unsorted_bam_refused(realdata, tmp_path):
    pysam = pytest.importorskip("pysam")
    with pysam.AlignmentFile(str(realdata / BAM)) as src:
        reads = [r for _, r in zip(range(50), src.fetch(until_eof=True))]
        header = src.header.to_dict()
    header["HD"] = {"VN": "1.6"}
    path = tmp_path / "unsorted.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for read in reversed(reads):
            out.write(read)
    with pytest.raises(InvalidInputError, match=r"unsorted.bam: not sorted by coordinate: record 2 .*samtools sort"):
        ReadsTrack(path, ReadsOptions(), 100)


def test_truncated_bam_refused(realdata, tmp_path):
    data = (realdata / BAM).read_bytes()
    for name, cut in (("no_eof.bam", data[:-28]), ("half.bam", data[: len(data) // 2])):
        (tmp_path / name).write_bytes(cut)
        with pytest.raises(InvalidInputError, match=rf"{name}: truncated"):
            ReadsTrack(tmp_path / name, ReadsOptions(), 100)


def test_cram_counts_like_the_bam(realdata, tmp_path):
    """CRAM goes through pysam (here a reference-free CRAM of the same reads) into the same counting."""
    pysam = pytest.importorskip("pysam")
    with pysam.AlignmentFile(str(realdata / BAM)) as src, \
            pysam.AlignmentFile(str(tmp_path / "rna.cram"), "wc", template=src, format_options=[b"no_ref=1"]) as out:
        for read in src.fetch(until_eof=True):
            out.write(read)
    for options in ({}, {"extend_reads": 183, "min_mapq": 10}):
        np.testing.assert_array_equal(ours(tmp_path / "rna.cram", "chr9", CHR9, "hg38", **options),
                                      ours(realdata / BAM, "chr9", CHR9, "hg38", **options))


def test_bad_options_refused():
    with pytest.raises(InvalidInputError, match="normalize"):
        ReadsOptions(normalize="RPKM")
    with pytest.raises(InvalidInputError, match="extend_reads"):
        ReadsOptions(extend_reads=5000)
    with pytest.raises(InvalidInputError, match="min_mapq"):
        ReadsOptions(min_mapq=-1)
    with pytest.raises(InvalidInputError, match="effective_genome_size.*RPGC"):  # a key that would do nothing is refused
        ReadsOptions(effective_genome_size=2_700_000_000)
