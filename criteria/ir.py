"""The one representation of a compiled eligibility criterion.

A criterion's logic is a small tree of typed predicates ("atoms") joined by
Kleene AND / OR / NOT.  Every executor works from this tree:

* the per-patient executor (``matcher.evaluate``) turns each atom into a pair
  of rule-engine expressions (see ``criteria.rules``);
* cohort executors translate the same atoms into SQL, where NULL already is
  the third truth value.

Atoms are declarative (which fact, which operator, which threshold in which
canonical unit); they never hold code, so each executor is a table of
translations, not a second implementation of the semantics.

An exclusion criterion's logic states the excluding condition as written
("history of tuberculosis"); its eligibility status is the Kleene negation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Op = Literal[">=", ">", "<=", "<", "==", "!="]
Kind = Literal["inclusion", "exclusion"]
Compiled = Literal["full", "partial", "none"]


class _Atom(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeAtom(_Atom):
    """Age in whole years at the evaluation date."""

    family: Literal["age"] = "age"
    op: Op
    value: float


class SexAtom(_Atom):
    family: Literal["sex"] = "sex"
    allowed: tuple[str, ...]  # subset of male, female


class PerformanceAtom(_Atom):
    """Performance status on one scale; the other scale is converted (data table)."""

    family: Literal["performance_status"] = "performance_status"
    scale: Literal["ECOG", "Karnofsky"]
    op: Op
    value: float
    within_days: int | None = None


class LabAtom(_Atom):
    """A numeric lab threshold.

    ``relative_to`` None: ``value`` is in the analyte's canonical unit
    (``unit`` repeats it for display).  ``relative_to`` "uln"/"lln": ``value``
    is a multiple of the patient's upper/lower limit of normal.
    """

    family: Literal["lab"] = "lab"
    analyte: str
    op: Op
    value: float
    unit: str | None = None
    relative_to: Literal["uln", "lln"] | None = None
    within_days: int | None = None
    source_value: str | None = None  # the threshold as written, e.g. "4.010^9/L"
    note: str | None = None  # how an odd threshold was read


class LabResultAtom(_Atom):
    """A qualitative lab result (serology, urine dipstick): true when the
    latest result is one of ``results``."""

    family: Literal["lab_result"] = "lab_result"
    analyte: str
    results: tuple[str, ...]
    within_days: int | None = None


class BiomarkerAtom(_Atom):
    """A tumour biomarker: categorical (``results``) or numeric (``op``/``value``)."""

    family: Literal["biomarker"] = "biomarker"
    marker: str
    results: tuple[str, ...] | None = None
    op: Op | None = None
    value: float | None = None
    methods: tuple[str, ...] | None = None  # required test methods (IHC, PCR, ...)


class DiagnosisAtom(_Atom):
    """The patient has a cancer diagnosis matching every given facet."""

    family: Literal["diagnosis"] = "diagnosis"
    histologies: tuple[str, ...] | None = None  # histology concept ids
    sites: tuple[str, ...] | None = None  # site concept ids
    statuses: tuple[str, ...] | None = None  # any of: recurrent, metastatic, ...
    # stage groups ("III") and substages ("IIIB") accepted (criteria.stages)
    stages: tuple[str, ...] | None = None
    confirmed_by: tuple[str, ...] | None = None  # histology, cytology


class FindingAtom(_Atom):
    """A clinical finding of ``findings{}``: boolean, numeric or categorical."""

    family: Literal["finding"] = "finding"
    key: str
    op: Op = "=="
    value: bool | float | str | tuple[str, ...]


class TreatmentAtom(_Atom):
    """The patient has (had) a treatment matching every given facet.

    Matching: ``drugs`` (generic names) or ``classes`` (drug class ids) or
    ``kinds`` (radiotherapy, surgery, transplant, ...).  Facets:
    ``min_cycles``, ``progression`` (progressed on it), ``ended_days_before``
    (finished at least N days before the evaluation date),
    ``within_days`` (given at any time in the last N days), ``ongoing``.
    """

    family: Literal["treatment"] = "treatment"
    drugs: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    min_cycles: int | None = None
    progression: bool | None = None
    ended_days_before: int | None = None
    within_days: int | None = None
    ongoing: bool | None = None
    settings: tuple[str, ...] | None = None
    min_lines: int | None = None  # at least N matching records (lines of therapy)


class ConditionAtom(_Atom):
    """The patient has (had) a condition of one of ``concepts``.

    ``active_only``: only an active condition counts (else history counts too).
    ``within_days``: onset or date within the last N days.
    ``uncontrolled``: only a condition recorded as not controlled counts.
    ``min_grade``: CTCAE grade at least N; ``min_class``: NYHA class at least N.
    ``excluding``: a record carrying any of these concepts does not count
    ("other malignancy except basal cell carcinoma of the skin").
    """

    family: Literal["condition"] = "condition"
    concepts: tuple[str, ...]
    excluding: tuple[str, ...] = ()
    active_only: bool = False
    within_days: int | None = None
    uncontrolled: bool | None = None
    min_grade: int | None = None
    min_class: int | None = None


class ParticipationAtom(_Atom):
    """Took part in another interventional trial within the last N days."""

    family: Literal["participation"] = "participation"
    within_days: int


Atom = Annotated[
    AgeAtom
    | SexAtom
    | PerformanceAtom
    | LabAtom
    | LabResultAtom
    | BiomarkerAtom
    | DiagnosisAtom
    | FindingAtom
    | TreatmentAtom
    | ConditionAtom
    | ParticipationAtom,
    Field(discriminator="family"),
]


class Review(BaseModel):
    """A part of the logic nobody could compile: a person decides it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    family: Literal["review"] = "review"
    text: str


