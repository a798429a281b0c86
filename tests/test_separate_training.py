"""Separate training of the sequence models: the Seq-CNN base on 100 kb chunks, then
Seq-GraphReg / Seq-CNN on its frozen bottleneck (UPSTREAM §2.2-2.5), engine and CLI."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.geometry import EPI_TRACKS
from graphreg_zoo.models.inference import bottleneck, weights_fingerprint
from graphreg_zoo.prep.windows import padded_tracks, raw_coverage, window_arrays, window_sequence, windows
from graphreg_zoo.training.bottlenecks import BottleneckCache
from graphreg_zoo.training.chunks import chunk_arrays, make_chunk_dataset
from graphreg_zoo.training.engine import TrainConfig, fit
from tests._sgd import sgd_step
from tests.conftest import HEAVY

BASE_CONFIG = dict(epochs=2, base_chunks=(30, 32), chunk_batch=2, learning_rate=1e-3, skip_without_tss=False)


def _windows(cell, chrom):
    return windows(cell.n_nodes(chrom), chrom)


@pytest.fixture(scope="module")
def trained_base(synth_cell):
    """A no-dilation FFT Seq-CNN base, 2 epochs on chunks 30-31 of each chr1 window, validated on chr2."""
    import keras

    from graphreg_zoo.models import SeqCNNBase

    keras.utils.set_random_seed(0)
    base = SeqCNNBase(dilated=False, fft_prior=True)
    result = fit(base, synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"], config=TrainConfig(**BASE_CONFIG),
                 progress=False)
    return result


def test_chunks_are_the_windows_middle_with_raw_coverage(synth_cell):
    first = _windows(synth_cell, "chr1")[0]  # starts at node -600: chunk 30 is the chromosome's first
    got = chunk_arrays(synth_cell, first, 28, 4)
    assert got["sequence"].shape == (4, 100_000, 4) and got["dnase"].shape == (4, 1000)
    np.testing.assert_array_equal(got["sequence"].reshape(-1, 4), window_sequence(synth_cell, first)[2_800_000:3_200_000])
    coverage = raw_coverage(synth_cell, padded_tracks(synth_cell, "chr1", first.start_node, 1200))
    for track in synth_cell.track_names:
        np.testing.assert_allclose(got[track].ravel(), coverage[track][28_000:32_000])
    assert not got["sequence"][:2].any() and not got["dnase"][:2].any()  # padding before the chromosome
    assert got["sequence"][2:].sum() > 0 and got["dnase"][2:].sum() > 0

    data = make_chunk_dataset(synth_cell, ["chr1", "chr2"], chunks=(20, 30), chunk_batch=4)
    assert len(data) == 4 * 3  # 4 windows x batches of 4, 4, 2 chunks
    inputs, targets = data[2]
    assert inputs["sequence"].shape == (2, 100_000, 4) and set(targets) == set(synth_cell.track_names)
    with pytest.raises(InvalidInputError, match="chunks"):
        make_chunk_dataset(synth_cell, ["chr1"], chunks=(50, 70))


def test_the_base_trains_on_its_three_tracks_with_the_fft_prior(trained_base):
    history = trained_base.history
    tracks = ("h3k4me3", "h3k27ac", "dnase")
    assert history["loss"][-1] < history["loss"][0]
    for epoch in range(2):
        # selection metric: the mean of the three validation NLLs (no prior in validation)
        val_mean = np.mean([history[f"val_{t}_nll"][epoch] for t in tracks])
        assert history["val_loss"][epoch] == pytest.approx(val_mean, rel=1e-4)
        # training loss = mean NLL + the Fourier prior, which lies in (0, 1]
        prior = history["loss"][epoch] - np.mean([history[f"{t}_nll"][epoch] for t in tracks])
        assert 0 < prior <= 1


def _two_chunks(seed: int = 0):
    rng = np.random.default_rng(seed)
    sequence = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(2, 100_000))]
    targets = {t: rng.poisson(2.0, size=(2, 1000)).astype("float32") for t in EPI_TRACKS}
    return sequence, targets


@pytest.mark.backend
def test_the_base_prior_is_the_fourier_prior_of_the_pooled_chunk_attribution():
    """pool_batch lays the batch's chunks end to end (4 x 100 kb -> 400,000) before the FFT; the
    outputs that come with the prior are the plain forward pass's."""
    import keras

    from graphreg_zoo.models import SeqCNNBase
    from graphreg_zoo.models.autodiff import input_gradients
    from graphreg_zoo.models.losses import FFT_CUTOFF_BASE, fourier_prior
    from graphreg_zoo.training.objectives import forward_with_fourier_prior

    keras.utils.set_random_seed(1)
    base = SeqCNNBase(dilated=True, fft_prior=True)
    sequence, _ = _two_chunks()
    outputs, term = forward_with_fourier_prior(base, {"sequence": keras.ops.convert_to_tensor(sequence)}, False,
                                               output="bottleneck", cutoff=FFT_CUTOFF_BASE, pool_batch=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs["dnase"]),
                               keras.ops.convert_to_numpy(base({"sequence": sequence})["dnase"]), rtol=1e-5)
    grad = input_gradients(base, {"sequence": sequence}, "sequence",
                           lambda outputs: keras.ops.sum(outputs["bottleneck"]))["sequence"]
    attribution = np.abs((grad * sequence).sum(-1)).reshape(1, -1)
    expected = float(fourier_prior(attribution, FFT_CUTOFF_BASE))
    assert float(term) == pytest.approx(expected, rel=1e-4)
    per_chunk = float(fourier_prior(np.abs((grad * sequence).sum(-1)), FFT_CUTOFF_BASE))
    assert abs(per_chunk - expected) > 1e-6  # pooling is not the same as averaging per chunk


