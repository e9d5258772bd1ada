"""``trialmatch screen``'s orchestration: plan, chunks, executor, result files.

OUT holds:

* ``results.parquet``: one row per patient x trial: patient_id, trial_id,
  verdict, score, statuses (LIST<VARCHAR>, aligned with trial_criteria's
  ``position``), to_confirm (LIST<VARCHAR>);
* ``trial_criteria.parquet``: trial_id, position, criterion_id, kind, text,
  family, compiled, executor ('sql' or 'fallback'), rule;
* ``manifest.json``: engine, policies, trials with each compiled criterion's
  content hash, cohort source, counts, timings, fallbacks;
* ``flips.parquet`` (with ``--since``): patients whose verdict flipped.

Memory is bounded by the chunk: each chunk of patients becomes one Arrow
table, goes through the engine, and its results are appended to the Parquet
file as row groups before the next chunk is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from criteria.sql.dialects import DIALECTS
from criteria.trial import CompiledTrial
from matcher.cohort.chunk import (
    BATCH_SCHEMA,
    Executor,
    Finisher,
    encode_fallbacks,
    fact_job,
    fact_table,
)
from matcher.cohort.duckdb_exec import DuckDBExecutor
from matcher.cohort.plan import ScreenPlan, build_plan, criterion_hash, trial_hash
from matcher.cohort.producer import can_run_in_process, fact_tables_in_process
from matcher.patient import PatientDocument

FORMAT = "trialmatch.screen/1"

TRIAL_CRITERIA_SCHEMA = pa.schema([
    ("trial_id", pa.string()), ("position", pa.int32()), ("criterion_id", pa.string()),
    ("kind", pa.string()), ("text", pa.string()), ("family", pa.string()),
    ("compiled", pa.string()), ("executor", pa.string()), ("rule", pa.string()),
])


STATISTICS_COLUMNS = ("patient_id", "trial_id", "verdict", "score")


class ScreenInputError(ValueError):
    """Bad input to a screen (e.g. an unreadable previous OUT); exit 2."""


@dataclass
class ScreenOptions:
    cohort: str
    trials: list[CompiledTrial]
    out: Path
    engine: str = "duckdb"
    spark_master: str | None = None
    as_of: date | None = None
    assume_absent: bool = False
    any_status: bool = False
    chunk_size: int = 10000
    since: Path | None = None
    compile_errors: list[dict[str, str]] = field(default_factory=list)
    read_in_process: bool = True  # read and normalize in a second process
    atoms_in_reader: bool = True  # DuckDB: and run the atoms stage there too


@dataclass
class ScreenSummary:
    manifest: dict[str, Any]
    flips: int = 0
    flip_lines: list[str] = field(default_factory=list)


Chunks = Callable[[str, int], Iterator[list[PatientDocument]]]
Events = Callable[[str, dict[str, Any]], None]


def make_executor(engine: str, plan: ScreenPlan, spark_master: str | None) -> Executor:
    if engine == "spark":
        from matcher.cohort.spark_exec import SparkExecutor

        return SparkExecutor(plan, spark_master)
    return DuckDBExecutor(plan)


def cohort_fingerprint(path: str) -> str:
    """Names, sizes and modification times of the cohort's files: a changed
    cohort is never mistaken for the previous screen's."""
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        digest.update(f"{f.relative_to(root) if f != root else f.name}\t{st.st_size}\t"
                      f"{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _policy(opts: ScreenOptions) -> dict[str, Any]:
    return {
        "as_of": opts.as_of.isoformat() if opts.as_of else None,
        "as_of_policy": (f"{opts.as_of.isoformat()} for every patient" if opts.as_of else
                         "each patient's as_of (today when the document has none)"),
        "assume_absent": opts.assume_absent,
        "status": "any" if opts.any_status else "open",
    }


def _previous(since: Path) -> tuple[dict[str, Any], Path]:
    manifest_path = since / "manifest.json"
    results = since / "results.parquet"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ScreenInputError(f"--since {since}: manifest.json: cannot read "
                               f"({type(err).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ScreenInputError(f"--since {since}: manifest.json: format: not {FORMAT}")
    if not results.is_file():
        raise ScreenInputError(f"--since {since}: results.parquet: no such file")
    return manifest, results


def _unchanged_trials(opts: ScreenOptions, chosen: list[CompiledTrial],
                      manifest: dict[str, Any], fingerprint: str) -> tuple[set[str], str]:
    """Trials whose results can be copied, and why the others cannot."""
    same_policy = all(manifest.get("policy", {}).get(k) == v for k, v in _policy(opts).items()
                      if k != "status")
    if not same_policy:
        return set(), "policy changed (as-of or assume-absent): every trial is re-screened"
    if manifest.get("cohort", {}).get("fingerprint") != fingerprint:
        return set(), "the cohort changed: every trial is re-screened"
    before = {t["trial_id"]: t.get("hash") for t in manifest.get("trials", [])}
    same = {t.trial.trial_id for t in chosen if before.get(t.trial.trial_id) == trial_hash(t)}
    return same, ""


def _trial_criteria(plan: ScreenPlan) -> pa.Table:
    rows: dict[str, list[Any]] = {name: [] for name in TRIAL_CRITERIA_SCHEMA.names}
    for tp in plan.trials:
        for position, cp in enumerate(tp.criteria):
            c = cp.criterion
            for key, value in (("trial_id", tp.trial_id), ("position", position),
                               ("criterion_id", c.id), ("kind", c.kind), ("text", c.text),
                               ("family", c.family), ("compiled", c.compiled),
                               ("executor", cp.executor), ("rule", c.rule)):
                rows[key].append(value)
    return pa.table(rows, schema=TRIAL_CRITERIA_SCHEMA)


def _write_flips(new: Path, previous: Path, changed: set[str], out: Path
                 ) -> tuple[int, list[str]]:
    con = duckdb.connect()
    try:
        con.execute("CREATE TEMP TABLE changed (trial_id VARCHAR)")
        if changed:
            con.executemany("INSERT INTO changed VALUES (?)", [[t] for t in sorted(changed)])
        con.execute(
            "CREATE TEMP TABLE flips AS SELECT n.patient_id, n.trial_id, "
            "p.verdict AS previous_verdict, n.verdict AS verdict, "
            "p.score AS previous_score, n.score AS score "
            f"FROM read_parquet('{_sql_path(new)}') n "
            f"JOIN read_parquet('{_sql_path(previous)}') p USING (patient_id, trial_id) "
            "WHERE n.verdict <> p.verdict AND n.trial_id IN (SELECT trial_id FROM changed) "
            "ORDER BY n.trial_id, n.patient_id")
        con.execute(f"COPY flips TO '{_sql_path(out)}' (FORMAT parquet)")
        count = con.execute("SELECT count(*) FROM flips").fetchone()[0]
        lines = [f"{pid} {tid}: {before} -> {after}" for pid, tid, before, after in con.execute(
            "SELECT patient_id, trial_id, previous_verdict, verdict FROM flips LIMIT 50"
        ).fetchall()]
        return int(count), lines
    finally:
        con.close()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _copy_rows(previous: Path, trial_ids: set[str], writer: pq.ParquetWriter) -> int:
    """Append the previous screen's rows of ``trial_ids`` (row group by row group)."""
    if not trial_ids:
        return 0
    wanted = pa.array(sorted(trial_ids), pa.string())
    copied = 0
    source = pq.ParquetFile(previous)
    for i in range(source.num_row_groups):
        group = source.read_row_group(i).cast(BATCH_SCHEMA)
        kept = group.filter(pc.is_in(group.column("trial_id"), value_set=wanted))
        if kept.num_rows:
            writer.write_table(kept)
            copied += kept.num_rows
    return copied


# (patients, table, seconds reading, seconds of the atoms stage, whether the
# table is the chunk's atoms table rather than its fact table)
Prefetched = tuple[int, pa.Table, float, float, bool]


def _prefetched(chunks: Chunks, plan: ScreenPlan, opts: ScreenOptions,
                atoms_sql: str | None = None) -> Iterator[Prefetched]:
    """Chunks as fact tables, the next ones read and normalized while the engine
    works on the current one: in a second process (``producer``) when the chunk
    reader can be sent there, else in a thread.  With ``atoms_sql`` (DuckDB),
    the reading process runs the atoms stage too and hands over atoms tables."""
    job = fact_job(plan, opts.as_of, opts.assume_absent)
    if opts.read_in_process and can_run_in_process(chunks):
        job = replace(job, atoms_sql=atoms_sql)
        for n, table, seconds, atoms_s in fact_tables_in_process(chunks, opts.cohort,
                                                                 opts.chunk_size, job):
            yield n, encode_fallbacks(table, plan), seconds, atoms_s, atoms_sql is not None
        return
    documents = chunks(opts.cohort, opts.chunk_size)

    def build() -> Prefetched | None:
        t0 = time.perf_counter()
        chunk = next(documents, None)
        if chunk is None:
            return None
        table = encode_fallbacks(fact_table(chunk, job), plan)
        return len(chunk), table, time.perf_counter() - t0, 0.0, False

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(build)
        while True:
            item = pending.result()
            if item is None:
                return
            pending = pool.submit(build)
            yield item


def run_screen(opts: ScreenOptions, chunks: Chunks, events: Events | None = None
               ) -> ScreenSummary:
    """Screen the cohort; write OUT's files; ``events`` hears 'plan' and 'chunk'."""
    started = time.perf_counter()
    notify = events or (lambda _kind, _data: None)
    chosen = [t for t in opts.trials if opts.any_status or t.trial.is_open]
    dialect = DIALECTS[opts.engine]
    fingerprint = cohort_fingerprint(opts.cohort)
    unchanged: set[str] = set()
    since_note = ""
    previous_results: Path | None = None
    if opts.since is not None:
        manifest_before, previous_results = _previous(opts.since)
        unchanged, since_note = _unchanged_trials(opts, chosen, manifest_before, fingerprint)
    full_plan = build_plan(chosen, dialect)
    to_run = [t for t in chosen if t.trial.trial_id not in unchanged]
    plan = build_plan(to_run, dialect)
    notify("plan", {"trials": len(chosen), "to_run": len(to_run), "copied": len(unchanged),
                    "atoms": len(plan.atoms), "fallbacks": plan.fallback_list(),
                    "since_note": since_note})
    opts.out.mkdir(parents=True, exist_ok=True)
    tmp_results = opts.out / "results.parquet.part"
    timings = Counter[str]()
    verdicts = Counter[str]()
    patients = pairs = 0
    # store_schema=False: readers see the file's plain strings, not our dictionaries.
    # Min/max statistics only for the scalar columns: for the lists' 50 values per
    # pair they cost a third of the writing and no reader filters on them.
    writer = pq.ParquetWriter(tmp_results, BATCH_SCHEMA, compression="zstd", store_schema=False,
                              write_statistics=list(STATISTICS_COLUMNS))
    try:
        if plan.trials:
            executor = make_executor(opts.engine, plan, opts.spark_master)
            finish = Finisher(plan)
            atoms_sql = None
            if isinstance(executor, DuckDBExecutor) and opts.atoms_in_reader \
                    and opts.read_in_process and can_run_in_process(chunks):
                atoms_sql = executor.atoms_sql
                executor.single_threaded()

            def write(batch: pa.Table) -> float:
                t0 = time.perf_counter()
                writer.write_table(batch)
                return time.perf_counter() - t0

            # The Parquet writer (outside the GIL) compresses one chunk's results
            # while the engine runs the next; at most one batch waits for it.
            with ThreadPoolExecutor(max_workers=1) as writing:
                pending: Future[float] | None = None
                try:
                    for n_patients, table, t_facts, t_atoms, is_atoms in _prefetched(
                            chunks, plan, opts, atoms_sql):
                        t1 = time.perf_counter()
                        raw = executor.run_atoms(table) if is_atoms else executor.run(table)
                        batch = finish(raw)
                        del table, raw
                        timings.update({"read_and_facts_s": t_facts,
                                        "atoms_in_reader_s": t_atoms,
                                        "engine_s": time.perf_counter() - t1})
                        if pending is not None:
                            timings["write_s"] += pending.result()
                        pending = writing.submit(write, batch)
                        for item in pc.value_counts(batch.column("verdict")).to_pylist():
                            verdicts[item["values"]] += item["counts"]
                        patients += n_patients
                        pairs += batch.num_rows
                        del batch
                        notify("chunk", {"patients": patients, "pairs": pairs})
                    if pending is not None:
                        timings["write_s"] += pending.result()
                finally:
                    executor.close()
        if previous_results is not None:
            t0 = time.perf_counter()
            pairs += _copy_rows(previous_results, unchanged, writer)
            timings["copy_s"] += time.perf_counter() - t0
    finally:
        writer.close()
    if not plan.trials and previous_results is not None:
        patients = int(manifest_before.get("counts", {}).get("patients", 0))
    flips, flip_lines = 0, []
    if previous_results is not None:
        flips, flip_lines = _write_flips(tmp_results, previous_results,
                                         {t.trial.trial_id for t in to_run},
                                         opts.out / "flips.parquet.part")
        os.replace(opts.out / "flips.parquet.part", opts.out / "flips.parquet")
        if unchanged:
            verdicts = _verdict_counts(tmp_results)
    os.replace(tmp_results, opts.out / "results.parquet")
    pq.write_table(_trial_criteria(full_plan), opts.out / "trial_criteria.parquet")
    timings["total_s"] = time.perf_counter() - started
    manifest = _manifest(opts, full_plan, unchanged, fingerprint, patients, pairs, verdicts,
                         timings, since_note, flips)
    (opts.out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                            + "\n", encoding="utf-8")
    return ScreenSummary(manifest, flips, flip_lines)


def _verdict_counts(results: Path) -> Counter[str]:
    table = pq.read_table(results, columns=["verdict"])
    return Counter({item["values"]: item["counts"]
                    for item in pc.value_counts(table.column("verdict")).to_pylist()})


def _manifest(opts: ScreenOptions, plan: ScreenPlan, unchanged: set[str], fingerprint: str,
              patients: int, pairs: int, verdicts: Counter[str], timings: Counter[str],
              since_note: str, flips: int) -> dict[str, Any]:
    trials = []
    for tp in plan.trials:
        trials.append({
            "trial_id": tp.trial_id, "title": tp.trial.trial.title,
            "status": tp.trial.trial.status, "hash": trial_hash(tp.trial),
            "screened": "copied" if tp.trial_id in unchanged else "this run",
            "criteria": [{"id": cp.criterion.id, "hash": criterion_hash(cp.criterion),
                          "executor": cp.executor} for cp in tp.criteria],
        })
    n_criteria = sum(len(tp.criteria) for tp in plan.trials)
    out: dict[str, Any] = {
        "format": FORMAT,
        "engine": opts.engine,
        "spark_master": (opts.spark_master or "local[2]") if opts.engine == "spark" else None,
        "policy": _policy(opts),
        "cohort": {"source": str(opts.cohort), "fingerprint": fingerprint,
                   "patients": patients},
        "counts": {"patients": patients, "trials": len(plan.trials), "pairs": pairs,
                   "criteria": n_criteria, "fallback_criteria": len(plan.fallbacks),
                   **{v: verdicts.get(v, 0) for v in ("eligible", "possible", "ineligible")}},
        "timings": {k: round(v, 3) for k, v in sorted(timings.items())},
        "fallbacks": plan.fallback_list(),
        "trials": trials,
        "compile_errors": opts.compile_errors,
    }
    if opts.since is not None:
        out["since"] = {"previous": str(opts.since), "copied_trials": sorted(unchanged),
                        "note": since_note, "flips": flips}
    return out
