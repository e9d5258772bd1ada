"""A native executor for IR atoms: the same three-valued answers as the
rule-engine pair of expressions (``criteria.rules``), computed in plain Python.

``matcher.evaluate`` stays the reference: it turns every atom into rule-engine
expressions.  This module evaluates the atom directly on the facts
(``matcher.facts``), which is about a hundred times cheaper, for the service's
matching of many trials per request.  ``tests/test_service_fast_eval.py``
proves the two agree (a hypothesis differential test over random patients and
compiled trials); callers choose the executor explicitly.

Each branch mirrors one translation of ``criteria.rules.translate``:
comparisons on a missing fact are unknown, staleness makes a test unknown,
histories are existential with the open-world rule (``history_complete``).
Equality follows rule-engine: values of different types are never equal
(``True`` is not ``1``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from criteria import ir, stages
from criteria.rules import _self_and_ancestors, broader_concepts

Tri = bool | None  # True pass, False fail, None unknown


_NUMBERS = (int, float)


def _kind(value: Any) -> type:
    if isinstance(value, bool):
        return bool
    if isinstance(value, _NUMBERS):
        return float
    return type(value)


def _eq(a: Any, b: Any) -> bool:
    return _kind(a) is _kind(b) and a == b


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": _eq, "!=": _ne,
}


def _cmp(x: Any, op: str, value: Any) -> Tri:
    return None if x is None else bool(_OPS[op](x, value))


def _member(x: Any, values: Iterable[Any]) -> Tri:
    return None if x is None else x in values


def _and(*parts: Tri) -> Tri:
    if False in parts:
        return False
    return None if None in parts else True


def _recent(test: Tri, days_ago: Any, days: int | None) -> Tri:
    """Stale or undated data decides nothing."""
    if days is None:
        return test
    return test if days_ago is not None and days_ago <= days else None


def _interval(entry: dict[str, Any] | None, op: str, value: float) -> Tri:
    """A fact known to lie in [low, high] (a converted performance score)."""
    low = None if entry is None else entry.get("low")
    if low is None:
        return None
    high = entry["high"]  # type: ignore[index]
    if op in (">=", ">"):
        f = _OPS[op]
        sure, maybe = f(low, value), f(high, value)
    elif op in ("<=", "<"):
        f = _OPS[op]
        sure, maybe = f(high, value), f(low, value)
    elif op == "==":
        sure = low == value and high == value
        maybe = low <= value <= high
    else:
        sure = value < low or value > high
        maybe = not (low == value and high == value)
    return True if sure else (None if maybe else False)


def _get(mapping: dict[str, Any] | None, key: str) -> Any:
    return None if mapping is None else mapping.get(key)


def _exists(records: list[dict[str, Any]], match: Callable[[dict[str, Any]], bool],
            facets: Callable[[dict[str, Any]], Tri] | None, closed_by_record: bool,
            history_complete: bool,
            absent: Callable[[dict[str, Any]], bool] | None = None) -> Tri:
    """Existential over history records with the incomplete-history rule."""
    matching = [r for r in records if match(r)]
    possible = False
    for r in matching:
        v = True if facets is None else facets(r)
        if v is True:
            return True
        if v is None:
            possible = True
    if possible:
        return None
    open_world = not history_complete
    if open_world and closed_by_record and matching:
        open_world = False
    if open_world and absent is not None and any(absent(r) for r in records):
        open_world = False
    return None if open_world else False


def atom_value(atom: ir.Node, v: dict[str, Any]) -> Tri:  # noqa: C901 - one branch per family
    """The atom's value on the facts' ``values`` dict."""
    match atom:
        case ir.AgeAtom(op=op, value=value):
            return _cmp(v.get("age"), op, value)
        case ir.SexAtom(allowed=allowed):
            return _member(v.get("sex"), allowed)
        case ir.PerformanceAtom(scale=scale, op=op, value=value, within_days=days):
            entry = _get(v.get("performance"), scale.lower())
            return _recent(_interval(entry, op, value), _get(entry, "days_ago"), days)
        case ir.LabAtom(analyte=a, op=op, value=value, relative_to=rel, within_days=days):
            lab = _get(v.get("labs"), a)
            field = {"uln": "x_uln", "lln": "x_lln", None: "value"}[rel]
            return _recent(_cmp(_get(lab, field), op, value), _get(lab, "days_ago"), days)
        case ir.LabResultAtom(analyte=a, results=results, within_days=days):
            lab = _get(v.get("labs"), a)
            return _recent(_member(_get(lab, "result"), results), _get(lab, "days_ago"), days)
        case ir.BiomarkerAtom(marker=m, results=results, op=op, value=value, methods=methods):
            marker = _get(v.get("biomarkers"), m)
            parts: list[Tri] = []
            if results:
                parts.append(_member(_get(marker, "result"), results))
            if op is not None and value is not None:
                parts.append(_cmp(_get(marker, "value"), op, value))
            if methods:
                method = _get(marker, "method")
                parts.append(True if method is not None and method in methods else None)
            return _and(*parts)
        case ir.FindingAtom(key=key, op=op, value=value):
            x = _get(v.get("findings"), key)
            if isinstance(value, tuple):
                return _member(x, value)
            return _cmp(x, op, value)
        case ir.DiagnosisAtom():
            return _diagnosis(atom, v.get("diagnoses") or [])
        case ir.TreatmentAtom() | ir.ConditionAtom():
            return compile_atom(atom)(v)
        case ir.ParticipationAtom(within_days=days):
            ago = _get(v.get("participation"), "days_ago")
            if ago is None:
                return False if v.get("history_complete") else None
            return ago <= days
    raise TypeError(f"no native evaluation for {type(atom).__name__}")


def _lab_fn(atom: ir.LabAtom) -> Callable[[dict[str, Any]], Tri]:
    analyte, op, threshold, days = atom.analyte, _OPS[atom.op], atom.value, atom.within_days
    field = {"uln": "x_uln", "lln": "x_lln", None: "value"}[atom.relative_to]

    def value(v: dict[str, Any]) -> Tri:
        lab = v["labs"].get(analyte)
        if lab is None:
            return None
        x = lab.get(field)
        if x is None:
            return None
        if days is not None:
            ago = lab.get("days_ago")
            if ago is None or ago > days:
                return None
        return bool(op(x, threshold))
    return value


def _age_fn(atom: ir.AgeAtom) -> Callable[[dict[str, Any]], Tri]:
    op, threshold = _OPS[atom.op], atom.value

    def value(v: dict[str, Any]) -> Tri:
        age = v.get("age")
        return None if age is None else bool(op(age, threshold))
    return value


@lru_cache(maxsize=65536)
def compile_atom(atom: ir.Node) -> Callable[[dict[str, Any]], Tri]:
    """The atom as a function of the facts' values, its facets bound once:
    what a plan calls per patient."""
    match atom:
        case ir.LabAtom():
            return _lab_fn(atom)
        case ir.AgeAtom():
            return _age_fn(atom)
        case ir.TreatmentAtom():
            return _treatment_fn(atom)
        case ir.ConditionAtom():
            return _condition_fn(atom)
        case ir.DiagnosisAtom():
            return _diagnosis_fn(atom)
    return lambda v: atom_value(atom, v)


def _facet_any(values: tuple[str, ...] | None, known: str, d: dict[str, Any]) -> Tri | str:
    if not values:
        return "skip"
    concepts = d["concepts"]
    if not frozenset(values).isdisjoint(concepts):
        return True
    if not _broader_set(tuple(values)).isdisjoint(d["named"]):
        return None  # the record names it less specifically
    return False if d[known] else None


@lru_cache(maxsize=4096)
def _broader_set(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(broader_concepts(values))


def _diagnosis(atom: ir.DiagnosisAtom, diagnoses: list[dict[str, Any]]) -> Tri:
    staged = frozenset(atom.stages or ())
    maybe = frozenset(stages.maybe_tokens(atom.stages or ()))

    def body(d: dict[str, Any]) -> Tri:
        parts = [p for p in (_facet_any(atom.histologies, "has_histology", d),
                             _facet_any(atom.sites, "has_site", d)) if p != "skip"]
        if atom.statuses:
            hit = any(s in d["statuses"] for s in atom.statuses)
            parts.append(True if hit else (None if not d["statuses"] else False))
        if atom.stages:
            parts.append(_stage(staged, maybe, d["stage_keys"]))
        if atom.confirmed_by:
            parts.append(_member(d["confirmed_by"], atom.confirmed_by))
        return _and(*parts)  # type: ignore[arg-type]

    return _any_diagnosis([body(d) for d in diagnoses])


def _stage(accepted: frozenset[str], maybe: frozenset[str], keys: list[str]) -> Tri:
    """One of the accepted stages; unknown when no stage is recorded or only a
    group that might hold the substage asked for (criteria.stages)."""
    if not accepted.isdisjoint(keys):
        return True
    return None if not keys or not maybe.isdisjoint(keys) else False


def _any_diagnosis(values: list[Tri]) -> Tri:
    """Some diagnosis matches (Kleene OR over the records); no diagnosis at all
    is unknown, never a mismatch."""
    if True in values:
        return True
    if None in values or not values:
        return None
    return False


def _diagnosis_fn(atom: ir.DiagnosisAtom) -> Callable[[dict[str, Any]], Tri]:
    """``_diagnosis`` with its facets bound once."""
    histologies = frozenset(atom.histologies or ())
    sites = frozenset(atom.sites or ())
    broader_histology = _broader_set(tuple(atom.histologies or ()))
    broader_site = _broader_set(tuple(atom.sites or ()))
    statuses = frozenset(atom.statuses or ())
    staged = frozenset(atom.stages or ())
    maybe = frozenset(stages.maybe_tokens(atom.stages or ()))
    confirmed = atom.confirmed_by

    def body(d: dict[str, Any]) -> Tri:
        parts: list[Tri] = []
        if histologies:
            parts.append(True if not histologies.isdisjoint(d["concepts"])
                         else (False if d["has_histology"]
                               and broader_histology.isdisjoint(d["named"]) else None))
        if sites:
            parts.append(True if not sites.isdisjoint(d["concepts"])
                         else (False if d["has_site"]
                               and broader_site.isdisjoint(d["named"]) else None))
        if statuses:
            parts.append(True if not statuses.isdisjoint(d["statuses"])
                         else (None if not d["statuses"] else False))
        if staged:
            parts.append(_stage(staged, maybe, d["stage_keys"]))
        if confirmed:
            parts.append(_member(d["confirmed_by"], confirmed))
        return _and(*parts)

    def value(v: dict[str, Any]) -> Tri:
        return _any_diagnosis([body(d) for d in v.get("diagnoses") or []])
    return value


def treatment_facets(atom: ir.TreatmentAtom) -> Callable[[dict[str, Any]], Tri] | None:
    """The atom's facet test on one treatment record (None: no facet, any
    matching record meets the atom).  Shared with the service's atom index."""
    checks: list[Callable[[dict[str, Any]], Tri]] = []
    if atom.min_cycles is not None and atom.min_cycles > 1:
        n = atom.min_cycles
        checks.append(lambda t: _cmp(t["cycles"], ">=", n))
    if atom.progression is not None:
        want = atom.progression
        checks.append(lambda t: _cmp(t["progressed"], "==", want))
    if atom.ended_days_before is not None:
        n_end = atom.ended_days_before
        checks.append(lambda t: _and(_cmp(t["ongoing"], "==", False),
                                     _cmp(t["days_since_end"], ">=", n_end)))
    if atom.within_days is not None:
        n_within = atom.within_days
        checks.append(lambda t: _cmp(t["days_since_last"], "<=", n_within))
    if atom.ongoing is not None:
        want_ongoing = atom.ongoing
        checks.append(lambda t: _cmp(t["ongoing"], "==", want_ongoing))
    if atom.settings:
        settings = atom.settings
        checks.append(lambda t: _member(t["setting"], settings))
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda t: _and(*(c(t) for c in checks))


