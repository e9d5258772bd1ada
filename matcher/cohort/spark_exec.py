"""Spark executor: the same SQL (Spark dialect) on Apache Spark.

Local mode by default, bound to 127.0.0.1 with the UI off and few shuffle
partitions; ``master`` takes a cluster URL (``spark://host:7077``).  A chunk's
Arrow table becomes a DataFrame, the atoms stage is cached (every trial reads
it), and the results come back to the driver as Arrow, so both engines write
the same result files through the same writer.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pyarrow as pa

from criteria.sql.dialects import SPARK
from matcher.cohort.plan import ScreenPlan, atoms_query, trial_queries

# Trials per Spark job: one UNION ALL of every trial makes a plan Catalyst takes
# minutes to analyse; groups keep each plan small.
TRIALS_PER_JOB = 12

_SESSION: Any = None


def spark_session(master: str | None = None) -> Any:
    """One Spark session per process (Spark allows one active context)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.appName("trialmatch-screen")
               .master(master or "local[2]")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.ansi.enabled", "false")
               .config("spark.driver.memory", "6g"))
    if master is None or master.startswith("local"):
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1"))
    _SESSION = builder.getOrCreate()
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


class SparkExecutor:
    engine = "spark"

    def __init__(self, plan: ScreenPlan, master: str | None = None) -> None:
        self.spark = spark_session(master)
        # List filters, not the aggregated history counts DuckDB uses: with 800
        # count_if aggregates joined back, Catalyst ran out of a 2 GB driver
        # heap canonicalizing the plan (300 patients x 105 trials).
        self.atoms_sql = atoms_query(plan, SPARK, "patients", aggregate_histories=False)
        queries = trial_queries(plan, SPARK, "atoms")
        self.results_sql = ["\nUNION ALL\n".join(queries[i:i + TRIALS_PER_JOB])
                            for i in range(0, len(queries), TRIALS_PER_JOB)]

    def run(self, table: pa.Table) -> pa.Table:
        """patient_id, trial_index, verdict, score_index, statuses, to_confirm."""
        frame = self.spark.createDataFrame(table)
        frame.createOrReplaceTempView("patients")
        atoms = self.spark.sql(self.atoms_sql).cache()
        atoms.createOrReplaceTempView("atoms")
        try:
            parts = [self.spark.sql(sql).toArrow() for sql in self.results_sql]
            return pa.concat_tables(parts, promote_options="permissive")
        finally:
            atoms.unpersist()
            self.spark.catalog.dropTempView("atoms")
            self.spark.catalog.dropTempView("patients")

    def close(self) -> None:
        """The session stays for the process (tests share it); ``stop_session`` ends it."""


def stop_session() -> None:
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None
