"""The dashboard without a browser: the traitlets state drives prioritiser.run, and every view
(headline, roadmap, spend chart, staff heatmap, table, comparison, stress chart) follows it."""
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

import prioritiser
from prioritiser import cli
from prioritiser.dashboard import bundled_scenarios
from prioritiser.dashboard import formatting, panels
from prioritiser.dashboard.serve import add_parser, voila_command
from prioritiser.formatting import money
from prioritiser.scenario import Adjustment

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def snapshot(app):
    """What the page shows, output by output."""
    figs = app.figures
    return {
        "headline": app.headline.value,
        "roadmap": [(list(t.y), list(t.base)) for t in figs["roadmap"].data],
        "spend": [list(t.y) for t in figs["spend"].data],
        "staff": np.asarray(figs["staff"].data[0].z, dtype=float).round(6).tolist(),
        "table": app.table.value,
        "status": app.status.value,
    }


def roadmap_ids(app) -> set[str]:
    return {label.split()[0] for trace in app.figures["roadmap"].data for label in trace.y}


def test_bundled_scenarios_are_listed_baseline_first():
    found = bundled_scenarios(SCENARIOS)
    assert next(iter(found)) == "baseline"
    assert set(found) == {p.stem for p in SCENARIOS.glob("*.yaml")}


def test_first_load_shows_the_sample_trusts_plan(app):
    st = app.state
    assert st.result is not None and st.result.has_plan
    head = text(app.headline.value)
    assert money(st.result.components["npv"]) in head
    assert f"{int(st.result.plan.selected.sum())} of {len(st.result.plan)}" in head
    status = text(app.status.value)
    assert status.startswith(st.result.status.value.upper()) and ("gap" in status or "proven" in status)
    # every selected initiative is on the roadmap, nothing else is
    assert roadmap_ids(app) == set(st.result.plan.index[st.result.plan.selected])
    # the table lists every initiative, in or out
    assert text(app.table.value).count(" Out") + text(app.table.value).count(" In") >= len(st.result.plan)
    # the settings shown are the dashboard's defaults, in the page's own units
    assert app.gap.value == pytest.approx(st.gap * 100) and app.time_limit.value == st.time_limit


def test_changing_a_trait_resolves_and_updates_every_output(app):
    st = app.state
    before = snapshot(app)
    npv_before = st.result.components["npv"]
    st.auto_solve = True
    st.capital = {fy: -20.0 for fy in st.capital}  # a trait change alone re-solves
    assert not st.stale
    assert st.result.components["npv"] < npv_before
    after = snapshot(app)
    for key in ("headline", "roadmap", "spend", "staff", "table", "status"):
        assert after[key] != before[key], key
    # the budget the solver saw is the one drawn: 80% of the original capital in every year
    budgets = app.figures["spend"].data[0].y  # capital budget bars
    assert budgets[0] == pytest.approx(0.8 * before["spend"][0][0])


def test_slider_then_optimise_button(app):
    st = app.state
    npv_before = st.result.components["npv"]
    table_before = app.table.value
    app.capital_all.value = -0.2  # the "all years" slider, as a user drags it
    assert set(st.capital.values()) == {-20.0}
    assert all(s.value == pytest.approx(-0.2) for s in app.fy_sliders["capital"].values())
    assert st.stale and "press Optimise" in text(app.status.value)
    assert st.result.components["npv"] == npv_before  # nothing solved until the button is pressed
    app.optimise.click()
    assert not st.stale
    assert st.result.components["npv"] != npv_before
    assert money(st.result.components["npv"]) in text(app.headline.value)
    assert app.table.value != table_before
    assert [a.scale for a in st.solved_scenario.adjustments] == [0.8] * len(st.capital)


def test_first_plan_then_proof(app):
    """Optimise shows a plan solved in under a second at once (labelled with its gap), then the
    proven plan; the final result is exactly what the full solve of the scenario gives."""
    st = app.state
    assert st.quick_first and app.quick.value
    seen, statuses = [], []
    st.observe(lambda c: seen.append(c["new"]), names="result")
    st.observe(lambda c: statuses.append(app.status.value) if c["new"] else None, names="proving")
    st.capital = {fy: (0.0 if n == 0 else -10.0) for n, fy in enumerate(st.capital)}
    app.optimise.click()
    assert 1 <= len(seen) <= 2 and not st.proving and not st.busy
    final = seen[-1]
    assert final is st.result and final is st.run(st.build_scenario())  # the full solve's own (cached) result
    if len(seen) == 2:  # the quick solve stopped at its limit: its plan was shown, honestly labelled
        first = seen[0]
        assert first.status.value in ("feasible", "optimal") and first.has_plan
        assert statuses and "FIRST PLAN" in text(statuses[0]) and "Proving" in text(statuses[0])
        assert 0 < st.first_plan_seconds <= st.last_solve_seconds
    assert final.status.value == "optimal" and text(app.status.value).startswith("OPTIMAL")
    assert money(final.components["npv"]) in text(app.headline.value)
    assert roadmap_ids(app) == set(final.plan.index[final.plan.selected])


