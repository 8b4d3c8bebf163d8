"""Warm starts across related solves (issue 14): stress cuts and frontier levels start from the
uncut (nearest) plan, repaired to each variant's rules. A start is a candidate, never a claim:
checked on the sample trust (49 initiatives, 20 quarters), against cold solves of the same variants."""
import json
from pathlib import Path

import pytest

import prioritiser
from prioritiser.batch import plan_starts, read_record
from prioritiser.engine import _as_given
from prioritiser.model import build_model
from prioritiser.scenario import Adjustment, load_scenario
from prioritiser.validate import load
from prioritiser.whatif import _write_variants, stress

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def base():
    return prioritiser.run(BASELINE, threads=1)


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    """The sample trust with capital cut by a quarter from 2027/28: its base plan breaks the cut."""
    folder = tmp_path_factory.mktemp("cut")
    return _write_variants(BASELINE, folder, [("cut-25", [Adjustment("capital", scale=0.75, start="2027/28")])])[0]


def test_the_base_plan_breaks_the_cut_and_is_repaired_not_trusted(base, cut):
    assert base.status.value == "optimal"
    model = build_model(load(cut))
    assert _as_given(model, base.starts) is None  # as given it breaks the cut's capital limits
    warm = prioritiser.run(cut, threads=1, start=base.starts)
    cold = prioritiser.run(cut, threads=1)
    assert warm.check.ok and cold.check.ok
    assert warm.status.value == cold.status.value == "optimal"
    tol = max(warm.portfolio.scenario.solver.gap, 1e-9) * abs(cold.objective)
    assert warm.objective == pytest.approx(cold.objective, abs=tol)
    assert warm.objective < base.objective  # the cut costs something: the base plan was not kept


def test_a_start_that_breaks_every_rule_is_repaired(cut):
    p = load(cut)
    everything_at_once = {i: 0 for i in p.ids} | {"no-such-initiative": 3}
    model = build_model(p)
    assert _as_given(model, everything_at_once) is None
    warm = prioritiser.run(cut, threads=1, start=everything_at_once)
    cold = prioritiser.run(cut, threads=1)
    assert warm.check.ok and warm.status.value == "optimal"
    assert warm.objective == pytest.approx(cold.objective, abs=p.scenario.solver.gap * abs(cold.objective))


def test_plan_starts_reads_back_the_published_plan(base, tmp_path):
    from prioritiser.report import write_outputs

    write_outputs(base, tmp_path / "out", workbook=False)
    labels = load_scenario(BASELINE).horizon.labels
    assert plan_starts(tmp_path / "out", labels) == base.starts
    assert plan_starts(tmp_path / "nothing", labels) == {}


def test_warm_stress_equals_cold_stress_and_its_cuts_were_started_warm(tmp_path):
    cold = stress(BASELINE, cuts=(10, 25), out=tmp_path / "cold", warm=False)
    warm = stress(BASELINE, cuts=(10, 25), out=tmp_path / "warm", warm=True)
    for c, w in zip(cold.table.itertuples(), warm.table.itertuples()):
        assert c.status == w.status == "optimal"
        assert w.objective == pytest.approx(c.objective, rel=1e-3)  # both proven within the 0.1% gap
    for rec in warm.batch.records:
        folder = warm.batch.out / Path(rec.scenario_file).stem
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["check"]["ok"]
    # the cuts started from the repaired uncut plan: a better known plan than rank-and-place's alone
    known = {mode: [json.loads((res.batch.out / Path(r.scenario_file).stem / "summary.json").read_text())
                    ["greedy_objective"] for r in sorted(res.batch.records, key=lambda r: r.scenario)]
             for mode, res in (("cold", cold), ("warm", warm))}
    assert all(w >= c - 1e-6 * abs(c) for c, w in zip(known["cold"], known["warm"]))
    assert any(w > c + 1e-6 * abs(c) for c, w in zip(known["cold"], known["warm"]))
    uncut, *cuts = warm.table["scenario"]
    jobs = {r.scenario: r for r in warm.batch.records}
    assert not warm.batch.skipped  # the uncut level was solved in this run, not taken from a cache
    assert jobs[uncut].key != jobs[cuts[0]].key
    # a second run reuses every level (the start is part of each cut's cache key, and unchanged)
    again = stress(BASELINE, cuts=(10, 25), out=tmp_path / "warm", warm=True)
    assert sorted(again.batch.skipped) == sorted(warm.table["scenario"])
    assert all(read_record(warm.batch.out / Path(r.scenario_file).stem) is not None for r in warm.batch.records)
