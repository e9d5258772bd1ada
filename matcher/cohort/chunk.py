"""One chunk of patients through the plan: facts, table, executor, results batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from matcher.cohort.plan import (
    ScreenPlan,
    fallback_confirm_column,
    fallback_status_column,
    score_offsets,
)
from matcher.cohort.tables import facts_table
from matcher.cohort.verdicts import STATUS_CODES, STATUSES, VERDICTS
from matcher.evaluate import evaluate_criterion
from matcher.facts import Facts, build_facts
from matcher.patient import PatientDocument

RESULTS_SCHEMA = pa.schema([
    pa.field("patient_id", pa.string(), nullable=False),
    pa.field("trial_id", pa.string(), nullable=False),
    pa.field("verdict", pa.string(), nullable=False),
    pa.field("score", pa.float64(), nullable=False),
    pa.field("statuses", pa.list_(pa.string())),
    pa.field("to_confirm", pa.list_(pa.string())),
])


class Executor(Protocol):
    engine: str

    def run(self, table: pa.Table) -> pa.Table: ...

    def close(self) -> None: ...


def patient_facts(patients: Sequence[PatientDocument], as_of: date | None,
                  assume_absent: bool) -> list[Facts]:
    return [build_facts(p, p.effective_as_of(as_of), assume_absent) for p in patients]


def chunk_table(patients: Sequence[PatientDocument], plan: ScreenPlan, as_of: date | None,
                assume_absent: bool) -> pa.Table:
    """The chunk's fact table, with the fallback criteria's per-patient results
    as columns (their status and to-confirm, from ``matcher.evaluate``)."""
    facts = patient_facts(patients, as_of, assume_absent)
    table = facts_table([p.id for p in patients], facts, plan.spec)
    for _, cp in plan.fallbacks:
        results = [evaluate_criterion(cp.criterion, f) for f in facts]
        table = table.append_column(
            fallback_status_column(cp.fallback_index),
            pa.array([STATUS_CODES[r.status] for r in results], pa.int32()))
        table = table.append_column(
            fallback_confirm_column(cp.fallback_index),
            pa.array([[plan.code(t) for t in r.to_confirm] for r in results],
                     pa.list_(pa.int32())))
    return table


def _decode_lists(column: pa.ChunkedArray, words: pa.Array) -> pa.ChunkedArray:
    """Lists of integer codes -> lists of their words (offsets kept)."""
    chunks = []
    for arr in column.chunks:
        codes = arr.values.cast(pa.int32())
        chunks.append(pa.ListArray.from_arrays(arr.offsets, pc.take(words, codes)))
    return pa.chunked_array(chunks, type=pa.list_(pa.string()))


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
             pc.take(self.trial_ids, raw.column("trial_index")),
             pc.take(self.verdicts, raw.column("verdict")),
             pc.take(self.scores, raw.column("score_index")),
             _decode_lists(raw.column("statuses"), self.statuses),
             _decode_lists(raw.column("to_confirm"), texts)],
            schema=RESULTS_SCHEMA)
