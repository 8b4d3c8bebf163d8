"""scenario -> Portfolio -> Model -> solve -> checked Result. The one pipeline every entry point uses.

`finish` holds the one status rule. Every plan anyone found (the solver's, the plans it fell back
from, rank-and-place) is a candidate; the published plan is the best of them by its own objective
(`Model.objective`: c @ v plus the constant of the planning cycle) that the independent checker
passes, among equals the one nearest the approved plan. Then:

- `optimal` only when that plan's own objective is within the gap tolerance of a valid bound:
  relative_gap(objective, bound) <= tolerance (+ 1e-6 for rounding). A bound below the value of
  a plan we hold is not valid, and is dropped.
- `feasible` for any other plan, with the honest gap (None when no valid bound is known).
- `infeasible` only when the solver proved it and no plan is known; `error` when no plan passes.

run, batch, stress, frontier and the dashboard all come through here.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import limits
from .appraisal import green_book, target_shortfalls, target_table
from .check import CheckReport, check_plan
from .errors import InputError, Issue, display_path
from .explain import plan_table, usage_table
from .heuristic import rank_and_place, repair
from .model import Model, build_model, start_windows
from .portfolio import Portfolio
from .replan import departures, planning_components
from .result import GAP_SLACK, Result, SolveOutcome, Status, relative_gap
from .progress import Reporter
from .scenario import Scenario, load_scenario
from .solvers import silence_banner, solve
from .validate import build_portfolio

DEFAULT_GAP = 0.001  # when an outcome does not say which tolerance it was solved to


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
    return model.objective(v)


def _plan_vector(model: Model, x: np.ndarray) -> np.ndarray:
    xs = (np.asarray(x[:model.n_x]) > 0.5).astype(float)
    return np.concatenate([xs, minimal_external(model, xs)])


def check_model_size(p: Portfolio) -> None:
    """Refuse (InputError), before anything is built, a model too large to build in memory: its
    dense pieces grow as (possible starts) x (periods), so a 1,200-quarter horizon is gigabytes."""
    first, last = start_windows(p)
    columns, T = int(np.maximum(last - first + 1, 0).sum()), p.horizon.T
    size = columns * T
    if size > limits.value("MODEL_SIZE"):
        where = display_path(p.scenario.path) if p.scenario is not None and p.scenario.path else p.name
        found = f"the model would have {columns:,} possible starts over {T:,} periods ({size:,} start-periods)"
        raise InputError([Issue("error", where, limits.refusal("MODEL_SIZE", found, size) + "; or shorten the "
                                "horizon, or narrow the initiatives' start windows (earliest_start, latest_finish)",
                                column="horizon.periods")])


# checking and tabulating a plan: 0.3-0.6 s for synth-2000's 38,000 columns on an idle machine, and
# 1.5-3 times what building the model took, on a busy one as on an idle one (both pass over every column)
FINISH_SECONDS_PER_COLUMN = 1e-5
FINISH_PER_BUILD_SECOND = 2.0
MIN_SOLVE_SECONDS = 0.2


def solve_budget(limit: float, started: float, model: Model) -> float:
    """The solver's time limit, so that the whole run (reading, building, solving, checking) ends
    within `limit` seconds of `started`: the limit less the time spent so far and what the check
    of the plan will take (solvers.solve keeps within it, the solver's own overrun included; it may
    still overrun by a moment: see docs/security.md)."""
    reserve = 0.05 + max(FINISH_SECONDS_PER_COLUMN * model.n_cols, FINISH_PER_BUILD_SECOND * model.build_seconds)
    return max(MIN_SOLVE_SECONDS, float(limit) - (time.perf_counter() - started) - reserve)
def _as_given(model: Model, starts: dict) -> np.ndarray | None:
    """`starts` (initiative -> start period index) as a plan of this model, if it keeps every rule."""
    p = model.portfolio
    x = np.zeros(model.n_cols)
    for iid, s in starts.items():
        if s is None:
            continue
        if iid not in p.ids:
            return None
        cols = model.cols_of[p.ids.get_loc(iid)]
        hit = cols[model.col_start[cols] == int(s)]
        if not len(hit):
            return None
        x[hit[0]] = 1.0
    v = _plan_vector(model, x)
    act = model.A @ v
    slack = 1e-7 * np.maximum(1.0, np.abs(act))
    ok = np.all(act <= model.row_hi + slack) and np.all(act >= model.row_lo - slack) and \
        np.all(v[model.n_x:] <= model.col_hi[model.n_x:] + 1e-9)
    return x if ok else None


def _known_plan(model: Model, start: dict | None) -> np.ndarray | None:
    """The plan the solver starts from: rank-and-place's, or `start` (as given when it keeps every
    rule, else repaired), whichever is best."""
    plans = [rank_and_place(model)]
    if start is not None:
        plans += [_as_given(model, start), repair(model, start)]
    plans = [x for x in plans if x is not None]
    return max(plans, key=lambda x: _objective(model, _plan_vector(model, x)), default=None)


def run(scenario: str | Path | Scenario, *, solver: str | None = None, time_limit: float | None = None,
        gap: float | None = None, threads: int | None = None, warm_start: bool = True, progress=None,
        verbose: bool = False, diagnose: bool = True, decisions: dict[str, bool] | None = None,
        limits: list | None = None, start: dict | None = None) -> Result:
    """Solve one scenario. Bad input raises `InputError`; infeasible or failed solves are Results.

    `progress`: called with a `progress.Progress` when solving starts (after validation passed) and
    with each better plan and moved bound (e.g. `progress.LiveLine()`). `verbose`: let the solver
    print its banner and log (otherwise nothing of it reaches the console). `diagnose`: when no plan
    meets every rule, find the least that would give one (`Result.diagnosis`).

    The explanations re-optimise variants of a scenario: `decisions` fixes initiatives in (True) or
    out (False, lifting a mandate), `limits` raises capacity rows ((resource, period label, amount)
    each; see `Portfolio.decided` and `Portfolio.raised`), and `start` (initiative -> start period
    index, e.g. the base plan) is repaired to keep the variant's rules and used as the warm start
    when it is better than rank-and-place."""
    t0 = time.perf_counter()
    if not verbose:
        silence_banner()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    timings = {}
    portfolio = build_portfolio(scenario).decided(decisions).raised(limits)
    check_model_size(portfolio)
    timings["load"] = time.perf_counter() - t0
    model = build_model(portfolio)
    timings["build"] = model.build_seconds
    t1 = time.perf_counter()
    greedy = _known_plan(model, start)
    greedy_v = _plan_vector(model, greedy) if greedy is not None else None
    timings["heuristic"] = time.perf_counter() - t1
    opts = scenario.solver
    name = (solver or opts.name).lower()
    limit = opts.time_limit if time_limit is None else time_limit
    gap = opts.gap if gap is None else gap
    reporter = None
    if progress is not None:
        reporter = Reporter(model, progress, portfolio.name, name, limit, _plan_vector)
        reporter.start(greedy_v)
    extra = {}  # only what is asked for: a solve() stub in a test need not know these
    if reporter is not None and getattr(progress, "wants_plans", True):
        extra["progress"] = reporter
    if verbose:
        extra["verbose"] = True
    outcome = solve(model, name, solve_budget(limit, t0, model), gap,
                    greedy if (warm_start and greedy is not None) else None, threads, **extra)
    if outcome.tolerance is None:
        outcome.tolerance = float(gap)
    timings["solve"] = outcome.seconds
    if outcome.first_plan_seconds is not None:
        timings["first_plan"] = timings["load"] + timings["build"] + timings["heuristic"] + outcome.first_plan_seconds
    result = finish(model, outcome, greedy_v, timings, time.perf_counter() - t0)
    if greedy is None and "target" in model.families and result.has_plan:
        result.message = "; ".join(filter(None, [result.message, "rank-and-place found no plan meeting every target"]))
    if result.status is Status.INFEASIBLE and diagnose:  # in what the limit leaves (docs/security.md)
        explain_infeasible(result, time_limit=solve_budget(limit, t0, model), solver=name, threads=threads)
    if result.status is Status.INFEASIBLE and diagnose and len(portfolio.targets) and \
            not any(item.get("rule") == "target" for item in result.diagnosis):
        result.diagnosis += target_shortfalls(model)  # which targets no plan can reach, and by how much
    return result


def explain_infeasible(result: Result, **options) -> None:
    """Fill in the result's diagnosis: the least that would give the scenario a plan."""
    from .diagnose import diagnose as find

    t0 = time.perf_counter()
    found = find(result.model, **options)
    result.diagnosis, result.diagnosis_within_limits = found.items, found.within_limits
    result.diagnosis_note = "" if found.proven else (found.message or "not proven least in the time allowed")
    result.timings["diagnosis"] = time.perf_counter() - t0


