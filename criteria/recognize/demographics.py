"""Age and sex."""

from __future__ import annotations

import re

from criteria import ir
from criteria.grammar import find_thresholds
from criteria.recognize.base import Clause, Found, mentions_any, negated

_AGE_CUE = re.compile(r"\bage[ds]?\b|\b(?:years?|months?)\s+(?:of\s+age|old)\b|"
                      r"\byears?\s+or\s+(?:older|over)",
                      re.IGNORECASE)
# Without those, the subject of a bound in years: "Participant must be >= 18 years at
# the time of screening" (not "must be >= 3 years from diagnosis")
_NOT_FROM_AN_EVENT = r"(?!\s+(?:from|since|after|post|beyond|out|prior)\b)"
_SUBJECT_AGE_CUE = re.compile(
    r"\b(?:patients?|participants?|subjects?|individuals?)\s+(?:must|should|shall)\s+be\s+"
    r"(?=(?:≥|>=|=>|>|at\s+least|over|older\s+than)\s*\d{1,3}\s*(?:years?|yrs?)\b"
    + _NOT_FROM_AN_EVENT + r")|"
    # ... or the sex opening the item: "Female ≥18 years", "Female patient who is ≥ 18yrs,
    # and ≤ 70yrs", "Female greater than or equal to 18 years"
    r"(?P<sex>^\W*(?:females?|males?|women|men)(?:\s+(?:patients?|participants?|subjects?))?"
    r"(?:\s+who\s+(?:is|are))?\s*,?\s*)"
    r"(?=(?:≥|>=|=>|>|≤|<=|=<|<|at\s+least|over|older\s+than|greater\s+than(?:\s+or\s+equal\s+to)?)"
    r"\s*\d{1,3}\s*(?:years?|yrs?)(?![a-z])" + _NOT_FROM_AN_EVENT + r")", re.IGNORECASE)
_UNIT = r"(?P<u{n}>years?|yrs?|y\b|months?|mos?\b|weeks?|wks?|days?|hours?|h\b)"
_YEARS_PER = {"y": 1.0, "m": 1 / 12, "w": 7 / 365.25, "d": 1 / 365.25, "h": 1 / 8766}
_RANGE = re.compile(
    r"(?:\bage[ds]?\b|between)[^0-9;.]{0,25}?(?P<lo>\d{1,3})\s*" + _UNIT.format(n=1) + "?"
    r"\s*(?:-|–|to|and)\s*(?P<hi>\d{1,3})\s*" + _UNIT.format(n=2) + "?"
    r"(?:\s+(?:of\s+age|old))?(?:,?\s*inclusive)?"
    # (not a number glued to a letter: the "N0-1MO" of a TNM stage is no age in months)
    r"|(?<![A-Za-z\d.])(?P<lo2>\d{1,3})\s*(?:-|–|to)\s*(?P<hi2>\d{1,3})\s*" + _UNIT.format(n=3)
    + r"\s*(?:of\s+age|old)?",
    re.IGNORECASE,
)
# "... and 75 years or younger" beside a minimum read by _MIN_PLAIN
_MAX_PLAIN = re.compile(r"(?P<n>\d{1,3})\s*(?:years?|yrs?)(?:\s+of\s+age)?\s*(?:or|and)\s+"
                        r"(?:younger|under|below)\b", re.IGNORECASE)
_MIN_PLAIN = re.compile(
    r"(?P<n>\d{1,3})\s*(?:years?|yrs?)(?:\s+of\s+age)?\s*(?:or|and)\s+(?:older|over|above|greater)"
    r"(?!\s*(?:than\s*)?\d)|(?:over|older\s+than)\s+(?P<n2>\d{1,3})\s*(?:years?)"
    r"(?:\s+(?:of\s+age|old))?",
    re.IGNORECASE,
)
# PDQ "Age: 18 and over", "Age: 75 and under", "Age: Over 21" (the label is the cue)
# "under the age of 18", "above the ages of 18 years"
_AGE_OF = re.compile(r"(?:\b(?P<cmp>under|below|younger\s+than|over|above|older\s+than)|"
                     r"(?P<sym>≥|>=|>|≤|<=|<))\s*(?:the\s+)?"
                     r"ages?\s*(?:of\s+)?(?P<n>\d{1,3})(?:\s*" + _UNIT.format(n=0)
                     + r"(?:\s+old)?)?",
                     re.IGNORECASE)
