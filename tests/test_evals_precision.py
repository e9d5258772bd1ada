"""The precision evaluations: brat parsing, pairing and comparison on hand-written
snippets; a smoke run on 20 LCT trials when ../shared/data is present."""

from __future__ import annotations

import pytest

from criteria import ir
from evals import precision_lct
from evals.precision_common import (
    SHARED,
    annotated_bounds,
    compare,
    compiled_bounds,
    normalize_operator,
    pair,
    parse_brat,
    parse_value,
    tally,
)
from evals.precision_pathfinder import parse_rules

TEXT = ("Inclusion Criteria:\n"
        "  1. Age ≥ 18 years\n"
        "  2. Total bilirubin no more than 1.5 times the upper limit of normal\n"
        "  3. Platelets at least 100,000/mm3\n")


def _off(s: str, nth: int = 0) -> tuple[int, int]:
    i = -1
    for _ in range(nth + 1):
        i = TEXT.index(s, i + 1)
    return i, i + len(s)


def _ann() -> str:
    spans = {
        "T1": ("Age", "Age"), "T2": ("Eq-Comparison", "≥ 18 years"), "T3": ("Eq-Operator", "≥"),
        "T4": ("Eq-Value", "18"), "T5": ("Eq-Temporal-Unit", "years"),
        "T6": ("Observation", "Total bilirubin"), "T7": ("Observation-Name", "Total bilirubin"),
        "T8": ("Eq-Comparison", "no more than 1.5 times the upper limit of normal"),
        "T9": ("Eq-Operator", "no more than"), "T10": ("Eq-Value", "1.5"),
        "T11": ("Eq-Unit", "upper limit of normal"),
        "T12": ("Observation", "Platelets"), "T13": ("Observation-Name", "Platelets"),
        "T14": ("Eq-Comparison", "at least 100,000/mm3"), "T15": ("Eq-Operator", "at least"),
        "T16": ("Eq-Value", "100,000"), "T17": ("Eq-Unit", "mm3"),
    }
    lines = []
    for tid, (typ, s) in spans.items():
        a, b = _off(s)
        lines.append(f"{tid}\t{typ} {a} {b}\t{s}")
    lines += [
        "E1\tAge:T1 Numeric-Filter:E2",
        "E2\tEq-Comparison:T2 Operator:T3 Value:T4 Temporal-Unit:T5",
        "E3\tObservation:T6 Name:T7 Numeric-Filter:E4",
        "E4\tEq-Comparison:T8 Operator:T9 Value:T10 Unit:T11",
        "E5\tObservation:T12 Name:T13 Numeric-Filter:E6",
        "E6\tEq-Comparison:T14 Operator:T15 Value:T16 Per:T17",
        "A1\tEq-Operator-Value T3 GTEQ",
        "A2\tEq-Operator-Value T9 LTEQ",
        "A3\tEq-Operator-Value T15 GTEQ",
        "A4\tObservation-Type-Value E3 lab",
        "A5\tObservation-Type-Value E5 lab",
        "R1\tAnd Arg1:E3 Arg2:E5",
    ]
    return "\n".join(lines) + "\n"


def _crit(cid: str, start: int, end: int, logic: ir.Node) -> ir.Criterion:
    return ir.Criterion(id=cid, kind="inclusion", text=TEXT[start:end],
                        span=ir.Span(start=start, end=end), family=logic.family,
                        compiled="full", logic=logic)


def test_parse_brat():
    b = parse_brat(_ann())
    t4 = b.entities["T4"]
    assert t4.text == "18" and TEXT[t4.start:t4.end] == "18"
    assert b.events["E2"].type == "Eq-Comparison"
    assert ("Operator", "T3") in b.events["E2"].args
    assert b.attributes["T9"]["Eq-Operator-Value"] == "LTEQ"
    assert b.relations == [("And", "E3", "E5")]
    assert "E2" in b.referrers()


