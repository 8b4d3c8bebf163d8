"""Scenario files (YAML): `extends` chains, defaults, and key-by-key validation."""
from __future__ import annotations

import copy
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Issue, display_path
from .periods import LABEL_EXAMPLES, Granularity, Horizon, parse_period

WEIGHT_KEYS = ("benefit", "revenue", "in_year_revenue", "alignment", "cost")
DEFAULT_WEIGHTS = {"benefit": 1.0, "revenue": 1.0, "in_year_revenue": 0.0, "alignment": 0.0, "cost": 1.0}
SOLVERS = ("highs", "cbc")

# The shape of a scenario file: a dict is a mapping with these keys, a type is a leaf.
# `None` as the value of a mapping means "any keys" (alignment_weights names objectives freely).
SCHEMA: dict[str, Any] = {
    "name": str, "description": str, "extends": str, "portfolio": str,
    "horizon": {"start": str, "periods": int, "granularity": str},
    "objective": {"discount_rate": float,
                  "weights": {k: float for k in WEIGHT_KEYS},
                  "alignment_weights": None},
    "adjustments": list, "force_in": list, "force_out": list, "external": bool,
    "solver": {"name": str, "time_limit": float, "gap": float},
}
ADJUSTMENT_KEYS = ("resource", "scale", "add", "from", "to")
MAX_PERIODS = 1200  # 100 years of months: far beyond any plan, small enough to validate quickly


@dataclass
class Adjustment:
    resource: str
    scale: float | None = None
    add: float | None = None
    start: str | None = None  # the `from` label
    end: str | None = None  # the `to` label


@dataclass
class Settings:
    """What the model needs from a scenario besides the tables."""

    discount_rate: float = 0.035
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    alignment_weights: dict[str, float] = field(default_factory=dict)
    external: bool = True
    force_in: list[str] = field(default_factory=list)
    force_out: list[str] = field(default_factory=list)


@dataclass
class SolverOptions:
    name: str = "highs"
    time_limit: float = 60.0
    gap: float = 0.001


@dataclass
class Scenario:
    name: str
    path: Path | None
    portfolio: Path
    horizon: Horizon
    settings: Settings
    adjustments: list[Adjustment]
    solver: SolverOptions
    description: str = ""
    files: list[Path] = field(default_factory=list)  # the scenario file and every file it extends
    raw: dict = field(default_factory=dict)  # the merged mapping, as a user would write it
    layers: list = field(default_factory=list)  # (file, its own mapping), this file first, then what it extends

    def where_of(self, column: str) -> str:
        """The scenario file that sets a key path such as 'force_out' or 'adjustments[0].resource'."""
        origin = _origin(self.layers, tuple(column.split("[")[0].split(".")))
        return display_path(origin or self.path or self.name)

    def to_yaml(self) -> str:
        """The merged scenario as one self-contained YAML document (no `extends`)."""
        doc = copy.deepcopy(self.raw)
        doc.pop("extends", None)
        doc["name"] = self.name
        doc["portfolio"] = str(self.portfolio)
        return yaml.safe_dump(doc, sort_keys=False)


