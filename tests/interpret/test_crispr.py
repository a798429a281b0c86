"""CRISPRi enhancer validation: PR metrics, table readers, ABC join, element scoring, reports."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphreg_zoo
from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.interpret.crispr import (
    SCHEMA,
    attach_abc_scores,
    element_score,
    read_crispr_table,
    score_elements,
    validate,
    validate_enhancers,
)
from graphreg_zoo.interpret.prcurve import auprc, average_precision, precision_at_recall, precision_recall_curve

CHR22 = "hg38_K562_chr22"
BENCHMARK = f"{CHR22}/crispr/EPCrisprBenchmark_ensemble_data_GRCh38.tsv.gz"
ABC = f"{CHR22}/abc_baseline/EnhancerPredictionsFull_threshold0.027_self_promoter.tsv"


# ---------------------------------------------------------------- PR metrics
def test_pr_curve_matches_sklearn_documented_example():
    # sklearn's docstring example for precision_recall_curve / average_precision_score
    y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    curve = precision_recall_curve(y, s)
    np.testing.assert_allclose(curve.precision, [0.5, 2 / 3, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(curve.recall, [1.0, 1.0, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(curve.thresholds, [0.1, 0.35, 0.4, 0.8])
    assert average_precision(y, s) == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    # trapezoids: (0,1)-(0.5,1) = 0.5; (0.5,0.5)-(1,2/3) = 0.5 * (0.5 + 2/3) / 2
    assert auprc(y, s) == pytest.approx(0.5 + 0.5 * (0.5 + 2 / 3) / 2)
    # recall >= 0.7 first reached at recall 1: best precision there is 2/3
    assert precision_at_recall(y, s, 0.7) == pytest.approx(2 / 3)
    assert precision_at_recall(y, s, 0.5) == pytest.approx(1.0)


def test_tied_scores_enter_together_and_no_positives_is_nan():
    assert average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert auprc([1, 0], [0.5, 0.5]) == pytest.approx(0.75)
    assert average_precision([1, 0, 0], [-np.inf, -np.inf, 1.0]) == pytest.approx(1 / 3)
    assert math.isnan(average_precision([0, 0], [1.0, 2.0]))
    assert math.isnan(precision_at_recall([0, 0], [1.0, 2.0]))
    with pytest.raises(ValueError):
        average_precision([1, 0], [np.nan, 1.0])


def _brute_force(y: np.ndarray, s: np.ndarray, min_recall: float) -> tuple[float, float, float]:
    """Straight from the definitions: one PR point per distinct threshold, high to low."""
    points = []
    for t in sorted(set(s.tolist()), reverse=True):
        called = s >= t
        tp = np.sum(y & called)
        points.append((tp / y.sum(), tp / called.sum()))
    ap = sum((r - r_prev) * p for (r, p), (r_prev, _) in zip(points, [(0.0, 1.0)] + points))
    xs, ys = zip(*([(0.0, 1.0)] + points))
    area = sum((xs[i] - xs[i - 1]) * (ys[i] + ys[i - 1]) / 2 for i in range(1, len(xs)))
    reached = [(r, p) for r, p in points if r >= min_recall]
    cutoff = min(r for r, _ in reached)
    return ap, area, max(p for r, p in reached if r == cutoff)


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=1, max_size=30),
    min_recall=st.sampled_from([0.1, 0.5, 0.7, 1.0]),
)
def test_pr_metrics_match_brute_force(data, min_recall):
    y = np.array([d[0] for d in data])
    s = np.array([d[1] for d in data], dtype=float) / 3  # few distinct values: many ties
    if not y.any():
        y[0] = True
    ap, area, p_at_r = _brute_force(y, s, min_recall)
    assert average_precision(y, s) == pytest.approx(ap)
    assert auprc(y, s) == pytest.approx(area)
    assert precision_at_recall(y, s, min_recall) == pytest.approx(p_at_r)


# ---------------------------------------------------------------- readers
@pytest.fixture(scope="module")
def benchmark(realdata):
    return read_crispr_table(realdata / BENCHMARK)


def test_reads_the_encode_benchmark(benchmark):
    assert list(benchmark.columns) == list(SCHEMA)
    assert len(benchmark) == 10_412
    assert benchmark["regulated"].dtype == bool
    assert benchmark["regulated"].sum() == 487
    chr22 = benchmark[benchmark["chrom"] == "chr22"]
    assert (len(chr22), chr22["regulated"].sum(), chr22["gene"].nunique()) == (101, 7, 44)
    mid = (chr22["start"] + chr22["end"]) / 2
    np.testing.assert_allclose(chr22["distance"], (mid - chr22["tss"]).abs())


def test_fulco_format_parses_to_the_same_schema(tmp_path):
    raw = pd.DataFrame({
        "chr": ["chr8", "chr8", "chr8", "chr8"],
        "start": [100, 1000, 5000, 9000],
        "end": [600, 1500, 5500, 9400],
        "class": ["intergenic", "genic", "promoter", "intergenic"],
        "Gene": ["MYC", "MYC", "MYC", "PVT1"],
        "Gene.TSS": [3000, 3000, 3000, 12000],
        "Reference": ["Fulco2019"] * 4,
        "Fraction.change.in.gene.expr": [-0.3, 0.2, -0.05, -0.4],
        "ABC.Score": [0.1, 0.0, 0.5, 0.02],
        "Significant": ["TRUE", "TRUE", "FALSE", "TRUE"],
    })
    path = tmp_path / "FlowFISH_results.csv"
    raw.to_csv(path, index=False)
    table = read_crispr_table(path)
    assert list(table.columns) == [*SCHEMA, "abc_score"]
    assert table["regulated"].tolist() == [True, False, False, True]  # significant and effect < 0
    assert table["distance"].tolist() == [2650.0, 1750.0, 2250.0, 2800.0]
    assert table["abc_score"].tolist() == [0.1, 0.0, 0.5, 0.02]
    assert read_crispr_table(path, fmt="fulco").equals(table)


def test_unknown_format_is_invalid_input(tmp_path):
    path = tmp_path / "x.tsv"
    pd.DataFrame({"a": [1], "b": [2]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(InvalidInputError, match="EPCrisprBenchmark"):
        read_crispr_table(path)
    with pytest.raises(InvalidInputError, match="format"):
        read_crispr_table(path, fmt="excel")


# ---------------------------------------------------------------- baselines on real data
def test_distance_baseline_on_the_whole_file_and_chr22(benchmark):
    whole = validate(benchmark, ["distance"]).pooled.set_index("subset").loc["all pairs"]
    # 81 pairs of one gene have no TSS; SCIENCE.md quotes AP 0.438 on the (different) training_K562 file
    assert (whole["n_pairs"], whole["n_positives"]) == (10_331, 487)
    assert 0.2 < whole["average_precision"] < 0.7
    assert 0.2 < whole["precision_at_recall"] < 0.7
    chr22 = validate(benchmark[benchmark["chrom"] == "chr22"], ["distance"]).pooled.iloc[0]
    assert chr22["n_pairs"] == 101 and chr22["n_positives"] == 7
    assert 3 * chr22["prevalence"] < chr22["average_precision"] < 0.9


def test_abc_join_on_chr22(benchmark, realdata):
    chr22 = benchmark[benchmark["chrom"] == "chr22"]
    joined = attach_abc_scores(chr22, realdata / ABC)
    assert len(joined) == 101
    covered = joined["abc_score"].notna()
    # the file keeps ABC >= 0.027 only: 5 of 101 pairs (4 of 7 positives) have an overlapping prediction
    assert (covered.sum(), (covered & joined["regulated"]).sum()) == (5, 4)
    assert (joined.loc[covered, "abc_score"] >= 0.027).all()
    report = validate(joined, ["distance", "abc"])  # a pair the ABC file does not list is ABC 0, not unrated
    assert report.pooled.set_index("score").loc["abc", "n_scored"] == 101 and report.unscorable.empty


def test_a_score_equal_to_distance_gets_distance_ap_despite_unscorable_genes(benchmark, tmp_path):
    """Genes a model cannot rate (NaN) were ranked last and per-gene means taken over different genes,
    so a copy of distance scored below distance; every score is now measured on the same pairs."""
    from graphreg_zoo.interpret._crispr_report import markdown

    pairs = benchmark[benchmark["chrom"].isin(["chr8", "chr11", "chr12"])].dropna(subset=["tss"]).copy()
    genes = sorted(pairs["gene"].unique())
    unrated = pairs["gene"].isin(genes[::3])  # a third of the genes: not in the model's cell, say
    pairs["copy"] = np.where(unrated, np.nan, -pairs["distance"])
    report = validate(pairs, ["copy", "distance"])
    pooled = report.pooled.set_index(["subset", "score"])
    for subset in ("all pairs", "kept genes"):
        assert pooled.loc[(subset, "copy"), "average_precision"] == pooled.loc[(subset, "distance"),
                                                                               "average_precision"]
        assert pooled.loc[(subset, "copy"), "n_pairs"] == int((~unrated).sum()) if subset == "all pairs" else True
    summary = report.summary().set_index("score")
    assert summary.loc["copy", "n_genes"] == summary.loc["distance", "n_genes"] > 0
    assert summary.loc["copy", "average_precision"] == summary.loc["distance", "average_precision"]
    assert len(report.unscorable) == int(unrated.sum()) and set(report.unscorable["unscored_by"]) == {"copy"}
    assert f"{int(unrated.sum())} pairs" in markdown(report) and "copy " in markdown(report)


# ---------------------------------------------------------------- element scoring
def test_element_score_window_and_gene_max():
    coords = np.arange(0, 20_000, 100)
    scores = np.zeros(coords.size)
    scores[50], scores[150] = 2.0, 4.0  # peaks at 5,000 and 15,000 bp
    assert element_score(coords, scores, 5_050, L=40) == pytest.approx(0.5)
    assert element_score(coords, scores, 5_050 + 4_000, L=40) == pytest.approx(0.5)  # bin 90: edge
    assert element_score(coords, scores, 5_050 + 4_100, L=40) == 0.0
    assert element_score(coords, scores, 15_000, L=0) == pytest.approx(1.0)
    assert math.isnan(element_score(coords, scores, 25_000))
    assert math.isnan(element_score(coords, np.zeros(coords.size), 5_000))


def test_score_elements_uses_the_lookup_per_gene():
    pairs = pd.DataFrame({"chrom": ["chr1"] * 3, "start": [4_800, 14_800, 4_800], "end": [5_300, 15_300, 5_300],
                          "gene": ["A", "A", "B"]})
    coords = np.arange(0, 20_000, 100)
    track = np.zeros(coords.size)
    track[50], track[150] = 1.0, 2.0
    calls = []

    def lookup(gene, chrom):
        calls.append((gene, chrom))
        return (coords, track) if gene == "A" else None

    scored = score_elements(pairs, lookup)
    assert sorted(calls) == [("A", "chr1"), ("B", "chr1")]
    np.testing.assert_allclose(scored["graphreg"].to_numpy(), [0.5, 1.0, np.nan])
    assert "graphreg" not in pairs


# ---------------------------------------------------------------- validate / report
def _synthetic_pairs(rng: np.random.Generator, n_genes: int = 6, per_gene: int = 12) -> pd.DataFrame:
    rows = []
    for g in range(n_genes):
        tss = 1_000_000 * (g + 1)
        for k in range(per_gene):
            start = tss + int(rng.integers(-200_000, 200_000))
            rows.append({"chrom": "chr1", "start": start, "end": start + 500, "gene": f"G{g}", "tss": float(tss),
                         "effect": -0.3 if k < 2 else 0.01, "regulated": k < 2 and g != 0})
    pairs = pd.DataFrame(rows)
    pairs["distance"] = ((pairs["start"] + pairs["end"]) / 2 - pairs["tss"]).abs()
    return pairs


def test_validate_filters_genes_and_skips_absent_scores(rng):
    pairs = _synthetic_pairs(rng)
    pairs["oracle"] = pairs["regulated"].astype(float)
    report = validate(pairs, ["oracle", "distance", "abc"], min_candidates=10, min_positives=1)
    assert report.scores == ["oracle", "distance"]
    assert sorted(report.per_gene["gene"].unique()) == ["G1", "G2", "G3", "G4", "G5"]  # G0 has no positive
    oracle = report.per_gene[report.per_gene["score"] == "oracle"]
    assert (oracle["average_precision"] == 1.0).all() and (oracle["auprc"] == 1.0).all()
    assert set(report.pooled["subset"]) == {"all pairs", "kept genes"}
    assert validate(pairs, ["oracle"], min_candidates=13).per_gene.empty
    with pytest.raises(InvalidInputError):
        validate(pairs, ["nothing"])


def test_validate_enhancers_writes_the_report(realdata, benchmark, tmp_path):
    chr22 = benchmark[benchmark["chrom"] == "chr22"]
    scores = chr22[["chrom", "start", "end", "gene"]].assign(graphreg=-chr22["distance"].to_numpy() ** 0.5)
    report = validate_enhancers(realdata / BENCHMARK, scores, tmp_path / "out", abc_table=realdata / ABC,
                                chroms=["chr22"])
    assert report.scores == ["graphreg", "distance", "abc"]
    pooled = report.pooled.set_index("score")
    assert pooled.loc["graphreg", "average_precision"] == pytest.approx(pooled.loc["distance", "average_precision"])
    out = tmp_path / "out"
    assert (out / "pr_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "report.md").read_text()
    assert "101 element-gene pairs (7 positives, 44 genes)" in text and "abc" in text
    assert len(pd.read_csv(out / "pairs.csv")) == 101
    assert graphreg_zoo.validate_enhancers is validate_enhancers
    with pytest.raises(InvalidInputError, match="score"):
        validate_enhancers(realdata / BENCHMARK, scores[["chrom", "start", "end", "gene"]], chroms=["chr22"])


# ---------------------------------------------------------------- genome build of the table vs the cell
@pytest.fixture(scope="module")
def hg38_chr22_cell(realdata, tmp_path_factory):
    """The real hg38 K562 chr22 cell (element-count bigWigs, the .cool, ABC's RefSeq TSS BED)."""
    from graphreg_zoo.prep.cell import CellData, prepare
    from graphreg_zoo.prep.spec import CellSpec

    d = realdata / CHR22
    dnase = str(d / "activity" / "K562_DNase_ENCFF860XAE.element_counts.chr22.DERIVED.bw")
    h3k27ac = str(d / "activity" / "K562_H3K27ac_ENCFF790GFL.element_counts.chr22.DERIVED.bw")
    spec = CellSpec(name="K562", genome="GRCh38", chromosomes=["22"],
                    tracks={"h3k4me3": dnase, "h3k27ac": h3k27ac, "dnase": dnase},
                    graph={"format": "cool", "path": str(d / "hic" / "K562_chr22_5kb_raw.DERIVED.cool"),
                           "min_count": 30},
                    genes=str(d / "tss" / "RefSeqCurated.170308.CollapsedGeneBounds.chr22.hg38.TSS500bp.bed"))
    return CellData(prepare(spec, tmp_path_factory.mktemp("hg38") / "k562.h5", progress=False))


def _as_hg19(pairs: pd.DataFrame, realdata) -> pd.DataFrame:
    """The chr22 pairs moved to hg19: each gene's elements and TSS shifted by its hg19 - hg38 TSS offset
    (ABC's hg19 and hg38 collapsed-gene TSS tables; locally what a liftover does)."""
    def centres(path, **kw):
        bed = pd.read_csv(path, sep="\t", header=None, comment="#", **kw)
        bed = bed[bed[0] == "chr22"]
        return dict(zip(bed[3], bed[1] + 250))

    hg19 = centres(realdata / "hg19_annotations" / "CollapsedGeneBounds.hg19.TSS500bp.bed")
    hg38 = centres(realdata / CHR22 / "tss" / "CollapsedGeneBounds.hg38.TSS500bp.genomewide.bed")
    known = pairs["gene"].isin(set(hg19) & set(hg38))
    shift = pairs.loc[known, "gene"].map(lambda g: hg19[g] - hg38[g])
    out = pairs[known].copy()
    for column in ("start", "end", "tss"):
        out[column] = out[column] + shift
    return out


def test_a_crispr_table_on_another_build_is_refused(benchmark, hg38_chr22_cell, realdata, tmp_path):
    """An hg19 table scored against an hg38 cell put almost every pair ~400 kb off, with exit 0."""
    from graphreg_zoo.interpret.attribution import enhancer_scores
    from graphreg_zoo.interpret.crispr import check_build
    from graphreg_zoo.models import EpiGraphReg

    chr22 = benchmark[benchmark["chrom"] == "chr22"]
    check_build(chr22, hg38_chr22_cell)  # the table's own build: accepted
    hg19 = _as_hg19(chr22, realdata)
    assert len(hg19) > 60 and (hg19["tss"] - chr22.loc[hg19.index, "tss"]).abs().median() > 300_000
    with pytest.raises(InvalidInputError, match=r"hg19 by its file name\) is not on the cell's genome build \(hg38\)"):
        check_build(hg19, hg38_chr22_cell, "EPCrisprBenchmark_hg19.tsv")
    with pytest.raises(InvalidInputError, match="genome build"):
        enhancer_scores(EpiGraphReg(seed=0), hg38_chr22_cell, hg19)
    past = chr22.head(3).assign(start=60_000_000, end=60_000_500)
    with pytest.raises(InvalidInputError, match=r"3 pairs lie past the end of chr22 \(50,818,468 bp"):
        check_build(pd.concat([chr22, past]), hg38_chr22_cell)


def test_crispr_chromosome_names_are_normalised(tmp_path):
    raw = pd.DataFrame({"chr": ["22", "chr22"], "start": [100, 1000], "end": [600, 1500], "Gene": ["A", "A"],
                        "Gene.TSS": [3000, 3000], "Fraction.change.in.gene.expr": [-0.3, 0.1],
                        "ABC.Score": [0.1, 0.0], "Significant": ["TRUE", "FALSE"]})
    raw.to_csv(tmp_path / "t.csv", index=False)
    assert read_crispr_table(tmp_path / "t.csv")["chrom"].tolist() == ["chr22", "chr22"]
