"""Scenario files (YAML): `extends` chains, defaults, and key-by-key validation.

What a scenario file may hold is declared once, in `schema.SCENARIO` (typed leaves); the readers
below check each section against it and keep every problem, naming the file that set the key.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import limits
from .errors import InputError, Issue, display_path
from .periods import LABEL_EXAMPLES, Granularity, Horizon, parse_period
from .schema import ADJUSTMENT, DEFAULT_WEIGHTS, SCENARIO, TARGET, UPLIFT, WEIGHT_KEYS, Key
from .solvers import SOLVER_NAMES as SOLVERS

_OBJECTIVE, _SOLVER, _HORIZON = SCENARIO["objective"], SCENARIO["solver"], SCENARIO["horizon"]
_CHANGES = SCENARIO["changes"]
_OPTIMISM = SCENARIO["optimism_bias"]
_PATH_KEYS = ("portfolio", "approved_plan")  # paths relative to the file that names them


@dataclass
class Adjustment:
    resource: str
    scale: float | None = None
    add: float | None = None
    start: str | None = None  # the `from` label
    end: str | None = None  # the `to` label


@dataclass
class Changes:
    """How far a re-plan may depart from the approved plan (`changes:`)."""

    keep: str = _CHANGES["keep"].default  # start, selection or none
    max_moved: int | None = _CHANGES["max_moved"].default
    move_penalty: float = _CHANGES["move_penalty"].default
    drop_penalty: float = _CHANGES["drop_penalty"].default


@dataclass
class Target:
    """One hard floor (`targets:`): that financial year's measure, summed over the selected initiatives."""

    measure: str  # cash_releasing_savings or in_year_revenue
    financial_year: str  # a financial-year label inside the horizon
    at_least: float


@dataclass
class OptimismBias:
    """Green Book optimism bias (`optimism_bias:`): by_category maps a category (or `default`) to
    {capital, duration} uplifts; a key it leaves out falls back to `default`'s, then the Green Book's."""

    apply: bool = _OPTIMISM["apply"].default
    by_category: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class Settings:
    """What the model needs from a scenario besides the tables."""

    discount_rate: float = _OBJECTIVE["discount_rate"].default
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    alignment_weights: dict[str, float] = field(default_factory=dict)
    external: bool = SCENARIO["external"].default
    force_in: list[str] = field(default_factory=list)
    force_out: list[str] = field(default_factory=list)
    allow_stopping: bool = SCENARIO["allow_stopping"].default
    changes: Changes = field(default_factory=Changes)
    targets: list[Target] = field(default_factory=list)
    optimism_bias: OptimismBias = field(default_factory=OptimismBias)


@dataclass
class SolverOptions:
    name: str = _SOLVER["name"].default
    time_limit: float = _SOLVER["time_limit"].default
    gap: float = _SOLVER["gap"].default


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
    approved_plan: Path | None = None  # the approved plan's CSV file

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
        if self.approved_plan is not None:
            doc["approved_plan"] = str(self.approved_plan)
        return yaml.safe_dump(doc, sort_keys=False)

    def replace(self, **changes) -> Scenario:
        """A copy with fields changed, its YAML kept in step (see the editing section at the end)."""
        return replace_scenario(self, **changes)


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