def test_force_out_removes_an_initiative_from_roadmap_and_table(app):
    st = app.state
    must = dict(zip(st.result.portfolio.ids, st.result.portfolio.must_select))  # mandatory, or in progress
    chosen = next(i for i in st.result.plan.index[st.result.plan.selected] if not must[i])
    assert chosen in roadmap_ids(app)
    tag = next(t for t in app.force_out.allowed_tags if t.startswith(chosen + " "))
    app.force_out.value = [tag]  # picked from the searchable list
    assert st.force_out == [chosen]
    app.optimise.click()
    assert chosen not in roadmap_ids(app)
    row = re.search(rf'<tr class="row-out" data-id="{re.escape(chosen)}">(.*?)</tr>', app.table.value)
    assert row and "forced out by the scenario" in row.group(1)


def test_pin_and_compare(app):
    st = app.state
    assert "Pin the current plan" in text(app.compare.value)
    app.pin_button.click()
    assert st.pinned is st.result and not app.unpin_button.disabled
    assert "same initiatives" in text(app.compare.value)
    must = dict(zip(st.result.portfolio.ids, st.result.portfolio.must_select))  # mandatory, or in progress
    chosen = next(i for i in st.result.plan.index[st.result.plan.selected] if not must[i])
    st.force_out = [chosen]
    app.optimise.click()
    panel = text(app.compare.value)
    assert "Dropped" in panel and chosen in panel
    assert "Net present value" in panel and "forced out: " + chosen in panel
    assert "vs A" in text(app.headline.value)  # headline cards show the change from A
    assert any(t.name == "Plan A spend" for t in app.figures["spend"].data)
    app.unpin_button.click()
    assert st.pinned is None and "Pin the current plan" in text(app.compare.value)


def test_infeasible_is_reported_honestly(app):
    st = app.state
    with st.hold_trait_notifications():
        st.capital = {fy: -50.0 for fy in st.capital}
        st.revenue = {fy: -50.0 for fy in st.revenue}
        st.external = False
    app.optimise.click()
    assert st.result.status.value == "infeasible"
    status = text(app.status.value)
    assert status.startswith("INFEASIBLE") and "no plan meets every rule" in status
    assert "No plan" in text(app.headline.value) or "no plan" in text(app.headline.value)
    assert app.download_report.disabled and app.pin_button.disabled


def test_status_sentences_are_honest_about_the_gap():
    class R:  # the fields status_sentence reads
        def __init__(self, status, gap, bound=None, objective=100.0, message=""):
            self.status = prioritiser.Status(status)
            self.gap, self.bound, self.objective, self.message = gap, bound, objective, message
            self.seconds, self.solver_version, self.solver = 1.2, "HiGHS 1.16.0", "highs"

    assert "proven best" in formatting.status_sentence(R("optimal", 0.0, 100.0))[1]
    assert "0.40%" in formatting.status_sentence(R("optimal", 0.004, 100.4))[1]
    feasible = formatting.status_sentence(R("feasible", 0.031, 103.1, message="time limit reached"))[1]
    assert "not proven best" in feasible and "3.1%" in feasible and "time limit" in feasible
    assert formatting.status_sentence(R("error", None, message="solver failed"))[1] == "No plan: solver failed."
    assert money(1234567.4) == "£1,234,567" and money(-5) == "-£5"
    assert money(2500, signed=True) == "+£2,500" and money(None) == "-"


