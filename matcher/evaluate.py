"""The per-patient executor: criteria x facts -> statuses, with reasons.

Each atom is evaluated by rule-engine as a (certain, possible) pair of
expressions (``criteria.rules``); connectives combine the three-valued
results with Kleene logic.  Review leaves (text nobody could compile) are
evaluated twice, all read against the criterion and all read for it (a leaf
under a negation takes the opposite value): when the answer does not depend on
them, the compiled part decides; when it does, the criterion goes to a person.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import rule_engine

from criteria import ir
from criteria.rules import translate
from matcher.explain import atom_reason, to_confirm_for
from matcher.facts import Facts

Tri = bool | None  # True pass, False fail, None unknown

_CONTEXT = rule_engine.Context(default_value=None)
# Rules read facts with dot syntax (``labs.hemoglobin.value``), which rule-engine 5
# resolves on mappings with a deprecation warning; rule-engine is pinned to 5.1.0
# and the rule syntax must move to mapping access before an upgrade to 6.
warnings.filterwarnings("ignore", category=rule_engine.errors.MappingAttributeLookupDeprecation)


@lru_cache(maxsize=8192)
def _rule(expression: str) -> rule_engine.Rule:
    return rule_engine.Rule(expression, context=_CONTEXT)


@lru_cache(maxsize=8192)
def _pair(atom: ir.Node) -> tuple[rule_engine.Rule, rule_engine.Rule]:
    expr = translate(atom)
    return _rule(expr.certain), _rule(expr.possible)


def _project(atom: ir.Node, values: dict) -> dict:
    """The facts one atom reads.  rule-engine coerces every value it resolves,
    recursively: handing it only the atom's own facts keeps that cost small."""
    match atom:
        case ir.LabAtom(analyte=a) | ir.LabResultAtom(analyte=a):
            return {"labs": {a: values["labs"].get(a)}}
        case ir.BiomarkerAtom(marker=m):
            return {"biomarkers": {m: values["biomarkers"].get(m)}}
        case ir.FindingAtom(key=k):
            return {"findings": {k: values["findings"].get(k)}}
        case ir.PerformanceAtom(scale=scale):
            key = scale.lower()
            return {"performance": {key: values["performance"].get(key)}}
        case ir.TreatmentAtom(drugs=drugs, classes=classes, kinds=kinds):
            # Only records the rule's own selector can match (the rule re-checks it).
            wanted = set(classes)
            records = [t for t in values["treatments"]
                       if (not drugs and not classes and not kinds) or t["drug"] in drugs
                       or t["kind"] in kinds or wanted.intersection(t["classes"])]
            return {"treatments": records, "history_complete": values["history_complete"]}
        case ir.ConditionAtom(concepts=concepts):
            wanted = set(concepts)
            records = [c for c in values["conditions"] if wanted.intersection(c["concepts"])]
            return {"conditions": records, "history_complete": values["history_complete"]}
        case ir.ParticipationAtom():
            return {"participation": values["participation"],
                    "history_complete": values["history_complete"]}
        case ir.DiagnosisAtom():
            return {"diagnoses": values["diagnoses"]}
    return values


def atom_value(atom: ir.Node, facts: Facts) -> Tri:
    cached = facts.cache.get(atom, facts)
    if cached is not facts:
        return cached
    certain, possible = _pair(atom)
    thing = _project(atom, facts.values)
    value: Tri = None
    if certain.evaluate(thing):
        value = True
    elif not possible.evaluate(thing):
        value = False
    facts.cache[atom] = value
    return value


def _and(values: list[Tri]) -> Tri:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _or(values: list[Tri]) -> Tri:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def _not(value: Tri) -> Tri:
    return None if value is None else not value


def kleene(node: ir.Node, values: dict[ir.Node, Tri], review_as: Tri) -> Tri:
    if isinstance(node, ir.And):
        return _and([kleene(i, values, review_as) for i in node.items])
    if isinstance(node, ir.Or):
        return _or([kleene(i, values, review_as) for i in node.items])
    if isinstance(node, ir.Not):
        # a review leaf under a negation takes the opposite value, so that
        # review_as=True gives the highest value any reading of the review leaves
        # could give and False the lowest (read with one value everywhere, "X and
        # not [allowed exception] and [qualifier]" could never be met)
        return _not(kleene(node.item, values, not review_as))
    if isinstance(node, ir.Review):
        return review_as
    return values[node]


