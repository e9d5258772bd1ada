"""Precompiled evaluation plans: one patient against many trials, fast.

Built once per registry generation, a plan holds every distinct atom of every
trial (``matcher.service.atom_index``: numbered so that a patient's facts fill
whole stretches at once, with each atom's value on an empty patient as the
default), every distinct criterion (kind + logic) compiled into one Kleene
circuit (``matcher.service.circuit``: a whole level of gates per C-level
operation), and each trial's criteria as a stretch of one byte string.

A request then computes every atom's code, every criterion's status (one byte
each), every trial's status counts (one cumulative sum over all criteria),
verdict and score, and ranks the trials.  Only the trials returned get their
full answer (reasons, to-confirm): ``matcher.service.explained`` words it
with the reference's ``matcher.explain`` from the statuses and atom values
already computed, so the JSON is ``matcher.match.trial_result``'s.

Nothing of a patient outlives its request: no cache is keyed by patient data.
The differential tests (``tests/test_service_fast_eval.py``,
``tests/test_service_plan.py``) hold the plan equal to the reference.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from criteria import ir
from criteria.trial import CompiledTrial
from matcher.evaluate import relaxed
from matcher.facts import Facts, build_facts
from matcher.patient import PatientDocument
from matcher.score import BANDS, CREDIT, VERDICT_ORDER
from matcher.service.atom_index import AtomIndex, filled_slots, slots
from matcher.service.circuit import (
    FAIL,
    PASS,
    UNKNOWN,
    Circuit,
    Expr,
    Gather,
    array_bytes,
)
from matcher.service.explained import (
    CriterionPlan,
    CriterionText,
    Memo,
    criterion_text_parts,
    dumps,
    plan_criterion,
    trial_json,
    trial_opening,
    trial_text,
)

__all__ = ["MatchPlan", "Ranked", "filled_slots", "slots", "verdict_and_score"]

# A criterion's status as one byte.
S_FAIL, S_UNKNOWN, S_REVIEW, S_PASS = 0, 1, 2, 3
STATUS_NAMES = ("fail", "unknown", "review", "pass")


def _status_table() -> bytes:
    """Status byte of ``low | high << 2``: the two readings of the review parts
    (``matcher.evaluate.evaluate_criterion``)."""
    table = bytearray(256)
    by_code = {FAIL: S_FAIL, UNKNOWN: S_UNKNOWN, PASS: S_PASS}
    for low in by_code:
        for high in by_code:
            if low == high:
                status = by_code[low]
            elif UNKNOWN in (low, high):
                status = S_UNKNOWN
            else:
                status = S_REVIEW
            table[low | high << 2] = status
    return bytes(table)


_STATUS = _status_table()
_STATUS_ARRAY = pa.array(_STATUS[:16], pa.uint8())
# A trial's status counts in one integer: fails + unknowns << 16 + reviews << 32
# (+ its number of criteria << 48; passes are the rest), so a cumulative sum
# over every trial's criteria gives every trial's counts at once.
_FIELD = 16
_WEIGHT = pa.array([(1 << (_FIELD * _STATUS[code])) if _STATUS[code] != S_PASS else 0
                    for code in range(16)], pa.int64())
_ZERO = pa.array([0], pa.int64())
_MEMO_LIMIT = 1_000_000


def _expr(node: ir.Node, position: dict[ir.Node, int], review: int) -> Expr:
    if isinstance(node, ir.And | ir.Or):
        head = "and" if isinstance(node, ir.And) else "or"
        return (head, tuple(_expr(i, position, review) for i in node.items))
    if isinstance(node, ir.Not):
        # a review leaf under a negation reads the other way (matcher.evaluate.kleene)
        return ("not", _expr(node.item, position, PASS if review == FAIL else FAIL))
    if isinstance(node, ir.Review):
        return ("const", review)
    return ("leaf", position[node])


def _readings(criterion: ir.Criterion, position: dict[ir.Node, int]) -> tuple[Expr, Expr]:
    """The criterion's eligibility with its review parts read both ways (low,
    high), as ``matcher.evaluate.evaluate_criterion`` decides its status."""
    if criterion.logic is None:
        if criterion.compiled == "full":
            return ("const", PASS), ("const", PASS)
        return ("const", FAIL), ("const", PASS)  # review
    logic, _ = relaxed(criterion.kind, criterion.logic)
    if logic is None:
        return ("const", FAIL), ("const", PASS)
    if criterion.kind == "exclusion":  # eligibility is the negation
        return (("not", _expr(logic, position, PASS)),
                ("not", _expr(logic, position, FAIL)))
    return _expr(logic, position, FAIL), _expr(logic, position, PASS)


def verdict_and_score(sts: Sequence[str]) -> tuple[str, float]:
    """``matcher.score.verdict`` and ``score`` from a list of statuses."""
    return verdict_and_score_of_counts(sts.count("pass"), sts.count("review"),
                                       sts.count("unknown"), sts.count("fail"))


def verdict_and_score_of_counts(passes: int, reviews: int, unknowns: int, fails: int
                                ) -> tuple[str, float]:
    """``matcher.score.verdict`` and ``score`` from status counts.  The credits
    are multiples of 1/4, so the sum is exact in any order and the score is
    the same float as the reference's sum over the statuses."""
    v = "ineligible" if fails else ("possible" if unknowns else "eligible")
    total = (passes * CREDIT["pass"] + reviews * CREDIT["review"]
             + unknowns * CREDIT["unknown"] + fails * CREDIT["fail"])
    return v, score_of_total(v, total, passes + reviews + unknowns + fails)


