"""The sequence demo models' training command (training/demo_sequence.py) at a tiny size: 4
chromosomes of 1.5 Mb (one 6 Mb window each), one epoch of each recipe, on the CPU."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _script():
    spec = importlib.util.spec_from_file_location("demo_sequence_training", REPO / "training" / "demo_sequence.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_training_command_trains_both_models_and_records_the_run(tmp_path, capsys):
    import graphreg_zoo

    script = _script()
    assert script.main([str(tmp_path), "--epochs", "1", "--chrom-length", "1500000"]) == 0
    printed = capsys.readouterr().out
    for key, recipe in script.RUNS.items():
        card = json.loads((tmp_path / key / "card.json").read_text())
        assert card["name"] == recipe and card["training"]["epochs"] == 1
        shift = card["recipe"]["training"]["e2e_cage_epoch"]
        assert card["training"]["e2e_cage_epoch"] == shift > 1, "the recipe's task-weight shift reached the engine"
        assert card["history"]["cage_task_weight"] == [pytest.approx(max(0.01, 1 / (1 + np.exp(shift - 1))))]
        run = card["training_run"]
        assert run["seconds"] > 0 and run["machine"]["cpu"] and run["machine"]["backend"] == "tensorflow"
        assert "--epochs 1" in run["command"] and run["command"].startswith("python training/demo_sequence.py OUT")
        assert str(tmp_path) not in (tmp_path / key / "card.json").read_text(), "the card names the run's folder OUT"
        assert f"{recipe}: best epoch 1" in printed
        model = graphreg_zoo.load(str(tmp_path / key))
        assert model.__class__.__name__ == card["recipe"]["model"]["class"]
