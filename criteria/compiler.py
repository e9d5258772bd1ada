"""Eligibility text -> compiled criteria.

Pipeline: ``segment`` cuts the text into clauses with spans; each recognizer
(``criteria.recognize.*``) finds the requirements of its family and the text
they used; what no recognizer used and is not boilerplate becomes a
``Review`` part, so a criterion compiled in part says so and never passes
silently.  Structured registry fields (minimum/maximum age, sex) become
criteria too.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import re
import sys
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

from criteria import ir, vocab
from criteria.collector import fewer_collections
from criteria.grammar import WORD_NUMBERS, digits_for_number_words, find_windows
from criteria.misfiled import NOTE as MISFILED_NOTE
from criteria.misfiled import reads_as_requirement
from criteria.recognize import (
    biomarkers,
    conditions,
    demographics,
    diagnosis,
    findings,
    labs,
    performance,
    therapy,
)
from criteria.recognize.base import (
    CROSS_REFERENCE,
    IF_NOTE,
    LABEL,
    MAY_HAVE_FOR,
    SUBGROUP_MUST,
    Clause,
    Found,
    connector,
    label_end,
)
from criteria.recognize.review import review_family
from criteria.rules import display_rule
from criteria.segment import NEGATED_INTRO, section_starts, segment
from criteria.trial import CompiledTrial, Trial

COMPILER_VERSION = "0.1.0"

# Order matters: an earlier recognizer's text is not re-read by a later one.
RECOGNIZERS: list[Callable[[Clause], list[Found]]] = [
    labs.recognize,
    performance.recognize,
    demographics.recognize,
    findings.recognize,
    biomarkers.recognize,
    diagnosis.recognize,
    therapy.recognize,
    conditions.recognize,
]

_DIGIT = re.compile(r"\d")
# The T, N and M of a TNM stage ("T1 N0 invasive breast cancer"): content no rule
# reads, never dropped unsaid as a short word or a number glued to a letter.
_TNM_TOKEN = r"[cpyr]?[TNM](?:[0-4](?:[a-d]|mi)?|is|x|X)"
_TNM = re.compile(_TNM_TOKEN)
_WORD = re.compile(r"(?<![A-Za-z0-9])" + _TNM_TOKEN + r"(?![A-Za-z0-9])|"
                   r"[A-Za-z][A-Za-z'\-]+|\d+(?:[.,]\d+)*")
# A short "Label:" before the requirements ("Liver:", "Bone marrow function:").
_LABEL = re.compile(r"^\s*(?P<label>[A-Za-z][^:;.]{0,60}?):\s*")


@cache
def _boilerplate() -> frozenset[str]:
    path = Path(__file__).parent / "recognize" / "boilerplate.txt"
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip().lower()
        if line:
            words.update(line.split())
    return frozenset(words)


def criterion_id(trial_id: str, kind: str, text: str, seen: dict[str, int]) -> str:
    """Stable across recompiles: the trial, the kind and the normalized text."""
    norm = re.sub(r"\s+", " ", text.strip().lower())
    digest = hashlib.sha1(f"{kind}|{norm}".encode()).hexdigest()[:10]
    base = f"{trial_id}#{kind[0]}-{digest}"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}-{seen[base]}"


def _overlap_share(spans: list[tuple[int, int]], used: list[tuple[int, int]]) -> float:
    total = sum(e - s for s, e in spans) or 1
    covered = 0
    for s, e in spans:
        covered += len({i for us, ue in used for i in range(max(s, us), min(e, ue))})
    return covered / total


def _blanked(text: str, used: list[tuple[int, int]]) -> str:
    """``text`` with what the recognizers used blanked out."""
    chars = list(text)
    for s, e in used:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


# Numbers that are no bound or count: an item's number ("9. Patients with"), parts
# of a unit ("x 10^9/L", "mm(3)", "/1.73 m^2"), a day or cycle of the schedule
# ("day 1", "C1D1"), a version ("RECIST v1.1"), part of a name ("HER2", "5-FU",
# "p185"), a value restated in another unit in parentheses ("(2 mg/dl)").
_QUIET_NUMBERS = re.compile(
    r"(?:^|[.;:]\s*)\W*\d{1,2}\s*[.;)]\s*(?=[A-Za-z])|"
    r"(?<!\d)10\s*(?:\^|\*\*|\()\s*-?\d+\s*\)?|(?<!\d)10[⁹¹²⁶³]|(?<!\d)10[3569](?=\s*/\s*[uµμ]?[lL])|"
    r"\bmm\s*\(?\^?\s*3\)?|/\s*1[.,]73\s*m|(?<=m)\s*\^?\s*2\b|"
    r"\b(?:day|cycle|week|d|c)\s*-?\d+(?:\s*d\s*\d+)?\b|"
    r"\b(?:v(?:ersion)?\.?\s*|(?:recist|ctcae|criteria)\s*(?:v(?:ersion)?\.?\s*)?)\d+(?:\.\d+)*|"
    r"(?<=[A-Za-z])-?\d+|\b\d+(?=-?[A-Za-z])(?!\s*-?\s*(?:day|week|month|year|hour|fold|times)"
    r"|(?:st|nd|rd|th)\b)|"
    r"\(\s*(?:[<>≥≤]=?\s*)?\d[\d.,]*\s*(?:x\s*10\S*|[a-zµμ%/][a-z0-9µμ/^.]*)\s*\)|"
    # "at least 1 measurable lesion", "at least one prior regimen": any at all
    r"\bat\s+least\s+(?:1|one)\b(?!\s*(?:\(\d\)\s*)?(?:days?|weeks?|months?|years?|hours?)\b)",
    re.IGNORECASE)
# The bound just read restated in another unit: "Hemoglobin >= 9 g/dL or >= 5.6
# mmol/L" (quiet only right after what a recognizer used).
_ECHO = re.compile(r"\s*(?:\bor|/|;)\s*(?:[<>≥≤]=?|=<|=>)?\s*\d[\d.,]*\s*(?:x\s*10\S*|"
                   r"(?:m|µ|μ|u|n)?mol/\S*|[mµμ]?g/\S*)", re.IGNORECASE)


def _leftover(text: str, used: list[tuple[int, int]]) -> list[str]:
    """Contiguous fragments holding content words that nothing used."""
    return [text[s:e] for s, e in _leftover_spans(text, used)]


def _leftover_spans(text: str, used: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Where the fragments of ``_leftover`` are."""
    stop = _boilerplate()
    fragments: list[tuple[int, int]] = []
    spans = sorted(used)
    quiet: list[tuple[int, int]] | None = None  # found when a free number needs it
    current: list[tuple[int, int]] = []
    # Words come in order: a word is free when no span starting before its end
    # reaches past its start (one sweep over the sorted spans, not a scan per word).
    next_span, reach = 0, -1
    for m in _WORD.finditer(text):
        word = m.group(0)
        ws, we = m.span()
        while next_span < len(spans) and spans[next_span][0] < we:
            reach = max(reach, spans[next_span][1])
            next_span += 1
        free = reach <= ws
        if word[0].isdigit():
            # A number nobody read is a bound or a count lost: never boilerplate.
            if free and quiet is None:
                quiet = [q.span() for q in _QUIET_NUMBERS.finditer(text)]
                quiet += [q.span() for _, e in spans if (q := _ECHO.match(text, e))]
            is_content = free and not any(s <= ws and we <= e for s, e in quiet or ())
        else:
            is_content = (word.lower().strip("'-") not in stop and len(word) > 2) \
                or _TNM.fullmatch(word) is not None
        if free and is_content:
            current.append((m.start(), m.end()))
        elif free and current:
            continue  # boilerplate inside a fragment: keep the fragment open
        elif current:
            fragments.append((current[0][0], current[-1][1]))
            current = []
    if current:
        fragments.append((current[0][0], current[-1][1]))
    return fragments


# Text that states no requirement: PDQ placeholders.
_NO_REQUIREMENT = re.compile(
    r"^\W*(?:[A-Za-z][A-Za-z\s/&,()-]{0,40}:\s*)?(?:not\s+spe\w{0,3}ified|"
    r"see\s+(?:disease|patient)\s+characteristics|no\s+(?:eligibility\s+)?"
    r"(?:criteria|restrictions?|limits?)|none|any(?:\s+age)?|n/?a|not\s+applicable)\W*$",
    re.IGNORECASE)
# "Prior chemotherapy allowed": a permission, not a requirement.
_PERMISSION = re.compile(r"\b(?:allowed|permitted|permissible|acceptable|eligible|"
                         r"(?:for\s+which|from\s+which)\s+the\s+patient\s+has\s+been\s+"
                         r"disease[\s-]free|"
                         r"may\s+participate|may\s+have\s+(?:received|had|been\s+(?:treated|taking|on|"
                         r"receiving))|"
                         r"may\s+have\s+(?:other|additional|concurrent|stable)\b|"
                         # "May have active malignancy outside the CNS" opening the item
                         r"^\W*(?:(?:patients?|participants?|subjects?)\s+)?may\s+(?:also\s+)?have|"
                         r"may\s+(?:have\s+)?(?:been\s+)?(?:previously\s+)?(?:exposed|pretreated|"
                         r"previously\s+(?:received|treated))|"
                         r"may\s+be\s+(?:added|given|used|combined|administered)|"
                         r"(?:may|can)\s+(?:be\s+)?(?:enrolled|included|enrol+)\b|"
                         r"(?:is|are)\s+not\s+excluded|\bno\s+requirement\b|"
                         r"(?:is|are)\s+not\s+(?:mandatory|required|necessary)|"
                         r"optional)\b", re.IGNORECASE)
_PERMISSION_DENIED = re.compile(r"\b(?:not|never)\s+(?:be\s+)?(?:allowed|permitted|permissible|"
                                r"acceptable|eligible)\b|\bineligible\b|\bimpermissible\b|"
                                r"\b(?:is|are|will\s+be|shall\s+be)\s+excluded\b|\bwill\s+exclude\b",
                                re.IGNORECASE)
_NEXT_ITEM = re.compile(r"\s\(?\d{1,2}\)\s+[A-Z]")


# "(Testing is not mandatory)", "Screening for chronic conditions is not required":
# what is known decides; nobody is let in by it.
_OPTIONAL_TESTING = re.compile(r"\b(?:test\w*|screen\w*|imaging|scans?|assess\w*|evaluat\w*)\b"
                               r"[^.;]{0,40}\b(?:not\s+(?:mandatory|required|necessary|needed)|"
                               r"optional)\b", re.IGNORECASE)
# Where a clause's next sentence starts ("e.g. ", "i.e. " and "vs. " are no ends).
_SENTENCE_BREAK = re.compile(r"(?:;|(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bapprox)\.)\s+(?=\S)",
                             re.IGNORECASE)


def _permission_after_rule(text: str, context: int, permission: re.Match[str]
                           ) -> tuple[int, int] | None:
    """The span of a permission that follows a rule in the same clause: its
    parenthesis, or its sentence (to the next sentence's start); None when the
    permission opens the clause (the clause is the permission)."""
    if permission.re is not _PERMISSION or permission.string is not text:
        return None
    if (paren := _enclosing_parenthesis(text, permission.start())) is not None:
        if re.search(r"\w", text[context:paren[0]]):
            return paren[0], paren[1] + 1
        return None
    starts = [m.end() for m in _SENTENCE_BREAK.finditer(text, context, permission.start())]
    if not starts or not re.search(r"\w", text[context:starts[-1]]):
        return None
    after = _SENTENCE_BREAK.search(text, permission.end())
    return starts[-1], after.start() + 1 if after else len(text)


