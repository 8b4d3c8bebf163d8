"""The planning cycle in what a PMO reads and in the independent checker (issue 12), on the hand-solved
portfolios of test_planning_cycle.py (their values are worked out there):

- a stopped initiative's "saves £X of remaining cost, pays £Y exit cost, loses £Z benefit" in plan.csv,
  the console's Changes section, the report's Plan and Changes sheets;
- `approved` and in-flight marks in plan.csv and the report's Plan sheet;
- an approved plan that can no longer be kept: which approved initiatives are in the way, which limits
  they draw on and how much each uses there (replan.approved_conflicts), in the console and dashboard;
- each initiative's training load and cost on the Plan sheet, and the trainer and clinical-time
  (backfill) peaks in the Staff heat map of the report and the dashboard;
- the checker rejecting each planning-cycle rule broken, and reading training from the training table
  itself, not from the demand rows validation made of it.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import prioritiser
from known import solve_checked, write_case
from prioritiser.check import check_plan
from prioritiser.model import build_model
from prioritiser.replan import approved_conflicts
from prioritiser.report import console_summary, write_outputs
from test_planning_cycle import IN_FLIGHT, REPLAN, TRAINING, replan_case

STOP_WORDS = "saves £100 of remaining cost, pays £50 exit cost, loses £20 benefit"


def sheet_rows(path, name: str) -> list[dict]:
    """A report sheet's table as dicts keyed by its header row (the row whose first cell is "ID" or "Role")."""
    rows = list(load_workbook(path)[name].iter_rows(values_only=True))
    head = next(k for k, row in enumerate(rows) if row[0] in ("ID", "Role"))
    return [dict(zip(rows[head], row)) for row in rows[head + 1:] if any(v is not None for v in row)]


# ---------------------------------------------------------------------------------------- stopping, in words


def test_a_stopped_initiative_says_what_stopping_saves_pays_and_loses_everywhere(tmp_path):
    # W stopped (allow_stopping): its remaining capital 100 saved, exit cost 50 paid, 2 quarters x 10 lost
    r = solve_checked(write_case(tmp_path, IN_FLIGHT, {"allow_stopping": True}), "highs")
    assert r.starts == {"W": None, "P": 0}
    out = write_outputs(r, tmp_path / "out")
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False).set_index("id")
    assert plan.at["W", "reason"] == f"stopped: {STOP_WORDS}"
    assert plan["status"].to_dict() == {"W": "in_progress", "P": "proposed"}
    text = console_summary(r)
    assert f"  Stopped (1): W\n    W: {STOP_WORDS}\n" in text
    assert "  Stop costs paid: £50" in text
    sheet = {row["ID"]: row for row in sheet_rows(out / "report.xlsx", "Plan")}
    assert sheet["W"]["Why it is left out"] == f"stopped: {STOP_WORDS}"
    assert sheet["W"]["Status"] == "in flight" and sheet["P"]["Status"] == "proposed"


def test_a_stopped_approved_initiative_in_the_changes_sheet_and_console(tmp_path):
    # last year's plan started W: stopping it is a change (stopped) priced as a drop (30): 50 - 50 - 30
    approved = "id,selected,start\nW,True,2025/26 Q3\nP,False,\n"
    r = solve_checked(replan_case(tmp_path, {"drop_penalty": 30}, approved, IN_FLIGHT, allow_stopping=True), "highs")
    assert r.starts == {"W": None, "P": 0} and r.objective == pytest.approx(-30)
    out = write_outputs(r, tmp_path / "out")
    changes = {row["ID"]: row for row in sheet_rows(out / "report.xlsx", "Changes")}
    assert changes["W"]["Change"] == "stopped (was in flight)" and changes["W"]["Why"] == f"stopped: {STOP_WORDS}"
    assert changes["P"]["Change"] == "added"
    text = console_summary(r)
    assert f"  Stopped (1): W\n    W: {STOP_WORDS}\n  Added (1): P (2026/27 Q1)" in text


