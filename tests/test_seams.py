"""The solver seam and the types stage (issue 9, items 1 and 2), checked on the source itself."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import prioritiser
from prioritiser.solvers import SOLVER_NAMES

PACKAGE = Path(prioritiser.__file__).resolve().parent
SUBMODULES = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}


def imports(path: Path):
    """(module imported, names imported from it, level) for every import statement of a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], 0
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", [a.name for a in node.names], node.level


def sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_nothing_outside_solvers_imports_highspy_or_pulp():
    found = [(str(p.relative_to(PACKAGE)), m) for p in sources() if "solvers" not in p.relative_to(PACKAGE).parts
             for m, _, _ in imports(p) if m.split(".")[0] in ("highspy", "pulp")]
    assert found == []


def test_no_module_imports_from_the_package_init():
    """`from . import __version__` and the like would load the package's public API (and with it the
    pipeline) from inside the package; modules import from the module that defines a name."""
    found = []
    for p in sources():
        for module, names, level in imports(p):
            top = (level == 1 and not module and p.parent == PACKAGE) or (level == 0 and module == "prioritiser")
            found += [(str(p.relative_to(PACKAGE)), n) for n in names if top and n not in SUBMODULES]
    assert found == []


def test_importing_the_cli_or_the_types_loads_no_solver():
    code = ("import sys, prioritiser.cli, prioritiser.result, prioritiser.solvers; "
            "print(sorted(m for m in ('highspy', 'pulp', 'prioritiser.engine', 'prioritiser.model', "
            "'prioritiser.solvers.highs', 'prioritiser.solvers.cbc') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_public_api_is_there_on_first_use():
    assert prioritiser.validate.__module__ == "prioritiser.validate"  # the function, not the module
    assert prioritiser.run.__module__ == "prioritiser.engine"
    assert prioritiser.Status.OPTIMAL.value == "optimal" and prioritiser.SOLVER_NAMES == SOLVER_NAMES
    assert set(prioritiser.__all__) <= set(dir(prioritiser))


def test_one_list_of_solver_names():
    from prioritiser import cli, scenario

    assert scenario.SOLVERS is SOLVER_NAMES
    for args in (["run", "x.yaml", "--solver", "gurobi"], ["batch", "x.yaml", "--solver", "gurobi"]):
        try:
            cli.main(args)
        except SystemExit as exc:  # argparse rejects a name not on the list
            assert exc.code == 2
        else:
            raise AssertionError("an unknown solver was accepted")


def test_the_version_has_one_home():
    text = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'version = {attr = "prioritiser.version.__version__"}' in text
    assert prioritiser.__version__ == __import__("prioritiser.version").version.__version__


def test_highs_stops_when_told_and_the_next_solve_is_not_stopped():
    """Our stop (time limit + grace, or a stalled plan) interrupts HiGHS, and only that solve: HiGHS
    keeps an interrupt flag in its object, which would otherwise end every later solve at once."""
    from prioritiser.heuristic import rank_and_place
    from prioritiser.model import build_model
    from prioritiser.result import Status
    from prioritiser.solvers import open_session

    synth = PACKAGE.parents[1] / "shared" / "benchmarks" / "synthetic" / "synth-200" / "scenario.yaml"
    model = build_model(prioritiser.load(synth))
    session = open_session("highs", model, threads=1)
    stalled = session.solve(30.0, 0.0, start=rank_and_place(model), stall=(1.0, 0.5, 0.0))
    assert stalled.status is Status.FEASIBLE and stalled.message == "stopped at the time limit"
    assert stalled.seconds < 15
    again = session.solve(2.0, 0.0, start=stalled.x)
    assert again.message == "time limit reached" and again.seconds >= 1.9
