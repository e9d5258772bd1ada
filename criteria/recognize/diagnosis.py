"""The index cancer: histology, site, disease status (recurrent, metastatic,
locally advanced), how it was confirmed."""

from __future__ import annotations

import re

from criteria import ir, stages, vocab
from criteria.recognize.base import ANTI_BEFORE, LABEL, Clause, Found, negated, not_the_subject

STATUS_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (r"\bR/M\b|recurrent\s*/\s*metastatic|recurrent\s+(?:and/or|or|and)\s+metastatic|"
     r"relapsed\s+or\s+metastatic", ("recurrent", "metastatic")),
    (r"\blocally\s+advanced\b|\blocoregionally\s+advanced\b", ("locally advanced",)),
    # (metastatic disease is unresectable too)
    (r"\bunresectable\b|\binoperable\b|\bnon-?resectable\b", ("locally advanced", "metastatic")),
    (r"\brecurren\w*|\brelapsed\b", ("recurrent",)),
    (r"\bmetasta\w+", ("metastatic",)),
    # "advanced ovarian cancer", "advanced or metastatic": locally advanced or
    # metastatic, whichever
    (r"(?<!locally\s)(?<!loco-regionally\s)(?<!locoregionally\s)\badvanced\b",
     ("locally advanced", "metastatic")),
    # "invasive adenocarcinoma": what every carcinoma in a record is unless in situ
    (r"\binvasive\b(?=\s+(?:\w+\s+){0,2}(?:carcinoma|adenocarcinoma|cancer|disease))", ()),
    (r"\bnewly\s+diagnosed\b", ("newly diagnosed",)),
]
_STATUS_RE = [(re.compile(p, re.IGNORECASE), s) for p, s in STATUS_WORDS]
_CONFIRMED = re.compile(r"\b(?P<h>histolog\w*|patholog\w*)(?:\s*(?:and/or|or|/)\s*"
                        r"(?P<c>cytolog\w*))?\s+(?:confirmed|proven|documented|diagnosed)|"
                        r"\b(?P<c2>cytolog\w*)(?:\s*(?:and/or|or|/)\s*(?P<h2>histolog\w*))?\s+"
                        r"(?:confirmed|proven|documented)", re.IGNORECASE)
_CANCER_WORDS = re.compile(r"carcinom|cancer|tumou?r|malignan|neoplas|sarcom|lymphom|leuk|"
                           r"melanom|myelom|glioma|blastom", re.IGNORECASE)
_CRITERIA_IN = re.compile(r"criteria\s+(?:in|for)\s+$", re.IGNORECASE)
_OF_SITE = re.compile(r"\s+(?:of|in)\s+(?:the\s+)?(?P<site>[A-Za-z]+(?:\s+[A-Za-z]+)?)")
_INCLUDING_ASIDE = re.compile(r"\s*\((?:including|incl\.|e\.g\.,?|i\.e\.,?)\s[^()]*\)",
                              re.IGNORECASE)
_CANCER_OF = re.compile(r"(?i:(?:carcinomas?|cancers?|tumou?rs?|malignanc\w+)\s+(?:of|in)\s)")
_NEXT_SITE = re.compile(r"\s*(?:,\s*(?:(?:or|and|and/or)\s+)?|\s(?:or|and|and/or)\s+|/)\s*"
                        r"(?:the\s+)?"
                        r"(?P<site>[A-Za-z]+(?:\s+[A-Za-z]+)?)")


def _site(words: str) -> tuple[str, int] | None:
    """The site cancer named by ``words`` or by their first word: (id, length used)."""
    for candidate in (words, words.split()[0]):
        for name in (f"{candidate} cancer", f"cancer of the {candidate}"):
            site = vocab.condition(name)
            if site is not None and site.kind == "site":
                return site.id, len(candidate)
    return None


def _sites_listed(text: str, of: re.Match[str], spans: list[tuple[int, int]]) -> list[str]:
    """"carcinoma of the larynx, hypopharynx, oropharynx, or oral cavity": every
    site of the list (the first one must be a site for the list to count)."""
    found: list[str] = []
    m: re.Match[str] | None = of
    start = of.start()
    while m is not None:
        hit = _site(m.group("site"))
        if hit is None:
            break
        found.append(hit[0])
        end = m.start("site") + hit[1]
        if (aside := _INCLUDING_ASIDE.match(text, end)) is not None:
            end = aside.end()  # "pharynx (including nasopharynx, oropharynx)": its parts
        spans.append((start, end))
        start = end
        m = _NEXT_SITE.match(text, end)
    return found
