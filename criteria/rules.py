"""Translate the criterion representation into rule-engine expressions.

Kleene logic is carried by a pair of two-valued expressions per node:

* ``certain``: true when the node is surely true;
* ``possible``: true unless the node is surely false.

A node is ``pass`` when certain, ``fail`` when not possible, ``unknown``
otherwise.  AND / OR / NOT follow the classic encoding: AND(certain) is the
AND of the children's certain parts, NOT swaps certain with not-possible.
rule-engine evaluates both halves; ``display`` is the plain rule shown to
users.  Missing facts are ``null`` in the facts (see ``matcher.facts``).

Histories (treatments, conditions, participation) are existential over the
patient's records; whether an unrecorded history counts as absent is the fact
``history_complete`` (the assume-absent policy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from criteria import ir, stages, vocab


@dataclass(frozen=True)
class Expr:
    display: str
    certain: str
    possible: str


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _key(base: str, key: str) -> str:
    """``base.key``, or null-safe ``base&["key"]`` for ids that are not identifiers
    (biomarker and analyte ids may hold hyphens)."""
    return f"{base}.{key}" if _IDENT.fullmatch(key) else f'{base}&[{_q(key)}]'


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _cmp(path: str, op: str, value: str) -> Expr:
    """A comparison on one nullable fact."""
    plain = f"{path} {op} {value}"
    return Expr(plain, f"({path} != null and {plain})", f"({path} == null or {plain})")


def _and(*parts: Expr) -> Expr:
    parts = tuple(p for p in parts if p is not None)
    if len(parts) == 1:
        return parts[0]
    return Expr(
        " and ".join(f"({p.display})" for p in parts),
        "(" + " and ".join(p.certain for p in parts) + ")",
        "(" + " and ".join(p.possible for p in parts) + ")",
    )


def _or(*parts: Expr) -> Expr:
    if len(parts) == 1:
        return parts[0]
    return Expr(
        " or ".join(f"({p.display})" for p in parts),
        "(" + " or ".join(p.certain for p in parts) + ")",
        "(" + " or ".join(p.possible for p in parts) + ")",
    )


def _not(part: Expr) -> Expr:
    return Expr(f"not ({part.display})", f"(not {part.possible})", f"(not {part.certain})")


def _interval(base: str, op: str, value: str) -> Expr:
    """Compare a fact known to lie in [base.low, base.high] (a value converted
    from another scale covers a band; a measured one has low == high)."""
    low, high = f"{base}.low", f"{base}.high"
    if op in (">=", ">"):
        sure, maybe = f"{low} {op} {value}", f"{high} {op} {value}"
    elif op in ("<=", "<"):
        sure, maybe = f"{high} {op} {value}", f"{low} {op} {value}"
    elif op == "==":
        sure = f"{low} == {value} and {high} == {value}"
        maybe = f"{low} <= {value} and {high} >= {value}"
    else:  # !=
        sure = f"({value} < {low} or {value} > {high})"
        maybe = f"not ({low} == {value} and {high} == {value})"
    return Expr(f"{base} {op} {value}", f"({low} != null and {sure})",
                f"({low} == null or {maybe})")


def _recent(test: Expr, path: str, days: int | None) -> Expr:
    """``test`` on data at most ``days`` old (age in days at ``path``).  Stale or
    undated data decides nothing: the test is unknown, whatever the value."""
    if days is None:
        return test
    fresh = f"({path} != null and {path} <= {days})"
    return Expr(f"({test.display}) and {path} <= {days}", f"({fresh} and {test.certain})",
                f"(not {fresh} or {test.possible})")


def _membership(path: str, values: tuple[str, ...]) -> Expr:
    plain = f"{path} in {_list(values)}"
    return Expr(plain, f"({path} != null and {plain})", f"({path} == null or {plain})")


def _exists(
    collection: str,
    var: str,
    match: str,
    facets: Expr | None,
    closed_by_record: bool,
    absent_clause: str | None = None,
) -> Expr:
    """Existential over history records with the incomplete-history rule.

    ``match`` selects the records of the concept (two-valued); ``facets`` are
    the Kleene conditions on a matching record.  With no matching record the
    answer is unknown unless the history is complete (assume-absent) or a
    record states the concept absent; when ``closed_by_record`` a recorded
    concept speaks for itself (its facets decide).
    """
    cert = match if facets is None else f"{match} and {facets.certain}"
    poss = match if facets is None else f"{match} and {facets.possible}"
    display = f"any {var} in {collection}: {match}" + (
        "" if facets is None else f" and {facets.display}"
    )
    certain = f"([{var} for {var} in {collection} if {cert}].length > 0)"
    open_world = "not history_complete"
    if closed_by_record:
        open_world += f" and [{var} for {var} in {collection} if {match}].length == 0"
    if absent_clause:
        open_world += f" and [{var} for {var} in {collection} if {absent_clause}].length == 0"
    possible = f"([{var} for {var} in {collection} if {poss}].length > 0 or ({open_world}))"
    return Expr(display, certain, possible)


def _any_in(values: tuple[str, ...], path: str) -> str:
    return "(" + " or ".join(f"{_q(v)} in {path}" for v in values) + ")"


@lru_cache(maxsize=65536)
def translate(node: ir.Node) -> Expr:  # noqa: C901 - one branch per atom family
    match node:
        case ir.And(items=items):
            return _and(*(translate(i) for i in items))
        case ir.Or(items=items):
            return _or(*(translate(i) for i in items))
        case ir.Not(item=item):
            return _not(translate(item))
        case ir.Review(text=text):
            # Never decided by a rule: always unknown to rule-engine.
            return Expr(f"review({_q(text)})", "false", "true")
        case ir.AgeAtom(op=op, value=value):
            return _cmp("age", op, _num(value))
        case ir.SexAtom(allowed=allowed):
            return _membership("sex", allowed)
        case ir.PerformanceAtom(scale=scale, op=op, value=value, within_days=days):
            base = f"performance.{scale.lower()}"
            return _recent(_interval(base, op, _num(value)), f"{base}.days_ago", days)
        case ir.LabAtom(analyte=a, op=op, value=value, relative_to=rel, within_days=days):
            field = {"uln": "x_uln", "lln": "x_lln", None: "value"}[rel]
            lab = _key("labs", a)
            return _recent(_cmp(f"{lab}.{field}", op, _num(value)), f"{lab}.days_ago", days)
        case ir.LabResultAtom(analyte=a, results=results, within_days=days):
            lab = _key("labs", a)
            return _recent(_membership(f"{lab}.result", results), f"{lab}.days_ago", days)
        case ir.BiomarkerAtom(marker=m, results=results, op=op, value=value, methods=methods):
            parts: list[Expr] = []
            marker = _key("biomarkers", m)
            if results:
                parts.append(_membership(f"{marker}.result", results))
            if op is not None and value is not None:
                parts.append(_cmp(f"{marker}.value", op, _num(value)))
            if methods:
                # A result by another method is no result by this one: unknown, not fail.
                method = f"{marker}.method in {_list(methods)}"
                parts.append(Expr(method, f"({marker}.method != null and {method})", "true"))
            return _and(*parts)
        case ir.FindingAtom(key=key, op=op, value=value):
            if isinstance(value, tuple):
                return _membership(f"findings.{key}", value)
            if isinstance(value, bool):
                return _cmp(f"findings.{key}", op, "true" if value else "false")
            if isinstance(value, str):
                return _cmp(f"findings.{key}", op, _q(value))
            return _cmp(f"findings.{key}", op, _num(value))
        case ir.DiagnosisAtom():
            return _diagnosis(node)
        case ir.TreatmentAtom():
            return _treatment(node)
        case ir.ConditionAtom():
            return _condition(node)
        case ir.ParticipationAtom(within_days=days):
            plain = f"participation.days_ago <= {days}"
            return Expr(
                plain,
                f"(participation.days_ago != null and {plain})",
                f"((participation.days_ago == null and not history_complete) or "
                f"(participation.days_ago != null and {plain}))",
            )
    raise TypeError(f"no translation for {type(node).__name__}")


def _facet_any(values: tuple[str, ...] | None, known: str, var: str) -> Expr | None:
    """A diagnosis facet: one of ``values`` among the record's concepts; unknown
    when the record does not say (``known`` false)."""
    if not values:
        return None
    hit = _any_in(values, f"{var}.concepts")
    broader = broader_concepts(tuple(values))
    maybe = f" or {_any_in(broader, f'{var}.named')}" if broader else ""
    return Expr(hit, hit, f"({hit} or not {var}.{known}{maybe})")


def _diagnosis(node: ir.DiagnosisAtom) -> Expr:
    var = "d"
    facets = [
        _facet_any(node.histologies, "has_histology", var),
        _facet_any(node.sites, "has_site", var),
    ]
    if node.statuses:
        hit = "(" + " or ".join(f"{_q(s)} in {var}.statuses" for s in node.statuses) + ")"
        facets.append(Expr(hit, hit, f"({hit} or {var}.statuses.length == 0)"))
    if node.stages:
        # A record of group III might be the IIIB asked for (criteria.stages).
        hit = _any_in(node.stages, f"{var}.stage_keys")
        maybe = stages.maybe_tokens(node.stages)
        possible = (f"({hit} or {_any_in(maybe, f'{var}.stage_keys')} or "
                    f"{var}.stage_keys.length == 0)" if maybe
                    else f"({hit} or {var}.stage_keys.length == 0)")
        facets.append(Expr(f"{var}.stage in {_list(node.stages)}", hit, possible))
    if node.confirmed_by:
        facets.append(_membership(f"{var}.confirmed_by", node.confirmed_by))
    body = _and(*[f for f in facets if f is not None])
    display = f"any diagnosis d: {body.display}"
    certain = f"([{var} for {var} in diagnoses if {body.certain}].length > 0)"
    # No diagnosis recorded at all: unknown, whatever the policy (it is no history).
    possible = (f"([{var} for {var} in diagnoses if {body.possible}].length > 0"
                " or diagnoses.length == 0)")
    return Expr(display, certain, possible)


def _treatment(node: ir.TreatmentAtom) -> Expr:
    var = "t"
    selectors = []
    if node.drugs:
        selectors.append(f"{var}.drug in {_list(node.drugs)}")
    if node.classes:
        selectors.append(_any_in(node.classes, f"{var}.classes"))
    if node.kinds:
        selectors.append(f"{var}.kind in {_list(node.kinds)}")
    match = "(" + " or ".join(selectors) + ")" if selectors else "true"
    facets: list[Expr] = []
    if node.min_cycles is not None and node.min_cycles > 1:
        facets.append(_cmp(f"{var}.cycles", ">=", str(node.min_cycles)))
    if node.progression is not None:
        facets.append(_cmp(f"{var}.progressed", "==", "true" if node.progression else "false"))
    if node.ended_days_before is not None:
        facets.append(_and(_cmp(f"{var}.ongoing", "==", "false"),
                           _cmp(f"{var}.days_since_end", ">=", str(node.ended_days_before))))
    if node.within_days is not None:
        facets.append(_cmp(f"{var}.days_since_last", "<=", str(node.within_days)))
    if node.ongoing is not None:
        facets.append(_cmp(f"{var}.ongoing", "==", "true" if node.ongoing else "false"))
    if node.settings:
        facets.append(_membership(f"{var}.setting", node.settings))
    timed = node.within_days is not None or node.ongoing is not None
    if node.min_lines is not None:
        # At least N matching records: each recorded line counts once.
        plain = f"[{var} for {var} in treatments if {match}].length >= {node.min_lines}"
        return Expr(plain, f"({plain})",
                    f"({plain} or not history_complete)")
    return _exists("treatments", var, match, _and(*facets) if facets else None,
                   closed_by_record=not timed)


@lru_cache(maxsize=4096)
def broader_concepts(values: tuple[str, ...]) -> tuple[str, ...]:
    """What a record names when it is less specific than one of ``values``: their
    ancestors, without the values.  A diagnosis recorded as "head and neck cancer"
    may be the oral cavity cancer asked for: unknown, never a mismatch."""
    wanted = set(values)
    out: set[str] = set()
    for cid in values:
        try:
            out |= vocab.condition_ancestors(cid)
        except KeyError:
            continue
    return tuple(sorted(out - wanted))


def _self_and_ancestors(concepts: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for cid in concepts:
        try:
            family = sorted(vocab.condition_ancestors(cid))
        except KeyError:
            family = [cid]
        out.extend(c for c in family if c not in out)
    return tuple(out)


def _condition(node: ir.ConditionAtom) -> Expr:
    var = "c"
    concept = _any_in(node.concepts, f"{var}.concepts")
    match = f"({concept} and {var}.status != \"absent\")"
    if node.excluding:
        match = f"({concept} and not {_any_in(node.excluding, f'{var}.concepts')} and " \
                f"{var}.status != \"absent\")"
    facets: list[Expr] = []
    if node.active_only:
        facets.append(_cmp(f"{var}.status", "==", '"active"'))
    if node.within_days is not None:
        facets.append(_cmp(f"{var}.days_ago", "<=", str(node.within_days)))
    if node.uncontrolled is not None:
        facets.append(_cmp(f"{var}.controlled", "==", "false" if node.uncontrolled else "true"))
    if node.min_grade is not None:
        facets.append(_cmp(f"{var}.grade", ">=", str(node.min_grade)))
    if node.min_class is not None:
        facets.append(_cmp(f"{var}.nyha_class", ">=", str(node.min_class)))
    return _exists(
        "conditions", var, match, _and(*facets) if facets else None,
        closed_by_record=node.within_days is None,
        # A record stating a concept absent rules out that concept and everything
        # under it ("no lung disease" rules out ILD), never the concepts above it
        # ("no prostate cancer" says nothing of other malignancies).
        absent_clause=f"({_any_in(_self_and_ancestors(node.concepts), f'{var}.named')} and "
                      f"{var}.status == \"absent\")",
    )


def display_rule(kind: str, logic: ir.Node | None) -> str:
    """The rule as users read it: exclusions are shown as ``not (...)``."""
    if logic is None:
        return ""
    shown = translate(logic).display
    return f"not ({shown})" if kind == "exclusion" else shown
