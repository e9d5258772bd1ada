"""Registry writes are atomic: the server is killed (SIGKILL) in the middle of
an ingest, and the registry reopens readable with every acknowledged trial."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from serving import wait_healthy

from matcher.service.registry import Registry

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _study(n: int) -> str:
    text = (f"Inclusion Criteria:\n- Age >= {18 + n % 5} years\n- ECOG 0-1\n"
            f"- Hemoglobin >= {8 + n % 3} g/dL\nExclusion Criteria:\n- Pregnant or breastfeeding")
    return json.dumps({"protocolSection": {
        "identificationModule": {"nctId": f"NCT9{n:07d}", "briefTitle": f"Durability {n}"},
        "statusModule": {"overallStatus": "RECRUITING"},
        "eligibilityModule": {"eligibilityCriteria": text}}})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigkill_mid_ingest_keeps_every_acknowledged_trial(tmp_path):
    key = Registry(tmp_path).create_key("ingest")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve", "--data",
                             str(tmp_path), "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    stop = threading.Event()
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

    def ingest(first: int) -> None:
        n = first
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                try:
                    r = client.put(base + "/v1/trials", content=_study(n), headers=headers)
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    acknowledged.extend(t["trial_id"] for t in r.json()["trials"])
                n += 2

    try:
        wait_healthy(base, proc)
        writers = [threading.Thread(target=ingest, args=(i,)) for i in (0, 1)]
        for w in writers:
            w.start()
        while len(acknowledged) < 20 and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)  # while both writers have requests in flight
        proc.wait(timeout=30)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    for w in writers:
        w.join(timeout=30)
    assert len(acknowledged) >= 20

    db = sqlite3.connect(tmp_path / "registry.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    registry = Registry(tmp_path)
    stored = {t["trial_id"] for t in registry.list_trials()}
    assert set(acknowledged) <= stored
    for trial_id in acknowledged:
        row = registry.get_trial(trial_id)
        assert row is not None and row.compiled.criteria  # readable, compiled
    # Every stored trial is whole: its current version exists and parses.
    assert len(registry.compiled_trials()) == len(stored)
