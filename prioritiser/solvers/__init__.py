"""The one seam to solvers: a Model's arrays in, a SolveOutcome out, whichever solver is named.

`solve()` is the same for every solver (`SOLVER_NAMES`):

1. **Time sharing.** Branch-and-bound gets the time limit, or, from LNS_MIN_TIME_LIMIT seconds up,
   its first half (HiGHS hands over earlier once its plan has stalled while its gap is still
   wide). A plan it has not proven
   within the gap tolerance is then improved by neighbourhood search (solvers/lns.py) through
   the same solver's session until the time limit.
2. **Checking what the solver hands back.** After branch-and-bound we recompute the plan's
   objective ourselves (c @ x) and check its rows, and compare them with what the solver
   reported: its objective, its bound, the start it was given, an infeasibility claim. HiGHS 1.16,
   given a MIP start, sometimes returns that start while reporting (and bounding) the better
   optimum: when presolve maps the start into the reduced space it evaluates it there to another,
   better value, keeps that as its incumbent, and postsolve hands back the original start. On
   any contradiction we re-solve without the start, then with presolve off, and keep every plan
   for the engine, which publishes the best one the independent checker passes. What was not
   believed is said in `message` and listed in `distrusted`. An answer the solver finished
   (optimal, infeasible) is re-solved even past the branch-and-bound time (each re-solve gets at
   least RETRY_MIN_SHARE of the limit); one that a limit stopped only within the branch-and-bound
   time left. No re-solve runs past the time limit itself (the engine gives `solve` what reading
   and building left of the user's limit, so that the whole run ends on time): one that would not
   fit is cut short or not started, and the engine's status rule then says how good the best
   checked plan is (never `optimal` unless our own numbers prove it).

Adapters (highs.py, cbc.py) only translate; lns.py works through the session interface of
base.py. Nothing outside this package imports highspy or pulp.
"""
from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING

import numpy as np

from ..result import GAP_SLACK, SolveOutcome, Status, relative_gap
from .base import Session, fits_model

if TYPE_CHECKING:
    from ..model import Model

# The one list of solvers: scenario files, the CLI and the dashboard offer these. Their adapters
# (and highspy, pulp) are imported on first use, so that reading this list loads no solver.
SOLVER_NAMES = ("highs", "cbc")
SOLVER_LABELS = {"highs": "HiGHS", "cbc": "CBC"}

LNS_SHARE = 0.5  # share of the time limit given to neighbourhood search when B&B has not proven its plan
LNS_MIN_TIME_LIMIT = 30.0  # below this, branch-and-bound gets all the time (at the dashboard's 10 s,
#                            half of it cut the sample trust's proof short on a busy machine)
LNS_MIN_BB_SHARE = 0.2  # branch-and-bound runs at least this share of the time limit ...
LNS_STALL_SHARE = 0.1  # ... and (HiGHS) hands over early once its plan has not improved for this share,
STALL_GAP = (10.0, 0.005)  # ... unless its gap is within max(10 x the tolerance, 0.5%): then it is proving
STALL_HANDOVER = True  # (HiGHS) whether branch-and-bound hands over early once stalled
RETRY_MIN_SHARE = 0.2  # a re-solve after a contradicted finished answer gets at least this share of the limit
RETRY_MIN_SECONDS = 0.5  # below this, a re-solve is not worth starting
OVERRUN_ALLOWED = 1.0  # a solver call may end this much past its limit (a run's limit + 2 s has room for it)
MIN_SECONDS = 0.1  # below this, branch-and-bound is not started (the engine keeps rank-and-place's plan)
ROOT_FACTOR = 3.0  # after a first plan from the LP: branch-and-bound only with at least this many times
#                    the LP's own time left (its presolve, root LP and cuts); else neighbourhood search


def open_session(name: str, model: Model, threads: int | None = None, verbose: bool = False) -> Session:
    """The model loaded into the named solver (`verbose`: the solver prints its own log)."""
    if name not in SOLVER_NAMES:
        raise ValueError(f"unknown solver {name!r}: choose one of {', '.join(SOLVER_NAMES)}")
    return importlib.import_module(f".{name}", __name__).Session(model, threads, verbose=verbose)


