"""Normalize a patient document into the facts the rules read.

The facts are plain dicts (what rule-engine evaluates, and the shape the
cohort executors flatten into columns).  Missing data is ``None``: the rules
turn it into ``unknown``.  Beside each fact we keep ``evidence``: the text a
reason shows (the value as recorded, its date, its source, how it was
converted), so every result says which patient data it used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from criteria import stages, units, vocab
from matcher.patient import PatientDocument

_DATA = Path(__file__).parent / "data"


@cache
def _scales() -> dict[str, Any]:
    return yaml.safe_load((_DATA / "performance_scales.yaml").read_text(encoding="utf-8"))


# Lookups by raw value, cached: a cohort repeats the same lab names, units, drug
# and condition names over and over, and tokenizing them for the vocabulary is
# most of the cost of normalizing a patient.  The vocabularies are read-only.
_analyte = lru_cache(maxsize=65536)(vocab.analyte)
_analyte_by_loinc = lru_cache(maxsize=65536)(vocab.analyte_by_loinc)
_biomarker = lru_cache(maxsize=65536)(vocab.biomarker)
_normalize_result = lru_cache(maxsize=65536)(vocab.normalize_result)
_normalize_method = lru_cache(maxsize=65536)(vocab.normalize_method)
_drug = lru_cache(maxsize=65536)(vocab.drug)
_classes_of_drug = lru_cache(maxsize=65536)(vocab.classes_of_drug)
_condition = lru_cache(maxsize=65536)(vocab.condition)


@lru_cache(maxsize=65536)
def _same_unit(a: str, b: str) -> bool:
    return units.parse_unit(a) == units.parse_unit(b)


@dataclass
class Facts:
    as_of: date
    assume_absent: bool
    values: dict[str, Any] = field(default_factory=dict)
    # evidence[path] -> human text of the data behind the fact at ``path``
    evidence: dict[str, str] = field(default_factory=dict)
    # data the engine could not use (unrecognized lab names, bad units): field paths
    unused: list[str] = field(default_factory=list)
    # atom -> value, for atoms shared by several criteria or trials
    cache: dict[Any, Any] = field(default_factory=dict)
    # False: values only, ``evidence`` left empty (cohort screening reads no
    # reasons, and writing the texts is most of the cost of normalizing a lab)
    explained: bool = True


def _days(as_of: date, when: date | None) -> int | None:
    return None if when is None else (as_of - when).days


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _ref(item: Any) -> str:
    ref = getattr(item, "source_ref", None)
    return f" [{ref}]" if ref else ""


def build_facts(patient: PatientDocument, as_of: date, assume_absent: bool = False, *,
                explained: bool = True) -> Facts:
    """The patient's facts as of ``as_of``; with ``explained=False`` the same
    ``values`` and ``unused`` without the evidence texts.  ``patient`` may also be
    a ``matcher.cohort.fast_patient.PatientRecord`` (the same attributes)."""
    facts = Facts(as_of=as_of, assume_absent=assume_absent, explained=explained)
    v = facts.values
    v["history_complete"] = assume_absent
    age = patient.age_at(as_of)
    v["age"] = age
    if age is not None and explained:
        how = f"born {patient.birth_date}" if patient.birth_date else "age as recorded"
        facts.evidence["age"] = f"age {age} on {as_of} ({how})"
    v["sex"] = patient.sex if patient.sex in ("male", "female") else None
    if explained:
        facts.evidence["sex"] = f"sex {patient.sex}" if patient.sex else "sex not recorded"
    _performance(patient, facts)
    _labs(patient, facts)
    _biomarkers(patient, facts)
    _diagnoses(patient, facts)
    _treatments(patient, facts)
    _conditions(patient, facts)
    _findings(patient, facts)
    if not explained:
        facts.evidence.clear()  # the few cheap texts written unguarded
    return facts


def _latest(items: list[Any], when: str = "date") -> list[Any]:
    """Newest first; undated records last (they cannot be shown recent)."""
    return sorted(items, key=lambda i: (getattr(i, when) is not None, getattr(i, when) or date.min),
                  reverse=True)


def _performance(patient: PatientDocument, facts: Facts) -> None:
    perf: dict[str, Any] = {"ecog": None, "karnofsky": None}
    for record in _latest(list(patient.performance_status)):
        scale = record.scale.lower()
        if perf[scale] is None:
            days = _days(facts.as_of, record.date)
            perf[scale] = {"low": record.value, "high": record.value, "days_ago": days}
            if facts.explained:
                facts.evidence[f"performance.{scale}"] = (
                    f"{record.scale} {record.value} on {record.date or 'an unknown date'}"
                    f"{_ref(record)}")
    scales = _scales()
    if perf["ecog"] is None and perf["karnofsky"] is not None:
        kps = perf["karnofsky"]["low"]
        for band in scales["karnofsky_to_ecog"]:
            if band["karnofsky_min"] <= kps <= band["karnofsky_max"]:
                perf["ecog"] = {"low": band["ecog"], "high": band["ecog"],
                                "days_ago": perf["karnofsky"]["days_ago"]}
                if facts.explained:
                    facts.evidence["performance.ecog"] = (
                        f"ECOG {band['ecog']} converted from "
                        f"{facts.evidence['performance.karnofsky']}")
    elif perf["karnofsky"] is None and perf["ecog"] is not None:
        band = scales["ecog_to_karnofsky"].get(int(perf["ecog"]["low"]))
        if band:
            perf["karnofsky"] = {"low": band["min"], "high": band["max"],
                                 "days_ago": perf["ecog"]["days_ago"]}
            if facts.explained:
                facts.evidence["performance.karnofsky"] = (
                    f"Karnofsky {band['min']}-{band['max']} converted from "
                    f"{facts.evidence['performance.ecog']}")
    facts.values["performance"] = perf


def _resolve_analyte(lab: Any) -> vocab.Analyte | None:
    if lab.code is not None and lab.code.code:
        found = _analyte_by_loinc(lab.code.code)
        if found is not None:
            return found
    if lab.name:
        return _analyte(lab.name)
    return None


def _labs(patient: PatientDocument, facts: Facts) -> None:
    labs: dict[str, Any] = {}
    indexed = list(enumerate(patient.labs))
    indexed.sort(key=lambda p: (p[1].date is not None, p[1].date or date.min), reverse=True)
    for index, lab in indexed:
        analyte = _resolve_analyte(lab)
        if analyte is None:
            facts.unused.append(f"labs[{index}]: analyte not recognized")
            continue
        if analyte.id in labs:  # an older result of the same analyte
            continue
        labs[analyte.id] = _lab_fact(analyte, lab, index, facts)
    for rule in _derived_rules():
        source = labs.get(rule["source"])
        if rule["target"] in labs or source is None or source["value"] is None:
            continue
        if rule.get("formula") == "ckd-epi-2021":
            _derive_ckd_epi(rule, source, labs, facts)
        else:
            _derive(rule, source, labs, facts)
    facts.values["labs"] = labs


@cache
def _setting_cues() -> list[tuple[str, re.Pattern[str]]]:
    with (_DATA / "treatment_settings.yaml").open(encoding="utf-8") as fh:
        table = yaml.safe_load(fh)
    return [(row["setting"], re.compile(r"\b(?:" + "|".join(re.escape(c) for c in row["cues"])
                                        + r")", re.IGNORECASE)) for row in table]


@cache
def _setting(text: str | None) -> str | None:
    """A recorded setting ("palliative first-line", "post-operative") as criteria
    name it (matcher/data/treatment_settings.yaml); unread text stays as written."""
    if text is None:
        return None
    for setting, cue in _setting_cues():
        if cue.search(text):
            return setting
    return text.strip().lower()


@cache
def _derived_rules() -> list[dict[str, Any]]:
    return yaml.safe_load((_DATA / "derived_labs.yaml").read_text(encoding="utf-8"))


def _derive(rule: dict[str, Any], source: dict[str, Any], labs: dict[str, Any],
            facts: Facts) -> None:
    src, target = vocab.analyte(rule["source"]), vocab.analyte(rule["target"])
    if src is None or target is None or not src.canonical_unit or not target.canonical_unit:
        return
    try:
        amount = units.convert(source["value"], src.canonical_unit, rule["via_unit"],
                               src.molar_mass)
        value = units.convert(amount, rule["via_unit"], target.canonical_unit, target.molar_mass)
    except units.UnitError:
        return
    entry = {"value": value, "x_uln": None, "x_lln": None, "result": None,
             "days_ago": source["days_ago"]}
    # (no lab of its own: the target's documented default range)
    uln, _how = _limit(target, None, None, "high", target.canonical_unit)
    if uln:
        entry["x_uln"] = value / uln
    labs[target.id] = entry
    if facts.explained:
        _derived_evidence(target, value, src, facts, f" ({rule['why'].strip()})")


def _derived_evidence(target: vocab.Analyte, value: float, src: vocab.Analyte, facts: Facts,
                      how: str) -> None:
    """Why a derived lab has its value: the source's own evidence, and how."""
    facts.evidence[f"labs.{target.id}"] = (
        f"{target.label} {_fmt(value)} {target.canonical_unit} derived from "
        f"{facts.evidence.get('labs.' + src.id, src.label)}{how}")


