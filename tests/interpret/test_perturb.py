"""TF knockout, ISM, variant effects and graph-edge knockout on a prepared toy cell."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.interpret.perturb import edge_knockout, ism, knockout, variant_effects, window_hits
from graphreg_zoo.prep.cell import CellData
from graphreg_zoo.prep.windows import NODE_BIN, Window, window_arrays, windows

from ._toy import CHROM, make_cell, toy_base, toy_model


@pytest.fixture(scope="module")
def cell(tmp_path_factory):
    return CellData(make_cell(tmp_path_factory.mktemp("perturb"), np.random.default_rng(7)))


@pytest.fixture(scope="module")
def seq_model():
    return toy_model("seq", seed=0)


def _predict_window(model, arrays):
    batch = {name: arrays[name][None] for name in ("sequence", "adjacency", "epigenome") if name in
             [t.name for t in model.inputs]}
    return np.asarray(model.predict_on_batch(batch)["cage"])[0]


def test_window_hits_geometry():
    window = Window(CHROM, 200, True, 2)  # starts at 1,000,000 bp
    hits = pd.DataFrame({"start": [999_990, 1_000_000, 1_099_980, 1_099_979, 6_999_970, 6_999_990, 6_999_975],
                         "end": [1_000_000, 1_000_010, 1_099_990, 1_099_989, 6_999_982, 7_000_000, 7_000_005]})
    spans = window_hits(hits, window)
    # starts before the window; kept; in the last 20 bp of a chunk (twice); kept; kept; crosses the window end
    np.testing.assert_array_equal(spans, [[0, 10], [99_979, 99_989], [5_999_970, 5_999_982]])


def test_knockout_changes_only_windows_with_hits(cell, seq_model):
    """Hits at node 1050 lie only in window 2: its genes change, the others keep WT exactly."""
    from graphreg_zoo.prediction import predict

    hits = pd.DataFrame({"chrom": CHROM, "start": [5_250_000, 5_260_000, 3_500_400],
                         "end": [5_250_012, 5_260_012, 3_500_412], "motif": ["GATA1", "GATA1", "KLF1"]})
    second = toy_model("seq", seed=1)
    table = knockout([seq_model, second], cell, "gata1", motifs=hits)
    assert table.attrs["n_hits"] == 2
    by_gene = table.set_index("genes")
    assert (by_gene.loc[["GENEA", "GENEB"], "log2fc"] == 0).all()
    assert (by_gene.loc[["GENEA", "GENEB"], "n_hits"] == 0).all()
    assert (by_gene.loc[["GENEC", "GENED"], "n_hits"] == 2).all()
    assert abs(by_gene.loc["GENEC", "log2fc"]) > 1e-6, "GENEC is joined to node 1050 by an edge"
    assert {f"log2fc_{seq_model.name}", f"log2fc_{second.name}", "t", "pvalue", "padj"} <= set(table.columns)

    def zero_hits(arrays, window):
        spans = window_hits(hits[hits["motif"] == "GATA1"], window)
        seq = arrays["sequence"].copy()
        for s, e in spans:
            seq[s:e] = 0
        return {**arrays, "sequence": seq}

    explicit = predict(seq_model, cell, transform=zero_hits, progress=False).set_index("genes")["prediction"]
    np.testing.assert_allclose(table[f"log2fc_{seq_model.name}"], np.log2((explicit.to_numpy() + 1) /
                               (predict(seq_model, cell, progress=False)["prediction"].to_numpy() + 1)), atol=1e-5)


def test_knockout_of_a_separate_seq_model_edits_the_dna_its_base_reads(cell):
    """A separate Seq-GraphReg sees the knocked-out DNA through its Seq-CNN base: the knockout equals a
    prediction of the explicitly edited sequence through the same base, and without a base it is refused."""
    from graphreg_zoo.models import SeqGraphReg
    from graphreg_zoo.prediction import predict

    head, base = SeqGraphReg(seed=1, n_gat_layers=1), toy_base()
    hits = pd.DataFrame({"chrom": CHROM, "start": [5_250_000], "end": [5_250_012], "motif": ["GATA1"]})
    with pytest.raises(InvalidInputError, match="base"):
        knockout(head, cell, "GATA1", motifs=hits)
    table = knockout(head, cell, "GATA1", motifs=hits, base=base).set_index("genes")
    assert (table.loc[["GENEA", "GENEB"], "log2fc"] == 0).all()

    def zero_hits(arrays, window):
        seq = arrays["sequence"].copy()
        for s, e in window_hits(hits, window):
            seq[s:e] = 0
        return {**arrays, "sequence": seq}

    wt = predict(head, cell, progress=False, base=base).set_index("genes")["prediction"]
    ko = predict(head, cell, progress=False, base=base, transform=zero_hits).set_index("genes")["prediction"]
    assert (ko != wt).any(), "the edit reaches the head"
    np.testing.assert_allclose(table["log2fc"], np.log2((ko + 1) / (wt + 1)).loc[table.index], atol=1e-5)


def test_knockout_refuses_epi_models(cell):
    with pytest.raises(InvalidInputError, match="sequence model"):
        knockout(toy_model("epi"), cell, "GATA1", motifs=pd.DataFrame(columns=["chrom", "start", "end", "motif"]))


def test_hit_tables_with_other_chromosome_names_or_no_hits(cell, seq_model, tmp_path, cli):
    """`1` is the cell's `chr1`; a TF with no hit is refused (it used to give 0 hits and every log2FC 0)."""
    from graphreg_zoo.interpret.perturb import tf_hits

    hits = pd.DataFrame({"chrom": ["1", "1", "chr1"], "start": [5_250_000, 5_260_000, 3_500_400],
                         "end": [5_250_012, 5_260_012, 3_500_412], "motif": ["GATA1", "GATA1", "KLF1"]})
    found = tf_hits(cell, "gata1", hits, [CHROM])
    assert found["chrom"].tolist() == [CHROM, CHROM] and found["start"].tolist() == [5_250_000, 5_260_000]
    with pytest.raises(InvalidInputError, match=r"'GATA' .*chr1.*closest motif names: GATA1"):
        knockout(seq_model, cell, "GATA", motifs=hits, chroms=["1"])
    with pytest.raises(InvalidInputError, match=r"'KLF1' has 1 hits .* on chr1, but none on the chromosomes searched"):
        tf_hits(cell, "KLF1", hits, ["chr2"])
    with pytest.raises(InvalidInputError, match=r"chromosomes \['chr9'\] are not in"):
        knockout(seq_model, cell, "GATA1", motifs=hits, chroms=["chr9"])
    hits.to_csv(tmp_path / "hits.bed", sep="\t", header=False, index=False)
    preset = tmp_path / "seq"
    from graphreg_zoo.models import SeqCNNE2E
    from graphreg_zoo.zoo.presets import save_preset

    save_preset(SeqCNNE2E(), preset)
    code, _, err = cli("knockout", "-m", preset, "-c", cell.path, "--tf", "GATA", "--motifs", tmp_path / "hits.bed",
                       "-o", tmp_path / "ko.tsv")
    assert code == 4 and "GATA1" in err and not (tmp_path / "ko.tsv").exists()
    code, out, _ = cli("knockout", "--help")
    assert code == 0 and "marks" in out