@pytest.mark.backend
def test_one_shared_forward_pass_trains_as_the_originals_two_passes():
    """The loss and the FFT attribution share one forward pass: the training step's weight update equals
    the original formulation's, where the prior ran its own second forward pass (upstream_compat, SGD)."""
    import functools

    import keras

    from graphreg_zoo.models import SeqCNNBase
    from graphreg_zoo.models.losses import FFT_CUTOFF_BASE
    from graphreg_zoo.training.objectives import _base_loss, forward_with_fourier_prior, training_view

    shared = functools.partial(forward_with_fourier_prior, output="bottleneck", cutoff=FFT_CUTOFF_BASE,
                               pool_batch=True)

    def two_passes(model, inputs, training):
        return model(inputs, training=training), shared(model, inputs, training)[1]

    keras.utils.set_random_seed(2)
    base = SeqCNNBase(dilated=False, fft_prior=True)
    sequence, targets = _two_chunks(1)
    start = [w.copy() for w in base.get_weights()]
    updates = []
    for prior in (shared, two_passes):
        base.set_weights(start)
        view = training_view(base, True, EPI_TRACKS, _base_loss, prior)
        updates.append(sgd_step(view, {"sequence": sequence}, targets, weights_of=base))
    (loss, update), (reference_loss, reference_update) = updates
    assert loss == pytest.approx(reference_loss, rel=1e-5)
    assert any(np.any(u != 0) for u in update)
    for u, r in zip(update, reference_update):
        np.testing.assert_allclose(u, r, rtol=1e-3, atol=1e-6 * float(np.abs(r).max() + 1e-12))


