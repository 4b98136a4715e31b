"""The package's import graph, read from the source (ast, no import executed): no cycles, and
the architecture's rules — ``report`` never imports ``experiments``, ``experiments`` never
imports ``report``, and ``results`` imports nothing of gradprobe and nothing heavier than NumPy.

Every ``import`` statement counts, also those inside functions (a lazy import is still a
dependency).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import gradprobe

SRC = Path(gradprobe.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = ["gradprobe", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in SRC.rglob("*.py")}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _nodes(tree: ast.AST, top_level: bool) -> Iterator[ast.AST]:
    """Every node, or (``top_level``) those run when the module is imported: not inside a
    function, not under ``if TYPE_CHECKING:``."""
    if not top_level:
        yield from ast.walk(tree)
        return
    todo = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def imports_of(name: str, *, top_level: bool = False) -> Iterator[str]:
    """Every module (inside or outside gradprobe) that module ``name`` imports; with
    ``top_level``, only the imports run when it is imported."""
    tree = ast.parse(MODULES[name].read_text("utf-8"))
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in _nodes(tree, top_level):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield sub if sub in MODULES else target


def graph(*, top_level: bool = False) -> dict[str, set[str]]:
    """gradprobe module → the gradprobe modules it imports explicitly (``top_level``: when
    it is imported, as for `imports_of`)."""
    out: dict[str, set[str]] = {}
    for name in MODULES:
        targets = set()
        for t in imports_of(name, top_level=top_level):
            while t and t not in MODULES and t.startswith("gradprobe"):
                t = t.rpartition(".")[0]  # `import gradprobe.x.Y` names an attribute of x
            if t in MODULES and t != name:
                targets.add(t)
        out[name] = targets
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_the_package() -> None:
    g = graph()
    assert "gradprobe.report.html" in g and "gradprobe.experiments.base" in g
    assert "gradprobe.results" in g["gradprobe.report.html"]  # relative imports resolved
    assert "gradprobe.report.figures" in g["gradprobe.report.html"]


def test_no_import_cycles() -> None:
    """No cycle among the imports run at import time. (A lazy import inside a function, such
    as `Watch.what_if` or `get_experiment`'s `load_all`, is a dependency for the layering rules
    below, but it cannot make an import fail half-way, so it does not count as a cycle.)"""
    assert cycles(graph(top_level=True)) == []


def test_the_report_and_results_have_no_cycles_even_lazily() -> None:
    mine = [c for c in cycles(graph())
            if any(m.startswith(("gradprobe.report", "gradprobe.results",
                                 "gradprobe.progress", "gradprobe.cli")) for m in c)]  # fmt: skip
    assert mine == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_report_never_imports_experiments_and_back() -> None:
    g = graph()
    bad = []
    for name, targets in g.items():
        for t in targets:
            if name.startswith("gradprobe.report") and t.startswith("gradprobe.experiments"):
                bad.append(f"{name} imports {t}")
            if name.startswith("gradprobe.experiments") and t.startswith("gradprobe.report"):
                bad.append(f"{name} imports {t}")
    assert bad == []


def test_results_sits_at_the_bottom() -> None:
    outside = {t.split(".")[0] for t in imports_of("gradprobe.results")}
    import sys

    assert outside - set(sys.stdlib_module_names) - {"numpy", "__future__"} == set()
    assert graph()["gradprobe.results"] == set()
