"""Schema of the shipped training recipes: one per zoo card, loadable, buildable, with the original folds."""
from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import pytest

from graphreg_zoo.training.engine import TrainConfig
from graphreg_zoo.training.recipes import build_model, load_recipe, split_chromosomes
from graphreg_zoo.zoo import cards
from graphreg_zoo.zoo.folds import fold_chromosomes

from .conftest import REPO

# UPSTREAM §3: epochs and early stopping of the original scripts
EPOCHS = {"epi_graphreg": 200}
PATIENCE = {"seq_cnn_e2e": 10}
# parameter counts of the original models (UPSTREAM §1-2), for the classes whose count it states
PARAMS = {"EpiCNN": 235_649, "SeqGraphReg": 233_985, "SeqCNNE2E": 389_508}


@pytest.fixture(scope="module")
def shipped() -> dict:
    return cards._load((cards.BUILTIN_CARDS,))


@pytest.fixture(scope="module")
def recipes(shipped) -> dict:
    return {name: load_recipe(REPO / card["recipe"]) for name, card in shipped.items()}


def test_every_card_has_a_recipe_naming_its_data_and_protocol(shipped, recipes):
    assert len(recipes) == len(shipped) == 79
    for name, card in shipped.items():
        recipe = recipes[name]
        assert recipe["name"] == name and recipe["model"]["class"] == card["model"]["class"]
        assert recipe["model"]["architecture"] == card["model"]["config"]
        data = recipe["data"]
        assert (data["cell"], data["genome"], data["organism"]) == (card["cell"], card["genome"], card["organism"])
        assert (data["assay"], data["fdr"]) == (card["assay"], card["fdr"])
        assert (data["fasta"] is not None) == card["kind"].startswith("seq"), name
        assert data["tracks"]["normalisation"] in ("upstream_minmax", "raw")
        assert recipe["folds"] == list(range(1, 11))
        config = TrainConfig(**recipe["training"])  # exactly the TrainConfig fields
        assert config.epochs == EPOCHS.get(card["kind"], 100)
        assert config.max_early_stopping == PATIENCE.get(card["kind"], 5)
        assert (config.learning_rate, config.decay, config.batch_size) == (2e-4, 1e-6, 1)
        assert config.skip_without_tss and config.upstream_compat and not config.shuffle
        assert recipe["engine"]["faithful"] == (recipe["engine"]["trainable"] and not recipe["engine"]["gaps"])


def test_separate_seq_models_name_an_existing_base(shipped, recipes):
    for name, recipe in recipes.items():
        base = recipe["data"].get("base_model")
        assert (base is not None) == (shipped[name]["kind"] in ("seq_graphreg", "seq_cnn")), name
        if base:
            assert base in shipped and shipped[base]["kind"] == "seq_cnn_base"
            assert shipped[base]["model"]["config"]["fft_prior"] == recipe["model"]["architecture"]["fft_prior"]


def test_recipes_are_up_to_date():
    spec = importlib.util.spec_from_file_location("generate_recipes", REPO / "training" / "_generate_recipes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for rel, text in module.render_all().items():
        assert (REPO / rel).read_text() == text, f"{rel} is stale: run python training/_generate_recipes.py"


def test_build_model_for_each_distinct_config(recipes):
    distinct = {json.dumps(r["model"], sort_keys=True): r for r in recipes.values()}
    built = {}
    for recipe in distinct.values():
        cls = recipe["model"]["class"]
        if cls in built:  # instantiate each class once; other configs are checked by kwargs only
            continue
        model = build_model(recipe)
        assert type(model).__name__ == cls
        for key, value in recipe["model"]["config"].items():
            assert getattr(model, key) == value
        if cls in PARAMS:
            assert model.count_params() == PARAMS[cls], cls
        built[cls] = model
    assert len(built) == 7


def _fake_cell(n_autosomes: int, genome: str) -> SimpleNamespace:
    return SimpleNamespace(chroms=[f"chr{i}" for i in range(1, n_autosomes + 1)] + ["chrX"], genome=genome)


@pytest.mark.parametrize(("name", "organism", "n", "genome"), [("epi_K562_hichip_fdr01", "human", 22, "hg19"),
                                                               ("epi_mESC_hichip_fdr1", "mouse", 19, "mm10")])
def test_fold_splits(recipes, name, organism, n, genome):
    recipe, cell = recipes[name], _fake_cell(n, genome)
    assert recipe["data"]["organism"] == organism
    for fold in recipe["folds"]:
        split = split_chromosomes(recipe, cell, fold)
        held = fold_chromosomes(fold, organism)
        assert split["valid"] == [f"chr{c}" for c in held["valid"]]
        assert split["test"] == [f"chr{c}" for c in held["test"]]
        assert set(split["train"]) == {f"chr{i}" for i in range(1, n + 1)} - {*split["valid"], *split["test"]}
        assert "chrX" not in split["train"]
    # mouse wraps above chr19: fold 10 validates on {10, 1} and tests on {11, 2}
    if organism == "mouse":
        assert split_chromosomes(recipe, cell, 10)["valid"] == ["chr10", "chr1"]
    else:
        assert all("chr22" in split_chromosomes(recipe, cell, f)["train"] for f in recipe["folds"])


def test_a_recipe_without_organism_takes_the_folds_of_the_cells_genome(recipes):
    recipe = {**recipes["epi_mESC_hichip_fdr1"], "data": {"cell": "mESC"}}  # no organism
    mouse = _fake_cell(19, "mm10")
    # mouse fold 10 validates on {10, 20 -> 1} and tests on {11, 21 -> 2}; human's would test on chr11 alone
    assert split_chromosomes(recipe, mouse, 10) == split_chromosomes(recipes["epi_mESC_hichip_fdr1"], mouse, 10)
    assert split_chromosomes(recipe, mouse, 10)["test"] == ["chr11", "chr2"]
    assert split_chromosomes(recipe, _fake_cell(22, "GRCh38"), 10)["test"] == ["chr11", "chr21"]


def test_a_recipe_whose_organism_contradicts_the_cells_genome_is_refused(recipes):
    from graphreg_zoo.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="organism 'human' but the cell's genome is mm10"):
        split_chromosomes(recipes["epi_K562_hichip_fdr01"], _fake_cell(19, "mm10"), 1)
    # a custom build has no known organism: the recipe's decides
    assert split_chromosomes(recipes["epi_mESC_hichip_fdr1"], _fake_cell(19, "synth1"), 10)["test"] == ["chr11", "chr2"]


def test_a_packaged_recipe_trains_as_written(tmp_path):
    """One epoch of fold 1 on a simulated cell, with the recipe's upstream_compat and a resumable out_dir."""
    from graphreg_zoo.prep.cell import prepare
    from graphreg_zoo.simulation.files import simulate
    from graphreg_zoo.training.engine import train

    sim = simulate(tmp_path / "sim", preset="tiny", n_chroms=3)
    cell = prepare(sim.files["cell_yaml"], tmp_path / "sim.h5", progress=False)
    result = train("epi_K562_hichip_fdr01", cell, fold=1, out_dir=tmp_path / "fold1", progress=False, epochs=1)
    assert result.preset.is_dir() and len(result.history["val_loss"]) == 1
    card = json.loads((result.preset / "card.json").read_text())
    assert card["training"]["upstream_compat"] is True and card["chromosomes"]["test"] == ["chr2"]
