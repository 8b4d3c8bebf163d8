"""Validation at the boundary: every problem at once, each naming file, row and column.

Each test starts from a small valid portfolio (BASE), breaks one thing, and checks that
`prioritiser.validate` names the exact file, row (header = row 1) and column, with a plain
message. The last tests feed garbage and check that no traceback ever escapes.
"""
from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pandas as pd
import pytest
import yaml

import prioritiser
import prioritiser.schema  # the declarations the header-typo cases are drawn from
from conftest import run_cli, write_case
from prioritiser import Issue

# A valid portfolio over 8 quarters (2026/27 Q1 .. 2027/28 Q4); every used resource is limited.
BASE = {
    "initiatives": """
        id,name,duration,earliest_start,latest_finish,mandatory,capital_cost,revenue_cost,running_cost,benefit
        A,Alpha,2,,,false,1000,100,10,500
        B,Beta,1,,,false,500,0,0,200
        C,Gamma,3,2026/27 Q2,2027/28 Q4,false,0,0,0,300
        """,
    "resources": """
        resource,kind,external_cost,external_max
        capital,money,0,0
        revenue,money,0,0
        developer,staff,100,1
        """,
    "demands": """
        initiative,resource,offset,amount
        A,developer,build,1
        C,developer,0,0.5
        """,
    "capacity": """
        resource,period,amount
        capital,2026/27,5000
        capital,2027/28,5000
        revenue,2026/27,1000
        revenue,2027/28,1000
        developer,2026/27,8
        developer,2027/28,8
        """,
    "dependencies": """
        predecessor,successor,type,lag
        A,B,finish_to_start,0
        """,
    "funding": """
        source,resource,period,amount,milestone
        fund,capital,2027/28,1000,A
        """,
}
HORIZON = {"start": "2026/27 Q1", "periods": 8, "granularity": "quarter"}


def csv_text(text: str) -> str:
    return dedent(text).strip() + "\n"


def edit(name: str, old: str, new: str) -> str:
    """BASE[name] with one piece of text replaced (the piece must be there)."""
    text = csv_text(BASE[name])
    assert old in text, f"{old!r} not in {name}"
    return text.replace(old, new, 1)


def add_rows(name: str, *rows: str) -> str:
    return csv_text(BASE[name]) + "".join(r + "\n" for r in rows)


def write_base(tmp_path: Path, scenario: dict | None = None, **tables: str | bytes | None) -> Path:
    """BASE with `tables` replacing some tables (None drops one) and a scenario.yaml; return its path."""
    return write_case(tmp_path, {**BASE, **tables}, {"horizon": dict(HORIZON), **(scenario or {})}, name=None,
                      defaults=None, file="scenario.yaml")


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


def the_issue(issues: list[Issue], where: str, row: int | None, column: str | None, phrase: str,
              severity: str = "error") -> Issue:
    """The one issue at (where, row, column); its message holds `phrase`."""
    def at(i):  # a scenario file is named by its path; compare the file name
        return i.where == where or (where.endswith(".yaml") and Path(i.where).name == where)

    here = [i for i in issues if at(i) and i.row == row and i.column == column and i.severity == severity]
    assert len(here) == 1, f"expected one {severity} at {where}, row {row}, column {column}; got:\n" + \
        "\n".join(map(str, issues))
    assert phrase.lower() in here[0].message.lower(), str(here[0])
    return here[0]


# ---------------------------------------------------------------- the valid base


def test_base_portfolio_is_valid(tmp_path):
    assert prioritiser.validate(write_base(tmp_path)) == []
    p = prioritiser.load(write_base(tmp_path))
    assert list(p.ids) == ["A", "B", "C"]


# ---------------------------------------------------------------- one test per error class


def test_missing_required_column(tmp_path):
    text = "id,name,capital_cost\nA,Alpha,1000\nB,Beta,500\nC,Gamma,0\n"
    issues = prioritiser.validate(write_base(tmp_path, initiatives=text))
    the_issue(issues, "initiatives.csv", 1, "duration", "required column 'duration' is missing")
    # reported once for the column, not once more for every row
    assert [i for i in issues if i.column == "duration"] == [i for i in issues if i.row == 1]
    # a misspelt header gets a suggestion
    text = "id,name,duraton\nA,Alpha,2\nB,Beta,1\nC,Gamma,3\n"
    issues = prioritiser.validate(write_base(tmp_path, initiatives=text))
    the_issue(issues, "initiatives.csv", 1, "duration", "did you mean 'duraton'?")


