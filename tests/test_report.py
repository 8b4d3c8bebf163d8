"""report.xlsx as a board pack: human headers, £ formats on every money cell, print set-up, native
charts, conditional formatting, the figures a finance director reads (committed and milestone-gated
money apart, alignment as points, what a left-out initiative would cost), and how it prints."""
import re
import shutil
import subprocess

import numpy as np
import openpyxl
import pandas as pd
import pytest

import prioritiser
from prioritiser import figures
from prioritiser.report import console_summary, write_outputs
from prioritiser.xlsx import HEADER_ROW

SHEETS = ["Summary", "Plan", "Roadmap", "Benefits", "Cost by year", "Spend by year", "Staff", "Usage", "Explanations",
          "Warnings"]  # Benefits: issue 13; Explanations: issue 10
FIELD_NAMES = {"pv_benefit", "pv_revenue", "pv_cost", "go_live", "in_year_revenue", "financial_year", "selected",
               "reason", "external_cost", "capacity", "used", "resource"}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    result = prioritiser.run("scenarios/baseline.yaml")
    assert result.status.value == "optimal" and result.check.ok
    out = write_outputs(result, tmp_path_factory.mktemp("report") / "baseline")
    return result, out, openpyxl.load_workbook(out / "report.xlsx")


def headers(ws) -> dict[str, int]:
    return {str(c.value): c.column for c in ws[HEADER_ROW] if c.value is not None}


def data_rows(ws):
    return range(HEADER_ROW + 1, ws.max_row + 1)


def test_sheets_and_human_headers(baseline):
    _, _, book = baseline
    assert book.sheetnames == SHEETS
    for name in SHEETS[1:]:
        names = set(headers(book[name]))
        assert names and not names & FIELD_NAMES, (name, names & FIELD_NAMES)
        assert not [h for h in names if re.fullmatch(r"[a-z]+(_[a-z]+)+", h)], name  # no snake_case field names
    plan = headers(book["Plan"])
    for header in ("ID", "Initiative", "Category", "Mandatory", "In plan", "Capital (£)", "NPV (£)",
                   "Alignment (points)", "Why it is left out"):
        assert header in plan


def test_every_money_cell_has_a_pound_format(baseline):
    _, _, book = baseline
    checked = 0
    for name in ("Plan", "Cost by year", "Spend by year", "Usage"):
        ws = book[name]
        for header, col in headers(ws).items():
            if "(£)" not in header:
                continue
            for r in data_rows(ws):
                cell = ws.cell(r, col)
                if isinstance(cell.value, (int, float)):
                    assert "£" in cell.number_format and "#,##0" in cell.number_format, (name, header, r)
                    checked += 1
    usage = book["Usage"]
    h = headers(usage)
    for r in data_rows(usage):  # money resources' use and limits are £, staff's are FTE
        if usage.cell(r, h["Unit"]).value == "£":
            for col in ("Used", "Limit"):
                cell = usage.cell(r, h[col])
                assert cell.value is None or "£" in cell.number_format
                checked += 1
    summary = book["Summary"]
    for row in summary.iter_rows(min_row=1, max_row=summary.max_row):
        label = str(row[0].value or "")
        if label.startswith(("Net present value", "PV of", "In-year revenue", "Capital spend", "Revenue spend")):
            assert "£" in row[1].number_format, label
            checked += 1
    assert checked > 500


def test_objective_is_a_score_and_alignment_is_points(baseline):
    result, _, book = baseline
    ws = book["Summary"]
    cells = {str(r[0].value): r for r in ws.iter_rows() if r[0].value}
    assert not [k for k in cells if "Objective (£)" in k]
    total = cells["Objective (a score, not money)"][3]
    assert total.value == pytest.approx(result.objective, abs=0.01) and "£" not in total.number_format
    alignment = cells["Strategic alignment"][1]
    assert alignment.value == pytest.approx(result.components["alignment"]) and "points" in alignment.number_format
    npv = cells["Net present value (NPV)"][1]
    assert npv.value == pytest.approx(result.components["npv"], abs=0.01)
    # the terms add up to the objective; alignment counts at its weight, in points
    terms = figures.objective_terms(result)
    assert terms["contribution"].sum() == pytest.approx(result.objective, rel=1e-9)
    assert terms.set_index("term").loc["Strategic alignment", "unit"] == "points"
    text = console_summary(result)
    # the sample trust's own figures (its data changes with the issues; the form of the line does not)
    npv, points = result.components["npv"], result.components["alignment"]
    assert f"Objective: {result.objective:,.0f} = NPV £{npv:,.0f} + {points:,.1f} alignment points x 10,000" in text
    assert result.objective == pytest.approx(npv + 10_000 * points, rel=1e-9)
    assert "Objective: £" not in text


