"""Scenario files: `extends` chains, unknown keys, defaults, relative paths and capacity adjustments.

Adjustments are checked value by value against capacities computed by hand in the comments.
"""
from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
import yaml

import prioritiser
from prioritiser import InputError, load_scenario

INITIATIVES = """\
id,duration,capital_cost,revenue_cost
A,2,100,10
B,1,50,0
"""
# 8 quarters, 2026/27 Q1 (index 0) .. 2027/28 Q4 (index 7). Capital: one year row for 2026/27
# (indices 0-3) and one row per quarter of 2027/28 (indices 4-7).
CAPACITY = """\
resource,period,amount
capital,2026/27,1000
capital,2027/28 Q1,100
capital,2027/28 Q2,100
capital,2027/28 Q3,100
capital,2027/28 Q4,100
revenue,2026/27,500
revenue,2027/28,600
"""
FUNDING = """\
source,resource,period,amount,milestone
year-fund,capital,2026/27,200,
quarter-fund,capital,2027/28 Q2,50,A
"""
HORIZON = {"start": "2026/27 Q1", "periods": 8}


def write_portfolio(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "initiatives.csv").write_text(INITIATIVES)
    (folder / "capacity.csv").write_text(CAPACITY)
    (folder / "funding.csv").write_text(FUNDING)
    return folder


