"""`graphreg-zoo cells build / export / import` and the confirmation before a first build, on the MINI
reference cell (real reads, pairs and a TSS BED served on loopback HTTP; its DNase flagged 3P)."""
from __future__ import annotations

import io
import json
import sys

import h5py
import pytest

from graphreg_zoo import reference_cells as cells
from graphreg_zoo.prep.cell import CellData

from .test_predict_reads_cell_e2e import CELL, mini  # noqa: F401  (pytest fixture)
from .zoo.conftest import fixture_card, served  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.slow
FILES = ("rna.bam", "tss.bed", "chr9.pairs")


def _cached(zoo_home) -> list[str]:
    return sorted(p.name for p in (zoo_home / "files").rglob("*") if p.is_file()) if zoo_home.exists() else []


def test_build_shows_progress_and_flags_and_a_second_build_downloads_nothing(cli, served, mini, zoo_home):
    code, stdout, stderr = cli("cells", "build", CELL, "--yes")
    assert code == 0, stderr
    assert "flagged 3P: dnase" in stderr and "a third party lists it" in stderr  # the card's flag, printed
    assert "3 file(s) to download" in stderr
    assert all(name in stderr for name in FILES)  # one download bar per file
    built = cells.reference_cell(CELL, progress=False)
    assert stdout.strip() == f"built {built}"
    record = CellData(built).attrs["reference_cell"]
    assert record["flagged"]["dnase"]["status"] == "3P" and "h3k4me3" not in record["flagged"]
    assert record["assay"] == "PET" and built.stem == record["key"]

    n_requests = len(served.requests)
    code, stdout, stderr = cli("cells", "build", CELL)  # built: no --yes needed, nothing fetched
    assert code == 0 and stdout.strip() == f"built {built}"
    assert len(served.requests) == n_requests


def test_chromosome_subset_is_its_own_build(mini, zoo_home):
    whole = cells.plan(CELL)
    assert cells.plan(CELL, chromosomes=["chr9", "chr8"]).key != whole.key
    assert cells.plan(CELL).key == whole.key  # the key is the card's, not the machine's


def test_without_yes_and_without_a_terminal_nothing_is_downloaded(cli, tmp_path, served, mini, zoo_home, realdata):
    from rich.filesize import decimal

    from .test_predict_reads_cell_e2e import BAM

    code, _, stderr = cli("cells", "build", CELL)
    assert code == 3
    size = decimal((realdata / BAM).stat().st_size)
    assert f"3 file(s) to download ({size} + 2 file(s) of unknown size)" in stderr
    assert f"graphreg-zoo cells build {CELL} --yes" in stderr
    code, _, stderr = cli("predict", "--model", f"{mini.name}@fold1", "--cell", CELL, "-o", tmp_path / "o")
    assert code == 3 and "add --yes to this command" in stderr and "flagged 3P: dnase" in stderr
    assert not served.requests and _cached(zoo_home) == [] and not (tmp_path / "o").exists()


def test_a_no_at_the_terminal_downloads_nothing(cli, monkeypatch, served, mini, zoo_home):
    answer = io.StringIO("n\n")
    answer.isatty = lambda: True
    monkeypatch.setattr(sys, "stdin", answer)
    code, _, stderr = cli("cells", "build", CELL)
    assert code == 1 and "Download and build it now?" in stderr
    assert not served.requests and _cached(zoo_home) == []


def test_offline_with_an_empty_cache_names_what_is_missing(cli, monkeypatch, mini, zoo_home):
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    code, _, stderr = cli("cells", "build", CELL)  # offline: nothing to ask, the fetch refuses
    assert code == 3 and all(name in stderr for name in FILES)


def test_export_then_import_on_an_offline_machine(cli, tmp_path, monkeypatch, served, mini, zoo_home):
    code, _, stderr = cli("cells", "export", CELL, tmp_path / "drive")
    assert code == 3 and f"cells build {CELL}" in stderr  # nothing built yet

    assert cli("cells", "build", CELL, "--yes", "--quiet")[0] == 0
    built = cells.reference_cell(CELL, progress=False)
    code, stdout, _ = cli("cells", "export", CELL, tmp_path / "drive")
    assert code == 0 and str(tmp_path / "drive" / "cells" / CELL / built.name) in stdout
    manifest = json.loads((tmp_path / "drive" / cells.MANIFEST).read_text())
    assert list(manifest["cells"]) == [f"cells/{CELL}/{built.name}"]

    hpc = tmp_path / "hpc_home"  # another machine: empty cache, no network
    monkeypatch.setenv("GRAPHREG_ZOO_HOME", str(hpc))
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    code, stdout, stderr = cli("cells", "import", tmp_path / "drive")
    assert code == 0, stderr
    assert (hpc / "cells" / CELL / built.name).read_bytes() == built.read_bytes()
    assert cells.reference_cell(CELL, progress=False) == hpc / "cells" / CELL / built.name  # found by its key
    assert not (hpc / "files").exists()  # the inputs never came


def test_import_refuses_a_corrupted_export_and_writes_nothing(cli, tmp_path, monkeypatch, mini, zoo_home):
    assert cli("cells", "build", CELL, "--yes", "--quiet")[0] == 0
    assert cli("cells", "export", CELL, tmp_path / "drive")[0] == 0
    exported = next((tmp_path / "drive" / "cells" / CELL).glob("*.h5"))
    with h5py.File(exported, "r+") as h5:
        h5.attrs["cell"] = "tampered"
    monkeypatch.setenv("GRAPHREG_ZOO_HOME", str(tmp_path / "hpc_home"))
    code, _, stderr = cli("cells", "import", tmp_path / "drive")
    assert code == 5 and "sha256" in stderr
    assert not list((tmp_path / "hpc_home").rglob("*.h5"))
    (tmp_path / "drive" / cells.MANIFEST).unlink()
    code, _, stderr = cli("cells", "import", tmp_path / "drive")
    assert code == 4 and "cells export" in stderr


def test_a_cell_with_a_fasta_carries_it_and_points_at_its_new_place(cli, tmp_path, monkeypatch, mini, zoo_home):
    from graphreg_zoo._atomic import sha256_file
    from graphreg_zoo.filecache import cached_path

    assert cli("cells", "build", CELL, "--yes", "--quiet")[0] == 0
    built = cells.reference_cell(CELL, progress=False)
    fasta = cached_path("cells/hg38/mini.fa")  # as a --fasta build records it: a file of the cache
    fasta.write_text(">chr9\nACGT\n")
    with h5py.File(built, "r+") as h5:
        h5.attrs.update(fasta=str(fasta), fasta_sha256=sha256_file(fasta))
    assert cli("cells", "export", CELL, tmp_path / "drive")[0] == 0
    assert (tmp_path / "drive" / "files" / "cells/hg38/mini.fa").read_text() == ">chr9\nACGT\n"

    hpc = tmp_path / "hpc_home"
    monkeypatch.setenv("GRAPHREG_ZOO_HOME", str(hpc))
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    assert cli("cells", "import", tmp_path / "drive")[0] == 0
    imported = CellData(hpc / "cells" / CELL / built.name)
    assert imported.fasta == hpc / "files" / "cells/hg38/mini.fa" and imported.fasta.read_text() == ">chr9\nACGT\n"
