"""Chromosome names, sizes and build detection."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep import assembly


@pytest.mark.parametrize("raw, canon", [("1", "chr1"), ("chr1", "chr1"), ("CHR1", "chr1"), ("MT", "chrM"),
                                        ("chrM", "chrM"), ("chrMT", "chrM"), ("x", "chrX"), ("Y", "chrY"),
                                        ("chr1_gl000191_random", "chr1_gl000191_random")])
def test_normalize(raw, canon):
    assert assembly.normalize_chrom(raw) == canon


@given(st.sampled_from([str(i) for i in range(1, 23)] + ["X", "Y", "M", "MT"]), st.sampled_from(["", "chr", "Chr"]))
def test_normalize_is_idempotent(core, prefix):
    once = assembly.normalize_chrom(prefix + core)
    assert assembly.normalize_chrom(once) == once and once.startswith("chr")


def test_tables_match_real_sizes_files(realdata):
    hg19 = assembly.read_chrom_sizes(realdata / "hg19_annotations" / "hg19.chrom_sizes.tsv")
    hg38 = assembly.read_chrom_sizes(realdata / "hg38_K562_chr22" / "tss" / "GRCh38_EBV.chrom.sizes.tsv")
    for build, sizes in (("hg19", hg19), ("hg38", hg38)):
        assert all(sizes[c] == n for c, n in assembly.KNOWN_SIZES[build].items())
        assert assembly.detect_build(sizes) == build
    assert assembly.detect_build({"9": 141_213_431}) == "hg19"
    assert assembly.detect_build({"chr1": 195_471_971}) == "mm10"
    assert assembly.detect_build({"chr1": 5}) is None


def test_match_and_mismatch():
    mapping = assembly.match_chroms(["1", "2", "MT"], ["chr1", "chr2", "chr3"], "f.bw")
    assert mapping == {"chr1": "1", "chr2": "2"}
    with pytest.raises(InvalidInputError, match=r"chr3 absent"):
        assembly.require_chroms(mapping, ["chr1", "chr3"], "f.bw")
    with pytest.raises(InvalidInputError, match=r"none of its chromosome names.*scaffold_1.*chr1"):
        assembly.match_chroms(["scaffold_1"], ["chr1"], "f.bw")
    with pytest.raises(InvalidInputError, match=r"50,818,468 but chr22 of hg19 is 51,304,566 \(that length is hg38's\)"):
        assembly.check_lengths({"22": 50_818_468}, {"chr22": "22"}, assembly.KNOWN_SIZES["hg19"], "hg19", "f.bw")


def test_genome_sizes_and_autosomes(tmp_path):
    assert assembly.autosomes("GRCm38")[-1] == "chr19" and len(assembly.autosomes("hg38")) == 22
    assert assembly.genome_sizes("GRCh38")["chr22"] == 50_818_468
    (tmp_path / "s").write_text("1\t100\n2\t50\n")
    assert assembly.genome_sizes("toy", tmp_path / "s") == {"chr1": 100, "chr2": 50}
    with pytest.raises(InvalidInputError, match="chrom_sizes"):
        assembly.genome_sizes("toy")
    (tmp_path / "bad").write_text("chr1 abc\n")
    with pytest.raises(InvalidInputError, match="line 1"):
        assembly.read_chrom_sizes(tmp_path / "bad")


def test_contacts_past_a_known_chromosome_end_name_the_build_they_fit():
    from graphreg_zoo.prep.assembly import check_extent

    with pytest.raises(InvalidInputError, match=r"past its end in hg38 \(50,818,468 bp\) \(it fits hg19\)"):
        check_extent({"chr22": 51_000_000}, {"chr22": 50_818_468}, "x.tsv", raw=False)
    check_extent({"chr22": 50_810_000}, {"chr22": 51_304_566}, "loops.bedpe", raw=False)  # loops can stop anywhere
    with pytest.raises(InvalidInputError, match=r"stop at 50,810,000 bp, at the end of chr22 in hg38"):
        check_extent({"chr22": 50_810_000}, {"chr22": 51_304_566}, "dump.txt", raw=True)