def write_yaml(path: Path, doc: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(doc) if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def base(tmp_path) -> Path:
    """tmp/base.yaml over tmp/trust/."""
    write_portfolio(tmp_path / "trust")
    return write_yaml(tmp_path / "base.yaml", {"portfolio": "trust", "horizon": HORIZON})


def one_error(path: Path, column: str) -> prioritiser.Issue:
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    found = [i for i in caught.value.errors if i.column == column]
    assert len(found) == 1, "\n".join(map(str, caught.value.issues))
    return found[0]


# ---------------------------------------------------------------- extends


def test_extends_merges_mappings_and_replaces_lists(tmp_path, base):
    write_yaml(base, {
        "portfolio": "trust", "horizon": HORIZON,
        "objective": {"discount_rate": 0.05, "weights": {"benefit": 2, "cost": 3},
                      "alignment_weights": {"trust": 0.5, "ldr": 0.5}},
        "force_in": ["A", "B"],
        "solver": {"name": "cbc", "time_limit": 10},
    })
    child = write_yaml(tmp_path / "child.yaml", {
        "extends": "base.yaml",
        "objective": {"weights": {"benefit": 5}, "alignment_weights": {"stp": 1}},
        "force_in": ["B"],
        "solver": {"gap": 0.01},
    })
    s = load_scenario(child)
    assert s.settings.discount_rate == 0.05  # from the base
    assert s.settings.weights == {"benefit": 5.0, "revenue": 1.0, "in_year_revenue": 0.0, "alignment": 0.0,
                                  "cost": 3.0}  # merged key by key, defaults under both
    assert s.settings.alignment_weights == {"trust": 0.5, "ldr": 0.5, "stp": 1.0}  # mappings merge
    assert s.settings.force_in == ["B"]  # lists replace
    assert (s.solver.name, s.solver.time_limit, s.solver.gap) == ("cbc", 10.0, 0.01)
    assert s.name == "child"  # a name is not inherited
    assert [f.name for f in s.files] == ["child.yaml", "base.yaml"]


def test_extends_empty_mapping_keeps_the_base(tmp_path, base):
    write_yaml(base, {"portfolio": "trust", "horizon": HORIZON, "objective": {"discount_rate": 0.1}})
    child = write_yaml(tmp_path / "child.yaml", "extends: base.yaml\nobjective:\n")
    assert load_scenario(child).settings.discount_rate == 0.1


def test_extends_chain_of_depth_three(tmp_path):
    write_portfolio(tmp_path / "trust")
    write_yaml(tmp_path / "grand.yaml", {"name": "grand", "portfolio": "trust", "horizon": HORIZON,
                                         "objective": {"discount_rate": 0.02}, "force_out": ["B"]})
    write_yaml(tmp_path / "parent.yaml", {"extends": "grand.yaml", "horizon": {"periods": 6},
                                          "objective": {"weights": {"revenue": 0}}})
    child = write_yaml(tmp_path / "child.yaml", {"extends": "parent.yaml", "external": False,
                                                 "objective": {"weights": {"cost": 2}}})
    s = load_scenario(child)
    assert s.horizon.start == "2026/27 Q1" and s.horizon.T == 6  # horizon merged over two levels
    assert s.settings.discount_rate == 0.02
    assert s.settings.weights["revenue"] == 0.0 and s.settings.weights["cost"] == 2.0
    assert s.settings.force_out == ["B"]
    assert s.settings.external is False
    assert s.name == "child"
    assert [f.name for f in s.files] == ["child.yaml", "parent.yaml", "grand.yaml"]
    # the merged scenario written out stands alone and loads to the same settings
    flat = write_yaml(tmp_path / "flat" / "flat.yaml", s.to_yaml())
    again = load_scenario(flat)
    assert again.settings == s.settings and again.horizon == s.horizon and again.portfolio == s.portfolio


def test_extends_cycle_is_rejected_and_named(tmp_path):
    write_yaml(tmp_path / "a.yaml", {"extends": "b.yaml", "horizon": HORIZON, "portfolio": "trust"})
    write_yaml(tmp_path / "b.yaml", {"extends": "c.yaml"})
    write_yaml(tmp_path / "c.yaml", {"extends": "a.yaml"})
    issue = one_error(tmp_path / "a.yaml", "extends")
    assert "a.yaml -> b.yaml -> c.yaml -> a.yaml" in issue.message
    assert Path(issue.where).name == "c.yaml"  # the file whose `extends` closes the loop
    # and a file that extends itself
    write_yaml(tmp_path / "self.yaml", {"extends": "self.yaml"})
    assert "self.yaml -> self.yaml" in one_error(tmp_path / "self.yaml", "extends").message
    # validate reports it as an issue, never raises
    assert any("cycle" in i.message for i in prioritiser.validate(tmp_path / "a.yaml"))


def test_extends_missing_file_is_named_by_the_file_that_extends(tmp_path, base):
    child = write_yaml(tmp_path / "child.yaml", {"extends": "basline.yaml"})
    issue = one_error(child, "extends")
    assert Path(issue.where).name == "child.yaml" and "basline.yaml" in issue.message and "not found" in issue.message


# ---------------------------------------------------------------- unknown keys and where errors point


@pytest.mark.parametrize("doc, column, suggestion", [
    ({"horizn": HORIZON}, "horizn", "did you mean 'horizon'?"),
    ({"objective": {"wieghts": {"benefit": 1}}}, "objective.wieghts", "did you mean 'objective.weights'?"),
    ({"objective": {"weights": {"benefits": 1}}}, "objective.weights.benefits",
     "did you mean 'objective.weights.benefit'?"),
    ({"solver": {"time_limt": 5}}, "solver.time_limt",
     "did you mean 'solver.time_limit'?"),
    ({"horizon": {**HORIZON, "granularty": "month"}}, "horizon.granularty", "did you mean 'horizon.granularity'?"),
    ({"adjustments": [{"resource": "capital", "scal": 0.9}]}, "adjustments[0].scal", "did you mean 'scale'?"),
    ({"zzz": 1}, "zzz", "valid keys: name, description, extends, portfolio, horizon"),
])
def test_unknown_keys_are_rejected_with_a_suggestion(tmp_path, base, doc, column, suggestion):
    path = write_yaml(tmp_path / "child.yaml", {"extends": "base.yaml", **doc})
    issue = one_error(path, column)
    assert Path(issue.where).name == "child.yaml"
    assert issue.message.startswith("unknown key") and suggestion in issue.message
    assert f"child.yaml, key {column}: unknown key" in str(issue)


def test_errors_name_the_file_that_holds_the_bad_value(tmp_path, base):
    # the bad values sit in the base; the user runs the child
    write_yaml(base, {"portfolio": "trust", "horizon": {**HORIZON, "granularity": "fortnight"},
                      "objective": {"discount_rate": "3.5%", "weights": {"cost": "one"}}, "bogus": 1})
    child = write_yaml(tmp_path / "child.yaml", {"extends": "base.yaml", "solver": {"gap": -1}})
    with pytest.raises(InputError) as caught:
        load_scenario(child)
    places = {(Path(i.where).name, i.column) for i in caught.value.errors}
    assert places == {("base.yaml", "bogus"), ("base.yaml", "horizon.granularity"),
                      ("base.yaml", "objective.discount_rate"), ("base.yaml", "objective.weights.cost"),
                      ("child.yaml", "solver.gap")}
    gap = next(i for i in caught.value.errors if i.column == "solver.gap")
    assert "must be at least 0" in gap.message


@pytest.mark.parametrize("doc, column, phrase", [
    ({"horizon": {"start": "2026/27 Q1"}}, "horizon.periods", "required"),
    ({"horizon": {"periods": 8}}, "horizon.start", "required"),
    ({"horizon": {**HORIZON, "periods": 0}}, "horizon.periods", "at least 1"),
    ({"horizon": {**HORIZON, "periods": 2.5}}, "horizon.periods", "whole number"),
    ({"horizon": {"start": "2026-04", "periods": 8}}, "horizon.start", "not a quarter label"),
    ({"objective": {"discount_rate": -0.1}}, "objective.discount_rate", "at least 0"),
    ({"external": "maybe"}, "external", "true or false"),
    ({"solver": {"name": "gurobi"}}, "solver.name", "highs, cbc"),
    ({"force_in": [["A"]]}, "force_in", "list of initiative ids"),
    ({"adjustments": [{"resource": "capital", "scale": 0.9, "add": 1}]}, "adjustments[0]", "exactly one of"),
    ({"adjustments": [{"resource": "capital", "scale": -1}]}, "adjustments[0].scale", "at least 0"),
    ({"adjustments": [{"resource": "capital", "add": 5, "from": "2027/28 Q3", "to": "2027/28 Q1"}]},
     "adjustments[0]", "after"),
    ({"adjustments": [{"resource": "capital", "add": 5, "to": "Q3"}]}, "adjustments[0].to", "not a quarter"),
])
def test_bad_values(tmp_path, doc, column, phrase):
    write_portfolio(tmp_path / "trust")
    path = write_yaml(tmp_path / "s.yaml", {"portfolio": "trust", "horizon": HORIZON, **doc})
    issue = one_error(path, column)
    assert phrase in issue.message and Path(issue.where).name == "s.yaml"


# ---------------------------------------------------------------- defaults and paths


def test_defaults(tmp_path, base):
    s = load_scenario(base)
    assert s.name == "base"
    assert s.horizon.granularity.value == "quarter"
    assert s.settings.discount_rate == 0.035
    assert s.settings.weights == {"benefit": 1.0, "revenue": 1.0, "in_year_revenue": 0.0, "alignment": 0.0,
                                  "cost": 1.0}
    assert s.settings.alignment_weights == {}
    assert s.settings.external is True
    assert s.settings.force_in == [] and s.settings.force_out == []
    assert (s.solver.name, s.solver.time_limit, s.solver.gap) == ("highs", 60.0, 0.001)
    assert s.adjustments == []


def test_portfolio_is_relative_to_the_file_that_names_it(tmp_path):
    write_portfolio(tmp_path / "data" / "trust")
    write_portfolio(tmp_path / "scenarios" / "other")
    write_yaml(tmp_path / "shared" / "base.yaml", {"portfolio": "../data/trust", "horizon": HORIZON})
    child = write_yaml(tmp_path / "scenarios" / "child.yaml", {"extends": "../shared/base.yaml"})
    assert load_scenario(child).portfolio == (tmp_path / "data" / "trust").resolve()
    own = write_yaml(tmp_path / "scenarios" / "own.yaml", {"extends": "../shared/base.yaml", "portfolio": "other"})
    assert load_scenario(own).portfolio == (tmp_path / "scenarios" / "other").resolve()
    # and it loads from anywhere (the current folder does not matter)
    assert list(prioritiser.load(child).ids) == ["A", "B"]


# ---------------------------------------------------------------- adjustments, value by value


def capacities(path: Path, resource: str = "capital") -> dict[str, float]:
    p = prioritiser.load(path)
    rows = p.capacity[p.capacity["resource"] == resource]
    return dict(zip(rows["period"], rows["amount"]))


def fundings(path: Path) -> dict[str, float]:
    p = prioritiser.load(path)
    return dict(zip(p.funding["source"], p.funding["amount"]))


def with_adjustments(tmp_path: Path, *adjustments: dict) -> Path:
    return write_yaml(tmp_path / "adj.yaml", {"extends": "base.yaml", "adjustments": list(adjustments)})


UNCHANGED = {"2026/27": 1000, "2027/28 Q1": 100, "2027/28 Q2": 100, "2027/28 Q3": 100, "2027/28 Q4": 100}


def test_no_adjustment(base):
    assert capacities(base) == UNCHANGED
    assert capacities(base, "revenue") == {"2026/27": 500, "2027/28": 600}
    assert fundings(base) == {"year-fund": 200, "quarter-fund": 50}
    p = prioritiser.load(base)
    assert list(p.capacity.columns[:4]) == ["resource", "period", "periods", "amount"]
    assert p.capacity.loc[0, "periods"] == (0, 1, 2, 3)


def test_scale_with_from_only(tmp_path, base):
    path = with_adjustments(tmp_path, {"resource": "capital", "scale": 0.5, "from": "2027/28 Q2"})
    # 2027/28 Q2..Q4 halve; Q1 and the 2026/27 year row lie before `from`
    assert capacities(path) == {**UNCHANGED, "2027/28 Q2": 50, "2027/28 Q3": 50, "2027/28 Q4": 50}
    # funding landing on a scaled row is scaled too (50 -> 25); the year-fund's row is untouched
    assert fundings(path) == {"year-fund": 200, "quarter-fund": 25}
    assert capacities(path, "revenue") == {"2026/27": 500, "2027/28": 600}  # other resources untouched


def test_add_with_from_and_to(tmp_path, base):
    path = with_adjustments(tmp_path, {"resource": "capital", "add": 10, "from": "2026/27 Q3", "to": "2027/28 Q2"})
    # the 2026/27 year row covers Q1-Q4 of 2026/27, not all inside Q3 .. : untouched
    assert capacities(path) == {**UNCHANGED, "2027/28 Q1": 110, "2027/28 Q2": 110}
    assert fundings(path) == {"year-fund": 200, "quarter-fund": 50}  # `add` leaves funding alone


def test_two_adjustments_apply_in_order(tmp_path, base):
    scale_then_add = with_adjustments(tmp_path, {"resource": "capital", "scale": 2, "from": "2027/28 Q1"},
                                      {"resource": "capital", "add": 5, "from": "2027/28 Q4"})
    assert capacities(scale_then_add) == {"2026/27": 1000, "2027/28 Q1": 200, "2027/28 Q2": 200,
                                          "2027/28 Q3": 200, "2027/28 Q4": 205}
    add_then_scale = with_adjustments(tmp_path, {"resource": "capital", "add": 5, "from": "2027/28 Q4"},
                                      {"resource": "capital", "scale": 2, "from": "2027/28 Q1"})
    assert capacities(add_then_scale)["2027/28 Q4"] == 210
    assert fundings(add_then_scale)["quarter-fund"] == 100


@pytest.mark.parametrize("bounds, year_row", [
    ({}, 500),  # open both ends: every row
    ({"from": "2026/27 Q1"}, 500),  # all of the year lies from Q1 on
    ({"from": "2026/27 Q2"}, 1000),  # Q1 of the year lies before `from`
    ({"from": "2026/27"}, 500),  # a year label starts at its first period
    ({"to": "2026/27 Q3"}, 1000),  # Q4 lies after `to`
    ({"to": "2026/27"}, 500),  # a year label ends at its last period
    ({"to": "2026/27 Q4"}, 500),
    ({"from": "2026/27 Q1", "to": "2026/27 Q4"}, 500),
])
def test_year_row_adjusted_only_when_all_its_periods_are_in_range(tmp_path, base, bounds, year_row):
    path = with_adjustments(tmp_path, {"resource": "capital", "scale": 0.5, **bounds})
    caps = capacities(path)
    assert caps["2026/27"] == year_row
    assert fundings(path)["year-fund"] == (100 if year_row == 500 else 200)


def test_adjustment_problems_against_the_portfolio(tmp_path, base):
    path = with_adjustments(tmp_path, {"resource": "captial", "scale": 0.9},
                            {"resource": "revenue", "add": -550, "from": "2027/28"})
    issues = prioritiser.validate(path)
    errors = [i for i in issues if i.severity == "error"]
    assert {(Path(i.where).name, i.column) for i in errors} == {("adj.yaml", "adjustments[0].resource")}
    assert "'captial' is not defined" in errors[0].message
    # fixed name: revenue 2027/28 would be 600 - 550 = 50 (fine); now take 650 off
    path = with_adjustments(tmp_path, {"resource": "revenue", "add": -650, "from": "2027/28"})
    errors = [i for i in prioritiser.validate(path) if i.severity == "error"]
    assert len(errors) == 1 and errors[0].column == "adjustments[0].add"
    assert "revenue in 2027/28 at -50" in errors[0].message and "cannot be negative" in errors[0].message
    # an adjustment that touches nothing is only a warning
    path = with_adjustments(tmp_path, {"resource": "revenue", "scale": 2, "from": "2027/28 Q2"})
    issues = prioritiser.validate(path)
    assert [(i.severity, i.column) for i in issues] == [("warning", "adjustments[0]")]
    assert "changes no capacity row" in issues[0].message


# ---------------------------------------------------------------- YAML syntax errors in plain words (issue 11)


@pytest.mark.parametrize("text, line, phrase", [
    ("portfolio: trust\nhorizon:\n\tstart: 2026/27 Q1\n\tperiods: 8\n", 3, "indented with a tab"),
    ("portfolio: trust\nhorizon:\n  start: 2026/27 Q1\n    periods: 8\n", 4, "indented more than the line above"),
    ("portfolio: trust\nhorizon:\n    start: 2026/27 Q1\n  periods: 8\n", 4, "indented differently"),
    ("portfolio: trust\n  horizon: {start: 2026/27 Q1, periods: 8}\n", 2, "indented more than the line above"),
    ("portfolio: trust\nhorizon\n  start: 2026/27 Q1\n  periods: 8\n", 2, "no ':' after its key"),
    ("portfolio: trust\nhorizon:\n  start 2026/27 Q1\n  periods: 8\n", 3, "no ':' after its key"),
    ("portfolio:trust\nhorizon: {start: 2026/27 Q1, periods: 8}\n", 1, "needs a space after the ':'"),
    ('portfolio: trust\nhorizon:\n  start: "2026/27 Q1\n  periods: 8\n', 3, "quote opened on this line is never closed"),
    ("portfolio: 'trust\nhorizon: {start: 2026/27 Q1, periods: 8}\n", 1, "quote opened on this line is never closed"),
    ("portfolio: trust\nforce_in: [A, B\nhorizon: {start: 2026/27 Q1, periods: 8}\n", 2,
     "the '[' opened on this line is not closed by ']'"),
    ("portfolio: trust\nhorizon: {start: 2026/27 Q1, periods: 8\n", 2, "the '{' opened on this line is not closed"),
    ("portfolio: trust\ndescription: Capital: cut by 10%\n", 2, "put the whole value in quotes"),
    ('portfolio: "C:\\data\\trust"\n', 1, "a backslash"),
])
def test_yaml_errors_are_one_plain_sentence_with_the_line(tmp_path, text, line, phrase):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    issues = prioritiser.validate(path)
    assert len(issues) == 1, "\n".join(map(str, issues))
    (issue,) = issues
    assert (Path(issue.where).name, issue.row, issue.column) == ("s.yaml", line, None)
    assert phrase in issue.message
    for pyyaml in ("mapping values are not allowed", "could not find expected", "while scanning", "<block end>"):
        assert pyyaml not in issue.message
    assert f"s.yaml, line {line}: " in str(issue)


def test_yaml_error_in_an_extended_file_names_that_file(tmp_path, base):
    base.write_text("portfolio: trust\nhorizon:\n  start: 2026/27 Q1\n   periods: 8\n")
    child = write_yaml(tmp_path / "child.yaml", {"extends": "base.yaml"})
    (issue,) = prioritiser.validate(child)
    assert (Path(issue.where).name, issue.row) == ("base.yaml", 4)
    assert "indented more than the line above" in issue.message


def test_scenario_defaults_come_from_the_schema():
    from prioritiser.scenario import Settings, SolverOptions
    from prioritiser.schema import SCENARIO

    settings, solver = Settings(), SolverOptions()
    assert settings.discount_rate == SCENARIO["objective"]["discount_rate"].default
    assert settings.weights == {k: key.default for k, key in SCENARIO["objective"]["weights"].items()}
    assert settings.external is SCENARIO["external"].default
    assert (solver.name, solver.time_limit, solver.gap) == tuple(SCENARIO["solver"][k].default
                                                                 for k in ("name", "time_limit", "gap"))


@pytest.mark.parametrize("key, value, says", [
    ("targets", 5, "must be a list like [{measure: cash_releasing_savings"),
    ("adjustments", "capital", "must be a list"),
])
def test_a_list_section_given_as_a_single_value_is_named(tmp_path, key, value, says):
    write_portfolio(tmp_path / "trust")
    path = write_yaml(tmp_path / "s.yaml", {"portfolio": "trust", "horizon": HORIZON, key: value})
    assert one_error(path, key).message.startswith(says)
