"""The input contract: published checkpoints carry it, `predict` checks a cell against it, `prepare --for`
follows it, and a per-bin CAGE (or track) bigWig read with `sum` is caught.

The "reference-shaped" cell is hg19, made the way the reference-cell cards prescribe: deepTools-style
per-bin bigWigs (one value per 100 bp bin for the tracks, per 5 kb bin for CAGE) written from the real
K562 chr9:4-6 Mb bigWigs of ../shared/realdata, on chr9 and (for the min-max reference) chr1.
"""
from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from graphreg_zoo.contract import FIELDS, check, reads_tracks, recorded_contract, value
from graphreg_zoo.errors import ContractWarning, InvalidInputError
from graphreg_zoo.prep.cell import CellData, prepare
from graphreg_zoo.prep.tracks import TrackFile, bin_track
from graphreg_zoo.zoo import cards

from .conftest import HEAVY, REALDATA

ROOT = Path(__file__).resolve().parents[1]
SLICE = REALDATA / "hg19_K562_chr9_4-6Mb"
LO, HI = 4_000_000, 6_000_000
HG19 = {"chr1": 249_250_621, "chr9": 141_213_431}
FOLD1 = "Epi-GraphReg_K562_HiChIP_FDR_01_valid_chr_1,11_test_chr_2,12.h5"


def _per_bin_bigwig(source: Path, target: Path, bin_bp: int) -> np.ndarray:
    """A bamCoverage-like bigWig: the mean of `source` per `bin_bp` bin of chr9:4-6 Mb, written on chr9
    and on the same stretch of chr1, one interval per non-zero bin. Returns the bin values."""
    import pyBigWig

    with TrackFile(source) as track:
        values = bin_track(track, "chr9", HI, bin_size=bin_bp, stat="mean")[LO // bin_bp:]
    starts = LO + bin_bp * np.flatnonzero(values)
    bw = pyBigWig.open(str(target), "w")
    bw.addHeader(list(HG19.items()))
    for chrom in HG19:
        bw.addEntries([chrom] * len(starts), starts.tolist(), ends=(starts + bin_bp).tolist(),
                      values=values[values > 0].astype(float).tolist())
    bw.close()
    return values


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory) -> Path:
    if not SLICE.is_dir():
        pytest.skip("../shared/realdata/hg19_K562_chr9_4-6Mb is not present")
    root = tmp_path_factory.mktemp("reference_shaped")
    _per_bin_bigwig(SLICE / "bigwig_chr9_4000000_6000000_K562_H3K27ac.bigwig", root / "H3K27ac_RPGC_100bp.bw", 100)
    _per_bin_bigwig(SLICE / "bigwig_chr9_4000000_6000000_K562_H3K27me3.bigwig", root / "DNase_RPGC_100bp.bw", 100)
    _per_bin_bigwig(SLICE / "bigwig_chr9_4000000_6000000_K562_RNA.bigwig", root / "CAGE_RPGC_5kb.bw", 5000)
    return root


def _spec(files: Path, **cage) -> dict:
    """The spec a new user writes: bare paths, every option at its default."""
    return {
        "name": "K562", "genome": "hg19", "chromosomes": ["chr9"],
        "tracks": {"h3k4me3": str(files / "H3K27ac_RPGC_100bp.bw"), "h3k27ac": str(files / "H3K27ac_RPGC_100bp.bw"),
                   "dnase": str(files / "DNase_RPGC_100bp.bw")},
        "cage": {"path": str(files / "CAGE_RPGC_5kb.bw"), **cage},
        "graph": {"format": "bedpe", "path": str(SLICE / "peak_chr9_4000000_6000000.bedpe")},
        "genes": {"path": str(SLICE / "gtf_chr9_4000000_6000000.gtf"), "level": "gene", "biotypes": ["protein_coding"]},
    }


@pytest.fixture(scope="module")
def default_cell(reference_files, tmp_path_factory) -> CellData:
    """Prepared with the defaults (tracks `sum` + `log2`, CAGE `sum`): not what the published models saw."""
    out = tmp_path_factory.mktemp("default") / "cell.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ContractWarning)
        return CellData(prepare(_spec(reference_files), out, progress=False))


@pytest.fixture(scope="module")
def published(upstream_fixtures, tmp_path_factory):
    """The fixture Epi-GraphReg checkpoint under the file name of epi_K562_hichip_fdr01's fold 1, converted."""
    from graphreg_zoo.zoo.upstream import convert_upstream

    path = tmp_path_factory.mktemp("ckpt") / FOLD1
    shutil.copyfile(upstream_fixtures / "epi_graphreg.h5", path)
    return convert_upstream(path)


# -- cards and converted models -----------------------------------------------------------------------


