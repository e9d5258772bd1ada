"""Prior and current therapy: drugs and drug classes with cycles, lines,
progression, washouts ("completed at least 4 weeks prior to the first dose"),
recent exposure ("within 1 week"), current therapy; radiotherapy, surgery and
transplants; participation in other trials."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from criteria import ir, vocab
from criteria.grammar import WORD_NUMBERS, Window, duration_days, find_windows
from criteria.recognize.base import (
    CROSS_REFERENCE,
    LESION_HISTORY,
    Clause,
    Found,
    label_end,
    mentions_any,
    negated,
)

# A class qualifier that carries over a coordination:
# "anti-EGFR monoclonal antibodies or small molecule tyrosine kinase inhibitors".
SPECIALIZE = {
    ("tyrosine-kinase-inhibitor", "anti-egfr"): "egfr-tki",
    ("tyrosine-kinase-inhibitor", "anti-egfr-antibody"): "egfr-tki",
    ("monoclonal-antibody", "anti-egfr"): "anti-egfr-antibody",
}
_KINDS = [
    (re.compile(r"\b(?:radiotherapy|radiation(?:\s+therapy)?|irradiation|chemoradi\w+|"
                r"radiochemotherapy)\b", re.IGNORECASE), "radiotherapy"),
    (re.compile(r"\b(?:major\s+)?surg(?:ery|ical\s+(?:procedure|resection))\b", re.IGNORECASE),
     "surgery"),
    (re.compile(r"\b(?:(?:allogeneic|autologous|haematopoietic|hematopoietic|stem[\s-]cell|"
                r"bone[\s-]marrow|solid\s+organ|organ)\s+)+transplant\w*", re.IGNORECASE),
     "transplant"),
]
# A word each kind's pattern contains (lower case): a clause without it is not searched.
_KIND_NEEDS = {"radiotherapy": "radi", "surgery": "surg", "transplant": "transplant"}
_NUM = r"(\d+|" + "|".join(WORD_NUMBERS) + r")"
_CYCLES = re.compile(rf"(?:at\s+least|≥|>=|minimum\s+of)\s*{_NUM}\s+(?:(?:full|complete|prior|"
                     r"previous)\s+)*(?:cycles?|doses?)", re.IGNORECASE)
_LINES = re.compile(rf"(?:at\s+least|≥|>=|minimum\s+of)\s*{_NUM}\s+(?:prior\s+)?(?:lines?|"
                    r"regimens?)", re.IGNORECASE)
# "No more than 2 prior regimens": the patient's regimens are counted by a
# person (records are drugs, not lines); none at all certainly qualifies.
_MAX_LINES = re.compile(rf"\b(?:no|not)\s+(?:more|greater)\s+than\s+{_NUM}|"
                        rf"(?:\b(?:at\s+most|a\s+maximum\s+of|"
                        rf"maximum\s+of|up\s+to|(?:fewer|less)\s+than|0\s*(?:to|-|–|or))|≤|=<|<=|<)\s*{_NUM}"
                        r"(?:\s*\(\d+\))?"  # "four (4)"
                        r"(?!\s*(?:days?|weeks?|months?|years?)\b)(?=\s+(?:\w+\s+){0,5}?"
                        r"(?:lines?|regimens?|courses?|(?:chemo)?therap(?:y|ies)|treatments?)\b)",
                        re.IGNORECASE)
# An item of a washout list: "Chemotherapy: 21 days", "Immune-checkpoint
# inhibitors: 4 weeks", "Radiotherapy - 2 weeks": the therapy within that time
# before the study is what the list rules out, under either heading.
_LISTED_WASHOUT = re.compile(r"\W*+(?P<what>[^:;.]{2,80}?)\s*"
                             # (no colon before a comparison: "Immunotherapy >= 4 weeks",
                             # but not a duration: "therapy for > 6 months")
                             r"(?::|\s[-–]\s|(?<!\bfor\s)(?<!\bor\s)(?<!\bfor)(?=>|≥|=>))\s*"
                             r"(?P<op>>=|=>|≥|>|at\s+least\s+|more\s+than\s+)?\s*(?P<n>\d+|"
                             + "|".join(WORD_NUMBERS) + r")\s*(?P<u>day|week|month)s?\W*",
                             re.IGNORECASE)
# The same item with the time first: "21 days for checkpoint inhibitors and
# monoclonal antibodies, e.g., atezolizumab", "4 weeks for prior radiotherapy".
_TIMED_ITEM = re.compile(r"\W*+(?P<n>\d+|" + "|".join(WORD_NUMBERS) + r")\s*(?P<u>day|week|month)s?"
                         r"\s+(?:for|from|since|after)\s+(?:prior\s+|previous\s+|the\s+last\s+(?:dose\s+"
                         r"of\s+)?)?(?P<what>(?:[^;.\d]|\b(?:e\.g|i\.e)\.){2,200}?)\W*",
                         re.IGNORECASE)
_PROGRESSION = re.compile(r"\b(?:(?:(?:imaging|radiolog\w*|radiographic)\s+)?(?:confirm\w*|"
                          r"evidence|documentation)\s+of\s+(?:disease\s+)?)?(?:progress\w*|"
                          r"refractory|resistan\w+|relapsed|failed|failure)\b", re.IGNORECASE)
_PROGRESSION_ALT = re.compile(r"\s*or\s+(?P<alt>(?:clinician|investigator|physician)[^;.]*?"
                              r"(?:benefit|intoleran\w+|determination)[^;.,]*?"
                              r"(?:from\s+(?:the\s+)?treatment)?)(?=[;.,]|$)", re.IGNORECASE)
# Words by which the rest of a clause under a treatment's label speaks of having had
# it ("Chemotherapy: At least 4 weeks since", "Endocrine therapy: 1 prior regimen").
_TREATMENT_HISTORY = re.compile(
    r"\b(?:prior|previous(?:ly)?|received?|receiving|treated|pretreated|since|within|"
    r"regimens?|courses?|cycles?|lines?|required|must\s+have|failed|failure|progress\w*|"
    r"refractory|resistant|relapsed?|completed?|concurrent\w*|ongoing|currently|"
    r"allowed|permitted|naive|at\s+least|more\s+than|less\s+than|no\s+more|"
    r"\d+\s*(?:days?|weeks?|months?|years?))\b",
    re.IGNORECASE)
_DEPENDENT_ON = re.compile(r"[\s-]*(?:dependent|requiring|treated)\s+(?:type\s+\w+\s+)?diabet",
                          re.IGNORECASE)
_CAUSE = re.compile(r"\b(?:attributed\s+to|attributable\s+to|due\s+to|caused\s+by|secondary\s+to|"
                    # "... regardless of filgrastim (G-CSF) use": no requirement either
                    r"regardless\s+of|irrespective\s+of|"
                    r"induced\s+by|resulting\s+from|as\s+a\s+result\s+of|sequelae\s+of)\s+"
                    r"(?:(?:the|any|a|prior|previous|previously\s+administered|earlier|recent)\s+)*"
                    r"(?:[\w-]+(?:\s+|\s*\(\s*)){0,2}$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?=\s+[A-Z])")
# "No more than 6 months since prior paclitaxel": at most, not a washout
_AT_MOST = re.compile(r"\bno\s+(?:more|greater|longer|later)\s+than\b", re.IGNORECASE)
_STABLE_DOSE = re.compile(
    r"\b(?:stable|decreasing|tapering|tapered|unchanged|constant)\b[^.;,()]{0,40}?\b(?:doses?|dosages?|"
    r"dosing|regimens?|(?:therapy|treatment|use))\b|\b(?:doses?|dosages?|regimens?)\b[^.;]{0,40}?"
    r"\b(?:stable|unchanged)\b", re.IGNORECASE)
# A parenthesis shortly after a mention, in the same sentence.
_ASIDE_AFTER = re.compile(r"[^().;]{0,60}?\(")
_NAIVE = re.compile(r"[\s-]*(?:na[iï]ve|free)\b", re.IGNORECASE)
_UNTREATED_WITH = re.compile(r"\b(?:untreated|not\s+(?:been\s+)?(?:previously\s+)?treated)\s+"
                             r"(?:with|by)\s+(?:(?:any|prior|previous|an?)\s+)*$", re.IGNORECASE)
_STARTED = re.compile(r"\b(?:commenced|started|initiated|begun|began)\b", re.IGNORECASE)
_CURRENT = re.compile(r"\b(?:currently\s+(?:receiving|taking|on|undergoing|treated)|concurrent|"
                      r"ongoing|concomitant|are\s+receiving|is\s+receiving|"
                      r"(?:are|is)\s+(?:currently\s+)?(?:being\s+)?treated\s+(?:by|with)|"
                      r"^\W*being\s+treated\s+(?:by|with))\b", re.IGNORECASE)
_PARTICIPATION = re.compile(
    r"\bparticipat\w+\b[^;.]{0,60}?\b(?:clinical\s+(?:trial|study)|investigational|"
    r"(?:another|other)\s+(?:trial|study))|\b(?:investigational|experimental)\s+(?:agents?|"
    r"drugs?|products?|devices?|therapy|therapies|treatments?|medications?)\b",
    re.IGNORECASE,
)


_NOT_EXPOSURE = re.compile(r"\b(?:hypersensitiv\w*|allerg\w*|intoleran\w*|contraindicat\w*)\b",
                           re.IGNORECASE)
_CONTRACEPTION = re.compile(r"contracept|birth\s+control|abstinen", re.IGNORECASE)
# "no data are available on the use of AZD6738 in children", "the toxicity of
# niraparib in children is unknown": a drug named as a topic, not a treatment had.
# "... 6 months after the last dose of melphalan", "able to swallow ribociclib
# tablets", "lesions that have had external beam radiotherapy": the study's drug,
# or a lesion's history; not a treatment the patient must have had.
_TOPIC = re.compile(r"\b(?:(?:use|toxicity|toxicities|safety|efficacy|effects?|dosing|"
                    r"pharmacokinetics|(?:last|first|final)\s+(?:doses?|administrations?|"
                    r"infusions?))\s+(?:of|with)|swallow(?:ing)?|"
                    # "subjects enrolled in the Phase 3 study of pyrotinib": the drug a
                    # study was of, not one the patient had
                    r"enrolled\s+in\s+(?:the\s+|a\s+)?(?:phase\s+[\w/]+\s+)?(?:study|trial)\s+of|"
                    + LESION_HISTORY + r")\s+"
                    r"(?:the\s+)?(?:study\s+)?"
                    r"(?:[\w-]+\s+){0,2}$", re.IGNORECASE)
_THRESHOLD_CUE = re.compile(r"≥|≤|>=|<=|\d\s*(?:g/[dl]|x\s*10|\*\s*10|10\^)", re.IGNORECASE)
_SUPPORT = re.compile(r"\bwithout\b", re.IGNORECASE)


_NOT_GIVEN = re.compile(r"\s+(?:(?:must|should|may|can|shall)\s+not|cannot)\s+(?:have\s+)?"
                        r"(?:be|been)\s+(?:given|used|administered|received|taken|started)\b",
                        re.IGNORECASE)
# Between the treatments of one list: no sentence, no verb.
_LIST_BETWEEN = re.compile(r"[^.;:()]{0,120}")
_RECOVERED = re.compile(
    r"\brecover\w*\s+(?:fully\s+)?from\s+(?:(?:all|any|the)\s+)?(?:(?:acute\s+)?(?:toxic\s+|adverse\s+|"
    r"side\s+)?effects?\s+(?:of|from)\s+|toxicit\w+\s+(?:of|from|due\s+to|related\s+to)\s+)?"
    r"(?:(?:all|any|the)\s+)?[^;.]{0,25}$", re.IGNORECASE)


def recovering(text: str, start: int) -> re.Match[str] | None:
    """"Recovered from (the toxic effects of) prior X" before the mention at ``start``."""
    return _RECOVERED.search(text, max(0, start - 60), start)


_RECOVERED_AFTER = re.compile(
    r"[^;.]{0,40}?\s*,?\s*(?:and|&)\s+(?P<what>(?:has\s+|have\s+)?(?:fully\s+)?recovered"
    r"(?:\s+from\s+(?:all\s+|any\s+|the\s+)?(?:(?:acute|toxic|adverse|side)\s+)*"
    r"(?:effects?|toxicit(?:y|ies)|complications?)"
    r"(?:\s+(?:of|from)\s+(?:that|this|the|such|prior|previous|any)?\s*(?:therapy|treatment|"
    r"surgery|procedure))?)?)", re.IGNORECASE)
_SINCE_ONLY = re.compile(r"\bsince\b|\bpost\b|\bfrom\s+(?:the\s+)?(?:last|prior|previous)\b|"
                         r"wash\s*-?\s*out", re.IGNORECASE)
# "a >= 21-day treatment-free interval from chemotherapy": a washout, whatever else
# the text says was received
_FREE_INTERVAL = re.compile(r"\b(?:treatment|therapy)[\s-]+free\s+(?:interval|period)",
                            re.IGNORECASE)
# "must have been discontinued for >= 7 days": a washout, whoever took it
_STOPPED = re.compile(r"\b(?:discontinued|stopped|ceased)\s+(?:for\s+)?(?:at\s+least|more|greater|"
                      r"≥|>)|\boff[\s-]+(?:(?:treatment|therapy)\s+)?(?:with|from)\b",
                      re.IGNORECASE)
_RECEIVED = re.compile(r"\b(?:must\s+have|have\s+(?:had|received)|received|receiving|"
                       r"treated\s+with|at\s+least\s+\d+\s+(?:prior\s+)?(?:cycles?|lines?|"
                       r"regimens?))\b", re.IGNORECASE)


# A longer time for some of the therapies, in parentheses: "At least 4 weeks since
# prior chemotherapy (6 weeks for nitrosoureas or mitomycin)", "(2 weeks for
# vincristine, 3 weeks for procarbazine, or 6 weeks for nitrosoureas)".
_SPECIFIC_TIME = re.compile(r"(?:\(|,|;|\bor\b|\band\b)\s*(?:at\s+least\s+)?(?P<n>\d+|"
                            + "|".join(WORD_NUMBERS) + r")\s*(?P<u>day|week|month)s?\s+"
                            r"(?:for|since|after|from)\s+(?:prior\s+|previous\s+|the\s+last\s+)?"
                            r"(?P<what>[^,;()]+?)(?=\s*(?:,|;|\)|\bor\s+\d|$))", re.IGNORECASE)


def _specific_times(text: str, drugs: list, classes: list
                    ) -> tuple[list[tuple[list, list, int, tuple[int, int]]], list, list]:
    """The therapies given their own time, taken out of the clause's main ones."""
    out = []
    for m in _SPECIFIC_TIME.finditer(text):
        own_drugs = [d for d in drugs if m.start("what") <= d.start and d.end <= m.end("what")]
        own_classes = [c for c in classes
                       if m.start("what") <= c.start and c.end <= m.end("what")]
        if not own_drugs and not own_classes:
            continue
        days = duration_days(m.group("n"), m.group("u"))
        out.append((own_drugs, own_classes, days, (m.start("n"), m.end())))
        drugs = [d for d in drugs if d not in own_drugs]
        classes = [c for c in classes if c not in own_classes]
    return out, drugs, classes


