"""`graphreg-zoo predict` on a fold ensemble: held-out metrics only, the left-out rows counted, every row kept."""
from __future__ import annotations

import pandas as pd
import pytest

from graphreg_zoo.evaluation.evaluator import evaluate


@pytest.fixture(scope="module")
def two_fold_preset(tmp_path_factory):
    """A fold-ensemble preset of two small real Keras models (folds 1 and 2, human folds)."""
    from graphreg_zoo.models import EpiCNN
    from graphreg_zoo.zoo.presets import save_ensemble_preset

    path = tmp_path_factory.mktemp("ensemble") / "two_folds"
    return save_ensemble_preset({1: EpiCNN(seed=1), 2: EpiCNN(seed=2)}, path, {"name": "two_folds"})


def test_predict_on_a_fold_ensemble_prints_held_out_metrics_only(cli, tmp_path, synth_cell, two_fold_preset):
    """chr1 is fold 1's validation chromosome, chr2 its test chromosome: only chr2 is scored, chr1's rows are
    counted as left out, and the gene table keeps both with their roles. `--chrom 1` names chr1 as prepare does."""
    out = tmp_path / "out"
    code, stdout, stderr = cli("predict", "-m", two_fold_preset, "-c", synth_cell.path, "-o", out, "-q",
                               "--chrom", "1", "--chrom", "chr2")
    assert code == 0, stderr
    table = pd.read_csv(out / "predictions.csv")
    roles = table.groupby("chrom")["role"].unique().map(list).to_dict()
    assert roles == {"chr1": ["validation"], "chr2": ["test"]}
    assert set(table["fold"]) == {"fold1"} and set(table["model"]) == {"two_folds"}
    n_test, n_valid = (table["role"] == "test").sum(), (table["role"] == "validation").sum()
    assert f"{n_test} TSS bins scored (roles: test, unseen); left out: {n_valid} validation" in stdout
    metrics = pd.read_csv(out / "evaluation" / "metrics.csv")
    pooled = metrics[(metrics["fold"] == "all") & (metrics["set"] == "A")]
    assert pooled["n_genes"].item() == n_test
    held_out = evaluate(table[table["role"] == "test"].drop(columns="role")).pooled()
    assert pooled["pearson"].item() == pytest.approx(held_out.loc[0, "pearson"])
    assert f"left out: {n_valid} validation" in (out / "evaluation" / "report.md").read_text()

    code, stdout, stderr = cli("predict", "-m", two_fold_preset, "-c", synth_cell.path, "-o", tmp_path / "all",
                               "-q", "--include", "valid")
    assert code == 0, stderr
    assert f"{len(table)} TSS bins scored (roles: test, validation, unseen)" in stdout


def test_a_refused_predict_leaves_no_output_folder(cli, tmp_path, synth_cell, two_fold_preset):
    out = tmp_path / "nested" / "out"
    code, _, stderr = cli("predict", "-m", two_fold_preset, "-c", synth_cell.path, "-o", out, "--chrom", "chr9")
    assert code == 4 and "chr9" in stderr
    assert not (tmp_path / "nested").exists()
    code, _, stderr = cli("predict", "-m", two_fold_preset, "-c", synth_cell.path, "-o", out, "--include", "tst")
    assert code == 4 and "tst" in stderr and not out.exists()
