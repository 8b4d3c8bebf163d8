"""Validation of the planning cycle's input (format v1.1): status, stop_cost, the training table,
hours_per_fte, allow_stopping, approved_plan and changes. Each problem names file, row and column
(or the scenario key), as in tests/test_validation.py, whose valid base portfolio (BASE: A, B, C over
8 quarters from 2026/27 Q1) these tests start from.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import prioritiser
from test_validation import edit, errors, the_issue, write_base


def in_file(issues, name: str):
    """The issues of one file (an approved plan is named by its path), as if named by the file's name."""
    return [type(i)(i.severity, name, i.message, i.row, i.column) for i in issues if Path(i.where).name == name]

INITIATIVES_WITH_STATUS = """
    id,name,duration,earliest_start,latest_finish,mandatory,capital_cost,revenue_cost,running_cost,benefit,status,stop_cost
    A,Alpha,2,,,false,1000,100,10,500,in_progress,300
    B,Beta,1,,,false,500,0,0,200,approved,
    C,Gamma,3,2026/27 Q2,2027/28 Q4,false,0,0,0,300,,
"""
TRAINING = """
    initiative,staff_group,headcount,hours_each,bank_locum_share,bank_rate,trainees_per_trainer,periods_before_go_live
    A,nurses,100,4,0.2,25,10,2
"""
RESOURCES = """
    resource,kind,external_cost,external_max,hours_per_fte
    capital,money,0,0,
    revenue,money,0,0,
    developer,staff,100,1,
    trainer,staff,0,0,1600
    clinical_time,staff,0,0,
"""
CAPACITY_TRAINING = "trainer,2026/27,8\ntrainer,2027/28,8\nclinical_time,2026/27,8\nclinical_time,2027/28,8\n"


def capacity_with_training() -> str:
    from test_validation import BASE, csv_text

    return csv_text(BASE["capacity"]) + CAPACITY_TRAINING


def test_a_valid_planning_cycle_portfolio(tmp_path):
    path = write_base(tmp_path, initiatives=INITIATIVES_WITH_STATUS, training=TRAINING, resources=RESOURCES,
                      capacity=capacity_with_training())
    assert prioritiser.validate(path) == []
    p = prioritiser.load(path)
    assert list(p.initiatives["status"]) == ["in_progress", "approved", "proposed"]
    assert list(p.initiatives["stop_cost"]) == [300, 0, 0]
    assert p.resources.loc["trainer", "hours_per_fte"] == 1600 and p.resources.loc["clinical_time", "hours_per_fte"] == 1650
    # training as demand rows: A (2 quarters of build) trains in offsets 0 and 1, half of it in each:
    # trainer 100 x 4 / 10 = 40 hours -> 20 a quarter / (1600 / 4) = 0.05 FTE; substantive staff
    # 100 x 4 x 0.8 = 320 hours -> 160 / (1650 / 4); bank and locum pay 100 x 4 x 0.2 x £25 = £2,000 -> £1,000
    rows = p.demands[p.demands["training_row"].notna()].sort_values(["resource", "k"])
    assert list(rows["k"]) == [0, 1, 0, 1, 0, 1]
    amount = rows.groupby("resource")["amount"].first()
    assert amount["trainer"] == pytest.approx(0.05)
    assert amount["clinical_time"] == pytest.approx(160 / (1650 / 4))
    assert amount["revenue"] == pytest.approx(1000)
    assert p.demands["training_row"].isna().sum() == 2  # the demands table's own rows are kept as they are


def test_in_progress_with_an_earliest_start_is_an_error(tmp_path):
    text = INITIATIVES_WITH_STATUS.replace("A,Alpha,2,,", "A,Alpha,2,2026/27 Q2,")
    issues = prioritiser.validate(write_base(tmp_path, initiatives=text))
    the_issue(issues, "initiatives.csv", 2, "earliest_start", "starts in the first period (2026/27 Q1)")
    # the first period itself is fine
    text = INITIATIVES_WITH_STATUS.replace("A,Alpha,2,,", "A,Alpha,2,2026/27 Q1,")
    assert errors(prioritiser.validate(write_base(tmp_path, initiatives=text))) == []


def test_stop_cost_on_a_proposed_initiative_is_a_warning_and_ignored(tmp_path):
    text = INITIATIVES_WITH_STATUS.replace("C,Gamma,3,2026/27 Q2,2027/28 Q4,false,0,0,0,300,,",
                                           "C,Gamma,3,2026/27 Q2,2027/28 Q4,false,0,0,0,300,,70")
    path = write_base(tmp_path, initiatives=text)
    the_issue(prioritiser.validate(path), "initiatives.csv", 4, "stop_cost", "applies only to in_progress",
              severity="warning")
    assert prioritiser.load(path).initiatives.at["C", "stop_cost"] == 0


