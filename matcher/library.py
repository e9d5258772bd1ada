"""Where trials come from: the bundled library or the user's files, compiled.

``compiled`` / ``load_trials`` compile a handful of trials for matching.
``compile_each`` is the corpus path: it compiles trials one at a time (or in
worker processes), never lets one trial's compiler error end the run, times
every trial, and yields results in input order so callers can stream them.
``CompileReport`` accumulates the compile report's summary in one pass.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from criteria.compiler import compile_trial
from criteria.overrides import (
    OverrideFile,
    apply_overrides_to_all,
    load_overrides,
    shipped_overrides,
)
from criteria.sources import load_seed_trials, read_trial_paths
from criteria.trial import CompiledTrial, Trial

# A trial taking longer than this is listed as slow in the compile report.
SLOW_SECONDS = 1.0
# A trial still compiling after this long is abandoned and reported as an error.
DEFAULT_TIMEOUT_SECONDS = 60.0


def compiled(items: list[Trial | CompiledTrial],
             errors: list[dict[str, str]] | None = None) -> list[CompiledTrial]:
    """Compile what is not compiled yet.  With ``errors``, a trial the compiler
    fails on (a compiler defect) is reported there and left out, instead of
    ending the run; without it the exception propagates."""
    out = []
    for item in items:
        if isinstance(item, CompiledTrial):
            out.append(item)
            continue
        try:
            out.append(compile_trial(item))
        except Exception as err:  # noqa: BLE001 - any compiler defect is reported, not fatal
            if errors is None:
                raise
            errors.append({"trial_id": item.trial_id, "error": f"{type(err).__name__}: {err}"})
    return out


def override_files(override_paths: list[str] | None, bundled: bool) -> dict[str, OverrideFile]:
    """Curated override files by trial id (``criteria.overrides``): the files given,
    and for the bundled library the shipped ``seeds/overrides/`` (a given file for
    a trial replaces the shipped one).  Bad files raise ``OverrideError``."""
    files = shipped_overrides() if bundled else {}
    files.update(load_overrides(override_paths))
    return files


def curate(trials: list[CompiledTrial], override_paths: list[str] | None, bundled: bool
           ) -> list[CompiledTrial]:
    """The trials with their curated overrides applied."""
    files = override_files(override_paths, bundled)
    return apply_overrides_to_all(trials, files) if files else trials


def curate_outcomes(outcomes: Iterable[CompileOutcome], files: Mapping[str, OverrideFile]
                    ) -> Iterator[CompileOutcome]:
    """``compile_each``'s outcomes with the override files applied."""
    for outcome in outcomes:
        if outcome.compiled is not None and files:
            outcome.compiled = apply_overrides_to_all([outcome.compiled], files)[0]
        yield outcome


def load_trials(paths: list[str] | None, overrides: list[str] | None = None,
                errors: list[dict[str, str]] | None = None) -> list[CompiledTrial]:
    """Compile the given trial files/folders, or the bundled library; apply overrides."""
    if paths:
        return curate(compiled(read_trial_paths([Path(p) for p in paths]), errors), overrides,
                      False)
    return curate(compiled(list(load_seed_trials()), errors), overrides, True)


# --------------------------------------------------------------------------- corpus compile


@dataclass
class CompileOutcome:
    """One trial's compile: the result, or the error that stopped it; and its time."""

    trial_id: str
    seconds: float
    compiled: CompiledTrial | None = None
    error: str | None = None  # "ExceptionType: message"
    where: str | None = None  # the traceback's last frame, "file:line in function"


