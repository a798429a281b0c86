"""Reference cells: the public inputs of the paper's cells as cards, fetched and prepared on demand.

A cell card is `zoo_cards/cells/<NAME>.md` (or `<dir>/cells/<NAME>.md` for every directory
in GRAPHREG_ZOO_CARDS, which may override a shipped cell by name). Its front matter gives the
genome and, per input, where the file comes from:

    inputs:   h3k4me3, h3k27ac, dnase, cage, genes, fasta (and chrom_sizes for a custom genome)
    contacts: one entry per assay (HiC, HiChIP, MicroC, ...); `graph:` holds GraphSpec options
    each entry: accession, url, format, path (its place in the cache and under a mirror),
                sha256, size, status (verified | 3P | inferred | GAP), evidence

`reference_cell(name)` fetches every input through `filecache.py` (mirror, cache, sha256,
offline), writes a CellSpec YAML pointing at the cached files and prepares the CellData once;
later calls return the cached file under GRAPHREG_ZOO_HOME/cells/.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ._atomic import atomic_path
from .errors import InvalidInputError, NotAvailableError
from .filecache import FileSpec, cached_path, entry_lock, fetch_files, read_registry
from .geometry import EPI_TRACKS
from .settings import cache_home, current
from .zoo import cards

CELL_DIR = "cells"
REQUIRED = ("name", "genome", "inputs", "contacts")
STATUSES = ("verified", "3P", "inferred", "GAP")
READABLE = {
    "track": ("bigwig", "bedgraph", "bam", "cram", "tagalign", "reads_bed"),
    "genes": ("gtf", "gff3", "bed"),
    "fasta": ("fasta",),
    "chrom_sizes": ("chrom.sizes",),
}
TRACK_OPTIONS = ("stat", "normalisation", "clip", "nan", "reads")
GENE_OPTIONS = ("level", "biotypes", "name_attribute")


def _cell_dirs() -> list[Path]:
    return [directory / CELL_DIR for directory in cards.card_dirs()]


def _all_cells() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for directory in _cell_dirs():
        for path in sorted(directory.glob("*.md")):
            card = cards.parse_card(path, required=REQUIRED)
            found[card["name"]] = card
    return found


def list_cells() -> list[str]:
    """Names of every reference cell (shipped and from GRAPHREG_ZOO_CARDS)."""
    return sorted(_all_cells())


def cell_card(name: str) -> dict[str, Any]:
    """The card of reference cell `name` (case-insensitive); unknown names list close matches."""
    found = _all_cells()
    by_lower = {k.lower(): k for k in found}
    if name.lower() in by_lower:
        return found[by_lower[name.lower()]]
    close = difflib.get_close_matches(name, list(found), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise InvalidInputError(
        f"unknown reference cell {name!r}.{hint} Known cells: {', '.join(sorted(found))}. "
        "--cell also accepts a CellData .h5 or a cell spec .yaml."
    )


def _role_kind(role: str) -> str:
    return "track" if role in (*EPI_TRACKS, "cage") else role


def _entries(card: dict[str, Any], assay: str, fasta: bool) -> dict[str, dict[str, Any]]:
    """The inputs one preparation needs: role -> card entry (the chosen contact assay as 'graph')."""
    contacts = card["contacts"]
    if assay not in contacts:
        raise InvalidInputError(f"reference cell {card['name']} has no {assay!r} contacts; it has {sorted(contacts)}")
    roles = [*EPI_TRACKS, "genes", *(r for r in ("cage", "chrom_sizes") if r in card["inputs"])]
    if fasta:
        roles.append("fasta")
    missing = [r for r in roles if r not in card["inputs"]]
    if missing:
        raise InvalidInputError(f"reference cell card {card['card_path']} lacks the inputs {missing}")
    return {**{r: card["inputs"][r] for r in roles}, "graph": contacts[assay]}


def _unreadable(role: str, entry: dict[str, Any]) -> str | None:
    """Why `prepare` cannot read this input as the card gives it (None if it can)."""
    from .prep.contacts.formats import GRAPH_FORMATS

    fmt = str(entry.get("format", "")).lower()
    readable = GRAPH_FORMATS if role == "graph" else READABLE[_role_kind(role)]
    if fmt in readable or (role == "genes" and fmt.removesuffix(".gz") in readable):
        return None
    source = entry.get("accession") or entry.get("url") or "no public source"
    return (f"{role}: {source} is {entry.get('format') or 'of unknown format'}, which prepare does not read "
            f"(it reads {', '.join(readable)}){'; ' + entry['convert'] if entry.get('convert') else ''}")


def _specs(entry: dict[str, Any], chroms: list[str]) -> list[FileSpec]:
    """FileSpecs of one input: one file, or one per chromosome for a `{chrom}` path template
    (whose files the card cannot pin: their sha256 is recorded at the first download)."""
    path, url = entry["path"], entry.get("url") or ""
    if "{chrom}" not in path:
        return [FileSpec(path, url, entry.get("sha256"))]
    return [FileSpec(path.format(chrom=c), url.format(chrom=c)) for c in chroms]


def _check_fetchable(card: dict[str, Any], entries: dict[str, dict[str, Any]], chroms: list[str]) -> None:
    """Refuse up front (before any download) inputs prepare cannot read or nobody can serve."""
    problems = [p for role, entry in entries.items() if (p := _unreadable(role, entry))]
    mirror = current().mirror
    for role, entry in entries.items():
        cached = all(cached_path(spec.path).is_file() for spec in _specs(entry, chroms))
        if not entry.get("url") and not mirror and not cached:
            problems.append(f"{role}: status {entry.get('status', 'GAP')}, no public source is known; "
                            f"put the file at <GRAPHREG_ZOO_MIRROR>/{entry['path']}")
    if problems:
        raise NotAvailableError(
            f"reference cell {card['name']} cannot be prepared from its card ({card['card_path']}):\n  "
            + "\n  ".join(problems)
            + "\nMake the files yourself and either prepare a cell spec YAML (`graphreg-zoo prepare`) or write "
            "an overriding cell card in <dir>/cells/ of a GRAPHREG_ZOO_CARDS directory.")


def _options(entry: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: entry[k] for k in keys if entry.get(k) is not None}


def cell_spec(card: dict[str, Any], entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The CellSpec mapping of a card, its inputs at their cached paths."""
    local = {role: str(cached_path(entry["path"])) for role, entry in entries.items()}
    graph = entries["graph"]
    spec: dict[str, Any] = {
        "name": card["name"],
        "genome": card["genome"],
        "tracks": {t: {"path": local[t], **_options(entries[t], TRACK_OPTIONS)} for t in EPI_TRACKS},
        "graph": {"format": graph["format"], "path": local["graph"], **graph.get("graph", {})},
        "genes": {"path": local["genes"], "format": entries["genes"]["format"].removesuffix(".gz"),
                  **_options(entries["genes"], GENE_OPTIONS)},
    }
    if "cage" in entries:
        spec["cage"] = {"path": local["cage"], **_options(entries["cage"], ("stat", "nan", "reads"))}
    for role in ("fasta", "chrom_sizes"):
        if role in entries:
            spec[role] = local[role]
    if card.get("chromosomes"):
        spec["chromosomes"] = list(card["chromosomes"])
    return spec


