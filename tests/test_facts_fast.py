"""The cohort's fast reading (``matcher.cohort.fast_patient``) equals the
pydantic model's, and the facts built from it equal ``build_facts`` of the
validated document.

For random documents, valid (``screen_strategies.patient_document``) and then
randomly damaged (a field set to another JSON value, removed, or an unknown
field added): whenever the fast reading accepts a document, the model accepts
it too, every attribute the fast record holds equals the model's (value and
type), and the facts are the same, evidence included; whenever the model
refuses a document, the fast reading refuses it.  The same on the synthetic
cohort and the examples.  The readers report the model's problems either way.
"""

from __future__ import annotations

import copy
import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from screen_strategies import patient_document

from matcher.cohort.chunk import patient_facts
from matcher.cohort.fast_patient import PatientRecord, fast_patient
from matcher.cohort.readers import CohortError, SkippedPatient, iter_cohort
from matcher.cohort.synth import generate
from matcher.facts import Facts, build_facts
from matcher.patient import PatientDocument, PatientError, parse_patient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AS_OF = date(2026, 6, 1)


def differences(record: Any, model: Any, path: str = "") -> list[str]:
    """Where ``record`` (a fast record, or any value in it) differs from the
    model's value: every slot of every record, compared by value and type."""
    slots = getattr(type(record), "__slots__", None)
    if slots is not None:
        out = []
        for name in slots:
            if not hasattr(model, name):
                out.append(f"{path}.{name}: not on the model")
                continue
            out += differences(getattr(record, name), getattr(model, name), f"{path}.{name}")
        return out
    if isinstance(record, list) and isinstance(model, list):
        if len(record) != len(model):
            return [f"{path}: {len(record)} items, the model {len(model)}"]
        return [d for i, (r, m) in enumerate(zip(record, model, strict=True))
                for d in differences(r, m, f"{path}[{i}]")]
    if type(record) is not type(model) or record != model:
        return [f"{path}: {record!r} ({type(record).__name__}), the model "
                f"{model!r} ({type(model).__name__})"]
    return []


def same_facts(a: Facts, b: Facts) -> bool:
    return (a.values, a.evidence, a.unused) == (b.values, b.evidence, b.unused)


def check(doc: Any) -> PatientRecord | None:
    """The fast reading of ``doc`` agrees with the model's; the record, if any."""
    record = fast_patient(doc)
    try:
        model = parse_patient(doc)
    except PatientError:
        assert record is None, "the fast reading accepted a document the model refuses"
        return None
    if record is None:
        return None  # unusual but valid: the model reads it (slower, never wrong)
    assert differences(record, model) == []
    as_of = model.effective_as_of(None)
    assert record.effective_as_of(None) == as_of
    for assume_absent in (False, True):
        expected = build_facts(model, as_of, assume_absent)
        assert same_facts(build_facts(record, as_of, assume_absent), expected)
        values_only = build_facts(record, as_of, assume_absent, explained=False)
        assert (values_only.values, values_only.unused) == (expected.values, expected.unused)
        assert values_only.evidence == {}
    return record


# Values a damaged field may take: other JSON types, edge numbers and texts.
ODD_VALUES = [None, True, False, 0, 1, -1, 5, 6, 7, 50, 131, 1.5, -0.5, 2 ** 60, 10 ** 400,
              math.nan, math.inf, "", "x", " ECOG ", "kps", "Karnofsky", " Metastatic ",
              "metastatic", "MALE", " female ", "Other", "active", "absent", "drug", "none",
              "2026-02-30", "2026-01-01", "2026-1-1", "2026-01-01T00:00:00", [], ["recurrent"],
              ["nope"], {}, {"system": "ICD-10-CM", "code": "C10"}, {"value": True},
              {"date": "2026-01-01"}, {"code": "x"}]


def _odd(draw: Any) -> Any:
    """An odd value, copied: the dicts and lists of ODD_VALUES are shared, and a
    later damage step could otherwise change them for every following example
    (or put a dict inside itself)."""
    return copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))


def _containers(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, dict):
        out.append(node)
        for value in node.values():
            _containers(value, out)
    elif isinstance(node, list):
        for value in node:
            _containers(value, out)
    return out


