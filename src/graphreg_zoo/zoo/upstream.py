"""Convert the original GraphReg Keras-2 HDF5 checkpoints into Keras 3 models.

The converter reads arrays and JSON only: it never imports, deserialises or
executes anything named in the file. It handles both encodings seen in the wild
(tf_keras 2.x `str` attributes and the TF-2.0-era fixed-length byte strings,
`tf_op_layer_*` names, an extra `top_level_model_weights` group), full-model
files (`model_weights/`) and weights-only files (root `layer_names`).

Weights are mapped by weighted-layer name: our models are built in the original
creation order, so every weighted layer carries its checkpoint name.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import sha256_file
from ..errors import InvalidInputError


class ConversionError(InvalidInputError):
    """An upstream checkpoint cannot be converted (exit code 4)."""


@dataclass
class UpstreamCheckpoint:
    """Everything read from one upstream `.h5`: weights by layer, and the model config JSON."""

    path: Path
    weights: dict[str, dict[str, np.ndarray]]
    model_config: dict | None
    keras_version: str | None


@dataclass
class ConversionReport:
    """What the converter inferred and checked; written into the preset's card."""

    source_name: str
    source_sha256: str
    model_class: str
    model_config: dict
    keras_version: str | None
    n_weights: int
    bn_statistics_untouched: bool
    notes: list[str] = field(default_factory=list)

    def to_card(self) -> dict:
        return {"converted_from": asdict(self)}


def _text(value) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8")
    return str(value)


def _names(attr) -> list[str]:
    """Decode a `layer_names`/`weight_names` attribute (str, bytes, or an empty float array)."""
    if attr is None:
        return []
    array = np.atleast_1d(np.asarray(attr))
    if array.size == 0 or array.dtype.kind == "f":
        return []
    return [_text(v) for v in array]


def _short(weight_name: str) -> str:
    """'graph_attention/kernel_self_0:0' -> 'kernel_self_0'."""
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]


