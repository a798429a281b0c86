"""The synthetic genome simulator (graphreg_zoo.simulation.genome) and `graphreg-zoo simulate`."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.simulation.files import simulate
from graphreg_zoo.simulation.genome import (
    ACTIVATORS,
    BIN,
    NEUTRAL,
    PACKAGE_MOTIFS,
    SimConfig,
    SimulatedGenome,
    Truth,
    oracle_cage,
    simulation_motifs,
)

SMALL = {"n_chroms": 1, "chrom_length": 1_500_000}
HICDCPLUS_COLUMNS = "chrI startI endI chrJ startJ endJ D counts pvalue qvalue mu sdev".split()


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> SimulatedGenome:
    return simulate(tmp_path_factory.mktemp("sim") / "genome", seed=3, preset="tiny")


def _bigwig_data(path) -> list:
    import pyBigWig

    with pyBigWig.open(str(path)) as bw:
        return [(c, bw.intervals(c)) for c in bw.chroms()]


def _cool_pixels(path) -> pd.DataFrame:
    import cooler

    return cooler.Cooler(str(path)).pixels()[:]


def test_same_seed_same_data(tmp_path):
    a = simulate(tmp_path / "a", seed=11, **SMALL)
    b = simulate(tmp_path / "b", seed=11, **SMALL)
    c = simulate(tmp_path / "c", seed=12, **SMALL)
    for role in ("fasta", "fai", "gtf", "chrom_sizes", "cell_yaml", "motifs"):
        assert a.files[role].read_bytes() == b.files[role].read_bytes(), role
    for table in (a.files["truth"]).iterdir():
        assert table.read_bytes() == (b.files["truth"] / table.name).read_bytes(), table.name
    for hicdc in a.files["hicdcplus"].iterdir():
        assert hicdc.read_bytes() == (b.files["hicdcplus"] / hicdc.name).read_bytes()
    for role in ("h3k4me3", "h3k27ac", "dnase", "cage"):
        assert _bigwig_data(a.files[role]) == _bigwig_data(b.files[role]), role
    pd.testing.assert_frame_equal(_cool_pixels(a.files["cool"]), _cool_pixels(b.files["cool"]))
    assert a.files["fasta"].read_bytes() != c.files["fasta"].read_bytes()
    assert not a.truth.genes["tss"].equals(c.truth.genes["tss"])


def test_files_are_readable(sim):
    import cooler
    import pyBigWig

    from graphreg_zoo.prep.genes import read_tss
    from graphreg_zoo.prep.sequence import Fasta

    sizes = sim.config.chrom_sizes()
    assert list(sizes) == ["chr1", "chr2"] and sizes["chr2"] % BIN != 0
    written = pd.read_csv(sim.files["chrom_sizes"], sep="\t", header=None)
    assert written.values.tolist() == [list(x) for x in sizes.items()]
    for role in ("h3k4me3", "h3k27ac", "dnase", "cage"):
        with pyBigWig.open(str(sim.files[role])) as bw:
            assert bw.isBigWig() and bw.chroms() == sizes
            assert bw.stats("chr1", 0, sizes["chr1"], type="sum", exact=True)[0] > 0
    clr = cooler.Cooler(str(sim.files["cool"]))
    assert clr.binsize == BIN and dict(clr.chromsizes) == sizes
    fasta = Fasta(sim.files["fasta"])
    assert fasta.chroms == sizes
    tss = read_tss(sim.files["gtf"])
    genes = sim.truth.genes
    assert sorted(tss["gene"]) == sorted(genes["gene_name"])
    merged = tss.merge(genes, left_on="gene", right_on="gene_name")
    assert (merged["tss_x"] == merged["tss_y"]).all()
    reopened = SimulatedGenome.load(sim.out_dir)
    assert reopened.config == sim.config
    pd.testing.assert_frame_equal(reopened.truth.links, Truth.load(sim.files["truth"]).links)


def test_cell_yaml_is_a_valid_cell_spec(sim):
    from graphreg_zoo.prep.spec import CellSpec

    spec = CellSpec.from_yaml(sim.files["cell_yaml"])
    assert spec.genome == "synth1" and spec.chromosomes == ["chr1", "chr2"]
    assert spec.graph.format == "hicdcplus" and spec.graph.fdr == 0.1 and spec.cage.stat == "sum"
    for role, path in spec.inputs().items():
        paths = [path.format(chrom=c) for c in spec.chromosomes] if role == "graph" else [path]
        assert all((spec.base_dir / p).is_file() for p in paths), role


def test_prepare_reads_the_simulated_cell(sim, tmp_path):
    from graphreg_zoo.prep.cell import CellData, prepare

    data = CellData(prepare(sim.files["cell_yaml"], tmp_path / "synth.h5", progress=False))
    assert data.genome == "synth1" and data.chroms == ["chr1", "chr2"]
    genes, loops = sim.truth.genes, sim.truth.loops
    for chrom in data.chroms:
        graph = data.graph(chrom)
        mine = loops[loops["chrom"] == chrom]
        assert all(graph[a, b] and graph[b, a] for a, b in zip(mine["bin1"], mine["bin2"]))
        reads = genes[genes["chrom"] == chrom].groupby("tss_bin")["cage_reads"].sum()
        cage = data.cage(chrom)
        near = np.unique(np.clip(np.concatenate([reads.index - 1, reads.index, reads.index + 1]), 0, len(cage) - 1))
        assert reads.sum() <= cage[near].sum() <= cage.sum() < reads.sum() + 200  # + background reads


def test_planted_motif_sites(sim):
    from graphreg_zoo.interpret.motifs import Scanner
    from graphreg_zoo.prep.sequence import Fasta

    sites, enh = sim.truth.motif_sites, sim.truth.enhancers
    fasta = Fasta(sim.files["fasta"])
    text = {c: "".join("ACGTN"[i] for i in fasta.one_hot(c, 0, n).argmax(1)) for c, n in fasta.chroms.items()}
    assert all(text[s.chrom][s.start : s.end] == s.sequence for s in sites.itertuples())
    per_enhancer = sites.groupby(["enhancer_id", "tf"]).size().unstack(fill_value=0)
    for tf in sim.config.motif_ids():
        counts = enh.set_index("enhancer_id")[f"n_{tf}"]
        assert (per_enhancer.get(tf, 0).reindex(counts.index, fill_value=0) == counts).all(), tf
    inside = sites.merge(enh[["enhancer_id", "start", "end"]], on="enhancer_id", suffixes=("", "_e"))
    assert ((inside["start"] >= inside["start_e"]) & (inside["end"] <= inside["end_e"])).all()
    assert (enh.loc[enh["activity"] > 0, "n_GATA1"] + enh.loc[enh["activity"] > 0, "n_KLF1"] > 0).all()
    scanner = Scanner(list(simulation_motifs(sim.config).values()), 1e-3)
    gata = sites[sites["tf"] == "GATA1"]
    hits = pd.concat([scanner.scan(text[c], chrom=c) for c in text])
    found = gata.merge(hits, on=["chrom", "start", "end", "strand"])
    assert len(found) >= 0.6 * len(gata)


def test_package_motifs_are_the_real_jaspar_matrices(realdata):
    from graphreg_zoo.interpret.motifs import read_motifs

    real = {m.matrix_id: m for m in read_motifs(realdata / "motifs/JASPAR2024_CORE_vertebrates_latest.jaspar")}
    packaged = read_motifs(PACKAGE_MOTIFS)
    assert [m.matrix_id for m in packaged] == [*ACTIVATORS.values(), *NEUTRAL.values()]
    for m in packaged:
        assert m.name == real[m.matrix_id].name
        np.testing.assert_allclose(m.pfm, real[m.matrix_id].pfm)


def _pixel(pixels: pd.DataFrame, b1: int, b2: int) -> int:
    hit = pixels[(pixels["bin1_id"] == min(b1, b2)) & (pixels["bin2_id"] == max(b1, b2))]
    return int(hit["count"].sum())


def test_loops_in_cool_and_hicdcplus(sim):
    import cooler

    loops = sim.truth.loops
    ep = loops[loops["kind"] == "enhancer-promoter"]
    assert len(ep) > 5 and (ep["distance"] >= 100_000 - BIN).all() and (ep["distance"] <= 1_000_000 + BIN).all()
    clr = cooler.Cooler(str(sim.files["cool"]))
    pixels = clr.pixels()[:]
    offsets = {c: clr.offset(c) for c in clr.chromnames}
    depth = sim.config.hic_depth
    for r in loops.itertuples():
        expected_bg = depth * (1 + abs(r.bin1 - r.bin2)) ** -sim.config.alpha
        count = _pixel(pixels, r.bin1 + offsets[r.chrom], r.bin2 + offsets[r.chrom])
        assert count > expected_bg + 0.25 * depth * r.strength
    for chrom in clr.chromnames:
        path = sim.files["hicdcplus"] / f"synth_HiC_FDR_1_{chrom}"
        table = pd.read_csv(path, sep="\t")
        assert list(table.columns) == HICDCPLUS_COLUMNS
        assert (table["startI"] % BIN == 0).all() and (table["startI"] <= table["startJ"]).all()
        assert (table["qvalue"] < 0.1).all() and (table["chrI"] == chrom).all()
        assert (table["D"] == table["startJ"] - table["startI"]).all()
        called = set(zip(table["startI"] // BIN, table["startJ"] // BIN))
        mine = loops[loops["chrom"] == chrom]
        assert all((min(a, b), max(a, b)) in called for a, b in zip(mine["bin1"], mine["bin2"]))
        assert len(called) < 3 * len(mine) + 10  # few false positives at FDR 0.1


def _recomputed(truth: Truth) -> pd.Series:
    """The docstring formula, written out independently of the module."""
    p = truth.params
    links = truth.links
    s = (links["contact"] * links["activity"]).groupby(links["gene_id"]).sum()
    g = truth.genes.set_index("gene_id")
    base = np.exp(p["b0"] + p["b1"] * np.log(g["promoter_activity"]))
    return base * (1 + p["w"] * s.reindex(g.index).fillna(0))


def test_oracle_matches_formula_and_noisy_cage(sim):
    import pyBigWig

    truth = sim.truth
    oracle = oracle_cage(truth)
    np.testing.assert_allclose(oracle.to_numpy(), truth.genes["expected_cage"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(oracle.to_numpy(), _recomputed(truth).to_numpy(), rtol=1e-5)
    links, enh = truth.links, truth.enhancers.set_index("enhancer_id")
    ebin = enh.loc[links["enhancer_id"], "centre"].to_numpy() // BIN
    gbin = truth.genes.set_index("gene_id").loc[links["gene_id"], "tss"].to_numpy() // BIN
    decay = (1 + np.abs(ebin - gbin)) ** -truth.params["alpha"]
    np.testing.assert_allclose(links["contact"] - links["loop_strength"], decay, rtol=1e-5)
    genes = truth.genes.assign(oracle=oracle.to_numpy())
    per_bin = genes.groupby(["chrom", "tss_bin"])["oracle"].sum()
    observed = []
    with pyBigWig.open(str(sim.files["cage"])) as bw:
        for (chrom, b) in per_bin.index:
            end = min((b + 1) * BIN, bw.chroms(chrom))
            observed.append(bw.stats(chrom, int(b * BIN), int(end), type="sum", exact=True)[0] or 0.0)
    r = np.corrcoef(np.log2(per_bin.to_numpy() + 1), np.log2(np.array(observed) + 1))[0, 1]
    assert r >= 0.95, r


def test_distal_enhancers_matter_and_decoys_do_not(sim):
    genes, links, enh = sim.truth.genes, sim.truth.links, sim.truth.enhancers
    looped = genes[genes["has_loop"]]
    assert len(looped) >= 0.3 * len(genes)
    assert (looped["distal_fraction"] > 0.3).mean() >= 0.6
    decoys = set(enh.loc[enh["kind"] == "decoy", "enhancer_id"])
    decoy_links = links[links["enhancer_id"].isin(decoys) & ~links["loop"]]
    assert decoy_links["effect"].max() < 0.05 * looped["enhancer_sum"].median()
    kinds = enh.loc[enh["activity"] > 0, "kind"].value_counts()
    assert kinds["decoy"] >= 0.8 * kinds["distal"]


def test_tf_knockout_truth(sim):
    tt = sim.truth.tf_targets
    assert set(tt["tf"]) == set(sim.config.motif_ids()) == {"GATA1", "KLF1", "CTCF"}
    assert (tt.loc[tt["tf"] == "CTCF", "log2fc"].abs() < 1e-9).all()
    gata = tt[tt["tf"] == "GATA1"]
    assert gata["target"].sum() > 0 and (gata["log2fc"] <= 1e-12).all()
    assert (gata.loc[gata["target"], "n_sites"] > 0).all()


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(InvalidInputError):
        simulate(tmp_path / "x", preset="huge")
    with pytest.raises(InvalidInputError):
        simulate(tmp_path / "x", bogus=1)
    with pytest.raises(InvalidInputError):
        simulate(tmp_path / "x", chrom_length=1000)
    assert not (tmp_path / "x").exists()


def test_cli_simulate(cli, tmp_path):
    size = ("--n-chroms", "1", "--chrom-length", "1500000")
    code, out, err = cli("simulate", "-o", tmp_path / "g", "--seed", "5", *size)
    assert code == 0, err
    assert "1 chromosomes" in out and (tmp_path / "g" / "cell.yaml").is_file()
    code, _, err = cli("simulate", "-o", tmp_path / "h", "--preset", "nope")
    assert code == 4 and "preset" in err


def test_activator_fraction_makes_gata1_a_minority_activator(tmp_path):
    """With activator_fraction 0.3, ~30% of active elements carry GATA1 sites (the others KLF1 alone,
    3-5 sites when distal), fewer genes are GATA1 targets, and promoter_sd narrows log P_g."""
    full = simulate(tmp_path / "full", seed=5, **SMALL)
    few = simulate(tmp_path / "few", seed=5, activator_fraction=0.3, promoter_sd=0.3, **SMALL)
    active = few.truth.enhancers[few.truth.enhancers["activity"] > 0]
    assert 0.15 < (active["n_GATA1"] > 0).mean() < 0.45
    strong_klf1 = active[(active["kind"] != "proximal") & (active["n_GATA1"] == 0)]
    assert len(strong_klf1) and (strong_klf1["n_KLF1"] >= 3).all()
    assert (active["n_GATA1"] + active["n_KLF1"] > 0).all()
    sites = few.truth.motif_sites
    carriers = set(active.loc[active["n_GATA1"] > 0, "enhancer_id"])
    assert set(sites.loc[sites["tf"] == "GATA1", "enhancer_id"]) == carriers
    frac = [s.truth.tf_targets.query("tf == 'GATA1'")["target"].mean() for s in (full, few)]
    assert frac[1] < 0.6 * frac[0]
    assert np.log(few.truth.genes["promoter_activity"]).std() < 0.5
    with pytest.raises(InvalidInputError, match="activator_fraction"):
        simulate(tmp_path / "bad", activator_fraction=1.5, **SMALL)


def _scan(genome: SimulatedGenome, tf: str, pvalue: float) -> tuple[float, int]:
    """Fraction of the planted `tf` sites that a scan at `pvalue` reports at their exact place, and the
    number of hits overlapping no planted site (chance matches in background DNA)."""
    from graphreg_zoo.interpret.motifs import Scanner
    from graphreg_zoo.prep.sequence import Fasta

    fasta = Fasta(genome.files["fasta"])
    text = {c: "".join("ACGTN"[i] for i in fasta.one_hot(c, 0, n).argmax(1)) for c, n in fasta.chroms.items()}
    scanner = Scanner([simulation_motifs(genome.config)[tf]], pvalue)
    hits = pd.concat([scanner.scan(text[c], chrom=c) for c in text])
    sites = genome.truth.motif_sites.query("tf == @tf")
    found = len(sites.merge(hits, on=["chrom", "start", "end", "strand"])) / len(sites)
    overlaps = hits.merge(sites[["chrom", "start", "end"]], on="chrom", suffixes=("", "_site"))
    overlaps = overlaps[(overlaps["start"] < overlaps["end_site"]) & (overlaps["end"] > overlaps["start_site"])]
    return found, len(hits) - len(overlaps.drop_duplicates(["chrom", "start", "end", "strand"]))



def test_site_sharpness_puts_planted_sites_within_reach_of_the_knockout_scan(tmp_path):
    """GATA1's 7 bp matrix drawn as JASPAR has it mostly scores below p < 1e-4 (the knockout's scan);
    drawn near the consensus (`site_sharpness` 4, the `sequence` preset) nearly every site is found,
    and the layout (which enhancer carries how many sites) does not change."""
    plain = simulate(tmp_path / "plain", seed=5, **SMALL)
    sharp = simulate(tmp_path / "sharp", seed=5, site_sharpness=4.0, **SMALL)
    assert _scan(plain, "GATA1", 1e-4)[0] < 0.6
    assert _scan(sharp, "GATA1", 1e-4)[0] > 0.85
    pd.testing.assert_frame_equal(plain.truth.enhancers, sharp.truth.enhancers)
    with pytest.raises(InvalidInputError, match="site_sharpness"):
        simulate(tmp_path / "bad", site_sharpness=0.5, **SMALL)


def test_composite_activator_stands_out_of_background_dna(tmp_path):
    """GATA1's 7 bp consensus also occurs by chance all over background DNA (a model cannot tell a
    planted site from those by sequence), while GATA1::TAL1's 17 bp composite (the `sequence` preset's
    partner; here the activator) drawn near the consensus scores far above almost every chance match: this is
    what makes a planted activator learnable from DNA. The composite replaces GATA1 everywhere (sites, columns,
    knockout truth), and an old genome folder (`gata1_fraction`, no `activator`) still loads."""
    plain = simulate(tmp_path / "plain", seed=5, site_sharpness=4.0, **SMALL)
    found, chance = _scan(plain, "GATA1", 1e-4)
    planted = len(plain.truth.motif_sites.query("tf == 'GATA1'"))
    assert found > 0.85 and chance > 3 * planted
    assert _scan(plain, "KLF1", 1e-4)[1] < 0.6 * chance, "KLF1 (the sequence preset's lead) matches by chance ~half as often"
    composite = simulate(tmp_path / "composite", seed=5, site_sharpness=4.0, activator="GATA1::TAL1", **SMALL)
    found, chance = _scan(composite, "GATA1::TAL1", 1e-6)
    planted = len(composite.truth.motif_sites.query("tf == 'GATA1::TAL1'"))
    assert found > 0.85 and chance < 0.2 * planted
    assert set(composite.truth.tf_targets["tf"]) == {"GATA1::TAL1", "KLF1", "CTCF"}
    np.testing.assert_array_equal(composite.truth.enhancers["n_GATA1::TAL1"], plain.truth.enhancers["n_GATA1"])
    params = tmp_path / "plain" / "truth" / "params.json"
    old = {("gata1_fraction" if k == "activator_fraction" else k): v
           for k, v in json.loads(params.read_text()).items() if k != "activator"}
    params.write_text(json.dumps({**old, "gata1_fraction": 0.3}))
    reopened = SimulatedGenome.load(tmp_path / "plain").config
    assert (reopened.activator, reopened.activator_fraction) == ("GATA1", 0.3)
    for bad in ({"activator": "TAL1"}, {"activator": "KLF1"}):
        with pytest.raises(InvalidInputError, match="activator and partner must be two of"):
            SimConfig(**bad)
