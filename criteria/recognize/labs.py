"""Lab thresholds: analyte, operator, value with unit or multiple of ULN/LLN,
AND/OR groups, lists of analytes sharing one threshold, qualitative results
(serology, dipstick) and reflex testing ("if HBsAg positive, HBV DNA above ULN").

Precedence: in "A or B, and C" the comma/"and" separate requirements and
"or" joins alternatives, so OR binds tighter than AND: (A or B) and C.
"""

from __future__ import annotations

import dataclasses
import re

from criteria import ir, units, vocab
from criteria.grammar import Threshold, find_thresholds
from criteria.recognize.base import (
    IF_NOTE,
    MAY_HAVE_FOR,
    SUBGROUP_MUST,
    Clause,
    Found,
    connector,
    negated,
)

_CONNECT = re.compile(r"^[\s,/&()\-]*(?:(?:and/or|and|or|&)\b[\s,/()\-]*)?$", re.IGNORECASE)
_OR = re.compile(r"\b(?:or|and/or)\b", re.IGNORECASE)
_RESULT = re.compile(
    r"\b(?P<word>positive|negative|reactive|non-?reactive|detectable|undetectable|detected|"
    r"not\s+detected|seropositive|seronegative)\b|"
    # a dipstick grade bound: "proteinuria < 2+", ">= 2+ proteinuria"
    r"(?P<grade>(?:<=?|≤|=<|>=?|≥|=>|less\s+than|greater\s+than)\s*(?P<n>[1-4])\s*\+)|"
    r"(?P<sign>\s[+]\s|<\s*\+|\+\s*$)",
    re.IGNORECASE,
)
# ("within normal institutional limits", the NCI template's word order, too)
_NORMAL_RANGE = re.compile(r"within\s+(?:the\s+)?(?:(?:institutional|local|laboratory|site|"
                           r"reference)\s+)?normal\s+(?:(?:institutional|local|laboratory|site|"
                           r"reference)\s+)?(?:range|limits?)|within\s+(?:the\s+)?(?:institutional\s+)?"
                           r"limits\s+of\s+normal|\bnormal\s+range\b|\bWNL\b",
                           re.IGNORECASE)
# "Bilirubin normal", "Creatinine is normal OR clearance ...": right after the analyte.
_NORMAL_AFTER = re.compile(r"\s*(?:(?:level|value|is|are|must\s+be|should\s+be)\s+)*normal\b"
                           r"(?!\s+(?:limit|value|upper|lower|range|function|renal|hepatic))",
                           re.IGNORECASE)
# "Normal glucose tolerance", "normal creatinine clearance test": a test's name.
_NAMES_A_TEST = re.compile(r"\s+(?:tolerance|tests?|metabolism|regulation|homeostasis)\b",
                           re.IGNORECASE)
# "Normal bilirubin", "normal serum creatinine": said before the analyte.
_NORMAL_BEFORE = re.compile(r"(?:^|[:;,(]\s*|\b(?:and|or|with|have|has)\s+)normal\s+"
                            r"(?:(?:serum|total|blood)\s+)?$", re.IGNORECASE)
_OPENING_NO = re.compile(r"\W*(?:[A-Za-z][A-Za-z /&,()-]{0,40}:\s*)?(?:no|without|absence\s+of|"
                         r"(?:(?:the\s+)?(?:patients?|subjects?|participants?)\s+)?(?:must|should|"
                         r"may)\s+not\s+have)\b", re.IGNORECASE)


def _abnormal(atom: ir.LabAtom) -> bool:
    """Is the bound on the abnormal side of the analyte's usual range ("WBC <
    4000", "bilirubin > 2 mg/dL", "AST > 3 x ULN")?"""
    analyte = vocab.analyte(atom.analyte)
    if analyte is None or not isinstance(atom.value, int | float):
        return False
    if atom.relative_to == "uln":
        return atom.op in (">", ">=") and atom.value >= 1
    if atom.relative_to is not None or analyte.default_range_unit is None or atom.unit is None:
        return False
    try:
        low, high = (None if v is None else units.convert(
            v, analyte.default_range_unit, atom.unit, analyte.molar_mass)
            for v in (analyte.default_low, analyte.default_high))
    except units.UnitError:
        return False
    if atom.op in ("<", "<="):
        return low is not None and atom.value <= low
    return high is not None and atom.value >= high


# "(5 times ULN if liver metastases)": a relaxed bound written without its comparator.
_BARE_RELAXED = re.compile(r"(?:\s*\((?:I?ULN|UNL)\))?\s*[(,;]\s*"
                           r"(?:up\s+to\s+)?(?P<n>\d+(?:\.\d+)?)\s*"
                           r"(?:x|×|X|times)\s*(?:the\s+)?(?:institutional\s+)?"
                           r"(?:ULN|upper\s+limits?\s+of\s+normal|normal)\b")
# ("confirmation of clearance is only required when creatinine is > 1.5 x ULN", too)
_FOR_WHOM_LAB = re.compile(r"(?:\b(?:for|in)\s+(?:the\s+|an?\s+)?(?:participants?|patients?|"
                           r"subjects?|those|cases)\s+(?:with|who\s+have|having)\s+|"
                           r"\bonly\s+(?:be\s+)?(?:required|needed|necessary)\s+(?:when|if)\s+)"
                           r"(?:an?\s+|the\s+)?(?:(?:serum|total|baseline)\s+)?$",
                           re.IGNORECASE)