def test_misspelt_optional_column_is_an_error(tmp_path):
    # Issue 7: a header typo used to be a warning, and capital became 0 everywhere in a published plan.
    text = edit("initiatives", "capital_cost", "captial_cost")
    path = write_base(tmp_path, initiatives=text, capacity=add_rows("capacity"))
    issues = prioritiser.validate(path)
    issue = the_issue(issues, "initiatives.csv", 1, "captial_cost", "did you mean 'capital_cost'?")
    assert "read as 0 on every row" in issue.message
    assert len(errors(issues)) == 1
    with pytest.raises(prioritiser.InputError):
        prioritiser.load(path)


def test_duplicate_ids(tmp_path):
    issues = prioritiser.validate(write_base(tmp_path, initiatives=add_rows("initiatives", "A,Again,1,,,,,,,")))
    issue = the_issue(issues, "initiatives.csv", 5, "id", "duplicate id 'A'")
    assert "row 2" in issue.message
    assert len(errors(issues)) == 1


def test_duplicate_resources(tmp_path):
    issues = prioritiser.validate(write_base(tmp_path, resources=add_rows("resources", "developer,staff,0,0")))
    the_issue(issues, "resources.csv", 5, "resource", "duplicate resource 'developer'")


def test_ids_named_but_not_defined(tmp_path):
    issues = prioritiser.validate(write_base(
        tmp_path,
        demands=add_rows("demands", "Z9,developer,build,1"),
        dependencies=add_rows("dependencies", "B,NOPE,requires,0"),
        funding=edit("funding", "1000,A", "1000,GHOST"),
    ))
    the_issue(issues, "demands.csv", 4, "initiative", "initiative 'Z9' is not defined")
    the_issue(issues, "dependencies.csv", 3, "successor", "'NOPE' is not defined")
    the_issue(issues, "funding.csv", 2, "milestone", "'GHOST' is not defined")
    assert len(errors(issues)) == 3


def test_resources_named_but_not_defined(tmp_path):
    issues = prioritiser.validate(write_base(
        tmp_path,
        demands=add_rows("demands", "B,tester,0,1"),
        capacity=add_rows("capacity", "trainer,2026/27,4"),
    ))
    the_issue(issues, "demands.csv", 4, "resource", "resource 'tester' is not defined")
    the_issue(issues, "capacity.csv", 8, "resource", "resource 'trainer' is not defined")


@pytest.mark.parametrize("table, old, new, row, column, phrase", [
    ("initiatives", "A,Alpha,2,", "A,Alpha,two,", 2, "duration", "'two' is not a whole number"),
    ("initiatives", "B,Beta,1,", "B,Beta,1.5,", 3, "duration", "'1.5' is not a whole number"),
    ("initiatives", "500,0,0,200", '"£1,500",0,0,200', 3, "capital_cost", "no £ sign or commas"),
    ("initiatives", ",,false,1000", ",,maybe,1000", 2, "mandatory", "'maybe' is not true or false"),
    ("capacity", "revenue,2026/27,1000", "revenue,2026/27,lots", 4, "amount", "'lots' is not a number"),
    ("dependencies", "finish_to_start,0", "finish_to_begin,0", 2, "type", "not one of"),
    ("demands", "C,developer,0,0.5", "C,developer,first,0.5", 3, "offset", "'first' is not a whole number"),
    ("initiatives", "1000,100,10,500", "inf,100,10,500", 2, "capital_cost", "'inf' is not a number"),
])
def test_wrong_types(tmp_path, table, old, new, row, column, phrase):
    issues = prioritiser.validate(write_base(tmp_path, **{table: edit(table, old, new)}))
    the_issue(issues, f"{table}.csv", row, column, phrase)
    assert len(errors(issues)) == 1


@pytest.mark.parametrize("table, old, new, row, column", [
    ("initiatives", "B,Beta,1,,,false,500", "B,Beta,1,,,false,-500", 3, "capital_cost"),
    ("initiatives", "0,0,0,300", "0,0,-1,300", 4, "running_cost"),
    ("capacity", "capital,2027/28,5000", "capital,2027/28,-5000", 3, "amount"),
    ("demands", "A,developer,build,1", "A,developer,build,-1", 2, "amount"),
    ("funding", "1000,A", "-1000,A", 2, "amount"),
])
def test_negative_amounts(tmp_path, table, old, new, row, column):
    issues = prioritiser.validate(write_base(tmp_path, **{table: edit(table, old, new)}))
    the_issue(issues, f"{table}.csv", row, column, "is negative")


def test_duration_below_one(tmp_path):
    issues = prioritiser.validate(write_base(tmp_path, initiatives=edit("initiatives", "B,Beta,1,", "B,Beta,0,")))
    the_issue(issues, "initiatives.csv", 3, "duration", "must be at least 1")
    assert len(errors(issues)) == 1


