"""CLI commands: train a recipe on a CellData."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def train_command(
    recipe: str = typer.Argument(..., help="Recipe YAML path or packaged recipe name."),
    data: Path = typer.Option(..., "--data", "-d", help="CellData .h5 made by `graphreg-zoo prepare`."),
    out: Path = typer.Option(..., "--out", "-o", help="Preset directory to write."),
    fold: Optional[int] = typer.Option(None, "--fold", help="Original chromosome fold 1..10."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override the recipe's epochs."),
    upstream_compat: Optional[bool] = typer.Option(
        None, "--upstream-compat/--corrected", help="Train as the original ran (dropout off, BN frozen)."
    ),
    base: Optional[str] = typer.Option(
        None, "--base", help="Trained Seq-CNN base (preset or zoo name) for a separate Seq-GraphReg / Seq-CNN recipe."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-epoch log."),
) -> None:
    """Train a model from RECIPE; writes a preset with a filled zoo card (resumable)."""
    from ..training.engine import train

    overrides = {k: v for k, v in {"epochs": epochs, "upstream_compat": upstream_compat}.items() if v is not None}
    result = train(recipe, data, fold=fold, out_dir=out, progress=not quiet, base=base, **overrides)
    typer.echo(f"best epoch {result.best_epoch}, early stop {'fired' if result.stopped_early else 'not reached'}")
    for role, sets in result.metrics.items():
        if "A" in sets:
            typer.echo(f"{role}: Pearson R (all genes) {sets['A'].get('pearson')}, n={sets['A'].get('n_genes')}")
        else:  # a Seq-CNN base: per-track metrics
            tracks = ", ".join(f"{t} {v['pearson']}" for t, v in sets.items() if isinstance(v, dict))
            typer.echo(f"{role}: Pearson R of log2 coverage per track: {tracks}")
    typer.echo(f"wrote {result.preset}")


def register(app: typer.Typer) -> None:
    """Add `train` to `app`."""
    app.command("train")(train_command)
