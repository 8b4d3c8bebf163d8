"""Opportunity costs and marginal values (issue 10 items 2 and 3) against independent truths.

The truth for an opportunity cost is two optimal solves (gap 0) that share nothing with
`prioritiser explain` but the engine: the scenario as written, and the scenario with the decision
reversed in its own files (force_in / force_out in the YAML, a mandatory flag cleared in the CSV),
both solved cold. The truth for a marginal value is the same with the limit raised in the capacity
CSV itself.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

import prioritiser
from portfolios import random_case
from prioritiser.reversals import EXPLAIN_COLUMNS, MARGINAL_COLUMNS, explain, parse_steps

CASES = 20  # random portfolios with a plan, each with its decisions checked


def reference(case, folder, *, force_in=(), force_out=(), not_mandatory=(), capacity=None):
    """A cold, gap-0 solve of the case with its own files edited."""
    tables = dict(case.tables)
    if not_mandatory:
        ini = tables["initiatives"].copy()
        ini.loc[ini["id"].isin(not_mandatory), "mandatory"] = "false"
        tables["initiatives"] = ini
    if capacity is not None:
        tables["capacity"] = capacity
    scenario = dict(case.scenario)
    scenario["force_in"] = [i for i in scenario.get("force_in", []) if i not in force_out] + list(force_in)
    scenario["force_out"] = [i for i in scenario.get("force_out", []) if i not in force_in] + list(force_out)
    path = type(case)(case.seed, tables, scenario).write(folder)
    return prioritiser.run(path, warm_start=False)


def reversal_reference(case, folder, base, iid):
    mandatory = case.tables["initiatives"].set_index("id").at[iid, "mandatory"] == "true"
    if base.starts[iid] is None:
        return reference(case, folder, force_in=[iid])
    return reference(case, folder, force_out=[iid], not_mandatory=[iid] if mandatory else ())


def chosen_ids(base) -> list[str]:
    """A selected initiative, one left out that may be put in, and every mandatory one."""
    p = base.portfolio
    sel = [i for i, s in base.starts.items() if s is not None and not p.must_select[p.ids.get_loc(i)]]
    out = [i for i, s in base.starts.items() if s is None and i not in p.settings.force_out]
    must = [i for i in p.ids[p.initiatives["mandatory"].to_numpy(bool)]]
    return list(dict.fromkeys(sel[:1] + out[:1] + must[:1]))


def test_opportunity_costs_equal_two_independent_optimal_solves(tmp_path):
    checked, seed, decisions = 0, 1000, 0
    while checked < CASES:
        seed += 1
        case = random_case(seed, gap=0.0, initiatives=(8, 16))
        folder = tmp_path / f"case-{seed}"
        try:
            base = prioritiser.run(case.write(folder / "base"), warm_start=False)
        except prioritiser.InputError:  # a must-have that fits at no start: no case for this test
            continue
        if base.status != "optimal":
            continue
        ids = chosen_ids(base)
        found = explain(folder / "base" / "scenario.yaml", ids=ids, out=folder / "explain", workers=2)
        table = found.table.set_index("id")
        compared = decisions
        assert list(found.table.columns[:len(EXPLAIN_COLUMNS)]) == EXPLAIN_COLUMNS
        assert found.base.objective == pytest.approx(base.objective, rel=1e-9, abs=1e-6)
        for iid in ids:
            row = table.loc[iid]
            assert row["selected"] == (base.starts[iid] is not None)
            try:
                truth = reversal_reference(case, folder / f"reverse-{iid}", base, iid)
            except prioritiser.InputError as exc:  # forced in, it fits at no start: validation says so
                assert "fits at no start" in str(exc)
                assert row["reversed_status"] == "infeasible" and np.isnan(row["reversed_objective"])
                continue
            assert row["reversed_status"] == truth.status.value, (seed, iid, truth.message)
            if not truth.has_plan:
                assert np.isnan(row["opportunity_cost"]) and row["changes"].startswith("no plan")
                continue
            tol = 1e-6 * max(1.0, abs(base.objective))
            assert row["reversed_objective"] == pytest.approx(truth.objective, abs=tol), (seed, iid)
            assert row["opportunity_cost"] == pytest.approx(base.objective - truth.objective, abs=2 * tol)
            must = base.portfolio.must_select[base.portfolio.ids.get_loc(iid)]
            if must:  # what the mandate costs: without it the best plan keeps it or not, whichever is better
                assert row["mandate_cost"] == pytest.approx(max(0.0, -row["opportunity_cost"]), abs=2 * tol)
            else:
                assert row["opportunity_cost"] >= -tol, (seed, iid)
            decisions += 1
        checked += decisions > compared  # a portfolio counts once one of its opportunity costs met its truth
    assert decisions >= CASES


def test_explain_writes_its_folder_and_the_report(tmp_path):
    import openpyxl

    case = random_case(7, gap=0.0, initiatives=(10, 12))
    path = case.write(tmp_path / "case")
    found = explain(path, out=tmp_path / "explain", workers=2)
    table = pd.read_csv(tmp_path / "explain" / "explain.csv", keep_default_na=False, na_values=[""])
    assert list(table["id"]) == list(found.base.portfolio.ids)
    assert (tmp_path / "explain" / "summary.json").exists()
    book = openpyxl.load_workbook(tmp_path / "explain" / "report.xlsx")
    rows = list(book["Explanations"].iter_rows(min_row=4, values_only=True))
    costs = {r[1]: r[4] for r in rows if r[0] in ("Left out", "In the plan", "In (mandatory)")}
    for r in table.itertuples():
        if r.opportunity_cost == r.opportunity_cost:
            assert costs[r.id] == pytest.approx(r.opportunity_cost, abs=0.01)
    assert "opportunity costs" in found.text.lower() and "processor time" in found.text


def test_marginal_gains_match_a_direct_resolve_with_the_limit_raised(tmp_path):
    checked, seed = 0, 2000
    while checked < 4:
        seed += 1
        case = random_case(seed, gap=0.0, initiatives=(8, 14))
        folder = tmp_path / f"case-{seed}"
        try:
            base = prioritiser.run(case.write(folder / "base"), warm_start=False)
        except prioritiser.InputError:
            continue
        if base.status != "optimal" or not base.usage["binding"].any():
            continue
        found = explain(folder / "base" / "scenario.yaml", limits=True, step="money=5000,staff=0.5",
                        out=folder / "explain", workers=2)
        table = found.table
        assert list(table.columns[:len(MARGINAL_COLUMNS)]) == MARGINAL_COLUMNS
        assert len(table) == base.usage["binding"].sum() - base.usage[base.usage["binding"]].duplicated(
            ["resource", "period"]).sum()
        assert (table["objective_gain"].diff().dropna() <= 1e-9).all()  # ranked
        for k, r in enumerate(table.itertuples()):
            cap = case.tables["capacity"].copy()
            hit = (cap["resource"] == r.resource) & (cap["period"] == r.period)
            assert hit.any()
            cap.loc[hit, "amount"] = cap.loc[hit, "amount"].astype(float) + r.step
            truth = reference(case, folder / f"raise-{k}", capacity=cap)
            tol = 1e-6 * max(1.0, abs(base.objective))
            assert truth.has_plan and r.status == "optimal"
            assert r.objective_gain == pytest.approx(truth.objective - base.objective, abs=2 * tol), (seed, r)
            assert r.objective_gain >= 0 and r.gain_per_unit == pytest.approx(r.objective_gain / r.step)
        checked += 1


def test_step_parsing():
    assert parse_steps(None) == {"money": 100_000.0, "staff": 1.0}
    assert parse_steps("250000") == {"money": 250_000.0, "staff": 1.0}
    assert parse_steps("money=50000,staff=0.5,developer=2") == {"money": 50_000.0, "staff": 0.5, "developer": 2.0}
    with pytest.raises(ValueError, match="not a number"):
        parse_steps("money=lots")
    with pytest.raises(ValueError, match="above zero"):
        parse_steps("staff=0")


def test_marginal_on_the_sample_trust_cli(tmp_path):
    """The sample trust's binding limits (usage.csv's marks) each get a row, gains >= 0, with the LP dual."""
    from pathlib import Path

    from prioritiser import cli

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "explain"
    assert cli.main(["explain", str(root / "scenarios" / "baseline.yaml"), "--limits", "--out", str(out),
                     "--quiet"]) == 0
    table = pd.read_csv(out / "marginal.csv")
    usage = prioritiser.run(root / "scenarios" / "baseline.yaml").usage
    binding = usage[usage["binding"]]
    assert set(zip(table["resource"], table["period"])) == set(zip(binding["resource"], binding["period"]))
    assert len(table) >= 3 and (table["objective_gain"] >= 0).all()  # the sample trust binds 3 limits
    assert table["lp_dual"].notna().all() and (table["lp_dual"] >= 0).all()
    assert set(table["status"]) <= {"optimal", "feasible"}
