"""The flat-table cohort layout: one table per patient-document list, both ways.

A cohort as tables is a folder of CSV or Parquet files named after the tables
below (``patients.csv``, ``labs.parquet``, ...).  ``patients`` is required; the
others are optional.  Every table has ``patient_id``.  Each column maps to one
field of the patient document (``../shared/contract/README.md`` section 1); nested
fields are flattened (``code.system`` -> ``code_system``), the findings are
columns of ``patients``, and ``diagnoses.status`` is a ``;``-separated list.

The same :data:`TABLES` drives reading (:mod:`matcher.cohort.readers`) and
writing (``trialmatch synth --format csv|parquet``), so the two cannot drift.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ITEM_TABLES", "TABLES", "Column", "column_for_path", "document_rows", "set_path"]

ColumnType = Literal["str", "date", "int", "float", "bool", "list"]


@dataclass(frozen=True)
class Column:
    name: str     # the column name in the table
    path: str     # the dotted field path in the document (or in the list item)
    type: ColumnType


def _c(name: str, type_: ColumnType, path: str | None = None) -> Column:
    return Column(name, path or name, type_)


_CODE = [_c("code_system", "str", "code.system"), _c("code", "str", "code.code")]

# table name -> (document list it fills, or "" for the patients table; columns)
TABLES: dict[str, tuple[str, list[Column]]] = {
    "patients": ("", [
        _c("as_of", "date"), _c("birth_date", "date"), _c("age", "int"), _c("sex", "str"),
        _c("measurable_disease", "bool", "findings.measurable_disease.value"),
        _c("measurable_disease_criteria", "str", "findings.measurable_disease.criteria"),
        _c("largest_lesion_mm", "float", "findings.measurable_disease.largest_lesion_mm"),
        _c("life_expectancy_weeks", "float", "findings.life_expectancy_weeks"),
        _c("tumor_tissue_available", "bool", "findings.tumor_tissue_available"),
        _c("pregnant", "bool", "findings.pregnant"),
        _c("breastfeeding", "bool", "findings.breastfeeding"),
        _c("childbearing_potential", "bool", "findings.childbearing_potential"),
        _c("brain_metastases", "str", "findings.brain_metastases"),
        _c("trial_participation_end", "date", "findings.trial_participation_end"),
    ]),
    "diagnoses": ("diagnoses", [
        _c("condition", "str"), *_CODE, _c("histology", "str"), _c("confirmed_by", "str"),
        _c("site", "str"), _c("stage", "str"), _c("status", "list"), _c("date", "date"),
    ]),
    "performance": ("performance_status", [
        _c("scale", "str"), _c("value", "int"), _c("date", "date"),
    ]),
    "biomarkers": ("biomarkers", [
        _c("name", "str"), _c("result", "str"), _c("value", "float"), _c("unit", "str"),
        _c("method", "str"), _c("date", "date"),
    ]),
    "labs": ("labs", [
        _c("name", "str"), *_CODE, _c("value", "float"), _c("unit", "str"),
        _c("result", "str"), _c("upper_limit_normal", "float"),
        _c("lower_limit_normal", "float"), _c("date", "date"),
    ]),
    "treatments": ("treatments", [
        _c("kind", "str"), _c("name", "str"), *_CODE, _c("start", "date"), _c("end", "date"),
        _c("cycles", "int"), _c("setting", "str"), _c("line", "int"),
        _c("best_response", "str"), _c("progression_date", "date", "progression.date"),
        _c("progression_confirmed_by", "str", "progression.confirmed_by"),
        _c("ongoing", "bool"),
    ]),
    "conditions": ("conditions", [
        _c("name", "str"), *_CODE, _c("status", "str"), _c("controlled", "bool"),
        _c("grade", "int"), _c("onset", "date"), _c("date", "date"), _c("nyha_class", "int"),
    ]),
}

ITEM_TABLES = [name for name, (key, _) in TABLES.items() if key]


def _get(obj: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)  # type: ignore[assignment]
    return obj


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts, creating the inner ones."""
    parts = path.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def _cell(value: Any, type_: ColumnType) -> Any:
    if value is None:
        return None
    if type_ == "list":
        return ";".join(value) if isinstance(value, list) else str(value)
    if type_ == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return value


def document_rows(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A patient document (dict) as rows of each table (``patient_id`` first).

    ``findings.measurable_disease`` given as a bool is written as its value."""
    pid = doc["id"]
    findings = doc.get("findings") or {}
    if isinstance(findings.get("measurable_disease"), bool):
        doc = {**doc, "findings": {**findings,
                                   "measurable_disease": {"value": findings["measurable_disease"]}}}
    out: dict[str, list[dict[str, Any]]] = {}
    for table, (key, columns) in TABLES.items():
        items = doc.get(key) or [] if key else [doc]
        rows = []
        for item in items:
            row: dict[str, Any] = {"patient_id": pid}
            for col in columns:
                row[col.name] = _cell(_get(item, col.path), col.type)
            rows.append(row)
        out[table] = rows
    return out


def column_for_path(table: str, path: str) -> str | None:
    """The column a document field path (inside the item, or at the root for
    ``patients``) was read from; None when no column holds it."""
    for col in TABLES[table][1]:
        if path == col.path or path.startswith(col.path + "."):
            return col.name
    # A problem on a whole nested object (``progression``) names its first column.
    for col in TABLES[table][1]:
        if col.path.startswith(path + "."):
            return col.name
    return None
