"""End to end from reads: `graphreg-zoo predict --cell MINI`, a reference cell whose card points at real read-level
files (the RNA-seq BAM for the tracks and CAGE, a 4DN .pairs file for the graph) served over loopback HTTP.

Download, sha256 pin, prepare (BAM counted like bamCoverage RPGC, pairs binned and thresholded), cache,
predict; a second run downloads nothing; offline with an empty cache exits 3 naming what is missing.
"""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from graphreg_zoo import reference_cells as cells
from graphreg_zoo.filecache import read_registry
from graphreg_zoo.prep.cell import CellData
from graphreg_zoo.prep.reads import ReadsOptions, ReadsTrack
from graphreg_zoo.zoo import cards

from .zoo.conftest import fixture_card, served  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.slow
CELL = "MINI"
BAM = "reads/bam_chr9_4000000_6000000.bam"
PAIRS = "reads/pairs_chr9_4000000_6000000.pairs"
TSS = "chr9\t4490000\t4490500\tGENEA\t0\t+\nchr9\t4740000\t4740500\tGENEB\t0\t-\nchr9\t5500000\t5500500\tGENEC\t0\t+\n"


def _entry(rel: str, fmt: str, **options) -> dict:
    return {"accession": f"TEST:{rel}", "url": f"https://example.invalid/{rel}", "format": fmt,
            "path": f"cells/hg38/MINI/{rel}", "sha256": None, "size": None, "status": "verified",
            "evidence": "real read-level test files", **options}


def _on_hg38(card_dir, family: str) -> None:
    """The fixture model family, declared hg38 (card and contract) so that it may read the hg38 MINI cell."""
    path = card_dir / f"{family}.md"
    card = cards.parse_card(path)
    prose = card.pop("description")
    card.pop("card_path")
    card["genome"] = card["input_contract"]["genome"]["value"] = "hg38"
    path.write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n" + prose + "\n")


@pytest.fixture
def mini(tmp_path, monkeypatch, served, fixture_card, realdata):  # noqa: F811
    """The MINI card in a GRAPHREG_ZOO_CARDS directory and its files on the loopback mirror; its DNase is
    flagged 3P and the size of its BAM is on the card (the other sizes are not)."""
    served.put(fixture_card.path, fixture_card.checkpoint.read_bytes())
    for rel, data in (("rna.bam", (realdata / BAM).read_bytes()), ("chr9.pairs", (realdata / PAIRS).read_bytes()),
                      ("tss.bed", TSS.encode())):
        served.put(f"cells/hg38/MINI/{rel}", data)
    track = {"stat": "max", "normalisation": "log2", "reads": {"normalize": "RPGC"}}
    size = (realdata / BAM).stat().st_size
    inputs = {role: _entry("rna.bam", "bam", size=size, **track) for role in ("h3k4me3", "h3k27ac", "dnase")}
    inputs["dnase"].update(status="3P", evidence="a third party lists it")
    inputs.update(cage=_entry("rna.bam", "bam", reads={"normalize": "RPGC"}), genes=_entry("tss.bed", "bed"))
    card = {"name": CELL, "genome": "hg38", "organism": "human", "default_assay": "PET",
            "chromosomes": ["chr9"], "inputs": inputs,
            "contacts": {"PET": _entry("chr9.pairs", "pairs", graph={"min_count": 1})}}
    (tmp_path / "cards" / "cells").mkdir(parents=True)
    (tmp_path / "cards" / "cells" / f"{CELL}.md").write_text(
        "---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n# MINI\n\nReal reads, one 2 Mb region.\n")
    _on_hg38(tmp_path / "cards", fixture_card.name)
    monkeypatch.setenv("GRAPHREG_ZOO_MIRROR", served.url + "/")
    return fixture_card


def test_predict_from_reads_cell(cli, tmp_path, served, mini, realdata):
    out = tmp_path / "out"
    code, _, stderr = cli("predict", "--model", f"{mini.name}@fold1", "--cell", CELL, "-o", out, "--quiet", "--yes")
    assert code == 0, stderr
    cell = CellData(cells.reference_cell(CELL))
    rpgc = ReadsTrack(realdata / BAM, ReadsOptions(normalize="RPGC"), 5000, genome="hg38").values("chr9", 138_394_717)
    assert cell.cage("chr9") == pytest.approx(rpgc * 5000, rel=1e-6)  # the CAGE target, counted from the BAM
    assert cell.graph("chr9").nnz > 0
    table = pd.read_csv(out / "predictions.csv")
    assert len(table) == 3 and table["prediction"].notna().all()
    assert read_registry()["cells/hg38/MINI/rna.bam"]["sha256"]  # pinned on first use

    n_requests = len(served.requests)
    code, _, stderr = cli("predict", "--model", f"{mini.name}@fold1", "--cell", CELL, "-o", tmp_path / "again",
                          "--quiet")  # built: no --yes needed
    assert code == 0, stderr
    assert len(served.requests) == n_requests  # everything came from the cache


def test_offline_empty_cache_names_the_reads_files(cli, tmp_path, monkeypatch, mini):
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    code, _, stderr = cli("predict", "--model", f"{mini.name}@fold1", "--cell", CELL, "-o", tmp_path / "o")
    assert code == 3 and "rna.bam" in stderr and "chr9.pairs" in stderr
