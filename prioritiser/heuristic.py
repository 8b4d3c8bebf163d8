"""Rank and place: the spreadsheet method, done carefully.

Initiatives are ranked and each is placed at its most preferred start that keeps every limit,
dependency and exclusion satisfied given what is already placed, buying external staff where
that is allowed and still worth it.

Must-haves come first, then the rest by value per unit of the limits they use. This is the
baseline the MILP must beat (the benchmark's "greedy") and the plan handed to the solver as its
start, so that the engine is never worse than ranking.
"""
from __future__ import annotations

import numpy as np

from .model import Model


def _value_density(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Best value of each initiative over its starts, and that value per unit of limits it uses."""
    n_x = model.n_x
    N = len(model.portfolio.initiatives)
    value = model.c[:n_x]
    best = np.full(N, -np.inf)
    np.maximum.at(best, model.col_init, value)
    cap = model.families["capacity"]
    A_cap = model.A[cap]
    rhs = np.maximum(np.abs(model.row_hi[cap]), 1e-9)
    load_col = np.asarray(abs(A_cap).multiply(1.0 / rhs[:, None]).sum(axis=0)).ravel()[:n_x]
    load = np.full(N, np.inf)
    np.minimum.at(load, model.col_init, load_col)
    load = np.where(np.isfinite(load), load, 0.0)
    return best, best / (load + 1e-3)


def place(model: Model, order: np.ndarray, preference: np.ndarray, skip: np.ndarray,
          passes: int = 3) -> np.ndarray | None:
    """Place initiatives in `order` at their feasible start of highest `preference` (per x column).

    An initiative's unplaced predecessors are placed first (so the ranking does not strand a
    successor), and a start that overruns only one-period staff limits may buy external staff,
    within `external_max` and the revenue limits, when the initiative is still worth it.
    `skip[i]` leaves an optional initiative out. Returns a feasible column vector or None.
    """
    n_x = model.n_x
    p = model.portfolio
    N = len(p.initiatives)
    A = model.A.tocsc()
    hi = model.row_hi
    act = np.zeros(A.shape[0])
    x = np.zeros(model.n_cols)
    if n_x == 0:
        return x if np.all(model.row_lo <= 0) else None
    must = p.must_select
    tol = 1e-7 * np.maximum(1.0, np.abs(hi))
    # the purchase column that relieves each row (-1 entries of the e columns), if any
    relief = np.full(A.shape[0], -1)
    E = A[:, n_x:].tocoo()
    relief[E.row[E.data < 0]] = E.col[E.data < 0] + n_x
    preds: list[list[int]] = [[] for _ in range(N)]
    dep = p.dependencies
    if len(dep):
        timed = dep["type"] != "excludes"
        for a, b in zip(p.ids.get_indexer(dep["predecessor"][timed]), p.ids.get_indexer(dep["successor"][timed])):
            preds[b].append(a)
    placed = np.zeros(N, bool)
    failed = np.zeros(N, bool)

    def column(col):
        return A.indices[A.indptr[col]:A.indptr[col + 1]], A.data[A.indptr[col]:A.indptr[col + 1]]

    def try_column(col, worth) -> bool:
        r, a = column(col)
        new = act[r] + a
        over = new > hi[r] + tol[r]
        if not over.any():
            act[r] = new
            x[col] = 1.0
            return True
        buy_cols = relief[r[over]]
        if (buy_cols < 0).any():
            return False
        amounts = {}
        for ecol, excess in zip(buy_cols, new[over] - hi[r[over]]):
            amounts[ecol] = max(amounts.get(ecol, 0.0), excess)
        cost = 0.0
        delta = np.zeros(A.shape[0])
        delta[r] += a
        for ecol, amount in amounts.items():
            if x[ecol] + amount > model.col_hi[ecol] + 1e-9:
                return False
            er, ea = column(ecol)
            delta[er] += amount * ea
            cost -= model.c[ecol] * amount
        if worth - cost <= 0 and not must[model.col_init[col]]:
            return False
        touched = np.flatnonzero(delta)
        if np.any(act[touched] + delta[touched] > hi[touched] + tol[touched]):
            return False
        act[touched] += delta[touched]
        x[col] = 1.0
        for ecol, amount in amounts.items():
            x[ecol] += amount
        return True

    def place_one(i, depth=0) -> bool:
        if placed[i]:
            return True
        if failed[i] or depth > 50:
            return False
        for a in preds[i]:
            if not placed[a] and (skip[a] or not place_one(a, depth + 1)):
                return False
        cols = model.cols_of[i]
        for col in cols[np.argsort(-preference[cols], kind="stable")]:
            if try_column(col, model.c[col]):
                placed[i] = True
                return True
        return False

    for _ in range(passes):  # room freed or predecessors placed later give another chance
        before = placed.sum()
        failed[:] = False
        for i in order:
            if not placed[i] and not skip[i] and not place_one(i):
                failed[i] = True
        if placed.sum() == before:
            break
    if np.any(act < model.row_lo - 1e-7):
        return None
    return x


def rank_and_place(model: Model) -> np.ndarray | None:
    """The ranking method: must-haves first, then densest value; each at its best-value start."""
    best, density = _value_density(model)
    must = model.portfolio.must_select
    order = np.lexsort((-density, ~must))
    return place(model, order, model.c[:model.n_x], skip=~must & (best <= 0))
