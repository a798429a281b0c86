"""The ten cross-validation folds of the original GraphReg (UPSTREAM §5.1).

Fold N holds out validation chromosomes {N, N+10} and test chromosomes {N+1, N+11};
the rest of the autosomes train. Mouse has 19 autosomes, so numbers above 19 wrap
(fold 9 tests {10, 1}; fold 10 validates {10, 1} and tests {11, 2}). Human chr22 is
never held out by any fold.
"""
from __future__ import annotations

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
