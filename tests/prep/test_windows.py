"""Window geometry (upstream padding, stride, last-window rule), window arrays, PyDataset, TFRecords."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphreg_zoo.prep.cell import CellData, prepare
from graphreg_zoo.prep.windows import (
    Window,
    cell_windows,
    make_dataset,
    read_upstream_tfrecord,
    window_arrays,
    window_starts,
    windows,
)

from .prep_factories import toy_cell


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("win")
    return CellData(prepare(toy_cell(tmp, np.random.default_rng(5)), tmp / "toy.h5", progress=False))


def upstream_loop(n_nodes):
    """The original data_write loop over padded rows, written out literally, with our one
    fix: `<= 400` flags the last window also when the node count is a multiple of 400."""
    n_rows, out, si = n_nodes + 1200, [], 600
    while si < n_rows - 600:
        out.append((si - 1200, n_rows - 600 - si <= 400))
        si += 400
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60_000))
def test_window_starts_property(n):
    starts = window_starts(n)
    assert [(w.start_node, w.is_last) for w in windows(n, "c")] == upstream_loop(n)
    assert starts[0] == -600 and all(b - a == 400 for a, b in zip(starts, starts[1:]))
    assert all(s + 1200 > 0 and s < n for s in starts)  # every window touches the chromosome
    covered = np.zeros(n + 1600, dtype=int)  # evaluated nodes (middles, and 400..1199 of the last window)
    for w in windows(n, "c"):
        a, b = w.middle
        covered[a + 600 : b + 600] += 1
    chrom = covered[600 : 600 + n]
    assert chrom.max() == 1  # middles never overlap
    flagged = sum(w.is_last for w in windows(n, "c"))
    assert flagged == 1 and chrom.all()  # the middles and the last window tile the chromosome


def test_geometry_examples():
    assert window_starts(1) == [-600]
    assert [w.middle for w in windows(1000, "c")] == [(-200, 200), (200, 600), (600, 1400)]
    w = windows(28_243, "chr9")  # hg19 chr9 at 5 kb
    assert len(w) == 71 and w[-1].is_last and w[-1].start_node == 27_400 and w[-2].middle == (27_400, 27_800)


def test_first_window_middle_holds_padding_then_nodes(cell):
    first = windows(cell.n_nodes("chr1"), "chr1")[0]
    arr = window_arrays(cell, first)
    assert first.start_node == -600
    np.testing.assert_array_equal(arr["node_start"][400:600], -1)
    np.testing.assert_array_equal(arr["node_start"][600:800], np.arange(200) * 5000)
    tracks = cell.tracks("chr1")
    np.testing.assert_array_equal(arr["epigenome"][30_000 : 30_000 + len(tracks)], tracks)
    assert not arr["epigenome"][:30_000].any() and not arr["epigenome"][30_000 + len(tracks) :].any()
    assert arr["epigenome"].shape == (60_000, 3) and arr["epigenome"].dtype == np.float32
    adj = arr["adjacency"]
    assert adj.shape == (1200, 1200) and adj[600, 605] == adj[605, 600] == 1 and adj.sum() == 6
    assert not np.diag(adj).any()
    assert arr["tss_count"][602] == 1 and arr["tss_count"].sum() == 3
    np.testing.assert_array_equal(arr["cage"][600:1070], cell.cage("chr1"))
    assert not arr["cage"][:600].any() and not arr["cage"][1070:].any()


def test_last_window_and_sequence(cell):
    last = windows(cell.n_nodes("chr1"), "chr1")[-1]
    assert last.is_last and last.start_node == -200 and last.middle == (200, 1000)
    arr = window_arrays(cell, last, kind="seq")
    n = cell.n_nodes("chr1")
    np.testing.assert_array_equal(arr["node_start"][200 : 200 + n], np.arange(n) * 5000)
    assert (arr["node_start"][200 + n :] == -1).all() and (arr["node_start"][:200] == -1).all()
    np.testing.assert_array_equal(arr["adjacency"][200:, 200:][:n, :n], cell.graph("chr1").toarray())
    seq = arr["sequence"]
    assert seq.shape == (6_000_000, 4) and not seq[:1_000_000].any()
    np.testing.assert_array_equal(seq[1_000_000 : 1_000_000 + 2_345_678], cell.sequence("chr1", 0, 2_345_678))
    assert not seq[1_000_000 + 2_345_678 :].any()
    only = windows(cell.n_nodes("chr2"), "chr2")
    assert [(w.start_node, w.is_last) for w in only] == [(-600, True)] and only[0].middle == (-200, 600)


def test_skip_without_tss(cell):
    all_windows = cell_windows(cell, ["chr1", "chr2"])
    kept = cell_windows(cell, ["chr1", "chr2"], skip_without_tss=True)
    assert [(w.chrom, w.start_node) for w in all_windows] == [("chr1", -600), ("chr1", -200), ("chr2", -600)]
    # TSS nodes: chr1 2 and 199 (first middle [-200, 200)), chr2 100 (first middle)
    assert [(w.chrom, w.start_node) for w in kept] == [("chr1", -600), ("chr2", -600)]


def test_make_dataset(cell):
    ds = make_dataset(cell, ["chr1", "chr2"], batch_size=2)
    assert make_dataset(cell, ["chr2"], kind="seq")[0][0]["sequence"].shape == (1, 6_000_000, 4)
    assert len(ds) == 2
    x, y = ds[0]
    assert set(x) == {"epigenome", "adjacency"} and set(y) == {"cage"}
    assert x["epigenome"].shape == (2, 60_000, 3) and x["adjacency"].shape == (2, 1200, 1200)
    assert y["cage"].shape == (2, 1200) and ds[1][1]["cage"].shape == (1, 1200)
    np.testing.assert_array_equal(x["epigenome"][1], window_arrays(cell, ds.windows[1])["epigenome"])
    info = ds.info(0)
    assert info["tss_count"].shape == (2, 1200) and info["windows"][0] == Window("chr1", -600, False, 0)
    shuffled = make_dataset(str(cell.path), ["chr1", "chr2"], shuffle=True, seed=3)
    order = list(shuffled.windows)
    assert sorted(order, key=lambda w: (w.chrom, w.start_node)) == ds.windows
    shuffled.on_epoch_end()
    assert sorted(shuffled.windows, key=lambda w: (w.chrom, w.start_node)) == ds.windows
    assert [w.start_node for w in make_dataset(cell, ["chr1", "chr2"], shuffle=True, seed=3).windows] == [
        w.start_node for w in order]


def test_upstream_tfrecord_roundtrip(tmp_path, rng):
    tf = pytest.importorskip("tensorflow")
    x = rng.random((60_000, 3)).astype(np.float16)
    adj = (rng.random((1200, 1200)) < 0.01).astype(np.float16)
    y = rng.integers(0, 5, (1200, 50)).astype(np.float16)
    tss = (rng.random(1200) < 0.05).astype(np.float16)
    bins = np.zeros(1200, dtype=np.int64)
    bins[600:] = np.arange(600) * 5000  # first window: 600 padding rows, then nodes 0..599
    seq = np.eye(4)[rng.integers(0, 4, 6_000_000)].astype(np.float64)

    def feature(b):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[b]))

    path = tmp_path / "tfr_seq_K562_HiChIP_FDR_1_chr1.tfr"
    with tf.io.TFRecordWriter(str(path), options=tf.io.TFRecordOptions(compression_type="ZLIB")) as writer:
        for last in (0, 1):
            ex = tf.train.Example(features=tf.train.Features(feature={
                "last_batch": tf.train.Feature(int64_list=tf.train.Int64List(value=[last])),
                "adj": feature(adj.tobytes()), "X_1d": feature(x.reshape(1200, 50, 3).tobytes()),
                "Y": feature(y.tobytes()), "tss_idx": feature(tss.tobytes()), "bin_idx": feature(bins.tobytes()),
                **({"sequence": feature(seq.tobytes())} if last else {}),
            }))
            writer.write(ex.SerializeToString())
    records = list(read_upstream_tfrecord(path))
    assert [r["is_last"] for r in records] == [False, True]
    r = records[1]
    np.testing.assert_array_equal(r["epigenome"], x.astype(np.float32))
    np.testing.assert_array_equal(r["adjacency"], adj.astype(np.float32))
    np.testing.assert_array_equal(r["cage"], y.astype(np.float32).sum(1))
    np.testing.assert_array_equal(r["tss_count"], tss.astype(np.float32))
    np.testing.assert_array_equal(r["node_start"][:600], -1)
    np.testing.assert_array_equal(r["node_start"][600:], np.arange(600) * 5000)
    np.testing.assert_array_equal(r["sequence"], seq.astype(np.float32))
    assert "sequence" not in records[0]


def test_prep_imports_no_keras():
    code = ("import sys, graphreg_zoo.prep.windows, graphreg_zoo.prep.cell, graphreg_zoo.prep.contacts.calling; "
            "bad = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