def _candidates(model: Model, outcome: SolveOutcome, greedy_v: np.ndarray | None) -> list[tuple[np.ndarray, str]]:
    """Every distinct plan on offer, best own objective first (the solver's first among equals)."""
    found = [(_plan_vector(model, outcome.x), "solver")] if outcome.x is not None else []
    found += [(_plan_vector(model, x), "fallback") for x in outcome.plans]
    if greedy_v is not None:
        found.append((greedy_v, "rank-and-place"))
    unique: list[tuple[np.ndarray, str]] = []
    for v, source in found:
        if not any(np.array_equal(v, u) for u, _ in unique):
            unique.append((v, source))
    # among equals the one nearest the approved plan (no gratuitous moves), then the solver's
    near = [departures(model, v) if len(model.portfolio.approved) else 0 for v, _ in unique]
    order = sorted(range(len(unique)), key=lambda k: (-round(_objective(model, unique[k][0]), 6), near[k], k))
    return [unique[k] for k in order]


def _starts_and_external(model: Model, v: np.ndarray) -> tuple[dict, dict]:
    p = model.portfolio
    starts = {i: None for i in p.ids}
    for col in np.flatnonzero(v[:model.n_x] > 0.5):
        starts[p.ids[model.col_init[col]]] = int(model.col_start[col])
    e = v[model.n_x:]
    external = {(p.resources.index[model.ext_resource[n]], int(model.ext_period[n])): float(e[n])
                for n in np.flatnonzero(e > 1e-9)}
    return starts, external


