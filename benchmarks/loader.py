"""Window assembly against the forward it feeds (docs/performance.md, "End to end against windows x the
isolated forward").

    python benchmarks/loader.py [--windows 96]

On a synthetic hg19 chr1 CellData (benchmarks/predict.py's generator): seconds per window to assemble batches of
8 as `predict` does (`window_arrays` + `model_inputs`, first pass over a fresh CellData, each batch dropped before
the next is made, since holding them all would also time the process growing by ~46 MB per batch), and
Epi-GraphReg's compiled forward per window on those distinct batches against one batch repeated (which stays in cache).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

BATCH = 8


def main() -> None:
    from predict import write_cell

    from graphreg_zoo.models import EpiGraphReg, inference
    from graphreg_zoo.prep.cell import CellData
    from graphreg_zoo.prep.windows import window_arrays, windows

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=96)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chr1.h5"
        write_cell(path, chroms=["chr1"])
        cell = CellData(path)
        chosen = windows(cell.n_nodes("chr1"), "chr1")[: args.windows]

        def assemble(i: int) -> dict:
            return inference.model_inputs(["epigenome", "adjacency"],
                                          [window_arrays(cell, w, "epi") for w in chosen[i : i + BATCH]])

        starts = range(0, len(chosen) - BATCH + 1, BATCH)
        start = time.perf_counter()
        for i in starts:  # each batch dropped before the next, as `predict` holds at most three
            assemble(i)
        load = (time.perf_counter() - start) / (BATCH * len(starts))
        batches = [assemble(i) for i in starts]
        n = BATCH * len(batches)
        model = EpiGraphReg()
        for b in batches[:2]:
            inference.forward_cage(model, b)  # compile (and measure the compile choice) outside the timing
        timings = {}
        for name, sequence in (("distinct", batches), ("repeated", [batches[0]] * len(batches))):
            start = time.perf_counter()
            for b in sequence:
                inference.forward_cage(model, b)
            timings[name] = (time.perf_counter() - start) / n
    print(json.dumps({"windows": len(chosen), "assembly_s_per_window": round(load, 4),
                      "forward_s_per_window_distinct_batches": round(timings["distinct"], 4),
                      "forward_s_per_window_repeated_batch": round(timings["repeated"], 4)}))


if __name__ == "__main__":
    main()
