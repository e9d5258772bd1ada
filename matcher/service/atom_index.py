"""Every atom of a plan, indexed by what it reads, evaluated for a patient at once.

The plan's atoms are numbered so that the atoms evaluated together sit side by
side, and a patient's facts then fill whole stretches of a ``bytearray`` of
codes (``matcher.service.circuit``: fail 0, unknown 2, pass 3):

* lab thresholds: one stretch per (analyte, field, operator, window), sorted
  by threshold, so one ``bisect`` splits it into the atoms met and the atoms
  not met, written as two slices;
* diagnoses: one stretch read as a big integer, one byte per atom; each
  facet (histology, site, status, confirmation) of each diagnosis record is a
  few integer operations over masks built once;
* treatments: an inverted index from a record's drug, classes and kind to the
  atoms whose selector it matches, grouped by the atoms' facets, so each
  record's facets are computed once per group, not once per atom;
* the rest (ages, conditions, findings, ...): the native executor
  (``matcher.fast_eval``), atom by atom, only for the slots the patient fills.

Atoms whose slot the patient leaves empty keep their value on an empty patient
(``defaults``), computed once.  ``tests/test_service_plan.py`` holds every
code equal to ``matcher.fast_eval.atom_value`` (itself held equal to
rule-engine) on random facts built around every threshold.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from criteria import ir, stages
from criteria.rules import broader_concepts
from matcher.fast_eval import (
    absent_concepts,
    atom_value,
    compile_atom,
    condition_facets,
    treatment_facets,
)
from matcher.service.circuit import CODE_OF, FAIL, PASS, UNKNOWN

SlotKey = tuple[str, ...]


def slots(atom: ir.Node) -> list[SlotKey]:
    """The slots of the facts an atom reads.  A history atom reads only the
    records its selector can match (as ``matcher.evaluate._project`` hands them
    to the reference executor): with none of them, it sees an empty history."""
    match atom:
        case ir.AgeAtom():
            return [("age",)]
        case ir.SexAtom():
            return [("sex",)]
        case ir.PerformanceAtom():
            return [("performance",)]
        case ir.LabAtom(analyte=a) | ir.LabResultAtom(analyte=a):
            return [("labs", a)]
        case ir.BiomarkerAtom(marker=m):
            return [("biomarkers", m)]
        case ir.FindingAtom(key=k):
            return [("findings", k)]
        case ir.DiagnosisAtom():
            return [("diagnoses",)]
        case ir.TreatmentAtom(drugs=drugs, classes=classes, kinds=kinds):
            if not drugs and not classes and not kinds:
                return [("treatments", "*")]
            return ([("treatments", "drug", d) for d in drugs]
                    + [("treatments", "class", c) for c in classes]
                    + [("treatments", "kind", k) for k in kinds])
        case ir.ConditionAtom(concepts=concepts):
            return [("conditions", c) for c in concepts]
        case ir.ParticipationAtom():
            return [("participation",)]
    raise TypeError(f"no slot for {type(atom).__name__}")


def filled_slots(v: dict[str, Any]) -> set[SlotKey]:
    """The slots in which a patient's facts hold something."""
    out: set[SlotKey] = set()
    if v.get("age") is not None:
        out.add(("age",))
    if v.get("sex") is not None:
        out.add(("sex",))
    if any(x is not None for x in v["performance"].values()):
        out.add(("performance",))
    out.update(("labs", k) for k, x in v["labs"].items() if x is not None)
    out.update(("biomarkers", k) for k, x in v["biomarkers"].items() if x is not None)
    out.update(("findings", k) for k, x in v["findings"].items() if x is not None)
    if v["diagnoses"]:
        out.add(("diagnoses",))
    for t in v["treatments"]:
        out.add(("treatments", "*"))
        out.add(("treatments", "kind", t["kind"]))
        if t["drug"] is not None:
            out.add(("treatments", "drug", t["drug"]))
        out.update(("treatments", "class", c) for c in t["classes"])
    for c in v["conditions"]:
        out.update(("conditions", x) for x in c["concepts"])
    if v["participation"].get("days_ago") is not None:
        out.add(("participation",))
    return out


