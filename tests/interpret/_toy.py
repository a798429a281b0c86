"""A small prepared cell and fast toy models for the interpretation tests.

The cell has one chromosome of 1,100 nodes (5.5 Mb), so it has three windows:
window 0 = nodes [-600, 600) with middle [-200, 200), window 1 = [-200, 1000) with middle
[200, 600), window 2 = [200, 1400) (last) with middle [600, 1100).
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import yaml

from ..prep.prep_factories import random_intervals, write_bigwig, write_edges, write_fasta, write_gtf, write_sizes

CHROM = "chr1"
SIZE = 5_500_000
#: gene name -> TSS node (the TSS is 1 bp into the node)
GENES = {"GENEA": 100, "GENEB": 400, "GENEC": 700, "GENED": 900}
#: undirected contact edges (node, node)
EDGES = [(100, 130), (400, 450), (700, 1050), (900, 980)]


def make_cell(tmp: Path, rng: np.random.Generator, edges: list[tuple[int, int]] = EDGES) -> Path:
    """Prepare the toy cell (with `edges` as its contact graph); returns the CellData path."""
    from graphreg_zoo.prep.cell import prepare

    sizes = {CHROM: SIZE}
    write_sizes(tmp / "toy.sizes", sizes)
    tracks = {}
    for name in ("h3k4me3", "h3k27ac", "dnase", "cage"):
        write_bigwig(tmp / f"{name}.bw", sizes, {CHROM: random_intervals(rng, SIZE, SIZE // 340)})
        tracks[name] = f"{name}.bw"
    write_gtf(tmp / "genes.gtf", [(CHROM, n * 5000 + 2, n * 5000 + 3000, "+", g) for g, n in GENES.items()])
    write_edges(tmp / "graph.npz", {CHROM: edges})
    letters = np.frombuffer(b"ACGT", dtype="S1")
    write_fasta(tmp / "toy.fa", {CHROM: letters[rng.integers(0, 4, SIZE)].tobytes().decode()})
    spec = {
        "name": "toy", "genome": "toy", "chrom_sizes": "toy.sizes", "chromosomes": [CHROM],
        "tracks": {n: {"path": tracks[n]} for n in ("h3k4me3", "h3k27ac", "dnase")},
        "cage": {"path": tracks["cage"]},
        "graph": {"format": "npz", "path": "graph.npz"},
        "genes": {"path": "genes.gtf"},
        "fasta": "toy.fa",
    }
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec))
    return prepare(tmp / "spec.yaml", tmp / "toy.h5", progress=False)


def toy_model(kind: str = "seq", graph: bool = True, seed: int = 0) -> keras.Model:
    """A fast, smooth stand-in for a GraphReg model with the real window geometry.

    kind "seq": sequence (6e6, 4) like an e2e model; "epi": epigenome (60000, 3) like Epi-GraphReg.
    A tanh convolution is mean-pooled to 5 kb nodes, mixed along the graph edges (if `graph`),
    and read out by an exponential head into `cage` (1200,).
    """
    keras.utils.set_random_seed(seed)
    length, channels = (6_000_000, 4) if kind == "seq" else (60_000, 3)
    data = keras.Input((length, channels), name="sequence" if kind == "seq" else "epigenome")
    h = keras.layers.Conv1D(4, 9, padding="same", activation="tanh")(data)
    h = keras.layers.AveragePooling1D(length // 1200)(h)
    inputs = {data.name: data}
    if graph:
        adjacency = keras.Input((1200, 1200), name="adjacency")
        inputs["adjacency"] = adjacency
        h = keras.layers.Concatenate()([h, keras.layers.Dot(axes=(2, 1))([adjacency, h])])
    head = keras.layers.Conv1D(1, 1, activation="exponential", kernel_initializer=keras.initializers.RandomNormal(0, 2))
    cage = keras.layers.Reshape((-1,), name="cage")(head(h))
    return keras.Model(inputs, {"cage": cage}, name=f"toy_{kind}_{'graph' if graph else 'cnn'}_{seed}")


def toy_base() -> keras.Model:
    """Seq-CNN base stand-in: (100000, 4) -> bottleneck (1000, 64)."""
    keras.utils.set_random_seed(4)
    sequence = keras.Input((100_000, 4), name="sequence")
    h = keras.layers.MaxPooling1D(100)(keras.layers.Conv1D(64, 5, padding="same", activation="relu")(sequence))
    return keras.Model({"sequence": sequence}, {"bottleneck": keras.layers.Identity(name="bottleneck")(h)})
