"""Single-window plumbing shared by attribution and perturbations.

A `WindowRun` holds one window's arrays (from `prep.windows.window_arrays`) and the model
members that predict it (every fold of a FoldEnsemble, or the one model). Edits are
functions on the window's arrays (`sequence`, `adjacency`, `epigenome`); the model inputs
are made from the edited arrays afterwards, so a sequence edit also reaches the bottleneck
of a separately trained Seq model through its Seq-CNN base.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InvalidInputError
from ..geometry import NODE_BIN, WINDOW_BP, WINDOW_NODES
from ..models.inference import forward_cage, input_names, model_inputs
from ..prep.windows import Window, window_arrays, windows
from ..training.bottlenecks import missing_base_error, pair_bases

Edit = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
#: input name -> the window_arrays kind that supplies it
_PRIMARY = {"epigenome": "epi", "sequence": "seq", "bottleneck": "seq"}


@dataclass(frozen=True)
class Member:
    """One model of an ensemble, with the Seq-CNN base that feeds it a bottleneck (or None)."""

    model: Any
    base: Any = None

    @property
    def input_names(self) -> list[str]:
        return input_names(self.model)

    @property
    def primary(self) -> str:
        """The differentiable data input: epigenome, sequence or bottleneck."""
        return next(n for n in self.input_names if n in _PRIMARY)

    @property
    def is_graph(self) -> bool:
        return "adjacency" in self.input_names

    def inputs(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Batched (1, ...) model inputs from a window's (possibly edited) arrays."""
        return model_inputs(self.input_names, [arrays], self.base)


def resolve_inputs(model, cell) -> tuple[Any, Any]:
    """(model, CellData): zoo names and preset paths are loaded, CellData paths opened."""
    from ..prep.cell import as_cell
    from ..zoo.load import as_model

    return as_model(model), as_cell(cell)


def members(model, base=None, *, allow_base_mismatch: bool = False) -> list[Member]:
    """The models to run: a FoldEnsemble's folds (sorted), a list's items, or the model itself.

    `base` (a Seq-CNN base, a list or a FoldEnsemble of them) feeds models whose input is a
    bottleneck, paired by fold and flavour (`training.bottlenecks.pair_bases`; a mismatch is refused
    unless `allow_base_mismatch`).
    """
    out = [Member(m, b) for m, b in pair_bases(model, base, allow_mismatch=allow_base_mismatch)]
    for m in out:
        if m.primary == "bottleneck" and m.base is None:
            raise missing_base_error(m.model)
    return out



def window_kind(group: Sequence[Member]) -> str:
    """The window_arrays kind ("epi" or "seq") every member can read."""
    kinds = {_PRIMARY[m.primary] for m in group}
    if len(kinds) != 1:
        raise InvalidInputError("the models of an ensemble must read the same kind of input")
    return kinds.pop()


def forward(member: Member, batch: dict[str, np.ndarray], shared=None) -> np.ndarray:
    """CAGE (B, 1200) of a batch of model inputs, in inference mode; through `shared` (a fold ensemble's
    `shared_forward`: one compiled copy per architecture) when given."""
    return (shared or forward_cage)(member.model, batch)


@dataclass(frozen=True)
class Site:
    """A TSS node and the window whose middle holds it."""

    chrom: str
    node: int
    tss: int
    genes: str
    window: Window

    @property
    def local(self) -> int:
        """The node's index inside its window."""
        return self.node - self.window.start_node

    def target_nodes(self, neighbours: int) -> list[int]:
        """Window indices of the TSS node and `neighbours` nodes on each side."""
        return [i for i in range(self.local - neighbours, self.local + neighbours + 1) if 0 <= i < WINDOW_NODES]


def middle_window(cell, chrom: str, node: int) -> Window:
    """The window whose middle (evaluation) nodes contain `node`."""
    for w in windows(cell.n_nodes(chrom), chrom):
        a, b = w.middle
        if a <= node < b:
            return w
    raise InvalidInputError(f"{chrom}: node {node} (bp {node * NODE_BIN}) lies outside the chromosome")


