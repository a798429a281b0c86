"""The two hand-written kernels of `graphreg_zoo.models.layers`, against what they replace, on the
shapes of the GraphReg models (TensorFlow, median of 15 compiled calls):

- `extreme_pool` when every BatchNorm scale is >= 0 (max only) and with mixed signs (max and min);
- a conv's forward pass plus its kernel gradient, the gradient as matrix products
  (`kernel_gradient="matmul"`) and as the backend's filter gradient (`"backend"`).

    python benchmarks/kernels.py
"""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

POOLS = [((1, 60_000, 128), 2), ((1, 30_000, 128), 5), ((4, 100_000, 256), 2)]
CONVS = [  # (batch, length, input channels, filters, kernel)
    (1, 30_000, 128, 128, 3), (1, 6_000, 128, 128, 3), (4, 50_000, 256, 128, 3), (60, 5_000, 64, 128, 3),
]


def _milliseconds(fn, *args) -> float:
    import numpy as np
    from _workload import median_seconds

    return 1e3 * median_seconds(lambda: np.asarray(fn(*args)), 15)


def pooling() -> None:
    import numpy as np
    import tensorflow as tf

    from graphreg_zoo.models.layers import extreme_pool

    rng = np.random.default_rng(0)
    print("| pooled tensor, window | max only | max and min |\n|---|---|---|")
    for shape, size in POOLS:
        x = tf.constant(rng.normal(size=shape).astype("float32"))
        pool = tf.function(lambda x, take_max, size=size: extreme_pool(x, take_max, size))
        all_max, mixed = np.ones(shape[-1], bool), np.arange(shape[-1]) % 5 > 0
        times = [_milliseconds(pool, x, tf.constant(signs)) for signs in (all_max, mixed)]
        print(f"| {' x '.join(map(str, shape))}, {size} | {times[0]:.1f} ms | {times[1]:.1f} ms |")


def kernel_gradients() -> None:
    import numpy as np
    import tensorflow as tf

    from graphreg_zoo.models.layers import Conv1D

    rng = np.random.default_rng(0)
    print("\n| conv (channels -> filters, batch x length) | products | backend filter gradient |\n|---|---|---|")
    for batch, length, channels, filters, kernel in CONVS:
        x = tf.constant(rng.normal(size=(batch, length, channels)).astype("float32"))
        times = []
        for how in ("matmul", "backend"):
            layer = Conv1D(filters, kernel, padding="same", kernel_gradient=how)
            layer.build((None, length, channels))

            @tf.function
            def kernel_gradient(x, layer=layer):
                with tf.GradientTape() as tape:
                    value = tf.reduce_sum(layer(x))
                return tape.gradient(value, layer.kernel.value)

            times.append(_milliseconds(kernel_gradient, x))
        print(f"| {channels} -> {filters}, {batch} x {length:,} | {times[0]:.1f} ms | {times[1]:.1f} ms |")


if __name__ == "__main__":
    pooling()
    kernel_gradients()
