"""The selection-and-scheduling MILP, built as sparse arrays one constraint family at a time.

Columns: x[i, s] = 1 if initiative i starts in period s (only where its start window allows),
then e[r, p] >= 0, external purchase of staff r in period p (only where a per-period limit exists
and buying is allowed). The model maximises `c @ v` subject to `row_lo <= A @ v <= row_hi`.

Nothing here loops over (initiative, period) pairs: every family is generated from aligned index
arrays with `_ranges`, which expands integer intervals per owner into flat arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .portfolio import Portfolio

INF = np.inf


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For owners j with half-open integer intervals [lo_j, hi_j): (owner, value) for every member."""
    lo = np.asarray(lo, dtype=np.int64)
    lengths = np.maximum(np.asarray(hi, dtype=np.int64) - lo, 0)
    owner = np.repeat(np.arange(len(lo)), lengths)
    first = np.cumsum(lengths) - lengths
    value = lo[owner] + (np.arange(lengths.sum()) - first[owner])
    return owner, value


@dataclass
class Rows:
    """One constraint family before stacking."""

    family: str
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    labels: list[str]


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
    row_family: np.ndarray  # family name per row
    row_labels: list[str]
    families: dict[str, slice]
    # per-column pieces of the objective (x columns), for reports and explanations
    components: pd.DataFrame  # columns pv_benefit, pv_revenue, in_year_revenue, alignment, pv_cost
    usage: sp.csr_matrix  # (x columns) x (resource * T + period): use of each resource in each period
    ext_usage: sp.csr_matrix  # (e columns) x (resource * T + period)
    capacity_rows: np.ndarray  # model row of each capacity-table row (-1 if it has no periods)
    build_seconds: float = 0.0
    cols_of: list[np.ndarray] = field(default_factory=list)  # x columns of each initiative

    @property
    def n_cols(self) -> int:
        return len(self.c)


def start_windows(p: Portfolio) -> tuple[np.ndarray, np.ndarray]:
    """[first, last] allowed start per initiative; last < first means it cannot be selected."""
    ini = p.initiatives
    T = p.horizon.T
    first = ini["earliest_start"].to_numpy(np.int64)
    dur = ini["duration"].to_numpy(np.int64)
    lf = ini["latest_finish"].astype("float64").fillna(np.inf).to_numpy()
    last = np.minimum(T - 1, np.where(np.isfinite(lf), lf - dur + 1, T - 1)).astype(np.int64)
    last = np.where(p.forced_out, first - 1, last)
    return first, last


