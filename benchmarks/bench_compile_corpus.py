"""Compile speed over the research corpus, on one core.

Compiles every trial of ``../shared/data/trials``: the 2,748 legacy records
(``ctgov_legacy_xml_subset.jsonl``) and the 990 TrialGPT trials
(``trialgpt_format_oncology_990.jsonl``), 3,738 trials, in one single-threaded
process (so on one core at a time; pinned to one CPU with ``--pin CPU``),
``--repeats`` times.  Reading the files is not timed; the compiler's knowledge
files are loaded before the clock starts.

Prints trials/s (median, min to max over the repeats; wall clock, and per
CPU second, which a busy machine disturbs less), criteria/s, the 10
slowest trials (median over the repeats) and the compile errors, which never
stop the run (``matcher.library.compile_one``)::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_compile_corpus.py [--repeats 3]

Exits 0 with a message when ``../shared/data`` is absent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from criteria.compiler import clear_caches  # noqa: E402
from criteria.sources import read_trial_file  # noqa: E402
from criteria.trial import Trial  # noqa: E402
from matcher.library import SLOW_SECONDS, compile_one, warm_up  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CORPUS = ("trials/ctgov_legacy_xml_subset.jsonl", "trials/trialgpt_format_oncology_990.jsonl")


def pin(cpu: int | None) -> str:
    """Pin this process to ``cpu`` where the OS allows it; say how it runs."""
    if cpu is None:
        return "one process, one thread"
    if not hasattr(os, "sched_setaffinity"):
        return "one process, one thread (CPU pinning not available)"
    os.sched_setaffinity(0, {cpu})
    return f"one process, pinned to CPU {cpu}"


def load_corpus(data: Path) -> list[Trial]:
    trials: list[Trial] = []
    for name in CORPUS:
        trials.extend(t for t in read_trial_file(data / name) if isinstance(t, Trial))
    return trials


def run(trials: list[Trial], repeats: int) -> int:
    rates: list[float] = []
    cpu_rates: list[float] = []
    crit_rates: list[float] = []
    per_trial: dict[str, list[float]] = {t.trial_id: [] for t in trials}
    errors: dict[str, str] = {}
    for r in range(repeats):
        # Each repeat is a cold pass: the compiler's memos (clauses, scans) are
        # emptied, so a repeat never reuses the text it compiled before.
        clear_caches()
        criteria = 0
        start, cpu_start = time.perf_counter(), time.process_time()
        for t in trials:
            outcome = compile_one(t)
            per_trial[t.trial_id].append(outcome.seconds)
            if outcome.compiled is not None:
                criteria += len(outcome.compiled.criteria)
            else:
                errors[t.trial_id] = f"{outcome.error} (at {outcome.where})"
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        rates.append(len(trials) / elapsed)
        cpu_rates.append(len(trials) / cpu)
        crit_rates.append(criteria / elapsed)
        print(f"repeat {r + 1}: {elapsed:.2f} s wall ({cpu:.2f} s CPU), "
              f"{rates[-1]:.1f} trials/s, {crit_rates[-1]:.0f} criteria/s "
              f"({criteria} criteria)", flush=True)

    print()
    print(f"trials/s   median {statistics.median(rates):.1f}  "
          f"(min {min(rates):.1f}, max {max(rates):.1f}) over {repeats} repeats, wall clock")
    print(f"trials per CPU second median {statistics.median(cpu_rates):.1f}  "
          f"(min {min(cpu_rates):.1f}, max {max(cpu_rates):.1f}); a wall figure far below "
          "this means the core was shared")
    print(f"criteria/s median {statistics.median(crit_rates):.0f}  "
          f"(min {min(crit_rates):.0f}, max {max(crit_rates):.0f})")
    medians = {tid: statistics.median(ts) for tid, ts in per_trial.items()}
    slowest = sorted(medians.items(), key=lambda kv: -kv[1])[:10]
    print("10 slowest trials (median seconds):")
    for tid, s in slowest:
        print(f"  {tid}  {s * 1000:.1f} ms")
    slow = sum(1 for s in medians.values() if s > SLOW_SECONDS)
    print(f"slower than {SLOW_SECONDS:g} s: {slow}")
    print(f"compile errors: {len(errors)}")
    for tid, err in sorted(errors.items()):
        print(f"  {tid}: {err}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    p.add_argument("--pin", type=int, metavar="CPU",
                   help="pin the process to this CPU (default: not pinned)")
    p.add_argument("--every", type=int, default=1, metavar="K",
                   help="compile every K-th trial only (a quick look; default all)")
    args = p.parse_args(argv)
    if not (args.data / CORPUS[0]).is_file():
        print(f"skipped: corpus not present at {args.data} (../shared/data)")
        return 0
    trials = load_corpus(args.data)[:: max(1, args.every)]
    print(f"{len(trials)} trials ({', '.join(CORPUS)}); {pin(args.pin)}; "
          f"Python {sys.version.split()[0]}")
    warm_up()
    return run(trials, max(1, args.repeats))


if __name__ == "__main__":
    sys.exit(main())
