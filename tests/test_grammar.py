"""Threshold and window grammar, table-driven from real criterion texts."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from criteria.grammar import COMPARATOR_FIRST, COMPARATORS, find_thresholds, find_windows

THRESHOLDS = [
    # text, [(op, value, unit, relative_to)]
    ("hemoglobin ≥ 100 g/L", [(">=", 100, "g/L", None)]),
    ("white blood cell count ≥ 4.010^9/L or neutrophil count ≥ 2.010^9/L",
     [(">=", 4.0, "10^9/L", None), (">=", 2.0, "10^9/L", None)]),
    ("platelet count ≥ 100*10^9/L", [(">=", 100, "10^9/L", None)]),
    ("ANC >= 1.5 x 10^9/L", [(">=", 1.5, "10^9/L", None)]),
    ("Absolute neutrophil count at least 1,500/mm3", [(">=", 1500, "/mm3", None)]),
    ("serum total bilirubin level ≤ 1.5 times the upper limit of normal",
     [("<=", 1.5, None, "uln")]),
    ("AST and ALT <= 2.5 x ULN (<= 5 x ULN if liver metastases)",
     [("<=", 2.5, None, "uln"), ("<=", 5, None, "uln")]),
    ("blood creatinine level below 1.5 times the upper limit of normal", [("<", 1.5, None, "uln")]),
    ("creatinine clearance ≥ 60 ml/min", [(">=", 60, "ml/min", None)]),
    ("urea nitrogen ≤ 200 mg/L", [("<=", 200, "mg/L", None)]),
    ("Bilirubin no greater than 1.5 mg/dL", [("<=", 1.5, "mg/dL", None)]),
    ("WBC > = 3,000", [(">=", 3000, None, None)]),
    ("Platelet count greater than or equal to 100,000/mm^3", [(">=", 100000, "/mm^3", None)]),
    ("hemoglobin >= 9mg/dl", [(">=", 9, "mg/dl", None)]),
    ("baseline FEV1 of at least 2L", [(">=", 2, "L", None)]),
    ("creatinine not more than 1.5 x institutional upper limit of normal",
     [("<=", 1.5, None, "uln")]),
]


@pytest.mark.parametrize("text,expected", THRESHOLDS)
def test_thresholds(text, expected):
    got = [(t.op, t.value, t.unit, t.relative_to) for t in find_thresholds(text)]
    assert got[: len(expected)] == [(o, float(v), u, r) for o, v, u, r in expected]


def test_lost_multiplication_sign_is_noted():
    (t,) = find_thresholds("white blood cell count ≥ 4.010^9/L")
    assert t.value == 4.0 and t.note and "multiplication sign" in t.note


WINDOWS = [
    ("within 2 weeks prior to treatment", "within", 14),
    ("completed at least 4 weeks prior to the first dose", "since", 28),
    ("within 1 week prior to the first dose", "within", 7),
    ("a history of other malignancies within five years", "within", 1825),
    ("cerebral embolism within 6 months prior to first dose", "within", 180),
    ("more than 1 year since completion", "since", 365),
    ("in the last 3 months", "within", 90),
    ("28 days before randomization", "since", 28),
]


@pytest.mark.parametrize("text,kind,days", WINDOWS)
def test_windows(text, kind, days):
    (w,) = find_windows(text)
    assert (w.kind, w.days) == (kind, days)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_grammar_never_raises(text):
    for t in find_thresholds(text):
        assert 0 <= t.start < t.end <= len(text)
    for w in find_windows(text):
        assert w.days >= 0


@pytest.mark.parametrize("text,op,value,relative", [
    ("Bilirubin no greater than upper limit of normal (ULN)", "<=", 1.0, "uln"),
    ("Bilirubin > upper limit of normal (ULN).", ">", 1.0, "uln"),
    ("Creatinine <= IULN", "<=", 1.0, "uln"),
    ("AST/ALT: <= 1.5 times of upper normal limit", "<=", 1.5, "uln"),
    ("ALT < 3 x upper limit of normal", "<", 3.0, "uln"),
])
def test_limits_of_normal_with_and_without_a_multiple(text, op, value, relative):
    (t,) = find_thresholds(text)
    assert (t.op, t.value, t.unit, t.relative_to) == (op, value, None, relative)


def test_a_window_written_as_for_the_prior_weeks():
    (w,) = find_windows("No chemotherapy for prior 4 weeks.")
    assert (w.kind, w.days) == ("within", 28)


@pytest.mark.parametrize("pattern", [p for p, _op in COMPARATORS])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_comparator_starts_with_a_listed_character(pattern: str, data: st.DataObject) -> None:
    """The threshold searches skip positions whose character cannot open a
    comparator (grammar.COMPARATOR_FIRST): a comparator added to the table with a
    new first letter must be added there too, or it would never be found."""
    spelled = data.draw(st.from_regex(re.compile(pattern, re.IGNORECASE), fullmatch=True))
    assert spelled[0].lower() in COMPARATOR_FIRST, (pattern, spelled)
