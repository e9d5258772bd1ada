"""Compiling arbitrary text never raises, and every criterion is an exact span."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from criteria import ir
from criteria.compiler import compile_text

# Fragments of real eligibility text, recombined at random, reach the
# recognizers' deeper paths far more often than random characters do.
FRAGMENTS = [
    "Inclusion Criteria:", "Exclusion Criteria:", "\n", "\n\n", "  • ", "* ", "1. ", "a) ", ";",
    "Age 18-75 years", "ECOG 0-1", "Karnofsky ≥ 70%", "hemoglobin ≥ 100 g/L",
    "white blood cell count ≥ 4.010^9/L or neutrophil count ≥ 2.010^9/L",
    "AST and ALT ≤ 1.5 times the upper limit of normal", "creatinine clearance > = 60 ml/min",
    "WBC >= 3,000", "hemoglobin >= 9mg/dl", "platelets 100 /uL", "Age: ", "18 and over",
    "Hepatic:", "Not specified", "No prior chemotherapy", "allowed", "not allowed",
    "within 4 weeks prior to the first dose", "at least 1 cycle of anti-PD-1 therapy",
    "HPV negative by IHC", "HER2-positive", "history of tuberculosis", "NYHA class III/IV",
    "pregnant or breastfeeding", "brain metastases", "measurable disease per RECIST 1.1",
    "if urine protein + then 24-hour protein < 500 mg", "except basal cell carcinoma",
    "including but not limited to:", "i.e., meeting the following criteria:", "(", ")", "or",
    "and", "no", "without", "≤", "≥", "<", ">", "x ULN", "10^9/L", "mg/dL", "µmol/L",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=40))
def test_compiling_arbitrary_text_never_raises(parts):
    text = " ".join(parts)
    for c in compile_text("X", text):
        assert c.compiled in ("full", "partial", "none")
        if c.span is not None:
            assert text[c.span.start:c.span.end] == c.text
        if c.compiled == "full" and c.logic is not None:
            assert not any(isinstance(a, ir.Review) for a in ir.atoms(c.logic))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_compiling_random_characters_never_raises(text):
    compile_text("X", text)
