"""The first plan from the LP relaxation (solvers/firstplan.py): its bound is proven by our own
arithmetic, its plans keep every rule, and the statuses built on them stay honest.

Independent truths: a small portfolio's optimum from an exact HiGHS solve (a valid bound can never
be below it, for any multipliers), and synth-500's published reference objective (a checked plan of
that value exists, so no valid bound may be below it).
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prioritiser
from prioritiser import solvers
from prioritiser.check import check_plan
from prioritiser.engine import _plan_vector, finish
from prioritiser.heuristic import rank_and_place
from prioritiser.model import build_model
from prioritiser.solvers import firstplan, open_session

ROOT = Path(__file__).resolve().parents[1]
SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic"
REFERENCE = dict(pd.read_csv(SYNTH / "values.csv")[["instance", "reference_objective"]].to_numpy())


@pytest.fixture(scope="module")
def sample():
    model = build_model(prioritiser.load(ROOT / "scenarios" / "baseline.yaml"))
    exact = open_session("highs", model, threads=1).solve(60, 0.0)
    assert exact.status == "optimal"
    return model, model.solver_value(exact.x)


@pytest.fixture(scope="module")
def synth500():
    model = build_model(prioritiser.load(SYNTH / "synth-500" / "scenario.yaml"))
    return model, rank_and_place(model)


def test_the_dual_bound_is_valid_for_any_multipliers_and_tight_at_the_lp_optimum(sample):
    model, optimum = sample
    x_lp, duals = firstplan.relaxation(open_session("highs", model, threads=1), model, 30)
    assert x_lp is not None and duals is not None
    bound = firstplan.dual_bound(model, duals)
    lp_value = model.solver_value(x_lp)
    assert bound >= optimum - 1e-6
    assert bound == pytest.approx(lp_value, rel=1e-6)  # the LP's own optimum, recomputed from its duals
    rng = np.random.default_rng(3)
    for scale in (0.0, 1.0, 100.0):  # any multipliers, even nonsense ones, give a bound no plan beats
        y = duals + scale * rng.normal(size=len(duals)) * np.abs(duals).mean()
        assert firstplan.dual_bound(model, y) >= optimum - 1e-6
    assert firstplan.dual_bound(model, np.zeros(len(duals))) >= optimum - 1e-6


def test_first_plan_on_synth_500_beats_ranking_keeps_every_rule_and_bounds_the_reference(synth500):
    model, greedy = synth500
    early = firstplan.first_plan(open_session("highs", model, threads=1), model, greedy, 8.0)
    assert [step for step, _, _ in early.steps] == ["LP bound", "LP rounding", "RENS"]
    assert early.bound is not None and early.bound >= REFERENCE["synth-500"]
    assert early.x is not None and float(model.c @ early.x) > float(model.c @ greedy)
    assert early.seconds is not None and early.seconds <= 10.0
    for x in early.plans:
        starts = {model.portfolio.ids[model.col_init[c]]: int(model.col_start[c])
                  for c in np.flatnonzero(x[:model.n_x] > 0.5)}
        v = _plan_vector(model, x)
        ext = {(model.portfolio.resources.index[model.ext_resource[n]], int(model.ext_period[n])): float(v[model.n_x + n])
               for n in np.flatnonzero(v[model.n_x:] > 1e-9)}
        report = check_plan(model.portfolio, {i: starts.get(i) for i in model.portfolio.ids}, ext)
        assert report.ok, report.violations[:5]
        assert report.objective <= early.bound


@pytest.mark.parametrize("skip_branch_and_bound", [False, True])
def test_solve_with_a_first_plan_is_checked_and_honest(synth500, monkeypatch, skip_branch_and_bound):
    """Both ways on from the first plan: branch-and-bound with it as the start, or (too little time
    left for branch-and-bound's root) neighbourhood search alone."""
    model, greedy = synth500
    # which way is taken depends on how long the LP took, so each way is chosen here, not left to the load
    monkeypatch.setattr(solvers, "ROOT_FACTOR", 1e9 if skip_branch_and_bound else 0.0)
    out = solvers.solve(model, "highs", 8.0, 1e-4, greedy, threads=1)
    assert ("branch-and-bound not run" in out.message) == skip_branch_and_bound
    assert "first plan from the LP relaxation" in out.message
    result = finish(model, out, _plan_vector(model, greedy), {}, out.seconds)
    assert result.check.ok
    assert result.objective >= result.greedy_objective
    assert result.bound is not None and result.bound >= REFERENCE["synth-500"]
    assert result.gap == pytest.approx((result.bound - result.objective) / result.objective)
    assert (result.status == "optimal") == (result.gap <= 1e-4 + 1e-6)


def test_small_models_keep_branch_and_bound_for_the_whole_limit(sample):
    model, _ = sample
    assert not firstplan.applies(model, 10.0)  # the dashboard's sample trust: B&B proves it in seconds