def test_a_separate_seq_graphreg_trains_on_the_frozen_bottleneck(synth_cell, trained_base, tmp_path):
    from graphreg_zoo.models import SeqGraphReg
    from graphreg_zoo.prediction import predict

    base = trained_base.model
    head = SeqGraphReg(n_gat_layers=1, seed=0)
    before_base = [w.copy() for w in base.get_weights()]
    before_head = [w.copy() for w in head.get_weights()]
    with pytest.raises(InvalidInputError, match="base="):
        fit(head, synth_cell, train_chroms=["chr1"], valid_chroms=["chr2"], config=TrainConfig(epochs=1))
    train_w, valid_w = _windows(synth_cell, "chr1")[:1], _windows(synth_cell, "chr2")[:1]
    result = fit(head, synth_cell, train_windows=train_w, valid_windows=valid_w, progress=False, base=base,
                 config=TrainConfig(epochs=2, learning_rate=1e-3, skip_without_tss=False),
                 bottleneck_dir=tmp_path / "bn")
    assert len(result.history["val_loss"]) == 2
    assert all(np.array_equal(a, b) for a, b in zip(before_base, base.get_weights()))  # the base stays frozen
    assert any(not np.array_equal(a, b) for a, b in zip(before_head, head.get_weights()))

    cached = sorted(p.name for p in (tmp_path / "bn" / weights_fingerprint(base)).glob("*.npy"))
    assert cached == ["chr1_0.npy", "chr2_0.npy"]
    cache = BottleneckCache(base, synth_cell, tmp_path / "bn")
    h = bottleneck(base, window_sequence(synth_cell, train_w[0]))
    np.testing.assert_allclose(cache(train_w[0]), h, rtol=1e-5, atol=1e-6)

    with pytest.raises(InvalidInputError, match="base="):
        predict(head, synth_cell, ["chr1"], progress=False)
    table = predict(head, synth_cell, ["chr1"], progress=False, base=base)
    arrays = window_arrays(synth_cell, train_w[0], "epi")
    direct = head.predict_on_batch({"bottleneck": h[None], "adjacency": arrays["adjacency"][None]})["cage"][0]
    rows = table[table["bin_start"] < 200 * 5000]  # the first window's middle (nodes 0..199)
    nodes = (rows["bin_start"] // 5000).to_numpy() + 600
    np.testing.assert_allclose(rows["prediction"].to_numpy(), direct[nodes], rtol=1e-4, atol=1e-6)


def test_a_diverging_run_stops_with_an_actionable_error(synth_cell):
    """Dropout on + frozen BN statistics: the dilated base's log-rates reach ~50-80 at initialisation."""
    import keras

    from graphreg_zoo.errors import TrainingDivergedError
    from graphreg_zoo.models import SeqCNNBase

    keras.utils.set_random_seed(0)
    config = TrainConfig(**{**BASE_CONFIG, "epochs": 3, "chunk_batch": 1, "base_chunks": (30, 31)})
    with pytest.raises(TrainingDivergedError, match="upstream_compat: true"):
        fit(SeqCNNBase(dilated=True), synth_cell, train_windows=_windows(synth_cell, "chr1")[1:],
            valid_windows=_windows(synth_cell, "chr2")[1:], config=config, progress=False)


def _recipe(path, model_class, config, training, **data):
    recipe = {"name": path.stem, "model": {"class": model_class, "config": config}, "data": data,
              "chromosomes": {"train": ["chr1"], "valid": ["chr2"], "test": []}, "training": training}
    path.write_text(yaml.safe_dump(recipe))
    return path


def _cli(*args):
    """`graphreg-zoo ARGS` in a fresh process (three trainings in one worker would keep their memory)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "graphreg_zoo.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=1200)
    return done.returncode, done.stdout, done.stderr


@HEAVY
def test_cli_trains_a_base_then_a_seq_cnn_on_it_and_predicts(synth_cell, tmp_path):
    cli = _cli
    base_recipe = _recipe(tmp_path / "base.yaml", "SeqCNNBase", {"dilated": True, "fft_prior": False},
                          {"epochs": 1, "base_chunks": [30, 32], "chunk_batch": 2, "skip_without_tss": False,
                           "upstream_compat": True})
    code, out, err = cli("train", base_recipe, "--data", synth_cell.path, "-o", tmp_path / "base", "-q")
    assert code == 0, err
    assert "Pearson R of log2 coverage per track" in out
    card = json.loads((tmp_path / "base" / "card.json").read_text())
    assert set(card["metrics"]["valid"]) == {"chroms", "h3k4me3", "h3k27ac", "dnase"}
    assert card["metrics"]["valid"]["dnase"]["n_bins"] == 2 * 2 * 1000

    head_recipe = _recipe(tmp_path / "head.yaml", "SeqCNN", {}, {"epochs": 1, "skip_without_tss": False,
                                                                  "upstream_compat": True},
                          base_model="base")
    code, _, err = cli("train", head_recipe, "--data", synth_cell.path, "-o", tmp_path / "head", "-q")
    assert code == 4 and "--base" in err and "'base'" in err
    code, out, err = cli("train", head_recipe, "--data", synth_cell.path, "-o", tmp_path / "head", "-q",
                         "--base", tmp_path / "base")
    assert code == 0, err
    card = json.loads((tmp_path / "head" / "card.json").read_text())
    assert card["base_model"]["recipe"] == "base" and card["metrics"]["valid"]["A"]["n_genes"] > 0
    assert not (tmp_path / "head" / ".bottlenecks").exists()  # the cache is removed after a finished run

    code, out, err = cli("predict", "-m", tmp_path / "head", "--base", tmp_path / "base", "--cell", synth_cell.path,
                         "-o", tmp_path / "pred", "--chrom", "chr2", "-q")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "pred" / "predictions.csv")
    assert len(table) > 0 and table["prediction"].notna().all()

    from graphreg_zoo.models import SeqCNNBase
    from graphreg_zoo.zoo.presets import save_preset

    other = save_preset(SeqCNNBase(dilated=False), tmp_path / "other_base")  # another flavour, other weights
    code, _, err = cli("predict", "-m", tmp_path / "head", "--base", other, "--cell", synth_cell.path,
                       "-o", tmp_path / "pred2", "--chrom", "chr2", "-q")
    assert code == 4 and "Seq-CNN_base_nodilation" in err and "dilated=True" in err and "weights" in err
