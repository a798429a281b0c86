"""Feeding the upstream fixtures to our models and comparing every output."""
from __future__ import annotations

import numpy as np

FIXTURE_NAMES = ("epi_graphreg", "epi_cnn", "seq_cnn_base", "seq_graphreg", "seq_graphreg_e2e")


def fixture_inputs(name: str, io) -> dict:
    """Model inputs (our dict names) from a fixture's npz."""
    if name == "epi_graphreg":
        return {"epigenome": io["X_epi"], "adjacency": io["adj"]}
    if name == "epi_cnn":
        return {"epigenome": io["X_epi"]}
    if name == "seq_cnn_base":
        return {"sequence": io["seq"]}
    if name == "seq_graphreg":
        return {"bottleneck": io["x_in_gat"], "adjacency": io["adj"]}
    return {"sequence": io["seq"].reshape(1, -1, 4), "adjacency": io["adj"]}


def compare_outputs(outputs: dict, io, rtol: float = 5e-4, atol: float = 1e-4) -> list[str]:
    """Check every `out_*` array; returns the keys compared."""
    checked = []
    for key in io.files:
        if not key.startswith("out_"):
            continue
        ref = io[key]
        name = key[4:]
        if name.startswith("att_l"):
            layer, head = int(name[5]), int(name[8])
            ours = np.asarray(outputs["attention"])[:, layer, head]
        else:
            ours = np.asarray(outputs["bottleneck" if name == "h" else name]).reshape(ref.shape)
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, err_msg=key)
        checked.append(key)
    return checked
