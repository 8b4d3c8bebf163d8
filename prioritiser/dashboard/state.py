"""The dashboard's state: one traitlets model that every widget is a view of.

It holds what the user chose (scenario, budget and staff changes, objective, forced choices,
solver limits) and what came back (the current Result, the pinned plan A, the stress table).
It never models anything itself: it edits the loaded `Scenario` (`Scenario.replace`, the editing
functions of prioritiser/scenario.py that the what-if tools use too) and calls the same public
API as the command line: prioritiser.load, run, stress and compare, and report.write_outputs.
"""
from __future__ import annotations

import dataclasses
import os
import queue
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import pandas as pd
from traitlets import Bool, Dict, Float, HasTraits, Instance, List, Unicode, observe

# the public API from its own modules, as the command line imports it (no module imports the package's
# __init__): prioritiser.run is engine.run, prioritiser.stress whatif.stress, prioritiser.load load_portfolio
from prioritiser import engine, whatif
from prioritiser.errors import InputError, Issue
from prioritiser.formatting import money
from prioritiser.result import Result, Status
from prioritiser.scenario import (WEIGHT_KEYS, Adjustment, Changes, Scenario, SolverOptions, Target, target_doc,
                                  write_scenario)
from prioritiser.solvers import silence_banner
from prioritiser.validate import hash_files, input_files
from prioritiser.validate import load as load_portfolio

from . import uploads

# Dashboard defaults for the solver: the sample trust's plan is usually found within half a second;
# proving it within 0.5% takes most of the rest. Both are shown, and can be changed, in the page.
DEFAULT_GAP = 0.005
DEFAULT_TIME_LIMIT = 10.0
QUICK_SECONDS = 0.75  # time limit of the first, quick solve of the "two-solves" way (see DashboardState.solve)
# How a click re-solves (DashboardState.resolve): "warm", one solve starting from the plan on screen
# repaired to the new what-if (that first plan drawn while branch-and-bound runs); "cold", the same
# from rank-and-place's plan alone; "two-solves", the way before issue 14: a quick solve of
# QUICK_SECONDS shown, then a full solve from scratch. The last two are kept for
# tests/dashboard/measure_resolve.py, which compares them side by side (PRIORITISER_DASHBOARD_RESOLVE).
RESOLVE_WAYS = ("warm", "cold", "two-solves")
RESOLVE_ENV = "PRIORITISER_DASHBOARD_RESOLVE"
STRESS_CUTS = (0, 5, 10, 20, 30)
CACHE_SIZE = 16
# Results by input (_cache_key): the same inputs are never solved twice in a process.
_CACHE: OrderedDict[str, Result] = OrderedDict()

# Traits that are inputs to the model: changing one makes the current plan stale.
INPUT_TRAITS = ("capital", "revenue", "staff", "weights", "discount_rate", "external", "force_in", "force_out",
                "time_limit", "gap", "solver", "keep_approved", "allow_stopping", "relief", "optimism_bias",
                "targets")
RISK_SAMPLES = 2_000  # the page's risk view: a second or so on the sample trust (the CLI defaults to 10,000)
ALTERNATIVES = (3, 0.02)  # how many other good plans the page looks for, and within what share of the best




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


def _cache_key(scenario: Scenario) -> str:
    """Everything that changes the answer: the scenario as one YAML document (every setting and
    adjustment, the solver, its time limit and gap) and the input hash of every file a run reads
    (validate.hash_files, the hash of summary.json and of the batch runner's cache)."""
    return scenario.to_yaml() + "\n# inputs " + hash_files(input_files(scenario))


def _remember(key: str, result: Result) -> None:
    _CACHE[key] = result
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


def staff_roles(portfolio) -> list[str]:
    """The portfolio's staff roles, in the order of its resources table."""
    resources = portfolio.resources
    return [str(r) for r in resources.index[resources["kind"] == "staff"]]


def initiative_names(portfolio) -> dict[str, str]:
    """id -> name of every initiative (the id where the name is blank), in file order."""
    names = portfolio.initiatives["name"]
    return {str(i): n.strip() if isinstance(n, str) and n.strip() else str(i) for i, n in names.items()}