# ------------------------------------------------------------------------------- one file


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader counting what it composes, aliases expanded: an alias bomb (a few
    hundred bytes naming a list of lists of ... a billion times) or a file nested thousands deep is
    refused (limits.Exceeded) before anything is built from it."""

    def __init__(self, stream):
        super().__init__(stream)
        self.max_nodes, self.max_depth = limits.value("YAML_NODES"), limits.value("YAML_DEPTH")
        self.nodes, self.depth, self.deepest = 0, 0, 0
        self.sizes: dict[str, tuple[int, int]] = {}  # anchor -> (values, levels) of what it names
        self.open: set[str] = set()  # anchors whose value is being composed

    def count(self, nodes: int, depth: int) -> None:
        self.nodes += nodes
        self.deepest = max(self.deepest, depth)
        if self.nodes > self.max_nodes:
            raise limits.Exceeded(limits.refusal("YAML_NODES", f"the file holds more than {self.max_nodes:,.0f} "
                                                 "values once its aliases are expanded"))
        if depth > self.max_depth:
            raise limits.Exceeded(limits.refusal("YAML_DEPTH", f"the file nests lists and mappings more than "
                                                 f"{self.max_depth:,.0f} levels deep"))

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open:
                raise limits.Exceeded(f"the alias *{event.anchor} is used inside the value it names, which "
                                      "makes that value endless")
            nodes, levels = self.sizes.get(event.anchor, (1, 1))
            self.count(nodes, self.depth + levels)
            return super().compose_node(parent, index)
        anchor, before, deepest = event.anchor, self.nodes, self.deepest
        self.depth += 1
        self.deepest = self.depth
        self.count(1, self.depth)
        if anchor is not None:
            self.open.add(anchor)
        node = super().compose_node(parent, index)
        if anchor is not None:
            self.open.discard(anchor)
            self.sizes[anchor] = (self.nodes - before, self.deepest - self.depth + 1)
        self.depth -= 1
        self.deepest = max(deepest, self.deepest)
        return node


def _read_yaml(path: Path, issues: list[Issue], named_by: tuple[str, str] | None = None) -> dict | None:
    """The mapping in one YAML file, or None (with an issue). `named_by` = (file, key) that pointed here:
    a file that cannot be opened is reported there, where the wrong name was written."""
    where = display_path(path)

    def cannot(message: str) -> None:
        if named_by is not None:
            issues.append(Issue("error", named_by[0], f"{where} {message}", column=named_by[1]))
        else:
            issues.append(Issue("error", where, message))

    text = ""
    try:
        text = limits.read_file(path, "YAML_KB").decode("utf-8-sig")
        doc = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a SafeLoader)
    except limits.Exceeded as exc:
        issues.append(Issue("error", where, str(exc)))
        return None
    except FileNotFoundError:
        cannot("is not found" if named_by is not None else "scenario file not found")
        return None
    except IsADirectoryError:
        cannot("is a folder; give the scenario's .yaml file")
        return None
    except UnicodeDecodeError:
        cannot("is not a text file; a scenario is a YAML text file")
        return None
    except OSError as exc:
        cannot(f"cannot be opened: {exc.strerror or exc}")
        return None
    except yaml.YAMLError as exc:
        row, message = _yaml_problem(exc, text)
        issues.append(Issue("error", where, message, row=row))
        return None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. an integer of thousands of digits
        issues.append(Issue("error", where, f"holds a value that cannot be read ({exc})"))
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


def _unknown_key(key, known, prefix: str) -> str:
    near = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    return f"unknown key; did you mean '{prefix}{near[0]}'?" if near else f"unknown key; valid keys: {', '.join(known)}"


def _check_keys(doc: dict, schema: dict, where: str, prefix: str, issues: list[Issue]) -> None:
    """Unknown keys, and values of the wrong shape (a mapping, a list or a single value) against the schema."""
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if key not in schema:
            issues.append(Issue("error", where, _unknown_key(key, schema, prefix), column=path))
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
        elif expected.is_single and isinstance(value, (dict, list)):
            # a single value was expected; the value's own type is checked where it is read
            issues.append(Issue("error", where, f"must be a single value, not {_kind(value)}", column=path))
        elif expected.is_list and isinstance(value, dict):
            issues.append(Issue("error", where, "must be a list, not a mapping", column=path))


# Control characters (and Unicode's line and paragraph separators) have no place in a name or an id:
# they break CSV rows and spreadsheet cells. A description may hold line breaks and tabs.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def control_characters(text: str, prose: bool = False) -> str | None:
    """A message naming the first control character in `text`, or None."""
    m = (_CONTROL_IN_PROSE if prose else CONTROL).search(text)
    if m is None:
        return None
    name = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}.get(m.group(), "a control character")
    return (f"holds {name} (U+{ord(m.group()):04X}) at character {m.start() + 1}; remove it (such characters break "
            "CSV files and spreadsheet cells)")


def _check_characters(node, where: str, path: str, issues: list[Issue]) -> None:
    """Control characters in any key or text value of one file, reported at the key path. A key
    holding one is reported and dropped, so that nothing after this reports it again."""
    items = list(node.items()) if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        bad_key = control_characters(key) if isinstance(key, str) else None
        if bad_key:  # the key cannot be part of a readable key path: name the mapping that holds it
            issues.append(Issue("error", where, f"the key {key!r} {bad_key}", column=path or None))
            del node[key]
            continue
        here = f"{path}[{key}]" if isinstance(node, list) else f"{path}.{key}" if path else str(key)
        problem = control_characters(value, prose=here == "description") if isinstance(value, str) else None
        if problem:
            issues.append(Issue("error", where, problem, column=here))
        if isinstance(value, (dict, list)):
            _check_characters(value, where, here, issues)


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
    _check_characters(doc, where, "", issues)
    _check_keys(doc, SCENARIO, where, "", issues)
    for key in _PATH_KEYS:  # relative to the file that names it (one with a control character was reported)
        value = doc.get(key)
        if isinstance(value, str) and value.strip() and not CONTROL.search(value):
            doc[key] = str((path.parent / value.strip()).resolve())
    layers = [(path, doc)]
    parent = doc.get("extends")
    if parent is not None:
        if isinstance(parent, str) and CONTROL.search(parent):
            return doc, layers  # reported: no file has such a name
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


# ------------------------------------------------------------------------------- YAML's own errors
# PyYAML says "mapping values are not allowed here"; a person needs to hear "this line is indented
# more than the one above". Each rule below reads the error's marks and the text around them.

_KEY_VALUE = re.compile(r"^\s*(?:- )?[^\s:#'\"][^:#]*:(\s|$)")  # "key: ..." (or "- key: ...")
_BRACKETS = {"[": "]", "{": "}"}


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """(line number, one plain sentence) for a YAML syntax error."""
    lines = text.splitlines()
    problem = str(getattr(exc, "problem", "") or exc)
    context = str(getattr(exc, "context", "") or "")
    mark, opened = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    row = mark.line + 1 if mark is not None else None
    start = opened.line + 1 if opened is not None else row
    tab = next((n for n, line in enumerate(lines[:row or len(lines)], 1)
                if "\t" in line[:len(line) - len(line.lstrip())]), None)
    if tab is not None:
        return tab, "this line is indented with a tab; YAML indents with spaces only, so replace the tab with spaces"
    if "quoted scalar" in context:
        if "escape" in problem:
            return row, ("a backslash (\\) inside double quotes starts an escape code; write the value in single "
                         "quotes or use forward slashes (/) in a path")
        return start, "the quote opened on this line is never closed; add the closing quote"
    if "flow" in context:
        return _unclosed_bracket(lines, start, row)
    if "could not find expected ':'" in problem:
        return start, "this line has no ':' after its key; write 'key: value' (or '- value' for an item of a list)"
    if "mapping values are not allowed" in problem:
        return _stray_colon(lines, row, mark.column)
    if "expected <block end>" in problem:
        line = lines[row - 1] if row and row <= len(lines) else ""
        if "<scalar>" in problem and re.search(r"""["'][^"']*$""", line[:mark.column]):
            return row, "this line has text after a closing quote; put the whole value inside the quotes"
        return row, ("this line is indented differently from the lines above it; keys of one mapping must line up "
                     "exactly (the same number of spaces)")
    if "cannot start any token" in problem or "undefined alias" in problem:
        return row, "a value cannot start with this character (@, `, %, * or &); put the value in quotes"
    return row, f"this is not valid YAML ({problem})"


def _stray_colon(lines: list[str], row: int, column: int) -> tuple[int, str]:
    """A ':' where no key can start: a value holding ': ', a key under a value, or a broken line above."""
    line = lines[row - 1]
    key = _KEY_VALUE.match(line)
    if key and key.end() <= column:
        return row, "a value holds ': ' (a colon and a space); put the whole value in quotes, like \"a: b\""
    above = next((n for n in range(row - 1, 0, -1) if lines[n - 1].strip() and
                  not lines[n - 1].lstrip().startswith("#")), None)
    if above is not None:
        prev = lines[above - 1]
        if re.search(r":[^\s:]", prev) and not _KEY_VALUE.match(prev):
            return above, "this line needs a space after the ':' (write 'key: value')"
        if ":" not in prev and not prev.lstrip().startswith("- "):
            return above, "this line has no ':' after its key; write 'key: value' (or '- value' for an item of a list)"
    return row, ("this line is indented more than the line above it; keys of one mapping must line up exactly "
                 "(the same number of spaces)")


def _unclosed_bracket(lines: list[str], start: int | None, row: int | None) -> tuple[int | None, str]:
    """The innermost '[' or '{' left open (quotes and comments skipped), else where YAML saw the list begin."""
    stack: list[tuple[int, str]] = []
    for n, line in enumerate(lines[:row or len(lines)], 1):
        quote = None
        for i, ch in enumerate(line):
            if quote:
                quote = None if ch == quote else quote
            elif ch in "\"'" and (i == 0 or line[i - 1] in " [{,:"):  # an apostrophe inside a word is text
                quote = ch
            elif ch == "#":
                break
            elif ch in _BRACKETS:
                stack.append((n, ch))
            elif stack and ch == _BRACKETS[stack[-1][1]]:
                stack.pop()
    n, ch = stack[-1] if stack else (start, "[")
    return n, (f"the '{ch}' opened on this line is not closed by '{_BRACKETS[ch]}' (or a ',' is missing between "
               "its items); close it on the same line, or write the items one per line")


# ------------------------------------------------------------------------------ typed leaves


class _Reader:
    """The merged mapping of a scenario, where each of its keys was set, and the problems found."""

    def __init__(self, doc: dict, layers: list[tuple[Path, dict]], top: Path, issues: list[Issue]):
        self.doc, self.layers, self.top, self.issues = doc, layers, display_path(top), issues

    def at(self, column: str) -> str:
        """The file that set this key (a key may come from a file this one extends)."""
        origin = _origin(self.layers, tuple(column.split("[")[0].split(".")))
        return display_path(origin) if origin is not None else self.top

    def error(self, column: str, message: str, where: str | None = None) -> None:
        self.issues.append(Issue("error", where or self.at(column), message, column=column))

    def listed(self, key: str, shape: str) -> list:
        """The list under `key`: [] when it is absent or not a list (reported, `shape` saying what a list
        looks like, unless it is a mapping, which the key check reported already)."""
        items = self.doc.get(key)
        if items is None or isinstance(items, list):
            return items or []
        if not isinstance(items, dict):
            self.error(key, f"must be a list{shape}")
        return []

    def section(self, key: str) -> dict:
        value = self.doc.get(key)
        return value if isinstance(value, dict) else {}

    def number(self, mapping: dict, key: str, column: str, spec: Key, where: str | None = None):
        """The value of a number or integer leaf, or None (reported) when it is not one."""
        value = mapping.get(key)
        integer = spec.type == "integer"
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and integer and float(value) != int(value):
            ok = False
        maximum = limits.value(spec.limit) if spec.limit else spec.maximum
        if not ok:
            self.error(column, f"must be {'a whole number' if integer else 'a number'}, got {value!r}", where)
        elif spec.minimum is not None and value < spec.minimum:
            self.error(column, f"must be at least {spec.minimum}, got {value!r}", where)
        elif maximum is not None and value > maximum:
            self.error(column, f"must be at most {maximum:g}, got {value!r}" + (
                f" ({limits.refusal(spec.limit, 'too long', value)})" if spec.limit else ""), where)
        elif abs(value) > limits.value("AMOUNT"):
            self.error(column, limits.refusal("AMOUNT", f"{value:g} is too large to plan with", abs(value)), where)
        else:
            return int(value) if integer else float(value)
        return None

    def leaf(self, mapping: dict, key: str, column: str, spec: Key, where: str | None = None):
        """The typed value of a leaf: its default when absent, None (reported) when it is bad."""
        if key not in mapping:
            return spec.default
        value = mapping[key]
        if value is None and spec.type == "ids":
            return []  # `force_in:` with nothing after it
        if spec.type in ("number", "integer"):
            return self.number(mapping, key, column, spec, where)
        if spec.type == "bool":
            if isinstance(value, bool):
                return value
            self.error(column, f"must be true or false, got {value!r}", where)
            return None
        if spec.type in ("choice", "solver"):
            choices = SOLVERS if spec.type == "solver" else spec.choices
            if str(value).strip().lower() in choices:
                return str(value).strip().lower()
            self.error(column, f"must be one of {', '.join(choices)}, got {value!r}", where)
            return None
        if spec.type == "ids":
            return self.ids(value, column)
        return "" if value is None else str(value)

    def ids(self, value, column: str) -> list[str] | None:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                                  for v in value):
            self.error(column, "must be a list of initiative ids, like [EPR-01, PACS-02]")
            return None
        return [str(v).strip() for v in value]


