"""Writing tables into Excel sheets that read and print well: the one place that styles a sheet.

A table is a DataFrame and a `Col` per column saying its human header and its kind (money, share,
FTE, ...), which fixes its number format and width. `write_table` lays a title, a one-line note, a
bold header row and the data out, freezes the header, puts a filter on it and sets up printing
(landscape A4, one page wide, the header repeated on every page). report.xlsx, the input template
and batch comparisons are written with it.

Every text cell goes through `cell_text`, so that text from the user's input can never become a
formula in the user's spreadsheet (see `cell_text`).
"""
from __future__ import annotations

import math
from copy import copy
from dataclasses import dataclass

import pandas as pd
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .formatting import XL_FTE, XL_INTEGER, XL_MONEY, XL_MONEY_DASH, XL_PERCENT, XL_POINTS, XL_SCORE, XL_SHARE

NHS_BLUE = "005EB8"
PALE_BLUE = "E8EDEE"  # NHS pale grey
LIVE_GREEN = "A9D18E"
FONT = "Arial"
BODY_SIZE = 10

FORMATS = {"money": XL_MONEY, "money0": XL_MONEY_DASH, "score": XL_SCORE, "percent": XL_PERCENT, "share": XL_SHARE, "fte": XL_FTE,
           "points": XL_POINTS, "integer": XL_INTEGER, "number": "#,##0.00"}
WIDTHS = {"money": 13, "money0": 12, "score": 13, "percent": 9, "share": 9, "fte": 9, "points": 9, "integer": 8, "number": 11,
          "bool": 8, "period": 11, "text": 14, "wrap": 40}
NUMERIC = set(FORMATS)
TITLE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3


@dataclass(frozen=True)
class Col:
    """How one column is shown: its header and its kind (money, money0 (zero shown as -), score, percent, share, fte, points,
    integer, number, bool, period, text or wrap: long text wrapped in a wide column)."""

    header: str
    kind: str = "text"
    width: float | None = None


def cell_text(value) -> str:
    """A text cell as written: text the user typed is shown as text, never run as a formula
    (outputs.save_workbook turns any cell that openpyxl took for a formula back into text)."""
    return str(value)


