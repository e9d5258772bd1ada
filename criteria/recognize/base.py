"""What a recognizer returns, and the clause it reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from criteria import ir, vocab


@dataclass(frozen=True)
class Clause:
    """One clause of eligibility text, as the recognizers see it."""

    text: str
    kind: str  # inclusion | exclusion
    header: str = ""  # the run-on item's intro, for context (windows)
    lab_window_days: int | None = None  # "within 2 weeks prior to treatment" from the header
    list_window_days: int | None = None  # a window closing the run-on list this clause is in


@dataclass
class Found:
    """A requirement recognized in a clause: its logic and the text it used."""

    node: ir.Node | None  # None: text understood as imposing no requirement
    start: int
    end: int
    family: str
    spans: list[tuple[int, int]] = field(default_factory=list)  # all text used
    notes: list[str] = field(default_factory=list)

    def used(self) -> list[tuple[int, int]]:
        return self.spans or [(self.start, self.end)]


NEGATION = re.compile(
    r"\b(?:no|not|without|never|none|free\s+of|absence\s+of|must\s+not|should\s+not|"
    r"cannot|may\s+not|neither|nor|non|refrain\s+from|abstain\s+from|"
    # "must agree to avoid systemic steroids"; alone, "avoid" heads lists of drugs
    # ("Avoid due to potential to cause peripheral neuropathy:")
    r"(?:must|should|agrees?\s+to|willing\s+to|able\s+to)\s+avoid)\b",
    re.IGNORECASE,
)


# A PDQ label before a requirement ("Endocrine therapy: ", "Other: "); legacy text
# wraps lines inside them ("Endocrine\r\n        therapy: No concurrent ...").
LABEL = r"[A-Za-z][A-Za-z\s/&,()'-]{0,40}:\s*"
_OPENING_NEGATION = (r"\s*(?:" + LABEL + r")?"
                     r"(no|absence\s+of|without|free\s+of|none\s+of|"
                     r"(?:sero)?negative\s+(?:tests?\s+|testing\s+|results?\s+)?for|"
                     r"(?:(?:all\s+)?(?:the\s+)?(?:patients?|subjects?|participants?|individuals?|"
                     r"women|men)\s+)?(?:(?:must|may|should|shall|can)\s*not|"
                     r"(?:must|should|shall)\s+(?:have\s+no|be\s+free\s+of|be\s+without)|"
                     r"(?:has|have)\s+no))\b")
_CLAUSE_NEGATION = re.compile("^" + _OPENING_NEGATION, re.IGNORECASE)
# The same, opening a later sentence of the clause ("... have no angina. Patients
# should not require therapy for heart failure or coronary artery disease").
_SENTENCE_NEGATION = re.compile(_OPENING_NEGATION, re.IGNORECASE)
_SENTENCE_START = re.compile(r"(?:;|(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)\.)\s+(?=[A-Z])")


# what ends an opening negation's reach: a new clause or sentence (not the one
# that opens an example list, "No unstable disease; i.e., angina, ..."), or a
# "but"/"except"
_OUT_OF_HEAD = re.compile(r"(?:;|(?<!\be\.g)(?<!\bi\.e)\.)\s(?!\s*(?:i\.e\.|e\.g\.))|"
                          r"\b(?:but|except|unless)\b", re.IGNORECASE)


_NOT_SPECIFIED = re.compile(r"\s+(?:specified|applicable|stated)\b", re.IGNORECASE)
_LABEL_COLON = re.compile(r"[A-Za-z]\s*:")
_LABEL_END = re.compile(r"[A-Za-z)]\s*:\s")
_FOLLOWING = re.compile(r"\s*(?:\w+\s+){0,2}?(?:of\s+)?(?:the\s+)?following\b", re.IGNORECASE)


def negated(text: str, start: int, scope: int = 40) -> tuple[bool, tuple[int, int] | None]:
    """Is the mention at ``start`` negated by a cue shortly before it, in the
    same clause part (no ';' or '.' between)?  Returns the cue span."""
    head = _CLAUSE_NEGATION.match(text)
    if head and head.end() <= start and not _OUT_OF_HEAD.search(text[head.end():start]):
        # "Absence of any unstable systemic diseases or active infections": a
        # clause that opens with a negation negates every mention in it.
        return True, (head.start(1), head.end(1))
    if "." in text or ";" in text:
        opens = [m.end() for m in _SENTENCE_START.finditer(text, 0, start)]
        head = _SENTENCE_NEGATION.match(text, opens[-1]) if opens else None
        if head and head.end() <= start and not _OUT_OF_HEAD.search(text[head.end():start]):
            return True, (head.start(1), head.end(1))
    window_start = max(0, start - scope)
    window = text[window_start:start]
    cut = max(window.rfind(";"), window.rfind(". "))
    if cut >= 0:
        window_start += cut + 1
        window = text[window_start:start]
    hits = list(NEGATION.finditer(window))
    if not hits:
        return False, None
    hits = [h for h in hits if not (h.group(0).lower() == "non" and
                                    window_start + h.end() + 2 < start)
            # PDQ "Menopausal status: Not specified Performance status: ECOG 0-2": the
            # "not" closes its own label's value
            and not (_NOT_SPECIFIED.match(window, h.end())
                     and _LABEL_COLON.search(text, window_start + h.end(), start + 25))]
    if not hits:
        return False, None
    cue = hits[-1]
    # ("non-squamous NSCLC": a "non" glued to a word negates that word only.)
    # "no ... or ..." keeps its scope; a positive verb in between ends it.
    # "must not have", "does not have": the verb belongs to the cue.
    between = re.sub(r"^\s*(?:have|has|had|be|been)\b", "", window[cue.end():])
    # "not previously received treatment with X": "with" belongs to the treatment.
    between = re.sub(r"\b(?:treat(?:ment|ed)|therapy)\s+with\b", " ", between, flags=re.IGNORECASE)
    if _LABEL_END.search(between) and not _FOLLOWING.match(between):
        # "FOR PATIENTS WITH NO RESIDUAL DISEASE (pCR) - (PHASE II): ECOG 0, 1, 2": a
        # denial inside a label says whom the label means, not what the rule after it
        # denies ("none of the following: ..." keeps its scope)
        return False, None
    if re.search(r"\b(?:but|except|unless|however|with|has|have|had)\b", between, re.IGNORECASE):
        return False, None
    if _JUDGED.match(window, cue.end()) and re.search(r"[.;,]|\b(?:or|and)\b", between):
        # "not curable by radiation therapy ... recurrent disease following surgery": the
        # "not" qualifies the judgement; a later list or clause is out of its reach
        return False, None
    return True, (window_start + cue.start(), window_start + cue.end())


_JUDGED = re.compile(r"\s*(?:be\s+)?(?:potentially\s+|considered\s+)?(?:curable|amenable|suitable|"
                     r"eligible|candidates?|a\s+candidate|resectable|operable|able)\b",
                     re.IGNORECASE)


# "anti-cancer therapy": the mention after it names a therapy's target.
ANTI_BEFORE = re.compile(r"\banti[\s-]?$", re.IGNORECASE)
# "If patients have a history of brain metastases, ...": a mention after it says
# when something else applies, not what is required ("if no X" still scopes a rule).
IF_BEFORE = re.compile(r"(?i:\b(?:if|when|in\s+case\s+of)\b(?!\s+(?:no|not|without)\b)"
                       r"[^.;,]{0,40})$")
# A parenthesis opening with "if"/"when" says when something else applies ("(If
# LVEF is > 75%, ...)", "(to be calculated only when Cr > 1.5 x ULN)").
IF_NOTE = r"\(\s*(?:if|when|(?:to\s+be\s+\w+\s+)?only\s+(?:if|when))\b[^()]*\)"


# Cross-references state nothing themselves ("See Disease Characteristics", PDQ's
# "Biologic therapy: See Chemotherapy"): the section they point to is read where it is.
CROSS_REFERENCE = re.compile(
    r"\bsee\s+(?:disease|patient)\s+characteristics\b|"
    r"\bsee\s+(?:general\s+eligibility|appendix\s+\w+|section\s+[\d.]+)|"
    r"\bsee\s+(?:(?:biologic|endocrine|hormonal)\s+therapy|chemotherapy|radiotherapy|"
    r"surgery|protocol(?:\s+outline)?)\b", re.IGNORECASE)


# What some patients may have: "Patients with Gilbert's syndrome may have a total
# bilirubin > 1.5 x ULN" (another way to meet the rule before it, for them).
MAY_HAVE_FOR = re.compile(r"(?:(?<=[.;])|^)\s*(?:the\s+)?(?:patient'?s?|participants?|subjects?)\s+"
                          r"with\s+[^.;]{1,80}?\s+may\s+have\b(?:[^.;]|\.(?=\d))*",
                          re.IGNORECASE)


# "UPC ratio < 1.0; patients with a UPC ratio >= 1.0 must undergo a 24-hour urine
# collection and must demonstrate < 1000 mg", "proteinuria < 2+ patients who have
# proteinuria >= 2+ should undergo ...": the rest of the sentence is another way to
# meet the bound before it (read as a second requirement, the two contradicted and
# everyone failed)
SUBGROUP_MUST = re.compile(
    r"(?:(?<=[.;])|(?<=\d\+))\s*(?:the\s+)?(?:patients?|participants?|subjects?)\s+"
    r"(?:with|who\s+have|having)\s+[^.;]{1,60}?(?:≥|>=|=>|>|\bgreater\s+than|\bmore\s+than|"
    r"\babove|\bin\s+excess\s+of)\s*(?:[^.;]|\.(?=\d)){0,40}?\s(?:must|should|will\s+need\s+to|"
    r"need\s+to|are\s+required\s+to)\b(?:[^.;]|\.(?=\d))*", re.IGNORECASE)


_LEADING_LABEL = re.compile(r"\s*" + LABEL)


def label_end(text: str) -> int:
    """End of the leading PDQ labels ("Endocrine therapy: No prior therapy", and a
    section label before it, "PROTOCOL ENTRY CRITERIA: Endocrine therapy: ..."):
    mentions inside them name the topic, not a requirement, and a negation after
    them governs."""
    end = 0
    for _ in range(3):
        m = _LEADING_LABEL.match(text, end)
        if not m or len(m.group(0).split()) > 6:
            break
        end = m.end()
    return end


def mentions_any(text: str, keys: tuple[str, ...]) -> bool:
    """Cheap gate before a recognizer's regexes: does the lower-cased text hold
    any of ``keys`` (plain substrings)?"""
    low = text.lower()
    return any(k in low for k in keys)


def combine(kind: str, nodes: list[ir.Node]) -> ir.Node:
    if len(nodes) == 1:
        return nodes[0]
    return ir.And(items=tuple(nodes)) if kind == "and" else ir.Or(items=tuple(nodes))


def connector(between: str) -> str:
    """The connective joining two requirements, from the text between them.
    Only the words after the last comma/semicolon count: in "A without X or Y,
    B" the "or" belongs to A's qualifier.  "A; if not A then B" is "A or B"."""
    if re.search(r"\.\s", between):
        return "and"  # a new sentence is a new requirement
    if re.search(r"\bif\b|\botherwise\b", between, re.IGNORECASE):
        return "or"
    tail = re.split(r"[,;]", between)[-1]
    if re.search(r"\b(?:or|and/or)\b", tail, re.IGNORECASE):
        return "or"
    return "and"