# Analytes that measure the same thing, written as alternatives: "INR or PT <=
# 1.5 x ULN" asks for whichever was measured.
_SAME_MEASURE = frozenset({"inr", "pt"})
# "creatinine or creatinine clearance <= 1.5 x ULN or >= 50 mL/min": respectively.
_RESPECTIVELY = re.compile(r"\s*,?\s*or\s*(?:[<>≥≤]|=<|=>)", re.IGNORECASE)
_IF_THEN = re.compile(r"\bif\b.*?\bthen\b", re.IGNORECASE)
# A parenthesis opening with "if" says when something else applies ("(If LVEF is >
# 75%, the investigator should consider ...)"): its bounds are no requirement; it
# is left over for a person, whatever it asks.
_IF_NOTE = re.compile(IF_NOTE + r"|^\W*(?:if|when)\b[^,;:()]*[,:]", re.IGNORECASE)
_RELAXED_IF = re.compile(r"\(\s*(?:if|when)\s+[^()<>≤≥=\d,;:]{3,40}?[,:]?\s*(?:then\s+)?"
                         r"(?:[<>≤≥]|=<|=>)\s*=?\s*\d+(?:\.\d+)?\s*(?:x|×|X|times)\s*"
                         r"(?:the\s+)?(?:institutional\s+)?(?:I?ULN|UNL|upper\s+limit\s+of\s+normal)"
                         r"\s*\)", re.IGNORECASE)
_ESTIMATE = re.compile(r"[^;.]{0,12}\b(?:expected|predicted|estimated|anticipated)\b[^;.]*",
                       re.IGNORECASE)


def _restates(text: str, group: list[vocab.Mention], before: Threshold, th: Threshold) -> bool:
    """``th`` restates the bound ``before`` in another unit ("9.0 g/dL or 5.6
    mmol/L", "1.5 mg/dL (133 umol/L)"): same direction, same value within 5%."""
    if before.op != th.op or before.unit is None or th.unit is None or before.unit == th.unit \
            or not re.fullmatch(r"\s*(?:or|/|\(|,)?\s*", text[before.end:th.start]):
        return False
    for m in group:
        analyte = vocab.analyte(m.id)
        if analyte is None:
            return False
        try:
            value = units.convert(th.value, th.unit, before.unit, analyte.molar_mass)
        except units.UnitError:
            return False
        if abs(value - before.value) > 0.05 * max(abs(before.value), 1e-9):
            return False
    return bool(group)


# Between two mentions of one analyte, words that make them two requirements.
_NOT_ONE_ITEM = re.compile(r"\d|\bnormal\b|\b(?:for|if|when|in)\s+(?:the\s+)?(?:patients?|"
                           r"subjects?|participants?)\b|\bunable\b|\binability\b|\bnot\b|"
                           r"\bno\b|\bwithout\b|[;.]\s", re.IGNORECASE)


def _relaxed_by(base: ir.Node, relaxed: ir.And) -> ir.Node:
    """A bound changed for a subgroup: ``relaxed`` is the subgroup's bound(s) and
    its condition, last.  Whoever is in the subgroup is held to its bound, the
    rest to ``base``.  A looser bound ("<= 2.5 x ULN (<= 5 with liver metastases)",
    ">= 9 g/dL (>= 8 for gastric cancer)") makes either bound enough; a narrower
    one ("> 2.5 x ULN (> 5 with liver metastases)", an abnormality) asks the base
    and, with the condition, the narrower bound too (read as either, liver
    metastases with AST 3 x ULN were excluded)."""
    *bounds, cond = relaxed.items
    if not _narrower(bounds, base):
        return ir.Or(items=(base, relaxed))
    looser = bounds[0] if len(bounds) == 1 else ir.And(items=tuple(bounds))
    return ir.And(items=(base, ir.Or(items=(ir.Not(item=cond), looser))))


def _narrower(bounds: list[ir.Node], base: ir.Node) -> bool:
    """Each bound implies the base's bound on its analyte ("> 5 x ULN" implies
    "> 2.5 x ULN")."""
    olds = {(a.analyte, a.relative_to): a for a in ir.atoms(base) if isinstance(a, ir.LabAtom)}
    news = [a for b in bounds for a in ir.atoms(b) if isinstance(a, ir.LabAtom)]
    if not news:
        return False
    for new in news:
        old = olds.get((new.analyte, new.relative_to))
        if old is None or old.op[0] != new.op[0]:
            return False
        if (new.op[0] == ">" and new.value < old.value) or \
                (new.op[0] == "<" and new.value > old.value):
            return False
    return True


def _complements(atom: ir.LabAtom, th: Threshold, same_too: bool = False) -> bool:
    """``th`` is the other side of ``atom``'s bound ("<= 1.5 x ULN" and "> 1.5 x ULN"),
    or with ``same_too`` the same bound said again ("Creatinine > 1.5 x ULN with
    clearance < 50 ...; clearance only required when creatinine is > 1.5 x ULN")."""
    return (same_too or atom.op[0] != th.op[0]) and atom.relative_to == th.relative_to and \
        atom.relative_to is not None and abs(atom.value - th.value) < 1e-9


