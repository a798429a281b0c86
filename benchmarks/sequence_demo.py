"""What the packaged sequence demo models learned (the numbers of docs/interpretation.md's sequence knockout).

    python benchmarks/sequence_demo.py [--model demo_seq] [--seed 3] [--ko-seed 1]

1. On a held-out `sequence` genome (`--seed`), one 6 Mb window of chr1 (window index 1): the predicted and the
   simulated DNase at the centres of the lead-activator-carrying (GATA1 in the `sequence` preset), the
   partner-only (KLF1) and the inactive elements, and the window's medians. A trunk that has learned a TF's motif predicts DNase at that TF's elements.
2. The knockout of each planted activator (lead and partner) on the held-out genome of `--ko-seed`, scored as
   `demo --sequence` scores it (`knockout_scores`).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def element_dnase(model, sim, cell) -> dict[str, list[float]]:
    """(predicted, simulated) mean DNase per element class in window 1 of chr1, and the window's medians."""
    from graphreg_zoo.models.inference import input_names
    from graphreg_zoo.prep.windows import window_arrays, windows

    window = windows(cell.n_nodes("chr1"), "chr1")[1]
    arrays = window_arrays(cell, window, "seq")
    inputs = {k: arrays[k][None] for k in input_names(model)}
    predicted = np.asarray(model(inputs, training=False)["dnase"])[0]
    simulated = arrays["epigenome"][:, list(cell.track_names).index("dnase")]
    enh = sim.truth.enhancers[sim.truth.enhancers["chrom"] == "chr1"]
    lead, partner = f"n_{sim.config.activator}", f"n_{sim.config.partner}"
    classes = {f"{sim.config.activator}-carrying": enh[enh[lead] > 0],
               f"{sim.config.partner}-only": enh[(enh[lead] == 0) & (enh[partner] > 0)],
               "inactive": enh[enh[lead] + enh[partner] == 0]}
    out = {}
    for name, rows in classes.items():
        bins = ((rows["centre"] - window.start_node * 5000) // 100).astype(int).to_numpy()
        bins = bins[(bins >= 0) & (bins < len(predicted))]
        out[name] = [round(float(predicted[bins].mean()), 2), round(float(simulated[bins].mean()), 2)]
    out["median"] = [round(float(np.median(predicted)), 2), round(float(np.median(simulated)), 2)]
    return out


def main() -> None:
    import graphreg_zoo
    from graphreg_zoo.interpret.perturb import knockout
    from graphreg_zoo.simulation.demo_sequence import held_out_genome, knockout_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo_seq")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--ko-seed", type=int, default=1)
    args = parser.parse_args()
    model = graphreg_zoo.load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        sim, cell = held_out_genome(Path(tmp) / "dnase", args.seed)
        print(json.dumps({"model": args.model, "seed": args.seed,
                          "dnase_predicted_vs_simulated": element_dnase(model, sim, cell)}), flush=True)
        sim, cell = held_out_genome(Path(tmp) / "ko", args.ko_seed)
        for tf in (sim.config.activator, sim.config.partner):
            ko = knockout(model, cell, tf, motifs=sim.files["motifs"], mode="zero")
            scores = {k: round(v, 3) if isinstance(v, float) else v for k, v in knockout_scores(ko, sim.truth, tf).items()}
            print(json.dumps({"model": args.model, "seed": args.ko_seed, "knockout": tf, **scores}), flush=True)


if __name__ == "__main__":
    main()
