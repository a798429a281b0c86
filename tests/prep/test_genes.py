"""TSS extraction from the real hg19 GTF slice and ABC TSS BEDs, and per-node TSS tables."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.genes import build_agreement, check_build, read_tss, reference_tss, tss_table

from .prep_factories import write_gtf

GTF = "hg19_K562_chr9_4-6Mb/gtf_chr9_4000000_6000000.gtf"


def gtf_records(path, feature):
    """Independent reading: split lines by hand, 1-based inclusive -> 0-based 5' end."""
    out = []
    for line in path.read_text().splitlines():
        f = line.split("\t")
        if line.startswith("#") or f[2] != feature:
            continue
        name = re.search(r'gene_name "([^"]+)"', f[8]).group(1)
        biotype = re.search(r'gene_biotype "([^"]+)"', f[8]).group(1)
        out.append((f[0], int(f[3]) - 1 if f[6] == "+" else int(f[4]) - 1, name, f[6], biotype))
    return out


def test_gtf_gene_level(realdata):
    path = realdata / GTF
    want = gtf_records(path, "gene")
    got = read_tss(path)
    assert len(got) == len(want) == 55
    assert list(zip(got.chrom, got.tss, got.gene, got.strand)) == [w[:4] for w in want]
    glis3 = got[got.gene == "GLIS3"].iloc[0]
    assert (glis3.strand, glis3.tss) == ("-", 4348392 - 1)  # minus strand: the record's end


def test_gtf_transcript_level_and_biotypes(realdata):
    path = realdata / GTF
    want = [w for w in gtf_records(path, "transcript") if w[4] == "protein_coding"]
    got = read_tss(path, level="transcript", biotypes=["protein_coding"])
    assert sorted(zip(got.tss, got.gene)) == sorted((w[1], w[2]) for w in want)
    assert len(got) < 139


