"""Preset directories (keras-hub style): `config.json`, `model.weights.h5`, `card.json`.

A preset is written atomically (temporary sibling, then rename) and loads with
no network. A fold ensemble is a directory whose `card.json` lists its members,
each a preset in its own sub-directory (`fold1`, ..., `fold10`).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from .._atomic import atomic_path
from ..errors import InvalidInputError

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
CARD = "card.json"
PRESET_FORMAT = 1


def _metadata(model) -> dict:
    import keras

    from .. import __version__

    return {
        "preset_format": PRESET_FORMAT,
        "keras_version": keras.__version__,
        "graphreg_zoo_version": __version__,
        "parameter_count": int(model.count_params()),
        "date_saved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def _write_member(model, directory: Path, card: dict) -> None:
    import keras

    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # a preset is an architecture + weights, not a training state
    _write_json(directory / CONFIG, config)
    if getattr(model, "optimizer", None) is not None:  # save the weights alone, without optimizer state
        clean = keras.saving.deserialize_keras_object(config)
        clean.set_weights(model.get_weights())
        model = clean
    model.save_weights(directory / WEIGHTS)
    _write_json(directory / CARD, {**card, "preset": _metadata(model)})


def save_preset(model, directory: str | os.PathLike, card: dict | None = None) -> Path:
    """Write `model` as a preset directory (atomically); returns its path."""
    directory = Path(directory)
    with atomic_path(directory, directory=True) as tmp:
        _write_member(model, tmp, dict(card or {}))
    return directory


def save_ensemble_preset(members: dict[int, object], directory: str | os.PathLike, card: dict) -> Path:
    """Write a fold ensemble: one preset per fold under `fold<N>/`, listed in `card.json`."""
    directory = Path(directory)
    with atomic_path(directory, directory=True) as tmp:
        listing = []
        for fold, model in sorted(members.items()):
            sub = tmp / f"fold{fold}"
            sub.mkdir()
            _write_member(model, sub, {**card.get("members", {}).get(str(fold), {}), "fold": fold})
            listing.append({"fold": fold, "path": sub.name})
        _write_json(tmp / CARD, {**{k: v for k, v in card.items() if k != "members"}, "ensemble": listing})
    return directory


def read_card(directory: str | os.PathLike) -> dict:
    """The `card.json` of a preset directory ({} if it has none)."""
    path = Path(directory) / CARD
    return json.loads(path.read_text()) if path.is_file() else {}


def is_preset(directory: str | os.PathLike) -> bool:
    directory = Path(directory)
    return (directory / CONFIG).is_file() or "ensemble" in read_card(directory)


def _load_member(directory: Path, return_attention: bool | None):
    import keras

    from .. import models  # noqa: F401  (registers the model classes)

    config_path, weights_path = directory / CONFIG, directory / WEIGHTS
    for required in (config_path, weights_path):
        if not required.is_file():
            raise InvalidInputError(
                f"{directory}: not a graphreg_zoo preset ({required.name} is missing). A preset directory holds "
                f"{CONFIG}, {WEIGHTS} and {CARD}; make one with `graphreg-zoo convert` or `save_preset`."
            )
    config = json.loads(config_path.read_text())
    if not str(config.get("registered_name", "")).startswith("graphreg_zoo>"):
        raise InvalidInputError(
            f"{config_path}: not a graphreg_zoo model config (registered_name={config.get('registered_name')!r})."
        )
    if return_attention is not None and "return_attention" in config.get("config", {}):
        config["config"]["return_attention"] = return_attention
    model = keras.saving.deserialize_keras_object(config)
    model.load_weights(weights_path)
    model.card = read_card(directory)  # its recorded split gives each predicted row its role
    return model


def load_preset(directory: str | os.PathLike, *, return_attention: bool | None = None):
    """Load a preset directory: a keras.Model, or a FoldEnsemble for an ensemble preset."""
    directory = Path(directory)
    card = read_card(directory)
    if "ensemble" not in card:
        return _load_member(directory, return_attention)
    from .ensemble import FoldEnsemble

    members = {int(m["fold"]): _load_member(directory / m["path"], return_attention) for m in card["ensemble"]}
    return FoldEnsemble(members, organism=card.get("organism", "human"), name=card.get("name", directory.name))
