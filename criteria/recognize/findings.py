"""Clinical findings: measurable disease, life expectancy, tumour tissue,
pregnancy and breastfeeding, brain metastases."""

from __future__ import annotations

import re

from criteria import ir
from criteria.grammar import WORD_NUMBERS, find_thresholds
from criteria.recognize.base import (
    CONTRACEPTION,
    IF_BEFORE,
    Clause,
    Found,
    mentions_any,
    negated,
    not_the_subject,
)

_MEASURABLE = re.compile(
    r"\b(?:(?:at\s+least|≥|>=)\s*(?:one|1)\s+(?:site\s+of\s+)?(?:(?:target|indicator)\s+)?)?"
    r"(?:(?:uni|bi)dimensionally\s+)?measure?able\s+(?:and/or\s+evaluable\s+)?"
    r"(?:(?:target|indicator)\s+)?(?:disease|lesions?|tumou?rs?)(?:\s*\([^)]*\))?"
    r"(?:[^;.]{0,40}?RECIST(?:\s*(?:v(?:ersion)?\.?\s*)?1\.[01])?(?:\s+criteria)?)?",
    re.IGNORECASE,
)
# The response criteria measurability refers to, and how it is imaged: "according
# to Response Evaluation Criteria in Solid Tumors (RECIST) version 1.1", "by CT".
_BY_CRITERIA = re.compile(
    r"(?:\s*,?\s*(?:(?:as\s+)?(?:defined|assessed|determined|measured|evaluated)\s+)?"
    r"(?:according\s+to|based\s+on|by|per|using|as\s+per|in\s+accordance\s+with|on)\s+(?:the\s+)?"
    r"(?:(?:revised|modified|immune[\s-]related)\s+)?(?:(?:i|m|ir)?RECIST|RANO|irRC|Cheson|Lugano|"
    r"PCWG\d?|Response\s+(?:Evaluation\s+)?Criteria\s+(?:in|for)\s+Solid\s+Tumou?rs?|"
    r"(?:MRI|CT|PET|imaging|radiographic\s+studies|physical\s+examination)"
    r"(?:\s*(?:,|or|and|and/or)\s*(?:MRI|CT|PET|physical\s+examination)(?:\s+scans?)?)*"
    r"(?:\s+scans?)?)"
    r"(?:\s*\([^)]{0,60}\))?(?:\s*(?:guidelines?|criteria))?"
    r"(?:\s*,?\s*(?:v(?:ersion)?\.?\s*)?\d(?:\.\d)?)?(?:\s*\([^)]{0,40}\))?"
    r"(?:\s+(?:criteria|guidelines?))?)+|"
    r"(?:\s*\([^)]{0,60}\))?(?:\s*,?\s*(?:v(?:ersion)?\.?\s*)?\d\.\d)?(?:\s*\([^)]{0,40}\))?",
    re.IGNORECASE)
_LIFE = re.compile(r"\b(?:(?:estimated|expected|anticipated|predicted)\s+)?"
                   r"(?:life\s+expectancy|expected\s+survival(?:\s+time)?|survival\s+expectancy|"
                   r"expected\s+lifetime|"
                   r"estimated\s+survival|expected\s+to\s+survive)\b", re.IGNORECASE)
# Whose estimate it is: a life expectancy always is someone's judgement.
_ESTIMATED_BY = re.compile(
    r"\s*,?\s*\(?(?:(?:as\s+)?(?:determined|judged|assessed|estimated|evaluated)\s+by|"
    r"in\s+the\s+(?:opinion|judge?ment|estimation)\s+of|according\s+to|per)\s+(?:the\s+)?"
    r"(?:treating\s+|enrolling\s+)?(?:investigator|physician|clinician|doctor)(?:'?s)?"
    r"(?:\s+judge?ment|\s+opinion)?\)?", re.IGNORECASE)
