"""DuckDB executor: the plan's SQL over each chunk's Arrow table, in process.

The queries are planned once per screen, not once per chunk: the chunk is
copied into a temporary ``patients`` table, the atoms stage (every distinct
atom of every trial, once per patient) is a prepared INSERT into ``atoms``,
and each trial's statuses come from its own prepared query over ``atoms``.
The optimizer is off: on these wide generated expressions its planning time
was measured above its gains (the SQL is written already pruned: each trial's
query reads only its own atom columns).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from criteria.sql.dialects import DUCKDB
from matcher.cohort.plan import ScreenPlan, atoms_query, trial_queries

MEMORY_LIMIT = "1GB"


class DuckDBExecutor:
    engine = "duckdb"

    def __init__(self, plan: ScreenPlan, threads: int | None = None,
                 memory_limit: str = MEMORY_LIMIT) -> None:
        self.con = duckdb.connect(config={"threads": threads} if threads else {})
        # DuckDB's default (80% of RAM) lets its buffer pool keep every chunk's
        # freed pages: RSS then grows with the cohort.  The work of one chunk
        # fits well within this.
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("PRAGMA disable_optimizer")
        self.atoms_sql = atoms_query(plan, DUCKDB, "patients")
        self.trial_sql = trial_queries(plan, DUCKDB, "atoms")
        self.prepared = False

    def _prepare(self) -> None:
        """Tables shaped by the first chunk; statements planned once."""
        self.con.execute("CREATE TEMP TABLE patients AS SELECT * FROM chunk LIMIT 0")
        self.con.execute(f"CREATE TEMP TABLE atoms AS {self.atoms_sql} LIMIT 0")
        self.con.execute(f"PREPARE atoms_stage AS INSERT INTO atoms {self.atoms_sql}")
        for i, sql in enumerate(self.trial_sql):
            self.con.execute(f"PREPARE trial_{i} AS {sql}")
        self.prepared = True

    def run(self, table: pa.Table) -> pa.Table:
        """patient_id, trial_index, verdict, score_index, statuses, to_confirm (codes)."""
        self.con.register("chunk", table)
        try:
            if not self.prepared:
                self._prepare()
            self.con.execute("DELETE FROM patients")
            self.con.execute("INSERT INTO patients SELECT * FROM chunk")
        finally:
            self.con.unregister("chunk")
        self.con.execute("DELETE FROM atoms")
        self.con.execute("EXECUTE atoms_stage")
        parts = [self.con.sql(f"EXECUTE trial_{i}").to_arrow_table()
                 for i in range(len(self.trial_sql))]
        if not parts:
            return pa.table({})
        return pa.concat_tables(parts, promote_options="permissive")

    def close(self) -> None:
        self.con.close()
