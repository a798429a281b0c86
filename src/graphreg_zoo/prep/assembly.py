"""Genome assemblies: chromosome sizes, name normalisation (chr1/1, chrM/MT) and build detection.

Every input file names chromosomes its own way (`chr1` in UCSC files, `1` in Ensembl and
many `.hic` files, `MT` vs `chrM`). One normaliser maps them all onto the spec's names, and
chromosome lengths identify the build, so a file from another assembly is refused.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Mapping

from ..errors import InvalidInputError

# Lengths of the main chromosomes (UCSC names). chrM is left out on purpose: it differs
# between UCSC hg19 (16,571) and the rCRS used by GRCh37 files (16,569), and it is never a
# GraphReg chromosome.
_SIZES_TEXT = {
    "hg19": """
        chr1 249250621 chr2 243199373 chr3 198022430 chr4 191154276 chr5 180915260
        chr6 171115067 chr7 159138663 chr8 146364022 chr9 141213431 chr10 135534747
        chr11 135006516 chr12 133851895 chr13 115169878 chr14 107349540 chr15 102531392
        chr16 90354753 chr17 81195210 chr18 78077248 chr19 59128983 chr20 63025520
        chr21 48129895 chr22 51304566 chrX 155270560 chrY 59373566""",
    "hg38": """
        chr1 248956422 chr2 242193529 chr3 198295559 chr4 190214555 chr5 181538259
        chr6 170805979 chr7 159345973 chr8 145138636 chr9 138394717 chr10 133797422
        chr11 135086622 chr12 133275309 chr13 114364328 chr14 107043718 chr15 101991189
        chr16 90338345 chr17 83257441 chr18 80373285 chr19 58617616 chr20 64444167
        chr21 46709983 chr22 50818468 chrX 156040895 chrY 57227415""",
    "mm10": """
        chr1 195471971 chr2 182113224 chr3 160039680 chr4 156508116 chr5 151834684
        chr6 149736546 chr7 145441459 chr8 129401213 chr9 124595110 chr10 130694993
        chr11 122082543 chr12 120129022 chr13 120421639 chr14 124902244 chr15 104043685
        chr16 98207768 chr17 94987271 chr18 90702639 chr19 61431566 chrX 171031299
        chrY 91744698""",
}


def _parse_sizes(text: str) -> dict[str, int]:
    words = text.split()
    return {name: int(length) for name, length in zip(words[::2], words[1::2])}


KNOWN_SIZES: dict[str, dict[str, int]] = {build: _parse_sizes(t) for build, t in _SIZES_TEXT.items()}
ALIASES = {"grch37": "hg19", "grch38": "hg38", "grcm38": "mm10"}
_AUTOSOMES = {"hg19": 22, "hg38": 22, "mm10": 19}


def canonical_build(genome: str) -> str:
    """`GRCh38` -> `hg38`; unknown names are returned lower-cased (custom assemblies)."""
    g = genome.strip().lower()
    return ALIASES.get(g, g)


def autosomes(genome: str) -> list[str]:
    """The autosomes GraphReg trains on: chr1-22 for human, chr1-19 for mouse."""
    build = canonical_build(genome)
    if build not in _AUTOSOMES:
        raise InvalidInputError(
            f"no default chromosome list for genome {genome!r}; list them under `chromosomes:` in the spec"
        )
    return [f"chr{i}" for i in range(1, _AUTOSOMES[build] + 1)]


def normalize_chrom(name: str) -> str:
    """Canonical UCSC-style name: `1`/`chr1` -> `chr1`, `MT`/`M`/`chrMT` -> `chrM`, `x` -> `chrX`."""
    core = re.sub(r"^chr", "", name.strip(), flags=re.IGNORECASE)
    upper = core.upper()
    if upper in {"M", "MT"}:
        return "chrM"
    if upper in {"X", "Y"}:
        return "chr" + upper
    return "chr" + core


def match_chroms(file_chroms: Iterable[str], wanted: Iterable[str], where: str) -> dict[str, str]:
    """Map each wanted (spec) chromosome name to the name a file uses for it.

    Chromosomes absent from the file are simply missing from the result; if none match at
    all, the names are incompatible and an InvalidInputError lists both name sets.
    """
    file_chroms = list(file_chroms)
    wanted = list(wanted)
    by_canon: dict[str, str] = {}
    for name in file_chroms:
        by_canon.setdefault(normalize_chrom(name), name)
    mapping = {w: by_canon[normalize_chrom(w)] for w in wanted if normalize_chrom(w) in by_canon}
    if wanted and not mapping:
        raise InvalidInputError(
            f"{where}: none of its chromosome names match the spec's. File has {_preview(file_chroms)}; "
            f"the spec wants {_preview(wanted)}. Check that the file belongs to this genome, or set "
            "`chromosomes:` in the spec to names the file uses."
        )
    return mapping


def require_chroms(mapping: Mapping[str, str], wanted: Iterable[str], where: str) -> None:
    """Raise if a wanted chromosome is absent from a file (after name normalisation)."""
    missing = [c for c in wanted if c not in mapping]
    if missing:
        raise InvalidInputError(
            f"{where}: chromosome(s) {', '.join(missing)} absent from this file. Remove them from "
            "`chromosomes:` in the spec, or supply a file that covers them."
        )


def check_lengths(
    file_sizes: Mapping[str, int], mapping: Mapping[str, str], sizes: Mapping[str, int], genome: str, where: str
) -> None:
    """Refuse a file whose chromosome lengths disagree with the spec's genome (another build)."""
    for chrom, fname in mapping.items():
        expected, found = sizes.get(chrom), file_sizes.get(fname)
        if expected is not None and found is not None and int(expected) != int(found):
            other = detect_build({fname: found})
            hint = f" (that length is {other}'s)" if other else ""
            raise InvalidInputError(
                f"{where}: {fname} has length {int(found):,} but {chrom} of {genome} is {int(expected):,}"
                f"{hint}. The file is from another genome build; use a file for {genome} or change "
                "`genome:` in the spec."
            )


