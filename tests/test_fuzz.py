"""Fuzzing (issue 8): thousands of corrupted portfolios and scenario files per run, and never a traceback.

Each example starts from a small valid case (the BASE portfolio of test_validation, as CSV files
or an .xlsx workbook, and its scenario.yaml) and applies one to three corruptions: wrong types,
missing and extra columns, blank and duplicated rows, unicode and control characters, huge
numbers, NaN and inf, empty files, wrong file and sheet names, dependency cycles, dangling
references, flipped bytes; in the scenario, values of every wrong type at every key (and unknown
keys), missing keys, `extends` gone wrong, and malformed YAML.

The oracle:
- `prioritiser.run` either returns a Result or raises InputError; nothing else ever escapes, and
  the validator's safety net ("unexpected problem") is never needed;
- every reported problem names a file of the case (or a sheet of its workbook); a row is one the
  file has; a column is one its header or the schema names; a scenario problem names a key path;
  a problem naming neither row nor column is about the file as a whole;
- a single corruption that must be an error (text in a number column, a control character, a
  number over the magnitude limit, NaN, an undefined reference, an unknown scenario key, ...) is
  reported at exactly its file, row and column (or key path);
- an accepted case gives a plan (or a proof of infeasibility) that the independent checker passes
  with a finite objective; some of them are also written out and read back.

The number of examples is PRIORITISER_FUZZ_EXAMPLES (default 5,000: 2,750 portfolios, 2,250
scenario files), derandomised so that every run tests the same cases.
"""
from __future__ import annotations

import math
import os
import random
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prioritiser
from prioritiser.check import check_plan
from prioritiser.engine import run
from prioritiser.errors import InputError
from prioritiser.schema import TABLES
from test_validation import BASE, HORIZON, csv_text

pytestmark = pytest.mark.slow

TOTAL = int(os.environ.get("PRIORITISER_FUZZ_EXAMPLES", "5000"))
PORTFOLIOS, SCENARIOS = round(TOTAL * 0.55), TOTAL - round(TOTAL * 0.55)
NUMERIC = {t: {c.name for c in TABLES[t].columns if c.type in ("integer", "number", "money")} for t in TABLES}
REFS = {t: {c.name for c in TABLES[t].columns if c.type in ("ref", "resource")} for t in TABLES}
CONTROLS = "\x00\x01\x07\x08\x0b\x0c\x1b\x1f\x7f\x85\u2028\r\n\t"
XLSX_CONTROLS = "\t\r\n"  # what an .xlsx cell can hold at all
ODD_TEXT = ["Ωmega", "名前", "שלום", "e\u0301", "🙂", "=HYPERLINK(\"http://x\",\"click\")", "+1", "-1+2", "@SUM(A1)",
            "'quoted", '"', ",", " ", "NULL", "None", "true", "£1,000", "1,5", "0x10", "1_000", "٣"]
ODD_NUMBERS = ["1e13", "-1e20", "1e308", "1e999", "-0", "nan", "NaN", "inf", "-inf", "Infinity", "12abc", "1.5.2", "1e-300"]
NEAR_NAMES = ["initiative", "Initiatives ", "resource", "demand", "capacities", "dependency", "fundings", "sheet1",
              "initiatives_old", "capacity (2)"]


@dataclass
class Case:
    """A case as it will be written: tables as rows of text cells (header first) or raw bytes."""

    tables: dict[str, list[list[str]] | bytes | None]
    names: dict[str, str] = field(default_factory=dict)  # table -> the file or sheet name it is written under
    xlsx: bool = False
    scenario: dict | bytes | None = None
    expect: list[tuple[str, int | None, str | None]] = field(default_factory=list)  # certain error locations
    label: str = ""


def base_case(xlsx: bool) -> Case:
    tables = {name: [line.split(",") for line in csv_text(text).splitlines()] for name, text in BASE.items()}
    return Case(tables, {n: n for n in tables}, xlsx,
                {"name": "fuzz", "portfolio": "trust.xlsx" if xlsx else "portfolio", "horizon": dict(HORIZON)})


