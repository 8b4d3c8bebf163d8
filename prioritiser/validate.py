"""Validation at the boundary: raw tables + scenario -> Portfolio, or every problem at once.

Each problem names the file (or workbook sheet), the row as the user sees it (header = row 1)
and the column. Nothing here raises on bad data except `InputError` at the very end; anything
unexpected is turned into an issue too, so that bad input never shows a traceback.

The rules run in groups over one `_Context` (the tables read so far and what earlier groups
found). A table that is missing, empty or cannot be read is reported once and the checks that
need its rows are skipped, so that one wrong sheet name gives one error, not hundreds.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import limits
from .errors import InputError, Issue, display_path
from .periods import LABEL_EXAMPLES, Granularity, Horizon, clean_label, parse_period
from .portfolio import Portfolio, no_approved_plan, targets_table
from .scenario import CONTROL, Changes, Scenario, control_characters, read_scenario
from .schema import (APPROVED_PLAN, GREEN_BOOK_UPLIFT, ID_PATTERN, MONEY_RESOURCES, REFERENCES, RISK_RANGE_BASES,
                     TABLES,
                     TRAINING_RESOURCES, Column, Table)
from .tables import RawTable, ReadResult, portfolio_files, read_csv_table, read_portfolio

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}
_ORDERED = ("finish_to_start", "start_to_start", "requires")  # dependency types that need the predecessor
_NUMERIC = ("integer", "number", "money")


class _Collector:
    def __init__(self):
        self.issues: list[Issue] = []

    def error(self, where, message, row=None, column=None):
        self.issues.append(Issue("error", where, message, None if row is None else int(row), column))

    def warn(self, where, message, row=None, column=None):
        self.issues.append(Issue("warning", where, message, None if row is None else int(row), column))

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


def _rows_text(rows: list[int], most: int = 10) -> str:
    shown = ", ".join(map(str, rows[:most]))
    return shown + (f" and {len(rows) - most} more" if len(rows) > most else "")


# --------------------------------------------------------------------------- cells -> typed columns


def _coerce_column(raw: RawTable, col: Column, out: _Collector, present: bool = True) -> pd.Series:
    """Typed values of one column; bad cells are reported and replaced by the default."""
    index = raw.frame.index
    text = raw.frame[col.name].astype(object) if col.name in raw.frame else pd.Series("", index=index, dtype=object)
    cells = text.to_numpy(object)  # plain arrays and lists: small tables are validated thousands of times
    blank = cells == ""

    def report(positions, message) -> None:
        for n in np.flatnonzero(positions):
            out.error(raw.where, message(cells[n]), raw.row_number(index[n]), col.name)

    if col.required and present:  # a missing column is reported once, not once per row
        report(blank, lambda c: "required value is blank")
    if col.type in _NUMERIC:
        return _coerce_number(raw, col, text, pd.Series(blank, index=index), out)
    low = np.array([c.lower() for c in cells], dtype=object) if col.type in ("bool", "choice") else cells
    if col.type == "bool":
        report([c not in _TRUE and c not in _FALSE for c in low],
               lambda c: f"{c!r} is not true or false (yes/no and 1/0 are fine too)")
        return pd.Series([c in _TRUE for c in low], index=index, dtype=bool)
    if col.type == "choice":
        bad = ~blank & np.array([c not in col.choices for c in low], dtype=bool)
        report(bad, lambda c: f"{c!r} is not one of: {', '.join(col.choices)}")
        return pd.Series(np.where(~blank & ~bad, low, col.default or ""), index=index, dtype=object)
    if col.type == "id":
        pattern = re.compile(ID_PATTERN)
        report(~blank & np.array([pattern.match(c) is None for c in cells], dtype=bool),
               lambda c: f"{c!r} may contain only letters, digits, '-', '_' and '.' (no spaces)")
    return text


def _coerce_number(raw: RawTable, col: Column, text: pd.Series, blank: pd.Series, out: _Collector) -> pd.Series:
    # numpy arrays, not Series: this runs for every numeric column of every table, and pandas'
    # per-operation overhead dominated validation of small portfolios
    cells, blank = text.to_numpy(object), blank.to_numpy(bool)
    values = pd.to_numeric(np.where(blank, None, cells), errors="coerce").astype(float)

    def report(positions, message) -> None:
        for n in np.flatnonzero(positions):
            out.error(raw.where, message(cells[n], values[n]), raw.row_number(text.index[n]), col.name)

    # "inf" and "1e999" parse as numbers but are not amounts anyone can plan with
    hint = " (money is a plain number: no £ sign or commas)" if col.type == "money" else ""
    kind = "a whole number" if col.type == "integer" else "a number"
    report(~blank & ~np.isfinite(values), lambda c, v: f"{c!r} is not {kind}{hint}")
    values[~np.isfinite(values)] = np.nan
    # a number no trust's plan needs (benefit=1e308) would overflow the plan's sums to infinity
    largest = limits.value("AMOUNT")
    big = np.abs(np.nan_to_num(values)) > largest
    report(big, lambda c, v: limits.refusal("AMOUNT", f"{c} is too large to plan with", abs(v)))
    values[big] = np.nan
    if col.type == "integer":
        report(~np.isnan(values) & (values != np.round(values)), lambda c, v: f"{c!r} is not a whole number")
    if col.minimum is not None:
        what = "negative" if col.minimum == 0 else f"below {col.minimum:g}"
        report(values < col.minimum, lambda c, v: f"{c} is {what}; it must be at least {col.minimum:g}")
    if col.above is not None:
        report(values <= col.above, lambda c, v: f"{c} must be more than {col.above:g}")
    if col.maximum is not None:
        report(values > col.maximum, lambda c, v: f"{c} is above the maximum {col.maximum:g}")
    default = col.default if col.default is not None and not col.required else np.nan
    return pd.Series(np.where(np.isnan(values), default, values), index=text.index, dtype=float)


# ------------------------------------------------------------------------------- headers


def _squash(name: str) -> str:
    """A header without case, spaces, underscores, hyphens or dots: 'Capital-Cost' -> 'capitalcost'."""
    return re.sub(r"[\s_\-.]+", "", str(name).lower())


def _edit_distance(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours turning a into b (Damerau)."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _close(name: str, known: str) -> bool:
    """Whether `name` is most likely `known` mistyped: the same apart from case, spaces and underscores,
    a plural, or (for names of 5 letters or more) one letter wrong, missing, extra or swapped.
    Short names need more: 'rank' is not 'ramp' mistyped, nor 'tag' 'lag'."""
    a, b = _squash(name), _squash(known)
    if a == b or a in (b + "s", b + "es"):
        return True
    return len(b) >= 5 and _edit_distance(a, b) <= 1


def _near_column(name: str, table: Table) -> str | None:
    """The declared column an unknown header most likely misspells, or None."""
    near = [c.name for c in table.columns if _close(name, c.name)]
    return min(near, key=lambda c: _edit_distance(_squash(name), _squash(c))) if near else None


def _canonical_headers(raw: RawTable, table: Table) -> None:
    """Accept 'Duration' or 'Capital Cost' for a declared column: people retype headers."""
    declared = {c.name for c in table.columns}
    rename = {}
    for name in raw.frame.columns:
        key = re.sub(r"\s+", "_", name.strip().lower())
        if name in declared:
            continue
        if key in declared or any(key.startswith(p.name) for p in table.pattern_columns):
            if key not in raw.frame.columns and key not in rename.values():
                rename[name] = key
    if rename:
        raw.frame = raw.frame.rename(columns=rename)


def _check_headers(raw: RawTable, table: Table, out: _Collector) -> list[str]:
    """Missing required columns and misspelt ones (errors); returns the columns passed through unread.

    A misspelt header must not quietly turn a column into its default (capital 0 everywhere), so a
    name close to a declared column is an error; any other column of the user's own is kept."""
    found = list(raw.frame.columns)
    unknown = [c for c in found if table.column(c) is None]
    near = {name: _near_column(name, table) for name in unknown}
    for col in table.columns:
        if col.required and col.name not in found:
            typo = [name for name in unknown if near[name] == col.name]
            guess = typo or difflib.get_close_matches(col.name, unknown, n=1, cutoff=0.6)
            hint = f"; did you mean {guess[0]!r}? (rename that header {col.name!r})" if guess else ""
            out.error(raw.where, f"required column {col.name!r} is missing{hint} "
                      f"(columns found: {', '.join(found) or 'none'})", 1, col.name)
    for name in unknown:
        known = near[name]
        if known is None or (known not in found and table.column(known).required):
            continue  # passed through; or reported above, as the missing required column
        if known in found:
            fix = f"({known!r} is there too: remove or rename one)"
        else:
            fix = (f"If so, rename it: as it is, {known} is read as {_default_text(table.column(known))} on every row (a column "
                   "of your own needs a name less like it)")
        out.error(raw.where, f"column {name!r} is not one prioritiser reads; did you mean {known!r}? {fix}", 1, name)
    return [name for name in unknown if near[name] is None]


