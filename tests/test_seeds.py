"""The bundled seed library (seeds/*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from criteria.sources import load_seed_trials, read_trial_file, seeds_dir

REPO = Path(__file__).resolve().parents[1]
SEED_DOCS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

IDS = {
    "NCT06935188",
    "NCT05721443",
    "PMID:28559019",
    "CITE:BreastCancerResTreat.2021;189(1):177-185",
    "DOI:10.4161/onci.23080",
}
SOURCE_DOCS = {
    "NCT06935188": "003_2eb039067f8c34bb.txt",
    "NCT05721443": "001_59841fe2028570f0.txt",
    "PMID:28559019": "000_ff232d8e5f930f03.txt",
    "CITE:BreastCancerResTreat.2021;189(1):177-185": "002_371f16e2d792d66b.txt",
    "DOI:10.4161/onci.23080": "004_1172d07635208541.txt",
}


@pytest.fixture(scope="module")
def seeds():
    return {t.trial_id: t for t in load_seed_trials()}


def test_seeds_dir_in_checkout():
    assert seeds_dir() == REPO / "seeds"


def test_all_five_load(seeds):
    assert set(seeds) == IDS
    assert len(load_seed_trials()) == 5


def test_one_file_per_trial():
    files = sorted(seeds_dir().glob("*.json"))
    assert len(files) == 5
    for f in files:
        records = read_trial_file(f)
        assert len(records) == 1
        raw = json.loads(f.read_text(encoding="utf-8"))
        nct = raw["protocolSection"]["identificationModule"]["nctId"]
        assert records[0].trial_id == nct


def test_every_record_names_its_source_and_note(seeds):
    for trial_id, trial in seeds.items():
        assert trial.source == SOURCE_DOCS[trial_id]
        assert trial.note.strip()
        assert trial.eligibility_text.startswith("Inclusion Criteria:")
        assert trial.title


def test_readme_names_every_source_document():
    readme = (seeds_dir() / "README.md").read_text(encoding="utf-8")
    for doc in SOURCE_DOCS.values():
        assert doc in readme


def test_nct06935188(seeds):
    t = seeds["NCT06935188"]
    assert t.title == (
        "Dalpicilib Plus Cetuximab Compared With Cetuximab Alone in HPV-negative, "
        "Anti-PD-1-resistant R/M HNSCC"
    )
    assert t.status == "RECRUITING"
    assert t.is_open
    assert t.phases == ["PHASE2"]
    assert t.minimum_age == 18.0
    assert t.maximum_age == 75.0
    assert t.sex == "ALL"
    assert t.conditions == ["Recurrent/Metastatic Head and Neck Squamous Cell Carcinoma"]
    assert [i.lower() for i in t.interventions] == ["dalpiciclib", "cetuximab"]
    text = t.eligibility_text
    assert text.startswith("Inclusion Criteria:\n\n  • Age 18-75 years, both sexes.")
    assert text.endswith("  • Patients with a history of other malignancies within five years.")
    assert "\n\nExclusion Criteria:\n\n  • " in text
    assert "4.010^9/L" in text  # garbled as published; the compiler copes


def test_nct06935188_sponsor_and_summary():
    raw = json.loads((seeds_dir() / "NCT06935188.json").read_text(encoding="utf-8"))
    ps = raw["protocolSection"]
    sponsor = "Shanghai Ninth People's Hospital Affiliated to Shanghai Jiao Tong University"
    assert ps["sponsorCollaboratorsModule"]["leadSponsor"]["name"] == sponsor
    assert ps["descriptionModule"]["briefSummary"].startswith("This study is a single center")
    types = [i["type"] for i in ps["armsInterventionsModule"]["interventions"]]
    assert types == ["DRUG", "DRUG"]


@pytest.mark.skipif(
    not SEED_DOCS.is_dir(), reason=f"seed documents not present at {SEED_DOCS} (../shared/seeds)"
)
def test_nct06935188_criteria_verbatim_from_document(seeds):
    doc = (SEED_DOCS / "003_2eb039067f8c34bb.txt").read_text(encoding="utf-8")
    text = seeds["NCT06935188"].eligibility_text
    assert text in doc  # the whole block, blank lines included
    for line in text.splitlines():
        if line.strip():
            assert line in doc, line


@pytest.mark.skipif(
    not SEED_DOCS.is_dir(), reason=f"seed documents not present at {SEED_DOCS} (../shared/seeds)"
)
def test_source_documents_exist():
    for doc in SOURCE_DOCS.values():
        assert (SEED_DOCS / doc).is_file()


def test_nct05721443(seeds):
    t = seeds["NCT05721443"]
    assert t.status == "RECRUITING"
    assert t.phases == ["PHASE2"]
    assert (t.minimum_age, t.maximum_age, t.sex) == (18.0, 75.0, "ALL")
    text = t.eligibility_text
    for fact in (
        "recurrent or metastatic head and neck squamous cell carcinoma",
        "ECOG performance status 0 to 1",
        "HPV-negative by immunohistochemistry (IHC)",
        "anti-PD-1 therapy with disease progression",
        "RECIST 1.1",
        "Total bilirubin <= 1.5 x ULN",
        "AST and ALT <= 1.5 x ULN",
        "Creatinine < 1.5 x ULN or creatinine clearance >= 60 mL/min",
    ):
        assert fact in text
    assert "Exclusion" not in text
    assert "paraphrased" in t.note
    assert "not copied from a registry record" in t.note


@pytest.mark.parametrize(
    "trial_id, phases, needle",
    [
        ("PMID:28559019", ["PHASE2"], "Undetectable serum IL6 (ELISA) (biomarker-enriched"),
        (
            "CITE:BreastCancerResTreat.2021;189(1):177-185",
            ["PHASE1", "PHASE2"],
            "at least 2 lines of HER2-directed therapy",
        ),
        ("DOI:10.4161/onci.23080", ["PHASE1"], "Refractory solid tumor"),
    ],
)
def test_published_trials(seeds, trial_id, phases, needle):
    t = seeds[trial_id]
    assert t.status == "COMPLETED"
    assert not t.is_open
    assert t.phases == phases
    assert needle in t.eligibility_text
    assert t.minimum_age is None and t.maximum_age is None
    assert "nothing invented" in t.note


def test_published_trial_notes():
    notes = {t.trial_id: t.note for t in load_seed_trials()}
    assert "23525357" in notes["DOI:10.4161/onci.23080"]
    assert "no PMID" in notes["CITE:BreastCancerResTreat.2021;189(1):177-185"]
