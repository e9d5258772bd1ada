"""Kleene semantics of the rule translation.

The per-patient evaluator combines atom values in Python; the rule text
encodes the same logic as a (certain, possible) pair of rule-engine
expressions.  Both must agree on every tree and every patient: a
differential, property-based test.
"""

from __future__ import annotations

import rule_engine
from hypothesis import given, settings
from hypothesis import strategies as st

from criteria import ir
from criteria.rules import translate
from matcher.evaluate import kleene

CTX = rule_engine.Context(default_value=None)

ATOMS: list[ir.Node] = [
    ir.AgeAtom(op=">=", value=18),
    ir.AgeAtom(op="<=", value=75),
    ir.LabAtom(analyte="hemoglobin", op=">=", value=100, unit="g/L", within_days=14),
    ir.LabAtom(analyte="ast", op="<=", value=1.5, relative_to="uln"),
    ir.LabResultAtom(analyte="hiv_antibody", results=("positive",)),
    ir.BiomarkerAtom(marker="pd-l1-cps", op=">=", value=1),
    ir.FindingAtom(key="measurable_disease", value=True),
    ir.PerformanceAtom(scale="Karnofsky", op=">=", value=80),
    ir.TreatmentAtom(classes=("anti-pd-1",), progression=True, ended_days_before=28),
    ir.ConditionAtom(concepts=("tuberculosis",)),
    ir.ConditionAtom(concepts=("diabetes-mellitus",), uncontrolled=True, active_only=True),
    ir.ParticipationAtom(within_days=28),
]


def facts_strategy() -> st.SearchStrategy[dict]:
    maybe_int = st.none() | st.integers(0, 120)
    lab = st.none() | st.fixed_dictionaries({
        "value": st.none() | st.floats(0, 300), "x_uln": st.none() | st.floats(0, 5),
        "result": st.sampled_from([None, "positive", "negative"]),
        "days_ago": maybe_int})
    treatment = st.fixed_dictionaries({
        "classes": st.sampled_from([[], ["anti-pd-1", "antineoplastic"], ["platinum"]]),
        "drug": st.sampled_from([None, "pembrolizumab"]), "kind": st.just("drug"),
        "progressed": st.sampled_from([None, True, False]), "ongoing": st.sampled_from(
            [None, True, False]), "days_since_end": maybe_int, "days_since_last": maybe_int,
        "cycles": maybe_int})
    named = st.sampled_from([["tuberculosis"], ["diabetes-mellitus"], ["asthma"]])
    condition = st.fixed_dictionaries({
        "concepts": st.shared(named, key="named"), "named": st.shared(named, key="named"),
        "status": st.sampled_from(["active", "history", "resolved", "absent"]),
        "controlled": st.sampled_from([None, True, False]), "days_ago": maybe_int,
        "grade": st.none(), "nyha_class": st.none()})
    kps = st.none() | st.sampled_from([{"low": 70, "high": 80, "days_ago": 3},
                                       {"low": 90, "high": 90, "days_ago": None}])
    return st.fixed_dictionaries({
        "age": maybe_int,
        "history_complete": st.booleans(),
        "labs": st.fixed_dictionaries({"hemoglobin": lab, "ast": lab, "hiv_antibody": lab}),
        "biomarkers": st.fixed_dictionaries({"pd-l1-cps": st.none() | st.fixed_dictionaries(
            {"value": st.none() | st.floats(0, 100)})}),
        "findings": st.fixed_dictionaries({"measurable_disease": st.sampled_from(
            [None, True, False])}),
        "performance": st.fixed_dictionaries({"karnofsky": kps}),
        "treatments": st.lists(treatment, max_size=3),
        "conditions": st.lists(condition, max_size=3),
        "participation": st.fixed_dictionaries({"days_ago": maybe_int}),
    })


def trees(depth: int = 3) -> st.SearchStrategy[ir.Node]:
    leaf = st.sampled_from(ATOMS)
    return st.recursive(leaf, lambda kids: st.one_of(
        st.lists(kids, min_size=2, max_size=3).map(lambda k: ir.And(items=tuple(k))),
        st.lists(kids, min_size=2, max_size=3).map(lambda k: ir.Or(items=tuple(k))),
        kids.map(lambda k: ir.Not(item=k)),
    ), max_leaves=6)


