"""Tiny, deterministic prep inputs (bigWig, GTF, FASTA, edge graph, spec YAML) for the prep tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

TOY_SIZES = {"chr1": 2_345_678, "chr2": 1_234_567}


def write_bigwig(path: Path, sizes: dict[str, int], intervals: dict[str, list[tuple[int, int, float]]]) -> Path:
    """A bigWig with the given (start, end, value) intervals per chromosome."""
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()), maxZooms=1)
    for chrom in sizes:
        rows = intervals.get(chrom, [])
        if rows:
            s, e, v = (np.array(x) for x in zip(*rows))
            bw.addEntries(np.array([chrom] * len(rows)), s.astype(np.int64), ends=e.astype(np.int64),
                          values=v.astype(np.float64))
    bw.close()
    return path


def random_intervals(rng: np.random.Generator, length: int, n: int) -> list[tuple[int, int, float]]:
    """Sorted, non-overlapping intervals with gaps and varying spans, some crossing bin edges."""
    spans = rng.integers(1, 400, n)
    gaps = rng.integers(0, 300, n)
    starts = np.cumsum(gaps + spans) - spans
    keep = starts + spans <= length
    vals = rng.gamma(0.7, 3.0, n)
    return [(int(s), int(s + w), float(v)) for s, w, v in zip(starts[keep], spans[keep], vals[keep])]


def per_base_bins(intervals, start: int, end: int, bin_size: int):
    """Independent reference: paint every base of [start, end), then reduce per bin."""
    value = np.zeros(end - start)
    covered = np.zeros(end - start, dtype=bool)
    for s, e, v in intervals:
        s, e = max(s, start), min(e, end)
        if e > s:
            value[s - start : e - start] = v
            covered[s - start : e - start] = True
    n = -(-(end - start) // bin_size)
    pad = n * bin_size - (end - start)
    value, covered = np.pad(value, (0, pad)).reshape(n, bin_size), np.pad(covered, (0, pad)).reshape(n, bin_size)
    sums = value.sum(1)
    cov = covered.sum(1)
    means = np.divide(sums, cov, out=np.zeros(n), where=cov > 0)
    maxes = np.where(cov > 0, np.where(covered, value, -np.inf).max(1), 0.0)
    return {"sum": sums, "mean": means, "max": maxes}


def write_sizes(path: Path, sizes: dict[str, int]) -> Path:
    path.write_text("".join(f"{c}\t{n}\n" for c, n in sizes.items()))
    return path


def write_gtf(path: Path, genes: list[tuple[str, int, int, str, str]], with_names: bool = True) -> Path:
    """GTF gene records from (chrom, start1, end1, strand, name)."""
    lines = []
    for i, (chrom, start, end, strand, name) in enumerate(genes):
        attrs = f'gene_id "G{i}";' + (f' gene_name "{name}";' if with_names else "") + ' gene_biotype "protein_coding";'
        lines.append(f"{chrom}\ttest\tgene\t{start}\t{end}\t.\t{strand}\t.\t{attrs}\n")
    path.write_text("".join(lines))
    return path


def write_fasta(path: Path, seqs: dict[str, str], width: int = 60) -> Path:
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            fh.write(f">{name}\n")
            fh.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    return path


def write_edges(path: Path, edges: dict[str, list[tuple[int, int]]]) -> Path:
    np.savez(path, **{c: np.array(e, dtype=np.int64).reshape(-1, 2) for c, e in edges.items()})
    return path


def toy_cell(tmp: Path, rng: np.random.Generator, fasta: bool = True, **overrides) -> Path:
    """A complete toy cell (two chromosomes, custom genome) and its spec YAML; returns the YAML path."""
    write_sizes(tmp / "toy.sizes", TOY_SIZES)
    tracks = {}
    for name in ("h3k4me3", "h3k27ac", "dnase", "cage"):
        ivs = {c: random_intervals(rng, n, 3000) for c, n in TOY_SIZES.items()}
        tracks[name] = str(write_bigwig(tmp / f"{name}.bw", TOY_SIZES, ivs).name)
    genes = [("chr1", 10_001, 20_000, "+", "GENEA"), ("chr1", 30_000, 1_000_000, "-", "GENE_WITH_A_VERY_LONG_NAME_1"),
             ("chr1", 997_001, 998_000, "+", "GENEC"), ("chr2", 500_001, 600_000, "+", "GENED")]
    write_gtf(tmp / "genes.gtf", genes)
    write_edges(tmp / "graph.npz", {"chr1": [(0, 5), (2, 3), (5, 199), (100, 100)], "chr2": [(1, 240)]})
    spec = {
        "name": "toy", "genome": "toy", "chrom_sizes": "toy.sizes", "chromosomes": ["chr1", "chr2"],
        "tracks": {n: {"path": tracks[n]} for n in ("h3k4me3", "h3k27ac", "dnase")},
        "cage": {"path": tracks["cage"]},
        "graph": {"format": "npz", "path": "graph.npz"},
        "genes": {"path": "genes.gtf"},
    }
    if fasta:
        letters = np.frombuffer(b"ACGTNacgt", dtype="S1")
        seqs = {c: letters[rng.integers(0, 9, n)].tobytes().decode() for c, n in TOY_SIZES.items()}
        write_fasta(tmp / "toy.fa", seqs)
        spec["fasta"] = "toy.fa"
    spec.update(overrides)
    out = tmp / "spec.yaml"
    out.write_text(yaml.safe_dump(spec))
    return out


def refused(cli, spec_path, *needles):
    """Run `prepare` on `spec_path`: exit 4, every needle in stderr, no traceback, nothing written."""
    out = spec_path.parent / "cell.h5"
    code, stdout, stderr = cli("prepare", spec_path, "-o", out, "--quiet")
    assert code == 4, stderr
    for needle in needles:
        assert needle in stderr, stderr
    assert "Traceback" not in stderr
    assert not out.exists() and not list(spec_path.parent.glob(".tmp-*"))
    return stderr
