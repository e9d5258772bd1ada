"""Where trials come from: the bundled library or the user's files, compiled."""

from __future__ import annotations

from pathlib import Path

from criteria.compiler import compile_trial
from criteria.sources import load_seed_trials, read_trial_paths
from criteria.trial import CompiledTrial, Trial


def compiled(items: list[Trial | CompiledTrial]) -> list[CompiledTrial]:
    return [i if isinstance(i, CompiledTrial) else compile_trial(i) for i in items]


def load_trials(paths: list[str] | None) -> list[CompiledTrial]:
    """Compile the given trial files/folders, or the bundled library."""
    if paths:
        return compiled(read_trial_paths([Path(p) for p in paths]))
    return compiled(list(load_seed_trials()))