# "18 ≤ years of age ≤ 70", "18 years ≤ age ≤ 65 years", "Age: 6 to under 60"
_BETWEEN = re.compile(
    r"(?P<lo>\d{1,3})\s*(?:years?\s*)?(?P<c1>≤|<=|=<|<)\s*(?:(?:the\s+)?years?\s+of\s+)?age[ds]?\s*"
    r"(?P<c2>≤|<=|=<|<)\s*(?P<hi>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?)?|"
    r"\bage[ds]?\s*[:：]?\s*(?:from\s+)?(?P<lo2>\d{1,3})\s*(?:years?\s+)?to\s+(?:under|less\s+than|below)\s+"
    r"(?P<hi2>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?)?", re.IGNORECASE)
# The whole clause a range of years: "18-60 years".
_BARE_RANGE = re.compile(r"\W*(?P<lo>\d{1,3})\s*(?:-|–|to)\s*(?P<hi>\d{1,3})\s*(?:years?|yrs?)"
                         r"(?:\s+old|\s+of\s+age)?\W*", re.IGNORECASE)
# "age younger than six months", "age older than 1 month"
_AGE_IN_MONTHS = re.compile(
    r"\bage[ds]?\s*[:：]?\s*(?P<cmp>under|younger\s+than|less\s+than|below|over|older\s+than|"
    r"more\s+than|above)\s+(?P<n>\d{1,3})\s*(?P<u>months?|weeks?|days?)\b", re.IGNORECASE)
_PDQ_AGE = re.compile(
    r"\bage[ds]?\s*[:：]?\s*(?:(?P<lo>\d{1,3})\s*(?:years?\s*)?(?:and|or)\s+(?:over|older|above)"
    r"|(?P<hi>\d{1,3})\s*(?:years?\s*)?(?:and|or)\s+(?:under|younger|below)"
    r"|(?P<gt>over|older\s+than)\s+(?P<gtn>\d{1,3})|(?P<lt>under|younger\s+than)\s+(?P<ltn>\d{1,3}))"
    r"(?:\s*(?:years?|yrs?)(?:\s+old|\s+of\s+age)?)?(?!\s*(?:-|to)\s*\d)"
    r"(?!\s*(?:months?|weeks?|days?|hours?|mos?\b|wks?\b))",
    re.IGNORECASE,
)


# The age cue right before a bound ("Age 18 years or older", "Patients aged 18
# or over") and when the age counts ("at the time of consent"): both belong to it.
_CUE_BEFORE = re.compile(r"\b(?:age[ds]?|patients?\s+aged)\s*(?:[:：]|of|is|must\s+be|should\s+be)?"
                         r"\s*$", re.IGNORECASE)
_WHEN_AFTER = re.compile(
    r"\s*,?\s*(?:(?:at|on|by)\s+(?:the\s+)?(?:time|day|date)\s+of\s+(?:(?:signing|signature\s+of)\s+"
    r"(?:the\s+)?)?(?:(?:written\s+)?informed\s+consent|inform\s+consent|consent|enrol+ment|"
    r"registration|randomi[sz]ation|recruitment|screening|study\s+entry|inclusion|diagnosis)"
    r"(?:\s+(?:signature|form))?|at\s+(?:screening|study\s+entry|enrol+ment|registration|"
    r"randomi[sz]ation|(?:the\s+)?(?:first\s+)?screening\s+visit))",
    re.IGNORECASE)


def _with_context(text: str, found: Found) -> Found:
    """Widen an age bound over its cue before it and its moment after it."""
    before = _CUE_BEFORE.search(text[max(0, found.start - 25):found.start])
    spans = found.used()
    if before:
        cue = (found.start - 25 + before.start() if found.start >= 25 else before.start(),
               found.start)
        spans = [cue, *spans]
    last = max(e for _, e in spans)
    if after := _WHEN_AFTER.match(text, last):
        spans = [*spans, (last, after.end())]
    if len(spans) == len(found.used()):
        return found
    return Found(found.node, min(s for s, _ in spans), max(e for _, e in spans), found.family,
                 spans=spans, notes=found.notes)


