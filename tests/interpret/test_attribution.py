"""Attribution: targets, coordinates, methods, ensembles, bottleneck models, writers, CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.interpret.attribution import _baseline, attribute, enhancer_scores, write_attribution_bigwig
from graphreg_zoo.prep.cell import CellData
from graphreg_zoo.prep.windows import NODE_BIN, window_arrays

from ._toy import CHROM, GENES, make_cell, toy_base, toy_model

BINS = NODE_BIN // 100


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    return CellData(make_cell(tmp_path_factory.mktemp("attr"), np.random.default_rng(3)))


@pytest.fixture(scope="module")
def epi():
    return toy_model("epi", seed=0)


def _node_sum(df: pd.DataFrame, node: int, column: str = "total") -> float:
    rows = (df["start"] >= node * NODE_BIN) & (df["start"] < (node + 1) * NODE_BIN)
    return float(np.abs(df.loc[rows, column]).sum())


@pytest.mark.parametrize("with_edge", [True, False])
def test_planted_edge_carries_attribution(tmp_path, with_edge):
    """Epi-GraphReg with random weights: GENEA's node 100 sees node 130 only through their edge."""
    from graphreg_zoo.models import EpiGraphReg

    edges = [(100, 130)] if with_edge else []
    data = CellData(make_cell(tmp_path, np.random.default_rng(3), edges=edges))
    df = attribute(EpiGraphReg(seed=5), data, "GENEA", method="grad_x_input")
    assert _node_sum(df, 100) > 0
    assert (_node_sum(df, 130) > 0) is with_edge
    assert _node_sum(df, 160) == 0, "an unconnected node beyond the receptive field gets nothing"


