"""The training engine behind the recipes (UPSTREAM §3 made explicit), backend-agnostic.

It uses Keras' own `fit` loop (XLA/jit compiled on every backend) with:
- Adam, learning rate 2e-4 with inverse-time decay 1e-6 per step (the original `decay=`);
- one 6 Mb window per step by default, windows without a TSS in their middle skipped;
- each family's objective (`objectives.py`): the CAGE Poisson NLL on the middle 400 nodes; the
  e2e models add their three epigenomic heads on raw coverage with the task weight
  max(0.01, sigmoid(epoch - 10)), epochs counted from 1 as in the original, and select on the
  validation CAGE NLL alone; the Seq-CNN base trains on 100 kb chunks 20..39 of each window,
  4 per step, on the mean of its three NLLs;
  the `_fft` variants add the Fourier attribution prior;
- separate training: Seq-GraphReg / Seq-CNN read the bottleneck of a frozen Seq-CNN base
  (`base=`), computed once per window (`bottlenecks.BottleneckCache`) instead of every step;
- model selection on the validation NLL with the original's early stopping, whose counter
  starts at 1, so `max_early_stopping=5` stops after 4 epochs without improvement;
- `upstream_compat=True` to train the way the original code actually ran: the model called
  without `training=True`, i.e. dropout off and BatchNorm in inference mode (moving
  statistics never updated, gamma/beta still learned);
- by default dropout on (as the paper describes the model) and BatchNorm with frozen
  statistics (`batchnorm="frozen"`): with one 6 Mb window per step, batch statistics are one
  window's statistics, the moving averages never match them, and validation in inference
  mode degrades (measured on the synthetic genome: training/README.md, "Training modes
  measured"). `batchnorm="batch"` is standard BN;
- resumable runs (Keras BackupAndRestore; the early-stopping state, best weights and history are kept
  beside the backup, so a resumed run selects among all its epochs; the epochs after a restart see the
  windows in another order than an uninterrupted run would), seeded and deterministic on CPU;
- chromosome-level splits, or window-level ones (`train_windows=`/`valid_windows=`) for data with
  few chromosomes (docs/case-study-k562-chr22.md);
- data parallelism over all local devices with the Keras distribution API (JAX):
  `data_parallel: true` in a recipe, or build and fit inside `data_parallel_scope()`.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import InvalidInputError, TrainingDivergedError
from ..zoo.ensemble import FoldEnsemble
from .objectives import is_base, is_multitask, objective


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
    base_chunks: tuple[int, int] = (20, 40)  # Seq-CNN base: the chunks of each window it trains on
    chunk_batch: int = 4  # Seq-CNN base: chunks per step
    e2e_cage_epoch: int = 10  # e2e: the epoch at which CAGE gets half the loss (the original's 10)


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


def early_stopping_callback(max_early_stopping: int, monitor: str = "val_loss", state_dir=None):
    """The original's early stopping on `monitor`: counter = 1 on improvement, stop when it reaches the max.

    It also keeps every epoch's logs (`epoch_logs`, the run's whole history). With `state_dir` (the
    run's backup folder) it writes that state and the best weights there after every epoch and reads
    them back when a resumed run starts: without it, a run resumed by BackupAndRestore would forget the
    epochs before the interruption, pick its best epoch among the later ones only and report a
    history without the earlier epochs.
    """
    keras = _keras()
    from .._atomic import atomic_path

    class UpstreamEarlyStopping(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = np.inf
            self.best_epoch = -1
            self.counter = 0
            self.best_weights = None
            self.stopped = False
            self.epoch_logs: dict[int, dict[str, float]] = {}
            self._dir = Path(state_dir) if state_dir is not None else None
            self._resumed = False

        def on_epoch_begin(self, epoch, logs=None):
            if not self._resumed:  # the first epoch of this call: BackupAndRestore has set where it starts
                self._resumed = True
                self._restore(epoch)

        def _restore(self, first_epoch: int) -> None:
            if self._dir is None or not (self._dir / "state.json").is_file() or first_epoch == 0:
                return
            state = json.loads((self._dir / "state.json").read_text())
            # The backup may be one epoch behind this state (an interruption between the two writes): replay
            # the epochs before the one the run resumes at.
            self.epoch_logs = {int(e): v for e, v in state["epoch_logs"].items() if int(e) < first_epoch}
            self.best, self.best_epoch, self.counter = np.inf, -1, 0
            for epoch in sorted(self.epoch_logs):
                self._update(epoch, self.epoch_logs[epoch])
            saved = self._weights_file(self.best_epoch)
            if self.best_epoch >= 0 and saved.is_file():
                with np.load(saved) as arrays:
                    self.best_weights = [arrays[f"w{i}"] for i in range(len(arrays.files))]

        def _update(self, epoch: int, logs: dict) -> bool:
            value = float(logs.get(monitor, np.nan))
            if np.isfinite(value) and value < self.best:
                self.best, self.best_epoch, self.counter = value, epoch, 1
                return True
            self.counter += 1
            return False

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_logs[epoch] = {k: float(v) for k, v in (logs or {}).items()}
            if self._update(epoch, self.epoch_logs[epoch]):
                self.best_weights = self.model.get_weights()
                self._save_weights(epoch)
            self._save_state()
            if self.counter >= max_early_stopping:
                self.stopped = True
                self.model.stop_training = True

        def _weights_file(self, epoch: int) -> Path:
            return self._dir / f"best_epoch{epoch}.npz"

        def _save_weights(self, epoch: int) -> None:
            """This best epoch's weights; the previous best's stay (a resume may need it, see `_restore`)."""
            if self._dir is None:
                return
            self._dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(self._weights_file(epoch)) as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, **{f"w{i}": w for i, w in enumerate(self.best_weights)})
            saved = sorted(self._dir.glob("best_epoch*.npz"), key=lambda p: int(p.stem.removeprefix("best_epoch")))
            for old in saved[:-2]:
                old.unlink()

        def _save_state(self) -> None:
            if self._dir is None:
                return
            self._dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(self._dir / "state.json") as tmp:
                Path(tmp).write_text(json.dumps({"epoch_logs": self.epoch_logs}))

        def history(self) -> dict[str, list[float]]:
            """Every epoch's logs of the run, resumed parts included, as Keras' History has them."""
            keys = sorted({k for logs in self.epoch_logs.values() for k in logs})
            return {k: [self.epoch_logs[e].get(k, float("nan")) for e in sorted(self.epoch_logs)] for k in keys}

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return UpstreamEarlyStopping()


def set_frozen_batchnorm(model, frozen: bool) -> None:
    """Make every GraphReg BatchNorm layer train with frozen (moving) statistics, or not."""
    from ..models.layers import BatchNorm

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


def _datasets(model, cell, train_chroms, valid_chroms, config: TrainConfig, train_windows=None, valid_windows=None,
              bottlenecks=None):
    from ..models.inference import input_names, window_kind
    from ..prep.windows import make_dataset

    if is_base(model):
        return tuple(_chunk_dataset(cell, chroms, wins, config, shuffle=role == "train")
                     for role, chroms, wins in (("train", train_chroms, train_windows),
                                                ("valid", valid_chroms, valid_windows)))
    kind = "epi" if bottlenecks else window_kind(model)
    common = dict(kind=kind, skip_without_tss=config.skip_without_tss, batch_size=config.batch_size,
                  with_adjacency="adjacency" in input_names(model), coverage_targets=is_multitask(model),
                  bottlenecks=bottlenecks)
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


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seed every generator and, on TensorFlow, run ops deterministically inside the block only.

    TensorFlow's op determinism is process-wide and rules out XLA, so leaving it on would silently
    slow every later prediction in the same process; it is restored to what it was on exit.
    """
    keras = _keras()
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config  # `is_`/`disable_` are not under tf.config

    was_on = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if not was_on:
            tf_config.disable_op_determinism()


@contextlib.contextmanager
def _frozen_batchnorm(model, frozen: bool) -> Iterator[None]:
    """BatchNorm layers train with frozen statistics (or not) inside the block; the caller's flags after."""
    from ..models.layers import BatchNorm

    layers = [layer for layer in model._flatten_layers() if isinstance(layer, BatchNorm)]
    before = [layer.frozen_statistics for layer in layers]
    set_frozen_batchnorm(model, frozen)
    try:
        yield
    finally:
        for layer, flag in zip(layers, before):
            layer.frozen_statistics = flag


def data_parallel_scope(enabled: bool = True):
    """A context in which models are built and trained data-parallel over all local devices.

    Keras' distribution API (JAX backend) lays variables out when they are created, so the
    model must be built inside the scope, and `fit` run inside it too. With one device, or
    another backend, it is a no-op (for TensorFlow use tf.distribute.MirroredStrategy().scope()).
    """
    keras = _keras()
    if not enabled or keras.backend.backend() != "jax" or len(keras.distribution.list_devices()) < 2:
        return contextlib.nullcontext()
    return keras.distribution.DataParallel(devices=keras.distribution.list_devices()).scope()


def _chunk_dataset(cell, chroms, windows, config: TrainConfig, shuffle: bool = False):
    from .chunks import make_chunk_dataset

    return make_chunk_dataset(cell, chroms, windows=windows, skip_without_tss=config.skip_without_tss,
                              chunks=tuple(config.base_chunks), chunk_batch=config.chunk_batch,
                              shuffle=shuffle and config.shuffle, seed=config.seed)


def _frozen_base(model, base, bottleneck_dir, cell):
    """The bottleneck source of a separately trained Seq model (None for other models); the head
    records the base (fold, flavour, weights) so prediction pairs it with that base only."""
    from ..models.inference import input_names, needs_bottleneck
    from .bottlenecks import BottleneckCache, base_record

    if not needs_bottleneck(input_names(model)):
        return None
    if base is None:
        raise InvalidInputError(f"{model.name} trains on the bottleneck of a frozen Seq-CNN base: pass base= "
                                "(--base) a trained Seq-CNN base of the same fold")
    if isinstance(base, FoldEnsemble) or not is_base(base):
        raise InvalidInputError(f"base= must be one Seq-CNN base model (one fold), not {getattr(base, 'name', base)!r}")
    model.data_spec["base"] = base_record(base)
    return BottleneckCache(base, cell, bottleneck_dir)


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
    base=None,
    bottleneck_dir: str | os.PathLike | None = None,
) -> TrainResult:
    """Train `model` on windows of `cell` (a CellData) and keep the best validation epoch.

    Returns the trained model (the best epoch's weights), the per-epoch history and
    whether early stopping fired. `backup_dir` makes the run resumable; `extra_callbacks`
    are Keras callbacks added to the run. `train_windows` / `valid_windows` (lists of
    `prep.windows.Window`) replace the chromosome lists for a window-level split, e.g. of one
    chromosome; a window may not be in both (adjacent windows still share input flanks).
    A Seq-CNN base trains on chunks of the same windows. A separate Seq-GraphReg / Seq-CNN needs
    `base`, the frozen Seq-CNN base whose bottleneck it reads; the bottlenecks are computed once
    per window and kept in memory, or as files under `bottleneck_dir`.
    """
    keras = _keras()
    from ..prep.cell import as_cell

    config = config or TrainConfig()
    cell = as_cell(cell)
    bottlenecks = _frozen_base(model, base, bottleneck_dir, cell)
    _check_split(train_chroms, valid_chroms, train_windows, valid_windows)
    if config.batchnorm not in ("frozen", "batch"):
        raise InvalidInputError(f"batchnorm must be 'frozen' or 'batch', not {config.batchnorm!r}")
    with deterministic(config.seed), _frozen_batchnorm(model, config.batchnorm == "frozen"):
        train_data, valid_data = _datasets(model, cell, train_chroms, valid_chroms, config, train_windows,
                                           valid_windows, bottlenecks)
        goal = objective(model, config.upstream_compat, config.e2e_cage_epoch)
        goal.trainee.compile(optimizer=_optimizer(model, config), loss=goal.loss, metrics=goal.metrics,
                             jit_compile=config.jit_compile)
        stopper = early_stopping_callback(config.max_early_stopping, monitor=goal.monitor,
                                          state_dir=Path(backup_dir) / "selection" if backup_dir is not None else None)
        callbacks = [*goal.callbacks, stopper, keras.callbacks.TerminateOnNaN(),
                     _progress_callback(config.epochs, progress)]
        if backup_dir is not None:
            callbacks.append(keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=True))
        callbacks.extend(extra_callbacks or [])
        goal.trainee.fit(train_data, validation_data=valid_data, epochs=config.epochs, callbacks=callbacks, verbose=0)
    history = stopper.history()
    _check_finite(history.get("loss", []), model, config)
    return TrainResult(
        model=model,
        history=history,
        best_epoch=stopper.best_epoch + 1,
        stopped_early=stopper.stopped,
    )


