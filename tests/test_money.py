"""The money rules (issue 13 items 1-3): cash-releasing benefits and targets, the benefits realisation
schedule, optimism bias and the Green Book appraisal. Every figure is computed by hand below."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import prioritiser
from known import SOLVERS, solve_checked, write_case
from prioritiser.check import check_plan
from prioritiser.heuristic import rank_and_place
from prioritiser.model import build_model
from prioritiser.report import console_summary, write_outputs
from prioritiser.result import Status
from prioritiser.scenario import OptimismBias, Target, read_scenario

UPLIFTS = {"default": {"capital": 0.54, "duration": 0.2}, "infrastructure": {"capital": 0.24, "duration": 0.1},
           "cyber": {"capital": 0.1}}
UPLIFT_CASE = {
    "initiatives": """
        id,duration,capital_cost,category,optimism_bias_capital,optimism_bias_duration,status
        OWN,10,1000,it,0.25,0.1,proposed
        CAT,4,1000,infrastructure,,,proposed
        DEF,3,1000,clinical,,,proposed
        CYB,5,1000,cyber,,,proposed
        FLY,2,1000,clinical,,,in_progress
    """,
    "capacity": """
        resource,period,amount
        capital,2026/27,100000
    """,
}


def uplift_case(tmp_path, bias: dict | None):
    scenario = {"horizon": {"periods": 12}}
    if bias is not None:
        scenario["optimism_bias"] = bias
    return write_case(tmp_path, UPLIFT_CASE, scenario)


def test_uplifted_costs_and_durations_by_hand(tmp_path):
    """Own uplift beats the category's, the category's the default's, a key the category leaves out comes
    from default; durations round up (10 x 1.1 is 11 periods, not 12); work in flight uplifts what remains."""
    p = prioritiser.load(uplift_case(tmp_path, {"apply": True, "by_category": UPLIFTS}))
    ini = p.initiatives
    assert ini["capital_cost"].to_dict() == pytest.approx(
        {"OWN": 1250.0, "CAT": 1240.0, "DEF": 1540.0, "CYB": 1100.0, "FLY": 1540.0})
    assert ini["duration"].to_dict() == {"OWN": 11, "CAT": 5, "DEF": 4, "CYB": 6, "FLY": 3}
    assert ini["capital_cost_given"].tolist() == [1000.0] * 5 and ini["duration_given"].tolist() == [10, 4, 3, 5, 2]
    r = solve_checked(uplift_case(tmp_path, {"apply": True, "by_category": UPLIFTS}), "highs")
    plan = r.plan
    assert plan["capital_cost_uplifted"].to_dict() == pytest.approx(ini["capital_cost"].to_dict())
    assert plan.loc["FLY", "start"] == "2026/27 Q1" and plan.loc["FLY", "go_live"] == "2026/27 Q4"  # 3 periods


def test_built_in_uplifts_are_the_green_books_upper_bounds(tmp_path):
    """Without by_category: equipment/development upper bounds, +200% capital and +54% duration."""
    ini = prioritiser.load(uplift_case(tmp_path, {"apply": True})).initiatives
    assert ini.loc["DEF", "capital_cost"] == pytest.approx(3000.0) and ini.loc["DEF", "duration"] == 5  # ceil(4.62)
    assert ini.loc["OWN", "capital_cost"] == pytest.approx(1250.0) and ini.loc["OWN", "duration"] == 11
    off = prioritiser.load(uplift_case(tmp_path, {"apply": False, "by_category": UPLIFTS})).initiatives
    assert off["capital_cost"].tolist() == [1000.0] * 5 and off["duration"].tolist() == [10, 4, 3, 5, 2]


def test_the_checker_recomputes_the_uplift_itself(tmp_path):
    """A portfolio planned on figures the uplift does not give fails the independent check."""
    p = prioritiser.load(uplift_case(tmp_path, {"apply": True, "by_category": UPLIFTS}))
    plan = {"FLY": 0, "DEF": 0}
    assert check_plan(p, plan).ok
    raw = dataclasses.replace(p, initiatives=p.initiatives.assign(duration=p.initiatives["duration_given"]))
    violations = check_plan(raw, plan).violations
    assert any(v.startswith("DEF: planned with capital £1,540.00 over 3 period(s), but its figures with optimism "
                            "bias are £1,540.00 over 4 period(s)") for v in violations), violations


# ------------------------------------------------------------------------------------ Green Book

GREEN_BOOK = {
    "initiatives": """
        id,duration,latest_finish,capital_cost,running_cost,benefit,revenue,optimism_bias_capital,optimism_bias_duration,cash_releasing
        A,1,2027/28,100,5,80,10,0.5,0.5,0.25
        Z,1,,0,0,10,0,0,0,0
    """,
    "capacity": """
        resource,period,amount
        capital,2026/27,1000
    """,
}


def green_book_case(tmp_path, apply: bool):
    return write_case(tmp_path, GREEN_BOOK, {"horizon": {"start": "2026/27", "periods": 3, "granularity": "year"},
                                             "objective": {"discount_rate": 0.1}, "force_in": ["A"],
                                             "optimism_bias": {"apply": apply}})


def test_npsv_and_bcr_by_hand_with_and_without_optimism_bias(tmp_path):
    """Three years at 10%: df = 1, 1/1.1, 1/1.21. With optimism bias A costs 150 over 2 years (it must finish
    building by 2027/28, so it starts in 2026/27) and earns in 2028/29 only; without it, 100 in 2026/27 and
    earnings in 2027/28 and 2028/29. Z costs nothing: its BCR is blank."""
    r = solve_checked(green_book_case(tmp_path, True), "highs")
    assert r.starts == {"A": 0, "Z": 0}
    plan, g = r.plan, r.green_book
    a_costs, a_benefits = 75 + 75 / 1.1 + 5 / 1.21, 90 / 1.21
    a0_costs, a0_benefits = 100 + 5 / 1.1 + 5 / 1.21, 90 / 1.1 + 90 / 1.21
    z_benefits = 10 / 1.1 + 10 / 1.21
    assert plan.loc["A", "pv_cost"] == pytest.approx(a_costs)
    assert plan.loc["A", "npsv"] == pytest.approx(a_benefits - a_costs)  # -72.93
    assert plan.loc["A", "bcr"] == pytest.approx(a_benefits / a_costs)  # 0.505
    assert plan.loc["A", "pv_cost_without_ob"] == pytest.approx(a0_costs)
    assert plan.loc["A", "npsv_without_ob"] == pytest.approx(a0_benefits - a0_costs)  # 47.52
    assert plan.loc["A", "bcr_without_ob"] == pytest.approx(a0_benefits / a0_costs)  # 1.437
    assert plan.loc["A", "capital_cost_uplifted"] == 150 and plan.loc["A", "duration_uplifted"] == 2
    assert plan.loc["Z", "npsv"] == pytest.approx(z_benefits) and np.isnan(plan.loc["Z", "bcr"])
    assert g["optimism_bias"] is True
    assert g["pv_costs"] == pytest.approx(a_costs) and g["pv_benefits"] == pytest.approx(a_benefits + z_benefits)
    assert g["npsv"] == pytest.approx(a_benefits + z_benefits - a_costs) == pytest.approx(r.components["npv"])
    assert g["bcr"] == pytest.approx((a_benefits + z_benefits) / a_costs)
    off = g["without_optimism_bias"]
    assert off["npsv"] == pytest.approx(a0_benefits + z_benefits - a0_costs)
    assert off["bcr"] == pytest.approx((a0_benefits + z_benefits) / a0_costs)
    text = console_summary(r)
    assert "Green Book with optimism bias: PV costs £147, PV benefits £92, NPSV -£56, BCR 0.62" in text, text
    assert "without optimism bias (same starts): PV costs £109, PV benefits £174, NPSV £65, BCR 1.60" in text, text
    out = write_outputs(r, tmp_path / "out")
    csv = pd.read_csv(out / "plan.csv").set_index("id")
    assert csv.loc["A", "bcr_without_ob"] == pytest.approx(a0_benefits / a0_costs)
    assert json.loads((out / "summary.json").read_text())["green_book"]["without_optimism_bias"]["bcr"] == \
        pytest.approx(off["bcr"])


def test_without_optimism_bias_the_appraisal_has_one_set_of_figures(tmp_path):
    r = solve_checked(green_book_case(tmp_path, False), "highs")
    assert r.starts == {"A": 0, "Z": 0}
    g = r.green_book
    assert g["optimism_bias"] is False and "without_optimism_bias" not in g
    assert g["bcr"] == pytest.approx((90 / 1.1 + 90 / 1.21 + 10 / 1.1 + 10 / 1.21) / (100 + 5 / 1.1 + 5 / 1.21))
    assert "capital_cost_uplifted" not in r.plan.columns


# ------------------------------------------------------------------------------------ targets

TARGETS = {
    "initiatives": """
        id,duration,capital_cost,benefit,revenue,cash_releasing
        X,1,100,100,0,0
        Y,1,100,60,0,1
        R,1,100,0,40,0
    """,
    "capacity": """
        resource,period,amount
        capital,2026/27,100
    """,
}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("measure, chosen, objective", [("cash_releasing_savings", "Y", 80.0),
                                                        ("in_year_revenue", "R", 20.0)])
def test_a_target_that_binds_changes_the_plan(tmp_path, solver, measure, chosen, objective):
    """Room for one: X earns most (300 - 100) but releases no cash and brings no revenue. A target of 50 in
    2026/27 makes Y (cash-releasing) or R (revenue) the plan, started at once (started later it would
    still meet it, but earn less)."""
    free = solve_checked(write_case(tmp_path / "free", TARGETS), solver)
    assert free.starts == {"X": 0, "Y": None, "R": None} and free.objective == pytest.approx(200.0)
    target = {"measure": measure, "financial_year": "2026/27", "at_least": 50}
    r = solve_checked(write_case(tmp_path / "bound", TARGETS, {"targets": [target]}), solver)
    assert r.status is Status.OPTIMAL
    assert {k for k, s in r.starts.items() if s is not None} == {chosen} and r.starts[chosen] == 0
    assert r.objective == pytest.approx(objective)
    reached = {"Y": 180.0, "R": 120.0}[chosen]
    assert r.targets.to_dict(orient="records") == [{"measure": measure, "financial_year": "2026/27", "at_least": 50.0,
                                                    "achieved": pytest.approx(reached),
                                                    "headroom": pytest.approx(reached - 50)}]
    report = check_plan(r.portfolio, free.starts)  # the untargeted plan misses the target
    assert report.violations == [f"target {measure} 2026/27: the plan reaches £0.00, below at least £50.00 "
                                 "(short by £50.00)"]
    assert report.targets["achieved"].tolist() == [0.0]


def test_rank_and_place_meets_a_target_it_would_miss(tmp_path):
    """Ranked by value X comes first and fills the capital; the target makes rank-and-place take Y instead."""
    p = prioritiser.load(write_case(tmp_path, TARGETS, {"targets": [
        {"measure": "cash_releasing_savings", "financial_year": "2026/27", "at_least": 50}]}))
    model = build_model(p)
    x = rank_and_place(model)
    assert x is not None
    starts = {p.ids[model.col_init[c]]: int(model.col_start[c]) for c in np.flatnonzero(x[:model.n_x] > 0.5)}
    assert "Y" in starts and check_plan(p, starts).ok


def test_rank_and_place_covers_a_target_per_unit_of_limits(tmp_path):
    """Cash of 200 in 2026/27 needs V1 and V2 (120 each, capital 100 each): U adds most (150) but takes
    all 200 of the capital; covering the need per unit of the limits used, rank-and-place takes V1 and V2."""
    tables = {"initiatives": "id,duration,capital_cost,benefit,cash_releasing\nU,1,200,50,1\nV1,1,100,40,1\n"
                             "V2,1,100,40,1", "capacity": "resource,period,amount\ncapital,2026/27,200"}
    path = write_case(tmp_path, tables, {"targets": [
        {"measure": "cash_releasing_savings", "financial_year": "2026/27", "at_least": 200}]})
    p = prioritiser.load(path)
    model = build_model(p)
    x = rank_and_place(model)
    assert x is not None
    starts = {p.ids[model.col_init[c]]: int(model.col_start[c]) for c in np.flatnonzero(x[:model.n_x] > 0.5)}
    assert starts == {"V1": 0, "V2": 0} and check_plan(p, starts).ok


def test_rank_and_place_says_when_it_cannot_meet_a_target():
    """The sample trust's cost-improvement targets are beyond rank-and-place (it reaches about £2.2m of
    the £2.4m in 2027/28); it reports no plan, the engine says so, and the solver's plan meets them."""
    path = Path(__file__).resolve().parents[1] / "scenarios" / "cip-targets.yaml"
    p = prioritiser.load(path)
    assert rank_and_place(build_model(p)) is None
    r = solve_checked(path, "highs")
    assert r.has_plan and (r.targets["headroom"] >= 0).all()
    assert "rank-and-place found no plan meeting every target" in r.message


