"""The screen plan: which criteria run as SQL, which fall back, and the query.

For every screened trial and criterion (in the per-patient result's order) the
plan says how its status is produced:

* ``static``: decided without patient data, exactly as the evaluator decides
  it (no logic: "imposes no requirement" or review; nothing left after
  dropping review parts: review);
* ``sql``: its relaxed logic (``matcher.evaluate.relaxed``) is translated;
* ``fallback``: some atom has no SQL translation; the per-patient evaluator
  computes this criterion and its status joins the table as a column.

Distinct atoms are translated once and computed once per patient (stage
``atoms``); each trial's statuses and to-confirm list are then SQL over those
atom columns.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from criteria import ir
from criteria.sql import columns as col
from criteria.sql.dialects import Dialect
from criteria.sql.generate import Generator, HistoryCounts, Untranslatable
from criteria.trial import CompiledTrial
from matcher.cohort.tables import TableSpec
from matcher.cohort.verdicts import STATUS_CODES, score_table, verdict_sql
from matcher.evaluate import relaxed
from matcher.explain import _labname, requirement


@dataclass
class CriterionPlan:
    criterion: ir.Criterion
    executor: str  # "sql" | "fallback"
    static_status: str | None = None  # set when decided without patient data
    static_confirm: tuple[str, ...] = ()  # to-confirm of a static criterion
    logic: ir.Node | None = None  # relaxed logic (sql)
    leaves: tuple[ir.Node, ...] = ()  # its atoms in order, repeats kept (sql)
    review_texts: tuple[str, ...] = ()  # "Review: ..." items, in order (sql)
    why: str = ""  # why it falls back
    fallback_index: int = -1


@dataclass
class TrialPlan:
    trial: CompiledTrial
    criteria: list[CriterionPlan]

    @property
    def trial_id(self) -> str:
        return self.trial.trial.trial_id


def criterion_hash(criterion: ir.Criterion) -> str:
    """Content hash of a compiled criterion: id, kind, text, logic, review parts,
    curation; a change in any of them changes every result it can produce."""
    payload = json.dumps(criterion.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def trial_hash(trial: CompiledTrial) -> str:
    joined = "\n".join(criterion_hash(c) for c in trial.criteria)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def _plan_criterion(c: ir.Criterion, gen: Generator) -> CriterionPlan:
    review = list(c.review)
    if c.logic is None and c.compiled == "full":
        return CriterionPlan(c, "sql", static_status="pass")
    if c.logic is None:
        text = "; ".join(review) if review else c.text
        return CriterionPlan(c, "sql", static_status="review", static_confirm=(f"Review: {text}",))
    logic, dropped = relaxed(c.kind, c.logic)
    review.extend(dropped)
    if logic is None:
        return CriterionPlan(c, "sql", static_status="review",
                             static_confirm=tuple(f"Review: {t}" for t in review))
    parts = ir.atoms(logic)
    leaves = tuple(a for a in parts if not isinstance(a, ir.Review))
    review.extend(a.text for a in parts if isinstance(a, ir.Review))
    for atom in leaves:
        try:
            gen.atom(atom)
        except Untranslatable as err:
            return CriterionPlan(c, "fallback", why=str(err))
    return CriterionPlan(c, "sql", logic=logic, leaves=leaves,
                         review_texts=tuple(f"Review: {t}" for t in review))


@dataclass
class ScreenPlan:
    trials: list[TrialPlan]
    atoms: dict[ir.Node, int] = field(default_factory=dict)
    fallbacks: list[tuple[TrialPlan, CriterionPlan]] = field(default_factory=list)
    spec: TableSpec = field(default_factory=TableSpec)
    # to-confirm texts by code: the query handles integers, the results show texts
    texts: dict[str, int] = field(default_factory=dict)

    def code(self, text: str) -> int:
        return self.texts.setdefault(text, len(self.texts))

    def fallback_list(self) -> list[dict[str, str]]:
        return [{"trial_id": t.trial_id, "criterion_id": c.criterion.id,
                 "text": c.criterion.text, "why": c.why} for t, c in self.fallbacks]


def build_plan(trials: list[CompiledTrial], dialect: Dialect) -> ScreenPlan:
    gen = Generator(dialect)
    plan = ScreenPlan(trials=[])
    labs: set[str] = set()
    markers: set[str] = set()
    findings: set[str] = set()
    for trial in trials:
        tp = TrialPlan(trial, [_plan_criterion(c, gen) for c in trial.criteria])
        plan.trials.append(tp)
        for cp in tp.criteria:
            if cp.executor == "fallback":
                cp.fallback_index = len(plan.fallbacks)
                plan.fallbacks.append((tp, cp))
            for atom in cp.leaves:
                plan.atoms.setdefault(atom, len(plan.atoms))
                match atom:
                    case ir.LabAtom(analyte=a) | ir.LabResultAtom(analyte=a):
                        labs.add(a)
                    case ir.BiomarkerAtom(marker=m):
                        markers.add(m)
                    case ir.FindingAtom(key=k) if k in col.FINDING_TYPES:
                        findings.add(k)
    plan.spec = TableSpec(tuple(sorted(labs)), tuple(sorted(markers)), tuple(sorted(findings)))
    return plan


# ---------------------------------------------------------------- to confirm

@dataclass(frozen=True)
class Confirm:
    """``matcher.explain.to_confirm_for`` as SQL: what to collect for an unknown
    atom.  ``texts``: every text it can give (to deduplicate the trial's list
    without looking at values); a single text needs no column."""

    sql: str
    texts: tuple[str, ...]


def _confirm(atom: ir.Node, gen: Generator, plan: ScreenPlan) -> Confirm:
    req = requirement(atom)

    def lit(text: str) -> str:
        return str(plan.code(text))

    if isinstance(atom, ir.LabAtom | ir.LabResultAtom):
        lab = col.lab(atom.analyte)
        name = _labname(atom.analyte)
        cases = [(f"{lab} IS NULL", f"Obtain {req}"),
                 (f"COALESCE({lab}.problem, FALSE)",
                  f"Re-enter {name} in a convertible unit ({req})")]
        if atom.within_days is not None:
            cases.append((f"NOT COALESCE({lab}.days_ago <= {int(atom.within_days)}, FALSE)",
                          f"Repeat {name}: a result within {atom.within_days} days"
                          f" is needed ({req})"))
        sql = ("CASE " + " ".join(f"WHEN {w} THEN {lit(t)}" for w, t in cases)
               + f" ELSE {lit(f'Check {req}')} END")
        return Confirm(sql, tuple(t for _, t in cases) + (f"Check {req}",))
    if isinstance(atom, ir.TreatmentAtom | ir.ConditionAtom):
        if isinstance(atom, ir.TreatmentAtom):
            hits = []
            if atom.drugs:
                hits.append(f"COALESCE(t.drug IN {gen.in_list(atom.drugs)}, FALSE)")
            if atom.classes:
                hits.append(gen.any_in(atom.classes, "t.classes"))
            if atom.kinds:
                hits.append(f"COALESCE(t.kind IN {gen.in_list(atom.kinds)}, FALSE)")
            if not hits:
                return Confirm(lit(f"Confirm history: {req}"), (f"Confirm history: {req}",))
            recorded = gen.some(col.TREATMENTS, "t", "(" + " OR ".join(hits) + ")")
        else:
            recorded = gen.some(col.CONDITIONS, "c", gen.any_in(atom.concepts, "c.concepts"))
        texts = (f"Complete the record: {req}", f"Confirm history: {req}")
        return Confirm(f"CASE WHEN {recorded} THEN {lit(texts[0])} "
                       f"ELSE {lit(texts[1])} END", texts)
    if isinstance(atom, ir.ParticipationAtom):
        text = f"Complete the record: {req}"
    else:
        text = f"Obtain {req}"
    return Confirm(lit(text), (text,))


# ---------------------------------------------------------------- the query

def fallback_status_column(index: int) -> str:
    return f"fb{index}_status"


def fallback_confirm_column(index: int) -> str:
    return f"fb{index}_confirm"


def atoms_query(plan: ScreenPlan, dialect: Dialect, source: str,
                aggregate_histories: bool = True) -> str:
    """Stage 1: every distinct atom's value (and variable to-confirm text) per patient.
    With ``aggregate_histories``, history tests read per-patient counts, one
    aggregation per history (``HistoryCounts``), joined to the patients;
    without, each is a list filter on the patient's row (same meaning)."""
    gen = HistoryCounts(dialect) if aggregate_histories else Generator(dialect)
    cols = [col.PATIENT_ID]
    for atom, k in plan.atoms.items():
        cols.append(f"{gen.atom_value(atom)} AS a{k}")
        confirm = _confirm(atom, gen, plan)
        if len(confirm.texts) > 1:
            cols.append(f"{confirm.sql} AS c{k}")
    for _, cp in plan.fallbacks:
        cols.append(fallback_status_column(cp.fallback_index))
        cols.append(fallback_confirm_column(cp.fallback_index))
    joined = source
    if isinstance(gen, HistoryCounts):
        for sub, key in gen.history_tables(source):
            joined += f" LEFT JOIN ({sub}) ON {col.PATIENT_ID} = {key}"
    return f"SELECT {', '.join(cols)} FROM {joined}"


