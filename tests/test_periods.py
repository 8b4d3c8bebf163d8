"""periods.py is the one place that reads period labels: ordering, bounds, Excel's dates, the default cut year."""
from __future__ import annotations

import random

import pytest

from prioritiser.periods import Granularity, Horizon, clean_label, sort_key


@pytest.mark.parametrize("labels", [
    ["2025/26 Q4", "2026/27 Q1", "2026/27 Q2", "2026/27 Q4", "2027/28 Q1", "2030/31 Q3"],
    ["2026-03", "2026-04", "2026-12", "2027-01", "2027-03", "2027-04"],  # January is late in its financial year
    ["2025/26", "2026/27", "2027/28", "2099/00"],
])
def test_sort_key_orders_labels_in_time(labels):
    shuffled = random.Random(7).sample(labels, len(labels))
    assert sorted(shuffled, key=sort_key) == labels
    assert sorted([*shuffled, "later", ""], key=sort_key)[:len(labels)] == labels  # unknown labels go last


def test_sort_key_agrees_with_the_horizon():
    for granularity, start in ((Granularity.QUARTER, "2026/27 Q3"), (Granularity.MONTH, "2026-11"),
                               (Granularity.YEAR, "2026/27")):
        h = Horizon(start, 30, granularity)
        keys = [sort_key(label) for label in h.labels]
        assert keys == sorted(keys) and len(set(keys)) == 30


@pytest.mark.parametrize("start, periods, granularity, second", [
    ("2026/27 Q1", 20, Granularity.QUARTER, "2027/28"),
    ("2026/27 Q4", 2, Granularity.QUARTER, "2027/28"),  # a horizon starting late in a year
    ("2026/27 Q1", 4, Granularity.QUARTER, "2026/27"),  # one year only: the first
    ("2027-01", 6, Granularity.MONTH, "2027/28"),
    ("2026/27", 5, Granularity.YEAR, "2027/28"),
])
def test_second_financial_year_default(start, periods, granularity, second):
    assert Horizon(start, periods, granularity).second_fy_label == second


def test_bounds_of_period_and_year_labels():
    h = Horizon("2026/27 Q3", 8)  # index 0 = 2026/27 Q3
    assert h.bounds("2026/27 Q3") == (0, 0)
    assert h.bounds("2027/28") == (2, 5)  # a year from its first to its last quarter
    assert h.bounds("2026/27") == (-2, 1)  # not clipped to the horizon
    assert h.bounds("2027/28 Q5") is None and h.bounds("2027/29") is None
    y = Horizon("2026/27", 3, Granularity.YEAR)
    assert y.bounds("2027/28") == (1, 1) and y.bounds("2027/28 Q1") is None
    m = Horizon("2026-04", 24, Granularity.MONTH)
    assert m.bounds("2027/28") == (12, 23) and m.bounds("2027-01") == (9, 9)


def test_excel_dates_are_read_as_months_only_in_a_monthly_plan():
    assert clean_label("2027-05-01T00:00:00", Granularity.MONTH) == "2027-05"
    assert clean_label("2027-05-01 00:00:00", Granularity.MONTH) == "2027-05"
    assert clean_label("2027-05-02", Granularity.MONTH) == "2027-05-02"  # a real date is not a month
    assert clean_label("2027-05-01", Granularity.QUARTER) == "2027-05-01"