def _optimizer(model, config: TrainConfig):
    """Adam with the original's inverse-time decay; loss-scaled when any layer computes in float16.

    Keras scales the loss by itself only when the compiled model's own policy is mixed_float16; our
    models keep a float32 policy and set `precision` per layer (the rate heads stay float32), so
    without the wrapper small float16 gradients underflow to zero.
    """
    keras = _keras()
    schedule = keras.optimizers.schedules.InverseTimeDecay(config.learning_rate, decay_steps=1, decay_rate=config.decay)
    adam = keras.optimizers.Adam(schedule)
    if any(layer.dtype_policy.name == "mixed_float16" for layer in model.layers):
        return keras.optimizers.LossScaleOptimizer(adam)
    return adam


def _check_finite(losses: list[float], model, config: TrainConfig) -> None:
    """Stop with an actionable error when the training loss overflowed (TerminateOnNaN ended the run)."""
    if all(np.isfinite(losses)):
        return
    hint = ("train as the original did (upstream_compat: true, as the packaged recipes), " if not
            config.upstream_compat else "")
    raise TrainingDivergedError(
        f"training {model.name} diverged: the loss became {losses[-1]} in epoch {len(losses)}. Its exponential "
        f"heads overflowed; {hint}use batchnorm: batch, or lower learning_rate ({config.learning_rate}). "
        "(With dropout on and frozen BatchNorm statistics, the dilated Seq-CNN base overflows at initialisation.)"
    )


