"""Real-data case study: Epi-GraphReg vs Epi-CNN on K562 hg38 chr22 (docs/case-study-k562-chr22.md).

Usage: python benchmarks/case_study_k562_chr22.py [--out DIR] [--epochs 40] [--learning-rate 2e-4] [--update-docs]
Run by hand (not in CI); about 15-20 minutes on the shared 2-core machine. Reads
../shared/realdata/hg38_K562_chr22 and writes derived inputs, CellData files and reports under --out
(default: a fresh folder in the system temp dir), the figures into docs/case_study/ and, with
--update-docs, the measured sections of docs/case-study-k562-chr22.md and docs/enhancer-validation.md.

Each trained model is also saved as a preset (`--out/preset_NAME`) for the CLI, e.g.
`graphreg-zoo validate-enhancers -m OUT/preset_cnn -c OUT/K562_chr22_min_count.h5 --crispr ... --abc ... -o OUT/cli`.

Steps: (1) DNase and H3K27ac element read counts -> 100 bp bedGraphs (reads spread uniformly over each
element; H3K4me3 is absent: an all-zero track); RNA TPM at TSSs (genes matched by symbol) -> a CAGE-like
bedGraph; (2) two 5 kb graphs from the raw Hi-C through the real `prepare`: the built-in caller (q <= 0.1) and,
because that one is nearly empty, `min_count` (pixels with >= 20 raw contacts); a top observed/expected
rule is reported for comparison;
(3) a window-level split of chr22 (6 Mb windows, 2 Mb stride: index % 5 == 1 validation, == 3 test);
(4) Epi-GraphReg on each graph and Epi-CNN trained with `training.fit(train_windows=..., valid_windows=...)`;
(5) Pearson R of log2(x+1) on the test windows' genes; (6) grad x input attributions scored on the
chr22 CRISPRi pairs every score rates against the distance and ABC baselines (`interpret.crispr.validate_enhancers`).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _sections import replace_section

from graphreg_zoo.evaluation.metrics import gene_metrics
from graphreg_zoo.geometry import NODE_BIN
from graphreg_zoo.prep.assembly import KNOWN_SIZES
from graphreg_zoo.prep.cell import CellData, prepare
from graphreg_zoo.prep.contacts.calling import edges_to_graph, read_contacts
from graphreg_zoo.prep.contacts.significance import call_contacts
from graphreg_zoo.prep.genes import read_tss
from graphreg_zoo.prep.proxies import (
    element_count_track,
    read_expression,
    tss_expression,
    write_bin_bedgraph,
    write_point_bedgraph,
)
from graphreg_zoo.prep.windows import select_windows, windows

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/realdata/hg38_K562_chr22"
FIGURES = REPO / "docs/case_study"
CHROM = "chr22"
LENGTH = KNOWN_SIZES["hg38"][CHROM]
N_NODES = -(-LENGTH // NODE_BIN)
MAX_DISTANCE = 2_000_000
FILES = {
    "dnase": DATA / "activity/Enhancers.DHS.ENCFF860XAE.chr22.sorted.se.bam.CountReads.bedgraph",
    "h3k27ac": DATA / "activity/Enhancers.H3K27ac.ENCFF790GFL.chr22.sorted.se.bam.CountReads.bedgraph",
    "tss": DATA / "tss/RefSeqCurated.170308.CollapsedGeneBounds.chr22.hg38.TSS500bp.bed",
    "tpm": DATA / "expression/K562.ENCFF934YBO.TPM.txt",
    "hic": DATA / "hic/chr22.5kb.RAWobserved.gz",
    "crispr": DATA / "crispr/EPCrisprBenchmark_ensemble_data_GRCh38.tsv.gz",
    "abc": DATA / "abc_baseline/EnhancerPredictionsFull_threshold0.027_self_promoter.tsv",
}
#: the alternative graph trained on: build_graphs' `min_count` rule (pixels with >= MIN_COUNT raw contacts)
MIN_COUNT = 20
#: reported for comparison only: among pixels with >= OE_MIN_COUNT contacts, the OE_TOP with the highest
#: observed / expected (expected = the caller's distance x bin-bias mean)
OE_MIN_COUNT, OE_TOP = 5, 20_000


def render_inputs(out: Path) -> dict[str, object]:
    """Write the 100 bp DNase/H3K27ac bedGraphs, the zero H3K4me3 track, the TSS BED and the TPM target."""
    info: dict[str, object] = {}
    for name in ("dnase", "h3k27ac"):
        binned = element_count_track(FILES[name], CHROM, LENGTH)
        write_bin_bedgraph(out / f"{name}.100bp.bedgraph", CHROM, binned, LENGTH)
        info[f"{name}_reads"] = float(binned.sum())
        info[f"{name}_nonzero_bins"] = int((binned > 0).sum())
    write_bin_bedgraph(out / "h3k4me3.zero.bedgraph", CHROM, np.zeros(1), LENGTH)
    tss = read_tss(FILES["tss"], "bed")
    tss = tss[tss["chrom"] == CHROM]
    matched = tss_expression(tss, read_expression(FILES["tpm"]))
    write_point_bedgraph(out / "rna_tpm_at_tss.bedgraph", matched)
    bed = pd.DataFrame({"chrom": matched["chrom"], "start": matched["tss"], "end": matched["tss"] + 1,
                        "name": matched["gene"], "score": 0, "strand": matched["strand"]})
    bed.to_csv(out / "tss.matched.bed", sep="\t", header=False, index=False)
    info.update(genes_in_bed=int(tss["gene"].nunique()), genes_matched=int(matched["gene"].nunique()),
                genes_tpm_gt1=int((matched["value"] > 1).sum()))
    return info


def crispr_pairs() -> pd.DataFrame:
    """The chr22 CRISPRi pairs in the crispr module's schema."""
    from graphreg_zoo.interpret.crispr import read_crispr_table

    pairs = read_crispr_table(FILES["crispr"])
    return pairs[pairs["chrom"] == CHROM].reset_index(drop=True)


