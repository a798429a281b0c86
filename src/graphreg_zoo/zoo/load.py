"""`load` and `fetch`: from a zoo name (or hub handle, preset dir, upstream .h5) to a model.

Accepted names:
  - a family or alias, e.g. `epi_K562_hichip` -> a FoldEnsemble of its ten folds;
  - a member, `epi_K562_hichip_fdr01@fold3` -> one Keras model;
  - `hf://org/repo@<40-hex revision>` -> the preset (or fold-ensemble preset) in that hub snapshot;
  - a local preset directory (or fold-ensemble preset directory);
  - an upstream `.h5` checkpoint -> converted on the fly.
Raw files are verified and cached by `filecache.py`; converted presets are cached next to them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._atomic import sha256_file
from ..errors import InvalidInputError
from ..filecache import FileSpec, entry_lock, fetch_files, fetch_hf, preset_path
from . import cards
from .ensemble import FoldEnsemble
from .folds import ORGANISM_OF_GENOME, fold_chromosomes, fold_of_file

#: presets shipped inside the package (no network): name -> directory
PACKAGED = {
    "demo": Path(__file__).resolve().parents[1] / "_demo" / "model",
    "demo_cnn": Path(__file__).resolve().parents[1] / "_demo" / "model_cnn",
    "demo_seq": Path(__file__).resolve().parents[1] / "_demo" / "model_seq",
    "demo_seq_cnn": Path(__file__).resolve().parents[1] / "_demo" / "model_seq_cnn",
    "demo_seq_base": Path(__file__).resolve().parents[1] / "_demo" / "model_seq_base",
}


def packaged_name(recipe: str | None) -> str | None:
    """The packaged preset trained by `recipe` (the name on its card), if one ships in the package."""
    for name, folder in PACKAGED.items():
        card = folder / "card.json"
        if recipe and card.is_file() and json.loads(card.read_text()).get("name") == recipe:
            return name
    return None


def member_spec(entry: dict[str, Any]) -> FileSpec:
    """The FileSpec of one card member."""
    return FileSpec(entry["path"], entry["source"], entry.get("sha256"))


def card_specs() -> dict[str, FileSpec]:
    """Every file any card knows, by path."""
    return {m["path"]: member_spec(m) for card in cards.all_cards().values() for m in card["folds"]["members"]}


def _members(card: dict[str, Any], fold: int | None) -> list[dict[str, Any]]:
    return [cards.member(card, fold)] if fold is not None else card["folds"]["members"]


def fetch(name: str) -> list[Path]:
    """Download and verify the raw files of a family or member; returns their cached paths."""
    entries = _members(*cards.resolve(name))
    return fetch_files(member_spec(e) for e in entries)


def _member_card(card: dict[str, Any], entry: dict[str, Any], raw: Path) -> dict[str, Any]:
    keep = ("kind", "cell", "organism", "genome", "assay", "fdr", "generalizable", "model", "input_spec",
            "input_contract", "license", "citation", "recipe")
    return {**{k: card.get(k) for k in keep}, "name": f"{card['name']}@fold{entry['fold']}", "family": card["name"],
            "fold": entry["fold"], "valid": entry["valid"], "test": entry["test"], "path": entry["path"],
            "source": entry["source"], "sha256": sha256_file(raw)}


def _convert_member(card: dict[str, Any], entry: dict[str, Any], raw: Path, **kwargs: Any) -> Any:
    """The Keras model of one fetched member, from the preset cache when possible; its input contract is
    the card's (also for presets cached before the card had one)."""
    from ..contract import set_on_model
    from .presets import load_preset, save_preset
    from .upstream import convert_upstream

    if kwargs:  # non-default conversion options: never cached
        model = convert_upstream(raw, **kwargs)
    else:
        preset = preset_path(entry["path"])
        with entry_lock(entry["path"] + ".preset"):
            if not preset.is_dir():
                model = convert_upstream(raw)
                model.card = _member_card(card, entry, raw)
                save_preset(model, preset, model.card)
            else:
                model = load_preset(preset)
    if card.get("input_contract"):
        set_on_model(model, card["input_contract"])
    return model


def _load_path(path: Path, **kwargs: Any) -> Any:
    from .presets import load_preset
    from .upstream import convert_upstream

    if path.is_dir():
        return load_preset(path, return_attention=kwargs.get("return_attention"))
    if path.suffix == ".h5":
        return convert_upstream(path, **kwargs)
    raise InvalidInputError(f"{path} is neither a preset directory nor an upstream .h5 checkpoint")


def load(name: str, **kwargs: Any) -> Any:
    """Load a model by zoo name, `name@foldN`, `hf://org/repo@rev`, preset directory or upstream `.h5`.

    A family loads as a FoldEnsemble; everything else as one Keras model. `demo` and
    `demo_cnn` (epigenome), `demo_seq` and `demo_seq_cnn` (sequence: Seq-GraphReg and Seq-CNN heads on the
    frozen Seq-CNN base `demo_seq_base`) are the small models shipped in the package (trained on the
    synthetic genome). `kwargs` go to the
    upstream converter (e.g. `return_attention=True`) and bypass the preset cache.

    Example: ``model = graphreg_zoo.load("epi_K562_hichip_fdr01@fold1")``.
    """
    if name in PACKAGED:
        return _load_path(PACKAGED[name], **kwargs)
    if name.startswith("hf://"):
        return _load_path(fetch_hf(name), **kwargs)
    if Path(name).exists():
        return _load_path(Path(name), **kwargs)
    card, fold = cards.resolve(name)
    entries = _members(card, fold)
    raws = fetch_files(member_spec(e) for e in entries)
    models = {e["fold"]: _convert_member(card, e, raw, **kwargs) for e, raw in zip(entries, raws)}
    if fold is not None:
        return models[fold]
    return FoldEnsemble(models, organism=ORGANISM_OF_GENOME[card["genome"]], name=card["name"],
                        card={k: v for k, v in card.items() if k != "folds"})


def as_model(model: Any) -> Any:
    """A model from a model, a fold ensemble, or a name / path that `load` accepts."""
    return load(str(model)) if isinstance(model, (str, os.PathLike)) else model


def convert(source: str | Path, output: str | Path, *, organism: str = "human") -> Path:
    """Convert an upstream `.h5` to a preset directory, or a folder of fold files to a fold-ensemble preset."""
    from .presets import save_ensemble_preset, save_preset
    from .upstream import convert_upstream_with_report

    source = Path(source)
    if source.is_file():
        model, report = convert_upstream_with_report(source)
        card = {"name": source.stem, "source": str(source), "sha256": report.source_sha256, **report.to_card()}
        return save_preset(model, output, card)
    files = sorted(source.glob("*.h5")) if source.is_dir() else []
    if not files:
        raise InvalidInputError(f"{source} is neither an upstream .h5 file nor a directory of them")
    by_fold = {fold_of_file(f): f for f in files}
    if len(by_fold) != len(files):
        raise InvalidInputError(f"{source} holds several files for one fold: {[f.name for f in files]}")
    converted = {fold: convert_upstream_with_report(f) for fold, f in by_fold.items()}
    members = {str(fold): {"name": f.stem, "source": str(f), "sha256": converted[fold][1].source_sha256,
                           **converted[fold][1].to_card(),
                           **{k: list(v) for k, v in fold_chromosomes(fold, organism).items()}}
               for fold, f in by_fold.items()}
    card = {"name": source.name, "organism": organism, "source": str(source), "members": members}
    return save_ensemble_preset({fold: model for fold, (model, _) in converted.items()}, output, card)
