"""`graphreg-zoo reproduce`: the real Snakemake workflow on the synthetic genome, and dry runs of the zoo."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import HEAVY

pytest.importorskip("snakemake")

EPI, CNN = "epi_K562_hichip_fdr01", "epicnn_K562"


def _outputs(results: Path) -> dict[str, int]:
    """mtime (ns) of every file the workflow wrote (not Snakemake's own bookkeeping or the job logs)."""
    return {str(p.relative_to(results)): p.stat().st_mtime_ns for p in results.rglob("*")
            if p.is_file() and not {".snakemake", "logs"} & set(p.relative_to(results).parts)}


def _changed(before: dict[str, int], after: dict[str, int], prefix: str) -> set[str]:
    return {k for k in after if k.startswith(prefix) and before.get(k) != after[k]}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The tiny synthetic genome (3 chromosomes: folds 1 and 2 have train, validation and test), copies of
    two packaged recipes, and 'published' Epi-GraphReg folds trained with another seed."""
    from graphreg_zoo.prep.cell import prepare
    from graphreg_zoo.simulation.files import simulate
    from graphreg_zoo.training.engine import train
    from graphreg_zoo.training.recipes import recipe_path

    root = tmp_path_factory.mktemp("reproduce")
    sim = simulate(root / "sim", preset="tiny", n_chroms=3, seed=1)
    recipes = {}
    for name in (EPI, CNN):
        recipes[name] = shutil.copy(recipe_path(name), root / f"{name}.yaml")
    cell = prepare(sim.files["cell_yaml"], root / "published_cell.h5", progress=False)
    for fold in (1, 2):
        train(EPI, cell, fold=fold, out_dir=root / "published" / EPI / f"fold{fold}", progress=False, epochs=1, seed=1)
    return root, sim.files["cell_yaml"], recipes


@pytest.mark.slow
@HEAVY
def test_two_families_two_folds_end_to_end_then_nothing_then_only_the_touched_recipe(synthetic, cli):
    root, spec, recipes = synthetic
    results = root / "results"
    args = ["reproduce", recipes[EPI], recipes[CNN], "--cell", spec, "--folds", "1-2", "--cores", "2",
            "--epochs", "1", "--published", root / "published", "-o", results]
    code, _, err = cli(*args)
    assert code == 0, err[-3000:]

    report = (results / "report" / EPI / "report.md").read_text()
    assert "two-sided paired Wilcoxon" in report and f"vs {CNN} on the same genes" in report
    assert (results / "report" / EPI / "folds.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = pd.read_csv(results / "report" / EPI / "metrics.csv")
    a = metrics[(metrics["set"] == "A") & (metrics["fold"] != "all")]
    assert set(zip(a["model"], a["fold"].astype(int))) == {(m, f) for m in ("reproduced", "published", CNN)
                                                           for f in (1, 2)}
    assert a["pearson"].notna().all() and (a["n_genes"] > 0).all()
    # each fold's rows are its own test chromosomes only (fold 1 tests chr2, fold 2 tests chr3)
    for fold, chrom in ((1, "chr2"), (2, "chr3")):
        table = pd.read_csv(results / "predict" / EPI / f"fold{fold}" / "predictions.csv")
        assert set(table["chrom"]) == {chrom}
    cnn_report = (results / "report" / CNN / "report.md").read_text()
    assert "published folds not compared" in cnn_report and "no preset" in cnn_report

    from graphreg_zoo import __version__
    from graphreg_zoo.workflow.plan import recipe_hash

    manifest = pd.read_csv(results / "manifest.tsv", sep="\t")
    assert sorted(zip(manifest["family"], manifest["fold"])) == sorted([(CNN, 1), (CNN, 2), (EPI, 1), (EPI, 2)])
    for name in (EPI, CNN):
        trained = yaml.safe_load((results / "recipes" / f"{name}.yaml").read_text())
        assert trained["training"]["epochs"] == 1
        assert set(manifest.loc[manifest["family"] == name, "recipe_hash"]) == {recipe_hash(trained)}
    assert manifest["data_hash"].nunique() == 1 and manifest["data_hash"].str.len().eq(16).all()
    assert set(manifest["graphreg_zoo_version"]) == {__version__}
    assert set(manifest["backend"]) == {__import__("keras").backend.backend()}

    first = _outputs(results)
    code, _, err = cli(*args)
    assert code == 0, err[-3000:]
    assert _outputs(results) == first  # a second invocation does nothing

    text = Path(recipes[CNN]).read_text()
    Path(recipes[CNN]).write_text(text.replace("learning_rate: 0.0002", "learning_rate: 0.0003"))
    code, _, err = cli(*args)
    assert code == 0, err[-3000:]
    after = _outputs(results)
    assert _changed(first, after, "train/") == {f"train/{CNN}/fold{f}/{name}" for f in (1, 2)
                                                for name in ("card.json", "config.json", "model.weights.h5")}
    assert _changed(first, after, f"predict/{EPI}") == set()
    assert _changed(first, after, "published/") == set()


def _dry_run(cli, tmp_path, *extra):
    code, out, err = cli("reproduce", "--all", "--dry-run", "-o", tmp_path / "results", *extra)
    assert code == 0, err[-3000:]
    return out + err


def test_the_whole_zoo_dry_runs_with_every_family_and_ten_folds(cli, tmp_path):
    from graphreg_zoo.cli.reproduce import _all_families

    families = _all_families()
    assert len(families) == 79 and "demo_synthetic" not in families
    text = _dry_run(cli, tmp_path)
    stats = dict(line.split() for line in text.split("Job stats:")[-1].splitlines()[3:11] if len(line.split()) == 2)
    assert int(stats["train"]) == 10 * len(families)
    bases = [f for f in families if f.startswith("seqbase_")]
    for rule in ("predict", "evaluate"):
        assert int(stats[rule]) == 10 * (len(families) - len(bases))  # a Seq-CNN base is trained, not predicted
    assert int(stats["report"]) == len(families) - len(bases)
    for name in families:
        assert f"train/{name}/fold10/card.json" in text


def test_the_slurm_dry_run_shows_each_rules_resources(cli, tmp_path):
    text = _dry_run(cli, tmp_path, "--executor", "slurm")
    blocks = {}
    for block in text.split("\nrule ")[1:]:
        rule = block.split(":", 1)[0]
        resources = next(line for line in block.splitlines() if line.strip().startswith("resources:"))
        blocks.setdefault(rule, resources)
    assert "gpu=1" in blocks["train"] and "runtime=1440" in blocks["train"]
    for rule in ("reference_cell", "predict", "evaluate", "report"):
        assert "gpu" not in blocks[rule] and "cpus_per_task=4" in blocks[rule]


def test_a_fold_whose_chromosomes_the_cell_lacks_is_refused_before_anything_runs(cli, tmp_path):
    code, _, err = cli("reproduce", EPI, "--cell", "synthetic:tiny", "--folds", "1", "--dry-run",
                       "-o", tmp_path / "results")
    assert code == 4
    assert "fold 1" in err and "lacks the fold's training, validation or test chromosomes" in err


def test_fold_ranges_and_the_epi_cnn_pairing():
    from graphreg_zoo.errors import InvalidInputError
    from graphreg_zoo.workflow.plan import Plan, parse_folds

    assert parse_folds("1-3,7") == [1, 2, 3, 7]
    with pytest.raises(InvalidInputError):
        parse_folds("0-11")
    plan = Plan.from_config({"families": ["epi_K562_old", "epicnn_K562_old", "epi_gen_K562_hic_fdr1",
                                          "epicnn_gen_K562", "epicnn_K562", "seq_K562_hichip_fdr1"],
                             "folds": "1", "cell": "synthetic"})
    assert plan.compared_cnn("epi_K562_old") == "epicnn_K562_old"
    assert plan.compared_cnn("epi_gen_K562_hic_fdr1") == "epicnn_gen_K562"
    assert plan.compared_cnn("seq_K562_hichip_fdr1") is None
    assert not plan.families["seqbase_K562"].reported  # the base of a separate Seq model: trained, not reported
    assert plan.base_option("seq_K562_hichip_fdr1", 1) == "--base train/seqbase_K562/fold1"
