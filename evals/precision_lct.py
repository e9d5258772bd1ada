"""Precision of compiled thresholds against the LCT corpus annotations.

For each of the 1,006 LCT trials: compile its eligibility text, read the
annotated numeric comparisons on Age and Observation entities (operator,
value(s), unit; linked by the brat ``Numeric-Filter`` role, else by proximity
on the same line), pair them with compiled atoms covering the same span, and
compare operator, value (after unit conversion), unit dimension and, for
ages, the bound.  Agreement is counted only where both cover the same span;
annotated comparisons nothing compiled (coverage) and compiled atoms no
annotation covers are counted apart.

    PYTHONPATH=. python evals/precision_lct.py [--limit N]

Writes the "lct" sections of evals/results/precision.json and disagreements.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from criteria.compiler import compile_text  # noqa: E402
from evals.precision_common import (  # noqa: E402
    SHARED,
    WHOLE_YEARS,
    annotated_bounds,
    as_dict,
    causes,
    compare,
    compiled_bounds,
    md_escape,
    pair,
    parse_brat,
    tally,
    update_json,
    update_markdown,
)

CORPUS = SHARED / "criteria_annotations" / "lct_corpus_brat.jsonl"


def _line(text: str, start: int, end: int, width: int = 160) -> str:
    s = text.rfind("\n", 0, start) + 1
    e = text.find("\n", end)
    e = len(text) if e < 0 else e
    if e - s > width:
        s = max(s, start - width // 2)
        e = min(e, end + width // 2)
    return md_escape(text[s:e])


def evaluate_doc(doc_id: str, text: str, ann: str) -> dict:
    brat = parse_brat(ann)
    anns, skipped = annotated_bounds(doc_id, text, brat)
    comps = compiled_bounds(doc_id, text, compile_text(doc_id, text))
    pairs, uncovered, unannotated = pair(anns, comps)
    rows = []
    for a, c, how in pairs:
        verdicts = compare(a, c)
        rows.append({
            "doc_id": doc_id, "span": [a.start, a.end], "text": _line(text, a.start, a.end),
            "annotation": a.reading(), "annotation_kind": a.kind, "linked_by": a.linked_by,
            "annotation_note": a.note, "compiled": c.reading(), "criterion": c.criterion_id,
            "paired_by": how, "verdicts": [as_dict(v) for v in verdicts]})
    return {
        "rows": rows,
        "uncovered": [{"doc_id": doc_id, "kind": a.kind, "measure": a.measure,
                       "reading": a.reading(), "text": _line(text, a.start, a.end)}
                      for a in uncovered],
        "unannotated": [{"doc_id": doc_id, "family": c.family, "reading": c.reading(),
                         "text": md_escape(text[c.crit_start:c.crit_end])[:200]}
                        for c in unannotated],
        "skipped": skipped,
        "annotated": len(anns),
        "compiled": len(comps),
    }


def run(limit: int | None = None, write: bool = True) -> dict:
    if not CORPUS.exists():
        print(f"skip: {CORPUS} not found (the shared data folder is absent)")
        return {}
    docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    if limit:
        docs = docs[:limit]
    rows: list[dict] = []
    uncovered: list[dict] = []
    unannotated: list[dict] = []
    skipped: list[dict] = []
    n_ann = n_comp = 0
    for d in docs:
        r = evaluate_doc(d["doc_id"], d["text"], d["ann"])
        rows += r["rows"]
        uncovered += r["uncovered"]
        unannotated += r["unannotated"]
        skipped += r["skipped"]
        n_ann += r["annotated"]
        n_comp += r["compiled"]
    figures = tally(rows)
    by_kind = Counter(r["annotation_kind"] for r in rows)
    unc_kind = Counter(u["kind"] for u in uncovered)
    payload = {
        "source": "LCT corpus (lct_corpus_brat.jsonl), Eq-Comparison on Age/Observation",
        "trials": len(docs),
        "annotated_bounds": n_ann,
        "compiled_numeric_atoms": n_comp,
        "pairs": len(rows),
        "pairs_by_method": dict(Counter(r["paired_by"] for r in rows)),
        "figures": figures,
        "pairs_by_annotation_kind": dict(by_kind),
        "coverage": {
            "annotated_bounds_not_compiled": len(uncovered),
            "by_kind": dict(unc_kind),
            "share_compiled": {k: round(by_kind[k] / (by_kind[k] + unc_kind[k]), 4)
                               for k in sorted(set(by_kind) | set(unc_kind))},
        },
        "compiled_atoms_without_annotation": len(unannotated),
        "compiled_atoms_without_annotation_by_family": dict(Counter(u["family"]
                                                                    for u in unannotated)),
        "annotated_comparisons_skipped": dict(Counter(s["why"] for s in skipped)),
        "annotation_operator_attribute_conflicts": sum(bool(r["annotation_note"]) for r in rows),
        "disagreement_causes": dict(causes(rows)),
        # agreements that rest on reading "over N years" as N or older (whole-year ages)
        "operator_agreements_by_whole_years": sum(
            v["cause"] == WHOLE_YEARS for r in rows for v in r["verdicts"] if v["agree"]),
    }
    if write:
        update_json("lct", payload)
        update_markdown("lct", _markdown(payload, rows, uncovered, unannotated))
    _print(payload)
    return {"payload": payload, "rows": rows, "uncovered": uncovered, "unannotated": unannotated}


def _markdown(p: dict, rows: list[dict], uncovered: list[dict], unannotated: list[dict]) -> str:
    f = p["figures"]
    out = ["## LCT corpus", "",
           f"{p['trials']} trials; {p['annotated_bounds']} annotated bounds on Age/Observation; "
           f"{p['compiled_numeric_atoms']} compiled numeric atoms; {p['pairs']} pairs covering "
           f"the same span ({', '.join(f'{k}: {v}' for k, v in p['pairs_by_method'].items())}).",
           "", "| attribute | agree | compared | share |", "|---|---|---|---|"]
    for k, v in f.items():
        share = "n/a" if v["share"] is None else f"{100 * v['share']:.1f}%"
        out.append(f"| {k} | {v['agree']} | {v['compared']} | {share} |")
    out += ["", "Coverage (not precision): annotated bounds with no compiled atom at that place: "
            f"{p['coverage']['annotated_bounds_not_compiled']} "
            f"({', '.join(f'{k}: {v}' for k, v in p['coverage']['by_kind'].items())}); "
            "compiled atoms with no annotated comparison: "
            f"{p['compiled_atoms_without_annotation']}.",
            "", "Operator agreements that rest on reading \"over N years\" as N or older "
            "(ages are whole years; see the README): "
            f"{p.get('operator_agreements_by_whole_years', 0)}.",
            "", "### Causes, most frequent first", ""]
    for cause, n in p["disagreement_causes"].items():
        out.append(f"- {n} × {cause}")
    out += ["", "### Every disagreement", "",
            "| trial | text (line of the annotation) | annotation reads | compiler reads | "
            "disagreement |", "|---|---|---|---|---|"]
    bad = [r for r in rows if not all(v["agree"] for v in r["verdicts"])]
    bad.sort(key=lambda r: (r["doc_id"], r["span"][0]))
    for r in bad:
        why = "; ".join(f"{v['attribute']}: {v['cause']}" for v in r["verdicts"]
                        if not v["agree"] and v["attribute"] != "age")
        note = f" ({r['annotation_note']})" if r["annotation_note"] else ""
        out.append(f"| {r['doc_id']} | {r['text']} | {md_escape(r['annotation'])}{note} | "
                   f"{md_escape(r['compiled'])} | {md_escape(why)} |")
    conflicts = [r for r in rows if r["annotation_note"]]
    if conflicts:
        out += ["", "### Annotations whose operator attribute contradicts their words", "",
                "The words decide (see `normalize_operator`); listed so a reader can judge.", "",
                "| trial | text | annotation | compiler | agree |", "|---|---|---|---|---|"]
        for r in conflicts:
            ok = all(v["agree"] for v in r["verdicts"])
            out.append(f"| {r['doc_id']} | {r['text']} | {md_escape(r['annotation'])} "
                       f"({r['annotation_note']}) | {md_escape(r['compiled'])} | {ok} |")
    return "\n".join(out) + "\n"


def _print(p: dict) -> None:
    print(f"LCT: {p['trials']} trials, {p['pairs']} pairs")
    for k, v in p["figures"].items():
        share = "n/a" if v["share"] is None else f"{100 * v['share']:.1f}%"
        print(f"  {k:28s} {v['agree']:5d} / {v['compared']:5d}  {share}")
    print(f"  not compiled (coverage): {p['coverage']['annotated_bounds_not_compiled']} "
          f"{p['coverage']['by_kind']}")
    print(f"  compiled, no annotation: {p['compiled_atoms_without_annotation']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N trials only")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    run(args.limit, write=not args.no_write)


if __name__ == "__main__":
    main()