def read_checkpoint(path: str | os.PathLike) -> UpstreamCheckpoint:
    """Read weights and model config from an upstream HDF5 file (arrays and JSON only)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ConversionError(f"{path}: file not found. Pass the path of an upstream GraphReg .h5 checkpoint.")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ConversionError(
            f"{path}: not a readable HDF5 file ({exc}). The file may be truncated or not a Keras checkpoint; "
            "download it again and check its sha256."
        ) from None
    with handle as f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            raise ConversionError(
                f"{path}: HDF5 file without Keras-2 weights (no 'model_weights' group and no root 'layer_names'). "
                "Expected a GraphReg checkpoint saved with model.save() or model.save_weights()."
            )
        weights: dict[str, dict[str, np.ndarray]] = {}
        try:
            for layer in _names(root.attrs["layer_names"]):
                if layer not in root:
                    raise ConversionError(f"{path}: layer '{layer}' is listed in layer_names but has no group.")
                group = root[layer]
                names = _names(group.attrs.get("weight_names"))
                if names:
                    weights[layer] = {_short(n): np.asarray(group[n], dtype=np.float32) for n in names}
        except (OSError, KeyError) as exc:
            raise ConversionError(f"{path}: cannot read weights ({exc}); the file is probably truncated.") from None
        config = json.loads(_text(f.attrs["model_config"])) if "model_config" in f.attrs else None
        version = _text(f.attrs["keras_version"]) if "keras_version" in f.attrs else None
    return UpstreamCheckpoint(path, weights, config, version)


def _config_layers(ckpt: UpstreamCheckpoint) -> list[dict]:
    if not ckpt.model_config:
        return []
    return ckpt.model_config.get("config", {}).get("layers", [])


def _flag_from_name(ckpt: UpstreamCheckpoint, token: str) -> bool:
    names = [ckpt.path.name]
    if ckpt.model_config:
        names.append(str(ckpt.model_config.get("config", {}).get("name", "")))
    return any(token in n for n in names)


def _has_dilation(ckpt: UpstreamCheckpoint) -> bool:
    """Dilated flavour: dilation > 1 in the config, else its k5 heads (the towers use k3)."""
    for layer in _config_layers(ckpt):
        dilation = layer.get("config", {}).get("dilation_rate")
        if layer.get("class_name") == "Conv1D" and dilation and max(np.atleast_1d(dilation)) > 1:
            return True
    if _config_layers(ckpt):
        return False
    return any(w["kernel"].shape == (5, 64, 1) for w in ckpt.weights.values() if "kernel" in w)


def infer_architecture(ckpt: UpstreamCheckpoint) -> tuple[str, dict]:
    """(model class name, constructor kwargs) from weight shapes and the config."""
    first = ckpt.weights.get("conv1d", {}).get("kernel")
    if first is None:
        raise ConversionError(
            f"{ckpt.path}: no 'conv1d' layer: this is not a GraphReg checkpoint "
            f"(weighted layers found: {sorted(ckpt.weights)[:8]}...)."
        )
    n_gat = sum(1 for name in ckpt.weights if name.startswith("graph_attention"))
    graph = {"n_gat_layers": n_gat} if n_gat else {}
    fft = _flag_from_name(ckpt, "_fft")
    shape = tuple(first.shape)
    if shape == (25, 3, 128):
        return ("EpiGraphReg", graph) if n_gat else ("EpiCNN", {})
    if shape == (21, 4, 256):
        return "SeqCNNBase", {"dilated": _has_dilation(ckpt), "fft_prior": fft}
    if shape == (3, 64, 128):
        return ("SeqGraphReg", graph) if n_gat else ("SeqCNN", {})
    if shape == (21, 4, 32):
        if n_gat:
            architecture = "older" if "conv1d_19" in ckpt.weights else "newer"
            return "SeqGraphRegE2E", {**graph, "architecture": architecture, "fft_prior": fft}
        return "SeqCNNE2E", {"fft_prior": fft}
    raise ConversionError(
        f"{ckpt.path}: unknown architecture: first conv kernel has shape {shape}; GraphReg models start with "
        "(25, 3, 128) Epi, (21, 4, 256) Seq-CNN base, (3, 64, 128) Seq-GraphReg/Seq-CNN or (21, 4, 32) e2e."
    )


def recorded_identity(ckpt: UpstreamCheckpoint, class_name: str) -> dict:
    """`data_spec` entries an upstream file name gives (`…_valid_chr_N,…`): its fold and, for a head on a
    frozen Seq-CNN base, the base flavour it was trained on (UPSTREAM §2.4-2.5 names); {} for other names."""
    from .folds import fold_of_file

    try:
        identity = {"fold": fold_of_file(ckpt.path)}
    except InvalidInputError:
        return {}
    if class_name in ("SeqGraphReg", "SeqCNN"):
        undilated = _flag_from_name(ckpt, "nodilation") or _flag_from_name(ckpt, "nodilution")
        identity["base"] = {"fold": identity["fold"], "dilated": not undilated,
                            "fft_prior": _flag_from_name(ckpt, "_fft")}
    return identity


def _variable_key(variable) -> str:
    return variable.path.rsplit("/", 1)[-1]


def assign_weights(model, ckpt: UpstreamCheckpoint) -> int:
    """Copy weights by layer and variable name; every weight must match, nothing may be left over."""
    used: set[str] = set()
    count = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        stored = ckpt.weights.get(layer.name)
        if stored is None:
            raise ConversionError(
                f"{ckpt.path}: layer '{layer.name}' ({type(layer).__name__}) expected by {model.name} is missing "
                "from the checkpoint; the file does not hold this architecture."
            )
        for variable in layer.weights:
            key = _variable_key(variable)
            if key not in stored:
                raise ConversionError(
                    f"{ckpt.path}: weight '{layer.name}/{key}' is missing (found: {sorted(stored)})."
                )
            value = stored[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise ConversionError(
                    f"{ckpt.path}: weight '{layer.name}/{key}' has shape {tuple(value.shape)}, "
                    f"expected {tuple(variable.shape)} for {model.name}."
                )
            variable.assign(value)
            count += 1
        leftover = set(stored) - {_variable_key(v) for v in layer.weights}
        if leftover:
            raise ConversionError(f"{ckpt.path}: layer '{layer.name}' has unexpected weights {sorted(leftover)}.")
        used.add(layer.name)
    extra = sorted(set(ckpt.weights) - used)
    if extra:
        raise ConversionError(
            f"{ckpt.path}: weighted layers {extra} are not part of {model.name}; the file holds a different "
            "architecture than the one inferred."
        )
    return count


def _bn_untouched(ckpt: UpstreamCheckpoint) -> bool:
    stats = [w for w in ckpt.weights.values() if "moving_mean" in w]
    return bool(stats) and all(
        np.all(w["moving_mean"] == 0) and np.all(w["moving_variance"] == 1) for w in stats
    )


def upstream_contract(path: Path, class_name: str) -> tuple[dict, str]:
    """The input contract of an upstream file and where it came from: the card that lists the file
    (matched by file name), else the published contract of its model kind with the genome unknown."""
    from ..contract import published_contract
    from . import cards

    for card in cards.all_cards().values():
        if any(Path(m["path"]).name == path.name for m in card["folds"]["members"]) and card.get("input_contract"):
            return card["input_contract"], f"zoo card {card['name']}"
    kind = "epi" if class_name.startswith("Epi") else "seq"
    return published_contract(kind, None, generalizable="_generalizable" in path.name), "no zoo card lists this file"


def convert_upstream_with_report(path: str | os.PathLike, *, return_attention: bool = False, **overrides):
    """Convert an upstream checkpoint; returns (keras.Model, ConversionReport).

    The model's data_spec carries the input contract of the file's family (`upstream_contract`).
    """
    from ..contract import set_on_model
    from ..models import MODEL_CLASSES

    ckpt = read_checkpoint(path)
    class_name, kwargs = infer_architecture(ckpt)
    kwargs.update(overrides)
    if return_attention and "n_gat_layers" in kwargs:
        kwargs["return_attention"] = True
    model = MODEL_CLASSES[class_name](**kwargs)
    model.data_spec.update(recorded_identity(ckpt, class_name))
    n_weights = assign_weights(model, ckpt)
    contract, origin = upstream_contract(Path(path), class_name)
    set_on_model(model, contract)
    untouched = _bn_untouched(ckpt)
    notes = []
    if untouched:
        notes.append(
            "BatchNorm moving statistics are the untouched 0/1: the original trained in inference mode "
            "(BN acts as a learned affine map). Fine-tune with upstream_compat=True to keep that behaviour."
        )
    notes.append(f"input contract from {origin}")
    report = ConversionReport(
        source_name=Path(path).name,
        source_sha256=sha256_file(path),
        model_class=class_name,
        model_config={k: v for k, v in kwargs.items() if k != "return_attention"},
        keras_version=ckpt.keras_version,
        n_weights=n_weights,
        bn_statistics_untouched=untouched,
        notes=notes,
    )
    return model, report


def convert_upstream(path: str | os.PathLike, *, return_attention: bool = False, **overrides):
    """Load an original GraphReg `.h5` checkpoint as a Keras 3 model.

    The model class, number of GAT layers, Seq-CNN base flavour and e2e
    architecture are inferred from the file. Raises `ConversionError`
    (exit code 4) naming the file, layer and weight when anything does not fit.

    Example:
        >>> model = convert_upstream("Epi-GraphReg_K562_HiChIP_FDR_01_valid_chr_1,11_test_chr_2,12.h5")
    """
    return convert_upstream_with_report(path, return_attention=return_attention, **overrides)[0]