_STRICT_WORDS = ("greater than", "more than", "over", ">", "longer than")
_LIFE_AMOUNT = re.compile(
    r"[^\w;.]{0,3}(?:(?:is|of|for|should\s+be|must\s+be|estimated\s+(?:to\s+be|at))\s+)*"
    r"(?:(?P<cmp>at\s+least|greater\s+than|more\s+than|longer\s+than|over|minimum\s+of|"
    r"no\s+less\s+than|>|≥|>=)\s*)?(?:a\s+minimum\s+of\s+|of\s+)?"
    r"(?P<n>\d+(?:\.\d+)?|" + "|".join(WORD_NUMBERS) + r")\s*(?:\(\d+\)\s*)?"
    r"(?P<u>week|month|year|day)s?(?:\s+or\s+(?:more|longer|greater|above))?\b",
    re.IGNORECASE)
_MEASURABLE_OR_EVALUABLE = re.compile(
    r"\b(?:(?:at\s+least|≥|>=)\s*(?:one|1)\s+(?:site\s+of\s+)?)?(?:(?:uni|bi)dimensionally\s+)?"
    r"measure?able\s+(?:and/or|or|and\s+or)\s+(?:non-?measure?able\s+)?"
    r"evaluable\s+(?:disease|lesions?|tumou?rs?)\b", re.IGNORECASE)
_TISSUE = re.compile(r"\b(?:availability\s+of|available|provide|submit\w*)\b[^;.]{0,30}?"
                     r"\b(?:tumou?r\s+(?:tissue|samples?|specimens?|blocks?)|archival\s+"
                     r"(?:tumou?r\s+)?(?:tissue|samples?|specimens?))|\b(?:tumou?r|archival)\s+"
                     r"(?:tissue|samples?|specimens?)\b[^;.]{0,20}?\bavailab\w+", re.IGNORECASE)
_PREGNANT = re.compile(r"\bpregnan\w*", re.IGNORECASE)
_WOMEN = re.compile(r"\b(?:wom[ae]n|females?|female\s+(?:patients?|subjects?|participants?)|"
                    r"mothers?)\b", re.IGNORECASE)
# A rule for the time on study: what it says of pregnancy is a plan, not a finding.
_FUTURE_CONDUCT = re.compile(r"\b(?:agree\w*\s+(?:not\s+)?to|(?:avoid|prevent|postpone)\w*\s+"
                             r"(?:an?\s+)?|risk\s+of\s+)"
                             r"\s*$", re.IGNORECASE)
_NEGATIVE_BEFORE = re.compile(r"\bnegative\b[^.;]*$", re.IGNORECASE)
_BREASTFEEDING = re.compile(r"\b(?:breast[\s-]?feeding|lactating|nursing(?!\s+(?:staff|homes?|"
                            r"care|facilit\w+|personnel|team|assessments?)))\b", re.IGNORECASE)
# "must not be pregnant", "negative pregnancy test", "non-pregnant": a requirement
# about pregnancy beside the contraception
_NOT_PREGNANT = re.compile(r"\b(?:not|non|no|neither|nor)\b[^.;,]{0,30}?\b(?:pregnan|"
                           r"breast-?\s?feed|lactat|nursing)|\bnegative\b[^.;]{0,40}\bpregnan|\bpregnan\w*\s+tests?\b"
                           r"[^.;]{0,20}\bnegative", re.IGNORECASE)
