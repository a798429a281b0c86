"""CLI command: `graphreg-zoo prepare SPEC.yaml -o cell.h5 [--for MODEL]`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def prepare(
    spec: Path = typer.Argument(..., metavar="SPEC.yaml", help="Cell spec YAML (see docs/preprocessing.md)."),
    out: Path = typer.Option(Path("cell.h5"), "--out", "-o", help="CellData HDF5 file to write."),
    for_model: Optional[str] = typer.Option(
        None, "--for", metavar="MODEL",
        help="Make the inputs as this model's input contract says (zoo name, preset or .h5): its track statistic "
             "and normalisation and its CAGE statistic replace the spec's; another genome build is refused.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Bin a cell's tracks, build its graph and TSS tables, and write one CellData HDF5 file."""
    import warnings

    from ..prep.cell import CellSpec, spec_for_model
    from ..prep.cell import prepare as run_prepare

    cell_spec = CellSpec.from_yaml(spec)
    if for_model:
        from ..zoo.load import PACKAGED, load

        is_file = Path(for_model).exists() or for_model in PACKAGED  # a preset or checkpoint: load it
        cell_spec, changes = spec_for_model(cell_spec, load(for_model) if is_file else for_model)
        for change in changes:
            typer.echo(f"--for {for_model}: {change}", err=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = run_prepare(cell_spec, out, progress=not quiet)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    if not quiet:
        typer.echo(f"wrote {written}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("prepare")(prepare)
