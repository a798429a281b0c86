"""CLI commands of the reference cells: `cells list | build | export | import`, and the confirmation
that `predict --cell NAME` and `cells build` ask before a first download."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

if TYPE_CHECKING:
    from ..reference_cells import Build

cells_app = typer.Typer(help="Reference cells (zoo_cards/cells/): build once from public files, move "
                             "between machines.", no_args_is_help=True)

YES_HELP = "Download without asking (for scripts; needed when stdin is not a terminal)."


def download_summary(build: "Build") -> str:
    """One line: what building `build` downloads (sizes from the card or registry, 'unknown' where neither)."""
    from rich.filesize import decimal

    known, unknown, cached = build.download()
    todo = len(build.files) - cached
    if todo == len(unknown):
        size = "size unknown" if todo else "nothing"
    else:
        size = decimal(known) + (f" + {len(unknown)} file(s) of unknown size" if unknown else "")
    return (f"reference cell {build.card['name']} ({build.assay}, {len(build.chroms)} chromosome(s)) is not built "
            f"yet: {todo} file(s) to download ({size}), {cached} already cached")


def build_command(build: "Build") -> str:
    """The `cells build` command line that makes `build` without asking."""
    from ..reference_cells import chromosomes_of

    options = [f"--assay {build.assay}"] if build.assay != build.card.get("default_assay") else []
    if build.chroms != chromosomes_of(build.card):
        options += [f"--chromosomes {c}" for c in build.chroms]
    options += ["--fasta"] if build.fasta else []
    return " ".join(["graphreg-zoo cells build", build.card["name"], *options, "--yes"])


def confirm_build(build: "Build", yes: bool, takes_yes: bool) -> None:
    """Say what a first build downloads, then go on with `yes` or a yes at a terminal; with neither,
    refuse (NotAvailableError, exit 3) naming the command to run (and `--yes` where the calling command
    `takes_yes`). Offline nothing is downloaded, so nothing is asked: the fetch names what is missing."""
    from ..errors import NotAvailableError
    from ..settings import is_offline

    summary = download_summary(build)
    typer.echo(summary, err=True)
    nothing_to_fetch = len(build.files) == build.download()[2]
    if yes or nothing_to_fetch or is_offline():
        return
    if not sys.stdin.isatty():
        also = " (or add --yes to this command)" if takes_yes else ""
        raise NotAvailableError(f"not downloading {build.card['name']}'s inputs without confirmation (stdin is not "
                                f"a terminal). Run `{build_command(build)}`{also}.")
    if not typer.confirm("Download and build it now?", default=True, err=True):
        raise typer.Abort()


def cells_list() -> None:
    """List the reference cells: genome, contacts, inputs flagged 3P/inferred, and built CellData files."""
    from rich.console import Console
    from rich.table import Table

    from ..reference_cells import CELL_DIR, cell_card, flags, list_cells
    from ..settings import cache_home

    table = Table(title="reference cells")
    for column in ("name", "genome", "contacts (default first)", "flagged inputs", "built"):
        table.add_column(column, overflow="fold")
    for name in list_cells():
        card = cell_card(name)
        entries = {**card["inputs"], **{f"contacts.{a}": e for a, e in card["contacts"].items()}}
        flagged = ", ".join(f"{role} {f['status']}" for role, f in flags(card, entries).items())
        assays = sorted(card["contacts"], key=lambda a: a != card.get("default_assay"))
        builds = sorted(p.stem for p in (cache_home() / CELL_DIR / name).glob("*.h5"))
        table.add_row(name, card["genome"], ", ".join(assays), flagged or "-", ", ".join(builds) or "-")
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def cells_build(
    name: str = typer.Argument(..., help="A reference cell (`graphreg-zoo cells list`), e.g. GM12878."),
    chromosomes: Optional[List[str]] = typer.Option(
        None, "--chromosomes", "--chrom", help="Only these chromosomes (default: the card's, else the autosomes)."),
    assay: Optional[str] = typer.Option(None, "--assay", help="Contacts for the graph (default: the card's)."),
    fasta: bool = typer.Option(False, "--fasta", help="Also fetch the genome FASTA (sequence models)."),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Download a reference cell's inputs and build its CellData into the cache (once).

    Reads become tracks as deepTools bamCoverage counts them, contacts become the graph through the
    built-in caller at the card's FDR, and the tracks follow the input contract of the cell's published
    models. Inputs the card marks 3P or inferred are printed and recorded in the CellData.
    """
    from ..reference_cells import build_cell, built, describe, plan

    build = plan(name, assay=assay, fasta=fasta, chromosomes=chromosomes)
    for line in describe(build):
        typer.echo(line, err=True)
    if not built(build):
        confirm_build(build, yes, takes_yes=False)
    typer.echo(f"built {build_cell(build, progress=not quiet)}")


def cells_export(
    name: str = typer.Argument(..., help="A built reference cell."),
    directory: Path = typer.Argument(..., help="Folder to write (e.g. on a drive for an offline machine)."),
) -> None:
    """Copy the built CellData files of a cell into DIR, with their sha256 in a manifest."""
    from ..reference_cells import export_cells

    for path in export_cells(name, directory):
        typer.echo(f"wrote {path}")


def cells_import(
    directory: Path = typer.Argument(..., help="A folder written by `graphreg-zoo cells export`."),
) -> None:
    """Verify (sha256) and copy built CellData files from DIR into this machine's cache."""
    from ..reference_cells import import_cells

    for path in import_cells(directory):
        typer.echo(f"imported {path}")


def register(app: typer.Typer) -> None:
    """Add the `cells` group to `app`."""
    for command, name in ((cells_list, "list"), (cells_build, "build"), (cells_export, "export"),
                          (cells_import, "import")):
        cells_app.command(name)(command)
    app.add_typer(cells_app, name="cells")