def deep_merge(base: dict, over: dict) -> dict:
    """`over` merged onto `base`: mappings merge key by key, everything else (lists too) replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None and isinstance(out.get(key), dict):
            continue  # an empty `objective:` in a child means "nothing to change", not "forget the base's"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path, issues: list[Issue], named_by: tuple[str, str] | None = None) -> dict | None:
    """The mapping in one YAML file, or None (with an issue). `named_by` = (file, key) that pointed here."""
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        doc = yaml.safe_load(text)
    except FileNotFoundError:
        if named_by is not None:
            issues.append(Issue("error", named_by[0], f"file not found: {where}", column=named_by[1]))
        else:
            issues.append(Issue("error", where, "scenario file not found"))
        return None
    except IsADirectoryError:
        issues.append(Issue("error", where, "is a folder; give the scenario's .yaml file"))
        return None
    except UnicodeDecodeError:
        issues.append(Issue("error", where, "is not a text file; a scenario is a YAML text file"))
        return None
    except OSError as exc:
        issues.append(Issue("error", where, f"cannot be opened: {exc.strerror or exc}"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        issues.append(Issue("error", where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}", row=row))
        return None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        issues.append(Issue("error", where, "a scenario file must be a mapping of keys to values "
                            "(like 'horizon: {start: \"2026/27 Q1\", periods: 20}'), not "
                            f"{_kind(doc)}"))
        return None
    return doc


def _kind(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the single value {value!r}"


def _check_keys(doc: dict, schema: dict, where: str, prefix: str, issues: list[Issue]) -> None:
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if key not in schema:
            near = difflib.get_close_matches(str(key), [str(k) for k in schema], n=1)
            hint = f"; did you mean '{prefix}{near[0]}'?" if near else f"; valid keys: {', '.join(schema)}"
            issues.append(Issue("error", where, f"unknown key{hint}", column=path))
            continue
        expected = schema[key]
        if isinstance(expected, dict):
            if value is None:
                continue  # `objective:` with nothing under it: nothing set
            if not isinstance(value, dict):
                issues.append(Issue("error", where, f"must be a mapping of keys to values, not {_kind(value)}",
                                    column=path))
            else:
                _check_keys(value, expected, where, path + ".", issues)
        elif expected in (str, int, float, bool) and isinstance(value, (dict, list)):
            # a single value was expected; the value's own type is checked where it is read
            issues.append(Issue("error", where, f"must be a single value, not {_kind(value)}", column=path))
        elif expected is list and isinstance(value, dict):
            issues.append(Issue("error", where, "must be a list, not a mapping", column=path))


def _load_chain(path: Path, issues: list[Issue], seen: tuple[Path, ...],
                named_by: tuple[str, str] | None = None) -> tuple[dict, list[tuple[Path, dict]]] | None:
    """The merged mapping of `path` and every file it extends, and each file's own mapping (child first)."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        issues.append(Issue("error", display_path(seen[-1]), f"extends forms a cycle: {chain}", column="extends"))
        return None
    doc = _read_yaml(path, issues, named_by)
    if doc is None:
        return None
    where = display_path(path)
    _check_keys(doc, SCHEMA, where, "", issues)
    if isinstance(doc.get("portfolio"), str) and doc["portfolio"].strip():  # relative to the file that names it
        doc["portfolio"] = str((path.parent / doc["portfolio"].strip()).resolve())
    layers = [(path, doc)]
    parent = doc.get("extends")
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            issues.append(Issue("error", where, "must be the file name of another scenario", column="extends"))
            return doc, layers
        loaded = _load_chain(path.parent / parent.strip(), issues, (*seen, path), (where, "extends"))
        if loaded is None:
            return None
        base, base_layers = loaded
        base.pop("name", None)  # a name belongs to its own file
        doc = deep_merge(base, doc)
        layers += base_layers
    return doc, layers


def _origin(layers: list[tuple[Path, dict]], keys: tuple[str, ...]) -> Path | None:
    """The file (child first) whose own mapping sets the key path: that is where a bad value was written."""
    for path, doc in layers:
        node = doc
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            return path
    return None


def _number(doc: dict, key: str, where: str, issues: list[Issue], path: str, *, minimum=None, integer=False,
            maximum=None):
    value = doc.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer and float(value) != int(value):
        ok = False
    if not ok:
        kind = "a whole number" if integer else "a number"
        issues.append(Issue("error", where, f"must be {kind}, got {value!r}", column=path))
        return None
    if minimum is not None and value < minimum:
        issues.append(Issue("error", where, f"must be at least {minimum}, got {value!r}", column=path))
        return None
    if maximum is not None and value > maximum:
        issues.append(Issue("error", where, f"must be at most {maximum}, got {value!r}", column=path))
        return None
    return int(value) if integer else float(value)


