"""Coverage of the criteria compiler on the oncology trials of ../shared/data.

Issue 3, item 2: the share of criteria in the computable families that
compile fully. A criterion's family is decided from its TEXT by the cues in
``evals/families.yaml`` (rules documented there), never by the compiler's
own ``family`` label, so the compiler cannot choose what is counted.

    PYTHONPATH=. /tmp/v/bin/python evals/coverage.py [--limit N] [--data DIR] [--out DIR]

Writes ``evals/results/coverage.json`` and ``evals/results/coverage.md``.
Exits 0 with a message, writing nothing, when the data folder is absent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from criteria.compiler import compile_trial
from criteria.sources.ages import parse_age
from criteria.sources.ctgov_json import normalize_phases, normalize_sex, normalize_status
from criteria.trial import Trial

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
FAMILIES_FILE = HERE / "families.yaml"
LEGACY = "trials/ctgov_legacy_xml_subset.jsonl"
TRIALGPT = "trials/trialgpt_format_oncology_990.jsonl"

# Head-and-neck sites named in a TrialGPT title or disease list.
HEAD_NECK = re.compile(
    r"head and neck|head & neck|\bhnscc\b|\bscchn\b|oral cavity|\boral (cancer|carcinoma|squamous)"
    r"|oropharyn\w*|hypopharyn\w*|nasopharyn\w*|\bpharyn\w*|laryn\w*|\btongue\b|salivary"
    r"|parotid|\blip\b|tonsil\w*|sinonasal|paranasal|nasal cavity|gingiva\w*|buccal"
    r"|mouth (cancer|neoplasm)", re.IGNORECASE)

STATES = ("full", "partial", "none")


# --------------------------------------------------------------------------- classifier


@dataclass(frozen=True)
class Family:
    name: str
    computable: bool
    cues: tuple[re.Pattern[str], ...]
    ignore: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Classifier:
    no_requirement: tuple[re.Pattern[str], ...]
    families: tuple[Family, ...]

    @property
    def computable(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.families if f.computable)

    def is_computable(self, name: str) -> bool:
        return any(f.name == name and f.computable for f in self.families)

    def no_req(self, text: str) -> bool:
        return any(p.search(text) for p in self.no_requirement)

    def match(self, text: str) -> list[str]:
        out = []
        for fam in self.families:
            t = text
            for p in fam.ignore:
                t = p.sub(lambda m: " " * len(m.group(0)), t)
            if any(p.search(t) for p in fam.cues):
                out.append(fam.name)
        return out

    def classify(self, text: str, label: str = "") -> list[str]:
        """Families of a criterion text (``[]``: unclassified; ``["no_requirement"]``).

        ``label`` is the nearest preceding section label, used only when the
        text alone matches no family (families.yaml, rule 4).
        """
        if self.no_req(text):
            return ["no_requirement"]
        found = self.match(text)
        if not found and label:
            found = self.match(f"{label} {text}")
        return found


def _compile_all(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


@cache
def load_classifier(path: Path = FAMILIES_FILE) -> Classifier:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fams = tuple(
        Family(name=f["name"], computable=bool(f["computable"]), cues=_compile_all(f["cues"]),
               ignore=_compile_all(f.get("ignore") or ()))
        for f in doc["families"])
    return Classifier(no_requirement=_compile_all(doc["no_requirement"]), families=fams)


def is_label(text: str) -> bool:
    return text.rstrip().endswith(":")


# --------------------------------------------------------------------------- corpora


@dataclass
class CorpusTrial:
    trial: Trial
    corpus: str  # "legacy" or "trialgpt"
    head_and_neck: bool


def _legacy_trial(r: dict[str, Any], source: str) -> Trial:
    phase = r.get("phase")
    return Trial(
        trial_id=r["nct_id"], title=r.get("brief_title") or r.get("official_title") or "",
        status=normalize_status(r.get("overall_status")),
        phases=normalize_phases(phase) if phase else [],
        conditions=list(r.get("conditions") or []),
        interventions=[i.get("name", "") for i in r.get("interventions") or []],
        minimum_age=parse_age(r.get("minimum_age")), maximum_age=parse_age(r.get("maximum_age")),
        sex=normalize_sex(r.get("gender")), eligibility_text=r.get("eligibility_criteria") or "",
        source=source)


def _trialgpt_trial(r: dict[str, Any], source: str) -> Trial:
    text = ("Inclusion Criteria:\n" + (r.get("inclusion_criteria") or "")
            + "\n\nExclusion Criteria:\n" + (r.get("exclusion_criteria") or ""))
    return Trial(trial_id=r["NCT_ID"], title=r.get("brief_title") or "",
                 conditions=list(r.get("diseases_list") or []),
                 interventions=list(r.get("drugs_list") or []),
                 eligibility_text=text, source=source)


def _via_sources(path: Path) -> dict[str, Trial] | None:
    """Trials read by criteria.sources, when it supports this JSONL shape."""
    try:
        from criteria.sources import TrialFileError, read_trial_file
        records = read_trial_file(path)
    except (ImportError, TrialFileError, ValueError):
        return None
    out: dict[str, Trial] = {}
    for rec in records:
        trial = getattr(rec, "trial", rec)
        if isinstance(trial, Trial):
            out[trial.trial_id] = trial
    return out


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def load_corpus(data: Path, limit: int | None = None) -> list[CorpusTrial]:
    """Oncology legacy records and the TrialGPT oncology trials.

    ``limit`` keeps the first N of each corpus (quick runs).
    """
    out: list[CorpusTrial] = []
    legacy = data / LEGACY
    if legacy.exists():
        rows = [r for r in _read_jsonl(legacy) if r.get("is_oncology")][:limit]
        read = _via_sources(legacy) or {}
        for r in rows:
            t = read.get(r["nct_id"]) or _legacy_trial(r, str(legacy))
            out.append(CorpusTrial(t, "legacy", bool(r.get("is_head_and_neck_cancer"))))
    tgpt = data / TRIALGPT
    if tgpt.exists():
        rows = _read_jsonl(tgpt)[:limit]
        read = _via_sources(tgpt) or {}
        for r in rows:
            t = read.get(r["NCT_ID"]) or _trialgpt_trial(r, str(tgpt))
            names = " ".join([r.get("brief_title") or "", *(r.get("diseases_list") or [])])
            out.append(CorpusTrial(t, "trialgpt", bool(HEAD_NECK.search(names))))
    return out


# --------------------------------------------------------------------------- counting

_NUM = re.compile(r"\d+(?:[.,]\d+)*")
_WORDS = re.compile(r"\S+")


def phrasing(text: str, words: int = 6) -> str:
    """First ``words`` words, lower-cased, numbers masked as #."""
    toks = _WORDS.findall(_NUM.sub("#", text.lower()))[:words]
    return " ".join(t.strip(".,;:()[]") or t for t in toks)


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, state: str) -> None:
        self.counts[state] += 1

    def as_dict(self) -> dict[str, Any]:
        n = sum(self.counts.values())
        d: dict[str, Any] = {"criteria": n}
        for s in STATES:
            d[s] = self.counts[s]
            d[f"{s}_pct"] = round(100 * self.counts[s] / n, 1) if n else None
        return d