def where(case: Case, table: str) -> str:
    return f"trust.xlsx, sheet {case.names[table]}" if case.xlsx else f"{case.names[table]}.csv"


# ----------------------------------------------------------------------------- portfolio corruptions


def _cell(draw, case: Case, tables=None):
    """A (table, data row position, column position) of a table that is still rows of cells."""
    usable = [t for t in (tables or case.tables) if isinstance(case.tables.get(t), list) and len(case.tables[t]) > 1]
    if not usable:
        return None
    t = draw(st.sampled_from(sorted(usable)))
    rows = case.tables[t]
    r = draw(st.integers(1, len(rows) - 1))
    c = draw(st.integers(0, len(rows[0]) - 1))
    return t, r, c


def _set(case: Case, t: str, r: int, c: int, value: str) -> tuple[str, int, str]:
    row = case.tables[t][r]
    while len(row) <= c:
        row.append("")
    row[c] = value
    return where(case, t), r + 1, case.tables[t][0][c]


def _certain_cell(case: Case, t: str, c: int) -> bool:
    """A corrupted cell in this column is sure to be reported at its own row and column."""
    header = case.tables[t][0]
    name = header[c]
    return name in {col.name for col in TABLES[t].columns} and header.count(name) == 1


def corrupt_type(draw, case: Case) -> None:
    got = _cell(draw, case)
    if got is None:
        return
    t, r, c = got
    text = draw(st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(ODD_TEXT)))
    loc = _set(case, t, r, c, text)
    if loc[2] in NUMERIC[t] and _certain_cell(case, t, c) and re.fullmatch(r"[A-Za-z]{2,}", text.strip()) \
            and text.strip().lower() not in ("nan", "inf", "infinity"):
        case.expect.append(loc)


def corrupt_number(draw, case: Case) -> None:
    got = _cell(draw, case, [t for t in case.tables if NUMERIC[t]])
    if got is None:
        return
    t, r, _ = got
    numeric = [n for n, name in enumerate(case.tables[t][0]) if name in NUMERIC[t]]
    if not numeric:
        return
    c = draw(st.sampled_from(numeric))
    text = draw(st.sampled_from(ODD_NUMBERS))
    loc = _set(case, t, r, c, text)
    value = float(text) if re.fullmatch(r"-?[\d.e+-]+|-?nan|-?inf(inity)?", text, re.I) and \
        text.count(".") <= 1 else None
    if _certain_cell(case, t, c) and value is not None and (not math.isfinite(value) or abs(value) > 1e12):
        case.expect.append(loc)


def corrupt_control(draw, case: Case) -> None:
    got = _cell(draw, case)
    if got is None:
        return
    t, r, c = got
    char = draw(st.sampled_from(XLSX_CONTROLS if case.xlsx else CONTROLS))
    old = case.tables[t][r][c] if c < len(case.tables[t][r]) else ""
    at = draw(st.integers(0, len(old)))
    text = old[:at] + char + old[at:]
    loc = _set(case, t, r, c, text)
    if text.strip() == text and case.tables[t][0].count(loc[2]) == 1:  # an edge character is stripped
        case.expect.append(loc)


def corrupt_reference(draw, case: Case) -> None:
    got = _cell(draw, case, [t for t in case.tables if REFS[t]])
    if got is None:
        return
    t, r, _ = got
    refs = [n for n, name in enumerate(case.tables[t][0]) if name in REFS[t]]
    if refs:
        _set(case, t, r, draw(st.sampled_from(refs)), draw(st.sampled_from(["ZZ9", "nobody", "capitol", "A "])))


def drop_column(draw, case: Case) -> None:
    tables = [t for t, rows in case.tables.items() if isinstance(rows, list) and rows and rows[0]]
    if tables:
        t = draw(st.sampled_from(sorted(tables)))
        c = draw(st.integers(0, len(case.tables[t][0]) - 1))
        case.tables[t] = [row[:c] + row[c + 1:] for row in case.tables[t]]


