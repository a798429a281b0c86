"""CLI commands: attribute, knockout, ism, variant-effects, edge-knockout, validate-enhancers."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

MODEL = typer.Option(..., "--model", "-m", help="Zoo name, preset directory or upstream .h5.")
CELL = typer.Option(..., "--cell", "-c", help="CellData .h5, cell spec .yaml (prepared as the model's input contract "
                    "says) or a built reference cell (`graphreg-zoo cells build`).")
BASE = typer.Option(None, "--base", help="Seq-CNN base (zoo name or preset) feeding a separate Seq model.")
ALLOW_MISMATCH = typer.Option(False, "--allow-base-mismatch",
                              help="Run a --base whose fold or flavour does not match the model's (refused otherwise).")
GENES = typer.Option(None, "--gene", "-g", help="Report only these genes (repeatable).")


def _inputs(model: str, cell: str, out: Path, base: Optional[str] = None):
    """(model, CellData, base model or None) for a command writing to `out`."""
    import functools

    from ..prep.cell import CellData
    from ..zoo.load import load
    from .predict import _cell_file

    loader = functools.cache(lambda: load(model))
    data = CellData(_cell_file(cell, out.parent, model, loader))
    return loader(), data, (load(base) if base else None)


def _write(table, path: Path) -> None:
    """Write a table (TSV, or CSV for a .csv name) atomically and say so."""
    from .._atomic import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="," if path.suffix == ".csv" else "\t", index=False)
    typer.echo(f"wrote {path} ({len(table)} rows)")


def attribute_command(
    model: str = MODEL,
    cell: str = CELL,
    gene: Optional[str] = typer.Option(None, "--gene", "-g", help="Gene name (or give --chrom and --tss)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.tsv, or .csv)."),
    chrom: Optional[str] = typer.Option(None, "--chrom", help="Chromosome of the gene / TSS."),
    tss: Optional[int] = typer.Option(None, "--tss", help="TSS coordinate (picks the gene's bin nearest it)."),
    method: str = typer.Option("saliency", "--method", help="saliency, grad_x_input or expected_gradients."),
    baseline: str = typer.Option("zero", "--baseline", help="Expected-gradients baseline: zero or shuffle."),
    n_samples: int = typer.Option(50, "--n-samples", help="Expected-gradients samples."),
    neighbours: Optional[int] = typer.Option(
        None, "--neighbours", help="Nodes on each side of the TSS node in the target (default: 1 for Epi "
        "models, 0 for Seq models, as the original)."),
    resolution: Optional[int] = typer.Option(None, "--resolution", help="Output bin size in bp (default native)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the expected-gradients draws."),
    base: Optional[str] = BASE,
    allow_base_mismatch: bool = ALLOW_MISMATCH,
    bigwig: bool = typer.Option(False, "--bigwig", help="Also write OUT with .bw: the total per bin."),
) -> None:
    """Attribute a gene's predicted CAGE to the input bins of its window."""
    from ..interpret.attribution import attribute, write_attribution_bigwig

    net, data, base_net = _inputs(model, cell, out, base)
    table = attribute(net, data, gene, chrom=chrom, tss=tss, method=method, baseline=baseline,
                      n_samples=n_samples, neighbours=neighbours, seed=seed, base=base_net, resolution=resolution,
                      allow_base_mismatch=allow_base_mismatch)
    _write(table, out)
    if bigwig:
        typer.echo(f"wrote {write_attribution_bigwig(table, out.with_suffix('.bw'), data.chrom_sizes)}")


