"""Keras 3 GraphReg models (keras.ops only, no file I/O)."""
from .epi import EpiCNN, EpiGraphReg
from .layers import GraphAttention, MergeChunks, SplitChunks, StackAttention
from .seq import SeqCNN, SeqCNNBase, SeqCNNE2E, SeqGraphReg, SeqGraphRegE2E

MODEL_CLASSES = {
    cls.__name__: cls for cls in (EpiGraphReg, EpiCNN, SeqCNNBase, SeqGraphReg, SeqCNN, SeqGraphRegE2E, SeqCNNE2E)
}

__all__ = [
    "MODEL_CLASSES",
    "EpiGraphReg",
    "EpiCNN",
    "SeqCNNBase",
    "SeqGraphReg",
    "SeqCNN",
    "SeqGraphRegE2E",
    "SeqCNNE2E",
    "GraphAttention",
    "SplitChunks",
    "MergeChunks",
    "StackAttention",
]
