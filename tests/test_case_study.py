"""Reusable pieces of the K562 chr22 case study (benchmarks/case_study_k562_chr22.py):
element counts -> 100 bp tracks and TPM -> TSS target (prep.proxies), and window-level splits
in `prep.windows.make_dataset` / `training.engine.fit`."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.proxies import (
    element_count_track,
    read_expression,
    spread_counts,
    tss_expression,
    write_bin_bedgraph,
    write_point_bedgraph,
)
from graphreg_zoo.prep.tracks import TrackFile, bin_track
from graphreg_zoo.prep.windows import make_dataset, windows

CHR22 = 50_818_468
DNASE = "hg38_K562_chr22/activity/Enhancers.DHS.ENCFF860XAE.chr22.sorted.se.bam.CountReads.bedgraph"


def _loop_spread(table: pd.DataFrame, length: int, bin_size: int) -> np.ndarray:
    """Independent reference: walk every element and every bin it touches."""
    out = np.zeros(-(-length // bin_size))
    for start, end, count in table[[1, 2, 3]].itertuples(index=False):
        for b in range(start // bin_size, (end - 1) // bin_size + 1):
            overlap = min(end, (b + 1) * bin_size) - max(start, b * bin_size)
            out[b] += count * overlap / (end - start)
    return out


def test_element_counts_render_to_100bp_bins_like_a_per_element_walk(realdata):
    path = realdata / DNASE
    table = pd.read_csv(path, sep="\t", header=None)
    rendered = element_count_track(path, "chr22", CHR22)
    assert rendered.shape == (-(-CHR22 // 100),)
    np.testing.assert_allclose(rendered, _loop_spread(table, CHR22, 100), rtol=1e-9, atol=1e-9)
    assert rendered.sum() == pytest.approx(table[3].sum())  # every read kept
    # an element of 500 bp on the grid with 3 reads gives five bins of 0.6
    row = table[(table[1] % 100 == 0) & (table[2] - table[1] == 500) & (table[3] == 3)].iloc[0]
    np.testing.assert_allclose(rendered[row[1] // 100 : row[2] // 100], 0.6)


def test_a_rendered_bedgraph_reads_back_through_the_track_binner(realdata, tmp_path):
    rendered = element_count_track(realdata / DNASE, "chr22", CHR22)
    out = write_bin_bedgraph(tmp_path / "dnase.bedgraph", "chr22", rendered, CHR22)
    with TrackFile(out) as track:
        again = bin_track(track, "chr22", CHR22, bin_size=100, stat="mean")
    np.testing.assert_allclose(again, rendered, rtol=1e-6)


def test_spread_counts_refuses_overlapping_elements():
    with pytest.raises(InvalidInputError, match="overlap"):
        spread_counts(np.array([0, 50]), np.array([100, 150]), np.array([1.0, 1.0]), 1000)


def test_tpm_is_matched_by_symbol_and_summed_per_base(tmp_path):
    expr = tmp_path / "tpm.txt"
    expr.write_text("A\t2.5\nB\t1\nDUP\t3\nDUP\t4\n")
    values = read_expression(expr)
    assert dict(values) == {"A": 2.5, "B": 1.0}  # the ambiguous symbol is left out
    tss = pd.DataFrame({"chrom": "chr1", "tss": [10, 10, 500, 900], "gene": ["A", "B", "DUP", "C"],
                        "strand": "+"})
    matched = tss_expression(tss, values)
    assert list(matched["gene"]) == ["A", "B"]
    text = write_point_bedgraph(tmp_path / "t.bedgraph", matched).read_text()
    assert text == "chr1\t10\t11\t3.5\n"


def test_explicit_windows_make_a_within_chromosome_split(synth_cell):
    wins = [w for c in synth_cell.chroms for w in windows(synth_cell.n_nodes(c), c)]
    train = wins[::2]
    data = make_dataset(synth_cell, None, windows=train, with_adjacency=False)
    assert data.windows == train
    with pytest.raises(InvalidInputError, match="not a window"):
        make_dataset(synth_cell, None, windows=[train[0].__class__("chr1", 7, False, 99)])
    with pytest.raises(InvalidInputError, match="chromosomes or an explicit list"):
        make_dataset(synth_cell, None)


def test_fit_trains_on_the_given_windows_only(synth_cell, monkeypatch):
    import graphreg_zoo.prep.windows as windows_module
    from graphreg_zoo.models.epi import EpiCNN
    from graphreg_zoo.training.engine import TrainConfig, fit

    wins = [w for c in synth_cell.chroms for w in windows(synth_cell.n_nodes(c), c)]
    train, valid = wins[:-1], wins[-1:]
    with pytest.raises(InvalidInputError, match="both training and validation windows"):
        fit(EpiCNN(), synth_cell, train_windows=wins, valid_windows=valid)
    with pytest.raises(InvalidInputError, match="give valid_chroms or valid_windows"):
        fit(EpiCNN(), synth_cell, train_windows=train)
    used = []

    def recording(*args, **kwargs):
        data = make_dataset(*args, **kwargs)
        used.append(sorted(data.windows, key=lambda w: (w.chrom, w.index)))
        return data

    monkeypatch.setattr(windows_module, "make_dataset", recording)
    config = TrainConfig(epochs=1, upstream_compat=True, skip_without_tss=False, shuffle=True)
    result = fit(EpiCNN(), synth_cell, train_windows=train, valid_windows=valid, config=config, progress=False)
    assert used == [train, valid]
    assert len(result.history["loss"]) == 1 and np.isfinite(result.history["val_loss"][0])