_BRAIN = re.compile(
    r"\b(?P<q>(?:(?:clinically\s+)?(?:active|untreated|symptomatic|uncontrolled|progressive|unstable|"
    r"known|new|treated)\s*(?:,\s*|\s(?:or|and|and/or)\s+|\s+))+)?"
    r"(?:brain|CNS|central\s+nervous\s+system|cerebral|intracranial)(?:\s*\(CNS\))?"
    r"(?:\s*(?:/|or|and|and/or)\s*(?:other\s+)?(?:brain|CNS|central\s+nervous\s+system|"
    r"leptomeningeal|meningeal|"
    r"spinal\s+cord)(?:\s*\(CNS\))?)?\s+"
    r"metastas[ie]s\b",
    re.IGNORECASE,
)
# "(no brain metastases) or asymptomatic / treated and stable brain metastases"
_BRAIN_ALLOWED = re.compile(
    r"\s*,?\s*(?:or|and/or)\s+(?:with\s+)?(?P<q>(?:(?:clinically\s+)?(?:asymptomatic|"
    r"(?:previously\s+)?treated|stable|controlled|neurologically\s+stable)"
    r"(?:\s*(?:,|and|or)\s*|\s+))+)(?:brain|CNS|central\s+nervous\s+system|cerebral|"
    r"intracranial)\s+metastas[ie]s\b", re.IGNORECASE)
# A month is 52/12 weeks, so that "6 months" is 26 weeks, the same as written in weeks.
_WEEKS = {"week": 1.0, "month": 52 / 12, "year": 52.0, "day": 1 / 7}


_GATE = ("measurable", "measureable", "expectancy", "lifetime", "survival", "survive", "tissue",
         "specimen", "sample",
         "block", "pregnan", "feeding", "lactat", "nursing", "metasta")


