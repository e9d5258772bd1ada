"""The HTTP service: FastAPI app over the trial registry and the matcher.

``create_app(data_dir)`` builds the app; ``trialmatch serve`` runs it on
uvicorn.  Every ``/v1`` endpoint needs ``Authorization: Bearer KEY``;
``/healthz`` and the coordinator's page (``/``, ``/static/...``) do not.
Bad input is refused with 4xx and every problem as a JSON pointer
(``matcher.service.problems``); patient data is never stored or logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from criteria.overrides import OverrideError, apply_overrides, parse_overrides, stale_overrides
from matcher.service import ctgov
from matcher.service.answer import Answer, MatchJob, Refusal, answer
from matcher.service.audit import AuditMiddleware, audit_logger
from matcher.service.engine import Engine
from matcher.service.fastpath import MatchFastPath, MatchQuery
from matcher.service.fhir_validate import bundle_problems
from matcher.service.ingest import (
    compile_and_store,
    parse_trials_json,
    parse_trials_xml,
    seed_if_empty,
)
from matcher.service.limits import DEFAULT_MAX_BODY, BodyLimitMiddleware
from matcher.service.pool import MatchPool, MatchProcessError, MatchProcessLost
from matcher.service.problems import (
    ApiError,
    invalid,
    path_message,
    pointer_of_loc,
    problem,
    refusal,
)
from matcher.service.registry import Registry

STATIC = Path(__file__).parent / "static"
JSON_TYPES = ("application/json", "application/fhir+json")
XML_TYPES = ("application/xml", "text/xml")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
_log = logging.getLogger("trialmatch.service")

_JSON_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object"}}}}}
_TRIAL_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object"}},
    "application/xml": {"schema": {"type": "string"}}}}}
_OVERRIDE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object"}},
    "application/yaml": {"schema": {"type": "string"}}}}}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _require_type(request: Request, allowed: tuple[str, ...]) -> str:
    kind = _media_type(request)
    if kind not in allowed:
        raise ApiError(415, f"unsupported media type: send {', '.join(allowed)}")
    return kind


async def _text(request: Request) -> str:
    return _decode(await request.body())


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid([problem("", "not UTF-8 text")]) from None


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise invalid([problem("/as_of", "must be a date YYYY-MM-DD", "query")]) from None


def _strict_fhir(text: str) -> None:
    """Refuse a FHIR Bundle holding invalid resources (``fhir=strict``)."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return  # the patient reader names the broken JSON
    if isinstance(obj, dict) and obj.get("resourceType") == "Bundle":
        problems = bundle_problems(obj)
        if problems:
            raise invalid(problems, "invalid FHIR resources")


def _trial_ids(values: list[str] | None) -> frozenset[str] | None:
    if not values:
        return None
    return frozenset(part.strip() for v in values for part in v.split(",") if part.strip())


