"""The plan behind the reproduction workflow: which cells, trainings, predictions and reports.

The Snakefile asks a `Plan` for every path, command-line argument and dependency, so the rules stay
declarative and all decisions (which cell a family needs, which test chromosomes a fold has on that
cell, whether published weights are at hand, which Epi-CNN family an Epi-GraphReg family is compared
with) live here, in plain Python that tests can call without Snakemake. Nothing here imports keras.

Results layout (relative to the results folder, Snakemake's working directory):

    recipes/FAMILY.yaml                    the recipe as trained (overrides applied); its hash reruns training
    cells/prepared/CELL.h5, cells/reference/CELL.h5, cells/synthetic/CELL/   the cells
    train/FAMILY/foldN/                    presets (card.json marks a finished one)
    predict/FAMILY/foldN/predictions.csv   each fold on its own test chromosomes
    published/FAMILY/foldN/predictions.csv the published fold on the same cell and chromosomes
    evaluate/FAMILY/foldN/report.md        `graphreg-zoo evaluate` of the fold (vs published when present)
    report/FAMILY/report.md, folds.png     per-fold R / NLL ours vs published, paired Wilcoxon
    manifest.tsv                           family, fold, recipe hash, data hash, version, backend
"""
from __future__ import annotations

import hashlib
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from .._atomic import atomic_path
from ..errors import InvalidInputError

SYNTHETIC = "synthetic"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
#: model classes whose presets predict CAGE (a Seq-CNN base is trained, never predicted)
_BASE_CLASS = "SeqCNNBase"


