"""Cohort tables: a chunk of patient documents as one Arrow table of normalized facts.

Each row holds what the per-patient evaluator reads for one patient
(``matcher.facts.build_facts``: canonical lab values and ULN multiples,
performance bands, biomarker results, diagnosis concepts, treatment drugs and
classes with days since, condition concepts), laid out as the columns
``criteria.sql.columns`` names.  Building from the very same facts is what makes
the SQL executors agree with the evaluator: units, vocabulary and dates are
normalized once, by one piece of code.

Only the labs, biomarkers and findings the screened criteria read get columns
(``TableSpec``).  Missing facts are NULL; histories are lists, empty when
nothing is recorded (never NULL).  Values are finite: the patient document
refuses NaN and infinities, so NaN never stands in for NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from criteria.sql import columns as col
from matcher.facts import Facts

PERFORMANCE = pa.struct([("low", pa.float64()), ("high", pa.float64()),
                         ("days_ago", pa.int64())])
LAB = pa.struct([("value", pa.float64()), ("x_uln", pa.float64()), ("x_lln", pa.float64()),
                 ("result", pa.string()), ("days_ago", pa.int64()), ("problem", pa.bool_())])
BIOMARKER = pa.struct([("result", pa.string()), ("value", pa.float64()),
                       ("method", pa.string()), ("days_ago", pa.int64())])
STRINGS = pa.list_(pa.string())
DIAGNOSIS = pa.struct([("concepts", STRINGS), ("has_histology", pa.bool_()),
                       ("has_site", pa.bool_()), ("named", STRINGS), ("statuses", STRINGS),
                       ("stage_keys", STRINGS), ("confirmed_by", pa.string())])
TREATMENT = pa.struct([("kind", pa.string()), ("drug", pa.string()), ("classes", STRINGS),
                       ("cycles", pa.int64()), ("ongoing", pa.bool_()),
                       ("days_since_end", pa.int64()), ("days_since_last", pa.int64()),
                       ("progressed", pa.bool_()), ("setting", pa.string())])
CONDITION = pa.struct([("concepts", STRINGS), ("named", STRINGS), ("status", pa.string()),
                       ("controlled", pa.bool_()), ("grade", pa.int64()),
                       ("nyha_class", pa.int64()), ("days_ago", pa.int64())])
_FINDING_ARROW = {bool: pa.bool_(), float: pa.float64(), str: pa.string()}


@dataclass(frozen=True)
class TableSpec:
    """Which keyed facts get a column: those some screened criterion reads."""

    labs: tuple[str, ...] = ()
    biomarkers: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()  # keys of columns.FINDING_TYPES only


def schema(spec: TableSpec) -> pa.Schema:
    fields = [
        pa.field(col.PATIENT_ID, pa.string(), nullable=False),
        pa.field(col.HISTORY_COMPLETE, pa.bool_(), nullable=False),
        pa.field(col.AGE, pa.int64()),
        pa.field(col.SEX, pa.string()),
        pa.field(col.performance("ECOG"), PERFORMANCE),
        pa.field(col.performance("Karnofsky"), PERFORMANCE),
        pa.field(col.PARTICIPATION_DAYS, pa.int64()),
        pa.field(col.DIAGNOSES, pa.list_(DIAGNOSIS)),
        pa.field(col.TREATMENTS, pa.list_(TREATMENT)),
        pa.field(col.CONDITIONS, pa.list_(CONDITION)),
    ]
    fields += [pa.field(col.lab(a), LAB) for a in spec.labs]
    fields += [pa.field(col.biomarker(m), BIOMARKER) for m in spec.biomarkers]
    fields += [pa.field(col.finding(k), _FINDING_ARROW[col.FINDING_TYPES[k]])
               for k in spec.findings]
    return pa.schema(fields)


def _perf(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"low": float(entry["low"]), "high": float(entry["high"]),
            "days_ago": entry["days_ago"]}


def _lab(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"value": entry["value"], "x_uln": entry["x_uln"], "x_lln": entry["x_lln"],
            "result": entry["result"], "days_ago": entry["days_ago"],
            "problem": bool(entry.get("problem"))}


def _finding(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is float:
        return float(value)
    return value


def facts_table(ids: Sequence[str], facts: Sequence[Facts], spec: TableSpec) -> pa.Table:
    """One row per patient, in order; ``facts[i]`` are patient ``ids[i]``'s facts."""
    columns: dict[str, list[Any]] = {name: [] for name in schema(spec).names}
    lab_cols = [(a, col.lab(a)) for a in spec.labs]
    bm_cols = [(m, col.biomarker(m)) for m in spec.biomarkers]
    finding_cols = [(k, col.finding(k), col.FINDING_TYPES[k]) for k in spec.findings]
    for pid, f in zip(ids, facts, strict=True):
        v = f.values
        columns[col.PATIENT_ID].append(pid)
        columns[col.HISTORY_COMPLETE].append(bool(v["history_complete"]))
        columns[col.AGE].append(v["age"])
        columns[col.SEX].append(v["sex"])
        perf = v["performance"]
        columns[col.performance("ECOG")].append(_perf(perf.get("ecog")))
        columns[col.performance("Karnofsky")].append(_perf(perf.get("karnofsky")))
        columns[col.PARTICIPATION_DAYS].append(v["participation"]["days_ago"])
        columns[col.DIAGNOSES].append(v["diagnoses"])
        columns[col.TREATMENTS].append(v["treatments"])
        columns[col.CONDITIONS].append(v["conditions"])
        labs = v["labs"]
        for analyte, name in lab_cols:
            columns[name].append(_lab(labs.get(analyte)))
        markers = v["biomarkers"]
        for marker, name in bm_cols:
            columns[name].append(markers.get(marker))
        findings = v["findings"]
        for key, name, kind in finding_cols:
            columns[name].append(_finding(findings.get(key), kind))
    sch = schema(spec)
    return pa.Table.from_arrays([pa.array(columns[f.name], type=f.type) for f in sch], schema=sch)