def test_the_dashboard_says_what_stopping_saves_pays_and_loses(tmp_path):
    from prioritiser.dashboard.panels import changes_html

    r = solve_checked(write_case(tmp_path / "plain", IN_FLIGHT, {"allow_stopping": True}), "highs")
    assert f"Stopped: W ({STOP_WORDS})." in changes_html(r)  # no approved plan: the stop is still said
    approved = "id,selected,start\nW,True,2025/26 Q3\nP,False,\n"
    r = solve_checked(replan_case(tmp_path / "approved", {}, approved, IN_FLIGHT, allow_stopping=True), "highs")
    assert (f'<tr class="change-stopped" data-id="W"><td class="col-id">W</td><td>W</td><td>2025/26 Q3</td><td></td>'
            f'<td>Stopped (was in flight)</td><td class="col-reason">stopped: {STOP_WORDS}</td></tr>') in changes_html(r)


def test_forced_out_work_in_flight_says_the_scenario_stopped_it(tmp_path):
    r = solve_checked(write_case(tmp_path, IN_FLIGHT, {"allow_stopping": True, "force_out": ["W"]}), "highs")
    assert r.starts == {"W": None, "P": 0}
    assert f"    W: forced out by the scenario: {STOP_WORDS}" in console_summary(r)


def test_approved_initiatives_are_marked_in_plan_csv_and_the_plan_sheet(tmp_path):
    r = solve_checked(replan_case(tmp_path, {}, approved="id,start\nA,2026/27 Q2\n"), "highs")
    out = write_outputs(r, tmp_path / "out")
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False).set_index("id")
    assert plan["status"].to_dict() == {"A": "approved", "B": "proposed", "C": "proposed"}
    sheet = {row["ID"]: row["Status"] for row in sheet_rows(out / "report.xlsx", "Plan")}
    assert sheet == {"A": "approved", "B": "proposed", "C": "proposed"}


def test_the_roadmap_sheet_marks_status_and_approved_starts(tmp_path):
    # move_penalty 5: A kept at Q2, C moved from Q4 to Q1, B dropped (test_planning_cycle)
    r = solve_checked(replan_case(tmp_path, {"move_penalty": 5}), "highs")
    out = write_outputs(r, tmp_path / "out")
    rows = {row["ID"]: row for row in sheet_rows(out / "report.xlsx", "Roadmap")}
    assert set(rows) == {"A", "C"} and {row["Status"] for row in rows.values()} == {"approved"}
    quarters = [f"2026/27 Q{q}" for q in range(1, 5)]
    assert [rows["A"][q] for q in quarters] == [None, "◆", None, None]  # where it starts, as approved
    assert [rows["C"][q] for q in quarters] == [None, None, None, "◆"]  # approved Q4, now built in Q1
    ws = load_workbook(out / "report.xlsx")["Roadmap"]
    marks = {ws.cell(row, col).font.color.rgb[-6:] for row in range(1, ws.max_row + 1)
             for col in range(1, ws.max_column + 1) if ws.cell(row, col).value == "◆"}
    assert marks == {"FFFFFF", "000000"}  # white on A's build, black on C's live period
    # work in flight is marked as such, without an approved start
    r = solve_checked(write_case(tmp_path / "w", IN_FLIGHT), "highs")
    (w,) = sheet_rows(write_outputs(r, tmp_path / "w" / "out") / "report.xlsx", "Roadmap")
    assert w["Status"] == "in flight" and "◆" not in w.values()


def test_no_change_is_said_as_such(tmp_path):
    # keep: start holds the approved plan as it is (worth 14): nothing to report, and the outputs say so
    r = solve_checked(replan_case(tmp_path, {"keep": "start"}), "highs")
    assert r.starts == {"A": 1, "B": 0, "C": 3}
    assert "Changes against the approved plan: none (every approved initiative keeps its start)" in console_summary(r)
    out = write_outputs(r, tmp_path / "out")
    assert pd.read_csv(out / "changes.csv").empty
    (row,) = sheet_rows(out / "report.xlsx", "Changes")
    assert row["Initiative"].startswith("No change: every approved initiative keeps its start")