def test_table_can_be_filtered_and_sorted(app):
    result = app.state.result
    rows = panels.initiative_rows(result)
    assert len(rows) == len(result.plan)
    out = panels.initiative_rows(result, show="Left out")
    assert (out["in_plan"] == "out").all() and len(out) == (~result.plan.selected).sum()
    by_value = panels.initiative_rows(result, show="In the plan", sort="Net value", ascending=False)
    assert list(by_value["value"]) == sorted(by_value["value"], reverse=True)
    by_start = panels.initiative_rows(result, sort="Start")
    starts = [s for s in by_start["start_index"] if s >= 0]
    assert starts == sorted(starts) and (by_start["start_index"].iloc[-1] < 0)  # left-out ones last
    cyber = panels.initiative_rows(result, query="CYB")
    assert len(cyber) > 0 and cyber["id"].str.contains("CYB").all()
    # the page's controls drive the same function
    app.table_query.value = "EPR-0"
    app.table_show.value = "Left out"
    shown = re.findall(r'data-id="([^"]+)"', app.table.value)
    assert shown and all(i.startswith("EPR-0") and not result.plan.at[i, "selected"] for i in shown)
    app.table_query.value = "no such initiative"
    assert "No initiative matches" in app.table.value


def _broken_workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "initiatives"
    ws.append(["id", "name", "duration", "capital_cost", "benefit"])
    ws.append(["A-1", "Alpha", "three", 1000, 50])
    ws.append(["A-1", "Alpha again", 2, -5, 10])
    buf = io.BytesIO()
    wb.save(buf)  # no capacity sheet at all
    return buf.getvalue()


def test_upload_of_a_broken_workbook_lists_readable_errors(app):
    st = app.state
    result_before, name_before = st.result, st.scenario_name
    issues = st.upload("trust.xlsx", _broken_workbook())
    errors = [i for i in issues if i.severity == "error"]
    assert len(errors) >= 3
    shown = text(app.issues.value)
    assert "problems to fix" in shown and "trust.xlsx" in shown
    assert "duration" in shown and "capacity" in shown.lower()
    assert "Traceback" not in app.issues.value and "Error:" not in shown
    assert len(re.findall(r"<li>", app.issues.value)) >= len(errors)
    assert st.result is result_before and st.scenario_name == name_before  # the page keeps its plan
    assert "was not loaded" in text(app.status.value)


def test_upload_of_something_that_is_not_a_workbook(app):
    issues = app.state.upload("budget.xlsx", b"this is not a zip archive")
    assert any("Excel workbook" in i.message for i in issues)
    assert "Excel workbook" in text(app.issues.value)
    issues = app.state.upload("notes.txt", b"hello")
    assert any(".xlsx" in i.message and ".zip" in i.message for i in issues)


def test_upload_of_a_zip_of_csvs_becomes_the_scenario(app):
    st = app.state
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted((SCENARIOS / "sample-trust").glob("*.csv")):
            zf.write(f, f"my-trust/{f.name}")
        zf.writestr("../evil.csv", "x")  # a name that tries to leave the folder is kept inside it
    issues = st.upload("my-trust.zip", buf.getvalue())
    assert not [i for i in issues if i.severity == "error"], issues
    assert st.scenario_name == "upload: my-trust" and "upload: my-trust" in app.scenario.options
    assert st.result.has_plan and st.base.portfolio.is_dir()
    assert not (st.base.portfolio.parent.parent / "evil.csv").exists()
    assert "my-trust.zip loaded" in text(app.status.value)
    assert roadmap_ids(app) == set(st.result.plan.index[st.result.plan.selected])


def test_workbook_download_is_a_valid_report(app):
    filename, data, mime = app.download_report.payload()
    assert filename.endswith(".xlsx") and "spreadsheetml" in mime
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert {"Summary", "Plan", "Spend by year"} <= set(wb.sheetnames)
    plan = wb["Plan"]
    assert plan.max_row - 3 == len(app.state.result.plan)  # title, note, header (issue 11), then one row each


def test_scenario_download_reproduces_the_plan_with_the_cli(app, tmp_path):
    st = app.state
    with st.hold_trait_notifications():
        st.capital = {fy: (-20.0 if n else 0.0) for n, fy in enumerate(st.capital)}
        st.staff = {**st.staff, "developer": 10.0}
        st.weights = {**st.weights, "in_year_revenue": 1.0}
        st.force_out = ["PORTAL-1"]
    app.optimise.click()
    assert st.result.has_plan
    filename, data, _ = app.download_yaml.payload()
    path = tmp_path / filename
    path.write_bytes(data)
    assert "extends" not in path.read_text()
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(st.result.objective, rel=1e-9, abs=1e-6)
    assert summary["components"]["npv"] == pytest.approx(st.result.components["npv"], rel=1e-9, abs=1e-6)


