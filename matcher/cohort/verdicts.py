"""Verdicts and scores for whole result batches, equal to ``matcher.score``.

A trial's verdict and score depend only on how many of its criteria pass,
fail, are unknown or in review.  ``matcher.score.score`` sums credits that are
exact binary fractions (1, 1/2, 1/4, 0), so its share is exactly
``(4 pass + 2 review + unknown) / 4 / n``.  ``score_table`` evaluates the very
same float expression for every (verdict, 4 x credit) a trial of n criteria
can reach; the query computes each row's index into the table and the scores
are taken from it (no SQL ROUND, whose ties differ from Python's ``round``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from matcher.score import BANDS

VERDICTS = ("eligible", "possible", "ineligible")  # verdict code 0, 1, 2
# The query computes statuses as small integers (cheaper than strings); the
# result files show the words.
STATUSES = ("pass", "fail", "unknown", "review")
STATUS_CODES = {s: i for i, s in enumerate(STATUSES)}


@cache
def score_table(n: int) -> tuple[float, ...]:
    """Scores of a trial of ``n`` criteria, at ``code * (4n + 1) + 4 x credit``."""
    out: list[float] = []
    for v in VERDICTS:
        low, high = BANDS[v]
        width = (high - low) if v == "eligible" else (high - low) * 0.999
        for k4 in range(4 * n + 1):
            out.append(round(low, 4) if n == 0 else round(low + width * ((k4 / 4) / n), 4))
    return tuple(out)


def verdict_sql(count: Callable[[str], str], n: int, offset: int) -> tuple[str, str]:
    """SQL for a row's verdict code (``VERDICTS``) and its index into the score tables;
    ``count(status)`` is SQL counting the row's criteria with that status."""
    fail, unknown = count("fail"), count("unknown")
    code = f"CASE WHEN {fail} > 0 THEN 2 WHEN {unknown} > 0 THEN 1 ELSE 0 END"
    index = (f"{offset} + ({code}) * {4 * n + 1} + 4 * {count('pass')} + "
             f"2 * {count('review')} + {unknown}")
    return code, index