def relaxed(kind: str, logic: ir.Node) -> tuple[ir.Node | None, tuple[str, ...]]:
    """Drop review parts whose removal can only make the criterion easier to
    meet: the conjuncts of an inclusion, the disjuncts of an exclusion.  The
    compiled rest decides; the dropped text is reported for review."""
    joint = ir.And if kind == "inclusion" else ir.Or
    if isinstance(logic, ir.Review):
        return None, (logic.text,)
    if isinstance(logic, joint):
        kept = [i for i in logic.items if not isinstance(i, ir.Review)]
        dropped = tuple(i.text for i in logic.items if isinstance(i, ir.Review))
        if not kept:
            return None, dropped
        return (kept[0] if len(kept) == 1 else joint(items=tuple(kept))), dropped
    return logic, ()


@dataclass
class CriterionResult:
    criterion: ir.Criterion
    status: str  # pass | fail | unknown | review
    reason: str
    data: list[str] = field(default_factory=list)  # the fact paths used
    to_confirm: list[str] = field(default_factory=list)


def _status(value: Tri) -> str:
    return {True: "pass", False: "fail", None: "unknown"}[value]


def evaluate_criterion(criterion: ir.Criterion, facts: Facts) -> CriterionResult:
    review_texts = list(criterion.review)
    if criterion.logic is None and criterion.compiled == "full":
        return CriterionResult(criterion, "pass", "imposes no requirement (e.g. \"both sexes\")")
    if criterion.logic is None:
        text = "; ".join(review_texts) if review_texts else criterion.text
        return CriterionResult(criterion, "review", "not compiled: needs a person",
                               to_confirm=[f"Review: {text}"])
    logic, dropped = relaxed(criterion.kind, criterion.logic)
    review_texts.extend(dropped)
    if logic is None:
        return CriterionResult(criterion, "review", "not compiled: needs a person",
                               to_confirm=[f"Review: {t}" for t in review_texts])
    parts = ir.atoms(logic)
    leaves = [a for a in parts if not isinstance(a, ir.Review)]
    review_texts.extend(a.text for a in parts if isinstance(a, ir.Review))
    values = {a: atom_value(a, facts) for a in leaves}
    if criterion.kind == "exclusion":
        low = _not(kleene(logic, values, True))
        high = _not(kleene(logic, values, False))
    else:
        low = kleene(logic, values, False)
        high = kleene(logic, values, True)
    if low == high:
        status = _status(low)
    elif low is None or high is None:
        status = "unknown"
    else:
        status = "review"
    reasons, data, confirm = [], [], []
    for atom in leaves:
        text, used = atom_reason(atom, values[atom], facts)
        reasons.append(text)
        data.extend(p for p in used if p not in data)
        if values[atom] is None:
            confirm.append(to_confirm_for(atom, facts))
    reason, confirm_list = worded(status, reasons, confirm, review_texts)
    return CriterionResult(criterion, status, reason, data, confirm_list)


def worded(status: str, reasons: list[str], confirm: list[str | None],
           review_texts: Sequence[str]) -> tuple[str, list[str]]:
    """A criterion's reason and to-confirm list from its atoms' reasons and
    confirm items (None for an atom that was known), in one wording for every
    executor."""
    # Only what could change the answer is worth confirming.
    confirm_list = [c for c in confirm if c] if status in ("unknown", "review") else []
    confirm_list.extend(f"Review: {t}" for t in review_texts)
    reason = "; ".join(dict.fromkeys(reasons))
    if review_texts and status != "review":
        reason += " (not compiled, for review: " + "; ".join(review_texts) + ")"
    elif status == "review":
        reason += " (decided by the part needing review: " + "; ".join(review_texts) + ")"
    return reason, confirm_list


def evaluate_trial(criteria: list[ir.Criterion], facts: Facts) -> list[CriterionResult]:
    return [evaluate_criterion(c, facts) for c in criteria]
