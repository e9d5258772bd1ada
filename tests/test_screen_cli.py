"""``trialmatch screen`` run as users run it (a real subprocess): result files,
equality with ``trialmatch match``, both engines, bad input, --since flips,
fallbacks listed up front."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from criteria import ir
from criteria.trial import CompiledTrial, Trial
from matcher.cohort.readers import iter_cohort
from matcher.cohort.synth import write_cohort
from matcher.library import load_trials
from matcher.match import match_patient

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "matcher.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=600)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, 60, seed=7)
    return out / "patients.jsonl"


def _rows(out: Path) -> dict[tuple[str, str], dict]:
    return {(r["patient_id"], r["trial_id"]): r
            for r in pq.read_table(out / "results.parquet").to_pylist()}


def _compiled_trial(path: Path, trial_id: str, min_age: float,
                    extra: list[ir.Criterion] | None = None) -> Path:
    criteria = [
        ir.Criterion(id=f"{trial_id}-age", kind="inclusion", text=f"Age >= {min_age}",
                     family="age", compiled="full", logic=ir.AgeAtom(op=">=", value=min_age)),
        ir.Criterion(id=f"{trial_id}-ecog", kind="inclusion", text="ECOG 0-1",
                     family="performance_status", compiled="full",
                     logic=ir.PerformanceAtom(scale="ECOG", op="<=", value=1)),
        *(extra or []),
    ]
    trial = CompiledTrial(trial=Trial(trial_id=trial_id, status="RECRUITING"),
                          criteria=criteria)
    path.write_text(trial.model_dump_json(), encoding="utf-8")
    return path


def test_screen_writes_the_files_and_equals_match(cohort: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = run("screen", str(cohort), "--out", str(out), "--status", "any", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "runs as SQL" in proc.stderr and "Traceback" not in proc.stderr
    results = pq.read_table(out / "results.parquet")
    assert results.schema.names == ["patient_id", "trial_id", "verdict", "score", "statuses",
                                    "to_confirm"]
    criteria = pq.read_table(out / "trial_criteria.parquet").to_pylist()
    assert {c["executor"] for c in criteria} == {"sql"}
    manifest = json.loads((out / "manifest.json").read_text())
    trials = load_trials(None, None, [])
    assert manifest["counts"]["patients"] == 60
    assert manifest["counts"]["pairs"] == 60 * len(trials) == results.num_rows
    assert {t["trial_id"] for t in manifest["trials"]} == {t.trial.trial_id for t in trials}
    rows = _rows(out)
    positions = {}
    for c in criteria:
        positions.setdefault(c["trial_id"], []).append(c["criterion_id"])
    verdicts = set()
    for chunk in iter_cohort(cohort, 100):
        for p in chunk:
            want = match_patient(p, trials, p.effective_as_of(None), any_status=True)
            for r in want["results"]:
                got = rows[(p.id, r["trial_id"])]
                assert got["statuses"] == [c["status"] for c in r["criteria"]]
                assert positions[r["trial_id"]] == [c["id"] for c in r["criteria"]]
                assert (got["verdict"], got["score"], got["to_confirm"]) == \
                    (r["verdict"], r["score"], r["to_confirm"])
                verdicts.add(got["verdict"])
    assert len(verdicts) >= 2  # the comparison is not vacuous


def test_spark_engine_writes_the_same_results(cohort: Path, tmp_path: Path):
    duck, spark = tmp_path / "duck", tmp_path / "spark"
    for engine, out in (("duckdb", duck), ("spark", spark)):
        proc = run("screen", str(cohort), "--out", str(out), "--engine", engine,
                   "--assume-absent", "--quiet", "--chunk-size", "25")
        assert proc.returncode == 0, proc.stderr
    assert _rows(duck) == _rows(spark)
    manifest = json.loads((spark / "manifest.json").read_text())
    assert manifest["engine"] == "spark" and manifest["policy"]["assume_absent"] is True
    assert pq.read_table(spark / "trial_criteria.parquet") == \
        pq.read_table(duck / "trial_criteria.parquet")


def test_since_rescreens_only_changed_trials_and_lists_flips(cohort: Path, tmp_path: Path):
    trials = tmp_path / "trials"
    trials.mkdir()
    _compiled_trial(trials / "a.json", "TRIAL-A", 18)
    _compiled_trial(trials / "b.json", "TRIAL-B", 18)
    first, second = tmp_path / "first", tmp_path / "second"
    proc = run("screen", str(cohort), "--trials", str(trials), "--out", str(first), "--quiet")
    assert proc.returncode == 0, proc.stderr
    _compiled_trial(trials / "b.json", "TRIAL-B", 65)  # a new version of trial B
    proc = run("screen", str(cohort), "--trials", str(trials), "--out", str(second),
               "--since", str(first), "--quiet")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((second / "manifest.json").read_text())
    screened = {t["trial_id"]: t["screened"] for t in manifest["trials"]}
    assert screened == {"TRIAL-A": "copied", "TRIAL-B": "this run"}
    before, after = _rows(first), _rows(second)
    assert set(before) == set(after)
    flipped = {k for k in after if after[k]["verdict"] != before[k]["verdict"]}
    assert flipped and {k[1] for k in flipped} == {"TRIAL-B"}
    flips = pq.read_table(second / "flips.parquet").to_pylist()
    assert {(f["patient_id"], f["trial_id"]) for f in flips} == flipped
    assert all(f["previous_verdict"] != "ineligible" and f["verdict"] == "ineligible"
               for f in flips)
    assert f"{len(flipped)} verdicts flipped" in proc.stdout
    assert manifest["since"]["flips"] == len(flipped)


def test_fallback_criteria_are_listed_up_front(cohort: Path, tmp_path: Path):
    odd = ir.Criterion(id="ODD-brain", kind="exclusion", text="brain metastases grade 2",
                       family="finding", compiled="full",
                       logic=ir.FindingAtom(key="brain_metastases", op="==", value=2.0))
    path = _compiled_trial(tmp_path / "odd.json", "TRIAL-ODD", 18, extra=[odd])
    out = tmp_path / "out"
    proc = run("screen", str(cohort), "--trials", str(path), "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "1 criteria have no SQL translation" in proc.stderr
    assert "TRIAL-ODD ODD-brain" in proc.stderr
    executors = {c["criterion_id"]: c["executor"]
                 for c in pq.read_table(out / "trial_criteria.parquet").to_pylist()}
    assert executors["ODD-brain"] == "fallback" and executors["TRIAL-ODD-age"] == "sql"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["criterion_id"] for f in manifest["fallbacks"]] == ["ODD-brain"]


@pytest.mark.parametrize("args, message", [
    (["no/such/cohort.jsonl"], "no such file or folder"),
    (["COHORT", "--chunk-size", "0"], "--chunk-size"),
    (["COHORT", "--spark-master", "spark://h:7077"], "needs --engine spark"),
    (["COHORT", "--since", "no/such/out"], "--since"),
    (["COHORT", "--as-of", "2026-13-01"], "--as-of"),
])
def test_bad_arguments_exit_2(cohort: Path, tmp_path: Path, args: list[str], message: str):
    argv = [str(cohort) if a == "COHORT" else a for a in args]
    proc = run("screen", *argv, "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_bad_patient_is_named_by_line_and_field_path(tmp_path: Path):
    cohort = tmp_path / "bad.jsonl"
    good = {"id": "ok", "age": 60, "sex": "male"}
    bad = {"id": "bad", "age": 60, "labs": [{"name": "hemoglobin", "value": 13.2}]}
    cohort.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    proc = run("screen", str(cohort), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 2
    assert "line 2" in proc.stderr and "labs[0].unit" in proc.stderr
    assert "13.2" not in proc.stderr and "Traceback" not in proc.stderr


def test_previous_out_that_is_not_a_screen_is_refused(cohort: Path, tmp_path: Path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "manifest.json").write_text('{"format": "other"}', encoding="utf-8")
    proc = run("screen", str(cohort), "--out", str(tmp_path / "out"), "--since", str(fake),
               "--quiet")
    assert proc.returncode == 2
    assert "manifest.json: format" in proc.stderr