def _units_of(group: list[vocab.Mention]) -> set[str | None]:
    """The canonical units of the analytes named: two analytes in different units
    ("creatinine or creatinine clearance") cannot share one bound."""
    return {a.canonical_unit for m in group if (a := vocab.analyte(m.id)) is not None}


def _analytes(text: str) -> list[vocab.Mention]:
    """Analyte mentions, with adjacent mentions of the same analyte merged
    ("aspartate aminotransferase (AST)")."""
    merged: list[vocab.Mention] = []
    for m in vocab.find_analytes(text):
        gap = text[merged[-1].end:m.start] if merged else ""
        if merged and merged[-1].id == m.id and re.fullmatch(r"[\s(]*", gap):
            last = merged[-1]
            end = m.end + (1 if text[m.end:m.end + 1] == ")" else 0)
            merged[-1] = vocab.Mention(last.id, last.start, end, text[last.start:end])
        else:
            merged.append(m)
    return merged


def _canonical(analyte: vocab.Analyte, th: Threshold) -> tuple[float | None, str | None, list[str]]:
    """The threshold in the analyte's canonical unit, with notes on how it was read.
    None when it cannot be read safely (the clause then goes to review)."""
    notes: list[str] = []
    if th.note:
        notes.append(th.note)
    canonical = analyte.canonical_unit
    if canonical is None:
        return (th.value, th.unit, notes) if th.unit is None else (None, None, notes)
    unit = th.unit
    if unit is None:
        if not analyte.conventional_units:
            return None, None, notes + [f"{analyte.label}: threshold {th.text.strip()} has no unit"]
        unit = analyte.conventional_units[0]
        notes.append(f"{analyte.label} {th.text.strip()} has no unit: read in {unit}, "
                     f"the analyte's conventional unit")
    try:
        value = units.convert(th.value, unit, canonical, analyte.molar_mass)
    except units.UnitError as err:
        # A 24-hour total written as a plain amount ("24-hour protein < 500 mg").
        per_day = canonical.replace(" ", "").endswith("/24h")
        try:
            if not per_day:
                raise
            value = units.convert(th.value, f"{unit}/24h", canonical, analyte.molar_mass)
            notes.append(f"{analyte.label} {th.text.strip()} read as {th.value:g} {unit} "
                         f"per 24 hours")
        except units.UnitError:
            return None, None, notes + [f"{analyte.label} threshold {th.text.strip()}: {err}"]
    lo, hi = analyte.plausible_min, analyte.plausible_max
    if lo is not None and hi is not None and not (lo <= value <= hi):
        # Try the analyte's usual units, those of the written unit's kind first
        # ("17 mmol/L" bilirubin is evidently 17 umol/L, not 17 mg/dL).
        same_kind = [u for u in analyte.conventional_units if units.same_dimension(u, unit)]
        others = [u for u in analyte.conventional_units if u not in same_kind]
        for alt in same_kind + others:
            try:
                alt_value = units.convert(th.value, alt, canonical, analyte.molar_mass)
            except units.UnitError:
                continue
            if lo <= alt_value <= hi:
                notes.append(f"{analyte.label} {th.text.strip()} is implausible as written; "
                             f"read as {th.value:g} {alt}")
                return alt_value, canonical, notes
        return None, None, notes + [f"{analyte.label} {th.text.strip()} is implausible for this "
                                    f"analyte in any usual unit"]
    return value, canonical, notes


def _atom(analyte: vocab.Analyte, th: Threshold, window: int | None
          ) -> tuple[ir.Node | None, list[str]]:
    if th.relative_to is not None:
        return ir.LabAtom(analyte=analyte.id, op=th.op, value=th.value,
                          relative_to=th.relative_to, within_days=window,
                          source_value=th.text.strip()), [th.note] if th.note else []
    value, unit, notes = _canonical(analyte, th)
    if value is None:
        return None, notes
    return ir.LabAtom(analyte=analyte.id, op=th.op, value=round(value, 6), unit=unit,
                      within_days=window, source_value=th.text.strip(),
                      note="; ".join(notes) or None), notes


# Between a denial and a result it denies: nothing that joins another rule.
_JOINED = re.compile(r"\b(?:and|or|but)\b|[,;]", re.IGNORECASE)


