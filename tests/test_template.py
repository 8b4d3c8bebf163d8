"""`prioritiser template`: the input workbook validates as written, carries a drop-down or check on
every column the format constrains, explains every schema column, never overwrites, and, filled in
programmatically with the sample trust, solves to the same plan as the CSV folder."""
import csv
from pathlib import Path

import openpyxl
import pytest
import yaml

import prioritiser
from conftest import run_cli
from prioritiser.schema import TABLES
from prioritiser.template import ALIGNMENT_EXAMPLE, write_template

SAMPLE = Path("scenarios/sample-trust")


def test_template_validates_as_written_and_never_overwrites(tmp_path):
    book, scenario = write_template(tmp_path / "trust.xlsx", start="2026/27 Q1", periods=20)
    assert scenario == tmp_path / "trust.yaml"
    issues = prioritiser.validate(scenario)
    assert not [i for i in issues if i.severity == "error"], [str(i) for i in issues]
    before = book.read_bytes(), scenario.read_text()
    with pytest.raises(FileExistsError):
        write_template(book)
    scenario.unlink()
    with pytest.raises(FileExistsError):  # the workbook exists: the scenario is not written either
        write_template(book)
    assert book.read_bytes() == before[0] and not scenario.exists()
    proc = run_cli("template", str(book))
    assert proc.returncode == 1 and "already exists" in proc.stderr and "Traceback" not in proc.stderr
    assert book.read_bytes() == before[0]


def _validations(ws) -> dict[str, object]:
    """Header name -> the data validation on its column."""
    names = {c.column_letter: c.value for c in ws[1]}
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            letter = rng.coord.split(":")[0].rstrip("0123456789")
            out[names[letter]] = dv
    return out


def test_every_sheet_headers_notes_and_data_validation(tmp_path):
    book_path, _ = write_template(tmp_path / "t.xlsx", start="2026/27 Q1", periods=8)
    book = openpyxl.load_workbook(book_path)
    assert set(TABLES) <= set(book.sheetnames) and "Notes" in book.sheetnames
    for name, table in TABLES.items():
        ws = book[name]
        headers = [c.value for c in ws[1] if c.value]
        assert headers[:len(table.columns)] == [c.name for c in table.columns]
        assert all(c.comment is not None and c.comment.text for c in ws[1] if c.value)  # meaning, unit, default
        assert ws.max_row >= 2 and ws["A2"].comment is not None and "Example" in ws["A2"].comment.text
    v = _validations(book["resources"])
    assert v["kind"].type == "list" and v["kind"].formula1 == '"money,staff"'
    v = _validations(book["dependencies"])
    assert v["type"].formula1 == '"finish_to_start,start_to_start,requires,excludes"'
    assert v["lag"].type == "whole"
    v = _validations(book["initiatives"])
    assert v["duration"].type == "whole" and v["duration"].formula1 == "1"
    assert v["mandatory"].formula1 == '"true,false"'
    assert v[ALIGNMENT_EXAMPLE].type == "decimal" and (v[ALIGNMENT_EXAMPLE].formula1, v[ALIGNMENT_EXAMPLE].formula2) == ("0", "5")
    periods = v["earliest_start"].formula1
    lists = book["Lists"]
    col = periods.split("!")[1].split(":")[0].replace("$", "").rstrip("0123456789")
    labels = [c.value for c in lists[col][1:] if c.value]
    assert labels == ["2026/27 Q1", "2026/27 Q2", "2026/27 Q3", "2026/27 Q4", "2027/28 Q1", "2027/28 Q2",
                      "2027/28 Q3", "2027/28 Q4"]  # period labels from the horizon
    cap = _validations(book["capacity"])["period"].formula1  # capacity also takes financial years
    col = cap.split("!")[1].split(":")[0].replace("$", "").rstrip("0123456789")
    assert {"2026/27", "2027/28"} <= {c.value for c in lists[col][1:]}
    offsets = _validations(book["demands"])["offset"]
    assert offsets.type == "list" and offsets.errorStyle == "warning"  # any k >= 0 is allowed
    if "status" in [c.name for c in TABLES["initiatives"].columns]:  # format v1.1
        assert _validations(book["initiatives"])["status"].type == "list"
    notes = book["Notes"]
    described = {(r[0].value, r[1].value) for r in notes.iter_rows(min_row=4)}
    for name, table in TABLES.items():
        for col in table.columns:
            assert (name, col.name) in described


def _rows(path: Path) -> list[list]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    def typed(x):
        try:
            return float(x) if x.strip() else None
        except ValueError:
            return x
    return [rows[0]] + [[typed(x) for x in row] for row in rows[1:]]


def test_template_filled_programmatically_solves_like_the_csv_folder(tmp_path):
    book_path, scenario = write_template(tmp_path / "trust.xlsx", start="2026/27 Q1", periods=20)
    book = openpyxl.load_workbook(book_path)
    for name in TABLES:
        ws = book[name]
        ws.delete_rows(2, ws.max_row)  # the example rows go
        source = SAMPLE / f"{name}.csv"
        if not source.exists():
            continue
        rows = _rows(source)
        header = [c.value for c in ws[1] if c.value]
        for col in rows[0]:  # the sample's own columns (its score_ columns) where the template has none
            if col not in header:
                ws.cell(1, len(header) + 1, col)
                header.append(col)
        for n, row in enumerate(rows[1:], start=2):
            for col, value in zip(rows[0], row):
                if value is not None:
                    ws.cell(n, header.index(col) + 1, value)
    book.save(book_path)
    doc = yaml.safe_load(Path("scenarios/baseline.yaml").read_text())
    doc["portfolio"] = book_path.name
    scenario.write_text(yaml.safe_dump(doc))
    issues = prioritiser.validate(scenario)
    assert not [i for i in issues if i.severity == "error"], [str(i) for i in issues]
    from_template = prioritiser.run(scenario)
    from_csv = prioritiser.run("scenarios/baseline.yaml")
    assert from_template.status.value == "optimal" and from_template.check.ok
    assert from_template.objective == pytest.approx(from_csv.objective, rel=2e-3)
    assert set(from_template.selected.index) == set(from_csv.selected.index) or \
        abs(from_template.objective - from_csv.objective) <= 2e-3 * abs(from_csv.objective)
