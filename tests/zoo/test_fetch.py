"""The download/cache layer over real HTTP on 127.0.0.1 (no mocks of the download path)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from graphreg_zoo import filecache, settings
from graphreg_zoo.errors import IntegrityError, InvalidInputError, NotAvailableError
from graphreg_zoo.filecache import FileSpec, fetch_file

REL = "models/K562/Epi-CNN_K562_valid_chr_1,11_test_chr_2,12.h5"
DATA = bytes(range(256)) * 64


def _spec(url: str, data: bytes = DATA, pinned: bool = True) -> FileSpec:
    sha = hashlib.sha256(data).hexdigest() if pinned else None
    return FileSpec(REL, f"{url}/{REL}", sha)


def _leftovers(home) -> list[str]:
    root = home / "files"
    return [p.name for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_download_verifies_caches_and_reuses(zoo_home, served):
    served.put(REL, DATA)
    path = fetch_file(_spec(served.url))
    assert path == zoo_home / "files" / REL and path.read_bytes() == DATA
    assert fetch_file(_spec(served.url)) == path
    assert len(served.requests) == 1


def test_unpinned_hash_is_recorded_enforced_and_pinned(zoo_home, served, tmp_path, caplog):
    served.put(REL, DATA)
    fetch_file(_spec(served.url, pinned=False))
    recorded = filecache.read_registry()[REL]
    assert recorded["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert "recorded" in caplog.text and REL in caplog.text
    # the source changes behind our back: the recorded hash now protects the user
    served.put(REL, DATA[::-1])
    filecache.clear_cache()
    with pytest.raises(IntegrityError) as err:
        fetch_file(_spec(served.url, pinned=False))
    assert recorded["sha256"] in str(err.value) and hashlib.sha256(DATA[::-1]).hexdigest() in str(err.value)
    out = filecache.pin_registry(tmp_path / "registry.json")
    assert json.loads(out.read_text())["files"][REL] == {"sha256": recorded["sha256"], "size": len(DATA)}


def test_corrupted_download_is_not_cached(zoo_home, served):
    served.put(REL, DATA[:-1] + b"\x00")
    with pytest.raises(IntegrityError) as err:
        fetch_file(_spec(served.url))
    message = str(err.value)
    assert REL in message and hashlib.sha256(DATA).hexdigest() in message
    assert hashlib.sha256(DATA[:-1] + b"\x00").hexdigest() in message
    assert _leftovers(zoo_home) == []


def test_server_down_names_every_missing_file(zoo_home, dead_url):
    specs = [_spec(dead_url), FileSpec("models/K562/other.h5", f"{dead_url}/models/K562/other.h5")]
    with pytest.raises(NotAvailableError) as err:
        filecache.fetch_files(specs)
    assert REL in str(err.value) and "models/K562/other.h5" in str(err.value)


def test_offline_never_touches_the_network(zoo_home, served, monkeypatch):
    served.put(REL, DATA)
    monkeypatch.setenv(settings.OFFLINE_ENV, "1")
    with pytest.raises(NotAvailableError, match="GRAPHREG_ZOO_OFFLINE=1"):
        filecache.fetch_files([_spec(served.url)])
    assert served.requests == []


def test_mirror_url_export_import(zoo_home, served, monkeypatch, tmp_path):
    served.put(REL, DATA)
    monkeypatch.setenv(settings.MIRROR_ENV, served.url)
    fetch_file(_spec("https://example.invalid"))  # the mirror replaces the canonical URL
    assert filecache.export_cache(tmp_path / "mirror") == 1
    # a fresh, offline machine: the exported folder works as a mirror and as an import source
    monkeypatch.setenv(settings.HOME_ENV, str(tmp_path / "home2"))
    monkeypatch.setenv(settings.OFFLINE_ENV, "1")
    monkeypatch.setenv(settings.MIRROR_ENV, str(tmp_path / "mirror"))
    assert fetch_file(_spec("https://example.invalid")).read_bytes() == DATA
    monkeypatch.setenv(settings.HOME_ENV, str(tmp_path / "home3"))
    assert filecache.import_cache(tmp_path / "mirror", {REL: _spec("x")}) == 1
    assert filecache.verify_cache({REL: _spec("x")}) == {REL: "ok"}
    assert len(served.requests) == 1


def test_two_processes_one_download(zoo_home, served):
    served.put(REL, DATA)
    served.delay_s = 1.0
    code = (f"from graphreg_zoo.filecache import FileSpec, fetch_file; "
            f"fetch_file(FileSpec({REL!r}, {served.url + '/' + REL!r}, {hashlib.sha256(DATA).hexdigest()!r}))")
    env = {**os.environ, "GRAPHREG_ZOO_HOME": str(zoo_home)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE) for _ in range(2)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert len(served.requests) == 1
    assert (zoo_home / "files" / REL).read_bytes() == DATA


@pytest.mark.parametrize("refs", [True, False], ids=["with-refs", "without-refs"])
def test_hf_pinned_snapshot_offline(hf_cache, refs):
    commit = "0123456789abcdef0123456789abcdef01234567"
    hf_cache("org/repo", commit, {"config.json": b"{}"}, refs=refs)
    snapshot = filecache.fetch_hf(f"hf://org/repo@{commit}")
    assert (snapshot / "config.json").read_bytes() == b"{}"
    with pytest.raises(NotAvailableError):
        filecache.fetch_hf("hf://org/repo@" + "f" * 40)


@pytest.mark.parametrize("handle", ["hf://org/repo", "hf://org/repo@main", "hf://org/repo@v1.0", "hf://nope"])
def test_hf_unpinned_revision_is_refused(handle):
    with pytest.raises(InvalidInputError, match="40-hex"):
        filecache.fetch_hf(handle)


def test_a_url_in_a_cell_spec_goes_through_the_same_verified_cache(served, zoo_home, tmp_path, monkeypatch):
    """prepare's URL inputs use the zoo's fetcher: cached once, sha256 recorded, a changed file refused."""
    from graphreg_zoo.errors import IntegrityError
    from graphreg_zoo.prep.cell import _local

    served.put("inputs/dnase.bw", DATA)
    url = f"{served.url}/inputs/dnase.bw"
    first = _local(url, tmp_path, "tracks.dnase")
    assert first.read_bytes() == DATA and first.is_relative_to(zoo_home)
    assert _local(url, tmp_path, "tracks.dnase") == first  # from the cache
    recorded = [e for e in filecache.read_registry().values() if e["source"] == url]
    assert recorded and recorded[0]["sha256"] == hashlib.sha256(DATA).hexdigest()
    first.unlink()
    served.put("inputs/dnase.bw", DATA[::-1])  # the server now serves another file under the same URL
    with pytest.raises(IntegrityError, match="expected"):
        _local(url, tmp_path, "tracks.dnase")
    assert not first.exists()
    monkeypatch.setenv(settings.OFFLINE_ENV, "1")
    with pytest.raises(NotAvailableError, match="tracks.dnase.*GRAPHREG_ZOO_OFFLINE=1"):
        _local(url, tmp_path, "tracks.dnase")
