"""SQL dialects: the few spellings DuckDB and Spark SQL do not share.

The generator (``criteria.sql.generate``) writes standard SQL for everything
else: CASE, COALESCE, IN, AND / OR / NOT (SQL's three-valued logic is Kleene
logic, with NULL as unknown), struct field access ``r.field``.  Only list
functions, lambdas, literals and identifier quoting differ; each dialect is a
small table of those differences, in the style of sqlglot's dialects.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    filter_fn: str  # keep the elements of a list for which a lambda is true
    length_fn: str  # number of elements of a list
    contains_fn: str  # list contains a value
    concat_fn: str  # concatenate lists
    list_open: str  # a list literal: list_open + items + list_close
    list_close: str
    string_list_type: str  # the SQL type of a list of strings (for an empty list)
    int_list_type: str
    identifier_quote: str
    backslash_escapes: bool  # string literals treat backslash as an escape
    lambda_style: str  # "duckdb": lambda x, i: body ; "spark": (x, i) -> body
    index_base: int  # the first index a two-argument filter lambda sees
    explode_fn: str  # one output row per list element (in a SELECT list)

    def string(self, value: str) -> str:
        """A string literal."""
        text = value.replace("\\", "\\\\") if self.backslash_escapes else value
        if self.backslash_escapes:
            return "'" + text.replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def ident(self, name: str) -> str:
        q = self.identifier_quote
        return q + name.replace(q, q + q) + q

    def lam(self, params: tuple[str, ...], body: str) -> str:
        if self.lambda_style == "duckdb":
            return f"lambda {', '.join(params)}: {body}"
        if len(params) == 1:  # Spark parses "(x) -> ..." as a syntax error
            return f"{params[0]} -> {body}"
        return f"({', '.join(params)}) -> {body}"

    def filter(self, values: str, var: str, predicate: str) -> str:
        return f"{self.filter_fn}({values}, {self.lam((var,), predicate)})"

    def length(self, values: str) -> str:
        return f"{self.length_fn}({values})"

    def contains(self, values: str, item: str) -> str:
        return f"{self.contains_fn}({values}, {item})"

    def list_of(self, items: list[str]) -> str:
        if not items:
            return f"CAST({self.list_open}{self.list_close} AS {self.string_list_type})"
        return self.list_open + ", ".join(items) + self.list_close

    def empty_int_list(self) -> str:
        return f"CAST({self.list_open}{self.list_close} AS {self.int_list_type})"

    def concat(self, lists: list[str]) -> str:
        if len(lists) == 1:
            return lists[0]
        return f"{self.concat_fn}({', '.join(lists)})"

    def before(self, values: str, index: str) -> str:
        """The elements of ``values`` before the one at ``index`` (a filter lambda's index)."""
        if self.index_base == 1:
            return f"{values}[1:{index} - 1]"
        return f"slice({values}, 1, {index})"

    def first_occurrences(self, values: str) -> str:
        """``values`` without NULLs and without repeats, in first-occurrence order.
        ``values`` must be a column name (it is read twice)."""
        keep = (f"NOT {self.contains(self.before(values, 'i'), 'x')}")
        return f"{self.filter_fn}({values}, {self.lam(('x', 'i'), keep)})"


DUCKDB = Dialect(
    name="duckdb", filter_fn="list_filter", length_fn="len", contains_fn="list_contains",
    concat_fn="list_concat", list_open="[", list_close="]", string_list_type="VARCHAR[]",
    int_list_type="INTEGER[]",
    identifier_quote='"', backslash_escapes=False, lambda_style="duckdb", index_base=1,
    explode_fn="UNNEST",
)

SPARK = Dialect(
    name="spark", filter_fn="filter", length_fn="size", contains_fn="array_contains",
    concat_fn="concat", list_open="array(", list_close=")", string_list_type="ARRAY<STRING>",
    int_list_type="ARRAY<INT>",
    identifier_quote="`", backslash_escapes=True, lambda_style="spark", index_base=0,
    explode_fn="explode",
)

DIALECTS = {"duckdb": DUCKDB, "spark": SPARK}
