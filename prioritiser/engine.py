"""scenario -> Portfolio -> Model -> solve -> checked Result. The one pipeline every entry point uses."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .check import CheckReport, check_plan
from .explain import plan_table, usage_table
from .heuristic import rank_and_place
from .model import Model, build_model
from .portfolio import Portfolio
from .scenario import Scenario, load_scenario
from .progress import Reporter
from .solvers import SolveOutcome, Status, silence_banner, solve
from .validate import build_portfolio


@dataclass
class Result:
    """Everything a run produced. Tables are DataFrames with named indexes."""

    scenario: str
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    components: dict[str, float]
    plan: pd.DataFrame  # index initiative
    usage: pd.DataFrame  # resource, period, used, capacity, external
    starts: dict[str, int | None]
    external_purchases: dict[tuple[str, int], float]
    portfolio: Portfolio
    check: CheckReport | None
    solver: str
    solver_version: str
    seconds: float
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    greedy_objective: float | None = None
    model: Model | None = field(default=None, repr=False)

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    @property
    def selected(self) -> pd.DataFrame:
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
        }


def minimal_external(model: Model, xs: np.ndarray) -> np.ndarray:
    """Least purchase of each (resource, period) that the plan `xs` needs on its one-period limits."""
    n_e = model.n_cols - model.n_x
    if n_e == 0:
        return np.zeros(0)
    cap = model.families["capacity"]
    A = model.A[cap]
    need = A[:, :model.n_x] @ xs - model.row_hi[cap]  # > 0: shortfall before purchases
    relief = -A[:, model.n_x:].minimum(0)  # 1 where a purchase relieves that row
    rows, cols = relief.nonzero()
    e = np.zeros(n_e)
    np.maximum.at(e, cols, np.maximum(need[rows], 0.0))
    return np.minimum(e, model.col_hi[model.n_x:])


def _objective(model: Model, v: np.ndarray) -> float:
    return float(model.c @ v)


def _plan_vector(model: Model, x: np.ndarray) -> np.ndarray:
    xs = (np.asarray(x[:model.n_x]) > 0.5).astype(float)
    return np.concatenate([xs, minimal_external(model, xs)])


def run(scenario: str | Path | Scenario, *, solver: str | None = None, time_limit: float | None = None,
        gap: float | None = None, threads: int | None = None, warm_start: bool = True, progress=None,
        verbose: bool = False) -> Result:
    """Solve one scenario. Bad input raises `InputError`; infeasible or failed solves are Results.

    `progress`: called with a `progress.Progress` when solving starts (after validation passed) and
    with each better plan and moved bound (e.g. `progress.LiveLine()`). `verbose`: let the solver
    print its banner and log (otherwise nothing of it reaches the console)."""
    t0 = time.perf_counter()
    if not verbose:
        silence_banner()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    timings = {}
    portfolio = build_portfolio(scenario)
    timings["load"] = time.perf_counter() - t0
    model = build_model(portfolio)
    timings["build"] = model.build_seconds
    t1 = time.perf_counter()
    greedy = rank_and_place(model)
    greedy_v = _plan_vector(model, greedy) if greedy is not None else None
    timings["heuristic"] = time.perf_counter() - t1
    opts = scenario.solver
    name = (solver or opts.name).lower()
    limit = opts.time_limit if time_limit is None else time_limit
    reporter = None
    if progress is not None:
        reporter = Reporter(model, progress, portfolio.name, name, limit, _plan_vector)
        reporter.start(greedy_v)
    extra = {}  # only what is asked for: a solve() stub in a test need not know these
    if reporter is not None and getattr(progress, "wants_plans", True):
        extra["progress"] = reporter
    if verbose:
        extra["verbose"] = True
    outcome = solve(model, name, limit, opts.gap if gap is None else gap,
                    greedy if (warm_start and greedy is not None) else None, threads, **extra)
    timings["solve"] = outcome.seconds
    if outcome.first_plan_seconds is not None:
        timings["first_plan"] = timings["load"] + timings["build"] + timings["heuristic"] + outcome.first_plan_seconds
    return finish(model, outcome, greedy_v, timings, time.perf_counter() - t0)


def finish(model: Model, outcome: SolveOutcome, greedy_v: np.ndarray | None, timings: dict, seconds: float) -> Result:
    p = model.portfolio
    status, message, bound = outcome.status, outcome.message, outcome.bound
    v = _plan_vector(model, outcome.x) if outcome.x is not None else None
    greedy_obj = _objective(model, greedy_v) if greedy_v is not None else None
    if status is Status.OPTIMAL and v is not None and greedy_obj is not None and \
            greedy_obj > _objective(model, v) + 1e-6 * max(1.0, abs(greedy_obj)):
        # a plan proven optimal cannot be beaten by ranking: the solver's claim is false
        status, bound = Status.FEASIBLE, None
        message = "the solver claimed optimality for a plan worse than rank-and-place; its claim was not trusted"
    if status is Status.INFEASIBLE and greedy_v is not None:
        status = Status.FEASIBLE
        message = "the solver reported no feasible plan, yet rank-and-place found one; its claim was not trusted"
    if greedy_v is not None and (v is None or greedy_obj > _objective(model, v) + 1e-9) and \
            status in (Status.FEASIBLE, Status.ERROR):
        # never worse than ranking: a solver stopped early may hold a worse plan, or none
        v = greedy_v
        status = Status.FEASIBLE
        message = (message + "; " if message else "") + "kept the rank-and-place plan (better than the solver's)"
    objective = _objective(model, v) if v is not None else None
    if status is Status.OPTIMAL and bound is None:
        bound = objective
    gap = None
    if objective is not None and bound is not None:
        gap = max(0.0, (bound - objective) / max(abs(objective), 1e-9)) if abs(bound - objective) > 1e-9 else 0.0
    starts = {i: None for i in p.ids}
    external: dict[tuple[str, int], float] = {}
    check = None
    if v is not None:
        chosen = np.flatnonzero(v[:model.n_x] > 0.5)
        for col in chosen:
            starts[p.ids[model.col_init[col]]] = int(model.col_start[col])
        e = v[model.n_x:]
        for n in np.flatnonzero(e > 1e-9):
            external[(p.resources.index[model.ext_resource[n]], int(model.ext_period[n]))] = float(e[n])
        check = check_plan(p, starts, external)
        if not check.ok:
            status = Status.ERROR
            message = "the plan failed the independent check: " + "; ".join(check.violations[:10])
        elif abs(check.objective - objective) > 1e-6 * max(1.0, abs(objective)):
            status = Status.ERROR
            message = f"the independent check scores the plan {check.objective:,.2f}, the model {objective:,.2f}"
    plan = plan_table(model, v, status)
    usage = usage_table(model, v)
    components = {}
    if v is not None:
        sel = plan["selected"]
        for k in ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost"):
            components[k] = float(plan.loc[sel, k].sum())
        components["pv_external"] = float(model.ext_usage.sum(axis=1).A1 @ (v[model.n_x:] * p.discount()[model.ext_period])) \
            if model.n_cols > model.n_x else 0.0
        components["npv"] = components["pv_benefit"] + components["pv_revenue"] - components["pv_cost"] - components["pv_external"]
    return Result(scenario=p.name, status=status, objective=objective, bound=bound, gap=gap, components=components,
                  plan=plan, usage=usage, starts=starts, external_purchases=external, portfolio=p, check=check,
                  solver=outcome.solver, solver_version=outcome.version, seconds=seconds, message=message,
                  timings=timings, greedy_objective=greedy_obj, model=model)