class CompileTimeout(Exception):
    """A trial's compile ran past the time limit."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise CompileTimeout


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def compile_one(item: Trial | CompiledTrial, timeout: float | None = DEFAULT_TIMEOUT_SECONDS
                ) -> CompileOutcome:
    """Compile one trial; a compiler exception (or running past ``timeout`` seconds,
    where SIGALRM is available) becomes ``CompileOutcome.error``, never a raise."""
    if isinstance(item, CompiledTrial):
        return CompileOutcome(item.trial.trial_id, 0.0, compiled=item)
    alarm = bool(timeout) and _can_alarm()
    previous = signal.signal(signal.SIGALRM, _on_alarm) if alarm else None
    start = time.perf_counter()
    try:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, float(timeout))
        try:
            result = compile_trial(item)
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except CompileTimeout:
        return CompileOutcome(item.trial_id, time.perf_counter() - start,
                              error=f"timeout: still compiling after {timeout:g} s")
    except Exception as exc:  # noqa: BLE001 - a compiler bug must not end a corpus run
        seconds = time.perf_counter() - start
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames \
            else None
        message = str(exc).splitlines()[0] if str(exc) else ""
        return CompileOutcome(item.trial_id, seconds,
                              error=f"{type(exc).__name__}: {message}".rstrip(": "), where=where)
    finally:
        if alarm:
            signal.signal(signal.SIGALRM, previous)
    return CompileOutcome(item.trial_id, time.perf_counter() - start, compiled=result)


_WARM_TEXT = (
    "Inclusion Criteria:\n- Age >= 18 years; ECOG 0-1\n- Hemoglobin >= 9 g/dL within 14 days\n"
    "Exclusion Criteria:\n- Prior treatment with cetuximab\n- Pregnant or breastfeeding women\n"
)


def warm_up() -> None:
    """Load the compiler's knowledge files now, so the first trial's time is its own."""
    compile_one(Trial(trial_id="warm-up", eligibility_text=_WARM_TEXT), timeout=None)


def _compile_in_worker(args: tuple[Trial | CompiledTrial, float | None]) -> CompileOutcome:
    return compile_one(*args)


def compile_each(items: Iterable[Trial | CompiledTrial], workers: int = 1,
                 timeout: float | None = DEFAULT_TIMEOUT_SECONDS) -> Iterator[CompileOutcome]:
    """Compile every trial, yielding one outcome per trial in input order.

    ``workers`` > 1 compiles in that many processes (results still in order).
    """
    if workers <= 1:
        warm_up()
        for item in items:
            yield compile_one(item, timeout)
        return
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                      else None)
    with ctx.Pool(workers, initializer=warm_up) as pool:
        yield from pool.imap(_compile_in_worker, ((i, timeout) for i in items), chunksize=8)


# --------------------------------------------------------------------------- the report


def _uncompiled_phrase(text: str) -> str:
    from matcher.render import _uncompiled_phrase as phrase
    return phrase(text)


@dataclass
class CompileReport:
    """The compile report's summary, accumulated trial by trial.

    ``add`` takes a trial's entry as ``render.compile_json`` writes it (so the
    summary equals ``render.compile_json(all_trials)["summary"]``), or an error.
    """

    slow_seconds: float = SLOW_SECONDS
    trials: int = 0
    seconds: float = 0.0
    states: Counter[str] = field(default_factory=Counter)
    by_family: dict[str, Counter[str]] = field(default_factory=dict)
    phrases: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    slow: list[dict[str, Any]] = field(default_factory=list)
    stale_overrides: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: CompileOutcome, entry: dict[str, Any] | None = None) -> None:
        self.seconds += outcome.seconds
        if outcome.seconds > self.slow_seconds:
            self.slow.append({"trial_id": outcome.trial_id,
                              "seconds": round(outcome.seconds, 3)})
        if outcome.error is not None:
            self.errors.append({"trial_id": outcome.trial_id, "error": outcome.error})
            return
        self.trials += 1
        self.stale_overrides.extend((entry or {}).get("stale_overrides", ()))
        for c in (entry or {}).get("criteria", ()):
            self.states[c["compiled"]] += 1
            self.by_family.setdefault(c["family"], Counter())[c["compiled"]] += 1
            if c["compiled"] != "full":
                for part in c["review"]:
                    self.phrases[_uncompiled_phrase(part)] += 1

    def summary(self) -> dict[str, Any]:
        total = sum(self.states.values()) or 1
        return {
            "trials": self.trials,
            "criteria": sum(self.states.values()),
            "compiled": {k: round(self.states[k] / total, 4) for k in ("full", "partial", "none")},
            "by_family": {f: {"count": sum(c.values()),
                              **{k: round(c[k] / sum(c.values()), 4)
                                 for k in ("full", "partial", "none")}}
                          for f, c in sorted(self.by_family.items())},
            "top_uncompiled": [{"phrase": p, "count": n}
                               for p, n in self.phrases.most_common(20)],
            "stale_overrides": list(self.stale_overrides),
            "failed": len(self.errors),
            "errors": list(self.errors),
            "slow": sorted(self.slow, key=lambda s: (-s["seconds"], s["trial_id"])),
        }
