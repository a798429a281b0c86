"""Maintainer script: write one zoo card per published GraphReg model family, and COVERAGE.md.

Run from the repository root after changing the catalogue below or the pinned hashes:

    python zoo_cards/_generate.py            # rewrite the cards
    python zoo_cards/_generate.py --check    # exit 1 if a card on disk is out of date

The catalogue follows ../shared/spec/UPSTREAM.md §7 (840 checkpoint files in `models/`).
Pinned hashes come from `zoo_cards/registry.json`, the file `graphreg-zoo cache pin` writes.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from graphreg_zoo._atomic import atomic_path
from graphreg_zoo.contract import LABELS, published_contract
from graphreg_zoo.zoo.folds import N_FOLDS, ORGANISM_OF_GENOME, fold_chromosomes

HERE = Path(__file__).resolve().parent
UPSTREAM_RAW = "https://github.com/karbalayghareh/GraphReg/raw/master/"
GENOME = {"K562": "hg19", "GM12878": "hg19", "hESC": "hg38", "mESC": "mm10"}
TOTAL_FILES = {"K562": 360, "GM12878": 250, "hESC": 130, "mESC": 100}
UNIDENTIFIED = {"K562": 20, "GM12878": 30, "hESC": 0, "mESC": 0}
FDR_VALUE = {"1": 0.1, "01": 0.01, "001": 0.001}
# the paper's default FDR per cell (UPSTREAM §7, Fig. 2 caption); Seq-GraphReg uses 0.1 everywhere
PAPER_EPI_FDR = {"GM12878": "001", "K562": "01", "hESC": "1", "mESC": "1"}
FLAVOUR_PATH = {None: "", "fft": "_fft", "nodil": "_nodilation", "nodil_fft": "_nodilation_fft"}

# name token -> (upstream file prefix, model class, model kind, graph model?)
KINDS = {
    "epi": ("Epi-GraphReg", "EpiGraphReg", "epi_graphreg", True),
    "epicnn": ("Epi-CNN", "EpiCNN", "epi_cnn", False),
    "seqbase": ("Seq-CNN_base", "SeqCNNBase", "seq_cnn_base", False),
    "seq": ("Seq-GraphReg", "SeqGraphReg", "seq_graphreg", True),
    "seqcnn": ("Seq-CNN", "SeqCNN", "seq_cnn", False),
    "seqe2e": ("Seq-GraphReg_e2e", "SeqGraphRegE2E", "seq_graphreg_e2e", True),
    "seqcnne2e": ("Seq-CNN_e2e", "SeqCNNE2E", "seq_cnn_e2e", False),
}
ASSAY_TOKEN = {"hic": "HiC", "hichip": "HiChIP", "microc": "MicroC", "hicar": "HiCAR"}

CITATION = (
    "Karbalayghareh A, Sahin M, Leslie CS. Chromatin interaction-aware gene regulatory modeling "
    "with graph attention networks. Genome Research 32(5):930-944 (2022). doi:10.1101/gr.275870.121"
)
LICENSE = "MIT (licence of the upstream repository karbalayghareh/GraphReg; unverified for the checkpoint files)"


@dataclass(frozen=True)
class Family:
    """One published family: ten fold checkpoints that differ only in their held-out chromosomes."""

    kind: str
    cell: str
    assay: str | None = None
    fdr: str | None = None
    flavour: str | None = None
    generalizable: bool = False
    old: bool = False

    @property
    def name(self) -> str:
        parts = [self.kind + ("_gen" if self.generalizable else ""), self.cell]
        parts += [self.assay] if self.assay else []
        parts += [f"fdr{self.fdr}"] if self.fdr else []
        parts += [self.flavour] if self.flavour else []
        parts += ["old"] if self.old else []
        return "_".join(parts)

    @property
    def organism(self) -> str:
        return ORGANISM_OF_GENOME[GENOME[self.cell]]

    def path(self, fold: int) -> str:
        """The checkpoint's path in the upstream repository (UPSTREAM §3 'Model paths', §7 'Naming')."""
        chroms = fold_chromosomes(fold, self.organism)
        stem = KINDS[self.kind][0] + FLAVOUR_PATH[self.flavour]
        stem += ("_generalizable" if self.generalizable else "") + f"_{self.cell}"
        valid = "valid_chr_{},{}".format(*chroms["valid"])
        if self.old:  # initial commit f13afd6: test fold implied; hESC HiCAR runs carry a suffix
            suffix = f"_{ASSAY_TOKEN[self.assay]}" if self.assay else ""
            return f"models/{self.cell}/{stem}_{valid}{suffix}.h5"
        if self.fdr:
            stem += f"_{ASSAY_TOKEN[self.assay]}_FDR_{self.fdr}"
        test = "test_chr_{},{}".format(*chroms["test"])
        return f"models/{self.cell}/{stem}_{valid}_{test}.h5"


