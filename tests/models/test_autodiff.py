"""Input gradients on the active backend against central finite differences."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from graphreg_zoo.models import EpiGraphReg
from graphreg_zoo.models.autodiff import gradient_function, input_gradients, node_gradient_function, node_target

pytestmark = pytest.mark.backend


def _smooth_model() -> keras.Model:
    """A small dict-in / dict-out model with smooth ops (exact finite differences)."""
    x = keras.Input((8, 3), name="x")
    z = keras.Input((8, 2), name="z")
    h = keras.layers.Conv1D(4, 3, padding="same", activation="tanh")(x)
    h = keras.layers.Concatenate()([h, z])
    y = keras.layers.Reshape((-1,))(keras.layers.Conv1D(1, 1, activation="softplus")(h))
    return keras.Model({"x": x, "z": z}, {"y": y})


def _directional_fd(model, inputs, name, direction, target_nodes, eps):
    def value(shift):
        shifted = {**inputs, name: inputs[name] + shift * direction}
        out = keras.ops.convert_to_numpy(model(shifted, training=False)["cage" if "cage" in model.output else "y"])
        return out[:, target_nodes].sum()

    return (value(eps) - value(-eps)) / (2 * eps)


def test_smooth_model_matches_finite_differences(rng):
    keras.utils.set_random_seed(1)
    model = _smooth_model()
    inputs = {"x": rng.normal(size=(2, 8, 3)).astype("float32"), "z": rng.normal(size=(2, 8, 2)).astype("float32")}
    grads = input_gradients(model, inputs, ["x", "z"], node_target([2, 3], output="y"))
    assert set(grads) == {"x", "z"} and grads["x"].shape == (2, 8, 3)
    for name in ("x", "z"):
        for _ in range(3):
            index = tuple(rng.integers(0, s) for s in inputs[name].shape)
            bump = np.zeros_like(inputs[name])
            bump[index] = 1.0
            fd = _directional_fd(model, inputs, name, bump, [2, 3], 1e-2)
            np.testing.assert_allclose(grads[name][index], fd, rtol=2e-2, atol=1e-4)


def test_batched_gradients_are_per_sample(rng):
    keras.utils.set_random_seed(2)
    model = _smooth_model()
    inputs = {"x": rng.normal(size=(3, 8, 3)).astype("float32"), "z": rng.normal(size=(3, 8, 2)).astype("float32")}
    grad = gradient_function(model, "x", node_target([4], output="y"))
    batched = grad(inputs)["x"]
    for i in range(3):
        single = grad({k: v[i : i + 1] for k, v in inputs.items()})["x"]
        np.testing.assert_allclose(batched[i : i + 1], single, rtol=1e-5, atol=1e-6)


def test_node_gradient_function_is_reused_across_nodes(rng):
    keras.utils.set_random_seed(4)
    model = _smooth_model()
    inputs = {"x": rng.normal(size=(2, 8, 3)).astype("float32"), "z": rng.normal(size=(2, 8, 2)).astype("float32")}
    for nodes in ([1, 2, 3], [5, 6, 7], [0]):
        got = node_gradient_function(model, "x", nodes, output="y")(inputs)["x"]
        want = input_gradients(model, inputs, "x", node_target(nodes, output="y"))["x"]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert len(model._graphreg_node_gradients) == 1


def test_epi_graphreg_matches_finite_differences(rng):
    """Full-size Epi-GraphReg with random weights, at the inputs of largest gradient.

    ReLU and max-pooling make the network piecewise linear with many kinks, so a single
    coordinate and a small step (1e-3) are used rather than a random direction. On a GPU,
    run with NVIDIA_TF32_OVERRIDE=0 (and JAX_DEFAULT_MATMUL_PRECISION=highest): TF32
    convolutions are too coarse for a 1e-3 finite difference.
    """
    keras.utils.set_random_seed(3)
    model = EpiGraphReg(seed=3)
    adjacency = np.zeros((1, 1200, 1200), "float32")
    adjacency[0, 600, 640] = adjacency[0, 640, 600] = 1.0
    inputs = {"epigenome": rng.uniform(size=(1, 60000, 3)).astype("float32"), "adjacency": adjacency}
    nodes = [599, 600, 601]
    grads = input_gradients(model, inputs, "epigenome", node_target(nodes))["epigenome"]
    assert np.abs(grads[0, 640 * 50 : 641 * 50]).sum() > 0, "the connected node must receive gradient"
    assert np.abs(grads[0, 700 * 50 : 701 * 50]).sum() == 0, "an unconnected distant node must not"
    for flat in np.argsort(-np.abs(grads).ravel())[:3]:
        index = np.unravel_index(flat, grads.shape)
        bump = np.zeros_like(inputs["epigenome"])
        bump[index] = 1.0
        fd = _directional_fd(model, inputs, "epigenome", bump, nodes, 1e-3)
        np.testing.assert_allclose(grads[index], fd, rtol=5e-2)