def test_committed_and_gated_money_apart(baseline):
    result, _, book = baseline
    spend = figures.spend_by_year(result).set_index(["resource", "financial_year"])
    # the sample trust's central digital fund (£2m, on EPR-01's go-live) lands in 2028/29 in this plan
    assert result.starts["EPR-01"] is not None
    assert spend.loc[("capital", "2028/29"), "budget"] == pytest.approx(8_000_000)
    assert spend.loc[("capital", "2028/29"), "gated"] == pytest.approx(2_000_000)
    assert spend.loc[("capital", "2028/29"), "spend"] > 8_000_000  # the plan spends money it unlocks
    # unconditional funding (the charity's £150,000) is committed money, not gated
    assert spend.loc[("revenue", "2027/28"), "budget"] == pytest.approx(3_600_000 + 150_000)
    assert spend.loc[("revenue", "2027/28"), "gated"] == 0
    ws = book["Spend by year"]
    h = headers(ws)
    rows = {(ws.cell(r, h["Money"]).value, ws.cell(r, h["Financial year"]).value): r for r in data_rows(ws)}
    r = rows[("capital", "2028/29")]
    assert ws.cell(r, h["Committed budget (£)"]).value == pytest.approx(8_000_000)
    assert ws.cell(r, h["Milestone-gated funding landed (£)"]).value == pytest.approx(2_000_000)
    assert "+ gated" in console_summary(result)
    # the usage table's limits still include landed funding (the model's right-hand sides)
    u = result.usage
    year = u[(u.resource == "capital") & (u.period == "2028/29")]
    assert year["capacity"].item() == pytest.approx(10_000_000)


def test_plan_sheet_shows_what_left_out_initiatives_would_cost(baseline):
    result, out, book = baseline
    ws = book["Plan"]
    h = headers(ws)
    plan = pd.read_csv(out / "plan.csv", keep_default_na=False).set_index("id")
    ini = result.portfolio.initiatives
    seen_out = 0
    for r in data_rows(ws):
        i = ws.cell(r, h["ID"]).value
        in_plan = ws.cell(r, h["In plan"]).value
        assert in_plan == ("Yes" if plan.at[i, "selected"] in (True, "True") else "No")
        assert ws.cell(r, h["Mandatory"]).value == ("Yes" if ini.at[i, "mandatory"] else "No")
        assert ws.cell(r, h["Category"]).value == ini.at[i, "category"]
        reason = ws.cell(r, h["Why it is left out"])
        assert (reason.value or "") == plan.at[i, "reason"]  # in full
        assert reason.alignment.wrap_text
        if in_plan == "No" and ws.cell(r, h["Start (best start if left out)"]).value:
            seen_out += 1
            capital = ws.cell(r, h["Capital (£)"]).value
            start = result.portfolio.horizon.index(ws.cell(r, h["Start (best start if left out)"]).value)
            d = int(ini.at[i, "duration"])
            inside = (min(20, start + d) - start) / d  # capital is spread evenly over the build
            assert capital == pytest.approx(ini.at[i, "capital_cost"] * inside, abs=0.01), i  # not £0
            assert ws.cell(r, h["PV costs (£)"]).value > 0, i
    assert seen_out >= 15
    # in-plan rows carry exactly the plan's own figures
    fig = figures.initiative_figures(result)
    sel = result.plan[result.plan["selected"]]
    assert np.allclose(fig.loc[sel.index, "pv_cost"], sel["pv_cost"])
    assert np.allclose(fig.loc[sel.index, "pv_benefit"], sel["pv_benefit"])


