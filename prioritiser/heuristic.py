"""Rank and place: the spreadsheet method, done carefully.

Initiatives are ranked and each is placed at its most preferred start that keeps every limit,
dependency and exclusion satisfied given what is already placed, buying external staff where
that is allowed and still worth it.

Must-haves come first, then work in progress, then the approved plan's initiatives (each at its
approved start while that fits: the approved plan, repaired), then the rest by value per unit of
the limits they use. This is the baseline the MILP must beat (the benchmark's "greedy") and the
plan handed to the solver as its start, so that the engine is never worse than ranking.
"""
from __future__ import annotations

import numpy as np

from .model import Model


def _column_load(model: Model) -> np.ndarray:
    """Per x column: the share of each capacity row it uses, summed."""
    cap = model.families["capacity"]
    A_cap = model.A[cap]
    rhs = np.maximum(np.abs(model.row_hi[cap]), 1e-9)
    return np.asarray(abs(A_cap).multiply(1.0 / rhs[:, None]).sum(axis=0)).ravel()[:model.n_x]


def _value_density(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Best value of each initiative over its starts, and that value per unit of limits it uses."""
    n_x = model.n_x
    N = len(model.portfolio.initiatives)
    value = model.c[:n_x]
    best = np.full(N, -np.inf)
    np.maximum.at(best, model.col_init, value)
    load_col = _column_load(model)
    load = np.full(N, np.inf)
    np.minimum.at(load, model.col_init, load_col)
    load = np.where(np.isfinite(load), load, 0.0)
    return best, best / (load + 1e-3)


class _Placer:
    """The plan being placed: its column vector `x` and the activity `act` of every model row."""

    def __init__(self, model: Model, preference: np.ndarray, skip: np.ndarray):
        p = model.portfolio
        self.model = model
        self.preference = preference
        self.skip = skip
        self.must = p.must_select
        self.A = A = model.A.tocsc()
        self.hi = model.row_hi
        self.tol = 1e-7 * np.maximum(1.0, np.abs(self.hi))
        self.act = np.zeros(A.shape[0])
        self.x = np.zeros(model.n_cols)
        # the purchase column that relieves each row (-1 entries of the e columns), if any
        self.relief = np.full(A.shape[0], -1)
        E = A[:, model.n_x:].tocoo()
        self.relief[E.row[E.data < 0]] = E.col[E.data < 0] + model.n_x
        N = len(p.initiatives)
        self.preds: list[list[int]] = [[] for _ in range(N)]
        dep = p.dependencies
        if len(dep):
            timed = dep["type"] != "excludes"
            for a, b in zip(p.ids.get_indexer(dep["predecessor"][timed]), p.ids.get_indexer(dep["successor"][timed])):
                self.preds[b].append(a)
        self.placed = np.zeros(N, bool)
        self.failed = np.zeros(N, bool)
        self.allowed = np.ones(model.n_x, bool)  # the x columns placing may use
        self.worth = np.ones(model.n_x, bool)  # the x columns worth placing for their own sake

    def column(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        A = self.A
        return A.indices[A.indptr[col]:A.indptr[col + 1]], A.data[A.indptr[col]:A.indptr[col + 1]]

    def try_column(self, col: int, worth: float) -> bool:
        """Start `col` if it fits, buying the external staff its one-period staff limits need."""
        r, a = self.column(col)
        new = self.act[r] + a
        # a row the column does not load cannot be broken by it (stopping terms are negative)
        over = (new > self.hi[r] + self.tol[r]) & (a > 0)
        if not over.any():
            self.act[r] = new
            self.x[col] = 1.0
            return True
        buy_cols = self.relief[r[over]]
        if (buy_cols < 0).any():
            return False
        amounts = {}
        for ecol, excess in zip(buy_cols, new[over] - self.hi[r[over]]):
            amounts[ecol] = max(amounts.get(ecol, 0.0), excess)
        return self.try_buying(col, worth, r, a, amounts)

    def try_buying(self, col: int, worth: float, r: np.ndarray, a: np.ndarray, amounts: dict) -> bool:
        """Start `col` with the purchases `amounts` if they are allowed, worth it and fit."""
        m = self.model
        cost = 0.0
        delta = np.zeros(self.A.shape[0])
        delta[r] += a
        for ecol, amount in amounts.items():
            if self.x[ecol] + amount > m.col_hi[ecol] + 1e-9:
                return False
            er, ea = self.column(ecol)
            delta[er] += amount * ea
            cost -= m.c[ecol] * amount
        if worth - cost <= 0 and not self.must[m.col_init[col]]:
            return False
        touched = np.flatnonzero(delta > 0)
        if np.any(self.act[touched] + delta[touched] > self.hi[touched] + self.tol[touched]):
            return False
        self.act[touched] += delta[touched]
        self.x[col] = 1.0
        for ecol, amount in amounts.items():
            self.x[ecol] += amount
        return True

    def place_one(self, i: int, depth: int = 0) -> bool:
        """Place initiative i (its unplaced predecessors first) at its most preferred start that fits."""
        if self.placed[i]:
            return True
        if self.failed[i] or depth > 50:
            return False
        for a in self.preds[i]:
            if not self.placed[a] and (self.skip[a] or not self.place_one(a, depth + 1)):
                return False
        cols = self.model.cols_of[i]
        # for itself, an optional initiative is placed only where it is worth it; as a predecessor anywhere
        cols = cols[self.allowed[cols] & (self.worth[cols] | (depth > 0))]
        for col in cols[np.argsort(-self.preference[cols], kind="stable")]:
            if self.try_column(col, self.model.c[col]):
                self.placed[i] = True
                return True
        return False

    def place_all(self, order: np.ndarray, passes: int) -> None:
        for _ in range(passes):  # room freed or predecessors placed later give another chance
            before = self.placed.sum()
            self.failed[:] = False
            for i in order:
                if not self.placed[i] and not self.skip[i] and not self.place_one(i):
                    self.failed[i] = True
            if self.placed.sum() == before:
                break


def _meet_targets(placer: _Placer) -> None:
    """Money rules: targets not yet met are made up by adding, one at a time, the start of an unplaced
    initiative that covers most of what the targets still need (each target's need counted at most once,
    as a share of it) per unit of the limits it uses, and still fits every limit and rule (worth it or
    not: the targets must be met). It runs once what must be in is placed, before the ranking fills the
    room, and again at the end. A target still missed leaves rank-and-place with no plan (the engine
    says so)."""
    m = placer.model
    rows = m.families.get("target")
    if rows is None:
        return
    gain_of = m.A[rows, :m.n_x].toarray()  # targets x x-columns
    load = _column_load(m)
    tried = np.zeros(m.n_x, bool)
    for _ in range(5 * len(m.portfolio.ids) + 1):
        need = m.row_lo[rows] - placer.act[rows]
        unmet = need > 1e-7 * np.maximum(1.0, np.abs(m.row_lo[rows]))
        if not unmet.any():
            return
        share = (np.minimum(gain_of[unmet], need[unmet, None]) / need[unmet, None]).sum(axis=0)
        open_ = (share > 0) & ~placer.placed[m.col_init] & ~tried
        if not open_.any():
            return
        col = int(np.argmax(np.where(open_, share / (load + 1e-3), -np.inf)))
        tried[col] = True
        if placer.try_column(col, np.inf):
            placer.placed[m.col_init[col]] = True


def place(model: Model, order: np.ndarray, preference: np.ndarray, skip: np.ndarray,
          passes: int = 3, first: np.ndarray | None = None, worth: np.ndarray | None = None) -> np.ndarray | None:
    """Place initiatives in `order` at their feasible start of highest `preference` (per x column).

    An initiative's unplaced predecessors are placed first (so the ranking does not strand a
    successor), and a start that overruns only one-period staff limits may buy external staff,
    within `external_max` and the revenue limits, when the initiative is still worth it.
    `skip[i]` leaves an optional initiative out; `worth` (a mask of x columns), if given, is where
    an initiative is placed for its own sake (a predecessor may go anywhere). `first` (a mask of x
    columns), if given, is all that the first round of passes may use; then every column is open.
    Returns a feasible column vector or None.
    """
    if model.n_x == 0:
        x = np.zeros(model.n_cols)
        return x if np.all(model.row_lo <= 0) and np.all(model.row_hi >= 0) else None
    placer = _Placer(model, preference, skip)
    if worth is not None:
        placer.worth = worth
    if "target" in model.families:  # what must be in first, then what the targets need, then the ranking
        placer.place_all(order[placer.must[order]], passes)
        _meet_targets(placer)
    if first is not None:
        placer.allowed = first
        placer.place_all(order, passes)
        placer.allowed = np.ones(model.n_x, bool)
    placer.place_all(order, passes)
    _meet_targets(placer)
    tol = 1e-7 * np.maximum(1.0, np.abs(model.row_lo))
    if np.any(placer.act < model.row_lo - tol) or np.any(placer.act > model.row_hi + placer.tol):
        return None
    return placer.x


def rank_and_place(model: Model) -> np.ndarray | None:
    """The ranking method: must-haves first, then work in progress, then approved initiatives, then
    densest value; each at its best-value start, an approved one at its approved start while it fits."""
    best, density = _value_density(model)
    p = model.portfolio
    must, in_progress, approved = p.must_select, p.in_progress, p.approved_starts >= 0
    order = np.lexsort((-density, ~approved, ~in_progress, ~must))
    c = model.c[:model.n_x]
    preference = c.copy()
    first = worth = None
    if approved.any():
        at_approved = model.col_start == p.approved_starts[model.col_init]
        # re-planning: the approved plan, repaired, then only what is worth adding (at a start that gains);
        # what the approved plan loses the solver can drop
        worth = must[model.col_init] | (c > 0) | at_approved
        preference[at_approved] = np.inf
        # first the approved plan, with what must be in: then moves of approved initiatives and new ones
        first = at_approved | (must | in_progress)[model.col_init] & ~approved[model.col_init]
    # an approved initiative that neither gains nor loses stays in (no gratuitous drops)
    skip = ~must & np.where(approved, best < 0, best <= 0)
    return place(model, order, preference, skip=skip, first=first, worth=worth)


def repair(model: Model, starts: dict) -> np.ndarray | None:
    """A plan near `starts` (initiative -> start period index; None = out) that keeps every rule of
    the model: what must be in first, then the plan's initiatives at their own start where it is
    still allowed and fits (else at their best start that fits), then the rest by density, as
    rank-and-place would. The warm start of a re-optimisation that changes one decision or limit."""
    p = model.portfolio
    want = np.full(len(p.ids), -1)
    for iid, s in starts.items():
        if s is not None and iid in p.ids:
            want[p.ids.get_loc(iid)] = int(s)
    c = model.c[:model.n_x]
    own = want[model.col_init] == model.col_start
    preference = c + own * (np.abs(c).max(initial=0.0) * 2 + 1)
    best, density = _value_density(model)
    must, planned = model.portfolio.must_select, want >= 0
    order = np.lexsort((-density, ~planned, ~must))
    return place(model, order, preference, skip=~must & ~planned & ~_needed(model, must) & (best <= 0))


def _needed(model: Model, must: np.ndarray) -> np.ndarray:
    """The initiatives that what must be in needs, directly or through others (its predecessors)."""
    p = model.portfolio
    dep = p.dependencies[p.dependencies["type"] != "excludes"]
    preds: dict[int, list[int]] = {}
    for a, b in zip(p.ids.get_indexer(dep["predecessor"]), p.ids.get_indexer(dep["successor"])):
        preds.setdefault(b, []).append(a)
    needed, todo = np.zeros(len(p.ids), bool), list(np.flatnonzero(must))
    while todo:
        for a in preds.get(todo.pop(), ()):
            if not needed[a]:
                needed[a] = True
                todo.append(a)
    return needed
