"""Curated overrides: a curator replaces, adds or sends to review a criterion's rule.

Overrides live in reviewable YAML files, one file per trial::

    format: trialmatch.overrides/1
    trial_id: NCT06935188
    overrides:
      - action: replace                        # replace | review | add
        criterion: "NCT06935188#i-c516abe5b3"  # stable id, from `trialmatch compile --format json`
        text: "ECOG score of 0 or 1."          # the criterion text the curator reviewed
        logic: {family: performance_status, scale: ECOG, op: "<=", value: 1}
        curator: J. Smith
        date: 2026-11-20
        note: why the compiler's rule was wrong
      - action: review                         # a person decides, whatever the compiler read
        criterion: "NCT06935188#i-b021c02d5a"
        text: "Expected survival of ≥ 12 weeks."
        curator: J. Smith
        date: 2026-11-20
        note: investigator's estimate
      - action: add                            # a criterion the text does not state
        kind: exclusion
        text: "Prior CDK4/6 inhibitor"
        logic: {family: treatment, classes: [cdk4-6-inhibitor]}
        curator: J. Smith
        date: 2026-11-20
        note: protocol amendment 2, section 4.2

Fields of an override:

* ``action``: ``replace`` (the curated ``logic`` becomes the rule), ``review``
  (the criterion goes to a person: no ``logic``), ``add`` (a new criterion of
  ``kind`` with ``text`` and ``logic``).  Nothing is ever dropped silently: a
  criterion a curator finds meaningless is sent to review, not deleted.
* ``criterion`` (replace, review): the criterion's stable id.  Ids are the trial
  id, the kind and a digest of the normalized text (``criteria.compiler.criterion_id``),
  so they survive recompiles as long as the text does not change.
* ``text``: for replace and review the criterion text as the curator read it;
  for add the text of the added criterion.
* ``logic``: the criterion representation (``criteria.ir.Node``) written as
  YAML.  An exclusion's logic states the excluding condition, as the compiler's
  does.  ``{family: review, text: ...}`` leaves are allowed: the criterion is then
  ``partial`` and follows the usual partly-compiled semantics.
* ``family`` (optional): the criterion's main family; by default the first atom's.
* ``curator`` and ``date`` (required), ``note`` (optional): the audit trail.

Staleness.  An override whose criterion id is no longer in the compiled trial
(its text changed, so its digest did) or whose ``text`` differs from the current
criterion text (whitespace aside) is *stale*: it is not applied.  The criterion
keeps the compiler's rule and, when it still exists, carries
``curation.status = "stale"``; every stale override is listed by
``trialmatch compile`` (``summary.stale_overrides`` in JSON), with the most
similar current criterion as a candidate when there is one.

Added criteria get the id ``<trial>#curated-<i|e>-<digest of the text>``, stable
under reordering of the file; their ``source`` is ``"curated"``.

Where overrides come from: ``--overrides PATH ...`` (files, or folders of
``*.yaml`` / ``*.yml``) on ``trialmatch compile`` and ``trialmatch match``, and,
for the bundled library only, the files in ``seeds/overrides/``.  A file given
with ``--overrides`` replaces the shipped file of the same trial.  Override
files for trials that are not loaded are ignored.  Bad files raise
``OverrideError`` (a ``TrialFileError``: the CLI exits 2 naming the file, the
override and the field path).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from criteria import ir
from criteria.rules import display_rule
from criteria.sources import TrialFileError, seeds_dir
from criteria.trial import CompiledTrial

FORMAT = "trialmatch.overrides/1"
SUFFIXES = (".yaml", ".yml")


class OverrideError(TrialFileError):
    """An override file that cannot be read or is invalid (exit 2 in the CLI)."""


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["replace", "review", "add"]
    criterion: str | None = None
    text: str = Field(min_length=1)
    kind: ir.Kind | None = None
    logic: ir.Node | None = None
    family: str | None = None
    curator: str = Field(min_length=1)
    date: dt.date
    note: str = ""

    @model_validator(mode="after")
    def _fields_of_action(self) -> Override:
        if self.action == "add":
            if self.criterion is not None:
                raise ValueError("criterion: not allowed for add (added criteria get their own id)")
            if self.kind is None:
                raise ValueError("kind: required for add (inclusion or exclusion)")
            if self.logic is None:
                raise ValueError("logic: required for add")
            return self
        if not self.criterion:
            raise ValueError(f"criterion: required for {self.action}")
        if self.kind is not None:
            raise ValueError(f"kind: not allowed for {self.action} (the criterion keeps its kind)")
        if self.action == "replace" and self.logic is None:
            raise ValueError("logic: required for replace (action: review sends it to a person)")
        if self.action == "review" and self.logic is not None:
            raise ValueError("logic: not allowed for review")
        return self


class OverrideFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["trialmatch.overrides/1"]
    trial_id: str = Field(min_length=1)
    overrides: list[Override] = []
    _path: str = PrivateAttr(default="")

    @property
    def path(self) -> str:
        return self._path


class StaleOverride(BaseModel):
    """An override that was not applied because its criterion's text changed."""

    model_config = ConfigDict(extra="forbid")

    file: str
    index: int
    criterion: str
    action: str
    curator: str
    date: str
    reason: str
    text: str  # the text the curator reviewed
    current_text: str | None = None  # the criterion's text now, when the id still exists
    candidate: str | None = None  # the most similar current criterion, when the id is gone
    candidate_text: str | None = None


