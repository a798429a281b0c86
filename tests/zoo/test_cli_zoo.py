"""`graphreg-zoo models|info|fetch|cache …`: output, exit codes, a light start-up path."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from graphreg_zoo import filecache, settings

STARTUP = """
import sys
from graphreg_zoo.cli import run
codes = [run(["--help"]), run(["models"])]
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "jax", "torch", "matplotlib"})
print(codes, heavy, file=sys.stderr)
sys.exit(0 if codes == [0, 0] and not heavy else 1)
"""


def test_help_and_models_import_no_heavy_library():
    """The start-up path stays light (its time is measured in benchmarks/startup.py, not here)."""
    done = subprocess.run([sys.executable, "-c", STARTUP], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_models_prints_a_table(cli):
    code, out, _ = cli("models", "--cell", "K562")
    assert code == 0
    assert "epi_K562_hichip_fdr01" in out and "epi_K562_hichip " in out and "(34 families)" in out
    assert "GM12878" not in out


def test_info_prints_the_card(cli):
    code, out, _ = cli("info", "epi_K562_hichip@fold2")
    assert code == 0
    assert "name: epi_K562_hichip_fdr01" in out and "# epi_K562_hichip_fdr01" in out
    assert "valid: [2, 12]" in out and "Epi-GraphReg_K562_HiChIP_FDR_01_valid_chr_2,12_test_chr_3,13.h5" in out
    code, _, err = cli("info", "epi_K562_hichp")
    assert code == 4 and "Did you mean" in err


def test_corrupted_download_exits_5_and_caches_nothing(cli, fixture_card, served, zoo_home, monkeypatch):
    data = bytearray(fixture_card.checkpoint.read_bytes())
    data[len(data) // 2] ^= 0xFF
    served.put(fixture_card.path, bytes(data))
    monkeypatch.setenv(settings.MIRROR_ENV, served.url)
    code, _, err = cli("fetch", f"{fixture_card.name}@fold1")
    assert code == 5
    assert fixture_card.sha256 in err and filecache.sha256_file(served.root / fixture_card.path) in err
    assert fixture_card.path in err
    assert filecache.cached_files() == [] and not list((zoo_home / "files").rglob(".tmp-*"))


@pytest.mark.parametrize("how", ["server-down", "offline"])
def test_unavailable_exits_3_listing_missing_files(cli, fixture_card, served, dead_url, monkeypatch, how):
    if how == "offline":
        monkeypatch.setenv(settings.OFFLINE_ENV, "1")
        monkeypatch.setenv(settings.MIRROR_ENV, served.url)
    else:
        monkeypatch.setenv(settings.MIRROR_ENV, dead_url)
    code, _, err = cli("fetch", fixture_card.name)
    assert code == 3
    assert "10 file(s) are missing" in err and fixture_card.path in err
    assert served.requests == []


def test_cache_commands(cli, fixture_card, served, zoo_home, monkeypatch, tmp_path):
    served.put(fixture_card.path, fixture_card.checkpoint.read_bytes())
    monkeypatch.setenv(settings.MIRROR_ENV, served.url)
    assert cli("fetch", "epi_K562_hichip@fold1")[0] == 0  # the shipped card: unpinned, so recorded
    code, out, _ = cli("cache", "ls")
    assert code == 0 and fixture_card.path in out and fixture_card.sha256[:16] in out
    code, out, _ = cli("cache", "verify")
    assert code == 0 and "ok" in out
    code, _, _ = cli("cache", "pin", tmp_path / "registry.json")
    pinned = json.loads((tmp_path / "registry.json").read_text())["files"]
    assert code == 0 and pinned[fixture_card.path]["sha256"] == fixture_card.sha256
    assert cli("cache", "export", tmp_path / "mirror")[0] == 0
    assert (tmp_path / "mirror" / fixture_card.path).is_file()
    (zoo_home / "files" / fixture_card.path).write_bytes(b"bit rot")
    code, out, err = cli("cache", "verify")
    assert code == 5 and "mismatch" in out and fixture_card.path in err
    assert cli("cache", "clear")[0] == 0 and filecache.cached_files() == []
    assert cli("cache", "import", tmp_path / "mirror")[0] == 0
    assert filecache.cached_files() == [fixture_card.path]
    assert len(served.requests) == 1
