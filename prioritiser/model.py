"""The selection-and-scheduling MILP, built as sparse arrays one constraint family at a time.

Columns: x[i, s] = 1 if initiative i starts in period s (only where its start window allows),
then e[r, p] >= 0, external purchase of staff r in period p (only where a per-period limit exists
and buying is allowed). The model maximises `c @ v` subject to `row_lo <= A @ v <= row_hi`.

Nothing here loops over (initiative, period) pairs: every family is generated from aligned index
arrays with `_ranges`, which expands integer intervals per owner into flat arrays.

Each constraint family is one function of the build context returning `Rows`: its block of A, its
bounds, and a DataFrame saying what each row stands for. A new family is a new function added to
`FAMILIES`; a new objective piece is a new column of `_objective_pieces`.

The planning cycle (format v1.1) is linear in the same columns: an in_progress initiative has the one
start 0; stopping one (y_i = 0) charges stop_cost * (1 - y_i) to revenue in period 0; an approved
initiative i with approved start a_i is moved when y_i - x[i, a_i] = 1 and dropped when 1 - y_i = 1.
The constants these leave (stop costs, drop penalties) are `Model.objective_constant` and
`Model.fixed_use`: the objective of a plan is `c @ v + objective_constant`.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .portfolio import Portfolio

INF = np.inf

# What a model row stands for (`Model.rows`); a family fills the columns that apply to it.
#   family          select, capacity, precedence, requires, excludes, max_moved or target
#   resource        capacity: the limited resource; target: the measure (cash_releasing_savings, in_year_revenue)
#   period          capacity: the capacity table's period label (a period or a financial year);
#                   target: the financial year;
#                   precedence: the successor's start period the row covers ("started by then")
#   capacity_row    capacity: the row of `Portfolio.capacity`
#   initiative      select: the initiative selected at most (or, if it must be, exactly) once
#   predecessor, successor, dependency (its type), dependency_row (the row of `Portfolio.dependencies`)
ROW_COLUMNS = ("family", "resource", "period", "capacity_row", "initiative", "predecessor", "successor",
               "dependency", "dependency_row")
_INTEGER_ROW_COLUMNS = ("capacity_row", "dependency_row")

# Display label of a row of each family, from its `rows` entry.
ROW_LABELS = {
    "select": "select {initiative}",
    "capacity": "{resource} {period}",
    "precedence": "{dependency} {predecessor} -> {successor}",
    "requires": "requires {predecessor} -> {successor}",
    "excludes": "excludes {predecessor} / {successor}",
    "max_moved": "changes.max_moved (approved initiatives moved or dropped)",
    "target": "{resource} target {period}",
}


def _ranges(lo: np.ndarray, hi: np.ndarray, dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    """For owners j with half-open integer intervals [lo_j, hi_j): (owner, value) for every member.

    Two arrays of the output's length and one temporary: fresh memory is what a large build
    spends its time on (page faults cost ~10 ms per MB on a busy 2-core machine)."""
    lo = np.asarray(lo, dtype=dtype)
    lengths = np.maximum(np.asarray(hi, dtype=dtype) - lo, 0)
    owner = np.repeat(np.arange(len(lo), dtype=dtype), lengths)
    value = np.arange(lengths.sum(), dtype=dtype)  # position; less (first member's position - lo) of its owner
    value -= np.repeat(np.cumsum(lengths, dtype=dtype) - lengths - lo, lengths)
    return owner, value


@dataclass
class Rows:
    """One constraint family before stacking: lo <= A @ v <= hi, and what each row stands for
    (`meta`: one entry per row, any of ROW_COLUMNS but `family`)."""

    family: str
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    meta: dict[str, np.ndarray]

    def __len__(self) -> int:
        return self.A.shape[0]


@dataclass
class Model:
    portfolio: Portfolio
    # columns
    n_x: int
    col_init: np.ndarray  # initiative position of each x column
    col_start: np.ndarray  # start period of each x column
    ext_resource: np.ndarray  # resource position of each e column
    ext_period: np.ndarray
    c: np.ndarray  # objective (maximise), x columns then e columns
    col_hi: np.ndarray
    integer: np.ndarray  # bool per column
    # rows
    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    rows: pd.DataFrame  # one row per model row: ROW_COLUMNS
    families: dict[str, slice]
    # per-column pieces of the objective (x columns), for reports and explanations
    components: pd.DataFrame  # columns pv_benefit, pv_revenue, in_year_revenue, alignment, pv_cost
    usage: sp.csr_matrix  # (x columns) x (resource * T + period): use of each resource in each period
    ext_usage: sp.csr_matrix  # (e columns) x (resource * T + period)
    capacity_rows: np.ndarray  # model row of each capacity-table row (-1 if it has no periods)
    build_seconds: float = 0.0
    cols_of: list[np.ndarray] = field(default_factory=list)  # x columns of each initiative
    # the planning cycle: what stopping and changes from the approved plan add (all zero without them)
    objective_constant: float = 0.0  # the objective of a plan is c @ v + objective_constant
    stop_use: sp.csr_matrix | None = None  # (x columns) x (resource * T + period): -stop_cost where kept
    fixed_use: np.ndarray | None = None  # (resource * T + period): every stop cost, as if all were stopped
    tiebreak: np.ndarray | None = None  # per column: a tiny bonus toward the approved plan, for solvers only
    kept_values: pd.DataFrame | None = None  # per in_progress initiative: its pieces if kept at start 0

    @property
    def n_cols(self) -> int:
        return len(self.c)

    def objective(self, v: np.ndarray) -> float:
        """The objective of the plan `v` (columns x then e), as the spec defines it."""
        return float(self.c @ v) + self.objective_constant

    def solver_objective(self) -> tuple[np.ndarray, float]:
        """What a solver maximises: the costs with the tie-break toward the approved plan, and the constant."""
        return (self.c if self.tiebreak is None else self.c + self.tiebreak), self.objective_constant

    def solver_value(self, v: np.ndarray) -> float:
        """The value of `v` in the solver's own objective (with the tie-break): what its claims are about."""
        costs, constant = self.solver_objective()
        return float(costs @ v) + constant

    def resource_use(self, v: np.ndarray) -> np.ndarray:
        """(resource, period) use of the plan `v`: costs, demands, external purchases and stop costs."""
        R, T = len(self.portfolio.resources), self.portfolio.horizon.T
        x = v[:self.n_x]
        used = self.usage.T @ x + self.ext_usage.T @ v[self.n_x:]
        if self.stop_use is not None:
            used = used + self.stop_use.T @ x + self.fixed_use
        return np.asarray(used).reshape(R, T)

    @cached_property
    def row_family(self) -> np.ndarray:
        """Family name of every row."""
        return self.rows["family"].to_numpy(object)

    def row_label(self, r: int) -> str:
        """What model row r limits, for display ("capital 2026/27", "select EPR-01", ...)."""
        row = self.rows.iloc[int(r)]
        return ROW_LABELS[row["family"]].format(**row)