def _qualitative(text: str, mentions: list[vocab.Mention], window: int | None
                 ) -> list[tuple[vocab.Mention, ir.LabResultAtom, tuple[int, int], bool]]:
    """Mentions of qualitative analytes with a result word before or after (and
    whether the result is the list's, shared with the mention before)."""
    out = []
    for i, m in enumerate(mentions):
        analyte = vocab.analyte(m.id)
        if analyte is None or analyte.kind != "qualitative":
            continue
        prev_end = mentions[i - 1].end if i else 0
        next_start = mentions[i + 1].start if i + 1 < len(mentions) else len(text)
        after = _RESULT.search(text, m.end, min(next_start, m.end + 40))
        before = None
        for hit in _RESULT.finditer(text, max(0, prev_end, m.start - 40), m.start):
            before = hit
        # "positive HIV antibody or syphilis antibody": the result distributes over the list
        if after is None and before is None and i and out and \
                _CONNECT.match(text[mentions[i - 1].end:m.start]):
            prev_node = out[-1][1]
            assert isinstance(prev_node, ir.LabResultAtom)
            node = ir.LabResultAtom(analyte=analyte.id, results=prev_node.results,
                                    within_days=window)
            out.append((m, node, (m.start, m.end), True))
            continue
        hit = after or before
        if before is not None and after is not None and i + 1 < len(mentions) and \
                re.search(r"\b(?:and|or)\b", text[m.end:after.start()]) and \
                re.fullmatch(r"\W*(?:[a-z]+\W+){0,2}", text[after.end():next_start]):
            # "Negative HBsAg test and negative total HBcAb tests": the result after a
            # mention that opens the next one's is the next one's
            hit = before
        if hit is None:
            continue
        word = (hit.group("word") or "").lower()
        sign = hit.group("sign") or ""
        grade = hit.group("grade")
        if grade:
            below = grade.startswith(("<", "≤", "=<", "less"))
            n = int(hit.group("n")) - (0 if below and "=" not in grade and "≤" not in grade else -1)
            # "< 2+": negative, trace or 1+ (low); "<= 1+" the same; ">= 2+": positive
            results: tuple[str, ...] = ("negative", "trace", "undetectable", "low") \
                if below and n >= 2 else ("negative", "trace", "undetectable") if below \
                else ("positive",)
        elif "<" in sign:
            results = ("negative", "trace")
        elif sign or word in ("positive", "reactive", "detectable", "detected", "seropositive"):
            results = ("positive",)
        elif word in ("undetectable", "not detected"):
            results = ("negative", "undetectable")
        else:
            results = ("negative",)
        node = ir.LabResultAtom(analyte=analyte.id, results=results, within_days=window)
        out.append((m, node, (min(m.start, hit.start()), max(m.end, hit.end())), False))
    return out


_ALT_CUE = re.compile(r"\b(?:if|for|in|with|when|where|in\s+(?:the\s+)?(?:presence|case|cases|"
                      r"setting)\s+of|(?:due|secondary|attributable)\s+to)\b"
                      r"(?:\s+(?:patients?|subjects?|"
                      r"participants?|cases?|those))?(?:\s+(?:with|who\s+have|having))?"
                      r"(?:\s+(?:had\s+)?(?:a\s+)?(?:prior|previous|history\s+of))?"
                      r"(?:\s+(?:documented|known|confirmed|presence\s+of|evidence\s+of))?"
                      r"(?:\s*[A-Za-z]+\s*/)?\s*$",
                      re.IGNORECASE)


def _condition_after(text: str, pos: int) -> tuple[ir.Node, int] | None:
    """ "... if/for patients with <condition>" right after a threshold: the
    condition (an elliptical "liver/bone metastases" gives both), and its end."""
    tail_end = len(text)
    for stop in (";", ". "):
        i = text.find(stop, pos)
        if i >= 0:
            tail_end = min(tail_end, i)
    for m in vocab.find_conditions(text[pos:tail_end]):
        lead = text[pos:pos + m.start]
        cue = _ALT_CUE.search(lead)
        if len(lead) > 45 or not cue or find_thresholds(lead) or re.search(r"\d", lead):
            continue  # too far, no cue, or another bound ("between 300-750/mm3") between
        close = text.find(")", pos + m.end)
        if lead.count("(") > lead.count(")") and close >= 0 and \
                find_thresholds(text[pos + m.end:close]):
            # "ALT <= 2.5 x ULN (if liver metastases are present, <= 5 x ULN)": the
            # condition opens the relaxed bound after it, not this one's scope
            return None
        concepts = [m.id]
        ellipsis = re.search(r"([A-Za-z]+)\s*/\s*$", lead)
        if ellipsis:
            other = vocab.condition(f"{ellipsis.group(1)} {m.text.split()[-1]}")
            if other is not None:
                concepts.insert(0, other.id)
        # A transplant may be recorded as a treatment or as a history.
        atoms = [ir.Or(items=(ir.TreatmentAtom(kinds=("transplant",)),
                              ir.ConditionAtom(concepts=(c,)))) if "transplant" in c
                 else ir.ConditionAtom(concepts=(c,)) for c in concepts]
        node = atoms[0] if len(atoms) == 1 else ir.Or(items=tuple(atoms))
        end = pos + m.end + (1 if text[pos + m.end:pos + m.end + 1] == ")" else 0)
        return node, end
    return None


def _analytes_of(node: ir.Node) -> frozenset[str]:
    return frozenset(a.analyte for a in ir.atoms(node) if isinstance(a, ir.LabAtom))


_SENTENCE_END = re.compile(r"[.;](?:\s|$)")
_REQUIRED_BEFORE = re.compile(r"\b(?:must|should|shall|will\s+need\s+to|need\s+to|"
                              r"(?:is|are)\s+required\s+to)\s+(?:have|be|show|document)\b"
                              r"[^.;]{0,25}$", re.IGNORECASE)
_GRADE_BEFORE = re.compile(r"\b(?:CTCAE\s+(?:v(?:ersion)?\s*[\d.]+\s+)?)?grade\s*(?:of\s+)?$",
                           re.IGNORECASE)


def _tests_of(node: ir.Node) -> frozenset[str]:
    """The analytes a node reads, by value or by result."""
    return frozenset(a.analyte for a in ir.atoms(node)
                     if isinstance(a, ir.LabAtom | ir.LabResultAtom))