def test_bad_status_and_training_values_name_the_cell(tmp_path):
    text = INITIATIVES_WITH_STATUS.replace("approved,", "aproved,")
    the_issue(prioritiser.validate(write_base(tmp_path, initiatives=text)), "initiatives.csv", 3, "status",
              "not one of: proposed, approved, in_progress")
    bad = TRAINING.replace("0.2,25,10,2", "1.5,25,0.5,0")
    issues = prioritiser.validate(write_base(tmp_path, training=bad))
    the_issue(issues, "training.csv", 2, "bank_locum_share", "above the maximum 1")
    the_issue(issues, "training.csv", 2, "trainees_per_trainer", "must be at least 1")
    the_issue(issues, "training.csv", 2, "periods_before_go_live", "must be at least 1")
    the_issue(prioritiser.validate(write_base(tmp_path, training=TRAINING.replace("A,nurses", "Z,nurses"))),
              "training.csv", 2, "initiative", "initiative 'Z' is not defined")
    zero = RESOURCES.replace("trainer,staff,0,0,1600", "trainer,staff,0,0,0")
    the_issue(prioritiser.validate(write_base(tmp_path, resources=zero)), "resources.csv", 5, "hours_per_fte",
              "must be more than 0")


def test_training_makes_trainer_and_clinical_time_staff_with_a_warning_without_limits(tmp_path):
    path = write_base(tmp_path, training=TRAINING)  # BASE has neither resource
    issues = prioritiser.validate(path)
    assert errors(issues) == []
    warned = {i.message.split()[0] for i in issues if i.severity == "warning"}
    assert warned == {"trainer", "clinical_time"}
    p = prioritiser.load(path)
    assert p.resources.loc[["trainer", "clinical_time"], "kind"].tolist() == ["staff", "staff"]
    # with capacity rows for them, they are defined and limited: no warning
    assert prioritiser.validate(write_base(tmp_path, training=TRAINING, capacity=capacity_with_training())) == []
    money = RESOURCES.replace("trainer,staff", "trainer,money")
    the_issue(prioritiser.validate(write_base(tmp_path, training=TRAINING, resources=money,
                                              capacity=capacity_with_training())),
              "resources.csv", 5, "kind", "trainer is money")


def test_a_mandatory_initiative_that_cannot_be_trained_in_time_is_an_error(tmp_path):
    # C (3 quarters, must finish by 2027/28 Q4) with 9 training quarters: it would have to start in
    # 2027/28 Q3 or later (so that training begins inside the horizon) and start by 2027/28 Q2: no start
    text = edit("initiatives", "C,Gamma,3,2026/27 Q2,2027/28 Q4,false", "C,Gamma,3,2026/27 Q2,2027/28 Q4,true")
    training = TRAINING.replace("A,nurses,100,4,0.2,25,10,2", "C,nurses,100,4,0.2,25,10,9")
    issues = prioritiser.validate(write_base(tmp_path, initiatives=text, training=training,
                                             capacity=capacity_with_training()))
    the_issue(issues, "training.csv", 2, "periods_before_go_live", "cannot all be trained inside the horizon")


def test_force_out_of_work_in_progress_needs_allow_stopping(tmp_path):
    issue = the_issue(prioritiser.validate(write_base(tmp_path, {"force_out": ["A"]},
                                                      initiatives=INITIATIVES_WITH_STATUS)),
                      "scenario.yaml", None, "force_out", "needs allow_stopping: true")
    assert "'A' is in progress" in issue.message
    assert errors(prioritiser.validate(write_base(tmp_path, {"force_out": ["A"], "allow_stopping": True},
                                                  initiatives=INITIATIVES_WITH_STATUS))) == []


def test_scenario_keys_of_the_planning_cycle_are_checked(tmp_path):
    issues = prioritiser.validate(write_base(tmp_path, {"allow_stopping": "maybe",
                                                        "changes": {"keep": "some", "max_moved": -1, "drop_penality": 2}}))
    the_issue(issues, "scenario.yaml", None, "allow_stopping", "must be true or false")
    the_issue(issues, "scenario.yaml", None, "changes.keep", "must be one of start, selection, none")
    the_issue(issues, "scenario.yaml", None, "changes.max_moved", "must be at least 0")
    the_issue(issues, "scenario.yaml", None, "changes.drop_penality", "did you mean 'changes.drop_penalty'")
    # changes without an approved plan say nothing: a warning
    the_issue(prioritiser.validate(write_base(tmp_path, {"changes": {"keep": "start"}})), "scenario.yaml", None,
              "changes", "no effect without approved_plan", severity="warning")