def _epi_graph_families(cell: str, assays: tuple[str, ...], generalizable: bool = False) -> list[Family]:
    return [Family("epi", cell, a, f, generalizable=generalizable) for a in assays for f in FDR_VALUE]


def _seq_flavours(kind: str, cell: str, assay: str | None = None, fdr: str | None = None) -> list[Family]:
    return [Family(kind, cell, assay, fdr, flavour) for flavour in FLAVOUR_PATH]


def _e2e(cell: str, assay: str) -> list[Family]:
    return [Family(k, cell, assay, "1") for k in ("seqe2e", "seqcnne2e")] + [
        Family(k, cell, old=True) for k in ("seqe2e", "seqcnne2e")
    ]


def _epi_cnn(cell: str, generalizable: bool = False) -> list[Family]:
    return [Family("epicnn", cell, generalizable=generalizable, old=old) for old in (False, True)]


def catalogue() -> list[Family]:
    """Every identified family of UPSTREAM §7, ten files each."""
    hg19_hic = ("hic", "hichip")
    k562 = (
        _epi_cnn("K562") + _epi_cnn("K562", generalizable=True)
        + _epi_graph_families("K562", hg19_hic) + _epi_graph_families("K562", hg19_hic, generalizable=True)
        + [Family("epi", "K562", old=True), Family("epi", "K562", generalizable=True, old=True)]
        + _seq_flavours("seqbase", "K562")
        + _seq_flavours("seq", "K562", "hichip", "1") + _seq_flavours("seqcnn", "K562", "hichip", "1")
        + _e2e("K562", "hichip")
    )
    gm12878 = (
        _epi_cnn("GM12878") + _epi_cnn("GM12878", generalizable=True)
        + _epi_graph_families("GM12878", hg19_hic) + _epi_graph_families("GM12878", hg19_hic, generalizable=True)
        + [Family("epi", "GM12878", old=True), Family("epi", "GM12878", generalizable=True, old=True)]
        + _e2e("GM12878", "hichip")
    )
    hesc = (
        _epi_cnn("hESC") + [Family("epicnn", "hESC", "hicar", old=True)]
        + _epi_graph_families("hESC", ("microc", "hicar"))
        + [Family("epi", "hESC", old=True), Family("epi", "hESC", "hicar", old=True)]
        + [Family(k, "hESC", "microc", "1") for k in ("seqe2e", "seqcnne2e")]
    )
    mesc = (
        _epi_cnn("mESC") + _epi_graph_families("mESC", ("hichip",))
        + [Family("epi", "mESC", old=True)] + _e2e("mESC", "hichip")
    )
    return k562 + gm12878 + hesc + mesc


def aliases(family: Family) -> list[str]:
    """The family default: the name without its FDR, for the paper's FDR (Seq models: 0.1)."""
    if family.fdr is None or family.old:
        return []
    default = PAPER_EPI_FDR[family.cell] if family.kind == "epi" else "1"
    if family.fdr != default:
        return []
    return [family.name.replace(f"_fdr{family.fdr}", "")]


def model_config(family: Family) -> dict:
    """Class name and the architecture settings a converter or a recipe needs."""
    config: dict = {}
    if KINDS[family.kind][3]:
        config["n_gat_layers"] = 2 if family.kind == "epi" else 3
    if family.kind in ("seqbase", "seq", "seqcnn"):
        config["dilated"] = "nodil" not in (family.flavour or "")
        config["fft_prior"] = "fft" in (family.flavour or "")
    if family.kind in ("seqe2e", "seqcnne2e"):
        config["e2e_architecture"] = "older" if family.old else "newer"
        config["fft_prior"] = False
    return {"class": KINDS[family.kind][1], "config": config}


