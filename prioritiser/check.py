"""Independent plan checker.

Re-checks any plan (a start period per selected initiative, plus optional external
purchases) against a validated ``Portfolio`` and re-scores it, straight from the data
contract (format v1, "The objective").  It deliberately shares no code with the
optimisation model: it only reads the Portfolio's tables, so that a bug in the model,
its matrices or the solver shows up as a disagreement here.

Public API::

    report = check_plan(portfolio, starts, external=None, tol=1e-6)
    report.ok, report.violations, report.objective, report.components, ...

``PlanChecker(portfolio)`` does the per-portfolio preparation once and can check many
plans of the same portfolio (the brute-force optimiser in the tests uses it).

Rules, as read from the spec:

* a plan selects an initiative by giving it a start period index; ``None`` (or a
  missing key) means not selected;
* a start must be an integer in ``[earliest_start, T-1]``, and when ``latest_finish``
  is set, ``start + duration - 1 <= latest_finish``;
* an initiative started at ``s`` with duration ``d`` is in build in ``s .. s+d-1`` and
  goes live at ``g = s+d``; only periods ``0 .. T-1`` count;
* capacity row: the sum of use over its periods <= amount + funding that lands on it
  (+ the external purchase e[r,p] for a one-period row of a staff resource, when
  external purchases are allowed);
* external purchases are charged to ``revenue`` at ``external_cost`` per unit in the
  period of purchase, and count in the objective as PV external.

The planning cycle (format v1.1), read from the tables and the scenario's settings:

* an ``in_progress`` initiative starts in period 0 if selected; unselected it is *stopped*: that
  needs ``allow_stopping`` (and it is neither mandatory nor forced in), and its ``stop_cost`` is
  revenue spent in period 0 (a ``stop_cost`` component, PV at df(0) = 1);
* a ``training`` row of initiative i (duration d, K = periods_before_go_live) trains in the
  periods s+d-K .. s+d-1, each taking 1/K of: trainer hours (hours_each x headcount /
  trainees_per_trainer) and substantive staff hours (hours_each x headcount x (1 -
  bank_locum_share)), both as FTE of ``hours_per_fte`` / periods per year hours, and the bank and
  locum pay (hours_each x headcount x bank_locum_share x bank_rate) from revenue. A proposed or
  approved initiative must have all its training periods inside the horizon; for an in_progress
  one, those before it are done;
* with an approved plan (``Portfolio.approved``: the approved start of each approved initiative,
  below 0 = started before the horizon, allowed only for in_progress ones, whose approved start
  is then period 0): ``changes.keep: start`` keeps each approved initiative at its approved start,
  ``selection`` keeps it selected; ``max_moved`` bounds moved + dropped approved initiatives;
  ``move_penalty`` and ``drop_penalty`` are pounds off the objective per moved (selected elsewhere)
  and dropped (not selected) approved initiative: a ``change_penalty`` component.

The money rules (format v1.1), recomputed here from the columns as given and the scenario:

* with ``optimism_bias.apply``, an initiative's capital is ``capital_cost_given`` x (1 + u_c) and its
  duration ceil(``duration_given`` x (1 + u_d)), u = its own ``optimism_bias_capital`` /
  ``_duration``, else ``by_category[category]``, else ``by_category.default``, else the Green Book's
  equipment/development upper bounds (200%, 54%); a portfolio whose planned figures differ is a
  violation;
* a ``targets`` entry: the sum over selected initiatives of its financial year's undiscounted measure
  (``cash_releasing_savings``: f(p - g) x benefit x cash_releasing; ``in_year_revenue``: f(p - g) x
  revenue, over the year's periods p >= g) must be at least ``at_least``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

COMPONENTS = ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost", "pv_external")
PER_INITIATIVE_COLUMNS = ("pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost")
TRAINING_COLUMNS = ("trainer_fte_periods", "clinical_fte_periods", "training_cost")  # CheckReport.training
DEFAULT_WEIGHTS = {"benefit": 1.0, "revenue": 1.0, "in_year_revenue": 0.0, "alignment": 0.0, "cost": 1.0}
DEPENDENCY_TYPES = ("finish_to_start", "start_to_start", "requires", "excludes")
HOURS_PER_FTE = 1650.0  # format v1.1: hours_per_fte's default
GREEN_BOOK_UPLIFT = {"capital": 2.00, "duration": 0.54}  # optimism bias when nothing else says (see above)
TARGET_COLUMNS = ("measure", "financial_year", "at_least", "achieved")  # CheckReport.targets
TRAINEES_PER_TRAINER = 10.0


@dataclass
class CheckReport:
    ok: bool
    violations: list[str]
    objective: float
    components: dict[str, float]
    per_initiative: pd.DataFrame
    usage: pd.DataFrame
    external: dict = field(default_factory=dict)
    # per selected initiative, the training inside the horizon: TRAINING_COLUMNS (FTE-periods, £)
    training: pd.DataFrame = field(default_factory=pd.DataFrame)
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per target: TARGET_COLUMNS

    def __str__(self) -> str:  # pragma: no cover - convenience only
        head = f"ok={self.ok} objective={self.objective:,.2f}"
        if not self.violations:
            return head
        return head + "\n" + "\n".join("  - " + v for v in self.violations)


# ----------------------------------------------------------------------------------------
# small helpers


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any, default: float = 0.0) -> float:
    if _is_missing(value):
        return default
    return float(value)


def _fmt(x: float, money: bool) -> str:
    text = f"{x:,.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return ("£" + text) if money else text


def _fmt_pair(a: float, b: float, money: bool) -> tuple[str, str]:
    """Format two numbers so that they visibly differ when they do."""
    fa, fb = _fmt(a, money), _fmt(b, money)
    if fa == fb and a != b:
        fa, fb = f"{a:,.6f}", f"{b:,.6f}"
        if money:
            fa, fb = "£" + fa, "£" + fb
    return fa, fb


def _as_int_start(value: Any) -> tuple[Optional[int], Optional[str]]:
    """Interpret a start value: (int or None, problem text or None)."""
    if isinstance(value, (bool, np.bool_)):
        return None, f"start {value!r} is not a period index"
    if isinstance(value, (int, np.integer)):
        return int(value), None
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value), f"start {value!r} is a float, not an integer period index"
    return None, f"start {value!r} is not an integer period index"


# ----------------------------------------------------------------------------------------
# the checker


@dataclass
class _Evaluation:
    violations: list[str]
    objective: float
    components: dict[str, float]
    per_initiative: dict[int, tuple[float, float, float, float, float]]
    used: np.ndarray  # (R, T) use per resource and period, incl. external charges on revenue
    external: np.ndarray  # (R, T)
    training: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    targets: list[float] = field(default_factory=list)  # what the plan achieves, per target

    @property
    def ok(self) -> bool:
        return not self.violations


def _column(frame: pd.DataFrame, name: str, default: float = 0.0) -> np.ndarray:
    """A numeric column as floats, blanks as `default` (all `default` if the column is absent)."""
    if name not in frame.columns:
        return np.full(len(frame), default, dtype=float)
    return np.array([_num(v, default) for v in frame[name].tolist()], dtype=float)


def _values(frame: pd.DataFrame, name: str, default: Any) -> list:
    """A column as a list (all `default` if the column is absent)."""
    return frame[name].tolist() if name in frame.columns else [default] * len(frame)


class PlanChecker:
    """Per-portfolio preparation; ``check`` / ``evaluate`` then check one plan each."""

    def __init__(self, portfolio: Any, tol: float = 1e-6):
        self.portfolio = portfolio
        self.tol = float(tol)
        # problems in the tables themselves (should have been caught by validation)
        self.static_violations: list[str] = []
        self._prepare_horizon(portfolio.horizon)
        self._prepare_settings(portfolio.settings)
        self._prepare_initiatives(portfolio.initiatives)
        training = getattr(portfolio, "training", None)
        self._prepare_resources(portfolio.resources, training is not None and len(training) > 0)
        self._prepare_demands(portfolio.demands)
        self._prepare_training(training)
        self._prepare_approved(getattr(portfolio, "approved", None))
        self._prepare_capacity(portfolio.capacity)
        self._prepare_funding(portfolio.funding)
        self._prepare_dependencies(portfolio.dependencies)
        self._cache: dict[tuple[int, int], tuple] = {}

    # ------------------------------------------------------------------------------------ preparation
    def _prepare_horizon(self, h: Any) -> None:
        self.labels = [str(x) for x in h.labels]
        self.T = int(h.T)
        self.P = int(h.per_year)
        self.fy = np.asarray(h.fy, dtype=int)
        # the first financial year's starting calendar year (read only when there are targets)
        self.first_fy = int(h.fy_labels[0][:4]) if hasattr(h, "fy_labels") else None
        if len(self.labels) != self.T or len(self.fy) != self.T:
            raise ValueError("horizon labels/fy do not have length T")

    def _prepare_settings(self, st: Any) -> None:
        self.rate = float(st.discount_rate)
        # discount factor of each period: (1 + rate)^(-p / periods per year)
        self.discount = (1.0 + self.rate) ** (-np.arange(self.T, dtype=float) / self.P)
        w = dict(DEFAULT_WEIGHTS)
        w.update({k: float(v) for k, v in dict(st.weights or {}).items()})
        self.weights = w
        self.alignment_weights = {str(k): float(v) for k, v in dict(st.alignment_weights or {}).items()}
        self.external_allowed = bool(st.external)
        self.force_in = [str(x) for x in (st.force_in or [])]
        self.force_out = [str(x) for x in (st.force_out or [])]
        self.allow_stopping = bool(getattr(st, "allow_stopping", False))
        changes = getattr(st, "changes", None)
        self.keep = str(getattr(changes, "keep", None) or "none")
        most = getattr(changes, "max_moved", None)
        self.max_moved = None if _is_missing(most) else int(most)
        self.move_penalty = _num(getattr(changes, "move_penalty", 0.0))
        self.drop_penalty = _num(getattr(changes, "drop_penalty", 0.0))
        bias = getattr(st, "optimism_bias", None)
        self.bias_on = bool(getattr(bias, "apply", False))
        self.by_category = {str(k): dict(v) for k, v in dict(getattr(bias, "by_category", None) or {}).items()}
        self.targets = [(str(t.measure), str(t.financial_year), float(t.at_least))
                        for t in (getattr(st, "targets", None) or [])]

    def _prepare_initiatives(self, ini: pd.DataFrame) -> None:
        self.ids = [str(x) for x in ini.index]
        self.pos = {iid: i for i, iid in enumerate(self.ids)}
        self._prepare_bias(ini)
        self.earliest = _column(ini, "earliest_start", 0).astype(int)
        self.latest_finish = [None if _is_missing(v) else int(v) for v in _values(ini, "latest_finish", None)]
        self.mandatory = [bool(v) if not _is_missing(v) else False for v in _values(ini, "mandatory", False)]
        self.revenue_cost = _column(ini, "revenue_cost")
        self.running_cost = _column(ini, "running_cost")
        self.benefit = _column(ini, "benefit")
        self.revenue = _column(ini, "revenue")
        self.ramp = _column(ini, "ramp").astype(int)
        self.in_progress = [str(v) == "in_progress" for v in _values(ini, "status", "proposed")]
        self.stop_cost = _column(ini, "stop_cost")
        self.cash_releasing = _column(ini, "cash_releasing")
        align = np.zeros(len(self.ids))
        for obj, wt in self.alignment_weights.items():
            align += wt * _column(ini, "score_" + obj)
        self.alignment = align

    def _uplift(self, category: Any, own: Any, key: str) -> float:
        if not _is_missing(own):
            return float(own)
        default = self.by_category.get("default", {}).get(key, GREEN_BOOK_UPLIFT[key])
        return float(self.by_category.get(str(category), {}).get(key, default))

    def _prepare_bias(self, ini: pd.DataFrame) -> None:
        """Capital and duration as planned: the figures as given, uplifted when optimism bias is on."""
        given = "capital_cost_given" in ini.columns
        capital = _column(ini, "capital_cost_given" if given else "capital_cost")
        duration = _column(ini, "duration_given" if given else "duration", 1)
        if self.bias_on:
            cats = _values(ini, "category", "")
            up_c = np.array([self._uplift(c, o, "capital") for c, o in
                             zip(cats, _values(ini, "optimism_bias_capital", None))], dtype=float)
            up_d = np.array([self._uplift(c, o, "duration") for c, o in
                             zip(cats, _values(ini, "optimism_bias_duration", None))], dtype=float)
            capital = capital * (1.0 + up_c)
            duration = np.ceil(duration * (1.0 + up_d) - 1e-9)  # 1e-9: 10 x 1.1 is 11 periods, not 12
        self.capital_cost, self.duration = capital, duration.astype(int)
        planned_c, planned_d = _column(ini, "capital_cost"), _column(ini, "duration", 1).astype(int)
        for i in np.flatnonzero((np.abs(planned_c - capital) > 1e-6 * np.maximum(1.0, capital))
                                | (planned_d != self.duration)):
            self.static_violations.append(
                f"{self.ids[i]}: planned with capital £{planned_c[i]:,.2f} over {planned_d[i]} period(s), but its "
                f"figures{' with optimism bias' if self.bias_on else ''} are £{capital[i]:,.2f} over "
                f"{self.duration[i]} period(s)")

    def _prepare_resources(self, res: pd.DataFrame, training: bool) -> None:
        names = [str(x) for x in res.index]
        kinds = [str(x) for x in _values(res, "kind", "staff")]
        ext_cost = [_num(v) for v in _values(res, "external_cost", 0.0)]
        ext_max = [_num(v) for v in _values(res, "external_max", 0.0)]
        hours = [_num(v, HOURS_PER_FTE) for v in _values(res, "hours_per_fte", HOURS_PER_FTE)]
        # capital and revenue always exist, as money; trainer and clinical_time, as staff, when training needs them
        implicit = [("capital", "money"), ("revenue", "money")] + \
            ([("trainer", "staff"), ("clinical_time", "staff")] if training else [])
        for must, kind in implicit:
            if must not in names:
                names.append(must)
                kinds.append(kind)
                ext_cost.append(0.0)
                ext_max.append(0.0)
                hours.append(HOURS_PER_FTE)
        self.hours_per_fte = np.array(hours, dtype=float)
        self.resources = names
        self.rpos = {r: k for k, r in enumerate(names)}
        self.R = len(names)
        self.is_money = np.array([k == "money" for k in kinds])
        self.is_staff = np.array([k == "staff" for k in kinds])
        self.ext_cost = np.array(ext_cost, dtype=float)
        self.ext_max = np.array(ext_max, dtype=float)
        self.CAP = self.rpos["capital"]
        self.REV = self.rpos["revenue"]

    def _prepare_demands(self, dem: Optional[pd.DataFrame]) -> None:
        """Demands grouped per initiative: (resource index, kind, k, amount, is money)."""
        self.demands: dict[int, list[tuple[int, str, int, float, bool]]] = {}
        if dem is None or not len(dem):
            return
        for iid, r, kind, k, amt, derived in zip(dem["initiative"].tolist(), dem["resource"].tolist(),
                                                 dem["offset_kind"].tolist(), _values(dem, "k", 0),
                                                 dem["amount"].tolist(), _values(dem, "training_row", None)):
            if not _is_missing(derived):
                continue  # validation's reading of the training table: computed here from the table itself
            iid, r, kind = str(iid), str(r), str(kind)
            if iid not in self.pos:
                self.static_violations.append(f"demand of unknown initiative {iid}")
                continue
            if r not in self.rpos:
                self.static_violations.append(f"{iid}: demand on unknown resource {r}")
                continue
            if kind not in ("k", "build", "run"):
                self.static_violations.append(f"{iid}: demand on {r} has unknown offset kind {kind!r}")
                continue
            amt = _num(amt)
            if amt == 0:
                continue
            kk = int(_num(k)) if kind == "k" else 0
            ri = self.rpos[r]
            self.demands.setdefault(self.pos[iid], []).append((ri, kind, kk, amt, bool(self.is_money[ri])))

    def _prepare_training(self, tr: Optional[pd.DataFrame]) -> None:
        """Each training row as demands of its own (resource, start offset, amount per period, what),
        what = 0 trainer, 1 clinical time, 2 bank and locum pay; and each initiative's K (most periods)."""
        self.training_demands: dict[int, list[tuple[int, int, float, int]]] = {}
        self.training_periods = np.zeros(len(self.ids), dtype=int)
        if tr is None or not len(tr):
            return
        for row in tr.to_dict("records"):
            iid = str(row["initiative"])
            if iid not in self.pos:
                self.static_violations.append(f"training of unknown initiative {iid}")
                continue
            i = self.pos[iid]
            K = max(1, int(_num(row.get("periods_before_go_live"), 1)))
            self.training_periods[i] = max(self.training_periods[i], K)
            hours = _num(row.get("hours_each")) * _num(row.get("headcount"))
            share = _num(row.get("bank_locum_share"))
            per_class = max(1.0, _num(row.get("trainees_per_trainer"), TRAINEES_PER_TRAINER))
            wanted = ((self.rpos["trainer"], hours / per_class, 0),
                      (self.rpos["clinical_time"], hours * (1 - share), 1),
                      (self.REV, hours * share * _num(row.get("bank_rate")), 2))
            d = int(self.duration[i])
            for ri, total, what in wanted:
                # one FTE in a period is hours_per_fte / periods per year hours
                per_period = total / K if what == 2 else total / K / (self.hours_per_fte[ri] / self.P)
                if per_period != 0:
                    self.training_demands.setdefault(i, []).extend((ri, d - K + j, per_period, what) for j in range(K))

    def _prepare_approved(self, approved: Optional[pd.DataFrame]) -> None:
        """The approved start of each approved initiative; an in_progress one started before the horizon
        (or at its start) is at period 0, where it must be."""
        self.approved: dict[int, int] = {}
        if approved is None or not len(approved):
            return
        for iid, start in zip(approved.index.tolist(), approved["start"].tolist()):
            if str(iid) not in self.pos:
                self.static_violations.append(f"approved plan: unknown initiative {iid}")
                continue
            i = self.pos[str(iid)]
            s = int(_num(start))
            if s < 0 and not self.in_progress[i]:
                self.static_violations.append(f"approved plan: {iid} starts before the horizon but is not in progress")
            self.approved[i] = 0 if self.in_progress[i] else s

    def _prepare_capacity(self, cap: pd.DataFrame) -> None:
        """The capacity rows of known resources, their periods inside the horizon as flat members."""
        T = self.T
        self.row_resource: list[int] = []
        self.row_label: list[str] = []
        self.row_amount: list[float] = []
        self.row_periods: list[tuple[int, ...]] = []
        valid_rows: list[int] = []  # capacity row id per kept row position
        member_row: list[int] = []
        member_flat: list[int] = []
        for row_id, (r, lab, pers, amt) in enumerate(
            zip(cap["resource"].tolist(), cap["period"].tolist(), cap["periods"].tolist(), cap["amount"].tolist())
        ):
            r = str(r)
            if r not in self.rpos:
                self.static_violations.append(f"capacity row {row_id} ({r} {lab}): unknown resource")
                continue
            ri = self.rpos[r]
            pers = tuple(int(p) for p in pers if 0 <= int(p) < T)
            j = len(valid_rows)
            valid_rows.append(row_id)
            self.row_resource.append(ri)
            self.row_label.append(str(lab))
            self.row_amount.append(_num(amt))
            self.row_periods.append(pers)
            member_row.extend([j] * len(pers))
            member_flat.extend(ri * T + p for p in pers)
        self.nrows = len(valid_rows)
        self.row_pos = {row_id: j for j, row_id in enumerate(valid_rows)}
        self.row_resource_a = np.array(self.row_resource, dtype=int)
        self.row_amount_a = np.array(self.row_amount, dtype=float)
        self.member_row = np.array(member_row, dtype=int)
        self.member_flat = np.array(member_flat, dtype=int)
        # one-period rows of staff resources: the ones external purchases relax
        self.single_staff_rows = np.array(
            [j for j in range(self.nrows) if len(self.row_periods[j]) == 1 and self.is_staff[self.row_resource[j]]],
            dtype=int,
        )
        self.single_staff_flat = np.array(
            [self.row_resource[j] * T + self.row_periods[j][0] for j in self.single_staff_rows], dtype=int
        )

    def _prepare_funding(self, fund: Optional[pd.DataFrame]) -> None:
        self.fund_rowpos: list[int] = []
        self.fund_amount: list[float] = []
        self.fund_milestone: list[Optional[int]] = []
        self.fund_mperiod: list[int] = []
        rows = (
            zip(fund["source"].tolist(), fund["amount"].tolist(), _values(fund, "milestone", None),
                fund["capacity_row"].tolist(), _values(fund, "milestone_period", 0))
            if fund is not None and len(fund) else ()
        )
        for src, amt, ms, crow, mper in rows:
            crow = int(crow)
            if crow not in self.row_pos:
                self.static_violations.append(f"funding {src}: capacity row {crow} does not exist")
                continue
            if _is_missing(ms) or str(ms) == "":
                mi = None
            else:
                if str(ms) not in self.pos:
                    self.static_violations.append(f"funding {src}: milestone {ms} is not an initiative")
                    continue
                mi = self.pos[str(ms)]
            self.fund_rowpos.append(self.row_pos[crow])
            self.fund_amount.append(_num(amt))
            self.fund_milestone.append(mi)
            self.fund_mperiod.append(int(_num(mper)))
        self.fund_rowpos_a = np.array(self.fund_rowpos, dtype=int)
        self.fund_amount_a = np.array(self.fund_amount, dtype=float)

    def _prepare_dependencies(self, dep: Optional[pd.DataFrame]) -> None:
        self.deps: list[tuple[int, int, str, int]] = []
        if dep is None or not len(dep):
            return
        for a, b, typ, lag in zip(dep["predecessor"].tolist(), dep["successor"].tolist(), dep["type"].tolist(),
                                  _values(dep, "lag", 0)):
            a, b, typ = str(a), str(b), str(typ)
            if a not in self.pos or b not in self.pos:
                self.static_violations.append(f"dependency {a} -> {b}: unknown initiative")
                continue
            if typ not in DEPENDENCY_TYPES:
                self.static_violations.append(f"dependency {a} -> {b}: unknown type {typ!r}")
                continue
            self.deps.append((self.pos[a], self.pos[b], typ, int(_num(lag))))

    # ------------------------------------------------------------------------------------
    def label(self, p: int) -> str:
        if 0 <= p < self.T:
            return self.labels[p]
        return f"#{p} ({'past' if p >= self.T else 'before'} the horizon)"

    def allowed_starts(self, i: int) -> list[int]:
        """Start indices allowed by the initiative's own window and deadline, its being in progress
        (period 0 only) and its training (every training period inside the horizon)."""
        d = int(self.duration[i])
        lf = self.latest_finish[i]
        starts = [s for s in range(max(0, int(self.earliest[i])), self.T) if lf is None or s + d - 1 <= lf]
        if self.in_progress[i]:
            return [s for s in starts if s == 0]
        k = int(self.training_periods[i])
        return [s for s in starts if s + d - k >= 0 and s + d - 1 <= self.T - 1] if k else starts

    def required(self, i: int) -> bool:
        """Whether every plan must select initiative i: mandatory, forced in, in progress and not
        allowed to stop, or approved and kept by changes.keep."""
        iid = self.ids[i]
        return bool(self.mandatory[i] or iid in self.force_in or (self.in_progress[i] and not self.allow_stopping)
                    or (i in self.approved and self.keep in ("start", "selection")))

    def contribution(self, i: int, s: int):
        """Use (flat indices r*T+p, amounts) and (pv_benefit, pv_revenue, in_year, pv_cost)
        of initiative i started at s; computed once per (i, s)."""
        key = (i, s)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        T = self.T
        d = int(self.duration[i])
        g = s + d
        build = np.arange(max(s, 0), min(s + d, T))
        run = np.arange(max(g, 0), T)
        idx: list[np.ndarray] = []
        val: list[np.ndarray] = []
        money = np.zeros(T)

        def add(ri: int, periods: np.ndarray, amount: float, is_money: bool) -> None:
            if amount == 0 or periods.size == 0:
                return
            idx.append(ri * T + periods)
            val.append(np.full(periods.size, amount))
            if is_money:
                money[periods] += amount

        add(self.CAP, build, self.capital_cost[i] / d, True)
        add(self.REV, build, self.revenue_cost[i] / d, True)
        add(self.REV, run, self.running_cost[i], True)
        for ri, kind, k, amt, is_money in self.demands.get(i, ()):
            if kind == "build":
                add(ri, build, amt, is_money)
            elif kind == "run":
                add(ri, run, amt, is_money)
            else:
                p = s + k
                if 0 <= p < T:
                    add(ri, np.array([p]), amt, is_money)
        trained = [0.0, 0.0, 0.0]  # trainer FTE-periods, clinical FTE-periods, £ inside the horizon
        for ri, k, amt, what in self.training_demands.get(i, ()):
            p = s + k
            if 0 <= p < T:  # training before the horizon is done (work in progress)
                add(ri, np.array([p]), amt, what == 2)
                trained[what] += amt

        if run.size:
            f = np.minimum(1.0, (run - g + 1) / (self.ramp[i] + 1.0))
            disc = float(np.dot(self.discount[run], f))
            pvb = self.benefit[i] * disc
            pvr = self.revenue[i] * disc
            iy = self.revenue[i] * float(f[self.fy[run] == 0].sum())
        else:
            pvb = pvr = iy = 0.0
        pvc = float(np.dot(money, self.discount))
        out = (
            np.concatenate(idx) if idx else np.zeros(0, dtype=int),
            np.concatenate(val) if val else np.zeros(0),
            (float(pvb), float(pvr), float(iy), pvc),
            tuple(trained),
        )
        self._cache[key] = out
        return out

    def _exceeds(self, x: float, limit: float) -> bool:
        return x > limit + self.tol * abs(limit) + self.tol

    # ------------------------------------------------------------------------------------
    def evaluate(self, starts: Mapping[str, Any], external: Optional[Mapping] = None) -> _Evaluation:
        """Every rule the plan breaks, in a fixed order, and its score."""
        R, T = self.R, self.T
        v: list[str] = list(self.static_violations)
        selected, start, problems = self._starts(starts)
        v += problems
        v += self._selection(selected)
        v += self._dependencies(selected, start)
        moved, dropped, problems = self._approved_plan(selected, start)
        v += problems
        used, per_init, training = self._use(start)
        stop = self._stopped(selected)
        used[self.REV * T] += stop  # stop costs: revenue spent in the first period
        fund_on_row = self._landed_funding(start)
        base_limit = self.row_amount_a + fund_on_row
        if external is None:
            ext = self._cheapest_external(used, base_limit)
        else:
            ext, problems = self._given_external(external)
            v += problems
        E = ext.reshape(R, T)
        # external purchases are charged to revenue in the period of purchase
        ext_spend = self.ext_cost @ E  # (T,)
        used = used.copy()
        used[self.REV * T : (self.REV + 1) * T] += ext_spend
        v += self._capacity(used, ext, base_limit, fund_on_row)
        achieved, problems = self._targets(start)
        v += problems
        objective, comp = self._score(per_init, selected, start, ext_spend)
        objective -= self.weights["cost"] * stop + self.move_penalty * moved + self.drop_penalty * dropped
        if any(self.in_progress):
            comp["stop_cost"] = stop * float(self.discount[0])
        if self.approved:
            comp["change_penalty"] = self.move_penalty * moved + self.drop_penalty * dropped
        if not np.isfinite(objective) or not all(np.isfinite(x) for x in comp.values()):
            v.append(f"the plan's objective is not a finite number ({objective}): an amount in the portfolio is too "
                     "large to plan with")
        return _Evaluation(v, objective, comp, per_init, used.reshape(R, T), E, training, achieved)

    def _targets(self, start: dict[int, int]) -> tuple[list[float], list[str]]:
        """Each target's measure over its financial year for the plan, and the targets it misses."""
        achieved, v = [], []
        for measure, year, at_least in self.targets:
            periods = [p for p in range(self.T) if self._fy_label(p) == year]
            total = 0.0
            for i, s in start.items():
                g = s + int(self.duration[i])
                rate = self.benefit[i] * self.cash_releasing[i] if measure == "cash_releasing_savings" \
                    else self.revenue[i]
                total += rate * sum(min(1.0, (p - g + 1) / (self.ramp[i] + 1.0)) for p in periods if p >= g)
            achieved.append(total)
            if self._exceeds(at_least, total):
                v.append(f"target {measure} {year}: the plan reaches £{total:,.2f}, below at least £{at_least:,.2f} "
                         f"(short by £{at_least - total:,.2f})")
        return achieved, v

    def _fy_label(self, p: int) -> str:
        """The financial year of period p, as '2027/28', from the horizon's own year numbering."""
        first = self.first_fy + int(self.fy[p])
        return f"{first}/{(first + 1) % 100:02d}"

    # ------------------------------------------------------------------------------------ phases
    def _starts(self, starts: Mapping[str, Any]) -> tuple[set[int], dict[int, int], list[str]]:
        """The initiatives the plan selects (logical rules), their integer starts (timing and
        resource rules), and what is wrong with the starts themselves."""
        T, v = self.T, []
        selected: set[int] = set()
        start: dict[int, int] = {}
        for key, value in (starts or {}).items():
            iid = str(key)
            if _is_missing(value):
                continue
            if iid not in self.pos:
                v.append(f"unknown initiative {iid} in the plan")
                continue
            i = self.pos[iid]
            selected.add(i)
            s, problem = _as_int_start(value)
            if problem:
                v.append(f"{iid}: {problem}")
            if s is None:
                continue
            start[i] = s
            d = int(self.duration[i])
            if s < 0 or s >= T:
                v.append(
                    f"{iid}: start index {s} is outside the horizon (0 .. {T - 1}: {self.labels[0]} .. {self.labels[-1]})"
                )
            elif s < self.earliest[i]:
                v.append(f"{iid}: starts {self.label(s)}, before its earliest start {self.label(int(self.earliest[i]))}")
            lf = self.latest_finish[i]
            if lf is not None and s + d - 1 > lf:
                v.append(f"{iid}: builds until {self.label(s + d - 1)}, after its latest finish {self.label(lf)}")
            v += self._start_rules(i, s)
        return selected, start, v

    def _start_rules(self, i: int, s: int) -> list[str]:
        """The planning cycle's rules on one start: work in progress starts at once; training fits the horizon."""
        iid, d, k = self.ids[i], int(self.duration[i]), int(self.training_periods[i])
        if self.in_progress[i]:
            return [] if s == 0 else [f"{iid}: in progress, so it continues from {self.labels[0]}, not {self.label(s)}"]
        v = []
        if k and s + d - k < 0:
            v.append(f"{iid}: starts {self.label(s)}, so its training ({k} period(s) before go-live) would begin "
                     "before the horizon")
        if k and s + d - 1 > self.T - 1:
            v.append(f"{iid}: builds until {self.label(s + d - 1)}, so its staff would not all be trained inside "
                     "the horizon")
        return v

    def _selection(self, selected: set[int]) -> list[str]:
        """Mandatory, forced-in and forced-out initiatives."""
        v = [f"{self.ids[i]}: mandatory but not selected" for i in range(len(self.ids))
             if self.mandatory[i] and i not in selected]
        for iid in self.force_in:
            if iid not in self.pos:
                v.append(f"force_in {iid} is not an initiative")
            elif self.pos[iid] not in selected:
                v.append(f"{iid}: forced in but not selected")
        for iid in self.force_out:
            if iid in self.pos and self.pos[iid] in selected:
                v.append(f"{iid}: forced out but selected")
        for i in range(len(self.ids)):
            if i in selected:
                continue
            if self.in_progress[i] and not self.allow_stopping:
                v.append(f"{self.ids[i]}: in progress but not selected (stopping it needs allow_stopping)")
            elif i in self.approved and self.keep in ("start", "selection"):
                v.append(f"{self.ids[i]}: approved but not selected (changes.keep: {self.keep})")
        return v

    def _approved_plan(self, selected: set[int], start: dict[int, int]) -> tuple[int, int, list[str]]:
        """Approved initiatives moved (selected at another start) and dropped (not selected), and what
        breaks changes.keep: start and max_moved."""
        v, moved, dropped = [], 0, 0
        for i, a in self.approved.items():
            if i not in selected:
                dropped += 1
            elif start.get(i, a) != a:
                moved += 1
                if self.keep == "start":
                    v.append(f"{self.ids[i]}: approved to start {self.label(a)} but starts {self.label(start[i])} "
                             "(changes.keep: start)")
        if self.max_moved is not None and moved + dropped > self.max_moved:
            v.append(f"{moved} approved initiative(s) moved and {dropped} dropped: more than max_moved "
                     f"{self.max_moved}")
        return moved, dropped, v

    def _stopped(self, selected: set[int]) -> float:
        """Stop costs of the in_progress initiatives the plan does not continue (revenue, period 0)."""
        return float(sum(self.stop_cost[i] for i in range(len(self.ids)) if self.in_progress[i] and i not in selected))

    def _dependencies(self, selected: set[int], start: dict[int, int]) -> list[str]:
        v = []
        for a, b, typ, lag in self.deps:
            A, B = self.ids[a], self.ids[b]
            if typ == "excludes":
                if a in selected and b in selected:
                    v.append(f"{A} and {B} exclude each other but both are selected")
                continue
            if b not in selected:
                continue
            if a not in selected:
                v.append(f"{B} is selected but its predecessor {A} ({typ}) is not")
                continue
            if typ == "requires" or a not in start or b not in start:
                continue
            if typ == "finish_to_start":
                need = start[a] + int(self.duration[a]) + lag
                what = f"{A}'s go-live {self.label(start[a] + int(self.duration[a]))}"
            else:
                need = start[a] + lag
                what = f"{A}'s start {self.label(start[a])}"
            if start[b] < need:
                v.append(f"{B} starts {self.label(start[b])}, before {what} + lag {lag} = {self.label(need)} ({typ})")
        return v

    def _use(self, start: dict[int, int]) -> tuple[np.ndarray, dict, dict]:
        """Use of every resource and period by the initiatives (flat r*T+p, no external yet), each
        initiative's objective pieces and its training inside the horizon."""
        per_init: dict[int, tuple[float, float, float, float, float]] = {}
        training: dict[int, tuple[float, float, float]] = {}
        idx_parts, val_parts = [], []
        for i, s in start.items():
            ix, vals, (pvb, pvr, iy, pvc), trained = self.contribution(i, s)
            idx_parts.append(ix)
            val_parts.append(vals)
            per_init[i] = (pvb, pvr, iy, float(self.alignment[i]), pvc)
            training[i] = trained
        if not idx_parts:
            return np.zeros(self.R * self.T), per_init, training
        used = np.bincount(np.concatenate(idx_parts), weights=np.concatenate(val_parts), minlength=self.R * self.T)
        return used.astype(float), per_init, training

    def _landed_funding(self, start: dict[int, int]) -> np.ndarray:
        """Funding on each kept capacity row: ungated, or its milestone live by milestone_period."""
        if not self.fund_amount:
            return np.zeros(self.nrows)
        lands = np.array(
            [
                ms is None or (ms in start and start[ms] + int(self.duration[ms]) <= mper)
                for ms, mper in zip(self.fund_milestone, self.fund_mperiod)
            ]
        )
        return np.bincount(self.fund_rowpos_a, weights=np.where(lands, self.fund_amount_a, 0.0), minlength=self.nrows)

    def _cheapest_external(self, used: np.ndarray, base_limit: np.ndarray) -> np.ndarray:
        """The least purchase per (staff, period) the plan needs: the largest shortfall over its
        one-period rows, at most external_max (flat r*T+p)."""
        ext = np.zeros(self.R * self.T)
        if self.external_allowed and self.single_staff_rows.size:
            tol = self.tol
            row_use = np.bincount(self.member_row, weights=used[self.member_flat], minlength=self.nrows)
            j = self.single_staff_rows
            short = row_use[j] - base_limit[j]
            within = short <= tol * np.abs(base_limit[j]) + tol
            short = np.where(within, 0.0, short)
            np.maximum.at(ext, self.single_staff_flat, short)
            ext = np.minimum(ext, np.repeat(self.ext_max, self.T))
        return ext

    def _given_external(self, external: Mapping) -> tuple[np.ndarray, list[str]]:
        """The plan's own purchases (flat r*T+p) and what is wrong with them."""
        ext, v = self._read_external(external)
        return ext, v + self._external_limits(ext)

    def _read_external(self, external: Mapping) -> tuple[np.ndarray, list[str]]:
        T, tol, v = self.T, self.tol, []
        ext = np.zeros(self.R * T)
        for key, amount in external.items():
            try:
                r, p = key
            except (TypeError, ValueError):
                v.append(f"external purchase key {key!r} is not (resource, period)")
                continue
            r = str(r)
            if isinstance(p, str) and p in self.labels:
                p = self.labels.index(p)
            amount = _num(amount)
            if r not in self.rpos:
                v.append(f"external purchase of unknown resource {r}")
                continue
            if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)):
                v.append(f"external purchase {r}: period {p!r} is not a period index")
                continue
            p = int(p)
            if not (0 <= p < T):
                if abs(amount) > tol:
                    v.append(f"external purchase {r}: period index {p} is outside the horizon")
                continue
            ext[self.rpos[r] * T + p] += amount
        return ext, v

    def _external_limits(self, ext: np.ndarray) -> list[str]:
        """Purchases must be of staff, allowed, non-negative and within external_max."""
        tol, v = self.tol, []
        E = ext.reshape(self.R, self.T)
        for ri, r in enumerate(self.resources):
            for p in np.nonzero(np.abs(E[ri]) > 0)[0]:
                e = E[ri, p]
                lab = self.labels[p]
                if e < -tol:
                    v.append(f"external {r} {lab}: negative purchase {_fmt(e, False)}")
                    continue
                if e <= tol:
                    continue
                if not self.is_staff[ri]:
                    v.append(f"external {r} {lab}: {_fmt(e, True)} bought but {r} is not a staff resource")
                elif not self.external_allowed:
                    v.append(f"external {r} {lab}: {_fmt(e, False)} bought but external purchases are not allowed")
                elif self._exceeds(e, self.ext_max[ri]):
                    fe, fm = _fmt_pair(e, self.ext_max[ri], False)
                    v.append(f"external {r} {lab}: buys {fe} > external_max {fm}")
        return v

    def _capacity(self, used: np.ndarray, ext: np.ndarray, base_limit: np.ndarray,
                  fund_on_row: np.ndarray) -> list[str]:
        """Every capacity row: use over its periods <= amount + landed funding (+ purchases relieving it)."""
        if not self.nrows:
            return []
        tol = self.tol
        row_use = np.bincount(self.member_row, weights=used[self.member_flat], minlength=self.nrows).astype(float)
        relax = np.zeros(self.nrows)
        if self.external_allowed and self.single_staff_rows.size:
            relax[self.single_staff_rows] = ext[self.single_staff_flat]
        limit = base_limit + relax
        slack = limit + tol * np.abs(limit) + tol - row_use
        return [self._over_capacity(j, row_use[j], limit[j], fund_on_row[j], relax[j])
                for j in np.nonzero(slack < 0)[0]]

    def _over_capacity(self, j: int, use: float, limit: float, funding: float, relax: float) -> str:
        ri = self.row_resource[j]
        money = bool(self.is_money[ri])
        fu, fl = _fmt_pair(use, limit, money)
        msg = f"{self.resources[ri]} {self.row_label[j]}: uses {fu} > limit {fl}"
        parts = []
        if funding != 0 or relax != 0:
            parts.append(f"capacity {_fmt(self.row_amount_a[j], money)}")
        if funding != 0:
            parts.append(f"funding {_fmt(funding, money)}")
        if relax != 0:
            parts.append(f"external {_fmt(relax, money)}")
        if parts:
            msg += " (" + " + ".join(parts) + ")"
        return msg

    def _score(self, per_init: dict, selected: set[int], start: dict[int, int],
               ext_spend: np.ndarray) -> tuple[float, dict[str, float]]:
        """The objective of the spec and its components."""
        comp = dict.fromkeys(COMPONENTS, 0.0)
        for vals in per_init.values():
            for name, x in zip(PER_INITIATIVE_COLUMNS, vals):
                comp[name] += x
        # unselected-for-computation but selected (bad start) initiatives still count alignment
        for i in selected - set(start):
            per_init[i] = (0.0, 0.0, 0.0, float(self.alignment[i]), 0.0)
            comp["alignment"] += float(self.alignment[i])
        comp["pv_external"] = float(np.dot(ext_spend, self.discount))
        w = self.weights
        objective = (
            w["benefit"] * comp["pv_benefit"]
            + w["revenue"] * comp["pv_revenue"]
            + w["in_year_revenue"] * comp["in_year_revenue"]
            + w["alignment"] * comp["alignment"]
            - w["cost"] * (comp["pv_cost"] + comp["pv_external"])
        )
        return float(objective), comp

    # ------------------------------------------------------------------------------------
    def check(self, starts: Mapping[str, Any], external: Optional[Mapping] = None) -> CheckReport:
        ev = self.evaluate(starts, external)
        n = len(self.ids)
        table = np.zeros((n, len(PER_INITIATIVE_COLUMNS)))
        for i, vals in ev.per_initiative.items():
            table[i] = vals
        per_initiative = pd.DataFrame(
            table, index=pd.Index(self.ids, name="initiative"), columns=list(PER_INITIATIVE_COLUMNS)
        )
        R, T = self.R, self.T
        usage = pd.DataFrame(
            {
                "resource": np.repeat(np.array(self.resources, dtype=object), T),
                "period": np.tile(np.arange(T), R),
                "used": ev.used.ravel(),
                "external": ev.external.ravel(),
            }
        )
        ext = {
            (self.resources[ri], int(p)): float(ev.external[ri, p])
            for ri, p in zip(*np.nonzero(ev.external))
        }
        training = pd.DataFrame([(self.ids[i], *vals) for i, vals in sorted(ev.training.items())],
                                columns=["initiative", *TRAINING_COLUMNS]).set_index("initiative")
        return CheckReport(
            ok=ev.ok,
            violations=ev.violations,
            objective=ev.objective,
            components=ev.components,
            per_initiative=per_initiative,
            usage=usage,
            external=ext,
            training=training,
            targets=pd.DataFrame([(*t[:3], a) for t, a in zip(self.targets, ev.targets)], columns=list(TARGET_COLUMNS)),
        )


def check_plan(
    portfolio: Any,
    starts: Mapping[str, Any],
    external: Optional[Mapping] = None,
    tol: float = 1e-6,
) -> CheckReport:
    """Check a plan against the portfolio's rules and score it (see module docstring).

    ``starts`` maps initiative id -> start period index (None or missing = not selected).
    ``external`` maps (resource, period index) -> units bought; None = buy the cheapest
    amount the plan needs (the largest shortfall over the one-period rows of each staff
    resource, at most ``external_max``, and nothing when external purchases are off).
    """
    return PlanChecker(portfolio, tol=tol).check(starts, external)
