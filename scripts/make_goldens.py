"""Regenerate tests/goldens/ from ../shared/fixtures/upstream and print each file's size and sha256.

    python scripts/make_goldens.py [--fixtures ../shared/fixtures/upstream]

The format and what is kept lie in tests/_goldens.py; tests/goldens/MANIFEST.json records the sha256
of every golden file and of the original checkpoints they rebuild.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests._goldens import GOLDENS, pack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=REPO.parent / "shared" / "fixtures" / "upstream")
    args = parser.parse_args()
    manifest = pack(args.fixtures)
    total = 0
    for rel, digest in manifest["files"].items():
        size = (GOLDENS / rel).stat().st_size
        total += size
        print(f"{size:>10,}  {digest}  {rel}")
    print(f"{total:>10,}  bytes in all")


if __name__ == "__main__":
    main()