# A cohort's heading in capitals before the rule: "REGISTRATION - PATIENTS WITH
# RESIDUAL DISEASE POST NEOADJUVANT CHEMOTHERAPY (PHASE II): ..."
_COHORT_HEADING = re.compile(r"\W*([^:]{30,220}?):\s")


# A list item that is more than a therapy's name ("Patients with X: 4 weeks").
_NEEDS_PERSON_IN_LIST = re.compile(r"\b(?:if|unless|patients?|with|who|except|no|not|half-?life|"
                                   r"survival|interval|free)\b",
                                   re.IGNORECASE)


def _count(text: str) -> int:
    return int(text) if text.isdigit() else WORD_NUMBERS[text.lower()]


_STUDY_OWN = re.compile(r"(?:doses?|administration|involves|involving|uses?|using)\s+"
                        r"(?:of\s+|with\s+)?"
                        r"(?:the\s+|an?\s+|this\s+)?(?:study\s+)?$", re.IGNORECASE)


_SINCE_WORDS = re.compile(r"least|more|greater|longer|over|minimum|≥|>|since|after|elapsed|post|"
                          r"following|wash", re.IGNORECASE)


def _as_kind(window: Window, kind: str) -> Window:
    """"Chemotherapy 4 weeks before randomization" among the exclusions: within
    those 4 weeks (a washout needs "at least", "more than", "since")."""
    if kind == "exclusion" and window.kind == "since" and not _SINCE_WORDS.search(window.text):
        return dataclasses.replace(window, kind="within")
    return window


