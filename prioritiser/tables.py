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
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pandas as pd

from . import limits
from .errors import InputError, Issue
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


def _table_from_rows(rows, where: str, result: ReadResult) -> tuple[pd.DataFrame, list[int]] | None:
    """Header row + data rows (lists of raw cells) -> text frame and each row's spreadsheet number.

    Rows blank in every cell are dropped (Excel sheets often end with many) but keep numbering the
    rows after them, so that a reported row number is the one the user sees.
    """
    rows = iter(rows)
    header = [_cell_text(c) for c in next(rows, [])]
    while header and header[-1] == "":
        header.pop()
    if not header:
        result.issues.append(Issue("error", where, "the header row (row 1) is empty; it must name the columns", 1))
        return None
    seen: dict[str, int] = {}
    for n, name in enumerate(header):
        if name and name in seen:
            result.issues.append(Issue("error", where, f"column {name!r} appears twice in the header (columns "
                                       f"{_column_letter(seen[name])} and {_column_letter(n)}); the second is ignored",
                                       1, name))
        seen.setdefault(name, n)
    keep = [n for n, name in enumerate(header) if name and seen[name] == n]  # a blank header names nothing
    width = len(header)
    cells, numbers = [], []
    for number, row in enumerate(rows, start=2):
        text = [_cell_text(c) for c in row]
        extra = [c for c in text[width:] if c != ""]
        if extra:
            result.issues.append(Issue("error", where, f"this row has more cells than the header names ({extra[0]!r} "
                                       f"is in column {_column_letter(width + text[width:].index(extra[0]))}, which "
                                       "has no header)", number))
        text = (text + [""] * width)[:width]
        if any(text):
            cells.append([text[n] for n in keep])
            numbers.append(number)
    frame = pd.DataFrame(cells, columns=[header[n] for n in keep], dtype=object)
    if not cells:
        frame = pd.DataFrame({header[n]: pd.Series(dtype=object) for n in keep})
    return frame, numbers