# ------------------------------------------------------------------------- one reader per section


def _read_name(r: _Reader, path: Path) -> str:
    name = r.doc.get("name")
    return str(name).strip() if isinstance(name, (str, int, float)) and str(name).strip() else path.stem


def _read_portfolio(r: _Reader) -> str | None:
    portfolio = r.doc.get("portfolio")
    if portfolio is None or (isinstance(portfolio, str) and not portfolio.strip()):
        r.error("portfolio", "required: the portfolio folder or .xlsx workbook, relative to this file", r.top)
    elif not isinstance(portfolio, str):
        r.error("portfolio", f"must be a folder or .xlsx path, got {portfolio!r}")
    elif not CONTROL.search(portfolio):  # (one with a control character was reported, and names nothing)
        return portfolio
    return None


def _read_horizon(r: _Reader) -> Horizon | None:
    h = r.section("horizon")
    granularity = r.leaf(h, "granularity", "horizon.granularity", _HORIZON["granularity"])
    for key in (k for k, spec in _HORIZON.items() if spec.required):
        if h.get(key) is None and not isinstance(r.doc.get("horizon"), (str, int, float, list)):  # else said already
            r.error(f"horizon.{key}", "required (in this file or one it extends)", r.top)
    if granularity is None or h.get("start") is None or h.get("periods") is None:
        return None
    granularity = Granularity(granularity)
    periods = r.number(h, "periods", "horizon.periods", _HORIZON["periods"])
    start = str(h["start"]).strip()
    try:
        if periods is not None:
            return Horizon(start, periods, granularity)
        if parse_period(start, granularity) is None:
            raise ValueError(start)
    except ValueError:
        r.error("horizon.start", f"{h['start']!r} is not a {granularity.value} label "
                f"(e.g. {LABEL_EXAMPLES[granularity]!r})")
    return None


