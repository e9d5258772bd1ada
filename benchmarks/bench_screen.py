"""Cohort screening benchmark: `trialmatch screen` (DuckDB, Spark) against looping
the per-patient matcher, on the same synthetic cohort and trials, in the same run.

Usage (figures in the README come from the defaults):

    PYTHONPATH=. .venv/bin/python benchmarks/bench_screen.py
    PYTHONPATH=. .venv/bin/python benchmarks/bench_screen.py --patients 5000 --corpus-trials 10 \
        --runs 1 --spark-runs 0 --loop-sample 50          # a quick look

Steps:
1. ``trialmatch synth`` writes ``--patients`` patients (seed 1, JSONL), timed.
2. Trials: the bundled library (``seeds/``) plus the first ``--corpus-trials``
   legacy XML files, sorted by name, of ``../shared/data/trials/
   ctgov_legacy_xml_head_and_neck`` (oncology); all statuses (``--status any``).
   Without the shared data only the bundled library is used, and this is said.
3. ``trialmatch screen`` with DuckDB, ``--runs`` times, end to end in a
   subprocess (process start, compile, read, facts, SQL, Parquet): wall time and
   peak resident memory of the screen and its reading process together.
4. Peak RSS of a DuckDB screen of ``--patients // 5`` patients beside that of
   ``--patients``: memory is bounded by the chunk, not the cohort.
5. Spark (local mode) and DuckDB side by side on a cohort of
   ``--spark-patients`` (the first patients of the same seed), ``--spark-runs``
   times: Spark is far slower here, so it gets a smaller cohort.
6. The per-patient matcher (``matcher.match.match_patient``, what ``trialmatch
   match`` runs) looped over the first ``--loop-sample`` patients against the same
   compiled trials, in this process; its time per patient is extrapolated to the
   cohort, and the speed-up is that over the DuckDB median.  The loop's figure
   leaves out compiling the trials and reading the patients (the screen's
   includes both), so the ratio is, if anything, understated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "trials" / "ctgov_legacy_xml_head_and_neck"
# As the installed `trialmatch` script runs it.
CPU: list[float] = []  # CPU seconds of each command _run ran, in order
CLI = [sys.executable, "-c",
       "import sys; from matcher.cli import main; sys.exit(main(sys.argv[1:]))"]


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (KiB), from /proc."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines()
                          if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one command, run to completion;
    its CPU seconds (user + system, children included) are added to ``CPU``.
    The memory is the peak of the sum over the process and its children, sampled
    every 0.2 s (the screen reads the cohort in a child process; getrusage and
    /usr/bin/time report the largest single process only)."""
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kib(child.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    done.set()
    sampler.join()
    if child.returncode != 0:
        sys.exit(f"bench_screen: command failed ({child.returncode}): {' '.join(args)}\n"
                 f"{stderr[-3000:]}")
    return wall, peak / 1024


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _trial_args(work: Path, n_corpus: int) -> tuple[list[str], str]:
    args = ["--trials", str(ROOT / "seeds")]
    overrides = ROOT / "seeds" / "overrides"
    note = "bundled library"
    if n_corpus > 0:
        if CORPUS.is_dir():
            chosen = sorted(CORPUS.glob("*.xml"))[:n_corpus]
            folder = work / "corpus_trials"
            folder.mkdir(exist_ok=True)
            for f in chosen:
                shutil.copyfile(f, folder / f.name)
            args.append(str(folder))
            note += f" + {len(chosen)} corpus trials ({chosen[0].stem} .. {chosen[-1].stem})"
        else:
            print(f"bench_screen: {CORPUS} not found: bundled library only", file=sys.stderr)
    if overrides.is_dir():
        args += ["--overrides", str(overrides)]
    return args, note


def _screen(cohort: Path, out: Path, trial_args: list[str], engine: str, chunk: int | None,
            env: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    if out.exists():
        shutil.rmtree(out)
    args = CLI + ["screen", str(cohort), "--out", str(out), "--engine", engine,
                  "--status", "any", "--quiet", *trial_args]
    if chunk:
        args += ["--chunk-size", str(chunk)]
    load_before = os.getloadavg()[0]
    wall, rss = _run(args, env)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["cpu_s"] = round(CPU[-1], 1)
    # The machine is shared: the 1-minute load average before and after each
    # screen says how much of its wall time other jobs took.
    manifest["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"  {engine} screen: {wall:.1f} s wall, {CPU[-1]:.1f} CPU-s, "
          f"{rss:.0f} MiB peak, load average {manifest['load_average']}, "
          f"timings {manifest.get('timings', {})}", flush=True)
    return wall, rss, manifest


def _loop(cohort: Path, trial_args: list[str], sample: int) -> tuple[float, int, int]:
    """Seconds per patient of match_patient over the first ``sample`` patients."""
    from matcher.cohort.readers import iter_cohort
    from matcher.library import load_trials
    from matcher.match import match_patient

    paths = trial_args[1:trial_args.index("--overrides")] if "--overrides" in trial_args \
        else trial_args[1:]
    overrides = trial_args[trial_args.index("--overrides") + 1:] \
        if "--overrides" in trial_args else None
    trials = load_trials(paths, overrides, [])
    patients = next(iter_cohort(cohort, sample))[:sample]
    match_patient(patients[0], trials, patients[0].effective_as_of(), any_status=True)  # warm
    start = time.perf_counter()
    for p in patients:
        match_patient(p, trials, p.effective_as_of(), any_status=True)
    return (time.perf_counter() - start) / len(patients), len(patients), len(trials)



def _synth(out: Path, n: int, seed: int, env: dict[str, str]) -> float:
    """A fresh synthetic cohort of ``n`` patients in ``out``; the seconds it took."""
    if out.exists():
        shutil.rmtree(out)
    wall, _ = _run(CLI + ["synth", "--n", str(n), "--seed", str(seed), "--out", str(out)], env)
    return wall

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--corpus-trials", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3, help="DuckDB screens (median)")
    ap.add_argument("--spark-runs", type=int, default=1, help="Spark screens (0: skip)")
    ap.add_argument("--spark-patients", type=int, default=2000,
                    help="cohort size of the Spark comparison")
    ap.add_argument("--loop-sample", type=int, default=30,
                    help="patients looped through the per-patient matcher")
    ap.add_argument("--chunk-size", type=int, default=None, help="screen --chunk-size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None, help="working folder (default: temp)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-screen-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    trial_args, trials_note = _trial_args(work, args.corpus_trials)
    figures: dict[str, Any] = {"patients": args.patients, "trials": trials_note,
                               "cpus": os.cpu_count()}

    cohort = work / "cohort"
    wall = _synth(cohort, args.patients, args.seed, env)
    figures["synth_s"] = round(wall, 2)
    figures["synth_patients_per_s"] = round(args.patients / wall)
    print(f"synth: {args.patients:,} patients in {wall:.1f} s "
          f"({args.patients / wall:,.0f} patients/s, process start included)", flush=True)

    duck = [_screen(cohort, work / "out-duckdb", trial_args, "duckdb", args.chunk_size, env)
            for _ in range(args.runs)]
    manifest = duck[-1][2]
    c = manifest["counts"]
    figures.update({
        "trials_screened": c["trials"], "pairs": c["pairs"], "criteria": c["criteria"],
        "fallback_criteria": c["fallback_criteria"],
        "verdicts": {k: c[k] for k in ("eligible", "possible", "ineligible")},
        "duckdb_wall_s": [round(w, 2) for w, _, _ in duck],
        "duckdb_median_s": round(_median([w for w, _, _ in duck]), 2),
        "duckdb_peak_rss_mib": round(max(r for _, r, _ in duck)),
        "duckdb_cpu_s": [m["cpu_s"] for _, _, m in duck],
        "duckdb_load_average": [m["load_average"] for _, _, m in duck],
        "load_average_1min": round(os.getloadavg()[0], 2),
        "duckdb_timings_last": manifest.get("timings", {}),
    })
    print(f"duckdb: {c['patients']:,} patients x {c['trials']} trials = {c['pairs']:,} pairs, "
          f"{c['criteria']} criteria ({c['fallback_criteria']} per-patient fallbacks): "
          f"median {figures['duckdb_median_s']} s over {args.runs} "
          f"({figures['duckdb_wall_s']}), CPU {figures['duckdb_cpu_s']} s, peak RSS "
          f"{figures['duckdb_peak_rss_mib']} MiB, load average {figures['load_average_1min']}",
          flush=True)

    small = max(args.patients // 5, 1)
    small_cohort = work / "cohort-small"
    _synth(small_cohort, small, args.seed, env)
    w_small, rss_small, _ = _screen(small_cohort, work / "out-small", trial_args, "duckdb",
                                    args.chunk_size, env)
    figures["duckdb_small"] = {"patients": small, "wall_s": round(w_small, 2),
                               "cpu_s": round(CPU[-1], 1), "peak_rss_mib": round(rss_small)}
    print(f"duckdb, {small:,} patients: {w_small:.1f} s, peak RSS {rss_small:.0f} MiB "
          f"(memory bounded by the chunk, not the cohort)", flush=True)

    if args.spark_runs > 0:
        n_spark = min(args.spark_patients, args.patients)
        spark_cohort = work / "cohort-spark"
        _synth(spark_cohort, n_spark, args.seed, env)
        w_duck, _, _ = _screen(spark_cohort, work / "out-spark-duckdb", trial_args, "duckdb",
                               args.chunk_size, env)
        spark = [_screen(spark_cohort, work / "out-spark", trial_args, "spark",
                         args.chunk_size, env) for _ in range(args.spark_runs)]
        median = _median([w for w, _, _ in spark])
        pairs_spark = spark[-1][2]["counts"]["pairs"]
        figures.update({"spark_patients": n_spark,
                        "spark_wall_s": [round(w, 2) for w, _, _ in spark],
                        "spark_median_s": round(median, 2),
                        "spark_pairs_per_s": round(pairs_spark / median),
                        "spark_duckdb_same_cohort_s": round(w_duck, 2),
                        "spark_peak_rss_mib": round(max(r for _, r, _ in spark)),
                        "spark_timings_last": spark[-1][2].get("timings", {})})
        print(f"spark (local mode), {n_spark:,} patients ({pairs_spark:,} pairs): median "
              f"{median:.1f} s over {args.spark_runs} ({figures['spark_wall_s']}), "
              f"{pairs_spark / median:,.0f} pairs/s; DuckDB on the same cohort {w_duck:.1f} s; "
              f"peak RSS {figures['spark_peak_rss_mib']} MiB (the driver and the JVM it starts)",
              flush=True)

    per_patient, sample, n_trials = _loop(cohort, trial_args, args.loop_sample)
    extrapolated = per_patient * args.patients
    figures.update({"loop_sample": sample, "loop_trials": n_trials,
                    "loop_ms_per_patient": round(per_patient * 1000, 2),
                    "loop_extrapolated_s": round(extrapolated, 1),
                    "speedup_vs_duckdb": round(extrapolated / figures["duckdb_median_s"], 1)})
    print(f"per-patient matcher: {per_patient * 1000:.1f} ms per patient x {n_trials} trials "
          f"(over {sample} patients) -> {extrapolated:,.0f} s for {args.patients:,} patients; "
          f"DuckDB screen is {figures['speedup_vs_duckdb']}x faster", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