@dataclass(frozen=True)
class _Candidate:
    """One possible item of a trial's to-confirm list: ``sql`` is the text or NULL;
    ``always`` when it is a constant that is always listed."""

    sql: str
    texts: frozenset[str]
    always: bool


def _candidates(tp: TrialPlan, plan: ScreenPlan, gen: Generator) -> list[_Candidate]:
    out: list[_Candidate] = []
    for i, cp in enumerate(tp.criteria):
        if cp.static_status is not None:
            out.extend(_Candidate(str(plan.code(t)), frozenset([t]), True)
                       for t in cp.static_confirm)
            continue
        for atom in cp.leaves:
            k = plan.atoms[atom]
            confirm = _confirm(atom, gen, plan)
            text = confirm.sql if len(confirm.texts) == 1 else f"c{k}"
            undecided = f"{STATUS_CODES['unknown']}, {STATUS_CODES['review']}"
            out.append(_Candidate(f"CASE WHEN s{i} IN ({undecided}) AND a{k} IS NULL "
                                  f"THEN {text} END", frozenset(confirm.texts), False))
        out.extend(_Candidate(str(plan.code(t)), frozenset([t]), True) for t in cp.review_texts)
    return out


def _first_occurrences(cands: list[_Candidate]) -> list[str]:
    """The trial's to-confirm items as SQL (NULL: not listed), each listed only at
    its first occurrence.  Which earlier items can repeat a later one is known
    from their possible texts, so no list is searched at run time."""
    kept: list[str] = []
    for j, cj in enumerate(cands):
        earlier = [(i, ci) for i, ci in enumerate(cands[:j]) if ci.texts & cj.texts]
        if cj.always and any(ci.always for _, ci in earlier):
            continue  # the same constant is already listed
        if not cj.always and any(ci.always and cj.texts <= ci.texts for _, ci in earlier):
            continue  # whatever it says is already listed
        clashes = [f"q{i} = q{j}" for i, _ in earlier]
        if clashes:
            kept.append(f"CASE WHEN NOT COALESCE({' OR '.join(clashes)}, FALSE) THEN q{j} END")
        else:
            kept.append(f"q{j}")
    return kept


