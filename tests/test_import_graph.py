"""The package's import graph: every module imports on its own, and no two modules import each other.

Imports inside functions count (they are how heavy libraries stay lazy, and a cycle through them is
still a cycle in the design); imports under `if TYPE_CHECKING:` do not.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "graphreg_zoo"


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    return {id(inner) for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)}


def _imported(module: str, is_package: bool, node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    return [name, *(f"{name}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body."""
    modules = _modules()
    graph = {}
    for module, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text())
        skipped = _type_checking_nodes(tree)
        graph[module] = {target for node in ast.walk(tree) if id(node) not in skipped
                         for target in _imported(module, is_package, node)
                         if target in modules and target != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_through_others():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


#: the one deliberate exception to "prep imports neither models nor the zoo" (docs/architecture.md)
PREP_READS_ZOO_CARDS = {("graphreg_zoo.prep.cell", "graphreg_zoo.zoo"), ("graphreg_zoo.prep.cell", "graphreg_zoo.zoo.cards")}


def test_the_lower_floor_stays_low():
    """models/ imports only leaf modules besides itself (constants, errors, settings, atomic writes: the
    compile-choice cache); prep/ imports neither models nor the zoo."""
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("graphreg_zoo.models."):
            allowed = ("graphreg_zoo.models", "graphreg_zoo.geometry", "graphreg_zoo.errors", "graphreg_zoo.settings",
                       "graphreg_zoo._atomic")
            assert all(t.startswith(allowed) for t in targets), (module, targets)
        if module.startswith("graphreg_zoo.prep."):
            upward = {t for t in targets if t.startswith(("graphreg_zoo.models", "graphreg_zoo.zoo"))}
            assert {(module, t) for t in upward} <= PREP_READS_ZOO_CARDS, (module, upward)


def test_every_module_imports_in_a_fresh_process():
    names = sorted(m for m in _modules() if not m.endswith("__main__"))
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