def extra_column(draw, case: Case) -> None:
    tables = [t for t, rows in case.tables.items() if isinstance(rows, list) and rows]
    if tables:
        t = draw(st.sampled_from(sorted(tables)))
        name = draw(st.one_of(st.sampled_from(["notes", "Duration", "capital cost", "id", "score_trust", "", "ramps"]),
                              st.text(max_size=8)))
        value = draw(st.one_of(st.sampled_from(ODD_TEXT + ODD_NUMBERS), st.text(max_size=6)))
        case.tables[t] = [rows + [name if n == 0 else value] for n, rows in enumerate(case.tables[t])]


def blank_or_duplicate_row(draw, case: Case) -> None:
    tables = [t for t, rows in case.tables.items() if isinstance(rows, list) and len(rows) > 1]
    if tables:
        t = draw(st.sampled_from(sorted(tables)))
        rows = case.tables[t]
        r = draw(st.integers(1, len(rows) - 1))
        copy = list(rows[r]) if draw(st.booleans()) else [""] * len(rows[0])
        rows.insert(draw(st.integers(1, len(rows))), copy)


def shuffle_rows(draw, case: Case) -> None:
    tables = [t for t, rows in case.tables.items() if isinstance(rows, list) and len(rows) > 2]
    if tables:
        t = draw(st.sampled_from(sorted(tables)))
        body = case.tables[t][1:]
        random.Random(draw(st.integers(0, 1000))).shuffle(body)
        case.tables[t] = case.tables[t][:1] + body


def empty_table(draw, case: Case) -> None:
    t = draw(st.sampled_from(sorted(case.tables)))
    rows = case.tables[t]
    choice = draw(st.sampled_from(["empty", "header", "gone"]))
    if choice == "gone":
        case.tables[t] = None
    elif choice == "header" and isinstance(rows, list):
        case.tables[t] = rows[:1]
    elif not case.xlsx:
        case.tables[t] = b""


def rename_table(draw, case: Case) -> None:
    t = draw(st.sampled_from(sorted(case.tables)))
    case.names[t] = draw(st.sampled_from(NEAR_NAMES))


def dependency_cycle(draw, case: Case) -> None:
    rows = case.tables.get("dependencies")
    if isinstance(rows, list) and rows[:1] == [["predecessor", "successor", "type", "lag"]]:
        kind = draw(st.sampled_from(["finish_to_start", "start_to_start", "requires"]))
        rows += [["B", "C", kind, "0"], ["C", "A", kind, "0"]]  # A -> B is in BASE already


def flip_bytes(draw, case: Case) -> None:
    if case.xlsx:
        return
    t = draw(st.sampled_from(sorted(case.tables)))
    rows = case.tables[t]
    data = bytearray(rows if isinstance(rows, bytes) else "\n".join(",".join(r) for r in rows or []).encode())
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        data[pos:pos] = bytes([draw(st.integers(0, 255))])
    case.tables[t] = bytes(data)


PORTFOLIO_CORRUPTIONS = (corrupt_type, corrupt_number, corrupt_control, corrupt_reference, drop_column, extra_column,
                         blank_or_duplicate_row, shuffle_rows, empty_table, rename_table, dependency_cycle, flip_bytes)


@st.composite
def corrupted_portfolios(draw):
    case = base_case(xlsx=draw(st.integers(0, 9)) == 0)
    steps = draw(st.lists(st.sampled_from(PORTFOLIO_CORRUPTIONS), min_size=1, max_size=3))
    for step in steps:
        step(draw, case)
    if len(steps) > 1:
        case.expect = []  # a second corruption may hide or move the first (a dropped column, a renamed file)
    case.label = "+".join(s.__name__ for s in steps)
    return case


# ----------------------------------------------------------------------------- scenario corruptions


