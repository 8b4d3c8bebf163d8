"""Near-optimal alternatives (issue 10 item 4): distinct, checked, within the stated distance, and as
different as possible (brute force over every plan of small cases says how different that is)."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import prioritiser
from portfolios import random_case
from prioritiser.alternatives import ALTERNATIVE_COLUMNS, alternatives, floor, parse_within
from prioritiser.check import PlanChecker, check_plan


def usable(seed: int, **kwargs):
    """A random case with an optimal plan (and its scenario path), or None."""
    import tempfile
    from pathlib import Path

    case = random_case(seed, gap=0.0, **kwargs)
    path = case.write(Path(tempfile.mkdtemp(prefix=f"alt-{seed}-")))
    try:
        r = prioritiser.run(path)
    except prioritiser.InputError:
        return None
    return (case, path, r) if r.status == "optimal" else None


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_alternatives_are_distinct_checked_and_within_the_distance(tmp_path, seed):
    found_case = next(filter(None, (usable(s, initiatives=(10, 16)) for s in range(seed * 10, seed * 10 + 20))))
    _, path, best = found_case
    within = 0.05
    found = alternatives(path, count=4, within=within, out=tmp_path / "alts")
    table = pd.read_csv(tmp_path / "alts" / "alternatives.csv", keep_default_na=False)
    assert list(table.columns) == ALTERNATIVE_COLUMNS
    assert table.at[0, "plan"] == "best" and table.at[0, "objective"] == pytest.approx(best.objective, abs=1e-6)
    selections = [frozenset(i for i, s in r.starts.items() if s is not None) for r in found.results]
    assert len(set(selections)) == len(selections)  # distinct selections, the best included
    for k, (r, sel, row) in enumerate(zip(found.results, selections, table.itertuples())):
        report = check_plan(r.portfolio if k == 0 else best.portfolio, r.starts, r.external_purchases)
        assert report.ok, report.violations
        assert report.objective == pytest.approx(row.objective, rel=1e-9, abs=1e-6)
        assert row.objective >= floor(best.objective, within) - 1e-6
        assert row.share_of_best == pytest.approx(1 - (best.objective - row.objective) / max(abs(best.objective), 1))
        adds, drops = sel - selections[0], selections[0] - sel
        assert row.differs_from_best == len(adds) + len(drops)
        assert set(filter(None, row.adds.split(", "))) == adds and set(filter(None, row.drops.split(", "))) == drops
        folder = tmp_path / "alts" / row.plan
        assert {"plan.csv", "usage.csv", "summary.json"} <= {f.name for f in folder.iterdir()}
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == ("optimal" if k == 0 else "feasible") and summary["check"]["ok"]


def enumerate_plans(portfolio, most: int = 5000):
    """Every feasible plan, judged by the checker (cheapest external staff): (selection, best
    objective of that selection); None when there are more than `most` plans to judge."""
    ck = PlanChecker(portfolio)
    ids = list(portfolio.ids)
    options = []
    for i, iid in enumerate(ids):
        starts = list(ck.allowed_starts(i)) if iid not in ck.force_out else []
        must = ck.mandatory[i] or iid in ck.force_in
        options.append(([] if must else [None]) + starts)
    if np.prod([len(o) for o in options], dtype=float) > most:
        return None
    plans: dict[frozenset, float] = {}
    for choice in itertools.product(*options):
        ev = ck.evaluate(dict(zip(ids, choice)), None)
        if ev.ok:
            sel = frozenset(i for i, s in zip(ids, choice) if s is not None)
            plans[sel] = max(plans.get(sel, -np.inf), ev.objective)
    return plans


def test_the_first_alternative_is_as_different_as_any_plan_can_be(tmp_path):
    checked = 0
    for seed in range(300, 400):
        got = usable(seed, narrow=True)
        if got is None:
            continue
        case, path, best = got
        plans = enumerate_plans(best.portfolio)
        if plans is None or len(plans) < 3:
            continue
        chosen = frozenset(i for i, s in best.starts.items() if s is not None)
        assert max(plans.values()) == pytest.approx(best.objective, abs=1e-6)
        within = 0.1
        near = [len(s ^ chosen) for s, v in plans.items() if s != chosen and v >= floor(best.objective, within) - 1e-6]
        found = alternatives(path, count=1, within=within, out=tmp_path / f"alts-{seed}")
        if not near:
            assert len(found.table) == 1
            continue
        assert found.table.at[1, "differs_from_best"] == max(near), seed
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_within_parsing():
    assert parse_within("2%") == pytest.approx(0.02)
    assert parse_within("0.02") == pytest.approx(0.02)
    assert parse_within(" 5 % ") == pytest.approx(0.05)
    with pytest.raises(ValueError):
        parse_within("lots")
    with pytest.raises(ValueError):
        parse_within("150%")


def test_cli_alternatives(tmp_path):
    from prioritiser import cli

    got = next(filter(None, (usable(s, initiatives=(10, 14)) for s in range(500, 520))))
    out = tmp_path / "alts"
    assert cli.main(["alternatives", str(got[1]), "--count", "2", "--within", "3%", "--out", str(out)]) == 0
    table = pd.read_csv(out / "alternatives.csv")
    assert 1 <= len(table) <= 3 and table.at[0, "plan"] == "best"
    assert np.all(table["share_of_best"] >= 0.97 - 1e-9)