def empty_values(history_complete: bool) -> dict[str, Any]:
    """The facts of a patient with nothing recorded."""
    return {"history_complete": history_complete, "age": None, "sex": None,
            "performance": {"ecog": None, "karnofsky": None}, "labs": {}, "biomarkers": {},
            "diagnoses": [], "treatments": [], "conditions": [], "findings": {},
            "participation": {"days_ago": None}}


# ---------------------------------------------------------------------- labs

_FIELD = {"uln": "x_uln", "lln": "x_lln", None: "value"}


@dataclass
class _LabRun:
    """Lab atoms on one analyte's field with one operator and one window,
    numbered ``start ..`` in ascending threshold order."""

    field: str
    op: str
    days: int | None
    start: int
    thresholds: list[float]

    def write(self, codes: bytearray, x: Any) -> None:
        n, s = len(self.thresholds), self.start
        if x != x:  # NaN: no comparison holds
            codes[s:s + n] = bytes(n)
            return
        ts, op = self.thresholds, self.op
        if op == ">=":  # met by the thresholds <= x: a prefix
            k, met_first = bisect_right(ts, x), True
        elif op == ">":
            k, met_first = bisect_left(ts, x), True
        elif op == "<=":  # met by the thresholds >= x: a suffix
            k, met_first = bisect_left(ts, x), False
        else:
            k, met_first = bisect_right(ts, x), False
        first, second = (PASS, FAIL) if met_first else (FAIL, PASS)
        codes[s:s + k] = bytes((first,)) * k
        codes[s + k:s + n] = bytes((second,)) * (n - k)


def _run_key(atom: ir.Node) -> tuple[str, str, str, int] | None:
    """(analyte or "" for the age, field, operator, window or -1) of an atom
    comparing one number with a threshold, else None."""
    if not (isinstance(atom, ir.LabAtom | ir.AgeAtom) and atom.op in (">=", ">", "<=", "<")
            and isinstance(atom.value, int | float) and not math.isnan(atom.value)):
        return None
    if isinstance(atom, ir.AgeAtom):
        return "", "age", atom.op, -1
    window = -1 if atom.within_days is None else atom.within_days
    return atom.analyte, _FIELD[atom.relative_to], atom.op, window


# ---------------------------------------------------------------------- diagnoses

class _DiagnosisBlock:
    """Diagnosis atoms ``start .. start + n``, one byte each of a big integer."""

    def __init__(self, atoms: list[ir.DiagnosisAtom], start: int):
        self.start, self.n = start, len(atoms)
        def mask(lanes: list[int], code: int) -> int:
            return sum(code << (8 * i) for i in lanes)

        def facet(values_of: Callable[[ir.DiagnosisAtom], tuple[str, ...] | None]
                  ) -> tuple[dict[str, int], int, int]:
            """Per value, the lanes (pass code) of the atoms asking for it; the
            lanes of atoms with the facet (unknown code) and without (pass code)."""
            index: dict[str, list[int]] = {}
            have, lack = [], []
            for i, a in enumerate(atoms):
                values = values_of(a)
                if values:
                    have.append(i)
                    for value in set(values):
                        index.setdefault(value, []).append(i)
                else:
                    lack.append(i)
            return ({k: mask(v, PASS) for k, v in index.items()}, mask(have, UNKNOWN),
                    mask(lack, PASS))

        self.histology = facet(lambda a: a.histologies)
        self.site = facet(lambda a: a.sites)
        # A record naming a broader concept than an atom asks for ("head and neck
        # cancer" for "oral cavity"): unknown, per atom and facet.
        self.histology_maybe: dict[str, int] = {}
        self.site_maybe: dict[str, int] = {}
        for i, a in enumerate(atoms):
            for values, maybe in ((a.histologies, self.histology_maybe),
                                  (a.sites, self.site_maybe)):
                for c in broader_concepts(tuple(values or ())):
                    maybe[c] = maybe.get(c, 0) | mask([i], UNKNOWN)
        self.status = facet(lambda a: a.statuses)
        self.confirmed = facet(lambda a: a.confirmed_by)
        self.stage = facet(lambda a: a.stages)
        # A record of group III might be the IIIB asked for: unknown, per atom.
        self.stage_maybe: dict[str, int] = {}
        for i, a in enumerate(atoms):
            for key in stages.maybe_tokens(a.stages or ()):
                self.stage_maybe[key] = self.stage_maybe.get(key, 0) | mask([i], UNKNOWN)

    def write(self, codes: bytearray, diagnoses: list[dict[str, Any]]) -> None:
        any_record = 0
        for d in diagnoses:
            concepts = d["concepts"]
            record = -1  # all bits: AND's neutral
            for (index, have, lack), known, maybe in (
                    (self.histology, d["has_histology"], self.histology_maybe),
                    (self.site, d["has_site"], self.site_maybe)):
                hit = 0
                for c in concepts:
                    hit |= index.get(c, 0)
                for c in d["named"]:
                    hit |= maybe.get(c, 0)
                # met: pass; not met: fail if the record states one, else unknown
                record &= hit | lack | (0 if known else have)
            index, have, lack = self.status
            hit = 0
            for s in d["statuses"]:
                hit |= index.get(s, 0)
            record &= hit | lack | (have if not d["statuses"] else 0)
            index, have, lack = self.stage
            hit = 0
            for key in d["stage_keys"]:
                hit |= index.get(key, 0) | self.stage_maybe.get(key, 0)
            record &= hit | lack | (have if not d["stage_keys"] else 0)
            index, have, lack = self.confirmed
            by = d["confirmed_by"]
            record &= lack | (have if by is None else index.get(by, 0))
            any_record |= record
        codes[self.start:self.start + self.n] = any_record.to_bytes(self.n, "little")


