"""Plain answers from a solved model: the plan table with a reason for every initiative left out,
and use of every resource against its limits.

What a model row limits is read from `Model.rows` (never from display labels); the rules an
initiative is bound by are read from the portfolio's own tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .formatting import money
from .model import Model

VALUE_COLUMNS = ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost")
# input columns the plan table does not pass through (it has its own columns for what matters)
_MODEL_INPUTS = {"duration", "earliest_start", "latest_finish", "capital_cost", "revenue_cost", "running_cost",
                 "benefit", "revenue", "ramp"}


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
    }, index=ini.index)
    known = set(plan.columns) | _MODEL_INPUTS
    for col in ini.columns:  # passthrough columns the user added
        if col not in known and not col.startswith("score_"):
            plan[col] = ini[col]
    return plan


# ------------------------------------------------------------------------------------ reasons


class _Reasons:
    """Why each unselected initiative is out, given the plan `v`."""

    def __init__(self, model: Model, v: np.ndarray):
        self.model = model
        self.p = p = model.portfolio
        self.selected = np.zeros(len(p.ids), bool)
        self.selected[model.col_init[v[:model.n_x] > 0.5]] = True
        self.act = model.A @ v
        self.forced_out = set(p.settings.force_out)
        self._A_csc = None
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
        if name in self.forced_out:
            return "forced out by the scenario"
        cols = self.model.cols_of[i]
        if len(cols) == 0:
            return "no start in the horizon meets its earliest start and latest finish"
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

    def over(self, col: int) -> np.ndarray:
        """The rows that starting column `col` on top of the plan would break."""
        A, m = self.A, self.model
        r = A.indices[A.indptr[col]:A.indptr[col + 1]]
        a = A.data[A.indptr[col]:A.indptr[col + 1]]
        return r[(a > 0) & (self.act[r] + a > m.row_hi[r] + 1e-6 * np.maximum(1, np.abs(m.row_hi[r])))]

    def blocked(self, cols: np.ndarray) -> str:
        """What stops it fitting, given everything selected: judge each start that is worth having and
        report the one blocked by the fewest limits (timing first: a start before a predecessor allows
        is no option at all)."""
        m = self.model
        family = m.row_family
        options = []
        for col in cols[m.c[cols] > 0]:
            over = self.over(col)
            fam = family[over]
            options.append(((fam == "precedence").sum() > 0, (fam == "capacity").sum(), col,
                            over[fam == "capacity"], over[fam == "precedence"]))
        options.sort(key=lambda o: (o[0], o[1], -m.c[o[2]]))
        timed_out, n_limits, col, limits, timing = options[0]
        at = self.p.horizon.label(m.col_start[col])
        if timed_out:
            waits = sorted(set(self.predecessor[timing]))
            return f"no start that is worth it comes late enough after {', '.join(waits)}"
        if n_limits:
            labels = [m.row_label(r) for r in limits]
            shown = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
            return (f"no room: even at its least-blocked start ({at}) it would exceed {shown}, already "
                    "committed to higher-value initiatives")
        return f"adding it at {at} would not raise the objective once every other limit and purchase is counted"


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
    used = (model.usage.T @ v[:model.n_x] + model.ext_usage.T @ v[model.n_x:]).reshape(R, T)
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
    return table