def knockout_command(
    model: str = MODEL,
    cell: str = CELL,
    tf: str = typer.Option(..., "--tf", help="TF motif name or matrix id."),
    out: Path = typer.Option(..., "--out", "-o", help="Output gene table (.tsv, or .csv)."),
    motifs: Optional[Path] = typer.Option(None, "--motifs", help="JASPAR/MEME motifs, or a FIMO/BED hit table."),
    mode: str = typer.Option(
        "zero", "--mode", help="Sequence models: zero (original), n or shuffle; Epi models: marks."),
    chrom: Optional[List[str]] = typer.Option(None, "--chrom", help="Chromosome(s) (default: all)."),
    pvalue: float = typer.Option(1e-4, "--pvalue", help="Motif scanning p-value threshold."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    base: Optional[str] = BASE,
    allow_base_mismatch: bool = ALLOW_MISMATCH,
) -> None:
    """Knock out a TF's motif hits in the sequence and report each gene's log2 fold change."""
    from ..interpret.perturb import knockout

    net, data, base_net = _inputs(model, cell, out, base)
    table = knockout(net, data, tf, motifs=motifs, mode=mode, chroms=chrom, pvalue=pvalue, progress=not quiet,
                     base=base_net, allow_base_mismatch=allow_base_mismatch)
    typer.echo(f"{table.attrs['n_hits']} {tf} hits knocked out ({mode}).")
    _write(table, out)


def ism_command(
    model: str = MODEL,
    cell: str = CELL,
    gene: str = typer.Option(..., "--gene", "-g", help="Gene whose TSS node is scored."),
    chrom: str = typer.Option(..., "--chrom", help="Chromosome of the gene and region."),
    start: int = typer.Option(..., "--start", help="Region start (0-based)."),
    end: int = typer.Option(..., "--end", help="Region end (exclusive)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.tsv, or .csv)."),
    base: Optional[str] = BASE,
    allow_base_mismatch: bool = ALLOW_MISMATCH,
) -> None:
    """In-silico saturation mutagenesis of a region: every position to each other base."""
    from ..interpret.perturb import ism

    net, data, base_net = _inputs(model, cell, out, base)
    _write(ism(net, data, gene, chrom, start, end, base=base_net, allow_base_mismatch=allow_base_mismatch), out)


def variant_effects_command(
    model: str = MODEL,
    cell: str = CELL,
    vcf: Path = typer.Option(..., "--vcf", help="VCF of substitutions on the cell's genome."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.tsv, or .csv)."),
    gene: Optional[List[str]] = GENES,
    base: Optional[str] = BASE,
    allow_base_mismatch: bool = ALLOW_MISMATCH,
) -> None:
    """Predicted effect of each VCF substitution on the genes around it."""
    from ..interpret.perturb import variant_effects

    net, data, base_net = _inputs(model, cell, out, base)
    table = variant_effects(net, data, vcf, genes=gene, base=base_net, allow_base_mismatch=allow_base_mismatch)
    if table.attrs.get("skipped"):
        typer.echo(f"skipped {table.attrs['skipped']} alleles (indels, symbolic, or chromosomes not in the cell)")
    _write(table, out)


def edge_knockout_command(
    model: str = MODEL,
    cell: str = CELL,
    chrom: str = typer.Option(..., "--chrom", help="Chromosome of the region."),
    start: int = typer.Option(..., "--start", help="Region start (0-based)."),
    end: int = typer.Option(..., "--end", help="Region end (exclusive)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.tsv, or .csv)."),
    gene: Optional[List[str]] = GENES,
    base: Optional[str] = BASE,
    allow_base_mismatch: bool = ALLOW_MISMATCH,
) -> None:
    """Remove the contact-graph edges touching a region and report each gene's change."""
    from ..interpret.perturb import edge_knockout

    net, data, base_net = _inputs(model, cell, out, base)
    _write(edge_knockout(net, data, chrom, start, end, genes=gene, base=base_net,
                        allow_base_mismatch=allow_base_mismatch), out)


def validate_enhancers_command(
    model: str = MODEL,
    cell: str = CELL,
    crispr: Path = typer.Option(..., "--crispr", help="EPCrisprBenchmark or Fulco FlowFISH table."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    method: str = typer.Option("grad_x_input", "--method", help="saliency, grad_x_input or expected_gradients."),
    window: int = typer.Option(40, "--window-bins", help="L: bins on each side of an element (40 = 4 kb)."),
    abc: Optional[Path] = typer.Option(None, "--abc", help="ABC predictions to compare with."),
    base: Optional[str] = BASE,
    allow_base_mismatch: bool = ALLOW_MISMATCH,
) -> None:
    """Attribute every CRISPRi-tested gene in the cell and score its elements against the labels."""
    from ..interpret.attribution import enhancer_scores
    from ..interpret.crispr import check_build, read_crispr_table, validate_enhancers

    net, data, base_net = _inputs(model, cell, out / "scores.tsv", base)
    pairs = read_crispr_table(crispr)
    check_build(pairs, data, str(crispr))
    scores = enhancer_scores(net, data, pairs[pairs["chrom"].isin(data.chroms)], window, method=method,
                             base=base_net, allow_base_mismatch=allow_base_mismatch)
    _write(scores, out / "graphreg_scores.tsv")
    report = validate_enhancers(crispr, scores, out, abc_table=abc, chroms=data.chroms)
    typer.echo(report.pooled.to_string(index=False))
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the interpretation commands to `app`."""
    app.command("attribute")(attribute_command)
    app.command("knockout")(knockout_command)
    app.command("ism")(ism_command)
    app.command("variant-effects")(variant_effects_command)
    app.command("edge-knockout")(edge_knockout_command)
    app.command("validate-enhancers")(validate_enhancers_command)
