"""Large-neighbourhood search: improve a plan by re-optimising part of it, with any solver session.

Branch-and-bound on the full model proves bounds well but can sit on one plan for a long time on
large, tight portfolios. Here most initiatives are fixed and a neighbourhood is freed, and the
small sub-MIP is solved by the session (the same solver as the main solve). Any better plan
replaces the current one. Neighbourhoods:

- RENS (first): the LP relaxation of these portfolios is tight, so initiatives the LP places
  whole (or leaves out whole) are fixed there and only the fractional ones are decided;
- RINS: free the initiatives where the current plan and the LP disagree;
- a random group, and everything touching a window of periods.

The neighbourhood grows while sub-MIPs solve fast and shrinks when they hit their own time
limit. A sub-MIP's plan is kept only if our own numbers say it is better (c @ x) and it keeps
every row of the full model (`fits_model`): sub-MIP answers are claims like any other.
"""
from __future__ import annotations

import itertools
import time
from typing import Callable

import numpy as np

from ..model import Model
from ..result import Status
from .base import Session, fits_model

SUB_GAP = 1e-6  # sub-MIPs are solved to (near) optimality: they are small


def _lp_fixing(model: Model, x_lp: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> int:
    """RENS: fix every initiative the LP decides whole; returns how many are left free."""
    n_x = model.n_x
    whole = np.abs(x_lp[:n_x] - np.round(x_lp[:n_x])) < 1e-6
    frac_init = np.zeros(len(model.portfolio.initiatives), bool)
    frac_init[model.col_init[~whole]] = True
    fixed = ~frac_init[model.col_init]
    lower[:n_x][fixed] = upper[:n_x][fixed] = np.round(x_lp[:n_x][fixed])
    return int(frac_init.sum())


def _free_initiatives(model: Model, kind: str, best: np.ndarray, x_lp, target: int, fraction: float,
                      rng) -> np.ndarray:
    """Which initiatives a RINS, random or window neighbourhood frees."""
    n_x, N, T = model.n_x, len(model.portfolio.initiatives), model.portfolio.horizon.T
    init_of = model.col_init
    free = np.zeros(N, bool)
    if kind == "rins":  # where the plan and the LP disagree, topped up at random
        candidates = np.unique(init_of[np.abs(best[:n_x] - x_lp[:n_x]) > 1e-3])
        free[rng.permutation(candidates)[:target]] = True
        if free.sum() < target:
            rest = np.flatnonzero(~free)
            free[rng.choice(rest, size=min(len(rest), target - int(free.sum())), replace=False)] = True
    elif kind == "random":
        free[rng.choice(N, size=target, replace=False)] = True
    else:  # everything whose plan or possible starts touch a window of periods
        width = max(1, int(round(fraction * T)))
        t0 = int(rng.integers(0, max(1, T - width + 1)))
        touching = (model.col_start >= t0) & (model.col_start < t0 + width)
        candidates = np.unique(init_of[touching & ((best[:n_x] > 0.5) | (rng.random(n_x) < fraction))])
        free[rng.permutation(candidates)[:target]] = True
    return free


def neighbourhood_search(session: Session, model: Model, x: np.ndarray, deadline: float, seed: int = 0,
                         sub_time_limit: float = 3.0, trace: list | None = None,
                         enough: Callable[[float], bool] | None = None,
                         on_improved: Callable[[np.ndarray], None] | None = None,
                         x_lp: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Best plan found from `x` before `deadline` (time.perf_counter()), and how many improved it.

    Stops early once `enough(objective)` holds (e.g. the plan is proven by a known bound);
    `on_improved(plan)` is called with each better plan.
    `trace`, if given, receives (neighbourhood, initiatives freed, seconds, best objective) per step.
    `x_lp`: the LP relaxation's column values if already solved (solvers/firstplan.py); RENS is then
    skipped too, since the first plan was already made from it."""
    n_x, N = model.n_x, len(model.portfolio.initiatives)
    if n_x == 0 or N < 4:
        return x, 0
    rng = np.random.default_rng(seed)
    best = x.copy()
    best[:n_x] = np.round(best[:n_x])
    best_value = model.solver_value(best)
    rens = x_lp is None
    if x_lp is None:
        x_lp = session.relaxation((deadline - time.perf_counter()) / 3)
    fraction = min(0.3, max(0.05, 200 / N))  # about 200 initiatives freed at first: fast sub-MIPs
    improvements = 0
    cycle = ["rins", "random", "window"] if x_lp is not None else ["random", "window"]
    kinds = itertools.chain(["rens"] if rens and x_lp is not None else [], itertools.cycle(cycle))
    while (remaining := deadline - time.perf_counter()) >= 0.5 and not (enough and enough(best_value)):
        kind = next(kinds)
        lower, upper = np.zeros(model.n_cols), model.col_hi.copy()
        if kind == "rens":
            freed = _lp_fixing(model, x_lp, lower, upper)
        else:
            free = _free_initiatives(model, kind, best, x_lp, max(2, int(fraction * N)), fraction, rng)
            fixed = ~free[model.col_init]
            lower[:n_x][fixed] = upper[:n_x][fixed] = best[:n_x][fixed]
            freed = int(free.sum())
        limit = min(sub_time_limit, remaining)
        # the current plan fits every neighbourhood but RENS's: start from it
        out = session.solve(limit, SUB_GAP, start=None if kind == "rens" else best, lower=lower, upper=upper)
        if out.x is not None:
            cand = out.x.copy()
            cand[:n_x] = np.round(cand[:n_x])
            value = model.solver_value(cand)
            if value > best_value + 1e-7 * max(1.0, abs(best_value)) and fits_model(model, cand):
                best, best_value = cand, value
                improvements += 1
                if on_improved is not None:
                    on_improved(best)
        if trace is not None:
            trace.append((kind, freed, round(out.seconds, 2), best_value))
        if kind != "rens":
            if out.status is Status.OPTIMAL and out.seconds < 0.3 * sub_time_limit:
                fraction = min(0.8, fraction * 1.25)
            elif out.seconds >= 0.9 * limit:
                fraction = max(0.02, fraction * 0.7)
    return best, improvements
