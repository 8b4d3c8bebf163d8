"""Hand-solved tiny portfolios: each has a known optimal selection, starts and objective.

Every expected value below was worked out by hand from the spec's formulas (the working is in the
comments), covering every constraint family: money per financial year and per period, staff with
external purchase, mandatory, every dependency type with lags, milestone-gated funding, scenario
adjustments and force in/out, discounting, ramp, running cost, in-year revenue, money demands at an
offset, alignment, and infeasible portfolios.
"""
import pytest

from known import KNAPSACK, SOLVERS, YEARLY, solve_checked, write_case

pytestmark = pytest.mark.parametrize("solver", SOLVERS)



def selected(result):
    return {i for i, s in result.starts.items() if s is not None}


def test_knapsack_per_financial_year(tmp_path, solver):
    # A 70, B 60, C 45; capital 100: A+C (100) = 115 beats B+C (90) = 105 and A alone 70
    r = solve_checked(write_case(tmp_path, KNAPSACK, YEARLY), solver)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(115)
    assert selected(r) == {"A", "C"}
    assert "needs £50 more capital in 2026/27 than is left" in r.plan.at["B", "reason"]  # issue 10 item 5's wording


def test_capital_adjustment_changes_the_choice(tmp_path, solver):
    # capital scaled to 50: only B (60) or C (45) fit alone; B+C needs 90
    r = solve_checked(write_case(tmp_path, KNAPSACK, {**YEARLY, "adjustments": [{"resource": "capital", "scale": 0.5}]}),
                      solver)
    assert r.objective == pytest.approx(60)
    assert selected(r) == {"B"}


def test_force_in_and_force_out(tmp_path, solver):
    # B forced in (60) leaves 50 of capital: C (45) fits, A does not; A forced out too
    r = solve_checked(write_case(tmp_path, KNAPSACK, {**YEARLY, "force_in": ["B"], "force_out": ["A"]}), solver)
    assert selected(r) == {"B", "C"}
    assert r.objective == pytest.approx(105)
    assert r.plan.at["A", "reason"] == "forced out by the scenario"


def test_discounting_quarterly_and_monthly(tmp_path, solver):
    # X: duration 1, benefit 100/period, best start 0, live in periods 1..3 of 4
    tables = {"initiatives": "id,duration,benefit\nX,1,100", "capacity": "resource,period,amount\ncapital,2026/27,0"}
    r = solve_checked(write_case(tmp_path / "q", tables, {"objective": {"discount_rate": 0.1}}), solver)
    assert r.objective == pytest.approx(100 * sum(1.1 ** (-p / 4) for p in (1, 2, 3)))
    assert r.starts == {"X": 0}
    monthly = {"horizon": {"start": "2026-04", "periods": 4, "granularity": "month"}, "objective": {"discount_rate": 0.12}}
    r = solve_checked(write_case(tmp_path / "m", tables, monthly), solver)
    assert r.objective == pytest.approx(100 * sum(1.12 ** (-p / 12) for p in (1, 2, 3)))


def test_ramp(tmp_path, solver):
    # live in periods 1..3; ramp 1 earns 1/2, 1, 1 -> 250; ramp 3 earns 1/4, 2/4, 3/4 -> 150
    tables = {"initiatives": "id,duration,benefit,ramp\nR1,1,100,1\nR3,1,100,3",
              "capacity": "resource,period,amount\ncapital,2026/27,0"}
    r = solve_checked(write_case(tmp_path, tables), solver)
    assert r.objective == pytest.approx(400)
    assert r.plan.at["R1", "pv_benefit"] == pytest.approx(250)
    assert r.plan.at["R3", "pv_benefit"] == pytest.approx(150)


def test_mandatory_is_selected_even_at_a_loss(tmp_path, solver):
    # M costs 40 and returns nothing; O loses 15 (benefit 5 x 3 periods - 30) and stays out
    tables = {"initiatives": "id,duration,capital_cost,benefit,mandatory\nM,1,40,0,true\nO,1,30,5,false",
              "capacity": "resource,period,amount\ncapital,2026/27,100"}
    r = solve_checked(write_case(tmp_path, tables), solver)
    assert r.status == "optimal"
    assert selected(r) == {"M"}
    assert r.objective == pytest.approx(-40)
    assert "costs more than it returns" in r.plan.at["O", "reason"]


def test_infeasible_mandatory_over_budget(tmp_path, solver):
    # each fits the budget alone (one alone over it is an input error: test_validation), not both
    tables = {"initiatives": "id,duration,capital_cost,mandatory\nM,1,60,true\nN,1,60,true",
              "capacity": "resource,period,amount\ncapital,2026/27,100"}
    r = solve_checked(write_case(tmp_path, tables), solver)
    assert r.status == "infeasible"
    assert not r.has_plan and r.objective is None


