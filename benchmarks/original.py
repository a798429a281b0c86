"""The original GraphReg networks run the way the original scripts run them, on this machine: the
baseline for the speed and memory targets in docs/performance.md.

Loads the checkpoints written by the original model code (the parity fixtures, legacy Keras-2
HDF5) with `tf_keras`, checks that they reproduce the original forward outputs stored beside them,
then times the forward pass and one train step as the upstream scripts do them: eager `model(x)`,
a `GradientTape` and Adam(2e-4) on the Poisson NLL (CAGE on the middle 400 nodes). "graph" is the
same step inside `tf.function`. The same loop then runs around our Keras 3 model of the same
family, so the two differ only in the network; and last the "package" row: the call the package itself
makes (prediction's forward in the compile form measured fastest here, the engine's train step as the
recipes train), the number issue 18 compares with the original's graph form. Every (implementation,
model, task, mode) runs in its own subprocess, `--runs` times, so each peak RSS is that configuration's
alone.

    pip install "tf_keras==$(python -c 'import tensorflow as t; print(*t.__version__.split(".")[:2], sep=".")').*"
    python benchmarks/original.py [--model epi_cnn ...] [--runs 3] [--fixtures DIR]

`seq_graphreg_e2e` is left out unless asked for: its eager train step needs about 10 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "upstream"
MODELS = ("epi_graphreg", "epi_cnn", "seq_cnn_base", "seq_graphreg_e2e")
# Which of the original model's (flattened) outputs are which rate, in the fixtures' output order.
ORIGINAL_OUTPUTS = {"epi_graphreg": ("cage",), "epi_cnn": ("cage",),
                    "seq_cnn_base": ("h3k4me3", "h3k27ac", "dnase"),
                    "seq_graphreg_e2e": ("cage", "h3k4me3", "h3k27ac", "dnase")}
CAGE_LOSS_NODES = slice(400, 800)


def original_graph_attention_class():
    """The original GraphAttention layer (UPSTREAM §1.3), for tf_keras, quirks included: Dropout and
    LeakyReLU made inside `call`, sigmoid scores normalised by 1 + their sum, per-head outputs
    concatenated, then the activation; it returns [features, alpha per head]."""
    import tensorflow as tf
    import tf_keras

    class GraphAttention(tf_keras.layers.Layer):
        IGNORED = ("kernel_initializer", "bias_initializer", "attn_kernel_initializer", "kernel_regularizer",
                   "bias_regularizer", "attn_kernel_regularizer", "kernel_constraint", "bias_constraint",
                   "attn_kernel_constraint")

        def __init__(self, F_, attn_heads=1, attn_heads_reduction="concat", dropout_rate=0.5, activation="relu",
                     use_bias=False, **kwargs):
            for key in self.IGNORED:
                kwargs.pop(key, None)
            super().__init__(**kwargs)
            self.F_, self.heads, self.dropout_rate = F_, attn_heads, dropout_rate
            self.activation = tf_keras.activations.get(activation)

        def build(self, input_shape):
            features = input_shape[0][-1]
            self.head_weights = [
                [self.add_weight(name=f"{kind}_{k}", shape=shape)
                 for kind, shape in (("kernel_self", (features, self.F_)), ("kernel_neighs", (features, self.F_)),
                                     ("attn_kernel_self", (self.F_, 1)), ("attn_kernel_neigh", (self.F_, 1)))]
                for k in range(self.heads)]

        def call(self, inputs, training=None):
            x, adjacency = inputs
            outputs, alphas = [], []
            for w_self, w_neigh, a_self, a_neigh in self.head_weights:
                own, neighbours = tf.matmul(x, w_self), tf.matmul(x, w_neigh)
                scores = tf.matmul(own, a_self) + tf.transpose(tf.matmul(neighbours, a_neigh), [0, 2, 1])
                scores = tf_keras.layers.LeakyReLU(alpha=0.2)(scores) - 10e15 * (1.0 - adjacency)
                weights = tf.sigmoid(scores)
                norm = 1.0 + tf.reduce_sum(weights, axis=-1, keepdims=True)
                alpha = weights / norm
                dropout = tf_keras.layers.Dropout(self.dropout_rate)
                outputs.append(dropout(own, training=training) / norm
                               + tf.matmul(alpha, dropout(neighbours, training=training)))
                alphas.append(alpha)
            return [self.activation(tf.concat(outputs, axis=-1))] + alphas

    return GraphAttention


def _inputs(name: str, fixtures: Path) -> tuple[list, dict]:
    """The original's inputs (a list, in its input order) and Poisson targets per rate output."""
    import numpy as np
    from _workload import counts, one_hot

    rng = np.random.default_rng(0)
    io = np.load(fixtures / f"{name}_io.npz")
    if name == "seq_cnn_base":  # upstream trains the base on batches of 4 x 100 kb
        x = [one_hot(rng, 4, 100_000)]
    elif name == "seq_graphreg_e2e":
        x = [io["seq"], io["adj"]]
    else:
        x = [io["X_epi"]] + ([io["adj"]] if name == "epi_graphreg" else [])
    if name == "seq_cnn_base":
        return x, {k: counts(rng, (4, 1000)) for k in ORIGINAL_OUTPUTS[name]}
    return x, {k: counts(rng, (1, 1200 if k == "cage" else 60_000)) for k in ORIGINAL_OUTPUTS[name]}


