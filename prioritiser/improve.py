"""Large-neighbourhood search: improve a plan by re-optimising part of it with HiGHS.

Branch-and-bound on the full model proves bounds well but can sit on one plan for a long time on
large, tight portfolios. Here most initiatives are fixed to their place in the best plan so far,
a neighbourhood (a random group, or everything touching a window of periods) is freed, and the
small sub-MIP is solved from the current plan. Any better plan replaces it; the neighbourhood
grows while sub-MIPs solve fast and shrinks when they hit their own time limit. Every plan it
returns is feasible for the full model, because only bounds are changed.
"""
from __future__ import annotations

import time

import numpy as np

from .model import Model


def neighbourhood_search(model: Model, x: np.ndarray, deadline: float, seed: int = 0,
                         sub_time_limit: float = 5.0) -> tuple[np.ndarray, int]:
    """Best plan found from `x` before `deadline` (time.perf_counter()), and how many improved it."""
    import highspy

    from .solvers import load_highs

    n_x, n_cols = model.n_x, model.n_cols
    N = len(model.portfolio.initiatives)
    if n_x == 0 or N < 4:
        return x, 0
    rng = np.random.default_rng(seed)
    h = load_highs(model)
    h.setOptionValue("mip_rel_gap", 1e-6)
    best = x.copy()
    best[:n_x] = np.round(best[:n_x])
    best_value = float(model.c @ best)
    T = model.portfolio.horizon.T
    init_of = model.col_init
    starts = model.col_start
    all_cols = np.arange(n_cols, dtype=np.int32)
    fraction = min(0.3, max(0.05, 200 / N))  # about 200 initiatives freed at first: fast sub-MIPs
    improvements = 0
    kind = 0
    while True:
        remaining = deadline - time.perf_counter()
        if remaining < 0.5:
            break
        free = np.zeros(N, bool)
        if kind % 2 == 0:  # a random group
            free[rng.choice(N, size=max(2, int(fraction * N)), replace=False)] = True
        else:  # everything whose plan or possible starts touch a window of periods
            width = max(1, int(round(fraction * T)))
            t0 = int(rng.integers(0, max(1, T - width + 1)))
            touching = (starts >= t0) & (starts < t0 + width)
            chosen = touching & ((best[:n_x] > 0.5) | (rng.random(n_x) < fraction))
            free[init_of[chosen]] = True
        kind += 1
        fixed = ~free[init_of]
        lower = np.zeros(n_cols)
        upper = model.col_hi.copy()
        lower[:n_x][fixed] = best[:n_x][fixed]
        upper[:n_x][fixed] = best[:n_x][fixed]
        h.changeColsBounds(n_cols, all_cols, lower, upper)
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
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal and took < 0.3 * sub_time_limit:
            fraction = min(0.8, fraction * 1.25)
        elif took >= 0.9 * limit:
            fraction = max(0.02, fraction * 0.7)
    return best, improvements