def test_infeasible_mandatory_deadline_after_predecessor(tmp_path, solver):
    # B must finish by Q2 but may only start after A (2 periods) goes live: earliest B start is Q3
    tables = {"initiatives": "id,duration,mandatory,latest_finish\nA,2,true,\nB,1,true,2026/27 Q2",
              "capacity": "resource,period,amount\ncapital,2026/27,0",
              "dependencies": "predecessor,successor,type\nA,B,finish_to_start"}
    r = solve_checked(write_case(tmp_path, tables), solver)
    assert r.status == "infeasible"


def test_finish_to_start_with_lag(tmp_path, solver):
    # T=6. A (2 periods) at 0 goes live at 2: 10 x 4 = 40. B may start at 2 + lag 1 = 3,
    # live at 4: 100 x 2 = 200. Total 240.
    tables = {"initiatives": "id,duration,benefit\nA,2,10\nB,1,100",
              "capacity": "resource,period,amount\ncapital,2026/27,0",
              "dependencies": "predecessor,successor,type,lag\nA,B,finish_to_start,1"}
    r = solve_checked(write_case(tmp_path, tables, {"horizon": {"periods": 6}}), solver)
    assert r.objective == pytest.approx(240)
    assert r.starts == {"A": 0, "B": 3}


def test_start_to_start_with_lag(tmp_path, solver):
    # T=5. A (3 periods) at 0 live at 3: 10 x 2 = 20. B starts >= 0 + 2, live at 3: 50 x 2 = 100.
    tables = {"initiatives": "id,duration,benefit\nA,3,10\nB,1,50",
              "capacity": "resource,period,amount\ncapital,2026/27,0",
              "dependencies": "predecessor,successor,type,lag\nA,B,start_to_start,2"}
    r = solve_checked(write_case(tmp_path, tables, {"horizon": {"periods": 5}}), solver)
    assert r.objective == pytest.approx(120)
    assert r.starts == {"A": 0, "B": 2}


def test_requires_pulls_in_a_loss_maker(tmp_path, solver):
    # A alone: 10 x 3 - 50 = -20; B: 40 x 3 = 120 but requires A: together 100
    tables = {"initiatives": "id,duration,capital_cost,benefit\nA,1,50,10\nB,1,0,40",
              "capacity": "resource,period,amount\ncapital,2026/27,100",
              "dependencies": "predecessor,successor,type\nA,B,requires"}
    r = solve_checked(write_case(tmp_path, tables), solver)
    assert r.objective == pytest.approx(100)
    assert r.starts == {"A": 0, "B": 0}


def test_excludes_and_alignment(tmp_path, solver):
    # P1: 30 x 3 - 20 = 70; P2: 40 x 3 - 60 = 60; alternatives. With alignment weight 10 and
    # score_trust 2 for P2 only, P2 is worth 80 and wins.
    tables = {"initiatives": "id,duration,capital_cost,benefit,score_trust\nP1,1,20,30,0\nP2,1,60,40,2",
              "capacity": "resource,period,amount\ncapital,2026/27,100",
              "dependencies": "predecessor,successor,type\nP1,P2,excludes"}
    r = solve_checked(write_case(tmp_path / "plain", tables), solver)
    assert selected(r) == {"P1"} and r.objective == pytest.approx(70)
    assert r.plan.at["P2", "reason"] == "alternative to P1, which is selected"
    aligned = {"objective": {"weights": {"alignment": 10}, "alignment_weights": {"trust": 1}}}
    r = solve_checked(write_case(tmp_path / "aligned", tables, aligned), solver)
    assert selected(r) == {"P2"} and r.objective == pytest.approx(80)


STAFF = {
    # both need 1 developer in Q1 (start fixed at 0), capacity 1; live in periods 1..2
    "initiatives": "id,duration,latest_finish,benefit\nA,1,2026/27 Q1,50\nB,1,2026/27 Q1,40",
    "resources": "resource,kind,external_cost,external_max\ndeveloper,staff,30,1",
    "demands": "initiative,resource,offset,amount\nA,developer,build,1\nB,developer,build,1",
    "capacity": "resource,period,amount\ndeveloper,2026/27 Q1,1\ndeveloper,2026/27 Q2,1\n"
                "developer,2026/27 Q3,1\nrevenue,2026/27,1000",
}


