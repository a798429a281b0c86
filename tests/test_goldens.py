"""The in-repo parity goldens stay small and stay the original's: bytes and arrays equal ../shared's."""
from __future__ import annotations

import numpy as np

from ._goldens import GOLDENS


def test_the_goldens_fit_in_ten_megabytes():
    assert sum(p.stat().st_size for p in GOLDENS.rglob("*") if p.is_file()) <= 10_000_000


def test_the_goldens_are_the_shared_fixtures_or_their_subsets(upstream_fixtures, shared_dir):
    """Checkpoints byte for byte; every array equal to the original's or to its kept slices."""
    original = shared_dir / "fixtures" / "upstream"
    for path in sorted(upstream_fixtures.rglob("*.h5")):
        assert path.read_bytes() == (original / path.relative_to(upstream_fixtures)).read_bytes(), path
    for path in sorted(upstream_fixtures.glob("*_io.npz")):
        ours, theirs = np.load(path), np.load(original / path.name)
        for key in ours.files:
            if key.startswith(("idx_", "axis_", "shape_")):
                continue
            source = "x_in_gat" if key == "base_h" else key
            expected = theirs[source]
            if f"idx_{key}" in ours:
                expected = np.take(expected, ours[f"idx_{key}"], axis=int(ours[f"axis_{key}"]))
            np.testing.assert_array_equal(ours[key], expected, err_msg=f"{path.name}:{key}")