def _read_settings(r: _Reader) -> Settings:
    """The objective's section, `external` and the force lists."""
    settings = Settings()
    obj = r.section("objective")
    rate = r.leaf(obj, "discount_rate", "objective.discount_rate", _OBJECTIVE["discount_rate"])
    settings.discount_rate = rate if rate is not None else settings.discount_rate
    weights = obj.get("weights")
    for key in (weights if isinstance(weights, dict) else {}):
        if key in WEIGHT_KEYS:
            w = r.leaf(weights, key, f"objective.weights.{key}", _OBJECTIVE["weights"][key])
            if w is not None:
                settings.weights[key] = w
    align = obj.get("alignment_weights")
    if align is not None and not isinstance(align, dict):
        r.error("objective.alignment_weights", "must be a mapping of objective to weight, like {trust: 0.5, ldr: 0.3}")
    for key in (align if isinstance(align, dict) else {}):
        w = r.number(align, key, f"objective.alignment_weights.{key}", Key("number"))
        if w is not None:
            settings.alignment_weights[str(key)] = w
    external = r.leaf(r.doc, "external", "external", SCENARIO["external"])
    settings.external = external if external is not None else settings.external
    settings.force_in = r.leaf(r.doc, "force_in", "force_in", SCENARIO["force_in"]) or []
    settings.force_out = r.leaf(r.doc, "force_out", "force_out", SCENARIO["force_out"]) or []
    stopping = r.leaf(r.doc, "allow_stopping", "allow_stopping", SCENARIO["allow_stopping"])
    settings.allow_stopping = stopping if stopping is not None else settings.allow_stopping
    settings.changes = _read_changes(r)
    settings.optimism_bias = _read_optimism_bias(r)
    return settings


