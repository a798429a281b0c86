"""Running a model for inference: its named inputs, the window arrays it reads, compilation, and the
batched forward pass (with the frozen Seq-CNN base's bottleneck computed on the way for separate Seq models).

Prediction, interpretation, evaluation and training's held-out metrics all run models through here, so
how a model is compiled for inference is decided in one place.
"""
from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from .family import FAMILIES, family_of

BASE_CHUNK_BATCH = 4  # 100 kb chunks per Seq-CNN base call (bounds the 256-channel activations)
PRECISIONS = ("float32", "bfloat16")
TIMING_ROUNDS = 2  # timed calls per compiled form when choosing one (after its compiling call)
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with native bfloat16 products


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


def compile_for_inference(model, inputs: dict | None = None, mode: str | None = None) -> None:
    """Compile `model` for `predict_on_batch` unless it is compiled.

    On JAX, jit (the only form). On TensorFlow, graph mode or XLA as `mode` (else GRAPHREG_ZOO_COMPILE)
    says; 'auto' uses the form measured fastest for this architecture and batch on this machine
    (`compile_choice`), timing both on `inputs` the first time. Where XLA cannot run (TensorFlow's op
    determinism, on inside training's `deterministic` block) graph mode is used and nothing is measured."""
    if getattr(model, "compiled", False):
        return
    import keras

    if keras.backend.backend() != "tensorflow":
        _compile(model, jit_compile="auto")
        return
    from tensorflow.python.framework.config import is_op_determinism_enabled

    from ..settings import COMPILE_MODES, compile_mode

    mode = mode or compile_mode()
    if mode not in COMPILE_MODES:
        raise InvalidInputError(f"compile mode {mode!r} is not one of {', '.join(COMPILE_MODES)}")
    if is_op_determinism_enabled():
        mode = "graph"
    if mode == "auto":
        mode = _remembered_form(model, inputs)
    if mode == "auto":
        _measure_and_compile(model, inputs)
    else:
        _compile(model, jit_compile=mode == "xla")


def _compile(model, jit_compile: bool | str) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Model doesn't support `jit_compile=True`")
        model.compile(jit_compile=jit_compile)


def _batch_size(inputs: dict) -> int:
    return len(next(iter(inputs.values())))


def _remembered_form(model, inputs: dict | None) -> str:
    """The form measured before for this architecture and batch, 'auto' if none was, or 'graph'
    (Keras' own choice on a CPU) when there are no inputs to time on."""
    from . import compile_choice

    if inputs is None:
        return "graph"
    return compile_choice.remembered(compile_choice.choice_key(model, _batch_size(inputs))) or "auto"


def _measure_and_compile(model, inputs: dict) -> None:
    """Compile both forms on `inputs`, then time them in alternation (best of `TIMING_ROUNDS` each, so a
    change in the machine's load hits both), store the winner and keep its traced predict function, so
    the winner is not compiled twice."""
    import time

    from . import compile_choice

    functions = {}
    for form in compile_choice.FORMS:
        _compile(model, jit_compile=form == "xla")
        model.predict_on_batch(inputs)  # traces (and for XLA compiles) the function
        functions[form] = model.predict_function
    seconds = dict.fromkeys(functions, float("inf"))
    for _ in range(TIMING_ROUNDS):
        for form, function in functions.items():
            model.predict_function = function
            start = time.perf_counter()
            model.predict_on_batch(inputs)
            seconds[form] = min(seconds[form], time.perf_counter() - start)
    winner = min(seconds, key=seconds.get)
    batch = _batch_size(inputs)
    path = compile_choice.remember(compile_choice.choice_key(model, batch), winner, seconds)
    compile_choice.announce(model, batch, seconds, winner, path)
    _compile(model, jit_compile=winner == "xla")
    model.predict_function = functions[winner]


def forward_cage(model, inputs: dict) -> np.ndarray:
    """CAGE for a batch through the model's compiled predict function."""
    compile_for_inference(model, inputs)
    return np.asarray(model.predict_on_batch(inputs)["cage"])


