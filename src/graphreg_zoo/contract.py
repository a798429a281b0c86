"""The input contract of a model: how the CellData it reads must be made.

A model sees numbers, not files. The same bigWig binned with `sum` instead of `max`, or left on
log2(x+1) instead of min-max scaled, gives inputs on another scale and predictions that are wrong
without any error. The contract names each choice, with how sure we are of it:

    genome           the build of every coordinate
    track_stat       per-100 bp statistic of the three epigenome tracks (sum | mean | max)
    track_transform  log2p1 | none
    track_scaling    none | upstream_minmax (min-max against chr1's maximum, UPSTREAM §4.3)
    cage_stat        per-5 kb statistic of the CAGE target (sum | mean | max)
    cage_scale       0.99 quantile of CAGE over TSS nodes in the training cell (None: unknown)

Each field is `{value, confidence, source}`; confidence is `recorded` (measured on the training
cell), `documented` (stated by UPSTREAM), `inferred` (our reading of UPSTREAM) or `unknown`.
Published families get theirs from `published_contract` (written into their cards); presets
trained here record the training cell's (`recorded_contract`). `check` compares a CellData with a
contract before predicting; `apply_to_spec` makes a CellSpec follow one (`prepare --for`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidInputError
from .zoo.ensemble import first_member, members

FIELDS = ("genome", "track_stat", "track_transform", "track_scaling", "cage_stat", "cage_scale")
CONFIDENCE = ("recorded", "documented", "inferred", "unknown")
# CellSpec normalisation <-> (transform, scaling)
NORMALISATION = {"log2": ("log2p1", "none"), "upstream_minmax": ("log2p1", "upstream_minmax"), "raw": ("none", "none")}
CAGE_SCALE_FACTOR = 4.0  # a CAGE 0.99 quantile this many times off the training cell's is another scale
LABELS = {
    "genome": "genome build",
    "track_stat": "track bin statistic (per 100 bp)",
    "track_transform": "track transform",
    "track_scaling": "track scaling",
    "cage_stat": "CAGE bin statistic (per 5 kb)",
    "cage_scale": "CAGE scale (0.99 quantile at TSS nodes)",
}

_STAT_SOURCE = ("UPSTREAM §4.1 and §13: the original README reads deepTools bamCoverage RPGC bigWigs (one value "
                "per bin) with `max` and Basenji bam_cov.py per-base bigWigs with `sum`; the reference-cell cards "
                "prescribe bamCoverage RPGC tracks. Which tool made the released TFRecords is not recorded")
_CAGE_STAT_SOURCE = ("UPSTREAM §4.1: CAGE is read with pool width 5000 (one value per 5 kb row), with `max` for "
                     "deepTools bamCoverage bigWigs as for the tracks")
_CAGE_SCALE_SOURCE = ("unknown: UPSTREAM §10 (which CAGE pooling made the released TFRecords); §4.1: the targets "
                      "may be 1x or 50x the 5 kb bin value. NLL and the CAGE >= 5 gene sets are not comparable to "
                      "the paper's")


def entry(value: Any, confidence: str, source: str) -> dict[str, Any]:
    """One contract field."""
    if confidence not in CONFIDENCE:
        raise ValueError(f"unknown confidence {confidence!r}")
    return {"value": value, "confidence": confidence, "source": source}


def unknown(source: str) -> dict[str, Any]:
    """A field nobody can state."""
    return entry(None, "unknown", source)


def published_contract(kind: str, genome: str | None, cell: str | None = None,
                       generalizable: bool = False) -> dict[str, dict[str, Any]]:
    """The contract of a published family (UPSTREAM), by card kind (`epi_graphreg`, `seq_cnn_base`, ...).

    `genome` None (a checkpoint of unknown family) leaves the build unknown.
    """
    genome_field = (entry(genome, "documented", "UPSTREAM §7 (the cell's build)") if genome
                    else unknown("unknown: the checkpoint's family is not in any zoo card"))
    if kind.startswith("epi"):
        if cell == "hESC":
            scaling = entry("upstream_minmax", "documented",
                            "UPSTREAM §4.3: the committed utils/data_write.py, configured for hESC")
        else:
            scaling = entry("upstream_minmax", "inferred",
                            "UPSTREAM §4.3 (the committed utils/data_write.py); §10: whether this cell's TFRecords "
                            "had the min-max step is not verified")
        if generalizable:
            scaling["source"] += "; generalizable models read data_write_norm.py's output, same steps on RPGC tracks"
        transform = entry("log2p1", "documented", "UPSTREAM §1.1, §4.3")
    else:
        note = "sequence models read DNA; the tracks are their training targets only"
        scaling = entry("none", "documented", f"UPSTREAM §4.3 (seq X_1d stays raw coverage); {note}")
        transform = entry("none", "documented", f"UPSTREAM §4.3; {note}")
    return {
        "genome": genome_field,
        "track_stat": entry("max", "inferred", _STAT_SOURCE),
        "track_transform": transform,
        "track_scaling": scaling,
        "cage_stat": entry("max", "inferred", _CAGE_STAT_SOURCE),
        "cage_scale": unknown(_CAGE_SCALE_SOURCE),
    }


def normalisation_of(contract: dict) -> str | None:
    """The CellSpec `normalisation` a contract's transform and scaling name (None if either is unknown)."""
    pair = (value(contract, "track_transform"), value(contract, "track_scaling"))
    if None in pair:
        return None
    for name, known in NORMALISATION.items():
        if known == pair:
            return name
    raise InvalidInputError(f"contract transform {pair[0]!r} with scaling {pair[1]!r} is not a normalisation "
                            f"prepare can make ({', '.join(NORMALISATION)})")


