"""The HTML report of a screen: one self-contained page people open in a browser.

Reads a screen's OUT folder (``results.parquet``, ``trial_criteria.parquet``,
``manifest.json``; see :mod:`matcher.cohort.screen`) and aggregates it with
DuckDB, without unnesting: each (patient, trial) row is reduced to the
positions of its first fail and first unknown and the numbers of fails and
unknowns, so the work is one scan of the results, whatever the cohort's size.

Per trial the page shows:

- verdict counts;
- the attrition funnel: criteria in the trial's order, and after each one the
  patients still clear (no fail, no unknown so far), those still in but with
  something unknown so far, and those out (a fail so far);
- the criteria that exclude most patients (fail counts, with unknown and review
  counts beside them);
- what relaxing each criterion would add: patients for whom it is the only
  failing criterion (they would no longer be ineligible), those for whom it is
  the only criterion not passed (they would be eligible), and those for whom
  its unknown is the only thing left to collect (eligible once known to pass).

No external assets: inline CSS and SVG; every text from the data is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["ReportError", "TrialReport", "summarize", "write_report"]


class ReportError(ValueError):
    """The OUT folder lacks a file the report needs, or holds something else."""


@dataclass
class CriterionStats:
    position: int
    criterion_id: str
    kind: str
    text: str
    family: str
    compiled: str
    executor: str
    counts: dict[str, int] = field(default_factory=dict)  # pass / fail / unknown / review
    only_fail: int = 0        # the only failing criterion: not ineligible if relaxed
    only_blocker: int = 0     # the only fail-or-unknown, and a fail: eligible if relaxed
    only_unknown: int = 0     # the only fail-or-unknown, and unknown: eligible once known
    clear: int = 0            # funnel after this criterion: no fail, no unknown so far
    uncertain: int = 0        # no fail so far, an unknown so far
    out: int = 0              # a fail so far


@dataclass
class TrialReport:
    trial_id: str
    title: str
    patients: int
    verdicts: dict[str, int]
    criteria: list[CriterionStats]

    def top_excluding(self, n: int = 10) -> list[CriterionStats]:
        ranked = sorted(self.criteria, key=lambda c: (-c.counts.get("fail", 0), c.position))
        return [c for c in ranked if c.counts.get("fail", 0) > 0][:n]

    def relax_gains(self) -> list[CriterionStats]:
        ranked = sorted(self.criteria, key=lambda c: (-c.only_fail, -c.only_blocker,
                                                      -c.only_unknown, c.position))
        return [c for c in ranked if c.only_fail or c.only_unknown]


_STATUSES = ("pass", "fail", "unknown", "review")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def summarize(out_dir: Path) -> tuple[dict[str, Any], list[TrialReport]]:
    """The manifest and one :class:`TrialReport` per trial, aggregated with DuckDB."""
    results = out_dir / "results.parquet"
    criteria = out_dir / "trial_criteria.parquet"
    manifest_path = out_dir / "manifest.json"
    for p in (results, criteria, manifest_path):
        if not p.is_file():
            raise ReportError(f"{out_dir}: {p.name}: no such file (not a screen's output folder)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReportError(f"{manifest_path}: cannot read ({type(err).__name__})") from None
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # never draw on the user's terminal
    con.execute(f"CREATE VIEW r AS SELECT * FROM read_parquet('{_sql_path(results)}')")
    rows = con.execute(
        "SELECT trial_id, position, criterion_id, kind, text, family, compiled, executor "
        f"FROM read_parquet('{_sql_path(criteria)}') ORDER BY trial_id, position").fetchall()
    by_trial: dict[str, list[CriterionStats]] = {}
    for trial_id, pos, cid, kind, text, family, compiled, executor in rows:
        by_trial.setdefault(trial_id, []).append(CriterionStats(
            int(pos), cid, kind or "", text or "", family or "", compiled or "", executor or ""))

    # Status counts per position: the status lists unnested with their positions
    # (far cheaper than one FILTER aggregate per position and status).
    counts: dict[str, dict[int, dict[str, int]]] = {}
    for trial_id, k, status, n in con.execute(
            "SELECT trial_id, k, s, count(*) FROM (SELECT trial_id, "
            "unnest(range(len(statuses))) AS k, unnest(statuses) AS s FROM r) GROUP BY ALL"
            ).fetchall():
        per = counts.setdefault(trial_id, {}).setdefault(int(k), dict.fromkeys(_STATUSES, 0))
        per[status] = per.get(status, 0) + int(n)

    # Each (patient, trial) reduced to first fail / first unknown / numbers of each.
    shapes = con.execute(
        "SELECT trial_id, list_position(statuses, 'fail') AS ff, "
        "list_position(statuses, 'unknown') AS fu, "
        "least(len(list_filter(statuses, lambda s: s = 'fail')), 2) AS nf, "
        "least(len(list_filter(statuses, lambda s: s = 'unknown')), 2) AS nu, count(*) "
        "FROM r GROUP BY ALL").fetchall()
    shapes_by_trial: dict[str, list[tuple]] = {}
    for shape in shapes:
        shapes_by_trial.setdefault(shape[0], []).append(shape)
    verdict_rows = con.execute("SELECT trial_id, verdict, count(*) FROM r GROUP BY ALL").fetchall()
    verdicts: dict[str, dict[str, int]] = {}
    for trial_id, verdict, n in verdict_rows:
        verdicts.setdefault(trial_id, {})[verdict] = int(n)

    titles = {t.get("trial_id"): t.get("title") or "" for t in manifest.get("trials", [])
              if isinstance(t, dict)}
    reports: list[TrialReport] = []
    for trial_id in sorted(by_trial):
        crit = by_trial[trial_id]
        for c in crit:
            c.counts = counts.get(trial_id, {}).get(c.position, dict.fromkeys(_STATUSES, 0))
        total = sum(verdicts.get(trial_id, {}).values())
        # Funnel by difference arrays: a row is out from its first fail on, and
        # uncertain from its first unknown until its first fail.
        size = len(crit) + 1
        d_out, d_unc = [0] * size, [0] * size
        for _, ff, fu, nf, nu, n in shapes_by_trial.get(trial_id, []):
            ff0 = min(ff - 1, len(crit)) if ff else None  # list_position: 1-based, 0 = none
            fu0 = min(fu - 1, len(crit)) if fu else None
            if nf == 1 and ff0 is not None and ff0 < len(crit):
                crit[ff0].only_fail += n
                if nu == 0:
                    crit[ff0].only_blocker += n
            if nf == 0 and nu == 1 and fu0 is not None and fu0 < len(crit):
                crit[fu0].only_unknown += n
            if ff0 is not None:
                d_out[ff0] += n
            if fu0 is not None and (ff0 is None or fu0 < ff0):
                d_unc[fu0] += n
                if ff0 is not None:
                    d_unc[ff0] -= n
        out_so_far = unc_so_far = 0
        for c in crit:
            out_so_far += d_out[c.position] if c.position < size else 0
            unc_so_far += d_unc[c.position] if c.position < size else 0
            c.out, c.uncertain = out_so_far, unc_so_far
            c.clear = total - out_so_far - unc_so_far
        reports.append(TrialReport(trial_id, titles.get(trial_id, ""), total,
                                   verdicts.get(trial_id, {}), crit))
    return manifest, reports


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2933;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.5rem;border-top:1px solid #cbd2d9;
padding-top:1rem}h3{font-size:1rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.5rem 0}
th,td{border-bottom:1px solid #e4e7eb;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#f5f7fa}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#52606d;font-size:.85rem}.legend span{display:inline-block;margin-right:1rem}
.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
.clear{fill:#2f9e44;background:#2f9e44}.unknown{fill:#f59f00;background:#f59f00}
.out{fill:#e03131;background:#e03131}.review{fill:#748ffc;background:#748ffc}
svg text{font-size:11px;fill:#1f2933}.kind{color:#52606d;font-size:.75rem}
"""

