"""The compiled criteria as SQL (cohort screening): ``generate`` translates the
IR, ``dialects`` holds what DuckDB and Spark SQL spell differently, ``columns``
names the normalized table's columns."""
