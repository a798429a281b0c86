"""Sequence models (UPSTREAM §2.2-2.7): Seq-CNN base, Seq-GraphReg / Seq-CNN on its
bottleneck (separate training), and the end-to-end Seq-GraphReg / Seq-CNN.

Seq-CNN base trunk, (100000, 4) one-hot -> (1000, 64) bottleneck at 100 bp:

| step | layers | output |
|---|---|---|
| 1 | Conv 256 k21 -> BN -> Pool 2 | 50000 |
| 2 | Dropout -> Conv 128 k3 -> BN -> Pool 2 | 25000 |
| 3 | Dropout -> Conv 128 k3 -> BN -> Pool 5 | 5000 |
| 4 | Dropout -> Conv 128 k3 -> BN -> Pool 5 | 1000 |
| 5 | Dropout -> Conv 64 k3 -> BN | bottleneck |

e2e trunk: Conv 32 k21 P2, Conv 32 k3 P2 (no dropout on either), then 64 P5,
128 P5, 64 -> bottleneck; the 6 Mb input is cut into 60 chunks of 100 kb that
are convolved independently, exactly as the original fed them as a batch.
"""
from __future__ import annotations

import keras

from .base import GraphRegModel
from .blocks import Builder
from .epi import dilated_cnn_head, graph_head, with_attention
from .family import SEQ_CNN, SEQ_CNN_BASE, SEQ_CNN_E2E, SEQ_GRAPHREG, SEQ_GRAPHREG_E2E
from .layers import PACKAGE, MergeChunks, SplitChunks
from .spec import CHUNK_BP, EPI_TRACKS, N_CHUNKS, WINDOW_BINS, WINDOW_BP, WINDOW_NODES

BASE_TRUNK = [(256, 21, 2), (128, 3, 2), (128, 3, 5), (128, 3, 5), (64, 3, None)]
E2E_TRUNK = [(32, 21, 2), (32, 3, 2), (64, 3, 5), (128, 3, 5), (64, 3, None)]
GRAPH_TRUNK = [(128, 3, 2), (128, 3, 5), (128, 3, 5)]  # 100 bp -> 5 kb
E2E_ARCHITECTURES = ("newer", "older")


def _epi_towers(b: Builder, h, n_layers: int = 3):
    """The no-dilation flavour: per track 3 x (Dropout -> Conv 64 k3 -> BN) -> Conv 1 k3 exp."""
    heads = {}
    for track in EPI_TRACKS:
        x = h
        for _ in range(n_layers):
            x = b.conv_bn(x, 64, 3)
        heads[track] = b.rate_head(x, 3, track)
    return heads


@keras.saving.register_keras_serializable(package=PACKAGE)
class SeqCNNBase(GraphRegModel):
    """Seq-CNN base: predicts the three epigenomic tracks at 100 bp from 100 kb of sequence.

    Args:
        dilated: 6 residual dilated blocks + k5 heads (True) or three k3 towers (False).
        fft_prior: trained with the Fourier attribution prior (a training option; the
            architecture is identical, the flag is kept so recipes and cards know).
        dropout: dropout rate (0.5).
        data_spec: overrides of the default sequence data spec.
        precision: dtype policy of the hidden layers ("float32", or "mixed_bfloat16" where the hardware
            computes bfloat16 natively: GPUs, CPUs with AMX-BF16; docs/performance.md).

    Input `sequence` (B, 100000, 4); outputs `h3k4me3`, `h3k27ac`, `dnase` (B, 1000)
    and `bottleneck` (B, 1000, 64).
    """

    family = SEQ_CNN_BASE
    _config_keys = ("dilated", "fft_prior", "dropout", "data_spec", "precision")

    def __init__(self, dilated=True, fft_prior=False, dropout=0.5, data_spec=None, precision="float32", **kwargs):
        data_spec = self.resolve_data_spec(data_spec)
        b = Builder(dropout, precision=precision)
        sequence = keras.Input((CHUNK_BP, 4), name="sequence")
        h = b.trunk(sequence, BASE_TRUNK)
        if dilated:
            heads = b.epi_heads(b.dilated_stack(h, 6), 5, EPI_TRACKS)
        else:
            heads = _epi_towers(b, h)
        outputs = {**heads, "bottleneck": keras.layers.Identity(name="bottleneck", dtype="float32")(h)}
        flavour = ("" if dilated else "_nodilation") + ("_fft" if fft_prior else "")
        kwargs.setdefault("name", f"Seq-CNN_base{flavour}")
        super().__init__(inputs={"sequence": sequence}, outputs=outputs, **kwargs)
        self._remember(locals())


