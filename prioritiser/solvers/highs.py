"""HiGHS through highspy: the model's arrays are handed over as they are (which is what makes
loading a 2,000-initiative model take well under a second).

The answer is HiGHS's own: status, plan (`getSolution().col_value`), `objective_function_value`
and `mip_dual_bound`, passed on as claims. HiGHS 1.16 can return a plan worse than the objective
it reports (see solvers/__init__.py), so nothing here is believed without the checks there.
"""
from __future__ import annotations

import os
import sys
import threading
import time

import highspy
import numpy as np

from ..model import Model
from ..processes import interruptible
from ..result import SolveOutcome, Status
from .base import GRACE_SECONDS, empty_outcome

NAME = "highs"
_S = highspy.HighsModelStatus
_STOPPED = {_S.kTimeLimit: "time limit reached", _S.kInterrupt: "stopped at the time limit",
            _S.kHighsInterrupt: "stopped at the time limit"}
_threads_in_use: list = []  # the `threads` value HiGHS's global scheduler was started with
# HiGHS options set on every branch-and-bound solve beyond those _prepare sets. Candidates are
# measured with `benchmarks/run.py --limit 10 --highs ...` on the six synthetic portfolios: none
# helped on the set in three runs (heuristic effort 0.2 and 0.3, presolve off, symmetry detection
# off; docs/performance.md), so HiGHS's own defaults stand.
OPTIONS: dict = {}


def version() -> str:
    return f"HiGHS {highspy.Highs().version()}"


def _use_threads(threads: int | None) -> None:
    """HiGHS keeps one global thread scheduler per process, sized by the first solve; a later solve
    asking for another size fails ("Not Set") unless the scheduler is reset first."""
    if _threads_in_use and _threads_in_use[0] != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _threads_in_use[:] = [threads]


