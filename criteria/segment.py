"""Eligibility text -> sections -> items -> clauses, each with its span.

Registry text comes as API v2 bullet lists ("* ..."), web bullets ("  • "),
numbered and nested lists ("1.", "a)", "(i)"), wrapped legacy text blocks,
and PDQ run-on paragraphs.  The segmenter only cuts; it never rewrites, so
every segment's text is ``source[start:end]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from criteria import vocab

# Section headings -> the kind of the criteria under them.
HEADINGS: list[tuple[str, str]] = [
    (r"(?:key\s+|main\s+|major\s+|general\s+)?inclusion\s+criteria", "inclusion"),
    (r"(?:key\s+|main\s+|major\s+|general\s+)?exclusion\s+criteria", "exclusion"),
    (r"(?:patients?|subjects?|participants?)\s+(?:must|should)\s+(?:not\s+)?"
     r"(?:meet|fulfil+)\s+(?:all\s+)?(?:of\s+)?the\s+following", "same"),
    (r"disease\s+characteristics", "inclusion"),
    (r"patient\s+characteristics", "inclusion"),
    (r"prior\s+concurrent\s+therapy", "inclusion"),
    (r"eligibility\s+criteria", "inclusion"),
    # a bare "Exclusions" line ("... Negative pregnancy test\n\n Exclusions\n\n Prior
    # malignancies except: ..."): read as an item, the exclusions became requirements
    (r"exclusions?(?=\s*:?\s*$)", "exclusion"),
    # A sentence opening the exclusions: "Patients will not be included if any of the
    # following conditions are present", "Subjects will be excluded if they:" (its
    # items read as inclusions, a man failed "Pregnancy.")
    (r"(?:patients?|subjects?|participants?|women|men)\s+(?:(?:will|shall|may)\s+not\s+be\s+"
     r"(?:included|enrolled|eligible|entered)|(?:will\s+be|are)\s+excluded)"
     r"(?:\s+(?:from|in|into|for)\s+(?:the\s+|this\s+)?(?:study|trial|project|protocol|"
     r"participation(?:\s+in\s+this\s+study)?))?(?:\s+for\s+inclusion\s+in\s+this\s+study)?"
     r"\s+(?:if|for)\s+(?:they|any)\b(?:[^:\n]{0,60}:|[^:\n]{0,20}\bfollowing\b[^:\n]{0,40}:?)"
     r"(?=\s*$)", "exclusion"),
    (r"inclusions?(?=\s*:?\s*$)", "inclusion"),
]
# One pattern for all headings (alternatives in table order, so the first listed wins):
# every line of every trial is tried against it.
_HEADING_RE = re.compile(
    r"^\s*+(?:[-*•#]+\s*+)?(?:" + "|".join(f"(?P<h{i}>{p})" for i, (p, _k) in enumerate(HEADINGS))
    + r")\s*:?", re.IGNORECASE)
_HEADING_KIND = {f"h{i}": kind for i, (_p, kind) in enumerate(HEADINGS)}
# The bare "Inclusion:" / "Exclusion:" lines head a part of a section (an arm's
# own inclusions and exclusions), not a section of their own.
_SUB_HEADINGS = {f"h{i}" for i, (p, _k) in enumerate(HEADINGS) if p.startswith(("exclusions?",
                                                                                 "inclusions?"))}

# A line opening a list item: bullets, numbers, letters, roman numerals.
_MARKER = re.compile(
    r"^(?P<indent>[ \t]*)(?P<marker>[•·▪◦●○\-–*+]|\d{1,2}[.)](?!\d)|\(\d{1,2}\)|[a-zA-Z][.)](?=\s)|"
    r"\([a-zA-Z]\)|(?:i{1,3}|iv|v|vi{1,3}|ix|x)[.)](?=\s)|\((?:i{1,3}|iv|v|vi{1,3}|ix|x)\))\s+"
)

# Run-on items that announce a list of sub-requirements after a colon.
_LIST_INTRO = re.compile(
    r"(?:i\.e\.,?\s*)?(?:meeting|meet|fulfil+(?:ing)?)\s+(?:all\s+)?(?:of\s+)?the\s+following"
    r"(?:\s+criteria)?\s*:|including\s+(?:but\s+not\s+limited\s+to|any\s+of\s+the\s+following)\s*:"
    r"|as\s+follows\s*:|the\s+following\s+(?:criteria|conditions|values|requirements)\s*:"
    r"|defined\s+as\s*:",
    re.IGNORECASE,
)
# PDQ style: "Hematopoietic: ANC at least 1,500/mm3 Platelet count at least ..."
_PDQ_LABEL = re.compile(
    r"(?<![A-Za-z])(?P<label>Age|Sex|Menopausal\s+status|Performance\s+status|Life\s+expectancy|"
    r"Hematopoietic|Hepatic|Renal|Cardiovascular|Pulmonary|Other|Biologic\s+therapy|"
    r"Chemotherapy|Endocrine\s+therapy|Radiotherapy|Surgery|Immunotherapy)\s*:",
)


@dataclass(frozen=True)
class Segment:
    kind: str  # inclusion | exclusion
    start: int
    end: int
    text: str
    header: str = ""  # the intro of a run-on item whose part this is ("Normal organ function ...")
    header_start: int = -1
    label: str = ""  # a PDQ label line the item sits under ("Age:", "Hepatic:")
    indent: int = 0  # the list marker's indentation (nesting)


def _heading(line: str) -> tuple[str, int] | None:
    m = _HEADING_RE.match(line)
    if m is None:
        return None
    rest = line[m.end():].strip()
    # "Inclusion criteria: age over 18" keeps its text; a bare heading has none.
    return _HEADING_KIND[m.lastgroup], (m.end() if rest else len(line))


def section_starts(text: str) -> list[int]:
    """Where each section of the text opens ("Inclusion Criteria:", "Exclusion
    Criteria:"), in order; a sub-heading ("Exclusion:" under an arm's heading) opens
    none."""
    out: list[int] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        m = _HEADING_RE.match(raw)
        if m is not None and m.lastgroup not in _SUB_HEADINGS:
            out.append(pos)
        pos += len(raw)
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\r\n;,":
        start += 1
    while end > start and text[end - 1] in " \t\r\n;,":
        end -= 1
    return start, end


def split_items(text: str, default_kind: str = "inclusion") -> list[Segment]:
    """Sections and list items, continuation lines joined to their item."""
    items: list[Segment] = []
    kind = default_kind
    current: list[int] | None = None  # [start, end, indent] of the open item
    pos = 0

    def close() -> None:
        nonlocal current
        if current is not None:
            s, e = _trim(text, current[0], current[1])
            if e > s:
                items.append(Segment(kind, s, e, text[s:e], indent=current[2]))
        current = None

    for raw in text.splitlines(keepends=True):
        line_start, line_end = pos, pos + len(raw.rstrip("\r\n"))
        pos += len(raw)
        line = text[line_start:line_end]
        if not line.strip():
            close()
            continue
        head = _heading(line)
        if head is not None:
            close()
            if head[0] != "same":
                kind = head[0]
            if head[1] < len(line):
                current = [line_start + head[1], line_end, 0]
            continue
        marker = _MARKER.match(line)
        if marker:
            close()
            current = [line_start + marker.end(), line_end,
                       len(marker.group("indent").expandtabs(4))]
        elif current is None:
            current = [line_start, line_end, len(line) - len(line.lstrip())]
        else:
            current[1] = line_end
    close()
    return items


def _split_on(text: str, start: int, end: int, seps: str) -> list[tuple[int, int]]:
    """Cut [start, end) at separators outside parentheses."""
    parts, depth, s = [], 0, start
    for i in range(start, end):
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch in seps and depth == 0:
            parts.append(_trim(text, s, i))
            s = i + 1
    parts.append(_trim(text, s, end))
    return [(a, b) for a, b in parts if b > a]


_CONDITIONAL = re.compile(r"(?:or\s+)?(?:if|otherwise|unless|except)\b", re.IGNORECASE)


def _merge_conditionals(text: str, parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """"A; if not A then B" is one requirement (A or B): keep it in one clause."""
    merged: list[tuple[int, int]] = []
    for s, e in parts:
        if merged and _CONDITIONAL.match(text, s):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def split_clauses(text: str, item: Segment) -> list[Segment]:
    """A run-on item -> its header (if any) and its ';'-separated parts."""
    # Every intro ends with a colon: items without one skip the (slow, unanchored) search.
    has_colon = text.find(":", item.start, item.end) >= 0
    intro = _LIST_INTRO.search(text, item.start, item.end) if has_colon else None
    if intro is not None:
        header = text[item.start:intro.end()]
        parts = _merge_conditionals(text, _split_on(text, intro.end(), item.end, ";"))
        if parts:
            return [Segment(item.kind, s, e, text[s:e], header, item.start) for s, e in parts]
    labels = list(_PDQ_LABEL.finditer(text, item.start, item.end))
    if len(labels) >= 2:
        cuts = [m.start() for m in labels] + [item.end]
        out = []
        if labels[0].start() > item.start:
            cuts.insert(0, item.start)
        for a, b in zip(cuts, cuts[1:], strict=False):
            s, e = _trim(text, a, b)
            if e > s:
                out.append(Segment(item.kind, s, e, text[s:e]))
        return out
    return [item]


# A line that is only a label ("Age:", "Hepatic:", "Concurrent medication:",
# "Excluded:"): PDQ text puts the value on the next lines.  The label becomes the
# header of the items that follow, until the next label or section.
_LABEL_ONLY = re.compile(r"^\W{0,3}(?P<label>[A-Za-z][A-Za-z0-9 /&,()'\-]{0,48}?)\s*:\s*$")
# PDQ records also print the labels without a colon, on a line of their own:
# "Endocrine therapy" then "  - Not specified".
_BARE_PDQ_LABEL = re.compile(
    r"\W{0,3}(?P<label>Age|Sex|Menopausal\s+status|Performance\s+status|Life\s+expectancy|"
    r"Hematopoietic|Hepatic|Renal|Cardiovascular|Pulmonary|Other|Biologic\s+therapy|"
    r"Chemotherapy|Endocrine\s+therapy|Radiotherapy|Surgery|Immunotherapy|Neurologic|"
    r"Gastrointestinal|Metabolic|Immunologic)\s*", re.IGNORECASE)
_EXCLUDED_LABEL = re.compile(r"^\W*(?:excluded|not\s+allowed|prohibited)\W*$", re.IGNORECASE)


# "Patients must not have any of the following:" - the nested items under it
# are exclusions, whatever the section says.
NEGATED_INTRO = re.compile(r"^\W*no\b|\b(?:must\s+not|may\s+not|should\s+not|do(?:es)?\s+not|"
                            r"not\s+have|"
                            r"none\s+of|no\s+(?:evidence\s+of\s+)?(?:any|the\s+following)|without|"
                            r"excluded?|ineligible|not\s+(?:be\s+)?eligible)\b", re.IGNORECASE)


# "No other active malignancy except:" then the excepted cancers, one per item:
# one criterion, whose exceptions are the items.
_EXCEPTION_INTRO = re.compile(r"(?:\b(?:except(?:\s+for)?|other\s+than|with\s+the\s+exception\s+of|"
                              r"excluding|unless|apart\s+from)(?:\s+(?:any\s+of\s+)?(?:the\s+)?"
                              r"following)?|\bexcept\s+as\s+follows|"
                              r"\bexceptions?(?:\s+(?:are|to\s+this\s+(?:criterion|rule)))?)\s*:\s*$",
                              re.IGNORECASE)
# In a flat list (registries that lose the nesting) the exceptions are the items
# after the intro that name a kind of what it excludes, up to the first that does
# not (vocab.names_a_kind_of).  An item opening like a criterion of its own
# ("Patients with MDS/AML" after "another malignancy, except for:") belongs to the
# list only when it says what is allowed ("stable", "adequately treated").
_OWN_CRITERION = re.compile(
    r"^\W*(?:patients?|participants?|subjects?|individuals?|history\s+of|has|have|had|known|"
    r"any|prior|previous|current(?:ly)?|concomitant|concurrent|active|evidence\s+of|"
    r"uncontrolled|severe|significant|clinically|women|females?|males?|men|pregnan\w*|"
    r"presence\s+of|receiving|treatment\s+with|use\s+of)\b", re.IGNORECASE)
_ALLOWANCE = re.compile(
    r"\b(?:allowed|permitted|eligible|acceptable|not\s+(?:be\s+)?excluded|may|can\s+be|stable|"
    r"adequately|curatively|definitively|disease[\s-]free|in\s+situ|no\s+evidence|resolved|"
    r"physiologic(?:al)?|low[\s-]dose|premedication|topical|inhaled|intranasal|replacement|"
    r"asymptomatic|without\s+(?:evidence|recurrence))\b", re.IGNORECASE)
# an item ending in "; and" / "or" carries the list on
_CARRIES_ON = re.compile(r"\b(?:and|or|and/or)\s*$", re.IGNORECASE)


def _excepted(intro: Segment, item: Segment, previous: Segment) -> bool:
    if item.kind != intro.kind or item.indent != intro.indent:
        return False
    body = item.text.lstrip(" -*\u2022\t")
    if previous.text.rstrip().endswith(":") and previous is not intro:
        return False  # "... 6. Have cardiopulmonary disease such as:": a list of its own
    if body[:1].islower() or _CARRIES_ON.search(previous.text):
        return True
    if _OWN_CRITERION.match(body) and not _ALLOWANCE.search(body):
        return False
    return vocab.names_a_kind_of(body, intro.text)


def _merge_exception_lists(items: list[Segment], text: str) -> list[Segment]:
    out: list[Segment] = []
    n = 0
    while n < len(items):
        item = items[n]
        if _EXCEPTION_INTRO.search(item.text):
            end = n + 1
            while end < len(items) and items[end].indent > item.indent \
                    and items[end].kind == item.kind:
                end += 1
            if end == n + 1:
                while end < len(items) and _excepted(item, items[end], items[end - 1]):
                    end += 1
            if end > n + 1:
                last = items[end - 1]
                out.append(Segment(item.kind, item.start, last.end, text[item.start:last.end],
                                   item.header, item.header_start, item.label, item.indent))
                n = end
                continue
        out.append(item)
        n += 1
    return out


def _nested_lists(items: list[Segment]) -> list[Segment]:
    """An item that ends with ":" and has deeper items under it introduces them:
    it is not a criterion itself but their header, and a negated introduction
    turns its items into exclusions."""
    out: list[Segment] = []
    intros: list[tuple[Segment, bool]] = []  # open introductions, outermost first
    for n, item in enumerate(items):
        while intros and (item.indent <= intros[-1][0].indent or item.kind != intros[-1][0].kind):
            intros.pop()
        nxt = items[n + 1] if n + 1 < len(items) else None
        label_only = _LABEL_ONLY.match(item.text)
        if item.text.rstrip().endswith(":") and nxt is not None and nxt.indent > item.indent \
                and not (label_only and len(label_only.group("label").split()) <= 5):
            intros.append((item, bool(NEGATED_INTRO.search(item.text))))
            continue
        if intros:
            intro, negated_intro = intros[-1]
            kind = item.kind
            if negated_intro:
                # "Patients will not be eligible if they:" (or "must not have:") names
                # exclusions, also when it restates an exclusion heading: never a toggle.
                kind = "exclusion"
            item = Segment(kind, item.start, item.end, item.text, intro.text, intro.start,
                           indent=item.indent)
        out.append(item)
    return out


_TRAILING_OR = re.compile(r"\b(?:or|and/or)\s*$", re.IGNORECASE)


def _join_alternatives(items: list[Segment], text: str) -> list[Segment]:
    """ "Disease refractory to methotrexate OR" / "Failure after methotrexate":
    an item ending in "or" and the next are one requirement with alternatives."""
    out: list[Segment] = []
    for item in items:
        prev = out[-1] if out else None
        if prev is not None and prev.kind == item.kind and _TRAILING_OR.search(prev.text):
            out[-1] = Segment(prev.kind, prev.start, item.end, text[prev.start:item.end],
                              prev.header, prev.header_start, prev.label, prev.indent)
        else:
            out.append(item)
    return out


# PDQ records (headed "DISEASE CHARACTERISTICS", "PATIENT CHARACTERISTICS",
# "PRIOR CONCURRENT THERAPY") lost their line structure: "Other: Not pregnant or
# nursing No other serious illness No other prior invasive malignancy ...".  A
# requirement starts again where one of these openers follows a lower-case word.
_PDQ_STYLE = re.compile(r"(?:PATIENT|DISEASE)\s+CHARACTERISTICS|PRIOR\s*/?\s*CONCURRENT\s+THERAPY")
_RUN_ON_OPENERS = (
    "No", "Not", "Negative", "Fertile", "Adequate", "At least", "Must", "Prior", "Concurrent",
    "Recovered", "HIV", "More than", "Less than", "Greater than", "Willing", "Able to",
    "Absolute", "Platelet", "Platelets", "Hemoglobin", "Haemoglobin", "WBC", "Bilirubin",
    "Creatinine", "SGOT", "SGPT", "AST", "ALT", "Alkaline", "Hematocrit", "Granulocyte",
    "Neutrophil", "Pregnancy", "Women", "Men", "Ejection", "LVEF", "Serum", "Calcium", "Albumin",
    "INR", "Known", "History", "Measurable", "Histologically", "Cytologically", "Previously",
    "Completed", "Uncontrolled", "Clinically", "Significant", "Severe", "Serious", "Ongoing",
    "Life expectancy", "Performance status", "Karnofsky", "ECOG", "Zubrod", "Age", "Sex",
    "Chemotherapy", "Radiotherapy", "Surgery", "Endocrine", "Biologic", "Immunotherapy",
    "Since", "Patients", "Patient", "Hepatitis", "Bone marrow", "Active", "Other",
)
_RUN_ON_CUT = re.compile(
    r"(?<=[a-z0-9%)\]])(?<!\bor)(?<!\band)(?<!\bof)(?<!\bwith)(?<!\bthan)(?<!\bto)(?<!\bthe)"
    r"(?<!\bfor)(?<!\bin)(?<!\bby)(?:[ \t]*+\r?\n)?[ \t]++(?=(?:"
    # (an opener's words may wrap onto the next line: "At\r\n        least 4 weeks")
    + "|".join(re.escape(o).replace(r"\ ", r"\s+") for o in _RUN_ON_OPENERS) + r")\b(?![:/-]))")


def _split_run_on(text: str, seg: Segment) -> list[Segment]:
    """Cut a PDQ run-on clause where a new requirement opens (see _RUN_ON_OPENERS)."""
    cuts = [m.end() for m in _RUN_ON_CUT.finditer(text, seg.start, seg.end)]
    if not cuts:
        return [seg]
    out = []
    for a, b in zip([seg.start, *cuts], [*cuts, seg.end], strict=False):
        s, e = _trim(text, a, b)
        if e > s:
            out.append(Segment(seg.kind, s, e, text[s:e], seg.header, seg.header_start,
                               seg.label, seg.indent))
    return out


def segment(text: str, default_kind: str = "inclusion") -> list[Segment]:
    pdq = _PDQ_STYLE.search(text) is not None
    out: list[Segment] = []
    label: Segment | None = None
    out_since_label = False
    nested_under_label = False  # the label's items sit deeper than the label
    items = _merge_exception_lists(split_items(text, default_kind), text)
    for item in _join_alternatives(_nested_lists(items), text):
        if not pdq and _BARE_PDQ_LABEL.fullmatch(item.text):
            # A bare "Age" or "Hepatic" line outside PDQ text heads a few items and
            # states nothing (carried on as a label to the end of the section, it read
            # "At least 1 measurable lesion" as an age)
            label = None
            continue
        only = _LABEL_ONLY.match(item.text) or _BARE_PDQ_LABEL.fullmatch(item.text)
        if only and len(only.group("label").split()) <= 5:
            if label is not None and label.end >= item.start - 8 and label.kind == item.kind \
                    and not out_since_label:
                # "Concurrent medication:" then "Excluded:": one label, both parts
                label = Segment(item.kind, label.start, item.end,
                                f"{label.text} {item.text}")
            else:
                label = item
            out_since_label = False
            nested_under_label = False
            continue
        out_since_label = True
        if label is not None and label.kind != item.kind:
            label = None
        if label is not None and item.text.rstrip().endswith(":"):
            # "Absence of known hypersensitivity:" then its items, then "No underlying
            # conditions ..., including but not limited to:": an item opening a list of
            # its own ends the label (in flattened text it ran to the section's end and
            # its denial turned "WHO Performance status 0 - 2" round)
            label = None
        if label is not None and item.indent > label.indent:
            nested_under_label = True
        elif label is not None and nested_under_label and item.indent <= label.indent:
            # "- Other Malignancies:" with its items indented under it, then "-
            # Informed Consent: ..." back at the label's level: the label has ended
            # (carried on, it required a malignancy of the consent item)
            label = None
        if label is not None:
            kind = "exclusion" if _EXCLUDED_LABEL.search(label.text.split(":")[-2]
                                                         if ":" in label.text else label.text) \
                else item.kind
            item = Segment(kind, item.start, item.end, item.text, item.header, item.header_start,
                           indent=item.indent)
        for clause in split_clauses(text, item):
            if label is not None:
                clause = Segment(item.kind, clause.start, clause.end, clause.text, clause.header,
                                 clause.header_start, label.text)
            out.extend(_split_run_on(text, clause) if pdq else [clause])
    return out
