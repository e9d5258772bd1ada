"""Tumour biomarkers: categorical results (HPV-negative, HER2-positive,
undetectable IL6) with the test method, and numeric scores (PD-L1 CPS >= 1)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from criteria import ir, vocab
from criteria.grammar import find_thresholds
from criteria.recognize.base import ANTI_BEFORE, Clause, Found, negated

_RESULT = re.compile(
    r"\b(?P<word>non-?\s?amplified|not\s+amplified|non-?\s?overexpress\w*|not\s+overexpress\w*|"
    r"wild[-\s]?type|"
    r"positive|negative|undetectable|detectable|not\s+detected|detected|"
    r"amplified|overexpress\w*|equivocal|low|high|deficient|proficient)\b"
    r"|(?P<plus>\+|\(\+\))(?![\d])|(?P<minus>[-−–]\s*(?:ve\b|$|(?=[\s,;.)])))",
    re.IGNORECASE,
)
_RESULT_WORD = {
    "positive": "positive", "negative": "negative", "undetectable": "undetectable",
    "not detected": "undetectable", "detectable": "positive", "detected": "positive",
    "amplified": "positive", "equivocal": "equivocal", "deficient": "positive",
    "proficient": "negative", "low": "low", "high": "high",
    "not amplified": "negative", "wild type": "negative", "wild-type": "negative",
    "wildtype": "negative",
}
# A marker's name that says the tumour carries the alteration ("EGFR mutation", "ALK
# rearrangement", "KRAS G12C"), unless it names the test or its status.
_ALTERED = re.compile(r"mutat|mutant|rearrange|fusion|translocation|amplifi|deletion|"
                      r"insertion|\b[A-Z]\d{2,4}[A-Z]\b|-positive|-mutated", re.IGNORECASE)
# ... read so only where the text states nothing else about it: whom a rule is for
# ("Participants with a known EGFR mutation must have received a TKI"), what a
# test or a sample is for ("tissue for detection of PIK3CA mutation"), a relative's.
_ALTERATION_CONTEXT = re.compile(
    r"\b(?:must|should|shall|will|receiv\w*|progress\w*|treat\w*|therap\w*|inhibitors?|"
    r"detect\w*|assess\w*|test\w*|determin\w*|tissue|samples?|specimens?|biopsy|submit\w*|"
    r"provide|family|relatives?|carriers?|if|when|unless|except|other|VUS|unknown)\b",
    re.IGNORECASE)
_IN_THE_GENE = re.compile(r"\b(?:mutations?|alterations?|rearrangements?|fusions?)\s+(?:in|of)\s+"
                          r"(?:the\s+)?$", re.IGNORECASE)
_BARE_EGFR = re.compile(r"\bEGFR\b")
_EGFR_HEAD_AFTER = re.compile(
    r"(?:\s*(?:\([A-Za-z0-9/-]{1,10}\)\s*)?(?:,\s*(?:and/or\s+|or\s+|and\s+)?|and/or|or|and|/|&)"
    r"\s*[A-Z][A-Za-z0-9/-]{1,10}(?:\s+[A-Z]\d{2,4}[A-Z]?)?)*(?:[\s-]+gene)?[\s-]+(?:mutations?|mutated|mutant|"
    r"alterations?|altered|aberrations?|wild[\s-]?type|sensitizing|activating)\b")
_ALTERATION_AFTER = re.compile(r"(?:[\s-]+gene)?[\s-]+(?:mutations?|mutated|mutant|alterations?|"
                               r"rearrangements?|rearranged|fusions?|translocations?|"
                               r"amplifications?|amplified)\b", re.IGNORECASE)
_VARIANT = re.compile(r"\b[A-Z]\d{2,4}[A-Z]?\b|\bexon\s*\d+", re.IGNORECASE)
_NOT_A_RESULT = re.compile(r"[\s-]*(?:status|test\w*|analys[ie]s|assessment|assay|results?|"
                           r"screening|sequencing|panel|unknown|negative|wild|"
                           r"(?:is|are|will\s+be|must\s+be)\s+(?:assessed|tested|determined|"
                           r"known|available|required|documented))\b", re.IGNORECASE)
_EITHER_SIGN = re.compile(r"\s*(?:or|and/or|/)\s*(?:[-−–+](?![\w])|\(\s*[-+]\s*\))")
# Either result, whichever: "hormone receptor positive or negative" asks nothing.
_EITHER = re.compile(r"\s*(?:or|and/or|/)\s*-?\s*(?:positive|negative)\b", re.IGNORECASE)
_METHOD = re.compile(r"\b(?:IHC|immunohistochemi\w+|PCR|RT-PCR|ISH|FISH|CISH|in\s+situ\s+"
                     r"hybridi[sz]ation|NGS|next[-\s]generation\s+sequencing|ELISA|"
                     r"sequencing)\b", re.IGNORECASE)


# HER2 immunohistochemistry scores: "0-1+", "0 or 1+", "1+", "2+", "3+" ("1+" is a
# negative result, not a plus sign).  0 and 1+ are negative, 2+ equivocal, 3+ positive.
_IHC_SCORES = re.compile(
    r"\s*(?:\(?IHC\)?\s*|by\s+IHC\s*|(?:IHC\s+)?(?:score|expression|status)\s*(?:of\s*)?|"
    r"[:=]\s*|of\s+)*"
    r"(?P<list>[0-3](?:\s*\+)?(?:\s*(?:-|–|/|,|or|to)\s*[0-3](?:\s*\+)?)*)(?![\d.%])"
    r"(?:\s*(?:by\s+)?\(?IHC\)?)?")
_IHC_CATEGORY = {0: "negative", 1: "negative", 2: "equivocal", 3: "positive"}


def _her2_scores(text: str, end: int) -> tuple[tuple[str, ...], int] | None:
    """The results a HER2 IHC score list right after the marker names, and its end."""
    m = _IHC_SCORES.match(text, end)
    if m is None or "+" not in m.group("list"):
        return None
    digits = [int(d) for d in re.findall(r"[0-3]", m.group("list"))]
    if re.search(r"\d\s*\+?\s*(?:-|–|to)\s*\d", m.group("list")):
        digits = list(range(min(digits), max(digits) + 1))  # "0-1+", "0 to 2+"
    results = tuple(dict.fromkeys(_IHC_CATEGORY[d] for d in sorted(digits)))
    return results, m.end()


# A HER2 result's definition in parentheses: scores, tests and their results only.
_HER2_DEFINITION = re.compile(
    r"\s*\(\s*(?P<body>(?:IHC|ISH|FISH|CISH|SISH|DISH|by|score|status|of|or|and|and/or|with|"
    r"confirmed|amplified|non-?\s?amplified|not\s+amplified|amplification|negative|positive|"
    r"[0-3]\s*\+?|[-+/,;]|\s)+)\)", re.IGNORECASE)


def _defines(result: str, body: str) -> bool:
    """The scores in ``body`` are the result's own (ASCO/CAP: 0 and 1+ negative,
    3+ positive, 2+ decided by ISH)."""
    scores = {int(d) for d in re.findall(r"(?<![\d.])([0-3])(?=\s*\+|\s*(?:or|,|-)\s*[0-3]\s*\+|"
                                          r"\s*\))", body)}
    ish_neg = re.search(r"non-?\s?amplified|not\s+amplified|negative|-\s*\)?$", body, re.I)
    ish_pos = re.search(r"(?<!non)(?<!non-)(?<!not )amplifi|positive|\+\s*\)?$", body, re.I)
    if result == "positive":
        return scores <= {3} or (scores <= {2, 3} and bool(ish_pos))
    if result in ("negative", "not amplified"):
        return scores <= {0, 1} or (scores <= {0, 1, 2} and bool(ish_neg))
    return False


# Between two markers that share the result written after the last one:
# "Estrogen Receptor (ER) and/or Progesterone Receptor (PR) positive", "ER, PR or
# HER2 positive".
_SHARED = re.compile(r"\s*(?:\([A-Za-z0-9/-]{1,10}\)\s*)?(?:,\s*(?:and/or\s+|or\s+|and\s+)?|"
                     r"and/or|or|and|/|&)\s*")


# The acronyms the vocabulary does not look for in running text ("PR" is also a
# partial response, "HR" a hazard ratio), where nothing else can be meant: with a
# result glued on ("HR-positive", "PgR+"), or listed with ER ("ER/PR", "ER or PR").
_BARE = re.compile(r"\b(?P<a>PR|PgR|HR)"
                   r"(?=\s*-?\s*(?:positive|negative|\+|−|-\s*(?:ve\b|[,;.)\s]|$)|"
                   r"(?:[<>≥≤]=?|=<|=>)\s*\d+(?:\.\d+)?\s*%))|"
                   r"(?<=\bER)\s*(?:,|and/or|or|and|/|&)\s*(?P<b>PR|PgR)\b")
_BARE_ID = {"pr": "pr", "pgr": "pr", "hr": "hormone-receptor"}


def _mentions(text: str) -> list[vocab.Mention]:
    """The markers in text order, without the acronym restated after a name
    ("Estrogen Receptor (ER)")."""
    found = list(vocab.find_biomarkers(text))
    if "R" in text:
        for b in _BARE.finditer(text):
            group = "a" if b.group("a") else "b"
            start, end = b.start(group), b.end(group)
            if not any(m.start <= start < m.end for m in found):
                found.append(vocab.Mention(_BARE_ID[b.group(group).lower()], start, end,
                                           b.group(group)))
        found.sort(key=lambda m: m.start)
    if "EGFR" in text:
        # "EGFR" alone names the gene, its receptor or its inhibitors; it is the
        # mutation where a list's alteration word follows ("EGFR or ALK alterations",
        # "EGFR and ALK wild-type") or "a mutation in the EGFR gene" precedes.
        for b in _BARE_EGFR.finditer(text):
            if not any(m.start <= b.start() < m.end for m in found) and (
                    _EGFR_HEAD_AFTER.match(text, b.end())
                    or _IN_THE_GENE.search(text, max(0, b.start() - 30), b.start())):
                found.append(vocab.Mention("egfr-mutation", b.start(), b.end(), b.group()))
        found.sort(key=lambda m: m.start)
    out: list[vocab.Mention] = []
    for m in found:
        if out and out[-1].id == m.id and re.fullmatch(r"\s*\(\s*", text[out[-1].end:m.start]):
            continue
        out.append(m)
    return out


def _altered(text: str, mentions: list[vocab.Mention], i: int) -> bool:
    """Does the text say the tumour carries marker ``i``'s alteration: its name says
    so ("EGFR mutation"), "a mutation in the EGFR gene", or a later marker of its
    list that shares the head noun ("No known EGFR, ROS1, ALK, or BRAF V600E
    mutation")?"""
    m = mentions[i]
    if m.id == "her2" and not re.search(r"amplifi", text[m.start:m.end + 30], re.IGNORECASE):
        return False  # a HER2 mutation is no HER2-positive disease (overexpressed or amplified)

    def names_it(x: vocab.Mention) -> bool:
        return bool(_ALTERED.search(x.text) or _ALTERATION_AFTER.match(text, x.end))

    if names_it(m) or _IN_THE_GENE.search(text, max(0, m.start - 30), m.start):
        return True
    return any(names_it(mentions[j]) for j in _listed_after(text, mentions, i))


def _listed_after(text: str, mentions: list[vocab.Mention], i: int) -> Iterator[int]:
    """The markers after marker ``i`` in its coordination ("ER, PR or HER2", "EGFR,
    ROS1, ALK, or BRAF"), in order, up to the first not joined to the one before."""
    for j in range(i + 1, len(mentions)):
        if not _SHARED.fullmatch(text, mentions[j - 1].end, mentions[j].start):
            return
        yield j


def _shared_result(text: str, mentions: list[vocab.Mention], i: int
                   ) -> re.Match[str] | None:
    """The result of a later marker this one shares by coordination."""
    for j in _listed_after(text, mentions, i):
        end = mentions[j + 1].start if j + 1 < len(mentions) else min(len(text),
                                                                    mentions[j].end + 30)
        hit = _RESULT.search(text, mentions[j].end, end)
        if hit is not None and hit.start() - mentions[j].end <= 12:
            return hit
    return None


# Receptors reported as the share of stained tumour cells (ASCO/CAP: 1% or more
# is positive).
_RECEPTORS = frozenset({"er", "pr", "hormone-receptor"})
_PERCENT = re.compile(r"\s*(?:\(\s*)?(?:(?:ER|PR|PgR|HR)\s*)?(?P<op>[<>≥≤]=?|=<|=>)\s*"
                      r"(?P<n>\d+(?:\.\d+)?)\s*%(?:\s*(?:of\s+)?(?:(?:invasive\s+)?(?:tumou?r\s+)?"
                      r"(?:cells?|nuclei))(?:\s+(?:stain\w*|positive))?)?\s*\)?", re.IGNORECASE)
_OPS = {"=<": "<=", "=>": ">=", "≥": ">=", "≤": "<="}


def _percent(marker: str, text: str, pos: int, end: int, has_result: bool
             ) -> tuple[ir.Node | None, tuple[int, int]] | None:
    """A receptor's share of stained cells ("ER >= 10%", "(>= 1% of tumour
    cells)"): the rule it adds to the result (None when the result says it:
    ">= 1%" is what positive means), and its span."""
    m = _PERCENT.match(text, pos, end)
    if m is None:
        return None
    op = _OPS.get(m.group("op"), m.group("op"))
    n = float(m.group("n"))
    up = op in (">", ">=")
    if n <= 1:
        if has_result:
            return None, m.span()
        results = ("positive",) if up else ("negative", "undetectable")
        return ir.BiomarkerAtom(marker=marker, results=results), m.span()
    share = ir.BiomarkerAtom(marker=marker, op=op, value=n)
    if up:
        # above the cut-off: positive, and a share the record must show
        node: ir.Node = share if has_result else ir.And(items=(
            ir.BiomarkerAtom(marker=marker, results=("positive",)), share))
        return node, m.span()
    # "ER < 10%": a negative result is below it too
    return ir.Or(items=(ir.BiomarkerAtom(marker=marker, results=("negative", "undetectable")),
                        share)), m.span()


def recognize(clause: Clause) -> list[Found]:
    text = clause.text
    out: list[Found] = []
    mentions = _mentions(text)
    cues: set[tuple[int, int]] = set()
    for i, m in enumerate(mentions):
        marker = vocab.biomarker(m.id)
        if marker is None or ANTI_BEFORE.search(text, max(0, m.start - 6), m.start):
            continue  # "anti-HER2 therapy" names a treatment, not the tumour's status
        scope_end = min(len(text), m.end + 60)
        nxt = mentions[i + 1:]
        if nxt:
            scope_end = min(scope_end, nxt[0].start)
        after = _RESULT.search(text, m.end, scope_end)
        shared = None
        if after is None and nxt and marker.kind != "numeric":
            shared = _shared_result(text, mentions, i)
        if after and after.start() - m.end > 45:
            after = None
        before = None
        for hit in _RESULT.finditer(text, max(0, m.start - 25), m.start):
            before = hit
        spans = [(m.start, m.end)]
        node: ir.Node | None = None
        if marker.kind == "numeric":
            for th in find_thresholds(text[m.end:scope_end]):
                node = ir.BiomarkerAtom(marker=marker.id, op=th.op, value=th.value)
                spans.append((m.end + th.start, m.end + th.end))
                break
        scored = _her2_scores(text, m.end) if marker.id == "her2" else None
        if node is None and scored is not None:
            results, score_end = scored
            if "negative" in results:
                results = (*results, "undetectable")
            node = ir.BiomarkerAtom(marker=marker.id, results=results, methods=("IHC",))
            spans.append((m.end, score_end))
        if node is None:
            hit = after or shared or before
            if hit is None and marker.id not in _RECEPTORS and _altered(text, mentions, i) \
                    and not _NOT_A_RESULT.match(text, m.end) and len(text) <= 160 \
                    and not _ALTERATION_CONTEXT.search(text):
                # "EGFR mutation", "ALK rearrangement", "BRAF V600E": the name says the
                # tumour carries it (left to a person, "Known EGFR mutation" excluded
                # nobody)
                node = ir.BiomarkerAtom(marker=marker.id, results=("positive",))
                if (head := _ALTERATION_AFTER.match(text, m.end)) is not None:
                    spans.append(head.span())
                if _VARIANT.search(m.text):
                    # "EGFR T790M", "KRAS G12C", "exon 20 insertion": one variant of
                    # the marker, which a record's result alone does not show: a
                    # positive result goes to a person (as a plain conjunct the review
                    # would be dropped and any KRAS mutation passed "KRAS G12C")
                    node = ir.And(items=(node, ir.Or(items=(ir.Review(text=m.text),
                                                            ir.Not(item=node)))))
                neg, cue = negated(text, m.start)
                if neg and cue:
                    node = ir.Not(item=node)
                    if cue not in cues:  # one denial of a list, counted once
                        spans.append(cue)
                        cues.add(cue)
                out.append(Found(node, min(s for s, _ in spans), max(e for _, e in spans),
                                 "biomarker", spans=spans))
                continue
            if hit is None:
                if marker.id in _RECEPTORS:
                    # "ER >= 10%", and "ER and/or PgR >= 1%" (a share after the last
                    # of markers joined, shared)
                    share = _percent(marker.id, text, m.end, scope_end, False)
                    j = i
                    if share is None:
                        for j in _listed_after(text, mentions, i):
                            share = _percent(marker.id, text, mentions[j].end,
                                             min(len(text), mentions[j].end + 40), False)
                            if share is not None:
                                break
                    if share is not None and share[0] is not None:
                        # (a share after a later marker is that marker's text to read)
                        node, span = share
                        own = [(m.start, m.end), span] if j == i else [(m.start, m.end)]
                        out.append(Found(node, m.start, own[-1][1], "biomarker", spans=own))
                continue
            if hit.group("word"):
                word = re.sub(r"\s+", " ", hit.group("word").lower())
                if word.startswith(("non", "not ")) and ("amplif" in word or "overexpress" in word):
                    word = "not amplified"  # "HER2 non-amplified": negative
                result = _RESULT_WORD.get(word) or ("positive" if word.startswith("overexpress")
                                                    else None)
                either = _EITHER.match(text, hit.end())
                if either is not None and word in ("positive", "negative") and \
                        word not in either.group(0).lower():
                    # "positive or negative": any result; understood, no requirement
                    out.append(Found(None, min(m.start, hit.start()), either.end(),
                                     "biomarker"))
                    continue
            else:
                result = "positive" if hit.group("plus") else "negative"
                either = _EITHER_SIGN.match(text, hit.end())
                if either is not None:
                    # "HPV+ or -": either result; understood, no requirement
                    out.append(Found(None, min(m.start, hit.start()), either.end(), "biomarker"))
                    continue
            if result is None:
                continue
            results = ("negative", "undetectable") if result == "negative" else (
                ("undetectable", "negative") if result == "undetectable" else (result,))
            if hit is not shared:
                spans.append((hit.start(), hit.end()))
            methods = []
            for meth in _METHOD.finditer(text):
                norm = vocab.normalize_method(meth.group(0))
                if norm and abs(meth.start() - m.start) < 120:
                    methods.append(norm)
                    spans.append((meth.start(), meth.end()))
            node = ir.BiomarkerAtom(marker=marker.id, results=results,
                                    methods=tuple(dict.fromkeys(methods)) or None)
            if marker.id == "her2" and hit is after:
                defined = _HER2_DEFINITION.match(text, hit.end())
                if defined is not None and _defines(result, defined.group("body")):
                    # "HER2-negative (IHC 0 or 1+)", "HER2 positive (IHC 3+ or ISH
                    # amplified)": the result's definition, restated
                    spans.append(defined.span())
        if marker.id in _RECEPTORS:
            at = max(e for _, e in spans)
            share = _percent(marker.id, text, at, scope_end if scope_end > at else len(text),
                             node is not None)
            if share is None and node is None:
                share = _percent(marker.id, text, m.end, scope_end, False)
            if share is not None:
                extra, span = share
                spans.append(span)
                if extra is not None:
                    node = extra if node is None else ir.And(items=(node, extra))
        if node is None:
            continue
        start = min(s for s, _ in spans)
        end = max(e for _, e in spans)
        out.append(Found(node, start, end, "biomarker", spans=spans))
    return out
