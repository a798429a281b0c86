"""Where the package's data folders are: inside an installed wheel, or at the source checkout's top level.

The zoo cards and training recipes live once, in the repository's top-level `zoo_cards/` and
`training/recipes/`; the wheel build (setup.py `build_py`) copies them into the package as
`graphreg_zoo/zoo_cards` and `graphreg_zoo/recipe_files`. No symlinks (Windows checkouts lack them).
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: folder inside the installed package -> the same folder in the source checkout
DATA_DIRS = {"zoo_cards": "zoo_cards", "recipe_files": "training/recipes"}


def data_dir(name: str) -> Path:
    """The data folder `name` ("zoo_cards" or "recipe_files") of this installation."""
    packaged = _PACKAGE / name
    return packaged if packaged.is_dir() else _PACKAGE.parents[1] / DATA_DIRS[name]