def _default_text(col: Column) -> str:
    if col.default in (None, ""):
        return "blank"
    if isinstance(col.default, bool):
        return str(col.default).lower()
    return f"{col.default:g}" if isinstance(col.default, float) else str(col.default)


def _typed_table(raw: RawTable | None, table: Table, out: _Collector) -> tuple[pd.DataFrame, list[str]]:
    """All declared columns typed (blank/absent -> default), unknown columns kept as text; and those."""
    if raw is None:
        frame = pd.DataFrame({c.name: pd.Series(dtype=float if c.type in _NUMERIC else object)
                              for c in table.columns})
        frame["_row"] = pd.Series(dtype=int)
        return frame, []
    _canonical_headers(raw, table)
    passthrough = _check_headers(raw, table, out)
    found = list(raw.frame.columns)
    typed = {col.name: _coerce_column(raw, col, out, present=col.name in found) for col in table.columns}
    for name in found:
        if name in typed:
            continue
        pattern = table.column(name)
        if pattern is not None:
            typed[name] = _coerce_column(raw, Column(name, pattern.type, pattern.default, pattern.unit,
                                                     pattern.meaning, minimum=pattern.minimum,
                                                     maximum=pattern.maximum), out)
        else:
            typed[name] = raw.frame[name]  # passthrough (or misspelt, which is reported)
    frame = pd.DataFrame(typed, index=raw.frame.index)
    frame["_row"] = [raw.row_number(i) for i in raw.frame.index]
    return frame, passthrough


# ------------------------------------------------------------------------------- the context


@dataclass
class _Context:
    """What the rule groups share: the scenario, the typed tables and what earlier groups found."""

    scenario: Scenario
    source: Path
    read: ReadResult
    out: _Collector
    t: dict[str, pd.DataFrame] = field(default_factory=dict)  # typed tables, every one (empty when absent)
    passthrough: dict[str, list[str]] = field(default_factory=dict)
    unusable: set[str] = field(default_factory=set)  # reported missing, misnamed, empty, unreadable or id-less
    ids: set[str] = field(default_factory=set)
    known_resources: set[str] = field(default_factory=set)
    kinds: dict[str, str] = field(default_factory=dict)
    periods: dict[tuple[str, str], pd.Series | list] = field(default_factory=dict)  # (table, column) -> indices
    offsets: tuple[list[str], list[int]] = field(default_factory=lambda: ([], []))  # demands: offset kind, k
    funding_rows: tuple[list[int], list[int]] = field(default_factory=lambda: ([], []))  # capacity row, milestone
    ordered: pd.DataFrame | None = None  # dependencies that need their predecessor
    must: set[str] = field(default_factory=set)  # mandatory or forced in
    mandatory_rows: dict[str, int] = field(default_factory=dict)
    undefined: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (table, column) -> unknown names
    bad_label_rows: dict[str, set] = field(default_factory=dict)  # table -> rows whose period label is bad
    training_needs: set[str] = field(default_factory=set)  # resources the training table draws on
    implicit: list[str] = field(default_factory=list)  # trainer / clinical_time made staff by training rows
    approved: pd.DataFrame | None = None  # the approved set: index id, start (period index), label
    why_must: dict[str, str] = field(default_factory=dict)  # id -> why it must be selected (planning cycle)
    where: dict[str, str] = field(init=False)  # table -> "initiatives.csv" or "trust.xlsx, sheet initiatives"

    def __post_init__(self):
        folder = self.source.is_dir()
        self.where = {name: (self.read.tables[name].where if name in self.read.tables else
                             f"{name}.csv" if folder else f"{self.source.name}, sheet {name}") for name in TABLES}

    @property
    def horizon(self) -> Horizon:
        return self.scenario.horizon

    @property
    def span(self) -> str:
        return f"{self.horizon.labels[0]} .. {self.horizon.label(self.horizon.T - 1)}"

    def defines(self, name: str) -> bool:
        """The table was read, has rows and its id column: what it defines can be looked up."""
        return name in self.read.tables and name not in self.unusable

    def has_rows(self, name: str) -> bool:
        """The table was read with every required column: checks that need its rows can run."""
        raw = self.read.tables.get(name)
        return self.defines(name) and all(c.name in raw.frame.columns for c in TABLES[name].columns if c.required)

    def error(self, table: str, message: str, row=None, column=None) -> None:
        self.out.error(self.where[table], message, row, column)

    def warn(self, table: str, message: str, row=None, column=None) -> None:
        self.out.warn(self.where[table], message, row, column)

    def period_index(self, table: str, column: str) -> pd.Series:
        """Single-period labels -> index (may fall outside the horizon); NaN when blank/bad."""
        horizon, frame, values, bad = self.horizon, self.t[table], [], []
        for i, text in frame[column].items():
            idx = horizon.index(text) if text != "" else np.nan
            if idx is None:
                bad.append(i)
                idx = np.nan
            values.append(idx)
        self._bad_labels(table, column, bad, year_too=False)
        return pd.Series(values, index=frame.index, dtype=float)

    def resolve_rows(self, table: str) -> list[tuple[int, ...]]:
        """The periods each row's period or financial-year label covers inside the horizon; () when bad."""
        horizon, frame, periods, bad = self.horizon, self.t[table], [], []
        for i, text in frame["period"].items():
            got = horizon.resolve(text) if text != "" else None
            if got is None and text != "":
                bad.append(i)
            elif got is not None and not got[0]:
                self.error(table, f"{text!r} is outside the horizon {self.span}", frame.at[i, "_row"], "period")
            periods.append(got[0] if got else ())
        self._bad_labels(table, "period", bad, year_too=True)
        return periods

    def _bad_labels(self, table: str, column: str, bad: list, year_too: bool) -> None:
        """Malformed labels, one message each; or one for the column when they are all labels of
        another granularity (a monthly scenario over quarterly tables is one mistake, not hundreds)."""
        horizon, frame = self.horizon, self.t[table]
        texts, rows = [frame.at[i, column] for i in bad], [int(frame.at[i, "_row"]) for i in bad]
        self.bad_label_rows[table] = self.bad_label_rows.get(table, set()) | set(bad)
        # (a financial year where one period is meant has its own message below, whatever the granularity)
        other = next((g for g in (Granularity.QUARTER, Granularity.MONTH) if g is not horizon.granularity
                      and len(bad) >= 3 and all(parse_period(x, g) is not None for x in texts)), None)
        h, example = horizon.granularity.value, LABEL_EXAMPLES[horizon.granularity]
        if other is not None:
            self.error(table, f"these are {other.value} labels (e.g. {texts[0]!r}), but the horizon is in "
                       f"{h}s: set horizon.granularity: {other.value} in the scenario, or write {h} labels such as "
                       f"{example!r} (rows {_rows_text(rows)})", rows[0], column)
            return
        for text, row in zip(texts, rows):
            if year_too:
                self.error(table, f"{text!r} is not a {h} or financial-year label (e.g. {example!r} or '2026/27')",
                           row, column)
            else:
                fy = " (a financial year is not allowed here)" if horizon.resolve(text) else ""
                self.error(table, f"{text!r} is not a {h} label (e.g. {example!r}){fy}", row, column)


# ------------------------------------------------------------------------------- presence


# Other names people give the tables' files and sheets, for "did you mean".
_TABLE_ALIASES = {"initiatives": ("initiative",), "resources": ("resource",), "demands": ("demand",),
                  "capacity": ("capacities",), "dependencies": ("dependency",), "funding": ("fundings",),
                  "training": ("trainings",)}


def _names_table(found: str, name: str, folder: bool) -> bool:
    """Whether a file or sheet that is not a table was most likely meant to be table `name`."""
    stem = _squash(Path(found).stem if folder else found)
    for alias in (name, *_TABLE_ALIASES[name]):
        if stem == alias or (len(alias) >= 5 and _edit_distance(stem, alias) <= (2 if len(alias) >= 8 else 1)):
            return True
    return False


