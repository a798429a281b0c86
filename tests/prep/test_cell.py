"""prepare() -> CellData: a toy cell checked against independent recomputation, and real hg19 chr9."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pyBigWig
import pytest
import yaml

from graphreg_zoo.errors import InvalidInputError, NotAvailableError
from graphreg_zoo.prep.cell import CellData, CellSpec, prepare

from .prep_factories import TOY_SIZES, per_base_bins, toy_cell


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy")
    spec = toy_cell(tmp, np.random.default_rng(1))
    out = prepare(spec, tmp / "toy.h5", progress=False)
    return tmp, CellData(out)


def bigwig_bins(path, chrom, bin_size):
    bw = pyBigWig.open(str(path))
    return per_base_bins(bw.intervals(chrom), 0, bw.chroms(chrom), bin_size)["sum"]


def test_toy_layout_and_tracks(toy):
    tmp, cell = toy
    assert cell.genome == "toy" and cell.chroms == ["chr1", "chr2"] and cell.chrom_sizes == TOY_SIZES
    assert cell.track_names == ["h3k4me3", "h3k27ac", "dnase"]
    for chrom, length in TOY_SIZES.items():
        tracks = cell.tracks(chrom)
        assert tracks.dtype == np.float32 and tracks.shape == (-(-length // 100), 3)
        for i, name in enumerate(cell.track_names):
            want = np.log2(bigwig_bins(tmp / f"{name}.bw", chrom, 100) + 1)
            np.testing.assert_allclose(tracks[:, i], want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(cell.cage(chrom), bigwig_bins(tmp / "cage.bw", chrom, 5000), rtol=1e-5)
        assert cell.n_nodes(chrom) == -(-length // 5000) == len(cell.cage(chrom))
    np.testing.assert_array_equal(cell.tracks("chr1", 10, 20), cell.tracks("chr1")[10:20])


def test_track_reads_are_the_files_rows_and_the_callers_own(toy):
    """What tracks() returns is the caller's own array (changing it changes no later read) and equals the file's
    rows, whichever chromosome was read before (a guard for any caching of track rows)."""
    import h5py

    _, cell = toy
    with h5py.File(cell.path, "r") as h5:
        stored = {c: h5[f"chroms/{c}/tracks"][:] for c in ("chr1", "chr2")}
    got = cell.tracks("chr1", 5, 50)
    got[:] = -1.0
    for chrom in ("chr2", "chr1", "chr2"):
        np.testing.assert_array_equal(cell.tracks(chrom, 5, 50), stored[chrom][5:50])
    np.testing.assert_array_equal(cell.tracks("chr1"), stored["chr1"])


def _read_in_child(cell, queue) -> None:
    queue.put(cell.tracks("chr2", 5, 50))


def test_reads_stay_the_files_rows_across_threads_pickling_and_a_fork(toy):
    """CellData keeps its HDF5 datasets open (their chunk cache saves decompressing overlapping windows
    again); reads from two threads at once, from an unpickled copy and from a forked child, which must
    open the file afresh, are still the file's rows."""
    import multiprocessing
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    import h5py

    _, cell = toy
    with h5py.File(cell.path, "r") as h5:
        stored = h5["chroms/chr2/tracks"][:]
    np.testing.assert_array_equal(cell.tracks("chr2", 5, 50), stored[5:50])  # opened in this process
    spans = [(start, start + 37) for start in range(0, len(stored) - 37, 11)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(lambda span: cell.tracks("chr2", *span), spans * 4))
    for (start, stop), rows in zip(spans * 4, got):
        np.testing.assert_array_equal(rows, stored[start:stop])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(cell)).tracks("chr2", 5, 50), stored[5:50])
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(cell, queue))
    child.start()
    rows = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(rows, stored[5:50])


def test_a_closed_celldata_lets_the_file_be_edited_and_reads_it_again(tmp_path):
    """HDF5 refuses to open a file for writing while the process holds it open for reading: `close()` (or the
    end of a `with` block) releases it, and a later read opens it again and sees the edit."""
    import h5py

    spec = toy_cell(tmp_path, np.random.default_rng(2))
    path = prepare(spec, tmp_path / "toy.h5", progress=False)
    with CellData(path) as cell:
        before = cell.tracks("chr1", 0, 10)
        with pytest.raises(OSError):
            h5py.File(path, "r+")
    with h5py.File(path, "r+") as h5:
        h5["chroms/chr1/tracks"][0:10] = before + 1.0
    np.testing.assert_array_equal(cell.tracks("chr1", 0, 10), before + 1.0)
    cell.close()


