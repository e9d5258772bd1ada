"""One chunk of patients through the plan: facts, table, executor, results batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from criteria import ir
from matcher.cohort.fast_patient import PatientRecord
from matcher.cohort.plan import (
    ScreenPlan,
    fallback_confirm_column,
    fallback_status_column,
    score_offsets,
)
from matcher.cohort.tables import TableSpec, facts_table
from matcher.cohort.verdicts import STATUS_CODES, STATUSES, VERDICTS
from matcher.evaluate import evaluate_criterion
from matcher.facts import Facts, build_facts
from matcher.patient import PatientDocument

# A patient as the cohort readers yield it (``matcher.cohort.readers.Patient``).
Patient = PatientDocument | PatientRecord

RESULTS_SCHEMA = pa.schema([
    pa.field("patient_id", pa.string(), nullable=False),
    pa.field("trial_id", pa.string(), nullable=False),
    pa.field("verdict", pa.string(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    pa.field("statuses", pa.list_(pa.string())),
    pa.field("to_confirm", pa.list_(pa.string())),
])
# The same columns in memory: the repeated words (trial ids, verdicts, statuses,
# to-confirm texts) as dictionary arrays over the plan's word lists.  Spelling
# them out costs more than the engine (a chunk of 5,000 patients x 105 trials
# held ~0.9 GB of to-confirm text); the Parquet writer stores the codes as they
# are and readers see plain strings (RESULTS_SCHEMA: the writer does not store
# the Arrow schema).
_WORDS = pa.dictionary(pa.int32(), pa.string())
BATCH_SCHEMA = pa.schema([
    pa.field("patient_id", pa.string(), nullable=False),
    pa.field("trial_id", _WORDS, nullable=False),
    pa.field("verdict", _WORDS, nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    pa.field("statuses", pa.list_(_WORDS)),
    pa.field("to_confirm", pa.list_(_WORDS)),
])


class Executor(Protocol):
    engine: str

    def run(self, table: pa.Table) -> pa.Table: ...

    def close(self) -> None: ...


def patient_facts(patients: Sequence[Patient], as_of: date | None,
                  assume_absent: bool, explained: bool = True) -> list[Facts]:
    return [build_facts(p, p.effective_as_of(as_of), assume_absent, explained=explained)
            for p in patients]


@dataclass(frozen=True)
class FactJob:
    """What a chunk's fact table needs from the plan, and nothing more: it is sent
    to the process that reads the cohort (``matcher.cohort.producer``)."""

    spec: TableSpec
    fallbacks: tuple[tuple[int, ir.Criterion], ...]  # (fallback index, criterion)
    as_of: date | None
    assume_absent: bool
    # DuckDB's atoms stage, to run in the reading process on each fact table
    # (``duckdb_exec.AtomsStage``); None: the fact tables themselves are handed over
    atoms_sql: str | None = None


def fact_job(plan: ScreenPlan, as_of: date | None, assume_absent: bool) -> FactJob:
    return FactJob(plan.spec, tuple((cp.fallback_index, cp.criterion) for _, cp in plan.fallbacks),
                   as_of, assume_absent)


def fact_table(patients: Sequence[Patient], job: FactJob) -> pa.Table:
    """The chunk's fact table, with the fallback criteria's per-patient results as
    columns (status codes, and to-confirm texts that ``encode_fallbacks`` codes).
    The SQL reads only the facts' values: the evidence texts are written only
    for the per-patient evaluation of fallback criteria."""
    facts = patient_facts(patients, job.as_of, job.assume_absent,
                          explained=bool(job.fallbacks))
    table = facts_table([p.id for p in patients], facts, job.spec)
    for index, criterion in job.fallbacks:
        results = [evaluate_criterion(criterion, f) for f in facts]
        table = table.append_column(
            fallback_status_column(index),
            pa.array([STATUS_CODES[r.status] for r in results], pa.int32()))
        table = table.append_column(
            fallback_confirm_column(index),
            pa.array([list(r.to_confirm) for r in results], pa.list_(pa.string())))
    return table


def encode_fallbacks(table: pa.Table, plan: ScreenPlan) -> pa.Table:
    """The fallback to-confirm texts as the plan's integer codes (the codes are
    assigned here, in the plan's process, so every chunk shares them)."""
    for _, cp in plan.fallbacks:
        name = fallback_confirm_column(cp.fallback_index)
        codes = [[plan.code(t) for t in texts] for texts in table.column(name).to_pylist()]
        table = table.set_column(table.schema.get_field_index(name), name,
                                 pa.array(codes, pa.list_(pa.int32())))
    return table


def chunk_table(patients: Sequence[Patient], plan: ScreenPlan, as_of: date | None,
                assume_absent: bool) -> pa.Table:
    """The chunk's fact table as the executors read it (``fact_table`` + codes)."""
    return encode_fallbacks(fact_table(patients, fact_job(plan, as_of, assume_absent)), plan)


def _coded(column: pa.ChunkedArray, words: pa.Array) -> pa.ChunkedArray:
    """Integer codes -> a dictionary array over ``words`` (nothing copied)."""
    return pa.chunked_array(
        [pa.DictionaryArray.from_arrays(arr.cast(pa.int32()), words) for arr in column.chunks],
        type=_WORDS)


def _coded_lists(column: pa.ChunkedArray, words: pa.Array) -> pa.ChunkedArray:
    """Lists of integer codes -> lists of dictionary codes over ``words``."""
    chunks = []
    for arr in column.chunks:
        values = pa.DictionaryArray.from_arrays(arr.values.cast(pa.int32()), words)
        chunks.append(pa.ListArray.from_arrays(arr.offsets, values))
    return pa.chunked_array(chunks, type=pa.list_(_WORDS))


class Finisher:
    """Executor output -> the results batch: trial ids, verdicts, scores, statuses
    and to-confirm texts looked up from the integer codes the query computes."""

    def __init__(self, plan: ScreenPlan) -> None:
        self.plan = plan
        self.trial_ids = pa.array([tp.trial_id for tp in plan.trials], pa.string())
        _, flat = score_offsets(plan)
        self.scores = pa.array(flat, pa.float64())
        self.verdicts = pa.array(VERDICTS, pa.string())
        self.statuses = pa.array(STATUSES, pa.string())

    def __call__(self, raw: pa.Table) -> pa.Table:
        texts = pa.array(list(self.plan.texts), pa.string())  # codes in insertion order
        return pa.Table.from_arrays(
            [raw.column("patient_id").cast(pa.string()),
             _coded(raw.column("trial_index"), self.trial_ids),
             _coded(raw.column("verdict"), self.verdicts),
             pc.take(self.scores, raw.column("score_index")),
             _coded_lists(raw.column("statuses"), self.statuses),
             _coded_lists(raw.column("to_confirm"), texts)],
            schema=BATCH_SCHEMA)
