"""Reading and normalizing the cohort in a second process, ahead of the engine.

Parsing patient documents, ``build_facts`` and laying the facts out as Arrow
take about as long as the SQL itself, and both are CPU-bound: in a thread they
would share one core with the engine's Python side through the GIL.  Here a
child process reads the cohort (``iter_cohort``, every check and message as in
process), builds each chunk's fact table and hands it over through a bounded
queue (``ahead`` finished chunks at most, so memory stays bounded by the chunk), while
the parent runs the engine on the previous chunk.

The child is spawned (never forked: the parent holds engine threads).  A
refused cohort is raised in the parent as the same ``CohortError`` with every
problem; any other failure as ``CohortReadFailed`` naming the error type.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import pickle
import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from matcher.cohort.chunk import FactJob, fact_table
from matcher.cohort.duckdb_exec import AtomsStage
from matcher.cohort.readers import CohortError
from matcher.patient import PatientDocument

Chunks = Callable[[str, int], Iterator[list[PatientDocument]]]
# (patients, fact table, seconds spent reading and normalizing them); with the
# job's ``atoms_sql``, the chunk's atoms table instead, and the seconds its query took
FactChunk = tuple[int, pa.Table, float, float]


class CohortReadFailed(RuntimeError):
    """The reading process failed for a reason other than bad input."""


def can_run_in_process(chunks: Chunks) -> bool:
    """Only a module-level function can be sent to the child."""
    try:
        pickle.dumps(chunks)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _produce(chunks: Chunks, cohort: str, chunk_size: int, job: FactJob,
             out: Any) -> None:
    # The cyclic garbage collector is off while a chunk is read, and run once
    # per chunk: reading allocates some hundred objects per patient, and the
    # collections they trigger each walk every live object (the chunk so far,
    # the vocabularies); measured, they were a third of the reading's time.
    # The long-lived objects (modules, vocabularies, caches warmed by the first
    # chunk) are frozen out of later collections.
    gc.disable()
    stage: AtomsStage | None = None
    try:
        if job.atoms_sql is not None:
            stage = AtomsStage(job.atoms_sql)
        started = time.perf_counter()
        for k, patients in enumerate(chunks(cohort, chunk_size)):
            table = fact_table(patients, job)
            n = len(patients)
            del patients
            read = time.perf_counter() - started
            atoms_seconds = 0.0
            if stage is not None:
                table = stage.run(table)
                atoms_seconds = time.perf_counter() - started - read
            out.put(("chunk", n, table, read, atoms_seconds))
            started = time.perf_counter()
            del table
            gc.collect()
            if k == 0:
                gc.freeze()
        out.put(("done",))
    except CohortError as err:
        out.put(("cohort", err.problems))
    except Exception as err:  # noqa: BLE001 - reported in the parent by type
        out.put(("failed", type(err).__name__))
    finally:
        if stage is not None:
            stage.close()
        gc.unfreeze()  # everything is collected as usual at exit
        gc.enable()


def fact_tables_in_process(chunks: Chunks, cohort: str, chunk_size: int, job: FactJob,
                           ahead: int = 1) -> Iterator[FactChunk]:
    """The cohort's fact tables (or atoms tables: ``job.atoms_sql``), chunk by
    chunk, built in a child process."""
    ctx = mp.get_context("spawn")
    handover = ctx.Queue(maxsize=ahead)
    child = ctx.Process(target=_produce, args=(chunks, cohort, chunk_size, job, handover),
                        name="trialmatch-cohort-reader", daemon=True)
    child.start()
    try:
        while True:
            try:
                item = handover.get(timeout=1.0)
            except queue.Empty:
                if not child.is_alive():
                    raise CohortReadFailed(f"the cohort reading process stopped "
                                           f"(exit code {child.exitcode})") from None
                continue
            if item[0] == "done":
                return
            if item[0] == "cohort":
                raise CohortError(item[1])
            if item[0] == "failed":
                raise CohortReadFailed(f"reading the cohort failed ({item[1]})")
            _, n, table, seconds, atoms_seconds = item
            yield n, table, seconds, atoms_seconds
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        handover.close()