def _derive_ckd_epi(rule: dict[str, Any], source: dict[str, Any], labs: dict[str, Any],
                    facts: Facts) -> None:
    """eGFR from serum creatinine, age and sex (CKD-EPI 2021; the constants are in
    derived_labs.yaml).  Without an adult age or a sex nothing is derived: the
    criterion stays unknown, as it would without the lab."""
    age, sex = facts.values.get("age"), facts.values.get("sex")
    src, target = vocab.analyte(rule["source"]), vocab.analyte(rule["target"])
    if age is None or age < rule["minimum_age"] or sex not in ("female", "male") \
            or src is None or target is None or not src.canonical_unit:
        return
    try:
        scr = units.convert(source["value"], src.canonical_unit, rule["source_unit"],
                            src.molar_mass)
    except units.UnitError:
        return
    if scr <= 0:
        return
    ratio = scr / rule["k"][sex]
    value = rule["scale"] * min(ratio, 1.0) ** rule["a"][sex] \
        * max(ratio, 1.0) ** rule["high_exponent"] * rule["age_base"] ** age
    if sex == "female":
        value *= rule["female_factor"]
    labs[target.id] = {"value": value, "x_uln": None, "x_lln": None, "result": None,
                       "days_ago": source["days_ago"]}
    if facts.explained:
        _derived_evidence(target, value, src, facts, f", age {age}, {sex} ({rule['why'].strip()})")


