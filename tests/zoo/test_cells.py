"""Shipped reference-cell cards: schema, statuses, and refusals that happen before any download."""
from __future__ import annotations

import pytest

from graphreg_zoo import reference_cells as cells
from graphreg_zoo.errors import InvalidInputError, NotAvailableError

ENTRY_KEYS = {"accession", "url", "format", "path", "sha256", "size", "status", "evidence"}
GENOMES = {"K562": "hg19", "GM12878": "hg19", "hESC": "hg38", "mESC": "mm10"}


def test_shipped_cell_cards_are_well_formed(monkeypatch):
    monkeypatch.delenv("GRAPHREG_ZOO_CARDS", raising=False)
    assert cells.list_cells() == sorted(GENOMES)
    for name, genome in GENOMES.items():
        card = cells.cell_card(name)
        assert card["genome"] == genome and card["default_assay"] in card["contacts"]
        assert set(card["inputs"]) == {"h3k4me3", "h3k27ac", "dnase", "cage", "genes", "fasta"}
        for entry in [*card["inputs"].values(), *card["contacts"].values()]:
            assert ENTRY_KEYS <= set(entry), (name, entry)
            assert entry["status"] in cells.STATUSES and entry["sha256"] is None and entry["size"] is None
            assert (entry["url"] is None) == (entry["status"] == "GAP" and entry["accession"] is None)
            assert entry["path"].startswith(f"cells/{genome}/")
    k562, gm12878 = cells.cell_card("K562")["inputs"], cells.cell_card("GM12878")["inputs"]
    assert all(k562[r]["path"] == gm12878[r]["path"] for r in ("genes", "fasta"))  # one hg19 copy in the cache


def test_cell_names_are_case_insensitive_and_unknown_ones_list_matches():
    assert cells.cell_card("k562")["name"] == "K562"
    with pytest.raises(InvalidInputError, match="Did you mean: K562"):
        cells.cell_card("K652")


@pytest.mark.parametrize("name", ["hESC", "mESC"])
def test_unpreparable_cells_are_refused_before_any_download(name, zoo_home):
    with pytest.raises(NotAvailableError, match=f"reference cell {name} cannot be prepared") as info:
        cells.reference_cell(name)
    assert "GAP" in str(info.value)
    assert not (zoo_home / "files").exists()  # nothing was fetched


@pytest.mark.parametrize("name", ["K562", "GM12878"])
def test_bam_cells_are_preparable_and_offline_names_every_missing_file(name, zoo_home, monkeypatch):
    """Their DNase and CAGE BAMs are read by prepare itself: offline with an empty cache, the refusal
    lists the files to fetch (the BAMs among them), not a conversion step."""
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    card = cells.cell_card(name)
    with pytest.raises(NotAvailableError, match="missing from the cache") as info:
        cells.reference_cell(name)
    for role in ("dnase", "cage"):
        assert card["inputs"][role]["format"] == "bam" and card["inputs"][role]["path"] in str(info.value)
        assert card["inputs"][role]["reads"] == {"normalize": "RPGC"} and "convert" not in card["inputs"][role]
    assert "cannot be prepared" not in str(info.value)


def test_a_build_follows_the_contract_of_the_cells_published_epi_models(tmp_path, monkeypatch, zoo_home):
    """K562's card reads its DNase with `sum` here (an override card): the build makes it `max`, as every
    published Epi K562 family says, and names what the card flags as 3P; nothing is downloaded."""
    import yaml

    from graphreg_zoo.zoo import cards

    card = cells.cell_card("K562")
    card.pop("description"), card.pop("card_path")
    card["inputs"]["dnase"]["stat"] = "sum"
    (tmp_path / "cells").mkdir()
    (tmp_path / "cells" / "K562.md").write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n# K562\n")
    monkeypatch.setenv("GRAPHREG_ZOO_CARDS", str(tmp_path))
    build = cells.plan("K562")
    epi = {n for n, c in cards.all_cards().items() if c["cell"] == "K562" and c["kind"].startswith("epi")}
    assert set(build.families) == epi and len(epi) > 10
    spec, changes = build.spec()
    assert changes == ["tracks.dnase.stat: sum -> max"]
    assert {(t.stat, t.normalisation) for t in spec.tracks.values()} == {("max", "upstream_minmax")}
    assert spec.cage.stat == "max"
    lines = cells.describe(build)
    assert any(line.startswith("flagged 3P: dnase") for line in lines) and "  tracks.dnase.stat: sum -> max" in lines
    assert cells.built(build) is None and not (zoo_home / "files").exists()


@pytest.mark.parametrize("model, assay", [("epi_K562_hic", "HiC"), ("epi_K562_hichip", "HiChIP")])
def test_predict_builds_the_reference_cell_with_the_models_assay(model, assay, cli, tmp_path, monkeypatch, zoo_home):
    monkeypatch.setenv("GRAPHREG_ZOO_OFFLINE", "1")
    code, _, stderr = cli("predict", "--model", model, "--cell", "K562", "-o", tmp_path / "out")
    contacts = cells.cell_card("K562")["contacts"]
    other = next(a for a in contacts if a != assay)
    assert code == 3 and contacts[assay]["path"] in stderr and contacts[other]["path"] not in stderr
