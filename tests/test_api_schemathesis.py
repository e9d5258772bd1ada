"""Schemathesis over the app's OpenAPI: generated requests (valid and broken
bodies, odd query values) never get a 500 answer."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, settings

from matcher.service.app import create_app
from matcher.service.registry import Registry

FIXTURES = Path(__file__).parent / "fixtures" / "ctgov"


def _ctgov(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=(FIXTURES / "studies_breast_page2.json").read_bytes(),
                          headers={"content-type": "application/json"})


_DATA = tempfile.mkdtemp(prefix="trialmatch-schemathesis-")
APP = create_app(_DATA, max_body_bytes=100_000, ctgov_transport=httpx.MockTransport(_ctgov))
KEY = Registry(_DATA).create_key("schemathesis")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call(headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code < 500, (case.method, case.path, response.status_code)


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_key_is_refused(case):
    response = case.call()
    if case.path.startswith("/v1/"):
        # 405: schemathesis also tries methods an endpoint does not have.
        assert response.status_code in (401, 405)
    else:
        assert response.status_code < 500