@pytest.mark.parametrize("table, old, new, row, column, phrase", [
    ("initiatives", "C,Gamma,3,2026/27 Q2", "C,Gamma,3,Q2 2026", 4, "earliest_start", "not a quarter label"),
    ("initiatives", ",2027/28 Q4,false", ",2027/28 Q5,false", 4, "latest_finish", "not a quarter label"),
    ("initiatives", "C,Gamma,3,2026/27 Q2", "C,Gamma,3,2026/27", 4, "earliest_start", "financial year is not allowed"),
    ("capacity", "capital,2027/28,", "capital,2027-28,", 3, "period", "not a quarter or financial-year label"),
    ("funding", "fund,capital,2027/28", "fund,capital,2027/29", 2, "period", "not a quarter or financial-year"),
])
def test_bad_period_labels(tmp_path, table, old, new, row, column, phrase):
    issues = prioritiser.validate(write_base(tmp_path, **{table: edit(table, old, new)}))
    the_issue(issues, f"{table}.csv", row, column, phrase)


@pytest.mark.parametrize("table, old, new, row, column, phrase", [
    ("initiatives", "C,Gamma,3,2026/27 Q2", "C,Gamma,3,2028/29 Q1", 4, "earliest_start", "outside the horizon"),
    ("initiatives", "C,Gamma,3,2026/27 Q2", "C,Gamma,3,2025/26 Q4", 4, "earliest_start", "outside the horizon"),
    ("initiatives", ",2027/28 Q4,false", ",2025/26 Q4,false", 4, "latest_finish", "before the horizon starts"),
    ("capacity", "revenue,2027/28,", "revenue,2030/31,", 5, "period", "outside the horizon"),
    ("capacity", "capital,2026/27,", "capital,2025/26 Q3,", 2, "period", "outside the horizon"),
])
def test_out_of_horizon_period_labels(tmp_path, table, old, new, row, column, phrase):
    issues = prioritiser.validate(write_base(tmp_path, **{table: edit(table, old, new)}))
    issue = the_issue(issues, f"{table}.csv", row, column, phrase)
    assert "2026/27 Q1" in issue.message  # says where the horizon is


def test_latest_finish_no_start_can_meet(tmp_path):
    # C builds for 3 quarters from 2026/27 Q2 at the earliest: Q2, Q3, Q4. Finishing by Q3 is impossible.
    issues = prioritiser.validate(write_base(
        tmp_path, initiatives=edit("initiatives", ",2027/28 Q4,false", ",2026/27 Q3,false")))
    issue = the_issue(issues, "initiatives.csv", 4, "latest_finish", "no start can meet latest_finish 2026/27 Q3")
    assert "2026/27 Q4" in issue.message
    assert len(errors(issues)) == 1
    # ... while finishing exactly in Q4 is fine
    assert prioritiser.validate(write_base(
        tmp_path, initiatives=edit("initiatives", ",2027/28 Q4,false", ",2026/27 Q4,false"))) == []


def test_dependency_cycle_is_named(tmp_path):
    deps = add_rows("dependencies", "B,C,start_to_start,0", "C,A,requires,0", "A,C,excludes,0")
    issues = prioritiser.validate(write_base(tmp_path, dependencies=deps))
    the_issue(issues, "dependencies.csv", 2, "successor", "dependency cycle: A -> B -> C -> A")
    assert len(errors(issues)) == 1


def test_dependency_on_itself(tmp_path):
    issues = prioritiser.validate(write_base(tmp_path, dependencies=add_rows("dependencies", "B,B,requires,0")))
    the_issue(issues, "dependencies.csv", 3, "successor", "depends on itself")
    assert len(errors(issues)) == 1  # not reported a second time as a cycle


def test_funding_without_capacity_row(tmp_path):
    funding = edit("funding", "capital,2027/28,", "capital,2027/28 Q2,")
    issues = prioritiser.validate(write_base(tmp_path, funding=funding))
    issue = the_issue(issues, "funding.csv", 2, "period", "no capacity row for capital in 2027/28 Q2")
    assert "capacity.csv" in issue.message
    assert len(errors(issues)) == 1


