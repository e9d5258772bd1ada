"""FHIR R4 Bundle -> patient document: hand-made bundles and the shared sample data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from matcher.fhir_in import _drug_name, bundle_to_patient
from matcher.patient import PatientError, load_patient

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "patients"
SYNTHEA = DATA / "synthea_mcode_breast_fhir_r4"
CTMS = DATA / "mcode_ctms_test_patients"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared sample data not found at {DATA}")

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def patient_resource(**extra) -> dict:
    resource = {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-04", "gender": "male"}
    resource.update(extra)
    return resource


def bundle(*resources: dict, patient: dict | None = None) -> dict:
    first = patient if patient is not None else patient_resource()
    entries = [{"fullUrl": "urn:uuid:p1", "resource": first}] if first else []
    entries += [{"resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def obs(rid: str, loinc: str, display: str = "", **value) -> dict:
    resource = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
        "effectiveDateTime": "2026-11-12T08:30:00+01:00",
    }
    resource.update(value)
    return resource


def condition(rid: str, code: dict, **extra) -> dict:
    resource = {"resourceType": "Condition", "id": rid, "code": code}
    resource.update(extra)
    return resource


def clinical(code: str) -> dict:
    return {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": code}
        ]
    }


def refused(b: dict) -> PatientError:
    with pytest.raises(PatientError) as info:
        bundle_to_patient(b)
    return info.value


# --------------------------------------------------------------------------- Patient


def test_patient_fields():
    p = bundle_to_patient(bundle())
    assert (p.id, p.birth_date, p.sex, p.as_of) == ("p1", dt.date(1960, 5, 4), "male", None)
    assert p.diagnoses == p.labs == p.treatments == []


def test_bundle_without_patient_is_refused():
    error = refused(
        bundle(obs("o1", "718-7", valueQuantity={"value": 1, "unit": "g/dL"}), patient={})
    )
    assert error.paths == ["entry"]


def test_two_patients_are_refused():
    second = patient_resource(id="p2")
    error = refused(bundle(second))
    assert error.paths == ["entry[1].resource"]


def test_missing_birth_date_is_refused_by_path():
    error = refused(bundle(patient=patient_resource(birthDate=None)))
    assert error.paths == ["entry[0].resource.birthDate"]


@pytest.mark.parametrize(
    "birth, message",
    [("12/11/1960", "FHIR date"), ("1960-05", "full date"), ("1960", "full date")],
)
def test_bad_birth_date_is_refused_without_echo(birth, message):
    error = refused(bundle(patient=patient_resource(birthDate=birth)))
    assert error.paths == ["entry[0].resource.birthDate"]
    assert message in str(error)
    assert birth not in str(error)


def test_bad_gender_names_the_element():
    error = refused(bundle(patient=patient_resource(gender="robot")))
    assert error.paths == ["entry[0].resource.gender"]


def test_not_a_bundle():
    with pytest.raises(PatientError) as info:
        bundle_to_patient({"resourceType": "Patient"})
    assert info.value.paths == ["resourceType"]


# --------------------------------------------------------------------------- performance status

PERFORMANCE = [
    # (observation fields, expected (scale, value))
    ({"code": "89247-1", "valueInteger": 2}, ("ECOG", 2)),
    ({"code": "89247-1", "valueInteger": 0}, ("ECOG", 0)),
    (
        {
            "code": "89247-1",
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9624-3"}]},
        },
        ("ECOG", 2),
    ),
    (
        {
            "code": "89247-1",
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9627-6"}]},
        },
        ("ECOG", 5),
    ),
    ({"code": "89247-1", "valueQuantity": {"value": 1.0}}, ("ECOG", 1)),
    ({"code": "89243-0", "valueInteger": 70}, ("Karnofsky", 70)),
    (
        {
            "code": "89243-0",
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA29177-5"}]},
        },
        ("Karnofsky", 80),
    ),
    (
        {
            "code": "89243-0",
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA29184-1"}]},
        },
        ("Karnofsky", 10),
    ),
]


@pytest.mark.parametrize("fields, expected", PERFORMANCE)
def test_performance_status(fields, expected):
    fields = dict(fields)
    resource = obs("ps1", fields.pop("code"), **fields)
    p = bundle_to_patient(bundle(resource))
    [ps] = p.performance_status
    assert (ps.scale, ps.value) == expected
    assert ps.date == dt.date(2026, 11, 12)
    assert ps.source_ref == "Observation/ps1"
    assert p.labs == []


@pytest.mark.parametrize(
    "fields, path",
    [
        ({"code": "89247-1", "valueInteger": 7}, "entry[1].resource.valueInteger"),
        ({"code": "89247-1", "valueInteger": -1}, "entry[1].resource.valueInteger"),
        ({"code": "89247-1", "valueInteger": "2"}, "entry[1].resource.valueInteger"),
        ({"code": "89243-0", "valueInteger": 75}, "entry[1].resource.valueInteger"),
        (
            {"code": "89243-0", "valueQuantity": {"value": 120}},
            "entry[1].resource.valueQuantity.value",
        ),
        (
            {
                "code": "89247-1",
                "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA29177-5"}]},
            },
            "entry[1].resource.valueCodeableConcept",
        ),
    ],
)
def test_invalid_performance_status_names_the_entry(fields, path):
    fields = dict(fields)
    error = refused(bundle(obs("ps1", fields.pop("code"), **fields)))
    assert error.paths == [path]


def test_performance_status_without_value_is_skipped():
    p = bundle_to_patient(bundle(obs("ps1", "89247-1")))
    assert p.performance_status == []


# --------------------------------------------------------------------------- labs and biomarkers


def test_quantitative_lab():
    resource = obs(
        "hb",
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        valueQuantity={
            "value": 12.4,
            "unit": "g/dL",
            "system": "http://unitsofmeasure.org",
            "code": "g/dL",
        },
        referenceRange=[{"low": {"value": 12.0}, "high": {"value": 16.0}}],
    )
    resource["code"]["text"] = "Hemoglobin"
    [lab] = bundle_to_patient(bundle(resource)).labs
    assert lab.name == "Hemoglobin"
    assert (lab.code.system, lab.code.code) == (LOINC, "718-7")
    assert (lab.value, lab.unit) == (12.4, "g/dL")
    assert (lab.lower_limit_normal, lab.upper_limit_normal) == (12.0, 16.0)
    assert lab.date == dt.date(2026, 11, 12)
    assert lab.source_ref == "Observation/hb"


LAB_VALUES = [
    # (value fields, expected (value, unit, result))
    ({"valueQuantity": {"value": 79, "code": "umol/L"}}, (79, "umol/L", None)),
    (
        {"valueQuantity": {"value": 0.5, "unit": "mg/dL", "comparator": "<"}},
        (None, None, "<0.5 mg/dL"),
    ),
    (
        {
            "valueCodeableConcept": {
                "coding": [
                    {"system": SNOMED, "code": "260385009", "display": "Negative (qualifier value)"}
                ]
            }
        },
        (None, None, "negative"),
    ),
    ({"valueCodeableConcept": {"text": "Negative"}}, (None, None, "negative")),
    ({"valueCodeableConcept": {"text": "Never smoker"}}, (None, None, "Never smoker")),
    ({"valueString": "trace"}, (None, None, "trace")),
    ({"valueBoolean": False}, (None, None, "false")),
]


@pytest.mark.parametrize("fields, expected", LAB_VALUES)
def test_lab_values(fields, expected):
    [lab] = bundle_to_patient(bundle(obs("o1", "5804-0", "Protein", **fields))).labs
    assert (lab.value, lab.unit, lab.result) == expected


def test_lab_without_unit_names_the_quantity_unit():
    resource = obs("o1", "718-7", "Hemoglobin", valueQuantity={"value": 12.4})
    error = refused(bundle(resource))
    assert error.paths == ["entry[1].resource.valueQuantity.unit"]


def test_observation_without_value_is_skipped():
    assert bundle_to_patient(bundle(obs("o1", "718-7", "Hemoglobin"))).labs == []


def test_components_become_labs():
    resource = obs(
        "bp",
        "85354-9",
        "Blood pressure",
        component=[
            {
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "8480-6", "display": "Systolic Blood Pressure"}
                    ]
                },
                "valueQuantity": {"value": 128, "unit": "mm[Hg]"},
            },
            {
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "8462-4", "display": "Diastolic Blood Pressure"}
                    ]
                },
                "valueQuantity": {"value": 81, "unit": "mm[Hg]"},
            },
        ],
    )
    labs = bundle_to_patient(bundle(resource)).labs
    assert [(lab.code.code, lab.value) for lab in labs] == [("8480-6", 128), ("8462-4", 81)]
    assert {lab.source_ref for lab in labs} == {"Observation/bp"}


def test_component_without_unit_names_the_component():
    resource = obs(
        "bp",
        "85354-9",
        "Blood pressure",
        component=[{"code": {"text": "Systolic"}, "valueQuantity": {"value": 128}}],
    )
    assert refused(bundle(resource)).paths == ["entry[1].resource.component[0].valueQuantity.unit"]


BIOMARKERS = [
    # (loinc, display, value fields, profile, expected (name, result, value))
    (
        "48676-1",
        "HER2 [Interpretation] in Tissue",
        {
            "valueCodeableConcept": {
                "coding": [{"system": LOINC, "code": "LA6577-6", "display": "Negative"}]
            }
        },
        None,
        ("HER2", "negative", None),
    ),
    (
        "85337-4",
        "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain",
        {"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "10828004"}]}},
        None,
        ("ER", "positive", None),
    ),
    (
        "16113-3",
        "Progesterone receptor [Interpretation] in Tissue",
        {"valueCodeableConcept": {"text": "Positive"}},
        None,
        ("PR", "positive", None),
    ),
    (
        "99999-9",
        "PD-L1 by combined positive score",
        {"valueQuantity": {"value": 20}},
        None,
        ("PD-L1 CPS", None, 20.0),
    ),
    (
        "99999-8",
        "HPV 16 DNA",
        {"valueCodeableConcept": {"text": "Detected"}},
        None,
        ("HPV", "detected", None),
    ),
    (
        "99999-7",
        "Some marker",
        {"valueString": "elevated"},
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-tumor-marker-test",
        ("Some marker", "elevated", None),
    ),
    (
        "85337-4",
        "Estrogen receptor",
        {"valueQuantity": {"value": 10, "unit": "%", "comparator": ">="}},
        None,
        ("ER", ">=10 %", None),
    ),
]


@pytest.mark.parametrize("loinc, display, fields, profile, expected", BIOMARKERS)
def test_biomarkers(loinc, display, fields, profile, expected):
    resource = obs("b1", loinc, display, **fields)
    if profile:
        resource["meta"] = {"profile": [profile]}
    p = bundle_to_patient(bundle(resource))
    [marker] = p.biomarkers
    assert (marker.name, marker.result, marker.value) == expected
    assert marker.source_ref == "Observation/b1"
    assert p.labs == []


def test_genetic_variant_is_named_by_gene():
    resource = obs(
        "v1",
        "69548-6",
        valueCodeableConcept={
            "coding": [{"system": LOINC, "code": "LA9633-4", "display": "Present"}]
        },
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.genenames.org/geneId",
                            "code": "HGNC:8975",
                            "display": "PIK3CA",
                        }
                    ]
                },
            }
        ],
        meta={
            "profile": [
                "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-genetic-variant"
            ]
        },
    )
    [marker] = bundle_to_patient(bundle(resource)).biomarkers
    assert (marker.name, marker.result) == ("PIK3CA", "present")


# --------------------------------------------------------------------------- conditions


def test_cancer_condition_becomes_diagnosis():
    resource = condition(
        "c1",
        {
            "coding": [
                {
                    "system": ICD10,
                    "code": "C34.11",
                    "display": "Malignant neoplasm of upper lobe, right bronchus or lung",
                },
                {"system": SNOMED, "code": "254637007"},
            ],
            "text": "NSCLC of right upper lobe",
        },
        clinicalStatus=clinical("recurrence"),
        onsetDateTime="2023-03-02T10:00:00Z",
        bodySite=[{"text": "right upper lobe"}],
        stage=[{"summary": {"coding": [{"system": "http://cancerstaging.org", "code": "c3B"}]}}],
        extension=[
            {
                "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": "35917007",
                            "display": "Adenocarcinoma (morphologic abnormality)",
                        }
                    ]
                },
            }
        ],
    )
    p = bundle_to_patient(bundle(resource))
    [d] = p.diagnoses
    assert d.condition == "NSCLC of right upper lobe"
    assert (d.code.system, d.code.code) == ("ICD-10-CM", "C34.11")
    assert d.histology == "Adenocarcinoma"
    assert d.site == "right upper lobe"
    assert d.stage == "IIIB"
    assert d.status == ["recurrent"]
    assert d.date == dt.date(2023, 3, 2)
    assert d.source_ref == "Condition/c1"
    assert p.conditions == []


CONDITIONS = [
    # (code, extra, expected list, expected status)
    (
        {"coding": [{"system": ICD10, "code": "I10", "display": "Essential hypertension"}]},
        {"clinicalStatus": clinical("active")},
        "conditions",
        "active",
    ),
    (
        {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "195662009",
                    "display": "Acute viral pharyngitis (disorder)",
                }
            ]
        },
        {"clinicalStatus": clinical("resolved")},
        "conditions",
        "resolved",
    ),
    ({"text": "Hepatitis B"}, {"clinicalStatus": clinical("remission")}, "conditions", "resolved"),
    ({"text": "Hepatitis C"}, {"abatementDateTime": "2020-01-01"}, "conditions", "resolved"),
    ({"text": "Asthma"}, {}, "conditions", "active"),
    (
        {"text": "Tuberculosis"},
        {"verificationStatus": {"coding": [{"code": "refuted"}]}},
        "conditions",
        "absent",
    ),
    (
        {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "91861009",
                    "display": "Acute myeloid leukemia, disease (disorder)",
                }
            ]
        },
        {"clinicalStatus": clinical("resolved")},
        "conditions",
        "resolved",
    ),
    ({"coding": [{"system": ICD10, "code": "D05.10"}], "text": "DCIS"}, {}, "diagnoses", []),
    (
        {
            "coding": [
                {
                    "system": SNOMED,
                    "code": "254837009",
                    "display": "Malignant neoplasm of breast (disorder)",
                }
            ]
        },
        {"clinicalStatus": clinical("active")},
        "diagnoses",
        [],
    ),
    (
        {"text": "Liver lesions"},
        {
            "meta": {
                "profile": [
                    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-secondary-cancer-condition"
                ]
            }
        },
        "diagnoses",
        ["metastatic"],
    ),
]


@pytest.mark.parametrize("code, extra, where, status", CONDITIONS)
def test_condition_mapping(code, extra, where, status):
    p = bundle_to_patient(bundle(condition("c1", code, **extra)))
    items = getattr(p, where)
    assert len(items) == 1 and len(p.diagnoses) + len(p.conditions) == 1
    assert items[0].status == status
    assert items[0].source_ref == "Condition/c1"


def test_entered_in_error_is_skipped():
    resource = condition(
        "c1", {"text": "Asthma"}, verificationStatus={"coding": [{"code": "entered-in-error"}]}
    )
    med = {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "entered-in-error",
        "medicationCodeableConcept": {"text": "aspirin"},
    }
    p = bundle_to_patient(bundle(resource, med))
    assert p.conditions == [] and p.treatments == []


def test_stage_group_observation_sets_the_stage():
    cancer = condition("c1", {"text": "Breast cancer"})
    early = obs(
        "s1",
        "21908-9",
        valueCodeableConcept={"coding": [{"system": "http://cancerstaging.org", "code": "c2A"}]},
        focus=[{"reference": "Condition/c1"}],
    )
    late = obs(
        "s2", "21902-2", valueCodeableConcept={"text": "Stage IV"}, effectiveDateTime="2027-01-01"
    )
    p = bundle_to_patient(bundle(cancer, early, late))
    assert p.diagnoses[0].stage == "IV"
    assert p.labs == []


def test_condition_bad_onset_names_the_element():
    resource = condition("c1", {"text": "Asthma"}, onsetDateTime="03/02/2019")
    error = refused(bundle(resource))
    assert error.paths == ["entry[1].resource.onsetDateTime"]
    assert "03/02/2019" not in str(error)


# --------------------------------------------------------------------------- treatments


def test_medication_statement():
    resource = {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [
                {"system": RXNORM, "code": "1547545", "display": "pembrolizumab 25 MG/ML Injection"}
            ]
        },
        "effectivePeriod": {"start": "2025-02-03"},
    }
    [t] = bundle_to_patient(bundle(resource)).treatments
    assert (t.kind, t.name, t.code.system, t.code.code) == (
        "drug",
        "pembrolizumab",
        "RxNorm",
        "1547545",
    )
    assert (t.start, t.end, t.ongoing) == (dt.date(2025, 2, 3), None, True)
    assert t.source_ref == "MedicationStatement/m1"


def test_medication_request_bounds_and_reference():
    medication = {
        "resourceType": "Medication",
        "id": "med1",
        "code": {"text": "Cisplatin 1 MG/ML Injectable Solution"},
    }
    request = {
        "resourceType": "MedicationRequest",
        "id": "r1",
        "status": "completed",
        "medicationReference": {"reference": "Medication/med1"},
        "authoredOn": "2023-05-01",
        "dosageInstruction": [
            {"timing": {"repeat": {"boundsPeriod": {"start": "2023-05-10", "end": "2023-06-21"}}}}
        ],
    }
    [t] = bundle_to_patient(bundle(medication, request)).treatments
    assert (t.name, t.start, t.end, t.ongoing) == (
        "cisplatin",
        dt.date(2023, 5, 10),
        dt.date(2023, 6, 21),
        False,
    )


def test_medication_end_before_start_names_the_element():
    resource = {
        "resourceType": "MedicationAdministration",
        "id": "a1",
        "status": "completed",
        "medicationCodeableConcept": {"text": "docetaxel"},
        "effectivePeriod": {"start": "2024-02-01", "end": "2024-01-01"},
    }
    assert refused(bundle(resource)).paths == ["entry[1].resource.effectivePeriod.end"]


@pytest.mark.parametrize(
    "text, name",
    [
        ("Paclitaxel 100 MG Injection", "paclitaxel"),
        ("100 ML Epirubicin Hydrochloride 2 MG/ML Injection", "epirubicin"),
        ("5 ML fulvestrant 50 MG/ML Prefilled Syringe", "fulvestrant"),
        ("NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector", "epinephrine"),
        ("zoledronic acid Injetable Product", "zoledronic acid"),
        ("palbociclib 125 MG Oral Capsule [Ibrance]", "palbociclib"),
        ("Penicillin V Potassium 250 MG Oral Tablet", "penicillin v"),
        ("pembrolizumab", "pembrolizumab"),
    ],
)
def test_drug_name(text, name):
    assert _drug_name(text) == name


PROCEDURES = [
    # (procedure fields, expected kind or None when skipped)
    ({"code": {"text": "Stereotactic radiotherapy to brain"}}, "radiotherapy"),
    (
        {
            "code": {
                "coding": [
                    {
                        "system": SNOMED,
                        "code": "53438000",
                        "display": "Radiation therapy procedure or service (procedure)",
                    }
                ]
            }
        },
        "radiotherapy",
    ),
    ({"code": {"text": "Allogeneic stem cell transplant"}}, "transplant"),
    ({"code": {"text": "Partial glossectomy"}}, "surgery"),
    (
        {
            "code": {"text": "Whipple"},
            "category": {"coding": [{"system": SNOMED, "code": "387713003"}]},
        },
        "surgery",
    ),
    (
        {
            "code": {"text": "Sentinel lymph node biopsy"},
            "meta": {
                "profile": [
                    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-related-surgical-procedure"
                ]
            },
        },
        "surgery",
    ),
    (
        {
            "code": {
                "coding": [
                    {"system": SNOMED, "code": "367336001", "display": "Chemotherapy (procedure)"}
                ]
            }
        },
        "other",
    ),
    ({"code": {"text": "Mammogram - symptomatic (procedure)"}}, None),
    ({"code": {"text": "Medication Reconciliation (procedure)"}}, None),
    ({"code": {"text": "Hospice care (regime/therapy)"}}, None),
]


@pytest.mark.parametrize("fields, kind", PROCEDURES)
def test_procedures(fields, kind):
    resource = {
        "resourceType": "Procedure",
        "id": "x1",
        "status": "completed",
        "performedPeriod": {"start": "2023-04-05T09:00:00Z", "end": "2023-04-05T11:00:00Z"},
    }
    resource.update(fields)
    treatments = bundle_to_patient(bundle(resource)).treatments
    if kind is None:
        assert treatments == []
    else:
        [t] = treatments
        assert (t.kind, t.start, t.end, t.source_ref) == (
            kind,
            dt.date(2023, 4, 5),
            dt.date(2023, 4, 5),
            "Procedure/x1",
        )


# ----------------------------------------------------- several problems, privacy


def test_several_broken_resources_are_reported_together():
    secret = "31/12/2019"
    b = bundle(
        obs("ps", "89247-1", valueInteger=9),
        obs("hb", "718-7", "Hemoglobin", valueQuantity={"value": 12.0}),
        condition("c1", {"text": "Asthma"}, onsetDateTime=secret),
        {
            "resourceType": "Procedure",
            "id": "x",
            "status": "completed",
            "code": {"text": "Lobectomy"},
            "performedDateTime": "2019-04",
        },
        {
            "resourceType": "MedicationStatement",
            "id": "m",
            "status": "active",
            "medicationCodeableConcept": {},
        },
        patient=patient_resource(birthDate=None),
    )
    error = refused(b)
    assert set(error.paths) == {
        "entry[0].resource.birthDate",
        "entry[1].resource.valueInteger",
        "entry[2].resource.valueQuantity.unit",
        "entry[3].resource.onsetDateTime",
        "entry[4].resource.performedDateTime",
        "entry[5].resource.medicationCodeableConcept",
    }
    assert secret not in str(error) and "2019-04" not in str(error)


def test_exact_duplicate_entries_are_read_once():
    med = {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "completed",
        "medicationCodeableConcept": {"text": "capecitabine"},
        "effectiveDateTime": "2020-01-01",
    }
    changed = dict(med, effectiveDateTime="2020-02-01")
    p = bundle_to_patient(bundle(med, dict(med), changed))
    assert [t.start for t in p.treatments] == [dt.date(2020, 1, 1), dt.date(2020, 2, 1)]


def test_load_patient_of_a_bundle_carries_the_source():
    with pytest.raises(PatientError) as info:
        load_patient(json.dumps(bundle(obs("ps", "89247-1", valueInteger=9))), "bundle.json")
    assert (
        str(info.value)
        == "bundle.json: entry[1].resource.valueInteger: ECOG must be an integer 0..5"
    )


# --------------------------------------------------------------------------- the shared samples

SAMPLES = [
    # (folder, file prefix, diagnoses, performance status, biomarkers, labs, labs with LOINC,
    #  treatments, of which drugs, conditions)
    ("synthea", "10YearsMcodeBreast__Chiquita638", 1, [], 4, 158, 158, 10, 4, 5),
    ("synthea", "10YearsMcodeBreast__Katie634", 1, [], 5, 133, 133, 11, 6, 3),
    ("synthea", "10YearsMcodeBreast__Luis923", 1, [], 5, 119, 119, 9, 5, 1),
    ("synthea", "10YearsMcodeBreast__Yvonne357", 1, [], 5, 112, 112, 12, 7, 1),
    ("synthea", "longitudinalMCODEBreast__Corrie32", 1, [], 5, 79, 79, 38, 20, 1),
    ("synthea", "longitudinalMCODEBreast__Florine959", 1, [], 4, 123, 123, 21, 11, 4),
    ("ctms", "TrialMatching_Patient01", 4, [("ECOG", 1)], 6, 0, 0, 5, 5, 0),
    ("ctms", "TrialMatching_Patient02", 2, [("ECOG", 1)], 8, 0, 0, 16, 11, 0),
    ("ctms", "eom_patient_1", 2, [("ECOG", 3)], 6, 4, 1, 2, 2, 0),
    ("ctms", "patient_data.", 2, [("Karnofsky", 90), ("ECOG", 3)], 4, 0, 0, 9, 3, 0),
]


def sample(folder: str, prefix: str) -> Path:
    base = SYNTHEA if folder == "synthea" else CTMS
    [path] = [p for p in base.glob("*.json") if p.name.startswith(prefix)]
    return path


@needs_data
def test_sample_folders_hold_the_expected_bundles():
    assert len(list(SYNTHEA.glob("*.json"))) == 6
    assert len(list(CTMS.glob("*.json"))) == 5


@needs_data
@pytest.mark.parametrize(
    "folder, prefix, n_dx, ps, n_bio, n_labs, n_loinc, n_treat, n_drugs, n_cond",
    SAMPLES,
    ids=[s[1] for s in SAMPLES],
)
def test_sample_bundles_convert(
    folder, prefix, n_dx, ps, n_bio, n_labs, n_loinc, n_treat, n_drugs, n_cond
):
    path = sample(folder, prefix)
    p = load_patient(path.read_text(encoding="utf-8"), path.name)
    raw = json.loads(path.read_text(encoding="utf-8"))
    [patient] = [e["resource"] for e in raw["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert p.id == patient["id"]
    assert p.birth_date == dt.date.fromisoformat(patient["birthDate"])
    assert p.sex == patient["gender"]
    assert len(p.diagnoses) == n_dx
    assert [(x.scale, x.value) for x in p.performance_status] == ps
    assert len(p.biomarkers) == n_bio
    assert len(p.labs) == n_labs
    assert sum(1 for lab in p.labs if lab.code and lab.code.system == "http://loinc.org") == n_loinc
    assert len(p.treatments) == n_treat
    assert sum(t.kind == "drug" for t in p.treatments) == n_drugs
    assert len(p.conditions) == n_cond
    items = p.diagnoses + p.performance_status + p.biomarkers + p.labs + p.treatments + p.conditions
    assert all(item.source_ref for item in items)
    assert all(lab.value is None or lab.unit for lab in p.labs)


@needs_data
def test_synthea_breast_cancer_details():
    p = load_patient(sample("synthea", "10YearsMcodeBreast__Chiquita638").read_text(), "x")
    [dx] = p.diagnoses
    assert (dx.code.system, dx.code.code, dx.stage) == ("SNOMED CT", "254837009", "IIA")
    assert {(b.name, b.result) for b in p.biomarkers} == {
        ("HER2", "negative"),
        ("ER", "positive"),
        ("PR", "negative"),
    }
    hb = [lab for lab in p.labs if lab.code.code == "718-7"]
    assert len(hb) == 1 and hb[0].unit == "g/dL" and isinstance(hb[0].value, float)
    drugs = {t.name for t in p.treatments if t.kind == "drug"}
    assert drugs == {"cyclophosphamide"}
    aml = [c for c in p.conditions if c.code.code == "91861009"]
    assert aml and aml[0].status == "resolved"


@needs_data
def test_ctms_metastatic_patient():
    p = load_patient(sample("ctms", "TrialMatching_Patient01").read_text(), "x")
    assert p.diagnoses[0].stage == "IV"
    assert sum("metastatic" in d.status for d in p.diagnoses) == 3
    assert {b.name for b in p.biomarkers} >= {"ER", "PR", "HER2", "MSI"}
    ongoing = sorted(t.name for t in p.treatments if t.ongoing)
    assert ongoing == ["abemaciclib", "fulvestrant", "ribociclib"]


@needs_data
def test_invalid_sample_is_refused_by_path():
    path = CTMS / "patient_data_missing_birthdate_invalid_ecog_karnofsky.json"
    with pytest.raises(PatientError) as info:
        load_patient(path.read_text(encoding="utf-8"), path.name)
    error = info.value
    assert error.paths == [
        "entry[0].resource.birthDate",
        "entry[2].resource.valueInteger",
        "entry[3].resource.valueInteger",
    ]
    assert "Karnofsky" in error.problems[1][1] and "ECOG" in error.problems[2][1]
    assert all(line.startswith(path.name + ": ") for line in str(error).splitlines())
