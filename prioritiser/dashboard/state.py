"""The dashboard's state: one traitlets model that every widget is a view of.

It holds what the user chose (scenario, budget and staff changes, objective, forced choices,
solver limits) and what came back (the current Result, the pinned plan A, the stress table).
It never models anything itself: it builds an ordinary in-memory `Scenario` (the dataclasses of
prioritiser/scenario.py) and calls the same public API as the command line, `prioritiser.run`.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import sys
import tempfile
import time
import zipfile
from collections import OrderedDict
from pathlib import Path, PurePosixPath

import pandas as pd
from traitlets import Bool, Dict, Float, HasTraits, Instance, List, Unicode, observe

import prioritiser
from prioritiser.engine import Result
from prioritiser.errors import InputError, Issue
from prioritiser.scenario import WEIGHT_KEYS, Adjustment, Scenario, SolverOptions
from prioritiser.solvers import Status

# Dashboard defaults for the solver: the sample trust's plan is usually found within half a second;
# proving it within 0.5% takes most of the rest. Both are shown, and can be changed, in the page.
DEFAULT_GAP = 0.005
DEFAULT_TIME_LIMIT = 10.0
QUICK_SECONDS = 0.75  # time limit of the first, quick solve (see DashboardState.solve)
STRESS_CUTS = (0, 5, 10, 20, 30)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # unpacked size of an uploaded .zip
CACHE_SIZE = 16
# Results by (scenario as YAML, portfolio files' stamps): the same inputs are never solved twice in a process.
_CACHE: OrderedDict[str, Result] = OrderedDict()

# Traits that are inputs to the model: changing one makes the current plan stale.
INPUT_TRAITS = ("capital", "revenue", "staff", "weights", "discount_rate", "external", "force_in", "force_out",
                "time_limit", "gap", "solver")


_BANNER_SILENCED = False


def silence_solver_banner() -> None:
    """HiGHS prints a two-line banner to the process's stdout on its first use, even when told to be
    quiet; inside a Voila page that would show as text above the dashboard. Make that first use here,
    with file descriptor 1 pointed at /dev/null."""
    global _BANNER_SILENCED
    if _BANNER_SILENCED:
        return
    _BANNER_SILENCED = True
    try:
        import ctypes

        import highspy
    except Exception:  # no HiGHS: nothing to silence
        return
    try:
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        return
    try:
        os.dup2(null, 1)
        highspy.Highs()
        try:
            ctypes.CDLL(None).fflush(None)
        except Exception:
            pass
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_scenarios_dir() -> Path | None:
    """scenarios/ of the repository (or of the current folder, or its parent, as Voila runs in notebooks/)."""
    for candidate in (repo_root() / "scenarios", Path.cwd() / "scenarios", Path.cwd().parent / "scenarios"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    return None


def bundled_scenarios(folder: Path | None = None) -> dict[str, Path]:
    """Scenario name (file stem) -> path, for every scenarios/*.yaml; baseline first."""
    folder = folder or find_scenarios_dir()
    if folder is None:
        return {}
    paths = sorted(Path(folder).glob("*.yaml"), key=lambda p: (p.stem != "baseline", p.stem))
    return {p.stem: p for p in paths}


def _pct_scale(pct: float) -> float:
    return round(1.0 + float(pct) / 100.0, 6)


def _adjustment_dict(a: Adjustment) -> dict:
    d = {"resource": a.resource}
    if a.scale is not None:
        d["scale"] = a.scale
    if a.add is not None:
        d["add"] = a.add
    if a.start is not None:
        d["from"] = a.start
    if a.end is not None:
        d["to"] = a.end
    return d


class DashboardState(HasTraits):
    """What the user chose and what the solver answered. Widgets observe and set these traits."""

    # --- what to solve
    scenarios = Dict(help="name -> Path of a scenario file, or an in-memory Scenario (uploads)")
    scenario_name = Unicode("", help="the chosen entry of `scenarios`")
    base = Instance(Scenario, allow_none=True, help="the chosen scenario as loaded, before any what-if")
    capital = Dict(help="financial year label -> % change of the capital budget (e.g. -20)")
    revenue = Dict(help="financial year label -> % change of the revenue budget")
    staff = Dict(help="staff role -> % change of its capacity in every period")
    weights = Dict(help="objective weights: benefit, revenue, in_year_revenue, alignment, cost")
    discount_rate = Float(0.035)
    external = Bool(True, help="allow buying external staff")
    force_in = List(Unicode())
    force_out = List(Unicode())
    time_limit = Float(DEFAULT_TIME_LIMIT)
    gap = Float(DEFAULT_GAP)
    solver = Unicode("highs")
    auto_solve = Bool(False, help="re-optimise on every change (the page has an Optimise button instead)")
    quick_first = Bool(True, help=f"show a first plan after {QUICK_SECONDS:g} s, then prove it (see solve)")

    # --- what came back
    busy = Bool(False)
    proving = Bool(False, help="a first plan is shown; the full solve is running")
    stale = Bool(True, help="inputs changed since the current result")
    result = Instance(Result, allow_none=True)
    solved_scenario = Instance(Scenario, allow_none=True, help="the scenario that produced `result`")
    pinned = Instance(Result, allow_none=True, help="plan A, to compare with")
    pinned_label = Unicode("")
    issues = List(help="prioritiser.Issue list from the last load or upload (errors and warnings)")
    notice = Unicode("", help="a plain sentence about the last action (upload accepted, error, ...)")
    stress_table = Instance(pd.DataFrame, allow_none=True)
    stress_label = Unicode("", help="the what-if the stress table was computed for")
    stress_progress = Float(0.0)
    last_solve_seconds = Float(0.0, help="click to final result published (views updated), cache hits included")
    first_plan_seconds = Float(0.0, help="click to the first plan published (views updated)")

    def __init__(self, scenarios: dict | None = None, scenario: str | None = None, load: bool = True, **kwargs):
        super().__init__(**kwargs)
        self._upload_dirs: list[tempfile.TemporaryDirectory] = []
        self.same_plan_as_shown = False  # set while publishing a final result that only proves the shown plan
        self.scenarios = dict(scenarios if scenarios is not None else bundled_scenarios())
        if scenario is None and self.scenarios:
            scenario = next(iter(self.scenarios))
        if scenario is not None and load:
            self.scenario_name = scenario  # loads and solves

    # ------------------------------------------------------------------ loading a scenario
    @observe("scenario_name")
    def _on_scenario_name(self, change):
        self.load(change["new"])

    def load(self, name: str) -> bool:
        """Load a scenario by name, reset every what-if to it and solve. False (with issues) if invalid."""
        entry = self.scenarios.get(name)
        if entry is None:
            self.issues = [Issue("error", name, "no such scenario")]
            return False
        if isinstance(entry, Scenario):
            scenario, issues = entry, []
        else:
            issues = prioritiser.validate(entry)
            scenario = None
            if not any(i.severity == "error" for i in issues):
                try:
                    scenario = prioritiser.load_scenario(entry)
                except InputError as exc:
                    issues = exc.issues
        if scenario is None:
            self.issues = issues
            self.notice = f"Scenario {name} has errors; fix them in its files and choose it again."
            return False
        self._reset_inputs(scenario)
        self.issues = [i for i in issues if i.severity == "warning"]
        self.notice = ""
        self.stress_table = None
        self.solve(quick=False)  # nothing is on screen yet: no point showing a first plan first
        return True

    def _reset_inputs(self, scenario: Scenario) -> None:
        self._quiet = True  # one solve after a reset, not one per trait
        try:
            self._set_inputs(scenario)
        finally:
            self._quiet = False

    def _set_inputs(self, scenario: Scenario) -> None:
        with self.hold_trait_notifications():
            self.base = scenario
            fys = scenario.horizon.fy_labels
            self.capital = {fy: 0.0 for fy in fys}
            self.revenue = {fy: 0.0 for fy in fys}
            self.staff = {r: 0.0 for r in self.staff_roles(scenario)}
            s = scenario.settings
            self.weights = {k: float(s.weights.get(k, 0.0)) for k in WEIGHT_KEYS}
            self.discount_rate = float(s.discount_rate)
            self.external = bool(s.external)
            self.force_in = list(s.force_in)
            self.force_out = list(s.force_out)
            self.solver = scenario.solver.name
            self.time_limit = min(float(scenario.solver.time_limit), DEFAULT_TIME_LIMIT)
            self.gap = max(float(scenario.solver.gap), DEFAULT_GAP)

    def reset(self) -> None:
        """Back to the chosen scenario as loaded (and solve it)."""
        if self.base is not None:
            self._reset_inputs(self.base)
            self.solve()

    @staticmethod
    def staff_roles(scenario: Scenario) -> list[str]:
        """Staff roles of the scenario's portfolio, in file order (cheap: reads the resources table only)."""
        from prioritiser.tables import read_portfolio

        raw = read_portfolio(scenario.portfolio).tables.get("resources")
        if raw is None:
            return []
        frame = raw.frame
        kinds = frame["kind"] if "kind" in frame else pd.Series("", index=frame.index)
        roles = [str(r).strip() for r, k in zip(frame.get("resource", []), kinds)
                 if str(r).strip() and str(k).strip().lower() in ("", "staff")]
        return [r for r in dict.fromkeys(roles) if r not in ("capital", "revenue")]

    # ------------------------------------------------------------------ what-if -> Scenario
    def adjustments(self) -> list[Adjustment]:
        """The page's budget and staff changes as scenario adjustments, one per financial year."""
        base = self.base
        fys = base.horizon.fy_labels
        out = []
        for resource, changes in (("capital", self.capital), ("revenue", self.revenue)):
            for fy in fys:
                pct = float(changes.get(fy, 0.0) or 0.0)
                if abs(pct) > 1e-9:
                    out.append(Adjustment(resource, scale=_pct_scale(pct), start=fy, end=fy))
        for role, pct in self.staff.items():
            if abs(float(pct or 0.0)) > 1e-9:
                out.append(Adjustment(role, scale=_pct_scale(pct), start=fys[0], end=fys[-1]))
        return out

    def build_scenario(self) -> Scenario:
        """The chosen scenario with the page's what-ifs applied: an ordinary, self-contained Scenario."""
        base = self.base
        if base is None:
            raise RuntimeError("no scenario loaded")
        settings = copy.deepcopy(base.settings)
        settings.weights = {**settings.weights, **{k: float(v) for k, v in self.weights.items()}}
        settings.discount_rate = float(self.discount_rate)
        settings.external = bool(self.external)
        settings.force_in = list(self.force_in)
        settings.force_out = list(self.force_out)
        extra = self.adjustments()
        solver = SolverOptions(name=self.solver, time_limit=float(self.time_limit), gap=float(self.gap))
        H = base.horizon
        raw = copy.deepcopy(base.raw)
        raw.pop("extends", None)
        raw["portfolio"] = str(base.portfolio)
        raw["horizon"] = {"start": H.start, "periods": H.T, "granularity": H.granularity.value}
        raw["objective"] = {"discount_rate": settings.discount_rate, "weights": dict(settings.weights),
                            "alignment_weights": dict(settings.alignment_weights)}
        raw["adjustments"] = [_adjustment_dict(a) for a in base.adjustments] + [_adjustment_dict(a) for a in extra]
        raw["force_in"] = list(settings.force_in)
        raw["force_out"] = list(settings.force_out)
        raw["external"] = settings.external
        raw["solver"] = {"name": solver.name, "time_limit": solver.time_limit, "gap": solver.gap}
        changed = (extra or settings.weights != base.settings.weights
                   or settings.discount_rate != base.settings.discount_rate
                   or settings.external != base.settings.external
                   or settings.force_in != base.settings.force_in or settings.force_out != base.settings.force_out)
        name = f"{base.name}-what-if" if changed else base.name
        description = (base.description + " " if base.description else "") + \
            ("Changed in the dashboard." if changed else "")
        return dataclasses.replace(base, name=name, settings=settings, adjustments=list(base.adjustments) + extra,
                                   solver=solver, raw=raw, description=description.strip())

    # ------------------------------------------------------------------ solving
    @observe(*INPUT_TRAITS)
    def _on_input(self, change):
        self.stale = True
        if self.auto_solve and self.base is not None and not self.busy and not getattr(self, "_quiet", False):
            self.solve()

    def _cache_key(self, scenario: Scenario) -> str:
        src = Path(scenario.portfolio)
        files = sorted(src.glob("*")) if src.is_dir() else [src]
        stamp = ";".join(f"{f.name}:{f.stat().st_mtime_ns}:{f.stat().st_size}" for f in files if f.exists())
        return scenario.to_yaml() + "\n#" + stamp

    def run(self, scenario: Scenario) -> Result:
        """prioritiser.run with a small cache: the same inputs are never solved twice."""
        key = self._cache_key(scenario)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        silence_solver_banner()
        result = prioritiser.run(scenario)
        self._remember(key, result)
        return result

    @staticmethod
    def _remember(key: str, result: Result) -> None:
        _CACHE[key] = result
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)

    def solve(self, quick: bool | None = None) -> Result | None:
        """Solve the current what-if and publish the result (views update from `result`).

        With `quick_first`, a first plan is solved with a short time limit (QUICK_SECONDS) and shown
        at once, honestly labelled with its gap; unless that plan is already proven, the full solve
        (the page's time limit and gap) follows and replaces it. The final result is always the one
        `prioritiser run` gives for the downloaded scenario."""
        if self.base is None:
            return None
        t0 = time.perf_counter()
        self.first_plan_seconds = 0.0
        self.same_plan_as_shown = False
        interim = None
        self.busy = True
        try:
            scenario = self.build_scenario()
            key = self._cache_key(scenario)
            result = _CACHE.get(key)
            quick = self.quick_first if quick is None else quick
            if result is None and quick and scenario.solver.time_limit > QUICK_SECONDS + 1e-9:
                short = dataclasses.replace(scenario, solver=dataclasses.replace(scenario.solver,
                                                                                 time_limit=QUICK_SECONDS))
                silence_solver_banner()
                first = prioritiser.run(short)
                if first.status in (Status.OPTIMAL, Status.INFEASIBLE) and first.message == "":
                    # proven before the short limit: the full run would retrace the same search exactly
                    result = first
                    self._remember(key, first)
                elif first.has_plan:
                    with self.hold_trait_notifications():
                        self.proving = True
                        self.busy = False
                    self._publish(scenario, first)
                    interim = first
                    self.first_plan_seconds = time.perf_counter() - t0
                    self.busy = True
            if result is None:
                result = self.run(scenario)
            # the views need not redraw the roadmap, charts and table when the proof kept the first plan
            self.same_plan_as_shown = interim is not None and interim.starts == result.starts
            self.proving = False
            self._publish(scenario, result)
        except InputError as exc:
            self.issues = exc.issues
            self.notice = "The scenario cannot be solved as set: see the problems listed."
            return None
        except Exception as exc:  # never a traceback in the page
            self.notice = f"Optimising failed unexpectedly ({type(exc).__name__}: {exc})."
            return None
        finally:
            self.same_plan_as_shown = False
            with self.hold_trait_notifications():  # last: the page is ready once the button is back
                self.busy = False
                self.proving = False
        self.last_solve_seconds = time.perf_counter() - t0
        if not self.first_plan_seconds:
            self.first_plan_seconds = self.last_solve_seconds
        return result

    def _publish(self, scenario: Scenario, result: Result) -> None:
        with self.hold_trait_notifications():
            self.solved_scenario = scenario
            self.stale = False
            self.notice = ""
        self.result = result

    # ------------------------------------------------------------------ pin and compare
    def pin(self) -> None:
        """Keep the current plan as A."""
        if self.result is not None and self.result.has_plan:
            self.pinned_label = self.describe(self.solved_scenario)
            self.pinned = self.result

    def unpin(self) -> None:
        self.pinned = None
        self.pinned_label = ""

    def describe(self, scenario: Scenario | None) -> str:
        """A short description of a what-if, e.g. 'baseline; capital -20% 2027/28..'."""
        if scenario is None:
            return ""
        base = self.base
        parts = [scenario.name]
        extra = scenario.adjustments[len(base.adjustments):] if base is not None else []
        for a in extra:
            span = a.start if a.start == a.end else f"{a.start}-{a.end}"
            parts.append(f"{a.resource} {100 * (a.scale - 1):+.0f}% {span}")
        if scenario.settings.force_in:
            parts.append("forced in: " + ", ".join(scenario.settings.force_in))
        if scenario.settings.force_out:
            parts.append("forced out: " + ", ".join(scenario.settings.force_out))
        if not scenario.settings.external:
            parts.append("no external staff")
        return "; ".join(parts)

    def comparison(self):
        """prioritiser.whatif.compare(A, current), or None without both plans."""
        if self.pinned is None or self.result is None or not self.result.has_plan:
            return None
        from prioritiser.whatif import compare

        return compare(self.pinned, self.result)

    # ------------------------------------------------------------------ funding-cut stress test
    def stress(self, cuts=STRESS_CUTS, resource: str = "capital", progress=None) -> pd.DataFrame:
        """Value against a cut of `resource` from the second financial year, for each cut in %.

        Uses `prioritiser.stress` when the package provides it; otherwise re-runs the current
        what-if with one more adjustment per cut. Columns: cut, status, objective, npv, value_lost,
        dropped, slipped (dropped/slipped: ids, ';'-separated, against the uncut plan)."""
        scenario = self.build_scenario()
        start = scenario.horizon.second_fy_label
        table = None
        if hasattr(prioritiser, "stress"):
            try:
                table = self._stress_api(scenario, resource, cuts, start)
            except Exception:  # fall back to solving the variants here
                table = None
        if table is None:
            table = self._stress_here(scenario, resource, cuts, start, progress)
        self.stress_label = f"{self.describe(scenario)}; {resource} cut from {start}"
        self.stress_table = table
        return table

    def _stress_api(self, scenario: Scenario, resource: str, cuts, start: str) -> pd.DataFrame:
        import inspect

        fn = prioritiser.stress
        params = inspect.signature(fn).parameters
        with tempfile.TemporaryDirectory(prefix="prioritiser-stress-") as tmp:
            path = Path(tmp) / f"{scenario.name}.yaml"
            path.write_text(scenario.to_yaml())
            kwargs = {"resource": resource, "cuts": [c for c in cuts if c], "start": start}
            if "out" in params:
                kwargs["out"] = Path(tmp) / "out"
            got = fn(path, **kwargs).table.copy()
        if "cut" not in got and "cut_percent" in got:
            got = got.rename(columns={"cut_percent": "cut"})
        for col in ("dropped", "slipped"):
            if col in got:
                got[col] = [";".join(v) if isinstance(v, (list, tuple)) else ("" if v != v else str(v))
                            for v in got[col]]
        if "npv" not in got:
            got["npv"] = float("nan")
        return got[["cut", "status", "objective", "npv", "value_lost", "dropped", "slipped"]] \
            .sort_values("cut").reset_index(drop=True)

    def _stress_here(self, scenario: Scenario, resource: str, cuts, start: str, progress=None) -> pd.DataFrame:
        cuts = sorted({float(c) for c in cuts} | {0.0})
        results = []
        for n, cut in enumerate(cuts):
            variant = scenario
            if cut:
                extra = Adjustment(resource, scale=round(1 - cut / 100, 10), start=start)
                raw = copy.deepcopy(scenario.raw)
                raw["adjustments"] = list(raw.get("adjustments") or []) + [_adjustment_dict(extra)]
                variant = dataclasses.replace(scenario, name=f"{scenario.name}-{resource}-cut-{cut:g}",
                                              adjustments=list(scenario.adjustments) + [extra], raw=raw)
            results.append(self.run(variant))
            self.stress_progress = (n + 1) / len(cuts)
            if progress is not None:
                progress(n + 1, len(cuts))
        base = results[0]
        base_plan = base.plan
        base_in = base_plan.index[base_plan["selected"]] if base.has_plan else []
        rows = []
        for cut, r in zip(cuts, results):
            dropped, slipped = [], []
            if r.has_plan and base.has_plan:
                for i in base_in:
                    if not r.plan.at[i, "selected"]:
                        dropped.append(i)
                    elif r.plan.at[i, "start_index"] > base_plan.at[i, "start_index"]:
                        slipped.append(i)
            lost = (base.objective - r.objective) if (r.objective is not None and base.objective is not None) \
                else float("nan")
            rows.append({"cut": cut, "status": r.status.value,
                         "objective": r.objective if r.objective is not None else float("nan"),
                         "npv": r.components.get("npv", float("nan")), "value_lost": lost,
                         "dropped": ";".join(dropped), "slipped": ";".join(slipped)})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ upload
    def upload(self, filename: str, content: bytes) -> list[Issue]:
        """Accept an uploaded portfolio (.xlsx, or .zip of CSV files): validate it and, if it has no
        errors, make it the chosen scenario (with the current scenario's horizon and settings).
        Returns every issue found (errors block the upload; warnings are shown)."""
        name = PurePosixPath(str(filename).replace("\\", "/")).name or "upload"
        stem = Path(name).stem
        try:
            issues, scenario = self._read_upload(name, bytes(content))
        except Exception as exc:  # never a traceback in the page
            issues, scenario = [Issue("error", name, f"could not be read ({type(exc).__name__}: {exc})")], None
        errors = [i for i in issues if i.severity == "error"]
        if errors or scenario is None:
            self.issues = issues
            self.notice = f"{name} was not loaded: {len(errors)} problem(s) to fix, listed below."
            return issues
        template = self.base.name if self.base is not None else ""
        key = f"upload: {stem}"
        n = 2
        while key in self.scenarios:
            key = f"upload: {stem} ({n})"
            n += 1
        self.scenarios = {**self.scenarios, key: scenario}
        self.scenario_name = key  # loads and solves
        self.issues = [i for i in issues if i.severity == "warning"]
        H = scenario.horizon
        self.notice = (f"{name} loaded. It uses the horizon ({H.start}, {H.T} {H.granularity.value}s), objective "
                       f"and solver settings of scenario {template}.")
        return issues

    def _read_upload(self, name: str, content: bytes) -> tuple[list[Issue], Scenario | None]:
        suffix = Path(name).suffix.lower()
        if suffix not in (".xlsx", ".zip"):
            return [Issue("error", name, "upload an Excel workbook (.xlsx) or a .zip of CSV files")], None
        template = self.base
        if template is None:
            return [Issue("error", name, "choose a bundled scenario first: its horizon and settings are used")], None
        holder = tempfile.TemporaryDirectory(prefix="prioritiser-upload-")
        self._upload_dirs.append(holder)  # removed when the dashboard goes
        folder = Path(holder.name)
        if suffix == ".xlsx":
            portfolio = folder / name
            portfolio.write_bytes(content)
        else:
            portfolio, issues = self._unzip(name, content, folder / "portfolio")
            if issues:
                return issues, None
        settings = copy.deepcopy(template.settings)
        settings.force_in, settings.force_out = [], []
        raw = copy.deepcopy(template.raw)
        for key in ("extends", "adjustments", "force_in", "force_out"):
            raw.pop(key, None)
        raw["portfolio"] = str(portfolio)
        raw["description"] = f"Uploaded portfolio {name} with the settings of scenario {template.name}."
        stem = Path(name).stem
        scenario = dataclasses.replace(template, name=stem, path=folder / f"{stem}.yaml", portfolio=portfolio,
                                       settings=settings, adjustments=[], raw=raw, files=[], layers=[],
                                       description=raw["description"])
        issues = prioritiser.validate(scenario)
        return issues, scenario

    @staticmethod
    def _unzip(name: str, content: bytes, target: Path) -> tuple[Path, list[Issue]]:
        import io

        try:
            zf = zipfile.ZipFile(io.BytesIO(content))
        except zipfile.BadZipFile:
            return target, [Issue("error", name, "is not a valid .zip file")]
        members = [m for m in zf.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")
                   and not PurePosixPath(m.filename).name.startswith((".", "_"))]
        if not members:
            return target, [Issue("error", name, "holds no .csv files; it should hold initiatives.csv, "
                                  "capacity.csv and the other tables")]
        if sum(m.file_size for m in members) > MAX_UPLOAD_BYTES:
            return target, [Issue("error", name, f"unpacks to more than {MAX_UPLOAD_BYTES // 2**20} MB of CSV")]
        # the tables are the CSVs in the folder (inside the zip) that holds initiatives.csv
        folders = {str(PurePosixPath(m.filename).parent) for m in members
                   if PurePosixPath(m.filename).name.lower() == "initiatives.csv"}
        chosen = sorted(folders, key=len)[0] if folders else None
        target.mkdir(parents=True, exist_ok=True)
        for m in members:
            p = PurePosixPath(m.filename)
            if chosen is not None and str(p.parent) != chosen:
                continue
            (target / p.name).write_bytes(zf.read(m))  # the name only: nothing lands outside `target`
        return target, []

    # ------------------------------------------------------------------ downloads
    def workbook_bytes(self) -> tuple[str, bytes]:
        """(file name, bytes) of the Excel report of the current plan, as `prioritiser run` writes it."""
        from prioritiser.report import summary_dict, write_workbook

        result = self.result
        if result is None:
            raise RuntimeError("no plan to report yet")
        with tempfile.TemporaryDirectory(prefix="prioritiser-report-") as tmp:
            path = Path(tmp) / "report.xlsx"
            write_workbook(result, path, summary_dict(result))
            return f"{result.scenario}-report.xlsx", path.read_bytes()

    def scenario_yaml(self) -> tuple[str, str]:
        """(file name, text) of the scenario behind the current plan: `prioritiser run` reproduces it."""
        scenario = self.solved_scenario or (self.build_scenario() if self.base is not None else None)
        if scenario is None:
            raise RuntimeError("no scenario loaded")
        head = (f"# Saved from the prioritiser dashboard. Reproduce the plan with:\n"
                f"#   prioritiser run {scenario.name}.yaml\n")
        return f"{scenario.name}.yaml", head + scenario.to_yaml()

    def close(self) -> None:
        for holder in self._upload_dirs:
            holder.cleanup()
        self._upload_dirs.clear()
