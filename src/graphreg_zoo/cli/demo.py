"""CLI command: demo (the whole pipeline on the embedded synthetic default, offline)."""
from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add `demo` to `app`."""

    @app.command("demo")
    def demo_command(
        out: Path = typer.Option(Path("graphreg_zoo_demo"), "--out", "-o", help="Output directory."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
        sequence: bool = typer.Option(False, "--sequence", help="Instead: knock GATA1's motifs out of a held-out "
                                      "genome's DNA with the packaged Seq-GraphReg and Seq-CNN and score both on "
                                      "the planted targets (a few minutes on a CPU; outputs in OUT/sequence)."),
        seed: int = typer.Option(1, "--seed", help="With --sequence: the held-out genome's seed (the sequence "
                                 "models trained on seed 0)."),
    ) -> None:
        """Simulate -> prepare -> predict -> attribution -> motif knockout -> plots, offline, in about a minute."""
        import json
        import time

        if sequence:
            return _sequence_demo(out / "sequence", quiet, seed)
        from ..simulation.demo import run_demo, summary_dict

        start = time.perf_counter()
        summary = run_demo(out, progress=not quiet)
        (out / "summary.json").write_text(json.dumps(summary_dict(summary), indent=2) + "\n")
        for line in summary.lines():
            typer.echo(line)
        typer.echo(f"Outputs in {out.resolve()} ({time.perf_counter() - start:.0f} s):")
        for name, path in summary.files.items():
            typer.echo(f"  {name:18} {path}")


def _sequence_demo(out: Path, quiet: bool, seed: int) -> None:
    """`demo --sequence`: the sequence-level knockout with both packaged sequence models."""
    import json
    import time

    from .._atomic import atomic_path
    from ..simulation.demo_sequence import run_sequence_demo, summary_dict

    start = time.perf_counter()
    summary = run_sequence_demo(out, seed=seed, progress=not quiet)
    with atomic_path(out / "summary.json") as tmp:
        Path(tmp).write_text(json.dumps(summary_dict(summary), indent=2) + "\n")
    for line in summary.lines():
        typer.echo(line)
    typer.echo(f"Outputs in {out.resolve()} ({time.perf_counter() - start:.0f} s):")
    for name, path in summary.files.items():
        typer.echo(f"  {name:22} {path}")
