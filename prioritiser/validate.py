"""Validation at the boundary: raw tables + scenario -> Portfolio, or every problem at once.

Each problem names the file (or workbook sheet), the row as the user sees it (header = row 1)
and the column. Nothing here raises on bad data except `InputError` at the very end; anything
unexpected is turned into an issue too, so that bad input never shows a traceback.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, Issue, display_path
from .periods import LABEL_EXAMPLES, Granularity, Horizon
from .portfolio import Portfolio
from .scenario import Scenario, read_scenario
from .schema import ID_PATTERN, MONEY_RESOURCES, TABLES, Column, Table
from .tables import RawTable, read_portfolio

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}
_ID = re.compile(ID_PATTERN)
# Excel turns a typed "2026-04" into a date, which comes back as 2026-04-01T00:00:00.
_EXCEL_MONTH = re.compile(r"^(\d{4}-\d{2})-01(?:[T ]00:00:00)?$")
_ORDERED = ("finish_to_start", "start_to_start", "requires")  # dependency types that need the predecessor


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


def _coerce_column(raw: RawTable, col: Column, out: _Collector, present: bool = True) -> pd.Series:
    """Typed values of one column; bad cells are reported and replaced by the default."""
    text = raw.frame[col.name] if col.name in raw.frame else pd.Series("", index=raw.frame.index, dtype=object)
    text = text.astype(object)
    blank = text == ""
    if col.required and present:  # a missing column is reported once, not once per row
        for i in text.index[blank]:
            out.error(raw.where, "required value is blank", raw.row_number(i), col.name)
    if col.type in ("integer", "number", "money"):
        values = pd.to_numeric(text.where(~blank), errors="coerce").astype(float)
        # "inf" and "1e999" parse as numbers but are not amounts anyone can plan with
        bad = ~blank & ~np.isfinite(values)
        for i in text.index[bad]:
            hint = " (money is a plain number: no £ sign or commas)" if col.type == "money" else ""
            kind = "a whole number" if col.type == "integer" else "a number"
            out.error(raw.where, f"{text[i]!r} is not {kind}{hint}", raw.row_number(i), col.name)
        values = values.where(~bad)
        if col.type == "integer":
            frac = values.notna() & (values != values.round())
            for i in text.index[frac]:
                out.error(raw.where, f"{text[i]!r} is not a whole number", raw.row_number(i), col.name)
        if col.minimum is not None:
            for i in text.index[values < col.minimum]:
                what = "negative" if col.minimum == 0 else f"below {col.minimum:g}"
                out.error(raw.where, f"{text[i]} is {what}; it must be at least {col.minimum:g}",
                          raw.row_number(i), col.name)
        if col.maximum is not None:
            for i in text.index[values > col.maximum]:
                out.error(raw.where, f"{text[i]} is above the maximum {col.maximum:g}", raw.row_number(i), col.name)
        default = col.default if col.default is not None and not col.required else np.nan
        return values.where(values.notna(), default)
    if col.type == "bool":
        low = text.str.lower()
        bad = ~low.isin(_TRUE | _FALSE)
        for i in text.index[bad]:
            out.error(raw.where, f"{text[i]!r} is not true or false (yes/no and 1/0 are fine too)",
                      raw.row_number(i), col.name)
        return low.isin(_TRUE)
    if col.type == "choice":
        low = text.str.lower()
        bad = ~blank & ~low.isin(col.choices)
        for i in text.index[bad]:
            out.error(raw.where, f"{text[i]!r} is not one of: {', '.join(col.choices)}", raw.row_number(i), col.name)
        return low.where(~blank & ~bad, col.default or "")
    if col.type == "id":
        bad = ~blank & ~text.str.match(ID_PATTERN)
        for i in text.index[bad]:
            out.error(raw.where, f"{text[i]!r} may contain only letters, digits, '-', '_' and '.' (no spaces)",
                      raw.row_number(i), col.name)
    return text


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


def _typed_table(raw: RawTable | None, table: Table, out: _Collector) -> pd.DataFrame:
    """All declared columns typed (blank/absent -> default), unknown columns kept as text."""
    if raw is None:
        frame = pd.DataFrame({c.name: pd.Series(dtype=float if c.type in ("integer", "number", "money") else object)
                              for c in table.columns})
        frame["_row"] = pd.Series(dtype=int)
        return frame
    _canonical_headers(raw, table)
    found = list(raw.frame.columns)
    unknown = [c for c in found if table.column(c) is None]  # only these can be a misspelling
    for col in table.columns:
        if col.required and col.name not in found:
            near = difflib.get_close_matches(col.name, unknown, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            out.error(raw.where, f"required column {col.name!r} is missing{hint} "
                      f"(columns found: {', '.join(found) or 'none'})", 1, col.name)
    typed = {}
    for col in table.columns:
        typed[col.name] = _coerce_column(raw, col, out, present=col.name in found)
    for name in found:
        if name in typed:
            continue
        pattern = table.column(name)
        if pattern is not None:
            typed[name] = _coerce_column(raw, Column(name, pattern.type, pattern.default, pattern.unit,
                                                     pattern.meaning, minimum=pattern.minimum,
                                                     maximum=pattern.maximum), out)
        else:
            typed[name] = raw.frame[name]  # passthrough
            # kept, as the format promises, but a near-miss of a known column is most likely a typo
            missing = [c.name for c in table.columns if c.name not in found and not c.required]
            near = difflib.get_close_matches(name, missing, n=1, cutoff=0.85)
            if near:
                out.warn(raw.where, f"column {name!r} is not one prioritiser knows, so it is only passed through; "
                         f"did you mean {near[0]!r}?", 1, name)
    frame = pd.DataFrame(typed, index=raw.frame.index)
    frame["_row"] = [raw.row_number(i) for i in raw.frame.index]
    return frame


def _duplicates(frame: pd.DataFrame, column: str, where: str, noun: str, out: _Collector) -> None:
    keys = frame[column]
    dup = keys[(keys != "") & keys.duplicated(keep=False)]
    for key, rows in frame.loc[dup.index].groupby(column)["_row"]:
        rows = list(rows)
        out.error(where, f"duplicate {noun} {key!r} (also on row {', '.join(map(str, rows[:-1]))})", rows[-1], column)


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


def _hash_inputs(scenario: Scenario, source: Path) -> str:
    h = hashlib.sha256()
    for f in scenario.files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    files = sorted(source.glob("*.csv")) if source.is_dir() else [source]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


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


def _build(scenario: Scenario, out: _Collector) -> Portfolio | None:
    """The portfolio, or None when `out` holds errors."""
    horizon = scenario.horizon
    T = horizon.T
    settings = scenario.settings
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
    raw = read.tables
    readable = {name for name in TABLES if name not in read.unreadable}
    for name in ("initiatives", "capacity"):
        if name in raw or name not in readable:
            continue
        if source.is_dir():
            out.error(f"{name}.csv", f"the {name} table is required: there is no {name}.csv in "
                      f"{display_path(source)} (files found: {', '.join(read.found) or 'none'})")
        else:
            out.error(f"{source.name}, sheet {name}", f"the {name} sheet is required (sheets found: "
                      f"{', '.join(read.found) or 'none'})")
    t = {name: _typed_table(raw.get(name), TABLES[name], out) for name in TABLES}
    where = {name: (raw[name].where if name in raw else f"{name}.csv" if source.is_dir() else
                    f"{source.name}, sheet {name}") for name in TABLES}
    for name, table in TABLES.items():  # see _EXCEL_MONTH
        if horizon.granularity is Granularity.MONTH:
            for col in table.columns:
                if col.type == "period":
                    t[name][col.name] = t[name][col.name].astype(object).str.replace(_EXCEL_MONTH, r"\1", regex=True)

    # ---- initiatives
    ini = t["initiatives"]
    if "initiatives" in raw and not len(ini):
        out.error(where["initiatives"], "there are no initiatives: add one row per candidate initiative below "
                  "the header", 2)
    _duplicates(ini, "id", where["initiatives"], "id", out)
    ids = set(ini["id"][ini["id"] != ""])

    def period_index(frame, column, table):
        """Single-period labels -> index (may fall outside the horizon); NaN when blank/bad."""
        values = []
        for i, text in frame[column].items():
            if text == "":
                values.append(np.nan)
                continue
            idx = horizon.index(text)
            if idx is None:
                fy = " (a financial year is not allowed here)" if horizon.resolve(text) else ""
                out.error(where[table], f"{text!r} is not a {horizon.granularity.value} label "
                          f"(e.g. {LABEL_EXAMPLES[horizon.granularity]!r}){fy}", frame.at[i, "_row"], column)
                values.append(np.nan)
            else:
                values.append(idx)
        return pd.Series(values, index=frame.index, dtype=float)

    span = f"{horizon.labels[0]} .. {horizon.label(T - 1)}"
    es = period_index(ini, "earliest_start", "initiatives")
    lf = period_index(ini, "latest_finish", "initiatives")
    dur = ini["duration"]
    for i in ini.index:
        row = ini.at[i, "_row"]
        if es[i] == es[i] and not 0 <= es[i] < T:
            out.error(where["initiatives"], f"{ini.at[i, 'earliest_start']!r} is outside the horizon {span}",
                      row, "earliest_start")
        if lf[i] == lf[i] and lf[i] < 0:
            out.error(where["initiatives"], f"{ini.at[i, 'latest_finish']!r} is before the horizon starts "
                      f"({horizon.labels[0]})", row, "latest_finish")
        elif lf[i] == lf[i] and dur[i] == dur[i] and dur[i] >= 1:
            first = max(0.0, es[i]) if es[i] == es[i] else 0.0
            if first + dur[i] - 1 > lf[i]:
                out.error(where["initiatives"], f"no start can meet latest_finish {ini.at[i, 'latest_finish']}: "
                          f"starting at the earliest, {horizon.label(int(first))}, its {int(dur[i])} build "
                          f"period(s) run to {horizon.label(int(first + dur[i] - 1))}", row, "latest_finish")

    # ---- resources
    res = t["resources"]
    if "resources" in raw and "kind" in raw["resources"].frame:
        # capital and revenue are money whatever the sheet says; a blank kind should not make them staff
        blank_kind = (raw["resources"].frame["kind"] == "").to_numpy()
        res.loc[blank_kind & res["resource"].isin(MONEY_RESOURCES).to_numpy(), "kind"] = "money"
    elif len(res):
        res.loc[res["resource"].isin(MONEY_RESOURCES), "kind"] = "money"
    _duplicates(res, "resource", where["resources"], "resource", out)
    for i in res.index:
        name = res.at[i, "resource"]
        if name in MONEY_RESOURCES and res.at[i, "kind"] != "money":
            out.error(where["resources"], f"{name} is always a money resource", res.at[i, "_row"], "kind")
        if res.at[i, "kind"] == "money" and res.at[i, "external_max"] > 0:
            out.warn(where["resources"], f"external purchase applies to staff only; ignored for money resource {name}",
                     res.at[i, "_row"], "external_max")
    known_resources = set(res["resource"]) | set(MONEY_RESOURCES)
    kinds = {r: "money" for r in MONEY_RESOURCES}
    kinds.update(dict(zip(res["resource"], res["kind"])))

    def check_refs(table, column, what):
        """References to initiatives or resources that no row defines."""
        defined_in = "initiatives" if what.endswith("initiative") else "resources"
        if defined_in not in readable:
            return  # the defining table could not be read; that error says it all
        known = ids if defined_in == "initiatives" else known_resources
        frame = t[table]
        extra = " (capital and revenue always exist)" if defined_in == "resources" else ""
        for i, value in frame[column].items():
            if value != "" and value not in known:
                out.error(where[table], f"{what} {value!r} is not defined: no row of {where[defined_in]} has "
                          f"it{extra}", frame.at[i, "_row"], column)

    check_refs("demands", "initiative", "initiative")
    check_refs("demands", "resource", "resource")
    check_refs("capacity", "resource", "resource")
    check_refs("dependencies", "predecessor", "initiative")
    check_refs("dependencies", "successor", "initiative")
    check_refs("funding", "resource", "resource")
    check_refs("funding", "milestone", "milestone initiative")

    # ---- demands: offsets
    dem = t["demands"]
    offset_kind, k = [], []
    for i, text in dem["offset"].items():
        low = str(text).lower()
        if low in ("build", "run"):
            offset_kind.append(low)
            k.append(0)
        elif re.fullmatch(r"\d+", low):
            offset_kind.append("k")
            k.append(int(low))
        else:
            if text != "":
                out.error(where["demands"], f"{text!r} is not a whole number >= 0, build or run", dem.at[i, "_row"],
                          "offset")
            offset_kind.append("build")
            k.append(0)

    # ---- capacity and funding periods
    def resolve_rows(frame, table):
        periods = []
        for i, text in frame["period"].items():
            got = horizon.resolve(text) if text != "" else None
            if got is None:
                if text != "":
                    out.error(where[table], f"{text!r} is not a {horizon.granularity.value} or financial-year label "
                              f"(e.g. {LABEL_EXAMPLES[horizon.granularity]!r} or '2026/27')", frame.at[i, "_row"],
                              "period")
                periods.append(())
            elif not got[0]:
                out.error(where[table], f"{text!r} is outside the horizon {span}", frame.at[i, "_row"], "period")
                periods.append(())
            else:
                periods.append(got[0])
        return periods

    cap = t["capacity"]
    cap_periods = resolve_rows(cap, "capacity")
    fund = t["funding"]
    fund_periods = resolve_rows(fund, "funding")
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
        if resource in kinds and kinds[resource] != "money":
            out.error(where["funding"], f"funding must land in a money resource; {resource!r} is staff", row,
                      "resource")
        elif fund_periods[j] and resource and key not in cap_key and "capacity" in readable \
                and resource not in bad_capacity:  # else the row may be there with a mistyped period
            out.error(where["funding"], f"no capacity row for {resource} in {period}: funding adds to the capacity "
                      f"row with the same resource and period, so {where['capacity']} needs a row "
                      f"'{resource}, {period}'", row, "period")
        capacity_row.append(cap_key.get(key, -1))
        # the milestone must be live by the first period of `period` (a year's first period for a year label)
        milestone_period.append(horizon.bounds(period)[0] if fund_periods[j] else 0)

    # ---- dependencies
    dep = t["dependencies"]
    self_loop = (dep["predecessor"] != "") & (dep["predecessor"] == dep["successor"])
    for i in dep.index[self_loop]:
        out.error(where["dependencies"], f"{dep.at[i, 'predecessor']!r} depends on itself", dep.at[i, "_row"],
                  "successor")
    ordered = dep[dep["type"].isin(_ORDERED) & ~self_loop & (dep["predecessor"] != "") & (dep["successor"] != "")]
    cycle = _find_cycle(list(zip(ordered["predecessor"], ordered["successor"])))
    if cycle:
        closing = (ordered["predecessor"] == cycle[0]) & (ordered["successor"] == cycle[1])
        first_row = int(ordered.loc[closing, "_row"].iloc[0])
        out.error(where["dependencies"], f"dependency cycle: {' -> '.join(cycle)} (none of them could ever start)",
                  first_row, "successor")

    # ---- scenario against the portfolio
    if "initiatives" in readable:
        for key in ("force_in", "force_out"):
            for x in getattr(settings, key):
                if x not in ids:
                    out.error(scenario.where_of(key), f"initiative {x!r} is not in the portfolio", column=key)
    mandatory_rows = dict(zip(ini["id"][ini["mandatory"].astype(bool)], ini["_row"][ini["mandatory"].astype(bool)]))
    mandatory = set(mandatory_rows)
    forced_out = set(settings.force_out)
    must = mandatory | set(settings.force_in)

    def why(x):
        return f"mandatory ({where['initiatives']}, row {mandatory_rows[x]})" if x in mandatory else "in force_in"

    for x in sorted(must & forced_out):
        out.error(scenario.where_of("force_out"), f"{x!r} is {why(x)} and also in force_out", column="force_out")
    # What must be selected because something that must be selected needs it (transitively).
    needed = {x: None for x in must}  # id -> the initiative that needs it (None: must itself)
    frontier = list(must)
    needs = {}
    for a, b in zip(ordered["predecessor"], ordered["successor"]):
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
            out.warn(scenario.where_of("force_out"), f"{x!r} is forced out, but {c[-1]!r} must be selected and "
                     f"needs it{through}: no plan can do both, so the run will be infeasible", column="force_out")
    for i in dep.index[dep["type"] == "excludes"]:
        a, b = dep.at[i, "predecessor"], dep.at[i, "successor"]
        if a in must and b in must:
            out.error(where["dependencies"], f"{a!r} and {b!r} exclude each other but both must be selected "
                      f"({a} is {why(a)}, {b} is {why(b)})", dep.at[i, "_row"], "type")
        elif a in needed and b in needed:
            out.warn(where["dependencies"], f"{a!r} and {b!r} exclude each other, but both are needed by initiatives "
                     "that must be selected: the run will be infeasible", dep.at[i, "_row"], "type")
    if "resources" in readable:
        for n, adj in enumerate(scenario.adjustments):
            if adj.resource not in known_resources:
                out.error(scenario.where_of("adjustments"), f"resource {adj.resource!r} is not defined",
                          column=f"adjustments[{n}].resource")
    score_columns = {c for c in ini.columns if c.startswith("score_")}
    for objective in settings.alignment_weights:
        if f"score_{objective}" not in score_columns and "initiatives" in raw:
            key = f"objective.alignment_weights.{objective}"
            out.warn(scenario.where_of(key), f"no initiative has a score_{objective} column, so this weight has no "
                     "effect", column=key)

    # ---- warnings: periods with no limit for a resource that is used. Coverage does not depend on
    # amounts, so this is reported even when there are errors (one pass shows everything).
    if "capacity" in raw:
        used = set(dem["resource"][dem["amount"].fillna(0) > 0])
        if (ini["capital_cost"].fillna(0) > 0).any():
            used.add("capital")
        if (ini[["revenue_cost", "running_cost"]].fillna(0).to_numpy() > 0).any():
            used.add("revenue")
        if settings.external and ((res["kind"] == "staff") & (res["external_cost"].fillna(0) > 0)
                                  & (res["external_max"].fillna(0) > 0)).any():
            used.add("revenue")  # external staff are paid from revenue
        covered: dict[str, set[int]] = {}
        for r, ps in zip(cap["resource"], cap_periods):
            covered.setdefault(r, set()).update(ps)
        # a resource given some limits is meant to be limited, so its gaps are worth a word even if unused
        for r in sorted((used | set(covered) - {""}) & known_resources):
            missing = [p for p in range(T) if p not in covered.get(r, set())]
            if missing:
                out.warn(where["capacity"], f"{r} has no limit in {len(missing)} of the {T} periods "
                         f"({_spans(missing, horizon)}): there it can be used without bound", column="resource")

    if out.has_errors:
        return None

    # ---- build typed entity tables
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
    passthrough = [c for c in ini.columns if c not in initiatives.columns and c not in ("id", "_row")]
    for col in passthrough:
        initiatives[col] = ini[col].astype(float) if col.startswith("score_") else ini[col]
    initiatives.index = pd.Index(ini["id"], name="initiative")

    resources = pd.DataFrame({"kind": res["kind"], "external_cost": res["external_cost"].astype(float),
                              "external_max": res["external_max"].astype(float)})
    resources.index = pd.Index(res["resource"], name="resource")
    for m in MONEY_RESOURCES:
        if m not in resources.index:
            resources.loc[m] = ["money", 0.0, 0.0]
    resources.loc[resources["kind"] == "money", "external_max"] = 0.0
    for extra in res.columns:
        if extra not in ("resource", "kind", "external_cost", "external_max", "_row"):
            resources[extra] = pd.Series(list(res[extra]), index=res["resource"])

    demands = pd.DataFrame({"initiative": dem["initiative"], "resource": dem["resource"],
                            "offset_kind": offset_kind, "k": k, "amount": dem["amount"].astype(float)})
    capacity = pd.DataFrame({"resource": cap["resource"], "period": cap["period"], "periods": cap_periods,
                             "amount": cap["amount"].astype(float)}).reset_index(drop=True)
    funding = pd.DataFrame({"source": fund["source"], "resource": fund["resource"], "period": fund["period"],
                            "amount": fund["amount"].astype(float),
                            "milestone": pd.Series([m if m else None for m in fund["milestone"]], dtype=object,
                                                   index=fund.index),
                            "capacity_row": capacity_row, "milestone_period": milestone_period}).reset_index(drop=True)
    dependencies = pd.DataFrame({"predecessor": dep["predecessor"], "successor": dep["successor"],
                                 "type": dep["type"], "lag": dep["lag"].astype(int)}).reset_index(drop=True)

    # ---- scenario adjustments, in order
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
                out.error(scenario.where_of("adjustments"), f"adding {adj.add:g} leaves {adj.resource} in "
                          f"{capacity.at[i, 'period']} at {capacity.at[i, 'amount']:g}; a limit cannot be negative",
                          column=f"adjustments[{n}].add")
        if not hit.any():
            out.warn(scenario.where_of("adjustments"), f"adjustment of {adj.resource} changes no capacity row",
                     column=f"adjustments[{n}]")
    if out.has_errors:
        return None

    return Portfolio(name=scenario.name, horizon=horizon, settings=settings, initiatives=initiatives,
                     resources=resources, demands=demands, capacity=capacity, funding=funding,
                     dependencies=dependencies, scenario=scenario, warnings=out.issues,
                     input_hash=_hash_inputs(scenario, scenario.portfolio))


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
