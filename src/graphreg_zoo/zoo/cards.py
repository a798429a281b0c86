"""Zoo cards: one Markdown file per model family, YAML front matter + prose.

Cards ship in the package (`zoo_cards/`); `GRAPHREG_ZOO_CARDS` adds directories of
extra cards (os.pathsep-separated) that may also override a shipped card by name.
Names: a family (`epi_K562_hichip_fdr01`), an alias (`epi_K562_hichip`), and a member
(`epi_K562_hichip_fdr01@fold3`).
"""
from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..settings import current

if TYPE_CHECKING:
    import pandas

BUILTIN_CARDS = Path(__file__).resolve().parent.parent / "zoo_cards"
REQUIRED = ("name", "aliases", "kind", "cell", "genome", "model", "folds", "license", "citation")
_MEMBER = re.compile(r"^(?P<name>[^@]+)@fold(?P<fold>\d+)$")
LIST_COLUMNS = ("name", "kind", "cell", "genome", "assay", "fdr", "generalizable", "naming", "aliases")


def parse_card(path: Path, required: tuple[str, ...] = REQUIRED) -> dict[str, Any]:
    """Read one card: its front matter as a dict, the prose under 'description'.

    `required` lists the front-matter keys it must have (a model card's by default).
    """
    import yaml

    text = path.read_text(encoding="utf-8")
    parts = text.split("---\n", 2)
    if len(parts) != 3 or parts[0]:
        raise InvalidInputError(f"zoo card {path} does not start with a '---' YAML front-matter block")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    meta = yaml.load(parts[1], Loader=loader)
    missing = [key for key in required if key not in (meta or {})]
    if missing:
        raise InvalidInputError(f"zoo card {path} lacks the fields {missing}")
    meta["description"] = parts[2].strip()
    meta["card_path"] = str(path)
    return meta


def card_dirs() -> list[Path]:
    """Shipped cards first, then every directory named in GRAPHREG_ZOO_CARDS."""
    return [BUILTIN_CARDS, *current().card_dirs]


@functools.lru_cache(maxsize=8)
def _load(dirs: tuple[Path, ...]) -> dict[str, dict[str, Any]]:
    cards: dict[str, dict[str, Any]] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.md")):
            if path.stem.isupper() or path.stem.startswith("_"):  # COVERAGE.md, README.md
                continue
            card = parse_card(path)
            cards[card["name"]] = card
    return cards


def all_cards() -> dict[str, dict[str, Any]]:
    """Every card by name (re-read when GRAPHREG_ZOO_CARDS changes)."""
    return _load(tuple(card_dirs()))


def _names() -> dict[str, str]:
    """Name or alias -> card name."""
    table = {}
    for name, card in all_cards().items():
        table.update({alias: name for alias in card["aliases"]})
    table.update({name: name for name in all_cards()})
    return table


def resolve(name: str) -> tuple[dict[str, Any], int | None]:
    """The card a zoo name refers to, and the fold for `name@foldN` (None for the family)."""
    fold = None
    match = _MEMBER.match(name)
    if match:
        name, fold = match["name"], int(match["fold"])
    names = _names()
    if name not in names:
        close = difflib.get_close_matches(name, list(names), n=5, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise InvalidInputError(
            f"unknown model {name!r}.{hint} `graphreg-zoo models` lists every name; `load()` also accepts "
            "NAME@foldN, hf://org/repo@<40-hex revision>, a preset directory or an upstream .h5 file."
        )
    card = all_cards()[names[name]]
    if fold is not None:
        member(card, fold)
    return card, fold


def member(card: dict[str, Any], fold: int) -> dict[str, Any]:
    """The fold member of a card (fold number, valid/test chromosomes, path, source, sha256, size)."""
    for entry in card["folds"]["members"]:
        if entry["fold"] == fold:
            return entry
    folds = [m["fold"] for m in card["folds"]["members"]]
    raise InvalidInputError(f"{card['name']} has no fold {fold}; its folds are {folds}")


def model_rows(cell: str | None = None, kind: str | None = None, assay: str | None = None) -> list[dict[str, Any]]:
    """One row per family, filtered case-insensitively (kind matches 'epi_graphreg' or the name prefix 'epi')."""
    rows = []
    for name, card in sorted(all_cards().items()):
        kinds = {str(card["kind"]).lower(), name.split("_")[0].lower()}
        if cell and cell.lower() != str(card["cell"]).lower():
            continue
        if kind and kind.lower() not in kinds:
            continue
        if assay and assay.lower() != str(card.get("assay")).lower():
            continue
        row = {col: card.get(col) for col in LIST_COLUMNS}
        row["aliases"] = ", ".join(card["aliases"])
        row["folds"] = len(card["folds"]["members"])
        rows.append(row)
    return rows


def list_models(cell: str | None = None, kind: str | None = None, assay: str | None = None) -> "pandas.DataFrame":
    """A table of model families: name, kind, cell, genome, assay, FDR, generalizable, naming, aliases, folds.

    Example: ``graphreg_zoo.list_models(cell="K562", kind="epi_graphreg")``.
    """
    import pandas as pd

    return pd.DataFrame(model_rows(cell, kind, assay), columns=[*LIST_COLUMNS, "folds"])


def info(name: str) -> dict[str, Any]:
    """The card of a family (or alias); for `name@foldN` the card plus that fold under 'member'."""
    card, fold = resolve(name)
    out = dict(card)
    if fold is not None:
        out["member"] = member(card, fold)
    return out
