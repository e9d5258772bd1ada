"""The patient document (contract section 1) as pydantic v2 models, and its loading.

Every model refuses unknown fields (``extra="forbid"``) and validates strictly (no
string-to-number or number-to-bool coercion), so a misspelt or mistyped field is
refused by its path instead of being silently lost or guessed.

Problems are reported as :class:`PatientError`, a list of ``(field path, message)``
pairs in the contract's dotted style (``labs[3].unit``, ``diagnoses[0].status[1]``).
Messages never repeat the patient's values: only paths and the rule that was broken.

Extensions to the contract (the engine may accept more than the contract, never less):

- every list item (diagnoses, performance_status, biomarkers, labs, treatments,
  conditions) has an optional ``source_ref`` (e.g. ``"Observation/abc123"``) naming
  the record it was derived from, set by the FHIR import (:mod:`matcher.fhir_in`);
- ``conditions[].nyha_class`` (NYHA functional class I-IV as 1..4; the input key
  ``class`` is accepted as well);
- a biomarker may carry both ``result`` and ``value``; a lab may carry both
  ``value`` (+ ``unit``) and ``result``.

Normalisations: ``sex`` and ``diagnoses[].status`` are lower-cased,
``diagnoses[].status`` given as one string becomes a one-item list,
``performance_status[].scale`` becomes ``ECOG`` or ``Karnofsky`` (``KPS`` accepted),
and ``findings.measurable_disease`` given as a bool becomes ``{"value": <bool>}``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "Biomarker",
    "Code",
    "Condition",
    "Diagnosis",
    "Findings",
    "Lab",
    "MeasurableDisease",
    "PatientDocument",
    "PatientError",
    "PerformanceStatus",
    "Progression",
    "Treatment",
    "format_path",
    "load_patient",
    "parse_patient",
    "patient_from_json",
]

DOCUMENT = "(document)"


class PatientError(ValueError):
    """A patient document was refused. ``problems`` lists ``(field path, message)``."""

    def __init__(self, problems: list[tuple[str, str]], source: str | None = None):
        self.problems: list[tuple[str, str]] = list(problems)
        self.source = source
        super().__init__(str(self))

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.problems]

    def __str__(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        return "\n".join(f"{prefix}{path}: {message}" for path, message in self.problems)


# --------------------------------------------------------------------------- types

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_MESSAGE = "must be a date YYYY-MM-DD"


def _strict_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("iso_date", _DATE_MESSAGE)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("iso_date", _DATE_MESSAGE)


IsoDate = Annotated[dt.date, BeforeValidator(_strict_date)]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _one_or_many(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


def _scale(value: Any) -> Any:
    if isinstance(value, str):
        key = value.strip().lower()
        if key == "ecog":
            return "ECOG"
        if key in ("karnofsky", "kps"):
            return "Karnofsky"
    return value


def _measurable(value: Any) -> Any:
    if isinstance(value, bool):
        return {"value": value}
    if not isinstance(value, dict | MeasurableDisease):
        raise PydanticCustomError(
            "measurable_type",
            "must be true/false or an object (value, criteria, largest_lesion_mm)",
        )
    return value


Sex = Literal["male", "female", "other", "unknown"]
DiseaseStatus = Literal["newly diagnosed", "locally advanced", "recurrent", "metastatic"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Code(_Model):
    """A coded concept: ``system`` (e.g. ``ICD-10-CM``, ``SNOMED CT``,
    ``http://loinc.org``) and ``code``."""

    system: str
    code: str


# --------------------------------------------------------------------------- items


class Diagnosis(_Model):
    condition: str
    code: Code | None = None
    histology: str | None = None
    confirmed_by: Literal["histology", "cytology", "clinical"] | None = None
    site: str | None = None
    stage: str | None = None
    status: Annotated[list[DiseaseStatus], BeforeValidator(_one_or_many)] = Field(
        default_factory=list
    )
    date: IsoDate | None = None
    source_ref: str | None = None


class PerformanceStatus(_Model):
    scale: Annotated[Literal["ECOG", "Karnofsky"], BeforeValidator(_scale)]
    value: int
    date: IsoDate | None = None
    source_ref: str | None = None

    @field_validator("value")
    @classmethod
    def _value_in_scale(cls, value: int, info: ValidationInfo) -> int:
        scale = info.data.get("scale")
        if scale == "ECOG" and not 0 <= value <= 5:
            raise PydanticCustomError("ecog_range", "ECOG must be an integer 0..5")
        if scale == "Karnofsky" and not (0 <= value <= 100 and value % 10 == 0):
            raise PydanticCustomError("karnofsky_range", "Karnofsky must be 0..100 in steps of 10")
        return value


class Biomarker(_Model):
    name: str
    result: str | None = None
    value: float | None = None
    unit: str | None = None
    method: str | None = None
    date: IsoDate | None = None
    source_ref: str | None = None

    @model_validator(mode="after")
    def _result_or_value(self) -> Biomarker:
        if self.result is None and self.value is None:
            raise PydanticCustomError("biomarker_result", "needs a result or a value")
        return self


class Lab(_Model):
    name: str | None = None
    code: Code | None = None
    value: float | None = None
    unit: str | None = Field(default=None, validate_default=True)
    result: str | None = None
    upper_limit_normal: float | None = None
    lower_limit_normal: float | None = None
    date: IsoDate | None = None
    source_ref: str | None = None

    @field_validator("unit")
    @classmethod
    def _unit_with_value(cls, unit: str | None, info: ValidationInfo) -> str | None:
        if unit is None and info.data.get("value") is not None:
            raise PydanticCustomError("lab_unit", "required with value")
        return unit

    @model_validator(mode="after")
    def _identified_and_valued(self) -> Lab:
        if self.name is None and self.code is None:
            raise PydanticCustomError("lab_name", "needs a name or a code")
        if self.value is None and self.result is None:
            raise PydanticCustomError("lab_value", "needs a value (with unit) or a result")
        return self


class Progression(_Model):
    date: IsoDate | None = None
    confirmed_by: str | None = None


class Treatment(_Model):
    kind: Literal["drug", "radiotherapy", "surgery", "transplant", "other"]
    name: str
    code: Code | None = None
    start: IsoDate | None = None
    end: IsoDate | None = None
    cycles: Annotated[int, Field(ge=0)] | None = None
    setting: str | None = None
    line: Annotated[int, Field(ge=1)] | None = None
    best_response: str | None = None
    progression: Progression | None = None
    ongoing: bool | None = None
    source_ref: str | None = None

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if end is not None and start is not None and end < start:
            raise PydanticCustomError("treatment_end", "must not be before start")
        return end


class Condition(_Model):
    name: str
    code: Code | None = None
    status: Literal["active", "history", "resolved", "absent"] = "active"
    controlled: bool | None = None
    grade: Annotated[int, Field(ge=0, le=5)] | None = None
    onset: IsoDate | None = None
    date: IsoDate | None = None
    nyha_class: Annotated[int, Field(ge=1, le=4)] | None = Field(
        default=None, validation_alias=AliasChoices("nyha_class", "class")
    )
    source_ref: str | None = None


class MeasurableDisease(_Model):
    value: bool
    criteria: str | None = None
    largest_lesion_mm: Annotated[float, Field(ge=0)] | None = None


class Findings(_Model):
    measurable_disease: Annotated[MeasurableDisease, BeforeValidator(_measurable)] | None = None
    life_expectancy_weeks: Annotated[float, Field(ge=0)] | None = None
    tumor_tissue_available: bool | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    childbearing_potential: bool | None = None
    brain_metastases: Literal["none", "treated_stable", "active"] | None = None
    trial_participation_end: IsoDate | None = None


# --------------------------------------------------------------------------- document


def _whole_years(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


class PatientDocument(_Model):
    id: str
    as_of: IsoDate | None = None
    birth_date: IsoDate | None = None
    age: Annotated[int, Field(ge=0, le=130)] | None = Field(default=None, validate_default=True)
    sex: Annotated[Sex, BeforeValidator(_lower)] | None = None
    diagnoses: list[Diagnosis] = Field(default_factory=list)
    performance_status: list[PerformanceStatus] = Field(default_factory=list)
    biomarkers: list[Biomarker] = Field(default_factory=list)
    labs: list[Lab] = Field(default_factory=list)
    treatments: list[Treatment] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    findings: Findings = Field(default_factory=Findings)

    @field_validator("age")
    @classmethod
    def _age_or_birth_date(cls, age: int | None, info: ValidationInfo) -> int | None:
        if "birth_date" not in info.data or "as_of" not in info.data:
            return age  # an earlier field was refused; it is reported there
        birth = info.data["birth_date"]
        if age is None:
            if birth is None:
                raise PydanticCustomError("age_required", "required (or age)")
            return age
        if birth is not None:
            on = info.data["as_of"] or dt.date.today()
            if abs(_whole_years(birth, on) - age) > 1:
                raise PydanticCustomError(
                    "age_inconsistent", "inconsistent with birth_date at as_of"
                )
        return age

    def effective_as_of(self, override: dt.date | None = None) -> dt.date:
        """The date eligibility is judged on: ``override``, else ``as_of``, else today."""
        if override is not None:
            return override
        if self.as_of is not None:
            return self.as_of
        return dt.date.today()

    def age_at(self, d: dt.date) -> int | None:
        """Age in whole years on ``d`` from ``birth_date``, else the recorded ``age``.

        ``None`` when neither is known or ``d`` is before the birth date."""
        if self.birth_date is not None:
            years = _whole_years(self.birth_date, d)
            return years if years >= 0 else None
        return self.age


# --------------------------------------------------------------------------- errors


def format_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """``("labs", 3, "unit")`` -> ``"labs[3].unit"``; ``()`` -> ``"(document)"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or DOCUMENT


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field (not part of the patient document)",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "date_type": _DATE_MESSAGE,
    "date_parsing": _DATE_MESSAGE,
    "date_from_datetime_parsing": _DATE_MESSAGE,
}


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', 'the allowed values')}"
    bounds = {
        "greater_than_equal": ("ge", ">="),
        "greater_than": ("gt", ">"),
        "less_than_equal": ("le", "<="),
        "less_than": ("lt", "<"),
    }
    if kind in bounds:
        key, op = bounds[kind]
        return f"must be {op} {ctx.get(key)}"
    # Our own PydanticCustomError types: their text is fixed and never holds values.
    if "ctx" not in error and kind in _CUSTOM_TYPES:
        return error["msg"]
    return f"invalid ({kind})"


_CUSTOM_TYPES = {
    "iso_date",
    "ecog_range",
    "karnofsky_range",
    "biomarker_result",
    "lab_unit",
    "lab_name",
    "lab_value",
    "treatment_end",
    "age_required",
    "age_inconsistent",
    "measurable_type",
}


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors(include_input=False, include_url=False, include_context=True):
        loc = item["loc"]
        if item["type"] == "age_required":
            loc = ("birth_date",)  # checked on `age` (after birth_date), reported on birth_date
        problems.append((format_path(loc), _message(item)))
    return problems


# --------------------------------------------------------------------------- loading


def parse_patient(obj: object) -> PatientDocument:
    """Validate a decoded patient document (a dict); raises :class:`PatientError`."""
    if not isinstance(obj, dict):
        raise PatientError([(DOCUMENT, "must be a JSON object")])
    try:
        return PatientDocument.model_validate(obj)
    except ValidationError as exc:
        raise PatientError(_problems(exc)) from None


def load_patient(text: str, source: str) -> PatientDocument:
    """Parse JSON text: a patient document, or a FHIR R4 Bundle (converted by
    :func:`matcher.fhir_in.bundle_to_patient`). ``source`` names the input in errors."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PatientError(
            [(DOCUMENT, f"not valid JSON ({exc.msg}) at line {exc.lineno} column {exc.colno}")],
            source=source,
        ) from None
    return patient_from_json(obj, source)


def patient_from_json(obj: object, source: str) -> PatientDocument:
    """A decoded JSON document (``load_patient`` after parsing): a patient
    document, or a FHIR R4 Bundle; raises :class:`PatientError` naming ``source``."""
    try:
        if isinstance(obj, dict) and "resourceType" in obj:
            if obj["resourceType"] == "Bundle":
                from matcher.fhir_in import bundle_to_patient

                return bundle_to_patient(obj)
            raise PatientError([("resourceType", "only a FHIR Bundle is accepted as a FHIR input")])
        return parse_patient(obj)
    except PatientError as exc:
        raise PatientError(exc.problems, source=source) from None
