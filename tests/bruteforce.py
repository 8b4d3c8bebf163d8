"""Test support: a brute-force optimiser over plans, and a direct Portfolio builder.

``brute_force(portfolio)`` enumerates every plan (each initiative not selected, or
started in each period its own window allows), checks each with the independent
checker (``prioritiser.check``) buying the cheapest external staff the plan needs, and
returns the best objective and its starts.  Buying the least external capacity a plan
needs is optimal for that plan: purchases only cost money and draw on ``revenue``, so
more never makes a plan feasible or better.

``build_portfolio(...)`` makes a Portfolio-shaped object (the attributes the checker
reads) straight from Python values, without the engine's parser, for unit tests.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any, Iterable, Optional

import numpy as np
import pandas as pd

from prioritiser.check import PlanChecker

# ----------------------------------------------------------------------------------------
# brute force


def _options(ck: PlanChecker, i: int) -> list[Optional[int]]:
    iid = ck.ids[i]
    if iid in ck.force_out:
        return [None]
    starts: list[Optional[int]] = list(ck.allowed_starts(i))
    if not ck.required(i):  # mandatory, forced in, in progress (not stoppable), approved and kept
        starts = [None] + starts
    return starts


def _pair_ok(typ: str, lag: int, sa: Optional[int], da: int, sb: Optional[int]) -> bool:
    """Dependency a -> b of type ``typ`` given a's start ``sa`` (duration da) and b's ``sb``."""
    if typ == "excludes":
        return sa is None or sb is None
    if sb is None:
        return True
    if sa is None:
        return False
    if typ == "finish_to_start":
        return sb >= sa + da + lag
    if typ == "start_to_start":
        return sb >= sa + lag
    return True  # requires


def count_plans(portfolio: Any) -> int:
    """Number of plans brute force would enumerate before pruning."""
    ck = PlanChecker(portfolio)
    return int(np.prod([len(_options(ck, i)) for i in range(len(ck.ids))], dtype=float))


def brute_force(portfolio: Any, prune: bool = True, tol: float = 1e-6):
    """Best objective over all plans and its starts; ``(None, None)`` if no plan is feasible.

    With ``prune`` the enumeration skips partial plans that already break a dependency or
    exclusion (a depth-first search); every complete plan is still judged by the checker.
    """
    ck = PlanChecker(portfolio, tol=tol)
    n = len(ck.ids)
    options = [_options(ck, i) for i in range(n)]
    # dependency constraints checked as soon as both ends are assigned (the later index)
    checks: list[list[tuple[int, int, str, int]]] = [[] for _ in range(n)]
    for a, b, typ, lag in ck.deps:
        checks[max(a, b)].append((a, b, typ, lag))

    best_obj: Optional[float] = None
    best_starts: Optional[dict] = None

    def leaf(assign: list[Optional[int]]) -> None:
        nonlocal best_obj, best_starts
        starts = {ck.ids[i]: s for i, s in enumerate(assign)}
        ev = ck.evaluate(starts, None)
        if ev.ok and (best_obj is None or ev.objective > best_obj):
            best_obj, best_starts = ev.objective, starts

    if not prune:
        for combo in itertools.product(*options):
            leaf(list(combo))
        return best_obj, best_starts

    assign: list[Optional[int]] = [None] * n

    def dfs(i: int) -> None:
        if i == n:
            leaf(assign)
            return
        for s in options[i]:
            assign[i] = s
            if all(
                _pair_ok(typ, lag, assign[a], int(ck.duration[a]), assign[b]) for a, b, typ, lag in checks[i]
            ):
                dfs(i + 1)
        assign[i] = None

    dfs(0)
    return best_obj, best_starts


# ----------------------------------------------------------------------------------------
# direct Portfolio builder (no parser): quarter or year granularity from 2026/27


def fy_label(y: int) -> str:
    return f"{y}/{(y + 1) % 100:02d}"


def period_labels(T: int, granularity: str = "quarter", start_year: int = 2026, start_q: int = 0):
    """Labels and financial-year index of T periods starting at quarter ``start_q`` of FY start_year."""
    if granularity == "quarter":
        labels, fy = [], []
        for p in range(T):
            q = start_q + p
            labels.append(f"{fy_label(start_year + q // 4)} Q{q % 4 + 1}")
            fy.append(q // 4)
        return labels, np.array(fy, dtype=int), 4
    if granularity == "year":
        return [fy_label(start_year + p) for p in range(T)], np.arange(T, dtype=int), 1
    raise ValueError(granularity)


def _periods_of(label: str, labels: list[str], fy: np.ndarray, start_year: int) -> tuple[int, ...]:
    if label in labels:
        return (labels.index(label),)
    y = int(label[:4]) - start_year  # a financial-year label
    return tuple(int(p) for p in np.nonzero(fy == y)[0])


INITIATIVE_DEFAULTS = {
    "duration": 1,
    "earliest_start": 0,
    "latest_finish": None,
    "mandatory": False,
    "capital_cost": 0.0,
    "revenue_cost": 0.0,
    "running_cost": 0.0,
    "benefit": 0.0,
    "revenue": 0.0,
    "ramp": 0,
    "status": "proposed",
    "stop_cost": 0.0,
}
TRAINING_DEFAULTS = {"bank_locum_share": 0.0, "bank_rate": 0.0, "trainees_per_trainer": 10.0, "periods_before_go_live": 1}


def build_portfolio(
    initiatives: Iterable[dict],
    T: int = 4,
    granularity: str = "quarter",
    start_year: int = 2026,
    resources: Iterable[dict] = (),
    demands: Iterable[tuple] = (),
    capacity: Iterable[tuple] = (),
    funding: Iterable[tuple] = (),
    dependencies: Iterable[tuple] = (),
    discount_rate: float = 0.0,
    weights: Optional[dict] = None,
    alignment_weights: Optional[dict] = None,
    external: bool = True,
    force_in: Iterable[str] = (),
    force_out: Iterable[str] = (),
    training: Iterable[dict] = (),
    approved: Optional[dict] = None,
    allow_stopping: bool = False,
    changes: Optional[dict] = None,
):
    """A Portfolio-shaped SimpleNamespace.

    initiatives: dicts with ``id`` and any of INITIATIVE_DEFAULTS / ``score_<o>`` (period
    fields as indices); resources: dicts ``resource, kind, external_cost, external_max``
    (capital and revenue are added); demands: ``(initiative, resource, offset, amount)``
    with offset ``"build"``, ``"run"`` or an int k; capacity: ``(resource, label, amount)``
    with a period or financial-year label; funding: ``(source, resource, label, amount,
    milestone or None)``; dependencies: ``(predecessor, successor, type, lag)``; training: dicts of
    the training table's columns; approved: ``{id: start index}`` (below 0: before the horizon);
    changes: ``keep``, ``max_moved``, ``move_penalty``, ``drop_penalty``.
    """
    labels, fy, per_year = period_labels(T, granularity, start_year)
    horizon = SimpleNamespace(labels=labels, T=T, per_year=per_year, fy=fy)

    rows = []
    for d in initiatives:
        row = dict(INITIATIVE_DEFAULTS)
        row["name"] = d["id"]
        row.update(d)
        rows.append(row)
    ini = pd.DataFrame(rows).set_index("id")
    ini.index.name = "initiative"
    for c in ("duration", "earliest_start", "ramp"):
        ini[c] = ini[c].astype(int)
    ini["latest_finish"] = pd.array([None if v is None or pd.isna(v) else int(v) for v in ini["latest_finish"]], dtype="Int64")
    ini["mandatory"] = ini["mandatory"].astype(bool)
    for c in ("capital_cost", "revenue_cost", "running_cost", "benefit", "revenue", "stop_cost"):
        ini[c] = ini[c].astype(float)
    for c in ini.columns:
        if c.startswith("score_"):
            ini[c] = ini[c].fillna(0.0).astype(float)

    res_rows = [
        {"resource": "capital", "kind": "money", "external_cost": 0.0, "external_max": 0.0},
        {"resource": "revenue", "kind": "money", "external_cost": 0.0, "external_max": 0.0},
    ]
    for r in resources:
        res_rows.append({"kind": "staff", "external_cost": 0.0, "external_max": 0.0, **r})
    res = pd.DataFrame(res_rows).set_index("resource")
    res["hours_per_fte"] = res["hours_per_fte"].fillna(1650.0) if "hours_per_fte" in res else 1650.0

    dem = pd.DataFrame(
        [
            {
                "initiative": i,
                "resource": r,
                "offset_kind": off if isinstance(off, str) else "k",
                "k": 0 if isinstance(off, str) else int(off),
                "amount": float(a),
            }
            for i, r, off, a in demands
        ],
        columns=["initiative", "resource", "offset_kind", "k", "amount"],
    )

    cap_rows = [
        {"resource": r, "period": lab, "periods": _periods_of(lab, labels, fy, start_year), "amount": float(a)}
        for r, lab, a in capacity
    ]
    cap = pd.DataFrame(cap_rows, columns=["resource", "period", "periods", "amount"])

    fund_rows = []
    for src, r, lab, a, ms in funding:
        match = [k for k, c in enumerate(cap_rows) if c["resource"] == r and c["period"] == lab]
        assert match, f"funding {src}: no capacity row {r} {lab}"
        fund_rows.append(
            {
                "source": src,
                "resource": r,
                "period": lab,
                "amount": float(a),
                "milestone": ms,
                "capacity_row": match[0],
                "milestone_period": min(_periods_of(lab, labels, fy, start_year)),
            }
        )
    fund = pd.DataFrame(
        fund_rows, columns=["source", "resource", "period", "amount", "milestone", "capacity_row", "milestone_period"]
    )

    dep = pd.DataFrame(
        [{"predecessor": a, "successor": b, "type": t, "lag": int(l)} for a, b, t, l in dependencies],
        columns=["predecessor", "successor", "type", "lag"],
    )

    train = pd.DataFrame([{**TRAINING_DEFAULTS, **row} for row in training],
                         columns=["initiative", "staff_group", "headcount", "bank_locum_share", "hours_each", "bank_rate",
                                  "trainees_per_trainer", "periods_before_go_live"])
    approved_frame = pd.DataFrame({"start": pd.Series(dict(approved or {}), dtype="int64")})
    approved_frame.index.name = "initiative"
    approved_frame["label"] = ""
    w = {"benefit": 1.0, "revenue": 1.0, "in_year_revenue": 0.0, "alignment": 0.0, "cost": 1.0}
    w.update(weights or {})
    settings = SimpleNamespace(
        discount_rate=discount_rate,
        weights=w,
        alignment_weights=dict(alignment_weights or {}),
        external=external,
        force_in=list(force_in),
        force_out=list(force_out),
        allow_stopping=allow_stopping,
        changes=SimpleNamespace(**{"keep": "none", "max_moved": None, "move_penalty": 0.0, "drop_penalty": 0.0,
                                   **(changes or {})}),
    )
    return SimpleNamespace(
        horizon=horizon,
        initiatives=ini,
        resources=res,
        demands=dem,
        capacity=cap,
        funding=fund,
        dependencies=dep,
        settings=settings,
        training=train,
        approved=approved_frame,
    )