def train(recipe, data, *, fold: int | None = None, out_dir=None, progress: bool = True, base=None,
          **overrides) -> TrainResult:
    """Train a model from a recipe (path or dict) on a CellData and save a preset with a filled card.

    `fold` selects the original's chromosome fold (1..10); recipes may instead list
    `train`/`valid`/`test` chromosomes explicitly. The preset (config, weights, card with
    validation/test metrics, data provenance, the recipe and the package version) is
    written to `out_dir` atomically; an interrupted run resumes from `out_dir/.backup`.
    Recipes of separately trained Seq models need `base`: the trained Seq-CNN base (model,
    preset path or zoo name; of a fold ensemble the member of `fold` is used).
    """
    from ..prep.cell import as_cell
    from .recipes import build_model, load_recipe, split_chromosomes

    recipe = load_recipe(recipe)
    cell = as_cell(data)
    config = TrainConfig(**{**recipe.get("training", {}), **overrides})
    split = split_chromosomes(recipe, cell, fold)
    base_model = _resolve_base(base, fold, recipe)
    out = Path(out_dir) if out_dir else None
    with deterministic(config.seed), data_parallel_scope(config.data_parallel):  # seeded before building
        model = build_model(recipe, cell)
        result = fit(model, cell, train_chroms=split["train"], valid_chroms=split["valid"], config=config,
                     backup_dir=out / ".backup" if out else None, progress=progress,
                     base=base_model,
                     bottleneck_dir=out / ".bottlenecks" if out else None)
        result.metrics = held_out_metrics(result.model, cell, split, base=base_model, config=config)
    if out is not None:
        result.preset = save_trained_preset(result, recipe, cell, split, fold, config, out, base=base_model)
        shutil.rmtree(out / ".bottlenecks", ignore_errors=True)
    return result