def _bottleneck_input():
    return keras.Input((WINDOW_BINS, 64), name="bottleneck")


@keras.saving.register_keras_serializable(package=PACKAGE)
class SeqGraphReg(GraphRegModel):
    """Seq-GraphReg (separate training): graph attention on a frozen base's bottleneck.

    Input `bottleneck` (B, 60000, 64) (the base's output over 60 chunks, row-major)
    and `adjacency` (B, 1200, 1200); output `cage` (B, 1200).
    """

    family = SEQ_GRAPHREG
    _config_keys = ("n_gat_layers", "dropout", "return_attention", "data_spec", "seed")

    def __init__(self, n_gat_layers=3, dropout=0.5, return_attention=False, data_spec=None, seed=None, **kwargs):
        data_spec = self.resolve_data_spec(data_spec)
        b = Builder(dropout, seed=seed)
        bottleneck = _bottleneck_input()
        adjacency = keras.Input((WINDOW_NODES, WINDOW_NODES), name="adjacency")
        cage, attention = graph_head(b, b.trunk(bottleneck, GRAPH_TRUNK), adjacency, n_gat_layers)
        outputs = with_attention({"cage": cage}, attention, return_attention)
        kwargs.setdefault("name", "Seq-GraphReg")
        super().__init__(inputs={"bottleneck": bottleneck, "adjacency": adjacency}, outputs=outputs, **kwargs)
        self._remember(locals())


@keras.saving.register_keras_serializable(package=PACKAGE)
class SeqCNN(GraphRegModel):
    """Seq-CNN (separate training): dilated CNN on a frozen base's bottleneck.

    Input `bottleneck` (B, 60000, 64); output `cage` (B, 1200).
    """

    family = SEQ_CNN
    _config_keys = ("dropout", "data_spec")

    def __init__(self, dropout=0.5, data_spec=None, **kwargs):
        data_spec = self.resolve_data_spec(data_spec)
        b = Builder(dropout)
        bottleneck = _bottleneck_input()
        cage = dilated_cnn_head(b, b.trunk(bottleneck, GRAPH_TRUNK))
        kwargs.setdefault("name", "Seq-CNN")
        super().__init__(inputs={"bottleneck": bottleneck}, outputs={"cage": cage}, **kwargs)
        self._remember(locals())


def _e2e_sequence_trunk(b: Builder, remat: bool = False):
    """(B, 6e6, 4) -> chunks (B*60, 1e5, 4) -> bottleneck chunks and the 3 epi heads.

    With `remat`, the pooled blocks of the base-pair-resolution trunk recompute their
    intermediates in the backward pass instead of keeping them (gradient checkpointing).
    """
    sequence = keras.Input((WINDOW_BP, 4), name="sequence")
    chunks = SplitChunks(CHUNK_BP, name="split_chunks")(sequence)
    h = b.trunk(chunks, E2E_TRUNK, undropped=2, remat=remat)
    heads = b.epi_heads(b.dilated_stack(h, 6), 3, EPI_TRACKS, n_chunks=N_CHUNKS)
    bottleneck = MergeChunks(N_CHUNKS, name="bottleneck")(h)
    return sequence, h, heads, bottleneck


def _e2e_nodes(b: Builder, h, extra_block: bool = False):
    """Bottleneck chunks -> 5 kb node features (B, 1200, C), node = chunk*20 + position."""
    x = b.trunk(h, GRAPH_TRUNK, undropped=0)
    if extra_block:
        x = b.conv_bn(x, 128, 3)
    return x


