"""Epi-GraphReg and Epi-CNN (UPSTREAM §1 and §2.1): CAGE from 100 bp epigenomic tracks.

Epi-GraphReg, (60000, 3) -> 1200 nodes of 5 kb:

| step | layers | output |
|---|---|---|
| 1 | Conv 128 k25 -> BN -> Pool 2 | 30000 x 128 |
| 2 | Dropout -> Conv 128 k3 -> BN -> Pool 5 | 6000 x 128 |
| 3 | Dropout -> Conv 128 k3 -> BN -> Pool 5 | 1200 x 128 |
| 4 | n_gat_layers x (GraphAttention 4 x 32, ELU -> BN) | 1200 x 128 |
| 5 | Dropout -> Conv 64 k1 -> BN -> Conv 1 k1 exp | 1200 |

Epi-CNN replaces step 4-5 by Dropout -> Conv 64 k3 -> BN, 8 residual dilated
blocks (2..256) and Conv 1 k1 exp.
"""
from __future__ import annotations

import keras

from .base import GraphRegModel
from .blocks import Builder
from .family import EPI_CNN, EPI_GRAPHREG
from .layers import PACKAGE
from .spec import WINDOW_BINS, WINDOW_NODES

EPI_TRUNK = [(128, 25, 2), (128, 3, 5), (128, 3, 5)]
# In mixed precision the first block still runs in float32: it reads the continuous tracks, whose rounding to
# bfloat16 was the largest error of a bfloat16 forward (R 0.9989 -> 0.9999 against float32 on the converted
# Epi-GraphReg fixture, docs/performance.md), and its thin 3-track contraction gains least from bfloat16.
EPI_FLOAT32_STAGES = 1


def _epigenome_input(data_spec: dict):
    return keras.Input((WINDOW_BINS, len(data_spec["tracks"])), name="epigenome")


def _adjacency_input():
    return keras.Input((WINDOW_NODES, WINDOW_NODES), name="adjacency")


def graph_head(b: Builder, x, adjacency, n_gat_layers: int):
    """GAT stack -> Dropout -> Conv 64 k1 -> BN -> Conv 1 k1 exp; returns (cage, attention)."""
    x, attention = b.gat_stack(x, adjacency, n_gat_layers)
    x = b.conv_bn(x, 64, 1)
    return b.rate_head(x, 1, "cage"), attention


def with_attention(outputs: dict, attention, return_attention: bool) -> dict:
    """Add the stacked attention maps to `outputs` when they were asked for."""
    return {**outputs, "attention": attention} if return_attention else outputs


def dilated_cnn_head(b: Builder, x, n_blocks: int = 8):
    """Dropout -> Conv 64 k3 -> BN -> residual dilated blocks -> Conv 1 k1 exp."""
    x = b.conv_bn(x, 64, 3)
    x = b.dilated_stack(x, n_blocks)
    return b.rate_head(x, 1, "cage")


@keras.saving.register_keras_serializable(package=PACKAGE)
class EpiGraphReg(GraphRegModel):
    """Epi-GraphReg: 1D CNN over epigenomic tracks, graph attention over 5 kb contacts.

    Args:
        n_gat_layers: graph attention layers (2 as in the paper).
        dropout: dropout rate (0.5).
        return_attention: also output `attention` (B, n_gat_layers, 4, 1200, 1200).
        data_spec: overrides of the default epigenome input spec.
        seed: optional seed for the graph-attention initialisers.

    Inputs `epigenome` (B, 60000, 3) [H3K4me3, H3K27ac, DNase] and `adjacency`
    (B, 1200, 1200) binary, zero diagonal; output `cage` (B, 1200).

    Example:
        >>> model = EpiGraphReg()
        >>> model({"epigenome": x, "adjacency": a})["cage"].shape
        (1, 1200)
    """

    family = EPI_GRAPHREG
    _config_keys = ("n_gat_layers", "dropout", "return_attention", "data_spec", "seed", "precision")

    def __init__(self, n_gat_layers=2, dropout=0.5, return_attention=False, data_spec=None, seed=None,
                 precision="float32", **kwargs):
        data_spec = self.resolve_data_spec(data_spec)
        b = Builder(dropout, seed=seed, precision=precision)
        epigenome, adjacency = _epigenome_input(data_spec), _adjacency_input()
        x = b.trunk(epigenome, EPI_TRUNK, float32_stages=EPI_FLOAT32_STAGES)
        cage, attention = graph_head(b, x, adjacency, n_gat_layers)
        outputs = with_attention({"cage": cage}, attention, return_attention)
        kwargs.setdefault("name", "Epi-GraphReg")
        super().__init__(inputs={"epigenome": epigenome, "adjacency": adjacency}, outputs=outputs, **kwargs)
        self._remember(locals())


@keras.saving.register_keras_serializable(package=PACKAGE)
class EpiCNN(GraphRegModel):
    """Epi-CNN: the same trunk as Epi-GraphReg with a dilated residual CNN instead of the graph.

    Args:
        dropout: dropout rate (0.5).
        data_spec: overrides of the default epigenome input spec.

    Input `epigenome` (B, 60000, 3); output `cage` (B, 1200).
    """

    family = EPI_CNN
    _config_keys = ("dropout", "data_spec", "precision")

    def __init__(self, dropout=0.5, data_spec=None, precision="float32", **kwargs):
        data_spec = self.resolve_data_spec(data_spec)
        b = Builder(dropout, precision=precision)
        epigenome = _epigenome_input(data_spec)
        cage = dilated_cnn_head(b, b.trunk(epigenome, EPI_TRUNK, float32_stages=EPI_FLOAT32_STAGES))
        kwargs.setdefault("name", "Epi-CNN")
        super().__init__(inputs={"epigenome": epigenome}, outputs={"cage": cage}, **kwargs)
        self._remember(locals())