# ---------------------------------------------------------------------- treatments

def _treatment_facets(atom: ir.TreatmentAtom) -> tuple[Any, ...]:
    return (atom.min_cycles, atom.progression, atom.ended_days_before, atom.within_days,
            atom.ongoing, atom.settings)


_NONE: tuple[Any, ...] = ()


class _TreatmentBlock:
    """Treatment atoms (without ``min_lines``) ``start .. start + n``, one byte
    each of a big integer.  Their selectors are indexed by the record keys they
    match (drug, class, kind), grouped by facets: a group's facet test is a
    function of one record, the same for all its atoms, so each record costs
    one facet test and two integer operations per group it touches."""

    def __init__(self, atoms: list[ir.TreatmentAtom], start: int):
        self.start, self.n = start, len(atoms)
        self.groups: list[Callable[[dict[str, Any]], int]] = []
        group_of: dict[tuple[Any, ...], int] = {}
        by_key: dict[tuple[str, ...], dict[int, int]] = {}
        self.timed = 0  # lanes (1) of atoms a matching record does not close
        for i, atom in enumerate(atoms):
            facets = _treatment_facets(atom)
            g = group_of.get(facets)
            if g is None:
                g = group_of[facets] = len(self.groups)
                self.groups.append(_facet_code_fn(atom))
            if atom.within_days is not None or atom.ongoing is not None:
                self.timed |= 1 << (8 * i)
            keys: list[tuple[str, ...]] = ([("drug", d) for d in atom.drugs]
                                           + [("class", c) for c in atom.classes]
                                           + [("kind", k) for k in atom.kinds])
            for key in keys or [("*",)]:
                masks = by_key.setdefault(key, {})
                masks[g] = masks.get(g, 0) | 1 << (8 * i)
        self.index = {key: tuple(masks.items()) for key, masks in by_key.items()}
        self.ones = int.from_bytes(b"\x01" * self.n, "little")

    def write(self, codes: bytearray, records: list[dict[str, Any]], complete: bool) -> None:
        best = 0  # per lane: the best facet code of a matching record (Kleene OR)
        matched = 0  # per lane: 1 where some record matches the selector
        index, groups = self.index, self.groups
        for t in records:
            keys = [("*",), ("kind", t["kind"])]
            if t["drug"] is not None:
                keys.append(("drug", t["drug"]))
            keys.extend(("class", c) for c in t["classes"])
            facet_of: dict[int, int] = {}
            for key in keys:
                for g, lanes in index.get(key, _NONE):
                    code = facet_of.get(g)
                    if code is None:
                        code = facet_of[g] = groups[g](t)
                    if code:
                        best |= lanes * code
                    matched |= lanes
        if not matched:
            return
        if not complete:
            # Matching records, none possibly meeting the facets: closed, unless
            # the atom is time-bound and the history may be incomplete.
            some = (best | best >> 1) & self.ones  # 1 where the best code is not fail
            best |= (matched & ~some & self.timed) * UNKNOWN
        s, n = self.start, self.n
        default = int.from_bytes(codes[s:s + n], "little")
        block = (default & ~(matched * 0xFF)) | best
        codes[s:s + n] = block.to_bytes(n, "little")