# An age that says to whom something else applies: "consent of a parent if under
# age 18", "for children under the age of 18", "in women under 50 years of age",
# "colorectal cancer diagnosed under age 50", "Patients age 50 and under must be
# HLA typed".  ("Age 5 years and under: creatinine < 1.2 mg/dL" is read by the
# compiler as a rule for some patients.)
_CONDITION_BEFORE = re.compile(
    r"(?:\b(?:if|when|unless|whose|among|diagnosed|onset|relatives?|consent)\b|"
    r"\b(?:for|in)\s+(?:the\s+)?(?:children|patients|subjects|participants|women|men|those|"
    r"females|males|minors|adults|persons)\b)[^.;:]{0,30}$", re.IGNORECASE)
_SUBJECT_OF = re.compile(r"\s*(?:must|should|will|shall|are\s+required|need)\s+"
                         r"(?!be\s+(?:\d|at\s+least|"
                         r"older|younger|aged?|between|over|under|above|below|less|greater|more|"
                         # "... older than 60 years old will be excluded": the rule itself
                         r"(?:ex|in)cluded|(?:in)?eligible|enrolled))",
                         re.IGNORECASE)


# The age of a relative: "2 or more premenopausal (under age 50) first-degree relatives"
_FAMILY = re.compile(r"\b(?:relatives?|family|first-degree|mothers?|sisters?|fathers?|brothers?|"
                     r"siblings?|kindreds?)\b", re.IGNORECASE)


def _conditional(text: str, found: Found) -> bool:
    before = text[max(0, found.start - 40):found.start]
    return bool(_CONDITION_BEFORE.search(before) or _SUBJECT_OF.match(text, found.end)
                or _FAMILY.search(text, max(0, found.start - 60), found.end + 60))


def _as_stated(text: str, found: Found) -> Found:
    """"No patients above the age of 60", "must not be less than 6 months of age"."""
    neg, cue = negated(text, found.start)
    if not (neg and cue) or found.node is None:
        return found
    return Found(ir.Not(item=found.node), min(found.start, cue[0]), found.end, found.family,
                 spans=[*found.used(), cue], notes=found.notes)


_WHOLE_YEARS_NOTE = ("'over {n:g} years' read as {n:g} or older: ages are whole years, and "
                     "whoever is {n:g} is over {n:g} years on every day but the birthday "
                     "(registries record such trials with a minimum age of {n:g})")


def _lower_bound_in_whole_years(found: Found) -> Found:
    """"Over 18", "> 18 years" in an inclusion: anyone whose age in whole years is 18
    is over 18 years (all but the birthday itself), and registries record such
    trials with a minimum age of 18 (90 legacy trials against 4 with 19); read as
    "age > 18" on whole years, every 18-year-old failed.  An upper bound stays as
    written ("under 75" admits 74; an exclusion "over 95" admits 95, as its
    registry maximum says)."""
    node = found.node
    if isinstance(node, ir.AgeAtom) and node.op == ">" and node.value >= 1 \
            and node.value == int(node.value):
        return Found(node.model_copy(update={"op": ">="}), found.start, found.end, found.family,
                     spans=found.spans, notes=[*found.notes,
                                               _WHOLE_YEARS_NOTE.format(n=node.value)])
    if isinstance(node, ir.And) and any(isinstance(a, ir.AgeAtom) and a.op == ">" and
                                        a.value >= 1 and a.value == int(a.value)
                                        for a in node.items):
        items = tuple(a.model_copy(update={"op": ">="}) if isinstance(a, ir.AgeAtom) and
                      a.op == ">" and a.value >= 1 and a.value == int(a.value) else a
                      for a in node.items)
        low = next(a for a in node.items if isinstance(a, ir.AgeAtom) and a.op == ">")
        return Found(ir.And(items=items), found.start, found.end, found.family,
                     spans=found.spans, notes=[*found.notes,
                                               _WHOLE_YEARS_NOTE.format(n=low.value)])
    return found


def _years(value: float, unit: str | None) -> float:
    key = (unit or "y").lower()[0]
    return round(value * _YEARS_PER.get(key, 1.0), 4)


# An age in a definition: "Postmenopausal women over 50 years of age must have been
# amenorrheic for 12 months to be considered of non-childbearing potential".
_DEFINES = re.compile(r"[^.;]*\b(?:to\s+be|are|is)\s+considered\s+(?:of\s+|as\s+|to\s+be\s+)?"
                      r"(?:non-?\s*child|not\s+of\s+child|post-?\s*menopaus)", re.IGNORECASE)