def test_toy_graph_and_tss(toy):
    _, cell = toy
    g = cell.graph("chr1")
    assert g.shape == (470, 470) and (g != g.T).nnz == 0 and not g.diagonal().any()
    assert set(zip(*g.nonzero())) == {(0, 5), (5, 0), (2, 3), (3, 2), (5, 199), (199, 5)}
    assert set(np.unique(g.data)) == {1.0}
    tss = cell.tss("chr1")
    assert list(tss.columns) == ["node", "bin_start", "tss", "n_tss", "genes"]
    assert tss.values.tolist() == [
        [2, 10_000, 10_000, 1, "GENEA"],
        [199, 995_000, 997_000, 2, "GENEC+GENE_WITH_A_VERY_LONG_NAME_1"],
    ]
    counts = cell.tss_count("chr1")
    assert counts.sum() == 3 and counts[199] == 2


def test_toy_attrs_and_provenance(toy):
    tmp, cell = toy
    a = cell.attrs
    assert a["format_version"] == 1 and a["track_bin_size"] == 100 and a["node_bin_size"] == 5000
    assert a["tracks"]["dnase"]["normalisation"] == "log2" and a["tracks"]["dnase"]["stat"] == "sum"
    for role, name in [("tracks.h3k4me3", "h3k4me3.bw"), ("genes", "genes.gtf"), ("graph", "graph.npz"),
                       ("fasta", "toy.fa")]:
        files = a["provenance"][role]["files"]
        assert files[str(tmp / name)]["sha256"] == hashlib.sha256((tmp / name).read_bytes()).hexdigest()
    q = a["track_quantiles"]["h3k27ac"]
    all_values = np.concatenate([cell.tracks(c)[:, 1] for c in cell.chroms])
    assert q["q0.99"] == pytest.approx(np.quantile(all_values, 0.99)) and q["max"] == pytest.approx(all_values.max())
    assert cell.fasta == tmp / "toy.fa" and cell.fasta_sha256 == files[str(tmp / "toy.fa")]["sha256"]


def test_toy_sequence(toy):
    tmp, cell = toy
    text = "".join(tmp.joinpath("toy.fa").read_text().split(">chr2")[0].splitlines()[1:])
    got = cell.sequence("chr1", 1_000_000, 1_000_500)
    want = np.array([[b == x for x in "ACGT"] for b in text[1_000_000:1_000_500].upper()], dtype=np.float32)
    np.testing.assert_array_equal(got, want)


def test_upstream_minmax_uses_chr1_max_and_chrom_min(tmp_path):
    spec_path = toy_cell(tmp_path, np.random.default_rng(2), fasta=False)
    spec = yaml.safe_load(spec_path.read_text())
    spec["tracks"]["h3k4me3"]["normalisation"] = "upstream_minmax"
    spec["chromosomes"] = ["chr2"]  # chr1 is still the reference, read from the file
    cell = CellData(prepare(CellSpec.from_dict(spec, tmp_path), tmp_path / "mm.h5", progress=False))
    ref_max = np.log2(bigwig_bins(tmp_path / "h3k4me3.bw", "chr1", 100) + 1).max()
    x = np.log2(bigwig_bins(tmp_path / "h3k4me3.bw", "chr2", 100) + 1)
    np.testing.assert_allclose(cell.tracks("chr2")[:, 0], (x - x.min()) / (ref_max - x.min()), rtol=1e-5, atol=1e-6)
    assert cell.attrs["tracks"]["h3k4me3"]["reference_max"] == pytest.approx(ref_max)
    assert cell.cage("chr2") is not None and cell.fasta is None
    with pytest.raises(NotAvailableError, match="without a FASTA"):
        cell.sequence("chr2", 0, 10)
    with pytest.raises(InvalidInputError, match="no chromosome 'chr1'"):
        cell.tracks("chr1")


