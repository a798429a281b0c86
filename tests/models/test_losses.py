"""Poisson NLL, the e2e task weight and the Fourier prior against NumPy references."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammaln

from graphreg_zoo.models.losses import (
    FFT_CUTOFF_BASE,
    e2e_task_weight,
    fourier_prior,
    fourier_weights,
    lgamma1p,
    poisson_nll,
)

pytestmark = pytest.mark.backend


def test_lgamma_matches_scipy():
    y = np.array([0, 0.5, 1, 3, 17.2, 250, 1e4, 2e5], dtype=np.float32)
    np.testing.assert_allclose(np.asarray(lgamma1p(y)), gammaln(y + 1), rtol=2e-6, atol=1e-5)


def test_poisson_nll_on_middle_bins(rng):
    y = rng.poisson(5, size=(2, 1200)).astype(np.float32)
    mu = rng.gamma(2, 3, size=(2, 1200)).astype(np.float32)
    ref = np.mean((gammaln(y + 1) + mu - y * np.log(mu))[:, 400:800])
    np.testing.assert_allclose(float(poisson_nll(y, mu)), ref, rtol=1e-5)
    all_bins = np.mean(gammaln(y + 1) + mu - y * np.log(mu))
    np.testing.assert_allclose(float(poisson_nll(y, mu, bins=None)), all_bins, rtol=1e-5)


def test_e2e_task_weight_schedule():
    assert e2e_task_weight(0) == 0.01
    assert e2e_task_weight(10) == pytest.approx(0.5)
    assert e2e_task_weight(20) == pytest.approx(1 / (1 + math.exp(-10)))
    assert e2e_task_weight(3, cage_epoch=3) == pytest.approx(0.5)  # a recipe's e2e_cage_epoch shifts it


def _numpy_prior(g: np.ndarray, cutoff_fraction: float) -> float:
    x = np.arange(-3, 4)
    k = np.exp(-0.5 * (x / 3) ** 2)
    k = k / k.max()
    smooth = np.convolve(g, k, mode="same")
    m = np.abs(np.fft.rfft(smooth))[1 : len(g) // 2]
    w = fourier_weights(len(m), cutoff_fraction)
    return 1 - np.sum(w * m / m.sum())


@pytest.mark.parametrize("cutoff", [FFT_CUTOFF_BASE, 0.003])
def test_fourier_prior_matches_numpy(rng, cutoff):
    g = np.abs(rng.normal(size=4000)).astype(np.float32)
    np.testing.assert_allclose(float(fourier_prior(g[None], cutoff)), _numpy_prior(g, cutoff), rtol=1e-4, atol=1e-5)


def test_fourier_prior_prefers_smooth_attributions(rng):
    t = np.linspace(0, 8 * np.pi, 4000)
    smooth = (np.sin(t) + 1.5).astype(np.float32)
    noisy = np.abs(rng.normal(size=4000)).astype(np.float32)
    assert float(fourier_prior(smooth[None])) < float(fourier_prior(noisy[None]))


def test_upstream_weight_lengths():
    w = fourier_weights(199_999, FFT_CUTOFF_BASE)
    assert w[60_000] == 1 and w[60_001] < 1 and w[180_000] == 0
