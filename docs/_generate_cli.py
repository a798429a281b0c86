"""Write docs/cli.md from the typer app itself, so the reference cannot drift from the code.

    python docs/_generate_cli.py           # rewrite docs/cli.md
    python docs/_generate_cli.py --check   # exit 1 if docs/cli.md is stale (tests/test_cli_docs.py does the same)

Synopses, options, types, defaults and help come from `graphreg_zoo.cli.app` by introspection.
What introspection cannot know is kept here: the grouping, each command's extra exit codes and
one example per command (every example is checked to parse by tests/test_cli_docs.py).
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "cli.md"

GROUPS = {
    "Model zoo": ["models", "info", "fetch", "convert", "cache ls", "cache verify", "cache pin", "cache export",
                  "cache import", "cache clear"],
    "Reference cells": ["cells list", "cells build", "cells export", "cells import"],
    "Inputs": ["prepare", "call-contacts", "simulate"],
    "Prediction and training": ["predict", "evaluate", "train", "demo"],
    "Reproduction (docs/reproduce.md)": ["reproduce", "reproduce-report", "reproduce-manifest", "reference-cell"],
    "Interpretation": ["attribute", "knockout", "ism", "variant-effects", "edge-knockout", "validate-enhancers"],
}

#: exit codes beyond 0 (ok), 1 (unexpected) and 2 (usage), which every command can return
EXIT_CODES = {
    "models": [4], "info": [4], "fetch": [3, 4, 5], "convert": [3, 4, 5],
    "cache ls": [], "cache verify": [5], "cache pin": [4], "cache export": [4], "cache import": [4, 5],
    "cache clear": [],
    "cells list": [4], "cells build": [3, 4, 5], "cells export": [3, 4], "cells import": [3, 4, 5],
    "prepare": [3, 4], "call-contacts": [4], "simulate": [4],
    "predict": [3, 4, 5], "evaluate": [4], "train": [3, 4, 5, 6], "demo": [4],
    "attribute": [3, 4, 5], "knockout": [3, 4, 5], "ism": [3, 4, 5], "variant-effects": [3, 4, 5],
    "edge-knockout": [3, 4, 5], "validate-enhancers": [3, 4, 5],
    "reproduce": [3, 4, 5, 6], "reproduce-report": [4], "reproduce-manifest": [4], "reference-cell": [3, 4, 5],
}

EXIT_MEANING = {
    0: "success",
    1: "unexpected error (a bug: rerun with `--debug` and report the traceback)",
    2: "usage error: unknown option, missing argument, bad choice",
    3: "not available: offline (`GRAPHREG_ZOO_OFFLINE=1`), download failed, or a file missing from the mirror",
    4: "invalid input: unknown model name, malformed or inconsistent file, wrong build, empty graph, ...",
    5: "integrity failure: a download or cached file does not match its sha256",
    6: "training diverged: the loss became NaN or infinite (the message says which setting to change)",
}

EXAMPLES = {
    "models": "graphreg-zoo models --cell K562 --kind epi_graphreg",
    "info": "graphreg-zoo info epi_K562_hichip",
    "fetch": "graphreg-zoo fetch epi_K562_hichip epicnn_K562",
    "convert": "graphreg-zoo convert Epi-GraphReg_K562_HiChIP_FDR_01_valid_chr_1,11_test_chr_2,12.h5 epi_K562_fold1",
    "cache ls": "graphreg-zoo cache ls",
    "cache verify": "graphreg-zoo cache verify",
    "cache pin": "graphreg-zoo cache pin zoo_cards/registry.json",
    "cache export": "graphreg-zoo cache export /shared/graphreg_mirror",
    "cache import": "graphreg-zoo cache import /shared/graphreg_mirror",
    "cache clear": "graphreg-zoo cache clear",
    "cells list": "graphreg-zoo cells list",
    "cells build": "graphreg-zoo cells build GM12878 --yes",
    "cells export": "graphreg-zoo cells export GM12878 /media/drive/cells",
    "cells import": "graphreg-zoo cells import /media/drive/cells",
    "prepare": "graphreg-zoo prepare K562_hg19.yaml -o K562_hg19.h5",
    "call-contacts": "graphreg-zoo call-contacts K562_chr22_5kb_raw.cool --format cool --chrom chr22 --fdr 0.1 "
                     "-o K562_chr22_calls.tsv",
    "simulate": "graphreg-zoo simulate -o sim --preset tiny --seed 1",
    "predict": "graphreg-zoo predict --model epi_K562_hichip --cell K562_hg19.h5 -o predictions --bigwig",
    "evaluate": "graphreg-zoo evaluate predictions/predictions.csv --baseline predictions_cnn/predictions.csv -o report",
    "train": "graphreg-zoo train epi_K562_hichip_fdr01 --data K562_hg19.h5 --fold 1 -o my_model",
    "demo": "graphreg-zoo demo -o graphreg_zoo_demo",
    "reproduce": "graphreg-zoo reproduce epi_K562_hichip_fdr01 epicnn_K562 --folds 1-10 --executor slurm -o repro",
    "reproduce-report": "graphreg-zoo reproduce-report epi_K562_hichip_fdr01 --ours 1=predict/fold1.csv "
                        "--ours 2=predict/fold2.csv --published 1=published/fold1.csv --published 2=published/fold2.csv "
                        "-o report",
    "reproduce-manifest": "graphreg-zoo reproduce-manifest train/epi_K562_hichip_fdr01/fold1 -o manifest.tsv",
    "reference-cell": "graphreg-zoo reference-cell K562 --assay HiChIP -o K562_HiChIP.h5",
    "attribute": "graphreg-zoo attribute --model epi_K562_hichip --cell K562_hg19.h5 --gene MYC "
                 "--method grad_x_input -o MYC.tsv --bigwig",
    "knockout": "graphreg-zoo knockout --model seq_K562_hichip --cell K562_hg19.h5 --tf GATA1 "
                "--motifs JASPAR2024_CORE_vertebrates_latest.meme -o GATA1_knockout.tsv",
    "ism": "graphreg-zoo ism --model seq_K562_hichip --cell K562_hg19.h5 --gene MYC --chrom chr8 "
           "--start 128748000 --end 128748400 -o MYC_ism.tsv",
    "variant-effects": "graphreg-zoo variant-effects --model seq_K562_hichip --cell K562_hg19.h5 "
                       "--vcf K562_variants.vcf.gz -o variant_effects.tsv",
    "edge-knockout": "graphreg-zoo edge-knockout --model epi_K562_hichip --cell K562_hg19.h5 --chrom chr8 "
                     "--start 130500000 --end 130600000 --gene MYC -o MYC_edges.tsv",
    "validate-enhancers": "graphreg-zoo validate-enhancers --model epi_K562_hichip --cell K562_hg19.h5 "
                          "--crispr FlowFISH_results.csv -o crispr_validation",
}

HEADER = """\
# Command line