_OTHER = re.compile(r"(?i:\b(?:other|second|another|additional|prior|previous)\b|"
                    r"\bnon-?\s?head\s+and\s+neck\b)[^;.]{0,35}$|\b[Nn]on-?\s?[A-Z]{2,}\b[^;.]{0,35}$")


_THERAPY_AFTER = re.compile(r"(?i:[\s-]+(?:chemotherapy|treatments?|therapy|therapies|drugs?|"
                            r"medications?|radiotherapy|surgery)\b(?![\s-]*(?:na[iï]ve|free)))")
# "National Cancer Institute", "American Joint Committee on Cancer": names.
_A_NAME = re.compile(r"\s+(?:Institutes?|Cent(?:er|re)s?|Research|Society|Network|Group|Committee|"
                     r"Consortium|Foundation|Registry|Program(?:me)?|Hospital|Alliance|Coalition)\b")
_NAMED_BY = re.compile(r"(?:Committee|Union|Society|Institute|Coalition|Alliance)\s+(?:on|for|of)"
                       r"\s+(?:International\s+)?$")
_HISTORY_OF = re.compile(r"(?i:\b(?:history\s+of|concurrent|concomitant|coexisting|"
                         r"synchronous|any)\s+(?:\w+\s+)?)$")
# Words of an exclusion about another cancer than the one under study (a plain
# "Malignancy" among the exclusions of a trial of another disease is any cancer).
_ANOTHER_CANCER = re.compile(r"(?i:\b(?:other\s+than|except|excluding|apart\s+from|second|2nd|"
                             r"additional|concurrent|prior|previous|history|within\s+(?:the\s+)?"
                             r"(?:past|last|previous|prior)?\s*\d+|\d+\s+years?|in\s+other|"
                             r"treat\w*)\b)")
_OTHER_AFTER = re.compile(r"(?i:\s*(?:\([^)]*\)\s*)?,?\s*(?:other\s+than|except|apart\s+from|"
                          r"excluding|besides))")


def _decompose(concept: vocab.ConditionConcept) -> tuple[list[str], list[str]] | None:
    """A disease concept defined as histology x site (HNSCC = squamous cell
    carcinoma of the head and neck) is matched facet by facet, since patient
    records state histology and site separately."""
    if concept.kind != "condition":
        return None
    hist, site = [], []
    for pid in concept.parents:
        parent = vocab.condition(pid)
        if parent is None:
            continue
        if parent.kind == "histology":
            hist.append(pid)
        elif parent.kind == "site":
            site.append(pid)
    if hist and site:
        # "NSCLC": non-small cell carcinoma, which records name by its members
        covered = [m for h in hist if (g := vocab.condition(h)) is not None for m in g.covers]
        return hist + covered, site
    # "HER2-positive breast cancer": the site it belongs to (biomarkers are atoms of their own).
    sites = [a for a in vocab.condition_ancestors(concept.id) if a != concept.id
             and (c := vocab.condition(a)) is not None and c.kind == "site"]
    nearest = [a for a in sites if a in concept.parents] or sites[:1]
    return ([], nearest) if nearest else None


