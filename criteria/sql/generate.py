"""Translate the criterion representation (``criteria.ir``) into SQL.

The semantics are exactly ``criteria.rules``': each atom is a pair of
two-valued SQL expressions, ``certain`` (surely true) and ``possible`` (not
surely false), built from the same rules (NULL-guarded comparisons,
existentials over history records, the assume-absent policy, records stating
a concept absent, staleness windows).  Both halves are never NULL (every
nullable leaf is wrapped in COALESCE), so the atom's value

    CASE WHEN certain THEN TRUE WHEN NOT possible THEN FALSE END

is TRUE, FALSE or NULL (unknown).  Above the atoms, SQL's own AND / OR / NOT
are Kleene logic, so a criterion's logic is the same tree over atom values.

Histories are lists of structs on the patient's row; "some record matches" is
``length(filter(records, r -> predicate)) > 0`` with a two-valued predicate, so
NULL never leaks out of a lambda (DuckDB's and Spark's filters both drop a
NULL predicate, Spark's ``exists`` would return NULL: not used).

An atom whose translation is not defined raises ``Untranslatable`` with the
reason; the screen lists such criteria and evaluates them per patient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from criteria import ir, stages
from criteria.rules import _self_and_ancestors, broader_concepts
from criteria.sql import columns as col
from criteria.sql.dialects import Dialect

_OPS = {">=": ">=", ">": ">", "<=": "<=", "<": "<", "==": "=", "!=": "<>"}


class Untranslatable(Exception):
    """An atom with no SQL translation; the message says why."""


@dataclass(frozen=True)
class Pair:
    certain: str  # two-valued: true when the node is surely true
    possible: str  # two-valued: false when the node is surely false


def _and(*parts: Pair) -> Pair:
    if len(parts) == 1:
        return parts[0]
    return Pair("(" + " AND ".join(p.certain for p in parts) + ")",
                "(" + " AND ".join(p.possible for p in parts) + ")")


def _or(*parts: Pair) -> Pair:
    if len(parts) == 1:
        return parts[0]
    return Pair("(" + " OR ".join(p.certain for p in parts) + ")",
                "(" + " OR ".join(p.possible for p in parts) + ")")


def _two(test: str) -> Pair:
    """A two-valued test (never NULL): certain and possible alike."""
    return Pair(test, test)


class Generator:
    """IR -> SQL text for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.d = dialect

    # ------------------------------------------------------------ literals
    def num(self, value: float) -> str:
        """A numeric literal: integers as integers, others as DOUBLE (never DECIMAL,
        which would compare differently from the evaluator's floats)."""
        value = float(value)
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return f"CAST({value!r} AS DOUBLE)"

    def lit(self, value: bool | float | str) -> str:
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, str):
            return self.d.string(value)
        return self.num(value)

    def in_list(self, values: tuple[str, ...]) -> str:
        return "(" + ", ".join(self.d.string(v) for v in values) + ")"

    # ------------------------------------------------------------ leaves
    def cmp(self, path: str, op: str, value: str) -> Pair:
        """A comparison on one nullable fact (``rules._cmp``)."""
        test = f"{path} {_OPS[op]} {value}"
        return Pair(f"COALESCE({test}, FALSE)", f"COALESCE({test}, TRUE)")

    def membership(self, path: str, values: tuple[str, ...]) -> Pair:
        test = f"{path} IN {self.in_list(values)}"
        return Pair(f"COALESCE({test}, FALSE)", f"COALESCE({test}, TRUE)")

    def interval(self, base: str, op: str, value: str) -> Pair:
        """``rules._interval``: a fact known to lie in [low, high]."""
        low, high = f"{base}.low", f"{base}.high"
        if op in (">=", ">"):
            sure, maybe = f"{low} {op} {value}", f"{high} {op} {value}"
        elif op in ("<=", "<"):
            sure, maybe = f"{high} {op} {value}", f"{low} {op} {value}"
        elif op == "==":
            sure = f"({low} = {value} AND {high} = {value})"
            maybe = f"({low} <= {value} AND {high} >= {value})"
        else:
            sure = f"({value} < {low} OR {value} > {high})"
            maybe = f"NOT ({low} = {value} AND {high} = {value})"
        return Pair(f"COALESCE({sure}, FALSE)", f"COALESCE({maybe}, TRUE)")

    def recent(self, test: Pair, path: str, days: int | None) -> Pair:
        """``rules._recent``: stale or undated data decides nothing."""
        if days is None:
            return test
        fresh = f"COALESCE({path} <= {int(days)}, FALSE)"
        return Pair(f"({fresh} AND {test.certain})", f"(NOT {fresh} OR {test.possible})")

    def any_in(self, values: tuple[str, ...], path: str) -> str:
        """Two-valued: one of ``values`` is in the list at ``path`` (never NULL)."""
        return "(" + " OR ".join(self.d.contains(path, self.d.string(v)) for v in values) + ")"

    def some(self, collection: str, var: str, predicate: str) -> str:
        return f"({self.d.length(self.d.filter(collection, var, predicate))} > 0)"

    def count(self, collection: str, var: str, predicate: str) -> str:
        return self.d.length(self.d.filter(collection, var, predicate))

    # ------------------------------------------------------------ atoms
    def atom(self, node: ir.Node) -> Pair:  # noqa: C901 - one branch per atom family
        match node:
            case ir.AgeAtom(op=op, value=value):
                return self.cmp(col.AGE, op, self.num(value))
            case ir.SexAtom(allowed=allowed):
                if not allowed:
                    raise Untranslatable("sex atom allows no sex")
                return self.membership(col.SEX, allowed)
            case ir.PerformanceAtom(scale=scale, op=op, value=value, within_days=days):
                base = col.performance(scale)
                return self.recent(self.interval(base, op, self.num(value)),
                                   f"{base}.days_ago", days)
            case ir.LabAtom(analyte=a, op=op, value=value, relative_to=rel, within_days=days):
                field = {"uln": "x_uln", "lln": "x_lln", None: "value"}[rel]
                lab = col.lab(a)
                return self.recent(self.cmp(f"{lab}.{field}", op, self.num(value)),
                                   f"{lab}.days_ago", days)
            case ir.LabResultAtom(analyte=a, results=results, within_days=days):
                if not results:
                    raise Untranslatable("lab result atom lists no result")
                lab = col.lab(a)
                return self.recent(self.membership(f"{lab}.result", results),
                                   f"{lab}.days_ago", days)
            case ir.BiomarkerAtom():
                return self._biomarker(node)
            case ir.FindingAtom():
                return self._finding(node)
            case ir.DiagnosisAtom():
                return self._diagnosis(node)
            case ir.TreatmentAtom():
                return self._treatment(node)
            case ir.ConditionAtom():
                return self._condition(node)
            case ir.ParticipationAtom(within_days=days):
                p = col.PARTICIPATION_DAYS
                recent = f"COALESCE({p} <= {int(days)}, FALSE)"
                return Pair(recent,
                            f"(({p} IS NULL AND NOT {col.HISTORY_COMPLETE}) OR {recent})")
        raise Untranslatable(f"no SQL translation for {type(node).__name__}")

    def _biomarker(self, node: ir.BiomarkerAtom) -> Pair:
        marker = col.biomarker(node.marker)
        parts: list[Pair] = []
        if node.results:
            parts.append(self.membership(f"{marker}.result", node.results))
        if node.op is not None and node.value is not None:
            parts.append(self.cmp(f"{marker}.value", node.op, self.num(node.value)))
        if node.methods:
            # A result by another method is no result by this one: unknown, not fail.
            test = f"{marker}.method IN {self.in_list(node.methods)}"
            parts.append(Pair(f"COALESCE({test}, FALSE)", "TRUE"))
        if not parts:
            raise Untranslatable("biomarker atom states no result, value or method")
        return _and(*parts)

    def _finding(self, node: ir.FindingAtom) -> Pair:
        value = node.value
        declared = col.FINDING_TYPES.get(node.key)
        path = col.finding(node.key)
        if declared is None:
            # Not a findings{} key of the patient document: never recorded, so unknown.
            return Pair("FALSE", "TRUE")
        if isinstance(value, tuple):
            if declared is not str or not value:
                raise Untranslatable(f"finding {node.key}: a list of values for a "
                                     f"{declared.__name__} fact")
            return self.membership(path, value)
        wanted = bool if isinstance(value, bool) else str if isinstance(value, str) else float
        if wanted is not declared:
            # rule-engine compares across types in its own way (or raises): not ours to guess.
            raise Untranslatable(f"finding {node.key}: a {wanted.__name__} threshold for a "
                                 f"{declared.__name__} fact")
        return self.cmp(path, node.op, self.lit(value))

    def _diagnosis(self, node: ir.DiagnosisAtom) -> Pair:
        v = "d"
        facets: list[Pair] = []
        for values, known in ((node.histologies, "has_histology"), (node.sites, "has_site")):
            if values:
                hit = self.any_in(values, f"{v}.concepts")
                broader = broader_concepts(tuple(values))
                maybe = f" OR {self.any_in(broader, f'{v}.named')}" if broader else ""
                facets.append(Pair(hit, f"({hit} OR NOT {v}.{known}{maybe})"))
        if node.statuses:
            hit = self.any_in(node.statuses, f"{v}.statuses")
            facets.append(Pair(hit, f"({hit} OR {self.d.length(f'{v}.statuses')} = 0)"))
        if node.stages:
            # A record of group III might be the IIIB asked for (criteria.stages).
            hit = self.any_in(node.stages, f"{v}.stage_keys")
            maybe = stages.maybe_tokens(node.stages)
            unknown = f"{self.d.length(f'{v}.stage_keys')} = 0"
            if maybe:
                unknown = f"{self.any_in(maybe, f'{v}.stage_keys')} OR {unknown}"
            facets.append(Pair(hit, f"({hit} OR {unknown})"))
        if node.confirmed_by:
            facets.append(self.membership(f"{v}.confirmed_by", node.confirmed_by))
        if not facets:
            raise Untranslatable("diagnosis atom states no facet")
        body = _and(*facets)
        certain = self.some(col.DIAGNOSES, v, body.certain)
        # No diagnosis recorded at all: unknown, whatever the policy (it is no history).
        possible = (f"({self.some(col.DIAGNOSES, v, body.possible)} OR "
                    f"{self.d.length(col.DIAGNOSES)} = 0)")
        return Pair(certain, possible)

    def _exists(self, collection: str, var: str, match: str, facets: Pair | None,
                closed_by_record: bool, absent: str | None = None) -> Pair:
        """``rules._exists``: some matching record, with the incomplete-history rule."""
        cert = match if facets is None else f"({match} AND {facets.certain})"
        poss = match if facets is None else f"({match} AND {facets.possible})"
        open_world = [f"NOT {col.HISTORY_COMPLETE}"]
        if closed_by_record:
            open_world.append(f"NOT {self.some(collection, var, match)}")
        if absent:
            open_world.append(f"NOT {self.some(collection, var, absent)}")
        return Pair(self.some(collection, var, cert),
                    f"({self.some(collection, var, poss)} OR ({' AND '.join(open_world)}))")

    def _treatment(self, node: ir.TreatmentAtom) -> Pair:
        v = "t"
        selectors = []
        if node.drugs:
            selectors.append(f"COALESCE({v}.drug IN {self.in_list(node.drugs)}, FALSE)")
        if node.classes:
            selectors.append(self.any_in(node.classes, f"{v}.classes"))
        if node.kinds:
            selectors.append(f"COALESCE({v}.kind IN {self.in_list(node.kinds)}, FALSE)")
        match = "(" + " OR ".join(selectors) + ")" if selectors else "TRUE"
        facets: list[Pair] = []
        if node.min_cycles is not None and node.min_cycles > 1:
            facets.append(self.cmp(f"{v}.cycles", ">=", str(node.min_cycles)))
        if node.progression is not None:
            facets.append(self.cmp(f"{v}.progressed", "==", self.lit(node.progression)))
        if node.ended_days_before is not None:
            facets.append(_and(self.cmp(f"{v}.ongoing", "==", "FALSE"),
                               self.cmp(f"{v}.days_since_end", ">=",
                                        str(node.ended_days_before))))
        if node.within_days is not None:
            facets.append(self.cmp(f"{v}.days_since_last", "<=", str(node.within_days)))
        if node.ongoing is not None:
            facets.append(self.cmp(f"{v}.ongoing", "==", self.lit(node.ongoing)))
        if node.settings:
            facets.append(self.membership(f"{v}.setting", node.settings))
        timed = node.within_days is not None or node.ongoing is not None
        if node.min_lines is not None:
            # At least N matching records: each recorded line counts once.
            enough = f"({self.count(col.TREATMENTS, v, match)} >= {int(node.min_lines)})"
            return Pair(enough, f"({enough} OR NOT {col.HISTORY_COMPLETE})")
        return self._exists(col.TREATMENTS, v, match, _and(*facets) if facets else None,
                            closed_by_record=not timed)

    def _condition(self, node: ir.ConditionAtom) -> Pair:
        v = "c"
        if not node.concepts:
            raise Untranslatable("condition atom names no concept")
        # The evaluator reads only the records naming one of the atom's concepts
        # (matcher.evaluate._project): every clause below is within those.
        concept = self.any_in(node.concepts, f"{v}.concepts")
        match = f"({concept} AND {v}.status <> 'absent')"
        if node.excluding:
            match = (f"({concept} AND NOT {self.any_in(node.excluding, f'{v}.concepts')} "
                     f"AND {v}.status <> 'absent')")
        facets: list[Pair] = []
        if node.active_only:
            facets.append(self.cmp(f"{v}.status", "==", "'active'"))
        if node.within_days is not None:
            facets.append(self.cmp(f"{v}.days_ago", "<=", str(node.within_days)))
        if node.uncontrolled is not None:
            facets.append(self.cmp(f"{v}.controlled", "==", self.lit(not node.uncontrolled)))
        if node.min_grade is not None:
            facets.append(self.cmp(f"{v}.grade", ">=", str(node.min_grade)))
        if node.min_class is not None:
            facets.append(self.cmp(f"{v}.nyha_class", ">=", str(node.min_class)))
        # A record stating a concept absent rules out that concept and everything
        # under it, never the concepts above it (rules._condition).
        named = self.any_in(_self_and_ancestors(node.concepts), f"{v}.named")
        absent = f"({concept} AND {named} AND {v}.status = 'absent')"
        return self._exists(col.CONDITIONS, v, match, _and(*facets) if facets else None,
                            closed_by_record=node.within_days is None, absent=absent)

    def atom_value(self, node: ir.Node) -> str:
        """TRUE, FALSE, or NULL for unknown."""
        pair = self.atom(node)
        return f"CASE WHEN {pair.certain} THEN TRUE WHEN NOT {pair.possible} THEN FALSE END"

    # ------------------------------------------------------------ criteria
    def kleene(self, node: ir.Node, atom_ref: Callable[[ir.Node], str],
               review_as: bool) -> str:
        """A logic tree over atom values (``matcher.evaluate.kleene``): SQL's AND, OR
        and NOT are Kleene logic; a review leaf counts as ``review_as``."""
        if isinstance(node, ir.And):
            return "(" + " AND ".join(self.kleene(i, atom_ref, review_as)
                                      for i in node.items) + ")"
        if isinstance(node, ir.Or):
            return "(" + " OR ".join(self.kleene(i, atom_ref, review_as)
                                     for i in node.items) + ")"
        if isinstance(node, ir.Not):
            # a review leaf under NOT takes the opposite value (see matcher.evaluate)
            return f"(NOT {self.kleene(node.item, atom_ref, not review_as)})"
        if isinstance(node, ir.Review):
            return "TRUE" if review_as else "FALSE"
        return atom_ref(node)

    def status(self, kind: str, logic: ir.Node, atom_ref: Callable[[ir.Node], str],
               labels: dict[str, int] | None = None) -> str:
        """The criterion's status ('pass' | 'fail' | 'unknown' | 'review', or their
        ``labels``) for an already relaxed logic (``matcher.evaluate.evaluate_criterion``):
        review leaves are read both ways; exclusions are the negation."""
        word = {s: (str(labels[s]) if labels else f"'{s}'")
                for s in ("pass", "fail", "unknown", "review")}
        has_review = any(isinstance(a, ir.Review) for a in ir.atoms(logic))
        if not has_review:
            value = self.kleene(logic, atom_ref, False)
            if kind == "exclusion":
                value = f"(NOT {value})"
            return (f"CASE WHEN {value} THEN {word['pass']} WHEN NOT {value} THEN "
                    f"{word['fail']} ELSE {word['unknown']} END")
        if kind == "exclusion":
            low = f"(NOT {self.kleene(logic, atom_ref, True)})"
            high = f"(NOT {self.kleene(logic, atom_ref, False)})"
        else:
            low = self.kleene(logic, atom_ref, False)
            high = self.kleene(logic, atom_ref, True)
        return (f"CASE WHEN {low} IS NULL OR {high} IS NULL THEN {word['unknown']} "
                f"WHEN {low} AND {high} THEN {word['pass']} "
                f"WHEN NOT {low} AND NOT {high} THEN {word['fail']} ELSE {word['review']} END")


