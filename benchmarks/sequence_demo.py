"""What the packaged sequence demo models learned (the numbers of docs/interpretation.md's sequence knockout).

    python benchmarks/sequence_demo.py [--model demo_seq] [--base PRESET] [--seed 3] [--ko-seed 1] [--held-out DIR]

1. On a held-out `sequence` genome (`--seed`), one 6 Mb window of chr1 (window index 1): the predicted and the
   simulated DNase coverage (reads per 100 bp, the scale the DNase heads predict) at the centres of the lead-activator-carrying (GATA1 in the `sequence` preset), the
   partner-only (KLF1) and the inactive elements, and the window's medians; then the predicted DNase again with
   the lead activator's planted sites zeroed. A trunk that has learned a TF's motif predicts DNase at that TF's
   elements, and loses it there, only there, when the sites go.
2. The knockout of each planted activator (lead and partner) on the held-out genome of `--ko-seed`, scored as
   `demo --sequence` scores it (`knockout_scores`).

`--model` is an end-to-end model (its own DNase head), or with `--base` a separately trained head whose
Seq-CNN base predicts the DNase. `--held-out DIR` uses a folder `held_out_genome` wrote (DIR/genome, DIR/cell.h5;
e.g. a genome of other simulation options) for both steps instead of simulating the two seeds.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def predicted_dnase(model, base, sequence: np.ndarray, arrays: dict) -> np.ndarray:
    """DNase per 100 bp of a window's one-hot: the e2e model's head, or the base's over the 60 chunks."""
    from graphreg_zoo.models.inference import input_names

    if base is not None:
        out = base.predict_on_batch({"sequence": sequence.reshape(-1, 100_000, 4)})
        return np.asarray(out["dnase"]).reshape(-1)
    inputs = {k: (sequence if k == "sequence" else arrays[k])[None] for k in input_names(model)}
    return np.asarray(model(inputs, training=False)["dnase"])[0]


def element_dnase(model, sim, cell, base=None) -> dict[str, list[float]]:
    """(predicted, simulated, predicted with the lead's planted sites zeroed) mean DNase per element class in
    window 1 of chr1, and the window's medians."""
    from graphreg_zoo.prep.windows import raw_coverage, window_arrays, windows

    window = windows(cell.n_nodes("chr1"), "chr1")[1]
    arrays = window_arrays(cell, window, "seq")
    origin = window.start_node * 5000
    knocked = arrays["sequence"].copy()
    sites = sim.truth.motif_sites
    for site in sites[(sites["chrom"] == "chr1") & (sites["tf"] == sim.config.activator)].itertuples():
        if origin <= site.start and site.end <= origin + len(knocked):
            knocked[site.start - origin : site.end - origin] = 0
    predicted = predicted_dnase(model, base, arrays["sequence"], arrays)
    without_lead = predicted_dnase(model, base, knocked, arrays)
    simulated = raw_coverage(cell, arrays["epigenome"])["dnase"]  # the heads' scale (the cell holds log2(x + 1))
    enh = sim.truth.enhancers[sim.truth.enhancers["chrom"] == "chr1"]
    lead, partner = f"n_{sim.config.activator}", f"n_{sim.config.partner}"
    classes = {f"{sim.config.activator}-carrying": enh[enh[lead] > 0],
               f"{sim.config.partner}-only": enh[(enh[lead] == 0) & (enh[partner] > 0)],
               "inactive": enh[enh[lead] + enh[partner] == 0]}
    out = {}
    for name, rows in classes.items():
        bins = ((rows["centre"] - origin) // 100).astype(int).to_numpy()
        bins = bins[(bins >= 0) & (bins < len(predicted))]
        out[name] = [round(float(v[bins].mean()), 2) for v in (predicted, simulated, without_lead)]
    out["median"] = [round(float(np.median(v)), 2) for v in (predicted, simulated, without_lead)]
    return out


def main() -> None:
    import graphreg_zoo
    from graphreg_zoo.interpret.perturb import knockout
    from graphreg_zoo.simulation.demo_sequence import knockout_scores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo_seq")
    parser.add_argument("--base", default=None, help="the Seq-CNN base of a separately trained --model")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--ko-seed", type=int, default=1)
    parser.add_argument("--held-out", default=None, help="a held-out genome folder (genome/, cell.h5) for both steps")
    args = parser.parse_args()
    model = graphreg_zoo.load(args.model)
    base = graphreg_zoo.load(args.base) if args.base else None
    with tempfile.TemporaryDirectory() as tmp:
        first = _genome(args.held_out, Path(tmp) / "dnase", args.seed)
        print(json.dumps({"model": args.model, "genome": first[2],
                          "dnase_predicted_simulated_and_without_lead_sites": element_dnase(model, *first[:2], base)}),
              flush=True)
        sim, cell, name = _genome(args.held_out, Path(tmp) / "ko", args.ko_seed)
        for tf in (sim.config.activator, sim.config.partner):
            ko = knockout(model, cell, tf, motifs=sim.files["motifs"], mode="zero", base=base)
            scores = {k: round(v, 3) if isinstance(v, float) else v for k, v in knockout_scores(ko, sim.truth, tf).items()}
            print(json.dumps({"model": args.model, "genome": name, "knockout": tf, **scores}), flush=True)


def _genome(folder: str | None, scratch: Path, seed: int):
    """(SimulatedGenome, CellData, label): the given held-out folder, or a fresh genome of `seed`."""
    from graphreg_zoo.prep.cell import CellData
    from graphreg_zoo.simulation.demo_sequence import held_out_genome
    from graphreg_zoo.simulation.genome import SimulatedGenome

    if folder:
        return SimulatedGenome.load(Path(folder) / "genome"), CellData(Path(folder) / "cell.h5"), folder
    return (*held_out_genome(scratch, seed), f"seed {seed}")


if __name__ == "__main__":
    main()