def recognize(clause: Clause) -> list[Found]:
    text = clause.text
    histologies: list[str] = []
    named_histologies: list[str] = []  # said in the text, not implied by a disease name
    sites: list[str] = []
    marked: dict[str, list[ir.Node]] = {}  # site -> receptors of a subtype named (TNBC)
    named_sites: list[str] = []  # the site of each disease named
    typed_sites: list[str] = []  # of a disease named with its histology (NSCLC, HNSCC)
    lone_sites: list[str] = []  # of a cancer named by its site alone
    spans: list[tuple[int, int]] = []
    for m in vocab.find_conditions(text):
        concept = vocab.condition(m.id)
        if concept is None or concept.id == "other-malignancy":
            continue
        if not_the_subject(text, m.start) or _CRITERIA_IN.search(text, max(0, m.start - 30),
                                                                   m.start):
            continue  # "Response Evaluation Criteria in Solid Tumors": a name
        if ANTI_BEFORE.search(text, max(0, m.start - 6), m.start) \
                or _THERAPY_AFTER.match(text, m.end) or _A_NAME.match(text, m.end) \
                or _NAMED_BY.search(text, max(0, m.start - 40), m.start):
            continue  # "anti-cancer medication", "head and neck cancer treatment": a therapy
        if concept.id == "malignant-neoplasm" and (
                clause.kind == "exclusion" and _ANOTHER_CANCER.search(text)
                or _HISTORY_OF.search(text, max(0, m.start - 30), m.start)
                or _OTHER_AFTER.match(text, m.end)):
            # "History of malignancy other than ...", "concurrent malignancy" among
            # exclusions: another cancer (the conditions recognizer reads it), never
            # the index cancer, which every patient of an oncology trial has
            continue
        parts = _decompose(concept)
        if parts is not None:
            if _OTHER.search(text[max(0, m.start - 45):m.start]):
                continue
            named_sites.extend(parts[1][:1])
            if concept.biomarkers and parts[1]:
                marked.setdefault(parts[1][0], []).extend(
                    ir.BiomarkerAtom(marker=k, results=(r, "undetectable") if r == "negative"
                                     else (r,)) for k, r in concept.biomarkers)
            histologies.extend(parts[0])
            sites.extend(parts[1])
            (typed_sites if parts[0] else lone_sites).extend(parts[1])
            if not parts[0] and not parts[1]:
                continue
            spans.append((m.start, m.end))
            continue
        if concept.kind == "histology":
            target = named_histologies
            # "adenocarcinoma of the breast": the site follows the histology
            if (of := _OF_SITE.match(text, m.end)) is not None:
                sites.extend(_sites_listed(text, of, spans))
        elif concept.kind == "site" or (concept.kind == "condition"
                                        and _CANCER_WORDS.search(concept.id + " " + m.text)):
            target = sites
        else:
            continue
        if _OTHER.search(text[max(0, m.start - 45):m.start]):
            continue  # "other malignancies": a comorbidity, not the index cancer
        target.append(concept.id)
        target.extend(concept.covers)  # "non-small cell carcinoma": its members too
        if target is sites:
            lone_sites.append(concept.id)
        spans.append((m.start, m.end))
        if target is sites and _CANCER_OF.match(m.text) and \
                (more := _NEXT_SITE.match(text, m.end)) is not None:
            # "carcinoma of the oral cavity, oropharynx, hypopharynx, nasopharynx": the
            # sites after the first share its "carcinoma of" (read for the first only,
            # a nasopharyngeal carcinoma failed)
            listed = _sites_listed(text, more, spans)
            sites.extend(listed)
            lone_sites.extend(listed)
    # "squamous NSCLC": the histology named decides, not the group NSCLC covers
    histologies = named_histologies or histologies
    # "NSCLC or breast cancer": two diseases; the breast cancer has no histology
    # to meet.  (Sites of the same organ, "HNSCC of the oral cavity", stay one.)
    others = [] if named_histologies else [
        s for s in dict.fromkeys(lone_sites)
        if not any(s in vocab.condition_ancestors(t) or t in vocab.condition_ancestors(s)
                   for t in typed_sites)]
    if typed_sites and others:
        sites = [s for s in sites if s not in others]
    if not histologies and not sites:
        return _bare_stage(text) or _bare_status(text)
    statuses: list[str] = []
    status_spans: list[tuple[int, int]] = []
    for pattern, values in _STATUS_RE:
        for hit in pattern.finditer(text):
            if "unresectable" in pattern.pattern and re.search(r"locally\s+advanced", text,
                                                                re.IGNORECASE):
                values = ("locally advanced",)  # "unresectable locally advanced": that one
            statuses.extend(v for v in values if v not in statuses)
            spans.append((hit.start(), hit.end()))
            status_spans.append((hit.start(), hit.end()))
    staged: list[str] = []
    stage_spans: list[tuple[int, int]] = []
    stage_qualifiers: list[ir.Node] = []
    for hit in _STAGES.finditer(text):
        tokens = _stage_tokens(text, hit)
        if tokens:
            staged.extend(t for t in tokens if t not in staged)
            spans.append((hit.start(), hit.end()))
            stage_spans.append((hit.start(), hit.end()))
            qualifier = _STAGE_QUALIFIER.match(text, hit.end())
            if qualifier is not None and vocab.find_conditions(qualifier.group("q")):
                # "stage IIIB (pleural or pericardial effusion) or stage IV": what
                # that stage needs, not what every patient needs; a person checks it
                stage_qualifiers.append(ir.Review(text=qualifier.group("q").strip()))
                spans.append(qualifier.span())
    confirmed: list[str] = []
    conf = _CONFIRMED.search(text)
    if conf:
        if conf.group("h") or conf.group("h2"):
            confirmed.append("histology")
        if conf.group("c") or conf.group("c2"):
            confirmed.append("cytology")
        spans.append((conf.start(), conf.end()))
    if "metastatic-disease" in sites:
        # "metastatic cancer" is a cancer that has spread: the diagnosis's status
        # says so (asked as a concept of the diagnosis, every metastatic patient
        # failed "advanced or metastatic cancer")
        sites = ["malignant-neoplasm" if s == "metastatic-disease" else s for s in sites]
        if not statuses:
            statuses = ["metastatic"]
    shared = {"statuses": tuple(statuses) or None, "stages": tuple(staged) or None,
              "confirmed_by": tuple(confirmed) or None}
    facets: list[dict] = [shared]
    if statuses and staged and _joined_by_or(text, status_spans, stage_spans):
        # "stage IIIB, stage IV, or recurrent disease": either one
        facets = [{**shared, "stages": None}, {**shared, "statuses": None}]
    alternatives: list[ir.Node] = []
    for facet in facets:
        alternatives.append(ir.DiagnosisAtom(
            histologies=tuple(dict.fromkeys(histologies)) or None,
            sites=tuple(dict.fromkeys(sites)) or None, **facet))
        if typed_sites and others:
            alternatives.append(ir.DiagnosisAtom(sites=tuple(others), **facet))
    alternatives = [_or_recorded_as_condition(a) for a in alternatives]
    node: ir.Node = alternatives[0] if len(alternatives) == 1 else ir.Or(
        items=tuple(alternatives))
    # (Two diseases of one site, "TNBC, HR+ breast cancer": whose receptors are
    # whose is not for this reading to guess.)
    marked = {k: v for k, v in marked.items() if named_sites.count(k) == 1}
    if marked:
        node = _with_receptors(node, marked)
    if stage_qualifiers:
        node = ir.And(items=(node, *stage_qualifiers))
    first = min(s for s, _ in spans)
    neg, cue = negated(text, first)
    if neg and cue and text[cue[0]:cue[1]].lower() == "non" and _NON_QUALIFIER.match(text, cue[1]):
        # "Non-metastatic breast cancer", "Non-invasive carcinoma": "non-" makes a
        # word of the qualifier before the cancer, and denies it, not the cancer
        # (read as "not a cancer", an exclusion of non-invasive carcinoma excluded
        # every patient).  "Non-prostate cancer" denies the cancer it is part of.
        if re.match(r"-\s*metasta", text[cue[1]:]) and any(
                isinstance(a, ir.DiagnosisAtom) and a.statuses for a in ir.atoms(node)):
            node = ir.And(items=(_without_statuses(node), ir.Not(item=node)))
            spans.append(cue)
        elif (word := re.match(r"-\s*[A-Za-z]+", text[cue[1]:])) is not None:
            # any other "non-" word goes to a person beside the cancer
            qualifier = (cue[0], cue[1] + word.end())
            node = ir.And(items=(node, ir.Review(text=text[qualifier[0]:qualifier[1]])))
            spans.append(qualifier)
    elif neg and cue:
        # "No verrucous carcinoma or adenocarcinoma": a histology that excludes
        node = ir.Not(item=node)
        spans.append(cue)
    return [Found(node, min(s for s, _ in spans), max(e for _, e in spans), "diagnosis",
                  spans=spans)]


