"""The pipeline on realistic portfolios: the sample trust, the synthetic set, honest statuses."""
from pathlib import Path

import numpy as np
import pytest

import prioritiser
from prioritiser.check import check_plan
from prioritiser.engine import _plan_vector
from prioritiser.heuristic import rank_and_place
from prioritiser.model import build_model, start_windows

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic"


def starts_of(model, x):
    p = model.portfolio
    starts = {i: None for i in p.ids}
    for col in np.flatnonzero(x[:model.n_x] > 0.5):
        starts[p.ids[model.col_init[col]]] = int(model.col_start[col])
    ext = {(p.resources.index[model.ext_resource[n]], int(model.ext_period[n])): float(x[model.n_x + n])
           for n in np.flatnonzero(x[model.n_x:] > 1e-9)}
    return starts, ext


@pytest.fixture(scope="module")
def baseline():
    return prioritiser.run(BASELINE)


def test_sample_trust_baseline_is_solved_and_checked(baseline):
    r = baseline
    assert r.status == "optimal", r.message
    assert r.gap <= r.portfolio.scenario.solver.gap + 1e-9
    assert r.bound >= r.objective - 1e-6
    report = check_plan(r.portfolio, r.starts, r.external_purchases)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(r.objective, rel=1e-9)
    must = r.portfolio.initiatives.index[r.portfolio.initiatives["mandatory"]]
    assert all(r.starts[i] is not None for i in must)
    assert r.objective >= r.greedy_objective - 1e-6
    # the sample trust is built to exercise every part of the format
    p = r.portfolio
    assert len(p.initiatives) >= 40
    assert {"clinical_time", "trainer"} <= set(p.resources.index)
    assert (p.resources["kind"] == "staff").sum() >= 5
    assert set(p.dependencies["type"]) == {"finish_to_start", "start_to_start", "requires", "excludes"}
    assert p.funding["milestone"].notna().any()
    assert (p.resources["external_max"] > 0).any()
    assert p.horizon.T == 20 and len(p.horizon.fy_labels) == 5


def test_every_unselected_initiative_has_a_reason(baseline):
    plan = baseline.plan
    assert (plan.loc[~plan["selected"], "reason"].str.len() > 10).all()
    assert (plan.loc[plan["selected"], "reason"] == "").all()


def test_columns_only_inside_start_windows(baseline):
    model = build_model(baseline.portfolio)
    first, last = start_windows(baseline.portfolio)
    assert np.all(model.col_start >= first[model.col_init])
    assert np.all(model.col_start <= last[model.col_init])
    assert np.all(model.col_start + 0 < baseline.portfolio.horizon.T)


@pytest.mark.parametrize("name", ["synth-200", "quarterly-500"])
def test_rank_and_place_plan_passes_the_checker(name):
    p = prioritiser.load(SYNTH / name / "scenario.yaml")
    model = build_model(p)
    x = rank_and_place(model)
    assert x is not None
    v = _plan_vector(model, x)
    starts, ext = starts_of(model, v)
    report = check_plan(p, starts, ext)
    assert report.ok, report.violations[:5]
    assert report.objective == pytest.approx(float(model.c @ v), rel=1e-9)


@pytest.mark.serial  # what a 2 s solve reaches (CBC's bound): with a busy sibling worker CBC once had none yet
@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_time_limit_gives_feasible_not_optimal(solver):
    """A solve stopped by its time limit is reported as feasible with a positive gap, never optimal."""
    r = prioritiser.run(SYNTH / "synth-200" / "scenario.yaml", solver=solver, time_limit=2, gap=0)
    assert r.status == "feasible", (r.status, r.message)
    assert r.gap is not None and r.gap > 0
    assert r.bound > r.objective
    assert r.seconds < 2 + 30  # the engine's own deadline holds (solver limit + grace + model export)
    assert r.check.ok
    assert r.objective >= r.greedy_objective - 1e-6


def test_cbc_watchdog_kills_only_its_own_named_children():
    import subprocess

    from prioritiser.solvers.cbc import _kill_child_processes

    mine = subprocess.Popen(["sleep", "30"])
    other = subprocess.Popen(["sh", "-c", "sleep 30; true"])  # a grandchild named sleep is not ours to kill
    try:
        _kill_child_processes("sleep")
        assert mine.wait(timeout=5) == -9
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_neighbourhood_search_improves_a_plan_and_keeps_it_feasible():
    import time

    from prioritiser.solvers import open_session
    from prioritiser.solvers.lns import neighbourhood_search

    p = prioritiser.load(SYNTH / "synth-200" / "scenario.yaml")
    model = build_model(p)
    start = _plan_vector(model, rank_and_place(model))
    better, improvements = neighbourhood_search(open_session("highs", model), model, start, time.perf_counter() + 6)
    better = _plan_vector(model, better)
    assert improvements >= 1
    assert float(model.c @ better) > float(model.c @ start) * 1.05  # the greedy plan leaves a lot behind
    starts, ext = starts_of(model, better)
    report = check_plan(p, starts, ext)
    assert report.ok, report.violations[:5]
    assert report.objective == pytest.approx(float(model.c @ better), rel=1e-9)


def test_cbc_agrees_with_highs_where_a_mip_start_misled_it(tmp_path):
    """CBC 2.10 given a MIP start called a worse plan optimal here; the engine gives it none."""
    import yaml

    path = tmp_path / "tight.yaml"
    path.write_text(yaml.safe_dump({"name": "tight", "extends": str(BASELINE),
                                    "adjustments": [{"resource": "capital", "scale": 0.8}]}))
    highs = prioritiser.run(path, solver="highs")
    cbc = prioritiser.run(path, solver="cbc")
    assert highs.status == "optimal" and cbc.status == "optimal"
    assert cbc.objective == pytest.approx(highs.objective, rel=2e-3)  # both within the 0.1% gap
    assert cbc.check.ok and highs.check.ok


@pytest.mark.parametrize("claim", ["optimal", "infeasible"])
def test_false_solver_claims_are_not_passed_on(claim, monkeypatch):
    from prioritiser import engine
    from prioritiser.result import SolveOutcome, Status

    def lying_solver(model, name, time_limit, gap, start=None, threads=None):
        x = np.zeros(model.n_cols) if claim == "optimal" else None  # selects nothing
        return SolveOutcome(Status(claim), x, 0.0 if x is not None else None, 0.1, name, "liar")
    monkeypatch.setattr(engine, "solve", lying_solver)
    r = prioritiser.run(SYNTH / "synth-200" / "scenario.yaml")
    assert r.status == "feasible"
    assert "not trusted" in r.message
    assert r.objective == pytest.approx(r.greedy_objective)
    assert r.check.ok


def test_changing_solver_threads_between_runs(tmp_path):
    from known import KNAPSACK, YEARLY, write_case

    path = write_case(tmp_path, KNAPSACK, YEARLY)
    for threads in (1, None, 2, 1):
        r = prioritiser.run(path, threads=threads)
        assert r.status == "optimal" and r.objective == pytest.approx(115), (threads, r.message)