class _ConditionBlock:
    """Condition atoms ``start .. start + n``, one byte each of a big integer.

    Per record: the atoms whose concepts it names (lane masks per concept),
    minus those whose exceptions it names; a record stated absent matches
    nothing but closes the history of the atoms it names or sits under; each
    facet group's test runs once per record.  Then ``matcher.fast_eval``'s
    existential rule, lane by lane."""

    def __init__(self, atoms: list[ir.ConditionAtom], start: int):
        self.start, self.n = start, len(atoms)
        self.concepts: dict[str, int] = {}
        self.excluding: dict[str, int] = {}
        self.named: dict[str, int] = {}
        group_of: dict[tuple[Any, ...], int] = {}
        self.groups: list[tuple[Callable[[dict[str, Any]], int], int]] = []
        masks: list[int] = []
        self.timed = 0  # lanes (1) of atoms a matching record does not close
        for i, a in enumerate(atoms):
            lane = 1 << (8 * i)
            for c in set(a.concepts):
                self.concepts[c] = self.concepts.get(c, 0) | lane
            for c in set(a.excluding):
                self.excluding[c] = self.excluding.get(c, 0) | lane
            for c in set(absent_concepts(a.concepts)):
                self.named[c] = self.named.get(c, 0) | lane
            if a.within_days is not None:
                self.timed |= lane
            key = (a.active_only, a.within_days, a.uncontrolled, a.min_grade, a.min_class)
            g = group_of.get(key)
            if g is None:
                g = group_of[key] = len(masks)
                masks.append(0)
                facets = condition_facets(a)
                self.groups.append((
                    (lambda _c: PASS) if facets is None
                    else (lambda c, f=facets: CODE_OF[f(c)]), 0))
            masks[g] |= lane
        self.groups = [(fn, masks[g]) for g, (fn, _) in enumerate(self.groups)]
        self.ones = int.from_bytes(b"\x01" * self.n, "little")

    def write(self, codes: bytearray, records: list[dict[str, Any]], complete: bool) -> None:
        best = 0  # per lane: the best facet code of a matching record (Kleene OR)
        matched = 0  # per lane: 1 where a record matches
        closed_by_absence = 0  # per lane: 1 where a record stated absent closes the history
        concepts, excluding, named = self.concepts, self.excluding, self.named
        for r in records:
            projected = 0
            for c in r["concepts"]:
                projected |= concepts.get(c, 0)
            if not projected:
                continue
            if r["status"] == "absent":
                closing = 0
                for c in r["named"]:
                    closing |= named.get(c, 0)
                closed_by_absence |= closing & projected
                continue
            excluded = 0
            for c in r["concepts"]:
                excluded |= excluding.get(c, 0)
            hit = projected & ~excluded
            if not hit:
                continue
            matched |= hit
            for facet_code, lanes in self.groups:
                in_group = hit & lanes
                if in_group:
                    code = facet_code(r)
                    if code:
                        best |= in_group * code
        touched = matched | closed_by_absence
        if not touched:
            return
        if not complete:
            some = (best | best >> 1) & self.ones  # 1 where the best code is not fail
            # Matched, nothing possibly meeting the facets: closed unless time-bound
            # and not closed by a recorded absence.
            best |= (matched & ~some & self.timed & ~closed_by_absence) * UNKNOWN
        s, n = self.start, self.n
        default = int.from_bytes(codes[s:s + n], "little")
        block = (default & ~(touched * 0xFF)) | best
        codes[s:s + n] = block.to_bytes(n, "little")


def _facet_code_fn(atom: ir.TreatmentAtom) -> Callable[[dict[str, Any]], int]:
    """The atom's facet test on one record (``matcher.fast_eval``'s own), as a
    code: pass, unknown, or fail (the record matches, cannot meet the facets)."""
    facets = treatment_facets(atom)
    if facets is None:
        return lambda _t: PASS
    return lambda t: CODE_OF[facets(t)]