def _treatment_fn(atom: ir.TreatmentAtom) -> Callable[[dict[str, Any]], Tri]:
    # Sets: membership tests in C, not a Python loop per record.
    drugs, classes, kinds = frozenset(atom.drugs), frozenset(atom.classes), frozenset(atom.kinds)

    def match(t: dict[str, Any]) -> bool:
        if not drugs and not classes and not kinds:
            return True
        return ((bool(drugs) and t["drug"] in drugs)
                or (bool(classes) and not classes.isdisjoint(t["classes"]))
                or (bool(kinds) and t["kind"] in kinds))

    timed = atom.within_days is not None or atom.ongoing is not None
    min_lines = atom.min_lines
    facets = treatment_facets(atom)

    def value(v: dict[str, Any]) -> Tri:
        records = v.get("treatments") or []
        complete = bool(v.get("history_complete"))
        if min_lines is not None:
            if sum(1 for t in records if match(t)) >= min_lines:
                return True
            return None if not complete else False
        return _exists(records, match, facets, closed_by_record=not timed,
                       history_complete=complete)
    return value


@lru_cache(maxsize=65536)
def _absent_concepts(concepts: tuple[str, ...]) -> tuple[str, ...]:
    return _self_and_ancestors(concepts)


def condition_facets(atom: ir.ConditionAtom) -> Callable[[dict[str, Any]], Tri] | None:
    """The atom's facet test on one condition record (None: no facet).
    Shared with the service's atom index."""
    checks: list[Callable[[dict[str, Any]], Tri]] = []
    if atom.active_only:
        checks.append(lambda c: _cmp(c["status"], "==", "active"))
    if atom.within_days is not None:
        n = atom.within_days
        checks.append(lambda c: _cmp(c["days_ago"], "<=", n))
    if atom.uncontrolled is not None:
        want = not atom.uncontrolled
        checks.append(lambda c: _cmp(c["controlled"], "==", want))
    if atom.min_grade is not None:
        grade = atom.min_grade
        checks.append(lambda c: _cmp(c["grade"], ">=", grade))
    if atom.min_class is not None:
        nyha = atom.min_class
        checks.append(lambda c: _cmp(c["nyha_class"], ">=", nyha))
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda c: _and(*(f(c) for f in checks))


