"""What a recognizer returns, and the clause it reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from criteria import ir


@dataclass
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
    r"cannot|may\s+not|neither|nor|non)\b",
    re.IGNORECASE,
)


def negated(text: str, start: int, scope: int = 40) -> tuple[bool, tuple[int, int] | None]:
    """Is the mention at ``start`` negated by a cue shortly before it, in the
    same clause part (no ';' or '.' between)?  Returns the cue span."""
    window_start = max(0, start - scope)
    window = text[window_start:start]
    cut = max(window.rfind(";"), window.rfind(". "))
    if cut >= 0:
        window_start += cut + 1
        window = text[window_start:start]
    hits = list(NEGATION.finditer(window))
    if not hits:
        return False, None
    cue = hits[-1]
    # "no ... or ..." keeps its scope; a positive verb in between ends it.
    between = window[cue.end():]
    if re.search(r"\b(?:but|except|unless|however|with|has|have|had)\b", between, re.IGNORECASE):
        return False, None
    return True, (window_start + cue.start(), window_start + cue.end())


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
