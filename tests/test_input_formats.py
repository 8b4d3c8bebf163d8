"""Input formats: period granularities, financial-year rows, passthrough columns, encodings,
Excel workbooks (trailing blank rows, dates, real booleans) and the spellings of true and false."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

import prioritiser
from conftest import write_case

INITIATIVES = """\
id,name,duration,earliest_start,latest_finish,mandatory,capital_cost
A,Alpha,2,{es},{lf},false,100
B,Beta,1,,,false,50
"""


def write_trust(tmp_path: Path, horizon: dict, tables: dict[str, str], **scenario) -> Path:
    """The tables exactly as given, in `trust/`, and a scenario.yaml with this horizon."""
    return write_case(tmp_path, {name: text.encode("utf-8") for name, text in tables.items()},
                      {"horizon": horizon, **scenario}, name=None, defaults=None, portfolio="trust",
                      file="scenario.yaml")


def errors(issues):
    return [i for i in issues if i.severity == "error"]


# ---------------------------------------------------------------- months


MONTHS = {"start": "2026-04", "periods": 24, "granularity": "month"}


def test_month_labels(tmp_path):
    path = write_trust(tmp_path, MONTHS, {
        "initiatives": INITIATIVES.format(es="2027-01", lf="2027-06"),
        "capacity": "resource,period,amount\ncapital,2026/27,1200\ncapital,2027/28,600\ncapital,2027-05,40\n",
    })
    p = prioritiser.load(path)
    assert p.horizon.index("2026-04") == 0
    assert p.initiatives.loc["A", "earliest_start"] == 9  # January 2027 is the 10th month from April 2026
    assert p.initiatives.loc["A", "latest_finish"] == 14  # June 2027
    assert p.horizon.fy[9] == 0 and p.horizon.fy_label_of(9) == "2026/27"  # January is still in FY 2026/27
    assert p.horizon.fy_label_of(12) == "2027/28"  # April 2027 starts the next
    periods = dict(zip(p.capacity["period"], p.capacity["periods"]))
    assert periods["2026/27"] == tuple(range(12))  # a year row covers 12 months
    assert periods["2027/28"] == tuple(range(12, 24))
    assert periods["2027-05"] == (13,)
    assert p.horizon.labels[:3] == ["2026-04", "2026-05", "2026-06"] and p.horizon.labels[-1] == "2028-03"


def test_month_labels_rejected(tmp_path):
    path = write_trust(tmp_path, MONTHS, {
        "initiatives": INITIATIVES.format(es="2027-13", lf="2026/27 Q2"),
        "capacity": "resource,period,amount\ncapital,2026/27,1200\ncapital,2028-04,5\n",
    })
    places = {(i.where, i.row, i.column): i.message for i in errors(prioritiser.validate(path))}
    assert "not a month label (e.g. '2026-04')" in places[("initiatives.csv", 2, "earliest_start")]
    assert "not a month label" in places[("initiatives.csv", 2, "latest_finish")]
    assert "outside the horizon 2026-04 .. 2028-03" in places[("capacity.csv", 3, "period")]
    assert len(places) == 3


def test_month_year_row_adjusted_only_when_the_whole_year_is_in_range(tmp_path):
    capacity = "resource,period,amount\ncapital,2026/27,1200\ncapital,2027/28,600\ncapital,2027-03,40\n"
    tables = {"initiatives": INITIATIVES.format(es="", lf=""), "capacity": capacity}
    path = write_trust(tmp_path, MONTHS, tables, adjustments=[{"resource": "capital", "scale": 0.5, "from": "2026-05"}])
    amounts = dict(zip(prioritiser.load(path).capacity["period"], prioritiser.load(path).capacity["amount"]))
    assert amounts == {"2026/27": 1200, "2027/28": 300, "2027-03": 20}
    path = write_trust(tmp_path, MONTHS, tables, adjustments=[{"resource": "capital", "add": 1, "to": "2027-03"}])
    amounts = dict(zip(prioritiser.load(path).capacity["period"], prioritiser.load(path).capacity["amount"]))
    assert amounts == {"2026/27": 1201, "2027/28": 600, "2027-03": 41}


# ---------------------------------------------------------------- years and quarters


def test_year_labels(tmp_path):
    path = write_trust(tmp_path, {"start": "2026/27", "periods": 5, "granularity": "year"}, {
        "initiatives": INITIATIVES.format(es="2028/29", lf="2030/31"),
        "capacity": "resource,period,amount\ncapital,2026/27,100\ncapital,2027/28,100\n",
    })
    p = prioritiser.load(path)
    assert p.horizon.per_year == 1 and p.horizon.labels == ["2026/27", "2027/28", "2028/29", "2029/30", "2030/31"]
    assert p.initiatives.loc["A", "earliest_start"] == 2
    assert p.initiatives.loc["A", "latest_finish"] == 4
    assert list(p.capacity["periods"]) == [(0,), (1,)]
    # a quarter label means nothing in a yearly plan
    path = write_trust(tmp_path, {"start": "2026/27", "periods": 5, "granularity": "year"}, {
        "initiatives": INITIATIVES.format(es="2027/28 Q1", lf=""),
        "capacity": "resource,period,amount\ncapital,2026/27,100\n",
    })
    (issue,) = errors(prioritiser.validate(path))
    assert (issue.where, issue.row, issue.column) == ("initiatives.csv", 2, "earliest_start")
    assert "not a year label (e.g. '2026/27')" in issue.message


def test_quarter_horizon_starting_mid_year(tmp_path):
    path = write_trust(tmp_path, {"start": "2026/27 Q3", "periods": 6}, {
        "initiatives": INITIATIVES.format(es="2027/28 Q3", lf=""),
        "capacity": "resource,period,amount\ncapital,2026/27,100\ncapital,2027/28,400\n",
    })
    p = prioritiser.load(path)
    assert p.initiatives.loc["A", "earliest_start"] == 4
    periods = dict(zip(p.capacity["period"], p.capacity["periods"]))
    assert periods == {"2026/27": (0, 1), "2027/28": (2, 3, 4, 5)}  # the first year is cut to what is inside
    assert p.horizon.fy_labels == ["2026/27", "2027/28"]


# ---------------------------------------------------------------- columns and encodings


def test_unknown_columns_pass_through(tmp_path):
    initiatives = ("id,Duration,Capital Cost,owner,notes,score_trust,Score_LDR\n"
                   "A,2,100,Jo Smith,\"needs a, comma\",4.5,3\n"
                   "B,1,50,,,,\n")
    resources = "resource,kind,cost_centre\ndev,staff,CC-12\n"
    path = write_trust(tmp_path, {"start": "2026/27 Q1", "periods": 4}, {
        "initiatives": initiatives, "resources": resources,
        "capacity": "resource,period,amount\ncapital,2026/27,1000\ndev,2026/27,4\n",
    })
    p = prioritiser.load(path)
    ini = p.initiatives
    assert list(ini["owner"]) == ["Jo Smith", ""] and list(ini["notes"]) == ["needs a, comma", ""]
    assert list(ini["score_trust"]) == [4.5, 0.0] and ini["score_trust"].dtype == float
    assert list(ini["score_ldr"]) == [3.0, 0.0]  # header spelt differently, still a score
    assert list(ini["duration"]) == [2, 1] and list(ini["capital_cost"]) == [100.0, 50.0]  # ditto
    assert p.resources.loc["dev", "cost_centre"] == "CC-12"
    assert p.warnings == []


def test_csv_with_byte_order_mark(tmp_path):
    path = write_trust(tmp_path, {"start": "2026/27 Q1", "periods": 4}, {
        "capacity": "resource,period,amount\ncapital,2026/27,1000\n"})
    (tmp_path / "trust" / "initiatives.csv").write_bytes("id,name,duration\nA,Café – £5m,2\n".encode("utf-8-sig"))
    p = prioritiser.load(path)
    assert list(p.ids) == ["A"] and p.initiatives.loc["A", "name"] == "Café – £5m"


def test_csv_in_windows_1252(tmp_path):
    path = write_trust(tmp_path, {"start": "2026/27 Q1", "periods": 4}, {
        "capacity": "resource,period,amount\ncapital,2026/27,1000\n"})
    (tmp_path / "trust" / "initiatives.csv").write_bytes(
        "id,name,directorate,duration\r\nA,Café – £5m ‘new’,Women’s & Children’s,2\r\n".encode("cp1252"))
    p = prioritiser.load(path)
    assert p.initiatives.loc["A", "name"] == "Café – £5m ‘new’"
    assert p.initiatives.loc["A", "directorate"] == "Women’s & Children’s"


def test_blank_lines_inside_a_csv_keep_row_numbers(tmp_path):
    path = write_trust(tmp_path, {"start": "2026/27 Q1", "periods": 4}, {
        "initiatives": "id,duration\nA,2\n\n,,\nB,zero\n\n\n",
        "capacity": "resource,period,amount\ncapital,2026/27,1000\n"})
    (issue,) = errors(prioritiser.validate(path))
    assert (issue.where, issue.row, issue.column) == ("initiatives.csv", 5, "duration")  # as Excel numbers it


def test_file_names_are_matched_without_case(tmp_path):
    path = write_trust(tmp_path, {"start": "2026/27 Q1", "periods": 4}, {
        "Initiatives": "id,duration\nA,2\n", "CAPACITY": "resource,period,amount\ncapital,2026/27,1000\n"})
    assert list(prioritiser.load(path).ids) == ["A"]


# ---------------------------------------------------------------- booleans


@pytest.mark.parametrize("cell, value", [
    ("TRUE", True), ("true", True), ("True", True), ("yes", True), ("Yes", True), ("Y", True), ("1", True),
    ("FALSE", False), ("false", False), ("no", False), ("N", False), ("0", False), ("", False),
])
def test_boolean_spellings(tmp_path, cell, value):
    path = write_trust(tmp_path, {"start": "2026/27 Q1", "periods": 4}, {
        "initiatives": f"id,duration,mandatory\nA,2,{cell}\nB,1,false\n",
        "capacity": "resource,period,amount\ncapital,2026/27,1000\n"})
    p = prioritiser.load(path)
    assert bool(p.initiatives.loc["A", "mandatory"]) is value
    assert list(p.must_select) == [value, False]


# ---------------------------------------------------------------- Excel workbooks


def write_book(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                sheet.cell(row=r, column=c, value=value)
    book.save(path)
    return path


def test_xlsx_trailing_blank_rows_are_ignored(tmp_path):
    book = write_book(tmp_path / "trust.xlsx", {
        "Initiatives": [["id", "duration", "mandatory", "capital_cost"],
                        ["A", 2, True, 100.0],
                        [None, None, None, None],  # a blank row in the middle
                        ["B", 1.0, False, 50]],
        "capacity": [["resource", "period", "amount"], ["capital", "2026/27", 1000]],
    })
    sheet_book = openpyxl.load_workbook(book)
    ws = sheet_book["Initiatives"]
    for r in range(5, 40):  # formatted but empty rows, as Excel leaves them
        ws.cell(row=r, column=1).number_format = "0.00"
        ws.cell(row=r, column=2).value = None
    ws.cell(row=60, column=3).value = "   "  # a cell holding only spaces
    sheet_book.save(book)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"portfolio": "trust.xlsx", "horizon": {"start": "2026/27 Q1", "periods": 4}}))
    assert prioritiser.validate(path) == []
    p = prioritiser.load(path)
    assert list(p.ids) == ["A", "B"]
    assert list(p.initiatives["mandatory"]) == [True, False]  # real Excel booleans
    assert list(p.initiatives["duration"]) == [2, 1]  # 1.0 from Excel is the whole number 1


def test_xlsx_rows_are_numbered_as_excel_shows_them(tmp_path):
    write_book(tmp_path / "trust.xlsx", {
        "initiatives": [["id", "duration"], ["A", 2], [None, None], [None, None], ["B", "soon"]],
        "capacity": [["resource", "period", "amount"], ["capital", "2026/27", "£1,000"]],
    })
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"portfolio": "trust.xlsx", "horizon": {"start": "2026/27 Q1", "periods": 4}}))
    places = {(i.where, i.row, i.column) for i in errors(prioritiser.validate(path))}
    assert places == {("trust.xlsx, sheet initiatives", 5, "duration"), ("trust.xlsx, sheet capacity", 2, "amount")}


def test_xlsx_month_dates_are_read_as_months(tmp_path):
    # Excel turns "2027-01" typed into a cell into the date 1 January 2027
    write_book(tmp_path / "trust.xlsx", {
        "initiatives": [["id", "duration", "earliest_start"], ["A", 2, dt.datetime(2027, 1, 1)]],
        "capacity": [["resource", "period", "amount"], ["capital", "2026/27", 1000],
                     ["capital", dt.datetime(2027, 5, 1), 10]],
    })
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"portfolio": "trust.xlsx", "horizon": MONTHS}))
    p = prioritiser.load(path)
    assert p.initiatives.loc["A", "earliest_start"] == 9
    assert list(p.capacity["periods"])[1] == (13,)


def test_xlsx_and_csv_give_the_same_portfolio(tmp_path):
    tables = {
        "initiatives": INITIATIVES.format(es="2026/27 Q2", lf="2027/28 Q4"),
        "resources": "resource,kind,external_cost,external_max\ndev,staff,100,1\n",
        "demands": "initiative,resource,offset,amount\nA,dev,build,1\nB,dev,run,0.5\n",
        "capacity": "resource,period,amount\ncapital,2026/27,1000\ncapital,2027/28,1000\ndev,2026/27,4\n"
                    "dev,2027/28,4\n",
        "dependencies": "predecessor,successor,type,lag\nA,B,finish_to_start,1\n",
        "funding": "source,resource,period,amount,milestone\nfund,capital,2027/28,300,A\n",
    }
    horizon = {"start": "2026/27 Q1", "periods": 8}
    from_csv = prioritiser.load(write_trust(tmp_path, horizon, tables))
    with pd.ExcelWriter(tmp_path / "trust.xlsx") as writer:
        for name in tables:
            pd.read_csv(tmp_path / "trust" / f"{name}.csv", dtype=str, keep_default_na=False).to_excel(
                writer, sheet_name=name, index=False)
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump({"portfolio": "trust.xlsx", "horizon": horizon}))
    from_xlsx = prioritiser.load(path)
    for attr in ("initiatives", "resources", "demands", "capacity", "funding", "dependencies"):
        pd.testing.assert_frame_equal(getattr(from_csv, attr), getattr(from_xlsx, attr), check_dtype=False,
                                      obj=attr)
