"""Compile time per trial and match time per patient x trial on the seed library.

Usage: python benchmarks/bench_seed.py [--repeats 7] [--patients 200]

Prints medians over repeated runs (and the spread), side by side for
compiling the bundled library and matching the example patients against it.
No network, no shared data needed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

from criteria.compiler import compile_trial
from criteria.sources import load_seed_trials
from matcher.evaluate import evaluate_trial
from matcher.facts import build_facts
from matcher.patient import parse_patient

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(samples: list[float]) -> str:
    med = statistics.median(samples) * 1000
    lo, hi = min(samples) * 1000, max(samples) * 1000
    return f"{med:8.3f} ms  (min {lo:.3f}, max {hi:.3f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--patients", type=int, default=200, help="patients matched per repeat")
    args = ap.parse_args()
    trials = list(load_seed_trials())
    compile_trial(trials[0])  # load vocabularies and unit registry once: start-up, not compile
    per_trial = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        compiled = [compile_trial(t) for t in trials]
        per_trial.append((time.perf_counter() - start) / len(trials))
    docs = [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))]
    patients = [parse_patient(d) for d in docs]
    as_of = date(2026, 11, 20)
    pairs = args.patients * len(compiled)
    # warm the rule cache once, as a long-running matcher would be
    for t in compiled:
        evaluate_trial(t.criteria, build_facts(patients[0], as_of))
    per_pair, per_facts = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for i in range(args.patients):
            facts = build_facts(patients[i % len(patients)], as_of)
            for t in compiled:
                evaluate_trial(t.criteria, facts)
        per_pair.append((time.perf_counter() - start) / pairs)
        start = time.perf_counter()
        for i in range(args.patients):
            build_facts(patients[i % len(patients)], as_of)
        per_facts.append((time.perf_counter() - start) / args.patients)
    n_criteria = sum(len(t.criteria) for t in compiled)
    print(f"seed library: {len(compiled)} trials, {n_criteria} criteria; "
          f"{args.repeats} repeats; {len(patients)} example patients cycled")
    print(f"compile, per trial:               {_median_ms(per_trial)}")
    print(f"match, per patient x trial:       {_median_ms(per_pair)}")
    print(f"  of which facts, per patient:    {_median_ms(per_facts)}")
    print(f"match, one patient vs library:    "
          f"{statistics.median(per_pair) * len(compiled) * 1000:8.3f} ms")


if __name__ == "__main__":
    main()