def detect_build(chrom_sizes: Mapping[str, int]) -> str | None:
    """Name the known build whose lengths all listed main chromosomes match, or None."""
    canon = {normalize_chrom(k): int(v) for k, v in chrom_sizes.items()}
    best, best_hits = None, 0
    for build, table in KNOWN_SIZES.items():
        shared = [c for c in canon if c in table]
        if shared and all(canon[c] == table[c] for c in shared) and len(shared) > best_hits:
            best, best_hits = build, len(shared)
    return best


#: raw contacts reach the last bins of a chromosome's sequence: raw contacts whose last bin lies
#: this close to another build's end of the chromosome, when the spec's goes on far beyond, are
#: that build's (tables of called loops can stop anywhere, so only raw counts are judged this way)
_END_MARGIN = 25_000
_MIN_END_GAP = 200_000


def check_extent(last_bp: Mapping[str, int], sizes: Mapping[str, int], where: str, *, raw: bool) -> None:
    """Refuse contacts of a file without chromosome lengths that belong to another build.

    `last_bp` is, per chromosome, the start of the last bin holding a contact. Contacts past
    the chromosome's end are refused naming the builds they fit; raw contacts ending at another
    build's chromosome end, well before this one's, are refused naming both builds.
    """
    own = detect_build(sizes)
    for chrom, last in last_bp.items():
        length = sizes[chrom]
        if last >= length:
            fits = [b for b, table in KNOWN_SIZES.items() if table.get(chrom, 0) > last] if own else []
            hint = f" (it fits {' or '.join(fits)})" if fits else ""
            raise InvalidInputError(
                f"{where}: {chrom} has contacts at {last:,} bp, past its end in {own or 'the spec'} ({length:,} bp)"
                f"{hint}. The contacts and the chromosome sizes come from different genome builds; use contacts "
                "of the spec's build, or change `genome:` in the spec."
            )
        for build, table in KNOWN_SIZES.items() if raw else ():
            end = table.get(chrom)
            if end is not None and length - end >= _MIN_END_GAP and end - _END_MARGIN <= last < end:
                raise InvalidInputError(
                    f"{where}: the raw contacts of {chrom} stop at {last:,} bp, at the end of {chrom} in {build} "
                    f"({end:,} bp), while {chrom} of {own or 'the spec'} goes on to {length:,} bp: the contacts look "
                    f"like {build}'s. Use {own or 'the spec'}'s contacts, or set `genome: {build}` in the spec."
                )


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """Read a two-column `chrom<TAB>length` file (UCSC chrom.sizes / bedtools .genome)."""
    sizes: dict[str, int] = {}
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split()
            try:
                sizes[parts[0]] = int(parts[1])
            except (IndexError, ValueError):
                raise InvalidInputError(
                    f"{path}, line {lineno}: expected `chrom<TAB>length`, got {line.strip()!r}"
                ) from None
    return sizes


def genome_sizes(genome: str, sizes_file: str | Path | None = None) -> dict[str, int]:
    """Chromosome sizes for `genome`: from `sizes_file` if given, else the built-in table."""
    if sizes_file is not None:
        return {normalize_chrom(k): v for k, v in read_chrom_sizes(sizes_file).items()}
    build = canonical_build(genome)
    if build not in KNOWN_SIZES:
        raise InvalidInputError(
            f"unknown genome {genome!r} (built in: {', '.join(KNOWN_SIZES)}); give `chrom_sizes:` "
            "(a chrom.sizes file) in the spec"
        )
    return dict(KNOWN_SIZES[build])


def _preview(names: list[str], n: int = 6) -> str:
    shown = ", ".join(names[:n])
    return f"[{shown}{', ...' if len(names) > n else ''}] ({len(names)} names)"
