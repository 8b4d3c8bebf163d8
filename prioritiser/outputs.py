"""The one safe way to write results: which folders may be written or replaced, and how CSV and
Excel files are written so that no cell is ever run as a formula (see docs/security.md).

Folders. A result folder's name is a slug of the scenario's name (no separators, no `..`, no
absolute paths; collisions get -2, -3, ...). A folder is replaced only when it is ours: it holds
a summary.json or run.json that we wrote and nothing but files we write. An output root (batch,
stress, frontier) holds only our files and our result folders. Anything else is refused with an
`OutputError` that says what was found, so a user's own files are never touched.

Cells. Text starting with =, +, -, @, a tab or a carriage return is what Excel and LibreOffice
run as a formula. In a CSV such text is written with a leading single quote (OWASP's advice;
`read_csv` takes it off again); in an .xlsx it is written as a text cell, never a formula. A
number is never changed, negative or not, and neither is text that is a plain number ("-5").
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OutputError, display_path
from .processes import alive

# Files a result folder may hold: what `run` writes, the batch's record, and the explanation
# outputs of format v1.1 (benefits, changes, explain, marginal, risk, alternatives).
RESULT_FILES = {"plan.csv", "usage.csv", "summary.json", "report.xlsx", "run.json", "benefits.csv", "changes.csv",
                "explain.csv", "marginal.csv", "risk.csv", "risk-selection.csv", "alternatives.csv",
                "risk.json", "risk-drivers.csv", "risk-samples.csv", "npv-fan.png", "selection-frequency.png"}
# file -> a key we always write
MARKERS = {"summary.json": "package_version", "run.json": "engine_version", "risk.json": "package_version"}
# What an output root (batch, stress, frontier) may hold besides result folders.
ROOT_FILES = {"comparison.csv", "comparison.xlsx", "stress.csv", "stress-order.csv", "frontier.csv", "frontier.png"}
RUNNING = ".running"  # lock files of scenarios being solved
VARIANTS = "scenarios"  # the scenario files stress and frontier write (each starts with VARIANT_HEADER)
VARIANT_HEADER = "# written by prioritiser (stress or frontier): rewritten on every run, do not edit\n"
IGNORED = {".DS_Store", "Thumbs.db", "desktop.ini"}  # written by file browsers, never by a user
STAGING = re.compile(r"^\.(?P<name>.+)\.(partial|old)-(?P<pid>\d+)(-.*)?$")  # our half-written or replaced folders

# ------------------------------------------------------------------------------------- names


_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)), *(f"lpt{n}" for n in range(1, 10))}
SLUG_LENGTH = 80


def slug(name: str) -> str:
    """A folder name made from a scenario's name: letters, digits, '-', '_' and '.', never a path
    ('../../victim' -> 'victim', '/etc/x' -> 'etc-x'), never hidden, never empty."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"-{2,}", "-", text).strip("-._")[:SLUG_LENGTH].strip("-._")
    if not text:
        text = "scenario"
    if text.split(".")[0].lower() in _WINDOWS_RESERVED:
        text = f"{text}_"
    return text


def unique_slugs(names: list[str]) -> list[str]:
    """One folder name per scenario name, in order; names whose slugs collide (without regard to
    case: 'A/B' and 'a b' on a Mac) get -2, -3, ... in the order given."""
    taken: set[str] = set()
    out = []
    for name in names:
        base = candidate = slug(name)
        n = 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


# ------------------------------------------------------------------------------------- folders


def _ours_json(path: Path, key: str) -> bool:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and key in doc


def _entries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name not in IGNORED)


# what `prioritiser explain` and `alternatives` put inside a run's folder by default: still ours
EXPLANATION_FOLDERS = ("explain", "alternatives")
# and what `prioritiser risk --reoptimise` keeps in its folder: the samples' results and their inputs
RISK_FOLDERS = ("samples", "sample-inputs")


def _ours_entry(p: Path) -> bool:
    """A file of a result folder we write, or the folder of its explanations."""
    if p.is_symlink():
        return False
    return (p.name in RESULT_FILES and p.is_file()) or (p.name in EXPLANATION_FOLDERS + RISK_FOLDERS and p.is_dir())


def is_result_folder(folder: Path) -> bool:
    """Ours: a folder holding a summary.json or run.json we wrote, and only files we write."""
    folder = Path(folder)
    if not folder.is_dir() or folder.is_symlink():
        return False
    entries = _entries(folder)
    if not all(map(_ours_entry, entries)):
        return False
    return any(_ours_json(folder / name, key) for name, key in MARKERS.items() if (folder / name).exists())