def absent_concepts(concepts: tuple[str, ...]) -> tuple[str, ...]:
    """The concepts whose recorded absence closes a condition atom's history."""
    return _absent_concepts(concepts)


def _condition_fn(atom: ir.ConditionAtom) -> Callable[[dict[str, Any]], Tri]:
    concepts, excluding = frozenset(atom.concepts), frozenset(atom.excluding)

    def match(c: dict[str, Any]) -> bool:
        have = c["concepts"]
        return (not concepts.isdisjoint(have)
                and not (excluding and not excluding.isdisjoint(have))
                and c["status"] != "absent")

    named_absent = frozenset(_absent_concepts(atom.concepts))

    def absent(c: dict[str, Any]) -> bool:
        return c["status"] == "absent" and not named_absent.isdisjoint(c["named"])

    facets = condition_facets(atom)
    closed = atom.within_days is None

    def value(v: dict[str, Any]) -> Tri:
        # The reference executor sees only the records naming one of the atom's
        # concepts (``matcher.evaluate._project``), the absence clause included.
        records = [c for c in v.get("conditions") or []
                   if not concepts.isdisjoint(c["concepts"])]
        return _exists(records, match, facets, closed_by_record=closed,
                       history_complete=bool(v.get("history_complete")), absent=absent)
    return value
