"""Custom Keras 3 layers of GraphReg: graph attention and the 100 kb chunking reshapes.

Everything here uses `keras.ops` only, so it runs on TensorFlow, JAX and PyTorch.
"""
from __future__ import annotations

import keras
from keras import ops

PACKAGE = "graphreg_zoo"


@keras.saving.register_keras_serializable(package=PACKAGE)
class GraphAttention(keras.layers.Layer):
    """GraphReg's graph attention layer (UPSTREAM §1.3), batched and multi-head.

    Per head h: ``S = X W_self``, ``Q = X W_neigh``; scores
    ``e_ij = LeakyReLU_0.2(S_i a_self + Q_j a_neigh)`` on edges of the binary
    adjacency ``A`` (no self loops); ``s_ij = sigmoid(e_ij)`` (zero off-edge);
    ``alpha_ij = s_ij / (1 + sum_j s_ij)`` and self weight ``beta_i = 1 / (1 + sum_j s_ij)``;
    ``h_i = beta_i Dropout(S)_i + sum_j alpha_ij Dropout(Q)_j``. Heads are
    concatenated (channel = units*h + k), then ELU.

    Unlike the original, every one of the ``4 * heads`` weights gets its own
    initialisation (the original shared one initializer instance, so all heads
    started identical), and the layer works for any batch size.

    Args:
        units: features per head (F' = 32 in GraphReg).
        heads: number of attention heads (4).
        dropout: dropout rate on the projected features (0.5), active in training only.
        negative_slope: LeakyReLU slope of the scores (0.2).
        kernel_initializer: initializer for each projection and attention kernel.

    Call args: ``inputs = (x, adjacency)`` with x (B, N, F) and adjacency (B, N, N).
    Returns ``(features (B, N, heads*units), attention (B, heads, N, N))``.

    Example:
        >>> layer = GraphAttention(units=32, heads=4)
        >>> h, att = layer([x, adjacency])
    """

    def __init__(
        self,
        units: int = 32,
        heads: int = 4,
        dropout: float = 0.5,
        negative_slope: float = 0.2,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.heads = heads
        self.dropout = dropout
        self.negative_slope = negative_slope
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.feature_dropout = keras.layers.Dropout(dropout, name="feature_dropout")

    def _fresh_initializer(self, index: int):
        """A new initializer per weight; a seeded one gets a distinct seed per weight."""
        config = keras.initializers.serialize(self.kernel_initializer)
        init = keras.initializers.deserialize(config)
        seed = getattr(init, "seed", None)
        if isinstance(seed, int):
            init.seed = seed + index
        return init

    def build(self, input_shape):
        features = input_shape[0][-1]
        index = 0
        for h in range(self.heads):
            for name, shape in (
                (f"kernel_self_{h}", (features, self.units)),
                (f"kernel_neighs_{h}", (features, self.units)),
                (f"attn_kernel_self_{h}", (self.units, 1)),
                (f"attn_kernel_neigh_{h}", (self.units, 1)),
            ):
                setattr(self, name, self.add_weight(name=name, shape=shape, initializer=self._fresh_initializer(index)))
                index += 1
        self.feature_dropout.build((None, self.heads, None, self.units))

    def _stacked(self, prefix: str):
        return [getattr(self, f"{prefix}_{h}") for h in range(self.heads)]

    def _heads(self, x, prefix: str):
        """Project x (B, N, F) with the stacked per-head kernels -> (B, H, N, U)."""
        kernel = ops.concatenate(self._stacked(prefix), axis=1)  # (F, H*U), channel = U*h + k
        batch, nodes = ops.shape(x)[0], ops.shape(x)[1]
        projected = ops.reshape(ops.matmul(x, kernel), (batch, nodes, self.heads, self.units))
        return ops.transpose(projected, (0, 2, 1, 3))

    def call(self, inputs, training=None):
        x, adjacency = inputs
        s = self._heads(x, "kernel_self")
        q = self._heads(x, "kernel_neighs")
        a_self = ops.concatenate(self._stacked("attn_kernel_self"), axis=1)  # (U, H)
        a_neigh = ops.concatenate(self._stacked("attn_kernel_neigh"), axis=1)
        scores = ops.expand_dims(ops.einsum("bhnu,uh->bhn", s, a_self), -1) + ops.expand_dims(
            ops.einsum("bhnu,uh->bhn", q, a_neigh), -2
        )  # (B, H, N, N)
        scores = ops.leaky_relu(scores, self.negative_slope)
        edges = ops.expand_dims(adjacency > 0, 1)
        if keras.backend.backend() == "jax":  # zero off-edge: a select, which XLA fuses on JAX (twice as fast a
            gates = ops.where(edges, ops.sigmoid(scores), 0.0)  # forward as the product: docs/performance.md)
        else:  # a product: TensorFlow's broadcast-select gradient cost 12 % of a train step
            gates = ops.sigmoid(scores) * ops.cast(edges, scores.dtype)
        denominator = 1.0 + ops.sum(gates, axis=-1, keepdims=True)  # (B, H, N, 1)
        s = self.feature_dropout(s, training=training)
        q = self.feature_dropout(q, training=training)
        # beta_i S_i + sum_j alpha_ij Q_j  with  beta = 1/d, alpha = gates/d
        out = (s + ops.matmul(gates, q)) / denominator
        batch, nodes = ops.shape(x)[0], ops.shape(x)[1]
        out = ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (batch, nodes, self.heads * self.units))
        return ops.elu(out), gates / denominator

    def compute_output_shape(self, input_shape):
        x_shape, adj_shape = input_shape
        return (
            (x_shape[0], x_shape[1], self.heads * self.units),
            (x_shape[0], self.heads, adj_shape[1], adj_shape[2]),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            heads=self.heads,
            dropout=self.dropout,
            negative_slope=self.negative_slope,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class SplitChunks(keras.layers.Layer):
    """(B, n_chunks*chunk, C) -> (B*n_chunks, chunk, C): each chunk convolved on its own.

    This reproduces the original sequence models, which fed a 6 Mb window as a
    batch of 100 kb chunks (zero padding at every chunk edge).
    """

    def __init__(self, chunk_length: int, **kwargs):
        super().__init__(**kwargs)
        self.chunk_length = chunk_length

    def call(self, x):
        return ops.reshape(x, (-1, self.chunk_length, ops.shape(x)[-1]))

    def compute_output_shape(self, input_shape):
        return (None, self.chunk_length, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "chunk_length": self.chunk_length}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MergeChunks(keras.layers.Layer):
    """(B*n_chunks, L, C) -> (B, n_chunks*L, C), row-major (position = chunk*L + i)."""

    def __init__(self, n_chunks: int, **kwargs):
        super().__init__(**kwargs)
        self.n_chunks = n_chunks

    def call(self, x):
        length, channels = ops.shape(x)[1], ops.shape(x)[2]
        return ops.reshape(x, (-1, self.n_chunks * length, channels))

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else self.n_chunks * input_shape[1]
        return (None, length, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "n_chunks": self.n_chunks}


@keras.saving.register_keras_serializable(package=PACKAGE)
class StackAttention(keras.layers.Layer):
    """Stack per-layer attention maps (B, H, N, N) into (B, n_layers, H, N, N)."""

    def call(self, maps):
        return ops.stack(maps, axis=1)

    def compute_output_shape(self, input_shape):
        first = input_shape[0]
        return (first[0], len(input_shape), *first[1:])


def _windows(x, size: int):
    """(B, L, C) -> (B, L // size, size, C), dropping a remainder (`valid` padding)."""
    length, channels = ops.shape(x)[1], ops.shape(x)[2]
    if isinstance(length, int) and length % size == 0:
        return ops.reshape(x, (-1, length // size, size, channels))  # no slice: its gradient is a full copy
    kept = (length // size) * size
    return ops.reshape(x[:, :kept], (-1, kept // size, size, channels))


def max_pool(x, size: int):
    """Max pooling over axis 1 with stride = size and `valid` padding, as reshape + max.

    Same values as `keras.layers.MaxPooling1D`, but its gradient is an elementwise mask
    instead of XLA's select-and-scatter, which is several times slower on CPU.
    """
    return ops.max(_windows(x, size), axis=2)


def extreme_pool(x, take_max, size: int):
    """Per channel the max (where `take_max`, shape (C,)) or the min of each window of `size`.

    Its gradient goes to the window's selected element (shared equally between ties, as
    TensorFlow's max gradient), written directly instead of through the generic reduction
    gradient, which makes five passes over the full-size tensor. When every channel takes the
    max (every BatchNorm scale >= 0, as in every fixture) the min is not computed: that halves the
    pooling's cost.
    """

    @ops.custom_gradient
    def pool(x, take_max):
        windows = _windows(x, size)
        chosen = ops.cond(ops.all(take_max), lambda: ops.max(windows, axis=2),
                          lambda: ops.where(take_max, ops.max(windows, axis=2), ops.min(windows, axis=2)))

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            hit = ops.equal(windows, ops.expand_dims(chosen, 2))
            share = upstream / ops.sum(ops.cast(hit, upstream.dtype), axis=2)
            dx = ops.where(hit, ops.expand_dims(share, 2), ops.zeros((), upstream.dtype))
            dx = ops.reshape(dx, (ops.shape(x)[0], -1, ops.shape(x)[2]))
            if dx.shape[1] != x.shape[1]:
                dx = ops.pad(dx, ((0, 0), (0, ops.shape(x)[1] - ops.shape(dx)[1]), (0, 0)))
            return dx, ops.zeros_like(take_max)

        return chosen, grad

    return pool(x, take_max)


def same_conv_with_matmul_kernel_gradient(x, kernel):
    """A stride-1, `same`-padded 1D convolution (channels last) whose kernel gradient is computed
    as one matrix product per tap, ``dK[k] = X_k^T dY`` with ``X_k`` the input shifted by tap k.

    The values and the input gradient are the backend's own convolution and transposed
    convolution. On TensorFlow, oneDNN's filter gradient of long inputs with many channels runs
    far below the machine's matrix-product speed, which the products reach (measured by
    `benchmarks/kernels.py`; numbers in docs/performance.md).
    """

    @ops.custom_gradient
    def conv(x, kernel):
        y = ops.conv(x, kernel, strides=1, padding="same")

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            dx = ops.conv_transpose(upstream, kernel, strides=1, padding="same")
            return dx, ops.cast(_kernel_gradient_by_products(x, upstream, kernel.shape[0]), kernel.dtype)

        return y, grad

    return conv(x, ops.copy(kernel))  # a tensor: TensorFlow would treat a variable read inside as captured


def _kernel_gradient_by_products(x, upstream, size: int):
    """``dK[k] = sum over (batch, position l) of x[l + k - left] dy[l]^T`` for a stride-1 `same` conv.

    Each tap is one product of the batch flattened to rows. The rows shifted by the tap's offset
    are slices along the first axis, which TensorFlow takes without a copy where a row is a multiple
    of 64 bytes (16 float32 channels; every model here); padded, shifted copies per tap would cost
    memory and time in every train step. Flattening pairs the last rows of one
    sequence with the first rows of the next, where `same` padding has zeros: those few products
    are subtracted.
    """
    length = ops.shape(x)[1]
    rows_x, rows_dy = ops.reshape(x, (-1, x.shape[-1])), ops.reshape(upstream, (-1, upstream.shape[-1]))
    rows = ops.shape(rows_x)[0]
    left = (size - 1) // 2  # `same` padding puts the odd extra zero on the right
    taps = []
    for k in range(size):
        shift = k - left
        if shift > 0:
            tap = ops.einsum("lc,lo->co", rows_x[shift:], rows_dy[: rows - shift])
            tap -= ops.einsum("bjc,bjo->co", x[1:, :shift], upstream[:-1, length - shift:])
        elif shift < 0:
            tap = ops.einsum("lc,lo->co", rows_x[: rows + shift], rows_dy[-shift:])
            tap -= ops.einsum("bjc,bjo->co", x[:-1, length + shift:], upstream[1:, :-shift])
        else:
            tap = ops.einsum("lc,lo->co", rows_x, rows_dy)
        taps.append(tap)
    return ops.stack(taps)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Conv1D(keras.layers.Conv1D):
    """Keras' Conv1D with a faster training step on long, wide inputs on TensorFlow.

    Args:
        kernel_gradient: "auto" (default), "matmul" or "backend". With "matmul" the kernel
            gradient is computed by `same_conv_with_matmul_kernel_gradient` (stride 1, no dilation,
            `same` padding only); "auto" does so where it pays: on the TensorFlow backend (oneDNN's
            filter gradient; XLA's, on JAX, is faster than the products), kernel <= `MAX_KERNEL`,
            at least `MIN_CHANNELS` input channels over at least `MIN_LENGTH` positions, all known
            when the layer is built. Other arguments as keras.layers.Conv1D.

    Same weights, names and values as keras.layers.Conv1D; timings in docs/performance.md.
    """

    MIN_CHANNELS = 64
    MIN_LENGTH = 5000
    MAX_KERNEL = 5

    def __init__(self, *args, kernel_gradient: str = "auto", **kwargs):
        super().__init__(*args, **kwargs)
        if kernel_gradient not in ("auto", "matmul", "backend"):
            raise ValueError(f"kernel_gradient must be 'auto', 'matmul' or 'backend', not {kernel_gradient!r}")
        self.kernel_gradient = kernel_gradient
        self.matmul_kernel_gradient = False

    def build(self, input_shape):
        super().build(input_shape)
        length, channels = input_shape[1], input_shape[-1]
        possible = (self.strides == (1,) and self.dilation_rate == (1,) and self.padding == "same"
                    and self.data_format == "channels_last")
        pays = (keras.backend.backend() == "tensorflow" and self.kernel_size[0] <= self.MAX_KERNEL
                and channels >= self.MIN_CHANNELS and length is not None and length >= self.MIN_LENGTH)
        if self.kernel_gradient == "matmul" and not possible:
            raise ValueError(f"{self.name}: kernel_gradient='matmul' needs stride 1, no dilation and 'same' padding")
        self.matmul_kernel_gradient = possible and (self.kernel_gradient == "matmul" or
                                                    (self.kernel_gradient == "auto" and pays))

    def call(self, inputs):
        if self.matmul_kernel_gradient:  # the generic convolution layer's call, which uses convolution_op
            return super(keras.layers.Conv1D, self).call(inputs)
        return super().call(inputs)

    def convolution_op(self, inputs, kernel):
        return same_conv_with_matmul_kernel_gradient(inputs, kernel)

    def get_config(self):
        return {**super().get_config(), "kernel_gradient": self.kernel_gradient}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchNorm(keras.layers.BatchNormalization):
    """BatchNormalization that can train with frozen statistics, and can take over the
    ReLU before it and the max pooling after it.

    With `frozen_statistics=True` it always normalises with the moving mean and variance
    (never updating them), while gamma and beta still train: what the original GraphReg
    did by calling its models without `training=True`. With one 6 Mb window per step the
    batch statistics are a single window's, so this is also our default for training
    (see `graphreg_zoo.training.engine`). The flag is a training-time switch, not part of the
    saved architecture.

    `relu_input` and `pool_size` compute ``MaxPool(BN(ReLU(x)))`` of a conv block in one
    layer. When the normalisation is a fixed per-channel affine map ``a * x + c`` (inference
    mode or frozen statistics) the pooling runs first: ReLU and the affine map are monotone
    per channel (decreasing where a < 0, where the maximum becomes a minimum), so
    ``pool(a * relu(x) + c) = a * relu(pool_a(x)) + c`` exactly, and the elementwise work runs on the
    pooled tensor. At base-pair resolution that cuts the sequence models' memory traffic
    (docs/performance.md).
    With batch statistics the layer normalises first, as usual.

    With `remat` the pooled path keeps only its input for the backward pass and recomputes
    its pooled intermediates there (gradient checkpointing of the e2e models' base-pair trunk).
    """

    def __init__(self, *args, relu_input: bool = False, pool_size: int | None = None, remat: bool = False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.relu_input = relu_input
        self.pool_size = pool_size
        self.remat = remat
        self.frozen_statistics = False

    def call(self, inputs, training=None, mask=None):
        batch_statistics = bool(training) and not self.frozen_statistics and self.trainable
        if batch_statistics or not self.pool_size:
            x = ops.relu(inputs) if self.relu_input else inputs
            y = super().call(x, training=batch_statistics, mask=mask)
            return max_pool(y, self.pool_size) if self.pool_size else y
        return keras.remat(self._pool_then_normalise)(inputs) if self.remat else self._pool_then_normalise(inputs)

    def _pool_then_normalise(self, inputs):
        scale = self.gamma * ops.rsqrt(self.moving_variance + self.epsilon)
        shift = self.beta - self.moving_mean * scale
        pooled = extreme_pool(inputs, scale >= 0, self.pool_size)  # a max where a < 0 is a min
        if self.relu_input:
            pooled = ops.relu(pooled)
        return ops.cast(ops.cast(pooled, scale.dtype) * scale + shift, inputs.dtype)

    def compute_output_shape(self, input_shape):
        if not self.pool_size:
            return input_shape
        length = None if input_shape[1] is None else input_shape[1] // self.pool_size
        return (input_shape[0], length, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "relu_input": self.relu_input, "pool_size": self.pool_size,
                "remat": self.remat}