def test_an_unreachable_target_is_an_input_error_naming_year_and_shortfall(tmp_path):
    """Even with every initiative selected at once, cash-releasing savings in 2026/27 are at most 180."""
    path = write_case(tmp_path, TARGETS, {"targets": [
        {"measure": "cash_releasing_savings", "financial_year": "2026/27", "at_least": 1000}]})
    issues = prioritiser.validate(path)
    assert [(i.severity, Path(i.where).name, i.column, i.message) for i in issues] == [
        ("error", "case.yaml", "targets[0].at_least", "cash_releasing_savings in 2026/27 cannot reach £1,000: with "
         "every initiative selected and live as early as it may be, it would be £180, short by £820")]


def test_a_target_the_limits_put_out_of_reach_is_diagnosed(tmp_path):
    """Two cash-releasing initiatives could release 360 in 2026/27, but the capital pays for one: at most
    180, so a target of 250 is 70 short. Lowered by the shortfall, the scenario has a plan."""
    tables = {"initiatives": "id,duration,capital_cost,benefit,cash_releasing\nY1,1,100,60,1\nY2,1,100,60,1",
              "capacity": TARGETS["capacity"]}
    target = {"measure": "cash_releasing_savings", "financial_year": "2026/27", "at_least": 250}
    r = prioritiser.run(write_case(tmp_path / "short", tables, {"targets": [target]}))
    assert r.status is Status.INFEASIBLE
    target_item = {"kind": "limit", "resource": "cash_releasing_savings", "period": "2026/27", "shortfall": 70.0,
                   "initiatives": [], "rule": "target",
                   "text": "cash_releasing_savings target 2026/27: at most £180 can be reached within every "
                           "limit and rule, short of £250 by £70"}
    assert target_item in r.diagnosis  # with issue 10's least fix beside it: £100 more capital lets both in
    assert [d["resource"] for d in r.diagnosis if d is not target_item and d != target_item] == ["capital"]
    assert target_item["text"] in console_summary(r)
    assert r.summary()["diagnosis"] == r.diagnosis
    fixed = solve_checked(write_case(tmp_path / "fixed", tables, {"targets": [{**target, "at_least": 180}]}), "highs")
    assert fixed.status is Status.OPTIMAL


