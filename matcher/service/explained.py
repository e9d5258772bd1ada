"""The full answer for a trial (``matcher.match.trial_result``'s JSON), from
statuses and atom values the plan has already computed.

``matcher.match.trial_result`` re-derives every criterion's status from the
logic tree (relaxing, walking, Kleene combination twice) before it explains
it; about two thirds of its time.  The plan knows the statuses already (its
circuit) and the atom values (its atom codes), so this module only does what
is left: the reasons and the to-confirm items, through the reference's own
``matcher.explain``, with everything that depends on the criterion alone (its
leaves, review texts, static JSON fields) worked out once per plan.

Same JSON, key for key, as the reference: ``tests/test_service_fast_eval.py``
compares whole answers on random patients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from criteria import ir
from criteria.trial import CompiledTrial
from matcher.evaluate import relaxed, worded
from matcher.explain import atom_reason, to_confirm_for
from matcher.facts import Facts
from matcher.service.circuit import VALUE_OF

_NO_REQUIREMENT = "imposes no requirement (e.g. \"both sexes\")"
_NOT_COMPILED = "not compiled: needs a person"


@dataclass(frozen=True)
class CriterionPlan:
    """What ``matcher.evaluate.evaluate_criterion`` derives from the criterion alone."""

    head: tuple[tuple[str, Any], ...]  # id, kind, text
    tail: tuple[tuple[str, Any], ...]  # family, compiled, rule (then data), span, notes, curated
    extra: tuple[tuple[str, list[Any] | dict[str, Any]], ...]  # flat: copied shallow
    constant: tuple[str, str, tuple[str, ...]] | None  # status, reason, to-confirm
    leaves: tuple[tuple[ir.Node, int], ...]  # (atom, position), in the reference's order
    review_texts: tuple[str, ...]


def plan_criterion(c: ir.Criterion, position: dict[ir.Node, int]) -> CriterionPlan:
    head = (("id", c.id), ("kind", c.kind), ("text", c.text))
    tail = (("family", c.family), ("compiled", c.compiled), ("rule", c.rule))
    extra: list[tuple[str, list[Any] | dict[str, Any]]] = []
    if c.span is not None:
        extra.append(("span", [c.span.start, c.span.end]))
    if c.notes:
        extra.append(("notes", list(c.notes)))
    if c.curation is not None:
        extra.append(("curated", c.curation.model_dump()))
    review_texts = list(c.review)
    if c.logic is None and c.compiled == "full":
        return CriterionPlan(head, tail, tuple(extra), ("pass", _NO_REQUIREMENT, ()), (), ())
    if c.logic is None:
        text = "; ".join(review_texts) if review_texts else c.text
        return CriterionPlan(head, tail, tuple(extra),
                             ("review", _NOT_COMPILED, (f"Review: {text}",)), (), ())
    logic, dropped = relaxed(c.kind, c.logic)
    review_texts.extend(dropped)
    if logic is None:
        return CriterionPlan(head, tail, tuple(extra),
                             ("review", _NOT_COMPILED,
                              tuple(f"Review: {t}" for t in review_texts)), (), ())
    parts = ir.atoms(logic)
    leaves = tuple((a, position[a]) for a in parts if not isinstance(a, ir.Review))
    review_texts.extend(a.text for a in parts if isinstance(a, ir.Review))
    return CriterionPlan(head, tail, tuple(extra), None, leaves, tuple(review_texts))


Memo = dict[int, tuple[str, list[str], str | None]]


def explain(cp: CriterionPlan, status: str, codes: bytes | bytearray, facts: Facts,
            memo: Memo) -> tuple[str, str, list[str], list[str]]:
    """Status, reason, data paths and to-confirm items of a criterion, as
    ``matcher.evaluate.evaluate_criterion`` words them.  ``memo``: the atoms
    explained so far for this request (a third of them recur across trials)."""
    if cp.constant is not None:
        return cp.constant[0], cp.constant[1], [], list(cp.constant[2])
    reasons, confirm = [], []
    data: list[str] = []
    for atom, p in cp.leaves:
        said = memo.get(p)
        if said is None:
            value = VALUE_OF[codes[p]]
            text, used = atom_reason(atom, value, facts)
            said = memo[p] = (text, used, None if value is not None
                              else to_confirm_for(atom, facts))
        reasons.append(said[0])
        data.extend(u for u in said[1] if u not in data)
        if said[2] is not None:
            confirm.append(said[2])
    reason, confirm_list = worded(status, reasons, confirm, cp.review_texts)
    return status, reason, data, confirm_list


def criterion_json(cp: CriterionPlan, status: str, codes: bytes | bytearray,
                   facts: Facts, memo: Memo) -> tuple[dict[str, Any], list[str]]:
    """The criterion's JSON (``matcher.match._criterion_json``) and its
    to-confirm items."""
    status, reason, data, confirm_list = explain(cp, status, codes, facts, memo)
    out = dict(cp.head)
    out["status"] = status
    out["reason"] = reason
    out.update(cp.tail)
    out["data"] = data
    for k, v in cp.extra:  # each answer gets its own lists (span, notes, curated)
        out[k] = v.copy()
    return out, confirm_list


def _add_new(confirm: list[str], seen: set[str], items: list[str]) -> None:
    for item in items:
        if item not in seen:
            seen.add(item)
            confirm.append(item)


def trial_json(trial: CompiledTrial, criteria: list[CriterionPlan], statuses: list[str],
               codes: bytes | bytearray, facts: Facts, verdict: str, score: float,
               memo: Memo) -> dict[str, Any]:
    """``matcher.match.trial_result``'s JSON; ``verdict`` and ``score`` are the
    plan's (the same functions of the same statuses)."""
    out_criteria = []
    confirm: list[str] = []
    seen: set[str] = set()
    for cp, status in zip(criteria, statuses, strict=True):
        cj, items = criterion_json(cp, status, codes, facts, memo)
        out_criteria.append(cj)
        _add_new(confirm, seen, items)
    return {
        "trial_id": trial.trial.trial_id,
        "title": trial.trial.title,
        "status": trial.trial.status,
        "verdict": verdict,
        "score": score,
        "counts": {s: statuses.count(s) for s in ("pass", "fail", "unknown", "review")},
        "criteria": out_criteria,
        "to_confirm": confirm,
    }