def build_model(p: Portfolio) -> Model:
    import time

    t0 = time.perf_counter()
    ini = p.initiatives
    T = p.horizon.T
    N = len(ini)
    res_names = list(p.resources.index)
    R = len(res_names)
    r_pos = {r: k for k, r in enumerate(res_names)}
    is_money = (p.resources["kind"] == "money").to_numpy()
    cap_r, rev_r = r_pos["capital"], r_pos["revenue"]
    w = p.settings.weights
    df = p.discount()

    # ---------------------------------------------------------------- x columns
    first, last = start_windows(p)
    n_start = np.maximum(last - first + 1, 0)
    col_init, col_start = _ranges(first, last + 1)
    n_x = len(col_init)
    col_offset = np.cumsum(n_start) - n_start
    cols_of = [np.arange(col_offset[i], col_offset[i] + n_start[i]) for i in range(N)]
    dur = ini["duration"].to_numpy(np.int64)
    d_col = dur[col_init]
    golive = col_start + d_col

    # ---------------------------------------------------------------- use of resources
    # Triplets (column, resource, period, amount); spans are clipped to the horizon.
    trip_c, trip_r, trip_p, trip_v = [], [], [], []

    def add_spans(cols, res, lo, hi, amount):
        lo = np.clip(lo, 0, T)
        hi = np.clip(hi, 0, T)
        owner, period = _ranges(lo, hi)
        trip_c.append(cols[owner])
        trip_r.append(np.broadcast_to(res, cols.shape)[owner])
        trip_p.append(period)
        trip_v.append(np.broadcast_to(amount, cols.shape)[owner])

    cols = np.arange(n_x)
    build_end = col_start + d_col
    add_spans(cols, cap_r, col_start, build_end, (ini["capital_cost"].to_numpy() / dur)[col_init])
    add_spans(cols, rev_r, col_start, build_end, (ini["revenue_cost"].to_numpy() / dur)[col_init])
    add_spans(cols, rev_r, golive, np.full(n_x, T), ini["running_cost"].to_numpy()[col_init])
    dem = p.demands
    if len(dem):
        d_init = ini.index.get_indexer(dem["initiative"])
        d_res = np.array([r_pos[r] for r in dem["resource"]], dtype=np.int64)
        d_kind = dem["offset_kind"].to_numpy()
        d_k = dem["k"].to_numpy(np.int64)
        d_amt = dem["amount"].to_numpy(float)
        # every (demand, column of its initiative) pair
        owner, dcols = _ranges(col_offset[d_init], col_offset[d_init] + n_start[d_init])
        s = col_start[dcols]
        kind = d_kind[owner]
        lo = np.where(kind == "k", s + d_k[owner], np.where(kind == "build", s, s + d_col[dcols]))
        hi = np.where(kind == "k", lo + 1, np.where(kind == "build", s + d_col[dcols], T))
        add_spans(dcols, d_res[owner], lo, hi, d_amt[owner])
    tc, tr, tp, tv = (np.concatenate(a) if a else np.zeros(0) for a in (trip_c, trip_r, trip_p, trip_v))
    usage = sp.csr_matrix((tv, (tc.astype(np.int64), (tr * T + tp).astype(np.int64))), shape=(n_x, R * T))
    usage.sum_duplicates()

    # ---------------------------------------------------------------- objective pieces per x column
    money_mask = np.repeat(is_money, T)
    pv_cost = usage @ (np.tile(df, R) * money_mask)
    k = np.arange(T)[None, :] - golive[:, None]  # periods since go-live
    ramp = ini["ramp"].to_numpy(np.int64)[col_init][:, None]
    f = np.where(k >= 0, np.minimum(1.0, (k + 1) / (ramp + 1)), 0.0)
    pv_f = f @ df
    benefit = ini["benefit"].to_numpy()[col_init]
    revenue = ini["revenue"].to_numpy()[col_init]
    in_year = (f * (p.horizon.fy == 0)[None, :]).sum(axis=1) * revenue
    alignment = p.alignment().to_numpy()[col_init]
    components = pd.DataFrame({"pv_benefit": pv_f * benefit, "pv_revenue": pv_f * revenue,
                               "in_year_revenue": in_year, "alignment": alignment, "pv_cost": pv_cost})
    c_x = (w["benefit"] * components["pv_benefit"] + w["revenue"] * components["pv_revenue"]
           + w["in_year_revenue"] * components["in_year_revenue"] + w["alignment"] * alignment
           - w["cost"] * pv_cost).to_numpy()

    # ---------------------------------------------------------------- e columns
    cap = p.capacity
    single = np.array([len(ps) == 1 for ps in cap["periods"]], dtype=bool)
    cap_res = np.array([r_pos[r] for r in cap["resource"]], dtype=np.int64)
    ext_max = p.resources["external_max"].to_numpy(float)
    ext_cost = p.resources["external_cost"].to_numpy(float)
    buyable = (~is_money) & (ext_max > 0) & bool(p.settings.external)
    ext_keys = sorted({(cap_res[j], cap.at[j, "periods"][0]) for j in np.flatnonzero(single) if buyable[cap_res[j]]})
    ext_resource = np.array([a for a, _ in ext_keys], dtype=np.int64)
    ext_period = np.array([b for _, b in ext_keys], dtype=np.int64)
    n_e = len(ext_keys)
    ext_usage = sp.csr_matrix((ext_cost[ext_resource], (np.arange(n_e), rev_r * T + ext_period)),
                              shape=(n_e, R * T))
    c_e = -w["cost"] * df[ext_period] * ext_cost[ext_resource]

    # ---------------------------------------------------------------- row families
    families: list[Rows] = []
    n_cols = n_x + n_e

    def rows(family, A, lo, hi, labels):
        families.append(Rows(family, sp.csr_matrix(A, shape=(A.shape[0], n_cols)), np.asarray(lo, float),
                             np.asarray(hi, float), labels))

    def select_sum(init_idx):
        """Rows (one per given initiative) summing its x columns: y_i."""
        owner, c_ = _ranges(col_offset[init_idx], col_offset[init_idx] + n_start[init_idx])
        return sp.csr_matrix((np.ones(len(c_)), (owner, c_)), shape=(len(init_idx), n_cols))

    # select once; mandatory / forced in select exactly once
    must = p.must_select
    ids = list(ini.index)
    rows("select", select_sum(np.arange(N)), must.astype(float), np.ones(N), [f"select {i}" for i in ids])

    # capacity: per capacity row, use over its periods (+ external where bought) <= amount + funding
    has_periods = np.array([len(ps) > 0 for ps in cap["periods"]], dtype=bool)
    cap_ids = np.flatnonzero(has_periods)
    cov_owner, cov_period = [], []
    for j in cap_ids:  # one entry per capacity row (not per initiative-period); rows are few
        ps = cap.at[j, "periods"]
        cov_owner.append(np.full(len(ps), j))
        cov_period.append(np.asarray(ps, dtype=np.int64))
    cov_owner = np.concatenate(cov_owner) if cov_owner else np.zeros(0, np.int64)
    cov_period = np.concatenate(cov_period) if cov_period else np.zeros(0, np.int64)
    cover = sp.csr_matrix((np.ones(len(cov_owner)), (cap_res[cov_owner] * T + cov_period, cov_owner)),
                          shape=(R * T, len(cap)))
    A_cap_x = (usage @ cover).T.tocsr()  # capacity rows x x-columns
    A_cap_e = (ext_usage @ cover).T.tocsr()  # external purchases charged to revenue rows
    # a purchase of r in p relieves every one-period row of r covering p
    e_key = {key: n for n, key in enumerate(ext_keys)}
    rel_rows, rel_cols = [], []
    for j in np.flatnonzero(single):
        n = e_key.get((cap_res[j], cap.at[j, "periods"][0]))
        if n is not None:
            rel_rows.append(j)
            rel_cols.append(n)
    A_cap_e = A_cap_e - sp.csr_matrix((np.ones(len(rel_rows)), (rel_rows, rel_cols)), shape=(len(cap), n_e))
    A_cap = sp.hstack([A_cap_x, A_cap_e]).tocsr()
    rhs = cap["amount"].to_numpy(float).copy()
    fund = p.funding
    if len(fund):
        gated = fund["milestone"].notna().to_numpy()
        np.add.at(rhs, fund["capacity_row"].to_numpy()[~gated], fund["amount"].to_numpy()[~gated])
        # gated money lands if the milestone has gone live by milestone_period: -F * sum x[m, s <= mp - d_m]
        gi = np.flatnonzero(gated)
        m_idx = ini.index.get_indexer(fund["milestone"].to_numpy()[gi])
        owner, mcols = _ranges(col_offset[m_idx], col_offset[m_idx] + n_start[m_idx])
        ok = col_start[mcols] + dur[m_idx[owner]] <= fund["milestone_period"].to_numpy()[gi][owner]
        landing = sp.csr_matrix((-fund["amount"].to_numpy()[gi][owner[ok]],
                                 (fund["capacity_row"].to_numpy()[gi][owner[ok]], mcols[ok])),
                                shape=(len(cap), n_cols))
        A_cap = (A_cap + landing).tocsr()
    cap_labels = [f"{r} {lbl}" for r, lbl in zip(cap["resource"], cap["period"])]
    rows("capacity", A_cap[cap_ids], np.full(len(cap_ids), -INF), rhs[cap_ids], [cap_labels[j] for j in cap_ids])

    # dependencies
    dep = p.dependencies
    pred = ini.index.get_indexer(dep["predecessor"]) if len(dep) else np.zeros(0, np.int64)
    succ = ini.index.get_indexer(dep["successor"]) if len(dep) else np.zeros(0, np.int64)
    typ = dep["type"].to_numpy() if len(dep) else np.zeros(0, object)
    lag = dep["lag"].to_numpy(np.int64) if len(dep) else np.zeros(0, np.int64)
    timed = np.flatnonzero(np.isin(typ, ["finish_to_start", "start_to_start"]))
    if len(timed):
        # cumulative (disaggregated) form, one row per dependency and period t of the successor's window:
        #   sum_{s <= t} x[succ, s]  <=  sum_{s <= t - shift} x[pred, s]
        shift = lag[timed] + np.where(typ[timed] == "finish_to_start", dur[pred[timed]], 0)
        sv = succ[timed]
        sv_first, sv_last = first[sv], last[sv]
        # an empty successor window still needs y_succ <= y_pred: use one row at t = its last start
        row_dep, row_t = _ranges(sv_first, np.maximum(sv_last, sv_first) + 1)
        # successor part: columns of succ with start <= t
        o1, c1 = _ranges(col_offset[sv][row_dep], col_offset[sv][row_dep]
                         + np.clip(row_t - sv_first[row_dep] + 1, 0, n_start[sv][row_dep]))
        pv = pred[timed]
        upto = np.clip(row_t - shift[row_dep] - first[pv][row_dep] + 1, 0, n_start[pv][row_dep])
        o2, c2 = _ranges(col_offset[pv][row_dep], col_offset[pv][row_dep] + upto)
        A = sp.csr_matrix((np.concatenate([np.ones(len(c1)), -np.ones(len(c2))]),
                           (np.concatenate([o1, o2]), np.concatenate([c1, c2]))), shape=(len(row_dep), n_cols))
        dep_labels = np.array([f"{typ[d]} {ids[pred[d]]} -> {ids[succ[d]]}" for d in timed], dtype=object)
        labels = dep_labels[row_dep].tolist()
        rows("precedence", A, np.full(len(row_dep), -INF), np.zeros(len(row_dep)), labels)
    req = np.flatnonzero(typ == "requires")
    if len(req):
        A = select_sum(succ[req]) - select_sum(pred[req])
        rows("requires", A, np.full(len(req), -INF), np.zeros(len(req)),
             [f"requires {ids[pred[d]]} -> {ids[succ[d]]}" for d in req])
    exc = np.flatnonzero(typ == "excludes")
    if len(exc):
        A = select_sum(succ[exc]) + select_sum(pred[exc])
        rows("excludes", A, np.full(len(exc), -INF), np.ones(len(exc)),
             [f"excludes {ids[pred[d]]} / {ids[succ[d]]}" for d in exc])

    A = sp.vstack([f_.A for f_ in families]).tocsr()
    row_lo = np.concatenate([f_.lo for f_ in families])
    row_hi = np.concatenate([f_.hi for f_ in families])
    spans, start = {}, 0
    for f_ in families:
        spans[f_.family] = slice(start, start + f_.A.shape[0])
        start += f_.A.shape[0]
    row_family = np.concatenate([np.full(f_.A.shape[0], f_.family, dtype=object) for f_ in families])
    labels = [lbl for f_ in families for lbl in f_.labels]
    capacity_rows = np.full(len(cap), -1)
    capacity_rows[cap_ids] = spans["capacity"].start + np.arange(len(cap_ids))

    return Model(portfolio=p, n_x=n_x, col_init=col_init, col_start=col_start, ext_resource=ext_resource,
                 ext_period=ext_period, c=np.concatenate([c_x, c_e]),
                 col_hi=np.concatenate([np.ones(n_x), ext_max[ext_resource]]),
                 integer=np.concatenate([np.ones(n_x, bool), np.zeros(n_e, bool)]),
                 A=A, row_lo=row_lo, row_hi=row_hi, row_family=row_family, row_labels=labels,
                 families=spans, components=components, usage=usage, ext_usage=ext_usage,
                 capacity_rows=capacity_rows, build_seconds=time.perf_counter() - t0, cols_of=cols_of)
