"""Motif reading, exact p-values and the two-strand scanner (graphreg_zoo.interpret.motifs)."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.errors import InvalidInputError, NotAvailableError
from graphreg_zoo.interpret import motifs as M

JASPAR = "motifs/JASPAR2024_CORE_vertebrates_latest.jaspar"
MEME = "motifs/JASPAR2024_CORE_vertebrates_latest.meme"


@pytest.fixture(scope="module")
def jaspar(request) -> list[M.Motif]:
    realdata = request.getfixturevalue("realdata")
    return M.read_motifs(realdata / JASPAR)


def _by_name(motifs: list[M.Motif], name: str) -> M.Motif:
    return next(m for m in motifs if m.name == name)


def _random_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 4, n).astype(np.uint8)


def _text(codes: np.ndarray) -> str:
    return "".join(np.array(list("ACGTN"))[codes])


def test_jaspar_and_meme_files_agree(jaspar, realdata):
    meme = M.read_motifs(realdata / MEME)
    assert len(jaspar) == len(meme) == 879
    assert [(m.matrix_id, m.name) for m in jaspar] == [(m.matrix_id, m.name) for m in meme]
    for a, b in zip(jaspar, meme):
        assert a.length == b.length
        np.testing.assert_allclose(a.pfm / a.pfm.sum(1, keepdims=True), b.pfm / b.pfm.sum(1, keepdims=True), atol=1e-4)
        np.testing.assert_allclose(b.pfm.sum(1), b.pfm.sum(1)[0], rtol=1e-5)  # MEME: probabilities x nsites
        assert a.pfm[0].sum() == pytest.approx(b.pfm.sum(1)[0], rel=0.01)  # nsites ~ first column count
    gata1 = _by_name(jaspar, "GATA1")
    assert gata1.matrix_id == "MA0035.5"
    np.testing.assert_allclose(gata1.log_odds(), np.log2(gata1.probabilities() / 0.25))


def test_write_jaspar_round_trip(jaspar, tmp_path):
    chosen = jaspar[:5]
    M.write_jaspar(chosen, tmp_path / "few.jaspar")
    back = M.read_motifs(tmp_path / "few.jaspar")
    assert [m.name for m in back] == [m.name for m in chosen]
    for a, b in zip(back, chosen):
        np.testing.assert_allclose(a.pfm, b.pfm, atol=0.005)


def test_bad_motif_inputs(tmp_path):
    (tmp_path / "x.txt").write_text("hello\n")
    with pytest.raises(InvalidInputError):
        M.read_motifs(tmp_path / "x.txt")
    with pytest.raises(InvalidInputError):
        M.Motif("bad", "X", np.ones((3, 5)))
    with pytest.raises(InvalidInputError):
        M.score_model(M.Motif("m", "X", np.eye(4)), background=(1, 0, 0, 0))


def test_pyjaspar_is_optional():
    try:
        import pyjaspar  # noqa: F401
    except ImportError:
        with pytest.raises(NotAvailableError):
            M.from_pyjaspar()
    else:
        assert len(M.from_pyjaspar()) > 800


@pytest.mark.parametrize("name", ["Arnt", "GATA1"])
@pytest.mark.parametrize("background", [(0.25, 0.25, 0.25, 0.25), (0.3, 0.2, 0.2, 0.3)])
def test_pvalues_are_exact_by_enumeration(jaspar, name, background):
    motif = _by_name(jaspar, name)
    short = M.Motif(motif.name, motif.matrix_id, motif.pfm[:8])
    for strand in "+-":
        model = M.score_model(short, 1e-3, strand=strand, background=background)
        bg = np.asarray(background) / np.sum(background)
        words = np.array(list(itertools.product(range(4), repeat=short.length)))
        scores = model.pwm[np.arange(short.length), words].sum(1)
        weight = bg[words].prod(1)
        for s in np.unique(scores):
            assert model.pvalue(np.array([s]))[0] == pytest.approx(weight[scores >= s].sum(), rel=1e-9, abs=1e-15)
        above = scores >= model.threshold
        assert weight[above].sum() <= 1e-3
        below = scores[~above].max()
        assert weight[scores >= below].sum() > 1e-3


def _brute_force(codes: np.ndarray, motifs: list[M.Motif], pvalue: float, background) -> set[tuple]:
    """Every window scored directly (sliding windows, no filters)."""
    found = set()
    for motif in motifs:
        for strand in "+-":
            model = M.score_model(motif, pvalue, strand=strand, background=background)
            length = motif.length
            windows = np.lib.stride_tricks.sliding_window_view(codes, length)
            clean = (windows < 4).all(1)
            scores = model.pwm[np.arange(length), np.minimum(windows, 3)].sum(1)
            for start in np.flatnonzero(clean & (scores >= model.threshold)):
                found.add((int(start), motif.matrix_id, strand, int(scores[start])))
    return found


@pytest.mark.parametrize("background", [M.UNIFORM, (0.3, 0.2, 0.2, 0.3)])
def test_scanner_matches_brute_force(jaspar, rng, background):
    codes = _random_codes(rng, 30_000)
    codes[1000:1040] = 4  # a run of N
    codes[rng.integers(0, len(codes), 50)] = 4
    long_ones = [m for m in jaspar if m.length >= 20][:6]
    chosen = list(rng.choice(np.array(jaspar, dtype=object), 40, replace=False)) + long_ones
    hits = M.scan(_text(codes), chosen, chrom="chrT", start=500, pvalue=1e-3, background=background)
    assert set(hits.columns) >= {"chrom", "start", "end", "motif", "score", "pvalue", "strand"}
    assert (hits["chrom"] == "chrT").all() and (hits["pvalue"] <= 1e-3).all()
    got = {(int(r.start) - 500, r.matrix_id, r.strand, round(r.score * M.SCALE)) for r in hits.itertuples()}
    expected = _brute_force(codes, chosen, 1e-3, background)
    assert len(expected) > 100
    assert got == expected
    lengths = {m.matrix_id: m.length for m in chosen}
    assert ((hits["end"] - hits["start"]) == hits["matrix_id"].map(lengths)).all()


def test_one_hot_input_and_blocks_give_the_same_hits(jaspar, rng, monkeypatch):
    codes = _random_codes(rng, 20_000)
    chosen = [_by_name(jaspar, n) for n in ("GATA1", "CTCF", "KLF1")]
    text_hits = M.scan(_text(codes), chosen, pvalue=1e-3)
    onehot = np.eye(4, dtype=np.float32)[codes]
    pd.testing.assert_frame_equal(text_hits, M.scan(onehot, chosen, pvalue=1e-3))
    monkeypatch.setattr(M, "_BLOCK", 3_000)
    pd.testing.assert_frame_equal(text_hits, M.scan(_text(codes).lower(), chosen, pvalue=1e-3))


def test_scanner_finds_planted_sites(jaspar, rng):
    codes = _random_codes(rng, 50_000)
    planted = []
    for k, name in enumerate(["GATA1", "CTCF", "KLF1", "NFE2"] * 3):
        motif = _by_name(jaspar, name)
        consensus = motif.pfm.argmax(1).astype(np.uint8)
        strand = "+-"[k % 2]
        site = 3 - consensus[::-1] if strand == "-" else consensus
        start = 2_000 + 4_000 * k
        codes[start : start + motif.length] = site
        planted.append((start, start + motif.length, name, strand))
    hits = M.scan(_text(codes), [_by_name(jaspar, n) for n in ("GATA1", "CTCF", "KLF1", "NFE2")], pvalue=1e-4)
    found = set(zip(hits["start"], hits["end"], hits["motif"], hits["strand"]))
    assert set(planted) <= found


def test_pvalues_match_the_empirical_distribution(jaspar):
    rng = np.random.default_rng(7)
    n = 400_000
    codes = _random_codes(rng, n)
    chosen = [_by_name(jaspar, n) for n in ("GATA1", "CTCF", "Spi1", "REST")]
    scanner = M.Scanner(chosen, 1e-3, both_strands=False)
    hits = scanner.scan(_text(codes))
    for motif in chosen:
        mine = hits[hits["matrix_id"] == motif.matrix_id]
        for alpha in (1e-3, 1e-4):
            model = M.score_model(motif, alpha)
            expected = (n - motif.length + 1) * model.pvalue(np.array([model.threshold]))[0]
            observed = (mine["pvalue"] <= alpha).sum()
            assert abs(observed - expected) <= 5 * np.sqrt(expected) + 2, (motif.name, alpha, observed, expected)


def test_read_hits_fimo_and_bed(tmp_path):
    fimo = tmp_path / "fimo.tsv"
    fimo.write_text(
        "motif_id\tmotif_alt_id\tsequence_name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched_sequence\n"
        "MA0035.5\tGATA1\tchr1\t101\t111\t+\t12.5\t1e-05\t0.2\tAAGATAAGGAA\n"
        "MA0139.2\tCTCF\tchr2:1000-2000\t5\t23\t-\t15.1\t2e-06\t0.1\tCCGCGNGGNGGCAG\n"
        "\n# FIMO (Find Individual Motif Occurrences): Version 5.5.5\n"
        "# The format of this file is described at https://x\n"
    )
    hits = M.read_hits(fimo)
    assert hits[["chrom", "start", "end", "motif", "strand"]].values.tolist() == [
        ["chr1", 100, 111, "GATA1", "+"],
        ["chr2", 1004, 1023, "CTCF", "-"],
    ]
    assert hits["pvalue"].tolist() == [1e-5, 2e-6]
    old = tmp_path / "fimo.txt"
    old.write_text(
        "#pattern name\tsequence name\tstart\tstop\tstrand\tscore\tp-value\tq-value\tmatched sequence\n"
        "MA0035.5\tchr3\t11\t21\t-\t9.0\t3e-05\t\tAAGATAAGGAA\n"
    )
    assert M.read_hits(old)[["chrom", "start", "end", "motif"]].values.tolist() == [["chr3", 10, 21, "MA0035.5"]]
    bed = tmp_path / "TF_positions_unique.bed"
    bed.write_text("chr1\t100\t111\tGATA1\t5\t+\nchr1\t300\t319\tCTCF\t4.5\t-\n")
    hits = M.read_hits(bed, bed_score="neglog10p")
    assert hits["motif"].tolist() == ["GATA1", "CTCF"]
    np.testing.assert_allclose(hits["pvalue"], [1e-5, 10**-4.5])
    assert M.read_hits(bed)["score"].tolist() == [5.0, 4.5]
    (tmp_path / "named.bed").write_text("chrom\tstart\tend\tname\nchr1\t1\t5\tX\n")
    assert M.read_hits(tmp_path / "named.bed")[["start", "end", "motif"]].values.tolist() == [[1, 5, "X"]]
    for bad in ("chr1\t10\t5\tX\n", "chr1\t1\t5\n", "", "chr1\tx\ty\tX\nchr1\ta\t5\tX\n"):
        (tmp_path / "bad.bed").write_text(bad)
        with pytest.raises(InvalidInputError):
            M.read_hits(tmp_path / "bad.bed")