def graph_stats(graph, pairs: pd.DataFrame) -> dict[str, object]:
    """Edges, nodes with an edge, mean degree of those, CRISPRi positives/negatives joined by an edge."""
    degree = np.diff(graph.indptr)
    element = (((pairs["start"] + pairs["end"]) // 2) // NODE_BIN).to_numpy(np.int64)
    tss = (pairs["tss"] // NODE_BIN).to_numpy(np.int64)
    joined = np.asarray(graph[element, tss]).ravel() > 0
    positive = pairs["regulated"].to_numpy()
    return {"edges": int(graph.nnz // 2), "nodes_with_edge": int((degree > 0).sum()),
            "mean_degree_linked": float(degree[degree > 0].mean()) if (degree > 0).any() else 0.0,
            "positives_joined": int(joined[positive].sum()), "negatives_joined": int(joined[~positive].sum()),
            "n_positives": int(positive.sum()), "n_negatives": int((~positive).sum())}


def graph_rules(pairs: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Call the raw Hi-C and report every graph rule (edges, degrees, CRISPRi pairs joined)."""
    pixels = read_contacts(FILES["hic"], "juicer_dump", [CHROM], max_distance=MAX_DISTANCE)[0][CHROM]
    called = call_contacts(pixels, LENGTH, max_distance=MAX_DISTANCE)
    max_bins = MAX_DISTANCE // NODE_BIN
    rules = {
        "called q<=0.1 (built-in caller)": called[called["qvalue"] <= 0.1],
        f"min_count >= {MIN_COUNT}": pixels[pixels["count"] >= MIN_COUNT],
    }
    support = called[called["count"] >= OE_MIN_COUNT]
    top = support.assign(oe=support["count"] / support["mu"]).nlargest(OE_TOP, "oe")
    rules[f"top {OE_TOP:,} O/E (count >= {OE_MIN_COUNT})"] = top
    stats = {}
    for name, kept in rules.items():
        graph = edges_to_graph(kept["bin1"].to_numpy(), kept["bin2"].to_numpy(), N_NODES, max_bins, name)
        stats[name] = graph_stats(graph, pairs)
    stats[f"top {OE_TOP:,} O/E (count >= {OE_MIN_COUNT})"]["min_oe"] = float(top["oe"].min())
    return stats


def cell_spec(graph: dict[str, object]) -> dict[str, object]:
    """The CellSpec (as YAML data) of the case-study cell with the given `graph:` block."""
    track = {"stat": "mean", "normalisation": "log2"}  # one interval per 100 bp bin: mean = the bin's reads
    return {
        "name": "K562_chr22_case_study",
        "genome": "hg38",
        "chromosomes": [CHROM],
        "tracks": {"h3k4me3": {"path": "h3k4me3.zero.bedgraph", **track},
                   "h3k27ac": {"path": "h3k27ac.100bp.bedgraph", **track},
                   "dnase": {"path": "dnase.100bp.bedgraph", **track}},
        "cage": {"path": "rna_tpm_at_tss.bedgraph"},
        "graph": graph,
        "genes": {"path": "tss.matched.bed", "format": "bed"},
    }


def prepare_cells(out: Path) -> dict[str, Path]:
    """Write the two cell specs (YAML) and prepare one CellData per graph."""
    import yaml

    raw = {"format": "juicer_dump", "path": str(FILES["hic"]), "max_distance_bp": MAX_DISTANCE}
    graphs = {"called": {**raw, "call": True, "fdr": 0.1}, "min_count": {**raw, "min_count": MIN_COUNT}}
    cells = {}
    for name, graph in graphs.items():
        spec = out / f"K562_chr22_{name}.yaml"
        spec.write_text(yaml.safe_dump(cell_spec(graph), sort_keys=False))
        cells[name] = prepare(spec, out / f"K562_chr22_{name}.h5", progress=False)
    return cells


def window_split(cell: CellData) -> dict[str, list]:
    """chr22 windows by index: % 5 == 1 validation, == 3 test, the rest training."""
    roles: dict[str, list] = {"train": [], "valid": [], "test": []}
    for w in windows(cell.n_nodes(CHROM), CHROM):
        roles["valid" if w.index % 5 == 1 else "test" if w.index % 5 == 3 else "train"].append(w)
    return roles


def in_windows(table: pd.DataFrame, wins: list) -> np.ndarray:
    """Rows of a prediction table whose 5 kb node lies in the middle of one of `wins`."""
    node = (table["bin_start"] // NODE_BIN).to_numpy()
    mask = np.zeros(len(table), dtype=bool)
    for w in wins:
        lo, hi = w.middle
        mask |= (node >= lo) & (node < hi)
    return mask


def train_and_evaluate(name: str, model, cell: CellData, split: dict[str, list], args, out: Path):
    """Train `model` on the split (or, with --reuse, load the weights a previous run saved in `out`);
    return the model, its run record and the prediction table."""
    from graphreg_zoo.prediction import predict
    from graphreg_zoo.training.engine import TrainConfig, fit
    from graphreg_zoo.zoo.presets import save_preset

    weights, run_file = out / f"{name}.weights.h5", out / f"{name}.run.json"
    if args.reuse and weights.is_file() and run_file.is_file():
        model.load_weights(weights)
        record = json.loads(run_file.read_text())
    else:
        config = TrainConfig(epochs=args.epochs, max_early_stopping=args.patience, learning_rate=args.learning_rate,
                             upstream_compat=True, shuffle=True, seed=0)
        t = time.perf_counter()
        result = fit(model, cell, train_windows=split["train"], valid_windows=split["valid"], config=config,
                     progress=True)
        record = {"train_seconds": time.perf_counter() - t, "best_epoch": result.best_epoch,
                  "epochs_run": len(result.history["loss"]), "history": result.history}
        model.save_weights(weights)
        run_file.write_text(json.dumps(record))
    save_preset(model, out / f"preset_{name}", {"name": name, "data": {"cell": str(cell.path)},
                                                "training": {k: v for k, v in record.items() if k != "history"}})
    table = predict(model, cell, [CHROM], progress=False)
    table["model"] = name
    table.to_csv(out / f"predictions_{name}.tsv", sep="\t", index=False)
    record["metrics"] = {}
    for role, wins in split.items():
        rows = table[in_windows(table, wins)]
        expressed = rows[rows["cage"] >= 5]
        record["metrics"][role] = {"all": gene_metrics(rows["cage"], rows["prediction"]),
                                   "expressed": gene_metrics(expressed["cage"], expressed["prediction"])}
    return model, record, table


def bootstrap_pearson(tables: dict[str, pd.DataFrame], wins: list, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Pearson R of log2(x+1) on the genes of `wins` per model, with a 95% bootstrap interval over genes
    and the paired difference to the CNN (same resampled genes)."""
    logs = {}
    for name, table in tables.items():
        rows = table[in_windows(table, wins)]
        logs[name] = (np.log2(rows["cage"].to_numpy() + 1), np.log2(rows["prediction"].to_numpy() + 1))
    n_genes = len(next(iter(logs.values()))[0])
    draws = np.random.default_rng(seed).integers(0, n_genes, size=(n, n_genes))

    def pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = x - x.mean(axis=-1, keepdims=True), y - y.mean(axis=-1, keepdims=True)
        return (x * y).sum(-1) / np.sqrt((x * x).sum(-1) * (y * y).sum(-1))

    boot = {name: pearson(y[draws], p[draws]) for name, (y, p) in logs.items()}
    rows = []
    for name, (y, p) in logs.items():
        lo, hi = np.nanquantile(boot[name], [0.025, 0.975])
        row = {"model": name, "genes": n_genes, "pearson": float(pearson(y, p)), "ci_low": lo, "ci_high": hi}
        if "cnn" in boot and name != "cnn":
            diff = boot[name] - boot["cnn"]
            row.update(minus_cnn=row["pearson"] - float(pearson(*logs["cnn"])),
                       minus_cnn_ci_low=np.nanquantile(diff, 0.025), minus_cnn_ci_high=np.nanquantile(diff, 0.975))
        rows.append(row)
    return pd.DataFrame(rows)


def scatter_figure(tables: dict[str, pd.DataFrame], split: dict[str, list], path: Path) -> None:
    """Held-out (test windows) predicted vs measured log2(x+1), one panel per model."""
    from graphreg_zoo.plots import save_figure, scatter_grid

    panels = []
    for name, table in tables.items():
        rows = table[in_windows(table, split["test"])]
        panels.append((name, np.log2(rows["cage"] + 1), np.log2(rows["prediction"] + 1)))
    fig = scatter_grid(panels, xlabel="log2(TPM at TSS bin + 1)", ylabel="log2(prediction + 1)", ncols=len(panels))
    save_figure(fig, path, dpi=80)


def validate_attributions(models: dict[str, object], cell_of: dict[str, CellData], pairs: pd.DataFrame, out: Path,
                          figures: Path):
    """Score the CRISPRi pairs by each model's grad x input attribution; validate with the baselines."""
    from graphreg_zoo.interpret._crispr_report import pr_figure
    from graphreg_zoo.interpret.attribution import enhancer_scores
    from graphreg_zoo.interpret.crispr import KEYS, validate_enhancers
    from graphreg_zoo.plots import save_figure

    scores = None
    for name, model in models.items():
        table = enhancer_scores(model, cell_of[name], pairs, 40, method="grad_x_input")
        table = table.rename(columns={"graphreg": name})
        scores = table if scores is None else scores.merge(table, on=KEYS)
    report = validate_enhancers(FILES["crispr"], scores, out / "validation", abc_table=FILES["abc"], chroms=[CHROM],
                                score_columns=[*models, "distance", "abc"])
    save_figure(pr_figure(report), figures / "pr_curves.png", dpi=80)
    return report


def markdown_sections(results: dict) -> dict[str, str]:
    """The measured sections of the two docs."""
    from graphreg_zoo._tables import markdown_table

    inputs, graphs = results["inputs"], results["graphs"]
    graph_rows = pd.DataFrame([{"rule": k, **{c: v[c] for c in ("edges", "nodes_with_edge", "mean_degree_linked")},
                                "CRISPRi positives joined": f"{v['positives_joined']} of {v['n_positives']}",
                                "negatives joined": f"{v['negatives_joined']} of {v['n_negatives']}"}
                               for k, v in graphs.items()])
    metric_rows = []
    for name, run in results["models"].items():
        for role in ("test", "valid", "train"):
            m = run["metrics"][role]
            metric_rows.append({"model": name, "windows": role, "genes (TSS bins)": m["all"]["n_genes"],
                                "Pearson R": m["all"]["pearson"], "Spearman": m["all"]["spearman"],
                                "expressed (>=5)": m["expressed"]["n_genes"],
                                "Pearson R expressed": m["expressed"]["pearson"]})
    runs = pd.DataFrame([{"model": k, "epochs run": v["epochs_run"], "best epoch": v["best_epoch"],
                          "train minutes": v["train_seconds"] / 60} for k, v in results["models"].items()])
    split = results["split"]
    summary = results["validation"]["per_gene_summary"]
    scored = pairs_scored(results)
    per_gene = ("Mean per gene (genes with >= 10 pairs and a positive):\n\n" + markdown_table(summary)
                if len(summary) else "No chr22 gene has >= 10 tested pairs with a positive, so there are no "
                "per-gene metrics; the pooled ranking mixes genes (scores are max-normalised per gene).")
    measured = (
        "## Measured\n\n"
        f"Run {results['date']} on {results['machine']}: `{results['command']}` ({results['minutes']:.1f} min).\n\n"
        f"Inputs: DNase {inputs['dnase_reads']:,.0f} reads in {inputs['dnase_nonzero_bins']:,} non-zero 100 bp bins, "
        f"H3K27ac {inputs['h3k27ac_reads']:,.0f} reads in {inputs['h3k27ac_nonzero_bins']:,} bins; "
        f"{inputs['genes_matched']} of {inputs['genes_in_bed']} chr22 genes matched to a TPM by symbol "
        f"({inputs['genes_tpm_gt1']} with TPM > 1).\n\n"
        "### Graphs (5 kb, edges 5 kb-2 Mb)\n\n" + markdown_table(graph_rows, ".2f") + "\n\n"
        f"### Window split\n\n{split['n']['train']} training, {split['n']['valid']} validation and "
        f"{split['n']['test']} test windows (index % 5 == 1 validation, == 3 test; windows without a TSS in "
        f"their middle skipped in training and validation: {split['with_tss']['train']} / "
        f"{split['with_tss']['valid']} / {split['with_tss']['test']} have one). Test windows: {split['test']}.\n\n"
        "### Training\n\n" + markdown_table(runs, ".1f") + "\n\n"
        "### Gene-level accuracy (log2(x+1), TSS bins in the windows' middle 2 Mb)\n\n"
        + markdown_table(pd.DataFrame(metric_rows)) + "\n\n"
        "Test windows, Pearson R with a 95% bootstrap interval over genes (2,000 resamples) and the paired "
        "difference to Epi-CNN:\n\n" + markdown_table(results["bootstrap"]) + "\n\n"
        "![held-out scatter](case_study/test_scatter.png)\n\n"
        f"### CRISPRi enhancer validation ({scored})\n\n"
        + markdown_table(results["validation"]["pooled"]) + "\n\n" + per_gene
        + "\n\n![PR curves](case_study/pr_curves.png)\n"
    )
    validation = (
        "## Real data: K562 chr22 (case study)\n\n"
        f"From `python benchmarks/case_study_k562_chr22.py --update-docs` ({results['date']}; details, inputs and "
        "caveats in [case-study-k562-chr22.md](case-study-k562-chr22.md)). Models trained on chr22 windows from "
        "element-level DNase/H3K27ac and RNA TPM; attributions grad x input, L = 40 bins; EPCrisprBenchmark pairs: "
        f"{scored}; ABC = the shipped chr22 predictions "
        "(pairs ABC did not list score 0; every score on the pairs all of them rate).\n\n"
        + markdown_table(results["validation"]["pooled"]) + "\n\n"
        "Epi-GraphReg scores below distance here and its attributions are exactly 0 for pairs its graph does "
        "not reach; training with another learning rate moved the trained models' APs by up to 0.15 (case "
        "study, 'Results in brief'). The script saves each model as a preset, and `graphreg-zoo "
        "validate-enhancers -m OUT/preset_graphreg_min_count -c OUT/K562_chr22_min_count.h5 --crispr ... "
        "--abc ... -o DIR` gives the same numbers.\n\n![PR curves](case_study/pr_curves.png)\n"
    )
    return {"measured": measured, "validation": validation}


def pairs_scored(results: dict) -> str:
    """How many chr22 CRISPRi pairs every score was measured on, and why the others were left out."""
    n_all = results["graphs"][next(iter(results["graphs"]))]
    n_all = n_all["n_positives"] + n_all["n_negatives"]
    pooled, unscorable = results["validation"]["pooled"], results["validation"]["unscorable"]
    n, positives = int(pooled["n_pairs"].iloc[0]), int(pooled["n_positives"].iloc[0])
    if unscorable.empty:
        return f"all {n} chr22 pairs, {positives} positives"
    genes = ", ".join(sorted(set(unscorable["gene"])))
    return (f"{n} of the {n_all} chr22 pairs, {positives} positives, the same pairs for every score; "
            f"{len(unscorable)} pairs ({int(unscorable['regulated'].sum())} positives) of {genes} left out: "
            f"no prediction at their TSS from {', '.join(sorted(set(','.join(unscorable['unscored_by']).split(','))))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="working folder (default: a new temp folder)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=10, help="max_early_stopping (stops after N-1 bad epochs)")
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--models", default="graphreg_min_count,cnn,graphreg_called")
    parser.add_argument("--figures", type=Path, default=FIGURES, help="folder of the two PNGs")
    parser.add_argument("--reuse", action="store_true", help="load the weights an earlier run left in --out")
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    import keras

    from graphreg_zoo.models.epi import EpiCNN, EpiGraphReg

    start = time.perf_counter()
    out = args.out or Path(tempfile.mkdtemp(prefix="graphreg_case_study_"))
    out.mkdir(parents=True, exist_ok=True)
    args.figures.mkdir(parents=True, exist_ok=True)
    print(f"working folder {out}")
    pairs = crispr_pairs()
    results: dict = {"inputs": render_inputs(out), "graphs": graph_rules(pairs)}
    print(json.dumps(results, indent=1))
    paths = prepare_cells(out)
    cells = {k: CellData(p) for k, p in paths.items()}
    called_edges = cells["called"].graph(CHROM).nnz // 2
    assert called_edges == results["graphs"]["called q<=0.1 (built-in caller)"]["edges"], called_edges
    split = window_split(cells["called"])
    results["split"] = {"n": {k: len(v) for k, v in split.items()}, "test": [w.index for w in split["test"]],
                        "with_tss": {k: len(select_windows(cells["called"], None, v, True)) for k, v in split.items()}}
    builders = {"graphreg_min_count": (lambda: EpiGraphReg(seed=0), "min_count"),
                "cnn": (lambda: EpiCNN(), "min_count"),
                "graphreg_called": (lambda: EpiGraphReg(seed=0), "called")}
    models, cell_of, tables, results["models"] = {}, {}, {}, {}
    for name in args.models.split(","):
        build, cell_name = builders[name]
        keras.utils.set_random_seed(0)
        print(f"training {name} on the {cell_name} graph")
        model, record, table = train_and_evaluate(name, build(), cells[cell_name], split, args, out)
        models[name], cell_of[name], tables[name], results["models"][name] = model, cells[cell_name], table, record
        print(name, json.dumps(record["metrics"]["test"]))
    scatter_figure(tables, split, args.figures / "test_scatter.png")
    results["bootstrap"] = bootstrap_pearson(tables, split["test"])
    print(results["bootstrap"].to_string(index=False))
    report = validate_attributions(models, cell_of, pairs, out, args.figures)
    results["validation"] = {"pooled": report.pooled, "per_gene_summary": report.summary(),
                             "unscorable": report.unscorable}
    print(report.pooled.to_string(index=False))
    command = (f"python benchmarks/case_study_k562_chr22.py --epochs {args.epochs} --patience {args.patience} "
               f"--learning-rate {args.learning_rate:g} --models {args.models} --update-docs"
               + (f" --out {out} --reuse" if args.reuse else ""))
    results.update(date=time.strftime("%Y-%m-%d"), machine="the shared 2-core development VM (CPU, TensorFlow)",
                   command=command,
                   minutes=(time.perf_counter() - start) / 60)
    serialisable = {**results, "bootstrap": results["bootstrap"].to_dict("records"),
                    "validation": {k: v.to_dict("records") for k, v in results["validation"].items()}}
    (out / "results.json").write_text(json.dumps(serialisable, indent=1, default=str))
    sections = markdown_sections(results)
    print(sections["measured"])
    if args.update_docs:
        replace_section(REPO / "docs/case-study-k562-chr22.md", "## Measured", sections["measured"],
                        title="# Case study: K562 chr22")
        replace_section(REPO / "docs/enhancer-validation.md", "## Real data: K562 chr22 (case study)",
                        sections["validation"], title="# Enhancer validation")
    print(f"done in {(time.perf_counter() - start) / 60:.1f} min; files in {out}")


if __name__ == "__main__":
    main()
