"""A fast reading of plain patient documents for cohort screening.

Validating a document with the pydantic model (``matcher.patient``) costs about
a quarter of a millisecond, most of it in the model's Python validators: on a
cohort of 100,000 that is half a minute of the screen's critical path.  Here a
decoded document (a dict) is checked field by field with plain type tests and
read into light records carrying the same attributes, with the same
normalizations (lower-cased sex and statuses, ECOG/Karnofsky scale names,
``class`` as ``nyha_class``, measurable disease as an object, numbers as
floats), which ``matcher.facts.build_facts`` then normalizes as it does the
pydantic model.

The reading is conservative: it accepts only what it can check completely,
and returns ``None`` for anything else (an unknown field, a wrong type, a value
out of range, a FHIR Bundle, anything unusual).  The caller then validates the
document with the pydantic model, which gives the exact error with its field
path, or the document if it is valid after all.  So a document read here is
one the model accepts, read as the model reads it
(``tests/test_facts_fast.py`` checks this, property-based, with the facts
built from either).
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from typing import Any

from matcher.patient import _DATE_RE, PatientDocument, _whole_years

__all__ = ["PatientRecord", "fast_patient"]


class _Slow(Exception):
    """Something this reading does not check: the pydantic model decides."""


@lru_cache(maxsize=65536)
def _parse_date(text: str) -> dt.date:
    if not _DATE_RE.match(text):
        raise _Slow
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _Slow from None


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if type(value) is not str:
        raise _Slow
    return _parse_date(value)


def _str(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    raise _Slow


def _req_str(value: Any) -> str:
    if type(value) is not str:
        raise _Slow
    return value


def _float(value: Any) -> float | None:
    """A number as the strict model reads it: int or float, never bool, finite."""
    if value is None:
        return None
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise _Slow
        return value
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            raise _Slow from None
    raise _Slow


def _int(value: Any, low: int | None = None, high: int | None = None) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise _Slow
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Slow
    return value


def _bool(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise _Slow


def _items(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key)
    if value is None:
        if key in doc:
            raise _Slow  # an explicit null: the model refuses it
        return []
    if type(value) is not list:
        raise _Slow
    for item in value:
        if type(item) is not dict:
            raise _Slow
    return value


def _keys(item: dict[str, Any], allowed: frozenset[str]) -> None:
    if not allowed.issuperset(item):
        raise _Slow


# --------------------------------------------------------------------------- records


class Code:
    __slots__ = ("code", "system")

    def __init__(self, value: Any) -> None:
        if value is None:
            raise _Slow
        if type(value) is not dict or set(value) != {"system", "code"}:
            raise _Slow
        self.system = _req_str(value["system"])
        self.code = _req_str(value["code"])


def _code(value: Any) -> Code | None:
    return None if value is None else Code(value)


_DIAGNOSIS_KEYS = frozenset({"condition", "code", "histology", "confirmed_by", "site", "stage",
                             "status", "date", "source_ref"})
_DISEASE_STATUSES = frozenset({"newly diagnosed", "locally advanced", "recurrent", "metastatic"})
_CONFIRMED_BY = frozenset({"histology", "cytology", "clinical"})


class Diagnosis:
    __slots__ = ("code", "condition", "confirmed_by", "date", "histology", "site", "source_ref",
                 "stage", "status")

    def __init__(self, d: dict[str, Any]) -> None:
        _keys(d, _DIAGNOSIS_KEYS)
        self.condition = _req_str(d.get("condition"))
        self.code = _code(d.get("code"))
        self.histology = _str(d.get("histology"))
        confirmed = d.get("confirmed_by")
        if confirmed is not None and (type(confirmed) is not str
                                      or confirmed not in _CONFIRMED_BY):
            raise _Slow
        self.confirmed_by = confirmed
        self.site = _str(d.get("site"))
        self.stage = _str(d.get("stage"))
        status = d.get("status", [])
        if type(status) is str:
            status = [status]
        if type(status) is not list:
            raise _Slow
        statuses = []
        for s in status:
            if type(s) is not str:
                raise _Slow
            s = s.strip().lower()
            if s not in _DISEASE_STATUSES:
                raise _Slow
            statuses.append(s)
        self.status = statuses
        self.date = _date(d.get("date"))
        self.source_ref = _str(d.get("source_ref"))


_PERFORMANCE_KEYS = frozenset({"scale", "value", "date", "source_ref"})
_SCALES = {"ecog": "ECOG", "karnofsky": "Karnofsky", "kps": "Karnofsky"}


class PerformanceStatus:
    __slots__ = ("date", "scale", "source_ref", "value")

    def __init__(self, d: dict[str, Any]) -> None:
        _keys(d, _PERFORMANCE_KEYS)
        scale = d.get("scale")
        if type(scale) is not str or scale.strip().lower() not in _SCALES:
            raise _Slow
        self.scale = _SCALES[scale.strip().lower()]
        value = d.get("value")
        if type(value) is not int:
            raise _Slow
        if self.scale == "ECOG" and not 0 <= value <= 5:
            raise _Slow
        if self.scale == "Karnofsky" and not (0 <= value <= 100 and value % 10 == 0):
            raise _Slow
        self.value = value
        self.date = _date(d.get("date"))
        self.source_ref = _str(d.get("source_ref"))


_BIOMARKER_KEYS = frozenset({"name", "result", "value", "unit", "method", "date", "source_ref"})


class Biomarker:
    __slots__ = ("date", "method", "name", "result", "source_ref", "unit", "value")

    def __init__(self, d: dict[str, Any]) -> None:
        _keys(d, _BIOMARKER_KEYS)
        self.name = _req_str(d.get("name"))
        self.result = _str(d.get("result"))
        self.value = _float(d.get("value"))
        if self.result is None and self.value is None:
            raise _Slow
        self.unit = _str(d.get("unit"))
        self.method = _str(d.get("method"))
        self.date = _date(d.get("date"))
        self.source_ref = _str(d.get("source_ref"))


_LAB_KEYS = frozenset({"name", "code", "value", "unit", "result", "upper_limit_normal",
                       "lower_limit_normal", "date", "source_ref"})


class Lab:
    __slots__ = ("code", "date", "lower_limit_normal", "name", "result", "source_ref", "unit",
                 "upper_limit_normal", "value")

    def __init__(self, d: dict[str, Any]) -> None:
        _keys(d, _LAB_KEYS)
        self.name = _str(d.get("name"))
        self.code = _code(d.get("code"))
        self.value = _float(d.get("value"))
        self.unit = _str(d.get("unit"))
        self.result = _str(d.get("result"))
        if self.value is not None and self.unit is None:
            raise _Slow
        if (self.name is None and self.code is None) or (self.value is None
                                                         and self.result is None):
            raise _Slow
        self.upper_limit_normal = _float(d.get("upper_limit_normal"))
        self.lower_limit_normal = _float(d.get("lower_limit_normal"))
        self.date = _date(d.get("date"))
        self.source_ref = _str(d.get("source_ref"))


class Progression:
    __slots__ = ("confirmed_by", "date")

    def __init__(self, d: Any) -> None:
        if type(d) is not dict or not {"date", "confirmed_by"}.issuperset(d):
            raise _Slow
        self.date = _date(d.get("date"))
        self.confirmed_by = _str(d.get("confirmed_by"))


_TREATMENT_KEYS = frozenset({"kind", "name", "code", "start", "end", "cycles", "setting", "line",
                             "best_response", "progression", "ongoing", "source_ref"})
_TREATMENT_KINDS = frozenset({"drug", "radiotherapy", "surgery", "transplant", "other"})


class Treatment:
    __slots__ = ("best_response", "code", "cycles", "end", "kind", "line", "name", "ongoing",
                 "progression", "setting", "source_ref", "start")

    def __init__(self, d: dict[str, Any]) -> None:
        _keys(d, _TREATMENT_KEYS)
        kind = d.get("kind")
        if type(kind) is not str or kind not in _TREATMENT_KINDS:
            raise _Slow
        self.kind = kind
        self.name = _req_str(d.get("name"))
        self.code = _code(d.get("code"))
        self.start = _date(d.get("start"))
        self.end = _date(d.get("end"))
        if self.start is not None and self.end is not None and self.end < self.start:
            raise _Slow
        self.cycles = _int(d.get("cycles"), low=0)
        self.setting = _str(d.get("setting"))
        self.line = _int(d.get("line"), low=1)
        self.best_response = _str(d.get("best_response"))
        progression = d.get("progression")
        self.progression = None if progression is None else Progression(progression)
        self.ongoing = _bool(d.get("ongoing"))
        self.source_ref = _str(d.get("source_ref"))


_CONDITION_KEYS = frozenset({"name", "code", "status", "controlled", "grade", "onset", "date",
                             "nyha_class", "class", "source_ref"})
_CONDITION_STATUSES = frozenset({"active", "history", "resolved", "absent"})


class Condition:
    __slots__ = ("code", "controlled", "date", "grade", "name", "nyha_class", "onset",
                 "source_ref", "status")

    def __init__(self, d: dict[str, Any]) -> None:
        _keys(d, _CONDITION_KEYS)
        self.name = _req_str(d.get("name"))
        self.code = _code(d.get("code"))
        status = d.get("status", "active")
        if type(status) is not str or status not in _CONDITION_STATUSES:
            raise _Slow
        self.status = status
        self.controlled = _bool(d.get("controlled"))
        self.grade = _int(d.get("grade"), 0, 5)
        self.onset = _date(d.get("onset"))
        self.date = _date(d.get("date"))
        if "nyha_class" in d and "class" in d:
            raise _Slow
        self.nyha_class = _int(d.get("nyha_class", d.get("class")), 1, 4)
        self.source_ref = _str(d.get("source_ref"))


class MeasurableDisease:
    __slots__ = ("criteria", "largest_lesion_mm", "value")

    def __init__(self, d: Any) -> None:
        if type(d) is bool:
            d = {"value": d}
        if type(d) is not dict or not {"value", "criteria", "largest_lesion_mm"}.issuperset(d):
            raise _Slow
        value = d.get("value")
        if type(value) is not bool:
            raise _Slow
        self.value = value
        self.criteria = _str(d.get("criteria"))
        lesion = _float(d.get("largest_lesion_mm"))
        if lesion is not None and lesion < 0:
            raise _Slow
        self.largest_lesion_mm = lesion


_FINDINGS_KEYS = frozenset({"measurable_disease", "life_expectancy_weeks",
                            "tumor_tissue_available", "pregnant", "breastfeeding",
                            "childbearing_potential", "brain_metastases",
                            "trial_participation_end"})
_BRAIN_METASTASES = frozenset({"none", "treated_stable", "active"})


class Findings:
    __slots__ = ("brain_metastases", "breastfeeding", "childbearing_potential",
                 "life_expectancy_weeks", "measurable_disease", "pregnant",
                 "trial_participation_end", "tumor_tissue_available")

    def __init__(self, d: Any) -> None:
        if type(d) is not dict:
            raise _Slow
        _keys(d, _FINDINGS_KEYS)
        md = d.get("measurable_disease")
        self.measurable_disease = None if md is None else MeasurableDisease(md)
        weeks = _float(d.get("life_expectancy_weeks"))
        if weeks is not None and weeks < 0:
            raise _Slow
        self.life_expectancy_weeks = weeks
        self.tumor_tissue_available = _bool(d.get("tumor_tissue_available"))
        self.pregnant = _bool(d.get("pregnant"))
        self.breastfeeding = _bool(d.get("breastfeeding"))
        self.childbearing_potential = _bool(d.get("childbearing_potential"))
        brain = d.get("brain_metastases")
        if brain is not None and (type(brain) is not str or brain not in _BRAIN_METASTASES):
            raise _Slow
        self.brain_metastases = brain
        self.trial_participation_end = _date(d.get("trial_participation_end"))


_DOCUMENT_KEYS = frozenset({"id", "as_of", "birth_date", "age", "sex", "diagnoses",
                            "performance_status", "biomarkers", "labs", "treatments",
                            "conditions", "findings"})
_SEXES = frozenset({"male", "female", "other", "unknown"})


class PatientRecord:
    """A patient document read by :func:`fast_patient`: the attributes
    ``build_facts`` reads, as :class:`~matcher.patient.PatientDocument` holds them."""

    __slots__ = ("age", "as_of", "biomarkers", "birth_date", "conditions", "diagnoses",
                 "findings", "id", "labs", "performance_status", "sex", "treatments")

    def __init__(self, doc: dict[str, Any]) -> None:
        _keys(doc, _DOCUMENT_KEYS)
        self.id = _req_str(doc.get("id"))
        self.as_of = _date(doc.get("as_of"))
        self.birth_date = _date(doc.get("birth_date"))
        self.age = _int(doc.get("age"), 0, 130)
        if self.age is None:
            if self.birth_date is None:
                raise _Slow
        elif self.birth_date is not None:
            on = self.as_of or dt.date.today()
            if abs(_whole_years(self.birth_date, on) - self.age) > 1:
                raise _Slow
        sex = doc.get("sex")
        if sex is not None:
            if type(sex) is not str:
                raise _Slow
            sex = sex.strip().lower()
            if sex not in _SEXES:
                raise _Slow
        self.sex = sex
        self.diagnoses = [Diagnosis(d) for d in _items(doc, "diagnoses")]
        self.performance_status = [PerformanceStatus(d)
                                   for d in _items(doc, "performance_status")]
        self.biomarkers = [Biomarker(d) for d in _items(doc, "biomarkers")]
        self.labs = [Lab(d) for d in _items(doc, "labs")]
        self.treatments = [Treatment(d) for d in _items(doc, "treatments")]
        self.conditions = [Condition(d) for d in _items(doc, "conditions")]
        findings = doc.get("findings", {})
        self.findings = Findings(findings)

    # The same methods as PatientDocument's (build_facts and the readers call them).
    effective_as_of = PatientDocument.effective_as_of
    age_at = PatientDocument.age_at


def fast_patient(doc: Any) -> PatientRecord | None:
    """``doc`` read as a patient record, or None: then only the pydantic model
    (``matcher.patient.parse_patient``) can say whether and why it is refused."""
    if type(doc) is not dict:
        return None
    try:
        return PatientRecord(doc)
    except _Slow:
        return None