def _check_presence(ctx: _Context) -> None:
    """Each missing required table once, with a "did you mean" for a file or sheet named nearly so;
    a near-named file or sheet for an optional table is an error too (its rows would be ignored)."""
    folder, read = ctx.source.is_dir(), ctx.read
    tables = {f"{n}.csv" if folder else n for n in TABLES}
    strays = [f for f in read.found if f.strip().lower() not in tables]
    ctx.unusable |= read.unreadable
    for name, table in TABLES.items():
        if name in read.tables or name in read.unreadable:
            continue
        near = next((f for f in strays if _names_table(f, name, folder)), None)
        rename = f"rename it {name}.csv" if folder else f"rename the sheet {name}"
        hint = f"; did you mean {near!r}? ({rename})" if near else ""
        if table.required:
            ctx.unusable.add(name)
            if folder:
                ctx.error(name, f"the {name} table is required: there is no {name}.csv in {display_path(ctx.source)} "
                          f"(files found: {', '.join(read.found) or 'none'}){hint}")
            else:
                ctx.error(name, f"the {name} sheet is required (sheets found: {', '.join(read.found) or 'none'}){hint}")
        elif near is not None:
            ctx.unusable.add(name)
            where = near if folder else f"{ctx.source.name}, sheet {near}"
            ctx.out.error(where, f"prioritiser reads no {'file' if folder else 'sheet'} of this name; if it holds "
                          f"the {name} table, {rename}")
    for name in ("initiatives", "capacity"):
        if name in read.tables and not len(read.tables[name].frame):
            ctx.unusable.add(name)
            what = "there are no initiatives: add one row per candidate initiative below the header" \
                if name == "initiatives" else \
                "there are no capacity rows: add one row per limit (resource, period, amount) below the header"
            ctx.error(name, what, 2)


_MOST_CHARACTER_ERRORS = 20  # per table: a file full of them needs one fix, not a thousand messages


def _check_characters(ctx: _Context) -> None:
    """No control characters in any header or cell of any table (read or passed through): they
    break CSV rows and spreadsheet cells."""
    for raw in ctx.read.tables.values():
        _report_characters(raw, ctx.out)


def _report_characters(raw: RawTable, out: _Collector) -> bool:
    """The control characters in one table's headers and cells, cell by cell, at most 20; whether any."""
    text = " ".join(raw.frame.columns) + " " + " ".join(raw.frame.to_numpy().ravel().tolist())
    if not CONTROL.search(text):
        return False  # the usual case, at the cost of one search
    found = []
    for n, name in enumerate(raw.frame.columns):
        problem = control_characters(name)
        if problem:
            found.append((1, repr(name), f"the header {problem}"))
        cells = raw.frame.iloc[:, n]
        for i in cells.index[cells.str.contains(CONTROL, regex=True)]:
            found.append((raw.row_number(i), name, f"the cell {control_characters(cells[i])}"))
    for row, column, message in sorted(found, key=lambda f: f[0])[:_MOST_CHARACTER_ERRORS]:
        out.error(raw.where, message, row, column)
    if len(found) > _MOST_CHARACTER_ERRORS:
        out.error(raw.where, f"and {len(found) - _MOST_CHARACTER_ERRORS} more cells with control characters")
    return True


def _type_tables(ctx: _Context) -> None:
    """Every table typed; a table without its id column cannot define what others refer to."""
    g = ctx.horizon.granularity
    for name, table in TABLES.items():
        raw = ctx.read.tables.get(name)
        ctx.t[name], passthrough = _typed_table(raw, table, ctx.out)
        if passthrough:
            ctx.passthrough[name] = passthrough
        for col in table.columns:
            if col.type == "period":  # see periods.clean_label
                ctx.t[name][col.name] = ctx.t[name][col.name].astype(object).map(lambda x: clean_label(x, g))
        key = next((c.name for c in table.columns if c.type == "id"), None)
        if raw is not None and key is not None and key not in raw.frame.columns:
            ctx.unusable.add(name)


# ------------------------------------------------------------------------------- rule groups


def _duplicates(frame: pd.DataFrame, column: str, where: str, noun: str, out: _Collector) -> None:
    keys = frame[column]
    dup = keys[(keys != "") & keys.duplicated(keep=False)]
    for key, rows in frame.loc[dup.index].groupby(column)["_row"]:
        rows = list(rows)
        out.error(where, f"duplicate {noun} {key!r} (also on row {', '.join(map(str, rows[:-1]))})", rows[-1], column)


def _check_initiatives(ctx: _Context) -> None:
    """Unique ids, and start windows inside the horizon that some start can meet."""
    ini, horizon = ctx.t["initiatives"], ctx.horizon
    _duplicates(ini, "id", ctx.where["initiatives"], "id", ctx.out)
    ctx.ids = set(ini["id"][ini["id"] != ""])
    es = ctx.periods["initiatives", "earliest_start"] = ctx.period_index("initiatives", "earliest_start")
    lf = ctx.periods["initiatives", "latest_finish"] = ctx.period_index("initiatives", "latest_finish")
    dur = ini["duration"]
    for i in ini.index:
        row = ini.at[i, "_row"]
        if es[i] == es[i] and not 0 <= es[i] < horizon.T:
            ctx.error("initiatives", f"{ini.at[i, 'earliest_start']!r} is outside the horizon {ctx.span}",
                      row, "earliest_start")
        if lf[i] == lf[i] and lf[i] < 0:
            ctx.error("initiatives", f"{ini.at[i, 'latest_finish']!r} is before the horizon starts "
                      f"({horizon.labels[0]})", row, "latest_finish")
        elif lf[i] == lf[i] and dur[i] == dur[i] and dur[i] >= 1:
            first = max(0.0, es[i]) if es[i] == es[i] else 0.0
            if first + dur[i] - 1 > lf[i]:
                ctx.error("initiatives", f"no start can meet latest_finish {ini.at[i, 'latest_finish']}: "
                          f"starting at the earliest, {horizon.label(int(first))}, its {int(dur[i])} build "
                          f"period(s) run to {horizon.label(int(first + dur[i] - 1))}", row, "latest_finish")


def _check_resources(ctx: _Context) -> None:
    """Unique names; capital and revenue are money; external purchase is for staff."""
    res, raw = ctx.t["resources"], ctx.read.tables.get("resources")
    if raw is not None and "kind" in raw.frame:
        # capital and revenue are money whatever the sheet says; a blank kind should not make them staff
        blank_kind = (raw.frame["kind"] == "").to_numpy()
        res.loc[blank_kind & res["resource"].isin(MONEY_RESOURCES).to_numpy(), "kind"] = "money"
    elif len(res):
        res.loc[res["resource"].isin(MONEY_RESOURCES), "kind"] = "money"
    _duplicates(res, "resource", ctx.where["resources"], "resource", ctx.out)
    for i in res.index:
        name = res.at[i, "resource"]
        if name in MONEY_RESOURCES and res.at[i, "kind"] != "money":
            ctx.error("resources", f"{name} is always a money resource", res.at[i, "_row"], "kind")
        if res.at[i, "kind"] == "money" and res.at[i, "external_max"] > 0:
            ctx.warn("resources", f"external purchase applies to staff only; ignored for money resource {name}",
                     res.at[i, "_row"], "external_max")
    ctx.known_resources = set(res["resource"]) | set(MONEY_RESOURCES)
    ctx.kinds = {r: "money" for r in MONEY_RESOURCES}
    ctx.kinds.update(dict(zip(res["resource"], res["kind"])))


def _check_references(ctx: _Context) -> None:
    """Every `ref` (initiative) and `resource` column of the schema against the table that defines it."""
    undefined_resources: dict[str, list[str]] = {}  # without a resources table: value -> tables naming it
    for name, table in TABLES.items():
        for col in table.columns:
            target = REFERENCES.get(col.type)
            if target is None or target in ctx.unusable:
                continue  # the defining table was reported already; its absence says it all
            known = ctx.ids if target == "initiatives" else ctx.known_resources
            frame = ctx.t[name]
            bad = frame[(frame[col.name] != "") & ~frame[col.name].isin(known)]
            ctx.undefined[name, col.name] = set(bad[col.name])
            if target == "resources" and "resources" not in ctx.read.tables:
                for value in bad[col.name]:
                    undefined_resources.setdefault(value, [])
                    if ctx.where[name] not in undefined_resources[value]:
                        undefined_resources[value].append(ctx.where[name])
                continue
            noun = "initiative" if target == "initiatives" else "resource"
            noun = noun if col.name == noun else f"{col.name} {noun}"
            extra = " (capital and revenue always exist)" if target == "resources" else ""
            for value, rows in bad.groupby(col.name, sort=False)["_row"]:  # one message per name, not per row
                rows = list(rows)
                also = f" (also on rows {_rows_text(rows[1:])})" if len(rows) > 1 else ""
                ctx.error(name, f"{noun} {value!r} is not defined: no row of {ctx.where[target]} has it"
                          f"{extra}{also}", rows[0], col.name)
    if undefined_resources:
        places = list(dict.fromkeys(w for ws in undefined_resources.values() for w in ws))
        ctx.error("resources", f"there is no resources table, so only capital and revenue are defined, but "
                  f"{' and '.join(places)} name {', '.join(map(repr, undefined_resources))}: add "
                  f"{ctx.where['resources']} with one row per resource (resource, kind)")


