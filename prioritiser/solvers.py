"""The only seam to solvers: a Model's arrays in, a SolveOutcome out.

HiGHS is driven through highspy directly (the arrays are handed over as they are, which is what
makes building and loading a 2,000-initiative model take well under a second); CBC through PuLP's
bundled binary. Neither solver's own status is passed on as it is: `optimal` needs a proven gap
within the tolerance, a plan stopped by a limit is `feasible` with its gap, and the wall clock is
enforced here as well as by the solver.
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .model import Model


class Status(str, Enum):
    OPTIMAL = "optimal"  # proven within the gap tolerance
    FEASIBLE = "feasible"  # a plan, stopped before proving it (gap reported)
    INFEASIBLE = "infeasible"  # proven: no plan meets every rule
    ERROR = "error"  # no plan: solver failure, time limit without a plan, or a plan the checker rejected

    def __str__(self) -> str:
        return self.value


@dataclass
class SolveOutcome:
    status: Status
    x: np.ndarray | None  # column values, or None without a plan
    bound: float | None  # best proven bound on the objective (maximisation)
    seconds: float
    solver: str
    version: str
    message: str = ""
    first_plan_seconds: float | None = None


GRACE_SECONDS = 2.0  # beyond the solver's own time limit before we cancel it ourselves
LNS_SHARE = 0.5  # share of the time limit given to neighbourhood search when B&B has not finished
LNS_MIN_TIME_LIMIT = 10.0  # below this, branch-and-bound gets all the time
LNS_MIN_BB_SHARE = 0.2  # branch-and-bound runs at least this share of the time limit ...
LNS_STALL_SHARE = 0.1  # ... and hands over early once its plan has not improved for this share



def _empty_model(model: Model, t0: float, name: str) -> SolveOutcome:
    ok = bool(np.all(model.row_lo <= 1e-9) and np.all(model.row_hi >= -1e-9))
    return SolveOutcome(Status.OPTIMAL if ok else Status.INFEASIBLE, np.zeros(0) if ok else None,
                        0.0 if ok else None, time.perf_counter() - t0, name, "",
                        "" if ok else "a required initiative has no start in its window")


_banner_silenced: list = []


def silence_banner() -> None:
    """HiGHS prints a two-line banner to the process's stdout on its first use, even when told to be
    quiet (above a Voila page, or in a script's output). Make that first use here, with file
    descriptor 1 pointed at /dev/null. `engine.run` calls it unless asked to be verbose."""
    if _banner_silenced:
        return
    _banner_silenced.append(True)
    try:
        import ctypes
        import sys

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


_threads_in_use: list = []  # the `threads` value HiGHS's global scheduler was started with


def _use_threads(threads: int | None) -> None:
    """HiGHS keeps one global thread scheduler per process, sized by the first solve; a later solve
    asking for another size fails ("Not Set") unless the scheduler is reset first."""
    import highspy

    if _threads_in_use and _threads_in_use[0] != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _threads_in_use[:] = [threads]


def _highs_version(h) -> str:
    return f"HiGHS {h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def load_highs(model: Model, integer: bool = True):
    """A quiet highspy.Highs holding the model's arrays (integrality dropped if not `integer`)."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    A = model.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = A.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = model.c
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


def solve_highs(model: Model, time_limit: float, gap: float, start: np.ndarray | None = None,
                threads: int | None = None, progress=None, verbose: bool = False) -> SolveOutcome:
    import highspy

    t0 = time.perf_counter()
    if model.n_cols == 0:
        out = _empty_model(model, t0, "highs")
        out.version = _highs_version(highspy.Highs())
        return out
    _use_threads(threads)
    h = load_highs(model)
    version = _highs_version(h)
    if verbose:
        h.setOptionValue("output_flag", True)
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("mip_abs_gap", 1e-6)
    if threads:
        h.setOptionValue("threads", int(threads))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(map(float, start))
        sol.value_valid = True
        h.setSolution(sol)

    first_plan = [None]
    last_improvement = [time.perf_counter()]

    def on_improving(e):  # HiGHS calls back on every new incumbent
        last_improvement[0] = time.perf_counter()
        if first_plan[0] is None:
            first_plan[0] = last_improvement[0] - t0
        if progress is not None:
            progress(x=np.asarray(e.data_out.mip_solution, dtype=float), bound=e.data_out.mip_dual_bound)

    def on_interrupt_check(e):  # frequent: only pass on a bound that moved
        if progress is not None:
            progress(bound=e.data_out.mip_dual_bound)
    try:
        h.cbMipImprovingSolution.subscribe(on_improving)
        if progress is not None:
            h.cbMipInterrupt.subscribe(on_interrupt_check)
    except Exception:  # callbacks are an optimisation of reporting only
        pass
    # Branch-and-bound gets the first part of the time; if it has not proved optimality by then,
    # large-neighbourhood search improves its plan for the rest (see improve.py).
    search_share = LNS_SHARE if time_limit >= LNS_MIN_TIME_LIMIT else 0.0
    h.setOptionValue("time_limit", float(time_limit) * (1 - search_share))
    deadline = t0 + float(time_limit)
    timer = threading.Timer(float(time_limit) + GRACE_SECONDS, h.cancelSolve)
    timer.daemon = True
    timer.start()
    solved = threading.Event()

    def hand_over_when_stalled():
        # branch-and-bound that has found nothing better for a while hands over to the search early
        while not solved.wait(0.25):
            now = time.perf_counter()
            if now - t0 >= LNS_MIN_BB_SHARE * time_limit and now - last_improvement[0] >= LNS_STALL_SHARE * time_limit:
                h.cancelSolve()
                return
    if search_share > 0:
        threading.Thread(target=hand_over_when_stalled, daemon=True).start()
    try:
        h.solve()
    finally:
        solved.set()
        timer.cancel()
    ms = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has_plan = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_plan else None
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if has_plan and ms != S.kOptimal and search_share > 0:
        from .improve import neighbourhood_search

        x, _ = neighbourhood_search(model, x, deadline)
    seconds = time.perf_counter() - t0
    if start is not None and first_plan[0] is None and has_plan:
        first_plan[0] = 0.0  # the start itself was the first plan
    if ms == S.kInfeasible:
        return SolveOutcome(Status.INFEASIBLE, None, None, seconds, "highs", version, "proven infeasible")
    if ms == S.kOptimal and has_plan:
        return SolveOutcome(Status.OPTIMAL, x, bound, seconds, "highs", version, "", first_plan[0])
    if has_plan:
        why = {S.kTimeLimit: "time limit reached", S.kInterrupt: "stopped at the time limit",
               S.kHighsInterrupt: "stopped at the time limit"}.get(ms, f"solver stopped ({h.modelStatusToString(ms)})")
        return SolveOutcome(Status.FEASIBLE, x, bound, seconds, "highs", version, why, first_plan[0])
    if ms in (S.kTimeLimit, S.kInterrupt, S.kHighsInterrupt):
        return SolveOutcome(Status.ERROR, None, bound, seconds, "highs", version, "time limit reached with no plan")
    return SolveOutcome(Status.ERROR, None, None, seconds, "highs", version,
                        f"solver failed: {h.modelStatusToString(ms)}")


_CBC_BOUND = re.compile(r"^(?:Lower|Upper) bound:\s*(-?[\d.eE+-]+)", re.M)


def solve_cbc(model: Model, time_limit: float, gap: float, start: np.ndarray | None = None,
              threads: int | None = None, progress=None, verbose: bool = False) -> SolveOutcome:
    # PuLP 3.x warns that LpVariable() and PULP_CBC_CMD change in 4.0; we pin PuLP < 4.
    # (CBC runs as a separate program and reports no incumbents on the way: `progress` is unused.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return _solve_cbc(model, time_limit, gap, start, threads, verbose)


def _solve_cbc(model: Model, time_limit: float, gap: float, start: np.ndarray | None,
               threads: int | None, verbose: bool = False) -> SolveOutcome:
    import pulp

    t0 = time.perf_counter()
    if model.n_cols == 0:
        return _empty_model(model, t0, "cbc")
    prob = pulp.LpProblem("portfolio", pulp.LpMaximize)
    v = [pulp.LpVariable(f"v{j}", 0, float(model.col_hi[j]),
                         pulp.LpInteger if model.integer[j] else pulp.LpContinuous) for j in range(model.n_cols)]
    prob += pulp.LpAffineExpression([(v[j], float(cj)) for j, cj in enumerate(model.c) if cj != 0])
    A = model.A
    for r in range(A.shape[0]):
        idx = A.indices[A.indptr[r]:A.indptr[r + 1]]
        val = A.data[A.indptr[r]:A.indptr[r + 1]]
        expr = pulp.LpAffineExpression([(v[j], float(a)) for j, a in zip(idx, val)])
        lo, hi = model.row_lo[r], model.row_hi[r]
        if lo == hi:
            prob += expr == float(hi), f"r{r}"
        else:
            if np.isfinite(hi):
                prob += expr <= float(hi), f"r{r}u"
            if np.isfinite(lo):
                prob += expr >= float(lo), f"r{r}l"
    # No MIP start for CBC: CBC 2.10 can return a worse plan and still call it optimal when given
    # one (reproduced on the sample trust; see coin-or/Cbc issues 449 and 670). The engine still
    # keeps the rank-and-place plan if CBC's is worse.
    start = None
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "cbc.log")
        solver = pulp.PULP_CBC_CMD(msg=verbose, timeLimit=float(time_limit), gapRel=float(gap),
                                   warmStart=start is not None, logPath=None if verbose else log, threads=threads)
        # PuLP waits for CBC without a timeout; past the limit + grace we end CBC ourselves
        watchdog = threading.Timer(float(time_limit) + GRACE_SECONDS, _kill_child_processes, args=("cbc",))
        watchdog.daemon = True
        watchdog.start()
        try:
            prob.solve(solver)
        except pulp.PulpSolverError as exc:
            overran = time.perf_counter() - t0 >= time_limit + GRACE_SECONDS
            return SolveOutcome(Status.ERROR, None, None, time.perf_counter() - t0, "cbc", "CBC (PuLP)",
                                "time limit reached with no plan (CBC overran and was stopped)" if overran
                                else f"solver failed: {exc}")
        finally:
            watchdog.cancel()
        text = open(log).read() if os.path.exists(log) else ""
    seconds = time.perf_counter() - t0
    version = "CBC " + (re.search(r"Version:\s*(\S+)", text).group(1) if re.search(r"Version:\s*(\S+)", text) else "")
    stopped = "Stopped on" in text  # CBC says so when a limit (time, nodes, solutions) ended its search
    # PuLP reports status Optimal (1) after a time limit; sol_status tells what it really is.
    x = np.array([var.varValue if var.varValue is not None else 0.0 for var in v])
    if prob.status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible:
        return SolveOutcome(Status.INFEASIBLE, None, None, seconds, "cbc", version, "proven infeasible")
    bound = None
    m = _CBC_BOUND.search(text)
    if m:
        bound = abs(float(m.group(1))) * (1 if np.dot(model.c, x) >= 0 else -1)
    if prob.sol_status == pulp.LpSolutionOptimal and not stopped:
        return SolveOutcome(Status.OPTIMAL, x, None, seconds, "cbc", version)
    if prob.sol_status in (pulp.LpSolutionIntegerFeasible, pulp.LpSolutionOptimal):
        return SolveOutcome(Status.FEASIBLE, x, bound, seconds, "cbc", version,
                            "time limit reached" if stopped else "solver stopped before proving optimality")
    if stopped:
        return SolveOutcome(Status.ERROR, None, None, seconds, "cbc", version, "time limit reached with no plan")
    return SolveOutcome(Status.ERROR, None, None, seconds, "cbc", version,
                        f"solver failed: {pulp.LpStatus.get(prob.status, prob.status)}")


def _kill_child_processes(name: str) -> None:
    """SIGKILL this process's children whose command is `name` (Linux /proc; elsewhere a no-op)."""
    import signal

    me = os.getpid()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        if ppid == me and comm == name:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


SOLVERS = {"highs": solve_highs, "cbc": solve_cbc}


def solve(model: Model, name: str, time_limit: float, gap: float, start: np.ndarray | None = None,
          threads: int | None = None, progress=None, verbose: bool = False) -> SolveOutcome:
    """`progress(x=..., bound=...)` is called with each new plan and moved bound (HiGHS only);
    `verbose` lets the solver print its own log."""
    return SOLVERS[name](model, time_limit, gap, start, threads, progress=progress, verbose=verbose)
