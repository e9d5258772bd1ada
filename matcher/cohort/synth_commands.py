"""``trialmatch synth``: write a synthetic cohort (:mod:`matcher.cohort.synth`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from matcher.cohort.synth import FORMATS, write_cohort

__all__ = ["register"]


def cmd_synth(args: argparse.Namespace) -> int:
    from matcher.cli import UsageError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{args.out}: exists and is not a folder")
    started = time.perf_counter()
    paths = write_cohort(out, args.n, args.seed, args.format)
    seconds = time.perf_counter() - started
    rate = args.n / seconds if seconds > 0 else float("inf")
    print(f"trialmatch: wrote {args.n} synthetic patients (seed {args.seed}, {args.format}) "
          f"in {seconds:.1f} s ({rate:,.0f} patients/s): "
          + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError("must be a whole number, 0 or more")
    return n


def register(sub: Any) -> None:
    s = sub.add_parser("synth", help="write a synthetic oncology cohort for demos and benchmarks")
    s.add_argument("--n", type=_count, required=True, metavar="N", help="number of patients")
    s.add_argument("--seed", type=int, default=0, metavar="S",
                   help="random seed; the same seed writes the same cohort (default 0)")
    s.add_argument("--out", required=True, metavar="DIR", help="output folder")
    s.add_argument("--format", choices=FORMATS, default="jsonl",
                   help="jsonl: DIR/patients.jsonl (default); ndjson: a FHIR Bulk Data "
                        "export; csv, parquet: flat tables (docs/cohort-inputs.md)")
    s.set_defaults(func=cmd_synth)
