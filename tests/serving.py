"""Starting `trialmatch serve` for a test: wait until /healthz answers."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest


def wait_healthy(base: str, proc: subprocess.Popen[bytes], tries: int = 600) -> None:
    """Poll ``base``/healthz every 0.1 s; fail the test if the server exits or never answers."""
    for _ in range(tries):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            pytest.fail("server exited: " + err)
        time.sleep(0.1)
    pytest.fail("server did not start")
