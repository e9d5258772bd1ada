"""A trial as read from a registry record, before its text is compiled."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from criteria.ir import Criterion

# Statuses matched by default (contract: recruiting or not yet recruiting).
OPEN_STATUSES = frozenset({"RECRUITING", "NOT_YET_RECRUITING"})


class Trial(BaseModel):
    """Registry facts of one trial.

    ``status`` uses ClinicalTrials.gov API v2 enum spelling (RECRUITING,
    NOT_YET_RECRUITING, COMPLETED, ...); legacy XML spellings are mapped.
    ``minimum_age`` / ``maximum_age`` are in years (None: no limit);
    ``sex`` is ALL, FEMALE or MALE.
    """

    model_config = ConfigDict(extra="forbid")

    trial_id: str
    title: str = ""
    status: str = "UNKNOWN"
    phases: list[str] = []
    conditions: list[str] = []
    interventions: list[str] = []
    minimum_age: float | None = None
    maximum_age: float | None = None
    sex: str = "ALL"
    eligibility_text: str = ""
    source: str = ""  # where the record came from (file path, seed document)
    note: str = ""  # curator's note carried by the record

    @property
    def is_open(self) -> bool:
        return self.status.upper() in OPEN_STATUSES


class CompiledTrial(BaseModel):
    """A trial with its compiled criteria: the engine's own trial file format."""

    model_config = ConfigDict(extra="forbid")

    format: str = "trialmatch.compiled-trial/1"
    trial: Trial
    criteria: list[Criterion]
    compiler_version: str = ""
