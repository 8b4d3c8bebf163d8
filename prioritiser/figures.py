"""The figures a run's reports show, computed once: the console summary, report.xlsx, summary.json
and the dashboard read them from here, so they always agree.

- `spend_by_year`: capital and revenue spend per financial year against the committed budget, with
  milestone-gated central money (which lands only because this plan meets its milestone) apart.
- `objective_terms` / `objective_text`: what the objective is made of. It adds weighted alignment
  points to weighted money, so it is a score, never written with a £ sign; NPV is the money.
- `status_text`: what the solver proved, in words.
- `initiative_figures`: each initiative's money at its start in the plan, or, when it is left out,
  at its best start (what it would have cost and earned).
- `money_by_year`: each selected initiative's capital and revenue per financial year.
- `staff_use`: each staff role's use against capacity per period, and external staff in FTE and £.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .formatting import money, percent, score

TOLERANCE = 1e-6


# --------------------------------------------------------------------------------- spend by year
def _landed(result) -> np.ndarray:
    """Per funding row: True where the money lands under this plan (always, without a milestone)."""
    p = result.portfolio
    f = p.funding
    if f.empty:
        return np.zeros(0, bool)
    duration = p.initiatives["duration"]
    out = []
    for milestone, due in zip(f["milestone"], f["milestone_period"]):
        if not isinstance(milestone, str):
            out.append(True)
            continue
        start = result.starts.get(milestone)
        out.append(start is not None and start + int(duration[milestone]) <= due)
    return np.array(out, bool)


def capacity_money(result) -> pd.DataFrame:
    """Per capacity row: resource, period label, periods, committed (the row's amount plus funding
    that lands unconditionally) and gated (milestone-gated funding that lands under this plan)."""
    p = result.portfolio
    cap = p.capacity[["resource", "period", "periods"]].copy()
    committed = p.capacity["amount"].to_numpy(float).copy()
    gated = np.zeros(len(cap))
    f = p.funding
    if not f.empty:
        landed = _landed(result)
        tied = f["milestone"].map(lambda m: isinstance(m, str)).to_numpy(bool)
        rows = f["capacity_row"].to_numpy(np.int64)
        amount = f["amount"].to_numpy(float)
        np.add.at(committed, rows[~tied], amount[~tied])
        np.add.at(gated, rows[tied & landed], amount[tied & landed])
    cap["committed"] = committed
    cap["gated"] = gated
    return cap


def _year_budget(cap: pd.DataFrame, resource: str, fy: str, periods: list[int]) -> tuple[float, float]:
    """(committed, gated) limit of a resource over a financial year: its year row (the tightest if
    several), else the sum of its one-period rows when every period has one; NaN when unlimited."""
    rows = cap[cap["resource"] == resource]
    year = rows[(rows["period"] == fy) & (rows["periods"].map(len) > 1)]
    if len(year):
        k = (year["committed"] + year["gated"]).idxmin()
        return float(year.at[k, "committed"]), float(year.at[k, "gated"])
    single = rows[rows["periods"].map(len) == 1]
    committed = gated = 0.0
    for t in periods:
        here = single[single["periods"].map(lambda ps: ps[0] == t)]
        if here.empty:
            return float("nan"), float("nan")
        k = (here["committed"] + here["gated"]).idxmin()
        committed += float(here.at[k, "committed"])
        gated += float(here.at[k, "gated"])
    return committed, gated


def spend_by_year(result) -> pd.DataFrame:
    """Capital and revenue spend per financial year: spend, budget (committed money), gated
    (milestone-gated funding landed because the plan meets the milestone), available (budget +
    gated), headroom (available - spend)."""
    p = result.portfolio
    H = p.horizon
    usage = result.usage
    cap = capacity_money(result)
    fy_of = np.array([H.fy_label_of(t) for t in range(H.T)])
    rows = []
    for resource in ("capital", "revenue"):
        per = usage[(usage["resource"] == resource) & usage["period"].isin(H.labels)]
        used = dict(zip(per["period"], per["used"].astype(float)))
        for fy in dict.fromkeys(fy_of):
            periods = [int(t) for t in np.flatnonzero(fy_of == fy)]
            spend = sum(used.get(H.labels[t], 0.0) for t in periods)
            committed, gated = _year_budget(cap, resource, fy, periods)
            available = committed + gated
            rows.append({"resource": resource, "financial_year": fy, "spend": spend, "budget": committed,
                         "gated": gated, "available": available, "headroom": available - spend})
    return pd.DataFrame(rows, columns=["resource", "financial_year", "spend", "budget", "gated", "available",
                                       "headroom"])


# ------------------------------------------------------------------------------------ objective
TERMS = (  # component, label, unit, weight key, sign
    ("pv_benefit", "PV of benefits", "£", "benefit", 1),
    ("pv_revenue", "PV of new revenue", "£", "revenue", 1),
    ("in_year_revenue", "In-year revenue (first financial year)", "£", "in_year_revenue", 1),
    ("alignment", "Strategic alignment", "points", "alignment", 1),
    ("pv_cost", "PV of initiative costs", "£", "cost", -1),
    ("pv_external", "PV of external staff bought", "£", "cost", -1),
    ("stop_cost", "Stop costs of work in flight stopped", "£", "cost", -1),
    ("change_penalty", "Change penalties (approved initiatives moved or dropped)", "£", None, -1),
)


def objective_terms(result) -> pd.DataFrame:
    """One row per piece of the objective with a non-zero weight: term, amount, unit (£ or points),
    weight, contribution (signed weight x amount). The contributions add up to the objective."""
    w = result.portfolio.settings.weights
    c = result.components
    rows = []
    for key, label, unit, weight_key, sign in TERMS:
        weight = (float(w.get(weight_key, 0.0)) if weight_key else 1.0) * sign  # penalties are £ of objective as given
        if weight == 0 or key not in c:
            continue
        rows.append({"term": label, "amount": float(c[key]), "unit": unit, "weight": weight,
                     "contribution": weight * float(c[key])})
    return pd.DataFrame(rows, columns=["term", "amount", "unit", "weight", "contribution"])


def money_is_npv(result) -> bool:
    """True when the objective's money part is exactly NPV (unit weights, no in-year revenue term)."""
    w = result.portfolio.settings.weights
    return all(float(w.get(k, 0)) == 1.0 for k in ("benefit", "revenue", "cost")) and \
        float(w.get("in_year_revenue", 0)) == 0.0


