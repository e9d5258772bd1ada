"""Criteria that need a person: consent, investigator judgement, compliance.
They are recognized so that they are reported as such, never guessed."""

from __future__ import annotations

import re
from functools import lru_cache

REVIEW_ONLY: list[tuple[str, str]] = [
    (r"informed\s+consent|consent\s+form|\bsign(?:ed)?\b[^.;]{0,30}\bconsent", "consent"),
    (r"(?:judge?ment|opinion|discretion|assessment)\s+of\s+(?:the\s+)?(?:treating\s+)?"
     r"(?:investigator|physician|clinician|sponsor)|investigator'?s?\s+(?:judge?ment|opinion)|"
     r"(?:investigator|physician)\s+(?:considers?|deems?|judges?|believes?)", "judgement"),
    (r"\b(?:compliance|comply|compliant|adhere|adherence)\b", "compliance"),
    (r"\b(?:willing|willingness|able\s+to\s+understand|ability\s+to\s+understand|"
     r"unable\s+to\s+understand)\b", "capacity"),
    (r"\bgeographic\w*|\bfollow-?up\s+visits?\b", "logistics"),
    # What a patient may do once enrolled is a rule of the study, not a fact of history.
    (r"\b(?:while|during)\s+(?:on\s+)?(?:the\s+)?(?:study|trial|treatment\s+period)\b|"
     r"\bon\s+study\b|"
     # "must be able to avoid close contact with children < 3 years of age, pregnant
     # women, ...": whom the patient must keep away from, not the patient
     r"\bavoid\w*\s+(?:close\s+|direct\s+)?contact\s+with\b", "conduct"),
    (r"\bcontracept\w+|\bbirth\s+control\b", "contraception"),
]
# Lower-case words without which a family's pattern cannot match: most clauses
# lack all of them and are not searched at all.
_NEEDS: dict[str, tuple[str, ...]] = {
    "consent": ("consent",),
    "judgement": ("investigator", "physician", "clinician", "sponsor"),
    "compliance": ("complian", "comply", "adhere"),
    "capacity": ("willing", "understand"),
    "logistics": ("geographic", "follow"),
    "conduct": ("study", "trial", "period", "contact"),
    "contraception": ("contracept", "birth"),
}
_FAMILIES = [(family, re.compile(p, re.IGNORECASE), _NEEDS[family]) for p, family in REVIEW_ONLY]


@lru_cache(maxsize=8192)
def review_family(text: str) -> str | None:
    """The non-computable family of a clause, if it is one (first in table order)."""
    low = text.lower()
    for family, pattern, needs in _FAMILIES:
        if any(w in low for w in needs) and pattern.search(text):
            return family
    return None