def _participation(clause: Clause) -> list[Found]:
    """Another trial's treatment: within a window ("within 4 weeks"), a washout
    ("at least 30 days since prior investigational drugs": not within 30 days),
    or at present ("no concurrent investigational agents": not within 0 days,
    the last investigational treatment is today or later)."""
    text = clause.text
    m = _PARTICIPATION.search(text)
    while m and _STUDY_OWN.search(text, max(0, m.start() - 40), m.start()):
        # "the first dose of investigational product", "this study involves
        # investigational agents": the study's own drug, not another trial's.
        m = _PARTICIPATION.search(text, m.end())
    if not m:
        return []
    windows = [_as_kind(w, clause.kind) for w in find_windows(text)]
    within = [w for w in windows if w.kind == "within"]
    since = [w for w in windows if w.kind == "since"]
    now = _CONCURRENT.search(text, label_end(text))  # not "PRIOR/CONCURRENT THERAPY:"
    if within:
        w, atom_days, washout = within[0], within[0].days, False
    elif since and clause.kind == "inclusion":
        w, atom_days, washout = since[0], since[0].days, True
    elif now:
        w, atom_days, washout = None, 0, False
    else:
        return []
    spans = [(m.start(), m.end())]
    end = m.end()
    if w is not None:
        end = max(end, w.end)
        tail = re.match(r"[^;.]*?(?:first\s+dose|enrol\w+|randomi[sz]\w+|registration)"
                        r"(?:\s+of\s+(?:the\s+)?study\s+(?:drug|treatment))?", text[end:],
                        re.IGNORECASE)
        if tail:
            end += tail.end()
        spans.append((w.start, end))
    else:
        spans.append((now.start(), now.end()))
    node: ir.Node = ir.ParticipationAtom(within_days=atom_days)
    neg, cue = negated(text, min(s for s, _ in spans))
    if neg != washout:  # a washout is itself "not within"; a negated washout is rare
        node = ir.Not(item=node)
    if neg and cue:
        spans.append(cue)
    return [Found(node, min(s for s, _ in spans), end, "participation", spans=spans)]


