"""What the adapters share: the session interface, the grace period and the model's own row check.

A session holds one model loaded into one solver and answers `solve(...)` any number of times,
with other column bounds (neighbourhood search), with or without a start, with presolve on or
off. Every answer is a SolveOutcome carrying the solver's own claims (status, objective, bound);
believing them is not the adapters' business.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..result import SolveOutcome, Status

if TYPE_CHECKING:
    from ..model import Model

GRACE_SECONDS = 2.0  # beyond the solver's own time limit before we cancel it ourselves
FEASIBILITY_TOLERANCE = 1e-6  # relative, on rows and bounds: as the solvers' own


class Session(Protocol):
    name: str
    version: str
    uses_start: bool  # whether a start given to solve() reaches the solver
    verbose: bool  # whether the solver prints its own log
    # how far a solve is likely to run past its time limit, per nonzero of the model: the time the
    # solver does not count or check (solve() gives it that much less, so that it ends on time)
    overrun_per_nonzero: float

    def solve(self, time_limit: float, gap: float, start: np.ndarray | None = None,
              lower: np.ndarray | None = None, upper: np.ndarray | None = None, presolve: bool = True,
              stall: tuple[float, float, float] | None = None, progress=None) -> SolveOutcome: ...

    def relaxation(self, time_limit: float) -> np.ndarray | None: ...


def empty_outcome(model: Model, t0: float, name: str, version: str) -> SolveOutcome:
    """A model with no columns: the empty plan, if every row allows zero."""
    ok = bool(np.all(model.row_lo <= 1e-9) and np.all(model.row_hi >= -1e-9))
    return SolveOutcome(Status.OPTIMAL if ok else Status.INFEASIBLE, np.zeros(0) if ok else None,
                        0.0 if ok else None, time.perf_counter() - t0, name, version,
                        "" if ok else "a required initiative has no start in its window",
                        objective=0.0 if ok else None)


def fits_model(model: Model, x: np.ndarray) -> bool:
    """Whether `x` keeps the model's rows, bounds and integrality (within the solvers' tolerance).

    Cheap, and a first line only: the engine's independent checker has the last word."""
    if x is None or len(x) != model.n_cols or not np.all(np.isfinite(x)):
        return False
    tol = FEASIBILITY_TOLERANCE
    if np.any(x < -tol) or np.any(x > model.col_hi + tol * np.maximum(1.0, model.col_hi)):
        return False
    xi = x[model.integer]
    if np.any(np.abs(xi - np.round(xi)) > tol):
        return False
    act = model.A @ x
    slack = tol * np.maximum(1.0, np.abs(act))
    return bool(np.all(act <= model.row_hi + slack) and np.all(act >= model.row_lo - slack))
