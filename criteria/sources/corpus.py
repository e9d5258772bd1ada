"""Research-corpus record shapes -> ``Trial``.

Three JSON shapes found in trial-matching corpora, each one object per trial
(usually one per JSONL line):

* **legacy subset** -- the legacy ``<clinical_study>`` XML flattened to JSON:
  ``nct_id, brief_title, official_title, overall_status, phase, conditions,
  interventions [{"type", "name"}], eligibility_criteria, gender,
  minimum_age, maximum_age, ...``.  Mapped like the XML reader.
* **TrialGPT trial_info** -- ``NCT_ID, brief_title, phase, drugs_list,
  diseases_list, inclusion_criteria, exclusion_criteria, ...``.  The format
  has no status, ages or sex: status is UNKNOWN (said in ``Trial.note``).
* **TrialGPT corpus** -- ``_id, title, text, metadata``: ``text`` holds a
  summary and then the criteria; the eligibility text is ``text`` from the
  first "Inclusion criteria" heading on.

Like the other readers these work on decoded values and raise
``RecordError`` naming the field path; ``criteria.sources`` names the file.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from criteria.sources.ctgov_json import (
    RecordError,
    age_years,
    make_trial,
    normalize_phases,
    normalize_sex,
    normalize_status,
)
from criteria.trial import Trial

__all__ = [
    "TRIALGPT_NOTE",
    "corpus_doc_to_trial",
    "corpus_eligibility_text",
    "is_corpus_doc",
    "is_legacy_record",
    "is_trialgpt_info",
    "is_trialgpt_info_map",
    "legacy_record_to_trial",
    "trialgpt_eligibility_text",
    "trialgpt_info_map_to_trials",
    "trialgpt_info_to_trial",
]

TRIALGPT_NOTE = (
    "TrialGPT trial_info record: no overall status, age limits or sex in the format "
    "(status UNKNOWN; ages and sex only as stated in the criteria text)"
)
CORPUS_NOTE = (
    "TrialGPT corpus record (_id, title, text): no overall status, age limits or sex in "
    "the format (status UNKNOWN; ages and sex only as stated in the criteria text); "
    "eligibility text taken from the first inclusion-criteria heading of 'text'"
)

_NCT_KEY = re.compile(r"^NCT\d{8}$")
# "Inclusion criteria:" as a heading: at the start of a line.
_INCLUSION_HEADING = re.compile(r"^[ \t]*(inclusion\s+criteria\b)", re.IGNORECASE | re.MULTILINE)
_INCLUSION_ANYWHERE = re.compile(r"(inclusion\s+criteria\s*:)", re.IGNORECASE)


# --------------------------------------------------------------------------- shape tests


def is_legacy_record(value: dict[str, Any]) -> bool:
    """The flattened legacy-XML shape (``nct_id`` plus a legacy field)."""
    return "nct_id" in value and any(
        k in value for k in ("eligibility_criteria", "brief_title", "overall_status")
    )


def is_trialgpt_info(value: dict[str, Any]) -> bool:
    """TrialGPT trial_info: ``NCT_ID`` or the pair inclusion/exclusion_criteria."""
    return "NCT_ID" in value or ("inclusion_criteria" in value and "exclusion_criteria" in value)


def is_trialgpt_info_map(value: dict[str, Any]) -> bool:
    """TrialGPT ``trial_info.json`` as a whole: ``{"NCT01234567": {trial_info}, ...}``."""
    return bool(value) and all(
        isinstance(k, str) and _NCT_KEY.match(k) and isinstance(v, dict)
        and is_trialgpt_info({**v, "NCT_ID": k})
        and ("inclusion_criteria" in v or "exclusion_criteria" in v)
        for k, v in value.items()
    )


def is_corpus_doc(value: dict[str, Any]) -> bool:
    """TrialGPT / BEIR corpus document: ``_id`` and ``text``."""
    return "_id" in value and "text" in value


# --------------------------------------------------------------------------- typed access


def _path(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _opt_str(obj: dict[str, Any], key: str, field: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"expected a string, got {type(value).__name__}", _path(field, key))
    return value


def _req_id(obj: dict[str, Any], key: str, field: str) -> str:
    value = _opt_str(obj, key, field)
    if value is None or not value.strip():
        raise RecordError("missing (every trial needs an id)", _path(field, key))
    return value.strip()


def _str_list(obj: dict[str, Any], key: str, field: str, fallback: str | None = None
              ) -> list[str]:
    """A list of strings; ``fallback`` names a key holding the list as Python text
    (TrialGPT's ``"drugs": "['a', 'b']"``), read only when ``key`` is absent."""
    value = obj.get(key)
    if value is None and fallback is not None and isinstance(obj.get(fallback), str):
        value = _literal_list(obj[fallback])
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError("expected a list of strings", _path(field, key))
    return [" ".join(v.split()) for v in value if v.strip()]


def _literal_list(text: str) -> list[str] | None:
    try:
        value = ast.literal_eval(text.strip()) if text.strip().startswith("[") else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _phases(value: Any, field: str) -> list[str]:
    """Phases written "Phase 2", "Phase 1/Phase 2", "Phase 1; Phase 2", "N/A" or ""."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in items):
        raise RecordError("expected a string or a list of strings", field)
    parts = [p for item in items for p in re.split(r"[;,]", item) if p.strip()]
    try:
        return normalize_phases(parts)
    except ValueError as exc:
        raise RecordError(str(exc), field) from None


def _title(*values: str | None) -> str:
    for v in values:
        if v and v.strip():
            return " ".join(v.split())
    return ""


# --------------------------------------------------------------------------- legacy subset


def legacy_record_to_trial(obj: dict[str, Any], source: str = "", field: str = "") -> Trial:
    """A flattened legacy-XML record as a Trial, mapped as ``legacy_xml_to_trial`` maps XML.

    ``eligibility_criteria`` is kept verbatim (the XML textblock).
    """
    trial_id = _req_id(obj, "nct_id", field)
    title = _title(_opt_str(obj, "brief_title", field), _opt_str(obj, "official_title", field))
    status = normalize_status(_opt_str(obj, "overall_status", field))
    phases = _phases(obj.get("phase"), _path(field, "phase"))
    try:
        sex = normalize_sex(_opt_str(obj, "gender", field))
    except ValueError as exc:
        raise RecordError(str(exc), _path(field, "gender")) from None
    minimum_age = age_years(obj.get("minimum_age"), _path(field, "minimum_age"))
    maximum_age = age_years(obj.get("maximum_age"), _path(field, "maximum_age"))

    raw = obj.get("interventions") or []
    if not isinstance(raw, list):
        raise RecordError("expected a list", _path(field, "interventions"))
    interventions: list[str] = []
    for i, item in enumerate(raw):
        where = _path(field, f"interventions[{i}]")
        if isinstance(item, dict):
            name = _opt_str(item, "name", where)
        elif isinstance(item, str):
            name = item
        else:
            raise RecordError("expected an object or a string", where)
        if name and name.strip():
            interventions.append(" ".join(name.split()))

    return make_trial(
        field or "(record)",
        trial_id=trial_id,
        title=title,
        status=status,
        phases=phases,
        conditions=_str_list(obj, "conditions", field),
        interventions=interventions,
        minimum_age=minimum_age,
        maximum_age=maximum_age,
        sex=sex,
        eligibility_text=_opt_str(obj, "eligibility_criteria", field) or "",
        source=source,
    )


# --------------------------------------------------------------------------- TrialGPT


def trialgpt_eligibility_text(inclusion: str, exclusion: str) -> str:
    """The two criteria fields joined under headings the segmenter knows, else verbatim."""
    return "Inclusion Criteria:\n" + inclusion + "\n\nExclusion Criteria:\n" + exclusion


def trialgpt_info_to_trial(obj: dict[str, Any], source: str = "", field: str = "",
                           trial_id: str | None = None) -> Trial:
    """A TrialGPT ``trial_info`` record as a Trial (``trial_id`` when the id is the map key)."""
    tid = trial_id if trial_id is not None else _req_id(obj, "NCT_ID", field)
    inclusion = _opt_str(obj, "inclusion_criteria", field) or ""
    exclusion = _opt_str(obj, "exclusion_criteria", field) or ""
    return make_trial(
        field or "(record)",
        trial_id=tid,
        title=_title(_opt_str(obj, "brief_title", field), _opt_str(obj, "official_title", field)),
        status="UNKNOWN",
        phases=_phases(obj.get("phase"), _path(field, "phase")),
        conditions=_str_list(obj, "diseases_list", field, fallback="diseases"),
        interventions=_str_list(obj, "drugs_list", field, fallback="drugs"),
        eligibility_text=trialgpt_eligibility_text(inclusion, exclusion),
        source=source,
        note=TRIALGPT_NOTE,
    )


def trialgpt_info_map_to_trials(obj: dict[str, Any], source: str = "", field: str = ""
                                ) -> list[Trial]:
    """TrialGPT ``trial_info.json``: ``{nct_id: trial_info}``."""
    return [trialgpt_info_to_trial(info, source, _path(field, key), trial_id=key)
            for key, info in obj.items()]


def corpus_eligibility_text(text: str) -> str:
    """``text`` from its first inclusion-criteria heading on (all of it when none)."""
    m = _INCLUSION_HEADING.search(text) or _INCLUSION_ANYWHERE.search(text)
    if m is None:
        return text
    return text[m.start(1):]


def corpus_doc_to_trial(obj: dict[str, Any], source: str = "", field: str = "") -> Trial:
    """A TrialGPT corpus document (``_id, title, text``; optional ``metadata``) as a Trial.

    Phase, diseases and drugs come from ``metadata`` when it carries them.
    """
    trial_id = _req_id(obj, "_id", field)
    text = _opt_str(obj, "text", field) or ""
    meta = obj.get("metadata")
    mfield = _path(field, "metadata")
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        raise RecordError(f"expected an object, got {type(meta).__name__}", mfield)
    return make_trial(
        field or "(record)",
        trial_id=trial_id,
        title=_title(_opt_str(obj, "title", field), _opt_str(meta, "brief_title", mfield)),
        status="UNKNOWN",
        phases=_phases(meta.get("phase"), _path(mfield, "phase")),
        conditions=_str_list(meta, "diseases_list", mfield, fallback="diseases"),
        interventions=_str_list(meta, "drugs_list", mfield, fallback="drugs"),
        eligibility_text=corpus_eligibility_text(text),
        source=source,
        note=CORPUS_NOTE,
    )