# ---------------------------------------------------------------------------------------- an approved plan broken


def diagnosed_case(tmp_path):
    """test_planning_cycle's diagnosed case: capital in Q1 cut to 5 (B, approved there, needs 10) and C's
    latest finish now Q3 (approved for Q4), with keep: start."""
    tables = {"initiatives": "id,duration,capital_cost,benefit,latest_finish\nA,1,10,10,\nB,1,10,8,\n"
                             "C,1,10,12,2026/27 Q3",
              "capacity": REPLAN["capacity"].replace("capital,2026/27 Q1,10", "capital,2026/27 Q1,5")}
    return solve_checked(replan_case(tmp_path, {"keep": "start"}, tables=tables), "highs")


def test_which_approved_initiatives_cannot_keep_their_starts(tmp_path):
    r = diagnosed_case(tmp_path)
    assert r.status == "infeasible"
    # A (Q2) is not in the way; B takes all 10 of capital Q1 (limit 5, short by 5); C's start breaks its deadline
    assert approved_conflicts(r.model, r.diagnosis) == [
        {"initiative": "B", "approved_start": "2026/27 Q1", "rules": [],
         "limits": [{"resource": "capital", "period": "2026/27 Q1", "shortfall": 5.0, "uses": 10.0}]},
        {"initiative": "C", "approved_start": "2026/27 Q4", "limits": [],
         "rules": ["C cannot keep its approved start 2026/27 Q4: it would build until 2026/27 Q4, after its latest "
                   "finish 2026/27 Q3"]}]
    text = console_summary(r)
    assert ("Approved initiatives in the way (what each uses at its approved start):\n"
            "  B (approved 2026/27 Q1): capital 2026/27 Q1 (uses £10)\n"
            "  C (approved 2026/27 Q4): cannot keep its approved start 2026/27 Q4: it would build until 2026/27 Q4, "
            "after its latest finish 2026/27 Q3") in text


def test_conflicts_read_any_diagnosis_of_the_same_shape(tmp_path):
    """The explanations issue's fuller diagnosis can be handed in as it is: only approved initiatives are
    listed, each limit with what that initiative uses there, work in flight as such."""
    approved = "id,selected,start\nW,True,2025/26 Q3\nP,True,2026/27 Q1\n"
    r = solve_checked(replan_case(tmp_path, {"keep": "start"}, approved, IN_FLIGHT), "highs")
    assert r.status == "infeasible"  # W (100) and P (40) at once need 140 of the year's 120 capital
    made_up = [{"kind": "limit", "resource": "capital", "period": "2026/27", "shortfall": 20.0,
                "initiatives": ["W", "P", "X"]},
               {"kind": "rule", "rule": "dependency", "initiatives": ["P"], "text": "P needs something"}]
    assert approved_conflicts(r.model, made_up) == [
        {"initiative": "W", "approved_start": "in flight", "rules": [],
         "limits": [{"resource": "capital", "period": "2026/27", "shortfall": 20.0, "uses": 100.0}]},
        {"initiative": "P", "approved_start": "2026/27 Q1", "rules": ["P needs something"],
         "limits": [{"resource": "capital", "period": "2026/27", "shortfall": 20.0, "uses": 40.0}]}]
    # and the engine's own diagnosis of it says the same of the capital
    assert [e["limits"] for e in approved_conflicts(r.model, r.diagnosis)] == [
        [{"resource": "capital", "period": "2026/27", "shortfall": 20.0, "uses": 100.0}],
        [{"resource": "capital", "period": "2026/27", "shortfall": 20.0, "uses": 40.0}]]


