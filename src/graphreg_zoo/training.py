"""The training engine behind the recipes (UPSTREAM §3 made explicit), backend-agnostic.

It uses Keras' own `fit` loop (XLA/jit compiled on every backend) with:
- Adam, learning rate 2e-4 with inverse-time decay 1e-6 per step (the original `decay=`);
- one 6 Mb window per step by default, windows without a TSS in their middle skipped;
- the Poisson NLL on the middle 400 nodes (CAGE only; the e2e models add their three epigenomic
  heads on raw coverage with the task weight max(0.01, sigmoid(epoch - 10)) and select on the
  validation CAGE NLL alone, `multitask_wrapper`);
- model selection on the validation NLL with the original's early stopping, whose counter
  starts at 1, so `max_early_stopping=5` stops after 4 epochs without improvement;
- `upstream_compat=True` to train the way the original code actually ran: the model called
  without `training=True`, i.e. dropout off and BatchNorm in inference mode (moving
  statistics never updated, gamma/beta still learned);
- by default dropout on (as the paper describes the model) and BatchNorm with frozen
  statistics (`batchnorm="frozen"`): with one 6 Mb window per step, batch statistics are one
  window's statistics, the moving averages never match them, and validation in inference
  mode degrades (measured on the synthetic genome: test R 0.15 with `batchnorm="batch"`
  vs 0.92 frozen after 25 epochs; docs/training.md). `batchnorm="batch"` is standard BN;
- resumable runs (Keras BackupAndRestore), seeded and deterministic on CPU;
- chromosome-level splits, or window-level ones (`train_windows=`/`valid_windows=`) for data with
  few chromosomes (docs/case-study-k562-chr22.md);
- data parallelism over all local devices with the Keras distribution API (JAX):
  `data_parallel: true` in a recipe, or build and fit inside `data_parallel_scope()`.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInputError
from .models.layers import PACKAGE


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (the `training:` block of a recipe)."""

    epochs: int = 200
    max_early_stopping: int = 5
    learning_rate: float = 2e-4
    decay: float = 1e-6
    batch_size: int = 1
    skip_without_tss: bool = True
    upstream_compat: bool = False
    batchnorm: str = "frozen"
    shuffle: bool = False
    seed: int = 0
    jit_compile: bool | str = "auto"
    data_parallel: bool = False


@dataclass
class TrainResult:
    """A trained model, its history and where it was saved."""

    model: Any
    history: dict[str, list[float]]
    best_epoch: int
    stopped_early: bool
    preset: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def _keras():
    import keras

    return keras


def poisson_loss_class():
    """The registered Keras loss: Poisson NLL (with lgamma) on the middle 400 nodes."""
    keras = _keras()
    from .models.losses import LOSS_NODES, poisson_nll

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


def upstream_compat_wrapper(model):
    """A model that always runs `model` in inference mode (dropout off, BN frozen statistics).

    Gradients still reach every trainable weight, BatchNorm's gamma/beta included:
    exactly what the original's `model(x)` calls inside GradientTape did.
    """
    keras = _keras()

    class InferenceModeTraining(keras.Model):
        def __init__(self, inner):
            super().__init__(name=f"{inner.name}_upstream_compat")
            self.inner = inner
            self.built = inner.built  # BackupAndRestore refuses an unbuilt model

        def call(self, inputs, training=None):
            return self.inner(inputs, training=False)

    return InferenceModeTraining(model)


def is_multitask(model) -> bool:
    """True for the e2e models: CAGE plus the three epigenomic heads, trained together."""
    from .geometry import EPI_TRACKS

    outputs = getattr(model, "_outputs_struct", {})
    return isinstance(outputs, dict) and "cage" in outputs and all(t in outputs for t in EPI_TRACKS)


