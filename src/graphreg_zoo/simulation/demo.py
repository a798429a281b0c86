"""`graphreg-zoo demo`: the whole pipeline, offline, on the embedded synthetic default.

1. simulate a genome the demo model never saw (the model trained on seed 0; the demo uses
   seed 1 of the same generative process, so every gene is held out) as real files:
   bigWigs, HiCDCPlus tables, GTF, FASTA;
2. prepare them into a CellData;
3. predict CAGE with the packaged Epi-GraphReg (`load("demo")`) and evaluate it;
4. attribute one gene with a planted loop-connected distal enhancer and compare the
   top-scoring element with the planted one;
5. knock out the planted activator (GATA1): its motif hits are found by scanning the FASTA,
   and the enhancer marks (H3K27ac, DNase) at those hits are removed, since an epigenome
   model sees marks, not sequence; the predicted fold changes are compared with the truth;
6. plots and a short summary.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DEMO_SEED = 1
DEMO_PRESET = "demo"
ACTIVATOR = "GATA1"
PROMOTER_EXCLUSION = 10_000  # bp around the TSS left out when looking for the top enhancer


@dataclass
class DemoSummary:
    """What the demo measured, and where it wrote its outputs."""

    out_dir: Path
    n_genes: int
    pearson_all: float
    pearson_expressed: float
    gene: str
    tss: int
    planted_enhancers: list[int]
    top_element: int
    top_is_planted: bool
    knockout_target_log2fc: float
    knockout_other_log2fc: float
    knockout_precision_top20: float
    files: dict[str, Path] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A short human-readable summary."""
        kb = abs(self.top_element - self.tss) / 1000
        return [
            f"Held-out genes: {self.n_genes}; Pearson R of log2(CAGE+1): {self.pearson_all:.3f} "
            f"(expressed genes: {self.pearson_expressed:.3f})",
            f"{self.gene}: top distal element at {self.top_element:,} ({kb:.0f} kb from the TSS); planted "
            f"enhancer(s) at {', '.join(f'{p:,}' for p in self.planted_enhancers)} -> "
            f"{'recovered' if self.top_is_planted else 'missed'}",
            f"{ACTIVATOR} knockout: mean predicted log2FC {self.knockout_target_log2fc:+.2f} on planted targets vs "
            f"{self.knockout_other_log2fc:+.2f} on other genes; precision among the 20 most decreased genes "
            f"{self.knockout_precision_top20:.2f}",
        ]


def _pooled(report, gene_set: str) -> float:
    pooled = report.pooled()
    return float(pooled.loc[pooled["set"] == gene_set, "pearson"].iloc[0])


def _demo_gene(truth, table: pd.DataFrame) -> pd.Series:
    """The expressed gene with the largest loop-connected distal contribution that has a TSS bin."""
    genes = truth.genes[truth.genes["has_loop"].astype(bool)]
    names = set("+".join(table["genes"]).split("+"))
    genes = genes[genes["gene_name"].isin(names)]
    return genes.sort_values("distal_loop_sum", ascending=False).iloc[0]


def _top_element(attr: pd.DataFrame, tss: int) -> int:
    """Centre of the highest-|attribution| 100 bp bin outside the promoter."""
    centre = (attr["start"] + attr["end"]) // 2
    distal = attr[(centre - tss).abs() > PROMOTER_EXCLUSION]
    best = distal["total"].abs().idxmax()
    return int(centre[best])


def _knockout_scores(ko: pd.DataFrame, truth) -> tuple[float, float, float]:
    """Mean predicted log2FC on true targets and on other genes; precision among the top 20 decreased."""
    targets = truth.tf_targets[(truth.tf_targets["tf"] == ACTIVATOR) & truth.tf_targets["target"].astype(bool)]
    target_names = set(targets["gene_name"])
    is_target = ko["genes"].map(lambda g: bool(set(g.split("+")) & target_names))
    top = ko.nsmallest(20, "log2fc")
    return (float(ko.loc[is_target, "log2fc"].mean()), float(ko.loc[~is_target, "log2fc"].mean()),
            float(is_target[top.index].mean()))


def _plots(out: Path, attr: pd.DataFrame, gene: pd.Series, planted: list[int], ko: pd.DataFrame, truth) -> dict:
    import matplotlib

    from ..plots import save_figure

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3), layout="constrained")
    ax = fig.subplots()
    centre = (attr["start"] + attr["end"]) / 2
    ax.plot(centre / 1e6, attr["total"], lw=0.8, color="0.1", zorder=3, label="attribution")
    ax.axvline(gene["tss"] / 1e6, color="tab:blue", ls="--", alpha=0.5, zorder=1, label="TSS")
    for p in planted:
        ax.axvline(p / 1e6, color="tab:red", alpha=0.35, lw=3, zorder=1, label="planted enhancer")
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(dict(zip(labels, handles)).values(), dict(zip(labels, handles)).keys(), fontsize=8)
    ax.set(xlabel=f"{gene['chrom']} position (Mb)", ylabel="gradient x input",
           title=f"Attribution of {gene['gene_name']}")
    files = {"attribution_plot": save_figure(fig, out / "attribution.png")}

    truth_fc = truth.tf_targets[truth.tf_targets["tf"] == ACTIVATOR].set_index("gene_name")["log2fc"]
    first = ko["genes"].str.split("+").str[0]
    paired = pd.DataFrame({"predicted": ko["log2fc"].to_numpy(), "true": first.map(truth_fc).to_numpy()}).dropna()
    fig = Figure(figsize=(4, 4), layout="constrained")
    ax = fig.subplots()
    ax.scatter(paired["true"], paired["predicted"], s=8, alpha=0.6)
    ax.axhline(0, color="0.6", lw=0.5)
    ax.axvline(0, color="0.6", lw=0.5)
    r = float(np.corrcoef(paired["true"], paired["predicted"])[0, 1]) if len(paired) > 2 else float("nan")
    ax.set(xlabel=f"true log2FC ({ACTIVATOR} KO)", ylabel="predicted log2FC", title=f"knockout, R = {r:.2f}")
    files["knockout_plot"] = save_figure(fig, out / "knockout.png")
    return files


