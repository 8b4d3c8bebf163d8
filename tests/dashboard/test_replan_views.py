"""The dashboard's planning cycle (issue 12): work in flight and approved initiatives marked on the
roadmap, the "keep approved starts" and "allow stopping" switches, and the changes against the
approved plan, on the bundled re-plan scenario. Every plan shown is re-checked by the checker."""
import re
from pathlib import Path

import pytest
import yaml

from prioritiser.check import check_plan
from prioritiser.replan import changes_table

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def replan_app():
    from prioritiser.dashboard import App

    a = App(scenarios={"replan-capital-cut-10": SCENARIOS / "replan-capital-cut-10.yaml",
                       "baseline": SCENARIOS / "baseline.yaml"})
    a.state.quick_first = False  # one full solve per click: the result is the final one
    a.state.time_limit = 60.0
    yield a
    a.state.close()


def shown_ok(result):
    assert result.has_plan
    report = check_plan(result.portfolio, result.starts, result.external_purchases)
    assert report.ok, report.violations


def test_roadmap_marks_work_in_flight_and_approved_starts(replan_app):
    st = replan_app.state
    r = st.result
    shown_ok(r)
    p = r.portfolio
    bars = [t for t in replan_app.figures["roadmap"].data if t.name != "Approved start"]
    labels = {label.split()[0]: label for t in bars for label in t.y}
    for iid in p.ids[p.in_progress]:
        assert labels[iid].startswith(f"{iid} ▶ ")  # every in-flight initiative continues and is marked
    approved = set(p.approved.index) - set(p.ids[p.in_progress])
    for iid in approved & set(labels):
        assert labels[iid].startswith(f"{iid} ✓ ")
    (ticks,) = [t for t in replan_app.figures["roadmap"].data if t.name == "Approved start"]
    at = {label.split()[0]: base + 0.07 for label, base in zip(ticks.y, ticks.base)}
    a = dict(zip(p.ids, p.approved_starts))
    assert at == pytest.approx({iid: a[iid] for iid in labels if a[iid] >= 0})
    assert "(in flight)" in text(replan_app.table.value)


def test_changes_panel_lists_what_changes_file_does(replan_app):
    st = replan_app.state
    table = changes_table(st.result.portfolio, st.result.starts, st.result.plan)
    shown = re.findall(r'<tr class="change-(\w+)" data-id="([^"]+)"', replan_app.changes.value)
    assert [(i, c) for c, i in shown] == list(zip(table["id"], table["change"]))
    assert f"change penalties £{st.result.components['change_penalty']:,.0f}" in text(replan_app.changes.value)
    assert not replan_app.keep_approved.disabled


def test_keep_approved_starts_switch_diagnoses_the_cut(replan_app):
    st = replan_app.state
    replan_app.keep_approved.value = True
    assert st.keep_approved and st.stale
    replan_app.optimise.click()
    assert st.result.status.value == "infeasible"
    shown = text(replan_app.changes.value)
    assert "The approved plan cannot be kept" in shown and "more capital in 2027/28 than the budget of £" in shown
    name, doc = st.scenario_yaml()
    assert yaml.safe_load(doc)["changes"]["keep"] == "start"
    replan_app.keep_approved.value = False
    replan_app.optimise.click()
    shown_ok(st.result)


def test_allow_stopping_switch_stops_work_in_flight(replan_app):
    st = replan_app.state
    replan_app.allow_stopping.value = True
    replan_app.optimise.click()
    r = st.result
    shown_ok(r)
    assert r.portfolio.settings.allow_stopping
    stopped = re.findall(r'<tr class="change-stopped" data-id="([^"]+)"', replan_app.changes.value)
    assert stopped == [i for i in r.portfolio.ids[r.portfolio.in_progress] if r.starts[i] is None]
    assert "stopping allowed" in st.describe(st.solved_scenario)
    # each stop says what it saves, pays and loses; the saved scenario allows stopping
    assert stopped == ["EDMS-01"]  # as the bundled stop-allowed scenario (test_sample_trust_cycle)
    for iid in stopped:
        assert f'<td class="col-reason">{r.plan.at[iid, "reason"]}</td>' in replan_app.changes.value
        assert r.plan.at[iid, "reason"].startswith("stopped: saves £")
    name, doc = st.scenario_yaml()
    assert yaml.safe_load(doc)["allow_stopping"] is True


def test_a_scenario_without_an_approved_plan(replan_app):
    replan_app.state.scenario_name = "baseline"
    assert replan_app.keep_approved.disabled
    assert "no approved plan" in text(replan_app.changes.value)
    ticks = [t for t in replan_app.figures["roadmap"].data if t.name == "Approved start"]
    assert ticks == []


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_replanning_in_the_browser(browser, voila_url, tmp_path):
    """The served page: choose the re-plan scenario, see its changes and in-flight marks, keep approved
    starts, optimise, and read why the approved plan cannot be kept. No page errors."""
    errors = []
    ctx = browser.new_context(viewport={"width": 1400, "height": 4000})
    ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("data:", "blob:", voila_url))
              else route.abort())
    p = ctx.new_page()
    p.on("pageerror", lambda e: errors.append(str(e)))
    try:
        p.goto(voila_url + "/", wait_until="domcontentloaded")
        p.wait_for_selector(".headline-npv", timeout=120_000)
        p.locator(".scenario-select select").select_option("replan-capital-cut-10")
        p.wait_for_selector(".changes-table tr.change-dropped, .changes-table tr.change-moved", timeout=120_000)
        labels = p.locator(".roadmap-chart .yaxislayer-above .ytick text").all_text_contents()
        assert any(label.startswith("INT-01 ▶") for label in labels), labels
        p.locator(".keep-approved input").check()
        p.locator(".optimise-button").click()
        p.wait_for_function("() => (document.querySelector('.changes-panel')?.innerText || '')"
                            ".includes('cannot be kept')", timeout=120_000)
        assert "capital 2027/28" in p.locator(".changes-panel").inner_text()
        p.screenshot(path=str(tmp_path / "replan.png"), full_page=True)
        assert not errors, errors
    finally:
        ctx.close()
