"""Windows -> gene table: batched forward passes, stitching, fold routing, writers.

`predict(model, cell)` walks every 6 Mb window of each chromosome (2 Mb stride),
keeps the middle 2 Mb of each (2-6 Mb in the last window, the original's
last-window rule), and reports one row per 5 kb bin that holds a TSS. A fold
ensemble predicts each chromosome with the fold that held it out. Each row says which
model and fold predicted it and its role for that model (test, validation, training,
unseen or unknown: `zoo.folds`, docs/evaluation.md#roles), so evaluation can keep
in-sample rows out of held-out numbers.
"""
from __future__ import annotations

import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ._atomic import atomic_path
from .errors import ContractWarning, InvalidInputError
from .models.inference import forward_cage, input_names, window_kind
from .prep.windows import NODE_BIN, Window, windows
from .zoo.ensemble import FoldEnsemble, first_member

Transform = Callable[[dict, Window], dict]
TABLE_COLUMNS = ["chrom", "bin_start", "tss", "genes", "n_tss", "n_contact", "prediction", "cage", "model", "fold",
                 "role"]
SHIFT_WARNING = 0.25  # relative difference of a track quantile that triggers a warning
SEQUENCE_BATCH = 2  # at most this many windows per forward for end-to-end sequence models (memory)


@dataclass
class ChromPrediction:
    """Per-node predictions of one chromosome and the window degree of each node."""

    chrom: str
    values: np.ndarray  # (n_nodes,) predicted CAGE, NaN where no window covered the node
    n_contact: np.ndarray  # (n_nodes,) degree within the window that predicted the node
    fold: str
    model: str = "model"
    role: str = "unknown"  # the chromosome's role for the model(s) that predicted it (zoo.folds.ROLES)


def _routed(model, chrom: str) -> tuple[list[Any], str]:
    """The models that predict `chrom` and the fold label written in the table."""
    if isinstance(model, FoldEnsemble):
        chosen, label = model.members_for(chrom)
        return list(chosen.values()), label
    return [model], getattr(model, "name", "model")


def _role(model, chrom: str) -> str:
    """The role of `chrom` for the model(s) `_routed` picks: from the fold scheme of an ensemble,
    or from the split recorded on a single model's card ('unknown' without one)."""
    from .zoo.folds import recorded_split, split_role

    if isinstance(model, FoldEnsemble):
        return model.role_for(chrom)
    return split_role(recorded_split(dict(getattr(model, "card", None) or {})), chrom)


def _model_label(model) -> str:
    """The name a gene table gives the model: its card's (zoo or preset) name, else the Keras name."""
    card = getattr(model, "card", None) or {}
    return str(card.get("name") or getattr(model, "name", "") or "model")


def _fold_label(model, routed: str) -> str:
    """The fold column: `_routed`'s label for an ensemble; a single model's card fold, or 'none'."""
    if isinstance(model, FoldEnsemble):
        return routed
    fold = (getattr(model, "card", None) or {}).get("fold")
    return f"fold{fold}" if fold is not None else "none"


def _batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _prefetched(pool: ThreadPoolExecutor, load: Callable, items: Iterable, depth: int = 2) -> Iterable:
    """`load(item)` of each item in order, computed in `pool` up to `depth` items ahead of the consumer (a
    bound: loading a whole chromosome ahead would hold all its windows' dense adjacencies at once)."""
    pending: list = []
    for item in items:
        pending.append(pool.submit(load, item))
        if len(pending) > depth:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


def _bases_for(members: list, pairs: list[tuple[Any, Any]]) -> list:
    """The Seq-CNN base paired with each routed member (`training.bottlenecks.pair_bases`), or Nones."""
    paired = {id(head): base for head, base in pairs}
    return [paired[id(m)] for m in members]


def _forward(model, precision: str) -> Callable[[Any, dict], np.ndarray]:
    """How a routed member computes CAGE: a fold ensemble's members share one compiled model per architecture
    (`FoldEnsemble.shared_forward`); a single model runs compiled itself in float32, or through a bfloat16 copy."""
    from .models.inference import SharedForward

    if isinstance(model, FoldEnsemble):
        return model.shared_forward(precision)
    return forward_cage if precision == "float32" else SharedForward(precision)


def predict_chromosome(
    model, cell, chrom: str, *, batch_size: int = 8, transform: Transform | None = None, on_batch=None, base=None,
    allow_base_mismatch: bool = False, forward: Callable[[Any, dict], np.ndarray] = forward_cage,
) -> ChromPrediction:
    """Predict every node of one chromosome (stitched middles of its windows); `forward(member, inputs)`
    runs a routed member (`_forward`)."""
    return _predict_routed(model, cell, [chrom], batch_size=batch_size, transform=transform, on_batch=on_batch,
                           base=base, allow_base_mismatch=allow_base_mismatch, forward=forward)[chrom]


