"""Helpers for tests that write tiny portfolios and solve them with both solvers."""
from __future__ import annotations

from pathlib import Path

import prioritiser
from conftest import write_case  # noqa: F401  (the one helper, re-exported for `from known import write_case`)
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


def solve_checked(path: Path, solver: str):
    """Solve and re-check independently: every plan returned must pass the checker and agree on value."""
    result = prioritiser.run(path, solver=solver)
    if result.has_plan:
        report = check_plan(result.portfolio, result.starts, result.external_purchases)
        assert report.ok, report.violations
        assert abs(report.objective - result.objective) <= 1e-6 * max(1.0, abs(result.objective))
    return result