# ------------------------------------------------------------------------------------ benefits.csv

BENEFITS = {
    "initiatives": """
        id,duration,capital_cost,benefit,revenue,ramp,cash_releasing
        A,1,100,200,30,1,0.4
        B,2,50,100,0,0,1
        C,1,10,50,20,2,0
    """,
    "capacity": """
        resource,period,amount
        capital,2026/27,1000
    """,
}


def test_benefits_csv_discounted_is_the_objectives_benefit_components(tmp_path):
    """Yearly periods: each financial year is one period, so benefits.csv's rows discounted at df(year)
    are exactly the objective's PV benefit and PV revenue, its first year's revenue is the in-year revenue,
    and its cash-releasing column summed over a year is what the target reaches."""
    path = write_case(tmp_path, BENEFITS, {
        "horizon": {"start": "2026/27", "periods": 4, "granularity": "year"},
        "objective": {"discount_rate": 0.035, "weights": {"in_year_revenue": 1.0}},
        "targets": [{"measure": "cash_releasing_savings", "financial_year": "2027/28", "at_least": 1}]})
    r = solve_checked(path, "highs")
    out = write_outputs(r, tmp_path / "out")
    benefits = pd.read_csv(out / "benefits.csv")
    summary = json.loads((out / "summary.json").read_text())
    plan = pd.read_csv(out / "plan.csv").set_index("id")
    years = ["2026/27", "2027/28", "2028/29", "2029/30"]
    assert list(benefits.columns) == ["id", "financial_year", "benefit", "cash_releasing", "non_cash_releasing",
                                      "revenue"]
    assert sorted(set(benefits["id"])) == sorted(plan.index[plan["selected"]]) == ["A", "B", "C"]
    assert benefits.groupby("id")["financial_year"].apply(list).tolist() == [years] * 3
    df = benefits["financial_year"].map({y: 1.035 ** -k for k, y in enumerate(years)})
    for col, component in (("benefit", "pv_benefit"), ("revenue", "pv_revenue")):
        per = (benefits[col] * df).groupby(benefits["id"]).sum()
        assert per.to_dict() == pytest.approx(plan.loc[per.index, component].to_dict())
        assert per.sum() == pytest.approx(summary["components"][component])
    first = benefits[benefits["financial_year"] == years[0]]
    assert first["revenue"].sum() == pytest.approx(summary["components"]["in_year_revenue"])
    assert (benefits["cash_releasing"] + benefits["non_cash_releasing"]).tolist() == pytest.approx(
        benefits["benefit"].tolist())
    # by hand: A starts 2026/27, live from 2027/28 at 1/2 then full: 100, 200, 200 of benefit, 40% cash
    a = benefits[benefits["id"] == "A"].set_index("financial_year")
    assert a["benefit"].tolist() == pytest.approx([0, 100, 200, 200])
    assert a["cash_releasing"].tolist() == pytest.approx([0, 40, 80, 80])
    cash = benefits.loc[benefits["financial_year"] == "2027/28", "cash_releasing"].sum()
    assert summary["targets"][0]["achieved"] == pytest.approx(cash)


