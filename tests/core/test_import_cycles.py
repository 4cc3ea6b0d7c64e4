"""The package's import graph has no cycle (module-level and function-level imports alike).

Every ``import`` / ``from ... import`` statement under ``src/neurorep`` is parsed with :mod:`ast`,
wherever it stands (module body, function, ``if TYPE_CHECKING`` blocks are skipped: they never run).
An edge goes to the most specific module named: ``from a.b import c`` points at ``a.b.c`` when that
is a module of the package, else at ``a.b``. Importing a submodule is not counted as importing its
parent package's ``__init__`` (a package that re-exports its submodules would otherwise always
form a cycle with them).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "src" / "neurorep"

#: Known cycles allowed to remain, each with the reason (none today); an entry whose cycle is gone fails.
WAITING: dict[frozenset[str], str] = {}


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_block(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph(root: Path = PACKAGE_ROOT) -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:  # `import a.b.c` where only a.b is ours, etc.
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, comp) for comp in components]


def _one_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """A shortest closed path through the first module of ``comp`` (breadth-first), to name in a message."""
    start, members = comp[0], set(comp)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return comp


def test_the_package_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    new = [c for c in cycles if frozenset(c) not in WAITING]
    assert not new, "import cycle(s): " + "; ".join(" -> ".join(c) for c in new)
    gone = set(WAITING) - {frozenset(c) for c in cycles}
    assert not gone, f"these cycles are gone; remove them from WAITING: {[sorted(g) for g in gone]}"


def test_the_walker_finds_a_cycle_and_names_it(tmp_path: Path) -> None:
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "grid.py").write_text("from toy.sub import report\n")
    (pkg / "sub" / "report.py").write_text("def f():\n    from .grid import g\n")
    (pkg / "plain.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import toy.sub.grid\n")
    graph = import_graph(pkg)
    assert graph["toy.sub.grid"] == {"toy.sub.report"}
    assert graph["toy.sub.report"] == {"toy.sub.grid"}
    assert graph["toy.plain"] == set()
    assert find_cycles(graph) == [["toy.sub.grid", "toy.sub.report", "toy.sub.grid"]]
