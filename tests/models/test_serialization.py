"""Round trips: .keras, .weights.h5, presets, and a TensorFlow-saved model loaded under JAX."""
from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from graphreg_zoo.models import EpiGraphReg, SeqCNNBase
from graphreg_zoo.zoo.presets import load_preset, read_card, save_preset

pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def epi_inputs():
    rng = np.random.default_rng(1)
    x = rng.gamma(0.5, 2, size=(1, 60000, 3)).astype("float32")
    a = (rng.random((1, 1200, 1200)) < 0.01).astype("float32")
    a = np.maximum(a, a.transpose(0, 2, 1)) * (1 - np.eye(1200, dtype="float32"))
    return {"epigenome": x, "adjacency": a}


@pytest.fixture(scope="module")
def model():
    return EpiGraphReg(seed=3)


def test_keras_archive_round_trip(tmp_path, model, epi_inputs):
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is EpiGraphReg
    np.testing.assert_array_equal(np.asarray(loaded(epi_inputs)["cage"]), np.asarray(model(epi_inputs)["cage"]))


def test_weights_round_trip(tmp_path, model, epi_inputs):
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    other = EpiGraphReg(seed=99)
    other.load_weights(path)
    np.testing.assert_array_equal(np.asarray(other(epi_inputs)["cage"]), np.asarray(model(epi_inputs)["cage"]))


def test_preset_round_trip_with_attention_on_request(tmp_path, model, epi_inputs):
    save_preset(model, tmp_path / "preset", {"name": "test"})
    assert read_card(tmp_path / "preset")["preset"]["parameter_count"] == 185_473
    loaded = load_preset(tmp_path / "preset", return_attention=True)
    out = loaded(epi_inputs)
    assert tuple(out["attention"].shape) == (1, 2, 4, 1200, 1200)
    np.testing.assert_array_equal(np.asarray(out["cage"]), np.asarray(model(epi_inputs)["cage"]))


def test_saved_under_one_backend_loads_under_another(tmp_path, epi_inputs):
    small = SeqCNNBase()
    x = np.random.default_rng(2).integers(0, 4, size=(1, 100_000))
    onehot = np.eye(4, dtype="float32")[x][None][0:1].reshape(1, 100_000, 4)
    np.save(tmp_path / "x.npy", onehot)
    np.save(tmp_path / "ref.npy", np.asarray(small({"sequence": onehot})["dnase"]))
    small.save(tmp_path / "base.keras")
    other = "jax" if keras.backend.backend() != "jax" else "tensorflow"
    script = (
        "import numpy as np, keras, graphreg_zoo.models;"
        f"m = keras.saving.load_model(r'{tmp_path / 'base.keras'}');"
        f"out = np.asarray(m({{'sequence': np.load(r'{tmp_path / 'x.npy'}')}})['dnase']);"
        f"np.testing.assert_allclose(out, np.load(r'{tmp_path / 'ref.npy'}'), rtol=1e-4, atol=1e-5);"
        "print(keras.backend.backend())"
    )
    env = {**os.environ, "KERAS_BACKEND": other}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith(other)
