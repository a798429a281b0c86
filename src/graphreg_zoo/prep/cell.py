"""`prepare(spec) -> CellData`: one self-describing HDF5 file per cell (docs/celldata-format.md).

Every input is checked (exists, chromosome names, genome build, chromosome coverage) before
any binning starts, and the file is written atomically: a failed run leaves no output.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_path, sha256_file
from ..errors import ContractWarning, InvalidInputError, NotAvailableError
from ..geometry import EPI_TRACKS, NODE_BIN, TRACK_BIN
from . import assembly
from .genes import TABLE_COLUMNS, check_build, read_tss, tss_table
from .sequence import Fasta
from .spec import CellSpec, GraphSpec, TrackSpec
from .tracks import TrackFile, bin_track, file_bin_size, normalise

__all__ = ["CellData", "CellSpec", "as_cell", "prepare", "FORMAT_VERSION"]

FORMAT_VERSION = 1
REFERENCE_CHROM = "chr1"  # upstream_minmax takes each track's maximum on this chromosome
QUANTILES = (0.5, 0.9, 0.99, 0.999)
_URL_PREFIXES = ("http://", "https://", "ftp://")
_OPEN_LOCK = threading.Lock()  # one CellData is read from the prediction loader's thread and the caller's


def prepare(
    spec: CellSpec | dict | str | os.PathLike, out: str | os.PathLike = "cell.h5", progress: bool = True,
    for_model: Any = None,
) -> Path:
    """Bin tracks, build graphs and TSS tables, and write one CellData HDF5 file atomically.

    Args:
        spec: a CellSpec, a dict of its fields (paths relative to the working directory), or
            the path of its YAML file.
        out: the HDF5 file to write (replaced only when complete).
        progress: show a rich progress bar on stderr.
        for_model: a loaded model, fold ensemble or zoo card name whose input contract the cell must follow:
            its track statistic and normalisation and its CAGE statistic replace the spec's
            (`graphreg_zoo.contract`); a different genome build is refused. A zoo name needs no download.

    Returns:
        The path written.

    Example:
        >>> prepare("my_cell.yaml", "my_cell.h5", for_model="epi_K562_hichip")   # doctest: +SKIP
    """
    if isinstance(spec, dict):
        spec = CellSpec.from_dict(spec)
    elif not isinstance(spec, CellSpec):
        spec = CellSpec.from_yaml(spec)
    if for_model is not None:
        spec, _ = spec_for_model(spec, for_model)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), disable=not progress, transient=True) as bar:
        job = _Job(spec, bar)
        try:
            with atomic_path(out) as tmp:
                job.write(Path(tmp), bar)
        finally:
            job.close()
    return Path(out)


def spec_for_model(spec: CellSpec, model: Any) -> tuple[CellSpec, list[str]]:
    """`spec` made as the input contract of `model` says, and the changes.

    `model` is a loaded model or fold ensemble, or a zoo card name (its card holds the contract, so
    nothing is downloaded; the card index is metadata, the one thing prep reads from the zoo).
    """
    from ..contract import apply_to_spec, of_model

    if isinstance(model, str):
        from ..zoo import cards

        card, _ = cards.resolve(model)
        return apply_to_spec(spec, card["input_contract"], model)
    name = getattr(model, "name", None) or "the model"
    return apply_to_spec(spec, of_model(model), name)


def _local(path: str, base: Path, role: str) -> Path:
    """The local file for a spec path: relative paths from `base`; URLs fetched once into the cache
    (GRAPHREG_ZOO_HOME/files/inputs/), their sha256 recorded at the first download and enforced after."""
    if path.startswith(_URL_PREFIXES):
        import hashlib

        from ..filecache import FileSpec, fetch_file
        from ..settings import OFFLINE_ENV, is_offline

        key = hashlib.sha256(path.encode()).hexdigest()[:16]
        spec = FileSpec(f"inputs/{key}/{Path(path.split('?')[0]).name or 'file'}", path)
        try:
            return fetch_file(spec, mirror="")  # a zoo mirror does not hold a user's inputs
        except NotAvailableError as exc:
            how = (f"{OFFLINE_ENV}=1 is set; download it and give a path" if is_offline()
                   else "download it and give a path")
            raise NotAvailableError(f"{role}: {path} is a URL and could not be had ({exc}); {how}") from exc
    local = Path(path).expanduser()
    return local if local.is_absolute() else base / local


def _files(source: Path, role: str, chroms: list[str]) -> list[Path]:
    """The files behind one spec path, which must exist: the file itself, or for the graph a
    cooler URI (`x.mcool::/resolutions/5000`) or a per-chromosome template (`calls_{chrom}`)."""
    text = str(source).split("::")[0]
    paths = [Path(text.format(chrom=c)) for c in chroms] if "{chrom}" in text else [Path(text)]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise InvalidInputError(f"{role}: file {missing[0]} does not exist; fix `{role}` in the spec")
    return paths


class _Job:
    """All inputs of one `prepare` call, opened and validated up front."""

    def __init__(self, spec: CellSpec, bar: Any = None):
        self.spec = spec
        self.bar = bar  # a rich Progress: reads files are counted here, before `write`
        self.paths = {role: _local(p, spec.base_dir, role) for role, p in spec.inputs().items()}
        sizes_file = _files(self.paths["chrom_sizes"], "chrom_sizes", [])[0] if spec.chrom_sizes else None
        self.build = assembly.canonical_build(spec.genome)
        self.sizes = assembly.genome_sizes(spec.genome, sizes_file)
        self.chroms = [assembly.normalize_chrom(c) for c in (spec.chromosomes or assembly.autosomes(spec.genome))]
        unknown = [c for c in self.chroms if c not in self.sizes]
        if unknown:
            raise InvalidInputError(
                f"chromosome(s) {', '.join(unknown)} are not in {spec.genome}'s sizes "
                f"({', '.join(list(self.sizes)[:6])}, ...); fix `chromosomes:` in the spec"
            )
        self.files = {role: _files(p, role, self.chroms) for role, p in self.paths.items()}
        self.tracks = {name: self._open_track(f"tracks.{name}") for name in EPI_TRACKS}
        self.cage = self._open_track("cage") if spec.cage is not None else None
        self.file_bins = {name: self._file_bin(f"tracks.{name}", spec.tracks[name], *self.tracks[name], TRACK_BIN)
                          for name in EPI_TRACKS}
        if self.cage is not None:
            self.file_bins["cage"] = self._file_bin("cage", spec.cage, *self.cage, NODE_BIN)
        self.tss = self._read_genes()
        self.fasta = self._check_fasta() if "fasta" in self.paths else None

    def close(self) -> None:
        """Close the opened track files."""
        for track, _ in [*self.tracks.values(), *([self.cage] if self.cage else [])]:
            track.close()

    def _open_track(self, role: str) -> tuple[TrackFile, dict[str, str]]:
        spec = self.spec.cage if role == "cage" else self.spec.tracks[role.split(".")[1]]
        if spec.reads is not None:
            from .reads import header_lengths

            where = f"{role} ({self.paths[role]})"
            sizes = _reads_call(role, header_lengths, self.paths[role], self.paths.get("fasta"))
            if sizes is not None:  # a BAM/CRAM header: check the build before reading every record
                self._check_chroms(sizes, where)
        track = self._open_reads(role, spec) if spec.reads is not None else TrackFile(self.paths[role])
        mapping = self._check_chroms(track.chroms, f"{role} ({track.path})")
        if spec.reads is not None:
            for chrom, name in mapping.items():
                track.check_extent(name, self.sizes[chrom])
        return track, mapping

    def _file_bin(self, role: str, spec: TrackSpec, track: TrackFile, mapping: dict[str, str], size: int) -> int:
        """The file's bin width (1: per-base; reads: the bin they are counted in); warn when a per-bin
        track is read with `sum`."""
        if spec.reads is not None:
            width = track.bin_size
        else:
            width = file_bin_size(track, {mapping[c]: self.sizes[c] for c in self.chroms})
        if width > 1 and spec.stat == "sum":
            warnings.warn(
                f"{role} ({track.path}) holds one value per {width} bp bin (every interval starts and ends on a "
                f"{width} bp grid, as deepTools bamCoverage writes) but is read with `stat: sum`: each {size} bp "
                f"value is then {size}x the bin value that `stat: max` reads, the original's choice for such files "
                f"(UPSTREAM §4.1). Set `stat: max` under `{role}:` unless the file holds per-base counts.",
                ContractWarning, stacklevel=2)
        return width

    def _check_chroms(self, chroms: dict[str, int | None], where: str) -> dict[str, str]:
        """Map a file's chromosome names onto the spec's, all present and of the spec genome's lengths."""
        mapping = assembly.match_chroms(chroms, self.chroms, where)
        assembly.require_chroms(mapping, self.chroms, where)
        lengths = {k: v for k, v in chroms.items() if v is not None}
        assembly.check_lengths(lengths, mapping, self.sizes, self.spec.genome, where)
        return mapping

    def _open_reads(self, role: str, spec: TrackSpec):
        """Reads counted like `bamCoverage` at the role's bin (100 bp tracks, 5 kb CAGE) unless `bin_size:`."""
        from .reads import ReadsTrack

        options = spec.reads
        if options.blacklist and not Path(options.blacklist).is_absolute():
            options = dataclasses.replace(options, blacklist=str(self.spec.base_dir / options.blacklist))
        task = self.bar.add_task(f"counting reads: {role} ({self.paths[role].name})", total=None) if self.bar else None
        track = _reads_call(role, ReadsTrack, self.paths[role], options, NODE_BIN if role == "cage" else TRACK_BIN,
                            genome=self.build, reference=self.paths.get("fasta"))
        if task is not None:
            self.bar.update(task, total=1, completed=1)
        return track

    def _read_genes(self) -> dict[str, Any]:
        g = self.spec.genes
        path = self.paths["genes"]
        table = read_tss(path, g.format, level=g.level, biotypes=g.biotypes, name_attribute=g.name_attribute)
        where = f"genes ({path})"
        check_build(table, self.spec.genome, where)
        mapping = assembly.match_chroms(table["chrom"].unique(), self.chroms, where)
        assembly.require_chroms(mapping, self.chroms, where)
        out = {}
        for chrom, fname in mapping.items():
            rows = table[table["chrom"] == fname]
            out[chrom] = tss_table(rows["tss"].to_numpy(), rows["gene"].to_numpy(), self.sizes[chrom], NODE_BIN,
                                   f"{where}, {fname}")
        return out

    def _check_fasta(self) -> dict[str, str]:
        fasta = Fasta(self.paths["fasta"])
        where = f"fasta ({fasta.path})"
        mapping = assembly.match_chroms(fasta.chroms, self.chroms, where)
        assembly.require_chroms(mapping, self.chroms, where)
        assembly.check_lengths(fasta.chroms, mapping, self.sizes, self.spec.genome, where)
        return mapping

    def graphs(self) -> dict[str, Any]:
        """The binary 5 kb graph of every chromosome (from the contacts module or an edge .npz)."""
        g: GraphSpec = self.spec.graph
        sizes = {c: self.sizes[c] for c in self.chroms}
        if g.format == "npz":
            graphs = _edge_npz_graphs(self.paths["graph"], sizes, self.chroms, g.max_distance_bp)
        else:
            from .contacts.calling import build_graphs

            graphs = build_graphs(str(self.paths["graph"]), g.format, sizes, self.chroms, fdr=g.fdr,
                                  max_distance=g.max_distance_bp, resolution=g.resolution, call=g.call,
                                  min_count=g.min_count)
        for chrom in self.chroms:
            n = _n_nodes(self.sizes[chrom])
            if graphs[chrom].shape != (n, n):
                raise InvalidInputError(
                    f"graph ({self.paths['graph']}), {chrom}: got a {graphs[chrom].shape} graph, need {n}x{n} "
                    f"5 kb nodes; set `resolution: 5000` under `graph:`"
                )
        return graphs

    def reference_max(self, spec: TrackSpec, track: TrackFile, mapping: dict[str, str]) -> float | None:
        """For `upstream_minmax`: the track's maximum log2(x+1) on chr1 (binned from the file)."""
        if spec.normalisation != "upstream_minmax":
            return None
        ref = (mapping.get(REFERENCE_CHROM)
               or assembly.match_chroms(track.chroms, [REFERENCE_CHROM], str(track.path)).get(REFERENCE_CHROM))
        if ref is None or REFERENCE_CHROM not in self.sizes:
            raise InvalidInputError(f"{track.path}: upstream_minmax needs {REFERENCE_CHROM} in the file and genome")
        binned = bin_track(track, ref, self.sizes[REFERENCE_CHROM], bin_size=TRACK_BIN, stat=spec.stat, nan=spec.nan)
        return float(normalise(binned, "log2", clip=spec.clip).max())

    def write(self, out: Path, bar) -> None:
        """Write the CellData file to `out` (a temporary path), advancing the progress `bar`."""
        import h5py

        spec = self.spec
        n_steps = 1 + len(self.chroms) * (len(EPI_TRACKS) + (self.cage is not None)) + 1
        task = bar.add_task(f"preparing {spec.name}", total=n_steps)
        bar.update(task, description="building graphs")
        graphs = self.graphs()
        bar.advance(task)
        ref_max = {n: self.reference_max(spec.tracks[n], *self.tracks[n]) for n in EPI_TRACKS}
        with h5py.File(out, "w") as h5:
            for chrom in self.chroms:
                group = h5.create_group(f"chroms/{chrom}")
                length = self.sizes[chrom]
                group.attrs.update(length=length, n_bins=-(-length // TRACK_BIN), n_nodes=_n_nodes(length))
                columns = []
                for name in EPI_TRACKS:
                    bar.update(task, description=f"{chrom} {name}")
                    ts, (track, mapping) = spec.tracks[name], self.tracks[name]
                    binned = bin_track(track, mapping[chrom], length, bin_size=TRACK_BIN, stat=ts.stat, nan=ts.nan)
                    columns.append(normalise(binned, ts.normalisation, clip=ts.clip, ref_max=ref_max[name]))
                    bar.advance(task)
                group.create_dataset("tracks", data=np.stack(columns, axis=1), chunks=(min(10_000, len(columns[0])), 3),
                                     compression="gzip", compression_opts=1, shuffle=True)
                if self.cage is not None:
                    bar.update(task, description=f"{chrom} cage")
                    track, mapping = self.cage
                    cage = bin_track(track, mapping[chrom], length, bin_size=NODE_BIN, stat=spec.cage.stat,
                                     nan=spec.cage.nan)
                    group.create_dataset("cage", data=cage)
                    bar.advance(task)
                _write_graph(group, graphs[chrom])
                _write_tss(group, self.tss[chrom])
            bar.update(task, description="provenance and quantiles")
            h5.attrs.update(self._attrs(h5, ref_max))
            bar.advance(task)

    def _attrs(self, h5, ref_max: dict[str, float | None]) -> dict[str, Any]:
        spec = self.spec
        tracks = {n: {**_asdict(spec.tracks[n]), "path": str(self.paths[f"tracks.{n}"]), "reference_max": ref_max[n],
                      "file_bin_bp": self.file_bins[n], **_counted(self.tracks[n][0])}
                  for n in EPI_TRACKS}
        provenance = {role: {"path": str(self.paths[role]),
                             "files": {str(f): {"sha256": sha256_file(f), "bytes": f.stat().st_size} for f in files}}
                      for role, files in self.files.items()}
        fasta = self.paths.get("fasta")
        from .._version import __version__

        return {
            "format_version": FORMAT_VERSION,
            "cell": spec.name,
            "genome": self.build,
            "chroms": json.dumps(self.chroms),
            "chrom_sizes": json.dumps({c: self.sizes[c] for c in self.chroms}),
            "track_bin_size": TRACK_BIN,
            "node_bin_size": NODE_BIN,
            "track_names": json.dumps(list(EPI_TRACKS)),
            "tracks": json.dumps(tracks),
            "track_quantiles": json.dumps(_quantiles(h5, self.chroms)),
            "cage": json.dumps(None if spec.cage is None else {**_asdict(spec.cage), "bin_size": NODE_BIN,
                                                                "file_bin_bp": self.file_bins["cage"],
                                                                **_counted(self.cage[0])}),
            "graph": json.dumps(_asdict(spec.graph)),
            "genes": json.dumps(_asdict(spec.genes)),
            "fasta": str(fasta) if fasta else "",
            "fasta_sha256": provenance["fasta"]["files"][str(fasta)]["sha256"] if fasta else "",
            "fasta_chroms": json.dumps(self.fasta or {}),
            "provenance": json.dumps(provenance),
            "created_by": f"graphreg_zoo {__version__}",
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        }


def _reads_call(role: str, func, *args, **kwargs):
    """Call a reads function, naming the spec role in its errors."""
    try:
        return func(*args, **kwargs)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{role}: {exc}") from None


def _counted(track) -> dict[str, Any]:
    """For a reads input: what was counted (totals, fragment length, the factor applied)."""
    return {"reads_counted": track.provenance()} if hasattr(track, "provenance") else {}


def _asdict(obj) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(obj)


def _n_nodes(length: int) -> int:
    return -(-length // NODE_BIN)


def _edge_npz_graphs(path: Path, sizes: dict[str, int], chroms: list[str], max_distance: int) -> dict[str, Any]:
    """Graphs from an .npz whose arrays are named by chromosome, each (E, 2) 5 kb node pairs."""
    from .contacts.calling import edges_to_graph

    where = f"graph ({path})"
    with np.load(path) as npz:
        mapping = assembly.match_chroms(npz.files, chroms, where)
        assembly.require_chroms(mapping, chroms, where)
        edges = {chrom: np.asarray(npz[key], dtype=np.int64).reshape(-1, 2) for chrom, key in mapping.items()}
    return {chrom: edges_to_graph(e[:, 0], e[:, 1], _n_nodes(sizes[chrom]), max_distance // NODE_BIN,
                                  f"{where}, {chrom}")
            for chrom, e in edges.items()}


def _write_graph(group, graph) -> None:
    g = group.create_group("graph")
    g.attrs.update(n_nodes=graph.shape[0], n_edges=int(graph.nnz))
    g.create_dataset("indptr", data=graph.indptr.astype(np.int64))
    g.create_dataset("indices", data=graph.indices.astype(np.int32))


def _write_tss(group, table) -> None:
    import h5py

    g = group.create_group("tss")
    for col in ("node", "bin_start", "tss", "n_tss"):
        g.create_dataset(col, data=table[col].to_numpy(np.int64))
    g.create_dataset("genes", data=table["genes"].astype(str).to_numpy(dtype=object), dtype=h5py.string_dtype())


def _quantiles(h5, chroms: list[str]) -> dict[str, dict[str, float]]:
    """Per-track distribution summary over all stored bins (for cross-cell comparisons)."""
    out = {}
    for i, name in enumerate(EPI_TRACKS):
        values = np.concatenate([h5[f"chroms/{c}/tracks"][:, i] for c in chroms])
        qs = np.quantile(values, QUANTILES) if values.size else np.zeros(len(QUANTILES))
        out[name] = {f"q{q:g}": float(v) for q, v in zip(QUANTILES, qs)}
        out[name].update(mean=float(values.mean()), max=float(values.max()), nonzero=float((values > 0).mean()))
    return out


class CellData:
    """Read-only access to a CellData HDF5 file (docs/celldata-format.md).

    Reads keep the file open (HDF5's chunk cache then serves overlapping windows) until `close()`, the end of a
    `with` block or the object's deletion; HDF5 refuses to open a file for writing in a process that holds it
    open for reading, so close it before editing the file in place.

    Example:
        >>> cell = CellData("K562.h5")                    # doctest: +SKIP
        >>> cell.tracks("chr1").shape                    # doctest: +SKIP
        (2492507, 3)
    """

    def __init__(self, path: str | os.PathLike):
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise InvalidInputError(f"CellData file {self.path} does not exist; create it with `graphreg-zoo prepare`")
        try:
            with h5py.File(self.path, "r") as h5:
                raw = dict(h5.attrs)
        except OSError as exc:
            raise InvalidInputError(f"{self.path} is not an HDF5 file: {exc}") from None
        version = raw.get("format_version")
        if version is None:
            raise InvalidInputError(f"{self.path} is not a CellData file (no format_version attribute)")
        if int(version) > FORMAT_VERSION:
            raise InvalidInputError(
                f"{self.path} has CellData format {version}; this graphreg_zoo reads up to {FORMAT_VERSION}. Upgrade."
            )
        self.attrs: dict[str, Any] = {k: _decode(v) for k, v in raw.items()}
        self._fasta: Fasta | None = None

    @classmethod
    def open(cls, path: str | os.PathLike) -> "CellData":
        """Same as `CellData(path)`."""
        return cls(path)

    @property
    def genome(self) -> str:
        """Canonical genome build (hg19, hg38, mm10 or the custom name)."""
        return self.attrs["genome"]

    @property
    def chroms(self) -> list[str]:
        """Chromosomes in the file, in order."""
        return list(self.attrs["chroms"])

    @property
    def chrom_sizes(self) -> dict[str, int]:
        """Chromosome lengths in bp."""
        return dict(self.attrs["chrom_sizes"])

    @property
    def track_names(self) -> list[str]:
        """Column order of `tracks()`: h3k4me3, h3k27ac, dnase."""
        return list(self.attrs["track_names"])

    @property
    def fasta(self) -> Path | None:
        """The FASTA recorded at preparation time (None if none was given)."""
        return Path(self.attrs["fasta"]) if self.attrs.get("fasta") else None

    @property
    def fasta_sha256(self) -> str | None:
        """sha256 of the FASTA at preparation time (None without one)."""
        return self.attrs.get("fasta_sha256") or None

    def n_nodes(self, chrom: str) -> int:
        """Number of 5 kb nodes of `chrom` (ceil(length / 5000))."""
        return _n_nodes(self._size(chrom))

    def _size(self, chrom: str) -> int:
        if chrom not in self.attrs["chrom_sizes"]:
            raise InvalidInputError(f"{self.path}: no chromosome {chrom!r}; it holds {', '.join(self.chroms)}")
        return int(self.attrs["chrom_sizes"][chrom])

    def _read(self, chrom: str, name: str, rows: slice = slice(None)):
        self._size(chrom)
        node = self._dataset(f"chroms/{chrom}/{name}")
        return None if node is None else node[rows]

    def _dataset(self, key: str):
        """The dataset at `key` (None if absent), opened once per process and kept open: HDF5 keeps
        decompressed chunks per open dataset, and consecutive windows overlap by two thirds, so opening the
        file per read decompressed every track chunk three times. Reopened after a fork (an HDF5 handle must
        not cross processes)."""
        import h5py

        with _OPEN_LOCK:
            pid, handle, datasets = self.__dict__.get("_h5", (None, None, None))
            if pid != os.getpid():
                handle, datasets = h5py.File(self.path, "r"), {}
                self._h5 = (os.getpid(), handle, datasets)
            if key not in datasets:
                datasets[key] = handle.get(key)
            return datasets[key]

    def close(self) -> None:
        """Close the file (reads after this open it again)."""
        with _OPEN_LOCK:
            pid, handle, _ = self.__dict__.pop("_h5", (None, None, None))
        if pid == os.getpid():  # a forked child leaves its parent's handle alone
            handle.close()

    def __enter__(self) -> "CellData":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the open file (data loader workers open their own)."""
        return {k: v for k, v in self.__dict__.items() if k != "_h5"}

    def tracks(self, chrom: str, start: int | None = None, stop: int | None = None) -> np.ndarray:
        """float32 (n_100bp, 3) tracks of `chrom` (optionally bins [start, stop)), in `track_names` order."""
        return self._read(chrom, "tracks", slice(start, stop))

    def _memo(self, key: tuple, compute):
        """Per-chromosome values read once: windows re-read them for every window otherwise.

        Cached arrays are shared: treat them as read-only.
        """
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            if len(cache) > 16:
                cache.clear()
            cache[key] = compute()
        return cache[key]

    def cage(self, chrom: str) -> np.ndarray | None:
        """float32 (n_nodes,) CAGE summed per 5 kb node, or None if the cell has no CAGE (read-only)."""
        return self._memo(("cage", chrom), lambda: self._read(chrom, "cage"))

    def graph(self, chrom: str):
        """scipy.sparse.csr_matrix (n_nodes, n_nodes): binary, symmetric, zero diagonal (read-only)."""
        return self._memo(("graph", chrom), lambda: self._read_graph(chrom))

    def _read_graph(self, chrom: str):
        import scipy.sparse as sp

        n = self.n_nodes(chrom)
        indptr, indices = self._read(chrom, "graph/indptr"), self._read(chrom, "graph/indices")
        return sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(n, n))

    def tss(self, chrom: str):
        """pandas.DataFrame with columns node, bin_start, tss, n_tss, genes (one row per TSS node)."""
        import pandas as pd

        data = {c: self._read(chrom, f"tss/{c}") for c in TABLE_COLUMNS}
        data["genes"] = [g.decode() if isinstance(g, bytes) else str(g) for g in data["genes"]]
        return pd.DataFrame(data, columns=list(TABLE_COLUMNS))

    def tss_count(self, chrom: str) -> np.ndarray:
        """float32 (n_nodes,) number of TSSs per node."""
        def compute() -> np.ndarray:
            out = np.zeros(self.n_nodes(chrom), dtype=np.float32)
            out[self._read(chrom, "tss/node")] = self._read(chrom, "tss/n_tss")
            return out

        return self._memo(("tss_count", chrom), compute)

    def sequence(self, chrom: str, start: int, end: int, dtype: type = np.float32) -> np.ndarray:
        """One-hot (end - start, 4) of the recorded FASTA; outside the chromosome is zeros."""
        if self.fasta is None:
            raise NotAvailableError(f"{self.path} was prepared without a FASTA; add `fasta:` to the spec and re-run")
        if not self.fasta.is_file():
            raise NotAvailableError(f"{self.path}: its FASTA {self.fasta} is gone; restore it or re-run prepare")
        self._size(chrom)
        if self._fasta is None:
            self._fasta = Fasta(self.fasta)
        file_chrom = self.attrs.get("fasta_chroms", {}).get(chrom, chrom)
        return self._fasta.one_hot(file_chrom, start, end, dtype)


def as_cell(cell: "CellData | str | os.PathLike") -> CellData:
    """A CellData from a CellData or the path of one (so every API takes either)."""
    return cell if isinstance(cell, CellData) else CellData(cell)


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and (value.startswith(("[", "{")) or value == "null"):
        return json.loads(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
