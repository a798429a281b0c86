"""Where an Epi model's forward pass loses against the machine's matrix-product peak: time and FLOPs per
segment (the shared convolution trunk to 1200 nodes x 128, then the head: graph attention or dilated CNN).

    python benchmarks/segments.py [--batch 8] [--mode xla|compiled] [--repeats 5]

Each cumulative prefix of the network (input to the end of conv block 1, 2, 3, then the whole model) is its
own Keras model over the same layers, compiled the way prediction compiles it (`compiled`: graph mode, `xla`:
jit_compile) and timed by `predict_on_batch` (median of `--repeats` calls after a warm-up); a segment's time
and FLOPs are the differences of consecutive prefixes. FLOPs are TensorFlow's profiler count of each prefix's
graph (`_workload.model_flops`). So the fraction of peak of each segment says which part of the network is
far from the peak.
TensorFlow only (FLOP counting needs its profiler).
"""
from __future__ import annotations

import argparse
import json

import numpy as np

PREFIXES = {  # the layer ending each cumulative prefix of the trunk (pooled conv blocks 1-3)
    "conv block 1 (3 -> 128, k25, 60000 bins)": "batch_normalization",
    "conv block 2 (128 -> 128, k3, 30000 bins)": "batch_normalization_1",
    "conv block 3 (128 -> 128, k3, 6000 bins)": "batch_normalization_2",
}


def measure(name: str, batch: int, mode: str, repeats: int) -> list[dict]:
    """Time and FLOPs per window of each trunk block and of the head, from cumulative prefixes of the model."""
    import keras
    from _workload import adjacency, epigenome, median_seconds, model_by_name, model_flops

    model = model_by_name(name)
    rng = np.random.default_rng(0)
    x = {"epigenome": epigenome(rng, batch)}
    if name == "epi_graphreg":
        x["adjacency"] = adjacency(rng, batch)
    track_input = model.get_layer("epigenome").output
    prefixes = [(label, keras.Model({"epigenome": track_input}, model.get_layer(end).output))
                for label, end in PREFIXES.items()]
    head = "graph attention head" if name == "epi_graphreg" else "dilated CNN head"
    rows, before = [], {"seconds": 0.0, "gflop": 0.0}
    for label, net in [*prefixes, (head, model)]:
        inputs = x if net is model else {"epigenome": x["epigenome"]}
        gflop = model_flops(net, inputs, "forward") / batch / 1e9
        net.compile(jit_compile=(mode == "xla"))
        seconds = median_seconds(lambda n=net, i=inputs: n.predict_on_batch(i), repeats) / batch
        rows.append({"segment": label, "seconds": seconds - before["seconds"], "gflop": gflop - before["gflop"]})
        before = {"seconds": seconds, "gflop": gflop}
    rows.append({"segment": "whole model", **before})
    return rows


def main() -> None:
    from _workload import cpu_model, load_average, sgemm_gflops

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", choices=["epi_graphreg", "epi_cnn"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--mode", default="xla", choices=["xla", "compiled"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    peak = max(sgemm_gflops().values())
    print(f"CPU {cpu_model()}; fp32 sgemm peak {peak:.0f} GFLOP/s; load {load_average():.1f}; "
          f"batch {args.batch}, {args.mode}")
    print("| model | segment | s / window | GFLOP / window | GFLOP/s | of peak |\n|---|---|---|---|---|---|")
    for name in args.model or ["epi_graphreg", "epi_cnn"]:
        for row in measure(name, args.batch, args.mode, args.repeats):
            rate = row["gflop"] / row["seconds"]
            print(f"| {name} | {row['segment']} | {row['seconds']:.4f} | {row['gflop']:.2f} | {rate:.1f} | "
                  f"{rate / peak:.0%} |", flush=True)
    print(json.dumps({"load_end": load_average()}))


if __name__ == "__main__":
    main()