def run_demo(out_dir: str | Path = "graphreg_zoo_demo", *, progress: bool = True) -> DemoSummary:
    """Run the demo pipeline into `out_dir` and return its summary (no network needed)."""
    from ..evaluation.evaluator import evaluate
    from ..interpret.attribution import attribute
    from ..interpret.perturb import knockout
    from ..prediction import predict, write_table
    from ..prep.cell import CellData, prepare
    from ..zoo.load import load
    from .files import simulate

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim = simulate(out / "genome", seed=DEMO_SEED, preset=DEMO_PRESET)
    cell = CellData(prepare(sim.out_dir / "cell.yaml", out / "cell.h5", progress=progress))
    model = load("demo")
    table = predict(model, cell, progress=progress)
    # The card's split names chr1-chr5 of the seed-0 genome it trained on; this genome (seed 1, same build
    # name) shares no sequence, tracks or genes with it, so every row is one the model never saw.
    table["role"] = "unseen"
    files = {"cell": cell.path, "predictions": write_table(table, out / "predictions.csv")}
    report = evaluate(table, out_dir=out / "evaluation")
    files["evaluation"] = out / "evaluation"

    gene = _demo_gene(sim.truth, table)
    attr = attribute(model, cell, gene["gene_name"], method="grad_x_input")
    write_table(attr, out / "attribution.csv")
    links = sim.truth.links
    planted_ids = links[(links["gene_id"] == gene["gene_id"]) & links["loop"].astype(bool)]["enhancer_id"]
    enhancers = sim.truth.enhancers.set_index("enhancer_id")
    planted = sorted(int(c) for c in enhancers.loc[planted_ids, "centre"])
    top = _top_element(attr, int(gene["tss"]))

    ko = knockout(model, cell, ACTIVATOR, motifs=sim.out_dir / "motifs.jaspar", mode="marks")
    write_table(ko, out / "knockout.csv")
    target_fc, other_fc, precision = _knockout_scores(ko, sim.truth)
    files.update(_plots(out, attr, gene, planted, ko, sim.truth))
    return DemoSummary(
        out_dir=out, n_genes=len(table), pearson_all=_pooled(report, "A"), pearson_expressed=_pooled(report, "B"),
        gene=str(gene["gene_name"]), tss=int(gene["tss"]), planted_enhancers=planted, top_element=top,
        top_is_planted=any(abs(top - p) <= 1000 for p in planted), knockout_target_log2fc=target_fc,
        knockout_other_log2fc=other_fc, knockout_precision_top20=precision, files=files,
    )


def training_cell(preset_dir: str | Path, out_dir: str | Path):
    """The CellData a packaged demo preset trained on, re-made from its card (simulation seed and preset).

    The demo presets were trained before presets recorded an input contract; this re-makes their
    training cell so `contract.recorded_contract` can state it (scripts/record_demo_contract.py).
    Every source file must match the sha256 the card recorded, or the cell is not the training cell.
    """
    import re

    from ..errors import IntegrityError
    from ..prep.cell import CellData, prepare
    from ..zoo.presets import read_card
    from .files import simulate

    card = read_card(preset_dir)
    made = re.search(r"preset (\w+), seed (\d+)", card["recipe"]["data"]["cell"])
    out = Path(out_dir)
    sim = simulate(out / "genome", seed=int(made.group(2)), preset=made.group(1))
    cell = CellData(prepare(sim.files["cell_yaml"], out / Path(card["data"]["cell"]).name, progress=False))
    recorded, remade = (_file_hashes(c) for c in (card["data"]["provenance"], cell.attrs["provenance"]))
    if recorded != remade:
        raise IntegrityError(f"the simulated genome in {out} differs from the one {preset_dir} trained on: "
                             f"{sorted(set(recorded.items()) ^ set(remade.items()))}")
    return cell


def _file_hashes(provenance: dict) -> dict[str, str]:
    """File name -> sha256 over every input of a CellData's provenance."""
    return {Path(path).name: f["sha256"] for role in provenance.values() for path, f in role["files"].items()}


def summary_dict(summary: DemoSummary) -> dict:
    """The summary as JSON-ready values."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(summary).items() if k != "files"}