def _column_letter(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names a column."""
    letters = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _bounded(rows, where: str):
    """The rows of one table, refused once they pass the row or cell limit: a sheet of a million
    blank rows is stopped after the limit, not read to the end."""
    max_rows, max_cells = limits.value("ROWS"), limits.value("CELLS")
    cells = 0
    for n, row in enumerate(rows):  # n = 0 is the header
        cells += len(row)
        if n > max_rows:
            raise limits.Exceeded(limits.refusal("ROWS", f"{where} has more than {max_rows:,.0f} rows"))
        if cells > max_cells:
            raise limits.Exceeded(limits.refusal("CELLS", f"{where} has more than {max_cells:,.0f} cells"))
        yield row


_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f]")


def _looks_binary(data: bytes) -> bool:
    """Many control bytes: a picture or a program, not text. A text file with a stray one (a NUL
    pasted into a cell) is read, and validation names the cell."""
    found = len(_BINARY.findall(data, 0, 1 << 20))
    return found > 100 or found > len(data[:1 << 20]) / 20


def _read_csv(path: Path, result: ReadResult) -> tuple[pd.DataFrame, list[int]] | None:
    """One CSV file as text cells, or None (with an issue) when it cannot be read."""
    name = path.name
    try:
        data = limits.read_file(path, "FILE_MB")
    except limits.Exceeded as exc:
        result.issues.append(Issue("error", name, str(exc)))
        return None
    except OSError as exc:
        result.issues.append(Issue("error", name, f"cannot be opened: {exc.strerror or exc}"))
        return None
    if data[:4] == b"PK\x03\x04":
        result.issues.append(Issue("error", name, "this is an Excel workbook saved with a .csv name; save it as "
                                   "CSV, or name the .xlsx workbook as the portfolio"))
        return None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        result.issues.append(Issue("error", name, "this file is saved as UTF-16 'Unicode Text'; save it from Excel "
                                   "as 'CSV UTF-8 (Comma delimited)'"))
        return None
    if _looks_binary(data):
        result.issues.append(Issue("error", name, "this is not a text CSV file (it holds binary data); "
                                   "save it from Excel as 'CSV (Comma delimited)'"))
        return None
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if not text.strip():
        result.issues.append(Issue("error", name, "the file is empty; it needs at least a header row", 1))
        return None
    header = text.splitlines()[0]
    if "," not in header:
        for sep, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|' characters")):
            if sep in header:
                result.issues.append(Issue("error", name, f"the columns are separated by {what}, not commas; "
                                           "save the file as comma-separated CSV", 1))
                return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = list(_bounded(reader, name))
    except limits.Exceeded as exc:
        result.issues.append(Issue("error", name, str(exc)))
        return None
    except csv.Error as exc:
        # strict parsing: a stray or unclosed quote is reported rather than silently eating rows
        result.issues.append(Issue("error", name, f"cannot be read as CSV near line {reader.line_num} ({exc}); "
                                   "check for an unclosed or stray quote (\")"))
        return None
    return _table_from_rows(rows, name, result)


_XML_START = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)  # declarations and comments before the root
_PROLOG_MAX = 1 << 20


def _declares_entities(stream) -> bool:
    """Whether an XML part has a document type declaration (where entities are declared) before its
    root element. Only the prolog is read: it ends where the first element starts."""
    head = b""
    while len(head) <= _PROLOG_MAX:
        chunk = stream.read(65536)
        head += chunk
        pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0  # a UTF-8 byte-order mark
        while (m := _XML_START.match(head, pos)) is not None:
            pos = m.end()
        rest = head[pos:].lstrip()
        if rest.startswith((b"<!DOCTYPE", b"<!ENTITY")):
            return True
        if rest[:1] == b"<" and rest[1:2] not in (b"?", b"!", b""):
            return False  # the root element: the prolog is over
        if (rest and rest[:1] != b"<") or not chunk:
            return False  # not XML markup (a picture, say), or the end: nothing for a parser to expand
    return True  # a megabyte of comments before the root is no workbook Excel wrote


def _check_workbook(source: Path) -> str | None:
    """Why a workbook must not be opened, or None: too big on disk, too big once uncompressed (as its
    zip directory declares; Python's zip reader never inflates a part past its declared size), a
    part compressed suspiciously well, or XML entity declarations (which can expand without bound)."""
    try:
        limits.check_size(source, "FILE_MB")
        with zipfile.ZipFile(source) as book:
            parts = book.infolist()
            found = sum(p.file_size for p in parts) / 1e6
            if found > limits.value("XLSX_MB"):
                return limits.refusal("XLSX_MB", f"the workbook holds {found:,.1f} MB once uncompressed", found)
            for part in parts:
                ratio = part.file_size / max(part.compress_size, 1)
                if part.file_size > 1e6 and ratio > limits.value("XLSX_RATIO"):
                    return limits.refusal("XLSX_RATIO", f"the part {part.filename} of the workbook inflates "
                                          f"{ratio:,.0f} times (to {part.file_size / 1e6:,.1f} MB)", ratio)
            for part in parts:
                if part.filename.lower().endswith((".xml", ".rels", ".vml")):
                    with book.open(part) as stream:
                        if _declares_entities(stream):
                            return (f"the part {part.filename} declares XML entities (a document type declaration), "
                                    "which Excel never writes and which can be used to attack the computer that "
                                    "opens it; prioritiser does not read it. Save the workbook again from Excel")
    except limits.Exceeded as exc:
        return str(exc)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        return f"cannot be opened as an Excel workbook ({exc})"
    return None


def _read_workbook(source: Path, result: ReadResult) -> None:
    problem = _check_workbook(source)
    if problem is not None:
        result.issues.append(Issue("error", source.name, problem))
        return
    try:
        book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        result.issues.append(Issue("error", source.name, f"cannot be opened as an Excel workbook ({exc})"))
        return
    try:
        by_lower: dict[str, str] = {}
        for name in book.sheetnames:  # the exact name first: 'initiatives' wins over 'Initiatives '
            key = name.strip().lower()
            if key in TABLES and key in by_lower:
                pair = sorted((by_lower[key], name), key=lambda n: n != key)
                result.issues.append(Issue("error", source.name, f"two sheets are named {key} ({pair[0]!r} and "
                                           f"{pair[1]!r}); {pair[0]!r} is read: rename or remove the other"))
            if key not in by_lower or name == key:
                by_lower[key] = name
        result.found = list(book.sheetnames)
        for name in TABLES:
            if name not in by_lower:
                continue
            sheet = book[by_lower[name]]
            where = f"{source.name}, sheet {name}"
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # some programs write wrong sheet sizes; read what is there
            try:
                got = _table_from_rows(_bounded(sheet.iter_rows(values_only=True), where), where, result)
            except limits.Exceeded as exc:
                result.issues.append(Issue("error", where, str(exc)))
                got = None
            except Exception as exc:  # a damaged sheet inside a workbook that opened
                result.issues.append(Issue("error", where, f"cannot be read ({exc})"))
                got = None
            if got is None:
                result.unreadable.add(name)
            else:
                result.tables[name] = RawTable(name, where, *got)
    finally:
        book.close()


def _table_files(folder: Path) -> dict[str, Path]:
    """The CSV file of each table found in a folder. File names match without regard to case:
    "Initiatives.csv" is what many people will type."""
    files = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}
    return {name: files[f"{name}.csv"] for name in TABLES if f"{name}.csv" in files}


def portfolio_files(source: str | Path) -> list[Path]:
    """The files `read_portfolio` reads at `source`, in name order (for the input hash)."""
    source = Path(source)
    if source.is_dir():
        return sorted(_table_files(source).values(), key=lambda p: p.name)
    return [source]


def read_csv_table(path: str | Path, where: str | None = None) -> tuple[RawTable | None, list[Issue]]:
    """One CSV file outside the portfolio (an approved plan) as text cells, and the problems met."""
    path = Path(path)
    result = ReadResult()
    got = _read_csv(path, result)
    where = where or path.name
    issues = [Issue(i.severity, where, i.message, i.row, i.column) for i in result.issues]
    return (RawTable(path.stem, where, *got) if got is not None else None), issues


def read_portfolio(source: str | Path) -> ReadResult:
    """Every known table found at `source` (folder or .xlsx) and the problems met reading it."""
    result = ReadResult()
    try:
        _read_portfolio(Path(source), result)
    except InputError as exc:  # a limit set to nonsense in the environment
        result.issues.extend(exc.issues)
    return result


def _read_portfolio(source: Path, result: ReadResult) -> None:
    if not source.exists():
        result.issues.append(Issue("error", str(source), "portfolio not found (expected a folder of CSV files or an "
                                   ".xlsx workbook)"))
        return
    if source.is_dir():
        result.found = sorted(p.name for p in source.iterdir() if p.is_file())
        for name, path in _table_files(source).items():
            got = _read_csv(path, result)
            if got is None:
                result.unreadable.add(name)
            else:
                result.tables[name] = RawTable(name, path.name, *got)
    elif source.suffix.lower() in (".xlsx", ".xlsm"):
        _read_workbook(source, result)
    else:
        result.issues.append(Issue("error", source.name, "a portfolio must be a folder of CSV files or an .xlsx "
                                   "workbook"))
