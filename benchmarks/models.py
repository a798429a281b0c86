"""Forward and train-step time per 6 Mb window and peak memory, per model and backend.

Each (model, mode) runs in its own subprocess so peak RSS is that configuration's alone.
Run by hand (not in CI):

    python benchmarks/models.py --backend tensorflow --backend jax --repeats 5
    python benchmarks/models.py --markdown >> docs/performance.md   # table of the last run

Modes: `eager` (model(x), how the original scripts call it), `compiled` (Keras predict /
train function, graph mode without XLA), `xla` (jit_compile=True).

Every time comes with the CPU model, the load average, the achieved GFLOP/s and its fraction of this
machine's own fp32 matrix-product peak, measured in the same run (numpy's and TensorFlow's sgemm on
2048 x 2048, the faster of the two). FLOPs per window are TensorFlow's profiler count over the traced
forward (or forward + gradient) graph (`_workload.model_flops`), the same for both backends.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).with_name("models_results.json")
MODELS = ("epi_graphreg", "epi_cnn", "seq_cnn_base", "seq_graphreg_e2e")  # the default run
OPTIONAL = ("seq_graphreg",)  # on a random 64-channel bottleneck
MODES = ("eager", "compiled", "xla")


def _inputs(name: str, batch: int):
    import numpy as np
    from _workload import adjacency, counts, epigenome, one_hot

    rng = np.random.default_rng(0)
    graph = adjacency(rng, batch)
    if name == "seq_graphreg":
        bottleneck = rng.normal(size=(batch, 60_000, 64)).astype("float32")
        return {"bottleneck": bottleneck, "adjacency": graph}, {"cage": counts(rng, (batch, 1200))}
    if name.startswith("epi"):
        x = {"epigenome": epigenome(rng, batch)}
        if name == "epi_graphreg":
            x["adjacency"] = graph
        return x, {"cage": counts(rng, (batch, 1200))}
    if name == "seq_cnn_base":
        target = counts(rng, (4 * batch, 1000))
        return {"sequence": one_hot(rng, 4 * batch, 100_000)}, {"h3k4me3": target, "h3k27ac": target, "dnase": target}
    return {"sequence": one_hot(rng, batch, 6_000_000), "adjacency": graph}, {"cage": counts(rng, (batch, 1200))}


def measure(name: str, mode: str, task: str, repeats: int, batch: int, precision: str = "float32") -> dict:
    """Run in a subprocess: one model, one mode, one task ('forward' or 'train')."""
    import resource

    import keras
    from _workload import as_predicted, median_seconds, model_by_name

    from graphreg_zoo.training.engine import set_frozen_batchnorm
    from graphreg_zoo.training.objectives import poisson_loss_class

    model = model_by_name(name, precision)
    set_frozen_batchnorm(model, task == "train")  # the engine trains with frozen BatchNorm statistics
    x, y = _inputs(name, batch)
    if task == "forward":
        x = as_predicted(x)
    if mode != "eager" or task == "train":
        loss = poisson_loss_class()(bins=None if name == "seq_cnn_base" else (400, 800))
        model.compile(optimizer=keras.optimizers.Adam(2e-4), loss={k: loss for k in y},
                      jit_compile=(mode == "xla"))
    if task == "forward":
        fn = (lambda: model(x, training=False)) if mode == "eager" else (lambda: model.predict_on_batch(x))
    else:
        if mode == "eager":
            model.run_eagerly = True
        fn = lambda: model.train_on_batch(x, y)  # noqa: E731
    seconds = median_seconds(fn, repeats) / batch
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return {"model": name, "mode": mode, "task": task, "batch": batch, "backend": keras.backend.backend(),
            "precision": precision, "seconds_per_window": seconds, "peak_rss_gb": rss_gb}


def flops(name: str, task: str, batch: int) -> float:
    """Run in a TensorFlow subprocess: FLOPs per window of one model and task."""
    from _workload import model_by_name, model_flops

    from graphreg_zoo.training.engine import set_frozen_batchnorm

    model = model_by_name(name)
    set_frozen_batchnorm(model, task == "train")
    return model_flops(model, _inputs(name, batch)[0], task) / batch


def machine() -> dict:
    """Run in a TensorFlow subprocess: the CPU model and its measured fp32 matrix-product rate."""
    from _workload import host_peak

    return host_peak()


def _child(kind: str, payload: list, backend: str = "tensorflow") -> dict | float | None:
    """One measurement in a fresh process (its own peak RSS, its own backend); None if it failed."""
    cmd = [sys.executable, __file__, f"--{kind}", json.dumps(payload)]
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        print(proc.stderr[-300:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _throughput(row: dict, flops_per_window: float | None, host: dict) -> dict:
    """Add the CPU, GFLOP per window, achieved GFLOP/s and the fraction of the measured peak to a row."""
    row = {**row, "cpu": host["cpu"], "peak_gflops": host["peak_gflops"]}
    if flops_per_window and "seconds_per_window" in row:
        rate = flops_per_window / row["seconds_per_window"] / 1e9
        row.update(gflop_per_window=flops_per_window / 1e9, gflops=rate, fraction_of_peak=rate / host["peak_gflops"])
    return row


def run_all(backends, models, modes, tasks, repeats, batch, precision="float32") -> list[dict]:
    from _workload import load_average

    host = {**(_child("machine", []) or {}), "load_start": load_average()}
    print(json.dumps(host), flush=True)
    results, counted = [], {}
    for backend in backends:
        for name in models:
            for task in tasks:
                for mode in modes:
                    if backend == "jax" and mode == "compiled":
                        continue  # JAX is always jit-compiled
                    row = _child("one", [name, mode, task, repeats, batch, precision], backend) or {
                        "model": name, "mode": mode, "task": task, "backend": backend, "error": "failed"}
                    key = (name, task)
                    if key not in counted:
                        counted[key] = _child("flops", [name, task, batch])
                    row = _throughput(row, counted[key], host)
                    print(json.dumps(row), flush=True)
                    results.append(row)
    host["load_end"] = load_average()
    return [{"host": host}, *results]


def markdown(results: list[dict]) -> str:
    """A heading line naming the CPU, its measured peak and the load, then one row per configuration."""
    host, rows = results[0]["host"], results[1:]
    sgemm = " / ".join(f"{k} {v:.0f}" for k, v in host["sgemm_gflops"].items())
    lines = [f"CPU: {host['cpu']}; fp32 sgemm 2048^3: {sgemm} GFLOP/s (peak {host['peak_gflops']:.0f}); "
             f"load average {host['load_start']:.1f} at the start, {host.get('load_end', float('nan')):.1f} at the end",
             "",
             "| model | backend | task | mode | batch | s / window | GFLOP / window | GFLOP/s | of peak | peak RSS GB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        precision = "" if r.get("precision", "float32") == "float32" else f" {r['precision']}"
        head = f"| {r['model']} | {r['backend']} | {r['task']} | {r['mode']}{precision} |"
        if "error" in r:
            lines.append(f"{head} - | error | - | - | - | - |")
            continue
        rate = (f"{r['gflop_per_window']:.2f} | {r['gflops']:.1f} | {r['fraction_of_peak']:.0%}" if "gflops" in r
                else "- | - | -")
        lines.append(f"{head} {r['batch']} | {r['seconds_per_window']:.3f} | {rate} | {r['peak_rss_gb']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--flops", help=argparse.SUPPRESS)
    parser.add_argument("--machine", help=argparse.SUPPRESS)
    parser.add_argument("--backend", action="append", choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--model", action="append", choices=MODELS + OPTIONAL)
    parser.add_argument("--mode", action="append", choices=MODES)
    parser.add_argument("--task", action="append", choices=["forward", "train"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--precision", default="float32", help="Keras dtype policy of the hidden layers "
                        "(mixed_bfloat16: what predict(precision='bfloat16') runs); FLOPs are counted as float32's")
    parser.add_argument("--markdown", action="store_true", help="print the last results as a Markdown table")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*json.loads(args.one))))
        return
    if args.flops:
        print(json.dumps(flops(*json.loads(args.flops))))
        return
    if args.machine:
        print(json.dumps(machine()))
        return
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    results = run_all(args.backend or ["tensorflow"], args.model or MODELS, args.mode or MODES,
                      args.task or ["forward", "train"], args.repeats, args.batch, args.precision)
    RESULTS.write_text(json.dumps(results, indent=1))
    print(markdown(results))


if __name__ == "__main__":
    main()
