"""Every CLI command is a module-level function, importable and callable without the app."""
from __future__ import annotations

import importlib

from graphreg_zoo.cli import app


def _commands(typer_app):
    for info in typer_app.registered_commands:
        yield info.callback
    for group in typer_app.registered_groups:
        yield from _commands(group.typer_instance)


def test_every_command_is_a_module_level_function():
    callbacks = list(_commands(app))
    assert len(callbacks) >= 20
    for callback in callbacks:
        assert "<locals>" not in callback.__qualname__, f"{callback.__qualname__} is nested inside a function"
        assert getattr(importlib.import_module(callback.__module__), callback.__name__) is callback
