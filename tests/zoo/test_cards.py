"""Schema of the shipped zoo cards: names, folds, upstream paths, counts per cell."""
from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter

import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.zoo import cards
from graphreg_zoo.zoo.folds import ORGANISM_OF_GENOME, fold_chromosomes

NAME = re.compile(
    r"^(?P<kind>epi|epicnn|seqbase|seq|seqcnn|seqe2e|seqcnne2e)(?P<gen>_gen)?_(?P<cell>K562|GM12878|hESC|mESC)"
    r"(?:_(?P<assay>hic|hichip|microc|hicar))?(?:_fdr(?P<fdr>1|01|001))?(?:_(?P<flavour>nodil_fft|nodil|fft))?"
    r"(?P<old>_old)?$")
# the original naming: new `…_valid_chr_{a,b}_test_chr_{c,d}.h5`, old `…_valid_chr_{a,b}[_HiCAR].h5`
PATH = re.compile(
    r"^models/(?P<cell>\w+)/(?P<stem>(?:Epi|Seq)-[\w-]+?)_(?P=cell)(?:_(?P<assay>HiC|HiChIP|MicroC|HiCAR)_FDR_"
    r"(?P<fdr>1|01|001))?_valid_chr_(?P<v1>\d+),(?P<v2>\d+)(?:_test_chr_(?P<t1>\d+),(?P<t2>\d+)|_HiCAR)?\.h5$")
FILES_PER_CELL = {"K562": 360, "GM12878": 250, "hESC": 130, "mESC": 100}
PAPER_FDR = {"GM12878": 0.001, "K562": 0.01, "hESC": 0.1, "mESC": 0.1}
RAW = "https://github.com/karbalayghareh/GraphReg/raw/master/"


@pytest.fixture(scope="module")
def shipped() -> dict:
    return cards._load((cards.BUILTIN_CARDS,))


def test_every_card_is_well_formed(shipped):
    for name, card in shipped.items():
        parts = NAME.match(name)
        assert parts, name
        assert card["cell"] == parts["cell"] and card["naming"] == ("old" if parts["old"] else "new")
        assert card["organism"] == ORGANISM_OF_GENOME[card["genome"]]
        assert card["model"]["class"] and card["recipe"] == f"training/recipes/{name}.yaml"
        assert "MIT" in card["license"] and "10.1101/gr.275870.121" in card["citation"]
        assert card["description"].startswith(f"# {name}")
        members = card["folds"]["members"]
        assert [m["fold"] for m in members] == list(range(1, 11)), name
        for m in members:
            chroms = fold_chromosomes(m["fold"], card["organism"])
            assert (tuple(m["valid"]), tuple(m["test"])) == (chroms["valid"], chroms["test"])
            path = PATH.match(m["path"])
            assert path, m["path"]
            assert path["cell"] == card["cell"] and m["source"] == RAW + m["path"]
            assert (int(path["v1"]), int(path["v2"])) == chroms["valid"]
            if card["naming"] == "new":
                assert (int(path["t1"]), int(path["t2"])) == chroms["test"]
            else:
                assert path["t1"] is None
            assert path["assay"] == (card["assay"] if card["naming"] == "new" and card["fdr"] else None)
            assert m["sha256"] is None or re.fullmatch(r"[0-9a-f]{64}", m["sha256"])


def test_no_duplicates_and_counts_per_cell(shipped):
    paths = [m["path"] for card in shipped.values() for m in card["folds"]["members"]]
    assert len(paths) == len(set(paths))
    names = [n for card in shipped.values() for n in [card["name"], *card["aliases"]]]
    assert len(names) == len(set(names))
    coverage = (cards.BUILTIN_CARDS / "COVERAGE.md").read_text()
    in_cards = Counter(p.split("/")[1] for p in paths)
    for cell, total in FILES_PER_CELL.items():
        row = re.search(rf"^\| {cell} \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", coverage, re.M)
        families, files, unidentified, listed_total = map(int, row.groups())
        assert files == in_cards[cell] == 10 * families
        assert files + unidentified == listed_total == total
    assert sum(FILES_PER_CELL.values()) == 840


def test_aliases_point_at_the_paper_default_fdr(shipped):
    for card in shipped.values():
        for alias in card["aliases"]:
            assert alias == re.sub(r"_fdr(1|01|001)", "", card["name"])
            expected = PAPER_FDR[card["cell"]] if card["kind"] == "epi_graphreg" else 0.1
            assert card["fdr"] == expected, (alias, card["name"])
    assert cards.resolve("epi_K562_hichip")[0]["name"] == "epi_K562_hichip_fdr01"
    assert cards.resolve("epi_GM12878_hic")[0]["name"] == "epi_GM12878_hic_fdr001"
    assert cards.resolve("epi_hESC_microc")[0]["name"] == "epi_hESC_microc_fdr1"
    assert cards.resolve("epi_mESC_hichip")[0]["name"] == "epi_mESC_hichip_fdr1"
    assert cards.resolve("seqe2e_K562_hichip")[0]["name"] == "seqe2e_K562_hichip_fdr1"


def test_cards_are_generated_and_up_to_date():
    spec = importlib.util.spec_from_file_location("zoo_cards_generate", cards.BUILTIN_CARDS / "_generate.py")
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate  # dataclasses look their module up
    spec.loader.exec_module(generate)
    for fname, text in generate.render_all().items():
        assert (cards.BUILTIN_CARDS / fname).read_text() == text, f"{fname}: rerun zoo_cards/_generate.py"
    # hashes from `graphreg-zoo cache pin` land in the cards
    path = "models/mESC/Epi-CNN_mESC_valid_chr_10,1_test_chr_11,2.h5"
    pinned = generate.render_all({path: {"sha256": "a" * 64, "size": 123}})["epicnn_mESC.md"]
    assert f"path: {path}" in pinned and "sha256: " + "a" * 64 in pinned and "size: 123" in pinned


def test_list_models_returns_every_family_and_filters():
    table = cards.list_models()
    assert len(table) == len(cards._load((cards.BUILTIN_CARDS,)))
    assert set(table["cell"]) == {"K562", "GM12878", "hESC", "mESC"}
    k562_epi = cards.list_models(cell="k562", kind="epi_graphreg", assay="hichip")
    assert set(k562_epi["name"]) == {f"epi{g}_K562_hichip_fdr{f}" for g in ("", "_gen") for f in ("1", "01", "001")}
    assert set(cards.list_models(kind="seqe2e")["kind"]) == {"seq_graphreg_e2e"}


def test_names_members_and_close_matches():
    card = cards.info("epi_K562_hichip@fold10")
    assert card["member"]["valid"] == [10, 20] and card["member"]["test"] == [11, 21]
    with pytest.raises(InvalidInputError, match="epi_K562_hichip"):
        cards.resolve("epi_K562_hichp")
    with pytest.raises(InvalidInputError, match="no fold 11"):
        cards.resolve("epi_K562_hichip@fold11")
