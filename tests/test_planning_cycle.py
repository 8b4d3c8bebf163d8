"""The planning cycle (issue 12, format v1.1), on hand-solved portfolios.

Work in flight (status in_progress, stop_cost, allow_stopping), re-planning against an approved plan
(changes.keep start / selection / none, max_moved, move_penalty, drop_penalty) and training before
go-live (trainer, clinical_time and the bank and locum pay on revenue). Every expected value is worked
out by hand in the comments; each case is solved with both solvers and re-checked by the independent
checker (known.solve_checked), and the rank-and-place plan passes the checker too.

Unless a case says otherwise: 4 quarters from 2026/27 Q1, no discounting, gap 0.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import prioritiser
from known import SOLVERS, solve_checked, write_case
from prioritiser.check import check_plan
from prioritiser.engine import _plan_vector
from prioritiser.heuristic import rank_and_place
from prioritiser.model import build_model
from prioritiser.report import console_summary, write_outputs

pytestmark = pytest.mark.parametrize("solver", SOLVERS)


def selected(result):
    return {i for i, s in result.starts.items() if s is not None}


def greedy_is_checked(result):
    """The rank-and-place plan of the same model is feasible by the independent checker and scored alike."""
    model = build_model(result.portfolio)
    x = rank_and_place(model)
    assert x is not None
    v = _plan_vector(model, x)
    starts = {i: None for i in model.portfolio.ids}
    for col in np.flatnonzero(v[:model.n_x] > 0.5):
        starts[model.portfolio.ids[model.col_init[col]]] = int(model.col_start[col])
    ext = {(model.portfolio.resources.index[model.ext_resource[n]], int(model.ext_period[n])): float(v[model.n_x + n])
           for n in np.flatnonzero(v[model.n_x:] > 1e-9)}
    report = check_plan(result.portfolio, starts, ext)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(model.objective(v), rel=1e-9, abs=1e-9)
    return starts


# ---------------------------------------------------------------------------------------- work in flight

# W is half built: 2 quarters remain at a capital cost of 100, then it earns 10 a quarter (quarters 3-4: 20);
# kept, it is worth 20 - 100 = -80. P (1 quarter, capital 40, benefit 30 from its second quarter) is worth
# 3 x 30 - 40 = 50 started at once, but capital (120 for the year) cannot take both W (100) and P (40).
IN_FLIGHT = {
    "initiatives": """
        id,duration,capital_cost,benefit,status,stop_cost
        W,2,100,10,in_progress,50
        P,1,40,30,,
    """,
    "capacity": """
        resource,period,amount
        capital,2026/27,120
        revenue,2026/27,100
    """,
}


def test_in_progress_is_kept_without_allow_stopping(tmp_path, solver):
    r = solve_checked(write_case(tmp_path, IN_FLIGHT), solver)
    assert r.status == "optimal"
    assert r.starts == {"W": 0, "P": None}
    assert r.objective == pytest.approx(-80)
    assert r.components["stop_cost"] == 0
    assert "more capital in 2026/27" in r.plan.at["P", "reason"]  # issue 10: "needs £X more capital in Y ..."
    assert r.plan.at["W", "status"] == "in_progress"
    greedy_is_checked(r)


def test_in_progress_is_stopped_when_allowed_and_worth_it(tmp_path, solver):
    # stopping W pays 50 of revenue in 2026/27 Q1 and frees the capital for P: 50 - 50 = 0 > -80
    r = solve_checked(write_case(tmp_path, IN_FLIGHT, {"allow_stopping": True}), solver)
    assert r.status == "optimal"
    assert r.starts == {"W": None, "P": 0}
    assert r.objective == pytest.approx(0)
    assert r.components["stop_cost"] == pytest.approx(50)
    assert r.components["npv"] == pytest.approx(90 - 40 - 50)
    assert r.plan.at["W", "reason"] == "stopped: saves £100 of remaining cost, pays £50 exit cost, loses £20 benefit"
    revenue = r.usage.set_index(["resource", "period"])["used"]
    assert revenue["revenue", "2026/27 Q1"] == pytest.approx(50)  # the stop cost, in the first period
    assert revenue["revenue", "2026/27 Q2"] == 0
    greedy_is_checked(r)
    assert "Stopped (1): W" in console_summary(r)


def test_stop_cost_counts_against_revenue_in_the_first_period(tmp_path, solver):
    # revenue of 40 cannot pay the stop cost of 50: W must continue even though stopping is allowed
    tables = {**IN_FLIGHT, "capacity": "resource,period,amount\ncapital,2026/27,120\nrevenue,2026/27 Q1,40"}
    r = solve_checked(write_case(tmp_path, tables, {"allow_stopping": True}), solver)
    assert r.starts == {"W": 0, "P": None}
    assert r.objective == pytest.approx(-80)


def test_stopping_is_not_chosen_when_continuing_is_worth_more(tmp_path, solver):
    # W earning 100 a quarter: kept 200 - 100 = 100; stopped, the best is P (50) - 50 = 0
    tables = {**IN_FLIGHT, "initiatives": IN_FLIGHT["initiatives"].replace("W,2,100,10", "W,2,100,100")}
    r = solve_checked(write_case(tmp_path, tables, {"allow_stopping": True}), solver)
    assert r.starts == {"W": 0, "P": None}
    assert r.objective == pytest.approx(100)
    assert r.components["stop_cost"] == 0


def test_mandatory_in_progress_never_stops_and_force_out_stops(tmp_path, solver):
    mandatory = {**IN_FLIGHT, "initiatives": IN_FLIGHT["initiatives"].replace(
        "id,duration,capital_cost,benefit,status,stop_cost", "id,duration,capital_cost,benefit,status,stop_cost,mandatory")
        .replace("in_progress,50", "in_progress,50,true").replace("P,1,40,30,,", "P,1,40,30,,,")}
    r = solve_checked(write_case(tmp_path / "m", mandatory, {"allow_stopping": True}), solver)
    assert r.starts == {"W": 0, "P": None}
    # force_out with allow_stopping means "stop it": P then fits; W's stop cost is paid all the same.
    # With P forced out as well, nothing is left but the stop cost: -50.
    r = solve_checked(write_case(tmp_path / "f", IN_FLIGHT, {"allow_stopping": True, "force_out": ["W", "P"]}),
                      solver)
    assert r.starts == {"W": None, "P": None}
    assert r.objective == pytest.approx(-50)
    assert r.plan.at["W", "reason"].startswith("stopped (forced out by the scenario): saves £100")


def test_stop_cost_is_not_discounted(tmp_path, solver):
    # 10% a year: the stop cost lands in period 0 (df = 1); P started at once: 30 x (df1 + df2 + df3) - 40
    r = solve_checked(write_case(tmp_path, IN_FLIGHT, {"allow_stopping": True, "objective": {"discount_rate": 0.1}}),
                      solver)
    pv_p = 30 * sum(1.1 ** (-p / 4) for p in (1, 2, 3)) - 40
    assert r.starts == {"W": None, "P": 0}
    assert r.objective == pytest.approx(pv_p - 50)


# ---------------------------------------------------------------------------------------- re-planning

# One start per quarter (capital 10 a quarter, each initiative costs 10 in its one build quarter).
# Value by start quarter s = benefit x (3 - s) - 10:
#   A (benefit 10): 20, 10, 0, -10      B (8): 14, 6, -2, -10      C (12): 26, 14, 2, -10
# Approved last year: A Q2 (10), B Q1 (14), C Q4 (-10): worth 14.
REPLAN = {
    "initiatives": """
        id,duration,capital_cost,benefit
        A,1,10,10
        B,1,10,8
        C,1,10,12
    """,
    "capacity": """
        resource,period,amount
        capital,2026/27 Q1,10
        capital,2026/27 Q2,10
        capital,2026/27 Q3,10
        capital,2026/27 Q4,10
    """,
}
APPROVED = "id,start\nA,2026/27 Q2\nB,2026/27 Q1\nC,2026/27 Q4\n"


def replan_case(tmp_path, changes, approved=APPROVED, tables=REPLAN, **scenario):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "approved.csv").write_text(approved)
    return write_case(tmp_path, tables, {"approved_plan": "approved.csv", "changes": changes, **scenario})


@pytest.mark.parametrize("changes, objective, starts, penalty", [
    # none: C Q1 (26) + A Q2 (10), B dropped (its best free quarter Q3 is worth -2): 36
    ({}, 36, {"A": 1, "B": None, "C": 0}, 0),
    # start: the approved plan as it is
    ({"keep": "start"}, 14, {"A": 1, "B": 0, "C": 3}, 0),
    # selection: all three in, in the best quarters for all three: C Q1 26 + A Q2 10 + B Q3 -2 = 34
    ({"keep": "selection"}, 34, {"A": 1, "B": 2, "C": 0}, 0),
    # max_moved 1: C moved to Q3 (2) keeps the rest: 10 + 14 + 2 = 26 (dropping C instead: 24)
    ({"max_moved": 1}, 26, {"A": 1, "B": 0, "C": 2}, 0),
    ({"max_moved": 0}, 14, {"A": 1, "B": 0, "C": 3}, 0),
    # move_penalty 5: the free optimum moves only C (B is dropped, not moved): 36 - 5 = 31
    ({"move_penalty": 5}, 31, {"A": 1, "B": None, "C": 0}, 5),
    # drop_penalty 10: B kept in Q3 (-2) beats dropping it (-10): 34
    ({"drop_penalty": 10}, 34, {"A": 1, "B": 2, "C": 0}, 0),
    # both: C Q1, A Q2, B Q3 moves two (34 - 10 = 24); B dropped instead: 36 - 5 - 10 = 21; as approved: 14
    ({"move_penalty": 5, "drop_penalty": 10}, 24, {"A": 1, "B": 2, "C": 0}, 10),
    # move_penalty 30: no move pays; dropping C (worth -10 where approved) gains 10: 24
    ({"move_penalty": 30}, 24, {"A": 1, "B": 0, "C": None}, 0),
])
def test_changes_modes_and_penalties(tmp_path, solver, changes, objective, starts, penalty):
    r = solve_checked(replan_case(tmp_path, changes), solver)
    assert r.status == "optimal", r.message
    assert r.objective == pytest.approx(objective)
    assert r.starts == starts
    assert r.components["change_penalty"] == pytest.approx(penalty)
    greedy_is_checked(r)


def test_changes_csv_and_report(tmp_path, solver):
    r = solve_checked(replan_case(tmp_path, {"move_penalty": 5}), solver)
    out = write_outputs(r, tmp_path / "out")
    changes = pd.read_csv(out / "changes.csv", keep_default_na=False)
    assert list(changes.columns[:4]) == ["id", "approved_start", "new_start", "change"]
    assert changes.set_index("id")[["approved_start", "new_start", "change"]].to_dict("index") == {
        "B": {"approved_start": "2026/27 Q1", "new_start": "", "change": "dropped"},
        "C": {"approved_start": "2026/27 Q4", "new_start": "2026/27 Q1", "change": "moved"}}
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False).set_index("id")
    assert list(plan["status"]) == ["approved", "approved", "approved"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["components"]["change_penalty"] == pytest.approx(5)
    from openpyxl import load_workbook

    sheet = load_workbook(out / "report.xlsx")["Changes"]
    assert [c.value for c in sheet[3]][:5] == ["ID", "Initiative", "Approved start", "New start", "Change"]
    assert [[c.value for c in row][:5] for row in sheet.iter_rows(min_row=4)] == [
        ["B", "B", "2026/27 Q1", None, "dropped"], ["C", "C", "2026/27 Q4", "2026/27 Q1", "moved"]]
    assert "Change penalties in the objective £5" in sheet["A2"].value
    text = console_summary(r)
    assert "Changes against the approved plan:" in text
    assert "Dropped (1): B" in text and "Moved (1): C (2026/27 Q4 -> 2026/27 Q1)" in text
    assert "Change penalties in the objective: £5" in text


def test_an_added_initiative_is_a_change(tmp_path, solver):
    r = solve_checked(replan_case(tmp_path, {}, approved="id,start\nA,2026/27 Q2\n"), solver)
    changes = prioritiser.replan.changes_table(r.portfolio, r.starts).set_index("id")["change"].to_dict()
    assert changes == {"C": "added"}  # C Q1 + A Q2 as approved, B out (36)


def test_ties_break_toward_the_approved_plan(tmp_path, solver):
    # E and F are worth the same at every start (alignment only; F's capital is undiscounted), D nothing at all:
    # whatever the approved plan says is as good as anything else, so it must come back unchanged
    tables = {"initiatives": "id,duration,capital_cost,score_trust\nD,1,0,0\nE,2,0,3\nF,1,5,2",
              "capacity": "resource,period,amount\ncapital,2026/27,100"}
    weights = {"objective": {"weights": {"alignment": 10}, "alignment_weights": {"trust": 1}}}
    for n, approved in enumerate(("D,2026/27 Q3\nE,2026/27 Q2\nF,2026/27 Q4\n",
                                  "D,2026/27 Q1\nE,2026/27 Q3\nF,2026/27 Q2\n")):
        r = solve_checked(replan_case(tmp_path / str(n), {}, "id,start\n" + approved, tables, **weights), solver)
        assert r.objective == pytest.approx(30 + 20 - 5)
        want = {line.split(",")[0]: r.portfolio.horizon.index(line.split(",")[1]) for line in approved.splitlines()}
        assert r.starts == want
        assert prioritiser.replan.changes_table(r.portfolio, r.starts).empty


def test_in_progress_in_the_approved_plan_started_before_the_horizon(tmp_path, solver):
    # the approved plan (last year's) started W before this horizon: read as "already started"; stopping it
    # drops an approved initiative, priced by drop_penalty: 50 (P) - 50 (stop cost) - 30 = -30, better than -80
    tables = IN_FLIGHT
    approved = "id,selected,start\nW,True,2025/26 Q3\nP,False,\n"
    r = solve_checked(replan_case(tmp_path, {"drop_penalty": 30}, approved, tables, allow_stopping=True), solver)
    assert r.starts == {"W": None, "P": 0}
    assert r.objective == pytest.approx(50 - 50 - 30)
    assert r.components["change_penalty"] == pytest.approx(30)
    changes = prioritiser.replan.changes_table(r.portfolio, r.starts, r.plan).set_index("id")
    assert changes.loc["W", "change"] == "stopped" and changes.loc["W", "approved_start"] == "2025/26 Q3"
    assert changes.loc["P", "change"] == "added"
    # drop_penalty 200 makes stopping dearer than keeping: -80
    r = solve_checked(replan_case(tmp_path / "dear", {"drop_penalty": 200}, approved, tables, allow_stopping=True),
                      solver)
    assert r.starts == {"W": 0, "P": None} and r.objective == pytest.approx(-80)


def test_an_approved_plan_that_cannot_be_kept_is_diagnosed(tmp_path, solver):
    # capital in Q1 is cut to 5 (B needs 10 there) and C's latest finish is now Q3 (approved for Q4)
    tables = {"initiatives": REPLAN["initiatives"].replace("id,duration,capital_cost,benefit",
                                                           "id,duration,capital_cost,benefit,latest_finish")
              .replace("A,1,10,10", "A,1,10,10,").replace("B,1,10,8", "B,1,10,8,")
              .replace("C,1,10,12", "C,1,10,12,2026/27 Q3"),
              "capacity": REPLAN["capacity"].replace("capital,2026/27 Q1,10", "capital,2026/27 Q1,5")}
    r = solve_checked(replan_case(tmp_path, {"keep": "start"}, tables=tables), solver)
    assert r.status == "infeasible"
    assert r.diagnosis[0] == {"kind": "rule", "rule": "approved_start", "initiatives": ["C"],
                              "text": "C cannot keep its approved start 2026/27 Q4: it would build until 2026/27 Q4, "
                                      "after its latest finish 2026/27 Q3"}
    # limit items also say themselves in words (`text`): the explanations' diagnosis took the place of the re-plan's
    assert [{k: v for k, v in item.items() if k != "text"} for item in r.diagnosis[1:]] == [
        {"kind": "limit", "resource": "capital", "period": "2026/27 Q1", "shortfall": 5.0, "initiatives": ["B"]}]
    out = write_outputs(r, tmp_path / "out")
    assert json.loads((out / "summary.json").read_text())["diagnosis"] == r.diagnosis
    text = console_summary(r)
    assert "Why the approved plan cannot be kept:" in text and \
        "Approved B (kept at its approved start) needs £5 more capital in 2026/27 Q1" in text
    # keep: selection lets them move: feasible (C Q2 14 + A Q3 0 + B Q4 -10 = 4)
    r = solve_checked(replan_case(tmp_path / "sel", {"keep": "selection"}, tables=tables), solver)
    assert r.status == "optimal" and r.objective == pytest.approx(4)


def test_max_moved_that_cannot_be_met_is_diagnosed(tmp_path, solver):
    # no capital at all in Q1 and Q2: A and B must both move or drop, but only one may
    tables = {**REPLAN, "capacity": REPLAN["capacity"].replace("Q1,10", "Q1,0").replace("Q2,10", "Q2,0")}
    r = solve_checked(replan_case(tmp_path, {"keep": "none", "max_moved": 1}, tables=tables), solver)
    assert r.status == "infeasible"
    rules = [item for item in r.diagnosis if item["kind"] == "rule"]
    assert [item["rule"] for item in r.diagnosis] == ["max_moved"]  # no limit: Q3 and Q4 have room
    assert set(rules[0]["initiatives"]) == {"A", "B"}


# ---------------------------------------------------------------------------------------- training

# X (1 quarter of build, benefit 1,500 a quarter from go-live) trains 40 nurses for 10 hours each in its build
# quarter (periods_before_go_live 1): 40 trainer hours (classes of 10), 300 hours of substantive time and
# 100 paid hours of bank and locum staff at £20 = £2,000 from revenue. With trainer hours_per_fte 160 (40 an
# FTE-quarter) that is 1 trainer FTE; clinical hours_per_fte 1,200 (300 a quarter): 1 clinical FTE.
TRAINING = {
    "initiatives": "id,duration,benefit\nX,1,1500",
    "resources": "resource,kind,hours_per_fte\ntrainer,staff,160\nclinical_time,staff,1200",
    "training": """
        initiative,staff_group,headcount,hours_each,bank_locum_share,bank_rate,trainees_per_trainer,periods_before_go_live
        X,nurses,40,10,0.25,20,10,1
    """,
    "capacity": """
        resource,period,amount
        trainer,2026/27 Q1,0.5
        trainer,2026/27 Q2,1
        trainer,2026/27 Q3,1
        trainer,2026/27 Q4,1
        clinical_time,2026/27,4
        revenue,2026/27,5000
    """,
}


def test_trainer_demand_pushes_go_live_later(tmp_path, solver):
    # Q1 has half a trainer: X cannot train there, so it starts Q2 (live Q3, Q4: 3,000 - 2,000 = 1,000)
    # instead of Q1 (4,500 - 2,000 = 2,500)
    r = solve_checked(write_case(tmp_path, TRAINING), solver)
    assert r.starts == {"X": 1}
    assert r.objective == pytest.approx(1000)
    used = r.usage.set_index(["resource", "period"])["used"]
    assert used["trainer", "2026/27 Q2"] == pytest.approx(1.0)
    assert used["clinical_time", "2026/27 Q2"] == pytest.approx(1.0)
    # the bank and locum pay, to the pound: 40 x 10 x 0.25 x £20
    assert used["revenue", "2026/27 Q2"] == pytest.approx(2000, abs=1e-9)
    assert r.plan.at["X", "training_cost"] == pytest.approx(2000, abs=1e-9)
    assert r.plan.at["X", "pv_cost"] == pytest.approx(2000, abs=1e-9)
    assert r.plan.at["X", "trainer_fte_periods"] == pytest.approx(1.0)
    assert r.plan.at["X", "clinical_fte_periods"] == pytest.approx(1.0)
    # the checker's own training figures agree
    assert r.check.training.loc["X"].tolist() == pytest.approx([1.0, 1.0, 2000.0])
    greedy_is_checked(r)
    # with a full trainer in Q1 it starts at once
    full = {**TRAINING, "capacity": TRAINING["capacity"].replace("Q1,0.5", "Q1,1")}
    r = solve_checked(write_case(tmp_path / "full", full), solver)
    assert r.starts == {"X": 0} and r.objective == pytest.approx(2500)


def test_training_periods_must_lie_inside_the_horizon(tmp_path, solver):
    # periods_before_go_live 2 for a 1-quarter build: training starts the quarter before the start, so X cannot
    # start in Q1; spread over 2 quarters each takes half: 0.5 trainer FTE, which Q1 can take
    tables = {**TRAINING, "training": TRAINING["training"].replace("10,1\n", "10,2\n")}
    r = solve_checked(write_case(tmp_path, tables), solver)
    assert r.starts == {"X": 1}  # trains Q1 and Q2
    used = r.usage.set_index(["resource", "period"])["used"]
    assert used["trainer", "2026/27 Q1"] == pytest.approx(0.5)
    assert used["revenue", "2026/27 Q1"] == pytest.approx(1000) and used["revenue", "2026/27 Q2"] == pytest.approx(1000)
    # a 4-quarter build cannot start later than Q1 (its staff must be trained before the horizon ends); a
    # 5-quarter one has no start at all, and the plan says why
    long = {**tables, "initiatives": "id,duration,benefit\nX,4,1500\nY,5,1500",
            "training": tables["training"] + "Y,nurses,1,1,0,0,10,1\n"}
    r = solve_checked(write_case(tmp_path / "long", long), solver)
    assert r.starts == {"X": None, "Y": None}  # X would need its training in Q3-Q4 and earns nothing in 4 quarters
    assert r.plan.at["Y", "reason"].startswith("its staff cannot all be trained inside the horizon")


def test_in_progress_training_before_the_horizon_is_done(tmp_path, solver):
    # W is in progress with 1 quarter left; its training runs over 4 quarters ending with its last build period,
    # 3 of them before the horizon: only a quarter of it (0.25 trainer FTE, £500) falls in 2026/27 Q1
    tables = {**TRAINING, "initiatives": "id,duration,benefit,status\nW,1,1500,in_progress",
              "training": TRAINING["training"].replace("X,nurses", "W,nurses").replace("10,1\n", "10,4\n")}
    r = solve_checked(write_case(tmp_path, tables), solver)
    assert r.starts == {"W": 0}
    used = r.usage.set_index(["resource", "period"])["used"]
    assert used["trainer", "2026/27 Q1"] == pytest.approx(0.25)
    assert used["revenue", "2026/27 Q1"] == pytest.approx(500)
    assert r.objective == pytest.approx(3 * 1500 - 500)
