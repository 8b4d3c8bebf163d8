"""The sample trust's planning cycle: work in flight, training, last year's approved plan and the bundled
re-plan scenarios (replan-capital-cut-10, stop-allowed), end to end and re-checked by the checker.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import prioritiser
from conftest import run_cli
from known import SOLVERS
from prioritiser.check import check_plan
from prioritiser.replan import approved_conflicts, changes_table
from prioritiser.report import console_summary, write_outputs

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
APPROVED = SCENARIOS / "approved-2026-27.csv"
IN_FLIGHT = {"INT-01", "CYB-04", "TEL-01", "CYB-02", "EDMS-01"}


def checked(result):
    assert result.status == "optimal", result.message
    report = check_plan(result.portfolio, result.starts, result.external_purchases)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(result.objective, rel=1e-9)
    return result


def scenario(tmp_path, name: str, **keys) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "extends": str(SCENARIOS / "baseline.yaml"), **keys}))
    return path


def test_the_sample_trust_has_work_in_flight_training_and_an_approved_plan():
    p = prioritiser.load(SCENARIOS / "replan-capital-cut-10.yaml")
    assert set(p.ids[p.in_progress]) == IN_FLIGHT
    assert set(p.training["initiative"]) == {"EPR-01", "EPR-02", "EPMA-01", "PACS-1", "PACS-2"}
    assert (p.training["bank_locum_share"] > 0).all() and (p.training["bank_rate"] > 0).all()
    # the initiatives marked approved are exactly those the approved plan approves (work in flight aside)
    marked = set(p.ids[(p.initiatives["status"] == "approved").to_numpy()])
    assert marked == set(p.approved.index) - IN_FLIGHT
    # in-flight work started last year: the approved plan says when
    assert (p.approved.loc[sorted(IN_FLIGHT), "start"] < 0).all()
    assert p.warnings == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_replanning_the_unchanged_baseline_reproduces_the_approved_plan(tmp_path, solver):
    """The bundled approved plan is the baseline's optimum; re-planned against it, nothing moves."""
    r = checked(prioritiser.run(scenario(tmp_path, "unchanged", approved_plan=str(APPROVED)), solver=solver, gap=0))
    approved = r.portfolio.approved_starts
    assert {i: s for i, s in r.starts.items()} == {i: (int(a) if a >= 0 else None) for i, a in zip(r.portfolio.ids, approved)}
    assert changes_table(r.portfolio, r.starts).empty
    assert r.components["change_penalty"] == 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_our_own_plan_csv_read_back_as_the_approved_plan_reproduces_itself(tmp_path, solver):
    """plan.csv of a run, given back as approved_plan of the same scenario (gap 0): the same plan exactly."""
    first = checked(prioritiser.run(SCENARIOS / "baseline.yaml", solver=solver, gap=0))
    out = write_outputs(first, tmp_path / "baseline")
    again = checked(prioritiser.run(scenario(tmp_path, "again", approved_plan=str(out / "plan.csv")), solver=solver,
                                    gap=0))
    assert again.starts == first.starts
    assert again.objective == pytest.approx(first.objective, rel=1e-9)


