"""Pairs files (HiC-Pro allValidPairs, 4DN .pairs) -> 5 kb pixels -> caller -> graph; counted independently."""
from __future__ import annotations

import gzip
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.contacts import pairs as pairs_module
from graphreg_zoo.prep.contacts.calling import build_graphs, call_table
from graphreg_zoo.prep.contacts.pairs import read_pairs

VALID_PAIRS = "reads/dSRR3467178_allValidPairs.gz"
PAIRS_4DN = "reads/pairs_chr9_4000000_6000000.pairs"
HG19_CHR22 = 51_304_566


def independent_count(path, c1, p1, c2, p2, chrom, resolution=5000, max_distance=2_000_000) -> dict:
    """Pixel counts with plain Python: 1-based positions, upper triangle, within max_distance."""
    opener = gzip.open if str(path).endswith(".gz") else open
    counts: Counter = Counter()
    with opener(path, "rt") as fh:
        for line in fh:
            f = line.split()
            if not f or f[0].startswith("#") or f[c1] != chrom or f[c2] != chrom:
                continue
            a, b = sorted(((int(f[p1]) - 1) // resolution, (int(f[p2]) - 1) // resolution))
            if b - a <= max_distance // resolution:
                counts[(a, b)] += 1
    return dict(counts)


def as_dict(px: pd.DataFrame) -> dict:
    return {(int(a), int(b)): int(c) for a, b, c in px[["bin1", "bin2", "count"]].itertuples(index=False)}


def test_allvalidpairs_pixels_match_an_independent_count(realdata):
    pixels, sizes = read_pairs(str(realdata / VALID_PAIRS), ["chr22"], 5000, 2_000_000, "hicpro")
    want = independent_count(realdata / VALID_PAIRS, 1, 2, 4, 5, "chr22")
    assert as_dict(pixels["chr22"]) == want
    assert sum(want.values()) == 15_640 and len(want) == 14_231  # the documented counts
    assert sizes == {}


def test_4dn_pairs_pixels_match_an_independent_count(realdata):
    pixels, _ = read_pairs(str(realdata / PAIRS_4DN), ["chr9"], 5000, 2_000_000, "pairs")
    want = independent_count(realdata / PAIRS_4DN, 1, 2, 3, 4, "chr9")
    assert as_dict(pixels["chr9"]) == want and len(want) == 21


def test_streams_in_chunks(realdata, monkeypatch):
    """Small chunks and compactions give the same pixels: nothing depends on holding the file."""
    whole, _ = read_pairs(str(realdata / VALID_PAIRS), ["chr22"], 5000, 2_000_000, "hicpro")
    monkeypatch.setattr(pairs_module, "_CHUNK_ROWS", 1000)
    monkeypatch.setattr(pairs_module, "_COMPACT_AT", 3000)
    chunked, _ = read_pairs(str(realdata / VALID_PAIRS), ["chr22"], 5000, 2_000_000, "hicpro")
    pd.testing.assert_frame_equal(whole["chr22"], chunked["chr22"])


def test_plain_text_whitespace_and_4dn_columns_header(tmp_path, realdata):
    """Uncompressed, space-separated, with a `#columns:` header reordering the fields and `#chromsize:`."""
    path = tmp_path / "reordered.pairs"
    lines = ["## pairs format v1.0", "#chromsize: chr9 138394717", "#columns: readID pos1 chr1 strand1 pos2 chr2 strand2"]
    for f in (line.split() for line in open(realdata / PAIRS_4DN) if not line.startswith("#")):
        lines.append(f"{f[0]}  {f[2]} {f[1]}\t{f[5]} {f[4]}   {f[3]} {f[6]}")
    path.write_text("\n".join(lines) + "\n")
    pixels, sizes = read_pairs(str(path), ["chr9"], 5000, 2_000_000, "pairs")
    assert as_dict(pixels["chr9"]) == independent_count(realdata / PAIRS_4DN, 1, 2, 3, 4, "chr9")
    assert sizes == {"chr9": 138394717}


def test_graph_from_pairs(realdata):
    graphs = build_graphs(str(realdata / VALID_PAIRS), "hicpro", {"chr22": HG19_CHR22}, ["chr22"], min_count=2)
    pixels, _ = read_pairs(str(realdata / VALID_PAIRS), ["chr22"], 5000, 2_000_000, "hicpro")
    strong = pixels["chr22"][(pixels["chr22"]["count"] >= 2) & (pixels["chr22"]["bin1"] != pixels["chr22"]["bin2"])]
    assert graphs["chr22"].nnz == 2 * len(strong) > 0


def test_call_table_from_pairs_runs_the_caller(realdata):
    table = call_table(str(realdata / VALID_PAIRS), "hicpro", ["chr22"], chrom_sizes={"chr22": HG19_CHR22}, fdr=1.0)
    assert len(table) > 0 and set(table["chrI"]) == {"chr22"}
    assert (table["qvalue"] <= 1.0).all() and table["counts"].sum() > 0


@pytest.mark.parametrize("fmt, content, needle", [
    ("hicpro", None, "use format 'pairs'"),  # the 4DN file read as HiC-Pro
    ("pairs", "r1 chr9 + 100 chr9 - 200\n", "unknown column layout"),
    ("pairs", "## pairs format v1.0\n#columns: readID chrom1 pos1 chrom2 pos2\nr1 chr9 1 chr9 2\n", "lacks chr1"),
])
def test_unknown_layout_refused(realdata, tmp_path, fmt, content, needle):
    path = realdata / PAIRS_4DN
    if content is not None:
        path = tmp_path / "bad.pairs"
        path.write_text(content)
    with pytest.raises(InvalidInputError, match=needle) as info:
        read_pairs(str(path), ["chr9"], 5000, 2_000_000, fmt)
    assert str(path) in str(info.value) and "line" in str(info.value)


def test_call_contacts_cli_reads_pairs(cli, realdata, tmp_path):
    out = tmp_path / "calls.tsv"
    code, stdout, stderr = cli("call-contacts", realdata / VALID_PAIRS, "-f", "hicpro", "-c", "chr22", "--fdr", "1",
                               "-o", out)
    assert code == 0, stderr
    assert "chr22:" in stdout and pd.read_csv(out, sep="\t")["counts"].sum() > 0


def test_call_contacts_unknown_layout_exits_4(cli, realdata, tmp_path):
    code, _, stderr = cli("call-contacts", realdata / PAIRS_4DN, "-f", "hicpro", "-c", "chr9", "-o", tmp_path / "x.tsv")
    assert code == 4 and "unknown column layout" in stderr and not (tmp_path / "x.tsv").exists()


def test_prepare_with_pairs_graph_and_reads_tracks(cli, realdata, tmp_path):
    """A whole hg19 chr22 cell from what a user has: single-end reads and HiChIP pairs."""
    from graphreg_zoo.prep.cell import CellData

    (tmp_path / "tss.bed").write_text("chr22\t20000000\t20000500\tGENEA\t0\t+\n")
    bed = str(realdata / "reads/CTCF_SE_CTRL_chr22_50k.bed.gz")
    spec = {"genome": "hg19", "chromosomes": ["chr22"], "genes": "tss.bed",
            "tracks": {n: {"path": bed, "stat": "max", "reads": {"extend_reads": 200}}
                       for n in ("h3k4me3", "h3k27ac", "dnase")},
            "graph": {"format": "hicpro", "path": str(realdata / VALID_PAIRS), "min_count": 2}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    code, _, stderr = cli("prepare", tmp_path / "spec.yaml", "-o", tmp_path / "cell.h5", "--quiet")
    assert code == 0, stderr
    graph = CellData(tmp_path / "cell.h5").graph("chr22")
    want = build_graphs(str(realdata / VALID_PAIRS), "hicpro", {"chr22": HG19_CHR22}, ["chr22"], min_count=2)
    assert (graph != want["chr22"]).nnz == 0 and graph.nnz > 0
    assert np.isfinite(CellData(tmp_path / "cell.h5").tracks("chr22")).all()


def test_buffered_pixels_follow_distinct_pixels_not_pairs_read():
    """A genome-wide file spreads its pairs over many chromosomes, none of which may reach the merge cap
    alone: the buffers merge on the pending total, so memory stays near the distinct pixels (the 200 M-pair
    extrapolation in docs/performance.md). Counts are exact."""
    from collections import Counter

    from graphreg_zoo.prep.contacts.pairs import PixelBuffers

    rng = np.random.default_rng(3)
    chroms = [f"chr{i}" for i in range(1, 6)]
    buffers, expected, cap = PixelBuffers(chroms, cap=1000), {c: Counter() for c in chroms}, 1000
    largest = 0
    for _ in range(200):
        for chrom in chroms:
            raw = rng.integers(0, 100, size=80)  # 100 distinct pixels per chromosome
            keys, counts = np.unique(raw, return_counts=True)
            expected[chrom].update(raw.tolist())
            largest = max(largest, keys.size)
            buffers.add(chrom, keys.astype(np.int64), counts)
    distinct = sum(len(c) for c in expected.values())
    assert buffers.peak <= distinct + cap + largest
    for chrom in chroms:
        keys, counts = pairs_module._compact(buffers.parts[chrom])
        assert dict(zip(keys.tolist(), counts.tolist())) == dict(expected[chrom])
