"""The HTTP service in process (FastAPI's test client over the real app, a
real SQLite registry in a temporary folder)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from matcher.cli import main
from matcher.service.app import create_app
from matcher.service.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONTRACT_EXAMPLE = SHARED / "contract" / "patient.example.json"
PATIENTS = SHARED / "data" / "patients"
FIXTURES = Path(__file__).parent / "fixtures" / "ctgov"
EXAMPLE = ROOT / "examples" / "patient.example.json"
OVERRIDE = ROOT / "examples" / "overrides" / "NCT06935188.yaml"


def _ctgov_transport() -> httpx.MockTransport:
    """ClinicalTrials.gov API v2 replayed from recorded pages."""
    pages = {None: FIXTURES / "studies_breast_page1.json",
             "page2": FIXTURES / "studies_breast_page2.json"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/v2/studies":
            return httpx.Response(404)
        page = pages[request.url.params.get("pageToken")]
        return httpx.Response(200, content=page.read_bytes(),
                              headers={"content-type": "application/json"})
    return httpx.MockTransport(handler)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, Path]]:
    data = tmp_path_factory.mktemp("registry")
    app = create_app(data, max_body_bytes=200_000, ctgov_transport=_ctgov_transport())
    key = Registry(data).create_key("coordinator-1")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, key, data


def _h(key: str, kind: str = "application/json") -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "content-type": kind}


def test_healthz_needs_no_key(service):
    client, _, _ = service
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["trials"] >= 5  # the bundled library seeded an empty registry


@pytest.mark.parametrize("method,path", [("post", "/v1/match"), ("get", "/v1/trials"),
                                         ("get", "/v1/trials/NCT06935188"),
                                         ("put", "/v1/trials"),
                                         ("post", "/v1/trials/refresh?term=x")])
@pytest.mark.parametrize("auth", [None, "Bearer nope", "Bearer tm_0000.x", "Basic abc"])
def test_every_v1_endpoint_needs_a_key(service, method, path, auth):
    client, _, _ = service
    headers = {"content-type": "application/json"}
    if auth:
        headers["authorization"] = auth
    r = client.request(method.upper(), path, content=b"{}", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_match_equals_the_cli_answer(service, capsys):
    client, key, _ = service
    body = EXAMPLE.read_bytes()
    r = client.post("/v1/match?as_of=2026-11-20", content=body, headers=_h(key))
    assert r.status_code == 200
    assert main(["match", str(EXAMPLE), "--as-of", "2026-11-20", "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert r.json() == cli


def test_match_contract_example(service):
    if not CONTRACT_EXAMPLE.is_file():
        pytest.skip("../shared/contract is absent (a user's clone has none)")
    client, key, _ = service
    r = client.post("/v1/match", content=CONTRACT_EXAMPLE.read_bytes(), headers=_h(key))
    assert r.status_code == 200
    answer = r.json()
    assert answer["patient_id"] == "example-hnscc-001"
    ids = [x["trial_id"] for x in answer["results"]]
    assert "NCT06935188" in ids
    for result in answer["results"]:
        for c in result["criteria"]:
            assert c["status"] in ("pass", "fail", "unknown", "review")


def test_rule_engine_and_fast_engines_agree(service):
    client, key, _ = service
    body = EXAMPLE.read_bytes()
    fast = client.post("/v1/match?status=any&engine=fast", content=body, headers=_h(key))
    ref = client.post("/v1/match?status=any&engine=rule-engine", content=body, headers=_h(key))
    assert fast.status_code == ref.status_code == 200
    assert fast.json() == ref.json()


def test_query_options(service):
    client, key, _ = service
    body = EXAMPLE.read_bytes()
    every = client.post("/v1/match?status=any", content=body, headers=_h(key)).json()
    assert len(every["results"]) >= 5
    one = client.post("/v1/match?status=any&trials=NCT06935188", content=body,
                      headers=_h(key)).json()
    assert [r["trial_id"] for r in one["results"]] == ["NCT06935188"]
    top = client.post("/v1/match?status=any&limit=2", content=body, headers=_h(key)).json()
    assert top["results"] == every["results"][:2]
    assert top["total_results"] == len(every["results"])
    absent = client.post("/v1/match?status=any&assume_absent=true", content=body,
                         headers=_h(key)).json()
    assert absent["assume_absent"] is True
    unknown = client.post("/v1/match?trials=NCT00000000", content=body, headers=_h(key))
    assert unknown.status_code == 422
    assert unknown.json()["problems"][0]["pointer"] == "/trials"


def test_fhir_searchset_is_valid_and_loses_nothing(service):
    from fhir.resources.bundle import Bundle

    client, key, _ = service
    body = EXAMPLE.read_bytes()
    plain = client.post("/v1/match?status=any", content=body, headers=_h(key)).json()
    r = client.post("/v1/match?status=any&format=fhir", content=body, headers=_h(key))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    Bundle.model_validate(bundle)  # a valid R4 Bundle
    assert bundle["type"] == "searchset"
    studies = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    assert len(studies) == len(plain["results"])
    for entry, result in zip(studies, plain["results"], strict=True):
        assert entry["search"] == {"mode": "match", "score": result["score"]}
        carried = [x for x in entry["resource"]["extension"] if x["url"].endswith("-json")]
        assert json.loads(carried[0]["valueString"]) == result


def test_fhir_bundles_are_matched(service):
    folder = PATIENTS / "mcode_ctms_test_patients"
    if not folder.is_dir():
        pytest.skip("../shared/data is absent (a user's clone has none)")
    client, key, _ = service
    for name in ("TrialMatching_Patient01.json", "patient_data.json"):
        r = client.post("/v1/match?status=any", content=(folder / name).read_bytes(),
                        headers=_h(key, "application/fhir+json"))
        assert r.status_code == 200, name
        assert r.json()["results"]
        reasons = [c["reason"] for t in r.json()["results"] for c in t["criteria"]]
        # Facts keep the resource they came from, and reasons show it.
        assert any("[Condition/" in x or "[Observation/" in x for x in reasons), name
    bad = (folder / "patient_data_missing_birthdate_invalid_ecog_karnofsky.json").read_bytes()
    r = client.post("/v1/match", content=bad, headers=_h(key))
    assert r.status_code == 422
    pointers = [p["pointer"] for p in r.json()["problems"]]
    assert any(p.startswith("/entry/") for p in pointers)
    assert all(p == "" or p.startswith("/") for p in pointers)


def test_invalid_patient_is_refused_with_every_pointer_and_no_values(service):
    client, key, _ = service
    doc = {"id": "p1", "birth_date": "1960-02-30", "sex": "robot",
           "labs": [{"name": "hemoglobin", "value": "SECRET-VALUE", "unit": "g/dL"}],
           "performance_status": [{"scale": "ECOG", "value": 9}]}
    r = client.post("/v1/match", content=json.dumps(doc), headers=_h(key))
    assert r.status_code == 422
    pointers = {p["pointer"] for p in r.json()["problems"]}
    assert {"/birth_date", "/sex", "/labs/0/value", "/performance_status/0/value"} <= pointers
    assert "SECRET-VALUE" not in r.text


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"resourceType": 1}',
                                  b'{"resourceType": "Bundle", "entry": 5}',
                                  b'{"resourceType": "Patient"}', b"[" * 5000 + b"]" * 5000,
                                  b'{"id": "x", "age": 1e999}'])
def test_broken_bodies_are_4xx_never_500(service, body):
    client, key, _ = service
    r = client.post("/v1/match", content=body, headers=_h(key))
    assert 400 <= r.status_code < 500
    assert r.json()["status"] == r.status_code


def test_wrong_content_type_is_415(service):
    client, key, _ = service
    for kind in ("text/plain", "application/x-www-form-urlencoded", ""):
        r = client.post("/v1/match", content=EXAMPLE.read_bytes(), headers=_h(key, kind))
        assert r.status_code == 415


def test_too_large_is_413(service):
    client, key, _ = service
    big = b'{"id": "x", "age": 50, "pad": "' + b"a" * 300_000 + b'"}'
    r = client.post("/v1/match", content=big, headers=_h(key))
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: streamed
        for _ in range(40):
            yield b"a" * 10_000
    r = client.post("/v1/match", content=chunks(), headers=_h(key))
    assert r.status_code == 413


def test_bad_query_parameters_are_422_by_name(service):
    client, key, _ = service
    body = EXAMPLE.read_bytes()
    for query, name in (("as_of=2026-13-01", "/as_of"), ("status=closed", "/status"),
                        ("limit=0", "/limit"), ("format=xml", "/format"),
                        ("assume_absent=perhaps", "/assume_absent"), ("engine=magic", "/engine")):
        r = client.post(f"/v1/match?{query}", content=body, headers=_h(key))
        assert r.status_code == 422, query
        assert r.json()["problems"][0] == {**r.json()["problems"][0], "in": "query",
                                           "pointer": name}


def test_trials_list_and_detail(service):
    client, key, _ = service
    listed = client.get("/v1/trials", headers=_h(key)).json()["trials"]
    assert "NCT06935188" in {t["trial_id"] for t in listed}
    detail = client.get("/v1/trials/NCT06935188", headers=_h(key)).json()
    assert detail["eligibility_text"]
    for c in detail["criteria"]:
        if c["span"] is not None:
            assert detail["eligibility_text"][c["span"]["start"]:c["span"]["end"]] == c["text"]
    assert client.get("/v1/trials/NOPE", headers=_h(key)).status_code == 404


def test_put_trial_versions(service):
    if not (SHARED / "data" / "trials").is_dir():
        pytest.skip("../shared/data is absent (a user's clone has none)")
    client, key, _ = service
    xml = (SHARED / "data" / "trials" / "NCT02513394_legacy.xml").read_bytes()
    first = client.put("/v1/trials", content=xml, headers=_h(key, "application/xml")).json()
    entry = first["trials"][0]
    assert entry["trial_id"] == "NCT02513394"
    again = client.put("/v1/trials", content=xml, headers=_h(key, "application/xml")).json()
    assert again["trials"][0] == {**entry, "changed": False}
    changed = xml.replace(b"Inclusion Criteria", b"Inclusion criteria", 1)
    newer = client.put("/v1/trials", content=changed, headers=_h(key, "application/xml")).json()
    assert newer["trials"][0]["version"] == entry["version"] + 1
    detail = client.get("/v1/trials/NCT02513394", headers=_h(key)).json()
    assert [v["version"] for v in detail["versions"]][-2:] == [entry["version"],
                                                               entry["version"] + 1]


def test_put_trial_json_page_and_refusals(service):
    client, key, _ = service
    page = json.loads((FIXTURES / "studies_breast_page2.json").read_text())
    r = client.put("/v1/trials", content=json.dumps(page), headers=_h(key))
    assert r.status_code == 200
    assert [t["trial_id"] for t in r.json()["trials"]] == ["NCT06650748"]
    broken = {"studies": [{"protocolSection": {"identificationModule": {}}}]}
    r = client.put("/v1/trials", content=json.dumps(broken), headers=_h(key))
    assert r.status_code == 422
    assert r.json()["problems"][0]["pointer"].startswith("/studies/0/protocolSection")
    r = client.put("/v1/trials", content=b"<clinical_study><oops", headers=_h(key, "text/xml"))
    assert r.status_code == 422
    r = client.put("/v1/trials", content=b"{}", headers=_h(key, "text/plain"))
    assert r.status_code == 415


def test_overrides_change_the_match(service):
    client, key, _ = service
    body = OVERRIDE.read_bytes()
    r = client.put("/v1/trials/NCT06935188/overrides", content=body,
                   headers=_h(key, "application/yaml"))
    assert r.status_code == 200, r.text
    assert r.json()["stale_overrides"] == []
    detail = client.get("/v1/trials/NCT06935188", headers=_h(key)).json()
    assert any(c.get("curation") for c in detail["criteria"])
    answer = client.post("/v1/match?trials=NCT06935188&status=any", content=EXAMPLE.read_bytes(),
                         headers=_h(key)).json()
    assert any("curated" in c for c in answer["results"][0]["criteria"])
    bad = b"format: trialmatch.overrides/1\ntrial_id: NCT06935188\noverrides: [{action: add}]\n"
    r = client.put("/v1/trials/NCT06935188/overrides", content=bad,
                   headers=_h(key, "application/yaml"))
    assert r.status_code == 422
    assert r.json()["problems"][0]["pointer"].startswith("/overrides/0")
    other = body.replace(b"trial_id: NCT06935188", b"trial_id: NCT05721443")
    r = client.put("/v1/trials/NCT06935188/overrides", content=other,
                   headers=_h(key, "application/yaml"))
    assert r.status_code == 422
    r = client.put("/v1/trials/NOPE/overrides", content=body, headers=_h(key, "application/yaml"))
    assert r.status_code == 404


def test_refresh_from_recorded_ctgov(service):
    client, key, _ = service
    r = client.post("/v1/trials/refresh?condition=breast+cancer&limit=10", headers=_h(key))
    assert r.status_code == 200, r.text
    assert r.json()["fetched"] == 3  # two pages followed
    ids = {t["trial_id"] for t in client.get("/v1/trials", headers=_h(key)).json()["trials"]}
    assert {"NCT01922921", "NCT01026116", "NCT06650748"} <= ids
    assert client.post("/v1/trials/refresh", headers=_h(key)).status_code == 422


def test_audit_lines_have_no_patient_data(service):
    client, key, data = service
    doc = {"id": "PATIENT-XYZ", "age": 61, "sex": "female"}
    client.post("/v1/match?as_of=2026-01-02", content=json.dumps(doc), headers=_h(key))
    lines = [json.loads(x) for x in (data / "audit.log").read_text().splitlines()]
    last = lines[-1]
    assert set(last) == {"time", "key", "method", "endpoint", "status", "ms"}
    assert last["key"] == "coordinator-1" and last["endpoint"] == "/v1/match"
    text = (data / "audit.log").read_text()
    assert "PATIENT-XYZ" not in text and "2026-01-02" not in text
    assert any(x["status"] == 401 and x["key"] == "-" for x in lines)


class _Replay(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        token = httpx.URL(self.path).params.get("pageToken")
        page = "studies_breast_page2.json" if token == "page2" else "studies_breast_page1.json"
        body = (FIXTURES / page).read_bytes()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_cli_trials_fetch(tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("TRIALMATCH_CTGOV_URL", f"http://127.0.0.1:{server.server_port}/api/v2")
        out, data = tmp_path / "studies", tmp_path / "registry"
        assert main(["trials", "fetch", "--condition", "breast cancer", "--out", str(out),
                     "--data", str(data)]) == 0
        assert sorted(p.name for p in out.iterdir()) == [
            "NCT01026116.json", "NCT01922921.json", "NCT06650748.json"]
        assert Registry(data).count() == 3
        assert main(["trials", "fetch", "--out", str(out)]) == 2  # no query
    finally:
        server.shutdown()


def test_cli_keys_create_prints_the_key_once(tmp_path, capsys):
    assert main(["keys", "create", "--data", str(tmp_path), "--name", "ehr"]) == 0
    key = capsys.readouterr().out.strip()
    registry = Registry(tmp_path)
    assert registry.key_name(key) == "ehr"
    assert registry.key_name(key[:-1] + ("a" if key[-1] != "a" else "b")) is None
    stored = (tmp_path / "registry.sqlite3").read_bytes()
    assert key.split(".")[1].encode() not in stored


def test_strict_fhir_refuses_invalid_resources_by_pointer(service):
    client, key, _ = service
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1960-01-02",
                      "gender": "female"}},
        {"resource": {"resourceType": "Observation", "id": "o", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                      "valueQuantity": {"value": 12.1, "unit": "g/dL"},
                      "valueString": "SECRET-TWELVE"}},
        {"resource": {"resourceType": "Condition", "id": "c", "subject": {"reference": "p"},
                      "code": {"text": "hypertension"}, "onsetDateTime": "not a date"}}]}
    lenient = client.post("/v1/match?status=any", content=json.dumps(bundle), headers=_h(key))
    assert lenient.status_code in (200, 422)
    r = client.post("/v1/match?fhir=strict", content=json.dumps(bundle), headers=_h(key))
    assert r.status_code == 422
    pointers = [p["pointer"] for p in r.json()["problems"]]
    assert any(p.startswith("/entry/1/resource") for p in pointers)
    assert any(p.startswith("/entry/2/resource") for p in pointers)
    assert "SECRET-TWELVE" not in r.text and "not a date" not in r.text


def test_strict_fhir_accepts_the_sample_bundles(service):
    folder = PATIENTS / "mcode_ctms_test_patients"
    if not folder.is_dir():
        pytest.skip("../shared/data is absent (a user's clone has none)")
    client, key, _ = service
    for bundle in [folder / n for n in ("TrialMatching_Patient01.json",
                                        "TrialMatching_Patient02.json", "eom_patient_1.json")]:
        r = client.post("/v1/match?fhir=strict&limit=3", content=bundle.read_bytes(),
                        headers=_h(key, "application/fhir+json"))
        assert r.status_code == 200, bundle.name
        assert r.json()["results"]


def test_query_and_body_problems_come_together(service):
    client, key, _ = service
    r = client.post("/v1/match?as_of=2026-02-30&trials=NOPE", content=b'{"id": "x"}',
                    headers=_h(key))
    assert r.status_code == 422
    found = {(p["in"], p["pointer"]) for p in r.json()["problems"]}
    assert {("query", "/as_of"), ("query", "/trials"), ("body", "/birth_date")} <= found
