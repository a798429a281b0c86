"""6 Mb windows stepping 2 Mb, cut lazily from a CellData file, with the original geometry.

Upstream pads each chromosome with 600 pseudo-nodes on both sides and walks window centres
`si = 600, 1000, 1400, ...` (padded rows) while `si < n_rows - 600`; a window is the rows
`[si - 600, si + 600)` and is the last one when `n_rows - 600 - si < 400`. In chromosome node
coordinates a window starts at `start = si - 1200` (negative: padding), so the first window's
middle 400 nodes are 200 padding nodes plus nodes 0..199, and the middles tile the chromosome.
Padding is zeros everywhere (adjacency, tracks, CAGE, TSS counts, sequence); `node_start` is -1.

`make_dataset` wraps the windows in a `keras.utils.PyDataset`; keras is imported only there, so
importing this module (and the rest of `prep`) stays keras-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import InvalidInputError, NotAvailableError
from ..geometry import (  # noqa: F401  (NODE_BIN and TRACK_BIN are re-exported)
    BINS_PER_NODE,
    NODE_BIN,
    PAD_NODES,
    STRIDE_NODES,
    TRACK_BIN,
    WINDOW_BINS,
    WINDOW_BP,
    WINDOW_NODES,
)

KINDS = ("epi", "seq")


@dataclass(frozen=True)
class Window:
    """One window: chromosome, first node (may be negative), last-window flag, index on the chromosome."""

    chrom: str
    start_node: int
    is_last: bool
    index: int

    @property
    def middle(self) -> tuple[int, int]:
        """Node range [a, b) of the loss/evaluation bins (the middle 400; up to the end if last)."""
        a = self.start_node + STRIDE_NODES
        return a, self.start_node + (WINDOW_NODES if self.is_last else 2 * STRIDE_NODES)


def window_starts(n_nodes: int) -> list[int]:
    """First node of every window of a chromosome with `n_nodes` 5 kb nodes (upstream loop)."""
    n_rows = n_nodes + 2 * PAD_NODES
    return [si - 2 * PAD_NODES for si in range(PAD_NODES, n_rows - PAD_NODES, STRIDE_NODES)]


def windows(n_nodes: int, chrom: str) -> list[Window]:
    """All windows of one chromosome, with upstream's last-window rule.

    One deliberate fix: the original flags the last window only when fewer than 400
    nodes remain after its centre (`< 400`), so a chromosome whose node count is a
    multiple of 400 had its final 200 nodes in no window's evaluated region; we use
    `<= 400` (docs/upstream-differences.md).
    """
    n_rows = n_nodes + 2 * PAD_NODES
    out = []
    for i, start in enumerate(window_starts(n_nodes)):
        si = start + 2 * PAD_NODES
        out.append(Window(chrom, start, n_rows - PAD_NODES - si <= STRIDE_NODES, i))
    return out


def _clip(start: int, n: int, total: int) -> tuple[int, int, int]:
    """For a span [start, start+n) over [0, total): (first valid, stop valid, offset into the span)."""
    lo, hi = max(0, start), min(total, start + n)
    return lo, max(lo, hi), lo - start


def window_arrays(cell, window: Window, kind: str = "epi") -> dict[str, np.ndarray]:
    """The arrays of one window: epigenome (60000, 3), adjacency (1200, 1200), cage, tss_count,
    node_start (1200,) and, for kind="seq", sequence (6_000_000, 4); padding is zeros (-1 in node_start)."""
    if kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    chrom, start = window.chrom, window.start_node
    n_nodes = cell.n_nodes(chrom)
    lo, hi, off = _clip(start, WINDOW_NODES, n_nodes)
    out: dict[str, np.ndarray] = {}

    out["epigenome"] = padded_tracks(cell, chrom, start, WINDOW_NODES)

    adj = np.zeros((WINDOW_NODES, WINDOW_NODES), dtype=np.float32)
    edges = cell.graph(chrom)[lo:hi, lo:hi].tocoo()  # scattered: no dense temporary to copy
    edges.sum_duplicates()
    adj[edges.row + off, edges.col + off] = edges.data
    out["adjacency"] = adj

    cage = np.zeros(WINDOW_NODES, dtype=np.float32)
    full = cell.cage(chrom)
    if full is not None:
        cage[off : off + hi - lo] = full[lo:hi]
    out["cage"] = cage

    tss = np.zeros(WINDOW_NODES, dtype=np.float32)
    tss[off : off + hi - lo] = cell.tss_count(chrom)[lo:hi]
    out["tss_count"] = tss

    node_start = np.full(WINDOW_NODES, -1, dtype=np.int64)
    node_start[off : off + hi - lo] = np.arange(lo, hi, dtype=np.int64) * NODE_BIN
    out["node_start"] = node_start

    if kind == "seq":
        out["sequence"] = window_sequence(cell, window)
    return out


def padded_tracks(cell, chrom: str, start_node: int, n_nodes: int) -> np.ndarray:
    """The (n_nodes * 50, 3) track rows of nodes [start_node, start_node + n_nodes); zeros outside the chromosome."""
    lo, hi, off = _clip(start_node, n_nodes, cell.n_nodes(chrom))
    epi = np.zeros((n_nodes * BINS_PER_NODE, 3), dtype=np.float32)
    if hi > lo:
        rows = cell.tracks(chrom, lo * BINS_PER_NODE, hi * BINS_PER_NODE)
        epi[off * BINS_PER_NODE : off * BINS_PER_NODE + len(rows)] = rows
    return epi


def window_sequence(cell, window: Window) -> np.ndarray:
    """The window's one-hot sequence (6_000_000, 4); zeros outside the chromosome."""
    start = window.start_node * NODE_BIN
    return cell.sequence(window.chrom, start, start + WINDOW_BP)


