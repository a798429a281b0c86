"""Write the simulator's package-data motifs (src/graphreg_zoo/_demo/sim_motifs.jaspar).

The simulator's PFMs (every activator, CTCF) are read from the JASPAR 2024 CORE vertebrates
file (../shared by default) so `graphreg-zoo simulate` works offline without it.
Usage: python scripts/write_sim_motifs.py [JASPAR]
"""
from __future__ import annotations

import sys
from pathlib import Path

from graphreg_zoo.interpret.motifs import read_motifs, write_jaspar
from graphreg_zoo.simulation.genome import ACTIVATORS, NEUTRAL, PACKAGE_MOTIFS

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared/realdata/motifs/JASPAR2024_CORE_vertebrates_latest.jaspar"


def main(source: Path = DEFAULT) -> None:
    by_id = {m.matrix_id: m for m in read_motifs(source)}
    wanted = {**ACTIVATORS, **NEUTRAL}
    write_jaspar([by_id[i] for i in wanted.values()], PACKAGE_MOTIFS)
    print(f"wrote {PACKAGE_MOTIFS} ({', '.join(wanted)}) from {source}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