def objective_text(result) -> str:
    """'5,950,234 = NPV £4,870,234 + 108.0 alignment points x 10,000': what the objective adds up."""
    if result.objective is None:
        return "-"
    c = result.components
    w_align = float(result.portfolio.settings.weights.get("alignment", 0.0))
    alignment = float(c.get("alignment", 0.0))
    penalty = float(c.get("change_penalty", 0.0))
    money_part = float(result.objective) - w_align * alignment + penalty
    what = f"NPV {money(money_part)}" if money_is_npv(result) else f"weighted money {money(money_part)}"
    if penalty:
        what += f" - change penalties {money(penalty)}"
    if w_align == 0 or abs(alignment) < TOLERANCE:
        return f"{score(result.objective)} (= {what}; no alignment term)" if w_align else \
            f"{score(result.objective)} (= {what})"
    return (f"{score(result.objective)} = {what} + {alignment:,.1f} alignment points x {w_align:,g} "
            "(a score, not money)")


def status_text(result) -> str:
    """What the solver proved, in one sentence a board member can read."""
    status = result.status.value
    gap = result.gap
    if status == "optimal":
        if gap is not None and gap > 1e-9:
            return (f"Optimal: proven best within the {percent(gap, 2)} tolerance - no plan can score more "
                    f"than {percent(gap, 2)} higher")
        return "Optimal: proven to be the best plan under these rules"
    if status == "feasible":
        room = f"by at most {percent(gap, 2)}" if gap is not None else "by an amount not yet known"
        why = result.message or "the solver stopped before proving it best"
        return f"Feasible but not proven best ({why}): a better plan may exist, {room}"
    if status == "infeasible":
        return "Infeasible: no plan meets every rule"
    return f"No plan: {result.message or 'the solver failed'}"


# ------------------------------------------------------------------------------ per initiative
def _best_columns(result) -> np.ndarray:
    """Per initiative: its x column in the plan, or (left out) the column worth most to the
    objective; -1 when it has no possible start."""
    model, p = result.model, result.portfolio
    out = np.full(len(p.ids), -1, dtype=np.int64)
    for i, name in enumerate(p.ids):
        cols = model.cols_of[i]
        if len(cols) == 0:
            continue
        start = result.starts.get(name)
        if start is not None:
            match = cols[model.col_start[cols] == start]
            if len(match):
                out[i] = match[0]
                continue
        out[i] = cols[np.argmax(model.c[cols])]
    return out