def cell_windows(cell, chroms: list[str], skip_without_tss: bool = False) -> list[Window]:
    """Windows of `chroms` in order; optionally only those with a TSS in their middle 400 nodes
    (upstream skips the others for training and validation)."""
    out = []
    for chrom in chroms:
        n_nodes = cell.n_nodes(chrom)
        counts = cell.tss_count(chrom) if skip_without_tss else None
        for w in windows(n_nodes, chrom):
            if counts is not None:
                a = max(0, w.start_node + STRIDE_NODES)
                if counts[a : max(a, w.start_node + 2 * STRIDE_NODES)].sum() == 0:
                    continue
            out.append(w)
    return out


def select_windows(cell, chroms: list[str] | None, windows: list[Window] | None,
                   skip_without_tss: bool = False) -> list[Window]:
    """The windows of `chroms`, or the explicit `windows` (in their order), minus those without a
    TSS when `skip_without_tss`. Explicit windows must be windows of the cell (`windows()` gives them)."""
    if windows is None:
        if not chroms:
            raise InvalidInputError("give chromosomes or an explicit list of windows")
        return cell_windows(cell, chroms, skip_without_tss)
    wanted = list(dict.fromkeys(windows))
    names = list(dict.fromkeys(w.chrom for w in wanted))
    known = set(cell_windows(cell, names))
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise InvalidInputError(f"{cell.path}: {unknown[0]} is not a window of this cell; use prep.windows.windows()")
    kept = set(cell_windows(cell, names, skip_without_tss))
    return [w for w in wanted if w in kept]


def raw_coverage(cell, epigenome: np.ndarray) -> dict[str, np.ndarray]:
    """The window's three tracks as coverage, undoing the cell's normalisation (log2(x+1) or raw):
    the targets of the e2e models' epigenomic heads."""
    specs = cell.attrs.get("tracks") or {}
    out = {}
    for i, name in enumerate(cell.track_names):
        norm = (specs.get(name) or {}).get("normalisation", "log2")
        if norm not in ("log2", "raw"):
            raise InvalidInputError(
                f"{cell.path}: track {name} is normalised with {norm!r}, which cannot be undone; prepare the cell "
                "with normalisation log2 or raw to train an end-to-end model"
            )
        values = epigenome[:, i]
        out[name] = (np.exp2(values) - 1.0 if norm == "log2" else values).astype(np.float32)
    return out