def _predict_routed(
    model, cell, chroms: list[str], *, batch_size: int, transform: Transform | None, on_batch, base,
    allow_base_mismatch: bool, forward: Callable[[Any, dict], np.ndarray],
) -> dict[str, ChromPrediction]:
    """Predict `chroms` (all routed to the same members) as one stream of windows: a batch may end one
    chromosome and begin the next, so only the stream's last batch is partial (padded to the full size, one
    compiled shape), where batching each chromosome alone pads the end of every one of them."""
    from .models.inference import model_inputs, padded_batch
    from .prep.windows import window_arrays
    from .training.bottlenecks import pair_bases

    members, fold = _routed(model, chroms[0])
    bases = _bases_for(members, pair_bases(model, base, allow_mismatch=allow_base_mismatch))
    kind = window_kind(members[0])
    names = input_names(members[0])
    if "sequence" in names:  # an e2e model's activations over 6 Mb of one-hot DNA take several GB per window
        batch_size = min(batch_size, SEQUENCE_BATCH)
    n_nodes = {c: cell.n_nodes(c) for c in chroms}
    values = {c: np.full(n, np.nan, dtype=np.float32) for c, n in n_nodes.items()}
    degree = {c: np.zeros(n, dtype=np.int32) for c, n in n_nodes.items()}
    stream = [w for c in chroms for w in windows(n_nodes[c], c)]
    pad_to = batch_size if len(stream) >= batch_size else 0

    def load(batch: list[Window]) -> tuple[list[Window], list[np.ndarray], list[dict]]:
        """The batch's node degrees and each member's model inputs, stacked and padded here, in the loader
        thread, so that the forward thread does nothing but forwards (one input set per distinct base)."""
        arrays = [window_arrays(cell, w, kind) for w in batch]
        if transform is not None:
            arrays = [transform(a, w) for a, w in zip(arrays, batch)]
        made: dict[int, dict] = {}
        for b in bases:
            if id(b) not in made:
                made[id(b)] = padded_batch(model_inputs(names, arrays, b), pad_to)
        return batch, [a["adjacency"].sum(axis=1) for a in arrays], [made[id(b)] for b in bases]

    with ThreadPoolExecutor(max_workers=1) as pool:
        for batch, degrees, inputs in _prefetched(pool, load, _batches(stream, batch_size)):
            cage = np.mean([forward(m, x)[: len(batch)] for m, x in zip(members, inputs)], axis=0)
            for w, window_degree, row in zip(batch, degrees, cage):
                lo, hi = w.middle
                nodes = np.arange(max(lo, 0), min(hi, n_nodes[w.chrom]))
                rows = nodes - w.start_node
                values[w.chrom][nodes] = row[rows]
                degree[w.chrom][nodes] = window_degree[rows]
            if on_batch is not None:
                on_batch(len(batch))
    label, name = _fold_label(model, fold), _model_label(model)
    return {c: ChromPrediction(c, values[c], degree[c], label, name, _role(model, c)) for c in chroms}


def _routing_groups(model, chroms: list[str]) -> list[list[str]]:
    """`chroms` grouped by the members that predict them (first appearance order): one stream each."""
    groups: dict[tuple, list[str]] = {}
    for chrom in chroms:
        members, fold = _routed(model, chrom)
        groups.setdefault((tuple(id(m) for m in members), fold), []).append(chrom)
    return list(groups.values())


def gene_table(cell, prediction: ChromPrediction) -> pd.DataFrame:
    """One row per TSS bin: coordinates, genes, degree, prediction, true CAGE, model, fold and role."""
    tss = cell.tss(prediction.chrom)
    nodes = tss["node"].to_numpy()
    cage = cell.cage(prediction.chrom)
    return pd.DataFrame(
        {
            "chrom": prediction.chrom,
            "bin_start": tss["bin_start"].to_numpy(),
            "tss": tss["tss"].to_numpy(),
            "genes": tss["genes"].to_numpy(),
            "n_tss": tss["n_tss"].to_numpy(),
            "n_contact": prediction.n_contact[nodes],
            "prediction": prediction.values[nodes],
            "cage": cage[nodes] if cage is not None else np.nan,
            "model": prediction.model,
            "fold": prediction.fold,
            "role": prediction.role,
        },
        columns=TABLE_COLUMNS,
    )