def locate(cell, gene: str | None = None, chrom: str | None = None, tss: int | None = None) -> Site:
    """Find a gene's TSS node (or the node holding `chrom`:`tss`) and its window.

    A gene with TSSs in several 5 kb bins resolves to the bin nearest `tss` when given, else
    to its 5' bin: the lowest on the plus strand, the highest on the minus strand (the strand
    comes from the cell's annotation file; the CellData keeps TSS bins only).
    """
    if gene is None:
        if chrom is None or tss is None:
            raise InvalidInputError("give a gene name, or chrom and tss")
        node = int(tss) // NODE_BIN
        table = cell.tss(chrom)
        names = table.loc[table["node"] == node, "genes"]
        return Site(chrom, node, int(tss), names.iloc[0] if len(names) else "", middle_window(cell, chrom, node))
    chroms = [chrom] if chrom is not None else cell.chroms
    for c in chroms:
        table = cell.tss(c)
        table = table[table["genes"].str.split("+").apply(lambda names: gene in names)]
        if len(table):
            if tss is not None:
                order = (table["node"] - int(tss) // NODE_BIN).abs()
            else:
                order = -table["node"] if len(table) > 1 and _strand(cell, gene, c) == "-" else table["node"]
            row = table.loc[order.sort_values(kind="stable").index[0]]
            node = int(row["node"])
            return Site(c, node, int(row["tss"]), str(row["genes"]), middle_window(cell, c, node))
    names = sorted({n for c in chroms for g in cell.tss(c)["genes"] for n in g.split("+")})
    close = difflib.get_close_matches(gene, names, n=5)
    where = f"on {chrom}" if chrom else "in the cell"
    hint = f"; close matches: {', '.join(close)}" if close else ""
    raise InvalidInputError(f"gene {gene!r} has no TSS {where}{hint}")


def _strand(cell, gene: str, chrom: str) -> str:
    """The strand of `gene` on `chrom` in the annotation the cell was prepared from."""
    spec = cell.attrs.get("genes") or {}
    path = Path(((cell.attrs.get("provenance") or {}).get("genes") or {}).get("path", ""))
    if not path.is_file():
        raise InvalidInputError(
            f"{gene} has TSSs in several 5 kb bins of {chrom}; its 5' one depends on the strand, which is read from "
            f"the cell's gene annotation {str(path) or '(not recorded)'}, and that file is gone. Give tss= (--tss).")
    table = _annotation(str(path), spec.get("format"), spec.get("level", "gene"), tuple(spec.get("biotypes") or ()),
                        spec.get("name_attribute"))
    strands = set(table.loc[(table["gene"] == gene) & (table["chrom"] == chrom), "strand"])
    if len(strands) != 1:
        raise InvalidInputError(f"{gene} has TSSs in several 5 kb bins of {chrom} and {len(strands)} strands in "
                                f"{path}; give tss= (--tss) to pick its bin.")
    return strands.pop()


@lru_cache(maxsize=2)
def _annotation(path: str, fmt: str | None, level: str, biotypes: tuple, name_attribute: str | None):
    """A cell's gene annotation (chrom, tss, gene, strand), read once per process."""
    from ..prep.genes import read_tss

    return read_tss(path, fmt, level=level, biotypes=list(biotypes) or None, name_attribute=name_attribute)


class WindowRun:
    """One window's arrays and members, for predictions under edits of the arrays."""

    def __init__(self, model, cell, window: Window, base=None, allow_base_mismatch: bool = False):
        from ..zoo.ensemble import FoldEnsemble

        self.members = members(model, base, allow_base_mismatch=allow_base_mismatch)
        self.shared = model.shared_forward() if isinstance(model, FoldEnsemble) else None
        self.window = window
        self.cell = cell
        self.arrays = window_arrays(cell, window, window_kind(self.members))

    @property
    def bp_start(self) -> int:
        """Chromosome coordinate of the window's first base (negative inside padding)."""
        return self.window.start_node * NODE_BIN

    def contains(self, start: int, end: int) -> bool:
        """True when [start, end) lies fully inside the window."""
        return self.bp_start <= start and end <= self.bp_start + WINDOW_BP

    def genes(self):
        """The TSS table rows of the window's middle nodes, with their window index `local`."""
        a, b = self.window.middle
        table = self.cell.tss(self.window.chrom)
        table = table[(table["node"] >= a) & (table["node"] < b)].copy()
        table["local"] = table["node"] - self.window.start_node
        table["n_contact"] = self.arrays["adjacency"][table["local"].to_numpy()].sum(axis=1)
        return table.reset_index(drop=True)

    def predict(self, edits: Sequence[Edit | None], batch_size: int = 1) -> np.ndarray:
        """CAGE (n_members, len(edits), 1200) of the window under each edit (None = unedited); with more edits
        than `batch_size`, the last partial batch is padded to it (one compiled shape)."""
        from ..models.inference import padded_batch

        out = np.zeros((len(self.members), len(edits), WINDOW_NODES), dtype="float32")
        pad_to = batch_size if len(edits) > batch_size else 0
        for k, member in enumerate(self.members):
            for i in range(0, len(edits), batch_size):
                items = [member.inputs(e(self.arrays) if e else self.arrays) for e in edits[i : i + batch_size]]
                batch = padded_batch({n: np.concatenate([x[n] for x in items]) for n in items[0]}, pad_to)
                out[k, i : i + len(items)] = forward(member, batch, self.shared)[: len(items)]
        return out


def bin_coordinates(run: WindowRun, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Start coordinates of a window's `resolution`-bp bins and a mask of those on the chromosome."""
    n = WINDOW_BP // resolution
    starts = run.bp_start + resolution * np.arange(n, dtype=np.int64)
    node_start = run.arrays["node_start"]
    per_node = NODE_BIN // resolution
    real = np.repeat(node_start >= 0, per_node) & (starts < run.cell.chrom_sizes[run.window.chrom])
    return starts, real

