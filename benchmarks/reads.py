"""Reads -> 100 bp track: reads/s of `prep.reads.ReadsTrack` on a generated BAM, against deepTools
`bamCoverage -p 2` on the same file in the same run (when deepTools is installed), and peak RSS;
read pairs -> 5 kb pixels: pairs/s of `prep.contacts.pairs.read_pairs` on a generated HiC-Pro allValidPairs.

    python benchmarks/reads.py --reads 20000000 --pairs 10000000 --workdir /tmp/reads_bench

The BAM is written once (kept in --workdir) with pysam: paired-end 2x50 reads on a 50 Mb chr1, 10 %
of them spliced (a 50-5000 bp N), 5 % secondary alignments with MAPQ 3, coordinate-sorted and
indexed. Prints the CPU model (lscpu), reads/s, and extrapolates a 50 million-read ENCODE BAM.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHROM_LEN = 50_000_000


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")


def write_bam(path: Path, n_reads: int, seed: int = 0) -> None:
    """A coordinate-sorted, indexed paired-end BAM of `n_reads` alignments (pairs generated in order)."""
    import pysam

    rng = np.random.default_rng(seed)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": CHROM_LEN}]}
    n_pairs = n_reads // 2
    starts = np.sort(rng.integers(0, CHROM_LEN - 6000, n_pairs))
    inserts = rng.integers(150, 400, n_pairs)
    spliced = rng.random(n_pairs) < 0.10
    introns = rng.integers(50, 5000, n_pairs)
    secondary = rng.random(n_pairs) < 0.05
    # mates are emitted with their own start; a heap keeps the output sorted
    import heapq

    seq, qual = "A" * 50, pysam.qualitystring_to_array("I" * 50)
    unsorted = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        pending: list = []
        for i in range(n_pairs):
            s, ins = int(starts[i]), int(inserts[i])
            while pending and pending[0][0] <= s:
                out.write(heapq.heappop(pending)[2])
            mate_start = s + ins - 50 + (int(introns[i]) if spliced[i] else 0)
            for is_first, pos, mpos in ((True, s, mate_start), (False, mate_start, s)):
                seg = pysam.AlignedSegment(out.header)
                seg.query_name = f"p{i}"
                seg.reference_id, seg.reference_start = 0, pos
                seg.next_reference_id, seg.next_reference_start = 0, mpos
                seg.template_length = (ins if is_first else -ins)
                seg.flag = (1 | 2 | (64 | 32 if is_first else 128 | 16)) | (256 if secondary[i] else 0)
                seg.mapping_quality = 3 if secondary[i] else 255
                seg.cigarstring = f"25M{int(introns[i])}N25M" if spliced[i] and not is_first else "50M"
                seg.query_sequence, seg.query_qualities = seq, qual
                if is_first:
                    out.write(seg)
                else:
                    heapq.heappush(pending, (pos, i, seg))
        while pending:
            out.write(heapq.heappop(pending)[2])
    pysam.sort("-o", str(path), str(unsorted))
    unsorted.unlink()
    pysam.index(str(path))


def _in_child(setup: str, call: str, path: Path) -> tuple[float, float]:
    """Seconds of `call` and the process's peak RSS (GB), run in a fresh process on `path` (sys.argv[1])."""
    # VmHWM, not ru_maxrss: the latter carries the parent's peak (the file writer's) across fork + exec
    code = (f"import time, sys; {setup}; t = time.perf_counter(); {call}; "
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]; "
            "print(time.perf_counter() - t, int(hwm[0].split()[1]) / 1e6)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    seconds, rss = out.split()
    return float(seconds), float(rss)