def test_mandatory_or_forced_in_also_forced_out(tmp_path):
    path = write_base(tmp_path, {"force_in": ["B"], "force_out": ["A", "B"]},
                      initiatives=edit("initiatives", "A,Alpha,2,,,false", "A,Alpha,2,,,true"))
    issues = prioritiser.validate(path)
    found = [i for i in issues if i.column == "force_out"]
    assert len(found) == 2 and all(i.where == "scenario.yaml" or Path(i.where).name == "scenario.yaml" for i in found)
    assert found[0].row is None
    assert "'A' is mandatory (initiatives.csv, row 2) and also in force_out" in found[0].message
    assert "'B' is in force_in and also in force_out" in found[1].message


def test_must_select_items_that_exclude_each_other(tmp_path):
    path = write_base(tmp_path, {"force_in": ["C"]},
                      initiatives=edit("initiatives", "A,Alpha,2,,,false", "A,Alpha,2,,,yes"),
                      dependencies=add_rows("dependencies", "C,A,excludes,0"))
    issues = prioritiser.validate(path)
    issue = the_issue(issues, "dependencies.csv", 3, "type", "'C' and 'A' exclude each other")
    assert "mandatory" in issue.message and "force_in" in issue.message
    assert len(errors(issues)) == 1


def test_must_select_needing_forced_out_is_a_warning(tmp_path):
    # B is forced in and needs A (finish_to_start), which is forced out: no plan exists, but that is
    # for the solver to report as infeasible; validation warns and names the chain.
    issues = prioritiser.validate(write_base(tmp_path, {"force_in": ["B"], "force_out": ["A"]}))
    assert errors(issues) == []
    issue = the_issue(issues, "scenario.yaml", None, "force_out", "'B' must be selected and needs it",
                      severity="warning")
    assert issue.message.startswith("'A' is forced out")
    # through a chain: C needs B needs A, with C forced in
    deps = add_rows("dependencies", "B,C,requires,0")
    issues = prioritiser.validate(write_base(tmp_path, {"force_in": ["C"], "force_out": ["A"]}, dependencies=deps))
    issue = the_issue(issues, "scenario.yaml", None, "force_out", "(C needs B needs A)", severity="warning")


def test_warning_for_periods_with_no_limit(tmp_path):
    capacity = edit("capacity", "developer,2027/28,8\n", "developer,2027/28 Q2,2\n")
    path = write_base(tmp_path, capacity=capacity)
    issues = prioritiser.validate(path)
    issue = the_issue(issues, "capacity.csv", None, "resource", "developer has no limit in 3 of the 8 periods",
                      severity="warning")
    assert "2027/28 Q1, 2027/28 Q3 .. 2027/28 Q4" in issue.message
    assert errors(issues) == []
    # a warning does not stop a load
    assert prioritiser.load(path).warnings == issues
    # a resource that has some limits is warned about even before anything uses it
    path = write_base(tmp_path, resources=add_rows("resources", "trainer,staff,0,0"),
                      capacity=add_rows("capacity", "trainer,2026/27 Q1,1"))
    issue = the_issue(prioritiser.validate(path), "capacity.csv", None, "resource", "trainer has no limit in 7",
                      severity="warning")
    assert "(2026/27 Q2 .. 2027/28 Q4)" in issue.message


# ---------------------------------------------------------------- one pass, workbooks, the command line


def test_every_error_in_every_file_in_one_pass(tmp_path):
    path = write_base(
        tmp_path, {"force_out": ["NOBODY"], "horizn": {"start": "2026/27 Q1"}},
        initiatives=add_rows("initiatives", "B,Dup,1,,,,,,,"),
        capacity=edit("capacity", "revenue,2026/27,1000", "revenue,2026/27,-1"),
        dependencies=add_rows("dependencies", "B,NOPE,requires,0"),
        demands=b"\x00\x01\x02binary\xff\xfe",
    )
    issues = prioritiser.validate(path)
    places = {(Path(i.where).name, i.row, i.column) for i in errors(issues)}
    assert ("scenario.yaml", None, "horizn") in places  # unknown scenario key
    assert ("scenario.yaml", None, "force_out") in places  # unknown initiative in force_out
    assert ("initiatives.csv", 5, "id") in places
    assert ("capacity.csv", 4, "amount") in places
    assert ("dependencies.csv", 3, "successor") in places
    assert ("demands.csv", None, None) in places  # unreadable file
    assert len(errors(issues)) == 6
    horizn = next(i for i in issues if i.column == "horizn")
    assert "did you mean 'horizon'" in horizn.message


