"""The CLI's exit codes (ARCHITECTURE.md): 0 ok, 2 usage, 4 invalid input, errors on stderr without traceback."""
from __future__ import annotations


def test_version_and_help_exit_0(cli):
    assert cli("--version")[0] == 0
    code, out, _ = cli("--help")
    assert code == 0 and "predict" in out and "demo" in out


def test_usage_errors_exit_2(cli):
    code, _, err = cli("predict", "--bogus")
    assert code == 2 and "No such option" in err
    assert cli()[0] == 2  # no command: help and usage exit


def test_invalid_input_exits_4_without_traceback(cli):
    code, _, err = cli("info", "epi_K562_hichp")
    assert code == 4 and "epi_K562_hichip" in err and "Traceback" not in err


def test_debug_shows_the_traceback(cli):
    code, _, err = cli("--debug", "info", "epi_K562_hichp")
    assert code == 4 and "Traceback" in err