# "non-" before a word of extent, not of the disease ("non-metastatic", "non-invasive")
_NON_QUALIFIER = re.compile(
    r"-\s*(?:metasta\w*|invasive|muscle[\s-]+invasive|resectable|operable)\b", re.IGNORECASE)


def _without_statuses(node: ir.Node) -> ir.Node:
    """The same cancer, whatever its status."""
    if isinstance(node, ir.DiagnosisAtom):
        return node.model_copy(update={"statuses": None})
    if isinstance(node, ir.And | ir.Or):
        return type(node)(items=tuple(_without_statuses(i) for i in node.items))
    return node


def _or_recorded_as_condition(atom: ir.DiagnosisAtom) -> ir.Node:
    """Spread of the cancer to a site ("leptomeningeal carcinomatosis") is recorded
    as a condition as often as on the diagnosis: either record counts (read on
    the diagnosis only, a patient whose conditions list leptomeningeal disease
    passed the exclusion)."""
    if atom.histologies or not atom.sites or atom.stages or atom.confirmed_by or \
            atom.statuses not in (None, ("metastatic",)) or not all(
                "metastatic-disease" in vocab.condition_ancestors(s) for s in atom.sites):
        return atom
    return ir.Or(items=(atom, ir.ConditionAtom(concepts=atom.sites)))


