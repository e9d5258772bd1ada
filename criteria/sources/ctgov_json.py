"""ClinicalTrials.gov API v2 study JSON -> ``Trial``.

Also holds the registry vocabulary shared with the legacy XML reader: the
API v2 enum spellings (RECRUITING, PHASE2, ALL, ...) are the target, and
legacy spellings ("Active, not recruiting", "Phase 1/Phase 2", "Both") are
mapped onto them.

These functions work on already-decoded values and raise ``RecordError``
(naming the offending field path); ``criteria.sources`` turns that into a
``TrialFileError`` naming the file.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from criteria.sources.ages import parse_age
from criteria.trial import Trial


class RecordError(ValueError):
    """A registry record that cannot be read; ``field`` is the path of the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


# --------------------------------------------------------------------------- vocabulary

# Legacy XML overall_status text (lower case) -> API v2 enum.
_LEGACY_STATUS = {
    "recruiting": "RECRUITING",
    "not yet recruiting": "NOT_YET_RECRUITING",
    "active, not recruiting": "ACTIVE_NOT_RECRUITING",
    "enrolling by invitation": "ENROLLING_BY_INVITATION",
    "completed": "COMPLETED",
    "suspended": "SUSPENDED",
    "terminated": "TERMINATED",
    "withdrawn": "WITHDRAWN",
    "unknown status": "UNKNOWN",
    "unknown": "UNKNOWN",
    "available": "AVAILABLE",
    "no longer available": "NO_LONGER_AVAILABLE",
    "temporarily not available": "TEMPORARILY_NOT_AVAILABLE",
    "approved for marketing": "APPROVED_FOR_MARKETING",
    "withheld": "WITHHELD",
}


def normalize_status(value: str | None) -> str:
    """API v2 overall status enum for a v2 or legacy spelling; absent -> UNKNOWN."""
    if value is None:
        return "UNKNOWN"
    text = " ".join(value.split())
    if not text:
        return "UNKNOWN"
    mapped = _LEGACY_STATUS.get(text.lower())
    if mapped:
        return mapped
    # Already an enum (RECRUITING) or an unforeseen spelling: enum-ise it.
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_") or "UNKNOWN"


_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}
_PHASE_RE = re.compile(r"^(EARLY[ _]?)?(PHASE[ _]?)?(\d|IV|III|II|I)$")


def normalize_phases(values: list[str] | str | None) -> list[str]:
    """API v2 phase enums (EARLY_PHASE1, PHASE1..PHASE4, NA) for v2 or legacy spellings.

    A legacy "Phase 1/Phase 2" becomes ["PHASE1", "PHASE2"]; "N/A" becomes ["NA"].
    Raises ValueError for a value that is not a phase.
    """
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    phases: list[str] = []
    for item in items:
        parts = item.split("/") if "phase" in item.lower() else [item]
        for n, part in enumerate(parts):
            text = " ".join(part.split()).upper()
            if not text:
                continue
            if text in {"N/A", "NA", "NOT APPLICABLE"}:
                phase = "NA"
            else:
                m = _PHASE_RE.match(text)
                # a bare number only as the second half of "Phase 1/2"
                if m is None or (m.group(2) is None and n == 0):
                    raise ValueError(f"not a trial phase: {item!r}")
                number = _ROMAN.get(m.group(3), m.group(3))
                phase = ("EARLY_" if m.group(1) else "") + "PHASE" + number
            if phase not in phases:
                phases.append(phase)
    return phases


def normalize_sex(value: str | None) -> str:
    """ALL / FEMALE / MALE; legacy "Both" and an absent value -> ALL."""
    if value is None:
        return "ALL"
    text = value.strip().upper()
    if text in {"", "ALL", "BOTH"}:
        return "ALL"
    if text in {"FEMALE", "MALE"}:
        return text
    raise ValueError(f"not a sex eligibility value: {value!r} (expected ALL, FEMALE or MALE)")


def age_years(value: Any, field: str) -> float | None:
    try:
        return parse_age(value)
    except ValueError as exc:
        raise RecordError(str(exc), field) from None


def make_trial(field: str, **values: Any) -> Trial:
    """Build a Trial, reporting a model violation as a RecordError."""
    try:
        return Trial(**values)
    except ValidationError as exc:
        raise RecordError(validation_summary(exc), field) from None