def value(contract: dict, name: str) -> Any:
    """A field's value (None when unknown or absent)."""
    return (contract.get(name) or {}).get("value")


# -- the CellData side -------------------------------------------------------------------------------


def cage_scale(cell) -> float | None:
    """0.99 quantile of CAGE over the cell's TSS nodes (None without CAGE or TSSs)."""
    values = []
    for chrom in cell.chroms:
        cage = cell.cage(chrom)
        if cage is None:
            return None
        values.append(np.asarray(cage)[cell.tss(chrom)["node"].to_numpy()])
    joined = np.concatenate(values) if values else np.zeros(0)
    return float(np.quantile(joined, 0.99)) if joined.size else None


def _tracks(cell) -> dict[str, dict]:
    return {name: dict(spec) for name, spec in (cell.attrs.get("tracks") or {}).items()}


def recorded_contract(cell) -> dict[str, dict[str, Any]]:
    """The contract of a CellData, for a preset trained on it (every field `recorded`)."""
    where = f"recorded from the training cell {cell.path.name}"
    tracks = _tracks(cell)
    stats = {spec.get("stat") for spec in tracks.values()}
    norms = {spec.get("normalisation") for spec in tracks.values()}
    cage = cell.attrs.get("cage") or None
    out = {"genome": entry(cell.genome, "recorded", where)}
    if len(stats) == 1 and None not in stats:
        out["track_stat"] = entry(stats.pop(), "recorded", where)
    else:
        out["track_stat"] = unknown(f"unknown: the training cell's tracks differ ({sorted(map(str, stats))})")
    if len(norms) == 1 and None not in norms:
        transform, scaling = NORMALISATION[norms.pop()]
        out["track_transform"] = entry(transform, "recorded", where)
        out["track_scaling"] = entry(scaling, "recorded", where)
    else:
        out["track_transform"] = out["track_scaling"] = unknown(
            f"unknown: the training cell's tracks differ ({sorted(map(str, norms))})")
    if cage:
        out["cage_stat"] = entry(cage.get("stat", "sum"), "recorded", where)
        scale = cage_scale(cell)
        out["cage_scale"] = entry(scale, "recorded", where) if scale is not None else unknown(
            "unknown: the training cell has no TSS node")
    else:
        out["cage_stat"] = out["cage_scale"] = unknown("unknown: the training cell has no CAGE")
    return out


