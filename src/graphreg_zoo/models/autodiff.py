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
#: attribute of a model holding {(wrt names, output): compiled node-gradient function}
_CACHE = "_graphreg_node_gradients"


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
    compiled = _compile(model, _names(wrt), lambda outputs, extra: target(outputs))
    return lambda inputs: compiled(inputs, ())


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


def node_gradient_function(model, wrt: str | Sequence[str], nodes: Sequence[int], output: str = "cage") -> GradientFn:
    """Same as `gradient_function(model, wrt, node_target(nodes, output))`, but the nodes are a
    runtime argument of one function compiled per (model, wrt, output), so attributing many
    genes compiles (traces / jits) the model's gradient once per number of nodes."""
    from keras import ops

    names = _names(wrt)
    functions = getattr(model, _CACHE, None)
    if functions is None:
        functions = {}
        object.__setattr__(model, _CACHE, functions)  # untracked by Keras; freed with the model
    key = (tuple(names), output)
    if key not in functions:
        functions[key] = _compile(
            model, names, lambda outputs, extra: ops.sum(ops.take(outputs[output], extra[0], axis=1))
        )
    index = np.asarray(list(nodes), dtype="int32")
    return lambda inputs: functions[key](inputs, (index,))


def _names(wrt: str | Sequence[str]) -> list[str]:
    return [wrt] if isinstance(wrt, str) else list(wrt)


def _compile(model, names: list[str], target: Callable[[Mapping[str, Any], tuple], Any]):
    """`run(inputs, extra)`: gradients of `target(model(inputs), extra)` on the active backend."""
    import keras

    backend = keras.backend.backend()
    builders = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}
    if backend not in builders:
        raise NotImplementedError(f"input gradients are not implemented for the {backend!r} Keras backend")
    return builders[backend](model, names, target)


def _float_inputs(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype="float32") for k, v in inputs.items()}


def _tensorflow(model, names: list[str], target):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def grad(tensors, extra):
        with tf.GradientTape() as tape:
            for name in names:
                tape.watch(tensors[name])
            value = target(model(tensors, training=False), extra)
        grads = tape.gradient(
            value, [tensors[n] for n in names], unconnected_gradients=tf.UnconnectedGradients.ZERO
        )
        return dict(zip(names, grads))

    def run(inputs, extra):
        tensors = {k: tf.convert_to_tensor(v) for k, v in _float_inputs(inputs).items()}
        return {k: v.numpy() for k, v in grad(tensors, tuple(tf.convert_to_tensor(e) for e in extra)).items()}

    return run


def _jax(model, names: list[str], target):
    import jax

    def value(differentiated, fixed, trainable, non_trainable, extra):
        outputs, _ = model.stateless_call(trainable, non_trainable, {**fixed, **differentiated}, training=False)
        return target(outputs, extra)

    grad = jax.jit(jax.grad(value))

    def run(inputs, extra):
        inputs = _float_inputs(inputs)
        differentiated = {k: inputs[k] for k in names}
        fixed = {k: v for k, v in inputs.items() if k not in names}
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        grads = grad(differentiated, fixed, trainable, non_trainable, tuple(extra))
        return {k: np.asarray(v) for k, v in grads.items()}

    return run


def _torch(model, names: list[str], target):  # pragma: no cover - torch is optional
    import keras
    import torch

    def run(inputs, extra):
        tensors = {k: keras.ops.convert_to_tensor(v) for k, v in _float_inputs(inputs).items()}
        for name in names:
            tensors[name].requires_grad_(True)
        value = target(model(tensors, training=False), tuple(keras.ops.convert_to_tensor(e) for e in extra))
        grads = torch.autograd.grad(value, [tensors[n] for n in names], allow_unused=True)
        return {
            n: np.zeros(tensors[n].shape, "float32") if g is None else g.detach().cpu().numpy()
            for n, g in zip(names, grads)
        }

    return run