_CONCURRENT = re.compile(r"\b(?:concurrent(?:ly)?|current(?:ly)?|ongoing|simultaneous(?:ly)?|"
                         r"at\s+the\s+same\s+time)\b", re.IGNORECASE)


_PROSPECT_CUE = re.compile(r"candidate|eligible|amenable|suitable|unfit|\bfit\b|plan|schedul|"
                           r"initiat|\bstart|\bbegin|commenc|"
                           r"curable|curative\s+intent|"
                           r"able\s+to|"
                           r"indicated|appropriate|intend|\bwill\b|undergo|to\s+receive",
                           re.IGNORECASE)
_PROSPECT = re.compile(
    r"\b(?:(?:able|unable)\s+to\s+(?:withstand|tolerate|receive|undergo)(?:\s+a\s+course\s+of)?|"
    r"candidates?|eligible|ineligible|amenable|suitable|unsuitable|unfit|fit|planned|planning|plans?|"
    r"(?:in)?curable\s+(?:by|with)|"
    r"scheduled|indicated|appropriate|intended|intends?|will\s+(?:be\s+)?(?:undergo\w*|"
    r"receiv\w*|treated)|to\s+(?:undergo|receive|be\s+treated\s+with))\s+(?:for\s+|to\s+|with\s+)?"
    r"(?:(?:treatment|therapy|chemotherapy|immunotherapy|radiotherapy)\s+(?:with\s+)?)?"
    r"(?:(?:an?|the|any|further|definitive|curative|intent|intention|complete|major|primary|"
    r"salvage|concurrent|systemic|palliative|(?:first|second|third|1st|2nd|3rd)[\s-]+line|"
    r"single[\s-]agent)\s+)*"
    # the second of a list: "not curable by surgery or radiotherapy"
    r"(?:(?:surgery|surgical\s+resection|resection|radiotherapy|radiation(?:\s+therapy)?|"
    r"chemotherapy|chemoradiation|chemoradiotherapy|[a-z]+(?:mab|nib|platin|taxel|rexed|"
    r"rubicin|citabine|fosfamide))\s*(?:,\s*(?:or\s+|and\s+)?|(?:or|and|and/or)\s+)"
    r"(?:(?:curative|definitive|conventional|standard)\s+)?){0,3}"
    r"$|\b(?:planned|scheduled)\s+(?:[\w-]+\s+){0,2}$|"
    # "within 6 weeks prior to initiating chemotherapy": the study's treatment
    r"\b(?:prior\s+to|before|until|upon|at)\s+(?:the\s+)?(?:initiat(?:ing|ion\s+of)|"
    r"start(?:ing|\s+of)|beginning(?:\s+of)?|commenc(?:ing|ement\s+of))\s+(?:the\s+)?"
    r"(?:study\s+|protocol\s+)?$",
    re.IGNORECASE)
# "Breast-conserving surgery or mastectomy is planned following NAC": said after.
_PLANNED_AFTER = re.compile(r"[^.;]{0,60}?\b(?:(?:is|are)\s+(?:planned|scheduled|intended)|"
                            r"(?:will|shall)\s+(?:not\s+)?be\s+(?:utilized|used|given|"
                            r"administered|delivered|started|initiated|begun))\b", re.IGNORECASE)


_NOW_OR_PLANNED = re.compile(r"\b(?:concurrent|current|ongoing|concomitant)\s+(?:or|and/or)\s+"
                             r"(?:planned|scheduled|intended)\b", re.IGNORECASE)


def prospective(text: str, start: int, procedure: bool = False) -> bool:
    """Is the treatment at ``start`` a plan or a judgement ("candidate for",
    "planned")?  A procedure that is required or needed ("require
    radiotherapy") is one too; a drug "required" is usually taken now."""
    if procedure and _NEEDS.search(text, max(0, start - 30), start):
        return True
    if _NOW_OR_PLANNED.search(text, max(0, start - 90), start):
        return False  # "Concurrent or planned radiotherapy": now too (a plan alone is a person's)
    if _PLANNED_AFTER.match(text, start):
        return True
    return _PROSPECT_CUE.search(text) is not None and \
        _PROSPECT.search(text, max(0, start - 90), start) is not None