def input_spec(family: Family) -> dict:
    """Named model inputs (ARCHITECTURE 'Model I/O is by name')."""
    assay = ASSAY_TOKEN[family.assay] if family.assay else "the contact"
    calls = (f"{assay} calls at FDR {FDR_VALUE[family.fdr]}" if family.fdr
             else f"{assay} calls used in training (FDR not recorded in the file name)")
    graph = {"adjacency": {"shape": [1200, 1200],
                           "meaning": f"binary symmetric 5 kb contact graph, zero diagonal, from {calls}"}}
    epi = {"epigenome": {"shape": [60000, 3], "tracks": ["H3K4me3", "H3K27ac", "DNase"], "bin_bp": 100}}
    seq = {"sequence": {"shape": [6000000, 4], "alphabet": "ACGT one-hot, N = all zeros", "bin_bp": 1}}
    specs = {
        "epi": {**epi, **graph},
        "epicnn": epi,
        "seqbase": {"sequence": {"shape": [100000, 4], "alphabet": "ACGT one-hot, N = all zeros", "bin_bp": 1}},
        "seq": {"bottleneck": {"shape": [60000, 64], "meaning": "Seq-CNN_base output h of the same fold"}, **graph},
        "seqcnn": {"bottleneck": {"shape": [60000, 64], "meaning": "Seq-CNN_base output h of the same fold"}},
        "seqe2e": {**seq, **graph},
        "seqcnne2e": seq,
    }
    return {"window_bp": 6000000 if family.kind != "seqbase" else 100000, "genome": GENOME[family.cell],
            "inputs": specs[family.kind]}


def front_matter(family: Family, pins: dict) -> dict:
    """The machine-readable part of a card."""
    members = []
    for fold in range(1, N_FOLDS + 1):
        chroms = fold_chromosomes(fold, family.organism)
        path = family.path(fold)
        pin = pins.get(path, {})
        members.append({"fold": fold, "valid": list(chroms["valid"]), "test": list(chroms["test"]), "path": path,
                        "source": UPSTREAM_RAW + path, "sha256": pin.get("sha256"), "size": pin.get("size")})
    return {
        "name": family.name,
        "aliases": aliases(family),
        "upstream_family": KINDS[family.kind][0] + FLAVOUR_PATH[family.flavour]
        + ("_generalizable" if family.generalizable else ""),
        "kind": KINDS[family.kind][2],
        "cell": family.cell,
        "organism": family.organism,
        "genome": GENOME[family.cell],
        "assay": ASSAY_TOKEN[family.assay] if family.assay else None,
        "fdr": FDR_VALUE[family.fdr] if family.fdr else None,
        "generalizable": family.generalizable,
        "naming": "old" if family.old else "new",
        "model": model_config(family),
        "input_spec": input_spec(family),
        "input_contract": published_contract(KINDS[family.kind][2], GENOME[family.cell], family.cell,
                                             family.generalizable),
        "folds": {"scheme": "fold N: valid {N, N+10}, test {N+1, N+11}; mouse chromosome numbers above 19 wrap",
                  "members": members},
        "license": LICENSE,
        "citation": CITATION,
        "recipe": f"training/recipes/{family.name}.yaml",
        "metrics": None,
    }


PREDICTS = {
    "epi": "CAGE (Poisson mean per 5 kb node) from three epigenomic tracks and a 3D contact graph",
    "epicnn": "CAGE (Poisson mean per 5 kb node) from three epigenomic tracks, without a graph (dilated CNN baseline)",
    "seqbase": "H3K4me3, H3K27ac and DNase at 100 bp from DNA sequence, and the 64-channel bottleneck the "
               "separately trained Seq models read",
    "seq": "CAGE per 5 kb node from the frozen Seq-CNN_base bottleneck and a 3D contact graph",
    "seqcnn": "CAGE per 5 kb node from the frozen Seq-CNN_base bottleneck, without a graph",
    "seqe2e": "CAGE per 5 kb node plus three epigenomic tracks at 100 bp, from DNA sequence and a 3D contact "
              "graph, trained end to end",
    "seqcnne2e": "CAGE per 5 kb node plus three epigenomic tracks at 100 bp from DNA sequence, without a graph",
}


def caveats(family: Family, members: list[dict]) -> list[str]:
    """What a user must know before trusting this family's outputs."""
    notes = [] if all(m["sha256"] for m in members) else [
        "Some sha256 are not pinned yet: the first download records them and later loads enforce them "
        "(`graphreg-zoo cache pin` writes the recorded hashes out for this card)."]
    notes += ["No metric has been re-measured here; see the paper (PMC9104700) for reported performance.",
             "Only the held-out test (then validation) chromosomes of a fold are unseen by that fold's model; "
             "loading the family routes each chromosome accordingly and averages folds elsewhere."]
    if family.organism == "human":
        notes.append("Human chr22 is held out by no fold: every member trained on it.")
    if family.old:
        notes.append("Older naming (initial commit f13afd6): the file names only the validation chromosomes; the "
                     "test chromosomes are those the fold scheme implies. Assay, FDR and layer count are not in the "
                     "name; the converter reads the architecture from the file.")
    if family.generalizable:
        notes.append("Trained for cross-cell-type use on depth-normalised (RPGC) tracks: feed RPGC bigWigs.")
    if family.kind in ("seqe2e", "seqcnne2e"):
        notes.append("Two e2e architectures were committed; the converter detects which one a file holds "
                     "(`conv1d_19` marks the older).")
    if family.kind in ("seq", "seqcnn"):
        notes.append("Needs the Seq-CNN_base model of the same fold and flavour to make its bottleneck input.")
    return notes


