"""Start-up time of the CLI's light commands (`--help`, `--version`, `models`), median of 5 runs.

    python benchmarks/startup.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["--version"], ["models"], ["models", "--cell", "K562"])


def main() -> None:
    for args in COMMANDS:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "graphreg_zoo.cli", *args], capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        print(f"graphreg-zoo {' '.join(args):24} {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
