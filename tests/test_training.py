"""The training engine on the tiny synthetic genome: loss goes down, early stopping, presets
with filled cards, resumption, determinism, and data parallelism on two virtual devices."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from graphreg_zoo.training.engine import TrainConfig, early_stopping_callback, fit, train
from graphreg_zoo.zoo.presets import load_preset, read_card
from tests.conftest import HEAVY

pytestmark = pytest.mark.backend

RECIPE = {
    "name": "tiny_test",
    "model": {"class": "EpiGraphReg", "config": {"n_gat_layers": 2}},
    "chromosomes": {"train": ["chr1"], "valid": ["chr2"], "test": ["chr2"]},
    "training": {"epochs": 3, "learning_rate": 2e-4, "upstream_compat": True, "skip_without_tss": True, "seed": 0},
}


def test_upstream_early_stopping_counts_like_the_original():
    """Counter = 1 on improvement; stop when it reaches max_early_stopping (5 -> 4 bad epochs)."""

    class Holder:
        stop_training = False

        def get_weights(self):
            return []

        def set_weights(self, weights):
            pass

    stopper = early_stopping_callback(5)
    stopper.set_model(Holder())
    for epoch, loss in enumerate([3.0, 2.0, 2.5, 2.4, 2.2, 2.1]):
        stopper.on_epoch_end(epoch, {"val_loss": loss})
        if stopper.model.stop_training:
            break
    assert stopper.best_epoch == 1 and epoch == 5 and stopper.stopped


def test_the_e2e_task_weight_counts_epochs_from_one_like_the_original():
    """The original sets alpha = max(0.01, sigmoid(epoch - 10)) in `for epoch in range(1, n_epochs + 1)`;
    Keras numbers the same epochs 0.., so Keras epoch 9 (the tenth) must weigh CAGE 0.5."""
    import math

    import keras

    from graphreg_zoo.training.objectives import task_weight_callback

    class View:
        cage_weight = keras.Variable(0.0)

    callback = task_weight_callback()
    callback.set_model(View())
    for original_epoch in range(1, 21):
        expected = max(0.01, 1.0 / (1.0 + math.exp(-(original_epoch - 10))))
        logs = {}
        callback.on_epoch_begin(original_epoch - 1)
        callback.on_epoch_end(original_epoch - 1, logs)
        assert float(View.cage_weight) == pytest.approx(expected, rel=1e-6), original_epoch
        assert logs["cage_task_weight"] == pytest.approx(expected)
    callback.on_epoch_begin(9)
    assert float(View.cage_weight) == pytest.approx(0.5)


def test_mixed_float16_trains_with_loss_scaling(synth_cell):
    """Float16 gradients underflow without loss scaling; Keras adds it only for a model whose own policy
    is mixed_float16, and ours set `precision` per layer."""
    import keras

    from graphreg_zoo.models import EpiCNN

    class Spy(keras.callbacks.Callback):
        optimizers = []

        def on_train_begin(self, logs=None):
            self.optimizers.append(self.model.optimizer)

    config = TrainConfig(epochs=1, upstream_compat=True)
    result = fit(EpiCNN(precision="mixed_float16"), synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"],
                 config=config, progress=False, extra_callbacks=[Spy()])
    assert isinstance(Spy.optimizers[0], keras.optimizers.LossScaleOptimizer)
    assert np.isfinite(result.history["loss"][0])


def test_a_tiny_run_learns_and_saves_a_preset_with_its_card(synth_cell, tmp_path):
    result = train(RECIPE, synth_cell, out_dir=tmp_path / "preset", progress=False)
    losses = result.history["loss"]
    assert losses[-1] < losses[0], losses
    card = read_card(tmp_path / "preset")
    assert card["metrics"]["test"]["A"]["n_genes"] > 0 and np.isfinite(card["metrics"]["test"]["A"]["pearson"])
    assert card["chromosomes"]["train"] == ["chr1"] and card["recipe"]["name"] == "tiny_test"
    assert card["history"]["val_loss"] == result.history["val_loss"]
    reloaded = load_preset(tmp_path / "preset")
    assert reloaded.data_spec["genome"] == synth_cell.genome and "track_quantiles" in reloaded.data_spec
    from graphreg_zoo.contract import check, recorded_contract

    contract = reloaded.data_spec["contract"]  # how the training cell was made, for the check at predict time
    assert contract == recorded_contract(synth_cell)
    assert contract["track_stat"]["value"] == synth_cell.attrs["tracks"]["dnase"]["stat"]
    assert contract["cage_scale"]["confidence"] == "recorded" and contract["cage_scale"]["value"] > 0
    assert check(contract, synth_cell, "tiny_test").mismatches == []
    from graphreg_zoo.prediction import predict

    before = predict(result.model, synth_cell, progress=False)["prediction"].to_numpy()
    after = predict(reloaded, synth_cell, progress=False)["prediction"].to_numpy()
    np.testing.assert_allclose(after, before, rtol=1e-6)
    assert not (tmp_path / "preset" / ".backup").exists()


def test_early_stopping_fires_without_improvement(synth_cell):
    from graphreg_zoo.models import EpiGraphReg

    config = TrainConfig(epochs=6, max_early_stopping=2, learning_rate=0.0, upstream_compat=True)
    result = fit(EpiGraphReg(seed=0), synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"], config=config,
                 progress=False)
    assert result.stopped_early and len(result.history["loss"]) == 2 and result.best_epoch == 1


def test_fit_leaves_no_process_wide_state_and_restores_the_callers_flags(synth_cell):
    """Op determinism (process-wide, rules out XLA) is off again after training, and the model's
    BatchNorm layers are back to the caller's setting."""
    import keras

    from graphreg_zoo.models import EpiGraphReg
    from graphreg_zoo.models.layers import BatchNorm

    model = EpiGraphReg(seed=0)
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, BatchNorm)]
    assert norms and not any(layer.frozen_statistics for layer in norms)
    fit(model, synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"], config=TrainConfig(epochs=1, seed=3),
        progress=False)
    assert not any(layer.frozen_statistics for layer in norms)
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework import config as tf_config

        assert not tf_config.is_op_determinism_enabled()