def contract_row(name: str, field: dict) -> str:
    """One row of a card's input-contract table."""
    shown = "unknown" if field["value"] is None else f"`{field['value']}`"
    return f"| {LABELS[name]} | {shown} | {field['confidence']} | {field['source']} |"


def prose(family: Family, meta: dict) -> str:
    """The human-readable part of a card."""
    inputs = "\n".join(f"- `{k}`: shape {v['shape']}" + (f", tracks {v['tracks']}" if "tracks" in v else "")
                       for k, v in meta["input_spec"]["inputs"].items())
    contract = "\n".join(contract_row(k, f) for k, f in meta["input_contract"].items())
    notes = "\n".join(f"- {c}" for c in caveats(family, meta["folds"]["members"]))
    return f"""
# {family.name}

Upstream family `{meta['upstream_family']}` for {family.cell} ({meta['genome']}), ten fold checkpoints
({'older' if family.old else 'newer'} naming). Model class `{meta['model']['class']}`.

## What it predicts
{PREDICTS[family.kind]}. One window is 6 Mb (1200 nodes of 5 kb); only the middle 2 Mb (nodes 400-799) were
scored in training.

## Inputs
{inputs}

Make them with `graphreg-zoo prepare SPEC --for {family.name}` from your bigWigs, contact calls, gene
annotation and FASTA of {meta['genome']} (see docs/zoo.md): `--for` makes the inputs as the input contract
below says, and `predict` warns (or with `--strict` refuses) a cell made otherwise.

| input contract | value | confidence | source |
|---|---|---|---|
{contract}

## Use
```python
import graphreg_zoo
family = graphreg_zoo.load("{family.name}")        # 10-fold ensemble, routed by chromosome
member = graphreg_zoo.load("{family.name}@fold1")  # one fold
```

## Caveats
{notes}

## Citation
{CITATION}
"""


def render_card(family: Family, pins: dict) -> str:
    """Front matter + prose of one card."""
    meta = front_matter(family, pins)
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, width=200, allow_unicode=True, default_flow_style=None) + "---\n" + prose(family, meta)


def render_coverage(families: list[Family]) -> str:
    """COVERAGE.md: per cell, the files each family accounts for and what is left unidentified."""
    lines = ["# Coverage of the 840 published checkpoint files", "",
             "Generated by `zoo_cards/_generate.py` from UPSTREAM §7. 'unidentified' files exist in the upstream",
             "`models/` folder but their family could not be established from the file index; no card covers them.",
             "", "| cell | families | files in cards | unidentified | total |", "|---|---|---|---|---|"]
    for cell, total in TOTAL_FILES.items():
        n = sum(f.cell == cell for f in families)
        lines.append(f"| {cell} | {n} | {n * N_FOLDS} | {UNIDENTIFIED[cell]} | {n * N_FOLDS + UNIDENTIFIED[cell]} |")
    lines += ["", "## Families", ""]
    lines += [f"- `{f.name}` ({f.cell}): {N_FOLDS} files" for f in families]
    return "\n".join(lines) + "\n"


def render_all(pins: dict | None = None) -> dict[str, str]:
    """File name -> content for every card and COVERAGE.md."""
    if pins is None:
        registry = HERE / "registry.json"
        pins = json.loads(registry.read_text())["files"] if registry.exists() else {}
    families = catalogue()
    out = {f"{f.name}.md": render_card(f, pins) for f in families}
    out["COVERAGE.md"] = render_coverage(families)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a card on disk is out of date")
    args = parser.parse_args(argv)
    stale = []
    for fname, text in render_all().items():
        target = HERE / fname
        if target.exists() and target.read_text() == text:
            continue
        stale.append(fname)
        if not args.check:
            with atomic_path(target) as tmp:
                tmp.write_text(text)
    print(f"{len(stale)} file(s) {'out of date' if args.check else 'written'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