@dataclass
class Scope:
    """Counts over one set of trials (all oncology, or head and neck)."""

    trials: int = 0
    text_criteria: int = 0
    no_requirement: int = 0
    unclassified: int = 0
    non_computable_only: int = 0
    mixed: int = 0  # computable and non-computable cues both matched
    computable: Tally = field(default_factory=Tally)
    computable_unmixed: Tally = field(default_factory=Tally)
    by_family: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    structured: Tally = field(default_factory=Tally)
    structured_by_family: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    compiler_family_agrees: int = 0
    failures: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def as_dict(self, clf: Classifier, top: int = 30) -> dict[str, Any]:
        fams = [f.name for f in clf.families]
        return {
            "trials": self.trials,
            "text_criteria": self.text_criteria,
            "no_requirement": self.no_requirement,
            "unclassified": self.unclassified,
            "non_computable_only": self.non_computable_only,
            "computable": self.computable.as_dict(),
            "computable_mixed": self.mixed,
            "computable_without_mixed": self.computable_unmixed.as_dict(),
            "compiler_family_agrees_pct": round(
                100 * self.compiler_family_agrees / max(1, sum(self.computable.counts.values())),
                1),
            "by_family": {
                f: {"computable": clf.is_computable(f), **self.by_family[f].as_dict()}
                for f in fams if f in self.by_family},
            "structured": {
                "all": self.structured.as_dict(),
                **{f: t.as_dict() for f, t in sorted(self.structured_by_family.items())}},
            "top_not_full": {
                f: [{"phrasing": p, "count": c, **self.examples[(f, p)]}
                    for p, c in self.failures[f].most_common(top)]
                for f in clf.computable if self.failures.get(f)},
        }