def test_training_is_deterministic_on_cpu(synth_cell):
    import keras

    from graphreg_zoo.models import EpiGraphReg

    config = TrainConfig(epochs=1, seed=3)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        runs.append(fit(EpiGraphReg(seed=0), synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"],
                        config=config, progress=False))
    assert runs[0].history == runs[1].history
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_an_interrupted_run_resumes(synth_cell, tmp_path):
    import keras

    from graphreg_zoo.models import EpiGraphReg

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    config = TrainConfig(epochs=3, upstream_compat=True)
    args = dict(train_chroms=["chr1"], valid_chroms=["chr2"], config=config, backup_dir=tmp_path / "backup",
                progress=False)
    def fresh():
        keras.utils.set_random_seed(0)  # the same initial weights in every run
        return EpiGraphReg(seed=0)

    with pytest.raises(KeyboardInterrupt):
        fit(fresh(), synth_cell, extra_callbacks=[Interrupt()], **args)
    assert (tmp_path / "backup").exists()
    resumed = fit(fresh(), synth_cell, **args)
    assert not (tmp_path / "backup").exists()
    # The resumed run remembers the epochs before the interruption: its history holds them as the same run
    # done in one go has them, and its best epoch is chosen among all three (it used to report only the
    # epoch after the resume and pick its best among the epochs after it). The epoch after the resume
    # visits the windows in another order than in the run done in one go (the data pipeline starts
    # afresh), so from there on the two differ by training noise.
    whole = fit(fresh(), synth_cell, **{**args, "backup_dir": tmp_path / "whole"})
    assert len(resumed.history["loss"]) == 3
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(resumed.history[key][:2], whole.history[key][:2], rtol=1e-6)
    assert resumed.best_epoch == int(np.argmin(resumed.history["val_loss"])) + 1