class And(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    family: Literal["and"] = "and"
    items: tuple[Node, ...]


class Or(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    family: Literal["or"] = "or"
    items: tuple[Node, ...]


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    family: Literal["not"] = "not"
    item: Node


Node = Annotated[
    AgeAtom
    | SexAtom
    | PerformanceAtom
    | LabAtom
    | LabResultAtom
    | BiomarkerAtom
    | DiagnosisAtom
    | FindingAtom
    | TreatmentAtom
    | ConditionAtom
    | ParticipationAtom
    | Review
    | And
    | Or
    | Not,
    Field(discriminator="family"),
]

And.model_rebuild()
Or.model_rebuild()
Not.model_rebuild()


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: int
    end: int


class Curation(BaseModel):
    """A curator's override of a criterion (``criteria.overrides``).

    ``status`` "active": the curated rule is in force; "stale": the criterion's
    source text changed since ``source_text`` was reviewed, so the compiler's
    rule stands until a curator reviews the override again.
    """

    model_config = ConfigDict(extra="forbid")

    action: Literal["replace", "add", "review"]
    status: Literal["active", "stale"]
    curator: str
    date: str | None = None  # ISO date of the review
    note: str = ""
    source_text: str = ""  # the criterion text the curator reviewed
    origin: str = ""  # the override file


class Criterion(BaseModel):
    """One criterion as users see it: its source text and its rule."""

    model_config = ConfigDict(extra="forbid")

    id: str  # stable: trial id + kind + digest of the normalized text
    kind: Kind
    text: str  # a substring of the trial's eligibility text (or the structured field)
    span: Span | None = None  # where ``text`` sits in the eligibility text
    source: Literal["eligibility_text", "structured", "curated"] = "eligibility_text"
    family: str  # the main family: age, lab, treatment, ..., or "other"
    compiled: Compiled
    logic: Node | None = None  # None when nothing was compiled
    review: tuple[str, ...] = ()  # parts of the text left for a person
    notes: tuple[str, ...] = ()  # how the compiler read odd text
    rule: str = ""  # the rule as shown to users (rule-engine syntax)
    curation: Curation | None = None  # set when a curator's override applies (criteria.overrides)


def atoms(node: Node | None) -> list[Node]:
    """All atoms and review leaves of a logic tree, left to right."""
    if node is None:
        return []
    if isinstance(node, And | Or):
        out: list[Node] = []
        for item in node.items:
            out.extend(atoms(item))
        return out
    if isinstance(node, Not):
        return atoms(node.item)
    return [node]