def test_xlsx_workbook_names_sheet_and_row(tmp_path):
    book = tmp_path / "trust.xlsx"
    with pd.ExcelWriter(book) as writer:
        for name, text in BASE.items():
            text = edit("initiatives", "B,Beta,1,", "B,Beta,-2,") if name == "initiatives" else text
            frame = pd.read_csv(pd.io.common.StringIO(csv_text(text)), dtype=str, keep_default_na=False)
            frame.to_excel(writer, sheet_name=name, index=False)
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump({"portfolio": "trust.xlsx", "horizon": HORIZON}))
    issues = prioritiser.validate(path)
    the_issue(issues, "trust.xlsx, sheet initiatives", 3, "duration", "must be at least 1")
    assert len(errors(issues)) == 1


def test_xlsx_without_required_sheet(tmp_path):
    book = tmp_path / "trust.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"id": ["A"], "duration": [1]}).to_excel(writer, sheet_name="Sheet1", index=False)
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump({"portfolio": "trust.xlsx", "horizon": HORIZON}))
    issues = prioritiser.validate(path)
    issue = the_issue(issues, "trust.xlsx, sheet initiatives", None, None, "the initiatives sheet is required")
    assert "Sheet1" in issue.message


def test_cli_validate_exit_codes(tmp_path):
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    good = write_base(tmp_path / "good")
    done = run_cli("validate", good)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s)" in done.stdout

    bad = write_base(tmp_path / "bad",
                     initiatives=edit("initiatives", "B,Beta,1,", "B,Beta,0,"),
                     capacity=edit("capacity", "capital,2027/28,", "capital,2027-28,"))
    done = run_cli("validate", bad)
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert "ERROR: initiatives.csv, row 3, column duration:" in done.stdout
    assert "ERROR: capacity.csv, row 3, column period:" in done.stdout
    assert "2 error(s)" in done.stdout


# ---------------------------------------------------------------- garbage in: issues out, never a traceback


def _garbage_cases(tmp_path: Path) -> dict[str, Path]:
    cases = {}

    def case(name, scenario=None, raw_yaml=None, **tables):
        folder = tmp_path / name
        folder.mkdir()
        path = write_base(folder, scenario, **tables)
        if raw_yaml is not None:
            path.write_bytes(raw_yaml)
        cases[name] = path

    case("empty_initiatives", initiatives=b"")
    case("binary_capacity", capacity=bytes(range(256)) * 8)
    case("xlsx_named_csv", capacity=b"PK\x03\x04" + b"\x00" * 64)
    case("header_only_initiatives", initiatives="id,name,duration\n")
    case("semicolons", initiatives="id;name;duration\nA;Alpha;2\n")
    case("ragged_row", capacity="resource,period,amount\ncapital,2026/27,5,extra,cells\n")
    case("unclosed_quote", initiatives='id,name,duration\nA,"Alpha,2\nB,Beta,1\n')
    case("no_initiatives_file", initiatives=None)
    case("scenario_is_a_list", raw_yaml=b"- portfolio: portfolio\n- horizon: 1\n")
    case("scenario_is_a_number", raw_yaml=b"42\n")
    case("scenario_bad_yaml", raw_yaml=b"horizon: {start: [\n")
    case("scenario_binary", raw_yaml=bytes(range(256)))
    case("missing_horizon", raw_yaml=b"portfolio: portfolio\n")
    case("horizon_not_mapping", raw_yaml=b"portfolio: portfolio\nhorizon: soon\n")
    case("horizon_huge", {"horizon": {"start": "2026/27 Q1", "periods": 10**9}})
    case("horizon_nan", {"horizon": {"start": "2026/27 Q1", "periods": float("nan")}})
    case("horizon_bad_start", {"horizon": {"start": 2026, "periods": 8}})
    case("portfolio_missing", {"portfolio": "nowhere"})
    case("portfolio_not_text", {"portfolio": ["a", "b"]})
    case("portfolio_wrong_kind", {"portfolio": "scenario.yaml"})
    case("adjustments_junk", {"adjustments": [1, {"resource": 5}, {"resource": "capital", "scale": "half"},
                                              {"resource": "capital", "add": 1, "from": "never"}]})
    case("weights_junk", {"objective": {"weights": [1, 2], "discount_rate": "3.5%", "alignment_weights": 7}})
    case("force_lists_junk", {"force_in": {"a": 1}, "force_out": [[1]]})
    case("extends_missing", {"extends": "nowhere.yaml"})
    case("every_cell_blank", initiatives="id,duration\n,\n,\n")
    (tmp_path / "junk_book.xlsx").write_bytes(b"not a workbook at all")
    case("junk_xlsx", {"portfolio": "../junk_book.xlsx"})
    cases["scenario_is_a_folder"] = tmp_path / "empty_initiatives"
    cases["scenario_not_there"] = tmp_path / "no-such-scenario.yaml"
    return cases


