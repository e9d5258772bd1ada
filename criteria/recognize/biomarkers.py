"""Tumour biomarkers: categorical results (HPV-negative, HER2-positive,
undetectable IL6) with the test method, and numeric scores (PD-L1 CPS >= 1)."""

from __future__ import annotations

import re

from criteria import ir, vocab
from criteria.grammar import find_thresholds
from criteria.recognize.base import Clause, Found

_RESULT = re.compile(
    r"(?P<word>positive|negative|undetectable|detectable|not\s+detected|detected|"
    r"amplified|overexpress\w*|equivocal|low|high|deficient|proficient)"
    r"|(?P<plus>\+|\(\+\))(?![\d])|(?P<minus>[-−–]\s*(?:ve\b|$|(?=[\s,;.)])))",
    re.IGNORECASE,
)
_RESULT_WORD = {
    "positive": "positive", "negative": "negative", "undetectable": "undetectable",
    "not detected": "undetectable", "detectable": "positive", "detected": "positive",
    "amplified": "positive", "equivocal": "equivocal", "deficient": "positive",
    "proficient": "negative", "low": "low", "high": "high",
}
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


def recognize(clause: Clause) -> list[Found]:
    text = clause.text
    out: list[Found] = []
    for m in vocab.find_biomarkers(text):
        marker = vocab.biomarker(m.id)
        if marker is None:
            continue
        scope_end = min(len(text), m.end + 60)
        nxt = [x for x in vocab.find_biomarkers(text) if x.start > m.start]
        if nxt:
            scope_end = min(scope_end, nxt[0].start)
        after = _RESULT.search(text, m.end, scope_end)
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
            hit = after or before
            if hit is None:
                continue
            if hit.group("word"):
                word = re.sub(r"\s+", " ", hit.group("word").lower())
                result = _RESULT_WORD.get(word) or ("positive" if word.startswith("overexpress")
                                                    else None)
            else:
                result = "positive" if hit.group("plus") else "negative"
            if result is None:
                continue
            results = ("negative", "undetectable") if result == "negative" else (
                ("undetectable", "negative") if result == "undetectable" else (result,))
            spans.append((hit.start(), hit.end()))
            methods = []
            for meth in _METHOD.finditer(text):
                norm = vocab.normalize_method(meth.group(0))
                if norm and abs(meth.start() - m.start) < 120:
                    methods.append(norm)
                    spans.append((meth.start(), meth.end()))
            node = ir.BiomarkerAtom(marker=marker.id, results=results,
                                    methods=tuple(dict.fromkeys(methods)) or None)
        start = min(s for s, _ in spans)
        end = max(e for _, e in spans)
        out.append(Found(node, start, end, "biomarker", spans=spans))
    return out
