"""The Seq-CNN base bottleneck that feeds the separately trained Seq-GraphReg / Seq-CNN.

The original ran the frozen base over a window's 60 chunks of 100 kb at every step (in
batches of 10). The bottleneck does not change while the head trains, so the engine computes
it once per window and keeps it (`BottleneckCache`, in memory or as one `.npy` per window on
disk, written atomically); prediction and interpretation compute it on the fly.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_path
from ..errors import InvalidInputError
from ..models.inference import weights_fingerprint
from ..zoo.ensemble import FoldEnsemble

#: Seq-CNN base config fields that change its bottleneck: a head trained on one flavour reads another's as noise
BASE_FLAVOUR = ("dilated", "fft_prior")
ALLOW_HINT = "allow_base_mismatch=True (--allow-base-mismatch)"


def base_record(base) -> dict[str, Any]:
    """What a head records (`data_spec["base"]`) of the frozen base it trains on: name, fold, flavour, weights."""
    record = {"name": base.name, "fold": _fold_of(base), "weights_sha256_16": weights_fingerprint(base)}
    record.update({key: getattr(base, key) for key in BASE_FLAVOUR if hasattr(base, key)})
    return record


def _spec(model) -> dict:
    return dict(getattr(model, "data_spec", None) or {})


def _card(model) -> dict:
    return dict(getattr(model, "card", None) or {})


def missing_base_error(head) -> InvalidInputError:
    """The refusal for a head that reads a bottleneck but was given no base: it names the base recorded at
    training and, where that base ships in the package (the demo heads), the name to pass."""
    from ..zoo.load import packaged_name

    recorded = _card(head).get("base_model") or {}
    trained_on = recorded.get("name") or (_spec(head).get("base") or {}).get("name")
    shipped = packaged_name(recorded.get("recipe"))
    return InvalidInputError(
        f"{head.name} reads a Seq-CNN base bottleneck: pass base= (--base) the Seq-CNN base it was trained on"
        f"{f' ({trained_on})' if trained_on else ''}, of the same fold"
        f"{f'; this packaged head was trained on base={shipped!r} (--base {shipped})' if shipped else ''}")


def _fold_of(model) -> int | None:
    """A lone model's fold: recorded in its data_spec (training, conversion) or on its card (zoo, preset)."""
    fold = _spec(model).get("fold")
    return fold if fold is not None else _card(model).get("fold")


def _by_fold(model) -> list[tuple[int | None, Any]]:
    """(fold, model) of each member: a FoldEnsemble's folds (sorted), a list's items, or the model itself;
    a lone model's fold is the one it records (`_fold_of`; None if it records none)."""
    if isinstance(model, FoldEnsemble):
        return sorted(model.models.items())
    items = list(model) if isinstance(model, (list, tuple)) else [model]
    return [(_fold_of(m), m) for m in items]


def _requirement(model, head) -> dict[str, Any]:
    """The base a head needs: its recorded `data_spec["base"]`, else the flavour its (family) card names."""
    config = {**(_card(model).get("model") or {}).get("config", {}),
              **(_card(head).get("model") or {}).get("config", {})}
    return {**{k: config[k] for k in BASE_FLAVOUR if k in config}, **(_spec(head).get("base") or {})}


def _label(container, fold: int | None, model) -> str:
    name = getattr(container, "name", "") if isinstance(container, FoldEnsemble) else ""
    name = name or getattr(model, "name", "model")
    return f"{name}@fold{fold}" if fold is not None else f"{name} (fold not recorded)"


def _choose(head_fold, need: dict, bases: list[tuple[int | None, Any]], position: int, n_heads: int, fingerprint):
    """The base member for one head: the one of its fold, else the one whose weights it recorded,
    else (lists of equal length) the one at its position; None where none can be told."""
    if len(bases) == 1:
        return bases[0]
    same_fold = [b for b in bases if head_fold is not None and b[0] == head_fold]
    if same_fold:
        return same_fold[0]
    recorded = need.get("weights_sha256_16")
    same_weights = [b for b in bases if recorded and fingerprint(b[1]) == recorded]
    if same_weights:
        return same_weights[0]
    if head_fold is None and all(f is None for f, _ in bases) and len(bases) == n_heads:
        return bases[position]
    return None