def test_garbage_gives_issues_not_tracebacks(tmp_path):
    for name, path in _garbage_cases(tmp_path).items():
        issues = prioritiser.validate(path)
        assert errors(issues), f"{name}: no error reported"
        assert all(isinstance(i, Issue) and i.message for i in issues), name
        for i in issues:
            assert "unexpected problem" not in i.message, f"{name}: {i}"  # the safety net was not needed
        with pytest.raises(prioritiser.InputError):
            prioritiser.load(path)


@pytest.mark.parametrize("name", ["empty_initiatives", "binary_capacity", "header_only_initiatives", "semicolons",
                                  "scenario_is_a_list", "missing_horizon", "scenario_binary", "junk_xlsx",
                                  "scenario_is_a_folder"])
def test_garbage_on_the_command_line(tmp_path, name):
    path = _garbage_cases(tmp_path)[name]
    done = run_cli("validate", path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "ERROR:" in done.stdout


def test_garbage_messages_are_plain(tmp_path):
    cases = _garbage_cases(tmp_path)

    def messages(name):
        return " | ".join(str(i) for i in prioritiser.validate(cases[name]))

    assert "empty" in messages("empty_initiatives")
    assert "binary" in messages("binary_capacity")
    assert "Excel workbook" in messages("xlsx_named_csv")
    assert "no initiatives" in messages("header_only_initiatives")
    assert "separated by semicolons" in messages("semicolons")
    assert "more cells than the header" in messages("ragged_row")
    assert "must be a mapping" in messages("scenario_is_a_list")
    assert "horizon.start" in messages("missing_horizon") and "horizon.periods" in messages("missing_horizon")
    assert "at most 1200" in messages("horizon_huge")
    assert "portfolio not found" in messages("portfolio_missing")
    assert "not found" in messages("extends_missing") and "key extends" in messages("extends_missing")
    assert "cannot be opened as an Excel workbook" in messages("junk_xlsx")
    assert "is a folder" in messages("scenario_is_a_folder")


# ---------------------------------------------------------------- misspelt headers (issue 7)


# Tables of format v1.1 that BASE leaves out (a small valid one each), for the tests that go through every table.
OPTIONAL_TABLES = {"training": """
        initiative,staff_group,headcount,hours_each
        A,nurses,10,2
        """}


def _with_column(name: str, column: str) -> str:
    """BASE[name] with `column` in its header (added with a value on every row when BASE lacks it)."""
    lines = csv_text(BASE.get(name) or OPTIONAL_TABLES[name]).splitlines()
    if column not in lines[0].split(","):
        lines = [lines[0] + f",{column}"] + [line + ",0" for line in lines[1:]]
    return "\n".join(lines) + "\n"


def _rename_header(text: str, old: str, new: str) -> str:
    header, rest = text.split("\n", 1)
    cells = header.split(",")
    cells[cells.index(old)] = new
    return ",".join(cells) + "\n" + rest


def _swapped(name: str) -> str:
    """`name` with two neighbouring letters swapped (one typo), or a plural for a short name."""
    if len(name.replace("_", "")) < 5:
        return name + "s"
    for i in range(2, len(name) - 1):
        if name[i] != name[i + 1] and "_" not in name[i:i + 2]:
            return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    raise AssertionError(name)


def _header_typos():
    cases = []
    for table in prioritiser.schema.TABLES.values():
        for col in table.columns:
            if not (col.required or col.type == "money"):
                continue
            variants = [_swapped(col.name)]
            if "_" in col.name:
                variants += [col.name.replace("_", ""), col.name.replace("_", "-").title()]  # capitalcost, Capital-Cost
            cases += [pytest.param(table.name, col.name, typo, id=f"{table.name}-{typo}") for typo in variants]
    return cases


@pytest.mark.parametrize("table, column, typo", _header_typos())
def test_misspelt_header_is_one_error_naming_file_column_and_known_name(tmp_path, table, column, typo):
    text = _rename_header(_with_column(table, column), column, typo)
    issues = prioritiser.validate(write_base(tmp_path, **{table: text}))
    (issue,) = errors(issues)  # one error: no follow-on errors from the column read as missing
    assert (issue.where, issue.row) == (f"{table}.csv", 1), str(issue)
    if prioritiser.schema.TABLES[table].column(column).required:
        assert issue.column == column  # the missing required column, with the header that was meant as it
        assert f"required column {column!r} is missing; did you mean {typo!r}?" in issue.message
    else:
        assert issue.column == typo  # the header as the file has it, and the name it should have
        assert f"column {typo!r} is not one prioritiser reads; did you mean {column!r}?" in issue.message
    with pytest.raises(prioritiser.InputError):
        prioritiser.load(write_base(tmp_path, **{table: text}))


def test_misspelt_header_in_a_workbook_names_the_sheet(tmp_path):
    book = tmp_path / "trust.xlsx"
    with pd.ExcelWriter(book) as writer:
        for name, text in BASE.items():
            text = _rename_header(csv_text(text), "capital_cost", "Captial Cost") if name == "initiatives" else text
            frame = pd.read_csv(pd.io.common.StringIO(csv_text(text)), dtype=str, keep_default_na=False)
            frame.to_excel(writer, sheet_name=name, index=False)
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump({"portfolio": "trust.xlsx", "horizon": HORIZON}))
    (issue,) = errors(prioritiser.validate(path))
    assert (issue.where, issue.row, issue.column) == ("trust.xlsx, sheet initiatives", 1, "Captial Cost")
    assert "did you mean 'capital_cost'?" in issue.message


