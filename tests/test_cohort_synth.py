"""Synthetic cohorts: deterministic, valid, realistic in mix and mess, matchable."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest

from matcher.cohort.synth import generate, write_cohort
from matcher.library import load_trials
from matcher.match import match_patient
from matcher.patient import parse_patient

REPO = Path(__file__).resolve().parents[1]


def test_same_seed_same_cohort_and_patients_do_not_depend_on_size(tmp_path):
    write_cohort(tmp_path / "a", 300, 7)
    write_cohort(tmp_path / "b", 300, 7)
    a = (tmp_path / "a" / "patients.jsonl").read_bytes()
    assert a == (tmp_path / "b" / "patients.jsonl").read_bytes()
    write_cohort(tmp_path / "c", 300, 8)
    assert a != (tmp_path / "c" / "patients.jsonl").read_bytes()
    # patient i is the same in a small and a large cohort, and from any start
    assert list(generate(5, 7)) == list(generate(300, 7))[:5]
    assert list(generate(3, 7, start=100)) == list(generate(103, 7))[100:]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 12345])
def test_every_document_validates(seed):
    for doc in generate(400, seed):
        parse_patient(doc)


def test_mix_units_and_missing_data_are_realistic():
    docs = list(generate(3000, 21))
    cancers = collections.Counter(d["diagnoses"][0]["code"]["code"][:3] for d in docs)
    hn = sum(cancers[c] for c in ("C10", "C02", "C32", "C13"))
    assert 0.24 < hn / len(docs) < 0.36           # head and neck: weight 0.30
    assert 0.19 < cancers["C34"] / len(docs) < 0.31  # NSCLC: 0.25
    units = collections.Counter(lab["unit"] for d in docs for lab in d.get("labs", [])
                                if lab["name"] in ("hemoglobin", "Hb", "haemoglobin"))
    assert units["g/dL"] > 300 and units["g/L"] > 300
    assert {"/uL", "10^9/L", "x10^9/L"} <= {lab.get("unit") for d in docs
                                            for lab in d.get("labs", [])}
    assert any("upper_limit_normal" in lab for d in docs for lab in d.get("labs", []))
    no_ps = sum(1 for d in docs if "performance_status" not in d)
    assert 0.05 < no_ps / len(docs) < 0.15
    scales = collections.Counter(p["scale"] for d in docs for p in d.get("performance_status", []))
    assert scales["ECOG"] > scales["Karnofsky"] > 300
    absent = sum(1 for d in docs for c in d.get("conditions", []) if c["status"] == "absent")
    assert absent > 500
    hpv = [b["result"] for d in docs for b in d.get("biomarkers", []) if b["name"] == "HPV"]
    assert 0.2 < hpv.count("positive") / len(hpv) < 0.5
    # treatment histories with dates and lines; progression recorded
    lines = [t for d in docs for t in d.get("treatments", []) if "line" in t]
    assert any(t["name"] == "cetuximab" for t in lines) and any("progression" in t for t in lines)
    assert all(t["start"] <= t.get("end", "2026-11-20") <= "2026-11-20" for t in lines)


def test_documents_are_matchable_with_nothing_unread():
    trials = load_trials(None, None, [])
    verdicts = collections.Counter()
    for doc in generate(60, 5):
        patient = parse_patient(doc)
        result = match_patient(patient, trials, patient.effective_as_of(), assume_absent=True,
                               any_status=True)
        assert result.get("unused_data", []) == [], doc["id"]
        verdicts.update(r["verdict"] for r in result["results"])
    assert verdicts["ineligible"] and verdicts["possible"] + verdicts["eligible"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # As the installed `trialmatch` script runs it (matcher.cli imported, not __main__).
    code = "import sys; from matcher.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300)


def test_synth_command(tmp_path):
    out = tmp_path / "cohort"
    done = run("synth", "--n", "40", "--seed", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    lines = (out / "patients.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40 and json.loads(lines[0])["id"] == "synth-3-0000000"
    done = run("synth", "--n", "5", "--seed", "3", "--out", str(tmp_path / "t"),
               "--format", "parquet")
    assert done.returncode == 0 and (tmp_path / "t" / "labs.parquet").is_file()
    bad = run("synth", "--n", "-1", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "--n" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "file").write_text("x")
    bad = run("synth", "--n", "1", "--out", str(tmp_path / "file"))
    assert bad.returncode == 2 and "not a folder" in bad.stderr and "Traceback" not in bad.stderr
