"""The server's matching engine: the registry's trials as a match plan,
rebuilt only when the registry changed (its ``generation``)."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from matcher.match import match_patient
from matcher.patient import PatientDocument
from matcher.service.plan import MatchPlan
from matcher.service.registry import Registry

ENGINES = ("fast", "rule-engine")


class Engine:
    def __init__(self, registry: Registry):
        self.registry = registry
        self._lock = threading.Lock()
        self._generation = -1
        self._plan: MatchPlan | None = None

    def plan(self) -> MatchPlan:
        generation = self.registry.generation()
        plan = self._plan
        if plan is not None and generation == self._generation:
            return plan
        with self._lock:
            if self._plan is None or self._generation != generation:
                self._plan = MatchPlan(self.registry.compiled_trials())
                self._generation = generation
            return self._plan

    def known_ids(self) -> set[str]:
        return {t.trial.trial_id for t in self.plan().trials}

    def match(self, patient: PatientDocument, as_of: date, assume_absent: bool,
              any_status: bool, trial_ids: set[str] | None, limit: int | None,
              engine: str = "fast") -> dict[str, Any]:
        """The contract's answer.  ``engine`` "fast": the precompiled plan with
        the native executor; "rule-engine": the reference path, trial by trial."""
        plan = self.plan()
        if engine == "fast":
            return plan.match(patient, as_of, assume_absent, any_status, trial_ids, limit)
        trials = [t for t in plan.trials if trial_ids is None or t.trial.trial_id in trial_ids]
        result = match_patient(patient, trials, as_of, assume_absent=assume_absent,
                               any_status=any_status)
        if limit is not None:
            result["total_results"] = len(result["results"])
            result["results"] = result["results"][:limit]
        return result