def _denies(text: str) -> bool:
    """The clause says what it names is not allowed.  A denial in parentheses
    ("Platelets >= 100 x 10^9/L (transfusion is not allowed within 1 week)") or
    before the next run-on item ("... is not permitted 3) Platelet count >= 100")
    is about something else, not the requirement."""
    for m in _PERMISSION_DENIED.finditer(text):
        if _enclosing_parenthesis(text, m.start()) is not None:
            continue
        if _describes_patient(text, m):
            continue  # "not eligible for curative treatment", "cisplatin-ineligible" describe
        if re.match(r"\s*(?:if|when)\W*$", text[m.end():], re.IGNORECASE):
            continue  # "... no greater than ULN Ineligible if": the next item's intro
        if _NEXT_ITEM.search(text, m.end()):
            continue
        return True
    return False


# A part of the study named without its disease: "Module 4:", "Arm B:", "Cohorts 1 and
# 2:", "Dose escalation:", "Phase Ib only:".
_PART_LABEL = re.compile(
    r"\W*(?:for\s+)?(?:(?:the\s+)?(?:modules?|arms?|parts?|cohorts?|groups?|phase)\s+[A-Z0-9]{1,4}"
    r"(?:\s*(?:,|and|&|/|or)\s*[A-Z0-9]{1,4})*|dose[\s-]+(?:escalation|expansion)"
    r"(?:\s+(?:part|phase|cohorts?))?)\s*(?:only)?\s*(?:participants?|patients?|subjects?)?\s*"
    r"(?:only)?\s*:\s*", re.IGNORECASE)
# Whom a denial is for, after it: "... will not be allowed for patients with ...".
_DENIED_FOR = re.compile(r"(?:(?:not|never)\s+(?:be\s+)?(?:allowed|permitted)|\bineligible)\s+"
                         r"(?:for|in)\s+(?:patients?|subjects?|participants?|those)\s+"
                         r"(?:with|who\s+(?:have|are))\s+", re.IGNORECASE)
# "Cisplatin-ineligible", "cisplatin ineligible": what the patient cannot receive
# ("are ineligible" is the trial's denial).
_NAMED_INELIGIBLE = re.compile(r"(?:[\w)]-|(?:platin|therapy|surgery|radiation|radiotherapy|"
                               r"chemotherapy|transplant\w*|treatment|resection)\s)$",
                               re.IGNORECASE)
# After "(not) eligible": for a treatment, not for the trial ("not eligible for
# curative treatment", "ineligible for other BMT protocols") describes the patient.
_DESCRIBES = re.compile(r"\s+(?:for|to)\s+(?!(?:this|the|our)\s+(?:study|trial|protocol)|"
                        r"participat|enrol|inclusion|entry|registration)", re.IGNORECASE)


def _describes_patient(text: str, denial: re.Match[str]) -> bool:
    """"(Not) eligible for curative treatment", "cisplatin-ineligible": what the
    patient can or cannot receive, not the trial's denial."""
    said = denial.group(0).lower()
    return "eligib" in said and (_DESCRIBES.match(text, denial.end()) is not None or (
        said == "ineligible" and _NAMED_INELIGIBLE.search(text, 0, denial.start()) is not None))


def _denied_aside(text: str, context: int) -> tuple[int, int, int, int] | None:
    """A parenthesis that denies something ("(transfusion is not allowed within 1
    week)"), or a later sentence that does ("... If SGOT > 1.5 x ULN with alkaline
    phosphatase > 2.5 x ULN, patient is not eligible"): its span, and the span of
    what it says; None if there is none."""
    for m in _PERMISSION_DENIED.finditer(text, context):
        stop = max(text.rfind(". ", context, m.start()), text.rfind("; ", context, m.start()))
        if stop >= 0 and text[context:stop].strip() and not _describes_patient(text, m) \
                and _enclosing_parenthesis(text, m.start()) is None:
            # "... are eligible; however patients with bone disease as the only site
            # are not eligible": the later sentence denies only what it names
            end = min(e for e in (text.find(". ", m.end()), text.find("; ", m.end()), len(text))
                      if e >= 0)
            end = end + 1 if end < len(text) else end
            return stop + 1, end, stop + 1, end
        if "eligib" in m.group(0).lower():
            continue  # "(not eligible for anti-HER2 therapy)" describes, forbids nothing
        enclosing = _enclosing_parenthesis(text, m.start())
        if enclosing is None or enclosing[0] < context:
            continue
        opened, close = enclosing
        return opened, close + 1, opened + 1, close
    return None


