"""Losses of GraphReg (UPSTREAM §1.4, §2.3, §2.6), in `keras.ops` only.

- `poisson_nll`: mean of lgamma(y+1) + mu - y log(mu) over the loss bins
  (the middle 400 of 1200 nodes by default).
- `fourier_prior`: the Fourier-transform attribution prior (Tseng et al. 2020)
  used by the `_fft` model variants, with both cutoffs of the original.
- `e2e_task_weight`: the CAGE weight max(0.01, sigmoid(epoch - 10)) of the e2e loss.
"""
from __future__ import annotations

import math

import numpy as np
from keras import ops

LOSS_NODES = (400, 800)

# Lanczos approximation (g = 7, n = 9) of log Gamma(z + 1), z >= 0.
_LANCZOS_G = 7.0
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)

# Fraction of the spectrum kept at full weight: T_f / len(w).
FFT_CUTOFF_BASE = 0.30  # Seq-CNN base: T_f = 60,000 of 199,999
FFT_CUTOFF_E2E = 0.003  # e2e: T_f = 9,000 of 2,999,999


def lgamma1p(y):
    """log Gamma(y + 1) for y >= 0 (Lanczos; ~1e-7 relative error in float32)."""
    y = ops.cast(y, "float32")
    series = _LANCZOS[0]
    for i, c in enumerate(_LANCZOS[1:], start=1):
        series = series + c / (y + i)
    t = y + _LANCZOS_G + 0.5
    return 0.5 * math.log(2 * math.pi) + (y + 0.5) * ops.log(t) - t + ops.log(series)


def poisson_nll(y_true, y_pred, *, bins: tuple[int, int] | None = LOSS_NODES, include_constant: bool = True):
    """Poisson negative log-likelihood, mean over `bins` = (start, stop) of the last axis.

    `bins=None` averages over all bins. The lgamma(y+1) constant is included by
    default, as in the original, so values are comparable with its logs.
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    if bins is not None:
        y_true = y_true[..., bins[0] : bins[1]]
        y_pred = y_pred[..., bins[0] : bins[1]]
    nll = y_pred - y_true * ops.log(y_pred + 1e-20)
    if include_constant:
        nll = nll + lgamma1p(y_true)
    return ops.mean(nll)


E2E_CAGE_EPOCH = 10  # the original's epoch at which CAGE gets half the e2e loss


def e2e_task_weight(epoch: int, cage_epoch: int = E2E_CAGE_EPOCH) -> float:
    """CAGE weight of the e2e multi-task loss: max(0.01, sigmoid(epoch - cage_epoch)), `epoch` counted from 1
    as in the original training loop (UPSTREAM §2.6), `cage_epoch` 10 as there."""
    return max(0.01, 1.0 / (1.0 + math.exp(-(epoch - cage_epoch))))


def _smoothing_kernel() -> np.ndarray:
    x = np.arange(-3, 4, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / 3.0) ** 2)
    return (kernel / kernel.max()).astype(np.float32)


def fourier_weights(n_freqs: int, cutoff_fraction: float) -> np.ndarray:
    """Frequency weights w (NumPy reference): 1 up to T_f, 1/(1 + (i - T_f)^0.2) up to 3 T_f, then 0."""
    cutoff = int(round(cutoff_fraction * n_freqs))
    i = np.arange(n_freqs, dtype=np.float64)
    w = np.zeros(n_freqs)
    w[i <= cutoff] = 1.0
    band = (i > cutoff) & (i < 3 * cutoff)
    w[band] = 1.0 / (1.0 + (i[band] - cutoff) ** 0.2)
    return w.astype(np.float32)


def _fourier_weights_op(n_freqs, cutoff_fraction: float):
    """`fourier_weights` in keras.ops, for a length known only when the step runs (a chunk batch)."""
    i = ops.cast(ops.arange(n_freqs), "float32")
    cutoff = ops.round(cutoff_fraction * ops.cast(n_freqs, "float32"))
    band = 1.0 / (1.0 + ops.power(ops.maximum(i - cutoff, 0.0), 0.2))
    return ops.where(i <= cutoff, 1.0, ops.where(i < 3.0 * cutoff, band, 0.0))


def fourier_prior(attribution, cutoff_fraction: float = FFT_CUTOFF_BASE):
    """Fourier attribution prior L_p = 1 - sum(w * m / sum(m)) of a 1D attribution track.

    `attribution` is |sum over channels of grad * input| flattened to (L,) (or (B, L),
    averaged over B). It is smoothed with a 7-tap Gaussian (sigma 3, peak 1),
    `m = |rfft|[1 : L/2]` drops the DC term, and high frequencies are penalised.
    L may be dynamic (unknown until the step runs).
    """
    g = ops.cast(attribution, "float32")
    g = ops.reshape(g, (-1, ops.shape(g)[-1]))
    length = ops.shape(g)[-1]
    kernel = ops.convert_to_tensor(_smoothing_kernel().reshape(7, 1, 1))
    smooth = ops.conv(ops.expand_dims(g, -1), kernel, padding="same")[..., 0]
    real, imag = ops.rfft(smooth)
    magnitude = ops.sqrt(real * real + imag * imag + 1e-20)[:, 1 : length // 2]
    weights = _fourier_weights_op(length // 2 - 1, cutoff_fraction)
    normalised = magnitude / ops.sum(magnitude, axis=-1, keepdims=True)
    return ops.mean(1.0 - ops.sum(weights * normalised, axis=-1))
