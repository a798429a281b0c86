"""The Seq-CNN base bottleneck that feeds the separately trained Seq-GraphReg / Seq-CNN.

The original ran the frozen base over a window's 60 chunks of 100 kb at every step (in
batches of 10). The bottleneck does not change while the head trains, so the engine computes
it once per window and keeps it (`BottleneckCache`, in memory or as one `.npy` per window on
disk, written atomically); prediction and interpretation compute it on the fly.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_path
from ..errors import InvalidInputError

BASE_CHUNK_BATCH = 4  # 100 kb chunks per Seq-CNN base call (bounds the 256-channel activations)


def needs_bottleneck(names: list[str]) -> bool:
    """True when a model with these input names reads a Seq-CNN base bottleneck."""
    return "bottleneck" in names


def bottleneck(base, sequence: np.ndarray) -> np.ndarray:
    """The Seq-CNN base bottleneck (60000, 64) of a 6 Mb one-hot, chunk by 100 kb chunk."""
    from ..prediction import compile_for_inference, input_names

    if base is None:
        raise InvalidInputError("this model reads a Seq-CNN base bottleneck: pass base= the Seq-CNN base of its fold")
    name, chunk = input_names(base)[0], base.inputs[0].shape[1]
    chunks = np.asarray(sequence, dtype="float32").reshape(-1, chunk, 4)
    compile_for_inference(base)
    parts = [np.asarray(base.predict_on_batch({name: chunks[i : i + BASE_CHUNK_BATCH]})["bottleneck"])
             for i in range(0, len(chunks), BASE_CHUNK_BATCH)]
    return np.concatenate(parts).reshape(-1, parts[0].shape[-1])


def model_inputs(names: list[str], arrays: list[dict[str, np.ndarray]], base=None) -> dict[str, np.ndarray]:
    """Batched model inputs from window arrays; a `bottleneck` missing from the arrays is
    computed from their `sequence` through `base`."""
    out = {}
    for name in names:
        if name == "bottleneck" and "bottleneck" not in arrays[0]:
            out[name] = np.stack([bottleneck(base, a["sequence"]) for a in arrays])
        else:
            out[name] = np.stack([np.asarray(a[name], dtype="float32") for a in arrays])
    return out


def weights_fingerprint(model) -> str:
    """A short sha256 of a model's weights (names a cache so another base never reuses it)."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.path.encode())
        digest.update(np.ascontiguousarray(np.asarray(weight.numpy(), dtype="float32")).tobytes())
    return digest.hexdigest()[:16]


class BottleneckCache:
    """Window -> bottleneck (60000, 64) of a frozen base, computed once per window.

    With `directory`, each window's array is a `.npy` file under `directory/<weights sha>/`
    (written atomically, so an interrupted run resumes with what it had); without, they are
    kept in memory (small data only: 15 MB per window).
    """

    def __init__(self, base, cell, directory: str | os.PathLike | None = None):
        self.base, self.cell = base, cell
        self.directory = Path(directory) / weights_fingerprint(base) if directory is not None else None
        self._memory: dict[Any, np.ndarray] = {}

    def _path(self, window) -> Path:
        return self.directory / f"{window.chrom}_{window.index}.npy"

    def __call__(self, window) -> np.ndarray:
        if self.directory is None:
            if window not in self._memory:
                self._memory[window] = self._compute(window)
            return self._memory[window]
        path = self._path(window)
        if not path.is_file():
            self.directory.mkdir(parents=True, exist_ok=True)
            value = self._compute(window)
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as handle:
                    np.save(handle, value)
            return value
        return np.load(path)

    def _compute(self, window) -> np.ndarray:
        from ..prep.windows import window_sequence

        return bottleneck(self.base, window_sequence(self.cell, window))
