"""Planted-truth checks on the simulated genome with trained models (UPSTREAM §6 on synthetic data).

They use the packaged models trained on the synthetic genome (seed 0, `default` preset) and
score them on a different genome of the same process (`demo` preset), so every gene is held
out: `GRAPHREG_ZOO_PLANTED_EPI` (default "demo", Epi-GraphReg), `GRAPHREG_ZOO_PLANTED_CNN`
(default "demo_cnn", Epi-CNN). The sequence-level TF knockout with the packaged sequence models
is in test_planted_sequence.py. The scoring functions are usable on their own.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.errors import GraphRegZooError

EFFECT_MIN = 0.05  # a link counts as regulatory above this effect (the simulator's own cut for tf_targets)

pytestmark = pytest.mark.slow


def knockout_precision(ko_table: pd.DataFrame, truth, tf: str, top: int = 20) -> float:
    """Fraction of the `top` most decreased genes of a `knockout` table that are planted targets of `tf`."""
    targets = truth.tf_targets
    planted = set(targets.loc[(targets["tf"] == tf) & targets["target"], "gene_name"])
    ranked = ko_table.sort_values("log2fc", kind="stable").head(top)
    hits = ranked["genes"].str.split("+").apply(lambda names: bool(planted & set(names)))
    return float(hits.mean())


def enhancer_auprc(model, cell, truth, max_genes: int = 30, **attribute_kwargs) -> float:
    """Pooled AUPRC of attribution scores for a gene's planted (loop-connected, distal) enhancers.

    Candidates are all simulated elements 10 kb - 1 Mb from the TSS of up to `max_genes` genes
    with a planted loop (active decoys, inactive elements and other genes' enhancers included);
    positives are the gene's own loop-connected enhancers. Elements within 10 kb sit in the
    TSS bin or next to it, where a 5 kb model cannot tell them from the promoter.
    """
    from graphreg_zoo.interpret.attribution import enhancer_scores
    from graphreg_zoo.interpret.prcurve import auprc

    loops = truth.links[truth.links["loop"].astype(bool)]
    genes = truth.genes[truth.genes["gene_id"].isin(loops["gene_id"]) & truth.genes["chrom"].isin(cell.chroms)]
    genes = genes.head(max_genes)
    enhancers = truth.enhancers[["enhancer_id", "chrom", "start", "end", "centre"]]
    pairs = genes[["gene_id", "gene_name", "chrom", "tss"]].merge(enhancers, on="chrom")
    distance = (pairs["centre"] - pairs["tss"]).abs()
    pairs = pairs[(distance > 10_000) & (distance <= 1_000_000)]
    planted = set(zip(loops["enhancer_id"], loops["gene_id"]))
    pairs = pairs.assign(regulated=[(e, g) in planted for e, g in zip(pairs["enhancer_id"], pairs["gene_id"])],
                         gene=pairs["gene_name"])
    scores = enhancer_scores(model, cell, pairs, L=2, **attribute_kwargs)
    scored = scores["graphreg"].notna().to_numpy()
    return auprc(pairs["regulated"].to_numpy()[scored], scores["graphreg"].to_numpy()[scored])


def distal_gene_pearson(model, cell, truth, min_distal_fraction: float = 0.5) -> float:
    """Pearson R of log2(x+1) on genes getting most of their expression from planted distal loops."""
    from graphreg_zoo.prediction import predict

    table = predict(model, cell, progress=False)
    first = table["genes"].str.split("+").str[0]
    distal = set(truth.genes.loc[truth.genes["distal_fraction"] > min_distal_fraction, "gene_name"])
    rows = table[first.isin(distal)]
    return float(np.corrcoef(np.log2(rows["cage"] + 1), np.log2(rows["prediction"] + 1))[0, 1])


def _load(env: str, default: str):
    import graphreg_zoo

    try:
        return graphreg_zoo.load(os.environ.get(env, default))
    except GraphRegZooError as exc:
        pytest.skip(f"no trained model for the planted-truth check ({exc})")


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    from graphreg_zoo.prep.cell import CellData, prepare
    from graphreg_zoo.simulation.files import simulate

    sim = simulate(tmp_path_factory.mktemp("planted") / "sim", preset="demo")
    return sim, CellData(prepare(sim.files["cell_yaml"], sim.out_dir / "cell.h5", progress=False))


@pytest.fixture(scope="module")
def epi_model():
    return _load("GRAPHREG_ZOO_PLANTED_EPI", "demo")


@pytest.fixture(scope="module")
def cnn_model():
    return _load("GRAPHREG_ZOO_PLANTED_CNN", "demo_cnn")


def test_attribution_recovers_planted_enhancers(epi_model, cnn_model, genome):
    sim, cell = genome
    graphreg = enhancer_auprc(epi_model, cell, sim.truth, method="grad_x_input")
    cnn = enhancer_auprc(cnn_model, cell, sim.truth, method="grad_x_input")
    assert graphreg >= 0.8 and graphreg > cnn, (graphreg, cnn)


def test_graphreg_predicts_distal_genes_better_than_the_cnn(epi_model, cnn_model, genome):
    sim, cell = genome
    graphreg = distal_gene_pearson(epi_model, cell, sim.truth)
    cnn = distal_gene_pearson(cnn_model, cell, sim.truth)
    assert graphreg > cnn + 0.05, (graphreg, cnn)


def test_marks_knockout_recovers_planted_gata1_targets(epi_model, genome):
    """For the Epi model, the knockout removes the enhancer marks at GATA1 motif hits."""
    from graphreg_zoo.interpret.perturb import knockout

    sim, cell = genome
    table = knockout(epi_model, cell, "GATA1", motifs=sim.files["motifs"], mode="marks")
    assert knockout_precision(table, sim.truth, "GATA1") >= 0.8


def test_removing_a_planted_loop_lowers_its_target(epi_model, genome):
    """Cutting the graph edges at the strongest planted distal enhancer lowers its target gene."""
    from graphreg_zoo.interpret.perturb import edge_knockout

    sim, cell = genome
    links = sim.truth.links
    loop = links[links["loop"].astype(bool) & (links["distance"] > 100_000)].sort_values("effect").iloc[-1]
    enhancer = sim.truth.enhancers.set_index("enhancer_id").loc[loop["enhancer_id"]]
    target = sim.truth.genes.set_index("gene_id").loc[loop["gene_id"], "gene_name"]
    table = edge_knockout(epi_model, cell, enhancer["chrom"], int(enhancer["start"]), int(enhancer["end"]))
    row = table[table["genes"].str.split("+").apply(lambda names: target in names)]
    assert len(row) == 1 and row["log2fc"].iloc[0] < -0.1, row
