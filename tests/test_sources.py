"""Trial file readers: API v2 JSON, legacy XML, JSONL, compiled trials, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from criteria.sources import (
    TrialFileError,
    parse_legacy_xml,
    parse_study_v2,
    read_trial_file,
    read_trial_paths,
)
from criteria.sources.ages import parse_age
from criteria.sources.ctgov_json import normalize_phases, normalize_sex, normalize_status
from criteria.trial import CompiledTrial, Trial

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TRIALS = DATA / "trials"
HN_DIR = TRIALS / "ctgov_legacy_xml_head_and_neck"
HN_FILES = sorted(HN_DIR.glob("NCT*.xml")) if HN_DIR.is_dir() else []

needs_data = pytest.mark.skipif(
    not TRIALS.is_dir(), reason=f"sample data not present at {DATA} (../shared/data)"
)


# --------------------------------------------------------------------------- vocabulary


@pytest.mark.parametrize(
    "text, years",
    [
        ("18 Years", 18.0),
        ("18 years", 18.0),
        ("18", 18.0),
        ("18years", 18.0),
        ("1 Year", 1.0),
        ("6 Months", 0.5),
        ("18 Months", 1.5),
        ("N/A", None),
        ("", None),
        (None, None),
        (" 75 Years ", 75.0),
        (21, 21.0),
        ("0 Years", 0.0),
    ],
)
def test_parse_age(text, years):
    assert parse_age(text) == years


@pytest.mark.parametrize(
    "text, years",
    [("2 Weeks", 14 / 365.25), ("1 Day", 1 / 365.25), ("24 Hours", 1 / 365.25)],
)
def test_parse_age_short_units(text, years):
    assert parse_age(text) == pytest.approx(years)


@pytest.mark.parametrize("text", ["eighteen", "18 parsecs", "-3 Years", "Years"])
def test_parse_age_rejects(text):
    with pytest.raises(ValueError):
        parse_age(text)


@pytest.mark.parametrize(
    "legacy, enum",
    [
        ("Recruiting", "RECRUITING"),
        ("Not yet recruiting", "NOT_YET_RECRUITING"),
        ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
        ("Completed", "COMPLETED"),
        ("Enrolling by invitation", "ENROLLING_BY_INVITATION"),
        ("Unknown status", "UNKNOWN"),
        ("Terminated", "TERMINATED"),
        ("Withdrawn", "WITHDRAWN"),
        ("Suspended", "SUSPENDED"),
        ("RECRUITING", "RECRUITING"),
        (None, "UNKNOWN"),
    ],
)
def test_status_mapping(legacy, enum):
    assert normalize_status(legacy) == enum


@pytest.mark.parametrize(
    "legacy, enums",
    [
        ("Phase 2", ["PHASE2"]),
        ("Phase 1/Phase 2", ["PHASE1", "PHASE2"]),
        ("Phase 2/Phase 3", ["PHASE2", "PHASE3"]),
        ("Phase 1/2", ["PHASE1", "PHASE2"]),
        ("Early Phase 1", ["EARLY_PHASE1"]),
        ("Phase II", ["PHASE2"]),
        ("N/A", ["NA"]),
        (["PHASE1", "PHASE2"], ["PHASE1", "PHASE2"]),
        (["EARLY_PHASE1"], ["EARLY_PHASE1"]),
        (["NA"], ["NA"]),
        (None, []),
    ],
)
def test_phase_mapping(legacy, enums):
    assert normalize_phases(legacy) == enums


def test_phase_rejects_nonsense():
    with pytest.raises(ValueError):
        normalize_phases(["pivotal"])


@pytest.mark.parametrize(
    "legacy, enum",
    [("Both", "ALL"), ("All", "ALL"), ("Female", "FEMALE"), ("MALE", "MALE"), (None, "ALL")],
)
def test_sex_mapping(legacy, enum):
    assert normalize_sex(legacy) == enum


# --------------------------------------------------------------------------- real samples


@needs_data
@pytest.mark.skipif(not HN_FILES, reason=f"no head-and-neck XML samples in {HN_DIR}")
def test_head_and_neck_xml_count():
    assert len(HN_FILES) == 124


@needs_data
@pytest.mark.parametrize("path", HN_FILES, ids=[p.stem for p in HN_FILES])
def test_head_and_neck_xml_parses(path):
    [trial] = read_trial_file(path)
    assert isinstance(trial, Trial)
    assert trial.trial_id == path.stem
    assert trial.eligibility_text.strip()
    assert trial.source == str(path)
    assert trial.sex in {"ALL", "FEMALE", "MALE"}
    assert trial.status == trial.status.upper()
    assert all(
        p in {"EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA"} for p in trial.phases
    )


@needs_data
def test_legacy_eligibility_text_is_verbatim():
    path = TRIALS / "NCT02513394_legacy.xml"
    [trial] = read_trial_file(path)
    raw = path.read_text(encoding="utf-8")
    # ElementTree unescapes &lt; etc.; compare against the unescaped textblock.
    start = raw.index("<textblock>", raw.index("<criteria>")) + len("<textblock>")
    end = raw.index("</textblock>", start)
    expected = raw[start:end].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert trial.eligibility_text == expected


@needs_data
def test_nct02513394_v2_and_legacy_agree():
    [v2] = read_trial_file(TRIALS / "NCT02513394_api_v2.json")
    [xml] = read_trial_file(TRIALS / "NCT02513394_legacy.xml")
    for trial in (v2, xml):
        assert trial.trial_id == "NCT02513394"
        assert trial.sex == "ALL"
        assert trial.minimum_age == 18.0
        assert trial.maximum_age is None
        assert trial.status == "ACTIVE_NOT_RECRUITING"
        assert trial.phases == ["PHASE3"]
    assert v2.title == xml.title
    assert v2.conditions == xml.conditions
    assert v2.interventions == xml.interventions
    assert v2.eligibility_text.startswith("Inclusion Criteria:")


@needs_data
def test_breast_cancer_jsonl():
    trials = read_trial_file(TRIALS / "ctgov_api_v2_breast_cancer_5.jsonl")
    assert [t.trial_id for t in trials] == [
        "NCT01922921",
        "NCT01026116",
        "NCT06650748",
        "NCT00109785",
        "NCT00616135",
    ]
    by_id = {t.trial_id: t for t in trials}
    assert by_id["NCT01026116"].sex == "FEMALE"
    assert by_id["NCT01026116"].maximum_age == 40.0
    assert by_id["NCT06650748"].status == "NOT_YET_RECRUITING"
    assert by_id["NCT01922921"].phases == ["PHASE1", "PHASE2"]
    assert all(t.eligibility_text.strip() for t in trials)


@needs_data
def test_page_of_studies(tmp_path):
    studies = [
        json.loads(line)
        for line in (TRIALS / "ctgov_api_v2_breast_cancer_5.jsonl").read_text().splitlines()
        if line.strip()
    ]
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": studies[:3], "nextPageToken": "abc"}))
    trials = read_trial_file(page)
    assert [t.trial_id for t in trials] == ["NCT01922921", "NCT01026116", "NCT06650748"]
    assert all(t.source == str(page) for t in trials)


@needs_data
def test_read_trial_paths_folder():
    trials = read_trial_paths([HN_DIR])
    assert len(trials) == 124
    assert [t.trial_id for t in trials] == sorted(t.trial_id for t in trials)


# --------------------------------------------------------------------------- synthetic


def _study(nct_id: str | None = "NCT00000001", **elig) -> dict:
    ident = {"briefTitle": "A study"}
    if nct_id is not None:
        ident["nctId"] = nct_id
    return {
        "protocolSection": {
            "identificationModule": ident,
            "statusModule": {"overallStatus": "RECRUITING"},
            "designModule": {"phases": ["PHASE2"]},
            "conditionsModule": {"conditions": ["Head and Neck Cancer"]},
            "armsInterventionsModule": {"interventions": [{"type": "DRUG", "name": "Drug A"}]},
            "eligibilityModule": {
                "eligibilityCriteria": "Inclusion Criteria:\n\n* Adults",
                "sex": "FEMALE",
                "minimumAge": "6 Months",
                **elig,
            },
        }
    }


LEGACY = """<?xml version="1.0" encoding="UTF-8"?>
<clinical_study>
  <id_info><nct_id>NCT00000002</nct_id></id_info>
  <official_title>Official only</official_title>
  <overall_status>Not yet recruiting</overall_status>
  <phase>Phase 1/Phase 2</phase>
  <condition>Oral Cancer</condition>
  <intervention><intervention_type>Drug</intervention_type>
    <intervention_name>Cisplatin</intervention_name></intervention>
  <eligibility>
    <criteria>
      <textblock>
        Inclusion Criteria:

          -  Age &gt;= 18
      </textblock>
    </criteria>
    <gender>Both</gender>
    <minimum_age>18 Years</minimum_age>
    <maximum_age>N/A</maximum_age>
  </eligibility>
