"""CBC through PuLP's bundled binary (CBC 2.10), run as a child process on an MPS file.

CBC is never given a MIP start: given one, CBC 2.10 can return a worse plan and still call it
optimal (reproduced on the sample trust; see coin-or/Cbc issues 449 and 670). The engine keeps
the rank-and-place plan when CBC's is worse.

CBC's own status is read from its log, not from PuLP's (PuLP says Optimal after a time limit).
PuLP hands CBC the model as a maximisation (`-max`); CBC then prints `Objective value` and
`Upper bound` in the maximisation's own sign, and its progress lines ("best objective ...
(best possible ...)") in the sign of the minimisation it solves internally, -c @ x.
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time
import warnings

import numpy as np

with warnings.catch_warnings():  # PuLP 3.x warns of changes in 4.0; we pin PuLP < 4
    warnings.simplefilter("ignore", DeprecationWarning)
    import pulp

from ..model import Model
from ..processes import launcher, private_tmp
from ..result import SolveOutcome, Status
from .base import GRACE_SECONDS, empty_outcome

NAME = "cbc"
_NUMBER = r"(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_OBJECTIVE = re.compile(r"^Objective value:\s*" + _NUMBER, re.M)
_UPPER = re.compile(r"^Upper bound:\s*" + _NUMBER, re.M)
_LP_OPTIMAL = re.compile(r"^Optimal objective\s+" + _NUMBER, re.M)  # a model with no integer columns
_VERSION = re.compile(r"Version:\s*(\S+)")


def parse_log(text: str) -> dict:
    """Version, whether a limit stopped the search, the reported objective and the bound, all in
    the maximisation's sign (None where the log does not say)."""
    objective = _OBJECTIVE.search(text)
    lp = _LP_OPTIMAL.search(text)
    upper = _UPPER.search(text)  # only in the final report, and only when some gap is left
    version = _VERSION.search(text)
    return {"version": "CBC " + (version.group(1) if version else ""),
            "stopped": "Stopped on" in text,  # CBC says so when a limit (time, nodes, solutions) ended it
            "proven": "Result - Optimal solution found" in text or (objective is None and lp is not None),
            "objective": float(objective.group(1)) if objective else float(lp.group(1)) if lp else None,
            "bound": float(upper.group(1)) if upper else None}


def _problem(model: Model):
    prob = pulp.LpProblem("portfolio", pulp.LpMaximize)
    v = [pulp.LpVariable(f"v{j}", 0, float(model.col_hi[j]),
                         pulp.LpInteger if model.integer[j] else pulp.LpContinuous) for j in range(model.n_cols)]
    costs, constant = model.solver_objective()
    objective = [(v[j], float(cj)) for j, cj in enumerate(costs) if cj != 0]
    if constant:  # PuLP does not hand CBC an objective constant: a column fixed at 1 carries it
        objective.append((pulp.LpVariable("objective_constant", 1, 1), float(constant)))
    prob += pulp.LpAffineExpression(objective)
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
    return prob, v


