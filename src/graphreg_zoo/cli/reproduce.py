"""CLI commands: reproduce zoo families with the Snakemake workflow, and the commands its jobs run.

`reproduce` is a thin layer over Snakemake: it writes the workflow config into the results folder and
hands Snakemake's own argument parser the packaged Snakefile, a profile and any extra Snakemake options,
so profiles and executor plugins (`--executor slurm --slurm-...`) work exactly as in `snakemake`.
`reproduce-report`, `reproduce-manifest` and `reference-cell` are the jobs' own steps.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def _all_families() -> list[str]:
    """Every packaged recipe that trains on the original folds (the zoo families, not the demo models)."""
    import yaml

    from ..training.recipes import RECIPE_DIR

    return [p.stem for p in sorted(RECIPE_DIR.glob("*.yaml")) if "folds" in (yaml.safe_load(p.read_text()) or {})]


def _profile(profile: Optional[str], executor: Optional[str]) -> Path:
    """A profile folder: a path, or the name of a packaged profile (`local`, `slurm`)."""
    from ..errors import InvalidInputError
    from ..workflow import PROFILES

    name = profile or ("slurm" if executor == "slurm" else "local")
    if Path(name).is_dir():
        return Path(name).resolve()
    if (PROFILES / name).is_dir():
        return PROFILES / name
    known = sorted(p.name for p in PROFILES.iterdir() if p.is_dir())
    raise InvalidInputError(f"--profile {name!r}: neither a folder nor a packaged profile ({', '.join(known)})")


def _snakemake_argv(results: Path, config: Path, profile: Path, cores: int, executor: Optional[str],
                    dry_run: bool, extra: list[str]) -> list[str]:
    from ..workflow import SNAKEFILE

    argv = ["--snakefile", str(SNAKEFILE), "--directory", str(results), "--configfile", str(config),
            "--workflow-profile", "none", "--profile", str(profile), "--cores", str(cores)]
    if executor:
        argv += ["--executor", executor]
    if dry_run:
        argv += ["--dry-run"]
    return argv + extra


def run_snakemake(argv: list[str]) -> bool:
    """Run Snakemake's argument parser and API on `argv`; False when the workflow failed."""
    from ..errors import InvalidInputError

    try:
        from snakemake.cli import args_to_api, parse_args
    except ImportError as exc:
        raise InvalidInputError(
            "`graphreg-zoo reproduce` needs Snakemake (Python >= 3.11): pip install 'graphreg-zoo[workflow]'"
        ) from exc
    parser, args = parse_args(argv)
    return bool(args_to_api(args, parser))