def recognize(clause: Clause) -> list[Found]:
    text = clause.text
    out: list[Found] = []
    if not mentions_any(text, _GATE):
        return out
    m = _MEASURABLE.search(text)
    either = _MEASURABLE_OR_EVALUABLE.search(text)
    if either:
        # "Measurable or evaluable disease": measurable decides; evaluable-only
        # disease is a reading of the scans, for a person.
        neg, cue = negated(text, either.start())
        either_node = ir.Or(items=(ir.FindingAtom(key="measurable_disease", value=True),
                                   ir.Review(text="evaluable (non-measurable) disease")))
        end = (_BY_CRITERIA.match(text, either.end()) or either).end()
        out.append(Found(ir.Not(item=either_node) if neg else either_node, either.start(),
                         end, "measurable_disease",
                         spans=[(either.start(), end)] + ([cue] if cue else [])))
        m = None
    if m and re.search(r"\bto\s+(?:the\s+)?(?:only\s+|sole\s+|all\s+)?(?:sites?\s+of\s+)?$",
                       text[max(0, m.start() - 25):m.start()], re.IGNORECASE):
        m = None  # "radiotherapy to the only measurable lesion": where, not whether
    if m:
        neg, cue = negated(text, m.start())
        node: ir.Node = ir.FindingAtom(key="measurable_disease", value=True)
        end = (_BY_CRITERIA.match(text, m.end()) or m).end()
        out.append(Found(ir.Not(item=node) if neg else node, m.start(), end,
                         "measurable_disease",
                         spans=[(m.start(), end)] + ([cue] if cue else [])))
    life = _LIFE.search(text)
    if life:
        # "Life expectancy judged by the investigator of at least 3 months"
        origin = by.end() if (by := _ESTIMATED_BY.match(text, life.end())) else life.end()
        for th in find_thresholds(text[origin:origin + 40]):
            tail = text[origin + th.end:origin + th.end + 12]
            unit = re.match(r"\s*(week|month|year|day)s?", tail, re.IGNORECASE)
            if not unit or th.relative_to:
                continue
            weeks = round(th.value * _WEEKS[unit.group(1).lower()], 1)
            end = origin + th.end + unit.end()
            if by := _ESTIMATED_BY.match(text, end):
                end = by.end()
            out.append(Found(ir.FindingAtom(key="life_expectancy_weeks", op=th.op, value=weeks),
                             life.start(), end, "life_expectancy"))
            break
        else:
            # "for at least three months", "of 3 months or more"
            amount = _LIFE_AMOUNT.match(text, origin)
            if amount:
                n = amount.group("n").lower()
                value = float(n) if n[0].isdigit() else float(WORD_NUMBERS[n])
                strict = (amount.group("cmp") or "").lower() in _STRICT_WORDS
                weeks = round(value * _WEEKS[amount.group("u").lower()], 1)
                out.append(Found(ir.FindingAtom(key="life_expectancy_weeks",
                                                op=">" if strict else ">=", value=weeks),
                                 life.start(), (_ESTIMATED_BY.match(text, amount.end())
                                                or amount).end(), "life_expectancy"))
    tissue = _TISSUE.search(text)
    if tissue:
        out.append(Found(ir.FindingAtom(key="tumor_tissue_available", value=True),
                         tissue.start(), tissue.end(), "tumor_tissue"))
    out.extend(_pregnancy(text, clause.kind))
    brain = _BRAIN.search(text)
    if brain and (not_the_subject(text, brain.start())
                  or IF_BEFORE.search(text, max(0, brain.start() - 60), brain.start())):
        # "No prior chemotherapy for brain metastases": the indication; "If patients
        # have a history of brain metastases, a brain MRI is required": whom for
        brain = None
    if brain:
        q = (brain.group("q") or "").lower()
        # "active", "untreated", "symptomatic": active only; "known", "treated": any
        values = ("active",) if re.search(r"active|untreated|symptomatic|uncontrolled|"
                                          r"progressive|unstable|new", q) and not re.search(
            r"\btreated\s*(?:,|or|and/or)\s*(?:clinically\s+)?active\b|\bactive\s*(?:,|or|"
            r"and/or)\s*(?:previously\s+)?treated\b", q) else ("active", "treated_stable")
        neg, cue = negated(text, brain.start())
        node: ir.Node = ir.FindingAtom(key="brain_metastases", value=values)
        if re.search(r"\btreated", q) and not re.search(r"known|stable|active|symptomatic|"
                                                      r"uncontrolled|progressive|new", q):
            # "Previously treated brain metastases": the treated ones; active ones
            # may have been treated before they grew, which a person checks (read
            # as any, an inclusion passed active metastases)
            node = ir.Or(items=(ir.FindingAtom(key="brain_metastases", value=("treated_stable",)),
                                ir.And(items=(ir.FindingAtom(key="brain_metastases",
                                                             value=("active",)),
                                              ir.Review(text="active brain metastases "
                                                             "treated before")))))
        logic: ir.Node = ir.Not(item=node) if neg else node
        end = brain.end()
        allowed = _BRAIN_ALLOWED.match(text, brain.end()) if neg else None
        if allowed is not None:
            # "no brain metastasis or asymptomatic brain metastasis": the second names
            # the ones allowed (read under the denial, they were excluded too)
            kept = ir.FindingAtom(key="brain_metastases", value=("treated_stable",)) \
                if re.search(r"treated|stable", allowed.group("q"), re.IGNORECASE) else \
                ir.Review(text=re.sub(r"^\W*(?:or|and/or)\s+", "", allowed.group(0).strip(" ,;")))
            logic, end = ir.Or(items=(logic, kept)), allowed.end()
        out.append(Found(logic, brain.start(), end, "cns_metastases",
                         spans=[(brain.start(), end)] + ([cue] if cue else [])))
    return out


