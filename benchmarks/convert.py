"""Time to convert one upstream Epi-GraphReg checkpoint, beyond the Keras import (median of 5).

    python benchmarks/convert.py [CHECKPOINT.h5]     # default: the shared fixture epi_graphreg.h5
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "upstream" / "epi_graphreg.h5"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    start = time.perf_counter()
    import keras  # noqa: F401

    from graphreg_zoo.zoo.upstream import convert_upstream

    imported = time.perf_counter() - start
    times = []
    for _ in range(5):
        start = time.perf_counter()
        convert_upstream(path)
        times.append(time.perf_counter() - start)
    print(f"keras import {imported:.1f} s; convert {path.name}: first {times[0]:.2f} s, "
          f"median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
