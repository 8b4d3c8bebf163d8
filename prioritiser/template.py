"""`prioritiser template PATH.xlsx`: an input workbook to fill in, and a scenario that reads it.

Every table of the format (`schema.TABLES`) is a sheet with its headers and an example row (a
comment on it says to overwrite or delete it; the examples together are a valid portfolio), each
header carries a comment with the column's meaning, unit and default, and the cells are checked
as they are typed (Excel data validation): drop-downs for choices, true/false, period labels of the
horizon, initiative ids and resource names; whole numbers where the format wants them; limits on
numbers. A Notes sheet, generated from schema.py, explains every column. Beside the workbook goes
PATH.yaml, a scenario with the horizon the period lists were made for. Nothing that exists is
ever overwritten.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .periods import Granularity, Horizon, fy_label
from .schema import DEPENDENCY_TYPES, MONEY_RESOURCES, REQUIRED, TABLES, Column, Table
from .xlsx import Col, header_style, print_setup, write_table

ROWS = 1000  # rows of each sheet that carry the drop-downs and checks
EXAMPLE_NOTE = "Example row: overwrite it with your own, or delete the row."
ALIGNMENT_EXAMPLE = "score_trust"  # an example of the score_<objective> columns

# One example per table (initiatives has two, so that the dependency example links them). Together
# they validate: a template written and validated straight away reports no errors.
EXAMPLES: dict[str, list[dict]] = {
    "initiatives": [
        {"id": "EXAMPLE-01", "name": "Example: e-rostering", "directorate": "Workforce", "category": "operational",
         "duration": 4, "mandatory": "false", "capital_cost": 400000, "revenue_cost": 100000, "running_cost": 20000,
         "benefit": 90000, "revenue": 0, "ramp": 2, ALIGNMENT_EXAMPLE: 3},
        {"id": "EXAMPLE-02", "name": "Example: rostering app for bank staff", "directorate": "Workforce",
         "category": "operational", "duration": 2, "mandatory": "false", "capital_cost": 80000,
         "revenue_cost": 20000, "benefit": 30000, ALIGNMENT_EXAMPLE: 2},
    ],
    "resources": [{"resource": "developer", "kind": "staff", "external_cost": 36000, "external_max": 1}],
    "demands": [{"initiative": "EXAMPLE-01", "resource": "developer", "offset": "build", "amount": 1}],
    "capacity": [{"resource": "capital", "period": "{fy1}", "amount": 1000000},
                 {"resource": "revenue", "period": "{fy1}", "amount": 500000},
                 {"resource": "developer", "period": "{p1}", "amount": 2}],
    "dependencies": [{"predecessor": "EXAMPLE-01", "successor": "EXAMPLE-02", "type": "finish_to_start", "lag": 0}],
    "funding": [{"source": "hospital-charity", "resource": "revenue", "period": "{fy1}", "amount": 50000}],
    "training": [{"initiative": "EXAMPLE-01", "staff_group": "nurses", "headcount": 40, "bank_locum_share": 0.2,
                  "hours_each": 3, "bank_rate": 25}],
}

TYPE_WORDS = {"id": "text: letters, digits, - _ .", "ref": "an initiative id", "resource": "a resource name",
              "text": "text", "integer": "whole number", "number": "number", "money": "£, a plain number",
              "bool": "true or false", "period": "period label", "offset": "k (whole number), build or run",
              "choice": "one of the listed values"}


def default_start(today: dt.date | None = None, granularity: Granularity = Granularity.QUARTER) -> str:
    """The first period of the next financial year (plans are made for the year ahead)."""
    today = today or dt.date.today()
    year = today.year if today.month >= 4 else today.year - 1
    return {Granularity.QUARTER: f"{fy_label(year + 1)} Q1", Granularity.MONTH: f"{year + 1}-04",
            Granularity.YEAR: fy_label(year + 1)}[granularity]


def write_template(path: str | Path, start: str | None = None, periods: int = 20,
                   granularity: str = "quarter") -> tuple[Path, Path]:
    """Write PATH.xlsx and PATH.yaml; FileExistsError if either exists (nothing is overwritten)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"the template is an Excel workbook: give a name ending in .xlsx, not {path.name!r}")
    scenario = path.with_suffix(".yaml")
    g = Granularity(granularity)
    horizon = Horizon(start or default_start(granularity=g), int(periods), g)
    for target in (path, scenario):
        if target.exists():
            raise FileExistsError(f"{target} already exists; choose another name (nothing was overwritten)")
    book = template_book(horizon)
    _create(path, book.save)
    try:
        _create(scenario, lambda p: Path(p).write_text(scenario_text(path.name, horizon)))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, scenario


