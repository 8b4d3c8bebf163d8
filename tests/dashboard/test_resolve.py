"""Issue 14's dashboard re-solve: the cache of solved results per input, and the warm start of a
re-solve from the nearest solved plan. Every result is re-checked by the independent checker and
compared with a cold solve of the same scenario (`prioritiser.run`, no start, no cache)."""
import csv
import io
import os
import shutil
from pathlib import Path

import pytest

from prioritiser import engine
from prioritiser.check import check_plan
from prioritiser.dashboard import state as dashboard_state
from prioritiser.dashboard.state import DashboardState, _cache_key
from prioritiser.result import GAP_SLACK, Status

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def checked(result):
    """The result, after the independent checker passed its plan and scored it as the engine did."""
    assert result.has_plan
    report = check_plan(result.portfolio, result.starts, result.external_purchases)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(result.objective, rel=1e-9, abs=1e-6)
    return result


def proven(result, gap):
    assert result.status is Status.OPTIMAL and result.bound is not None
    assert result.gap <= gap + GAP_SLACK
    return checked(result)


def agree(a, b, gap):
    """Two results proven within `gap` of the same optimum: each plan within the other's bound."""
    for one, other in ((a, b), (b, a)):
        assert one.objective <= other.bound + 1e-6 * abs(other.bound)
        assert one.objective >= other.bound * (1 - gap - GAP_SLACK) - 1e-6


@pytest.fixture
def copied(tmp_path):
    """The sample trust's baseline in a folder of its own, so that a test may edit its files."""
    shutil.copytree(SCENARIOS / "sample-trust", tmp_path / "sample-trust")
    shutil.copy(SCENARIOS / "baseline.yaml", tmp_path / "baseline.yaml")
    return tmp_path


@pytest.fixture
def counted(monkeypatch):
    """engine.run's calls (the keyword arguments of each), the real run answering."""
    calls, real = [], engine.run

    def spy(scenario, **kwargs):
        calls.append(kwargs)
        return real(scenario, **kwargs)
    monkeypatch.setattr(engine, "run", spy)
    return calls