def test_grad_x_input_is_saliency_times_input_on_the_right_bins(cell, epi):
    saliency = attribute(epi, cell, "GENEB", method="saliency")
    gxi = attribute(epi, cell, "GENEB", method="grad_x_input")
    assert list(gxi.columns) == ["chrom", "start", "end", "h3k4me3", "h3k27ac", "dnase", "total"]
    assert gxi.attrs["node"] == GENES["GENEB"] and gxi.attrs["method"] == "grad_x_input"
    tracks = cell.tracks(CHROM)[gxi["start"].to_numpy() // 100]
    np.testing.assert_allclose(gxi[["h3k4me3", "h3k27ac", "dnase"]], saliency[["h3k4me3", "h3k27ac", "dnase"]] * tracks,
                               rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(gxi["total"], gxi[["h3k4me3", "h3k27ac", "dnase"]].sum(axis=1), rtol=1e-5, atol=1e-9)
    assert gxi["end"].max() <= cell.chrom_sizes[CHROM] and gxi["start"].min() >= 0


def test_expected_gradients_complete_to_the_prediction_difference(cell, epi):
    """Zero-baseline expected gradients estimate integrated gradients: sum = f(x) - f(0)."""
    df = attribute(epi, cell, "GENEC", method="expected_gradients", n_samples=256, batch_size=32)
    from graphreg_zoo.interpret._windows import Member

    inputs = Member(epi).inputs(window_arrays(cell, _window_of(cell, "GENEC"), "epi"))
    local = GENES["GENEC"] - _window_of(cell, "GENEC").start_node
    nodes = [local - 1, local, local + 1]
    f_x = epi.predict_on_batch(inputs)["cage"][0, nodes].sum()
    f_0 = epi.predict_on_batch({**inputs, "epigenome": np.zeros_like(inputs["epigenome"])})["cage"][0, nodes].sum()
    assert df["total"].sum() == pytest.approx(f_x - f_0, rel=0.1)


def _window_of(cell, gene):
    from graphreg_zoo.interpret._windows import locate

    return locate(cell, gene).window


def test_shuffle_baseline(cell, epi, rng):
    x = rng.normal(size=(50, 3)).astype("float32")
    shuffled = _baseline(x, "shuffle", rng, whole_rows=False)
    np.testing.assert_array_equal(np.sort(shuffled, axis=0), np.sort(x, axis=0))
    one_hot = np.eye(4, dtype="float32")[rng.integers(0, 4, 50)]
    assert (_baseline(one_hot, "shuffle", rng, whole_rows=True).sum(axis=1) == 1).all()
    df = attribute(epi, cell, "GENEA", method="expected_gradients", baseline="shuffle", n_samples=4)
    assert np.isfinite(df["total"]).all() and df["total"].abs().sum() > 0


def test_sequence_model_base_pair_level(cell):
    model = toy_model("seq", seed=2)
    bp = attribute(model, cell, "GENED", method="grad_x_input")
    assert list(bp.columns) == ["chrom", "start", "end", "A", "C", "G", "T", "total"]
    assert (bp["end"] - bp["start"] == 1).all()
    sample = bp.iloc[::997]
    seq = cell.sequence(CHROM, 0, cell.chrom_sizes[CHROM])[sample["start"].to_numpy()]
    off_ref = sample[["A", "C", "G", "T"]].to_numpy() * (1 - seq)
    assert not off_ref.any(), "grad x input is zero on the bases that are not the reference"
    coarse = attribute(model, cell, "GENED", method="grad_x_input", resolution=100)
    summed = bp.groupby(bp["start"] // 100)["total"].sum().to_numpy()
    np.testing.assert_allclose(coarse["total"], summed, rtol=1e-4, atol=1e-7)


def test_separate_seq_graphreg_is_attributed_on_its_bottleneck(cell):
    from graphreg_zoo.models import SeqGraphReg
    from graphreg_zoo.models.autodiff import input_gradients, node_target
    from graphreg_zoo.models.inference import bottleneck

    model, base = SeqGraphReg(seed=1, n_gat_layers=1), toy_base()
    with pytest.raises(InvalidInputError, match="base"):
        attribute(model, cell, "GENEB")
    df = attribute(model, cell, "GENEB", method="grad_x_input", base=base)
    assert list(df.columns) == ["chrom", "start", "end", "total"] and df.attrs["input"] == "bottleneck"
    window = _window_of(cell, "GENEB")
    arrays = window_arrays(cell, window, "seq")
    h = bottleneck(base, arrays["sequence"])[None]
    local = GENES["GENEB"] - window.start_node
    # a Seq model's target is the TSS node alone, as the original's h * dy_TSS/dh (UPSTREAM §6.1)
    assert df.attrs["neighbours"] == 0
    grads = input_gradients(model, {"bottleneck": h, "adjacency": arrays["adjacency"][None]}, "bottleneck",
                            node_target([local]))["bottleneck"]
    expected = (h * grads)[0].sum(axis=1)[(df["start"].to_numpy() - window.start_node * NODE_BIN) // 100]
    np.testing.assert_allclose(df["total"], expected, rtol=1e-4, atol=1e-8)


def test_fold_ensemble_is_averaged(cell):
    from graphreg_zoo.zoo.ensemble import FoldEnsemble

    first, second = toy_model("epi", seed=0), toy_model("epi", seed=1)
    ensemble = FoldEnsemble({1: first, 2: second})
    mean = attribute(ensemble, cell, "GENEA", method="grad_x_input")
    parts = [attribute(m, cell, "GENEA", method="grad_x_input")["total"] for m in (first, second)]
    assert mean.attrs["n_models"] == 2
    expected = (parts[0] + parts[1]) / 2
    np.testing.assert_allclose(mean["total"], expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_gene_lookup_errors(cell, epi):
    with pytest.raises(InvalidInputError, match="GENEA"):
        attribute(epi, cell, "GENEX")
    with pytest.raises(InvalidInputError, match="method"):
        attribute(epi, cell, "GENEA", method="deeplift")
    by_position = attribute(epi, cell, chrom=CHROM, tss=GENES["GENEA"] * NODE_BIN + 7)
    assert by_position.attrs["node"] == GENES["GENEA"] and by_position.attrs["gene"] == "GENEA"


def test_bigwig_roundtrip(cell, epi, tmp_path):
    import pyBigWig

    df = attribute(epi, cell, "GENEA", method="grad_x_input")
    path = write_attribution_bigwig(df, tmp_path / "a.bw", cell.chrom_sizes)
    with pyBigWig.open(str(path)) as bw:
        got = bw.values(CHROM, 0, 10 * BINS * 100)
    want = np.repeat(df["total"].to_numpy()[: 10 * BINS], 100)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_enhancer_scores_and_cli(cell, tmp_path, cli):
    from graphreg_zoo.models import EpiGraphReg
    from graphreg_zoo.zoo.presets import save_preset

    tss = GENES["GENEA"] * NODE_BIN + 1
    pairs = pd.DataFrame({
        "chrom": CHROM, "start": [650_000, 520_000, 900_000, 2_000_100], "end": [650_400, 520_400, 900_400, 2_000_500],
        "gene": ["GENEA", "GENEA", "GENEA", "NOTHERE"], "tss": [tss, tss, tss, 2_000_001],
        "effect": [-0.3, -0.1, 0.0, -0.5], "regulated": [True, True, False, True],
    })
    scores = enhancer_scores(toy_model("epi"), cell, pairs, method="grad_x_input")
    assert list(scores.columns) == ["chrom", "start", "end", "gene", "graphreg"]
    assert scores["graphreg"].iloc[:3].notna().all() and np.isnan(scores["graphreg"].iloc[3])
    # the default is gradient x input, as the CLI and the original; not the plain gradient
    pd.testing.assert_frame_equal(enhancer_scores(toy_model("epi"), cell, pairs), scores)
    assert not np.allclose(enhancer_scores(toy_model("epi"), cell, pairs, method="saliency")["graphreg"].iloc[:3],
                           scores["graphreg"].iloc[:3])
    with pytest.raises(InvalidInputError, match="method"):  # an error is not an unscorable gene
        enhancer_scores(toy_model("epi"), cell, pairs, method="gradient")

    preset = save_preset(EpiGraphReg(seed=2), tmp_path / "epi")
    code, out, err = cli("attribute", "--model", preset, "--cell", cell.path, "--gene", "GENEA",
                         "-o", tmp_path / "a.tsv", "--bigwig")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "a.tsv", sep="\t")
    assert list(table.columns) == ["chrom", "start", "end", "h3k4me3", "h3k27ac", "dnase", "total"]
    assert (tmp_path / "a.bw").is_file()

    fulco = pairs.rename(columns={"chrom": "chr", "gene": "Gene", "tss": "Gene.TSS", "regulated": "Significant",
                                  "effect": "Fraction.change.in.gene.expr"}).assign(**{"ABC.Score": 0.1})
    fulco.to_csv(tmp_path / "crispr.csv", index=False)
    code, out, err = cli("validate-enhancers", "--model", preset, "--cell", cell.path,
                         "--crispr", tmp_path / "crispr.csv", "-o", tmp_path / "report")
    assert code == 0, err
    assert (tmp_path / "report" / "graphreg_scores.tsv").is_file() and "graphreg" in out


def test_a_multi_bin_gene_resolves_to_its_five_prime_bin(tmp_path):
    """A minus-strand gene with TSSs in two bins is its highest bin (it was the lowest, whatever the strand)."""
    from graphreg_zoo.interpret._windows import _annotation, locate
    from graphreg_zoo.prep.cell import prepare

    from ..prep.prep_factories import write_gtf

    make_cell(tmp_path, np.random.default_rng(3))
    genes = [(CHROM, n * 5000 + 2, n * 5000 + 3000, "+", g) for g, n in GENES.items()]
    genes += [(CHROM, n * 5000 + 2, n * 5000 + 3000, "-", "MINUS") for n in (150, 300)]
    genes += [(CHROM, n * 5000 + 2, n * 5000 + 3000, "+", "PLUS") for n in (160, 310)]
    write_gtf(tmp_path / "genes.gtf", genes)
    data = CellData(prepare(tmp_path / "spec.yaml", tmp_path / "two_bins.h5", progress=False))
    assert locate(data, "MINUS").node == 300 and locate(data, "PLUS").node == 160
    assert locate(data, "MINUS", tss=150 * 5000).node == 150
    (tmp_path / "genes.gtf").unlink()
    _annotation.cache_clear()
    with pytest.raises(InvalidInputError, match="MINUS has TSSs in several 5 kb bins.*is gone.*tss"):
        locate(data, "MINUS")
    assert locate(data, "GENEA").node == GENES["GENEA"]  # one bin: no strand needed
