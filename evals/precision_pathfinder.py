"""Precision of compiled thresholds against the Trial Pathfinder rules (10 aNSCLC trials).

Trial Pathfinder (Liu et al., Nature 2021) hand-encoded the eligibility of 10
phase-3 NSCLC trials as rules over Flatiron-style tables.  This script parses
the age, ECOG and lab rules into (feature, operator, value, unit) and compares
them with the atoms the compiler reads from the same trial's eligibility text.

Trial texts: only 4 of the 10 trials (KEYNOTE-010, KEYNOTE-189, KEYNOTE-407,
OAK) have eligibility text anywhere in ../shared/data, in
``trials/trialgpt_format_oncology_990.jsonl`` (the ClinicalTrials.gov summary
criteria, shorter than the protocols Pathfinder encoded).  FLAURA, LUX-Lung 8,
CheckMate 017/057/078 and BEYOND have no text there: their rules are parsed
and listed, not compared.

Units of the Pathfinder encodings (not stated in their files; inferred):
Flatiron lab values are in US conventional units.  The tutorial data
(patients/trialpathfinder_tutorial_synthetic/lab.csv) has platelet counts
with median ~101 (10th-90th centile 60-139), i.e. 10^9/L (= 10^3/uL), and
total bilirubin with median ~1.1 (0.6-1.8), i.e. mg/dL.  So: platelets, ANC,
WBC, lymphocytes in 10^9/L; hemoglobin and albumin in g/dL; bilirubin in
mg/dL; ``value <= k * lab['maxnorm']`` is k x ULN.  "Granulocytes #" >= 0.0015
is a second encoding of ANC >= 1.5 x 10^9/L in a unit we cannot identify
(10^12/L would fit); it is listed, not compared.  ``@YEARS(18)`` after the
birth year is age >= 18.  ``ecogvalue == 0 OR == 1`` is ECOG <= 1.

    PYTHONPATH=. python evals/precision_pathfinder.py
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from criteria import units, vocab  # noqa: E402
from criteria.compiler import compile_text  # noqa: E402
from evals.precision_common import (  # noqa: E402
    NEGATE,
    SHARED,
    STRICT_PAIR,
    CompiledBound,
    close,
    compiled_bounds,
    md_escape,
    tally,
    update_json,
    update_markdown,
)

RULES = SHARED / "criteria_annotations" / "trialpathfinder_criteria"
TRIALS = SHARED / "trials" / "trialgpt_format_oncology_990.jsonl"

# file -> (trial name, NCT id); the NCT ids are the trials' public registrations
TRIAL_IDS = {
    "AZ_FLAURA.csv": ("FLAURA", "NCT02296125"),
    "BI_LUX8.csv": ("LUX-Lung 8", "NCT01523587"),
    "BMS_Checkmate017.csv": ("CheckMate 017", "NCT01642004"),
    "BMS_Checkmate057.csv": ("CheckMate 057", "NCT01673867"),
    "BMS_Checkmate078.csv": ("CheckMate 078", "NCT02613507"),
    "Merck_Keynote010.csv": ("KEYNOTE-010", "NCT01905657"),
    "Merck_Keynote189.csv": ("KEYNOTE-189", "NCT02578680"),
    "Merck_Keynote407.csv": ("KEYNOTE-407", "NCT02775435"),
    "Roche_BEYOND.csv": ("BEYOND", "NCT01364012"),
    "Roche_OAK.csv": ("OAK", "NCT02008227"),
}

# Pathfinder lab name -> (analyte id, assumed unit of its values); None: not compared
LAB_NAMES: dict[str, tuple[str, str] | None] = {
    "Neutrophil count (absolute)": ("anc", "10^9/L"),
    "Granulocytes #": None,
    "Platelet count": ("platelets", "10^9/L"),
    "Hemoglobin, whole blood": ("hemoglobin", "g/dL"),
    "White Blood Cell Count": ("wbc", "10^9/L"),
    "Bilirubin (Total), serum": ("total_bilirubin", "mg/dL"),
    "Total bilirubin": ("total_bilirubin", "mg/dL"),
    "Aspartate aminotransferase (AST or SGOT)": ("ast", "U/L"),
    "Alanine aminotransferase (ALT or SGPT)": ("alt", "U/L"),
    "Alkaline phosphatase (ALP)": ("alp", "U/L"),
    "Lymphocyte Count Absolute": ("lymphocytes", "10^9/L"),
    "Albumin, serum": ("albumin", "g/dL"),
    "Creatinine, serum": ("creatinine", "mg/dL"),
}


@dataclass
class Rule:
    trial: str
    nct: str
    block: str
    kind: str  # inclusion / exclusion
    feature: str  # age | ECOG | analyte id
    op: str
    value: float
    unit: str | None  # None for age (years) and ECOG; "uln" for ULN multiples
    source: str

    def reading(self) -> str:
        u = " x ULN" if self.unit == "uln" else (f" {self.unit}" if self.unit else "")
        return f"{self.feature} {self.op} {self.value:g}{u}"


_BLOCK = re.compile(r'"(?P<body>[^"]*)"', re.DOTALL)
_VALUE_RULE = re.compile(
    r"lab\[['‘’]?(?:value|LabValue)['‘’]?\]\s*(?P<op>[<>]=?|==)\s*(?P<rhs>[^)\n]+)")
_NAME = re.compile(r"lab\[['‘’]?(?:name|LabName)['‘’]?\]\s*==\s*'(?P<name>[^']+)'")


def parse_rules(path: Path, trial: str, nct: str) -> tuple[list[Rule], list[str]]:
    """Age, ECOG and lab thresholds of one Pathfinder criteria file."""
    rules: list[Rule] = []
    unparsed: list[str] = []
    text = path.read_text(encoding="utf-8-sig")
    for m in _BLOCK.finditer(text):
        body = m.group("body")
        lines = body.strip().splitlines()
        if len(lines) < 2:
            continue
        name = lines[0].strip()
        kind = "exclusion" if "#exclusion" in body.lower() else "inclusion"
        if "birth" in body.lower() and (y := re.search(r"@YEARS\((\d+)\)", body)) \
                and name.lower().startswith("age"):
            rules.append(Rule(trial, nct, name, kind, "age", ">=", float(y.group(1)), None,
                              y.group(0)))
            continue
        ecog = [float(x) for x in re.findall(r"ecogvalue['‘’]?\]\s*==\s*(\d+)", body, re.I)] + \
            [float(x) for x in re.findall(r"\['ECOG'\]\s*==\s*(\d+)", body)]
        if ecog:
            vals = sorted(ecog)
            if vals == [float(i) for i in range(int(vals[-1]) + 1)]:
                rules.append(Rule(trial, nct, name, kind, "ECOG", "<=", vals[-1], None,
                                  " OR ".join(f"ecogvalue == {v:g}" for v in vals)))
            else:
                unparsed.append(f"{name}: ECOG values {vals}")
            continue
        names = [n.group("name") for n in _NAME.finditer(body)]
        if not names:
            continue
        # "((lab['name'] == 'A') AND (lab['value'] >= x)) OR ((lab['name'] == 'B') ..."
        pieces = re.split(r"\)\s*\)\s*OR\s*\(\s*\(", body) if len(names) > 1 else [body]
        for piece in pieces:
            vm = list(_VALUE_RULE.finditer(piece))
            nm = [n.group("name") for n in _NAME.finditer(piece)]
            if not vm or not nm:
                continue
            lab_name = nm[-1]
            for v in vm:
                op, rhs = v.group("op"), v.group("rhs").strip()
                target = LAB_NAMES.get(lab_name)
                if target is None:
                    unparsed.append(f"{name}: {lab_name} {op} {rhs} (unit unknown, not compared)")
                    continue
                if "maxnorm" in rhs:
                    k = re.match(r"([\d.]+)\s*\*", rhs)
                    rules.append(Rule(trial, nct, name, kind, target[0], op,
                                      float(k.group(1)) if k else 1.0, "uln", v.group(0)))
                else:
                    num = re.match(r"[\d.]+", rhs)
                    if not num:
                        unparsed.append(f"{name}: {v.group(0)}")
                        continue
                    rules.append(Rule(trial, nct, name, kind, target[0], op, float(num.group(0)),
                                      target[1], v.group(0)))
    return rules, unparsed


def trial_texts() -> dict[str, str]:
    out: dict[str, str] = {}
    if not TRIALS.exists():
        return out
    wanted = {nct for _, nct in TRIAL_IDS.values()}
    for line in TRIALS.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        if d.get("NCT_ID") in wanted:
            out[d["NCT_ID"]] = (f"Inclusion Criteria:\n{d.get('inclusion_criteria') or ''}\n"
                                f"Exclusion Criteria:\n{d.get('exclusion_criteria') or ''}")
    return out


def _feature(c: CompiledBound) -> str:
    return "ECOG" if c.feature == "ECOG" else c.feature


def compare_rule(r: Rule, c: CompiledBound) -> list[dict]:
    """Operator / value / unit of a Pathfinder rule vs one compiled atom.

    Pathfinder rules state what an eligible patient has; an atom of an
    exclusion criterion states what excludes, so its operator is negated."""
    op = NEGATE.get(c.op, c.op) if c.kind != r.kind else c.op
    out = []
    c_val = c.value
    r_op, r_val = r.op, r.value
    if r.feature == "ECOG":  # integer scale: '< 2' is '<= 1'
        if op == "<":
            op, c_val = "<=", c_val - 1
        elif op == "==" and c_val == 0:
            op = "<="
    ok = op == r_op
    out.append({"attribute": "operator", "agree": ok, "cause": "" if ok else (
        f"operator '{op}' vs '{r_op}' (strictness)" if STRICT_PAIR.get(r_op) == op
        else f"operator '{r_op}' in Pathfinder, '{op}' compiled")})
    if r.feature == "age":
        ok_v = close(r_val, c_val)
        out.append({"attribute": "value", "agree": ok_v, "cause": "" if ok_v else "different age"})
        out.append({"attribute": "age", "agree": ok and ok_v, "cause": ""})
    elif r.feature == "ECOG":
        ok_v = close(r_val, c_val)
        out.append({"attribute": "value", "agree": ok_v, "cause": "" if ok_v else "different ECOG"})
    elif r.unit == "uln" or c.relative_to:
        same = (r.unit == "uln") == (c.relative_to == "uln")
        out.append({"attribute": "unit", "agree": same, "cause": "" if same else
                    ("compiler reads 'x ULN' as absolute" if r.unit == "uln"
                     else "compiler reads an absolute threshold as a ULN multiple")})
        ok_v = same and close(r_val, c_val)
        out.append({"attribute": "value", "agree": ok_v,
                    "cause": "" if ok_v else
                    ("different ULN multiple" if same else "unit differs")})
    else:
        an = vocab.analyte(r.feature)
        try:
            conv = units.convert(r_val, r.unit, c.unit or an.canonical_unit,
                                 an.molar_mass if an else None)
            out.append({"attribute": "unit", "agree": True, "cause": ""})
            ok_v = close(conv, c_val)
            out.append({"attribute": "value", "agree": ok_v, "cause": "" if ok_v else
                        f"{r.value:g} {r.unit} = {conv:g} {c.unit}, compiled {c_val:g}"})
        except (units.UnitError, AttributeError):
            out.append({"attribute": "unit", "agree": False,
                        "cause": f"{r.unit} not convertible to {c.unit}"})
            out.append({"attribute": "value", "agree": False, "cause": "unit differs"})
    return out


def run(write: bool = True) -> dict:
    if not RULES.exists():
        print(f"skip: {RULES} not found (the shared data folder is absent)")
        return {}
    texts = trial_texts()
    rows: list[dict] = []
    not_compiled: list[dict] = []
    no_text: list[dict] = []
    unparsed_all: list[str] = []
    per_trial: dict[str, dict] = {}
    for fname, (trial, nct) in TRIAL_IDS.items():
        path = RULES / fname
        if not path.exists():
            continue
        rules, unparsed = parse_rules(path, trial, nct)
        unparsed_all += [f"{trial}: {u}" for u in unparsed]
        text = texts.get(nct)
        per_trial[trial] = {"nct": nct, "rules": len(rules), "text_available": text is not None}
        if text is None:
            no_text += [{"trial": trial, "nct": nct, "rule": r.reading(), "source": r.source}
                        for r in rules]
            continue
        comps = compiled_bounds(nct, text, compile_text(nct, text))
        used = 0
        for r in rules:
            same = [c for c in comps if _feature(c) == r.feature]
            if r.feature == "age":
                # Pathfinder encodes the lower bound; compare with the compiled lower bound
                lower = [c for c in same if (c.op in (">=", ">")) == (c.kind == r.kind)]
                same = lower or same
            if not same:
                not_compiled.append({"trial": trial, "nct": nct, "rule": r.reading(),
                                     "source": r.source})
                continue
            for c in same:
                used += 1
                v = compare_rule(r, c)
                rows.append({"trial": trial, "nct": nct, "rule": r.reading(),
                             "source": r.source, "compiled": c.reading(),
                             "criterion_kind": c.kind,
                             "text": md_escape(text[c.crit_start:c.crit_end])[:200],
                             "verdicts": v})
        per_trial[trial]["compared"] = used
    figures = tally(rows)
    payload = {
        "source": "Trial Pathfinder criteria (10 aNSCLC trials); texts from "
                  "trialgpt_format_oncology_990.jsonl",
        "trials_with_text": sorted(t for t, d in per_trial.items() if d["text_available"]),
        "trials_without_text": sorted(t for t, d in per_trial.items() if not d["text_available"]),
        "per_trial": per_trial,
        "pairs": len(rows),
        "figures": {k: v for k, v in figures.items() if v["compared"]},
        "rules_not_compiled_from_available_text": len(not_compiled),
        "rules_of_trials_without_text": len(no_text),
        "rules_not_compared_unknown_unit": unparsed_all,
        "unit_assumptions": {k: (v[1] if v else "unknown: not compared")
                             for k, v in LAB_NAMES.items()},
    }
    if write:
        update_json("pathfinder", payload)
        update_markdown("pathfinder", _markdown(payload, rows, not_compiled, no_text))
    print(f"Pathfinder: text for {len(payload['trials_with_text'])} of {len(per_trial)} trials; "
          f"{len(rows)} pairs")
    for k, v in payload["figures"].items():
        print(f"  {k:28s} {v['agree']:3d} / {v['compared']:3d}  {100 * v['share']:.1f}%")
    print(f"  rules not compiled from the available text: {len(not_compiled)}; "
          f"rules of trials without text: {len(no_text)}")
    return {"payload": payload, "rows": rows, "not_compiled": not_compiled, "no_text": no_text}


def _markdown(p: dict, rows: list[dict], not_compiled: list[dict], no_text: list[dict]) -> str:
    out = ["## Trial Pathfinder (10 aNSCLC trials)", "",
           f"Eligibility text found for {', '.join(p['trials_with_text'])} "
           "(ClinicalTrials.gov summary criteria in trialgpt_format_oncology_990.jsonl); "
           "no text in "
           f"../shared/data for {', '.join(p['trials_without_text'])}. Pathfinder lab values are "
           "read as US conventional units (see the script's docstring).", "",
           "| attribute | agree | compared | share |", "|---|---|---|---|"]
    for k, v in p["figures"].items():
        out.append(f"| {k} | {v['agree']} | {v['compared']} | {100 * v['share']:.1f}% |")
    bad = [r for r in rows if not all(v["agree"] for v in r["verdicts"])]
    out += ["", "### Every disagreement", ""]
    if bad:
        out += ["| trial | text | Pathfinder rule | compiler reads | disagreement |",
                "|---|---|---|---|---|"]
        for r in bad:
            why = "; ".join(f"{v['attribute']}: {v['cause']}" for v in r["verdicts"]
                            if not v["agree"] and v["attribute"] != "age")
            out.append(f"| {r['trial']} ({r['nct']}) | {r['text']} | {md_escape(r['rule'])} "
                       f"(`{md_escape(r['source'])}`) | {md_escape(r['compiled'])} "
                       f"({r['criterion_kind']}) | {md_escape(why)} |")
    else:
        out.append("None.")
    out += ["", "### Pathfinder rules with no compiled atom in the available text (coverage)", ""]
    out += [f"- {r['trial']} ({r['nct']}): {r['rule']}" for r in not_compiled] or ["None."]
    out += ["", "### Rules not compared", ""]
    out += [f"- {u}" for u in p["rules_not_compared_unknown_unit"]]
    out.append(f"- {len(no_text)} rules of trials with no eligibility text in ../shared/data "
               f"({', '.join(p['trials_without_text'])})")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    run(write="--no-write" not in sys.argv)