def pair_value(node: ir.Node, facts: dict) -> bool | None:
    expr = translate(node)
    if rule_engine.Rule(expr.certain, context=CTX).evaluate(facts):
        return True
    if not rule_engine.Rule(expr.possible, context=CTX).evaluate(facts):
        return False
    return None


@settings(max_examples=300, deadline=None)
@given(trees(), facts_strategy())
def test_tree_encoding_matches_kleene_combination(tree, facts):
    atom_values = {a: pair_value(a, facts) for a in ir.atoms(tree)}
    assert pair_value(tree, facts) == kleene(tree, atom_values, None)


def test_certain_implies_possible_for_every_atom():
    # A node can never be surely true and surely false at once.
    facts = {"age": None, "history_complete": False, "labs": {}, "treatments": [],
             "conditions": [], "findings": {}, "performance": {}, "participation": {}}
    for atom in ATOMS:
        expr = translate(atom)
        certain = rule_engine.Rule(expr.certain, context=CTX).evaluate(facts)
        possible = rule_engine.Rule(expr.possible, context=CTX).evaluate(facts)
        assert not certain or possible, atom


KLEENE_TABLE = [
    # (a, b, and, or)
    (True, True, True, True), (True, None, None, True), (True, False, False, True),
    (None, None, None, None), (None, False, False, None), (False, False, False, False),
]


def test_kleene_truth_table():
    a_atom, b_atom = ATOMS[0], ATOMS[1]
    for a, b, conj, disj in KLEENE_TABLE:
        values = {a_atom: a, b_atom: b}
        assert kleene(ir.And(items=(a_atom, b_atom)), values, None) is conj
        assert kleene(ir.Or(items=(a_atom, b_atom)), values, None) is disj
        assert kleene(ir.Not(item=a_atom), values, None) is (None if a is None else not a)


def test_stale_lab_is_unknown_never_fail():
    atom = ir.LabAtom(analyte="hemoglobin", op=">=", value=100, unit="g/L", within_days=14)
    fresh_low = {"labs": {"hemoglobin": {"value": 90.0, "days_ago": 3}}}
    stale_ok = {"labs": {"hemoglobin": {"value": 130.0, "days_ago": 30}}}
    stale_low = {"labs": {"hemoglobin": {"value": 90.0, "days_ago": 30}}}
    assert pair_value(atom, fresh_low) is False
    assert pair_value(atom, stale_ok) is None
    assert pair_value(atom, stale_low) is None  # stale data decides nothing
    undated = {"labs": {"hemoglobin": {"value": 130.0, "days_ago": None}}}
    assert pair_value(atom, undated) is None


def test_history_policy():
    tb = ir.ConditionAtom(concepts=("tuberculosis",))
    empty = {"conditions": [], "history_complete": False}
    assert pair_value(tb, empty) is None
    assert pair_value(tb, {**empty, "history_complete": True}) is False
    recorded_absent = {"conditions": [{"concepts": ["tuberculosis"], "named": ["tuberculosis"],
                                       "status": "absent"}],
                       "history_complete": False}
    assert pair_value(tb, recorded_absent) is False



def test_absence_of_a_specific_concept_says_nothing_of_its_ancestor():
    malignancy = ir.ConditionAtom(concepts=("malignant-neoplasm",))
    no_prostate = {"conditions": [{"concepts": ["prostate-cancer", "malignant-neoplasm"],
                                   "named": ["prostate-cancer"], "status": "absent"}],
                   "history_complete": False}
    assert pair_value(malignancy, no_prostate) is None
    ild = ir.ConditionAtom(concepts=("interstitial-lung-disease",))
    no_lung_disease = {"conditions": [{"concepts": ["lung-disease"], "named": ["lung-disease"],
                                       "status": "absent"}], "history_complete": False}
    assert pair_value(ild, no_lung_disease) is False