_VERDICT_ORDER = ("eligible", "possible", "ineligible")
_VERDICT_CLASS = {"eligible": "clear", "possible": "unknown", "ineligible": "out"}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _funnel_svg(report: TrialReport, anchor: str) -> str:
    """Horizontal stacked bars, one per criterion in order: clear / unknown so far / out."""
    n = max(report.patients, 1)
    row_h, label_w, bar_w, pad = 22, 400, 470, 4
    height = row_h * (len(report.criteria) + 1) + pad * 2
    parts = [f'<svg class="funnel" id="funnel-{anchor}" role="img" '
             f'aria-label="attrition funnel of {_e(report.trial_id)}" '
             f'xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 130}" '
             f'height="{height}" viewBox="0 0 {label_w + bar_w + 130} {height}">']
    y = pad
    parts.append(f'<text x="0" y="{y + 15}">all patients</text>'
                 f'<rect class="clear" x="{label_w}" y="{y + 3}" width="{bar_w}" '
                 f'height="{row_h - 6}"><title>{report.patients:,} patients</title></rect>'
                 f'<text x="{label_w + bar_w + 6}" y="{y + 15}">{report.patients:,}</text>')
    for c in report.criteria:
        y += row_h
        label = f"{c.position + 1}. {'I' if c.kind == 'inclusion' else 'E'} {_short(c.text, 62)}"
        parts.append(f'<text x="0" y="{y + 15}"><title>{_e(c.text)}</title>{_e(label)}</text>')
        x = float(label_w)
        for cls, value, what in (("clear", c.clear, "clear so far"),
                                 ("unknown", c.uncertain, "in, with something unknown so far"),
                                 ("out", c.out, "out (a criterion failed so far)")):
            w = bar_w * value / n
            if w > 0:
                parts.append(f'<rect class="{cls}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
                             f'height="{row_h - 6}"><title>{value:,} {what}</title></rect>')
            x += w
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}">{c.clear + c.uncertain:,} in'
                     f'<title>{c.clear:,} clear, {c.uncertain:,} with an unknown, '
                     f'{c.out:,} out</title></text>')
    parts.append("</svg>")
    return "".join(parts)