def validation_summary(exc: ValidationError, limit: int = 3) -> str:
    errors = exc.errors()
    parts = []
    for err in errors[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(record)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more


# --------------------------------------------------------------------------- typed access


def _obj(value: Any, field: str, *, required: bool = False) -> dict[str, Any]:
    if value is None:
        if required:
            raise RecordError("missing", field)
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"expected an object, got {type(value).__name__}", field)
    return value


def _str(parent: dict[str, Any], key: str, field: str) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"expected a string, got {type(value).__name__}", f"{field}.{key}")
    return value


def _str_list(parent: dict[str, Any], key: str, field: str) -> list[str]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError("expected a list of strings", f"{field}.{key}")
    return value


# --------------------------------------------------------------------------- the study

_EXTENSION_KEYS = {"source_document", "note"}


def study_to_trial(obj: Any, source: str = "", field: str = "") -> Trial:
    """One API v2 study object (``{"protocolSection": ...}``) as a Trial.

    ``field`` prefixes reported field paths (e.g. ``studies[3]``).  A
    top-level ``"trialmatch": {"source_document": ..., "note": ...}``
    extension (used by the bundled seed records) sets ``source`` and ``note``.
    """
    pre = f"{field}." if field else ""
    study = _obj(obj, field or "(study)", required=True)
    ps = _obj(study.get("protocolSection"), f"{pre}protocolSection", required=True)
    p = f"{pre}protocolSection"

    ident = _obj(ps.get("identificationModule"), f"{p}.identificationModule", required=True)
    f_ident = f"{p}.identificationModule"
    trial_id = _str(ident, "nctId", f_ident)
    if trial_id is None or not trial_id.strip():
        raise RecordError("missing (every study needs an id)", f"{f_ident}.nctId")
    title = _str(ident, "briefTitle", f_ident) or _str(ident, "officialTitle", f_ident) or ""

    f_status = f"{p}.statusModule"
    status = normalize_status(
        _str(_obj(ps.get("statusModule"), f_status), "overallStatus", f_status)
    )

    f_design = f"{p}.designModule"
    design = _obj(ps.get("designModule"), f_design)
    try:
        phases = normalize_phases(_str_list(design, "phases", f_design))
    except ValueError as exc:
        raise RecordError(str(exc), f"{f_design}.phases") from None

    f_cond = f"{p}.conditionsModule"
    conditions = _str_list(_obj(ps.get("conditionsModule"), f_cond), "conditions", f_cond)

    f_arms = f"{p}.armsInterventionsModule"
    arms = _obj(ps.get("armsInterventionsModule"), f_arms)
    raw_interventions = arms.get("interventions") or []
    if not isinstance(raw_interventions, list):
        raise RecordError("expected a list", f"{f_arms}.interventions")
    interventions = []
    for i, item in enumerate(raw_interventions):
        name = _str(
            _obj(item, f"{f_arms}.interventions[{i}]"), "name", f"{f_arms}.interventions[{i}]"
        )
        if name and name.strip():
            interventions.append(name.strip())

    f_elig = f"{p}.eligibilityModule"
    elig = _obj(ps.get("eligibilityModule"), f_elig)
    try:
        sex = normalize_sex(_str(elig, "sex", f_elig))
    except ValueError as exc:
        raise RecordError(str(exc), f"{f_elig}.sex") from None
    minimum_age = age_years(elig.get("minimumAge"), f"{f_elig}.minimumAge")
    maximum_age = age_years(elig.get("maximumAge"), f"{f_elig}.maximumAge")
    eligibility_text = _str(elig, "eligibilityCriteria", f_elig) or ""

    note = ""
    ext = _obj(study.get("trialmatch"), f"{pre}trialmatch")
    unknown = sorted(set(ext) - _EXTENSION_KEYS)
    if unknown:
        raise RecordError(
            f"unknown key(s) {', '.join(unknown)} (allowed: note, source_document)",
            f"{pre}trialmatch",
        )
    source_document = _str(ext, "source_document", f"{pre}trialmatch")
    if source_document:
        source = source_document
    note = _str(ext, "note", f"{pre}trialmatch") or ""

    return make_trial(
        field or "(study)",
        trial_id=trial_id.strip(),
        title=" ".join(title.split()),
        status=status,
        phases=phases,
        conditions=[c.strip() for c in conditions if c.strip()],
        interventions=interventions,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        sex=sex,
        eligibility_text=eligibility_text,
        source=source,
        note=note,
    )
