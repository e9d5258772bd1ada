"""The fast path is the reference path, proven by a differential test.

``matcher.fast_eval`` (native atom executor) and ``matcher.service.plan``
(precompiled plans: empty-patient defaults, only changed criteria recomputed)
must give exactly what ``matcher.match.match_patient`` (rule-engine) gives:
the same JSON, for random patients (the example documents, mutated: values
around thresholds, dates fresh and stale, records dropped, histories absent)
against the bundled library and, when ``../shared/data`` is present, a sample
of the compiled research corpus.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from criteria import ir
from criteria.sources import read_trial_paths
from criteria.trial import CompiledTrial
from matcher import evaluate, fast_eval
from matcher.facts import build_facts
from matcher.library import compile_each, load_trials
from matcher.match import match_patient
from matcher.patient import PatientDocument, PatientError, parse_patient
from matcher.service.circuit import CODE_OF
from matcher.service.plan import MatchPlan

ROOT = Path(__file__).resolve().parents[1]
TRIALS = ROOT.parent / "shared" / "data" / "trials"
CONTRACT_EXAMPLE = ROOT.parent / "shared" / "contract" / "patient.example.json"
BASES = sorted((ROOT / "examples").glob("*.json")) + (
    [CONTRACT_EXAMPLE] if CONTRACT_EXAMPLE.is_file() else [])
AS_OF = date(2026, 11, 20)


@cache
def seed_trials() -> list[CompiledTrial]:
    return load_trials(None)


@cache
def corpus_trials() -> list[CompiledTrial]:
    """The bundled library and 120 corpus trials (head-and-neck XML, TrialGPT)."""
    out = list(seed_trials())
    if TRIALS.is_dir():
        items = (read_trial_paths([TRIALS / "ctgov_legacy_xml_head_and_neck"])[:60]
                 + read_trial_paths([TRIALS / "trialgpt_format_oncology_990.jsonl"])[:60])
        out += [o.compiled for o in compile_each(items) if o.compiled is not None]
    return out


@cache
def plan() -> MatchPlan:
    return MatchPlan(corpus_trials())


def _shift(day: Any, days: int) -> Any:
    if not isinstance(day, str):
        return day
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


@st.composite
def patients(draw: st.DrawFn) -> tuple[PatientDocument, date, bool]:
    base = json.loads(draw(st.sampled_from(BASES)).read_text(encoding="utf-8"))
    doc = copy.deepcopy(base)
    doc.pop("as_of", None)
    shift = draw(st.sampled_from([0, 0, -400, -30, 10, 60, 800]))
    factors = st.sampled_from([None, 0.0, 0.3, 0.9, 1.0, 1.01, 1.5, 3.0, 20.0])

    def keep(items: list[Any]) -> list[Any]:
        return [x for x in items if draw(st.booleans()) or draw(st.booleans())]

    doc["sex"] = draw(st.sampled_from(["male", "female", "other", "unknown", doc.get("sex")]))
    for lab in doc.get("labs", []):
        factor = draw(factors)
        if factor is not None and isinstance(lab.get("value"), int | float):
            lab["value"] = round(lab["value"] * factor, 3)
        lab["date"] = _shift(lab.get("date"), draw(st.sampled_from([0, -20, -100])))
    doc["labs"] = keep(doc.get("labs", []))
    for p in doc.get("performance_status", []):
        p["value"] = draw(st.integers(0, 4)) if p.get("scale", "").upper() == "ECOG" \
            else draw(st.sampled_from([40, 60, 70, 80, 90, 100]))
    doc["performance_status"] = keep(doc.get("performance_status", []))
    for c in doc.get("conditions", []):
        c["status"] = draw(st.sampled_from(["active", "history", "resolved", "absent",
                                            c.get("status", "active")]))
        if "controlled" in c or draw(st.booleans()):
            c["controlled"] = draw(st.sampled_from([True, False, None]))
    doc["conditions"] = keep(doc.get("conditions", []))
    for t in doc.get("treatments", []):
        if draw(st.booleans()):
            t["ongoing"] = draw(st.booleans())
            if t["ongoing"]:
                t.pop("end", None)
    doc["treatments"] = keep(doc.get("treatments", []))
    doc["biomarkers"] = keep(doc.get("biomarkers", []))
    for d in doc.get("diagnoses", []):
        d["status"] = draw(st.lists(st.sampled_from(
            ["newly diagnosed", "locally advanced", "recurrent", "metastatic"]), max_size=2,
            unique=True))
    doc["diagnoses"] = keep(doc.get("diagnoses", []))
    findings = doc.get("findings") or {}
    for key in ("pregnant", "breastfeeding", "tumor_tissue_available", "measurable_disease"):
        choice = draw(st.sampled_from(["keep", True, False, None]))
        if choice != "keep":
            if choice is None:
                findings.pop(key, None)
            else:
                findings[key] = choice
    doc["findings"] = findings
    assume_absent = draw(st.booleans())
    try:
        patient = parse_patient(doc)
    except PatientError:
        assume(False)
    return patient, AS_OF + timedelta(days=shift), assume_absent


def _atoms(trials: list[CompiledTrial]) -> list[ir.Node]:
    seen: dict[ir.Node, None] = {}
    for t in trials:
        for c in t.criteria:
            for a in ir.atoms(c.logic):
                if not isinstance(a, ir.Review):
                    seen.setdefault(a, None)
    return list(seen)


SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(patients())
def test_native_atoms_equal_rule_engine_atoms(case):
    patient, as_of, assume_absent = case
    facts = build_facts(patient, as_of, assume_absent)
    for atom in _atoms(corpus_trials()):
        assert fast_eval.atom_value(atom, facts.values) is evaluate.atom_value(atom, facts), atom


@SETTINGS
@given(patients(), st.booleans())
def test_plan_answer_equals_reference_answer(case, any_status):
    patient, as_of, assume_absent = case
    reference = match_patient(patient, corpus_trials(), as_of, assume_absent, any_status)
    fast = plan().match(patient, as_of, assume_absent, any_status)
    assert fast == reference


@pytest.mark.parametrize("limit", [1, 3])
def test_limit_keeps_the_best(limit):
    patient = parse_patient(json.loads(BASES[0].read_text(encoding="utf-8")))
    full = plan().match(patient, AS_OF, any_status=True)
    top = plan().match(patient, AS_OF, any_status=True, limit=limit)
    assert top["results"] == full["results"][:limit]
    assert top["total_results"] == len(full["results"])


def test_empty_patient_defaults_are_what_an_empty_patient_gets():
    """The plan's premise: with no data in an atom's slot, the atom's value is
    its value on a patient with nothing recorded."""
    empty = parse_patient({"id": "empty", "age": 50})
    for policy in (False, True):
        facts = build_facts(empty, AS_OF, policy)
        p = plan()
        for i, atom in enumerate(p.atoms):
            if atom.family == "age":
                continue
            assert p.default_values[policy][i] == CODE_OF[evaluate.atom_value(atom, facts)], atom


@SETTINGS
@given(st.lists(st.sampled_from(["pass", "fail", "unknown", "review"]), max_size=60))
def test_verdict_and_score_from_counts_equal_the_reference(statuses):
    from matcher.score import score, verdict
    from matcher.service.plan import verdict_and_score

    assert verdict_and_score(statuses) == (verdict(statuses), score(statuses))
