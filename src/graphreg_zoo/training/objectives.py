"""What each model family minimises in training (UPSTREAM §1.4, §2.2-2.6), as Keras objects.

`objective(model, upstream_compat)` gives the model `fit` trains (the model itself or a view of
it), its loss and metrics, the metric that selects the best epoch and any callbacks:

| family | trained outputs | loss | selected on |
|---|---|---|---|
| Epi-GraphReg, Epi-CNN, Seq-GraphReg / Seq-CNN (on a frozen base) | cage | Poisson NLL, middle 400 nodes | val_loss |
| Seq-CNN base | the 3 tracks, 100 bp | mean of the 3 Poisson NLLs (+ FFT prior on the bottleneck) | val_loss |
| Seq-GraphReg e2e, Seq-CNN e2e | cage + 3 tracks | a NLL_cage + (1 - a) sum of 3 NLLs (+ FFT prior) | val_cage_nll |

With `upstream_compat` every view calls the model in inference mode (dropout off, BatchNorm
with its moving statistics), as the original's `model(x)` calls did.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import InvalidInputError
from ..geometry import EPI_TRACKS
from ..models.family import family_of
from ..models.layers import PACKAGE


@dataclass
class Objective:
    """The model to `fit`, its compile arguments, the selection metric and extra callbacks."""

    trainee: Any
    loss: Any = None
    metrics: Any = None
    monitor: str = "val_loss"
    callbacks: list = field(default_factory=list)


@functools.cache
def poisson_loss_class():
    """The registered Keras loss: Poisson NLL (with lgamma) on the middle 400 nodes (`bins=None`: all)."""
    import keras

    from ..models.losses import LOSS_NODES, poisson_nll

    @keras.saving.register_keras_serializable(package=PACKAGE)
    class MiddlePoissonNLL(keras.losses.Loss):
        def __init__(self, bins=LOSS_NODES, name="poisson_nll", **kwargs):
            super().__init__(name=name, **kwargs)
            self.bins = tuple(bins) if bins is not None else None

        def call(self, y_true, y_pred):
            return poisson_nll(y_true, y_pred, bins=self.bins)

        def get_config(self):
            return {**super().get_config(), "bins": self.bins}

    return MiddlePoissonNLL


def _nll_metric(bins="middle"):
    import keras

    loss = poisson_loss_class()() if bins == "middle" else poisson_loss_class()(bins=None)
    return keras.metrics.MeanMetricWrapper(loss, name="nll")


def is_multitask(model) -> bool:
    """True for the e2e models: CAGE plus the three epigenomic heads, trained together."""
    return family_of(model).is_multitask


def is_base(model) -> bool:
    """True for a Seq-CNN base: the three epigenomic heads and no CAGE."""
    return family_of(model).is_base


def upstream_compat_wrapper(model):
    """A model that always runs `model` in inference mode (dropout off, BN frozen statistics).

    Gradients still reach every trainable weight, BatchNorm's gamma/beta included:
    exactly what the original's `model(x)` calls inside GradientTape did.
    """
    import keras

    class InferenceModeTraining(keras.Model):
        def __init__(self, inner):
            super().__init__(name=f"{inner.name}_upstream_compat")
            self.inner = inner
            self.built = inner.built  # BackupAndRestore refuses an unbuilt model

        def call(self, inputs, training=None):
            return self.inner(inputs, training=False)

    return InferenceModeTraining(model)


Loss = Callable[[Any, dict, dict], Any]  # (view, y_true, y_pred) -> scalar
Prior = Callable[[Any, dict, Any], Any]  # (model, inputs, training) -> (outputs, scalar prior)


def training_view(model, upstream_compat: bool, heads: tuple[str, ...], loss: Loss, prior: Prior | None = None,
                  task_weight: bool = False):
    """A Keras model over `model` that returns only `heads` and computes `loss` itself (plus
    `prior`, computed from the same forward pass, in training steps). With `task_weight` it holds
    the e2e CAGE weight variable `cage_weight` that `task_weight_callback` sets every epoch."""
    import keras

    class TrainingView(keras.Model):
        def __init__(self, inner):
            super().__init__(name=f"{inner.name}_training")
            self.inner = inner
            if task_weight:
                self.cage_weight = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                   name="cage_task_weight")
            self.built = inner.built

        def call(self, inputs, training=None):
            mode = False if upstream_compat else training
            if prior is not None and training:
                outputs, prior_value = prior(self.inner, inputs, mode)
                self.add_loss(prior_value)  # summed into the training loss by compute_loss
            else:
                outputs = self.inner(inputs, training=mode)
            return {k: outputs[k] for k in heads}

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            value = loss(self, y, y_pred)
            if training and self.losses:
                value = value + sum(self.losses)
            return value

    return TrainingView(model)


def forward_with_fourier_prior(model, inputs: dict, training, *, output: str, cutoff: float,
                               pool_batch: bool = False):
    """`model(inputs)` and the `_fft` variants' prior (UPSTREAM §2.3, lambda = 1) from the same pass:
    the Fourier prior of |sum over bases of d(sum of `output`)/d(sequence) * sequence| with cutoff
    fraction `cutoff`. Returns (outputs, prior).

    The e2e models use the DNase output over each 6 Mb window; the Seq-CNN base uses the
    bottleneck over the batch's chunks laid end to end (`pool_batch`: 4 x 100 kb = 400,000).
    The original ran a second forward pass for the attribution under nested tapes; here the
    loss and the attribution share one forward pass (same values, one pass less to store and
    differentiate). Written for the TensorFlow and JAX backends.
    """
    import keras
    from keras import ops

    from ..models.losses import fourier_prior

    sequence = inputs["sequence"]

    def forward(seq):
        outputs = model({**inputs, "sequence": seq}, training=training)
        return ops.sum(outputs[output]), outputs

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(sequence)
            total, outputs = forward(sequence)
        grad = tape.gradient(total, sequence)
    elif backend == "jax":
        import jax

        (_, outputs), grad = jax.value_and_grad(forward, has_aux=True)(sequence)
    else:
        raise InvalidInputError(f"the FFT prior is implemented for TensorFlow and JAX, not {backend}")
    attribution = ops.abs(ops.sum(grad * sequence, axis=-1))
    if pool_batch:
        attribution = ops.reshape(attribution, (1, -1))
    return outputs, fourier_prior(attribution, cutoff)


def task_weight_callback(cage_epoch: int | None = None):
    """Sets the e2e CAGE task weight max(0.01, sigmoid(epoch - cage_epoch)) at every epoch start (and logs it);
    `cage_epoch` None is the original's 10.

    Keras counts epochs from 0, the original loop from 1 (`for epoch in range(1, n_epochs + 1)`):
    Keras epoch e is the original's epoch e + 1, so the weight reaches 0.5 in the tenth epoch, as there.
    """
    import keras

    from ..models.losses import E2E_CAGE_EPOCH, e2e_task_weight

    shift = E2E_CAGE_EPOCH if cage_epoch is None else cage_epoch

    class TaskWeight(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.cage_weight.assign(e2e_task_weight(epoch + 1, shift))

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["cage_task_weight"] = e2e_task_weight(epoch + 1, shift)

    return TaskWeight()


def _e2e_loss(view, y, y_pred):
    from ..models.losses import poisson_nll

    epigenomic = sum(poisson_nll(y[t], y_pred[t], bins=None) for t in EPI_TRACKS)
    return view.cage_weight * poisson_nll(y["cage"], y_pred["cage"]) + (1.0 - view.cage_weight) * epigenomic


def _base_loss(view, y, y_pred):
    from ..models.losses import poisson_nll

    return sum(poisson_nll(y[t], y_pred[t], bins=None) for t in EPI_TRACKS) / len(EPI_TRACKS)


def _check_remat_with_prior(model) -> None:
    """TensorFlow cannot differentiate a rematerialised (recompute_grad) trunk twice, as the FFT prior needs."""
    import keras

    if keras.backend.backend() == "tensorflow":
        raise InvalidInputError(
            f"{model.name}: remat=True cannot train with the FFT prior on TensorFlow (the prior needs second "
            "derivatives, which tf.recompute_grad does not support). Build the model with remat=False, or train "
            "on the JAX backend (KERAS_BACKEND=jax)."
        )


def objective(model, upstream_compat: bool, cage_epoch: int | None = None) -> Objective:
    """The training objective of `model`'s family (see the module table); `cage_epoch` shifts the
    e2e CAGE task weight (None: the original's 10)."""
    from ..models.losses import FFT_CUTOFF_BASE, FFT_CUTOFF_E2E

    fft = bool(getattr(model, "fft_prior", False))
    if fft and getattr(model, "remat", False):
        _check_remat_with_prior(model)
    if is_multitask(model):
        prior = functools.partial(forward_with_fourier_prior, output="dnase",
                                  cutoff=FFT_CUTOFF_E2E) if fft else None
        view = training_view(model, upstream_compat, ("cage", *EPI_TRACKS), _e2e_loss, prior, task_weight=True)
        return Objective(view, metrics={"cage": [_nll_metric()]}, monitor="val_cage_nll",
                         callbacks=[task_weight_callback(cage_epoch)])
    if is_base(model):
        prior = functools.partial(forward_with_fourier_prior, output="bottleneck",
                                  cutoff=FFT_CUTOFF_BASE, pool_batch=True) if fft else None
        view = training_view(model, upstream_compat, EPI_TRACKS, _base_loss, prior)
        return Objective(view, metrics={t: [_nll_metric(bins=None)] for t in EPI_TRACKS})
    trainee = upstream_compat_wrapper(model) if upstream_compat else model
    return Objective(trainee, loss={"cage": poisson_loss_class()()})
