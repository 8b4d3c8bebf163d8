"""Unit tests of the independent plan checker (prioritiser/check.py).

Each test builds a tiny Portfolio directly (tests/bruteforce.py: build_portfolio, no
parser involved) and checks one rule or one hand-calculated objective.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bruteforce import brute_force, build_portfolio
from prioritiser.check import CheckReport, check_plan


def ini(id, **kw):
    return {"id": id, **kw}


def has(report: CheckReport, *fragments: str) -> bool:
    """Some violation mentions all the fragments."""
    return any(all(f in v for f in fragments) for v in report.violations)


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-9)


# ----------------------------------------------------------------------------------------
# plan shape, windows, deadlines


def test_empty_plan_is_ok_and_scores_zero():
    p = build_portfolio([ini("A", benefit=10)], capacity=[("capital", "2026/27", 0)])
    r = check_plan(p, {})
    assert r.ok and r.violations == []
    assert r.objective == 0
    assert set(r.components) == {"pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost", "pv_external"}
    assert list(r.per_initiative.columns) == ["pv_benefit", "pv_revenue", "in_year_revenue", "alignment", "pv_cost"]
    assert r.per_initiative.index.name == "initiative"
    assert list(r.usage.columns) == ["resource", "period", "used", "external"]
    assert len(r.usage) == 2 * 4  # capital, revenue x 4 periods
    assert r.external == {}
    # None means not selected, the same as missing
    assert check_plan(p, {"A": None}).ok


def test_unknown_initiative():
    p = build_portfolio([ini("A")])
    r = check_plan(p, {"ZZZ": 0})
    assert not r.ok and has(r, "unknown initiative ZZZ")


def test_start_must_be_integer():
    p = build_portfolio([ini("A")])
    assert has(check_plan(p, {"A": "2026/27 Q1"}), "A", "not an integer")
    assert has(check_plan(p, {"A": 1.5}), "A", "not an integer")
    assert has(check_plan(p, {"A": True}), "A", "not a period index")
    assert check_plan(p, {"A": np.int64(1)}).ok


def test_window_earliest_start_and_horizon():
    p = build_portfolio([ini("A", earliest_start=2)], T=4)
    assert check_plan(p, {"A": 2}).ok
    assert check_plan(p, {"A": 3}).ok
    r = check_plan(p, {"A": 1})
    assert not r.ok and has(r, "A", "2026/27 Q2", "earliest start 2026/27 Q3")
    r = check_plan(p, {"A": 4})
    assert not r.ok and has(r, "A", "outside the horizon")
    r = check_plan(p, {"A": -1})
    assert not r.ok and has(r, "A", "outside the horizon")


def test_deadline_latest_finish():
    # latest_finish is the last allowed BUILD period; it may lie beyond the horizon
    p = build_portfolio([ini("A", duration=3, latest_finish=3), ini("B", duration=3, latest_finish=5)], T=4)
    assert check_plan(p, {"A": 1}).ok  # builds 1..3
    r = check_plan(p, {"A": 2})  # builds 2..4
    assert not r.ok and has(r, "A", "latest finish 2026/27 Q4")
    assert check_plan(p, {"B": 3}).ok  # builds 3..5, latest 5 (outside horizon) ok
    assert not check_plan(p, {"B": 3, "A": 2}).ok


# ----------------------------------------------------------------------------------------
# mandatory, force in/out


def test_mandatory():
    p = build_portfolio([ini("A", mandatory=True), ini("B")])
    r = check_plan(p, {"B": 0})
    assert not r.ok and has(r, "A", "mandatory")
    assert check_plan(p, {"A": 0}).ok


def test_force_in_and_force_out():
    p = build_portfolio([ini("A"), ini("B"), ini("C")], force_in=["A"], force_out=["B"])
    r = check_plan(p, {"B": 1})
    assert has(r, "A", "forced in") and has(r, "B", "forced out")
    assert len(r.violations) == 2
    assert check_plan(p, {"A": 0, "C": 2}).ok


# ----------------------------------------------------------------------------------------
# dependencies


def test_finish_to_start_with_lag():
    p = build_portfolio(
        [ini("A", duration=2), ini("B")], T=8, dependencies=[("A", "B", "finish_to_start", 1)]
    )
    # A starts 0, builds 0..1, live at 2; B may start at 2 + 1 = 3
    assert check_plan(p, {"A": 0, "B": 3}).ok
    r = check_plan(p, {"A": 0, "B": 2})
    assert not r.ok and has(r, "B", "A", "finish_to_start", "= 2026/27 Q4")
    # successor needs the predecessor selected
    r = check_plan(p, {"B": 5})
    assert not r.ok and has(r, "B", "A", "not")
    # predecessor alone is fine
    assert check_plan(p, {"A": 0}).ok


def test_start_to_start_with_lag():
    p = build_portfolio([ini("A", duration=3), ini("B")], T=8, dependencies=[("A", "B", "start_to_start", 2)])
    assert check_plan(p, {"A": 1, "B": 3}).ok
    assert check_plan(p, {"A": 1, "B": 7}).ok
    r = check_plan(p, {"A": 1, "B": 2})
    assert not r.ok and has(r, "B", "start_to_start")
    assert not check_plan(p, {"B": 3}).ok
    # lag 0 allows the same start
    p0 = build_portfolio([ini("A", duration=3), ini("B")], T=8, dependencies=[("A", "B", "start_to_start", 0)])
    assert check_plan(p0, {"A": 1, "B": 1}).ok
    assert not check_plan(p0, {"A": 1, "B": 0}).ok


def test_requires_has_no_timing():
    p = build_portfolio([ini("A", duration=3), ini("B")], T=8, dependencies=[("A", "B", "requires", 0)])
    assert check_plan(p, {"A": 5, "B": 0}).ok
    r = check_plan(p, {"B": 0})
    assert not r.ok and has(r, "B", "A", "requires")


def test_excludes():
    p = build_portfolio([ini("A"), ini("B")], dependencies=[("A", "B", "excludes", 0)])
    assert check_plan(p, {"A": 0}).ok
    assert check_plan(p, {"B": 0}).ok
    r = check_plan(p, {"A": 0, "B": 3})
    assert not r.ok and has(r, "A", "B", "exclude")


# ----------------------------------------------------------------------------------------
# capacity


def test_per_period_capacity_capital():
    # capital 600 over 2 periods = 300 per build period
    p = build_portfolio(
        [ini("A", duration=2, capital_cost=600)],
        T=4,
        capacity=[("capital", "2026/27 Q2", 300), ("capital", "2026/27 Q3", 299)],
    )
    assert check_plan(p, {"A": 0}).ok  # uses Q1 (no row), Q2 (300 <= 300)
    r = check_plan(p, {"A": 1})  # Q2 300, Q3 300 > 299
    assert not r.ok and r.violations == ["capital 2026/27 Q3: uses £300 > limit £299"]
    u = r.usage.set_index(["resource", "period"])["used"]
    assert [u[("capital", k)] for k in range(4)] == [0, 300, 300, 0]


def test_per_year_capacity_and_spend_outside_horizon():
    # T=6 quarters: FY 2026/27 is periods 0..3, 2027/28 is 4..5 (partly in the horizon)
    p = build_portfolio(
        [ini("A", duration=2, capital_cost=1_000_000), ini("B", duration=3, capital_cost=600_000)],
        T=6,
        capacity=[("capital", "2026/27", 1_200_000), ("capital", "2027/28", 500_000)],
    )
    assert check_plan(p, {"A": 0}).ok
    r = check_plan(p, {"A": 0, "B": 2})  # FY0: 1,000,000 + 2 * 200,000 = 1,400,000
    assert r.violations == ["capital 2026/27: uses £1,400,000 > limit £1,200,000"]
    # B started in the last period: only one build period in the horizon, the rest is free
    r = check_plan(p, {"B": 5})
    assert r.ok
    assert r.usage.query("resource == 'capital'")["used"].sum() == approx(200_000)
    # FY 2027/28 within the horizon: A at 4 spends 500,000 in 4 and 5 -> 1,000,000 > 500,000
    r = check_plan(p, {"A": 4})
    assert r.violations == ["capital 2027/28: uses £1,000,000 > limit £500,000"]


def test_staff_demands_build_run_k():
    p = build_portfolio(
        [ini("A", duration=2)],
        T=6,
        resources=[{"resource": "dev"}],
        demands=[("A", "dev", "build", 1.0), ("A", "dev", "run", 0.5), ("A", "dev", 0, 2.0), ("A", "dev", 3, 4.0)],
        capacity=[("dev", lab, 10) for lab in ["2026/27 Q1", "2026/27 Q2", "2026/27 Q3"]],
    )
    r = check_plan(p, {"A": 1})
    assert r.ok
    used = r.usage.query("resource == 'dev'")["used"].to_numpy()
    # build 1..2, live 3: k=0 -> period 1, k=3 -> period 4
    assert used.tolist() == [0, 3.0, 1.0, 0.5, 4.5, 0.5]
    # tighter staff limit in Q2 (period 1), no external allowed
    p2 = build_portfolio(
        [ini("A", duration=2)],
        T=6,
        resources=[{"resource": "dev"}],
        demands=[("A", "dev", "build", 1.0), ("A", "dev", 0, 2.0)],
        capacity=[("dev", "2026/27 Q2", 2.5)],
        external=False,
    )
    r = check_plan(p2, {"A": 1})
    assert r.violations == ["dev 2026/27 Q2: uses 3 > limit 2.5"]


def test_tolerance():
    p = build_portfolio([ini("A", capital_cost=100.00005)], capacity=[("capital", "2026/27 Q1", 100)])
    assert check_plan(p, {"A": 0}).ok  # within 1e-6 relative + 1e-6 absolute
    p = build_portfolio([ini("A", capital_cost=100.001)], capacity=[("capital", "2026/27 Q1", 100)])
    r = check_plan(p, {"A": 0})
    assert not r.ok and has(r, "capital 2026/27 Q1", "uses £100.00", "> limit £100")


def test_money_demand_and_running_cost_use_revenue():
    p = build_portfolio(
        [ini("A", duration=1, revenue_cost=40, running_cost=10)],
        T=4,
        demands=[("A", "revenue", "build", 5), ("A", "capital", "run", 7), ("A", "revenue", 2, 1)],
        capacity=[("revenue", "2026/27 Q1", 45), ("revenue", "2026/27 Q3", 10)],
    )
    r = check_plan(p, {"A": 0})
    rev = r.usage.query("resource == 'revenue'")["used"].to_numpy()
    cap = r.usage.query("resource == 'capital'")["used"].to_numpy()
    assert rev.tolist() == [45, 10, 11, 10]
    assert cap.tolist() == [0, 7, 7, 7]
    assert r.violations == ["revenue 2026/27 Q3: uses £11 > limit £10"]


# ----------------------------------------------------------------------------------------
# funding


def _funded(milestone, mlabel="2026/27 Q3"):
    return build_portfolio(
        [ini("M", duration=2), ini("X", capital_cost=150)],
        T=4,
        capacity=[("capital", "2026/27 Q3", 100), ("capital", "2026/27 Q4", 100)],
        funding=[("fund", "capital", mlabel, 50, milestone)],
    )


def test_funding_without_milestone_lands():
    p = _funded(None)
    assert check_plan(p, {"X": 2}).ok  # 150 <= 100 + 50
    r = check_plan(p, {"X": 3})
    assert r.violations == ["capital 2026/27 Q4: uses £150 > limit £100"]


def test_funding_lands_when_milestone_live_in_time():
    p = _funded("M")  # lands on Q3 (index 2) if M goes live at or before index 2
    assert check_plan(p, {"M": 0, "X": 2}).ok  # M live at 2
    r = check_plan(p, {"M": 1, "X": 2})  # M live at 3: too late
    assert not r.ok
    assert r.violations == ["capital 2026/27 Q3: uses £150 > limit £100"]
    r = check_plan(p, {"X": 2})  # M not selected
    assert not r.ok


def test_funding_on_financial_year_row_uses_first_period():
    p = build_portfolio(
        [ini("M", duration=1), ini("X", duration=2, capital_cost=300)],
        T=8,
        capacity=[("capital", "2027/28", 100)],
        funding=[("fund", "capital", "2027/28", 200, "M")],
    )
    assert check_plan(p, {"M": 3, "X": 4}).ok  # M live at 4 = first period of 2027/28
    r = check_plan(p, {"M": 4, "X": 4})  # live at 5: too late
    assert r.violations == ["capital 2027/28: uses £300 > limit £100"]


# ----------------------------------------------------------------------------------------
# external purchases


def _staffed(external=True, ext_max=2.0, ext_cost=100.0, extra_caps=()):
    return build_portfolio(
        [ini("A", duration=2)],
        T=4,
        resources=[{"resource": "dev", "external_cost": ext_cost, "external_max": ext_max}],
        demands=[("A", "dev", "build", 3.0)],
        capacity=[("dev", "2026/27 Q1", 2), ("dev", "2026/27 Q2", 1), *extra_caps],
        external=external,
    )


def test_cheapest_external_is_computed_and_costed():
    p = _staffed()
    r = check_plan(p, {"A": 0})
    assert r.ok
    assert r.external == {("dev", 0): 1.0, ("dev", 1): 2.0}
    u = r.usage.set_index(["resource", "period"])
    assert u.loc[("dev", 1), "external"] == 2.0
    assert u.loc[("revenue", 0), "used"] == 100 and u.loc[("revenue", 1), "used"] == 200
    assert r.components["pv_external"] == approx(300)
    assert r.objective == approx(-300)


def test_external_over_max():
    p = _staffed(ext_max=1.5)
    r = check_plan(p, {"A": 0})  # needs 2 in Q2, may buy 1.5
    assert r.violations == ["dev 2026/27 Q2: uses 3 > limit 2.5 (capacity 1 + external 1.5)"]
    r = check_plan(p, {"A": 0}, external={("dev", 0): 1.0, ("dev", 1): 2.0})
    assert has(r, "external dev 2026/27 Q2", "buys 2 > external_max 1.5")


def test_external_not_allowed():
    p = _staffed(external=False)
    r = check_plan(p, {"A": 0})
    assert r.external == {}
    assert r.violations == ["dev 2026/27 Q1: uses 3 > limit 2", "dev 2026/27 Q2: uses 3 > limit 1"]
    r = check_plan(p, {"A": 0}, external={("dev", 0): 1.0, ("dev", 1): 2.0})
    assert has(r, "external dev 2026/27 Q1", "not allowed")
    # a disallowed purchase does not relax the limit
    assert has(r, "dev 2026/27 Q1: uses 3 > limit 2")


def test_external_given_explicitly():
    p = _staffed()
    r = check_plan(p, {"A": 0}, external={("dev", 0): 1.0, ("dev", 1): 2.0, ("dev", 3): 0.5})
    assert r.ok  # buying more than needed is allowed, it only costs
    assert r.components["pv_external"] == approx(350)
    r = check_plan(p, {"A": 0}, external={("dev", 0): 1.0, ("dev", 1): 1.0})
    assert r.violations == ["dev 2026/27 Q2: uses 3 > limit 2 (capacity 1 + external 1)"]
    r = check_plan(p, {}, external={("dev", 0): -1.0})
    assert has(r, "negative")
    r = check_plan(p, {}, external={("capital", 0): 1.0})
    assert has(r, "capital", "not a staff resource")
    r = check_plan(p, {}, external={("nobody", 0): 1.0})
    assert has(r, "unknown resource nobody")


def test_external_does_not_relax_staff_year_rows():
    p = _staffed(extra_caps=[("dev", "2026/27", 4)])
    r = check_plan(p, {"A": 0})  # year total 6 > 4, purchases relax only per-period rows
    assert r.violations == ["dev 2026/27: uses 6 > limit 4"]
    assert r.external == {("dev", 0): 1.0, ("dev", 1): 2.0}


def test_external_charged_to_revenue_limit():
    p = _staffed(extra_caps=[("revenue", "2026/27 Q2", 150)])
    r = check_plan(p, {"A": 0})
    assert r.violations == ["revenue 2026/27 Q2: uses £200 > limit £150"]


def test_external_largest_shortfall_over_rows():
    p = _staffed(ext_max=5, extra_caps=[("dev", "2026/27 Q2", 0.5)])  # two rows for Q2
    r = check_plan(p, {"A": 0})
    assert r.ok and r.external[("dev", 1)] == 2.5


# ----------------------------------------------------------------------------------------
# objective, hand calculated


def test_ramp_and_in_year_revenue_undiscounted():
    # T=6 quarters: FY0 = 0..3. A (d=1) started at 0 goes live at 1; ramp 2: 1/3, 2/3, 1, 1, 1
    p = build_portfolio([ini("A", benefit=90, revenue=30, ramp=2)], T=6, weights={"in_year_revenue": 2})
    r = check_plan(p, {"A": 0})
    assert r.components["pv_benefit"] == approx(90 * (1 / 3 + 2 / 3 + 1 + 1 + 1))
    assert r.components["pv_revenue"] == approx(30 * (1 / 3 + 2 / 3 + 1 + 1 + 1))
    assert r.components["in_year_revenue"] == approx(30 * (1 / 3 + 2 / 3 + 1))  # periods 1..3 only
    assert r.objective == approx(360 + 120 + 2 * 60)
    # go-live after the horizon: nothing earned
    r = check_plan(p, {"A": 5})
    assert r.components["pv_benefit"] == 0 and r.objective == 0


def test_discounting_quarterly():
    rate = 0.1
    p = build_portfolio(
        [ini("A", duration=2, capital_cost=200, benefit=50, ramp=1)],
        T=4,
        discount_rate=rate,
        weights={"cost": 2},
    )
    r = check_plan(p, {"A": 0})  # build 0..1 (100 each), live 2: f = 1/2, 1
    df = [(1 + rate) ** (-k / 4) for k in range(4)]
    pvb = 50 * (0.5 * df[2] + 1.0 * df[3])
    pvc = 100 * (df[0] + df[1])
    assert r.components["pv_benefit"] == approx(pvb)
    assert r.components["pv_cost"] == approx(pvc)
    assert r.objective == approx(pvb - 2 * pvc)
    assert r.per_initiative.loc["A", "pv_cost"] == approx(pvc)


def test_discounting_yearly_granularity():
    rate = 0.035
    p = build_portfolio([ini("A", benefit=1000)], T=3, granularity="year", discount_rate=rate)
    r = check_plan(p, {"A": 0})
    assert r.components["pv_benefit"] == approx(1000 * (1.035**-1 + 1.035**-2))
    # every year-period is its own financial year: in-year revenue only from period 0
    p = build_portfolio([ini("A", duration=1, revenue=10)], T=3, granularity="year")
    assert check_plan(p, {"A": 0}).components["in_year_revenue"] == 0


def test_pv_cost_includes_running_and_money_demands():
    rate = 0.2
    p = build_portfolio(
        [ini("A", duration=1, capital_cost=100, revenue_cost=20, running_cost=5), ini("B", benefit=1)],
        T=4,
        resources=[{"resource": "dev", "external_cost": 1000}],
        demands=[("A", "capital", "run", 3), ("A", "revenue", 1, 7), ("A", "dev", "build", 2)],  # staff: no money
        discount_rate=rate,
    )
    r = check_plan(p, {"A": 1})  # build 1, live 2
    df = [(1 + rate) ** (-k / 4) for k in range(4)]
    pvc = 120 * df[1] + (5 + 3) * (df[2] + df[3]) + 7 * df[2]
    assert r.components["pv_cost"] == approx(pvc)
    assert r.per_initiative.loc["A", "pv_cost"] == approx(pvc)
    assert r.per_initiative.loc["B"].tolist() == [0, 0, 0, 0, 0]
    assert r.objective == approx(-pvc)
    assert r.components["pv_external"] == 0  # no staff limit, nothing to buy


def test_external_cost_discounted():
    rate = 0.05
    p = build_portfolio(
        [ini("A", duration=2, benefit=0)],
        T=4,
        resources=[{"resource": "dev", "external_cost": 100.0, "external_max": 5.0}],
        demands=[("A", "dev", "build", 3.0)],
        capacity=[("dev", "2026/27 Q3", 1), ("dev", "2026/27 Q4", 2)],
        discount_rate=rate,
        weights={"cost": 0.5},
    )
    r = check_plan(p, {"A": 2})
    df = [(1 + rate) ** (-k / 4) for k in range(4)]
    assert r.external == {("dev", 2): 2.0, ("dev", 3): 1.0}
    pvx = 100 * (2 * df[2] + 1 * df[3])
    assert r.components["pv_external"] == approx(pvx)
    assert r.objective == approx(-0.5 * pvx)


def test_alignment():
    p = build_portfolio(
        [ini("A", score_trust=4, score_ldr=2), ini("B", score_trust=1)],
        alignment_weights={"trust": 0.5, "ldr": 0.25, "stp": 1.0},  # no score_stp column: 0
        weights={"alignment": 10},
    )
    r = check_plan(p, {"A": 0, "B": 3})
    assert r.per_initiative.loc["A", "alignment"] == approx(2.5)
    assert r.components["alignment"] == approx(3.0)
    assert r.objective == approx(30.0)


def test_zero_weight_still_reports_components():
    p = build_portfolio([ini("A", benefit=10, capital_cost=5)], T=2, weights={"benefit": 0, "cost": 0})
    r = check_plan(p, {"A": 0})
    assert r.components["pv_benefit"] == 10 and r.components["pv_cost"] == 5
    assert r.objective == 0


def test_every_violation_listed():
    p = build_portfolio(
        [ini("A", mandatory=True), ini("B", earliest_start=2), ini("C", capital_cost=10)],
        dependencies=[("C", "B", "requires", 0)],
        capacity=[("capital", "2026/27 Q1", 5)],
        force_out=["C"],
    )
    r = check_plan(p, {"B": 0, "C": 0})
    assert len(r.violations) == 4, r.violations
    assert has(r, "A", "mandatory") and has(r, "B", "earliest") and has(r, "C", "forced out")
    assert has(r, "capital 2026/27 Q1")


# ----------------------------------------------------------------------------------------
# brute force sanity and speed


def test_brute_force_small():
    p = build_portfolio(
        [ini("A", benefit=10, capital_cost=20), ini("B", benefit=10, capital_cost=20), ini("C", benefit=1)],
        T=3,
        capacity=[("capital", lab, 20) for lab in ["2026/27 Q1", "2026/27 Q2", "2026/27 Q3"]],
        dependencies=[("A", "C", "finish_to_start", 0)],
    )
    # A at 0 (benefit 2 periods: 20 - 20 = 0); C needs A live. best: A at 0, C at 1 -> C earns 1 (period 2)
    best, starts = brute_force(p)
    assert best == approx(1.0)
    assert starts["A"] == 0 and starts["C"] in (1, 2)
    assert brute_force(p, prune=False)[0] == approx(best)
    # infeasible: a mandatory initiative that cannot fit
    p = build_portfolio([ini("A", mandatory=True, capital_cost=30)], T=2, capacity=[("capital", "2026/27", 20)])
    assert brute_force(p) == (None, None)


@pytest.mark.serial  # a wall-clock bound (2 s), measured without a busy sibling worker
def test_check_is_fast_on_large_plan():
    rng = np.random.default_rng(1)
    n, T = 2000, 20
    roles = [f"role{k}" for k in range(10)]
    inits = [
        ini(
            f"I{i}",
            duration=int(rng.integers(1, 5)),
            capital_cost=float(rng.integers(0, 10**6)),
            revenue_cost=float(rng.integers(0, 10**5)),
            running_cost=float(rng.integers(0, 10**4)),
            benefit=float(rng.integers(0, 10**5)),
            revenue=float(rng.integers(0, 10**4)),
            ramp=int(rng.integers(0, 4)),
            score_trust=float(rng.integers(0, 6)),
        )
        for i in range(n)
    ]
    demands = [
        (f"I{i}", roles[int(rng.integers(0, 10))], ["build", "run", 1][int(rng.integers(0, 3))], 0.5)
        for i in range(n)
        for _ in range(3)
    ]
    labels = [f"{2026 + q // 4}/{(27 + q // 4) % 100:02d} Q{q % 4 + 1}" for q in range(T)]
    capacity = [(r, lab, 50.0) for r in roles for lab in labels] + [
        ("capital", f"{2026 + y}/{27 + y}", 1e8) for y in range(5)
    ]
    deps = [(f"I{i}", f"I{i + 1}", "requires", 0) for i in range(0, n - 1, 7)]
    p = build_portfolio(
        inits,
        T=T,
        resources=[{"resource": r, "external_cost": 1000, "external_max": 10} for r in roles],
        demands=demands,
        capacity=capacity,
        dependencies=deps,
        discount_rate=0.035,
        alignment_weights={"trust": 1},
    )
    starts = {f"I{i}": int(rng.integers(0, T)) for i in range(n)}
    t0 = time.perf_counter()
    r = check_plan(p, starts)
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0, elapsed
    assert isinstance(r.objective, float) and len(r.usage) == (len(roles) + 2) * T


# ----------------------------------------------------------------------------------------
# independence from the model


PACKAGE = Path(__file__).resolve().parents[1] / "prioritiser"
# what the checker must never reach, directly or through another module of the package: the code
# whose mistakes it exists to catch
MODEL_SIDE = ("prioritiser.model", "prioritiser.solvers", "prioritiser.engine", "prioritiser.heuristic",
              "prioritiser.improve")


def _package_imports(module: str) -> set[str]:
    """The prioritiser modules `module` imports (relative imports resolved)."""
    import ast

    path = PACKAGE.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(x for x in (base, node.module) if x)
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}  # `from . import model`
    known = {m for m in found if m.startswith("prioritiser")}
    return {m for m in known if PACKAGE.joinpath(*m.split(".")[1:]).with_suffix(".py").exists()
            or PACKAGE.joinpath(*m.split(".")[1:]).is_dir()}


def test_checker_imports_nothing_of_the_model_side():
    seen, todo = set(), ["prioritiser.check"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += sorted(_package_imports(module))
    reached = sorted(m for m in seen if m.startswith(MODEL_SIDE))
    assert reached == [], f"prioritiser.check reaches {reached}"
    assert _package_imports("prioritiser.heuristic") >= {"prioritiser.model"}  # the reader sees imports
