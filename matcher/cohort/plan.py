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
from dataclasses import dataclass, field

from criteria import ir
from criteria.sql import columns as col
from criteria.sql.dialects import Dialect
from criteria.sql.generate import Generator, Untranslatable
from criteria.trial import CompiledTrial
from matcher.cohort.tables import TableSpec
from matcher.cohort.verdicts import score_table, verdict_sql
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

def _confirm_sql(atom: ir.Node, gen: Generator) -> str:
    """``matcher.explain.to_confirm_for`` as SQL: what to collect for an unknown atom."""
    d = gen.d
    req = requirement(atom)
    if isinstance(atom, ir.LabAtom | ir.LabResultAtom):
        lab = col.lab(atom.analyte)
        name = _labname(atom.analyte)
        parts = [f"WHEN {lab} IS NULL THEN {d.string(f'Obtain {req}')}",
                 f"WHEN COALESCE({lab}.problem, FALSE) THEN "
                 f"{d.string(f'Re-enter {name} in a convertible unit ({req})')}"]
        if atom.within_days is not None:
            repeat = (f"Repeat {name}: a result within {atom.within_days} days"
                      f" is needed ({req})")
            parts.append(f"WHEN NOT COALESCE({lab}.days_ago <= {int(atom.within_days)}, FALSE)"
                         f" THEN {d.string(repeat)}")
        return "CASE " + " ".join(parts) + f" ELSE {d.string(f'Check {req}')} END"
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
                return d.string(f"Confirm history: {req}")
            recorded = gen.some(col.TREATMENTS, "t", "(" + " OR ".join(hits) + ")")
        else:
            recorded = gen.some(col.CONDITIONS, "c", gen.any_in(atom.concepts, "c.concepts"))
        return (f"CASE WHEN {recorded} THEN {d.string(f'Complete the record: {req}')} "
                f"ELSE {d.string(f'Confirm history: {req}')} END")
    if isinstance(atom, ir.ParticipationAtom):
        return d.string(f"Complete the record: {req}")
    return d.string(f"Obtain {req}")


# ---------------------------------------------------------------- the query

def fallback_status_column(index: int) -> str:
    return f"fb{index}_status"


def fallback_confirm_column(index: int) -> str:
    return f"fb{index}_confirm"


def atoms_query(plan: ScreenPlan, dialect: Dialect, source: str) -> str:
    """Stage 1: every distinct atom's value (and to-confirm text) per patient."""
    gen = Generator(dialect)
    cols = [col.PATIENT_ID]
    for atom, k in plan.atoms.items():
        cols.append(f"{gen.atom_value(atom)} AS a{k}")
        cols.append(f"{_confirm_sql(atom, gen)} AS c{k}")
    for _, cp in plan.fallbacks:
        cols.append(fallback_status_column(cp.fallback_index))
        cols.append(fallback_confirm_column(cp.fallback_index))
    return f"SELECT {', '.join(cols)} FROM {source}"


def _trial_query(index: int, tp: TrialPlan, plan: ScreenPlan, gen: Generator,
                 source: str, score_offset: int) -> str:
    d = gen.d

    def ref(atom: ir.Node) -> str:
        return f"a{plan.atoms[atom]}"

    status_cols: list[str] = []
    statuses: list[str] = []
    pieces: list[str] = []  # lists to concatenate
    scalars: list[str] = []  # pending scalar candidates (NULL = not listed)

    def flush() -> None:
        if scalars:
            pieces.append(d.list_of(list(scalars)))
            scalars.clear()

    for i, cp in enumerate(tp.criteria):
        if cp.executor == "fallback":
            statuses.append(fallback_status_column(cp.fallback_index))
            flush()
            pieces.append(fallback_confirm_column(cp.fallback_index))
            continue
        if cp.static_status is not None:
            statuses.append(d.string(cp.static_status))
            scalars.extend(d.string(t) for t in cp.static_confirm)
            continue
        assert cp.logic is not None
        status_cols.append(f"{gen.status(cp.criterion.kind, cp.logic, ref)} AS s{i}")
        statuses.append(f"s{i}")
        for atom in cp.leaves:
            k = plan.atoms[atom]
            scalars.append(f"CASE WHEN s{i} IN ('unknown', 'review') AND a{k} IS NULL "
                           f"THEN c{k} END")
        scalars.extend(d.string(t) for t in cp.review_texts)
    flush()
    candidates = d.concat(pieces) if pieces else d.list_of([])
    inner = f"SELECT *{''.join(', ' + s for s in status_cols)} FROM {source}"
    listed = (f"SELECT {col.PATIENT_ID}, {d.list_of(statuses) if statuses else d.list_of([])}"
              f" AS statuses, {d.filter(candidates, 'x', 'x IS NOT NULL')} AS tc FROM ({inner})")

    def count(status: str) -> str:
        return d.length(d.filter("statuses", "x", f"x = '{status}'"))

    verdict, score_index = verdict_sql("statuses", count, len(tp.criteria), score_offset)
    return (f"SELECT {col.PATIENT_ID}, {index} AS trial_index, {verdict} AS verdict, "
            f"{score_index} AS score_index, statuses, "
            f"{d.first_occurrences('tc')} AS to_confirm FROM ({listed})")


def score_offsets(plan: ScreenPlan) -> tuple[list[int], list[float]]:
    """Each trial's offset into the concatenated score tables, and the tables."""
    offsets, flat = [], []
    for tp in plan.trials:
        offsets.append(len(flat))
        flat.extend(score_table(len(tp.criteria)))
    return offsets, flat


def results_query(plan: ScreenPlan, dialect: Dialect, source: str) -> str:
    """Stage 2: per patient x trial, the verdict, an index into the score tables
    (``score_offsets``), the statuses (trial_criteria order) and to-confirm."""
    gen = Generator(dialect)
    offsets, _ = score_offsets(plan)
    parts = [_trial_query(i, tp, plan, gen, source, offsets[i])
             for i, tp in enumerate(plan.trials)]
    return "\nUNION ALL\n".join(parts)
