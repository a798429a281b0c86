"""`graphreg-zoo prepare`: success, and each kind of bad input -> exit 4, a clear message, no output file."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from .prep_factories import TOY_SIZES, random_intervals, refused, toy_cell, write_bigwig, write_gtf


@pytest.fixture
def toy_spec(tmp_path):
    return toy_cell(tmp_path, np.random.default_rng(3), fasta=False)


def edit(spec_path, **changes):
    spec = yaml.safe_load(spec_path.read_text())
    for dotted, value in changes.items():
        node = spec
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    spec_path.write_text(yaml.safe_dump(spec))
    return spec_path


def test_prepare_ok(cli, toy_spec):
    out = toy_spec.parent / "cell.h5"
    code, stdout, stderr = cli("prepare", toy_spec, "-o", out)
    assert code == 0, stderr
    assert out.is_file() and f"wrote {out}" in stdout


def test_missing_file(cli, toy_spec):
    edit(toy_spec, tracks__dnase__path="no_such.bw")
    refused(cli, toy_spec, "tracks.dnase", "no_such.bw", "does not exist")


def test_chromosome_names_match_nothing(cli, toy_spec):
    write_bigwig(toy_spec.parent / "scaffolds.bw", {"scaffold_1": 1000, "scaffold_2": 500}, {"scaffold_1": [(0, 10, 1.0)]})
    edit(toy_spec, tracks__h3k27ac__path="scaffolds.bw")
    refused(cli, toy_spec, "tracks.h3k27ac", "none of its chromosome names match", "scaffold_1", "chr1")


def test_build_mismatch(cli, realdata, tmp_path):
    bw = realdata / "hg38_K562_chr22" / "activity" / "K562_DNase_ENCFF860XAE.element_counts.chr22.DERIVED.bw"
    write_gtf(tmp_path / "g.gtf", [("chr22", 20_000_000, 20_001_000, "+", "X")])
    np.savez(tmp_path / "g.npz", chr22=np.array([[1, 2]]))
    spec = {"genome": "hg19", "chromosomes": ["chr22"], "genes": "g.gtf",
            "tracks": {n: str(bw) for n in ("h3k4me3", "h3k27ac", "dnase")},
            "graph": {"format": "npz", "path": "g.npz"}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    refused(cli, tmp_path / "spec.yaml", "50,818,468", "51,304,566", "hg38", "another genome build")


def test_gtf_without_gene_names(cli, toy_spec):
    write_gtf(toy_spec.parent / "genes.gtf", [("chr1", 100, 200, "+", "A"), ("chr2", 100, 200, "-", "B")],
              with_names=False)
    refused(cli, toy_spec, "genes.gtf", "no gene names", "name_attribute")


@pytest.mark.parametrize("rows, needle", [
    ([(100, 200, 1.0), (50, 80, 2.0)], "not sorted"),
    ([(100, 200, 1.0), (150, 300, 2.0)], "[100, 200) and [150, 300)"),
])
def test_unsorted_or_overlapping_intervals(cli, toy_spec, rows, needle):
    lines = [f"chr1\t{s}\t{e}\t{v}\n" for s, e, v in rows] + ["chr2\t0\t10\t1\n"]
    (toy_spec.parent / "bad.bedgraph").write_text("".join(lines))
    edit(toy_spec, tracks__h3k4me3__path="bad.bedgraph")
    refused(cli, toy_spec, "bad.bedgraph", "chr1", needle)


def test_nan_values(cli, toy_spec):
    rng = np.random.default_rng(0)
    ivs = {c: random_intervals(rng, n, 200) for c, n in TOY_SIZES.items()}
    ivs["chr2"][50] = (ivs["chr2"][50][0], ivs["chr2"][50][1], float("nan"))
    write_bigwig(toy_spec.parent / "nan.bw", TOY_SIZES, ivs)
    edit(toy_spec, cage__path="nan.bw")
    refused(cli, toy_spec, "nan.bw", "chr2", f"NaN value at [{ivs['chr2'][50][0]}", "nan: zero")


def test_chromosome_absent_from_one_input(cli, toy_spec):
    write_bigwig(toy_spec.parent / "chr1only.bw", {"chr1": TOY_SIZES["chr1"]}, {"chr1": [(0, 10, 1.0)]})
    edit(toy_spec, tracks__dnase__path="chr1only.bw")
    refused(cli, toy_spec, "tracks.dnase", "chr1only.bw", "chr2 absent")


def test_bad_yaml(cli, tmp_path):
    (tmp_path / "spec.yaml").write_text("genome: [unclosed\n")
    refused(cli, tmp_path / "spec.yaml", "not valid YAML")


def test_url_input_offline_is_not_available(cli, toy_spec, monkeypatch):
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    edit(toy_spec, tracks__dnase__path="https://example.org/DNase.bw")
    code, _, stderr = cli("prepare", toy_spec, "-o", toy_spec.parent / "cell.h5", "--quiet")
    assert code == 3 and "GRAPHREG_ZOO_OFFLINE=1" in stderr and "tracks.dnase" in stderr
    assert not (toy_spec.parent / "cell.h5").exists()


HG38_CHR22 = "hg38_K562_chr22"


def hg19_chr22_spec(tmp_path, genes, graph):
    """An hg19 chr22 spec (tracks of hg19's chr22 length) around the given genes and graph."""
    write_bigwig(tmp_path / "t.bw", {"chr22": 51_304_566}, {"chr22": [(20_000_000, 20_000_100, 1.0)]})
    np.savez(tmp_path / "g.npz", chr22=np.array([[1, 2]]))
    spec = {"genome": "hg19", "chromosomes": ["chr22"], "genes": str(genes),
            "tracks": {n: "t.bw" for n in ("h3k4me3", "h3k27ac", "dnase")}, "graph": graph}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "spec.yaml"


def test_hg38_tss_bed_in_an_hg19_spec(cli, realdata, tmp_path):
    """No chromosome lengths in a BED: the well-known genes' TSSs name its build."""
    genes = realdata / HG38_CHR22 / "tss" / "RefSeqCurated.170308.CollapsedGeneBounds.chr22.hg38.TSS500bp.bed"
    spec = hg19_chr22_spec(tmp_path, genes, {"format": "npz", "path": "g.npz"})
    refused(cli, spec, "TSS500bp.bed", "from hg38, not hg19", "4 of 4 well-known genes", "genome: hg38")


def test_hg38_juicer_dump_in_an_hg19_spec(cli, realdata, tmp_path):
    """Raw contacts that stop at hg38's chr22 end, 486 kb before hg19's, are hg38's."""
    dump = realdata / HG38_CHR22 / "hic" / "chr22.5kb.RAWobserved.gz"
    spec = hg19_chr22_spec(tmp_path, realdata / "hg19_annotations" / "CollapsedGeneBounds.hg19.TSS500bp.bed",
                           {"format": "juicer_dump", "path": str(dump), "min_count": 5})
    refused(cli, spec, "chr22.5kb.RAWobserved.gz", "hg38", "hg19", "50,818,468", "51,304,566")


CHR9 = "hg19_K562_chr9_4-6Mb"


def chr9_loop_spec(realdata, tmp_path, graph):
    """The real hg19 chr9 bigWigs and GTF with `graph` (paths absolute)."""
    d = realdata / CHR9
    bw = str(d / "bigwig_chr9_4000000_6000000_K562_H3K27ac.bigwig")
    spec = {"genome": "hg19", "chromosomes": ["chr9"], "genes": str(d / "gtf_chr9_4000000_6000000.gtf"),
            "tracks": {n: bw for n in ("h3k4me3", "h3k27ac", "dnase")}, "graph": graph}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "spec.yaml"


@pytest.mark.parametrize("setting, needle", [
    ({"min_count": 5}, "min_count needs a loop-count column"),
    ({"fdr": 0.1}, "fdr has no effect on a bedpe graph"),
    ({"call": True}, "call has no effect on a bedpe graph"),
])
def test_bedpe_settings_act_or_are_refused(cli, realdata, tmp_path, setting, needle):
    loops = str(realdata / CHR9 / "peak_chr9_4000000_6000000.bedpe")
    refused(cli, chr9_loop_spec(realdata, tmp_path, {"format": "bedpe", "path": loops, **setting}), needle)


def test_bedpe_loop_counts_are_honoured(cli, realdata, tmp_path):
    """A 7th column of whole numbers is the loop count (hichipper/mango): `min_count` keeps loops by it."""
    from graphreg_zoo.prep.cell import CellData

    lines = (realdata / CHR9 / "peak_chr9_4000000_6000000.bedpe").read_text().splitlines()
    (tmp_path / "counted.bedpe").write_text("".join(f"{line}\t{i}\n" for i, line in enumerate(lines)))
    edges = {}
    for min_count in (None, 13):
        graph = {"format": "bedpe", "path": str(tmp_path / "counted.bedpe")}
        spec = chr9_loop_spec(realdata, tmp_path, graph if min_count is None else {**graph, "min_count": min_count})
        code, _, stderr = cli("prepare", spec, "-o", tmp_path / f"{min_count}.h5", "--quiet")
        assert code == 0, stderr
        edges[min_count] = CellData(tmp_path / f"{min_count}.h5").graph("chr9").nnz
    last = lines[-1].split("\t")  # the only loop with count >= 13
    assert last[1:3] == ["5450000", "5455000"] and last[4:6] == ["5585000", "5590000"]
    assert edges[13] == 2 < edges[None]


def test_a_key_given_twice_is_refused(cli, toy_spec):
    text = toy_spec.read_text()
    toy_spec.write_text(text + "name: second\n")
    refused(cli, toy_spec, "key `name` is given twice (first on line")


def test_chromosomes_without_brackets_is_refused(cli, toy_spec):
    edit(toy_spec, chromosomes="chr1")
    refused(cli, toy_spec, "`chromosomes:` must be a list, e.g. `chromosomes: [chr1]`")


def test_integer_chromosomes_are_names(cli, toy_spec):
    from graphreg_zoo.prep.cell import CellData

    edit(toy_spec, chromosomes=[1, 2])
    out = toy_spec.parent / "cell.h5"
    code, _, stderr = cli("prepare", toy_spec, "-o", out, "--quiet")
    assert code == 0, stderr
    assert CellData(out).chroms == ["chr1", "chr2"]


COOL = "hg38_K562_chr22/hic/K562_chr22_5kb_raw.DERIVED.cool"


@pytest.fixture
def truncated_cool(realdata, tmp_path):
    """The real chr22 .cool cut short, as an interrupted download leaves it."""
    path = tmp_path / "cut.cool"
    path.write_bytes((realdata / COOL).read_bytes()[:400_000])
    return path


def test_call_contacts_on_a_truncated_cool(cli, truncated_cool):
    code, _, stderr = cli("call-contacts", truncated_cool, "-o", truncated_cool.parent / "t.tsv", "-f", "cool",
                          "-c", "chr22")
    assert code == 4 and "cut.cool: not a readable cooler file" in stderr and "truncated" in stderr, stderr
    assert "Traceback" not in stderr and not (truncated_cool.parent / "t.tsv").exists()


def test_prepare_with_a_truncated_cool(cli, realdata, truncated_cool):
    spec = hg19_chr22_spec(truncated_cool.parent, realdata / "hg19_annotations" / "CollapsedGeneBounds.hg19.TSS500bp.bed",
                           {"format": "cool", "path": str(truncated_cool), "min_count": 5})
    refused(cli, spec, "cut.cool: not a readable cooler file", "truncated")


def test_call_contacts_at_a_resolution_beyond_the_maximum_distance(cli, realdata, tmp_path):
    code, _, stderr = cli("call-contacts", realdata / COOL, "-o", tmp_path / "t.tsv", "-f", "cool", "-c", "chr22",
                          "--resolution", "2500000")
    assert code == 4 and "resolution (2,500,000 bp) exceeds the maximum distance (2,000,000 bp)" in stderr, stderr