def _with_receptors(node: ir.Node, marked: dict[str, list[ir.Node]]) -> ir.Node:
    """"TNBC": breast cancer with ER, PR and HER2 negative.  In a list of other
    diseases ("NSCLC or TNBC") the receptors belong to the breast cancer only."""
    items = list(node.items) if isinstance(node, ir.Or) else [node]
    out: list[ir.Node] = []
    for item in items:
        assert isinstance(item, ir.DiagnosisAtom)
        sites = item.sites or ()
        for site, receptors in marked.items():
            if site not in sites:
                continue
            rest = tuple(s for s in sites if s != site)
            alone = ir.DiagnosisAtom(sites=(site,), statuses=item.statuses,
                                     stages=item.stages, confirmed_by=item.confirmed_by)
            out.append(ir.And(items=(alone, *dict.fromkeys(receptors))))
            item = item.model_copy(update={"sites": rest or None})
        if item.sites or item.histologies:
            out.append(item)
    return out[0] if len(out) == 1 else ir.Or(items=tuple(out))


def _joined_by_or(text: str, first: list[tuple[int, int]],
                  second: list[tuple[int, int]]) -> bool:
    """Is some span of ``first`` joined to some span of ``second`` by "or" (or
    a slash) with nothing but a few words between?"""
    for a0, a1 in first:
        for b0, b1 in second:
            lo, hi = (a1, b0) if a1 <= b0 else (b1, a0) if b1 <= a0 else (0, 0)
            if hi > lo and hi - lo < 40 and re.search(r"\bor\b|/", text[lo:hi]):
                return True
    return False


# "stage IIIB or IV", "stages I-III", "AJCC stage III-IVB", "Stage II/III": a
# list of stages and ranges of them.
_SEP = r"\s*(?:,\s*(?:or\s+|and\s+|and/or\s+)?|\s(?:or|and|and/or|to|through)\s+|[/&]|[-\u2013])\s*"
_STAGES = re.compile(
    r"\b(?:(?i:AJCC|UICC|TNM|FIGO|Ann\s+Arbor|clinical|pathologic(?:al)?|overall)\s+)?"
    r"(?:\([^()]{0,40}\)\s+)?(?i:stages?)\s+(?i:group\s+)?"
    r"(?P<list>" + stages.STAGE + r"(?:" + _SEP + r"(?i:stage\s+)?" + stages.STAGE + r")*)"
    r"(?![-\u2013]?[A-Za-z0-9])")
_ITEM = re.compile(stages.STAGE)
_RANGE = re.compile(r"^\s*(?:[-\u2013]|to|through)\s*$")
# Stages of what is no cancer: kidney disease, heart failure, pressure ulcers.
_NOT_CANCER_STAGE = re.compile(r"(?i:kidney|renal|CKD|NYHA|heart|hypertension|ulcer|"
                               r"fibrosis|cirrhosis|Tanner|sleep|lymphedema|GVHD|graft)"
                               r"[^.;]{0,25}$")


# A stage of the study, not of the cancer: "Stage II, Arms D, E, or F:", "Stage
# 1 (dose escalation)", a heading of its own ("Stages I and II:").
_STUDY_STAGE_AFTER = re.compile(r"\s*(?::|\s[-\u2013]\s|,?\s*(?:Arms?|Cohorts?|Parts?|only|"
                                r"\(?dose)\b)", re.IGNORECASE)