def test_the_cache_gives_back_a_cold_solves_answer_and_solves_again_when_any_input_changes(copied, counted):
    """Same inputs: the cached result, no new solve, its plan checked and in agreement with a cold
    solve. Each input that changes the answer (a budget, the time limit, the gap, the solver, the
    bytes of a portfolio file even with its size and time stamp kept) is a new key and a new solve."""
    dashboard_state._CACHE.clear()
    st = DashboardState(scenarios={"baseline": copied / "baseline.yaml"})
    try:
        st.quick_first = False
        st.capital = {fy: -10.0 for fy in st.capital}
        scenario = st.build_scenario()
        first = proven(st.solve(), st.gap)
        solves = len(counted)
        again = st.run(st.build_scenario())
        assert again is first and len(counted) == solves  # from the cache, not solved again
        cold = proven(engine.run(scenario), st.gap)  # (the spy counts it: this one is ours)
        agree(again, cold, st.gap)

        key = _cache_key(scenario)
        for trait, value in (("time_limit", 9.0), ("gap", 0.004), ("solver", "cbc")):
            before = getattr(st, trait)
            setattr(st, trait, value)
            assert _cache_key(st.build_scenario()) != key, trait
            setattr(st, trait, before)
        assert _cache_key(st.build_scenario()) == key

        st.capital = {fy: -20.0 for fy in st.capital}
        cut = proven(st.solve(), st.gap)
        assert len(counted) == solves + 2 and cut.objective < first.objective - 1.0  # solved: less money, less value
        st.capital = {fy: -10.0 for fy in st.capital}
        assert st.solve() is first and len(counted) == solves + 2  # back to settings already solved

        # a benefit edited in place, same size and time stamp: the input hash sees the bytes
        table = copied / "sample-trust" / "initiatives.csv"
        text, stat = table.read_text(), table.stat()
        edited = _raise_one_benefit(text)
        assert len(edited) == len(text) and edited != text
        table.write_text(edited)
        os.utime(table, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert table.stat().st_size == stat.st_size and table.stat().st_mtime_ns == stat.st_mtime_ns
        assert _cache_key(st.build_scenario()) != key
        changed = st.solve()
        assert changed is not None, st.issues
        changed = proven(changed, st.gap)
        assert len(counted) == solves + 3 and changed is not first
        assert changed.objective != pytest.approx(first.objective, rel=1e-9)
    finally:
        st.close()


def _raise_one_benefit(text: str) -> str:
    """The initiatives table with the first initiative's benefit lowered in its second digit (the
    file keeps its length; the benefit stays inside its risk range, benefit_low..benefit_high)."""
    lines = text.splitlines(keepends=True)
    row = next(csv.DictReader(io.StringIO(text)))
    was = row["benefit"]
    now = was[0] + str(int(was[1]) - 1) + was[2:]
    assert int(was[1]) > 0 and float(row["benefit_low"]) <= float(now)
    old, new = (f",{row['running_cost']},{b},{row['revenue']}," for b in (was, now))
    assert old in lines[1]
    edited = "".join([lines[0], lines[1].replace(old, new, 1), *lines[2:]])
    assert next(csv.DictReader(io.StringIO(edited)))["benefit"] == now
    return edited


def test_a_warm_started_resolve_repairs_the_plan_on_screen_and_is_checked_and_proven(counted):
    """A 20% capital cut from the baseline's plan on screen: the solve starts from that plan
    (which the cut breaks, so it is repaired), shows it first as a checked plan (never `optimal`:
    no bound is known yet), and ends proven, in agreement with a cold solve of the same scenario."""
    dashboard_state._CACHE.clear()
    st = DashboardState(scenarios={"baseline": SCENARIOS / "baseline.yaml"})
    try:
        assert st.resolve == "warm" and st.quick_first
        on_screen = checked(st.result)
        seen = []
        st.observe(lambda c: seen.append(c["new"]), names="result")
        st.capital = {fy: -20.0 for fy in st.capital}
        scenario = st.build_scenario()
        assert st.nearest_starts(scenario) == on_screen.starts
        final = proven(st.solve(), st.gap)
        assert counted[-1]["start"] == on_screen.starts  # warm started from the plan on screen
        assert engine._as_given(final.model, on_screen.starts) is None  # which breaks the cut: repaired
        assert len(seen) == 2 and seen[-1] is final  # the plan it starts from, then the end
        assert seen[0].starts == _started_from(final, on_screen.starts)  # the plan it starts from is drawn first
        for shown in seen[:-1]:
            assert checked(shown).status is Status.FEASIBLE and shown.bound is None  # no bound: nothing proven
        assert seen[0].objective <= final.objective + 1e-6 * abs(final.objective)
        assert 0 < st.first_plan_seconds < st.last_solve_seconds
        cold = proven(engine.run(scenario), st.gap)
        assert "start" not in counted[-1]
        agree(final, cold, st.gap)
    finally:
        st.close()


def _started_from(result, starts: dict) -> dict:
    """The plan engine.run starts from for `starts` on the result's model (as it would choose it)."""
    x = engine._known_plan(result.model, starts)
    return engine._starts_and_external(result.model, engine._plan_vector(result.model, x))[0]


def test_the_other_ways_of_resolving_give_proven_checked_plans_too(monkeypatch):
    """The ways kept for measuring (PRIORITISER_DASHBOARD_RESOLVE): cold starts from rank-and-place
    alone, two-solves is the way before issue 14; an unknown way is refused with the choices."""
    monkeypatch.setenv(dashboard_state.RESOLVE_ENV, "nonsense")
    with pytest.raises(ValueError, match="warm, cold, two-solves"):
        DashboardState(load=False)
    results = {}
    for way in ("cold", "two-solves"):
        monkeypatch.setenv(dashboard_state.RESOLVE_ENV, way)
        dashboard_state._CACHE.clear()
        st = DashboardState(scenarios={"baseline": SCENARIOS / "baseline.yaml"})
        try:
            assert st.resolve == way
            st.revenue = {fy: -10.0 for fy in st.revenue}
            results[way] = proven(st.solve(), st.gap)
        finally:
            st.close()
    agree(results["cold"], results["two-solves"], dashboard_state.DEFAULT_GAP)
