"""A first plan from the LP relaxation, and a bound our own numbers prove, before branch-and-bound.

On a large portfolio at a short time limit HiGHS's branch-and-bound spends the whole limit in
presolve, the root LP and its cuts, and hands back the start it was given (rank-and-place) with
no bound: synth-2000 at 10 s gave 85.6% of the reference. The LP relaxation alone is solved in
a fraction of that time and is tight on these portfolios, so here:

1. the LP relaxation is solved (dual simplex); its row duals give a bound on the MILP that we
   compute ourselves (`dual_bound`: valid for any duals, optimal or not, so nothing the solver
   claims is believed);
2. LP rounding: initiatives are placed in the order of how much of them the LP selects, each at
   the start the LP gives most weight to, by the same placer as rank-and-place, which keeps every
   row (`heuristic.place`, the repair);
3. RENS: the initiatives the LP decides whole are fixed there and the rest solved as a small
   sub-MIP, started from the rounded plan where it fits.

The best of these plans (kept only if `fits_model` passes and it beats the start it was given)
becomes branch-and-bound's start, or, when too little time is left for branch-and-bound to get
past its root, neighbourhood search's (see solvers/__init__.py). The engine's checker still has
the last word on every plan.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..heuristic import _value_density, place
from ..model import Model
from .base import Session, fits_model

MIN_COLUMNS = 5_000  # below this, branch-and-bound's own root is quick: the first plan is its business
LP_SHARE = 0.75  # the LP relaxation gets at most this share of the time limit
RENS_SHARE = 0.3  # ... and the RENS sub-MIP at most this share
RENS_MAX_SECONDS = 8.0
BOUND_SLACK = 1e-9  # relative safety added to the computed bound for floating-point sums


@dataclass
class FirstPlan:
    """What the first-plan stage found: its best plan (None if nothing beat the start), the LP's
    column values, a bound proven from the LP's duals, and what each step gave, in order."""

    x: np.ndarray | None
    x_lp: np.ndarray | None
    bound: float | None
    lp_seconds: float
    seconds: float | None = None  # when the best plan was found (since the stage started)
    steps: list = field(default_factory=list)  # (step, seconds since start, objective or None)
    plans: list = field(default_factory=list)  # every plan found that keeps the model's rows


def applies(model: Model, time_limit: float) -> bool:
    """Whether to build a first plan from the LP: large models, where branch-and-bound's root is slow."""
    return model.n_x >= MIN_COLUMNS and time_limit >= 2.0


def relaxation(session: Session, model: Model, time_limit: float) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The LP relaxation's column values and row duals (duals only from HiGHS; None when not solved)."""
    if session.name != "highs":
        return session.relaxation(time_limit), None
    from .highs import _S, load

    lp = load(model, integer=False)
    lp.setOptionValue("time_limit", float(max(0.1, time_limit)))
    if session.threads:  # HiGHS's one scheduler per process must see one `threads` value
        lp.setOptionValue("threads", int(session.threads))
    lp.solve()
    sol = lp.getSolution()
    duals = np.asarray(sol.row_dual, dtype=float) if sol.dual_valid else None
    x = np.asarray(sol.col_value, dtype=float) if lp.getModelStatus() == _S.kOptimal else None
    return x, duals


def dual_bound(model: Model, y: np.ndarray) -> float | None:
    """An upper bound on max c @ v (row_lo <= A v <= row_hi, 0 <= v <= col_hi) from any row
    multipliers y: c v = y A v + (c - A'y) v <= sum_r max(y_r lo_r, y_r hi_r) + sum_j max(0, (c - A'y)_j) col_hi_j,
    with c and the constant the solver's own objective (`Model.solver_objective`), as its bounds are.

    Multipliers pointing at an infinite row side are set to zero first; both signs of y are tried
    (solvers differ in their sign convention) and the smaller finite bound is kept. Our own
    arithmetic: no solver claim is believed."""
    best, (costs, constant) = None, model.solver_objective()
    for z in (np.asarray(y, float), -np.asarray(y, float)):
        z = np.where(((z > 0) & ~np.isfinite(model.row_hi)) | ((z < 0) & ~np.isfinite(model.row_lo)), 0.0, z)
        side = np.where(z > 0, model.row_hi, np.where(z < 0, model.row_lo, 0.0))
        rows = z * np.where(z != 0, side, 0.0)
        reduced = costs - model.A.T @ z
        gain = np.where(reduced > 0, reduced * model.col_hi, 0.0)
        if not (np.all(np.isfinite(rows)) and np.all(np.isfinite(gain))):
            continue
        value = float(rows.sum() + gain.sum()) + constant
        value += BOUND_SLACK * float(np.abs(rows).sum() + np.abs(gain).sum())
        best = value if best is None else min(best, value)
    return best