def _lab_fact(analyte: vocab.Analyte, lab: Any, index: int, facts: Facts) -> dict[str, Any]:
    when = lab.date
    entry: dict[str, Any] = {"value": None, "x_uln": None, "x_lln": None, "result": None,
                             "days_ago": _days(facts.as_of, when)}
    explained = facts.explained
    dated = f" on {when}" if when else " (undated)"
    path = f"labs.{analyte.id}"
    if lab.value is None:
        entry["result"] = _normalize_result(lab.result or "") or (lab.result or "").lower()
        if explained:
            facts.evidence[path] = f"{analyte.label} {lab.result}{dated}{_ref(lab)}"
        if analyte.kind != "qualitative" and entry["result"] in ("undetectable", "negative"):
            # "HBV DNA undetectable": below any threshold a criterion can set.
            entry["value"], entry["x_uln"] = 0.0, 0.0
            if explained:
                facts.evidence[path + ".uln"] = "below the limit of detection (read as 0 x ULN)"
        return entry
    shown = f"{analyte.label} {_fmt(lab.value)} {lab.unit}{dated}{_ref(lab)}" if explained else ""
    canonical = analyte.canonical_unit
    try:
        value = units.convert(lab.value, lab.unit, canonical, analyte.molar_mass) \
            if canonical else lab.value
    except units.UnitError as err:
        if explained:
            facts.evidence[path] = f"{shown}: unit not usable ({err})"
        facts.unused.append(f"labs[{index}].unit: not convertible to {canonical}")
        entry["problem"] = str(err)
        return entry
    entry["value"] = value
    if explained and canonical and not _same_unit(lab.unit, canonical):
        shown += f" = {_fmt(value)} {canonical}"
    uln, uln_how = _limit(analyte, lab, lab.upper_limit_normal, "high", canonical)
    lln, lln_how = _limit(analyte, lab, lab.lower_limit_normal, "low", canonical)
    if uln:
        entry["x_uln"] = value / uln
        if explained:
            facts.evidence[path + ".uln"] = (
                f"{_fmt(value / uln)} x ULN (ULN {_fmt(uln)} {canonical or ''}, {uln_how})")
    if lln:
        entry["x_lln"] = value / lln
        if explained:
            facts.evidence[path + ".lln"] = (
                f"{_fmt(value / lln)} x LLN (LLN {_fmt(lln)} {canonical or ''}, {lln_how})")
    if explained:
        facts.evidence[path] = shown
    return entry