_NEEDS = re.compile(r"\b(?:requir\w*|needs?|needing)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


# The setting a treatment was given in, as criteria name it (the patient's
# recorded settings are read into the same words: matcher/data/treatment_settings.yaml).
_SETTING_WORDS = {
    "metastatic": "recurrent/metastatic", "advanced": "recurrent/metastatic",
    "recurrent": "recurrent/metastatic", "relapsed": "recurrent/metastatic",
    "palliative": "recurrent/metastatic", "recurrent/metastatic": "recurrent/metastatic",
    "locally advanced or metastatic": "recurrent/metastatic",
    "adjuvant": "adjuvant", "neoadjuvant": "neoadjuvant", "neo-adjuvant": "neoadjuvant",
    "perioperative": "perioperative", "definitive": "definitive", "curative": "definitive",
}
_SETTING_WORD = (r"(?:locally\s+advanced\s+or\s+metastatic|recurrent/metastatic|metastatic|"
                 r"advanced|recurrent|relapsed|palliative|adjuvant|neo-?adjuvant|perioperative|"
                 r"definitive|curative)")
_SETTING = re.compile(
    rf"\b(?:in|for|during)\s+(?:the\s+)?(?P<a>{_SETTING_WORD})(?:\s*(?:,|or|and/or|and|/)\s*"
    rf"(?P<b>{_SETTING_WORD}))?\s+(?:settings?|disease|cancer|stage|treatment|therapy|"
    # "for metastatic breast cancer", "for advanced NSCLC": the trial's cancer, named
    r"(?:[A-Za-z-]+\s+){0,5}?(?:cancer|carcinoma|NSCLC|SCLC|HNSCC|SCCHN|m?CRPC|melanoma|"
    r"sarcoma|lymphoma|mesothelioma|glioma|tumou?rs?)\b(?:\s*\([A-Za-z]{2,6}\))?)|"
    rf"\b(?P<c>{_SETTING_WORD})(?:\s*(?:,|or|and/or|and|/)\s*(?P<d>{_SETTING_WORD}))?"
    r"(?=\s+(?:\w+\s+){0,2}(?:chemo\w*|therapy|treatment|radiotherapy|immunotherapy|"
    r"endocrine|hormon\w*|regimens?|systemic)\b)", re.IGNORECASE)


_SETTING_GATE = ("metasta", "advanced", "recurren", "relaps", "palliat", "adjuvant",
                 "perioperative", "definitive", "curative")


_SYSTEMIC = re.compile(r"\bsystemic\b", re.IGNORECASE)
# "failure of adjuvant and neoadjuvant therapy is considered 1 line of treatment"
_COUNTS_AS_LINE = re.compile(
    r"[^,;.()]{0,40}?\b(?:(?:is|are|will\s+be)\s+(?:considered|counted|regarded)(?:\s+as)?|"
    r"counts?\s+as|(?:is|are)\s+equivalent\s+to)\s+(?:an?\s+|one\s+|1\s+)?(?:prior\s+)?"
    r"(?:line|regimen)", re.IGNORECASE)


def _settings(text: str) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
    values: list[str] = []
    spans: list[tuple[int, int]] = []
    if not mentions_any(text, _SETTING_GATE):
        return (), spans
    for m in _SETTING.finditer(text):
        if _COUNTS_AS_LINE.match(text, m.end()):
            continue  # "adjuvant therapy counts as one line": how to count, not a setting
        for group in ("a", "b", "c", "d"):
            word = m.group(group)
            if word:
                key = re.sub(r"\s+", " ", word.lower())
                setting = _SETTING_WORDS.get(key, _SETTING_WORDS.get(key.replace("-", "")))
                if setting == "perioperative":
                    values.extend(("neoadjuvant", "adjuvant"))
                elif setting:
                    values.append(setting)
        spans.append((m.start(), m.end()))
    return tuple(dict.fromkeys(values)), spans


_REQUIRING_CUE = re.compile(r"\b(?:requir|need|necessitat)", re.IGNORECASE)
_REQUIRING = re.compile(
    r"\b(?:requir\w*|needs?|needed|needing|necessitat\w*)\s+(?:[\w-]+\s+){0,3}$", re.IGNORECASE)


def _not_treating_a_condition(text: str, drugs: list, classes: list, kinds: list
                              ) -> tuple[list, list, list]:
    """"Active infection requiring systemic therapy", "autoimmune disease that
    has required systemic treatment": the treatment qualifies the condition
    named before it; it is not the patient's cancer therapy, so it is left to
    the conditions (and to a person)."""
    firsts = [m.start for m in vocab.find_conditions(text)]
    if not firsts:
        return drugs, classes, kinds

    def treats(start: int) -> bool:
        return min(firsts) < start and _REQUIRING.search(text[max(0, start - 40):start]) \
            is not None

    return ([d for d in drugs if not treats(d.start)], [c for c in classes if not treats(c.start)],
            [(m, k) for m, k in kinds if not treats(m.start())])


def _start(mention: Any) -> int:
    """Where a mention starts: a vocabulary Mention, or a (match, kind) pair."""
    return mention[0].start() if isinstance(mention, tuple) else mention.start


def _end(mention: Any) -> int:
    """Where a mention ends."""
    return mention[0].end() if isinstance(mention, tuple) else mention.end


# "Cisplatin-ineligible", "cisplatin-based chemotherapy ineligible", "platinum-unfit":
# a judgement of the patient, said after the treatment.
_JUDGED_AFTER = re.compile(r"[\s-]*(?:based\s+)?(?:chemo\w*\s*)?[\s-]*(?:ineligible|unfit|"
                           r"not\s+eligible|intolerant|ineligibility)\b", re.IGNORECASE)


def _what(mention: Any) -> str:
    """What a mention names: a vocabulary id, or a (match, kind) pair's kind."""
    return mention[1] if isinstance(mention, tuple) else mention.id


_NON_PREFIX = re.compile(r"\bnon[\s-]?$", re.IGNORECASE)
_ARM = re.compile(r"[\s-]*(?:(?:combination|monotherapy|treatment|therapy|study)\s+)?"
                  r"(?:arms?|cohorts?)\b", re.IGNORECASE)


def _unless_after(cue: re.Pattern[str], reach: int, text: str, *mentions: list
                  ) -> tuple[list, ...]:
    """Each list of mentions without those that ``cue`` ends right before (it
    searches the ``reach`` characters before the mention)."""
    return tuple([m for m in group if cue.search(text, max(0, _start(m) - reach), _start(m))
                  is None] for group in mentions)


def recognize(clause: Clause) -> list[Found]:  # noqa: C901 - the facets of one grammar
    text = clause.text
    out = _participation(clause)
    if out:
        return out
    if _NOT_EXPOSURE.search(text):
        return []  # "hypersensitivity to cetuximab" is a condition, not a treatment
    if _CONTRACEPTION.search(text):
        # "... contraception until 6 months after the last dose of avelumab": a rule
        # for the future, read by a person; the drug is the study's, not a history.
        return []
    drugs = vocab.find_drugs(text)
    classes = vocab.find_drug_classes(text)
    # "anthracycline chemotherapy", "platinum-based chemotherapy": the generic class
    # is the head noun of the specific one, not one more alternative
    heads = [c for i, c in enumerate(classes) if
             c.id == "chemotherapy" and i > 0 and classes[i - 1].id != "chemotherapy"
             and re.fullmatch(r"[\s-]{0,2}", text[classes[i - 1].end:c.start])]
    classes = [c for c in classes if c not in heads]
    low = text.lower()
    kinds = [(m, kind) for pattern, kind in _KINDS if _KIND_NEEDS[kind] in low
             for m in pattern.finditer(text)]
    if _THRESHOLD_CUE.search(text):
        # "hemoglobin >= 100 g/L without transfusion or colony-stimulating factor
        # support": a qualifier of a lab value; the lab recognizer owns the clause.
        drugs, classes = _unless_after(_SUPPORT, 40, text, drugs, classes)
    if (drugs or classes or kinds) and _REQUIRING_CUE.search(text):
        drugs, classes, kinds = _not_treating_a_condition(text, drugs, classes, kinds)
    drugs, classes, kinds = _unless_after(_TOPIC, 40, text, drugs, classes, kinds)
    # "neuropathy attributed to prior chemotherapy": the cause of a condition, which a
    # person weighs with it (read as a requirement of its own, an inclusion "No
    # neuropathy ... attributed to prior chemotherapy" failed everyone given it)
    drugs, classes, kinds = _unless_after(_CAUSE, 40, text, drugs, classes, kinds)
    # "Non-antiretroviral agents", "non-platinum chemotherapy": other than the class
    drugs, classes, kinds = _unless_after(_NON_PREFIX, 5, text, drugs, classes, kinds)
    if "arm" in text.lower() or "cohort" in text.lower():
        # "for the abemaciclib arm", "Cohort B (pembrolizumab)": the study's arms
        drugs, classes = ([m for m in group if not _ARM.match(text, m.end)]
                          for group in (drugs, classes))
    if (drugs or classes or kinds) and _PROSPECT_CUE.search(text):
        # "Ineligible for surgery", "candidate for radiotherapy", "planned surgery":
        # a judgement or a plan, never a treatment the patient has had.
        kept = tuple([m for m in group if not prospective(text, _start(m))
                      and not _JUDGED_AFTER.match(text, _end(m))]
                     for group in (drugs, classes, kinds))
        # "A planned breast surgery (breast conserving surgery or mastectomy)": the
        # plan covers every mention of what it plans.
        planned = {_what(m) for group, left in zip((drugs, classes, kinds), kept, strict=True)
                   for m in group if m not in left}
        # ... and what its parenthesis names: "candidate for a first line chemotherapy
        # in metastatic setting (either capecitabine or paclitaxel)"
        asides = [(opened.end(), close) for group, left in zip((drugs, classes, kinds), kept,
                                                                strict=True)
                  for m in group if m not in left
                  if (opened := _ASIDE_AFTER.match(text, _end(m))) is not None
                  and (close := text.find(")", opened.end())) > 0]
        drugs, classes, kinds = ([m for m in left if _what(m) not in planned
                                  and not any(a <= _start(m) < b for a, b in asides)]
                                 for left in kept)
    (kinds,) = _unless_after(_NEEDS, 30, text, kinds)
    if "insulin" in low:
        # "insulin-dependent diabetes" is a kind of diabetes, read with it
        drugs = [m for m in drugs if not _DEPENDENT_ON.match(text, m.end)]
    if "see" in low:
        # "Biologic therapy: See Chemotherapy": a pointer to another section
        refs = [m.span() for m in CROSS_REFERENCE.finditer(text)]
        drugs, classes, kinds = ([m for m in group if not any(s <= _start(m) < e for s, e in refs)]
                                 for group in (drugs, classes, kinds))
    specific: list[tuple[list, list, int, tuple[int, int]]] = []
    if (drugs or classes) and "(" in text:
        specific, main_drugs, main_classes = _specific_times(text, drugs, classes)
        if specific and (main_drugs or main_classes or kinds):
            drugs, classes = main_drugs, main_classes
        else:
            specific = []
    if not drugs and not classes and not kinds:
        return []
    after_label = label_end(text)
    listed = _LISTED_WASHOUT.fullmatch(text) or _TIMED_ITEM.fullmatch(text)
    if not listed and after_label:
        # the item under the list's own label ("... washout as follows: Prior anticancer
        # therapy: Immunotherapy >= 4 weeks")
        listed = _LISTED_WASHOUT.fullmatch(text, after_label) or _TIMED_ITEM.fullmatch(
            text, after_label)
    if not listed and (stop := _SENTENCE_END.search(text)) is not None:
        # the item's first sentence ("Prior chemotherapy, radiation therapy: > 3 weeks.
        # Prior chest radiotherapy is an exclusion."): the rest is read on its own
        listed = _LISTED_WASHOUT.fullmatch(text, 0, stop.end()) or _LISTED_WASHOUT.fullmatch(
            text, after_label, stop.end())
    if listed and not _NEEDS_PERSON_IN_LIST.search(listed.group("what")):
        days = duration_days(listed.group("n"), listed.group("u"))
        # the item's own treatment, not its list's label ("Prior anticancer therapy:")
        inside = ([m for m in group if listed.start("what") <= _start(m) < listed.end("what")]
                  for group in (drugs, classes, kinds))
        drugs, classes, kinds = inside
        if not drugs and not classes and not kinds:
            return []  # "Chloroquine: > 14 days": a treatment the vocabulary lacks
        base_ids = dict(drugs=tuple(sorted({d.id for d in drugs})),
                        classes=tuple(dict.fromkeys(c.id for c in classes)),
                        kinds=tuple(sorted({k for _, k in kinds})))
        # (under an inclusion it is a washout of at least that long; under an
        # exclusion, therapy within that time)
        inclusion = clause.kind == "inclusion"
        # (">= 3 weeks" is a washout under either heading, the 21st day already
        # enough; "> 3 weeks" is strictly more, the 21st day still too soon)
        op = (listed.groupdict().get("op") or "").strip()
        at_least = op in (">=", "=>", "≥", "at least") or (inclusion and not op)
        node = ir.TreatmentAtom(**base_ids, within_days=days - 1 if at_least else days)
        return [Found(ir.Not(item=node) if inclusion else node,
                      min(listed.start("what"), listed.start("n")), listed.end(), "washout")]
    heading = _COHORT_HEADING.match(text)
    if heading and sum(c.isupper() for c in heading.group(1)) > 0.6 * sum(
            c.isalpha() for c in heading.group(1)) and not any(
            m.start >= heading.end() for m in drugs + classes) and not any(
            m.start() >= heading.end() for m, _ in kinds):
        # "PATIENTS WITH RESIDUAL DISEASE POST NEOADJUVANT CHEMOTHERAPY (PHASE II):
        # Hemoglobin >= 9.0 g/dL": a cohort's heading names the therapy; the rule
        # after it is about something else.
        return []
    if after_label and (any(m.start >= after_label for m in drugs + classes)
                        or any(m.start() >= after_label for m, _ in kinds)):
        # "Endocrine therapy: No concurrent immunosuppressive drugs": the text after
        # the label names the treatment; the label only files it.
        drugs = [m for m in drugs if m.start >= after_label]
        classes = [m for m in classes if m.start >= after_label]
        kinds = [(m, k) for m, k in kinds if m.start() >= after_label]
    spans: list[tuple[int, int]] = [(m.start, m.end) for m in drugs + classes + heads]
    spans += [(m.start(), m.end()) for m, _ in kinds]
    class_ids = [c.id for c in classes]
    notes = []
    for i, cid in enumerate(class_ids):
        for other in class_ids:
            special = SPECIALIZE.get((cid, other))
            if special:
                notes.append(f'"{classes[i].text}" read as {special} (qualifier "{other}" '
                             f"carried over the coordination)")
                class_ids[i] = special
    negation = False
    first = mentioned = min(s for s, _ in spans)
    if first < after_label:
        # "Endocrine therapy: No prior therapy": the label names the topic; what
        # follows it says whether it is required or excluded.
        later = [s for s, _ in spans if s >= after_label]
        if not later and vocab.find_conditions(text[after_label:]):
            # "Surgery: No prior major organ allografts": the rest names something
            # else, which its own recognizer reads; the label only files it.
            return []
        # Only the label names a treatment ("Chemotherapy: No prior therapy"): the
        # whole rest of the clause is what the negation must cover.
        first = min(later) if later else len(text)
    neg, cue = negated(text, first, scope=max(30, first - after_label))
    if neg and cue and cue[0] < after_label and after_label:
        neg, cue = False, None
    if first == len(text) and not neg and not _TREATMENT_HISTORY.search(text, after_label):
        # "Biologic therapy: Recovered from toxic effects", "Surgery: Medically able to
        # undergo surgery": the rest says nothing of having had the label's treatment
        # (read as a requirement of it, every untreated patient failed).
        return []
    first_end = max((e for s, e in spans if s == first), default=None)
    if not neg and first_end is not None:
        # "Radiation therapy must not be given within 7 days": the negation follows,
        # the first treatment or the list it opens ("Corticosteroid, immunosuppressive
        # drugs, ... and retinoic acid must not be given within 14 days": read after
        # the first only, the list was required)
        last_end = max(e for _, e in spans)
        after = _NOT_GIVEN.match(text, first_end)
        if after is None and _LIST_BETWEEN.fullmatch(text, first_end, last_end):
            after = _NOT_GIVEN.search(text, last_end, last_end + 60)
            if after is not None and not _LIST_BETWEEN.fullmatch(text, last_end, after.start()):
                after = None
        if after:
            neg, cue = True, (after.start(), after.end())
    if not neg and (untreated := _UNTREATED_WITH.search(text, max(0, first - 40), first)):
        # "previously untreated with chemotherapy for metastatic disease": never had it
        # (read as a requirement, the chemotherapy it rules out passed the patient)
        neg, cue = True, untreated.span()
    if not neg and first_end is not None and (naive := _NAIVE.match(text, first_end)):
        # "chemotherapy-naive", "treatment-naïve", "endocrine therapy-free": never had it
        neg, cue = True, naive.span()
    if neg and cue:
        negation = True
        spans.append(cue)
    facets: dict[str, object] = {}
    if (m := _CYCLES.search(text)):
        facets["min_cycles"] = _count(m.group(1))
        spans.append((m.start(), m.end()))
    min_lines = None
    if (m := _LINES.search(text)):
        min_lines = _count(m.group(1))
        spans.append((m.start(), m.end()))
    progression_alt = None
    if (m := _PROGRESSION.search(text)):
        facets["progression"] = True
        spans.append((m.start(), m.end()))
        alt = _PROGRESSION_ALT.match(text, m.end()) or _PROGRESSION_ALT.match(
            text, text.find(" ", m.end()) if " " in text[m.end():] else m.end())
        conf = re.match(r"[^;.]{0,40}?(?=\s+or\s)", text[m.end():])
        if not alt and conf:
            alt = _PROGRESSION_ALT.match(text, m.end() + conf.end())
        if alt:
            progression_alt = alt.group("alt").strip()
            spans.append((m.end(), alt.end()))
    started = _STARTED.search(text)
    treated_end = max((m.end for group in (drugs, classes) for m in group), default=0)
    windows = find_windows(text)
    lab_starts = [a.start for a in vocab.find_analytes(text)] if windows else []
    for w in windows:
        if any(treated_end <= start < w.start for start in lab_starts):
            # "For patients receiving anthracyclines, EF >= 55% within 14 days": the
            # window dates the lab named between, not the treatment
            continue
        if w.kind == "since" and _STABLE_DOSE.search(text, max(0, w.start - 80), w.start) \
                and not re.search(r"[.;]", text[max(0, w.start - 80):w.start]):
            # "on a stable dose of corticosteroids for at least 7 days": how long the
            # ongoing treatment has been steady, which records do not hold (read as
            # ended 7 days ago, a patient on steroids failed)
            continue
        if started and w.kind == "since":
            # "commenced an LHRH agonist at least 4 weeks prior": the window dates the
            # start, which records do not hold as a facet; a person reads it
            continue
        w = _as_kind(w, clause.kind)
        if any(s <= w.start < e for _, _, _, (s, e) in specific):
            continue
        if w.kind == "since":
            facets["ended_days_before"] = w.days
        else:
            facets["within_days"] = w.days
        spans.append((w.start, w.end))
    if (m := _CURRENT.search(text)):
        facets["ongoing"] = True
        spans.append((m.start(), m.end()))
    settings, setting_spans = _settings(text)
    if settings:
        facets["settings"] = settings
        spans.extend(setting_spans)
    kind_ids = sorted({k for _, k in kinds})
    systemic = any(c.id == "antineoplastic" and _SYSTEMIC.search(text, max(0, c.start - 12), c.end)
                   for c in classes)
    if "antineoplastic" in class_ids and "radiotherapy" not in kind_ids and not systemic:
        # "antineoplastic / anticancer therapy" includes radiotherapy; "systemic
        # therapy" does not (read so, a palliative radiotherapy broke "no prior
        # systemic therapy for metastatic disease")
        kind_ids.append("radiotherapy")
    drug_ids = sorted({d.id for d in drugs})
    if "transplant" in kind_ids and not drug_ids and not class_ids:
        node: ir.Node = _transplant(text)
        since = facets.get("ended_days_before")
        if since and not facets.get("within_days") and _SINCE_ONLY.search(text):
            # "Greater than 9 months since prior bone marrow transplantation": fails
            # on a transplant within the window, never demands one
            node = ir.Not(item=_transplant(text, within_days=int(since) - 1))
    else:
        facets = {k: v for k, v in facets.items() if v is not None}
        base = dict(drugs=tuple(drug_ids), classes=tuple(dict.fromkeys(class_ids)),
                    kinds=tuple(kind_ids))
        if progression_alt:
            # "with progression or clinician determination of no continued benefit":
            # the treatment's other facets are rules; the alternative goes to a person.
            plain = {k: v for k, v in facets.items() if k != "progression"}
            node = ir.And(items=(
                ir.TreatmentAtom(**base, **plain),
                ir.Or(items=(ir.TreatmentAtom(**base, progression=True),
                             ir.Review(text=progression_alt))),
            ))
        else:
            node = ir.TreatmentAtom(**base, **facets)
        if min_lines is not None:
            node = ir.And(items=(node, ir.TreatmentAtom(**base, min_lines=min_lines)))
        washout = facets.get("ended_days_before")
        # "If patient is receiving tamoxifen, a washout period of 28 days prior to
        # registration is required": whoever receives it stops it in time (as one
        # atom, "ongoing and ended 28 days ago" failed everyone).
        stop_in_time = bool(washout and facets.get("ongoing"))
        stopped = _STOPPED.search(text)
        if washout and (stop_in_time or stopped or _SINCE_ONLY.search(text)
                        and not _RECEIVED.search(text) or _FREE_INTERVAL.search(text)) \
                and not progression_alt and min_lines is None and not negation:
            # "At least 4 weeks since prior chemotherapy": a washout, not a demand
            # to have had chemotherapy; it fails only if the therapy was given
            # within the window (or still is).
            rest = {k: v for k, v in facets.items()
                    if k not in ("ended_days_before", "ongoing", "progression", "within_days")}
            node = ir.Not(item=ir.TreatmentAtom(**base, **rest, within_days=int(washout) - 1))
            after = _RECOVERED_AFTER.match(text, max(e for _, e in spans))
            if after is not None:
                # "At least 3 weeks since surgery and recovered": within the time it
                # fails; given earlier, a person confirms the recovery; never, it passes.
                node = ir.And(items=(node, ir.Or(items=(
                    ir.Not(item=ir.TreatmentAtom(**base, **rest)),
                    ir.Review(text=after.group("what").strip())))))
                spans.append((after.start(), after.end()))
            for own_drugs, own_classes, days, span in specific:
                if days < int(washout):
                    # A shorter time for some ("2 weeks for vincristine") is an
                    # exception to the rule, which only a person can apply.
                    node = ir.Or(items=(node, ir.Review(text=text[span[0]:span[1]].strip())))
                else:
                    node = ir.And(items=(node, ir.Not(item=ir.TreatmentAtom(
                        drugs=tuple(sorted({d.id for d in own_drugs})),
                        classes=tuple(dict.fromkeys(c.id for c in own_classes)),
                        within_days=days - 1))))
                spans.extend([span, *((d.start, d.end) for d in own_drugs + own_classes)])
        elif washout and negation and not progression_alt and min_lines is None \
                and not facets.get("within_days") and not stopped \
                and not _AT_MOST.search(text) and not _MAX_LINES.search(text):
            # "No chemotherapy for at least 4 weeks prior to enrollment": none within
            # them (read as "none that ended 4 weeks ago", recent chemotherapy passed
            # and old chemotherapy failed)
            rest = {k: v for k, v in facets.items()
                    if k not in ("ended_days_before", "ongoing", "progression", "within_days")}
            node = ir.TreatmentAtom(**base, **rest, within_days=int(washout) - 1)
        elif specific and facets.get("within_days") and not facets.get("ended_days_before") \
                and not progression_alt and min_lines is None:
            # "Anticancer therapy within the past 3 weeks (6 weeks for mitomycin C)"
            for own_drugs, own_classes, days, span in specific:
                if days < int(facets["within_days"]):
                    node = ir.And(items=(node, ir.Review(text=text[span[0]:span[1]].strip())))
                    spans.extend([span, *((d.start, d.end) for d in own_drugs + own_classes)])
                    continue
                node = ir.Or(items=(node, ir.TreatmentAtom(
                    drugs=tuple(sorted({d.id for d in own_drugs})),
                    classes=tuple(dict.fromkeys(c.id for c in own_classes)),
                    within_days=days)))
                spans.extend([span, *((d.start, d.end) for d in own_drugs + own_classes)])
    most = _MAX_LINES.search(text)
    if most and not facets.get("ongoing") and min_lines is None:
        end_of_count = re.search(r"\b(?:lines?|regimens?|courses?|(?:chemo)?therap(?:y|ies)|"
                                 r"treatments?)\b",
                                 text[most.end():])
        shown = text[most.start():most.end() + (end_of_count.end() if end_of_count else 0)]
        node = ir.Or(items=(ir.Not(item=node), ir.Review(text=shown.strip())))
        spans.append((most.start(), most.end() + (end_of_count.end() if end_of_count else 0)))
        negation = False  # the "no" of "no more than" counts; it does not negate
    recovered = recovering(text, mentioned)
    if recovered and not negation:
        # "Recovered from prior chemotherapy": whoever had it must have recovered, which
        # a person judges; whoever did not meets it.
        shown = text[recovered.start():max(e for _, e in spans)].strip()
        node = ir.Or(items=(ir.Not(item=node), ir.Review(text=shown)))
        spans.append((recovered.start(), recovered.end()))
    if negation:
        node = ir.Not(item=node)
    family = "current_therapy" if facets.get("ongoing") else (
        "washout" if "within_days" in facets or "ended_days_before" in facets else "prior_therapy")
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    return [Found(node, start, end, family, spans=spans, notes=notes)]


def _transplant(text: str, within_days: int | None = None) -> ir.Node:
    """A transplant may be recorded as a treatment or as a condition (history)."""
    concepts = [m.id for m in vocab.find_conditions(text)
                if "transplant" in m.id]
    items: list[ir.Node] = [ir.TreatmentAtom(kinds=("transplant",), within_days=within_days)]
    if concepts:
        items.append(ir.ConditionAtom(concepts=tuple(dict.fromkeys(concepts)),
                                      within_days=within_days))
    return items[0] if len(items) == 1 else ir.Or(items=tuple(items))
