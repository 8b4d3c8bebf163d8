"""Issue 8, bounded reading: small hostile or mistaken files are refused in seconds, with a message
naming the limit and the environment variable that raises it; XML entities, absurd magnitudes and
control characters are validation errors naming file, row and column (or key path).

Every case here once hung, exhausted memory or ended in a traceback (the issue's list of defects).
"""
from __future__ import annotations

import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

import prioritiser
from prioritiser.engine import run
from prioritiser.scenario import read_scenario
from test_validation import BASE, HORIZON, csv_text, edit, errors, the_issue, write_base

SECONDS = 20  # "refused in seconds": generous for a loaded 2-core machine; the failures ran for minutes


def timed_validate(path):
    t0 = time.perf_counter()
    issues = prioritiser.validate(path)
    return issues, time.perf_counter() - t0


def workbook(tmp_path: Path, name: str = "trust.xlsx") -> Path:
    """BASE as one .xlsx workbook, a sheet per table; and scenario.yaml pointing at it."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for table, text in BASE.items():
        sheet = book.create_sheet(table)
        for line in csv_text(text).splitlines():
            sheet.append(line.split(","))
    path = tmp_path / name
    book.save(path)
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump({"portfolio": name, "horizon": HORIZON}))
    return path


def add_part(book: Path, part: str, data: bytes, replace: bool = False) -> None:
    """Rewrite the workbook's zip with `part` added (or replacing the part of that name)."""
    tmp = book.with_suffix(".tmp")
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for item in src.infolist():
            if not (replace and item.filename == part):
                dst.writestr(item, src.read(item))
        dst.writestr(part, data)
    tmp.replace(book)


def one_error(issues, where: str, phrase: str):
    """The error at `where` (a scenario file by its name) whose message holds `phrase`."""
    errs = [i for i in errors(issues) if phrase in i.message and
            (i.where == where or (where.endswith(".yaml") and Path(i.where).name == where))]
    assert errs, "\n".join(map(str, issues))
    return errs[0]


# ----------------------------------------------------------------------------- workbooks


def test_xlsx_comment_bomb_is_refused_in_seconds(tmp_path):
    """The issue's 1.6 MB workbook whose comment inflates to 1.6 GB ran for over 900 s. Here a comment
    part of 400 MB (about 0.4 MB compressed) is refused from the zip's declared sizes alone."""
    book = workbook(tmp_path)
    add_part(book, "xl/comments1.xml", b"<comments>" + b" " * 400_000_000 + b"</comments>")
    assert book.stat().st_size < 3_000_000
    issues, seconds = timed_validate(tmp_path / "scenario.yaml")
    issue = one_error(issues, "trust.xlsx", "once uncompressed")
    assert "PRIORITISER_MAX_XLSX_MB" in issue.message and "limit of 200 MB" in issue.message
    assert seconds < SECONDS


def test_xlsx_inflating_part_is_refused_by_its_ratio(tmp_path, monkeypatch):
    book = workbook(tmp_path)
    add_part(book, "xl/comments1.xml", b"<comments>" + b" " * 20_000_000 + b"</comments>")
    issue = one_error(prioritiser.validate(tmp_path / "scenario.yaml"), "trust.xlsx", "inflates")
    assert "PRIORITISER_MAX_XLSX_RATIO" in issue.message
    monkeypatch.setenv("PRIORITISER_MAX_XLSX_RATIO", "1e9")  # raised: the workbook is read
    assert not errors(prioritiser.validate(tmp_path / "scenario.yaml"))


