"""Comorbidities and history: concept lists with negation, activity,
control, NYHA class, CTCAE grade, severity and time windows."""

from __future__ import annotations

import re

from criteria import ir, vocab
from criteria.grammar import find_thresholds, find_windows
from criteria.recognize.base import (
    ANTI_BEFORE,
    CONTRACEPTION,
    IF_BEFORE,
    Clause,
    Found,
    label_end,
    negated,
    not_the_subject,
)
from criteria.recognize.therapy import prospective, recovering

_ACTIVE = re.compile(r"\b(?:active|current(?:ly)?|"
                     r"ongoing|persistent|acute|uncontrolled|"
                     r"unstable|poorly\s+controlled|uncontrollable|untreated)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r";(?!\s*(?:i\.e\.|e\.g\.))|\.\s+(?=[A-Z])")
_UNTREATED = re.compile(r"\buntreated\b", re.IGNORECASE)
# "chronic hepatitis B", "concurrent infection": one that goes on, said right
# before the name (a concept's own name, "chronic kidney disease", says nothing of
# its status; a heading's "PRIOR CONCURRENT THERAPY" is not the condition's).
_CHRONIC = re.compile(r"\b(?:chronic|concurrent|intercurrent)\b", re.IGNORECASE)
_UNCONTROLLED = re.compile(r"\b(?:uncontrolled|poorly\s+controlled|not\s+(?:well\s+)?controlled|"
                           r"unstable|uncontrollable|inadequately\s+controlled)\b", re.IGNORECASE)
_CONTROLLED = re.compile(r"\b(?:well[\s-]controlled|(?:under|with)\s+(?:stable\s+|good\s+|"
                         r"adequate\s+)?(?:\w+\s+)?control|controlled|stable)\b", re.IGNORECASE)
# Severity words a record's grade or class shows, on the scale the concept is
# graded by (knowledge: conditions.yaml graded_by).  CTCAE v5: grade 3 "severe or
# medically significant", grade 4 "life-threatening"; NYHA class II and worse:
# heart failure with symptoms.
_GRADED_SEVERITY = {("ctcae", "severe"): {"min_grade": 3},
                    ("ctcae", "life-threatening"): {"min_grade": 4},
                    ("ctcae", "life threatening"): {"min_grade": 4},
                    ("nyha", "symptomatic"): {"min_class": 2}}
# "moderate to severe", "mildly to moderately severe": a range a person reads
_MILDER_BEFORE = re.compile(r"\b(?:mild\w*|moderate\w*)\s+(?:to|or|and)?\s*$", re.IGNORECASE)


def _graded(word: str, concept: vocab.ConditionConcept, facets: dict[str, object],
            before: str) -> dict[str, object] | None:
    """The facet a severity word stands for, when a record's grade or class can
    show it; None for judgements ("clinically significant", "serious")."""
    scale = next((c.graded_by for k in (concept.id, *vocab.condition_ancestors(concept.id))
                  if (c := vocab.condition(k)) is not None and c.graded_by), "")
    graded = _GRADED_SEVERITY.get((scale, word.lower()))
    if graded is None or _MILDER_BEFORE.search(before):
        return None
    if any(k in facets for k in graded):
        return {}  # "symptomatic CHF (NYHA III-IV)": the class written says it
    return graded


# Severity words a record cannot show: the atom is decided together with a person.
_SEVERITY = re.compile(r"\b(?:severe|significant|clinically\s+significant|serious|massive|"
                       r"symptomatic|major|life[\s-]threatening)\b", re.IGNORECASE)
_HISTORY = re.compile(r"\b(?:history\s+of|previous|prior|past)\b", re.IGNORECASE)
_NYHA = re.compile(r"\b(?:(?:New\s+York\s+Heart\s+Association|NYHA)\s*(?:\(NYHA\)\s*)?"
                   r"(?:functional\s+)?"
                   r"(?:class(?:ification)?|grade)?\s*(?:≥|>=|>|of)?\s*(?:class|grade)?\s*|class\s+)"
                   r"(?P<c>III|II|IV|I|[1-4])(?:\s*(?:/|or|-|–)\s*"
                   r"(?:IV|III|[1-4]))?\b", re.IGNORECASE)
_NYHA_NAME = re.compile(r"New\s+York\s+Heart\s+Association(?:\s*\(NYHA\))?\s*$", re.IGNORECASE)
_GRADE = re.compile(r"(?:\b(?:NCI[\s-]*)?CTC(?:AE)?\s+(?:v(?:ersion)?\s*[\d.]+\s+)?)?"
                    r"\bgrade\s*(?P<op>≥|>=|>)?\s*(?P<g>[1-5])"
                    r"(?:\s*(?:or\s+(?:higher|greater|above)|"
                    r"\+))?", re.IGNORECASE)
_GRADE_CEILING = re.compile(
    r"(?:must|should|may|does|do|can)\s*not\s+(?:exceed|be\s+(?:greater|higher|worse|more)\s+than)\s+"
    r"(?:CTC(?:AE)?\s+)?grade\s*(?P<g>[0-4])|(?:≤|<=|=<)\s*(?:CTC(?:AE)?\s+)?grade\s*(?P<g2>[0-4])|"
    r"grade\s*(?P<g3>[0-4])\s+or\s+(?:less|lower|below|better)", re.IGNORECASE)
_STRICTLY_ABOVE = re.compile(r"(?:>(?!=)|greater\s+than|more\s+than|above|worse\s+than|"
                             r"exceeding)\s*$", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
# "HIV negative", "HIV-1 negative", "human immunodeficiency virus (HIV) negative",
# "HIV-1 negativity"
_TRAILING_NEG = re.compile(r"\s*+\)?(?:-\s*[12](?![\d.])|\s*\([A-Za-z-]{2,8}\))?\s*[-(]?\s*"
                           r"(?:negative|negativity|seronegative|seronegativity|neg\.?)(?![A-Za-z])",
                           re.IGNORECASE)
# "negative HIV serology", "Negative serologic testing for hepatitis B"
_LEADING_NEG = re.compile(r"\b(?:negative|seronegative)\s+(?:(?:serolog\w*|tests?|testing|"
                          r"screening|results?)\s+){0,2}(?:for\s+)?$", re.IGNORECASE)
_LEADING_NEG_REACH = 40  # "Negative serologic testing for " reaches back this far
_NON = re.compile(r"\bnon\s?-?\s?$", re.IGNORECASE)
_JOIN_ONLY = re.compile(r"[\s,/]*(?:or|and|and/or|nor)?[\s,/]*", re.IGNORECASE)
_TRAIL = re.compile(r"\s+(?:and|but|with)\s+(?P<q>(?:unable|not\s+able|inability|refus\w+|"
                    r"requiring|who|that)\b[^,;.]*?)(?=\s+or\s+|[,;.]|$)", re.IGNORECASE)
# "Massive pleural or ascites fluid": the head noun ends an elliptical coordination.
_HEPATITIS_ELLIPSIS = re.compile(r"\bhepatitis\s+B\s*(?:,|and/or|and|or|/)\s*(?P<w>C)\b",
                                 re.IGNORECASE)
_ELLIPSIS = re.compile(r"\b(?P<w>pleural|pericardial|peritoneal)\s+(?:or|and|/)\s+"
                       r"(?:\w+\s+){0,2}?(?:fluid|effusions?)\b", re.IGNORECASE)
_HEAD_ELLIPSIS = re.compile(r"\b(?!(?:metastatic|advanced|recurrent|unresectable|locally|residual|"
                            r"measurable|evaluable|progressive|stable|active|primary)\b)"
                            r"(?P<w>[A-Za-z]{4,})\s+(?:or|and|and/or|/)\s+(?:[\w-]+\s+){1,3}?"
                            r"(?P<head>disorders?|illness(?:es)?|conditions?|infections?)\b",
                            re.IGNORECASE)
# The patient's other cancers are recorded as conditions (the index cancer is a
# diagnosis), so "other malignancy" means any malignancy among the conditions.
CONCEPT_REWRITE = {"other-malignancy": "malignant-neoplasm"}


# "any non-SCCHN malignancy": a cancer other than the trial's.
_NON_INDEX = re.compile(r"\bnon-?\s?(?:[A-Z]{2,}\b|head\s+and\s+neck\b)")
_SINCE_GAP = re.compile(r"\s*(?:(?:the|any|a|an|prior|previous|last|most\s+recent|recent|"
                        r"episode\s+of|history\s+of|resolution\s+of|recovery\s+from|"
                        r"diagnosis\s+of|onset\s+of)\s+)*", re.IGNORECASE)


def _is_index_cancer(concept: vocab.ConditionConcept, text: str, m: vocab.Mention) -> bool:
    if concept.id in CONCEPT_REWRITE:
        return False
    ancestors = vocab.condition_ancestors(concept.id)
    if concept.kind in ("histology", "site") or "malignant-neoplasm" in ancestors \
            or "metastatic-disease" in ancestors:  # (the index cancer's metastases)
        before = re.split(r"[;.]", text[max(0, m.start - 45):m.start].lower())[-1]
        # "other ..., active, invasive malignancies" is another cancer; "one prior line
        # of therapy for metastatic disease" is the index cancer's.
        other = re.search(r"\b(?:other|second|prior|previous|history|additional|another)\b"
                          r"(?P<rest>.*)$", before)
        if other and re.search(r"\b(?:for|line|lines|therapy|treatment|regimens?|with)\b",
                               other.group("rest")):
            other = None
        return other is None and not _NON_INDEX.search(before)
    return False


def _umbrellas(text: str, mentions: list[vocab.Mention]) -> set[int]:
    """Mentions defined by a parenthesis of other mentions: "Active lung disease
    (interstitial pneumonia, asthma)" means the listed ones."""
    out = set()
    for i, m in enumerate(mentions):
        close = text.find(")", m.end)
        if re.match(r"\s*\(", text[m.end:]) and close > 0 and any(
                m.end < o.start < close for o in mentions[i + 1:]):
            out.add(i)
    return out


def _facets(text: str, m: vocab.Mention, concept: vocab.ConditionConcept, lead: str,
            inherited: dict[str, object], context_active: bool,
            windows: list, spans: list[tuple[int, int]]) -> dict[str, object]:
    facets: dict[str, object] = dict(inherited)
    history = _HISTORY.search(lead)
    if (_ACTIVE.search(lead) or _ACTIVE.search(m.text) or context_active) and not history:
        facets["active_only"] = True
    chronic = _CHRONIC.search(text, max(0, m.start - 25), m.start)
    if chronic and not _CHRONIC.search(concept.label) and \
            re.fullmatch(r"[\s\w-]*", text[chronic.end():m.start]):
        if not history:
            facets["active_only"] = True
        spans.append(chronic.span())
    # A qualifier inside the mention counts unless the concept's own name has it
    # ("poorly controlled diabetes" is diabetes, uncontrolled; "unstable angina" is a concept).
    own = m.text if not _UNCONTROLLED.search(concept.label) else ""
    if _UNCONTROLLED.search(lead + " " + own):
        facets["uncontrolled"] = True
        facets["active_only"] = True
    elif _CONTROLLED.search(text[m.end:m.end + 60]) and not _UNCONTROLLED.search(
            text[m.end:m.end + 60]):
        hit = _CONTROLLED.search(text, m.end, m.end + 60)
        facets["uncontrolled"] = False
        if hit:
            spans.append((hit.start(), hit.end()))
    near = text[max(0, m.start - 30):m.end + 60]
    nyha = _NYHA.search(near)
    if nyha and ("heart" in concept.id or "cardiac" in concept.id):
        c = nyha.group("c").upper()
        facets["min_class"] = _ROMAN.get(c) or int(c)
        base = max(0, m.start - 30)
        spans.append((base + nyha.start(), base + nyha.end()))
        if (named := _NYHA_NAME.search(text, max(0, base + nyha.start() - 45),
                                       base + nyha.start())):
            spans.append((named.start(), named.end()))  # "New York Heart Association class"
        if (ny := re.search(r"(?:as\s+)?defined\s+by\s+the\s+New\s+York\s+Heart\s+Association"
                            r"(?:\s*\(NYHA\))?", text, re.IGNORECASE)):
            spans.append((ny.start(), ny.end()))
    grade = _GRADE.search(text[m.end:m.end + 30])
    if grade:
        facets["min_grade"] = int(grade.group("g"))
        before = text[max(m.end, m.end + grade.start() - 16):m.end + grade.start()]
        if grade.group("op") == ">" or _STRICTLY_ABOVE.search(before):
            facets["min_grade"] += 1  # "> grade 1", "greater than grade 1": grade 2 and up
        spans.append((m.end + grade.start(), m.end + grade.end()))
    for w in windows:
        if w.start >= m.end and ";" not in text[m.end:w.start]:
            facets["within_days"] = w.days
            facets.pop("active_only", None)  # the window says how recent
            spans.append((w.start, w.end))
            tail = re.match(r"\s*(?:prior\s+to|before)\s+(?:the\s+)?(?:first\s+dose|enrol\w*|"
                            r"randomi\w+|registration|study\s+(?:entry|treatment))"
                            r"(?:\s+of\s+(?:the\s+)?study\s+drug)?", text[w.end:], re.IGNORECASE)
            if tail:
                spans.append((w.end, w.end + tail.end()))
            break
    return facets


_TREATMENT_OF = re.compile(r"[\s-]*(?:therap(?:y|ies)|treatments?|drugs?|agents?|medications?|"
                           r"regimens?)\b", re.IGNORECASE)
_TRAILING_POSITIVE = re.compile(r"[\s-]*(?:sero)?positive\b|\s*\(\+\)|\+(?!\w)", re.IGNORECASE)
# "testing positive for HIV", "a positive hepatitis B serology": has it
_LEADING_POSITIVE = re.compile(r"\b(?:(?:tests?|testing|tested)\s+)?(?:sero)?positive\s+"
                               r"(?:(?:serolog\w*|tests?|testing|results?)\s+)?(?:for\s+)?$",
                               re.IGNORECASE)
_CANCER_WORD = re.compile(r"(?:cancer|tumou?r|malignan\w*|neoplas\w*|carcinoma)s?$", re.IGNORECASE)


_OR_OTHER = re.compile(r"\bor\s+(?:any\s+)?(?:other|another)\s+(?:advanced\s+|metastatic\s+)?$",
                       re.IGNORECASE)
_FORMULA_AFTER = re.compile(r"\s+(?:Epidemiology|Collaboration|Institute|Society|Foundation|"
                            r"formula|equation)\b")
_TEST_AFTER = re.compile(r"[^.;,()]{0,30}?\b(?:serolog\w*|testing|screening)\s+(?:is|are|must|"
                         r"should|will)\b", re.IGNORECASE)
_PROFESSION_AFTER = re.compile(r"\s*(?:oncologists?|oncology|therapists?|physicians?|surgeons?|"
                               r"departments?|units?|facilit\w+|teams?|safety|exposure)\b",
                               re.IGNORECASE)
# A site naming which metastases ("CNS metastasis", "liver or bone metastases").
_SITE_BEFORE = re.compile(r"\b(?:brain|CNS|central\s+nervous\s+system|cerebral|intracranial|"
                          r"leptomeningeal|spinal|liver|hepatic|bone|osseous|skeletal|lung|"
                          r"pulmonary|nodal|lymph\s+node|skin|cutaneous|peritoneal|visceral|"
                          r"adrenal|pleural)(?:\s*\(\w+\))?\s*(?:(?:or|and|and/or|/|,)\s*\w+\s*)?$",
                          re.IGNORECASE)


# The same thing named again after what it needs: "renal failure requiring
# hemodialysis or peritoneal dialysis" (and the members joined to that restatement)
_RESTATED = re.compile(r"\s*(?:requiring|needing|on)\s+", re.IGNORECASE)
_RESTATED_TOO = re.compile(r"\s*(?:,|or|and/or)\s+", re.IGNORECASE)
_ON_INSULIN = re.compile(r"(?<![Nn]on-)(?<![Nn]on )(?<![Nn]on)\binsulin[\s-]*"
                         r"(?:dependent|requiring|treated)\s+$", re.IGNORECASE)
_TREATS_IT = re.compile(r"[\s-]+(?:chemo\w*|therap\w*|treatments?|drugs?|agents?|medications?|"
                        r"regimens?|immunotherap\w*|radiotherap\w*)\b", re.IGNORECASE)
_ASIDE = re.compile(r"\s*\(([^()]{3,80})\)")
# ... unless the parentheses name other evidence beside the lab ("documented diagnosis
# or HbA1c >= 7%, or receiving treatment")
_OTHER_EVIDENCE = re.compile(r"\b(?:diagnos\w*|documented|history|receiving|treat\w*|requiring)\b",
                             re.IGNORECASE)
_QUALIFIED = {"uncontrolled", "active_only", "min_grade", "min_class", "within_days"}
# A condition named as the adjective of another: "diabetic neuropathy".
_ADJECTIVE = re.compile(r"diabetic|hypertensive|alcoholic", re.IGNORECASE)


def recognize(clause: Clause) -> list[Found]:  # noqa: C901 - one grammar
    text = clause.text
    raw = []
    abbreviations: list[tuple[int, int]] = []
    lab_names = [(a.start, a.end) for a in vocab.find_analytes(text)]
    for m in vocab.find_conditions(text):
        if any(s < m.end and m.start < e for s, e in lab_names):
            continue  # "HBV DNA", "HIV antibody": a lab test, read by the lab recognizer
        if _CANCER_WORD.search(m.text) and (
                _TREATMENT_OF.match(text, m.end)
                or ANTI_BEFORE.search(text, max(0, m.start - 6), m.start)):
            continue  # "anti-cancer therapy", "cancer treatment": a therapy, not the disease
        concept = vocab.condition(m.id)
        if concept is None or _is_index_cancer(concept, text, m) or not_the_subject(text, m.start):
            continue
        if concept.id == "radiotherapy":
            continue  # a treatment: the treatment recognizer reads it (records hold it as one)
        if IF_BEFORE.search(text, max(0, m.start - 60), m.start):
            continue  # "If patients have a history of brain metastases, an MRI is required"
        if _FORMULA_AFTER.match(text, m.end):
            continue  # "Chronic Kidney Disease Epidemiology Collaboration": a formula's name
        if clause.kind == "inclusion" and concept.id in ("malignant-neoplasm", "solid-tumor",
                                                          "other-malignancy") \
                and _OR_OTHER.search(text, max(0, m.start - 25), m.start):
            continue  # "advanced NSCLC or other solid tumor": another diagnosis to choose
        if _TEST_AFTER.match(text, m.end):
            continue  # "hepatitis B virus serology is required": a test, read by a person
        if concept.id == "metastatic-disease" and _SITE_BEFORE.search(text, max(0, m.start - 40),
                                                                       m.start):
            continue  # "central nervous system metastasis": that site's, read elsewhere
        if concept.id in ("pregnancy", "breastfeeding") and CONTRACEPTION.search(text):
            continue  # "... should a woman become pregnant": contraception, read by a person
        if concept.qualifies_labs and find_thresholds(text):
            continue  # "bilirubin <= 1.5 x ULN, Gilbert's syndrome": left to a person
        if recovering(text, m.start):
            continue  # "recovered from major infections": a person judges the recovery
        if concept.kind == "procedure" and _PROFESSION_AFTER.match(text, m.end):
            continue  # "the radiation oncologist", "surgical department": who, not what
        if concept.kind == "procedure" and prospective(text, m.start, procedure=True):
            # "scheduled to receive radiotherapy": a plan, not a history; "recovered
            # from prior radiotherapy": the treatment recognizer reads it
            continue
        restated_end = max([e for _, e in abbreviations if e <= m.start], default=-1)
        if raw and raw[-1][1].id == concept.id and (re.fullmatch(
                r"(?:\s+(?:virus|infection|disease))?\s*\(\s*", text[raw[-1][0].end:m.start],
                re.IGNORECASE) or _RESTATED.fullmatch(text, raw[-1][0].end, m.start) or (
                restated_end > raw[-1][0].end
                and _RESTATED_TOO.fullmatch(text, restated_end, m.start))):
            # "diabetes mellitus (DM)", "renal failure requiring hemodialysis or
            # peritoneal dialysis": the same thing named again
            abbreviations.append((m.start, m.end))
            continue
        raw.append((m, concept))
    for e in _HEPATITIS_ELLIPSIS.finditer(text):  # "hepatitis B and C"
        concept = vocab.condition("hepatitis C")
        if concept is not None and not any(c.id == concept.id for _, c in raw):
            raw.append((vocab.Mention(concept.id, e.start("w"), e.end("w"), e.group("w")),
                        concept))
    heads = _HEAD_ELLIPSIS.finditer(text) if any(
        w in text for w in ("isorder", "llness", "ondition", "nfection")) else ()
    shared_heads: list[tuple[int, int]] = []
    for e in heads:
        # "psychiatric or substance abuse disorders": the head noun is shared
        concept = vocab.condition(f"{e.group('w')} {e.group('head').rstrip('s')}") or \
            vocab.condition(f"{e.group('w')} {e.group('head')}")
        if concept is not None and not any(c.id == concept.id for _, c in raw) and \
                not any(m.start <= e.start("w") < m.end for m, _ in raw):
            raw.append((vocab.Mention(concept.id, e.start("w"), e.end("w"), e.group("w")),
                        concept))
            shared_heads.append((e.start("head"), e.end("head")))
    for e in _ELLIPSIS.finditer(text):
        concept = vocab.condition(f"{e.group('w')} effusion")
        if concept is not None and not any(c.id == concept.id for _, c in raw):
            raw.append((vocab.Mention(concept.id, e.start("w"), e.end("w"), e.group("w")),
                        concept))
    raw.sort(key=lambda mc: mc[0].start)
    # "Prior cancer chemotherapy", "cancer treatment": the cancer names what the
    # treatment is for (read as a condition, every patient with a history of another
    # cancer was excluded)
    modifiers = [m for m, c in raw
                 if c.id == "malignant-neoplasm" and _TREATS_IT.match(text, m.end)]
    raw = [(m, c) for m, c in raw if m not in modifiers]
    understood = [Found(None, m.start, m.end, "comorbidity") for m in modifiers]
    # "hepatitis B or C infection": the head noun of the list, not one more condition.
    heads = [n for n, (m, _) in enumerate(raw)
             if n and m.text.lower() in ("infection", "infections")
             and 0 <= m.start - raw[n - 1][0].end <= 2]
    head_spans = [(raw[n][0].start, raw[n][0].end) for n in heads]
    raw = [mc for n, mc in enumerate(raw) if n not in heads]
    after_label = label_end(text)
    if any(m.start >= after_label for m, _ in raw):
        raw = [(m, c) for m, c in raw if m.start >= after_label]
    if not raw:
        return understood
    umbrellas = _umbrellas(text, [m for m, _ in raw])
    windows = [w for w in find_windows(text) if w.kind == "within"]
    since = [w for w in find_windows(text) if w.kind == "since"]
    context_active = bool(re.search(r"uncontroll|active", clause.header, re.IGNORECASE))
    atoms: list[ir.Node] = []
    joints: list[str] = []
    spans: list[tuple[int, int]] = list(abbreviations)
    inherited: dict[str, object] = {}
    paren_close = -1
    last_lead = ""
    inner_qualifier = ""
    denied_before: tuple[int, int] | None = None
    washout_before = None
    has_ends = ";" in text or "." in text
    prev_end: int | None = None
    for i, (m, concept) in enumerate(raw):
        lead_start = max(0, m.start - 40, prev_end if prev_end is not None else 0)
        # a qualifier does not reach past a clause's end ("...; untreated fracture;
        # Pregnant or lactating women": the pregnancy is not untreated)
        if has_ends and (";" in text[lead_start:m.start] or "." in text[lead_start:m.start]):
            lead_start = max([lead_start] + [b.end() for b in _CLAUSE_END.finditer(
                text, lead_start, m.start)])
        lead = text[lead_start:m.start]
        if i in umbrellas:
            # Its qualifiers pass to the listed members; it adds no atom itself.
            inherited = {}
            paren_close = text.find(")", m.end)
            if _ACTIVE.search(lead + " " + m.text) and not _HISTORY.search(lead):
                inherited["active_only"] = True
            spans.append((m.start, m.end))
            if (q := _ACTIVE.search(lead)):
                spans.append((lead_start + q.start(), lead_start + q.end()))
            prev_end = m.end
            continue
        coordinated = bool(atoms) and _JOIN_ONLY.fullmatch(lead) is not None
        if coordinated:
            # "severe or unstable arrhythmia or angina": the qualifiers before the
            # first member qualify the whole coordination.
            lead = last_lead + " " + lead + (
                inner_qualifier if re.fullmatch(r"\s*(?:or|and/or)\s*", lead) else "")
        concept_before, swapped, orig_lead = concept, False, lead
        for word in _UNCONTROLLED.findall(lead):
            # "unstable" + angina is the concept unstable angina, not a control facet
            specific = vocab.condition(f"{word} {m.text}")
            if specific is not None and specific.id != concept.id:
                concept, swapped = specific, True
                lead = lead.replace(word, " ")
                break
        facets = _facets(text, m, concept, lead, inherited if m.start < paren_close else {},
                         context_active, windows, spans)
        cid = CONCEPT_REWRITE.get(concept.id, concept.id)
        node: ir.Node = ir.ConditionAtom(concepts=(cid,), **facets)
        if (insulin := _ON_INSULIN.search(text, max(0, m.start - 30), m.start)) and \
                concept.id in ("diabetes-mellitus", "type-2-diabetes"):
            # "insulin-dependent diabetes": diabetes treated with insulin (a diabetic on
            # tablets meets "No insulin-dependent diabetes")
            node = ir.And(items=(node, ir.TreatmentAtom(drugs=("insulin",))))
            spans.append(insulin.span())
        ceiling = _GRADE_CEILING.search(text, m.end, min(len(text), m.end + 60))
        if ceiling is not None and ";" not in text[m.end:ceiling.start()]:
            # "Peripheral neuropathy must not exceed grade 2": none above that grade
            worst = int(ceiling.group("g") or ceiling.group("g2") or ceiling.group("g3"))
            plain = {k: v for k, v in facets.items() if k != "min_grade"}
            node = ir.Not(item=ir.ConditionAtom(concepts=(cid,), **plain, min_grade=worst + 1))
            spans.append((ceiling.start(), ceiling.end()))
        if "within_days" not in facets and clause.list_window_days and context_active:
            # A window closing a list ("...; cerebral embolism within 6 months") is
            # read as applying to every member too: active now, or within the window.
            recent = {k: v for k, v in facets.items() if k != "active_only"}
            node = ir.Or(items=(node, ir.ConditionAtom(
                concepts=(cid,), within_days=clause.list_window_days, **recent)))
        severity = _SEVERITY.search(lead)
        graded = _graded(severity.group(0), concept, facets, lead[:severity.start()]) \
            if severity else None
        if severity and graded is not None:
            # "severe hypersensitivity" is CTCAE grade 3 or worse, "symptomatic heart
            # failure" NYHA class II or worse: a record with a grade decides it
            node = ir.ConditionAtom(concepts=(cid,), **{**facets, **graded})
            spans.append((lead_start + severity.start(), lead_start + severity.end()))
            severity = None
        if severity:
            s = lead_start + severity.start()
            review = ir.Review(text=f"{severity.group(0)} {m.text}")
            if re.search(r"\bor\s+(?:unstable|uncontrolled|poorly\s+controlled)", orig_lead,
                         re.IGNORECASE) and ("uncontrolled" in facets or swapped):
                # "severe or unstable angina": severe (a person judges) OR unstable.
                plain = {k: v for k, v in facets.items() if k != "uncontrolled"}
                base = ir.ConditionAtom(concepts=(concept_before.id,), **plain)
                node = ir.Or(items=(ir.And(items=(base, review)), node))
            else:
                node = ir.And(items=(node, review))
            if concept.severe_forms:
                # "severe infection" and a recorded sepsis: severe by nature, no judgement
                severe = {k: v for k, v in facets.items() if k != "uncontrolled"}
                node = ir.Or(items=(node, ir.ConditionAtom(concepts=concept.severe_forms,
                                                           **severe)))
            if s >= 0 and not coordinated:
                spans.append((s, lead_start + severity.end()))
        trail = _TRAIL.match(text, m.end)
        if trail:  # "substance abuse and unable to abstain": a qualifier for a person
            node = ir.And(items=(node, ir.Review(text=trail.group("q").strip())))
            spans.append((trail.start(), trail.end()))
        if _UNTREATED.search(lead):
            # "untreated active hepatitis B": active, and not under treatment, which a
            # record's conditions do not say (read as active alone, a patient on
            # antivirals was excluded)
            node = ir.And(items=(node, ir.Review(text=f"untreated {m.text}")))
        last_lead = lead
        # ("Uncontrolled diabetes or infection": the qualifier inside the first name
        # qualifies the other member of an "or" too; not "unstable" of "unstable angina")
        inner_qualifier = "".join(
            " " + w for w in _UNCONTROLLED.findall(m.text)
            if (plain := vocab.condition(m.text.replace(w, " ").strip())) is not None
            and plain.id == concept.id)
        for pattern in (_ACTIVE, _HISTORY, _UNCONTROLLED):
            for q in pattern.finditer(lead):
                spans.append((lead_start + q.start(), lead_start + q.end()))
        neg, cue = negated(text, m.start)
        if not neg and coordinated and denied_before is not None:
            # "no other neurologic disorder, e.g., stroke, multiple sclerosis": a
            # denial covers its whole list, however far the list runs from the cue
            neg, cue = True, denied_before
        trailing = _TRAILING_NEG.match(text, m.end)
        leading = _LEADING_NEG.search(text, max(0, m.start - _LEADING_NEG_REACH), m.start)
        if _NON.search(text, max(0, m.start - 5), m.start):
            # "non-rheumatoid arthritis", "non-bacterial infection": an arthritis that
            # is not RA, not the absence of RA; a person reads it.
            node, neg, cue, trailing, leading = ir.Review(text=f"non-{m.text}"), False, None, \
                None, None
        washout = next((w for w in since if 0 <= m.start - w.end <= 40
                        and _SINCE_GAP.fullmatch(text, w.end, m.start)), None)
        if washout is None and coordinated:
            # "At least 6 months since prior arrhythmias, myocardial infarction, or
            # heart failure": the window covers the whole list (read for the first
            # only, the others were alternatives, and heart failure passed)
            washout = washout_before
        washout_before = washout
        if washout is not None and not (neg and cue):
            # "At least 6 months since myocardial infarction": none within the
            # window (an older one, or none at all, qualifies).
            plain = {k: v for k, v in facets.items() if k not in ("within_days", "active_only")}
            node = ir.Not(item=ir.ConditionAtom(concepts=(cid,), **plain,
                                                within_days=max(0, washout.days - 1)))
            spans.append((washout.start, washout.end))
        elif neg and cue:
            node = ir.Not(item=node)
            spans.append(cue)
        elif trailing:  # "HIV negative", "hepatitis B seronegative"
            node = ir.Not(item=node)
            spans.append((trailing.start(), trailing.end()))
        elif (positive := _TRAILING_POSITIVE.match(text, m.end)) is not None:
            spans.append((positive.start(), positive.end()))  # "HIV positive": has it
        elif (lead_pos := _LEADING_POSITIVE.search(text, max(0, m.start - 40), m.start)):
            spans.append(lead_pos.span())  # "testing positive for HIV": has it
        elif leading:  # "a documented negative HIV serologic evaluation"
            node = ir.Not(item=node)
            spans.append((leading.start(), leading.end()))
        denied_before = cue if neg and cue and isinstance(node, ir.Not) else None
        if (aside := _ASIDE.match(text, m.end)) is not None and not set(facets) & _QUALIFIED \
                and find_thresholds(aside.group(1)) and vocab.find_analytes(aside.group(1)) \
                and not _OTHER_EVIDENCE.search(aside.group(1)):
            # "diabetes (HbA1c >= 9.0%)": the lab in parentheses says which diabetes
            # (read as diabetes or the lab, every diabetic was excluded); the lab's own
            # recognizer reads it
            understood.append(Found(None, m.start, m.end, "comorbidity"))
            continue
        if atoms and prev_end is not None and i > 0 and _ADJECTIVE.fullmatch(raw[i - 1][0].text) \
                and not text[prev_end:m.start].strip():
            # "diabetic neuropathy": the one with the other (a diabetic without
            # neuropathy meets "No diabetic neuropathy")
            denied = isinstance(node, ir.Not) or isinstance(atoms[-1], ir.Not)
            # ... and that the one comes of the other, which no record says (a
            # diabetic's neuropathy after cisplatin is no diabetic neuropathy)
            pair = ir.And(items=(*(a.item if isinstance(a, ir.Not) else a
                                   for a in (atoms[-1], node)),
                                 ir.Review(text=text[raw[i - 1][0].start:m.end])))
            atoms[-1] = ir.Not(item=pair) if denied else pair
            spans.append((m.start, m.end))
            prev_end = m.end
            continue
        if atoms and prev_end is not None:
            between = text[prev_end:m.start]
            joints.append("and" if clause.kind == "inclusion" and re.search(
                r"\band\b(?!/)", between) and not re.search(r"\bor\b", between) else "or")
        atoms.append(node)
        spans.append((m.start, m.end))
        prev_end = m.end
    if not atoms:
        return understood
    if len(atoms) > 1 and isinstance(atoms[-1], ir.Not) and _TRAILING_NEG.match(
            text, raw[-1][0].end) and not any(isinstance(a, ir.Not) for a in atoms[:-1]) and all(
            _JOIN_ONLY.fullmatch(text[a[0].end:b[0].start]) for a, b in zip(raw, raw[1:],
                                                                              strict=False)):
        # "HIV and hepatitis B negative": the trailing "negative" covers the whole list.
        atoms = [ir.Not(item=a) for a in atoms[:-1]] + [atoms[-1]]
        joints = ["and" if clause.kind == "inclusion" else "or"] * (len(atoms) - 1)
    # Inclusion "no A; no B" are separate requirements (AND); exclusion lists are
    # alternatives (any of them excludes).
    if clause.kind == "inclusion" and all(isinstance(a, ir.Not) for a in atoms):
        node = atoms[0] if len(atoms) == 1 else ir.And(items=tuple(atoms))
    elif all(j == "or" for j in joints):
        node = atoms[0] if len(atoms) == 1 else ir.Or(items=tuple(atoms))
    else:
        node = atoms[0] if len(atoms) == 1 else ir.And(items=tuple(atoms))
    spans.extend(head_spans + shared_heads)
    return [Found(node, min(s for s, _ in spans), max(e for _, e in spans), "comorbidity",
                  spans=sorted(spans)), *understood]
