"""A fold ensemble: the ten fold models of a family, routed by held-out chromosome.

Predictions on a chromosome come from the fold that held it out (test chromosome first,
then validation), so a model never predicts on its own training chromosomes; on
chromosomes no fold held out (human chr22, chrX, …) the folds are averaged. `role_for`
says what a chromosome was to the model(s) that predict it: test, validation, training
(an autosome every member trained on, e.g. human chr22) or unseen (no member trained on it,
e.g. chrX: the folds train on autosomes only).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .folds import AUTOSOMES, chromosome_number, fold_chromosomes


@dataclass
class FoldEnsemble:
    """Fold models with their held-out chromosomes.

    Args:
        models: fold number (1..10) -> model (a Keras model or any callable on the input dict).
        organism: 'human' or 'mouse'; sets each fold's held-out chromosomes (`fold_chromosomes`).
        name: the zoo name of the family.
        card: the family's zoo card (metadata only).

    Example:
        >>> ens = graphreg_zoo.load("epi_K562_hichip")            # doctest: +SKIP
        >>> out = ens.predict_window({"epigenome": x, "adjacency": a}, "chr2")  # fold 1's test chromosome
    """

    models: dict[int, Callable[..., Any]]
    organism: str = "human"
    name: str = ""
    card: dict = field(default_factory=dict)
    folds: dict[int, Mapping[str, tuple[int, int]]] = field(init=False)
    _forwards: dict[str, Any] = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.folds = {fold: fold_chromosomes(fold, self.organism) for fold in self.models}

    def fold_for(self, chrom: str | int) -> int | None:
        """The fold that held `chrom` out: test chromosome preferred, then validation; None if none did."""
        number = chromosome_number(chrom)
        held_out = [fold for role in ("test", "valid") for fold in sorted(self.folds)
                    if number in self.folds[fold][role]]
        return held_out[0] if held_out else None

    def role_for(self, chrom: str | int) -> str:
        """Role of `chrom` for the model(s) `fold_for` routes it to (see the module docstring)."""
        fold = self.fold_for(chrom)
        if fold is not None:
            return "test" if chromosome_number(chrom) in self.folds[fold]["test"] else "validation"
        number = chromosome_number(chrom)
        return "training" if number is not None and number <= AUTOSOMES[self.organism] else "unseen"

    def members_for(self, chrom: str | int) -> tuple[dict[int, Callable[..., Any]], str]:
        """The members that predict `chrom` (fold -> model) and the fold label of their rows: the fold that
        held it out (`foldN`), or every fold where none did (`mean_of_folds`). Prediction, training and
        interpretation all route through here."""
        fold = self.fold_for(chrom)
        if fold is not None:
            return {fold: self.models[fold]}, f"fold{fold}"
        return dict(sorted(self.models.items())), "mean_of_folds"

    def shared_forward(self, precision: str = "float32") -> Any:
        """The ensemble's `models.inference.SharedForward` at `precision`: one compiled model per architecture
        for every member, kept across predictions (each prediction asks again, which reloads the members'
        weights, so a member trained in between is not predicted with its old weights)."""
        from ..models.inference import SharedForward

        if precision not in self._forwards:
            self._forwards[precision] = SharedForward(precision)
        self._forwards[precision].reload()
        return self._forwards[precision]

    def model_for(self, chrom: str | int) -> Callable[..., Any] | None:
        """The model of the fold that held `chrom` out, or None where every fold trained on it."""
        fold = self.fold_for(chrom)
        return None if fold is None else self.models[fold]

    def predict_window(self, inputs: Any, chrom: str | int) -> Any:
        """Outputs for one window on `chrom`: the held-out fold's, or the mean over all folds."""
        members, _ = self.members_for(chrom)
        return _mean([_to_numpy(m(inputs, training=False)) for m in members.values()])


def members(model: Any) -> list[Any]:
    """Every member of a fold ensemble (by fold), or the model itself."""
    return [m for _, m in sorted(model.models.items())] if isinstance(model, FoldEnsemble) else [model]


def first_member(model: Any) -> Any:
    """A fold ensemble's first member, or the model itself: what a family-wide property is read from."""
    return members(model)[0]


def _to_numpy(outputs: Any) -> Any:
    if isinstance(outputs, Mapping):
        return {k: _to_numpy(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(_to_numpy(v) for v in outputs)
    return np.asarray(outputs)


def _mean(outputs: list[Any]) -> Any:
    if len(outputs) == 1:
        return outputs[0]
    first = outputs[0]
    if isinstance(first, Mapping):
        return {k: _mean([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_mean(list(parts)) for parts in zip(*outputs))
    return np.mean(np.stack(outputs), axis=0)
