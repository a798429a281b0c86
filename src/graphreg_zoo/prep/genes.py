"""Gene annotation (GTF, GFF3 or BED) -> transcription start sites -> per-node TSS tables.

TSS positions are 0-based. GTF/GFF3 records (1-based, inclusive) give the 5' end strand-aware:
`start - 1` on `+`, `end - 1` on `-`. BED records (0-based, half-open) give `start` on `+` and
`end - 1` on `-` (gene bodies), except in files of TSS windows: most rows share one width W of at
most 2 kb (1 bp TSS records, ABC's `*.TSS500bp.bed`). A window holds W // 2 bases upstream of its
TSS, on the gene's strand: the TSS is `start + W // 2` on `+` and `end - 1 - W // 2` on `-` (ABC
centres a minus-strand window on the gene body's exclusive end, so its TSS is the centre minus
one). Each row is decided on its own: a narrower row is a window clipped at a chromosome end (it
starts at 0, or ends the chromosome's last window) and keeps the TSS of its full window; any
other width is refused with its line.
"""
from __future__ import annotations

import functools
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._tables import open_text
from ..errors import InvalidInputError
from .assembly import canonical_build, normalize_chrom

TABLE_COLUMNS = ("node", "bin_start", "tss", "n_tss", "genes")
_MAX_CENTRED_WIDTH = 2000
_GFF_COLUMNS = ["chrom", "source", "feature", "start", "end", "score", "strand", "frame", "attributes"]
_BIOTYPE_KEYS = ("gene_biotype", "gene_type", "biotype")
#: a gene's TSS agrees with a build within this distance: annotations (RefSeq, GENCODE, gene or
#: transcript level) place it differently, while the reference genes moved >= 100 kb between builds
_BUILD_TOLERANCE = 20_000


def detect_format(path: str | Path) -> str:
    """`gtf`, `gff3` or `bed` from the file name (a trailing .gz is ignored)."""
    name = Path(path).name.lower().removesuffix(".gz")
    for suffix, fmt in ((".gtf", "gtf"), (".gff3", "gff3"), (".gff", "gff3"), (".bed", "bed")):
        if name.endswith(suffix):
            return fmt
    raise InvalidInputError(f"{path}: cannot tell the annotation format from the name; set `format: gtf|gff3|bed`")