def test_knockout_scans_a_motif_file(cell, seq_model, tmp_path):
    """A JASPAR file is scanned over the cell's sequence; the hits are the scanner's."""
    from graphreg_zoo.interpret.motifs import Motif, read_motifs, scan, write_jaspar
    from graphreg_zoo.interpret.perturb import tf_hits

    pfm = np.eye(4)[[0, 1, 2, 3, 3, 2, 1, 0, 0, 2]] * 10
    write_jaspar([Motif("TOY", "MA9999.1", pfm)], tmp_path / "toy.jaspar")
    hits = tf_hits(cell, "toy", tmp_path / "toy.jaspar", [CHROM], 1e-5)
    direct = scan(cell.sequence(CHROM, 0, cell.chrom_sizes[CHROM], dtype=np.uint8),
                  read_motifs(tmp_path / "toy.jaspar"), chrom=CHROM, pvalue=1e-5)
    assert len(hits) == len(direct) > 0
    np.testing.assert_array_equal(hits["start"], direct["start"])


def test_ism_one_position_equals_explicit_reprediction(cell, seq_model):
    pos = 3_500_100
    table = ism(seq_model, cell, "GENEC", CHROM, pos, pos + 1)
    assert len(table) == 3 and set(table["alt"]) == set("ACGT") - {table["ref"].iloc[0]}
    window = [w for w in windows(cell.n_nodes(CHROM), CHROM) if w.middle[0] <= 700 < w.middle[1]][0]
    arrays = window_arrays(cell, window, "seq")
    offset, local = pos - window.start_node * NODE_BIN, 700 - window.start_node
    wt = _predict_window(seq_model, arrays)[local]
    for row in table.itertuples():
        seq = arrays["sequence"].copy()
        seq[offset] = np.eye(4, dtype="float32")["ACGT".index(row.alt)]
        mutant = _predict_window(seq_model, {**arrays, "sequence": seq})[local]
        assert row.delta == pytest.approx(mutant - wt, rel=1e-4, abs=1e-7)
        assert row.wt == pytest.approx(wt, rel=1e-5)


def _vcf(path, records):
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t." for c, p, i, r, a in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_variant_effects_match_ism_and_skip_indels(cell, seq_model, tmp_path):
    pos = 3_500_100  # 0-based; the VCF is 1-based
    ref = "ACGT"[int(cell.sequence(CHROM, pos, pos + 1).argmax())]
    alt = "A" if ref != "A" else "C"
    vcf = _vcf(tmp_path / "v.vcf", [("1", pos + 1, "rs1", ref, alt), ("chr1", pos + 1, "del", ref + "A", ref),
                                    ("chr9", 10, "other", "A", "C")])
    table = variant_effects(seq_model, cell, vcf, genes=["GENEC"])
    assert table.attrs["skipped"] == 2
    assert list(table["genes"]) == ["GENEC"] and table["chrom"].iloc[0] == CHROM
    expected = ism(seq_model, cell, "GENEC", CHROM, pos, pos + 1).set_index("alt").loc[alt, "delta"]
    assert table["delta"].iloc[0] == pytest.approx(expected, rel=1e-4, abs=1e-7)
    assert table["distance"].iloc[0] == 3_500_001 - (pos + 1)


def test_variant_reference_mismatch_is_refused(cell, seq_model, tmp_path):
    pos = 2_000_000
    ref = "ACGT"[int(cell.sequence(CHROM, pos, pos + 1).argmax())]
    wrong = "C" if ref != "C" else "G"
    vcf = _vcf(tmp_path / "bad.vcf", [(CHROM, pos + 1, "rs2", wrong, "T" if wrong != "T" else "A")])
    with pytest.raises(InvalidInputError, match=f"{CHROM}:{pos + 1}.*VCF has {wrong}.*FASTA .* has {ref}"):
        variant_effects(seq_model, cell, vcf)


def test_variant_mismatch_exit_code(cell, tmp_path, cli):
    from graphreg_zoo.models import SeqCNNE2E
    from graphreg_zoo.zoo.presets import save_preset

    preset = save_preset(SeqCNNE2E(), tmp_path / "e2e")
    pos = 2_000_000
    ref = "ACGT"[int(cell.sequence(CHROM, pos, pos + 1).argmax())]
    wrong = "C" if ref != "C" else "G"
    vcf = _vcf(tmp_path / "bad.vcf", [(CHROM, pos + 1, "rs2", wrong, "T" if wrong != "T" else "A")])
    code, _, err = cli("variant-effects", "--model", preset, "--cell", cell.path, "--vcf", vcf,
                       "-o", tmp_path / "o.tsv")
    assert code == 4 and f"{CHROM}:{pos + 1}" in err
    assert not (tmp_path / "o.tsv").exists()