def _verdict_bar(verdicts: dict[str, int], total: int) -> str:
    width, height = 560, 18
    parts = [f'<svg class="verdicts" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}">']
    x = 0.0
    for v in _VERDICT_ORDER:
        w = width * verdicts.get(v, 0) / total if total else 0
        if w > 0:
            parts.append(f'<rect class="{_VERDICT_CLASS[v]}" x="{x:.1f}" y="0" width="{w:.1f}" '
                         f'height="{height}"><title>{verdicts.get(v, 0):,} {v}</title></rect>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


def _criteria_row(c: CriterionStats, cells: list[str]) -> str:
    return (f'<tr><td class="n">{c.position + 1}</td><td>{_e(_short(c.text, 160))}'
            f'<div class="kind">{_e(c.kind)} · {_e(c.family)} · {_e(c.compiled)} · '
            f'{_e(c.executor)}</div></td>' + "".join(f'<td class="n">{x}</td>' for x in cells)
            + "</tr>")


def _trial_section(report: TrialReport, index: int) -> str:
    anchor = f"t{index}"
    n = report.patients
    v = report.verdicts
    out = [f'<section class="trial" id="{anchor}"><h2>{_e(report.trial_id)}</h2>',
           f'<p class="meta">{_e(report.title)}</p>',
           f"<p>{n:,} patients: " + ", ".join(
               f'<span class="sw {_VERDICT_CLASS[k]}"></span>{v.get(k, 0):,} {k} '
               f"({_pct(v.get(k, 0), n)})" for k in _VERDICT_ORDER) + "</p>",
           _verdict_bar(v, n),
           "<h3>Attrition funnel</h3>",
           '<p class="legend"><span><span class="sw clear"></span>clear so far</span>'
           '<span><span class="sw unknown"></span>in, something unknown so far</span>'
           '<span><span class="sw out"></span>out: a criterion failed so far</span></p>',
           _funnel_svg(report, anchor)]
    top = report.top_excluding()
    out.append("<h3>Criteria that exclude most patients</h3>")
    if top:
        out.append('<table><tr><th class="n">#</th><th>criterion</th><th class="n">fail</th>'
                   '<th class="n">unknown</th><th class="n">review</th></tr>')
        for c in top:
            out.append(_criteria_row(c, [
                f"{c.counts.get('fail', 0):,} ({_pct(c.counts.get('fail', 0), n)})",
                f"{c.counts.get('unknown', 0):,}", f"{c.counts.get('review', 0):,}"]))
        out.append("</table>")
    else:
        out.append("<p>No criterion fails any patient.</p>")
    out.append("<h3>If a criterion were relaxed</h3>"
               '<p class="meta">not ineligible: it is the only failing criterion; eligible: '
               "it is the only criterion not passed (review does not block); eligible once "
               "known: its unknown is the only thing left to collect.</p>")
    gains = report.relax_gains()
    if gains:
        out.append('<table><tr><th class="n">#</th><th>criterion</th>'
                   '<th class="n">would be not ineligible</th><th class="n">would be eligible</th>'
                   '<th class="n">eligible once known</th></tr>')
        for c in gains[:15]:
            out.append(_criteria_row(c, [f"+{c.only_fail:,}", f"+{c.only_blocker:,}",
                                         f"+{c.only_unknown:,}"]))
        out.append("</table>")
    else:
        out.append("<p>Relaxing a single criterion adds no patient.</p>")
    out.append("</section>")
    return "\n".join(out)


def _overview(reports: list[TrialReport]) -> str:
    rows = ['<table id="overview"><tr><th>trial</th><th class="n">patients</th>'
            '<th class="n">eligible</th><th class="n">possible</th><th class="n">ineligible</th>'
            "<th>excludes most</th></tr>"]
    order = sorted(enumerate(reports), key=lambda p: (-p[1].verdicts.get("eligible", 0),
                                                      -p[1].verdicts.get("possible", 0),
                                                      p[1].trial_id))
    for i, r in order:
        top = r.top_excluding(1)
        most = (f"{_e(_short(top[0].text, 70))} ({top[0].counts.get('fail', 0):,})"
                if top else "–")
        rows.append(f'<tr><td><a href="#t{i}">{_e(r.trial_id)}</a><div class="kind">'
                    f"{_e(_short(r.title, 90))}</div></td><td class=\"n\">{r.patients:,}</td>"
                    + "".join(f'<td class="n">{r.verdicts.get(k, 0):,}</td>'
                              for k in _VERDICT_ORDER)
                    + f"<td>{most}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _manifest_lines(manifest: dict[str, Any]) -> str:
    counts = manifest.get("counts", {})
    timings = manifest.get("timings", {})
    policy = manifest.get("policy", {})
    cohort = manifest.get("cohort", {})
    items = [
        f"cohort {_e(cohort.get('source', '?'))}: {counts.get('patients', 0):,} patients",
        f"{counts.get('trials', 0)} trials, {counts.get('pairs', 0):,} patient x trial pairs",
        f"engine {_e(manifest.get('engine', '?'))}"
        + (f" in {float(timings['total_s']):.1f} s" if "total_s" in timings else ""),
        f"as of: {_e(policy.get('as_of') or policy.get('as_of_policy', 'each patient'))}; "
        f"assume absent: {_e(policy.get('assume_absent', False))}",
        f"{counts.get('fallback_criteria', 0)} criteria evaluated per patient (no SQL form)",
    ]
    return "<ul class=\"meta\">" + "".join(f"<li>{x}</li>" for x in items) + "</ul>"


def render_html(manifest: dict[str, Any], reports: list[TrialReport]) -> str:
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>trialmatch screen report</title>", f"<style>{_CSS}</style></head><body>",
            "<h1>Cohort screen</h1>", f'<p class="meta">generated {generated}</p>',
            _manifest_lines(manifest), "<h2>Trials</h2>", _overview(reports)]
    body += [_trial_section(r, i) for i, r in enumerate(reports)]
    body.append("</body></html>")
    return "\n".join(body)


def write_report(out_dir: Path, report_path: Path) -> None:
    """Write the HTML report of the screen in ``out_dir`` to ``report_path``."""
    manifest, reports = summarize(Path(out_dir))
    report_path = Path(report_path)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render_html(manifest, reports), encoding="utf-8")
