"""Atomic writes: build in a temporary sibling, then rename into place.

A reader never sees a half-written file or directory, and a crash leaves only
a temporary `.tmp-*` sibling that the next write ignores.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success rename it to `target`.

    With `directory=True` the temporary path is an (empty) directory. An existing
    `target` is replaced only after the new content is complete. On error the
    temporary path is removed and `target` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".tmp-{target.name}-"
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _default_mode(target.parent, directory))  # mkstemp/mkdtemp create private (0600/0700) entries
        if directory:
            if target.exists():
                old = target.with_name(f".old-{target.name}-{os.getpid()}")
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        else:
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _default_mode(parent: Path, directory: bool) -> int:
    """The permissions a plain open()/mkdir() would give under the current umask.

    The umask is read from a probe entry created the ordinary way, never by setting the process umask
    (os.umask is process-wide: flipping it races with every other thread that creates files)."""
    with tempfile.TemporaryDirectory(prefix=".tmp-umask-", dir=parent) as probe_dir:
        probe = Path(probe_dir) / "probe"
        if directory:
            probe.mkdir()
        else:
            probe.touch()
        return probe.stat().st_mode & 0o777


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
