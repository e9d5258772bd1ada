"""Legacy ClinicalTrials.gov XML (``<clinical_study>``) -> ``Trial``.

Parsed with the standard library.  Any DOCTYPE, entity or external-entity
declaration is refused before the tree is built, so entity-expansion
("billion laughs") and external-entity tricks never reach ElementTree.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

from criteria.sources.ctgov_json import (
    RecordError,
    age_years,
    make_trial,
    normalize_phases,
    normalize_sex,
    normalize_status,
)
from criteria.trial import Trial

ROOT = "clinical_study"


class XmlError(RecordError):
    """Malformed or refused XML; ``line``/``column`` (1-based) locate it when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line = line
        self.column = column
        super().__init__(message)


class _Refused(Exception):
    pass


def _refuse(what: str):
    def handler(*_args: object) -> None:
        raise _Refused(what)

    return handler


def _check_xml(data: str | bytes) -> None:
    """Well-formedness check that refuses DOCTYPE and entity declarations."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse("DOCTYPE declaration")
    parser.EntityDeclHandler = _refuse("ENTITY declaration")
    parser.UnparsedEntityDeclHandler = _refuse("ENTITY declaration")
    parser.ExternalEntityRefHandler = _refuse("external entity reference")
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise XmlError(
            f"{exc} not allowed in trial XML (refused to guard against entity expansion)",
            parser.CurrentLineNumber,
            parser.CurrentColumnNumber + 1,
        ) from None
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise XmlError(f"malformed XML: {reason}", exc.lineno, exc.offset + 1) from None


def _text(el: ET.Element | None) -> str:
    return "" if el is None else "".join(el.itertext())


def _clean(el: ET.Element | None) -> str:
    return " ".join(_text(el).split())


def _optional(el: ET.Element | None) -> str | None:
    text = _clean(el)
    return text or None


def parse_xml_root(data: str | bytes) -> ET.Element:
    _check_xml(data)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:  # not expected after the check above
        line, column = getattr(exc, "position", (None, None))
        col = None if column is None else column + 1
        raise XmlError(f"malformed XML: {exc}", line, col) from None


def legacy_xml_to_trial(data: str | bytes, source: str = "") -> Trial:
    """One legacy ``<clinical_study>`` document as a Trial.

    ``eligibility_text`` is ``eligibility/criteria/textblock`` verbatim
    (indentation and surrounding whitespace kept).
    """
    root = parse_xml_root(data)
    if root.tag != ROOT:
        raise RecordError(f"root element is <{root.tag}>, expected <{ROOT}>")

    nct_id = _clean(root.find("id_info/nct_id"))
    if not nct_id:
        raise RecordError("missing (every study needs an id)", f"{ROOT}/id_info/nct_id")
    title = _clean(root.find("brief_title")) or _clean(root.find("official_title"))

    try:
        phases = normalize_phases([_clean(el) for el in root.findall("phase")])
    except ValueError as exc:
        raise RecordError(str(exc), f"{ROOT}/phase") from None

    elig = root.find("eligibility")
    gender_el = elig.find("gender") if elig is not None else None
    try:
        sex = normalize_sex(_optional(gender_el))
    except ValueError as exc:
        raise RecordError(str(exc), f"{ROOT}/eligibility/gender") from None

    def age(tag: str) -> float | None:
        el = elig.find(tag) if elig is not None else None
        return age_years(_optional(el), f"{ROOT}/eligibility/{tag}")

    criteria_el = elig.find("criteria/textblock") if elig is not None else None

    return make_trial(
        ROOT,
        trial_id=nct_id,
        title=title,
        status=normalize_status(_optional(root.find("overall_status"))),
        phases=phases,
        conditions=[c for c in (_clean(el) for el in root.findall("condition")) if c],
        interventions=[
            n for n in (_clean(el) for el in root.findall("intervention/intervention_name")) if n
        ],
        minimum_age=age("minimum_age"),
        maximum_age=age("maximum_age"),
        sex=sex,
        eligibility_text=_text(criteria_el),
        source=source,
    )
