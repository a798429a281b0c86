"""The sequence demo models' training command (training/demo_sequence.py) at a tiny size: 8
chromosomes of 1.5 Mb (one 6 Mb window each), one epoch of each recipe, on the CPU: the base first,
then both heads on its frozen bottleneck."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _script():
    spec = importlib.util.spec_from_file_location("demo_sequence_training", REPO / "training" / "demo_sequence.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The command's output folder, what it printed and the script module."""
    script = _script()
    out = tmp_path_factory.mktemp("seqtrain")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert script.main([str(out), "--epochs", "1", "--chrom-length", "1500000"]) == 0
    return out, printed.getvalue(), script


def test_the_training_command_trains_the_base_and_both_heads_and_records_the_run(run):
    import graphreg_zoo

    out, printed, script = run
    for key, recipe in script.RUNS.items():
        card = json.loads((out / key / "card.json").read_text())
        assert card["name"] == recipe and card["training"]["epochs"] == 1
        run_record = card["training_run"]
        assert run_record["seconds"] > 0 and run_record["machine"]["cpu"]
        assert run_record["machine"]["backend"] == "tensorflow"
        assert "--epochs 1" in run_record["command"]
        assert run_record["command"].startswith("python training/demo_sequence.py OUT")
        assert str(out) not in (out / key / "card.json").read_text(), "the card names the run's folder OUT"
        assert f"{recipe}: best epoch 1, test R " in printed
        model = graphreg_zoo.load(str(out / key))
        assert model.__class__.__name__ == card["recipe"]["model"]["class"]


def test_the_heads_read_the_base_this_run_trained(run):
    """Each head's card names the base by the sha256 of the weights in OUT/seq_base."""
    import graphreg_zoo
    from graphreg_zoo.models.inference import weights_fingerprint

    out, _, script = run
    base = graphreg_zoo.load(str(out / script.BASE))
    for key in script.RUNS:
        if key == script.BASE:
            continue
        card = json.loads((out / key / "card.json").read_text())
        assert card["base_model"]["weights_sha256_16"] == weights_fingerprint(base)
        assert card["base_model"]["recipe"] == script.RUNS[script.BASE]


def test_a_head_alone_needs_the_base_of_an_earlier_run(tmp_path):
    script = _script()
    with pytest.raises(SystemExit, match="no trained base"):
        script.main([str(tmp_path / "fresh"), "--epochs", "1", "--chrom-length", "1500000", "--only", "seq"])
    assert not (tmp_path / "fresh").exists(), "nothing simulated or written before the refusal"
