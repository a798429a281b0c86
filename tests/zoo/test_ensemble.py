"""Fold scheme (UPSTREAM §5.1) and chromosome routing of the fold ensemble."""
from __future__ import annotations

import numpy as np
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.zoo.ensemble import FoldEnsemble
from graphreg_zoo.zoo.folds import chromosome_number, fold_chromosomes


@pytest.mark.parametrize("fold, organism, valid, test", [
    (1, "human", (1, 11), (2, 12)),
    (9, "human", (9, 19), (10, 20)),
    (10, "human", (10, 20), (11, 21)),
    (8, "mouse", (8, 18), (9, 19)),
    (9, "mouse", (9, 19), (10, 1)),
    (10, "mouse", (10, 1), (11, 2)),
])
def test_fold_chromosomes(fold, organism, valid, test):
    assert fold_chromosomes(fold, organism) == {"valid": valid, "test": test}


def test_every_held_out_chromosome_exists():
    for organism, n in (("human", 22), ("mouse", 19)):
        held = {c for f in range(1, 11) for role in fold_chromosomes(f, organism).values() for c in role}
        assert held <= set(range(1, n + 1))
    assert 22 not in {c for f in range(1, 11) for c in fold_chromosomes(f, "human")["test"]}


@pytest.mark.parametrize("bad", [(0, "human"), (11, "human"), (1, "fly")])
def test_fold_chromosomes_rejects(bad):
    with pytest.raises(InvalidInputError):
        fold_chromosomes(*bad)


def test_chromosome_number():
    assert [chromosome_number(c) for c in ("chr7", "7", 7, "chrX", "MT")] == [7, 7, 7, None, None]


class _Const:
    """A stand-in model: returns its fold number in every output."""

    def __init__(self, fold: int) -> None:
        self.fold = fold

    def __call__(self, inputs, training=False):
        return {"cage": np.full((1, 4), float(self.fold)), "extra": [np.array(self.fold)]}


@pytest.fixture
def human() -> FoldEnsemble:
    return FoldEnsemble({f: _Const(f) for f in range(1, 11)}, organism="human", name="demo")


def test_routes_to_the_fold_that_held_the_chromosome_out(human):
    assert human.fold_for("chr2") == 1  # test chromosome of fold 1 (also valid of fold 2)
    assert human.fold_for("chr1") == 1  # validation only
    assert human.fold_for(21) == 10
    assert human.fold_for("chr22") is None and human.fold_for("chrX") is None
    assert human.model_for("chr12").fold == 1
    np.testing.assert_array_equal(human.predict_window({}, "chr12")["cage"], np.full((1, 4), 1.0))


def test_averages_all_folds_where_none_held_out(human):
    out = human.predict_window({}, "chrX")
    np.testing.assert_allclose(out["cage"], np.full((1, 4), 5.5))
    np.testing.assert_allclose(out["extra"][0], 5.5)


def test_mouse_wraps():
    mouse = FoldEnsemble({f: _Const(f) for f in range(1, 11)}, organism="mouse")
    assert mouse.fold_for("chr1") == 9 and mouse.fold_for("chr11") == 10 and mouse.fold_for("chr2") == 1