def _trial_query(index: int, tp: TrialPlan, plan: ScreenPlan, gen: Generator,
                 source: str, score_offset: int) -> str:
    d = gen.d

    def ref(atom: ir.Node) -> str:
        return f"a{plan.atoms[atom]}"

    status_cols: list[str] = []
    statuses: list[str] = []
    constant = Counter[str]()
    for i, cp in enumerate(tp.criteria):
        if cp.executor == "fallback":
            statuses.append(fallback_status_column(cp.fallback_index))
        elif cp.static_status is not None:
            statuses.append(str(STATUS_CODES[cp.static_status]))
            constant[cp.static_status] += 1
        else:
            assert cp.logic is not None
            status_cols.append(f"{gen.status(cp.criterion.kind, cp.logic, ref, STATUS_CODES)}"
                               f" AS s{i}")
            statuses.append(f"s{i}")
    variable = [s for s in statuses if not s.isdigit()]

    def count(status: str) -> str:
        terms = [f"CAST({s} = {STATUS_CODES[status]} AS INT)" for s in variable]
        return "(" + " + ".join([str(constant[status]), *terms]) + ")"

    # The counts once per row, in their own layer: the verdict and the score's
    # index read them several times (the optimizer, off, would not share them).
    counts = [f"{count(s)} AS n_{s}" for s in STATUS_CODES]
    verdict, score_index = verdict_sql(lambda s: f"n_{s}", len(tp.criteria), score_offset)
    # Only the columns this trial reads (the atoms table has one per atom of every
    # trial: carrying them all through each trial's query costs more than the work).
    used = [col.PATIENT_ID]
    for cp in tp.criteria:
        if cp.executor == "fallback":
            used += [fallback_status_column(cp.fallback_index),
                     fallback_confirm_column(cp.fallback_index)]
        for atom in cp.leaves:
            k = plan.atoms[atom]
            used.append(f"a{k}")
            if len(_confirm(atom, gen, plan).texts) > 1:
                used.append(f"c{k}")
    used = list(dict.fromkeys(used))
    inner = f"SELECT {', '.join(used + status_cols)} FROM {source}"
    if any(cp.executor == "fallback" for cp in tp.criteria):
        inner = f"SELECT *, {_generic_confirm(tp, plan, gen)} AS tc FROM ({inner})"
        confirm = d.first_occurrences("tc")
    else:
        cands = _candidates(tp, plan, gen)
        items = _first_occurrences(cands)
        confirm = d.filter(d.list_of(items) if items else d.empty_int_list(), "x",
                           "x IS NOT NULL")
        inner = (f"SELECT *{''.join(f', {c.sql} AS q{j}' for j, c in enumerate(cands))} "
                 f"FROM ({inner})")
    status_list = d.list_of(statuses) if statuses else d.empty_int_list()
    inner = f"SELECT *, {', '.join(counts)} FROM ({inner})"
    return (f"SELECT {col.PATIENT_ID}, {index} AS trial_index, {verdict} AS verdict, "
            f"{score_index} AS score_index, {status_list} AS statuses, "
            f"{confirm} AS to_confirm FROM ({inner})")


