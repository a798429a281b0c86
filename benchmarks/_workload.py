"""Synthetic model inputs, the models by benchmark name, and the timing loop shared by the model benchmarks
(models, original, train, gpu)."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np


def one_hot(rng: np.random.Generator, batch: int, length: int) -> np.ndarray:
    """Random one-hot DNA, (batch, length, 4) float32."""
    return np.eye(4, dtype="float32")[rng.integers(0, 4, size=(batch, length))]


def adjacency(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Random 1200-node graphs with 1 % of the pairs connected, (batch, 1200, 1200) float32."""
    return (rng.random((batch, 1200, 1200)) < 0.01).astype("float32")


def epigenome(rng: np.random.Generator, batch: int) -> np.ndarray:
    """Three gamma-distributed 100 bp tracks over a 6 Mb window, (batch, 60000, 3) float32."""
    return rng.gamma(0.5, 2, size=(batch, 60000, 3)).astype("float32")


def counts(rng: np.random.Generator, shape: tuple[int, ...], rate: float = 3.0) -> np.ndarray:
    """Poisson targets of the given shape, float32."""
    return rng.poisson(rate, size=shape).astype("float32")


def model_by_name(name: str):
    """A fresh model of the family the benchmarks call `name` (epi_graphreg, epi_cnn, seq_cnn_base,
    seq_graphreg, seq_graphreg_e2e)."""
    from graphreg_zoo.models import EpiCNN, EpiGraphReg, SeqCNNBase, SeqGraphReg, SeqGraphRegE2E

    return {"epi_graphreg": EpiGraphReg, "epi_cnn": EpiCNN, "seq_cnn_base": SeqCNNBase, "seq_graphreg": SeqGraphReg,
            "seq_graphreg_e2e": SeqGraphRegE2E}[name]()


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `fn` over `repeats` calls, after one warm-up (compiling) call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
