"""The model's row metadata (`Model.rows`): every row says what it limits, and the matrix agrees.

Each assertion ties a metadata entry to the portfolio table it names and to the nonzeros of its
row of A, so a family that mislabels its rows (or builds the wrong row for the right label) fails.
"""
from pathlib import Path

import numpy as np
import pytest

import prioritiser
from prioritiser.model import ROW_COLUMNS, build_model

ROOT = Path(__file__).resolve().parents[1]
CASES = {"baseline": ROOT / "scenarios" / "baseline.yaml",
         "synth-200": ROOT.parent / "shared" / "benchmarks" / "synthetic" / "synth-200" / "scenario.yaml"}


@pytest.fixture(scope="module", params=sorted(CASES))
def model(request):
    return build_model(prioritiser.load(CASES[request.param]))


def row_cols(model, r):
    """Nonzero columns of row r of A and their coefficients."""
    A = model.A
    return A.indices[A.indptr[r]:A.indptr[r + 1]], A.data[A.indptr[r]:A.indptr[r + 1]]


def test_one_metadata_row_per_model_row(model):
    rows = model.rows
    assert list(rows.columns) == list(ROW_COLUMNS)
    assert len(rows) == model.A.shape[0] == len(model.row_lo)
    for family, span in model.families.items():
        assert (rows["family"].iloc[span] == family).all()
    assert sum(s.stop - s.start for s in model.families.values()) == len(rows)
    assert list(model.row_family) == list(rows["family"])


def test_select_rows_name_their_initiative(model):
    p = model.portfolio
    rows = model.rows.iloc[model.families["select"]]
    assert list(rows["initiative"]) == list(p.ids)
    for r, iid in zip(range(model.families["select"].start, model.families["select"].stop), rows["initiative"]):
        cols, coef = row_cols(model, r)
        assert sorted(cols) == list(model.cols_of[p.ids.get_loc(iid)]) and np.all(coef == 1)
    assert rows["capacity_row"].isna().all() and rows["dependency_row"].isna().all()


def test_capacity_rows_name_their_limit(model):
    p = model.portfolio
    span = model.families["capacity"]
    rows = model.rows.iloc[span]
    j = rows["capacity_row"].to_numpy(np.int64)
    assert list(rows["resource"]) == list(p.capacity["resource"].iloc[j])
    assert list(rows["period"]) == list(p.capacity["period"].iloc[j])
    assert np.array_equal(model.capacity_rows[j], np.arange(span.start, span.stop))
    # the row limits its resource over its periods: its x coefficients are the use there
    periods = p.capacity["periods"].iloc[j]
    R, T = len(p.resources), p.horizon.T
    for r, (res, ps) in enumerate(zip(rows["resource"], periods), start=span.start):
        k = p.resources.index.get_loc(res)
        use = np.asarray(model.usage[:, [k * T + t for t in ps]].sum(axis=1)).ravel()
        if res not in p.funding["resource"].tolist():
            cols, coef = row_cols(model, r)
            x = cols < model.n_x
            assert np.allclose(coef[x], use[cols[x]]) and np.count_nonzero(use) == x.sum()
    assert R * T == model.usage.shape[1]
    assert rows["initiative"].isna().all()
    assert model.row_label(span.start) == f"{rows['resource'].iloc[0]} {rows['period'].iloc[0]}"


def test_dependency_rows_name_their_link(model):
    p = model.portfolio
    dep = p.dependencies
    labels = set(p.horizon.labels)
    for family in ("precedence", "requires", "excludes"):
        span = model.families[family]
        rows = model.rows.iloc[span]
        d = rows["dependency_row"].to_numpy(np.int64)
        assert list(rows["predecessor"]) == list(dep["predecessor"].iloc[d])
        assert list(rows["successor"]) == list(dep["successor"].iloc[d])
        assert list(rows["dependency"]) == list(dep["type"].iloc[d])
        if family == "precedence":
            assert set(rows["dependency"]) <= {"finish_to_start", "start_to_start"}
            assert set(rows["period"]) <= labels
        else:
            assert (rows["dependency"] == family).all() and rows["period"].isna().all()
        for r, a, b in zip(range(span.start, span.stop), rows["predecessor"], rows["successor"]):
            cols, coef = row_cols(model, r)
            pred = set(model.cols_of[p.ids.get_loc(a)])
            succ = set(model.cols_of[p.ids.get_loc(b)])
            assert set(cols) <= pred | succ
            assert np.all(coef[np.isin(cols, list(succ))] == 1)
            assert np.all(coef[np.isin(cols, list(pred))] == (1 if family == "excludes" else -1))
    # every dependency has its rows
    assert sorted(set(model.rows["dependency_row"].dropna().astype(int))) == list(range(len(dep)))


def test_row_labels_for_display(model):
    p = model.portfolio
    first = p.ids[0]
    assert model.row_label(0) == f"select {first}"
    for family, sep in (("precedence", " -> "), ("requires", " -> "), ("excludes", " / ")):
        r = model.families[family].start
        row = model.rows.iloc[r]
        assert model.row_label(r) == f"{row['dependency']} {row['predecessor']}{sep}{row['successor']}"
