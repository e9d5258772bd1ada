"""Criteria that need a person: consent, investigator judgement, compliance.
They are recognized so that they are reported as such, never guessed."""

from __future__ import annotations

import re

REVIEW_ONLY: list[tuple[str, str]] = [
    (r"informed\s+consent|consent\s+form|\bsign(?:ed)?\b[^.;]{0,30}\bconsent", "consent"),
    (r"(?:judge?ment|opinion|discretion|assessment)\s+of\s+(?:the\s+)?(?:treating\s+)?"
     r"(?:investigator|physician|clinician|sponsor)|investigator'?s?\s+(?:judge?ment|opinion)|"
     r"(?:investigator|physician)\s+(?:considers?|deems?|judges?|believes?)", "judgement"),
    (r"\b(?:compliance|comply|compliant|adhere|adherence)\b", "compliance"),
    (r"\b(?:willing|willingness|able\s+to\s+understand|ability\s+to\s+understand|"
     r"unable\s+to\s+understand)\b", "capacity"),
    (r"\bgeographic\w*|\bfollow-?up\s+visits?\b", "logistics"),
    (r"\bcontracept\w+|\bbirth\s+control\b", "contraception"),
]
_REVIEW_RE = [(re.compile(p, re.IGNORECASE), family) for p, family in REVIEW_ONLY]


def review_family(text: str) -> str | None:
    """The non-computable family of a clause, if it is one."""
    for pattern, family in _REVIEW_RE:
        if pattern.search(text):
            return family
    return None
