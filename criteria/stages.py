"""Cancer stage groups (AJCC/UICC, Ann Arbor, FIGO roman numerals), read the
same way in eligibility text and in patient records.

A stage is a group (0, I, II, III, IV) and an optional substage letter
(IIIB).  A criterion lists the stages it accepts as tokens: a group ("III",
any substage of it) or a substage ("IIIB").  A patient record gets keys: its
group and its substage ("III", "IIIB"), or, when only the group is recorded,
the group and a *maybe* key ("III", "~III"): a record of stage III might be
IIIB, so a criterion asking for IIIB is unknown for it, never a fail.
"""

from __future__ import annotations

import re
from functools import lru_cache

GROUPS: tuple[str, ...] = ("0", "I", "II", "III", "IV")
# Substage letters each group is written with across staging systems (NSCLC
# IIIC, melanoma IIID, head and neck IVC, FIGO IC).
SUBSTAGES: dict[str, str] = {"0": "", "I": "ABC", "II": "ABC", "III": "ABCD", "IV": "ABC"}
_ARABIC = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}

_GROUP = r"(?:IV|III|II|I|0)"
# One stage: roman group, optional substage letter ("IIIb" too); no sub-substage
# digits ("IB2" is left to a person: the letter alone would widen it).
STAGE = _GROUP + r"[A-Da-d]?(?![\w-]*\d)"
_ONE = re.compile(r"(?P<g>IV|III|II|I|0)(?P<s>[A-Da-d])?")
# In a patient record: "IIIB", "Stage IVA", "stage 3", "cT3N1M0 stage III".
_RECORD = re.compile(r"^\s*(?:(?:AJCC|TNM|FIGO|clinical|pathologic(?:al)?|c|p)\s*)*"
                     r"(?:stage\s*)?(?P<g>IV|III|II|I|0|[0-4])(?P<s>[A-Da-d])?\s*$|"
                     r"\bstage\s*(?:group\s*)?(?P<g2>IV|III|II|I|[0-4])(?P<s2>[A-Da-d])?\b",
                     re.IGNORECASE)


def parse(token: str) -> tuple[str, str] | None:
    """"IIIb" -> ("III", "B"); None when it is not one stage."""
    m = _ONE.fullmatch(token.strip())
    if m is None:
        return None
    group, sub = m.group("g"), (m.group("s") or "").upper()
    if sub and sub not in SUBSTAGES[group]:
        return None
    return group, sub


def _ordered() -> list[str]:
    """Every stage in order: 0, I, IA, IB, IC, II, IIA, ..."""
    out = []
    for g in GROUPS:
        out.append(g)
        out.extend(g + s for s in SUBSTAGES[g])
    return out


_ORDER = _ordered()


def span(first: str, last: str) -> tuple[str, ...] | None:
    """The stages from ``first`` to ``last``, as tokens: "IB-IIIA" -> IB, IC,
    II, IIIA; "III-IVB" -> III, IVA, IVB; "I-III" -> I, II, III."""
    a, b = parse(first), parse(last)
    if a is None or b is None:
        return None
    lo, hi = _ORDER.index(a[0] + a[1]), _ORDER.index(b[0] + b[1])
    if lo > hi:
        return None
    tokens: list[str] = []
    for g in GROUPS:
        start, end = _ORDER.index(g), _ORDER.index(g) + len(SUBSTAGES[g])
        if lo <= start and (end <= hi or (b[0] == g and not b[1])):
            tokens.append(g)  # the whole group is in the range
            continue
        tokens.extend(_ORDER[i] for i in range(max(lo, start + 1), min(hi, end) + 1))
    return tuple(tokens)


def maybe_tokens(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The keys of records that might be in ``tokens``: a record of group III
    might be the IIIB asked for."""
    return tuple(dict.fromkeys("~" + parse(t)[0] for t in tokens
                               if (p := parse(t)) is not None and p[1]))


@lru_cache(maxsize=4096)
def record_keys(stage: str | None, metastatic: bool = False) -> tuple[str, ...]:
    """A patient record's stage keys.  A record says metastatic without a stage:
    stage IV (distant metastasis is stage IV in the AJCC, UICC and Ann Arbor
    systems), substage unknown.  Text that is no stage group (a bare TNM) gives
    no keys: unknown."""
    m = _RECORD.search(stage) if stage else None
    if m is not None:
        group = m.group("g") or m.group("g2")
        sub = (m.group("s") or m.group("s2") or "").upper()
        group = _ARABIC.get(group, group.upper())
        if sub and sub not in SUBSTAGES[group]:
            sub = ""
        return (group, group + sub) if sub else (group, "~" + group)
    if metastatic:
        return ("IV", "~IV")
    return ()
