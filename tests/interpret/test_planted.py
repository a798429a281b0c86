"""Planted-truth checks on the simulated genome with trained models (UPSTREAM §6 on synthetic data).

They need trained models on the `demo` simulated genome, so they skip until those load:
`GRAPHREG_ZOO_PLANTED_EPI` (default "demo") names an epigenome graph model for the
enhancer check and `GRAPHREG_ZOO_PLANTED_SEQ` (default "demo_e2e") an end-to-end sequence
model for the TF knockout check. The two scoring functions are usable on their own.
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
    """Pooled AUPRC of attribution scores of every candidate enhancer within 1 Mb of each gene
    (up to `max_genes` genes with a planted link), labelled by a planted link effect > 0.05."""
    from graphreg_zoo.interpret.attribution import enhancer_scores
    from graphreg_zoo.interpret.prcurve import auprc

    links = truth.links[truth.links["effect"] > EFFECT_MIN]
    genes = truth.genes[truth.genes["gene_id"].isin(links["gene_id"]) & truth.genes["chrom"].isin(cell.chroms)]
    genes = genes.head(max_genes)
    enhancers = truth.enhancers[["enhancer_id", "chrom", "start", "end", "centre"]]
    pairs = genes[["gene_id", "gene_name", "chrom", "tss"]].merge(enhancers, on="chrom")
    pairs = pairs[(pairs["centre"] - pairs["tss"]).abs() <= 1_000_000]
    positive = set(zip(links["enhancer_id"], links["gene_id"]))
    pairs = pairs.assign(regulated=[(e, g) in positive for e, g in zip(pairs["enhancer_id"], pairs["gene_id"])],
                         gene=pairs["gene_name"])
    scores = enhancer_scores(model, cell, pairs, L=2, **attribute_kwargs)
    scored = scores["graphreg"].notna().to_numpy()
    return auprc(pairs["regulated"].to_numpy()[scored], scores["graphreg"].to_numpy()[scored])


def _load(env: str, default: str):
    import graphreg_zoo

    try:
        return graphreg_zoo.load(os.environ.get(env, default))
    except GraphRegZooError as exc:
        pytest.skip(f"no trained model for the planted-truth check ({exc})")


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    from graphreg_zoo.prep.cell import CellData, prepare
    from graphreg_zoo.simulation import simulate

    sim = simulate(tmp_path_factory.mktemp("planted") / "sim", preset="demo")
    return sim, CellData(prepare(sim.files["cell_yaml"], sim.out_dir / "cell.h5", progress=False))


@pytest.fixture(scope="module")
def seq_model():
    return _load("GRAPHREG_ZOO_PLANTED_SEQ", "demo_e2e")


@pytest.fixture(scope="module")
def epi_model():
    return _load("GRAPHREG_ZOO_PLANTED_EPI", "demo")


def test_knockout_recovers_planted_gata1_targets(seq_model, genome):
    from graphreg_zoo.interpret.perturb import knockout

    sim, cell = genome
    table = knockout(seq_model, cell, "GATA1", motifs=sim.files["motifs"])
    assert np.isfinite(table["log2fc"]).all()
    assert knockout_precision(table, sim.truth, "GATA1") >= 0.8


def test_attribution_recovers_planted_enhancers(epi_model, genome):
    sim, cell = genome
    assert enhancer_auprc(epi_model, cell, sim.truth, method="grad_x_input") >= 0.8