def start_windows(p: Portfolio) -> tuple[np.ndarray, np.ndarray]:
    """[first, last] allowed start per initiative; last < first means it cannot be selected.

    Besides earliest_start and latest_finish: every training period of a proposed or approved
    initiative lies inside the horizon (s + d - K >= 0 and s + d - 1 <= T - 1); an in_progress one
    starts in period 0; with `changes.keep: start` an approved one starts at its approved start."""
    ini = p.initiatives
    T = p.horizon.T
    first = ini["earliest_start"].to_numpy(np.int64)
    dur = ini["duration"].to_numpy(np.int64)
    lf = ini["latest_finish"].astype("float64").fillna(np.inf).to_numpy()
    last = np.minimum(T - 1, np.where(np.isfinite(lf), lf - dur + 1, T - 1)).astype(np.int64)
    in_progress = p.in_progress
    k = p.training_periods
    trained = (k > 0) & ~in_progress
    first = np.where(trained, np.maximum(first, k - dur), first)
    last = np.where(trained, np.minimum(last, T - dur), last)
    first = np.where(in_progress, 0, first)
    last = np.where(in_progress, np.minimum(last, 0), last)
    if p.settings.changes.keep == "start":
        a = p.approved_starts
        fits = (a >= first) & (a <= last)
        first = np.where(a >= 0, np.where(fits, a, first), first)
        last = np.where(a >= 0, np.where(fits, a, first - 1), last)
    last = np.where(p.forced_out, first - 1, last)
    return first, last


# ------------------------------------------------------------------------------------ columns