class SharedForward:
    """CAGE of models through one compiled copy per architecture, each model's weights loaded into it
    before its batch.

    A fold ensemble's members differ only in weights, so compiling each member (a trace, and minutes of XLA
    for the sequence models) repeats the same work; swapping weights costs a copy of them. The copy is built
    at `precision` ('bfloat16': the model's mixed_bfloat16 twin, float32 weights and heads, bfloat16
    products), which is how bfloat16 inference reuses float32 checkpoints.
    """

    def __init__(self, precision: str = "float32") -> None:
        self.precision = check_precision(precision)
        self.runners: dict[str, object] = {}  # architecture -> the compiled copy
        self._loaded: dict[str, object] = {}  # architecture -> the model whose weights the copy holds

    def reload(self) -> None:
        """Load every model's weights afresh at its next batch: they may have changed since (training)."""
        self._loaded.clear()

    def __call__(self, model, inputs: dict) -> np.ndarray:
        from .base import GraphRegModel
        from .compile_choice import architecture

        if not isinstance(model, GraphRegModel) and self.precision == "float32":
            return forward_cage(model, inputs)  # any other Keras model: rebuilding it from its config may not work
        key = architecture(model)
        if key not in self.runners:
            self.runners[key] = _copy(model, self.precision)
        runner = self.runners[key]
        if self._loaded.get(key) is not model:
            runner.set_weights(model.get_weights())
            self._loaded[key] = model
        return forward_cage(runner, inputs)


def _copy(model, precision: str):
    """A fresh model of `model`'s class and configuration, in float32 or its mixed_bfloat16 twin."""
    from .base import GraphRegModel

    config = model.get_config()
    if precision == "bfloat16":
        if not isinstance(model, GraphRegModel) or "precision" not in config:
            raise InvalidInputError(f"{type(model).__name__} has no precision option, so it cannot predict in "
                                    "bfloat16; use precision='float32'.")
        config["precision"] = "mixed_bfloat16"
    return type(model).from_config(config)


def check_precision(precision: str, model=None) -> str:
    """`precision` if this machine can predict in it (and `model`, if given, is offered it); refuses bfloat16
    where the hardware would only emulate it (slower than float32 and no more accurate) and names what it
    needs, and for a family whose bfloat16 forward is not checked to agree with float32."""
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    family = family_of(model) if model is not None else None
    if precision == "bfloat16" and family is not None and not family.bfloat16_inference:
        offered = ", ".join(f.name for f in FAMILIES if f.bfloat16_inference)
        why = (" (in bfloat16 the sequence trunk agreed only to R 0.99 on the converted Seq-GraphReg e2e fixture: "
               "docs/performance.md)") if family.window_kind == "seq" else ""
        raise InvalidInputError(
            f"bfloat16 inference is offered for {offered} only, whose bfloat16 forward agrees with float32 to "
            f"R >= 0.999; {family.name} predicts in float32{why}. Use precision='float32'.")
    if precision == "bfloat16" and not bfloat16_hardware():
        from .compile_choice import cpu_model

        raise InvalidInputError(
            f"bfloat16 inference needs a GPU or a CPU with native bfloat16 products (AVX512_BF16 or AMX); "
            f"{cpu_model()} has neither, so it would be emulated and slower than float32. Use precision='float32'.")
    return precision


def bfloat16_hardware() -> bool:
    """True on a GPU (as the backend sees it) or a CPU whose flags include AVX512_BF16 or AMX-BF16."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        if jax.default_backend() == "gpu":
            return True
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return True
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in _BF16_FLAGS)


def needs_bottleneck(names: list[str]) -> bool:
    """True when a model with these input names reads a Seq-CNN base bottleneck."""
    return "bottleneck" in names


def weights_fingerprint(model) -> str:
    """A short sha256 of a model's weights (names a cache so another base, or changed weights, never reuse it)."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.path.encode())
        digest.update(np.ascontiguousarray(np.asarray(weight.numpy(), dtype="float32")).tobytes())
    return digest.hexdigest()[:16]


