"""Caps on what one run may read and build, so that a small hostile or mistaken file is refused in
seconds instead of tying the computer up for hours (see docs/security.md).

Every limit has a default that is far beyond any real trust's portfolio and can be raised (or
lowered) with one environment variable, PRIORITISER_MAX_<NAME>; the variable is read each time a
limit is checked, so batch workers and the dashboard's kernels inherit it. A refusal names the
limit, the value found and the variable that changes it.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .errors import InputError, Issue


@dataclass(frozen=True)
class Limit:
    name: str  # the environment variable is PRIORITISER_MAX_<name>
    default: float
    unit: str  # how the value is shown: "MB", "rows", ...
    what: str  # what is limited, for messages and docs

    @property
    def variable(self) -> str:
        return f"PRIORITISER_MAX_{self.name}"


LIMITS: dict[str, Limit] = {lim.name: lim for lim in (
    Limit("FILE_MB", 50, "MB", "size of one input file (a CSV table or an .xlsx workbook)"),
    Limit("XLSX_MB", 200, "MB", "size of an .xlsx workbook (or a .zip uploaded to the dashboard) once "
          "uncompressed, as the file declares"),
    Limit("XLSX_RATIO", 200, "times", "compression ratio of one part of an .xlsx workbook (parts over 1 MB)"),
    Limit("ROWS", 100_000, "rows", "number of rows in one table (blank rows count while they are read)"),
    Limit("CELLS", 2_000_000, "cells", "number of cells in one table (blank cells count while they are read)"),
    Limit("YAML_KB", 1024, "KB", "size of one scenario file"),
    Limit("YAML_NODES", 50_000, "values", "number of values in one scenario file (each use of an alias counts again)"),
    Limit("YAML_DEPTH", 40, "levels", "nesting of lists and mappings in one scenario file (aliases followed)"),
    Limit("PERIODS", 1200, "periods", "length of the horizon"),
    Limit("MODEL_SIZE", 20_000_000, "start-periods", "size of the model (the possible start periods of all "
          "initiatives, one column each, times the periods of the horizon)"),
    Limit("AMOUNT", 1e12, "", "size of any number in a table or scenario (in absolute value; £ for money)"),
    Limit("UPLOAD_MB", 20, "MB", "size of one file uploaded to the dashboard"),
)}


def _bad_setting(lim: Limit, text: str) -> InputError:
    return InputError([Issue("error", f"environment variable {lim.variable}",
                             f"{text!r} is not a positive number; set it to a number such as "
                             f"{_plain(lim.default)}, or unset it for the default")])


def value(name: str) -> float:
    """The limit in force: the environment variable's value, else the default. A bad value is an
    InputError (a user's setting, reported like any other input problem)."""
    lim = LIMITS[name]
    text = os.environ.get(lim.variable, "").strip()
    if not text:
        return float(lim.default)
    try:
        got = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise _bad_setting(lim, text) from None
    if not got > 0:  # NaN and negatives too
        raise _bad_setting(lim, text)
    return got


def _plain(x: float) -> str:
    """1e12 -> '1e+12', 50.0 -> '50', 2000000 -> '2000000'."""
    if math.isinf(x):
        return "inf"
    return f"{x:g}" if abs(x) >= 1e9 or x != int(x) else str(int(x))


def _suggest(found: float) -> str:
    """A round value comfortably above `found`, for the 'raise it like this' hint."""
    target = found * 1.5
    if not math.isfinite(target) or target <= 0:
        return "a larger number"
    magnitude = 10.0 ** math.floor(math.log10(target))
    return _plain(math.ceil(target / magnitude) * magnitude)


def refusal(name: str, found: str, amount: float | None = None) -> str:
    """The sentence that refuses an input over limit `name`: what was found (`found`, e.g. "the file
    is 212 MB"), the limit, and the variable that raises it (suggesting a value above `amount`)."""
    lim, limit = LIMITS[name], value(name)
    unit = f" {lim.unit}" if lim.unit else ""
    suggestion = _suggest(amount if amount is not None else limit * 5)
    return (f"{found}: over the limit of {_plain(limit)}{unit} on the {lim.what}. If this is intended, raise the "
            f"limit with the environment variable {lim.variable} (e.g. {lim.variable}={suggestion})")


def setting_issues() -> list[Issue]:
    """One error per limit whose environment variable is set to something that is not a number."""
    issues = []
    for name in LIMITS:
        try:
            value(name)
        except InputError as exc:
            issues += exc.issues
    return issues


class Exceeded(Exception):
    """An input is over a limit; the message (from `refusal`) names it and how to raise it."""


_BYTES = {"MB": 1e6, "KB": 1024}


def check_size(path, name: str) -> None:
    """Refuse (Exceeded) a file larger than size limit `name` ("FILE_MB", "YAML_KB"), before it is read."""
    lim = LIMITS[name]
    size = os.stat(path).st_size / _BYTES[lim.unit]
    if size > value(name):
        raise Exceeded(refusal(name, f"the file is {size:,.1f} {lim.unit}", size))


def read_file(path, name: str) -> bytes:
    """The bytes of a file within size limit `name`. Never reads more than the limit: a path to an
    endless device or a file that grows while it is read costs no memory either."""
    check_size(path, name)
    lim = LIMITS[name]
    most = int(value(name) * _BYTES[lim.unit]) if math.isfinite(value(name)) else -1
    with open(path, "rb") as f:
        data = f.read(most + 1 if most >= 0 else -1)
    if most >= 0 and len(data) > most:
        raise Exceeded(refusal(name, f"the file is larger than {_plain(value(name))} {lim.unit}"))
    return data