class Session:
    """One model as a PuLP problem, solved by a fresh CBC process on every call."""

    name = NAME
    uses_start = False
    overrun_per_nonzero = 4e-6  # PuLP writing the MPS file and reading the solution, CBC reading the file:
    #                             2.2 s past the limit on quarterly-1000 (570,000 nonzeros)
    version = "CBC"

    def __init__(self, model: Model, threads: int | None = None, verbose: bool = False):
        self.model, self.threads, self.verbose = model, threads, verbose
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.prob, self.vars = _problem(model) if model.n_cols else (None, [])

    def _set_bounds(self, lower, upper) -> None:
        lower = np.zeros(self.model.n_cols) if lower is None else lower
        upper = self.model.col_hi if upper is None else upper
        for var, lo, hi in zip(self.vars, lower, upper):
            var.lowBound, var.upBound = float(lo), float(hi)

    def _run(self, time_limit: float, mip: bool = True, **options) -> tuple[str, str | None]:
        """Run CBC; its log, or the reason it failed."""
        with private_tmp() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3.x on 4.0; we pin PuLP < 4
            log = os.path.join(tmp, "cbc.log")
            solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=float(time_limit), logPath=log, threads=self.threads,
                                       mip=mip, **options)
            solver.tmpDir = str(tmp)  # PuLP's .mps and .sol files: ours, removed however the solve ends
            solver.path = launcher(solver.path, tmp)  # CBC dies with this process, even one killed outright
            # PuLP waits for CBC without a timeout; past the limit + grace we end CBC ourselves
            done = threading.Event()
            threading.Thread(target=_watchdog, args=(float(time_limit) + GRACE_SECONDS, done), daemon=True).start()
            t0 = time.perf_counter()
            try:
                self.prob.solve(solver)
            except pulp.PulpSolverError as exc:
                overran = time.perf_counter() - t0 >= time_limit + GRACE_SECONDS
                return "", ("time limit reached with no plan (CBC overran and was stopped)" if overran
                            else f"solver failed: {exc}")
            except BaseException:  # Ctrl-C: PuLP stops waiting for CBC, and CBC must stop too
                _kill_child_processes("cbc")
                raise
            finally:
                done.set()
            text = open(log).read() if os.path.exists(log) else ""
            if self.verbose:  # CBC's log is read for its status and bound, then shown
                print(text, flush=True)
            return text, None

    def solve(self, time_limit: float, gap: float, start: np.ndarray | None = None,
              lower: np.ndarray | None = None, upper: np.ndarray | None = None, presolve: bool = True,
              stall: tuple[float, float, float] | None = None, progress=None) -> SolveOutcome:
        """Branch-and-bound for up to `time_limit` s. `start`, `stall` and `progress` are not used: CBC
        is given no start (see above), and runs as a child process that reports nothing on the way."""
        t0 = time.perf_counter()
        if self.model.n_cols == 0:
            return empty_outcome(self.model, t0, NAME, self.version)
        self._set_bounds(lower, upper)
        text, failure = self._run(time_limit, gapRel=float(gap), presolve=None if presolve else False)
        seconds = time.perf_counter() - t0
        if failure:
            return SolveOutcome(Status.ERROR, None, None, seconds, NAME, self.version, failure)
        log = parse_log(text)
        self.version = log["version"]
        return self._outcome(log, seconds)

    def _outcome(self, log: dict, seconds: float) -> SolveOutcome:
        prob = self.prob
        x = np.array([var.varValue if var.varValue is not None else 0.0 for var in self.vars])
        out = SolveOutcome(Status.ERROR, None, None, seconds, NAME, self.version)
        if prob.status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible:
            out.status, out.message = Status.INFEASIBLE, "proven infeasible"
        elif prob.sol_status in (pulp.LpSolutionIntegerFeasible, pulp.LpSolutionOptimal):
            out.x, out.objective = x, log["objective"]
            # proven optimal with no gap left: CBC prints no bound, its objective is the bound
            out.bound = log["bound"] if log["bound"] is not None or not log["proven"] else log["objective"]
            if prob.sol_status == pulp.LpSolutionOptimal and not log["stopped"]:
                out.status = Status.OPTIMAL
            else:
                out.status = Status.FEASIBLE
                out.message = "time limit reached" if log["stopped"] else "solver stopped before proving optimality"
        elif log["stopped"]:
            out.message = "time limit reached with no plan"
        else:
            out.message = f"solver failed: {pulp.LpStatus.get(prob.status, prob.status)}"
        return out

    def relaxation(self, time_limit: float) -> np.ndarray | None:
        """The LP relaxation's column values (None if CBC did not solve it to optimality in time)."""
        self._set_bounds(None, None)
        text, failure = self._run(time_limit, mip=False)
        if failure or self.prob.status != pulp.LpStatusOptimal:
            return None
        return np.array([var.varValue if var.varValue is not None else 0.0 for var in self.vars])


def _watchdog(seconds: float, done: threading.Event) -> None:
    """After `seconds`, end every CBC child until `done`: writing a large model's MPS file can outlast
    the limit, and a CBC started after that, whose own limit counts only its search, runs on."""
    if done.wait(seconds):
        return
    while True:
        _kill_child_processes("cbc")
        if done.wait(0.1):
            return


def _kill_child_processes(name: str) -> None:
    """SIGKILL this process's children whose command is `name` (Linux /proc; elsewhere a no-op)."""
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
