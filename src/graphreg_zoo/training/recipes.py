"""Training recipes: YAML files naming the model, the data, the folds and every hyper-parameter.

A recipe has `name`, `model: {class, config}`, `data: {cell, assay, fdr, genome}` (what
CellData it needs), either `folds: [1..10]` (the original chromosome folds) or explicit
`chromosomes: {train, valid, test}`, and `training:` (see `TrainConfig`). The packaged recipes
(training/recipes/, one per zoo card) also carry `upstream`, `model.architecture`, more `data`
keys (organism, reference_cell, tracks, cage, fasta, base_model) and `engine`: see training/README.md.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path

from ..errors import InvalidInputError

RECIPE_DIR = Path(__file__).resolve().parents[1] / "recipe_files"


def recipe_path(name: str) -> Path:
    """The packaged recipe called `name` (with or without `.yaml`)."""
    path = RECIPE_DIR / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.is_file():
        known = sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))
        import difflib

        close = difflib.get_close_matches(name, known, n=5)
        raise InvalidInputError(f"no recipe {name!r}; close matches: {close or known[:5]}")
    return path


def load_recipe(recipe: str | os.PathLike | dict) -> dict:
    """A recipe as a dict, from a dict, a YAML path or the name of a packaged recipe."""
    import yaml

    if isinstance(recipe, dict):
        return recipe
    path = Path(recipe)
    if not path.is_file():
        path = recipe_path(str(recipe))
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "model" not in data:
        raise InvalidInputError(f"{path}: not a recipe (a YAML mapping with 'model', 'training' and folds)")
    return data


def build_model(recipe: dict, cell=None):
    """A freshly initialised model of the recipe's class and config."""
    from ..models import MODEL_CLASSES

    spec = recipe["model"]
    cls = MODEL_CLASSES.get(spec.get("class"))
    if cls is None:
        raise InvalidInputError(f"recipe model class {spec.get('class')!r} is not one of {sorted(MODEL_CLASSES)}")
    config = dict(spec.get("config", {}))
    if cell is not None:
        config.setdefault("data_spec", {}).setdefault("genome", cell.genome)
    if "seed" in inspect.signature(cls.__init__).parameters:
        config.setdefault("seed", recipe.get("training", {}).get("seed", 0))
    return cls(**config)


def _named(numbers, cell_chroms: list[str]) -> list[str]:
    by_number = {c.lower().removeprefix("chr"): c for c in cell_chroms}
    return [by_number[str(n)] for n in numbers if str(n) in by_number]


def split_chromosomes(recipe: dict, cell, fold: int | None) -> dict[str, list[str]]:
    """Train / valid / test chromosome names of the cell for this recipe and fold."""
    explicit = recipe.get("chromosomes")
    if explicit:
        return {role: list(explicit.get(role, [])) for role in ("train", "valid", "test")}
    if fold is None:
        raise InvalidInputError("this recipe uses the original folds: pass --fold N (1..10)")
    from ..zoo.folds import chromosome_number, fold_chromosomes

    organism = recipe.get("data", {}).get("organism", "human")
    held = fold_chromosomes(fold, organism)
    split = {role: _named(held[role], cell.chroms) for role in ("valid", "test")}
    out = {*split["valid"], *split["test"]}
    split["train"] = [c for c in cell.chroms if chromosome_number(c) is not None and c not in out]
    if not split["valid"] or not split["train"]:
        raise InvalidInputError(f"fold {fold}: the cell has no validation or training chromosomes ({cell.chroms})")
    return split
