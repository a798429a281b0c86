"""Our Conv1D equals keras.layers.Conv1D in values, input gradient and kernel gradient where it
computes the kernel gradient as matrix products, and uses them only where it should."""
from __future__ import annotations

import functools

import keras
import numpy as np
import pytest
from keras import ops

from graphreg_zoo.models.autodiff import input_gradients
from graphreg_zoo.models.layers import Conv1D
from tests._sgd import sgd_step

pytestmark = pytest.mark.backend


def _models(length: int, channels: int, filters: int, kernel: int):
    """A model on our Conv1D with the matrix-product kernel gradient and one on Keras' Conv1D,
    with the same random weights."""
    models = []
    for make in (functools.partial(Conv1D, kernel_gradient="matmul"), keras.layers.Conv1D):
        inputs = keras.Input((length, channels), name="x")
        layer = make(filters, kernel, padding="same", activation="relu", name="conv")
        models.append(keras.Model({"x": inputs}, {"y": layer(inputs)}))
    rng = np.random.default_rng(kernel)
    weights = [rng.normal(scale=0.1, size=w.shape).astype("float32") for w in models[1].get_weights()]
    for model in models:
        model.set_weights(weights)
    return models


@pytest.mark.parametrize("length,channels,filters,kernel",
                         [(5000, 64, 16, 3), (5003, 64, 8, 5), (5000, 64, 4, 1), (5000, 64, 4, 4)])
def test_matmul_kernel_gradient_matches_keras_conv1d(length, channels, filters, kernel):
    ours, reference = _models(length, channels, filters, kernel)
    assert ours.get_layer("conv").matmul_kernel_gradient
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, length, channels)).astype("float32")  # 3: two sequence boundaries
    np.testing.assert_allclose(np.asarray(ours({"x": x})["y"]), np.asarray(reference({"x": x})["y"]),
                               rtol=1e-5, atol=1e-5)

    mix = rng.normal(size=(3, length, filters)).astype("float32")
    target = lambda outputs: ops.sum(outputs["y"] * mix)  # noqa: E731
    np.testing.assert_allclose(input_gradients(ours, {"x": x}, "x", target)["x"],
                               input_gradients(reference, {"x": x}, "x", target)["x"], rtol=1e-4, atol=1e-5)

    # kernel and bias gradients: one SGD step with learning rate 1 moves each weight by minus its gradient
    y = rng.normal(size=(3, length, filters)).astype("float32")
    updates = [sgd_step(model, {"x": x}, {"y": y}, loss={"y": "mse"})[1] for model in (ours, reference)]
    for got, want in zip(*updates):
        assert np.any(want != 0)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))


def _kernel_gradient_ops(model, x) -> set[str]:
    """The op (TensorFlow) or primitive (JAX) names of the kernel gradient's computation."""
    kernel = model.get_layer("conv").kernel
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        @tf.function
        def gradient(x):
            with tf.GradientTape() as tape:
                value = tf.reduce_sum(model({"x": x})["y"])
            return tape.gradient(value, kernel.value)

        return {op.type for op in gradient.get_concrete_function(tf.constant(x)).graph.get_operations()}
    if keras.backend.backend() == "jax":
        import jax

        def value(kernel_value):
            trainable = [kernel_value if v is kernel else v.value for v in model.trainable_variables]
            outputs, _ = model.stateless_call(trainable, [], {"x": x})
            return outputs["y"].sum()

        return {eqn.primitive.name for eqn in jax.make_jaxpr(jax.grad(value))(kernel.value).jaxpr.eqns}
    pytest.skip("no graph inspection for this backend")


def test_the_kernel_gradient_is_matrix_products_not_the_backend_filter_gradient():
    ours, reference = _models(5000, 64, 8, 3)
    x = np.ones((1, 5000, 64), "float32")
    ours_ops, reference_ops = _kernel_gradient_ops(ours, x), _kernel_gradient_ops(reference, x)
    if keras.backend.backend() == "tensorflow":
        assert "Conv2DBackpropFilter" in reference_ops and "Conv2DBackpropFilter" not in ours_ops
        assert {"Einsum", "BatchMatMulV2", "MatMul"} & ours_ops
    else:  # XLA computes a filter gradient as a convolution too
        assert "dot_general" in ours_ops and "dot_general" not in reference_ops


def test_auto_uses_the_products_on_tensorflow_only():
    layer = Conv1D(8, 3, padding="same")
    layer.build((None, 5000, 64))
    assert layer.matmul_kernel_gradient == (keras.backend.backend() == "tensorflow")


@pytest.mark.parametrize("length,channels,kwargs", [
    (4999, 64, {}),  # too short
    (5000, 32, {}),  # too few channels
    (5000, 64, {"dilation_rate": 2}),
    (5000, 64, {"kernel_size": 21}),
    (None, 64, {}),  # length unknown when built
])
def test_auto_keeps_the_backend_kernel_gradient_elsewhere(length, channels, kwargs):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("elsewhere 'auto' never uses the products (test_auto_uses_the_products_on_tensorflow_only)")
    layer = Conv1D(8, **{"kernel_size": 3, **kwargs}, padding="same")
    layer.build((None, length, channels))
    assert not layer.matmul_kernel_gradient


def test_matmul_needs_a_stride_1_same_convolution():
    layer = Conv1D(8, 3, padding="valid", kernel_gradient="matmul")
    with pytest.raises(ValueError, match="'same' padding"):
        layer.build((None, 5000, 64))


def test_our_conv1d_serialises():
    layer = Conv1D(8, 3, padding="same", name="conv1d_7", kernel_gradient="backend")
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is Conv1D and restored.get_config() == layer.get_config()


def test_second_derivatives_through_the_products_match_keras_conv1d():
    """The FFT prior differentiates the input gradient again: a training step with the prior gives the same
    weight update through our kernel gradient as through Keras' Conv1D."""
    from graphreg_zoo.models.losses import poisson_nll
    from graphreg_zoo.training.objectives import forward_with_fourier_prior, training_view

    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 5000, 64)).astype("float32")
    y = rng.poisson(2.0, size=(1, 5000)).astype("float32")
    prior = functools.partial(forward_with_fourier_prior, output="hidden", cutoff=0.3)
    loss = lambda view, targets, outputs: poisson_nll(targets["dnase"], outputs["dnase"], bins=None)  # noqa: E731
    updates = []
    for make in (functools.partial(Conv1D, kernel_gradient="matmul"), keras.layers.Conv1D):
        keras.utils.set_random_seed(4)
        inputs = keras.Input((5000, 64), name="sequence")
        hidden = make(8, 3, padding="same", activation="relu", name="conv")(inputs)
        rate = keras.layers.Conv1D(1, 1, activation="exponential", name="head")(hidden)
        model = keras.Model({"sequence": inputs}, {"hidden": hidden, "dnase": keras.layers.Reshape((-1,))(rate)})
        view = training_view(model, True, ("dnase",), loss, prior)
        updates.append(sgd_step(view, {"sequence": x}, {"dnase": y}, weights_of=model, learning_rate=0.1)[1])
    for got, want in zip(*updates):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))