def approved_case(tmp_path, plan: str, changes: dict | None = None, **tables):
    (tmp_path / "approved.csv").write_text(plan)
    return write_base(tmp_path, {"approved_plan": "approved.csv", **({"changes": changes} if changes else {})},
                      initiatives=INITIATIVES_WITH_STATUS, **tables)


def test_approved_plan_is_read_hand_made_or_ours(tmp_path):
    # hand-made: id, start (a blank start is not approved); A, in progress, started last year
    p = prioritiser.load(approved_case(tmp_path, "id,start\nA,2025/26 Q3\nB,2026/27 Q3\nC,\n"))
    assert p.approved.to_dict("index") == {"A": {"start": -2, "label": "2025/26 Q3"},
                                           "B": {"start": 2, "label": "2026/27 Q3"}}
    assert list(p.approved_starts) == [0, 2, -1]  # an in_progress one is at period 0, where it must be
    # ours: selected False is not approved whatever its start says; other columns are ignored
    plan = "id,name,selected,start,go_live,reason\nA,Alpha,True,2026/27 Q1,,\nB,Beta,False,2026/27 Q3,,\nC,Gamma,True,2026/27 Q2,x,\n"
    p = prioritiser.load(approved_case(tmp_path, plan))
    assert list(p.approved.index) == ["A", "C"]
    assert p.input_hash != prioritiser.load(write_base(tmp_path, initiatives=INITIATIVES_WITH_STATUS)).input_hash


def test_approved_plan_problems_name_file_row_and_column(tmp_path):
    plan = "id,start\nA,2026/27 Q1\nB,2025/26 Q4\nZ,2026/27 Q1\nC,2026/27 Q9\nA,2026/27 Q1\nC,2031/32 Q1\n"
    issues = in_file(prioritiser.validate(approved_case(tmp_path, plan)), "approved.csv")
    the_issue(issues, "approved.csv", 3, "start", "set its status to in_progress")
    the_issue(issues, "approved.csv", 4, "id", "initiative 'Z' is not in the portfolio")
    the_issue(issues, "approved.csv", 5, "start", "is not a quarter label")
    the_issue(issues, "approved.csv", 6, "id", "duplicate id 'A' (also on row 2)")
    the_issue(issues, "approved.csv", 7, "id", "duplicate id 'C' (also on row 5)")
    the_issue(issues, "approved.csv", 7, "start", "after the horizon ends")
    missing = prioritiser.validate(write_base(tmp_path, {"approved_plan": "nowhere.csv"}))
    the_issue(missing, "scenario.yaml", None, "approved_plan", "approved plan not found")
    (tmp_path / "bad.csv").write_text("initiative,when\nA,2026/27 Q1\n")
    the_issue(in_file(prioritiser.validate(write_base(tmp_path, {"approved_plan": "bad.csv"})), "bad.csv"),
              "bad.csv", 1, "id", "required column 'id' is missing")


def test_approved_marks_and_kept_approved_initiatives(tmp_path):
    # B is marked approved but the approved plan leaves it out: a warning
    issues = prioritiser.validate(approved_case(tmp_path, "id,start\nA,2026/27 Q1\nC,2026/27 Q2\n"))
    the_issue(issues, "initiatives.csv", 3, "status", "no start in the approved plan", severity="warning")
    # keep: selection makes approved initiatives must-haves: forcing one out contradicts it
    path = approved_case(tmp_path, "id,start\nA,2026/27 Q1\nC,2026/27 Q2\n", {"keep": "selection"})
    doc = (tmp_path / "scenario.yaml").read_text() + "force_out: [C]\n"
    path.write_text(doc)
    the_issue(prioritiser.validate(path), "scenario.yaml", None, "force_out", "approved and changes.keep is selection")
    path.write_text(doc.replace("force_out: [C]", "force_out: []"))
    must = prioritiser.load(path).must_select
    assert list(np.asarray(must)) == [True, False, True]  # A in progress, C approved and kept


def test_an_edited_re_plan_scenario_saves_and_reads_back_the_same(tmp_path):
    from prioritiser.scenario import Changes, load_scenario, write_scenario

    root = Path(__file__).resolve().parents[1] / "scenarios"
    scenario = load_scenario(root / "replan-capital-cut-10.yaml")
    assert scenario.approved_plan == (root / "approved-2026-27.csv").resolve()
    edited = scenario.replace(allow_stopping=True, changes=Changes(keep="start", max_moved=3, drop_penalty=5.0))
    again = load_scenario(write_scenario(tmp_path / "saved.yaml", edited))
    assert again.settings.allow_stopping is True
    assert again.settings.changes == Changes(keep="start", max_moved=3, move_penalty=0.0, drop_penalty=5.0)
    assert again.approved_plan == scenario.approved_plan
    assert prioritiser.load(again).approved.equals(prioritiser.load(scenario).approved)
