"""docs/tutorial-from-bam.md cannot rot: its offline blocks run, its other commands parse.

- Blocks preceded by a `<!-- test -->` line are run, in order, as ONE bash session (as a reader
  would paste them) in a temporary folder, with `REALDATA` pointing at ../shared/realdata, an
  empty private GRAPHREG_ZOO_HOME and GRAPHREG_ZOO_OFFLINE=1. `graphreg-zoo` and `python3` are
  this interpreter's. If the packaged `demo` model is not built in this checkout, `--model demo`
  is replaced by an untrained Epi-GraphReg preset so that the commands still run end to end.
- Every bash block: `bash -n` syntax check, no comment after a line-continuation backslash.
- Every `graphreg-zoo ...` command anywhere in the tutorial parses with the real CLI (options,
  choices, required arguments), without running.
- Every YAML cell spec validates as a `CellSpec` (keys, track names, choices).
- One cell name (K562) and no other cell line in the code.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from ._cli_parse import parse_cli

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = REPO / "docs" / "tutorial-from-bam.md"
REALDATA = REPO.parent / "shared" / "realdata"
MARK = "<!-- test -->"
FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(text: str) -> list[dict]:
    """Fenced code blocks: language, code, 1-based line of the fence, whether marked for running."""
    lines = text.splitlines()
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m and m.group(1):
            start = i
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            k = start - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            found.append({"lang": m.group(1), "code": "\n".join(lines[start + 1:j]) + "\n", "line": start + 1,
                          "test": k >= 0 and lines[k].strip() == MARK})
            i = j + 1
        else:
            i += 1
    return found


@pytest.fixture(scope="module")
def tutorial() -> list[dict]:
    return blocks(TUTORIAL.read_text(encoding="utf-8"))


def _bash(tutorial):
    return [b for b in tutorial if b["lang"] == "bash"]


def test_marked_blocks_exist(tutorial):
    marked = [b for b in tutorial if b["test"]]
    assert len(marked) >= 6 and all(b["lang"] == "bash" for b in marked)


def test_no_comment_after_line_continuation(tutorial):
    for block in _bash(tutorial):
        for n, line in enumerate(block["code"].splitlines(), block["line"] + 1):
            assert not re.search(r"\\[ \t]+#", line), f"line {n}: comment after a backslash breaks the continuation"
            assert not re.search(r"\\[ \t]+$", line), f"line {n}: whitespace after a continuation backslash"


def test_bash_blocks_are_valid_syntax(tutorial):
    for block in _bash(tutorial):
        run = subprocess.run(["bash", "-n"], input=block["code"], text=True, capture_output=True)
        assert run.returncode == 0, f"block at line {block['line']}: {run.stderr}"


def test_one_cell_line(tutorial):
    for block in tutorial:
        assert not re.search(r"\b(imr-?90|gm12878|hesc|mesc)\b", block["code"], re.I), f"block at line {block['line']}"
        if block["lang"] in ("yaml", "bash"):
            for name in re.findall(r"^\s*name:\s*(\S+)", block["code"], re.M):
                assert name == "K562", f"block at line {block['line']}: cell name {name}"


def _commands(code: str) -> list[list[str]]:
    """Each `graphreg-zoo ...` invocation in a bash block, as argv after the program name."""
    joined = re.sub(r"\\\n", " ", code)
    found = []
    for line in joined.splitlines():
        for part in re.split(r"\|\||&&|;|\|", line):
            part = part.strip()
            if part.startswith("graphreg-zoo "):
                found.append(shlex.split(part)[1:])
    return found


def test_every_cli_command_parses(tutorial):
    commands = [c for b in _bash(tutorial) for c in _commands(b["code"])]
    assert {c[0] for c in commands} >= {"prepare", "call-contacts", "predict", "evaluate", "attribute",
                                        "validate-enhancers", "fetch"}
    for argv in commands:
        try:
            parse_cli(argv)
        except Exception as exc:  # noqa: BLE001 - report which command
            pytest.fail(f"`graphreg-zoo {shlex.join(argv)}` does not parse: {exc}")


def test_cell_spec_yaml_is_valid(tutorial):
    from graphreg_zoo.prep.spec import CellSpec

    specs = [b for b in tutorial if b["lang"] == "yaml" and "tracks:" in b["code"]]
    assert specs
    for block in specs:
        spec = CellSpec.from_dict(yaml.safe_load(block["code"]))
        assert spec.name == "K562" and spec.genome == "hg19"
        assert spec.chromosomes == [f"chr{i}" for i in range(1, 23)], "list the autosomes explicitly"
        assert spec.cage is not None and all(t.stat == "max" for t in spec.tracks.values())
        assert spec.cage.stat == "max", "a 5 kb bamCoverage CAGE bigWig is read with max (sum gives 5000x)"


UNTRAINED = textwrap.dedent("""\
    from graphreg_zoo.models.epi import EpiGraphReg
    from graphreg_zoo.zoo.presets import save_preset
    save_preset(EpiGraphReg(seed=0), "{path}", {{"name": "untrained", "kind": "epi_graphreg"}})
""")


@pytest.mark.slow
def test_offline_blocks_run(tutorial, tmp_path):
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    from graphreg_zoo.zoo.load import PACKAGED

    bindir = tmp_path / "bin"
    bindir.mkdir()
    for shim, target in (("graphreg-zoo", f'"{sys.executable}" -m graphreg_zoo.cli'), ("python3", f'"{sys.executable}"')):
        (bindir / shim).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (bindir / shim).chmod(0o755)
    script = ["set -euo pipefail"]
    model = None
    if not Path(PACKAGED["demo"]).is_dir():
        model = tmp_path / "untrained_model"
        script.append(f"python3 -c {shlex.quote(UNTRAINED.format(path=model))}")
    for block in (b for b in tutorial if b["test"]):
        code = block["code"] if model is None else block["code"].replace("--model demo", f"--model {model}")
        script += [f"echo '=== tutorial block at line {block['line']}' >&2", code]
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "REALDATA": str(REALDATA), "GRAPHREG_ZOO_HOME": str(tmp_path / "home"),
           "GRAPHREG_ZOO_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GRAPHREG_ZOO_MIRROR", None)
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, text=True, capture_output=True,
                         timeout=600)
    assert run.returncode == 0, f"exit {run.returncode}\n--- stdout\n{run.stdout[-4000:]}\n--- stderr\n{run.stderr[-4000:]}"
    out = run.stdout
    assert "chr22: 200 pairs at q <= 0.1 -> K562_HiC_calls_chr22.tsv" in out
    assert "200 edges on chr22; 389 TSS nodes" in out
    assert "16 edges, 21 TSS nodes" in out
    assert re.search(r"869\s+4345000\s+4348391\s+1\s+GLIS3", out), "GLIS3's TSS must be its minus-strand end"
    assert "21 TSS bins predicted on 1 chromosome(s)." in out
    assert "wrote attributions/JAK2.tsv (60000 rows)" in out
    assert re.search(r"all pairs\s+99\s+7\s+0\.070707\s+distance\s+99\s+0\.644886", out)  # UFD1L has no TSS
    rehearsal = work / "rehearsal"
    for name in ("K562_chr9.h5", "K562_chr22.h5", "predictions_chr9/evaluation/report.md", "report_chr9/report.md",
                 "attributions/JAK2.bw", "crispr_chr22/report.md"):
        assert (rehearsal / name).exists(), name
    assert not (rehearsal / "K562_chr9_chrX.h5").exists()
