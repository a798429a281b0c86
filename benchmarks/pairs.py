"""Read pairs -> 5 kb pixels: `prep.contacts.pairs.read_pairs` against `cooler cload pairs`, and its memory.

    python benchmarks/pairs.py --compare 5000000 --series 1000000 2000000 5000000 10000000 \
        --replay 200000000 --workdir /tmp/pairs_bench

`--compare N`: on one generated N-line HiC-Pro allValidPairs (hg38 chr1-22, `reads.pair_chunks`), the wall
time and peak RSS (`VmHWM`, fresh process each) of our reader and of `cooler cload pairs` (its CLI, default
chunk size, 5 kb bins over chr1-22) followed by reading the cis pixels within 2 Mb back from the .cool, and a
check that both give the same pixels and counts.
`--series N...`: our reader's time and peak RSS on files of N lines.
`--replay N`: replays the reader's buffering (its chunk and compaction sizes) on the generator's first N
pairs without writing text, and prints the buffered pixel entries and distinct pixels it reaches at each
size; the memory model in docs/performance.md rests on these counts.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from reads import cpu_model, hg38_autosomes, pair_chunks, time_pairs, write_valid_pairs

RESOLUTION = 5000
MAX_DISTANCE = 2_000_000

_COOLER = """
import sys, time
import numpy as np
import cooler
from cooler.cli import cli
pairs, sizes, out = sys.argv[1:4]
t = time.perf_counter()
cli.main(args=["cload", "pairs", "-c1", "2", "-p1", "3", "-c2", "5", "-p2", "6", f"{sizes}:5000", pairs, out],
         standalone_mode=False)
c = cooler.Cooler(out)
n = 0
for chrom in c.chromnames:
    px = c.matrix(balance=False, as_pixels=True).fetch(chrom)
    n += int((px.bin2_id - px.bin1_id <= int(sys.argv[4])).sum())
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
print(time.perf_counter() - t, int(hwm[0].split()[1]) / 1e6, n)
"""


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def ensure_pairs(workdir: Path, n: int) -> Path:
    path = workdir / f"hg38_{n}.allValidPairs"
    if not path.exists():
        write_valid_pairs(path, n)
    return path


def time_cooler(pairs: Path, workdir: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS (GB) and cis pixels within MAX_DISTANCE of `cooler cload pairs` + reading them back."""
    sizes = workdir / "hg38_chr1-22.sizes"
    sizes.write_text("".join(f"{c}\t{n}\n" for c, n in hg38_autosomes().items()))
    out = workdir / "cload.cool"
    res = subprocess.run([sys.executable, "-c", _COOLER, str(pairs), str(sizes), str(out),
                          str(MAX_DISTANCE // RESOLUTION)], capture_output=True, text=True, check=True).stdout
    seconds, rss, n = res.split()
    return float(seconds), float(rss), int(n)


def same_pixels(pairs: Path, cool: Path) -> tuple[int, int]:
    """Pixels compared and pixels that differ (position or count) between our reader and the .cool."""
    import cooler
    import pandas as pd

    from graphreg_zoo.prep.contacts.pairs import read_pairs

    ours, _ = read_pairs(str(pairs), list(hg38_autosomes()), RESOLUTION, MAX_DISTANCE, "hicpro")
    c = cooler.Cooler(str(cool))
    compared = differ = 0
    for chrom, px in ours.items():
        theirs = c.matrix(balance=False, as_pixels=True).fetch(chrom)
        offset = int(c.offset(chrom))
        theirs = pd.DataFrame({"bin1": theirs.bin1_id - offset, "bin2": theirs.bin2_id - offset,
                               "count": theirs["count"].astype(float)})
        theirs = theirs[theirs.bin2 - theirs.bin1 <= MAX_DISTANCE // RESOLUTION].reset_index(drop=True)
        merged = px.merge(theirs, on=["bin1", "bin2"], how="outer", suffixes=("_ours", "_cooler"))
        compared += len(merged)
        differ += int((merged.count_ours != merged.count_cooler).sum())
    return compared, differ


def replay(n_pairs: int, checkpoints: list[int]) -> None:
    """Print, at each checkpoint, the most pixel entries `read_pairs`' buffers (`PixelBuffers`, the reader's own
    class and merge cap) have held so far and the distinct pixels (cis, within MAX_DISTANCE) seen, feeding
    them the generator's pairs chunk by chunk as the reader does, without writing the text file."""
    from graphreg_zoo.prep.contacts.pairs import _CHUNK_ROWS, PixelBuffers

    lengths = hg38_autosomes()
    width = MAX_DISTANCE // RESOLUTION + 1
    n_bins = [n // RESOLUTION + 1 for n in lengths.values()]
    seen = [np.zeros(b * width, bool) for b in n_bins]
    buffers = PixelBuffers(list(range(len(lengths))))
    done = 0
    parts: list = []
    for chunk in pair_chunks(n_pairs, lengths):
        parts.append(chunk)
        done += chunk[0].size
        if sum(p[0].size for p in parts) < _CHUNK_ROWS and done < n_pairs:
            continue
        c1, p1, c2, p2 = (np.concatenate(x) for x in zip(*parts))
        parts = []
        b1, b2 = (p1 - 1) // RESOLUTION, (p2 - 1) // RESOLUTION
        lo, hi = np.minimum(b1, b2), np.maximum(b1, b2)
        keep = (c1 == c2) & (hi - lo < width)
        for chrom in np.unique(c1[keep]):
            sel = keep & (c1 == chrom)
            keys, counts = np.unique((lo[sel] << 32) | hi[sel], return_counts=True)
            buffers.add(int(chrom), keys, counts)
            seen[chrom][lo[sel] * width + hi[sel] - lo[sel]] = True
        if done in checkpoints:
            distinct = sum(int(np.count_nonzero(s)) for s in seen)
            print(f"replay {done:>11,} pairs: buffered entries peak {buffers.peak:,}, now {buffers.held():,}; "
                  f"distinct pixels {distinct:,}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/graphreg_pairs_bench"))
    parser.add_argument("--compare", type=int, default=0, help="lines of the file both tools bin")
    parser.add_argument("--series", type=int, nargs="*", default=[], help="file sizes (lines) for our reader")
    parser.add_argument("--replay", type=int, default=0, help="replay the buffering up to this many pairs")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_model()}")
    if args.compare:
        pairs = ensure_pairs(args.workdir, args.compare)
        seconds, rss = time_pairs(pairs)
        print(f"ours, {args.compare:,} lines: {seconds:.1f} s, peak RSS {rss:.2f} GB (load {load()})", flush=True)
        seconds, rss, n = time_cooler(pairs, args.workdir)
        print(f"cooler cload pairs + read back: {seconds:.1f} s, peak RSS {rss:.2f} GB, {n:,} cis pixels <= 2 Mb "
              f"(load {load()})", flush=True)
        compared, differ = same_pixels(pairs, args.workdir / "cload.cool")
        print(f"pixels compared {compared:,}, differing {differ:,}")
    for n in args.series:
        pairs = ensure_pairs(args.workdir, n)
        seconds, rss = time_pairs(pairs)
        print(f"ours, {n:,} lines: {seconds:.1f} s ({n / seconds / 1e6:.2f} M pairs/s), peak RSS {rss:.3f} GB "
              f"(load {load()})", flush=True)
    if args.replay:
        sizes = sorted({*args.series, 10_000_000, 20_000_000, 50_000_000, 100_000_000, args.replay})
        replay(args.replay, [s for s in sizes if s <= args.replay])


if __name__ == "__main__":
    main()