def test_spec_validation(tmp_path):
    good = {"genome": "hg19", "tracks": {"h3k4me3": "a", "h3k27ac": "b", "dnase": "c"},
            "graph": {"format": "npz", "path": "g"}, "genes": "x.gtf"}
    assert CellSpec.from_dict(good).tracks["h3k27ac"].path == "b"
    with pytest.raises(InvalidInputError, match="exactly h3k4me3, h3k27ac, dnase"):
        CellSpec.from_dict({**good, "tracks": {"h3k4me3": "a"}})
    with pytest.raises(InvalidInputError, match="unknown spec key"):
        CellSpec.from_dict({**good, "trakcs": 1})
    with pytest.raises(InvalidInputError, match="unknown stat 'median'"):
        CellSpec.from_dict({**good, "tracks": {"h3k4me3": {"path": "a", "stat": "median"}, "h3k27ac": "b", "dnase": "c"}})
    with pytest.raises(InvalidInputError, match="graph format"):
        CellSpec.from_dict({**good, "graph": {"format": "mcool5", "path": "g"}})
    assert CellSpec.from_dict(CellSpec.from_dict(good).to_dict()).to_dict() == CellSpec.from_dict(good).to_dict()


def test_not_a_celldata(tmp_path):
    import h5py

    with h5py.File(tmp_path / "x.h5", "w"):
        pass
    with pytest.raises(InvalidInputError, match="not a CellData file"):
        CellData(tmp_path / "x.h5")
    with pytest.raises(InvalidInputError, match="does not exist"):
        CellData.open(tmp_path / "nope.h5")


