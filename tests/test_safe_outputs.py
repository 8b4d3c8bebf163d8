"""Issue 8, writing results: never lose a user's file, never write outside --out, never let a
spreadsheet run what a file says. Every defect the issue lists on the output side is a test here,
plus the data-safety test: batch, stress and frontier aimed at folders holding inputs, unrelated
files and a user's own plan change nothing the user owned (checksums before and after)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import prioritiser
from known import write_case
from prioritiser.errors import OutputError
from prioritiser.outputs import (check_output_root, csv_safe, is_result_folder, neutralise, read_csv, restore, slug,
                                 unique_slugs, write_csv)

TABLES = {
    "initiatives": """
        id,name,duration,capital_cost,benefit
        A,Alpha,1,60,130
        B,Beta,1,50,110
        C,Gamma,2,40,85
    """,
    "capacity": "resource,period,amount\ncapital,2026/27,100",
}
HOSTILE = '=HYPERLINK("http://x","click")'


def named_case(folder: Path, name: str, tables=TABLES, scenario: dict | None = None) -> Path:
    """A case whose scenario is called `name` (which may look like a path: the file is case.yaml)."""
    import yaml

    path = write_case(folder, tables, scenario)
    doc = yaml.safe_load(path.read_text())
    doc["name"] = name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prioritiser.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def checksums(folder: Path) -> dict[str, str]:
    """Every file under `folder` (and every folder, as a marker) with the SHA-256 of its bytes."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


def no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize("name, expected", [
    ("baseline", "baseline"), ("capital-cut-10", "capital-cut-10"), ("../../victim", "victim"),
    ("../../../elsewhere", "elsewhere"), ("/etc/passwd", "etc-passwd"), ("C:\\Users\\x", "C-Users-x"),
    ("..", "scenario"), ("", "scenario"), (".hidden", "hidden"), ("CON", "CON_"), ("a" * 300, "a" * 80),
    ("Trésorerie 2026/27", "Tresorerie-2026-27"), (HOSTILE, "HYPERLINK-http-x-click"),
])
def test_folder_names_are_slugs(name, expected):
    assert slug(name) == expected
    assert "/" not in slug(name) and ".." not in slug(name) and not slug(name).startswith(".")


def test_colliding_slugs_get_a_suffix():
    assert unique_slugs(["a/b", "a b", "A-B", "c"]) == ["a-b", "a-b-2", "A-B-3", "c"]


def test_batch_scenario_named_as_a_path_stays_inside_out(tmp_path):
    """`name: "../../victim"` in a batch deleted a folder outside --out; lock files landed outside too."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("mine")
    before = checksums(tmp_path)
    paths = [named_case(tmp_path / "in" / "a", "../../victim"), named_case(tmp_path / "in" / "b", "/victim")]
    result = prioritiser.run_batch(paths, tmp_path / "work" / "out")
    assert {r.scenario for r in result.records} == {"../../victim", "/victim"}
    out = tmp_path / "work" / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == \
        ["comparison.csv", "comparison.xlsx", "victim", "victim-2"]
    assert all(is_result_folder(out / n) for n in ("victim", "victim-2"))
    after = checksums(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith(("work", "in"))} == \
        {k: v for k, v in before.items() if not k.startswith(("work", "in"))}
    assert list(result.comparison.index) == ["../../victim", "/victim"]


@pytest.mark.parametrize("name", ["../../../elsewhere", "/tmp/absolute-elsewhere"])
def test_run_scenario_named_as_a_path_writes_under_results(tmp_path, name):
    scenario = named_case(tmp_path / "case", name)
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    done = cli("run", scenario, cwd=work)
    assert done.returncode == 0, done.stderr
    assert (work / "results" / slug(name) / "summary.json").exists()
    assert not (tmp_path / "elsewhere").exists() and not Path("/tmp/absolute-elsewhere").exists()


# ----------------------------------------------------------------------------- folders that are not ours


def test_batch_into_its_own_input_folder_is_refused(tmp_path):
    """`batch 'scen/*.yaml' --out scen` (trust.yaml with portfolio scen/trust/) deleted all six input CSVs."""
    scen = tmp_path / "scen"
    write_case(scen, TABLES, name="trust")
    (scen / "portfolio").rename(scen / "trust")
    text = (scen / "trust.yaml").read_text().replace("portfolio: portfolio", "portfolio: trust")
    (scen / "trust.yaml").write_text(text)
    before = checksums(scen)
    done = cli("batch", scen / "*.yaml", "--out", scen, "--quiet")
    assert done.returncode == 1 and "holds your input" in done.stderr
    no_traceback(done)
    assert checksums(scen) == before


def test_batch_into_a_home_folder_is_refused(tmp_path):
    """`batch scenarios/baseline.yaml --out ~` deleted ~/baseline/notes.txt."""
    home = tmp_path / "home"
    (home / "baseline").mkdir(parents=True)
    (home / "baseline" / "notes.txt").write_text("my notes")
    (home / "budget.xlsx").write_bytes(b"not really a workbook")
    scenario = write_case(tmp_path / "case", TABLES, name="baseline")
    before = checksums(home)
    done = cli("batch", scenario, "--out", home, "--quiet")
    assert done.returncode == 1 and "did not write" in done.stderr and "baseline/" in done.stderr
    no_traceback(done)
    assert checksums(home) == before


def test_stress_into_a_home_folder_is_refused(tmp_path):
    """`stress ... --out ~` deleted a user's ~/baseline-capital-cut-5/ document (and wrote ~/scenarios)."""
    home = tmp_path / "home"
    (home / "baseline-capital-cut-5").mkdir(parents=True)
    (home / "baseline-capital-cut-5" / "board paper.docx").write_bytes(b"draft")
    scenario = write_case(tmp_path / "case", TABLES, name="baseline")
    before = checksums(home)
    done = cli("stress", scenario, "--cuts", "5", "--out", home, "--quiet")
    assert done.returncode == 1 and "did not write" in done.stderr
    no_traceback(done)
    assert checksums(home) == before