def _resolve_base(base, fold: int | None, recipe: dict):
    """The Seq-CNN base model of this fold from a model, preset path, zoo name or fold ensemble."""
    if base is None:
        wanted = recipe.get("data", {}).get("base_model")
        if wanted:
            raise InvalidInputError(f"recipe {recipe.get('name')!r} trains on a frozen Seq-CNN base: pass base= "
                                    f"(--base) the {wanted!r} model of the same fold (a preset trained with that "
                                    "recipe, or its zoo name)")
        return None
    from ..zoo.load import as_model

    base = as_model(base)
    if isinstance(base, FoldEnsemble):
        if fold not in base.models:
            raise InvalidInputError(f"the base ensemble has folds {sorted(base.models)}; this run needs fold {fold}")
        base = base.models[fold]
    return base


def held_out_pearson(metrics: dict[str, Any], role: str = "test") -> dict[str, float]:
    """Pearson R of `held_out_metrics` on one role's chromosomes: `{"cage": R}` for a CAGE model (gene set A),
    one R per track for a Seq-CNN base."""
    held_out = metrics[role]
    if "A" in held_out:
        return {"cage": held_out["A"]["pearson"]}
    return {track: m["pearson"] for track, m in held_out.items() if track != "chroms"}


def held_out_metrics(model, cell, split: dict[str, list[str]], base=None, config: TrainConfig | None = None
                     ) -> dict[str, Any]:
    """Gene-level metrics (gene sets A-D, pooled) on the validation and test chromosomes; for a
    Seq-CNN base, per-track NLL and Pearson R on the chunks it trains on (`base_metrics`)."""
    from ..evaluation.evaluator import evaluate
    from ..prediction import predict

    metrics = {}
    for role in ("valid", "test"):
        if not split.get(role):
            continue
        if is_base(model):
            metrics[role] = {"chroms": split[role], **base_metrics(model, cell, split[role], config)}
            continue
        if cell.cage(split[role][0]) is None:
            continue
        table = predict(model, cell, split[role], progress=False, base=base)
        pooled = evaluate(table, include="all").pooled()  # the model has no card yet: `role` holds its split
        metrics[role] = {
            "chroms": split[role],
            **{row["set"]: {k: _plain(row[k]) for k in ("n_genes", "pearson", "spearman", "nll")}
               for _, row in pooled.iterrows()},
        }
    return metrics