def predict_nodes(
    model, cell, chroms: list[str] | None = None, *, batch_size: int = 8, transform: Transform | None = None,
    progress: bool = True, base=None, strict: bool = False, allow_base_mismatch: bool = False,
    precision: str = "float32",
) -> list[ChromPrediction]:
    """Per-node predictions for each chromosome (see `predict` for the arguments)."""
    from rich.progress import Progress

    from .models.inference import check_precision, needs_bottleneck
    from .prep.cell import as_cell
    from .training.bottlenecks import missing_base_error
    from .zoo.load import as_model

    model, cell = as_model(model), as_cell(cell)
    base = as_model(base) if base is not None else None
    if needs_bottleneck(input_names(first_member(model))) and base is None:
        raise missing_base_error(first_member(model))
    chroms = cell_chroms(cell, chroms)
    check_precision(precision, model)
    forward = _forward(model, precision)
    for message in check_compatibility(model, cell, strict=strict):
        warnings.warn(message, ContractWarning, stacklevel=2)
    total = sum(len(windows(cell.n_nodes(c), c)) for c in chroms)
    results: dict[str, ChromPrediction] = {}
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("predicting windows", total=total)
        for group in _routing_groups(model, chroms):
            results.update(_predict_routed(
                model, cell, group, batch_size=batch_size, transform=transform,
                on_batch=lambda n: bar.advance(task, n), base=base, allow_base_mismatch=allow_base_mismatch,
                forward=forward,
            ))
    return [results[c] for c in chroms]


def predict(
    model, cell, chroms: list[str] | None = None, *, batch_size: int = 8, transform: Transform | None = None,
    progress: bool = True, base=None, strict: bool = False, allow_base_mismatch: bool = False,
    precision: str = "float32",
) -> pd.DataFrame:
    """Predict CAGE at every TSS bin of a cell.

    Args:
        model: a graphreg_zoo model, a fold ensemble, or a zoo name / preset path.
        cell: a CellData or the path of a CellData HDF5 file.
        chroms: chromosomes to predict (default: all in the cell).
        batch_size: windows per forward pass (at most SEQUENCE_BATCH = 2 for end-to-end sequence models, whose
            activations over a 6 Mb window take several GB).
        transform: optional `f(inputs, window) -> inputs` applied before each forward pass
            (used by perturbation analyses).
        progress: show a progress bar.
        base: for a separately trained Seq-GraphReg / Seq-CNN (input `bottleneck`), the Seq-CNN base
            of the same fold (model, fold ensemble, zoo name or preset) that makes the bottleneck.
            Heads and bases pair by fold and flavour (`training.bottlenecks.pair_bases`); a mismatch is
            refused.
        strict: refuse (InvalidInputError) a cell not prepared as the model's input contract says,
            instead of warning (`ContractWarning`); see `check_compatibility`.
        allow_base_mismatch: run a mismatched base anyway (with a warning).
        precision: 'float32' (default) or 'bfloat16': the model's mixed_bfloat16 twin with the same weights
            (bfloat16 products, float32 input block and heads). Epigenome models only (a sequence model's
            bfloat16 forward does not agree with float32 to R 0.999); refused on hardware without native
            bfloat16 (a GPU, or a CPU with AVX512_BF16 / AMX), where it would be emulated and slower
            (docs/performance.md, "Inference").

    Returns a DataFrame with columns chrom, bin_start, tss, genes, n_tss, n_contact,
    prediction, cage (NaN without CAGE), model (its name), fold (the fold model used:
    `foldN`, `mean_of_folds`, or `none` for a single model without a fold) and role (the
    chromosome's role for that model: test, validation, training, unseen or unknown; see
    docs/evaluation.md#roles).

    Example:
        >>> table = predict(load("demo"), "cell.h5")          # doctest: +SKIP
    """
    from .prep.cell import as_cell

    cell = as_cell(cell)
    results = predict_nodes(model, cell, chroms, batch_size=batch_size, transform=transform, progress=progress,
                            base=base, strict=strict, allow_base_mismatch=allow_base_mismatch, precision=precision)
    return pd.concat([gene_table(cell, r) for r in results], ignore_index=True)


def cell_chrom(cell, chrom: str) -> str | None:
    """The cell's name for `chrom` (`22`, `chr22` and `CHR22` are one chromosome), or None."""
    from .prep.assembly import normalize_chrom

    by_canon = {normalize_chrom(c): c for c in cell.chroms}
    return chrom if chrom in cell.chroms else by_canon.get(normalize_chrom(str(chrom)))


