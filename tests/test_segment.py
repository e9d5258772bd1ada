"""Segmentation: sections, bullets, numbered and nested items, run-on items."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from criteria.segment import segment
from criteria.sources import load_seed_trials


def _seed(trial_id: str) -> str:
    return next(t for t in load_seed_trials() if t.trial_id == trial_id).eligibility_text


def test_seed_segments_are_substrings_with_spans():
    text = _seed("NCT06935188")
    segs = segment(text)
    assert all(text[s.start:s.end] == s.text for s in segs)
    kinds = [s.kind for s in segs]
    assert kinds.index("exclusion") > 0 and "inclusion" not in kinds[kinds.index("exclusion"):]


def test_runon_organ_function_item_is_split_with_its_header():
    segs = segment(_seed("NCT06935188"))
    parts = [s for s in segs if s.header.startswith("Normal major organ function")]
    assert [p.text.split(":")[0] for p in parts[:3]] == ["Bone marrow function", "Liver", "Renal"]
    assert len(parts) == 10
    # "A; if not A then B" stays one clause (one requirement with an alternative)
    pulmonary = [p for p in parts if p.text.startswith("Pulmonary")]
    assert len(pulmonary) == 1 and "800ml" in pulmonary[0].text


def test_numbered_nested_and_wrapped_items():
    text = ("Inclusion Criteria:\n\n1. Age >= 18 years\n2. ECOG 0-1\n   a) adequate organ\n"
            "      function as follows\n\nExclusion Criteria:\n\n- Pregnant or breastfeeding\n"
            "- Known HIV\n  infection\n")
    segs = segment(text)
    assert [(s.kind, s.text) for s in segs] == [
        ("inclusion", "Age >= 18 years"), ("inclusion", "ECOG 0-1"),
        ("inclusion", "adequate organ\n      function as follows"),
        ("exclusion", "Pregnant or breastfeeding"), ("exclusion", "Known HIV\n  infection")]


def test_pdq_runon_paragraph_is_cut_at_labels():
    text = ("PATIENT CHARACTERISTICS: Age: 18 and over Performance status: Karnofsky 60-100% "
            "Hematopoietic: Absolute neutrophil count at least 1,500/mm3 Platelet count at "
            "least 100,000/mm3 Hepatic: Bilirubin no greater than 1.5 mg/dL")
    labels = [s.text.split(":")[0] for s in segment(text)]
    assert labels == ["Age", "Performance status", "Hematopoietic",
                      "Platelet count at least 100,000/mm3", "Hepatic"]


@pytest.mark.parametrize("text,parts", [
    ("PATIENT CHARACTERISTICS: Other: Not pregnant or nursing No other serious illness\n"
     "        No other prior invasive malignancy HIV negative",
     ["Other: Not pregnant or nursing", "No other serious illness",
      "No other prior invasive malignancy", "HIV negative"]),
    ("PRIOR CONCURRENT THERAPY: Chemotherapy: No concurrent chemotherapy At least 6 weeks "
     "since chemotherapy", ["Chemotherapy: No concurrent chemotherapy",
                            "At least 6 weeks since chemotherapy"]),
    # not cut after a joining word, nor before a label-like word with a colon
    ("PATIENT CHARACTERISTICS: Other: No infection or No more than one prior regimen",
     ["Other: No infection or No more than one prior regimen"]),
    # only PDQ records: elsewhere a capital word inside an item is not a new requirement
    ("Inclusion Criteria:\n- Must have disease Not amenable to surgery",
     ["Must have disease Not amenable to surgery"]),
])
def test_pdq_runon_clause_is_cut_where_a_requirement_opens(text, parts):
    assert [s.text for s in segment(text)] == parts


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_segmenter_never_raises_and_spans_hold(text):
    for s in segment(text):
        assert text[s.start:s.end] == s.text and s.kind in ("inclusion", "exclusion")


def test_a_negated_intro_under_exclusions_keeps_them_exclusions():
    """AIDS-era legacy records restate the heading: "Exclusion Criteria / Patients
    will not be eligible for this study if they: / - Are pregnant"."""
    text = ("Inclusion Criteria\r\n\r\n        Patients may be eligible for this study if they:\r\n"
            "\r\n          -  Are HIV-positive.\r\n\r\n        Exclusion Criteria\r\n\r\n"
            "        Patients will not be eligible for this study if they:\r\n\r\n"
            "          -  Have hepatitis within 90 days prior to study entry.\r\n\r\n"
            "          -  Are pregnant or breast-feeding.")
    kinds = [(s.kind, s.text) for s in segment(text)]
    assert kinds == [("inclusion", "Are HIV-positive."),
                     ("exclusion", "Have hepatitis within 90 days prior to study entry."),
                     ("exclusion", "Are pregnant or breast-feeding.")]


def test_a_label_ends_where_its_indented_items_end():
    # "- Other Malignancies:" with its items indented under it, then "- Informed
    # Consent: ..." back at the label's level: carried on, the label required a
    # malignancy of the consent item
    from criteria.segment import segment
    text = ("Inclusion Criteria:\n\n  -  Other Malignancies:\n\n       -  Patients with previous "
            "head and neck cancer are ineligible.\n\n  -  Informed Consent: Patients must give "
            "written informed consent\n")
    segs = segment(text)
    assert [s.label for s in segs if "head and neck" in s.text][0].startswith("Other Malignancies")
    assert [s.label for s in segs if "Informed Consent" in s.text] == [""]
