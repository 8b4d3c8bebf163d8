"""Validation at the boundary: raw tables + scenario -> Portfolio, or every problem at once.

Each problem names the file (or workbook sheet), the row as the user sees it (header = row 1)
and the column. Nothing here raises on bad data except `InputError` at the very end.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, Issue
from .periods import LABEL_EXAMPLES, Granularity, Horizon
from .portfolio import Portfolio
from .scenario import Scenario, load_scenario
from .schema import ID_PATTERN, MONEY_RESOURCES, TABLES, Column, Table
from .tables import RawTable, read_tables

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}
_ID = re.compile(ID_PATTERN)


class _Collector:
    def __init__(self):
        self.issues: list[Issue] = []

    def error(self, where, message, row=None, column=None):
        self.issues.append(Issue("error", where, message, row, column))

    def warn(self, where, message, row=None, column=None):
        self.issues.append(Issue("warning", where, message, row, column))

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


def _coerce_column(raw: RawTable, col: Column, out: _Collector) -> pd.Series:
    """Typed values of one column; bad cells are reported and replaced by the default."""
    text = raw.frame[col.name] if col.name in raw.frame else pd.Series("", index=raw.frame.index)
    blank = text == ""
    if col.required:
        for i in text.index[blank]:
            out.error(raw.where, "required value is blank", raw.row_number(i), col.name)
    if col.type in ("integer", "number", "money"):
        values = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = ~blank & values.isna()
        for i in text.index[bad]:
            hint = " (money is a plain number: no £ sign or commas)" if col.type == "money" else ""
            kind = "a whole number" if col.type == "integer" else "a number"
            out.error(raw.where, f"{text[i]!r} is not {kind}{hint}", raw.row_number(i), col.name)
        if col.type == "integer":
            frac = values.notna() & (values != values.round())
            for i in text.index[frac]:
                out.error(raw.where, f"{text[i]!r} is not a whole number", raw.row_number(i), col.name)
        if col.minimum is not None:
            for i in text.index[values < col.minimum]:
                what = "negative" if col.minimum == 0 else f"below {col.minimum:g}"
                out.error(raw.where, f"{text[i]} is {what}; must be at least {col.minimum:g}", raw.row_number(i), col.name)
        if col.maximum is not None:
            for i in text.index[values > col.maximum]:
                out.error(raw.where, f"{text[i]} is above the maximum {col.maximum:g}", raw.row_number(i), col.name)
        default = col.default if col.default not in (None,) and not col.required else np.nan
        values = values.where(values.notna(), default)
        return values
    if col.type == "bool":
        low = text.str.lower()
        bad = ~low.isin(_TRUE | _FALSE)
        for i in text.index[bad]:
            out.error(raw.where, f"{text[i]!r} is not true or false", raw.row_number(i), col.name)
        return low.isin(_TRUE)
    if col.type == "choice":
        low = text.str.lower()
        bad = ~blank & ~low.isin(col.choices)
        for i in text.index[bad]:
            out.error(raw.where, f"{text[i]!r} is not one of: {', '.join(col.choices)}", raw.row_number(i), col.name)
        return low.where(~blank, col.default or "")
    if col.type == "id":
        bad = ~blank & ~text.str.match(ID_PATTERN)
        for i in text.index[bad]:
            out.error(raw.where, f"{text[i]!r} may contain only letters, digits, '-', '_' and '.'",
                      raw.row_number(i), col.name)
    return text


def _typed_table(raw: RawTable | None, table: Table, out: _Collector) -> pd.DataFrame:
    """All declared columns typed (blank/absent -> default), unknown columns kept as text."""
    if raw is None:
        frame = pd.DataFrame({c.name: pd.Series(dtype=float if c.type in ("integer", "number", "money") else object)
                              for c in table.columns})
        frame["_row"] = pd.Series(dtype=int)
        return frame
    for col in table.columns:
        if col.required and col.name not in raw.frame.columns:
            out.error(raw.where, f"required column is missing (columns found: {', '.join(raw.frame.columns) or 'none'})",
                      1, col.name)
    typed = {}
    for col in table.columns:
        typed[col.name] = _coerce_column(raw, col, out)
    for name in raw.frame.columns:
        if name in typed:
            continue
        pattern = table.column(name)
        if pattern is not None:
            typed[name] = _coerce_column(raw, Column(name, pattern.type, pattern.default, pattern.unit,
                                                     pattern.meaning, minimum=pattern.minimum,
                                                     maximum=pattern.maximum), out)
        else:
            typed[name] = raw.frame[name]  # passthrough
    frame = pd.DataFrame(typed, index=raw.frame.index)
    frame["_row"] = [raw.row_number(i) for i in raw.frame.index]
    return frame


def _duplicates(frame: pd.DataFrame, column: str, where: str, out: _Collector) -> None:
    keys = frame[column]
    dup = keys[(keys != "") & keys.duplicated(keep=False)]
    for key, rows in frame.loc[dup.index].groupby(column)["_row"]:
        rows = list(rows)
        out.error(where, f"duplicate id {key!r} (also on row {', '.join(map(str, rows[:-1]))})", rows[-1], column)


def _find_cycle(edges: list[tuple[str, str]]) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}
    stack: list[str] = []

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


def build_portfolio(scenario: Scenario) -> Portfolio:
    """Read, validate and apply the scenario. Raises InputError listing every error (and warning)."""
    out = _Collector()
    raw, read_issues = read_tables(scenario.portfolio)
    out.issues.extend(read_issues)
    if out.has_errors:
        raise InputError(out.issues)
    horizon = scenario.horizon
    T = horizon.T
    source_name = scenario.portfolio.name
    for name in ("initiatives", "capacity"):
        if name not in raw:
            where = f"{source_name}/{name}.csv" if scenario.portfolio.is_dir() else f"{source_name}, sheet {name}"
            out.error(where, f"the {name} table is required")
    t = {name: _typed_table(raw.get(name), TABLES[name], out) for name in TABLES}
    where = {name: (raw[name].where if name in raw else name) for name in TABLES}

    # ---- initiatives
    ini = t["initiatives"]
    _duplicates(ini, "id", where["initiatives"], out)
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
                out.error(where[table], f"{text!r} is not a {horizon.granularity.value} label "
                          f"(e.g. {LABEL_EXAMPLES[horizon.granularity]!r})", frame.at[i, "_row"], column)
                values.append(np.nan)
            else:
                values.append(idx)
        return pd.Series(values, index=frame.index, dtype=float)

    es = period_index(ini, "earliest_start", "initiatives")
    lf = period_index(ini, "latest_finish", "initiatives")
    dur = ini["duration"]
    for i in ini.index:
        row = ini.at[i, "_row"]
        if es[i] == es[i] and not 0 <= es[i] < T:
            out.error(where["initiatives"], f"{ini.at[i, 'earliest_start']!r} is outside the horizon "
                      f"{horizon.labels[0]} .. {horizon.labels[-1]}", row, "earliest_start")
        if lf[i] == lf[i] and lf[i] < 0:
            out.error(where["initiatives"], f"{ini.at[i, 'latest_finish']!r} is before the horizon starts "
                      f"({horizon.labels[0]})", row, "latest_finish")
        elif lf[i] == lf[i] and dur[i] == dur[i]:
            first = max(0.0, es[i]) if es[i] == es[i] else 0.0
            if first + dur[i] - 1 > lf[i]:
                out.error(where["initiatives"], f"no start can meet latest_finish {ini.at[i, 'latest_finish']}: "
                          f"the earliest start {horizon.label(int(first))} with duration {int(dur[i])} finishes "
                          f"building in {horizon.label(int(first + dur[i] - 1))}", row, "latest_finish")

    # ---- resources
    res = t["resources"]
    _duplicates(res, "resource", where["resources"], out)
    for i in res.index:
        name = res.at[i, "resource"]
        if name in MONEY_RESOURCES and res.at[i, "kind"] != "money":
            out.error(where["resources"], f"{name} is always a money resource", res.at[i, "_row"], "kind")
        if res.at[i, "kind"] == "money" and res.at[i, "external_max"] > 0:
            out.warn(where["resources"], f"external purchase applies to staff only; ignored for money resource {name}",
                     res.at[i, "_row"], "external_max")
    known_resources = set(res["resource"]) | set(MONEY_RESOURCES)

    def check_refs(table, column, known, what):
        frame = t[table]
        for i, value in frame[column].items():
            if value != "" and value not in known:
                out.error(where[table], f"{what} {value!r} is not defined", frame.at[i, "_row"], column)

    check_refs("demands", "initiative", ids, "initiative")
    check_refs("demands", "resource", known_resources, "resource")
    check_refs("capacity", "resource", known_resources, "resource")
    check_refs("dependencies", "predecessor", ids, "initiative")
    check_refs("dependencies", "successor", ids, "initiative")
    check_refs("funding", "resource", known_resources, "resource")
    check_refs("funding", "milestone", ids, "milestone initiative")

    kinds = {r: "money" for r in MONEY_RESOURCES}
    kinds.update(dict(zip(res["resource"], res["kind"])))

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
                out.error(where["demands"], f"{text!r} is not a whole number >= 0, build or run", dem.at[i, "_row"], "offset")
            offset_kind.append("build")
            k.append(0)

    # ---- capacity and funding periods
    def resolve_rows(frame, table):
        periods, ok = [], []
        for i, text in frame["period"].items():
            got = horizon.resolve(text) if text != "" else None
            if got is None:
                if text != "":
                    out.error(where[table], f"{text!r} is not a {horizon.granularity.value} or financial-year label "
                              f"(e.g. {LABEL_EXAMPLES[horizon.granularity]!r} or '2026/27')", frame.at[i, "_row"], "period")
                periods.append(())
                ok.append(False)
            elif not got[0]:
                out.error(where[table], f"{text!r} is outside the horizon {horizon.labels[0]} .. {horizon.labels[-1]}",
                          frame.at[i, "_row"], "period")
                periods.append(())
                ok.append(False)
            else:
                periods.append(got[0])
                ok.append(True)
        return periods

    cap = t["capacity"]
    cap_periods = resolve_rows(cap, "capacity")
    fund = t["funding"]
    fund_periods = resolve_rows(fund, "funding")
    cap_key = {}
    for i in cap.index:
        if cap_periods[i]:
            cap_key.setdefault((cap.at[i, "resource"], cap_periods[i]), i)
    capacity_row, milestone_period = [], []
    for j in fund.index:
        key = (fund.at[j, "resource"], fund_periods[j])
        row = fund.at[j, "_row"]
        if fund.at[j, "resource"] in kinds and kinds[fund.at[j, "resource"]] != "money":
            out.error(where["funding"], f"funding must land in a money resource; {fund.at[j, 'resource']!r} is staff", row, "resource")
        if fund_periods[j] and key not in cap_key:
            out.error(where["funding"], f"no capacity row for {fund.at[j, 'resource']} in {fund.at[j, 'period']}: "
                      "funding adds to the capacity row with the same resource and period", row, "period")
        capacity_row.append(cap_key.get(key, -1))
        first = horizon.resolve(fund.at[j, "period"])
        if first is not None and fund.at[j, "period"]:
            text = fund.at[j, "period"]
            single = horizon.index(text)
            if single is not None and horizon.granularity is not Granularity.YEAR:
                milestone_period.append(single)
            else:
                year = int(text[:4])
                milestone_period.append(year * horizon.per_year - horizon.origin)
        else:
            milestone_period.append(0)

    # ---- dependencies
    dep = t["dependencies"]
    for i in dep.index:
        if dep.at[i, "predecessor"] and dep.at[i, "predecessor"] == dep.at[i, "successor"]:
            out.error(where["dependencies"], f"{dep.at[i, 'predecessor']!r} depends on itself", dep.at[i, "_row"], "successor")
    ordered = dep[dep["type"].isin(["finish_to_start", "start_to_start", "requires"])]
    cycle = _find_cycle(list(zip(ordered["predecessor"], ordered["successor"])))
    if cycle:
        first_row = int(ordered[(ordered["predecessor"] == cycle[0]) & (ordered["successor"] == cycle[1])]["_row"].iloc[0])
        out.error(where["dependencies"], f"dependency cycle: {' -> '.join(cycle)}", first_row, "successor")

    # ---- scenario against the portfolio
    sw = str(scenario.path) if scenario.path else "scenario"
    settings = scenario.settings
    for key in ("force_in", "force_out"):
        for x in getattr(settings, key):
            if x not in ids:
                out.error(sw, f"initiative {x!r} is not in the portfolio", column=key)
    mandatory = set(ini["id"][ini["mandatory"].astype(bool)])
    must = mandatory | set(settings.force_in)
    for x in sorted(must & set(settings.force_out)):
        why = "mandatory" if x in mandatory else "in force_in"
        out.error(sw, f"{x!r} is {why} and also in force_out", column="force_out")
    for i in dep.index:
        a, b, typ = dep.at[i, "predecessor"], dep.at[i, "successor"], dep.at[i, "type"]
        if typ == "excludes" and a in must and b in must:
            out.error(where["dependencies"], f"{a!r} and {b!r} exclude each other but both must be selected "
                      "(mandatory or forced in)", dep.at[i, "_row"], "type")
        if typ != "excludes" and b in must and a in set(settings.force_out):
            out.error(where["dependencies"], f"{b!r} must be selected but needs {a!r}, which is forced out",
                      dep.at[i, "_row"], "predecessor")
    for n, adj in enumerate(scenario.adjustments):
        if adj.resource not in known_resources:
            out.error(sw, f"resource {adj.resource!r} is not defined", column=f"adjustments[{n}].resource")

    if out.has_errors:
        raise InputError(out.issues)

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
    for adj in scenario.adjustments:
        lo = _bound(horizon, adj.start, first=True) if adj.start else -10**9
        hi = _bound(horizon, adj.end, first=False) if adj.end else 10**9
        hit = np.array([r == adj.resource and bool(ps) and lo <= min(ps) and max(ps) <= hi
                        for r, ps in zip(capacity["resource"], capacity["periods"])], dtype=bool)
        if adj.scale is not None:
            capacity.loc[hit, "amount"] *= adj.scale
            landing = funding["capacity_row"].isin(np.flatnonzero(hit))
            funding.loc[landing, "amount"] *= adj.scale
        else:
            capacity.loc[hit, "amount"] += adj.add
        if not hit.any():
            out.warn(sw, f"adjustment of {adj.resource} changes no capacity row", column="adjustments")

    # ---- warnings: periods with no limit for a resource that is used
    used = set(demands["resource"])
    if (initiatives[["capital_cost"]].to_numpy() > 0).any():
        used.add("capital")
    if (initiatives[["revenue_cost", "running_cost"]].to_numpy() > 0).any():
        used.add("revenue")
    for r in sorted(used):
        covered = set()
        for ps in capacity.loc[capacity["resource"] == r, "periods"]:
            covered.update(ps)
        missing = [p for p in range(T) if p not in covered]
        if missing:
            span = horizon.label(missing[0]) + (f" .. {horizon.label(missing[-1])}" if len(missing) > 1 else "")
            out.warn(where["capacity"] if "capacity" in raw else "capacity",
                     f"{r} has no limit in {len(missing)} period(s) ({span})", column="resource")

    portfolio = Portfolio(name=scenario.name, horizon=horizon, settings=settings, initiatives=initiatives,
                          resources=resources, demands=demands, capacity=capacity, funding=funding,
                          dependencies=dependencies, scenario=scenario, warnings=out.issues,
                          input_hash=_hash_inputs(scenario, scenario.portfolio))
    return portfolio


def _bound(horizon: Horizon, label: str, first: bool) -> int:
    got = horizon.resolve(label)
    single = horizon.index(label)
    if single is not None and horizon.granularity is not Granularity.YEAR:
        return single
    year = int(str(label)[:4])
    start = year * horizon.per_year - horizon.origin
    return start if first else start + horizon.per_year - 1


def load(scenario: str | Path | Scenario) -> Portfolio:
    """Scenario file (or loaded Scenario) -> validated Portfolio. Raises InputError."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return build_portfolio(scenario)


def validate(scenario: str | Path) -> list[Issue]:
    """Every problem (errors and warnings) of a scenario and its portfolio; never raises on bad input."""
    try:
        return load(scenario).warnings
    except InputError as exc:
        return exc.issues
