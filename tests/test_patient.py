"""The patient document (contract section 1): acceptance, refusals by field path,
no patient values in messages, loading."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from matcher.patient import PatientDocument, PatientError, load_patient, parse_patient

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO.parent / "shared" / "contract" / "patient.example.json"

# A copy of the contract example, so the tests run where the shared folder is absent.
# test_contract_example_is_accepted_as_is checks the real file when it is present.
EXAMPLE = {
    "id": "example-hnscc-001",
    "as_of": "2026-11-20",
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
    "performance_status": [{"scale": "ECOG", "value": 1, "date": "2026-11-12"}],
    "biomarkers": [
        {"name": "HPV", "result": "negative", "method": "IHC", "date": "2023-03-10"},
        {"name": "p16", "result": "negative", "method": "IHC", "date": "2023-03-10"},
        {"name": "PD-L1 CPS", "value": 20, "date": "2023-03-10"},
    ],
    "labs": [
        {"name": "hemoglobin", "value": 12.4, "unit": "g/dL", "date": "2026-11-12"},
        {"name": "white blood cell count", "value": 6.2, "unit": "10^9/L", "date": "2026-11-12"},
        {"name": "absolute neutrophil count", "value": 3900, "unit": "/uL", "date": "2026-11-12"},
        {"name": "platelet count", "value": 231, "unit": "10^9/L", "date": "2026-11-12"},
        {
            "name": "total bilirubin",
            "value": 0.7,
            "unit": "mg/dL",
            "upper_limit_normal": 1.2,
            "date": "2026-11-12",
        },
        {"name": "AST", "value": 24, "unit": "U/L", "upper_limit_normal": 40, "date": "2026-11-12"},
        {"name": "ALT", "value": 19, "unit": "U/L", "upper_limit_normal": 41, "date": "2026-11-12"},
        {
            "code": {"system": "http://loinc.org", "code": "2160-0"},
            "name": "creatinine",
            "value": 79,
            "unit": "umol/L",
            "upper_limit_normal": 110,
            "date": "2026-11-12",
        },
        {"name": "creatinine clearance", "value": 88, "unit": "mL/min", "date": "2026-11-12"},
        {"name": "blood urea nitrogen", "value": 14, "unit": "mg/dL", "date": "2026-11-12"},
        {"name": "urine protein", "result": "negative", "date": "2026-11-12"},
        {"name": "glucose", "value": 5.6, "unit": "mmol/L", "date": "2026-11-12"},
        {"name": "FEV1", "value": 2.9, "unit": "L", "date": "2026-11-05"},
        {"name": "HIV antibody", "result": "negative", "date": "2026-11-12"},
        {"name": "syphilis antibody", "result": "negative", "date": "2026-11-12"},
        {"name": "HBsAg", "result": "negative", "date": "2026-11-12"},
        {"name": "HBcAb", "result": "negative", "date": "2026-11-12"},
        {"name": "HCV antibody", "result": "negative", "date": "2026-11-12"},
    ],
    "treatments": [
        {
            "kind": "surgery",
            "name": "partial glossectomy with neck dissection",
            "start": "2023-04-05",
        },
        {
            "kind": "radiotherapy",
            "name": "adjuvant chemoradiation",
            "start": "2023-05-10",
            "end": "2023-06-21",
            "setting": "adjuvant",
        },
        {
            "kind": "drug",
            "name": "cisplatin",
            "start": "2023-05-10",
            "end": "2023-06-21",
            "cycles": 3,
            "setting": "adjuvant",
        },
        {
            "kind": "drug",
            "name": "pembrolizumab",
            "start": "2025-02-03",
            "end": "2026-08-25",
            "cycles": 12,
            "setting": "recurrent/metastatic",
            "best_response": "stable disease",
            "progression": {"date": "2026-09-04", "confirmed_by": "imaging"},
        },
    ],
    "conditions": [
        {"name": "hypertension", "status": "active", "controlled": True},
        {"name": "type 2 diabetes mellitus", "status": "active", "controlled": True},
    ],
    "findings": {
        "measurable_disease": {"value": True, "criteria": "RECIST 1.1", "largest_lesion_mm": 24},
        "life_expectancy_weeks": 26,
        "tumor_tissue_available": True,
        "pregnant": False,
        "breastfeeding": False,
    },
}


def example() -> dict:
    return copy.deepcopy(EXAMPLE)


def refused(doc: object) -> PatientError:
    with pytest.raises(PatientError) as info:
        parse_patient(doc)
    return info.value


# --------------------------------------------------------------------------- acceptance


def test_contract_example_is_accepted_as_is():
    if not CONTRACT.exists():
        pytest.skip(f"contract example not found at {CONTRACT}")
    text = CONTRACT.read_text(encoding="utf-8")
    assert json.loads(text) == EXAMPLE, "the copy in this test drifted from the contract"
    patient = load_patient(text, str(CONTRACT))
    assert patient.id == "example-hnscc-001"


def test_example_fields_are_read():
    p = parse_patient(example())
    assert p.as_of == dt.date(2026, 11, 20)
    assert p.birth_date == dt.date(1963, 8, 17)
    assert p.sex == "male"
    assert p.diagnoses[0].status == ["recurrent", "metastatic"]
    assert p.diagnoses[0].code.system == "ICD-10-CM"
    assert p.performance_status[0].scale == "ECOG" and p.performance_status[0].value == 1
    assert [b.name for b in p.biomarkers] == ["HPV", "p16", "PD-L1 CPS"]
    assert p.biomarkers[2].value == 20.0 and p.biomarkers[2].result is None
    assert len(p.labs) == 18
    assert p.labs[7].code.code == "2160-0" and p.labs[7].upper_limit_normal == 110
    assert p.labs[10].result == "negative" and p.labs[10].value is None
    assert p.treatments[3].progression.date == dt.date(2026, 9, 4)
    assert p.treatments[2].cycles == 3
    assert [c.controlled for c in p.conditions] == [True, True]
    assert p.findings.measurable_disease.value is True
    assert p.findings.measurable_disease.largest_lesion_mm == 24
    assert p.findings.life_expectancy_weeks == 26
    assert p.age_at(p.effective_as_of()) == 63


# --------------------------------------------------------------------------- refusals


def _set(path, value):
    """A mutation setting ``doc[path...] = value``."""

    def mutate(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _drop(path):
    def mutate(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _both(*mutations):
    def mutate(doc):
        for m in mutations:
            m(doc)

    return mutate


BROKEN = [
    # (case, mutation, exact set of paths reported)
    ("id missing", _drop(["id"]), {"id"}),
    ("id not a string", _set(["id"], 12345), {"id"}),
    ("misspelt top field", _set(["birthdate"], "1963-08-17"), {"birthdate"}),
    ("as_of not ISO", _set(["as_of"], "20/11/2026"), {"as_of"}),
    ("birth_date not ISO", _set(["birth_date"], "12/11/2026"), {"birth_date"}),
    ("birth_date impossible", _set(["birth_date"], "1963-02-30"), {"birth_date"}),
    ("birth_date with time", _set(["birth_date"], "1963-08-17T00:00:00"), {"birth_date"}),
    ("birth_date as a number", _set(["birth_date"], 19630817), {"birth_date"}),
    ("neither birth_date nor age", _drop(["birth_date"]), {"birth_date"}),
    ("age over 130", _both(_drop(["birth_date"]), _set(["age"], 131)), {"age"}),
    ("age negative", _both(_drop(["birth_date"]), _set(["age"], -1)), {"age"}),
    ("age as a string", _both(_drop(["birth_date"]), _set(["age"], "63")), {"age"}),
    ("age inconsistent with birth_date", _set(["age"], 70), {"age"}),
    ("sex unknown value", _set(["sex"], "mlae"), {"sex"}),
    (
        "diagnosis without condition",
        _drop(["diagnoses", 0, "condition"]),
        {"diagnoses[0].condition"},
    ),
    (
        "diagnosis misspelt field",
        _set(["diagnoses", 0, "histolgy"], "x"),
        {"diagnoses[0].histolgy"},
    ),
    (
        "diagnosis code without system",
        _drop(["diagnoses", 0, "code", "system"]),
        {"diagnoses[0].code.system"},
    ),
    (
        "confirmed_by unknown",
        _set(["diagnoses", 0, "confirmed_by"], "biopsy"),
        {"diagnoses[0].confirmed_by"},
    ),
    (
        "second status unknown",
        _set(["diagnoses", 0, "status"], ["metastatic", "spreading"]),
        {"diagnoses[0].status[1]"},
    ),
    (
        "status single unknown",
        _set(["diagnoses", 0, "status"], "advanced"),
        {"diagnoses[0].status[0]"},
    ),
    ("diagnosis date not ISO", _set(["diagnoses", 0, "date"], "March 2023"), {"diagnoses[0].date"}),
    (
        "scale unknown",
        _set(["performance_status", 0, "scale"], "WHO"),
        {"performance_status[0].scale"},
    ),
    ("ECOG 6", _set(["performance_status", 0, "value"], 6), {"performance_status[0].value"}),
    ("ECOG -1", _set(["performance_status", 0, "value"], -1), {"performance_status[0].value"}),
    (
        "ECOG as a string",
        _set(["performance_status", 0, "value"], "1"),
        {"performance_status[0].value"},
    ),
    (
        "ECOG fractional",
        _set(["performance_status", 0, "value"], 1.5),
        {"performance_status[0].value"},
    ),
    (
        "Karnofsky 85",
        _both(
            _set(["performance_status", 0, "scale"], "Karnofsky"),
            _set(["performance_status", 0, "value"], 85),
        ),
        {"performance_status[0].value"},
    ),
    (
        "Karnofsky 110",
        _both(
            _set(["performance_status", 0, "scale"], "KPS"),
            _set(["performance_status", 0, "value"], 110),
        ),
        {"performance_status[0].value"},
    ),
    ("biomarker without result or value", _drop(["biomarkers", 0, "result"]), {"biomarkers[0]"}),
    ("biomarker without name", _drop(["biomarkers", 1, "name"]), {"biomarkers[1].name"}),
    (
        "biomarker value not a number",
        _set(["biomarkers", 2, "value"], "20"),
        {"biomarkers[2].value"},
    ),
    ("lab value without unit", _drop(["labs", 3, "unit"]), {"labs[3].unit"}),
    ("lab unit null", _set(["labs", 3, "unit"], None), {"labs[3].unit"}),
    ("lab without name or code", _drop(["labs", 0, "name"]), {"labs[0]"}),
    (
        "lab without value or result",
        _both(_drop(["labs", 0, "value"]), _drop(["labs", 0, "unit"])),
        {"labs[0]"},
    ),
    ("lab value not finite", _set(["labs", 1, "value"], float("nan")), {"labs[1].value"}),
    (
        "lab ULN not a number",
        _set(["labs", 4, "upper_limit_normal"], "1.2"),
        {"labs[4].upper_limit_normal"},
    ),
    ("lab misspelt field", _set(["labs", 2, "valeu"], 1), {"labs[2].valeu"}),
    ("lab date not ISO", _set(["labs", 5, "date"], "2026/11/12"), {"labs[5].date"}),
    ("treatment kind unknown", _set(["treatments", 0, "kind"], "chemo"), {"treatments[0].kind"}),
    ("treatment without name", _drop(["treatments", 2, "name"]), {"treatments[2].name"}),
    (
        "treatment end before start",
        _set(["treatments", 1, "end"], "2023-05-01"),
        {"treatments[1].end"},
    ),
    ("treatment cycles negative", _set(["treatments", 2, "cycles"], -1), {"treatments[2].cycles"}),
    ("treatment line 0", _set(["treatments", 3, "line"], 0), {"treatments[3].line"}),
    (
        "treatment ongoing not bool",
        _set(["treatments", 3, "ongoing"], "yes"),
        {"treatments[3].ongoing"},
    ),
    (
        "progression date not ISO",
        _set(["treatments", 3, "progression", "date"], "09/04/2026"),
        {"treatments[3].progression.date"},
    ),
    (
        "condition status unknown",
        _set(["conditions", 0, "status"], "ongoing"),
        {"conditions[0].status"},
    ),
    ("condition grade 6", _set(["conditions", 1, "grade"], 6), {"conditions[1].grade"}),
    (
        "condition controlled not bool",
        _set(["conditions", 0, "controlled"], 1),
        {"conditions[0].controlled"},
    ),
    ("NYHA class 5", _set(["conditions", 0, "nyha_class"], 5), {"conditions[0].nyha_class"}),
    ("condition onset not ISO", _set(["conditions", 0, "onset"], "2019"), {"conditions[0].onset"}),
    (
        "measurable_disease not bool or object",
        _set(["findings", "measurable_disease"], "yes"),
        {"findings.measurable_disease"},
    ),
    (
        "measurable_disease without value",
        _drop(["findings", "measurable_disease", "value"]),
        {"findings.measurable_disease.value"},
    ),
    (
        "brain_metastases unknown",
        _set(["findings", "brain_metastases"], "yes"),
        {"findings.brain_metastases"},
    ),
    ("pregnant not bool", _set(["findings", "pregnant"], "no"), {"findings.pregnant"}),
    (
        "trial_participation_end not ISO",
        _set(["findings", "trial_participation_end"], "last month"),
        {"findings.trial_participation_end"},
    ),
    ("findings misspelt field", _set(["findings", "pregant"], False), {"findings.pregant"}),
    ("labs not a list", _set(["labs"], {"name": "x"}), {"labs"}),
]


@pytest.mark.parametrize("case, mutate, paths", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_document_names_the_paths(case, mutate, paths):
    doc = example()
    mutate(doc)
    error = refused(doc)
    assert set(error.paths) == paths
    assert len(error.problems) == len(paths)
    for path, message in error.problems:
        assert message and path in str(error)


def test_several_problems_at_once():
    doc = example()
    doc["birth_date"] = "12/11/2026"
    doc["sex"] = "Mlae"
    doc["diagnoses"][0]["status"] = ["metastatic", "Spreading"]
    doc["performance_status"][0]["value"] = 7
    del doc["biomarkers"][0]["result"]
    del doc["labs"][3]["unit"]
    doc["treatments"][1]["end"] = "2023-01-01"
    doc["conditions"][1]["grade"] = 9
    doc["findings"]["brain_metastases"] = "several"
    doc["smoker"] = True
    error = refused(doc)
    assert set(error.paths) == {
        "birth_date",
        "sex",
        "diagnoses[0].status[1]",
        "performance_status[0].value",
        "biomarkers[0]",
        "labs[3].unit",
        "treatments[1].end",
        "conditions[1].grade",
        "findings.brain_metastases",
        "smoker",
    }
    lines = str(error).splitlines()
    assert len(lines) == len(error.problems) == 10


SECRETS = [
    ("birth_date", "12/11/2026"),
    ("sex", "Zorblax"),
    ("as_of", "31.12.2026"),
]


@pytest.mark.parametrize("field, secret", SECRETS)
def test_messages_never_echo_patient_values(field, secret):
    doc = example()
    doc[field] = secret
    doc["diagnoses"][0]["status"] = ["Spreadingxyz"]
    doc["labs"][0]["date"] = "11/12/2026"
    doc["performance_status"][0]["value"] = 4711
    doc["treatments"][0]["kind"] = "Homeopathyqq"
    error = refused(doc)
    text = str(error) + repr(error.problems) + repr(error.args)
    for value in (secret, "Spreadingxyz", "11/12/2026", "4711", "Homeopathyqq"):
        assert value not in text


def test_age_only_and_consistent_age_are_accepted():
    doc = example()
    del doc["birth_date"]
    doc["age"] = 63
    p = parse_patient(doc)
    assert p.birth_date is None and p.age_at(dt.date(2026, 11, 20)) == 63
    both = example()
    both["age"] = 64  # within one year of 63 at as_of
    assert parse_patient(both).age == 64


def test_age_consistency_is_judged_at_as_of():
    doc = example()
    doc["as_of"] = "2036-11-20"
    doc["age"] = 73
    assert parse_patient(doc).age == 73
    doc["age"] = 63
    assert refused(doc).paths == ["age"]


NORMALISED = [
    ("sex upper case", _set(["sex"], "FEMALE"), lambda p: p.sex == "female"),
    (
        "scale lower case",
        _set(["performance_status", 0, "scale"], "ecog"),
        lambda p: p.performance_status[0].scale == "ECOG",
    ),
    (
        "scale KPS",
        _both(
            _set(["performance_status", 0, "scale"], "KPS"),
            _set(["performance_status", 0, "value"], 90),
        ),
        lambda p: (
            p.performance_status[0].scale == "Karnofsky" and p.performance_status[0].value == 90
        ),
    ),
    (
        "scale karnofsky",
        _both(
            _set(["performance_status", 0, "scale"], "karnofsky"),
            _set(["performance_status", 0, "value"], 0),
        ),
        lambda p: p.performance_status[0].scale == "Karnofsky",
    ),
    (
        "status as a string",
        _set(["diagnoses", 0, "status"], "Metastatic"),
        lambda p: p.diagnoses[0].status == ["metastatic"],
    ),
    ("status absent", _drop(["diagnoses", 0, "status"]), lambda p: p.diagnoses[0].status == []),
    (
        "measurable_disease bool",
        _set(["findings", "measurable_disease"], False),
        lambda p: p.findings.measurable_disease.value is False,
    ),
    (
        "condition status default",
        _drop(["conditions", 0, "status"]),
        lambda p: p.conditions[0].status == "active",
    ),
    (
        "NYHA as class",
        _set(["conditions", 0, "class"], 2),
        lambda p: p.conditions[0].nyha_class == 2,
    ),
    (
        "NYHA as nyha_class",
        _set(["conditions", 0, "nyha_class"], 3),
        lambda p: p.conditions[0].nyha_class == 3,
    ),
    (
        "unit not validated",
        _set(["labs", 0, "unit"], "furlongs/fortnight"),
        lambda p: p.labs[0].unit == "furlongs/fortnight",
    ),
    ("lab by code only", _drop(["labs", 7, "name"]), lambda p: p.labs[7].name is None),
    (
        "biomarker with both",
        _set(["biomarkers", 2, "result"], "positive"),
        lambda p: p.biomarkers[2].result == "positive",
    ),
    (
        "source_ref extension",
        _set(["labs", 0, "source_ref"], "Observation/1"),
        lambda p: p.labs[0].source_ref == "Observation/1",
    ),
    ("as_of absent", _drop(["as_of"]), lambda p: p.as_of is None),
    ("findings absent", _drop(["findings"]), lambda p: p.findings.pregnant is None),
]


@pytest.mark.parametrize("case, mutate, check", NORMALISED, ids=[c[0] for c in NORMALISED])
def test_accepted_variants(case, mutate, check):
    doc = example()
    mutate(doc)
    assert check(parse_patient(doc))


@pytest.mark.parametrize(
    "birth, on, expected",
    [
        ("1963-08-17", "2026-08-16", 62),
        ("1963-08-17", "2026-08-17", 63),
        ("2000-02-29", "2001-02-28", 0),
        ("2000-02-29", "2001-03-01", 1),
        ("1963-08-17", "1960-01-01", None),
    ],
)
def test_age_at(birth, on, expected):
    doc = example()
    doc["birth_date"] = birth
    doc.pop("as_of")
    p = parse_patient(doc)
    assert p.age_at(dt.date.fromisoformat(on)) == expected


def test_effective_as_of():
    p = parse_patient(example())
    assert p.effective_as_of(None) == dt.date(2026, 11, 20)
    assert p.effective_as_of(dt.date(2027, 1, 1)) == dt.date(2027, 1, 1)
    doc = example()
    del doc["as_of"]
    assert parse_patient(doc).effective_as_of() == dt.date.today()


# --------------------------------------------------------------------------- loading


def test_broken_json_names_line_and_column_and_source():
    text = '{\n  "id": "x",\n  "age": 40,,\n}'
    with pytest.raises(PatientError) as info:
        load_patient(text, "broken.json")
    error = info.value
    assert error.paths == ["(document)"]
    assert "line 3 column" in str(error)
    assert str(error).startswith("broken.json: (document): ")


def test_load_patient_reports_source_with_field_paths():
    doc = example()
    doc["birth_date"] = "12/11/2026"
    with pytest.raises(PatientError) as info:
        load_patient(json.dumps(doc), "p.json")
    assert info.value.problems == [("birth_date", "must be a date YYYY-MM-DD")]
    assert str(info.value) == "p.json: birth_date: must be a date YYYY-MM-DD"


@pytest.mark.parametrize("text", ["[1, 2]", '"patient"', "3", "null"])
def test_non_object_document(text):
    with pytest.raises(PatientError) as info:
        load_patient(text, "x.json")
    assert info.value.paths == ["(document)"]


def test_other_fhir_resource_is_refused():
    with pytest.raises(PatientError) as info:
        load_patient(json.dumps({"resourceType": "Patient", "id": "p1"}), "x.json")
    assert info.value.paths == ["resourceType"]


def test_fhir_bundle_is_converted():
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "birthDate": "1970-01-02",
                    "gender": "female",
                }
            }
        ],
    }
    p = load_patient(json.dumps(bundle), "b.json")
    assert isinstance(p, PatientDocument)
    assert (p.id, p.birth_date, p.sex) == ("p1", dt.date(1970, 1, 2), "female")


def test_bom_is_tolerated():
    p = load_patient("\ufeff" + json.dumps(example()), "bom.json")
    assert p.id == "example-hnscc-001"


def test_round_trip_through_json():
    p = parse_patient(example())
    again = parse_patient(json.loads(p.model_dump_json(exclude_none=True)))
    assert again == p