def _create(target: Path, write) -> None:
    """Write through a temporary file and link it into place, which fails if `target` exists."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.link(tmp, target)
    finally:
        os.unlink(tmp)


def scenario_text(workbook: str, horizon: Horizon) -> str:
    doc = {"name": Path(workbook).stem, "description": "Written by prioritiser template: edit to suit",
           "portfolio": workbook,
           "horizon": {"start": horizon.start, "periods": horizon.T, "granularity": horizon.granularity.value},
           "objective": {"discount_rate": 0.035,
                         "weights": {"benefit": 1, "revenue": 1, "in_year_revenue": 0, "alignment": 0, "cost": 1},
                         "alignment_weights": {ALIGNMENT_EXAMPLE.removeprefix("score_"): 1.0}},
           "external": True, "solver": {"name": "highs", "time_limit": 60, "gap": 0.001}}
    head = ("# A scenario for the portfolio workbook beside it. The period drop-downs in the workbook list\n"
            "# this horizon's labels. Check it with: prioritiser validate THIS_FILE; solve with: prioritiser run\n")
    return head + yaml.safe_dump(doc, sort_keys=False)


# ------------------------------------------------------------------------------------ workbook
def template_book(horizon: Horizon) -> Workbook:
    book = Workbook()
    book.remove(book.active)
    lists = _lists_sheet(book, horizon)
    for table in TABLES.values():
        _table_sheet(book.create_sheet(table.name), table, horizon, lists)
    _notes_sheet(book.create_sheet("Notes", 0), horizon)
    book.move_sheet("Lists", offset=len(book.sheetnames))
    book.active = 1
    return book


def _columns(table: Table) -> list[Column]:
    cols = list(table.columns)
    if table.name == "initiatives":
        pattern = table.pattern_columns[0]
        cols.append(Column(ALIGNMENT_EXAMPLE, pattern.type, pattern.default, pattern.unit,
                           pattern.meaning, minimum=pattern.minimum, maximum=pattern.maximum))
    return cols


def _table_sheet(ws, table: Table, horizon: Horizon, lists: dict[str, str]) -> None:
    cols = _columns(table)
    for j, col in enumerate(cols, start=1):
        cell = ws.cell(1, j, col.name)
        header_style(cell)
        cell.comment = Comment(_column_note(table, col), "prioritiser", width=320, height=140)
        ws.column_dimensions[get_column_letter(j)].width = max(12, min(34, len(col.name) + 4))
        if col.type in ("id", "ref", "resource", "text", "period", "offset", "choice"):
            for r in range(2, ROWS + 2):
                ws.cell(r, j).number_format = "@"  # typed labels stay text (Excel turns 2026-04 into a date)
        _validate(ws, j, table, col, horizon, lists)
    labels = {"fy1": horizon.fy_labels[0], "p1": horizon.labels[0]}
    for n, example in enumerate(EXAMPLES.get(table.name, []), start=2):
        for j, col in enumerate(cols, start=1):
            value = example.get(col.name)
            if isinstance(value, str):
                value = value.format(**labels)
            cell = ws.cell(n, j, value)
            cell.font = Font(italic=True, color="425563")
        ws.cell(n, 1).comment = Comment(EXAMPLE_NOTE, "prioritiser")
    ws.freeze_panes = "B2"
    ws.row_dimensions[1].height = 30
    print_setup(ws, title_rows="1:1")


def _column_note(table: Table, col: Column) -> str:
    unit = f" Unit: {col.unit}." if col.unit else ""
    return f"{col.name}: {col.meaning or TYPE_WORDS[col.type]}.{unit} {_default_words(table, col)}"


def _default_words(table: Table, col: Column) -> str:
    if col.default is REQUIRED:
        return "Required."
    if col.default in (None, ""):
        return "Blank = none." if col.type != "text" else "Optional."
    default = str(col.default).lower() if isinstance(col.default, bool) else f"{col.default:g}" \
        if isinstance(col.default, float) else str(col.default)
    return f"Blank = {default}."


# ------------------------------------------------------------------------------- data validation
def _lists_sheet(book: Workbook, horizon: Horizon) -> dict[str, str]:
    """A hidden sheet of the drop-down lists too long to write inline; returns name -> range."""
    ws = book.create_sheet("Lists")
    columns = {
        "periods": horizon.labels,
        "periods_and_years": horizon.labels + [fy for fy in horizon.fy_labels if fy not in horizon.labels],
        "offsets": ["build", "run", *range(0, max(12, horizon.T))],
        "resources": [*MONEY_RESOURCES, *[f'=IF(resources!A{r}="","",resources!A{r})' for r in range(2, ROWS + 2)]],
    }
    ranges = {}
    for j, (name, values) in enumerate(columns.items(), start=1):
        letter = get_column_letter(j)
        ws.cell(1, j, name).font = Font(bold=True)
        for r, value in enumerate(values, start=2):
            ws.cell(r, j, value).number_format = "@" if isinstance(value, str) and not value.startswith("=") else \
                "General"
        ranges[name] = f"=Lists!${letter}$2:${letter}${len(values) + 1}"
    ws.sheet_state = "hidden"
    return ranges


def _rule(table: Table, col: Column, lists: dict[str, str]) -> DataValidation | None:
    """The check Excel applies as a cell of this column is typed (None: free text)."""
    inline = lambda values: '"' + ",".join(values) + '"'  # noqa: E731
    if col.type == "choice":
        return DataValidation("list", formula1=inline(col.choices))
    if col.type == "bool":
        return DataValidation("list", formula1=inline(("true", "false")))
    if col.type == "period":
        return DataValidation("list", formula1=lists["periods_and_years" if "year" in col.unit else "periods"])
    if col.type == "offset":  # any k >= 0 is allowed: the list offers the common ones
        return DataValidation("list", formula1=lists["offsets"], errorStyle="warning")
    if col.type == "ref":
        return DataValidation("list", formula1=f"=initiatives!$A$2:$A${ROWS + 1}")
    if col.type == "resource":
        return DataValidation("list", formula1=lists["resources"])
    if col.type in ("integer", "number", "money"):
        kind = "whole" if col.type == "integer" else "decimal"
        low = col.minimum if col.minimum is not None else -1e15
        if col.maximum is not None:
            return DataValidation(kind, operator="between", formula1=f"{low:g}", formula2=f"{col.maximum:g}")
        return DataValidation(kind, operator="greaterThanOrEqual", formula1=f"{low:g}")
    return None


def _validate(ws, j: int, table: Table, col: Column, horizon: Horizon, lists: dict[str, str]) -> None:
    dv = _rule(table, col, lists)
    if dv is None:
        return
    letter = get_column_letter(j)
    dv.allow_blank = True
    dv.showErrorMessage = True
    dv.showInputMessage = True
    dv.errorTitle = f"{col.name}"[:32]
    dv.error = _check_words(col, horizon)[:255]
    dv.promptTitle = col.name[:32]
    dv.prompt = _column_note(table, col)[:255]
    dv.add(f"{letter}2:{letter}{ROWS + 1}")
    ws.add_data_validation(dv)


def _check_words(col: Column, horizon: Horizon) -> str:
    if col.type == "period":
        return f"A period label of the horizon, e.g. {horizon.labels[0]}" + \
            (f" (or a financial year, e.g. {horizon.fy_labels[0]})" if "year" in col.unit else "")
    if col.type in ("choice", "bool"):
        return "Pick one of: " + ", ".join(col.choices or ("true", "false"))
    if col.type in ("integer", "number", "money"):
        what = "a whole number" if col.type == "integer" else "a number"
        limits = [f">= {col.minimum:g}" if col.minimum is not None else "",
                  f"<= {col.maximum:g}" if col.maximum is not None else ""]
        return f"{col.name} is {what} " + " and ".join(x for x in limits if x)
    if col.type == "ref":
        return "An initiative id from the initiatives sheet"
    if col.type == "resource":
        return "capital, revenue or a resource of the resources sheet"
    return TYPE_WORDS[col.type]


# ----------------------------------------------------------------------------------------- notes
def _notes_sheet(ws, horizon: Horizon) -> None:
    rows = []
    for table in TABLES.values():
        for col in _columns(table):
            rows.append({"sheet": table.name, "column": col.name,
                         "required": "yes" if col.required else "no",
                         "type": TYPE_WORDS[col.type] + (f": {', '.join(col.choices)}" if col.choices else ""),
                         "unit": col.unit, "default": _default_words(table, col),
                         "meaning": col.meaning + (" (an example: name the column score_<objective>)"
                                                   if col.name == ALIGNMENT_EXAMPLE else "")})
    import pandas as pd

    frame = pd.DataFrame(rows)
    cols = {"sheet": Col("Sheet", width=13), "column": Col("Column", width=22), "required": Col("Required", width=9),
            "type": Col("Type", "wrap", 28), "unit": Col("Unit", "wrap", 16), "default": Col("If blank", "wrap", 16),
            "meaning": Col("Meaning", "wrap", 60)}
    tables = "; ".join(f"{t.name} ({'required' if t.required else 'optional'}: {t.meaning})" for t in TABLES.values())
    write_table(ws, frame, cols, title="How to fill in this workbook",
                note=(f"One sheet per table: {tables}. Keep the header row; replace or delete the example rows "
                      "(grey); add one row per item. Money is in pounds as plain numbers, staff in FTE. Period "
                      f"labels look like {horizon.labels[0]} (the drop-downs list this scenario's horizon, "
                      f"{horizon.labels[0]} to {horizon.labels[-1]}); a financial year like {horizon.fy_labels[0]} "
                      "may stand for a whole year in capacity and funding. Then run: prioritiser validate "
                      "the .yaml beside this workbook."))
