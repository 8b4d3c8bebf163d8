"""Rank and place: the spreadsheet method, done carefully.

Initiatives are ranked (must-haves first, then by value per unit of scarce resource) and each is
placed at its best-value start that keeps every limit, dependency and exclusion satisfied, given
what is already placed. It buys no external staff. It is the baseline the MILP must beat and the
first plan the solver is handed, so the engine is never worse than the ranking method.
"""
from __future__ import annotations

import numpy as np

from .model import Model


def rank_and_place(model: Model, passes: int = 3) -> np.ndarray | None:
    """A feasible column vector, or None if the must-haves could not all be placed."""
    n_x = model.n_x
    p = model.portfolio
    N = len(p.initiatives)
    A = model.A.tocsc()
    hi = model.row_hi
    act = np.zeros(A.shape[0])
    x = np.zeros(model.n_cols)
    if n_x == 0:
        return x if np.all(model.row_lo <= 0) else None

    value = model.c[:n_x]
    best = np.full(N, -np.inf)
    np.maximum.at(best, model.col_init, value)
    # scarcity: each column's use of every finite limit, relative to the limit
    cap = model.families["capacity"]
    A_cap = model.A[cap]
    rhs = np.maximum(np.abs(model.row_hi[cap]), 1e-9)
    load_col = np.asarray(abs(A_cap).multiply(1.0 / rhs[:, None]).sum(axis=0)).ravel()[:n_x]
    load = np.full(N, np.inf)
    np.minimum.at(load, model.col_init, load_col)
    load = np.where(np.isfinite(load), load, 0.0)
    density = best / (load + 1e-3)
    must = p.must_select
    order = np.lexsort((-density, ~must))  # must-haves first, then densest value
    placed = np.zeros(N, bool)
    tol = 1e-7
    for _ in range(passes):
        changed = False
        for i in order:
            if placed[i] or (not must[i] and best[i] <= 0):
                continue
            cols = model.cols_of[i]
            for col in cols[np.argsort(-value[cols], kind="stable")]:
                lo_, hi_ = A.indptr[col], A.indptr[col + 1]
                r, a = A.indices[lo_:hi_], A.data[lo_:hi_]
                if np.all(act[r] + a <= hi[r] + tol * np.maximum(1.0, np.abs(hi[r]))):
                    act[r] += a
                    x[col] = 1.0
                    placed[i] = True
                    changed = True
                    break
        if not changed:
            break
    if np.any(act < model.row_lo - 1e-7):
        return None
    return x