@st.composite
def damaged(draw: Any) -> dict[str, Any]:
    doc = draw(patient_document("p1"))
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(_containers(doc, [])))
        action = draw(st.sampled_from(["set", "set", "set", "drop", "add"]))
        if action == "add":
            key = draw(st.sampled_from(["zzz", "class", "nyha_class", "unit", "value", "code",
                                        "result", "age", "birth_date", "findings"]))
            target[key] = _odd(draw)
        elif target:
            key = draw(st.sampled_from(sorted(target)))
            if action == "drop":
                del target[key]
            else:
                target[key] = _odd(draw)
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient_document("p1"))
def test_valid_documents_read_fast_as_the_model_reads_them(doc: dict[str, Any]) -> None:
    assert check(doc) is not None, "a plain valid document left to the slow path"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_documents_never_read_otherwise_than_by_the_model(doc: dict[str, Any]) -> None:
    check(doc)


def test_synthetic_cohort_and_examples_all_read_fast() -> None:
    docs = list(generate(400, seed=7))
    docs += [json.loads(f.read_text(encoding="utf-8")) for f in sorted(EXAMPLES.glob("*.json"))]
    for doc in docs:
        assert check(doc) is not None, doc.get("id")


def test_the_comparison_sees_a_wrong_reading() -> None:
    """The checks above can fail: a record read differently from the model is caught."""
    doc = next(generate(1, seed=3))
    record = fast_patient(doc)
    model = parse_patient(doc)
    assert record is not None and differences(record, model) == []
    record.labs[0].value = record.labs[0].value + 1.0
    assert differences(record, model) == [f".labs[0].value: {record.labs[0].value!r} (float), "
                                          f"the model {model.labs[0].value!r} (float)"]
    assert not same_facts(build_facts(record, AS_OF), build_facts(model, AS_OF))
    record.labs[0].value = model.labs[0].value
    record.sex = "Female" if model.sex == "female" else "Male"  # not normalized
    assert not same_facts(build_facts(record, AS_OF), build_facts(model, AS_OF))
    record.sex = model.sex
    record.labs[0].value = int(model.labs[0].value)  # the model reads numbers as floats
    assert differences(record, model) != []


def test_unknown_fields_bundles_and_lists_go_to_the_model() -> None:
    doc = next(generate(1, seed=3))
    assert fast_patient({**doc, "zzz": 1}) is None
    assert fast_patient({"resourceType": "Bundle", "type": "collection", "entry": []}) is None
    assert fast_patient([doc]) is None


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_readers_report_the_models_problems_on_the_fast_path(tmp_path: Path) -> None:
    good = [json.dumps(d) for d in generate(3, seed=5)]
    bad_unit = dict(next(generate(1, seed=6, start=10)))
    bad_unit["labs"] = [{"name": "hemoglobin", "value": 9.0}]
    lines = [good[0], "{not json", json.dumps(bad_unit), good[1],
             json.dumps({"id": "x", "age": True}), good[2]]
    cohort = _write(tmp_path / "c.jsonl", lines)
    messages = {}
    for fast in (False, True):
        with pytest.raises(CohortError) as err:
            list(iter_cohort(cohort, 10, fast=fast))
        messages[fast] = err.value.problems
    assert messages[True] == messages[False]
    assert any("labs[0].unit" in m for m in messages[True])
    skipped: list[SkippedPatient] = []
    kept = [p for chunk in iter_cohort(cohort, 2, skipped=skipped, fast=True) for p in chunk]
    assert [p.id for p in kept] == [json.loads(line)["id"] for line in good]
    assert all(isinstance(p, PatientRecord) for p in kept)
    assert [s.where for s in skipped] == ["c.jsonl line 2", "c.jsonl line 3", "c.jsonl line 5"]


def test_fast_chunks_give_the_same_facts_as_validated_documents(tmp_path: Path) -> None:
    docs = list(generate(120, seed=11))
    bundle = json.loads((EXAMPLES / "patient.example.json").read_text(encoding="utf-8"))
    cohort = _write(tmp_path / "c.jsonl", [json.dumps(d) for d in docs] + [json.dumps(bundle)])
    fast = [p for chunk in iter_cohort(cohort, 50, fast=True) for p in chunk]
    slow = [p for chunk in iter_cohort(cohort, 50) for p in chunk]
    assert all(isinstance(p, PatientDocument) for p in slow)
    assert [p.id for p in fast] == [p.id for p in slow]
    for a, b in zip(patient_facts(fast, None, False, explained=False),
                    patient_facts(slow, None, False), strict=True):
        assert (a.values, a.unused) == (b.values, b.unused)
