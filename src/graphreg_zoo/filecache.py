"""Fetching files into the cache: sources, sha256 verification, the cache, locks and offline mode.

Cache layout under `GRAPHREG_ZOO_HOME` (default: the platform cache dir, `pooch.os_cache`):

    files/<card path>            raw upstream files, e.g. files/models/K562/Epi-GraphReg_….h5
    files/<card path>.preset/    the converted Keras 3 preset, next to its raw file
    registry.json                sha256 + size recorded at the first download of unpinned files
    locks/                       one file lock per entry

Sources, in order: `GRAPHREG_ZOO_MIRROR` (a base URL or a directory holding each file at its
card path) if set, else the card's `source` URL. Every file is verified against its pinned
sha256 (card) or the one recorded at its first download; `GRAPHREG_ZOO_OFFLINE=1` never
touches the network.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlparse

from ._atomic import atomic_path, sha256_file
from .errors import IntegrityError, InvalidInputError, NotAvailableError
from .settings import cache_home, current, is_offline

REGISTRY = "registry.json"
HTTP_TIMEOUT_S = 60
_HF = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<rev>[^@/]+))?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
log = logging.getLogger("graphreg_zoo")


@dataclass(frozen=True)
class FileSpec:
    """One file of the zoo: its path (cache and mirror layout), canonical URL and pinned hash."""

    path: str
    source: str
    sha256: str | None = None


def cached_path(path: str) -> Path:
    """Where the raw file `path` lives in the cache."""
    return cache_home() / "files" / path


def preset_path(path: str) -> Path:
    """Where the converted preset of `path` lives: next to the raw file."""
    return cached_path(path).with_name(Path(path).name + ".preset")


def entry_lock(key: str):
    """A cross-process lock for one cache entry (a file path or path + '.preset')."""
    from filelock import FileLock

    locks = cache_home() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return FileLock(str(locks / (hashlib.sha1(key.encode()).hexdigest() + ".lock")))


def read_registry() -> dict[str, dict]:
    """Recorded hashes: path -> {sha256, size, source}."""
    target = cache_home() / REGISTRY
    return json.loads(target.read_text())["files"] if target.exists() else {}


def _write_registry(target: Path, files: Mapping[str, dict]) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps({"files": dict(sorted(files.items()))}, indent=1) + "\n")


def _record(spec: FileSpec, sha256: str, size: int) -> None:
    with entry_lock(REGISTRY):
        files = read_registry()
        files[spec.path] = {"sha256": sha256, "size": size, "source": spec.source}
        _write_registry(cache_home() / REGISTRY, files)
    log.warning(
        "%s has no pinned sha256; recorded %s from its first download and will enforce it from now on "
        "(`graphreg-zoo cache pin` writes recorded hashes out for the cards).", spec.path, sha256)


def _expected(spec: FileSpec) -> tuple[str | None, str]:
    if spec.sha256:
        return spec.sha256, "pinned in its zoo card"
    recorded = read_registry().get(spec.path)
    return (recorded["sha256"], "recorded at its first download") if recorded else (None, "")


def _source(spec: FileSpec, mirror: str | None) -> str:
    """The URL or local path to read `spec` from."""
    if not mirror:
        return spec.source
    parsed = urlparse(mirror)
    if parsed.scheme in ("http", "https"):
        return mirror.rstrip("/") + "/" + quote(spec.path, safe="/,")
    base = Path(parsed.path) if parsed.scheme == "file" else Path(mirror)
    return str(base / spec.path)


class _RichBar:
    """pooch's progress-bar protocol (total, update, reset, close) drawn as one task of a rich Progress."""

    def __init__(self, progress: Any, description: str):
        self._progress = progress
        self._task = progress.add_task(description, total=None)

    @property
    def total(self) -> float | None:
        return self._progress.tasks[self._task].total

    @total.setter
    def total(self, value: int) -> None:
        self._progress.update(self._task, total=value or None)  # 0: the server sent no length

    def update(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def reset(self) -> None:
        self._progress.reset(self._task, total=self.total)

    def close(self) -> None:
        self._progress.stop_task(self._task)


def _copy_in(source: str, tmp: Path, bar: _RichBar | None = None) -> None:
    """Download (pooch) or copy `source` into `tmp`; NotAvailableError if it cannot be had."""
    if urlparse(source).scheme in ("http", "https"):
        import pooch
        import requests

        try:
            pooch.HTTPDownloader(progressbar=bar or False, timeout=HTTP_TIMEOUT_S)(source, str(tmp), None)
        except requests.HTTPError as exc:
            raise NotAvailableError(f"HTTP {exc.response.status_code} from {source}") from exc
        except requests.RequestException as exc:
            raise NotAvailableError(f"cannot reach {source} ({type(exc).__name__})") from exc
    elif Path(source).is_file():
        shutil.copyfile(source, tmp)
        if bar is not None:
            bar.total = tmp.stat().st_size
            bar.update(tmp.stat().st_size)
    else:
        raise NotAvailableError(f"not in the mirror directory: {source}")


def _check(spec: FileSpec, file: Path, origin: str) -> str:
    """Verify `file` against the expected hash of `spec`; record it if nothing is expected."""
    actual = sha256_file(file)
    expected, why = _expected(spec)
    if expected and actual != expected:
        raise IntegrityError(
            f"{spec.path} (from {origin}) has sha256 {actual}, but {expected} was expected ({why}). "
            "Nothing was cached. The source may be corrupted or changed: try again, use another mirror, "
            "or, if the file legitimately changed, clear it with `graphreg-zoo cache clear --registry`.")
    if not expected:
        _record(spec, actual, file.stat().st_size)
    return actual


def fetch_file(spec: FileSpec, *, mirror: str | None = None, progress: Any = None) -> Path:
    """Return the verified cached copy of `spec`, downloading it first if needed.

    `mirror` overrides GRAPHREG_ZOO_MIRROR; a rich `progress` gets one byte-counting task per download.
    Raises NotAvailableError (offline, or the
    source failed) and IntegrityError (hash mismatch; nothing is cached then).
    """
    target = cached_path(spec.path)
    with entry_lock(spec.path):
        if target.is_file():
            expected, why = _expected(spec)
            actual = sha256_file(target)
            if expected in (None, actual):
                return target
            if is_offline():
                raise IntegrityError(f"cached {target} has sha256 {actual}, expected {expected} ({why}); "
                                     "it is corrupted and GRAPHREG_ZOO_OFFLINE=1 forbids a fresh download")
            target.unlink()
            shutil.rmtree(preset_path(spec.path), ignore_errors=True)  # converted from the bad file
        origin = _source(spec, mirror if mirror is not None else current().mirror)
        if is_offline() and urlparse(origin).scheme in ("http", "https"):
            raise NotAvailableError(f"offline and not cached: {spec.path}")
        with atomic_path(target) as tmp:
            try:
                _copy_in(origin, tmp, _RichBar(progress, Path(spec.path).name) if progress is not None else None)
            except NotAvailableError as exc:
                raise NotAvailableError(f"{spec.path}: {exc}") from exc
            _check(spec, tmp, origin)
    return target


def fetch_files(specs: Iterable[FileSpec], progress: Any = None) -> list[Path]:
    """Fetch every file (each download a task of the rich `progress`, if given); one NotAvailableError
    names all that could not be had."""
    paths, missing = [], []
    for spec in specs:
        try:
            paths.append(fetch_file(spec, progress=progress))
        except NotAvailableError as exc:
            missing.append(str(exc))
    if missing:
        how = ("GRAPHREG_ZOO_OFFLINE=1 is set" if is_offline() else "the source could not be reached")
        raise NotAvailableError(
            f"{len(missing)} file(s) are missing from the cache {cache_home()} and {how}:\n  "
            + "\n  ".join(missing)
            + "\nFetch them on a connected machine (`graphreg-zoo fetch NAME`, then `graphreg-zoo cache export DIR`)"
            " and bring them here with `graphreg-zoo cache import DIR` or GRAPHREG_ZOO_MIRROR=DIR.")
    return paths


def cached_files() -> list[str]:
    """Card paths of every raw file in the cache."""
    root = cache_home() / "files"
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not any(part.endswith(".preset") or part.startswith(".")
                                             for part in p.relative_to(root).parts))