def silence_banner() -> None:
    """Make HiGHS's first use (which prints a banner to stdout) with stdout pointed at /dev/null;
    `engine.run` calls it unless asked to be verbose."""
    from . import highs

    highs.silence_banner()


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= GAP_SLACK * max(1.0, abs(a), abs(b))


def audit(model: Model, out: SolveOutcome, start: np.ndarray | None, given: bool, known: tuple = ()) -> list[str]:
    """What our own numbers contradict in a solver's answer, in words ([] when nothing). Values are in
    the solver's own objective (`Model.solver_value`: with the objective's constant and the tie-break
    toward an approved plan), which is what its claims are about.

    `start` is a plan we know (rank-and-place), `given` says whether the solver was given it, and
    `known` holds other plans found before (earlier attempts)."""
    values = [model.solver_value(x) for x in (start, *known) if x is not None and fits_model(model, x)]
    best_known = max(values, default=None)
    if out.x is None:
        if out.status is Status.INFEASIBLE and best_known is not None:
            return [f"reported no feasible plan, yet a plan worth {best_known:,.2f} is known"]
        return []
    own = model.solver_value(out.x)
    problems = []
    fits = fits_model(model, out.x)
    if not fits:
        problems.append("returned a plan that breaks the model's own limits")
    if out.objective is not None and not _close(own, out.objective):
        problems.append(f"reported an objective of {out.objective:,.2f} for a plan worth {own:,.2f}")
    start_value = model.solver_value(start) if given and start is not None and fits_model(model, start) else None
    if start_value is not None and own < start_value and not _close(own, start_value):
        problems.append(f"returned a plan worth {own:,.2f}, worse than the start it was given ({start_value:,.2f})")
    best = max([v for v in (own if fits else None, best_known) if v is not None], default=None)
    if out.bound is not None and best is not None and out.bound < best and not _close(out.bound, best):
        problems.append(f"reported a bound of {out.bound:,.2f}, below a plan known to be worth {best:,.2f}")
    return problems


def _combine(model: Model, attempts: list[SolveOutcome], clean: SolveOutcome | None,
             notes: list[str]) -> SolveOutcome:
    """One outcome from several attempts: the best plan that keeps the model's rows (the others
    kept as fall-backs) and the tightest bound no known plan contradicts."""
    found = [a.x for a in attempts if a.x is not None] + [x for a in attempts for x in a.plans]
    plans = [x for x in found if fits_model(model, x)]
    plans.sort(key=lambda x: -model.solver_value(x))
    best = model.solver_value(plans[0]) if plans else None
    bounds = [a.bound for a in attempts if a.bound is not None and (best is None or a.bound >= best or _close(a.bound, best))]
    first = attempts[0]
    out = SolveOutcome(clean.status if clean is not None else Status.FEASIBLE if plans else Status.ERROR,
                       plans[0] if plans else None, min(bounds) if bounds else None, first.seconds,
                       first.solver, first.version, first_plan_seconds=first.first_plan_seconds)
    out.objective = best
    out.plans = plans[1:]
    out.distrusted = notes
    unanswered = clean is None and notes[-1] != "no time left to re-solve"
    distrust = "not trusted: " + "; ".join(notes) + ("; no re-solve answered without contradiction" if unanswered else "")
    out.message = "; ".join(filter(None, [first.message, distrust]))
    return out