# A condition named only to say what something else is not, or what a treatment
# was for: "medical problems unrelated to the malignancy", "no prior
# chemotherapy for head and neck cancer" (the treatment's indication).
# "Lesions that have had external beam radiotherapy must show progression": a
# lesion's history, not the patient's.
LESION_HISTORY = (r"\blesions?\s+(?:that|which)\s+(?:have|has)\s+"
                  r"(?:had|received|been\s+treated\s+with)")
_NOT_THE_SUBJECT = re.compile(
    LESION_HISTORY + r"\s+(?:[\w-]+\s+){0,2}$|"
    r"\b(?:unrelated\s+to|related\s+to|due\s+to|secondary\s+to|caused\s+by|associated\s+with|"
    r"(?:infiltration|involvement|replacement)\s+(?:by|with)|"
    r"modification\s+of\s+diet\s+in|"  # the MDRD formula's name
    # "therapy directed at management of breast cancer": what the therapy is for
    r"directed\s+(?:at|against|to)\s+(?:the\s+)?(?:management|treatment|control)\s+of|"
    r"other\s+than)\s+(?:the\s+|his\s+|her\s+|their\s+|a\s+)?(?:underlying\s+|primary\s+)?$|"
    # "chemotherapy that may cause neuropathy": what a drug may do, not the patient's
    r"\b(?:that|which)\s+(?:may|can|could|might|(?:is|are)\s+known\s+to)\s+(?:cause|induce|"
    r"lead\s+to|worsen)\s+$|"
    # "a PS of 3 must be based on bone pain, not underlying neoplastic disease": a cause
    r"\bbased\s+on\s+[^.;]{0,40}?\bnot\s+(?:the\s+|an?\s+)?(?:underlying\s+)?$|"
    r"\b(?:therapy|therapies|chemotherapy|radiotherapy|radiation|treatment|surgery|regimens?|"
    r"agents?|drugs?|immunotherapy|resection)\s+(?:\w+\s+){0,4}for\s+(?:the\s+)?"
    r"(?:treatment\s+of\s+)?(?:\w+\s+){0,3}$", re.IGNORECASE)