_IN_COUNTRY = re.compile(r"\s*(?:of\s+age\s+|old\s+)?in\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s*[);,]")


def _age_thresholds(text: str) -> list[Found]:
    """Comparisons bound to an age cue: "age >= 18", "aged < 72 hours", "below
    18 years or above 80 years" (each comparison its own atom)."""
    out: list[Found] = []
    cue = _AGE_CUE.search(text) or _SUBJECT_AGE_CUE.search(text)
    candidates = [th for th in find_thresholds(text)
                  if th.relative_to is None and th.unit is None and 0 <= th.value <= 130]
    chained_unit: str | None = None
    for i, th in enumerate(candidates):
        tail = re.match(r"\s*" + _UNIT.format(n=0), text[th.end:th.end + 12], re.IGNORECASE)
        near_cue = cue is not None and (0 <= th.start - cue.end() <= 25
                                        or 0 <= cue.start() - th.end <= 3)
        chained = False
        if not near_cue and not tail and i + 1 < len(candidates) and cue is not None and \
                re.fullmatch(r"\s*(?:,|and|or|to|but)\s*", text[th.end:candidates[i + 1].start],
                             re.IGNORECASE):
            # "Greater than 1 and less than 75 years of age": the first bound takes
            # the second's unit and cue.
            nxt = candidates[i + 1]
            after = re.match(r"\s*" + _UNIT.format(n=0), text[nxt.end:nxt.end + 12],
                             re.IGNORECASE)
            if after or 0 <= cue.start() - nxt.end <= 3:
                chained, chained_unit = True, after.group("u0") if after else None
        if not near_cue and not chained and \
                not (tail and tail.group("u0").lower().startswith("y") and cue):
            continue
        unit = tail.group("u0") if tail else (chained_unit if chained else None)
        end = th.end + (tail.end() if tail else 0)
        if _IN_COUNTRY.match(text, end):
            continue  # "(>= 20 years in Japan)": a bound for one country, left to a person
        out.append(Found(ir.AgeAtom(op=th.op, value=_years(th.value, unit)), th.start, end,
                         "age"))
        if cue is not None and len(out) == 1 and not cue.groupdict().get("sex"):
            # (a sex opening the item is the sex recognizer's to read)
            # (the cue once: two bounds sharing it would each look half read)
            out[-1].spans = [(cue.start(), cue.end()), (th.start, end)]
    return out


_SEX_ANY = re.compile(r"\b(?:both\s+sexes|both\s+genders|all\s+sexes|male\s+(?:or|and)\s+female|"
                      r"(?:men|males?)\s*(?:\s(?:or|and(?:/or)?)\s|/)\s*(?:women|females?)|(?:women|females?)\s*(?:\s(?:or|and(?:/or)?)\s|/)\s*"
                      r"(?:men|males?)|either\s+sex|any\s+gender)\b", re.IGNORECASE)
_SEX_ONE = re.compile(r"^(?:\W*)(?:(?:sex|gender)\s*:\s*)?(?:(?:patients?|subjects?)\s+"
                      r"(?:must\s+be\s+)?|(?:must\s+)?be\s+)?"
                      r"(?P<sex>females?|women|woman|males?|men|man)\b"
                      r"(?!\s*(?:\s(?:or|and)(?:/or)?\s|/)\s*(?:(?:fe)?males?|(?:wo)?m[ae]n)\b)",
                      re.IGNORECASE)


