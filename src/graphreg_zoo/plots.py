"""Matplotlib figures for evaluation and enhancer-validation reports.

Figures are built as `matplotlib.figure.Figure` objects rendered by the Agg canvas,
never through pyplot, so nothing opens a window and no global backend state changes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ._atomic import atomic_path

Panel = tuple[str, np.ndarray, np.ndarray]


def _figure(n_panels: int, ncols: int, size: float = 3.2):
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, n_panels))
    nrows = -(-n_panels // ncols)
    fig = Figure(figsize=(size * ncols, size * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def scatter_grid(panels: Sequence[Panel], *, xlabel: str, ylabel: str, ncols: int = 4):
    """One scatter per `(title, x, y)` panel, with the identity line and Pearson r in the title; a
    panel without points says "no genes" instead of drawing empty axes."""
    fig, axes = _figure(len(panels), ncols)
    for ax, (title, x, y) in zip(axes, panels):
        x, y = np.asarray(x, float), np.asarray(y, float)
        if not x.size:
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"{title}: no genes", ha="center", va="center", fontsize=9, wrap=True)
            continue
        ax.scatter(x, y, s=4, alpha=0.4, linewidths=0)
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        ax.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8)
        r = np.corrcoef(x, y)[0, 1] if x.size > 1 and x.std() > 0 and y.std() > 0 else float("nan")
        ax.set_title(f"{title}\nn={x.size}, r={r:.3f}", fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    return fig


def box_by_group(groups: Mapping[str, np.ndarray], *, ylabel: str, title: str, xlabel: str = ""):
    """Box plots of each group's values side by side, with the group sizes in the labels."""
    fig, (ax,) = _figure(1, 1, size=4.5)
    labels = [f"{name}\n(n={len(v)})" for name, v in groups.items()]
    ax.boxplot([np.asarray(v, float) for v in groups.values()], showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    ax.axhline(0.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return fig


def pr_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], *, title: str, prevalence: float):
    """Precision-recall curves, one line per `name: (recall, precision)`, plus the prevalence line."""
    fig, (ax,) = _figure(1, 1, size=4.5)
    for name, (recall, precision) in curves.items():
        ax.step(recall, precision, where="post", label=name)
    ax.axhline(prevalence, color="grey", linestyle="--", linewidth=0.8, label=f"prevalence {prevalence:.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def fold_lines(panels: Mapping[str, Mapping[str, "pandas.Series"]], *, title: str):
    """One panel per metric (`label: {model: values indexed by fold}`), one line of points per model."""
    fig, axes = _figure(len(panels), len(panels), size=4.0)
    for ax, (label, series) in zip(axes, panels.items()):
        for model, values in series.items():
            ax.plot([str(f) for f in values.index], values.to_numpy(float), marker="o", label=model)
        ax.set_xlabel("fold")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write `fig` as PNG to `path` atomically; return the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)