# ---------------------------------------------------------------------- the index

class AtomIndex:
    """The plan's atoms, numbered for evaluation, and their codes per patient."""

    def __init__(self, atoms: list[ir.Node]):
        distinct = list(dict.fromkeys(atoms))
        runs: dict[tuple[str, str, str, int], list[ir.LabAtom | ir.AgeAtom]] = {}
        diagnoses: list[ir.DiagnosisAtom] = []
        others: list[ir.Node] = []
        for a in distinct:
            key = _run_key(a)
            if key is not None:
                runs.setdefault(key, []).append(a)  # type: ignore[arg-type]
            elif isinstance(a, ir.DiagnosisAtom):
                diagnoses.append(a)
            else:
                others.append(a)
        self.atoms: list[ir.Node] = []
        self.lab_runs: dict[str, list[_LabRun]] = {}
        self.age_runs: list[_LabRun] = []
        all_runs: list[_LabRun] = []
        for (analyte, field, op, window), members in sorted(runs.items()):
            members.sort(key=lambda a: a.value)
            run = _LabRun(field, op, None if window < 0 else window, len(self.atoms),
                          [float(a.value) for a in members])
            all_runs.append(run)
            if field == "age":
                self.age_runs.append(run)
            else:
                self.lab_runs.setdefault(analyte, []).append(run)
            self.atoms.extend(members)
        self.diagnoses = _DiagnosisBlock(diagnoses, len(self.atoms))
        self.atoms.extend(diagnoses)
        treatments = [a for a in others if isinstance(a, ir.TreatmentAtom) and a.min_lines is None]
        self.treatments = _TreatmentBlock(treatments, len(self.atoms))
        self.atoms.extend(treatments)
        conditions = [a for a in others if isinstance(a, ir.ConditionAtom)]
        self.conditions = _ConditionBlock(conditions, len(self.atoms))
        self.atoms.extend(conditions)
        self.by_slot: dict[SlotKey, list[int]] = {}
        self.fns: dict[int, Callable[[dict[str, Any]], Any]] = {}
        for a in others:
            if (isinstance(a, ir.TreatmentAtom) and a.min_lines is None
                    or isinstance(a, ir.ConditionAtom)):
                continue
            p = len(self.atoms)
            self.atoms.append(a)
            self.fns[p] = compile_atom(a)
            for key in slots(a):
                self.by_slot.setdefault(key, []).append(p)
        self.position = {a: i for i, a in enumerate(self.atoms)}
        self.defaults = {policy: bytes(CODE_OF[atom_value(a, empty_values(policy))]
                                       for a in self.atoms) for policy in (False, True)}
        for policy in (False, True):
            # The lab runs write every value of a patient's lab; an absent or stale
            # lab leaves them as on the empty patient, which must be unknown.
            assert all(self.defaults[policy][run.start + i] == UNKNOWN
                       for run in all_runs for i in range(len(run.thresholds)))

    def __len__(self) -> int:
        return len(self.atoms)

    def codes(self, v: dict[str, Any], assume_absent: bool) -> bytearray:
        """Every atom's code on the facts' values ``v``."""
        codes = bytearray(self.defaults[assume_absent])
        age = v.get("age")
        if age is not None:
            for run in self.age_runs:
                run.write(codes, age)
        for analyte, lab in v["labs"].items():
            if lab is None:
                continue
            ago = lab.get("days_ago")
            for run in self.lab_runs.get(analyte, ()):
                x = lab.get(run.field)
                if x is None or (run.days is not None and (ago is None or ago > run.days)):
                    continue  # missing or stale: unknown, as by default
                run.write(codes, x)
        if v["diagnoses"]:
            self.diagnoses.write(codes, v["diagnoses"])
        if v["treatments"]:
            self.treatments.write(codes, v["treatments"], bool(v.get("history_complete")))
        if v["conditions"]:
            self.conditions.write(codes, v["conditions"], bool(v.get("history_complete")))
        fns = self.fns
        seen: set[int] = set()
        by_slot = self.by_slot
        for key in filled_slots(v):
            for p in by_slot.get(key, ()):
                if p not in seen:
                    seen.add(p)
                    codes[p] = CODE_OF[fns[p](v)]
        return codes


