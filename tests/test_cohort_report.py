"""The screen's HTML report: exact figures on hand-made results, agreement with a
real screen's verdicts, escaping, self-containment, and rendering in Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from matcher.cohort.report import ReportError, summarize, write_report
from matcher.cohort.synth import write_cohort

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = '<script>alert("x")</script> & "quotes"'

# Trial T1: criteria 0 (inclusion), 1 (exclusion), 2 (inclusion); statuses per patient.
T1 = {
    "p1": ["pass", "pass", "pass"],        # eligible
    "p2": ["fail", "pass", "pass"],        # only fail at 0, nothing else: eligible if relaxed
    "p3": ["fail", "unknown", "pass"],     # only fail at 0, plus an unknown
    "p4": ["pass", "unknown", "review"],   # possible: only unknown at 1
    "p5": ["fail", "fail", "pass"],        # two fails
    "p6": ["pass", "pass", "fail"],        # only fail at 2
}
T2 = {"p1": ["pass"], "p2": ["review"], "p3": ["unknown"], "p4": ["fail"], "p5": ["pass"],
      "p6": ["pass"]}


def _verdict(statuses: list[str]) -> str:
    if "fail" in statuses:
        return "ineligible"
    return "possible" if "unknown" in statuses else "eligible"


def write_fixture(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for trial, table in (("T1", T1), ("T2", T2)):
        for pid, statuses in table.items():
            rows.append({"patient_id": pid, "trial_id": trial, "verdict": _verdict(statuses),
                         "score": 0.5, "statuses": statuses, "to_confirm": []})
    schema = pa.schema([("patient_id", pa.string()), ("trial_id", pa.string()),
                        ("verdict", pa.string()), ("score", pa.float64()),
                        ("statuses", pa.list_(pa.string())), ("to_confirm", pa.list_(pa.string()))])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), out / "results.parquet")
    crit = []
    for trial, n in (("T1", 3), ("T2", 1)):
        for k in range(n):
            crit.append({"trial_id": trial, "position": k, "criterion_id": f"{trial}#{k}",
                         "kind": "exclusion" if (trial, k) == ("T1", 1) else "inclusion",
                         "text": HOSTILE if (trial, k) == ("T1", 1) else f"criterion {trial}.{k}",
                         "family": "labs", "compiled": "full", "executor": "sql",
                         "rule": "x"})
    cschema = pa.schema([("trial_id", pa.string()), ("position", pa.int32()),
                         ("criterion_id", pa.string()), ("kind", pa.string()),
                         ("text", pa.string()), ("family", pa.string()),
                         ("compiled", pa.string()), ("executor", pa.string()),
                         ("rule", pa.string())])
    pq.write_table(pa.Table.from_pylist(crit, schema=cschema), out / "trial_criteria.parquet")
    manifest = {"format": "trialmatch.screen/1", "engine": "duckdb",
                "counts": {"patients": 6, "trials": 2, "pairs": 12},
                "trials": [{"trial_id": "T1", "title": "First " + HOSTILE},
                           {"trial_id": "T2", "title": "Second"}]}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture()
def fixture_out(tmp_path) -> Path:
    write_fixture(tmp_path / "out")
    return tmp_path / "out"


def test_figures_on_hand_made_results(fixture_out):
    _, reports = summarize(fixture_out)
    t1 = next(r for r in reports if r.trial_id == "T1")
    assert t1.patients == 6
    assert t1.verdicts == {"eligible": 1, "possible": 1, "ineligible": 4}
    c0, c1, c2 = t1.criteria
    assert c0.counts == {"pass": 3, "fail": 3, "unknown": 0, "review": 0}
    assert c1.counts == {"pass": 3, "fail": 1, "unknown": 2, "review": 0}
    assert c2.counts == {"pass": 4, "fail": 1, "unknown": 0, "review": 1}
    # funnel: after criterion 0, p2 p3 p5 are out; after 1, p4 is in with an unknown
    assert (c0.clear, c0.uncertain, c0.out) == (3, 0, 3)
    assert (c1.clear, c1.uncertain, c1.out) == (2, 1, 3)
    assert (c2.clear, c2.uncertain, c2.out) == (1, 1, 4)
    # relaxing: 0 is the only fail of p2 and p3 (p2 then eligible); 2 of p6; 1 of nobody
    assert (c0.only_fail, c0.only_blocker, c0.only_unknown) == (2, 1, 0)
    assert (c1.only_fail, c1.only_blocker, c1.only_unknown) == (0, 0, 1)
    assert (c2.only_fail, c2.only_blocker, c2.only_unknown) == (1, 1, 0)
    assert [c.position for c in t1.top_excluding()] == [0, 1, 2]
    assert [c.position for c in t1.relax_gains()] == [0, 2, 1]
    t2 = next(r for r in reports if r.trial_id == "T2")
    assert t2.verdicts == {"eligible": 4, "possible": 1, "ineligible": 1}


def test_page_is_self_contained_and_escaped(fixture_out, tmp_path):
    page = tmp_path / "r" / "report.html"
    write_report(fixture_out, page)
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text and " src=" not in text
    assert re.findall(r"https?://[^\"' ]+", text) == ["http://www.w3.org/2000/svg"] * len(
        re.findall(r"<svg", text))
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in text
    assert text.count('class="funnel"') == 2 and 'id="overview"' in text


def test_missing_files_are_named(tmp_path):
    with pytest.raises(ReportError, match="results.parquet: no such file"):
        summarize(tmp_path)


@pytest.fixture(scope="module")
def real_screen(tmp_path_factory) -> Path:
    """A real `trialmatch screen` (DuckDB) of a small synthetic cohort, with --report."""
    root = tmp_path_factory.mktemp("screen")
    write_cohort(root / "cohort", 120, 17)
    code = "import sys; from matcher.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "screen", str(root / "cohort"), "--out", str(root / "out"),
         "--status", "any", "--quiet", "--report", str(root / "report.html")],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    if done.returncode != 0 and "invalid choice: 'screen'" in done.stderr:
        pytest.skip("trialmatch screen is not available")
    assert done.returncode == 0, done.stderr
    return root


def test_real_screen_funnel_ends_at_the_verdicts(real_screen):
    manifest, reports = summarize(real_screen / "out")
    assert len(reports) == manifest["counts"]["trials"] >= 5
    for r in reports:
        assert r.patients == 120
        last = r.criteria[-1]
        assert last.clear == r.verdicts.get("eligible", 0)
        assert last.uncertain == r.verdicts.get("possible", 0)
        assert last.out == r.verdicts.get("ineligible", 0)
        for before, after in zip(r.criteria, r.criteria[1:], strict=False):
            assert after.out >= before.out and after.clear <= before.clear
    assert (real_screen / "report.html").is_file()


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
def test_report_renders_in_headless_chromium(real_screen):
    from playwright.sync_api import sync_playwright

    page_path = real_screen / "report.html"
    shot = real_screen / "report.png"
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            assert page.title() == "trialmatch screen report"
            funnels = page.locator("svg.funnel")
            assert funnels.count() == len(summarize(real_screen / "out")[1])
            box = funnels.first.bounding_box()
            assert box is not None and box["width"] > 500 and box["height"] > 40
            assert page.locator("svg.funnel rect.out").count() > 0
            page.screenshot(path=str(shot), full_page=True)
            assert errors == []
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
