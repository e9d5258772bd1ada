"""Age and sex."""

from __future__ import annotations

import re

from criteria import ir
from criteria.grammar import find_thresholds
from criteria.recognize.base import Clause, Found, mentions_any

_AGE_CUE = re.compile(r"\bage[ds]?\b|\byears?\s+(?:of\s+age|old)\b|\byears?\s+or\s+(?:older|over)",
                      re.IGNORECASE)
_UNIT = r"(?P<u{n}>years?|yrs?|y\b|months?|mos?\b|weeks?|wks?|days?|hours?|h\b)"
_YEARS_PER = {"y": 1.0, "m": 1 / 12, "w": 7 / 365.25, "d": 1 / 365.25, "h": 1 / 8766}
_RANGE = re.compile(
    r"(?:\bage[ds]?\b|between)[^0-9;.]{0,25}?(?P<lo>\d{1,3})\s*" + _UNIT.format(n=1) + "?"
    r"\s*(?:-|–|to|and)\s*(?P<hi>\d{1,3})\s*" + _UNIT.format(n=2) + "?"
    r"(?:\s+(?:of\s+age|old))?(?:,?\s*inclusive)?"
    r"|(?P<lo2>\d{1,3})\s*(?:-|–|to)\s*(?P<hi2>\d{1,3})\s*" + _UNIT.format(n=3)
    + r"\s*(?:of\s+age|old)?",
    re.IGNORECASE,
)
_MIN_PLAIN = re.compile(
    r"(?P<n>\d{1,3})\s*(?:years?|yrs?)(?:\s+of\s+age)?\s*(?:or|and)\s+(?:older|over|above|greater)"
    r"(?!\s*(?:than\s*)?\d)|(?:over|older\s+than)\s+(?P<n2>\d{1,3})\s*(?:years?)",
    re.IGNORECASE,
)
# PDQ "Age: 18 and over", "Age: 75 and under", "Age: Over 21" (the label is the cue)
_PDQ_AGE = re.compile(
    r"\bage\s*:\s*(?:(?P<lo>\d{1,3})\s*(?:years?\s*)?(?:and|or)\s+(?:over|older|above)"
    r"|(?P<hi>\d{1,3})\s*(?:years?\s*)?(?:and|or)\s+(?:under|younger|below)"
    r"|(?P<gt>over|older\s+than)\s+(?P<gtn>\d{1,3})|(?P<lt>under|younger\s+than)\s+(?P<ltn>\d{1,3}))"
    r"(?:\s*(?:years?|yrs?)(?:\s+old|\s+of\s+age)?)?(?!\s*(?:-|to)\s*\d)",
    re.IGNORECASE,
)


def _years(value: float, unit: str | None) -> float:
    key = (unit or "y").lower()[0]
    return round(value * _YEARS_PER.get(key, 1.0), 4)


def _age_thresholds(text: str) -> list[Found]:
    """Comparisons bound to an age cue: "age >= 18", "aged < 72 hours", "below
    18 years or above 80 years" (each comparison its own atom)."""
    out: list[Found] = []
    cue = _AGE_CUE.search(text)
    for th in find_thresholds(text):
        if th.relative_to is not None or th.unit is not None or not 0 <= th.value <= 130:
            continue
        tail = re.match(r"\s*" + _UNIT.format(n=0), text[th.end:th.end + 12], re.IGNORECASE)
        near_cue = cue is not None and (0 <= th.start - cue.end() <= 25
                                        or 0 <= cue.start() - th.end <= 3)
        if not near_cue and not (tail and tail.group("u0").lower().startswith("y") and cue):
            continue
        unit = tail.group("u0") if tail else None
        end = th.end + (tail.end() if tail else 0)
        out.append(Found(ir.AgeAtom(op=th.op, value=_years(th.value, unit)), th.start, end,
                         "age"))
        if cue is not None:
            out[-1].spans = [(cue.start(), cue.end()), (th.start, end)]
    return out


_SEX_ANY = re.compile(r"\b(?:both\s+sexes|both\s+genders|all\s+sexes|male\s+(?:or|and)\s+female|"
                      r"men\s+(?:or|and)\s+women|either\s+sex|any\s+gender)\b", re.IGNORECASE)