def test_stress_test_re_optimises_each_cut(app):
    st = app.state
    table = st.stress(cuts=(0, 20))
    assert list(table["cut_percent"]) == [0.0, 20.0]
    assert table.loc[0, "value_lost"] == 0
    tol = st.gap * abs(table.loc[0, "objective"]) + 1e-6  # both solved to the gap tolerance
    assert table.loc[1, "objective"] <= table.loc[0, "objective"] + tol
    assert list(app.figures["stress"].data[0].x) == ["no cut", "-20%"]
    assert "Starts later" in app.stress_table.value
    assert st.stress_progress == 1.0 and app.stress_bar.value == app.stress_bar.max
    # the uncut row is the plan on the page, solved again by the batch runner
    assert table.loc[0, "objective"] == pytest.approx(st.result.objective, rel=st.gap, abs=1e-6)


def test_stress_is_the_package_api_run_for_real(app, monkeypatch):
    """One stress path: the page shows what `prioritiser stress` computes for the current what-if."""
    from prioritiser import whatif

    real = whatif.stress
    assert prioritiser.stress is real  # the public API's function
    calls = []

    def spy(scenario, resource="capital", cuts=(5, 10, 20, 30), start=None, out=None, **options):
        calls.append((scenario, resource, list(cuts), start, out))
        assert open(scenario).read().startswith("name:")  # a self-contained scenario file
        calls.append(real(scenario, resource=resource, cuts=cuts, start=start, out=out, **options))
        return calls[-1]

    monkeypatch.setattr(whatif, "stress", spy)
    st = app.state
    st.force_out = ["PORTAL-1"]  # a what-if: the stress test is of it, not of the scenario as loaded
    table = st.stress(cuts=(0, 10))
    assert calls and calls[0][1] == "capital" and calls[0][2] == [10] and calls[0][3] == \
        app.state.base.horizon.fy_labels[1]
    assert list(table["cut_percent"]) == [0.0, 10.0] and table is calls[1].table
    assert "PORTAL-1" in open(calls[0][0]).read() and "forced out: PORTAL-1" in st.stress_label
    # each cut is the optimum of that cut solved on its own (to the gap tolerance)
    what_if = st.build_scenario()
    ten = Adjustment("capital", scale=0.9, start=what_if.horizon.second_fy_label)
    cut = what_if.replace(adjustments=[*what_if.adjustments, ten])
    alone = prioritiser.run(cut)
    assert table.loc[1, "objective"] == pytest.approx(alone.objective, rel=2 * st.gap, abs=1e-6)


def test_choosing_another_bundled_scenario_loads_and_solves_it():
    from prioritiser.dashboard import App

    app = App(scenarios={"baseline": BASELINE, "capital-cut-20": SCENARIOS / "capital-cut-20.yaml"})
    npv_baseline = app.state.result.components["npv"]
    app.scenario.value = "capital-cut-20"
    st = app.state
    assert st.base.name == "capital-cut-20" and st.result.scenario == "capital-cut-20"
    assert st.result.components["npv"] < npv_baseline
    assert set(st.capital.values()) == {0.0}  # its own cut is in the scenario, the page starts at +0%
    assert money(st.result.components["npv"]) in text(app.headline.value)
    assert "capital-cut-20" in st.scenario_yaml()[1]


def test_reset_returns_to_the_scenario(app):
    st = app.state
    result0 = st.result
    st.capital = {fy: -10.0 for fy in st.capital}
    st.force_in = ["EPR-04"]
    app.reset_button.click()
    assert set(st.capital.values()) == {0.0} and st.force_in == []
    assert st.result is result0  # the same inputs again: served from the cache, not re-solved
    assert app.capital_all.value == 0


def test_notebook_is_thin():
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "dashboard.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1
    lines = [ln for ln in code[0].splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(lines) <= 4 and "from prioritiser.dashboard import App" in code[0]


def test_serve_command_is_local_with_code_and_tracebacks_hidden():
    import argparse

    cmd = voila_command(9999)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=9999" in cmd
    assert "--strip_sources=True" in cmd and "--show_tracebacks=False" in cmd and "--no-browser" in cmd
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dashboard", "--port", "8123"])
    assert args.port == 8123 and callable(args.func)
    assert parser.parse_args(["dashboard"]).port == 8866
    assert BASELINE.exists()