</clinical_study>
"""


def test_parse_study_v2_fields():
    trial = parse_study_v2(_study(), source="x.json")
    assert trial.trial_id == "NCT00000001"
    assert trial.title == "A study"
    assert trial.status == "RECRUITING"
    assert trial.is_open
    assert trial.phases == ["PHASE2"]
    assert trial.conditions == ["Head and Neck Cancer"]
    assert trial.interventions == ["Drug A"]
    assert trial.sex == "FEMALE"
    assert trial.minimum_age == 0.5
    assert trial.maximum_age is None
    assert trial.source == "x.json"


def test_parse_study_v2_official_title_fallback():
    study = _study()
    ident = study["protocolSection"]["identificationModule"]
    del ident["briefTitle"]
    ident["officialTitle"] = "The official one"
    assert parse_study_v2(study).title == "The official one"


def test_trialmatch_extension():
    study = _study()
    study["trialmatch"] = {"source_document": "003_x.txt", "note": "curated"}
    trial = parse_study_v2(study, source="file.json")
    assert trial.source == "003_x.txt"
    assert trial.note == "curated"


def test_trialmatch_extension_unknown_key():
    study = _study()
    study["trialmatch"] = {"sourcedoc": "typo"}
    with pytest.raises(TrialFileError, match="trialmatch"):
        parse_study_v2(study, source="file.json")


def test_parse_legacy_xml_fields():
    trial = parse_legacy_xml(LEGACY, source="legacy.xml")
    assert trial.trial_id == "NCT00000002"
    assert trial.title == "Official only"
    assert trial.status == "NOT_YET_RECRUITING"
    assert trial.phases == ["PHASE1", "PHASE2"]
    assert trial.conditions == ["Oral Cancer"]
    assert trial.interventions == ["Cisplatin"]
    assert trial.sex == "ALL"
    assert trial.minimum_age == 18.0
    assert trial.maximum_age is None
    assert "Age >= 18" in trial.eligibility_text
    assert trial.eligibility_text.startswith("\n        Inclusion Criteria:")
    assert parse_legacy_xml(LEGACY.encode("utf-8")).trial_id == "NCT00000002"


def test_xml_file_detected_by_content(tmp_path):
    path = tmp_path / "study.txt"
    path.write_text(LEGACY, encoding="utf-8")
    [trial] = read_trial_file(path)
    assert trial.trial_id == "NCT00000002"
    assert trial.source == str(path)


def test_jsonl_of_studies_and_compiled(tmp_path):
    compiled = CompiledTrial(trial=Trial(trial_id="T-1"), criteria=[])
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(_study("NCT00000003")) + "\n\n" + compiled.model_dump_json() + "\n")
    records = read_trial_file(path)
    assert isinstance(records[0], Trial) and records[0].trial_id == "NCT00000003"
    assert isinstance(records[1], CompiledTrial) and records[1].trial.trial_id == "T-1"


def test_compiled_trial_file_and_list(tmp_path):
    compiled = CompiledTrial(trial=Trial(trial_id="T-1", title="x"), criteria=[])
    one = tmp_path / "one.json"
    one.write_text(compiled.model_dump_json())
    [got] = read_trial_file(one)
    assert got == compiled
    many = tmp_path / "many.json"
    many.write_text(json.dumps([compiled.model_dump(mode="json")] * 2))
    assert read_trial_file(many) == [compiled, compiled]


def test_read_trial_paths_mixes_files_and_folders(tmp_path):
    folder = tmp_path / "lib"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.json").write_text(json.dumps(_study("NCT00000005")))
    (folder / "sub" / "a.xml").write_text(LEGACY)
    (folder / "notes.md").write_text("not a trial")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "junk.json").write_text("{")
    extra = tmp_path / "single.json"
    extra.write_text(json.dumps(_study("NCT00000006")))
    trials = read_trial_paths([folder, extra])
    assert [t.trial_id for t in trials] == ["NCT00000005", "NCT00000002", "NCT00000006"]


# --------------------------------------------------------------------------- errors


def _raises(path: Path) -> TrialFileError:
    with pytest.raises(TrialFileError) as info:
        read_trial_file(path)
    err = info.value
    assert err.path == str(path)
    assert str(path) in str(err)
    return err


def test_broken_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "protocolSection": {\n    "identificationModule": {,\n')
    err = _raises(path)
    assert err.line == 3
    assert err.column is not None
    assert "line 3" in str(err) and "column" in str(err)


def test_broken_jsonl_line(tmp_path):
    path = tmp_path / "studies.jsonl"
    path.write_text(json.dumps(_study()) + "\n" + '{"protocolSection": \n')
    err = _raises(path)
    assert err.line == 2
    assert "line 2" in str(err)


def test_jsonl_study_without_id_names_line_and_field(tmp_path):
    path = tmp_path / "studies.jsonl"
    path.write_text(json.dumps(_study()) + "\n" + json.dumps(_study(None)) + "\n")
    err = _raises(path)
    assert err.line == 2
    assert "protocolSection.identificationModule.nctId" in str(err)


def test_truncated_xml(tmp_path):
    path = tmp_path / "truncated.xml"
    path.write_text(LEGACY[: len(LEGACY) // 2])
    err = _raises(path)
    assert err.line is not None
    assert "malformed XML" in str(err)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        '<!DOCTYPE clinical_study SYSTEM "file:///etc/passwd">',
    ],
)
def test_xml_with_doctype_refused(tmp_path, doctype):
    path = tmp_path / "evil.xml"
    body = LEGACY.replace("<clinical_study>", doctype + "\n<clinical_study>", 1)
    body = body.replace("<official_title>Official only", "<official_title>&lol2;")
    path.write_text(body)
    err = _raises(path)
    assert "DOCTYPE" in str(err)


def test_xml_wrong_root(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text("<note><to>x</to></note>")
    err = _raises(path)
    assert "clinical_study" in str(err)


def test_json_study_without_nct_id(tmp_path):
    path = tmp_path / "noid.json"
    path.write_text(json.dumps(_study(None)))
    err = _raises(path)
    assert "protocolSection.identificationModule.nctId" in str(err)


def test_page_study_without_nct_id_names_index(tmp_path):
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"studies": [_study(), _study(None)]}))
    err = _raises(path)
    assert "studies[1].protocolSection.identificationModule.nctId" in str(err)


def test_bad_age_names_field(tmp_path):
    path = tmp_path / "age.json"
    path.write_text(json.dumps(_study(minimumAge="eighteen")))
    err = _raises(path)
    assert "eligibilityModule.minimumAge" in str(err)


def test_wrong_type_names_field(tmp_path):
    study = _study()
    study["protocolSection"]["conditionsModule"]["conditions"] = "Cancer"
    path = tmp_path / "types.json"
    path.write_text(json.dumps(study))
    err = _raises(path)
    assert "conditionsModule.conditions" in str(err)


def test_invalid_compiled_trial(tmp_path):
    path = tmp_path / "compiled.json"
    path.write_text(json.dumps({"format": "trialmatch.compiled-trial/1", "criteria": []}))
    err = _raises(path)
    assert "trial" in err.reason


@pytest.mark.parametrize(
    "content, words",
    [
        ('{"foo": 1}', "not a trial record"),
        ("[1, 2]", "expected a JSON object"),
        ('{"format": "something-else/1"}', "unknown format"),
        ("hello", "not a trial file"),
        ("", "empty"),
    ],
)
def test_unrecognised_content(tmp_path, content, words):
    path = tmp_path / "thing.json"
    path.write_text(content)
    err = _raises(path)
    assert words in str(err)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"x": "café"}'.encode("latin-1"))
    err = _raises(path)
    assert "UTF-8" in str(err)


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.json"
    _raises(missing)
    with pytest.raises(TrialFileError) as info:
        read_trial_paths([missing])
    assert info.value.path == str(missing)
    assert str(missing) in str(info.value)


def test_directory_given_to_read_trial_file(tmp_path):
    err = _raises(tmp_path)
    assert "directory" in str(err)


def test_parse_study_v2_errors_are_trial_file_errors():
    with pytest.raises(TrialFileError, match="nctId"):
        parse_study_v2(_study(None), source="inline")
    with pytest.raises(TrialFileError, match="protocolSection"):
        parse_study_v2({"protocolSection": []}, source="inline")