def test_real_hg19_k562_chr9(realdata, tmp_path):
    """Real K562 bigWigs (H3K27ac, H3K27me3 and RNA standing in for the three tracks), the Ensembl
    GTF slice and the real Hi-C loop BEDPE, all hg19 chr9."""
    d = realdata / "hg19_K562_chr9_4-6Mb"
    bw = {m: str(d / f"bigwig_chr9_4000000_6000000_K562_{m}.bigwig") for m in ("H3K27ac", "H3K27me3", "RNA")}
    spec = CellSpec(
        name="K562", genome="hg19", chromosomes=["chr9"],
        tracks={"h3k4me3": bw["H3K27me3"], "h3k27ac": bw["H3K27ac"], "dnase": {"path": bw["RNA"], "stat": "max"}},
        cage={"path": bw["RNA"]},
        graph={"format": "bedpe", "path": str(d / "peak_chr9_4000000_6000000.bedpe")},
        genes={"path": str(d / "gtf_chr9_4000000_6000000.gtf"), "biotypes": ["protein_coding"]},
    )
    cell = CellData(prepare(spec, tmp_path / "k562.h5", progress=False))
    tracks = cell.tracks("chr9")
    assert tracks.shape == (1_412_135, 3)
    lo, hi = 3_990_000, 6_010_000
    for col, mark, stat in ((0, "H3K27me3", "sum"), (1, "H3K27ac", "sum"), (2, "RNA", "max")):
        ivs = pyBigWig.open(bw[mark]).intervals("chr9")
        want = np.log2(per_base_bins(ivs, lo, hi, 100)[stat] + 1)
        np.testing.assert_allclose(tracks[lo // 100 : hi // 100, col], want, rtol=1e-5, atol=1e-5)
        assert not tracks[: lo // 100, col].any() and not tracks[hi // 100 :, col].any()
    assert cell.graph("chr9").nnz > 0 and not cell.graph("chr9").diagonal().any()
    tss = cell.tss("chr9")
    coding = [line.split("\t") for line in (d / "gtf_chr9_4000000_6000000.gtf").read_text().splitlines()
              if '\tgene\t' in line and 'gene_biotype "protein_coding"' in line]
    want_nodes = {(int(f[3]) - 1 if f[6] == "+" else int(f[4]) - 1) // 5000 for f in coding}
    assert set(tss.node) == want_nodes
    assert json.loads(json.dumps(cell.attrs["graph"]))["format"] == "bedpe"


def test_hicdcplus_tables_per_chromosome(tmp_path):
    """A headered HiCDCPlus table per chromosome through a `{chrom}` template (graph via prep.contacts)."""
    spec_path = toy_cell(tmp_path, np.random.default_rng(4), fasta=False)
    header = "chrI\tstartI\tendI\tchrJ\tstartJ\tendJ\tD\tcounts\tpvalue\tqvalue\tmu\tsdev\n"
    pairs = {"chr1": [(0, 25_000, 0.01), (10_000, 15_000, 0.5), (995_000, 1_000_000, 0.09)], "chr2": [(5_000, 50_000, 0.1)]}
    for chrom, rows in pairs.items():
        lines = [f"{chrom}\t{a}\t{a + 5000}\t{chrom}\t{b}\t{b + 5000}\t{b - a}\t9\t0.001\t{q}\t1\t1\n" for a, b, q in rows]
        (tmp_path / f"K562_HiC_FDR_1_{chrom}").write_text(header + "".join(lines))
    spec = yaml.safe_load(spec_path.read_text())
    spec["graph"] = {"format": "hicdcplus", "path": "K562_HiC_FDR_1_{chrom}", "fdr": 0.1}
    cell = CellData(prepare(CellSpec.from_dict(spec, tmp_path), tmp_path / "hicdc.h5", progress=False))
    assert set(zip(*cell.graph("chr1").nonzero())) == {(0, 5), (5, 0), (199, 200), (200, 199)}
    assert set(zip(*cell.graph("chr2").nonzero())) == {(1, 10), (10, 1)}
    files = cell.attrs["provenance"]["graph"]["files"]
    assert sorted(files) == [str(tmp_path / "K562_HiC_FDR_1_chr1"), str(tmp_path / "K562_HiC_FDR_1_chr2")]


def test_real_hg38_k562_chr22(realdata, tmp_path):
    """hg38 chr22: the element-count bigWigs, the real .cool (raw counts >= 30 as edges), ABC's TSS BED."""
    import pandas as pd

    d = realdata / "hg38_K562_chr22"
    dnase = str(d / "activity" / "K562_DNase_ENCFF860XAE.element_counts.chr22.DERIVED.bw")
    h3k27ac = str(d / "activity" / "K562_H3K27ac_ENCFF790GFL.element_counts.chr22.DERIVED.bw")
    tss_bed = d / "tss" / "RefSeqCurated.170308.CollapsedGeneBounds.chr22.hg38.TSS500bp.bed"
    spec = CellSpec(name="K562", genome="GRCh38", chromosomes=["22"],
                    tracks={"h3k4me3": dnase, "h3k27ac": h3k27ac, "dnase": dnase},
                    graph={"format": "cool", "path": str(d / "hic" / "K562_chr22_5kb_raw.DERIVED.cool"), "min_count": 30},
                    genes=str(tss_bed))
    cell = CellData(prepare(spec, tmp_path / "k562.h5", progress=False))
    assert cell.genome == "hg38" and cell.chroms == ["chr22"] and cell.n_nodes("chr22") == 10_164
    ivs = pyBigWig.open(h3k27ac).intervals("chr22")
    want = np.log2(per_base_bins(ivs, 20_000_000, 30_000_000, 100)["sum"] + 1)
    np.testing.assert_allclose(cell.tracks("chr22", 200_000, 300_000)[:, 1], want, rtol=1e-5, atol=1e-5)
    assert not cell.tracks("chr22", 0, 100_000).any()  # no data before 10.6 Mb
    raw = pd.read_csv(tss_bed, sep="\t")
    assert set(cell.tss("chr22").node) == set((raw["start"] + 250 - (raw["strand"] == "-")) // 5000)
    assert cell.tss("chr22").n_tss.sum() == len(raw.drop_duplicates(["start", "name"]))
    g = cell.graph("chr22")
    assert g.nnz > 0 and (g != g.T).nnz == 0 and not g.diagonal().any()


@pytest.mark.parametrize("graph, needle", [
    ({"format": "npz", "path": "g", "fdr": 0.05}, "fdr has no effect on a npz graph"),
    ({"format": "npz", "path": "g", "resolution": 5000}, "resolution has no effect on a npz graph"),
    ({"format": "hicdcplus", "path": "g", "min_count": 3}, "min_count has no effect on a hicdcplus graph"),
    ({"format": "cool", "path": "g", "fdr": 0.05}, "fdr has no effect on a cool graph"),
    ({"format": "cool", "path": "g", "call": True, "min_count": 3}, "min_count has no effect on a cool graph"),
])
def test_graph_settings_that_would_be_ignored_are_refused(graph, needle):
    good = {"genome": "hg19", "tracks": {"h3k4me3": "a", "h3k27ac": "b", "dnase": "c"}, "genes": "x.gtf"}
    with pytest.raises(InvalidInputError, match=needle):
        CellSpec.from_dict({**good, "graph": graph})


def test_mcool_graphs_are_accepted():
    """docs/contacts.md lists mcool, and the cooler reader reads it: a cell spec takes it too."""
    spec = CellSpec.from_dict({"genome": "hg19", "tracks": {"h3k4me3": "a", "h3k27ac": "b", "dnase": "c"},
                               "genes": "x.gtf", "graph": {"format": "mcool", "path": "x.mcool", "min_count": 2}})
    assert spec.graph.format == "mcool"