class CuratedTrial(CompiledTrial):
    """A compiled trial with overrides applied; ``stale_overrides`` lists those
    not applied.  The list is not part of the compiled-trial file format."""

    stale_overrides: list[StaleOverride] = Field(default_factory=list, exclude=True)


# --------------------------------------------------------------------------- reading


_FAMILIES = frozenset(
    t.model_fields["family"].default
    for t in (ir.AgeAtom, ir.SexAtom, ir.PerformanceAtom, ir.LabAtom, ir.LabResultAtom,
              ir.BiomarkerAtom, ir.DiagnosisAtom, ir.FindingAtom, ir.TreatmentAtom,
              ir.ConditionAtom, ir.ParticipationAtom, ir.Review, ir.And, ir.Or, ir.Not)
)


def _loc(parts: tuple[Any, ...]) -> str:
    """``overrides[2].logic.items[0].op``: pydantic's location without the tags
    of the discriminated union (``logic.and.items.0.lab.op``)."""
    out = ""
    prev: Any = None
    for i, part in enumerate(parts):
        after_node = prev in ("logic", "item") or (
            isinstance(prev, int) and i >= 2 and parts[i - 2] == "items")
        if isinstance(part, str) and part in _FAMILIES and after_node:
            prev = "<tag>"
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
        prev = part
    return out