def test_xlsx_of_a_million_blank_rows_is_refused_in_seconds(tmp_path):
    """The issue's 3.8 MB workbook of blank rows ran over 400 s at 1.5 GB: the row limit stops it."""
    book = workbook(tmp_path)
    with zipfile.ZipFile(book) as z:
        sheet_part = next(n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        xml = z.read(sheet_part).decode()
    blank = "".join(f'<row r="{r}" spans="1:5" ht="15" customHeight="1"/>' for r in range(10, 1_048_577))
    add_part(book, sheet_part, xml.replace("</sheetData>", blank + "</sheetData>").encode(), replace=True)
    issues, seconds = timed_validate(tmp_path / "scenario.yaml")
    assert any("PRIORITISER_MAX_ROWS" in i.message and i.where.startswith("trust.xlsx, sheet") for i in errors(issues)), \
        "\n".join(map(str, issues))
    assert seconds < SECONDS


@pytest.mark.parametrize("declaration", [
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    b'<!-- a comment first --><!DOCTYPE x SYSTEM "file:///etc/passwd">',
])
def test_xml_entities_are_refused(tmp_path, declaration, monkeypatch):
    book = workbook(tmp_path)
    with zipfile.ZipFile(book) as z:
        sheet_part = next(n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        xml = z.read(sheet_part)
    cut = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0  # after the XML declaration, if any
    add_part(book, sheet_part, xml[:cut] + declaration + xml[cut:], replace=True)
    issue = one_error(prioritiser.validate(tmp_path / "scenario.yaml"), "trust.xlsx", "entities")
    assert sheet_part in issue.message
    # our own check does not depend on openpyxl's use of defusedxml, which a user can switch off
    monkeypatch.setenv("OPENPYXL_DEFUSEDXML", "False")
    one_error(prioritiser.validate(tmp_path / "scenario.yaml"), "trust.xlsx", "entities")


def test_openpyxl_parses_with_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML, "defusedxml must be installed (requirements.txt)"


# ----------------------------------------------------------------------------- CSV files


def test_huge_csv_is_refused_before_it_is_read(tmp_path):
    """The issue's 200 MB CSV took 9 GB and ended in a traceback. A sparse file of that size costs no
    disk; it is refused from its size, before a byte is read."""
    path = write_base(tmp_path)
    with open(tmp_path / "portfolio" / "demands.csv", "r+b") as f:
        f.truncate(200_000_000)
    issues, seconds = timed_validate(path)
    issue = one_error(issues, "demands.csv", "the file is 200.0 MB")
    assert "PRIORITISER_MAX_FILE_MB" in issue.message and seconds < SECONDS
    done = run_cli_quiet("run", path, "--time-limit", "30", "--out", tmp_path / "out")
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
    assert "PRIORITISER_MAX_FILE_MB" in done.stderr


def test_row_and_cell_limits_name_their_variable(tmp_path, monkeypatch):
    rows = "".join(f"cap{n},staff,0,0\n" for n in range(30))
    path = write_base(tmp_path, resources=csv_text(BASE["resources"]) + rows)
    monkeypatch.setenv("PRIORITISER_MAX_ROWS", "20")
    issue = one_error(prioritiser.validate(path), "resources.csv", "more than 20 rows")
    assert "PRIORITISER_MAX_ROWS" in issue.message
    monkeypatch.setenv("PRIORITISER_MAX_ROWS", "100")
    monkeypatch.setenv("PRIORITISER_MAX_CELLS", "50")
    issue = one_error(prioritiser.validate(path), "resources.csv", "more than 50 cells")
    assert "PRIORITISER_MAX_CELLS" in issue.message
    monkeypatch.delenv("PRIORITISER_MAX_CELLS")
    assert not errors(prioritiser.validate(path))


def test_a_limit_set_to_nonsense_is_an_input_error(tmp_path, monkeypatch):
    path = write_base(tmp_path)
    monkeypatch.setenv("PRIORITISER_MAX_ROWS", "lots")
    issues = errors(prioritiser.validate(path))
    assert issues and all("PRIORITISER_MAX_ROWS" in i.where for i in issues)
    assert "unexpected" not in " ".join(i.message for i in issues)


# ----------------------------------------------------------------------------- scenario files


BOMB = b"""\
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
force_out: *i
"""


def test_yaml_alias_bomb_is_refused_in_seconds(tmp_path):
    """The issue's 554-byte alias bomb ran 67 s and ended in MemoryError."""
    path = write_base(tmp_path)
    path.write_bytes(BOMB)
    assert len(BOMB) < 600
    issues, seconds = timed_validate(path)
    issue = one_error(issues, "scenario.yaml", "aliases are expanded")
    assert "PRIORITISER_MAX_YAML_NODES" in issue.message and seconds < SECONDS
    done = run_cli_quiet("run", path, "--out", tmp_path / "out")
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout


def test_yaml_aliases_within_the_limits_still_work(tmp_path):
    path = write_base(tmp_path)
    text = path.read_text() + "cut: &cut {resource: capital, scale: 0.9}\nadjustments: [*cut]\n"
    path.write_text(text.replace("cut: &cut", "x-cut: &cut"))
    issues = prioritiser.validate(path)
    # the anchor's key is unknown (reported), but the alias itself is read
    the_issue(issues, "scenario.yaml", None, "x-cut", "unknown key")
    assert read_scenario(path)[0].adjustments[0].scale == 0.9


@pytest.mark.parametrize("text, phrase, variable", [
    (b"name: " + b"[" * 5000 + b"]" * 5000 + b"\n", "levels deep", "PRIORITISER_MAX_YAML_DEPTH"),
    (b"force_out: &a [x, *a]\n", "inside the value it names", None),
    (b"name: " + b"9" * 20000 + b"\n", "cannot be read", None),
    (b"# " + b"x" * 2_000_000 + b"\n", "the file is", "PRIORITISER_MAX_YAML_KB"),
])
def test_hostile_yaml_is_refused(tmp_path, text, phrase, variable):
    path = write_base(tmp_path)
    path.write_bytes(text)
    issues, seconds = timed_validate(path)
    issue = one_error(issues, "scenario.yaml", phrase)
    assert variable is None or variable in issue.message
    assert seconds < SECONDS and "unexpected" not in issue.message


def test_long_horizon_is_refused_before_the_model_is_built(tmp_path):
    """The issue's 1,200-quarter horizon ran past 300 s and 5 GB at --time-limit 10: the model size
    is estimated from the validated portfolio and refused before anything is built."""
    rows = "".join(f"X{n},x,{1 + n % 4},,,false,10,0,0,5\n" for n in range(40))
    path = write_base(tmp_path, {"horizon": {"start": "2026/27 Q1", "periods": 1200}},
                      initiatives=csv_text(BASE["initiatives"]) + rows)
    t0 = time.perf_counter()
    with pytest.raises(prioritiser.InputError) as err:
        run(path, time_limit=10)
    assert time.perf_counter() - t0 < SECONDS
    issue = err.value.errors[0]
    assert issue.column == "horizon.periods" and "PRIORITISER_MAX_MODEL_SIZE" in issue.message


def test_horizon_length_limit_is_configurable(tmp_path, monkeypatch):
    path = write_base(tmp_path, {"horizon": {"start": "2026/27 Q1", "periods": 40}})
    monkeypatch.setenv("PRIORITISER_MAX_PERIODS", "30")
    issue = the_issue(prioritiser.validate(path), "scenario.yaml", None, "horizon.periods", "at most 30")
    assert "PRIORITISER_MAX_PERIODS" in issue.message


# ----------------------------------------------------------------------------- magnitudes, characters


@pytest.mark.parametrize("value", ["1e308", "2e12", "-1e13"])
def test_absurd_magnitudes_are_validation_errors(tmp_path, value):
    """`benefit=1e308` published NPV £inf with a null objective and the checker said ok."""
    path = write_base(tmp_path, initiatives=edit("initiatives", "B,Beta,1,,,false,500,0,0,200",
                                                  f"B,Beta,1,,,false,500,0,0,{value}"))
    issue = the_issue(prioritiser.validate(path), "initiatives.csv", 3, "benefit", "too large")
    assert "PRIORITISER_MAX_AMOUNT" in issue.message


def test_absurd_scenario_numbers_are_validation_errors(tmp_path):
    path = write_base(tmp_path, {"adjustments": [{"resource": "capital", "add": 1e300}],
                                 "objective": {"weights": {"benefit": 1e200}}})
    issues = prioritiser.validate(path)
    the_issue(issues, "scenario.yaml", None, "adjustments[0].add", "too large")
    the_issue(issues, "scenario.yaml", None, "objective.weights.benefit", "too large")


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\r", "\x7f", "\u2028"])
def test_control_characters_in_cells_are_validation_errors(tmp_path, char):
    """Control characters passed `validate` and crashed `run` after the solve (IllegalCharacterError);
    a CR in a name corrupted plan.csv."""
    path = write_base(tmp_path, initiatives=edit("initiatives", "B,Beta,", f'B,"Be{char}ta",'))
    issue = the_issue(prioritiser.validate(path), "initiatives.csv", 3, "name", f"U+{ord(char):04X}")
    assert "character 3" in issue.message


def test_control_characters_in_workbooks_and_headers(tmp_path):
    book = workbook(tmp_path)
    wb = openpyxl.load_workbook(book)
    wb["initiatives"]["B4"] = "Gam\tma"  # row 4, the name column
    wb["capacity"]["D1"] = "no\nte"  # a header of the user's own
    wb.save(book)
    issues = prioritiser.validate(tmp_path / "scenario.yaml")
    the_issue(issues, "trust.xlsx, sheet initiatives", 4, "name", "a tab")
    the_issue(issues, "trust.xlsx, sheet capacity", 1, repr("no\nte"), "line break")


def test_control_characters_in_scenario_names(tmp_path):
    path = write_base(tmp_path, {"name": "base\x00line", "force_out": ["A\x1b[2J"],
                                 "description": "two lines\nare fine\tand tabs too"})
    issues = prioritiser.validate(path)
    the_issue(issues, "scenario.yaml", None, "name", "U+0000")
    the_issue(issues, "scenario.yaml", None, "force_out[0]", "U+001B")
    assert not [i for i in issues if i.column == "description"]


def test_a_run_with_control_characters_gives_no_traceback(tmp_path):
    path = write_base(tmp_path, initiatives=edit("initiatives", "B,Beta,", "B,Be\x01ta,"))
    done = run_cli_quiet("run", path, "--out", tmp_path / "out")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "column name" in done.stderr
    assert not (tmp_path / "out").exists()


def run_cli_quiet(*args):
    from conftest import run_cli

    return run_cli(*args)


def test_control_characters_in_paths_are_reported_once(tmp_path):
    """Found by the fuzz test: a NUL in `portfolio` or `extends` reached the file system (ValueError)."""
    for key, value in (("portfolio", "portfolio\x00x"), ("extends", "\x00base.yaml")):
        path = write_base(tmp_path, {key: value})
        issues = prioritiser.validate(path)
        the_issue(issues, "scenario.yaml", None, key, "U+0000")
        assert not [i for i in issues if "unexpected" in i.message]


def test_the_approved_plan_is_read_with_the_same_bounds(tmp_path):
    """The planning cycle's approved plan (a CSV outside the portfolio): its path and cells are
    checked for control characters like every other input, and its size is capped like a table's."""
    from test_validation_cycle import approved_case

    path = write_base(tmp_path, {"approved_plan": "approved\x00.csv"})
    issues = prioritiser.validate(path)
    the_issue(issues, "scenario.yaml", None, "approved_plan", "U+0000")
    assert not [i for i in issues if "unexpected" in i.message or "not found" in i.message]
    path = approved_case(tmp_path, "id,start\nA,2026/27 Q1\nB\x1b,2026/27 Q3\n")
    where = str(tmp_path / "approved.csv")  # (named by its path, as a file outside the portfolio)
    the_issue(prioritiser.validate(path), where, 3, "id", "U+001B")
    with open(tmp_path / "approved.csv", "r+b") as f:
        f.truncate(200_000_000)
    issues, seconds = timed_validate(path)
    issue = one_error(issues, where, "the file is 200.0 MB")
    assert "PRIORITISER_MAX_FILE_MB" in issue.message and seconds < SECONDS