def test_edge_knockout_changes_only_genes_whose_windows_hold_the_edge(cell):
    """Node 1050 lies only in window 2 and is joined to GENEC's node 700."""
    from graphreg_zoo.models import EpiGraphReg
    from graphreg_zoo.prediction import predict

    model = EpiGraphReg(seed=11)
    table = edge_knockout(model, cell, CHROM, 1050 * NODE_BIN + 10, 1050 * NODE_BIN + 20)
    assert sorted(table["genes"]) == ["GENEC", "GENED"]
    by_gene = table.set_index("genes")
    assert by_gene.loc["GENEC", "n_edges_removed"] == 1
    assert abs(by_gene.loc["GENEC", "delta"]) > 0
    assert by_gene.loc["GENED", "delta"] == pytest.approx(0, abs=1e-6 * float(by_gene.loc["GENED", "wt"]))

    def cut(arrays, window):
        local = 1050 - window.start_node
        adjacency = arrays["adjacency"].copy()
        if 0 <= local < 1200:
            adjacency[local, :] = adjacency[:, local] = 0
        return {**arrays, "adjacency": adjacency}

    wt = predict(model, cell, progress=False).set_index("genes")["prediction"]
    ko = predict(model, cell, transform=cut, progress=False).set_index("genes")["prediction"]
    np.testing.assert_array_equal(ko[["GENEA", "GENEB"]], wt[["GENEA", "GENEB"]])
    assert by_gene.loc["GENEC", "ko"] == pytest.approx(ko["GENEC"], rel=1e-4)


def test_edge_knockout_refuses_cnn_models(cell):
    with pytest.raises(InvalidInputError, match="graph model"):
        edge_knockout(toy_model("epi", graph=False), cell, CHROM, 0, 5000)


def test_edge_knockout_cli_refuses_cnn(cell, tmp_path, cli):
    from graphreg_zoo.models import EpiCNN
    from graphreg_zoo.zoo.presets import save_preset

    preset = save_preset(EpiCNN(), tmp_path / "cnn")
    code, _, err = cli("edge-knockout", "--model", preset, "--cell", cell.path, "--chrom", CHROM,
                       "--start", 1000, "--end", 2000, "-o", tmp_path / "cut.tsv")
    assert code == 4 and "graph model" in err


def test_edit_batches_pad_the_last_partial_batch_to_one_compiled_shape(cell, seq_model):
    """4 edits at batch size 3 (as ISM runs wild type + 3 alternatives): the second batch is padded to 3, so
    the forward sees one shape, and every prediction equals the unbatched one."""
    from graphreg_zoo.interpret._windows import WindowRun
    from graphreg_zoo.models.inference import forward_cage

    run, shapes = WindowRun(seq_model, cell, windows(cell.n_nodes(CHROM), CHROM)[0]), []

    def recording(model, inputs):
        shapes.append(len(inputs["sequence"]))
        return forward_cage(model, inputs)

    def mutate(offset):
        def edit(arrays):
            seq = arrays["sequence"].copy()
            seq[offset] = seq[offset][::-1]
            return {**arrays, "sequence": seq}
        return edit

    edits = [None, mutate(10), mutate(2_000_000), mutate(4_000_000)]
    run.shared = recording
    batched = run.predict(edits, batch_size=3)
    assert shapes == [3, 3]
    np.testing.assert_allclose(batched, run.predict(edits, batch_size=1), rtol=1e-5, atol=1e-6)


def test_end_to_end_sequence_models_predict_at_most_two_windows_per_forward(cell, seq_model, monkeypatch):
    """A batch of eight 6 Mb one-hot windows through an e2e model's trunk takes tens of GB: capped at 2."""
    from graphreg_zoo import prediction

    sizes = []
    inner = prediction.forward_cage
    monkeypatch.setattr(prediction, "forward_cage", lambda m, x: sizes.append(len(x["sequence"])) or inner(m, x))
    prediction.predict(seq_model, cell, batch_size=8, progress=False)
    assert sizes and max(sizes) == prediction.SEQUENCE_BATCH == 2
