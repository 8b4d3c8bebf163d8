"""The command line: exit codes, the four output files exactly as the spec says, input protection."""
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from conftest import run_cli, write_case
from prioritiser import cli, engine
from prioritiser.check import check_plan
from prioritiser.result import SolveOutcome, Status

PLAN_COLUMNS = ["id", "name", "selected", "start", "go_live", "pv_benefit", "pv_revenue", "in_year_revenue",
                "pv_cost", "reason"]

CASE = {
    "initiatives": """
        id,name,duration,capital_cost,benefit,revenue,mandatory,owner_note
        A,Alpha,1,60,130,0,false,keep me
        B,Beta,1,50,110,0,false,
        C,Gamma,1,40,85,5,true,
    """,
    "resources": "resource,kind,external_cost,external_max\ndeveloper,staff,10,1",
    "demands": "initiative,resource,offset,amount\nA,developer,build,1\nB,developer,build,1",
    "capacity": """
        resource,period,amount
        capital,2026/27,100
        revenue,2026/27,100
        developer,2026/27 Q1,1
        developer,2026/27 Q2,1
        developer,2026/27 Q3,1
        developer,2026/27 Q4,1
    """,
}


def test_run_writes_the_four_files(tmp_path):
    scenario = write_case(tmp_path, CASE)
    out = tmp_path / "out"
    proc = run_cli("run", scenario, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "OPTIMAL" in proc.stdout and "Initiatives in: 2 of 3" in proc.stdout
    assert "Busiest staff role: developer" in proc.stdout
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False)
    assert list(plan.columns[:10]) == PLAN_COLUMNS
    assert "owner_note" in plan.columns and plan.loc[plan.id == "A", "owner_note"].item() == "keep me"
    assert set(plan.loc[plan.selected.astype(str) == "True", "id"]) == {"A", "C"}
    usage = pd.read_csv(out / "usage.csv")
    # the spec's columns first, then issue 10's mark of the limits that bind
    assert list(usage.columns) == ["resource", "period", "used", "capacity", "external", "binding"]
    year = usage[(usage.resource == "capital") & (usage.period == "2026/27")]
    assert year["used"].item() == pytest.approx(100) and year["capacity"].item() == pytest.approx(100)
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "status", "objective", "bound", "gap", "components", "solver", "solver_version",
                "seconds", "input_sha256", "package_version"):
        assert key in summary
    assert summary["status"] == "optimal" and summary["check"]["ok"] is True
    assert len(summary["input_sha256"]) == 64
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert {"Summary", "Plan", "Spend by year", "Usage"} <= set(book.sheetnames)
    assert book["Plan"]["A3"].value == "ID"  # human headers under a title (issue 11)


def test_default_output_folder_and_rerun_replaces_it(tmp_path):
    scenario = write_case(tmp_path / "in", CASE, name="trust-case")
    for _ in range(2):
        proc = run_cli("run", scenario, "--quiet", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "results" / "trust-case" / "plan.csv").exists()
    assert not [p for p in (tmp_path / "results").iterdir() if p.name.startswith(".")]  # no temp folders left


def test_invalid_input_exit_1_without_traceback(tmp_path):
    bad = dict(CASE, initiatives=CASE["initiatives"].replace("A,Alpha,1,", "A,Alpha,zero,"))
    proc = run_cli("run", write_case(tmp_path, bad))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "initiatives.csv, row 2, column duration" in proc.stderr


def test_infeasible_exit_2(tmp_path):
    # all three mandatory: 150 of capital against 100
    infeasible = dict(CASE, initiatives=CASE["initiatives"].replace(",false", ",true"))
    out = tmp_path / "out"
    proc = run_cli("run", write_case(tmp_path, infeasible), "--out", out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "INFEASIBLE" in proc.stdout
    assert json.loads((out / "summary.json").read_text())["status"] == "infeasible"
    assert not (out / "plan.csv").exists()


def test_no_plan_exit_3(tmp_path, monkeypatch):
    def no_plan(model, name, time_limit, gap, start=None, threads=None):
        return SolveOutcome(Status.ERROR, None, None, 0.1, name, "stub", "time limit reached with no plan")
    monkeypatch.setattr(engine, "solve", no_plan)
    monkeypatch.setattr(engine, "rank_and_place", lambda model: None)
    assert cli.main(["run", str(write_case(tmp_path, CASE)), "--out", str(tmp_path / "out")]) == 3
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "error"


def test_plan_failing_the_check_is_not_published(tmp_path, monkeypatch, capsys):
    def lying_check(portfolio, starts, external=None, tol=1e-6):
        report = check_plan(portfolio, starts, external, tol)
        report.ok = False
        report.violations = ["capital 2026/27: uses £100 > limit £90 (injected)"]
        return report
    monkeypatch.setattr(engine, "check_plan", lying_check)
    out = tmp_path / "out"
    assert cli.main(["run", str(write_case(tmp_path, CASE)), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "NOT published" in err and "injected" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "error" and summary["check"]["ok"] is False
    assert not (out / "plan.csv").exists()


def test_never_overwrites_the_users_input(tmp_path):
    scenario = write_case(tmp_path, CASE)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for out in (tmp_path / "portfolio", tmp_path):
        proc = run_cli("run", scenario, "--out", out)
        assert proc.returncode == 1 and "choose another folder" in proc.stderr
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("precious")
    proc = run_cli("run", scenario, "--out", other)
    assert proc.returncode == 1 and "not a prioritiser result folder" in proc.stderr
    assert (other / "mine.txt").read_text() == "precious"
    assert {p: p.read_bytes() for p in before} == before


def test_validate_command(tmp_path):
    proc = run_cli("validate", write_case(tmp_path, CASE))
    assert proc.returncode == 0
    assert "0 error(s)" in proc.stdout
