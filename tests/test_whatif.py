"""compare, stress and frontier: the comparative questions, checked against single runs."""
from pathlib import Path

import pandas as pd
import pytest
import yaml

import prioritiser
from conftest import run_cli
from known import KNAPSACK, YEARLY, write_case
from prioritiser.report import write_outputs
from prioritiser.whatif import compare, frontier, stress

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"



def test_compare_names_added_dropped_and_moved(tmp_path):
    # A: capital 100 -> A + C (115); B: capital 50 -> B alone (60); the finish_to_start case moves
    a = prioritiser.run(write_case(tmp_path / "a", KNAPSACK, YEARLY, name="full"))
    b = prioritiser.run(write_case(tmp_path / "b", KNAPSACK, {**YEARLY, "adjustments": [
        {"resource": "capital", "scale": 0.5}]}, name="halved"))
    write_outputs(a, tmp_path / "out-a")
    write_outputs(b, tmp_path / "out-b")
    for left, right in ((tmp_path / "out-a", tmp_path / "out-b"), (a, b)):
        c = compare(left, right)
        assert dict(c.changes["change"]) == {"A": "dropped", "B": "added", "C": "dropped"}
        assert c.metrics.loc["objective", "change"] == pytest.approx(60 - 115)
        assert c.metrics.loc["capital spend 2026/27", "b"] == pytest.approx(50)
        assert "Dropped (2): A (was 2026/27), C (was 2026/27)" in c.text
        assert "Added (1): B (2026/27)" in c.text
    proc = run_cli("compare", str(tmp_path / "out-a"),
                           str(tmp_path / "out-b"), "--out", str(tmp_path / "changes.csv"))
    assert proc.returncode == 0 and "-£55" in proc.stdout
    assert set(pd.read_csv(tmp_path / "changes.csv")["initiative"]) == {"A", "B", "C"}


def test_compare_reports_moves_in_periods(tmp_path):
    tables = {"initiatives": "id,duration,benefit,capital_cost\nA,1,30,40\nB,1,40,40",
              "capacity": "resource,period,amount\ncapital,2026/27 Q1,40\ncapital,2026/27 Q2,40\n"
                          "capital,2026/27 Q3,40\ncapital,2026/27 Q4,40"}
    a = prioritiser.run(write_case(tmp_path / "a", tables))
    b = prioritiser.run(write_case(tmp_path / "b", tables, {"force_out": ["B"]}))
    c = compare(a, b)
    # A: B took Q1, so A started Q2; with B out, A moves to Q1 (one period earlier)
    assert c.changes.loc["A", "change"] == "moved"
    assert c.changes.loc["A", "periods_moved"] == -1
    assert c.changes.loc["B", "change"] == "dropped"


@pytest.fixture(scope="module")
def stressed(tmp_path_factory):
    return stress(BASELINE, resource="capital", cuts=[10, 20, 30], out=tmp_path_factory.mktemp("stress"), workers=2)


def test_stress_value_never_rises_as_the_cut_deepens(stressed):
    table = stressed.table
    assert list(table["cut_percent"]) == [0, 10, 20, 30]
    assert (table["status"] == "optimal").all()
    # optimal within the 0.1% gap: a deeper cut may only appear to gain by the tolerance
    objective = table["objective"].to_numpy()
    tolerance = 0.001 * abs(objective[0])
    assert all(objective[k + 1] <= objective[k] + tolerance for k in range(len(objective) - 1))
    assert table["value_lost"].iloc[-1] > 0
    assert (stressed.batch.out / "stress.csv").exists()


def test_stress_dropped_lists_agree_with_single_runs(stressed, tmp_path):
    base = prioritiser.run(BASELINE)
    in_base = {i for i, s in base.starts.items() if s is not None}
    for cut in (10, 30):
        path = tmp_path / f"cut{cut}.yaml"
        path.write_text(yaml.safe_dump({"name": f"cut{cut}", "extends": str(BASELINE),
                                        "adjustments": [{"resource": "capital", "scale": 1 - cut / 100,
                                                         "from": "2027/28"}]}))
        single = prioritiser.run(path)
        row = stressed.table.set_index("cut_percent").loc[cut]
        assert row["objective"] == pytest.approx(single.objective, rel=1e-9)
        dropped = {i for i in in_base if single.starts[i] is None}
        assert set(filter(None, row["dropped"].split(";"))) == dropped
    # the order initiatives go in: each listed at the first cut that drops it
    order = stressed.order.set_index("initiative")["dropped_at_cut_percent"]
    for cut, dropped in zip(stressed.table["cut_percent"], stressed.table["dropped"]):
        for i in filter(None, dropped.split(";")):
            assert order[i] <= cut