def test_external_staff_purchase(tmp_path, solver):
    # A 100 + B 80 - one contractor quarter 30 = 150
    r = solve_checked(write_case(tmp_path, STAFF, {"horizon": {"periods": 3}}), solver)
    assert r.objective == pytest.approx(150)
    assert selected(r) == {"A", "B"}
    assert r.external_purchases == {("developer", 0): pytest.approx(1.0)}
    assert r.components["pv_external"] == pytest.approx(30)


def test_no_external_staff(tmp_path, solver):
    r = solve_checked(write_case(tmp_path, STAFF, {"horizon": {"periods": 3}, "external": False}), solver)
    assert r.objective == pytest.approx(100)
    assert selected(r) == {"A"}
    assert "needs 1.00 FTE more developer in 2026/27 Q1 than is left" in r.plan.at["B", "reason"]


def test_external_purchase_limited_by_revenue(tmp_path, solver):
    tables = dict(STAFF, capacity=STAFF["capacity"].replace("revenue,2026/27,1000", "revenue,2026/27,20"))
    r = solve_checked(write_case(tmp_path, tables, {"horizon": {"periods": 3}}), solver)
    assert r.objective == pytest.approx(100)
    assert r.external_purchases == {}


MILESTONE = {
    # T=8. X may only start in 2027/28 Q1 (period 4), live at 5: 50 x 3 - 100 = 50. Capital for
    # 2027/28 is 0 unless the central tranche lands, which needs M live by period 4 (start <= 2).
    "initiatives": "id,duration,earliest_start,latest_finish,capital_cost,benefit\n"
                   "M,2,{m_start},,10,0\nX,1,2027/28 Q1,2027/28 Q1,100,50",
    "capacity": "resource,period,amount\ncapital,2026/27,10\ncapital,2027/28,0",
    "funding": "source,resource,period,amount,milestone\ncentral,capital,2027/28,100,M",
}


def test_milestone_funding_lands(tmp_path, solver):
    tables = dict(MILESTONE, initiatives=MILESTONE["initiatives"].format(m_start=""))
    r = solve_checked(write_case(tmp_path, tables, {"horizon": {"periods": 8}}), solver)
    assert r.objective == pytest.approx(40)
    assert selected(r) == {"M", "X"}
    assert r.starts["M"] <= 2 and r.starts["X"] == 4


def test_milestone_too_late_for_funding(tmp_path, solver):
    # M cannot start before Q4 (period 3) so it goes live at 5: the money never lands
    tables = dict(MILESTONE, initiatives=MILESTONE["initiatives"].format(m_start="2026/27 Q4"))
    r = solve_checked(write_case(tmp_path, tables, {"horizon": {"periods": 8}}), solver)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(0)
    assert selected(r) == set()
    assert "needs £100 more capital in 2027/28 than is left" in r.plan.at["X", "reason"]


def test_running_cost_and_in_year_revenue(tmp_path, solver):
    # T=8, start 0, live 1..7: revenue 10 x 7 = 70, in-year (periods 1..3 of 2026/27) 30,
    # running cost 5 x 7 = 35. Objective with w_in_year_revenue 1: 70 + 30 - 35 = 65
    tables = {"initiatives": "id,duration,latest_finish,revenue,running_cost\nR,1,2026/27 Q1,10,5",
              "capacity": "resource,period,amount\nrevenue,2026/27,1000\nrevenue,2027/28,1000"}
    r = solve_checked(write_case(tmp_path, tables, {"horizon": {"periods": 8},
                                                   "objective": {"weights": {"in_year_revenue": 1}}}), solver)
    assert r.objective == pytest.approx(65)
    assert r.components["in_year_revenue"] == pytest.approx(30)
    assert r.components["pv_revenue"] == pytest.approx(70)
    assert r.components["pv_cost"] == pytest.approx(35)


def test_money_demand_at_offset_and_per_period_limit(tmp_path, solver):
    # D (2 periods) at 0: live 2..3 = 2 x 20 = 40, capital demand of 30 in period 0+2 -> value 10.
    # At 1: 20 - 30 < 0; at 2 or 3 it goes live after the horizon and draws nothing inside it (value 0).
    # A per-period capital limit of 20 in Q3 (period 2) then rules out start 0.
    base = {"initiatives": "id,duration,benefit\nD,2,20",
            "demands": "initiative,resource,offset,amount\nD,capital,2,30",
            "capacity": "resource,period,amount\ncapital,2026/27,100"}
    r = solve_checked(write_case(tmp_path / "a", base), solver)
    assert r.objective == pytest.approx(10) and r.starts == {"D": 0}
    tight = dict(base, capacity=base["capacity"] + "\ncapital,2026/27 Q3,20")
    r = solve_checked(write_case(tmp_path / "b", tight), solver)
    assert r.objective == pytest.approx(0) and r.starts["D"] in (None, 2, 3)