# ---------------------------------------------------------------------- as JSON text
# The same answer written straight to JSON text, byte for byte what the HTTP
# layer's encoder (``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``)
# writes for the dicts above: everything that depends on the criterion alone is
# encoded once per plan, a request encodes only its statuses, reasons, data
# paths and to-confirm items.

dumps = partial(json.dumps, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
string = encode_basestring  # json's own string encoder without ensure_ascii


def strings(items: list[str]) -> str:
    return "[" + ",".join(map(string, items)) + "]"


@dataclass(frozen=True)
class CriterionText:
    opening: str  # {"id":...,"kind":...,"text":...,"status":
    middle: str  # ,"family":...,"compiled":...,"rule":...,"data":
    closing: str  # ,"span":...,"notes":...,"curated":...}


def criterion_text_parts(cp: CriterionPlan) -> CriterionText:
    opening = "{" + ",".join(f"{string(k)}:{dumps(v)}" for k, v in cp.head) + ',"status":'
    middle = "," + ",".join(f"{string(k)}:{dumps(v)}" for k, v in cp.tail) + ',"data":'
    closing = "".join(f",{string(k)}:{dumps(v)}" for k, v in cp.extra) + "}"
    return CriterionText(opening, middle, closing)


def trial_opening(trial: CompiledTrial) -> str:
    return (f'{{"trial_id":{dumps(trial.trial.trial_id)},"title":{dumps(trial.trial.title)},'
            f'"status":{dumps(trial.trial.status)},"verdict":')


def trial_text(opening: str, criteria: list[tuple[CriterionPlan, CriterionText]],
               statuses: list[str], codes: bytes | bytearray, facts: Facts, verdict: str,
               score: float, memo: Memo) -> str:
    """``trial_json``'s answer as JSON text."""
    parts = []
    confirm: list[str] = []
    seen: set[str] = set()
    for (cp, text), status in zip(criteria, statuses, strict=True):
        status, reason, data, items = explain(cp, status, codes, facts, memo)
        parts.append(f"{text.opening}{string(status)},\"reason\":{string(reason)}"
                     f"{text.middle}{strings(data)}{text.closing}")
        _add_new(confirm, seen, items)
    counts = ",".join(f'"{s}":{statuses.count(s)}' for s in ("pass", "fail", "unknown", "review"))
    return (f'{opening}{string(verdict)},"score":{float.__repr__(score)},"counts":{{{counts}}},'
            f'"criteria":[{",".join(parts)}],"to_confirm":{strings(confirm)}}}')