def test_benefits_csv_undiscounted_sums_are_the_components_at_a_zero_rate(tmp_path):
    """Quarters at a 0% rate: the per-year rows (several periods each) sum to the PV components, and the
    first year's revenue is the in-year revenue."""
    path = write_case(tmp_path, BENEFITS, {"horizon": {"periods": 10}, "objective": {"discount_rate": 0.0}})
    r = solve_checked(path, "highs")
    benefits = pd.read_csv(write_outputs(r, tmp_path / "out") / "benefits.csv")
    assert set(benefits["financial_year"]) == {"2026/27", "2027/28", "2028/29"}
    sums = benefits.groupby("id")[["benefit", "revenue"]].sum()
    sel = r.plan[r.plan["selected"]]
    assert sums["benefit"].to_dict() == pytest.approx(sel["pv_benefit"].to_dict())
    assert sums["revenue"].to_dict() == pytest.approx(sel["pv_revenue"].to_dict())
    assert benefits.loc[benefits["financial_year"] == "2026/27", "revenue"].sum() == \
        pytest.approx(r.components["in_year_revenue"])


def test_the_board_pack_has_a_benefits_sheet(tmp_path):
    from openpyxl import load_workbook

    path = write_case(tmp_path, BENEFITS, {"horizon": {"start": "2026/27", "periods": 4, "granularity": "year"},
                                           "optimism_bias": {"apply": True}})
    r = solve_checked(path, "highs")
    book = load_workbook(write_outputs(r, tmp_path / "out") / "report.xlsx")
    assert book.sheetnames.index("Benefits") == book.sheetnames.index("Roadmap") + 1
    rows = [row for row in book["Benefits"].iter_rows(values_only=True)]
    header = rows.index(("ID", "Initiative", "Financial year", "Benefit (£)", "Cash-releasing (£)",
                         "Non-cash-releasing (£)", "New revenue (£)"))
    body = [row for row in rows[header + 1:] if row[0] != "Total"]
    totals = [row for row in rows[header + 1:] if row[0] == "Total"]
    assert len(body) == 4 * int(r.plan["selected"].sum()) and len(totals) == 4
    assert sum(row[4] for row in totals) == pytest.approx(sum(row[4] for row in body))
    summary = [row[0] for row in book["Summary"].iter_rows(values_only=True)]
    assert "Green Book appraisal (£, present values) with optimism bias" in summary
    assert "Benefit-cost ratio (BCR)" in summary