def test_replan_capital_cut_keeps_work_in_flight_and_prices_the_changes(tmp_path):
    r = checked(prioritiser.run(SCENARIOS / "replan-capital-cut-10.yaml"))
    assert all(r.starts[i] == 0 for i in IN_FLIGHT)
    changes = changes_table(r.portfolio, r.starts, r.plan)
    assert not changes.empty and "stopped" not in set(changes["change"])
    moved, dropped = (changes["change"] == "moved").sum(), (changes["change"] == "dropped").sum()
    assert r.components["change_penalty"] == pytest.approx(25000 * moved + 100000 * dropped)
    # the CLI answers "what do we change": the Changes section, changes.csv and the report's sheet
    out = tmp_path / "out"
    proc = run_cli("run", str(SCENARIOS / "replan-capital-cut-10.yaml"),
            "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Changes against the approved plan:" in proc.stdout
    written = pd.read_csv(out / "changes.csv", keep_default_na=False)
    assert written[["id", "change"]].values.tolist() == changes[["id", "change"]].values.tolist()
    from openpyxl import load_workbook

    assert "Changes" in load_workbook(out / "report.xlsx").sheetnames


def test_stop_allowed_stops_the_records_scanning_project(tmp_path):
    r = checked(prioritiser.run(SCENARIOS / "stop-allowed.yaml"))
    stopped = {i for i in IN_FLIGHT if r.starts[i] is None}
    assert stopped == {"EDMS-01"}  # mandatory work never stops; the integration engine is worth finishing
    assert r.components["stop_cost"] == pytest.approx(150000)
    assert r.plan.at["EDMS-01", "reason"].startswith("stopped: saves £")
    kept = prioritiser.run(SCENARIOS / "replan-capital-cut-10.yaml")
    assert r.objective >= kept.objective - 1e-3 * abs(kept.objective)  # being allowed to stop cannot lose


def test_the_cli_answers_may_we_stop_something(tmp_path):
    """stop-allowed from the command line: the records scanning project stops, and the console, changes.csv
    and the report say what that saves, pays and loses, in the plan's own words."""
    out = tmp_path / "out"
    proc = run_cli("run", str(SCENARIOS / "stop-allowed.yaml"),
            "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False).set_index("id")
    words = plan.at["EDMS-01", "reason"]
    assert words.startswith("stopped: saves £") and ", pays £150,000 exit cost, loses £" in words
    assert plan.loc[sorted(IN_FLIGHT), "status"].eq("in_progress").all()
    approved = pd.read_csv(APPROVED, keep_default_na=False)
    assert set(plan.index[plan["status"] == "approved"]) == set(approved["id"][approved["start"] != ""]) - IN_FLIGHT
    assert "Changes against the approved plan:\n  Stopped (1): EDMS-01\n    EDMS-01: " + words[len("stopped: "):] \
        in proc.stdout
    assert "  Stop costs paid: £150,000" in proc.stdout
    changes = pd.read_csv(out / "changes.csv", keep_default_na=False).set_index("id")
    assert changes.loc["EDMS-01", ["approved_start", "new_start", "change", "reason"]].tolist() == \
        ["2025/26 Q4", "", "stopped", words]
    from openpyxl import load_workbook

    rows = {row[0]: row for row in load_workbook(out / "report.xlsx")["Changes"].iter_rows(values_only=True)}
    assert rows["EDMS-01"][4:6] == ("stopped (was in flight)", words)


def test_keeping_every_approved_start_under_the_cut_is_diagnosed(tmp_path):
    path = tmp_path / "keep-start.yaml"
    path.write_text(yaml.safe_dump({"name": "keep-start", "extends": str(SCENARIOS / "replan-capital-cut-10.yaml"),
                                    "changes": {"keep": "start"}}))
    r = prioritiser.run(path)
    assert r.status == "infeasible"
    limits = [item for item in r.diagnosis if item["kind"] == "limit"]
    assert limits and all(item["resource"] == "capital" and item["period"] == "2027/28" for item in limits)
    # the shortfall is what the approved plan's 2027/28 capital exceeds the cut budget by
    p = r.portfolio
    approved_starts = {i: (int(a) if a >= 0 else None) for i, a in zip(p.ids, p.approved_starts)}
    report = check_plan(p, approved_starts)
    assert [v for v in report.violations if not v.startswith("capital 2027/28")] == []
    use = report.usage[(report.usage["resource"] == "capital") & report.usage["period"].isin(range(4, 8))]["used"].sum()
    assert limits == [{**limits[0], "shortfall": pytest.approx(use - 0.9 * 8500000)}]
    assert set(limits[0]["initiatives"]) <= set(p.approved.index)
    # per approved initiative in the way: what each spends of 2027/28's capital at its approved start, as the
    # checker counts it; together the approved plan's whole 2027/28 capital, the cut budget plus the shortfall
    conflicts = approved_conflicts(r.model, r.diagnosis)
    assert [e["initiative"] for e in conflicts] == [i for i in p.ids if i in limits[0]["initiatives"]]
    alone = {e["initiative"]: check_plan(p, {i: (approved_starts[i] if i == e["initiative"] else None) for i in p.ids})
             for e in conflicts}
    for e in conflicts:
        spent = alone[e["initiative"]].usage
        spent = spent[(spent["resource"] == "capital") & spent["period"].isin(range(4, 8))]["used"].sum()
        assert e["limits"] == [{"resource": "capital", "period": "2027/28", "shortfall": limits[0]["shortfall"],
                                "uses": pytest.approx(spent, abs=0.01)}]
    assert sum(e["limits"][0]["uses"] for e in conflicts) == pytest.approx(use, abs=0.1)
    assert "Approved initiatives in the way" in console_summary(r)


def test_training_load_of_the_epr_go_live():
    r = checked(prioritiser.run(SCENARIOS / "baseline.yaml"))
    epr = r.plan.loc["EPR-01"]
    # EPR core trains over its 3 remaining build quarters (2026/27 Q1-Q3), all inside the horizon:
    # 2,400 nurses x 3 h x 20% bank at £28 + 700 doctors x 2.5 h x 12% at £85 + 450 AHPs x 2.5 h x 8% at £35
    # + 600 admin x 5 h x 10% at £18 = £40,320 + £17,850 + £3,150 + £5,400
    assert epr["training_cost"] == pytest.approx(66720)
    # substantive hours (5,760 + 1,540 + 1,035 + 2,700) over clinical_time's 1,575 hours a year (393.75 a quarter)
    assert epr["clinical_fte_periods"] == pytest.approx(11035 / 393.75)
    assert r.check.training.loc["EPR-01"].tolist() == pytest.approx(
        [epr["trainer_fte_periods"], epr["clinical_fte_periods"], epr["training_cost"]])
