"""Reading the portfolio tables, as text, from a folder of CSV files or one .xlsx workbook.

Cells are read as stripped strings ("" for blank) so that validation sees exactly what the user
typed and can say which cell is wrong; typing happens in `validate`. Nothing here raises on a bad
file: every problem becomes an `Issue` naming the file (or sheet).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import Issue
from .schema import TABLES

# Tried in order: UTF-8 (with or without the byte-order mark Excel writes), then Windows-1252
# (what Excel on Windows writes for "CSV" in the UK), then Latin-1, which decodes any bytes.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


@dataclass
class RawTable:
    name: str
    where: str  # "initiatives.csv" or "trust.xlsx, sheet initiatives"
    frame: pd.DataFrame  # all str; RangeIndex
    rows: list[int] | None = None  # spreadsheet row number of each frame row (header = row 1)

    def row_number(self, i: int) -> int:
        # Blank rows in the middle are dropped, so the row number comes from `rows`, not the position.
        if self.rows is not None:
            return int(self.rows[int(i)])
        return int(i) + 2


@dataclass
class ReadResult:
    tables: dict[str, RawTable] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)  # tables present but impossible to read
    found: list[str] = field(default_factory=list)  # file or sheet names seen, for hints


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    try:
        if pd.isna(value):  # pandas' own missing markers (NaT, NA)
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _clean(frame: pd.DataFrame, first_row: int = 2) -> tuple[pd.DataFrame, list[int]]:
    """Stripped text cells; rows blank in every cell dropped (Excel sheets often end with many).

    Returns the frame with a RangeIndex and the spreadsheet row number of each remaining row.
    """
    frame = frame.copy()
    frame.columns = [_cell_text(c) for c in frame.columns]
    # pandas names a blank header cell "Unnamed: n"; such a column has no name to refer to.
    frame = frame.loc[:, [not (c == "" or c.startswith("Unnamed:")) for c in frame.columns]]
    frame = frame.map(_cell_text) if len(frame.columns) else frame
    rows = list(range(first_row, first_row + len(frame)))
    if len(frame.columns) and len(frame):
        filled = (frame != "").any(axis=1).to_numpy()
        frame = frame.loc[filled]
        rows = [r for r, keep in zip(rows, filled) if keep]
    elif not len(frame.columns):
        frame, rows = frame.iloc[0:0], []
    return frame.reset_index(drop=True), rows


def _read_csv(path: Path, result: ReadResult) -> pd.DataFrame | None:
    """One CSV file as text cells, or None (with an issue) when it cannot be read."""
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.issues.append(Issue("error", name, f"cannot be opened: {exc.strerror or exc}"))
        return None
    if not data.strip():
        result.issues.append(Issue("error", name, "the file is empty; it needs at least a header row", 1))
        return None
    if data[:4] == b"PK\x03\x04":
        result.issues.append(Issue("error", name, "this is an Excel workbook saved with a .csv name; save it as "
                                   "CSV, or name the .xlsx workbook as the portfolio"))
        return None
    if b"\x00" in data:
        result.issues.append(Issue("error", name, "this is not a text CSV file (it holds binary data); "
                                   "save it from Excel as 'CSV (Comma delimited)'"))
        return None
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    header = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    if "," not in header:
        for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|' characters")):
            if sep in header:
                result.issues.append(Issue("error", name, f"the columns are separated by {what}, not commas; "
                                           "save the file as comma-separated CSV", 1))
                return None
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        result.issues.append(Issue("error", name, "the file is empty; it needs at least a header row", 1))
    except pd.errors.ParserError as exc:
        # pandas says e.g. "Expected 5 fields in line 7, saw 6": a row with more cells than the header.
        detail = str(exc).strip().replace("Error tokenizing data. C error: ", "")
        result.issues.append(Issue("error", name, f"cannot be read as CSV ({detail}); check for a row with more "
                                   "cells than the header, or an unclosed quote"))
    except (ValueError, csv.Error) as exc:
        result.issues.append(Issue("error", name, f"cannot be read as CSV ({exc})"))
    return None


def read_portfolio(source: str | Path) -> ReadResult:
    """Every known table found at `source` (folder or .xlsx) and the problems met reading it."""
    source = Path(source)
    result = ReadResult()
    if not source.exists():
        result.issues.append(Issue("error", str(source), "portfolio not found (expected a folder of CSV files or an "
                                   ".xlsx workbook)"))
        return result
    if source.is_dir():
        # Match file names without regard to case: "Initiatives.csv" is what many people will type.
        files = {p.name.lower(): p for p in source.iterdir() if p.is_file()}
        result.found = sorted(p.name for p in files.values())
        for name in TABLES:
            path = files.get(f"{name}.csv")
            if path is None:
                continue
            frame = _read_csv(path, result)
            if frame is None:
                result.unreadable.add(name)
                continue
            frame, rows = _clean(frame)
            result.tables[name] = RawTable(name, path.name, frame, rows)
    elif source.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            sheets = pd.read_excel(source, sheet_name=None, dtype=object, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            result.issues.append(Issue("error", source.name, f"cannot be opened as an Excel workbook ({exc})"))
            return result
        by_lower = {str(k).strip().lower(): k for k in sheets}
        result.found = [str(k) for k in sheets]
        for name in TABLES:
            if name in by_lower:
                frame, rows = _clean(sheets[by_lower[name]])
                result.tables[name] = RawTable(name, f"{source.name}, sheet {name}", frame, rows)
    else:
        result.issues.append(Issue("error", source.name, "a portfolio must be a folder of CSV files or an .xlsx "
                                   "workbook"))
    return result


def read_tables(source: str | Path) -> tuple[dict[str, RawTable], list[Issue]]:
    """Every known table found at `source` (folder or .xlsx) and the problems met reading it."""
    result = read_portfolio(source)
    return result.tables, result.issues
