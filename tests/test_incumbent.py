"""HiGHS's last incumbent is never lost (issue 14, at 10,000 initiatives): HiGHS 1.16 may hand back
the start it was given while its callback showed a better plan; that plan is kept among the
outcome's plans, and the combined outcome takes the best plan that keeps the model's rows."""
from pathlib import Path

import numpy as np

import prioritiser
from prioritiser.engine import _plan_vector
from prioritiser.heuristic import rank_and_place
from prioritiser.model import build_model
from prioritiser.result import SolveOutcome, Status
from prioritiser.solvers import _combine, open_session
from prioritiser.solvers.base import fits_model

ROOT = Path(__file__).resolve().parents[1]
SYNTH_200 = ROOT.parent / "shared" / "benchmarks" / "synthetic" / "synth-200" / "scenario.yaml"


def test_combine_takes_the_best_plan_that_fits_from_the_plans_as_well():
    model = build_model(prioritiser.load(SYNTH_200))
    start = _plan_vector(model, rank_and_place(model))
    better = _plan_vector(model, open_session("highs", model, threads=1).solve(3.0, 1e-4, start=start).x)
    assert model.solver_value(better) > model.solver_value(start)
    broken = np.ones(model.n_cols)  # every start of every initiative: breaks every row
    handed_back = SolveOutcome(Status.FEASIBLE, start, None, 1.0, "highs", "test", plans=[broken, better])
    out = _combine(model, [handed_back], None, ["HiGHS reported an objective it did not hand back"])
    assert np.array_equal(out.x, better) and out.objective == model.solver_value(better)
    assert all(fits_model(model, x) for x in out.plans) and any(np.array_equal(x, start) for x in out.plans)


def test_the_last_incumbent_highs_showed_is_among_the_outcome_plans():
    model = build_model(prioritiser.load(SYNTH_200))
    start = _plan_vector(model, rank_and_place(model))
    seen = []
    out = open_session("highs", model, threads=1).solve(
        3.0, 1e-4, start=start, progress=lambda x=None, bound=None: seen.append(x) if x is not None else None)
    assert seen, "HiGHS found no better plan than rank-and-place's in 3 s on synth-200"
    held = [x for x in [out.x, *out.plans] if x is not None and fits_model(model, x)]
    best_seen = max(model.solver_value(x) for x in seen if fits_model(model, x))
    assert max(model.solver_value(x) for x in held) >= best_seen - 1e-6 * abs(best_seen)
