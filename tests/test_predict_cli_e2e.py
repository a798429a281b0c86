"""End to end: `graphreg-zoo predict --model <zoo member> --cell <reference cell> --bigwig` over real HTTP.

A synthetic genome (graphreg_zoo.simulation.genome) is served as a reference cell by a threaded
http.server on 127.0.0.1 (the mirror), next to the upstream Epi-GraphReg fixture checkpoint
served as fold 1 of a test zoo family; the CLI fetches, verifies, prepares and predicts.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from graphreg_zoo import reference_cells as cells
from graphreg_zoo.prep.cell import CellData

from .zoo.conftest import fixture_card, served  # noqa: F401  (pytest fixtures)

pytestmark = pytest.mark.slow
CELL = "synth_ref"


def _entry(rel: str, fmt: str, **options) -> dict:
    return {"accession": f"SIM:{rel}", "url": f"https://example.invalid/{rel}", "format": fmt,
            "path": f"cells/synth1/{rel}", "sha256": None, "size": None, "status": "verified",
            "evidence": "simulated", **options}


def _publish(sim, served, card_dir) -> None:
    """Put the simulated inputs on the mirror and write a reference-cell card for them."""
    spec = yaml.safe_load(sim.files["cell_yaml"].read_text())
    graph_files = sorted(sim.files["hicdcplus"].iterdir())
    rels = [t["path"] for t in spec["tracks"].values()] + [spec["cage"]["path"], spec["genes"]["path"],
                                                            spec["chrom_sizes"]]
    for rel in rels + [p.relative_to(sim.out_dir).as_posix() for p in graph_files]:
        served.put(f"cells/synth1/{rel}", (sim.out_dir / rel).read_bytes())
    inputs = {role: _entry(t["path"], "bigwig", stat=t["stat"], normalisation="log2")
              for role, t in spec["tracks"].items()}
    inputs.update(cage=_entry(spec["cage"]["path"], "bigwig"), genes=_entry(spec["genes"]["path"], "gtf"),
                  chrom_sizes=_entry(spec["chrom_sizes"], "chrom.sizes"))
    graph = _entry(spec["graph"]["path"], "hicdcplus", graph={"fdr": spec["graph"]["fdr"]})
    card = {"name": CELL, "genome": spec["genome"], "organism": "synthetic", "default_assay": "HiC",
            "chromosomes": spec["chromosomes"], "inputs": inputs, "contacts": {"HiC": graph}}
    (card_dir / "cells").mkdir()
    text = "---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n# synth_ref\n\nA simulated reference cell.\n"
    (card_dir / "cells" / f"{CELL}.md").write_text(text)


@pytest.fixture
def reference_setup(tmp_path, monkeypatch, served, fixture_card):  # noqa: F811
    from graphreg_zoo.simulation.files import simulate

    sim = simulate(tmp_path / "sim", preset="tiny", seed=3)
    served.put(fixture_card.path, fixture_card.checkpoint.read_bytes())
    _publish(sim, served, tmp_path / "cards")
    monkeypatch.setenv("GRAPHREG_ZOO_MIRROR", served.url + "/")
    shutil.rmtree(sim.out_dir)  # only the mirror can provide the inputs now
    return fixture_card


def test_predict_reference_cell_end_to_end(cli, tmp_path, served, reference_setup):  # noqa: F811
    import pyBigWig

    out = tmp_path / "out"
    code, stdout, stderr = cli("predict", "--model", f"{reference_setup.name}@fold1", "--cell", CELL,
                               "-o", out, "--bigwig", "--quiet", "--yes")
    assert code == 0, stderr
    cell = CellData(cells.reference_cell(CELL))
    table = pd.read_csv(out / "predictions.csv")
    expected = pd.concat([cell.tss(c).assign(chrom=c) for c in cell.chroms], ignore_index=True)
    assert len(table) == len(expected) > 0
    assert table[["chrom", "bin_start"]].values.tolist() == expected[["chrom", "bin_start"]].values.tolist()
    assert (table["bin_start"] % 5000 == 0).all() and table["prediction"].notna().all()
    assert table["cage"].notna().all()

    with pyBigWig.open(str(out / "predictions.bw")) as bw:
        assert bw.chroms() == cell.chrom_sizes
        for row in table.itertuples():
            (start, end, value), = bw.intervals(row.chrom, row.bin_start, row.bin_start + 1)
            assert (start, end) == (row.bin_start, min(row.bin_start + 5000, cell.chrom_sizes[row.chrom]))
            assert value == pytest.approx(row.prediction, rel=1e-5)

    pngs = list((out / "evaluation").glob("*.png"))
    assert pngs and all(p.stat().st_size > 0 for p in pngs)
    assert (out / f"{CELL}-{cells.reference_cell(CELL).stem}.cell.yaml").is_file()  # the spec used, kept for the record

    n_requests = len(served.requests)
    assert cells.reference_cell(CELL) == cells.reference_cell(CELL)  # cached: no new download, no new prepare
    assert len(served.requests) == n_requests


def test_unknown_reference_cell_lists_close_matches(cli, tmp_path, reference_setup):
    code, _, stderr = cli("predict", "--model", f"{reference_setup.name}@fold1", "--cell", "synth_rfe",
                          "-o", tmp_path / "out")
    assert code == 4 and CELL in stderr


def test_offline_without_cache_is_not_available(cli, tmp_path, monkeypatch, reference_setup):
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    code, _, stderr = cli("predict", "--model", f"{reference_setup.name}@fold1", "--cell", CELL, "-o", tmp_path / "o")
    assert code == 3 and "offline" in stderr.lower()