def poisson_loss(targets: dict, rates: dict):
    """Sum over outputs of the mean Poisson NLL (CAGE on the middle 400 nodes), as upstream. Written in
    TensorFlow here rather than `graphreg_zoo.models.losses.poisson_nll`, so that the original's process
    imports nothing of ours and its memory is the original's alone."""
    import tensorflow as tf

    total = 0.0
    for key, y in targets.items():
        mu = tf.reshape(tf.cast(rates[key], tf.float32), y.shape)
        if key == "cage":
            y, mu = y[:, CAGE_LOSS_NODES], mu[:, CAGE_LOSS_NODES]
        total += tf.reduce_mean(mu - y * tf.math.log(mu + 1e-20) + tf.math.lgamma(y + 1.0))
    return total


def original_network(name: str, fixtures: Path):
    """(model, optimizer, call) for the original checkpoint; checks its forward pass against the fixture."""
    import numpy as np
    import tf_keras

    custom_objects = {"GraphAttention": original_graph_attention_class(), "L2": tf_keras.regularizers.L2,
                      "GlorotUniform": tf_keras.initializers.GlorotUniform, "Zeros": tf_keras.initializers.Zeros}
    model = tf_keras.models.load_model(fixtures / f"{name}.h5", compile=False, custom_objects=custom_objects)
    io = np.load(fixtures / f"{name}_io.npz")
    manifest = json.loads((fixtures / "fixtures_manifest.json").read_text())[name]
    expected = io[manifest["outputs_in_flattened_model_output_order"][0]]
    got = model([io[k] for k in manifest["model_inputs"]])
    got = np.asarray(got[0] if isinstance(got, (list, tuple)) else got).reshape(expected.shape)
    np.testing.assert_allclose(got, expected, rtol=5e-4, atol=1e-4, err_msg=f"{name}: not the original network")

    def call(x):
        out = model(x)
        out = out if isinstance(out, (list, tuple)) else [out]
        return dict(zip(ORIGINAL_OUTPUTS[name], out))

    return model, tf_keras.optimizers.Adam(2e-4), call


def our_network(name: str):
    """(model, optimizer, call) for our model of the family, BatchNorm statistics frozen as upstream's loop."""
    import keras
    from _workload import model_by_name

    from graphreg_zoo.training.engine import set_frozen_batchnorm

    model = model_by_name(name)
    set_frozen_batchnorm(model, True)
    keys = ("epigenome",) if name == "epi_cnn" else ("epigenome", "adjacency")

    def call(x):
        if name.startswith("seq"):
            sequence = keras.ops.reshape(x[0], (1, -1, 4)) if name == "seq_graphreg_e2e" else x[0]
            return model({"sequence": sequence, **({"adjacency": x[1]} if len(x) > 1 else {})})
        return model(dict(zip(keys, x)))

    return model, keras.optimizers.Adam(2e-4), call


