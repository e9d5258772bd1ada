"""Refusals as JSON: every problem named by a JSON pointer, never by a value.

The engine names fields in its dotted style (``labs[3].unit``, FHIR's
``entry[2].resource.valueQuantity``); the API answers with RFC 6901 JSON
pointers into the request body (``/labs/3/unit``) or, for query parameters,
the parameter's name (``/as_of`` with ``"in": "query"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi.responses import JSONResponse

from matcher.patient import DOCUMENT

_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(path: str) -> str:
    """``labs[3].unit`` -> ``/labs/3/unit``; the whole document -> ``""``."""
    if not path or path == DOCUMENT:
        return ""
    out = []
    for index, name in _PART.findall(path):
        out.append(index if index else _escape(name))
    return "".join("/" + p for p in out)


def pointer_of_loc(loc: Iterable[Any]) -> str:
    return "".join("/" + _escape(str(p)) for p in loc)


def problem(ptr: str, message: str, where: str = "body") -> dict[str, str]:
    return {"in": where, "pointer": ptr, "message": message}


def refusal(status: int, title: str, problems: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "title": title}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status, headers=headers)


class ApiError(Exception):
    """Raised by handlers; turned into a refusal by the app."""

    def __init__(self, status: int, title: str, problems: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(title)
        self.status = status
        self.title = title
        self.problems = problems
        self.headers = headers


def invalid(problems: list[dict[str, str]], title: str = "invalid request") -> ApiError:
    return ApiError(422, title, problems)


def path_message(text: str) -> tuple[str, str]:
    """``"field.path: message"`` (the engine's error style) as (pointer, message)."""
    head, sep, rest = text.partition(": ")
    if sep and re.fullmatch(r"[A-Za-z_][\w.\[\]]*", head):
        return pointer(head), rest
    return "", text