async def require_key(request: Request) -> str:
    """The name of the request's valid API key, else 401.  On the event loop:
    one indexed SQLite read and a hash, less than handing it to a thread."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    registry: Registry = request.app.state.registry
    name = registry.key_name(key.strip()) if scheme.lower() == "bearer" else None
    if name is None:
        raise ApiError(401, "missing or invalid API key (Authorization: Bearer KEY)",
                       headers={"WWW-Authenticate": "Bearer"})
    request.state.key_name = name
    return name


Key = Annotated[str, Depends(require_key)]


def create_app(data_dir: Path | str, *, max_body_bytes: int = DEFAULT_MAX_BODY,
               ctgov_transport: Any = None, seed: bool = True,
               match_processes: int = 0) -> FastAPI:
    """The service over the registry in ``data_dir`` (created when missing;
    an empty registry gets the bundled library when ``seed``).  Matching runs
    in ``match_processes`` processes (``matcher.service.pool``), or with 0 in
    this process, one request at a time on one thread."""
    registry = Registry(data_dir)
    if seed:
        seed_if_empty(registry)
    engine = Engine(registry)
    pool = MatchPool(data_dir, match_processes) if match_processes > 0 else None
    # One thread: matching is pure Python, so concurrent matches only take
    # turns at the interpreter lock, each paying for the switches.
    matcher_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="match")

    async def run_match(job: MatchJob) -> Answer | Refusal:
        if pool is None:
            return await asyncio.get_running_loop().run_in_executor(matcher_thread, answer,
                                                                     engine, job)
        try:
            return await pool.run(job)
        except MatchProcessLost:
            _log.error("a match process died; another was started")
            raise ApiError(503, "the match process stopped; try again",
                           headers={"Retry-After": "1"}) from None
        except MatchProcessError as err:
            _log.error("internal error: %s", err)  # the exception's type name only
            raise ApiError(500, "internal error") from None

    async def match_response(data: bytes, q: MatchQuery) -> Response:
        """``POST /v1/match``'s answer (the route and the fast path)."""
        text = _decode(data)
        if q.fhir == "strict":
            await run_in_threadpool(_strict_fhir, text)
        # Every problem at once: the query's here, the trial ids' and the
        # body's where the match runs.
        day = None
        problems: tuple[dict[str, str], ...] = ()
        try:
            day = _as_of(q.as_of)
        except ApiError as err:
            problems = tuple(err.problems or ())
        outcome = await run_match(MatchJob(
            text, day, q.assume_absent, q.status == "any", _trial_ids(q.trials), q.limit,
            q.format, q.engine, problems))
        if isinstance(outcome, Refusal):
            raise invalid(outcome.problems, outcome.title)
        return Response(outcome.body, media_type=outcome.media_type)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Build the match plan(s) before taking requests: the first request is not slow.
        if pool is not None:
            await run_in_threadpool(pool.start)
        else:
            await asyncio.get_running_loop().run_in_executor(matcher_thread, engine.plan)
        try:
            yield
        finally:
            if pool is not None:
                await run_in_threadpool(pool.close)

    app = FastAPI(title="trialmatch", version="1", lifespan=lifespan,
                  description="Clinical trial matching: patients (contract JSON or FHIR R4) "
                              "against a registry of compiled trials.")
    app.state.registry = registry
    app.state.engine = engine
    app.add_middleware(MatchFastPath, key_name=registry.key_name, media_types=JSON_TYPES,
                       handle=match_response, route=lambda: match_route,
                       refuse=_refusal_of)
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes)
    app.add_middleware(AuditMiddleware, logger=audit_logger(Path(data_dir)))

    # ------------------------------------------------------------------ errors

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return refusal(exc.status, exc.title, exc.problems, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = list(err.get("loc", ()))
            where = str(loc.pop(0)) if loc else "body"
            problems.append(problem(pointer_of_loc(loc), str(err.get("msg", "invalid")), where))
        return refusal(422, "invalid request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return refusal(exc.status_code, str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # The type only: a message could hold patient data.
        _log.error("internal error: %s", type(exc).__name__)
        return refusal(500, "internal error")

    # ------------------------------------------------------------------ open endpoints

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "trials": registry.count()}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ------------------------------------------------------------------ matching

    @app.post("/v1/match", tags=["match"], openapi_extra=_JSON_BODY, responses={
        401: {"description": "no valid key"}, 413: {"description": "body too large"},
        415: {"description": "not JSON"}, 422: {"description": "invalid patient"}})
    async def match(
        request: Request, _key: Key,
        as_of: Annotated[str | None, Query(description="evaluation date YYYY-MM-DD")] = None,
        assume_absent: bool = False,
        status: Literal["open", "any"] = "open",
        trials: Annotated[list[str] | None, Query(description="trial ids (repeat or comma-separate)")] = None,  # noqa: E501
        format: Literal["json", "fhir"] = "json",
        limit: Annotated[int | None, Query(ge=1, le=100000,
                                           description="only the best N trials in full")] = None,
        engine_name: Annotated[Literal["fast", "rule-engine"],
                               Query(alias="engine", description="executor")] = "fast",
        fhir: Annotated[Literal["lenient", "strict"],
                        Query(description="strict: refuse any invalid FHIR resource")
                        ] = "lenient",
    ) -> Response:
        _require_type(request, JSON_TYPES)
        return await match_response(await request.body(), MatchQuery(
            as_of, assume_absent, status, trials, format, limit, engine_name, fhir))

    match_route = next(r for r in app.routes if getattr(r, "path", None) == "/v1/match")

    # ------------------------------------------------------------------ the registry

    @app.get("/v1/trials", tags=["trials"])
    def list_trials(_key: Key) -> dict[str, Any]:
        return {"trials": registry.list_trials()}

    @app.get("/v1/trials/{trial_id}", tags=["trials"], responses={404: {"description": "none"}})
    def get_trial(trial_id: str, _key: Key) -> dict[str, Any]:
        row = registry.get_trial(trial_id)
        if row is None:
            raise ApiError(404, f"no trial {trial_id}")
        curated = row.compiled
        if row.overrides is not None:
            curated = apply_overrides(row.compiled, parse_overrides(row.overrides, "registry"))
        return {
            "trial": curated.trial.model_dump(),
            "version": row.version,
            "versions": registry.versions(trial_id),
            "updated": row.updated,
            "source_format": row.source_format,
            "eligibility_text": curated.trial.eligibility_text,
            "criteria": [c.model_dump(mode="json") for c in curated.criteria],
            "overrides": row.overrides,
            "stale_overrides": [s.model_dump() for s in stale_overrides(curated)],
        }

    @app.put("/v1/trials", tags=["trials"], openapi_extra=_TRIAL_BODY)
    async def put_trials(request: Request, _key: Key) -> dict[str, Any]:
        kind = _require_type(request, JSON_TYPES + XML_TYPES)
        if kind in XML_TYPES:
            records = parse_trials_xml(await request.body())
            source_format = "ctgov-legacy-xml"
        else:
            records = parse_trials_json(await _text(request))
            source_format = "json"
        results = await run_in_threadpool(compile_and_store, registry, records, source_format)
        return {"trials": [{"trial_id": r.trial_id, "version": r.version, "changed": r.changed}
                           for r in results]}

    @app.put("/v1/trials/{trial_id}/overrides", tags=["trials"], openapi_extra=_OVERRIDE_BODY,
             responses={404: {"description": "no such trial"}})
    async def put_overrides(trial_id: str, request: Request, _key: Key) -> dict[str, Any]:
        kind = _require_type(request, JSON_TYPES + YAML_TYPES)
        text = await _text(request)
        try:
            data = yaml.safe_load(text)  # JSON is YAML too
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise invalid([problem("", f"invalid {'JSON' if kind in JSON_TYPES else 'YAML'}"
                                       f"{where}")]) from None
        except RecursionError:
            raise invalid([problem("", "nested too deeply")]) from None
        row = registry.get_trial(trial_id)
        if row is None:
            raise ApiError(404, f"no trial {trial_id}")
        try:
            doc = parse_overrides(data, f"registry:{trial_id}")
        except OverrideError as err:
            ptr, message = path_message(err.reason)
            raise invalid([problem(ptr, message)], "invalid override file") from None
        if doc.trial_id != trial_id:
            raise invalid([problem("/trial_id", "must be the trial of the URL")])
        version = registry.put_overrides(doc, text)
        curated = apply_overrides(row.compiled, doc)
        return {"trial_id": trial_id, "overrides_version": version,
                "stale_overrides": [s.model_dump() for s in stale_overrides(curated)]}

    @app.post("/v1/trials/refresh", tags=["trials"], responses={
        502: {"description": "ClinicalTrials.gov not reachable"}})
    async def refresh(
        _key: Key,
        condition: str | None = None,
        term: str | None = None,
        status: Annotated[list[str] | None, Query(description="overall status filter")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        if not condition and not term:
            raise invalid([problem("/condition", "condition or term is required", "query")])
        try:
            studies = await run_in_threadpool(
                ctgov.fetch_studies, condition, term, status, limit, ctgov_transport)
        except ctgov.FetchError as exc:
            raise ApiError(502, str(exc)) from None
        records = []
        for study in studies:
            try:
                records.extend(parse_trials_json(_dumps(study)))
            except ApiError:
                continue  # a record ClinicalTrials.gov sends that we cannot read is skipped
        results = await run_in_threadpool(compile_and_store, registry, records, "json")
        return {"fetched": len(studies),
                "trials": [{"trial_id": r.trial_id, "version": r.version, "changed": r.changed}
                           for r in results]}

    return app


def _refusal_of(exc: Exception) -> JSONResponse | None:
    """An ``ApiError`` as the app's handler answers it (for the fast path)."""
    if isinstance(exc, ApiError):
        return refusal(exc.status, exc.title, exc.problems, exc.headers)
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
