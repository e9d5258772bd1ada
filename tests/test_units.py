"""Unit parsing and conversion through the project's single pint registry."""

from __future__ import annotations

import pytest

from criteria.units import UnitError, convert, parse_unit, registry, same_dimension

LAB_UNITS = [
    "g/dL",
    "g/L",
    "10^9/L",
    "x10^9/L",
    "×10⁹/L",
    "10*9/L",
    "10E9/L",
    "/uL",
    "/µL",
    "/mm3",
    "/mm³",
    "cells/mm3",
    "cells/uL",
    "K/uL",
    "mg/dL",
    "umol/L",
    "µmol/L",
    "μmol/L",
    "U/L",
    "IU/L",
    "mL/min",
    "ml/min",
    "mL/min/1.73m2",
    "mmol/L",
    "L",
    "mL",
    "ml",
    "pg/mL",
    "ng/mL",
    "mg/L",
    "mg/24h",
    "mg",
    "%",
    "g/24 h",
    "x 10^9/L",
    "10^12/L",
    "copies/mL",
    "mIU/L",
]


@pytest.mark.parametrize("text", LAB_UNITS)
def test_parses_lab_units(text: str) -> None:
    unit = parse_unit(text)
    assert unit is not None
    assert str(unit) != "dimensionless" or text == "%"


@pytest.mark.parametrize(
    "text", ["banana", "", "   ", "5", "mg/", "10^7/L", "//", "mEq/L", "per banana"]
)
def test_rejects_garbage_naming_the_text(text: str) -> None:
    with pytest.raises(UnitError) as err:
        parse_unit(text)
    assert repr(text) in str(err.value)


@pytest.mark.parametrize(
    ("value", "src", "dst", "mw", "expected"),
    [
        (12.4, "g/dL", "g/L", None, 124.0),
        (3900, "/uL", "10^9/L", None, 3.9),
        (231, "x10^9/L", "10^9/L", None, 231.0),
        (231, "×10⁹/L", "/uL", None, 231_000.0),
        (100_000, "/mm3", "10^9/L", None, 100.0),
        (100_000, "cells/mm³", "10*9/L", None, 100.0),
        (1.5, "K/uL", "/uL", None, 1500.0),
        (4.5, "10^12/L", "10^6/uL", None, 4.5),
        (1.0, "mg/dL", "umol/L", 113.12, 88.4),  # creatinine
        (88.4, "µmol/L", "mg/dL", 113.12, 1.0),
        (1.0, "mg/dL", "μmol/L", 584.66, 17.1),  # bilirubin
        (100, "mg/dL", "mmol/L", 180.16, 5.55),  # glucose
        (200, "mg/L", "mg/dL", None, 20.0),  # "urea nitrogen <= 200 mg/L"
        (20, "mg/dL", "mmol/L", 28.014, 7.14),  # BUN as urea nitrogen -> mmol/L urea
        (2, "L", "mL", None, 2000.0),
        (800, "ml", "L", None, 0.8),
        (40, "IU/L", "U/L", None, 40.0),
        (60, "mL/min/1.73m2", "mL/min", None, 60.0),
        (500, "mg/24h", "g/24 h", None, 0.5),
        (1.0, "uIU/mL", "mIU/L", None, 1.0),
    ],
)
def test_conversions(value: float, src: str, dst: str, mw: float | None, expected: float) -> None:
    assert convert(value, src, dst, molar_mass=mw) == pytest.approx(expected, rel=2e-3)


@pytest.mark.parametrize(
    ("src", "dst", "mw"),
    [
        ("mg/dL", "10^9/L", None),
        ("mg/dL", "10^9/L", 113.12),
        ("mg/dL", "umol/L", None),  # needs a molar mass
        ("U/L", "g/L", None),
        ("copies/mL", "IU/mL", None),
        ("%", "mL", None),
    ],
)
def test_inconvertible_raises_naming_both_units(src: str, dst: str, mw: float | None) -> None:
    with pytest.raises(UnitError) as err:
        convert(1.0, src, dst, molar_mass=mw)
    assert src in str(err.value) and dst in str(err.value)


@pytest.mark.parametrize(
    ("a", "b", "mw", "expected"),
    [
        ("g/dL", "g/L", None, True),
        ("/uL", "10^9/L", None, True),
        ("mg/dL", "umol/L", None, False),
        ("mg/dL", "umol/L", 113.12, True),
        ("mg/dL", "10^9/L", None, False),
        ("mL/min", "mL/min/1.73m2", None, True),
        ("banana", "g/L", None, False),
    ],
)
def test_same_dimension(a: str, b: str, mw: float | None, expected: bool) -> None:
    assert same_dimension(a, b, molar_mass=mw) is expected


def test_one_registry() -> None:
    assert registry() is registry()
    assert parse_unit("g/L")._REGISTRY is registry()


def test_giga_per_litre_as_chinese_labs_print_it():
    assert convert(1.5, "G/L", "10^9/L") == pytest.approx(1.5)
    assert convert(90, "g/L", "g/dL") == pytest.approx(9.0)  # lower case stays grams
