"""FHIR R4 Bundle (decoded JSON) -> :class:`matcher.patient.PatientDocument`.

Plain dict traversal, no network, no FHIR library. Every derived item carries
``source_ref`` (``"Observation/<id>"``, else the entry's ``fullUrl``) so a reason
can be traced back to the record it came from. ``as_of`` is never set from FHIR.

Problems are raised as one :class:`~matcher.patient.PatientError` naming FHIR paths
(``entry[3].resource.valueInteger``); a rule broken in the converted document is
reported at the FHIR element it was taken from.

Mapping (decisions worth knowing):

- Patient: ``id`` (else ``fullUrl``), ``birthDate`` -> ``birth_date``, ``gender`` ->
  ``sex``. A bundle needs exactly one Patient. A missing ``birthDate`` is refused
  (``entry[i].resource.birthDate``): the patient document needs ``birth_date`` or
  ``age`` and nothing is guessed.
- Dates: a FHIR date or dateTime keeps its calendar date (``[:10]``, local to the
  record). Partial dates (``2019``, ``2019-04``) are refused by path.
- Condition: cancers (mCODE primary/secondary cancer condition profile, ICD-10-CM
  C00-D49, or a name with carcinoma/neoplasm/cancer/tumor/malignant/leukemia/
  lymphoma/...) -> ``diagnoses`` (secondary -> status ``metastatic``; clinical status
  recurrence/relapse -> ``recurrent``; histology from the mCODE
  histology-morphology-behavior extension; stage from ``Condition.stage.summary`` or
  a TNM stage-group Observation, as roman numerals, e.g. ``IIIA``). A cancer whose
  clinical status is inactive/remission/resolved goes to ``conditions`` as
  ``resolved`` (a history of malignancy), a refuted Condition as ``absent``.
  Other conditions -> ``conditions`` (active/recurrence/relapse -> active;
  inactive/remission/resolved -> resolved; no clinical status: resolved when an
  abatement is recorded, else active).
- Observation: ECOG (LOINC 89247-1) and Karnofsky (89243-0) -> ``performance_status``
  from valueInteger, valueQuantity or the LOINC answer code; tumor markers and
  genomic variants -> ``biomarkers``; everything else with a value -> ``labs``
  (components, e.g. blood pressure, become one lab each). A quantity with a
  comparator (``>= 10 %``) is kept as a qualitative ``result``, not as a number.
  Observations without a value are skipped.
- MedicationStatement/Request/Administration -> ``treatments`` kind ``drug``, one per
  resource (no aggregation into regimens or cycles); ``name`` is the ingredient
  derived from the RxNorm text (``Paclitaxel 100 MG Injection`` -> ``paclitaxel``),
  ``code`` keeps the RxNorm code.
- Procedure: radiotherapy, transplant, surgery (mCODE profile, surgical category or
  surgical wording) and other therapies (``... therapy``, e.g. chemotherapy) ->
  ``treatments``; diagnostic, screening and administrative procedures are skipped.
- Resources with status entered-in-error (and cancelled/not-done/not-taken/draft)
  are skipped, and so is an entry that repeats an earlier one exactly (same type,
  id and content).
- Code systems: ICD-10-CM, SNOMED CT and RxNorm as those names (the contract's
  style); LOINC as ``http://loinc.org`` (as in the contract example); others keep
  their URI.
"""

from __future__ import annotations

import json
import re
from typing import Any

from matcher.patient import PatientDocument, PatientError, parse_patient

__all__ = ["bundle_to_patient"]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

_SYSTEM_NAMES = {
    ICD10CM: "ICD-10-CM",
    SNOMED: "SNOMED CT",
    RXNORM: "RxNorm",
    LOINC: LOINC,
}

ECOG_LOINC = "89247-1"
KARNOFSKY_LOINC = "89243-0"
ECOG_ANSWERS = {
    "LA9622-7": 0,
    "LA9623-5": 1,
    "LA9624-3": 2,
    "LA9625-0": 3,
    "LA9626-8": 4,
    "LA9627-6": 5,
}
KARNOFSKY_ANSWERS = {
    "LA29175-9": 100,
    "LA29176-7": 90,
    "LA29177-5": 80,
    "LA29178-3": 70,
    "LA29179-1": 60,
    "LA29180-9": 50,
    "LA29181-7": 40,
    "LA29182-5": 30,
    "LA29183-3": 20,
    "LA29184-1": 10,
}

