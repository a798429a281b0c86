"""docs/cli.md is generated from the typer app (docs/_generate_cli.py) and must not go stale."""
from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest

from ._cli_parse import parse_cli

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO / "docs" / "_generate_cli.py"


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("_generate_cli", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_md_is_up_to_date(generator):
    assert generator.OUT.read_text(encoding="utf-8") == generator.render(), (
        "docs/cli.md is stale: run `python docs/_generate_cli.py` and commit the result"
    )


def test_every_command_is_documented_with_an_example(generator):
    commands = generator.commands()
    assert set(commands) == set(generator.EXAMPLES) == set(generator.EXIT_CODES)
    text = generator.OUT.read_text(encoding="utf-8")
    for name in commands:
        assert f"### `graphreg-zoo {name}`" in text


def test_examples_parse(generator):
    for name, example in generator.EXAMPLES.items():
        argv = shlex.split(example)
        assert argv[0] == "graphreg-zoo" and " ".join(argv[1:]).startswith(name), example
        parse_cli(argv[1:])


def test_parse_rejects_bad_usage():
    for argv in (["predict", "--bogus"], ["call-contacts", "x", "--format", "nope", "-o", "y", "--chrom", "c"],
                 ["cache", "export"]):
        with pytest.raises(Exception):
            parse_cli(argv)


def _doc_commands(path: Path) -> list[list[str]]:
    """`graphreg-zoo ...` invocations in the bash blocks of a Markdown file."""
    import re

    text, found = path.read_text(encoding="utf-8"), []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S):
        for line in re.sub(r"\\\n", " ", block).splitlines():
            for part in re.split(r"\|\||&&|;|\|", line):
                part = part.strip()
                if part.startswith("graphreg-zoo "):
                    found.append(shlex.split(part, comments=True)[1:])
    return found


@pytest.mark.parametrize("doc", ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))])
def test_commands_in_docs_parse(doc):
    for argv in _doc_commands(REPO / doc):
        try:
            parse_cli(argv)
        except Exception as exc:  # noqa: BLE001 - name the command
            pytest.fail(f"{doc}: `graphreg-zoo {shlex.join(argv)}` does not parse: {exc}")