def _read_changes(r: _Reader) -> Changes:
    """`changes:` (how far a re-plan may depart from the approved plan)."""
    changes, c = Changes(), r.section("changes")
    for key in ("keep", "max_moved", "move_penalty", "drop_penalty"):
        value = r.leaf(c, key, f"changes.{key}", _CHANGES[key])
        if value is not None:
            setattr(changes, key, value)
    return changes


def _read_optimism_bias(r: _Reader) -> OptimismBias:
    """`optimism_bias:` {apply, by_category: {category: {capital, duration}}}."""
    bias, section = OptimismBias(), r.section("optimism_bias")
    apply = r.leaf(section, "apply", "optimism_bias.apply", _OPTIMISM["apply"])
    bias.apply = apply if apply is not None else bias.apply
    by = section.get("by_category")
    if by is None:
        return bias
    if not isinstance(by, dict):
        r.error("optimism_bias.by_category", "must be a mapping of category to uplifts, like "
                "{default: {capital: 0.54, duration: 0.2}, infrastructure: {capital: 0.24}}")
        return bias
    for category, uplifts in by.items():
        key = f"optimism_bias.by_category.{category}"
        if not isinstance(uplifts, dict):
            r.error(key, "must be a mapping like {capital: 0.54, duration: 0.2}")
            continue
        got = {}
        for k, value in uplifts.items():
            if k not in UPLIFT:
                r.error(f"{key}.{k}", _unknown_key(k, UPLIFT, ""))
                continue
            number = r.number(uplifts, k, f"{key}.{k}", UPLIFT[k])
            if number is not None:
                got[k] = number
        bias.by_category[str(category).strip()] = got
    return bias


