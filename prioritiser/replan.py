"""Re-planning against the approved plan: what changed (`changes.csv`), what it cost in the objective,
and why an approved plan can no longer be kept when a re-plan is infeasible.

`diagnose` is a plain list of the limits and rules in the way, in the shape of `summary.json`'s
`diagnosis` (format v1.1, "Explanations"): the explanations issue's general diagnosis can take its
place as it is.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .model import Model, start_windows
from .portfolio import Portfolio

CHANGE_COLUMNS = ["id", "approved_start", "new_start", "change", "reason"]
RULE_WEIGHT = 1000.0  # a broken rule costs as much as a shortfall of 1000 times a limit's own size


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


def diagnose(model: Model, time_limit: float = 5.0) -> list[dict]:
    """Why no plan meets the scenario with the approved plan kept as `changes` asks: the approved
    initiatives whose approved start the new rules rule out, then the limits (and rules) that the plan
    nearest to feasible still breaks, found by a small elastic solve. Adding every `shortfall` to its
    limit (or dropping every named rule) makes the scenario feasible."""
    rules = _approved_start_rules(model.portfolio)
    named = {iid for item in rules for iid in item["initiatives"]}
    # an approved start ruled out leaves its initiative no start at all: said once, above
    return rules + [item for item in _elastic(model, time_limit)
                    if not (item.get("rule") == "approved" and set(item["initiatives"]) <= named)]


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


def _approved_start_rules(p: Portfolio) -> list[dict]:
    """Approved initiatives `changes.keep` holds to a start (or in the plan) that their new window rules out."""
    keep = p.settings.changes.keep
    if keep == "none":
        return []
    free = dataclasses.replace(p, settings=dataclasses.replace(
        p.settings, changes=dataclasses.replace(p.settings.changes, keep="none")))
    first, last = start_windows(free)
    items = []
    for i in np.flatnonzero(p.approved_starts >= 0):
        a, iid = int(p.approved_starts[i]), p.ids[i]
        if keep == "start" and not first[i] <= a <= last[i]:
            text = f"{iid} cannot keep its approved start {p.horizon.label(a)}: {_why_not(p, i, a)}"
        elif keep == "selection" and first[i] > last[i]:
            text = f"{iid} must stay in (changes.keep: selection), but no start in the horizon meets its window"
        else:
            continue
        items.append({"kind": "rule", "rule": "approved_start", "initiatives": [iid], "text": text})
    return items


def _why_not(p: Portfolio, i: int, a: int) -> str:
    """Which of the initiative's own rules a start at `a` breaks."""
    ini, H = p.initiatives.iloc[i], p.horizon
    d, k = int(ini["duration"]), int(p.training_periods[i])
    why = []
    if a < ini["earliest_start"]:
        why.append(f"its earliest start is now {H.label(int(ini['earliest_start']))}")
    if pd.notna(ini["latest_finish"]) and a + d - 1 > ini["latest_finish"]:
        why.append(f"it would build until {H.label(a + d - 1)}, after its latest finish "
                   f"{H.label(int(ini['latest_finish']))}")
    if k and not p.in_progress[i] and (a + d - k < 0 or a + d - 1 > H.T - 1):
        why.append(f"its training ({k} period(s) before go-live) would not lie inside the horizon")
    if ini.name in p.settings.force_out:
        why.append("the scenario forces it out")
    return "; ".join(why) or "its window no longer allows it"


