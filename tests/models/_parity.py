"""Feeding the upstream fixtures (the in-repo goldens, `tests/_goldens.py`) to our models and comparing outputs."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

FIXTURE_NAMES = ("epi_graphreg", "epi_cnn", "seq_cnn_base", "seq_graphreg", "seq_graphreg_e2e")
BASE_CHUNKS_PER_CALL = 10  # the original fed the base 10 chunks at a time; 60 at once needs several GB


def fixture_inputs(name: str, io, fixtures: Path | None = None) -> dict:
    """Model inputs (our dict names) from a fixture's npz.

    Seq-GraphReg's golden has no bottleneck input (15 MB): it is computed from `seq` by the converted
    Seq-CNN base of `fixtures`, as the original pipeline did, and checked against the original's subset.
    """
    if name == "epi_graphreg":
        return {"epigenome": io["X_epi"], "adjacency": io["adj"]}
    if name == "epi_cnn":
        return {"epigenome": io["X_epi"]}
    if name == "seq_cnn_base":
        return {"sequence": io["seq"]}
    if name == "seq_graphreg":
        bottleneck = base_bottleneck(fixtures)
        _compare(bottleneck, io, "base_h")
        return {"bottleneck": bottleneck, "adjacency": io["adj"]}
    return {"sequence": io["seq"].reshape(1, -1, 4), "adjacency": io["adj"]}


@functools.lru_cache(maxsize=1)
def base_bottleneck(fixtures: Path) -> np.ndarray:
    """(1, 60000, 64): the converted base's `h` on Seq-GraphReg's 60 chunks, concatenated as the original did."""
    from graphreg_zoo.zoo.upstream import convert_upstream

    base = convert_upstream(fixtures / "seq_cnn_base.h5")
    seq = np.load(fixtures / "seq_graphreg_io.npz")["seq"]
    parts = [base.predict_on_batch({"sequence": seq[i:i + BASE_CHUNKS_PER_CALL]})["bottleneck"]
             for i in range(0, len(seq), BASE_CHUNKS_PER_CALL)]
    return np.concatenate(parts).reshape(1, -1, parts[0].shape[-1])


def _compare(ours: np.ndarray, io, key: str, rtol: float = 5e-4, atol: float = 1e-4) -> None:
    """`ours` (the whole output) against the original's `key`, on the subset the golden kept if any."""
    ref, ours = io[key], np.asarray(ours)
    if f"idx_{key}" in io:
        ours = np.take(ours.reshape(io[f"shape_{key}"]), io[f"idx_{key}"], axis=int(io[f"axis_{key}"]))
    np.testing.assert_allclose(ours.reshape(ref.shape), ref, rtol=rtol, atol=atol, err_msg=key)


def compare_outputs(outputs: dict, io, rtol: float = 5e-4, atol: float = 1e-4) -> list[str]:
    """Check every `out_*` array; returns the keys compared."""
    checked = []
    for key in io.files:
        if not key.startswith("out_"):
            continue
        name = key[4:]
        if name.startswith("att_l"):
            layer, head = int(name[5]), int(name[8])
            ours = np.asarray(outputs["attention"])[:, layer, head]
        else:
            ours = outputs["bottleneck" if name == "h" else name]
        _compare(ours, io, key, rtol, atol)
        checked.append(key)
    return checked
