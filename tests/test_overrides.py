"""Curated overrides (criteria/overrides.py), through the real command where it matters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from criteria import overrides as ov
from criteria.compiler import compile_trial
from criteria.sources import read_trial_file
from criteria.trial import CompiledTrial

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "NCT06935188.json"
EXAMPLE = ROOT / "examples" / "patient.example.json"
EXAMPLE_OVERRIDES = ROOT / "examples" / "overrides" / "NCT06935188.yaml"
ECOG_ID = "NCT06935188#i-c516abe5b3"
ECOG_TEXT = "ECOG score of 0 or 1."

ECOG_2 = f"""\
format: trialmatch.overrides/1
trial_id: NCT06935188
overrides:
  - action: replace
    criterion: "{ECOG_ID}"
    text: "{ECOG_TEXT}"
    logic: {{family: performance_status, scale: ECOG, op: "<=", value: 2}}
    curator: J. Smith
    date: 2026-11-20
    note: protocol amendment allows ECOG 2
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "matcher.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)


def compile_json(*args: str) -> dict:
    proc = run("compile", *args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def trial_of(report: dict, trial_id: str = "NCT06935188") -> dict:
    return next(t for t in report["trials"] if t["trial_id"] == trial_id)


def criterion(trial: dict, cid: str) -> dict:
    return next(c for c in trial["criteria"] if c["id"] == cid)


def write(tmp_path: Path, text: str, name: str = "NCT06935188.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def trial_copy(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the seed record with its eligibility text edited."""
    data = json.loads(SEED.read_text(encoding="utf-8"))
    module = data["protocolSection"]["eligibilityModule"]
    assert old in module["eligibilityCriteria"]
    module["eligibilityCriteria"] = module["eligibilityCriteria"].replace(old, new)
    path = tmp_path / "NCT06935188.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def ecog2_patient(tmp_path: Path) -> Path:
    patient = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    patient["performance_status"] = [{"scale": "ECOG", "value": 2, "date": "2026-11-12"}]
    path = tmp_path / "ecog2.json"
    path.write_text(json.dumps(patient), encoding="utf-8")
    return path


def test_ecog_id_is_the_compilers_stable_id():
    trial = trial_of(compile_json(str(SEED)))
    assert criterion(trial, ECOG_ID)["text"] == ECOG_TEXT


def test_replace_changes_the_rule_and_is_marked_curated(tmp_path):
    path = write(tmp_path, ECOG_2)
    report = compile_json(str(SEED), "--overrides", str(path))
    c = criterion(trial_of(report), ECOG_ID)
    assert c["rule"] == "performance.ecog <= 2" and c["compiled"] == "full"
    assert c["logic"]["value"] == 2
    assert c["curated"]["status"] == "active" and c["curated"]["curator"] == "J. Smith"
    assert c["curated"]["date"] == "2026-11-20" and c["curated"]["action"] == "replace"
    assert report["summary"]["stale_overrides"] == []
    table = run("compile", str(SEED), "--overrides", str(path))
    assert table.returncode == 0 and "curated by J. Smith on 2026-11-20" in table.stdout


def test_curated_rule_changes_the_match_result(tmp_path):
    """ECOG <= 2 instead of <= 1: a patient with ECOG 2 now passes that criterion."""
    patient = ecog2_patient(tmp_path)
    path = write(tmp_path, ECOG_2)

    def ecog_criterion(*extra: str) -> dict:
        proc = run("match", str(patient), "--format", "json", *extra)
        assert proc.returncode == 0, proc.stderr
        result = next(r for r in json.loads(proc.stdout)["results"]
                      if r["trial_id"] == "NCT06935188")
        return criterion(result, ECOG_ID)

    before = ecog_criterion()
    assert before["status"] == "fail" and "curated" not in before
    after = ecog_criterion("--overrides", str(path))
    assert after["status"] == "pass"
    assert after["curated"]["curator"] == "J. Smith" and after["rule"] == "performance.ecog <= 2"
    # A folder of overrides works the same, and so do explicit trial files.
    assert ecog_criterion("--overrides", str(tmp_path))["status"] == "pass"
    assert ecog_criterion("--trials", str(SEED), "--overrides", str(path))["status"] == "pass"
    table = run("match", str(patient), "--overrides", str(path))
    assert "(curated by J. Smith on 2026-11-20)" in table.stdout


def test_review_and_add(tmp_path):
    report = compile_json(str(SEED), "--overrides", str(EXAMPLE_OVERRIDES))
    trial = trial_of(report)
    survival = criterion(trial, "NCT06935188#i-b021c02d5a")
    assert survival["compiled"] == "none" and survival["rule"] == ""
    assert survival["curated"]["action"] == "review"
    tissue = criterion(trial, "NCT06935188#i-310c980864")
    assert tissue["compiled"] == "full" and tissue["review"] == []
    added = [c for c in trial["criteria"] if c["source"] == "curated"]
    assert len(added) == 1
    assert added[0]["id"] == ov.added_id("NCT06935188", "exclusion",
                                          "Prior treatment with a CDK4/6 inhibitor.")
    assert added[0]["id"].startswith("NCT06935188#curated-e-")
    assert added[0]["kind"] == "exclusion" and added[0]["family"] == "treatment"
    assert added[0]["rule"] == 'not (any t in treatments: (("cdk4-6-inhibitor" in t.classes)))'

    proc = run("match", str(EXAMPLE), "--format", "json", "--overrides",
               str(EXAMPLE_OVERRIDES))
    assert proc.returncode == 0, proc.stderr
    result = next(r for r in json.loads(proc.stdout)["results"]
                  if r["trial_id"] == "NCT06935188")
    assert criterion(result, "NCT06935188#i-b021c02d5a")["status"] == "review"
    assert criterion(result, added[0]["id"])["curated"]["action"] == "add"


def test_added_criterion_decides(tmp_path):
    trial = CompiledTrial.model_validate(json.loads(json.dumps(
        compile_trial(read_trial_file(SEED)[0]).model_dump(mode="json"))))
    doc = ov.load_override_file(EXAMPLE_OVERRIDES)
    curated = ov.apply_overrides(trial, doc)
    assert len(curated.criteria) == len(trial.criteria) + 1
    # The input is not changed.
    assert all(c.curation is None for c in trial.criteria)
    from matcher.evaluate import evaluate_criterion
    from matcher.facts import build_facts
    from matcher.patient import load_patient
    patient = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    patient["treatments"].append({"kind": "drug", "name": "palbociclib", "start": "2025-01-01",
                                  "end": "2025-06-01"})
    doc_patient = load_patient(json.dumps(patient), "p.json")
    facts = build_facts(doc_patient, doc_patient.effective_as_of(None), False)
    added = curated.criteria[-1]
    assert evaluate_criterion(added, facts).status == "fail"


def test_stale_when_the_source_text_changes(tmp_path):
    """The ECOG text is edited in the registry: its id changes, the override is
    not applied, the compiler's rule stands and the override is listed."""
    trials = trial_copy(tmp_path, "ECOG score of 0 or 1.", "ECOG score of 0, 1 or 2.")
    path = write(tmp_path, ECOG_2, "ov.yaml")
    report = compile_json(str(trials), "--overrides", str(path))
    trial = trial_of(report)
    assert all(c["curated"] is None for c in trial["criteria"])
    [stale] = report["summary"]["stale_overrides"]
    assert stale["criterion"] == ECOG_ID and stale["index"] == 0
    assert "not found" in stale["reason"]
    new = next(c for c in trial["criteria"] if c["text"] == "ECOG score of 0, 1 or 2.")
    assert stale["candidate"] == new["id"] != ECOG_ID
    assert new["rule"] == "performance.ecog <= 2"  # the compiler's own reading
    table = run("compile", str(trials), "--overrides", str(path))
    assert table.returncode == 0
    assert f"STALE override {path} [0]" in table.stdout and new["id"] in table.stdout


def test_stale_when_the_id_stays_but_the_text_differs(tmp_path):
    """Same digest (case is normalized away) but different text: stale, kept visible
    on the criterion, which keeps the compiler's rule."""
    trials = trial_copy(tmp_path, "ECOG score of 0 or 1.", "ECOG SCORE OF 0 OR 1.")
    path = write(tmp_path, ECOG_2, "ov.yaml")
    report = compile_json(str(trials), "--overrides", str(path))
    c = criterion(trial_of(report), ECOG_ID)
    assert c["text"] == "ECOG SCORE OF 0 OR 1."
    assert c["rule"] == "performance.ecog <= 1" and c["curated"]["status"] == "stale"
    [stale] = report["summary"]["stale_overrides"]
    assert stale["current_text"] == "ECOG SCORE OF 0 OR 1." and "changed" in stale["reason"]
    table = run("compile", str(trials), "--overrides", str(path))
    assert "STALE override (replace by J. Smith on 2026-11-20)" in table.stdout

    # In matching, the stale override is not applied: ECOG 2 still fails.
    proc = run("match", str(ecog2_patient(tmp_path)), "--trials", str(trials), "--overrides",
               str(path), "--format", "json")
    result = json.loads(proc.stdout)["results"][0]
    m = criterion(result, ECOG_ID)
    assert m["status"] == "fail" and m["curated"]["status"] == "stale"


def test_unknown_id_is_listed_as_stale(tmp_path):
    path = write(tmp_path, ECOG_2.replace(ECOG_ID, "NCT06935188#i-0000000000"))
    report = compile_json(str(SEED), "--overrides", str(path))
    [stale] = report["summary"]["stale_overrides"]
    assert stale["criterion"] == "NCT06935188#i-0000000000"
    assert stale["candidate"] == ECOG_ID  # the text still names the current criterion
    assert criterion(trial_of(report), ECOG_ID)["curated"] is None
    assert trial_of(report)["stale_overrides"] == [stale]


def test_overrides_survive_recompiles(tmp_path):
    """Ids depend on the text only: recompiling, or reflowing the text's
    whitespace, keeps the override applied."""
    path = write(tmp_path, ECOG_2)
    first = compile_json(str(SEED), "--overrides", str(path))
    second = compile_json(str(SEED), "--overrides", str(path))
    assert [c["id"] for c in trial_of(first)["criteria"]] == \
        [c["id"] for c in trial_of(second)["criteria"]]
    reflowed = trial_copy(tmp_path, "ECOG score of 0 or 1.", "ECOG  score of\n 0 or 1.")
    c = criterion(trial_of(compile_json(str(reflowed), "--overrides", str(path))), ECOG_ID)
    assert c["curated"]["status"] == "active" and c["rule"] == "performance.ecog <= 2"


def test_compiled_trial_file_keeps_curation(tmp_path):
    """A curated trial written in the engine's own format reads back (the stale
    list is not part of the format) and re-applying is idempotent."""
    path = write(tmp_path, ECOG_2)
    doc = ov.load_override_file(path)
    base = compile_trial(read_trial_file(SEED)[0])
    curated = ov.apply_overrides(base, doc)
    out = tmp_path / "compiled.json"
    out.write_text(curated.model_dump_json(), encoding="utf-8")
    assert "stale_overrides" not in json.loads(out.read_text())
    [back] = read_trial_file(out)
    assert isinstance(back, CompiledTrial)
    assert next(c for c in back.criteria if c.id == ECOG_ID).curation.curator == "J. Smith"
    again = ov.apply_overrides(back, doc)
    assert [c.id for c in again.criteria] == [c.id for c in curated.criteria]


def test_shipped_overrides_apply_to_the_bundled_library(tmp_path, monkeypatch):
    from matcher import library
    shipped = tmp_path / "seeds" / "overrides"
    shipped.mkdir(parents=True)
    write(shipped, ECOG_2)
    monkeypatch.setattr(ov, "seeds_dir", lambda: tmp_path / "seeds")
    trial = next(t for t in library.load_trials(None) if t.trial.trial_id == "NCT06935188")
    assert next(c for c in trial.criteria if c.id == ECOG_ID).rule == "performance.ecog <= 2"
    # Explicit trial files: the shipped overrides belong to the bundled library only.
    [own] = library.load_trials([str(SEED)])
    assert next(c for c in own.criteria if c.id == ECOG_ID).curation is None
    # A file given by the user replaces the shipped file of the same trial.
    mine = write(tmp_path, ECOG_2.replace('value: 2}', 'value: 3}'), "mine.yaml")
    trial = next(t for t in library.load_trials(None, [str(mine)])
                 if t.trial.trial_id == "NCT06935188")
    assert next(c for c in trial.criteria if c.id == ECOG_ID).rule == "performance.ecog <= 3"


@pytest.mark.parametrize("text, expected", [
    (ECOG_2.replace('op: "<="', 'op: "=<"'), "overrides[0].logic.op:"),
    (ECOG_2.replace("family: performance_status", "family: mood"), "overrides[0].logic:"),
    (ECOG_2.replace("scale: ECOG, ", ""), "overrides[0].logic.scale: Field required"),
    (ECOG_2.replace("    curator: J. Smith\n", ""), "overrides[0].curator: Field required"),
    (ECOG_2.replace("date: 2026-11-20", "date: last week"), "overrides[0].date:"),
    (ECOG_2.replace("action: replace", "action: drop"), "overrides[0].action:"),
    (ECOG_2.replace("action: replace", "action: add"), "overrides[0].criterion: not allowed"),
    (ECOG_2.replace("note:", "comment:"), "overrides[0].comment: Extra inputs"),
    (ECOG_2.replace("    logic: {family: performance_status, scale: ECOG, op: \"<=\", "
                    "value: 2}\n", ""), "overrides[0].logic: required for replace"),
    (ECOG_2.replace("#i-c516abe5b3", "x").replace("NCT06935188x", "NCT0000#i-1"),
     "overrides[0].criterion: not a criterion of NCT06935188"),
    (ECOG_2 + ECOG_2.split("overrides:\n", 1)[1], "overrides[1]: same criterion as overrides[0]"),
    (ECOG_2.replace("trialmatch.overrides/1", "overrides/9"), "format: expected"),
    (ECOG_2.replace("value: 2}", "value: [2}"), "invalid YAML"),
    ("- just\n- a list\n", "not an override file"),
])
def test_invalid_files_exit_2_naming_the_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    for command in (("compile", str(SEED)), ("match", str(EXAMPLE))):
        proc = run(*command, "--overrides", str(path))
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert f"{path}" in proc.stderr and expected in proc.stderr, proc.stderr
        assert proc.stdout == ""


def test_nested_logic_errors_name_the_path_without_union_tags(tmp_path):
    bad = ECOG_2.replace(
        "logic: {family: performance_status, scale: ECOG, op: \"<=\", value: 2}",
        "logic: {family: or, items: [{family: performance_status, scale: ECOG, op: \"<=\", "
        "value: 2}, {family: lab, analyte: hemoglobin, op: \">=\"}]}")
    path = write(tmp_path, bad)
    proc = run("compile", str(SEED), "--overrides", str(path))
    assert proc.returncode == 2
    assert "overrides[0].logic.items[1].value: Field required" in proc.stderr, proc.stderr


def test_missing_override_path_and_two_files_for_one_trial(tmp_path):
    proc = run("compile", str(SEED), "--overrides", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "no such file or directory" in proc.stderr
    write(tmp_path, ECOG_2, "a.yaml")
    write(tmp_path, ECOG_2, "b.yaml")
    proc = run("compile", str(SEED), "--overrides", str(tmp_path))
    assert proc.returncode == 2 and "has overrides in" in proc.stderr


def test_override_for_a_trial_not_loaded_is_ignored(tmp_path):
    path = write(tmp_path, ECOG_2)
    report = compile_json(str(ROOT / "seeds" / "NCT05721443.json"), "--overrides", str(path))
    assert report["summary"]["stale_overrides"] == []


def test_the_example_file_is_valid_and_current():
    """examples/overrides stays in step with the bundled trial: nothing stale."""
    report = compile_json("--overrides", str(EXAMPLE_OVERRIDES))
    assert report["summary"]["stale_overrides"] == []
    curated = [c for c in trial_of(report)["criteria"] if c["curated"]]
    assert {c["curated"]["action"] for c in curated} == {"replace", "review", "add"}