KEY_PATHS = ["name", "description", "portfolio", "extends", "horizon", "horizon.start", "horizon.periods",
             "horizon.granularity", "objective", "objective.discount_rate", "objective.weights",
             "objective.weights.benefit", "objective.weights.cost", "objective.alignment_weights",
             "objective.alignment_weights.trust", "adjustments", "force_in", "force_out", "external", "solver",
             "solver.name", "solver.time_limit", "solver.gap", "horizon.periodz", "objectives", "solver.threads",
             "adjustments[0]", "adjustments[0].scale", "adjustments[0].resource", "adjustments[0].from",
             "adjustments[0].to", "adjustments[0].add", "adjustments[0].extra"]
NUMBER_KEYS = {"objective.discount_rate", "objective.weights.benefit", "objective.weights.cost",
               "solver.time_limit", "solver.gap", "adjustments[0].scale", "adjustments[0].add"}
UNKNOWN_KEYS = {"horizon.periodz", "objectives", "solver.threads", "adjustments[0].extra"}

values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**15, 10**15), st.floats(allow_nan=True, allow_infinity=True),
              st.text(max_size=10), st.sampled_from(ODD_TEXT + ["2026/27 Q1", "2027/28", "capital", "highs", "A"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6)


def _put(doc: dict, path: str, value) -> None:
    """Set a key path such as 'adjustments[0].scale' in the scenario, making (or replacing with) the
    mappings and lists on the way."""
    keys = [int(k[1:-1]) if k.startswith("[") else k for k in re.findall(r"[^.\[\]]+|\[\d+\]", path)]
    node = doc
    for key, nxt in zip(keys, keys[1:]):
        want = list if isinstance(nxt, int) else dict
        if isinstance(key, int):
            while len(node) <= key:
                node.append({"resource": "capital", "scale": 0.9})
            if not isinstance(node[key], want):
                node[key] = want()
        elif not isinstance(node.get(key), want):
            node[key] = want()
        node = node[key]
    last = keys[-1]
    if isinstance(last, int):
        node.append(value)
    else:
        node[last] = value


def set_key(draw, case: Case) -> None:
    path = draw(st.sampled_from(KEY_PATHS))
    value = draw(values)
    _put(case.scenario, path, value)
    if path in UNKNOWN_KEYS:
        case.expect.append(("scenario.yaml", None, path))
    elif path in NUMBER_KEYS and (isinstance(value, (str, list, dict, bool)) or
                                  (isinstance(value, float) and not math.isfinite(value)) or
                                  (isinstance(value, (int, float)) and abs(value) > 1e12)):
        case.expect.append(("scenario.yaml", None, path))


def delete_key(draw, case: Case) -> None:
    key = draw(st.sampled_from(["portfolio", "horizon", "name"]))
    case.scenario.pop(key, None)
    if key == "horizon":
        case.expect.append(("scenario.yaml", None, "horizon.start"))


def bad_extends(draw, case: Case) -> None:
    case.scenario["extends"] = draw(st.sampled_from(["scenario.yaml", "missing.yaml", "", "../", "portfolio",
                                                     "/dev/null", "base.yaml"]))


def break_yaml(draw, case: Case) -> None:
    text = bytearray(yaml.safe_dump(case.scenario, sort_keys=False).encode())
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.integers(0, 2))
        if kind == 0:
            text[pos:pos] = draw(st.sampled_from([b":", b"[", b"{", b"\t", b"'", b'"', b"&a ", b"*a", b"!!python/object ",
                                                  b"|", b"%", b"@", b"`", b"- ", b"\n  ", b"\x00", b"\xff", b"#"]))
        elif kind == 1:
            del text[pos:pos + draw(st.integers(1, 4))]
        else:
            text[pos:pos] = b"\n" + b" " * draw(st.integers(0, 5))
    case.scenario = bytes(text)


SCENARIO_CORRUPTIONS = (set_key, set_key, set_key, delete_key, bad_extends, break_yaml)


@st.composite
def corrupted_scenarios(draw):
    case = base_case(xlsx=False)
    steps = draw(st.lists(st.sampled_from(SCENARIO_CORRUPTIONS), min_size=1, max_size=3))
    for step in steps:
        if isinstance(case.scenario, dict):
            step(draw, case)
    if len(steps) > 1:
        case.expect = []
    case.label = "+".join(s.__name__ for s in steps)
    return case