def _limit(analyte: vocab.Analyte, lab: Any, own: float | None, side: str,
           canonical: str | None) -> tuple[float | None, str]:
    """The patient's own reference limit, else the documented default range."""
    if own is not None:
        try:
            limit = units.convert(own, lab.unit, canonical, analyte.molar_mass) if canonical \
                else own
        except units.UnitError:
            return None, ""
        return limit, "the lab's own limit"
    default = analyte.default_high if side == "high" else analyte.default_low
    if default is None or not analyte.default_range_unit:
        return None, ""
    try:
        limit = units.convert(default, analyte.default_range_unit, canonical, analyte.molar_mass) \
            if canonical else default
    except units.UnitError:
        return None, ""
    source = analyte.default_range_source or "default adult range"
    return limit, f"default range: {source}"


def _biomarkers(patient: PatientDocument, facts: Facts) -> None:
    markers: dict[str, Any] = {}
    for record in _latest(list(patient.biomarkers)):
        found = _biomarker(record.name)
        if found is None or found.id in markers:
            continue
        result = _normalize_result(record.result) if record.result else None
        method = _normalize_method(record.method) if record.method else None
        markers[found.id] = {"result": result or (record.result or None), "value": record.value,
                             "method": method, "days_ago": _days(facts.as_of, record.date)}
        if not facts.explained:
            continue
        shown = record.result if record.result else f"{_fmt(record.value)} {record.unit or ''}"
        facts.evidence[f"biomarkers.{found.id}"] = (
            f"{record.name} {shown.strip()}" + (f" by {record.method}" if record.method else "")
            + (f" on {record.date}" if record.date else "") + _ref(record))
    for marker in vocab.derived_biomarkers():
        if marker.id not in markers:
            _derived_marker(marker, markers, facts)
    facts.values["biomarkers"] = markers


def _derived_marker(marker: Any, markers: dict[str, Any], facts: Facts) -> None:
    """A status recorded only through its parts: hormone receptor from ER and PR."""
    parts = [markers.get(m) for m in marker.positive_if_any]
    positive = [p for p in parts if p is not None and p["result"] == "positive"]
    if positive:
        result, used = "positive", positive
    elif all(p is not None and p["result"] == "negative" for p in parts):
        result, used = "negative", parts
    else:
        return
    markers[marker.id] = {"result": result, "value": None, "method": used[0]["method"],
                          "days_ago": max((p["days_ago"] for p in used
                                           if p["days_ago"] is not None), default=None)}
    if facts.explained:
        names = [m for m, p in zip(marker.positive_if_any, parts, strict=True) if p in used]
        facts.evidence[f"biomarkers.{marker.id}"] = (
            f"{marker.label}: {result}, from " + " and ".join(
                facts.evidence.get(f"biomarkers.{n}", n) for n in names))