def _check_failure(report: CheckReport, objective: float) -> str:
    if not report.ok:
        return "the plan failed the independent check: " + "; ".join(report.violations[:10])
    if abs(report.objective - objective) > 1e-6 * max(1.0, abs(objective)):
        return f"the independent check scores the plan {report.objective:,.2f}, the model {objective:,.2f}"
    return ""


def _best_checked(model: Model, candidates) -> tuple[np.ndarray | None, str, CheckReport | None, str]:
    """The best candidate the independent checker passes: (plan, source, its report, failures).

    Without one: (None, "", the best candidate's report, why it failed)."""
    failures, first_report = [], None
    for v, source in candidates:
        starts, external = _starts_and_external(model, v)
        report = check_plan(model.portfolio, starts, external)
        first_report = first_report or report
        why = _check_failure(report, _objective(model, v))
        if not why:
            return v, source, report, "; ".join(f"a {s} plan was not published: {w}" for s, w in failures)
        failures.append((source, why))
    return None, "", first_report, failures[0][1] if failures else ""


def judge(outcome: SolveOutcome, objective: float, source: str, solver_objective: float | None,
          tolerance: float) -> tuple[Status, float | None, float | None, list[str]]:
    """The status rule for a published plan worth `objective` (see the module docstring):
    (status, valid bound, gap, what was not believed)."""
    notes, bound = [], outcome.bound
    if bound is not None and bound < objective and relative_gap(bound, objective) > GAP_SLACK:
        notes.append(f"the solver's bound ({bound:,.2f}) is below the value of a plan we hold "
                     f"({objective:,.2f}); its bound was not trusted")
        bound = None
    # another plan may be published because it is as good and nearer the approved plan: no claim was false
    better = solver_objective is not None and source != "solver" and \
        objective - solver_objective > GAP_SLACK * max(1.0, abs(objective))
    if outcome.status is Status.INFEASIBLE:
        notes.append("the solver reported no feasible plan, yet rank-and-place found one; its claim was not trusted")
    elif outcome.status is Status.OPTIMAL and better:
        worse_than = "rank-and-place" if source == "rank-and-place" else "another plan it found"
        notes.append(f"the solver claimed optimality for a plan worse than {worse_than}; its claim was not trusted")
    if source == "rank-and-place" and better:
        notes.append("kept the rank-and-place plan (better than the solver's)")
    gap = relative_gap(objective, bound) if bound is not None else None
    status = Status.OPTIMAL if gap is not None and gap <= tolerance + GAP_SLACK else Status.FEASIBLE
    return status, bound, gap, notes


