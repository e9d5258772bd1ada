"""The service's match plan, piece by piece, against the reference.

* ``matcher.service.atom_index``: every atom's code equals the native executor's
  value (``matcher.fast_eval``, itself held equal to rule-engine in
  ``test_service_fast_eval.py``) on random facts built around the plan's own
  thresholds, concepts, drugs and classes: equal values, stale and undated
  labs, NaN, several records, both history policies.
* ``matcher.service.circuit``: random Kleene formulas evaluated at once equal a
  plain recursive evaluation.
* The ranking's sort value orders trials exactly as (verdict, -score) does.
* Whole answers (JSON text, key order included) equal ``matcher.match`` over
  rule-engine for the example patients and synthetic patients
  (``trialmatch synth``), with and without a limit or a trial selection.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from functools import cache
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_service_fast_eval import AS_OF, BASES, corpus_trials, plan

from criteria import ir, stages
from criteria.rules import broader_concepts
from matcher import fast_eval
from matcher.cohort.synth import generate
from matcher.match import match_patient
from matcher.patient import PatientError, parse_patient
from matcher.score import VERDICT_ORDER
from matcher.service.atom_index import empty_values
from matcher.service.circuit import CODE_OF, FAIL, PASS, UNKNOWN, Circuit
from matcher.service.plan import MatchPlan, SortValues, verdict_and_score_of_counts

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------- atom codes

@cache
def vocabulary() -> dict[str, Any]:
    """What the plan's atoms mention: thresholds per (analyte, field), ages,
    concepts, drugs, classes, kinds, settings."""
    labs: dict[str, dict[str, set[float]]] = {}
    ages: set[float] = set()
    concepts: set[str] = set()
    statuses: set[str] = {"recurrent", "metastatic"}
    drugs: set[str] = set()
    classes: set[str] = set()
    kinds: set[str] = {"drug", "radiotherapy", "surgery"}
    settings_: set[str] = {"adjuvant"}
    results: set[str] = {"positive", "negative"}
    for a in plan().atoms:
        match a:
            case ir.LabAtom():
                field = {"uln": "x_uln", "lln": "x_lln", None: "value"}[a.relative_to]
                labs.setdefault(a.analyte, {}).setdefault(field, set()).add(a.value)
            case ir.LabResultAtom():
                labs.setdefault(a.analyte, {}).setdefault("value", set()).add(1.0)
                results.update(a.results)
            case ir.AgeAtom():
                ages.add(a.value)
            case ir.DiagnosisAtom():
                concepts.update(a.histologies or ())
                concepts.update(a.sites or ())
                # (and what a less specific record names: "head and neck cancer")
                concepts.update(broader_concepts(tuple(a.histologies or ())))
                concepts.update(broader_concepts(tuple(a.sites or ())))
                statuses.update(a.statuses or ())
            case ir.ConditionAtom():
                concepts.update(a.concepts)
                concepts.update(a.excluding)
            case ir.TreatmentAtom():
                drugs.update(a.drugs)
                classes.update(a.classes)
                kinds.update(a.kinds)
                settings_.update(a.settings or ())
    return {"labs": {k: {f: sorted(v) for f, v in fields.items()} for k, fields in labs.items()},
            "ages": sorted(ages), "concepts": sorted(concepts), "statuses": sorted(statuses),
            "drugs": sorted(drugs), "classes": sorted(classes), "kinds": sorted(kinds),
            "settings": sorted(settings_), "results": sorted(results)}


def _near(draw: st.DrawFn, values: list[float]) -> float:
    """A threshold itself, or just beside it, or NaN now and then."""
    x = draw(st.sampled_from(values))
    how = draw(st.sampled_from(["same", "same", "below", "above", "half", "nan"]))
    if how == "below":
        return math.nextafter(x, -math.inf)
    if how == "above":
        return math.nextafter(x, math.inf)
    if how == "half":
        return x / 2
    return math.nan if how == "nan" else x


# Records of every group, with and without a substage, and none.
_STAGE_KEYS = [(), *(stages.record_keys(s) for s in
                     ("0", "I", "IB", "II", "IIA", "III", "IIIA", "IIIB", "IIIC", "IV", "IVA",
                      "IVB"))]
maybe_days = st.sampled_from([None, 0, 7, 14, 15, 28, 29, 60, 90, 400, 2000])
maybe_bool = st.sampled_from([None, True, False])


@st.composite
def facts_values(draw: st.DrawFn) -> dict[str, Any]:
    voc = vocabulary()
    v = empty_values(draw(st.booleans()))
    if draw(st.booleans()):  # ages are whole years: at each threshold and beside it
        v["age"] = int(draw(st.sampled_from(voc["ages"]))) + draw(st.sampled_from([-1, 0, 1]))
    v["sex"] = draw(st.sampled_from([None, "male", "female"]))
    for analyte in draw(st.lists(st.sampled_from(sorted(voc["labs"])), max_size=12,
                                 unique=True)):
        fields = voc["labs"][analyte]
        lab = {f: (_near(draw, fields[f]) if f in fields and draw(st.integers(0, 4))
                   else None) for f in ("value", "x_uln", "x_lln")}
        lab["result"] = draw(st.sampled_from([None, *voc["results"]]))
        lab["days_ago"] = draw(maybe_days)
        v["labs"][analyte] = lab
    concepts = st.lists(st.sampled_from(voc["concepts"]), max_size=4, unique=True)
    for _ in range(draw(st.integers(0, 2))):
        have = draw(concepts)
        v["diagnoses"].append({
            "concepts": have, "has_histology": draw(st.booleans()),
            "has_site": draw(st.booleans()),
            # (what the record names: broader than a facet asked for, it is unknown)
            "named": have[:draw(st.integers(0, len(have)))],
            "statuses": draw(st.lists(st.sampled_from(voc["statuses"]), max_size=2,
                                      unique=True)),
            "stage_keys": list(draw(st.sampled_from(_STAGE_KEYS))),
            "confirmed_by": draw(st.sampled_from([None, "histology", "cytology", "clinical"]))})
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(voc["kinds"]))
        drug = draw(st.sampled_from([None, *voc["drugs"]])) if kind == "drug" else None
        ongoing = draw(maybe_bool)
        v["treatments"].append({
            "kind": kind, "drug": drug,
            "classes": draw(st.lists(st.sampled_from(voc["classes"]), max_size=3, unique=True)),
            "cycles": draw(st.sampled_from([None, 1, 2, 4, 6])), "ongoing": ongoing,
            "days_since_end": None if ongoing else draw(maybe_days),
            "days_since_last": draw(maybe_days), "progressed": draw(maybe_bool),
            "setting": draw(st.sampled_from([None, *voc["settings"]]))})
    for _ in range(draw(st.integers(0, 2))):
        have = draw(concepts)
        v["conditions"].append({
            "concepts": have, "named": have[:1],
            "status": draw(st.sampled_from(["active", "history", "resolved", "absent"])),
            "controlled": draw(maybe_bool), "grade": draw(st.sampled_from([None, 1, 2, 3, 4])),
            "nyha_class": draw(st.sampled_from([None, 1, 2, 3, 4])), "days_ago": draw(maybe_days)})
    if draw(st.booleans()):
        v["performance"]["ecog"] = {"low": 1, "high": 2, "days_ago": draw(maybe_days)}
    if draw(st.booleans()):
        v["participation"]["days_ago"] = draw(st.integers(0, 400))
    return v


@SETTINGS
@given(facts_values())
def test_atom_codes_equal_the_native_executor(v):
    p = plan()
    codes = p.index.codes(v, v["history_complete"])
    for i, atom in enumerate(p.atoms):
        assert codes[i] == CODE_OF[fast_eval.atom_value(atom, v)], atom


def test_atom_codes_cover_labs_at_every_threshold():
    """Each lab value exactly at each threshold of its analyte, fresh."""
    p = plan()
    for analyte, fields in vocabulary()["labs"].items():
        for x in fields.get("value", []):
            v = empty_values(False)
            v["labs"][analyte] = {"value": x, "x_uln": x, "x_lln": x, "result": None,
                                  "days_ago": 0}
            codes = p.index.codes(v, False)
            for i in range(len(p.atoms)):
                assert codes[i] == CODE_OF[fast_eval.atom_value(p.atoms[i], v)], p.atoms[i]


# ---------------------------------------------------------------------- the circuit

def _kleene(expr: tuple, leaves: list[int]) -> int:
    head = expr[0]
    if head == "leaf":
        return leaves[expr[1]]
    if head == "const":
        return expr[1]
    if head == "not":
        return {FAIL: PASS, UNKNOWN: UNKNOWN, PASS: FAIL}[_kleene(expr[1], leaves)]
    values = [_kleene(e, leaves) for e in expr[1]]
    order = [FAIL, UNKNOWN, PASS]
    pick = min if head == "and" else max
    return pick(values, key=order.index)


N_LEAVES = 6
formulas = st.recursive(
    st.one_of(st.tuples(st.just("leaf"), st.integers(0, N_LEAVES - 1)),
              st.tuples(st.just("const"), st.sampled_from([FAIL, UNKNOWN, PASS]))),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner),
        st.tuples(st.sampled_from(["and", "or"]),
                  st.lists(inner, min_size=1, max_size=4).map(tuple))),
    max_leaves=12)


@SETTINGS
@given(st.lists(formulas, min_size=1, max_size=8),
       st.lists(st.lists(st.sampled_from([FAIL, UNKNOWN, PASS]), min_size=N_LEAVES,
                         max_size=N_LEAVES), min_size=1, max_size=4))
def test_circuit_equals_kleene_logic(exprs, leaf_sets):
    circuit = Circuit(N_LEAVES)
    wires = [circuit.add(e) for e in exprs]
    circuit.finish()
    for leaves in leaf_sets:
        out = circuit.evaluate(bytes(leaves)).to_pylist()
        assert [out[circuit.wire(w)] for w in wires] == [_kleene(e, leaves) for e in exprs]


# ---------------------------------------------------------------------- ranking

counts = st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40),
                   st.integers(0, 40))


@SETTINGS
@given(st.lists(counts, min_size=2, max_size=30))
def test_sort_value_orders_as_verdict_then_score(many):
    p = MatchPlan([])
    packed = [f | u << 16 | r << 32 | (ps + f + u + r) << 48 for ps, r, u, f in many]
    by_value = [p._sort_value(x) for x in packed]
    by_key = []
    for x in packed:
        v, score = p.verdict_and_score(x)
        by_key.append((VERDICT_ORDER[v], -score))
    for i in range(len(packed)):
        for j in range(len(packed)):
            assert (by_value[i] < by_value[j]) == (by_key[i] < by_key[j])
            assert (by_value[i] == by_value[j]) == (by_key[i] == by_key[j])
    for (ps, r, u, f), x in zip(many, packed, strict=True):
        assert p.verdict_and_score(x) == verdict_and_score_of_counts(ps, r, u, f)


@SETTINGS
@given(st.lists(counts, min_size=1, max_size=30))
def test_sort_values_vectorized_equal_the_scalar_ones(many):
    """``SortValues`` (a table per trial size, integer array arithmetic) gives
    every trial the sort value the scalar path works out from its counts."""
    p = MatchPlan([])
    sizes = [ps + r + u + f for ps, r, u, f in many]
    packed = [f | u << 16 | r << 32 | n << 48 for (_ps, r, u, f), n in zip(many, sizes,
                                                                             strict=True)]
    vectorized = SortValues(sizes)(pa.array(packed, pa.int64())).to_pylist()
    assert vectorized == [p._sort_value(x) for x in packed]


def test_an_empty_plan_answers_with_no_results():
    patient = parse_patient(json.loads(BASES[0].read_text(encoding="utf-8")))
    answer = MatchPlan([]).match(patient, AS_OF, any_status=True, limit=3)
    assert answer["results"] == [] and answer["total_results"] == 0


# ---------------------------------------------------------------------- whole answers

def _synthetic(n: int) -> list[Any]:
    out = []
    for doc in generate(n, seed=7):
        try:
            out.append(parse_patient(doc))
        except PatientError:  # pragma: no cover - synth writes valid documents
            continue
    return out


def _examples() -> list[Any]:
    return [parse_patient(json.loads(p.read_text(encoding="utf-8"))) for p in BASES]


@pytest.mark.parametrize("source", ["examples", "synthetic"])
def test_whole_answers_equal_the_reference(source):
    patients = _examples() if source == "examples" else _synthetic(12)
    for k, patient in enumerate(patients):
        assume_absent = k % 2 == 1
        as_of = AS_OF + timedelta(days=30 * k)
        reference = match_patient(patient, corpus_trials(), as_of, assume_absent, True)
        fast = plan().match(patient, as_of, assume_absent, True)
        assert json.dumps(fast) == json.dumps(reference), patient.id  # key order too
        top = plan().match(patient, as_of, assume_absent, True, limit=5)
        assert top["results"] == reference["results"][:5]
        assert top["total_results"] == len(reference["results"])


def test_a_trial_selection_ranks_as_the_reference():
    trials = corpus_trials()
    chosen = {t.trial.trial_id for t in trials[::3]}
    for patient in _examples()[:3]:
        for any_status in (False, True):
            reference = match_patient(patient, [t for t in trials if t.trial.trial_id in chosen],
                                      AS_OF, False, any_status)
            fast = plan().match(patient, AS_OF, False, any_status, chosen, limit=4)
            assert fast["results"] == reference["results"][:4]
            assert fast["total_results"] == len(reference["results"])


def test_nothing_of_a_patient_stays_in_the_plan():
    """The plan's memos hold counts and sort values only, never patient data."""
    p = plan()
    patient = _examples()[0]
    p.match(patient, AS_OF + timedelta(days=1), False, True, limit=2)
    for memo in (p._sort_values, p._verdict_score):
        assert all(isinstance(k, int) for k in memo)
