"""Trials into the registry: ClinicalTrials.gov JSON or legacy XML, compiled
and stored (a new version only when the record changed)."""

from __future__ import annotations

import json
from typing import Any

from criteria.sources import TrialFileError, load_seed_trials, parse_legacy_xml
from criteria.sources import _records_from_json as records_from_json
from criteria.sources.ctgov_json import RecordError
from criteria.trial import CompiledTrial, Trial
from matcher.library import compile_one
from matcher.service.problems import invalid, path_message, pointer, problem
from matcher.service.registry import PutResult, Registry


def parse_trials_json(text: str) -> list[tuple[Trial | CompiledTrial, str]]:
    """Trials in a JSON body (a v2 study, a page ``{"studies": [...]}``, a list),
    each with its own source JSON; refusals name the JSON pointer."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise invalid([problem("", f"not valid JSON ({exc.msg}) at line {exc.lineno} "
                                   f"column {exc.colno}")]) from None
    except RecursionError:
        raise invalid([problem("", "not valid JSON (nested too deeply)")]) from None
    items: list[tuple[Any, str]] = []
    if isinstance(value, dict) and isinstance(value.get("studies"), list):
        items = [(s, f"studies[{i}]") for i, s in enumerate(value["studies"])]
    elif isinstance(value, list):
        items = [(s, f"[{i}]") for i, s in enumerate(value)]
    else:
        items = [(value, "")]
    out: list[tuple[Trial | CompiledTrial, str]] = []
    problems = []
    for obj, field in items:
        try:
            for record in records_from_json(obj, "body", field):
                out.append((record, json.dumps(obj, ensure_ascii=False)))
        except RecordError as exc:
            where = f"{field}.{exc.field}" if field and exc.field and not \
                exc.field.startswith(field) else (exc.field or field)
            problems.append(problem(pointer(where), exc.message))
    if problems:
        raise invalid(problems, "not a trial record")
    if not out:
        raise invalid([problem("", "no trial in the body")], "not a trial record")
    return out


def parse_trials_xml(data: bytes) -> list[tuple[Trial | CompiledTrial, str]]:
    try:
        trial = parse_legacy_xml(data, "body")
    except TrialFileError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        ptr, message = path_message(exc.reason)
        raise invalid([problem(ptr, message + where)], "not a trial record") from None
    return [(trial, data.decode("utf-8", errors="replace"))]


def compile_and_store(registry: Registry, records: list[tuple[Trial | CompiledTrial, str]],
                      source_format: str) -> list[PutResult]:
    """Compile every record first (a record the compiler fails on refuses the
    whole request, nothing stored), then store each in its own transaction."""
    compiled: list[tuple[CompiledTrial, str]] = []
    problems = []
    for i, (record, source) in enumerate(records):
        outcome = compile_one(record, timeout=None)
        if outcome.compiled is None:
            problems.append(problem("" if len(records) == 1 else f"/{i}",
                                    f"{outcome.trial_id}: compiler error ({outcome.error})"))
        else:
            compiled.append((outcome.compiled, source))
    if problems:
        raise invalid(problems, "trial could not be compiled")
    return [registry.put_trial(c, source_format, source) for c, source in compiled]


def seed_if_empty(registry: Registry) -> int:
    """On first start, the bundled library: the server is useful at once."""
    if registry.count() > 0:
        return 0
    stored = 0
    for trial in load_seed_trials():
        outcome = compile_one(trial, timeout=None)
        if outcome.compiled is not None:
            registry.put_trial(outcome.compiled, "seed", trial.model_dump_json())
            stored += 1
    return stored