def _differences(head_fold, need: dict, base_fold, base, shared: int, fingerprint) -> list[str]:
    """How a head and the base chosen for it disagree (fold, flavour, weights); empty when they fit."""
    out = []
    if head_fold is not None and base_fold is not None and head_fold != base_fold:
        out.append(f"the head is fold {head_fold}, the base fold {base_fold}")
    if shared > 1:
        out.append(f"one base feeds {shared} head folds")
    for key in BASE_FLAVOUR:
        if key in need and hasattr(base, key) and bool(need[key]) != bool(getattr(base, key)):
            out.append(f"the head needs {key}={bool(need[key])}, the base has {key}={bool(getattr(base, key))}")
    recorded = need.get("weights_sha256_16")
    if recorded and fingerprint(base) != recorded:
        out.append(f"the head was trained on base weights {recorded}, these are {fingerprint(base)}")
    return out


def pair_bases(model, base, *, allow_mismatch: bool = False) -> list[tuple[Any, Any]]:
    """(head, Seq-CNN base) for every member of `model` (a model, list or FoldEnsemble), by fold and flavour.

    A head feeds on the bottleneck of the base it was trained on: another fold's base saw the head's
    test chromosomes, another flavour's bottleneck means something else. Bases pair with heads by fold
    (FoldEnsemble keys or `data_spec["fold"]`), else by the base weights a trained head recorded; the
    flavour (dilated, FFT prior) and recorded weights must agree. A mismatch raises InvalidInputError
    naming both, or with `allow_mismatch` warns and runs. Members that read no bottleneck get None.
    """
    from ..models.inference import input_names, needs_bottleneck

    heads = _by_fold(model)
    if base is None or not any(needs_bottleneck(input_names(h)) for _, h in heads):
        return [(head, None) for _, head in heads]
    bases = _by_fold(base)
    memo: dict[int, str] = {}

    def fingerprint(m) -> str:
        if id(m) not in memo:
            memo[id(m)] = weights_fingerprint(m)
        return memo[id(m)]

    chosen = []
    for position, (fold, head) in enumerate(heads):
        need = _requirement(model, head)
        fold = fold if fold is not None else need.get("fold")
        pick = _choose(fold, need, bases, position, len(heads), fingerprint)
        if pick is None:
            raise InvalidInputError(
                f"cannot tell which Seq-CNN base feeds {_label(model, fold, head)}: the bases are folds "
                f"{[f for f, _ in bases]}. Pass the base of the head's fold (e.g. a base fold ensemble holding it).")
        chosen.append((fold, head, pick))
    head_folds: dict[int, set] = {}
    for fold, _, (_, b) in chosen:
        head_folds.setdefault(id(b), set()).add(fold)
    for fold, head, (base_fold, b) in chosen:
        problems = _differences(fold, _requirement(model, head), base_fold, b, len(head_folds[id(b)]), fingerprint)
        if problems:
            message = (f"Seq-CNN base {_label(base, base_fold, b)} does not fit the head {_label(model, fold, head)}: "
                       f"{'; '.join(problems)}. Pass the base of the same fold and flavour, or {ALLOW_HINT} to "
                       "run anyway.")
            if not allow_mismatch:
                raise InvalidInputError(message)
            warnings.warn(message, stacklevel=3)
    return [(head, b) for _, head, (_, b) in chosen]


class BottleneckCache:
    """Window -> bottleneck (60000, 64) of a frozen base, computed once per window.

    With `directory`, each window's array is a `.npy` file under `directory/<weights sha>/`
    (written atomically, so an interrupted run resumes with what it had); without, they are
    kept in memory (small data only: a 60000 x 64 float32 array per window).
    """

    def __init__(self, base, cell, directory: str | os.PathLike | None = None):
        self.base, self.cell = base, cell
        self.directory = Path(directory) / weights_fingerprint(base) if directory is not None else None
        self._memory: dict[Any, np.ndarray] = {}

    def _path(self, window) -> Path:
        return self.directory / f"{window.chrom}_{window.index}.npy"

    def __call__(self, window) -> np.ndarray:
        if self.directory is None:
            if window not in self._memory:
                self._memory[window] = self._compute(window)
            return self._memory[window]
        path = self._path(window)
        if not path.is_file():
            self.directory.mkdir(parents=True, exist_ok=True)
            value = self._compute(window)
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as handle:
                    np.save(handle, value)
            return value
        return np.load(path)

    def _compute(self, window) -> np.ndarray:
        from ..models.inference import bottleneck
        from ..prep.windows import window_sequence

        return bottleneck(self.base, window_sequence(self.cell, window))
