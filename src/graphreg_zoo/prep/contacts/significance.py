"""Built-in significance caller for raw Hi-C / HiChIP counts (no R needed).

Model (docs/contacts.md): the count of pixel (i, j), d = j - i bins apart, is negative binomial
with mean mu_ij = E(d) * b_i * b_j and variance mu + alpha(d) * mu^2. E(d) is the expected count by
distance, b the per-bin coverage bias; both are the Poisson maximum-likelihood fit of that
log-linear model (alternating updates, every pair in range counted, zeros included). Distances
are pooled until each pool holds enough contacts: E is interpolated in log-log space between
pool centres, alpha is the NB maximum-likelihood estimate per pool. P-values are one-sided
(P[Y >= y]); q-values are Benjamini-Hochberg over all tested pairs, the zero-count ones (p = 1)
included.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..._tables import require_columns
from ...errors import InvalidInputError

_MIN_POOL_COUNTS = 200.0  # contacts a distance pool needs before E(d) and alpha(d) are trusted
_ALPHA_RANGE = (1e-3, 10.0)  # NB dispersion searched (alpha -> 0 is Poisson)
_GOLDEN = (np.sqrt(5) - 1) / 2
_GOLDEN_STEPS = 16  # brackets shrink to 0.618^16 of log(1e4): alpha within ~0.5%


def canonical_pixels(bin1: np.ndarray, bin2: np.ndarray, count: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Upper-triangle pixels (bin1 <= bin2) with duplicates summed, sorted by (bin1, bin2)."""
    lo = np.minimum(bin1, bin2).astype(np.int64)
    hi = np.maximum(bin1, bin2).astype(np.int64)
    keys, inverse = np.unique(lo * n_bins + hi, return_inverse=True)
    summed = np.bincount(inverse, weights=np.asarray(count, dtype=np.float64), minlength=len(keys))
    return pd.DataFrame({"bin1": keys // n_bins, "bin2": keys % n_bins, "count": summed})


def call_contacts(
    pixels: pd.DataFrame,
    chrom_len: int,
    *,
    resolution: int = 5000,
    max_distance: int = 2_000_000,
    min_coverage: float = 0.1,
    n_iter: int = 30,
) -> pd.DataFrame:
    """Test every pixel of one chromosome against a distance + coverage background.

    Args:
        pixels: columns `bin1`, `bin2`, `count` (0-based bins of `resolution` bp, either triangle;
            duplicates are summed).
        chrom_len: chromosome length in bp.
        resolution: bin size in bp.
        max_distance: pairs farther apart (bp) are not tested.
        min_coverage: bins whose contact total is below this fraction of the median bin's are
            masked (not tested), as balancing tools mask sparse bins.
        n_iter: alternating-fit iterations.

    Returns:
        One row per tested non-zero pixel: `bin1`, `bin2`, `count`, `mu`, `sdev`, `pvalue`,
        `qvalue`, sorted by (bin1, bin2). Untested zero-count pairs are implicit (p = q = 1).
    """
    require_columns(pixels, ["bin1", "bin2", "count"], "pixel table for call_contacts")
    n_bins = math.ceil(chrom_len / resolution)
    b1, b2 = pixels["bin1"].to_numpy(np.int64), pixels["bin2"].to_numpy(np.int64)
    y = pixels["count"].to_numpy(np.float64)
    if len(y) and (min(b1.min(), b2.min()) < 0 or max(b1.max(), b2.max()) >= n_bins):
        raise InvalidInputError(
            f"pixel bins must lie in [0, {n_bins}) for a {chrom_len:,} bp chromosome at {resolution} bp; "
            "check the chromosome length and resolution"
        )
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        raise InvalidInputError("pixel counts must be finite and >= 0 (raw counts, not balanced values)")
    px = canonical_pixels(b1, b2, y, n_bins)
    max_bins = max_distance // resolution
    d = (px["bin2"] - px["bin1"]).to_numpy()
    px = px[(d >= 1) & (d <= max_bins) & (px["count"].to_numpy() > 0)]
    b1, b2, y = px["bin1"].to_numpy(), px["bin2"].to_numpy(), px["count"].to_numpy()

    valid = _valid_bins(b1, b2, y, n_bins, min_coverage)
    tested = valid[b1] & valid[b2]
    b1, b2, y = b1[tested], b2[tested], y[tested]
    d = b2 - b1
    if y.sum() == 0:
        raise InvalidInputError(
            f"no contacts between 1 and {max_bins} bins apart on well-covered bins; nothing to call"
        )
    bias, expected = _fit_background(b1, b2, y, d, valid.astype(np.float64), max_bins, n_iter)
    mu = expected[d] * bias[b1] * bias[b2]
    alpha = _dispersion(y, mu, d, expected, bias, max_bins)[d]
    pvalue = _nb_sf(y, mu, alpha)
    n_tests = int(round(_autocorr(valid.astype(np.float64), max_bins)[1:].sum()))
    return pd.DataFrame(
        {
            "bin1": b1,
            "bin2": b2,
            "count": y,
            "mu": mu,
            "sdev": np.sqrt(mu + alpha * mu**2),
            "pvalue": pvalue,
            "qvalue": benjamini_hochberg(pvalue, n_tests),
        }
    )


def benjamini_hochberg(pvalue: np.ndarray, n_tests: int | None = None) -> np.ndarray:
    """BH q-values of `pvalue`, as if `n_tests - (finite p-values)` further tests had p = 1.

    A NaN p-value (a test that could not be run) keeps a NaN q-value and does not count as a test.
    """
    pvalue = np.asarray(pvalue, dtype=float)
    finite = np.isfinite(pvalue)
    values = pvalue[finite]
    m = len(values) if n_tests is None else n_tests
    if m < len(values):
        raise ValueError("n_tests must be at least the number of p-values")
    order = np.argsort(values, kind="stable")
    ranked = values[order] * m / np.arange(1, len(values) + 1)
    q = np.empty_like(ranked)
    q[order] = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.full(pvalue.shape, np.nan)
    out[finite] = np.minimum(q, 1.0)
    return out


def _valid_bins(b1: np.ndarray, b2: np.ndarray, y: np.ndarray, n_bins: int, min_coverage: float) -> np.ndarray:
    marginal = np.bincount(b1, y, n_bins) + np.bincount(b2, y, n_bins)
    covered = marginal[marginal > 0]
    if covered.size == 0:
        return np.zeros(n_bins, dtype=bool)
    return marginal >= max(min_coverage * np.median(covered), np.finfo(float).tiny)


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full linear convolution by FFT."""
    size = len(a) + len(b) - 1
    nfft = 1 << (size - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, nfft) * np.fft.rfft(b, nfft), nfft)[:size]


def _autocorr(x: np.ndarray, max_lag: int) -> np.ndarray:
    """sum_i x_i x_{i+lag} for lag = 0..max_lag (FFT; round-off negatives clipped)."""
    full = _convolve(x, x[::-1])[len(x) - 1 :]
    out = np.zeros(max_lag + 1)
    take = min(max_lag + 1, len(full))
    out[:take] = np.clip(full[:take], 0.0, None)
    return out


def _fit_background(
    b1: np.ndarray, b2: np.ndarray, y: np.ndarray, d: np.ndarray, bias: np.ndarray, max_bins: int, n_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Alternating Poisson ML for mu = E(d) b_i b_j; returns (bias per bin, E per distance)."""
    valid = bias > 0
    observed = np.bincount(b1, y, len(bias)) + np.bincount(b2, y, len(bias))
    by_distance = np.bincount(d, y, max_bins + 1)
    for _ in range(n_iter):
        expected = _smooth_by_distance(by_distance, _autocorr(bias, max_bins))
        kernel = np.concatenate([expected[:0:-1], [0.0], expected[1:]])
        around = _convolve(bias, kernel)[max_bins : max_bins + len(bias)]
        new = np.where(valid, observed / np.maximum(around, np.finfo(float).tiny), 0.0)
        new /= new[valid].mean()
        converged = np.max(np.abs(new - bias)) < 1e-4
        bias = new
        if converged:
            break
    return bias, _smooth_by_distance(by_distance, _autocorr(bias, max_bins))


def _pools(counts: np.ndarray) -> np.ndarray:
    """Pool ids for consecutive distances (counts[k] = contacts at distance k + 1), ~_MIN_POOL_COUNTS each."""
    raw = np.floor((np.cumsum(counts) - counts) / _MIN_POOL_COUNTS).astype(np.int64)
    return np.unique(raw, return_inverse=True)[1]


def _smooth_by_distance(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Pooled ratio numerator/denominator per distance (index 0 unused), log-log interpolated."""
    g = _pools(numerator[1:])
    dist = np.arange(len(numerator), dtype=np.float64)
    num = np.bincount(g, numerator[1:])
    den = np.bincount(g, denominator[1:])
    size = np.bincount(g)
    centre = np.bincount(g, np.log(dist[1:])) / size
    ok = (den > 0) & (num > 0)
    out = np.zeros(len(numerator))
    if ok.any():
        out[1:] = np.exp(np.interp(np.log(dist[1:]), centre[ok], np.log(num[ok] / den[ok])))
    return out


def _dispersion(
    y: np.ndarray, mu: np.ndarray, d: np.ndarray, expected: np.ndarray, bias: np.ndarray, max_bins: int
) -> np.ndarray:
    """Maximum-likelihood NB dispersion per distance pool (golden-section search in log alpha).

    The likelihood covers every pair in range: the zero-count pairs enter through the band of
    all expected means, mu_(i, i+d) for each distance d.
    """
    from scipy.special import gammaln

    n = max_bins + 1
    band = np.zeros((max_bins, len(bias)))
    for lag in range(1, min(n, len(bias))):
        band[lag - 1, : len(bias) - lag] = expected[lag] * bias[:-lag] * bias[lag:]
    group = _pools(np.bincount(d, y, n)[1:])

    def loglik(log_alpha: np.ndarray) -> np.ndarray:
        alpha = np.exp(log_alpha)[group]
        all_pairs = -np.log1p(alpha[:, None] * band).sum(axis=1) / alpha
        a = alpha[d - 1]
        size = 1.0 / a
        nonzero = gammaln(y + size) - gammaln(size) + y * np.log(a * mu / (1.0 + a * mu))
        return np.bincount(group, all_pairs + np.bincount(d - 1, nonzero, max_bins))

    lo, hi = np.full(group.max() + 1, np.log(_ALPHA_RANGE[0])), np.full(group.max() + 1, np.log(_ALPHA_RANGE[1]))
    c, e = hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo)
    fc, fe = loglik(c), loglik(e)
    for _ in range(_GOLDEN_STEPS):
        left = fc >= fe  # the maximum lies in [lo, e]
        hi, lo = np.where(left, e, hi), np.where(left, lo, c)
        new = np.where(left, hi - _GOLDEN * (hi - lo), lo + _GOLDEN * (hi - lo))
        fnew = loglik(new)
        c, fc, e, fe = (
            np.where(left, new, e), np.where(left, fnew, fe), np.where(left, c, new), np.where(left, fc, fnew)
        )
    out = np.full(n, _ALPHA_RANGE[0])
    out[1:] = np.exp((lo + hi) / 2)[group]
    return out


def _nb_sf(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """P[Y >= ceil(y)] for Y ~ NB(mean mu, variance mu + alpha mu^2)."""
    from scipy.stats import nbinom

    size = 1.0 / alpha
    return nbinom.sf(np.ceil(y) - 1, size, size / (size + mu))
