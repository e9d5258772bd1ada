"""The cohort read and normalized in a second process (``matcher.cohort.producer``):
the same fact tables as in process, a refused cohort refused with every problem,
and the result file's schema (plain strings, although the batches are
dictionary-coded in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from criteria.sql.dialects import DUCKDB
from matcher.cohort.chunk import RESULTS_SCHEMA, encode_fallbacks, fact_job, fact_table
from matcher.cohort.duckdb_exec import DuckDBExecutor
from matcher.cohort.plan import build_plan
from matcher.cohort.producer import can_run_in_process, fact_tables_in_process
from matcher.cohort.readers import CohortError, iter_cohort
from matcher.cohort.screen import ScreenOptions, run_screen
from matcher.cohort.synth import write_cohort
from matcher.library import load_trials
from matcher.patient import PatientDocument

ROOT = Path(__file__).resolve().parents[1]


def read_chunks(path: str, chunk_size: int) -> Iterator[list[PatientDocument]]:
    """Module level, as ``trialmatch screen`` passes it: it can be sent to the child."""
    return iter_cohort(path, chunk_size)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, 45, seed=11)
    return out / "patients.jsonl"


@pytest.fixture(scope="module")
def trials() -> list:
    return load_trials([str(ROOT / "seeds")], None, [])


def test_child_process_builds_the_same_tables_as_in_process(cohort: Path, trials: list):
    plan = build_plan(trials, DUCKDB)
    job = fact_job(plan, None, False)
    from_child = list(fact_tables_in_process(read_chunks, str(cohort), 20, job))
    in_process = [fact_table(chunk, job) for chunk in iter_cohort(cohort, 20)]
    assert [n for n, _, _, _ in from_child] == [20, 20, 5]
    assert len(from_child) == len(in_process)
    for (_, table, _, _), expected in zip(from_child, in_process, strict=True):
        assert table.equals(expected)


def test_child_process_runs_the_atoms_stage_as_the_executor_would(cohort: Path, trials: list):
    """DuckDB's atoms stage in the reading process, the trials' queries here: the
    same codes as the executor running both stages on the fact table."""
    plan = build_plan(trials, DUCKDB)
    executor = DuckDBExecutor(plan)
    job = replace(fact_job(plan, None, False), atoms_sql=executor.atoms_sql)
    from_child = list(fact_tables_in_process(read_chunks, str(cohort), 20, job))
    in_process = [encode_fallbacks(fact_table(chunk, job), plan)
                  for chunk in iter_cohort(cohort, 20)]
    split = DuckDBExecutor(plan)
    try:
        for (_, atoms, _, _), facts in zip(from_child, in_process, strict=True):
            assert "a0" in atoms.column_names and "diagnoses" not in atoms.column_names
            expected = executor.run(facts).sort_by([("patient_id", "ascending"),
                                                    ("trial_index", "ascending")])
            got = split.run_atoms(atoms).sort_by([("patient_id", "ascending"),
                                                  ("trial_index", "ascending")])
            assert got.num_rows == facts.num_rows * len(trials)
            assert got.equals(expected)
    finally:
        executor.close()
        split.close()


def test_refused_cohort_raises_every_problem_in_the_parent(cohort: Path, trials: list,
                                                           tmp_path: Path):
    lines = cohort.read_text(encoding="utf-8").splitlines()
    lines[3] = '{"id": "x", "sex": 12}'
    lines[30] = "not json"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    job = fact_job(build_plan(trials, DUCKDB), None, False)
    with pytest.raises(CohortError) as err:
        list(fact_tables_in_process(read_chunks, str(bad), 10, job))
    assert any(p.startswith("bad.jsonl line 4: ") for p in err.value.problems)
    assert any(p.startswith("bad.jsonl line 31: ") for p in err.value.problems)


def test_only_module_level_readers_go_to_the_child():
    assert can_run_in_process(read_chunks)
    assert not can_run_in_process(lambda path, size: iter_cohort(path, size))


@pytest.mark.parametrize(("in_process", "atoms_in_reader"),
                         [(True, True), (True, False), (False, True)])
def test_results_file_holds_plain_strings(cohort: Path, trials: list, tmp_path: Path,
                                          in_process: bool, atoms_in_reader: bool):
    out = tmp_path / "out"
    summary = run_screen(ScreenOptions(cohort=str(cohort), trials=trials, out=out,
                                       any_status=True, chunk_size=16,
                                       read_in_process=in_process,
                                       atoms_in_reader=atoms_in_reader), read_chunks)
    schema = pq.read_schema(out / "results.parquet")
    assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in RESULTS_SCHEMA]
    table = pq.read_table(out / "results.parquet")
    assert table.num_rows == 45 * len(trials) == summary.manifest["counts"]["pairs"]
    assert set(table.column("verdict").to_pylist()) <= {"eligible", "possible", "ineligible"}
    statuses = pa.compute.list_flatten(table.column("statuses")).to_pylist()
    assert set(statuses) <= {"pass", "fail", "unknown", "review"} and statuses
    assert set(table.column("trial_id").to_pylist()) == {t.trial.trial_id for t in trials}


def test_the_stages_split_over_two_processes_write_the_same_results(cohort: Path, trials: list,
                                                                     tmp_path: Path):
    tables = []
    for atoms_in_reader in (True, False):
        out = tmp_path / f"out-{atoms_in_reader}"
        run_screen(ScreenOptions(cohort=str(cohort), trials=trials, out=out, any_status=True,
                                 chunk_size=16, atoms_in_reader=atoms_in_reader), read_chunks)
        tables.append(pq.read_table(out / "results.parquet")
                      .sort_by([("patient_id", "ascending"), ("trial_id", "ascending")]))
    assert tables[0].num_rows == 45 * len(trials)
    assert tables[0].equals(tables[1])