def initiative_figures(result) -> pd.DataFrame:
    """Index initiative: start label and go-live at its plan start or (left out) its best start, the
    capital and revenue it draws inside the horizon, PV benefit, revenue and cost, NPV, alignment."""
    model, p = result.model, result.portfolio
    H, T = p.horizon, p.horizon.T
    best = _best_columns(result)
    has = best >= 0
    safe = np.where(has, best, 0)
    comp = model.components.iloc[safe].reset_index(drop=True)
    usage = model.usage[safe].toarray() if model.n_x else np.zeros((len(p.ids), len(p.resources) * T))
    res = list(p.resources.index)
    capital = usage[:, res.index("capital") * T:(res.index("capital") + 1) * T].sum(axis=1)
    revenue = usage[:, res.index("revenue") * T:(res.index("revenue") + 1) * T].sum(axis=1)
    start = np.where(has, model.col_start[safe], -1)
    duration = p.initiatives["duration"].to_numpy(np.int64)
    out = pd.DataFrame({
        "start": [H.label(s) if s >= 0 else "" for s in start],
        "go_live": [H.label(s + d) if s >= 0 else "" for s, d in zip(start, duration)],
        "capital": capital, "revenue": revenue,
        "pv_benefit": comp["pv_benefit"].to_numpy(), "pv_revenue": comp["pv_revenue"].to_numpy(),
        "pv_cost": comp["pv_cost"].to_numpy(), "alignment": comp["alignment"].to_numpy(),
    }, index=p.ids)
    out["npv"] = out["pv_benefit"] + out["pv_revenue"] - out["pv_cost"]
    out.loc[~has, ["capital", "revenue", "pv_benefit", "pv_revenue", "pv_cost", "alignment", "npv"]] = np.nan
    return out


def money_by_year(result) -> pd.DataFrame:
    """Index initiative (selected ones, in start order), then 'External staff' when any was bought:
    columns (resource, financial year) for capital and revenue, undiscounted £ inside the horizon."""
    model, p = result.model, result.portfolio
    H, T = p.horizon, p.horizon.T
    res = list(p.resources.index)
    fy = np.array([H.fy_label_of(t) for t in range(T)])
    years = list(dict.fromkeys(fy))
    chosen = _best_columns(result)
    sel = [i for i, name in enumerate(p.ids) if result.starts.get(name) is not None]
    sel.sort(key=lambda i: (result.starts[p.ids[i]], p.ids[i]))
    rows = {p.ids[i]: model.usage[chosen[i]].toarray().ravel() for i in sel}
    if model.n_cols > model.n_x:
        e = np.zeros(model.n_cols - model.n_x)
        for (role, t), amount in result.external_purchases.items():
            hit = np.flatnonzero((model.ext_resource == res.index(role)) & (model.ext_period == t))
            e[hit] = amount
        external = model.ext_usage.T @ e
        if np.abs(external).sum() > TOLERANCE:
            rows["External staff"] = np.asarray(external).ravel()
    data = {}
    for resource in ("capital", "revenue"):
        r = res.index(resource)
        for year in years:
            mask = np.zeros(len(res) * T, bool)
            mask[r * T:(r + 1) * T] = fy == year
            data[(resource, year)] = [float(v[mask].sum()) for v in rows.values()]
    frame = pd.DataFrame(data, index=pd.Index(list(rows), name="initiative"))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["resource", "financial_year"])
    return frame


# ----------------------------------------------------------------------------------------- staff
def staff_use(result) -> pd.DataFrame:
    """One row per staff role and limit (periods, then any financial-year limits): role, period,
    financial_year, in_house (FTE of own staff used), capacity, share (in_house / capacity),
    external (FTE bought) and external_cost (£, undiscounted)."""
    p = result.portfolio
    H = p.horizon
    roles = p.resources.index[p.resources["kind"] == "staff"]
    u = result.usage[result.usage["resource"].isin(roles)].copy()
    ext = u["external"].astype(float).fillna(0.0)
    per_period = u["period"].isin(H.labels)
    u["financial_year"] = [H.fy_label_of(H.labels.index(lbl)) if pp else lbl
                           for lbl, pp in zip(u["period"], per_period)]
    u["in_house"] = u["used"].astype(float) - ext
    u["capacity"] = u["capacity"].astype(float)
    u["share"] = np.where(u["capacity"] > 0, u["in_house"] / u["capacity"].where(u["capacity"] > 0), np.nan)
    u["external"] = ext.where(per_period, np.nan)
    u["external_cost"] = u["external"] * p.resources["external_cost"].reindex(u["resource"]).to_numpy(float)
    return u.rename(columns={"resource": "role"})[
        ["role", "period", "financial_year", "in_house", "capacity", "share", "external", "external_cost"]
    ].reset_index(drop=True)


def external_staff(result) -> tuple[float, float, list[str]]:
    """(FTE-periods bought, their undiscounted cost in £, the roles bought)."""
    use = staff_use(result)
    bought = use[use["external"].fillna(0) > TOLERANCE]
    return float(bought["external"].sum()), float(bought["external_cost"].sum()), sorted(set(bought["role"]))
