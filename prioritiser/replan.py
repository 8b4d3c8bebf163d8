"""Re-planning against the approved plan: what changed (`changes.csv`) and what it cost in the objective.

Why an approved plan can no longer be kept, when a re-plan is infeasible, is the general diagnosis's
(diagnose.py: the approved starts `changes.keep` holds, `max_moved` and what must stay in are rules
it may drop, like any other).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .model import Model
from .portfolio import Portfolio

CHANGE_COLUMNS = ["id", "approved_start", "new_start", "change", "reason"]


# ------------------------------------------------------------------------------------ what changed


def planning_components(p: Portfolio, starts: dict) -> dict[str, float]:
    """The objective's planning-cycle components of a plan: stop costs paid (revenue, first period) and
    the change penalties (move_penalty per approved initiative moved, drop_penalty per one dropped)."""
    out = {}
    selected = np.array([starts.get(i) is not None for i in p.ids], dtype=bool)
    if p.in_progress.any():
        out["stop_cost"] = float(p.initiatives["stop_cost"].to_numpy(float)[p.in_progress & ~selected].sum())
    if len(p.approved):
        changes = p.settings.changes
        kinds = _change_kinds(p, starts)
        out["change_penalty"] = changes.move_penalty * float((kinds == "moved").sum()) + \
            changes.drop_penalty * float((np.isin(kinds, ("dropped", "stopped")) & (p.approved_starts >= 0)).sum())
    return out


def _change_kinds(p: Portfolio, starts: dict) -> np.ndarray:
    """Per initiative: added, dropped, moved, stopped or "" (no change) against the approved plan.
    Work in progress that continues is no change, approved or not; stopping it always is one."""
    a = p.approved_starts
    kinds = np.full(len(p.ids), "", dtype=object)
    for i, iid in enumerate(p.ids):
        s = starts.get(iid)
        if p.in_progress[i]:
            kinds[i] = "stopped" if s is None else ""
        elif a[i] >= 0:
            kinds[i] = "dropped" if s is None else ("moved" if s != a[i] else "")
        elif s is not None:
            kinds[i] = "added"
    return kinds


def departures(model: Model, v: np.ndarray) -> int:
    """How many initiatives the plan `v` adds, drops, moves or stops against the approved plan."""
    p = model.portfolio
    starts = {iid: None for iid in p.ids}
    for col in np.flatnonzero(v[:model.n_x] > 0.5):
        starts[p.ids[model.col_init[col]]] = int(model.col_start[col])
    return int((_change_kinds(p, starts) != "").sum())


def changes_table(p: Portfolio, starts: dict, plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """changes.csv: one row per initiative whose selection or start differs from the approved plan:
    id, approved_start, new_start, change (added, dropped, moved, stopped) and the plan's reason.
    Empty without an approved plan."""
    if not len(p.approved):
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    H = p.horizon
    kinds = _change_kinds(p, starts)
    labels = p.approved["label"].reindex(p.ids).fillna("").to_numpy(object)
    rows = []
    for i in np.flatnonzero(kinds != ""):
        iid = p.ids[i]
        s = starts.get(iid)
        reason = str(plan.at[iid, "reason"]) if plan is not None and kinds[i] in ("dropped", "stopped") else ""
        if kinds[i] == "moved":
            shift = int(s - p.approved_starts[i])
            reason = f"{abs(shift)} period(s) {'later' if shift > 0 else 'earlier'}"
        rows.append((iid, labels[i], H.label(s) if s is not None else "", kinds[i], reason))
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


# ------------------------------------------------------------------------------------ diagnosis


def approved_conflicts(model: Model, diagnosis: list[dict]) -> list[dict]:
    """The diagnosis turned round for a PMO: each approved initiative it names (in the portfolio's order)
    and what stands in the way of its approved start. One dict per initiative: `initiative`,
    `approved_start` (a label; "in flight" for work in progress), `limits` (each limit it draws on that
    the nearest plan overruns: `resource`, `period`, the limit's `shortfall` and `uses`, what this
    initiative itself takes from that limit at its approved start; None where the new rules leave it
    no such start) and `rules` (the text of each rule item naming it). Works on any diagnosis in
    summary.json's shape, ours (`diagnose`) or a fuller one."""
    p = model.portfolio
    entries: dict[str, dict] = {}
    for item in diagnosis:
        for iid in item["initiatives"]:
            if iid not in p.approved.index:
                continue
            entry = entries.setdefault(iid, {"initiative": iid, "approved_start": _approved_label(p, iid),
                                             "limits": [], "rules": []})
            if item["kind"] == "limit":
                entry["limits"].append({"resource": item["resource"], "period": item["period"],
                                        "shortfall": item["shortfall"], "uses": _use_at_approved(model, iid, item)})
            else:
                entry["rules"].append(item["text"])
    return [entries[iid] for iid in p.ids if iid in entries]


def _approved_label(p: Portfolio, iid: str) -> str:
    i = p.ids.get_loc(iid)
    return "in flight" if p.in_progress[i] else p.horizon.label(int(p.approved_starts[i]))


def _use_at_approved(model: Model, iid: str, item: dict) -> float | None:
    """What initiative `iid` started at its approved start uses of a limit item's resource over the
    limit's periods (costs, demands and training); None without that start."""
    p = model.portfolio
    i = p.ids.get_loc(iid)
    cols = model.cols_of[i]
    col = cols[model.col_start[cols] == p.approved_starts[i]]
    cap = p.capacity
    row = np.flatnonzero((cap["resource"] == item["resource"]).to_numpy() & (cap["period"] == item["period"]).to_numpy())
    if not len(col) or not len(row):
        return None
    r, T = p.resources.index.get_loc(item["resource"]), p.horizon.T
    flat = [r * T + t for t in cap["periods"].iat[row[0]]]
    money = p.resources.at[item["resource"], "kind"] == "money"
    return round(float(model.usage[col[0]].toarray().ravel()[flat].sum()), 2 if money else 6)


