"""Gene-level evaluation: gene sets, metrics, fold comparisons, report files, bad input."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.evaluation.evaluator import evaluate

PNG = b"\x89PNG\r\n\x1a\n"


def _table(rng: np.random.Generator, n: int = 400, noise: float = 0.4, folds: int = 5) -> pd.DataFrame:
    cage = rng.poisson(rng.gamma(0.6, 30.0, n)).astype(float)
    return pd.DataFrame({
        "chrom": np.where(np.arange(n) % 2, "chr1", "chr2"),
        "bin_start": (np.arange(n) // 2) * 5000,
        "tss": (np.arange(n) // 2) * 5000 + 2500,
        "genes": [f"G{i}" for i in range(n)],
        "n_tss": 1,
        "n_contact": rng.integers(0, 14, n),
        "prediction": (cage + 0.5) * rng.lognormal(0.0, noise, n),
        "cage": cage,
        "fold": rng.integers(1, folds + 1, n),
    })


def _expected(y: np.ndarray, mu: np.ndarray) -> dict[str, float]:
    """Independent reference: numpy correlation, scipy Spearman, math.lgamma NLL."""
    ly, lmu = np.log2(y + 1), np.log2(mu + 1)
    nll = [math.lgamma(a + 1) + b - (a * math.log(b) if a > 0 else 0.0) for a, b in zip(y, mu)]
    return {"n_genes": y.size, "pearson": np.corrcoef(ly, lmu)[0, 1],
            "spearman": stats.spearmanr(ly, lmu).statistic, "nll": float(np.mean(nll))}


def test_gene_sets_and_metrics_match_independent_computation(rng):
    table = _table(rng)
    report = evaluate(table)
    sets = {
        "A": np.ones(len(table), bool),
        "B": table["cage"] >= 5,
        "C": (table["cage"] >= 5) & (table["n_contact"] >= 1),
        "D": (table["cage"] >= 5) & (table["n_contact"] >= 5),
    }
    metrics = report.metrics.set_index(["fold", "set"])
    assert set(metrics.index.get_level_values("fold")) == {"1", "2", "3", "4", "5", "all"}
    for fold in ["all", "3"]:
        part = table if fold == "all" else table[table["fold"] == int(fold)]
        for name, mask in sets.items():
            sel = part[mask[part.index]]
            want = _expected(sel["cage"].to_numpy(), sel["prediction"].to_numpy())
            got = metrics.loc[(fold, name)]
            assert got["n_genes"] == want["n_genes"]
            for key in ("pearson", "spearman", "nll"):
                assert got[key] == pytest.approx(want[key], rel=1e-9), (fold, name, key)
    assert report.comparisons is None
    np.testing.assert_allclose(report.genes["nll"].mean(), metrics.loc[("all", "A"), "nll"])


def test_without_fold_column_everything_is_one_group(rng):
    table = _table(rng).drop(columns="fold")
    report = evaluate(table)
    assert report.metrics["fold"].unique().tolist() == ["all"]
    assert report.metrics["set"].tolist() == ["A", "B", "C", "D"]
    assert report.genes["contact_bin"].isin(["0", "1-4", "5-9", "10+"]).all()
    assert (report.genes.loc[report.genes["n_contact"] == 4, "contact_bin"] == "1-4").all()
    comparisons = evaluate(table, table.assign(prediction=1.0)).comparisons
    assert (comparisons["n_folds"] == 0).all() and comparisons["p_value"].isna().all()


def test_wilcoxon_direction_and_delta_nll(rng):
    table = _table(rng, noise=0.2).assign(model="Epi-GraphReg")
    worse = table.assign(prediction=(table["cage"] + 0.5) * rng.lognormal(0.0, 1.0, len(table)), model="Epi-CNN")
    report = evaluate(table, worse)
    assert report.models == ("Epi-GraphReg", "Epi-CNN")
    comp = report.comparisons.set_index(["set", "metric"])
    for name in "ABCD":
        assert comp.loc[(name, "nll"), "model_better_if"] == "less"
        assert comp.loc[(name, "nll"), "n_folds"] == 5
        assert comp.loc[(name, "nll"), "p_value"] == pytest.approx(1 / 32)  # exact: all 5 folds better
        assert comp.loc[(name, "pearson"), "p_value"] == pytest.approx(1 / 32)
    genes = report.genes
    np.testing.assert_allclose(genes["delta_nll"], genes["nll_baseline"] - genes["nll"])
    assert genes["delta_nll"].mean() > 0
    # swapped roles: the "model" is now worse, so the one-sided p-values are large
    swapped = evaluate(worse, table).comparisons.set_index(["set", "metric"])
    assert swapped.loc[("B", "nll"), "p_value"] == pytest.approx(1.0)
    assert swapped.loc[("B", "pearson"), "p_value"] > 0.9


def test_baseline_is_joined_on_shared_rows(rng):
    table = _table(rng)
    baseline = table.iloc[::2].assign(prediction=1.0)
    report = evaluate(table, baseline)
    assert len(report.genes) == len(baseline)
    assert set(report.metrics["model"]) == {"model", "baseline"}
    pooled = report.pooled().set_index(["model", "set"])
    assert pooled.loc[("model", "A"), "n_genes"] == pooled.loc[("baseline", "A"), "n_genes"] == len(baseline)


def test_report_files_are_written(rng, tmp_path):
    table = _table(rng)
    out = tmp_path / "eval"
    report = evaluate(table, table.assign(prediction=table["prediction"] * 1.5), out_dir=out)
    assert set(report.files) == {"metrics", "genes", "scatter", "contacts", "comparisons", "report"}
    for name in ("scatter.png", "contacts_box.png"):
        data = (out / name).read_bytes()
        assert data[:8] == PNG and len(data) > 5_000
    text = (out / "report.md").read_text()
    for name in ("| A | All", "| B | Expressed", "| C |", "| D |", "Wilcoxon", "scatter.png"):
        assert name in text
    assert pd.read_csv(out / "metrics.csv").shape == report.metrics.shape
    assert len(pd.read_csv(out / "genes.csv")) == len(table)
    assert not list(out.glob(".tmp-*"))


def test_missing_columns_are_named(rng):
    table = _table(rng).drop(columns=["cage", "n_contact"])
    with pytest.raises(InvalidInputError, match="n_contact, cage") as info:
        evaluate(table)
    assert "true CAGE" in str(info.value)
    with pytest.raises(InvalidInputError, match="prediction"):
        evaluate(_table(rng), _table(rng).drop(columns="prediction"))


@pytest.mark.parametrize("column, value", [("prediction", -1.0), ("cage", np.nan)])
def test_bad_values_are_invalid_input(rng, column, value):
    table = _table(rng)
    table.loc[3, column] = value
    with pytest.raises(InvalidInputError, match=column):
        evaluate(table)


def test_cli_evaluate(cli, rng, tmp_path):
    _table(rng).to_csv(tmp_path / "pred.csv", index=False)
    code, out, _ = cli("evaluate", tmp_path / "pred.csv", "-o", tmp_path / "report")
    assert code == 0 and "| model | all | B |" in out
    assert (tmp_path / "report" / "report.md").is_file()
    _table(rng).drop(columns="cage").to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = cli("evaluate", tmp_path / "bad.csv", "-o", tmp_path / "bad")
    assert code == 4 and "cage" in err


def _routed_table(rng: np.random.Generator) -> pd.DataFrame:
    """A fold-ensemble gene table as `predict` writes it: five folds' test rows (good predictions), a
    validation-routed fold and a mean-of-folds group (both near-perfect, as in-sample rows are)."""
    table = _table(rng, n=600, noise=0.6).drop(columns="fold")
    group = np.arange(len(table)) % 7
    table["fold"] = np.where(group < 5, [f"fold{g + 1}" for g in group], np.where(group == 5, "fold1", "mean_of_folds"))
    table["role"] = np.select([group < 5, group == 5], ["test", "validation"], "training")
    in_sample = group >= 5
    table.loc[in_sample, "prediction"] = table.loc[in_sample, "cage"] + 0.5
    return table


def test_only_held_out_rows_are_scored_unless_asked(rng):
    """Validation-routed and mean-of-folds rows would raise R; they are left out (and counted) by default,
    per-fold metrics and the fold-level Wilcoxon take each fold's test rows only."""
    table = _routed_table(rng)
    test = table[table["role"] == "test"]
    report = evaluate(table, table.assign(prediction=(table["cage"] + 0.5) * rng.lognormal(0.0, 1.0, len(table)),
                                          model="noisy"))
    pooled = report.pooled().set_index(["model", "set"])
    assert pooled.loc[("model", "A"), "n_genes"] == len(test)
    want = _expected(test["cage"].to_numpy(), test["prediction"].to_numpy())
    assert pooled.loc[("model", "A"), "pearson"] == pytest.approx(want["pearson"], rel=1e-9)
    assert report.left_out == {"validation": 85, "training": 85}  # the baseline's rows share them: not counted twice
    assert "left out: 85 validation (the model was selected on them" in report.scope()
    assert "85 training (the model trained on them)" in report.scope()
    per_fold = report.metrics[report.metrics["fold"] != "all"]
    assert sorted(per_fold["fold"].unique()) == [f"fold{i}" for i in range(1, 6)]
    fold1 = per_fold[(per_fold["fold"] == "fold1") & (per_fold["set"] == "A") & (per_fold["model"] == "model")]
    assert fold1["n_genes"].item() == (test["fold"] == "fold1").sum()
    assert (report.comparisons["n_folds"] == 5).all()
    everything = evaluate(table, include="valid,train")
    assert everything.pooled().set_index("set").loc["A", "n_genes"] == len(table) and not everything.left_out
    assert everything.pooled().set_index("set").loc["A", "pearson"] > pooled.loc[("model", "A"), "pearson"]
    assert (evaluate(table, include=["all"]).genes.shape[0]) == len(table)


def test_bad_roles_are_refused(rng):
    table = _routed_table(rng)
    with pytest.raises(InvalidInputError, match="cannot include role 'tst'"):
        evaluate(table, include="tst")
    with pytest.raises(InvalidInputError, match="column 'role' has \\['held'\\]"):
        evaluate(table.assign(role="held"))


def test_a_gene_set_without_genes_gets_a_no_genes_panel(rng):
    from graphreg_zoo.evaluation.report import scatter_figure

    table = _table(rng).assign(n_contact=0)  # set C and D are empty
    figure = scatter_figure(evaluate(table))
    texts = [[t.get_text() for t in ax.texts] for ax in figure.axes]
    assert [bool(t) for t in texts] == [False, False, True, True]
    assert texts[3] == ["model: D (Expressed, >=5 contacts): no genes"]
    assert not figure.axes[3].axison and not figure.axes[3].collections
