"""The upstream converter: presets that reload offline, ensembles, and every kind of bad input."""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from graphreg_zoo.zoo.presets import load_preset, read_card
from graphreg_zoo.zoo.upstream import ConversionError, convert_upstream, read_checkpoint

from ..models._parity import compare_outputs, fixture_inputs


def _copy(upstream_fixtures, tmp_path, name="epi_cnn.h5"):
    target = tmp_path / name
    shutil.copyfile(upstream_fixtures / name, target)
    target.chmod(0o644)
    return target


def test_cli_convert_writes_a_preset_that_reloads_identically(upstream_fixtures, tmp_path, cli):
    code, out, err = cli("convert", upstream_fixtures / "epi_graphreg.h5", tmp_path / "preset")
    assert code == 0, err
    card = read_card(tmp_path / "preset")
    assert card["converted_from"]["model_class"] == "EpiGraphReg"
    assert card["converted_from"]["bn_statistics_untouched"] is False
    assert len(card["converted_from"]["source_sha256"]) == 64
    io = np.load(upstream_fixtures / "epi_graphreg_io.npz")
    model = load_preset(tmp_path / "preset", return_attention=True)
    compare_outputs(model(fixture_inputs("epi_graphreg", io)), io)


def test_directory_of_folds_converts_to_an_ensemble(upstream_fixtures, tmp_path, cli):
    folds = tmp_path / "family"
    folds.mkdir()
    for fold in (1, 2):
        name = f"Epi-CNN_K562_valid_chr_{fold},{fold + 10}_test_chr_{fold + 1},{fold + 11}.h5"
        shutil.copyfile(upstream_fixtures / "epi_cnn.h5", folds / name)
    code, _, err = cli("convert", folds, tmp_path / "ensemble")
    assert code == 0, err
    ensemble = load_preset(tmp_path / "ensemble")
    assert sorted(ensemble.models) == [1, 2]
    assert ensemble.fold_for("chr2") == 1 and ensemble.fold_for("chr12") == 1


def test_untouched_batchnorm_statistics_are_recorded(upstream_fixtures, tmp_path):
    path = _copy(upstream_fixtures, tmp_path)
    with h5py.File(path, "r+") as f:
        for layer in f["model_weights"]:
            group = f["model_weights"][layer]
            if layer.startswith("batch_normalization"):
                group[f"{layer}/moving_mean:0"][...] = 0
                group[f"{layer}/moving_variance:0"][...] = 1
    from graphreg_zoo.zoo.upstream import convert_upstream_with_report

    _, report = convert_upstream_with_report(path)
    assert report.bn_statistics_untouched
    assert "inference mode" in report.notes[0]


def test_weights_only_file_converts(upstream_fixtures, tmp_path):
    """A root `layer_names` file (save_weights) holds the same weights."""
    target = tmp_path / "weights_only.h5"
    with h5py.File(upstream_fixtures / "epi_cnn.h5", "r") as src, h5py.File(target, "w") as dst:
        for key, value in src["model_weights"].attrs.items():
            dst.attrs[key] = value
        for layer in src["model_weights"]:
            src.copy(src["model_weights"][layer], dst, name=layer)
    assert read_checkpoint(target).model_config is None
    io = np.load(upstream_fixtures / "epi_cnn_io.npz")
    compare_outputs(convert_upstream(target)(fixture_inputs("epi_cnn", io)), io)


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _not_hdf5(path):
    path.write_text("<html>404 Not Found</html>\n")


def _unrelated_model(path):
    path.unlink()
    with h5py.File(path, "w") as f:
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense"])
        d = g.create_group("dense")
        d.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        d.create_dataset("dense/kernel:0", data=np.zeros((4, 2), "float32"))


def _missing_layer(path):
    with h5py.File(path, "r+") as f:
        g = f["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["layer_names"]]
        g.attrs["layer_names"] = np.array([n for n in names if n != "conv1d_7"], dtype=h5py.string_dtype())
        del g["conv1d_7"]


def _shape_mismatch(path):
    with h5py.File(path, "r+") as f:
        g = f["model_weights/conv1d_5/conv1d_5"]
        del g["bias:0"]
        g.create_dataset("bias:0", data=np.zeros(65, "float32"))


def _unknown_architecture(path):
    with h5py.File(path, "r+") as f:
        g = f["model_weights/conv1d/conv1d"]
        del g["kernel:0"]
        g.create_dataset("kernel:0", data=np.zeros((11, 3, 128), "float32"))


@pytest.mark.parametrize(
    "damage, expected",
    [
        (_truncated, "truncated"),
        (_not_hdf5, "not a readable HDF5"),
        (_unrelated_model, "no 'conv1d' layer"),
        (_missing_layer, "layer 'conv1d_7'"),
        (_shape_mismatch, "'conv1d_5/bias' has shape (65,), expected (64,)"),
        (_unknown_architecture, "unknown architecture"),
    ],
    ids=["truncated", "not_hdf5", "unrelated_model", "missing_layer", "shape_mismatch", "unknown_architecture"],
)
def test_bad_checkpoints_exit_4_and_write_nothing(upstream_fixtures, tmp_path, cli, damage, expected):
    path = _copy(upstream_fixtures, tmp_path)
    damage(path)
    out = tmp_path / "out"
    code, _, err = cli("convert", path, out)
    assert code == 4
    assert str(path.name) in err and expected in err
    assert not out.exists()
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
    with pytest.raises(ConversionError):
        convert_upstream(path)
