"""Shared test fixtures: paths to ../shared, an in-process CLI runner, seeded RNGs."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REALDATA = SHARED / "realdata"
#: xdist group of the tests that peak above ~4 GB (6 Mb e2e training): one worker runs them in turn
HEAVY = pytest.mark.xdist_group("heavy")
# Tests compile in graph mode unless they say otherwise: 'auto' would time both forms per architecture and
# batch and write the choice into the user's cache (tests/models/test_compile_choice.py covers it).
os.environ.setdefault("GRAPHREG_ZOO_COMPILE", "graph")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture(scope="session")
def upstream_fixtures(tmp_path_factory) -> Path:
    """The original code's checkpoints, inputs and outputs, unpacked from the in-repo goldens
    (tests/goldens, `_goldens.py`) in the layout of ../shared/fixtures/upstream: no test skips without it."""
    from ._goldens import materialise

    return materialise(tmp_path_factory.mktemp("upstream_fixtures"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    return REALDATA


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def cli(capsys):
    """Run `graphreg-zoo ARGS...` in-process; returns (exit_code, stdout, stderr)."""
    from graphreg_zoo.cli import run

    def _run(*args: str):
        code = run([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


@pytest.fixture
def zoo_home(tmp_path, monkeypatch) -> Path:
    """An empty, private cache directory (GRAPHREG_ZOO_HOME) for one test."""
    home = tmp_path / "zoo_home"
    monkeypatch.setenv("GRAPHREG_ZOO_HOME", str(home))
    monkeypatch.delenv("GRAPHREG_ZOO_OFFLINE", raising=False)
    monkeypatch.delenv("GRAPHREG_ZOO_MIRROR", raising=False)
    return home


@pytest.fixture(scope="session")
def synth_cell(tmp_path_factory):
    """The `tiny` simulated genome (2 chromosomes of ~3 Mb, 2 windows each), prepared as a CellData."""
    from graphreg_zoo.prep.cell import CellData, prepare
    from graphreg_zoo.simulation.files import simulate

    root = tmp_path_factory.mktemp("synth")
    sim = simulate(root / "sim", preset="tiny", seed=1)
    return CellData(prepare(sim.files["cell_yaml"], root / "synth.h5", progress=False))


@pytest.fixture(autouse=True, scope="module")
def _free_backend_memory():
    """Clear Keras' global state and return freed heap memory to the OS after each test module.

    This does not shrink TensorFlow's oneDNN allocator, which keeps the largest pool a process ever
    used: a pytest-xdist worker stays as large as the heaviest test it ran. So heavy tests keep their
    peak down (compiled gradients, frozen statistics) and share the `HEAVY` xdist group, which runs them
    one after another on one worker. Find them with GRAPHREG_TEST_RSS_LOG (below)."""
    yield
    import gc
    import sys

    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session(free_memory=True)
    gc.collect()
    if sys.platform.startswith("linux"):  # hand freed heap pages back to the OS (glibc keeps them otherwise)
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _rss_gb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 2**20
    return 0.0


@pytest.fixture(autouse=True)
def _log_test_memory(request):
    """With GRAPHREG_TEST_RSS_LOG=FILE, append each test's resident memory before and after it (to find the
    tests that make a pytest-xdist worker grow)."""
    log = os.environ.get("GRAPHREG_TEST_RSS_LOG")
    if not log:
        yield
        return
    before = _rss_gb()
    yield
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(log, "a") as out:
        out.write(f"{worker}\t{before:.2f}\t{_rss_gb():.2f}\t{request.node.nodeid}\n")