def test_a_resumed_run_keeps_a_best_epoch_from_before_the_interruption(tmp_path):
    """Early stopping state and best weights survive a restart: epoch 0 is the best, the run is interrupted
    after epoch 1 and resumes; the best stays epoch 0 with its weights, and the counter goes on."""

    class Holder:
        stop_training = False
        weights = [np.zeros(2)]

        def get_weights(self):
            return [w.copy() for w in self.weights]

        def set_weights(self, weights):
            self.weights = weights

    first = early_stopping_callback(3, state_dir=tmp_path)
    first.set_model(Holder())
    for epoch, loss in enumerate([1.0, 2.0]):
        first.on_epoch_begin(epoch)
        first.model.weights = [np.full(2, float(epoch))]
        first.on_epoch_end(epoch, {"val_loss": loss})
    resumed = early_stopping_callback(3, state_dir=tmp_path)
    resumed.set_model(Holder())
    resumed.on_epoch_begin(2)  # where BackupAndRestore resumes
    resumed.model.weights = [np.full(2, 2.0)]
    resumed.on_epoch_end(2, {"val_loss": 3.0})
    assert resumed.best_epoch == 0 and resumed.stopped  # counter 1 (epoch 0), 2, 3: stop
    resumed.on_train_end()
    np.testing.assert_array_equal(resumed.model.weights[0], [0.0, 0.0])
    assert resumed.history()["val_loss"] == [1.0, 2.0, 3.0]


DATA_PARALLEL = """
import json, sys
from graphreg_zoo.models import EpiGraphReg
from graphreg_zoo.prep.cell import CellData
from graphreg_zoo.training.engine import TrainConfig, data_parallel_scope, fit
import keras

cell = CellData(sys.argv[1])
config = TrainConfig(epochs=2, batch_size=2, seed=0, upstream_compat=True, skip_without_tss=False)
keras.utils.set_random_seed(0)
with data_parallel_scope(sys.argv[2] == "1"):
    distributed = keras.distribution.distribution() is not None
    result = fit(EpiGraphReg(seed=0), cell, train_chroms=["chr1"], valid_chroms=["chr2"], config=config,
                 progress=False)
print(json.dumps({"devices": len(keras.distribution.list_devices()), "distributed": distributed,
                  "history": result.history}))
"""


@pytest.mark.slow
def test_two_virtual_devices_give_the_same_loss_trajectory(synth_cell):
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    runs = []
    for parallel in ("0", "1"):
        done = subprocess.run([sys.executable, "-c", DATA_PARALLEL, str(synth_cell.path), parallel], env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert runs[1]["devices"] == 2 and runs[1]["distributed"] and not runs[0]["distributed"]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(runs[1]["history"][key], runs[0]["history"][key], rtol=1e-3)


@pytest.mark.slow
@HEAVY
def test_e2e_models_train_with_the_multitask_loss(synth_cell):
    """CAGE + three epigenomic heads, the task weight schedule, selection on the validation CAGE NLL."""
    import keras

    from graphreg_zoo.models import SeqGraphRegE2E

    keras.utils.set_random_seed(0)
    config = TrainConfig(epochs=1, upstream_compat=True)
    result = fit(SeqGraphRegE2E(seed=0), synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"], config=config,
                 progress=False)
    assert result.history["cage_task_weight"] == [0.01]
    assert np.isfinite(result.history["val_cage_nll"][0]) and np.isfinite(result.history["loss"][0])
    assert result.best_epoch == 1


def test_fft_prior_with_remat_is_refused_on_tensorflow_with_the_fix_and_allowed_on_jax():
    import keras

    from graphreg_zoo.errors import InvalidInputError
    from graphreg_zoo.models import SeqGraphRegE2E
    from graphreg_zoo.training.objectives import objective

    model = SeqGraphRegE2E(fft_prior=True, remat=True)
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(InvalidInputError, match="remat=False, or train on the JAX backend"):
            objective(model, upstream_compat=True)
    else:
        assert objective(model, upstream_compat=True).monitor == "val_cage_nll"


@pytest.mark.slow
@HEAVY
def test_fft_e2e_variant_adds_the_fourier_prior(synth_cell):
    """The `_fft` e2e model trains with the Fourier attribution prior (a loss term in [0, 1])."""
    import keras

    from graphreg_zoo.models import SeqGraphRegE2E

    losses = {}
    for fft in (False, True):
        keras.utils.set_random_seed(0)
        config = TrainConfig(epochs=1, upstream_compat=True, learning_rate=0.0)
        result = fit(SeqGraphRegE2E(seed=0, fft_prior=fft), synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"],
                     config=config, progress=False)
        losses[fft] = result.history["loss"][0]
    prior = losses[True] - losses[False]
    assert 0.0 < prior < 1.0, losses
