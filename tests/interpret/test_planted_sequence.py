"""The sequence-level TF knockout on planted truth with the packaged sequence models (issue 19).

`load("demo_seq")` (Seq-GraphReg) and `load("demo_seq_cnn")` (Seq-CNN), heads on the frozen Seq-CNN base
`load("demo_seq_base")`, trained on the DNA of the `sequence` simulation preset, seed 0
(training/demo_sequence.py); here they meet a genome of a seed they never saw. The lead activator's (KLF1)
motif hits are zeroed in the one-hot DNA and the predicted decreases are ranked against the simulator's
knockout truth (`graphreg_zoo.simulation.demo_sequence.knockout_scores`).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.simulation.demo_sequence import ACTIVATOR, SEQUENCE_BASE, SEQUENCE_MODELS, knockout_scores

pytestmark = pytest.mark.slow

FRESH_SEED = 2  # neither the training genome (0) nor the demo's (1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`graphreg-zoo demo --sequence` on a genome of FRESH_SEED: its output folder and summary."""
    from graphreg_zoo.cli import run

    out = tmp_path_factory.mktemp("seqko")
    assert run(["demo", "--sequence", "--seed", str(FRESH_SEED), "-q", "-o", str(out)]) == 0
    folder = out / "sequence"
    return folder, json.loads((folder / "summary.json").read_text())


@pytest.fixture(scope="module")
def held_out(demo):
    from graphreg_zoo.prep.cell import CellData
    from graphreg_zoo.simulation.genome import SimulatedGenome

    folder, _ = demo
    return SimulatedGenome.load(folder / "genome"), CellData(folder / "cell.h5")


def test_seq_graphreg_precision_reaches_the_target(demo):
    assert demo[1]["scores"]["Seq-GraphReg"]["precision_top20"] >= 0.8, demo[1]["scores"]


def test_seq_graphreg_ranks_the_planted_targets_above_chance(demo):
    graphreg = demo[1]["scores"]["Seq-GraphReg"]
    assert graphreg["auprc"] > graphreg["chance"] + 0.05, demo[1]["scores"]


def test_seq_graphreg_beats_seq_cnn_on_distal_targets(demo):
    scores = demo[1]["scores"]
    graphreg, cnn = scores["Seq-GraphReg"], scores["Seq-CNN"]
    assert graphreg["distal_auprc"] > max(cnn["distal_auprc"], graphreg["distal_chance"] + 0.05), scores
    assert graphreg["distal_precision"] > cnn["distal_precision"], scores


def test_the_scores_are_those_of_the_written_knockout_tables(demo, held_out):
    """summary.json holds `knockout_scores` of the knockout tables the demo wrote."""
    folder, summary = demo
    sim, _ = held_out
    for label, name in SEQUENCE_MODELS.items():
        table = pd.read_csv(folder / f"knockout_{name}.csv")
        assert knockout_scores(table, sim.truth) == pytest.approx(summary["scores"][label])


def test_the_training_genome_is_refused_as_held_out(tmp_path):
    from graphreg_zoo.errors import InvalidInputError
    from graphreg_zoo.simulation.demo_sequence import run_sequence_demo

    with pytest.raises(InvalidInputError, match="trained on"):
        run_sequence_demo(tmp_path / "x", seed=0)
    assert not (tmp_path / "x").exists()


def test_knockout_of_the_trained_model_edits_only_windows_with_hits(held_out):
    """KLF1 hits in the first 0.9 Mb of chr1 lie in windows 0 and 1 only (their middles cover
    -1..3 Mb): the genes of windows 2 and 3 keep the wild type exactly, and every fold change is
    the explicit prediction of the edited sequence through the base."""
    import graphreg_zoo
    from graphreg_zoo.interpret.perturb import knockout, tf_hits, window_hits
    from graphreg_zoo.prediction import predict

    sim, cell = held_out
    model, base = graphreg_zoo.load(SEQUENCE_MODELS["Seq-GraphReg"]), graphreg_zoo.load(SEQUENCE_BASE)
    hits = tf_hits(cell, ACTIVATOR, sim.files["motifs"], ["chr1"])
    hits = hits[hits["end"] <= 900_000]
    assert len(hits) > 10
    table = knockout(model, cell, ACTIVATOR, motifs=hits, chroms=["chr1"], base=base)
    far = table["tss"] >= 3_000_000
    assert far.any() and (~far).any()
    assert (table.loc[far, "log2fc"] == 0).all() and (table.loc[far, "n_hits"] == 0).all()
    assert (table.loc[~far, "n_hits"] > 0).all() and (table.loc[~far, "log2fc"].abs() > 1e-6).any()

    def zero_hits(arrays, window):
        seq = arrays["sequence"].copy()
        for s, e in window_hits(hits, window):
            seq[s:e] = 0
        return {**arrays, "sequence": seq}

    explicit = predict(model, cell, ["chr1"], transform=zero_hits, progress=False, base=base)
    np.testing.assert_allclose(table["ko"], explicit["prediction"], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(table["log2fc"], np.log2((explicit["prediction"] + 1) / (table["wt"] + 1)),
                               atol=1e-5)


@pytest.fixture(scope="module")
def training_cell(tmp_path_factory):
    from graphreg_zoo.prep.cell import CellData, prepare
    from graphreg_zoo.simulation.files import simulate

    sim = simulate(tmp_path_factory.mktemp("seqtrain") / "sim", seed=0, preset="sequence")
    return CellData(prepare(sim.files["cell_yaml"], sim.out_dir / "cell.h5", progress=False))


@pytest.mark.parametrize("name", sorted([*SEQUENCE_MODELS.values(), SEQUENCE_BASE]))
def test_presets_reproduce_their_recorded_test_r(name, training_cell):
    """Each packaged preset, loaded offline, scores its card's test R on the training genome's test chromosome
    (the heads through the packaged base)."""
    import graphreg_zoo
    from graphreg_zoo.training.engine import held_out_metrics, held_out_pearson
    from graphreg_zoo.zoo.load import PACKAGED

    card = json.loads((PACKAGED[name] / "card.json").read_text())
    split = {"test": card["chromosomes"]["test"]}
    base = None if name == SEQUENCE_BASE else graphreg_zoo.load(SEQUENCE_BASE)
    measured = held_out_pearson(held_out_metrics(graphreg_zoo.load(name), training_cell, split, base=base))
    recorded = held_out_pearson(card["metrics"])
    assert measured == pytest.approx(recorded, abs=1e-3) and len(recorded) in (1, 3)
    assert card["training_run"]["machine"]["cpu"] and card["training_run"]["seconds"] > 0


def test_the_sequence_presets_take_at_most_5_mb_together():
    from graphreg_zoo.zoo.load import PACKAGED

    folders = [PACKAGED[n] for n in (*SEQUENCE_MODELS.values(), SEQUENCE_BASE)]
    assert sum(f.stat().st_size for folder in folders for f in folder.iterdir()) <= 5_000_000
