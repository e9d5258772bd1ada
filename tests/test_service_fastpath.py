"""The ``POST /v1/match`` fast path (``matcher.service.fastpath``): it takes
only the requests it reads exactly as FastAPI would, answers them byte for
byte as the FastAPI route does, and the audit log names them the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.responses import Response

from matcher.service.app import create_app
from matcher.service.fastpath import MatchFastPath, MatchQuery, read_query
from matcher.service.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.mark.parametrize(("raw", "want"), [
    (b"", MatchQuery()),
    (b"status=any&limit=10", MatchQuery(status="any", limit=10)),
    (b"limit=100000&format=fhir&engine=rule-engine&assume_absent=true",
     MatchQuery(limit=100000, format="fhir", engine="rule-engine", assume_absent=True)),
    (b"trials=NCT1,NCT2&trials=NCT3&as_of=2025-01-02",
     MatchQuery(trials=["NCT1,NCT2", "NCT3"], as_of="2025-01-02")),
    (b"as_of=not-a-date&trials=", MatchQuery(as_of="not-a-date", trials=[""])),
    (b"assume_absent=false&fhir=lenient", MatchQuery()),
])
def test_queries_read_as_the_route_reads_them(raw: bytes, want: MatchQuery) -> None:
    assert read_query(raw) == want


@pytest.mark.parametrize("raw", [
    b"x=1", b"status=any&status=open", b"status=", b"status=ANY", b"limit=0", b"limit=010",
    b"limit=100001", b"limit=+5", b"limit=", b"assume_absent=1", b"assume_absent=True",
    b"fhir=strict", b"engine=slow", b"as_of=2025-01-01&as_of=2025-01-02", b"format=xml",
])
def test_anything_else_is_left_to_fastapi(raw: bytes) -> None:
    assert read_query(raw) is None


async def _call(app: MatchFastPath, method: str, path: str, query: bytes,
                headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    sent: list[dict[str, object]] = []
    body = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> dict[str, object]:
        return body.pop(0) if body else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "headers": headers, "state": {}}
    await app(scope, receive, send)  # type: ignore[arg-type]
    return int(sent[0]["status"]), bytes(sent[1]["body"])  # type: ignore[call-overload]


def test_the_fast_path_takes_only_its_requests() -> None:
    import asyncio

    async def fastapi_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        await Response(b"fastapi")(scope, receive, send)

    async def handle(data: bytes, query: MatchQuery) -> Response:
        return Response(b"fast " + data)

    app = MatchFastPath(fastapi_app, key_name=lambda k: "n" if k == "good" else None,
                        media_types=("application/json",), handle=handle,
                        route=lambda: None, refuse=lambda exc: None)
    ok = [(b"authorization", b"Bearer good"), (b"content-type", b"application/json")]

    def run(method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
        return asyncio.run(_call(app, method, path, query, headers))[1]

    assert run("POST", "/v1/match", b"status=any&limit=3", ok) == b"fast {}"
    assert run("POST", "/v1/match", b"", ok[:1] + [(b"content-type",
                                                     b"application/json; charset=utf-8")]
               ) == b"fast {}"
    assert run("POST", "/v1/match", b"status=bad", ok) == b"fastapi"
    assert run("POST", "/v1/match", b"", [(b"authorization", b"Bearer bad"), ok[1]]
               ) == b"fastapi"
    assert run("POST", "/v1/match", b"", [(b"authorization", b"Basic good"), ok[1]]
               ) == b"fastapi"
    assert run("POST", "/v1/match", b"", [ok[0], (b"content-type", b"text/plain")]
               ) == b"fastapi"
    assert run("GET", "/v1/match", b"", ok) == b"fastapi"
    assert run("POST", "/v1/trials", b"", ok) == b"fastapi"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("fastpath")
    app = create_app(data)
    key = Registry(data).create_key("fast-path-check")
    with TestClient(app) as client:
        yield client, key, data


QUERIES = ["status=any&limit=3", "status=any", "status=any&format=fhir&limit=2",
           "status=any&engine=rule-engine&limit=2", "as_of=2025-02-30&trials=NCT0",
           "status=any&trials=NCT06935188,NCT05721443&assume_absent=true"]


def test_answers_equal_the_fastapi_route(served) -> None:  # type: ignore[no-untyped-def]
    client, key, data = served
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    bodies = [p.read_bytes() for p in EXAMPLES] + [b'{"birth_date": 5}', b"\xff\xfe",
                                                    b"[]"]
    statuses = set()
    for query in QUERIES:
        for body in bodies:
            fast = client.post(f"/v1/match?{query}", content=body, headers=headers)
            # An unknown parameter sends the request through FastAPI's route.
            route = client.post(f"/v1/match?{query}&unknown=1", content=body, headers=headers)
            assert fast.status_code == route.status_code, (query, fast.text[:200])
            assert fast.headers["content-type"] == route.headers["content-type"]
            assert fast.content == route.content, query
            statuses.add(fast.status_code)
    assert statuses == {200, 422}
    lines = [json.loads(x) for x in (data / "audit.log").read_text().splitlines()]
    matches = [x for x in lines if x["method"] == "POST"]
    assert len(matches) == 2 * len(QUERIES) * len(bodies)
    assert {x["endpoint"] for x in matches} == {"/v1/match"}
    assert {x["key"] for x in matches} == {"fast-path-check"}


def test_a_too_large_body_is_refused_on_the_fast_path(tmp_path: Path) -> None:
    app = create_app(tmp_path, max_body_bytes=1000)
    key = Registry(tmp_path).create_key("k")
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b" " * 500  # streamed: no Content-Length to refuse it early

    with TestClient(app) as client:
        r = client.post("/v1/match?status=any", content=chunks(), headers=headers)
    assert r.status_code == 413