def test_the_dashboard_lists_the_approved_initiatives_in_the_way(tmp_path):
    from prioritiser.dashboard.panels import changes_html

    html = changes_html(diagnosed_case(tmp_path))
    assert "<li>B (approved 2026/27 Q1): capital 2026/27 Q1 (uses £10)</li>" in html
    # the limit, led by its name, in the diagnosis's own words (issue 10): £5 short, drawn on by B
    assert ("<b>capital 2026/27 Q1</b>: Approved B (kept at its approved start) needs £5 more capital in "
            "2026/27 Q1 than the budget of £5 allows.") in html


# ---------------------------------------------------------------------------------------- training in the report


def test_training_load_and_cost_on_the_plan_sheet_and_peaks_in_the_staff_heat_maps(tmp_path):
    # X starts Q2 and trains there (test_planning_cycle): 1 trainer FTE, the whole of Q2's trainer; 1 clinical
    # FTE, half of Q2's 2 (clinical time given per quarter here); £2,000 of bank and locum pay
    tables = {**TRAINING, "capacity": TRAINING["capacity"].replace("clinical_time,2026/27,4",
                                                                   "\n".join(f"clinical_time,2026/27 Q{q},2"
                                                                             for q in range(1, 5)))}
    r = solve_checked(write_case(tmp_path, tables), "highs")
    assert r.starts == {"X": 1}
    out = write_outputs(r, tmp_path / "out")
    (x,) = sheet_rows(out / "report.xlsx", "Plan")
    assert x["Training: trainer FTE-periods"] == pytest.approx(1.0)
    assert x["Training: clinical FTE-periods"] == pytest.approx(1.0)
    assert x["Training: bank and locum pay (£)"] == pytest.approx(2000, abs=1e-9)
    staff = {row["Role"]: row for row in sheet_rows(out / "report.xlsx", "Staff")}
    trainer = next(v for k, v in staff.items() if "rainer" in k)
    clinical = next(v for k, v in staff.items() if "linical" in k)
    # Q1 has half a trainer and no training: 0%; Q2 is the training quarter: 100% of the trainer, 50% of clinical
    assert [trainer[q] for q in ("2026/27 Q1", "2026/27 Q2", "2026/27 Q3")] == pytest.approx([0, 1.0, 0])
    assert trainer["Peak"] == pytest.approx(1.0) and clinical["Peak"] == pytest.approx(0.5)
    assert clinical["2026/27 Q2"] == pytest.approx(0.5)
    from prioritiser.dashboard.charts import staff_heatmap

    (heat, _marks), _layout = staff_heatmap(r)
    z = dict(zip(heat.y, [list(row) for row in heat.z]))
    assert z[next(k for k in z if "rainer" in k)] == pytest.approx([0, 1.0, 0, 0])
    assert z[next(k for k in z if "linical" in k)] == pytest.approx([0, 0.5, 0, 0])


# ---------------------------------------------------------------------------------------- the checker's own rules


def load(tmp_path, tables, scenario=None):
    return prioritiser.load(write_case(tmp_path, tables, scenario))


def test_checker_rejects_work_in_flight_stopped_or_moved_without_leave(tmp_path):
    p = load(tmp_path / "kept", IN_FLIGHT)
    assert check_plan(p, {"W": None, "P": 0}).violations == [
        "W: in progress but not selected (stopping it needs allow_stopping)"]
    assert check_plan(p, {"W": 1, "P": None}).violations == [
        "W: in progress, so it continues from 2026/27 Q1, not 2026/27 Q2"]
    # allowed: the stop cost is revenue of the first period and comes off the objective undiscounted
    p = load(tmp_path / "stop", IN_FLIGHT, {"allow_stopping": True})
    report = check_plan(p, {"W": None, "P": 0})
    assert report.ok and report.objective == pytest.approx(90 - 40 - 50)
    assert report.components["stop_cost"] == pytest.approx(50)
    used = report.usage.set_index(["resource", "period"])["used"]
    assert used["revenue", 0] == pytest.approx(50) and used["revenue", 1] == 0
    # ... and counts against that period's revenue limit
    tables = {**IN_FLIGHT, "capacity": "resource,period,amount\ncapital,2026/27,120\nrevenue,2026/27 Q1,40"}
    assert check_plan(load(tmp_path / "poor", tables, {"allow_stopping": True}), {"W": None, "P": 0}).violations == [
        "revenue 2026/27 Q1: uses £50 > limit £40"]


