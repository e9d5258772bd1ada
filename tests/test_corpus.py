"""Corpus readers (legacy-subset JSONL, TrialGPT trial_info and corpus) and corpus compiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from criteria.compiler import compile_trial
from criteria.sources import TrialFileError, read_trial_file, read_trial_paths, seeds_dir
from criteria.sources.corpus import (
    TRIALGPT_NOTE,
    corpus_eligibility_text,
    trialgpt_eligibility_text,
)
from criteria.trial import Trial
from matcher import cli, library, render

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LEGACY = DATA / "trials" / "ctgov_legacy_xml_subset.jsonl"
TRIALGPT = DATA / "trials" / "trialgpt_format_oncology_990.jsonl"
TREC = DATA / "benchmarks" / "trec_2022_corpus_subset_100.jsonl"

needs_data = pytest.mark.skipif(
    not LEGACY.is_file(), reason=f"sample data not present at {DATA} (../shared/data)"
)

LEGACY_RECORD = {
    "nct_id": "NCT00000105",
    "brief_title": "Vaccination  With Tetanus\nand KLH",
    "official_title": None,
    "overall_status": "Active, not recruiting",
    "phase": "Phase 1/Phase 2",
    "study_type": "Interventional",
    "conditions": ["Cancer", "  "],
    "interventions": [{"type": "Biological", "name": "Tetanus toxoid"},
                      {"type": "Drug", "name": "Montanide ISA51"}],
    "eligibility_criteria": (
        "Inclusion Criteria:\r\n\r\n          -  Karnofsky performance status of 70% or more\r\n"
        "\r\n        Exclusion Criteria:\r\n\r\n          -  Pregnant or lactating women"
    ),
    "gender": "Female",
    "minimum_age": "18 Years",
    "maximum_age": "6 Months",
    "healthy_volunteers": "No",
    "is_oncology": True,
    "is_head_and_neck_cancer": False,
}

TRIALGPT_RECORD = {
    "NCT_ID": "NCT04000001",
    "brief_title": "Drug X in HER2-positive breast cancer",
    "phase": "Phase 1; Phase 2",
    "drugs": "['drug x', 'trastuzumab']",
    "drugs_list": ["drug x", "trastuzumab"],
    "diseases": "['Breast Cancer']",
    "diseases_list": ["Breast Cancer"],
    "enrollment": "40.0",
    "inclusion_criteria": "inclusion criteria: \n\n Age >= 18 years \n\n ECOG 0-1 ",
    "exclusion_criteria": " \n\n Prior trastuzumab \n\n Pregnancy ",
    "brief_summary": "A phase 1/2 study.",
}

CORPUS_DOC = {
    "_id": "NCT03362970",
    "title": "Rapid PCR in children with hematochezia",
    "text": (
        "Summary: Children who meet inclusion criteria are randomised.\n"
        "Inclusion criteria: inclusion criteria: \n\n Be aged 6 months - 17.99 years \n\n"
        " \nExclusion criteria: : \n\n Previously enrolled in the study "
    ),
    "metadata": {"brief_title": "Rapid PCR", "phase": "Phase 3",
                 "drugs_list": ["BioFire panel"], "diseases_list": ["Diarrhea Bloody"]},
}


def write_jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- legacy subset


def test_legacy_record(tmp_path):
    [t] = read_trial_file(write_jsonl(tmp_path / "legacy.jsonl", LEGACY_RECORD))
    assert isinstance(t, Trial)
    assert t.trial_id == "NCT00000105"
    assert t.title == "Vaccination With Tetanus and KLH"
    assert t.status == "ACTIVE_NOT_RECRUITING"
    assert t.phases == ["PHASE1", "PHASE2"]
    assert t.conditions == ["Cancer"]
    assert t.interventions == ["Tetanus toxoid", "Montanide ISA51"]
    assert t.sex == "FEMALE"
    assert t.minimum_age == 18.0 and t.maximum_age == 0.5
    assert t.eligibility_text == LEGACY_RECORD["eligibility_criteria"]  # verbatim
    assert t.source == str(tmp_path / "legacy.jsonl")


def test_legacy_record_absent_fields(tmp_path):
    record = {"nct_id": "NCT00000001", "brief_title": None, "official_title": "Official",
              "overall_status": "Unknown status", "phase": None, "eligibility_criteria": None,
              "gender": "All", "minimum_age": "N/A", "maximum_age": "N/A"}
    [t] = read_trial_file(write_jsonl(tmp_path / "l.jsonl", record))
    assert (t.title, t.status, t.phases, t.sex) == ("Official", "UNKNOWN", [], "ALL")
    assert t.minimum_age is None and t.maximum_age is None and t.eligibility_text == ""
    record2 = {**record, "phase": "N/A"}
    assert read_trial_file(write_jsonl(tmp_path / "l2.jsonl", record2))[0].phases == ["NA"]


def test_legacy_record_single_json_file(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(LEGACY_RECORD), encoding="utf-8")
    assert [t.trial_id for t in read_trial_file(path)] == ["NCT00000105"]


@pytest.mark.parametrize("change, where", [
    ({"phase": "Phase X"}, "phase"),
    ({"gender": "Unknown"}, "gender"),
    ({"minimum_age": "eighteen"}, "minimum_age"),
    ({"nct_id": ""}, "nct_id"),
    ({"conditions": "Cancer", "interventions": {"name": "x"}}, "interventions"),
])
def test_legacy_record_errors_name_file_line_field(tmp_path, change, where):
    path = write_jsonl(tmp_path / "bad.jsonl", LEGACY_RECORD, {**LEGACY_RECORD, **change})
    with pytest.raises(TrialFileError) as err:
        read_trial_file(path)
    assert err.value.path == str(path) and err.value.line == 2
    assert where in str(err.value)


# --------------------------------------------------------------------------- TrialGPT


def test_trialgpt_record(tmp_path):
    [t] = read_trial_file(write_jsonl(tmp_path / "gpt.jsonl", TRIALGPT_RECORD))
    assert t.trial_id == "NCT04000001"
    assert t.eligibility_text == (
        "Inclusion Criteria:\n" + TRIALGPT_RECORD["inclusion_criteria"]
        + "\n\nExclusion Criteria:\n" + TRIALGPT_RECORD["exclusion_criteria"])
    assert t.eligibility_text == trialgpt_eligibility_text(
        TRIALGPT_RECORD["inclusion_criteria"], TRIALGPT_RECORD["exclusion_criteria"])
    assert t.phases == ["PHASE1", "PHASE2"]
    assert t.conditions == ["Breast Cancer"]
    assert t.interventions == ["drug x", "trastuzumab"]
    assert t.status == "UNKNOWN" and not t.is_open
    assert t.note == TRIALGPT_NOTE and "status" in t.note
    assert (t.minimum_age, t.maximum_age, t.sex) == (None, None, "ALL")


def test_trialgpt_record_variants(tmp_path):
    minimal = {k: v for k, v in TRIALGPT_RECORD.items() if k not in ("drugs_list", "diseases_list")}
    [t] = read_trial_file(write_jsonl(tmp_path / "a.jsonl", {**minimal, "phase": ""}))
    assert t.phases == []
    assert t.interventions == ["drug x", "trastuzumab"]  # from the "drugs" text
    assert t.conditions == ["Breast Cancer"]
    [t] = read_trial_file(write_jsonl(tmp_path / "b.jsonl",
                                      {**TRIALGPT_RECORD, "phase": "Phase 2; Phase 3"}))
    assert t.phases == ["PHASE2", "PHASE3"]


def test_trialgpt_trial_info_map(tmp_path):
    info = {k: v for k, v in TRIALGPT_RECORD.items() if k != "NCT_ID"}
    path = tmp_path / "trial_info.json"
    path.write_text(json.dumps({"NCT04000001": info, "NCT04000002": info}), encoding="utf-8")
    assert [t.trial_id for t in read_trial_file(path)] == ["NCT04000001", "NCT04000002"]


def test_trialgpt_missing_id(tmp_path):
    record = {k: v for k, v in TRIALGPT_RECORD.items() if k != "NCT_ID"}
    with pytest.raises(TrialFileError, match="NCT_ID: missing"):
        read_trial_file(write_jsonl(tmp_path / "x.jsonl", record))


# --------------------------------------------------------------------------- corpus documents


def test_corpus_doc(tmp_path):
    [t] = read_trial_file(write_jsonl(tmp_path / "corpus.jsonl", CORPUS_DOC))
    assert t.trial_id == "NCT03362970"
    assert t.title == CORPUS_DOC["title"]
    text = CORPUS_DOC["text"]
    assert t.eligibility_text == text[text.index("Inclusion criteria: inclusion"):]
    assert t.phases == ["PHASE3"]
    assert t.conditions == ["Diarrhea Bloody"] and t.interventions == ["BioFire panel"]
    assert t.status == "UNKNOWN" and "no overall status" in t.note
    assert (t.minimum_age, t.maximum_age, t.sex) == (None, None, "ALL")


def test_corpus_eligibility_text():
    assert corpus_eligibility_text("Summary: x\nno headings here") == "Summary: x\nno headings here"
    assert corpus_eligibility_text("S.\n  INCLUSION CRITERIA\n- a") == "INCLUSION CRITERIA\n- a"
    # no heading at a line start: the first "inclusion criteria:" anywhere
    assert corpus_eligibility_text("Summary: x. Inclusion criteria: a") == "Inclusion criteria: a"
    assert corpus_eligibility_text("") == ""


def test_corpus_doc_without_metadata(tmp_path):
    doc = {"_id": "NCT1", "title": "T", "text": "Inclusion Criteria:\n- adults"}
    [t] = read_trial_file(write_jsonl(tmp_path / "c.jsonl", doc))
    assert (t.trial_id, t.phases, t.conditions, t.eligibility_text) == (
        "NCT1", [], [], "Inclusion Criteria:\n- adults")


# --------------------------------------------------------------------------- mixed and unknown


def test_mixed_jsonl_and_folder(tmp_path):
    write_jsonl(tmp_path / "mixed.jsonl", LEGACY_RECORD, TRIALGPT_RECORD, CORPUS_DOC)
    ids = [t.trial_id for t in read_trial_paths([tmp_path])]
    assert ids == ["NCT00000105", "NCT04000001", "NCT03362970"]


def test_unknown_shape_names_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "u.jsonl", LEGACY_RECORD, {"id": "NCT1", "criteria": "x"})
    with pytest.raises(TrialFileError) as err:
        read_trial_file(path)
    assert err.value.line == 2 and err.value.path == str(path)
    assert "not a trial record" in str(err.value) and "keys found: criteria, id" in str(err.value)


# --------------------------------------------------------------------------- compile robustness


def test_compile_one_catches_compiler_errors(monkeypatch):
    def boom(trial):
        raise KeyError("bad atom")

    monkeypatch.setattr(library, "compile_trial", boom)
    outcome = library.compile_one(Trial(trial_id="T1", eligibility_text="x"))
    assert outcome.compiled is None and outcome.trial_id == "T1"
    assert outcome.error == "KeyError: 'bad atom'"
    assert outcome.where and "boom" in outcome.where


def test_compile_one_timeout(monkeypatch):
    def spin(trial):
        start = time.perf_counter()
        while time.perf_counter() - start < 10:
            pass

    monkeypatch.setattr(library, "compile_trial", spin)
    start = time.perf_counter()
    outcome = library.compile_one(Trial(trial_id="T1"), timeout=0.2)
    assert time.perf_counter() - start < 5
    assert outcome.compiled is None and outcome.error.startswith("timeout")


def test_report_lists_slow_trials_and_errors():
    report = library.CompileReport()
    report.add(library.CompileOutcome("A", 2.5, error="ValueError: x"))
    report.add(library.CompileOutcome("B", 0.01, compiled=None, error="TypeError: y"))
    report.add(library.CompileOutcome("C", 1.5), {"criteria": []})
    summary = report.summary()
    assert summary["trials"] == 1 and summary["failed"] == 2
    assert summary["errors"] == [{"trial_id": "A", "error": "ValueError: x"},
                                 {"trial_id": "B", "error": "TypeError: y"}]
    assert [s["trial_id"] for s in summary["slow"]] == ["A", "C"]


def test_cli_compile_survives_a_failing_trial(tmp_path, monkeypatch, capsys):
    real = library.compile_trial

    def flaky(trial):
        if trial.trial_id == "NCT04000001":
            raise IndexError("list index out of range")
        return real(trial)

    monkeypatch.setattr(library, "compile_trial", flaky)
    path = write_jsonl(tmp_path / "m.jsonl", LEGACY_RECORD, TRIALGPT_RECORD, CORPUS_DOC)
    assert cli.main(["compile", str(path), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert [t["trial_id"] for t in report["trials"]] == ["NCT00000105", "NCT03362970"]
    assert report["summary"]["trials"] == 2 and report["summary"]["failed"] == 1
    assert report["summary"]["errors"] == [
        {"trial_id": "NCT04000001", "error": "IndexError: list index out of range"}]
    assert "NCT04000001" in err and err.count("\n") == 1
    # the table output goes on as well
    assert cli.main(["compile", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "NCT03362970" in out and "NCT04000001" in err


def test_streamed_report_equals_render_compile_json(capsys):
    seeds = str(seeds_dir())
    assert cli.main(["compile", seeds, "--format", "json"]) == 0
    out, _ = capsys.readouterr()
    ref = render.compile_json(library.compiled(read_trial_paths([seeds])))
    summary = json.loads(out)["summary"]
    extra = {k: summary.pop(k) for k in ("failed", "errors", "slow")}
    assert summary == ref["summary"]
    assert extra["failed"] == 0 and extra["errors"] == []
    # byte for byte what json.dump(indent=2) writes
    expected = {"trials": ref["trials"], "summary": {**ref["summary"], **extra}}
    assert out == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def test_cli_compile_workers_same_output(tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", LEGACY_RECORD, TRIALGPT_RECORD, CORPUS_DOC)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*extra: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "matcher.cli", "compile", str(path),
                               "--format", "json", *extra], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        report["summary"].pop("slow")
        return report

    assert run("--workers", "2") == run()


def test_cli_compile_empty_jsonl(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    assert cli.main(["compile", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trials"] == [] and report["summary"]["trials"] == 0


# --------------------------------------------------------------------------- the shared corpus


@needs_data
def test_read_shared_corpus_files():
    legacy, trialgpt, trec = (read_trial_file(p) for p in (LEGACY, TRIALGPT, TREC))
    assert (len(legacy), len(trialgpt), len(trec)) == (2748, 990, 100)
    for trials in (legacy, trialgpt, trec):
        assert all(isinstance(t, Trial) and t.trial_id.startswith("NCT") for t in trials)
        assert len({t.trial_id for t in trials}) == len(trials)
    assert sum(1 for t in legacy if t.eligibility_text.strip()) >= 2740
    assert all("Exclusion Criteria:\n" in t.eligibility_text for t in trialgpt)
    assert all(t.status == "UNKNOWN" for t in trialgpt + trec)
    assert all(t.eligibility_text.lower().startswith("inclusion criteria") for t in trec)


def _sample() -> list[Trial]:
    if not LEGACY.is_file():
        return []
    return [t for p in (LEGACY, TRIALGPT, TREC) for t in read_trial_file(p)[::25]]


@needs_data
@pytest.mark.parametrize("trial", _sample(), ids=lambda t: t.trial_id)
def test_compile_shared_sample(trial):
    ct = compile_trial(trial)
    text = trial.eligibility_text
    for c in ct.criteria:
        if c.source != "eligibility_text":
            continue
        assert c.text in text, c.text
        if c.span is not None:
            assert text[c.span.start:c.span.end] == c.text
