"""The ten cross-validation folds of the original GraphReg (UPSTREAM §5.1).

Fold N holds out validation chromosomes {N, N+10} and test chromosomes {N+1, N+11};
the rest of the autosomes train. Mouse has 19 autosomes, so numbers above 19 wrap
(fold 9 tests {10, 1}; fold 10 validates {10, 1} and tests {11, 2}). Human chr22 is
never held out by any fold.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import InvalidInputError

N_FOLDS = 10
AUTOSOMES = {"human": 22, "mouse": 19}
ORGANISM_OF_GENOME = {"hg19": "human", "hg38": "human", "mm10": "mouse"}


def _autosome(number: int, organism: str) -> int:
    n = AUTOSOMES[organism]
    return number if number <= n else number - n


def fold_chromosomes(fold: int, organism: str) -> dict[str, tuple[int, int]]:
    """Validation and test autosomes of `fold` (1..10) for `organism` ('human' or 'mouse').

    Example: ``fold_chromosomes(1, "human") == {"valid": (1, 11), "test": (2, 12)}``.
    """
    if organism not in AUTOSOMES:
        raise InvalidInputError(f"unknown organism {organism!r}; expected one of {sorted(AUTOSOMES)}")
    if not 1 <= fold <= N_FOLDS:
        raise InvalidInputError(f"fold must be 1..{N_FOLDS}, got {fold}")
    return {
        "valid": (_autosome(fold, organism), _autosome(fold + 10, organism)),
        "test": (_autosome(fold + 1, organism), _autosome(fold + 11, organism)),
    }


def chromosome_number(chrom: str | int) -> int | None:
    """The autosome number of 'chr7', '7' or 7; None for chrX, chrY, chrM and the like."""
    text = str(chrom)
    if text.lower().startswith("chr"):
        text = text[3:]
    return int(text) if text.isdigit() else None


#: the role of a predicted row for the model that made it (docs/evaluation.md#roles)
ROLES = ("test", "validation", "training", "unseen", "unknown")
#: roles of rows no model trained or was selected on: what evaluation scores by default
HELD_OUT = ("test", "unseen")
#: split key (recipes, preset cards) -> role
ROLE_OF_SPLIT = {"test": "test", "valid": "validation", "train": "training"}


def recorded_split(card: dict) -> dict[str, set[str]] | None:
    """The chromosomes a single model trained, was selected and was tested on, as canonical names
    ('chr7'), from its card: a trained preset's `chromosomes`, or a zoo member's fold (`valid`, `test`
    autosome numbers; every other autosome of its organism trained). None where the card records no split."""
    from ..prep.assembly import normalize_chrom

    if isinstance(card.get("chromosomes"), dict):
        return {key: {normalize_chrom(str(c)) for c in card["chromosomes"].get(key) or []} for key in ROLE_OF_SPLIT}
    if card.get("valid") and card.get("test") and card.get("organism") in AUTOSOMES:
        held = {key: {f"chr{n}" for n in card[key]} for key in ("valid", "test")}
        autosomes = {f"chr{n}" for n in range(1, AUTOSOMES[card["organism"]] + 1)}
        return {**held, "train": autosomes - held["valid"] - held["test"]}
    return None


def split_role(split: dict[str, set[str]] | None, chrom: str) -> str:
    """Role of `chrom` in a recorded split: test, validation, training, unseen (in none of them), or
    unknown (no split recorded)."""
    from ..prep.assembly import normalize_chrom

    if split is None:
        return "unknown"
    name = normalize_chrom(str(chrom))
    return next((ROLE_OF_SPLIT[key] for key in ("test", "valid", "train") if name in split.get(key, ())), "unseen")


_VALID = re.compile(r"valid_chr_(\d+),(\d+)")


def fold_of_file(path: Path) -> int:
    """The fold of an upstream file name: its first validation chromosome (`…_valid_chr_3,13…` -> 3)."""
    match = _VALID.search(path.name)
    if not match or not 1 <= int(match[1]) <= 10:
        raise InvalidInputError(f"cannot tell the fold of {path.name}: expected '_valid_chr_<N>,<M>' with N in 1..10")
    return int(match[1])
