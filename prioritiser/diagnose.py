"""Why a scenario has no plan, and the least that would give it one.

An elastic copy of the model lets every limit be exceeded (a shortfall, in £ or FTE, on its
capacity row) and every rule be dropped (what must be selected, a latest finish, a dependency), each
at a price. It is solved in four steps:

1. the fewest things relaxed;
2. among those, the cheapest: a limit before a rule (a shortfall priced as a share of its limit,
   below 1), then latest finishes, dependencies, what the scenario forces in and, last, mandates;
3. each shortfall shrunk to the least that still leaves a plan, the others held;
4. a tidy witness plan: as few optional initiatives as it needs, finishing as early as it can.

The witness plan is then re-checked by the independent checker against the portfolio with every
stated shortfall added and every named rule dropped: the diagnosis is only reported as proven when
that check passes (and the first two steps were solved to optimality).

What may be relaxed is declared per family of `Model.rows` in RELAXABLE, read from the rows'
metadata (never from labels): a new family with a lower or upper bound (a cash-releasing target,
say) becomes diagnosable by adding an entry there. Latest finishes are not rows of the model (they
shape its start windows), so the elastic model is built from the portfolio without them, plus one
row per initiative keeping its late starts at zero: the `latest_finish` family. The same holds for
the planning cycle's `changes.keep: start` (the `approved_start` family: an approved initiative's
other starts kept at zero), so an approved plan that can no longer be kept is diagnosed like any
other scenario: which approved initiatives cannot keep their starts, and which limits are short.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .formatting import fte, money
from .model import Model, build_model, start_windows
from .portfolio import Portfolio

TOLERANCE = 1e-7  # a row that cannot be broken by more than this (relative) is not relaxable
MIN_STEP_SECONDS = 1.0  # each step of the diagnosis gets at least this long
STAFF_STEP = 0.01  # staff shortfalls are rounded up to this many FTE; money to whole pounds


@dataclass(frozen=True)
class Relaxable:
    """How the rows of one family may be relaxed.

    kind: "limit" (each row may be exceeded by any amount: a shortfall) or "rule" (dropped whole);
    group: the `Model.rows` column whose value relaxes rows together (a rule's rows), None = each row;
    rule: the rule's name, or a function of (portfolio, one row of `Model.rows`) naming it;
    describe: (elastic model, group number, elastic plan) -> the diagnosis item, or None to drop it
    (default: a capacity row's shortfall for a limit, the rule's own sentence for a rule). A
    family with a lower bound to reach (a target) is a "limit" whose rows break below it."""

    kind: str
    group: str | None = None
    rule: str | Callable[[Portfolio, pd.Series], str] | None = None
    describe: Callable | None = None


def _must_rule(p: Portfolio, row: pd.Series) -> str:
    """Why an initiative must be selected: mandatory, forced in, work in flight that may not stop, or
    approved and kept by `changes.keep`."""
    iid = row["initiative"]
    if bool(p.initiatives.at[iid, "mandatory"]):
        return "mandatory"
    if iid in p.settings.force_in:
        return "force_in"
    return "in_progress" if p.in_progress[p.ids.get_loc(iid)] else "approved"


RELAXABLE: dict[str, Relaxable] = {
    "capacity": Relaxable("limit"),
    "select": Relaxable("rule", "initiative", _must_rule),  # only the rows of what must be selected can break
    "latest_finish": Relaxable("rule", "initiative", "latest_finish"),
    "precedence": Relaxable("rule", "dependency_row", "dependency"),
    "requires": Relaxable("rule", "dependency_row", "dependency"),
    "excludes": Relaxable("rule", "dependency_row", "dependency"),
    "approved_start": Relaxable("rule", "initiative", "approved_start"),
    "max_moved": Relaxable("rule", None, "max_moved"),
}
# Among equally few relaxations: the lower weight is suggested first. A limit costs its shortfall as a
# share of its size (below 1), so more money or staff is suggested before any rule is dropped.
# A re-plan's own rules come first: moving an approved initiative (or moving more of them), then
# dropping one, then stopping work in flight.
RULE_WEIGHTS = {"approved_start": 1.0, "max_moved": 1.0, "latest_finish": 1.5, "dependency": 2.0, "approved": 2.5,
                "force_in": 3.0, "in_progress": 3.5, "mandatory": 4.0}
OTHER_RULE_WEIGHT = 3.0


@dataclass
class Diagnosis:
    """The least that would give the scenario a plan. `items` is summary.json's `diagnosis` (format
    v1.1, Explanations); `text` says it in plain words, one line per item."""

    items: list[dict]
    proven: bool  # the fewest relaxations, each shortfall the least, and the checker passed the witness
    message: str = ""
    seconds: float = 0.0
    witness: dict = field(default_factory=dict, repr=False)  # the plan that fits once relaxed: starts, external
    # a re-plan keeping approved starts whose fix is more money or staff: what to drop instead, limits held
    within_limits: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        if not self.items:
            return self.message or "Nothing needs relaxing: the scenario has a plan."
        head = "Why no plan meets every limit and rule, and the least that would fix it:"
        lines = [head] + [f"  - {item['text']}" for item in self.items]
        if not self.proven:
            lines.append(f"  ({self.message or 'the smallest relaxation found in the time allowed, not proven least'})")
        if self.within_limits:
            lines += [WITHIN_LIMITS] + [f"  - {item['text']}" for item in self.within_limits]
        return "\n".join(lines)


WITHIN_LIMITS = "Or, with every limit as it is:"


# ------------------------------------------------------------------------------------ the elastic model


def strict_model(p: Portfolio) -> tuple[Model, np.ndarray]:
    """The model without latest finishes and `changes.keep: start` in its start windows, plus the
    `latest_finish` family (each initiative's late starts kept at zero) and the `approved_start`
    family (each approved initiative's starts other than its approved one kept at zero): together
    equivalent to the model itself. Also returns whether each x column is a late start."""
    changes = p.settings.changes
    keep = "selection" if changes.keep == "start" else changes.keep
    free = dataclasses.replace(p, initiatives=p.initiatives.assign(
        latest_finish=pd.array([pd.NA] * len(p.ids), dtype="Int64")),
        settings=dataclasses.replace(p.settings, changes=dataclasses.replace(changes, keep=keep)))
    m = build_model(free)
    last = _last_starts(p)
    first, _ = start_windows(free)
    late = m.col_start > np.maximum(last, first - 1)[m.col_init]
    a = p.approved_starts
    moved = (changes.keep == "start") & (a[m.col_init] >= 0) & ~p.in_progress[m.col_init] & (m.col_start != a[m.col_init])
    m = _zero_rows(m, late, "latest_finish")
    return dataclasses.replace(_zero_rows(m, moved, "approved_start"), portfolio=p), late


def _last_starts(p: Portfolio) -> np.ndarray:
    """Each initiative's last start by its latest finish, whatever `changes.keep` holds it to."""
    changes = dataclasses.replace(p.settings.changes, keep="selection" if p.settings.changes.keep == "start"
                                  else p.settings.changes.keep)
    return start_windows(dataclasses.replace(p, settings=dataclasses.replace(p.settings, changes=changes)))[1]


def _zero_rows(m: Model, cols: np.ndarray, family: str) -> Model:
    """The model with one row per initiative owning any of the x columns `cols`, keeping them at zero."""
    owners = np.unique(m.col_init[cols])
    if not len(owners):
        return m
    rows = sp.csr_matrix((np.ones(cols.sum()), (np.searchsorted(owners, m.col_init[cols]), np.flatnonzero(cols))),
                         shape=(len(owners), m.n_cols))
    meta = pd.DataFrame({c: pd.Series([None] * len(owners), dtype=m.rows[c].dtype) for c in m.rows.columns})
    meta["family"] = family
    meta["initiative"] = m.portfolio.ids.to_numpy(object)[owners]
    families = dict(m.families, **{family: slice(m.A.shape[0], m.A.shape[0] + len(owners))})
    return dataclasses.replace(m, A=sp.vstack([m.A, rows]).tocsr(),
                               row_lo=np.concatenate([m.row_lo, np.full(len(owners), -np.inf)]),
                               row_hi=np.concatenate([m.row_hi, np.zeros(len(owners))]),
                               rows=pd.concat([m.rows, meta], ignore_index=True), families=families)


def _activity_range(m: Model) -> tuple[np.ndarray, np.ndarray]:
    """Most and least activity each row can reach, one start per initiative and purchases within
    their bounds: how far a row can be broken at all."""
    A = m.A.tocoo()
    x = A.col < m.n_x
    key = A.row[x].astype(np.int64) * (len(m.portfolio.ids) + 1) + m.col_init[A.col[x]]
    hi, lo = np.zeros(A.shape[0]), np.zeros(A.shape[0])
    if x.any():
        frame = pd.DataFrame({"key": key, "v": A.data[x]}).groupby("key")["v"].agg(["max", "min"])
        row = (frame.index.to_numpy() // (len(m.portfolio.ids) + 1)).astype(np.int64)
        np.add.at(hi, row, np.maximum(frame["max"].to_numpy(), 0.0))
        np.add.at(lo, row, np.minimum(frame["min"].to_numpy(), 0.0))
    e = ~x
    bound = m.col_hi[A.col[e]]
    np.add.at(hi, A.row[e], np.maximum(A.data[e] * bound, 0.0))
    np.add.at(lo, A.row[e], np.minimum(A.data[e] * bound, 0.0))
    return hi, lo


def _groups(m: Model) -> pd.DataFrame:
    """One row per thing that may be relaxed: family, kind, rule, weight, its model rows, the side it
    breaks on (+1: above its upper bound, -1: below its lower bound), the most it can break by
    per row (`reach`) and the size a limit's shortfall is measured against (`size`)."""
    most, least = _activity_range(m)
    p, meta = m.portfolio, m.rows
    up, down = most - m.row_hi, m.row_lo - least
    scale = TOLERANCE * np.maximum(1.0, np.abs(np.where(np.isfinite(m.row_hi), m.row_hi, m.row_lo)))
    side = np.where(np.isfinite(m.row_hi) & (up > scale), 1, np.where(np.isfinite(m.row_lo) & (down > scale), -1, 0))
    out = []
    for family, how in RELAXABLE.items():
        rows = np.flatnonzero((meta["family"].to_numpy(object) == family) & (side != 0))
        if not len(rows):
            continue
        keys = meta[how.group].to_numpy(object)[rows] if how.group else rows
        for key in dict.fromkeys(keys.tolist()):
            mine = rows[keys == key] if how.group else np.array([key])
            first = meta.iloc[int(mine[0])]
            rule = how.rule(p, first) if callable(how.rule) else how.rule
            bound = m.row_hi[mine] if side[mine[0]] > 0 else m.row_lo[mine]
            out.append({"family": family, "kind": how.kind, "rule": rule, "rows": mine, "side": side[mine],
                        "reach": np.where(side[mine] > 0, up[mine], down[mine]),
                        "size": _size(bound, np.where(side[mine] > 0, up[mine], down[mine])),
                        "weight": 0.0 if how.kind == "limit" else RULE_WEIGHTS.get(rule, OTHER_RULE_WEIGHT)})
    return pd.DataFrame(out, columns=["family", "kind", "rule", "rows", "side", "reach", "size", "weight"])


def _size(bound: np.ndarray, reach: np.ndarray) -> float:
    """What a limit's shortfall is measured against: its size (or how far it can be broken, if more).
    A closed limit (zero) is a decision, not a budget to stretch: its shortfall counts in full."""
    if not np.abs(bound).max() > 0:
        return 1.0
    return float(max(np.abs(bound).max(), reach.max(), 1.0))


@dataclass
class _Elastic:
    """The strict model with, per group, a relaxation column (a rule's 0/1, a limit's shortfall) and
    an indicator (a rule's own column; a limit's 0/1 with shortfall <= reach x indicator)."""

    strict: Model
    late: np.ndarray  # per x column: a late start
    groups: pd.DataFrame
    model: Model  # columns: the strict model's, then one shortfall per limit group, then one indicator per group
    shortfall_col: np.ndarray  # per group: its shortfall column (-1 for a rule)
    indicator_col: np.ndarray  # per group

    @property
    def limits(self) -> np.ndarray:
        return np.flatnonzero(self.shortfall_col >= 0)


def elastic_model(p: Portfolio) -> _Elastic:
    strict, late = strict_model(p)
    groups = _groups(strict)
    n, n_rows, G = strict.n_cols, strict.A.shape[0], len(groups)
    is_limit = (groups["kind"] == "limit").to_numpy()
    shortfall_col = np.full(G, -1)
    shortfall_col[is_limit] = n + np.arange(is_limit.sum())
    indicator_col = n + is_limit.sum() + np.arange(G)
    r, c, v = [], [], []
    links = []  # per limit: shortfall - reach * indicator <= 0
    for g, grp in enumerate(groups.itertuples()):
        if grp.kind == "limit":  # one row: A v - side * shortfall within its bounds
            r.append(grp.rows), c.append([shortfall_col[g]]), v.append(-grp.side.astype(float))
            links.append((shortfall_col[g], indicator_col[g], float(grp.reach[0])))
        else:  # a dropped rule frees each of its rows by as much as it can be broken
            r.append(grp.rows), c.append(np.full(len(grp.rows), indicator_col[g])), v.append(-grp.side * grp.reach)
    n_cols = n + is_limit.sum() + G
    extra = sp.csr_matrix((np.concatenate(v) if v else [], (np.concatenate(r) if r else [],
                                                           np.concatenate(c) - n if c else [])), shape=(n_rows, n_cols - n))
    link = _link_rows(links, n_cols)
    A = sp.vstack([sp.hstack([strict.A, extra]), link]).tocsr()
    col_hi = np.concatenate([strict.col_hi, groups.loc[is_limit, "reach"].map(lambda a: float(a[0])).to_numpy(float),
                             np.ones(G)])
    elastic = dataclasses.replace(
        strict, A=A, c=np.zeros(n_cols), col_hi=col_hi, tiebreak=None, objective_constant=0.0,
        integer=np.concatenate([strict.integer, np.zeros(is_limit.sum(), bool), np.ones(G, bool)]),
        row_lo=np.concatenate([strict.row_lo, np.full(len(links), -np.inf)]),
        row_hi=np.concatenate([strict.row_hi, np.zeros(len(links))]))
    return _Elastic(strict, late, groups, elastic, shortfall_col, indicator_col)


def _link_rows(links: list[tuple[int, int, float]], n_cols: int) -> sp.csr_matrix:
    """shortfall - reach * indicator <= 0, one row per limit."""
    if not links:
        return sp.csr_matrix((0, n_cols))
    s, z, reach = (np.array(part) for part in zip(*links))
    k = np.arange(len(links))
    return sp.csr_matrix((np.concatenate([np.ones(len(k)), -reach]), (np.concatenate([k, k]),
                                                                        np.concatenate([s, z]).astype(np.int64))),
                         shape=(len(links), n_cols))


# ------------------------------------------------------------------------------------ solving it


@dataclass
class _Steps:
    """The elastic model solved step by step, each step from the last one's plan."""

    e: _Elastic
    solver: str
    time_limit: float  # per step
    threads: int | None
    deadline: float  # for every step (time.perf_counter())
    proven: bool = True
    notes: list[str] = field(default_factory=list)
    upper: np.ndarray | None = None  # column bounds of every step (default: the elastic model's)

    def __post_init__(self):
        if self.upper is None:
            self.upper = self.e.model.col_hi

    def solve(self, cost: np.ndarray, hi: np.ndarray, start: np.ndarray | None, rows=None) -> tuple:
        """Minimise `cost` @ v within column bounds `hi` (and extra rows (A, lo, hi)): (v, proven)."""
        from .solvers import solve

        m = self.e.model
        model = dataclasses.replace(m, c=-cost, col_hi=hi)
        if rows is not None:
            A, lo, up = rows
            model = dataclasses.replace(model, A=sp.vstack([m.A, A]).tocsr(), row_lo=np.concatenate([m.row_lo, lo]),
                                        row_hi=np.concatenate([m.row_hi, up]))
        limit = max(MIN_STEP_SECONDS, min(self.time_limit, self.deadline - time.perf_counter()))
        out = solve(model, self.solver, limit, 0.0, start, self.threads)
        if out.x is None:
            return None, False
        v = np.asarray(out.x, dtype=float)
        value = float(cost @ v)
        proven = out.bound is not None and -out.bound >= value - 1e-6 * max(1.0, abs(value))
        return v, proven

    def fewest(self) -> np.ndarray | None:
        """Step 1: the fewest things relaxed."""
        m, e = self.e.model, self.e
        cost = np.zeros(m.n_cols)
        cost[e.indicator_col] = 1.0
        v, proven = self.solve(cost, self.upper, None)
        if v is not None and not proven:
            self.proven = False
            self.notes.append("the fewest relaxations were not proven within the time allowed")
        return v

    def cheapest(self, v: np.ndarray) -> np.ndarray:
        """Step 2: as few as step 1 found, the cheapest (limits first, small shortfalls first)."""
        m, e = self.e.model, self.e
        count = float(np.round(v[e.indicator_col]).sum())
        row = sp.csr_matrix((np.ones(len(e.indicator_col)), (np.zeros(len(e.indicator_col), np.int64),
                                                             e.indicator_col)), shape=(1, m.n_cols))
        cost = np.zeros(m.n_cols)
        cost[e.indicator_col] = e.groups["weight"].to_numpy(float)
        limits = e.limits
        cost[e.shortfall_col[limits]] = 1.0 / e.groups["size"].to_numpy(float)[limits]
        better, proven = self.solve(cost, self.upper, None, (row, np.array([-np.inf]), np.array([count])))
        if better is None:
            return v
        if not proven:
            self.proven = False
        return better

    def held(self, v: np.ndarray) -> np.ndarray:
        """Column bounds that keep what `v` relaxes, and no more."""
        e = self.e
        hi = self.upper.copy()
        hi[e.indicator_col] = np.round(v[e.indicator_col])
        limits = e.limits
        hi[e.shortfall_col[limits]] = np.minimum(hi[e.shortfall_col[limits]], v[e.shortfall_col[limits]] + 1e-9)
        return hi

    def shrink(self, v: np.ndarray) -> np.ndarray:
        """Step 3: each shortfall in turn as small as it can be with the others held."""
        e = self.e
        for g in e.limits:
            col = e.shortfall_col[g]
            if v[e.indicator_col[g]] < 0.5 or v[col] <= 0:
                continue
            hi = self.held(v)
            hi[col] = self.upper[col]
            cost = np.zeros(e.model.n_cols)
            cost[col] = 1.0
            better, proven = self.solve(cost, hi, v)
            if better is not None and better[col] <= v[col] + 1e-9:
                v = better
            if better is None or not proven:
                self.proven = False
                self.notes.append("a shortfall was not proven least within the time allowed")
        return v

    def tidy(self, v: np.ndarray) -> np.ndarray:
        """Step 4: the same relaxation with as few optional initiatives and as little lateness as it needs."""
        e, strict = self.e, self.e.strict
        p = strict.portfolio
        cost = np.zeros(e.model.n_cols)
        optional = ~p.must_select[strict.col_init]
        last = _last_starts(p)
        lateness = np.where(e.late, strict.col_start - last[strict.col_init], 0)
        # an approved initiative at its approved start is no extra and no change: it stays where it was
        approved = p.approved_starts[strict.col_init]
        kept = (approved >= 0) & (strict.col_start == approved)
        cost[:strict.n_x] = np.where(kept, -1.0, optional) + lateness / (p.horizon.T + 1.0)
        better, _ = self.solve(cost, self.held(v), v)
        return v if better is None else better


# ------------------------------------------------------------------------------------ what it says


def _rounded(p: Portfolio, resource: str, amount: float) -> float:
    """A shortfall rounded up: to the penny, or STAFF_STEP FTE (so that adding it is always enough).
    A solver's rounding error (well below a tenth of a penny) is not rounded up into another penny."""
    if p.resources.at[resource, "kind"] == "money":
        return math.ceil(round(amount * 100, 1)) / 100
    return round(math.ceil((amount - 1e-9) / STAFF_STEP) * STAFF_STEP, 6)


def _join(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]


def _who(p: Portfolio, ids: list[str]) -> tuple[str, bool]:
    """'Mandatory CYB-01 and EPR-02' (and whether that is plural) for the initiatives using a limit:
    what must be in, by why (mandatory, forced in, in flight, approved and kept), then what they need."""
    why = {iid: _must_rule(p, pd.Series({"initiative": iid})) if p.must_select[p.ids.get_loc(iid)] else ""
           for iid in ids}
    keep = "start" if p.settings.changes.keep == "start" else "place"
    groups = {rule: [i for i in ids if why[i] == rule] for rule in ("mandatory", "force_in", "in_progress", "approved")}
    musts = [i for g in groups.values() for i in g]
    others = [i for i in ids if not why[i]]
    words = {"mandatory": "Mandatory {}", "force_in": "{} (forced in)", "in_progress": "{} (in flight)",
             "approved": "approved {} (kept at {} approved " + keep + ")"}
    parts = [words[rule].format(_join(g), "their" if len(g) > 1 else "its") for rule, g in groups.items() if g]
    if not parts:
        return (f"{_join(others)}, needed by what must be in," if others else "What must be in"), len(others) != 1
    who = " and ".join(parts) + (f" and what {'they need' if len(musts) > 1 else 'it needs'} "
                                 f"({_join(others)})" if others else "")
    return who[0].upper() + who[1:], len(musts + others) > 1


def _limit_item(e: _Elastic, g: int, v: np.ndarray) -> dict | None:
    s, p = e.strict, e.strict.portfolio
    r = int(e.groups["rows"].iloc[g][0])
    meta = s.rows.iloc[r]
    resource, period = meta["resource"], meta["period"]
    shortfall = _rounded(p, resource, float(v[e.shortfall_col[g]]))
    if shortfall <= 0:
        return None
    row = s.A.getrow(r)
    used = [c for c, a in zip(row.indices, row.data) if c < s.n_x and a > 0 and v[c] > 0.5]
    ids = [p.ids[i] for i in sorted(set(s.col_init[used]))]
    ids.sort(key=lambda i: not p.must_select[p.ids.get_loc(i)])
    who, plural = _who(p, ids)
    is_money = p.resources.at[resource, "kind"] == "money"
    show = (lambda x: money(math.ceil(x))) if is_money else fte  # in words: up to the pound, still enough
    limit = f"the budget of {show(s.row_hi[r])}" if is_money else f"the limit of {show(s.row_hi[r])}"
    text = f"{who} {'need' if plural else 'needs'} {show(shortfall)} more {resource} in {period} than {limit} allows."
    return {"kind": "limit", "resource": resource, "period": period, "shortfall": shortfall, "initiatives": ids,
            "text": text}


def _late_text(e: _Elastic, iid: str, v: np.ndarray) -> str:
    s, p = e.strict, e.strict.portfolio
    i = p.ids.get_loc(iid)
    H, ini = p.horizon, p.initiatives
    chosen = [c for c in s.cols_of[i] if v[c] > 0.5]
    lf = H.label(int(ini["latest_finish"].iloc[i]))
    if not chosen:
        return f"{iid} cannot be built by its latest finish ({lf}); without that deadline a plan exists."
    finish = H.label(min(int(s.col_start[chosen[0]]) + int(ini["duration"].iloc[i]) - 1, H.T - 1))
    return f"{iid} cannot be built by its latest finish ({lf}); finishing by {finish} instead, a plan exists."


def _dependency_text(kind: str, pred: str, succ: str, lag: int) -> str:
    after = f" plus {lag} period{'s' if lag != 1 else ''}" if lag else ""
    if kind == "excludes":
        return (f"{pred} and {succ} exclude each other, yet both are needed (mandatory, forced in, or needed by what "
                "is); a plan exists only if both may be chosen.")
    if kind == "requires":
        return f"{succ} requires {pred}, which no plan can include as well; without that dependency a plan exists."
    event = "goes live" if kind == "finish_to_start" else "starts"
    return (f"{succ} must start after {pred} {event}{after}, which no plan can manage within the horizon and its "
            "limits; without that dependency a plan exists.")


def _rule_item(e: _Elastic, g: int, v: np.ndarray) -> dict:
    s, p = e.strict, e.strict.portfolio
    grp = e.groups.iloc[g]
    meta = s.rows.iloc[int(grp["rows"][0])]
    rule = grp["rule"]
    if rule in REPLAN_TEXT:
        return REPLAN_TEXT[rule](e, meta["initiative"], v)
    if rule in ("mandatory", "force_in", "latest_finish"):
        iid = meta["initiative"]
        text = {"mandatory": f"Mandatory {iid} cannot fit alongside everything else that must be in: lifting its "
                             "mandate is the smallest change found that gives a plan.",
                "force_in": f"{iid} is forced in by the scenario but cannot fit alongside everything else that must "
                            "be in: taking it out of force_in gives a plan.",
                "latest_finish": None}[rule] or _late_text(e, iid, v)
        return {"kind": "rule", "rule": rule, "initiatives": [iid], "text": text}
    if rule == "dependency":
        pred, succ, kind = meta["predecessor"], meta["successor"], meta["dependency"]
        lag = int(p.dependencies["lag"].iloc[int(meta["dependency_row"])])
        return {"kind": "rule", "rule": "dependency", "dependency": kind, "initiatives": [pred, succ],
                "text": _dependency_text(kind, pred, succ, lag)}
    return {"kind": "rule", "rule": rule, "initiatives": [x for x in (meta.get("initiative"),) if isinstance(x, str)],
            "text": f"the {rule} rule ({s.row_label(int(grp['rows'][0]))}) cannot be kept; without it a plan exists."}


# ------------------------------------------------------------------------------------ re-planning's rules


def _starts_in(s: Model, v: np.ndarray) -> np.ndarray:
    """Per initiative: its start in the elastic plan `v` (-1: not selected)."""
    out = np.full(len(s.portfolio.ids), -1)
    chosen = np.flatnonzero(v[:s.n_x] > 0.5)
    out[s.col_init[chosen]] = s.col_start[chosen]
    return out


def _window_rules_out(p: Portfolio, i: int, a: int) -> str:
    """Which of the initiative's own rules a start at `a` breaks ("" if none does)."""
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
    return "; ".join(why)


def _limits_in_the_way(e: _Elastic, i: int, a: int, v: np.ndarray) -> str:
    """What starting initiative i at `a`, instead of where the elastic plan `v` has it, would overrun."""
    from .explain import _Reasons, shortfall_text

    s = e.strict
    col = s.cols_of[i][s.col_start[s.cols_of[i]] == a]
    if not len(col):
        return "no start is left to it there"
    rest = v[:s.n_cols].copy()
    rest[s.cols_of[i]] = 0.0
    rows, short = _Reasons(s, rest).over(int(col[0]))
    capacity = s.row_family[rows] == "capacity"
    if not capacity.any():
        return "it would break a dependency of the plan that fits"
    return "there it " + shortfall_text(s, rows[capacity], short[capacity]) + " than is left"


def _approved_start_item(e: _Elastic, iid: str, v: np.ndarray) -> dict:
    p = e.strict.portfolio
    i = p.ids.get_loc(iid)
    a, now = int(p.approved_starts[i]), int(_starts_in(e.strict, v)[i])
    why = _window_rules_out(p, i, a)
    if why:
        return {"kind": "rule", "rule": "approved_start", "initiatives": [iid],
                "text": f"{iid} cannot keep its approved start {p.horizon.label(a)}: {why}"}
    where = f"starting it in {p.horizon.label(now)}" if now >= 0 else "without it"
    return {"kind": "rule", "rule": "approved_start", "initiatives": [iid],
            "text": f"{iid} cannot keep its approved start {p.horizon.label(a)}: "
                    f"{_limits_in_the_way(e, i, a, v)}; {where}, a plan exists"}


def _approved_item(e: _Elastic, iid: str, v: np.ndarray) -> dict:
    keep = e.strict.portfolio.settings.changes.keep
    return {"kind": "rule", "rule": "approved", "initiatives": [iid],
            "text": f"Approved {iid} must stay in (changes.keep: {keep}) but cannot fit alongside everything else "
                    "that must be in: dropping it gives a plan."}


def _in_progress_item(e: _Elastic, iid: str, v: np.ndarray) -> dict:
    return {"kind": "rule", "rule": "in_progress", "initiatives": [iid],
            "text": f"{iid} is in flight and may not stop, but cannot continue alongside everything else that "
                    "must be in: stopping it (allow_stopping) gives a plan."}


def _max_moved_item(e: _Elastic, iid, v: np.ndarray) -> dict:
    p = e.strict.portfolio
    now, a = _starts_in(e.strict, v), p.approved_starts
    moved = [p.ids[i] for i in np.flatnonzero((a >= 0) & (now != a))]
    return {"kind": "rule", "rule": "max_moved", "initiatives": moved,
            "text": f"{len(moved)} approved initiatives must move or drop ({_join(moved)}); changes.max_moved allows "
                    f"{p.settings.changes.max_moved}."}


REPLAN_TEXT = {"approved_start": _approved_start_item, "approved": _approved_item, "in_progress": _in_progress_item,
               "max_moved": _max_moved_item}
ITEM_ORDER = {"approved_start": 0, "limit": 1}  # which approved initiatives cannot keep their starts, first


def _items(e: _Elastic, v: np.ndarray) -> list[dict]:
    items = []
    for g in np.flatnonzero(v[e.indicator_col] > 0.5):
        how = RELAXABLE[e.groups["family"].iloc[g]]
        describe = how.describe or (_limit_item if e.shortfall_col[g] >= 0 else _rule_item)
        item = describe(e, g, v)
        if item is not None:
            items.append(item)
    return sorted(items, key=lambda item: ITEM_ORDER.get(item.get("rule", item["kind"]), 2))


def _witness(e: _Elastic, v: np.ndarray) -> dict:
    """The elastic plan's starts and purchases, for the independent checker."""
    s = e.strict
    p = s.portfolio
    starts = {i: None for i in p.ids}
    for c in np.flatnonzero(v[:s.n_x] > 0.5):
        starts[p.ids[s.col_init[c]]] = int(s.col_start[c])
    bought = v[s.n_x:s.n_cols]
    external = {(p.resources.index[s.ext_resource[k]], int(s.ext_period[k])): float(bought[k])
                for k in np.flatnonzero(bought > 1e-9)}
    return {"starts": starts, "external": external}


# ------------------------------------------------------------------------------------ applying it


def relaxed_portfolio(p: Portfolio, items: list[dict]) -> Portfolio:
    """The portfolio with every shortfall added to its capacity row and every named rule dropped:
    what the diagnosis says has a plan (tests and the checker use it; so can a user's script)."""
    capacity, ini, dep = p.capacity.copy(), p.initiatives.copy(), p.dependencies.copy()
    force_in = list(p.settings.force_in)
    for item in items:
        if item["kind"] == "limit":
            hit = (capacity["resource"] == item["resource"]) & (capacity["period"] == item["period"])
            capacity.loc[hit, "amount"] += item["shortfall"]
        elif item["rule"] == "mandatory":
            ini.loc[item["initiatives"], "mandatory"] = False
        elif item["rule"] == "force_in":
            force_in = [i for i in force_in if i not in item["initiatives"]]
        elif item["rule"] == "latest_finish":
            ini.loc[item["initiatives"], "latest_finish"] = pd.NA
        elif item["rule"] == "dependency":
            pred, succ = item["initiatives"]
            dep = dep[~((dep["predecessor"] == pred) & (dep["successor"] == succ)
                        & (dep["type"] == item.get("dependency", dep["type"])))]
    settings = dataclasses.replace(p.settings, force_in=force_in)
    return _replan_relaxed(dataclasses.replace(p, capacity=capacity, initiatives=ini,
                                               dependencies=dep.reset_index(drop=True), settings=settings), items)


def _replan_relaxed(p: Portfolio, items: list[dict]) -> Portfolio:
    """The re-planning rules of a diagnosis dropped: an approved initiative that cannot keep its start
    leaves the approved plan but stays in (force_in, as `keep` had it); one that cannot stay in leaves
    it; work in flight may stop (allow_stopping); max_moved is lifted. Leaving the approved plan also
    takes an initiative out of max_moved's count: the relaxed portfolio is, if anything, looser."""
    named = {rule: [i for item in items if item.get("rule") == rule for i in item["initiatives"]]
             for rule in ("approved_start", "approved", "in_progress")}
    lifted = any(item.get("rule") == "max_moved" for item in items)
    if not lifted and not any(named.values()):
        return p
    settings, changes = p.settings, p.settings.changes
    force_in = list(settings.force_in) + [i for i in named["approved_start"] if i not in settings.force_in]
    settings = dataclasses.replace(
        settings, force_in=force_in, allow_stopping=settings.allow_stopping or bool(named["in_progress"]),
        changes=dataclasses.replace(changes, max_moved=None if lifted else changes.max_moved))
    leave = set(named["approved_start"]) | set(named["approved"])
    return dataclasses.replace(p, settings=settings, approved=p.approved[~p.approved.index.isin(leave)])


def scenario_changes(items: list[dict]) -> dict:
    """What of a diagnosis a scenario file can say (the dashboard's what-if): each shortfall as an
    `add` adjustment on its resource and period, the forced-in initiatives to release, and whether
    work in flight must be allowed to stop. Returned apart: the approved plan's rules for single
    initiatives (`changes` says them for all at once) and the rules of the portfolio itself (a
    mandate, a latest finish, a dependency: changed in its tables, not the scenario)."""
    from .scenario import Adjustment

    adjustments = [Adjustment(i["resource"], add=i["shortfall"], start=i["period"], end=i["period"])
                   for i in items if i["kind"] == "limit"]
    release = [x for i in items if i.get("rule") == "force_in" for x in i["initiatives"]]
    replan = [i for i in items if i.get("rule") in ("approved_start", "approved", "max_moved")]
    portfolio_rules = [i for i in items if i["kind"] == "rule" and i not in replan
                       and i["rule"] not in ("force_in", "in_progress")]
    return {"adjustments": adjustments, "release": release, "portfolio_rules": portfolio_rules,
            "allow_stopping": any(i.get("rule") == "in_progress" for i in items), "replan_rules": replan}


# ------------------------------------------------------------------------------------ the entry point


def diagnose(source, *, time_limit: float = 30.0, solver: str | None = None, threads: int | None = None) -> Diagnosis:
    """What makes a scenario infeasible and the least that would fix it.

    `source`: a scenario file, a Scenario, a Portfolio or a Model. `time_limit` is for the whole
    diagnosis (its steps share it). A scenario with a plan gets an empty diagnosis. When the fix is
    more money or staff for a re-plan that keeps approved starts, `Diagnosis.within_limits` also says
    which approved initiatives cannot keep their starts within the limits as they are, and why."""
    t0 = time.perf_counter()
    p = _portfolio(source)
    name = (solver or (p.scenario.solver.name if p.scenario is not None else "highs")).lower()
    e = elastic_model(p)
    steps = _Steps(e, name, time_limit / 4, threads, deadline=t0 + time_limit)
    v = steps.fewest() if len(e.groups) else None
    if v is None:
        return Diagnosis([{"kind": "rule", "rule": "unknown", "initiatives": [],
                           "text": "No relaxation of the limits and rules could be found to give a plan."}], False,
                         "the elastic model had no plan in the time allowed", time.perf_counter() - t0)
    if np.round(v[e.indicator_col]).sum() == 0:
        return Diagnosis([], steps.proven, "the scenario has a plan: nothing needs relaxing", time.perf_counter() - t0)
    items, witness = _found(p, steps, steps.tidy(steps.shrink(steps.cheapest(v))))
    found = Diagnosis(items, steps.proven, "; ".join(steps.notes), time.perf_counter() - t0, witness)
    if p.settings.changes.keep == "start" and any(item["kind"] == "limit" for item in items):
        found.within_limits = _within_limits(p, e, name, threads, t0 + 1.5 * time_limit)
    found.seconds = time.perf_counter() - t0
    return found


def _found(p: Portfolio, steps: _Steps, v: np.ndarray) -> tuple[list[dict], dict]:
    """The items of the elastic plan `v` and its witness plan, which the independent checker must pass
    against the portfolio with every item applied (else the diagnosis is not proven)."""
    from .check import check_plan

    items, witness = _items(steps.e, v), _witness(steps.e, v)
    check = check_plan(relaxed_portfolio(p, items), witness["starts"], witness["external"])
    if not check.ok:
        steps.proven = False
        steps.notes.append("the plan found with the relaxation failed the independent check: "
                           + "; ".join(check.violations[:3]))
    return items, witness


def _within_limits(p: Portfolio, e: _Elastic, solver: str, threads, deadline: float) -> list[dict]:
    """Every limit held as it is: the fewest rules to drop, i.e. (a re-plan's rules weighing least)
    which approved initiatives cannot keep their starts and what is in the way. [] when only more
    money or staff can give a plan, or the steps found nothing in time."""
    upper = e.model.col_hi.copy()
    limits = e.limits
    upper[e.shortfall_col[limits]] = 0.0
    upper[e.indicator_col[limits]] = 0.0
    steps = _Steps(e, solver, max(MIN_STEP_SECONDS, (deadline - time.perf_counter()) / 3), threads, deadline,
                   upper=upper)
    v = steps.fewest()
    if v is None:
        return []
    items, _ = _found(p, steps, steps.tidy(steps.cheapest(v)))
    return items if steps.proven else [dict(item, proven=False) for item in items]


def _portfolio(source) -> Portfolio:
    if isinstance(source, Portfolio):
        return source
    if isinstance(source, Model):
        return source.portfolio
    from .validate import load

    return load(source)