def _read_targets(r: _Reader, horizon: Horizon | None) -> list[Target]:
    """`targets:` a list of {measure, financial_year, at_least}; a year outside the horizon is an error."""
    items = r.listed("targets", " like [{measure: cash_releasing_savings, financial_year: '2027/28', "
                     "at_least: 1500000}]")
    where = r.at("targets")
    got = [_read_target(r, item, f"targets[{n}]", where, horizon) for n, item in enumerate(items)]
    seen: dict[tuple[str, str], str] = {}
    for n, target in enumerate(got):
        if target is None:
            continue
        both = (target.measure, target.financial_year)
        if both in seen:
            r.error(f"targets[{n}]", f"a second {target.measure} target for {target.financial_year} (the first is "
                    f"{seen[both]}): give each measure one target per year", where)
        seen.setdefault(both, f"targets[{n}]")
    return [t for t in got if t is not None]


def _read_target(r: _Reader, item, key: str, where: str, horizon: Horizon | None) -> Target | None:
    if not isinstance(item, dict):
        r.error(key, "must be a mapping like {measure: cash_releasing_savings, financial_year: '2027/28', "
                "at_least: 1500000}", where)
        return None
    for k in item:
        if k not in TARGET:
            r.error(f"{key}.{k}", _unknown_key(k, TARGET, ""), where)
    missing = [k for k in TARGET if item.get(k) is None]
    for k in missing:
        r.error(f"{key}.{k}", f"required: {TARGET[k].meaning}", where)
    measure = r.leaf(item, "measure", f"{key}.measure", TARGET["measure"], where) if "measure" not in missing else None
    at_least = r.number(item, "at_least", f"{key}.at_least", TARGET["at_least"], where) \
        if "at_least" not in missing else None
    year = str(item.get("financial_year", "")).strip()
    if "financial_year" not in missing and horizon is not None:
        periods = horizon.fy_periods(year)
        if periods is None:
            r.error(f"{key}.financial_year", f"{item['financial_year']!r} is not a financial-year label "
                    "(e.g. '2027/28')", where)
            year = ""
        elif not periods:
            r.error(f"{key}.financial_year", f"{year} is outside the horizon ({horizon.fy_labels[0]} .. "
                    f"{horizon.fy_labels[-1]})", where)
            year = ""
    if measure is None or at_least is None or not year:
        return None
    return Target(measure, year, at_least)


def _read_approved_plan(r: _Reader) -> Path | None:
    value = r.doc.get("approved_plan")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        r.error("approved_plan", f"must be the path of a plan.csv file, got {value!r}")
        return None
    return None if CONTROL.search(value) else Path(value)  # (one with a control character was reported)


def _read_adjustments(r: _Reader, horizon: Horizon | None) -> list[Adjustment]:
    items = r.listed("adjustments", "")
    where = r.at("adjustments")
    got = (_read_adjustment(r, item, f"adjustments[{n}]", where, horizon) for n, item in enumerate(items))
    return [adj for adj in got if adj is not None]