def test_every_card_states_every_field_of_its_contract():
    for name, card in cards._load((cards.BUILTIN_CARDS,)).items():
        contract = card["input_contract"]
        assert list(contract) == list(FIELDS), name
        for field, entry in contract.items():
            assert (entry["value"] is None) == (entry["confidence"] == "unknown"), (name, field)
            assert re.search(r"UPSTREAM §\d+", entry["source"]), (name, field)
        assert value(contract, "genome") == card["genome"]
        epi = card["kind"].startswith("epi")
        assert value(contract, "track_scaling") == ("upstream_minmax" if epi else "none"), name
        assert value(contract, "cage_stat") == "max" and value(contract, "cage_scale") is None
        assert "| CAGE scale (0.99 quantile at TSS nodes) | unknown | unknown |" in card["description"]


def test_a_converted_checkpoint_carries_its_cards_contract(published, upstream_fixtures):
    from graphreg_zoo.zoo.upstream import convert_upstream

    card, _ = cards.resolve("epi_K562_hichip")
    assert published.data_spec["contract"] == card["input_contract"]
    assert published.data_spec["genome"] == "hg19"
    assert "normalisation" not in published.data_spec  # the old, wrong "log2p1"
    unlisted = convert_upstream(upstream_fixtures / "epi_graphreg.h5").data_spec["contract"]
    assert value(unlisted, "genome") is None and "not in any zoo card" in unlisted["genome"]["source"]
    assert value(unlisted, "track_scaling") == "upstream_minmax"


# -- the check ----------------------------------------------------------------------------------------


def test_a_default_prepared_cell_is_flagged_with_the_numbers(published, default_cell):
    from graphreg_zoo.prediction import check_compatibility, contract_report

    messages = check_compatibility(published, default_cell)
    joined = "\n".join(messages)
    assert "track bin statistic" in joined and "used `max`" in joined and "gives 100x" in joined
    assert "track normalisation" in joined and "were `upstream_minmax`" in joined
    q = default_cell.attrs["track_quantiles"]["dnase"]["q0.99"]
    assert f"dnase {q:.3g}" in joined
    assert "CAGE bin statistic" in joined and "gives 5000x" in joined
    unchecked = contract_report(published, default_cell).unchecked
    assert len(unchecked) == 1 and unchecked[0].startswith("CAGE scale") and "UPSTREAM §10" in unchecked[0]
    with pytest.raises(InvalidInputError, match="strict") as refused:
        check_compatibility(published, default_cell, strict=True)
    assert refused.value.exit_code == 4


def test_predict_strict_refuses_on_the_command_line(published, default_cell, tmp_path, cli):
    from graphreg_zoo.zoo.presets import save_preset

    save_preset(published, tmp_path / "preset")
    code, _, err = cli("predict", "--model", tmp_path / "preset", "--cell", default_cell.path, "-o", tmp_path / "out",
                       "--strict", "--quiet")
    assert code == 4 and "track bin statistic" in err, err


def test_predict_prepares_a_spec_yaml_as_the_models_contract_says(published, reference_files, tmp_path, cli):
    """`predict --cell x.yaml` makes the cell the model's way (not the spec's defaults): strict passes."""
    from graphreg_zoo.zoo.presets import save_preset

    save_preset(published, tmp_path / "preset")
    spec = tmp_path / "cell.yaml"
    spec.write_text(yaml.safe_dump(_spec(reference_files)))
    code, _, err = cli("predict", "--model", tmp_path / "preset", "--cell", spec, "-o", tmp_path / "out",
                       "--strict", "--quiet")
    assert code == 0, err
    assert "tracks.dnase.stat: sum -> max (the model's input contract)" in err and "cage.stat: sum -> max" in err
    cell = CellData(tmp_path / "out" / "cell.h5")
    assert {(t["stat"], t["normalisation"]) for t in cell.attrs["tracks"].values()} == {("max", "upstream_minmax")}
    assert cell.attrs["cage"]["stat"] == "max"


def test_a_recorded_cage_scale_flags_another_scale(default_cell):
    contract = recorded_contract(default_cell)
    assert value(contract, "cage_stat") == "sum" and contract["cage_scale"]["confidence"] == "recorded"
    assert check(contract, default_cell, "trained").mismatches == []
    contract["cage_scale"]["value"] /= 5000  # trained on the bin values, given 5000x them
    (message,) = check(contract, default_cell, "trained").mismatches
    assert message.startswith("CAGE scale") and "5e+03x" in message


# -- prepare --for and the CAGE statistic --------------------------------------------------------------


