"""End to end over loopback HTTP: download, verify, convert, cache, predict; hub and local handles."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from graphreg_zoo import filecache, settings
from graphreg_zoo.errors import InvalidInputError, NotAvailableError
from graphreg_zoo.zoo import cards
from graphreg_zoo.zoo.ensemble import FoldEnsemble
from graphreg_zoo.zoo.load import load

pytestmark = pytest.mark.slow  # several TensorFlow processes

PREDICT = """
import sys, numpy as np
from graphreg_zoo import load
io = np.load(sys.argv[2])
model = load(sys.argv[1])
out = np.asarray(model({"epigenome": io["X_epi"], "adjacency": io["adj"]}, training=False)["cage"])
np.testing.assert_allclose(out, io["out_cage"], rtol=5e-4, atol=1e-4)
"""


def _predicts_reference(model, io) -> None:
    out = model({"epigenome": io["X_epi"], "adjacency": io["adj"]}, training=False)
    np.testing.assert_allclose(np.asarray(out["cage"]), io["out_cage"], rtol=5e-4, atol=1e-4)


def test_member_downloads_converts_caches_and_predicts(fixture_card, served, zoo_home, monkeypatch,
                                                       upstream_fixtures):
    served.put(fixture_card.path, fixture_card.checkpoint.read_bytes())
    served.delay_s = 1.0  # keep the first download in flight while the second process starts
    monkeypatch.setenv(settings.MIRROR_ENV, served.url)
    io_path = upstream_fixtures / "epi_graphreg_io.npz"
    # two processes load the same member at once from an empty cache: one download, both predict
    args = [sys.executable, "-c", PREDICT, f"{fixture_card.name}@fold1", str(io_path)]
    procs = [subprocess.Popen(args, env=dict(os.environ), stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert len(served.requests) == 1
    assert filecache.cached_path(fixture_card.path).is_file() and filecache.preset_path(fixture_card.path).is_dir()
    # this (third) process finds the verified file and the converted preset in the cache: no request
    _predicts_reference(load(f"{fixture_card.name}@fold1"), np.load(io_path))
    assert len(served.requests) == 1


def test_family_names_every_missing_member(fixture_card, served, zoo_home, monkeypatch):
    served.put(fixture_card.path, fixture_card.checkpoint.read_bytes())
    monkeypatch.setenv(settings.MIRROR_ENV, served.url)
    with pytest.raises(NotAvailableError) as err:
        load("test_epi_K562_hichip")  # the alias of the fixture family; only fold 1 is served
    missing = str(err.value)
    card = cards.all_cards()[fixture_card.name]
    assert [m["fold"] for m in card["folds"]["members"] if m["path"] in missing] == list(range(2, 11))
    assert "9 file(s)" in missing and fixture_card.path not in missing


def test_unknown_name_lists_close_matches():
    with pytest.raises(InvalidInputError, match="Did you mean: epi_K562_hichip"):
        load("epi_K562_hichp")


def test_upstream_file_preset_dir_and_hub(upstream_fixtures, tmp_path, hf_cache, cli):
    io = np.load(upstream_fixtures / "epi_graphreg_io.npz")
    _predicts_reference(load(str(upstream_fixtures / "epi_graphreg.h5")), io)
    code, out, err = cli("convert", upstream_fixtures / "epi_graphreg.h5", tmp_path / "preset")
    assert code == 0, err
    _predicts_reference(load(str(tmp_path / "preset")), io)
    commit = "89abcdef0123456789abcdef0123456789abcdef"
    hf_cache("graphreg/epi-fixture", commit,
             {p.name: p.read_bytes() for p in (tmp_path / "preset").iterdir()}, refs=False)
    _predicts_reference(load(f"hf://graphreg/epi-fixture@{commit}"), io)
    with pytest.raises(InvalidInputError, match="pin a revision"):
        load("hf://graphreg/epi-fixture@main")


def test_directory_of_fold_files_converts_to_an_ensemble(upstream_fixtures, tmp_path, cli):
    folds = tmp_path / "folds"
    folds.mkdir()
    for name in ("X_valid_chr_1,11_test_chr_2,12.h5", "X_valid_chr_2,12_test_chr_3,13.h5"):
        shutil.copyfile(upstream_fixtures / "epi_graphreg.h5", folds / name)
    code, _, err = cli("convert", folds, tmp_path / "ensemble")
    assert code == 0, err
    ensemble = load(str(tmp_path / "ensemble"))
    assert isinstance(ensemble, FoldEnsemble) and sorted(ensemble.models) == [1, 2]
    assert ensemble.fold_for("chr3") == 2
    io = np.load(upstream_fixtures / "epi_graphreg_io.npz")
    out = ensemble.predict_window({"epigenome": io["X_epi"], "adjacency": io["adj"]}, "chr12")
    np.testing.assert_allclose(out["cage"], io["out_cage"], rtol=5e-4, atol=1e-4)
