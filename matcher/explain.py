"""Reasons: what each atom required, what data it used, what is missing."""

from __future__ import annotations

from functools import lru_cache

from criteria import ir, vocab
from criteria.rules import broader_concepts
from matcher.facts import Facts

_WORD = {True: "met", False: "not met", None: "unknown"}


def _num(value: float) -> str:
    return f"{value:.4g}"


def _labname(analyte_id: str) -> str:
    found = vocab.analyte(analyte_id)
    return found.label if found else analyte_id


def _cond(cid: str) -> str:
    found = vocab.condition(cid)
    return found.label if found else cid


def _cls(cid: str) -> str:
    try:
        return vocab.drug_class(cid).label
    except KeyError:
        return cid


@lru_cache(maxsize=65536)
def requirement(atom: ir.Node) -> str:  # noqa: C901 - one line per family
    """The atom as a short human sentence (atoms are frozen: memoized, since every
    answer repeats the same atoms' sentences)."""
    match atom:
        case ir.AgeAtom(op=op, value=v):
            return f"age {op} {_num(v)}"
        case ir.SexAtom(allowed=allowed):
            return "sex " + " or ".join(allowed)
        case ir.PerformanceAtom(scale=s, op=op, value=v, within_days=d):
            return f"{s} {op} {_num(v)}" + (f" within {d} days" if d else "")
        case ir.LabAtom(analyte=a, op=op, value=v, unit=u, relative_to=rel, within_days=d):
            amount = f"{_num(v)} x {rel.upper()}" if rel else f"{_num(v)} {u or ''}".strip()
            return f"{_labname(a)} {op} {amount}" + (f" within {d} days" if d else "")
        case ir.LabResultAtom(analyte=a, results=r, within_days=d):
            return f"{_labname(a)} " + "/".join(r) + (f" within {d} days" if d else "")
        case ir.BiomarkerAtom(marker=m, results=r, op=op, value=v, methods=meth):
            what = "/".join(r) if r else f"{op} {_num(v)}" if v is not None else ""
            return f"{m} {what}" + (f" by {'/'.join(meth)}" if meth else "")
        case ir.FindingAtom(key=k, op=op, value=v):
            return f"{k.replace('_', ' ')} {op} {v}"
        case ir.DiagnosisAtom(histologies=h, sites=s, statuses=st, stages=sg, confirmed_by=c):
            parts = [" / ".join(_cond(x) for x in h or ()),
                     "of " + " / ".join(_cond(x) for x in s) if s else "",
                     "(" + " or ".join(st) + ")" if st else "",
                     "stage " + " or ".join(sg) if sg else "",
                     f"confirmed by {'/'.join(c)}" if c else ""]
            return "diagnosis " + " ".join(p for p in parts if p)
        case ir.TreatmentAtom():
            names = list(atom.drugs) + [_cls(c) for c in atom.classes] + list(atom.kinds)
            parts = [" or ".join(names) or "any treatment"]
            if atom.min_cycles and atom.min_cycles > 1:
                parts.append(f">= {atom.min_cycles} cycles")
            if atom.progression:
                parts.append("with progression")
            if atom.ended_days_before is not None:
                parts.append(f"ended >= {atom.ended_days_before} days ago")
            if atom.within_days is not None:
                parts.append(f"given within {atom.within_days} days")
            if atom.ongoing:
                parts.append("ongoing")
            return "treatment: " + ", ".join(parts)
        case ir.ConditionAtom():
            parts = [" or ".join(_cond(c) for c in atom.concepts)]
            if atom.active_only:
                parts.append("active")
            if atom.uncontrolled is True:
                parts.append("not controlled")
            if atom.uncontrolled is False:
                parts.append("controlled")
            if atom.within_days is not None:
                parts.append(f"within {atom.within_days} days")
            if atom.min_grade is not None:
                parts.append(f"grade >= {atom.min_grade}")
            if atom.min_class is not None:
                parts.append(f"NYHA class >= {atom.min_class}")
            return "condition: " + ", ".join(parts)
        case ir.ParticipationAtom(within_days=d):
            return f"another trial's treatment within {d} days"
    return type(atom).__name__


