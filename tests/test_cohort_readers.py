"""Cohort readers: every input shape gives the same documents, lazily, in chunks;
bad input is named by file, line (or row) and field path, never by value."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from matcher.cohort.fhir_export import document_resources
from matcher.cohort.readers import CohortError, SkippedPatient, detect_format, iter_cohort
from matcher.cohort.synth import generate, write_cohort
from matcher.fhir_in import bundle_to_patient
from matcher.patient import parse_patient

N = 60
SEED = 11


def export_order(resources: list[dict]) -> list[dict]:
    """The order a Bulk Data export gives a patient's resources: the Patient, then
    file by file (files sorted by name), each file in line order."""
    return sorted(resources, key=lambda r: (r["resourceType"] != "Patient", r["resourceType"]))


def read_all(path: Path, chunk_size: int = 5000, **kw) -> list:
    return [doc for chunk in iter_cohort(path, chunk_size, **kw) for doc in chunk]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cohort")
    out = {}
    for fmt in ("jsonl", "csv", "parquet", "ndjson"):
        write_cohort(root / fmt, N, SEED, fmt)
        out[fmt] = root / fmt
    folder = root / "docs"
    folder.mkdir()
    bundles = root / "bundles"
    bundles.mkdir()
    for i, doc in enumerate(generate(N, SEED)):
        (folder / f"p{i:04d}.json").write_text(json.dumps(doc), encoding="utf-8")
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": r} for r in export_order(document_resources(doc))]}
        (bundles / f"p{i:04d}.json").write_text(json.dumps(bundle), encoding="utf-8")
    out["docs"] = folder
    out["bundles"] = bundles
    return out


def test_formats_are_detected(cohort):
    assert detect_format(cohort["jsonl"] / "patients.jsonl") == "jsonl"
    assert detect_format(cohort["jsonl"]) == "json-folder"
    assert detect_format(cohort["docs"]) == "json-folder"
    assert detect_format(cohort["csv"]) == "tables"
    assert detect_format(cohort["parquet"]) == "tables"
    assert detect_format(cohort["ndjson"]) == "fhir-ndjson"


def test_every_document_format_gives_the_same_documents(cohort):
    expected = [parse_patient(d) for d in generate(N, SEED)]
    for key in ("jsonl", "docs", "csv", "parquet"):
        got = read_all(cohort[key])
        assert len(got) == N, key
        for want, doc in zip(expected, got, strict=True):
            assert doc == want, (key, want.id)


def test_fhir_bulk_export_equals_the_same_resources_as_bundles(cohort):
    from_ndjson = read_all(cohort["ndjson"], chunk_size=7)
    from_bundles = read_all(cohort["bundles"])
    assert [d.id for d in from_ndjson] == [d["id"] for d in generate(N, SEED)]
    assert from_ndjson == from_bundles
    # The clinical content survives the FHIR round trip where FHIR has a place for it.
    first = next(generate(1, SEED))
    doc = from_ndjson[0]
    if "birth_date" in first:
        assert doc.birth_date.isoformat() == first["birth_date"]
    assert [lab.name for lab in doc.labs] == [lab["name"] for lab in first.get("labs", [])]
    assert sorted(t.name for t in doc.treatments) == sorted(t["name"] for t in first["treatments"])
    assert [d.condition for d in doc.diagnoses] == [first["diagnoses"][0]["condition"]]


def test_chunks_are_bounded_and_in_order(cohort):
    for key in ("jsonl", "csv", "parquet", "ndjson"):
        chunks = list(iter_cohort(cohort[key], chunk_size=7))
        assert [len(c) for c in chunks] == [7] * (N // 7) + [N % 7], key
        ids = [d.id for c in chunks for d in c]
        assert ids == [f"synth-{SEED}-{i:07d}" for i in range(N)], key


def test_reading_is_lazy(tmp_path):
    # The first chunk arrives before a broken line further down is reached.
    lines = [json.dumps(d) for d in generate(10, 3)] + ["{not json"]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks = iter_cohort(path, chunk_size=4)
    assert len(next(chunks)) == 4
    assert len(next(chunks)) == 4
    with pytest.raises(CohortError) as err:
        next(chunks)
    assert "c.jsonl line 11: (document): not valid JSON" in str(err.value)


# --------------------------------------------------------------------------- bad input

SECRET = 987.654  # a patient value that must never appear in a message


def _jsonl_with_problems(tmp_path: Path) -> Path:
    docs = list(generate(6, 4))
    docs[2]["labs"] = [{"name": "hemoglobin", "value": SECRET}]           # unit missing
    docs[4]["performance_status"] = [{"scale": "ECOG", "value": 9}]         # out of scale
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    return path


def test_jsonl_problems_name_line_and_path_and_are_all_listed(tmp_path):
    path = _jsonl_with_problems(tmp_path)
    with pytest.raises(CohortError) as err:
        read_all(path)
    text = str(err.value)
    assert "cohort.jsonl line 3: labs[0].unit: required with value" in text
    assert "cohort.jsonl line 5: performance_status[0].value: ECOG must be an integer 0..5" in text
    assert len(err.value.problems) == 2
    assert "987" not in text


def test_refusal_yields_only_chunks_before_the_first_bad_patient(tmp_path):
    path = _jsonl_with_problems(tmp_path)
    seen = []
    with pytest.raises(CohortError):
        for chunk in iter_cohort(path, chunk_size=2):
            seen.append([d.id for d in chunk])
    assert seen == [["synth-4-0000000", "synth-4-0000001"]]


def test_skip_mode_leaves_bad_patients_out_and_reports_them(tmp_path):
    path = _jsonl_with_problems(tmp_path)
    skipped: list[SkippedPatient] = []
    docs = read_all(path, skipped=skipped)
    assert [d.id for d in docs] == [f"synth-4-{i:07d}" for i in (0, 1, 3, 5)]
    assert [s.where for s in skipped] == ["cohort.jsonl line 3", "cohort.jsonl line 5"]


def test_duplicate_patient_ids_are_refused(tmp_path):
    doc = next(generate(1, 2))
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(doc) + "\n\n" + json.dumps(doc) + "\n", encoding="utf-8")
    with pytest.raises(CohortError) as err:
        read_all(path)
    assert str(err.value) == "dup.jsonl line 3: id: the same patient id as dup.jsonl line 1"


def test_folder_of_documents_names_the_file(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(next(generate(1, 1))), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"id": "x", "age": 50, "sex": "robot"}),
                                     encoding="utf-8")
    with pytest.raises(CohortError) as err:
        read_all(tmp_path)
    assert str(err.value).startswith("b.json: sex: must be one of")


def _rewrite_csv(path: Path, change) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    change(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def test_csv_problems_name_file_line_and_column(tmp_path, cohort):
    folder = tmp_path / "csv"
    write_cohort(folder, 12, SEED, "csv")

    lines: list[int] = []

    def bad_cells(rows):
        header = rows[0]
        firsts = {}
        for i, row in enumerate(rows[1:], start=1):
            firsts.setdefault(row[0], i)
        a, b = list(firsts.values())[1], list(firsts.values())[3]  # two patients
        rows[a][header.index("value")] = "abc"       # not a number
        rows[b][header.index("value")] = str(SECRET)
        rows[b][header.index("unit")] = ""           # unit required with the value
        lines.extend([a + 1, b + 1])
    _rewrite_csv(folder / "labs.csv", bad_cells)
    with pytest.raises(CohortError) as err:
        read_all(folder)
    text = str(err.value)
    assert f"labs.csv line {lines[0]}: value: must be a number" in text
    assert f"labs.csv line {lines[1]}: unit: required with value" in text
    assert "987" not in text and "abc" not in text


def test_csv_orphans_unknown_columns_and_duplicates(tmp_path):
    folder = tmp_path / "csv"
    write_cohort(folder, 5, SEED, "csv")
    _rewrite_csv(folder / "labs.csv", lambda rows: rows[2].__setitem__(0, "nobody"))
    _rewrite_csv(folder / "patients.csv", lambda rows: rows.append(list(rows[1])))
    with pytest.raises(CohortError) as err:
        read_all(folder)
    text = str(err.value)
    assert "labs.csv line 3: patient_id: no such patient in patients.csv" in text
    assert "patients.csv line 7: patient_id: the same patient_id as line 2" in text

    _rewrite_csv(folder / "conditions.csv", lambda rows: rows[0].__setitem__(2, "colour"))
    with pytest.raises(CohortError) as err:
        read_all(folder)
    assert "conditions.csv: column colour: unknown column" in str(err.value)


def test_parquet_problems_name_the_row(tmp_path):
    folder = tmp_path / "pq"
    write_cohort(folder, 8, SEED, "parquet")
    table = pq.read_table(folder / "performance.parquet")
    values = table.column("value").to_pylist()
    scales = table.column("scale").to_pylist()
    values[2] = 7 if scales[2] == "ECOG" else 75
    table = table.set_column(table.schema.get_field_index("value"), "value", pa.array(values))
    pq.write_table(table, folder / "performance.parquet")
    with pytest.raises(CohortError) as err:
        read_all(folder)
    assert str(err.value).startswith("performance.parquet row 3: value: ")


def test_fhir_ndjson_problems_name_file_line_and_element(tmp_path):
    folder = tmp_path / "fhir"
    write_cohort(folder, 4, SEED, "ndjson")
    obs = (folder / "Observation.ndjson").read_text(encoding="utf-8").splitlines()
    ecog = next(i for i, line in enumerate(obs) if "89247-1" in line)
    resource = json.loads(obs[ecog])
    resource["valueInteger"] = "one"
    obs[ecog] = json.dumps(resource)
    orphan = json.loads(obs[0])
    orphan["subject"] = {"reference": "Patient/nobody"}
    obs.append(json.dumps(orphan))
    (folder / "Observation.ndjson").write_text("\n".join(obs) + "\n", encoding="utf-8")
    with pytest.raises(CohortError) as err:
        read_all(folder)
    text = str(err.value)
    assert (f"Observation.ndjson line {len(obs)}: Observation.subject.reference: "
            "no Patient with this id in the export") in text
    # the orphan is found in the index pass; with it removed the bad value is named
    obs.pop()
    (folder / "Observation.ndjson").write_text("\n".join(obs) + "\n", encoding="utf-8")
    with pytest.raises(CohortError) as err:
        read_all(folder)
    assert str(err.value).startswith(
        f"Observation.ndjson line {ecog + 1}: Observation.valueInteger")


def test_fhir_ndjson_matches_bundle_conversion(tmp_path):
    folder = tmp_path / "fhir"
    write_cohort(folder, 3, 99, "ndjson")
    docs = read_all(folder)
    for doc, src in zip(docs, generate(3, 99), strict=True):
        bundle = {"resourceType": "Bundle",
                  "entry": [{"resource": r} for r in export_order(document_resources(src))]}
        assert doc == bundle_to_patient(bundle)


def test_missing_or_empty_inputs_are_named(tmp_path):
    with pytest.raises(CohortError, match="no such file or folder"):
        read_all(tmp_path / "nothing")
    with pytest.raises(CohortError, match="no patient files"):
        read_all(tmp_path)
