"""Clinical units: one pint registry, tolerant parsing of lab unit strings, conversion.

All conversion factors come from pint (plus the definitions in
``criteria/knowledge/units.txt``); nothing here hard-codes a factor.

Parsing conventions (documented choices):

* ``10^9/L``, ``x10^9/L``, ``×10⁹/L``, ``10*9/L``, ``10E9/L`` -> ``gigacount / liter``
  (``count`` is dimensionless, so ``/uL``, ``cells/uL``, ``/mm3`` convert to it).
* ``K/uL`` (thousands per microlitre) -> ``kilocount / microliter``; ``M/uL`` -> megacount.
* ``IU`` (enzyme activity) is the same unit as ``U`` (see units.txt).
* ``/1.73m2`` body-surface normalisation is dropped: an eGFR or creatinine
  clearance in mL/min/1.73m2 is compared with a threshold in mL/min as if the
  patient's body surface were 1.73 m2.  Eligibility text uses the two
  interchangeably; exact BSA de-normalisation would need height and weight.
* ``/24h``, ``/24 h``, ``/24 hours`` -> ``/day``.
* Mass <-> molar concentration only with a molar mass, through pint's
  ``chemistry`` context.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

import pint

__all__ = ["UnitError", "convert", "parse_unit", "registry", "same_dimension"]

_DEFINITIONS = Path(__file__).parent / "knowledge" / "units.txt"


class UnitError(ValueError):
    """A unit string could not be parsed, or two units cannot be converted."""


@cache
def registry() -> pint.UnitRegistry:
    """The single project-wide unit registry (built on first use)."""
    ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    ureg.load_definitions(str(_DEFINITIONS))
    return ureg


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_POWER_PREFIX = {3: "kilocount", 6: "megacount", 9: "gigacount", 12: "teracount"}

# "x10^9", "10*9", "10E9", "10^9 cells" at the start of a unit string
_RE_POWER = re.compile(
    r"^\s*(?:[x*]\s*)?10\s*(?:\^|\*\*|\*|e)\s*(\d{1,2})\s*(?:cells?\b)?\s*", re.IGNORECASE
)
_RE_THOUSANDS = re.compile(r"^\s*(k|thou|thousand|m|mil|million)\s*(?=/)", re.IGNORECASE)
_RE_BSA = re.compile(
    r"(?:/|\bper\s+)\s*1[.,]73\s*(?:m\s*(?:\^|\*\*)?\s*2|sq\.?\s*m)\b", re.IGNORECASE
)
_RE_24H = re.compile(r"/\s*24\s*-?\s*(?:h|hr|hrs|hour|hours)\b", re.IGNORECASE)
_RE_LEN_POWER = re.compile(r"\b(mm|cm|dm|um|m)\s*([23])\b")
_RE_CELLS = re.compile(r"\bcells?\b", re.IGNORECASE)
_RE_ENZYME = re.compile(r"\b(m|u|k)?IU\b")
_RE_LITRE = re.compile(r"\b(m|u|d|n|p|f)?l\b")  # "ml", "dl", "ul": pint wants an L


def _normalise(text: str) -> str:
    s = text.strip().translate(_SUPERSCRIPTS)
    s = s.replace("µ", "u").replace("μ", "u").replace("×", "x").replace("·", "*")
    # superscript exponent after translate: "10⁹" became "109"; "mm³" became "mm3"
    s = re.sub(r"^\s*(?:x\s*)?10(3|6|9|12)(?=\s*(?:/|cells?\b))", r"10^\1", s)
    s = _RE_BSA.sub("", s)
    # "mg/100 ml", "mg%": the old ways of writing mg/dL
    s = re.sub(r"/\s*100\s*m[lL]\b", "/dL", s)
    s = re.sub(r"^(m?g)\s*%$", r"\1/dL", s)
    s = re.sub(r"\bper\s+", "/", s, flags=re.IGNORECASE)
    s = _RE_24H.sub("/day", s)
    # "1.5 G/L", "4 T/L": giga- and tera-cells per litre as Chinese and French labs
    # print counts (upper case only: "g/L" is grams).
    s = re.sub(r"^([GT])\s*/", lambda m: ("gigacount" if m.group(1) == "G" else "teracount")
               + "/", s)
    m = _RE_POWER.match(s)
    if m:
        exp = int(m.group(1))
        if exp not in _POWER_PREFIX and exp not in (4, 5):
            raise UnitError(f"unsupported power of ten in unit {text!r}")
        rest = s[m.end() :].strip()
        # "10^4/mm3" (Japanese laboratories print platelets so): a plain factor
        head = _POWER_PREFIX.get(exp) or f"count_e{exp}"
        s = head + (rest if rest.startswith("/") else "*" + rest if rest else "")
    else:
        m = _RE_THOUSANDS.match(s)
        if m:
            word = m.group(1).lower()
            s = ("kilocount" if word in ("k", "thou", "thousand") else "megacount") + s[m.end() :]
    s = _RE_CELLS.sub("count", s)
    s = _RE_LEN_POWER.sub(r"\1**\2", s)
    s = _RE_LITRE.sub(lambda m: (m.group(1) or "") + "L", s)
    s = re.sub(r"\s+", " ", s).strip()
    if s.startswith("/"):
        s = "1" + s
    return s


@lru_cache(maxsize=4096)
def parse_unit(text: str) -> pint.Unit:
    """Parse a unit as labs and eligibility texts print it.

    Raises :class:`UnitError` (naming the text) if it is not a unit.
    """
    if not isinstance(text, str) or not text.strip():
        raise UnitError(f"empty unit text {text!r}")
    s = _normalise(text)
    try:
        unit = registry().parse_units(s)
    except Exception as exc:  # pint raises assorted errors (incl. AssertionError) on garbage
        raise UnitError(f"cannot parse unit {text!r}") from exc
    return unit


def _quantity(value: float, unit: str) -> pint.Quantity:
    return registry().Quantity(value, parse_unit(unit))


def convert(value: float, from_unit: str, to_unit: str, molar_mass: float | None = None) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit``.

    ``molar_mass`` (g/mol) enables mass <-> amount-of-substance conversion
    (e.g. creatinine mg/dL <-> umol/L).  Raises :class:`UnitError` if the
    units are not convertible.  Clinical units are all multiplicative (no
    offsets), so the conversion is a cached factor: pint is asked once per
    pair of unit texts, not once per value.
    """
    return value * _factor(from_unit, to_unit, molar_mass)


@lru_cache(maxsize=4096)
def _factor(from_unit: str, to_unit: str, molar_mass: float | None) -> float:
    ureg = registry()
    q = _quantity(1.0, from_unit)
    target = parse_unit(to_unit)
    try:
        return float(q.to(target).magnitude)
    except pint.errors.DimensionalityError:
        if molar_mass is None:
            raise UnitError(
                f"cannot convert {from_unit!r} to {to_unit!r} (different dimensions)"
            ) from None
    try:
        mw = ureg.Quantity(molar_mass, "g/mol")
        return float(q.to(target, "chemistry", mw=mw).magnitude)
    except (pint.errors.DimensionalityError, ZeroDivisionError):
        raise UnitError(
            f"cannot convert {from_unit!r} to {to_unit!r} even with molar mass {molar_mass} g/mol"
        ) from None


def same_dimension(a: str, b: str, molar_mass: float | None = None) -> bool:
    """True if a value in unit ``a`` can be converted to unit ``b``."""
    try:
        convert(1.0, a, b, molar_mass)
    except UnitError:
        return False
    return True