# ----------------------------------------------------------------------------- writing and judging


def write(case: Case, folder: Path) -> Path:
    if case.xlsx:
        book = openpyxl.Workbook(write_only=True)
        for t, rows in case.tables.items():
            if rows is not None:
                sheet = book.create_sheet(case.names[t])
                for row in rows:  # what a cell cannot hold at all, no workbook has
                    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
        if not book.worksheets:
            book.create_sheet("empty")
        book.save(folder / "trust.xlsx")
    else:
        (folder / "portfolio").mkdir()
        for t, rows in case.tables.items():
            if rows is None:
                continue
            path = folder / "portfolio" / f"{case.names[t]}.csv"
            if isinstance(rows, bytes):
                path.write_bytes(rows)
            else:
                import csv

                with open(path, "w", newline="", encoding="utf-8") as f:
                    csv.writer(f).writerows(rows)
    (folder / "base.yaml").write_text("extends: scenario.yaml\n")  # for `extends: base.yaml` (a cycle)
    path = folder / "scenario.yaml"
    if isinstance(case.scenario, bytes):
        path.write_bytes(case.scenario)
    else:
        path.write_text(yaml.safe_dump(case.scenario, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# Problems about a file as a whole: they name no row and no column, and need none.
WHOLE_FILE = re.compile("|".join([
    r"the file is empty", r"not a text (CSV )?file", r"is not a text file", r"separated by", r"cannot be read as CSV near line",
    r"Excel workbook", r"table is required", r"sheet is required", r"reads no (file|sheet) of this name",
    r"there is no resources table", r"more cells with control characters", r"over the limit", r"scenario file not found",
    r"must be a mapping of keys", r"is a folder", r"cannot be opened", r"not valid YAML", r"cannot be read \(",
    r"holds a value that cannot be read", r"a value cannot start with", r"the alias", r"neither a folder",
    r"portfolio not found", r"cannot be read because", r"has more than", r"declares XML entities",
    r"^the key .* holds", r"two sheets are named",
]))


def locations(case: Case, folder: Path) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Every place a problem may name: file (or sheet) -> the columns it may name; and its number of rows."""
    columns, rows = {}, {}
    for t, table in case.tables.items():
        if table is None:
            continue
        place = where(case, t)
        if isinstance(table, bytes):  # flipped bytes: any header the file may now be read as
            header = [c for enc in ("utf-8", "cp1252", "latin-1")
                      for c in re.split(r"[,\r\n]", table.decode(enc, errors="replace"))]
        else:
            header = table[0] if table else []
        if case.xlsx:  # a workbook cannot hold some control characters: the header as the sheet has it
            header = header + [ILLEGAL_CHARACTERS_RE.sub("", c) for c in header]
        header = [c.strip() for c in header]
        columns[place] = set(header) | {repr(c) for c in header} | {c.name for c in TABLES[t].columns} | \
            {re.sub(r"\s+", "_", c.lower()) for c in header}
        rows[place] = (len(table) if isinstance(table, list) else table.count(b"\n") + table.count(b"\r") + 1) + 1
    for t in TABLES:  # a table that is missing is reported under its own name
        columns.setdefault(f"{t}.csv" if not case.xlsx else f"trust.xlsx, sheet {t}", {c.name for c in TABLES[t].columns})
    columns["trust.xlsx" if case.xlsx else "portfolio"] = set()
    return columns, rows


def judge_rejection(case: Case, folder: Path, issues) -> None:
    errors = [i for i in issues if i.severity == "error"]
    assert errors, "InputError without an error"
    columns, rows = locations(case, folder)
    yaml_lines = (folder / "scenario.yaml").read_bytes().count(b"\n") + 2
    for i in issues:
        text = str(i)
        assert "unexpected problem" not in i.message, text
        scenario_file = Path(i.where).name in ("scenario.yaml", "base.yaml", "missing.yaml")
        if scenario_file:
            assert i.row is None or 1 <= i.row <= yaml_lines, text
            assert i.column is None or not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", i.column), text
            if i.severity == "error" and i.row is None and i.column is None:
                assert WHOLE_FILE.search(i.message), f"no line or key: {text}"
            continue
        place = i.where
        if place not in columns:
            near = [f"{n}.csv" for n in NEAR_NAMES] + [f"trust.xlsx, sheet {n}" for n in NEAR_NAMES]
            assert place in near or place.startswith("environment"), f"unknown place: {text}"
            continue
        if i.row is not None and place in rows:
            assert 1 <= i.row <= rows[place], f"row out of range: {text}"
        if i.column is not None:
            assert i.column in columns[place] or i.column.startswith("'"), f"unknown column: {text}"
        if i.severity == "error" and i.row is None and i.column is None:
            assert WHOLE_FILE.search(i.message), f"no row or column: {text}"
    for place, row, column in case.expect:
        hits = [i for i in errors if (i.where == place or Path(i.where).name == place) and i.row == row
                and (i.column == column or (place.endswith(".yaml") and i.column and column.startswith(i.column)))]
        assert hits, f"expected an error at {place}, row {row}, column {column}; got:\n" + "\n".join(map(str, issues))


def judge_result(case: Case, folder: Path, result, write_out: bool) -> None:
    assert not case.expect, f"accepted, but an error was certain at {case.expect}"
    assert result.status.value in ("optimal", "feasible", "infeasible"), (result.status, result.message)
    if result.has_plan:
        assert math.isfinite(result.objective)
        report = check_plan(result.portfolio, result.starts, result.external_purchases)
        assert report.ok, report.violations
        assert report.objective == pytest.approx(result.objective, rel=1e-6, abs=1e-4)
    if write_out:
        from prioritiser.report import write_outputs

        out = write_outputs(result, folder / "out")
        if result.has_plan:
            import pandas as pd

            plan = pd.read_csv(out / "plan.csv", dtype=str, keep_default_na=False)
            assert len(plan) == len(result.plan)  # a name cannot add or lose a row


def exercise(case: Case, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write(case, folder)
        try:
            result = run(path, solver="highs", time_limit=1)
        except InputError as exc:
            judge_rejection(case, folder, exc.issues)
            if n % 10 == 0:  # `validate` says the same, and never raises
                assert [i for i in prioritiser.validate(path) if i.severity == "error"]
            return
        judge_result(case, folder, result, write_out=n % 40 == 0)  # the board pack takes a while to write


_counter = {"portfolios": 0, "scenarios": 0}
FUZZ = dict(deadline=None, derandomize=True, database=None, print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.fixture(autouse=True)
def small_models(monkeypatch):
    # a corrupted horizon may ask for 1,200 periods: refused here as too big a model, keeping the test quick
    monkeypatch.setenv("PRIORITISER_MAX_MODEL_SIZE", "20000")


# Each kind is drawn by two tests of half the examples each (different names: different derandomised
# draws), so that `make test`'s two workers share the 5,000 examples instead of one waiting for the other.
HALF_PORTFOLIOS, HALF_SCENARIOS = PORTFOLIOS // 2, SCENARIOS // 2


@settings(max_examples=HALF_PORTFOLIOS, **FUZZ)
@given(corrupted_portfolios())
def test_corrupted_portfolios(case):
    _counter["portfolios"] += 1
    exercise(case, _counter["portfolios"])


@settings(max_examples=PORTFOLIOS - HALF_PORTFOLIOS, **FUZZ)
@given(corrupted_portfolios())
def test_corrupted_portfolios_more(case):
    _counter["portfolios"] += 1
    exercise(case, _counter["portfolios"])


@settings(max_examples=HALF_SCENARIOS, **FUZZ)
@given(corrupted_scenarios())
def test_corrupted_scenarios(case):
    _counter["scenarios"] += 1
    exercise(case, _counter["scenarios"])


@settings(max_examples=SCENARIOS - HALF_SCENARIOS, **FUZZ)
@given(corrupted_scenarios())
def test_corrupted_scenarios_more(case):
    _counter["scenarios"] += 1
    exercise(case, _counter["scenarios"])
