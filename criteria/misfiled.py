"""Requirements filed among the exclusions.

Registry text, and corpora cut from it, sometimes list an inclusion under the
exclusion heading: "Bilirubin <= 1.5 x ULN", "ECOG 0-1", "Hemoglobin > 9 g/dL",
"Life expectancy of at least 6 months".  Read literally, each excludes the
patients the trial wants.  A criterion whose every rule points to the healthy
side of its measure (an upper bound relative to the ULN, a lower bound below the
analyte's usual reference range, a good performance status, a long life
expectancy) is therefore not applied as an exclusion: it goes to a person, with
a note saying why.  An exclusion on the ill side ("Hemoglobin < 9 g/dL",
"Hemoglobin > 16 g/dL", "AST > 2.5 x ULN", "ECOG >= 2") is never touched.
"""

from __future__ import annotations

from criteria import ir, units, vocab

NOTE = ("reads as a requirement (the healthy side of its measure) filed among the exclusions: "
        "a person decides whether it excludes or requires")

_UP = (">", ">=")
_DOWN = ("<", "<=")


def _lab_requires(atom: ir.LabAtom) -> bool:
    if atom.relative_to == "uln":
        return atom.op in _DOWN
    if atom.relative_to == "lln":
        return atom.op in _UP
    analyte = vocab.analyte(atom.analyte)
    if analyte is None or not analyte.default_range_unit or not analyte.canonical_unit:
        return False
    try:
        if atom.op in _UP and analyte.default_low is not None:
            low = units.convert(analyte.default_low, analyte.default_range_unit,
                                analyte.canonical_unit, analyte.molar_mass)
            return atom.value <= low  # "at least 9 g/dL": a floor below the usual range
        if atom.op in _DOWN and analyte.default_high is not None:
            high = units.convert(analyte.default_high, analyte.default_range_unit,
                                 analyte.canonical_unit, analyte.molar_mass)
            return atom.value >= high  # "at most 1.5 mg/dL": a ceiling above it
    except units.UnitError:
        return False
    return False


def _requires(atom: ir.Node) -> bool:
    match atom:
        case ir.LabAtom():
            return _lab_requires(atom)
        case ir.PerformanceAtom(scale="ECOG", op=op):
            return op in _DOWN
        case ir.PerformanceAtom(scale="Karnofsky", op=op):
            return op in _UP
        case ir.FindingAtom(key="life_expectancy_weeks", op=op):
            return op in _UP
    return False


def reads_as_requirement(logic: ir.Node | None) -> bool:
    """Every rule of an exclusion's logic, none negated, on the healthy side."""
    if logic is None or any(isinstance(n, ir.Not) for n in _nodes(logic)):
        return False
    rules = [a for a in ir.atoms(logic) if not isinstance(a, ir.Review) and not _relaxes(a)]
    return bool(rules) and all(_requires(a) for a in rules)


def _relaxes(atom: ir.Node) -> bool:
    """A condition that only says whom a relaxed lab bound is for ("<= 5 x ULN with
    liver metastases"): neither side of a measure."""
    return isinstance(atom, ir.ConditionAtom) and all(
        (c := vocab.condition(k)) is not None and c.qualifies_labs for k in atom.concepts)


def _nodes(node: ir.Node) -> list[ir.Node]:
    out = [node]
    for child in getattr(node, "items", ()) or ((node.item,) if isinstance(node, ir.Not) else ()):
        out.extend(_nodes(child))
    return out