def _check_offsets(ctx: _Context) -> None:
    """Demand offsets: k >= 0, build or run."""
    dem, kinds, ks = ctx.t["demands"], [], []
    for i, text in dem["offset"].items():
        low = str(text).lower()
        if low in ("build", "run"):
            kinds.append(low)
            ks.append(0)
        elif re.fullmatch(r"\d+", low):
            kinds.append("k")
            ks.append(int(low))
        else:
            if text != "":
                ctx.error("demands", f"{text!r} is not a whole number >= 0, build or run", dem.at[i, "_row"],
                          "offset")
            kinds.append("build")
            ks.append(0)
    ctx.offsets = (kinds, ks)


def _check_periods(ctx: _Context) -> None:
    """Capacity and funding rows name a period or financial year inside the horizon."""
    for name in ("capacity", "funding"):
        ctx.periods[name, "period"] = ctx.resolve_rows(name)


def _check_funding(ctx: _Context) -> None:
    """Funding lands in money, on an existing capacity row; its milestone is due by the row's first period."""
    cap, fund = ctx.t["capacity"], ctx.t["funding"]
    cap_periods, fund_periods = ctx.periods["capacity", "period"], ctx.periods["funding", "period"]
    bad_capacity = {r for r, ps, text in zip(cap["resource"], cap_periods, cap["period"]) if not ps and text}
    cap_key = {}
    for i in cap.index:
        if cap_periods[i]:
            cap_key.setdefault((cap.at[i, "resource"], cap_periods[i]), i)
    capacity_row, milestone_period = [], []
    for j in fund.index:
        resource, period = fund.at[j, "resource"], fund.at[j, "period"]
        key = (resource, fund_periods[j])
        row = fund.at[j, "_row"]
        if resource in ctx.kinds and ctx.kinds[resource] != "money":
            ctx.error("funding", f"funding must land in a money resource; {resource!r} is staff", row, "resource")
        elif fund_periods[j] and resource and key not in cap_key and ctx.has_rows("capacity") \
                and resource not in bad_capacity:  # else the row may be there with a mistyped period
            ctx.error("funding", f"no capacity row for {resource} in {period}: funding adds to the capacity "
                      f"row with the same resource and period, so {ctx.where['capacity']} needs a row "
                      f"'{resource}, {period}'", row, "period")
        capacity_row.append(cap_key.get(key, -1))
        # the milestone must be live by the first period of `period` (a year's first period for a year label)
        milestone_period.append(ctx.horizon.bounds(period)[0] if fund_periods[j] else 0)
    ctx.funding_rows = (capacity_row, milestone_period)


