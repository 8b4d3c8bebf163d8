"""Reading the portfolio tables, as text, from a folder of CSV files or one .xlsx workbook.

Cells are read as stripped strings ("" for blank) so that validation sees exactly what the user
typed and can say which cell is wrong; typing happens in `validate`.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import Issue
from .schema import TABLES


@dataclass
class RawTable:
    name: str
    where: str  # "initiatives.csv" or "trust.xlsx, sheet initiatives"
    frame: pd.DataFrame  # all str; RangeIndex; row i is spreadsheet row i + 2

    def row_number(self, i: int) -> int:
        return int(i) + 2


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[:, [not c.startswith("Unnamed:") for c in frame.columns]]
    frame = frame.map(_cell_text) if len(frame.columns) else frame
    # Drop trailing rows that are blank in every cell (common at the end of Excel sheets).
    if len(frame):
        filled = (frame != "").any(axis=1)
        last = filled[filled].index.max() if filled.any() else -1
        frame = frame.loc[: last]
    return frame.reset_index(drop=True)


def read_tables(source: str | Path) -> tuple[dict[str, RawTable], list[Issue]]:
    """Every known table found at `source` (folder or .xlsx) and the problems met reading it."""
    source = Path(source)
    issues: list[Issue] = []
    tables: dict[str, RawTable] = {}
    if not source.exists():
        issues.append(Issue("error", str(source), "portfolio not found (expected a folder of CSV files or an .xlsx workbook)"))
        return tables, issues
    if source.is_dir():
        for name in TABLES:
            path = source / f"{name}.csv"
            if not path.exists():
                continue
            try:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            except UnicodeDecodeError:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")
            except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                issues.append(Issue("error", path.name, f"cannot be read as CSV: {str(exc).strip()}"))
                continue
            tables[name] = RawTable(name, path.name, _clean(frame))
    elif source.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            sheets = pd.read_excel(source, sheet_name=None, dtype=object, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            issues.append(Issue("error", source.name, f"cannot be opened as an Excel workbook: {exc}"))
            return tables, issues
        by_lower = {str(k).strip().lower(): k for k in sheets}
        for name in TABLES:
            if name in by_lower:
                tables[name] = RawTable(name, f"{source.name}, sheet {name}", _clean(sheets[by_lower[name]]))
    else:
        issues.append(Issue("error", source.name, "a portfolio must be a folder of CSV files or an .xlsx workbook"))
    return tables, issues
