"""Feature attribution of a gene's predicted CAGE (UPSTREAM §6.1).

The target is the sum of the predictions at the gene's TSS node and `neighbours` nodes on
each side, in the window whose middle 2 Mb holds the TSS. By default it is the original's:
the TSS node and its two neighbours for Epi models, the TSS node alone for Seq models
(UPSTREAM §6.1).
Attributions are taken with respect to the model's data input:

| model | input | native resolution | channels |
|---|---|---|---|
| Epi-GraphReg, Epi-CNN | epigenome (60000, 3) | 100 bp | h3k4me3, h3k27ac, dnase |
| Seq-GraphReg, Seq-CNN (separate) | bottleneck (60000, 64) | 100 bp | summed into `total` |
| e2e Seq models | sequence (6e6, 4) | 1 bp | A, C, G, T |

Methods:
- `saliency`: the plain gradient dy/dx.
- `grad_x_input`: x * dy/dx, what the original scripts call saliency (and, on the
  bottleneck, the h * dy/dh of the Seq scripts).
- `expected_gradients`: the mean over `n_samples` draws of (x - x') * dy/dx at
  x' + a (x - x'), a ~ U(0, 1), x' a baseline: all zeros (the original DeepSHAP /
  GradientExplainer background) or a shuffle of x (per track for tracks and bottleneck
  channels, whole positions for one-hot sequence so every position stays one base).

A fold ensemble (or a list of models) is attributed member by member and averaged.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

from .._atomic import atomic_path
from ..errors import InvalidInputError
from ..geometry import NODE_BIN, WINDOW_BP
from ._windows import Member, WindowRun, bin_coordinates, locate, resolve_inputs

METHODS = ("saliency", "grad_x_input", "expected_gradients")
BASELINES = ("zero", "shuffle")
BASES = ("A", "C", "G", "T")


def attribute(
    model,
    cell,
    gene: str | None = None,
    *,
    chrom: str | None = None,
    tss: int | None = None,
    method: str = "saliency",
    baseline: str = "zero",
    n_samples: int = 50,
    neighbours: int | None = None,
    seed: int = 0,
    base=None,
    batch_size: int | None = None,
    resolution: int | None = None,
    allow_base_mismatch: bool = False,
):
    """Attribution of one gene's predicted CAGE to every input bin of its window.

    Args:
        model: a GraphReg model, a FoldEnsemble or a list of models (averaged).
        cell: a CellData.
        gene: gene name (a TSS bin's `genes` may list several, joined by '+'); or give
            `chrom` and `tss` instead. With both, the bin holding `tss` is used.
        method: "saliency", "grad_x_input" or "expected_gradients".
        baseline: "zero" or "shuffle" (expected gradients only).
        n_samples: baseline/interpolation draws of expected gradients.
        neighbours: nodes on each side of the TSS node summed into the target (default: the
            original's, 1 for Epi models and 0 for Seq models).
        seed: seed of the expected-gradients draws.
        base: the Seq-CNN base (or one per fold) of a separately trained Seq model, paired by fold and
            flavour; `allow_base_mismatch` runs a mismatched one anyway (with a warning).
        batch_size: inputs per gradient call (default 1 for sequence, 8 otherwise).
        resolution: bin size of the output in bp (default: the input's own, 100 or 1);
            a coarser one sums the attributions in each bin.

    Returns:
        DataFrame chrom, start, end, one column per input channel (none for a bottleneck),
        total (the sum over channels), over the window's bins that lie on the chromosome.
        `df.attrs` records gene, chrom, tss, node, method, baseline and n_models.

    Example:
        >>> df = attribute(model, cell, "MYC", method="grad_x_input")   # doctest: +SKIP
    """
    model, cell = resolve_inputs(model, cell)
    _check(method, baseline, n_samples, neighbours)
    site = locate(cell, gene, chrom, tss)
    run = WindowRun(model, cell, site.window, base, allow_base_mismatch)
    if neighbours is None:
        neighbours = default_neighbours(run.members[0])
    nodes = site.target_nodes(neighbours)
    scores = np.mean(
        [_member_scores(m, run.arrays, nodes, method, baseline, n_samples, seed, batch_size) for m in run.members],
        axis=0,
    )
    primary = run.members[0].primary
    channels = {"epigenome": list(cell.track_names), "sequence": list(BASES)}.get(primary, [])
    df = _table(run, scores, channels, resolution)
    df.attrs.update(gene=gene or site.genes, chrom=site.chrom, tss=site.tss, node=site.node, input=primary,
                    method=method, baseline=baseline, n_models=len(run.members), neighbours=neighbours)
    return df


def default_neighbours(member: Member) -> int:
    """The original's target: the TSS node and its two neighbours for Epi models, the TSS node
    alone (`ranked_outputs`, y_TSS) for Seq models (UPSTREAM §6.1)."""
    return 1 if member.primary == "epigenome" else 0


def _check(method: str, baseline: str, n_samples: int, neighbours: int | None) -> None:
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if baseline not in BASELINES:
        raise InvalidInputError(f"baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")
    if n_samples < 1 or (neighbours is not None and neighbours < 0):
        raise InvalidInputError(f"n_samples must be >= 1 and neighbours >= 0, got {n_samples} and {neighbours}")


def _member_scores(
    member: Member, arrays: dict, nodes: list[int], method: str, baseline: str, n_samples: int, seed: int,
    batch_size: int | None,
) -> np.ndarray:
    """One model's attribution (L, C) of the target at `nodes`."""
    from ..models.autodiff import node_gradient_function

    inputs = member.inputs(arrays)
    name = member.primary
    grad = node_gradient_function(member.model, name, nodes)
    x = inputs[name]
    if method == "saliency":
        return grad(inputs)[name][0]
    if method == "grad_x_input":
        return (grad(inputs)[name] * x)[0]
    rng = np.random.default_rng(seed)
    batch_size = batch_size or (1 if name == "sequence" else 8)
    total = np.zeros(x.shape[1:], dtype="float64")
    for done in range(0, n_samples, batch_size):
        k = min(batch_size, n_samples - done)
        refs = np.stack([_baseline(x[0], baseline, rng, whole_rows=name == "sequence") for _ in range(k)])
        alpha = rng.uniform(size=(k,) + (1,) * (x.ndim - 1)).astype("float32")
        batch = {n: np.repeat(v, k, axis=0) for n, v in inputs.items()}
        batch[name] = refs + alpha * (x - refs)
        total += ((x - refs) * grad(batch)[name]).sum(axis=0)
    return (total / n_samples).astype("float32")


def _baseline(x: np.ndarray, kind: str, rng: np.random.Generator, whole_rows: bool) -> np.ndarray:
    """A zero baseline, or x shuffled along positions (jointly over channels if `whole_rows`)."""
    if kind == "zero":
        return np.zeros_like(x)
    if whole_rows:
        return x[rng.permutation(len(x))]
    return np.stack([rng.permutation(x[:, c]) for c in range(x.shape[1])], axis=1)


def _table(run: WindowRun, scores: np.ndarray, channels: list[str], resolution: int | None):
    """Scores (L, C) of a window as a bin table on the chromosome."""
    import pandas as pd

    native = WINDOW_BP // len(scores)
    resolution = resolution or native
    if resolution % native or NODE_BIN % resolution:
        raise InvalidInputError(
            f"resolution must be a multiple of {native} bp that divides {NODE_BIN}, got {resolution}"
        )
    values = scores.reshape(-1, resolution // native, scores.shape[-1]).sum(axis=1)
    starts, real = bin_coordinates(run, resolution)
    size = run.cell.chrom_sizes[run.window.chrom]
    df = pd.DataFrame({
        "chrom": pd.Categorical.from_codes(np.zeros(int(real.sum()), dtype=np.int8), [run.window.chrom]),
        "start": starts[real],
        "end": np.minimum(starts[real] + resolution, size),
    })
    for i, channel in enumerate(channels):
        df[channel] = values[real, i]
    df["total"] = values[real].sum(axis=1)
    return df


def write_attribution_bigwig(df, path: str | os.PathLike, chrom_sizes: Mapping[str, int], column: str = "total"):
    """Write one column of an attribution table as a bigWig, atomically.

    `chrom_sizes` (e.g. `cell.chrom_sizes`) makes the header; the table's bins must not overlap.
    """
    import pyBigWig

    if column not in df:
        raise InvalidInputError(f"attribution table has no column {column!r}; it has {', '.join(df.columns)}")
    missing = sorted(set(df["chrom"].astype(str)) - set(chrom_sizes))
    if missing:
        raise InvalidInputError(f"chromosomes {', '.join(missing)} are not in the chromosome sizes")
    order = {c: i for i, c in enumerate(chrom_sizes)}
    table = df.assign(_order=df["chrom"].astype(str).map(order)).sort_values(["_order", "start"])
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(n)) for c, n in chrom_sizes.items()])
            bw.addEntries(
                table["chrom"].astype(str).tolist(),
                table["start"].to_numpy(dtype=np.int64).tolist(),
                ends=table["end"].to_numpy(dtype=np.int64).tolist(),
                values=table[column].to_numpy(dtype=np.float64).tolist(),
            )
        finally:
            bw.close()
    return path


def enhancer_scores(model, cell, pairs, L: int = 40, *, method: str = "grad_x_input", **attribute_kwargs: Any):
    """GraphReg scores of CRISPRi element-gene pairs (UPSTREAM §6.1), for `crispr.validate_enhancers`.

    For each gene of `pairs` (the normalised CRISPR schema: chrom, start, end, gene, tss) found
    in the cell, the attribution `total` is computed once (gradient x input by default, as the
    original and the CLI) and each element scores max(total within +-L bins of its midpoint) /
    max(total). Genes absent from the cell score NaN (`validate` reports them as unscorable).
    Pairs on another genome build than the cell are refused (`crispr.check_build`).

    Returns a DataFrame chrom, start, end, gene, graphreg.
    """
    model, cell = resolve_inputs(model, cell)
    from .crispr import KEYS, check_build, score_elements

    check_build(pairs, cell)
    tss_of = pairs.dropna(subset=["tss"]).groupby(["gene", "chrom"])["tss"].first()

    def lookup(gene: str, chrom: str):
        if chrom not in cell.chroms or (gene, chrom) not in tss_of.index:
            return None
        tss = int(tss_of[(gene, chrom)])
        try:
            locate(cell, gene, chrom, tss)
        except InvalidInputError:  # the gene has no TSS in the cell: unscorable, not an error
            return None
        df = attribute(model, cell, gene, chrom=chrom, tss=tss, method=method, **attribute_kwargs)
        return df["start"].to_numpy(), df["total"].to_numpy()

    return score_elements(pairs, lookup, L)[[*KEYS, "graphreg"]]
