"""`prepare` from reads: BAM and reads-BED tracks and CAGE in a cell spec; bad reads inputs exit 4, nothing written."""
from __future__ import annotations

import gzip
import json
import shutil

import h5py
import numpy as np
import pytest
import yaml

from graphreg_zoo.prep.cell import CellData
from graphreg_zoo.prep.reads import ReadsOptions, ReadsTrack
from graphreg_zoo.prep.tracks import log2p1

from .prep_factories import refused, write_edges

BAM = "reads/bam_chr9_4000000_6000000.bam"
BED = "reads/CTCF_SE_CTRL_chr22_50k.bed.gz"
CHR9 = 138_394_717


@pytest.fixture
def bam_spec(realdata, tmp_path):
    """An hg38 chr9 cell whose three tracks and CAGE are the real RNA-seq BAM with different options."""
    shutil.copyfile(realdata / BAM, tmp_path / "rna.bam")
    (tmp_path / "tss.bed").write_text("chr9\t4490000\t4490500\tGENEA\t0\t+\nchr9\t5500000\t5500500\tGENEB\t0\t-\n")
    write_edges(tmp_path / "graph.npz", {"chr9": [(900, 1000), (1000, 1100)]})
    spec = {
        "name": "rna", "genome": "hg38", "chromosomes": ["chr9"],
        "tracks": {"h3k4me3": {"path": "rna.bam", "stat": "max", "reads": {"min_mapq": 10}},
                   "h3k27ac": {"path": "rna.bam", "stat": "max", "reads": {"normalize": "RPGC"}},
                   "dnase": "rna.bam"},
        "cage": {"path": "rna.bam", "reads": {"normalize": "CPM", "sam_flag_exclude": 256}},
        "graph": {"format": "npz", "path": "graph.npz"},
        "genes": "tss.bed",
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_prepare_from_bam(cli, bam_spec):
    out = bam_spec.parent / "cell.h5"
    code, _, stderr = cli("prepare", bam_spec, "-o", out, "--quiet")
    assert code == 0, stderr
    cell = CellData(out)
    bam = bam_spec.parent / "rna.bam"
    tracks = cell.tracks("chr9")
    for column, options, stat_scale in ((0, ReadsOptions(min_mapq=10), 1), (1, ReadsOptions(normalize="RPGC"), 1),
                                        (2, ReadsOptions(), 100)):  # dnase: default stat sum = value x 100 bp
        want = log2p1(ReadsTrack(bam, options, 100, genome="hg38").values("chr9", CHR9) * stat_scale)
        np.testing.assert_allclose(tracks[:, column], want, rtol=1e-6)
    cage = ReadsTrack(bam, ReadsOptions(normalize="CPM", sam_flag_exclude=256), 5000).values("chr9", CHR9) * 5000
    np.testing.assert_allclose(cell.cage("chr9"), cage, rtol=1e-6)
    assert cell.cage("chr9")[800:1200].sum() > 0
    recorded = json.loads(h5py.File(out, "r").attrs["tracks"])
    assert recorded["h3k4me3"]["reads"]["min_mapq"] == 10
    assert recorded["h3k27ac"]["reads_counted"]["kept"] == 22830
    assert json.loads(h5py.File(out, "r").attrs["cage"])["reads"]["normalize"] == "CPM"


def test_prepare_from_reads_bed(cli, realdata, tmp_path):
    (tmp_path / "tss.bed").write_text("chr22\t20000000\t20000500\tGENEA\t0\t+\n")
    write_edges(tmp_path / "graph.npz", {"chr22": [(4000, 4010)]})
    bed = str(realdata / BED)
    spec = {"genome": "hg19", "chromosomes": ["chr22"], "genes": "tss.bed",
            "tracks": {n: {"path": bed, "stat": "max", "reads": {"extend_reads": 200, "normalize": "RPGC"}}
                       for n in ("h3k4me3", "h3k27ac", "dnase")},
            "cage": bed, "graph": {"format": "npz", "path": "graph.npz"}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    code, _, stderr = cli("prepare", tmp_path / "spec.yaml", "-o", tmp_path / "cell.h5", "--quiet")
    assert code == 0, stderr
    cell = CellData(tmp_path / "cell.h5")
    n_reads = sum(1 for _ in gzip.open(realdata / BED, "rt"))
    assert cell.cage("chr22").sum() == pytest.approx(n_reads * 5000, rel=0.02)  # each 101 bp read in 1-2 nodes
    assert cell.tracks("chr22")[:, 2].max() > 0


def set_dnase(spec_path, value):
    spec = yaml.safe_load(spec_path.read_text())
    spec["tracks"]["dnase"] = value
    spec_path.write_text(yaml.safe_dump(spec))
    return spec_path


def test_unsorted_bam_exits_4(cli, bam_spec):
    pysam = pytest.importorskip("pysam")
    with pysam.AlignmentFile(str(bam_spec.parent / "rna.bam")) as src:
        reads = [r for _, r in zip(range(30), src.fetch(until_eof=True))]
        header = src.header.to_dict()
    header["HD"] = {"VN": "1.6"}
    with pysam.AlignmentFile(str(bam_spec.parent / "shuffled.bam"), "wb", header=header) as out:
        for read in reads[::-1]:
            out.write(read)
    refused(cli, set_dnase(bam_spec, "shuffled.bam"), "tracks.dnase", "shuffled.bam", "not sorted", "record 2")


def test_bam_of_another_build_exits_4(cli, bam_spec):
    spec = yaml.safe_load(bam_spec.read_text())
    spec["genome"] = "hg19"
    bam_spec.write_text(yaml.safe_dump(spec))
    refused(cli, bam_spec, "rna.bam", "chr9", "138,394,717", "hg38")


def test_truncated_bam_exits_4(cli, bam_spec):
    data = (bam_spec.parent / "rna.bam").read_bytes()
    (bam_spec.parent / "cut.bam").write_bytes(data[: len(data) * 2 // 3])
    refused(cli, set_dnase(bam_spec, "cut.bam"), "tracks.dnase", "cut.bam", "truncated")


def test_reads_with_unknown_chromosomes_exit_4(cli, bam_spec):
    (bam_spec.parent / "scaffolds.bed").write_text("scaffold_1\t100\t200\t.\t0\t+\nscaffold_2\t100\t200\t.\t0\t-\n")
    refused(cli, set_dnase(bam_spec, "scaffolds.bed"), "scaffolds.bed", "scaffold_1")


def test_bad_reads_record_exits_4(cli, bam_spec):
    (bam_spec.parent / "bad.bed").write_text("chr9\t100\t200\t.\t0\t+\nchr9\t300\t250\t.\t0\t+\n")
    refused(cli, set_dnase(bam_spec, "bad.bed"), "bad.bed", "record 2")


@pytest.mark.parametrize("value, needle", [
    ({"path": "rna.bam", "reads": {"mapq": 10}}, "unknown key(s) ['mapq']"),
    ({"path": "rna.bam", "reads": {"normalize": "RPKM"}}, "RPKM"),
    ({"path": "x.bw", "reads": {"min_mapq": 10}}, "`reads:` is for BAM"),
])
def test_bad_reads_options_exit_4(cli, bam_spec, value, needle):
    refused(cli, set_dnase(bam_spec, value), needle)
