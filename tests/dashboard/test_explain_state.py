"""The dashboard state's explanations (issue 10 item 6) without widgets: the traitlets state calls the
same functions as the CLI (engine.run's diagnosis, reversals.explain, alternatives.alternatives) and
holds their answers; views only draw them. Every plan the state publishes is re-checked here."""
from pathlib import Path

import pytest
import yaml

import prioritiser
from prioritiser.check import check_plan
from prioritiser.dashboard.state import DashboardState

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def checked(result):
    assert result.has_plan
    report = check_plan(result.portfolio, result.starts, result.external_purchases)
    assert report.ok, report.violations
    return result


@pytest.fixture
def replan_state():
    st = DashboardState(scenarios={"replan-capital-cut-10": SCENARIOS / "replan-capital-cut-10.yaml"})
    st.quick_first = False
    st.time_limit = 60.0
    yield st
    st.close()


def test_a_kept_approved_plan_is_diagnosed_and_the_fix_applied(replan_state, tmp_path):
    """Keep approved starts under the 10% cut: the state's result carries the CLI's diagnosis (the same
    items as `prioritiser run` of the downloaded scenario), with the approved initiatives named; the
    fix applied as a what-if gives a checked plan that keeps every approved start."""
    st = replan_state
    st.keep_approved = True
    st.solve()
    assert st.result.status.value == "infeasible"
    name, doc = st.scenario_yaml()
    path = tmp_path / "keep-start.yaml"
    path.write_text(doc)
    cli = prioritiser.run(path)
    assert st.result.diagnosis == cli.diagnosis and st.result.diagnosis_within_limits == cli.diagnosis_within_limits
    limit = next(i for i in st.result.diagnosis if i["kind"] == "limit")
    assert set(limit["initiatives"]) & set(st.result.portfolio.approved.index)
    assert any(i["rule"] == "approved_start" for i in st.result.diagnosis_within_limits)
    assert st.apply_diagnosis() == ""  # only shortfalls: everything could be applied from the page
    r = checked(st.result)
    p = r.portfolio
    assert all(r.starts[i] == a for i, a in zip(p.ids, p.approved_starts) if a >= 0)
    assert "capital +" in st.describe(st.solved_scenario)  # the relief is part of the what-if described
    again = prioritiser.run(_saved(st, tmp_path))  # and of the downloaded scenario
    assert again.objective == pytest.approx(r.objective, rel=1e-6)


def _saved(st, folder):
    path = folder / "fixed.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(st.solved_scenario.to_yaml())))
    return path


def test_explanations_belong_to_the_plan_they_were_measured_on(replan_state):
    st = replan_state
    with pytest.raises(RuntimeError, match="optimise a plan first"):
        st.keep_approved = True
        st.solve()
        st.explain_limits()  # no plan: nothing to explain
    st.keep_approved = False
    st.solve()
    checked(st.result)
    table = st.explain_limits()
    assert st.marginal_table is table and (table["objective_gain"] >= 0).all()
    binding = st.result.usage[st.result.usage["binding"]]
    assert set(zip(table["resource"], table["period"])) == set(zip(binding["resource"], binding["period"]))
    st.solve()  # the same plan again (cached): its explanations stay
    assert st.marginal_table is table
    st.capital = {fy: -20.0 for fy in st.capital}
    st.solve()  # another plan: they are cleared
    assert st.marginal_table is None and st.opportunity == {} and st.alternatives == []


def test_alternatives_are_checked_plans_within_the_distance(replan_state):
    st = replan_state
    st.solve()
    best = checked(st.result)
    found = st.find_alternatives(count=2, within=0.05)
    assert found and found == st.alternatives
    picks = [frozenset(best.plan.index[best.plan["selected"]])]
    for alt in found:
        checked(alt)
        assert alt.objective >= best.objective - 0.05 * abs(best.objective) - 1e-6
        picks.append(frozenset(alt.plan.index[alt.plan["selected"]]))
    assert len(set(picks)) == len(picks)  # distinct selections
    st.pin_alternative(0)
    assert st.pinned is found[0] and st.comparison() is not None