def _concepts(*texts: str | None, code: Any = None) -> set[str]:
    icd = code.code if code is not None and code.code and "icd" in (code.system or "").lower() \
        else None
    return set(_concepts_of(texts, icd))


@lru_cache(maxsize=65536)
def _concepts_of(texts: tuple[str | None, ...], icd: str | None) -> frozenset[str]:
    concepts: set[str] = set()
    for text in texts:
        if not text:
            continue
        for mention in vocab.find_conditions(text):
            concepts |= vocab.condition_ancestors(mention.id)
        whole = _condition(text)
        if whole is not None:
            concepts |= vocab.condition_ancestors(whole.id)
    if icd is not None:
        concepts |= set(vocab.conditions_for_icd10(icd))
    return frozenset(concepts)


def _named(concepts: set[str]) -> list[str]:
    """The most specific concepts of a set (those no other member descends from):
    what the record itself names, as opposed to what that implies."""
    implied: set[str] = set()
    for cid in concepts:
        implied |= vocab.condition_ancestors(cid) - {cid}
    return sorted(concepts - implied)


# Cancers named by their type rather than a site: the blood cancers and sarcomas.
_TYPE_ROOTS = frozenset({"hematologic-malignancy", "sarcoma"})


def _typed_cancer(concept_id: str) -> bool:
    """Does the concept name a cancer by its type ("chronic lymphocytic leukaemia",
    "sarcoma"), as specifically as a site would?"""
    return concept_id != "hematologic-malignancy" and not _TYPE_ROOTS.isdisjoint(
        vocab.condition_ancestors(concept_id))


def _has_kind(concepts: set[str], kind: str) -> bool:
    for cid in concepts:
        concept = _condition(cid)
        if concept is not None and concept.kind == kind:
            return True
    return False


_SECONDARY = re.compile(r"\bsecondary\b|\bmetasta\w*\s+(?:to|in|of)\b", re.IGNORECASE)


def _is_secondary(d: Any) -> bool:
    """A metastasis recorded as a diagnosis of its own (FHIR/mCODE secondary
    cancer condition, ICD-10 C77-C79): it tells the primary's status, not a
    second primary cancer."""
    code = (d.code.code or "").upper() if d.code is not None else ""
    return bool(_SECONDARY.search(d.condition)) or code[:3] in ("C77", "C78", "C79")


def _diagnoses(patient: PatientDocument, facts: Facts) -> None:
    out = []
    primaries = [d for d in patient.diagnoses if not _is_secondary(d)]
    for i, d in enumerate(patient.diagnoses):
        if primaries and _is_secondary(d):
            first = out[0] if out else None
            if first is not None and "metastatic" not in first["statuses"]:
                first["statuses"].append("metastatic")
            if facts.explained:
                facts.evidence[f"diagnoses[{i}]"] = (
                    f"{d.condition} (a metastasis: the primary is metastatic){_ref(d)}")
            continue
        concepts = _concepts(d.condition, d.histology, d.site, code=d.code)
        if not _has_kind(concepts, "site"):
            concepts |= vocab.site_concepts(" ".join(filter(None, (d.site, d.condition))))
        named = _named(concepts)
        out.append({
            "concepts": sorted(concepts),
            # A facet is known only when a concept of its kind was recognized: text
            # nobody could read leaves it unknown, never a mismatch.
            "has_histology": _has_kind(concepts, "histology"),
            # (a cancer named by its type, not its site, states it as well: a CLL is
            # no breast cancer and no AML)
            "has_site": _has_kind(concepts, "site") or any(_typed_cancer(c) for c in named),
            # what the record itself names: a facet asked for more specifically
            # than that ("oral cavity" of a "head and neck cancer") is unknown
            "named": named,
            "statuses": list(d.status or []),
            "stage_keys": d.stage,  # keys below, once metastases have been seen
            "confirmed_by": d.confirmed_by,
        })
        if facts.explained:
            facts.evidence[f"diagnoses[{i}]"] = (
                f"{d.condition}" + (f", stage {d.stage}" if d.stage else "")
                + (f" ({', '.join(d.status)})" if d.status else "")
                + (f", confirmed by {d.confirmed_by}" if d.confirmed_by else "") + _ref(d))
    for record in out:
        # "IIIB" -> III, IIIB; "III" -> III, maybe a substage; metastatic -> IV.
        record["stage_keys"] = list(stages.record_keys(record["stage_keys"],
                                                       "metastatic" in record["statuses"]))
    facts.values["diagnoses"] = out


