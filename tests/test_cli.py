"""The command line, run as users run it (a real subprocess)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "patient.example.json"
CONTRACT_EXAMPLE = ROOT.parent / "shared" / "contract" / "patient.example.json"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "matcher.cli", *args], capture_output=True,
                          text=True, input=stdin, cwd=ROOT, env=env, timeout=300)


def match_json(*args: str) -> dict:
    proc = run("match", *args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_readme_main_command_runs():
    """The README's main command (its trialmatch part) works as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [ln for ln in readme.splitlines() if "trialmatch match examples/" in ln]
    assert lines, "README has no main command"
    command = lines[0].split("&&")[-1].strip()
    argv = shlex.split(command)
    assert argv[0].endswith("trialmatch")
    proc = run(*argv[1:])
    assert proc.returncode == 0, proc.stderr
    assert "NCT06935188" in proc.stdout and "Traceback" not in proc.stderr


def test_example_is_the_contract_example():
    if not CONTRACT_EXAMPLE.exists():
        pytest.skip("../shared/contract is absent (a user's clone has none)")
    assert json.loads(EXAMPLE.read_text()) == json.loads(CONTRACT_EXAMPLE.read_text())


def test_contract_example_has_no_failing_criterion_on_nct06935188():
    out = match_json(str(EXAMPLE))
    assert out["patient_id"] == "example-hnscc-001" and out["as_of"] == "2026-11-20"
    result = next(r for r in out["results"] if r["trial_id"] == "NCT06935188")
    assert result["verdict"] in ("eligible", "possible")
    assert [c["text"] for c in result["criteria"] if c["status"] == "fail"] == []
    assert 0 <= result["score"] <= 1


def test_json_output_shape_and_order():
    out = match_json(str(EXAMPLE), "--status", "any")
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)
    seeds = {p.stem: json.loads(p.read_text()) for p in (ROOT / "seeds").glob("*.json")}
    texts = {s["protocolSection"]["identificationModule"]["nctId"]:
             s["protocolSection"]["eligibilityModule"].get("eligibilityCriteria", "")
             for s in seeds.values()}
    for r in out["results"]:
        assert {"trial_id", "title", "verdict", "score", "criteria", "to_confirm"} <= set(r)
        for c in r["criteria"]:
            assert c["kind"] in ("inclusion", "exclusion")
            assert c["status"] in ("pass", "fail", "unknown", "review")
            assert c["reason"]
            if c.get("span"):
                assert texts[r["trial_id"]][c["span"][0]:c["span"][1]] == c["text"]


def test_default_matches_open_trials_only():
    ids = {r["trial_id"] for r in match_json(str(EXAMPLE))["results"]}
    assert ids == {"NCT06935188", "NCT05721443"}
    ids_any = {r["trial_id"] for r in match_json(str(EXAMPLE), "--status", "any")["results"]}
    assert len(ids_any) == 5


def test_stdin_and_as_of_override():
    out = json.loads(run("match", "-", "--as-of", "2026-12-31", "--format", "json",
                         stdin=EXAMPLE.read_text()).stdout)
    assert out["as_of"] == "2026-12-31"
    # as of 2026-12-31 the labs of 2026-11-12 are older than the 2-week window
    result = next(r for r in out["results"] if r["trial_id"] == "NCT06935188")
    liver = next(c for c in result["criteria"] if c["text"].startswith("Liver"))
    assert liver["status"] == "unknown"


def test_assume_absent_changes_unrecorded_histories_only():
    plain = match_json(str(EXAMPLE))
    absent = match_json(str(EXAMPLE), "--assume-absent")
    pick = lambda out: next(r for r in out["results"] if r["trial_id"] == "NCT06935188")  # noqa: E731
    tb = [c for c in pick(plain)["criteria"] if "tuberculosis" in c["text"]][0]
    tb_absent = [c for c in pick(absent)["criteria"] if "tuberculosis" in c["text"]][0]
    assert (tb["status"], tb_absent["status"]) == ("unknown", "pass")


def test_table_output_is_readable():
    proc = run("match", str(EXAMPLE))
    assert proc.returncode == 0
    assert "To confirm" in proc.stdout and "possible" in proc.stdout