def test_prepare_for_a_zoo_name_follows_its_contract(reference_files, published, tmp_path):
    from graphreg_zoo.prediction import check_compatibility

    with warnings.catch_warnings():
        warnings.simplefilter("error", ContractWarning)
        cell = CellData(prepare(_spec(reference_files), tmp_path / "cell.h5", progress=False,
                                for_model="epi_K562_hichip"))
        assert check_compatibility(published, cell) == []
    assert {t["stat"] for t in cell.attrs["tracks"].values()} == {"max"}
    assert {t["normalisation"] for t in cell.attrs["tracks"].values()} == {"upstream_minmax"}
    assert cell.attrs["cage"]["stat"] == "max"
    bad = {**_spec(reference_files), "genome": "hg38"}
    with pytest.raises(InvalidInputError, match="trained on hg19; this spec is hg38"):
        prepare(bad, tmp_path / "hg38.h5", progress=False, for_model="epi_K562_hichip")
    assert not (tmp_path / "hg38.h5").exists()


def test_cli_prepare_for_says_what_it_changed(reference_files, tmp_path, cli):
    spec = tmp_path / "cell.yaml"
    spec.write_text(yaml.safe_dump(_spec(reference_files)))
    code, _, err = cli("prepare", spec, "-o", tmp_path / "cell.h5", "--for", "epi_K562_hichip", "--quiet")
    assert code == 0, err
    assert "tracks.dnase.stat: sum -> max" in err and "cage.stat: sum -> max" in err
    assert "warning" not in err


def test_a_per_bin_cage_bigwig_read_with_sum_is_detected(reference_files, default_cell, tmp_path):
    with pytest.warns(ContractWarning, match=r"one value per 5000 bp bin .* 5000x the bin value"):
        prepare(_spec(reference_files), tmp_path / "again.h5", progress=False)
    assert default_cell.attrs["cage"]["file_bin_bp"] == 5000
    assert {t["file_bin_bp"] for t in default_cell.attrs["tracks"].values()} == {100}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContractWarning)
        spec = _spec(reference_files, stat="max")
        spec["tracks"] = {name: {"path": path, "stat": "max"} for name, path in spec["tracks"].items()}
        cell = CellData(prepare(spec, tmp_path / "max.h5", progress=False))
    node = LO // 5000 + np.flatnonzero(cell.cage("chr9")[LO // 5000:HI // 5000])[:5]
    np.testing.assert_allclose(default_cell.cage("chr9")[node], 5000 * cell.cage("chr9")[node], rtol=1e-5)


def test_per_base_coverage_is_not_taken_for_a_per_bin_file(realdata, tmp_path):
    from graphreg_zoo.prep.tracks import file_bin_size

    with TrackFile(SLICE / "bigwig_chr9_4000000_6000000_K562_RNA.bigwig") as track:
        assert file_bin_size(track, {"chr9": HG19["chr9"]}) == 1


# -- the README's Python example ----------------------------------------------------------------------


def _readme_python() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## In Python\n\n```python\n(.*?)```", text, re.S)
    return block[1]


@pytest.mark.slow
@HEAVY
def test_the_readme_example_runs_as_printed_without_a_contract_warning(
        reference_files, upstream_fixtures, tmp_path, monkeypatch, zoo_home):
    """`load("epi_K562_hichip")` (ten fold copies of the fixture checkpoint served from a mirror), then the
    README's lines as printed, in a folder holding `my_cell.yaml` (the reference-shaped cell) and the .h5."""
    card, _ = cards.resolve("epi_K562_hichip")
    mirror = tmp_path / "mirror"
    for member in card["folds"]["members"]:
        (mirror / member["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(upstream_fixtures / "epi_graphreg.h5", mirror / member["path"])
    monkeypatch.setenv("GRAPHREG_ZOO_MIRROR", str(mirror))
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(upstream_fixtures / "epi_graphreg.h5", work / FOLD1)
    (work / "my_cell.yaml").write_text(yaml.safe_dump(_spec(reference_files)))
    monkeypatch.chdir(work)
    scope: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(_readme_python(), "README.md", "exec"), scope)  # noqa: S102 - the README's own code
    contract = [w for w in caught if issubclass(w.category, ContractWarning) or "normalised" in str(w.message)]
    assert contract == [], [str(w.message) for w in contract]
    table = scope["table"]
    assert len(table) > 0 and table["prediction"].notna().all()
    assert CellData(work / "my_cell.h5").attrs["tracks"]["dnase"]["normalisation"] == "upstream_minmax"
    assert scope["attr"] is not None


def test_which_models_read_tracks_follows_their_inputs():
    """Only Epi models have their cell's track fields checked; sequence models (DNA, or a base's bottleneck)
    do not, whatever their data spec says."""
    from graphreg_zoo.models import EpiCNN, SeqCNN, SeqGraphReg

    assert reads_tracks(EpiCNN())
    seq = SeqGraphReg(n_gat_layers=1)
    seq.data_spec["kind"] = "epigenome"  # a stale or hand-edited spec must not decide it
    assert not reads_tracks(seq) and not reads_tracks(SeqCNN())
