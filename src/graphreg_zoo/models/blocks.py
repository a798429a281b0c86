"""Shared building blocks of the GraphReg family, written once.

`Builder` creates Keras layers with the names the original Keras-2 code gave
them (`conv1d`, `conv1d_1`, ..., `batch_normalization_N`, `graph_attention_N`,
counted per type in creation order). Building in the original creation order
therefore makes every weighted layer carry its checkpoint name, and the
converter maps published weights by name with no lookup tables.
"""
from __future__ import annotations

from collections import defaultdict

import keras

from .layers import BatchNorm, Conv1D, GraphAttention, MergeChunks, StackAttention


class Builder:
    """Layer factory with upstream-compatible auto-names and the shared blocks.

    Args:
        dropout: rate of every Dropout layer (0.5 in GraphReg).
        gat_units, gat_heads: graph attention size (32 x 4).
        seed: optional base seed for the graph-attention initialisers.
        precision: Keras dtype policy of the hidden layers ("float32", "mixed_bfloat16",
            "mixed_float16"); the exponential rate heads always compute in float32. Training
            loss-scales a model with float16 layers (`training._optimizer`).
    """

    def __init__(
        self,
        dropout: float = 0.5,
        gat_units: int = 32,
        gat_heads: int = 4,
        seed: int | None = None,
        precision: str = "float32",
    ):
        self.dropout_rate = dropout
        self.gat_units = gat_units
        self.gat_heads = gat_heads
        self.seed = seed
        self.precision = precision  # dtype policy of the hidden layers; rate heads stay float32
        self._counts: dict[str, int] = defaultdict(int)

    def name(self, kind: str) -> str:
        """Next Keras-2 style auto-name for a layer of `kind`."""
        index = self._counts[kind]
        self._counts[kind] += 1
        return kind if index == 0 else f"{kind}_{index}"

    # -- single layers -------------------------------------------------------
    def conv(self, x, filters: int, kernel: int, *, dilation: int = 1, activation: str = "relu"):
        layer = Conv1D(
            filters, kernel, padding="same", dilation_rate=dilation, activation=activation, name=self.name("conv1d"),
            dtype="float32" if activation == "exponential" else self.precision,
        )
        return layer(x)

    def bn(self, x, *, relu_input: bool = False, pool: int | None = None, remat: bool = False):
        """BatchNorm; with `relu_input` / `pool` it also applies the ReLU before and the max pool after it
        (recomputed in the backward pass with `remat`)."""
        return BatchNorm(momentum=0.99, epsilon=1e-3, relu_input=relu_input, pool_size=pool, remat=remat,
                         name=self.name("batch_normalization"), dtype=self.precision)(x)

    def drop(self, x):
        return keras.layers.Dropout(self.dropout_rate, name=self.name("dropout"), dtype=self.precision)(x)

    # -- blocks ----------------------------------------------------------------
    def conv_bn(self, x, filters: int, kernel: int, *, pool: int | None = None, dropout: bool = True,
                remat: bool = False):
        """[Dropout ->] Conv1D(ReLU) -> BatchNorm [-> MaxPool].

        With a pool, the ReLU and the pool run inside the BatchNorm layer, which pools before
        normalising when it may (see `layers.BatchNorm`): the same values, less memory traffic.
        With `remat` the pooled block recomputes its intermediates in the backward pass.
        """
        if dropout:
            x = self.drop(x)
        if pool:
            return self.bn(self.conv(x, filters, kernel, activation=None), relu_input=True, pool=pool, remat=remat)
        return self.bn(self.conv(x, filters, kernel))

    def trunk(self, x, stages, *, undropped: int = 1, remat: bool = False, float32_stages: int = 0):
        """Conv-pool trunk: `stages` is a list of (filters, kernel, pool or None).

        The first `undropped` stages have no Dropout before their conv (1 in every
        GraphReg model except the e2e sequence trunk, which has 2). `remat` as in `conv_bn`.
        The first `float32_stages` stages run in float32 whatever the precision.
        """
        precision = self.precision
        for i, (filters, kernel, pool) in enumerate(stages):
            self.precision = "float32" if i < float32_stages else precision
            x = self.conv_bn(x, filters, kernel, pool=pool, dropout=i >= undropped, remat=remat)
        self.precision = precision
        return x

    def dilated_stack(self, x, n_blocks: int, filters: int = 64):
        """Residual dilated blocks i = 1..n: ``BN(conv_{2^i}(Dropout(x)) + Dropout(x))``."""
        for i in range(1, n_blocks + 1):
            y = self.drop(x)
            z = self.conv(y, filters, 3, dilation=2**i)
            x = self.bn(keras.layers.Add(name=self.name("add"), dtype=self.precision)([z, y]))
        return x

    def gat_stack(self, x, adjacency, n_layers: int):
        """`n_layers` x (GraphAttention -> BatchNorm); returns (x, attention (B, L, H, N, N))."""
        maps = []
        for _ in range(n_layers):
            seed = None if self.seed is None else self.seed + 100 * len(maps)
            layer = GraphAttention(
                self.gat_units,
                self.gat_heads,
                dropout=self.dropout_rate,
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                name=self.name("graph_attention"),
            )
            x, attention = layer([x, adjacency])
            x = self.bn(x)
            maps.append(attention)
        return x, StackAttention(name="attention")(maps)

    def rate_head(self, x, kernel: int, name: str, *, n_chunks: int | None = None):
        """Conv1D(1, kernel, exponential) -> (B, L): a Poisson rate per bin.

        With `n_chunks`, chunks held on the batch axis are merged back first.
        """
        x = self.conv(x, 1, kernel, activation="exponential")
        if n_chunks:
            x = MergeChunks(n_chunks, name=f"{name}_merge")(x)
        return keras.layers.Reshape((-1,), name=name)(x)

    def epi_heads(self, h, kernel: int, tracks, *, n_chunks: int | None = None):
        """One rate head per epigenomic track, in track order."""
        return {track: self.rate_head(h, kernel, track, n_chunks=n_chunks) for track in tracks}
