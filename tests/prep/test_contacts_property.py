"""Property: any edge list (through a real file) gives a symmetric, binary, zero-diagonal graph within range."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphreg_zoo.prep.contacts.calling import build_graphs, edges_to_graph

N_NODES = 60


def check(graph, max_bins: int) -> None:
    dense = graph.toarray()
    assert graph.dtype == np.float32
    assert (dense == dense.T).all()
    assert set(np.unique(dense)) <= {0.0, 1.0}
    assert not dense.diagonal().any()
    rows, cols = np.nonzero(dense)
    assert (np.abs(rows - cols) <= max_bins).all()


pairs = st.lists(st.tuples(st.integers(0, N_NODES - 1), st.integers(0, N_NODES - 1)), min_size=1, max_size=80)


@given(pairs=pairs, max_bins=st.integers(0, N_NODES))
def test_edges_to_graph_invariants(pairs, max_bins):
    a, b = np.array(pairs).T
    graph = edges_to_graph(a, b, N_NODES, max_bins, "test")
    check(graph, max_bins)
    want = {(i, j) for i, j in pairs if i != j and abs(i - j) <= max_bins}
    got = set(zip(*graph.nonzero()))
    assert got == want | {(j, i) for i, j in want}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=pairs, max_bins=st.integers(1, N_NODES), one_based=st.booleans())
def test_bedpe_file_invariants(tmp_path, pairs, max_bins, one_based):
    """Either orientation, duplicates, 1-bp anchors: the graph keeps its invariants (or is refused as empty)."""
    path = tmp_path / "loops.bedpe"
    shift = int(one_based)
    path.write_text("".join(f"chrX\t{i * 5000 + shift}\t{i * 5000 + shift + 1}\tchrX\t{j * 5000 + shift}\t"
                            f"{j * 5000 + shift + 1}\t7\n" for i, j in pairs))
    if not any(i != j and abs(i - j) <= max_bins for i, j in pairs):
        return  # the empty-graph error has its own test
    graph = build_graphs(path, "bedpe", {"X": N_NODES * 5000}, ["X"], max_distance=max_bins * 5000)["X"]
    assert graph.shape == (N_NODES, N_NODES)
    check(graph, max_bins)
