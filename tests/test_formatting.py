"""prioritiser.formatting: the one money and percentage formatter of the package."""
import math

import numpy as np

import importlib

from prioritiser import report, whatif
from prioritiser.formatting import money, percent

explain = importlib.import_module("prioritiser.explain")  # the module: `prioritiser.explain` is the function


def test_money_writes_whole_pounds_with_separators():
    assert money(1234567.4) == "£1,234,567"
    assert money(1234567.5) == "£1,234,568"
    assert money(-5) == "-£5" and money(-1234.6) == "-£1,235"
    assert money(0) == "£0" and money(-0.4) == "£0" and money(0.4, signed=True) == "£0"  # never "-£0"
    assert money(2500, signed=True) == "+£2,500" and money(-2500, signed=True) == "-£2,500"
    assert money(np.float64(7.0)) == "£7" and money(np.int64(12000)) == "£12,000"


def test_money_and_percent_say_missing_with_a_dash():
    for missing in (None, float("nan"), np.float64("nan"), np.float32("nan")):
        assert money(missing) == "-"
    assert percent(None) == "-" and percent(math.nan) == "-"


def test_percent():
    assert percent(0.0123) == "1.2%" and percent(0.0123, 2) == "1.23%"
    assert percent(0.05, 0, signed=True) == "+5%" and percent(-0.05, 0, signed=True) == "-5%"


def test_every_module_that_writes_money_uses_this_formatter():
    # said once: the console summary, the plan's reasons and the what-if texts all write £ with it
    assert report.money is money and explain.money is money and whatif.money is money
