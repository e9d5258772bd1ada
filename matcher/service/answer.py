"""One ``POST /v1/match`` request from the body's text to the answer's bytes.

The same function serves the app in process and the match processes of
``trialmatch serve --workers N`` (``matcher.service.pool``): a job holds only
what the request said (plain, picklable values), an outcome is the answer's
bytes or every problem found.  Nothing of the patient outlives the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from starlette.responses import JSONResponse

from matcher.patient import PatientError, load_patient
from matcher.service.engine import Engine
from matcher.service.fhir_out import searchset
from matcher.service.problems import pointer, problem


@dataclass(frozen=True)
class MatchJob:
    text: str  # the body, decoded
    day: date | None  # the query's as_of
    assume_absent: bool
    any_status: bool
    trial_ids: frozenset[str] | None
    limit: int | None
    format: str  # "json" or "fhir"
    engine: str  # "fast" or "rule-engine"
    problems: tuple[dict[str, str], ...] = field(default=())  # the query's, found already


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str


@dataclass(frozen=True)
class Refusal:
    title: str
    problems: list[dict[str, str]]


def answer(engine: Engine, job: MatchJob) -> Answer | Refusal:
    """The answer to ``job``, or every problem of its query and body at once."""
    problems = list(job.problems)
    ids = set(job.trial_ids) if job.trial_ids is not None else None
    if ids is not None:
        unknown = sorted(ids - engine.known_ids())
        problems.extend(problem("/trials", f"unknown trial id {i}", "query") for i in unknown)
    patient = None
    try:
        patient = load_patient(job.text, "body")
    except PatientError as exc:
        problems.extend(problem(pointer(path), message) for path, message in exc.problems)
    except RecursionError:
        problems.append(problem("", "not valid JSON (nested too deeply)"))
    if problems or patient is None:
        return Refusal("invalid request" if patient is not None else "invalid patient document",
                       problems)
    as_of = patient.effective_as_of(job.day)
    if job.format == "json" and job.engine == "fast":
        # Written straight to JSON by the plan: the same bytes JSONResponse
        # writes for ``engine.match``'s answer, a third of the time.
        body = engine.plan().match_json(patient, as_of, job.assume_absent, job.any_status, ids,
                                        job.limit)
        return Answer(body, "application/json")
    result = engine.match(patient, as_of, job.assume_absent, job.any_status, ids, job.limit,
                          job.engine)
    if job.format == "fhir":
        return Answer(JSONResponse(searchset(result)).body, "application/fhir+json")
    return Answer(JSONResponse(result).body, "application/json")
