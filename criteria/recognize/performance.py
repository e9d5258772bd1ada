"""Performance status: ECOG / WHO / Zubrod (one scale) and Karnofsky."""

from __future__ import annotations

import re

from criteria import ir
from criteria.grammar import comparator
from criteria.recognize.base import Clause, Found, mentions_any, negated

# Acronyms match with their case ("WHO" is not "who", "PS" not "ps").
_ECOG = re.compile(
    r"\b(?:ECOG|WHO|PS|(?i:Eastern\s+Cooperative\s+(?:Oncology\s+)?Group|World\s+Health\s+"
    r"Organi[sz]ation|Zubrod|ecog|performance\s+status))\b"
)
_KPS = re.compile(r"\b(?:Karnofsky|KPS|Lansky)\b", re.IGNORECASE)
_CMP = (r"(?:of\s+|is\s+|score\s+)?(?P<cmp>≤|£|<=|<\s*=|=<|<|≥|³|>=|>\s*=|>|at\s+most|"
        r"no\s+(?:more|greater)\s+than|not\s+(?:more|greater)\s+than|"
        r"less\s+th[ae]n\s+or\s+equal\s+to|at\s+least|greater\s+than\s+or\s+equal\s+to|"
        r"greater\s+than|more\s+than|higher\s+than|less\s+th[ae]n|lower\s+than|above|below|"
        r"of|=|:)?\s*")
# "0-1", "0～2", "0, 1 or 2", "0, 1" (a bare comma list only counts when its scores
# follow each other: see _listed); never the end of a number ("(WHO 2000)")
_SCORE_LIST = re.compile(
    r"(?<![\d.])(?P<a>[0-5])(?:\s*(?:-|–|~|～|to)\s*(?P<b>[0-5])|(?:\s*[,/]\s*[0-5])*\s*(?:,?\s*(?:or|and|&|/)\s*|"
    r"(?P<comma>,)\s*)(?P<c>[0-5]))?(?!\d|\.\d|\s*%|\s*(?:days?|weeks?|months?|years?|hours?)\b)"
)
# How far after the scale's name its score may start.
_REACH = 45
# What may follow a scale's name before its score without counting against the
# reach: "ECOG (Eastern Cooperative Oncology Group) performance status <= 2".
_NAME_TAIL = re.compile(r"(?:\s*\([^()]{1,60}\)|\s*(?i:performance\s+(?:status|score)|PS\b|"
                        r"score|scale))+")
# When the score is taken: "within 10 days prior to registration", "at entry".
_ASSESSED = re.compile(
    r"\s*,?\s*(?:(?:as\s+)?(?:documented|assessed|performed|obtained|measured|evaluated|determined)\s+)?"
    r"(?:within\s+(?:the\s+)?(?:\d+|\w+)\s*(?:days?|weeks?|hours?)\s+(?:prior\s+to|before|of)"
    r"|at\s+(?:the\s+time\s+of\s+)?)\s+(?:the\s+)?(?:(?:start|initiation|first\s+dose)\s+of\s+)?"
    r"(?:the\s+)?(?:study\s+|trial\s+)?(?:registration|enrol+ment|randomi[sz]ation|screening|entry|"
    r"treatment|drug|start|day\s+1|dosing|first\s+dose)(?:\s+of\s+(?:the\s+)?(?:study|trial)"
    r"(?:\s+(?:drug|treatment))?)?", re.IGNORECASE)
# The scale named again after its score: "0 or 1 on the Eastern Cooperative
# Oncology Group (ECOG) scale", "of 0 to 1 (ECOG criteria)".
_SCALE_AFTER = re.compile(
    r"\s*(?:(?:on|by|according\s+to|per|using|in)\s+(?:the\s+)?)?\(?\s*(?:ECOG|WHO|Zubrod|"
    r"(?i:eastern\s+cooperative\s+(?:oncology\s+)?group|world\s+health\s+organi[sz]ation))"
    r"(?:\s*\([^()]{1,60}\))?(?:\s*(?i:performance\s+(?:status|scale|score)|PS\b))?"
    r"(?:\s*(?i:scale|criteria|score|grade))?\s*\)?")