def _foreign(entries: list[Path]) -> str:
    open_books = [p.name for p in entries if p.name.startswith("~$")]
    if open_books:
        return f"{open_books[0]} (a file Excel keeps while a workbook is open: close it and run again)"
    names = [p.name + ("/" if p.is_dir() else "") for p in entries]
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def check_result_target(folder: Path, what: str = "the output folder") -> None:
    """Raise OutputError unless `folder` may be (re)written as one result: absent, empty, or ours."""
    folder = Path(folder)
    if folder.is_symlink():
        raise OutputError(f"{what} {display_path(folder)} is a link; give a real folder")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{what} {display_path(folder)} is a file, not a folder; give a folder name")
    if not folder.exists():
        return
    entries = _entries(folder)
    if entries and not is_result_folder(folder):
        foreign = [p for p in entries if not _ours_entry(p)] or entries
        raise OutputError(f"{what} {display_path(folder)} is not a prioritiser result folder: it holds files "
                          f"prioritiser did not write ({_foreign(foreign)}), so it will not be replaced; choose "
                          "another folder, or move those files out")


def _our_variants(folder: Path) -> bool:
    try:
        return all(p.is_file() and p.suffix == ".yaml" and p.read_text(encoding="utf-8").startswith(VARIANT_HEADER)
                   for p in _entries(folder))
    except (OSError, UnicodeDecodeError):
        return False


def _ours_in_root(entry: Path) -> bool:
    if entry.is_symlink():
        return False
    if entry.name in ROOT_FILES:
        return entry.is_file()
    if entry.name == RUNNING:
        return entry.is_dir() and all(p.is_file() for p in entry.iterdir())
    if entry.name == VARIANTS and entry.is_dir() and _our_variants(entry):
        return True
    if STAGING.match(entry.name):
        return True
    return is_result_folder(entry) or (entry.is_dir() and not _entries(entry))


