"""Benchmark: scan all JASPAR 2024 CORE vertebrate motifs over a 6 Mb window (target <= 60 s).

Usage: python benchmarks/motifs.py [--jaspar PATH] [--length 6000000] [--pvalue 1e-4] [--update-docs]
With --update-docs the '## Motif scanning' section of docs/performance.md is written (other
sections are kept).
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from graphreg_zoo.interpret.motifs import Scanner, read_motifs
from graphreg_zoo.simulation.files import random_bases

REPO = Path(__file__).resolve().parents[1]
DEFAULT_JASPAR = REPO.parent / "shared/realdata/motifs/JASPAR2024_CORE_vertebrates_latest.jaspar"
SECTION = "## Motif scanning"


def random_genome(length: int, seed: int = 0) -> bytes:
    """i.i.d. bases whose GC content varies between 35% and 55% every 50 kb."""
    rng = np.random.default_rng(seed)
    gc = np.repeat(rng.uniform(0.35, 0.55, length // 50_000 + 1), 50_000)[:length].astype(np.float32)
    return np.frombuffer(b"ACGT", dtype=np.uint8)[random_bases(gc, rng)].tobytes()


def update_docs(text: str, path: Path = REPO / "docs/performance.md") -> None:
    """Replace (or append) this benchmark's section, leaving every other section untouched."""
    old = path.read_text() if path.exists() else "# Performance\n"
    head, found, rest = old.partition(SECTION)
    tail = rest[rest.find("\n## ") :] if found and "\n## " in rest else ""
    body = head.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + tail
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jaspar", type=Path, default=DEFAULT_JASPAR)
    parser.add_argument("--length", type=int, default=6_000_000)
    parser.add_argument("--pvalue", type=float, default=1e-4)
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    motifs = read_motifs(args.jaspar)
    seq = random_genome(args.length)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    scanner = Scanner(motifs, args.pvalue)
    t1 = time.perf_counter()
    hits = scanner.scan(seq, chrom="chrB")
    t2 = time.perf_counter()
    total = t2 - t0
    report = (
        f"{SECTION}\n\n"
        f"`python benchmarks/motifs.py` — all {len(motifs)} JASPAR 2024 CORE vertebrate motifs, both strands, "
        f"p <= {args.pvalue:g}, over a {args.length / 1e6:g} Mb random window (GC 35-55%), "
        f"on {platform.machine()} ({os.cpu_count()} shared cores, load average {load:.1f} "
        f"at the start):\n\n"
        f"| step | seconds |\n|---|---|\n| setup (PWMs, exact p-value tables, 8-mer filters) | {t1 - t0:.1f} |\n"
        f"| scan | {t2 - t1:.1f} |\n| **total** (target <= 60) | **{total:.1f}** |\n\n"
        f"{len(hits):,} hits ({len(hits) / (2 * len(motifs) * args.length):.2e} per motif, strand and position).\n"
    )
    print(report)
    if args.update_docs:
        update_docs(report)


if __name__ == "__main__":
    main()
