"""The compiled form prediction uses on TensorFlow: measured once per machine and architecture, remembered
under GRAPHREG_ZOO_HOME, overridable, and never changing the predictions."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.geometry import WINDOW_NODES
from graphreg_zoo.models import EpiCNN, EpiGraphReg, compile_choice
from graphreg_zoo.models.inference import compile_for_inference, forward_cage

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                reason="graph mode and XLA are TensorFlow's two compiled forms")


def _inputs(model, batch: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {"epigenome": rng.gamma(0.5, 2, size=(batch, WINDOW_NODES * 50, 3)).astype("float32"),
              "adjacency": (rng.random((batch, WINDOW_NODES, WINDOW_NODES)) < 0.01).astype("float32")}
    return {name: arrays[name] for name in (t.name for t in model.inputs)}


@pytest.fixture
def auto(zoo_home, monkeypatch):
    monkeypatch.setenv("GRAPHREG_ZOO_COMPILE", "auto")
    return zoo_home / compile_choice.CACHE_NAME


def test_the_choice_is_measured_once_announced_and_reused(auto, capsys):
    first = EpiCNN()
    x = _inputs(first)
    compile_for_inference(first, x)
    line = capsys.readouterr().err
    assert "EpiCNN" in line and compile_choice.cpu_model() in line and str(auto) in line
    stored = json.loads(auto.read_text())
    (key, entry), = stored.items()
    assert key == compile_choice.choice_key(first, 1)
    assert entry["form"] in ("graph", "xla") and set(entry["seconds_per_batch"]) == {"graph", "xla"}
    assert bool(first.jit_compile) == (entry["form"] == "xla")
    forward_cage(first, x)  # the winner's function runs without a recompile or a new entry

    # a second model of the same architecture reads the stored form (made the loser here, so reading
    # it, not measuring again, is what sets the form) and neither times nor writes anything
    other = "graph" if entry["form"] == "xla" else "xla"
    auto.write_text(json.dumps({key: {**entry, "form": other}}))
    before = auto.read_text()
    second = EpiCNN()
    compile_for_inference(second, _inputs(second))
    assert capsys.readouterr().err == ""
    assert auto.read_text() == before
    assert bool(second.jit_compile) == (other == "xla")


def test_a_different_batch_or_architecture_is_measured_separately(auto):
    model = EpiCNN()
    assert compile_choice.choice_key(model, 1) != compile_choice.choice_key(model, 8)
    assert compile_choice.architecture(EpiCNN()) == compile_choice.architecture(EpiCNN(data_spec={"genome": "mm10"}))
    assert compile_choice.architecture(EpiGraphReg(n_gat_layers=2)) != compile_choice.architecture(
        EpiGraphReg(n_gat_layers=3))


def test_the_override_wins_over_the_stored_choice(auto, monkeypatch):
    model = EpiCNN()
    auto.parent.mkdir(parents=True, exist_ok=True)
    auto.write_text(json.dumps({compile_choice.choice_key(model, 1): {"form": "xla"}}))
    monkeypatch.setenv("GRAPHREG_ZOO_COMPILE", "graph")
    compile_for_inference(model, _inputs(model))
    assert not model.jit_compile
    argued = EpiCNN()
    compile_for_inference(argued, _inputs(argued), mode="xla")  # the argument wins over the environment
    assert argued.jit_compile
    monkeypatch.setenv("GRAPHREG_ZOO_COMPILE", "fast")
    with pytest.raises(InvalidInputError, match="GRAPHREG_ZOO_COMPILE='fast'"):
        compile_for_inference(EpiCNN(), None)


def test_graph_mode_and_xla_predict_the_same(auto):
    """Whichever form wins, the predictions agree with each other and with the eager forward to 1e-5
    of their scale."""
    reference = EpiGraphReg(seed=0)
    x = _inputs(reference, batch=2)
    outputs = {}
    for form in compile_choice.FORMS:
        model = EpiGraphReg()
        model.set_weights(reference.get_weights())
        compile_for_inference(model, x, mode=form)
        assert bool(model.jit_compile) == (form == "xla")
        outputs[form] = forward_cage(model, x)
    eager = np.asarray(reference(x, training=False)["cage"])
    scale = np.abs(eager).max()
    for form, out in outputs.items():
        assert np.abs(out - eager).max() <= 1e-5 * scale, form
    assert np.abs(outputs["graph"] - outputs["xla"]).max() <= 1e-5 * scale
    assert not auto.exists()  # a forced form measures and stores nothing
