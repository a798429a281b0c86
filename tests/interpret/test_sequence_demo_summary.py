"""What `graphreg-zoo demo --sequence` prints next to its precisions: chance, and whether the model responds."""
from __future__ import annotations

from pathlib import Path

from graphreg_zoo.simulation.demo_sequence import MIN_RESPONSE, SequenceDemoSummary


def _scores(largest_decrease: float) -> dict[str, float]:
    return {"n_genes": 100, "n_targets": 30, "n_distal_targets": 10, "chance": 0.3, "distal_chance": 0.125,
            "precision_top20": 0.5, "auprc": 0.4, "distal_precision": 0.3, "distal_auprc": 0.2,
            "largest_decrease": largest_decrease, "spearman_true_log2fc": 0.1}


def test_a_model_that_barely_responds_is_flagged_and_chance_is_printed():
    summary = SequenceDemoSummary(Path("x"), 1, {"Seq-GraphReg": _scores(-0.8), "Seq-CNN": _scores(-MIN_RESPONSE / 2)})
    text = "\n".join(summary.lines())
    assert "chance (a random ranking): 0.30 for all targets, 0.12 for distal targets" in text
    flagged = [line for line in summary.lines() if "barely responds" in line]
    assert len(flagged) == 1 and "Seq-CNN" in flagged[0]
