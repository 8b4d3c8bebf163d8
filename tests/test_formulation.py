"""Issue 14's formulation variants hold exactly the integer plans of today's model (benchmarks/formulation.py
measures them; docs/performance.md, "Formulation directions").

- The mixed precedence forms (PRIORITISER_PRECEDENCE=first:K / short:W): for every precedence link of
  synth-200 (99 links, windows of 15-20 starts) and the sample trust, every pair of options (not
  selected, or each start of the predecessor and of the successor) passes the link's rows in the mixed
  form exactly when it passes them in the disaggregated one; every other family is unchanged; and a cold
  solve reaches the same proven optimum, the checker passing, on the sample trust and random portfolios.
- Knapsack covers on the money rows: every cover separated is implied by a money row (the least use of
  its initiatives at its columns exceeds the row's limit, recomputed here from A), and the model with
  the covers solves to the same proven optimum.
- Identical initiatives: none in the synthetic set or the sample trust; a copied initiative is found.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prioritiser
from prioritiser.model import build_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import formulation as F  # noqa: E402
from portfolios import random_case  # noqa: E402

SYNTH = ROOT.parent / "shared" / "benchmarks" / "synthetic"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
MIXED = ("first:0", "first:2", "short:16")


def _built(portfolio, form, monkeypatch):
    monkeypatch.setenv("PRIORITISER_PRECEDENCE", form)
    model = build_model(portfolio)
    monkeypatch.delenv("PRIORITISER_PRECEDENCE")
    return model


def _link_feasible(model, link: int, pred_cols, succ_cols) -> np.ndarray:
    """Per option pair (predecessor option, successor option; option 0 = not selected, k = its k-th
    column): whether every row of the link holds."""
    fam = model.families["precedence"]
    rows = fam.start + np.flatnonzero(model.rows["dependency_row"].to_numpy(float)[fam] == link)
    cols = np.concatenate([pred_cols, succ_cols])
    A = model.A[rows][:, cols].toarray()
    n_p, n_s = len(pred_cols) + 1, len(succ_cols) + 1
    V = np.zeros((n_p * n_s, len(cols)))
    a, b = np.divmod(np.arange(n_p * n_s), n_s)
    V[a > 0, a[a > 0] - 1] = 1
    V[b > 0, len(pred_cols) + b[b > 0] - 1] = 1
    rest = model.A[rows].sum(axis=1).A1 - A.sum(axis=1)
    assert np.allclose(rest, 0) and model.A[rows][:, np.setdiff1d(np.arange(model.n_cols), cols)].nnz == 0
    return np.all(V @ A.T <= model.row_hi[rows] + 1e-9, axis=1)


@pytest.mark.parametrize("path", [SYNTH / "synth-200" / "scenario.yaml", BASELINE], ids=["synth-200", "sample-trust"])
def test_mixed_precedence_holds_the_same_plans_of_every_link(path, monkeypatch):
    portfolio = prioritiser.load(path)
    base = _built(portfolio, "disaggregated", monkeypatch)
    links = np.unique(base.rows["dependency_row"].to_numpy(float)[base.families["precedence"]]).astype(int)
    assert len(links) > 10
    dep = portfolio.dependencies
    for form in MIXED:
        mixed = _built(portfolio, form, monkeypatch)
        assert mixed.A.shape[1] == base.A.shape[1]
        for family, rows in base.families.items():  # every other family unchanged
            if family != "precedence":
                other = mixed.families[family]
                assert (base.A[rows] != mixed.A[other]).nnz == 0
                assert np.array_equal(base.row_hi[rows], mixed.row_hi[other])
        if form == "first:0":
            assert mixed.A.nnz < base.A.nnz and len(mixed.rows) < len(base.rows)
        for link in links:
            pred, succ = portfolio.ids.get_indexer([dep["predecessor"].iloc[link], dep["successor"].iloc[link]])
            ok_base = _link_feasible(base, link, base.cols_of[pred], base.cols_of[succ])
            ok_mixed = _link_feasible(mixed, link, mixed.cols_of[pred], mixed.cols_of[succ])
            assert np.array_equal(ok_base, ok_mixed), (form, link)
            assert ok_base.any() and not ok_base.all() or len(base.cols_of[succ]) == 0


def _solved(path, monkeypatch, form=None):
    if form is not None:
        monkeypatch.setenv("PRIORITISER_PRECEDENCE", form)
    result = prioritiser.run(path, time_limit=60, gap=0.0)
    monkeypatch.delenv("PRIORITISER_PRECEDENCE", raising=False)
    assert result.status.value == "optimal" and result.check.ok
    return result.objective


def test_mixed_precedence_reaches_the_same_optimum(tmp_path, monkeypatch):
    # random portfolios of 30-40 initiatives with 7, 14 and 16 links
    cases = [BASELINE] + [random_case(seed, gap=0.0, initiatives=(30, 40)).write(tmp_path / str(seed))
                          for seed in (1, 4, 6)]
    for path in cases:
        want = _solved(path, monkeypatch)
        for form in ("first:0", "first:2"):
            assert _solved(path, monkeypatch, form) == pytest.approx(want, rel=1e-9, abs=1e-6), (path, form)


def _cover_implied(model, cover: np.ndarray, rhs: float) -> bool:
    """Some money row's limit is exceeded whenever every initiative of the cover starts at one of its
    columns: the least use of each initiative there, summed over the cover's initiatives."""
    cols = np.flatnonzero(cover)
    init = model.col_init[cols]
    assert len(np.unique(init)) == rhs + 1
    for r in F.money_rows(model):
        a = model.A[r].toarray().ravel()[cols]
        least = pd.Series(a).groupby(init).min()
        if least.sum() > model.row_hi[r] + 1e-6 and (model.A[r].toarray().ravel() >= 0).all():
            return True
    return False


