"""Retrain the embedded sequence demo models: the Seq-CNN base `load("demo_seq_base")` and the two heads
on its frozen bottleneck, `load("demo_seq")` (Seq-GraphReg) and `load("demo_seq_cnn")` (Seq-CNN).

    python training/demo_sequence.py OUT [--epochs N] [--only KEY] [--install]

1. simulates the training genome (`simulate(preset="sequence", seed=0)`: 8 chromosomes of 6-5 Mb, KLF1
   leading on 30% of the active elements) into OUT/genome and prepares it into OUT/cell.h5;
2. trains `demo_synthetic_seqbase` (Seq-CNN base on 100 kb chunks) into OUT/seq_base, then
   `demo_synthetic_seq` (Seq-GraphReg) and `demo_synthetic_seqcnn` (Seq-CNN) on its frozen bottleneck into
   OUT/seq and OUT/seq_cnn, with the package's engine (`graphreg_zoo.training.engine.train`, recipes in
   training/recipes/); `--only seq` reuses the base in OUT/seq_base;
3. adds to each card the command, the wall time of its training and the machine (CPU model, cores,
   backend); with `--install` copies the presets over the packaged ones in src/graphreg_zoo/_demo/.

Everything is seeded (genome, initial weights, window order), so the same command on the same
machine and library versions gives the same weights.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "seq_base"
RUNS = {BASE: "demo_synthetic_seqbase", "seq": "demo_synthetic_seq", "seq_cnn": "demo_synthetic_seqcnn"}
PACKAGED = {BASE: "model_seq_base", "seq": "model_seq", "seq_cnn": "model_seq_cnn"}
GENOME_SEED = 0


def machine() -> dict[str, str | int]:
    """The CPU model (lscpu), core count and Keras backend the run used."""
    import keras

    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        cpu = platform.processor() or "unknown"
    return {"cpu": cpu, "cores": os.cpu_count() or 0, "backend": keras.backend.backend(), "gpu": "none"}


def prepare_genome(out: Path, chrom_length: int | None = None):
    """The seeded training genome, simulated and prepared (reused when OUT/cell.h5 exists)."""
    from graphreg_zoo.prep.cell import CellData, prepare
    from graphreg_zoo.simulation.files import simulate

    cell_path = out / "cell.h5"
    if not cell_path.is_file():
        sim = simulate(out / "genome", seed=GENOME_SEED, preset="sequence", chrom_length=chrom_length)
        prepare(sim.out_dir / "cell.yaml", cell_path, progress=False)
    return CellData(cell_path)


def record_run(preset: Path, out: Path, command: str, seconds: float) -> None:
    """Add the command, training time and machine to the preset's card, and name the files of the run's
    folder `out` as `OUT/...`: the card ships in the package, the machine's folder means nothing elsewhere."""
    from graphreg_zoo._atomic import atomic_path

    card_path = preset / "card.json"
    card = json.loads(card_path.read_text())
    card["training_run"] = {"command": command, "seconds": round(seconds, 1), "machine": machine()}
    with atomic_path(card_path) as tmp:
        Path(tmp).write_text(json.dumps(_outside_names(card, out), indent=2) + "\n")


def _outside_names(value, out: Path):
    """`value` with every path under `out` (a string or a key, as given or resolved) written `OUT/...`."""
    if isinstance(value, dict):
        return {_outside_names(k, out): _outside_names(v, out) for k, v in value.items()}
    if isinstance(value, list):
        return [_outside_names(v, out) for v in value]
    if isinstance(value, str):
        for folder in (str(out.resolve()), str(out)):
            if value == folder or value.startswith(folder + "/"):
                return "OUT" + value[len(folder):]
    return value


def _trained_base(out: Path):
    """The base trained by an earlier run into OUT/seq_base (the heads of `--only seq` need it)."""
    import graphreg_zoo

    folder = out / BASE
    if not (folder / "card.json").is_file():
        sys.exit(f"error: no trained base in {folder}: train it first (--only {BASE}, or no --only)")
    return graphreg_zoo.load(str(folder))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=None, help="override the recipes' epochs (tests: 1)")
    parser.add_argument("--chrom-length", type=int, default=None,
                        help="shorter chromosomes than the preset's 6 Mb (tests: 1.5 Mb, one window each)")
    parser.add_argument("--only", choices=sorted(RUNS), action="append", help="train only these models")
    parser.add_argument("--install", action="store_true", help="copy the presets into src/graphreg_zoo/_demo/")
    args = parser.parse_args(argv)
    from graphreg_zoo.training.engine import held_out_pearson, train

    keys = [k for k in RUNS if k in (args.only or RUNS)]  # the base first
    base = None if BASE in keys else _trained_base(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    cell = prepare_genome(args.out, args.chrom_length)
    given = argv if argv is not None else sys.argv[1:]
    command = "python training/demo_sequence.py " + " ".join("OUT" if Path(a) == args.out else a for a in given)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    for key in keys:
        recipe = ROOT / "training" / "recipes" / f"{RUNS[key]}.yaml"
        start = time.perf_counter()
        result = train(recipe, cell, out_dir=args.out / key, progress=True, base=base, **overrides)
        seconds = time.perf_counter() - start
        record_run(result.preset, args.out, command, seconds)
        test_r = ", ".join(f"{name} {r:.3f}" for name, r in held_out_pearson(result.metrics).items())
        print(f"{RUNS[key]}: best epoch {result.best_epoch}, test R {test_r}, {seconds:.0f} s", flush=True)
        if key == BASE:
            base = result.model
        if args.install:
            target = ROOT / "src" / "graphreg_zoo" / "_demo" / PACKAGED[key]
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(result.preset, target, ignore=shutil.ignore_patterns(".*"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