# Treatments given on one day: their start is their end.
_ONE_DAY_KINDS = frozenset({"surgery", "transplant"})


def _treatments(patient: PatientDocument, facts: Facts) -> None:
    out = []
    for i, t in enumerate(patient.treatments):
        drug = _drug(t.name) if t.kind == "drug" else None
        classes = sorted(_classes_of_drug(t.name)) if t.kind == "drug" else []
        if t.kind == "drug" and drug is None:
            # Recorded by class ("G-CSF", "erythropoietin"): the class and its ancestors.
            classes = sorted(_class_closure([m.id for m in vocab.find_drug_classes(t.name)
                                             if m.start == 0 and m.end >= len(t.name.strip())]))
        ongoing = t.ongoing
        end = t.end
        if end is None and t.start is not None and t.kind in _ONE_DAY_KINDS and not ongoing:
            # an operation or a transplant is done on the day it is given: with only its
            # date recorded it ended then (read as open-ended, every "no major surgery
            # within 4 weeks" was unknown for a patient operated years ago)
            end = t.start
        if ongoing is None and end is not None and end <= facts.as_of:
            ongoing = False
        days_since_end = _days(facts.as_of, end)
        if ongoing:
            last = 0
        elif end is not None:
            last = days_since_end
        else:
            last = None
        progressed = True if t.progression is not None else (False if facts.assume_absent else None)
        out.append({
            "kind": t.kind, "drug": drug.id if drug else None, "classes": classes,
            "cycles": t.cycles, "ongoing": ongoing, "days_since_end": days_since_end,
            "days_since_last": last, "progressed": progressed, "setting": _setting(t.setting),
        })
        if t.kind == "drug" and drug is None and not classes:
            facts.unused.append(f"treatments[{i}].name: drug not recognized")
        if not facts.explained:
            continue
        when = f"on {t.start}" if end is not None and t.end is None else \
            f"{t.start or '?'} to {t.end or ('ongoing' if t.ongoing else '?')}"
        extra = []
        if t.cycles is not None:
            extra.append(f"{t.cycles} cycles")
        if t.progression is not None:
            extra.append(f"progression {t.progression.date or ''}".strip())
        label = t.name if drug is None or drug.id == t.name.lower() else f"{t.name} ({drug.id})"
        facts.evidence[f"treatments[{i}]"] = (
            f"{label} {when}" + (f", {', '.join(extra)}" if extra else "") + _ref(t))
    facts.values["treatments"] = out


_GENERIC_SITES = frozenset({"solid-tumor", "malignant-neoplasm"})


def _sites(concepts: set[str] | list[str]) -> set[str]:
    out = set()
    for cid in concepts:
        concept = _condition(cid)
        if concept is not None and concept.kind == "site" and cid not in _GENERIC_SITES:
            out.add(cid)
    return out


def _class_closure(class_ids: list[str]) -> set[str]:
    out: set[str] = set()
    todo = list(class_ids)
    while todo:
        cid = todo.pop()
        if cid in out:
            continue
        out.add(cid)
        todo.extend(vocab.drug_class(cid).parents)
    return out