def score_of_total(v: str, total: float, n: int) -> float:
    """The score of a trial of verdict ``v`` whose ``n`` criteria earned ``total`` credit."""
    low, high = BANDS[v]
    if not n:
        return round(low, 4)
    width = (high - low) if v == "eligible" else (high - low) * 0.999
    return round(low + width * (total / n), 4)


def sort_value(v: str, score: float) -> int:
    """An integer ordering trials as (verdict, -score) does, equal when both
    are: the score is rounded to 4 decimals, so score x 10^4 is an integer."""
    return VERDICT_ORDER[v] * 20000 + 10001 - round(score * 10000)


_VERDICT_CODES = ("eligible", "possible", "ineligible")  # fails -> 2, else unknowns -> 1
_QUARTERS = {k: round(c * 4) for k, c in CREDIT.items()}
assert all(q == c * 4 for q, c in zip(_QUARTERS.values(), CREDIT.values(), strict=True))


class SortValues:
    """Every trial's sort value from its packed counts in a few Arrow calls.

    A trial's score depends on its verdict, its number of criteria n and its
    credit in quarters T (0 to 4n: the credits are multiples of 1/4), so one
    table per plan holds every (n, verdict, T) the plan's trial sizes allow,
    and a request computes each trial's verdict code and T with integer
    array arithmetic and takes its value from the table."""

    def __init__(self, sizes: Sequence[int]):
        offset: dict[int, int] = {}
        table: list[int] = []
        for n in sorted(set(sizes)):
            offset[n] = len(table)
            for v in _VERDICT_CODES:
                table.extend(sort_value(v, score_of_total(v, t / 4, n))
                             for t in range(4 * n + 1))
        self.table = pa.array(table, pa.int64())
        q = _QUARTERS
        self._offset = pa.array([offset[n] for n in sizes], pa.int64())
        self._stride = pa.array([4 * n + 1 for n in sizes], pa.int64())
        self._full = pa.array([q["pass"] * n for n in sizes], pa.int64())  # T when all pass
        # What one fail, unknown or review takes from that, in quarters.
        self._drop = (q["pass"] - q["fail"], q["pass"] - q["unknown"], q["pass"] - q["review"])

    def __call__(self, packed: pa.Array) -> pa.Array:
        """Each trial's sort value; ``packed`` holds every trial's counts."""
        mask = (1 << _FIELD) - 1
        fails = pc.bit_wise_and(packed, mask)
        unknowns = pc.bit_wise_and(pc.shift_right(packed, _FIELD), mask)
        reviews = pc.bit_wise_and(pc.shift_right(packed, 2 * _FIELD), mask)
        drop_f, drop_u, drop_r = self._drop
        quarters = pc.subtract(self._full, pc.add(
            pc.add(pc.multiply(fails, drop_f), pc.multiply(unknowns, drop_u)),
            pc.multiply(reviews, drop_r)))
        verdict = pc.min_element_wise(pc.add(
            pc.multiply(pc.cast(pc.greater(fails, 0), pa.int64()), 2),
            pc.cast(pc.greater(unknowns, 0), pa.int64())), 2)
        index = pc.add(pc.add(self._offset, pc.multiply(verdict, self._stride)), quarters)
        return self.table.take(index)


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
        self.index = AtomIndex([a for t in self.trials for c in t.criteria
                                for a in ir.atoms(c.logic) if not isinstance(a, ir.Review)])
        self.atoms: list[ir.Node] = self.index.atoms
        position = self.index.position
        circuit = Circuit(len(self.atoms))
        rule_index: dict[tuple[str, Any, str], int] = {}
        low_wires: list[int] = []
        high_wires: list[int] = []
        occurrences: list[int] = []  # each trial's criteria, trial after trial
        self.bounds: list[tuple[int, int]] = []
        self.trial_atoms: list[list[int]] = []
        for trial in self.trials:
            start = len(occurrences)
            used: set[int] = set()
            for c in trial.criteria:
                key = (c.kind, c.logic, c.compiled)
                r = rule_index.get(key)
                if r is None:
                    r = rule_index[key] = len(low_wires)
                    low, high = _readings(c, position)
                    low_wires.append(circuit.add(low))
                    high_wires.append(circuit.add(high))
                occurrences.append(r)
                used.update(position[a] for a in ir.atoms(c.logic) if not isinstance(a, ir.Review))
            self.bounds.append((start, len(occurrences)))
            self.trial_atoms.append(sorted(used))
        circuit.finish()
        self.circuit = circuit
        self.n_rules = len(low_wires)
        # Counts fit their 16 bits; the cumulative sums fit 63 bits.
        assert max((b - a for a, b in self.bounds), default=0) < 1 << (_FIELD - 1)
        assert len(occurrences) < 1 << 30
        self._low = Gather([circuit.wire(w) for w in low_wires])
        self._high = Gather([circuit.wire(w) for w in high_wires])
        self._occurrences = Gather(occurrences)
        self._occurrence_rules = occurrences
        self._explained: dict[int, list[CriterionPlan]] = {}
        self._texts: dict[int, tuple[str, list[tuple[CriterionPlan, CriterionText]]]] = {}
        self._starts = Gather([a for a, _ in self.bounds])
        self._ends = Gather([b for _, b in self.bounds])
        self._sizes = pa.array([(b - a) << (3 * _FIELD) for a, b in self.bounds], pa.int64())
        self.trial_ids = [t.trial.trial_id for t in self.trials]
        self.open = [t.trial.is_open for t in self.trials]
        self._every = list(range(len(self.trials)))
        self._open = [i for i, is_open in enumerate(self.open) if is_open]
        # Ties of verdict and score go by trial id, then by position (a stable sort).
        by_id = sorted(range(len(self.trials)), key=lambda i: (self.trial_ids[i], i))
        id_rank = [0] * len(self.trials)
        for rank, i in enumerate(by_id):
            id_rank[i] = rank
        self._id_rank = pa.array(id_rank, pa.int64())
        self._sort_values_of = SortValues([b - a for a, b in self.bounds])
        # packed counts -> verdict and score, and -> sort value: pure functions
        # of four counts, worked out once per distinct value.
        self._verdict_score: dict[int, tuple[str, float]] = {}
        self._sort_values: dict[int, int] = {}
        # A plan holds about a million objects for as long as its registry
        # generation.  A full collection walks them all (0.3 to 0.7 s here), a
        # latency spike for whichever request triggers it: collect once now and
        # move what survives out of the collector's sight.
        gc.collect()
        gc.freeze()

    def __len__(self) -> int:
        return len(self.trials)

    @property
    def default_values(self) -> dict[bool, bytes]:
        """Each atom's code on a patient with no data, per history policy."""
        return self.index.defaults

    def atom_codes(self, facts: Facts) -> bytearray:
        return self.index.codes(facts.values, facts.assume_absent)

    def _codes_of_criteria(self, codes: bytes | bytearray) -> pa.Array:
        """Each distinct criterion's ``low | high << 2`` (see ``_status_table``)."""
        wires = self.circuit.evaluate(codes)
        return pc.bit_wise_or(self._low(wires), pc.shift_left(self._high(wires), 2))

    def statuses(self, codes: bytes | bytearray) -> bytes:
        """Every distinct criterion's status byte (``STATUS_NAMES``)."""
        return self._statuses(self._codes_of_criteria(codes))

    @staticmethod
    def _statuses(criteria_codes: pa.Array) -> bytes:
        return array_bytes(_STATUS_ARRAY.take(criteria_codes))

    def packed_counts(self, criteria_codes: pa.Array) -> pa.Array:
        """Every trial's fails + unknowns << 16 + reviews << 32 + criteria << 48,
        from ``_codes_of_criteria``."""
        weights = self._occurrences(_WEIGHT.take(criteria_codes))
        sums = pc.cumulative_sum(pa.concat_arrays([_ZERO, weights]))
        return pc.add(pc.subtract(self._ends(sums), self._starts(sums)), self._sizes)

    def verdict_and_score(self, packed: int) -> tuple[str, float]:
        """Verdict and score of a trial's packed counts."""
        found = self._verdict_score.get(packed)
        if found is None:
            mask = (1 << _FIELD) - 1
            fails, unknowns, reviews, n = (packed & mask, packed >> _FIELD & mask,
                                           packed >> 2 * _FIELD & mask, packed >> 3 * _FIELD)
            found = self._verdict_score[packed] = verdict_and_score_of_counts(
                n - fails - unknowns - reviews, reviews, unknowns, fails)
        return found

    def _sort_value(self, packed: int) -> int:
        """An integer ordering trials as (verdict, -score) does, equal when both
        are: the score is rounded to 4 decimals, so score x 10^4 is an integer."""
        v, score = self.verdict_and_score(packed)
        if len(self._sort_values) > _MEMO_LIMIT:  # bounded, whatever the patients
            self._sort_values.clear()
            self._verdict_score.clear()
        value = self._sort_values[packed] = sort_value(v, score)
        return value

    def ordered(self, criteria_codes: pa.Array, chosen: list[int], limit: int | None = None
                ) -> list[Ranked]:
        """The chosen trials best first (``match_patient``'s order: verdict,
        score, trial id), the best ``limit`` only when given.  Vectorized: each
        trial's sort value from the plan's table (``SortValues``), and one sort
        of value x trials + rank of the trial id orders every trial."""
        if not chosen:
            return []
        packed = self.packed_counts(criteria_codes)
        trial_values = self._sort_values_of(packed)
        id_rank = self._id_rank
        if len(chosen) != len(self.trials):
            picked = pa.array(chosen, pa.int32())
            packed, id_rank = packed.take(picked), id_rank.take(picked)
            trial_values = trial_values.take(picked)
        composite = pc.add(pc.multiply(trial_values, len(self.trials)), id_rank)
        if limit is None or limit >= len(chosen):
            best = pc.array_sort_indices(composite)
        else:
            best = pc.select_k_unstable(composite, k=limit, sort_keys=[("dummy", "ascending")])
        out = []
        for i in best.to_pylist():
            v, score = self.verdict_and_score(packed[i].as_py())
            t = chosen[i]
            out.append(Ranked(t, self.trial_ids[t], v, score))
        return out

    def rank(self, facts: Facts, chosen: list[int]) -> tuple[list[Ranked], bytearray]:
        """Verdict and score of the chosen trials, best first (as ``match_patient``)."""
        codes = self.atom_codes(facts)
        return self.ordered(self._codes_of_criteria(codes), chosen), codes

    def _criterion_plans(self, t: int) -> list[CriterionPlan]:
        """Trial ``t``'s criteria, prepared for explaining (once per plan)."""
        plans = self._explained.get(t)
        if plans is None:
            position = self.index.position
            plans = self._explained[t] = [plan_criterion(c, position)
                                          for c in self.trials[t].criteria]
        return plans

    def _matched(self, patient: PatientDocument, as_of: date, assume_absent: bool,
                 any_status: bool, trial_ids: set[str] | None, limit: int | None
                 ) -> tuple[Facts, int, bytearray, list[tuple[Ranked, list[str]]]]:
        """Facts, number of trials matched, atom codes, and the trials shown
        (best first) with their criteria's statuses."""
        facts = build_facts(patient, as_of, assume_absent)
        if trial_ids is None:
            chosen = self._every if any_status else self._open
        else:
            chosen = [i for i, t in enumerate(self.trial_ids)
                      if (any_status or self.open[i]) and t in trial_ids]
        codes = self.atom_codes(facts)
        criteria_codes = self._codes_of_criteria(codes)
        status_of = self._statuses(criteria_codes)
        shown = []
        for r in self.ordered(criteria_codes, chosen, limit):
            a, b = self.bounds[r.index]
            shown.append((r, [STATUS_NAMES[status_of[k]] for k in self._occurrence_rules[a:b]]))
        return facts, len(chosen), codes, shown

    def match(self, patient: PatientDocument, as_of: date, assume_absent: bool = False,
              any_status: bool = False, trial_ids: set[str] | None = None,
              limit: int | None = None) -> dict[str, Any]:
        """The contract's match answer (``matcher.match.match_patient``'s shape);
        ``limit`` keeps only the best N trials' full results."""
        facts, n_chosen, codes, shown = self._matched(patient, as_of, assume_absent,
                                                      any_status, trial_ids, limit)
        memo: Memo = {}  # this request's explained atoms, dropped with it
        results = [trial_json(self.trials[r.index], self._criterion_plans(r.index),
                              statuses, codes, facts, r.verdict, r.score, memo)
                   for r, statuses in shown]
        out: dict[str, Any] = {
            "patient_id": patient.id,
            "as_of": as_of.isoformat(),
            "assume_absent": assume_absent,
            "results": results,
            "unused_data": facts.unused,
        }
        if limit is not None:
            out["total_results"] = n_chosen
        return out

    def match_json(self, patient: PatientDocument, as_of: date, assume_absent: bool = False,
                   any_status: bool = False, trial_ids: set[str] | None = None,
                   limit: int | None = None) -> bytes:
        """``match``'s answer as the JSON the HTTP layer would write for it
        (``separators=(",", ":")``, ``ensure_ascii=False``), written directly:
        what depends on the trials alone is encoded once per plan."""
        facts, n_chosen, codes, shown = self._matched(patient, as_of, assume_absent,
                                                      any_status, trial_ids, limit)
        results = []
        memo: Memo = {}  # this request's explained atoms, dropped with it
        for r, statuses in shown:
            opening, criteria = self._criterion_texts(r.index)
            results.append(trial_text(opening, criteria, statuses, codes, facts, r.verdict,
                                      r.score, memo))
        total = "" if limit is None else f',"total_results":{n_chosen}'
        text = (f'{{"patient_id":{dumps(patient.id)},"as_of":{dumps(as_of.isoformat())},'
                f'"assume_absent":{dumps(assume_absent)},"results":[{",".join(results)}],'
                f'"unused_data":{dumps(facts.unused)}{total}}}')
        return text.encode("utf-8")

    def _criterion_texts(self, t: int) -> tuple[str, list[tuple[CriterionPlan, CriterionText]]]:
        """Trial ``t``'s opening and criteria as JSON text parts (once per plan)."""
        found = self._texts.get(t)
        if found is None:
            found = self._texts[t] = (
                trial_opening(self.trials[t]),
                [(cp, criterion_text_parts(cp)) for cp in self._criterion_plans(t)])
        return found
