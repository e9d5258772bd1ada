"""One audit line per request: time, key name, endpoint, status, duration.

The endpoint is the route's template (``/v1/trials/{trial_id}``), never the
query string or the body: no patient data reaches the log.  Lines go to
``audit.log`` in the data folder and to the ``trialmatch.audit`` logger.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def audit_logger(data_dir: Path) -> logging.Logger:
    log = logging.getLogger(f"trialmatch.audit.{data_dir.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    if not log.handlers:
        handler = logging.FileHandler(data_dir / "audit.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    return log


def _endpoint(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if template:
        return str(template)
    path = str(scope.get("path", ""))
    # Unrouted paths are shown by their first segment only: they are not ours.
    return path if path in ("/", "/healthz") or path.startswith("/static/") else "(unrouted)"


class AuditMiddleware:
    def __init__(self, app: ASGIApp, logger: logging.Logger):
        self.app = app
        self.logger = logger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            state: Any = scope.get("state") or {}
            line = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "key": state.get("key_name", "-") if isinstance(state, dict) else "-",
                "method": scope.get("method"),
                "endpoint": _endpoint(scope),
                "status": status["code"],
                "ms": round((time.perf_counter() - start) * 1000, 1),
            }
            self.logger.info(json.dumps(line))