class HistoryCounts(Generator):
    """The generator, with every "some record matches" / "N records match" read
    from a per-patient count column instead of a list lambda.

    Each distinct (history, predicate) becomes one aggregate over the exploded
    records, ``count_if(predicate)`` grouped by patient (``history_tables``), joined
    to the patients on their id; a patient without records has no group, hence
    the ``COALESCE(.., 0)``.  Same meaning as ``length(filter(..)) > 0``: both
    count only the records whose predicate is TRUE.  Filtering a list per atom
    allocates a list per patient per test; one aggregation per history
    evaluates every predicate over flat columns in one pass.
    """

    def __init__(self, dialect: Dialect) -> None:
        super().__init__(dialect)
        # (history column, record variable, predicate) -> count column
        self.counted: dict[tuple[str, str, str], str] = {}

    def _count_column(self, collection: str, var: str, predicate: str) -> str:
        key = (collection, var, predicate)
        name = self.counted.get(key)
        if name is None:
            name = self.counted[key] = f"h{len(self.counted)}"
        return f"COALESCE({name}, 0)"

    def some(self, collection: str, var: str, predicate: str) -> str:
        return f"({self._count_column(collection, var, predicate)} > 0)"

    def count(self, collection: str, var: str, predicate: str) -> str:
        return self._count_column(collection, var, predicate)

    def history_tables(self, source: str) -> list[tuple[str, str]]:
        """(subquery, its patient id column) per history some predicate reads."""
        by_history: dict[tuple[str, str], list[str]] = {}
        for (collection, var, predicate), name in self.counted.items():
            by_history.setdefault((collection, var), []).append(
                f"count_if({predicate}) AS {name}")
        out = []
        for i, ((collection, var), aggregates) in enumerate(by_history.items()):
            key = f"hp{i}"
            exploded = (f"SELECT {col.PATIENT_ID} AS {key}, "
                        f"{self.d.explode_fn}({collection}) AS {var} FROM {source}")
            out.append((f"SELECT {key}, {', '.join(aggregates)} FROM ({exploded}) "
                        f"GROUP BY {key}", key))
        return out
