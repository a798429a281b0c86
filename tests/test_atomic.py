"""Atomic writes: complete or absent, ordinary permissions, and no process-wide state touched."""
from __future__ import annotations

import os
import stat

import pytest

from graphreg_zoo._atomic import atomic_path


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_file_and_directory_get_the_umask_modes_without_setting_the_umask(tmp_path, monkeypatch):
    previous = os.umask(0o027)
    try:
        def forbidden(*_):
            raise AssertionError("os.umask is process-wide; atomic_path must not set it")

        monkeypatch.setattr(os, "umask", forbidden)
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("done")
        with atomic_path(tmp_path / "folder", directory=True) as tmp:
            (tmp / "x").write_text("x")
    finally:
        monkeypatch.undo()
        os.umask(previous)
    assert (tmp_path / "out.txt").read_text() == "done"
    assert _mode(tmp_path / "out.txt") == 0o640
    assert _mode(tmp_path / "folder") == 0o750


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []
