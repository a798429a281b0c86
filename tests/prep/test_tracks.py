"""Binning bigWig/bedGraph tracks: real K562 and hg38 files vs per-base recomputation; bad intervals."""
from __future__ import annotations

import numpy as np
import pyBigWig
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.tracks import TrackFile, bin_intervals, bin_track, log2p1, normalise, upstream_minmax

from .prep_factories import per_base_bins, write_bigwig

K562 = "hg19_K562_chr9_4-6Mb"


@pytest.mark.parametrize("mark", ["H3K27ac", "H3K27me3", "RNA"])
def test_k562_chr9_bins_match_intervals(realdata, mark):
    path = realdata / K562 / f"bigwig_chr9_4000000_6000000_K562_{mark}.bigwig"
    bw = pyBigWig.open(str(path))
    length = bw.chroms("chr9")
    ivs = bw.intervals("chr9")
    lo, hi = 3_990_000, 6_010_000  # the file's data lie in 4-6 Mb
    ref = per_base_bins(ivs, lo, hi, 100)
    with TrackFile(path) as track:
        for stat in ("sum", "mean", "max"):
            got = bin_track(track, "chr9", length, bin_size=100, stat=stat)
            assert got.shape == (-(-length // 100),)
            np.testing.assert_allclose(got[lo // 100 : hi // 100], ref[stat], rtol=1e-5, atol=1e-4)
            outside = np.r_[got[: lo // 100], got[hi // 100 :]]
            assert not outside.any()
        total = bin_track(track, "chr9", length, stat="sum").sum(dtype=np.float64)
    assert total == pytest.approx(sum((e - s) * v for s, e, v in ivs), rel=1e-5)
    # and pyBigWig's own exact statistics agree on a few bins with data
    got = bin_track(TrackFile(path), "chr9", length, stat="sum")
    for i in np.flatnonzero(got)[::997][:10]:
        assert got[i] == pytest.approx(bw.stats("chr9", int(i) * 100, int(i) * 100 + 100, type="sum", exact=True)[0],
                                       rel=1e-5)


def test_hg38_chr22_element_counts_to_5kb(realdata):
    folder = realdata / "hg38_K562_chr22" / "activity"
    for path in sorted(folder.glob("*.element_counts.chr22.DERIVED.bw")):
        bw = pyBigWig.open(str(path))
        length = bw.chroms("chr22")
        ivs = bw.intervals("chr22")
        ref = np.zeros(-(-length // 5000))
        for s, e, v in ivs:  # split each element's area over the 5 kb bins it touches
            for b in range(s // 5000, (e - 1) // 5000 + 1):
                ref[b] += v * (min(e, (b + 1) * 5000) - max(s, b * 5000))
        with TrackFile(path) as track:
            got = bin_track(track, "chr22", length, bin_size=5000, stat="sum")
        np.testing.assert_allclose(got, ref, rtol=1e-5)
        assert got.sum() > 0


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_bin_intervals_property(data):
    bin_size = data.draw(st.sampled_from([1, 7, 100]))
    n = data.draw(st.integers(0, 30))
    spans = data.draw(st.lists(st.integers(1, 250), min_size=n, max_size=n))
    gaps = data.draw(st.lists(st.integers(0, 250), min_size=n, max_size=n))
    vals = data.draw(st.lists(st.floats(-5, 50, allow_nan=False), min_size=n, max_size=n))
    starts = np.cumsum(np.array(gaps, dtype=np.int64) + spans) - np.array(spans, dtype=np.int64)
    ends = starts + spans
    length = int(ends.max() + 17) if n else 50
    ref = per_base_bins(list(zip(starts, ends, vals)), 0, length, bin_size)
    n_bins = -(-length // bin_size)
    for stat in ("sum", "mean", "max"):
        got = bin_intervals(starts, ends, np.array(vals, dtype=np.float64), 0, n_bins, bin_size, stat)
        np.testing.assert_allclose(got, ref[stat], rtol=1e-9, atol=1e-9)


def test_bedgraph_reads_like_bigwig(tmp_path, realdata):
    src = realdata / "hg38_K562_chr22" / "activity" / "Enhancers.DHS.ENCFF860XAE.chr22.sorted.se.bam.CountReads.bedgraph"
    rows = [line.split() for line in src.read_text().splitlines()]
    ivs = [(int(s), int(e), float(v)) for _, s, e, v in rows]
    ref = per_base_bins(ivs, 10_000_000, 12_000_000, 100)["sum"]
    track = TrackFile(src)
    assert track.chroms == {"chr22": None}
    got = bin_track(track, "chr22", 50_818_468, stat="sum")
    np.testing.assert_allclose(got[100_000:120_000], ref, rtol=1e-6)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([(100, 200, 1.0), (50, 80, 2.0)], "not sorted"),
        ([(100, 200, 1.0), (150, 300, 2.0)], "[100, 200) and [150, 300)"),
        ([(100, 100, 1.0)], "empty or reversed"),
    ],
)
def test_bad_bedgraph_intervals_are_named(tmp_path, rows, message):
    path = tmp_path / "bad.bedgraph"
    path.write_text("".join(f"chr1\t{s}\t{e}\t{v}\n" for s, e, v in rows))
    with pytest.raises(InvalidInputError, match="chr1") as info:
        TrackFile(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_nan_policy(tmp_path):
    path = write_bigwig(tmp_path / "nan.bw", {"chr1": 1000}, {"chr1": [(0, 50, np.nan), (120, 180, 2.0)]})
    with TrackFile(path) as track:
        with pytest.raises(InvalidInputError, match=r"NaN value at \[0, 50\)") as info:
            bin_track(track, "chr1", 1000)
        assert "nan: zero" in str(info.value)
        got = bin_track(track, "chr1", 1000, nan="zero")
    np.testing.assert_allclose(got, [0, 120, 0, 0, 0, 0, 0, 0, 0, 0])


def test_not_a_bigwig(tmp_path):
    path = tmp_path / "x.bw"
    path.write_text("hello")
    with pytest.raises(InvalidInputError, match="not a readable bigWig"):
        TrackFile(path)


def test_normalisations():
    x = np.array([0.0, 1.0, 3.0, 1000.0], dtype=np.float32)
    np.testing.assert_allclose(log2p1(x), np.log2(x + 1))
    np.testing.assert_allclose(log2p1(x, clip=7), np.log2(np.minimum(x, 7) + 1))
    np.testing.assert_allclose(normalise(x, "raw"), x)
    logged = np.log2(np.array([1.0, 2.0, 4.0]) + 1)
    # upstream: (x - min of this chromosome) / (max on chr1 - min of this chromosome)
    np.testing.assert_allclose(upstream_minmax(logged, ref_max=4.0), (logged - logged[0]) / (4.0 - logged[0]))
    np.testing.assert_allclose(normalise(np.array([1.0, 2.0, 4.0]), "upstream_minmax", ref_max=4.0),
                               (logged - logged[0]) / (4.0 - logged[0]), rtol=1e-6)
    assert not upstream_minmax(np.ones(3), ref_max=1.0).any()
    with pytest.raises(InvalidInputError, match="normalisation"):
        normalise(x, "zscore")


@pytest.mark.parametrize("name, source, looks_like", [
    ("peaks.bedgraph", "hg38_K562_chr22/activity/macs2_peaks.narrowPeak", r"a peak file \(narrowPeak"),
    ("reads.bedgraph.gz", "reads/CTCF_SE_CTRL_chr22_50k.bed.gz", "a reads or intervals BED"),
])
def test_a_real_peak_or_reads_file_given_as_bedgraph_is_refused(realdata, tmp_path, name, source, looks_like):
    """Real files a user may take for a bedGraph: refused naming the line, what the file looks like and what to do."""
    import shutil

    path = tmp_path / name
    shutil.copyfile(realdata / source, path)
    with pytest.raises(InvalidInputError, match=rf"{name}, line 1: the value column holds .* looks like {looks_like}.*"
                                                 r"coverage bigWig"):
        TrackFile(path)