# "Stage IB (tumors >= 4 cm)-IIIA": the list goes on after a parenthesis; left to
# a person rather than read as IB alone.
_CONTINUED = re.compile(r"\s*\([^()]*\)\s*(?:(?:[-\u2013]|to\b|through\b)\s*(?i:stage\s+)?|"
                        r"(?:,|or\b|and\b)\s*)" + stages.STAGE + r"\b")
_STUDY_STAGE_BEFORE = re.compile(r"(?i:\b(?:study|trial|phase|part|protocol|screening)\s+)$")


_STAGE_QUALIFIER = re.compile(r"\s*\((?:with\s+)?(?P<q>[^()]{3,60})\)")


def _stage_tokens(text: str, m: re.Match[str]) -> tuple[str, ...] | None:
    """The stages a stage phrase accepts, or None when it is not a cancer's."""
    if (_NOT_CANCER_STAGE.search(text, max(0, m.start() - 40), m.start())
            or _STUDY_STAGE_AFTER.match(text, m.end()) or _CONTINUED.match(text, m.end())
            or _STUDY_STAGE_BEFORE.search(text, max(0, m.start() - 20), m.start())):
        return None
    items = list(_ITEM.finditer(text, m.start("list"), m.end("list")))
    tokens: list[str] = []
    i = 0
    while i < len(items):
        here = items[i].group()
        if i + 1 < len(items) and _RANGE.match(text[items[i].end():items[i + 1].start()]):
            run = stages.span(here, items[i + 1].group())
            i += 2
        else:
            one = stages.parse(here)
            run = (one[0] + one[1],) if one else None
            i += 1
        if run is None:
            return None
        tokens.extend(t for t in run if t not in tokens)
    return tuple(tokens) or None


_BARE_STAGE = re.compile(
    r"^\W*(?:" + LABEL + r")?(?P<neg>no\s+|without\s+)?(?:patients\s+with\s+|documented\s+|"
    r"histologically\s+(?:confirmed|proven)\s+|(?:locally\s+advanced|metastatic|advanced|"
    r"recurrent)\s+|has\s+|have\s+)*(?=(?:\w+\s+|\([^()]{0,40}\)\s+)?stages?\s)",
    re.IGNORECASE)


def _bare_stage(text: str) -> list[Found]:
    """"Stage IIIB or IV disease", "Clinical stage I, II, or IIIA": the index
    cancer's stage, said without naming the cancer, as the clause's subject."""
    m = _BARE_STAGE.match(text)
    hit = _STAGES.match(text, m.end()) if m is not None else None
    if m is None or hit is None:
        return []
    tokens = _stage_tokens(text, hit)
    if tokens is None:
        return []
    node: ir.Node = ir.DiagnosisAtom(stages=tokens)
    if m.group("neg"):
        node = ir.Not(item=node)
    return [Found(node, m.start("neg") if m.group("neg") else hit.start(), hit.end(),
                  "diagnosis")]


# "Metastatic disease", "No distant metastases", "Locally advanced disease": the
# index cancer's status said without naming the cancer, as the clause's subject.
_BARE_STATUS = re.compile(
    r"^\W*(?:" + LABEL + r")?(?P<neg>no\s+(?:evidence\s+of\s+)?|without\s+)?"
    r"(?:known\s+|presence\s+of\s+|evidence\s+of\s+|documented\s+)?"
    r"(?:(?P<m>distant\s+metasta\w+|metastatic\s+disease|stage\s+IV\s+disease)|"
    r"(?P<la>locally\s+advanced\s+disease)|(?P<r>(?:recurrent|relapsed)\s+disease))\s*\.?\s*$",
    re.IGNORECASE)


def _bare_status(text: str) -> list[Found]:
    m = _BARE_STATUS.match(text)
    if m is None:
        return []
    status = "metastatic" if m.group("m") else "locally advanced" if m.group("la") else "recurrent"
    node: ir.Node = ir.DiagnosisAtom(statuses=(status,))
    if m.group("neg"):
        node = ir.Not(item=node)
    return [Found(node, m.start("neg") if m.group("neg") else m.start(), m.end(), "diagnosis")]