def check_output_root(root: Path, inputs=(), what: str = "--out") -> None:
    """Raise OutputError unless `root` may receive a batch's folders: not a file, holding none of
    the `inputs` (scenario files and portfolios; our own variant files aside) and nothing but our
    files and result folders."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or root.is_symlink()):
        raise OutputError(f"{what} {display_path(root)} is {'a link' if root.is_symlink() else 'a file'}, not a "
                          "folder; give a folder name")
    resolved = root.resolve()
    for path in inputs:
        path = Path(path).resolve()
        ours = path.parent == resolved / VARIANTS and _our_variants(path.parent)
        if not ours and (path == resolved or path.is_relative_to(resolved)):
            raise OutputError(f"{what} {display_path(root)} holds your input ({display_path(path)}); results "
                              "are never written among inputs: choose another folder")
    if not root.exists():
        return
    foreign = [p for p in _entries(root) if not _ours_in_root(p)]
    if foreign:
        raise OutputError(f"{what} {display_path(root)} holds files and folders prioritiser did not write "
                          f"({_foreign(foreign)}); results go only into a new or empty folder, or one of earlier "
                          "prioritiser results: choose another folder")


def check_inputs_outside(folder: Path, inputs, what: str = "--out") -> None:
    """Raise OutputError when the result folder is, or holds, one of the inputs."""
    resolved = Path(folder).resolve()
    for path in inputs:
        path = Path(path).resolve()
        if path == resolved or path.is_relative_to(resolved):
            raise OutputError(f"{what} {display_path(folder)} holds your input ({display_path(path)}); choose "
                              "another folder")


def clear_stale_staging(parent: Path, name: str, pids: set[int] | None = None) -> None:
    """Remove our half-written or half-replaced copies of `name` left by a process that was killed
    (one no longer running, or one of `pids`, known to be dead)."""
    if not parent.is_dir():
        return
    for entry in parent.iterdir():
        m = STAGING.match(entry.name)
        if m and m["name"] == name and not entry.is_symlink() and (int(m["pid"]) in (pids or ()) or
                                                                  not alive(int(m["pid"]))):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def publish(out_dir: str | Path, fill) -> Path:
    """Create or replace the result folder `out_dir` atomically: `fill(tmp)` writes into a hidden
    sibling, which is renamed into place only when complete. An existing `out_dir` is replaced
    only if it is ours (check_result_target); otherwise OutputError, and nothing is written."""
    out_dir = Path(out_dir).absolute()
    check_result_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {display_path(out_dir.parent)}: {exc.strerror or exc}") from None
    clear_stale_staging(out_dir.parent, out_dir.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-{os.getpid()}-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would hide results from colleagues
    old = None
    try:
        fill(tmp)
        check_result_target(out_dir)  # still ours: nothing appeared in it while we worked
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out_dir.exists():
            os.replace(old, out_dir)  # put the earlier result back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out_dir


def replace_file(path: Path, write) -> Path:
    """Write one file atomically: `write(tmp)` writes a hidden sibling, renamed over `path` when done."""
    path = Path(path)
    clear_stale_staging(path.parent, path.name)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# ------------------------------------------------------------------------------------- cells


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _runs(text: str) -> bool:
    """Whether a spreadsheet could take this text for a formula (or it is a quote before such text,
    which must be quoted too, so that `restore` is exact)."""
    while text.startswith("'"):
        text = text[1:]
    return text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text)


def neutralise(value):
    """A CSV cell that no spreadsheet runs: text that could be a formula gets a leading quote."""
    return "'" + value if isinstance(value, str) and _runs(value) else value


def restore(value):
    """The text `neutralise` was given (for reading our own CSV files back)."""
    return value[1:] if isinstance(value, str) and value.startswith("'") and _runs(value[1:]) else value


def _text(dtype) -> bool:
    """A column that may hold text: object, or pandas' string dtype."""
    return dtype == object or isinstance(dtype, pd.StringDtype)


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell, header and index label neutralised; numbers untouched."""
    out = frame.copy()
    for col in out.columns:
        if _text(out[col].dtype):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(c) for c in out.columns]
    if isinstance(out.index, pd.MultiIndex):
        out.index = out.index.set_levels([lvl.map(neutralise) if _text(lvl.dtype) else lvl
                                          for lvl in out.index.levels])
    elif _text(out.index.dtype):
        out.index = out.index.map(neutralise)
    out.index.names = [neutralise(n) for n in out.index.names]
    return out


def write_csv(frame: pd.DataFrame, path: Path, index: bool = False) -> Path:
    """A CSV a spreadsheet opens safely: text neutralised, fields with commas, quotes, CR or LF
    quoted (records end in CRLF, as RFC 4180 has it, which is what makes a lone CR get quoted)."""
    csv_safe(frame).to_csv(path, index=index, lineterminator="\r\n")
    return Path(path)


def read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """A CSV that `write_csv` wrote, with its text as it was before it was neutralised."""
    frame = pd.read_csv(path, **kwargs)
    for col in frame.columns:
        if _text(frame[col].dtype):
            frame[col] = frame[col].map(restore)
    frame.columns = [restore(c) for c in frame.columns]
    return frame


def cell_value(value):
    """A value an .xlsx cell can hold: None for blanks and non-finite numbers, plain Python numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (pd.Timestamp,)):
        return value.to_pydatetime()
    if isinstance(value, (int, str)) or hasattr(value, "isoformat"):
        return value
    return str(value)


def set_cell(cell, value) -> None:
    """Put a value in an openpyxl cell; text is always text (openpyxl makes '=...' a formula)."""
    cell.value = cell_value(value)
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if _runs(cell.value):
            cell.quotePrefix = True  # Excel keeps it text when the cell is edited, too


def write_frame(ws, frame: pd.DataFrame, index: bool = False, start_row: int = 1) -> None:
    """A table (header, then one row per record) into a worksheet, every cell through `set_cell`."""
    frame = frame.reset_index() if index else frame
    for j, name in enumerate(frame.columns, start=1):
        set_cell(ws.cell(row=start_row, column=j), name)
    for i, row in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for j, value in enumerate(row, start=1):
            set_cell(ws.cell(row=i, column=j), value)


def formula(cell, text: str) -> None:
    """A formula we mean to write (a total, say): the one way to put one in a workbook we save."""
    cell.value = text
    cell.parent.parent.__dict__.setdefault("_prioritiser_formulas", set()).add((cell.parent.title, cell.coordinate))


def defuse(book) -> int:
    """Turn every formula cell we did not write with `formula` into text; returns how many."""
    ours = book.__dict__.get("_prioritiser_formulas", set())
    count = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and (ws.title, cell.coordinate) not in ours:
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    count += 1
    return count


def save_workbook(book, path: Path) -> Path:
    """Save a workbook atomically after `defuse`: no cell of ours is ever a formula by accident."""
    defuse(book)
    return replace_file(Path(path), lambda tmp: book.save(tmp))