@dataclass
class _Columns:
    """x[i, s] for every initiative i and start s in [first_i, last_i], then the e[r, p] purchases."""

    first: np.ndarray  # per initiative: first allowed start
    last: np.ndarray  # per initiative: last allowed start (< first: none)
    n_start: np.ndarray  # per initiative: number of x columns
    offset: np.ndarray  # per initiative: its first x column
    init: np.ndarray  # per x column: initiative position
    start: np.ndarray  # per x column: start period
    ext_resource: np.ndarray  # per e column: resource position
    ext_period: np.ndarray  # per e column: period
    relief: np.ndarray  # per capacity-table row: the e column that relieves it, -1 if none

    @property
    def n_x(self) -> int:
        return len(self.init)

    @property
    def n(self) -> int:
        return len(self.init) + len(self.ext_resource)

    def of(self, initiatives: np.ndarray, count: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(owner, x column) pairs: the first `count` (default all) x columns of each given initiative."""
        lo = self.offset[initiatives]
        return _ranges(lo, lo + (self.n_start[initiatives] if count is None else count))

    def per_initiative(self) -> list[np.ndarray]:
        """The x columns of each initiative."""
        return np.split(np.arange(self.n_x), self.offset[1:]) if len(self.offset) else []

    def select_sum(self, initiatives: np.ndarray) -> sp.csr_matrix:
        """Rows (one per given initiative) summing its x columns: y_i."""
        owner, cols = self.of(initiatives)
        return sp.csr_matrix((np.ones(len(cols)), (owner, cols)), shape=(len(initiatives), self.n))


def _capacity_periods(cap: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each capacity row's number of periods, and every (row, period) it covers as flat arrays."""
    periods = cap["periods"].tolist()
    n_periods = np.fromiter(map(len, periods), dtype=np.int64, count=len(periods))
    flat = np.fromiter(chain.from_iterable(periods), dtype=np.int64, count=int(n_periods.sum()))
    return n_periods, np.repeat(np.arange(len(cap)), n_periods), flat


def _purchases(p: Portfolio) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The e columns, (resource, period) in sorted order, and the e column relieving each capacity row.

    A purchase exists for every staff resource that may be bought and period with a one-period
    limit; it relieves every one-period row of that resource and period.
    """
    cap, res, T = p.capacity, p.resources, p.horizon.T
    n_periods, owner, flat = _capacity_periods(cap)
    cap_res = res.index.get_indexer(cap["resource"]).astype(np.int64)
    buyable = ((res["kind"] != "money").to_numpy() & (res["external_max"].to_numpy(float) > 0)
               & bool(p.settings.external))
    first_period = np.full(len(cap), -1, dtype=np.int64)
    first_period[owner] = flat  # read only for one-period rows
    relievable = (n_periods == 1) & buyable[cap_res]
    key = cap_res * T + first_period
    keys = np.unique(key[relievable])
    relief = np.where(relievable, np.searchsorted(keys, key), -1)
    return keys // T, keys % T, relief


def _columns(p: Portfolio) -> _Columns:
    first, last = start_windows(p)
    n_start = np.maximum(last - first + 1, 0)
    init, start = _ranges(first, last + 1)
    ext_resource, ext_period, relief = _purchases(p)
    return _Columns(first=first, last=last, n_start=n_start, offset=np.cumsum(n_start) - n_start, init=init,
                    start=start, ext_resource=ext_resource, ext_period=ext_period, relief=relief)


# ------------------------------------------------------------------------------------ use of resources


@dataclass
class _Span:
    """`amount` of resource `res` in each period of [lo, hi) of each column `cols` (arrays aligned with
    `cols`, or scalars), the spans clipped to the horizon: a family of triplets, not yet laid out."""

    cols: np.ndarray
    res: np.ndarray | int
    lo: np.ndarray
    hi: np.ndarray
    amount: np.ndarray

    def clipped(self, T: int) -> tuple[np.ndarray, np.ndarray]:
        return np.clip(self.lo, 0, T), np.clip(self.hi, 0, T)


def _cost_spans(p: Portfolio, cols: _Columns) -> list[_Span]:
    """Capital and revenue cost spread over the build, and running cost from go-live to the horizon."""
    ini, T = p.initiatives, p.horizon.T
    capital, revenue = p.resources.index.get_indexer(["capital", "revenue"])
    dur = ini["duration"].to_numpy(np.int64)
    x = np.arange(cols.n_x)
    build_end = cols.start + dur[cols.init]
    return [
        _Span(x, capital, cols.start, build_end, (ini["capital_cost"].to_numpy() / dur)[cols.init]),
        _Span(x, revenue, cols.start, build_end, (ini["revenue_cost"].to_numpy() / dur)[cols.init]),
        _Span(x, revenue, build_end, np.full(cols.n_x, T), ini["running_cost"].to_numpy()[cols.init]),
    ]


def _demand_spans(p: Portfolio, cols: _Columns) -> list[_Span]:
    """Every demand at every start of its initiative: in build, from go-live on, or k periods after start."""
    dem, T = p.demands, p.horizon.T
    if not len(dem):
        return []
    d_init = p.ids.get_indexer(dem["initiative"])
    d_res = p.resources.index.get_indexer(dem["resource"]).astype(np.int64)
    d_kind = dem["offset_kind"].to_numpy()
    d_k = dem["k"].to_numpy(np.int64)
    d_amt = dem["amount"].to_numpy(float)
    dur = p.initiatives["duration"].to_numpy(np.int64)
    owner, dcols = cols.of(d_init)  # every (demand, column of its initiative) pair
    s = cols.start[dcols]
    d_col = dur[cols.init[dcols]]
    kind = d_kind[owner]
    lo = np.where(kind == "k", s + d_k[owner], np.where(kind == "build", s, s + d_col))
    hi = np.where(kind == "k", lo + 1, np.where(kind == "build", s + d_col, T))
    return [_Span(dcols, d_res[owner], lo, hi, d_amt[owner])]


def _resource_use(p: Portfolio, cols: _Columns) -> sp.csr_matrix:
    """(x columns) x (resource * T + period): use of each resource in each period by each start.

    The triplets of every span are written straight into three arrays allocated once, with 32-bit
    indices (what scipy keeps), so nothing of the 4 million triplets at 10,000 initiatives is copied."""
    T, R = p.horizon.T, len(p.resources)
    spans = _cost_spans(p, cols) + _demand_spans(p, cols)
    bounds = [span.clipped(T) for span in spans]
    sizes = [int(np.maximum(hi - lo, 0).sum()) for lo, hi in bounds]
    small = np.int32 if max(cols.n_x, R * T) < 2**31 - 1 else np.int64
    tc, tk, tv = np.empty(sum(sizes), small), np.empty(sum(sizes), small), np.empty(sum(sizes))
    at = 0
    for span, (lo, hi), n in zip(spans, bounds, sizes):
        owner, period = _ranges(lo, hi, small)
        part = slice(at, at + n)
        np.take(np.asarray(span.cols, small), owner, out=tc[part])
        np.multiply(np.take(np.broadcast_to(np.asarray(span.res, small), span.cols.shape), owner), T, out=tk[part])
        tk[part] += period
        np.take(np.broadcast_to(span.amount, span.cols.shape), owner, out=tv[part])
        at += n
        del owner, period
    usage = sp.csr_matrix((tv, (tc, tk)), shape=(cols.n_x, R * T))
    usage.sum_duplicates()
    return usage


def _external_use(p: Portfolio, cols: _Columns) -> sp.csr_matrix:
    """(e columns) x (resource * T + period): a purchase is paid from revenue in its period."""
    T, R = p.horizon.T, len(p.resources)
    revenue = p.resources.index.get_loc("revenue")
    n_e = len(cols.ext_resource)
    cost = p.resources["external_cost"].to_numpy(float)[cols.ext_resource]
    return sp.csr_matrix((cost, (np.arange(n_e), revenue * T + cols.ext_period)), shape=(n_e, R * T))


def _stop_use(p: Portfolio, cols: _Columns) -> tuple[sp.csr_matrix, np.ndarray]:
    """Stopping a stoppable in_progress initiative charges its stop_cost to revenue in period 0:
    stop_cost * (1 - y_i) = stop_cost - stop_cost * sum_s x[i, s]. Returns the x part
    ((x columns) x (resource * T + period)) and the constant (resource * T + period)."""
    T, R = p.horizon.T, len(p.resources)
    stop = np.where(p.stoppable, p.initiatives["stop_cost"].to_numpy(float), 0.0)
    revenue_first = p.resources.index.get_loc("revenue") * T  # revenue in period 0
    who = np.flatnonzero(stop > 0)
    owner, xcols = cols.of(who)
    stop_use = sp.csr_matrix((-stop[who][owner], (xcols, np.full(len(xcols), revenue_first))), shape=(cols.n_x, R * T))
    fixed = np.zeros(R * T)
    fixed[revenue_first] = stop.sum()
    return stop_use, fixed


def own_use(p: Portfolio, initiatives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each allowed start of the given initiatives draws, on its own, on each capacity row:
    (position in `initiatives` of each start, starts x capacity rows). Validation's cheap test that
    a must-have can fit at all."""
    keep = np.zeros(len(p.ids), bool)
    keep[initiatives] = True
    sub = Portfolio(p.name, p.horizon, p.settings, p.initiatives[keep], p.resources,
                    p.demands[p.demands["initiative"].isin(p.ids[keep])], p.capacity, p.funding.iloc[:0],
                    p.dependencies.iloc[:0])
    cols = _columns(sub)
    cap, T, R = p.capacity, p.horizon.T, len(p.resources)
    _, owner, period = _capacity_periods(cap)
    cap_res = p.resources.index.get_indexer(cap["resource"]).astype(np.int64)
    cover = sp.csr_matrix((np.ones(len(owner)), (cap_res[owner] * T + period, owner)), shape=(R * T, len(cap)))
    use = (_resource_use(sub, cols) @ cover).toarray()
    position = np.argsort(initiatives)[cols.init]  # the sub-portfolio keeps the portfolio's order
    return position, use


# ------------------------------------------------------------------------------------ objective


def live_share(p: Portfolio, init: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(starts) x T: the share of full benefit and revenue that initiative init[j] started at start[j]
    realises in each period, f(p - g) = min(1, (p - g + 1) / (ramp + 1)) from go-live g on, else 0."""
    ini, T = p.initiatives, p.horizon.T
    golive = np.asarray(start, np.int64) + ini["duration"].to_numpy(np.int64)[init]
    k = np.arange(T)[None, :] - golive[:, None]  # periods since go-live
    ramp = ini["ramp"].to_numpy(np.int64)[init][:, None]
    return np.where(k >= 0, np.minimum(1.0, (k + 1) / (ramp + 1)), 0.0)


def target_measures(p: Portfolio, init: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(starts) x (targets): each target's measure in its financial year for initiative init[j] started
    at start[j], undiscounted: the cash-releasing share of benefit, or revenue, times f(p - g)."""
    targets, ini = p.targets, p.initiatives
    if not len(targets):
        return np.zeros((len(init), 0))
    live = live_share(p, init, start)
    in_year = np.zeros((p.horizon.T, len(targets)))
    for t, periods in enumerate(targets["periods"]):  # one column per target: a handful
        in_year[list(periods), t] = 1.0
    per_period = {"cash_releasing_savings": (ini["benefit"] * ini["cash_releasing"]).to_numpy(float)[init],
                  "in_year_revenue": ini["revenue"].to_numpy(float)[init]}
    rate = np.column_stack([per_period[m] for m in targets["measure"]])
    return (live @ in_year) * rate


def _objective_pieces(p: Portfolio, cols: _Columns, usage: sp.csr_matrix) -> pd.DataFrame:
    """Per x column: PV of benefit, of revenue, in-year revenue, alignment and PV of money spent."""
    ini, T = p.initiatives, p.horizon.T
    discount = p.discount()
    is_money = (p.resources["kind"] == "money").to_numpy()
    pv_cost = usage @ (np.tile(discount, len(is_money)) * np.repeat(is_money, T))
    live = live_share(p, cols.init, cols.start)
    pv_live = live @ discount
    benefit = ini["benefit"].to_numpy()[cols.init]
    revenue = ini["revenue"].to_numpy()[cols.init]
    in_year = (live * (p.horizon.fy == 0)[None, :]).sum(axis=1) * revenue
    return pd.DataFrame({"pv_benefit": pv_live * benefit, "pv_revenue": pv_live * revenue,
                         "in_year_revenue": in_year, "alignment": p.alignment().to_numpy()[cols.init],
                         "pv_cost": pv_cost})


def _objective(p: Portfolio, cols: _Columns, components: pd.DataFrame) -> tuple[np.ndarray, float]:
    """c: the weighted pieces per x column, then minus the PV cost of each purchase; and the constant."""
    w = p.settings.weights
    c_x = (w["benefit"] * components["pv_benefit"] + w["revenue"] * components["pv_revenue"]
           + w["in_year_revenue"] * components["in_year_revenue"] + w["alignment"] * components["alignment"]
           - w["cost"] * components["pv_cost"]).to_numpy()
    # -w_cost * stop_cost * (1 - y_i): selecting avoids the stop cost (df(0) = 1)
    stop = np.where(p.stoppable, p.initiatives["stop_cost"].to_numpy(float), 0.0)
    c_x = c_x + w["cost"] * stop[cols.init]
    change, change_constant = _change_terms(p, cols)
    ext_cost = p.resources["external_cost"].to_numpy(float)[cols.ext_resource]
    c_e = -w["cost"] * p.discount()[cols.ext_period] * ext_cost
    return np.concatenate([c_x + change, c_e]), -w["cost"] * float(stop.sum()) + change_constant


def _approved_columns(p: Portfolio, cols: _Columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(approved initiatives, every x column of theirs, the x columns x[i, a_i] at their approved starts)."""
    a = p.approved_starts
    approved = np.flatnonzero(a >= 0)
    owner, xcols = cols.of(approved)
    return approved, xcols, xcols[cols.start[xcols] == a[approved][owner]]


def _change_terms(p: Portfolio, cols: _Columns) -> tuple[np.ndarray, float]:
    """-move_penalty * (y_i - x[i, a_i]) - drop_penalty * (1 - y_i) per approved initiative: the x
    columns' part and the constant."""
    changes = p.settings.changes
    c = np.zeros(cols.n_x)
    approved, xcols, at_approved = _approved_columns(p, cols)
    c[xcols] += changes.drop_penalty - changes.move_penalty
    c[at_approved] += changes.move_penalty
    return c, -changes.drop_penalty * len(approved)


def _tiebreak(p: Portfolio, cols: _Columns, c: np.ndarray) -> np.ndarray | None:
    """A bonus of 1e-9 of the objective's scale per approved initiative kept at its approved start, so that
    among equally good plans a solver picks the approved one (no gratuitous moves). Solvers only: reported
    objectives never include it."""
    if not len(p.approved):
        return None
    bonus = np.zeros(cols.n)
    bonus[_approved_columns(p, cols)[2]] = 1e-9 * max(1.0, float(np.abs(c).max(initial=0.0)))
    return bonus


def pieces_at(p: Portfolio, init: np.ndarray, start: np.ndarray) -> pd.DataFrame:
    """The objective pieces (pv_benefit, pv_revenue, in_year_revenue, alignment, pv_cost) of initiative
    positions `init` (each at most once) started at `start`, whatever their start windows allow."""
    init, start = np.asarray(init, np.int64), np.asarray(start, np.int64)
    N = len(p.ids)
    n_start = np.zeros(N, np.int64)
    n_start[init] = 1
    order = np.argsort(init, kind="stable")  # _Columns holds each initiative's columns in id order
    at = _Columns(first=np.zeros(N, np.int64), last=n_start - 1, n_start=n_start, offset=np.cumsum(n_start) - n_start,
                  init=init[order], start=start[order], ext_resource=np.zeros(0, np.int64),
                  ext_period=np.zeros(0, np.int64), relief=np.zeros(0, np.int64))
    if not len(init):
        return pd.DataFrame(columns=["pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost"], dtype=float)
    pieces = _objective_pieces(p, at, _resource_use(p, at))
    pieces.index = p.ids[init[order]]
    return pieces.loc[p.ids[init]]


def _kept_values(p: Portfolio) -> pd.DataFrame:
    """Each in_progress initiative's objective pieces if it continues (start 0), whether or not the
    scenario leaves it a column: what stopping it gives up."""
    who = np.flatnonzero(p.in_progress)
    pieces = pieces_at(p, who, np.zeros(len(who), np.int64))
    pieces.index = p.ids[who]
    pieces["stop_cost"] = p.initiatives["stop_cost"].to_numpy(float)[who]
    return pieces


# ------------------------------------------------------------------------------------ row families


@dataclass
class _Build:
    """What the constraint families read."""

    p: Portfolio
    cols: _Columns
    usage: sp.csr_matrix
    ext_usage: sp.csr_matrix
    stop_use: sp.csr_matrix  # stopping: the x columns' part of the stop costs on revenue in period 0
    fixed_use: np.ndarray  # ... and the constant (every stop cost)

    def links(self, types: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dependency row, predecessor position, successor position) of the dependencies of these types."""
        dep = self.p.dependencies
        rows = np.flatnonzero(dep["type"].isin(types).to_numpy()) if len(dep) else np.zeros(0, np.int64)
        ids = self.p.ids
        return (rows, ids.get_indexer(dep["predecessor"].to_numpy()[rows]),
                ids.get_indexer(dep["successor"].to_numpy()[rows]))

    def rows(self, family: str, A, lo, hi, **meta) -> Rows:
        """A family's Rows, its block of A as wide as the model."""
        return Rows(family, sp.csr_matrix(A, shape=(A.shape[0], self.cols.n)), np.asarray(lo, float),
                    np.asarray(hi, float), meta)


def _select_rows(b: _Build) -> Rows:
    """Each initiative starts at most once; mandatory and forced-in ones exactly once."""
    p = b.p
    N = len(p.ids)
    return b.rows("select", b.cols.select_sum(np.arange(N)), p.must_select.astype(float), np.ones(N),
                  initiative=p.ids.to_numpy(object))


def _funding(b: _Build) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """Funding per capacity-table row: the limit with ungated money added, and the gated money as
    -amount * (milestone live by its milestone_period) = -amount * sum x[m, s <= mp - d_m]."""
    p, cols = b.p, b.cols
    rhs = p.capacity["amount"].to_numpy(float).copy()
    fund = p.funding
    if not len(fund):
        return rhs, None
    gated = fund["milestone"].notna().to_numpy()
    np.add.at(rhs, fund["capacity_row"].to_numpy()[~gated], fund["amount"].to_numpy()[~gated])
    gi = np.flatnonzero(gated)
    m_idx = p.ids.get_indexer(fund["milestone"].to_numpy()[gi])
    owner, mcols = cols.of(m_idx)
    dur = p.initiatives["duration"].to_numpy(np.int64)
    ok = cols.start[mcols] + dur[m_idx[owner]] <= fund["milestone_period"].to_numpy()[gi][owner]
    landing = sp.csr_matrix((-fund["amount"].to_numpy()[gi][owner[ok]],
                             (fund["capacity_row"].to_numpy()[gi][owner[ok]], mcols[ok])),
                            shape=(len(p.capacity), cols.n))
    return rhs, landing


def _capacity_rows(b: _Build) -> Rows:
    """Per capacity row with periods: use over its periods, plus purchases paid from revenue, minus
    the purchase that relieves it and any gated funding landing on it <= amount + ungated funding."""
    p, cols = b.p, b.cols
    cap, T, R = p.capacity, p.horizon.T, len(p.resources)
    n_periods, owner, period = _capacity_periods(cap)
    cap_res = p.resources.index.get_indexer(cap["resource"]).astype(np.int64)
    cover = sp.csr_matrix((np.ones(len(owner)), (cap_res[owner] * T + period, owner)), shape=(R * T, len(cap)))
    A_cap_x = ((b.usage + b.stop_use) @ cover).T.tocsr()  # capacity rows x x-columns
    A_cap_e = (b.ext_usage @ cover).T.tocsr()  # external purchases charged to revenue rows
    relieved = np.flatnonzero(cols.relief >= 0)
    relief = sp.csr_matrix((np.ones(len(relieved)), (relieved, cols.relief[relieved])),
                           shape=(len(cap), len(cols.ext_resource)))
    A_cap = sp.hstack([A_cap_x, A_cap_e - relief]).tocsr()
    rhs, landing = _funding(b)
    rhs = rhs - cover.T @ b.fixed_use  # stop costs, as if every stoppable initiative were stopped
    if landing is not None:
        A_cap = (A_cap + landing).tocsr()
    kept = np.flatnonzero(n_periods > 0)
    return b.rows("capacity", A_cap[kept], np.full(len(kept), -INF), rhs[kept],
                  resource=cap["resource"].to_numpy(object)[kept], period=cap["period"].to_numpy(object)[kept],
                  capacity_row=kept)


def precedence_form() -> str:
    """How precedence rows are written: "disaggregated" (the default), "first:K" or "short:W" (mixed forms,
    measured by benchmarks/formulation.py and not kept: see docs/performance.md). The switch is the
    environment variable PRIORITISER_PRECEDENCE, read at every build."""
    return os.environ.get("PRIORITISER_PRECEDENCE", "disaggregated").strip() or "disaggregated"


def _kept_precedence(form: str, t: np.ndarray, first: np.ndarray, last: np.ndarray,
                     ready: np.ndarray) -> np.ndarray | None:
    """Which cumulative rows (link, t) a mixed form keeps (None: all). Always the row at the window's last
    start (it says y_succ <= the predecessor started in time) and the rows before `ready`, the first period
    the predecessor can be done by (they only fix columns at 0); "first:K" also the K periods from `ready`
    on, "short:W" every row of a link whose window has at most W starts."""
    if form == "disaggregated":
        return None
    kind, _, n = form.partition(":")
    if kind not in ("first", "short") or not n.isdigit():
        raise ValueError(f"PRIORITISER_PRECEDENCE: {form!r} is not disaggregated, first:K or short:W")
    keep = (t >= last) | (t < ready)
    return keep | ((t - ready < int(n)) if kind == "first" else (last - first + 1 <= int(n)))


def _start_time_rows(b: _Build, pred: np.ndarray, succ: np.ndarray,
                     shift: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """One row per link: S_succ - S_pred - M y_succ >= shift - M, with S = sum s x[., s] and M = shift + the
    predecessor's last start (both at least 0, so an empty window makes no impossible row), written as
    -S_succ + S_pred + M y_succ <= M - shift. With y_succ <= the predecessor selected in time (the last
    cumulative row) it holds exactly the integer plans the cumulative rows hold: y_succ = 1 gives
    S_succ >= S_pred + shift; y_succ = 0 gives S_pred <= its last start, always true."""
    cols = b.cols
    big_m = np.maximum(shift + np.maximum(cols.last[pred], 0), 0).astype(float)
    o1, c1 = cols.of(succ)
    o2, c2 = cols.of(pred)
    values = np.concatenate([-cols.start[c1] + big_m[o1], cols.start[c2].astype(float)])
    A = sp.csr_matrix((values, (np.concatenate([o1, o2]), np.concatenate([c1, c2]))), shape=(len(succ), cols.n))
    return A, big_m - shift


def _precedence_rows(b: _Build) -> Rows | None:
    """Finish-to-start and start-to-start links in cumulative (disaggregated) form, one row per link
    and period t of the successor's window: sum_{s <= t} x[succ, s] <= sum_{s <= t - shift} x[pred, s].
    A mixed form (`precedence_form`) keeps some of these rows and adds one start-time row per link
    that lost any (`_start_time_rows`): the same integer plans, a weaker LP, fewer nonzeros."""
    p, cols = b.p, b.cols
    dep_row, pred, succ = b.links(("finish_to_start", "start_to_start"))
    if not len(dep_row):
        return None
    typ = p.dependencies["type"].to_numpy()[dep_row]
    dur = p.initiatives["duration"].to_numpy(np.int64)
    shift = p.dependencies["lag"].to_numpy(np.int64)[dep_row] + np.where(typ == "finish_to_start", dur[pred], 0)
    first, last = cols.first[succ], cols.last[succ]
    # an empty successor window still needs y_succ <= y_pred: use one row at t = its last start
    link, t = _ranges(first, np.maximum(last, first) + 1)
    ready = np.maximum(first, cols.first[pred] + shift)
    keep = _kept_precedence(precedence_form(), t, first[link], np.maximum(last, first)[link], ready[link])
    if keep is not None:
        link, t = link[keep], t[keep]
    o1, c1 = cols.of(succ[link], np.clip(t - first[link] + 1, 0, cols.n_start[succ][link]))
    upto = np.clip(t - shift[link] - cols.first[pred][link] + 1, 0, cols.n_start[pred][link])
    o2, c2 = cols.of(pred[link], upto)
    A = sp.csr_matrix((np.concatenate([np.ones(len(c1)), -np.ones(len(c2))]),
                       (np.concatenate([o1, o2]), np.concatenate([c1, c2]))), shape=(len(link), cols.n))
    hi = np.zeros(len(link))
    if keep is not None:  # the links that lost a row get their start-time row
        short = np.flatnonzero(np.bincount(link, minlength=len(dep_row)) < np.maximum(last - first + 1, 1))
        A_s, hi_s = _start_time_rows(b, pred[short], succ[short], shift[short])
        A, hi = sp.vstack([A, A_s]).tocsr(), np.concatenate([hi, hi_s])
        link, t = np.concatenate([link, short]), np.concatenate([t, np.maximum(last, first)[short]])
    ids = p.ids.to_numpy(object)
    labels = np.array([p.horizon.label(k) for k in range(int(t.max()) + 1)], dtype=object)
    return b.rows("precedence", A, np.full(len(link), -INF), hi, period=labels[t],
                  predecessor=ids[pred][link], successor=ids[succ][link], dependency=typ[link],
                  dependency_row=dep_row[link])


def _selection_link_rows(b: _Build, family: str, sign: float, bound: float) -> Rows | None:
    """y_succ + sign * y_pred <= bound for every dependency of type `family`."""
    dep_row, pred, succ = b.links((family,))
    if not len(dep_row):
        return None
    ids = b.p.ids.to_numpy(object)
    return b.rows(family, b.cols.select_sum(succ) + sign * b.cols.select_sum(pred), np.full(len(dep_row), -INF),
                  np.full(len(dep_row), bound), predecessor=ids[pred], successor=ids[succ],
                  dependency=np.full(len(dep_row), family, dtype=object), dependency_row=dep_row)


def _requires_rows(b: _Build) -> Rows | None:
    """y_succ <= y_pred, whenever they start."""
    return _selection_link_rows(b, "requires", -1.0, 0.0)


def _excludes_rows(b: _Build) -> Rows | None:
    """y_a + y_b <= 1."""
    return _selection_link_rows(b, "excludes", 1.0, 1.0)


def _max_moved_rows(b: _Build) -> Rows | None:
    """At most max_moved approved initiatives moved or dropped: sum (moved_i + dropped_i) =
    sum (1 - x[i, a_i]) <= max_moved, i.e. sum x[i, a_i] >= approved - max_moved."""
    most = b.p.settings.changes.max_moved
    approved, _, at_approved = _approved_columns(b.p, b.cols)
    if most is None or len(approved) <= most:
        return None
    A = sp.csr_matrix((np.ones(len(at_approved)), (np.zeros(len(at_approved), np.int64), at_approved)),
                      shape=(1, b.cols.n))
    return b.rows("max_moved", A, [len(approved) - most], [INF])


def _target_rows(b: _Build) -> Rows | None:
    """Money rules: each target a row, sum over x columns of that year's measure >= at_least (format v1.1
    `targets`). `resource` is the measure and `period` the financial year, for the diagnosis."""
    targets = b.p.targets
    if not len(targets):
        return None
    measure = target_measures(b.p, b.cols.init, b.cols.start)  # x columns x targets
    A = sp.hstack([sp.csr_matrix(measure.T), sp.csr_matrix((len(targets), len(b.cols.ext_resource)))])
    return b.rows("target", A, targets["at_least"].to_numpy(float),
                  np.full(len(targets), INF), resource=targets["measure"].to_numpy(object),
                  period=targets["financial_year"].to_numpy(object))


# The constraint families in row order; a family with nothing to say returns None and is left out.
FAMILIES = (_select_rows, _capacity_rows, _precedence_rows, _requires_rows, _excludes_rows, _max_moved_rows,
            _target_rows)


def _row_table(families: list[Rows]) -> pd.DataFrame:
    """`Model.rows`: the families' metadata stacked, missing where a family has no such entry."""
    bounds = np.cumsum([0, *map(len, families)])
    table = {name: np.full(bounds[-1], -1, np.int64) if name in _INTEGER_ROW_COLUMNS else np.empty(bounds[-1], object)
             for name in ROW_COLUMNS}
    for f, lo, hi in zip(families, bounds[:-1], bounds[1:]):
        table["family"][lo:hi] = f.family
        for name, values in f.meta.items():
            table[name][lo:hi] = values
    for name in _INTEGER_ROW_COLUMNS:
        table[name] = pd.arrays.IntegerArray(table[name], table[name] < 0)
    return pd.DataFrame(table)


def _stack(families: list[Rows]) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, dict[str, slice]]:
    """A, row_lo, row_hi and the slice of rows of each family."""
    spans, start = {}, 0
    for f in families:
        spans[f.family] = slice(start, start + len(f))
        start += len(f)
    return (sp.vstack([f.A for f in families]).tocsr(), np.concatenate([f.lo for f in families]),
            np.concatenate([f.hi for f in families]), spans)


def build_model(p: Portfolio) -> Model:
    t0 = time.perf_counter()
    cols = _columns(p)
    b = _Build(p, cols, _resource_use(p, cols), _external_use(p, cols), *_stop_use(p, cols))
    components = _objective_pieces(p, cols, b.usage)
    c, constant = _objective(p, cols, components)
    families = [rows for rows in (family(b) for family in FAMILIES) if rows is not None]
    A, row_lo, row_hi, spans = _stack(families)
    n_e = len(cols.ext_resource)
    ext_max = p.resources["external_max"].to_numpy(float)[cols.ext_resource]
    capacity_rows = np.full(len(p.capacity), -1)
    capacity = next(f for f in families if f.family == "capacity")
    capacity_rows[capacity.meta["capacity_row"]] = spans["capacity"].start + np.arange(len(capacity))
    return Model(portfolio=p, n_x=cols.n_x, col_init=cols.init, col_start=cols.start,
                 ext_resource=cols.ext_resource, ext_period=cols.ext_period, c=c,
                 col_hi=np.concatenate([np.ones(cols.n_x), ext_max]),
                 integer=np.concatenate([np.ones(cols.n_x, bool), np.zeros(n_e, bool)]),
                 A=A, row_lo=row_lo, row_hi=row_hi, rows=_row_table(families), families=spans,
                 components=components, usage=b.usage, ext_usage=b.ext_usage, capacity_rows=capacity_rows,
                 build_seconds=time.perf_counter() - t0, cols_of=cols.per_initiative(), objective_constant=constant,
                 stop_use=b.stop_use, fixed_use=b.fixed_use, tiebreak=_tiebreak(p, cols, c),
                 kept_values=_kept_values(p))
