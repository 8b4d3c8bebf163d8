"""The dashboard's explanations (issue 10 item 6) without a browser: the diagnosis of an infeasible
what-if and its Apply button, opportunity cost on demand, the marginal-value table, and other good
plans pinned as A in the compare view. Each is checked against the public API's own answer."""
import re

import pandas as pd
import pytest
import yaml

import prioritiser
from prioritiser.reversals import explain


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_diagnosis_is_shown_and_applied_as_a_what_if(app, tmp_path):
    st = app.state
    assert app.diagnosis.value == "" and app.apply_fix.disabled
    st.capital = {fy: -50.0 for fy in st.capital}
    st.solve()
    assert st.result.status == "infeasible" and st.result.diagnosis
    shown = text(app.diagnosis.value)
    for item in st.result.diagnosis:
        assert item["text"] in shown
    assert not app.apply_fix.disabled
    app.apply_fix.click()
    assert st.result.has_plan and st.relief
    assert {(a.resource, a.start, a.add) for a in st.relief} == \
        {(i["resource"], i["period"], i["shortfall"]) for i in prioritiser.run(_saved(st, tmp_path, "cut")).diagnosis}
    # the downloaded scenario reproduces the plan the page shows, relief included
    again = prioritiser.run(_saved(st, tmp_path, "fixed"))
    assert again.has_plan and again.objective == pytest.approx(st.result.objective, rel=1e-6)
    assert app.diagnosis.value == ""
    st.reset()
    assert st.relief == []


def _saved(st, folder, which):
    """The scenario behind the page's plan as a file ('cut': without the relief)."""
    scenario = st.solved_scenario
    if which == "cut":
        scenario = scenario.replace(adjustments=[a for a in scenario.adjustments if a not in st.relief])
    path = folder / f"{which}.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(scenario.to_yaml())))
    return path


def test_opportunity_cost_on_demand_matches_explain(app, tmp_path):
    st = app.state
    pick = next(i for i in st.result.plan.index[st.result.plan["selected"]]
                if not st.result.plan.at[i, "mandatory"])
    app.pick.value = pick
    app.explain_button.click()
    row = st.opportunity
    assert row["id"] == pick and row["selected"]
    truth = explain(st.solved_scenario, ids=[pick], out=tmp_path / "explain").table.iloc[0]
    assert row["opportunity_cost"] == pytest.approx(truth["opportunity_cost"], abs=1e-6 * abs(st.result.objective) + 1)
    shown = text(app.opportunity_box.value)
    assert pick in shown and prioritiser.formatting.score(row["opportunity_cost"]) in shown


def test_marginal_value_table(app):
    st = app.state
    app.limits_button.click()
    table = st.marginal_table
    binding = st.result.usage[st.result.usage["binding"]]
    assert set(zip(table["resource"], table["period"])) == set(zip(binding["resource"], binding["period"]))
    assert (table["objective_gain"] >= 0).all()
    shown = app.marginal_box.value
    assert shown.count("<tr>") == len(table) + 1  # the header, then a row per limit
    assert "LP dual" in shown


def test_alternatives_are_pinnable_in_the_compare_view(app):
    st = app.state
    found = st.find_alternatives(count=1, within=0.02)
    assert len(found) == 1 and found[0].check.ok
    labels = [label for label, k in app.alternative_pick.options if k >= 0]
    assert len(labels) == 1 and labels[0].startswith("alternative-1")
    app.alternative_pick.value = 0
    assert st.pinned is found[0]
    shown = text(app.compare.value)
    assert "alternative-1" in shown
    best = set(st.result.plan.index[st.result.plan["selected"]])
    alt = set(found[0].plan.index[found[0].plan["selected"]])
    for iid in best ^ alt:  # what the alternative changes is listed
        assert iid in shown
    assert pd.notna(found[0].objective) and found[0].objective >= 0.98 * st.result.objective - 1e-6
