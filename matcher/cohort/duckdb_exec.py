"""DuckDB executor: the plan's SQL over each chunk's Arrow table.

The queries are planned once per screen, not once per chunk: the chunk is
copied into a temporary ``patients`` table, the atoms stage (every distinct
atom of every trial, once per patient) is a prepared INSERT into ``atoms``,
and each trial's statuses come from its own prepared query over ``atoms``.
The optimizer is off: on these wide generated expressions its planning time
was measured above its gains (the SQL is written already pruned: each trial's
query reads only its own atom columns).

The two stages can run in two processes: ``AtomsStage`` runs the atoms
query in the process that reads the cohort (``matcher.cohort.producer``),
and ``DuckDBExecutor.run_atoms`` the trials' queries on its result.  The
atoms stage costs about as much as the trials' queries, and reading the
cohort less than either: split so, both cores of a laptop stay busy.  The
SQL text is generated once, in the screen's process (it holds the plan's
to-confirm codes), and sent to the reader.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from criteria.sql.dialects import DUCKDB
from matcher.cohort.plan import ScreenPlan, atoms_query, trial_queries

MEMORY_LIMIT = "1GB"


def _connect(threads: int | None, memory_limit: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": threads} if threads else {})
    # DuckDB's default (80% of RAM) lets its buffer pool keep every chunk's
    # freed pages: RSS then grows with the cohort.  The work of one chunk
    # fits well within this.
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    con.execute("PRAGMA disable_optimizer")
    return con


def _load_patients(con: duckdb.DuckDBPyConnection, table: pa.Table, create: bool) -> None:
    """A chunk's fact table into the temp table ``patients`` (created, shaped by
    the first chunk, when ``create``)."""
    con.register("chunk", table)
    try:
        if create:
            con.execute("CREATE TEMP TABLE patients AS SELECT * FROM chunk LIMIT 0")
        con.execute("DELETE FROM patients")
        con.execute("INSERT INTO patients SELECT * FROM chunk")
    finally:
        con.unregister("chunk")


class AtomsStage:
    """Stage 1 alone: a chunk's fact table -> its atoms table (Arrow)."""

    def __init__(self, atoms_sql: str, threads: int | None = 1,
                 memory_limit: str = MEMORY_LIMIT) -> None:
        self.con = _connect(threads, memory_limit)
        self.atoms_sql = atoms_sql
        self.prepared = False

    def run(self, table: pa.Table) -> pa.Table:
        _load_patients(self.con, table, create=not self.prepared)
        if not self.prepared:
            self.con.execute(f"PREPARE atoms_stage AS {self.atoms_sql}")
            self.prepared = True
        return self.con.sql("EXECUTE atoms_stage").to_arrow_table()

    def close(self) -> None:
        self.con.close()


class DuckDBExecutor:
    engine = "duckdb"

    def __init__(self, plan: ScreenPlan, threads: int | None = None,
                 memory_limit: str = MEMORY_LIMIT) -> None:
        self.con = _connect(threads, memory_limit)
        # Generated in this order (the to-confirm codes are assigned as they are met).
        self.atoms_sql = atoms_query(plan, DUCKDB, "patients")
        self.trial_sql = trial_queries(plan, DUCKDB, "atoms")
        self.prepared_atoms = False
        self.prepared_trials = False

    def single_threaded(self) -> None:
        """One DuckDB thread: the trials' queries each read one chunk, under
        DuckDB's unit of parallel work (a row group of 122,880 rows), so a
        second thread only waits; the other core reads the cohort."""
        self.con.execute("SET threads = 1")

    def _prepare_trials(self) -> None:
        for i, sql in enumerate(self.trial_sql):
            self.con.execute(f"PREPARE trial_{i} AS {sql}")
        self.prepared_trials = True

    def run(self, table: pa.Table) -> pa.Table:
        """patient_id, trial_index, verdict, score_index, statuses, to_confirm (codes)."""
        _load_patients(self.con, table, create=not self.prepared_atoms)
        if not self.prepared_atoms:
            # Tables shaped by the first chunk; statements planned once.
            if not self.prepared_trials:
                self.con.execute(f"CREATE TEMP TABLE atoms AS {self.atoms_sql} LIMIT 0")
            self.con.execute(f"PREPARE atoms_stage AS INSERT INTO atoms {self.atoms_sql}")
            self.prepared_atoms = True
        self.con.execute("DELETE FROM atoms")
        self.con.execute("EXECUTE atoms_stage")
        return self._trials()

    def run_atoms(self, atoms: pa.Table) -> pa.Table:
        """The same as ``run``, from the chunk's atoms table (``AtomsStage``)."""
        self.con.register("chunk_atoms", atoms)
        try:
            if not self.prepared_trials and not self.prepared_atoms:
                self.con.execute("CREATE TEMP TABLE atoms AS SELECT * FROM chunk_atoms LIMIT 0")
            self.con.execute("DELETE FROM atoms")
            self.con.execute("INSERT INTO atoms SELECT * FROM chunk_atoms")
        finally:
            self.con.unregister("chunk_atoms")
        return self._trials()

    def _trials(self) -> pa.Table:
        if not self.prepared_trials:
            self._prepare_trials()
        parts = [self.con.sql(f"EXECUTE trial_{i}").to_arrow_table()
                 for i in range(len(self.trial_sql))]
        if not parts:
            return pa.table({})
        return pa.concat_tables(parts, promote_options="permissive")

    def close(self) -> None:
        self.con.close()
