"""Precompiled evaluation plans: one patient against many trials, fast.

Built once per registry generation, a plan holds every distinct atom of every
trial, every distinct criterion (kind + logic), and each atom's value on a
patient with no data at all, under both history policies.  A patient's
request then evaluates only the atoms that read data the patient has (with
the native executor, ``matcher.fast_eval``), recomputes only the criteria
whose atoms changed from that empty-patient default, and counts statuses per
trial for the verdict and score.  The full answer (reasons, to-confirm) for
the trials returned is produced by the reference ``matcher.match.trial_result``
on facts whose atom cache the plan has filled, so its JSON is the same.

Why the defaults are exact: every atom reads one slot of the facts (a lab, a
biomarker, the diagnoses, ...); when the patient has nothing in that slot the
atom sees exactly what it sees on an empty patient.  The differential test
(``tests/test_service_fast_eval.py``) checks this against the reference.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from criteria import ir
from criteria.trial import CompiledTrial
from matcher.evaluate import relaxed
from matcher.facts import Facts, build_facts
from matcher.fast_eval import Tri, atom_value, compile_atom
from matcher.match import trial_result
from matcher.patient import PatientDocument
from matcher.score import BANDS, CREDIT, VERDICT_ORDER

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


def _empty_values(history_complete: bool) -> dict[str, Any]:
    return {"history_complete": history_complete, "age": None, "sex": None,
            "performance": {"ecog": None, "karnofsky": None}, "labs": {}, "biomarkers": {},
            "diagnoses": [], "treatments": [], "conditions": [], "findings": {},
            "participation": {"days_ago": None}}


# Three-valued logic on small ints: fail 0 < unknown 1 < pass 2, so Kleene AND
# is min, OR is max and NOT is 2 - x.  Each criterion becomes two Python
# expressions over the atom values (review parts read as fail, then as pass),
# compiled once per plan: no tree walk per request.
_TRI = {False: 0, None: 1, True: 2}
_TRI_VALUE: tuple[Tri, Tri, Tri] = (False, None, True)
_STATUS_OF = ("fail", "unknown", "pass")


def _expr(node: ir.Node, atom_index: dict[ir.Node, int], review: int) -> str:
    if isinstance(node, ir.And | ir.Or):
        fn = "min" if isinstance(node, ir.And) else "max"
        parts = [_expr(i, atom_index, review) for i in node.items]
        return parts[0] if len(parts) == 1 else f"{fn}({', '.join(parts)})"
    if isinstance(node, ir.Not):
        return f"(2 - {_expr(node.item, atom_index, review)})"
    if isinstance(node, ir.Review):
        return str(review)
    return f"v[{atom_index[node]}]"


@dataclass(frozen=True)
class _Rule:
    """A distinct criterion as far as its status goes."""

    constant: str | None  # a status that needs no data
    leaves: tuple[int, ...] = ()  # atom indexes
    low: str = ""  # expression over v: 0/1/2, review parts as fail (as pass, for an exclusion)
    high: str = ""  # the same with review parts read the other way; "" when there are none


def _rule_of(criterion: ir.Criterion, atom_index: dict[ir.Node, int]) -> _Rule:
    """``matcher.evaluate.evaluate_criterion``'s status logic, as expressions."""
    if criterion.logic is None:
        return _Rule("pass" if criterion.compiled == "full" else "review")
    logic, _ = relaxed(criterion.kind, criterion.logic)
    if logic is None:
        return _Rule("review")
    leaves = tuple(dict.fromkeys(atom_index[a] for a in ir.atoms(logic)
                                 if not isinstance(a, ir.Review)))
    negate = "2 - " if criterion.kind == "exclusion" else ""
    if not any(isinstance(a, ir.Review) for a in ir.atoms(logic)):
        # No review part: both readings agree, one expression decides.
        return _Rule(None, leaves, negate + _expr(logic, atom_index, 0))
    if criterion.kind == "exclusion":  # eligibility is the negation; review as pass, then fail
        return _Rule(None, leaves, negate + _expr(logic, atom_index, 2),
                     negate + _expr(logic, atom_index, 0))
    return _Rule(None, leaves, _expr(logic, atom_index, 0), _expr(logic, atom_index, 2))


_CHUNK = 2000  # criteria per generated function


def _status_functions(rules: list[_Rule]) -> list[Any]:
    """Functions ``f(v, s)`` writing every data-dependent criterion's status
    into ``s``: one line per criterion, so a request pays no call per criterion.
    The code is generated from our own integer-indexed expressions only."""
    blocks = []
    for r, rule in enumerate(rules):
        if rule.constant is not None:
            continue
        if not rule.high:
            blocks.append(f"    s[{r}] = S[{rule.low}]")
        else:
            blocks.append(f"    lo = {rule.low}; hi = {rule.high}\n"
                          f"    s[{r}] = S[lo] if lo == hi else "
                          "('unknown' if lo == 1 or hi == 1 else 'review')")
    functions = []
    for start in range(0, len(blocks), _CHUNK):
        namespace: dict[str, Any] = {"S": _STATUS_OF}
        source = "def f(v, s):\n" + "\n".join(blocks[start:start + _CHUNK]) + "\n"
        exec(compile(source, "<match-plan>", "exec"), namespace)  # noqa: S102
        functions.append(namespace["f"])
    return functions