def _find_cycle(edges: list[tuple[str, str]]) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}

    for root in list(graph):
        if state.get(root):
            continue
        # iterative DFS keeping the path so that a back edge names the cycle
        iters = [(root, iter(graph.get(root, ())))]
        state[root] = 1
        stack = [root]
        while iters:
            node, it = iters[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                iters.pop()
                stack.pop()
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append(nxt)
                iters.append((nxt, iter(graph.get(nxt, ()))))
    return None


def _check_dependency_graph(ctx: _Context) -> None:
    """No initiative depends on itself, and no chain of ordered links comes back to where it began."""
    dep = ctx.t["dependencies"]
    self_loop = (dep["predecessor"] != "") & (dep["predecessor"] == dep["successor"])
    for i in dep.index[self_loop]:
        ctx.error("dependencies", f"{dep.at[i, 'predecessor']!r} depends on itself", dep.at[i, "_row"], "successor")
    ordered = dep[dep["type"].isin(_ORDERED) & ~self_loop & (dep["predecessor"] != "") & (dep["successor"] != "")]
    cycle = _find_cycle(list(zip(ordered["predecessor"], ordered["successor"])))
    if cycle:
        closing = (ordered["predecessor"] == cycle[0]) & (ordered["successor"] == cycle[1])
        first_row = int(ordered.loc[closing, "_row"].iloc[0])
        ctx.error("dependencies", f"dependency cycle: {' -> '.join(cycle)} (none of them could ever start)",
                  first_row, "successor")
    ctx.ordered = ordered


def _check_forced(ctx: _Context) -> None:
    """force_in and force_out name initiatives of the portfolio and do not contradict what must be in."""
    scenario, ini = ctx.scenario, ctx.t["initiatives"]
    if ctx.defines("initiatives"):
        for key in ("force_in", "force_out"):
            for x in getattr(scenario.settings, key):
                if x not in ctx.ids:
                    ctx.out.error(scenario.where_of(key), f"initiative {x!r} is not in the portfolio", column=key)
    flagged = ini["mandatory"].astype(bool)
    ctx.mandatory_rows = dict(zip(ini["id"][flagged], ini["_row"][flagged]))
    ctx.must = set(ctx.mandatory_rows) | set(scenario.settings.force_in)
    for x in sorted(ctx.must & set(scenario.settings.force_out)):
        ctx.out.error(scenario.where_of("force_out"), f"{x!r} is {_why_must(ctx, x)} and also in force_out",
                      column="force_out")


def _why_must(ctx: _Context, x: str) -> str:
    if x in ctx.mandatory_rows:
        return f"mandatory ({ctx.where['initiatives']}, row {ctx.mandatory_rows[x]})"
    return ctx.why_must.get(x, "in force_in")


def _check_must_select(ctx: _Context) -> None:
    """What must be selected, and what it needs (transitively), against force_out and exclusions."""
    scenario, dep, must = ctx.scenario, ctx.t["dependencies"], ctx.must
    forced_out = set(scenario.settings.force_out)
    needed = {x: None for x in must}  # id -> the initiative that needs it (None: must itself)
    frontier, needs = list(must), {}
    for a, b in zip(ctx.ordered["predecessor"], ctx.ordered["successor"]):
        needs.setdefault(b, []).append(a)
    while frontier:
        b = frontier.pop()
        for a in needs.get(b, ()):
            if a not in needed:
                needed[a] = b
                frontier.append(a)

    def chain(x):
        path = [x]
        while needed[path[-1]] is not None:
            path.append(needed[path[-1]])
        return path  # x, what needs x, ..., the must-select initiative

    for x in sorted(set(needed) - must):
        if x in forced_out:
            c = chain(x)
            through = f" ({' needs '.join(c[::-1])})" if len(c) > 2 else ""
            ctx.out.warn(scenario.where_of("force_out"), f"{x!r} is forced out, but {c[-1]!r} must be selected and "
                         f"needs it{through}: no plan can do both, so the run will be infeasible", column="force_out")
    for i in dep.index[dep["type"] == "excludes"]:
        a, b = dep.at[i, "predecessor"], dep.at[i, "successor"]
        if a in must and b in must:
            ctx.error("dependencies", f"{a!r} and {b!r} exclude each other but both must be selected "
                      f"({a} is {_why_must(ctx, a)}, {b} is {_why_must(ctx, b)})", dep.at[i, "_row"], "type")
        elif a in needed and b in needed:
            ctx.warn("dependencies", f"{a!r} and {b!r} exclude each other, but both are needed by initiatives "
                     "that must be selected: the run will be infeasible", dep.at[i, "_row"], "type")


# ------------------------------------------------------------------------------- planning cycle (format v1.1)


def _training_hours(tr: pd.DataFrame) -> dict[str, pd.Series]:
    """What each training row draws in total, as format v1.1 defines it: trainer and clinical_time
    in hours, revenue in pounds (the paid hours of bank and locum staff)."""
    hours = tr["hours_each"].fillna(0) * tr["headcount"].fillna(0)
    share = tr["bank_locum_share"].fillna(0)
    return {"trainer": hours / tr["trainees_per_trainer"].fillna(10).clip(lower=1),
            "clinical_time": hours * (1 - share),
            "revenue": hours * share * tr["bank_rate"].fillna(0)}


def _check_training_resources(ctx: _Context) -> None:
    """Training draws on trainer and clinical_time: when the resources table lacks them they exist
    implicitly, as staff (like capital and revenue); they must not be money."""
    tr = ctx.t["training"]
    if not len(tr):
        return
    ctx.training_needs = {r for r, amount in _training_hours(tr).items() if (amount > 0).any()}
    res = ctx.t["resources"]
    for r in TRAINING_RESOURCES:
        if r not in ctx.training_needs:
            continue
        if r not in ctx.known_resources:
            ctx.implicit.append(r)
            ctx.known_resources.add(r)
            ctx.kinds[r] = "staff"
        elif ctx.kinds.get(r) == "money":
            row = res.loc[res["resource"] == r, "_row"].iloc[0]
            ctx.error("resources", f"{r} is money, but the training table puts staff time (FTE) on it: make it "
                      "kind staff", row, "kind")


def _check_status(ctx: _Context) -> None:
    """An in_progress initiative starts in the first period; stop_cost is for in_progress ones only."""
    ini = ctx.t["initiatives"]
    es = ctx.periods["initiatives", "earliest_start"]
    for i in ini.index[(ini["status"] == "in_progress") & es.notna() & (es != 0)]:
        ctx.error("initiatives", f"an in_progress initiative is already being built, so it starts in the first "
                  f"period ({ctx.horizon.labels[0]}): leave earliest_start blank (its duration and costs are what "
                  "remains)", ini.at[i, "_row"], "earliest_start")
    for i in ini.index[(ini["status"] != "in_progress") & (ini["stop_cost"].fillna(0) > 0)]:
        ctx.warn("initiatives", f"stop_cost applies only to in_progress initiatives ({ini.at[i, 'id']} is "
                 f"{ini.at[i, 'status'] or 'proposed'}); ignored", ini.at[i, "_row"], "stop_cost")


def _approved_row(ctx: _Context, where: str, iid: str, label: str, row: int, in_progress: set) -> int | None:
    """The period index of one approved start, or None (reported) when it cannot be one."""
    horizon = ctx.horizon
    s = horizon.index(label)
    if s is None:
        ctx.out.error(where, f"{label!r} is not a {horizon.granularity.value} label (e.g. "
                      f"{LABEL_EXAMPLES[horizon.granularity]!r})", row, "start")
    elif s < 0 and iid not in in_progress:
        ctx.out.error(where, f"{iid} starts {label}, before the new horizon begins ({horizon.labels[0]}): if it has "
                      f"started, set its status to in_progress in {ctx.where['initiatives']} (with the duration "
                      "and costs that remain); if not, give it a start inside the horizon", row, "start")
    elif s >= horizon.T:
        ctx.out.error(where, f"{label} is after the horizon ends ({ctx.span})", row, "start")
    else:
        if s > 0 and iid in in_progress:
            ctx.out.warn(where, f"{iid} is in progress, so it started before {horizon.labels[0]}; its approved start "
                         f"{label} is read as 'already started'", row, "start")
        return int(s)
    return None


def _read_approved_plan(ctx: _Context) -> None:
    """The approved set: the rows of `approved_plan` with a start (and not `selected` false)."""
    scenario = ctx.scenario
    path = scenario.approved_plan
    if path is None:
        if scenario.settings.changes != Changes():
            ctx.out.warn(scenario.where_of("changes"), "changes has no effect without approved_plan",
                         column="changes")
        return
    where = display_path(path)
    if not path.is_file():
        ctx.out.error(scenario.where_of("approved_plan"), f"approved plan not found: {where}",
                      column="approved_plan")
        return
    raw, issues = read_csv_table(path, where)
    ctx.out.issues.extend(issues)
    if raw is None:
        return
    if _report_characters(raw, ctx.out):
        return  # (its ids and labels would only repeat the same cells' problems)
    plan, _ = _typed_table(raw, APPROVED_PLAN, ctx.out)
    if "id" not in raw.frame.columns:
        return  # reported: the required column is missing
    _duplicates(plan, "id", where, "id", ctx.out)
    ini = ctx.t["initiatives"]
    in_progress = set(ini["id"][ini["status"] == "in_progress"])
    chosen = raw.frame["selected"].str.lower() != "" if "selected" in raw.frame else pd.Series(False, plan.index)
    approved = []
    for i in plan.index:
        iid, row = plan.at[i, "id"], plan.at[i, "_row"]
        label = clean_label(plan.at[i, "start"], ctx.horizon.granularity)
        if iid == "" or (ctx.defines("initiatives") and iid not in ctx.ids):
            if iid != "":
                ctx.out.error(where, f"initiative {iid!r} is not in the portfolio ({ctx.where['initiatives']})",
                              row, "id")
            continue
        if label == "" or (chosen[i] and not plan.at[i, "selected"]):
            continue  # not approved
        s = _approved_row(ctx, where, iid, label, row, in_progress)
        if s is not None:
            approved.append((iid, s, label))
    ctx.approved = pd.DataFrame(approved, columns=["initiative", "start", "label"]).drop_duplicates(
        "initiative").set_index("initiative")
    _warn_unapproved(ctx, where)


def _warn_unapproved(ctx: _Context, where: str) -> None:
    """Initiatives marked approved, or in progress, that the approved plan does not approve."""
    ini = ctx.t["initiatives"]
    for iid, status, row in zip(ini["id"], ini["status"], ini["_row"]):
        if iid in ctx.approved.index:
            continue
        if status == "approved":
            ctx.warn("initiatives", f"{iid} is marked approved but has no start in the approved plan ({where}): "
                     "re-planning treats it as not approved", row, "status")
        elif status == "in_progress":
            ctx.warn("initiatives", f"{iid} is in progress but not in the approved plan ({where}): if it continues "
                     "it is reported as added", row, "status")


def _check_kept(ctx: _Context) -> None:
    """In-progress initiatives the scenario may not stop, and approved ones `changes.keep` keeps in,
    must be selected; forcing one out contradicts the scenario."""
    scenario, ini = ctx.scenario, ctx.t["initiatives"]
    settings, forced_out = scenario.settings, set(scenario.settings.force_out)
    for iid, status, row in zip(ini["id"], ini["status"], ini["_row"]):
        if status != "in_progress" or iid in ctx.must or settings.allow_stopping:
            continue
        if iid in forced_out:
            ctx.out.error(scenario.where_of("force_out"), f"{iid!r} is in progress: forcing it out stops it, "
                          "which needs allow_stopping: true in the scenario", column="force_out")
        else:
            ctx.why_must[iid] = f"in progress ({ctx.where['initiatives']}, row {row}) and may not stop"
            ctx.must.add(iid)
    keep = settings.changes.keep
    if keep == "none" or ctx.approved is None:
        return
    for iid in ctx.approved.index:
        if iid in forced_out:
            ctx.out.error(scenario.where_of("force_out"), f"{iid!r} is approved and changes.keep is {keep}, so it "
                          "stays in: remove it from force_out or set changes.keep: none", column="force_out")
        elif iid not in ctx.must:
            ctx.why_must[iid] = f"approved and changes.keep is {keep}"
            ctx.must.add(iid)


def _check_training_windows(ctx: _Context) -> None:
    """A must-select initiative whose staff cannot all be trained inside the horizon cannot be planned:
    training ends with the last build period and may not start before the horizon does."""
    tr, ini, horizon = ctx.t["training"], ctx.t["initiatives"], ctx.horizon
    if not len(tr) or "initiatives" in ctx.unusable:
        return
    longest = tr.sort_values("periods_before_go_live", kind="stable").drop_duplicates("initiative", keep="last")
    longest = longest.set_index("initiative")
    es = ctx.periods["initiatives", "earliest_start"].fillna(0)
    lf = ctx.periods["initiatives", "latest_finish"]
    for i in ini.index:
        iid, d = ini.at[i, "id"], ini.at[i, "duration"]
        if iid not in longest.index or iid not in ctx.must or ini.at[i, "status"] == "in_progress" or d != d:
            continue
        k = longest.at[iid, "periods_before_go_live"]
        first = max(es[i], k - d)
        last = min(horizon.T - d, lf[i] - d + 1 if lf[i] == lf[i] else horizon.T)
        if first > last:
            build_by = int(min(horizon.T - 1, lf[i])) if lf[i] == lf[i] else horizon.T - 1
            ctx.error("training", f"{iid} is {_why_must(ctx, iid)}, but its staff cannot all be trained inside the "
                      f"horizon: training takes {int(k)} period(s) ending with its last build period, so it would "
                      f"have to start at or after {horizon.label(int(first))} and finish building by "
                      f"{horizon.label(build_by)}", longest.at[iid, "_row"], "periods_before_go_live")


def _training_demands(ctx: _Context, initiatives: pd.DataFrame, resources: pd.DataFrame) -> pd.DataFrame:
    """Each training row as demand rows: in each of its K training periods (start offsets d-K .. d-1, which
    may fall before the start), hours / K on trainer and clinical_time as FTE (one FTE in a period is
    hours_per_fte / periods per year hours), and the bank and locum pay / K on revenue."""
    tr, P = ctx.t["training"], ctx.horizon.per_year
    columns = ["initiative", "resource", "offset_kind", "k", "amount", "training_row"]
    if not len(tr):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    K = tr["periods_before_go_live"].fillna(1).astype(int).to_numpy()
    d = initiatives["duration"].reindex(tr["initiative"]).to_numpy(np.int64)
    owner = np.repeat(np.arange(len(tr)), K)
    j = np.arange(len(owner)) - np.repeat(np.cumsum(K) - K, K)  # 0 .. K-1 within each row
    frames = []
    for r, total in _training_hours(tr).items():
        per_period = total.to_numpy(float) / K
        if r != "revenue":
            per_period = per_period * P / float(resources.at[r, "hours_per_fte"]) if r in resources.index else \
                per_period * 0
        keep = per_period[owner] > 0
        frames.append(pd.DataFrame({"initiative": tr["initiative"].to_numpy()[owner][keep], "resource": r,
                                    "offset_kind": "k", "k": (d - K)[owner][keep] + j[keep],
                                    "amount": per_period[owner][keep], "training_row": owner[keep]}))
    return pd.concat(frames, ignore_index=True)[columns]


# ------------------------------------------------------------------------------- risk ranges (format v1.1)


def _given(ini: pd.DataFrame, base: str) -> pd.Series:
    """The base column as the user gave it: `<base>_given` where a rule has replaced it (optimism bias
    uplifts capital_cost and duration and keeps the figures as given there), else the column itself."""
    return ini[f"{base}_given"] if f"{base}_given" in ini else ini[base]


def _check_risk_ranges(ctx: _Context) -> None:
    """Each `<base>_low` <= base <= `<base>_high` (blank ends are the base value), one error per cell,
    against the figures as given (the cells the user can see)."""
    ini = ctx.t["initiatives"]
    for base in RISK_RANGE_BASES:
        value = _given(ini, base)
        for end, wrong, word in (("low", lambda lo, b: lo > b, "above"), ("high", lambda hi, b: hi < b, "below")):
            col = f"{base}_{end}"
            bound = ini[col]
            bad = bound.notna() & value.notna() & wrong(bound, value)
            for i in ini.index[bad.to_numpy()]:
                ctx.error("initiatives", f"{col} {bound[i]:,.10g} is {word} {base} {value[i]:,.10g}: a risk range "
                          f"needs {base}_low <= {base} <= {base}_high", ini.at[i, "_row"], col)


def _risk_ranges(ini: pd.DataFrame, initiatives: pd.DataFrame) -> None:
    """The range columns on the Portfolio's initiatives, blanks filled with the base value. Where the base
    was uplifted (optimism bias), the range moves with it: money ends scale by the same factor, duration
    ends shift by the same number of periods, so the triangle keeps its shape around the uplifted base."""
    for base in RISK_RANGE_BASES:
        given, used = _given(ini, base).astype(float), initiatives[base].astype(float)
        for end in ("low", "high"):
            col = f"{base}_{end}"
            bound = ini[col].astype(float).where(ini[col].notna(), given)
            if base == "duration":
                moved = bound + (used - given)
            else:
                moved = bound * np.divide(used, given, out=np.ones(len(used)), where=given.to_numpy() > 0)
            initiatives[col] = moved.where(given != used, bound).astype(initiatives[base].dtype)


def _check_scenario_names(ctx: _Context) -> None:
    """Adjusted resources exist; every alignment weight has a score column to weigh."""
    scenario = ctx.scenario
    if "resources" not in ctx.unusable:
        for n, adj in enumerate(scenario.adjustments):
            if adj.resource not in ctx.known_resources:
                ctx.out.error(scenario.where_of("adjustments"), f"resource {adj.resource!r} is not defined",
                              column=f"adjustments[{n}].resource")
    score_columns = {c for c in ctx.t["initiatives"].columns if c.startswith("score_")}
    for objective in scenario.settings.alignment_weights:
        if f"score_{objective}" not in score_columns and "initiatives" in ctx.read.tables:
            key = f"objective.alignment_weights.{objective}"
            ctx.out.warn(scenario.where_of(key), f"no initiative has a score_{objective} column, so this weight has "
                         "no effect", column=key)


def _spans(periods: list[int], horizon: Horizon, most: int = 4) -> str:
    """'2026/27 Q1 .. 2026/27 Q4, 2028/29 Q2' for a sorted list of period indices."""
    runs: list[list[int]] = []
    for p in periods:
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    text = [horizon.label(a) if a == b else f"{horizon.label(a)} .. {horizon.label(b)}" for a, b in runs[:most]]
    return ", ".join(text) + (", ..." if len(runs) > most else "")


def _warn_coverage(ctx: _Context) -> None:
    """Periods with no limit for a resource that is used (or limited elsewhere). Coverage does not
    depend on amounts, so this is reported even when there are errors (one pass shows everything)."""
    if not ctx.has_rows("capacity"):
        return
    ini, dem, res, cap = ctx.t["initiatives"], ctx.t["demands"], ctx.t["resources"], ctx.t["capacity"]
    used = set(dem["resource"][dem["amount"].fillna(0) > 0])
    if (ini["capital_cost"].fillna(0) > 0).any():
        used.add("capital")
    if (ini[["revenue_cost", "running_cost"]].fillna(0).to_numpy() > 0).any():
        used.add("revenue")
    if ctx.scenario.settings.external and ((res["kind"] == "staff") & (res["external_cost"].fillna(0) > 0)
                                           & (res["external_max"].fillna(0) > 0)).any():
        used.add("revenue")  # external staff are paid from revenue
    used |= ctx.training_needs
    covered: dict[str, set[int]] = {}
    for r, ps in zip(cap["resource"], ctx.periods["capacity", "period"]):
        covered.setdefault(r, set()).update(ps)
    # A row with a bad label was reported; what it would cover is unknown, so its resource is not warned
    # about. A misspelt resource name may be the rows of a resource that seems to have none.
    unknown = set(cap.loc[sorted(ctx.bad_label_rows.get("capacity", ())), "resource"])
    if ctx.undefined.get(("capacity", "resource")):
        unknown |= {r for r in used if not covered.get(r)}
    T = ctx.horizon.T
    # a resource given some limits is meant to be limited, so its gaps are worth a word even if unused
    for r in sorted((used | set(covered) - {""}) & ctx.known_resources - unknown):
        missing = [p for p in range(T) if p not in covered.get(r, set())]
        if missing:
            ctx.warn("capacity", f"{r} has no limit in {len(missing)} of the {T} periods "
                     f"({_spans(missing, ctx.horizon)}): there it can be used without bound", column="resource")


# ------------------------------------------------------------------------------- money rules (format v1.1)


def uplifts(initiatives: pd.DataFrame, by_category: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    """Each initiative's optimism-bias uplift on capital and on duration: its own optimism_bias_<key> if
    given, else by_category[its category][key], else by_category.default[key], else the Green Book's."""
    default = by_category.get("default", {})
    out = {}
    for key in ("capital", "duration"):
        fallback = default.get(key, GREEN_BOOK_UPLIFT[key])
        by = initiatives["category"].map(lambda c: by_category.get(c, {}).get(key, fallback)
                                         if c != "default" else fallback)
        own = initiatives[f"optimism_bias_{key}"].astype(float)
        out[key] = own.where(own.notna(), by.astype(float)).to_numpy(float)
    return out


def uplifted_duration(duration: np.ndarray, uplift: np.ndarray) -> np.ndarray:
    """ceil(duration x (1 + uplift)); the 1e-9 keeps 10 x 1.1 = 11.000000000000002 at 11 periods."""
    return np.ceil(np.asarray(duration, float) * (1.0 + np.asarray(uplift, float)) - 1e-9)


def _apply_optimism_bias(ctx: _Context) -> None:
    """With optimism_bias.apply, capital_cost and duration are uplifted here, before anything reads them,
    so that every later rule, the model, rank-and-place and the checker see the uplifted figures; the
    figures as given are kept as capital_cost_given and duration_given. For work in progress the
    columns are what remains, and so is what is uplifted."""
    ini, bias = ctx.t["initiatives"], ctx.scenario.settings.optimism_bias
    ini["capital_cost_given"], ini["duration_given"] = ini["capital_cost"], ini["duration"]
    if not bias.apply or not len(ini):
        return
    known = set(ini["category"])
    for category in sorted(set(bias.by_category) - known - {"default"}):
        key = f"optimism_bias.by_category.{category}"
        ctx.out.warn(ctx.scenario.where_of(key), f"no initiative has category {category!r}, so these uplifts "
                     "apply to none", column=key)
    up = uplifts(ini, bias.by_category)
    ini["capital_cost"] = ini["capital_cost"] * (1.0 + up["capital"])
    ini["duration"] = pd.Series(uplifted_duration(ini["duration"], up["duration"]), index=ini.index)


def _target_measure(ctx: _Context, measure: str) -> np.ndarray:
    """Per initiative, per period, the most that measure can be in a period it is live (full ramp)."""
    ini = ctx.t["initiatives"]
    if measure == "cash_releasing_savings":
        return (ini["benefit"].fillna(0) * ini["cash_releasing"].fillna(0)).to_numpy(float)
    return ini["revenue"].fillna(0).to_numpy(float)


def _check_targets(ctx: _Context) -> None:
    """A target no plan could reach, even with every initiative that may be selected going live as early as
    its own earliest start allows (an upper bound, ignoring every limit), is an error naming its year and
    shortfall; what limits and rules make a reachable-looking target unreachable, the diagnosis says."""
    scenario, horizon, ini = ctx.scenario, ctx.horizon, ctx.t["initiatives"]
    if not scenario.settings.targets or "initiatives" in ctx.unusable or ini["duration"].isna().any():
        return
    es = ctx.periods["initiatives", "earliest_start"].fillna(0).clip(lower=0).to_numpy()
    es = np.where(ini["status"].to_numpy(object) == "in_progress", 0, es)
    golive = es + ini["duration"].to_numpy(float)
    ramp = ini["ramp"].fillna(0).to_numpy(float)
    out = ini["id"].isin(scenario.settings.force_out).to_numpy()
    for n, target in enumerate(scenario.settings.targets):
        periods = np.array(horizon.fy_periods(target.financial_year), dtype=float)
        k = periods[None, :] - golive[:, None]
        live = np.where(k >= 0, np.minimum(1.0, (k + 1) / (ramp[:, None] + 1)), 0.0).sum(axis=1)
        most = float((live * _target_measure(ctx, target.measure))[~out].sum())
        if most < target.at_least - 1e-6 * max(1.0, target.at_least):
            key = f"targets[{n}].at_least"
            ctx.out.error(scenario.where_of(key), f"{target.measure} in {target.financial_year} cannot reach "
                          f"£{target.at_least:,.0f}: with every initiative selected and live as early as it may be, "
                          f"it would be £{most:,.0f}, short by £{target.at_least - most:,.0f}", column=key)


# ------------------------------------------------------------------------------- entity tables


def _initiatives_table(ctx: _Context) -> pd.DataFrame:
    ini = ctx.t["initiatives"]
    es, lf = ctx.periods["initiatives", "earliest_start"], ctx.periods["initiatives", "latest_finish"]
    initiatives = pd.DataFrame({
        "name": ini["name"].where(ini["name"] != "", ini["id"]),
        "directorate": ini["directorate"], "category": ini["category"],
        "duration": ini["duration"].astype(int),
        "earliest_start": es.fillna(0).clip(lower=0).astype(int),
        "latest_finish": lf.astype("Int64"),
        "mandatory": ini["mandatory"].astype(bool),
    })
    for col in ("capital_cost", "revenue_cost", "running_cost", "benefit", "revenue"):
        initiatives[col] = ini[col].astype(float)
    initiatives["ramp"] = ini["ramp"].astype(int)
    initiatives["status"] = ini["status"].where(ini["status"] != "", "proposed")
    # stop_cost means something only for work in progress (a warning said so)
    initiatives["stop_cost"] = ini["stop_cost"].astype(float).where(initiatives["status"] == "in_progress", 0.0)
    _risk_ranges(ini, initiatives)
    # money rules: the cash-releasing share, and (see _apply_optimism_bias) the figures as given with the
    # initiative's own uplifts as written, which the checker recomputes the uplift from
    initiatives["cash_releasing"] = ini["cash_releasing"].astype(float)
    initiatives["capital_cost_given"] = ini["capital_cost_given"].astype(float)
    initiatives["duration_given"] = ini["duration_given"].astype(int)
    for col in ("optimism_bias_capital", "optimism_bias_duration"):
        initiatives[col] = ini[col].astype(float)
    passthrough = [c for c in ini.columns if c not in initiatives.columns and c not in ("id", "_row")]
    for col in passthrough:
        initiatives[col] = ini[col].astype(float) if col.startswith("score_") else ini[col]
    initiatives.index = pd.Index(ini["id"], name=TABLES["initiatives"].index)
    return initiatives


def _resources_table(ctx: _Context) -> pd.DataFrame:
    res = ctx.t["resources"]
    resources = pd.DataFrame({"kind": res["kind"], "external_cost": res["external_cost"].astype(float),
                              "external_max": res["external_max"].astype(float),
                              "hours_per_fte": res["hours_per_fte"].astype(float)})
    resources.index = pd.Index(res["resource"], name=TABLES["resources"].index)
    hours = TABLES["resources"].column("hours_per_fte").default
    for m in MONEY_RESOURCES:
        if m not in resources.index:
            resources.loc[m] = ["money", 0.0, 0.0, hours]
    for r in ctx.implicit:  # trainer / clinical_time, made staff by the training table
        resources.loc[r] = ["staff", 0.0, 0.0, hours]
    resources.loc[resources["kind"] == "money", "external_max"] = 0.0
    for extra in res.columns:
        if extra not in ("resource", "kind", "external_cost", "external_max", "hours_per_fte", "_row"):
            resources[extra] = pd.Series(list(res[extra]), index=res["resource"])
    return resources


def _entity_tables(ctx: _Context) -> dict[str, pd.DataFrame]:
    """One DataFrame per entity, as `Portfolio` documents them."""
    dem, cap, fund, dep = ctx.t["demands"], ctx.t["capacity"], ctx.t["funding"], ctx.t["dependencies"]
    (offset_kind, k), (capacity_row, milestone_period) = ctx.offsets, ctx.funding_rows
    demands = pd.DataFrame({"initiative": dem["initiative"], "resource": dem["resource"],
                            "offset_kind": offset_kind, "k": k, "amount": dem["amount"].astype(float)})
    initiatives, resources = _initiatives_table(ctx), _resources_table(ctx)
    demands = pd.concat([demands.assign(training_row=None), _training_demands(ctx, initiatives, resources)],
                        ignore_index=True)
    demands["k"] = demands["k"].astype(np.int64)
    demands["amount"] = demands["amount"].astype(float)
    demands["training_row"] = demands["training_row"].astype("Int64")
    capacity = pd.DataFrame({"resource": cap["resource"], "period": cap["period"],
                             "periods": ctx.periods["capacity", "period"],
                             "amount": cap["amount"].astype(float)}).reset_index(drop=True)
    funding = pd.DataFrame({"source": fund["source"], "resource": fund["resource"], "period": fund["period"],
                            "amount": fund["amount"].astype(float),
                            "milestone": pd.Series([m if m else None for m in fund["milestone"]], dtype=object,
                                                   index=fund.index),
                            "capacity_row": capacity_row, "milestone_period": milestone_period}).reset_index(drop=True)
    dependencies = pd.DataFrame({"predecessor": dep["predecessor"], "successor": dep["successor"],
                                 "type": dep["type"], "lag": dep["lag"].astype(int)}).reset_index(drop=True)
    training = ctx.t["training"].drop(columns="_row").reset_index(drop=True)
    approved = ctx.approved if ctx.approved is not None else no_approved_plan()
    targets = targets_table(ctx.scenario.settings.targets, ctx.horizon)
    return {"targets": targets, "initiatives": initiatives, "resources": resources, "demands": demands, "capacity": capacity,
            "funding": funding, "dependencies": dependencies, "training": training, "approved": approved}


def _apply_adjustments(ctx: _Context, capacity: pd.DataFrame, funding: pd.DataFrame) -> None:
    """The scenario's adjustments, in order, on the capacity rows (and the funding that lands on them)."""
    scenario, horizon = ctx.scenario, ctx.horizon
    for n, adj in enumerate(scenario.adjustments):
        lo = horizon.bounds(adj.start)[0] if adj.start else -10**9
        hi = horizon.bounds(adj.end)[1] if adj.end else 10**9
        # a row changes only when every period it covers lies in range (a year row half inside stays)
        hit = np.array([r == adj.resource and bool(ps) and lo <= min(ps) and max(ps) <= hi
                        for r, ps in zip(capacity["resource"], capacity["periods"])], dtype=bool)
        if adj.scale is not None:
            capacity.loc[hit, "amount"] *= adj.scale
            landing = funding["capacity_row"].isin(np.flatnonzero(hit))
            funding.loc[landing, "amount"] *= adj.scale
        else:
            capacity.loc[hit, "amount"] += adj.add
            negative = capacity.index[hit & (capacity["amount"] < 0).to_numpy()]
            for i in negative[:3]:
                ctx.out.error(scenario.where_of("adjustments"), f"adding {adj.add:g} leaves {adj.resource} in "
                              f"{capacity.at[i, 'period']} at {capacity.at[i, 'amount']:g}; a limit cannot be "
                              "negative", column=f"adjustments[{n}].add")
        if not hit.any():
            ctx.out.warn(scenario.where_of("adjustments"), f"adjustment of {adj.resource} changes no capacity row",
                         column=f"adjustments[{n}]")


# ------------------------------------------------------------------------------- input hash


def input_files(scenario: Scenario) -> list[Path]:
    """Every file a run reads: the scenario, each file it extends, and the portfolio's tables."""
    approved = [scenario.approved_plan] if scenario.approved_plan is not None else []
    return [*scenario.files, *portfolio_files(scenario.portfolio), *approved]


def hash_files(paths) -> str:
    """SHA-256 over the names and bytes of `paths` (a missing file hashes as missing): the input hash
    in summary.json, and the batch runner's cache key."""
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        h.update(p.name.encode())
        h.update(p.read_bytes() if p.exists() else b"<missing>")
    return h.hexdigest()


# ------------------------------------------------------------------------------- the whole pass


def _unexpected(scenario: Scenario, exc: Exception) -> Issue:
    return Issue("error", display_path(scenario.path or scenario.name),
                 f"the input could not be checked because of an unexpected problem ({type(exc).__name__}: {exc}); "
                 "please report this with the input files")


def build_portfolio(scenario: Scenario) -> Portfolio:
    """Read, validate and apply the scenario. Raises InputError listing every error (and warning)."""
    out = _Collector()
    try:
        portfolio = _build(scenario, out)
    except Exception as exc:  # a safety net: bad input must give a message, never a traceback
        out.issues.append(_unexpected(scenario, exc))
        raise InputError(out.issues) from exc
    if portfolio is None:
        raise InputError(out.issues)
    return portfolio


def _read_source(scenario: Scenario, out: _Collector) -> ReadResult | None:
    """The portfolio's raw tables, or None when there is no portfolio to check at all."""
    source = scenario.portfolio
    if not source.exists():
        out.error(scenario.where_of("portfolio"), f"portfolio not found: {display_path(source)} (expected a folder "
                  "of CSV files or an .xlsx workbook)", column="portfolio")
        return None
    if not source.is_dir() and source.suffix.lower() not in (".xlsx", ".xlsm"):
        out.error(scenario.where_of("portfolio"), f"{display_path(source)} is neither a folder of CSV files nor an "
                  ".xlsx workbook", column="portfolio")
        return None
    read = read_portfolio(source)
    out.issues.extend(read.issues)
    if not source.is_dir() and any(i.where == source.name for i in read.issues):
        return None  # the workbook itself cannot be opened (or is no portfolio): nothing more to check
    return read


_RULES = (_check_presence, _check_characters, _type_tables, _apply_optimism_bias, _check_initiatives,
          _check_resources, _check_training_resources, _check_references, _check_offsets, _check_periods,
          _check_funding, _check_dependency_graph, _check_status, _read_approved_plan, _check_forced, _check_kept,
          _check_must_select, _check_training_windows,
          _check_scenario_names, _check_targets, _warn_coverage, _check_risk_ranges)


def _build(scenario: Scenario, out: _Collector) -> Portfolio | None:
    """The portfolio, or None when `out` holds errors."""
    out.issues.extend(limits.setting_issues())
    if out.has_errors:
        return None
    read = _read_source(scenario, out)
    if read is None:
        return None
    ctx = _Context(scenario, scenario.portfolio, read, out)
    for rule in _RULES:
        rule(ctx)
    if out.has_errors:
        return None
    tables = _entity_tables(ctx)
    _apply_adjustments(ctx, tables["capacity"], tables["funding"])
    if out.has_errors:
        return None
    portfolio = Portfolio(name=scenario.name, horizon=scenario.horizon, settings=scenario.settings, **tables,
                          scenario=scenario, warnings=out.issues, input_hash=hash_files(input_files(scenario)),
                          passthrough_columns=ctx.passthrough)
    _check_must_fit(ctx, portfolio)
    return None if out.has_errors else portfolio


# Where a must-have's own use of a resource comes from, for the error's column.
_USE_COLUMN = {"capital": "capital_cost", "revenue": "revenue_cost"}


def _best_capacity(p: Portfolio) -> np.ndarray:
    """Each capacity row at its most generous: every funding row that could land on it, and for a
    one-period staff limit all the external staff that may be bought."""
    best = p.capacity["amount"].to_numpy(float).copy()
    if len(p.funding):
        np.add.at(best, p.funding["capacity_row"].to_numpy(np.int64), p.funding["amount"].to_numpy(float))
    res = p.resources.reindex(p.capacity["resource"])
    one_period = np.fromiter(map(len, p.capacity["periods"]), dtype=np.int64, count=len(p.capacity)) == 1
    buyable = (res["kind"] != "money").to_numpy() & bool(p.settings.external) & one_period
    return best + np.where(buyable, res["external_max"].to_numpy(float), 0.0)


def _check_must_fit(ctx: _Context, p: Portfolio) -> None:
    """A must-have that, on its own, overruns some limit at every start it may take cannot be in any
    plan: said here, naming its row, rather than found infeasible by the solver."""
    from .model import own_use

    # mandatory and forced-in ones only: work in flight or an approved plan that no longer fits is a
    # re-planning question, answered by the diagnosis (which says what to stop, move or fund)
    must = np.flatnonzero(p.initiatives["mandatory"].to_numpy(bool) | p.ids.isin(p.settings.force_in))
    if not len(must) or not len(p.capacity):
        return
    owner, use = own_use(p, must)
    best = _best_capacity(p)
    excess = (use - best[None, :]) / np.maximum(1.0, np.abs(best))[None, :]
    worst = excess.max(axis=1)  # per start: its worst overrun, as a share of the limit
    for k in range(len(must)):
        starts = np.flatnonzero(owner == k)
        if not len(starts) or worst[starts].min() <= 1e-9:
            continue
        col = starts[np.argmin(worst[starts])]  # the start that comes closest
        _must_not_fit(ctx, p, must[k], int(np.argmax(excess[col])), use[col], best)


def _must_not_fit(ctx: _Context, p: Portfolio, i: int, j: int, use: np.ndarray, best: np.ndarray) -> None:
    from .formatting import fte, money

    iid, resource, period = p.ids[i], p.capacity.at[j, "resource"], p.capacity.at[j, "period"]
    show = money if p.resources.at[resource, "kind"] == "money" else fte
    mandatory = bool(p.initiatives.at[iid, "mandatory"])
    text = (f"{iid} is {'mandatory' if mandatory else 'forced in by the scenario'} but fits at no start: even at "
            f"its best start it alone needs {show(use[j])} of {resource} in {period}, above the limit of "
            f"{show(best[j])} (counting all funding and external staff that could be added)")
    if mandatory:
        rows = dict(zip(ctx.t["initiatives"]["id"], ctx.t["initiatives"]["_row"]))
        ctx.error("initiatives", text, rows.get(iid), _USE_COLUMN.get(resource))
    else:
        ctx.out.error(ctx.scenario.where_of("force_in"), text, column="force_in")


def load(scenario: str | Path | Scenario) -> Portfolio:
    """Scenario file (or loaded Scenario) -> validated Portfolio. Raises InputError."""
    if not isinstance(scenario, Scenario):
        scenario, issues = read_scenario(scenario)
        if scenario is None or any(i.severity == "error" for i in issues):
            # report the tables' problems too, as far as the scenario lets us read them
            raise InputError(validate_issues(scenario, issues))
    return build_portfolio(scenario)


def validate_issues(scenario: Scenario | None, issues: list[Issue]) -> list[Issue]:
    """The scenario's own issues followed by those of its portfolio (when it can be read at all)."""
    issues = list(issues)
    if scenario is not None:
        try:
            issues += build_portfolio(scenario).warnings
        except InputError as exc:
            issues += exc.issues
    return issues


def validate(scenario: str | Path | Scenario) -> list[Issue]:
    """Every problem (errors and warnings) of a scenario and its portfolio; never raises on bad input."""
    try:
        if isinstance(scenario, Scenario):
            return validate_issues(scenario, [])
        return validate_issues(*read_scenario(scenario))
    except Exception as exc:  # a safety net: read_scenario and build_portfolio catch everything already
        return [Issue("error", str(scenario), f"the input could not be checked because of an unexpected problem "
                      f"({type(exc).__name__}: {exc}); please report this with the input files")]
