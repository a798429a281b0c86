"""Input gradients of a Keras 3 model on whichever backend Keras runs (TensorFlow, JAX, PyTorch).

The model is always called in inference mode (dropout off, BatchNorm on its moving
statistics), so the samples of a batch are independent: the gradient of a target summed
over the batch is, per sample, that sample's own gradient. Attribution methods use this
to evaluate many interpolated inputs in one pass.

Example:
    >>> from keras import ops
    >>> grads = input_gradients(model, {"epigenome": x, "adjacency": a}, "epigenome",
    ...                         lambda out: ops.sum(out["cage"][:, 400]))
    >>> grads["epigenome"].shape
    (1, 60000, 3)
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

Target = Callable[[Mapping[str, Any]], Any]
GradientFn = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


def gradient_function(model, wrt: str | Sequence[str], target: Target) -> GradientFn:
    """A reusable function `inputs -> {name: d target / d inputs[name]}` for `model`.

    Args:
        model: a Keras model taking a dict of named inputs.
        wrt: the input name(s) to differentiate with respect to.
        target: maps the model's output dict (backend tensors) to a scalar tensor;
            write it with `keras.ops` so that it runs on every backend.

    The function is compiled once (tf.function / jax.jit) and reused across calls with
    inputs of the same shapes, so build it once per target and feed it batches.
    """
    import keras

    names = [wrt] if isinstance(wrt, str) else list(wrt)
    backend = keras.backend.backend()
    builders = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}
    if backend not in builders:
        raise NotImplementedError(f"input gradients are not implemented for the {backend!r} Keras backend")
    return builders[backend](model, names, target)


def input_gradients(
    model, inputs: Mapping[str, np.ndarray], wrt: str | Sequence[str], target: Target
) -> dict[str, np.ndarray]:
    """Gradients of `target(model(inputs))` with respect to the inputs named in `wrt`, as numpy.

    `inputs` carry a batch axis; see `gradient_function` for the arguments.
    """
    return gradient_function(model, wrt, target)(inputs)


def node_target(nodes: Sequence[int], output: str = "cage") -> Target:
    """Target: the sum over the batch of `outputs[output][:, nodes]` (e.g. a TSS node and its neighbours)."""
    from keras import ops

    index = np.asarray(list(nodes), dtype="int32")

    def target(outputs):
        return ops.sum(ops.take(outputs[output], index, axis=1))

    return target


def _float_inputs(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype="float32") for k, v in inputs.items()}


def _tensorflow(model, names: list[str], target: Target) -> GradientFn:
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def grad(tensors):
        with tf.GradientTape() as tape:
            for name in names:
                tape.watch(tensors[name])
            value = target(model(tensors, training=False))
        grads = tape.gradient(
            value, [tensors[n] for n in names], unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        return dict(zip(names, grads))

    def run(inputs):
        tensors = {k: tf.convert_to_tensor(v) for k, v in _float_inputs(inputs).items()}
        return {k: v.numpy() for k, v in grad(tensors).items()}

    return run


def _jax(model, names: list[str], target: Target) -> GradientFn:
    import jax

    def value(differentiated, fixed, trainable, non_trainable):
        outputs, _ = model.stateless_call(trainable, non_trainable, {**fixed, **differentiated}, training=False)
        return target(outputs)

    grad = jax.jit(jax.grad(value))

    def run(inputs):
        inputs = _float_inputs(inputs)
        differentiated = {k: inputs[k] for k in names}
        fixed = {k: v for k, v in inputs.items() if k not in names}
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return {k: np.asarray(v) for k, v in grad(differentiated, fixed, trainable, non_trainable).items()}

    return run


def _torch(model, names: list[str], target: Target) -> GradientFn:  # pragma: no cover - torch is optional
    import keras
    import torch

    def run(inputs):
        tensors = {k: keras.ops.convert_to_tensor(v) for k, v in _float_inputs(inputs).items()}
        for name in names:
            tensors[name].requires_grad_(True)
        value = target(model(tensors, training=False))
        grads = torch.autograd.grad(value, [tensors[n] for n in names], allow_unused=True)
        return {
            n: np.zeros(tensors[n].shape, "float32") if g is None else g.detach().cpu().numpy()
            for n, g in zip(names, grads)
        }

    return run
