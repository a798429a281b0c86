"""Synthetic model inputs, the models by benchmark name, and the timing loop shared by the model benchmarks
(models, original, train, gpu)."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np


def one_hot(rng: np.random.Generator, batch: int, length: int) -> np.ndarray:
    """Random one-hot DNA, (batch, length, 4) float32."""
    return np.eye(4, dtype="float32")[rng.integers(0, 4, size=(batch, length))]


def adjacency(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Random 1200-node graphs with 1 % of the pairs connected, (batch, 1200, 1200) float32."""
    return (rng.random((batch, 1200, 1200)) < 0.01).astype("float32")


def as_predicted(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A batch as prediction hands it to the model (`inference.model_inputs`: the adjacency as booleans), so a
    timed forward converts what prediction's does; train steps keep float32, as the training data feeds it."""
    from graphreg_zoo.models.inference import model_inputs

    n = len(next(iter(inputs.values())))
    return model_inputs(list(inputs), [{k: v[i] for k, v in inputs.items()} for i in range(n)])


def epigenome(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Three gamma-distributed 100 bp tracks over a 6 Mb window, (batch, 60000, 3) float32."""
    return rng.gamma(0.5, 2, size=(batch, 60000, 3)).astype("float32")


def counts(rng: np.random.Generator, shape: tuple[int, ...], rate: float = 3.0) -> np.ndarray:
    """Poisson targets of the given shape, float32."""
    return rng.poisson(rate, size=shape).astype("float32")


def model_by_name(name: str, precision: str = "float32"):
    """A fresh model of the family the benchmarks call `name` (epi_graphreg, epi_cnn, seq_cnn_base,
    seq_graphreg, seq_graphreg_e2e), at a Keras dtype policy where it is not float32."""
    from graphreg_zoo.models import EpiCNN, EpiGraphReg, SeqCNNBase, SeqGraphReg, SeqGraphRegE2E

    cls = {"epi_graphreg": EpiGraphReg, "epi_cnn": EpiCNN, "seq_cnn_base": SeqCNNBase, "seq_graphreg": SeqGraphReg,
           "seq_graphreg_e2e": SeqGraphRegE2E}[name]
    return cls() if precision == "float32" else cls(precision=precision)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `fn` over `repeats` calls, after one warm-up (compiling) call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def cpu_model() -> str:
    """The CPU model (lscpu's "Model name"), as the compile-choice cache keys it."""
    from graphreg_zoo.models.compile_choice import cpu_model as model_name

    return model_name()


def load_average() -> float:
    """The 1-minute load average: the machine is shared, so every table says how busy it was."""
    import os

    return os.getloadavg()[0]


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """This machine's fp32 matrix-product rate (GFLOP/s, 2 n^3 per n x n product, best of `repeats`) through
    numpy's BLAS and TensorFlow's: the peak the models' throughput is compared against."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    ta, tb = tf.constant(a), tf.constant(b)
    products = {"numpy": lambda: a @ b, "tensorflow": lambda: tf.linalg.matmul(ta, tb).numpy()}
    out = {}
    for name, fn in products.items():
        fn()
        best = min(_seconds(fn) for _ in range(repeats))
        out[name] = 2 * n**3 / best / 1e9
    return out


def host_peak() -> dict:
    """The CPU model and its fp32 matrix-product rates measured now, with the best of them as `peak_gflops`."""
    sgemm = sgemm_gflops()
    return {"cpu": cpu_model(), "sgemm_gflops": sgemm, "peak_gflops": max(sgemm.values())}


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def graph_flops(fn: Callable, specs) -> float:
    """Floating-point operations of one call of `fn(specs)`, as TensorFlow's profiler counts its traced
    graph: convolutions, matrix products (batched too) and elementwise ops by their registered statistics;
    ops without one (the attention's small Einsum, pooling, control flow) count zero."""
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = tf.function(fn).get_concrete_function(specs).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return float(model_analyzer.profile(graph, options=options).total_float_ops)


def model_flops(model, inputs: dict[str, np.ndarray], task: str) -> float:
    """FLOPs of one forward (`task='forward'`) or one gradient step (`'train'`: forward in training mode
    plus the gradient of the summed outputs with respect to every trainable weight; the optimizer's
    elementwise update is left out) of a TensorFlow-backend model on `inputs`."""
    import tensorflow as tf

    specs = {name: tf.TensorSpec(array.shape, tf.float32) for name, array in inputs.items()}
    if task == "forward":
        return graph_flops(lambda x: model(x, training=False), specs)

    def step(x):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            total = tf.add_n([tf.reduce_sum(tf.cast(o, tf.float32)) for o in tf.nest.flatten(outputs)])
        return tape.gradient(total, model.trainable_variables)

    return graph_flops(step, specs)
