"""graphreg_zoo: GraphReg gene-expression models as a Keras 3 model zoo.

The public API is imported lazily so that `import graphreg_zoo` and the CLI's
`--help` stay fast; Keras/TensorFlow load only when a function needs them.
"""
from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# public name -> module that defines it
_API = {
    # zoo
    "load": "graphreg_zoo.zoo.load",
    "list_models": "graphreg_zoo.zoo.cards",
    "info": "graphreg_zoo.zoo.cards",
    "fetch": "graphreg_zoo.zoo.load",
    "convert_upstream": "graphreg_zoo.zoo.upstream",
    "save_preset": "graphreg_zoo.zoo.presets",
    "load_preset": "graphreg_zoo.zoo.presets",
    "list_cells": "graphreg_zoo.reference_cells",
    "reference_cell": "graphreg_zoo.reference_cells",
    # preprocessing
    "CellSpec": "graphreg_zoo.prep.cell",
    "CellData": "graphreg_zoo.prep.cell",
    "prepare": "graphreg_zoo.prep.cell",
    "call_contacts": "graphreg_zoo.prep.contacts.calling",
    # inference and evaluation
    "predict": "graphreg_zoo.prediction",
    "evaluate": "graphreg_zoo.evaluation.evaluator",
    # training
    "train": "graphreg_zoo.training.engine",
    # interpretation
    "attribute": "graphreg_zoo.interpret.attribution",
    "knockout": "graphreg_zoo.interpret.perturb",
    "ism": "graphreg_zoo.interpret.perturb",
    "variant_effects": "graphreg_zoo.interpret.perturb",
    "edge_knockout": "graphreg_zoo.interpret.perturb",
    "validate_enhancers": "graphreg_zoo.interpret.crispr",
    # synthetic data
    "simulate": "graphreg_zoo.simulation.files",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'graphreg_zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
