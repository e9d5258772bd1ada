"""``trialmatch serve``, ``trialmatch keys create`` and ``trialmatch trials fetch``.

Registered from ``matcher.cli`` (``_COMMAND_MODULES``).  FastAPI and uvicorn
are imported only when the server starts, so other commands stay quick.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from matcher.service.registry import Registry, default_data_dir

DATA_ENV = "TRIALMATCH_DATA"
PROCESSES_ENV = "TRIALMATCH_MATCH_PROCESSES"


def _data_dir(value: str | None) -> Path:
    return Path(value) if value else default_data_dir()


def app_from_env() -> Any:
    """The app for uvicorn's factory mode."""
    from matcher.service.app import create_app

    return create_app(os.environ.get(DATA_ENV) or default_data_dir(),
                      match_processes=int(os.environ.get(PROCESSES_ENV) or 0))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from matcher.cli import UsageError

    data = _data_dir(args.data)
    if args.workers < 1:
        raise UsageError("--workers: must be at least 1")
    try:
        registry = Registry(data)
    except OSError as err:
        raise UsageError(f"--data {data}: cannot use ({type(err).__name__})") from None
    from matcher.service.ingest import seed_if_empty

    seeded = seed_if_empty(registry)  # once, before the workers start
    registry.close()
    if seeded:
        print(f"trialmatch: registry created in {data} with the bundled library "
              f"({seeded} trials)", file=sys.stderr)
    if not Registry(data).list_keys():
        print("trialmatch: no API key yet: create one with "
              f"trialmatch keys create --data {data}", file=sys.stderr)
    os.environ[DATA_ENV] = str(data)
    os.environ[PROCESSES_ENV] = str(args.workers)
    # One HTTP process handing matches to --workers match processes, each
    # request to whichever is free (matcher/service/pool.py says why not
    # uvicorn's workers).
    uvicorn.run("matcher.service.commands:app_from_env", factory=True, host=args.host,
                port=args.port, log_level=args.log_level,
                access_log=False)  # the app writes its own audit lines, without query strings
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    registry = Registry(_data_dir(args.data))
    if args.action == "create":
        key = registry.create_key(args.name)
        print(key)
        print(f"trialmatch: key '{args.name}' created; it is shown only this once",
              file=sys.stderr)
    else:
        for k in registry.list_keys():
            print(f"{k['key_id']}\t{k['name']}\t{k['created']}")
    return 0


def add_fetch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--condition", help="fetch: ClinicalTrials.gov condition query (query.cond)")
    p.add_argument("--term", help="fetch: free-text query (query.term)")
    p.add_argument("--ctgov-status", nargs="+", metavar="STATUS",
                   help="fetch: overall statuses, e.g. RECRUITING NOT_YET_RECRUITING")
    p.add_argument("--limit", type=int, default=100, help="fetch: at most N studies (100)")
    p.add_argument("--out", metavar="DIR", help="fetch: write one JSON file per study here")
    p.add_argument("--data", metavar="DIR",
                   help="fetch: compile and store the studies in this registry")


def cmd_fetch(args: argparse.Namespace) -> int:
    from matcher.cli import UsageError
    from matcher.service import ctgov

    if not args.condition and not args.term:
        raise UsageError("trials fetch: give --condition or --term")
    if not args.out and not args.data:
        raise UsageError("trials fetch: give --out DIR or --data DIR")
    if args.limit < 1:
        raise UsageError("--limit: must be at least 1")
    try:
        studies = ctgov.fetch_studies(args.condition, args.term, args.ctgov_status, args.limit)
    except ctgov.FetchError as err:
        raise UsageError(str(err)) from None
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for i, study in enumerate(studies):
            nct = (study.get("protocolSection", {}).get("identificationModule", {})
                   .get("nctId")) or f"study-{i}"
            (out / f"{nct}.json").write_text(json.dumps(study, indent=2, ensure_ascii=False),
                                             encoding="utf-8")
    stored = 0
    if args.data:
        from matcher.service.ingest import compile_and_store, parse_trials_json
        from matcher.service.problems import ApiError

        registry = Registry(args.data)
        for study in studies:
            try:
                records = parse_trials_json(json.dumps(study))
                stored += sum(r.changed for r in compile_and_store(registry, records, "json"))
            except ApiError as err:
                print(f"trialmatch: study skipped: {err.title}", file=sys.stderr)
    print(f"trialmatch: fetched {len(studies)} studies"
          + (f", {stored} new or changed in the registry" if args.data else ""), file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("serve", help="run the HTTP API and the coordinator's page")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data", metavar="DIR",
                   help=f"registry folder (default {default_data_dir()})")
    s.add_argument("--workers", type=int, default=1,
                   help="match processes, each with its own match plan (default 1)")
    s.add_argument("--log-level", default="warning",
                   choices=["critical", "error", "warning", "info", "debug"])
    s.set_defaults(func=cmd_serve)
    k = sub.add_parser("keys", help="API keys of the server")
    k.add_argument("action", choices=["create", "list"])
    k.add_argument("--data", metavar="DIR", help="registry folder (default: per-user folder)")
    k.add_argument("--name", default="default", help="who the key is for (audit log)")
    k.set_defaults(func=cmd_keys)
