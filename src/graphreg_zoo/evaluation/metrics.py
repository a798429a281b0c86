"""Gene sets, per-gene and per-fold metrics, row selection by role, and fold comparisons (UPSTREAM §5.2)."""
from __future__ import annotations

import math
import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from .._tables import require_columns
from ..errors import InvalidInputError
from ..zoo.folds import HELD_OUT, ROLE_OF_SPLIT, ROLES

#: set name -> (label, minimum CAGE, minimum n_contact)
GENE_SETS: dict[str, tuple[str, float, int]] = {
    "A": ("All", 0.0, 0),
    "B": ("Expressed", 5.0, 0),
    "C": ("Expressed, >=1 contact", 5.0, 1),
    "D": ("Expressed, >=5 contacts", 5.0, 5),
}
#: (label, smallest n_contact) of the contact-count bins used in plots
CONTACT_BINS: tuple[tuple[str, int], ...] = (("0", 0), ("1-4", 1), ("5-9", 5), ("10+", 10))
REQUIRED_COLUMNS = ("chrom", "bin_start", "n_contact", "prediction", "cage")
POOLED = "all"
#: metric -> the direction in which the model should beat the baseline
COMPARED_METRICS = {"pearson": "greater", "spearman": "greater", "nll": "less"}
#: role -> why its rows are left out of held-out numbers
LEFT_OUT_BECAUSE = {
    "validation": "the model was selected on them (early stopping)",
    "training": "the model trained on them",
    "unknown": "the model records no training split",
}


def gene_set_mask(table: pd.DataFrame, name: str) -> np.ndarray:
    """Boolean mask of the rows of `table` in gene set `name` (A, B, C or D)."""
    _, min_cage, min_contact = GENE_SETS[name]
    return ((table["cage"] >= min_cage) & (table["n_contact"] >= min_contact)).to_numpy()


def poisson_nll(cage, prediction) -> np.ndarray:
    """Per-gene Poisson NLL with the constant: lgamma(y + 1) + mu - y log(mu)."""
    from scipy.special import gammaln, xlogy

    y, mu = np.asarray(cage, float), np.asarray(prediction, float)
    return gammaln(y + 1.0) + mu - xlogy(y, mu)


def gene_metrics(cage, prediction) -> dict[str, float]:
    """n_genes, Pearson and Spearman of log2(x + 1), and the mean Poisson NLL."""
    from scipy.stats import pearsonr, spearmanr

    y, mu = np.asarray(cage, float), np.asarray(prediction, float)
    ly, lmu = np.log2(y + 1.0), np.log2(mu + 1.0)
    varied = y.size > 1 and np.ptp(ly) > 0 and np.ptp(lmu) > 0
    return {
        "n_genes": int(y.size),
        "pearson": float(pearsonr(ly, lmu)[0]) if varied else math.nan,
        "spearman": float(spearmanr(ly, lmu)[0]) if varied else math.nan,
        "nll": float(poisson_nll(y, mu).mean()) if y.size else math.nan,
    }


def _checked(table: pd.DataFrame, what: str) -> pd.DataFrame:
    hint = "" if "cage" in table else (
        ". Evaluation needs the true CAGE per TSS bin in a 'cage' column: predict on a CellData "
        "that holds CAGE, or add the measured values"
    )
    require_columns(table, list(REQUIRED_COLUMNS), what, hint)
    out = table.copy()
    for col in ("n_contact", "prediction", "cage"):
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            rows = ", ".join(map(str, out.index[bad][:5]))
            raise InvalidInputError(
                f"{what}: column {col!r} has {int(bad.sum())} missing, non-numeric or negative "
                f"value(s) (rows {rows}); evaluation needs non-negative numbers"
            )
        out[col] = values
    out["chrom"] = out["chrom"].astype(str)
    if out.duplicated(["chrom", "bin_start"]).any():
        raise InvalidInputError(f"{what}: repeated (chrom, bin_start) rows; keep one row per TSS bin")
    out["fold"] = out["fold"].astype(str) if "fold" in out else POOLED
    if "role" in out:
        out["role"] = out["role"].astype(str)
        unknown = sorted(set(out["role"]) - set(ROLES))
        if unknown:
            raise InvalidInputError(f"{what}: column 'role' has {unknown}; roles are {list(ROLES)}")
    if out["fold"].nunique() > 1 and (out["fold"] == POOLED).any():
        raise InvalidInputError(f"{what}: fold {POOLED!r} is reserved for the pooled metrics; rename it")
    return out


def scored_roles(include: str | Iterable[str] = ()) -> tuple[str, ...]:
    """The held-out roles plus `include` ('valid' and 'train' as in recipes, or 'all'; a string is
    split on commas, as the CLI's --include), in ROLES order."""
    wanted = set(HELD_OUT)
    for role in include.split(",") if isinstance(include, str) else include:
        if not role.strip():
            continue
        role = ROLE_OF_SPLIT.get(role.strip(), role.strip())
        if role == "all":
            wanted |= set(ROLES)
        elif role not in ROLES:
            raise InvalidInputError(f"cannot include role {role!r}; roles are {list(ROLES)} (or 'all', 'valid', "
                                    "'train')")
        wanted.add(role)
    return tuple(r for r in ROLES if r in wanted)


