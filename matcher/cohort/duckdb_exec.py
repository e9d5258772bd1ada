"""DuckDB executor: the plan's SQL over one chunk's Arrow table, in process.

The chunk is registered as a view (zero copy), the atoms stage is
materialized once as a temporary table (every trial reads it), and the
results come back as Arrow.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from criteria.sql.dialects import DUCKDB
from matcher.cohort.plan import ScreenPlan, atoms_query, results_query


class DuckDBExecutor:
    engine = "duckdb"

    def __init__(self, plan: ScreenPlan, threads: int | None = None,
                 memory_limit: str | None = None) -> None:
        self.con = duckdb.connect(config={"threads": threads} if threads else {})
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute("SET preserve_insertion_order = false")
        self.atoms_sql = atoms_query(plan, DUCKDB, "patients")
        self.results_sql = results_query(plan, DUCKDB, "atoms")

    def run(self, table: pa.Table) -> pa.Table:
        """patient_id, trial_index, verdict, score_index, statuses, to_confirm."""
        self.con.register("patients", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE atoms AS {self.atoms_sql}")
            return self.con.sql(self.results_sql).to_arrow_table()
        finally:
            self.con.unregister("patients")

    def close(self) -> None:
        self.con.close()
