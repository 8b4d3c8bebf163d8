"""Plain answers from a solved model: the plan table with a reason for every initiative left out,
and use of every resource against its limits.

What a model row limits is read from `Model.rows` (never from display labels); the rules an
initiative is bound by are read from the portfolio's own tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .formatting import fte, money
from .model import Model
from .schema import RISK_RANGE_COLUMNS

BINDING_SHARE = 0.005  # a limit binds when the plan uses it to within this share of its capacity
VALUE_COLUMNS = ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost")
TRAINING_COLUMNS = ("trainer_fte_periods", "clinical_fte_periods", "training_cost")
# input columns the plan table does not pass through (it has its own columns for what matters)
_MODEL_INPUTS = {"duration", "earliest_start", "latest_finish", "capital_cost", "revenue_cost", "running_cost",
                 "benefit", "revenue", "ramp", "stop_cost",
                 # money rules: the cash-releasing share (benefits.csv), the figures as given and their uplifts
                 "cash_releasing", "capital_cost_given", "duration_given", "optimism_bias_capital",
                 "optimism_bias_duration"} | {c.name for c in RISK_RANGE_COLUMNS}


# ------------------------------------------------------------------------------------ plan table


def _chosen(model: Model, v: np.ndarray | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Start index per initiative (-1: not selected) and its objective pieces and value."""
    N = len(model.portfolio.initiatives)
    start_idx = np.full(N, -1)
    values = {k: np.zeros(N) for k in (*VALUE_COLUMNS, "value")}
    if v is not None:
        chosen = np.flatnonzero(v[:model.n_x] > 0.5)
        start_idx[model.col_init[chosen]] = model.col_start[chosen]
        for k in VALUE_COLUMNS:
            values[k][model.col_init[chosen]] = model.components[k].to_numpy()[chosen]
        values["value"][model.col_init[chosen]] = model.c[chosen]
    return start_idx, values


def plan_table(model: Model, v: np.ndarray | None, status) -> pd.DataFrame:
    p = model.portfolio
    ini = p.initiatives
    H = p.horizon
    start_idx, values = _chosen(model, v)
    selected = start_idx >= 0
    golive_idx = np.where(selected, start_idx + ini["duration"].to_numpy(), -1)
    plan = pd.DataFrame({
        "name": ini["name"], "category": ini["category"], "directorate": ini["directorate"],
        "mandatory": ini["mandatory"], "selected": selected,
        "start": [H.label(s) if s >= 0 else "" for s in start_idx],
        "go_live": [H.label(g) if g >= 0 else "" for g in golive_idx],
        "start_index": start_idx, "go_live_index": golive_idx,
        "pv_benefit": values["pv_benefit"], "pv_revenue": values["pv_revenue"],
        "in_year_revenue": values["in_year_revenue"], "pv_cost": values["pv_cost"],
        "alignment": values["alignment"], "value": values["value"],
        "reason": reasons(model, v) if v is not None else [f"no plan ({status})"] * len(ini),
        "status": plan_status(p),
        **training_load(p, start_idx),
    }, index=ini.index)
    known = set(plan.columns) | _MODEL_INPUTS
    for col in ini.columns:  # passthrough columns the user added
        if col not in known and not col.startswith("score_"):
            plan[col] = ini[col]
    return plan


def plan_status(p) -> np.ndarray:
    """plan.csv's `status`: the initiatives' own, with `approved` for what the approved plan approves."""
    status = p.initiatives["status"].to_numpy(object).copy()
    status[(status == "proposed") & p.is_approved] = "approved"
    return status