def test_covers_are_implied_by_the_money_rows():
    model = build_model(prioritiser.load(SYNTH / "quarterly-500" / "scenario.yaml"))
    x, _, _ = F.lp_relaxation(model)
    A, hi = F.covers(model, x)
    assert A.shape[0] >= 5  # quarterly-500's LP violates covers on its quarterly money rows
    for k in range(A.shape[0]):
        assert _cover_implied(model, A[k].toarray().ravel(), hi[k])
        assert A[k] @ x > hi[k] + F.VIOLATION / 2  # violated at the LP point it was separated from
    cut, log = F.separate(model, rounds=1)
    assert cut.A.shape[0] == model.A.shape[0] + A.shape[0] and log[-1]["bound"] <= log[0]["bound"] + 1e-6


def test_covers_keep_the_optimum(tmp_path):
    from prioritiser.engine import finish
    from prioritiser.solvers import solve

    # the sample trust's LP violates no cover; these random portfolios' LPs violate 4, 5 and 6
    for seed in (1, 6, 7):
        scenario = random_case(seed, gap=0.0, initiatives=(30, 40)).write(tmp_path / str(seed))
        model = build_model(prioritiser.load(scenario))
        want = prioritiser.run(scenario, time_limit=60, gap=0.0)
        x, _, _ = F.lp_relaxation(model)
        A, hi = F.covers(model, x)
        assert A.shape[0] >= 4 and all(_cover_implied(model, A[k].toarray().ravel(), hi[k]) for k in range(A.shape[0]))
        cut = F.with_rows(model, A, hi)
        out = solve(cut, "highs", 60, 0.0)
        got = finish(cut, out, None, {}, out.seconds)
        assert want.status.value == got.status.value == "optimal" and got.check.ok
        assert got.objective == pytest.approx(want.objective, rel=1e-9, abs=1e-6)


def test_identical_initiatives_are_found(tmp_path):
    for path in [BASELINE, *sorted(SYNTH.glob("*/scenario.yaml"))[:2]]:
        assert F.identical_groups(build_model(prioritiser.load(path))) == []
    src = ROOT / "scenarios" / "sample-trust"
    folder = tmp_path / "sample-trust"
    shutil.copytree(src, folder)
    shutil.copy(BASELINE, tmp_path / "baseline.yaml")
    ini = pd.read_csv(folder / "initiatives.csv", dtype=str, keep_default_na=False)
    dem = pd.read_csv(folder / "demands.csv", dtype=str, keep_default_na=False)
    dep = pd.read_csv(folder / "dependencies.csv", dtype=str, keep_default_na=False)
    linked = set(dep["predecessor"]) | set(dep["successor"])
    fund = pd.read_csv(folder / "funding.csv", dtype=str, keep_default_na=False)
    lone = next(i for i in ini["id"] if i not in linked and i not in set(fund.get("milestone", [])))
    copy = ini[ini["id"] == lone].assign(id=lone + "-copy")
    pd.concat([ini, copy]).to_csv(folder / "initiatives.csv", index=False)
    copied = dem[dem["initiative"] == lone].assign(initiative=lone + "-copy")
    pd.concat([dem, copied]).to_csv(folder / "demands.csv", index=False)
    model = build_model(prioritiser.load(tmp_path / "baseline.yaml"))
    groups = F.identical_groups(model)
    assert [sorted(model.portfolio.ids[g]) for g in groups] == [[lone, lone + "-copy"]]
