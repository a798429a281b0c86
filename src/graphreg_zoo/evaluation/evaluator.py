"""Gene-level evaluation of predicted CAGE (UPSTREAM §5.2).

A prediction gene table has one row per TSS bin: chrom, bin_start, n_contact, prediction,
cage (true), and optionally fold, model, role, genes, tss, n_tss. Only held-out rows are
scored unless asked (`include`): a row's role (test, validation, training, unseen, unknown;
docs/evaluation.md#roles) says whether the model that predicted it trained or was selected
on its chromosome, and such rows would inflate the numbers. Metrics are computed per fold
on each fold's test rows and pooled ("all") over every scored row, on the gene sets A-D;
with a baseline table (same rows, other model), both models are scored on the shared rows
that are held out for both and compared across folds with one-sided Wilcoxon signed-rank
tests.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import pandas as pd

from .metrics import (
    LEFT_OUT_BECAUSE,
    POOLED,
    _checked,
    _contact_bin,
    _join_baseline,
    _model_name,
    _select,
    compare_folds,
    metrics_table,
    poisson_nll,
    scored_roles,
)
from .report import markdown, write_report


@dataclass
class EvaluationReport:
    """Evaluation results; `files` maps report parts to the paths written (empty without out_dir).

    Attributes:
        metrics: one row per (model, fold, set): n_genes, pearson, spearman, nll; fold "all" is pooled.
        genes: the evaluated rows with per-gene `nll`, `contact_bin` and, with a baseline,
            `prediction_baseline`, `nll_baseline`, `delta_nll` (= baseline NLL - model NLL).
        comparisons: one-sided Wilcoxon tests across folds (None without a baseline).
        models: (model, baseline) names; baseline is None without one.
        roles: the roles scored; None where the table has no role column (every row scored).
        left_out: rows not scored, by role (a baseline's roles as "baseline <role>").
    """

    metrics: pd.DataFrame
    genes: pd.DataFrame
    comparisons: Optional[pd.DataFrame]
    models: tuple[str, Optional[str]]
    roles: Optional[tuple[str, ...]] = None
    left_out: dict[str, int] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def pooled(self) -> pd.DataFrame:
        """The pooled metrics (fold "all"), one row per model and set."""
        return self.metrics[self.metrics["fold"] == POOLED].reset_index(drop=True)

    def scope(self) -> str:
        """One line: how many rows were scored, with which roles, and which were left out and why."""
        if self.roles is None:
            return (f"{len(self.genes)} TSS bins scored; the table has no role column, so every row is scored "
                    "as given (rows a model trained on would inflate the numbers)")
        line = f"{len(self.genes)} TSS bins scored (roles: {', '.join(self.roles)})"
        if self.left_out:
            reasons = [f"{n} {role} ({LEFT_OUT_BECAUSE.get(role.removeprefix('baseline '), 'not held out')})"
                       for role, n in self.left_out.items()]
            line += f"; left out: {', '.join(reasons)}; score them with --include / include="
        return line

    def to_markdown(self) -> str:
        """The report as Markdown (figures referenced by their file names)."""
        return markdown(self)


def evaluate(
    table: pd.DataFrame,
    baseline: Optional[pd.DataFrame] = None,
    *,
    include: str | Iterable[str] = (),
    out_dir: str | os.PathLike | None = None,
) -> EvaluationReport:
    """Score a prediction gene table on gene sets A-D, per fold and pooled, on held-out rows.

    Args:
        table: rows per TSS bin with chrom, bin_start, n_contact, prediction, cage
            (optional: fold, model, role, genes, tss, n_tss).
        baseline: another model's table on the same rows (joined on chrom + bin_start);
            both are then scored on the shared rows and compared across folds.
        include: roles to score besides the held-out ones (test, unseen), e.g.
            `("validation", "training")` or `("all",)`; without a role column every row is scored.
        out_dir: where to write report.md, metrics.csv, genes.csv, comparisons.csv and the PNGs.

    Returns:
        EvaluationReport.

    Example:
        >>> report = evaluate(pd.read_csv("pred.csv"), out_dir="eval")  # doctest: +SKIP
        >>> report.pooled()  # doctest: +SKIP
    """
    genes = _checked(table, "prediction table")
    model = _model_name(table, "model")
    predictions = {model: "prediction"}
    base_name = None
    if baseline is not None:
        base_name = _model_name(baseline, "baseline")
        base_name = f"{base_name} (baseline)" if base_name == model else base_name
        genes = _join_baseline(genes, baseline)
        predictions[base_name] = "prediction_baseline"
    has_roles = "role" in genes or "role_baseline" in genes
    roles = scored_roles(include) if has_roles else None
    genes, left_out = _select(genes, roles) if has_roles else (genes, {})
    genes = genes.copy()
    genes["nll"] = poisson_nll(genes["cage"], genes["prediction"])
    genes["contact_bin"] = _contact_bin(genes["n_contact"])
    if base_name is not None:
        genes["nll_baseline"] = poisson_nll(genes["cage"], genes["prediction_baseline"])
        genes["delta_nll"] = genes["nll_baseline"] - genes["nll"]
    metrics = metrics_table(genes, predictions)
    comparisons = compare_folds(metrics, model, base_name) if base_name is not None else None
    report = EvaluationReport(metrics, genes.reset_index(drop=True), comparisons, (model, base_name), roles, left_out)
    if out_dir is not None:
        report.files = write_report(report, Path(out_dir))
    return report