def test_checker_holds_the_approved_plan_as_changes_says(tmp_path):
    def violations(changes, starts, name):
        return check_plan(prioritiser.load(replan_case(tmp_path / name, changes)), starts).violations

    assert violations({"keep": "start"}, {"A": 1, "B": 2, "C": 3}, "start") == [
        "B: approved to start 2026/27 Q1 but starts 2026/27 Q3 (changes.keep: start)"]
    assert violations({"keep": "selection"}, {"A": 1, "B": None, "C": 0}, "selection") == [
        "B: approved but not selected (changes.keep: selection)"]
    assert violations({"keep": "selection"}, {"A": 1, "B": 2, "C": 0}, "moves") == []
    assert violations({"max_moved": 1}, {"A": 1, "B": None, "C": 0}, "most") == [
        "1 approved initiative(s) moved and 1 dropped: more than max_moved 1"]
    # penalties: C moved (5) and B dropped (10) off the plan's 36
    report = check_plan(prioritiser.load(replan_case(tmp_path / "pen", {"move_penalty": 5, "drop_penalty": 10})),
                        {"A": 1, "B": None, "C": 0})
    assert report.ok and report.objective == pytest.approx(36 - 5 - 10)
    assert report.components["change_penalty"] == pytest.approx(15)


def test_checker_rejects_training_outside_the_horizon_and_over_the_trainers(tmp_path):
    assert check_plan(load(tmp_path / "q1", TRAINING), {"X": 0}).violations == ["trainer 2026/27 Q1: uses 1 > limit 0.5"]
    early = {**TRAINING, "training": TRAINING["training"].replace("10,1\n", "10,2\n")}
    assert check_plan(load(tmp_path / "early", early), {"X": 0}).violations == [
        "X: starts 2026/27 Q1, so its training (2 period(s) before go-live) would begin before the horizon"]
    late = {**TRAINING, "initiatives": "id,duration,benefit\nX,2,1500"}
    assert check_plan(load(tmp_path / "late", late), {"X": 3}).violations == [
        "X: builds until #4 (past the horizon), so its staff would not all be trained inside the horizon"]


def test_checker_reads_training_from_the_training_table_not_the_derived_demand_rows(tmp_path):
    p = load(tmp_path, TRAINING)
    honest = check_plan(p, {"X": 1})
    # validation's demand rows made of the training table, doubled (or dropped): the checker's figures do not move
    derived = p.demands["training_row"].notna()
    doubled = p.demands.assign(amount=p.demands["amount"].where(~derived, 2 * p.demands["amount"]))
    for demands in (doubled, p.demands[~derived]):
        report = check_plan(dataclasses.replace(p, demands=demands), {"X": 1})
        assert report.training.loc["X"].tolist() == pytest.approx([1.0, 1.0, 2000.0])
        assert report.objective == pytest.approx(honest.objective) == pytest.approx(1000)
        assert report.usage.equals(honest.usage)
    # so a model built from wrong derived rows (twice the bank and locum pay) would disagree with the checker
    model = build_model(dataclasses.replace(p, demands=doubled))
    v = np.zeros(model.n_cols)
    v[model.cols_of[0][model.col_start[model.cols_of[0]] == 1]] = 1.0
    assert model.objective(v) == pytest.approx(3000 - 4000)