def read_tss(
    path: str | Path,
    fmt: str | None = None,
    *,
    level: str = "gene",
    biotypes: list[str] | None = None,
    name_attribute: str | None = None,
) -> pd.DataFrame:
    """Read TSSs from an annotation file: a DataFrame with columns chrom, tss, gene, strand.

    `level` is `gene` or `transcript` (GTF/GFF3 records used); `biotypes` keeps only those gene
    biotypes; `name_attribute` overrides the attribute holding the gene name (default
    `gene_name` for GTF, `Name`/`gene_name` for GFF3).
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"gene annotation {path} does not exist; fix `genes: path:` in the spec")
    fmt = (fmt or detect_format(path)).lower()
    if level not in ("gene", "transcript"):
        raise InvalidInputError(f"{path}: level must be `gene` or `transcript`, not {level!r}")
    if fmt == "bed":
        table = _read_bed(path, biotypes)
    elif fmt in ("gtf", "gff3", "gff"):
        table = _read_gff(path, "gtf" if fmt == "gtf" else "gff3", level, biotypes, name_attribute)
    else:
        raise InvalidInputError(f"{path}: unknown annotation format {fmt!r}; use gtf, gff3 or bed")
    if table.empty:
        raise InvalidInputError(f"{path}: no TSS left after filtering (level={level}, biotypes={biotypes})")
    return table.reset_index(drop=True)


def _gff_records(path: Path, features: set[str]) -> tuple[pd.DataFrame, set[str]]:
    """Stream a GTF/GFF3, keeping only `features` records; also return every feature type seen."""
    kept, seen = [], set()
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#") or not line.strip():
                if line.startswith("##FASTA"):
                    break
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 9:
                raise InvalidInputError(
                    f"{path}, line {lineno}: expected 9 tab-separated columns, found {len(fields)}; is it a GTF/GFF3?"
                )
            seen.add(fields[2])
            if fields[2] in features:
                kept.append(fields)
    rows = pd.DataFrame(kept, columns=_GFF_COLUMNS)
    try:
        rows[["start", "end"]] = rows[["start", "end"]].astype(np.int64)
    except ValueError as exc:
        raise InvalidInputError(f"{path}: a start or end column is not an integer ({exc})") from None
    return rows, seen


def _read_gff(path: Path, flavour: str, level: str, biotypes: list[str] | None, name_attr: str | None) -> pd.DataFrame:
    features = {"gene": {"gene"}, "transcript": {"transcript", "mRNA"}}[level]
    rows, seen = _gff_records(path, features | {"gene"})
    parents = rows[rows["feature"] == "gene"]
    rows = rows[rows["feature"].isin(features)]
    if rows.empty:
        raise InvalidInputError(
            f"{path}: no {'/'.join(sorted(features))} records (it has {sorted(seen)[:8]}); "
            "try `level: transcript` or `level: gene` in the spec"
        )
    attrs = rows["attributes"].astype(str)
    names = _attribute(attrs, flavour, [name_attr] if name_attr else
                       (["gene_name"] if flavour == "gtf" else ["gene_name", "Name"]))
    if flavour == "gff3" and level == "transcript" and not name_attr:
        names = _gff3_parent_names(parents, attrs).fillna(names)
    if names.isna().all():
        key = name_attr or ("gene_name" if flavour == "gtf" else "Name")
        raise InvalidInputError(
            f"{path}: no gene names (attribute `{key}`) on any {level} record, e.g. line: "
            f"{attrs.iloc[0][:120]!r}. GraphReg reports genes by name: use an annotation with gene "
            "names, or set `name_attribute: gene_id` under `genes:` in the spec."
        )
    names = names.fillna(_attribute(attrs, flavour, ["gene_id", "ID"]))
    if biotypes:
        kinds = _attribute(attrs, flavour, list(_BIOTYPE_KEYS))
        if kinds.isna().all():
            raise InvalidInputError(f"{path}: `biotypes` given but no record has {'/'.join(_BIOTYPE_KEYS)}")
        keep = kinds.isin(biotypes).to_numpy()
        rows, names = rows[keep], names[keep]
    plus = (rows["strand"] == "+").to_numpy()
    tss = np.where(plus, rows["start"].to_numpy(np.int64) - 1, rows["end"].to_numpy(np.int64) - 1)
    return pd.DataFrame({"chrom": rows["chrom"].to_numpy(), "tss": tss, "gene": names.to_numpy(),
                         "strand": rows["strand"].to_numpy()})


def _attribute(attrs: pd.Series, flavour: str, keys: list[str]) -> pd.Series:
    """The first of `keys` present in each attribute string (NaN where none is)."""
    out = pd.Series(np.nan, index=attrs.index, dtype=object)
    for key in keys:
        pattern = rf'(?:^|;)\s*{re.escape(key)} "([^"]*)"' if flavour == "gtf" else rf"(?:^|;){re.escape(key)}=([^;]*)"
        out = out.fillna(attrs.str.extract(pattern, expand=False))
    return out


def _gff3_parent_names(genes: pd.DataFrame, attrs: pd.Series) -> pd.Series:
    """For GFF3 transcripts: the Name of the parent gene record."""
    genes = genes["attributes"].astype(str)
    ids = _attribute(genes, "gff3", ["ID"])
    gene_names = _attribute(genes, "gff3", ["gene_name", "Name"])
    lookup = dict(zip(ids, gene_names))
    return _attribute(attrs, "gff3", ["Parent"]).map(lookup)


def _read_bed(path: Path, biotypes: list[str] | None) -> pd.DataFrame:
    with open_text(path) as fh:
        first = fh.readline()
    header = first.lstrip("#").split() if first.startswith("#") else None
    table = pd.read_csv(path, sep="\t", comment="#", header=None, dtype={0: str}, quoting=3)
    table = table[~table[0].isin(["track", "browser"])]
    if table.shape[1] < 4:
        raise InvalidInputError(f"{path}: a TSS BED needs at least 4 columns (chrom start end name)")
    start, end = _bed_ints(table[1], path), _bed_ints(table[2], path)
    strand = table[5].astype(str).to_numpy() if table.shape[1] >= 6 else np.full(len(table), "+")
    tss = _bed_tss(table[0].to_numpy(), start, end, strand == "-", path)
    out = pd.DataFrame({"chrom": table[0].to_numpy(), "tss": tss, "gene": table[3].astype(str).to_numpy(),
                        "strand": strand})
    if biotypes:
        col = header.index("gene_type") if header and "gene_type" in header else None
        if col is None or col >= table.shape[1]:
            raise InvalidInputError(f"{path}: `biotypes` given but the BED has no `gene_type` column in its # header")
        out = out[table[col].isin(biotypes).to_numpy()]
    return out


def _bed_ints(column: pd.Series, path: Path) -> np.ndarray:
    """A start/end column as int64, or a refusal naming the first line that is not a coordinate."""
    values = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy() | (values % 1 != 0).to_numpy())
    if bad.size:
        raise InvalidInputError(
            f"{path}, line {_bed_line(path, bad[0])}: {column.iloc[bad[0]]!r} is not a coordinate; a TSS BED "
            "has `chrom start end name [score strand]` (a header line must start with #)"
        )
    return values.to_numpy(np.int64)


def _bed_tss(chrom: np.ndarray, start: np.ndarray, end: np.ndarray, minus: np.ndarray, path: Path) -> np.ndarray:
    """0-based TSS of each BED row, by the convention of the module docstring."""
    width = _window_width(end - start)
    if width is None:
        return np.where(minus, end - 1, start)
    chrom_last_end = pd.Series(end).groupby(chrom).transform("max").to_numpy()
    left_clip = (end - start < width) & (start == 0)
    right_clip = (end - start < width) & ~left_clip & (end == chrom_last_end)
    full_start = np.where(left_clip, end - width, start)
    tss = np.where(minus, full_start + width - 1 - width // 2, full_start + width // 2)
    bad = np.flatnonzero((end - start != width) & ~left_clip & ~right_clip | (tss < start) | (tss >= end))
    if bad.size:
        i = bad[0]
        raise InvalidInputError(
            f"{path}, line {_bed_line(path, i)}: a {end[i] - start[i]:,} bp row in a file of {width:,} bp TSS "
            "windows that is not a window clipped at a chromosome end, so its TSS is unknown. Give every row "
            "the same window width, or use a BED of gene bodies (the TSS is then the 5' end)."
        )
    return tss


def _window_width(widths: np.ndarray) -> int | None:
    """The width of a file of TSS windows (shared by most rows, at most 2 kb), or None (gene bodies)."""
    if not widths.size:
        return None
    values, counts = np.unique(widths, return_counts=True)
    width = int(values[np.argmax(counts)])
    return width if width <= _MAX_CENTRED_WIDTH and counts.max() * 2 > widths.size else None


def _bed_line(path: Path, row: int) -> int:
    """The file line number of data row `row` (comment, blank, track and browser lines skipped)."""
    with open_text(path) as fh:
        data = (n for n, line in enumerate(fh, 1)
                if line.strip() and not line.startswith(("#", "track", "browser")))
        return next(n for i, n in enumerate(data) if i == row)


def tss_table(tss: np.ndarray, genes: np.ndarray, length: int, node_size: int = 5000, where: str = "") -> pd.DataFrame:
    """Per-node TSS summary of one chromosome, one row per node holding at least one TSS.

    Columns: node, bin_start (= node * node_size), tss (the first TSS in the node), n_tss (the
    number of distinct (position, gene) TSSs), genes (distinct names in TSS order joined by '+',
    never truncated).
    """
    frame = pd.DataFrame({"tss": np.asarray(tss, dtype=np.int64), "gene": np.asarray(genes, dtype=object)})
    outside = frame[(frame["tss"] < 0) | (frame["tss"] >= length)]
    if not outside.empty:
        row = outside.iloc[0]
        raise InvalidInputError(
            f"{where}: TSS of {row['gene']} at {row['tss']:,} lies outside the chromosome (length {length:,}); "
            "the annotation is probably from another genome build"
        )
    frame = frame.drop_duplicates().sort_values(["tss", "gene"], kind="stable")
    frame["node"] = frame["tss"] // node_size
    grouped = frame.groupby("node", sort=True)
    out = pd.DataFrame({
        "tss": grouped["tss"].first(),
        "n_tss": grouped["tss"].size(),
        "genes": grouped["gene"].agg(lambda g: "+".join(dict.fromkeys(g))),
    }).reset_index()
    out["bin_start"] = out["node"] * node_size
    return out[list(TABLE_COLUMNS)].astype({"node": np.int64, "bin_start": np.int64, "tss": np.int64,
                                           "n_tss": np.int64})


@functools.lru_cache(maxsize=1)
def reference_tss() -> pd.DataFrame:
    """The packaged TSSs of well-known genes per build (`reference_tss.tsv`; its header says whence)."""
    from importlib.resources import files

    text = files(__package__).joinpath("reference_tss.tsv").read_text()
    return pd.read_csv(io.StringIO(text), sep="\t", comment="#")


def build_agreement(table: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Per packaged build: (reference genes the annotation holds on their chromosome, those whose
    nearest TSS lies within `_BUILD_TOLERANCE` of that build's). Names match case-sensitively, so
    human and mouse symbols (ACTB, Actb) never meet."""
    ref = reference_tss()
    mine = pd.DataFrame({"chrom": table["chrom"].astype(str).map(normalize_chrom), "gene": table["gene"],
                         "tss": table["tss"]})
    pairs = mine.merge(ref, on=["chrom", "gene"], suffixes=("", "_ref"))
    pairs["near"] = (pairs["tss"] - pairs["tss_ref"]).abs() <= _BUILD_TOLERANCE
    per_gene = pairs.groupby(["build", "gene"])["near"].any().groupby("build")
    return {b: (int(per_gene.size().get(b, 0)), int(per_gene.sum().get(b, 0))) for b in ref["build"].unique()}


def check_build(table: pd.DataFrame, genome: str, where: str) -> None:
    """Refuse an annotation whose well-known genes sit where another build puts them.

    Silent otherwise: a custom genome, or an annotation holding too few reference genes to tell.
    """
    build = canonical_build(genome)
    votes = build_agreement(table)
    if build not in votes:
        return
    other = max(votes, key=lambda b: votes[b][1])
    (found, agree), own = votes[other], votes[build][1]
    if other != build and agree >= 2 and agree > 2 * own:
        raise InvalidInputError(
            f"{where}: the annotation is from {other}, not {build}: {agree} of {found} well-known genes it holds "
            f"have their TSS where {other} puts them, {own} where {build} does. Use a {build} annotation, or "
            f"set `genome: {other}` (with {other} tracks and contacts) in the spec."
        )
