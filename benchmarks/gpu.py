"""GPU throughput and memory (run by hand on a machine with an accelerator, JAX backend).

    KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false python benchmarks/gpu.py

Measures: Epi-GraphReg prediction throughput (windows/s) at batch 1/16/64, its train step, and the
Seq-GraphReg e2e train step (6 Mb window) in float32, mixed_bfloat16 and with rematerialised
sequence trunk, with the peak device memory of each (a fresh process per configuration).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

CASES = [
    ("epi_predict", 1, {}), ("epi_predict", 16, {}), ("epi_predict", 64, {}), ("epi_train", 1, {}),
    ("e2e_train", 1, {}), ("e2e_train", 1, {"precision": "mixed_bfloat16"}), ("e2e_train", 1, {"remat": True}),
    ("e2e_predict", 1, {}),
]


def _peak_gb() -> float:
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use", 0) / 2**30


def run_case(task: str, batch: int, options: dict) -> dict:
    import keras
    import numpy as np
    from _workload import adjacency, as_predicted, counts, epigenome, median_seconds, one_hot

    from graphreg_zoo.models import EpiGraphReg, SeqGraphRegE2E
    from graphreg_zoo.training.objectives import poisson_loss_class

    rng = np.random.default_rng(0)
    graph = adjacency(rng, batch)
    cage = counts(rng, (batch, 1200))
    if task.startswith("epi"):
        model = EpiGraphReg()
        x = {"epigenome": epigenome(rng, batch), "adjacency": graph}
    else:
        model = SeqGraphRegE2E(**options)
        x = {"sequence": one_hot(rng, batch, 6_000_000), "adjacency": graph}
    model.compile(optimizer=keras.optimizers.Adam(2e-4), loss={"cage": poisson_loss_class()()}, jit_compile=True)
    if task.endswith("predict"):
        x = as_predicted(x)
    fn = (lambda: model.predict_on_batch(x)) if task.endswith("predict") else (
        lambda: model.train_on_batch(x, {"cage": cage}))
    seconds = median_seconds(fn, 10)
    return {"task": task, "batch": batch, **options, "seconds_per_step": seconds,
            "windows_per_s": batch / seconds, "peak_device_gb": _peak_gb()}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("["):
        print(json.dumps(run_case(*json.loads(sys.argv[1]))), flush=True)
        return
    only = set(sys.argv[1:])  # optional task names to run, e.g. `e2e_train`
    import jax

    print(f"device: {jax.devices()[0].device_kind}", flush=True)
    for case in CASES:
        if only and case[0] not in only:
            continue
        done = subprocess.run([sys.executable, __file__, json.dumps(case)], capture_output=True, text=True,
                              env={**os.environ, "KERAS_BACKEND": "jax"}, timeout=300)
        lines = done.stdout.strip().splitlines()
        print(lines[-1] if done.returncode == 0 and lines else json.dumps({"case": case, "error": done.stderr[-400:]}),
              flush=True)


if __name__ == "__main__":
    main()