def test_operator_and_value_normalization():
    assert normalize_operator("no less than", "GT") == (">=", "text")
    assert normalize_operator("at least")[0] == ">="
    assert normalize_operator("≥")[0] == ">="
    assert normalize_operator(">/=")[0] == ">="
    assert normalize_operator("no more than")[0] == "<="
    assert normalize_operator("younger than")[0] == "<"
    assert normalize_operator("over")[0] == ">"
    assert normalize_operator("zzz", "LTEQ") == ("<=", "attribute")
    assert normalize_operator("-")[0] == "between"
    assert parse_value("1,500") == 1500
    assert parse_value("1.5") == 1.5
    assert parse_value("7,0") == 7.0
    assert parse_value("eighteen") == 18


def test_annotated_bounds():
    b = parse_brat(_ann())
    bounds, skipped = annotated_bounds("T", TEXT, b)
    assert not skipped
    got = {(x.kind, x.op, x.value, x.unit) for x in bounds}
    assert ("age", ">=", 18.0, "years") in got
    assert ("lab", "<=", 1.5, "upper limit of normal") in got
    # the annotated unit "mm3" is completed from the text to "/mm3"
    assert ("lab", ">=", 100000.0, "/mm3") in got


def test_range_gives_two_bounds_and_explicit_operator_wins():
    text = "Children 2 to <12 years old"
    ann = ("T1\tAge 9 10\t2\n"  # a stand-in Age entity
           "T2\tEq-Comparison 9 23\t2 to <12 years\nT3\tEq-Operator 11 13\tto\n"
           "T4\tEq-Value 9 10\t2\nT5\tEq-Value 15 17\t12\nT6\tEq-Operator 14 15\t<\n"
           "T7\tEq-Temporal-Unit 18 23\tyears\n"
           "E1\tAge:T1 Numeric-Filter:E2\n"
           "E2\tEq-Comparison:T2 Operator:T3 Value:T4 Value2:T5 Operator2:T6 Temporal-Unit:T7\n"
           "A1\tEq-Operator-Value T3 BETWEEN\nA2\tEq-Operator-Value T6 LT\n")
    bounds, _ = annotated_bounds("T", text, parse_brat(ann))
    assert [(x.op, x.value) for x in bounds] == [(">=", 2.0), ("<", 12.0)]


def test_agreement_on_matching_atoms(monkeypatch):
    s_age, e_age = _off("Age ≥ 18 years")
    s_bil, e_bil = _off("Total bilirubin no more than 1.5 times the upper limit of normal")
    s_plt, e_plt = _off("Platelets at least 100,000/mm3")
    crits = [
        _crit("c1", s_age, e_age, ir.AgeAtom(op=">=", value=18)),
        _crit("c2", s_bil, e_bil, ir.LabAtom(analyte="total_bilirubin", op="<=", value=1.5,
                                             relative_to="uln",
                                             source_value="no more than 1.5 times the upper "
                                                          "limit of normal")),
        _crit("c3", s_plt, e_plt, ir.LabAtom(analyte="platelets", op=">=", value=100,
                                             unit="10^9/L", source_value="at least 100,000/mm3")),
    ]
    monkeypatch.setattr(precision_lct, "compile_text", lambda tid, text: crits)
    r = precision_lct.evaluate_doc("T", TEXT, _ann())
    assert len(r["rows"]) == 3 and not r["uncovered"] and not r["unannotated"]
    figs = tally(r["rows"])
    for attr in ("operator", "value", "unit", "age"):
        assert figs[attr]["share"] == 1.0, (attr, r["rows"])


