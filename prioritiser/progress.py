"""Progress of one solve, for people: what `engine.run(progress=...)` reports and the live line the
command line draws from it.

`engine.run` calls `progress(Progress(...))` once validation has passed and solving starts
(stage "solving"), then with every better plan and every move of the proven bound (stage "plan",
stage "bound"; HiGHS reports these, CBC does not). A "plan" event's `checked()` gives that plan as a
Result, through the independent checker and the status rule (`engine.finish`), for a caller that
shows a plan while the solver is still working (the dashboard's first plan). `LiveLine` keeps the latest and redraws one line
on a terminal (elapsed, best plan so far as NPV in £, gap), and draws nothing when its stream is
not a terminal (piped or redirected output stays clean).
"""
from __future__ import annotations

import functools
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from .formatting import money, percent
from .result import relative_gap


@dataclass
class Progress:
    stage: str  # solving, plan, bound
    scenario: str
    elapsed: float  # seconds since solving started
    solver: str = ""
    time_limit: float | None = None
    objective: float | None = None  # the best plan's objective (a score)
    npv: float | None = None  # the best plan's NPV in £
    bound: float | None = None  # proven bound on the objective
    checked: Callable | None = field(default=None, repr=False, compare=False)  # stage plan: () -> its checked Result

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return relative_gap(self.objective, self.bound)  # the one definition, as Result.gap


class Reporter:
    """Turns the solver's raw reports (a column vector, a bound) into `Progress` for `progress`."""

    def __init__(self, model, progress, scenario: str, solver: str, time_limit: float, plan_vector):
        import numpy as np

        self.model, self.progress, self.plan_vector = model, progress, plan_vector
        self.scenario, self.solver, self.time_limit = scenario, solver, time_limit
        p = model.portfolio
        comp = model.components
        ext_cost = p.resources["external_cost"].to_numpy(float)[model.ext_resource]
        # stopping work in flight: stop_cost * (1 - y) of money, as in the objective (its constant apart)
        stop = np.where(p.stoppable, p.initiatives["stop_cost"].to_numpy(float), 0.0)
        self.npv_of = np.concatenate([(comp["pv_benefit"] + comp["pv_revenue"] - comp["pv_cost"]).to_numpy()
                                      + stop[model.col_init], -p.discount()[model.ext_period] * ext_cost])
        self.npv_constant = -float(stop.sum())
        self.t0 = time.perf_counter()
        self.best: Progress | None = None
        self.lock = threading.Lock()

    def event(self, stage: str, **figures) -> Progress:
        return Progress(stage, self.scenario, time.perf_counter() - self.t0, self.solver, self.time_limit, **figures)

    def start(self, plan) -> None:
        """Solving starts (validation has passed), from `plan` (the rank-and-place plan, or None)."""
        self.progress(self.event("solving"))
        if plan is not None:
            self.plan(plan, None)

    def plan(self, v, bound) -> None:
        objective = self.model.objective(v)  # with the planning cycle's constant, as the solver's bound
        with self.lock:
            if self.best is not None and self.best.objective is not None and objective <= self.best.objective:
                return
            self.best = self.event("plan", objective=objective, npv=float(self.npv_of @ v) + self.npv_constant,
                                   bound=bound, checked=functools.partial(self.checked, v))
        self.progress(self.best)

    def checked(self, v) -> "Result":
        """Plan `v` (a column vector of the model) as a Result, through the checker and the status rule
        of `engine.finish`. Without a bound: the solver's bound so far is a claim that only the end of
        the solve audits (solvers.solve), so the plan is `feasible` with its gap unknown."""
        from .engine import finish
        from .result import SolveOutcome, Status

        elapsed = time.perf_counter() - self.t0
        outcome = SolveOutcome(Status.FEASIBLE, None, None, elapsed, self.solver, "",
                               "the best plan so far: the solver is still working")
        return finish(self.model, outcome, v, {}, elapsed)

    def __call__(self, x=None, bound=None) -> None:
        """What the solver calls: with a new plan's column values, or a bound that may have moved."""
        import math

        bound = float(bound) if bound is not None and math.isfinite(bound) else None
        if x is not None and len(x) == self.model.n_cols:
            self.plan(self.plan_vector(self.model, x), bound)
        elif bound is not None and self.best is not None and bound != self.best.bound:
            self.best = replace(self.best, bound=bound)
            self.progress(self.event("bound", bound=bound))


class LiveLine:
    """One line on a terminal, redrawn every `interval` seconds while a solve runs; use as the
    `progress` argument of `engine.run` and call `close()` when the run returns."""

    def __init__(self, stream=None, interval: float = 0.5):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream)
        self.wants_plans = self.enabled  # engine.run passes the solver's plans on only if drawn
        self.interval = interval
        self.latest: Progress | None = None
        self.started: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, event: Progress) -> None:
        if event.stage == "solving":
            self.started = time.perf_counter() - event.elapsed
            if self.enabled and self._thread is None:
                self._thread = threading.Thread(target=self._tick, daemon=True, name="prioritiser-progress")
                self._thread.start()
        if event.stage == "bound" and self.latest is not None:  # a bound keeps the best plan's figures
            self.latest = replace(self.latest, elapsed=event.elapsed, bound=event.bound)
        else:
            self.latest = event

    def text(self) -> str:
        e = self.latest
        if e is None or self.started is None:
            return ""
        elapsed = time.perf_counter() - self.started
        limit = f" of {e.time_limit:g} s" if e.time_limit else ""
        best = f"best plan so far: NPV {money(e.npv)}" if e.npv is not None else "no plan yet"
        gap = f", gap {percent(e.gap, 2)}" if e.gap is not None else ""
        return f"  solving {elapsed:5.1f} s{limit} - {best}{gap}"

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw(self.text())

    def _draw(self, text: str) -> None:
        try:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal: stop drawing
            self._stop.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
            self._draw("")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