def training_load(p, start_idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per initiative, the training its start puts inside the horizon: trainer and clinical FTE-periods
    and the bank and locum pay (£), from the demand rows validation made of the training table."""
    N, T = len(p.ids), p.horizon.T
    out = {name: np.zeros(N) for name in TRAINING_COLUMNS}
    dem = p.demands[p.demands["training_row"].notna()] if "training_row" in p.demands else p.demands.iloc[:0]
    if not len(dem):
        return out
    who = p.ids.get_indexer(dem["initiative"])
    period = start_idx[who] + dem["k"].to_numpy(np.int64)
    inside = (start_idx[who] >= 0) & (period >= 0) & (period < T)
    for name, resource in zip(TRAINING_COLUMNS, ("trainer", "clinical_time", "revenue")):
        hit = inside & (dem["resource"] == resource).to_numpy()
        np.add.at(out[name], who[hit], dem["amount"].to_numpy(float)[hit])
    return out


# ------------------------------------------------------------------------------------ reasons


class _Reasons:
    """Why each unselected initiative is out, given the plan `v`."""

    def __init__(self, model: Model, v: np.ndarray):
        self.model = model
        self.p = p = model.portfolio
        self.selected = np.zeros(len(p.ids), bool)
        self.selected[model.col_init[v[:model.n_x] > 0.5]] = True
        self.v = v
        self.act = model.A @ v
        self.forced_out = set(p.settings.force_out)
        self._A_csc = None
        self._relief = None
        self._predecessor = None
        # per initiative, in dependency order: the initiatives it excludes and its predecessors
        self.rivals: list[list[str]] = [[] for _ in p.ids]
        self.predecessors: list[list[str]] = [[] for _ in p.ids]
        dep = p.dependencies
        for a, b, t in zip(dep["predecessor"], dep["successor"], dep["type"]):
            if t == "excludes":
                self.rivals[p.ids.get_loc(a)].append(b)
                if b != a:
                    self.rivals[p.ids.get_loc(b)].append(a)
            else:
                self.predecessors[p.ids.get_loc(b)].append(a)

    @property
    def A(self):
        if self._A_csc is None:
            self._A_csc = self.model.A.tocsc()
        return self._A_csc

    @property
    def relief(self) -> np.ndarray:
        """The purchase column that relieves each model row (-1: none)."""
        if self._relief is None:
            E = self.model.A[:, self.model.n_x:].tocoo()
            self._relief = np.full(self.model.A.shape[0], -1)
            self._relief[E.row[E.data < 0]] = E.col[E.data < 0] + self.model.n_x
        return self._relief

    @property
    def predecessor(self) -> np.ndarray:
        """The predecessor of each model row (of the dependency families)."""
        if self._predecessor is None:
            self._predecessor = self.model.rows["predecessor"].to_numpy(object)
        return self._predecessor

    def is_selected(self, name: str) -> bool:
        return bool(self.selected[self.p.ids.get_loc(name)])

    def reason(self, i: int) -> str:
        """The most specific reason first ("" for a selected initiative)."""
        name = self.p.ids[i]
        if self.selected[i]:
            return ""
        if self.p.in_progress[i]:
            return self.stopped(name)
        if name in self.forced_out:
            return "forced out by the scenario"
        cols = self.model.cols_of[i]
        if len(cols) == 0:
            return self.no_window(i)
        rivals = [r for r in self.rivals[i] if self.is_selected(r)]
        if rivals:
            return f"alternative to {', '.join(rivals)}, which is selected"
        needs = [a for a in self.predecessors[i] if not self.is_selected(a)]
        if needs:
            return f"needs {', '.join(needs)}, which {'is' if len(needs) == 1 else 'are'} not selected"
        c = self.model.c
        best = cols[np.argmax(c[cols])]
        if c[best] <= 0:
            return f"costs more than it returns within the horizon (best value {money(c[best])})"
        return self.blocked(cols)

    def stopped(self, name: str) -> str:
        """What stopping work in progress gives and gives up (present values, as in the objective)."""
        kept = self.model.kept_values.loc[name]
        why = " (forced out by the scenario)" if name in self.forced_out else ""
        saves, pays, loses = kept["pv_cost"], kept["stop_cost"], kept["pv_benefit"] + kept["pv_revenue"]
        text = (f"stopped{why}: saves {money(saves)} of remaining cost, pays {money(pays)} exit cost, loses "
                f"{money(loses)} benefit")
        if saves < pays + loses and not why:  # a loss on its own: what it frees pays for more elsewhere
            text += "; the money and staff it frees are worth more to the rest of the plan"
        return text

    def no_window(self, i: int) -> str:
        """Why no start is left: its own window, or its staff's training not fitting in the horizon."""
        p = self.p
        k, ini = int(p.training_periods[i]), p.initiatives.iloc[i]
        if k and not p.in_progress[i]:
            last = p.horizon.T - 1 if pd.isna(ini["latest_finish"]) else int(ini["latest_finish"]) - ini["duration"] + 1
            if ini["earliest_start"] <= min(last, p.horizon.T - 1):
                return (f"its staff cannot all be trained inside the horizon: training takes {k} period(s) before "
                        "go-live, and no start leaves room for it")
        return "no start in the horizon meets its earliest start and latest finish"

    def column(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        A = self.A
        return A.indices[A.indptr[col]:A.indptr[col + 1]], A.data[A.indptr[col]:A.indptr[col + 1]]

    def extra_use(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, added activity) if column `col` started on top of the plan, buying the external
        staff its one-period staff limits would need (as far as `external_max` still allows; the
        purchase is paid from revenue)."""
        m = self.model
        rows, add = self.column(col)
        delta = dict(zip(rows.tolist(), add.tolist()))
        excess = self.act[rows] + add - m.row_hi[rows]
        buy: dict[int, float] = {}
        for r, over in zip(rows, excess):
            e = self.relief[r]
            if over > 0 and e >= 0:
                buy[e] = max(buy.get(e, 0.0), over)
        for e, amount in buy.items():
            amount = min(amount, m.col_hi[e] - self.v[e])
            for r, a in zip(*self.column(e)):
                delta[r] = delta.get(r, 0.0) + amount * a
        touched = np.fromiter(delta, dtype=np.int64, count=len(delta))
        return touched, np.fromiter(delta.values(), dtype=float, count=len(delta))

    def over(self, col: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows that starting column `col` on top of the plan would break, and by how much."""
        m = self.model
        r, a = self.extra_use(col)
        short = self.act[r] + a - m.row_hi[r]
        broken = (a > 0) & (short > 1e-6 * np.maximum(1, np.abs(m.row_hi[r])))
        return r[broken], short[broken]

    def blocked(self, cols: np.ndarray) -> str:
        """What stops it fitting, given everything selected: judge each start that is worth having and
        report the one blocked by the fewest limits, then the smallest shortfall (timing first: a
        start before a predecessor allows is no option at all)."""
        m = self.model
        family = m.row_family
        options = []
        for col in cols[m.c[cols] > 0]:
            over, short = self.over(col)
            fam = family[over]
            limits = fam == "capacity"
            size = np.maximum(np.abs(m.row_hi[over[limits]]), 1.0)
            options.append(((fam == "precedence").sum() > 0, int(limits.sum()), float((short[limits] / size).sum()),
                            -m.c[col], col, over[limits], short[limits], over[fam == "precedence"]))
        options.sort(key=lambda o: o[:4])
        timed_out, n_limits, _, _, col, limits, short, timing = options[0]
        at = self.p.horizon.label(m.col_start[col])
        if timed_out:
            waits = sorted(set(self.predecessor[timing]))
            return f"no start that is worth it comes late enough after {', '.join(waits)}"
        if n_limits:
            return (f"does not fit: {shortfall_text(m, limits, short)} than is left at its least-blocked start ({at}), "
                    "already committed to higher-value initiatives")
        return f"adding it at {at} would not raise the objective once every other limit and purchase is counted"


def limit_amount(p, resource: str, amount: float) -> str:
    """An amount of a resource in its unit: money in pounds, staff in FTE."""
    return money(amount) if p.resources.at[resource, "kind"] == "money" else fte(amount)


def shortfall_text(model: Model, rows: np.ndarray, short: np.ndarray, most: int = 3) -> str:
    """'needs £180,000 more capital in 2027/28 and 0.50 FTE more developer in 2027/28 Q2' for the
    capacity rows `rows` short by `short` (largest share of its limit first)."""
    meta = model.rows.iloc[rows]
    order = np.argsort(-short / np.maximum(np.abs(model.row_hi[rows]), 1.0), kind="stable")
    parts = [f"{limit_amount(model.portfolio, meta['resource'].iloc[k], short[k])} more {meta['resource'].iloc[k]} "
             f"in {meta['period'].iloc[k]}" for k in order[:most]]
    rest = len(rows) - most
    more = f" (and more in {rest} other limit{'s' if rest > 1 else ''})" if rest > 0 else ""
    return "needs " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + more


def reasons(model: Model, v: np.ndarray) -> list[str]:
    """Why each unselected initiative is out ("" for selected ones), most specific reason first."""
    why = _Reasons(model, v)
    return [why.reason(i) for i in range(len(model.portfolio.ids))]


# ------------------------------------------------------------------------------------ usage


def _landed_funding(model: Model, v: np.ndarray) -> np.ndarray:
    """Funding that lands on each capacity-table row under the plan `v`."""
    p = model.portfolio
    landed = np.zeros(len(p.capacity))
    x = v[:model.n_x]
    for _, f in p.funding.iterrows():  # funding rows are few
        if not isinstance(f["milestone"], str):
            landed[f["capacity_row"]] += f["amount"]
            continue
        i = p.ids.get_loc(f["milestone"])
        cols = model.cols_of[i]
        ok = cols[(model.col_start[cols] + p.initiatives["duration"].iloc[i]) <= f["milestone_period"]]
        if x[ok].sum() > 0.5:
            landed[f["capacity_row"]] += f["amount"]
    return landed


def _limits(model: Model, used: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
    """The tightest one-period limit of each (resource, period), and each longer limit with its use."""
    p = model.portfolio
    R, T = used.shape
    rows = model.rows[model.rows["family"] == "capacity"]
    j = rows["capacity_row"].to_numpy(np.int64)
    k = p.resources.index.get_indexer(rows["resource"])
    periods = p.capacity["periods"].to_numpy()[j]
    single = np.array([len(ps) == 1 for ps in periods], dtype=bool)
    per_period = np.full((R, T), np.nan)
    first = np.array([ps[0] for ps in periods[single]], dtype=np.int64)
    np.fmin.at(per_period, (k[single], first), limit[j[single]])
    longer = [(r, lbl, float(used[kk, list(ps)].sum()), float(limit[jj]))
              for r, lbl, kk, ps, jj in zip(rows["resource"], rows["period"], k, periods, j) if len(ps) > 1]
    return per_period, longer


def usage_table(model: Model, v: np.ndarray | None) -> pd.DataFrame:
    """One row per resource and period (and per financial-year limit): used, capacity, external."""
    p = model.portfolio
    H = p.horizon
    T = H.T
    res = list(p.resources.index)
    R = len(res)
    if v is None:
        v = np.zeros(model.n_cols)
    used = model.resource_use(v)
    external = np.zeros((R, T))
    np.add.at(external, (model.ext_resource, model.ext_period), v[model.n_x:])
    # limits including landed funding: the model row's effective right-hand side
    per_period, longer = _limits(model, used, p.capacity["amount"].to_numpy() + _landed_funding(model, v))
    table = pd.DataFrame({
        "resource": np.repeat(res, T), "period": np.tile(H.labels, R), "used": used.ravel(),
        "capacity": per_period.ravel(), "external": external.ravel(),
    })
    if longer:
        fy = pd.DataFrame(longer, columns=["resource", "period", "used", "capacity"])
        fy["external"] = np.nan
        table = pd.concat([table, fy], ignore_index=True)
    table["binding"] = binding(table["used"].to_numpy(float), table["capacity"].to_numpy(float))
    return table


def binding(used: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Whether each limit binds: used to within BINDING_SHARE of a positive capacity (or beyond it,
    with external staff bought). A limit of zero is closed rather than binding."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(capacity) & (capacity > 0) & (used >= (1 - BINDING_SHARE) * capacity)