def _chromosomes(card: dict[str, Any]) -> list[str]:
    from .prep import assembly

    return list(card.get("chromosomes") or assembly.autosomes(card["genome"]))


def _digest(spec: dict[str, Any], files: list[FileSpec]) -> str:
    """A key for the prepared file: the spec plus the hash of every input."""
    recorded = read_registry()
    hashes = sorted((f.path, f.sha256 or recorded.get(f.path, {}).get("sha256")) for f in files)
    text = json.dumps({"spec": spec, "files": hashes}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reference_cell(
    name: str, out_dir: str | os.PathLike | None = None, *, assay: str | None = None, fasta: bool = False,
    progress: bool = True,
) -> Path:
    """A prepared CellData of reference cell `name`, fetched and prepared on first use.

    Args:
        name: a reference cell (`list_cells()`), case-insensitive.
        out_dir: where to write the cell spec YAML used (default: next to the cached CellData).
        assay: which contacts make the graph (default: the card's `default_assay`).
        fasta: also fetch the genome FASTA (needed by sequence models only).
        progress: show progress bars.

    Returns the path of the cached CellData (GRAPHREG_ZOO_HOME/cells/<name>/<assay>-<key>.h5).
    Raises NotAvailableError for inputs that cannot be fetched or read (listing all of them),
    IntegrityError for a hash mismatch.

    Example: ``predict(load("epi_K562_hic"), reference_cell("K562", assay="HiC"))``.
    """
    import yaml

    from .prep.cell import prepare

    card = cell_card(name)
    assay = assay or card.get("default_assay") or next(iter(card["contacts"]))
    entries = _entries(card, assay, fasta)
    chroms = _chromosomes(card)
    _check_fetchable(card, entries, chroms)
    files = [spec for entry in entries.values() for spec in _specs(entry, chroms)]
    fetch_files(files)
    spec = cell_spec(card, entries)
    key = f"{assay}-{_digest(spec, files)}{'-fasta' if fasta else ''}"
    target = cache_home() / CELL_DIR / card["name"] / f"{key}.h5"
    spec_file = Path(out_dir or target.parent) / f"{card['name']}-{key}.cell.yaml"
    with atomic_path(spec_file) as tmp:
        tmp.write_text(yaml.safe_dump(spec, sort_keys=False))
    with entry_lock(f"{CELL_DIR}/{card['name']}/{key}"):
        if not target.is_file():
            prepare(spec_file, target, progress=progress)
    return target
