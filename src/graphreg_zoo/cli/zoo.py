"""CLI commands of the model zoo: models, info, fetch, cache …, convert."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

cache_app = typer.Typer(help="Inspect and move the local model cache (GRAPHREG_ZOO_HOME).", no_args_is_help=True)


def models(
    cell: Optional[str] = typer.Option(None, help="Only this cell type (K562, GM12878, hESC, mESC)."),
    kind: Optional[str] = typer.Option(None, help="Only this model kind (epi_graphreg, epi, seq_graphreg_e2e, …)."),
    assay: Optional[str] = typer.Option(None, help="Only this 3D assay (HiC, HiChIP, MicroC, HiCAR)."),
) -> None:
    """List the model families of the zoo."""
    from rich.console import Console
    from rich.table import Table

    from ..zoo.cards import model_rows

    rows = model_rows(cell, kind, assay)
    table = Table(title=f"graphreg_zoo models ({len(rows)} families)")
    columns = ("name", "kind", "cell", "genome", "assay", "fdr", "naming", "folds", "aliases")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def info(name: str = typer.Argument(..., help="A family, alias or NAME@foldN.")) -> None:
    """Print a model's zoo card."""
    import yaml

    from ..zoo.cards import info as card_info

    card = card_info(name)
    if "member" in card:
        typer.echo(yaml.safe_dump({"member": card["member"]}, sort_keys=False, default_flow_style=None))
    typer.echo(Path(card["card_path"]).read_text(encoding="utf-8"))


def fetch(names: List[str] = typer.Argument(..., help="Families, aliases or NAME@foldN.")) -> None:
    """Download and verify the raw checkpoint files of models into the cache."""
    from ..zoo.load import fetch as fetch_name

    for name in names:
        for path in fetch_name(name):
            typer.echo(str(path))


def convert(
    source: Path = typer.Argument(..., help="An upstream .h5 checkpoint, or a directory of the 10 fold files."),
    output: Path = typer.Argument(..., help="The preset directory to write."),
    organism: str = typer.Option("human", help="human or mouse: decides the fold chromosomes of a directory."),
) -> None:
    """Convert upstream checkpoints to a Keras 3 preset (a directory of folds -> a fold-ensemble preset)."""
    from ..zoo.load import convert as convert_files

    typer.echo(str(convert_files(source, output, organism=organism)))


@cache_app.command("ls")
def cache_ls() -> None:
    """List the cached raw files with their recorded hashes."""
    from ..filecache import cache_home, cached_files, cached_path, preset_path, read_registry

    recorded = read_registry()
    typer.echo(f"cache: {cache_home()}")
    for path in cached_files():
        sha = recorded.get(path, {}).get("sha256") or "-"
        preset = "preset" if preset_path(path).is_dir() else "raw"
        typer.echo(f"{cached_path(path).stat().st_size:>12}  {sha[:16]}  {preset:6}  {path}")


@cache_app.command("verify")
def cache_verify() -> None:
    """Re-hash every cached file against its pinned or recorded sha256 (exit 5 on a mismatch)."""
    from ..errors import IntegrityError
    from ..filecache import verify_cache
    from ..zoo.load import card_specs

    report = verify_cache(card_specs())
    for path, status in report.items():
        typer.echo(f"{status.split(':')[0]:10}  {path}")
    bad = [p for p, s in report.items() if s.startswith("mismatch")]
    if bad:
        raise IntegrityError("corrupted cache entries:\n  " + "\n  ".join(f"{p}: {report[p]}" for p in bad)
                             + "\nRemove them with `graphreg-zoo cache clear` and fetch again.")


@cache_app.command("pin")
def cache_pin(output: Path = typer.Argument(Path("registry.json"), help="Registry file to write.")) -> None:
    """Write the recorded hashes as a registry (commit it as zoo_cards/registry.json, rerun _generate.py)."""
    from ..filecache import pin_registry

    typer.echo(str(pin_registry(output)))


@cache_app.command("export")
def cache_export(directory: Path = typer.Argument(..., help="Folder to fill; usable as GRAPHREG_ZOO_MIRROR.")) -> None:
    """Copy the cached raw files into DIR, laid out as a mirror."""
    from ..filecache import export_cache

    typer.echo(f"exported {export_cache(directory)} file(s) to {directory}")


@cache_app.command("import")
def cache_import(directory: Path = typer.Argument(..., help="A mirror folder, e.g. from `cache export`.")) -> None:
    """Verify and copy the files of a mirror folder into the cache."""
    from ..filecache import import_cache
    from ..zoo.load import card_specs

    typer.echo(f"imported {import_cache(directory, card_specs())} file(s) from {directory}")


@cache_app.command("clear")
def cache_clear(
    registry: bool = typer.Option(False, help="Also forget the recorded sha256 of unpinned files."),
) -> None:
    """Delete cached files and converted presets."""
    from ..filecache import cache_home, clear_cache

    clear_cache(registry=registry)
    typer.echo(f"cleared {cache_home()}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    for command in (models, info, fetch, convert):
        app.command()(command)
    app.add_typer(cache_app, name="cache")