def reproduce(
    ctx: typer.Context,
    families: Optional[List[str]] = typer.Argument(None, help="Recipe names (zoo families) or recipe YAML paths."),
    all_families: bool = typer.Option(False, "--all", help="Every zoo family with a recipe."),
    cell: Optional[str] = typer.Option(
        None, "--cell", "-c", help="CellData .h5, cell spec .yaml, reference cell name, or synthetic[:PRESET[:N]] "
        "(default: each recipe's reference cell)."),
    folds: str = typer.Option("1-10", "--folds", help="Folds to train: 1-10, 1,3,5 or 2."),
    results: Path = typer.Option(Path("reproduce"), "--results", "-o", help="Results folder (rerun-safe)."),
    cores: int = typer.Option(1, "--cores", help="CPU cores Snakemake may use on this machine."),
    profile: Optional[str] = typer.Option(
        None, "--profile", help="Snakemake profile folder, or a packaged one: local (default), slurm."),
    executor: Optional[str] = typer.Option(None, "--executor", help="Snakemake executor plugin, e.g. slurm."),
    dry_run: bool = typer.Option(False, "--dry-run", "-n", help="List the jobs (and their resources); run nothing."),
    published: Optional[Path] = typer.Option(
        None, "--published", help="Folder of presets FAMILY/foldN to compare with instead of the zoo's checkpoints."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override every recipe's epochs (smoke runs)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Override every recipe's seed."),
) -> None:
    """Reproduce zoo families: prepare the cell, train every fold, predict and evaluate its test
    chromosomes, compare with the published folds, one report per family. Extra options go to Snakemake."""
    from ..errors import GraphRegZooError, InvalidInputError
    from ..workflow.plan import Plan, write_config

    if all_families == bool(families):
        raise InvalidInputError("name the families to reproduce, or pass --all (not both)")
    config = {"families": [str(Path(f).resolve()) if Path(f).is_file() else f for f in families or _all_families()],
              "folds": folds, "cell": str(Path(cell).resolve()) if cell and Path(cell).is_file() else cell,
              "published": str(published.resolve()) if published else None, "epochs": epochs, "seed": seed}
    Plan.from_config(config)  # refuse a bad request here, with its own exit code, before Snakemake starts
    results.mkdir(parents=True, exist_ok=True)
    config_file = write_config(results / "reproduce.yaml", config)
    argv = _snakemake_argv(results.resolve(), config_file.resolve(), _profile(profile, executor), cores, executor,
                           dry_run, list(ctx.args))
    if not run_snakemake(argv):
        raise GraphRegZooError(f"the workflow stopped with an error (see above; job logs under {results}/logs)")
    if not dry_run:
        typer.echo(f"results in {results}: report/FAMILY/report.md, manifest.tsv")


def reproduce_report(
    family: str = typer.Argument(..., help="The family (report title)."),
    ours: List[str] = typer.Option(..., "--ours", help="FOLD=PATH of a reproduced fold's prediction table."),
    published: Optional[List[str]] = typer.Option(None, "--published", help="FOLD=PATH of a published fold's table."),
    versus: Optional[List[str]] = typer.Option(None, "--versus", help="FOLD=PATH of an Epi-CNN fold's table."),
    versus_name: str = typer.Option("Epi-CNN", "--versus-name", help="Name of the --versus family."),
    note: str = typer.Option("", "--note", help="A line to print at the top of the report."),
    out: Path = typer.Option(..., "--out", "-o", help="Report folder (report.md, folds.png, metrics.csv)."),
) -> None:
    """One family's reproduction report: per-fold R / NLL ours vs published, paired Wilcoxon, the paper's
    Epi-GraphReg vs Epi-CNN comparison on the same genes."""
    from ..workflow.report import family_report, parse_fold_paths

    files = family_report(family, parse_fold_paths(ours, "--ours"), out,
                          published=parse_fold_paths(published or [], "--published"),
                          versus=parse_fold_paths(versus or [], "--versus"), versus_name=versus_name, note=note)
    typer.echo(f"wrote {files['report']}")


def reproduce_manifest(
    presets: List[Path] = typer.Argument(..., help="Trained preset folders (or their card.json)."),
    out: Path = typer.Option(..., "--out", "-o", help="Manifest TSV to write."),
) -> None:
    """The run's manifest: family, fold, recipe hash, data hash, package version and backend per preset."""
    from ..workflow.report import write_manifest

    typer.echo(f"wrote {write_manifest(list(presets), out)}")


def reference_cell(
    name: str = typer.Argument(..., help="A reference cell (zoo_cards/cells/), e.g. K562."),
    assay: Optional[str] = typer.Option(None, "--assay", help="Contacts for the graph (default: the card's)."),
    fasta: bool = typer.Option(False, "--fasta", help="Also fetch the genome FASTA (sequence models)."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to link the prepared CellData .h5."),
) -> None:
    """Fetch and prepare a reference cell once (cached), and link it at OUT."""
    import os

    from .._atomic import atomic_path
    from ..reference_cells import reference_cell as prepared

    cached = prepared(name, assay=assay, fasta=fasta, progress=False)
    with atomic_path(out) as tmp:
        tmp.unlink()
        os.symlink(cached, tmp)
    typer.echo(f"linked {out} -> {cached}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("reproduce", context_settings=_EXTRA)(reproduce)
    app.command("reproduce-report")(reproduce_report)
    app.command("reproduce-manifest")(reproduce_manifest)
    app.command("reference-cell")(reference_cell)