# LOINC codes of tumor markers -> the engine's biomarker names.
BIOMARKER_LOINC = {
    # estrogen receptor
    "16112-5": "ER",
    "40556-3": "ER",
    "85337-4": "ER",
    "85310-1": "ER",
    # progesterone receptor
    "16113-3": "PR",
    "40557-1": "PR",
    "85339-0": "PR",
    "85325-9": "PR",
    "10480-2": "ER/PR",
    # HER2
    "18474-7": "HER2",
    "48676-1": "HER2",
    "85319-2": "HER2",
    "85318-4": "HER2",
    "31150-6": "HER2",
    "72383-3": "HER2",
    "49683-6": "HER2",
    # microsatellite instability, tumor mutational burden
    "62862-8": "MSI",
    "81695-9": "MSI",
    "94077-5": "TMB",
    "94076-7": "TMB",
}
_BIOMARKER_WORDS = [
    (re.compile(r"combined positive score", re.I), "PD-L1 CPS"),
    (re.compile(r"tumou?r proportion score", re.I), "PD-L1 TPS"),
    (re.compile(r"\bPD-?L1\b", re.I), "PD-L1"),
    (re.compile(r"\bHER-?2\b|\bERBB2\b", re.I), "HER2"),
    (re.compile(r"estrogen\s*\+\s*progesterone", re.I), "ER/PR"),
    (re.compile(r"o?estrogen receptor", re.I), "ER"),
    (re.compile(r"progesterone receptor", re.I), "PR"),
    (re.compile(r"\bHPV\b|papilloma ?virus", re.I), "HPV"),
    (re.compile(r"\bp16\b", re.I), "p16"),
    (re.compile(r"microsatellite", re.I), "MSI"),
    (re.compile(r"tumou?r mutation(al)? burden", re.I), "TMB"),
]
_BIOMARKER_PROFILES = (
    "mcode-tumor-marker",
    "mcode-tumor-marker-test",
    "mcode-cancer-genetic-variant",
    "mcode-genomic-variant",
)
_GENE_STUDIED = "48018-6"
_STAGE_GROUP_LOINC = {"21908-9", "21902-2", "21914-7"}
_ANSWERS = {
    "LA6576-8": "positive",
    "LA6577-6": "negative",
    "LA9633-4": "present",
    "LA9634-2": "absent",
    "LA11882-0": "detected",
    "LA11883-8": "not detected",
    "10828004": "positive",
    "260385009": "negative",
    "52101004": "present",
    "2667000": "absent",
    "260373001": "detected",
    "260415000": "not detected",
    "42425007": "equivocal",
    "POS": "positive",
    "NEG": "negative",
    "IND": "indeterminate",
}

_QUALIFIERS = set(_ANSWERS.values()) | {
    "low",
    "high",
    "normal",
    "abnormal",
    "intermediate",
    "inconclusive",
    "not applicable",
    "unknown",
}

_CANCER_PROFILES = {
    "mcode-primary-cancer-condition": False,
    "mcode-secondary-cancer-condition": True,
}
_CANCER_WORDS = re.compile(
    r"carcinoma|neoplasm|cancer|tumou?r|malignan|leuka?emia|lymphoma|myeloma|sarcoma|"
    r"melanoma|glioma|blastoma|mesothelioma",
    re.I,
)
_ICD10_CANCER = re.compile(r"^(C\d\d|D[0-4]\d)", re.I)
_HISTOLOGY_EXT = "mcode-histology-morphology-behavior"
_ASSERTED_DATE_EXT = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"

_ACTIVE = {"active", "recurrence", "relapse"}
_RESOLVED = {"inactive", "remission", "resolved"}

_SKIP_STATUS = {"entered-in-error", "cancelled", "not-done", "not-taken", "draft"}

_SEMANTIC_TAG = re.compile(
    r"\s*\((disorder|finding|procedure|qualifier value|morphologic abnormality|morphology|"
    r"regime/therapy|observable entity|body structure|substance|product|situation|"
    r"clinical drug|medicinal product|event|neoplasm|staging scale)\)\s*$",
    re.I,
)
_RADIO_WORDS = re.compile(r"radiation|radiotherap|brachytherap|irradiation|radiosurgery", re.I)
_TRANSPLANT_WORDS = re.compile(r"transplant", re.I)
_SURGERY_WORDS = re.compile(
    r"ectomy|excision|resection|dissection|surgery|surgical|otomy\b|ostomy\b|amputation|"
    r"reconstruction|plasty\b|lumpectomy",
    re.I,
)
_SURGICAL_CATEGORY = "387713003"

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")

_DRUG_NOISE = {
    "mg",
    "ml",
    "mcg",
    "ug",
    "g",
    "unt",
    "unit",
    "units",
    "meq",
    "hr",
    "actuat",
    "%",
    "mg/ml",
    "mg/hr",
    "mg/actuat",
    "unt/ml",
    "mcg/ml",
    "mcg/hr",
    "injection",
    "injectable",
    "injetable",
    "product",
    "oral",
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "solution",
    "suspension",
    "syringe",
    "prefilled",
    "chewable",
    "auto-injector",
    "extended",
    "release",
    "delayed",
    "film",
    "coated",
    "cartridge",
    "pen",
    "vial",
    "topical",
    "cream",
    "ointment",
    "patch",
    "transdermal",
    "inhalant",
    "powder",
    "for",
    "kit",
    "pack",
    "intravenous",
    "subcutaneous",
    "intramuscular",
    "drug",
    "implant",
    "lyophilized",
    "liposomal",
}
_SALTS = {
    "hydrochloride",
    "hcl",
    "sodium",
    "potassium",
    "mesylate",
    "citrate",
    "sulfate",
    "acetate",
    "maleate",
    "tartrate",
    "phosphate",
    "besylate",
    "tosylate",
    "succinate",
    "fumarate",
    "bromide",
    "chloride",
    "calcium",
    "disodium",
    "monohydrate",
    "dihydrate",
}


