"""Helpers for tests that write tiny portfolios and solve them with both solvers."""
from __future__ import annotations

import textwrap
from pathlib import Path

import yaml

import prioritiser
from prioritiser.check import check_plan

SOLVERS = ("highs", "cbc")

YEARLY = {"horizon": {"start": "2026/27", "periods": 2, "granularity": "year"}}

KNAPSACK = {
    # one start allowed (2026/27), live for one year: value = benefit - capital
    "initiatives": """
        id,duration,latest_finish,capital_cost,benefit
        A,1,2026/27,60,130
        B,1,2026/27,50,110
        C,1,2026/27,40,85
    """,
    "capacity": """
        resource,period,amount
        capital,2026/27,100
    """,
}


def write_case(folder: Path, tables: dict[str, str], scenario: dict | None = None, name: str = "case") -> Path:
    """Write CSV tables (given as text) and a scenario file; return the scenario path."""
    folder = Path(folder)
    pf = folder / "portfolio"
    pf.mkdir(parents=True, exist_ok=True)
    for table, text in tables.items():
        (pf / f"{table}.csv").write_text(textwrap.dedent(text).strip() + "\n")
    doc = {"name": name, "portfolio": "portfolio",
           "horizon": {"start": "2026/27 Q1", "periods": 4, "granularity": "quarter"},
           "objective": {"discount_rate": 0.0},
           "solver": {"gap": 0, "time_limit": 60}}
    for key, value in (scenario or {}).items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def solve_checked(path: Path, solver: str):
    """Solve and re-check independently: every plan returned must pass the checker and agree on value."""
    result = prioritiser.run(path, solver=solver)
    if result.has_plan:
        report = check_plan(result.portfolio, result.starts, result.external_purchases)
        assert report.ok, report.violations
        assert abs(report.objective - result.objective) <= 1e-6 * max(1.0, abs(result.objective))
    return result
