"""Scenario files (YAML): `extends` chains, defaults, and key-by-key validation."""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Issue
from .periods import LABEL_EXAMPLES, Granularity, Horizon

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
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path, issues: list[Issue]) -> dict | None:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        issues.append(Issue("error", str(path), "scenario file not found"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        issues.append(Issue("error", str(path), f"not valid YAML: {getattr(exc, 'problem', exc)}", row=row))
        return None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        issues.append(Issue("error", str(path), "a scenario file must be a mapping of keys to values"))
        return None
    return doc


def _check_keys(doc: dict, schema: dict, where: str, prefix: str, issues: list[Issue]) -> None:
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if key not in schema:
            near = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f"; did you mean '{prefix}{near[0]}'?" if near else f"; valid keys: {', '.join(schema)}"
            issues.append(Issue("error", where, f"unknown key{hint}", column=path))
            continue
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                issues.append(Issue("error", where, "must be a mapping", column=path))
            else:
                _check_keys(value, expected, where, path + ".", issues)


def _load_chain(path: Path, issues: list[Issue], seen: tuple[Path, ...]) -> tuple[dict, list[Path]] | None:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        issues.append(Issue("error", str(seen[-1]), f"extends forms a cycle: {chain}", column="extends"))
        return None
    doc = _read_yaml(path, issues)
    if doc is None:
        return None
    _check_keys(doc, SCHEMA, str(path), "", issues)
    if isinstance(doc.get("portfolio"), str):  # relative to the file that names it
        doc["portfolio"] = str((path.parent / doc["portfolio"]).resolve())
    files = [path]
    parent = doc.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            issues.append(Issue("error", str(path), "must be a file name", column="extends"))
            return doc, files
        loaded = _load_chain(path.parent / parent, issues, (*seen, path))
        if loaded is None:
            return None
        base, base_files = loaded
        base.pop("name", None)  # a name belongs to its own file
        doc = deep_merge(base, doc)
        files += base_files
    return doc, files


def _number(doc: dict, key: str, where: str, issues: list[Issue], path: str, *, minimum=None, integer=False):
    value = doc.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer and float(value) != int(value):
        ok = False
    if not ok:
        kind = "a whole number" if integer else "a number"
        issues.append(Issue("error", where, f"must be {kind}, got {value!r}", column=path))
        return None
    if minimum is not None and value < minimum:
        issues.append(Issue("error", where, f"must be at least {minimum}, got {value!r}", column=path))
        return None
    return int(value) if integer else float(value)


def _id_list(doc: dict, key: str, where: str, issues: list[Issue]) -> list[str]:
    value = doc.get(key, [])
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        issues.append(Issue("error", where, "must be a list of initiative ids", column=key))
        return []
    return [str(v) for v in value]


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file and everything it extends; raise InputError listing every problem."""
    path = Path(path)
    issues: list[Issue] = []
    loaded = _load_chain(path, issues, ())
    if loaded is None or any(i.severity == "error" for i in issues):
        raise InputError(issues)
    doc, files = loaded
    where = str(path)

    name = doc.get("name") or path.stem
    portfolio = doc.get("portfolio")
    if not portfolio:
        issues.append(Issue("error", where, "required: the portfolio folder or .xlsx, relative to this file",
                            column="portfolio"))

    horizon = None
    h = doc.get("horizon") or {}
    gran_text = h.get("granularity", "quarter")
    try:
        granularity = Granularity(gran_text)
    except ValueError:
        issues.append(Issue("error", where, f"must be quarter, month or year, got {gran_text!r}",
                            column="horizon.granularity"))
        granularity = None
    for key in ("start", "periods"):
        if key not in h:
            issues.append(Issue("error", where, "required (in this file or one it extends)", column=f"horizon.{key}"))
    if granularity is not None and "start" in h and "periods" in h:
        periods = _number(h, "periods", where, issues, "horizon.periods", minimum=1, integer=True)
        if periods is not None:
            try:
                horizon = Horizon(str(h["start"]), periods, granularity)
            except ValueError:
                issues.append(Issue("error", where, f"{h['start']!r} is not a {granularity.value} label "
                                    f"(e.g. {LABEL_EXAMPLES[granularity]!r})", column="horizon.start"))

    settings = Settings()
    obj = doc.get("objective") or {}
    if "discount_rate" in obj:
        rate = _number(obj, "discount_rate", where, issues, "objective.discount_rate", minimum=0)
        settings.discount_rate = rate if rate is not None else settings.discount_rate
    for key, value in (obj.get("weights") or {}).items():
        if key in WEIGHT_KEYS:
            w = _number(obj["weights"], key, where, issues, f"objective.weights.{key}")
            if w is not None:
                settings.weights[key] = w
    align = obj.get("alignment_weights") or {}
    if not isinstance(align, dict):
        issues.append(Issue("error", where, "must be a mapping of objective to weight",
                            column="objective.alignment_weights"))
    else:
        for key in align:
            w = _number(align, key, where, issues, f"objective.alignment_weights.{key}")
            if w is not None:
                settings.alignment_weights[str(key)] = w
    external = doc.get("external", True)
    if not isinstance(external, bool):
        issues.append(Issue("error", where, f"must be true or false, got {external!r}", column="external"))
    else:
        settings.external = external
    settings.force_in = _id_list(doc, "force_in", where, issues)
    settings.force_out = _id_list(doc, "force_out", where, issues)

    adjustments = []
    raw_adj = doc.get("adjustments") or []
    if not isinstance(raw_adj, list):
        issues.append(Issue("error", where, "must be a list", column="adjustments"))
        raw_adj = []
    for n, item in enumerate(raw_adj):
        key = f"adjustments[{n}]"
        if not isinstance(item, dict):
            issues.append(Issue("error", where, "must be a mapping like {resource: capital, scale: 0.9}", column=key))
            continue
        for k in item:
            if k not in ADJUSTMENT_KEYS:
                near = difflib.get_close_matches(str(k), ADJUSTMENT_KEYS, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                issues.append(Issue("error", where, f"unknown key{hint}", column=f"{key}.{k}"))
        if not isinstance(item.get("resource"), str):
            issues.append(Issue("error", where, "required: the resource to adjust", column=f"{key}.resource"))
            continue
        if ("scale" in item) == ("add" in item):
            issues.append(Issue("error", where, "give exactly one of scale or add", column=key))
            continue
        adj = Adjustment(item["resource"])
        if "scale" in item:
            adj.scale = _number(item, "scale", where, issues, f"{key}.scale", minimum=0)
        else:
            adj.add = _number(item, "add", where, issues, f"{key}.add")
        for k, attr in (("from", "start"), ("to", "end")):
            if k in item:
                if horizon is not None and horizon.resolve(str(item[k])) is None:
                    issues.append(Issue("error", where, f"{item[k]!r} is not a period or financial-year label",
                                        column=f"{key}.{k}"))
                setattr(adj, attr, str(item[k]))
        adjustments.append(adj)

    solver = SolverOptions()
    s = doc.get("solver") or {}
    if "name" in s:
        if str(s["name"]).lower() not in SOLVERS:
            issues.append(Issue("error", where, f"must be one of {', '.join(SOLVERS)}, got {s['name']!r}",
                                column="solver.name"))
        else:
            solver.name = str(s["name"]).lower()
    if "time_limit" in s:
        v = _number(s, "time_limit", where, issues, "solver.time_limit", minimum=0)
        solver.time_limit = v if v is not None else solver.time_limit
    if "gap" in s:
        v = _number(s, "gap", where, issues, "solver.gap", minimum=0)
        solver.gap = v if v is not None else solver.gap

    if any(i.severity == "error" for i in issues):
        raise InputError(issues)
    return Scenario(name=str(name), path=path.resolve(), portfolio=Path(portfolio), horizon=horizon,
                    settings=settings, adjustments=adjustments, solver=solver,
                    description=str(doc.get("description", "")), files=files, raw=doc)
