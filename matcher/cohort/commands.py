"""``trialmatch screen``: the compiled criteria over a whole cohort (issue 5)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from matcher.patient import PatientDocument

__all__ = ["register"]


def _chunks(path: str, chunk_size: int) -> Iterator[list[PatientDocument]]:
    from matcher.cohort.readers import iter_cohort

    # fast: plain documents read without the pydantic model (fast_patient)
    return iter_cohort(path, chunk_size, fast=True)


def cmd_screen(args: argparse.Namespace) -> int:
    from matcher.cli import UsageError, _as_of
    from matcher.cohort.readers import CohortError, detect_format
    from matcher.cohort.screen import ScreenInputError, ScreenOptions, run_screen
    from matcher.library import load_trials

    if args.chunk_size < 1:
        raise UsageError("--chunk-size: must be at least 1")
    if args.spark_master and args.engine != "spark":
        raise UsageError("--spark-master: needs --engine spark")
    try:
        detect_format(Path(args.cohort))
    except CohortError as err:
        raise UsageError(str(err)) from None
    since = Path(args.since) if args.since else None
    if since is not None and not since.is_dir():
        raise UsageError(f"--since {args.since}: no such folder")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a folder")
    errors: list[dict[str, str]] = []
    trials = load_trials(args.trials, args.overrides, errors)
    for e in errors:
        print(f"trialmatch: compile error, trial not screened: {e['trial_id']}: {e['error']}",
              file=sys.stderr)
    opts = ScreenOptions(cohort=args.cohort, trials=trials, out=out, engine=args.engine,
                         spark_master=args.spark_master, as_of=_as_of(args.as_of),
                         assume_absent=args.assume_absent, any_status=args.status == "any",
                         chunk_size=args.chunk_size, since=since, compile_errors=errors)
    console = Console(stderr=True)
    progress = Progress(SpinnerColumn(), TextColumn("[bold]screening[/] {task.description}"),
                        BarColumn(bar_width=None), TextColumn("{task.completed:,} patients"),
                        TimeElapsedColumn(), console=console, transient=False,
                        disable=args.quiet)
    task = progress.add_task("", total=None)

    def events(kind: str, data: dict[str, Any]) -> None:
        if kind == "plan":
            _print_plan(data)
            progress.update(task, description=f"{data['to_run']} trials")
        elif kind == "chunk":
            progress.update(task, completed=data["patients"],
                            description=f"{data['pairs']:,} patient x trial pairs")

    try:
        with progress:
            summary = run_screen(opts, _chunks, events)
    except CohortError as err:
        raise UsageError(str(err)) from None
    except ScreenInputError as err:
        raise UsageError(str(err)) from None
    _print_summary(summary, out)
    if args.report:
        _write_report(out, Path(args.report))
    return 0


def _print_plan(data: dict[str, Any]) -> None:
    """Said up front: what runs as SQL, what falls back, what is copied."""
    err = sys.stderr
    if data["since_note"]:
        print(f"trialmatch: --since: {data['since_note']}", file=err)
    if data["copied"]:
        print(f"trialmatch: --since: {data['copied']} trials unchanged (results copied), "
              f"{data['to_run']} re-screened", file=err)
    fallbacks = data["fallbacks"]
    if fallbacks:
        print(f"trialmatch: {len(fallbacks)} criteria have no SQL translation and are "
              "evaluated per patient (matcher.evaluate):", file=err)
        for f in fallbacks:
            print(f"  {f['trial_id']} {f['criterion_id']}: {f['why']}", file=err)
    else:
        print(f"trialmatch: every criterion of {data['to_run']} trials runs as SQL "
              f"({data['atoms']} distinct atoms)", file=err)


def _print_summary(summary: Any, out: Path) -> None:
    m = summary.manifest
    c = m["counts"]
    print(f"screened {c['patients']:,} patients x {c['trials']} trials = {c['pairs']:,} pairs "
          f"({m['engine']}) in {m['timings'].get('total_s', 0):.1f} s: "
          f"{c['eligible']:,} eligible, {c['possible']:,} possible, "
          f"{c['ineligible']:,} ineligible; results in {out}")
    if "since" in m:
        print(f"{summary.flips:,} verdicts flipped since {m['since']['previous']} "
              f"(flips.parquet)")
        for line in summary.flip_lines:
            print(f"  {line}")
        if summary.flips > len(summary.flip_lines):
            print(f"  ... and {summary.flips - len(summary.flip_lines):,} more")


def _write_report(out: Path, report: Path) -> None:
    try:
        from matcher.cohort.report import write_report
    except ImportError:
        print("trialmatch: --report: the HTML report is not available in this version",
              file=sys.stderr)
        return
    write_report(out, report)
    print(f"report: {report}")


def register(sub: Any) -> None:
    s = sub.add_parser("screen", help="screen a whole cohort against trials (DuckDB or Spark)")
    s.add_argument("cohort", metavar="COHORT",
                   help="JSONL of patient documents, a folder of them, a FHIR Bulk NDJSON "
                        "export folder, or a folder of flat CSV/Parquet tables")
    s.add_argument("--trials", nargs="+", metavar="PATH",
                   help="trial files or folders (default: the bundled library)")
    s.add_argument("--overrides", nargs="+", metavar="PATH",
                   help="curated override files or folders of *.yaml (docs/overrides.md)")
    s.add_argument("--out", required=True, metavar="DIR",
                   help="output folder: results.parquet, trial_criteria.parquet, manifest.json")
    s.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    s.add_argument("--spark-master", metavar="URL",
                   help="Spark master URL (default: local mode on 127.0.0.1)")
    s.add_argument("--as-of", help="evaluation date YYYY-MM-DD for every patient "
                                   "(default: each document's as_of)")
    s.add_argument("--assume-absent", action="store_true",
                   help="count unrecorded histories (conditions, treatments) as absent")
    s.add_argument("--status", choices=["open", "any"], default="open",
                   help="open: recruiting / not yet recruiting only (default); any: every trial")
    s.add_argument("--report", metavar="HTML", help="also write the HTML report")
    s.add_argument("--since", metavar="PREVIOUS_OUT",
                   help="re-screen only trials whose compiled criteria changed since a "
                        "previous OUT; list the patients whose verdict flipped")
    s.add_argument("--chunk-size", type=int, default=10000, metavar="N",
                   help="patients per chunk (memory is bounded by the chunk; default 10000)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_screen)