_POPULATION = re.compile(r"\s+(?:patients?|subjects?|participants?|with|aged|who|≥|>=|\d|"
                         r"and\s+(?=at\s+least|aged?\b|between|\d))",
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


# "has not had menses for >1 year", "amenorrhea for at least 12 months": a time,
# not an age.
_DURATION_BEFORE = re.compile(r"(?i:\b(?:for|since|during|over|menses|menstruation|amenorrh\w*)\s*"
                              r"(?:the\s+(?:past|last)\s+)?(?:at\s+least\s+)?)$")
# "≥ 12 months of amenorrhea", "12 months since last menses": a time, not an age.
_DURATION_AFTER = re.compile(r"\s*(?:months?|mos?|weeks?|days?)\s+(?:of|since|without|after|"
                             r"following|from)\s+(?![\s(]|(?:gestational\s+)?age\b)",
                             re.IGNORECASE)


def _number_end(text: str, found: Found) -> int:
    """Where the last number of an age reading ends (its unit may follow)."""
    digits = list(re.finditer(r"\d+", text[found.start:found.end]))
    return found.start + digits[-1].end() if digits else found.end


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
        if not found and (m8 := _BETWEEN.search(text)):
            if m8.group("lo") is not None:
                low_op = ">=" if m8.group("c1") != "<" else ">"
                high_op = "<=" if m8.group("c2") != "<" else "<"
                low, high = int(m8.group("lo")), int(m8.group("hi"))
            else:
                low_op, high_op = ">=", "<"
                low, high = int(m8.group("lo2")), int(m8.group("hi2"))
            if 0 <= low < high <= 130:
                found.append(Found(ir.And(items=(ir.AgeAtom(op=low_op, value=low),
                                                 ir.AgeAtom(op=high_op, value=high))),
                                   m8.start(), m8.end(), "age"))
        if not found and (m6 := _AGE_OF.search(text)):
            sym = m6.group("sym")
            young = (m6.group("cmp") or "").lower() in ("under", "below", "younger than")
            op = {"≥": ">=", "≤": "<="}.get(sym, sym) if sym else ("<" if young else ">")
            found.append(Found(ir.AgeAtom(op=op,
                                          value=_years(int(m6.group("n")), m6.group("u0"))),
                               m6.start(), m6.end(), "age"))
        if not found and (m7 := _BARE_RANGE.fullmatch(text)):
            low, high = int(m7.group("lo")), int(m7.group("hi"))
            if 0 <= low < high <= 130:
                found.append(Found(ir.And(items=(ir.AgeAtom(op=">=", value=low),
                                                 ir.AgeAtom(op="<=", value=high))),
                                   m7.start("lo"), m7.end(), "age"))
        if not found and (m9 := _AGE_IN_MONTHS.search(text)):
            young = m9.group("cmp").lower().split()[0] in ("under", "younger", "less", "below")
            found.append(Found(ir.AgeAtom(op="<" if young else ">",
                                          value=_years(int(m9.group("n")), m9.group("u"))),
                               m9.start(), m9.end(), "age"))
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
        if len(found) == 1 and isinstance(low := found[0].node, ir.AgeAtom) and \
                low.op in (">=", ">") and (top := _MAX_PLAIN.search(text, found[0].end)) \
                is not None and int(top.group("n")) > low.value:
            # "Women aged 18 years or older and 75 years or younger"
            found.append(Found(ir.AgeAtom(op="<=", value=int(top.group("n"))),
                               top.start(), top.end(), "age"))
        if not found:
            found = _age_thresholds(text)
            if len(found) > 1 and clause.kind == "exclusion":
                # "age below 18 or above 80": either excludes.
                joined = ir.Or(items=tuple(f.node for f in found))
                spans = [sp for f in found for sp in f.used()]
                found = [Found(joined, min(a for a, _ in spans), max(b for _, b in spans), "age",
                               spans=spans)]
    found = [_as_stated(text, _with_context(text, f)) for f in found
             if not _conditional(text, f) and not _DEFINES.match(text, f.end)
             and not _DURATION_BEFORE.search(text, max(0, f.start - 25), f.start)
             and not _DURATION_AFTER.match(text, _number_end(text, f))]
    if clause.kind == "inclusion":
        found = [_lower_bound_in_whole_years(f) for f in found]
    m3 = _SEX_ANY.search(text)
    if m3:
        # No restriction: recognized (node None) so that nothing is left for review.
        found.append(Found(None, m3.start(), m3.end(), "sex"))
    else:
        m4 = _SEX_ONE.match(text)
        # Short, or naming the population it opens ("Female patients with ovarian cancer").
        opens = m4 is not None and _POPULATION.match(text, m4.end("sex")) is not None
        if m4 and (len(text) < 60 or opens) and not _WOMEN_AS_SUBJECT.search(text):
            women = ("female", "females", "women", "woman")
            sex = "female" if m4.group("sex").lower() in women else "male"
            end = m4.end("sex")
            if (word := re.match(r"\s+(?:sex|gender)\b", text[end:], re.IGNORECASE)):
                end += word.end()  # "Male sex", "Female gender": the word names the fact
            found.append(Found(ir.SexAtom(allowed=(sex,)), m4.start("sex"), end, "sex"))
    return found
