"""The `graphreg-zoo` command line: a thin typer layer over the Python API.

Each command group lives in its own module with a `register(app)` function;
commands import the heavy libraries inside their bodies, so `--help` is fast.
Errors map to the exit codes of ARCHITECTURE.md and print one paragraph to
stderr (a traceback only with `--debug`).
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Optional, Sequence

import typer

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow start-up chatter out of CLI output

from .._version import __version__
from ..errors import GraphRegZooError

_COMMAND_MODULES = ("zoo", "cells", "prep", "contacts", "predict", "train", "evaluate", "interpret", "simulate", "demo",
                    "reproduce")

app = typer.Typer(
    name="graphreg-zoo",
    help="GraphReg gene-expression models: published checkpoints, preprocessing, prediction, "
    "training and interpretation.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"graphreg-zoo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
) -> None:
    """GraphReg model zoo."""
    _state["debug"] = debug


for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def _fail(message: str, code: int, exc: BaseException) -> int:
    typer.echo(f"error: {message}", err=True)
    if _state["debug"]:
        traceback.print_exception(exc, file=sys.stderr)
    return code


def _click_exception_types() -> tuple[tuple, tuple, tuple]:
    """(exit, abort, usage-error) classes of whichever click typer raises from.

    typer >= 0.20 bundles its own copy of click (`typer._click`); older versions use the
    installed click. Both sets are caught so usage errors always exit 2.
    """
    exits, aborts, errors = [typer.Exit], [typer.Abort], []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found = importlib.import_module(module)
        except ImportError:
            continue
        exits += [getattr(found, "Exit", typer.Exit)]
        aborts += [getattr(found, "Abort", typer.Abort)]
        errors += [found.ClickException]
    return tuple(exits), tuple(aborts), tuple(errors)


def run(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI on `argv` and return the exit code (never raises SystemExit)."""
    exits, aborts, usage_errors = _click_exception_types()
    args = list(sys.argv[1:] if argv is None else argv)
    _state["debug"] = "--debug" in args
    try:
        result = app(args=args, prog_name="graphreg-zoo", standalone_mode=False)
    except exits as exc:
        return exc.exit_code
    except aborts:
        typer.echo("Aborted.", err=True)
        return 1
    except usage_errors as exc:
        exc.show()
        return exc.exit_code
    except GraphRegZooError as exc:
        return _fail(str(exc), exc.exit_code, exc)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        return _fail(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", 1, exc)
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