def _id_list(doc: dict, key: str, where: str, issues: list[Issue]) -> list[str]:
    value = doc.get(key, [])
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        issues.append(Issue("error", where, "must be a list of initiative ids, like [EPR-01, PACS-02]", column=key))
        return []
    return [str(v).strip() for v in value]


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file and everything it extends; raise InputError listing every problem."""
    scenario, issues = read_scenario(path)
    if scenario is None or any(i.severity == "error" for i in issues):
        raise InputError(issues)
    return scenario


def read_scenario(path: str | Path) -> tuple[Scenario | None, list[Issue]]:
    """Best effort: the scenario (bad values replaced by defaults) and every problem found.

    The scenario is None when there is no horizon or portfolio to check the tables against.
    `validate` uses the best-effort scenario to report table problems in the same pass.
    """
    issues: list[Issue] = []
    try:
        scenario = _read_scenario(Path(path), issues)
    except Exception as exc:  # a safety net: bad input must give a message, never a traceback
        issues.append(Issue("error", display_path(path), "could not be read because of an unexpected problem "
                            f"({type(exc).__name__}: {exc}); please report this with the file"))
        scenario = None
    # A key with a bad shape can fail more than one check; its first message is enough.
    first, seen = [], set()
    for issue in issues:
        place = (issue.where, issue.row, issue.column)
        if issue.column is None or place not in seen:
            first.append(issue)
        seen.add(place)
    return scenario, first


def _read_scenario(path: Path, issues: list[Issue]) -> Scenario | None:
    loaded = _load_chain(path, issues, ())
    if loaded is None:
        return None
    doc, layers = loaded
    top = display_path(path)

    def at(column: str) -> str:
        """The file that set this key (a key may come from a file this one extends)."""
        keys = tuple(column.split("[")[0].split("."))
        origin = _origin(layers, keys)
        return display_path(origin) if origin is not None else top

    name = doc.get("name")
    name = str(name).strip() if isinstance(name, (str, int, float)) and str(name).strip() else path.stem
    portfolio = doc.get("portfolio")
    if portfolio is None or (isinstance(portfolio, str) and not portfolio.strip()):
        issues.append(Issue("error", top, "required: the portfolio folder or .xlsx workbook, relative to this file",
                            column="portfolio"))
        portfolio = None
    elif not isinstance(portfolio, str):
        issues.append(Issue("error", at("portfolio"), f"must be a folder or .xlsx path, got {portfolio!r}",
                            column="portfolio"))
        portfolio = None

    horizon = None
    h = doc.get("horizon")
    h = h if isinstance(h, dict) else {}
    gran_text = h.get("granularity", "quarter")
    try:
        granularity = Granularity(str(gran_text).strip().lower())
    except ValueError:
        issues.append(Issue("error", at("horizon.granularity"), f"must be quarter, month or year, got {gran_text!r}",
                            column="horizon.granularity"))
        granularity = None
    for key in ("start", "periods"):
        if h.get(key) is None and not isinstance(doc.get("horizon"), (str, int, float, list)):  # else said already
            issues.append(Issue("error", top, "required (in this file or one it extends)", column=f"horizon.{key}"))
    if granularity is not None and h.get("start") is not None and h.get("periods") is not None:
        # A bound on the horizon keeps a typo (periods: 2000000) from tying the computer up for hours.
        periods = _number(h, "periods", at("horizon.periods"), issues, "horizon.periods", minimum=1, integer=True,
                          maximum=MAX_PERIODS)
        try:
            start = str(h["start"]).strip()
            if periods is not None:
                horizon = Horizon(start, periods, granularity)
            elif parse_period(start, granularity) is None:
                raise ValueError(start)
        except ValueError:
            issues.append(Issue("error", at("horizon.start"), f"{h['start']!r} is not a {granularity.value} label "
                                f"(e.g. {LABEL_EXAMPLES[granularity]!r})", column="horizon.start"))

    settings = Settings()
    obj = doc.get("objective")
    obj = obj if isinstance(obj, dict) else {}
    if "discount_rate" in obj:
        rate = _number(obj, "discount_rate", at("objective.discount_rate"), issues, "objective.discount_rate",
                       minimum=0)
        settings.discount_rate = rate if rate is not None else settings.discount_rate
    weights = obj.get("weights")
    for key in (weights if isinstance(weights, dict) else {}):
        if key in WEIGHT_KEYS:
            column = f"objective.weights.{key}"
            w = _number(weights, key, at(column), issues, column)
            if w is not None:
                settings.weights[key] = w
    align = obj.get("alignment_weights")
    if align is None:
        align = {}
    if not isinstance(align, dict):
        issues.append(Issue("error", at("objective.alignment_weights"), "must be a mapping of objective to weight, "
                            "like {trust: 0.5, ldr: 0.3}", column="objective.alignment_weights"))
    else:
        for key in align:
            column = f"objective.alignment_weights.{key}"
            w = _number(align, key, at(column), issues, column)
            if w is not None:
                settings.alignment_weights[str(key)] = w
    external = doc.get("external", True)
    if not isinstance(external, bool):
        issues.append(Issue("error", at("external"), f"must be true or false, got {external!r}", column="external"))
    else:
        settings.external = external
    settings.force_in = _id_list(doc, "force_in", at("force_in"), issues)
    settings.force_out = _id_list(doc, "force_out", at("force_out"), issues)

    adjustments = []
    raw_adj = doc.get("adjustments")
    if raw_adj is None:
        raw_adj = []
    if not isinstance(raw_adj, list):
        if not isinstance(raw_adj, dict):  # a mapping was reported by the key check already
            issues.append(Issue("error", at("adjustments"), "must be a list", column="adjustments"))
        raw_adj = []
    adj_where = at("adjustments")
    for n, item in enumerate(raw_adj):
        key = f"adjustments[{n}]"
        if not isinstance(item, dict):
            issues.append(Issue("error", adj_where, "must be a mapping like {resource: capital, scale: 0.9}",
                                column=key))
            continue
        for k in item:
            if k not in ADJUSTMENT_KEYS:
                near = difflib.get_close_matches(str(k), ADJUSTMENT_KEYS, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else f"; valid keys: {', '.join(ADJUSTMENT_KEYS)}"
                issues.append(Issue("error", adj_where, f"unknown key{hint}", column=f"{key}.{k}"))
        if not isinstance(item.get("resource"), str) or not item["resource"].strip():
            issues.append(Issue("error", adj_where, "required: the resource to adjust", column=f"{key}.resource"))
            continue
        if ("scale" in item) == ("add" in item):
            issues.append(Issue("error", adj_where, "give exactly one of scale or add", column=key))
            continue
        adj = Adjustment(item["resource"].strip())
        if "scale" in item:
            adj.scale = _number(item, "scale", adj_where, issues, f"{key}.scale", minimum=0)
            if adj.scale is None:
                continue
        else:
            adj.add = _number(item, "add", adj_where, issues, f"{key}.add")
            if adj.add is None:
                continue
        bounds = {}
        for k, attr in (("from", "start"), ("to", "end")):
            if item.get(k) is not None:
                label = str(item[k]).strip()
                got = horizon.resolve(label) if horizon is not None else ()
                if got is None:
                    issues.append(Issue("error", adj_where, f"{item[k]!r} is not a {horizon.granularity.value} or "
                                        f"financial-year label (e.g. {LABEL_EXAMPLES[horizon.granularity]!r} or "
                                        "'2026/27')", column=f"{key}.{k}"))
                    continue
                setattr(adj, attr, label)
                if horizon is not None:
                    bounds[k] = adjustment_bound(horizon, label, first=(k == "from"))
        if "from" in bounds and "to" in bounds and bounds["from"] > bounds["to"]:
            issues.append(Issue("error", adj_where, f"'from' {adj.start} is after 'to' {adj.end}", column=key))
            continue
        adjustments.append(adj)

    solver = SolverOptions()
    s = doc.get("solver")
    s = s if isinstance(s, dict) else {}
    if "name" in s:
        if str(s["name"]).strip().lower() not in SOLVERS:
            issues.append(Issue("error", at("solver.name"), f"must be one of {', '.join(SOLVERS)}, got {s['name']!r}",
                                column="solver.name"))
        else:
            solver.name = str(s["name"]).strip().lower()
    if "time_limit" in s:
        v = _number(s, "time_limit", at("solver.time_limit"), issues, "solver.time_limit", minimum=0)
        solver.time_limit = v if v is not None else solver.time_limit
    if "gap" in s:
        v = _number(s, "gap", at("solver.gap"), issues, "solver.gap", minimum=0)
        solver.gap = v if v is not None else solver.gap

    if horizon is None or portfolio is None:
        return None
    description = doc.get("description")
    return Scenario(name=name, path=path.resolve(), portfolio=Path(portfolio), horizon=horizon,
                    settings=settings, adjustments=adjustments, solver=solver,
                    description="" if description is None else str(description),
                    files=[p for p, _ in layers], raw=doc, layers=layers)


def adjustment_bound(horizon: Horizon, label: str, first: bool) -> int:
    """Period index where an adjustment's `from` (first=True) or `to` label begins or ends.

    A financial-year label spans its whole year: `from: 2027/28` starts at its first period and
    `to: 2027/28` ends at its last.
    """
    single = horizon.index(label)
    if single is not None and horizon.granularity is not Granularity.YEAR:
        return single
    start = int(str(label).strip()[:4]) * horizon.per_year - horizon.origin
    return start if first else start + horizon.per_year - 1
