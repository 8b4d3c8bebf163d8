"""Plain answers from a solved model: the plan table with a reason for every initiative left out,
and use of every resource against its limits."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .model import Model


def _money(x: float) -> str:
    return f"£{x:,.0f}" if x >= 0 else f"-£{-x:,.0f}"


def plan_table(model: Model, v: np.ndarray | None, status) -> pd.DataFrame:
    p = model.portfolio
    ini = p.initiatives
    H = p.horizon
    N = len(ini)
    comp = model.components
    start_idx = np.full(N, -1)
    values = {k: np.zeros(N) for k in ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost", "value")}
    if v is not None:
        chosen = np.flatnonzero(v[:model.n_x] > 0.5)
        start_idx[model.col_init[chosen]] = model.col_start[chosen]
        for k in ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost"):
            values[k][model.col_init[chosen]] = comp[k].to_numpy()[chosen]
        values["value"][model.col_init[chosen]] = model.c[chosen]
    selected = start_idx >= 0
    dur = ini["duration"].to_numpy()
    golive_idx = np.where(selected, start_idx + dur, -1)
    plan = pd.DataFrame({
        "name": ini["name"], "category": ini["category"], "directorate": ini["directorate"],
        "mandatory": ini["mandatory"], "selected": selected,
        "start": [H.label(s) if s >= 0 else "" for s in start_idx],
        "go_live": [H.label(g) if g >= 0 else "" for g in golive_idx],
        "start_index": start_idx, "go_live_index": golive_idx,
        "pv_benefit": values["pv_benefit"], "pv_revenue": values["pv_revenue"],
        "in_year_revenue": values["in_year_revenue"], "pv_cost": values["pv_cost"],
        "alignment": values["alignment"], "value": values["value"],
        "reason": reasons(model, v) if v is not None else [f"no plan ({status})"] * N,
    }, index=ini.index)
    known = set(plan.columns) | {"duration", "earliest_start", "latest_finish", "capital_cost", "revenue_cost",
                                 "running_cost", "benefit", "revenue", "ramp"}
    for col in ini.columns:  # passthrough columns the user added
        if col not in known and not col.startswith("score_"):
            plan[col] = ini[col]
    return plan


def reasons(model: Model, v: np.ndarray) -> list[str]:
    """Why each unselected initiative is out ("" for selected ones), most specific reason first."""
    p = model.portfolio
    ids = list(p.ids)
    N = len(ids)
    x = v[:model.n_x] > 0.5
    selected = np.zeros(N, bool)
    selected[model.col_init[x]] = True
    act = model.A @ v
    dep = p.dependencies
    forced_out = set(p.settings.force_out)
    A_csc = None
    out = []
    for i, name in enumerate(ids):
        if selected[i]:
            out.append("")
            continue
        if name in forced_out:
            out.append("forced out by the scenario")
            continue
        cols = model.cols_of[i]
        if len(cols) == 0:
            out.append("no start in the horizon meets its earliest start and latest finish")
            continue
        rivals = [b if a == name else a for a, b, t in zip(dep["predecessor"], dep["successor"], dep["type"])
                  if t == "excludes" and name in (a, b) and selected[p.ids.get_loc(b if a == name else a)]]
        if rivals:
            out.append(f"alternative to {', '.join(rivals)}, which is selected")
            continue
        needs = [a for a, b, t in zip(dep["predecessor"], dep["successor"], dep["type"])
                 if t != "excludes" and b == name and not selected[p.ids.get_loc(a)]]
        if needs:
            out.append(f"needs {', '.join(needs)}, which {'is' if len(needs) == 1 else 'are'} not selected")
            continue
        best = cols[np.argmax(model.c[cols])]
        if model.c[best] <= 0:
            out.append(f"costs more than it returns within the horizon (best value {_money(model.c[best])})")
            continue
        # what stops it fitting, given everything selected: judge each start that is worth having,
        # report the one blocked by the fewest limits (timing first: a start before a predecessor
        # allows is no option at all)
        A = model.A.tocsc() if A_csc is None else A_csc
        A_csc = A
        options = []
        for col in cols[model.c[cols] > 0]:
            r = A.indices[A.indptr[col]:A.indptr[col + 1]]
            a = A.data[A.indptr[col]:A.indptr[col + 1]]
            over = r[(a > 0) & (act[r] + a > model.row_hi[r] + 1e-6 * np.maximum(1, np.abs(model.row_hi[r])))]
            fam = model.row_family[over]
            options.append(((fam == "precedence").sum() > 0, (fam == "capacity").sum(), col, over[fam == "capacity"],
                            over[fam == "precedence"]))
        options.sort(key=lambda o: (o[0], o[1], -model.c[o[2]]))
        timed_out, n_limits, col, limits, timing = options[0]
        if timed_out:
            waits = sorted({model.row_labels[r].split(" ", 1)[1].split(" -> ")[0] for r in timing})
            out.append(f"no start that is worth it comes late enough after {', '.join(waits)}")
        elif n_limits:
            labels = [model.row_labels[r] for r in limits]
            shown = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
            out.append(f"no room: even at its least-blocked start ({p.horizon.label(model.col_start[col])}) it "
                       f"would exceed {shown}, already committed to higher-value initiatives")
        else:
            out.append(f"adding it at {p.horizon.label(model.col_start[col])} would not raise the objective once "
                       "every other limit and purchase is counted")
    return out


def usage_table(model: Model, v: np.ndarray | None) -> pd.DataFrame:
    """One row per resource and period (and per financial-year limit): used, capacity, external."""
    p = model.portfolio
    H = p.horizon
    T = H.T
    res = list(p.resources.index)
    R = len(res)
    if v is None:
        v = np.zeros(model.n_cols)
    used = model.usage.T @ v[:model.n_x] + model.ext_usage.T @ v[model.n_x:]
    used = used.reshape(R, T)
    external = np.zeros((R, T))
    np.add.at(external, (model.ext_resource, model.ext_period), v[model.n_x:])
    # limits including landed funding: the model row's effective right-hand side
    cap = p.capacity
    landed = np.zeros(len(cap))
    if len(p.funding):
        x = v[:model.n_x]
        for _, f in p.funding.iterrows():
            if not isinstance(f["milestone"], str):
                landed[f["capacity_row"]] += f["amount"]
            else:
                i = p.ids.get_loc(f["milestone"])
                cols = model.cols_of[i]
                ok = cols[(model.col_start[cols] + p.initiatives["duration"].iloc[i]) <= f["milestone_period"]]
                if x[ok].sum() > 0.5:
                    landed[f["capacity_row"]] += f["amount"]
    limit = cap["amount"].to_numpy() + landed
    per_period = np.full((R, T), np.nan)
    r_pos = {r: k for k, r in enumerate(res)}
    fy_rows = []
    for j, (r, ps) in enumerate(zip(cap["resource"], cap["periods"])):
        if len(ps) == 1:
            k, t = r_pos[r], ps[0]
            per_period[k, t] = limit[j] if np.isnan(per_period[k, t]) else min(per_period[k, t], limit[j])
        elif len(ps) > 1:
            fy_rows.append((r, cap.at[j, "period"], float(used[r_pos[r], list(ps)].sum()), float(limit[j])))
    rows = pd.DataFrame({
        "resource": np.repeat(res, T), "period": np.tile(H.labels, R), "used": used.ravel(),
        "capacity": per_period.ravel(), "external": external.ravel(),
    })
    if fy_rows:
        fy = pd.DataFrame(fy_rows, columns=["resource", "period", "used", "capacity"])
        fy["external"] = np.nan
        rows = pd.concat([rows, fy], ignore_index=True)
    return rows