def package_call(name: str, task: str, x: list, y: dict):
    """The call the package itself makes for one window: the forward of prediction (compiled in the form
    measured fastest on this machine, `models.inference.compile_for_inference`) or the train step of
    the engine (`training.objectives.objective` with `upstream_compat`, as the packaged recipes train:
    Keras' compiled train function with the family's loss and metrics)."""
    import keras
    from _workload import as_predicted

    from graphreg_zoo.models.inference import compile_for_inference
    from graphreg_zoo.training.objectives import objective

    model, _, _ = our_network(name)
    keys = {"epi_graphreg": ("epigenome", "adjacency"), "epi_cnn": ("epigenome",), "seq_cnn_base": ("sequence",),
            "seq_graphreg_e2e": ("sequence", "adjacency")}[name]
    inputs = dict(zip(keys, x))
    if name == "seq_graphreg_e2e":
        inputs["sequence"] = inputs["sequence"].reshape(1, -1, 4)
    if task == "forward":
        inputs = as_predicted(inputs)
        compile_for_inference(model, inputs)
        return lambda: model.predict_on_batch(inputs)
    goal = objective(model, upstream_compat=True)
    goal.trainee.compile(optimizer=keras.optimizers.Adam(2e-4), loss=goal.loss, metrics=goal.metrics)
    targets = {k: v.reshape(v.shape[0], -1) for k, v in y.items()}
    return lambda: goal.trainee.train_on_batch(inputs, targets)


def measure(implementation: str, name: str, task: str, mode: str, repeats: int, fixtures: str) -> dict:
    """Run in a subprocess: seconds per call (median) and the process's peak RSS."""
    import resource

    import tensorflow as tf
    from _workload import median_seconds

    x, y = _inputs(name, Path(fixtures))
    if implementation == "package":
        seconds = median_seconds(package_call(name, task, x, y), repeats)
        return {"implementation": implementation, "model": name, "task": task, "mode": mode, "seconds": seconds,
                "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}
    x = [tf.constant(a) for a in x]
    y = {k: tf.constant(v) for k, v in y.items()}
    if implementation == "original":
        model, optimizer, call = original_network(name, Path(fixtures))
    else:
        model, optimizer, call = our_network(name)

    def forward():
        return call(x)

    def train_step():
        with tf.GradientTape() as tape:
            loss = poisson_loss(y, call(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    fn = forward if task == "forward" else train_step
    seconds = median_seconds(tf.function(fn) if mode == "graph" else fn, repeats)
    return {"implementation": implementation, "model": name, "task": task, "mode": mode, "seconds": seconds,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def run(config: list, runs: int) -> list[dict]:
    """`runs` fresh subprocesses for one configuration; their rows, or one error row."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    rows = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, __file__, "--one", json.dumps(config)], env=env,
                              capture_output=True, text=True, timeout=3600)
        if done.returncode:
            return [{"config": config, "error": done.stderr.strip()[-400:]}]
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


def summary(rows: list[dict]) -> str:
    """One Markdown table row per configuration: time and peak RSS ranges over the runs."""
    if "error" in rows[0]:
        return f"| {' | '.join(map(str, rows[0]['config'][:4]))} | error | {rows[0]['error'][-120:]} |"
    r = rows[0]
    seconds = sorted(row["seconds"] for row in rows)
    rss = sorted(row["peak_rss_gb"] for row in rows)
    return (f"| {r['model']} | {r['task']} | {r['mode']} | {r['implementation']} | "
            f"{seconds[0]:.3f}-{seconds[-1]:.3f} | {rss[0]:.2f}-{rss[-1]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--model", action="append", choices=MODELS)
    parser.add_argument("--task", action="append", choices=["forward", "train"])
    parser.add_argument("--mode", action="append", choices=["eager", "graph"])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per configuration")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per process")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*json.loads(args.one))))
        return
    try:
        import tf_keras  # noqa: F401  (the original's Keras 2)
    except ImportError:
        sys.exit("benchmarks/original.py needs tf_keras matching your TensorFlow: see this file's docstring")
    print("| model | task | mode | implementation | s per call | peak RSS GB |\n|---|---|---|---|---|---|")
    for name in args.model or MODELS[:3]:
        for task in args.task or ["forward", "train"]:
            for mode in args.mode or ["eager", "graph"]:
                for implementation in ("original", "ours"):
                    config = [implementation, name, task, mode, args.repeats, str(args.fixtures)]
                    print(summary(run(config, args.runs)), flush=True)
            config = ["package", name, task, "package", args.repeats, str(args.fixtures)]
            print(summary(run(config, args.runs)), flush=True)


if __name__ == "__main__":
    main()
