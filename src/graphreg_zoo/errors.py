"""Exception classes, each carrying the CLI exit code of ARCHITECTURE.md.

Every error a user can fix says what went wrong, where, and how to fix it.
"""
from __future__ import annotations


class GraphRegZooError(Exception):
    """Base class; `exit_code` is what the CLI returns (1 = unexpected)."""

    exit_code = 1


class NotAvailableError(GraphRegZooError):
    """A file or model cannot be obtained (offline, download failed, not cached)."""

    exit_code = 3


class InvalidInputError(GraphRegZooError, ValueError):
    """User input is malformed or inconsistent (files, names, shapes, builds)."""

    exit_code = 4


class IntegrityError(GraphRegZooError):
    """A file's sha256 does not match the recorded or pinned hash."""

    exit_code = 5


class TrainingDivergedError(GraphRegZooError):
    """The training loss became NaN or infinite (the run is stopped, nothing is saved)."""

    exit_code = 6


class ContractWarning(UserWarning):
    """A CellData is not prepared as a model's input contract says (another statistic, transform or scale)."""


EXIT_OK = 0
EXIT_USAGE = 2