def _generic_confirm(tp: TrialPlan, plan: ScreenPlan, gen: Generator) -> str:
    """A trial with fallback criteria: their to-confirm lists are known only at run
    time, so the items are listed in criterion order (the ``tc`` column) and
    deduplicated by searching the list (slower, same result)."""
    d = gen.d
    cands = iter(_candidates(tp, plan, gen))
    lists: list[str] = []
    for cp in tp.criteria:
        if cp.executor == "fallback":
            lists.append(fallback_confirm_column(cp.fallback_index))
            continue
        n = len(cp.static_confirm) if cp.static_status is not None else \
            len(cp.leaves) + len(cp.review_texts)
        items = [next(cands).sql for _ in range(n)]
        if items:
            lists.append(d.list_of(items))
    merged = d.concat(lists) if lists else d.empty_int_list()
    return d.filter(merged, "x", "x IS NOT NULL")


def score_offsets(plan: ScreenPlan) -> tuple[list[int], list[float]]:
    """Each trial's offset into the concatenated score tables, and the tables."""
    offsets, flat = [], []
    for tp in plan.trials:
        offsets.append(len(flat))
        flat.extend(score_table(len(tp.criteria)))
    return offsets, flat


def trial_queries(plan: ScreenPlan, dialect: Dialect, source: str) -> list[str]:
    """Stage 2, one query per trial: per patient, the verdict code, an index into
    the score tables (``score_offsets``), the status codes (trial_criteria order)
    and the to-confirm codes (``plan.texts``)."""
    gen = Generator(dialect)
    offsets, _ = score_offsets(plan)
    return [_trial_query(i, tp, plan, gen, source, offsets[i])
            for i, tp in enumerate(plan.trials)]


def results_query(plan: ScreenPlan, dialect: Dialect, source: str) -> str:
    """Stage 2 as one query (every trial's rows)."""
    return "\nUNION ALL\n".join(trial_queries(plan, dialect, source))