def _is_index(concepts: set[str], diagnoses: list[dict[str, Any]]) -> bool:
    """A cancer condition naming nothing beyond what a diagnosis already says
    (its specific concepts all among that diagnosis's) is that diagnosis."""
    specific = {c for c in concepts if c not in _GENERIC_SITES}
    return any(specific <= set(d["concepts"]) for d in diagnoses)


def _conditions(patient: PatientDocument, facts: Facts) -> None:
    """Comorbidities and history.  A cancer listed here that shares a site with
    a diagnosis is the index cancer again, not an "other malignancy"; a second
    diagnosis at another site (diagnoses[1:]) is one, dated by its diagnosis."""
    out = []
    diagnoses = facts.values["diagnoses"]
    index_sites = _sites(diagnoses[0]["concepts"]) if diagnoses else set()
    for i, d in enumerate(diagnoses[1:], start=1):
        if _sites(d["concepts"]) & index_sites:
            continue
        out.append({"concepts": d["concepts"], "named": _named(set(d["concepts"])),
                    "status": "active", "controlled": None,
                    "grade": None, "nyha_class": None,
                    "days_ago": _days(facts.as_of, patient.diagnoses[i].date)})
        if facts.explained:
            facts.evidence[f"conditions[d{i}]"] = (
                f"second cancer: {patient.diagnoses[i].condition} "
                f"(diagnoses[{i}], {patient.diagnoses[i].date or 'undated'})")
    for i, c in enumerate(patient.conditions):
        concepts = _concepts(c.name, code=c.code)
        if "malignant-neoplasm" in concepts and _is_index(concepts, diagnoses):
            # The patient's own cancer listed again among the conditions.
            concepts = {x for x in concepts if _condition(x) is None
                        or "malignant-neoplasm" not in vocab.condition_ancestors(x)}
        when = c.date or c.onset
        out.append({
            "concepts": sorted(concepts), "named": _named(concepts),
            "status": c.status or "active",
            "controlled": c.controlled, "grade": c.grade,
            "nyha_class": getattr(c, "nyha_class", None), "days_ago": _days(facts.as_of, when),
        })
        if facts.explained:
            facts.evidence[f"conditions[{i}]"] = (
                f"{c.name} ({c.status or 'active'}"
                + (", controlled" if c.controlled else (", not controlled" if c.controlled is False
                                                         else "")) + ")" + _ref(c))
        if not concepts:
            facts.unused.append(f"conditions[{i}].name: condition not recognized")
    facts.values["conditions"] = out


def _findings(patient: PatientDocument, facts: Facts) -> None:
    f = patient.findings
    values: dict[str, Any] = {}
    participation_days = None
    if f is not None:
        md = f.measurable_disease
        if md is not None and not isinstance(md, bool):
            md_value = md.value
            facts.evidence["findings.measurable_disease"] = (
                f"measurable disease {md.value}" + (f" ({md.criteria})" if md.criteria else ""))
        else:
            md_value = md
            if md is not None:
                facts.evidence["findings.measurable_disease"] = f"measurable disease {md}"
        values["measurable_disease"] = md_value
        for key in ("life_expectancy_weeks", "tumor_tissue_available", "pregnant",
                    "breastfeeding", "childbearing_potential", "brain_metastases"):
            val = getattr(f, key, None)
            values[key] = val
            if val is not None:
                facts.evidence[f"findings.{key}"] = f"{key.replace('_', ' ')}: {val}"
        if f.trial_participation_end is not None:
            participation_days = _days(facts.as_of, f.trial_participation_end)
            facts.evidence["participation"] = (
                f"last investigational treatment {f.trial_participation_end}")
    if patient.sex == "male":
        for key in ("pregnant", "breastfeeding"):
            if values.get(key) is None:
                values[key] = False
                facts.evidence[f"findings.{key}"] = f"{key}: no (male patient)"
    facts.values["findings"] = values
    facts.values["participation"] = {"days_ago": participation_days}