class _ChunkMemo:
    """Bottlenecks of recently seen 100 kb chunks, by (base class, base weights, chunk bytes).

    Consecutive windows overlap by two thirds on a 100 kb-aligned grid, a knockout edits few chunks of a
    window, and an ensemble's heads share a base: the same chunk reaches the base again and again. The
    key is the chunk's content and the base's weights, so a hit is exactly what the base would compute.
    Least recently used entries go first (MEMO_CHUNKS, ~256 KB each: three windows' worth and more).
    """

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[tuple[str, bytes], np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, bytes]) -> np.ndarray | None:
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
            return None

    def put(self, key: tuple[str, bytes], value: np.ndarray) -> None:
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


MEMO_CHUNKS = 400
_CHUNKS = _ChunkMemo(MEMO_CHUNKS)


def bottleneck(base, sequence: np.ndarray) -> np.ndarray:
    """The Seq-CNN base bottleneck (60000, 64) of a 6 Mb one-hot, chunk by 100 kb chunk; chunks seen
    recently with the same base weights are not recomputed (`_ChunkMemo`)."""
    if base is None:
        raise InvalidInputError("this model reads a Seq-CNN base bottleneck: pass base= the Seq-CNN base of its fold")
    name, chunk = input_names(base)[0], base.inputs[0].shape[1]
    chunks = np.asarray(sequence, dtype="float32").reshape(-1, chunk, 4)
    model_key = f"{type(base).__name__}:{weights_fingerprint(base)}"
    keys = [(model_key, hashlib.blake2b(c.tobytes(), digest_size=16).digest()) for c in chunks]
    out: list[np.ndarray | None] = [_CHUNKS.get(k) for k in keys]
    missing = [i for i, value in enumerate(out) if value is None]
    if missing:
        compile_for_inference(base, {name: chunks[:BASE_CHUNK_BATCH]})
        for i in range(0, len(missing), BASE_CHUNK_BATCH):
            todo = missing[i : i + BASE_CHUNK_BATCH]
            batch = padded_batch({name: chunks[todo]}, BASE_CHUNK_BATCH)  # one compiled shape
            made = np.asarray(base.predict_on_batch(batch)["bottleneck"])
            for j, k in enumerate(todo):
                out[k] = made[j]
                _CHUNKS.put(keys[k], made[j])
    return np.concatenate(out).reshape(-1, out[0].shape[-1])


def padded_batch(inputs: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """`inputs` with all-zero windows appended up to `size` (no change when the batch is that large already):
    a last, partial batch then reuses the compiled shape, where a new batch size would trace (and under XLA
    compile) the forward again."""
    n = _batch_size(inputs)
    if n >= size:
        return inputs
    return {k: np.concatenate([v, np.zeros((size - n, *v.shape[1:]), v.dtype)]) for k, v in inputs.items()}


def model_inputs(names: list[str], arrays: list[dict[str, np.ndarray]], base=None) -> dict[str, np.ndarray]:
    """Batched model inputs from window arrays; a `bottleneck` missing from the arrays is
    computed from their `sequence` through `base`.

    The adjacency goes in as booleans, `adjacency > 0`, which is all the graph attention reads of it
    (`layers.GraphAttention`): a quarter of the bytes of float32 to stack and to hand to the backend, which
    copies every input (per 6 Mb window 1.4 MB instead of 5.8 MB)."""
    out = {}
    for name in names:
        if name == "bottleneck" and "bottleneck" not in arrays[0]:
            out[name] = np.stack([bottleneck(base, a["sequence"]) for a in arrays])
        elif name == "adjacency":
            out[name] = np.empty((len(arrays), *np.shape(arrays[0][name])), dtype=bool)
            for row, a in zip(out[name], arrays):  # written in place: a fresh array per window page-faults
                np.greater(a[name], 0, out=row)
        else:
            out[name] = np.stack([np.asarray(a[name], dtype="float32") for a in arrays])
    return out
