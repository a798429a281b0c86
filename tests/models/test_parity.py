"""Numerical parity with the original forward pass on every upstream fixture (both encodings), from the
in-repo goldens (tests/goldens)."""
from __future__ import annotations

import numpy as np
import pytest

from graphreg_zoo.zoo.upstream import convert_upstream

from ._parity import FIXTURE_NAMES, compare_outputs, fixture_inputs

pytestmark = pytest.mark.backend


@pytest.mark.parametrize("encoding", ["", "tf20style/"])
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_parity(upstream_fixtures, name, encoding):
    io = np.load(upstream_fixtures / f"{name}_io.npz")
    model = convert_upstream(upstream_fixtures / f"{encoding}{name}.h5", return_attention=True)
    outputs = model(fixture_inputs(name, io, upstream_fixtures), training=False)
    checked = compare_outputs(outputs, io)
    assert "out_cage" in checked or name == "seq_cnn_base"
    if name in ("epi_graphreg", "seq_graphreg", "seq_graphreg_e2e"):
        assert any(k.startswith("out_att") for k in checked)


def test_diagonal_variant_parity(upstream_fixtures):
    """The A[i,i] = 1 variant: self loops are used as given, like the original."""
    io = np.load(upstream_fixtures / "epi_graphreg_io_diag1.npz")
    model = convert_upstream(upstream_fixtures / "epi_graphreg.h5", return_attention=True)
    compare_outputs(model(fixture_inputs("epi_graphreg", io), training=False), io)


def test_batch_of_two_windows_equals_two_single_calls(upstream_fixtures):
    io = np.load(upstream_fixtures / "epi_graphreg_io.npz")
    model = convert_upstream(upstream_fixtures / "epi_graphreg.h5")
    x, a = io["X_epi"], io["adj"]
    batch = {"epigenome": np.concatenate([x, x[:, ::-1]]), "adjacency": np.concatenate([a, a])}
    together = np.asarray(model(batch)["cage"])
    second = np.asarray(model({"epigenome": x[:, ::-1], "adjacency": a})["cage"])
    np.testing.assert_allclose(together[0], io["out_cage"][0], rtol=5e-4, atol=1e-4)
    np.testing.assert_allclose(together[1], second[0], rtol=1e-5, atol=1e-5)
