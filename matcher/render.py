"""Output: readable tables (rich) and the compile report's JSON."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from criteria import ir
from criteria.overrides import stale_overrides
from criteria.trial import CompiledTrial, Trial

_STATUS_STYLE = {"pass": "green", "fail": "bold red", "unknown": "yellow", "review": "cyan"}
_VERDICT_STYLE = {"eligible": "bold green", "possible": "bold yellow", "ineligible": "bold red"}


def _console(out: TextIO) -> Console:
    return Console(file=out, width=140, soft_wrap=False, highlight=False)


def match_table(result: dict[str, Any], out: TextIO) -> None:
    con = _console(out)
    con.print(f"Patient {result['patient_id']}, judged as of {result['as_of']}"
              + (" (unrecorded histories assumed absent)" if result.get("assume_absent") else ""))
    if not result["results"]:
        con.print("No trials matched the status filter (use --status any for every trial).")
    summary = Table(title="Trials, best first", show_lines=False)
    for col in ("trial", "verdict", "score", "pass", "fail", "unknown", "review", "title"):
        summary.add_column(col)
    for r in result["results"]:
        n = r["counts"]
        summary.add_row(r["trial_id"], Text(r["verdict"], _VERDICT_STYLE[r["verdict"]]),
                        f"{r['score']:.2f}", str(n["pass"]), str(n["fail"]), str(n["unknown"]),
                        str(n["review"]), r["title"][:60])
    con.print(summary)
    for r in result["results"]:
        table = Table(title=f"{r['trial_id']}: {r['verdict']} (score {r['score']:.2f})",
                      show_lines=True, expand=True)
        table.add_column("kind", width=4)
        table.add_column("status", width=7)
        table.add_column("criterion", ratio=3)
        table.add_column("reason", ratio=4)
        for c in r["criteria"]:
            cur = c.get("curated")
            mark = "" if cur is None else (
                "\n(curated override, stale: not applied)" if cur["status"] == "stale"
                else f"\n(curated by {cur['curator']} on {cur['date']})")
            table.add_row(c["kind"][:3], Text(c["status"], _STATUS_STYLE[c["status"]]),
                          c["text"] + mark, c["reason"])
        con.print(table)
        if r["to_confirm"]:
            con.print("To confirm:")
            for item in r["to_confirm"]:
                con.print(f"  [ ] {item}", markup=False)
    if result.get("unused_data"):
        con.print("Patient data not used: " + "; ".join(result["unused_data"]), markup=False)


def _uncompiled_phrase(text: str) -> str:
    """A phrasing key for the report: the first words, numbers masked."""
    words = re.sub(r"\d+(?:[.,]\d+)*", "N", text.lower()).split()
    return " ".join(words[:6])


def compile_json(trials: list[CompiledTrial]) -> dict[str, Any]:
    out_trials = []
    states: Counter[str] = Counter()
    by_family: dict[str, Counter[str]] = {}
    phrases: Counter[str] = Counter()
    for t in trials:
        crits = []
        for c in t.criteria:
            crits.append({
                "id": c.id, "kind": c.kind, "text": c.text, "compiled": c.compiled,
                "family": c.family, "rule": c.rule, "source": c.source,
                "span": [c.span.start, c.span.end] if c.span else None,
                "review": list(c.review) or [
                    a for a in _review_parts(c)], "notes": list(c.notes),
                "logic": c.logic.model_dump() if c.logic is not None else None,
                "curated": c.curation.model_dump() if c.curation is not None else None,
            })
            states[c.compiled] += 1
            by_family.setdefault(c.family, Counter())[c.compiled] += 1
            if c.compiled != "full":
                for part in crits[-1]["review"]:
                    phrases[_uncompiled_phrase(part)] += 1
        stale = [o.model_dump() for o in stale_overrides(t)]
        out_trials.append({"trial_id": t.trial.trial_id, "title": t.trial.title,
                           "status": t.trial.status, "criteria": crits,
                           "stale_overrides": stale})
    total = sum(states.values()) or 1
    return {
        "trials": out_trials,
        "summary": {
            "trials": len(trials),
            "criteria": sum(states.values()),
            "compiled": {k: round(states[k] / total, 4) for k in ("full", "partial", "none")},
            "by_family": {f: {"count": sum(c.values()),
                              **{k: round(c[k] / sum(c.values()), 4)
                                 for k in ("full", "partial", "none")}}
                          for f, c in sorted(by_family.items())},
            "top_uncompiled": [{"phrase": p, "count": n} for p, n in phrases.most_common(20)],
            "stale_overrides": [o for t in out_trials for o in t["stale_overrides"]],
        },
    }


def _review_parts(c: Any) -> list[str]:
    return [a.text for a in ir.atoms(c.logic) if isinstance(a, ir.Review)]


def compile_table(trials: list[CompiledTrial], out: TextIO) -> None:
    con = _console(out)
    for t in trials:
        table = Table(title=f"{t.trial.trial_id}: {t.trial.title[:90]}", show_lines=True,
                      expand=True)
        table.add_column("kind", width=4)
        table.add_column("compiled", width=8)
        table.add_column("text", ratio=3)
        table.add_column("rule", ratio=4)
        for c in t.criteria:
            rule = c.rule or "(needs a person)"
            parts = _review_parts(c) if c.logic is not None else []
            if parts:
                rule += "\nfor review: " + "; ".join(parts)
            table.add_row(c.kind[:3], c.compiled, c.text, Text(rule + _curation_line(c)))
        con.print(table)
        for o in stale_overrides(t):
            con.print(f"STALE override {o.file} [{o.index}] ({o.action} by {o.curator} on "
                      f"{o.date}) for {o.criterion}: {o.reason}; not applied"
                      + (f"; the criterion now closest is {o.candidate}" if o.candidate else ""),
                      markup=False)


def _curation_line(c: Any) -> str:
    cur = c.curation
    if cur is None:
        return ""
    who = f"{cur.curator} on {cur.date}" if cur.date else cur.curator
    if cur.status == "stale":
        return (f"\nSTALE override ({cur.action} by {who}): the text changed since it was"
                " reviewed; the compiler's rule stands")
    verb = {"replace": "curated", "add": "added", "review": "sent to review"}[cur.action]
    return f"\n{verb} by {who}" + (f": {cur.note}" if cur.note else "")


def trials_table(trials: list[Trial], out: TextIO) -> None:
    con = _console(out)
    table = Table(title="Bundled trial library")
    for col in ("trial", "status", "phases", "ages", "sex", "title", "source"):
        table.add_column(col)
    for t in trials:
        ages = f"{t.minimum_age or '-'}-{t.maximum_age or '-'}" if (
            t.minimum_age or t.maximum_age) else "not stated"
        table.add_row(t.trial_id, t.status, ",".join(t.phases), ages, t.sex, t.title[:50],
                      t.source)
    con.print(table)