@keras.saving.register_keras_serializable(package=PACKAGE)
class SeqGraphRegE2E(GraphRegModel):
    """Seq-GraphReg end-to-end: sequence -> epigenomic tracks and, via the graph, CAGE.

    Args:
        n_gat_layers: graph attention layers (3).
        architecture: "newer" (the later committed code, default) or "older" (initial
            commit: one extra Dropout -> Conv 128 k3 -> BN block before the graph;
            always 3 GAT layers).
        fft_prior: trained with the Fourier attribution prior (training option).
        precision: dtype policy of the hidden layers ("float32", "mixed_bfloat16", ...).
        remat: recompute the sequence trunk's activations in the backward pass (less memory).
        dropout, return_attention, data_spec, seed: as in EpiGraphReg.

    Inputs `sequence` (B, 6000000, 4) and `adjacency` (B, 1200, 1200); outputs `cage`
    (B, 1200), `h3k4me3`, `h3k27ac`, `dnase` (B, 60000), `bottleneck` (B, 60000, 64).
    """

    family = SEQ_GRAPHREG_E2E
    _config_keys = ("n_gat_layers", "architecture", "fft_prior", "dropout", "return_attention", "data_spec", "seed",
                    "precision", "remat")

    def __init__(
        self,
        n_gat_layers=3,
        architecture="newer",
        fft_prior=False,
        dropout=0.5,
        return_attention=False,
        data_spec=None,
        seed=None,
        precision="float32",
        remat=False,
        **kwargs,
    ):
        if architecture not in E2E_ARCHITECTURES:
            raise ValueError(f"architecture must be one of {E2E_ARCHITECTURES}, got {architecture!r}")
        data_spec = self.resolve_data_spec(data_spec)
        b = Builder(dropout, seed=seed, precision=precision)
        sequence, h, heads, bottleneck = _e2e_sequence_trunk(b, remat)
        adjacency = keras.Input((WINDOW_NODES, WINDOW_NODES), name="adjacency")
        x = _e2e_nodes(b, h, extra_block=architecture == "older")
        x = MergeChunks(N_CHUNKS, name="nodes")(x)
        cage, attention = graph_head(b, x, adjacency, n_gat_layers)
        outputs = with_attention({"cage": cage, **heads, "bottleneck": bottleneck}, attention, return_attention)
        kwargs.setdefault("name", "Seq-GraphReg_e2e" + ("_fft" if fft_prior else ""))
        super().__init__(inputs={"sequence": sequence, "adjacency": adjacency}, outputs=outputs, **kwargs)
        self._remember(locals())


@keras.saving.register_keras_serializable(package=PACKAGE)
class SeqCNNE2E(GraphRegModel):
    """Seq-CNN end-to-end: the e2e sequence trunk with a dilated CNN instead of the graph.

    Input `sequence` (B, 6000000, 4); outputs as SeqGraphRegE2E without `attention`;
    `precision` and `remat` as in SeqGraphRegE2E.
    """

    family = SEQ_CNN_E2E
    _config_keys = ("fft_prior", "dropout", "data_spec", "precision", "remat")

    def __init__(self, fft_prior=False, dropout=0.5, data_spec=None, precision="float32", remat=False, **kwargs):
        data_spec = self.resolve_data_spec(data_spec)
        b = Builder(dropout, precision=precision)
        sequence, h, heads, bottleneck = _e2e_sequence_trunk(b, remat)
        x = b.conv_bn(_e2e_nodes(b, h), 64, 3)
        x = MergeChunks(N_CHUNKS, name="nodes")(x)
        x = b.dilated_stack(x, 8)
        cage = b.rate_head(x, 1, "cage")
        outputs = {"cage": cage, **heads, "bottleneck": bottleneck}
        kwargs.setdefault("name", "Seq-CNN_e2e" + ("_fft" if fft_prior else ""))
        super().__init__(inputs={"sequence": sequence}, outputs=outputs, **kwargs)
        self._remember(locals())
