"""CLI commands: predict (gene table, bigWig, evaluation report)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import typer

from .evaluate import INCLUDE_HELP


def _cell_file(cell: str, out: Path, model_name: str, model: Callable[[], Any], *, yes: bool | None = None,
               quiet: bool = False) -> Path:
    """A CellData path from a prepared .h5, a cell spec YAML (prepared into OUTDIR as the input contract
    of `model()`, the loaded model `model_name`, says) or a reference cell name (built into the cache on
    first use, after asking: before the model is downloaded)."""
    from ..errors import InvalidInputError

    path = Path(cell)
    if path.suffix in (".h5", ".hdf5") and path.is_file():
        return path
    if path.suffix in (".yaml", ".yml") and path.is_file():
        from ..prep.cell import CellSpec, prepare, spec_for_model

        spec, changes = spec_for_model(CellSpec.from_yaml(path), model())
        for change in changes:
            typer.echo(f"{cell}: {change} (the model's input contract)", err=True)
        return prepare(spec, out / "cell.h5", progress=not quiet)
    if path.suffix not in (".h5", ".hdf5", ".yaml", ".yml"):
        return _reference_cell(cell, model_name, out, yes, quiet)
    raise InvalidInputError(
        f"--cell {cell!r}: expected a prepared CellData .h5 file or a cell spec .yaml "
        "(make one with `graphreg-zoo prepare`)."
    )


def _model_assay(model: str) -> str | None:
    """The contact assay of a zoo model (None for a preset, a file or an unknown name)."""
    from ..errors import InvalidInputError
    from ..zoo import cards

    try:
        return cards.resolve(model)[0].get("assay")
    except InvalidInputError:
        return None


def _reference_cell(name: str, model: str, out: Path, yes: bool | None, quiet: bool) -> Path:
    """The cached CellData of reference cell `name`, its graph from the model's assay where the card has it;
    a first use says what it downloads and asks."""
    from ..reference_cells import build_cell, built, cell_card, describe, plan
    from .cells import confirm_build

    assay = _model_assay(model)
    build = plan(name, assay=assay if assay in cell_card(name)["contacts"] else None)
    if not built(build):
        for line in describe(build):
            typer.echo(line, err=True)
        confirm_build(build, bool(yes), takes_yes=yes is not None)
    return build_cell(build, out, progress=not quiet)


@contextmanager
def _output_dir(out: Path) -> Iterator[Path]:
    """`out`, created if needed; a folder this command created is removed again if the command fails
    before writing anything into it, so a refused run leaves nothing behind."""
    created = [d for d in (out, *out.parents) if not d.exists()]
    out.mkdir(parents=True, exist_ok=True)
    try:
        yield out
    except BaseException:
        for folder in created:  # innermost first; stops at the first one holding something
            if any(folder.iterdir()):
                break
            folder.rmdir()
        raise


def predict_command(
    model: str = typer.Option(..., "--model", "-m", help="Zoo name, preset directory or upstream .h5."),
    cell: str = typer.Option(
        ..., "--cell", "-c", help="CellData .h5, cell spec .yaml (prepared as the model's input contract says) or "
        "reference cell name (K562, ...: built once, its graph from the model's assay)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    chrom: Optional[List[str]] = typer.Option(None, "--chrom", help="Chromosome(s) to predict (default: all)."),
    fmt: str = typer.Option("csv", "--format", help="Gene table format: csv or parquet."),
    bigwig: bool = typer.Option(False, "--bigwig", help="Also write a 5 kb prediction bigWig."),
    batch_size: int = typer.Option(
        8, "--batch-size", help="Windows per forward pass (end-to-end sequence models: at most 2)."),
    base: Optional[str] = typer.Option(
        None, "--base", help="Seq-CNN base (zoo name or preset) feeding a separately trained Seq model."
    ),
    allow_base_mismatch: bool = typer.Option(
        False, "--allow-base-mismatch", help="Run a --base whose fold or flavour does not match the model's."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse (exit 4) a cell not prepared as the model's input contract says."
    ),
    precision: str = typer.Option(
        "float32", "--precision",
        help="float32, or bfloat16 for the epigenome models on a GPU or a CPU with AVX512_BF16/AMX (refused for "
             "sequence models and on other hardware).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    include: str = typer.Option("", "--include", help=INCLUDE_HELP),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Build a reference cell's CellData on first use without asking (scripts)."),
) -> None:
    """Predict CAGE at every TSS bin of a cell; with true CAGE, also evaluate its held-out rows (report + plots).

    The gene table keeps every row, with the role of its chromosome for the model that predicted it.
    """
    import functools
    import warnings

    from ..evaluation.evaluator import evaluate
    from ..evaluation.metrics import scored_roles
    from ..models.inference import check_precision
    from ..prediction import contract_report, gene_table, predict_nodes, write_bigwig, write_table
    from ..prep.cell import CellData
    from ..zoo.load import load

    scored_roles(include)  # a bad --include or --precision is refused before any work
    check_precision(precision)
    with _output_dir(out):
        loader = functools.cache(lambda: load(model))
        if precision != "float32":  # a family not offered it is refused before a reference cell is built for it
            check_precision(precision, loader())
        data = CellData(_cell_file(cell, out, model, loader, yes=yes, quiet=quiet))
        loaded = loader()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = predict_nodes(loaded, data, chrom, batch_size=batch_size, progress=not quiet,
                                    base=load(base) if base else None, strict=strict,
                                    allow_base_mismatch=allow_base_mismatch, precision=precision)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    for note in contract_report(loaded, data).unchecked:
        typer.echo(f"not checked (unknown): {note}", err=True)
    import pandas as pd

    table = pd.concat([gene_table(data, r) for r in results], ignore_index=True)
    written = [write_table(table, out / f"predictions.{fmt}", fmt)]
    if bigwig:
        written.append(write_bigwig(results, out / "predictions.bw", data.chrom_sizes))
    if table["cage"].notna().any():
        report = evaluate(table, include=include, out_dir=out / "evaluation")
        typer.echo(report.scope())
        typer.echo(report.pooled().to_string(index=False))
        written.append(out / "evaluation")
    typer.echo(f"{len(table)} TSS bins predicted on {len(results)} chromosome(s).")
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add `predict` to `app`."""
    app.command("predict")(predict_command)