def _bounds(group: list[vocab.Mention], th: Threshold, window: int | None
            ) -> list[ir.Node] | None:
    """The bound ``th`` on each analyte of ``group``; None when one cannot take it."""
    atoms: list[ir.Node] = []
    for g in group:
        analyte = vocab.analyte(g.id)
        node = _atom(analyte, th, window)[0] if analyte is not None else None
        if node is None:
            return None
        atoms.append(node)
    return atoms


def _last_rule(items: list[tuple[int, int, ir.Node | None, str]]) -> int | None:
    """The index of the last item that holds a rule (not a covered span)."""
    return next((n for n in range(len(items) - 1, -1, -1) if items[n][2] is not None), None)


def _condition_first_alternative(text: str, prev_end: int, th: Threshold,
                                 group: list[vocab.Mention], window: int | None
                                 ) -> tuple[ir.Node, int] | None:
    """"ALT and AST <= 1.5 ULN (liver metastases <= 3 ULN)": the condition named
    first inside the parenthesis, then the relaxed bound."""
    if not group:
        return None
    gap = text[prev_end:th.start]
    lead = re.fullmatch(r"\s*(?:\(|[;,]|\(?\s*or)\s*(?:(?:if|for|with|in)\s+)?"
                        r"(?:(?:patients?|participants?|subjects?|those)\s+(?:with|who\s+have)\s+)?"
                        r"(?P<what>[^()<>≤≥=\d;]{3,40}?)\s*[:,]?\s*", gap)
    if lead is None:
        return None
    named = [m for m in vocab.find_conditions(lead.group("what"))
             if (c := vocab.condition(m.id)) is not None and c.qualifies_labs]
    if len(named) != 1:
        return None
    atoms = _bounds(group, th, window)
    if atoms is None:
        return None
    end = th.end + (1 if text[th.end:th.end + 1] == ")" else 0)
    return ir.And(items=(*atoms, ir.ConditionAtom(concepts=(named[0].id,)))), end


def _conditional_alternative(text: str, th: Threshold, group: list[vocab.Mention],
                             window: int | None) -> tuple[ir.Node, int] | None:
    """A threshold with no analyte of its own, followed by "if/for patients with
    <condition>": the previous analytes' relaxed bound under that condition."""
    if not group:
        return None
    found = _condition_after(text, th.end)
    if found is not None:
        cond, end = found
        atoms = _bounds(group, th, window)
        if atoms is None:
            return None
        return ir.And(items=(*atoms, cond)), end
    return None


def _reflex(clause: Clause) -> list[Found]:
    """"If positive for HBsAg or HBcAb, additional HBV DNA testing (results above
    the upper limit of the normal range)": (HBsAg+ or HBcAb+) and HBV DNA > ULN."""
    out: list[Found] = []
    text = clause.text
    lowered = text.lower()
    if "if" not in lowered or "positive" not in lowered or "upper limit" not in lowered:
        return out
    for sent in re.finditer(r"\bif\b[^.]*?\bpositive\b[^.]*?(?:above|exceed\w*|greater\s+than)"
                            r"\s+the\s+upper\s+limit\s+of\s+(?:the\s+)?normal(?:\s+range)?\)?",
                            text, re.IGNORECASE):
        mentions = _analytes(sent.group(0))
        first = [m for m in mentions if (a := vocab.analyte(m.id)) and a.kind == "qualitative"]
        second = [m for m in mentions if (a := vocab.analyte(m.id)) and a.kind != "qualitative"]
        if not first or len(second) != 1:
            continue
        screen = [ir.LabResultAtom(analyte=m.id, results=("positive",),
                                   within_days=clause.lab_window_days) for m in first]
        confirm = ir.LabAtom(analyte=second[0].id, op=">", value=1.0, relative_to="uln",
                             within_days=clause.lab_window_days,
                             source_value="above the upper limit of normal")
        node = ir.And(items=(screen[0] if len(screen) == 1 else ir.Or(items=tuple(screen)),
                             confirm))
        out.append(Found(node, sent.start(), sent.end(), "lab"))
    return out


_NEGATED_BOUND = re.compile(
    r"(?:^|[:;,]\s*|\band\s+)(?:no|(?:must|should|may)\s+not\s+have|never)\s+(?:an?\s+|any\s+)?"
    r"(?:(?:patients?|subjects?|participants?)\s+with\s+)?"  # "No patients with baseline QTc ..."
    r"(?:(?:serum|blood|plasma|random|fasting|baseline|total)\s+){0,2}$", re.IGNORECASE)


# Between the two ends of a range: "(2.00 mmol/L) and", "but".
_SECOND_BOUND = re.compile(r"\s*(?:\([^()]{0,30}\)\s*)?(?:,\s*)?(?:and|but)\s*", re.IGNORECASE)


