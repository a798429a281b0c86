"""The zoo's reproduction workflow (Snakemake): `graphreg-zoo reproduce` runs it (docs/reproduce.md).

Shipped as package data: `Snakefile`, the `local` and `slurm` profiles under `profiles/`; `plan.py`
decides every path and dependency, `report.py` writes the per-family reports and the manifest.
Snakemake is an optional dependency (`pip install graphreg-zoo[workflow]`); only `reproduce` imports it.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAKEFILE = HERE / "Snakefile"
PROFILES = HERE / "profiles"
