"""Shared pieces of the precision evaluations (``precision_lct.py``, ``precision_pathfinder.py``).

* brat standoff parsing (entities, events, attributes, relations);
* the annotated numeric comparisons of an LCT document (what is measured,
  operator, value(s), unit), one *bound* per compared threshold;
* the compiled numeric atoms of a trial, with where their threshold sits in the text;
* the comparison of one annotated bound with one compiled atom, attribute by
  attribute (operator, value, unit, age), and the cause of each disagreement;
* the writers of ``evals/results/precision.json`` and ``disagreements.md``.

Nothing here changes how the compiler reads text: atoms are located in the
text only to pair them with annotations, never rewritten.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from criteria import ir, units, vocab

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "evals" / "results"

# ------------------------------------------------------------------ brat


@dataclass
class Entity:
    id: str
    type: str
    start: int
    end: int
    text: str


@dataclass
class Event:
    id: str
    type: str
    trigger: str  # entity id
    args: list[tuple[str, str]]  # (role, target id)


@dataclass
class Brat:
    entities: dict[str, Entity] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # target -> {type: value}
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # (type, arg1, arg2)

    def referrers(self) -> dict[str, list[tuple[Event, str]]]:
        out: dict[str, list[tuple[Event, str]]] = {}
        for ev in self.events.values():
            for role, tgt in ev.args:
                out.setdefault(tgt, []).append((ev, role))
        return out


def parse_brat(ann: str) -> Brat:
    """Parse brat standoff text.  Discontinuous spans keep their outer bounds."""
    b = Brat()
    for line in ann.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        key = parts[0]
        if key.startswith("T") and len(parts) >= 2:
            head = parts[1].split(" ", 1)
            offsets = [int(x) for x in re.findall(r"\d+", head[1])] if len(head) > 1 else [0, 0]
            b.entities[key] = Entity(key, head[0], min(offsets), max(offsets),
                                     parts[2] if len(parts) > 2 else "")
        elif key.startswith("E") and len(parts) >= 2:
            items = parts[1].split()
            if not items:
                continue
            etype, trig = items[0].split(":", 1)
            args = [tuple(a.split(":", 1)) for a in items[1:] if ":" in a]
            b.events[key] = Event(key, etype, trig, args)  # type: ignore[arg-type]
        elif key.startswith("A") and len(parts) >= 2:
            items = parts[1].split()
            if len(items) >= 2:
                b.attributes.setdefault(items[1], {})[items[0]] = items[2] if len(items) > 2 else ""
        elif key.startswith("R") and len(parts) >= 2:
            items = parts[1].split()
            if len(items) >= 3:
                b.relations.append((items[0], items[1].split(":", 1)[1], items[2].split(":", 1)[1]))
    return b


# ------------------------------------------------------------------ operators

_ATTR_OP = {"GTEQ": ">=", "GT": ">", "LTEQ": "<=", "LT": "<", "EQ": "==", "BETWEEN": "between",
            "PLUS-MINUS": "+-"}

# Surface forms of operators, as annotated in LCT (longest first where it matters).
_OP_TEXT: list[tuple[str, str]] = [
    (r"(?:greater|more|higher|larger|older)\s+(?:than\s+)?or\s+equal(?:\s+to)?", ">="),
    (r"equal(?:\s+to)?\s+or\s+(?:greater|more|higher|larger|older)(?:\s+than)?", ">="),
    (r"more\s+or\s+equal(?:\s+to)?", ">="),
    (r"(?:less|lower|smaller|younger|fewer)\s+(?:than\s+)?or\s+equal(?:\s+to)?", "<="),
    (r"equal(?:\s+to)?\s+or\s+(?:less|lower|smaller|younger|fewer)(?:\s+than)?", "<="),
    (r"less\s+or\s+equal(?:\s+to)?", "<="),
    (r"≥\s*\d*|>=|=>|≧|>\s*/\s*=|>\s*or\s*=|>\s*=|⩾|\+", ">="),
    (r"≤|<=|=<|≦|<\s*/\s*=|<\s*or\s*=|<\s*=|⩽", "<="),
    (r"(?:at\s+lea?st|no\s+(?:less|fewer|lower|younger)\s+than|not\s+(?:less|fewer|lower|younger)"
     r"\s+than|minimum(?:\s+of)?|min\.?|or\s+(?:more|greater|older|above|higher|over|longer)"
     r"|and\s+(?:older|above|over|greater|more|higher)|at\s+or\s+above)", ">="),
    (r"(?:no\s+(?:more|greater|higher|older)\s+than|not\s+(?:more|greater|higher|older)\s+than"
     r"|not\s+exceed(?:ing)?|up\s+to|at\s+most|maximum(?:\s+of)?|max\.?|or\s+(?:less|fewer|younger"
     r"|below|lower|under)|and\s+(?:younger|below|under|less|lower)|at\s+or\s+below)", "<="),
    (r">|＞|(?:greater|more|higher|larger|older|longer|later)\s+th[ae]n(?:\s+that)?|older\s+that"
     r"|over|above|exceed(?:s|ing)?|in\s+excess\s+of|beyond|superior(?:\s+to)?", ">"),
    (r"<|＜|˂|(?:less|lower|smaller|younger|fewer|poorer|shorter)\s+th[ae]n|under|below", "<"),
    (r"=|equals?(?:\s+to)?|only|of|is", "=="),
    (r"-|–|—|~|to|between|and|or|/|through", "between"),
    (r"±|\+/-|plus\s+or\s+minus", "+-"),
]
_OP_TEXT_RE = [(re.compile(p, re.IGNORECASE), op) for p, op in _OP_TEXT]


def normalize_operator(text: str | None, attribute: str | None = None) -> tuple[str | None, str]:
    """-> (operator, how): the operator of an annotated Eq-Operator.

    The annotated words decide ("no less than" is >=); the brat attribute
    (GTEQ, ...) is used only when the words are not a known operator phrase.
    ``how`` is "text", "attribute" or "none".
    """
    if text:
        t = re.sub(r"\s+", " ", text.strip())
        for rx, op in _OP_TEXT_RE:
            if rx.fullmatch(t):
                return op, "text"
    if attribute and attribute in _ATTR_OP:
        return _ATTR_OP[attribute], "attribute"
    return None, "none"


NEGATE = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
STRICT_PAIR = {">": ">=", ">=": ">", "<": "<=", "<=": "<"}


def direction(op: str) -> str:
    return {">=": "lower", ">": "lower", "<=": "upper", "<": "upper"}.get(op, op)


# ------------------------------------------------------------------ numbers and units

_NUM_RE = re.compile(r"\d+(?:[,\s]\d{3})*(?:\.\d+)?|\.\d+")
_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "eighteen": 18, "twenty": 20}


def parse_value(text: str) -> float | None:
    """The number of an annotated Eq-Value ("1,500", "1.5", "eighteen", "100 000")."""
    t = text.strip().lower()
    if t in _WORDS:
        return float(_WORDS[t])
    m = _NUM_RE.search(t.replace("·", "."))
    if not m:
        return None
    raw = m.group(0)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw) or re.fullmatch(
            r"\d{1,3}(?:\s\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "").replace(" ", "")
    elif "," in raw:  # "1,5": a decimal comma
        raw = raw.replace(",", ".", 1).replace(",", "")
    try:
        return float(raw.replace(" ", ""))
    except ValueError:
        return None


_ULN_RE = re.compile(r"\b(?:uln|uln?r|upper\s+(?:limit|level|normal)|(?:maximum|highest|upper)\s+"
                     r"(?:normal|reference)|ref(?:erence)?\s+range\s+high|normal|institutional\s+"
                     r"(?:upper\s+)?limit)", re.IGNORECASE)
_LLN_RE = re.compile(r"\b(?:lln|lower\s+limit)", re.IGNORECASE)
_TIME_UNITS = {"year": 1.0, "yr": 1.0, "month": 1 / 12, "mo": 1 / 12, "week": 1 / 52.1775,
               "wk": 1 / 52.1775, "day": 1 / 365.25, "d": 1 / 365.25, "hour": 1 / 8766.0,
               "h": 1 / 8766.0, "hr": 1 / 8766.0, "minute": 1 / 525960.0, "y": 1.0, "yrs": 1.0,
               "yo": 1.0, "y.o": 1.0, "second": 1 / 31557600.0}


def time_unit_years(text: str | None) -> float | None:
    """Years per unit for a time unit word ("months" -> 1/12), else None."""
    if not text:
        return None
    t = text.strip().lower().rstrip(".")
    t = re.sub(r"\s*old$", "", t)
    t = t[:-1] if t.endswith("s") and t[:-1] in _TIME_UNITS else t
    return _TIME_UNITS.get(t)


def unit_kind(unit: str | None) -> str | None:
    """"uln", "lln", "time", "unit" (a pint-parseable unit), "unparsed", or None."""
    if not unit:
        return None
    if _LLN_RE.search(unit):
        return "lln"
    if _ULN_RE.search(unit):
        return "uln"
    if time_unit_years(unit) is not None:
        return "time"
    try:
        units.parse_unit(unit)
    except units.UnitError:
        return "unparsed"
    return "unit"


def close(a: float, b: float, rel: float = 0.02) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


# ------------------------------------------------------------------ annotated comparisons


@dataclass(eq=False)
class AnnBound:
    """One annotated threshold: what is measured, operator, value, unit."""

    doc_id: str
    kind: str  # age | performance | lab | other
    measure: str  # the annotated name ("Age", "ANC", "ECOG")
    analyte: str | None  # vocabulary analyte id of the measured name, when known
    op: str | None
    op_how: str  # text | attribute | none | range
    op_text: str
    op_attribute: str | None
    value: float | None
    value_text: str
    unit: str | None  # unit text (Eq-Unit [/ Per]) or time unit
    start: int  # the Eq-Comparison span
    end: int
    value_start: int
    value_end: int
    linked_by: str  # "event" (Numeric-Filter) or "proximity"
    note: str = ""

    def reading(self) -> str:
        u = f" {self.unit}" if self.unit else ""
        return f"{self.measure}: {self.op or '?'} {self.value_text}{u}"


_PERF_RE = re.compile(r"ecog|karnofsky|\bkps\b|\bps\b|performance|zubrod|lansky|\bwho\b"
                      r"|eastern\s+coop",
                      re.IGNORECASE)


def _classify(b: Brat, ev: Event | None, ent: Entity) -> tuple[str, str, str | None]:
    """-> (kind, measured name, analyte id) of an Age / Observation annotation."""
    if ent.type == "Age":
        return "age", ent.text, None
    name = ent.text
    if ev is not None:
        for role, tgt in ev.args:
            if role == "Name" and tgt in b.entities:
                name = b.entities[tgt].text
    if _PERF_RE.search(name) or _PERF_RE.search(ent.text):
        return "performance", name, None
    found = vocab.find_analytes(name) or vocab.find_analytes(ent.text)
    if found:
        return "lab", name, found[0].id
    otype = b.attributes.get(ev.id if ev else "", {}).get("Observation-Type-Value")
    return ("lab" if otype == "lab" else "other"), name, None


_UNIT_RIGHT = re.compile(r"^(?:\s*/\s*[A-Za-zµμ%][\wµμ.]*(?:\s*\^?\s*\d)?|[23³])")
_UNIT_LEFT = re.compile(r"(?:[x×X*]\s*10\s*(?:\^|\*\*|e|E)?\s*\d{1,2}\s*)?(?:/\s*|\bper\s+)?$")


def annotated_unit(text: str, ents: list[Entity]) -> str | None:
    """The annotated unit as written: from the first to the last Eq-Unit / Per
    entity, completed over the unit characters glued to it in the text
    ("mmol" of "mmol/L", "/L" of "x10^9/L"): annotators often mark only part."""
    if not ents:
        return None
    start, end = min(e.start for e in ents), max(e.end for e in ents)
    m = _UNIT_LEFT.search(text[max(0, start - 12):start])
    if m:
        start -= len(m.group(0))
    m = _UNIT_RIGHT.match(text[end:end + 16])
    if m:
        end += len(m.group(0))
    unit = re.sub(r"\s+", " ", text[start:end]).strip()
    unit = re.sub(r"^\*\s*", "x", unit)
    unit = re.sub(r"\bgr\b", "g", unit)  # "gr/dl": gram, not grain
    return unit or None


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    s = text.rfind("\n", 0, pos) + 1
    e = text.find("\n", pos)
    return s, len(text) if e < 0 else e


def annotated_bounds(doc_id: str, text: str, b: Brat) -> tuple[list[AnnBound], list[dict]]:
    """The numeric comparisons annotated on Age and Observation entities.

    Linked through their ``Numeric-Filter`` event role; an Eq-Comparison no
    event refers to (and without a temporal unit) is linked to the nearest
    Age/Observation entity of the same line.  A range ("18-65", "between 0
    and 2") gives two bounds (>= low, <= high).  Returns (bounds, skipped)
    where skipped lists comparisons that carry no comparable threshold.
    """
    refs = b.referrers()
    pairs: list[tuple[Event | None, Entity, Event, str]] = []
    for ev in b.events.values():
        if ev.type not in ("Age", "Observation") or ev.trigger not in b.entities:
            continue
        for role, tgt in ev.args:
            if role.startswith("Numeric-Filter") and tgt in b.events:
                pairs.append((ev, b.entities[ev.trigger], b.events[tgt], "event"))
    # unlinked comparisons: proximity within the line
    measures = [(ev, b.entities[ev.trigger]) for ev in b.events.values()
                if ev.type in ("Age", "Observation") and ev.trigger in b.entities]
    for ev in b.events.values():
        if ev.type != "Eq-Comparison" or ev.id in refs or ev.trigger not in b.entities:
            continue
        roles = {r.rstrip("0123456789") for r, _ in ev.args}
        if "Value" not in roles or roles & {"Temporal-Unit", "Temporal-Period", "Temporal-Recency"}:
            continue
        comp = b.entities[ev.trigger]
        ls, le = _line_bounds(text, comp.start)
        near = [(min(abs(comp.start - m.end), abs(m.start - comp.end)), mev, m)
                for mev, m in measures if ls <= m.start < le]
        if near:
            _, mev, m = min(near, key=lambda x: x[0])
            pairs.append((mev, m, ev, "proximity"))
    bounds: list[AnnBound] = []
    skipped: list[dict] = []
    for mev, ment, comp_ev, linked in pairs:
        kind, name, analyte = _classify(b, mev, ment)
        comp = b.entities[comp_ev.trigger]
        args: dict[str, list[str]] = {}
        for role, tgt in comp_ev.args:
            args.setdefault(role.rstrip("0123456789"), []).append(tgt)
        values = [b.entities[t] for t in args.get("Value", []) if t in b.entities]
        ops = [b.entities[t] for t in args.get("Operator", []) if t in b.entities]
        unit_ents = [b.entities[t] for t in args.get("Unit", []) if t in b.entities
                     and b.entities[t].type == "Eq-Unit"]
        per = [b.entities[t] for t in args.get("Per", []) if t in b.entities]
        tunits = [b.entities[t] for t in args.get("Temporal-Unit", []) if t in b.entities]
        unit = annotated_unit(text, unit_ents + per)
        if tunits and (kind == "age" or unit is None):
            unit = tunits[0].text
        base = dict(doc_id=doc_id, kind=kind, measure=name, analyte=analyte, unit=unit,
                    start=comp.start, end=comp.end, linked_by=linked)
        if not values:
            skipped.append({**base, "why": "no Eq-Value", "text": comp.text})
            continue
        values.sort(key=lambda e: e.start)
        ops_sorted = sorted(ops, key=lambda e: e.start)
        norm = [normalize_operator(o.text, b.attributes.get(o.id, {}).get("Eq-Operator-Value"))
                + (o,) for o in ops_sorted]
        parsed = [(v, parse_value(v.text)) for v in values]
        if any(p is None for _, p in parsed):
            skipped.append({**base, "why": "value not a number", "text": comp.text})
            continue
        is_range = any(op == "between" for op, _, _ in norm) or (not norm and len(values) == 2)
        if any(op == "+-" for op, _, _ in norm):
            skipped.append({**base, "why": "plus-minus comparison", "text": comp.text})
            continue
        if is_range and len(values) >= 2:
            lo, hi = min(parsed, key=lambda x: x[1]), max(parsed, key=lambda x: x[1])
            o = next((n[2] for n in norm if n[0] == "between"), norm[0][2] if norm else None)
            for side, (ve, val) in ((">=", lo), ("<=", hi)):
                # an explicit comparator right before a value wins ("2 to <12 years")
                prev_end = max([v.end for v, _ in parsed if v.end <= ve.start], default=comp.start)
                own = [n for n in norm if n[0] in (">=", ">", "<=", "<")
                       and prev_end <= n[2].start <= ve.start and direction(n[0]) ==
                       direction(side)]
                op = own[-1][0] if own else side
                if side == ">=" and val == 0 and kind in ("age", "performance"):
                    skipped.append({**base, "why": "trivial lower bound 0 of a range",
                                    "text": comp.text})
                    continue
                bounds.append(AnnBound(**base, op=op, op_how="range",
                                       op_text=own[-1][2].text if own else (o.text if o else ""),
                                       op_attribute=None, value=val, value_text=ve.text,
                                       value_start=ve.start, value_end=ve.end))
            continue
        if is_range:  # "between" with one value annotated
            skipped.append({**base, "why": "range with one value", "text": comp.text})
            continue
        for i, (ve, val) in enumerate(parsed):
            if norm:
                # the operator nearest before the value, else the first
                before = [n for n in norm if n[2].start <= ve.start]
                op, how, oent = (before[-1] if before else norm[min(i, len(norm) - 1)])
                attr = b.attributes.get(oent.id, {}).get("Eq-Operator-Value")
                note = ""
                if how == "text" and attr in _ATTR_OP and _ATTR_OP[attr] != op:
                    note = f"annotation attribute {attr} disagrees with operator words"
                bounds.append(AnnBound(**base, op=op, op_how=how, op_text=oent.text,
                                       op_attribute=attr, value=val, value_text=ve.text,
                                       value_start=ve.start, value_end=ve.end, note=note))
            else:
                bounds.append(AnnBound(**base, op=None, op_how="none", op_text="",
                                       op_attribute=None, value=val, value_text=ve.text,
                                       value_start=ve.start, value_end=ve.end))
    bounds.sort(key=lambda x: (x.start, x.value_start))
    return bounds, skipped


# ------------------------------------------------------------------ compiled atoms

NUMERIC_FAMILIES = ("age", "lab", "performance_status", "finding", "biomarker")


@dataclass(eq=False)
class CompiledBound:
    trial_id: str
    criterion_id: str
    kind: str  # inclusion / exclusion
    family: str
    feature: str  # age | ECOG | Karnofsky | analyte id | finding key | marker
    op: str  # effective operator (a NOT above the atom flips it)
    value: float
    unit: str | None
    relative_to: str | None
    source_value: str | None
    crit_start: int
    crit_end: int
    spans: list[tuple[int, int]]  # where the threshold may sit in the text
    negated: bool = False

    def reading(self) -> str:
        if self.relative_to:
            u = f" x {self.relative_to.upper()}"
        elif self.unit:
            u = f" {self.unit}"
        elif self.family == "age":
            u = " years"
        else:
            u = ""
        neg = " (under NOT)" if self.negated else ""
        sv = f' [as written: "{self.source_value}"]' if self.source_value else ""
        return f"{self.family}:{self.feature} {self.op} {self.value:g}{u}{neg}{sv}"


def _walk(node: ir.Node | None, negated: bool = False):
    if node is None:
        return
    if isinstance(node, ir.And | ir.Or):
        for item in node.items:
            yield from _walk(item, negated)
    elif isinstance(node, ir.Not):
        yield from _walk(node.item, not negated)
    else:
        yield node, negated


def _number_forms(value: float) -> list[str]:
    forms = {f"{value:g}"}
    if value == int(value):
        iv = int(value)
        forms |= {str(iv), f"{iv:,}", f"{iv}.0"}
    return sorted(forms, key=len, reverse=True)


def locate(text: str, start: int, end: int, needle_values: list[str], whole: bool = True
           ) -> list[tuple[int, int]]:
    """Absolute spans in ``text[start:end]`` where any of the strings occurs
    (as a whole number unless ``whole`` is False)."""
    seg = text[start:end]
    spans: list[tuple[int, int]] = []
    for n in needle_values:
        if not n:
            continue
        pat = re.escape(n)
        if whole and re.match(r"\d", n):
            pat = r"(?<![\d.,])" + pat
        if whole and re.search(r"\d$", n):
            pat += r"(?![\d]|[.,]\d)"
        for m in re.finditer(pat, seg):
            spans.append((start + m.start(), start + m.end()))
    return sorted(set(spans))


def atom_feature(atom: ir.Node) -> str:
    if isinstance(atom, ir.AgeAtom):
        return "age"
    if isinstance(atom, ir.PerformanceAtom):
        return atom.scale
    if isinstance(atom, ir.LabAtom):
        return atom.analyte
    if isinstance(atom, ir.FindingAtom):
        return atom.key
    if isinstance(atom, ir.BiomarkerAtom):
        return atom.marker
    return atom.family


def compiled_bounds(trial_id: str, text: str, criteria: list[ir.Criterion]) -> list[CompiledBound]:
    """The numeric atoms of compiled criteria, each with where its threshold sits."""
    out: list[CompiledBound] = []
    for c in criteria:
        if c.span is None or c.logic is None:
            continue
        for atom, negated in _walk(c.logic):
            if atom.family not in NUMERIC_FAMILIES:
                continue
            op = getattr(atom, "op", None)
            value = getattr(atom, "value", None)
            if op is None or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            eff = NEGATE.get(op, op) if negated else op
            sv = getattr(atom, "source_value", None)
            spans: list[tuple[int, int]] = []
            if sv:
                spans = locate(text, c.span.start, c.span.end, [sv]) or locate(
                    text, c.span.start, c.span.end, [sv], whole=False)
                if not spans:
                    m = _NUM_RE.search(sv)
                    spans = locate(text, c.span.start, c.span.end, [m.group(0)] if m else [])
            if not spans:
                spans = locate(text, c.span.start, c.span.end, _number_forms(float(value)))
            out.append(CompiledBound(
                trial_id=trial_id, criterion_id=c.id, kind=c.kind, family=atom.family,
                feature=atom_feature(atom), op=eff, value=float(value),
                unit=getattr(atom, "unit", None), relative_to=getattr(atom, "relative_to", None),
                source_value=sv, crit_start=c.span.start, crit_end=c.span.end, spans=spans,
                negated=negated))
    return out


# ------------------------------------------------------------------ pairing

_COMPATIBLE = {
    "age": {"age"},
    "performance": {"performance_status"},
    "lab": {"lab", "finding", "biomarker"},
    "other": {"lab", "finding", "biomarker", "performance_status"},
}


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def pair(anns: list[AnnBound], comps: list[CompiledBound]
         ) -> tuple[list[tuple[AnnBound, CompiledBound, str]], list[AnnBound], list[CompiledBound]]:
    """Pair annotated bounds with compiled atoms covering the same span.

    1. position: the atom's located threshold overlaps the annotated value
       (else the annotated comparison), same measured family;
    2. order: the remaining bounds and atoms of one criterion and family are
       paired in text order.
    Returns (pairs with method, annotated bounds not compiled, atoms not annotated).
    """
    pairs: list[tuple[AnnBound, CompiledBound, str]] = []
    free_a = list(anns)
    free_c = list(comps)
    for strict in (True, False):
        cand: list[tuple[tuple, AnnBound, CompiledBound]] = []
        for a in free_a:
            target = (a.value_start, a.value_end) if strict else (a.start, a.end)
            for c in free_c:
                if c.family not in _COMPATIBLE[a.kind]:
                    continue
                hits = [s for s in c.spans if _overlaps(s, target)]
                if not hits:
                    continue
                # the same place read twice ("18-65", "INR and PTT > 1.4"): prefer the
                # atom of the annotated analyte, then the same side, then the nearest
                key = (not (a.analyte and a.analyte == c.feature),
                       direction(c.op) != direction(a.op or ""),
                       min(abs(s[0] - target[0]) for s in hits), a.start)
                cand.append((key, a, c))
        cand.sort(key=lambda x: x[0])
        for _, a, c in cand:
            if a in free_a and c in free_c:
                pairs.append((a, c, "position"))
                free_a.remove(a)
                free_c.remove(c)
    for a in sorted(list(free_a), key=lambda x: x.start):
        cands = [c for c in free_c if c.family in _COMPATIBLE[a.kind]
                 and c.crit_start <= a.start < c.crit_end]
        if not cands:
            continue
        c = min(cands, key=lambda c: min((abs(s[0] - a.value_start) for s in c.spans),
                                         default=abs(c.crit_start - a.start)))
        pairs.append((a, c, "criterion order"))
        free_a.remove(a)
        free_c.remove(c)
    return pairs, free_a, free_c


# ------------------------------------------------------------------ comparison


WHOLE_YEARS = "whole years: 'over N' read as N or older"


@dataclass
class Verdict:
    attribute: str  # operator | value | unit | age | feature
    agree: bool
    cause: str = ""


def _grid_op(op: str, value: float, step: float, lo: float, hi: float) -> tuple[str, float]:
    """Integer-scale canonical form: '< 2' is '<= 1', '== 0' is '<= 0' on ECOG 0-5."""
    if op == "<":
        op, value = "<=", value - step
    elif op == ">":
        op, value = ">=", value + step
    if op == "==" and value <= lo:
        op = "<="
    elif op == "==" and value >= hi:
        op = ">="
    return op, value


def _perf_scale(name: str, c: CompiledBound) -> tuple[float, float, float]:
    if c.feature == "Karnofsky" or re.search(r"karnofsky|kps|lansky", name, re.IGNORECASE):
        return 10.0, 0.0, 100.0
    return 1.0, 0.0, 5.0


def _op_cause(a_op: str, c_op: str) -> str:
    if STRICT_PAIR.get(a_op) == c_op:
        return f"operator '{c_op}' vs '{a_op}' (strictness)"
    if direction(a_op) in ("lower", "upper") and direction(c_op) in ("lower", "upper"):
        return f"operator direction reversed ('{a_op}' annotated, '{c_op}' compiled)"
    return f"operator '{a_op}' annotated, '{c_op}' compiled"


def compare(a: AnnBound, c: CompiledBound) -> list[Verdict]:
    """Attribute-by-attribute comparison of one annotated bound and one atom."""
    out: list[Verdict] = []
    a_op, a_val = a.op, a.value
    c_op, c_val = c.op, c.value
    a_kind = unit_kind(a.unit)

    # ---- feature (what is measured), where the annotation names a known thing
    if a.kind == "performance":
        out.append(Verdict("feature", c.family == "performance_status",
                           "" if c.family == "performance_status"
                           else f"performance status read as {c.family}:{c.feature}"))
    elif a.kind == "lab" and a.analyte and c.family == "lab":
        same = a.analyte == c.feature
        out.append(Verdict("feature", same, "" if same else
                           f"analyte '{a.analyte}' annotated, '{c.feature}' compiled"))

    # ---- operator
    if a_op is not None:
        ao, co = a_op, c_op
        if c.family == "performance_status" and a_val is not None:
            step, lo, hi = _perf_scale(a.measure, c)
            ao, av = _grid_op(a_op, a_val, step, lo, hi)
            co, cv = _grid_op(c_op, c_val, step, lo, hi)
            a_val_cmp, c_val_cmp = av, cv
        else:
            a_val_cmp, c_val_cmp = a_val, c_val
        ok = ao == co
        cause = "" if ok else _op_cause(ao, co)
        if not ok and c.family == "age" and ao == ">" and co == ">=" and a_val is not None \
                and close(a_val, c_val) and c_val == int(c_val) and c_val >= 1:
            # "over 18 years" on an age in whole years: 18 is over 18 years on every
            # day but the birthday, so both say "18 or older" (the compiler's reading,
            # criteria.recognize.demographics._lower_bound_in_whole_years); an agreement
            # that keeps its cause, so the reports count it apart
            ok, cause = True, WHOLE_YEARS
        out.append(Verdict("operator", ok, cause))
    else:
        a_val_cmp, c_val_cmp = a_val, c_val

    # ---- unit and value
    unit_verdict: Verdict | None = None
    value_verdict: Verdict | None = None
    if a_val_cmp is None:
        pass
    elif c.family == "age":
        per_year = time_unit_years(a.unit) if a.unit else 1.0
        if a.unit and per_year is None:
            unit_verdict = Verdict("unit", False, f"age annotated in '{a.unit}', compiled in years")
        else:
            if a.unit:
                unit_verdict = Verdict("unit", True)
            years = a_val_cmp * (per_year or 1.0)
            ok = close(years, c_val_cmp)
            cause = ""
            if not ok:
                if per_year not in (None, 1.0) and close(a_val_cmp, c_val_cmp):
                    cause = f"age in {a.unit} read as years"
                else:
                    cause = "different number"
            value_verdict = Verdict("value", ok, cause)
    elif c.family == "lab":
        if a_kind in ("uln", "lln") or c.relative_to:
            if a_kind in ("uln", "lln") and c.relative_to:
                unit_verdict = Verdict("unit", a_kind == c.relative_to,
                                       "" if a_kind == c.relative_to else
                                       f"{a_kind.upper()} annotated, "
                                       f"{c.relative_to.upper()} compiled")
                ok = close(a_val_cmp, c_val_cmp)
                value_verdict = Verdict("value", ok, "" if ok else "different ULN multiple")
            elif a_kind in ("uln", "lln"):
                unit_verdict = Verdict("unit", False, "compiler reads 'x ULN' as absolute")
                value_verdict = Verdict("value", False, "compiler reads 'x ULN' as absolute")
            elif a.unit:
                unit_verdict = Verdict("unit", False,
                                       f"compiler reads an absolute '{a.unit}' as a ULN multiple")
                value_verdict = Verdict("value", False,
                                        f"compiler reads an absolute '{a.unit}' as a ULN multiple")
            else:  # annotation unit missing, compiler ULN multiple: compare the multiple
                ok = close(a_val_cmp, c_val_cmp)
                value_verdict = Verdict("value", ok, "" if ok else "different number")
        else:
            an = vocab.analyte(c.feature)
            mm = an.molar_mass if an else None
            target = c.unit or (an.canonical_unit if an else None)
            if a_kind == "unit" and target:
                try:
                    conv = units.convert(a_val_cmp, a.unit, target, mm)
                    unit_verdict = Verdict("unit", True)
                    ok = close(conv, c_val_cmp)
                    cause = ""
                    if not ok:
                        ratio = c_val_cmp / conv if conv else float("inf")
                        cause = (f"value off by a factor {ratio:g} after converting {a.unit} to "
                                 f"{target} (unit scale read differently)"
                                 if ratio and any(close(ratio, 10.0 ** k) for k in
                                                  (-6, -3, -2, -1, 1, 2, 3, 6))
                                 else "different number")
                    value_verdict = Verdict("value", ok, cause)
                except units.UnitError:
                    unit_verdict = Verdict("unit", False,
                                           f"annotated unit '{a.unit}' has another dimension than "
                                           f"the compiled '{target}'")
                    value_verdict = Verdict("value", False, "unit dimension differs")
            else:
                # annotation unit missing or not a unit: compare the number as written
                written = None
                if c.source_value:
                    m = _NUM_RE.search(c.source_value)
                    written = parse_value(m.group(0)) if m else None
                ref = written if written is not None else c_val_cmp
                ok = close(a_val_cmp, ref)
                value_verdict = Verdict("value", ok, "" if ok else "different number")
    else:  # performance, finding, biomarker: no canonical unit
        ref = c_val_cmp
        scale = time_unit_years(a.unit) if a.unit else None
        m = re.search(r"_(days|weeks|months|years)$", c.feature)
        if scale is not None and m:
            target_years = time_unit_years(m.group(1))
            ref_ann = a_val_cmp * scale / target_years
            unit_verdict = Verdict("unit", True)
            ok = close(ref_ann, ref, 0.03)
            value_verdict = Verdict("value", ok, "" if ok else "different number")
        else:
            ok = close(a_val_cmp, ref)
            value_verdict = Verdict("value", ok, "" if ok else "different number")
    if unit_verdict:
        out.append(unit_verdict)
    if value_verdict:
        out.append(value_verdict)
    if c.family == "age" and a.kind == "age":
        parts = [v for v in out if v.attribute in ("operator", "value")]
        ok = all(v.agree for v in parts) and bool(parts)
        out.append(Verdict("age", ok, "; ".join(v.cause for v in parts if not v.agree)))
    return out


# ------------------------------------------------------------------ figures and report

ATTRIBUTES = ("operator", "value", "unit", "age", "feature")


def tally(rows: list[dict]) -> dict:
    """rows: one per compared pair with 'verdicts' [{attribute, agree, cause}]."""
    figs: dict[str, dict] = {}
    for attr in ATTRIBUTES:
        vs = [v for r in rows for v in r["verdicts"] if v["attribute"] == attr]
        n, k = len(vs), sum(v["agree"] for v in vs)
        figs[attr] = {"agree": k, "compared": n, "share": round(k / n, 4) if n else None}
    all_ok = sum(all(v["agree"] for v in r["verdicts"]) for r in rows)
    figs["all_attributes"] = {"agree": all_ok, "compared": len(rows),
                              "share": round(all_ok / len(rows), 4) if rows else None}
    head = [v for r in rows for v in r["verdicts"]
            if v["attribute"] in ("operator", "value", "unit")]
    k = sum(v["agree"] for v in head)
    figs["operator_value_unit_pooled"] = {"agree": k, "compared": len(head),
                                          "share": round(k / len(head), 4) if head else None}
    return figs


def causes(rows: list[dict]) -> list[tuple[str, int]]:
    counter: dict[str, int] = {}
    for r in rows:
        for v in r["verdicts"]:
            if not v["agree"] and v["attribute"] != "age":
                key = f"{v['attribute']}: {_generic(v['cause'])}"
                counter[key] = counter.get(key, 0) + 1
    return sorted(counter.items(), key=lambda x: -x[1])


def _generic(cause: str) -> str:
    """Group causes: drop the specific numbers/units."""
    c = re.sub(r"factor [\d.e+-]+", "factor 10^k", cause)
    c = re.sub(r"after converting .* to .* \(", "(", c)
    c = re.sub(r"'[^']*' as a ULN", "unit as a ULN", c)
    c = re.sub(r"annotated unit '[^']*' has another dimension than the compiled '[^']*'",
               "annotated unit of another dimension than the compiled unit", c)
    c = re.sub(r"analyte '[^']*' annotated, '[^']*' compiled", "another analyte compiled", c)
    c = re.sub(r"age in \S+ read as years", "age in months/weeks/days/hours read as years", c)
    c = re.sub(r"age annotated in '[^']*'", "age annotated in a non-time unit", c)
    c = re.sub(r"performance status read as .*", "performance status read as another family", c)
    return c


def update_json(section: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "precision.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[section] = payload
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


_MD_HEAD = ("# Precision: disagreements between the compiler and reference annotations\n\n"
            "Written by `evals/precision_lct.py` and `evals/precision_pathfinder.py`; the figures "
            "are in `evals/results/precision.json`. Each script rewrites only its own section.\n")


def update_markdown(section: str, body: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "disagreements.md"
    old = path.read_text(encoding="utf-8") if path.exists() else _MD_HEAD
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    if start in old and end in old:
        new = old[:old.index(start)] + block + old[old.index(end) + len(end) + 1:]
    else:
        new = old.rstrip() + "\n\n" + block
    path.write_text(new, encoding="utf-8")
    return path


def md_escape(s: str) -> str:
    return re.sub(r"\s+", " ", s).replace("|", "\\|").strip()


def as_dict(obj) -> dict:
    return asdict(obj)
