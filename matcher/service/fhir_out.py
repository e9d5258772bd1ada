"""The match answer as a FHIR R4 searchset Bundle of ResearchStudy resources.

The shape mCODE's clinical-trial-matching-service returns: one entry per
trial, ``search.mode`` "match" and ``search.score`` the engine's score.
Nothing is lost: each ResearchStudy carries the trial's verdict and every
criterion result in extensions (the whole contract result as JSON in one of
them), and the match's own fields (patient id, as-of date, unused data) come
in a Parameters entry with ``search.mode`` "outcome".
"""

from __future__ import annotations

import json
import re
from typing import Any

BASE = "https://trialmatch.dev/fhir/StructureDefinition/"
EXT_VERDICT = BASE + "match-verdict"
EXT_CRITERION = BASE + "criterion-result"
EXT_RESULT = BASE + "match-result-json"

# ClinicalTrials.gov overall status -> ResearchStudy.status (R4 value set).
_STATUS = {
    "RECRUITING": "active",
    "NOT_YET_RECRUITING": "approved",
    "ENROLLING_BY_INVITATION": "active",
    "ACTIVE_NOT_RECRUITING": "closed-to-accrual",
    "SUSPENDED": "temporarily-closed-to-accrual",
    "TERMINATED": "administratively-completed",
    "COMPLETED": "completed",
    "WITHDRAWN": "withdrawn",
}


def fhir_id(text: str) -> str:
    """A valid FHIR id ([A-Za-z0-9-.]{1,64}) from a trial id."""
    cleaned = re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:64]
    return cleaned or "trial"


def _criterion(c: dict[str, Any]) -> dict[str, Any]:
    parts = [{"url": key, "valueString": str(c[key])}
             for key in ("id", "kind", "status", "text", "reason") if c.get(key) is not None]
    return {"url": EXT_CRITERION, "extension": parts}


def research_study(result: dict[str, Any]) -> dict[str, Any]:
    study: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "id": fhir_id(result["trial_id"]),
        "identifier": [{"system": "https://clinicaltrials.gov", "value": result["trial_id"]}],
        "status": _STATUS.get(str(result.get("status", "")).upper(), "in-review"),
        "extension": [{"url": EXT_VERDICT, "valueCode": result["verdict"]},
                      *(_criterion(c) for c in result["criteria"]),
                      {"url": EXT_RESULT,
                       "valueString": json.dumps(result, ensure_ascii=False)}],
    }
    if result.get("title"):
        study["title"] = result["title"]
    return study


def searchset(answer: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:trialmatch:ResearchStudy/{fhir_id(r['trial_id'])}",
         "resource": research_study(r),
         "search": {"mode": "match", "score": r["score"]}}
        for r in answer["results"]]
    params: list[dict[str, Any]] = [
        {"name": "patient_id", "valueString": str(answer["patient_id"])},
        {"name": "as_of", "valueDate": answer["as_of"]},
        {"name": "assume_absent", "valueBoolean": bool(answer.get("assume_absent"))},
    ]
    params.extend({"name": "unused_data", "valueString": u} for u in answer["unused_data"])
    if "total_results" in answer:
        params.append({"name": "total_results", "valueInteger": answer["total_results"]})
    entries.append({"fullUrl": "urn:trialmatch:Parameters/match",
                    "resource": {"resourceType": "Parameters", "parameter": params},
                    "search": {"mode": "outcome"}})
    return {"resourceType": "Bundle", "type": "searchset",
            "total": answer.get("total_results", len(answer["results"])), "entry": entries}
