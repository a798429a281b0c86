"""The reproduction report of one family and the run's manifest.

A family's report puts its reproduced folds next to the published ones on the same genes: per-fold
Pearson R and Poisson NLL (gene set A, from `evaluation.metrics_table`), and a two-sided paired
Wilcoxon signed-rank test over folds (did reproduction change the result, in either direction?). For
an Epi-GraphReg family with an Epi-CNN family in the run, it adds the paper's comparison: the
one-sided tests of `evaluation.evaluate` on the rows both models predicted.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path
from typing import Mapping, Optional

import numpy as np
import pandas as pd

from .._tables import markdown_table, read_table, write_csv, write_text
from ..errors import InvalidInputError

REPORT, FIGURE, METRICS = "report.md", "folds.png", "metrics.csv"
OURS, PUBLISHED = "reproduced", "published"
#: metrics shown per fold: column -> label
FOLD_METRICS = {"pearson": "Pearson R (log2)", "nll": "Poisson NLL"}
MANIFEST_COLUMNS = ("family", "fold", "recipe_hash", "data_hash", "graphreg_zoo_version", "backend",
                    "keras_version", "best_epoch", "preset")


def parse_fold_paths(items: list[str], option: str) -> dict[int, Path]:
    """`FOLD=PATH` items as {fold: path}."""
    found: dict[int, Path] = {}
    for item in items:
        fold, sep, path = item.partition("=")
        if not sep or not fold.isdigit() or not path:
            raise InvalidInputError(f"{option} {item!r}: expected FOLD=PATH, e.g. {option} 1=predict/fold1.csv")
        if int(fold) in found:
            raise InvalidInputError(f"{option}: fold {fold} given twice")
        found[int(fold)] = Path(path)
    return found


def fold_table(paths: Mapping[int, Path], model: str) -> pd.DataFrame:
    """The prediction tables of each fold, one table with `fold` and `model` columns."""
    parts = [read_table(path).assign(fold=str(fold), model=model) for fold, path in sorted(paths.items())]
    return pd.concat(parts, ignore_index=True)


def paired_wilcoxon(metrics: pd.DataFrame, model: str, baseline: str, gene_set: str = "A") -> pd.DataFrame:
    """Two-sided paired Wilcoxon signed-rank test of `model` vs `baseline` per metric over folds."""
    from scipy.stats import wilcoxon

    from ..evaluation.metrics import POOLED

    per_fold = metrics[(metrics["fold"] != POOLED) & (metrics["set"] == gene_set)]
    rows = []
    for metric in FOLD_METRICS:
        pair = per_fold.pivot(index="fold", columns="model", values=metric)[[model, baseline]].dropna()
        a, b = pair[model].to_numpy(), pair[baseline].to_numpy()
        stat = p = math.nan
        if len(pair) >= 2 and np.any(a != b):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scipy warns that exact p-values need more folds
                stat, p = (float(v) for v in wilcoxon(a, b, alternative="two-sided"))
        rows.append({"set": gene_set, "metric": metric, "n_folds": len(pair), f"mean_{model}": a.mean(),
                     f"mean_{baseline}": b.mean(), "mean_difference": (a - b).mean(), "statistic": stat,
                     "p_value": p})
    return pd.DataFrame(rows)


def _per_fold(metrics: pd.DataFrame, gene_set: str = "A") -> pd.DataFrame:
    """One row per fold: n_genes and each metric per model (set A)."""
    sel = metrics[metrics["set"] == gene_set]
    models = list(dict.fromkeys(sel["model"]))  # reproduced first, as they were added
    wide = sel.pivot(index="fold", columns="model", values=["n_genes", *FOLD_METRICS])
    wide = wide[[(metric, model) for metric in ("n_genes", *FOLD_METRICS) for model in models]]
    wide.columns = [f"{metric} {model}" for metric, model in wide.columns]
    for model in models:
        wide[f"n_genes {model}"] = wide[f"n_genes {model}"].map(lambda n: "NA" if pd.isna(n) else int(n))
    order = sorted(wide.index, key=lambda f: (not f.isdigit(), int(f) if f.isdigit() else 0, f))
    return wide.loc[order].reset_index()


def _figure(metrics: pd.DataFrame, family: str):
    from ..evaluation.metrics import POOLED
    from ..plots import fold_lines

    per_fold = metrics[(metrics["fold"] != POOLED) & (metrics["set"] == "A")]
    panels = {label: {model: per_fold[per_fold["model"] == model].set_index("fold")[metric]
                      for model in per_fold["model"].unique()}
              for metric, label in FOLD_METRICS.items()}
    return fold_lines(panels, title=f"{family}: held-out test chromosomes of each fold (gene set A)")


def family_report(family: str, ours: Mapping[int, Path], out_dir: str | os.PathLike, *,
                  published: Optional[Mapping[int, Path]] = None, versus: Optional[Mapping[int, Path]] = None,
                  versus_name: str = "Epi-CNN", note: str = "") -> dict[str, Path]:
    """Write report.md, folds.png and metrics.csv of one family into `out_dir`; return their paths."""
    from ..evaluation.evaluator import evaluate
    from ..plots import save_figure

    out = Path(out_dir)
    table = fold_table(ours, OURS)
    reproduced = evaluate(table)
    metrics = reproduced.metrics
    if published:  # the published folds on the rows both predicted (a fold without one keeps its own row)
        versus_published = evaluate(table, fold_table(published, PUBLISHED))
        metrics = pd.concat([metrics, versus_published.metrics[versus_published.metrics["model"] == PUBLISHED]],
                            ignore_index=True)
    parts = [f"# Reproduction of {family}",
             f"{len(ours)} fold(s) ({', '.join(map(str, sorted(ours)))}), each predicted on its own test chromosomes "
             f"only: {len(reproduced.genes)} TSS bins."]
    if note:
        parts.append(f"Note: {note}")
    parts.append("## Per fold (gene set A)\n\n" + markdown_table(_per_fold(metrics)))
    if published:
        parts.append(f"## {OURS} vs {PUBLISHED}: two-sided paired Wilcoxon signed-rank test over folds\n\n"
                     + markdown_table(paired_wilcoxon(versus_published.metrics, OURS, PUBLISHED), floatfmt=".4g")
                     + "\n\nA small p-value says reproduction changed the result; with fewer than 6 folds no "
                     "two-sided p-value can fall below 0.05.")
    if versus:
        paper = evaluate(table, fold_table(versus, versus_name))
        metrics = pd.concat([metrics, paper.metrics[paper.metrics["model"] == versus_name]], ignore_index=True)
        parts.append(f"## The paper's comparison: {family} vs {versus_name} on the same genes\n\n"
                     f"One-sided Wilcoxon signed-rank tests over folds ({OURS} better), on the "
                     f"{len(paper.genes)} TSS bins both predicted:\n\n"
                     + markdown_table(paper.comparisons, floatfmt=".4g"))
    parts.append(f"## Figure\n\n![per-fold metrics]({FIGURE})")
    parts.append("Metrics: Pearson R of log2(x + 1) and mean Poisson NLL (lgamma(y + 1) + mu - y log(mu)) per fold; "
                 "gene sets as in `graphreg-zoo evaluate` (docs/evaluation.md).")
    out.mkdir(parents=True, exist_ok=True)
    return {
        "metrics": write_csv(metrics, out / METRICS),
        "figure": save_figure(_figure(metrics, family), out / FIGURE),
        "report": write_text(out / REPORT, "\n\n".join(parts) + "\n"),
    }


def _card_path(path: Path) -> Path:
    return path / "card.json" if path.is_dir() else path


def manifest_row(preset: str | os.PathLike) -> dict[str, object]:
    """One manifest row from a trained preset's card (a preset directory or its card.json)."""
    from .plan import recipe_hash

    card_file = _card_path(Path(preset))
    if not card_file.is_file():
        raise InvalidInputError(f"{preset}: not a trained preset (no card.json)")
    card = json.loads(card_file.read_text())
    if "recipe" not in card:
        raise InvalidInputError(f"{card_file}: not a preset made by `graphreg-zoo train` (its card has no recipe)")
    provenance = (card.get("data") or {}).get("provenance") or ""
    return {
        "family": card.get("name"),
        "fold": card.get("fold"),
        "recipe_hash": recipe_hash(card["recipe"]),
        "data_hash": hashlib.sha256(str(provenance).encode()).hexdigest()[:16] if provenance else "",
        "graphreg_zoo_version": card.get("graphreg_zoo_version"),
        "backend": card.get("backend", ""),
        "keras_version": (card.get("preset") or {}).get("keras_version", ""),
        "best_epoch": card.get("best_epoch"),
        "preset": str(card_file.parent),
    }


def write_manifest(presets: list[str | os.PathLike], out: str | os.PathLike) -> Path:
    """The run's manifest: one row per trained (family, fold), tab-separated, written atomically."""
    from .._atomic import atomic_path

    rows = pd.DataFrame([manifest_row(p) for p in presets], columns=list(MANIFEST_COLUMNS))
    with atomic_path(out) as tmp:
        rows.sort_values(["family", "fold"]).to_csv(tmp, sep="\t", index=False)
    return Path(out)
