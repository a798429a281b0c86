"""Separately trained Seq heads meet the Seq-CNN base of their own fold and flavour (issue 14, item 2):
one pairing (`training.bottlenecks.pair_bases`) for prediction and interpretation, refused on a mismatch."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.training.bottlenecks import base_record, pair_bases
from graphreg_zoo.zoo.ensemble import FoldEnsemble


@pytest.fixture(scope="module")
def bases():
    """Three real Seq-CNN bases: two dilated ones with different weights and a no-dilation FFT one."""
    import keras

    from graphreg_zoo.models import SeqCNNBase

    keras.utils.set_random_seed(0)
    return {"one": SeqCNNBase(dilated=True), "three": SeqCNNBase(dilated=True),
            "nodil_fft": SeqCNNBase(dilated=False, fft_prior=True)}


def _head(seed: int = 0, **spec):
    from graphreg_zoo.models import SeqGraphReg

    head = SeqGraphReg(n_gat_layers=1, seed=seed)
    head.data_spec.update(spec)
    return head


def _small_base(seed: int):
    """A fast stand-in for a Seq-CNN base (100 kb one-hot -> bottleneck (1000, 64)); no flavour fields."""
    import keras

    keras.utils.set_random_seed(seed)
    sequence = keras.Input((100_000, 4), name="sequence")
    h = keras.layers.MaxPooling1D(100)(keras.layers.Conv1D(64, 5, padding="same", activation="relu")(sequence))
    return keras.Model({"sequence": sequence}, {"bottleneck": keras.layers.Identity(name="bottleneck")(h)})


def test_a_fold_3_head_gets_the_fold_3_base_on_every_chromosome(synth_cell, bases):
    """The old routing gave the fold-1 base to any head on chr2 (fold 1's test chromosome)."""
    from graphreg_zoo.interpret._windows import members
    from graphreg_zoo.prediction import predict

    head = _head(fold=3)
    ensemble = FoldEnsemble({1: bases["one"], 3: bases["three"]})
    assert pair_bases(head, ensemble) == [(head, bases["three"])]
    assert [m.base for m in members(head, ensemble)] == [bases["three"]]
    small = {1: _small_base(1), 3: _small_base(3)}
    got = predict(FoldEnsemble({3: head}), synth_cell, ["chr2"], progress=False, base=FoldEnsemble(small))
    want = predict(head, synth_cell, ["chr2"], progress=False, base=small[3])
    np.testing.assert_allclose(got["prediction"], want["prediction"], rtol=1e-6)


def test_one_base_for_a_head_ensemble_is_refused_unless_allowed(bases):
    from graphreg_zoo.interpret._windows import members

    heads = FoldEnsemble({1: _head(1), 2: _head(2)}, name="seq_toy")
    with pytest.raises(InvalidInputError, match=r"seq_toy@fold1.*one base feeds 2 head folds"):
        members(heads, bases["one"])
    with pytest.warns(UserWarning, match="one base feeds 2 head folds"):
        assert [m.base for m in members(heads, bases["one"], allow_base_mismatch=True)] == [bases["one"]] * 2


def test_a_base_of_another_flavour_is_refused_naming_both(synth_cell, bases):
    from graphreg_zoo.prediction import predict

    head = _head(base={"dilated": False, "fft_prior": True})
    assert pair_bases(head, bases["nodil_fft"]) == [(head, bases["nodil_fft"])]
    with pytest.raises(InvalidInputError) as caught:
        pair_bases(head, bases["one"])
    message = str(caught.value)
    assert "Seq-CNN_base" in message and "Seq-GraphReg" in message
    assert "dilated=False" in message and "fft_prior=True" in message and "--allow-base-mismatch" in message
    assert caught.value.exit_code == 4
    with pytest.raises(InvalidInputError, match="dilated"):
        predict(head, synth_cell, progress=False, base=bases["one"])


def test_a_family_card_names_the_flavour_of_its_heads(bases):
    heads = FoldEnsemble({1: _head(1)}, name="seq_K562_hichip_fdr1_nodil",
                         card={"model": {"config": {"dilated": False, "fft_prior": False}}})
    with pytest.raises(InvalidInputError, match="dilated=False"):
        pair_bases(heads, FoldEnsemble({1: bases["one"]}))


def test_a_trained_head_pairs_with_the_base_weights_it_recorded(bases):
    head = _head(base=base_record(bases["three"]))
    both = [bases["one"], bases["three"]]  # a list: folds unknown, the recorded weights pick
    assert pair_bases(head, both) == [(head, bases["three"])]
    with pytest.raises(InvalidInputError, match="trained on base weights"):
        pair_bases(head, bases["one"])


def test_the_converter_records_fold_and_base_flavour_from_upstream_names(upstream_fixtures, tmp_path):
    from graphreg_zoo.zoo.upstream import convert_upstream

    head_file = tmp_path / "Seq-GraphReg_nodilation_fft_K562_HiChIP_FDR_1_valid_chr_3,13_test_chr_4,14.h5"
    shutil.copy(upstream_fixtures / "seq_graphreg.h5", head_file)
    head = convert_upstream(head_file)
    assert head.data_spec["fold"] == 3
    assert head.data_spec["base"] == {"fold": 3, "dilated": False, "fft_prior": True}
    base_file = tmp_path / "Seq-CNN_base_K562_valid_chr_3,13_test_chr_4,14.h5"
    shutil.copy(upstream_fixtures / "seq_cnn_base.h5", base_file)
    base = convert_upstream(base_file)
    assert base.data_spec["fold"] == 3 and "base" not in base.data_spec
    assert "fold" not in convert_upstream(upstream_fixtures / "seq_graphreg.h5").data_spec  # no upstream name


def test_a_packaged_head_without_its_base_is_refused_naming_the_base_to_pass(synth_cell):
    """`graphreg-zoo knockout --model demo_seq` without --base: the refusal says which base to pass."""
    import graphreg_zoo
    from graphreg_zoo.interpret._windows import members
    from graphreg_zoo.prediction import predict

    head = graphreg_zoo.load("demo_seq")
    with pytest.raises(InvalidInputError, match=r"--base demo_seq_base"):
        predict(head, synth_cell, ["chr2"], progress=False)
    with pytest.raises(InvalidInputError, match=r"--base demo_seq_base"):
        members(head)