def _enclosing_parenthesis(text: str, pos: int) -> tuple[int, int] | None:
    """The parenthesis around ``pos`` (its "(" and ")" positions), nested ones
    skipped; None outside any, or when the "(" is never closed ("(such as HIV ...
    are excluded.": the text lost its ")")."""
    depth, opened = 0, -1
    for i in range(pos - 1, -1, -1):
        ch = text[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                opened = i
                break
            depth -= 1
    if opened < 0:
        return None
    depth = 0
    for j in range(pos, len(text)):
        ch = text[j]
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return opened, j
            depth -= 1
    return None


# A cohort's or part's heading: "Part B1: ... Dose Escalation inclusion criteria".
_HEADING = re.compile(r"(?:inclusion|exclusion|eligibility)\s+criteria\s*:?\s*$|"
                      # "Subjects planned for resection of their brain metastasis must meet
                      # the following criteria:": the items under it say what
                      r"\b(?:must|should|will)\s+(?:also\s+)?(?:meet|fulfill|fulfil|satisfy)\s+"
                      r"(?:all\s+|any\s+|one\s+|each\s+)?(?:of\s+)?the\s+following"
                      r"(?:\s+(?:criteria|requirements|conditions))?\s*:?\s*$|"
                      r"^\W*(?:part|cohort|arm|group|stage)\s+[\w.-]{1,6}\s*:?\s*$|"
                      # "Stage II, Arms D, E, or F:", "Parts A and B:"
                      r"^\W*(?:part|cohort|arm|group|stage|phase)s?\s+[\w.&/ -]{1,6}(?:\s*(?:,\s*"
                      r"(?:and|or)?|and|or)\s*(?:(?:part|cohort|arm|group)s?\s+)?[\w.&/-]{1,6})*\s*:\s*$|"
                      # "CT-0508 in Combination with Pembrolizumab Substudy Only:"
                      r"\b(?:sub-?stud(?:y|ies)|cohorts?|arms?|parts?|phase)\s+only\s*:?\s*$|"
                      # "Cancer Related", "Cancer-specific:", "Disease-related": section names
                      r"^\W*[A-Za-z]+[\s-](?:related|specific)\s*:?\s*$|"
                      # "3+3 Nivolumab Combination Cohort", "Dose expansion arm:"
                      r"^[^.;:]{0,50}\b(?:cohorts?|arms?)\s*:?\s*$", re.IGNORECASE)
# (How every heading ends: the heading regex is costly, tried on every clause.)
_HEADING_ENDS = (":", "criteria", "following", "requirements", "conditions", "only", "related",
                 "specific", "cohort", "cohorts", "arm", "arms")
_MIXED = re.compile(r"\b(?:no|not|without|except|unless|only|provided|if|must|but)\b",
                    re.IGNORECASE)
_CHILDBEARING = re.compile(
    r"(?:\b(?:for|in)\s+)?(?:(?:all\s+)?(?:women|females?|female\s+(?:patients?|subjects?|participants?)|"
    r"patients?|subjects?|participants?)\s+(?:of|with)\s+(?:reproductive|child[\s-]?bearing)\s+"
    r"(?:potential|age)|\bWOCBP\b|\bfertile\s+(?:women|females?|patients?)|"
    # the NCI's plain-language template
    r"\b(?:women|females?|patients?|participants?|subjects?)\s+who\s+are\s+having\s+sex\s+that\s+"
    r"can\s+lead\s+to\s+pregnancy)(?:\s*\(WOCBP\))?"
    r"(?:\s+only)?", re.IGNORECASE)
_NO_FIRST = re.compile(r"\W*(?:(?:(?:the\s+)?(?:patients?|subjects?|participants?)\s+)?"
                       r"(?:must\s+|should\s+)?"
                       r"(?:have|has|with)\s+)?(?:no|none\s+of|absence\s+of|without)\b",
                       re.IGNORECASE)
_NEGATED_EXCLUSION = ("a negated requirement (\"No ...\") filed among the exclusions: read "
                      "literally it excludes whoever does not have it, so a person decides")
_FOR_WHOM = re.compile(r"\b(?:in|for)\s+(?:those\s+|the\s+)?(?:patients?|subjects?|participants?|"
                       r"those|women|men)\s+(?:with|who\s+(?:have|had)\s+(?:received|had)?|"
                       r"receiving|on|treated\s+with|previously\s+treated\s+with)\b|"
                       # "INR <= 1.5 x ULN. This applies only to patients who are not
                       # receiving therapeutic anticoagulation"
                       r"\bappl(?:ies|y)\s+(?:only\s+)?to\s+(?:those\s+|the\s+)?(?:patients?|"
                       r"subjects?|participants?|those)\s+(?:who\s+are\s+)?"
                       r"(?=not\s+(?:receiving|on|taking)\b)",
                       re.IGNORECASE)
_ENDS_LABEL = re.compile(r"\s*(?:years?(?:\s+old)?|of\s+age)?\s*:")
_ALLOWED_LABEL = re.compile(r"^\W*(?:allowed|permitted)\b", re.IGNORECASE)


# An exclusion phrased as a prohibition: "Patients must not have ...", "Subjects
# may not be receiving ...".  ("Patients who have not received ..." states a
# fact, and stays a negation.)
_PROHIBITION = re.compile(
    r"\W*(?:" + LABEL + r")?(?:(?:the\s+)?(?:female\s+|male\s+|adult\s+)?"
    r"(?:patients?|subjects?|participants?|individuals?|women|men|persons?|females?|males?|WOCBP)"
    r"(?:\s+(?:of|with)\s+(?:child[\s-]?bearing|reproductive)\s+(?:potential|age))?"
    r"(?:\s*\(WOCBP\))?\s+)?"
    r"(?:must|may|should|can|shall)\s*not\b", re.IGNORECASE)
_EXCEPTION = re.compile(r"\b(?:except(?:\s+for)?|excluding|other\s+than|with\s+the\s+exception"
                        r"\s+of|unless|apart\s+from|but\s+not|does\s+not\s+(?:include|apply\s+to))\b",
                        re.IGNORECASE)


_CONFIRMED_ALTERNATIVE = re.compile(
    r",?\s*\bor\s+(?:an?\s+)?positive\s+(?:[^.;]|\.(?=\d)){1,80}?\bfollowed\s+by\s+(?:an?\s+)?"
    r"(?:negative|undetectable)\b(?:[^.;]|\.(?=\d))*", re.IGNORECASE)


def _exception_end(text: str, start: int) -> int:
    """Where an exception ends: its closing parenthesis when it sits in one,
    else the end of its sentence."""
    opened = text.rfind("(", 0, start)
    if opened > text.rfind(")", 0, start):
        close = text.find(")", start)
        if close >= 0:
            return close + 1
    stop = text.find(". ", start)
    stop = len(text) if stop < 0 else stop + 1
    # an aside before the clause's own verb: "Female subjects, unless post-menopausal
    # or surgically sterile, must use contraception" (to the sentence end, it took the
    # rule with it)
    verb = _VERB_AFTER_ASIDE.search(text, start, stop)
    return verb.start() + 1 if verb is not None else stop


_VERB_AFTER_ASIDE = re.compile(r",\s*(?:must|should|shall|will|need\s+to|are\s+required|"
                               r"is\s+required)\b", re.IGNORECASE)


def compile_clause(clause: Clause, context: int = 0
                   ) -> tuple[ir.Node | None, str, list[str], list[str]]:
    """-> (logic, family, review texts, notes).  The first ``context`` characters
    of the clause text are a PDQ label put in front ("Age: " + "18 and over"):
    read by the recognizers as context, never left over for review."""
    text = clause.text
    rest = text[context:]
    tail = rest.rstrip().lower()
    if _NO_REQUIREMENT.match(rest) or (len(tail) < 200 and (
            len(tail) <= 30 or tail.endswith(_HEADING_ENDS)) and _HEADING.search(rest)):
        return None, "none", [], []
    if _PERMISSION.search(clause.header) and not _ALLOWED_LABEL.match(clause.header) \
            and not _PERMISSION_DENIED.search(clause.header):
        # An item under "X allowed provided the following criteria are met:" is a
        # condition of that permission, which applies to some patients only.
        return None, review_family(text) or "other", [text[context:].strip()], []
    if clause.header and any(w.kind == "since" for w in find_windows(clause.header)):
        # "At least 7 days since prior CYP450 inducing drugs:" then the drugs: each
        # item is a washout the intro defines, not a treatment to have had.
        return None, review_family(text) or "washout", [text[context:].strip()], []
    permission = _PERMISSION.search(text) or _ALLOWED_LABEL.match(clause.header) or \
        _MAY_ALSO.match(text, context)
    if permission and not _PERMISSION_DENIED.search(text) and \
            (part := _permission_after_rule(text, context, permission)) is not None:
        # "Radiotherapy within 14 days. Palliative radiotherapy will be allowed.",
        # "Anti-arrhythmic therapy (beta blockers or digoxin are permitted)": a rule,
        # then what it allows.  The rule stands; the permission can only rescue a
        # patient it fails (read as a permission alone, the whole rule was dropped
        # and every patient passed it).
        a, b = part
        blanked = dataclasses.replace(clause, text=text[:a] + " " * (b - a) + text[b:])
        logic, family, review, notes = compile_clause(blanked, context)
        if logic is None:
            # nothing computable before it: the whole clause to a person, as written
            return None, family, [text[context:].strip()] if review else [], notes
        if not _OPTIONAL_TESTING.search(text, a, b):
            allowed = ir.Review(text=text[a:b].strip(" ();.[]"))
            logic = ir.Or(items=(logic, allowed)) if clause.kind == "inclusion" else \
                ir.And(items=(logic, ir.Not(item=allowed)))
        return logic, family, review, notes
    if permission and not _PERMISSION_DENIED.search(text):
        if _MIXED.search(text):
            # "No prior chemotherapy except adjuvant allowed": a rule with an
            # exception nobody compiled: a person reads it.
            return None, review_family(text) or "other", [text.strip()], []
        return None, "none", [], ["a permission (\"allowed\"), not a requirement"]
    if (any(w in tail for w in _DEFINITION_WORDS) or _OPENS_WITH_IF.match(tail)) \
            and _DEFINITION.search(rest):
        # "Pleural effusions and ascites are not considered measurable lesions": a
        # definition of the protocol's terms, which no patient has to meet
        return None, review_family(text) or "measurable_disease", [text[context:].strip()], []
    if _EITHER_RESULT.match(text, context):
        # "HIV positive or negative status": either, so nothing is asked
        return None, "none", [], ["either result is accepted"]
    if text.rstrip().endswith(":") and not _EXCEPTS_BELOW.search(text) \
            and _scope_label(text, context, len(text), at_start=True):
        return None, "none", [], ["a label saying whom the items under it are for"]
    if not context and (own := _LABEL.match(text)) is not None:
        # "If liver metastases are present: AST <= 5 x ULN": the label in the item
        if (scope := _scope_label(text, 0, own.end())) is not None \
                and (scoped := _scoped(clause, own.end(), scope)) is not None:
            return scoped
    scope = _scope_label(text, 0, context) if context else None
    if scope is None and (lead := _IF_SCOPE.match(text, context)) is not None:
        # "If the patient has liver metastases, ALT and AST < 5 x ULN": the first
        # part says whom the rest is for, like a label (read by the words after
        # "if", the bound itself was taken for whom: ALT 10 x ULN with liver
        # metastases passed)
        scoped = _scoped(clause, lead.end(), lead)
        if scoped is not None:
            return scoped
    if scope is not None:
        scoped = _scoped(clause, context, scope)
        if scoped is not None:
            return scoped
    confirmed = _CONFIRMED_ALTERNATIVE.search(text, context) if clause.kind == "inclusion" \
        and "followed" in text else None
    if confirmed is not None:
        # "Negative HCV antibody test at screening, or positive HCV antibody test
        # followed by a negative HCV RNA test": the second way is one a person checks
        # (read into the first, the test had to be positive and negative at once)
        begin, end = confirmed.span()
        masked = text[:begin] + " " * (end - begin) + text[end:]
        logic, family, review, notes = compile_clause(dataclasses.replace(clause, text=masked),
                                                      context)
        shown = text[begin:end].strip(" ,;")
        if logic is None:
            return None, family, [text[context:].strip()], notes
        return ir.Or(items=(logic, ir.Review(text=shown))), family, review, notes
    exception = _EXCEPTION.search(text, context)
    if exception is not None:
        # "No other malignancy within 5 years except basal cell carcinoma": what
        # follows the cue is an exception, never a requirement.  It is hidden from
        # the recognizers and decided by a person: for an inclusion it can only
        # rescue (OR), for an exclusion it can only spare (AND).
        end = _exception_end(text, exception.start())
        begin = exception.start()
        if text[end - 1:end] == ")" and text[:begin].rstrip().endswith("("):
            begin = text[:begin].rstrip().rfind("(")  # "(except ...)": the whole aside
        masked = text[:begin] + " " * (end - begin) + text[end:]
        inner = Clause(text=masked, kind=clause.kind, header=clause.header,
                       lab_window_days=clause.lab_window_days,
                       list_window_days=clause.list_window_days)
        logic, family, review, notes = compile_clause(inner, context)
        if logic is None:
            return None, family, [text[context:].strip()], notes
        shown = text[exception.start():end].strip()
        if shown.endswith(")") and shown.count(")") > shown.count("("):
            shown = shown[:-1].rstrip()
        narrowed = _narrow_by_exception(logic, text, exception.end(), end, shown)
        if narrowed is not None:
            return narrowed, family, review, notes
        part = ir.Review(text=shown)
        joint = ir.Or if clause.kind == "inclusion" else ir.And
        return joint(items=(logic, part)), family, review, notes
    part = _PART_LABEL.match(text) if not context else None
    if part is not None and text[part.end():].strip():
        # "Module 4: Patients with type I or II diabetes", "Arm B: prior taxane": a
        # rule for the patients of one part of the study, which no record says;
        # a person decides whether it applies (read for everyone, every diabetic
        # patient was excluded from all modules)
        logic, family, review, notes = compile_clause(dataclasses.replace(
            clause, text=" " * part.end() + text[part.end():]), part.end())
        if logic is None:
            return None, family, [text.strip()], notes
        whom = ir.Review(text=text[:part.end()].strip().rstrip(":"))
        joint = ir.Or if clause.kind == "inclusion" else ir.And
        return joint(items=(logic, whom)), family, review, notes
    denied = _denied_aside(text, context) if clause.kind == "inclusion" else None
    if denied is not None:
        # "Hemoglobin >= 9 g/dL (transfusion is not allowed within 1 week)": the
        # aside forbids something of its own, beside the requirement (read as a
        # denial of the whole, every patient meeting the bound failed)
        a, b, inner_a, inner_b = denied
        masked = text[:a] + " " * (b - a) + text[b:]
        main, family, review, notes = compile_clause(dataclasses.replace(clause, text=masked),
                                                     context)
        aside, _family, aside_review, aside_notes = compile_clause(
            dataclasses.replace(clause, text=" " * inner_a + text[inner_a:inner_b]), inner_a)
        if aside is None and aside_review:
            aside = ir.Review(text=text[inner_a:inner_b].strip())
        if main is None:
            return None, family, [text[context:].strip()], notes
        if aside is not None:
            main = ir.And(items=(main, aside))
        return main, family, review + aside_review, notes + aside_notes
    if clause.kind == "inclusion" and _denies(text):
        whom = _DENIED_FOR.search(text, context)
        if whom is not None:
            # "Concurrent endocrine therapy will not be allowed for patients with
            # ER/PR >= 1%": for them only (read as one exclusion list, every HR+
            # patient was excluded)
            what, family, review, notes = compile_clause(dataclasses.replace(
                clause, kind="exclusion", text=text[:whom.start()]), context)
            who, _f, who_review, _n = compile_clause(dataclasses.replace(
                clause, text=" " * whom.end() + text[whom.end():]), whom.end())
            if what is not None and who is not None and not who_review:
                return _only_for(who, _negate(what)), family, review, notes
        # "Concurrent radiotherapy not allowed" under inclusion: excludes it.
        clause = Clause(text=text, kind="exclusion", header=clause.header,
                        lab_window_days=clause.lab_window_days,
                        list_window_days=clause.list_window_days)
        logic, family, review, notes = compile_clause(clause, context)
        return _negate(logic), family, review, notes
    if clause.kind == "exclusion" and _PROHIBITION.match(text, context) \
            and not _PERMISSION_DENIED.search(text):
        # "Patients must not have HIV infection" listed under exclusions restates
        # the exclusion: read it as the inclusion it is ("must not have X"), and
        # exclude whoever fails that.
        clause = Clause(text=text, kind="inclusion", header=clause.header,
                        lab_window_days=clause.lab_window_days,
                        list_window_days=clause.list_window_days)
        logic, family, review, notes = compile_clause(clause, context)
        return _negate(logic), family, review, notes
    found: list[Found] = []
    used: list[tuple[int, int]] = [(0, context)] if context else []
    # The recognizers read numbers written as words in digits; what is left over
    # is still taken from the text as written (offsets are kept).
    seen = clause
    if (spelled := digits_for_number_words(text)) != text:
        seen = dataclasses.replace(clause, text=spelled)
    for recognize in RECOGNIZERS:
        for f in recognize(seen):
            if f.node is not None and _overlap_share(f.used(), used[1:] if context else used) > 0.5:
                continue  # mostly text an earlier recognizer already read
            if clause.kind == "inclusion" and isinstance(f.node, ir.Or):
                # "No hematocrit < 28% or platelets < 100,000"
                f = dataclasses.replace(f, node=_neither(f.node))
            found.append(f)
            used.extend(f.used())
    # "chemotherapy for metastatic breast cancer (MBC)": the cancer the treatment
    # was for, inside the therapy's reading, is no diagnosis of its own (read as one,
    # an exclusion of prior chemotherapy excluded every patient with that cancer)
    therapies = [g for g in found if g.family in ("prior_therapy", "washout", "current_therapy")
                 and g.node is not None]
    if therapies and any(f.family == "diagnosis" for f in found):
        found = [f for f in found if not (f.family == "diagnosis" and any(
            a <= f.start and f.end <= b for g in therapies for a, b in g.used()))]
        # ... and the cancer written straight before it ("Had breast cancer endocrine
        # therapy within 2 weeks"), or the diagnosis it dates ("Prior adjuvant
        # endocrine therapy since diagnosis of breast cancer"): read as a diagnosis
        # of its own, the exclusion's alternatives excluded every patient with it.
        # The date is left to a person beside the treatment.
        aimed = [f for f in found if f.family == "diagnosis" and isinstance(
            f.node, ir.DiagnosisAtom) and any(
            _AIMED_GAP.fullmatch(text, f.end, g.start) and _names_therapy(text[g.start:])
            for g in therapies)]
        dated = [f for f in found if f.family == "diagnosis" and isinstance(
            f.node, ir.DiagnosisAtom) and any(g.end <= f.start for g in therapies)
            and _SINCE_DIAGNOSIS.search(text, 0, f.start)]
        for f in dated:
            used[:] = [u for u in used if u not in f.used()]
        found = [f for f in found if f not in aimed and f not in dated]
    if clause.lab_window_days is not None and any(
            getattr(a, "within_days", None) == clause.lab_window_days
            for f in found if f.node is not None for a in ir.atoms(f.node)):
        # The clause's own window ("within 14 days before enrolment") dates its labs.
        used.extend((w.start, w.end) for w in find_windows(text)
                    if w.kind == "within" and w.days == clause.lab_window_days)
    # "Women of childbearing potential must have a negative pregnancy test": the
    # rule is for them; men and women who cannot bear children meet it.
    childbearing = [m.span() for m in _CHILDBEARING.finditer(text)] if any(
        f.node is not None and not isinstance(f.node, ir.Review) for f in found) and (
        "bearing" in text or "WOCBP" in text or "ertile" in text
        or "lead to pregnancy" in text) else []
    used.extend(childbearing)
    if childbearing:
        # ("who are having sex that can lead to pregnancy" names them; its pregnancy
        # is none of theirs: read, every woman of the rule had to be pregnant)
        found = [f for f in found if not any(a <= f.start < b for a, b in childbearing)]
    # "Age 18 and over: WBC at least 4,000/mm^3", "Renal: Age 5 years and under:
    # Creatinine ...": an age ending a label says whom the rule is for; everyone
    # else meets it.
    scope_ages = [f.node for f in found if f.family == "age" and f.node is not None
                  and (colon := _ENDS_LABEL.match(text, f.end)) is not None
                  and len(text[colon.end():].strip()) > 2]
    found = [f for f in found if f.node not in scope_ages]
    label = _LABEL.match(text)
    if label and len(label.group("label").split()) <= 8:
        # "Patients with active hepatitis B or C: If positive for HBsAg ...": the
        # label names what the rest defines; when the rest compiles, it decides.
        outside = [f for f in found if f.end > label.end()]
        if outside or (context and label.end() <= context):
            # (a label carried over from its own line heads many items: when the item
            # states nothing read, the label's topic is no requirement of it;
            # "Platinum-resistant disease:" then "Adequate liver function as follows:"
            # required platinum-resistant disease)
            found = outside
        used.append((label.start(), label.end()))
        # A section label before the topic label: "PROTOCOL ENTRY CRITERIA: Endocrine
        # therapy: ..." files the requirement; it adds none.
        used.append((0, label_end(text)))
    # Cross-references state nothing themselves ("See Disease Characteristics").
    used.extend((m.start(), m.end()) for m in CROSS_REFERENCE.finditer(text))
    found.sort(key=lambda f: f.start)
    nodes = [f.node for f in found if f.node is not None]
    notes = [n for f in found for n in f.notes]
    family = found[0].family if found else (review_family(text) or "other")
    if not nodes:
        if found and not _leftover(text, used):
            return None, family, [], notes  # understood, and imposes nothing ("both sexes")
        return None, family, [text[context:].strip()], notes
    rules = _phenotypes(text, clause.kind, [f for f in found if f.node is not None])
    # "LVEF >= 50% in patients with prior anthracycline": what follows the cue says
    # whom the rule before it is for; everyone else meets it.
    whom_cue = _FOR_WHOM.search(text, context) if clause.kind == "inclusion" else None
    if whom_cue is not None and text.count("(", 0, whom_cue.start()) > text.count(
            ")", 0, whom_cue.start()):
        whom_cue = None  # "(at least 75,000/mm3 in patients with prior BMT)": an alternative
    subgroup: ir.Review | None = None
    if whom_cue is not None and _BOUND_AFTER.match(text, whom_cue.end()):
        # "Bilirubin <= 1.5 x ULN. For participants with Gilbert's disease or HCC, <= 3
        # mg/dL": the cue opens a bound of its own for a subgroup, another way to
        # meet the rule a person checks (read as whom the first bound is for,
        # everyone else passed whatever the bilirubin)
        first_rules = [f for f in rules if f.end <= whom_cue.start()]
        if first_rules:
            rules = first_rules
            subgroup = ir.Review(text=text[whom_cue.start():].strip())
            used.append((whom_cue.start(), len(text)))
        whom_cue = None
    if subgroup is None and (allowed := MAY_HAVE_FOR.search(text, context)
                             or SUBGROUP_MUST.search(text, context)) is not None:
        # "Total bilirubin <= 1.5 x ULN. Patients with Gilbert's syndrome may have a
        # total bilirubin > 1.5 x ULN": what some patients may have is another way to
        # meet the rule a person checks (read as a bound for everyone, the two
        # bounds contradicted each other and everyone failed)
        outside = [f for f in rules if f.start < allowed.start() or f.start >= allowed.end()]
        if any(f.start < allowed.start() for f in rules):
            rules = outside
            subgroup = ir.Review(text=allowed.group().strip())
            used.append(allowed.span())
            whom_cue = None
    named = [f for f in rules if whom_cue is not None and f.start >= whom_cue.end()]
    before = [f for f in rules if whom_cue is not None and f.end <= whom_cue.start()]
    if named and before and len(named) + len(before) == len(rules):
        used.append(whom_cue.span())
        logic = _only_for(_join(text, "inclusion", named), _join(text, clause.kind, before))
    else:
        logic = _join(text, clause.kind, rules)
    if subgroup is not None:
        logic = ir.Or(items=(logic, subgroup))
    needs_person = review_family(text)
    if needs_person == "conduct":
        # "may not receive other anticancer therapy while on study": a rule for
        # the future, which no record of the past can decide.
        return None, "conduct", [text[context:].strip()], notes
    leftover_spans = _leftover_spans(text, used)
    halves = [(a, b) for a, b in leftover_spans if _HALF_LIVES.search(text, a, b)] \
        if "alf" in text or "ALF" in text else []
    if halves and any(isinstance(x, ir.TreatmentAtom) and x.within_days is not None
                      for x in ir.atoms(logic)):
        # "within 4 weeks or 5 half-lives, whichever is shorter": no record gives
        # a drug's half-life, so a person decides inside the stated window (read as
        # the window alone, a patient whose short-lived drug had long washed out
        # failed); "whichever is longer" (or no choice said): the window excludes,
        # and a person decides after it
        a, b = halves[0]
        shorter = _SHORTER.search(text, a, b) is not None
        count = _HALF_LIVES_COUNT.search(text, a, b)
        n = count.group(1) if count is not None else ""
        cap = int((int(n) if n.isdigit() else WORD_NUMBERS[n.lower()]) * _LONGEST_HALF_LIFE_DAYS) \
            if count is not None else None
        shown = " ".join(text[x:y].strip(" ,;()") for x, y in halves)
        logic = _within_or_half_lives(logic, ir.Review(text=shown), shorter, cap)
        leftover_spans = [sp for sp in leftover_spans if sp not in halves]
    leftovers = [text[s:e] for s, e in leftover_spans]
    # A fragment joined to what was read by "or" is one more alternative ("creatinine
    # <= 1.5 x ULN or 24-hour clearance >= 50 mL/min", "No active infection or oral
    # mucositis"): a person decides it, but it can only rescue what the rule fails
    # (or, negated, only fail what it passes), never be required beside it.
    if_notes = [m.span() for m in _IF_NOTE.finditer(text)] if "(" in text else []
    # "Creatinine <= 1.5 mg/dL (if creatinine > 1.5, clearance must be >= 60)": what a
    # parenthesis opening with "if" says can only be another way to meet the rule.
    alternatives = [text[s:e] for s, e in leftover_spans if _is_alternative(text, s, e)
                    or any(a <= s and e <= b for a, b in if_notes)]
    if alternatives and not needs_person:
        logic = _with_alternatives(logic, tuple(ir.Review(text=a) for a in alternatives))
        leftovers = [f for f in leftovers if f not in alternatives]
    review: list[str] = []
    if needs_person in ("judgement", "consent", "capacity", "compliance") \
            and review_family(_blanked(text, used)) != needs_person:
        # "Life expectancy >= 3 months in the opinion of the investigator", "aged
        # 18 or over on the day of signing informed consent": a recognizer read the
        # words that looked like a person's part as part of its own requirement.
        needs_person = None
    if needs_person in ("judgement", "consent", "capacity", "compliance"):
        review = [text.strip()]
    elif leftovers:
        review = leftovers
    if review:
        parts = tuple(ir.Review(text=r) for r in review)
        if leftovers and review is leftovers and clause.kind == "inclusion":
            logic = _qualify(logic, parts)
        else:
            logic = ir.And(items=(logic, *parts))
    applies = _APPLIES_TO.match(text, context) if clause.kind == "inclusion" else None
    if applies is None and clause.kind == "inclusion" and (
            group := _GROUP_APPLIES.match(text, context)) is not None:
        first = next((a for a in ir.atoms(logic) if not isinstance(a, ir.Review)), None)
        if isinstance(first, ir.SexAtom) if group.group("sex") else \
                first == ir.FindingAtom(key="breastfeeding", value=True):
            applies = group
    if applies is not None:
        # "Patients receiving corticosteroids must be on a stable dose", "For
        # patients with chronic HBV, the viral load must be undetectable": the
        # first thing named says whom the rule is for; everyone else meets it.
        first = next((a for a in ir.atoms(logic) if not isinstance(a, ir.Review)), None)
        timed = isinstance(first, ir.TreatmentAtom) and (
            first.ended_days_before is not None or first.within_days is not None)
        if isinstance(first, ir.TreatmentAtom) and first is logic and not timed and \
                first.ongoing is None and _COMPLETED.search(applies.group(0)):
            # "Prior radiotherapy must be completed": no longer going on (read
            # alone, it required the radiotherapy)
            logic, timed = first.model_copy(update={"ongoing": False}), True
        if first is not None and (first is not logic or timed):
            if isinstance(first, ir.TreatmentAtom):
                # whom: who had the treatment; its time window is the rule's part
                first = first.model_copy(update={"ended_days_before": None,
                                                 "within_days": None})
            logic = _only_for(first, logic)
    if scope_ages:
        logic = _only_for(scope_ages[0] if len(scope_ages) == 1
                          else ir.And(items=tuple(scope_ages)), logic)
    if childbearing and clause.kind == "inclusion":
        logic = _for_childbearing(logic, text)
    return logic, min(found, key=lambda f: f.start).family, [], notes


def _reproductive(node: ir.Node) -> bool:
    """A rule about pregnancy: pregnant, breastfeeding, a pregnancy test."""
    atoms = [a for a in ir.atoms(node) if not isinstance(a, ir.Review)]
    return bool(atoms) and all(
        (isinstance(a, ir.FindingAtom) and a.key in ("pregnant", "breastfeeding"))
        or (isinstance(a, ir.LabResultAtom | ir.LabAtom) and a.analyte == "hcg")
        or (isinstance(a, ir.ConditionAtom) and a.concepts == ("pregnancy",)) for a in atoms)


def _for_childbearing(logic: ir.Node, text: str) -> ir.Node:
    """A clause naming women of childbearing potential is for them: men and women
    who cannot bear children meet it.  A clause of several sentences keeps its
    other rules everyone's and scopes its pregnancy rules only ("Patients must be 18
    or older. A negative pregnancy test is required for women of child-bearing age";
    "... 4) ALT <= 3 x ULN ... 6. Female patients with childbearing potential must have
    a negative pregnancy test": the whole run-on scoped, a man's labs went unread)."""
    def scoped(node: ir.Node) -> ir.Node:
        return ir.Or(items=(ir.SexAtom(allowed=("male",)), ir.Not(item=ir.FindingAtom(
            key="childbearing_potential", value=True)), node))

    def conj(items: list[ir.Node]) -> ir.Node:
        return items[0] if len(items) == 1 else ir.And(items=tuple(items))

    def split(node: ir.Node) -> tuple[list[ir.Node], list[ir.Node]]:
        """-> (everyone's rules, theirs) of a conjunction."""
        if isinstance(node, ir.And):
            rest: list[ir.Node] = []
            theirs: list[ir.Node] = []
            for item in node.items:
                r, t = split(item)
                rest += r
                theirs += t
            return rest, theirs
        if isinstance(node, ir.Or) and len(node.items) == 2 \
                and isinstance(node.items[1], ir.Review):
            # a rule with another way to meet it a person checks
            r, t = split(node.items[0])
            return ([ir.Or(items=(conj(r), node.items[1]))] if r else []), t
        # (a treatment beside them is often theirs too: "must commit to receive an
        # LHRH agonist"; a washout, "no chemotherapy in the last 21 days", is everyone's)
        if _reproductive(node) or not isinstance(node, ir.Not) and any(
                isinstance(a, ir.TreatmentAtom) for a in ir.atoms(node)):
            return [], [node]
        return [node], []

    if not _SENTENCES.search(text):
        return scoped(logic)
    rest, theirs = split(logic)
    if not theirs or all(isinstance(i, ir.Review) for i in rest):
        return scoped(logic)
    return ir.And(items=(*rest, scoped(conj(theirs))))


# More than one sentence, or numbered items run together.
_SENTENCES = re.compile(r"[.;]\s+(?:\d{1,2}[.)]\s+)?[A-Z]|\s\d{1,2}\)\s+[A-Z]")


# Whom a rule applies to, said first: "If the patient is on steroids, ...",
# "For patients with HBV ...", "Patients receiving anticoagulants must ...".
_COMPLETED_WORDS = r"completed|finished|ended|stopped|discontinued"
_APPLIES_TO = re.compile(
    r"\W*(?:" + LABEL + r")?(?:"
    r"(?:if|when)\s+(?:the\s+)?(?:patients?|subjects?|participants?)\s+(?:is|are|has|have|had|"
    r"was|were)\b|"
    r"(?:for|in)\s+(?:those\s+|the\s+)?(?:patients?|subjects?|participants?|those|women|men)\s+"
    r"(?:with|who|receiving|on|taking|treated|using)\b|"
    r"(?:for|in)\s+(?:[\w-]+\s+){1,2}(?:patients?|subjects?|participants?|women|men)\s*,|"
    r"(?:patients?|subjects?|participants?)\s+(?:who\s+(?:are|were)\s+)?(?:receiving|on|taking|"
    r"using|treated\s+with)\b(?=[^.;]*\b(?:must|should|may|need\s+to|are\s+required|"
    r"is\s+required|can)\b)|"
    # "Patients who received radiotherapy must have completed ... a washout of 14 days"
    r"(?:patients?|subjects?|participants?)\s+who\s+(?:have\s+|has\s+)?(?:received|had|"
    r"underwent|undergone)\b(?=[^.;]*\b(?:must|should|need\s+to|are\s+required|"
    r"is\s+required)\b)|"
    # "Patients with thyroid cancer must have failed radioactive iodine"
    r"(?:patients?|subjects?|participants?|those)\s+with\s+[^,;.]{1,50}?\s+(?:must|should|need\s+to|"
    r"are\s+required\s+to)\b|"
    # "Prior radiotherapy must have completed before randomization": of those who had it
    r"(?:any\s+)?(?:prior|previous)\s+[^,;.]{3,40}?\s+(?:must|should)\s+(?:have\s+)?(?:be(?:en)?\s+)?"
    r"(?:" + _COMPLETED_WORDS + r")\b)", re.IGNORECASE)


# "Male subjects must not freeze or donate sperm", "Women must be taking birth
# control", "Patients who are breastfeeding must agree to discontinue": a rule for
# them, when what the clause reads first is that sex or breastfeeding (read as a
# requirement, every woman failed the first, every man the second).
_GROUP_APPLIES = re.compile(
    r"\W*(?:" + LABEL + r")?(?:"
    r"(?P<sex>(?:female|male)s?|wom[ae]n|m[ae]n)(?:\s+(?:patients?|subjects?|participants?))?"
    # (an aside: "Female subjects, unless post-menopausal or surgically sterile, must")
    r"(?:\s*,[^,;.]{3,60},)?\s+"
    r"(?:must|should|will\s+(?:need|have)|need\s+to|are\s+required|is\s+required|have\s+to|"
    r"agrees?)\b|"
    r"(?:patients?|subjects?|participants?|women|those)\s+who\s+are\s+(?:breast-?\s?feeding|"
    r"lactating|nursing)\s+(?:must|should|need\s+to|are\s+required|agree)\b)", re.IGNORECASE)


# "Patients may also have received adjuvant therapy; however ...": a permission when
# it opens the clause (a later sentence saying so leaves the rules before it).
_MAY_ALSO = re.compile(r"\W*(?:patients?|participants?|subjects?)\s+may\s+also\s+have\s+"
                       r"(?:received|had|been)\b", re.IGNORECASE)
# A bound of its own opening the phrase after "for patients with X,": "..., <= 3 mg/dL".
_BOUND_AFTER = re.compile(r"[^,:;.]{1,60}[,:]\s*"
                          r"(?:(?:it|this|the\s+\w+)\s+(?:must|should)\s+be\s+)?"
                          r"(?:[<>]=?|[≤≥]|=<|=>|\b(?:less|greater|more)\s+than|"
                          r"\bat\s+(?:least|most)|\bno\s+(?:more|greater)\s+than|\bup\s+to)\s*\d",
                          re.IGNORECASE)
_COMPLETED = re.compile(r"\b(?:" + _COMPLETED_WORDS + r")\b", re.IGNORECASE)
_DEFINITION = re.compile(r"\b(?:are|is)\s+(?:not\s+)?considered\s+(?:as\s+)?(?:non-?)?"
                         r"(?:measurable|evaluable|target|non-?target)\b|"
                         r"\b(?:will\s+be|were|are|is)\s+(?:counted|regarded)\s+as\b|"
                         r"\bwill\s+(?:not\s+)?be\s+considered\s+(?:as\s+)?(?:part\s+of|an?\s)|"
                         r"\b(?:will\s+be|were|are)\s+assessed\s+(?:using|by|per|according)\b|"
                         # "If AST is > ULN, serologic testing ... must be negative": a
                         # rule that applies on a value, which a person applies
                         r"^\W*(?:if|when|in\s+case)\b[^,;:]{0,80}?(?:[<>≤≥]|\b(?:less|greater|"
                         r"more|above|below|exceed\w*|higher|lower)\b)[^,;:]*[,:]",
                         re.IGNORECASE)
# (Words without which _DEFINITION cannot match: the regex is tried on every clause.)
_DEFINITION_WORDS = ("considered", "counted", "regarded", "assessed")
_OPENS_WITH_IF = re.compile(r"\W*(?:if|when|in\s+case)\b")
_EITHER_RESULT = re.compile(r"\W*[\w /()-]{1,40}?\b(?:positive\s+or\s+negative|negative\s+or\s+"
                            r"positive)(?:\s+(?:status|result|disease|patients))?\W*$",
                            re.IGNORECASE)
# A label saying whom its items are for: "With bone marrow involvement:", "In the
# absence of marrow involvement:", "For patients with liver metastases:".
_SCOPE_LABEL = re.compile(
    r"(?:^|[:.]\s*)\W*(?:(?P<without>in\s+the\s+absence\s+of|without|no)\s+|"
    r"(?:with|if|when|in\s+case\s+(?:of|with)|(?:in|for)\s+(?:patients?|those|subjects?|"
    r"participants?)\s+with)\s+)"
    r"(?P<what>[^:.;]{3,60}?)\s*:\s*$", re.IGNORECASE)

# A cohort's label naming its disease: "For cohort B (NSCLC):", "Cohort 2 - TNBC:".
_COHORT = (r"(?:^|[:.]\s*)\W*(?:for\s+)?(?:the\s+)?(?:patients\s+in\s+)?(?:cohorts?|arms?|parts?|"
           r"groups?)\s+[A-Z0-9][\w./&-]{0,6}(?:\s*(?:,|and|&|/)\s*[A-Z0-9][\w./&-]{0,6})*\s*"
           r"(?P<without>(?!))?")
_COHORT_LABELS = (re.compile(_COHORT + r"\(\s*(?P<what>[^():]{2,60}?)\s*\)\s*:\s*$", re.IGNORECASE),
                  re.compile(_COHORT + r"[-–]\s*(?P<what>[^():]{2,60}?)\s*:\s*$", re.IGNORECASE))


# "No other prior malignancy within the past 5 years except:": a rule whose exceptions
# follow, not a label saying whom the items under it are for (read as one, the rule
# went: nothing was checked)
_EXCEPTS_BELOW = re.compile(r"\b(?:except(?:\s+for)?|other\s+than|excluding|unless|"
                            r"with\s+the\s+exception\s+of)(?:\s+(?:the\s+)?following)?\s*:\s*$",
                            re.IGNORECASE)


def _scope_label(text: str, pos: int, endpos: int, at_start: bool = False
                 ) -> re.Match[str] | None:
    """A label saying whom the items under it are for, of either kind."""
    for rx in (_SCOPE_LABEL, *_COHORT_LABELS):
        m = rx.match(text, pos, endpos) if at_start else rx.search(text, pos, endpos)
        if m is not None:
            return m
    return None


# "If the patient has liver metastases, ...", "For subjects with bone metastases: ...".
_IF_SCOPE = re.compile(
    r"\W*(?:(?:if|when)\s+(?:the\s+)?(?:patients?|subjects?|participants?)\s+(?:has|have|had)"
    r"(?:\s+(?P<without>no))?|(?:in|for)\s+(?:patients?|subjects?|participants?|those)\s+with)"
    r"\s+(?P<what>[^,:;()]{3,60}?)\s*[,:]\s*", re.IGNORECASE)


def _scoped(clause: Clause, context: int, scope: re.Match[str]
            ) -> tuple[ir.Node | None, str, list[str], list[str]] | None:
    """An item under a label that says whom it is for: the item's rule, for them
    only (everyone else meets an inclusion, and is not excluded by an exclusion).
    None when the label names nothing the compiler reads in full."""
    what = scope.group("what")
    whom, _family, review, _notes = compile_clause(Clause(text=what, kind="inclusion"))
    if whom is None:
        # a condition named alone ("liver metastases are present"), which the
        # recognizers leave to a person when it stands as a requirement of its own
        named = [m for m in vocab.find_conditions(what)
                 if not re.sub(r"(?i)\b(?:are|is|present|documented|known|has|have)\b|\W", "",
                               what[:m.start] + what[m.end:])]
        if len(named) == 1:
            whom, review = ir.ConditionAtom(concepts=(named[0].id,)), []
    if whom is None or review or any(isinstance(a, ir.Review) for a in ir.atoms(whom)):
        return None
    text = clause.text
    inner = Clause(text=" " * context + text[context:], kind=clause.kind, header=clause.header,
                   lab_window_days=clause.lab_window_days,
                   list_window_days=clause.list_window_days)
    logic, family, review, notes = compile_clause(inner, context)
    if logic is None:
        if scope.re not in _COHORT_LABELS:
            return None  # nothing read under the label: the usual reading decides
        # nothing read under a cohort's label: the item goes to a person as it is
        # (read with the label, "For cohort B (NSCLC): Have adequate organ
        # function" required NSCLC of every patient)
        return None, family, review or ([text[context:].strip()] if text[context:].strip()
                                        else []), notes
    if scope.group("without"):
        whom = _negate(whom)
    assert whom is not None
    if clause.kind == "inclusion":
        return _only_for(whom, logic), family, review, notes
    return ir.And(items=(whom, logic)), family, review, notes


def _only_for(whom: ir.Node, rule: ir.Node) -> ir.Node:
    """A rule for some patients only: whoever is not among them meets it."""
    return ir.Or(items=(whom.item if isinstance(whom, ir.Not) else ir.Not(item=whom), rule))


def _negate(logic: ir.Node | None) -> ir.Node | None:
    """not x, without a double negation."""
    if logic is None:
        return None
    return logic.item if isinstance(logic, ir.Not) else ir.Not(item=logic)


_OR_BEFORE = re.compile(r"(?:(?:^|[^\w/])or|\band/or)\W{0,3}(?:at\s+least\s+(?:one|1)\s+)?$",
                        re.IGNORECASE)
_OR_AFTER = re.compile(r"\W{0,3}or\b(?!\s+(?:more|greater|higher|less|lower|fewer|older|younger|"
                       r"above|below|over|under|equal|longer)\b)", re.IGNORECASE)


# (a clause of its own, or a cause whose alternatives the rule named: "bleeding
# related to tumor or radiotherapy")
# "... bone lesion that can be assessed by CT": a relative clause describing the
# fragment's noun, not a clause of its own.
_RELATIVE = re.compile(r"\bthat\s+(?:can|could|may)\s+be\s+\w+|\bthat\s+(?:is|are)\s+\w+",
                       re.IGNORECASE)
_CLAUSE_WORDS = re.compile(r"[.;:]\s|\b(?:must|should|shall|will|if|unless|when|who|which|that|"
                           r"related|due|caused|secondary|associated|induced|attributed|"
                           r"because)\b", re.IGNORECASE)


_IF_NOTE = re.compile(IF_NOTE, re.IGNORECASE)


def _is_alternative(text: str, start: int, end: int) -> bool:
    """Is the fragment at start:end (two content words at least) joined to the
    rest by "or"?  Not when what stands across the "or" is a roman numeral or a
    TNM code ("stage IIIB or IV", "T1 or Tis"): that is one phrase nobody read, and
    reading it as an alternative would let the rule pass without it."""
    fragment = text[start:end]
    words = len(re.findall(r"[A-Za-z]{3,}", fragment))
    if words < 2 or words > 10 or _CLAUSE_WORDS.search(_RELATIVE.sub(" ", fragment)):
        return False  # one qualifier word, or a clause of its own
    before = _OR_BEFORE.search(text, max(0, start - 20), start)
    if before is not None and not _CODE_BEFORE.search(text, 0, before.start()):
        return True
    after = _OR_AFTER.match(text, end)
    return after is not None and not _CODE_AFTER.match(text, after.end())


_CODE = r"(?:[IVX]+[A-D]?|T[0-4][a-d]?|Tis|N[0-3]|M[01])"  # stages, classes, TNM
_CODE_BEFORE = re.compile(r"\b" + _CODE + r"\W{0,3}$")
_CODE_AFTER = re.compile(r"\W{0,3}" + _CODE + r"\b")


_HALF_LIVES = re.compile(r"\bhalf[\s-]*li(?:fe|ves)\b", re.IGNORECASE)
_SHORTER = re.compile(r"\bwhichever\s+(?:is|comes|occurs)?\s*(?:shorter|less|earlier|sooner|"
                      r"first)\b", re.IGNORECASE)


_HALF_LIVES_COUNT = re.compile(r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
                               r"\s*(?:\(\d+\)\s*)?(?:drug\s+|terminal\s+|elimination\s+)?"
                               r"half[\s-]*li", re.IGNORECASE)
# Past N half-lives of the longest-lived anticancer drugs trials name (IgG
# antibodies: terminal half-lives of three to four weeks), every drug has washed
# out: a record older than that meets a half-lives washout whatever the drug.
_LONGEST_HALF_LIFE_DAYS = 30


def _within_or_half_lives(node: ir.Node, half_lives: ir.Review, shorter: bool,
                          cap: int | None) -> ir.Node:
    """Every treatment window of the rule, with its half-lives alternative."""
    if isinstance(node, ir.And | ir.Or):
        return type(node)(items=tuple(_within_or_half_lives(i, half_lives, shorter, cap)
                                      for i in node.items))
    if isinstance(node, ir.Not):
        return ir.Not(item=_within_or_half_lives(node.item, half_lives, shorter, cap))
    if not isinstance(node, ir.TreatmentAtom) or node.within_days is None:
        return node
    if shorter:
        return ir.And(items=(node, half_lives))
    if cap is not None and cap <= node.within_days:
        return node
    ever = node.model_copy(update={"within_days": cap})
    return ir.Or(items=(node, ir.And(items=(ever, half_lives))))


def _with_alternatives(logic: ir.Node, alternatives: tuple[ir.Review, ...]) -> ir.Node:
    if isinstance(logic, ir.Not):
        return ir.Not(item=ir.Or(items=(logic.item, *alternatives)))
    if isinstance(logic, ir.And) and all(isinstance(i, ir.Not) for i in logic.items):
        return ir.And(items=(*logic.items, ir.Not(item=ir.Or(items=alternatives))))
    return ir.Or(items=(logic, *alternatives))


def _qualify(logic: ir.Node, parts: tuple[ir.Review, ...]) -> ir.Node:
    """Words nobody compiled in a negated requirement qualify what it negates:
    "No prior chemotherapy for metastatic disease" is not (chemotherapy and
    [for metastatic disease]), so adjuvant chemotherapy makes it a review, never
    a fail.  Outside a negation they stay beside the rule."""
    if isinstance(logic, ir.Not):
        return ir.Not(item=ir.And(items=(logic.item, *parts)))
    if isinstance(logic, ir.And) and all(isinstance(i, ir.Not) for i in logic.items):
        return ir.And(items=tuple(_qualify(i, parts) for i in logic.items))
    return ir.And(items=(logic, *parts))


def _bound_key(atom: ir.Node) -> tuple | None:
    """What a numeric atom bounds: bounds with one key must overlap."""
    if isinstance(atom, ir.AgeAtom):
        return ("age",)
    if isinstance(atom, ir.PerformanceAtom):
        return ("performance", atom.scale, atom.within_days)
    if isinstance(atom, ir.LabAtom):
        return ("lab", atom.analyte, atom.relative_to, atom.within_days)
    return None


def _contradictory(logic: ir.Node) -> bool:
    """Do the bounds a conjunction requires leave no value at all ("Age > 60 years,
    ii. Age < 60 years with amenorrhoea ...": a list of alternatives read as one
    requirement)?  Such a reading fails every patient, or as an exclusion excludes
    nobody; the text goes to a person instead."""
    conjuncts: list[ir.Node] = []
    stack = [logic]
    while stack:
        node = stack.pop()
        if isinstance(node, ir.And):
            stack.extend(node.items)
        else:
            conjuncts.append(node)
    low: dict[tuple, tuple[float, bool]] = {}
    high: dict[tuple, tuple[float, bool]] = {}
    for atom in conjuncts:
        key = _bound_key(atom)
        if key is None or atom.op == "!=":
            continue
        value = atom.value
        if atom.op in (">=", ">", "=="):
            strict = atom.op == ">"
            if key not in low or (value, strict) > low[key]:
                low[key] = (value, strict)
        if atom.op in ("<=", "<", "=="):
            strict = atom.op == "<"
            if key not in high or (value, not strict) < (high[key][0], not high[key][1]):
                high[key] = (value, strict)
    for key, (lo, lo_strict) in low.items():
        if key in high:
            hi, hi_strict = high[key]
            if lo > hi or (lo == hi and (lo_strict or hi_strict)):
                return True
    return False


@lru_cache(maxsize=32768)
def _compile_clause_cached(clause: Clause, context: int
                           ) -> tuple[ir.Node | None, str, tuple[str, ...], tuple[str, ...]]:
    """compile_clause is a function of the clause alone, and registries repeat
    their boilerplate ("Pregnant or breast-feeding women"): about one clause in
    five of the corpus has been compiled before."""
    logic, family, review, notes = compile_clause(clause, context)
    if logic is not None and _contradictory(logic):
        return None, family, (clause.text[context:].strip(),), (
            "its bounds read as one requirement contradict each other "
            "(alternatives, most likely): read by a person",)
    return logic, family, tuple(review), tuple(notes)


def clear_caches() -> None:
    """Forget every memo of the compiler (bounded ``lru_cache``s: compiled
    clauses, token scans, windows, rules), keeping the loaded knowledge files
    (unbounded ``cache``): benchmarks time cold passes over the text."""
    for name, module in list(sys.modules.items()):
        if name != "criteria" and not name.startswith("criteria."):
            continue
        for value in vars(module).values():
            params = getattr(value, "cache_parameters", None)
            if params is not None and params()["maxsize"] is not None:
                value.cache_clear()


def _related(concept: str, targets: frozenset[str]) -> bool:
    return bool(({concept} | vocab.condition_ancestors(concept)) & targets)


def _narrow_by_exception(logic: ir.Node, text: str, start: int, end: int, shown: str
                         ) -> ir.Node | None:
    """"Other malignancy except basal cell carcinoma of the skin": the excepted
    conditions leave the condition atoms they narrow (``excluding``).  A
    qualifier on the exception ("adequately treated") stays for a person: a
    record of the excepted condition then makes the criterion a review, never a
    pass.  None when the exception names anything else (a person reads it)."""
    span = text[start:end]
    mentions = vocab.find_conditions(span)
    if not mentions:
        return None
    excepted = tuple(dict.fromkeys(m.id for m in mentions))
    atoms = [a for a in ir.atoms(logic) if isinstance(a, ir.ConditionAtom)]
    targets = {a: frozenset(c for cid in a.concepts
                            for c in ({cid} | vocab.condition_ancestors(cid)))
               for a in atoms}
    # At least one excepted condition must narrow a condition the rule names;
    # one the rule never counts ("carcinoma in situ" against "malignancy")
    # changes nothing.
    if not atoms or not any(_related(e, t) for e in excepted for t in targets.values()):
        return None
    used = [(m.start, m.end) for m in mentions]
    qualifiers = [q for q in _leftover(span, used) if not _EXCEPTION_FILLER.fullmatch(q)]

    def rewrite(node: ir.Node) -> ir.Node:
        if isinstance(node, ir.ConditionAtom):
            mine = tuple(e for e in excepted if _related(e, targets[node]))
            if not mine:
                return node
            kept = node.model_copy(update={"excluding": tuple(dict.fromkeys(
                node.excluding + mine))})
            if not qualifiers:
                return kept
            spared = node.model_copy(update={"concepts": mine, "excluding": ()})
            return ir.Or(items=(kept, ir.And(items=(spared, ir.Review(text=shown)))))
        if isinstance(node, ir.And | ir.Or):
            return type(node)(items=tuple(rewrite(i) for i in node.items))
        if isinstance(node, ir.Not):
            return ir.Not(item=rewrite(node.item))
        return node

    return rewrite(logic)


# Words of an exception that restate it without qualifying it.
_EXCEPTION_FILLER = re.compile(
    r"(?:(?:of|or|and|the|any|site|sites|skin|cervix|cervical|breast|prostate|bladder|"
    r"history|prior|previous|type|types|other|such|as|is|are|which|that|e\.g\.|i\.e\.)\W*)+",
    re.IGNORECASE)


_WHO_HAVE = re.compile(r"\s*(?:with|who|having|whose)\b", re.IGNORECASE)
# Two mentions naming one thing: "insulin-dependent diabetes".
_ONE_THING = re.compile(r"\s*-\s*(?:dependent|requiring|related|induced|associated)\s+",
                        re.IGNORECASE)


# "breast cancer endocrine therapy": on one line, the treatment's noun next.
_AIMED_GAP = re.compile(r"[ -]+")
_THERAPY_NOUN = re.compile(r"(?:radio|chemo|immuno|hormon|endocrine|surg|radiation|systemic)",
                           re.IGNORECASE)


def _names_therapy(rest: str) -> bool:
    """Does ``rest`` open with a treatment's own name (not "not amenable to surgery",
    "progressing while on hormone therapy")?"""
    if not rest[:1].islower():
        return False  # "... carcinoma Radiation volume to encompass": the next item
    return bool(_THERAPY_NOUN.match(rest)) or any(
        m.start == 0 for m in (*vocab.find_drugs(rest[:60]), *vocab.find_drug_classes(rest[:60])))


# "... since diagnosis of breast cancer": the diagnosis dates what comes before it.
_SINCE_DIAGNOSIS = re.compile(r"\bsince\s+(?:the\s+)?(?:(?:initial|original|first|primary)\s+)?"
                              r"diagnosis\s+(?:of\s+)?(?:(?:the|their|his|her)\s+)?$",
                              re.IGNORECASE)
# Between the markers of one phenotype ("ER-positive/HER2-negative, ..."), and
# between the last of them and its disease ("HER2-positive breast cancer").
_MARKER_GAP = re.compile(r"\s*(?:[,/]|\band\b)?\s*", re.IGNORECASE)
_DISEASE_GAP = re.compile(r"[\s-]*")
_OR_AGAIN = re.compile(r"\b(?:or|and/or)\b", re.IGNORECASE)


def _is_marker(found: Found) -> bool:
    return isinstance(found.node, ir.BiomarkerAtom)


def _phenotypes(text: str, kind: str, found: list[Found]) -> list[Found]:
    """Markers written straight before the disease they qualify, merged with it
    into one requirement: "HER2-positive breast cancer" is that cancer, not the
    cancer and (under an exclusion's alternatives) every HER2-positive tumour;
    read so, a breast cancer trial excluded all its patients.  "HER2-negative
    breast cancer and/or HER2-positive, HR-negative breast cancer" is two such
    phenotypes of one disease (read as one conjunction, it asked for HER2-negative
    and HER2-positive at once)."""
    out = list(found)
    for dx in [f for f in found if isinstance(f.node, ir.DiagnosisAtom)]:
        # markers opening the disease's own span ("HER2 Positive breast cancer"), then
        # those before it, each ending where the phenotype read so far begins
        first = [f for f in out if _is_marker(f) and f.start == dx.start and f.end < dx.end]
        j = out.index(dx) - 1
        gap = _DISEASE_GAP
        while j >= 0 and _is_marker(out[j]) and out[j].end <= dx.start and gap.fullmatch(
                text, out[j].end, first[0].start if first else dx.start):
            first.insert(0, out[j])
            gap = _MARKER_GAP
            j -= 1
        if not first or (j >= 0 and _is_marker(out[j]) and out[j] not in first):
            # none, or the run goes on by "or" ("ER+ PR+ or PR- HER2- breast
            # cancer"): which markers qualify the disease is not plain
            continue
        # a second phenotype inside the disease's span, after "or"
        inner = [f for f in out if _is_marker(f) and dx.start < f.start and f.end <= dx.end
                 and f not in first]
        second: list[Found] = []
        again = _OR_AGAIN.search(text, dx.start, inner[0].start) if inner else None
        if again is not None and all(_MARKER_GAP.fullmatch(text, a.end, b.start)
                                     for a, b in zip(inner, inner[1:], strict=False)):
            second = inner
        if kind == "inclusion" and not second:
            continue  # an inclusion's parts are a conjunction already
        merged = []
        for markers in (first, second):
            if markers:
                span = (min(f.start for f in (*markers, dx)), max(f.end for f in (*markers, dx)))
                merged.append(Found(ir.And(items=(*(f.node for f in markers), dx.node)),
                                    span[0], span[1], markers[0].family,
                                    [u for f in (*markers, dx) for u in f.used()],
                                    [n for f in (*markers, dx) for n in f.notes]))
        if len(merged) == 2 and again is not None:
            # the first ends at its "or", the second begins at its markers: the
            # joint between them is that "or"
            merged[0].end, merged[1].start = again.start(), second[0].start
        at = min(out.index(f) for f in (*first, dx))
        out = [f for f in out if f not in (*first, *second, dx)]
        out[at:at] = merged
    return out


def _join(text: str, kind: str, found: list[Found]) -> ir.Node:
    """Requirements of one clause in text order; OR binds tighter than AND.
    An exclusion's parts are alternatives unless the text joins them by "and"."""
    groups: list[list[ir.Node]] = [[found[0].node]]
    for prev, cur in zip(found, found[1:], strict=False):
        between = text[prev.end:cur.start]
        joint = connector(between)
        if kind == "exclusion" and not re.search(r"\band\b", between):
            joint = "or"
        if isinstance(prev.node, ir.SexAtom) and (_WHO_HAVE.match(between)
                                                  or not between.strip()):
            # "Women with a history of uterine cancer": those women; "Male breast
            # cancer": a man's (either one excluded every woman with breast cancer)
            joint = "and"
        if _ONE_THING.fullmatch(between):
            joint = "and"  # "steroid-dependent asthma": the one with the other
        if isinstance(cur.node, ir.TreatmentAtom) and re.fullmatch(
                r"\s*\)?\s*(?:\([^()]*\)\s*)?(?:on|during|while\s+(?:on|receiving)|with)\s+"
                r"(?:prior\s+|previous\s+)?", between, re.IGNORECASE):
            joint = "and"  # "LVEF decline (< 50%) on anti-HER2 treatment": during it
        if joint == "or":
            groups[-1].append(cur.node)
        else:
            groups.append([cur.node])
    conj = [g[0] if len(g) == 1 else _neither(ir.Or(items=tuple(g))) if kind == "inclusion"
            else ir.Or(items=tuple(g)) for g in groups]
    return conj[0] if len(conj) == 1 else ir.And(items=tuple(conj))


def _compiled_state(logic: ir.Node | None, review: list[str]) -> str:
    if logic is None:
        return "none" if review else "full"
    if review or any(isinstance(a, ir.Review) for a in ir.atoms(logic)):
        return "partial"
    return "full"


def _structured(trial: Trial, seen: dict[str, int]) -> list[ir.Criterion]:
    out = []
    for bound, op, label in ((trial.minimum_age, ">=", "Minimum age"),
                             (trial.maximum_age, "<=", "Maximum age")):
        if bound is None:
            continue
        text = f"{label}: {bound:g} years (registry field)"
        logic = ir.AgeAtom(op=op, value=bound)
        out.append(ir.Criterion(
            id=criterion_id(trial.trial_id, "inclusion", text, seen), kind="inclusion",
            text=text, source="structured", family="age", compiled="full", logic=logic,
            rule=display_rule("inclusion", logic)))
    if trial.sex.upper() in ("FEMALE", "MALE"):
        text = f"Sex: {trial.sex.lower()} (registry field)"
        logic = ir.SexAtom(allowed=(trial.sex.lower(),))
        out.append(ir.Criterion(
            id=criterion_id(trial.trial_id, "inclusion", text, seen), kind="inclusion",
            text=text, source="structured", family="sex", compiled="full", logic=logic,
            rule=display_rule("inclusion", logic)))
    return out


# A line naming a part of the study and nothing else heads the items after it:
# "Additional Eligibility for the Alpelisib Combination (Phase 1b and Arm A)", "For
# Part A", "Cohort 2", "Patients enrolled in Arm 2 only:".  Read for everyone,
# one arm's exclusion of prior CDK4/6 inhibitors failed the patients another arm
# asks for.
# "A", "B2", "1b", "A-1", "II", "IIa" (not "Accelerated Phase CML": a phase of the disease)
_PART_ID = r"(?-i:[A-Z]\d{0,2}[a-z]?(?:\.\d)?|\d{1,3}[A-Za-z]?(?:\.\d)?|I{1,3}V?[ab]?|IV[ab]?)\b"
_PART_NAME = re.compile(
    r"\b(?:arms?|cohorts?|parts?|phases?|modules?|groups?)\s+" + _PART_ID +
    r"(?:\s*(?:,|and|&|/|or)\s*" + _PART_ID + r")*|"
    r"\bdose[\s-]+(?:escalation|expansion)(?:\s+(?:phase|part|cohorts?))?|"
    r"\b(?:expansion|escalation)\s+(?:cohorts?|phase|part)", re.IGNORECASE)
_PART_WORDS = ("arm", "cohort", "part", "phase", "module", "group", "escalation", "expansion")
_HEADING_WORDS = re.compile(
    r"\b(?:additional|specific|eligibility|inclusion|exclusion|criteria|criterion|for|the|in|"
    r"of|and|or|only|patients?|participants?|subjects?|enrolled|enrolling|combination|"
    r"applicable|applies|to|portion|all|both|a|an|who|are|is|will|be|following|must|meet|"
    r"requirements?|stages?)\b", re.IGNORECASE)
_ALL_PARTS = re.compile(r"^\W*(?:for\s+)?(?:all|both)\s+(?:patients|participants|subjects|"
                        r"cohorts|arms|parts|phases|modules|groups)\W*$|^\W*general\W*$|"
                        # "The following inclusion criteria apply to ALL (dose-escalation
                        # and expansion) patients"
                        r"^[^:.;]{0,60}\bappl(?:y|ies)\s+to\s+(?:all|both|every)\b",
                        re.IGNORECASE)


def _part_heading(text: str) -> tuple[ir.Node, bool] | None:
    """(whom the items after it are for, whether the segment states nothing else)
    when the segment
    names a part of the study: alone ("For Part A", with at most two words of its
    own, as a drug's name in "the Alpelisib Combination (Arm A)"), with its
    disease ("Cohort B2: Uterine Carcinosarcoma"), or as a label ending in ":"."""
    body = text.strip()
    if len(body) > 120 or body.endswith(".") or not any(w in body.lower() for w in _PART_WORDS) \
            or re.search(r"[.;]\s", body) or not _PART_NAME.search(body):
        return None
    heading = body.rstrip(":").strip()
    if body.endswith(":"):
        return (_part_whom(heading), True) if not _words(heading) else \
            (ir.Review(text=heading), False)
    label, colon, content = body.partition(":")
    if colon and _PART_NAME.search(label) and len(_words(label)) <= 2 and content.strip():
        # "Cohort A: Endometrial Cancer" names its patients, and heads the items
        # after it; "PHASE IB AND II: Patients over age of 18" is one rule for them.
        # Either is a rule of its own too (compile_clause reads it: one cohort's
        # disease is no requirement for all, nor is it nothing)
        logic, _family, _review, _notes = compile_clause(Clause(text=content, kind="inclusion"))
        if logic is None or all(isinstance(a, ir.DiagnosisAtom | ir.BiomarkerAtom | ir.Review)
                                for a in ir.atoms(logic)):
            return ir.Review(text=heading), False
        return None
    own = len(_words(heading))
    if own <= 2:
        return _part_whom(heading), True
    if not re.search(r"[a-z]", heading) and re.search(r"\b(?:ELIGIBILITY|CRITERIA)\b", heading):
        # "PHASE II MEDI4736 PLUS OLAPARIB STUDY ELIGIBILITY CRITERIA - OVARIAN CANCER":
        # a heading in capitals, whatever its length (read as a rule, every patient
        # had to have had the study's drugs)
        return ir.Review(text=heading), True
    if own > 5:
        return None  # a sentence naming a part ("Prior participation in a Phase 1 study")
    # "For triple-negative breast cancer patients (Cohort L)": a cohort by its disease
    # (not "Hepatocellular carcinoma (eligible for cohort II only)": one of a list)
    if any(_PART_NAME.search(p) and _words(p) for p in re.findall(r"\([^()]*\)", heading)):
        return None
    whom = _part_whom(heading)
    return (whom, True) if not isinstance(whom, ir.Review) else None


def _words(heading: str) -> list[str]:
    """A heading's own words: not the part's name, a short acronym in parentheses
    ("(BC)"), or the words every heading has."""
    rest = re.sub(r"\(\s*[A-Z]{2,6}\s*\)", " ", _PART_NAME.sub(" ", heading))
    return re.findall(r"[A-Za-z][\w-]*", _HEADING_WORDS.sub(" ", rest))


# What every part of a study usually asks alike: the end of the items a cohort's
# defining label ("Cohort B1: HGSOC") heads.
_EVERYONES_FAMILIES = frozenset({
    "age", "sex", "performance_status", "lab", "life_expectancy", "consent", "pregnancy",
    "contraception", "capacity", "compliance", "comorbidity", "judgement", "conduct",
    "participation", "measurable_disease"})


def _neither(node: ir.Or) -> ir.Node:
    """A requirement's denials joined by "or" are "neither ... nor": "No diabetes
    mellitus or fasting glucose >= 120 mg/dl" (read as alternatives, a diabetic with
    a normal glucose met it)."""
    if len(node.items) > 1 and all(isinstance(i, ir.Not) for i in node.items):
        return ir.And(items=node.items)
    return node


def _for_part(kind: str, logic: ir.Node, part: ir.Node) -> ir.Node:
    """A rule for the patients of one part of the study: whoever is not among them
    meets an inclusion and is not excluded; a part no record shows (an arm) leaves
    it to a person whenever the rule would fail or exclude."""
    if isinstance(part, ir.Review):
        return ir.Or(items=(logic, part)) if kind == "inclusion" else \
            ir.And(items=(logic, part))
    return _only_for(part, logic) if kind == "inclusion" else ir.And(items=(part, logic))


def _part_whom(heading: str) -> ir.Node:
    """Whom a part's heading names: its disease when the heading says it in full
    ("For triple-negative breast cancer patients (Cohort L)"), else the heading,
    for a person."""
    named = _PART_NAME.sub(" ", re.sub(r"\((?=[^()]*\b(?:arms?|cohorts?|parts?|phases?|"
                                     r"modules?|groups?)\b)[^()]*\)", " ", heading,
                                     flags=re.IGNORECASE))
    whom, _family, review, _notes = compile_clause(Clause(text=named, kind="inclusion"))
    if whom is not None and not review and all(
            isinstance(a, ir.DiagnosisAtom | ir.BiomarkerAtom) for a in ir.atoms(whom)):
        return whom
    return ir.Review(text=heading)


def compile_text(trial_id: str, text: str, seen: dict[str, int] | None = None
                 ) -> list[ir.Criterion]:
    seen = {} if seen is None else seen
    out: list[ir.Criterion] = []
    segments = segment(text)
    # The window closing a run-on list ("...; cerebral embolism within 6 months").
    list_windows: dict[int, int] = {}
    for seg in segments:
        if seg.header:
            own = [w for w in find_windows(seg.text) if w.kind == "within"]
            if own:
                list_windows[seg.header_start] = own[-1].days
    sections: list[int] | None = None  # where sections start, once a part's heading needs it
    part: ir.Node | None = None  # whom the items after a part's heading are for
    part_section = -1
    part_until_general = False
    for seg in segments:
        found = _part_heading(seg.text) if not seg.label else None
        if found is None and seg.label.rstrip().endswith(":") and (
                by_label := _part_heading(seg.label)) is not None:
            # "Expansion phase Arm G participants:" as the label of the items under it
            # is their part's heading too (the part before it went on over them)
            found = (by_label[0], False)
        if part is not None or found is not None:
            sections = section_starts(text) if sections is None else sections
            section = bisect.bisect_right(sections, seg.start)
            if section != part_section:
                part = None  # a new section ("Exclusion Criteria:") is everyone's again
        if _ALL_PARTS.match(seg.text):
            part, found = None, None  # ("... apply to ALL (dose-escalation and expansion)")
        if found is not None:
            # a heading of its own may name its patients' disease ("Dose expansion
            # Cohort - TNBC"); a defining label's content is that item's own rule
            part, alone = found
            part_section = section
            # "Group 2: HRD gene mutation" defines its group; whether the items
            # after it are the group's is less sure than after a heading of its own.
            # A part named by its disease lets everyone else pass: carried onto the
            # general items after it, it would pass them unread
            part_until_general = ":" in seg.text.strip().rstrip(":") or \
                not isinstance(part, ir.Review)
            if alone:
                out.append(ir.Criterion(
                    id=criterion_id(trial_id, seg.kind, seg.text, seen), kind=seg.kind,
                    text=seg.text, span=ir.Span(start=seg.start, end=seg.end),
                    family="none", compiled="full", logic=None, review=(),
                    notes=("a heading: the items after it are for one part of the study",),
                    rule=""))
                continue
        header_windows = [w for w in find_windows(seg.header) if w.kind == "within"]
        # A label is context; one printed without its colon ("Chemotherapy" on a
        # line of its own) gets one, so that the recognizers read it as a label.
        label = seg.label.rstrip()
        if seg.kind == "exclusion" and label and NEGATED_INTRO.search(label):
            # "Exclusion Criteria: ... Patients may not have:" then "Acute hepatitis.":
            # the label restates the exclusion (read in front of the item, its denial
            # turned the exclusion round, and acute hepatitis passed)
            label = ""
        prefix = (label if label.endswith(":") else label + ":") + " " if label else ""
        clause = Clause(text=prefix + seg.text, kind=seg.kind, header=seg.header or seg.label,
                        lab_window_days=header_windows[0].days if header_windows else None,
                        list_window_days=list_windows.get(seg.header_start) if seg.header else None)
        # A window stated in the clause itself applies to its labs too.
        own = [w for w in find_windows(seg.text) if w.kind == "within"]
        if clause.lab_window_days is None and own and re.search(
                r"\b(?:prior\s+to|before|of|from)\s+(?:the\s+)?(?:protocol\s+)?(?:treatment|enrol|"
                r"registration|randomi|first|start|study|day\s+1|initiat)",
                seg.text[own[0].end:own[0].end + 40],
                re.IGNORECASE):
            clause = dataclasses.replace(clause, lab_window_days=own[0].days)
        logic, family, review, notes = _compile_clause_cached(clause, len(prefix))
        review, notes = list(review), list(notes)
        if seg.kind == "exclusion" and reads_as_requirement(logic):
            logic, review, notes = None, [seg.text.strip()], [*notes, MISFILED_NOTE]
        elif seg.kind == "exclusion" and _negated_rule(logic) and _NO_FIRST.match(seg.text):
            # "No severe congestive heart failure" under the exclusions: read literally
            # it excludes everyone without heart failure.
            logic, review, notes = None, [seg.text.strip()], [*notes, _NEGATED_EXCLUSION]
        if part is not None and part_until_general and found is None \
                and family in _EVERYONES_FAMILIES:
            part = None  # age, performance status, organ function: everyone's again
        if part is not None and logic is not None:
            logic = _for_part(seg.kind, logic, part)
        compiled = _compiled_state(logic, review)
        review_parts = tuple(review) if logic is None else tuple(
            a.text for a in ir.atoms(logic) if isinstance(a, ir.Review))
        out.append(ir.Criterion(
            id=criterion_id(trial_id, seg.kind, seg.text, seen), kind=seg.kind, text=seg.text,
            span=ir.Span(start=seg.start, end=seg.end), family=family, compiled=compiled,
            logic=logic, review=() if logic is not None else review_parts,
            notes=tuple(dict.fromkeys(notes)), rule=display_rule(seg.kind, logic)))
    return out


def _negated_rule(logic: ir.Node | None) -> bool:
    """A rule that is a negation, maybe beside parts left for a person."""
    if isinstance(logic, ir.Not):
        return True
    return isinstance(logic, ir.And) and all(
        isinstance(i, (ir.Not, ir.Review)) for i in logic.items) and any(
        isinstance(i, ir.Not) for i in logic.items)


def compile_trial(trial: Trial) -> CompiledTrial:
    seen: dict[str, int] = {}
    with fewer_collections():
        criteria = _structured(trial, seen) + compile_text(trial.trial_id, trial.eligibility_text,
                                                           seen)
    return CompiledTrial(trial=trial, criteria=criteria, compiler_version=COMPILER_VERSION)
