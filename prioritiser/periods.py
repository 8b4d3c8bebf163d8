"""Planning periods and UK financial years (April to March).

A horizon is a first period and a count of periods of one granularity. Every period has an
absolute ordinal (financial-year start year * periods-per-year + position in the year), so labels
before, inside and after the horizon can all be placed on one integer axis.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class Granularity(str, Enum):
    QUARTER = "quarter"
    MONTH = "month"
    YEAR = "year"

    @property
    def per_year(self) -> int:
        return {"quarter": 4, "month": 12, "year": 1}[self.value]


_FY = re.compile(r"^(\d{4})/(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})/(\d{2}) Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

LABEL_EXAMPLES = {Granularity.QUARTER: "2026/27 Q1", Granularity.MONTH: "2026-04", Granularity.YEAR: "2026/27"}
# Excel turns a typed "2026-04" into a date, which comes back as 2026-04-01T00:00:00.
_EXCEL_MONTH = re.compile(r"^(\d{4}-\d{2})-01(?:[T ]00:00:00)?$")


def fy_label(start_year: int) -> str:
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def _parse_fy(text: str) -> int | None:
    m = _FY.match(text)
    if not m:
        return None
    year, short = int(m.group(1)), int(m.group(2))
    return year if (year + 1) % 100 == short else None


def label_of(ordinal: int, granularity: Granularity) -> str:
    """The label of an absolute period ordinal."""
    per_year = granularity.per_year
    year, pos = divmod(ordinal, per_year)
    if granularity is Granularity.YEAR:
        return fy_label(year)
    if granularity is Granularity.QUARTER:
        return f"{fy_label(year)} Q{pos + 1}"
    month = pos + 4  # position 0 is April
    cal_year = year + (month > 12)
    return f"{cal_year}-{(month - 1) % 12 + 1:02d}"


def parse_period(text: str, granularity: Granularity) -> int | None:
    """Absolute ordinal of a single-period label of this granularity, or None if malformed."""
    text = str(text).strip().upper()  # "2026/27 q1" is read as "2026/27 Q1"
    if granularity is Granularity.YEAR:
        return _parse_fy(text)
    if granularity is Granularity.QUARTER:
        m = _QUARTER.match(text)
        if not m:
            return None
        year = _parse_fy(f"{m.group(1)}/{m.group(2)}")
        return None if year is None else year * 4 + int(m.group(3)) - 1
    m = _MONTH.match(text)
    if not m:
        return None
    cal_year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return None
    fy_year = cal_year if month >= 4 else cal_year - 1
    return fy_year * 12 + (month - 4) % 12


def clean_label(text: str, granularity: Granularity) -> str:
    """A cell's period label as the user meant it: Excel's date for a typed month is that month."""
    if granularity is Granularity.MONTH:
        return _EXCEL_MONTH.sub(r"\1", text)
    return text


def sort_key(label: str) -> tuple[float, str]:
    """Orders labels of any one granularity in time (unknown labels last): the start in years."""
    text = str(label).strip()
    for granularity in (Granularity.QUARTER, Granularity.MONTH, Granularity.YEAR):
        ordinal = parse_period(text, granularity)
        if ordinal is not None:
            return ordinal / granularity.per_year, ""
    return float("inf"), text


@dataclass(frozen=True)
class Horizon:
    """`periods` periods of one granularity from `start` (a label)."""

    start: str
    periods: int
    granularity: Granularity = Granularity.QUARTER
    origin: int = field(init=False)

    def __post_init__(self):
        origin = parse_period(self.start, self.granularity)
        if origin is None:
            raise ValueError(
                f"horizon.start {self.start!r} is not a {self.granularity.value} label "
                f"(e.g. {LABEL_EXAMPLES[self.granularity]!r})")
        if int(self.periods) < 1:
            raise ValueError("horizon.periods must be at least 1")
        object.__setattr__(self, "origin", origin)

    @property
    def T(self) -> int:
        return int(self.periods)

    @property
    def per_year(self) -> int:
        return self.granularity.per_year

    @property
    def labels(self) -> list[str]:
        return [label_of(self.origin + p, self.granularity) for p in range(self.T)]

    def label(self, index: int) -> str:
        """Label of a period index relative to the horizon start (may lie outside it)."""
        return label_of(self.origin + int(index), self.granularity)

    @property
    def fy(self) -> np.ndarray:
        """Financial-year index of every period, 0 = the horizon's first financial year."""
        ordinals = self.origin + np.arange(self.T)
        years = ordinals // self.per_year
        return years - years[0]

    @property
    def fy_labels(self) -> list[str]:
        first = self.origin // self.per_year
        return [fy_label(first + k) for k in range(int(self.fy[-1]) + 1)]

    def fy_label_of(self, index: int) -> str:
        return fy_label((self.origin + index) // self.per_year)

    @property
    def second_fy_label(self) -> str:
        """Where a cut starts by default (stress tests, the dashboard): the second financial year,
        or the first when the horizon has only one."""
        fys = self.fy_labels
        return fys[1] if len(fys) > 1 else fys[0]

    def fy_periods(self, label: str) -> tuple[int, ...] | None:
        """The periods of a financial-year label ('2027/28') inside the horizon; None if it is not one."""
        year = _parse_fy(str(label).strip())
        if year is None:
            return None
        first = year * self.per_year - self.origin
        return tuple(p for p in range(first, first + self.per_year) if 0 <= p < self.T)

    def index(self, label: str) -> int | None:
        """Period index of a single-period label (may be < 0 or >= T), None if malformed."""
        ordinal = parse_period(label, self.granularity)
        return None if ordinal is None else ordinal - self.origin

    def resolve(self, label: str) -> tuple[tuple[int, ...], bool] | None:
        """Periods named by a period or financial-year label, clipped to the horizon.

        Returns (indices inside the horizon, is_financial_year), or None if the label is malformed.
        """
        text = str(label).strip()
        single = self.index(text)
        if single is not None and self.granularity is not Granularity.YEAR:
            return ((single,) if 0 <= single < self.T else ()), False
        year = _parse_fy(text)
        if year is None:
            return None
        first = year * self.per_year - self.origin
        inside = tuple(p for p in range(first, first + self.per_year) if 0 <= p < self.T)
        return inside, self.granularity is not Granularity.YEAR

    def bounds(self, label: str) -> tuple[int, int] | None:
        """First and last period index a period or financial-year label names (not clipped to the
        horizon), or None if the label is malformed. `from: 2027/28` starts at the year's first
        period and `to: 2027/28` ends at its last."""
        text = str(label).strip()
        single = self.index(text)
        if single is not None and self.granularity is not Granularity.YEAR:
            return single, single
        year = _parse_fy(text)
        if year is None:
            return None
        first = year * self.per_year - self.origin
        return first, first + self.per_year - 1
