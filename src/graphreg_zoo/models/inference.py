"""Running a model for inference: its named inputs, the window arrays it reads, compilation, and the
batched forward pass (with the frozen Seq-CNN base's bottleneck computed on the way for separate Seq models).

Prediction, interpretation, evaluation and training's held-out metrics all run models through here, so
how a model is compiled for inference is decided in one place.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import InvalidInputError
from .family import family_of

BASE_CHUNK_BATCH = 4  # 100 kb chunks per Seq-CNN base call (bounds the 256-channel activations)


def input_names(model) -> list[str]:
    """Names of a Keras model's inputs (epigenome, sequence, bottleneck, adjacency)."""
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise InvalidInputError(f"{getattr(model, 'name', model)!r} is not a built Keras model with named inputs")
    return [t.name.split(":")[0] for t in inputs]


def window_kind(model) -> str:
    """'epi' or 'seq': which window arrays the model reads."""
    family = family_of(model)
    if not family.cage:
        raise InvalidInputError(f"{model.name} does not predict CAGE (it is a Seq-CNN base); use an e2e model.")
    return family.window_kind


def compile_for_inference(model) -> None:
    """Compile `model` for `predict_on_batch` unless it is compiled: with XLA on TensorFlow where the
    model asks for it (`xla_inference`), else as Keras decides (jit on JAX, graph mode on TensorFlow
    without a GPU). Where XLA cannot run (TensorFlow's op determinism, on inside training's
    `deterministic` block), Keras falls back to graph mode; its warning about that is not passed on."""
    if getattr(model, "compiled", False):
        return
    import keras

    xla = getattr(model, "xla_inference", False) and keras.backend.backend() == "tensorflow"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Model doesn't support `jit_compile=True`")
        model.compile(jit_compile=True if xla else "auto")


def forward_cage(model, inputs: dict) -> np.ndarray:
    """CAGE for a batch through the model's compiled predict function."""
    compile_for_inference(model)
    return np.asarray(model.predict_on_batch(inputs)["cage"])


def needs_bottleneck(names: list[str]) -> bool:
    """True when a model with these input names reads a Seq-CNN base bottleneck."""
    return "bottleneck" in names


def bottleneck(base, sequence: np.ndarray) -> np.ndarray:
    """The Seq-CNN base bottleneck (60000, 64) of a 6 Mb one-hot, chunk by 100 kb chunk."""
    if base is None:
        raise InvalidInputError("this model reads a Seq-CNN base bottleneck: pass base= the Seq-CNN base of its fold")
    name, chunk = input_names(base)[0], base.inputs[0].shape[1]
    chunks = np.asarray(sequence, dtype="float32").reshape(-1, chunk, 4)
    compile_for_inference(base)
    parts = [np.asarray(base.predict_on_batch({name: chunks[i : i + BASE_CHUNK_BATCH]})["bottleneck"])
             for i in range(0, len(chunks), BASE_CHUNK_BATCH)]
    return np.concatenate(parts).reshape(-1, parts[0].shape[-1])


def model_inputs(names: list[str], arrays: list[dict[str, np.ndarray]], base=None) -> dict[str, np.ndarray]:
    """Batched model inputs from window arrays; a `bottleneck` missing from the arrays is
    computed from their `sequence` through `base`."""
    out = {}
    for name in names:
        if name == "bottleneck" and "bottleneck" not in arrays[0]:
            out[name] = np.stack([bottleneck(base, a["sequence"]) for a in arrays])
        else:
            out[name] = np.stack([np.asarray(a[name], dtype="float32") for a in arrays])
    return out