def _elastic(model: Model, time_limit: float) -> list[dict]:
    """The plan nearest to feasible: every limit may be exceeded and every rule broken, at a price
    (a limit's shortfall as a share of the limit; a rule at RULE_WEIGHT); what it breaks."""
    from .solvers import solve

    A, lo, hi, family = model.A.tocsr(), model.row_lo, model.row_hi, model.row_family
    over = np.flatnonzero(np.isfinite(hi) & (family != "select"))  # A v - s <= hi
    under = np.flatnonzero(np.isfinite(lo) & (lo > 0))  # A v + s >= lo: must-select and max_moved rows
    rows = np.concatenate([over, under])
    sign = np.concatenate([-np.ones(len(over)), np.ones(len(under))])
    slack = sp.csr_matrix((sign, (rows, np.arange(len(rows)))), shape=(A.shape[0], len(rows)))
    # a limit's shortfall is priced as a share of the limit; breaking max_moved by one initiative as
    # much as doubling a limit; any other rule (what must be selected, dependencies) far more
    price = np.select([family[rows] == "capacity", family[rows] == "max_moved"],
                      [1.0 / np.maximum(1.0, np.abs(np.where(sign < 0, hi[rows], lo[rows]))), 1.0], RULE_WEIGHT)
    elastic = dataclasses.replace(
        model, A=sp.hstack([A, slack]).tocsr(), c=np.concatenate([np.zeros(model.n_cols), -price]),
        col_hi=np.concatenate([model.col_hi, np.where(family[rows] == "capacity", np.inf, 1.0)]),
        integer=np.concatenate([model.integer, np.zeros(len(rows), bool)]), tiebreak=None, objective_constant=0.0)
    outcome = solve(elastic, "highs", time_limit, 1e-6)
    if outcome.x is None:
        return [{"kind": "rule", "rule": "unknown", "initiatives": [],
                 "text": f"the limits in the way could not be found within {time_limit:g} s ({outcome.message})"}]
    v, s = outcome.x[:model.n_cols], outcome.x[model.n_cols:]
    broken = np.flatnonzero(s > 1e-6 * np.maximum(1.0, np.abs(np.where(sign < 0, hi[rows], lo[rows]))))
    return [_item(model, int(rows[j]), float(s[j]), v) for j in broken]


def _item(model: Model, r: int, amount: float, v: np.ndarray) -> dict:
    """One diagnosis entry for model row r, broken by `amount` in the elastic plan `v`."""
    p, meta = model.portfolio, model.rows.iloc[r]
    family = meta["family"]
    A = model.A.tocsr()
    cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
    used = cols[(cols < model.n_x) & (v[np.minimum(cols, model.n_cols - 1)] > 0.5)]
    ids = list(dict.fromkeys(p.ids[model.col_init[used]]))
    approved = set(p.approved.index)
    ids.sort(key=lambda i: i not in approved)  # the approved initiatives first
    if family == "capacity":
        money = p.resources.at[meta["resource"], "kind"] == "money"
        return {"kind": "limit", "resource": meta["resource"], "period": meta["period"],
                "shortfall": round(amount, 2 if money else 6), "initiatives": ids}
    if family == "max_moved":
        moved = [iid for iid, a in zip(p.ids, p.approved_starts) if a >= 0 and not any(
            v[c] > 0.5 and model.col_start[c] == a for c in model.cols_of[p.ids.get_loc(iid)])]
        return {"kind": "rule", "rule": "max_moved", "initiatives": moved,
                "text": f"{len(moved)} approved initiatives must move or drop; changes.max_moved allows "
                        f"{p.settings.changes.max_moved}"}
    if family == "select":
        iid = meta["initiative"]
        rule = _must_rule(p, iid)
        why = {"mandatory": "it is mandatory", "force_in": "the scenario forces it in",
               "in_progress": "it is in progress and may not stop",
               "approved": f"it is approved and changes.keep is {p.settings.changes.keep}"}[rule]
        return {"kind": "rule", "rule": rule, "initiatives": [iid],
                "text": f"{iid} must be selected ({why}) but no plan can fit it"}
    pair = [meta["predecessor"], meta["successor"]]
    return {"kind": "rule", "rule": "dependency", "initiatives": pair,
            "text": f"{meta['dependency']} {pair[0]} -> {pair[1]} cannot be kept"}


def _must_rule(p: Portfolio, iid: str) -> str:
    i = p.ids.get_loc(iid)
    if p.initiatives["mandatory"].iloc[i]:
        return "mandatory"
    if iid in p.settings.force_in:
        return "force_in"
    return "in_progress" if p.in_progress[i] else "approved"
