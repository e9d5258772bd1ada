"""The coordinator's page in a real headless Chromium (Debian's ``chromium``,
driven by Playwright) against a real ``uvicorn`` server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving import wait_healthy

from matcher.service.registry import Registry

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "patient.example.json"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is absent (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    data = tmp_path_factory.mktemp("page-registry")
    key = Registry(data).create_key("coordinator")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve", "--data", str(data),
                             "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base, key, data
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _nonblank(png: bytes) -> float:
    """Share of distinct byte values in the image data: a blank page is near 0."""
    return len(set(png[200:])) / 256


def test_static_files_need_no_key(server):
    base, _, _ = server
    assert httpx.get(base + "/").status_code == 200
    assert httpx.get(base + "/static/page.js").status_code == 200
    assert httpx.get(base + "/v1/trials").status_code == 401


def test_main_flow(server, browser, tmp_path):
    base, key, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base + "/")
    # Without a key the API refuses, and the page says so.
    page.fill("#patient-json", EXAMPLE.read_text(encoding="utf-8"))
    page.click("#match-button")
    page.wait_for_selector("#problems:not(.hidden)")
    assert "API key" in page.inner_text("#problems")
    page.fill("#api-key", key)
    page.click("#key-form button")
    assert page.evaluate("sessionStorage.getItem('trialmatch.key')") == key
    page.check("#opt-any-status")
    page.fill("#opt-as-of", "2026-11-20")
    page.click("#match-button")
    page.wait_for_selector("details.trial")
    trials = page.locator("details.trial")
    assert trials.count() >= 5
    first = trials.first
    assert first.locator(".badge").first.inner_text() in ("eligible", "possible", "ineligible")
    rows = first.locator("tr.criterion-row")
    assert rows.count() >= 1
    assert rows.first.locator("td").nth(3).inner_text().strip()  # a reason
    expected = httpx.post(base + "/v1/match?status=any&as_of=2026-11-20&limit=20",
                          content=EXAMPLE.read_bytes(),
                          headers={"authorization": f"Bearer {key}",
                                   "content-type": "application/json"}).json()
    shown = [d.get_attribute("data-trial") for d in trials.all()]
    assert shown == [r["trial_id"] for r in expected["results"]]
    assert page.locator("#print-button").is_visible()
    shot = page.screenshot(path=str(tmp_path / "main-flow.png"), full_page=False)
    assert _nonblank(shot) > 0.5
    # The badges are drawn in colour: the screenshot holds the verdict colours.
    page.close()


def test_broken_patient_shows_pointers(server, browser):
    base, key, _ = server
    page = browser.new_page()
    page.goto(base + "/")
    page.evaluate(f"sessionStorage.setItem('trialmatch.key', {json.dumps(key)})")
    page.fill("#patient-json", json.dumps({"id": "x", "sex": "robot", "labs": [{"value": 1}]}))
    page.click("#match-button")
    page.wait_for_selector("#problems:not(.hidden)")
    text = page.inner_text("#problems")
    assert "/sex" in text and "/labs/0" in text
    page.close()


def test_form_builds_a_patient(server, browser):
    base, key, _ = server
    page = browser.new_page()
    page.goto(base + "/")
    page.evaluate(f"sessionStorage.setItem('trialmatch.key', {json.dumps(key)})")
    page.click('.tab[data-tab="form"]')
    page.fill("#f-birth", "1961-03-04")
    page.fill("#f-dx", "squamous cell carcinoma of the oropharynx")
    page.fill("#f-ps-value", "1")
    page.click('button[data-add="labs"]')
    row = page.locator("#f-labs tbody tr").first
    row.locator('[data-field="name"]').fill("hemoglobin")
    row.locator('[data-field="value"]').fill("12.5")
    row.locator('[data-field="unit"]').fill("g/dL")
    page.click("#form-to-json")
    doc = json.loads(page.input_value("#patient-json"))
    assert doc["labs"] == [{"name": "hemoglobin", "value": 12.5, "unit": "g/dL"}]
    assert doc["performance_status"] == [{"scale": "ECOG", "value": 1}]
    page.check("#opt-any-status")
    page.click("#match-button")
    page.wait_for_selector("details.trial")
    page.close()


def test_trial_page_and_override(server, browser):
    base, key, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base + "/")
    page.evaluate(f"sessionStorage.setItem('trialmatch.key', {json.dumps(key)})")
    page.goto(base + "/#trial/NCT06935188")
    page.wait_for_selector("#trial-criteria .criterion")
    assert "Inclusion" in page.inner_text("#trial-text")
    assert page.locator("#trial-criteria .criterion").count() > 10
    template = page.input_value("#override-text")
    assert "trial_id: NCT06935188" in template
    page.click("#override-save")
    page.wait_for_selector("#override-result p")
    assert "Saved" in page.inner_text("#override-result")
    stored = httpx.get(base + "/v1/trials/NCT06935188",
                       headers={"authorization": f"Bearer {key}"}).json()
    assert any(c.get("curation") for c in stored["criteria"])
    page.fill("#override-text", "format: trialmatch.overrides/1\ntrial_id: NCT06935188\n"
                                "overrides: [{action: add}]\n")
    page.click("#override-save")
    page.wait_for_selector("#override-result code")
    assert "/overrides/0" in page.inner_text("#override-result")
    page.close()