def _select(genes: pd.DataFrame, roles: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows whose role (and baseline role, if any) is scored, and the left-out counts by role."""
    left_out: dict[str, int] = {}
    keep = np.ones(len(genes), dtype=bool)
    for column, prefix in (("role", ""), ("role_baseline", "baseline ")):
        if column not in genes:
            continue
        out = ~genes[column].isin(roles).to_numpy() & keep
        left_out.update({f"{prefix}{r}": int(n) for r, n in genes.loc[out, column].value_counts().items()})
        keep &= ~out
    return genes[keep], left_out


def _model_name(table: pd.DataFrame, default: str) -> str:
    if "model" in table and table["model"].nunique() == 1:
        return str(table["model"].iloc[0])
    return default


def _join_baseline(genes: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    require_columns(baseline, ["chrom", "bin_start", "prediction"], "baseline table")
    base = baseline[["chrom", "bin_start", "prediction", *(["role"] if "role" in baseline else [])]].copy()
    if "role" in base:
        base = base.rename(columns={"role": "role_baseline"})
        base["role_baseline"] = base["role_baseline"].astype(str)
    base["chrom"] = base["chrom"].astype(str)
    if base.duplicated(["chrom", "bin_start"]).any():
        raise InvalidInputError("baseline table: repeated (chrom, bin_start) rows; keep one row per TSS bin")
    base = base.rename(columns={"prediction": "prediction_baseline"})
    base["prediction_baseline"] = pd.to_numeric(base["prediction_baseline"], errors="coerce")
    joined = genes.merge(base, on=["chrom", "bin_start"], how="inner", validate="one_to_one")
    if joined.empty:
        raise InvalidInputError("the baseline table shares no (chrom, bin_start) rows with the table")
    if joined["prediction_baseline"].isna().any() or (joined["prediction_baseline"] < 0).any():
        raise InvalidInputError("baseline column 'prediction' has missing or negative values")
    return joined


def _contact_bin(n_contact: pd.Series) -> pd.Series:
    labels = [label for label, _ in CONTACT_BINS]
    edges = [low for _, low in CONTACT_BINS][1:]
    return pd.Series(np.asarray(labels)[np.searchsorted(edges, n_contact, side="right")], index=n_contact.index)


def _fold_order(folds: pd.Series) -> list[str]:
    names = list(folds.unique())
    numeric = all(n.lstrip("-").isdigit() for n in names)
    return sorted(names, key=int) if numeric else sorted(names)


def _fold_groups(genes: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Each fold's test rows (every row of a fold where the table has no role column): never a
    validation-routed or mean-of-folds group, so per-fold metrics and their tests are held out."""
    tested = genes[genes["role"] == "test"] if "role" in genes else genes
    return [(f, tested[tested["fold"] == f]) for f in _fold_order(tested["fold"]) if f != POOLED]


def metrics_table(genes: pd.DataFrame, predictions: dict[str, str]) -> pd.DataFrame:
    """Metrics per model (name -> prediction column), fold (its test rows; plus pooled "all") and gene set."""
    groups = _fold_groups(genes) + [(POOLED, genes)]
    rows = []
    for model, column in predictions.items():
        for fold, part in groups:
            for name in GENE_SETS:
                sel = part[gene_set_mask(part, name)]
                rows.append({"model": model, "fold": fold, "set": name,
                             **gene_metrics(sel["cage"], sel[column])})
    return pd.DataFrame(rows)


def compare_folds(metrics: pd.DataFrame, model: str, baseline: str) -> pd.DataFrame:
    """One-sided Wilcoxon signed-rank tests of `model` vs `baseline` over folds, per set and metric."""
    from scipy.stats import wilcoxon

    per_fold = metrics[metrics["fold"] != POOLED]
    rows = []
    for name in GENE_SETS:
        sel = per_fold[per_fold["set"] == name]
        for metric, alternative in COMPARED_METRICS.items():
            by_model = [sel[sel["model"] == m].set_index("fold")[metric] for m in (model, baseline)]
            pair = pd.concat(by_model, axis=1, keys=["model", "baseline"]).dropna()
            a, b = pair["model"].to_numpy(), pair["baseline"].to_numpy()
            stat = p = math.nan
            if len(pair) >= 2 and np.any(a != b):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    stat, p = (float(v) for v in wilcoxon(a, b, alternative=alternative))
            rows.append({"set": name, "metric": metric, "model_better_if": alternative,
                         "n_folds": len(pair), "mean_model": a.mean() if a.size else math.nan,
                         "mean_baseline": b.mean() if b.size else math.nan,
                         "statistic": stat, "p_value": p})
    return pd.DataFrame(rows)