def multitask_wrapper(model, upstream_compat: bool):
    """The e2e loss (UPSTREAM §2.6): a * NLL_cage(middle 400) + (1 - a) * sum of the three epigenomic
    NLLs over all 60,000 bins, with a = max(0.01, sigmoid(epoch - 10)) set each epoch by
    `task_weight_callback`. Model selection uses the validation CAGE NLL alone (`val_cage_nll`)."""
    keras = _keras()
    from .geometry import EPI_TRACKS
    from .models.losses import poisson_nll

    class MultiTaskTraining(keras.Model):
        def __init__(self, inner):
            super().__init__(name=f"{inner.name}_multitask")
            self.inner = inner
            self.cage_weight = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                               name="cage_task_weight")
            self.built = inner.built

        def call(self, inputs, training=None):
            outputs = self.inner(inputs, training=False if upstream_compat else training)
            return {k: outputs[k] for k in ("cage", *EPI_TRACKS)}  # the trained heads (not the bottleneck)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            epigenomic = sum(poisson_nll(y[t], y_pred[t], bins=None) for t in EPI_TRACKS)
            loss = self.cage_weight * poisson_nll(y["cage"], y_pred["cage"]) + (1.0 - self.cage_weight) * epigenomic
            if getattr(self.inner, "fft_prior", False) and training:
                loss = loss + fourier_prior_term(self.inner, x, upstream_compat)
            return loss

    return MultiTaskTraining(model)


def fourier_prior_term(model, inputs: dict, upstream_compat: bool):
    """The `_fft` e2e variants' prior (UPSTREAM §2.3, lambda = 1): the Fourier prior of
    |sum over bases of d(sum DNase output)/d(sequence) * sequence| over the 6 Mb window, with the
    e2e cutoff. Like the original's nested tapes it costs a second forward and backward pass; it is
    written for the TensorFlow and JAX backends."""
    keras = _keras()
    from keras import ops

    from .models.losses import FFT_CUTOFF_E2E, fourier_prior

    sequence = inputs["sequence"]

    def dnase_total(seq):
        outputs = model({**inputs, "sequence": seq}, training=False if upstream_compat else True)
        return ops.sum(outputs["dnase"])

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(sequence)
            total = dnase_total(sequence)
        grad = tape.gradient(total, sequence)
    elif backend == "jax":
        import jax

        grad = jax.grad(dnase_total)(sequence)
    else:
        raise InvalidInputError(f"the FFT prior is implemented for TensorFlow and JAX, not {backend}")
    attribution = ops.abs(ops.sum(grad * sequence, axis=-1))
    return fourier_prior(attribution, FFT_CUTOFF_E2E)