# ------------------------------------------------------------------------------------ input


def test_bad_money_input_names_file_row_and_column(tmp_path):
    tables = {**TARGETS, "initiatives": TARGETS["initiatives"].replace("X,1,100,100,0,0", "X,1,100,100,0,1.5")}
    path = write_case(tmp_path, tables, {
        "targets": [{"measure": "savings", "financial_year": "2031/32", "at_least": -5},
                    {"measure": "in_year_revenue", "financial_year": "2026/27"},
                    {"measure": "in_year_revenue", "financial_year": "2026/27", "at_least": 1},
                    {"measure": "in_year_revenue", "financial_year": "2026/27", "at_least": 2}],
        "optimism_bias": {"apply": "yes", "by_category": {"it": {"capital": -1, "speed": 2}, "none": 0.5}}})
    found = {(Path(i.where).name, i.row, i.column): i.message for i in prioritiser.validate(path) if i.severity == "error"}
    assert found[("case.yaml", None, "targets[0].measure")].startswith("must be one of cash_releasing_savings, "
                                                                       "in_year_revenue")
    assert found[("case.yaml", None, "targets[0].financial_year")] == "2031/32 is outside the horizon (2026/27 .. 2026/27)"
    assert found[("case.yaml", None, "targets[0].at_least")] == "must be at least 0, got -5"
    assert found[("case.yaml", None, "targets[1].at_least")].startswith("required")
    assert found[("case.yaml", None, "targets[3]")].startswith("a second in_year_revenue target for 2026/27")
    assert found[("case.yaml", None, "optimism_bias.apply")] == "must be true or false, got 'yes'"
    assert found[("case.yaml", None, "optimism_bias.by_category.it.capital")] == "must be at least 0, got -1"
    assert "unknown key" in found[("case.yaml", None, "optimism_bias.by_category.it.speed")]
    assert "must be a mapping" in found[("case.yaml", None, "optimism_bias.by_category.none")]
    assert found[("initiatives.csv", 2, "cash_releasing")].startswith("1.5")