# -- the check ----------------------------------------------------------------------------------------


@dataclass
class ContractReport:
    """What `check` found: mismatches (each a full message) and fields it could not check."""

    mismatches: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


def _where(field_: dict) -> str:
    return f"{field_.get('confidence')}: {field_.get('source')}"


def _check_track_stat(contract: dict, tracks: dict[str, dict], name: str) -> list[str]:
    want = value(contract, "track_stat")
    off = {t: spec.get("stat") for t, spec in tracks.items() if spec.get("stat") != want}
    if not off:
        return []
    per_bin = {t: tracks[t].get("file_bin_bp") for t in off if (tracks[t].get("file_bin_bp") or 1) > 1}
    factor = "".join(
        f"; {t}'s file holds one value per {bp} bp bin, so `sum` gives 100x the value `max` reads"
        for t, bp in per_bin.items() if off[t] == "sum" and want == "max")
    return [f"track bin statistic: this cell bins {', '.join(f'{t} with `{s}`' for t, s in off.items())}; {name}'s "
            f"inputs used `{want}` ({_where(contract['track_stat'])}){factor}. Re-prepare with `stat: {want}` "
            f"(or `graphreg-zoo prepare SPEC --for {name}`)."]


def _check_normalisation(contract: dict, tracks: dict[str, dict], quantiles: dict, name: str) -> list[str]:
    want = normalisation_of(contract)
    off = {t: spec.get("normalisation") for t, spec in tracks.items() if spec.get("normalisation") != want}
    if want is None or not off:
        return []
    seen = ", ".join(f"{t} {quantiles.get(t, {}).get('q0.99', float('nan')):.3g}" for t in off)
    expect = ("min-max scaled inputs lie in about [0, 1]" if want == "upstream_minmax"
              else "log2(x+1) inputs of RPGC tracks reach about 3-8" if want == "log2" else "raw coverage")
    source = f"transform {_where(contract['track_transform'])}; scaling {_where(contract['track_scaling'])}"
    return [f"track normalisation: this cell has {', '.join(f'{t} `{n}`' for t, n in off.items())}; {name}'s inputs "
            f"were `{want}` ({source}). 0.99 quantiles here: {seen}; {expect}. Re-prepare with "
            f"`normalisation: {want}` (or `graphreg-zoo prepare SPEC --for {name}`)."]


def _check_cage(contract: dict, cell, name: str) -> list[str]:
    cage = cell.attrs.get("cage") or None
    if not cage:
        return []
    out = []
    want, stat = value(contract, "cage_stat"), cage.get("stat", "sum")
    if want is not None and stat != want:
        bp = cage.get("file_bin_bp") or 1
        factor = (f"; the CAGE file holds one value per {bp} bp bin, so `sum` gives 5000x the value `max` reads"
                  if stat == "sum" and want == "max" and bp > 1 else "")
        out.append(f"CAGE bin statistic: this cell reads CAGE with `{stat}` per 5 kb node; {name}'s targets used "
                   f"`{want}` ({_where(contract['cage_stat'])}){factor}. The model's output, its NLL and the gene sets "
                   f"B-D (CAGE >= 5) are then on another scale. Re-prepare with `cage: {{stat: {want}}}`.")
    trained = value(contract, "cage_scale")
    seen = cage_scale(cell) if trained else None
    if trained and seen is not None and not 1 / CAGE_SCALE_FACTOR <= (seen + 1e-9) / trained <= CAGE_SCALE_FACTOR:
        out.append(f"CAGE scale: the 0.99 quantile of CAGE at TSS nodes is {seen:.4g} here vs {trained:.4g} in "
                   f"{name}'s training cell ({seen / trained:.3g}x): the targets are on another scale (check "
                   "`cage: stat:` and the CAGE bigWig's normalisation).")
    return out


