"""Comorbidities and history: concept lists with negation, activity,
control, NYHA class, CTCAE grade and time windows."""

from __future__ import annotations

import re

from criteria import ir, vocab
from criteria.grammar import find_windows
from criteria.recognize.base import Clause, Found, negated

_ACTIVE = re.compile(r"\b(?:active|current(?:ly)?|ongoing|persistent|acute|uncontrolled|"
                     r"unstable|poorly\s+controlled|uncontrollable|symptomatic|untreated)\b",
                     re.IGNORECASE)
_UNCONTROLLED = re.compile(r"\b(?:uncontrolled|poorly\s+controlled|not\s+(?:well\s+)?controlled|"
                           r"unstable|uncontrollable)\b", re.IGNORECASE)
_HISTORY = re.compile(r"\b(?:history\s+of|previous|prior|past)\b", re.IGNORECASE)
_NYHA = re.compile(r"\b(?:NYHA\s+)?class\s+(?P<c>III|II|IV|I|[1-4])(?:\s*(?:/|or|-|–)\s*"
                   r"(?:IV|III|[1-4]))?\b", re.IGNORECASE)
_GRADE = re.compile(r"\bgrade\s*(?:≥|>=|>)?\s*(?P<g>[1-5])(?:\s*(?:or\s+(?:higher|greater|above)|"
                    r"\+))?", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
# Cancer concepts belong to the diagnosis recognizer, except a "second/other" malignancy.
_TUMOUR_KINDS = {"histology", "site"}


def _is_index_cancer(concept: vocab.ConditionConcept, text: str, m: vocab.Mention) -> bool:
    if concept.kind in _TUMOUR_KINDS:
        return True
    if "malignan" in concept.id or "cancer" in concept.id or "carcinoma" in concept.id:
        before = text[max(0, m.start - 25):m.start].lower()
        return not re.search(r"other|second|prior|previous|history|additional|another",
                             before + m.text.lower())
    return False


def recognize(clause: Clause, header: str = "") -> list[Found]:  # noqa: C901
    text = clause.text
    mentions = []
    for m in vocab.find_conditions(text):
        concept = vocab.condition(m.id)
        if concept is None or _is_index_cancer(concept, text, m):
            continue
        mentions.append((m, concept))
    if not mentions:
        return []
    windows = [w for w in find_windows(text) if w.kind == "within"]
    context_active = bool(_ACTIVE.search(header)) or bool(
        re.search(r"uncontroll", clause.header, re.IGNORECASE))
    atoms: list[ir.Node] = []
    spans: list[tuple[int, int]] = []
    joints: list[str] = []
    prev_end = None
    for m, concept in mentions:
        lead = text[max(0, (prev_end if prev_end is not None else 0), m.start - 40):m.start]
        lead_all = text[max(0, m.start - 40):m.start]
        facets: dict[str, object] = {}
        qualifier = _ACTIVE.search(lead_all) or _ACTIVE.search(text[m.end:m.end + 3])
        if qualifier or context_active:
            facets["active_only"] = True
            if qualifier and qualifier.start() + max(0, m.start - 40) >= 0:
                s = max(0, m.start - 40) + qualifier.start()
                spans.append((s, max(0, m.start - 40) + qualifier.end()))
        unc = _UNCONTROLLED.search(lead_all)
        if unc:
            facets["uncontrolled"] = True
            facets.pop("active_only", None)
            facets["active_only"] = True
        nyha = _NYHA.search(text[max(0, m.start - 30):m.end + 60])
        if nyha and "heart" in concept.id or nyha and "cardiac" in concept.id:
            c = nyha.group("c").upper()
            facets["min_class"] = _ROMAN.get(c) or int(c)
            base = max(0, m.start - 30)
            spans.append((base + nyha.start(), base + nyha.end()))
        grade = _GRADE.search(text[m.end:m.end + 30]) or _GRADE.search(lead)
        if grade:
            facets["min_grade"] = int(grade.group("g"))
        # A window after the mention (same ';' part) applies to it.
        for w in windows:
            if w.start >= m.end and ";" not in text[m.end:w.start]:
                facets["within_days"] = w.days
                spans.append((w.start, w.end))
                break
        node: ir.Node = ir.ConditionAtom(concepts=(concept.id,), **facets)
        neg, cue = negated(text, m.start)
        if neg and cue:
            node = ir.Not(item=node)
            spans.append(cue)
        if prev_end is not None:
            between = text[prev_end:m.start]
            joints.append("and" if re.search(r"\band\b(?!/)", between) and not re.search(
                r"\bor\b", between) and clause.kind == "inclusion" else "or")
        atoms.append(node)
        spans.append((m.start, m.end))
        prev_end = m.end
        hist = _HISTORY.search(lead)
        if hist:
            spans.append((max(0, m.start - 40) + hist.start(), max(0, m.start - 40) + hist.end())
                         if lead is lead_all else (m.start, m.end))
    # Inclusion "no A; no B" are separate requirements (AND); exclusion lists are
    # alternatives (any of them excludes).
    if clause.kind == "inclusion" and all(isinstance(a, ir.Not) for a in atoms):
        node = atoms[0] if len(atoms) == 1 else ir.And(items=tuple(atoms))
    elif all(j == "or" for j in joints):
        node = atoms[0] if len(atoms) == 1 else ir.Or(items=tuple(atoms))
    else:
        node = atoms[0] if len(atoms) == 1 else ir.And(items=tuple(atoms))
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    return [Found(node, start, end, "comorbidity", spans=spans)]