def test_a_header_written_twice_in_two_spellings_is_an_error(tmp_path):
    text = csv_text(BASE["initiatives"]).replace("benefit\n", "benefit,Benefit \n", 1)
    text = "\n".join(line + ",5" if n else line for n, line in enumerate(text.splitlines())) + "\n"
    (issue,) = errors(prioritiser.validate(write_base(tmp_path, initiatives=text)))
    assert (issue.where, issue.column) == ("initiatives.csv", "Benefit")
    assert "'benefit' is there too" in issue.message


def test_other_columns_pass_through_and_are_listed_once(tmp_path):
    # 'rank' is one letter from nothing prioritiser reads long enough to be a typo ('ramp' is two away);
    # 'cost_centre' and 'owner' are plainly the trust's own
    text = "\n".join(line + (",owner,rank" if n == 0 else f",Jo {n},{n}")
                     for n, line in enumerate(csv_text(BASE["initiatives"]).splitlines())) + "\n"
    resources = csv_text(BASE["resources"]).replace("external_max\n", "external_max,cost_centre\n", 1)
    resources = resources.replace(",1\n", ",1,CC-12\n")
    path = write_base(tmp_path, initiatives=text, resources=resources)
    assert prioritiser.validate(path) == []
    p = prioritiser.load(path)
    assert p.passthrough_columns == {"initiatives": ["owner", "rank"], "resources": ["cost_centre"]}
    assert list(p.initiatives["owner"]) == ["Jo 1", "Jo 2", "Jo 3"]
    assert list(p.initiatives["rank"]) == ["1", "2", "3"] and list(p.initiatives["ramp"]) == [0, 0, 0]
    assert p.resources.loc["developer", "cost_centre"] == "CC-12"
    from prioritiser.report import summary_dict

    summary = summary_dict(prioritiser.run(path))
    assert summary["passthrough_columns"] == {"initiatives": ["owner", "rank"], "resources": ["cost_centre"]}
    assert summary["warnings"] == []


# ---------------------------------------------------------------- one error, not a flood (issue 11)


SAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "sample-trust"


def _sample_case(tmp_path: Path, folder: str | None = None) -> Path:
    """A copy of the sample trust's portfolio (to break) and a scenario over it."""
    import shutil

    target = tmp_path / "trust"
    shutil.copytree(SAMPLE, target)
    doc = yaml.safe_load((SAMPLE.parent / "baseline.yaml").read_text())
    doc["portfolio"] = folder or "trust"
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_sample_trust_with_header_only_initiatives_gives_one_error(tmp_path):
    path = _sample_case(tmp_path)
    ini = tmp_path / "trust" / "initiatives.csv"
    ini.write_text(ini.read_text().splitlines()[0] + "\n")
    issues = prioritiser.validate(path)
    assert len(issues) == 1  # was 294: every demand, dependency and milestone naming an unknown initiative
    the_issue(issues, "initiatives.csv", 2, None, "there are no initiatives")


def test_sample_trust_workbook_with_a_misnamed_sheet_gives_one_error(tmp_path):
    book = tmp_path / "trust.xlsx"
    with pd.ExcelWriter(book) as writer:
        for csv_path in sorted(SAMPLE.glob("*.csv")):
            sheet = "Initiative" if csv_path.stem == "initiatives" else csv_path.stem
            pd.read_csv(csv_path, dtype=str, keep_default_na=False).to_excel(writer, sheet_name=sheet, index=False)
    path = _sample_case(tmp_path, "trust.xlsx")
    issues = prioritiser.validate(path)
    assert len(issues) == 1
    issue = the_issue(issues, "trust.xlsx, sheet initiatives", None, None, "the initiatives sheet is required")
    assert "did you mean 'Initiative'? (rename the sheet initiatives)" in issue.message


