"""Large-neighbourhood search: improve a plan by re-optimising part of it with HiGHS.

Branch-and-bound on the full model proves bounds well but can sit on one plan for a long time on
large, tight portfolios. Here most initiatives are fixed and a neighbourhood is freed, and the
small sub-MIP is solved with HiGHS. Any better plan replaces the current one. Neighbourhoods:

- RENS (first): the LP relaxation of these portfolios is tight, so initiatives the LP places
  whole (or leaves out whole) are fixed there and only the fractional ones are decided;
- RINS: free the initiatives where the current plan and the LP disagree;
- a random group, and everything touching a window of periods.

The neighbourhood grows while sub-MIPs solve fast and shrinks when they hit their own time
limit. Every plan it returns is feasible for the full model, because only bounds change.
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from .model import Model


def _lp_relaxation(model: Model, time_limit: float) -> np.ndarray | None:
    import highspy

    from .solvers import load_highs

    h = load_highs(model, integer=False)
    h.setOptionValue("time_limit", float(max(0.1, time_limit)))
    h.solve()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().col_value, dtype=float)


def neighbourhood_search(model: Model, x: np.ndarray, deadline: float, seed: int = 0,
                         sub_time_limit: float = 3.0, trace: list | None = None) -> tuple[np.ndarray, int]:
    """Best plan found from `x` before `deadline` (time.perf_counter()), and how many improved it.

    `trace`, if given, receives (neighbourhood, initiatives freed, seconds, best objective) per step."""
    import highspy

    from .solvers import load_highs

    n_x, n_cols = model.n_x, model.n_cols
    N = len(model.portfolio.initiatives)
    if n_x == 0 or N < 4:
        return x, 0
    rng = np.random.default_rng(seed)
    best = x.copy()
    best[:n_x] = np.round(best[:n_x])
    best_value = float(model.c @ best)
    T = model.portfolio.horizon.T
    init_of = model.col_init
    starts = model.col_start
    all_cols = np.arange(n_cols, dtype=np.int32)
    x_lp = _lp_relaxation(model, (deadline - time.perf_counter()) / 3)
    h = load_highs(model)
    h.setOptionValue("mip_rel_gap", 1e-6)
    fraction = min(0.3, max(0.05, 200 / N))  # about 200 initiatives freed at first: fast sub-MIPs
    improvements = 0
    cycle = ["rins", "random", "window"] if x_lp is not None else ["random", "window"]
    kinds = itertools.chain(["rens"] if x_lp is not None else [], itertools.cycle(cycle))
    while True:
        remaining = deadline - time.perf_counter()
        if remaining < 0.5:
            break
        kind = next(kinds)
        lower = np.zeros(n_cols)
        upper = model.col_hi.copy()
        free = np.zeros(N, bool)
        target = max(2, int(fraction * N))
        if kind == "rens":
            # fix what the LP decides whole; a fractional initiative keeps its LP-used starts open
            level = np.zeros(N)
            np.add.at(level, init_of, x_lp[:n_x])
            whole = (np.abs(x_lp[:n_x] - np.round(x_lp[:n_x])) < 1e-6)
            frac_init = np.zeros(N, bool)
            frac_init[init_of[~whole]] = True
            fixed = ~frac_init[init_of]
            lower[:n_x][fixed] = np.round(x_lp[:n_x][fixed])
            upper[:n_x][fixed] = np.round(x_lp[:n_x][fixed])
        else:
            if kind == "rins":  # where the plan and the LP disagree
                differ = np.abs(best[:n_x] - x_lp[:n_x]) > 1e-3
                candidates = np.unique(init_of[differ])
                free[rng.permutation(candidates)[:target]] = True
                if free.sum() < target:  # top up at random
                    rest = np.flatnonzero(~free)
                    free[rng.choice(rest, size=min(len(rest), target - int(free.sum())), replace=False)] = True
            elif kind == "random":
                free[rng.choice(N, size=target, replace=False)] = True
            else:  # everything whose plan or possible starts touch a window of periods
                width = max(1, int(round(fraction * T)))
                t0 = int(rng.integers(0, max(1, T - width + 1)))
                touching = (starts >= t0) & (starts < t0 + width)
                candidates = np.unique(init_of[touching & ((best[:n_x] > 0.5) | (rng.random(n_x) < fraction))])
                free[rng.permutation(candidates)[:target]] = True
            fixed = ~free[init_of]
            lower[:n_x][fixed] = best[:n_x][fixed]
            upper[:n_x][fixed] = best[:n_x][fixed]
        h.changeColsBounds(n_cols, all_cols, lower, upper)
        h.clearSolver()
        if kind != "rens":  # the current plan fits this neighbourhood: start from it
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, best))
            sol.value_valid = True
            h.setSolution(sol)
        limit = min(sub_time_limit, remaining)
        h.setOptionValue("time_limit", float(limit))
        t = time.perf_counter()
        h.solve()
        took = time.perf_counter() - t
        info = h.getInfo()
        if info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
            cand = np.asarray(h.getSolution().col_value, dtype=float)
            cand[:n_x] = np.round(cand[:n_x])
            value = float(model.c @ cand)
            if value > best_value + 1e-7 * max(1.0, abs(best_value)):
                best, best_value = cand, value
                improvements += 1
        if trace is not None:
            trace.append((kind, int(free.sum()) if kind != "rens" else int(frac_init.sum()), round(took, 2),
                          best_value))
        if kind == "rens":
            continue
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal and took < 0.3 * sub_time_limit:
            fraction = min(0.8, fraction * 1.25)
        elif took >= 0.9 * limit:
            fraction = max(0.02, fraction * 0.7)
    return best, improvements