def _pregnancy(text: str, kind: str = "inclusion") -> list[Found]:
    """Pregnancy and breastfeeding.  One negation before both covers both:
    "Not pregnant or nursing" is not (pregnant or nursing)."""
    if kind == "inclusion" and CONTRACEPTION.search(text) and not _NOT_PREGNANT.search(text):
        # "women with the possibility of pregnancy must practice contraception",
        # "when having intercourse with a pregnant partner": no inclusion asks a
        # patient to be pregnant; beside contraception the word names a risk (read
        # as a requirement, every woman who is not pregnant failed).  A person
        # reads it, and no other recognizer takes the word for a history.
        words = [m for p in (_PREGNANT, _BREASTFEEDING) for m in p.finditer(text)]
        return [Found(ir.Review(text=text.strip()), m.start(), m.end(), "pregnancy")
                for m in words[:1]]
    hits = []
    planned: list[Found] = []
    for pattern, key in ((_PREGNANT, "pregnant"), (_BREASTFEEDING, "breastfeeding")):
        hit = pattern.search(text)
        if hit and _FUTURE_CONDUCT.search(text, max(0, hit.start() - 25), hit.start()):
            # "must use contraception to avoid pregnancy", "agrees not to breastfeed":
            # a person reads it (and no other recognizer takes the word for a history).
            planned.append(Found(ir.Review(text=text.strip()), hit.start(), hit.end(),
                                 "pregnancy"))
            continue
        if hit and re.search(r"\bto\s+(?:exclude|rule\s+out|detect)\s+(?:\w+\s+)?$",
                             text[max(0, hit.start() - 30):hit.start()], re.IGNORECASE):
            continue  # "a negative beta-hCG to exclude early pregnancy": the test's purpose
        if hit and re.search(r"\s+category\b", text[hit.end():hit.end() + 12], re.IGNORECASE):
            continue  # "pregnancy category D": a drug's label
        if hit and re.match(r"\s+(?:should|must|will|shall|is\s+to)\s+be\s+(?:confirmed|documented|"
                            r"verified)\b", text[hit.end():], re.IGNORECASE):
            # "(absence of pregnancy should be confirmed by a negative pregnancy test)":
            # how a finding is checked, not a finding (read in an exclusion as an
            # alternative, every woman who was not pregnant was excluded)
            continue
        if hit and re.search(r"\b(?:becom\w*|get(?:ting)?|fall)\s+$",
                             text[max(0, hit.start() - 12):hit.start()], re.IGNORECASE):
            continue  # "should a woman become pregnant": the future, not a finding
        if hit and not re.search(r"test|contracept", text[max(0, hit.start() - 30):hit.end() + 30],
                                 re.IGNORECASE):
            hits.append((hit, key))
    if not hits:
        return planned[:1]
    hits.sort(key=lambda h: h[0].start())
    first, last = hits[0][0], hits[-1][0]
    neg, cue = negated(text, first.start())
    negative = _NEGATIVE_BEFORE.search(text, max(0, first.start() - 30), first.start())
    if not neg and negative:
        # "have a negative urine or serum pregnancy": a negative test, not pregnant
        neg, cue = True, (negative.start(), negative.end())
    between = text[first.end():last.start()]
    shared = len(hits) == 2 and re.fullmatch(r"\s*(?:,|or|and/or|nor|and)\s*", between,
                                             re.IGNORECASE) is not None
    # "Pregnant or breastfeeding women": only women can be; the word adds nothing.
    base = max(0, first.start() - 30)
    who = [(base + m.start(), base + m.end())
           for m in _WOMEN.finditer(text[base:last.end() + 30])]
    if shared or len(hits) == 1:
        atoms = tuple(ir.FindingAtom(key=key, value=True) for _, key in hits)
        node: ir.Node = atoms[0] if len(atoms) == 1 else ir.Or(items=atoms)
        spans = [(h.start(), h.end()) for h, _ in hits] + who + ([cue] if cue else [])
        return [Found(ir.Not(item=node) if neg else node, first.start(), last.end(),
                      "pregnancy", spans=spans)]
    out = []
    for n, (hit, key) in enumerate(hits):
        neg, cue = negated(text, hit.start())
        atom = ir.FindingAtom(key=key, value=True)
        spans = [(hit.start(), hit.end())] + (who if n == 0 else []) + ([cue] if cue else [])
        out.append(Found(ir.Not(item=atom) if neg else atom, hit.start(), hit.end(),
                         "pregnancy", spans=spans))
    return out
