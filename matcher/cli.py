"""The ``trialmatch`` command: match, compile, trials.

Bad input exits 2 with a message naming the file and field path on stderr,
never a traceback.  Patient values never appear in messages.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from criteria.sources import TrialFileError, load_seed_trials, read_trial_paths
from criteria.units import UnitError
from criteria.vocab import KnowledgeError
from matcher import render
from matcher.library import (
    CompileOutcome,
    CompileReport,
    compile_each,
    curate_outcomes,
    load_trials,
    override_files,
)
from matcher.match import match_patient
from matcher.patient import PatientError, load_patient


class UsageError(Exception):
    """Bad input named for the user; exit status 2."""


def _read_patient(arg: str) -> Any:
    if arg == "-":
        return load_patient(sys.stdin.read(), "<stdin>")
    path = Path(arg)
    if not path.is_file():
        raise UsageError(f"{arg}: no such patient file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{arg}: cannot read ({type(err).__name__})") from None
    return load_patient(text, arg)


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if len(value) != 10 or value[4] != "-" or value[7] != "-":
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError("--as-of: must be a date YYYY-MM-DD") from None


def cmd_match(args: argparse.Namespace) -> int:
    patient = _read_patient(args.patient)
    as_of = patient.effective_as_of(_as_of(args.as_of))
    errors: list[dict[str, str]] = []
    trials = load_trials(args.trials, args.overrides, errors)
    result = match_patient(patient, trials, as_of, assume_absent=args.assume_absent,
                           any_status=args.status == "any")
    if errors:
        # A trial the compiler failed on is not matched: said, never skipped silently.
        result["errors"] = errors
        for e in errors:
            print(f"trialmatch: compile error, trial not matched: {e['trial_id']}: {e['error']}",
                  file=sys.stderr)
    if args.format == "json":
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        render.match_table(result, sys.stdout)
    return 0


def _compile_error_line(outcome: CompileOutcome) -> str:
    where = f" (at {outcome.where})" if outcome.where else ""
    return f"trialmatch: compile error: {outcome.trial_id}: {outcome.error}{where}"


def _indented_json(value: Any, indent: str) -> str:
    """``value`` as ``json.dump(..., indent=2)`` writes it nested at ``indent``."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + indent)


def cmd_compile(args: argparse.Namespace) -> int:
    """Compile trials and show their criteria.

    One trial's compiler error never ends the run: it is reported on stderr and
    in the JSON summary (``errors``), and the other trials go on; the exit status
    stays 0.  Trials compiling for longer than a second are listed as ``slow``.
    Output is written trial by trial, so a corpus is never held twice.
    """
    items = read_trial_paths([Path(p) for p in args.trials]) if args.trials \
        else list(load_seed_trials())
    overrides = override_files(args.overrides, bundled=not args.trials)
    workers = args.workers if args.workers and args.workers > 0 else 1
    report = CompileReport()
    out = sys.stdout
    first = True
    if args.format == "json":
        out.write('{\n  "trials": [')
    for outcome in curate_outcomes(compile_each(items, workers=workers), overrides):
        if outcome.compiled is None:
            report.add(outcome)
            print(_compile_error_line(outcome), file=sys.stderr)
            continue
        if args.format == "json":
            entry = render.compile_json([outcome.compiled])["trials"][0]
            report.add(outcome, entry)
            out.write(("\n    " if first else ",\n    ") + _indented_json(entry, "    "))
            first = False
        else:
            report.add(outcome, render.compile_json([outcome.compiled])["trials"][0])
            render.compile_table([outcome.compiled], out)
    summary = report.summary()
    if args.format == "json":
        out.write(("]" if first else "\n  ]") + ',\n  "summary": '
                  + _indented_json(summary, "  ") + "\n}\n")
    else:
        for s in summary["slow"]:
            print(f"trialmatch: slow compile: {s['trial_id']}: {s['seconds']:.1f} s",
                  file=sys.stderr)
        if summary["errors"]:
            print(f"trialmatch: {len(summary['errors'])} of "
                  f"{summary['trials'] + len(summary['errors'])} trials failed to compile",
                  file=sys.stderr)
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        from matcher.service.commands import cmd_fetch

        return cmd_fetch(args)
    trials = list(load_seed_trials())
    if args.format == "json":
        json.dump([t.model_dump(exclude={"eligibility_text"}) for t in trials], sys.stdout,
                  indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        render.trials_table(trials, sys.stdout)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="trialmatch", description=(
        "Compile clinical-trial eligibility text into executable criteria and match patients."))
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("match", help="match a patient against trials")
    m.add_argument("patient", help="patient document or FHIR R4 Bundle (JSON), or - for stdin")
    m.add_argument("--trials", nargs="+", metavar="PATH",
                   help="trial files or folders (default: the bundled library)")
    m.add_argument("--as-of", help="evaluation date YYYY-MM-DD (default: the document's as_of)")
    m.add_argument("--assume-absent", action="store_true",
                   help="count unrecorded histories (conditions, treatments) as absent")
    m.add_argument("--status", choices=["open", "any"], default="open",
                   help="open: recruiting / not yet recruiting only (default); any: every trial")
    m.add_argument("--overrides", nargs="+", metavar="PATH",
                   help="curated override files or folders of *.yaml (docs/overrides.md)")
    m.add_argument("--format", choices=["table", "json"], default="table")
    m.set_defaults(func=cmd_match)
    c = sub.add_parser("compile", help="show the compiled criteria of trials")
    c.add_argument("trials", nargs="*", metavar="TRIAL",
                   help="trial files or folders (default: the bundled library)")
    c.add_argument("--overrides", nargs="+", metavar="PATH",
                   help="curated override files or folders of *.yaml (docs/overrides.md)")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.add_argument("--workers", type=int, default=1, metavar="N",
                   help="compile in N processes (default 1)")
    c.set_defaults(func=cmd_compile)
    t = sub.add_parser("trials", help="list the bundled library; fetch from ClinicalTrials.gov")
    t.add_argument("action", nargs="?", choices=["fetch"],
                   help="fetch: pull studies from the ClinicalTrials.gov API v2")
    t.add_argument("--format", choices=["table", "json"], default="table")
    importlib.import_module("matcher.service.commands").add_fetch_arguments(t)
    t.set_defaults(func=cmd_trials)
    for module in _COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return p


# The service (serve, keys) and cohort screening (screen, synth) add their
# subcommands from their own packages: each module has ``register(sub)``.
_COMMAND_MODULES: tuple[str, ...] = ("matcher.cohort.synth_commands",
                                     "matcher.cohort.commands",
                                     "matcher.service.commands")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, PatientError, TrialFileError, UnitError, KnowledgeError) as err:
        print(f"trialmatch: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    # Run as ``python -m matcher.cli``: dispatch through the imported module, so
    # that ``matcher.cli.UsageError`` raised by subcommand modules is this
    # ``main``'s class (not a second copy of it from ``__main__``).
    from matcher.cli import main as _imported_main

    sys.exit(_imported_main())