def _paths(atom: ir.Node, facts: Facts) -> list[str]:
    """The fact paths (with evidence) an atom reads."""
    match atom:
        case ir.AgeAtom():
            return ["age"]
        case ir.SexAtom():
            return ["sex"]
        case ir.PerformanceAtom(scale=s):
            return [f"performance.{s.lower()}"]
        case ir.LabAtom(analyte=a, relative_to=rel) if rel is not None:
            return [f"labs.{a}", f"labs.{a}.{rel}"]
        case ir.LabAtom(analyte=a) | ir.LabResultAtom(analyte=a):
            return [f"labs.{a}"]
        case ir.BiomarkerAtom(marker=m):
            return [f"biomarkers.{m}"]
        case ir.FindingAtom(key=k):
            return [f"findings.{k}"]
        case ir.DiagnosisAtom():
            return [k for k in facts.evidence if k.startswith("diagnoses[")]
        case ir.TreatmentAtom():
            return _matching_records(atom, facts, "treatments")
        case ir.ConditionAtom():
            return _matching_records(atom, facts, "conditions")
        case ir.ParticipationAtom():
            return ["participation"]
    return []


def _matching_records(atom: ir.Node, facts: Facts, collection: str) -> list[str]:
    out = []
    for i, record in enumerate(facts.values.get(collection, [])):
        if collection == "treatments":
            assert isinstance(atom, ir.TreatmentAtom)
            hit = (record["drug"] in atom.drugs or bool(set(atom.classes) & set(record["classes"]))
                   or record["kind"] in atom.kinds)
        else:
            assert isinstance(atom, ir.ConditionAtom)
            hit = bool(set(atom.concepts) & set(record["concepts"]))
        if hit:
            out.append(f"{collection}[{i}]")
    return out


def _less_specific(atom: ir.Node, facts: Facts) -> bool:
    """Does a diagnosis record name, more broadly, what the atom asks for ("head and
    neck cancer" for "oral cavity")?"""
    if not isinstance(atom, ir.DiagnosisAtom):
        return False
    broader = set(broader_concepts(tuple(atom.sites or ()))) | set(
        broader_concepts(tuple(atom.histologies or ())))
    return any(broader & set(d.get("named", ())) for d in facts.values.get("diagnoses", []))


def atom_reason(atom: ir.Node, value: bool | None, facts: Facts) -> tuple[str, list[str]]:
    paths = _paths(atom, facts)
    shown = [facts.evidence[p] for p in paths if p in facts.evidence]
    req = requirement(atom)
    if shown:
        if value is None and _less_specific(atom, facts):
            shown.append("recorded less specifically than asked")
        return f"{req}: {_WORD[value]} ({'; '.join(shown)})", paths
    if isinstance(atom, ir.TreatmentAtom | ir.ConditionAtom | ir.ParticipationAtom):
        collection = "treatments" if isinstance(atom, ir.TreatmentAtom) else "conditions"
        unread = [u.split(":")[0] for u in facts.unused if u.startswith(collection)]
        also = f"; not recognized, so not read: {', '.join(unread)}" if unread else ""
        if facts.assume_absent:
            return f"{req}: {_WORD[value]} (none recorded; assumed absent{also})", []
        return f"{req}: {_WORD[value]} (none recorded; history may be incomplete{also})", []
    return f"{req}: {_WORD[value]} (no data)", []


def to_confirm_for(atom: ir.Node, facts: Facts) -> str:
    """What a coordinator must collect or check to decide an unknown atom."""
    req = requirement(atom)
    paths = _paths(atom, facts)
    if isinstance(atom, ir.LabAtom | ir.LabResultAtom):
        entry = facts.values.get("labs", {}).get(atom.analyte)
        if entry is None:
            return f"Obtain {req}"
        if entry.get("problem"):
            return f"Re-enter {_labname(atom.analyte)} in a convertible unit ({req})"
        if atom.within_days is not None and (entry.get("days_ago") is None
                                             or entry["days_ago"] > atom.within_days):
            return f"Repeat {_labname(atom.analyte)}: a result within {atom.within_days} days" \
                   f" is needed ({req})"
        return f"Check {req}"
    if isinstance(atom, ir.TreatmentAtom | ir.ConditionAtom | ir.ParticipationAtom):
        if paths:
            return f"Complete the record: {req}"
        return f"Confirm history: {req}"
    if _less_specific(atom, facts):
        return f"Record the diagnosis more specifically: {req}"
    return f"Obtain {req}"