def check(contract: dict, cell, name: str, reads_tracks: bool = True) -> ContractReport:
    """Compare a CellData with a contract. The genome build is refused elsewhere; here it is reported."""
    report = ContractReport()
    fields = [f for f in FIELDS if reads_tracks or not f.startswith("track_")]
    if not (cell.attrs.get("cage") or None):
        fields = [f for f in fields if not f.startswith("cage_")]
    for name_ in fields:
        if value(contract, name_) is None:
            source = (contract.get(name_) or {}).get("source") or "unknown: the model records no contract"
            report.unchecked.append(f"{LABELS[name_]}: {source}")
    tracks = _tracks(cell)
    if reads_tracks and tracks:
        quantiles = cell.attrs.get("track_quantiles") or {}
        if value(contract, "track_stat") is not None:
            report.mismatches += _check_track_stat(contract, tracks, name)
        report.mismatches += _check_normalisation(contract, tracks, quantiles, name)
    report.mismatches += _check_cage(contract, cell, name)
    return report


# -- the CellSpec side ---------------------------------------------------------------------------------


def apply_to_spec(spec, contract: dict, name: str):
    """A copy of `spec` (a CellSpec) made as `contract` says, and the changes made (one line each).

    Unknown fields leave the spec as it is; a different genome build is refused.
    """
    from .prep import assembly

    genome = value(contract, "genome")
    if genome and assembly.canonical_build(spec.genome) != genome:
        raise InvalidInputError(f"{name} was trained on {genome}; this spec is {spec.genome}. Prepare the "
                                f"{genome} inputs for this model (or choose a model of {spec.genome}).")
    changes: list[str] = []
    stat, norm = value(contract, "track_stat"), normalisation_of(contract)
    tracks = {}
    for track, ts in spec.tracks.items():
        update = {k: v for k, v in (("stat", stat), ("normalisation", norm)) if v is not None and getattr(ts, k) != v}
        changes += [f"tracks.{track}.{k}: {getattr(ts, k)} -> {v}" for k, v in update.items()]
        tracks[track] = dataclasses.replace(ts, **update)
    cage, cage_stat = spec.cage, value(contract, "cage_stat")
    if cage is not None and cage_stat is not None and cage.stat != cage_stat:
        changes.append(f"cage.stat: {cage.stat} -> {cage_stat}")
        cage = dataclasses.replace(cage, stat=cage_stat)
    return dataclasses.replace(spec, tracks=tracks, cage=cage), changes


# -- the model side ------------------------------------------------------------------------------------


def of_model(model) -> dict[str, dict[str, Any]]:
    """A model's contract: its data_spec's, else its fold ensemble card's, else only its recorded genome."""
    first = first_member(model)
    spec = dict(getattr(first, "data_spec", {}) or {})
    contract = spec.get("contract") or (getattr(model, "card", None) or {}).get("input_contract")
    if contract:
        return contract
    missing = unknown("unknown: the model records no input contract (a preset saved before contracts, or a model "
                      "not made by `load`, `convert` or `train`)")
    out = {name: dict(missing) for name in FIELDS}
    if spec.get("genome"):
        out["genome"] = entry(spec["genome"], "recorded", "the model's data_spec")
    return out


def reads_tracks(model) -> bool:
    """Whether the model reads the epigenome tracks (Epi models) rather than DNA: from its family (its inputs),
    not from its data spec, which a foreign Keras model does not carry."""
    from .models.family import family_of

    return family_of(first_member(model)).window_kind == "epi"


def set_on_model(model, contract: dict) -> None:
    """Record `contract` in the data_spec of a model (every member of a fold ensemble), so presets keep it."""
    for member in members(model):
        member.data_spec["contract"] = contract
        if value(contract, "genome"):
            member.data_spec["genome"] = value(contract, "genome")
