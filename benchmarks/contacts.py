"""Contacts: speed of HiCDCPlus tables -> graphs and of the built-in caller; the K562 chr22 report.

Usage: python benchmarks/contacts.py [--rows 10000000] [--update-docs]
Targets: a genome-wide 10 M-row HiCDCPlus table to graphs in <= 60 s; the caller on the real chr22
5 kb dump timed. With --update-docs the '## Contacts' section of docs/performance.md and the
'## Report: K562 chr22' section of docs/contacts.md are rewritten (other sections are kept).
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _sections import replace_section

from graphreg_zoo.prep.assembly import KNOWN_SIZES
from graphreg_zoo.prep.contacts.calling import build_graphs, edges_to_graph, read_contacts
from graphreg_zoo.prep.contacts.significance import call_contacts
from graphreg_zoo.prep.contacts.tables import HICDCPLUS_COLUMNS

REPO = Path(__file__).resolve().parents[1]
CHR22 = REPO.parent / "shared/realdata/hg38_K562_chr22"
SIZES = {c: n for c, n in KNOWN_SIZES["hg38"].items() if c != "chrY"}
MAX_BINS = 400


def write_genome_table(path: Path, rows: int, seed: int = 0) -> None:
    """A headered HiCDCPlus table over hg38 chr1-22,X: rows in proportion to length, |i-j| <= 2 Mb."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    lengths = np.array(list(SIZES.values()))
    per_chrom = rng.multinomial(rows, lengths / lengths.sum())
    chrom = np.repeat(np.arange(len(SIZES)), per_chrom)
    n_bins = -(-lengths[chrom] // 5000)
    start_i = rng.integers(0, n_bins - MAX_BINS)
    start_j = start_i + rng.integers(0, MAX_BINS + 1, rows)
    s1, s2 = start_i * 5000, start_j * 5000
    q = rng.uniform(0, 0.2, rows)
    names = pa.array(np.array(list(SIZES))[chrom])
    columns = [names, s1, s1 + 5000, names, s2, s2 + 5000, s2 - s1, rng.integers(1, 200, rows), q / 10, q,
               rng.uniform(1, 50, rows), rng.uniform(1, 10, rows)]
    table = pa.table([pa.array(c) if not isinstance(c, pa.Array) else c for c in columns], names=HICDCPLUS_COLUMNS)
    pcsv.write_csv(table, path, pcsv.WriteOptions(delimiter="\t", quoting_style="none"))


def time_genome_table(rows: int) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "K562_HiC_FDR_1_genome.tsv"
        write_genome_table(path, rows)
        size_gb = path.stat().st_size / 1e9
        t = time.perf_counter()
        graphs = build_graphs(path, "hicdcplus", SIZES, list(SIZES), fdr=0.1)
        seconds = time.perf_counter() - t
    return seconds, sum(g.nnz // 2 for g in graphs.values()), size_gb


def chr22_report() -> tuple[str, dict[str, float]]:
    """Edges, degrees and CRISPRi pair connectivity of the built-in caller on K562 chr22."""
    length = SIZES["chr22"]
    t = time.perf_counter()
    pixels, _ = read_contacts(CHR22 / "hic/chr22.5kb.RAWobserved.gz", "juicer_dump", ["chr22"])
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    called = call_contacts(pixels["chr22"], length)
    t_call = time.perf_counter() - t
    crispr = pd.read_csv(CHR22 / "crispr/EPCrisprBenchmark_ensemble_data_GRCh38.tsv.gz", sep="\t")
    crispr = crispr[crispr.chrom == "chr22"]
    element = ((crispr.chromStart + crispr.chromEnd) // 2 // 5000).to_numpy()
    tss = (crispr.startTSS // 5000).to_numpy()
    positive = crispr.Regulated.astype(str).str.upper().eq("TRUE").to_numpy()
    n_nodes = -(-length // 5000)
    lines = [
        "| q <= | edges | nodes with an edge | degree quantiles 50/90/99/max (nodes with an edge) | "
        f"CRISPRi positives connected (of {positive.sum()}) | negatives connected (of {(~positive).sum()}) |",
        "|---|---|---|---|---|---|",
    ]
    for fdr in (0.1, 0.01, 0.001):
        kept = called[called.qvalue <= fdr]
        graph = edges_to_graph(kept.bin1.to_numpy(), kept.bin2.to_numpy(), n_nodes, MAX_BINS, "chr22")
        degree = np.diff(graph.indptr)
        linked = degree[degree > 0]
        quant = "/".join(f"{np.quantile(linked, p):.0f}" for p in (0.5, 0.9, 0.99)) + f"/{linked.max()}"
        connected = np.asarray(graph[element, tss]).ravel() > 0
        lines.append(
            f"| {fdr:g} | {graph.nnz // 2:,} | {linked.size:,} of {n_nodes:,} | {quant} | "
            f"{connected[positive].sum()} ({connected[positive].mean():.0%}) | "
            f"{connected[~positive].sum()} ({connected[~positive].mean():.1%}) |"
        )
    q_by_pixel = pd.Series(called.qvalue.to_numpy(), index=called.bin1.to_numpy() * n_nodes + called.bin2.to_numpy())
    pair_q = q_by_pixel.reindex(np.minimum(element, tss) * n_nodes + np.maximum(element, tss)).fillna(1.0).to_numpy()
    same_bin = int((element == tss).sum())
    distance = np.abs(element - tss) * 5
    text = (
        "## Report: K562 chr22\n\n"
        "Built-in caller (`call=True`) on the real K562 chr22 5 kb raw dump "
        "(`realdata/hg38_K562_chr22/hic/chr22.5kb.RAWobserved.gz`, 1,063,677 pixels, 6.5 M contacts), "
        f"pairs 5 kb-2 Mb apart; {len(called):,} non-zero pixels tested. Produced by "
        "`python benchmarks/contacts.py --update-docs`.\n\n" + "\n".join(lines) + "\n\n"
        f"CRISPRi pairs: the {len(crispr)} chr22 element-gene pairs of EPCrisprBenchmark (GRCh38), element bin = "
        "midpoint // 5000, TSS bin = startTSS // 5000, connected = an edge between the two bins. "
        f"{same_bin} pairs have element and TSS in the same bin (never an edge: the graph has no self-loops); "
        f"element-TSS distance median {np.median(distance):.0f} kb (positives "
        f"{np.median(distance[positive]):.0f} kb). The pairs' own q-values (1 where untested or no contacts): "
        f"positives min {pair_q[positive].min():.2g}, median {np.median(pair_q[positive]):.2g}; negatives min "
        f"{pair_q[~positive].min():.2g}, median {np.median(pair_q[~positive]):.2g}.\n"
    )
    return text, {"read": t_read, "call": t_call, "tested": len(called)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    report, caller = chr22_report()
    print(report)
    seconds, edges, size_gb = time_genome_table(args.rows)
    perf = (
        "## Contacts\n\n"
        f"`python benchmarks/contacts.py` on {platform.processor() or platform.machine()} "
        "(shared 2-core machine), numbers from one run:\n\n"
        "| task | target | time |\n|---|---|---|\n"
        f"| genome-wide headered HiCDCPlus table, {args.rows:,} rows ({size_gb:.2f} GB, hg38 chr1-22,X) -> "
        f"23 graphs at q <= 0.1 ({edges:,} edges) | <= 60 s | {seconds:.1f} s |\n"
        f"| built-in caller, K562 chr22 5 kb dump: read | - | {caller['read']:.1f} s |\n"
        f"| built-in caller, K562 chr22 5 kb dump: fit + test {caller['tested']:,} pixels | - | "
        f"{caller['call']:.1f} s |\n"
    )
    print(perf)
    if args.update_docs:
        replace_section(REPO / "docs/performance.md", "## Contacts", perf)
        replace_section(REPO / "docs/contacts.md", "## Report: K562 chr22", report, title="# Contacts")


if __name__ == "__main__":
    main()
