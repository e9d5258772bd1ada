"""Hypothesis strategies for the screening differential tests: random patient
documents and random compiled criteria (atoms drawn straight from the IR).

Values are drawn near the thresholds the criteria use, dates around the
evaluation date (fresh, stale, undated), units that convert and units that do
not, histories recorded, absent, or left out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from criteria import ir, vocab
from criteria.trial import CompiledTrial, Trial
from matcher.patient import PatientDocument

AS_OF = date(2026, 6, 1)
KB = vocab._kb()

ANALYTES = ["hemoglobin", "platelets", "anc", "alt", "ast", "total_bilirubin", "creatinine",
            "creatinine_clearance", "albumin", "egfr"]
LAB_UNITS = {
    "hemoglobin": ["g/dL", "g/L", "mmol/L", "furlongs"], "platelets": ["10^9/L", "/uL", "x10^9/L"],
    "anc": ["10^9/L", "cells/mm3"], "alt": ["U/L", "IU/L"], "ast": ["U/L"],
    "total_bilirubin": ["umol/L", "mg/dL"], "creatinine": ["umol/L", "mg/dL"],
    "creatinine_clearance": ["mL/min"], "albumin": ["g/dL", "g/L"], "egfr": ["mL/min/1.73m2"],
}
LAB_NAMES = {"hemoglobin": "hemoglobin", "platelets": "platelet count", "anc": "ANC",
             "alt": "ALT", "ast": "AST", "total_bilirubin": "total bilirubin",
             "creatinine": "creatinine", "creatinine_clearance": "creatinine clearance",
             "albumin": "albumin", "egfr": "eGFR"}
QUALITATIVE = {"HBsAg": "hbsag", "HIV antibody": "hiv"}
RESULTS = ["positive", "negative", "undetectable", "equivocal", "reactive", "weird"]
MARKERS = ["hpv", "p16", "her2", "egfr", "pd-l1-cps"]
MARKERS = [m for m in MARKERS if m in KB.biomarkers] or sorted(KB.biomarkers)[:5]
MARKER_NAMES = {b: KB.biomarkers[b].label for b in MARKERS}
METHODS = ["IHC", "PCR", "ISH", "NGS", "ELISA"]
# Small pools, so that records and criteria meet often: the criteria's concepts
# are the concepts the patients' own names map to (with their ancestors).
CONDITION_NAMES = [
    "hypertension", "type 2 diabetes", "diabetes mellitus", "interstitial lung disease",
    "lung disease", "pneumonitis", "tuberculosis", "hepatitis B", "heart failure",
    "basal cell carcinoma of the skin", "prostate cancer", "breast cancer", "no such disease",
    "autoimmune disease", "HIV infection"]
DX_NAMES = ["squamous cell carcinoma of the oropharynx", "HER2-positive breast cancer",
            "non-small cell lung cancer", "head and neck squamous cell carcinoma",
            "melanoma", "colorectal adenocarcinoma", "metastatic disease to the liver",
            "unreadable tumour", "prostate cancer"]
DRUG_NAMES = ["pembrolizumab", "nivolumab", "cetuximab", "cisplatin", "carboplatin",
              "palbociclib", "trastuzumab", "docetaxel", "Keytruda", "G-CSF", "unknown drug x"]


def _closure(names: list[str]) -> list[str]:
    out: set[str] = set()
    for name in names:
        for mention in vocab.find_conditions(name):
            out |= vocab.condition_ancestors(mention.id)
        whole = vocab.condition(name)
        if whole is not None:
            out |= vocab.condition_ancestors(whole.id)
    return sorted(out)


CONDITION_IDS = _closure(CONDITION_NAMES)
_DX = _closure(DX_NAMES + ["oropharynx", "lung", "breast"])
SITE_IDS = [c for c in _DX if KB.conditions[c].kind == "site"] or ["lung-cancer"]
HISTOLOGY_IDS = [c for c in _DX if KB.conditions[c].kind == "histology"] or ["adenocarcinoma"]
DRUG_IDS = sorted({d.id for n in DRUG_NAMES if (d := vocab.drug(n)) is not None})
CLASS_IDS = sorted({c for n in DRUG_NAMES for c in vocab.classes_of_drug(n)}) + ["g-csf"]
STATUSES = ["newly diagnosed", "locally advanced", "recurrent", "metastatic"]
# Stages as records write them (group only, substage, TNM text) and as criteria ask.
RECORD_STAGES = ["III", "IIIB", "Stage IVA", "IV", "II", "T2N1M0"]
CRITERION_STAGES = ["II", "III", "IIIB", "IV", "IVA", "IVB"]
OPS = [">=", ">", "<=", "<", "==", "!="]


def _day(offset: int | None) -> str | None:
    return None if offset is None else (AS_OF - timedelta(days=offset)).isoformat()


days = st.one_of(st.none(), st.integers(-5, 40), st.sampled_from([7, 14, 28, 29, 30, 31, 90,
                                                                     180, 365, 400, 2000]))


@st.composite
def lab(draw: Any) -> dict[str, Any]:
    if draw(st.integers(0, 6)) == 0:
        name = draw(st.sampled_from(sorted(QUALITATIVE)))
        return {"name": name, "result": draw(st.sampled_from(RESULTS)), "date": _day(draw(days))}
    analyte = draw(st.sampled_from(ANALYTES))
    out: dict[str, Any] = {"name": LAB_NAMES[analyte], "date": _day(draw(days))}
    if draw(st.integers(0, 8)) == 0:
        out["result"] = draw(st.sampled_from(["undetectable", "negative", "high"]))
        return out
    out["value"] = draw(st.one_of(st.integers(0, 400).map(float),
                                  st.floats(0, 300, allow_nan=False).map(lambda x: round(x, 2))))
    out["unit"] = draw(st.sampled_from(LAB_UNITS[analyte]))
    if draw(st.booleans()):
        out["upper_limit_normal"] = draw(st.sampled_from([0.0, 1.0, 40.0, 21.0, 150.0]))
    if draw(st.integers(0, 3)) == 0:
        out["lower_limit_normal"] = draw(st.sampled_from([0.0, 3.5, 120.0]))
    return out


@st.composite
def treatment(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["drug", "drug", "drug", "radiotherapy", "surgery",
                                 "transplant", "other"]))
    name = draw(st.sampled_from(DRUG_NAMES)) \
        if kind == "drug" else draw(st.sampled_from(["IMRT", "neck dissection", "stem cell"]))
    out: dict[str, Any] = {"kind": kind, "name": name}
    start = draw(st.one_of(st.none(), st.integers(0, 3000)))
    if start is not None:
        out["start"] = _day(start)
        end = draw(st.one_of(st.none(), st.integers(-30, start)))
        if end is not None:
            out["end"] = _day(end)
    for key, strat in (("ongoing", st.booleans()), ("cycles", st.integers(0, 12)),
                       ("setting", st.sampled_from(["adjuvant", "recurrent/metastatic",
                                                    "neoadjuvant", "definitive"])),
                       ("line", st.integers(1, 4)),
                       ("progression", st.builds(lambda d: {"date": _day(d)}, days))):
        if draw(st.booleans()):
            out[key] = draw(strat)
    return out


@st.composite
def condition(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": draw(st.sampled_from(CONDITION_NAMES))}
    for key, strat in (("status", st.sampled_from(["active", "history", "resolved", "absent"])),
                       ("controlled", st.booleans()), ("grade", st.integers(0, 5)),
                       ("nyha_class", st.integers(1, 4)), ("date", days.map(_day)),
                       ("onset", days.map(_day))):
        if draw(st.booleans()):
            value = draw(strat)
            if value is not None:
                out[key] = value
    return out


@st.composite
def patient(draw: Any, pid: str) -> PatientDocument:
    return PatientDocument.model_validate(draw(patient_document(pid)))


@st.composite
def patient_document(draw: Any, pid: str) -> dict[str, Any]:
    """A valid patient document as decoded JSON (``patient`` validates it)."""
    doc: dict[str, Any] = {"id": pid, "as_of": AS_OF.isoformat()}
    if draw(st.booleans()):
        doc["age"] = draw(st.integers(0, 100))
    else:
        doc["birth_date"] = _day(draw(st.integers(0, 36000)))
    sex = draw(st.sampled_from(["male", "female", "other", "unknown", None]))
    if sex:
        doc["sex"] = sex
    doc["diagnoses"] = [
        {k: v for k, v in {
            "condition": draw(st.sampled_from(DX_NAMES)),
            "histology": draw(st.sampled_from([None, "squamous cell carcinoma",
                                               "adenocarcinoma"])),
            "site": draw(st.sampled_from([None, "oropharynx", "lung", "breast"])),
            "status": draw(st.lists(st.sampled_from(STATUSES), max_size=2, unique=True)),
            "stage": draw(st.sampled_from([None, *RECORD_STAGES])),
            "confirmed_by": draw(st.sampled_from([None, "histology", "cytology", "clinical"])),
            "date": _day(draw(days))}.items() if v is not None}
        for _ in range(draw(st.integers(0, 2)))]
    doc["performance_status"] = [
        {"scale": s, "value": draw(st.integers(0, 5)) if s == "ECOG"
         else draw(st.integers(0, 10)) * 10, "date": _day(draw(days))}
        for s in draw(st.lists(st.sampled_from(["ECOG", "Karnofsky"]), max_size=2))]
    doc["biomarkers"] = []
    for m in draw(st.lists(st.sampled_from(MARKERS), max_size=3)):
        rec: dict[str, Any] = {"name": MARKER_NAMES[m], "date": _day(draw(days))}
        if draw(st.booleans()):
            rec["result"] = draw(st.sampled_from(RESULTS))
        else:
            rec["value"] = float(draw(st.integers(0, 100)))
            rec["unit"] = "%"
        if draw(st.booleans()):
            rec["method"] = draw(st.sampled_from(METHODS + ["FISH", "telepathy"]))
        doc["biomarkers"].append(rec)
    doc["labs"] = draw(st.lists(lab(), max_size=6))
    doc["treatments"] = draw(st.lists(treatment(), max_size=4))
    doc["conditions"] = draw(st.lists(condition(), max_size=6))
    findings: dict[str, Any] = {}
    for key, strat in (("measurable_disease", st.booleans()),
                       ("life_expectancy_weeks", st.integers(0, 52).map(float)),
                       ("tumor_tissue_available", st.booleans()), ("pregnant", st.booleans()),
                       ("breastfeeding", st.booleans()),
                       ("childbearing_potential", st.booleans()),
                       ("brain_metastases", st.sampled_from(["none", "treated_stable",
                                                             "active"])),
                       ("trial_participation_end", st.integers(-10, 400).map(_day))):
        if draw(st.booleans()):
            findings[key] = draw(strat)
    doc["findings"] = findings
    return doc


# ------------------------------------------------------------------ criteria

window = st.one_of(st.none(), st.sampled_from([7, 14, 28, 30, 90, 365]))
some = st.sampled_from


def _opt(strat: Any) -> Any:
    return st.one_of(st.none(), st.none(), strat)


def _tuple(values: list[str], min_size: int = 1, max_size: int = 3) -> Any:
    return st.lists(st.sampled_from(values), min_size=min_size, max_size=max_size,
                    unique=True).map(tuple)


atom = st.one_of(
    st.builds(ir.AgeAtom, op=some(OPS), value=st.sampled_from([18, 18.5, 65, 70, 75])),
    st.builds(ir.SexAtom, allowed=_tuple(["male", "female"])),
    st.builds(ir.PerformanceAtom, scale=some(["ECOG", "Karnofsky"]), op=some(OPS),
              value=st.sampled_from([0, 1, 2, 60, 70, 80]), within_days=window),
    st.builds(ir.LabAtom, analyte=some(ANALYTES), op=some(OPS),
              value=st.sampled_from([0.5, 1, 1.5, 2.5, 3, 9, 60, 90, 100, 1.5e9]),
              relative_to=some([None, None, "uln", "lln"]), within_days=window),
    st.builds(ir.LabResultAtom, analyte=some(["hbsag", "hiv", "hemoglobin"]),
              results=_tuple(["positive", "negative", "undetectable", "reactive"]),
              within_days=window),
    st.builds(ir.BiomarkerAtom, marker=some(MARKERS),
              results=_opt(_tuple(["positive", "negative", "equivocal", "low"])),
              op=_opt(some(OPS)), value=_opt(st.sampled_from([1, 10, 50])),
              methods=_opt(_tuple(METHODS))).filter(
        # the compiler never writes a biomarker atom without a requirement
        lambda a: a.results or a.methods or (a.op is not None and a.value is not None)),
    st.builds(ir.DiagnosisAtom, histologies=_opt(_tuple(HISTOLOGY_IDS)),
              sites=_opt(_tuple(SITE_IDS)), statuses=_opt(_tuple(STATUSES)),
              stages=_opt(_tuple(CRITERION_STAGES)),
              confirmed_by=_opt(_tuple(["histology", "cytology"]))).filter(
        lambda a: a.histologies or a.sites or a.statuses or a.stages or a.confirmed_by),
    st.one_of(
        st.builds(ir.FindingAtom, key=some(["measurable_disease", "pregnant", "breastfeeding",
                                            "tumor_tissue_available", "childbearing_potential"]),
                  op=some(["==", "!="]), value=st.booleans()),
        st.builds(ir.FindingAtom, key=st.just("life_expectancy_weeks"), op=some(OPS),
                  value=st.sampled_from([12.0, 12.5, 24.0])),
        st.builds(ir.FindingAtom, key=st.just("brain_metastases"),
                  value=_tuple(["none", "treated_stable", "active"])),
        st.builds(ir.FindingAtom, key=st.just("brain_metastases"), op=some(["==", "!="]),
                  value=some(["active", "none"])),
        st.builds(ir.FindingAtom, key=st.just("not_a_finding"), value=st.booleans()),
    ),
    st.builds(ir.TreatmentAtom, drugs=_tuple(DRUG_IDS, 0), classes=_tuple(CLASS_IDS, 0),
              kinds=_tuple(["radiotherapy", "surgery", "transplant", "drug"], 0),
              min_cycles=_opt(st.integers(1, 6)), progression=_opt(st.booleans()),
              ended_days_before=_opt(st.sampled_from([14, 28, 180])),
              within_days=window, ongoing=_opt(st.booleans()),
              settings=_opt(_tuple(["adjuvant", "recurrent/metastatic"])),
              min_lines=_opt(st.integers(1, 3))),
    st.builds(ir.ConditionAtom, concepts=_tuple(CONDITION_IDS),
              excluding=_tuple(CONDITION_IDS, 0), active_only=st.booleans(),
              within_days=_opt(st.sampled_from([30, 365, 1825])),
              uncontrolled=_opt(st.booleans()),
              min_grade=_opt(st.integers(1, 4)), min_class=_opt(st.integers(2, 4))),
    st.builds(ir.ParticipationAtom, within_days=st.sampled_from([28, 30, 90])),
)

review = st.builds(ir.Review, text=st.sampled_from(["investigator judgement",
                                                    "adequate organ function"]))

logic = st.recursive(
    st.one_of(atom, atom, atom, review),
    lambda children: st.one_of(
        st.builds(ir.And, items=st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(ir.Or, items=st.lists(children, min_size=2, max_size=3).map(tuple)),
        st.builds(ir.Not, item=children)),
    max_leaves=5)


@st.composite
def criterion(draw: Any, cid: str) -> ir.Criterion:
    kind = draw(some(["inclusion", "exclusion"]))
    node = draw(st.one_of(st.none(), logic, logic, logic))
    compiled = draw(some(["full", "partial", "none"])) if node is None else \
        draw(some(["full", "partial"]))
    return ir.Criterion(id=cid, kind=kind, text=f"criterion {cid}", family="other",
                        compiled=compiled, logic=node,
                        review=tuple(draw(st.lists(some(["consent", "compliance"]),
                                                   max_size=1))))


@st.composite
def random_trial(draw: Any, tid: str) -> CompiledTrial:
    n = draw(st.integers(1, 6))
    criteria = [draw(criterion(f"{tid}-c{i}")) for i in range(n)]
    return CompiledTrial(trial=Trial(trial_id=tid, status="RECRUITING"), criteria=criteria)


@st.composite
def cohort(draw: Any, min_size: int, max_size: int) -> list[PatientDocument]:
    n = draw(st.integers(min_size, max_size))
    return [draw(patient(f"p{i}")) for i in range(n)]
