"""CLI command: `graphreg-zoo prepare SPEC.yaml -o cell.h5`."""
from __future__ import annotations

from pathlib import Path

import typer


def prepare(
    spec: Path = typer.Argument(..., metavar="SPEC.yaml", help="Cell spec YAML (see docs/preprocessing.md)."),
    out: Path = typer.Option(Path("cell.h5"), "--out", "-o", help="CellData HDF5 file to write."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Bin a cell's tracks, build its graph and TSS tables, and write one CellData HDF5 file."""
    from ..prep.cell import prepare as run_prepare

    written = run_prepare(spec, out, progress=not quiet)
    if not quiet:
        typer.echo(f"wrote {written}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("prepare")(prepare)