# Compiler family labels that correspond to our families (only used for the
# agreement figure, never for counting).
_COMPILER_ALIASES = {
    "lab": "labs", "labs": "labs", "performance_status": "performance_status",
    "age": "age", "sex": "sex", "biomarker": "biomarkers", "biomarkers": "biomarkers",
    "diagnosis": "diagnosis", "prior_therapy": "prior_therapy",
    "current_therapy": "current_therapy", "washout": "washout",
    "comorbidity": "comorbidities_history", "condition": "comorbidities_history",
    "pregnancy": "pregnancy_breastfeeding", "life_expectancy": "life_expectancy",
    "measurable_disease": "measurable_disease", "cns_metastases": "cns_metastases",
}


def tally_trial(ct: Any, scopes: list[Scope], clf: Classifier) -> list[dict[str, Any]]:
    """Count one compiled trial into each scope; return its classified rows."""
    rows = []
    label = ""
    for sc in scopes:
        sc.trials += 1
    for c in ct.criteria:
        if c.source == "structured":
            for sc in scopes:
                sc.structured.add(c.compiled)
                sc.structured_by_family[c.family].add(c.compiled)
            continue
        fams = clf.classify(c.text, label)
        if is_label(c.text) and fams == ["no_requirement"]:
            label = c.text.strip()
        comp = [f for f in fams if clf.is_computable(f)]
        non = [f for f in fams if f != "no_requirement" and not clf.is_computable(f)]
        rows.append({"trial": ct.trial.trial_id, "kind": c.kind, "text": c.text,
                     "families": fams, "compiled": c.compiled, "compiler_family": c.family})
        for sc in scopes:
            sc.text_criteria += 1
            if fams == ["no_requirement"]:
                sc.no_requirement += 1
                continue
            if not fams:
                sc.unclassified += 1
                continue
            for f in fams:
                sc.by_family[f].add(c.compiled)
            if not comp:
                sc.non_computable_only += 1
                continue
            sc.computable.add(c.compiled)
            if non:
                sc.mixed += 1
            else:
                sc.computable_unmixed.add(c.compiled)
            if _COMPILER_ALIASES.get(c.family) in comp:
                sc.compiler_family_agrees += 1
            if c.compiled != "full":
                p = phrasing(c.text)
                for f in comp:
                    sc.failures[f][p] += 1
                    sc.examples.setdefault((f, p), {
                        "example": c.text, "trial": ct.trial.trial_id,
                        "compiled": c.compiled})
    return rows


