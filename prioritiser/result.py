"""The types a solve produces: Status, SolveOutcome (a solver's answer) and Result (a checked run).

Types only: this module imports no solver and no model builder, so reports, batch, what-if, the
CLI and the dashboard can use them without loading the pipeline. `relative_gap` is here because
it defines what `Result.gap` means.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from .version import __version__

if TYPE_CHECKING:  # annotations only
    import pandas as pd

    from .check import CheckReport
    from .model import Model
    from .portfolio import Portfolio

GAP_FLOOR = 1.0  # £: below this size of objective the gap is measured in pounds, not as a share
GAP_SLACK = 1e-6  # rounding allowed on top of the gap tolerance before a plan is called optimal


class Status(str, Enum):
    OPTIMAL = "optimal"  # proven within the gap tolerance, from our own numbers
    FEASIBLE = "feasible"  # a plan, not proven within the tolerance (gap reported when a bound is known)
    INFEASIBLE = "infeasible"  # proven: no plan meets every rule
    ERROR = "error"  # no plan: solver failure, time limit without a plan, or a plan the checker rejected

    def __str__(self) -> str:
        return self.value


def relative_gap(objective: float, bound: float) -> float:
    """How much better than `objective` any plan could be, as a share of the plan's own value:
    (bound - objective) / max(|objective|, GAP_FLOOR), and 0 when the bound is not above it.

    It works for objectives of either sign (the distance bound - objective is what matters, the
    denominator is a size) and near zero (below £1 of objective the gap is absolute, in pounds)."""
    return max(0.0, float(bound) - float(objective)) / max(abs(float(objective)), GAP_FLOOR)


@dataclass
class SolveOutcome:
    """What the solver seam hands the engine. Claims (status, bound, objective) are the solver's;
    `engine.finish` decides what to believe."""

    status: Status
    x: np.ndarray | None  # column values, or None without a plan
    bound: float | None  # best bound on the objective the solver claims (maximisation)
    seconds: float
    solver: str
    version: str
    message: str = ""
    first_plan_seconds: float | None = None
    objective: float | None = None  # the objective the solver reported for `x`
    tolerance: float | None = None  # the relative gap the solve was asked to prove
    plans: list = field(default_factory=list)  # other plans it found (column vectors), to fall back on
    distrusted: list = field(default_factory=list)  # solver claims not believed, in words
    lns_improvements: int = 0  # plans neighbourhood search improved on


@dataclass
class Result:
    """Everything a run produced. Tables are DataFrames with named indexes."""

    scenario: str
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None  # relative_gap(objective, bound); None without a plan or a valid bound
    components: dict[str, float]
    plan: "pd.DataFrame"  # index initiative
    usage: "pd.DataFrame"  # resource, period, used, capacity, external
    starts: dict[str, int | None]
    external_purchases: dict[tuple[str, int], float]
    portfolio: "Portfolio"
    check: "CheckReport | None"
    solver: str
    solver_version: str
    seconds: float
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    greedy_objective: float | None = None
    model: "Model | None" = field(default=None, repr=False)
    distrusted: list = field(default_factory=list)  # solver claims the engine did not believe, in words
    # measured by `prioritiser explain`, for the report: "opportunity" (explain.csv), "marginal" (marginal.csv)
    explanations: dict = field(default_factory=dict)
    diagnosis: list = field(default_factory=list)  # infeasible: the least that would give a plan (diagnose.py)
    diagnosis_note: str = ""  # how sure the diagnosis is, when it is not proven least
    # a re-plan keeping approved starts, fixed by more money or staff: the approved initiatives that
    # cannot keep their starts with every limit as it is, and why (diagnose.py)
    diagnosis_within_limits: list = field(default_factory=list)
    # money rules (issue 13): the Green Book appraisal of the plan (appraisal.green_book) and its targets
    green_book: dict = field(default_factory=dict)
    targets: "pd.DataFrame | None" = None  # appraisal.TARGET_COLUMNS, one row per target

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    @property
    def selected(self) -> "pd.DataFrame":
        return self.plan[self.plan["selected"]]

    def summary(self) -> dict:
        p = self.portfolio
        return {
            "scenario": self.scenario, "status": self.status.value, "message": self.message,
            "objective": self.objective, "bound": self.bound, "gap": self.gap,
            "components": self.components, "selected": int(self.plan["selected"].sum()),
            "initiatives": len(self.plan), "solver": self.solver, "solver_version": self.solver_version,
            "seconds": round(self.seconds, 3), "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "greedy_objective": self.greedy_objective, "input_sha256": p.input_hash,
            "package_version": __version__, "horizon": {"start": p.horizon.start, "periods": p.horizon.T,
                                                        "granularity": p.horizon.granularity.value},
            **({"diagnosis": self.diagnosis, "diagnosis_note": self.diagnosis_note}
               if self.status is Status.INFEASIBLE else {}),
            **({"diagnosis_within_limits": self.diagnosis_within_limits} if self.diagnosis_within_limits else {}),
            **({"green_book": self.green_book} if self.green_book else {}),
            **({"targets": self.targets.to_dict(orient="records")} if self.targets is not None and len(self.targets)
               else {}),
        }