def _read_adjustment(r: _Reader, item, key: str, where: str, horizon: Horizon | None) -> Adjustment | None:
    if not isinstance(item, dict):
        r.error(key, "must be a mapping like {resource: capital, scale: 0.9}", where)
        return None
    for k in item:
        if k not in ADJUSTMENT:
            r.error(f"{key}.{k}", _unknown_key(k, ADJUSTMENT, ""), where)
    if not isinstance(item.get("resource"), str) or not item["resource"].strip():
        r.error(f"{key}.resource", "required: the resource to adjust", where)
        return None
    if ("scale" in item) == ("add" in item):
        r.error(key, "give exactly one of scale or add", where)
        return None
    adj = Adjustment(item["resource"].strip())
    change = "scale" if "scale" in item else "add"
    setattr(adj, change, r.number(item, change, f"{key}.{change}", ADJUSTMENT[change], where))
    if getattr(adj, change) is None:
        return None
    bounds = {}
    for k, attr in (("from", "start"), ("to", "end")):
        if item.get(k) is None:
            continue
        label = str(item[k]).strip()
        if horizon is not None and horizon.bounds(label) is None:
            r.error(f"{key}.{k}", f"{item[k]!r} is not a {horizon.granularity.value} or financial-year label "
                    f"(e.g. {LABEL_EXAMPLES[horizon.granularity]!r} or '2026/27')", where)
            continue
        setattr(adj, attr, label)
        if horizon is not None:
            bounds[k] = horizon.bounds(label)[0 if k == "from" else 1]
    if "from" in bounds and "to" in bounds and bounds["from"] > bounds["to"]:
        r.error(key, f"'from' {adj.start} is after 'to' {adj.end}", where)
        return None
    return adj


def _read_solver(r: _Reader) -> SolverOptions:
    solver, s = SolverOptions(), r.section("solver")
    for key in ("name", "time_limit", "gap"):
        value = r.leaf(s, key, f"solver.{key}", _SOLVER[key])
        if value is not None:
            setattr(solver, key, value)
    return solver


# ------------------------------------------------------------------------------------ the file


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
    issues: list[Issue] = limits.setting_issues()
    if issues:  # a limit set to nonsense in the environment: nothing can be read safely
        return None, issues
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
    r = _Reader(doc, layers, path, issues)
    portfolio = _read_portfolio(r)
    horizon = _read_horizon(r)
    settings = _read_settings(r)
    adjustments = _read_adjustments(r, horizon)
    settings.targets = _read_targets(r, horizon)
    solver = _read_solver(r)
    approved_plan = _read_approved_plan(r)
    if horizon is None or portfolio is None:
        return None
    description = doc.get("description")
    return Scenario(name=_read_name(r, path), path=path.resolve(), portfolio=Path(portfolio), horizon=horizon,
                    settings=settings, adjustments=adjustments, solver=solver,
                    description="" if description is None else str(description),
                    files=[p for p, _ in layers], raw=doc, layers=layers, approved_plan=approved_plan)


# ============================================================================================ editing
# Changing a loaded scenario (what the what-if tools and the dashboard do) goes through these
# functions, so that an edited Scenario's fields and its `raw` mapping, which is what `to_yaml`
# writes, always agree: saved to a file and read back, an edited scenario is the same scenario.

_OBJECTIVE_FIELDS = ("discount_rate", "weights", "alignment_weights")  # the `objective` section
# every other setting is a top-level key of the file under its own name (external, force_in, ...)
_SETTINGS_FIELDS = tuple(f.name for f in dataclasses.fields(Settings))
_SCENARIO_FIELDS = ("name", "description", "portfolio", "horizon", "adjustments", "solver", "approved_plan",
                    "path", "files", "layers")  # the last three say where it came from: not written


def adjustment_doc(adjustment: Adjustment) -> dict:
    """An adjustment as a scenario file writes it: {resource, scale or add, from, to}."""
    doc: dict = {"resource": adjustment.resource}
    if adjustment.scale is not None:
        doc["scale"] = adjustment.scale
    if adjustment.add is not None:
        doc["add"] = adjustment.add
    if adjustment.start is not None:
        doc["from"] = adjustment.start
    if adjustment.end is not None:
        doc["to"] = adjustment.end
    return doc


def horizon_doc(horizon: Horizon) -> dict:
    return {"start": horizon.start, "periods": horizon.T, "granularity": horizon.granularity.value}