def test_run_out_holding_a_users_own_plan_is_refused(tmp_path):
    """A user's own plan.csv in --out was silently replaced."""
    scenario = write_case(tmp_path / "case", TABLES)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "plan.csv").write_text("id,selected\nA,True\n")
    before = checksums(out)
    done = cli("run", scenario, "--out", out)
    assert done.returncode == 1 and "not a prioritiser result folder" in done.stderr
    assert checksums(out) == before


def test_run_out_that_is_a_file_is_a_clear_error(tmp_path):
    """`run --out afile.txt` gave a traceback."""
    scenario = write_case(tmp_path / "case", TABLES)
    afile = tmp_path / "afile.txt"
    afile.write_text("keep me")
    done = cli("run", scenario, "--out", afile)
    assert done.returncode == 1 and "is a file, not a folder" in done.stderr
    no_traceback(done)
    assert afile.read_text() == "keep me"


def test_our_own_folders_are_replaced_and_reruns_work(tmp_path):
    scenario = write_case(tmp_path / "case", TABLES)
    out = tmp_path / "out"
    assert cli("run", scenario, "--out", out).returncode == 0
    first = json.loads((out / "summary.json").read_text())
    assert is_result_folder(out)
    assert cli("run", scenario, "--out", out).returncode == 0  # ours: replaced
    assert json.loads((out / "summary.json").read_text())["objective"] == first["objective"]
    (out / "~$report.xlsx").write_bytes(b"")  # the workbook is open in Excel
    done = cli("run", scenario, "--out", out)
    assert done.returncode == 1 and "close it" in done.stderr


def test_compare_out_never_overwrites_what_we_did_not_write(tmp_path):
    """`compare --out FILE` overwrote any file, a scenario YAML included."""
    a_path = write_case(tmp_path / "a", TABLES, name="a")
    b_path = write_case(tmp_path / "b", TABLES, {"adjustments": [{"resource": "capital", "scale": 0.5}]}, name="b")
    for path, name in ((a_path, "A"), (b_path, "B")):
        assert cli("run", path, "--out", tmp_path / name).returncode == 0
    yaml_before = a_path.read_bytes()
    done = cli("compare", tmp_path / "A", tmp_path / "B", "--out", a_path)
    assert done.returncode == 1 and "not a table of changes" in done.stderr
    assert a_path.read_bytes() == yaml_before
    done = cli("compare", tmp_path / "A", tmp_path / "B", "--out", tmp_path / "A" / "changes.csv")
    assert done.returncode == 1 and "inside the result folder" in done.stderr
    assert not (tmp_path / "A" / "changes.csv").exists()
    done = cli("compare", tmp_path / "A", tmp_path / "B", "--out", tmp_path)
    assert done.returncode == 1 and "is a folder" in done.stderr
    mine = tmp_path / "changes.csv"
    for _ in range(2):  # a new file, then our own file again
        done = cli("compare", tmp_path / "A", tmp_path / "B", "--out", mine)
        assert done.returncode == 0, done.stderr
    changes = read_csv(mine)
    assert list(changes.columns) == ["initiative", "change", "start_a", "start_b", "periods_moved"] and len(changes)
    done = cli("compare", tmp_path / "A" / "summary.json", tmp_path / "B")
    assert done.returncode == 1 and "is a file" in done.stderr