# --------------------------------------------------------------------------- helpers


def _codings(concept: Any) -> list[dict]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _clean(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    text = _SEMANTIC_TAG.sub("", text).strip()
    return text or None


def _concept_text(concept: Any) -> str | None:
    """The concept's text, else the first coding display, without SNOMED semantic tags."""
    if not isinstance(concept, dict):
        return None
    text = _clean(concept.get("text"))
    if text:
        return text
    for coding in _codings(concept):
        display = _clean(coding.get("display"))
        if display:
            return display
    return None


def _all_text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    parts = [concept.get("text")] + [c.get("display") for c in _codings(concept)]
    return " ".join(p for p in parts if isinstance(p, str))


def _code(concept: Any, prefer: tuple[str, ...] = ()) -> dict | None:
    """A ``{system, code}`` from the concept's codings, preferring ``prefer`` systems."""
    codings = [
        c
        for c in _codings(concept)
        if isinstance(c.get("system"), str) and isinstance(c.get("code"), str)
    ]
    for system in prefer:
        for coding in codings:
            if coding["system"] == system:
                return {"system": _SYSTEM_NAMES.get(system, system), "code": coding["code"]}
    if codings:
        system = codings[0]["system"]
        return {"system": _SYSTEM_NAMES.get(system, system), "code": codings[0]["code"]}
    return None


def _codes(concept: Any, system: str) -> list[str]:
    return [
        c["code"]
        for c in _codings(concept)
        if c.get("system") == system and isinstance(c.get("code"), str)
    ]


def _profiles(resource: dict) -> set[str]:
    meta = resource.get("meta")
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    if not isinstance(profiles, list):
        return set()
    return {p.rstrip("/").rsplit("/", 1)[-1] for p in profiles if isinstance(p, str)}


def _status_code(concept: Any) -> str | None:
    for coding in _codings(concept):
        if isinstance(coding.get("code"), str):
            return coding["code"]
    return None


def _answer(concept: Any) -> str | None:
    """A qualitative result: ``Positive (qualifier value)`` -> ``positive``."""
    if not isinstance(concept, dict):
        return None
    for coding in _codings(concept):
        if coding.get("code") in _ANSWERS:
            return _ANSWERS[coding["code"]]
    text = _concept_text(concept)
    if text:
        return text.lower() if text.lower() in _QUALIFIERS else text
    for coding in _codings(concept):
        if isinstance(coding.get("code"), str):
            return coding["code"]
    return None


_ROMAN = {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV"}


def _stage(concept: Any) -> str | None:
    """A stage group as roman numerals: ``c3A`` / ``Stage 3A`` / ``IIIA`` -> ``IIIA``."""
    candidates = [
        c.get("code") for c in _codings(concept) if c.get("system") == "http://cancerstaging.org"
    ]
    candidates += [concept.get("text") if isinstance(concept, dict) else None]
    candidates += [c.get("display") for c in _codings(concept)]
    for raw in candidates:
        text = _clean(raw)
        if not text:
            continue
        text = re.sub(r"^stage\s*", "", text, flags=re.I).strip()
        m = re.fullmatch(r"(?:[cpy]|yp|yc)?([0-4])([A-Ca-c]\d?)?", text)
        if m:
            return _ROMAN[m.group(1)] + (m.group(2) or "").upper()
        m = re.fullmatch(r"(?:[cpy]|yp|yc)?(0|IV|I{1,3})([A-Ca-c]\d?)?", text)
        if m:
            return m.group(1) + (m.group(2) or "").upper()
    return _concept_text(concept)


def _drug_name(text: str) -> str:
    """The ingredient of an RxNorm clinical drug name; the text itself if none is left."""
    text = re.sub(r"\[[^\]]*\]|\{[^}]*\}", " ", text)
    words = []
    for word in text.split():
        w = word.lower().strip(",;")
        if (
            w in _DRUG_NOISE
            or re.fullmatch(r"[\d.,/%]+", w)
            or re.fullmatch(r"[\d.]+(mg|ml|mcg|%)", w)
            or re.fullmatch(r"(nda|anda|bla)\d+", w)
        ):
            continue
        words.append(w)
    while len(words) > 1 and words[-1] in _SALTS:
        words.pop()
    return " ".join(words) if words else text.strip()


class _Converter:
    def __init__(self, bundle: dict):
        self.bundle = bundle
        self.problems: list[tuple[str, str]] = []
        self.origin: dict[str, str] = {}
        self.doc: dict[str, Any] = {
            "diagnoses": [],
            "performance_status": [],
            "biomarkers": [],
            "labs": [],
            "treatments": [],
            "conditions": [],
        }
        self.index: dict[str, dict] = {}
        self.diagnosis_refs: list[tuple[set[str], bool]] = []  # (references, secondary)
        self.stage_groups: list[tuple[str, str, set[str], dict, str, str]] = []

    # ----------------------------------------------------------------- plumbing

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def add(self, kind: str, item: dict, path: str, fields: dict[str, str]) -> int:
        k = len(self.doc[kind])
        self.doc[kind].append({key: v for key, v in item.items() if v is not None})
        self.origin[f"{kind}[{k}]"] = path
        for field, fpath in fields.items():
            self.origin[f"{kind}[{k}].{field}"] = fpath
        return k

    def period(self, period: dict[str, Any], path: str
               ) -> tuple[str | None, str | None, dict[str, str]]:
        """A FHIR Period's start and end dates, and the field paths they came from."""
        start = self.date(period.get("start"), f"{path}.start")
        end = self.date(period.get("end"), f"{path}.end")
        return start, end, {"start": f"{path}.start", "end": f"{path}.end"}

    def date(self, value: Any, path: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            m = _DATE.match(value)
            if m:
                return m.group(1)
            if _PARTIAL_DATE.match(value):
                self.problem(path, "must be a full date YYYY-MM-DD (partial dates are refused)")
                return None
        self.problem(path, "must be a FHIR date or dateTime")
        return None

    def first_date(self, resource: dict, path: str, *keys: str) -> tuple[str | None, str]:
        """The first present of ``keys`` (``onsetDateTime``, ``effectivePeriod.start`` ...)."""
        for key in keys:
            node: Any = resource
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return self.date(node, f"{path}.{key}"), f"{path}.{key}"
        return None, path

    # ----------------------------------------------------------------- driver

    def run(self) -> PatientDocument:
        bundle = self.bundle
        entries = bundle.get("entry")
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise PatientError([("entry", "must be a list")])
        resources: list[tuple[int, dict, dict]] = []
        seen: dict[tuple[str, str], str] = {}
        for i, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                self.problem(f"entry[{i}].resource", "must be a FHIR resource")
                continue
            rid = resource.get("id")
            if isinstance(rid, str):
                key = (resource["resourceType"], rid)
                text = json.dumps(resource, sort_keys=True)
                if seen.get(key) == text:
                    continue  # an exact repeat of an earlier entry
                seen[key] = text
                self.index[f"{resource['resourceType']}/{rid}"] = resource
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str):
                self.index[full_url] = resource
            resources.append((i, entry, resource))

        patients = [(i, e, r) for i, e, r in resources if r["resourceType"] == "Patient"]
        if not patients:
            self.problem("entry", "no Patient resource in the bundle")
        for n, (i, entry, resource) in enumerate(patients):
            if n == 0:
                self.patient(i, entry, resource)
            else:
                self.problem(
                    f"entry[{i}].resource", "a second Patient: a bundle must describe one patient"
                )

        handlers = {
            "Condition": self.condition,
            "Observation": self.observation,
            "MedicationStatement": self.medication,
            "MedicationRequest": self.medication,
            "MedicationAdministration": self.medication,
            "Procedure": self.procedure,
        }
        for i, entry, resource in resources:
            handler = handlers.get(resource["resourceType"])
            if handler is None:
                continue
            if resource.get("status") in _SKIP_STATUS:
                continue
            handler(i, entry, resource)
        self.assign_stages()

        if self.problems and not patients:
            raise PatientError(self.problems)
        try:
            document = parse_patient(self.doc)
        except PatientError as exc:
            reported = {path for path, _ in self.problems}
            for path, message in exc.problems:
                fhir_path, text = self.translate(path, message)
                if fhir_path not in reported:  # already refused while converting
                    self.problems.append((fhir_path, text))
            document = None
        if self.problems:
            raise PatientError(self.problems)
        assert document is not None
        return document

    def translate(self, path: str, message: str) -> tuple[str, str]:
        """A converted-document path -> the FHIR element it was taken from."""
        probe = path
        while True:
            if probe in self.origin:
                if path == "birth_date" and message.startswith("required"):
                    return self.origin[probe], "required (a birth date is needed to judge age)"
                if probe == path:
                    return self.origin[probe], message
                return self.origin[probe], f"{message} (converted field {path})"
            shorter = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", probe)
            if not shorter or shorter == probe:
                return path, message
            probe = shorter

    @staticmethod
    def ref(entry: dict, resource: dict, i: int) -> str:
        rid = resource.get("id")
        if isinstance(rid, str) and rid:
            return f"{resource['resourceType']}/{rid}"
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            return full_url
        return f"entry[{i}]"

    @staticmethod
    def refs(entry: dict, resource: dict) -> set[str]:
        out = set()
        if isinstance(resource.get("id"), str):
            out.add(f"{resource['resourceType']}/{resource['id']}")
        if isinstance(entry.get("fullUrl"), str):
            out.add(entry["fullUrl"])
        return out

    # ----------------------------------------------------------------- Patient

    def patient(self, i: int, entry: dict, resource: dict) -> None:
        path = f"entry[{i}].resource"
        pid = resource.get("id")
        if not isinstance(pid, str) or not pid:
            pid = entry.get("fullUrl")
        if not isinstance(pid, str) or not pid:
            self.problem(f"{path}.id", "required (the patient's identifier)")
        else:
            self.doc["id"] = pid
        self.origin["id"] = f"{path}.id"
        birth = self.date(resource.get("birthDate"), f"{path}.birthDate")
        if birth is not None:
            self.doc["birth_date"] = birth
        self.origin["birth_date"] = f"{path}.birthDate"
        self.origin["age"] = f"{path}.birthDate"
        gender = resource.get("gender")
        if gender is not None:
            self.doc["sex"] = gender
        self.origin["sex"] = f"{path}.gender"

    # ----------------------------------------------------------------- Condition

    def condition(self, i: int, entry: dict, resource: dict) -> None:
        path = f"entry[{i}].resource"
        verification = _status_code(resource.get("verificationStatus"))
        if verification == "entered-in-error":
            return
        concept = resource.get("code")
        name = _concept_text(concept)
        if name is None:
            self.problem(f"{path}.code", "needs text or a coding display")
            return
        code = _code(concept, prefer=(ICD10CM, SNOMED))
        profiles = _profiles(resource)
        secondary = any(_CANCER_PROFILES.get(p) for p in profiles)
        icd = _codes(concept, ICD10CM)
        cancer = (
            any(p in _CANCER_PROFILES for p in profiles)
            or any(_ICD10_CANCER.match(c) for c in icd)
            or bool(_CANCER_WORDS.search(_all_text(concept)))
        )
        clinical = _status_code(resource.get("clinicalStatus"))
        if clinical is not None and clinical not in _ACTIVE | _RESOLVED:
            self.problem(f"{path}.clinicalStatus", "not a FHIR condition clinical status")
            return
        onset, onset_path = self.first_date(resource, path, "onsetDateTime", "onsetPeriod.start")
        recorded, recorded_path = self.first_date(resource, path, "recordedDate")
        source_ref = self.ref(entry, resource, i)

        if cancer and verification != "refuted" and clinical not in _RESOLVED:
            date, date_path = onset, onset_path
            if date is None:
                date, date_path = recorded, recorded_path
            if date is None:
                for n, ext in enumerate(resource.get("extension") or []):
                    if isinstance(ext, dict) and ext.get("url") == _ASSERTED_DATE_EXT:
                        date_path = f"{path}.extension[{n}].valueDateTime"
                        date = self.date(ext.get("valueDateTime"), date_path)
            histology = None
            for ext in resource.get("extension") or []:
                if isinstance(ext, dict) and str(ext.get("url", "")).endswith(_HISTOLOGY_EXT):
                    concept_h = ext.get("valueCodeableConcept")
                    histology = _concept_text(concept_h)
                    if histology is None:
                        h_code = _code(concept_h)
                        histology = f"{h_code['system']} {h_code['code']}" if h_code else None
            stage = None
            for st in resource.get("stage") or []:
                if isinstance(st, dict) and st.get("summary"):
                    stage = _stage(st["summary"])
                    break
            site = None
            for body in resource.get("bodySite") or []:
                site = _concept_text(body)
                if site:
                    break
            status = []
            if secondary:
                status.append("metastatic")
            if clinical in ("recurrence", "relapse"):
                status.append("recurrent")
            item = {
                "condition": name,
                "code": code,
                "histology": histology,
                "site": site,
                "stage": stage,
                "status": status or None,
                "date": date,
                "source_ref": source_ref,
            }
            self.add("diagnoses", item, path, {"date": date_path, "code": f"{path}.code"})
            self.diagnosis_refs.append((self.refs(entry, resource), secondary))
            return

        if verification == "refuted":
            status = "absent"
        elif clinical in _ACTIVE:
            status = "active"
        elif clinical in _RESOLVED:
            status = "resolved"
        elif any(str(k).startswith("abatement") for k in resource):
            status = "resolved"
        else:
            status = "active"
        item = {
            "name": name,
            "code": code,
            "status": status,
            "onset": onset,
            "date": recorded,
            "source_ref": source_ref,
        }
        self.add("conditions", item, path, {"onset": onset_path, "date": recorded_path})

    # ----------------------------------------------------------------- Observation

    def observation(self, i: int, entry: dict, resource: dict) -> None:
        path = f"entry[{i}].resource"
        concept = resource.get("code")
        loinc = set(_codes(concept, LOINC))
        profiles = _profiles(resource)
        date, date_path = self.first_date(
            resource, path, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant"
        )
        source_ref = self.ref(entry, resource, i)

        if ECOG_LOINC in loinc or "mcode-ecog-performance-status" in profiles:
            self.performance(path, resource, "ECOG", ECOG_ANSWERS, date, date_path, source_ref)
            return
        if KARNOFSKY_LOINC in loinc or "mcode-karnofsky-performance-status" in profiles:
            self.performance(
                path, resource, "Karnofsky", KARNOFSKY_ANSWERS, date, date_path, source_ref
            )
            return
        if loinc & _STAGE_GROUP_LOINC or any(p.endswith("stage-group") for p in profiles):
            focus = {
                f.get("reference")
                for f in resource.get("focus") or []
                if isinstance(f, dict) and isinstance(f.get("reference"), str)
            }
            stage = _stage(resource.get("valueCodeableConcept"))
            if stage:
                self.stage_groups.append((date or "", stage, focus, resource, path, source_ref))
                return

        name = self.biomarker_name(concept, loinc)
        is_marker = any(p in _BIOMARKER_PROFILES for p in profiles)
        if is_marker or name is not None:
            self.biomarker(path, resource, concept, name, date, date_path, source_ref)
            return
        self.lab(path, resource, date, date_path, source_ref)

    def performance(
        self,
        path: str,
        resource: dict,
        scale: str,
        answers: dict[str, int],
        date: str | None,
        date_path: str,
        source_ref: str,
    ) -> None:
        if "valueInteger" in resource:
            value, value_path = resource["valueInteger"], f"{path}.valueInteger"
        elif "valueQuantity" in resource:
            quantity = resource["valueQuantity"]
            value = quantity.get("value") if isinstance(quantity, dict) else quantity
            value_path = f"{path}.valueQuantity.value"
            if isinstance(value, float) and value.is_integer():
                value = int(value)
        elif "valueCodeableConcept" in resource:
            value_path = f"{path}.valueCodeableConcept"
            codes = [c.get("code") for c in _codings(resource["valueCodeableConcept"])]
            known = [answers[c] for c in codes if c in answers]
            if not known:
                self.problem(value_path, f"not a LOINC answer code of the {scale} scale")
                return
            value = known[0]
        else:
            return  # no value: skipped
        item = {"scale": scale, "value": value, "date": date, "source_ref": source_ref}
        self.add("performance_status", item, path, {"value": value_path, "date": date_path})

    @staticmethod
    def biomarker_name(concept: Any, loinc: set[str]) -> str | None:
        for code in _codes(concept, LOINC):
            if code in BIOMARKER_LOINC:
                return BIOMARKER_LOINC[code]
        text = _all_text(concept)
        for pattern, name in _BIOMARKER_WORDS:
            if pattern.search(text):
                return name
        return None

    def quantity(self, quantity: Any, path: str) -> tuple[Any, Any, str | None, dict[str, str]]:
        """(value, unit, result, field paths) of a FHIR Quantity."""
        if not isinstance(quantity, dict):
            return quantity, None, None, {"value": path}
        value = quantity.get("value")
        unit = quantity.get("unit")
        if unit is None:
            unit = quantity.get("code")
        comparator = quantity.get("comparator")
        fields = {"value": f"{path}.value", "unit": f"{path}.unit"}
        if comparator is not None and isinstance(value, int | float):
            text = f"{comparator}{value}" + (f" {unit}" if isinstance(unit, str) else "")
            return None, None, text, fields
        return value, unit, None, fields

    def biomarker(
        self,
        path: str,
        resource: dict,
        concept: Any,
        name: str | None,
        date: str | None,
        date_path: str,
        source_ref: str,
    ) -> None:
        if name is None:
            for component in resource.get("component") or []:
                if isinstance(component, dict) and _GENE_STUDIED in _codes(
                    component.get("code"), LOINC
                ):
                    gene = component.get("valueCodeableConcept")
                    name = _concept_text(gene)
                    if name is None and _code(gene):
                        name = _code(gene)["code"]
                    break
        if name is None:
            name = _concept_text(concept)
        result = None
        value = unit = None
        fields: dict[str, str] = {"date": date_path}
        if "valueCodeableConcept" in resource:
            result = _answer(resource["valueCodeableConcept"])
            fields["result"] = f"{path}.valueCodeableConcept"
        elif isinstance(resource.get("valueString"), str):
            result = resource["valueString"]
        elif isinstance(resource.get("valueBoolean"), bool):
            result = "positive" if resource["valueBoolean"] else "negative"
        if "valueQuantity" in resource:
            q_value, q_unit, q_text, q_fields = self.quantity(
                resource["valueQuantity"], f"{path}.valueQuantity"
            )
            if q_text is not None:
                result = result or q_text
            else:
                value, unit = q_value, q_unit
                fields.update(q_fields)
        if result is None and value is None:
            return  # no value: skipped
        method_text = _concept_text(resource.get("method")) or _all_text(resource.get("code"))
        method = None
        if re.search(r"immune stain|immunohisto|\bIHC\b", method_text, re.I):
            method = "IHC"
        elif re.search(r"\bFISH\b|fluorescence in situ", method_text, re.I):
            method = "FISH"
        elif re.search(r"in situ hybridi|\bISH\b", method_text, re.I):
            method = "ISH"
        elif re.search(r"sequencing|\bNGS\b", method_text, re.I):
            method = "NGS"
        elif re.search(r"\bPCR\b", method_text, re.I):
            method = "PCR"
        item = {
            "name": name or "unnamed tumor marker",
            "result": result,
            "value": value,
            "unit": unit,
            "method": method,
            "date": date,
            "source_ref": source_ref,
        }
        self.add("biomarkers", item, path, fields)

    def lab(
        self,
        path: str,
        resource: dict,
        date: str | None,
        date_path: str,
        source_ref: str,
        concept: Any = None,
        value_node: dict | None = None,
        node_path: str | None = None,
    ) -> None:
        node = resource if value_node is None else value_node
        node_path = path if node_path is None else node_path
        concept = resource.get("code") if concept is None else concept
        value = unit = result = None
        fields: dict[str, str] = {"date": date_path}
        if "valueQuantity" in node:
            value, unit, result, q_fields = self.quantity(
                node["valueQuantity"], f"{node_path}.valueQuantity"
            )
            fields.update(q_fields)
        elif "valueCodeableConcept" in node:
            result = _answer(node["valueCodeableConcept"])
            fields["result"] = f"{node_path}.valueCodeableConcept"
        elif "valueString" in node:
            result = node["valueString"]
            fields["result"] = f"{node_path}.valueString"
        elif isinstance(node.get("valueBoolean"), bool):
            result = "true" if node["valueBoolean"] else "false"
        elif isinstance(node.get("valueInteger"), int):
            result = str(node["valueInteger"])
        elif isinstance(node.get("valueRatio"), dict):
            ratio = node["valueRatio"]
            parts = []
            for side in ("numerator", "denominator"):
                q = ratio.get(side) if isinstance(ratio.get(side), dict) else {}
                parts.append(f"{q.get('comparator', '')}{q.get('value', '?')}")
            result = "/".join(parts)
        elif value_node is None:
            for j, component in enumerate(resource.get("component") or []):
                if isinstance(component, dict):
                    self.lab(
                        path,
                        resource,
                        date,
                        date_path,
                        source_ref,
                        concept=component.get("code"),
                        value_node=component,
                        node_path=f"{path}.component[{j}]",
                    )
            return
        if value is None and result is None and unit is None:
            return  # no value: skipped
        loinc = _codes(concept, LOINC)
        code = {"system": LOINC, "code": loinc[0]} if loinc else _code(concept)
        item = {
            "name": _concept_text(concept),
            "code": code,
            "value": value,
            "unit": unit,
            "result": result,
            "date": date,
            "source_ref": source_ref,
        }
        ranges = resource.get("referenceRange") if value_node is None else None
        if (
            isinstance(ranges, list)
            and ranges
            and isinstance(ranges[0], dict)
            and value is not None
        ):
            for key, field in (("high", "upper_limit_normal"), ("low", "lower_limit_normal")):
                bound = ranges[0].get(key)
                if isinstance(bound, dict) and "value" in bound:
                    item[field] = bound["value"]
                    fields[field] = f"{path}.referenceRange[0].{key}.value"
        self.add("labs", item, node_path, fields)

    def assign_stages(self) -> None:
        """Stage-group Observations -> the stage of the diagnosis they describe (by
        ``focus``, else the first primary diagnosis); the latest one wins. A stage group
        that fits no diagnosis is kept as a lab."""
        best: dict[int, tuple[str, str]] = {}
        for date, stage, focus, resource, path, source_ref in self.stage_groups:
            target = None
            for k, (refs, _secondary) in enumerate(self.diagnosis_refs):
                if focus & refs:
                    target = k
                    break
            if target is None and not focus:
                primaries = [k for k, (_r, sec) in enumerate(self.diagnosis_refs) if not sec]
                target = primaries[0] if primaries else None
            if target is None or "stage" in self.doc["diagnoses"][target]:
                if target is None:
                    self.lab(path, resource, date or None, path, source_ref)
                continue
            if target not in best or date >= best[target][0]:
                best[target] = (date, stage)
        for k, (_date, stage) in best.items():
            self.doc["diagnoses"][k]["stage"] = stage

    # ----------------------------------------------------------------- treatments

    def medication(self, i: int, entry: dict, resource: dict) -> None:
        path = f"entry[{i}].resource"
        concept = resource.get("medicationCodeableConcept")
        concept_path = f"{path}.medicationCodeableConcept"
        reference = resource.get("medicationReference")
        if concept is None and isinstance(reference, dict):
            concept_path = f"{path}.medicationReference"
            target = reference.get("reference")
            medication = None
            if isinstance(target, str) and target.startswith("#"):
                for contained in resource.get("contained") or []:
                    if isinstance(contained, dict) and contained.get("id") == target[1:]:
                        medication = contained
            elif isinstance(target, str):
                medication = self.index.get(target)
            if isinstance(medication, dict):
                concept = medication.get("code")
            elif reference.get("display"):
                concept = {"text": reference["display"]}
        text = _concept_text(concept)
        if text is None:
            self.problem(concept_path, "needs text or a coding display (the drug)")
            return
        kind = resource["resourceType"]
        start = end = None
        fields: dict[str, str] = {}
        if kind == "MedicationRequest":
            bounds = None
            for n, dosage in enumerate(resource.get("dosageInstruction") or []):
                timing = dosage.get("timing") if isinstance(dosage, dict) else None
                repeat = timing.get("repeat") if isinstance(timing, dict) else None
                if isinstance(repeat, dict) and isinstance(repeat.get("boundsPeriod"), dict):
                    bounds = repeat["boundsPeriod"]
                    bounds_path = f"{path}.dosageInstruction[{n}].timing.repeat.boundsPeriod"
                    break
            if bounds is not None:
                start, end, fields = self.period(bounds, bounds_path)
            else:
                start = self.date(resource.get("authoredOn"), f"{path}.authoredOn")
                fields = {"start": f"{path}.authoredOn"}
        else:
            if isinstance(resource.get("effectivePeriod"), dict):
                start, end, fields = self.period(resource["effectivePeriod"],
                                                 f"{path}.effectivePeriod")
            else:
                start = self.date(resource.get("effectiveDateTime"), f"{path}.effectiveDateTime")
                fields = {"start": f"{path}.effectiveDateTime"}
        status = resource.get("status")
        ongoing = None
        if status in ("active", "in-progress"):
            ongoing = True
        elif status in ("completed", "stopped"):
            ongoing = False
        item = {
            "kind": "drug",
            "name": _drug_name(text),
            "code": _code(concept, prefer=(RXNORM,)),
            "start": start,
            "end": end,
            "ongoing": ongoing,
            "source_ref": self.ref(entry, resource, i),
        }
        self.add("treatments", item, path, fields)

    def procedure(self, i: int, entry: dict, resource: dict) -> None:
        path = f"entry[{i}].resource"
        if resource.get("status") == "preparation":
            return
        concept = resource.get("code")
        name = _concept_text(concept)
        if name is None:
            self.problem(f"{path}.code", "needs text or a coding display")
            return
        profiles = " ".join(sorted(_profiles(resource)))
        words = _all_text(concept)
        category = resource.get("category")
        if "radiation" in profiles or "radiotherapy" in profiles:
            kind = "radiotherapy"
        elif "surgical" in profiles:
            kind = "surgery"
        elif _RADIO_WORDS.search(words):
            kind = "radiotherapy"
        elif _TRANSPLANT_WORDS.search(words):
            kind = "transplant"
        elif _SURGICAL_CATEGORY in _codes(category, SNOMED) or _SURGERY_WORDS.search(words):
            kind = "surgery"
        elif re.search(r"therapy\b", name, re.I):
            kind = "other"
        else:
            return  # diagnostic, screening or administrative: not a treatment
        start = end = None
        fields: dict[str, str] = {}
        if isinstance(resource.get("performedPeriod"), dict):
            start, end, fields = self.period(resource["performedPeriod"],
                                             f"{path}.performedPeriod")
        elif "performedDateTime" in resource:
            start = self.date(resource["performedDateTime"], f"{path}.performedDateTime")
            fields = {"start": f"{path}.performedDateTime"}
        item = {
            "kind": kind,
            "name": name,
            "code": _code(concept, prefer=(SNOMED,)),
            "start": start,
            "end": end,
            "ongoing": True if resource.get("status") == "in-progress" else None,
            "source_ref": self.ref(entry, resource, i),
        }
        self.add("treatments", item, path, fields)


def bundle_to_patient(bundle: dict) -> PatientDocument:
    """Convert a FHIR R4 Bundle (decoded JSON) into a patient document.

    Raises :class:`~matcher.patient.PatientError` naming FHIR paths
    (``entry[3].resource.valueInteger``) for broken resources, and when the bundle
    has no (or more than one) Patient."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise PatientError([("resourceType", "must be a FHIR Bundle")])
    return _Converter(bundle).run()