def test_disagreement_is_reported(monkeypatch):
    """The compiler reads '1.5 times the ULN' as an absolute bilirubin and misses
    the platelets: one disagreement, one comparison not covered."""
    s_age, e_age = _off("Age ≥ 18 years")
    s_bil, e_bil = _off("Total bilirubin no more than 1.5 times the upper limit of normal")
    crits = [
        _crit("c1", s_age, e_age, ir.AgeAtom(op=">", value=18)),  # '>' vs '>='
        _crit("c2", s_bil, e_bil, ir.LabAtom(analyte="total_bilirubin", op="<=", value=25.65,
                                             unit="umol/L", source_value="no more than 1.5")),
    ]
    monkeypatch.setattr(precision_lct, "compile_text", lambda tid, text: crits)
    r = precision_lct.evaluate_doc("T", TEXT, _ann())
    bad = {row["compiled"]: [v for v in row["verdicts"] if not v["agree"]] for row in r["rows"]}
    age_bad = next(v for k, v in bad.items() if k.startswith("age"))
    assert any(v["attribute"] == "operator" and "strictness" in v["cause"] for v in age_bad)
    assert any(v["attribute"] == "age" for v in age_bad)
    lab_bad = next(v for k, v in bad.items() if k.startswith("lab"))
    assert {v["attribute"] for v in lab_bad} == {"unit", "value"}
    assert all("ULN" in v["cause"] for v in lab_bad)
    assert [u["measure"] for u in r["uncovered"]] == ["Platelets"]
    md = precision_lct._markdown(
        {"trials": 1, "annotated_bounds": 3, "compiled_numeric_atoms": 2, "pairs": 2,
         "pairs_by_method": {"position": 2}, "figures": tally(r["rows"]),
         "coverage": {"annotated_bounds_not_compiled": 1, "by_kind": {"lab": 1}},
         "compiled_atoms_without_annotation": 0, "disagreement_causes": {}},
        r["rows"], r["uncovered"], r["unannotated"])
    assert "compiler reads 'x ULN' as absolute" in md and "| T |" in md


def test_unit_conversion_and_order_pairing():
    text = "Hemoglobin >= 9 g/dL"
    ann = ("T1\tObservation 0 10\tHemoglobin\nT2\tEq-Comparison 11 20\t>= 9 g/dL\n"
           "T3\tEq-Operator 11 13\t>=\nT4\tEq-Value 14 15\t9\nT5\tEq-Unit 16 17\tg\n"
           "T6\tEq-Unit 18 20\tdL\nE1\tObservation:T1 Numeric-Filter:E2\n"
           "E2\tEq-Comparison:T2 Operator:T3 Value:T4 Unit:T5 Per:T6\n")
    anns, _ = annotated_bounds("T", text, parse_brat(ann))
    assert anns[0].unit == "g/dL"
    crit = ir.Criterion(id="c", kind="inclusion", text=text, span=ir.Span(start=0, end=20),
                        family="lab", compiled="full",
                        logic=ir.LabAtom(analyte="hemoglobin", op=">=", value=90, unit="g/L"))
    comps = compiled_bounds("T", text, [crit])
    pairs, unc, una = pair(anns, comps)
    assert len(pairs) == 1 and not unc and not una
    assert all(v.agree for v in compare(pairs[0][0], pairs[0][1]))


def test_pathfinder_rule_parsing(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('"Age\n#inclusion\n(treatments[\'startdate\'] >= demographics[\'birthyear\'] '
                 '+ @YEARS(18))"\n"ECOG\n#Inclusion\n(ecog[\'ecogvalue\'] == 0) OR '
                 '(ecog[\'ecogvalue\'] == 1)"\n"Bilirubin\n#inclusion\nlab[\'name\'] == '
                 '\'Bilirubin (Total), serum\'\nlab[\'value\'] <= 1.5 * lab[\'maxnorm\']"\n'
                 '"Platelets\n#inclusion\nlab[\'name\'] == \'Platelet count\'\n'
                 'lab[\'value\'] >= 100"\n', encoding="utf-8")
    rules, _ = parse_rules(p, "X", "NCT0")
    got = {(r.feature, r.op, r.value, r.unit) for r in rules}
    assert got == {("age", ">=", 18.0, None), ("ECOG", "<=", 1.0, None),
                   ("total_bilirubin", "<=", 1.5, "uln"), ("platelets", ">=", 100.0, "10^9/L")}


@pytest.mark.skipif(not (SHARED / "criteria_annotations" / "lct_corpus_brat.jsonl").exists(),
                    reason="../shared/data is absent (LCT corpus)")
def test_smoke_20_lct_trials():
    out = precision_lct.run(limit=20, write=False)
    p = out["payload"]
    assert p["trials"] == 20
    assert p["pairs"] > 0
    for attr in ("operator", "value"):
        assert p["figures"][attr]["compared"] > 0