def recognize(clause: Clause) -> list[Found]:  # noqa: C901 - the grammar in one place
    text = clause.text
    reflex = _reflex(clause)
    if reflex:
        return reflex
    conditions = [(m.start(), m.end()) for m in _IF_THEN.finditer(text)]
    conditions += [m.span() for m in MAY_HAVE_FOR.finditer(text)] if "may" in text else []
    conditions += [m.span() for m in SUBGROUP_MUST.finditer(text)] \
        if "must" in text or "should" in text or "need" in text or "required" in text else []
    # "(if liver metastases are present, <= 5 x ULN)" is no note but the relaxed
    # bound of the threshold before it, under a condition
    if_notes = [(m.start(), m.end()) for m in _IF_NOTE.finditer(text)
                if not _RELAXED_IF.match(m.group(0))]

    def in_condition(pos: int) -> bool:
        return any(s <= pos < e for s, e in conditions + if_notes)

    # Mentions inside "if <condition> then" state when the alternative applies:
    # they are understood, not requirements.
    all_mentions = _analytes(text)
    mentions = [m for m in all_mentions if not in_condition(m.start)]
    if not mentions:
        return []
    window = clause.lab_window_days
    thresholds = [t for t in find_thresholds(text) if not in_condition(t.start)]
    # Each threshold takes the analytes just before it, joined by connectors only.
    items: list[tuple[int, int, ir.Node, str]] = []  # start, end, node, joiner-with-previous
    notes: list[str] = []
    used_mentions: set[int] = set()
    prev_end = 0
    respective: vocab.Mention | None = None  # the second of "A or B <= x or >= y"
    last_group: list[vocab.Mention] = []
    last_th: Threshold | None = None
    for th in thresholds:
        before = [m for m in mentions if prev_end <= m.start and m.end <= th.start]
        quant = [m for m in before if (a := vocab.analyte(m.id)) and a.kind != "qualitative"]
        if not quant and last_group and last_th is not None and \
                _SECOND_BOUND.fullmatch(text, last_th.end, th.start) and \
                {last_th.op[0], th.op[0]} == {"<", ">"}:
            # "calcium >= 8.0 mg/dL and < 11.6 mg/dL": the other end of a range
            second = [_atom(a, th, window) for m in last_group
                      if (a := vocab.analyte(m.id)) is not None]
            base = _last_rule(items)
            if base is not None and second and all(n is not None for n, _ in second):
                start, _end, node, joiner = items[base]
                bound = [n for n, _ in second if n is not None]
                items[base] = (start, th.end, ir.And(items=(node, *bound)), joiner)
                items.append((th.start, th.end, None, "cover"))
                for _, why in second:
                    notes.extend(why)
                prev_end, last_th = th.end, th
                continue
        if not quant and respective is not None:
            # "... or >= 50 mL/min": the second analyte's own bound
            r_analyte = vocab.analyte(respective.id)
            r_node, why = _atom(r_analyte, th, window) if r_analyte is not None else (None, [])
            if r_node is not None:
                notes.extend(why)
                used_mentions.add(respective.start)
                items.append((th.start, th.end, r_node, ""))
                respective = None
                prev_end = th.end
                continue
        respective = None
        if not quant and last_th is not None and _restates(text, last_group, last_th, th):
            # "Hemoglobin >= 9.0 g/dL or >= 5.6 mmol/L": the same bound in another
            # unit; the item reaches over it (its "or" joined the next analyte as
            # an alternative: hemoglobin 7 g/dL passed with a normal creatinine)
            base = _last_rule(items)
            if base is not None:
                start, _end, node, joiner = items[base]
                items[base] = (start, th.end, node, joiner)
            prev_end = th.end
            continue
        if not quant:
            alt = _conditional_alternative(text, th, last_group, window) or \
                _condition_first_alternative(text, prev_end, th, last_group, window)
            base = _last_rule(items)
            if alt is not None and base is not None:
                # "AST <= 2.5 x ULN (<= 5 x ULN if liver metastases)": the relaxed
                # bound applies with the condition: base OR (relaxed AND condition).
                # (A second relaxed bound relaxes the same base again.)
                start, _end, node, joiner = items[base]
                items[base] = (start, alt[1], _relaxed_by(node, alt[0]), joiner)
                items.append((th.start, alt[1], None, "cover"))
            prev_end = th.end
            continue
        group = [quant[-1]]
        for m in reversed(quant[:-1]):
            if _CONNECT.match(text[m.end:group[0].start]):
                group.insert(0, m)
            else:
                break
        gap = text[group[-1].end:th.start]
        if len(gap) > 60 or re.search(r"[;.]\s", gap):
            prev_end = th.end
            continue
        # "Alkaline phosphatase and AST may not both be greater than the ULN"
        not_both = re.search(r"\b(?:may|must|should|can)\s+not\b|\bcannot\b", gap, re.IGNORECASE)
        whom = _FOR_WHOM_LAB.search(text, max(0, group[0].start - 40), group[0].start)
        if whom is not None:
            # "direct bilirubin <= ULN for participants with total bilirubin > 1.5 x
            # ULN": says whom the bound before is for; a person applies it.  When it
            # is the complement of a bound read before ("Total bilirubin <= 1.5 x ULN
            # OR direct bilirubin <= ULN for participants with total bilirubin > 1.5 x
            # ULN"), it says what the "or" already says.
            said = any(_complements(a, th, "only" in whom.group(0).lower())
                       for _s, _e, n, _j in items if n is not None
                       for a in ir.atoms(n) if isinstance(a, ir.LabAtom)
                       and {a.analyte} == {m.id for m in group})
            items.append((whom.start(), th.end, None if said else
                          ir.Review(text=text[whom.start():th.end]), "cover" if said else ""))
            used_mentions.update(m.start for m in group)
            prev_end = th.end
            continue
        if _GRADE_BEFORE.search(text, max(0, th.start - 25), th.start):
            # "Potassium, sodium, calcium and magnesium CTCAE grade <= 1": a toxicity
            # grade, which no lab value gives (read as a value, magnesium <= 1 mg/dL
            # and albumin <= 1 g/dL failed everyone); a person grades it
            a, b = group[0].start, th.end
            items.append((a, b, ir.Review(text=text[a:b].strip()), ""))
            used_mentions.update(m.start for m in group)
            prev_end = th.end
            continue
        estimate = _ESTIMATE.match(text, th.end)
        if estimate:  # "FEV1 > 800 ml expected post-surgery": not a measured value
            a, b = group[0].start, estimate.end()
            items.append((a, b, ir.Review(text=text[a:b].strip()), ""))
            used_mentions.update(m.start for m in group)
            prev_end = estimate.end()
            continue
        if len(group) == 2 and _OR.search(text[group[0].end:group[1].start]) and \
                _RESPECTIVELY.match(text, th.end) and len(_units_of(group)) == 2:
            # "Creatinine or creatinine clearance <= 1.5 x ULN or >= 50 mL/min":
            # respectively (before, both took the first bound and the second was lost)
            respective, group = group[1], group[:1]
        last_group, last_th = group, th
        atoms: list[ir.Node] = []
        for m in group:
            analyte = vocab.analyte(m.id)
            assert analyte is not None
            node, why = _atom(analyte, th, window)
            notes.extend(why)
            used_mentions.add(m.start)
            if node is None:
                items.append((m.start, th.end, ir.Review(text=text[m.start:th.end]), ""))
                continue
            atoms.append(node)
        if atoms:
            joint = "or" if len(group) > 1 and _OR.search(text[group[0].end:group[-1].start]) \
                else "and"
            if joint == "or" and clause.kind == "inclusion" and th.op in ("<", "<=") and \
                    not _SAME_MEASURE.issuperset(m.id for m in group):
                # "ALT or AST <= 2.5 x ULN" asks that each be at most 2.5 x ULN (read
                # as either, a high AST passed with a normal ALT)
                joint = "and"
            node = atoms[0] if len(atoms) == 1 else (
                ir.Or(items=tuple(atoms)) if joint == "or" else ir.And(items=tuple(atoms)))
            bare = _BARE_RELAXED.match(text, th.end) if th.relative_to == "uln" else None
            relaxed = _condition_after(text, bare.end()) if bare is not None else None
            if bare is not None and relaxed is not None and th.op in ("<", "<="):
                # "AST no greater than 3 x ULN (5 times ULN if liver metastases present)":
                # the relaxed bound, its comparator left out, under the condition
                looser = dataclasses.replace(th, value=float(bare.group("n")))
                more = [n for g in group if (a := vocab.analyte(g.id)) is not None
                        for n in [_atom(a, looser, window)[0]] if n is not None]
                if len(more) == len(atoms):
                    cond, cond_end = relaxed
                    node = ir.Or(items=(node, ir.And(items=(*more, cond))))
                    items.append((group[0].start, cond_end, node, ""))
                    prev_end = cond_end
                    continue
            conditional = _condition_after(text, th.end)
            if conditional is not None:
                # "ALT and AST <= 5 x ULN in patients with liver metastasis": a bound
                # that applies under a condition, the alternative to an earlier bound
                # on the same analytes; alone, it is "if the condition, then the bound".
                cond, cond_end = conditional
                base = next((i for i in range(len(items) - 1, -1, -1) if items[i][2] is not None
                             and _analytes_of(items[i][2]) == _analytes_of(node)), None)
                if base is not None:
                    s0, _e0, base_node, j0 = items[base]
                    items[base] = (s0, cond_end, _relaxed_by(base_node, ir.And(items=(
                        node, cond))), j0)
                    items.append((group[0].start, cond_end, None, "cover"))
                elif clause.kind == "exclusion":
                    # "LVEF < 50% with heart failure" excludes whoever has both
                    items.append((group[0].start, cond_end, ir.And(items=(node, cond)), ""))
                else:
                    items.append((group[0].start, cond_end,
                                  ir.Or(items=(ir.Not(item=cond), node)), ""))
                prev_end = cond_end
                continue
            start = group[0].start
            cue = _NEGATED_BOUND.search(text, max(prev_end, start - 40), start)
            if cue:
                # "No serum creatinine greater than 3.0 mg/dL", "Must not have ...": the
                # bound is what the patient must not show.  Only a negation right before
                # the analyte counts ("In absence of liver metastases, AST <= 3 x ULN",
                # "without transfusion (hemoglobin > 9 g/dL)" negate other things).
                node, start = ir.Not(item=node), cue.start()
            elif not_both:
                node = ir.Not(item=node)
            elif clause.kind == "inclusion" and _OPENING_NO.match(text) and \
                    all(_abnormal(a) for a in ir.atoms(node) if isinstance(a, ir.LabAtom)):
                # "No clinically significant laboratory abnormalities including ... or
                # neutropenia (WBC less than 4000)": a bound on the abnormal side under
                # the clause's opening "No" is what the patient must not show (read
                # as a requirement, it failed everyone with a normal count)
                node = ir.Not(item=node)
            named = {m.id for m in group}
            first = next((m.start for m in mentions
                          if prev_end <= m.start < start and m.id in named), start)
            if first < start and not cue and \
                    not _NOT_ONE_ITEM.search(text, max(prev_end, first - 10), start):
                # "Creatinine OR measured or calculated creatinine clearance (... in
                # place of creatinine or CrCl) <= 1.5 x ULN": the analytes named
                # before, again, are the same item's
                start = first
            items.append((start, th.end, node, ""))
        prev_end = th.end
    denied = False
    for m, node, (s, e), shared in _qualitative(text, mentions, window):
        if m.start not in used_mentions:
            if shared:
                neg, cue = denied, None  # "... or HIV antibody": the list's denial
            else:
                neg, cue = negated(text, s) if clause.kind == "inclusion" and \
                    node.results == ("positive",) else (False, None)
                neg = neg and cue is not None and not _JOINED.search(text, cue[1], s)
            if neg:
                # "No positive pregnancy test", "Must not be positive for HBsAg, HCV
                # antibody, or HIV antibody", "Not hepatitis B surface antigen positive"
                # (read without the denial, every patient with a negative test failed;
                # among exclusions such text is a requirement filed there, read so)
                node, s = ir.Not(item=node), min(s, cue[0]) if cue else s
            denied = neg
            if clause.kind == "exclusion" and "negative" in node.results and \
                    _REQUIRED_BEFORE.search(text, max(0, s - 40), s):
                # "Pregnant or breastfeeding. Women of childbearing potential must have a
                # negative pregnancy test": a requirement inside an exclusion (read as
                # excluding, every woman with a negative test was excluded); a person
                # checks it
                stop = _SENTENCE_END.search(text, e)  # (its window is its own)
                e = stop.start() if stop else len(text)
                node = ir.Review(text=text[s:e].strip())
            items.append((s, e, node, ""))
            used_mentions.add(m.start)
    for m in mentions:
        analyte = vocab.analyte(m.id)
        if m.start in used_mentions or analyte is None or analyte.kind == "qualitative":
            continue
        rng = _NORMAL_RANGE.search(text, m.end, m.end + 40) or _NORMAL_AFTER.match(text, m.end) or \
            (_NORMAL_BEFORE.search(text, max(0, m.start - 30), m.start)
             if not _NAMES_A_TEST.match(text, m.end) else None)
        if rng:  # "Blood glucose: within normal range", "Bilirubin normal"
            # only the side that harms is asked (knowledge: abnormal_side); a low
            # bilirubin failed "Bilirubin normal"
            bounds = [ir.LabAtom(analyte=analyte.id, op=op, value=1.0, relative_to=side,
                                 within_days=window, source_value="within normal range")
                      for op, side, harm in (("<=", "uln", "high"), (">=", "lln", "low"))
                      if analyte.abnormal_side in (harm, "both")]
            node = bounds[0] if len(bounds) == 1 else ir.And(items=tuple(bounds))
            items.append((min(m.start, rng.start()), max(m.end, rng.end()), node, ""))
            used_mentions.add(m.start)
    if not items:
        return []
    covered = [(s, e) for s, e, node, j in items if j == "cover"]
    items = [i for i in items if i[3] != "cover"]
    if not items:
        return []
    items.sort(key=lambda i: i[0])
    # Conditional alternatives: "A, or if <not A> then B" and "A; if ... then B" mean A or B.
    groups: list[list[ir.Node]] = [[]]
    spans: list[tuple[int, int]] = []
    last_end = None
    for start, end, node, _ in items:
        if last_end is not None:
            # the next item's analyte named earlier, in the gap, opens it ("... or
            # 5.6 mmol/L Renal: Creatinine OR measured creatinine clearance (...
            # creatinine or CrCl) <= 1.5 x ULN"): only the words before it join
            own = _analytes_of(node)
            cut = next((m.start for m in all_mentions
                        if last_end <= m.start < start and m.id in own), start)
            joint = connector(text[last_end:cut])
            if clause.kind == "exclusion" and not re.search(r"\band\b", text[last_end:cut],
                                                            re.IGNORECASE) \
                    and not _tests_of(node) & _tests_of(groups[-1][-1] if groups[-1] else node):
                # an exclusion's list of tests: any of them excludes (as compiler._join
                # joins an exclusion's parts; "ANC < 1,500, platelets < 100,000" excluded
                # only whom both were low). The same test again is another matter ("If
                # the urine test is positive or cannot be confirmed as negative")
                joint = "or"
            if joint == "or" and not (
                    isinstance(node, ir.Not) and groups[-1] and isinstance(groups[-1][-1], ir.Not)):
                # (a denied list is a denial of each: "must not be positive for A, B,
                # or C" is neither A nor B nor C)
                groups[-1].append(node)
            else:
                groups.append([node])
        else:
            groups[-1].append(node)
        spans.append((start, end))
        last_end = end
    conj = [g[0] if len(g) == 1 else ir.Or(items=tuple(g)) for g in groups if g]
    node = conj[0] if len(conj) == 1 else ir.And(items=tuple(conj))
    spans.extend(conditions)
    spans.extend(covered)
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    return [Found(node, start, end, "lab", spans=spans, notes=list(dict.fromkeys(notes)))]