def load(model: Model, integer: bool = True) -> highspy.Highs:
    """A quiet highspy.Highs holding the model's arrays (integrality dropped if not `integer`)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    A = model.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = A.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    costs, constant = model.solver_objective()
    lp.col_cost_ = costs
    lp.offset_ = constant  # so that HiGHS's objective, gap and bound are those of the objective we report
    lp.col_lower_ = np.zeros(model.n_cols)
    lp.col_upper_ = model.col_hi
    lp.row_lower_ = np.where(np.isfinite(model.row_lo), model.row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(model.row_hi), model.row_hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = model.n_cols
    lp.a_matrix_.num_row_ = A.shape[0]
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in model.integer]
    h.passModel(lp)
    return h


class Session:
    """One model loaded into one Highs object, solved as often as asked."""

    name = NAME
    uses_start = True
    overrun_per_nonzero = 1.3e-6  # presolve and the root node check the clock rarely: 0.4-1.3 s past the
    #                               limit on synth-2000 (880,000 nonzeros), 0.7 s on quarterly-1000 (570,000)

    def __init__(self, model: Model, threads: int | None = None, verbose: bool = False):
        _use_threads(threads)
        self.model, self.threads, self.verbose = model, threads, verbose
        self.h = load(model) if model.n_cols else highspy.Highs()
        self.version = f"HiGHS {self.h.version()}"

    def _prepare(self, time_limit, gap, start, lower, upper, presolve) -> None:
        h, m = self.h, self.model
        lower = np.zeros(m.n_cols) if lower is None else lower
        upper = m.col_hi if upper is None else upper
        h.changeColsBounds(m.n_cols, np.arange(m.n_cols, dtype=np.int32), lower, upper)
        h.clearSolver()  # no plan or basis carried over from the last solve
        h.setOptionValue("mip_rel_gap", float(gap))
        h.setOptionValue("mip_abs_gap", 1e-6)
        h.setOptionValue("presolve", "on" if presolve else "off")
        h.setOptionValue("output_flag", bool(self.verbose))
        h.setOptionValue("time_limit", float(time_limit))
        if self.threads:
            h.setOptionValue("threads", int(self.threads))
        for option, value in OPTIONS.items():
            h.setOptionValue(option, value)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, start))
            sol.value_valid = True
            h.setSolution(sol)

    def solve(self, time_limit: float, gap: float, start: np.ndarray | None = None,
              lower: np.ndarray | None = None, upper: np.ndarray | None = None, presolve: bool = True,
              stall: tuple[float, float, float] | None = None, progress=None) -> SolveOutcome:
        """Branch-and-bound for up to `time_limit` s. `stall` = (after, idle, gap): once `after`
        seconds have passed, stop as soon as the plan has not improved for `idle` seconds while
        HiGHS's own gap is still above `gap` (closer than that, it is proving, not searching).
        `progress(x=..., bound=...)` hears of each new plan and of the bound as it moves."""
        t0 = time.perf_counter()
        if self.model.n_cols == 0:
            return empty_outcome(self.model, t0, NAME, self.version)
        self._prepare(time_limit, gap, start, lower, upper, presolve)
        first_plan, found = self._run(t0, time_limit, stall, progress)
        if start is not None and first_plan is None:
            first_plan = 0.0  # the start itself was the first plan
        out = self._outcome(t0, first_plan)
        # HiGHS 1.16 may hand back its start while its last incumbent was better (solvers/__init__.py):
        # the incumbent its callback showed us is kept as a plan to fall back on (checked like any other)
        if found is not None and out.status is not Status.INFEASIBLE and \
                (out.x is None or not np.array_equal(found, out.x)):
            out.plans.append(found)
        return out

    def _run(self, t0: float, time_limit: float, stall, progress) -> tuple[float | None, np.ndarray | None]:
        """h.solve() with our own stop: past the limit + grace, or (stall) once the plan has stalled;
        (when the first plan came, the last incumbent HiGHS reported).

        (highspy's cancelSolve() stops nothing unless HandleUserInterrupt is on, and an interrupt
        flag once raised stays raised in the Highs object, stopping every later solve at once; so
        the callback here writes the flag, raised or not, on every check.)"""
        h = self.h
        first_plan, last_improvement, stop, gap_now = [None], [t0], threading.Event(), [np.inf]
        found = [None]

        def on_improving(event):  # HiGHS calls back on every new incumbent
            last_improvement[0] = time.perf_counter()
            if first_plan[0] is None:
                first_plan[0] = last_improvement[0] - t0
            x = np.array(event.data_out.mip_solution, dtype=float)
            if len(x) == self.model.n_cols:
                found[0] = x
            if progress is not None:
                progress(x=x, bound=event.data_out.mip_dual_bound)

        def on_interrupt_check(event):  # the flag outlives the solve in HiGHS: write it every time
            if event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
                gap_now[0] = event.data_out.mip_gap
                if progress is not None:  # frequent: the reporter passes on only a bound that moved
                    progress(bound=event.data_out.mip_dual_bound)
            event.interrupt(stop.is_set())
        subscriptions = [(h.cbMipImprovingSolution, on_improving), (h.cbMipInterrupt, on_interrupt_check),
                         (h.cbSimplexInterrupt, on_interrupt_check), (h.cbIpmInterrupt, on_interrupt_check)]
        for event, fn in subscriptions:
            event.subscribe(fn)
        timer = threading.Timer(float(time_limit) + GRACE_SECONDS, stop.set)
        timer.daemon = True
        timer.start()
        solved = threading.Event()

        def hand_over_when_stalled(after, idle, gap):
            while not solved.wait(0.25):
                now = time.perf_counter()
                if now - t0 >= after and now - last_improvement[0] >= idle and gap_now[0] > gap:
                    stop.set()
                    return
        if stall is not None:
            threading.Thread(target=hand_over_when_stalled, args=stall, daemon=True).start()
        try:
            interruptible(h.solve, stop.set)  # Ctrl-C reaches us while HiGHS holds its thread, and stops it
        finally:
            solved.set()
            timer.cancel()
            for event, fn in subscriptions:
                event.unsubscribe(fn)
        return first_plan[0], found[0]

    def _outcome(self, t0: float, first_plan: float | None) -> SolveOutcome:
        h = self.h
        ms, info = h.getModelStatus(), h.getInfo()
        has_plan = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        x = np.asarray(h.getSolution().col_value, dtype=float) if has_plan else None
        reported = float(info.objective_function_value) if has_plan else None
        if np.any(self.model.integer):
            bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
        else:  # no integer column: HiGHS solved an LP and sets no MIP bound; an optimal LP is its own bound
            bound = reported if ms == _S.kOptimal else None
        seconds = time.perf_counter() - t0
        out = SolveOutcome(Status.ERROR, x, bound, seconds, NAME, self.version, "", first_plan, reported)
        if ms == _S.kInfeasible:
            out.status, out.x, out.bound, out.message = Status.INFEASIBLE, None, None, "proven infeasible"
        elif ms == _S.kOptimal and has_plan:
            out.status = Status.OPTIMAL
        elif has_plan:
            out.status = Status.FEASIBLE
            out.message = _STOPPED.get(ms, f"solver stopped ({h.modelStatusToString(ms)})")
        elif ms in _STOPPED:
            out.message = "time limit reached with no plan"
        else:
            out.bound, out.message = None, f"solver failed: {h.modelStatusToString(ms)}"
        return out

    def relaxation(self, time_limit: float) -> np.ndarray | None:
        """The LP relaxation's column values (None if not solved to optimality in time)."""
        lp = load(self.model, integer=False)
        lp.setOptionValue("time_limit", float(max(0.1, time_limit)))
        if self.threads:  # HiGHS's one scheduler per process must see one `threads` value
            lp.setOptionValue("threads", int(self.threads))
        interruptible(lp.solve, lambda: None, wait=1.0)  # (an LP has its own short time limit)
        if lp.getModelStatus() != _S.kOptimal:
            return None
        return np.asarray(lp.getSolution().col_value, dtype=float)

    def duals(self, time_limit: float) -> np.ndarray | None:
        """The LP relaxation's row duals: the objective gained per unit of each row's bound (for this
        maximisation, >= 0 on a binding upper limit); None if not solved to optimality in time."""
        lp = load(self.model, integer=False)
        lp.setOptionValue("time_limit", float(max(0.1, time_limit)))
        if self.threads:
            lp.setOptionValue("threads", int(self.threads))
        lp.solve()
        if lp.getModelStatus() != _S.kOptimal:
            return None
        return np.asarray(lp.getSolution().row_dual, dtype=float)


_banner_silenced: list = []


def silence_banner() -> None:
    """HiGHS prints a two-line banner to the process's stdout on its first use, even when told to
    be quiet (inside a Voila page it would show above the dashboard). Make that first use here, with
    file descriptor 1 pointed at /dev/null."""
    if _banner_silenced:
        return
    _banner_silenced.append(True)
    try:
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        return
    try:
        os.dup2(null, 1)
        highspy.Highs()
        try:
            import ctypes

            ctypes.CDLL(None).fflush(None)
        except Exception:
            pass
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)
