"""Trial verdict and score.

Verdict (contract): ``ineligible`` if any criterion fails, else ``possible``
if any is unknown, else ``eligible`` (criteria in review do not block).

Score in [0, 1]: the verdict's band plus how much of the trial is known to
be met.  Bands: eligible [2/3, 1], possible [1/3, 2/3), ineligible [0, 1/3).
Within a band the position is the share of criteria that pass, with review
counting half (a person still has to look) and unknown counting a quarter
(data still has to be collected), so sorting by score alone ranks every
eligible trial above every possible one, and the more a trial is already
known to fit, the higher it ranks within its verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

CREDIT = {"pass": 1.0, "review": 0.5, "unknown": 0.25, "fail": 0.0}
BANDS = {"eligible": (2 / 3, 1.0), "possible": (1 / 3, 2 / 3), "ineligible": (0.0, 1 / 3)}
VERDICT_ORDER = {"eligible": 0, "possible": 1, "ineligible": 2}


def verdict(statuses: Sequence[str]) -> str:
    if "fail" in statuses:
        return "ineligible"
    if "unknown" in statuses:
        return "possible"
    return "eligible"


def score(statuses: Sequence[str]) -> float:
    v = verdict(statuses)
    low, high = BANDS[v]
    if not statuses:
        return round(low, 4)
    share = sum(CREDIT[s] for s in statuses) / len(statuses)
    # Keep strictly inside the band's upper edge except for a perfect eligible trial.
    width = (high - low) if v == "eligible" else (high - low) * 0.999
    return round(low + width * share, 4)
