"""`graphreg-zoo demo`: the whole pipeline offline on the embedded default, with its planted truth."""
from __future__ import annotations

import json

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_offline_and_recovers_the_planted_truth(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    monkeypatch.setenv("GRAPHREG_ZOO_HOME", str(tmp_path / "empty_cache"))
    code, out, err = cli("demo", "-o", tmp_path / "demo", "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["n_genes"] > 150
    assert summary["pearson_all"] > 0.85  # held-out genome; the oracle reaches ~0.99
    assert summary["top_is_planted"]
    assert summary["knockout_target_log2fc"] < summary["knockout_other_log2fc"] < 0.1
    assert summary["knockout_precision_top20"] >= 0.8
    for name in ("attribution.png", "knockout.png", "predictions.csv", "knockout.csv", "attribution.csv"):
        assert (tmp_path / "demo" / name).stat().st_size > 1000, name
    assert "Pearson R" in out and "recovered" in out
    table = pd.read_csv(tmp_path / "demo" / "predictions.csv")
    # rows name the model (not its family), its fold, and their role: the demo genome is new to the model
    assert table[["model", "fold", "role"]].drop_duplicates().values.tolist() == [["demo_synthetic", "none", "unseen"]]
    report = (tmp_path / "demo" / "evaluation" / "report.md").read_text()
    assert "Epi-GraphReg" not in report and f"{len(table)} TSS bins scored (roles: test, unseen)" in report


def test_api_takes_zoo_names_and_cell_paths(synth_cell):
    """Every entry point accepts a zoo name and a CellData path, as predict does."""
    import graphreg_zoo as gz

    table = gz.predict("demo", str(synth_cell.path), progress=False)
    gene = table.loc[table["prediction"].idxmax(), "genes"].split("+")[0]
    attribution = gz.attribute("demo", str(synth_cell.path), gene, method="grad_x_input")
    assert attribution.attrs["gene"] == gene and attribution["total"].abs().sum() > 0