# ----------------------------------------------------------------------------- the data-safety test


def _user_folder(root: Path, scenario: Path) -> Path:
    """A folder as a user keeps it: the scenario and its portfolio, notes, and their own plan."""
    root.mkdir(parents=True)
    (root / "notes.txt").write_text("board meeting Tuesday")
    (root / "plan.csv").write_text("id,selected,start\nA,True,2026/27 Q1\n")
    (root / "baseline").mkdir()
    (root / "baseline" / "summary.json").write_text('{"scenario": "my own"}')  # not ours: no package_version
    return root


@pytest.mark.parametrize("command", ["batch", "stress", "frontier"])
def test_data_safety_nothing_the_user_owned_changes(tmp_path, command):
    scenario = write_case(tmp_path / "inputs", TABLES, name="baseline")
    extra = {"batch": [], "stress": ["--cuts", "10"], "frontier": ["--steps", "2"]}[command]
    targets = [_user_folder(tmp_path / "user", scenario), tmp_path / "inputs", tmp_path / "inputs" / "portfolio"]
    for target in targets:
        before = checksums(tmp_path)
        done = cli(command, scenario, *extra, "--out", target, "--quiet")
        assert done.returncode == 1, done.stdout + done.stderr
        no_traceback(done)
        assert checksums(tmp_path) == before, f"{command} --out {target} changed a file"
    # a new folder works, and a rerun into it (ours now) works too
    for _ in range(2):
        done = cli(command, scenario, *extra, "--out", tmp_path / "results", "--quiet")
        assert done.returncode == 0, done.stdout + done.stderr
    check_output_root(tmp_path / "results")  # everything in it is ours


# ----------------------------------------------------------------------------- cells


