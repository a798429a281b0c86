"""Precision-recall curves, average precision and AUPRC (scikit-learn's definitions).

Scores are ranked from high to low; every distinct score is one threshold, so tied
scores enter the curve together. With no positive label every metric is NaN.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PRCurve(NamedTuple):
    """Precision and recall by decreasing recall, ending at (recall 0, precision 1).

    `thresholds[i]` belongs to `precision[i]`, `recall[i]` (increasing thresholds),
    as `sklearn.metrics.precision_recall_curve` returns them.
    """

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray


def precision_recall_curve(labels, scores) -> PRCurve:
    """The precision-recall curve of binary `labels` ranked by `scores` (higher = positive)."""
    y = np.asarray(labels, dtype=bool).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape or y.size == 0:
        raise ValueError(f"labels and scores need the same non-zero length, got {y.size} and {s.size}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN; fill missing scores before ranking")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]
    tps = np.cumsum(y)[last].astype(float)
    precision = tps / (last + 1)
    recall = tps / tps[-1] if tps[-1] > 0 else np.full_like(tps, np.nan)
    return PRCurve(np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], s[last][::-1])


def average_precision(labels, scores) -> float:
    """AP = sum_n (R_n - R_{n-1}) P_n over thresholds (the step-wise area, no interpolation)."""
    curve = precision_recall_curve(labels, scores)
    return float(-np.sum(np.diff(curve.recall) * curve.precision[:-1]))


def auprc(labels, scores) -> float:
    """Area under the PR curve by the trapezoid rule (`sklearn.metrics.auc(recall, precision)`)."""
    curve = precision_recall_curve(labels, scores)
    return float(-np.trapezoid(curve.precision, curve.recall))


def precision_at_recall(labels, scores, min_recall: float = 0.7) -> float:
    """Precision at the highest threshold whose recall reaches `min_recall`.

    Among the curve's points with the smallest recall >= `min_recall`, the best precision
    (the definition of the ENCODE CRISPR benchmark's "precision at 70% recall").
    """
    curve = precision_recall_curve(labels, scores)
    recall, precision = curve.recall[:-1], curve.precision[:-1]
    reached = recall >= min_recall
    if not reached.any():
        return float("nan")
    cutoff = recall[reached].min()
    return float(precision[recall == cutoff].max())
