"""Same inputs, same answer; more room, never a worse proven optimum.

- Determinism: the same scenario gives the same plan (every start and external purchase) and the
  same objective across three runs in one process, across PYTHONHASHSEED values (fresh
  interpreters), and with the rows of every table shuffled. The cases are solved to a gap of 0,
  where the optimum is unique (random money values), so any difference is the engine's.
- Monotonicity: more of any budget or staff role (scaled up and topped up in every period)
  never lowers the proven optimum.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import prioritiser
from portfolios import random_case, run_unless_unplaceable
from prioritiser.result import GAP_SLACK, Status

CASES = (1, 145)  # 39 initiatives over 9 quarters; 18 over 10 quarters with the start anomaly
SCRIPT = """
import json, sys
import prioritiser
r = prioritiser.run(sys.argv[1])
print(json.dumps({"status": r.status.value, "objective": repr(r.objective), "starts": r.starts,
                  "external": sorted([list(k) + [v] for k, v in r.external_purchases.items()])}))
"""


def signature(r) -> dict:
    return {"status": r.status.value, "objective": repr(r.objective), "starts": dict(r.starts),
            "external": sorted([list(k) + [v] for k, v in r.external_purchases.items()])}


@pytest.fixture(params=CASES)
def case(request, tmp_path):
    c = random_case(request.param, gap=0.0)
    return c, c.write(tmp_path / "case")


def test_three_runs_give_the_same_plan(case):
    _, path = case
    first = signature(prioritiser.run(path))
    assert first["status"] == "optimal"
    for _ in range(2):
        assert signature(prioritiser.run(path)) == first


def test_hash_seeds_do_not_change_the_plan(case):
    _, path = case
    here = signature(prioritiser.run(path))
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True,
                              env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        there = json.loads(proc.stdout.strip().splitlines()[-1])
        there["starts"] = {k: v for k, v in there["starts"].items()}
        assert there == json.loads(json.dumps(here)), f"PYTHONHASHSEED={seed}"


def test_shuffled_rows_give_the_same_plan(case, tmp_path):
    c, path = case
    here = prioritiser.run(path)
    for k in range(3):
        r = prioritiser.run(c.shuffled(k).write(tmp_path / f"shuffled-{k}"))
        assert r.status is Status.OPTIMAL
        assert r.starts == here.starts, f"shuffle {k}"
        assert r.external_purchases == pytest.approx(here.external_purchases, rel=1e-9)
        assert r.objective == pytest.approx(here.objective, rel=1e-9, abs=1e-6)


def roles(c) -> list[str]:
    return list(c.tables["resources"]["resource"])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(30))
def test_more_budget_or_staff_never_lowers_the_proven_optimum(seed, tmp_path):
    c = random_case(seed, gap=0.0)
    base = run_unless_unplaceable(c, tmp_path / "base")
    if base is None:
        return  # a must-have fits at no start: more budget or staff may make it fit, so nothing to compare
    if base.status is not Status.OPTIMAL:
        assert base.status is Status.INFEASIBLE, base.message
        return
    for resource in ["capital", "revenue", *roles(c)]:
        add = 0.5 if resource in roles(c) else 10_000.0
        more = c.with_scenario(adjustments=[{"resource": resource, "scale": 1.25}, {"resource": resource, "add": add}])
        r = prioritiser.run(more.write(tmp_path / resource))
        assert r.status is Status.OPTIMAL, (resource, r.message)
        slack = GAP_SLACK * max(1.0, abs(base.objective))
        assert r.objective >= base.objective - slack, f"more {resource}: {r.objective} < {base.objective}"