class DashboardState(HasTraits):
    """What the user chose and what the solver answered. Widgets observe and set these traits."""

    # --- what to solve
    scenarios = Dict(help="name -> Path of a scenario file, or an in-memory Scenario (uploads)")
    scenario_name = Unicode("", help="the chosen entry of `scenarios`")
    base = Instance(Scenario, allow_none=True, help="the chosen scenario as loaded, before any what-if")
    initiatives = Dict(help="id -> name of every initiative of the chosen scenario's portfolio")
    capital = Dict(help="financial year label -> % change of the capital budget (e.g. -20)")
    revenue = Dict(help="financial year label -> % change of the revenue budget")
    staff = Dict(help="staff role -> % change of its capacity in every period")
    weights = Dict(help="objective weights: benefit, revenue, in_year_revenue, alignment, cost")
    discount_rate = Float(0.035)
    external = Bool(True, help="allow buying external staff")
    force_in = List(Unicode())
    force_out = List(Unicode())
    keep_approved = Bool(False, help="keep every approved initiative at its approved start (changes.keep: start)")
    allow_stopping = Bool(False, help="work in flight may be stopped, paying its stop cost")
    relief = List(help="scenario Adjustments (add) taken from a diagnosis: the what-if that gives a plan")
    # money rules (issue 13)
    optimism_bias = Bool(False, help="uplift capital and durations for Green Book optimism bias before optimising")
    targets = List(Dict(), help="hard floors: [{measure, financial_year, at_least}], as the scenario's targets")
    time_limit = Float(DEFAULT_TIME_LIMIT)
    gap = Float(DEFAULT_GAP)
    solver = Unicode("highs")
    auto_solve = Bool(False, help="re-optimise on every change (the page has an Optimise button instead)")
    quick_first = Bool(True, help="show a first plan at once, then prove it (see solve)")
    resolve = Unicode("warm", help=f"how a click re-solves: one of {RESOLVE_WAYS} (see RESOLVE_WAYS)")

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
    stress_table = Instance(pd.DataFrame, allow_none=True, help="prioritiser.stress's table (its stress.csv)")
    risk = Instance(object, allow_none=True, help="prioritiser.simulate of the current plan (a risk.Simulation)")
    stress_label = Unicode("", help="the what-if the stress table was computed for")
    stress_progress = Float(0.0)
    opportunity = Dict(help="the last opportunity cost asked for: a row of explain.csv")
    marginal_table = Instance(pd.DataFrame, allow_none=True, help="prioritiser.explain(limits=True)'s marginal.csv")
    alternatives = List(help="other good plans (Results of prioritiser.alternatives), best excluded")
    explain_progress = Float(0.0)
    last_solve_seconds = Float(0.0, help="click to final result published (views updated), cache hits included")
    first_plan_seconds = Float(0.0, help="click to the first plan published (views updated)")

    def __init__(self, scenarios: dict | None = None, scenario: str | None = None, load: bool = True, **kwargs):
        self._quiet = False  # True while every input is reset at once: one solve, not one per trait
        self.same_plan_as_shown = False  # set while publishing a final result that only proves the shown plan
        # uploads and stress runs live here; removed by close() (or at exit)
        self._work = tempfile.TemporaryDirectory(prefix="prioritiser-dashboard-")
        self._uploads = 0
        kwargs.setdefault("resolve", os.environ.get(RESOLVE_ENV) or "warm")
        if kwargs["resolve"] not in RESOLVE_WAYS:
            raise ValueError(f"{RESOLVE_ENV} must be one of {', '.join(RESOLVE_WAYS)}, not {kwargs['resolve']!r}")
        super().__init__(**kwargs)
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
        try:
            portfolio = load_portfolio(entry)  # the scenario (a file, or an upload) and its tables, checked
        except InputError as exc:
            self.issues = exc.issues
            self.notice = f"Scenario {name} has errors; fix them in its files and choose it again."
            return False
        self.initiatives = initiative_names(portfolio)
        self._reset_inputs(portfolio.scenario, staff_roles(portfolio))
        self.issues = list(portfolio.warnings)
        self.notice = ""
        self.stress_table = None
        self.solve(quick=False)  # nothing is on screen yet: no point showing a first plan first
        return True

    def _reset_inputs(self, scenario: Scenario, roles) -> None:
        self._quiet = True
        try:
            with self.hold_trait_notifications():
                self.base = scenario
                fys = scenario.horizon.fy_labels
                self.capital = {fy: 0.0 for fy in fys}
                self.revenue = {fy: 0.0 for fy in fys}
                self.staff = {r: 0.0 for r in roles}
                s = scenario.settings
                self.weights = {k: float(s.weights.get(k, 0.0)) for k in WEIGHT_KEYS}
                self.discount_rate = float(s.discount_rate)
                self.external = bool(s.external)
                self.force_in = list(s.force_in)
                self.force_out = list(s.force_out)
                self.keep_approved = s.changes.keep == "start"
                self.allow_stopping = bool(s.allow_stopping)
                self.relief = []
                self.optimism_bias = bool(s.optimism_bias.apply)
                self.targets = [target_doc(t) for t in s.targets]
                self.solver = scenario.solver.name
                self.time_limit = min(float(scenario.solver.time_limit), DEFAULT_TIME_LIMIT)
                self.gap = max(float(scenario.solver.gap), DEFAULT_GAP)
        finally:
            self._quiet = False

    def reset(self) -> None:
        """Back to the chosen scenario as loaded (and solve it)."""
        if self.base is not None:
            self._reset_inputs(self.base, list(self.staff))
            self.solve()

    # ------------------------------------------------------------------ what-if -> Scenario
    def adjustments(self) -> list[Adjustment]:
        """The page's budget and staff changes as scenario adjustments, one per financial year."""
        fys = self.base.horizon.fy_labels
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
        extra = self.adjustments() + list(self.relief)
        settings = {"weights": {**base.settings.weights, **{k: float(v) for k, v in self.weights.items()}},
                    "discount_rate": float(self.discount_rate), "external": bool(self.external),
                    "force_in": list(self.force_in), "force_out": list(self.force_out),
                    "allow_stopping": bool(self.allow_stopping), "changes": self.changes(),
                    "optimism_bias": dataclasses.replace(base.settings.optimism_bias, apply=bool(self.optimism_bias)),
                    "targets": [Target(t["measure"], t["financial_year"], float(t["at_least"])) for t in self.targets]}
        changed = bool(extra) or any(getattr(base.settings, k) != v for k, v in settings.items())
        # the horizon is written out whole, so the downloaded file says which granularity it has
        return base.replace(name=f"{base.name}-what-if" if changed else base.name, horizon=base.horizon,
                            adjustments=[*base.adjustments, *extra],
                            solver=SolverOptions(self.solver, float(self.time_limit), float(self.gap)), **settings)

    def set_target(self, measure: str, financial_year: str, at_least: float | None) -> None:
        """Set (or, with None or 0, remove) the target of `measure` in `financial_year`; the rest stay."""
        kept = [t for t in self.targets if (t["measure"], t["financial_year"]) != (measure, financial_year)]
        if at_least:
            kept.append({"measure": measure, "financial_year": financial_year, "at_least": float(at_least)})
        self.targets = kept

    def target_of(self, measure: str, financial_year: str) -> float:
        """The page's target of `measure` in `financial_year` (0: none)."""
        return next((float(t["at_least"]) for t in self.targets
                     if (t["measure"], t["financial_year"]) == (measure, financial_year)), 0.0)

    def changes(self) -> Changes:
        """The scenario's `changes`, with the page's "keep approved starts" switch: on, keep: start; off,
        the scenario's own mode (none if it was start)."""
        own = self.base.settings.changes
        keep = "start" if self.keep_approved else (own.keep if own.keep != "start" else "none")
        return Changes(keep=keep, max_moved=own.max_moved, move_penalty=own.move_penalty,
                       drop_penalty=own.drop_penalty)

    # ------------------------------------------------------------------ solving
    @observe(*INPUT_TRAITS)
    def _on_input(self, change):
        self.stale = True
        if self.auto_solve and self.base is not None and not self.busy and not self._quiet:
            self.solve()

    def run(self, scenario: Scenario, **options) -> Result:
        """prioritiser.run (engine.run) with a small cache: the same inputs are never solved twice.
        `options` (engine.run's progress and start) change how the answer is found, not the
        question: a cached result is as checked, and as proven, as a new one would be."""
        key = _cache_key(scenario)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        silence_banner()
        result = engine.run(scenario, **options)
        _remember(key, result)
        return result

    def solve(self, quick: bool | None = None) -> Result | None:
        """Solve the current what-if and publish the result (views update from `result`).

        With `quick_first`, a first plan is shown at once, honestly labelled: the best of the plan on
        screen repaired to the new what-if's rules and rank-and-place's, through the checker and the
        status rule like any plan (without a bound: nothing is proven yet); the solve (the page's
        time limit and gap) starts from it and its final result replaces it (see RESOLVE_WAYS for
        the other ways). The final result is proven to the same gap as `prioritiser run` proves the
        downloaded scenario; where several plans are within that gap of the best, it may be another."""
        if self.base is None:
            return None
        t0 = time.perf_counter()
        self.first_plan_seconds = 0.0
        self.same_plan_as_shown = False
        self.busy = True
        try:
            scenario = self.build_scenario()
            result, shown = self._solve(scenario, self.quick_first if quick is None else quick, t0)
            # the views need not redraw the roadmap, charts and table when the proof kept the first plan
            self.same_plan_as_shown = shown is not None and shown.starts == result.starts
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

    def _solve(self, scenario: Scenario, quick: bool, t0: float) -> tuple[Result, Result | None]:
        """The final result, and the first plan shown on the way to it (None if there was none)."""
        if _cache_key(scenario) in _CACHE:
            return self.run(scenario), None
        if self.resolve == "two-solves":
            return self._two_solves(scenario, quick, t0)
        start = self.nearest_starts(scenario) if self.resolve == "warm" else None
        return self._solve_beside(scenario, quick, start, t0)

    def _solve_beside(self, scenario: Scenario, quick: bool, start: dict | None, t0: float):
        """engine.run in a thread of its own; here, while branch-and-bound runs, the plan it starts from
        is drawn (one drawing before the end: a second would slow the proof and churn the page)."""
        handed: queue.Queue = queue.Queue()
        silence_banner()  # (here: it points the process's stdout away for a moment)

        def progress(event) -> None:  # engine.run's progress, in its thread: the plan it starts from
            if event.stage == "plan" and event.checked is not None:
                first = event.checked()
                if first.has_plan:  # (a plan the checker fails is never shown)
                    handed.put(("first", first))
        progress.wants_plans = False  # the solver's later plans stay inside it

        def work() -> None:
            try:
                handed.put(("final", self.run(scenario, progress=progress if quick else None, start=start)))
            except BaseException as exc:  # raised again in the caller's thread
                handed.put(("error", exc))
        threading.Thread(target=work, name="prioritiser-dashboard-solve", daemon=True).start()
        shown = None
        while True:
            kind, got = handed.get()
            if kind == "error":
                raise got
            if kind == "final":
                return got, shown
            if shown is None and handed.empty():  # (not when the final result is already in)
                shown = got
                self._show_first(scenario, got, t0)

    def nearest_starts(self, scenario: Scenario) -> dict | None:
        """The nearest solved plan, for the warm start of `scenario`: the plan on screen (the what-if
        the user is changing), when it is of the same portfolio and horizon. engine.run repairs it to
        the new what-if's rules and starts from it only when it beats rank-and-place's plan."""
        shown, solved = self.result, self.solved_scenario
        if shown is None or not shown.has_plan or solved is None:
            return None
        if solved.portfolio != scenario.portfolio or solved.horizon != scenario.horizon:
            return None
        return dict(shown.starts)

    def _show_first(self, scenario: Scenario, first: Result, t0: float) -> None:
        with self.hold_trait_notifications():
            self.proving = True
            self.busy = False
        self._publish(scenario, first)
        self.first_plan_seconds = time.perf_counter() - t0
        self.busy = True

    def _two_solves(self, scenario: Scenario, quick: bool, t0: float) -> tuple[Result, Result | None]:
        """The way before issue 14: a quick solve (QUICK_SECONDS) shown, then a full solve from scratch."""
        if not quick or scenario.solver.time_limit <= QUICK_SECONDS + 1e-9:
            return self.run(scenario), None
        silence_banner()
        first = engine.run(scenario, time_limit=QUICK_SECONDS)
        if first.status in (Status.OPTIMAL, Status.INFEASIBLE) and first.message == "":
            # proven before the short limit: the full run would retrace the same search exactly
            _remember(_cache_key(scenario), first)
            return first, None
        if not first.has_plan:
            return self.run(scenario), None
        self._show_first(scenario, first, t0)
        return self.run(scenario), first

    def _publish(self, scenario: Scenario, result: Result) -> None:
        with self.hold_trait_notifications():
            if self.result is None or result.starts != self.result.starts:  # explanations of another plan
                self.opportunity, self.marginal_table, self.alternatives = {}, None, []
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
            change = f"{100 * (a.scale - 1):+.0f}%" if a.scale is not None else f"+{a.add:,.2f}".rstrip("0").rstrip(".")
            parts.append(f"{a.resource} {change} {span}")
        if scenario.settings.force_in:
            parts.append("forced in: " + ", ".join(scenario.settings.force_in))
        if scenario.settings.force_out:
            parts.append("forced out: " + ", ".join(scenario.settings.force_out))
        if not scenario.settings.external:
            parts.append("no external staff")
        if scenario.approved_plan is not None and scenario.settings.changes.keep == "start":
            parts.append("approved starts kept")
        if scenario.settings.allow_stopping:
            parts.append("stopping allowed")
        if scenario.settings.optimism_bias.apply:
            parts.append("optimism bias on")
        for t in scenario.settings.targets:
            parts.append(f"{t.measure.replace('_', ' ')} {t.financial_year} at least {money(t.at_least)}")
        return "; ".join(parts)

    def comparison(self):
        """prioritiser.compare(A, current), or None without both plans."""
        if self.pinned is None or self.result is None or not self.result.has_plan:
            return None
        return whatif.compare(self.pinned, self.result)

    # ------------------------------------------------------------------ explanations
    def apply_diagnosis(self) -> str:
        """Take the current (infeasible) result's diagnosis as a what-if: each shortfall added to its
        limit and each forced-in initiative it names released, then solve. Returns what could not be
        applied from the page (rules of the portfolio's own tables), in words ("" when none)."""
        from prioritiser.diagnose import scenario_changes

        if self.result is None or not self.result.diagnosis:
            return ""
        changes = scenario_changes(self.result.diagnosis)
        with self.hold_trait_notifications():
            self.relief = [*self.relief, *changes["adjustments"]]
            self.force_in = [i for i in self.force_in if i not in changes["release"]]
            self.allow_stopping = self.allow_stopping or changes["allow_stopping"]
        self.solve()
        notes = [f"the approved plan's rules for single initiatives need the scenario's changes edited (or "
                 f"Keep approved starts switched off): {' '.join(i['text'] for i in changes['replan_rules'])}"
                 if changes["replan_rules"] else "",
                 f"the rest needs the portfolio's tables edited: {' '.join(i['text'] for i in changes['portfolio_rules'])}"
                 if changes["portfolio_rules"] else ""]
        rest = "; ".join(filter(None, notes))
        if rest:
            self.notice = f"Applied what the page can change; {rest}"
        return rest

    def _explained(self):
        if self.result is None or not self.result.has_plan or self.solved_scenario is None:
            raise RuntimeError("optimise a plan first")
        return self.solved_scenario, self.result

    def _progress(self, done: int, total: int) -> None:
        self.explain_progress = done / max(total, 1)

    def explain_initiative(self, iid: str) -> dict:
        """What reversing one initiative's decision costs (prioritiser.explain on the current plan)."""
        from prioritiser.reversals import explain

        scenario, result = self._explained()
        found = explain(scenario, ids=[iid], base=result, out=Path(self._work.name) / "explain" / scenario.name,
                        progress=self._progress)
        self.opportunity = found.table.iloc[0].to_dict()
        return self.opportunity

    def explain_limits(self) -> pd.DataFrame:
        """What one more step of each binding limit buys (prioritiser.explain --limits on the current plan)."""
        from prioritiser.reversals import explain

        scenario, result = self._explained()
        self.explain_progress = 0.0
        found = explain(scenario, limits=True, base=result, out=Path(self._work.name) / "limits" / scenario.name,
                        progress=self._progress)
        self.marginal_table = found.table
        return found.table

    def find_alternatives(self, count: int = ALTERNATIVES[0], within: float = ALTERNATIVES[1]) -> list:
        """Other good plans (prioritiser.alternatives on the current plan), to pin as A and compare."""
        from prioritiser.alternatives import alternatives

        scenario, result = self._explained()
        found = alternatives(scenario, count=count, within=within, base=result, time_limit=float(self.time_limit),
                             out=Path(self._work.name) / "alternatives" / scenario.name)
        self.alternatives = found.results[1:]
        if not self.alternatives:
            self.notice = found.text.splitlines()[-2].strip(" ()") if len(found.text.splitlines()) > 1 else ""
        return self.alternatives

    def pin_alternative(self, k: int) -> None:
        """Keep alternative k (0 = the first) as plan A: the comparison then shows what it changes."""
        alt = self.alternatives[k]
        self.pinned_label = f"{alt.scenario}: {alt.message}"
        self.pinned = alt

    # ------------------------------------------------------------------ funding-cut stress test
    @observe("result")
    def _forget_risk(self, change) -> None:
        self.risk = None  # a simulation belongs to the plan it held fixed

    def simulate_risk(self, samples: int = RISK_SAMPLES, seed: int = 1):
        """The current plan held fixed under `samples` draws of its ranges (prioritiser.simulate, as
        `prioritiser risk` runs it): NPV quantiles and the chance each year's budget is overspent."""
        from prioritiser.risk import simulate

        if self.result is None or not self.result.has_plan:
            self.notice = "There is no plan to test for risk: optimise first."
            return None
        self.risk = simulate(self.result, samples, seed)
        return self.risk

    def stress(self, cuts=STRESS_CUTS, resource: str = "capital", progress=None) -> pd.DataFrame:
        """`prioritiser stress` on the current what-if: `resource` cut by each % in `cuts` from the
        second financial year, each cut re-optimised. Returns (and shows) its table, as in stress.csv.

        The what-if is written to a scenario file of the dashboard's own folder; the batch runner
        under prioritiser.stress then reuses the solves of a stress test already run on it."""
        scenario = self.build_scenario()
        start = scenario.horizon.second_fy_label
        folder = Path(self._work.name) / "stress"
        path = write_scenario(folder / f"{scenario.name}.yaml", scenario)

        def step(done: int, total: int) -> None:
            self.stress_progress = done / total
            if progress is not None:
                progress(done, total)

        self.stress_progress = 0.0
        got = whatif.stress(path, resource=resource, cuts=[c for c in cuts if c], start=start,
                             out=folder / f"{scenario.name}-{resource}", progress=step)
        self.stress_label = f"{self.describe(scenario)}; {resource} cut from {start}"
        self.stress_table = got.table
        return got.table

    # ------------------------------------------------------------------ upload
    def upload(self, filename: str, content: bytes) -> list[Issue]:
        """Accept an uploaded portfolio (.xlsx, or .zip of CSV files): validate it and, if it has no
        errors, make it the chosen scenario (with the current scenario's horizon and settings).
        Returns every issue found (errors block the upload; warnings are shown)."""
        name = uploads.file_name(filename)
        self._uploads += 1
        folder = Path(self._work.name) / f"upload-{self._uploads}"
        issues, scenario = uploads.read_upload(name, bytes(content), self.base, folder)
        errors = [i for i in issues if i.severity == "error"]
        if errors or scenario is None:
            self.issues = issues
            self.notice = f"{name} was not loaded: {len(errors)} problem(s) to fix, listed below."
            return issues
        template = self.base.name
        key, n = f"upload: {scenario.name}", 2
        while key in self.scenarios:
            key, n = f"upload: {scenario.name} ({n})", n + 1
        self.scenarios = {**self.scenarios, key: scenario}
        self.scenario_name = key  # loads and solves
        self.issues = [i for i in issues if i.severity == "warning"]
        H = scenario.horizon
        self.notice = (f"{name} loaded. It uses the horizon ({H.start}, {H.T} {H.granularity.value}s), objective "
                       f"and solver settings of scenario {template}.")
        return issues

    # ------------------------------------------------------------------ downloads
    def workbook_bytes(self) -> tuple[str, bytes]:
        """(file name, bytes) of the Excel report of the current plan, as `prioritiser run` writes it."""
        from prioritiser.outputs import slug
        from prioritiser.report import write_outputs

        result = self.result
        if result is None or not result.has_plan:
            raise RuntimeError("no plan to report yet")
        with tempfile.TemporaryDirectory(prefix="prioritiser-report-") as tmp:
            folder = write_outputs(result, Path(tmp) / slug(result.scenario))  # a name is never a path
            return f"{slug(result.scenario)}-report.xlsx", (folder / "report.xlsx").read_bytes()

    def scenario_yaml(self) -> tuple[str, str]:
        """(file name, text) of the scenario behind the current plan: `prioritiser run` reproduces it."""
        from prioritiser.outputs import slug

        scenario = self.solved_scenario or (self.build_scenario() if self.base is not None else None)
        if scenario is None:
            raise RuntimeError("no scenario loaded")
        head = (f"# Saved from the prioritiser dashboard. Reproduce the plan with:\n"
                f"#   prioritiser run {slug(scenario.name)}.yaml\n")
        return f"{slug(scenario.name)}.yaml", head + scenario.to_yaml()

    def close(self) -> None:
        """Remove the dashboard's folder (uploads and stress runs)."""
        self._work.cleanup()