def verdict_and_score(sts: Sequence[str]) -> tuple[str, float]:
    """``matcher.score.verdict`` and ``score`` from counts (C-level ``count``,
    no loop per criterion).  The credits are multiples of 1/4, so the sum is
    exact in any order and the score is the same float."""
    fails, unknowns = sts.count("fail"), sts.count("unknown")
    v = "ineligible" if fails else ("possible" if unknowns else "eligible")
    low, high = BANDS[v]
    if not sts:
        return v, round(low, 4)
    total = (sts.count("pass") * CREDIT["pass"] + sts.count("review") * CREDIT["review"]
             + unknowns * CREDIT["unknown"] + fails * CREDIT["fail"])
    width = (high - low) if v == "eligible" else (high - low) * 0.999
    return v, round(low + width * (total / len(sts)), 4)


def _picker(indexes: list[int]) -> Callable[[list[str]], Sequence[str]]:
    if not indexes:
        return lambda _s: ()
    if len(indexes) == 1:
        i = indexes[0]
        return lambda s: (s[i],)
    return operator.itemgetter(*indexes)


@dataclass
class Ranked:
    """One trial's verdict and score, before its full answer is built."""

    index: int
    trial_id: str
    verdict: str
    score: float


class MatchPlan:
    """Every trial of a registry, ready to be matched against patients."""

    def __init__(self, trials: Iterable[CompiledTrial]):
        self.trials: list[CompiledTrial] = list(trials)
        self.atoms: list[ir.Node] = []
        atom_index: dict[ir.Node, int] = {}
        self.by_slot: dict[SlotKey, list[int]] = {}
        rule_index: dict[tuple[str, Any, str], int] = {}
        self.rules: list[_Rule] = []
        self.trial_rules: list[list[int]] = []
        for trial in self.trials:
            ids = []
            for c in trial.criteria:
                for a in ir.atoms(c.logic):
                    if not isinstance(a, ir.Review) and a not in atom_index:
                        atom_index[a] = len(self.atoms)
                        self.atoms.append(a)
                        for key in slots(a):
                            self.by_slot.setdefault(key, []).append(atom_index[a])
                key = (c.kind, c.logic, c.compiled)
                if key not in rule_index:
                    rule_index[key] = len(self.rules)
                    self.rules.append(_rule_of(c, atom_index))
                ids.append(rule_index[key])
            self.trial_rules.append(ids)
        self.atom_fns = [compile_atom(a) for a in self.atoms]
        # Each trial's criterion statuses picked in C (a tuple, whatever the count).
        self.trial_pickers: list[Callable[[list[str]], Sequence[str]]] = [
            _picker(rules) for rules in self.trial_rules]
        self.trial_atoms: list[list[int]] = [
            sorted({i for r in rules for i in self.rules[r].leaves}) for rules in self.trial_rules]
        self.constant_status: list[str] = [r.constant or "" for r in self.rules]
        self.status_functions = _status_functions(self.rules)
        self.default_values: dict[bool, list[int]] = {}
        for policy in (False, True):
            empty = _empty_values(policy)
            self.default_values[policy] = [_TRI[atom_value(a, empty)] for a in self.atoms]

    def __len__(self) -> int:
        return len(self.trials)

    def atom_values(self, facts: Facts) -> tuple[list[int], list[int]]:
        """Every atom's value for this patient (0 fail, 1 unknown, 2 pass; the
        empty-patient default where the patient has no data the atom reads),
        and the indexes of the atoms whose value differs from that default."""
        defaults = self.default_values[facts.assume_absent]
        values = list(defaults)
        changed = []
        v = facts.values
        seen: set[int] = set()
        fns = self.atom_fns
        for key in filled_slots(v):
            for i in self.by_slot.get(key, ()):
                if i in seen:
                    continue
                seen.add(i)
                value = _TRI[fns[i](v)]
                if value != defaults[i]:
                    values[i] = value
                    changed.append(i)
        return values, changed

    def statuses(self, values: list[int]) -> list[str]:
        """Every distinct criterion's status from the atom values."""
        status = list(self.constant_status)
        for f in self.status_functions:
            f(values, status)
        return status

    def rank(self, facts: Facts, chosen: list[int]) -> tuple[list[Ranked], list[int]]:
        """Verdict and score of the chosen trials, best first (as ``match_patient``)."""
        values, _changed = self.atom_values(facts)
        status = self.statuses(values)
        ranked = []
        for t in chosen:
            v, sc = verdict_and_score(self.trial_pickers[t](status))
            ranked.append(Ranked(t, self.trials[t].trial.trial_id, v, sc))
        ranked.sort(key=lambda r: (VERDICT_ORDER[r.verdict], -r.score, r.trial_id))
        return ranked, values

    def match(self, patient: PatientDocument, as_of: date, assume_absent: bool = False,
              any_status: bool = False, trial_ids: set[str] | None = None,
              limit: int | None = None) -> dict[str, Any]:
        """The contract's match answer (``matcher.match.match_patient``'s shape);
        ``limit`` keeps only the best N trials' full results."""
        facts = build_facts(patient, as_of, assume_absent)
        chosen = [i for i, t in enumerate(self.trials)
                  if (any_status or t.trial.is_open)
                  and (trial_ids is None or t.trial.trial_id in trial_ids)]
        ranked, values = self.rank(facts, chosen)
        shown = ranked if limit is None else ranked[:limit]
        for r in shown:  # the reference evaluator reads these instead of running rule-engine
            for i in self.trial_atoms[r.index]:
                facts.cache[self.atoms[i]] = _TRI_VALUE[values[i]]
        results = [trial_result(self.trials[r.index], facts) for r in shown]
        out: dict[str, Any] = {
            "patient_id": patient.id,
            "as_of": as_of.isoformat(),
            "assume_absent": assume_absent,
            "results": results,
            "unused_data": facts.unused,
        }
        if limit is not None:
            out["total_results"] = len(ranked)
        return out