@pytest.mark.parametrize("wrong", ["initatives.csv", "Initiative.csv", "initiatives.txt"])
def test_misnamed_initiatives_file_gives_one_error_with_a_suggestion(tmp_path, wrong):
    path = _sample_case(tmp_path)
    (tmp_path / "trust" / "initiatives.csv").rename(tmp_path / "trust" / wrong)
    issues = prioritiser.validate(path)
    assert len(issues) == 1
    issue = the_issue(issues, "initiatives.csv", None, None, "the initiatives table is required")
    assert f"did you mean {wrong!r}? (rename it initiatives.csv)" in issue.message


def test_misnamed_optional_table_is_one_error_at_the_file(tmp_path):
    path = _sample_case(tmp_path)
    (tmp_path / "trust" / "resources.csv").rename(tmp_path / "trust" / "Resource.csv")
    issues = prioritiser.validate(path)
    assert len(issues) == 1  # not one per demand and capacity row naming a staff role
    the_issue(issues, "Resource.csv", None, None, "if it holds the resources table, rename it resources.csv")


def test_no_resources_table_with_staff_named_gives_one_error(tmp_path):
    path = _sample_case(tmp_path)
    (tmp_path / "trust" / "resources.csv").unlink()
    issues = prioritiser.validate(path)
    assert len(issues) == 1
    issue = the_issue(issues, "resources.csv", None, None, "there is no resources table")
    assert "demands.csv and capacity.csv name 'project_manager', 'developer'" in issue.message


def test_header_only_or_missing_capacity_gives_one_error(tmp_path):
    path = write_base(tmp_path, capacity="resource,period,amount\n")
    issues = prioritiser.validate(path)
    assert len(issues) == 1  # no "no capacity row" for the funding, no coverage warnings
    the_issue(issues, "capacity.csv", 2, None, "there are no capacity rows")
    path = write_base(tmp_path, capacity=None)
    (tmp_path / "portfolio" / "capacity.csv").unlink()
    issues = prioritiser.validate(path)
    assert len(issues) == 1
    the_issue(issues, "capacity.csv", None, None, "the capacity table is required")


def test_a_table_without_its_key_column_gives_one_error(tmp_path):
    issues = prioritiser.validate(write_base(tmp_path, initiatives=_rename_header(csv_text(BASE["initiatives"]),
                                                                                  "id", "code")))
    assert len(errors(issues)) == 1  # not one per demand, dependency and milestone naming A, B or C
    the_issue(issues, "initiatives.csv", 1, "id", "required column 'id' is missing")
    issues = prioritiser.validate(write_base(tmp_path, capacity=_rename_header(csv_text(BASE["capacity"]),
                                                                               "period", "when")))
    assert len(errors(issues)) == 1  # not "no capacity row" for the funding row
    the_issue(issues, "capacity.csv", 1, "period", "required column 'period' is missing")


def test_an_undefined_name_on_many_rows_is_one_error_listing_them(tmp_path):
    capacity = csv_text(BASE["capacity"]).replace("developer,", "develper,")
    issues = prioritiser.validate(write_base(tmp_path, capacity=capacity))
    issue = the_issue(issues, "capacity.csv", 6, "resource", "resource 'develper' is not defined")
    assert "(also on rows 7)" in issue.message
    assert len(errors(issues)) == 1
    assert [i for i in issues if i.severity == "warning"] == []  # its coverage is unknown, not missing


def test_labels_of_another_granularity_are_one_error_per_column(tmp_path):
    path = write_base(tmp_path, {"horizon": {"start": "2026/27", "periods": 2, "granularity": "year"}},
                      initiatives=csv_text(BASE["initiatives"]).replace(",,,false", ",2026/27 Q3,,false"),
                      capacity=add_rows("capacity", "developer,2026/27 Q1,1", "developer,2026/27 Q2,1",
                                        "developer,2026/27 Q3,1"))
    issues = errors(prioritiser.validate(path))
    assert [(i.where, i.row, i.column) for i in issues] == [("initiatives.csv", 2, "earliest_start"),
                                                            ("initiatives.csv", 4, "latest_finish"),
                                                            ("capacity.csv", 8, "period")]
    assert "these are quarter labels (e.g. '2026/27 Q3'), but the horizon is in years" in issues[0].message
    assert "set horizon.granularity: quarter" in issues[0].message and "rows 2, 3, 4" in issues[0].message
    assert "'2027/28 Q4' is not a year label" in issues[1].message  # one such label is just a wrong label
    assert "rows 8, 9, 10" in issues[2].message
