"""Preprocessing speed and memory: bin a realistic 250 Mb chr1 bigWig to 100 bp, then prepare a
one-chromosome, three-track CellData and extrapolate to a whole hg38 genome.

Run by hand:  python benchmarks/prep.py [--intervals 3000000]
Targets: binning <= 30 s and <= 2 GB peak RSS; whole-genome three-track hg38 CellData <= 15 min.
Results go to docs/performance.md (## Preprocessing).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHROM_LEN = 250_000_000


def make_bigwig(path: Path, n_intervals: int, seed: int = 0) -> int:
    """A peaky ChIP-like signal: low background everywhere, ~40k broad peaks; variable spans."""
    import pyBigWig

    rng = np.random.default_rng(seed)
    spans = rng.integers(10, 80, n_intervals)
    gaps = rng.integers(0, max(1, 2 * (CHROM_LEN // n_intervals - 45)), n_intervals)
    starts = np.cumsum(gaps + spans) - spans
    keep = starts + spans <= CHROM_LEN
    starts, spans = starts[keep], spans[keep]
    values = rng.exponential(0.3, starts.size)
    peaks = rng.integers(0, CHROM_LEN, 40_000)
    width = rng.integers(200, 3000, peaks.size)
    idx = np.searchsorted(starts, peaks)
    for lo, w, h in zip(idx, width // 60, rng.gamma(2.0, 15.0, peaks.size)):
        values[lo : lo + w] += h * np.exp(-0.5 * ((np.arange(min(w, values.size - lo)) - w / 2) / (w / 4 + 1)) ** 2)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", CHROM_LEN)], maxZooms=10)
    for i in range(0, starts.size, 1_000_000):
        s = starts[i : i + 1_000_000]
        bw.addEntries(np.array(["chr1"] * s.size), s, ends=s + spans[i : i + 1_000_000],
                      values=values[i : i + 1_000_000].astype(np.float64))
    bw.close()
    return int(starts.size)


def child(mode: str, folder: Path) -> dict:
    """Run one measurement in this (fresh) process and return timings."""
    if mode == "bin":
        from graphreg_zoo.prep.tracks import TrackFile, bin_track

        t = time.perf_counter()
        with TrackFile(folder / "chr1.bw") as track:
            out = bin_track(track, "chr1", CHROM_LEN, bin_size=100, stat="sum")
        result = {"seconds": time.perf_counter() - t, "bins": int(out.size)}
    else:
        from graphreg_zoo.prep.cell import prepare

        t = time.perf_counter()
        prepare(folder / "spec.yaml", folder / "cell.h5", progress=False)
        result = {"seconds": time.perf_counter() - t, "bytes": (folder / "cell.h5").stat().st_size}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return result


def measure(mode: str, folder: Path) -> dict:
    """Run `child(mode)` in a fresh subprocess, so its peak RSS is its own."""
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(folder)], check=True,
                          capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_spec(folder: Path) -> None:
    import yaml

    np.savez(folder / "graph.npz", chr1=np.array([[i, i + 7] for i in range(0, 49_000, 3)]))
    (folder / "sizes").write_text(f"chr1\t{CHROM_LEN}\n")
    (folder / "genes.bed").write_text("".join(f"chr1\t{p}\t{p + 1}\tG{p}\t0\t+\n" for p in range(10_000, CHROM_LEN, 150_000)))
    spec = {"genome": "bench", "chrom_sizes": "sizes", "chromosomes": ["chr1"], "genes": "genes.bed",
            "tracks": {n: "chr1.bw" for n in ("h3k4me3", "h3k27ac", "dnase")},
            "cage": "chr1.bw", "graph": {"format": "npz", "path": "graph.npz"}}
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=3_000_000)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    from graphreg_zoo.prep.assembly import KNOWN_SIZES

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        n = make_bigwig(folder / "chr1.bw", args.intervals)
        made = time.perf_counter() - t
        size_mb = (folder / "chr1.bw").stat().st_size / 1e6
        binned = measure("bin", folder)
        write_spec(folder)
        prepared = measure("prepare", folder)
    genome = sum(v for k, v in KNOWN_SIZES["hg38"].items() if k != "chrY")
    scale = genome / CHROM_LEN
    print(f"bigWig: 250 Mb chr1, {n:,} intervals, {size_mb:.0f} MB (written in {made:.1f} s)")
    print(f"bin to 100 bp (sum): {binned['seconds']:.1f} s, peak RSS {binned['peak_rss_mb']:.0f} MB")
    print(f"prepare, 1 chromosome x 3 tracks + CAGE: {prepared['seconds']:.1f} s, peak RSS "
          f"{prepared['peak_rss_mb']:.0f} MB, file {prepared['bytes'] / 1e6:.0f} MB")
    print(f"extrapolated hg38 chr1-22,X ({genome / 1e9:.2f} Gb, x{scale:.1f}): {prepared['seconds'] * scale / 60:.1f} min")


if __name__ == "__main__":
    main()
