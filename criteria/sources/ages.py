"""Registry age limits ("18 Years", "6 Months", "N/A", ...) as years.

ClinicalTrials.gov writes an age limit as a number and a unit ("18 Years",
"6 Months", "3 Weeks", "1 Day", "24 Hours"); "N/A" or an absent field means
no limit.  A bare number is read as years.
"""

from __future__ import annotations

import math
import re

_DAYS_PER_YEAR = 365.25

# unit word (singular, lower case) -> length in years
_UNIT_YEARS: dict[str, float] = {
    "year": 1.0,
    "yr": 1.0,
    "y": 1.0,
    "month": 1.0 / 12.0,
    "mo": 1.0 / 12.0,
    "week": 7.0 / _DAYS_PER_YEAR,
    "wk": 7.0 / _DAYS_PER_YEAR,
    "day": 1.0 / _DAYS_PER_YEAR,
    "d": 1.0 / _DAYS_PER_YEAR,
    "hour": 1.0 / (_DAYS_PER_YEAR * 24.0),
    "hr": 1.0 / (_DAYS_PER_YEAR * 24.0),
    "h": 1.0 / (_DAYS_PER_YEAR * 24.0),
    "minute": 1.0 / (_DAYS_PER_YEAR * 24.0 * 60.0),
    "min": 1.0 / (_DAYS_PER_YEAR * 24.0 * 60.0),
}

_NO_LIMIT = {"", "n/a", "na", "none", "not applicable", "no limit", "null"}

_AGE_RE = re.compile(r"^(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+?)?\.?$")


def parse_age(value: str | int | float | None) -> float | None:
    """Return an age limit in years, or None for no limit.

    >>> parse_age("18 Years"), parse_age("6 Months"), parse_age("N/A")
    (18.0, 0.5, None)

    Raises ValueError for text that is not an age.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an age: {value!r}")
    if isinstance(value, int | float):
        years = float(value)
        if not math.isfinite(years) or years < 0:
            raise ValueError(f"not an age: {value!r}")
        return years
    if not isinstance(value, str):
        raise ValueError(f"not an age: {value!r}")
    text = " ".join(value.split()).lower()
    if text in _NO_LIMIT:
        return None
    m = _AGE_RE.match(text)
    if m is None:
        raise ValueError(f"not an age: {value!r}")
    number = float(m.group("num"))
    unit = m.group("unit")
    if unit is None:
        return number
    factor = _UNIT_YEARS.get(unit)
    if factor is None and unit.endswith("s"):
        factor = _UNIT_YEARS.get(unit[:-1])
    if factor is None:
        raise ValueError(f"unknown age unit in {value!r}")
    return number * factor
