"""The files of an enhancer-validation report (see docs/enhancer-validation.md)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import plots
from .._tables import markdown_table, write_csv, write_text

if TYPE_CHECKING:
    from .crispr import CrisprReport

PR_CURVES = "pr_curves.png"


def pr_figure(report: CrisprReport):
    """Pooled PR curves over all pairs, one line per score, labelled with its AP."""
    labels = report.pairs["regulated"]
    pooled = report.pooled[report.pooled["subset"] == "all pairs"].set_index("score")["average_precision"]
    curves = {f"{name} (AP {pooled[name]:.3f})": curve for name, curve in report.curves().items()}
    title = f"{len(labels)} pairs, {int(labels.sum())} positives"
    return plots.pr_curves(curves, title=title, prevalence=float(labels.mean()))


def markdown(report: CrisprReport) -> str:
    """The report as Markdown."""
    pct = f"{100 * report.min_recall:g}%"
    pairs = report.pairs
    parts = [
        "# Enhancer validation against CRISPRi",
        f"{len(pairs)} element-gene pairs ({int(pairs['regulated'].sum())} positives, "
        f"{pairs['gene'].nunique()} genes); {report.n_dropped} pairs without a TSS left out. "
        f"{_unscorable(report)}"
        f"Scores: {', '.join(report.scores)}. `precision_at_recall` is the precision at {pct} recall.",
        "## Pooled\n\n" + markdown_table(report.pooled),
        "## Mean per gene (kept genes)\n\n" + markdown_table(report.summary()),
        f"## Precision-recall (all pairs)\n\n![PR curves]({PR_CURVES})",
        "Missing scores rank last. AP = sum (R_n - R_(n-1)) P_n; AUPRC = trapezoid area under the PR curve.",
    ]
    return "\n\n".join(parts) + "\n"


def _unscorable(report: CrisprReport) -> str:
    """One sentence on the pairs some score could not rate (left out of every score)."""
    table = report.unscorable
    if table.empty:
        return "Every score rates every pair. "
    per_score = {s: int(table["unscored_by"].str.split(",").apply(lambda names: s in names).sum())
                 for s in report.scores}
    counts = ", ".join(f"{s} {n}" for s, n in per_score.items() if n)
    return (f"{len(table)} pairs ({int(table['regulated'].sum())} positives) that some score cannot rate "
            f"({counts}) are left out of every score, listed in unscorable.csv. ")


def write_report(report: CrisprReport, out_dir: Path) -> dict[str, Path]:
    """Write every report file into `out_dir` (each atomically); return name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "pairs": write_csv(report.pairs, out_dir / "pairs.csv"),
        "unscorable": write_csv(report.unscorable, out_dir / "unscorable.csv"),
        "pooled": write_csv(report.pooled, out_dir / "pooled.csv"),
        "per_gene": write_csv(report.per_gene, out_dir / "per_gene.csv"),
        "pr_curves": plots.save_figure(pr_figure(report), out_dir / PR_CURVES),
        "report": write_text(out_dir / "report.md", markdown(report)),
    }