<!-- Generated by docs/_generate_cli.py from graphreg_zoo.cli.app: edit that script or the command
     help, then run `python docs/_generate_cli.py`. tests/test_cli_docs.py fails when this file is stale. -->

`graphreg-zoo --help` lists every command; each takes `--help`. `--help` and `models` start without
importing TensorFlow or Keras; commands import what they need when they run.

All commands honour `GRAPHREG_ZOO_HOME` (cache), `GRAPHREG_ZOO_MIRROR` (a base URL or folder
mirroring every source), `GRAPHREG_ZOO_OFFLINE=1` (never touch the network), `GRAPHREG_ZOO_CARDS`
(extra zoo-card folders) and `KERAS_BACKEND` (`tensorflow` default, `jax`, `torch`); see
[zoo.md](zoo.md) and [quickstart.md](quickstart.md). Wherever a command takes `--model`, it accepts a
zoo name or alias (`epi_K562_hichip`), `NAME@foldN`, a preset directory, an upstream `.h5`
checkpoint or a pinned `hf://org/repo@<commit>`; `--cell` takes a CellData `.h5`, a cell spec
`.yaml` (prepared on the fly) or, for `predict`, a reference cell name (`K562`, ...).
The [tutorial](tutorial-from-bam.md) strings the commands together on real data.
"""


def _app():
    import typer

    from graphreg_zoo.cli import app

    return typer.main.get_command(app)


def commands() -> dict[str, tuple]:
    """Every leaf command as {"name" or "group name": (command, context)}."""
    root = _app()
    root_ctx = root.context_class(root, info_name="graphreg-zoo")
    found = {}

    def walk(group, ctx, prefix):
        for name, cmd in group.commands.items():
            sub_ctx = cmd.context_class(cmd, info_name=name, parent=ctx)
            full = f"{prefix}{name}"
            if hasattr(cmd, "commands"):
                walk(cmd, sub_ctx, f"{full} ")
            else:
                found[full] = (cmd, sub_ctx)

    walk(root, root_ctx, "")
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _records(cmd, ctx) -> list[tuple[object, str, str]]:
    """(param, declaration, help) for each visible parameter, arguments named in capitals."""
    rows = []
    for param in cmd.params:
        if getattr(param, "hidden", False):
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        decl, help_text = record
        decl = re.sub(r"<list\[(\w+)\]>", r"<\1> (repeatable)", " ".join(decl.split()))
        if param.param_type_name == "argument":
            metavar = param.metavar or param.name.upper()
            kind = decl.split(" ", 1)[1] if " " in decl else ""
            decl = f"{metavar}{'...' if param.nargs == -1 else ''} {kind}".strip().replace(" (repeatable)", "")
        rows.append((param, decl, _cell(help_text)))
    return rows


def _options(cmd, ctx) -> list[str]:
    rows = [f"| `{_cell(decl)}` | {help_text} |" for _, decl, help_text in _records(cmd, ctx)]
    rows.append("| `--help` | Show the command's help and exit. |")
    return ["| argument / option | description |", "|---|---|", *rows]


def _synopsis(name: str, cmd, ctx) -> str:
    parts, arguments = [], []
    for param, decl, _ in _records(cmd, ctx):
        if param.param_type_name == "argument":
            word = decl.split(" ")[0]
            arguments.append(word if param.required else f"[{word}]")
        elif param.required:
            long = [o for o in param.opts if o.startswith("--")][0]
            kind = re.search(r"<[^>]*>", decl)
            parts.append(f"{long} {kind.group(0)}" if kind else long)
    return " ".join(["graphreg-zoo", name, *parts, "[OPTIONS]", *arguments])


def _section(name: str, cmd, ctx) -> list[str]:
    codes = [0, 1, 2, *EXIT_CODES[name]]
    return [
        f"### `graphreg-zoo {name}`",
        "",
        inspect.cleandoc(cmd.help or ""),
        "",
        "```",
        _synopsis(name, cmd, ctx),
        "```",
        "",
        *_options(cmd, ctx),
        "",
        "Exit codes: " + ", ".join(f"{c}" for c in codes) + " (see [Exit codes](#exit-codes)).",
        "",
        "Example:",
        "",
        "```bash",
        EXAMPLES[name],
        "```",
        "",
    ]


def render() -> str:
    found = commands()
    listed = [n for names in GROUPS.values() for n in names]
    missing = sorted(set(found) - set(listed))
    unknown = sorted(set(listed) - set(found))
    if missing or unknown:
        raise SystemExit(f"docs/_generate_cli.py: commands not in GROUPS: {missing}; listed but absent: {unknown}")
    root = _app()
    root_ctx = root.context_class(root, info_name="graphreg-zoo")
    lines = [HEADER, "## Global options", "", "```", "graphreg-zoo [GLOBAL OPTIONS] COMMAND [ARGS]...", "```", ""]
    lines += _options(root, root_ctx)
    lines += ["", "## Exit codes", "", "| code | meaning |", "|---|---|"]
    lines += [f"| {code} | {meaning} |" for code, meaning in EXIT_MEANING.items()]
    lines += ["", "Errors print one `error: ...` paragraph on stderr naming the file, position and fix; "
              "`--debug` adds the traceback.", "", "## Commands", "", "| command | what it does |", "|---|---|"]
    for names in GROUPS.values():
        for name in names:
            cmd, _ = found[name]
            anchor = f"graphreg-zoo-{name.replace(' ', '-')}"
            summary = _cell(inspect.cleandoc(cmd.help or "").split("\n\n")[0])
            lines.append(f"| [`{name}`](#{anchor}) | {summary} |")
    lines.append("")
    for group, names in GROUPS.items():
        lines += [f"## {group}", ""]
        for name in names:
            lines += _section(name, *found[name])
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run `python docs/_generate_cli.py`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
