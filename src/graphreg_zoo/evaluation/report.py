"""The files of an evaluation report: Markdown, CSVs and PNG figures (see docs/evaluation.md)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import plots
from .._tables import markdown_table, write_csv, write_text
from .metrics import CONTACT_BINS, GENE_SETS, POOLED, gene_set_mask

if TYPE_CHECKING:
    from .evaluator import EvaluationReport

SCATTER = "scatter.png"
CONTACTS = "contacts_box.png"
#: gene set shown in the contact-bin box plot
BOX_SET = "B"


def scatter_figure(report: EvaluationReport):
    """log2(true + 1) vs log2(predicted + 1), one row of gene-set panels per model."""
    genes = report.genes
    columns = {report.models[0]: "prediction", report.models[1]: "prediction_baseline"}
    panels = []
    for model, column in columns.items():
        if model is None:
            continue
        for name, (label, _, _) in GENE_SETS.items():
            sel = genes[gene_set_mask(genes, name)]
            panels.append((f"{model}: {name} ({label})", np.log2(sel["cage"] + 1.0), np.log2(sel[column] + 1.0)))
    return plots.scatter_grid(panels, xlabel="log2(true CAGE + 1)", ylabel="log2(predicted + 1)")


def contact_figure(report: EvaluationReport):
    """Per-gene error (or delta NLL with a baseline) of set B genes by number of contacts."""
    genes = report.genes[gene_set_mask(report.genes, BOX_SET)]
    model, baseline = report.models
    if baseline is None:
        values = (np.log2(genes["prediction"] + 1.0) - np.log2(genes["cage"] + 1.0)).abs()
        ylabel, title = "|log2(pred + 1) - log2(true + 1)|", f"{model}: absolute log2 error"
    else:
        values = genes["delta_nll"]
        ylabel, title = "delta NLL (baseline - model)", f"{model} vs {baseline}: delta NLL (> 0: model better)"
    groups = {label: values[genes["contact_bin"] == label].to_numpy() for label, _ in CONTACT_BINS}
    return plots.box_by_group(groups, ylabel=ylabel, xlabel="number of contacts",
                              title=f"{title}\nset {BOX_SET} ({GENE_SETS[BOX_SET][0]})")


def markdown(report: EvaluationReport) -> str:
    """The report as Markdown."""
    model, baseline = report.models
    folds = [f for f in report.metrics["fold"].unique() if f != POOLED]
    sets = "\n".join(
        f"| {name} | {label} | >= {cage:g} | >= {contact} |" for name, (label, cage, contact) in GENE_SETS.items()
    )
    parts = [
        f"# Evaluation: {model}" + (f" vs {baseline}" if baseline else ""),
        f"{report.scope()}."
        + (f" Per-fold metrics (each fold's test rows): {', '.join(folds)}." if folds else ""),
        "## Gene sets\n\n| set | name | CAGE | n_contact |\n|---|---|---|---|\n" + sets,
        "## Pooled metrics (fold `all`)\n\n" + markdown_table(report.pooled()),
    ]
    if folds:
        per_fold = report.metrics[report.metrics["fold"] != POOLED]
        parts.append("## Per-fold metrics (each fold's test rows)\n\n" + markdown_table(per_fold))
    if report.comparisons is not None:
        delta = report.genes.groupby("contact_bin")["delta_nll"].mean()
        delta = delta.reindex([label for label, _ in CONTACT_BINS]).dropna()
        parts.append(
            f"## {model} vs {baseline}: one-sided Wilcoxon signed-rank tests over folds\n\n"
            + markdown_table(report.comparisons, floatfmt=".4g")
            + "\n\nMean per-gene delta NLL (baseline - model; > 0 favours the model) by contacts: "
            + ", ".join(f"{k}: {v:.4g}" for k, v in delta.items())
        )
    parts.append(f"## Figures\n\n![scatter]({SCATTER})\n\n![contacts]({CONTACTS})")
    parts.append("Metrics: Pearson and Spearman of log2(x + 1); NLL = mean of lgamma(y + 1) + mu - y log(mu).")
    return "\n\n".join(parts) + "\n"


def write_report(report: EvaluationReport, out_dir: Path) -> dict[str, Path]:
    """Write every report file into `out_dir` (each atomically); return name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "metrics": write_csv(report.metrics, out_dir / "metrics.csv"),
        "genes": write_csv(report.genes, out_dir / "genes.csv"),
        "scatter": plots.save_figure(scatter_figure(report), out_dir / SCATTER),
        "contacts": plots.save_figure(contact_figure(report), out_dir / CONTACTS),
    }
    if report.comparisons is not None:
        files["comparisons"] = write_csv(report.comparisons, out_dir / "comparisons.csv")
    files["report"] = write_text(out_dir / "report.md", markdown(report))
    return files
