"""Age and sex."""

from __future__ import annotations

import re

from criteria import ir
from criteria.grammar import find_thresholds
from criteria.recognize.base import Clause, Found

_AGE_CUE = re.compile(r"\bage[ds]?\b|\byears?\s+(?:of\s+age|old)\b|\byears?\s+or\s+(?:older|over)",
                      re.IGNORECASE)
_RANGE = re.compile(
    r"(?:\bage[ds]?\b|between)[^0-9;.]{0,25}?(?P<lo>\d{1,3})\s*(?:-|–|to|and)\s*(?P<hi>\d{1,3})"
    r"\s*(?:years?|yrs?|y\b)?(?:\s+(?:of\s+age|old))?(?:,?\s*inclusive)?"
    r"|(?P<lo2>\d{1,3})\s*(?:-|–|to)\s*(?P<hi2>\d{1,3})\s*(?:years?|yrs?)\s*(?:of\s+age|old)?",
    re.IGNORECASE,
)
_MIN_PLAIN = re.compile(
    r"(?P<n>\d{1,3})\s*(?:years?|yrs?)(?:\s+of\s+age)?\s*(?:or|and)\s+(?:older|over|above|greater)"
    r"|(?:over|older\s+than)\s+(?P<n2>\d{1,3})\s*(?:years?)",
    re.IGNORECASE,
)
_SEX_ANY = re.compile(r"\b(?:both\s+sexes|both\s+genders|all\s+sexes|male\s+(?:or|and)\s+female|"
                      r"men\s+(?:or|and)\s+women|either\s+sex|any\s+gender)\b", re.IGNORECASE)
_SEX_ONE = re.compile(r"^(?:\W*)(?:(?:patients?|subjects?)\s+(?:must\s+be\s+)?)?"
                      r"(?P<sex>female|women|woman|male|men|man)\b(?!\s+(?:or|and)\b)",
                      re.IGNORECASE)


# "paraffin specimens less than 2 years old": the age of a sample, not of the patient.
_NOT_PATIENT = re.compile(r"\b(?:specimens?|samples?|tissue|blocks?|slides?|biops\w+|scans?|"
                          r"imaging|images?|archival)\b", re.IGNORECASE)


_GATE = re.compile(r"\bage|year|\byrs?\b|\bsex|gender|male|\bwom[ae]n\b|\bm[ae]n\b",
                   re.IGNORECASE)


def recognize(clause: Clause) -> list[Found]:
    text = clause.text
    found: list[Found] = []
    if not _GATE.search(text):
        return found
    if _NOT_PATIENT.search(text) and not re.search(r"\bage[ds]?\b", text, re.IGNORECASE):
        return found
    if _AGE_CUE.search(text) or re.search(r"\d\s*(?:years|yrs)", text, re.IGNORECASE):
        m = _RANGE.search(text)
        if m and _AGE_CUE.search(text):
            lo = int(m.group("lo") or m.group("lo2"))
            hi = int(m.group("hi") or m.group("hi2"))
            if 0 <= lo < hi <= 120:
                node = ir.And(items=(ir.AgeAtom(op=">=", value=lo), ir.AgeAtom(op="<=", value=hi)))
                found.append(Found(node, m.start(), m.end(), "age"))
        if not found:
            m2 = _MIN_PLAIN.search(text)
            if m2:
                n = int(m2.group("n") or m2.group("n2"))
                op = ">=" if m2.group("n") else ">"
                found.append(Found(ir.AgeAtom(op=op, value=n), m2.start(), m2.end(), "age"))
        if not found and _AGE_CUE.search(text):
            for th in find_thresholds(text):
                if th.relative_to is None and th.unit is None and 0 < th.value <= 120:
                    tail = text[th.end:th.end + 20]
                    yrs = re.match(r"\s*(?:years?|yrs?)", tail, re.IGNORECASE)
                    end = th.end + (yrs.end() if yrs else 0)
                    found.append(Found(ir.AgeAtom(op=th.op, value=th.value), th.start, end, "age"))
            if found:
                cue = _AGE_CUE.search(text)
                found[0].spans = [(cue.start(), cue.end())] + [(f.start, f.end) for f in found]
    m3 = _SEX_ANY.search(text)
    if m3:
        # No restriction: recognized (node None) so that nothing is left for review.
        found.append(Found(None, m3.start(), m3.end(), "sex"))
    else:
        m4 = _SEX_ONE.match(text)
        if m4 and len(text) < 60:
            sex = "female" if m4.group("sex").lower() in ("female", "women", "woman") else "male"
            found.append(Found(ir.SexAtom(allowed=(sex,)), m4.start("sex"), m4.end("sex"), "sex"))
    return found
