"""Parameter counts equal to the original, config round trips, layer names."""
from __future__ import annotations

import pytest

from graphreg_zoo.models import (
    MODEL_CLASSES,
    EpiCNN,
    EpiGraphReg,
    SeqCNNBase,
    SeqCNNE2E,
    SeqGraphReg,
    SeqGraphRegE2E,
)

pytestmark = pytest.mark.backend


@pytest.mark.parametrize(
    "factory, expected",
    [
        (lambda: EpiGraphReg(n_gat_layers=2), 185_473),
        (EpiCNN, 235_649),
        (lambda: SeqCNNBase(dilated=True), 322_819),
        (lambda: SeqCNNBase(dilated=False), 360_259),
        (SeqGraphReg, 233_985),
        (SeqGraphRegE2E, 372_868),
        (SeqCNNE2E, 389_508),
    ],
    ids=["epi_graphreg", "epi_cnn", "seq_cnn_base", "seq_cnn_base_nodilation", "seq_graphreg", "e2e", "seq_cnn_e2e"],
)
def test_parameter_count_matches_original(factory, expected):
    assert factory().count_params() == expected


def test_gat_layer_count_is_configurable():
    assert EpiGraphReg(n_gat_layers=3).count_params() == 185_473 + 33_024 + 512


def test_older_e2e_has_the_extra_block_and_shifted_names():
    model = SeqGraphRegE2E(architecture="older")
    names = {layer.name for layer in model.layers}
    assert {"conv1d_19", "batch_normalization_18"} <= names
    assert model.count_params() == 372_868 + (3 * 128 * 128 + 128) + 512


@pytest.mark.parametrize("cls", sorted(MODEL_CLASSES.values(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_config_round_trip_rebuilds_same_architecture(cls):
    model = cls()
    clone = cls.from_config(model.get_config())
    assert clone.count_params() == model.count_params()
    assert [la.name for la in clone.layers if la.weights] == [la.name for la in model.layers if la.weights]
    assert clone.get_config()["data_spec"]["tracks"] == ["h3k4me3", "h3k27ac", "dnase"]


def test_data_spec_overrides_are_kept():
    model = EpiGraphReg(data_spec={"genome": "hg19", "normalisation": "minmax_upstream"})
    assert model.get_config()["data_spec"]["genome"] == "hg19"
    assert model.data_spec["window_nodes"] == 1200


def test_gat_heads_start_different():
    import numpy as np

    layer = [la for la in EpiGraphReg().layers if la.name == "graph_attention"][0]
    first, second = np.asarray(layer.kernel_self_0), np.asarray(layer.kernel_self_1)
    assert not np.allclose(first, second)
    assert not np.allclose(np.asarray(layer.kernel_self_0), np.asarray(layer.kernel_neighs_0))


def test_e2e_memory_options_keep_the_architecture():
    model = SeqGraphRegE2E(precision="mixed_bfloat16", remat=True)
    assert model.count_params() == 372_868
    clone = SeqGraphRegE2E.from_config(model.get_config())
    assert clone.get_config()["precision"] == "mixed_bfloat16" and clone.get_config()["remat"] is True
    layers = {layer.name: layer for layer in model.layers}
    assert layers["conv1d"].compute_dtype == "bfloat16"
    assert layers["conv1d_18"].compute_dtype == "float32"  # the CAGE rate head stays float32


def test_bfloat16_base_keeps_weights_and_float32_outputs():
    """The Seq-CNN base in mixed bfloat16: same parameters, outputs (bottleneck included) in float32
    and close to the float32 model with the same weights."""
    import numpy as np

    from graphreg_zoo.models import SeqCNNBase

    fast, exact = SeqCNNBase(precision="mixed_bfloat16"), SeqCNNBase()
    assert fast.count_params() == 322_819
    exact.set_weights(fast.get_weights())
    x = {"sequence": np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (1, 100_000))]}
    got, want = fast.predict_on_batch(x), exact.predict_on_batch(x)
    assert all(v.dtype == np.float32 for v in got.values())
    np.testing.assert_allclose(got["bottleneck"], want["bottleneck"], rtol=0.05, atol=0.02)