def lp_rounding(model: Model, x_lp: np.ndarray) -> np.ndarray | None:
    """Place initiatives by how much of them the LP selects (must-haves first, then by value
    density), each at the start the LP weights most; the placer repairs what does not fit."""
    n_x, N = model.n_x, len(model.portfolio.initiatives)
    mass = np.zeros(N)
    np.add.at(mass, model.col_init, np.clip(x_lp[:n_x], 0.0, 1.0))
    best, density = _value_density(model)
    must = model.portfolio.must_select
    order = np.lexsort((-density, -np.round(mass, 3), ~must))
    c = model.c[:n_x]
    tie = (c - c.min()) / max(1e-12, float(np.ptp(c)))  # in [0, 1]: between equal LP weights, the better start
    preference = np.round(x_lp[:n_x], 4) + 1e-5 * tie
    return place(model, order, preference, skip=~must & (best <= 0))


def rens(session: Session, model: Model, x_lp: np.ndarray, start: np.ndarray | None, time_limit: float,
         strict: bool = True):
    """The sub-MIP over the starts the LP leaves fractional, every other start fixed where the LP puts
    it (`strict`; else every start of an initiative the LP leaves fractional is free, as lns.py's RENS)."""
    from .lns import _lp_fixing

    lower, upper = np.zeros(model.n_cols), model.col_hi.copy()
    if strict:
        n_x = model.n_x
        whole = np.abs(x_lp[:n_x] - np.round(x_lp[:n_x])) < 1e-6
        lower[:n_x][whole] = upper[:n_x][whole] = np.round(x_lp[:n_x][whole])
    else:
        _lp_fixing(model, x_lp, lower, upper)
    fits = start is not None and np.all(start >= lower - 1e-9) and np.all(start <= upper + 1e-9)
    return session.solve(time_limit, 1e-4, start=start if fits else None, lower=lower, upper=upper)


def first_plan(session: Session, model: Model, start: np.ndarray | None, time_limit: float) -> FirstPlan:
    """The LP relaxation, its bound, LP rounding and RENS within shares of `time_limit` (module docstring)."""
    t0 = time.perf_counter()
    x_lp, duals = relaxation(session, model, LP_SHARE * time_limit)
    lp_seconds = time.perf_counter() - t0
    bound = dual_bound(model, duals) if duals is not None else None
    out = FirstPlan(None, x_lp, bound, lp_seconds, steps=[("LP bound", round(lp_seconds, 2), bound)])
    best_value = model.solver_value(start) if start is not None and fits_model(model, start) else -np.inf
    if x_lp is None:
        return out

    def consider(step: str, x: np.ndarray | None) -> None:
        nonlocal best_value
        value = model.solver_value(x) if x is not None and fits_model(model, x) else None
        out.steps.append((step, round(time.perf_counter() - t0, 2), value))
        if value is not None:
            out.plans.append(x)
            if value > best_value:
                out.x, best_value, out.seconds = x, value, time.perf_counter() - t0
    consider("LP rounding", lp_rounding(model, x_lp))
    left = time_limit - (time.perf_counter() - t0)
    limit = min(RENS_MAX_SECONDS, RENS_SHARE * time_limit, left)
    if limit >= 0.5:
        sub = rens(session, model, x_lp, out.x, limit)
        if sub.x is not None:
            x = sub.x.copy()
            x[:model.n_x] = np.round(x[:model.n_x])
            consider("RENS", x)
    return out
