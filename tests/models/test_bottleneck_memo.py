"""The Seq-CNN base's chunk memo (`models.inference.bottleneck`): overlapping windows and edited copies of a
window reach the base only for the chunks it has not seen with these weights; results equal a fresh run."""
from __future__ import annotations

import numpy as np

from graphreg_zoo.models import inference

from ..interpret._toy import toy_base

CHUNK = 100_000


def _direct(base, sequence: np.ndarray) -> np.ndarray:
    """The base on every chunk at once (one call)."""
    out = np.asarray(base.predict_on_batch({"sequence": sequence.reshape(-1, CHUNK, 4)})["bottleneck"])
    return out.reshape(-1, out.shape[-1])


def test_seen_chunks_are_not_recomputed_and_changed_weights_are(monkeypatch):
    monkeypatch.setattr(inference, "_CHUNKS", inference._ChunkMemo(inference.MEMO_CHUNKS))
    base = toy_base()
    rng = np.random.default_rng(0)
    genome = np.eye(4, dtype="float32")[rng.integers(0, 4, 12 * CHUNK)]
    first, shifted = genome[: 8 * CHUNK], genome[4 * CHUNK :]  # windows of 8 chunks sharing 4
    calls = []
    real = base.predict_on_batch
    monkeypatch.setattr(base, "predict_on_batch", lambda x: calls.append(len(x["sequence"])) or real(x))

    np.testing.assert_allclose(inference.bottleneck(base, first), _direct(base, first), rtol=1e-5, atol=1e-6)
    n_first = len(calls) - 1
    assert n_first == 8 // inference.BASE_CHUNK_BATCH
    np.testing.assert_allclose(inference.bottleneck(base, shifted), _direct(base, shifted), rtol=1e-5, atol=1e-6)
    assert len(calls) - n_first - 2 == 4 // inference.BASE_CHUNK_BATCH, "only the 4 new chunks reach the base"

    edited = first.copy()
    edited[5 * CHUNK + 10 : 5 * CHUNK + 20] = 0  # a knockout touching one chunk
    before = len(calls)
    np.testing.assert_allclose(inference.bottleneck(base, edited), _direct(base, edited), rtol=1e-5, atol=1e-6)
    assert len(calls) - before - 1 == 1, "one padded call for the one edited chunk"

    base.set_weights([w * 1.5 for w in base.get_weights()])
    before = len(calls)
    np.testing.assert_allclose(inference.bottleneck(base, first), _direct(base, first), rtol=1e-5, atol=1e-6)
    assert len(calls) - before - 1 == 8 // inference.BASE_CHUNK_BATCH, "new weights: nothing is reused"