def test_cost_by_year_adds_up_to_spend_by_year(baseline):
    result, _, book = baseline
    table = figures.money_by_year(result)
    spend = figures.spend_by_year(result).set_index(["resource", "financial_year"])["spend"]
    for (resource, fy), total in table.sum().items():
        assert total == pytest.approx(spend[(resource, fy)], rel=1e-9), (resource, fy)
    ws = book["Cost by year"]
    h = headers(ws)
    last = ws.max_row
    assert ws.cell(last, 1).value == "Total"
    assert ws.cell(last, h["Capital 2028/29 (£)"]).value == pytest.approx(spend[("capital", "2028/29")], abs=0.01)
    ids = {ws.cell(r, 1).value for r in range(HEADER_ROW + 1, last)}
    assert ids == set(result.plan.index[result.plan["selected"]]) | {"External staff"}


def test_print_setup_filters_and_frozen_headers(baseline):
    _, _, book = baseline
    for name in SHEETS:
        ws = book[name]
        assert ws.page_setup.orientation == "landscape", name
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1, name
        if name == "Summary":
            assert ws.page_setup.fitToHeight == 1
            continue
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{HEADER_ROW}:"), name
        assert ws.freeze_panes and int(re.sub(r"\D", "", ws.freeze_panes)) == HEADER_ROW + 1, name
        assert ws.print_title_rows.replace("$", "") == f"{HEADER_ROW}:{HEADER_ROW}", name


def test_native_chart_and_colour_scale(baseline):
    _, _, book = baseline
    charts = book["Spend by year"]._charts
    assert len(charts) == 2  # capital and revenue
    for chart in charts:
        kinds = {type(c).__name__ for c in [chart, *chart._charts]}
        assert {"BarChart", "LineChart"} <= kinds
        assert len(chart.series) == 1 and sum(len(c.series) for c in chart._charts) == 3
    staff = book["Staff"]
    rules = [rule for cf in staff.conditional_formatting for rule in cf.rules]
    assert any(rule.type == "colorScale" for rule in rules)
    ranges = [str(cf.sqref) for cf in staff.conditional_formatting]
    assert any(r.startswith(f"B{HEADER_ROW + 1}:") for r in ranges)


def test_roadmap_fills_build_and_live_periods(baseline):
    result, _, book = baseline
    ws = book["Roadmap"]
    h = headers(ws)
    first = h["2026/27 Q1"]
    plan = result.plan
    for r in data_rows(ws):
        i = ws.cell(r, 1).value
        s, g = int(plan.at[i, "start_index"]), int(plan.at[i, "go_live_index"])
        fills = [ws.cell(r, first + t).fill.fgColor.rgb[-6:] if ws.cell(r, first + t).fill.fill_type else None
                 for t in range(20)]
        assert all(f is None for f in fills[:s]), i
        assert all(f == "005EB8" for f in fills[s:min(g, 20)]), i
        assert all(f == "A9D18E" for f in fills[g:]), i


def _pdf_pages(path) -> int:
    data = path.read_bytes()
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_summary_prints_on_one_page_with_libreoffice(baseline, tmp_path):
    _, out, _ = baseline
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}"  # its own profile: parallel-safe
    pages = {}
    for name in ("Summary", "Spend by year", "Plan"):
        book = openpyxl.load_workbook(out / "report.xlsx")
        for other in [s for s in book.sheetnames if s != name]:
            book.remove(book[other])
        path = tmp_path / f"{name.replace(' ', '-')}.xlsx"
        book.save(path)
        subprocess.run(["soffice", profile, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                        str(path)], check=True, capture_output=True, timeout=180)
        pages[name] = _pdf_pages(path.with_suffix(".pdf"))
    assert pages["Summary"] == 1, pages
    assert pages["Spend by year"] == 1, pages  # the table and both charts
    assert 1 <= pages["Plan"] <= 3, pages  # 49 initiatives, one page wide
