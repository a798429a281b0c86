"""`graphreg-zoo demo`: the whole pipeline offline on the embedded default, with its planted truth."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_offline_and_recovers_the_planted_truth(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    monkeypatch.setenv("GRAPHREG_ZOO_HOME", str(tmp_path / "empty_cache"))
    code, out, err = cli("demo", "-o", tmp_path / "demo", "--quiet")
    assert code == 0, err
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert summary["n_genes"] > 150
    assert summary["pearson_all"] > 0.85  # held-out genome; the oracle reaches ~0.99
    assert summary["top_is_planted"]
    assert summary["knockout_target_log2fc"] < summary["knockout_other_log2fc"] < 0.1
    assert summary["knockout_precision_top20"] >= 0.8
    for name in ("attribution.png", "knockout.png", "predictions.csv", "knockout.csv", "attribution.csv"):
        assert (tmp_path / "demo" / name).stat().st_size > 1000, name
    assert "Pearson R" in out and "recovered" in out
    table = pd.read_csv(tmp_path / "demo" / "predictions.csv")
    # rows name the model (not its family), its fold, and their role: the demo genome is new to the model
    assert table[["model", "fold", "role"]].drop_duplicates().values.tolist() == [["demo_synthetic", "none", "unseen"]]
    report = (tmp_path / "demo" / "evaluation" / "report.md").read_text()
    assert "Epi-GraphReg" not in report and f"{len(table)} TSS bins scored (roles: test, unseen)" in report


def test_api_takes_zoo_names_and_cell_paths(synth_cell):
    """Every entry point accepts a zoo name and a CellData path, as predict does."""
    import graphreg_zoo as gz

    table = gz.predict("demo", str(synth_cell.path), progress=False)
    gene = table.loc[table["prediction"].idxmax(), "genes"].split("+")[0]
    attribution = gz.attribute("demo", str(synth_cell.path), gene, method="grad_x_input")
    assert attribution.attrs["gene"] == gene and attribution["total"].abs().sum() > 0


@pytest.mark.parametrize("name", ["demo", "demo_cnn"])
def test_demo_presets_carry_the_contract_of_their_training_cell(name, tmp_path):
    """The packaged contract is what `train` would have recorded on the genome the card names."""
    from graphreg_zoo.contract import FIELDS, of_model, recorded_contract
    from graphreg_zoo.simulation.demo import training_cell
    from graphreg_zoo.zoo.load import PACKAGED, load

    cell = training_cell(PACKAGED[name], tmp_path)  # refuses a genome whose files differ from the card's
    packaged, remade = of_model(load(name)), recorded_contract(cell)
    for field in FIELDS:
        assert packaged[field]["confidence"] == "recorded", field
        assert packaged[field]["value"] == pytest.approx(remade[field]["value"]), field


def _scaled_cage_cell(cell, factor: float, out):
    """`cell` prepared again from its simulated files with the CAGE bigWig multiplied by `factor`."""
    import pyBigWig
    import yaml

    from graphreg_zoo.prep.cell import CellData, prepare

    sim = cell.path.parent / "sim"
    spec = yaml.safe_load((sim / "cell.yaml").read_text())
    with pyBigWig.open(str(sim / spec["cage"]["path"])) as source:
        out.mkdir()
        target = pyBigWig.open(str(out / "cage.bw"), "w")
        target.addHeader(list(source.chroms().items()))
        for chrom in source.chroms():
            rows = source.intervals(chrom)
            target.addEntries([chrom] * len(rows), [r[0] for r in rows], ends=[r[1] for r in rows],
                              values=[factor * r[2] for r in rows])
        target.close()
    spec["cage"]["path"] = str(out / "cage.bw")
    (sim / "scaled.yaml").write_text(yaml.safe_dump(spec))
    return CellData(prepare(sim / "scaled.yaml", out / "cell.h5", progress=False))


def test_demo_checks_every_contract_field_and_flags_a_cell_on_another_scale(synth_cell, cli, tmp_path):
    from graphreg_zoo.prediction import contract_report
    from graphreg_zoo.zoo.load import load

    code, _, err = cli("predict", "--model", "demo", "--cell", synth_cell.path, "-o", tmp_path / "out", "--quiet")
    assert code == 0, err
    assert "not checked" not in err and "warning" not in err, err
    scaled = _scaled_cage_cell(synth_cell, 100.0, tmp_path / "scaled")
    for name in ("demo", "demo_cnn"):
        report = contract_report(load(name), scaled)
        assert report.unchecked == []
        (message,) = report.mismatches
        ratio = float(re.search(r"training cell \(([\d.]+)x\)", message).group(1))
        assert message.startswith("CAGE scale") and 50 < ratio < 200, message  # the tiny genome is not seed 0
