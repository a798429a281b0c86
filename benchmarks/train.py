"""Training speed: one Epi-GraphReg epoch with our engine vs a loop that mirrors the original, and the
Seq-GraphReg e2e and Seq-CNN base train steps as the engine runs them (upstream_compat or corrected;
float32, mixed bfloat16, rematerialised trunk; with and without the FFT prior) with peak RSS.

    python benchmarks/train.py [--skip-steps]   # TensorFlow backend (the original's loop is TF-only)

The "original" loop is what the upstream scripts do: an eager `tf.GradientTape` per 6 Mb window,
`model(x)` without `training=True`, Poisson NLL on the middle 400 nodes, Adam(2e-4). The data are the
synthetic genome (`simulate --preset default`), prepared once into a temporary CellData.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def original_loop_epoch(cell, chroms) -> tuple[float, int]:
    """Seconds for one epoch of the upstream-style eager loop, and the number of windows."""
    import tensorflow as tf

    from graphreg_zoo.models import EpiGraphReg
    from graphreg_zoo.models.losses import poisson_nll
    from graphreg_zoo.prep.windows import cell_windows, window_arrays

    model = EpiGraphReg(seed=0)
    optimizer = tf.keras.optimizers.Adam(2e-4)
    windows = cell_windows(cell, chroms, skip_without_tss=True)
    start = time.perf_counter()
    for w in windows:
        a = window_arrays(cell, w, "epi")
        x = {"epigenome": a["epigenome"][None], "adjacency": a["adjacency"][None]}
        with tf.GradientTape() as tape:
            loss = poisson_nll(a["cage"][None], model(x)["cage"])
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return time.perf_counter() - start, len(windows)


def engine_epoch(cell, chroms, precision: str) -> float:
    """Seconds of training steps in one epoch of `training.fit` (the fastest of epochs 2-3;
    epoch 1 compiles; validation is left out, as the original loop above has none)."""
    import keras

    from graphreg_zoo.models import EpiGraphReg
    from graphreg_zoo.training.engine import TrainConfig, fit

    epochs: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs.append(0.0)

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            epochs[-1] += time.perf_counter() - self.start

    config = TrainConfig(epochs=3, max_early_stopping=99, upstream_compat=True)
    fit(EpiGraphReg(seed=0, precision=precision), cell, train_chroms=chroms, valid_chroms=["chr5"], config=config,
        progress=False, extra_callbacks=[Timer()])
    return min(epochs[1:])


def _step_data(family: str):
    """One training batch: a 6 Mb window for the e2e model, 4 x 100 kb chunks for the Seq-CNN base."""
    import numpy as np
    from _workload import adjacency, counts, one_hot

    from graphreg_zoo.geometry import EPI_TRACKS

    rng = np.random.default_rng(0)
    if family == "base":
        return {"sequence": one_hot(rng, 4, 100_000)}, {t: counts(rng, (4, 1000), 2.0) for t in EPI_TRACKS}
    x = {"sequence": one_hot(rng, 1, 6_000_000), "adjacency": adjacency(rng, 1)}
    return x, {"cage": counts(rng, (1, 1200)), **{t: counts(rng, (1, 60_000), 2.0) for t in EPI_TRACKS}}


def objective_step(family: str, precision: str, remat: bool, upstream_compat: bool, fft: bool) -> dict:
    """Seconds per train step of the Seq-GraphReg e2e model (`family="e2e"`) or the Seq-CNN base
    (`"base"`) as the engine runs it (the objective of `objectives.objective`, FFT prior included,
    frozen BatchNorm statistics), and the process's peak RSS."""
    import resource

    import keras
    from _workload import median_seconds

    from graphreg_zoo.models import SeqCNNBase, SeqGraphRegE2E
    from graphreg_zoo.training.engine import set_frozen_batchnorm
    from graphreg_zoo.training.objectives import objective

    x, y = _step_data(family)
    if family == "base":
        model = SeqCNNBase(precision=precision, fft_prior=fft)
    else:
        model = SeqGraphRegE2E(precision=precision, remat=remat, fft_prior=fft)
    set_frozen_batchnorm(model, True)
    goal = objective(model, upstream_compat)
    goal.trainee.compile(optimizer=keras.optimizers.Adam(2e-4), loss=goal.loss, metrics=goal.metrics)
    seconds = median_seconds(lambda: goal.trainee.train_on_batch(x, y), 3)
    return {"family": family, "precision": precision, "remat": remat, "upstream_compat": upstream_compat,
            "fft": fft, "seconds": seconds,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def _child(kind: str, *args) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps([kind, *args])], env=env,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode:
        return {"kind": kind, "error": done.stderr[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(kind: str, *args) -> dict:
    if kind == "step":
        return objective_step(*args)
    from graphreg_zoo.prep.cell import CellData

    cell, chroms = CellData(args[0]), ["chr1", "chr2", "chr3"]
    if kind == "original":
        seconds, n = original_loop_epoch(cell, chroms)
        return {"kind": kind, "epoch_s": seconds, "windows": n, "per_window_s": seconds / n}
    return {"kind": kind, "precision": args[1], "epoch_s": engine_epoch(cell, chroms, args[1])}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child(*json.loads(sys.argv[2]))))
        return
    from graphreg_zoo.prep.cell import prepare
    from graphreg_zoo.simulation.files import simulate

    with tempfile.TemporaryDirectory() as tmp:
        sim = simulate(Path(tmp) / "sim", preset="default", seed=0)
        cell = str(prepare(sim.files["cell_yaml"], Path(tmp) / "cell.h5", progress=False))
        original = _child("original", cell)
        print(json.dumps(original), flush=True)
        for precision in ("float32", "mixed_bfloat16"):
            ours = _child("engine", cell, precision)
            if "epoch_s" in ours and "epoch_s" in original:
                ours["speedup_vs_original"] = original["epoch_s"] / ours["epoch_s"]
            print(json.dumps(ours), flush=True)
    if "--skip-steps" in sys.argv:
        return
    for family, precision, remat, compat, fft in (
        ("e2e", "float32", False, True, False), ("e2e", "float32", False, False, False),
        ("e2e", "float32", True, True, False), ("e2e", "mixed_bfloat16", False, True, False),
        ("e2e", "float32", False, True, True),
        ("base", "float32", False, True, False), ("base", "float32", False, True, True),
        ("base", "mixed_bfloat16", False, True, True),
    ):
        print(json.dumps(_child("step", family, precision, remat, compat, fft)), flush=True)

if __name__ == "__main__":
    main()
