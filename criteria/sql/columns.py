"""Column names of the normalized cohort table the generated SQL reads.

One row per patient (``matcher.cohort.tables`` builds it from the same facts
the per-patient evaluator reads, ``matcher.facts``):

* scalars: ``patient_id``, ``history_complete`` (the assume-absent policy),
  ``age``, ``sex``, ``participation_days_ago``;
* structs, NULL when the patient has no such fact: ``perf_ecog`` /
  ``perf_karnofsky`` {low, high, days_ago}; one column per lab analyte the
  criteria read {value, x_uln, x_lln, result, days_ago, problem}; one per
  biomarker {result, value, method, days_ago};
* one typed column per finding the criteria read;
* lists of structs, empty (never NULL) when nothing is recorded: ``diagnoses``,
  ``treatments``, ``conditions`` (fields as in ``matcher.facts``).

Ids of analytes, biomarkers and findings may hold characters that are not SQL
identifiers; their columns get a sanitized name plus a short digest.
"""

from __future__ import annotations

import hashlib
import re

PATIENT_ID = "patient_id"
HISTORY_COMPLETE = "history_complete"
AGE = "age"
SEX = "sex"
PARTICIPATION_DAYS = "participation_days_ago"
DIAGNOSES = "diagnoses"
TREATMENTS = "treatments"
CONDITIONS = "conditions"

# findings{} keys of the patient document and the type of their fact.
FINDING_TYPES: dict[str, type] = {
    "measurable_disease": bool,
    "life_expectancy_weeks": float,
    "tumor_tissue_available": bool,
    "pregnant": bool,
    "breastfeeding": bool,
    "childbearing_potential": bool,
    "brain_metastases": str,
}

_PLAIN = re.compile(r"[a-z][a-z0-9_]*")


def _name(prefix: str, key: str) -> str:
    if _PLAIN.fullmatch(key):
        return f"{prefix}_{key}"
    cleaned = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:6]
    return f"{prefix}_{cleaned}_{digest}"


def performance(scale: str) -> str:
    return f"perf_{scale.lower()}"


def lab(analyte: str) -> str:
    return _name("lab", analyte)


def biomarker(marker: str) -> str:
    return _name("bm", marker)


def finding(key: str) -> str:
    return _name("finding", key)
