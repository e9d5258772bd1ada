"""Match one patient against trials: facts, evaluation, verdict, ranking."""

from __future__ import annotations

from datetime import date
from typing import Any

from criteria.trial import CompiledTrial
from matcher.evaluate import CriterionResult, evaluate_trial
from matcher.facts import Facts, build_facts
from matcher.patient import PatientDocument
from matcher.score import VERDICT_ORDER, score, verdict


def trial_result(trial: CompiledTrial, facts: Facts) -> dict[str, Any]:
    results = evaluate_trial(trial.criteria, facts)
    statuses = [r.status for r in results]
    confirm: list[str] = []
    for r in results:
        for item in r.to_confirm:
            if item not in confirm:
                confirm.append(item)
    return {
        "trial_id": trial.trial.trial_id,
        "title": trial.trial.title,
        "status": trial.trial.status,
        "verdict": verdict(statuses),
        "score": score(statuses),
        "counts": {s: statuses.count(s) for s in ("pass", "fail", "unknown", "review")},
        "criteria": [_criterion_json(r) for r in results],
        "to_confirm": confirm,
    }


def _criterion_json(r: CriterionResult) -> dict[str, Any]:
    c = r.criterion
    out: dict[str, Any] = {
        "id": c.id, "kind": c.kind, "text": c.text, "status": r.status, "reason": r.reason,
        "family": c.family, "compiled": c.compiled, "rule": c.rule, "data": r.data,
    }
    if c.span is not None:
        out["span"] = [c.span.start, c.span.end]
    if c.notes:
        out["notes"] = list(c.notes)
    if c.curation is not None:
        out["curated"] = c.curation.model_dump()
    return out


def match_patient(patient: PatientDocument, trials: list[CompiledTrial], as_of: date,
                  assume_absent: bool = False, any_status: bool = False) -> dict[str, Any]:
    facts = build_facts(patient, as_of, assume_absent)
    chosen = [t for t in trials if any_status or t.trial.is_open]
    results = [trial_result(t, facts) for t in chosen]
    results.sort(key=lambda r: (VERDICT_ORDER[r["verdict"]], -r["score"], r["trial_id"]))
    return {
        "patient_id": patient.id,
        "as_of": as_of.isoformat(),
        "assume_absent": assume_absent,
        "results": results,
        "unused_data": facts.unused,
    }