BAD_PATIENTS = [
    ("{ not json", r"line 1 column 3"),
    ('{"id": "x", "sex": "male"}', r"birth_date"),
    ('{"id": "x", "age": 50, "labs": [{"name": "hemoglobin", "value": 12}]}', r"labs\[0\]\.unit"),
    ('{"id": "x", "age": 50, "birth_date": "12/11/1960"}', r"birth_date"),
    ('{"id": "x", "age": 50, "performance_status": [{"scale": "ECOG", "value": 9}]}',
     r"performance_status\[0\]\.value"),
    ('{"id": "x", "age": 50, "lab": []}', r"\blab\b"),
    ('{"resourceType": "Patient"}', r"resourceType"),
]


@pytest.mark.parametrize("document,path", BAD_PATIENTS)
def test_bad_patient_exits_2_naming_the_field(tmp_path, document, path):
    f = tmp_path / "p.json"
    f.write_text(document)
    proc = run("match", str(f))
    assert proc.returncode == 2
    assert re.search(path, proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "12/11/1960" not in proc.stderr  # never echo patient values


def test_missing_files_and_bad_trials_exit_2(tmp_path):
    assert run("match", str(tmp_path / "nope.json")).returncode == 2
    bad = tmp_path / "trial.json"
    bad.write_text('{"protocolSection": {"identificationModule": {}}}')
    proc = run("match", str(EXAMPLE), "--trials", str(bad))
    assert proc.returncode == 2 and "trial.json" in proc.stderr and "nctId" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert run("match", str(EXAMPLE), "--as-of", "20261120").returncode == 2


def test_unconvertible_unit_is_unknown_with_reason(tmp_path):
    doc = json.loads(EXAMPLE.read_text())
    for lab in doc["labs"]:
        if lab["name"] == "hemoglobin":
            lab["unit"] = "U/L"
    f = tmp_path / "p.json"
    f.write_text(json.dumps(doc))
    out = match_json(str(f))
    result = next(r for r in out["results"] if r["trial_id"] == "NCT06935188")
    marrow = next(c for c in result["criteria"] if c["text"].startswith("Bone marrow"))
    assert marrow["status"] == "unknown"
    assert "unit" in marrow["reason"]


def test_compile_json_report():
    proc = run("compile", "seeds/NCT06935188.json", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    (trial,) = report["trials"]
    assert trial["trial_id"] == "NCT06935188"
    for c in trial["criteria"]:
        assert {"kind", "text", "compiled", "family", "rule"} <= set(c)
        assert c["compiled"] in ("full", "partial", "none")
    assert abs(sum(report["summary"]["compiled"].values()) - 1) < 0.01


def test_trials_lists_the_bundled_library():
    proc = run("trials")
    assert proc.returncode == 0
    for trial_id in ("NCT06935188", "NCT05721443", "PMID:28559019"):
        assert trial_id in proc.stdout


MCODE = ROOT.parent / "shared" / "data" / "patients" / "mcode_ctms_test_patients"


def test_fhir_bundle_matches_without_false_diagnosis_fail():
    """A breast-cancer FHIR bundle: the breast trial's diagnosis passes, the
    head-and-neck trials' diagnosis fails (metastases are not second primaries)."""
    bundle = MCODE / "TrialMatching_Patient01.json"
    if not bundle.exists():
        pytest.skip("../shared/data is absent (a user's clone has none)")
    out = match_json(str(bundle), "--status", "any", "--as-of", "2026-11-20")
    by_id = {r["trial_id"]: r for r in out["results"]}
    breast = by_id["CITE:BreastCancerResTreat.2021;189(1):177-185"]["criteria"][0]
    assert "Breast cancer" in breast["reason"] and "diagnosis of Breast cancer (metastatic): met" \
        in breast["reason"]
    hn = next(c for c in by_id["NCT05721443"]["criteria"] if c["family"] == "diagnosis")
    assert hn["status"] == "fail"
    assert "[Condition/" in hn["reason"]  # the FHIR resource behind the fact


def test_invalid_fhir_bundle_exits_2_with_paths():
    bundle = MCODE / "patient_data_missing_birthdate_invalid_ecog_karnofsky.json"
    if not bundle.exists():
        pytest.skip("../shared/data is absent (a user's clone has none)")
    proc = run("match", str(bundle))
    assert proc.returncode == 2 and "entry[" in proc.stderr and "Traceback" not in proc.stderr
