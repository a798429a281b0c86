"""prediction.py on a synthetic CellData: stitching, fold routing, cross-cell normalisation warnings."""
from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from graphreg_zoo.prediction import check_compatibility, predict, predict_nodes
from graphreg_zoo.prep.cell import CellData, _quantiles
from graphreg_zoo.prep.windows import WINDOW_NODES, window_arrays, windows
from graphreg_zoo.zoo.ensemble import FoldEnsemble
from graphreg_zoo.zoo.folds import AUTOSOMES, N_FOLDS, chromosome_number, fold_chromosomes, recorded_split, split_role

SHIFT = "not normalised like the model's training data"


def constant_model(value: float, name: str = "constant"):
    """A graphreg-shaped Keras model (epigenome + adjacency -> cage) that predicts `value` everywhere."""
    import keras

    epigenome = keras.Input((WINDOW_NODES * 50, 3), name="epigenome")
    adjacency = keras.Input((WINDOW_NODES, WINDOW_NODES), name="adjacency")
    cage = keras.layers.Lambda(lambda a, v=value: keras.ops.ones_like(a[:, :, 0]) * v, name="cage")(adjacency)
    return keras.Model({"epigenome": epigenome, "adjacency": adjacency}, {"cage": cage}, name=name)


@pytest.mark.backend
def test_compiled_forward_equals_eager_and_xla_gives_way_quietly():
    """Asked for XLA, a model compiles with it (JAX always jits), except where TensorFlow's op
    determinism (switched on by a training run) rules it out: then graph mode, with no warning reaching
    the user; either way the compiled forward equals the eager one."""
    import keras

    from graphreg_zoo.models import EpiCNN, EpiGraphReg
    from graphreg_zoo.models.inference import compile_for_inference, forward_cage

    xla_possible = True
    if keras.backend.backend() == "tensorflow":
        from tensorflow.python.framework.config import is_op_determinism_enabled

        xla_possible = not is_op_determinism_enabled()
    rng = np.random.default_rng(0)
    inputs = {"epigenome": rng.gamma(0.5, 2, size=(2, WINDOW_NODES * 50, 3)).astype("float32"),
              "adjacency": (rng.random((2, WINDOW_NODES, WINDOW_NODES)) < 0.01).astype("float32")}
    for model in (EpiGraphReg(seed=0), EpiCNN()):
        x = {k: inputs[k] for k in (i.name for i in model.inputs)}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile_for_inference(model, x, mode="xla")
        on_jax = keras.backend.backend() == "jax"
        assert bool(model.jit_compile) == (on_jax or xla_possible)
        np.testing.assert_allclose(forward_cage(model, x), np.asarray(model(x, training=False)["cage"]),
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.backend
def test_the_adjacency_goes_in_as_its_edges_and_predicts_as_the_weighted_graph():
    """`model_inputs` hands the adjacency over as `adjacency > 0` (booleans: a quarter of the bytes to copy):
    negative or fractional entries included, the compiled forward on it equals the model on the float32 graph
    it came from, so nothing the model sees changes."""
    from graphreg_zoo.models import EpiGraphReg
    from graphreg_zoo.models.inference import forward_cage, model_inputs

    rng = np.random.default_rng(3)
    graph = np.zeros((2, WINDOW_NODES, WINDOW_NODES), dtype="float32")
    where = rng.random(graph.shape) < 0.01
    graph[where] = rng.choice(np.array([0.5, 2.0, -1.0], dtype="float32"), size=int(where.sum()))
    arrays = [{"epigenome": rng.gamma(0.5, 2, size=(WINDOW_NODES * 50, 3)).astype("float32"), "adjacency": g}
              for g in graph]
    batch = model_inputs(["epigenome", "adjacency"], arrays)
    assert batch["adjacency"].dtype == bool
    np.testing.assert_array_equal(batch["adjacency"], graph > 0)
    model = EpiGraphReg(seed=0)
    as_floats = {"epigenome": batch["epigenome"], "adjacency": graph}
    np.testing.assert_allclose(forward_cage(model, batch), np.asarray(model(as_floats, training=False)["cage"]),
                               rtol=1e-5, atol=1e-7)


def test_stitching_equals_the_middles_of_the_windows(synth_cell):
    from graphreg_zoo.models import EpiGraphReg

    model = EpiGraphReg(seed=0)
    table = predict(model, synth_cell, progress=False)
    nodes = {r.chrom: r.values for r in predict_nodes(model, synth_cell, progress=False)}
    for chrom in synth_cell.chroms:
        n = synth_cell.n_nodes(chrom)
        manual, covered = np.full(n, np.nan, np.float32), np.zeros(n, int)
        for window in windows(n, chrom):
            arrays = window_arrays(synth_cell, window, "epi")
            inputs = {k: arrays[k][None] for k in ("epigenome", "adjacency")}
            cage = np.asarray(model(inputs, training=False)["cage"])[0]
            lo, hi = window.middle
            middle = np.arange(max(lo, 0), min(hi, n))
            manual[middle] = cage[middle - window.start_node]
            covered[middle] += 1
        assert (covered == 1).all(), f"{chrom}: the window middles do not tile the chromosome"
        assert manual.std() > 0
        np.testing.assert_allclose(nodes[chrom], manual, rtol=1e-4, atol=1e-6)
        rows = table[table["chrom"] == chrom]
        tss = synth_cell.tss(chrom)
        assert rows["bin_start"].tolist() == tss["bin_start"].tolist()
        np.testing.assert_allclose(rows["prediction"], manual[tss["node"]], rtol=1e-4, atol=1e-6)


class TwentyTwoChromCell(CellData):
    """A stand-in CellData: chr1..chr22 and chrX of 2 Mb, all zeros, one TSS per chromosome in its last 200 nodes.

    400 nodes is a multiple of the 400-node stride, where upstream's loop flags no window as the last one.
    """

    LENGTH = 2_000_000

    def __init__(self) -> None:  # no file behind it
        chroms = [f"chr{i}" for i in range(1, 23)] + ["chrX"]
        self.path = "twenty-two.h5"
        self.attrs = {"genome": "hg19", "chroms": chroms, "chrom_sizes": {c: self.LENGTH for c in chroms}}

    def tracks(self, chrom, start=None, stop=None):
        return np.zeros(((stop or self.LENGTH // 100) - (start or 0), 3), np.float32)

    def graph(self, chrom):
        return sp.csr_matrix((self.n_nodes(chrom),) * 2, dtype=np.float32)

    def cage(self, chrom):
        return np.zeros(self.n_nodes(chrom), np.float32)

    def tss_count(self, chrom):
        return np.ones(self.n_nodes(chrom), np.float32)

    def tss(self, chrom):
        return pd.DataFrame({"node": [350], "bin_start": [1_750_000], "tss": [1_750_100], "n_tss": [1], "genes": ["G"]})


@pytest.mark.parametrize("organism", ["human", "mouse"])
def test_fold_routing_never_predicts_a_training_chromosome(organism):
    ensemble = FoldEnsemble({f: constant_model(float(f), f"fold{f}") for f in range(1, N_FOLDS + 1)}, organism,
                            name="ensemble")
    table = predict(ensemble, TwentyTwoChromCell(), progress=False)
    assert len(table) == 23 and table["prediction"].notna().all()  # the chromosome ends are predicted too
    assert (table["model"] == "ensemble").all()
    if organism == "human":
        assert table.set_index("chrom").loc[["chr1", "chr2", "chr22", "chrX"], "role"].tolist() == [
            "validation", "test", "training", "unseen"]
    for row in table.itertuples():
        number = chromosome_number(row.chrom)
        held = {role: [f for f in range(1, N_FOLDS + 1) if number in fold_chromosomes(f, organism)[role]]
                for role in ("test", "valid")}
        expected = (held["test"] or held["valid"] or [None])[0]  # test fold first, then validation fold
        if expected is None:  # every fold trained on an autosome no fold held out (human chr22); none on chrX
            assert row.fold == "mean_of_folds" and row.prediction == pytest.approx(5.5), row
            assert row.role == ("unseen" if number is None or number > AUTOSOMES[organism] else "training"), row
            continue
        assert row.fold == f"fold{expected}" and row.prediction == expected, row
        assert row.role == ("test" if held["test"] else "validation"), row
        assert number in (*fold_chromosomes(expected, organism)["valid"], *fold_chromosomes(expected, organism)["test"])


def test_a_single_preset_labels_rows_with_its_recorded_split(tmp_path):
    """A trained preset's card records train/valid/test chromosomes; a zoo member's its fold (valid and test
    autosomes, every other autosome trained); a model without a card has no known split."""
    from graphreg_zoo.models import EpiCNN
    from graphreg_zoo.zoo.presets import load_preset, save_preset

    split = {"train": ["chr1", "chr2"], "valid": ["chr3"], "test": ["4"]}  # names as a user may write them
    preset = load_preset(save_preset(EpiCNN(), tmp_path / "p", {"name": "mine", "fold": 3, "chromosomes": split}))
    cell, chroms = TwentyTwoChromCell(), ["chr1", "chr3", "chr4", "chr5"]
    table = predict(preset, cell, chroms, progress=False)
    assert table[["chrom", "model", "fold", "role"]].values.tolist() == [
        ["chr1", "mine", "fold3", "training"], ["chr3", "mine", "fold3", "validation"],
        ["chr4", "mine", "fold3", "test"], ["chr5", "mine", "fold3", "unseen"]]
    bare = predict(EpiCNN(name="bare"), cell, ["chr1"], progress=False)
    assert bare[["model", "fold", "role"]].values.tolist() == [["bare", "none", "unknown"]]
    member = recorded_split({"valid": [1, 11], "test": [2, 12], "organism": "human"})
    assert [split_role(member, c) for c in ("chr2", "11", "chr3", "chr22", "chrX")] == [
        "test", "validation", "training", "training", "unseen"]


def test_chromosomes_are_matched_as_prepare_matches_them():
    """`22` names the cell's chr22 (as `prepare` accepts it); a chromosome the cell lacks is refused."""
    from graphreg_zoo.errors import InvalidInputError

    ensemble = FoldEnsemble({1: constant_model(1.0)}, "human")
    table = predict(ensemble, TwentyTwoChromCell(), ["22", "X"], progress=False)
    assert table["chrom"].tolist() == ["chr22", "chrX"]
    with pytest.raises(InvalidInputError, match="chr23"):
        predict(ensemble, TwentyTwoChromCell(), ["chr23"], progress=False)


def _scaled_copy(cell: CellData, factor: float, path) -> CellData:
    """A copy of `cell` whose tracks are multiplied by `factor` (quantiles recomputed, as prepare would)."""
    import h5py

    shutil.copyfile(cell.path, path)
    with h5py.File(path, "r+") as h5:
        for chrom in cell.chroms:
            h5[f"chroms/{chrom}/tracks"][...] = h5[f"chroms/{chrom}/tracks"][...] * factor
        h5.attrs["track_quantiles"] = json.dumps(_quantiles(h5, cell.chroms))
    return CellData(path)


def test_normalisation_warning_fires_only_for_a_mis_normalised_cell(synth_cell, tmp_path):
    model = constant_model(1.0)
    model.data_spec = {"track_quantiles": synth_cell.attrs["track_quantiles"]}  # "trained" on synth_cell
    scaled = _scaled_copy(synth_cell, 3.0, tmp_path / "scaled.h5")
    assert check_compatibility(model, synth_cell) == []
    messages = check_compatibility(model, scaled)
    assert len(messages) == 3 and all(SHIFT in m for m in messages)
    for cell, expected in ((synth_cell, 0), (scaled, 3)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            predict(model, cell, [cell.chroms[0]], progress=False)
        assert sum(SHIFT in str(w.message) for w in caught) == expected


@pytest.mark.backend
def test_a_fold_ensemble_compiles_one_model_per_architecture_and_predicts_as_its_members(synth_cell):
    """Three members of one architecture run through one compiled copy with their weights swapped in:
    no member is compiled, the copy traces as often as a single model does (TensorFlow), and every row
    equals what its routed member(s) predict alone."""
    import keras

    from graphreg_zoo.models import EpiCNN

    members = {fold: EpiCNN() for fold in (2, 3, 4)}  # chr1: held out by none -> mean of 3; chr2: fold 2's valid
    ensemble = FoldEnsemble(members)
    table = predict(ensemble, synth_cell, progress=False)
    again = predict(ensemble, synth_cell, progress=False)
    assert not any(m.compiled for m in members.values())
    (runner,) = ensemble.shared_forward().runners.values()
    traces = runner.predict_function.experimental_get_tracing_count() if keras.backend.backend() == "tensorflow" else 0

    alone = {fold: predict(m, synth_cell, progress=False)["prediction"].to_numpy() for fold, m in members.items()}
    by_fold = table["fold"].to_numpy()
    averaged, routed = by_fold == "mean_of_folds", by_fold == "fold2"
    assert averaged.any() and routed.any() and (averaged | routed).all()
    mean = np.mean(list(alone.values()), axis=0)
    assert np.abs(mean[averaged] - alone[2][averaged]).max() > 1e-3  # the members differ: a missed swap shows
    np.testing.assert_allclose(table["prediction"].to_numpy()[averaged], mean[averaged], rtol=1e-5)
    np.testing.assert_allclose(table["prediction"].to_numpy()[routed], alone[2][routed], rtol=1e-5)
    pd.testing.assert_frame_equal(again, table)
    if keras.backend.backend() == "tensorflow":
        assert traces == members[2].predict_function.experimental_get_tracing_count() >= 1
    members[2].set_weights(members[3].get_weights())  # a member changed (trained) between predictions
    changed = predict(ensemble, synth_cell, progress=False)["prediction"].to_numpy()
    np.testing.assert_allclose(changed[routed], alone[3][routed], rtol=1e-5)
    np.testing.assert_allclose(changed[averaged], np.mean([alone[3], alone[3], alone[4]], axis=0)[averaged],
                               rtol=1e-5)


class LongRandomCell(TwentyTwoChromCell):
    """A stand-in CellData: one 14 Mb chromosome (7 windows) with random tracks and a random 1 % graph."""

    LENGTH = 14_000_000

    def __init__(self) -> None:
        self.path = "long.h5"
        self.attrs = {"genome": "hg19", "chroms": ["chr1"], "chrom_sizes": {"chr1": self.LENGTH}}
        rng = np.random.default_rng(0)
        self._tracks = rng.gamma(0.5, 2, (self.LENGTH // 100, 3)).astype(np.float32)
        self._graph = sp.random(self.n_nodes("chr1"), self.n_nodes("chr1"), 0.01, "csr", np.float32, rng)
        self._graph.data[:] = 1

    def tracks(self, chrom, start=None, stop=None):
        return self._tracks[start:stop]

    def graph(self, chrom):
        return self._graph

    def tss(self, chrom):
        nodes = np.arange(0, self.n_nodes(chrom), 50)
        return pd.DataFrame({"node": nodes, "bin_start": nodes * 5000, "tss": nodes * 5000 + 100, "n_tss": 1,
                             "genes": [f"G{n}" for n in nodes]})


@pytest.mark.backend
def test_the_last_partial_batch_of_a_chromosome_reuses_the_compiled_batch_shape():
    """7 windows at batch size 4: the second batch (3 windows) is padded to 4, so the forward sees one shape
    (a new one would trace, and under XLA compile, again), and every node equals the unbatched prediction."""
    from graphreg_zoo.models import EpiGraphReg
    from graphreg_zoo.models.inference import forward_cage
    from graphreg_zoo.prediction import predict_chromosome

    model, cell, shapes = EpiGraphReg(seed=0), LongRandomCell(), []

    def recording(member, inputs):
        shapes.append(len(inputs["epigenome"]))
        return forward_cage(member, inputs)

    assert len(windows(cell.n_nodes("chr1"), "chr1")) == 7
    batched = predict_chromosome(model, cell, "chr1", batch_size=4, forward=recording)
    assert shapes == [4, 4]
    single = predict_chromosome(model, cell, "chr1", batch_size=1)
    np.testing.assert_allclose(batched.values, single.values, rtol=1e-4, atol=1e-6)
    assert np.isfinite(batched.values).all()


def test_the_loader_runs_a_bounded_number_of_batches_ahead_and_keeps_their_order():
    """Loading a whole chromosome ahead held every window's dense adjacency at once; at most `depth` wait."""
    from concurrent.futures import ThreadPoolExecutor

    from graphreg_zoo.prediction import _prefetched

    started: list[int] = []
    seen: list[tuple[int, int]] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        for item in _prefetched(pool, lambda i: started.append(i) or i, range(10), depth=2):
            seen.append((item, len(started)))
    assert [item for item, _ in seen] == list(range(10))
    assert all(n_started <= item + 3 for item, n_started in seen)


def test_a_batch_may_span_two_chromosomes_and_only_the_last_batch_is_padded(synth_cell, monkeypatch):
    """Two chromosomes of 2 windows at batch size 3: batches [chr1, chr1, chr2] and [chr2 + 2 padding],
    where batching each chromosome alone would pad both; every node equals the unbatched prediction."""
    from graphreg_zoo import prediction
    from graphreg_zoo.models import EpiGraphReg

    model, calls = EpiGraphReg(seed=0), []
    assert [len(windows(synth_cell.n_nodes(c), c)) for c in synth_cell.chroms] == [2, 2]
    single = predict_nodes(model, synth_cell, batch_size=1, progress=False)
    inner = prediction.forward_cage
    monkeypatch.setattr(prediction, "forward_cage", lambda m, x: calls.append(len(x["epigenome"])) or inner(m, x))
    batched = predict_nodes(model, synth_cell, batch_size=3, progress=False)
    assert calls == [3, 3], "one stream over both chromosomes: two batches of the compiled size"
    assert [r.chrom for r in batched] == list(synth_cell.chroms)
    for b, s in zip(batched, single):
        np.testing.assert_allclose(b.values, s.values, rtol=1e-4, atol=1e-6)
        assert np.isfinite(b.values).all()
