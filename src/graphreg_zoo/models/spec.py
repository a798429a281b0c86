"""Data specifications (`data_spec`) carried in every model's config.

They say what data a model expects (track names and order, bin sizes, window
geometry, genome, and the input contract: bin statistics, transform, scaling,
CAGE scale), so prediction can check a user's CellData against what the model
was trained on.
"""
from __future__ import annotations

from ..geometry import (  # noqa: F401  (re-exported for the model modules)
    CHUNK_BP,
    EPI_TRACKS,
    N_CHUNKS,
    NODE_BIN,
    STRIDE_NODES,
    TRACK_BIN,
    WINDOW_BINS,
    WINDOW_BP,
    WINDOW_NODES,
)


def default_data_spec(kind: str, overrides: dict | None = None) -> dict:
    """The GraphReg defaults for `kind` in {"epigenome", "sequence", "bottleneck"}."""
    spec = {
        "kind": kind,
        "tracks": list(EPI_TRACKS),
        "track_bin_size": TRACK_BIN,
        "node_bin_size": NODE_BIN,
        "window_nodes": WINDOW_NODES,
        "stride_nodes": STRIDE_NODES,
        "loss_nodes": [STRIDE_NODES, 2 * STRIDE_NODES],
        "contract": None,  # how the inputs must be made (graphreg_zoo.contract); set by load, convert and train
        "genome": None,
        "organism": "human",
    }
    if kind == "sequence":
        spec["alphabet"] = "ACGT"
        spec["chunk_bp"] = CHUNK_BP
    spec.update({k: v for k, v in (overrides or {}).items() if k != "kind"})
    return spec
