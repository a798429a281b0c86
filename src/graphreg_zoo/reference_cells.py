"""Reference cells: the public inputs of the paper's cells as cards, fetched and prepared on demand.

A cell card is `zoo_cards/cells/<NAME>.md` (or `<dir>/cells/<NAME>.md` for every directory
in GRAPHREG_ZOO_CARDS, which may override a shipped cell by name). Its front matter gives the
genome and, per input, where the file comes from:

    inputs:   h3k4me3, h3k27ac, dnase, cage, genes, fasta (and chrom_sizes for a custom genome)
    contacts: one entry per assay (HiC, HiChIP, MicroC, ...); `graph:` holds GraphSpec options
    each entry: accession, url, format, path (its place in the cache and under a mirror),
                sha256, size, status (verified | 3P | inferred | GAP), evidence

`plan(name)` reads the card into a `Build` (nothing downloaded); `build_cell` fetches every input
through `filecache` (mirror, cache, sha256, offline), prepares the CellData with the input contract
of the cell's published Epi models and keeps it under GRAPHREG_ZOO_HOME/cells/<name>/<key>.h5. The
key is a hash of the card's entries, so a built cell is found without touching its inputs, also on
a machine that got it by `export_cells` / `import_cells` instead of building it.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._atomic import atomic_path
from .errors import InvalidInputError, NotAvailableError
from .filecache import FileSpec, cached_path, entry_lock, fetch_files, read_registry
from .geometry import EPI_TRACKS
from .settings import cache_home, current
from .zoo import cards

if TYPE_CHECKING:
    from .prep.spec import CellSpec

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


def chromosomes_of(card: dict[str, Any], chromosomes: list[str] | None = None) -> list[str]:
    """`chromosomes` if given, else the card's, else the genome's autosomes."""
    from .prep import assembly

    return list(chromosomes or card.get("chromosomes") or assembly.autosomes(card["genome"]))


def cell_contract(card: dict[str, Any]) -> tuple[dict[str, dict[str, Any]] | None, list[str]]:
    """The input contract of the cell's published Epi models, and their family names.

    Only models that read the tracks bind how they are made; the fields on which these families
    disagree are left unknown (the card's own choice stands). (None, []) when no family reads this cell.
    """
    from .contract import FIELDS, unknown
    from .zoo.cards import all_cards

    families = sorted(name for name, c in all_cards().items()
                      if c.get("cell") == card["name"] and str(c.get("kind", "")).startswith("epi")
                      and c.get("input_contract"))
    if not families:
        return None, []
    contracts = [all_cards()[name]["input_contract"] for name in families]
    merged = {}
    for field in FIELDS:
        values = {json.dumps((c.get(field) or {}).get("value")) for c in contracts}
        merged[field] = (dict(contracts[0][field]) if len(values) == 1 else
                         unknown(f"unknown: the published {card['name']} families disagree ({sorted(values)})"))
    return merged, families


def flags(card: dict[str, Any], entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Inputs whose source is not verified (status 3P, inferred or GAP): role -> status, accession, evidence."""
    return {role: {"status": str(e.get("status", "GAP")), "accession": str(e.get("accession") or ""),
                   "evidence": str(e.get("evidence") or "")}
            for role, e in entries.items() if e.get("status", "GAP") != "verified"}


_KEY_IGNORES = ("status", "evidence", "accession", "size")  # record-keeping: a change of these keeps the build


@dataclass(frozen=True)
class Build:
    """One build of a reference cell: what it fetches, how it is prepared and where the CellData goes.

    Everything here comes from the card alone (no download), so a built cell is found, and moved
    between machines, by its `key`.
    """

    card: dict[str, Any]
    assay: str
    fasta: bool
    chroms: list[str]
    entries: dict[str, dict[str, Any]]
    contract: dict[str, dict[str, Any]] | None
    families: list[str]

    @property
    def files(self) -> list[FileSpec]:
        """Every file to fetch, once (one BAM may feed several roles)."""
        unique = {spec.path: spec for entry in self.entries.values() for spec in _specs(entry, self.chroms)}
        return list(unique.values())

    @property
    def key(self) -> str:
        """`<assay>-<16 hex>`: the hash of everything the CellData depends on, as the card states it."""
        from .contract import value
        from .prep.cell import FORMAT_VERSION

        used = {role: {k: v for k, v in e.items() if k not in _KEY_IGNORES} for role, e in self.entries.items()}
        contract = {f: value(self.contract, f) for f in self.contract} if self.contract else None
        text = json.dumps({"format": FORMAT_VERSION, "genome": self.card["genome"], "chroms": self.chroms,
                           "inputs": used, "contract": contract}, sort_keys=True, default=str)
        return f"{self.assay}-{hashlib.sha256(text.encode()).hexdigest()[:16]}{'-fasta' if self.fasta else ''}"

    @property
    def target(self) -> Path:
        return cache_home() / CELL_DIR / self.card["name"] / f"{self.key}.h5"

    @property
    def flags(self) -> dict[str, dict[str, str]]:
        return flags(self.card, self.entries)

    def spec(self) -> tuple["CellSpec", list[str]]:
        """The CellSpec of the cached inputs, made as the published models' contract says, and the changes."""
        from .contract import apply_to_spec
        from .prep.spec import CellSpec

        data = {**cell_spec(self.card, self.entries), "chromosomes": self.chroms}
        spec = CellSpec.from_dict(data, base_dir=self.target.parent)
        if self.contract is None:
            return spec, []
        return apply_to_spec(spec, self.contract, f"the published {self.card['name']} models")

    def download(self) -> tuple[int, list[str], int]:
        """What building needs to download: (bytes known from the card or registry, paths of unknown size,
        number of files already cached)."""
        recorded, known, unknown_size, cached = read_registry(), 0, [], 0
        sizes = {spec.path: entry["size"] for entry in self.entries.values() if entry.get("size")
                 for spec in _specs(entry, self.chroms)}
        for spec in self.files:
            size = sizes.get(spec.path) or recorded.get(spec.path, {}).get("size")
            if cached_path(spec.path).is_file():
                cached += 1
            elif size:
                known += int(size)
            else:
                unknown_size.append(spec.path)
        return known, unknown_size, cached


def plan(name: str, *, assay: str | None = None, fasta: bool = False,
         chromosomes: list[str] | None = None) -> Build:
    """The build of reference cell `name` (nothing is downloaded); refuses inputs that cannot be had or read."""
    card = cell_card(name)
    assay = assay or card.get("default_assay") or next(iter(card["contacts"]))
    entries = _entries(card, assay, fasta)
    chroms = chromosomes_of(card, chromosomes)
    _check_fetchable(card, entries, chroms)
    contract, families = cell_contract(card)
    return Build(card, assay, fasta, chroms, entries, contract, families)


def built(build: Build) -> Path | None:
    """The cached CellData of `build`, if it was built (or imported) before."""
    return build.target if build.target.is_file() else None


def _console():
    from rich.console import Console

    return Console(stderr=True)


def describe(build: Build) -> list[str]:
    """What a build does, for the user: the inputs flagged as not verified, and the contract it follows."""
    lines = [f"flagged {f['status']}: {role} {f['accession']}: {f['evidence']}" for role, f in build.flags.items()]
    if build.families:
        names = ", ".join(build.families[:3]) + (", ..." if len(build.families) > 3 else "")
        lines.append(f"tracks made as the input contract of the {len(build.families)} published Epi "
                     f"{build.card['name']} families says ({names})")
        lines += [f"  {change}" for change in build.spec()[1]]
    else:
        lines.append(f"no published model reads {build.card['name']}: the card's own track options are used")
    return lines


def build_cell(build: Build, out_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Download the inputs of `build`, prepare the CellData into the cache and return its path.

    The spec used is kept next to the CellData (and copied into `out_dir`); the CellData's
    `reference_cell` attribute records the card, the flagged inputs and the contract applied.
    """
    import yaml

    from .prep.cell import prepare

    spec, changes = build.spec()
    text = yaml.safe_dump(spec.to_dict(), sort_keys=False)
    for folder in {build.target.parent, *([Path(out_dir)] if out_dir else [])}:
        with atomic_path(folder / f"{build.card['name']}-{build.key}.cell.yaml") as tmp:
            tmp.write_text(text)
    if built(build):
        return build.target
    console = _console()
    _fetch(build, console, progress)
    with entry_lock(f"{CELL_DIR}/{build.card['name']}/{build.key}"):
        if not build.target.is_file():
            with atomic_path(build.target) as tmp:
                if progress:
                    console.print(f"preparing {build.card['name']} ({len(build.chroms)} chromosome(s)): "
                                  "reads -> tracks, contacts -> graph")
                prepare(spec, tmp, progress=progress)
                _record_provenance(tmp, build, changes)
    return build.target


def _fetch(build: Build, console, progress: bool) -> None:
    from rich import progress as rp

    columns = (rp.TextColumn("{task.description}"), rp.BarColumn(), rp.DownloadColumn(), rp.TransferSpeedColumn(),
               rp.TimeRemainingColumn())
    with rp.Progress(*columns, console=console, disable=not progress) as bar:
        fetch_files(build.files, progress=bar)


def _record_provenance(path: Path, build: Build, changes: list[str]) -> None:
    """Add the card's account of the inputs to the CellData (which inputs are 3P or inferred, and why)."""
    import h5py

    record = {"name": build.card["name"], "card": build.card["card_path"], "assay": build.assay, "key": build.key,
              "inputs": {role: {k: e.get(k) for k in ("accession", "url", "status", "evidence")}
                         for role, e in build.entries.items()},
              "flagged": build.flags, "contract_of": build.families, "contract_changes": changes}
    with h5py.File(path, "r+") as h5:
        h5.attrs["reference_cell"] = json.dumps(record)


def reference_cell(
    name: str, out_dir: str | os.PathLike | None = None, *, assay: str | None = None, fasta: bool = False,
    chromosomes: list[str] | None = None, progress: bool = True,
) -> Path:
    """A prepared CellData of reference cell `name`, fetched and prepared on first use.

    Args:
        name: a reference cell (`list_cells()`), case-insensitive.
        out_dir: where to also write the cell spec YAML used (it is always kept next to the CellData).
        assay: which contacts make the graph (default: the card's `default_assay`).
        fasta: also fetch the genome FASTA (needed by sequence models only).
        chromosomes: only these chromosomes (default: the card's, else the genome's autosomes).
        progress: show progress bars and, before a build, the inputs the card flags as 3P or inferred.

    The tracks and CAGE follow the input contract of the cell's published Epi models. Returns the
    path of the cached CellData (GRAPHREG_ZOO_HOME/cells/<name>/<assay>-<key>.h5); a built one is
    returned without touching its inputs. Raises NotAvailableError for inputs that cannot be fetched
    or read (listing all of them), IntegrityError for a hash mismatch.

    Example: ``predict(load("epi_K562_hic"), reference_cell("K562", assay="HiC"))``.
    """
    build = plan(name, assay=assay, fasta=fasta, chromosomes=chromosomes)
    if progress and not built(build):
        for line in describe(build):
            _console().print(line, markup=False, highlight=False)
    return build_cell(build, out_dir, progress=progress)




# -- moving built cells between machines (`cells export` / `cells import`) -----------------------------

MANIFEST = "graphreg_zoo_cells.json"


def _built_files(name: str) -> list[Path]:
    card = cell_card(name)
    found = sorted((cache_home() / CELL_DIR / card["name"]).glob("*.h5"))
    if not found:
        raise NotAvailableError(f"no built CellData of reference cell {card['name']} in {cache_home()}; "
                                f"build it first: graphreg-zoo cells build {card['name']}")
    return found


def _fasta_of(path: Path) -> dict[str, str] | None:
    """The cached FASTA a CellData reads (sequence models): its cache path and sha256, or None."""
    import h5py

    with h5py.File(path, "r") as h5:
        fasta, sha = (str(h5.attrs.get(k, "")) for k in ("fasta", "fasta_sha256"))
    if not fasta:
        return None
    files = cache_home() / "files"
    if not Path(fasta).is_relative_to(files):
        raise InvalidInputError(f"{path} reads the FASTA {fasta}, which is not in the cache {files}: "
                                "it cannot be exported with the cell")
    return {"path": Path(fasta).relative_to(files).as_posix(), "sha256": sha}


def _copy_verified(source: Path, target: Path, sha256: str) -> None:
    """Copy `source` to `target` atomically, refusing (IntegrityError, nothing written) a hash mismatch."""
    import shutil

    from ._atomic import sha256_file
    from .errors import IntegrityError

    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
        actual = sha256_file(tmp)
        if actual != sha256:
            raise IntegrityError(f"{source} has sha256 {actual}, but its manifest says {sha256}; it is corrupted "
                                 "or changed: export it again. Nothing was written.")


def export_cells(name: str, directory: str | os.PathLike) -> list[Path]:
    """Copy every built CellData of `name` (and the cached FASTA a sequence-model cell reads) into
    `directory`, listed with their sha256 in its manifest; returns the files written.

    The manifest is written last, so an interrupted export is never imported."""
    from ._atomic import sha256_file

    directory = Path(directory)
    manifest_file = directory / MANIFEST
    manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {"cells": {}}
    written = []
    for path in _built_files(name):
        rel = path.relative_to(cache_home()).as_posix()
        entry = {"sha256": sha256_file(path), "bytes": path.stat().st_size, "fasta": _fasta_of(path)}
        _copy_verified(path, directory / rel, entry["sha256"])
        written.append(directory / rel)
        if entry["fasta"]:
            fasta = entry["fasta"]
            _copy_verified(cache_home() / "files" / fasta["path"], directory / "files" / fasta["path"],
                           fasta["sha256"])
            written.append(directory / "files" / fasta["path"])
        manifest["cells"][rel] = entry
    with atomic_path(manifest_file) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return written


def _manifest(directory: Path) -> dict[str, dict[str, Any]]:
    manifest_file = directory / MANIFEST
    if not manifest_file.is_file():
        raise InvalidInputError(f"{directory} has no {MANIFEST}: it was not made (or not finished) by "
                                "`graphreg-zoo cells export`")
    cells_ = json.loads(manifest_file.read_text())["cells"]
    bad = [rel for rel in cells_ if Path(rel).is_absolute() or ".." in Path(rel).parts
           or not rel.startswith(f"{CELL_DIR}/")]
    if bad:
        raise InvalidInputError(f"{manifest_file}: entries outside {CELL_DIR}/: {bad}")
    return cells_


def import_cells(directory: str | os.PathLike) -> list[Path]:
    """Bring the CellData files of a `cells export` folder into the cache, each verified by sha256
    and written atomically; a sequence-model cell's FASTA is imported with it and the cell pointed at
    its new place. Returns the cached CellData paths."""
    import h5py

    from .filecache import fetch_file

    directory = Path(directory)
    imported = []
    for rel, entry in _manifest(directory).items():
        source = directory / rel
        if not source.is_file():
            raise NotAvailableError(f"{source} is listed in {directory / MANIFEST} but missing; export again")
        fasta = None
        if entry.get("fasta"):
            spec = FileSpec(entry["fasta"]["path"], "", entry["fasta"]["sha256"])
            fasta = fetch_file(spec, mirror=str(directory / "files"))
        target = cache_home() / rel
        with entry_lock(rel):
            with atomic_path(target) as tmp:
                _copy_verified(source, tmp, entry["sha256"])
                if fasta is not None:
                    with h5py.File(tmp, "r+") as h5:
                        h5.attrs["fasta"] = str(fasta)
        imported.append(target)
    return imported