def _first_error(err: ValidationError) -> str:
    e = err.errors(include_url=False)[0]
    loc = _loc(tuple(e["loc"]))
    msg = e["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
        field = re.match(r"(\w+): ", msg)
        if field:  # "logic: required for add" names its field: put it in the path
            loc, msg = f"{loc}.{field.group(1)}" if loc else field.group(1), msg[field.end():]
    extra = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{loc}: {msg}{extra}" if loc else f"{msg}{extra}"


def parse_overrides(data: Any, path: str) -> OverrideFile:
    """Validate a loaded YAML document as an override file."""
    if not isinstance(data, dict):
        raise OverrideError(path, f"not an override file: expected a mapping with format: {FORMAT}")
    if data.get("format") != FORMAT:
        raise OverrideError(path, f"format: expected {FORMAT}")
    try:
        doc = OverrideFile.model_validate(data)
    except ValidationError as err:
        raise OverrideError(path, _first_error(err)) from None
    prefix = doc.trial_id + "#"
    seen: dict[str, int] = {}
    for i, o in enumerate(doc.overrides):
        if o.criterion is not None and not o.criterion.startswith(prefix):
            raise OverrideError(path, f"overrides[{i}].criterion: not a criterion of "
                                      f"{doc.trial_id}")
        key = o.criterion or added_id(doc.trial_id, o.kind or "", o.text)
        if key in seen:
            raise OverrideError(path, f"overrides[{i}]: same criterion as overrides[{seen[key]}]")
        seen[key] = i
    doc._path = path
    return doc


def load_override_file(path: Path | str) -> OverrideFile:
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise OverrideError(name, f"cannot read ({type(err).__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or "invalid YAML"
        if mark is not None:
            raise OverrideError(name, f"invalid YAML: {problem}", mark.line + 1,
                                mark.column + 1) from None
        raise OverrideError(name, f"invalid YAML: {problem}") from None
    return parse_overrides(data, name)


def _files(paths: Iterable[Path | str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in SUFFIXES
                              and f.is_file() and not any(
                                  part.startswith(".") for part in f.relative_to(p).parts)))
        elif p.is_file():
            out.append(p)
        else:
            raise OverrideError(str(p), "no such file or directory")
    return out


def load_overrides(paths: Iterable[Path | str] | None) -> dict[str, OverrideFile]:
    """Override files by trial id; two files for one trial are an error."""
    out: dict[str, OverrideFile] = {}
    for f in _files(paths or []):
        doc = load_override_file(f)
        if doc.trial_id in out:
            raise OverrideError(str(f), f"trial_id: {doc.trial_id} has overrides in "
                                        f"{out[doc.trial_id].path} already")
        out[doc.trial_id] = doc
    return out


def shipped_overrides() -> dict[str, OverrideFile]:
    """The overrides shipped with the bundled library (``seeds/overrides/``)."""
    folder = seeds_dir() / "overrides"
    return load_overrides([folder]) if folder.is_dir() else {}


# --------------------------------------------------------------------------- applying


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip())


def added_id(trial_id: str, kind: str, text: str) -> str:
    digest = hashlib.sha1(f"{kind}|{_norm(text).lower()}".encode()).hexdigest()[:10]
    return f"{trial_id}#curated-{kind[:1]}-{digest}"


def _compiled_state(logic: ir.Node) -> ir.Compiled:
    return "partial" if any(isinstance(a, ir.Review) for a in ir.atoms(logic)) else "full"


def _family(logic: ir.Node) -> str:
    for a in ir.atoms(logic):
        if not isinstance(a, ir.Review):
            return a.family
    return "other"


def _curation(o: Override, path: str, status: Literal["active", "stale"]) -> ir.Curation:
    return ir.Curation(action=o.action, status=status, curator=o.curator,
                       date=o.date.isoformat(), note=o.note, source_text=o.text, origin=path)


def _note(o: Override) -> str:
    verb = "sent to review" if o.action == "review" else "rule curated"
    return f"{verb} by {o.curator} on {o.date.isoformat()}" + (f": {o.note}" if o.note else "")


def _candidate(criteria: list[ir.Criterion], o: Override, kind: str | None
               ) -> ir.Criterion | None:
    best, best_ratio = None, 0.6
    for c in criteria:
        if c.source == "curated" or (kind is not None and c.kind != kind):
            continue
        ratio = difflib.SequenceMatcher(None, _norm(o.text).lower(), _norm(c.text).lower()).ratio()
        if ratio > best_ratio:
            best, best_ratio = c, ratio
    return best


def _kind_of(criterion_id: str) -> str | None:
    m = re.search(r"#([ie])-", criterion_id)
    return {"i": "inclusion", "e": "exclusion"}[m.group(1)] if m else None


def apply_overrides(compiled: CompiledTrial, overrides: OverrideFile) -> CuratedTrial:
    """A new compiled trial with the file's overrides applied; stale ones are
    not applied and are listed in ``stale_overrides``."""
    criteria = list(compiled.criteria)
    position = {c.id: i for i, c in enumerate(criteria)}
    stale: list[StaleOverride] = list(getattr(compiled, "stale_overrides", []))
    path = overrides.path
    for index, o in enumerate(overrides.overrides):
        if o.action == "add":
            assert o.kind is not None and o.logic is not None
            crit = ir.Criterion(
                id=added_id(compiled.trial.trial_id, o.kind, o.text), kind=o.kind, text=o.text,
                source="curated", family=o.family or _family(o.logic),
                compiled=_compiled_state(o.logic), logic=o.logic, notes=(_note(o),),
                rule=display_rule(o.kind, o.logic), curation=_curation(o, path, "active"))
            if crit.id in position:
                criteria[position[crit.id]] = crit
            else:
                position[crit.id] = len(criteria)
                criteria.append(crit)
            continue
        assert o.criterion is not None
        info = dict(file=path, index=index, criterion=o.criterion, action=o.action,
                    curator=o.curator, date=o.date.isoformat(), text=o.text)
        pos = position.get(o.criterion)
        if pos is None:
            cand = _candidate(criteria, o, _kind_of(o.criterion))
            stale.append(StaleOverride(
                **info, reason="criterion not found: its text changed or it was removed",
                candidate=cand.id if cand else None, candidate_text=cand.text if cand else None))
            continue
        current = criteria[pos]
        if _norm(current.text) != _norm(o.text):
            criteria[pos] = current.model_copy(update={"curation": _curation(o, path, "stale")})
            stale.append(StaleOverride(
                **info, reason="the criterion's text changed since it was reviewed",
                current_text=current.text))
            continue
        notes = (_note(o),)  # the compiler's notes told how it read the text it no longer rules
        if o.action == "replace":
            assert o.logic is not None
            criteria[pos] = current.model_copy(update={
                "logic": o.logic, "compiled": _compiled_state(o.logic), "review": (),
                "rule": display_rule(current.kind, o.logic), "notes": notes,
                "family": o.family or _family(o.logic),
                "curation": _curation(o, path, "active")})
        else:  # review
            criteria[pos] = current.model_copy(update={
                "logic": None, "compiled": "none", "review": (current.text,), "rule": "",
                "notes": notes, "curation": _curation(o, path, "active")})
    return CuratedTrial(format=compiled.format, trial=compiled.trial, criteria=criteria,
                        compiler_version=compiled.compiler_version, stale_overrides=stale)


def apply_overrides_to_all(trials: list[CompiledTrial], overrides: Mapping[str, OverrideFile]
                           ) -> list[CompiledTrial]:
    """Each trial with the override file of its id applied (others unchanged)."""
    return [apply_overrides(t, overrides[t.trial.trial_id])
            if t.trial.trial_id in overrides else t for t in trials]


def stale_overrides(trial: CompiledTrial) -> list[StaleOverride]:
    return list(getattr(trial, "stale_overrides", []))
