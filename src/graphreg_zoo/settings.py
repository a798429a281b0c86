"""The environment variables graphreg_zoo reads, and their rules, in one place.

Every module asks `current()` (or one of the helpers below) instead of reading `os.environ`: the
offline rule, the cache location and the mirror are then the same for the zoo, reference cells and
URLs in a cell spec. The environment is read at each call, so a script or test may change it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "GRAPHREG_ZOO_HOME"
OFFLINE_ENV = "GRAPHREG_ZOO_OFFLINE"
MIRROR_ENV = "GRAPHREG_ZOO_MIRROR"
CARDS_ENV = "GRAPHREG_ZOO_CARDS"
COMPILE_ENV = "GRAPHREG_ZOO_COMPILE"
COMPILE_MODES = ("auto", "graph", "xla")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """graphreg_zoo's view of the environment.

    Attributes:
        home: the cache root (GRAPHREG_ZOO_HOME, else the platform cache directory).
        offline: never touch the network (GRAPHREG_ZOO_OFFLINE=1/true/yes/on).
        mirror: a base URL or directory serving zoo files at their card paths (GRAPHREG_ZOO_MIRROR).
        card_dirs: extra zoo-card directories (GRAPHREG_ZOO_CARDS, os.pathsep-separated).
        hf_offline: the Hugging Face hub must not be contacted (HF_HUB_OFFLINE, or offline).
        hf_cache: the Hugging Face cache directory (HF_HUB_CACHE), None for the hub's default.
    """

    home: Path
    offline: bool
    mirror: str | None
    card_dirs: tuple[Path, ...]
    hf_offline: bool
    hf_cache: str | None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _home() -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("graphreg_zoo"))


def current() -> Settings:
    """The settings as the environment gives them now."""
    offline = _flag(OFFLINE_ENV)
    return Settings(
        home=_home(),
        offline=offline,
        mirror=os.environ.get(MIRROR_ENV) or None,
        card_dirs=tuple(Path(p) for p in os.environ.get(CARDS_ENV, "").split(os.pathsep) if p),
        hf_offline=offline or _flag("HF_HUB_OFFLINE"),
        hf_cache=os.environ.get("HF_HUB_CACHE") or None,
    )


def cache_home() -> Path:
    """GRAPHREG_ZOO_HOME, or the platform's cache directory for graphreg_zoo."""
    return _home()


def is_offline() -> bool:
    """True when GRAPHREG_ZOO_OFFLINE is set to 1/true/yes/on."""
    return _flag(OFFLINE_ENV)


def compile_mode() -> str:
    """GRAPHREG_ZOO_COMPILE: how TensorFlow compiles a model for inference ('auto' = measured once per
    machine, `models.compile_choice`; 'graph' or 'xla' forces one). Refuses any other value."""
    value = os.environ.get(COMPILE_ENV, "").strip().lower() or "auto"
    if value not in COMPILE_MODES:
        from .errors import InvalidInputError

        raise InvalidInputError(f"{COMPILE_ENV}={os.environ[COMPILE_ENV]!r} is not one of {', '.join(COMPILE_MODES)}; "
                                "unset it or pick one.")
    return value