def finish(model: Model, outcome: SolveOutcome, greedy_v: np.ndarray | None, timings: dict, seconds: float) -> Result:
    """The checked Result of a solve: the one status rule (module docstring) applied to `outcome`."""
    p = model.portfolio
    tolerance = outcome.tolerance if outcome.tolerance is not None else \
        (p.scenario.solver.gap if p.scenario is not None else DEFAULT_GAP)
    candidates = _candidates(model, outcome, greedy_v)
    v, source, check, failed = _best_checked(model, candidates)
    distrusted = list(outcome.distrusted)
    if v is None:
        status = Status.ERROR if candidates or outcome.status is not Status.INFEASIBLE else Status.INFEASIBLE
        objective, bound, gap, message = None, None, None, failed or outcome.message
    else:
        objective = _objective(model, v)
        solver_obj = _objective(model, _plan_vector(model, outcome.x)) if outcome.x is not None else None
        status, bound, gap, notes = judge(outcome, objective, source, solver_obj, tolerance)
        distrusted += notes + ([failed] if failed else [])
        # a plan proven here needs no word about how the solver stopped
        base = outcome.message if status is not Status.OPTIMAL or outcome.distrusted else ""
        message = "; ".join(filter(None, [base, *notes, failed]))
    return _result(model, v, status, objective, bound, gap, message, check, outcome, timings, seconds,
                   greedy_v, distrusted)


def _result(model, v, status, objective, bound, gap, message, check, outcome, timings, seconds, greedy_v,
            distrusted) -> Result:
    p = model.portfolio
    starts, external = _starts_and_external(model, v) if v is not None else ({i: None for i in p.ids}, {})
    plan = plan_table(model, v, status)
    usage = usage_table(model, v)
    components = {}
    if v is not None:
        sel = plan["selected"]
        for k in ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost"):
            components[k] = float(plan.loc[sel, k].sum())
        components["pv_external"] = float(model.ext_usage.sum(axis=1).A1 @ (v[model.n_x:] * p.discount()[model.ext_period])) \
            if model.n_cols > model.n_x else 0.0
        components.update(planning_components(p, starts))
        components["npv"] = components["pv_benefit"] + components["pv_revenue"] - components["pv_cost"] - \
            components["pv_external"] - components.get("stop_cost", 0.0)
    appraisal = green_book(p, plan, components, starts) if v is not None else {}
    return Result(scenario=p.name, status=status, objective=objective, bound=bound, gap=gap, components=components,
                  plan=plan, usage=usage, starts=starts, external_purchases=external, portfolio=p, check=check,
                  solver=outcome.solver, solver_version=outcome.version, seconds=seconds, message=message,
                  timings=timings, greedy_objective=_objective(model, greedy_v) if greedy_v is not None else None,
                  model=model, distrusted=distrusted, green_book=appraisal, targets=target_table(model, v))
