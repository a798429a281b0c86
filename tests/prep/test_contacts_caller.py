"""The built-in significance caller: planted contacts found, nulls controlled, BH exact, CLI round trip."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.contacts.calling import build_graphs, call_table
from graphreg_zoo.prep.contacts.significance import benjamini_hochberg, call_contacts
from graphreg_zoo.prep.contacts.tables import HICDCPLUS_COLUMNS

N_BINS, MAX_BINS = 1500, 100


def simulate(rng: np.random.Generator, alpha: float, planted: list[tuple[int, int]]) -> pd.DataFrame:
    """NB counts around E(d) = 40 d^-1 times per-bin biases, with a few strong planted pixels."""
    i, d = np.meshgrid(np.arange(N_BINS), np.arange(1, MAX_BINS + 1), indexing="ij")
    j = i + d
    ok = j < N_BINS
    i, j, d = i[ok], j[ok], d[ok]
    bias = rng.lognormal(0, 0.3, N_BINS)
    mu = 40.0 * d**-1.0 * bias[i] * bias[j]
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
    px = pd.DataFrame({"bin1": i, "bin2": j, "count": y.astype(float)})
    for a, b in planted:
        px.loc[(px.bin1 == a) & (px.bin2 == b), "count"] = 60.0
    return px[px["count"] > 0]


def test_planted_contacts_are_found_and_nulls_are_controlled(rng):
    planted = [(100, 180), (400, 450), (900, 990), (1200, 1260)]
    px = simulate(rng, alpha=0.2, planted=planted)
    called = call_contacts(px, N_BINS * 5000, max_distance=MAX_BINS * 5000)
    hits = called[called.qvalue <= 0.1]
    assert set(planted) <= set(zip(hits.bin1, hits.bin2))
    assert len(hits) - len(planted) <= 0.1 * len(hits) + 3  # false discoveries about the FDR or fewer
    null = called[~called.set_index(["bin1", "bin2"]).index.isin(planted)]
    assert (null.pvalue < 0.01).mean() < 0.02  # null p-values are not anti-conservative


def test_overdispersed_nulls_give_no_calls(rng):
    called = call_contacts(simulate(rng, alpha=0.8, planted=[]), N_BINS * 5000, max_distance=MAX_BINS * 5000)
    assert (called.qvalue <= 0.1).sum() <= 2


def test_benjamini_hochberg_matches_scipy(rng):
    p = rng.uniform(size=500) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p))
    # untested pairs count as p = 1
    padded = np.concatenate([p, np.ones(300)])
    np.testing.assert_allclose(benjamini_hochberg(p, 800), false_discovery_control(padded)[:500])


def test_input_checks():
    with pytest.raises(InvalidInputError, match="lacks column"):
        call_contacts(pd.DataFrame({"bin1": [0], "bin2": [1]}), 10_000)
    with pytest.raises(InvalidInputError, match=r"bins must lie in \[0, 2\)"):
        call_contacts(pd.DataFrame({"bin1": [0], "bin2": [5], "count": [1.0]}), 10_000)
    with pytest.raises(InvalidInputError, match="finite and >= 0"):
        call_contacts(pd.DataFrame({"bin1": [0], "bin2": [1], "count": [-1.0]}), 10_000)
    with pytest.raises(InvalidInputError, match="nothing to call"):
        call_contacts(pd.DataFrame({"bin1": [0], "bin2": [0], "count": [3.0]}), 10_000)


def test_public_name_is_wired():
    import graphreg_zoo

    assert graphreg_zoo.call_contacts is call_contacts


def test_cli_on_chr22_dump_round_trips_through_hicdcplus(realdata, tmp_path, cli):
    dump = realdata / "hg38_K562_chr22" / "hic" / "chr22.5kb.RAWobserved.gz"
    out = tmp_path / "K562_HiC_FDR_1_chr22.tsv"
    code, stdout, stderr = cli("call-contacts", dump, "-o", out, "--format", "juicer_dump", "--chrom", "chr22")
    assert code == 0, stderr
    table = pd.read_csv(out, sep="\t")
    assert tuple(table.columns) == HICDCPLUS_COLUMNS
    assert len(table) > 50 and (table.qvalue <= 0.1).all() and (table.startI % 5000 == 0).all()
    assert f"chr22: {len(table)} pairs" in stdout
    sizes = {"chr22": 50_818_468}
    from_table = build_graphs(out, "hicdcplus", sizes, ["chr22"])["chr22"]
    direct = build_graphs(dump, "juicer_dump", sizes, ["chr22"], call=True)["chr22"]
    assert (from_table != direct).nnz == 0
    # a coarser-only file is refused with exit code 4
    code, _, stderr = cli("call-contacts", realdata / "hic_formats" / "GSM1436265_RAD21_ENCFF002EMQ_10kb.cool",
                          "-o", tmp_path / "x.tsv", "--format", "cool", "--chrom", "chr1")
    assert code == 4 and "coarser" in stderr and not (tmp_path / "x.tsv").exists()


def test_call_table_uses_file_lengths_for_cool(realdata):
    table = call_table(realdata / "hg38_K562_chr22" / "hic" / "K562_chr22_5kb_raw.DERIVED.cool", "cool", ["chr22"],
                       fdr=0.01)
    assert len(table) > 0 and table.endJ.max() <= 50_818_468 and (table.D == table.startJ - table.startI).all()


def test_benjamini_hochberg_keeps_untested_nan_and_matches_the_definition():
    """One BH for the caller and the knockout tests: NaN p-values stay NaN and are not counted as tests."""
    from graphreg_zoo.prep.contacts.significance import benjamini_hochberg

    p = np.array([0.01, np.nan, 0.04, 0.03, 0.5])
    finite = p[np.isfinite(p)]
    m = len(finite)
    expected = [min(1.0, min(finite[j] * m / (np.sum(finite <= finite[j])) for j in range(m) if finite[j] >= v))
                for v in finite]
    q = benjamini_hochberg(p)
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[np.isfinite(p)], expected)
    np.testing.assert_allclose(benjamini_hochberg(p, n_tests=8)[0], 0.01 * 8)
