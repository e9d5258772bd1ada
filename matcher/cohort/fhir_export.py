"""A patient document (dict) as FHIR R4 resources, as a Bulk Data ``$export`` writes them.

Used by ``trialmatch synth --format ndjson`` to make FHIR test cohorts.  The
mapping is the inverse of what :mod:`matcher.fhir_in` reads, and lossy where FHIR
has no plain place for a field: findings (measurable disease, life expectancy,
pregnancy ...), ``cycles``, ``line``, ``setting`` and progression are not written,
and ``locally advanced`` is not kept as a disease status.  A patient given by
``age`` only gets a birth date half a year past that age before ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["RESOURCE_TYPES", "document_resources"]

RESOURCE_TYPES = ("Patient", "Condition", "Observation", "MedicationStatement", "Procedure")

_LOINC = "http://loinc.org"
_ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
_MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_PERFORMANCE_LOINC = {"ECOG": "89247-1", "Karnofsky": "89243-0"}


def _system(code: dict) -> str:
    return {"ICD-10-CM": _ICD10, "SNOMED CT": "http://snomed.info/sct",
            "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm"}.get(code["system"],
                                                                         code["system"])


def _concept(text: str, code: dict | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if code:
        concept["coding"] = [{"system": _system(code), "code": code["code"], "display": text}]
    return concept


def _status(code: str, system: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def document_resources(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of one patient document: the Patient first, each with a
    ``subject`` reference ``Patient/<id>`` and an id unique within the export."""
    pid = doc["id"]
    subject = {"reference": f"Patient/{pid}"}
    n = 0

    def rid() -> str:
        nonlocal n
        n += 1
        return f"{pid}-{n}"

    birth = doc.get("birth_date")
    if birth is None and doc.get("age") is not None:
        as_of = dt.date.fromisoformat(doc.get("as_of") or dt.date.today().isoformat())
        birth = (as_of - dt.timedelta(days=int(doc["age"] * 365.25) + 183)).isoformat()
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid}
    if birth:
        patient["birthDate"] = birth
    if doc.get("sex"):
        patient["gender"] = doc["sex"]
    out: list[dict[str, Any]] = [patient]

    for dx in doc.get("diagnoses", []):
        status = dx.get("status") or []
        res: dict[str, Any] = {
            "resourceType": "Condition", "id": rid(), "subject": subject,
            "meta": {"profile": [_MCODE + ("mcode-secondary-cancer-condition"
                                           if "metastatic" in status
                                           else "mcode-primary-cancer-condition")]},
            "clinicalStatus": _status("recurrence" if "recurrent" in status else "active",
                                      _CLINICAL),
            "code": _concept(dx["condition"], dx.get("code")),
        }
        if dx.get("histology"):
            res["extension"] = [{"url": _MCODE + "mcode-histology-morphology-behavior",
                                 "valueCodeableConcept": {"text": dx["histology"]}}]
        if dx.get("site"):
            res["bodySite"] = [{"text": dx["site"]}]
        if dx.get("stage"):
            res["stage"] = [{"summary": {"text": dx["stage"]}}]
        if dx.get("date"):
            res["onsetDateTime"] = dx["date"]
        out.append(res)

    for c in doc.get("conditions", []):
        res = {"resourceType": "Condition", "id": rid(), "subject": subject,
               "code": _concept(c["name"], c.get("code"))}
        status = c.get("status", "active")
        if status == "absent":
            res["verificationStatus"] = _status("refuted", _VERIFICATION)
        else:
            res["clinicalStatus"] = _status("active" if status == "active" else "resolved",
                                            _CLINICAL)
        if c.get("onset"):
            res["onsetDateTime"] = c["onset"]
        if c.get("date"):
            res["recordedDate"] = c["date"]
        out.append(res)

    for p in doc.get("performance_status", []):
        res = {"resourceType": "Observation", "id": rid(), "status": "final",
               "subject": subject,
               "code": {"coding": [{"system": _LOINC, "code": _PERFORMANCE_LOINC[p["scale"]]}],
                        "text": f"{p['scale']} performance status"},
               "valueInteger": p["value"]}
        if p.get("date"):
            res["effectiveDateTime"] = p["date"]
        out.append(res)

    for b in doc.get("biomarkers", []):
        res = {"resourceType": "Observation", "id": rid(), "status": "final",
               "subject": subject, "meta": {"profile": [_MCODE + "mcode-tumor-marker-test"]},
               "code": {"text": b["name"]}}
        if b.get("result") is not None:
            res["valueCodeableConcept"] = {"text": b["result"]}
        if b.get("value") is not None:
            quantity: dict[str, Any] = {"value": b["value"]}
            if b.get("unit"):
                quantity["unit"] = b["unit"]
            res["valueQuantity"] = quantity
        if b.get("method"):
            res["method"] = {"text": b["method"]}
        if b.get("date"):
            res["effectiveDateTime"] = b["date"]
        out.append(res)

    for lab in doc.get("labs", []):
        code = lab.get("code")
        concept: dict[str, Any] = {"text": lab.get("name") or code["code"]}
        if code:
            concept["coding"] = [{"system": _system(code), "code": code["code"]}]
        res = {"resourceType": "Observation", "id": rid(), "status": "final",
               "subject": subject, "code": concept}
        if lab.get("value") is not None:
            res["valueQuantity"] = {"value": lab["value"], "unit": lab["unit"]}
            bounds = {}
            if lab.get("upper_limit_normal") is not None:
                bounds["high"] = {"value": lab["upper_limit_normal"], "unit": lab["unit"]}
            if lab.get("lower_limit_normal") is not None:
                bounds["low"] = {"value": lab["lower_limit_normal"], "unit": lab["unit"]}
            if bounds:
                res["referenceRange"] = [bounds]
        else:
            res["valueString"] = lab["result"]
        if lab.get("date"):
            res["effectiveDateTime"] = lab["date"]
        out.append(res)

    for t in doc.get("treatments", []):
        period = {k: t[k] for k in ("start", "end") if t.get(k)}
        done = "in-progress" if t.get("ongoing") else "completed"
        if t["kind"] == "drug":
            res = {"resourceType": "MedicationStatement", "id": rid(), "subject": subject,
                   "status": "active" if t.get("ongoing") else "completed",
                   "medicationCodeableConcept": _concept(t["name"], t.get("code"))}
            if period:
                res["effectivePeriod"] = period
        else:
            res = {"resourceType": "Procedure", "id": rid(), "subject": subject,
                   "status": done, "code": _concept(t["name"], t.get("code"))}
            if t["kind"] == "radiotherapy":
                res["meta"] = {"profile": [_MCODE + "mcode-radiotherapy-course-summary"]}
            elif t["kind"] == "surgery":
                res["meta"] = {"profile": [_MCODE + "mcode-cancer-related-surgical-procedure"]}
            if period:
                res["performedPeriod"] = period
        out.append(res)
    return out