def task_weight_callback():
    """Sets the e2e CAGE task weight max(0.01, sigmoid(epoch - 10)) at every epoch start (and logs it)."""
    keras = _keras()
    from .models.losses import e2e_task_weight

    class TaskWeight(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.cage_weight.assign(e2e_task_weight(epoch))

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["cage_task_weight"] = e2e_task_weight(epoch)

    return TaskWeight()


def early_stopping_callback(max_early_stopping: int, monitor: str = "val_loss"):
    """The original's early stopping on `monitor`: counter = 1 on improvement, stop when it reaches the max."""
    keras = _keras()

    class UpstreamEarlyStopping(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = np.inf
            self.best_epoch = -1
            self.counter = 0
            self.best_weights = None
            self.stopped = False

        def on_epoch_end(self, epoch, logs=None):
            value = float((logs or {}).get(monitor, np.nan))
            if np.isfinite(value) and value < self.best:
                self.best, self.best_epoch, self.counter = value, epoch, 1
                self.best_weights = self.model.get_weights()
                return
            self.counter += 1
            if self.counter >= max_early_stopping:
                self.stopped = True
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return UpstreamEarlyStopping()


def set_frozen_batchnorm(model, frozen: bool) -> None:
    """Make every GraphReg BatchNorm layer train with frozen (moving) statistics, or not."""
    from .models.layers import BatchNorm

    for layer in model._flatten_layers():
        if isinstance(layer, BatchNorm):
            layer.frozen_statistics = frozen


def _progress_callback(total_epochs: int, enabled: bool):
    keras = _keras()
    from rich.console import Console

    console = Console(stderr=True)

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if enabled:
                logs = logs or {}
                parts = "  ".join(f"{k} {v:.4f}" for k, v in sorted(logs.items()) if np.isscalar(v))
                console.print(f"epoch {epoch + 1}/{total_epochs}  {parts}")

    return EpochLog()


def _datasets(model, cell, train_chroms, valid_chroms, config: TrainConfig, train_windows=None, valid_windows=None):
    from .prediction import _window_kind, input_names
    from .prep.windows import make_dataset

    kind = _window_kind(model)
    common = dict(kind=kind, skip_without_tss=config.skip_without_tss, batch_size=config.batch_size,
                  with_adjacency="adjacency" in input_names(model), coverage_targets=is_multitask(model))
    train = make_dataset(cell, train_chroms, shuffle=config.shuffle, seed=config.seed, windows=train_windows,
                         **common)
    valid = make_dataset(cell, valid_chroms, windows=valid_windows, **common)
    return train, valid


def _check_split(train_chroms, valid_chroms, train_windows, valid_windows) -> None:
    """Each role needs chromosomes or windows, and no window may serve both roles."""
    for role, chroms, wins in (("train", train_chroms, train_windows), ("valid", valid_chroms, valid_windows)):
        if not chroms and wins is None:
            raise InvalidInputError(f"give {role}_chroms or {role}_windows")
    if train_windows is None and valid_windows is None:
        overlap = set(train_chroms) & set(valid_chroms)
        if overlap:
            raise InvalidInputError(f"chromosomes {sorted(overlap)} are both training and validation chromosomes")
        return
    if train_windows is not None and valid_windows is not None:
        shared = set(train_windows) & set(valid_windows)
        if shared:
            raise InvalidInputError(f"{len(shared)} window(s) are both training and validation windows, e.g. "
                                    f"{min(shared, key=lambda w: (w.chrom, w.index))}")
        return
    chroms, wins = (valid_chroms, train_windows) if train_windows is not None else (train_chroms, valid_windows)
    clash = sorted({w.chrom for w in wins} & set(chroms or ()))
    if clash:
        raise InvalidInputError(f"chromosomes {clash} are a whole-chromosome role and also hold windows of the other")


def _configure_determinism(seed: int) -> None:
    keras = _keras()
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def data_parallel_scope(enabled: bool = True):
    """A context in which models are built and trained data-parallel over all local devices.

    Keras' distribution API (JAX backend) lays variables out when they are created, so the
    model must be built inside the scope, and `fit` run inside it too. With one device, or
    another backend, it is a no-op (for TensorFlow use tf.distribute.MirroredStrategy().scope()).
    """
    import contextlib

    keras = _keras()
    if not enabled or keras.backend.backend() != "jax" or len(keras.distribution.list_devices()) < 2:
        return contextlib.nullcontext()
    return keras.distribution.DataParallel(devices=keras.distribution.list_devices()).scope()


def fit(
    model,
    cell,
    *,
    train_chroms: list[str] | None = None,
    valid_chroms: list[str] | None = None,
    config: TrainConfig | None = None,
    train_windows: list | None = None,
    valid_windows: list | None = None,
    backup_dir: str | os.PathLike | None = None,
    progress: bool = True,
    extra_callbacks: list | None = None,
) -> TrainResult:
    """Train `model` on windows of `cell` (a CellData) and keep the best validation epoch.

    Returns the trained model (the best epoch's weights), the per-epoch history and
    whether early stopping fired. `backup_dir` makes the run resumable; `extra_callbacks`
    are Keras callbacks added to the run. `train_windows` / `valid_windows` (lists of
    `prep.windows.Window`) replace the chromosome lists for a window-level split, e.g. of one
    chromosome; a window may not be in both (adjacent windows still share input flanks).
    """
    keras = _keras()
    from .prep.cell import as_cell

    config = config or TrainConfig()
    cell = as_cell(cell)
    _check_split(train_chroms, valid_chroms, train_windows, valid_windows)
    _configure_determinism(config.seed)
    if config.batchnorm not in ("frozen", "batch"):
        raise InvalidInputError(f"batchnorm must be 'frozen' or 'batch', not {config.batchnorm!r}")
    set_frozen_batchnorm(model, config.batchnorm == "frozen")
    train_data, valid_data = _datasets(model, cell, train_chroms, valid_chroms, config, train_windows, valid_windows)
    schedule = keras.optimizers.schedules.InverseTimeDecay(config.learning_rate, decay_steps=1, decay_rate=config.decay)
    optimizer = keras.optimizers.Adam(schedule)
    callbacks = []
    if is_multitask(model):
        trainee = multitask_wrapper(model, config.upstream_compat)
        cage_nll = keras.metrics.MeanMetricWrapper(poisson_loss_class()(), name="nll")
        trainee.compile(optimizer=optimizer, metrics={"cage": [cage_nll]}, jit_compile=config.jit_compile)
        stopper = early_stopping_callback(config.max_early_stopping, monitor="val_cage_nll")
        callbacks.append(task_weight_callback())
    else:
        trainee = upstream_compat_wrapper(model) if config.upstream_compat else model
        trainee.compile(optimizer=optimizer, loss={"cage": poisson_loss_class()()}, jit_compile=config.jit_compile)
        stopper = early_stopping_callback(config.max_early_stopping)
    callbacks += [stopper, _progress_callback(config.epochs, progress)]
    if backup_dir is not None:
        callbacks.append(keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=True))
    callbacks.extend(extra_callbacks or [])
    history = trainee.fit(
        train_data, validation_data=valid_data, epochs=config.epochs, callbacks=callbacks, verbose=0
    )
    return TrainResult(
        model=model,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        best_epoch=stopper.best_epoch + 1,
        stopped_early=stopper.stopped,
    )


def train(recipe, data, *, fold: int | None = None, out_dir=None, progress: bool = True, **overrides) -> TrainResult:
    """Train a model from a recipe (path or dict) on a CellData and save a preset with a filled card.

    `fold` selects the original's chromosome fold (1..10); recipes may instead list
    `train`/`valid`/`test` chromosomes explicitly. The preset (config, weights, card with
    validation/test metrics, data provenance, the recipe and the package version) is
    written to `out_dir` atomically; an interrupted run resumes from `out_dir/.backup`.
    """
    from .recipes import build_model, load_recipe, split_chromosomes

    recipe = load_recipe(recipe)
    from .prep.cell import as_cell

    cell = as_cell(data)
    config = TrainConfig(**{**recipe.get("training", {}), **overrides})
    split = split_chromosomes(recipe, cell, fold)
    _configure_determinism(config.seed)  # before building: the initial weights are seeded too
    backup = Path(out_dir) / ".backup" if out_dir else None
    with data_parallel_scope(config.data_parallel):
        model = build_model(recipe, cell)
        result = fit(model, cell, train_chroms=split["train"], valid_chroms=split["valid"], config=config,
                     backup_dir=backup, progress=progress)
    result.metrics = held_out_metrics(result.model, cell, split)
    if out_dir is not None:
        result.preset = save_trained_preset(result, recipe, cell, split, fold, config, Path(out_dir))
    return result


def held_out_metrics(model, cell, split: dict[str, list[str]]) -> dict[str, Any]:
    """Gene-level metrics (gene sets A-D, pooled) on the validation and test chromosomes."""
    from .evaluation import evaluate
    from .prediction import predict

    metrics = {}
    for role in ("valid", "test"):
        if not split.get(role) or cell.cage(split[role][0]) is None:
            continue
        table = predict(model, cell, split[role], progress=False)
        pooled = evaluate(table).pooled()
        metrics[role] = {
            "chroms": split[role],
            **{row["set"]: {k: _plain(row[k]) for k in ("n_genes", "pearson", "spearman", "nll")}
               for _, row in pooled.iterrows()},
        }
    return metrics


def _plain(value):
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else float(value)


def save_trained_preset(result: TrainResult, recipe: dict, cell, split, fold, config: TrainConfig, out_dir: Path):
    """Save the preset with a zoo card filled from the run."""
    from . import __version__
    from .prediction import _track_quantiles
    from .zoo.presets import save_preset

    result.model.data_spec["track_quantiles"] = _track_quantiles(cell.attrs)
    result.model.data_spec["genome"] = cell.genome
    card = {
        "name": recipe.get("name", result.model.name),
        "recipe": recipe,
        "fold": fold,
        "chromosomes": split,
        "training": asdict(config),
        "history": result.history,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "metrics": result.metrics,
        "data": {"cell": str(cell.path), "genome": cell.genome, "provenance": cell.attrs.get("provenance")},
        "graphreg_zoo_version": __version__,
    }
    return save_preset(result.model, out_dir, card)