def _listed(m: re.Match[str], op: str | None) -> str | None:
    """The highest score of a list, or None when "2, 3 months" is no list: a
    bare comma list needs no comparator before it and consecutive scores."""
    hi = m.group("b") or m.group("c")
    if hi is None or not m.group("comma"):
        return hi
    scores = [int(x) for x in re.findall(r"[0-5]", m.group(0)[m.start("a") - m.start():])]
    consecutive = scores == list(range(scores[0], scores[0] + len(scores)))
    return hi if op is None and consecutive else None
_ECOG_SCORE = re.compile(_CMP + _SCORE_LIST.pattern, re.IGNORECASE)
_KPS_VALUE = re.compile(r"(?P<a>\d{2,3})\s*%?(?:\s*(?:-|–|~|～|to)\s*(?P<b>\d{2,3})\s*%?)?")
_KPS_SCORE = re.compile(_CMP + _KPS_VALUE.pattern, re.IGNORECASE)


def _op(text: str | None) -> str | None:
    if not text or text.strip().lower() in ("of", "=", ":"):
        return None
    words = {"at most": "<=", "at least": ">="}
    t = re.sub(r"\s+", " ", text.strip().lower())
    if t in words:
        return words[t]
    try:
        return comparator(text.strip() + (" " if t[-1].isalpha() else ""))
    except ValueError:
        return None


_GATE = ("ecog", "eastern", "who", "world", "zubrod", "performance", "ps", "karnofsky", "kps",
         "lansky")


# "2 or more", "70% or higher": the direction is written after the number.
_AFTER = re.compile(r"\s*(?:%\s*)?(?:or|and)\s+(?:(?P<up>more|higher|greater|above|over|worse)|"
                    r"(?P<down>less|lower|below|under|fewer|better))\b", re.IGNORECASE)


def _direction(text: str, end: int, op: str | None) -> tuple[str | None, int]:
    after = _AFTER.match(text, end)
    if after is None:
        return op, end
    if after.group("up"):
        return ">=", after.end()
    return "<=", after.end()


def _found(text: str, node: ir.Node, start: int, end: int) -> Found:
    """"Must not have ECOG 2 or more", "No Karnofsky below 60%": negated."""
    neg, cue = negated(text, start)
    if neg and cue:
        return Found(ir.Not(item=node), start, end, "performance_status",
                     spans=[(start, end), cue])
    return Found(node, start, end, "performance_status")


def recognize(clause: Clause) -> list[Found]:
    text = clause.text
    out: list[Found] = []
    if not mentions_any(text, _GATE):
        return out
    kps = _KPS.search(text)
    if kps:
        m = _KPS_SCORE.search(text, kps.end())
        if m and m.start() <= kps.end() + 75:
            a, b = int(m.group("a")), m.group("b")
            op = _op(m.group("cmp"))
            if b is not None:  # "60-100%": at least the lower bound
                node = ir.PerformanceAtom(scale="Karnofsky", op=">=", value=min(a, int(b)))
            end = m.end()
            if b is None:
                op, end = _direction(text, end, op)
                node = ir.PerformanceAtom(scale="Karnofsky", op=op or ">=", value=a)
            if 0 <= node.value <= 100:
                out.append(_found(text, node, kps.start(), end))
    ecog = _ECOG.search(text)
    if ecog and not (kps and ecog.start() >= kps.start() and ecog.end() <= kps.end() + 25):
        # The score must start near the name, but may end past that reach ("(ECOG) 0-1").
        name_end = ecog.end()
        if tail := _NAME_TAIL.match(text, name_end):
            name_end = tail.end()
        m = _ECOG_SCORE.search(text, ecog.end())
        if m and m.start() > name_end + _REACH:
            m = None
        if m and not _KPS.search(text, ecog.end(), m.start()):
            op = _op(m.group("cmp"))
            a = int(m.group("a"))
            hi = _listed(m, op)
            if hi is not None:
                node: ir.Node = ir.PerformanceAtom(scale="ECOG", op="<=", value=int(hi))
                if min(a, int(hi)) > 0:
                    node = ir.And(items=(ir.PerformanceAtom(scale="ECOG", op=">=", value=a),
                                         node))
            end = m.end()
            if hi is None:
                op, end = _direction(text, end, op)
                node = ir.PerformanceAtom(scale="ECOG", op=op or "==", value=a)
            if after := _SCALE_AFTER.match(text, end):
                end = after.end()
            if when := _ASSESSED.match(text, end):
                end = when.end()
            out.append(_found(text, node, ecog.start(), end))
    return out