def _believe(model: Model, session: Session, out: SolveOutcome, start, gap: float, threads,
             bb_deadline: float, time_limit: float, deadline: float) -> SolveOutcome:
    """`out` if our numbers agree with it; else re-solve without the start, then with presolve off,
    each with a limit that ends by `deadline` (see solve)."""
    problems = audit(model, out, start, session.uses_start)
    if not problems:
        return out
    label = SOLVER_LABELS[session.name]
    attempts, notes, clean = [out], [f"{label} {p}" for p in problems], None
    retries = [("without the start", True)] if session.uses_start and start is not None else []
    # an answer the solver finished (optimal, infeasible) is re-checked at any cost; one a limit
    # stopped only with the branch-and-bound time left: the rest belongs to neighbourhood search
    finished = out.status in (Status.OPTIMAL, Status.INFEASIBLE)
    for how, presolve in retries + [("with presolve off", False)]:
        now = time.perf_counter()
        limit = min(max(bb_deadline - now, RETRY_MIN_SHARE * time_limit if finished else 0.0), deadline - now)
        if limit < RETRY_MIN_SECONDS:
            notes.append("no time left to re-solve")
            break
        again = open_session(session.name, model, threads, session.verbose).solve(limit, gap, presolve=presolve)
        if again.x is None and again.status is not Status.INFEASIBLE:
            notes.append(f"re-solved {how}: no plan within {limit:.1f} s")  # inconclusive, not a clean answer
            continue
        problems = audit(model, again, start, given=False, known=tuple(a.x for a in attempts))
        attempts.append(again)
        if not problems:
            clean = again
            notes.append(f"re-solved {how}, which held up")
            break
        notes += [f"re-solved {how}: {label} {p}" for p in problems]
    return _combine(model, attempts, clean, notes)


def _search(session: Session, model: Model, out: SolveOutcome, gap: float, deadline: float,
            progress=None, x_lp: np.ndarray | None = None) -> SolveOutcome:
    """Neighbourhood search from the outcome's plan until `deadline`, or until its bound proves it."""
    from . import lns

    def enough(value: float) -> bool:
        return out.bound is not None and relative_gap(value, out.bound) <= gap + GAP_SLACK
    better = (lambda x: progress(x=x, bound=out.bound)) if progress is not None else None
    x, improvements = lns.neighbourhood_search(session, model, out.x, deadline, enough=enough, on_improved=better,
                                               x_lp=x_lp)
    if improvements:
        out.plans.insert(0, out.x)
        out.x, out.objective, out.lns_improvements = x, model.solver_value(x), improvements
        out.message = "; ".join(filter(None, [out.message, f"neighbourhood search improved the plan "
                                                           f"{improvements} time(s)"]))
    return out


def _early(session: Session, model: Model, start, time_limit: float, progress):
    """The first plan from the LP relaxation (solvers/firstplan.py), where it applies; else None."""
    from . import firstplan

    if not firstplan.applies(model, time_limit):
        return None
    early = firstplan.first_plan(session, model, start, time_limit)
    if progress is not None and (early.x is not None or early.bound is not None):
        progress(**({"x": early.x} if early.x is not None else {}), bound=early.bound)
    return early


def _with_early(model: Model, out: SolveOutcome, early) -> SolveOutcome:
    """`out` with the first-plan stage's plans as fall-backs and its bound (our own) where tighter."""
    if early is None:
        return out
    out.plans += [x for x in early.plans if x is not out.x]
    if early.bound is not None and (out.bound is None or early.bound < out.bound):
        out.bound = early.bound
    found = ", ".join(f"{step} {'-' if v is None else f'{v:,.0f}'} at {s:.1f} s" for step, s, v in early.steps)
    out.message = "; ".join(filter(None, [out.message, f"first plan from the LP relaxation ({found})"]))
    return out


def _early_only(session: Session, model: Model, early, gap: float, t0: float, deadline: float,
                progress) -> SolveOutcome:
    """When too little is left for branch-and-bound to pass its root LP: the first plan, improved by
    neighbourhood search from the same LP until `deadline`."""
    out = _with_early(model, _from_early(early, model, session, time.perf_counter() - t0), early)
    if deadline - time.perf_counter() >= 0.5:
        out = _search(session, model, out, gap, deadline, progress, x_lp=early.x_lp)
    out.seconds, out.tolerance = time.perf_counter() - t0, float(gap)
    return out