def recipe_hash(recipe: dict) -> str:
    """A short hash of a recipe's content (key order and YAML formatting do not count)."""
    text = json.dumps(recipe, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_folds(text: str) -> list[int]:
    """`1-10`, `1,3,5` or `2` as a sorted list of folds in 1..10."""
    folds: set[int] = set()
    for part in str(text).replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise InvalidInputError(f"--folds {text!r}: expected e.g. 1-10, 1,3,5 or 2")
        low, high = int(match[1]), int(match[2] or match[1])
        folds.update(range(low, high + 1))
    if not folds or min(folds) < 1 or max(folds) > 10:
        raise InvalidInputError(f"--folds {text!r}: folds are 1..10")
    return sorted(folds)


def zoo_command() -> str:
    """How a job calls `graphreg-zoo`: the script next to this interpreter, else `python -m`."""
    script = Path(sys.executable).with_name("graphreg-zoo")
    if script.is_file():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m graphreg_zoo.cli"


@dataclass(frozen=True)
class Cell:
    """Where a cell comes from and the file the jobs read."""

    key: str
    kind: str  # "file" (a prepared .h5), "spec" (a cell spec YAML), "synthetic", "reference"
    file: str  # the CellData the jobs read (relative to the results folder unless given by the user)
    source: str = ""  # the spec YAML, the reference cell name or the simulate preset
    options: tuple[str, ...] = ()  # extra arguments of the command that makes the cell
    chroms: Optional[tuple[str, ...]] = None  # its chromosomes when they are known before it is built

    @property
    def spec(self) -> str:
        """The cell spec YAML that `prepare` reads (synthetic: the one `simulate` writes)."""
        return f"cells/{SYNTHETIC}/{self.key}/cell.yaml" if self.kind == SYNTHETIC else self.source


@dataclass
class Family:
    """One family of the run: its recipe, cell and the folds it trains."""

    name: str
    recipe: dict
    cell: Cell
    base: Optional[str] = None  # the Seq-CNN base family a separately trained Seq model reads
    reported: bool = True  # False for a Seq-CNN base (trained for its heads, scored in its card)
    published: dict[int, str] = field(default_factory=dict)  # fold -> model (zoo member or preset dir)
    missing_published: str = ""  # why the published folds are not compared, if they are not

    @property
    def organism(self) -> str:
        return self.recipe.get("data", {}).get("organism") or "human"


def _safe(name: str) -> str:
    return _SAFE.sub("_", name).strip("_") or "cell"


def _spec_chroms(spec: Path) -> Optional[tuple[str, ...]]:
    import yaml

    listed = (yaml.safe_load(spec.read_text()) or {}).get("chromosomes")
    return tuple(str(c) for c in listed) if isinstance(listed, list) else None


def _h5_chroms(path: Path) -> tuple[str, ...]:
    from ..prep.cell import CellData

    return tuple(CellData(path).chroms)


def _synthetic_cell(text: str) -> Cell:
    """`synthetic`, `synthetic:PRESET` or `synthetic:PRESET:N_CHROMS` (the seeded simulated genome)."""
    from ..simulation.genome import PRESETS

    parts = text.split(":")
    preset = parts[1] if len(parts) > 1 and parts[1] else "default"
    if preset not in PRESETS or len(parts) > 3:
        raise InvalidInputError(f"--cell {text!r}: expected synthetic[:PRESET[:N_CHROMS]] with PRESET one of "
                                f"{sorted(PRESETS)}")
    n_chroms = int(parts[2]) if len(parts) == 3 else PRESETS[preset]["n_chroms"]
    key = _safe("-".join([SYNTHETIC, *parts[1:]]))
    options = ("--preset", preset, "--seed", "0") + (("--n-chroms", str(n_chroms)) if len(parts) == 3 else ())
    return Cell(key, SYNTHETIC, f"cells/prepared/{key}.h5", preset, options,
                tuple(f"chr{i + 1}" for i in range(n_chroms)))


def user_cell(text: str) -> Cell:
    """The cell of `--cell`: a prepared .h5, a cell spec YAML or the synthetic genome."""
    if text == SYNTHETIC or text.startswith(SYNTHETIC + ":"):
        return _synthetic_cell(text)
    path = Path(text).expanduser()
    if path.suffix in (".h5", ".hdf5") and path.is_file():
        path = path.resolve()
        return Cell(_safe(path.stem), "file", str(path), chroms=_h5_chroms(path))
    if path.suffix in (".yaml", ".yml") and path.is_file():
        path = path.resolve()
        key = _safe(f"{path.parent.name}-{path.stem}")
        return Cell(key, "spec", f"cells/prepared/{key}.h5", str(path), chroms=_spec_chroms(path))
    return reference_cell(text, assay=None, fasta=False)


def reference_cell(name: str, assay: Optional[str], fasta: bool) -> Cell:
    """A reference cell (zoo_cards/cells/) with the assay and FASTA a recipe needs."""
    from ..prep import assembly
    from ..reference_cells import cell_card

    card = cell_card(name)
    assay = assay or card.get("default_assay") or next(iter(card["contacts"]))
    chroms = tuple(card.get("chromosomes") or assembly.autosomes(card["genome"]))
    key = _safe(f"{card['name']}-{assay}{'-fasta' if fasta else ''}")
    options = ("--assay", assay) + (("--fasta",) if fasta else ())
    return Cell(key, "reference", f"cells/reference/{key}.h5", card["name"], options, chroms)


def recipe_cell(recipe: dict) -> Cell:
    """The reference cell a packaged recipe was trained on (its `data.reference_cell`, assay, FASTA)."""
    data = recipe.get("data", {})
    name = data.get("reference_cell")
    if not name:
        raise InvalidInputError(f"recipe {recipe.get('name')!r} names no reference_cell: pass --cell "
                                "(a prepared .h5, a cell spec .yaml or 'synthetic')")
    return reference_cell(name, data.get("assay"), bool(data.get("fasta")))


def _numbered(numbers: Iterable[int], chroms: Optional[tuple[str, ...]]) -> list[str]:
    """Chromosome names of the fold's numbers, as the cell spells them (chrN when unknown)."""
    if chroms is None:
        return [f"chr{n}" for n in numbers]
    by_number = {c.lower().removeprefix("chr"): c for c in chroms}
    return [by_number[str(n)] for n in numbers if str(n) in by_number]


def fold_roles(family: Family, fold: int) -> dict[str, list[str]]:
    """The validation and test chromosomes of `fold` that the family's cell has."""
    from ..zoo.folds import fold_chromosomes

    held = fold_chromosomes(fold, family.organism)
    return {role: _numbered(held[role], family.cell.chroms) for role in ("valid", "test")}


def _published_source(name: str, fold: int, published_dir: Optional[Path]) -> tuple[Optional[str], str]:
    """(model to predict with, '') when fold `fold` of the published family is at hand, else (None, why)."""
    if published_dir is not None:
        preset = published_dir / name / f"fold{fold}"
        if (preset / "card.json").is_file():
            return str(preset), ""
        return None, f"no preset {preset} in --published"
    from ..filecache import cached_path, preset_path
    from ..settings import current
    from ..zoo import cards

    try:
        card, _ = cards.resolve(name)
        entry = cards.member(card, fold)
    except InvalidInputError:
        return None, "not a published zoo family"
    mirror = current().mirror or ""
    in_mirror = mirror.startswith(("http://", "https://")) or (
        bool(mirror) and (Path(mirror.removeprefix("file://")) / entry["path"]).is_file())
    if cached_path(entry["path"]).is_file() or preset_path(entry["path"]).is_dir() or in_mirror:
        return f"{card['name']}@fold{fold}", ""
    return None, ("the published weights are neither in the zoo cache nor in a mirror "
                  f"(`graphreg-zoo fetch {card['name']}` on a connected machine, then `graphreg-zoo cache "
                  "export DIR` / `cache import DIR` or GRAPHREG_ZOO_MIRROR=DIR)")


def _load(family: str) -> dict:
    from ..training.recipes import load_recipe

    recipe = load_recipe(family)
    if not recipe.get("name"):
        raise InvalidInputError(f"recipe {family!r} has no name: add `name:` (the family's results folder)")
    return recipe


def _with_overrides(recipe: dict, epochs: Optional[int], seed: Optional[int]) -> dict:
    training = dict(recipe.get("training", {}))
    training.update({k: v for k, v in {"epochs": epochs, "seed": seed}.items() if v is not None})
    return {**recipe, "training": training}


@dataclass
class Plan:
    """Everything the Snakefile needs, from the workflow config (see `from_config`)."""

    families: dict[str, Family]
    folds: list[int]
    command: str
    cells: dict[str, Cell]
    published_dir: Optional[Path] = None  # presets FAMILY/foldN standing in for the published folds

    @classmethod
    def from_config(cls, config: dict) -> "Plan":
        """Config keys: families (recipe names or paths), folds, cell, published (a folder of presets
        FAMILY/foldN standing in for the published folds), epochs, seed, command."""
        if not config.get("families"):
            raise InvalidInputError("no families to reproduce: name at least one recipe, or use --all")
        folds = parse_folds(config.get("folds", "1-10"))
        shared_cell = user_cell(str(config["cell"])) if config.get("cell") else None
        published = Path(config["published"]).resolve() if config.get("published") else None
        families: dict[str, Family] = {}
        pending = [(str(f), True) for f in config["families"]]
        while pending:
            source, reported = pending.pop(0)
            recipe = _with_overrides(_load(source), config.get("epochs"), config.get("seed"))
            name = recipe["name"]
            if name in families:
                families[name].reported |= reported
                continue
            is_base = recipe.get("model", {}).get("class") == _BASE_CLASS
            base = recipe.get("data", {}).get("base_model")
            family = Family(name, recipe, shared_cell or recipe_cell(recipe), base, reported and not is_base)
            families[name] = family
            if base:
                pending.append((base, False))
        plan = cls(families, folds, config.get("command") or zoo_command(),
                   {f.cell.key: f.cell for f in families.values()}, published)
        plan._check_cells()
        plan._find_published()
        return plan

    def _check_cells(self) -> None:
        """Each fold needs validation and test chromosomes on its family's cell; one cell key, one source."""
        seen: dict[str, Cell] = {}
        for family in self.families.values():
            if seen.setdefault(family.cell.key, family.cell) != family.cell:
                raise InvalidInputError(f"two different cells are both called {family.cell.key!r}; rename one")
            for fold in self.folds:
                roles = fold_roles(family, fold)
                held = {*roles["valid"], *roles["test"]}
                trains = family.cell.chroms is None or any(c not in held for c in family.cell.chroms)
                if not roles["valid"] or not roles["test"] or not trains:
                    raise InvalidInputError(
                        f"{family.name} fold {fold}: the cell {family.cell.key} ({', '.join(family.cell.chroms or ())})"
                        " lacks the fold's training, validation or test chromosomes; choose --folds whose "
                        "chromosomes it has")

    def _find_published(self) -> None:
        for family in self.families.values():
            if not family.reported:
                continue
            reasons = set()
            for fold in self.folds:
                model, why = _published_source(family.name, fold, self.published_dir)
                if model:
                    family.published[fold] = model
                else:
                    reasons.add(why)
            family.missing_published = "; ".join(sorted(reasons))

    # ---- what the rules ask -------------------------------------------------------------------
    def write_recipes(self) -> None:
        """Write recipes/FAMILY.yaml where its content changed (an unchanged recipe keeps its mtime)."""
        import yaml

        for family in self.families.values():
            path = Path("recipes") / f"{family.name}.yaml"
            text = yaml.safe_dump(family.recipe, sort_keys=False)
            if path.is_file() and path.read_text() == text:
                continue
            with atomic_path(path) as tmp:
                tmp.write_text(text)

    def targets(self) -> list[str]:
        """The files a full run ends with: one report per reported family, every preset, the manifest."""
        reports = [f"report/{f.name}/report.md" for f in self.families.values() if f.reported]
        return reports + ["manifest.tsv"]

    def preset_cards(self) -> list[str]:
        return [self.card(name, fold) for name in self.families for fold in self.folds]

    @staticmethod
    def card(family: str, fold: int | str) -> str:
        return f"train/{family}/fold{fold}/card.json"

    @staticmethod
    def predictions(kind: str, family: str, fold: int | str) -> str:
        return f"{kind}/{family}/fold{fold}/predictions.csv"

    def cell_file(self, family: str) -> str:
        return self.families[family].cell.file

    def recipe_hash(self, family: str) -> str:
        return recipe_hash(self.families[family].recipe)

    def base_cards(self, family: str, fold: int | str) -> list[str]:
        base = self.families[family].base
        return [self.card(base, fold)] if base else []

    def base_option(self, family: str, fold: int | str) -> str:
        base = self.families[family].base
        return f"--base train/{base}/fold{fold}" if base else ""

    def test_chroms(self, family: str, fold: int | str) -> str:
        """`--chrom C` for each test chromosome of the fold: predictions are held-out rows only."""
        return " ".join(f"--chrom {shlex.quote(c)}" for c in fold_roles(self.families[family], int(fold))["test"])

    def published_model(self, family: str, fold: int | str) -> str:
        return self.families[family].published[int(fold)]

    def published_base_option(self, family: str, fold: int | str) -> str:
        base = self.families[family].base
        if not base:
            return ""
        model, why = _published_source(base, int(fold), self.published_dir)
        if model is None:
            raise InvalidInputError(f"{family} fold {fold}: its base {base} has no published fold {fold} ({why})")
        return f"--base {shlex.quote(model)}"

    def published_inputs(self, family: str, fold: int | str) -> list[str]:
        return [self.predictions("published", family, fold)] if int(fold) in self.families[family].published else []

    def baseline_option(self, family: str, fold: int | str) -> str:
        found = self.published_inputs(family, fold)
        return f"--baseline {found[0]}" if found else ""

    def compared_cnn(self, family: str) -> Optional[str]:
        """The Epi-CNN family of this run that the paper compares an Epi-GraphReg family with
        (epi_K562_hichip_fdr01 -> epicnn_K562; epi_K562_old -> epicnn_K562_old), if any."""
        if not family.startswith("epi_"):
            return None
        tokens = family.split("_")[1:]
        for k in range(len(tokens), 0, -1):
            candidate = "epicnn_" + "_".join(tokens[:k])
            if candidate in self.families and self.families[candidate].reported:
                return candidate
        return None

    def report_inputs(self, family: str) -> dict[str, list[str]]:
        """Files the family's report reads (and the fold evaluations it waits for)."""
        cnn = self.compared_cnn(family)
        return {
            "ours": [self.predictions("predict", family, f) for f in self.folds],
            "published": [p for f in self.folds for p in self.published_inputs(family, f)],
            "cnn": [self.predictions("predict", cnn, f) for f in self.folds] if cnn else [],
            "evaluations": [f"evaluate/{family}/fold{f}/report.md" for f in self.folds],
        }

    def report_options(self, family: str) -> str:
        """The `reproduce-report` options pairing each table with its fold."""
        fam = self.families[family]
        parts = [f"--ours {f}={self.predictions('predict', family, f)}" for f in self.folds]
        parts += [f"--published {f}={self.predictions('published', family, f)}" for f in sorted(fam.published)]
        cnn = self.compared_cnn(family)
        if cnn:
            parts += [f"--versus-name {cnn}"] + [f"--versus {f}={self.predictions('predict', cnn, f)}"
                                                  for f in self.folds]
        if fam.missing_published:
            parts.append(f"--note {shlex.quote('published folds not compared: ' + fam.missing_published)}")
        return " ".join(parts)


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """Write the workflow config atomically (a rerun with the same request leaves it untouched)."""
    import yaml

    text = yaml.safe_dump(config, sort_keys=True)
    if not (path.is_file() and path.read_text() == text):
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return path
