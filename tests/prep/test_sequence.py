"""Indexed FASTA and one-hot encoding on the real hg19 chr17 slice."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.sequence import Fasta, build_fai, one_hot

from .prep_factories import write_fasta


def raw_sequence(path):
    lines = path.read_text().splitlines()
    return lines[0][1:], "".join(lines[1:])


def reference_one_hot(seq: str) -> np.ndarray:
    return np.array([[float(b == x) for x in "ACGT"] for b in seq.upper()], dtype=np.float32).reshape(-1, 4)


def test_chr17_slice_matches_raw_text(realdata):
    path = realdata / "genome" / "chr17.hg19.part.fa"
    name, seq = raw_sequence(path)
    fa = Fasta(path, write_index=False)  # never write into ../shared
    assert fa.chroms == {name: len(seq)} == {"chr17": 40_000}
    assert not path.with_name(path.name + ".fai").exists()
    for start, end in [(0, 1), (0, 60), (59, 61), (12_345, 17_890), (39_990, 40_000), (0, 40_000)]:
        assert fa.fetch("chr17", start, end) == seq[start:end].encode()
        np.testing.assert_array_equal(fa.one_hot("chr17", start, end), reference_one_hot(seq[start:end]))
    edge = fa.one_hot("chr17", -5, 5, dtype=np.uint8)
    assert edge.dtype == np.uint8 and not edge[:5].any()
    np.testing.assert_array_equal(edge[5:], reference_one_hot(seq[:5]))
    assert not fa.one_hot("chr17", 39_998, 40_010)[2:].any()


def test_index_is_written_atomically_and_reused(tmp_path):
    path = write_fasta(tmp_path / "x.fa", {"a": "ACGTN" * 30, "b": "ggcc" * 7}, width=7)
    fa = Fasta(path)
    fai = tmp_path / "x.fa.fai"
    assert fai.read_text().splitlines()[1].split("\t") == ["b", "28", str(fa.index["b"].offset), "7", "8"]
    assert not list(tmp_path.glob(".tmp-*")) and fai.stat().st_mode & 0o777 == 0o644
    assert Fasta(path).index == build_fai(path)
    assert fa.fetch("b", 5, 13) == b"gccggccg"
    np.testing.assert_array_equal(one_hot("ACGTNacgtx"), reference_one_hot("ACGTNACGTX"))


def test_ragged_fasta_is_refused(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_text(">a\nACGT\nAC\nACGT\n")
    with pytest.raises(InvalidInputError, match=r"line 4 \(a\): uneven line lengths"):
        Fasta(path)


def test_unknown_sequence(tmp_path):
    fa = Fasta(write_fasta(tmp_path / "x.fa", {"chr1": "ACGT"}))
    with pytest.raises(InvalidInputError, match="no sequence named 'chr2'"):
        fa.fetch("chr2", 0, 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text("ACGTNacgtn", min_size=1, max_size=300), st.integers(1, 80), st.data())
def test_fetch_property(tmp_path, seq, width, data):
    path = write_fasta(tmp_path / f"p{width}.fa", {"x": seq, "y": seq[::-1]}, width=width)
    fa = Fasta(path, write_index=False)
    start = data.draw(st.integers(-5, len(seq)))
    end = data.draw(st.integers(start, len(seq) + 5))
    inside = slice(max(0, start), max(0, end))
    assert fa.fetch("y", start, end) == seq[::-1][inside].encode()
    hot = fa.one_hot("x", start, end)
    assert hot.shape == (end - start, 4)
    n = len(seq[inside])
    np.testing.assert_array_equal(hot[max(0, -start) : max(0, -start) + n], reference_one_hot(seq[inside]))
    assert hot.sum() == sum(b in "ACGTacgt" for b in seq[inside])