def make_dataset(
    cell,
    chroms: list[str] | None,
    batch_size: int = 1,
    kind: str = "epi",
    skip_without_tss: bool = False,
    shuffle: bool = False,
    seed: int = 0,
    with_adjacency: bool = True,
    windows: list[Window] | None = None,
    coverage_targets: bool = False,
    bottlenecks: Callable[[Window], np.ndarray] | None = None,
    **pydataset_kwargs: Any,
):
    """A `keras.utils.PyDataset` of windows: batches `(inputs, targets)` with inputs
    {"epigenome" | "sequence", "adjacency"} and targets {"cage"}. `dataset.windows` lists the
    windows in the current order and `dataset.info(i)` gives batch i's tss_count and node_start.

    Args:
        cell: a CellData (or a path to one).
        chroms: chromosomes to draw windows from, in order (may be None when `windows` is given).
        batch_size: windows per batch (the original models need 1).
        kind: "epi" (epigenome input) or "seq" (one-hot sequence input).
        skip_without_tss: drop windows without a TSS in their middle 400 nodes.
        shuffle: reshuffle the windows every epoch (the original walks them in genomic order).
        seed: seed of the shuffling.
        with_adjacency: include the `adjacency` input (False for the CNN baselines).
        coverage_targets: also give each track's coverage as a target (the e2e models' heads).
        windows: an explicit list of windows (e.g. a window-level train/validation split of one
            chromosome) used instead of every window of `chroms`; `skip_without_tss` still applies.
        bottlenecks: for the separately trained Seq models, `f(window) -> (60000, 64)` (a
            `bottlenecks.BottleneckCache`): the input is then `bottleneck` instead of the sequence.
        **pydataset_kwargs: workers, use_multiprocessing, max_queue_size for PyDataset.
    """
    from .cell import CellData

    if not isinstance(cell, CellData):
        cell = CellData(cell)
    if kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    found = select_windows(cell, chroms, windows, skip_without_tss)
    if not found:
        where = ", ".join(chroms) if windows is None else f"the {len(windows)} windows given"
        raise InvalidInputError(f"{cell.path}: no windows on {where} (skip_without_tss={skip_without_tss})")

    class WindowDataset(window_list_dataset()):
        """Windows of a CellData as Keras batches."""

        def __len__(self) -> int:
            return -(-len(self.windows) // batch_size)

        def _batch(self, i: int) -> list[dict[str, np.ndarray]]:
            return [window_arrays(cell, w, kind) for w in self.windows[i * batch_size : (i + 1) * batch_size]]

        def __getitem__(self, i: int):
            items = self._batch(i)
            first = "bottleneck" if bottlenecks else "sequence" if kind == "seq" else "epigenome"
            names = (first, "adjacency") if with_adjacency else (first,)
            if bottlenecks:
                for a, w in zip(items, self.windows[i * batch_size : (i + 1) * batch_size]):
                    a["bottleneck"] = bottlenecks(w)
            inputs = {k: np.stack([a[k] for a in items]) for k in names}
            targets = {"cage": np.stack([a["cage"] for a in items])}
            if coverage_targets:
                tracks = [raw_coverage(cell, a["epigenome"]) for a in items]
                targets.update({t: np.stack([c[t] for c in tracks]) for t in cell.track_names})
            return inputs, targets

        def info(self, i: int) -> dict[str, Any]:
            """Batch i's windows with their tss_count and node_start arrays."""
            ws = self.windows[i * batch_size : (i + 1) * batch_size]
            items = [window_arrays(cell, w, "epi") for w in ws]
            return {"windows": ws, **{k: np.stack([a[k] for a in items]) for k in ("tss_count", "node_start")}}

    return WindowDataset(found, shuffle, seed, **pydataset_kwargs)


def window_list_dataset():
    """The base class of the window datasets: a `keras.utils.PyDataset` over a list of windows
    (`self.windows`), reshuffled at every epoch end when built with `shuffle` (keras is imported here)."""
    import keras

    class WindowListDataset(keras.utils.PyDataset):
        def __init__(self, windows: list[Window], shuffle: bool, seed: int, **pydataset_kwargs: Any) -> None:
            super().__init__(**pydataset_kwargs)
            self.windows = list(windows)
            self._shuffle_each_epoch = shuffle
            self._rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def on_epoch_end(self) -> None:
            if self._shuffle_each_epoch:
                self._rng.shuffle(self.windows)

    return WindowListDataset


# The upstream TFRecord keys (UPSTREAM.md §4.3), all float16 bytes except bin_idx (int64) and
# sequence (float64, seq records only).
_RECORD_SHAPES = {"X_1d": (WINDOW_BINS, 3), "adj": (WINDOW_NODES, WINDOW_NODES),
                  "Y": (WINDOW_NODES, BINS_PER_NODE), "tss_idx": (WINDOW_NODES,)}


def read_upstream_tfrecord(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the windows of an original GraphReg TFRecord file (ZLIB) as `window_arrays` dicts.

    `cage` is Y summed over its 50 values per node; `node_start` is -1 for padding (upstream
    writes 0 there, so a 0 counts as padding unless the next node starts at 5000); `is_last`
    comes from `last_batch`. Needs tensorflow.
    """
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise NotAvailableError("reading upstream TFRecords needs tensorflow (pip install tensorflow-cpu)") from exc
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"TFRecord {path} does not exist")
    features = {k: tf.io.FixedLenFeature([], tf.string) for k in (*_RECORD_SHAPES, "bin_idx")}
    features["last_batch"] = tf.io.FixedLenFeature([1], tf.int64)
    optional = {"sequence": tf.io.FixedLenFeature([], tf.string, default_value="")}
    for raw in tf.data.TFRecordDataset(str(path), compression_type="ZLIB"):
        ex = tf.io.parse_single_example(raw, {**features, **optional})
        arr = {k: np.frombuffer(ex[k].numpy(), np.float16).reshape(shape).astype(np.float32)
               for k, shape in _RECORD_SHAPES.items()}
        bins = np.frombuffer(ex["bin_idx"].numpy(), np.int64)
        real = (bins > 0) | (np.append(bins[1:], -1) == NODE_BIN)
        out = {
            "epigenome": arr["X_1d"],
            "adjacency": arr["adj"],
            "cage": arr["Y"].sum(axis=1),
            "tss_count": arr["tss_idx"],
            "node_start": np.where(real, bins, -1),
            "is_last": bool(ex["last_batch"].numpy()[0]),
        }
        seq = ex["sequence"].numpy()
        if seq:
            out["sequence"] = np.frombuffer(seq, np.float64).reshape(WINDOW_BP, 4).astype(np.float32)
        yield out
