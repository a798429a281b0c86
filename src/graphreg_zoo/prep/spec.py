"""`CellSpec`: what `prepare` needs to know about one cell's input files (YAML or Python).

Example YAML (relative paths are resolved against the YAML file's folder):

    name: K562
    genome: hg19                 # hg19 | hg38 | mm10, or any name plus `chrom_sizes:`
    chromosomes: [chr1, chr2]    # default: the autosomes
    tracks:
      h3k4me3: {path: H3K4me3.bw, stat: sum, normalisation: log2}
      h3k27ac: H3K27ac.bw        # a bare path takes the defaults
      dnase: {path: https://example.org/DNase.bw, stat: max}
    cage: {path: CAGE_RPGC_5kb.bw, stat: max}   # a per-bin bigWig: the bin value, not 5000x it
    graph: {format: hicdcplus, path: hicdc/K562_HiChIP_FDR_01, fdr: 0.1, max_distance_bp: 2000000}
    genes: {path: gencode.gtf, level: gene, biotypes: [protein_coding]}
    fasta: hg19.fa
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..geometry import EPI_TRACKS
from .contacts.formats import GRAPH_FORMATS, RAW_FORMATS
from .reads import ReadsOptions, is_reads_path
from .tracks import NAN_POLICIES, NORMALISATIONS, STATS

_GRAPH_SETTING_USE = {
    "fdr": "filters HiCDCPlus q-values, or the built-in caller's (`call: true` on raw counts)",
    "call": f"runs the built-in caller on raw counts ({', '.join(RAW_FORMATS)})",
    "min_count": "keeps raw-count pixels (without `call: true`) or bedpe loops with at least that many contacts",
    "resolution": "bins contact files; an npz graph is already 5 kb nodes",
}


def graph_settings_used(fmt: str, call: bool) -> set[str]:
    """The graph settings that act on format `fmt`: any other one given is refused, never ignored."""
    raw = fmt in RAW_FORMATS
    used = {"format", "path", "max_distance_bp"}
    if fmt != "npz":
        used.add("resolution")
    if fmt == "hicdcplus" or (raw and call):
        used.add("fdr")
    if raw:
        used.add("call")
    if (raw and not call) or fmt == "bedpe":
        used.add("min_count")
    return used


@dataclass
class TrackSpec:
    """One track: a bigWig/bedGraph, or reads (BAM, CRAM, reads BED) counted as `bamCoverage` would
    with the `reads:` options; then the per-bin statistic and normalisation."""

    path: str
    stat: str = "sum"
    normalisation: str = "log2"
    clip: float | None = None
    nan: str = "error"
    reads: ReadsOptions | None = None

    def __post_init__(self) -> None:
        _choice("stat", self.stat, STATS)
        _choice("normalisation", self.normalisation, NORMALISATIONS)
        _choice("nan", self.nan, NAN_POLICIES)
        if self.reads is not None and not is_reads_path(self.path):
            raise InvalidInputError(f"`reads:` is for BAM, CRAM or reads BED inputs, and {self.path} is none "
                                    "(by its suffix); remove `reads:` or give the reads file")
        if self.reads is None and is_reads_path(self.path):
            self.reads = ReadsOptions()
        elif isinstance(self.reads, dict):
            self.reads = _coerce(ReadsOptions, self.reads, "reads", needs_path=False)


@dataclass
class GraphSpec:
    """Where the 5 kb contact graph comes from: a `build_graphs` source (see
    `graphreg_zoo.prep.contacts.calling`; `call`/`min_count` turn raw counts into edges) or, with
    format `npz`, precomputed edges: one (E, 2) array of 5 kb node pairs per chromosome."""

    format: str
    path: str
    fdr: float = 0.1
    max_distance_bp: int = 2_000_000
    resolution: int = 5000
    call: bool = False
    min_count: float | None = None

    def __post_init__(self) -> None:
        _choice("graph format", self.format, GRAPH_FORMATS)
        self.refuse_unused({f.name for f in dataclasses.fields(self) if getattr(self, f.name) != f.default})

    def refuse_unused(self, given: set[str]) -> None:
        """Refuse the `given` settings that would have no effect on this format."""
        unused = sorted(given - graph_settings_used(self.format, self.call))
        if unused:
            why = "; ".join(f"`{k}` {_GRAPH_SETTING_USE[k]}" for k in unused)
            raise InvalidInputError(f"{', '.join(unused)} has no effect on a {self.format} graph ({why}); remove it")


@dataclass
class GeneSpec:
    """Gene annotation (GTF, GFF3 or BED) and which records give TSSs."""

    path: str
    format: str | None = None
    level: str = "gene"
    biotypes: list[str] | None = None
    name_attribute: str | None = None


@dataclass
class CellSpec:
    """Inputs of one cell: genome, three epigenome tracks, optional CAGE, graph, genes, FASTA.

    Args:
        genome: hg19, hg38, mm10 (or GRCh37/GRCh38/GRCm38), or a custom name with `chrom_sizes`.
        tracks: {"h3k4me3", "h3k27ac", "dnase"} -> TrackSpec (or a dict, or a bare path).
        graph: GraphSpec (or a dict).
        genes: GeneSpec (or a dict, or a bare path).
        cage: optional TrackSpec for the CAGE target, never transformed; its `stat` (default sum) reads
            each 5 kb node (`max` for a per-bin bigWig such as a 5 kb bamCoverage RPGC file).
        fasta: optional FASTA for sequence models.
        chromosomes: names to prepare; default the autosomes of `genome`.
        chrom_sizes: a chrom.sizes file overriding the built-in table.
        name: the cell's name (stored in the file).

    Example:
        >>> spec = CellSpec.from_yaml("K562.yaml")          # doctest: +SKIP
        >>> graphreg_zoo.prepare(spec, "K562.h5")           # doctest: +SKIP
    """

    genome: str
    tracks: dict[str, TrackSpec]
    graph: GraphSpec
    genes: GeneSpec
    cage: TrackSpec | None = None
    fasta: str | None = None
    chromosomes: list[str] | None = None
    chrom_sizes: str | None = None
    name: str = "cell"
    base_dir: Path = field(default_factory=Path.cwd, repr=False)

    def __post_init__(self) -> None:
        if set(self.tracks) != set(EPI_TRACKS):
            raise InvalidInputError(
                f"spec `tracks:` must name exactly {', '.join(EPI_TRACKS)}; got {', '.join(self.tracks) or 'none'}"
            )
        self.tracks = {k: _coerce(TrackSpec, self.tracks[k], f"tracks.{k}") for k in EPI_TRACKS}
        self.graph = _coerce(GraphSpec, self.graph, "graph")
        self.genes = _coerce(GeneSpec, self.genes, "genes")
        self.cage = None if self.cage is None else _coerce(TrackSpec, self.cage, "cage", normalisation="raw")
        if self.cage is not None and self.cage.normalisation != "raw":
            raise InvalidInputError(
                "spec `cage:` is never transformed (it is the Poisson target); remove its `normalisation:`. "
                "Its `stat:` (default sum) says how each 5 kb node reads the file: `max` for a per-bin bigWig "
                "(deepTools bamCoverage), `sum` for per-base coverage"
            )
        self.chromosomes = _chromosome_names(self.chromosomes)
        self.base_dir = Path(self.base_dir)

    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: str | Path | None = None) -> "CellSpec":
        """Build a spec from a mapping (e.g. parsed YAML); unknown keys are an error."""
        if not isinstance(data, dict):
            raise InvalidInputError(f"a cell spec must be a mapping of keys, got {type(data).__name__}")
        allowed = {f.name for f in dataclasses.fields(cls)} - {"base_dir"}
        unknown = set(data) - allowed
        if unknown:
            raise InvalidInputError(f"unknown spec key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        missing = [k for k in ("genome", "tracks", "graph", "genes") if k not in data]
        if missing:
            raise InvalidInputError(f"the cell spec lacks required key(s): {', '.join(missing)}")
        return cls(**data, base_dir=Path(base_dir) if base_dir else Path.cwd())

    @classmethod
    def from_yaml(cls, path: str | Path) -> "CellSpec":
        """Read a spec from a YAML file; relative paths are taken from the file's folder."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise InvalidInputError(f"spec file {path} does not exist")
        try:
            data = yaml.load(path.read_text(), Loader=_unique_key_loader())
        except DuplicateKeyError as exc:
            raise InvalidInputError(f"{path}, {exc}") from None
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"{path}: not valid YAML: {exc}") from None
        try:
            return cls.from_dict(data, base_dir=path.resolve().parent)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{path}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data (what `from_dict` accepts)."""
        data = dataclasses.asdict(self)
        data.pop("base_dir")
        used = graph_settings_used(self.graph.format, self.graph.call)
        data["graph"] = {k: v for k, v in data["graph"].items() if k in used}
        return data

    def inputs(self) -> dict[str, str]:
        """Every input file by its role (`tracks.dnase`, `cage`, `graph`, `genes`, `fasta`)."""
        roles = {f"tracks.{k}": t.path for k, t in self.tracks.items()}
        if self.cage is not None:
            roles["cage"] = self.cage.path
        roles["graph"] = self.graph.path
        roles["genes"] = self.genes.path
        if self.fasta:
            roles["fasta"] = self.fasta
        if self.chrom_sizes:
            roles["chrom_sizes"] = self.chrom_sizes
        return roles


def _coerce(kind: type, value: Any, key: str, needs_path: bool = True, **defaults: Any) -> Any:
    if isinstance(value, kind):
        return value
    if isinstance(value, (str, Path)):
        value = {"path": str(value)}
    if not isinstance(value, dict):
        raise InvalidInputError(f"spec `{key}:` must be a path or a mapping, got {value!r}")
    allowed = {f.name for f in dataclasses.fields(kind)}
    unknown = set(value) - allowed
    if unknown:
        raise InvalidInputError(f"spec `{key}:` has unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    if needs_path and "path" not in value:
        raise InvalidInputError(f"spec `{key}:` needs a `path:`")
    try:
        made = kind(**{**defaults, **value})
        if isinstance(made, GraphSpec):
            made.refuse_unused(set(value))
        return made
    except InvalidInputError as exc:
        raise InvalidInputError(f"spec `{key}:` {exc}") from None


def _choice(what: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInputError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")


def _chromosome_names(names: Any) -> list[str] | None:
    """`chromosomes:` as names: YAML reads `[22]` as an integer (kept as `22`, which the chromosome
    normaliser maps to chr22); a bare `chr22` without brackets is a string, not a list."""
    if names is None:
        return None
    if isinstance(names, (str, int)):
        raise InvalidInputError(
            f"spec `chromosomes:` must be a list, e.g. `chromosomes: [{names}]`, not {names!r}"
        )
    if not isinstance(names, (list, tuple)) or not names:
        raise InvalidInputError(f"spec `chromosomes:` must be a non-empty list of names, got {names!r}")
    bad = [n for n in names if isinstance(n, bool) or not isinstance(n, (str, int))]
    if bad:
        raise InvalidInputError(f"spec `chromosomes:` holds {bad[0]!r}, which is not a chromosome name")
    return [str(n) for n in names]


class DuplicateKeyError(ValueError):
    """A YAML mapping names one key twice (`line N: ...`)."""


def _unique_key_loader():
    """A safe YAML loader that refuses a key given twice in one mapping (plain YAML keeps the last)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, (str, int, float, bool)):
                    continue  # the base loader refuses unhashable keys itself
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise DuplicateKeyError(
                        f"line {line}: key `{key}` is given twice (first on line {seen[key]}); keep one"
                    )
                seen[key] = line
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader
