"""CLI command: evaluate a prediction gene table (gene sets A-D, folds, baseline comparison)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

INCLUDE_HELP = ("Also score rows of these roles, comma-separated: valid, train, unknown or all (default: held-out "
                "rows only, roles test and unseen; docs/evaluation.md#roles).")


def evaluate_command(
    table: Path = typer.Argument(..., help="Prediction gene table (CSV, TSV or Parquet) with a true 'cage' column."),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", "-b", help="Another model's gene table on the same rows (e.g. Epi-CNN)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Report directory (report.md, CSVs, PNGs)."),
    include: str = typer.Option("", "--include", help=INCLUDE_HELP),
) -> None:
    """Score predicted CAGE per fold and pooled on gene sets A-D (held-out rows) and write a report."""
    from .._tables import markdown_table, read_table
    from ..evaluation.evaluator import evaluate

    report = evaluate(read_table(table), read_table(baseline) if baseline else None, include=include, out_dir=out)
    typer.echo(report.scope())
    typer.echo(markdown_table(report.pooled()))
    typer.echo(f"report written to {report.files['report']}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("evaluate")(evaluate_command)
