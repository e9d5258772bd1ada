"""evals/coverage.py: the text-based family classifier and a tiny end-to-end run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("evals_coverage", ROOT / "evals" / "coverage.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["evals_coverage"] = mod
    spec.loader.exec_module(mod)
    return mod


cov = _load()
CLF = cov.load_classifier()

# (criterion text from real trials, families that must be assigned,
#  families that must NOT be assigned)
TABLE = [
    ("Age ≥ 18 years", {"age"}, set()),
    ("18 and over", {"age"}, set()),
    ("Male or female", {"sex"}, set()),
    ("Sex: female", {"sex"}, set()),
    ("ECOG performance status 0-1", {"performance_status"}, set()),
    ("Karnofsky performance status of at least 70%", {"performance_status"}, set()),
    ("Zubrod 0-2", {"performance_status"}, set()),
    ("Life expectancy of at least 12 weeks", {"life_expectancy"}, set()),
    ("Expected survival of at least 3 months", {"life_expectancy"}, set()),
    ("Absolute neutrophil count ≥ 1,500/mm^3", {"labs"}, set()),
    ("Total bilirubin ≤ 1.5 x ULN", {"labs"}, set()),
    ("Creatinine clearance at least 60 mL/min", {"labs"}, set()),
    ("AST and ALT ≤ 2.5 times upper limit of normal", {"labs"}, set()),
    ("Left ventricular ejection fraction ≥ 50% by echocardiogram or MUGA", {"labs"}, set()),
    ("HER2-positive breast cancer by IHC 3+ or FISH", {"biomarkers", "diagnosis"}, set()),
    ("p16-negative (HPV-negative) tumor by immunohistochemistry", {"biomarkers"}, set()),
    ("PD-L1 CPS ≥ 1", {"biomarkers"}, set()),
    ("EGFR activating mutation (exon 19 deletion or L858R)", {"biomarkers"}, set()),
    ("Histologically confirmed squamous cell carcinoma of the head and neck",
     {"diagnosis"}, set()),
    ("Stage IIIB or IV non-small cell lung cancer", {"diagnosis"}, set()),
    ("Measurable disease per RECIST 1.1", {"measurable_disease"}, set()),
    ("Bidimensionally measurable disease", {"measurable_disease"}, set()),
    ("No known brain metastases", {"cns_metastases"}, {"diagnosis"}),
    ("Symptomatic central nervous system (CNS) disease", {"cns_metastases"}, set()),
    ("Leptomeningeal disease", {"cns_metastases"}, set()),
    ("Prior treatment with an anti-PD-1 or anti-PD-L1 antibody", {"prior_therapy"}, set()),
    ("No more than 2 prior lines of systemic therapy", {"prior_therapy"}, set()),
    ("No prior pelvic radiotherapy", {"prior_therapy"}, set()),
    ("No concurrent chemotherapy", {"current_therapy"}, set()),
    ("Requiring systemic corticosteroids", {"current_therapy"}, set()),
    ("At least 4 weeks since prior chemotherapy", {"washout", "prior_therapy"}, set()),
    ("Treatment within the last 30 days with any investigational drug", {"washout"}, set()),
    ("Major surgery within 28 days before the first dose", {"washout"}, set()),
    ("Not pregnant or nursing", {"pregnancy_breastfeeding"}, set()),
    ("Women who are breastfeeding", {"pregnancy_breastfeeding"}, set()),
    ("Known HIV infection or active hepatitis B or C", {"comorbidities_history"}, set()),
    ("Myocardial infarction within the past 6 months", {"comorbidities_history"}, set()),
    ("No other malignancy within the past 5 years except nonmelanoma skin cancer",
     {"comorbidities_history"}, {"diagnosis"}),
    ("Active autoimmune disease requiring systemic treatment in the past 2 years",
     {"comorbidities_history"}, set()),
    # non-computable
    ("Signed written informed consent", {"consent"}, set(CLF.computable)),
    ("Fertile patients must use effective contraception", {"contraception"},
     set(CLF.computable)),
    ("Willing and able to comply with the protocol", {"compliance"}, set(CLF.computable)),
    ("Any condition that, in the opinion of the investigator, would interfere with "
     "evaluation", {"judgement"}, set(CLF.computable)),
    ("Must reside within 50 miles of the treatment center", {"logistics"},
     set(CLF.computable)),
    ("Participation in another clinical trial", {"trial_participation"},
     set(CLF.computable)),
    ("Archival tissue block must be available for submission", {"study_procedures"},
     set(CLF.computable)),
]

NO_REQUIREMENT = ["Hepatic:", "Not specified", "See Disease Characteristics",
                  "PRIOR CONCURRENT THERAPY:", "Biologic therapy: Not specified", ":"]


@pytest.mark.parametrize(("text", "must", "must_not"), TABLE, ids=[t[0][:40] for t in TABLE])
def test_classifier_table(text, must, must_not):
    got = set(CLF.classify(text))
    assert must <= got, f"{text!r}: got {sorted(got)}"
    assert not (must_not & got), f"{text!r}: got {sorted(got)}"


def test_table_covers_every_family():
    covered = set().union(*(m for _, m, _ in TABLE))
    assert {f.name for f in CLF.families} <= covered


@pytest.mark.parametrize("text", NO_REQUIREMENT)
def test_no_requirement(text):
    assert CLF.classify(text) == ["no_requirement"]


def test_label_fallback():
    assert CLF.classify("At least 12 weeks", "Life expectancy:") == ["life_expectancy"]
    assert CLF.classify("At least 12 weeks") == []
    # the label is used only when the text alone matches nothing
    assert CLF.classify("No brain metastases", "Hepatic:") == ["cns_metastases"]


def test_phrasing_masks_numbers():
    assert cov.phrasing("Platelets ≥ 100,000/mm3 and hemoglobin ≥ 9 g/dL") == \
        "platelets ≥ #/mm# and hemoglobin ≥"


def _write_corpus(folder: Path) -> None:
    trials = folder / "trials"
    trials.mkdir(parents=True)
    legacy = [
        {"nct_id": "NCT90000001", "brief_title": "Cetuximab in head and neck cancer",
         "is_oncology": True, "is_head_and_neck_cancer": True, "gender": "All",
         "minimum_age": "18 Years", "maximum_age": "N/A", "overall_status": "Completed",
         "eligibility_criteria": "Inclusion Criteria:\n\n  -  ECOG performance status 0-1\n\n"
                                 "  -  Signed informed consent\n\nExclusion Criteria:\n\n"
                                 "  -  Pregnant or breastfeeding\n"},
        {"nct_id": "NCT90000002", "brief_title": "Not cancer", "is_oncology": False,
         "is_head_and_neck_cancer": False, "gender": "Female",
         "eligibility_criteria": "Inclusion Criteria:\n\n  -  ECOG performance status 0-1\n"},
    ]
    (trials / "ctgov_legacy_xml_subset.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in legacy), encoding="utf-8")
    tgpt = [
        {"NCT_ID": "NCT90000003", "brief_title": "Drug X in oropharyngeal cancer",
         "diseases_list": ["Oropharyngeal Cancer"], "inclusion_criteria":
         "Measurable disease per RECIST 1.1 \n\n Life expectancy of at least 12 weeks",
         "exclusion_criteria": "Known brain metastases"},
        {"NCT_ID": "NCT90000004", "brief_title": "Drug Y in breast cancer",
         "diseases_list": ["Breast Cancer"], "inclusion_criteria":
         "ECOG performance status 0-1", "exclusion_criteria": ""},
    ]
    (trials / "trialgpt_format_oncology_990.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in tgpt), encoding="utf-8")


def test_end_to_end_counts(tmp_path):
    _write_corpus(tmp_path / "data")
    out = tmp_path / "out"
    assert cov.main(["--data", str(tmp_path / "data"), "--out", str(out)]) == 0
    r = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    assert (out / "coverage.md").read_text(encoding="utf-8").startswith("# Compiler coverage")
    onc, hn = r["oncology"], r["head_and_neck"]
    # the non-oncology legacy record is left out; one legacy + two TrialGPT trials remain
    assert onc["trials"] == 3 and hn["trials"] == 2
    fam = {k: v["criteria"] for k, v in onc["by_family"].items()}
    assert fam["performance_status"] == 2
    assert fam["pregnancy_breastfeeding"] == 1
    assert fam["measurable_disease"] == 1
    assert fam["life_expectancy"] == 1
    assert fam["cns_metastases"] == 1
    assert fam["consent"] == 1
    # consent is outside the denominator; 6 criteria are in computable families
    assert onc["computable"]["criteria"] == 6
    assert onc["non_computable_only"] == 1
    assert sum(onc["computable"][s] for s in ("full", "partial", "none")) == 6
    assert hn["computable"]["criteria"] == 5
    # the registry minimum age is reported apart, never in the text figures
    assert onc["structured"]["all"]["criteria"] == 1
    assert onc["by_family"]["performance_status"]["full"] == 2


def test_skips_without_data(tmp_path, capsys):
    assert cov.main(["--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 0
    assert "skipped" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