_FOR = re.compile(r"\bfor\s+(?:the\s+)?(?:treatment\s+of\s+)?(?:[\w-]+\s+){0,2}$", re.IGNORECASE)


# A relative's disease is not the patient's: "Family history of breast cancer",
# "a first- or second-degree relative of an individual with a tumor associated with
# the Breast-Ovarian Cancer Syndrome" (read as the patient's, it was required).
_RELATIVES = re.compile(
    r"\b(?:family\s+(?:history|members?)|relatives?|siblings?|"
    r"sisters?|brothers?|daughters?|offspring|kindreds?|pedigrees?)\b[^.;]{0,80}$",
    re.IGNORECASE)


_RELATIVE_WORDS = ("famil", "relative", "sibling", "sister", "brother", "daughter", "offspring",
                   "kindred", "pedigree")


@lru_cache(maxsize=8192)
def _names_relatives(text: str) -> bool:
    """A cheap gate before the search: most texts name no relative at all."""
    low = text.lower()
    return any(w in low for w in _RELATIVE_WORDS)


# "personal or family history of seizures": the patient's own as well
_ALSO_OWN = re.compile(r"\b(?:personal|own|history)\s+(?:and/or|or|and)\s+$", re.IGNORECASE)


def not_the_subject(text: str, start: int) -> bool:
    """Is the mention at ``start`` only a reference point, not a requirement?"""
    if _NOT_THE_SUBJECT.search(text, max(0, start - 60), start) is not None:
        return True
    relatives = _RELATIVES.search(text, max(0, start - 120), start) \
        if _names_relatives(text) else None
    if relatives is not None and not _ALSO_OWN.search(text, max(0, relatives.start() - 30),
                                                      relatives.start()):
        return True
    # "3 days for hydroxyurea for CML": a drug's indication.
    hit = _FOR.search(text, max(0, start - 40), start)
    if hit is None:
        return False
    before = text[max(0, hit.start() - 40):hit.start()]
    return bool(vocab.find_drugs(before) or vocab.find_drug_classes(before))


# Words of contraception: a clause with them that names pregnancy speaks of a risk
# or a plan (read by a person), never of a pregnancy the patient has.
CONTRACEPTION = re.compile(r"\b(?:contracep\w*|birth\s+control|childbearing|child-bearing|"
                           r"condoms?\b|abstinen\w*|barrier\s+method)", re.IGNORECASE)