def test_targets_and_optimism_bias_survive_editing_and_saving(tmp_path):
    """What the dashboard does: Scenario.replace, written as YAML and read back, is the same scenario."""
    scenario, _ = read_scenario(write_case(tmp_path, TARGETS))
    edited = scenario.replace(targets=[Target("cash_releasing_savings", "2026/27", 50.0)],
                              optimism_bias=OptimismBias(True, {"default": {"capital": 0.3}}))
    again = tmp_path / "again.yaml"
    again.write_text(edited.to_yaml())
    back, issues = read_scenario(again)
    assert not [i for i in issues if i.severity == "error"]
    assert back.settings.targets == edited.settings.targets
    assert back.settings.optimism_bias == edited.settings.optimism_bias
    assert yaml.safe_load(edited.to_yaml())["optimism_bias"] == {"apply": True, "by_category": {"default": {"capital": 0.3}}}


def test_a_target_out_of_reach_in_a_re_plan_is_diagnosed_once(tmp_path):
    """With an approved plan the re-plan's elastic diagnosis names the target (not as a dependency), once."""
    tables = {"initiatives": "id,duration,capital_cost,benefit,cash_releasing\nY1,1,100,60,1\nY2,1,100,60,1",
              "capacity": TARGETS["capacity"]}
    (tmp_path / "approved.csv").write_text("id,start\nY1,2026/27 Q1\n")
    path = write_case(tmp_path, tables, {"approved_plan": "approved.csv", "targets": [
        {"measure": "cash_releasing_savings", "financial_year": "2026/27", "at_least": 250}]})
    r = prioritiser.run(path)
    assert r.status is Status.INFEASIBLE
    targets = [item for item in r.diagnosis if item.get("rule") == "target"]
    assert len(targets) == 1 and targets[0]["resource"] == "cash_releasing_savings"
    assert targets[0]["period"] == "2026/27" and targets[0]["shortfall"] == pytest.approx(70.0)
    assert all(item.get("rule") != "dependency" for item in r.diagnosis)
