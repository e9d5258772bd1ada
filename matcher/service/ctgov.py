"""Pull studies from the ClinicalTrials.gov API v2 (``/api/v2/studies``).

Used by ``trialmatch trials fetch`` and ``POST /v1/trials/refresh``.  The
base URL is configurable (``TRIALMATCH_CTGOV_URL``), and tests hand in an
httpx transport serving recorded responses.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
MAX_PAGE_SIZE = 1000


class FetchError(Exception):
    """ClinicalTrials.gov could not be reached or answered with an error."""


def base_url() -> str:
    return os.environ.get("TRIALMATCH_CTGOV_URL", DEFAULT_BASE_URL).rstrip("/")


def fetch_studies(condition: str | None = None, term: str | None = None,
                  status: list[str] | None = None, limit: int = 100,
                  transport: httpx.BaseTransport | None = None,
                  url: str | None = None, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Studies matching the query, following ``nextPageToken`` up to ``limit``."""
    params: dict[str, Any] = {"format": "json", "pageSize": min(limit, MAX_PAGE_SIZE)}
    if condition:
        params["query.cond"] = condition
    if term:
        params["query.term"] = term
    if status:
        params["filter.overallStatus"] = ",".join(status)
    studies: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=url or base_url(), transport=transport,
                          timeout=timeout) as client:
            while len(studies) < limit:
                response = client.get("/studies", params=params)
                if response.status_code != 200:
                    raise FetchError(f"ClinicalTrials.gov answered HTTP {response.status_code}")
                page = response.json()
                if not isinstance(page, dict) or not isinstance(page.get("studies"), list):
                    raise FetchError("ClinicalTrials.gov answered with no studies list")
                studies.extend(page["studies"])
                token = page.get("nextPageToken")
                if not token:
                    break
                params["pageToken"] = token
    except httpx.HTTPError as exc:
        raise FetchError(f"ClinicalTrials.gov not reachable ({type(exc).__name__})") from None
    except ValueError:
        raise FetchError("ClinicalTrials.gov answered with invalid JSON") from None
    return studies[:limit]