_SEX_ONE = re.compile(r"^(?:\W*)(?:(?:sex|gender)\s*:\s*)?(?:(?:patients?|subjects?)\s+"
                      r"(?:must\s+be\s+)?)?"
                      r"(?P<sex>female|women|woman|male|men|man)\b(?!\s+(?:or|and)\b)",
                      re.IGNORECASE)


_POPULATION = re.compile(r"\s+(?:patients?|subjects?|participants?|with|aged|who|≥|>=|\d)",
                         re.IGNORECASE)
# "Women who are pregnant or nursing", "Women must not be pregnant": the women
# are the subject of a pregnancy rule, which says nothing about men.
_WOMEN_AS_SUBJECT = re.compile(r"pregnan|nursing|breast[\s-]?feed|lactat|childbearing|"
                               r"child-bearing|contracept|menopaus|menstrua", re.IGNORECASE)


# "paraffin specimens less than 2 years old": the age of a sample, not of the patient.
_NOT_PATIENT = re.compile(r"\b(?:specimens?|samples?|tissue|blocks?|slides?|biops\w+|scans?|"
                          r"imaging|images?|archival)\b", re.IGNORECASE)


_GATE = ("age", "year", "yr", "sex", "gender", "male", "men", "man", "month", "week", "day",
         "hour")


def recognize(clause: Clause) -> list[Found]:
    text = clause.text
    found: list[Found] = []
    if not mentions_any(text, _GATE):
        return found
    if _NOT_PATIENT.search(text) and not re.search(r"\bage[ds]?\b", text, re.IGNORECASE):
        return found
    if _AGE_CUE.search(text) or re.search(r"\d\s*(?:years|yrs)", text, re.IGNORECASE):
        m = _RANGE.search(text)
        if m and _AGE_CUE.search(text):
            lo, hi = m.group("lo") or m.group("lo2"), m.group("hi") or m.group("hi2")
            unit_hi = m.group("u2") or m.group("u3")
            unit_lo = m.group("u1") or unit_hi
            low, high = _years(int(lo), unit_lo), _years(int(hi), unit_hi)
            if 0 <= low < high <= 130:
                node = ir.And(items=(ir.AgeAtom(op=">=", value=low),
                                     ir.AgeAtom(op="<=", value=high)))
                found.append(Found(node, m.start(), m.end(), "age"))
        if not found and (m5 := _PDQ_AGE.search(text)):
            if m5.group("lo"):
                node = ir.AgeAtom(op=">=", value=int(m5.group("lo")))
            elif m5.group("hi"):
                node = ir.AgeAtom(op="<=", value=int(m5.group("hi")))
            elif m5.group("gt"):
                node = ir.AgeAtom(op=">", value=int(m5.group("gtn")))
            else:
                node = ir.AgeAtom(op="<", value=int(m5.group("ltn")))
            found.append(Found(node, m5.start(), m5.end(), "age"))
        if not found:
            m2 = _MIN_PLAIN.search(text)
            if m2:
                n = int(m2.group("n") or m2.group("n2"))
                op = ">=" if m2.group("n") else ">"
                found.append(Found(ir.AgeAtom(op=op, value=n), m2.start(), m2.end(), "age"))
        if not found:
            found = _age_thresholds(text)
            if len(found) > 1 and clause.kind == "exclusion":
                # "age below 18 or above 80": either excludes.
                joined = ir.Or(items=tuple(f.node for f in found))
                spans = [sp for f in found for sp in f.used()]
                found = [Found(joined, min(a for a, _ in spans), max(b for _, b in spans), "age",
                               spans=spans)]
    m3 = _SEX_ANY.search(text)
    if m3:
        # No restriction: recognized (node None) so that nothing is left for review.
        found.append(Found(None, m3.start(), m3.end(), "sex"))
    else:
        m4 = _SEX_ONE.match(text)
        # Short, or naming the population it opens ("Female patients with ovarian cancer").
        opens = m4 is not None and _POPULATION.match(text, m4.end("sex")) is not None
        if m4 and (len(text) < 60 or opens) and not _WOMEN_AS_SUBJECT.search(text):
            sex = "female" if m4.group("sex").lower() in ("female", "women", "woman") else "male"
            found.append(Found(ir.SexAtom(allowed=(sex,)), m4.start("sex"), m4.end("sex"), "sex"))
    return found
