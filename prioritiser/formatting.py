"""How the package writes numbers for people: money and percentages, in one place.

Used by the console summary and reports, the plan's reasons, the what-if texts and the dashboard.
(The independent checker, check.py, keeps its own formatter so that it shares no code with the
pipeline it checks.)
"""
from __future__ import annotations

import math


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def money(x, signed: bool = False) -> str:
    """Whole pounds with thousands separators: £1,234,567, negative as -£1,234,567; '-' when missing.

    An amount that rounds to zero pounds is '£0' (never '-£0'). `signed` puts + before a gain."""
    if _missing(x):
        return "-"
    x = float(x)
    if math.isnan(x):
        return "-"
    if abs(x) < 0.5:
        x = 0.0
    text = f"£{abs(x):,.0f}"
    if x < 0:
        return "-" + text
    return ("+" + text) if signed and x > 0 else text


def percent(x, digits: int = 1, signed: bool = False) -> str:
    """A share as a percentage: 0.0123 -> '1.2%'; '-' when missing. `signed` puts + before a rise."""
    if _missing(x):
        return "-"
    return f"{x * 100:{'+' if signed else ''}.{digits}f}%"


def score(x) -> str:
    """An objective value: whole units with thousands separators and no currency sign, because an
    objective that weights alignment points is not money ('-' when missing)."""
    if _missing(x):
        return "-"
    x = float(x)
    return f"{0.0 if abs(x) < 0.5 else x:,.0f}"


def fte(x) -> str:
    """Staff in full-time equivalents: two decimals ('-' when missing)."""
    return "-" if _missing(x) else f"{float(x):,.2f} FTE"


def points(x) -> str:
    """Alignment points: one decimal ('-' when missing)."""
    return "-" if _missing(x) else f"{float(x):,.1f} points"


# Excel number formats for the same things (report.xlsx, the template, batch comparisons).
XL_MONEY = '£#,##0;-£#,##0;£0'  # whole pounds, thousands separated; zero as £0
XL_MONEY_DASH = '£#,##0;-£#,##0;"-"'  # the same, zero as a dash (tables mostly of zeros)
XL_SCORE = '#,##0;-#,##0;0'  # an objective value: not money
XL_PERCENT = '0.0%'
XL_SHARE = '0%'
XL_FTE = '0.0'
XL_POINTS = '0.0'
XL_INTEGER = '0'
