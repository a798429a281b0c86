"""Which compiled form predicts fastest on this machine: measured once, remembered, overridable.

On TensorFlow a model can predict in graph mode (oneDNN kernels) or through XLA. Which wins depends on the
architecture *and* the CPU: XLA fuses the graph attention of the 100 bp models, but the convolution models won
with XLA on one CPU and lost with it on another (docs/performance.md), so no per-class constant is right on
every machine. The first prediction of an architecture at a batch size times both forms on that first batch
and stores the winner in `compile_choices.json` under GRAPHREG_ZOO_HOME, keyed by everything the answer
depends on: CPU model, accelerator, backend, Keras and TensorFlow versions, architecture, batch size.
GRAPHREG_ZOO_COMPILE (or the `mode` argument of `inference.compile_for_inference`) forces a form.
On JAX there is one form (jit), so nothing is measured.
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from functools import cache
from pathlib import Path

CACHE_NAME = "compile_choices.json"
FORMS = ("graph", "xla")
_NOT_ARCHITECTURE = ("name", "seed", "data_spec", "trainable", "dropout")  # config keys that change no kernel


@cache
def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo (what `lscpu` shows) or the platform gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


@cache
def _accelerator() -> str:
    """'gpu' where TensorFlow sees one (compiled forms then run there), else 'cpu'."""
    import tensorflow as tf

    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def architecture(model) -> str:
    """The model class, the config keys that shape its computation and its input shapes, as one string:
    equal for fold members of a family (they differ in weights and data_spec only)."""
    config = {k: v for k, v in model.get_config().items() if k not in _NOT_ARCHITECTURE}
    shapes = [list(t.shape) for t in model.inputs]
    text = json.dumps({"config": config, "inputs": shapes}, sort_keys=True, default=str)
    return f"{type(model).__name__}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def choice_key(model, batch: int) -> str:
    """What a measured choice is valid for."""
    import keras
    import tensorflow as tf

    return " | ".join([cpu_model(), _accelerator(), keras.backend.backend(), f"keras {keras.__version__}",
                       f"tensorflow {tf.__version__}", architecture(model), f"batch {batch}"])


def cache_path() -> Path:
    from ..settings import cache_home

    return cache_home() / CACHE_NAME


def remembered(key: str) -> str | None:
    """The form stored for `key`, or None (no cache, unreadable cache or no entry: measure again)."""
    try:
        entry = json.loads(cache_path().read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    form = entry.get("form") if isinstance(entry, dict) else None
    return form if form in FORMS else None


def remember(key: str, form: str, seconds: dict[str, float]) -> Path:
    """Store the winner of a measurement (read-modify-write, replaced atomically)."""
    from .._atomic import atomic_path

    path = cache_path()
    try:
        choices = json.loads(path.read_text())
        choices = choices if isinstance(choices, dict) else {}
    except (OSError, ValueError):
        choices = {}
    choices[key] = {"form": form, "seconds_per_batch": {k: round(v, 5) for k, v in seconds.items()}}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(choices, indent=1, sort_keys=True) + "\n")
    return path


def announce(model, batch: int, seconds: dict[str, float], form: str, path: Path) -> None:
    """One line on stderr: the measurement is a one-off pause the user should understand."""
    timed = ", ".join(f"{k} {v:.3f} s" for k, v in seconds.items())
    print(f"graphreg-zoo: compiled {type(model).__name__} both ways on {cpu_model()} (batch {batch}): {timed} per "
          f"batch -> {form}; remembered in {path} (GRAPHREG_ZOO_COMPILE=graph|xla overrides)", file=sys.stderr)