def test_frontier_is_monotone_and_charted(tmp_path):
    scenario = write_case(tmp_path / "k", KNAPSACK, YEARLY, name="knap")
    result = frontier(scenario, resource="capital", low=0.4, high=1.6, steps=7, out=tmp_path / "out")
    table = result.table
    assert list(table["scale"]) == pytest.approx([0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6])
    # budgets 40..160: best values re-optimised at each level (hand-checked: C; A; A; A+C; A+B; A+B; A+B+C)
    assert list(table["objective"]) == pytest.approx([45, 70, 70, 115, 130, 130, 175])
    assert table["objective"].is_monotonic_increasing
    assert table["gain_per_unit_from_previous_level"].iloc[1] == pytest.approx((70 - 45) / 20)  # renamed (issue 11)
    assert result.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = run_cli("frontier", str(scenario), "--from", "0.5",
                           "--to", "1.0", "--steps", "2", "--out", str(tmp_path / "cli"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cli" / "frontier.png").exists()


def test_a_frontier_of_no_levels_is_refused_with_a_message_not_a_traceback(tmp_path):
    scenario = write_case(tmp_path / "k", KNAPSACK, YEARLY, name="knap")
    for bad in (["--steps", "0"], ["--lowest", "-0.5"]):
        proc = run_cli("frontier", str(scenario), *bad, "--out", str(tmp_path / "none"), "--quiet")
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.startswith("ERROR: a frontier needs at least one level"), proc.stderr
        assert "Traceback" not in proc.stderr and not (tmp_path / "none").exists()


def test_a_what_if_of_an_unknown_resource_or_an_impossible_cut_is_refused_before_anything_is_solved(tmp_path):
    scenario = write_case(tmp_path / "k", KNAPSACK, YEARLY, name="knap")
    refusals = [(["stress", "--resource", "nosuch"], "--resource 'nosuch' has no limits in the capacity table; it has: capital"),
                (["frontier", "--resource", "nosuch"], "--resource 'nosuch' has no limits"),
                (["stress", "--cuts", "10,150"], "--cuts are percentages from 0 to 100 (got 10, 150)"),
                (["stress", "--cuts", "-5"], "--cuts are percentages from 0 to 100"),
                (["stress", "--cuts", "10,abc"], "--cuts: 'abc' is not a number")]
    for (command, *options), message in refusals:
        proc = run_cli(command, str(scenario), *options, "--out", str(tmp_path / "none"), "--quiet")
        assert proc.returncode == 1 and proc.stderr.startswith(f"ERROR: {message}"), (command, options, proc.stderr)
        assert not (tmp_path / "none").exists()


def test_stress_cli_prints_the_order(tmp_path):
    scenario = write_case(tmp_path / "k", KNAPSACK, {"horizon": {"start": "2026/27", "periods": 3,
                                                                    "granularity": "year"}}, name="knap3")
    proc = run_cli("stress", str(scenario), "--cuts", "50",
                           "--from", "2026/27", "--out", str(tmp_path / "s"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "cut 50%: loses £160" in proc.stdout  # A+C (200+130) -> B (2 x 110 - 50)
    assert "drops A, C" in proc.stdout


SWAP = {
    # X and Y are alternatives (excludes); uncut, X (value 2 x 300 - 100) beats Y (2 x 200 - 50); at half the
    # capital only Y fits. Z (capital 10) stays in throughout; W needs 40 in the first year and slips to the
    # second when the first year's capital is cut.
    "initiatives": """
        id,duration,capital_cost,benefit,latest_finish
        X,1,100,300,2026/27
        Y,1,50,200,2026/27
        Z,1,10,30,2026/27
        W,1,40,45,
    """,
    "dependencies": "predecessor,successor,type\nX,Y,excludes",
    "capacity": "resource,period,amount\ncapital,2026/27,150\ncapital,2027/28,100\ncapital,2028/29,100",
}


def test_stress_prints_the_whole_difference_from_the_uncut_plan(tmp_path):
    scenario = write_case(tmp_path / "w", SWAP, {"horizon": {"start": "2026/27", "periods": 3,
                                                             "granularity": "year"}}, name="swap")
    result = stress(scenario, cuts=[50], start="2026/27", out=tmp_path / "s", workers=1)
    row = result.table.set_index("cut_percent").loc[50.0]
    base = result.table.set_index("cut_percent").loc[0.0]
    assert base["dropped"] == "" and row["swapped"] == "X>Y"  # an alternative replaced, not "dropped X, added Y"
    assert row["dropped"] == "" and row["added"] == ""
    assert row["slipped"] == "W"  # 2026/27 -> 2027/28
    line = next(x for x in result.text.splitlines() if x.strip().startswith("cut 50%"))
    assert "swaps X for Y" in line and "slips W" in line and "drops" not in line
    saved = pd.read_csv(tmp_path / "s" / "stress.csv", keep_default_na=False)
    assert list(saved.loc[saved.cut_percent == 50, "swapped"]) == ["X>Y"]


def test_stress_names_what_is_added_as_well_as_what_drops(tmp_path):
    scenario = write_case(tmp_path / "k", KNAPSACK, {"horizon": {"start": "2026/27", "periods": 3,
                                                                  "granularity": "year"}}, name="knap")
    result = stress(scenario, cuts=[10, 50], start="2026/27", out=tmp_path / "s", workers=2)
    lines = {x.split(":")[0].strip(): x for x in result.text.splitlines()[1:]}
    # 50%: capital 50 -> B alone; against the uncut plan (A + C) that drops A and C and adds B
    assert "drops A, C" in lines["cut 50%"] and "adds B" in lines["cut 50%"]
    table = result.table.set_index("cut_percent")
    for cut in (10.0, 50.0):  # the text says every difference the CSV holds, per cut
        for key in ("dropped", "added", "slipped", "earlier"):
            for i in filter(None, table.at[cut, key].split(";")):
                assert i in lines[f"cut {cut:g}%"], (cut, key, i)
