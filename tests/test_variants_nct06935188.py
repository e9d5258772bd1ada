"""Single-fact variants of an eligible patient for NCT06935188.

A base patient (contract patient-document format, as_of 2026-11-20) is eligible
for NCT06935188 under the assume-absent policy.  Each variant changes ONE fact;
the test asserts the verdict, the status of the criterion the change is about,
and that no OTHER criterion fails (a criterion that fails for a patient who
meets it is the worst defect the engine can have).

Expected values are decided from the eligibility text and the contract
(/work/shared/contract/README.md), not from the engine's output.  Where the
engine disagrees, the row is marked ``xfail(strict=True)`` with a diagnosis.
Where the text is genuinely ambiguous, a row accepts a set of statuses (never
one that is clearly wrong, e.g. ``pass`` for a criterion the patient violates).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from matcher.library import load_trials
from matcher.match import match_patient
from matcher.patient import parse_patient

TRIAL_ID = "NCT06935188"
AS_OF = date(2026, 11, 20)
REPO = Path(__file__).resolve().parents[1]


def ago(days: int) -> str:
    """The ISO date ``days`` days before as_of."""
    return (AS_OF - timedelta(days=days)).isoformat()


LAB_DATE = ago(8)

# ---------------------------------------------------------------- base patient

BASE: dict[str, Any] = {
    "id": "variant-base-nct06935188",
    "as_of": AS_OF.isoformat(),
    "birth_date": "1963-08-17",
    "sex": "male",
    "diagnoses": [
        {
            "condition": "squamous cell carcinoma of the oral tongue",
            "code": {"system": "ICD-10-CM", "code": "C02.1"},
            "histology": "squamous cell carcinoma",
            "confirmed_by": "histology",
            "site": "oral cavity",
            "stage": "IVB",
            "status": ["recurrent", "metastatic"],
            "date": "2023-03-02",
        }
    ],
    "performance_status": [{"scale": "ECOG", "value": 1, "date": LAB_DATE}],
    "biomarkers": [
        {"name": "HPV", "result": "negative", "method": "IHC", "date": "2023-03-10"},
        {"name": "PD-L1 CPS", "value": 20, "date": "2023-03-10"},
    ],
    "labs": [
        {"name": "hemoglobin", "value": 130, "unit": "g/L", "date": LAB_DATE},
        {"name": "white blood cell count", "value": 6.2, "unit": "10^9/L", "date": LAB_DATE},
        {"name": "absolute neutrophil count", "value": 3900, "unit": "/uL", "date": LAB_DATE},
        {"name": "platelet count", "value": 231, "unit": "10^9/L", "date": LAB_DATE},
        {"name": "total bilirubin", "value": 0.7, "unit": "mg/dL", "upper_limit_normal": 1.2,
         "date": LAB_DATE},
        {"name": "AST", "value": 24, "unit": "U/L", "upper_limit_normal": 40, "date": LAB_DATE},
        {"name": "ALT", "value": 19, "unit": "U/L", "upper_limit_normal": 40, "date": LAB_DATE},
        {"name": "creatinine", "value": 79, "unit": "umol/L", "upper_limit_normal": 110,
         "date": LAB_DATE},
        {"name": "creatinine clearance", "value": 88, "unit": "mL/min", "date": LAB_DATE},
        {"name": "blood urea nitrogen", "value": 14, "unit": "mg/dL", "date": LAB_DATE},
        {"name": "urine protein", "result": "negative", "date": LAB_DATE},
        {"name": "glucose", "value": 5.6, "unit": "mmol/L", "date": LAB_DATE},
        {"name": "FEV1", "value": 2.9, "unit": "L", "date": LAB_DATE},
        {"name": "HIV antibody", "result": "negative", "date": LAB_DATE},
        {"name": "syphilis antibody", "result": "negative", "date": LAB_DATE},
        {"name": "HBsAg", "result": "negative", "date": LAB_DATE},
        {"name": "HBcAb", "result": "negative", "date": LAB_DATE},
        {"name": "HCV antibody", "result": "negative", "date": LAB_DATE},
    ],
    "treatments": [
        {"kind": "surgery", "name": "partial glossectomy with neck dissection",
         "start": "2023-04-05"},
        {"kind": "radiotherapy", "name": "adjuvant radiotherapy", "start": "2023-05-10",
         "end": "2023-06-21", "setting": "adjuvant"},
        {"kind": "drug", "name": "cisplatin", "start": "2023-05-10", "end": "2023-06-21",
         "cycles": 3, "setting": "adjuvant"},
        {"kind": "drug", "name": "pembrolizumab", "start": "2025-02-03", "end": "2026-08-25",
         "cycles": 12, "setting": "recurrent/metastatic", "best_response": "stable disease",
         "progression": {"date": "2026-09-04", "confirmed_by": "imaging"}},
    ],
    "conditions": [],
    "findings": {
        "measurable_disease": {"value": True, "criteria": "RECIST 1.1", "largest_lesion_mm": 24},
        "life_expectancy_weeks": 26,
        "tumor_tissue_available": True,
    },
}

# Substrings naming the criteria (each matches exactly one criterion's text,
# or equals one criterion's text exactly).
AGE = "Age 18-75 years"
AGE_MIN = "Minimum age: 18 years"
AGE_MAX = "Maximum age: 75 years"
DIAG = "histologically confirmed post-surgical"
PD1 = "prior PD-1 immunotherapy"
HPV = "HPV viral testing"
TISSUE = "Availability of tumor tissue"
ECOG = "ECOG score of 0 or 1."
SURVIVAL = "Expected survival"
MARROW = "hemoglobin ≥ 100 g/L"
LIVER = "serum total bilirubin"
RENAL = "blood creatinine level below 1.5"
URINE = "Urine protein <+"
GLUCOSE = "Blood glucose: within normal range"
FEV1 = "baseline FEV1 of at least 2L"
MI_INC = "no myocardial infarction within 1 year"
UNSTABLE_ANGINA = "no unstable angina"
ARRHYTHMIA_INC = "no symptomatic severe arrhythmias"
CARDIAC_INSUFF = "no cardiac insufficiency"
ANTI_EGFR = "previously treated with cetuximab"
ANTINEOPLASTIC = "currently receiving antineoplastic"
OTHER_TRIAL = "clinical trial of another drug"
GROWTH_FACTOR = "hematopoietic stimulating factors"
HIV_SYPH = "Positive HIV antibody"
HEPATITIS = "active hepatitis B or C"
HYPERSENS = "Known hypersensitivity"
EFFUSION = "Massive pleural or ascites"
LUNG = "Active lung disease"
INFECTION = "Persistent or active (severe) infection"
POOR_DM = "Poorly controlled diabetes"
CHF_EXC = "Class III/IV congestive heart failure"
DVT = "Deep vein thrombosis or pulmonary embolism"
MI_EXC = "myocardial infarction"  # exact text of the exclusion item
ARRHYTHMIA_EXC = "severe or unstable arrhythmia or angina"
CORONARY = "percutaneous coronary intervention"
CVA = "cerebrovascular accident"
TRANSPLANT = "stem cell transplantation"
PSYCH = "psychotropic substance abuse"
MALIGNANCY = "other malignancies within five years"

# ---------------------------------------------------------------- doc edits

Change = Callable[[dict[str, Any]], None]


def _apply(target: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, value in fields.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def _find(items: list[dict[str, Any]], key: str, name: str) -> dict[str, Any] | None:
    for item in items:
        if str(item.get(key, "")).lower() == name.lower():
            return item
    return None


def lab(name: str, **fields: Any) -> Change:
    """Replace the lab called ``name`` (or add it) by a fresh record with ``fields``."""
    def change(doc: dict[str, Any]) -> None:
        record = {"name": name, "date": LAB_DATE, **fields}
        record = {k: v for k, v in record.items() if v is not None}
        existing = _find(doc["labs"], "name", name)
        if existing is not None:
            doc["labs"][doc["labs"].index(existing)] = record
        else:
            doc["labs"].append(record)
    return change


def add_lab(name: str, **fields: Any) -> Change:
    """Add another result for ``name`` (keeping the existing one)."""
    def change(doc: dict[str, Any]) -> None:
        doc["labs"].append({"name": name, "date": LAB_DATE, **fields})
    return change


def drop_lab(name: str) -> Change:
    def change(doc: dict[str, Any]) -> None:
        existing = _find(doc["labs"], "name", name)
        assert existing is not None, name
        doc["labs"].remove(existing)
    return change


def rename_lab(old: str, new: str) -> Change:
    def change(doc: dict[str, Any]) -> None:
        existing = _find(doc["labs"], "name", old)
        assert existing is not None, old
        existing["name"] = new
    return change


def lab_date(name: str, when: str) -> Change:
    def change(doc: dict[str, Any]) -> None:
        existing = _find(doc["labs"], "name", name)
        assert existing is not None, name
        existing["date"] = when
    return change


def cond(name: str, status: str = "active", **fields: Any) -> Change:
    """Add a condition record."""
    def change(doc: dict[str, Any]) -> None:
        doc["conditions"].append({"name": name, "status": status, **fields})
    return change


def treat(name: str, kind: str = "drug", **fields: Any) -> Change:
    """Add a treatment record."""
    def change(doc: dict[str, Any]) -> None:
        doc["treatments"].append({"kind": kind, "name": name, **fields})
    return change


def pembro(**fields: Any) -> Change:
    """Edit the pembrolizumab record (a field given as None is removed)."""
    def change(doc: dict[str, Any]) -> None:
        record = _find(doc["treatments"], "name", "pembrolizumab")
        assert record is not None
        _apply(record, fields)
    return change


def findings(**fields: Any) -> Change:
    def change(doc: dict[str, Any]) -> None:
        _apply(doc["findings"], fields)
    return change


def top(**fields: Any) -> Change:
    def change(doc: dict[str, Any]) -> None:
        _apply(doc, fields)
    return change


def age(years: int) -> Change:
    return top(birth_date=None, age=years)


def diagnosis(**fields: Any) -> Change:
    def change(doc: dict[str, Any]) -> None:
        _apply(doc["diagnoses"][0], fields)
    return change


def biomarker(name: str, record: dict[str, Any] | None) -> Change:
    """Replace (or with None remove) the biomarker called ``name``."""
    def change(doc: dict[str, Any]) -> None:
        existing = _find(doc["biomarkers"], "name", name)
        if existing is not None:
            doc["biomarkers"].remove(existing)
        if record is not None:
            doc["biomarkers"].append(record)
    return change


def performance(*records: dict[str, Any]) -> Change:
    def change(doc: dict[str, Any]) -> None:
        doc["performance_status"] = [{"date": LAB_DATE, **r} for r in records]
    return change


def both(*changes: Change) -> Change:
    """Several edits describing ONE clinical fact (e.g. a result and its follow-up test)."""
    def change(doc: dict[str, Any]) -> None:
        for c in changes:
            c(doc)
    return change


# ---------------------------------------------------------------- the table

Statuses = str | tuple[str, ...]


@dataclass(frozen=True)
class Case:
    id: str
    change: Change
    verdict: Statuses
    criterion: str
    status: Statuses
    also: tuple[tuple[str, Statuses], ...] = field(default=())
    xfail: str | None = None


ELIG = "eligible"
POSS = "possible"
INEL = "ineligible"
NOT_FAIL = ("pass", "review", "unknown")

CASES: list[Case] = [
    # ---- age and sex
    Case("age-17", age(17), INEL, AGE, "fail", also=((AGE_MIN, "fail"),)),
    Case("age-18", age(18), ELIG, AGE, "pass", also=((AGE_MIN, "pass"),)),
    Case("age-75", age(75), ELIG, AGE, "pass", also=((AGE_MAX, "pass"),)),
    Case("age-76", age(76), INEL, AGE, "fail", also=((AGE_MAX, "fail"),)),
    Case("birth-date-18th-birthday-on-as-of", top(birth_date="2008-11-20"), ELIG, AGE, "pass"),
    Case("birth-date-18th-birthday-tomorrow", top(birth_date="2008-11-21"), INEL, AGE, "fail",
         also=((AGE_MIN, "fail"),)),
    Case("birth-date-76th-birthday-tomorrow", top(birth_date="1950-11-21"), ELIG, AGE, "pass"),
    Case("birth-date-76th-birthday-on-as-of", top(birth_date="1950-11-20"), INEL, AGE, "fail",
         also=((AGE_MAX, "fail"),)),
    Case("sex-female", top(sex="female"), ELIG, AGE, "pass"),
    # ---- diagnosis
    Case("dx-locally-advanced", diagnosis(status=["locally advanced"]), ELIG, DIAG, "pass"),
    Case("dx-larynx-scc", diagnosis(condition="squamous cell carcinoma of the larynx",
                                    code={"system": "ICD-10-CM", "code": "C32.9"},
                                    site="larynx"), ELIG, DIAG, "pass"),
    Case("dx-confirmed-missing", diagnosis(confirmed_by=None), POSS, DIAG, "unknown"),
    Case("measurable-false", findings(measurable_disease=False), INEL, DIAG, "fail"),
    Case("measurable-missing", findings(measurable_disease=None), POSS, DIAG, "unknown"),
    Case("measurable-bool-true", findings(measurable_disease=True), ELIG, DIAG, "pass"),
    # ---- performance status
    Case("ecog-0", performance({"scale": "ECOG", "value": 0}), ELIG, ECOG, "pass"),
    Case("ecog-2", performance({"scale": "ECOG", "value": 2}), INEL, ECOG, "fail"),
    Case("karnofsky-80", performance({"scale": "Karnofsky", "value": 80}), ELIG, ECOG, "pass"),
    Case("karnofsky-90", performance({"scale": "Karnofsky", "value": 90}), ELIG, ECOG, "pass"),
    Case("karnofsky-60", performance({"scale": "Karnofsky", "value": 60}), INEL, ECOG, "fail"),
    Case("performance-missing", performance(), POSS, ECOG, "unknown"),
    # ---- HPV
    Case("hpv-positive", biomarker("HPV", {"name": "HPV", "result": "positive", "method": "IHC",
                                           "date": "2023-03-10"}), INEL, HPV, "fail"),
    # The text requires the IHC method: a PCR negative does not show it; it must
    # not pass (unknown: no IHC result; fail: defensible reading of "using IHC").
    Case("hpv-negative-by-pcr", biomarker("HPV", {"name": "HPV", "result": "negative",
                                                  "method": "PCR", "date": "2023-03-10"}),
         (POSS, INEL), HPV, ("unknown", "fail")),
    Case("hpv-negative-method-missing", biomarker("HPV", {"name": "HPV", "result": "negative",
                                                          "date": "2023-03-10"}),
         POSS, HPV, "unknown"),
    Case("hpv-missing", biomarker("HPV", None), POSS, HPV, "unknown"),
    # p16 IHC is the usual IHC surrogate for HPV: pass or unknown, never fail.
    Case("hpv-as-p16-ihc-negative", biomarker("HPV", {"name": "p16", "result": "negative",
                                                      "method": "IHC", "date": "2023-03-10"}),
         (ELIG, POSS), HPV, ("pass", "unknown")),
    # ---- tissue, survival
    Case("tissue-unavailable", findings(tumor_tissue_available=False), INEL, TISSUE, "fail"),
    Case("tissue-missing", findings(tumor_tissue_available=None), POSS, TISSUE, "unknown"),
    Case("survival-12-weeks", findings(life_expectancy_weeks=12), ELIG, SURVIVAL, "pass"),
    Case("survival-11-weeks", findings(life_expectancy_weeks=11), INEL, SURVIVAL, "fail"),
    Case("survival-missing", findings(life_expectancy_weeks=None), POSS, SURVIVAL, "unknown"),
    # ---- bone marrow
    Case("hb-100-g/L", lab("hemoglobin", value=100, unit="g/L"), ELIG, MARROW, "pass"),
    Case("hb-99-g/L", lab("hemoglobin", value=99, unit="g/L"), INEL, MARROW, "fail"),
    Case("hb-10.0-g/dL", lab("hemoglobin", value=10.0, unit="g/dL"), ELIG, MARROW, "pass"),
    Case("hb-9.9-g/dL", lab("hemoglobin", value=9.9, unit="g/dL"), INEL, MARROW, "fail"),
    Case("hb-10.5-g/dl-lowercase", lab("hemoglobin", value=10.5, unit="g/dl"), ELIG, MARROW,
         "pass"),
    Case("hb-as-Hgb", rename_lab("hemoglobin", "Hgb"), ELIG, MARROW, "pass"),
    # 7.0 mmol/L (monomer) = 112.8 g/L: pass if converted, unknown if not; never fail.
    Case("hb-7.0-mmol/L", lab("hemoglobin", value=7.0, unit="mmol/L"), (ELIG, POSS), MARROW,
         ("pass", "unknown")),
    Case("hb-unit-U/L", lab("hemoglobin", value=130, unit="U/L"), POSS, MARROW, "unknown"),
    Case("hb-stale-20-days", lab_date("hemoglobin", ago(20)), POSS, MARROW, "unknown"),
    Case("hb-dated-14-days", lab_date("hemoglobin", ago(14)), ELIG, MARROW, "pass"),
    Case("hb-dated-15-days", lab_date("hemoglobin", ago(15)), POSS, MARROW, "unknown"),
    Case("hb-missing", drop_lab("hemoglobin"), POSS, MARROW, "unknown"),
    Case("hb-older-low-newest-ok", add_lab("hemoglobin", value=90, unit="g/L", date=ago(12)),
         ELIG, MARROW, "pass"),
    Case("hb-older-ok-newest-low", add_lab("hemoglobin", value=95, unit="g/L", date=ago(2)),
         INEL, MARROW, "fail"),
    Case("wbc-4000-/uL", lab("white blood cell count", value=4000, unit="/uL"), ELIG, MARROW,
         "pass"),
    Case("wbc-4.0-x10^9/L", lab("white blood cell count", value=4.0, unit="x10^9/L"), ELIG,
         MARROW, "pass"),
    Case("wbc-4000-/mm3", lab("white blood cell count", value=4000, unit="/mm3"), ELIG, MARROW,
         "pass"),
    Case("wbc-4.0-10^3/uL", lab("white blood cell count", value=4.0, unit="10^3/uL"), ELIG,
         MARROW, "pass"),
    Case("wbc-low-anc-ok", lab("white blood cell count", value=3.5, unit="10^9/L"), ELIG, MARROW,
         "pass"),
    Case("wbc-ok-anc-low", lab("absolute neutrophil count", value=1500, unit="/uL"), ELIG,
         MARROW, "pass"),
    Case("wbc-low-anc-2.0", both(lab("white blood cell count", value=3.5, unit="10^9/L"),
                                 lab("absolute neutrophil count", value=2.0, unit="10^9/L")),
         ELIG, MARROW, "pass"),
    Case("wbc-low-anc-low", both(lab("white blood cell count", value=3.5, unit="10^9/L"),
                                 lab("absolute neutrophil count", value=1.9, unit="10^9/L")),
         INEL, MARROW, "fail"),
    Case("wbc-missing-anc-ok", drop_lab("white blood cell count"), ELIG, MARROW, "pass"),
    Case("wbc-low-anc-missing", both(lab("white blood cell count", value=3.5, unit="10^9/L"),
                                     drop_lab("absolute neutrophil count")),
         POSS, MARROW, "unknown"),
    Case("plt-100000-/uL", lab("platelet count", value=100000, unit="/uL"), ELIG, MARROW, "pass"),
    Case("plt-99-x10^9/L", lab("platelet count", value=99, unit="x10^9/L"), INEL, MARROW, "fail"),
    Case("plt-100-10^3/uL", lab("platelet count", value=100, unit="10^3/uL"), ELIG, MARROW,
         "pass"),
    # ---- liver
    Case("bili-1.5xULN-mg/dL", lab("total bilirubin", value=1.8, unit="mg/dL",
                                   upper_limit_normal=1.2), ELIG, LIVER, "pass"),
    Case("bili-1.6xULN-mg/dL", lab("total bilirubin", value=1.92, unit="mg/dL",
                                   upper_limit_normal=1.2), INEL, LIVER, "fail"),
    Case("bili-1.5xULN-umol/L", lab("total bilirubin", value=30, unit="umol/L",
                                    upper_limit_normal=20), ELIG, LIVER, "pass"),
    Case("bili-1.6xULN-umol/L", lab("total bilirubin", value=32, unit="µmol/L",
                                    upper_limit_normal=20), INEL, LIVER, "fail"),
    # Without the lab's own ULN: normal value is never a fail, a value far above
    # any adult ULN is never a pass.
    Case("bili-normal-no-uln", lab("total bilirubin", value=0.7, unit="mg/dL"), (ELIG, POSS),
         LIVER, ("pass", "unknown")),
    Case("bili-3.0-mg/dL-no-uln", lab("total bilirubin", value=3.0, unit="mg/dL"), (INEL, POSS),
         LIVER, ("fail", "unknown")),
    Case("ast-1.5xULN", lab("AST", value=60, unit="U/L", upper_limit_normal=40), ELIG, LIVER,
         "pass"),
    Case("ast-1.6xULN", lab("AST", value=64, unit="U/L", upper_limit_normal=40), INEL, LIVER,
         "fail"),
    Case("alt-1.6xULN", lab("ALT", value=64, unit="IU/L", upper_limit_normal=40), INEL, LIVER,
         "fail"),
    Case("ast-as-SGOT", rename_lab("AST", "SGOT"), ELIG, LIVER, "pass"),
    Case("alt-missing", drop_lab("ALT"), POSS, LIVER, "unknown"),
    # ---- renal
    Case("creat-1.6xULN-crcl-70", both(lab("creatinine", value=176, unit="umol/L",
                                           upper_limit_normal=110),
                                       lab("creatinine clearance", value=70, unit="mL/min")),
         ELIG, RENAL, "pass"),
    Case("creat-1.6xULN-crcl-60", both(lab("creatinine", value=176, unit="umol/L",
                                           upper_limit_normal=110),
                                       lab("creatinine clearance", value=60, unit="mL/min")),
         ELIG, RENAL, "pass"),
    Case("creat-1.6xULN-crcl-50", both(lab("creatinine", value=176, unit="umol/L",
                                           upper_limit_normal=110),
                                       lab("creatinine clearance", value=50, unit="mL/min")),
         INEL, RENAL, "fail"),
    Case("creat-1.5xULN-crcl-50", both(lab("creatinine", value=165, unit="umol/L",
                                           upper_limit_normal=110),
                                       lab("creatinine clearance", value=50, unit="mL/min")),
         INEL, RENAL, "fail"),
    Case("creat-ok-crcl-50", lab("creatinine clearance", value=50, unit="mL/min"), ELIG, RENAL,
         "pass"),
    Case("creat-mg/dL-1.6xULN-crcl-70", both(lab("creatinine", value=1.92, unit="mg/dL",
                                                 upper_limit_normal=1.2),
                                             lab("creatinine clearance", value=70,
                                                 unit="mL/min")),
         ELIG, RENAL, "pass"),
    Case("creat-mg/dL-1.6xULN-crcl-missing", both(lab("creatinine", value=1.92, unit="mg/dL",
                                                      upper_limit_normal=1.2),
                                                  drop_lab("creatinine clearance")),
         POSS, RENAL, "unknown"),
    Case("bun-20-mg/dL", lab("blood urea nitrogen", value=20, unit="mg/dL"), ELIG, RENAL, "pass"),
    Case("bun-21-mg/dL", lab("blood urea nitrogen", value=21, unit="mg/dL"), INEL, RENAL, "fail"),
    Case("bun-200-mg/L", lab("blood urea nitrogen", value=200, unit="mg/L"), ELIG, RENAL, "pass"),
    Case("bun-210-mg/L", lab("blood urea nitrogen", value=210, unit="mg/L"), INEL, RENAL, "fail"),
    # BUN reported in mmol/L (urea): 8.0 mmol/L = 22.4 mg/dL urea nitrogen
    Case("bun-8.0-mmol/L", lab("blood urea nitrogen", value=8.0, unit="mmol/L"), INEL, RENAL,
         "fail"),
    Case("bun-missing", drop_lab("blood urea nitrogen"), POSS, RENAL, "unknown"),
    # Serum urea 6.0 mmol/L carries 16.8 mg/dL urea nitrogen (<= 200 mg/L).
    Case("urea-6.0-mmol/L-instead-of-bun",
         both(drop_lab("blood urea nitrogen"), lab("urea", value=6.0, unit="mmol/L")),
         ELIG, RENAL, "pass"),
    # ---- urine protein
    Case("urine-trace", lab("urine protein", result="trace"), ELIG, URINE, "pass"),
    Case("urine-1+-24h-300", both(lab("urine protein", result="1+"),
                                  lab("24-hour urine protein", value=300, unit="mg/24h")),
         ELIG, URINE, "pass"),
    Case("urine-1+-24h-0.3-g", both(lab("urine protein", result="1+"),
                                    lab("24-hour urine protein", value=0.3, unit="g/24h")),
         ELIG, URINE, "pass"),
    Case("urine-1+-24h-600", both(lab("urine protein", result="1+"),
                                  lab("24-hour urine protein", value=600, unit="mg/24h")),
         INEL, URINE, "fail"),
    Case("urine-1+-24h-500", both(lab("urine protein", result="1+"),
                                  lab("24-hour urine protein", value=500, unit="mg/24h")),
         INEL, URINE, "fail"),
    Case("urine-2+-no-24h", lab("urine protein", result="2+"), POSS, URINE, "unknown"),
    # ---- glucose
    Case("glucose-100-mg/dL", lab("glucose", value=100, unit="mg/dL"), ELIG, GLUCOSE, "pass"),
    Case("glucose-high-no-diabetes", lab("glucose", value=9.0, unit="mmol/L"), INEL, GLUCOSE,
         "fail"),
    Case("glucose-high-diabetes-controlled",
         both(lab("glucose", value=9.0, unit="mmol/L"),
              cond("type 2 diabetes mellitus", controlled=True)),
         ELIG, GLUCOSE, "pass", also=((POOR_DM, "pass"),)),
    Case("glucose-stale-diabetes-controlled",
         both(lab_date("glucose", ago(30)), cond("type 2 diabetes mellitus", controlled=True)),
         ELIG, GLUCOSE, "pass"),
    Case("glucose-missing", drop_lab("glucose"), POSS, GLUCOSE, "unknown"),
    # ---- FEV1: the alternative is a surgeon's assessment -> never fail
    Case("fev1-2.0-L", lab("FEV1", value=2.0, unit="L"), ELIG, FEV1, "pass"),
    Case("fev1-2500-mL", lab("FEV1", value=2500, unit="mL"), ELIG, FEV1, "pass"),
    Case("fev1-1.8-L", lab("FEV1", value=1.8, unit="L"), (ELIG, POSS), FEV1,
         ("review", "unknown")),
    Case("fev1-1800-mL", lab("FEV1", value=1800, unit="mL"), (ELIG, POSS), FEV1,
         ("review", "unknown")),
    Case("fev1-missing", drop_lab("FEV1"), (ELIG, POSS), FEV1, ("review", "unknown")),
    # ---- prior PD-1 therapy
    Case("pd1-nivolumab", pembro(name="nivolumab"), ELIG, PD1, "pass"),
    Case("pd1-Opdivo", pembro(name="Opdivo"), ELIG, PD1, "pass"),
    Case("pd1-Keytruda", pembro(name="Keytruda"), ELIG, PD1, "pass"),
    Case("pd1-toripalimab", pembro(name="toripalimab"), ELIG, PD1, "pass"),
    Case("pd1-camrelizumab", pembro(name="camrelizumab"), ELIG, PD1, "pass"),
    Case("pd1-sintilimab", pembro(name="sintilimab"), ELIG, PD1, "pass"),
    Case("pd1-tislelizumab", pembro(name="tislelizumab"), ELIG, PD1, "pass"),
    Case("pd1-uppercase", pembro(name="PEMBROLIZUMAB"), ELIG, PD1, "pass"),
    Case("pd1-one-cycle", pembro(cycles=1), ELIG, PD1, "pass"),
    Case("pd1-replaced-by-cetuximab", pembro(name="cetuximab"), INEL, PD1, "fail",
         also=((ANTI_EGFR, "fail"),)),
    Case("pd1-ended-2-weeks-ago", pembro(end=ago(14), progression={"date": ago(10),
                                                                   "confirmed_by": "imaging"}),
         INEL, PD1, "fail"),
    Case("pd1-ended-28-days-ago", pembro(end=ago(28), progression={"date": ago(20),
                                                                   "confirmed_by": "imaging"}),
         ELIG, PD1, "pass"),
    Case("pd1-ended-27-days-ago", pembro(end=ago(27), progression={"date": ago(20),
                                                                   "confirmed_by": "imaging"}),
         INEL, PD1, "fail"),
    Case("pd1-ongoing", pembro(end=None, ongoing=True), INEL, PD1, "fail",
         also=((ANTINEOPLASTIC, "fail"),)),
    Case("pd1-no-progression", pembro(progression=None), (POSS, ELIG), PD1,
         ("unknown", "review")),
    Case("pd1-clinical-progression",
         pembro(progression={"date": "2026-09-04", "confirmed_by": "clinical"}),
         ELIG, PD1, ("pass", "review")),
    Case("pd1-end-date-missing", pembro(end=None), POSS, PD1, "unknown"),
    # ---- prior anti-EGFR
    Case("egfr-prior-cetuximab", treat("cetuximab", start="2023-05-10", end="2023-06-21"),
         INEL, ANTI_EGFR, "fail"),
    Case("egfr-prior-Erbitux", treat("Erbitux", start="2023-05-10", end="2023-06-21"),
         INEL, ANTI_EGFR, "fail"),
    Case("egfr-prior-panitumumab", treat("panitumumab", start="2024-01-10", end="2024-06-21"),
         INEL, ANTI_EGFR, "fail"),
    Case("egfr-prior-nimotuzumab", treat("nimotuzumab", start="2023-05-10", end="2023-06-21"),
         INEL, ANTI_EGFR, "fail"),
    Case("egfr-prior-gefitinib", treat("gefitinib", start="2024-01-10", end="2024-06-21"),
         INEL, ANTI_EGFR, "fail"),
    Case("egfr-prior-afatinib", treat("afatinib", start="2024-01-10", end="2024-06-21"),
         INEL, ANTI_EGFR, "fail"),
    # "anti-EGFR" qualifies both the antibodies and the small-molecule TKIs.
    Case("egfr-prior-imatinib-not-egfr", treat("imatinib", start="2024-01-10",
                                               end="2024-06-21"),
         ELIG, ANTI_EGFR, ("pass", "review")),
    # ---- current antineoplastic therapy
    Case("current-docetaxel", treat("docetaxel", start=ago(20), ongoing=True), INEL,
         ANTINEOPLASTIC, "fail"),
    Case("current-Xeloda", treat("Xeloda", start=ago(20), ongoing=True), INEL,
         ANTINEOPLASTIC, "fail"),
    Case("current-radiotherapy", treat("palliative radiotherapy to neck", kind="radiotherapy",
                                       start=ago(5), ongoing=True),
         INEL, ANTINEOPLASTIC, "fail"),
    Case("current-metformin-not-antineoplastic", treat("metformin", start="2020-01-01",
                                                       ongoing=True),
         ELIG, ANTINEOPLASTIC, "pass"),
    # ---- other trial
    Case("trial-ended-2-weeks-ago", findings(trial_participation_end=ago(14)), INEL,
         OTHER_TRIAL, "fail"),
    Case("trial-ended-6-weeks-ago", findings(trial_participation_end=ago(42)), ELIG,
         OTHER_TRIAL, "pass"),
    # ---- hematopoietic growth factors
    Case("gcsf-filgrastim-5-days", treat("filgrastim", start=ago(7), end=ago(5)), INEL,
         GROWTH_FACTOR, "fail"),
    Case("gcsf-filgrastim-10-days", treat("filgrastim", start=ago(12), end=ago(10)), ELIG,
         GROWTH_FACTOR, "pass"),
    Case("gcsf-Neulasta-6-days", treat("Neulasta", start=ago(6), end=ago(6)), INEL,
         GROWTH_FACTOR, "fail"),
    Case("gcsf-named-G-CSF-5-days", treat("G-CSF", start=ago(7), end=ago(5)), INEL,
         GROWTH_FACTOR, "fail"),
    Case("epo-erythropoietin-3-days", treat("erythropoietin", start=ago(3), end=ago(3)), INEL,
         GROWTH_FACTOR, "fail"),
    Case("epo-epoetin-alfa-3-days", treat("epoetin alfa", start=ago(3), end=ago(3)), INEL,
         GROWTH_FACTOR, "fail"),
    Case("tpo-rhTPO-3-days", treat("rhTPO", start=ago(5), end=ago(3)), INEL,
         GROWTH_FACTOR, "fail"),
    # ---- serology
    Case("hiv-positive", lab("HIV antibody", result="positive"), INEL, HIV_SYPH, "fail"),
    Case("syphilis-positive", lab("syphilis antibody", result="positive"), INEL, HIV_SYPH,
         "fail"),
    Case("hiv-missing", drop_lab("HIV antibody"), POSS, HIV_SYPH, "unknown"),
    Case("hbsag-positive-dna-high", both(lab("HBsAg", result="positive"),
                                         lab("HBV DNA", value=5000, unit="IU/mL",
                                             upper_limit_normal=20)),
         INEL, HEPATITIS, "fail"),
    Case("hbsag-positive-dna-missing", lab("HBsAg", result="positive"), POSS, HEPATITIS,
         "unknown"),
    Case("hbcab-positive-dna-low", both(lab("HBcAb", result="positive"),
                                        lab("HBV DNA", value=10, unit="IU/mL",
                                            upper_limit_normal=20)),
         ELIG, HEPATITIS, "pass"),
    Case("hbcab-positive-dna-undetectable", both(lab("HBcAb", result="positive"),
                                                 lab("HBV DNA", result="undetectable")),
         ELIG, HEPATITIS, "pass"),
    Case("hcv-positive-rna-high", both(lab("HCV antibody", result="positive"),
                                       lab("HCV RNA", value=80000, unit="IU/mL",
                                           upper_limit_normal=15)),
         INEL, HEPATITIS, "fail"),
    Case("hcv-positive-rna-undetectable", both(lab("HCV antibody", result="positive"),
                                               lab("HCV RNA", result="undetectable")),
         ELIG, HEPATITIS, "pass"),
    # ---- lung disease
    Case("ild-active", cond("interstitial lung disease"), INEL, LUNG, "fail"),
    Case("pneumonitis-active", cond("immune-related pneumonitis", grade=2), INEL, LUNG,
         ("fail", "review")),
    Case("pneumonia-resolved", cond("pneumonia", status="resolved", date=ago(200)), ELIG, LUNG,
         "pass", also=((INFECTION, "pass"),)),
    Case("asthma-active", cond("asthma"), INEL, LUNG, "fail"),
    Case("asthma-childhood-history", cond("asthma", status="history", onset="1975-01-01"),
         ELIG, LUNG, "pass"),
    Case("copd-active", cond("COPD"), INEL, LUNG, "fail"),
    Case("tuberculosis-history", cond("pulmonary tuberculosis", status="history",
                                      onset="2001-01-01"),
         INEL, LUNG, "fail"),
    # Latent TB was never "active tuberculosis".
    Case("latent-tb-history", cond("latent tuberculosis infection", status="history",
                                   onset="2015-01-01"),
         (ELIG, POSS), LUNG, NOT_FAIL),
    # ---- other uncontrolled problems
    Case("infection-sepsis-active", cond("sepsis"), INEL, INFECTION, "fail"),
    Case("diabetes-poorly-controlled", cond("type 2 diabetes mellitus", controlled=False),
         INEL, POOR_DM, "fail"),
    Case("diabetes-controlled", cond("type 2 diabetes mellitus", controlled=True), ELIG,
         POOR_DM, "pass", also=((GLUCOSE, "pass"),)),
    Case("hypertension-controlled", cond("hypertension", controlled=True), ELIG,
         ARRHYTHMIA_EXC, "pass"),
    Case("chf-nyha-3", cond("congestive heart failure", nyha_class=3), INEL, CHF_EXC, "fail",
         also=((CARDIAC_INSUFF, "fail"),)),
    # Class II is not excluded by the Class III/IV item, but the inclusion asks
    # for "no cardiac insufficiency".
    Case("chf-nyha-2-exclusion", cond("congestive heart failure", nyha_class=2), INEL, CHF_EXC,
         "pass", also=((CARDIAC_INSUFF, "fail"),)),
    Case("heart-block-active", cond("complete heart block"), INEL, CHF_EXC, "fail",
         also=((ARRHYTHMIA_INC, ("fail", "review", "unknown")),
               (ARRHYTHMIA_EXC, ("fail", "review", "unknown")))),
    Case("dvt-active", cond("deep vein thrombosis"), INEL, DVT, "fail"),
    Case("pe-resolved-3-years", cond("pulmonary embolism", status="resolved",
                                     onset="2023-10-01"), ELIG, DVT, "pass"),
    Case("mi-3-months-inclusion", cond("myocardial infarction", status="history",
                                       onset=ago(90)), INEL, MI_INC, "fail",
         also=((MI_EXC, ("fail", "pass")), (CORONARY, ("fail", "pass")))),
    Case("mi-3-months-exclusion", cond("myocardial infarction", status="history",
                                       onset=ago(90)), INEL, MI_EXC, "fail",
         also=((MI_INC, "fail"), (CORONARY, ("fail", "pass")))),
    Case("mi-2-years-history", cond("myocardial infarction", status="history",
                                    onset=ago(730)), ELIG, MI_INC, "pass",
         also=((MI_EXC, "pass"), (CORONARY, "pass"))),
    Case("stroke-2-months", cond("ischemic stroke", status="history", onset=ago(60)), INEL, CVA,
         "fail"),
    Case("stroke-8-months", cond("ischemic stroke", status="history", onset=ago(240)), ELIG,
         CVA, "pass"),
    Case("tia-1-month", cond("transient ischemic attack", status="history", onset=ago(30)),
         INEL, CVA, "fail"),
    Case("unstable-angina-active", cond("unstable angina"), INEL, UNSTABLE_ANGINA, "fail",
         also=((ARRHYTHMIA_EXC, "fail"), (CORONARY, ("fail", "pass")))),
    # Stable, controlled angina is neither "unstable" nor "severe".
    Case("stable-angina-controlled", cond("stable angina", controlled=True), ELIG,
         ARRHYTHMIA_EXC, ("pass", "review")),
    Case("afib-controlled", cond("atrial fibrillation", controlled=True), ELIG,
         ARRHYTHMIA_EXC, ("pass", "review"), also=((ARRHYTHMIA_INC, ("pass", "review")),)),
    Case("pci-5-years-ago", cond("percutaneous coronary intervention", status="history",
                                 onset="2021-06-01"), ELIG, CORONARY, "pass"),
    # ---- transplant
    Case("transplant-treatment", treat("autologous stem cell transplant", kind="transplant",
                                       start="2015-03-01"), INEL, TRANSPLANT, "fail"),
    Case("transplant-condition", cond("kidney transplant", status="history",
                                      onset="2010-01-01"), INEL, TRANSPLANT, "fail"),
    # ---- psychiatric
    Case("psychiatric-schizophrenia", cond("schizophrenia", status="history"), INEL, PSYCH,
         "fail"),
    Case("psychiatric-depression", cond("major depressive disorder", status="history"), INEL,
         PSYCH, "fail"),
    # substance abuse needs "unable to abstain" too: a person decides
    Case("substance-abuse-history", cond("substance abuse", status="history"), (ELIG, POSS),
         PSYCH, ("review", "unknown")),
    Case("substance-abuse-opioid", cond("opioid abuse", status="history"), (ELIG, POSS),
         PSYCH, ("review", "unknown")),
    # ---- other malignancy
    Case("malignancy-prostate-3-years", cond("prostate cancer", status="history",
                                             onset=ago(3 * 365)), INEL, MALIGNANCY, "fail"),
    Case("malignancy-prostate-7-years", cond("prostate cancer", status="history",
                                             onset=ago(7 * 365)), ELIG, MALIGNANCY, "pass"),
    Case("malignancy-prostate-in-diagnoses",
         lambda doc: doc["diagnoses"].append({"condition": "prostate adenocarcinoma",
                                              "confirmed_by": "histology",
                                              "date": ago(3 * 365)}),
         INEL, MALIGNANCY, "fail"),
    # The trial's own cancer, also listed among conditions, is not "other".
    Case("own-cancer-listed-in-conditions",
         cond("squamous cell carcinoma of the oral tongue", onset="2023-03-02"),
         ELIG, MALIGNANCY, "pass"),
    # ---- effusions: the exclusion needs "massive ... with clinical symptoms"
    Case("pleural-effusion-active", cond("pleural effusion"), (ELIG, POSS), EFFUSION,
         ("review", "unknown", "pass")),
    Case("ascites-active", cond("ascites"), (ELIG, POSS), EFFUSION, ("review", "unknown")),
    Case("pleural-effusion-massive-symptomatic",
         cond("massive symptomatic pleural effusion requiring thoracentesis"), (INEL, ELIG, POSS),
         EFFUSION, ("fail", "review", "unknown")),
    Case("hypersensitivity-cetuximab", cond("hypersensitivity to cetuximab"), INEL, HYPERSENS,
         "fail"),
    # ---- a condition recorded as absent
    Case("ild-recorded-absent", cond("interstitial lung disease", status="absent"), ELIG, LUNG,
         "pass"),
    Case("mi-recorded-absent", cond("myocardial infarction", status="absent"), ELIG, MI_INC,
         "pass"),
]


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def trials() -> list[Any]:
    found = [t for t in load_trials(None) if t.trial.trial_id == TRIAL_ID]
    assert len(found) == 1, "NCT06935188 not in the bundled library"
    return found


def base_doc() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def run(doc: dict[str, Any], trials: list[Any], assume_absent: bool = True) -> dict[str, Any]:
    out = match_patient(parse_patient(doc), trials, AS_OF, assume_absent=assume_absent,
                        any_status=True)
    results = [r for r in out["results"] if r["trial_id"] == TRIAL_ID]
    assert len(results) == 1
    return results[0]


def criterion(result: dict[str, Any], sub: str) -> dict[str, Any]:
    hits = [c for c in result["criteria"] if sub in c["text"]]
    exact = [c for c in hits if c["text"].strip() == sub]
    if exact:
        hits = exact
    assert len(hits) == 1, f"{sub!r} matches {len(hits)} criteria: {[c['text'] for c in hits]}"
    return hits[0]


def _allowed(expected: Statuses) -> tuple[str, ...]:
    return (expected,) if isinstance(expected, str) else expected


def _summary(result: dict[str, Any]) -> str:
    return "\n".join(f"  {c['status']:7} {c['text'][:60]!r}: {c['reason']}"
                     for c in result["criteria"] if c["status"] != "pass")


# ---------------------------------------------------------------- tests


def test_base_patient_is_eligible_with_assume_absent(trials: list[Any]) -> None:
    result = run(base_doc(), trials)
    assert result["verdict"] == ELIG, _summary(result)
    statuses = {c["status"] for c in result["criteria"]}
    assert statuses <= {"pass", "review"}, _summary(result)


def test_base_patient_is_possible_without_assume_absent(trials: list[Any]) -> None:
    result = run(base_doc(), trials, assume_absent=False)
    assert result["verdict"] == POSS, _summary(result)
    assert not [c for c in result["criteria"] if c["status"] == "fail"], _summary(result)
    # measured facts are all present: the unknowns come from histories only
    for sub in (AGE, ECOG, HPV, MARROW, LIVER, RENAL, URINE, GLUCOSE, FEV1, HIV_SYPH,
                HEPATITIS, SURVIVAL, TISSUE):
        assert criterion(result, sub)["status"] in ("pass", "review"), sub


def test_condition_recorded_absent_passes_without_assume_absent(trials: list[Any]) -> None:
    doc = base_doc()
    doc["conditions"].append({"name": "interstitial lung disease", "status": "absent"})
    doc["conditions"].append({"name": "asthma", "status": "absent"})
    doc["conditions"].append({"name": "COPD", "status": "absent"})
    # Asthma and COPD absent do not rule out every obstructive lung disease: the
    # criterion names the class, so the record states the class absent too.
    doc["conditions"].append({"name": "obstructive lung disease", "status": "absent"})
    doc["conditions"].append({"name": "pneumonia", "status": "absent"})
    doc["conditions"].append({"name": "tuberculosis", "status": "absent"})
    result = run(doc, trials, assume_absent=False)
    assert criterion(result, LUNG)["status"] == "pass", _summary(result)
    assert not [c for c in result["criteria"] if c["status"] == "fail"], _summary(result)


def test_every_criterion_named_once(trials: list[Any]) -> None:
    """The substrings used in the table each resolve to exactly one criterion."""
    result = run(base_doc(), trials)
    for case in CASES:
        criterion(result, case.criterion)
        for sub, _ in case.also:
            criterion(result, sub)


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_variant(case: Case, trials: list[Any]) -> None:
    doc = base_doc()
    case.change(doc)
    result = run(doc, trials)
    summary = _summary(result)

    target = criterion(result, case.criterion)
    assert target["status"] in _allowed(case.status), (
        f"{case.criterion!r}: {target['status']} ({target['reason']}), "
        f"expected {case.status}\n{summary}")
    for sub, expected in case.also:
        other = criterion(result, sub)
        assert other["status"] in _allowed(expected), (
            f"{sub!r}: {other['status']} ({other['reason']}), expected {expected}\n{summary}")

    # No criterion fails other than those the row expects may fail.
    may_fail = {target["id"]} if "fail" in _allowed(case.status) else set()
    for sub, expected in case.also:
        if "fail" in _allowed(expected):
            may_fail.add(criterion(result, sub)["id"])
    false_fails = [c for c in result["criteria"]
                   if c["status"] == "fail" and c["id"] not in may_fail]
    assert not false_fails, "unexpected failing criteria:\n" + "\n".join(
        f"  {c['text'][:70]!r}: {c['reason']}" for c in false_fails)

    assert result["verdict"] in _allowed(case.verdict), f"verdict {result['verdict']}\n{summary}"
    # the verdict follows from the statuses (contract section 2)
    statuses = [c["status"] for c in result["criteria"]]
    if "fail" in statuses:
        assert result["verdict"] == INEL
    elif "unknown" in statuses:
        assert result["verdict"] == POSS
    else:
        assert result["verdict"] == ELIG


def test_unconvertible_unit_is_unknown_with_reason(trials: list[Any]) -> None:
    doc = base_doc()
    lab("hemoglobin", value=130, unit="U/L")(doc)
    result = run(doc, trials)
    target = criterion(result, MARROW)
    assert target["status"] == "unknown"
    assert "unit" in target["reason"].lower(), target["reason"]


def test_document_without_age_or_birth_date_is_refused() -> None:
    from matcher.patient import PatientError

    doc = base_doc()
    del doc["birth_date"]
    with pytest.raises(PatientError):
        parse_patient(doc)


# ---------------------------------------------------------------- through the CLI


def _cli(tmp_path: Path, doc: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "matcher.cli", "match", str(path), "--format", "json",
         *flags],
        capture_output=True, text=True, cwd=REPO, timeout=300, check=False)


def _cli_result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["as_of"] == AS_OF.isoformat()
    results = [r for r in out["results"] if r["trial_id"] == TRIAL_ID]
    assert len(results) == 1
    return results[0]


def test_cli_base_eligible_with_assume_absent(tmp_path: Path) -> None:
    result = _cli_result(_cli(tmp_path, base_doc(), "--assume-absent"))
    assert result["verdict"] == ELIG
    assert not [c for c in result["criteria"] if c["status"] in ("fail", "unknown")]


def test_cli_base_possible_without_assume_absent(tmp_path: Path) -> None:
    result = _cli_result(_cli(tmp_path, base_doc()))
    assert result["verdict"] == POSS
    assert not [c for c in result["criteria"] if c["status"] == "fail"]


def test_cli_low_hemoglobin_ineligible(tmp_path: Path) -> None:
    doc = base_doc()
    lab("hemoglobin", value=9.9, unit="g/dL")(doc)
    result = _cli_result(_cli(tmp_path, doc, "--assume-absent"))
    assert result["verdict"] == INEL
    failing = [c["text"] for c in result["criteria"] if c["status"] == "fail"]
    assert len(failing) == 1 and MARROW in failing[0], failing


def test_cli_bad_document_exit_2(tmp_path: Path) -> None:
    doc = base_doc()
    del doc["birth_date"]
    proc = _cli(tmp_path, doc, "--assume-absent")
    assert proc.returncode == 2
    assert proc.stderr.strip()