def time_ours(path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (GB) of counting the BAM into 100 bp bins, in a fresh process."""
    return _in_child("from graphreg_zoo.prep.reads import ReadsTrack, ReadsOptions",
                     "ReadsTrack(sys.argv[1], ReadsOptions(normalize='RPGC'), 100, genome='hg38')"
                     ".values('chr1', 50_000_000)", path)


def hg38_autosomes() -> dict[str, int]:
    from graphreg_zoo.prep.assembly import autosomes, genome_sizes

    sizes = genome_sizes("hg38")
    return {c: sizes[c] for c in autosomes("hg38")}


def pair_chunks(n_pairs: int, lengths: dict[str, int], seed: int = 0, chunk: int = 1_000_000):
    """Chunks of (chrom1 index, pos1, chrom2 index, pos2): chromosomes in proportion to their length, 80 % cis
    at a distance drawn ~1/d (Hi-C's P(s)) from 200 bp to the chromosome's length, 1-based positions inside
    the chromosome, mates in random order; the rest trans (uniform)."""
    rng = np.random.default_rng(seed)
    size = np.array(list(lengths.values()), np.int64)
    weights = size / size.sum()
    for first in range(0, n_pairs, chunk):
        n = min(chunk, n_pairs - first)
        c1 = rng.choice(size.size, n, p=weights)
        cis = rng.random(n) < 0.8
        c2 = np.where(cis, c1, rng.choice(size.size, n, p=weights))
        dist = np.exp(rng.uniform(np.log(200), np.log(size[c1] - 1))).astype(np.int64)
        p1 = 1 + (rng.random(n) * (size[c1] - dist)).astype(np.int64)
        p2 = np.where(cis, p1 + dist, 1 + (rng.random(n) * size[c2]).astype(np.int64))
        swap = cis & (rng.random(n) < 0.5)
        yield c1, np.where(swap, p2, p1), c2, np.where(swap, p1, p2)


def write_valid_pairs(path: Path, n_pairs: int, seed: int = 0) -> None:
    """HiC-Pro allValidPairs lines on hg38 chr1-chr22 (`pair_chunks`), written in chunks."""
    import pandas as pd

    lengths = hg38_autosomes()
    names = np.array(list(lengths))
    with open(path, "w") as fh:
        for c1, p1, c2, p2 in pair_chunks(n_pairs, lengths, seed):
            pd.DataFrame({"id": "r", "c1": names[c1], "p1": p1, "s1": "+", "c2": names[c2], "p2": p2, "s2": "-",
                          "len": 300, "f1": "HIC_1", "f2": "HIC_2", "q1": 42, "q2": 42}).to_csv(
                fh, sep="\t", header=False, index=False)


def time_pairs(path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (GB) of binning every chromosome's pairs at 5 kb, in a fresh process."""
    return _in_child("from graphreg_zoo.prep.contacts.pairs import read_pairs",
                     "read_pairs(sys.argv[1], [f'chr{i}' for i in range(1, 23)], 5000, 2_000_000, 'hicpro')", path)


def time_bamcoverage(path: Path, out: Path) -> float | None:
    exe = Path(sys.executable).with_name("bamCoverage")
    if not exe.exists():
        return None
    start = time.perf_counter()
    subprocess.run([str(exe), "-b", str(path), "-o", str(out), "--binSize", "100", "-p", "2", "--normalizeUsing",
                    "RPGC", "--effectiveGenomeSize", "2913022398"], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=20_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/graphreg_reads_bench"))
    parser.add_argument("--pairs", type=int, default=0, help="also time N generated allValidPairs lines")
    parser.add_argument("--no-deeptools", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    bam = args.workdir / f"generated_{args.reads}.bam"
    if not bam.exists():
        t = time.perf_counter()
        write_bam(bam, args.reads)
        print(f"wrote {bam} ({bam.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    print(f"CPU: {cpu_model()}")
    seconds, rss = time_ours(bam)
    rate = args.reads / seconds
    print(f"graphreg_zoo ReadsTrack (1 core): {seconds:.1f} s, {rate / 1e6:.2f} M reads/s, peak RSS {rss:.2f} GB; "
          f"a 50 M-read BAM: ~{50e6 / rate:.0f} s")
    if not args.no_deeptools:
        dt = time_bamcoverage(bam, args.workdir / "bamcoverage.bw")
        if dt is None:
            print("bamCoverage: not installed (pip install deeptools)")
        else:
            print(f"bamCoverage -p 2: {dt:.1f} s, {args.reads / dt / 1e6:.2f} M reads/s ({dt / seconds:.1f}x ours)")
    if args.pairs:
        pairs = args.workdir / f"generated_{args.pairs}.allValidPairs"
        if not pairs.exists():
            write_valid_pairs(pairs, args.pairs)
        seconds, rss = time_pairs(pairs)
        print(f"read_pairs, 22 chromosomes at 5 kb: {seconds:.1f} s, {args.pairs / seconds / 1e6:.2f} M pairs/s, "
              f"peak RSS {rss:.2f} GB; 200 M pairs: ~{200e6 / args.pairs * seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