def verify_cache(known: Mapping[str, FileSpec]) -> dict[str, str]:
    """Path -> 'ok' | 'mismatch: …' | 'unrecorded' for every cached raw file."""
    report = {}
    for path in cached_files():
        spec = known.get(path, FileSpec(path, ""))
        expected, why = _expected(spec)
        actual = sha256_file(cached_path(path))
        if expected is None:
            report[path] = "unrecorded"
        else:
            report[path] = "ok" if actual == expected else f"mismatch: {actual} != {expected} ({why})"
    return report


def pin_registry(output: Path) -> Path:
    """Write the recorded hashes as a registry file (commit it as zoo_cards/registry.json)."""
    files = {p: {"sha256": e["sha256"], "size": e["size"]} for p, e in read_registry().items()}
    _write_registry(Path(output), files)
    return Path(output)


def export_cache(directory: Path) -> int:
    """Copy every cached raw file to directory/<card path> (a valid GRAPHREG_ZOO_MIRROR); returns the count."""
    directory = Path(directory)
    paths = cached_files()
    for path in paths:
        with atomic_path(directory / path) as tmp:
            shutil.copyfile(cached_path(path), tmp)
    pin_registry(directory / REGISTRY)
    return len(paths)


def import_cache(directory: Path, known: Mapping[str, FileSpec]) -> int:
    """Bring the files of a mirror directory into the cache, verified like any download."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInputError(f"{directory} is not a directory")
    paths = [p.relative_to(directory).as_posix() for p in sorted(directory.rglob("*"))
             if p.is_file() and p.name != REGISTRY and not p.name.startswith(".")]
    for path in paths:
        fetch_file(known.get(path, FileSpec(path, "")), mirror=str(directory))
    return len(paths)


def clear_cache(*, registry: bool = False) -> None:
    """Remove cached files and presets (and with `registry`, the recorded hashes)."""
    shutil.rmtree(cache_home() / "files", ignore_errors=True)
    if registry:
        (cache_home() / REGISTRY).unlink(missing_ok=True)


def fetch_hf(handle: str) -> Path:
    """Local snapshot directory of `hf://org/repo@<40-hex commit>` (revision pinned, never a branch)."""
    match = _HF.match(handle)
    if not match:
        raise InvalidInputError(f"{handle!r} is not of the form hf://org/repo@<40-hex revision>")
    revision = match["rev"]
    if not revision or not _COMMIT.match(revision):
        raise InvalidInputError(
            f"{handle!r} does not pin a revision: give the full 40-hex commit sha, "
            f"e.g. hf://{match['repo']}@<commit> (see the repository's 'Files and versions' history). "
            "Branches and tags can move, so graphreg_zoo refuses them.")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    settings = current()
    local_only = settings.hf_offline
    try:
        return Path(snapshot_download(match["repo"], revision=revision, local_files_only=local_only,
                                      cache_dir=settings.hf_cache))
    except LocalEntryNotFoundError as exc:
        raise NotAvailableError(f"{handle} is not in the Hugging Face cache and the hub cannot be used "
                                f"({'offline' if local_only else exc})") from exc