def run(data: Path, limit: int | None = None, out_dir: Path | None = None,
        families: Path = FAMILIES_FILE, top: int = 30, quiet: bool = False,
        rows_out: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    clf = load_classifier(families)
    trials = load_corpus(data, limit)
    overall, hn = Scope(), Scope()
    per_corpus: dict[str, Scope] = defaultdict(Scope)
    t0 = time.perf_counter()
    errors = []
    for i, item in enumerate(trials, 1):
        try:
            ct = compile_trial(item.trial)
        except Exception as exc:  # noqa: BLE001 - a crash is a finding, not a stop
            errors.append({"trial": item.trial.trial_id, "error": f"{type(exc).__name__}: {exc}"})
            continue
        scopes = [overall, per_corpus[item.corpus]] + ([hn] if item.head_and_neck else [])
        rows = tally_trial(ct, scopes, clf)
        if rows_out is not None:
            rows_out.extend(rows)
        if not quiet and i % 200 == 0:
            print(f"  {i}/{len(trials)} trials compiled", file=sys.stderr)
    seconds = time.perf_counter() - t0
    result = {
        "what": "share of criteria in computable families (decided from the text by "
                "evals/families.yaml) that the compiler compiles fully",
        "data": str(data), "limit": limit, "compile_seconds": round(seconds, 1),
        "compile_errors": errors,
        "families": [{"name": f.name, "computable": f.computable} for f in clf.families],
        "oncology": overall.as_dict(clf, top),
        "by_corpus": {k: v.as_dict(clf, 0) for k, v in sorted(per_corpus.items())},
        "head_and_neck": hn.as_dict(clf, top),
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "coverage.json").write_text(json.dumps(result, indent=1, ensure_ascii=False)
                                               + "\n", encoding="utf-8")
        (out_dir / "coverage.md").write_text(render_md(result), encoding="utf-8")
    return result


# --------------------------------------------------------------------------- report


def _pct(d: dict[str, Any], s: str) -> str:
    v = d.get(f"{s}_pct")
    return "-" if v is None else f"{v:.1f}%"


def _row(name: str, d: dict[str, Any]) -> str:
    return (f"| {name} | {d['criteria']} | {d['full']} ({_pct(d, 'full')}) "
            f"| {d['partial']} ({_pct(d, 'partial')}) | {d['none']} ({_pct(d, 'none')}) |")


def _scope_md(title: str, s: dict[str, Any], families: list[dict[str, Any]]) -> list[str]:
    head = ["| | criteria | full | partial | none |", "|---|---|---|---|---|"]
    out = [f"## {title}", "",
           f"{s['trials']} trials, {s['text_criteria']} criteria from the eligibility text: "
           f"{s['no_requirement']} state no requirement (labels, \"Not specified\"), "
           f"{s['unclassified']} match no family, {s['non_computable_only']} match only "
           f"non-computable families, **{s['computable']['criteria']} are in computable "
           f"families** ({s['computable_mixed']} of them also match a non-computable family).",
           "", *head,
           _row("**computable families**", s["computable"]),
           _row("computable, without mixed", s["computable_without_mixed"]), "",
           "Per family (a criterion counts in every family it matches):", "", *head]
    for f in families:
        d = s["by_family"].get(f["name"])
        if d:
            tag = "" if f["computable"] else " *(non-computable)*"
            out.append(_row(f["name"] + tag, d))
    out += ["", "Structured registry fields (not counted above):", "", *head]
    for name, d in s["structured"].items():
        out.append(_row(name, d))
    out += ["", f"The compiler's own family label names one of the criterion's families for "
            f"{s['compiler_family_agrees_pct']}% of computable-family criteria.", ""]
    return out


def render_md(r: dict[str, Any]) -> str:
    fams = r["families"]
    out = ["# Compiler coverage on the oncology corpus", "",
           "Generated by `PYTHONPATH=. python evals/coverage.py`"
           + (f" --limit {r['limit']}" if r["limit"] else "") + f" from `{r['data']}`.",
           "A criterion's family is decided from its text by `evals/families.yaml` "
           "(rules at the top of that file), never by the compiler's label.", "",
           f"Compile time: {r['compile_seconds']} s. Compile errors: {len(r['compile_errors'])}.",
           ""]
    out += _scope_md("All oncology trials", r["oncology"], fams)
    for name, s in r["by_corpus"].items():
        out += [f"### Corpus: {name}", "", "| | criteria | full | partial | none |",
                "|---|---|---|---|---|", _row("computable families", s["computable"]), ""]
    out += _scope_md("Head and neck subset", r["head_and_neck"], fams)
    for title, s in (("oncology", r["oncology"]), ("head and neck", r["head_and_neck"])):
        out += [f"## Most frequent phrasings not compiled fully ({title})", "",
                "First 6 words, numbers masked as #.", ""]
        for fam, items in s["top_not_full"].items():
            out += [f"### {fam}", "", "| count | phrasing | state | example |", "|---|---|---|---|"]
            for it in items:
                ex = it["example"].replace("|", "\\|").replace("\n", " ")
                out.append(f"| {it['count']} | {it['phrasing']} | {it['compiled']} "
                           f"| {ex} ({it['trial']}) |")
            out.append("")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--limit", type=int, default=None, help="first N trials of each corpus")
    ap.add_argument("--families", type=Path, default=FAMILIES_FILE)
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args(argv)
    if not (args.data / LEGACY).exists() and not (args.data / TRIALGPT).exists():
        print(f"skipped: no trial corpora under {args.data} (../shared/data is absent)",
              file=sys.stderr)
        return 0
    r = run(args.data, args.limit, args.out, args.families, args.top)
    s = r["oncology"]["computable"]
    h = r["head_and_neck"]["computable"]
    print(f"oncology: {s['criteria']} computable-family criteria, full {_pct(s, 'full')}, "
          f"partial {_pct(s, 'partial')}, none {_pct(s, 'none')}")
    print(f"head and neck: {h['criteria']} criteria, full {_pct(h, 'full')}, "
          f"partial {_pct(h, 'partial')}, none {_pct(h, 'none')}")
    print(f"wrote {args.out / 'coverage.md'} and coverage.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
