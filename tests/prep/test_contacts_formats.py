"""Contact formats on real files, each checked against an independent reading of the same data."""
from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.contacts.calling import build_graphs, read_contacts

CHR22 = 50_818_468  # hg38
CHR9_HG19 = 141_213_431
N22 = -(-CHR22 // 5000)


@pytest.fixture(scope="module")
def dump_path(realdata):
    return realdata / "hg38_K562_chr22" / "hic" / "chr22.5kb.RAWobserved.gz"


@pytest.fixture(scope="module")
def dump(dump_path) -> pd.DataFrame:
    """The juicer dump read independently: 5 kb bins from the bp starts."""
    table = pd.read_csv(dump_path, sep="\t", header=None, names=["s1", "s2", "count"])
    return pd.DataFrame({"bin1": table.s1 // 5000, "bin2": table.s2 // 5000, "count": table["count"]})


def edge_set(graph) -> set[tuple[int, int]]:
    coo = graph.tocoo()
    return {(int(i), int(j)) for i, j in zip(coo.row, coo.col)}


def expected_edges(bin1, bin2, max_bins: int = 400) -> set[tuple[int, int]]:
    """Independent graph: both directions of each off-diagonal pair within max_bins."""
    out = set()
    for i, j in zip(np.asarray(bin1).tolist(), np.asarray(bin2).tolist()):
        if i != j and abs(i - j) <= max_bins:
            out |= {(i, j), (j, i)}
    return out


def test_juicer_dump_and_derived_cool_give_the_same_raw_matrix(realdata, dump_path, dump):
    from_dump, _ = read_contacts(dump_path, "juicer_dump", ["chr22"], max_distance=10**9)
    cool, sizes = read_contacts(
        realdata / "hg38_K562_chr22" / "hic" / "K562_chr22_5kb_raw.DERIVED.cool", "cool", ["chr22"], max_distance=10**9
    )
    assert sizes == {"chr22": CHR22}
    key = ["bin1", "bin2"]
    a = from_dump["chr22"].sort_values(key).reset_index(drop=True)
    b = cool["chr22"].sort_values(key).reset_index(drop=True)
    c = dump.sort_values(key).reset_index(drop=True)
    assert len(c) == 1_063_677 and c["count"].sum() == pytest.approx(6.50e6, rel=1e-3)
    for got in (a, b):
        np.testing.assert_array_equal(got[key].to_numpy(), c[key].to_numpy())
        np.testing.assert_allclose(got["count"].to_numpy(), c["count"].to_numpy())


def test_mcool_uri_and_finer_bins_are_summed_to_5kb(tmp_path, dump):
    """A 2.5 kb .mcool (pixels split in halves) sums back to the 5 kb matrix; the URI form works too."""
    import cooler

    part = dump[(dump.bin1 >= 4000) & (dump.bin2 < 4200)]
    bins = pd.DataFrame({"chrom": "chr22", "start": np.arange(0, CHR22, 2500)})
    bins["end"] = np.minimum(bins.start + 2500, CHR22)
    half = part["count"].to_numpy() / 2
    fine = pd.DataFrame(
        {"bin1_id": np.repeat(part.bin1.to_numpy() * 2, 2), "bin2_id": np.repeat(part.bin2.to_numpy() * 2, 2),
         "count": np.repeat(half, 2)}
    )
    fine.loc[1::2, "bin2_id"] += 1  # the second half goes to the neighbouring fine bin
    path = tmp_path / "fine.mcool"
    cooler.create_cooler(f"{path}::/resolutions/2500", bins, fine.sort_values(["bin1_id", "bin2_id"]),
                         dtypes={"count": float})
    for source in (str(path), f"{path}::/resolutions/2500"):
        got, _ = read_contacts(source, "mcool", ["chr22"])
        merged = got["chr22"].merge(part, on=["bin1", "bin2"], how="outer", suffixes=("", "_want"))
        np.testing.assert_allclose(merged["count"], merged["count_want"])


def test_10kb_cool_is_refused_as_coarser(realdata):
    with pytest.raises(InvalidInputError, match=r"10,000 bp.*coarser"):
        build_graphs(realdata / "hic_formats" / "GSM1436265_RAD21_ENCFF002EMQ_10kb.cool", "cool",
                     {"chr1": 249_250_621}, ["chr1"], call=True)


def test_hic_50kb_is_refused_and_its_names_21_22_are_read(realdata):
    pytest.importorskip("hicstraw")
    import hicstraw

    path = realdata / "hic_formats" / "GSE131651_NSD2_HIGH_arima_example.hic"
    sizes = {"chr21": 48_129_895, "chr22": 51_304_566}
    with pytest.raises(InvalidInputError, match=r"50,000 bp.*coarser"):
        build_graphs(path, "hic", sizes, ["chr21"], call=True)
    # at the file's own 50 kb the `21`/`22` names match chr21/chr22
    pixels, file_sizes = read_contacts(path, "hic", ["chr21", "chr22"], resolution=50_000, max_distance=10**9)
    assert file_sizes == sizes
    records = hicstraw.straw("observed", "NONE", str(path), "21", "21", "BP", 50_000)
    want = pd.DataFrame({"bin1": [r.binX // 50_000 for r in records], "bin2": [r.binY // 50_000 for r in records],
                         "count": [r.counts for r in records]}).sort_values(["bin1", "bin2"], ignore_index=True)
    pd.testing.assert_frame_equal(pixels["chr21"], want, check_dtype=False)
    graphs = build_graphs(path, "hic", sizes, ["chr21", "chr22"], resolution=50_000, min_count=50)
    assert graphs["chr21"].shape == (-(-sizes["chr21"] // 50_000),) * 2


def test_bedpe_loops_connect_every_bin_pair_under_the_anchors(realdata):
    path = realdata / "hg19_K562_chr9_4-6Mb" / "peak_chr9_4000000_6000000.bedpe"
    graph = build_graphs(path, "bedpe", {"chr9": CHR9_HG19}, ["chr9"])["chr9"]
    loops = pd.read_csv(path, sep="\t", header=None)
    want = set()
    for _, (c1, s1, e1, c2, s2, e2) in loops.iterrows():
        for i in range(s1 // 5000, (e1 - 1) // 5000 + 1):
            want |= expected_edges([i] * ((e2 - 1) // 5000 - s2 // 5000 + 1), range(s2 // 5000, (e2 - 1) // 5000 + 1))
    assert edge_set(graph) == want
    # the 10 kb x 10 kb loop chr9:4,790,000-4,800,000 x 4,980,000-4,990,000 gives 2 x 2 bin pairs
    assert {(958, 996), (958, 997), (959, 996), (959, 997)} <= want
    # the 98 Mb loop to chr9:103,025,000 is beyond max_distance and dropped
    assert graph[935:940].nnz == 0 and graph.nnz == 2 * 16


def _called_rows(dump: pd.DataFrame) -> pd.DataFrame:
    """A HiCDCPlus-like table from real pixels with deterministic q-values."""
    rng = np.random.default_rng(7)
    rows = dump[(dump.bin2 - dump.bin1 <= 450)].sample(20_000, random_state=1).sort_values(["bin1", "bin2"])
    return rows.assign(q=rng.uniform(0, 0.3, len(rows)))


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_NONNUMERIC], ids=["plain", "R-quoted"])
def test_hicdcplus_headered_table_reads_by_name(tmp_path, dump, quoting):
    rows = _called_rows(dump)
    s1, s2 = rows.bin1 * 5000, rows.bin2 * 5000
    table = pd.DataFrame({"chrI": "chr22", "startI": s1, "endI": s1 + 5000, "chrJ": "chr22", "startJ": s2,
                          "endJ": s2 + 5000, "D": s2 - s1, "counts": rows["count"], "pvalue": rows.q / 10,
                          "qvalue": rows.q, "mu": 1.0, "sdev": 1.0})
    path = tmp_path / "K562_HiC_FDR_1_chr22"
    table.to_csv(path, sep="\t", index=False, quoting=quoting)
    graph = build_graphs(path, "hicdcplus", {"chr22": CHR22}, ["chr22"], fdr=0.1)["chr22"]
    keep = rows[rows.q <= 0.1]
    assert graph.shape == (N22, N22) and edge_set(graph) == expected_edges(keep.bin1, keep.bin2)


def test_hicdcplus_legacy_headerless_with_one_based_starts(tmp_path, dump):
    rows = _called_rows(dump)
    path = tmp_path / "legacy_{chrom}.txt"
    pd.DataFrame({"chr": "chr22", "start_i": rows.bin1 * 5000 + 1, "start_j": rows.bin2 * 5000 + 1,
                  "qval": rows.q, "count": rows["count"]}).to_csv(str(path).format(chrom="chr22"), sep="\t",
                                                                    header=False, index=False)
    graph = build_graphs(str(path), "hicdcplus", {"chr22": CHR22}, ["chr22"], fdr=0.01)["chr22"]
    keep = rows[rows.q <= 0.01]
    assert edge_set(graph) == expected_edges(keep.bin1, keep.bin2)


def test_one_based_starts_map_to_the_same_bins_as_zero_based(tmp_path):
    """GRanges start 5001 (1-based) is bin 1, like 0-based 5000; start 1 is bin 0."""
    starts = np.arange(30) * 5000
    graphs = []
    for shift in (0, 1):
        table = pd.DataFrame({"chrI": "chr1", "startI": starts + shift, "endI": starts + 5000, "chrJ": "chr1",
                              "startJ": starts + 10_000 + shift, "endJ": starts + 15_000, "qvalue": 0.01})
        path = tmp_path / f"shift{shift}.tsv"
        table.to_csv(path, sep="\t", index=False)
        graphs.append(build_graphs(path, "hicdcplus", {"chr1": 200_000}, ["chr1"])["chr1"])
    assert edge_set(graphs[0]) == edge_set(graphs[1]) == expected_edges(np.arange(30), np.arange(30) + 2)
