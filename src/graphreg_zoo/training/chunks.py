"""100 kb chunks of windows: the Seq-CNN base's training data (UPSTREAM §2.2).

The base trains on the middle 20 of each window's 60 chunks (chunks 20..39, the window's
middle 2 Mb, so consecutive windows tile the chromosome without overlap) in mini-batches of 4
chunks, 5 steps per window. Targets are the three tracks' raw coverage at 100 bp (the cell's
normalisation undone, as `raw_coverage`). Windows are chosen as for the other models
(`select_windows`, optionally only those with a TSS in their middle).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..geometry import CHUNK_BP, N_CHUNKS, NODE_BIN
from ..prep.windows import Window, padded_tracks, raw_coverage, select_windows, window_list_dataset

CHUNK_NODES = CHUNK_BP // NODE_BIN
BASE_CHUNKS = (20, 40)  # the chunks of a window the original trained the base on
CHUNK_BATCH = 4


def chunk_arrays(cell, window: Window, first_chunk: int, n_chunks: int) -> dict[str, np.ndarray]:
    """Chunks [first_chunk, first_chunk + n_chunks) of a window: `sequence` (n, 100000, 4) and
    each track's raw coverage (n, 1000); zeros outside the chromosome."""
    start_node = window.start_node + first_chunk * CHUNK_NODES
    start_bp = start_node * NODE_BIN
    sequence = cell.sequence(window.chrom, start_bp, start_bp + n_chunks * CHUNK_BP)
    tracks = padded_tracks(cell, window.chrom, start_node, n_chunks * CHUNK_NODES)
    coverage = raw_coverage(cell, tracks)
    return {"sequence": sequence.reshape(n_chunks, CHUNK_BP, 4),
            **{name: values.reshape(n_chunks, -1) for name, values in coverage.items()}}


def make_chunk_dataset(
    cell,
    chroms: list[str] | None,
    *,
    windows: list[Window] | None = None,
    skip_without_tss: bool = False,
    chunks: tuple[int, int] = BASE_CHUNKS,
    chunk_batch: int = CHUNK_BATCH,
    shuffle: bool = False,
    seed: int = 0,
    **pydataset_kwargs: Any,
):
    """A `keras.utils.PyDataset` of chunk batches `({"sequence"}, {track: coverage})`.

    Args:
        cell: a CellData (or a path to one).
        chroms, windows, skip_without_tss: which windows (as `prep.windows.make_dataset`).
        chunks: (first, stop) chunk indices used in every window (the original: 20..39).
        chunk_batch: chunks per batch (the original: 4); batches never span two windows.
        shuffle, seed: reshuffle the window order every epoch (the original walks them in order).
    """
    from ..prep.cell import as_cell

    cell = as_cell(cell)
    first, stop = chunks
    if not 0 <= first < stop <= N_CHUNKS or chunk_batch < 1:
        raise InvalidInputError(f"chunks must satisfy 0 <= first < stop <= {N_CHUNKS} and chunk_batch >= 1, "
                                f"got {chunks}, {chunk_batch}")
    found = select_windows(cell, chroms, windows, skip_without_tss)
    if not found:
        raise InvalidInputError(f"{cell.path}: no windows to cut chunks from (skip_without_tss={skip_without_tss})")
    starts = list(range(first, stop, chunk_batch))

    class ChunkDataset(window_list_dataset()):
        """Chunks of the windows of a CellData as Keras batches."""

        def __len__(self) -> int:
            return len(self.windows) * len(starts)

        def __getitem__(self, i: int):
            window, begin = self.windows[i // len(starts)], starts[i % len(starts)]
            arrays = chunk_arrays(cell, window, begin, min(chunk_batch, stop - begin))
            sequence = arrays.pop("sequence")
            return {"sequence": sequence}, arrays

    return ChunkDataset(found, shuffle, seed, **pydataset_kwargs)