def cell_chroms(cell, chroms: list[str] | None) -> list[str]:
    """The cell's names for `chroms` (default: all of its chromosomes); refuses one it lacks."""
    if not chroms:
        return list(cell.chroms)
    named = [cell_chrom(cell, c) for c in chroms]
    missing = [c for c, n in zip(chroms, named) if n is None]
    if missing:
        raise InvalidInputError(f"{cell.path}: chromosomes {missing} are not in this CellData (it has {cell.chroms}).")
    return named


def _track_quantiles(source: dict) -> dict:
    value = source.get("track_quantiles")
    return json.loads(value) if isinstance(value, str) else (value or {})


def _model_spec(model) -> dict:
    first = first_member(model)
    return dict(getattr(first, "data_spec", {}) or {})


def _model_name(model) -> str:
    return getattr(model, "name", None) or getattr(first_member(model), "name", "the model")


def contract_report(model, cell):
    """The model's input contract checked against `cell` (`contract.ContractReport`: mismatches, unchecked)."""
    from . import contract

    return contract.check(contract.of_model(model), cell, _model_name(model), contract.reads_tracks(model))


def check_compatibility(model, cell, strict: bool = False) -> list[str]:
    """Refuse a genome-build mismatch; return warnings where the cell is not made as the model expects.

    The model's input contract (track bin statistic, transform and scaling, CAGE bin statistic and
    scale; `graphreg_zoo.contract`) is compared with how the cell was prepared; with `strict=True`
    a mismatch is refused (InvalidInputError, exit 4) instead. Fields the contract leaves unknown
    are listed by `contract_report(model, cell).unchecked`. The model's `data_spec["track_quantiles"]`
    (recorded at training) is compared with the cell's: a relative shift above 25 % in the 0.99
    quantile of a track means the tracks are not normalised like the training data.
    """
    spec = _model_spec(model)
    genome = spec.get("genome")
    if genome and cell.genome and genome != cell.genome and "synth" not in (genome + cell.genome):
        raise InvalidInputError(
            f"genome build mismatch: the model was trained on {genome}, {cell.path} is {cell.genome}. "
            "Prepare the cell on the model's build (or lift its inputs over)."
        )
    messages = contract_report(model, cell).mismatches
    if strict and messages:
        raise InvalidInputError(f"{cell.path} is not prepared as {_model_name(model)} expects (strict):\n  "
                                + "\n  ".join(messages))
    trained, observed = _track_quantiles(spec), _track_quantiles(cell.attrs)
    for track, stats in trained.items():
        ours = observed.get(track, {})
        ref, seen = stats.get("q0.99"), ours.get("q0.99")
        if ref and seen is not None:
            shift = (seen - ref) / ref
            if abs(shift) > SHIFT_WARNING:
                messages.append(
                    f"track '{track}' is not normalised like the model's training data: its 0.99 quantile is "
                    f"{seen:.3g} here vs {ref:.3g} in training ({shift:+.0%}). Use depth-normalised (RPGC) "
                    "tracks with the same transform as the model card says."
                )
    return messages


def write_table(table: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write a gene table as CSV or Parquet (by `fmt` or the file suffix), atomically."""
    path = Path(path)
    fmt = fmt or ("parquet" if path.suffix == ".parquet" else "csv")
    if fmt not in ("csv", "parquet"):
        raise InvalidInputError(f"unknown table format {fmt!r}; use csv or parquet")
    with atomic_path(path) as tmp:
        if fmt == "csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    return path


def write_bigwig(results: list[ChromPrediction], path: str | os.PathLike, chrom_sizes: dict[str, int]) -> Path:
    """Write per-node predictions as a 5 kb bigWig (NaN nodes left out), atomically."""
    import pyBigWig

    path = Path(path)
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        ordered = [r for r in sorted(results, key=lambda r: list(chrom_sizes).index(r.chrom))]
        bw.addHeader([(r.chrom, int(chrom_sizes[r.chrom])) for r in ordered], maxZooms=4)
        for r in ordered:
            nodes = np.flatnonzero(np.isfinite(r.values))
            starts = nodes * NODE_BIN
            ends = np.minimum(starts + NODE_BIN, chrom_sizes[r.chrom])
            bw.addEntries([r.chrom] * len(nodes), starts.tolist(), ends=ends.tolist(),
                          values=r.values[nodes].astype(float).tolist())
        bw.close()
    return path


__all__ = ["predict", "predict_nodes", "predict_chromosome", "gene_table", "check_compatibility", "contract_report",
           "write_table", "write_bigwig", "ChromPrediction"]
