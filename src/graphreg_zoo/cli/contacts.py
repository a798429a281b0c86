"""CLI command: call significant contacts from raw Hi-C counts (built-in caller, no R)."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List

import typer

from ..prep.contacts.formats import RAW_FORMATS

#: raw-count inputs the caller reads (the format registry's raw formats)
RawFormat = Enum("RawFormat", {name: name for name in RAW_FORMATS}, type=str)


def call_contacts_command(
    source: str = typer.Argument(
        ..., metavar="INPUT", help="Raw contacts: .cool, file.mcool::/resolutions/5000, .hic, a juicer dump "
        "(a path template with {chrom} for several chromosomes), 4DN .pairs or HiC-Pro allValidPairs."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output HiCDCPlus-style table (TSV with header)."),
    fmt: RawFormat = typer.Option(..., "--format", "-f", help="Input format."),
    chroms: List[str] = typer.Option(..., "--chrom", "-c", help="Chromosome to call (repeat for several)."),
    fdr: float = typer.Option(0.1, "--fdr", help="Keep pairs with q-value <= FDR."),
    max_distance: int = typer.Option(2_000_000, "--max-distance", help="Longest pair tested, in bp."),
    resolution: int = typer.Option(5000, "--resolution", help="Bin size in bp (finer inputs are summed)."),
) -> None:
    """Call significant pairs (distance + coverage negative-binomial background, BH FDR) and write them
    as `chrI startI endI chrJ startJ endJ D counts pvalue qvalue mu sdev`, readable by
    `build_graphs(..., "hicdcplus")`."""
    from ..prep.contacts.calling import call_table, write_hicdcplus

    table = call_table(
        source, fmt.value, chroms, fdr=fdr, max_distance=max_distance, resolution=resolution
    )
    write_hicdcplus(table, out)
    per_chrom = table.groupby("chrI").size().reindex(chroms, fill_value=0)
    typer.echo(", ".join(f"{c}: {n} pairs" for c, n in per_chrom.items()) + f" at q <= {fdr} -> {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("call-contacts")(call_contacts_command)
