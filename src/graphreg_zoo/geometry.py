"""GraphReg's fixed geometry (UPSTREAM §0), in one keras-free module shared by prep and models."""
from __future__ import annotations

EPI_TRACKS = ("h3k4me3", "h3k27ac", "dnase")  # the order of the `epigenome` input's channels
TRACK_BIN = 100  # bp per epigenome / bottleneck bin
NODE_BIN = 5000  # bp per graph node (CAGE bin)
BINS_PER_NODE = NODE_BIN // TRACK_BIN  # 50
WINDOW_NODES = 1200  # a 6 Mb window
STRIDE_NODES = 400  # 2 Mb stride = the evaluated middle of a window
PAD_NODES = 600  # pseudo-nodes of padding on each side of a chromosome
WINDOW_BINS = WINDOW_NODES * BINS_PER_NODE  # 60,000
WINDOW_BP = WINDOW_NODES * NODE_BIN  # 6,000,000
CHUNK_BP = 100_000  # the sequence models convolve 100 kb chunks independently
N_CHUNKS = WINDOW_BP // CHUNK_BP  # 60