def base_metrics(model, cell, chroms: list[str], config: TrainConfig | None = None) -> dict[str, dict[str, float]]:
    """A Seq-CNN base on the training chunks of `chroms`: per track the mean Poisson NLL (all bins)
    and the Pearson R of log2(x + 1) of predicted and observed 100 bp coverage."""
    from ..models.inference import compile_for_inference
    from ..models.losses import poisson_nll

    data = _chunk_dataset(cell, chroms, None, config or TrainConfig())
    compile_for_inference(model, data[0][0] if len(data) else None)
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for i in range(len(data)):
        inputs, targets = data[i]
        outputs = model.predict_on_batch(inputs)
        for track, observed in targets.items():
            pairs.setdefault(track, []).append((np.asarray(outputs[track]), observed))
    out = {}
    for track, items in pairs.items():
        predicted = np.concatenate([p.ravel() for p, _ in items])
        observed = np.concatenate([o.ravel() for _, o in items])
        r = np.corrcoef(np.log2(predicted + 1), np.log2(observed + 1))[0, 1] if observed.std() > 0 else np.nan
        out[track] = {"n_bins": int(observed.size), "nll": float(poisson_nll(observed, predicted, bins=None)),
                      "pearson": _plain(float(r))}
    return out


def _plain(value):
    return None if value is None or (isinstance(value, float) and not np.isfinite(value)) else float(value)


def save_trained_preset(result: TrainResult, recipe: dict, cell, split, fold, config: TrainConfig, out_dir: Path,
                        base=None):
    """Save the preset with a zoo card filled from the run (and the frozen base it read, if any)."""
    from .._version import __version__
    from ..contract import recorded_contract, set_on_model
    from ..prediction import _track_quantiles
    from ..zoo.presets import save_preset

    result.model.data_spec["track_quantiles"] = _track_quantiles(cell.attrs)
    set_on_model(result.model, recorded_contract(cell))  # how the training cell was made, genome included
    result.model.data_spec["fold"] = fold
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
        "backend": _keras().backend.backend(),
    }
    if base is not None:
        from .bottlenecks import weights_fingerprint

        card["base_model"] = {"name": base.name, "weights_sha256_16": weights_fingerprint(base),
                              "recipe": recipe.get("data", {}).get("base_model")}
    return save_preset(result.model, out_dir, card)
