"""The fused ReLU -> BatchNorm -> MaxPool layer equals the three layers in sequence, in every
BatchNorm mode, with gammas of both signs, in values and gradients."""
from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from graphreg_zoo.models.autodiff import input_gradients
from graphreg_zoo.models.layers import BatchNorm
from tests._sgd import sgd_step

pytestmark = pytest.mark.backend


def _pair(rng, channels: int = 6, pool: int = 5, negative: int = 3):
    """The fused layer and a reference Keras BatchNormalization with the same weights; the first
    `negative` gammas are negative (decreasing channels: their max becomes a min)."""
    fused = BatchNorm(epsilon=1e-3, relu_input=True, pool_size=pool)
    plain = keras.layers.BatchNormalization(epsilon=1e-3)
    fused.build((None, None, channels))
    plain.build((None, None, channels))
    gamma = np.abs(rng.normal(size=channels)).astype("float32")
    gamma[:negative] *= -1
    weights = [gamma, rng.normal(size=channels).astype("float32"), rng.normal(size=channels).astype("float32"),
               rng.uniform(0.5, 2.0, size=channels).astype("float32")]
    fused.set_weights(weights)
    plain.set_weights(weights)
    return fused, plain


def _reference(plain, x, pool: int, training: bool):
    y = plain(ops.relu(x), training=training)
    return keras.layers.MaxPooling1D(pool)(y)


@pytest.mark.parametrize("negative", [3, 0], ids=["mixed-signs", "all-max"])
@pytest.mark.parametrize("mode", ["inference", "frozen", "batch"])
def test_fused_block_matches_relu_bn_pool(mode, negative):
    rng = np.random.default_rng(0)
    fused, plain = _pair(rng, negative=negative)
    fused.frozen_statistics = mode == "frozen"
    training = mode != "inference"
    x = rng.normal(size=(2, 103, 6)).astype("float32")  # 103: the remainder is dropped as `valid` padding
    got = np.asarray(fused(x, training=training))
    want = np.asarray(_reference(plain, x, 5, training=mode == "batch"))
    assert got.shape == (2, 20, 6)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("negative", [3, 0], ids=["mixed-signs", "all-max"])
def test_fused_block_gradients_match(negative):
    rng = np.random.default_rng(1)
    fused, plain = _pair(rng, negative=negative)
    x = rng.normal(size=(1, 100, 6)).astype("float32")

    def model(layer_fn):
        inputs = keras.Input((100, 6), name="x")
        return keras.Model({"x": inputs}, {"y": keras.layers.Flatten()(layer_fn(inputs))})

    weights = rng.normal(size=(1, 120)).astype("float32")
    target = lambda outputs: ops.sum(outputs["y"] * weights)  # noqa: E731
    got = input_gradients(model(fused), {"x": x}, "x", target)["x"]
    want = input_gradients(model(lambda t: _reference(plain, t, 5, False)), {"x": x}, "x", target)["x"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("take_max", [[True, False, True, False], [True] * 4], ids=["max-and-min", "all-max"])
def test_extreme_pool_gradient_shares_ties_like_autodiff(take_max):
    """Ties (zero padding makes the conv output exactly its bias) share the gradient equally."""
    from graphreg_zoo.models.layers import extreme_pool

    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=(2, 12, 4)), 1).astype("float32")
    x[:, :6] = 0.5  # whole windows of ties
    take_max = np.array(take_max)
    weights = rng.normal(size=(2, 4, 4)).astype("float32")

    def reference(t):
        windows = ops.reshape(t, (2, 4, 3, 4))
        return ops.where(take_max, ops.max(windows, axis=2), -ops.max(-windows, axis=2))

    def model(fn):
        inputs = keras.Input((12, 4), name="x")
        return keras.Model({"x": inputs}, {"y": fn(inputs)})

    target = lambda outputs: ops.sum(outputs["y"] * weights)  # noqa: E731
    class Pool(keras.layers.Layer):
        def call(self, t):
            return extreme_pool(t, ops.convert_to_tensor(take_max), 3)

    fused = model(Pool())
    np.testing.assert_allclose(np.asarray(fused({"x": x})["y"]), np.asarray(reference(x)))
    got = input_gradients(fused, {"x": x}, "x", target)["x"]
    want = input_gradients(model(reference), {"x": x}, "x", target)["x"]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got[:, :3].sum(axis=1), weights[:, 0])  # a tied window passes its gradient on once


def test_rematerialised_block_trains_identically():
    """`remat=True` recomputes the pooled block in the backward pass: the same values, input gradients
    and weight updates (frozen statistics, as the engine trains)."""
    rng = np.random.default_rng(3)
    weights = _pair(rng)[0].get_weights()
    x = rng.normal(size=(2, 100, 6)).astype("float32")
    y = rng.normal(size=(2, 20, 6)).astype("float32")
    results = []
    for remat in (False, True):
        layer = BatchNorm(epsilon=1e-3, relu_input=True, pool_size=5, remat=remat, name="bn")
        inputs = keras.Input((100, 6), name="x")
        model = keras.Model({"x": inputs}, {"y": layer(inputs)})
        layer.set_weights(weights)
        layer.frozen_statistics = True
        values = np.asarray(model({"x": x})["y"])
        gradient = input_gradients(model, {"x": x}, "x", lambda outputs: ops.sum(outputs["y"] * y))["x"]
        results.append((values, gradient, sgd_step(model, {"x": x}, {"y": y}, loss={"y": "mse"})[1]))
    (plain_y, plain_grad, plain_update), (remat_y, remat_grad, remat_update) = results
    np.testing.assert_allclose(remat_y, plain_y, rtol=1e-6)
    np.testing.assert_allclose(remat_grad, plain_grad, rtol=1e-6)
    for got, want in zip(remat_update, plain_update):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert any(np.any(update != 0) for update in plain_update)  # gamma and beta trained
    assert BatchNorm.from_config(layer.get_config()).remat
