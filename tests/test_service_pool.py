"""``trialmatch serve --workers N``: matches run in N match processes fed by
one HTTP process (``matcher.service.pool``).  A real server with two match
processes answers byte for byte what the app answers in process, for every
output format, executor and refusal; sees trials ingested after it started;
survives a match process being killed; and its match processes end with it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from serving import wait_healthy

from matcher.service.app import create_app
from matcher.service.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
BUNDLE = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
    {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1958-03-02",
                  "gender": "male"}},
    {"resource": {"resourceType": "Observation", "id": "o", "status": "final",
                  "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                  "valueQuantity": {"value": 12.1, "unit": "g/dL"}}},
    {"resource": {"resourceType": "Condition", "id": "c", "subject": {"reference": "p"},
                  "code": {"text": "oropharyngeal squamous cell carcinoma"}}}]}).encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                out.append(int(entry.name))
    return out


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _match_processes(pid: int) -> list[int]:
    """The server's match processes (not multiprocessing's resource tracker)."""
    found = []
    for child in _children(pid):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            found.append(child)
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, subprocess.Popen[bytes], Path]]:  # noqa: E501
    data = tmp_path_factory.mktemp("pool")
    create_app(data)  # seeds the bundled library once, before the server starts
    key = Registry(data).create_key("pool")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve", "--data", str(data),
                             "--port", str(port), "--workers", "2"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base, key, proc, data
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _headers(key: str, kind: str = "application/json") -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "content-type": kind}


CASES = [
    ("status=any&limit=3", None),
    ("status=any", None),
    ("", None),
    ("status=any&limit=2&format=fhir", None),
    ("status=any&limit=2&engine=rule-engine", None),
    ("status=any&assume_absent=true&as_of=2025-01-15", None),
    ("status=any&trials=NCT06935188,NCT05721443", None),
    ("status=any&trials=NCT00000000&as_of=2025-13-01", None),  # two query problems
    ("status=any", b'{"birth_date": "1960-01-01", "labs": [{"name": "x", "value": "high"}]}'),
    ("status=any", b"not json"),
]


def test_answers_equal_the_in_process_app(served: tuple[str, str, subprocess.Popen[bytes], Path]
                                          ) -> None:
    base, key, _proc, data = served
    assert len(_match_processes(_proc.pid)) == 2
    bodies = [p.read_bytes() for p in EXAMPLES] + [BUNDLE]
    assert len(bodies) >= 4
    statuses = set()
    with TestClient(create_app(data, seed=False)) as local, httpx.Client(timeout=120) as remote:
        for query, fixed in CASES:
            for body in [fixed] if fixed is not None else bodies:
                url = "/v1/match" + (f"?{query}" if query else "")
                want = local.post(url, content=body, headers=_headers(key))
                got = remote.post(base + url, content=body, headers=_headers(key))
                assert got.status_code == want.status_code, (query, got.text[:300])
                assert got.headers["content-type"] == want.headers["content-type"]
                assert got.content == want.content, query
                statuses.add(got.status_code)
    assert statuses == {200, 422}


def test_a_trial_ingested_later_is_matched(served: tuple[str, str, subprocess.Popen[bytes], Path]
                                           ) -> None:
    base, key, _proc, _data = served
    text = ("Inclusion Criteria:\n- Age >= 18 years\n- ECOG 0-1\n"
            "Exclusion Criteria:\n- Pregnant or breastfeeding")
    study = {"protocolSection": {
        "identificationModule": {"nctId": "NCT99000001", "briefTitle": "Pool"},
        "statusModule": {"overallStatus": "RECRUITING"},
        "eligibilityModule": {"eligibilityCriteria": text}}}
    body = EXAMPLES[0].read_bytes()
    with httpx.Client(timeout=120) as client:
        url = base + "/v1/match?status=any&trials=NCT99000001"
        assert client.post(url, content=body, headers=_headers(key)).status_code == 422
        put = client.put(base + "/v1/trials", content=json.dumps(study), headers=_headers(key))
        assert put.status_code == 200
        # Each match process sees the new registry generation, whichever answers.
        for _ in range(4):
            r = client.post(url, content=body, headers=_headers(key))
            assert r.status_code == 200, r.text[:300]
            assert [t["trial_id"] for t in r.json()["results"]] == ["NCT99000001"]


def test_a_killed_match_process_is_replaced(served: tuple[str, str, subprocess.Popen[bytes], Path]
                                            ) -> None:
    base, key, proc, _data = served
    before = _match_processes(proc.pid)
    os.kill(before[0], signal.SIGKILL)
    body = EXAMPLES[0].read_bytes()
    codes = []
    with httpx.Client(timeout=120) as client:
        for _ in range(6):
            r = client.post(base + "/v1/match?status=any&limit=1", content=body,
                            headers=_headers(key))
            codes.append(r.status_code)
            if r.status_code == 503:
                assert r.headers["retry-after"] == "1"
    # At most the request the dead process held is refused; the rest are answered.
    assert codes.count(503) <= 1 and codes.count(200) == len(codes) - codes.count(503), codes
    after = _match_processes(proc.pid)
    assert len(after) == 2 and before[0] not in after


def test_match_processes_end_with_the_server(tmp_path: Path) -> None:
    create_app(tmp_path)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve", "--data",
                             str(tmp_path), "--port", str(port), "--workers", "2"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        workers = _match_processes(proc.pid)
        assert len(workers) == 2
    finally:
        proc.kill()  # SIGKILL: no shutdown code runs in the server
        proc.wait(timeout=30)
    # Each match process reads the end of its pipe and leaves.
    for _ in range(300):
        alive = [w for w in workers if _running(w)]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive


def test_workers_must_be_positive(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "matcher.cli", "serve", "--data",
                           str(tmp_path), "--workers", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--workers" in done.stderr
