"""The package's structure, as docs/architecture.md describes it (issue 9): no import cycle, no function
over 80 lines, one seam to the solvers, and no module leaning on the package's lazy __init__.

Read from the source with `ast`, so a test fails on the line that breaks a rule, before anything runs.
The checker's own independence (it imports nothing of the model, solvers or engine) is tested in
test_check.py; the import-time cost of the CLI in test_seams.py."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "prioritiser"
MAX_LINES = 80
SOLVER_LIBRARIES = {"highspy", "pulp"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)


def _imports(tree: ast.AST, at_import_time: bool):
    """Import statements; with `at_import_time`, only those run when the module is imported (not in
    function bodies, not under `if TYPE_CHECKING`)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if at_import_time and (isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                                   or _is_type_checking(child)):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child
            stack.append(child)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement names (a `from x import y` names x.y when y is a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module.split(".")
    if node.level:
        package = base if MODULES[module].name == "__init__.py" else base[:-1]
        base = package[: len(package) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = {t for node in _imports(tree, at_import_time=True) for t in _targets(module, node)
                         if t in MODULES and t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle():
    graph = _graph()
    assert "prioritiser.engine" in graph and "prioritiser.solvers.highs" in graph  # the scan sees the package
    assert _cycles(graph) == []


def test_no_function_is_over_80_lines():
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{module}.{node.name} ({path.name}:{node.lineno}, {lines} lines)")
    assert long == []


def test_only_the_solvers_package_imports_a_solver_library():
    """Every import, lazy ones too: the solvers are reached only through prioritiser.solvers."""
    outside = []
    for module, path in MODULES.items():
        if module == "prioritiser.solvers" or module.startswith("prioritiser.solvers."):
            continue
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")), at_import_time=False):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(n.split(".")[0] in SOLVER_LIBRARIES for n in names if not getattr(node, "level", 0)):
                outside.append(f"{module} ({path.name}:{node.lineno})")
    assert outside == []
    highs = ast.parse(MODULES["prioritiser.solvers.highs"].read_text(encoding="utf-8"))
    assert any(isinstance(n, ast.Import) and n.names[0].name == "highspy" for n in _imports(highs, False))


def test_no_module_imports_from_the_package_init():
    """`from prioritiser import run` inside the package would load the lazy public API (and, through it,
    everything): modules import the submodule they need instead."""
    leaning = []
    for module, path in MODULES.items():
        if module == "prioritiser":
            continue
        for node in _imports(ast.parse(path.read_text(encoding="utf-8")), at_import_time=False):
            for target in _targets(module, node):
                if target == "prioritiser":
                    leaning.append(f"{module} ({path.name}:{node.lineno}): {ast.unparse(node)}")
    assert leaning == []


@pytest.mark.parametrize("rule, needle", [("engine", "prioritiser.engine"), ("solvers", "prioritiser.solvers"),
                                          ("model", "prioritiser.model")])
def test_the_types_stage_imports_no_machinery(rule, needle):
    """result.py is the types stage: Status, SolveOutcome, Result. Importing it must not build or
    solve anything (lazy imports inside methods are allowed)."""
    assert needle not in _graph()["prioritiser.result"]