def test_neutralising_text_follows_owasp_and_keeps_numbers():
    for text in ("=1+1", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx", "'=x", "''=x"):
        assert neutralise(text) == "'" + text and restore(neutralise(text)) == text
    for text in ("-5", "+3.5", "-1e5", "plain", "'quoted", "", "a=b"):
        assert neutralise(text) == text and restore(text) == text
    frame = pd.DataFrame({"name": ["=cmd", "-2", "ok"], "amount": [-5.0, 3.0, -0.5], "n": [-1, 2, 3]})
    safe = csv_safe(frame)
    assert list(safe["name"]) == ["'=cmd", "-2", "ok"]
    assert list(safe["amount"]) == [-5.0, 3.0, -0.5] and list(safe["n"]) == [-1, 2, 3]


def test_csv_round_trips_line_breaks_and_formulas(tmp_path):
    frame = pd.DataFrame({"id": ["A", "-B"], "name": ["two\rlines", 'say "hi",\nthen']})
    path = write_csv(frame, tmp_path / "x.csv")
    back = read_csv(path, keep_default_na=False)
    assert len(back) == 2  # a CR or LF in a cell adds no phantom row
    assert back.equals(frame)
    raw = path.read_bytes()
    assert b"'-B" in raw and b'"two\rlines"' in raw


def _formula_cells(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path)
    return [f"{ws.title}!{c.coordinate}" for ws in book.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f"]


def test_formula_injection_is_text_in_every_output(tmp_path):
    """A name =HYPERLINK(...) became a live formula in report.xlsx (28 cells), in comparison.xlsx and
    in the CSVs; ids may start with '-'."""
    tables = {"initiatives": TABLES["initiatives"].replace("Alpha", '"=HYPERLINK(""http://x"",""click"")"')
                                                  .replace("B,Beta", "-B,@Beta").replace("C,Gamma", "C,+Gamma"),
              "capacity": TABLES["capacity"]}
    a = named_case(tmp_path / "a", HOSTILE, tables)
    b = named_case(tmp_path / "b", "-cut", tables, {"adjustments": [{"resource": "capital", "scale": 0.5}]})
    result = prioritiser.run_batch([a, b], tmp_path / "batch")
    folder = tmp_path / "batch" / slug(HOSTILE)
    for book in (folder / "report.xlsx", tmp_path / "batch" / "comparison.xlsx"):
        assert _formula_cells(book) == [], book
    report = openpyxl.load_workbook(folder / "report.xlsx")
    names = [c.value for row in report["Plan"].iter_rows() for c in row]
    assert HOSTILE in names and "-B" in names and "@Beta" in names  # the text itself, as text
    comparison = openpyxl.load_workbook(tmp_path / "batch" / "comparison.xlsx")
    scenarios = [c.value for c in comparison["Comparison"]["A"]]
    assert HOSTILE in scenarios and "-cut" in scenarios
    plan_bytes = (folder / "plan.csv").read_bytes()
    assert b"'=HYPERLINK" in plan_bytes and b"\r\n'-B," in plan_bytes and b"'@Beta" in plan_bytes
    assert b"'+Gamma" in plan_bytes
    plan = pd.read_csv(folder / "plan.csv")
    assert plan["pv_cost"].dtype == float  # numbers stay numbers
    assert b"'=HYPERLINK" in (tmp_path / "batch" / "comparison.csv").read_bytes()
    assert set(result.selection.index) == {"A", "-B", "C"}  # read back as they were
    assert result.plans.loc[(HOSTILE, "A"), "name"] == HOSTILE


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the point of the test
def test_checker_refuses_a_non_finite_objective(tmp_path):
    """`benefit=1e308` published NPV £inf with a null objective and the checker said ok (validation
    now refuses such a number; the checker refuses the plan as well, should one get through)."""
    from prioritiser.check import check_plan

    portfolio = prioritiser.load(write_case(tmp_path / "case", TABLES))
    portfolio.initiatives.loc["A", "benefit"] = 1e308
    report = check_plan(portfolio, {"A": 0})
    assert not report.ok and any("not a finite number" in v for v in report.violations)


def test_formula_injection_is_text_in_the_changes_of_a_re_plan(tmp_path):
    """The planning cycle's outputs (the board pack's Changes sheet, changes.csv) hold names and ids
    too: text there is never a formula either."""
    tables = {"initiatives": TABLES["initiatives"].replace("Alpha", '"=HYPERLINK(""http://x"",""click"")"')
                                                  .replace("B,Beta", "-B,@Beta"),
              "capacity": TABLES["capacity"]}
    path = named_case(tmp_path / "case", "replan", tables, {"approved_plan": "approved.csv"})
    (path.parent / "approved.csv").write_text("id,start\nA,2026/27 Q1\n-B,2026/27 Q1\n")  # 110 of capital: one must go
    out = tmp_path / "out"
    done = cli("run", path, "--out", out)
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert _formula_cells(out / "report.xlsx") == []
    changes = openpyxl.load_workbook(out / "report.xlsx")["Changes"]
    cells = [c.value for row in changes.iter_rows() for c in row]
    assert ("-B" in cells and "@Beta" in cells) or HOSTILE in cells, cells  # whichever was dropped, as text
    data = (out / "changes.csv").read_bytes()
    assert b"'-B" in data or b"A," in data
    assert not any(line.startswith((b"-", b"=", b"+", b"@")) for line in data.split(b"\r\n"))


def test_a_re_plan_never_replaces_the_result_folder_holding_its_approved_plan(tmp_path):
    """The planning cycle's approved plan is often our own plan.csv: `run --out` that folder would
    have replaced it (the folder is ours) and lost the re-plan's input."""
    first = write_case(tmp_path / "case", TABLES)
    out = tmp_path / "results"
    assert cli("run", first, "--out", out).returncode == 0
    replan = named_case(tmp_path / "replan", "replan", TABLES, {"approved_plan": str(out / "plan.csv")})
    before = checksums(out)
    done = cli("run", replan, "--out", out)
    no_traceback(done)
    assert done.returncode == 1 and "holds your input" in done.stderr, done.stderr
    assert checksums(out) == before
