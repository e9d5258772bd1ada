"""``POST /v1/match`` past FastAPI's request machinery, when that changes nothing.

Under load the HTTP process spent about a third of its time per match in
FastAPI's routing, dependency solving and query validation.  This middleware
answers the requests whose query it reads exactly as FastAPI would (known
parameters, each value one FastAPI takes as is, a valid key, a JSON media
type) with the same handler the route calls; anything else (a bad or
unusual query, a missing key, ``fhir=strict``, another path) goes on to
FastAPI unchanged, which answers it and its errors as before.  It sits inside
the audit and body-limit middlewares, so both still see every request, and it
names the route to the audit line as the router would.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

_SINGLE_CHOICES = {
    "status": ("open", "any"),
    "format": ("json", "fhir"),
    "engine": ("fast", "rule-engine"),
    "fhir": ("lenient",),  # strict validates in a thread: FastAPI's route does it
    "assume_absent": ("true", "false"),
}
_LIMIT = re.compile(r"[1-9][0-9]{0,5}")  # an int FastAPI reads as is, within 1..100000
_MAX_LIMIT = 100000


@dataclass(frozen=True)
class MatchQuery:
    """The route's query parameters, with the route's defaults."""

    as_of: str | None = None
    assume_absent: bool = False
    status: str = "open"
    trials: list[str] | None = None
    format: str = "json"
    limit: int | None = None
    engine: str = "fast"
    fhir: str = "lenient"


def read_query(raw: bytes) -> MatchQuery | None:
    """The query as the route reads it, or None when FastAPI should read it
    (anything unknown, repeated, or that its validation might change)."""
    seen: dict[str, str] = {}
    trials: list[str] = []
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name == "trials":
            trials.append(value)
            continue
        if name in seen:
            return None
        if name == "as_of":
            pass  # any text: the route's own check names a bad date
        elif name == "limit":
            if not _LIMIT.fullmatch(value) or int(value) > _MAX_LIMIT:
                return None
        elif value not in _SINGLE_CHOICES.get(name, ()):
            return None
        seen[name] = value
    return MatchQuery(
        as_of=seen.get("as_of"),
        assume_absent=seen.get("assume_absent") == "true",
        status=seen.get("status", "open"),
        trials=trials or None,
        format=seen.get("format", "json"),
        limit=int(seen["limit"]) if "limit" in seen else None,
        engine=seen.get("engine", "fast"),
        fhir=seen.get("fhir", "lenient"))


def _header(scope: Scope, name: bytes) -> str:
    """The first header ``name`` (lower case), as Starlette's ``headers.get``."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


Handler = Callable[[bytes, MatchQuery], Awaitable[Response]]


class MatchFastPath:
    def __init__(self, app: ASGIApp, *, key_name: Callable[[str], str | None],
                 media_types: tuple[str, ...], handle: Handler,
                 route: Callable[[], Any], refuse: Callable[[Exception], Response | None]):
        self.app = app
        self.key_name = key_name  # the name of a valid API key, else None
        self.media_types = media_types
        self.handle = handle  # (body, query) -> the route's response
        self.route = route  # the route FastAPI would pick, for the audit line
        self.refuse = refuse  # an ApiError as the app's refusal, else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != "/v1/match"
                or scope["method"] != "POST"):
            await self.app(scope, receive, send)
            return
        query = read_query(scope.get("query_string", b""))
        kind = _header(scope, b"content-type").split(";")[0].strip().lower()
        scheme, _, key = _header(scope, b"authorization").partition(" ")
        name = (self.key_name(key.strip()) if query is not None and kind in self.media_types
                and scheme.lower() == "bearer" else None)
        if query is None or name is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route()
        state = scope.setdefault("state", {})
        if isinstance(state, dict):
            state["key_name"] = name
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            response = await self.handle(b"".join(chunks), query)
        except Exception as exc:
            refused = self.refuse(exc)
            if refused is None:
                raise
            response = refused
        await response(scope, receive, send)