def objective_doc(settings: Settings) -> dict:
    return {"discount_rate": settings.discount_rate, "weights": dict(settings.weights),
            "alignment_weights": dict(settings.alignment_weights)}


def solver_doc(solver: SolverOptions) -> dict:
    return {"name": solver.name, "time_limit": solver.time_limit, "gap": solver.gap}


def changes_doc(changes: Changes) -> dict:
    """`changes:` as a scenario file writes it (max_moved only when set)."""
    return {k: v for k, v in dataclasses.asdict(changes).items() if v is not None}


def target_doc(target: Target) -> dict:
    return {"measure": target.measure, "financial_year": target.financial_year, "at_least": target.at_least}


def optimism_bias_doc(bias: OptimismBias) -> dict:
    return {"apply": bias.apply, **({"by_category": copy.deepcopy(bias.by_category)} if bias.by_category else {})}


def replace_scenario(scenario: Scenario, **changes) -> Scenario:
    """A copy of `scenario` with `changes` applied to its fields and to its `raw` mapping alike.

    Keys: name, description, portfolio, horizon, adjustments (the whole list), solver (a
    SolverOptions), approved_plan (a path or None), and every field of Settings: discount_rate,
    weights (the whole mapping), alignment_weights, external, force_in, force_out, allow_stopping,
    changes (a Changes), targets (a list of Target), optimism_bias (an OptimismBias). A section that changes is written whole
    (`objective` when any of its three keys changes). What is not named stays as it was, in the
    fields and in `raw`. `path`, `files` and `layers` (where the scenario came from, which error
    messages name) may be changed too; they are not part of the YAML."""
    unknown = set(changes) - set(_SETTINGS_FIELDS) - set(_SCENARIO_FIELDS)
    if unknown:
        raise TypeError(f"a scenario has no editable {', '.join(sorted(unknown))}")
    changes = {k: list(v) if isinstance(v, tuple) else v for k, v in copy.deepcopy(changes).items()}
    raw = copy.deepcopy(scenario.raw)
    settings = dataclasses.replace(copy.deepcopy(scenario.settings),
                                   **{k: v for k, v in changes.items() if k in _SETTINGS_FIELDS})
    fields = {"adjustments": list(scenario.adjustments), **{k: v for k, v in changes.items() if k in _SCENARIO_FIELDS}}
    for key in ("portfolio", "approved_plan"):
        if fields.get(key) is not None:
            fields[key] = Path(fields[key])
    writers = {"name": str, "description": str, "portfolio": str, "horizon": horizon_doc,
               "adjustments": lambda adjs: [adjustment_doc(a) for a in adjs], "solver": solver_doc,
               "changes": changes_doc, "targets": lambda targets: [target_doc(t) for t in targets],
               "optimism_bias": optimism_bias_doc, "approved_plan": lambda path: None if path is None else str(path)}
    for key, value in changes.items():
        if key in writers:
            raw[key] = writers[key](value)
        elif key in _SETTINGS_FIELDS and key not in _OBJECTIVE_FIELDS:
            raw[key] = value
    if any(k in changes for k in _OBJECTIVE_FIELDS):
        raw["objective"] = objective_doc(settings)
    return dataclasses.replace(scenario, settings=settings, raw=raw, **fields)


def extension_doc(base: Scenario, name: str, extra: list[Adjustment]) -> dict:
    """A scenario file of its own name that `extends` the file of `base` with `extra` adjustments.

    `extends` replaces lists, so the base's own adjustments are repeated first."""
    if base.path is None:
        raise ValueError(f"scenario {base.name} has no file to extend")
    return {"name": name, "extends": str(Path(base.path).resolve()),
            "adjustments": [adjustment_doc(a) for a in [*base.adjustments, *extra]]}


def write_scenario(path: str | Path, scenario: Scenario | dict, header: str = "") -> Path:
    """Write a scenario (a Scenario, self-contained, or a mapping such as `extension_doc`'s) as YAML,
    after `header` (comment lines).

    A file that already says the same is left untouched, so a batch's cache of it stays valid."""
    path = Path(path)
    text = header + (scenario.to_yaml() if isinstance(scenario, Scenario) else yaml.safe_dump(scenario, sort_keys=False))
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path