def cell_value(value, kind: str):
    """The value written into a cell of this kind (blank for a missing number)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if kind in NUMERIC:
        try:
            x = float(value)
        except (TypeError, ValueError):
            return cell_text(value)
        if math.isnan(x):
            return None
        if kind == "integer":
            return int(round(x))
        if kind.startswith("money"):
            return round(x, 2) if abs(x) >= 0.005 else 0.0
        return x
    if kind == "bool":
        return "Yes" if bool(value) else "No"
    text = cell_text(value)
    return text


def header_style(cell) -> None:
    cell.font = Font(name=FONT, bold=True, color="FFFFFF", size=BODY_SIZE)
    cell.fill = PatternFill("solid", fgColor=NHS_BLUE)
    cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    cell.border = Border(bottom=Side(style="thin", color="FFFFFF"))


def write_title(ws, title: str, note: str | None, width: int) -> None:
    """Row 1: the title; row 2: a short note on how to read the sheet (merged across the table)."""
    ws.cell(TITLE_ROW, 1, cell_text(title)).font = Font(name=FONT, bold=True, size=14, color=NHS_BLUE)
    ws.row_dimensions[TITLE_ROW].height = 22
    if note:
        cell = ws.cell(NOTE_ROW, 1, cell_text(note))
        cell.font = Font(name=FONT, italic=True, size=9, color="425563")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if width > 1:
            ws.merge_cells(start_row=NOTE_ROW, start_column=1, end_row=NOTE_ROW, end_column=width)
        ws.row_dimensions[NOTE_ROW].height = 12.5 * max(1, math.ceil(len(note) / max(40, 1.1 * _span(ws, width))))


def _span(ws, width: int) -> float:
    return sum(ws.column_dimensions[get_column_letter(j)].width or 10 for j in range(1, width + 1))


@dataclass
class Area:
    """Where `write_table` put a table: header row, first and last data row, column letters by key."""

    header_row: int
    first_row: int
    last_row: int
    letters: dict[str, str]

    def ref(self, key: str, header: bool = False) -> str:
        col = self.letters[key]
        return f"${col}${self.header_row if header else self.first_row}:${col}${max(self.last_row, self.first_row)}"


def write_table(ws, frame: pd.DataFrame, cols: dict[str, Col], *, title: str, note: str | None = None,
                freeze_columns: int = 1, filters: bool = True, header_row: int = HEADER_ROW) -> Area:
    """The columns of `frame` named in `cols`, in that order, as a titled, filtered, print-ready table."""
    keys = list(cols)
    for j, key in enumerate(keys, start=1):
        spec = cols[key]
        ws.column_dimensions[get_column_letter(j)].width = spec.width or _width(frame, key, spec)
    write_title(ws, title, note, len(keys))
    for j, key in enumerate(keys, start=1):
        header_style(ws.cell(header_row, j, cell_text(cols[key].header)))
    ws.row_dimensions[header_row].height = 15 * max(1, max(_header_lines(ws, j, cols[k]) for j, k in
                                                           enumerate(keys, start=1)))
    styles = [column_style(ws, cols[key]) for key in keys]
    wrapped = {key: ws.column_dimensions[get_column_letter(j)].width for j, key in enumerate(keys, start=1)
               if cols[key].kind == "wrap"}
    kinds = [cols[key].kind for key in keys]
    for n, row in enumerate(frame[keys].itertuples(index=False), start=header_row + 1):
        for j, (kind, value, style) in enumerate(zip(kinds, row, styles), start=1):
            cell = ws.cell(n, j, cell_value(value, kind))
            cell._style = copy(style)
        if wrapped:  # spreadsheets do not grow a row for wrapped text they did not lay out themselves
            values = dict(zip(keys, row))
            lines = max(text_lines(values[key], width) for key, width in wrapped.items())
            ws.row_dimensions[n].height = LINE_HEIGHT * lines + 2
    last = header_row + len(frame)
    if filters and len(keys):
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(keys))}{max(last, header_row + 1)}"
    ws.freeze_panes = ws.cell(header_row + 1, freeze_columns + 1)
    print_setup(ws, title_rows=f"{header_row}:{header_row}")
    return Area(header_row, header_row + 1, last, {k: get_column_letter(j) for j, k in enumerate(keys, start=1)})


LINE_HEIGHT = 12.75  # points per line of 10-point text


def text_lines(value, width: float) -> int:
    """Lines a text needs when wrapped in a column `width` characters wide (word by word)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 1
    room = max(1.0, width * 1.25 - 1)  # 10-point Arial fits about 1.25 characters per width unit
    lines, used = 1, 0
    for word in str(value).split():
        need = len(word) + (1 if used else 0)
        if used and used + need > room:
            lines, used = lines + 1, len(word)
        else:
            used += need
    return lines


def column_style(ws, spec: Col):
    """The style of a column's data cells, made once: copying it to each cell is much quicker than
    setting font, alignment and format cell by cell (what makes a 2,000-row sheet slow)."""
    scratch = ws.parent.create_sheet("_style") if "_style" not in ws.parent.sheetnames else ws.parent["_style"]
    cell = scratch.cell(1, 1)
    cell.font = Font(name=FONT, size=BODY_SIZE)
    cell.alignment = Alignment(wrap_text=True, vertical="top", indent=1) if spec.kind == "wrap" else \
        Alignment(vertical="top")
    cell.number_format = FORMATS.get(spec.kind, "General")
    style = copy(cell._style)
    ws.parent.remove(scratch)
    return style


def styled(ws, **attributes):
    """A style made once from font=, fill=, alignment=, number_format= (see column_style)."""
    scratch = ws.parent.create_sheet("_style")
    cell = scratch.cell(1, 1)
    for name, value in attributes.items():
        setattr(cell, name, value)
    style = copy(cell._style)
    ws.parent.remove(scratch)
    return style


def _header_lines(ws, j: int, spec: Col) -> int:
    return text_lines(spec.header, ws.column_dimensions[get_column_letter(j)].width or 10)


def _width(frame: pd.DataFrame, key: str, spec: Col) -> float:
    if spec.kind != "text":
        return WIDTHS.get(spec.kind, 12)
    longest = max([len(str(v)) for v in frame[key].head(500)] + [8]) if key in frame else 8
    return float(min(max(longest + 2, len(spec.header) // 2 + 2, 8), 36))


def print_setup(ws, *, title_rows: str | None = None, fit_height: int = 0, landscape: bool = True) -> None:
    """Landscape A4, one page wide (and `fit_height` pages tall; 0 = as many as needed), narrow
    margins, the header rows repeated on every page, the sheet's name and page number in the footer."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = fit_height
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.3
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"
    ws.oddFooter.left.size = ws.oddFooter.right.size = 8


def widths(ws, values: dict[str, float]) -> None:
    for letter, width in values.items():
        ws.column_dimensions[letter].width = width