def test_gtf_gene_table(realdata):
    tss = read_tss(realdata / GTF, level="transcript")
    table = tss_table(tss.tss.to_numpy(), tss.gene.to_numpy(), 141_213_431)
    for row in table.itertuples():
        inside = tss[(tss.tss // 5000) == row.node]
        assert row.bin_start == row.node * 5000
        assert row.tss == inside.tss.min()
        assert set(row.genes.split("+")) == set(inside.gene)
        assert row.n_tss == len(inside.drop_duplicates(["tss", "gene"]))
    assert table.n_tss.sum() == len(tss.drop_duplicates(["tss", "gene"]))


@pytest.mark.parametrize("name", [
    "hg38_K562_chr22/tss/RefSeqCurated.170308.CollapsedGeneBounds.chr22.hg38.TSS500bp.bed",
    "hg19_annotations/CollapsedGeneBounds.hg19.TSS500bp.bed",
])
def test_abc_tss500_bed_centre(realdata, name):
    path = realdata / name
    raw = pd.read_csv(path, sep="\t")
    got = read_tss(path)
    assert len(got) == len(raw)
    # 250 bases upstream of the TSS on the gene's strand: the centre on +, the centre - 1 on -
    np.testing.assert_array_equal(got.tss.to_numpy(), raw["start"].to_numpy() + 250 - (raw["strand"] == "-"))
    assert list(got.gene) == list(raw["name"].astype(str))
    coding = read_tss(path, biotypes=["protein_coding"])
    assert len(coding) == (raw["gene_type"] == "protein_coding").sum() > 0


ABC_CHR22 = "hg38_K562_chr22/tss/RefSeqCurated.170308.CollapsedGeneBounds.chr22.hg38"


def test_abc_tss_windows_agree_with_their_gene_bodies(realdata):
    """The TSS of every ABC window is the 5' end of the same gene's body (the minus strand included)."""
    windows = read_tss(realdata / f"{ABC_CHR22}.TSS500bp.bed")
    bodies = read_tss(realdata / f"{ABC_CHR22}.bed")
    assert bodies.gene.is_unique and (windows.strand == "-").sum() > 200
    pd.testing.assert_series_equal(windows.set_index("gene").tss, bodies.set_index("gene").tss.loc[windows.gene])


@pytest.mark.parametrize("name, gene, node", [
    ("hg38_K562_chr22/tss/CollapsedGeneBounds.hg38.TSS500bp.genomewide.bed", "LRRC32", 76_669_999 // 5000),
    ("hg19_annotations/CollapsedGeneBounds.hg19.TSS500bp.bed", "EPRS", 220_219_999 // 5000),
    ("hg19_annotations/CollapsedGeneBounds.hg19.TSS500bp.bed", "C2orf66", 197_674_999 // 5000),
    ("hg19_annotations/CollapsedGeneBounds.hg19.TSS500bp.bed", "PRKACA", 14_224_999 // 5000),
    ("hg19_annotations/CollapsedGeneBounds.hg19.TSS500bp.bed", "MCF2", 138_724_999 // 5000),
])
def test_minus_strand_windows_on_a_node_edge_keep_their_node(realdata, name, gene, node):
    """These minus-strand windows are centred on a 5 kb boundary: their TSS is the base before it."""
    tss = read_tss(realdata / name)
    assert (tss[tss.gene == gene].tss // 5000).tolist() == [node]


def _real_rows_plus(realdata, tmp_path, extra: str):
    """The real chr22 TSS500bp file with one more data line appended."""
    path = tmp_path / "tss.bed"
    path.write_text((realdata / f"{ABC_CHR22}.TSS500bp.bed").read_text() + extra)
    return path


def test_a_clipped_window_changes_no_other_tss(realdata, tmp_path):
    """One window clipped at the chromosome start must not switch the file to gene bodies."""
    real = read_tss(realdata / f"{ABC_CHR22}.TSS500bp.bed")
    got = read_tss(_real_rows_plus(realdata, tmp_path, "chr22\t0\t350\tCLIPPED\t0\t+\tX\tprotein_coding\n"))
    pd.testing.assert_frame_equal(got.iloc[:-1], real)
    assert got.iloc[-1].tss == 100  # its full window is [-150, 350)


def test_a_window_of_another_width_is_refused_with_its_line(realdata, tmp_path):
    path = _real_rows_plus(realdata, tmp_path, "chr22\t20000000\t20000900\tWIDE\t0\t+\tX\tprotein_coding\n")
    with pytest.raises(InvalidInputError, match=r"line 519: a 900 bp row in a file of 500 bp TSS windows"):
        read_tss(path)


def test_bed12_gene_bodies_are_strand_aware(realdata):
    path = realdata / "hg19_K562_chr9_4-6Mb/bed_chr9_4000000_6000000.bed"
    raw = pd.read_csv(path, sep="\t", header=None)
    got = read_tss(path)
    want = np.where(raw[5] == "+", raw[1], raw[2] - 1)
    np.testing.assert_array_equal(got.tss.to_numpy(), want)


def test_gtf_without_names_is_refused(tmp_path):
    path = write_gtf(tmp_path / "x.gtf", [("chr1", 100, 200, "+", "A")], with_names=False)
    with pytest.raises(InvalidInputError, match="no gene names") as info:
        read_tss(path)
    assert "name_attribute: gene_id" in str(info.value)
    assert read_tss(path, name_attribute="gene_id").gene.tolist() == ["G0"]


def test_names_are_never_truncated():
    long = "A_GENE_NAME_MUCH_LONGER_THAN_SIXTEEN_CHARACTERS"
    table = tss_table(np.array([10, 20, 6000]), np.array([long, "B", "C"], dtype=object), 10_000)
    assert table.genes.tolist() == [f"{long}+B", "C"]
    assert table.n_tss.tolist() == [2, 1]


def test_tss_outside_chromosome(tmp_path):
    with pytest.raises(InvalidInputError, match="outside the chromosome"):
        tss_table(np.array([5, 20_000]), np.array(["A", "B"]), 10_000, where="x.gtf, chr1")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 99_999), st.sampled_from(["A", "B", "C", "D+E"])), min_size=1, max_size=40))
def test_tss_table_property(rows):
    pos = np.array([r[0] for r in rows])
    names = np.array([r[1] for r in rows], dtype=object)
    table = tss_table(pos, names, 100_000)
    distinct = {(p, n) for p, n in rows}
    assert table.n_tss.sum() == len(distinct)
    assert table.node.is_monotonic_increasing and table.node.is_unique
    for row in table.itertuples():
        members = sorted((p, n) for p, n in distinct if p // 5000 == row.node)
        assert row.tss == members[0][0]
        assert row.genes == "+".join(dict.fromkeys(n for _, n in members))


def test_gff3_gene_and_transcript_levels(tmp_path):
    path = tmp_path / "x.gff3"
    path.write_text(
        "##gff-version 3\n"
        "chr1\tsrc\tgene\t1001\t5000\t.\t+\t.\tID=gene:1;Name=ALPHA;biotype=protein_coding\n"
        "chr1\tsrc\tmRNA\t1501\t5000\t.\t+\t.\tID=tx:1;Parent=gene:1;Name=ALPHA-201\n"
        "chr1\tsrc\tgene\t7001\t9000\t.\t-\t.\tID=gene:2;Name=BETA;biotype=lncRNA\n"
        "chr1\tsrc\ttranscript\t7001\t8500\t.\t-\t.\tID=tx:2;Parent=gene:2\n"
        "##FASTA\n>chr1\nACGT\n"
    )
    genes = read_tss(path)
    assert list(zip(genes.tss, genes.gene, genes.strand)) == [(1000, "ALPHA", "+"), (8999, "BETA", "-")]
    tx = read_tss(path, level="transcript")
    assert list(zip(tx.tss, tx.gene)) == [(1500, "ALPHA"), (8499, "BETA")]
    assert read_tss(path, biotypes=["lncRNA"]).gene.tolist() == ["BETA"]


def test_malformed_gtf_line(tmp_path):
    path = tmp_path / "x.gtf"
    path.write_text('chr1\tsrc\tgene\t1\t10\t.\t+\t.\tgene_name "A";\nchr1 only spaces here\n')
    with pytest.raises(InvalidInputError, match="line 2: expected 9 tab-separated columns"):
        read_tss(path)


@pytest.mark.parametrize("genome, refused_as", [("hg38", None), ("GRCh38", None), ("hg19", "hg38"), ("mm10", "hg38"),
                                                ("my_assembly", None)])
def test_build_of_an_annotation_from_its_well_known_genes(realdata, genome, refused_as):
    """RefSeq's chr22 TSSs (not the GENCODE files the packaged table comes from) are hg38's."""
    table = read_tss(realdata / f"{ABC_CHR22}.TSS500bp.bed")
    if refused_as is None:
        check_build(table, genome, "genes")
        return
    with pytest.raises(InvalidInputError, match=rf"genes: the annotation is from {refused_as}, not "):
        check_build(table, genome, "genes")


def test_an_annotation_without_reference_genes_gets_no_verdict(realdata):
    table = read_tss(realdata / GTF)
    assert {found for found, _ in build_agreement(table).values()} == {0}
    check_build(table, "hg38", "genes")  # a 2 Mb slice of hg19 holds none: nothing to tell


def test_reference_table_is_packaged():
    from pathlib import Path

    import tomllib

    ref = reference_tss()
    assert set(ref.build) == {"hg19", "hg38", "mm10"} and ref.groupby("build").gene.nunique().min() >= 8
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "prep/*.tsv" in pyproject["tool"]["setuptools"]["package-data"]["graphreg_zoo"]
