"""CLI command: demo (the whole pipeline on the embedded synthetic default, offline)."""
from __future__ import annotations

from pathlib import Path

import typer


def demo_command(
    out: Path = typer.Option(Path("graphreg_zoo_demo"), "--out", "-o", help="Output directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    sequence: bool = typer.Option(False, "--sequence", help="Instead: knock the planted lead activator's motifs "
                                  "out of a held-out genome's DNA with the packaged Seq-GraphReg and Seq-CNN and "
                                  "score both on the planted targets (a few minutes on a CPU; outputs in "
                                  "OUT/sequence)."),
    seed: int = typer.Option(1, "--seed", help="With --sequence: the held-out genome's seed (the sequence "
                             "models trained on seed 0)."),
) -> None:
    """Simulate -> prepare -> predict -> attribution -> motif knockout -> plots, offline, in about a minute."""
    if sequence:
        from ..simulation.demo_sequence import run_sequence_demo, summary_dict

        _report(lambda: run_sequence_demo(out / "sequence", seed=seed, progress=not quiet), summary_dict,
                out / "sequence")
        return
    from ..simulation.demo import run_demo, summary_dict

    _report(lambda: run_demo(out, progress=not quiet), summary_dict, out)


def _report(run, summary_dict, out: Path) -> None:
    """Run a demo, write its summary.json atomically and print its lines and files."""
    import json
    import time

    from .._atomic import atomic_path

    start = time.perf_counter()
    summary = run()
    with atomic_path(out / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(summary_dict(summary), indent=2) + "\n")
    for line in summary.lines():
        typer.echo(line)
    typer.echo(f"Outputs in {out.resolve()} ({time.perf_counter() - start:.0f} s):")
    width = max((len(name) for name in summary.files), default=0) + 2
    for name, path in summary.files.items():
        typer.echo(f"  {name:{width}} {path}")


def register(app: typer.Typer) -> None:
    """Add `demo` to `app`."""
    app.command("demo")(demo_command)
