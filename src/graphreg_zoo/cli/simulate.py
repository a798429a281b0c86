"""CLI command: simulate a synthetic genome with known regulation (graphreg_zoo.simulation.genome)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def simulate(
    out: Path = typer.Option(..., "-o", "--out", help="Folder to write (replaced atomically)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same data."),
    preset: str = typer.Option("default", help="default (5 x 10 Mb), demo (4 x 6 Mb), tiny (2 x 3 Mb) or sequence "
                               "(8 x 6-5 Mb, KLF1 on 30% of the enhancers: the sequence demo models' genome)."),
    n_chroms: Optional[int] = typer.Option(None, help="Number of chromosomes (overrides the preset)."),
    chrom_length: Optional[int] = typer.Option(None, help="Length of chr1 in bp (overrides the preset)."),
    loop_fraction: float = typer.Option(0.5, help="Fraction of genes with loop-connected distal enhancers."),
    motifs: Optional[Path] = typer.Option(None, help="JASPAR/MEME file with the planted TFs' matrices "
                                          "(MA0035.5 or MA0140.3, MA0493.3, MA0139.2)."),
) -> None:
    """Write a synthetic genome: FASTA, GTF, bigWigs, .cool, HiCDCPlus tables, truth tables, cell.yaml."""
    from ..simulation.files import simulate as run

    sim = run(out, seed=seed, preset=preset, n_chroms=n_chroms, chrom_length=chrom_length, motifs=motifs,
              loop_fraction=loop_fraction)
    genes = sim.truth.genes
    typer.echo(
        f"wrote {out}: {sim.config.n_chroms} chromosomes, {len(genes)} genes "
        f"({int(genes['has_loop'].sum())} with distal loops), {len(sim.truth.enhancers)} enhancers, "
        f"{len(sim.truth.motif_sites)} motif sites; prepare it with "
        f"`graphreg-zoo prepare {sim.files['cell_yaml']} -o cell.h5`"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command()(simulate)
