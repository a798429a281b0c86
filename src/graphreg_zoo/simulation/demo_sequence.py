"""`graphreg-zoo demo --sequence`: the paper's TF-motif knockout at the sequence level, on planted truth.

The packaged sequence models are the original's separate route: a Seq-CNN base (`load("demo_seq_base")`,
DNA -> H3K4me3, H3K27ac, DNase on 100 kb chunks) and two heads on its frozen bottleneck,
`load("demo_seq")` (Seq-GraphReg) and `load("demo_seq_cnn")` (Seq-CNN), trained on the DNA of the
`sequence` simulation preset (seed 0; retrain with `python training/demo_sequence.py OUT`). Here a genome of
the same process they never saw (seed 1, two chromosomes) is simulated and prepared; the planted lead
activator's (KLF1) motif hits, found by scanning its FASTA, are zeroed in the one-hot DNA, the base recomputes
the edited chunks' bottleneck, and both heads' predicted fold changes are ranked against the simulator's
knockout truth:

- all targets: genes whose true log2FC under the knockout is <= -0.5 (`truth.tf_targets`);
- distal targets: those of them with an activator-carrying enhancer more than 20 kb from the TSS
  joined to it by a planted loop. Only the graph tells which distal enhancer acts on which
  gene (decoy enhancers with the same motifs are joined to nothing), so this is where Seq-GraphReg
  should beat Seq-CNN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .genome import PRESETS

SEQUENCE_MODELS = {"Seq-GraphReg": "demo_seq", "Seq-CNN": "demo_seq_cnn"}
SEQUENCE_BASE = "demo_seq_base"  # the frozen Seq-CNN base both heads read
TRAINING_SEED = 0
HELD_OUT_SEED = 1
HELD_OUT_CHROMS = 2
SIM_PRESET = "sequence"
ACTIVATOR = PRESETS[SIM_PRESET]["activator"]  # KLF1
DISTAL_MIN = 20_000  # bp: a planted enhancer farther than this from the TSS is distal
EFFECT_MIN = 0.05  # a link regulates its gene above this effect (the simulator's cut for tf_targets)
TOP = 20
MIN_RESPONSE = 0.05  # |log2FC|: below this largest predicted decrease (3.5 %) a ranking says nothing


def planted_labels(truth, tf: str = ACTIVATOR) -> pd.DataFrame:
    """Per gene name: `target` (the TF's knockout truth) and `distal` (a target with a loop-connected
    enhancer carrying the TF's sites more than DISTAL_MIN from its TSS)."""
    targets = truth.tf_targets[truth.tf_targets["tf"] == tf]
    links = truth.links
    sites = truth.enhancers.set_index("enhancer_id")[f"n_{tf}"]
    distal_links = links[links["loop"].astype(bool) & (links["distance"] > DISTAL_MIN)
                         & (links["effect"] > EFFECT_MIN) & (links["enhancer_id"].map(sites) > 0)]
    names = truth.genes.set_index("gene_id")["gene_name"]
    distal_names = set(names[distal_links["gene_id"].unique()])
    target = targets.set_index("gene_name")["target"].astype(bool)
    return pd.DataFrame({"target": target, "distal": target & target.index.isin(distal_names)})


def _row_labels(ko: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Labels of each TSS bin of a knockout table: true when any of its genes has the label."""
    names = ko["genes"].str.split("+")
    return pd.DataFrame({col: names.apply(lambda g, c=col: bool(labels[c].reindex(g).fillna(False).any()))
                         for col in labels.columns}, index=ko.index)


def _precision_top(is_positive: pd.Series, score: pd.Series, top: int) -> float:
    order = score.sort_values(kind="stable").index[:top]
    return float(is_positive[order].mean())


def knockout_scores(ko: pd.DataFrame, truth, tf: str = ACTIVATOR, top: int = TOP) -> dict[str, float]:
    """A knockout table scored against the planted truth (a larger decrease ranks first).

    `precision_top20` / `auprc`: all targets against every other gene (`chance`: the targets'
    share, what a random ranking scores on both). `distal_precision` / `distal_auprc`: distal
    targets against the non-targets (proximal-only targets left out, as they answer another
    question); the precision is taken among the n most decreased of those genes, n = the number
    of distal targets (so 1.0 is reachable; `distal_chance` is their share). `largest_decrease`
    (the most negative predicted log2FC) and `spearman_true_log2fc` (rank correlation of the
    predicted with the true log2FC) say whether the model responds to the edit at all.
    """
    from ..interpret.prcurve import auprc

    rows = _row_labels(ko, planted_labels(truth, tf))
    decrease = -ko["log2fc"]
    keep = rows["distal"] | ~rows["target"]
    n_distal = int(rows["distal"].sum())
    true_fc = truth.tf_targets[truth.tf_targets["tf"] == tf].set_index("gene_name")["log2fc"]
    row_true_fc = ko["genes"].str.split("+").apply(lambda g: float(true_fc.reindex(g).min()))
    return {
        "n_genes": len(ko), "n_targets": int(rows["target"].sum()), "n_distal_targets": n_distal,
        "chance": float(rows["target"].mean()), "distal_chance": float(rows["distal"][keep].mean()),
        f"precision_top{top}": _precision_top(rows["target"], ko["log2fc"], top),
        "auprc": auprc(rows["target"].to_numpy(), decrease.to_numpy()),
        "distal_precision": _precision_top(rows["distal"][keep], ko["log2fc"][keep], n_distal),
        "distal_auprc": auprc(rows["distal"][keep].to_numpy(), decrease[keep].to_numpy()),
        "largest_decrease": float(ko["log2fc"].min()),
        "spearman_true_log2fc": float(ko["log2fc"].corr(row_true_fc, method="spearman")),
    }


@dataclass
class SequenceDemoSummary:
    """Per model (Seq-GraphReg, Seq-CNN): the knockout scores; and where the outputs are."""

    out_dir: Path
    seed: int
    scores: dict[str, dict[str, float]]
    files: dict[str, Path] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A short human-readable summary."""
        first = next(iter(self.scores.values()))
        out = [f"Sequence-level {ACTIVATOR} knockout (motif hits zeroed in the DNA) on a held-out genome (seed "
               f"{self.seed}): "
               f"{first['n_genes']} TSS bins, {first['n_targets']} planted targets, {first['n_distal_targets']} "
               f"of them distal (loop-connected enhancer > {DISTAL_MIN // 1000} kb)"]
        out.append(f"  chance (a random ranking): {first['chance']:.2f} for all targets, {first['distal_chance']:.2f} "
                   "for distal targets")
        for name, s in self.scores.items():
            out.append(f"  {name:13} precision among the {TOP} most decreased {s[f'precision_top{TOP}']:.2f}, "
                       f"AUPRC {s['auprc']:.2f}; distal targets: precision {s['distal_precision']:.2f}, "
                       f"AUPRC {s['distal_auprc']:.2f}; largest decrease {s['largest_decrease']:.3f} log2, "
                       f"rank correlation with the true log2FC {s['spearman_true_log2fc']:.2f}")
            if s["largest_decrease"] > -MIN_RESPONSE:
                out.append(f"  {'':13} note: {name} barely responds to the edit (no gene drops by more than "
                           f"{MIN_RESPONSE} log2): it has not learned {ACTIVATOR}'s motif, so its ranking is not "
                           "evidence either way")
        return out


def _check_held_out(seed: int) -> None:
    from ..errors import InvalidInputError

    if seed == TRAINING_SEED:
        raise InvalidInputError(f"seed {TRAINING_SEED} is the genome the sequence models trained on; "
                                "pick any other seed for a held-out genome")


def held_out_genome(out: Path, seed: int = HELD_OUT_SEED, progress: bool = False):
    """A simulated genome the sequence models never saw (any seed but 0), and its CellData."""
    from ..prep.cell import CellData, prepare
    from .files import simulate

    _check_held_out(seed)
    sim = simulate(out / "genome", seed=seed, preset=SIM_PRESET, n_chroms=HELD_OUT_CHROMS)
    return sim, CellData(prepare(sim.files["cell_yaml"], out / "cell.h5", progress=progress))


def run_sequence_demo(out_dir: str | Path = "graphreg_zoo_demo/sequence", *, seed: int = HELD_OUT_SEED,
                      progress: bool = True) -> SequenceDemoSummary:
    """Knock out the planted activator's motifs in a held-out genome's DNA (of `seed`) with both sequence
    heads on the packaged base; score them."""
    from ..interpret.perturb import knockout
    from ..prediction import write_table
    from ..zoo.load import load

    _check_held_out(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim, cell = held_out_genome(out, seed, progress)
    scores, files = {}, {"cell": cell.path}
    base = load(SEQUENCE_BASE)
    for label, preset in SEQUENCE_MODELS.items():
        ko = knockout(load(preset), cell, ACTIVATOR, motifs=sim.files["motifs"], mode="zero", base=base,
                      progress=progress)
        files[f"knockout_{preset}"] = write_table(ko, out / f"knockout_{preset}.csv")
        scores[label] = knockout_scores(ko, sim.truth)
    return SequenceDemoSummary(out, seed, scores, files)


def summary_dict(summary: SequenceDemoSummary) -> dict:
    """The summary as JSON-ready values."""
    return {"seed": summary.seed,
            "scores": {k: {m: (float(v) if isinstance(v, (float, np.floating)) else v) for m, v in s.items()}
                       for k, s in summary.scores.items()}}
