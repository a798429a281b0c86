"""Gradients reach every trainable weight (training mode: dropout and BatchNorm on).

TensorFlow keeps a process's peak memory for reuse, so the gradients are taken in a
`tf.function` (which frees each activation after its last use) rather than eagerly: an
eager 6 Mb e2e gradient peaks at 14 GB and left a pytest-xdist worker that large.
"""
from __future__ import annotations

import keras
import numpy as np
import pytest

from graphreg_zoo.models import EpiCNN, EpiGraphReg, SeqGraphRegE2E
from graphreg_zoo.models.losses import poisson_nll
from graphreg_zoo.training.engine import set_frozen_batchnorm
from tests.conftest import HEAVY

pytestmark = pytest.mark.backend


def _weight_gradients(model, inputs, target):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def gradients():
            with tf.GradientTape() as tape:
                loss = poisson_nll(target, model(inputs, training=True)["cage"])
            return tape.gradient(loss, model.trainable_variables)

        return [np.asarray(g) for g in gradients()]
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_fn(weights):
            outputs, _ = model.stateless_call(weights, non_trainable, inputs, training=True)
            return poisson_nll(target, outputs["cage"])

        return [np.asarray(g) for g in jax.grad(loss_fn)(trainable)]
    pytest.skip(f"no gradient helper for backend {backend}")


@pytest.mark.parametrize("cls", [EpiGraphReg, EpiCNN])
def test_every_trainable_weight_gets_a_gradient(cls, rng):
    model = cls(seed=0) if cls is EpiGraphReg else cls()
    inputs = {"epigenome": rng.gamma(0.5, 2, size=(1, 60000, 3)).astype("float32")}
    if cls is EpiGraphReg:
        a = (rng.random((1, 1200, 1200)) < 0.02).astype("float32")
        inputs["adjacency"] = np.maximum(a, a.transpose(0, 2, 1)) * (1 - np.eye(1200, dtype="float32"))
    target = rng.poisson(3, size=(1, 1200)).astype("float32")
    grads = _weight_gradients(model, inputs, target)
    assert len(grads) == len(model.trainable_variables)
    for variable, grad in zip(model.trainable_variables, grads):
        assert np.all(np.isfinite(grad)), variable.path
        assert np.any(grad != 0), f"no gradient reaches {variable.path}"


@HEAVY
def test_e2e_graph_weights_get_gradients(rng):
    """The e2e CAGE loss reaches the sequence trunk through the chunk reshapes, trained as the
    engine trains it (frozen BatchNorm statistics: 5 GB instead of 7 GB with batch statistics)."""
    model = SeqGraphRegE2E(seed=0)
    set_frozen_batchnorm(model, True)
    seq = np.eye(4, dtype="float32")[rng.integers(0, 4, size=6_000_000)][None]
    a = (rng.random((1, 1200, 1200)) < 0.02).astype("float32")
    a = np.maximum(a, a.transpose(0, 2, 1)) * (1 - np.eye(1200, dtype="float32"))
    target = rng.poisson(3, size=(1, 1200)).astype("float32")
    grads = dict(zip([v.path for v in model.trainable_variables], _weight_gradients(model, {"sequence": seq, "adjacency": a}, target)))
    assert np.any(grads["conv1d/kernel"] != 0)
    assert np.any(grads["graph_attention_2/attn_kernel_neigh_3"] != 0)