def _from_early(early, model: Model, session: Session, seconds: float) -> SolveOutcome:
    """The first-plan stage's plan as an outcome, when branch-and-bound is not run after it."""
    return SolveOutcome(Status.FEASIBLE, early.x, None, seconds, session.name, session.version,
                        "branch-and-bound not run: too little time left after the LP relaxation",
                        first_plan_seconds=early.seconds, objective=model.solver_value(early.x))


def solve(model: Model, name: str, time_limit: float, gap: float, start: np.ndarray | None = None,
          threads: int | None = None, progress=None, verbose: bool = False, first_plan: bool = True) -> SolveOutcome:
    """Solve with the named solver under the time-sharing policy, checking what it hands back.

    `progress(x=..., bound=...)` is called with each new plan and moved bound (HiGHS's
    branch-and-bound, and neighbourhood search's plans for either solver); `verbose` lets the
    solver print its own log. `first_plan`: on large models, make a first plan and a bound from
    the LP relaxation before branch-and-bound (solvers/firstplan.py); when what is left of the
    limit would not see branch-and-bound past its root LP, neighbourhood search gets it instead."""
    t0 = time.perf_counter()
    session = open_session(name.lower(), model, threads, verbose)
    # A solver call spends time its limit does not count: loading the model (building CBC's PuLP
    # problem takes seconds at 2,000 initiatives) and what it overruns. Beyond OVERRUN_ALLOWED that
    # time (`late`) is taken off: the first-plan stage and branch-and-bound share the limit less it,
    # and re-solves and neighbourhood search end their own limits by `deadline`.
    opening = time.perf_counter() - t0
    late = max(0.0, opening + getattr(session, "overrun_per_nonzero", 0.0) * model.A.nnz - OVERRUN_ALLOWED)
    deadline = t0 + time_limit - late
    early = _early(session, model, start, time_limit - late, progress) if first_plan else None
    left = time_limit - late - (time.perf_counter() - t0 - opening)  # for branch-and-bound, from now
    if early is not None and early.x is not None and left < ROOT_FACTOR * early.lp_seconds:
        return _early_only(session, model, early, gap, t0, deadline, progress)
    if early is not None and early.x is not None:
        start = early.x
    search = time_limit >= LNS_MIN_TIME_LIMIT
    bb_limit = left * (1 - LNS_SHARE) if search else left
    if bb_limit < MIN_SECONDS:  # (starting CBC on a large model would take seconds more before it looked at its limit)
        return SolveOutcome(Status.ERROR, None, None, time.perf_counter() - t0, session.name, session.version,
                            f"no time left to solve (loading the model into {SOLVER_LABELS[session.name]} took "
                            f"{opening:.1f} s)", tolerance=float(gap))
    stall = (LNS_MIN_BB_SHARE * time_limit, LNS_STALL_SHARE * time_limit,
             max(STALL_GAP[0] * gap, STALL_GAP[1])) if search and STALL_HANDOVER else None
    t_bb = time.perf_counter()
    out = session.solve(bb_limit, gap, start=start, stall=stall, progress=progress)
    out = _believe(model, session, out, start, gap, threads, t_bb + bb_limit, time_limit, deadline)
    out = _with_early(model, out, early)
    proven = out.x is not None and out.bound is not None and \
        relative_gap(model.solver_value(out.x), out.bound) <= gap + GAP_SLACK
    if search and out.x is not None and not proven and time.perf_counter() < deadline - 0.5:
        out = _search(session, model, out, gap, deadline, progress, x_lp=early.x_lp if early is not None else None)
    out.seconds, out.tolerance = time.perf_counter() - t0, float(gap)
    return out


def lp_duals(model: Model, time_limit: float = 10.0, threads: int | None = None) -> np.ndarray | None:
    """The LP relaxation's row duals, as the objective gained per unit of each row's bound (>= 0 on a
    binding upper limit of this maximisation); None when not solved in time. A guide for the
    explanations only (an integer programme's value comes in whole initiatives), so one solver
    answers it whichever the scenario names: HiGHS, whose duals are read directly."""
    return open_session("highs", model, threads).duals(time_limit)
