"""Cohort readers: every input shape of ``trialmatch screen`` as chunks of patient documents.

:func:`iter_cohort` reads lazily and yields lists of at most ``chunk_size``
:class:`~matcher.patient.PatientDocument`, so memory is bounded by the chunk,
not the cohort.  Shapes (``docs/cohort-inputs.md``):

- a JSONL file (``.jsonl``/``.ndjson``/``.json`` lines): one patient document or
  FHIR R4 Bundle per line;
- a folder of ``*.json`` files (each a patient document or a FHIR R4 Bundle)
  and/or ``*.jsonl`` files;
- a FHIR Bulk Data export folder (``Patient.ndjson``, ``Observation.ndjson``,
  ``Condition.ndjson``, ``Medication*.ndjson``, ``Procedure.ndjson``, ...): one
  index pass spills every resource into a temporary file per chunk of patients,
  then each chunk's resources are grouped into one Bundle per patient and
  converted by :mod:`matcher.fhir_in`;
- a folder of flat tables, CSV or Parquet (:mod:`matcher.cohort.flat_tables`),
  read through DuckDB, sorted by chunk so each table is streamed once.

With ``fast=True`` plain patient documents are read by
:mod:`matcher.cohort.fast_patient` into light records (what ``trialmatch
screen`` normalizes), and only documents it cannot check completely go through
the pydantic model; the problems reported are the model's either way.

Bad input: every problem is named by file, line (or row) and field path, never
by value.  By default one bad patient refuses the cohort: patients are yielded
until the first chunk holding a problem, then the rest is only validated, and a
:class:`CohortError` lists every problem found.  Pass ``skipped=[]`` to skip bad
patients instead; each is appended there with its problems.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.cohort.fast_patient import PatientRecord, fast_patient
from matcher.cohort.flat_tables import TABLES, Column, column_for_path, set_path
from matcher.patient import (
    PatientDocument,
    PatientError,
    load_patient,
    parse_patient,
    patient_from_json,
)

__all__ = ["CohortError", "SkippedPatient", "detect_format", "iter_cohort"]

MAX_LISTED = 50  # problems shown in the message; all are kept in CohortError.problems


class CohortError(ValueError):
    """A cohort was refused.  ``problems`` holds every problem, one line each
    (``labs.csv line 7: value: must be a number``)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = self.problems[:MAX_LISTED]
        text = "\n".join(shown)
        if len(self.problems) > MAX_LISTED:
            text += f"\n... and {len(self.problems) - MAX_LISTED} more problems"
        return text


@dataclass
class SkippedPatient:
    """A patient left out (``skipped=`` mode): where it was read and why."""

    where: str
    problems: list[str] = field(default_factory=list)


# A patient as the readers yield it: the validated document, or (``fast=True``)
# the light record read from a document the model would accept as it is.
Patient = PatientDocument | PatientRecord
# One patient as read: where it came from, and the document or its problems.
_Read = tuple[str, Patient | list[str]]
Loader = Callable[[str, str], Patient]


def _load_fast(text: str, where: str) -> Patient:
    """``load_patient``, reading plain documents without the pydantic model
    when ``fast_patient`` can check them; anything else (bad JSON, a FHIR
    Bundle, a document it does not accept) exactly as ``load_patient``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return load_patient(text, where)  # its message, with line and column
    record = fast_patient(obj)
    return record if record is not None else patient_from_json(obj, where)


def _problem_lines(where: str, err: PatientError) -> list[str]:
    return [f"{where}: {path}: {message}" for path, message in err.problems]


# --------------------------------------------------------------------------- format


def detect_format(path: Path) -> str:
    """``jsonl``, ``json-folder``, ``fhir-ndjson`` or ``tables``; CohortError otherwise."""
    if path.is_file():
        return "jsonl"
    if not path.is_dir():
        raise CohortError([f"{path}: no such file or folder"])
    names = {p.name for p in path.iterdir() if p.is_file()}
    if any(_is_patient_ndjson(n) for n in names):
        return "fhir-ndjson"
    if any(f"patients.{ext}" in names for ext in ("csv", "parquet")):
        return "tables"
    if any(n.endswith((".json", ".jsonl")) for n in names):
        return "json-folder"
    raise CohortError([f"{path}: no patient files (expected *.json, *.jsonl, a FHIR "
                       "export with Patient.ndjson, or patients.csv/patients.parquet)"])


def _is_patient_ndjson(name: str) -> bool:
    return name.endswith(".ndjson") and re.match(r"^(\d+\.)?Patient([._-]\d+)?\.ndjson$",
                                                  name) is not None


def iter_cohort(path: str | Path, chunk_size: int = 5000, *,
                skipped: list[SkippedPatient] | None = None,
                fast: bool = False) -> Iterator[list[Any]]:
    """Patient documents of the cohort at ``path``, in chunks of at most ``chunk_size``.

    Raises :class:`CohortError` (after the last good chunk) when any patient is bad,
    unless ``skipped`` is given: then bad patients are appended to it and left out.
    With ``fast``, plain documents come as ``fast_patient.PatientRecord`` (the
    attributes ``build_facts`` reads), the others as ``PatientDocument``."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    root = Path(path)
    kind = detect_format(root)
    load: Loader = _load_fast if fast else load_patient
    if kind == "jsonl":
        reads: Iterable[_Read] = _read_jsonl(root, root.name, load)
    elif kind == "json-folder":
        reads = _read_json_folder(root, load)
    elif kind == "fhir-ndjson":
        reads = _read_fhir_ndjson(root, chunk_size, skipped)
    else:
        reads = _read_tables(root, chunk_size, skipped, fast)
    yield from _chunks(reads, chunk_size, skipped)


def _chunks(reads: Iterable[_Read], chunk_size: int,
            skipped: list[SkippedPatient] | None) -> Iterator[list[Patient]]:
    problems: list[str] = []
    seen: dict[str, str] = {}  # patient id -> where it was first read
    chunk: list[Patient] = []
    for where, result in reads:
        if not isinstance(result, list):
            first = seen.get(result.id)
            if first is None:
                seen[result.id] = where
            else:
                result = [f"{where}: id: the same patient id as {first}"]
        if isinstance(result, list):
            if skipped is not None:
                skipped.append(SkippedPatient(where, result))
            else:
                problems.extend(result)
            continue
        if problems:
            continue  # refusing: the rest is only validated
        chunk.append(result)
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if problems:
        raise CohortError(problems)
    if chunk:
        yield chunk


# --------------------------------------------------------------------------- JSON


def _read_jsonl(path: Path, label: str, load: Loader = load_patient) -> Iterator[_Read]:
    try:
        handle = path.open("rb")
    except OSError as err:
        raise CohortError([f"{label}: cannot read ({type(err).__name__})"]) from None
    with handle:
        for lineno, raw in enumerate(handle, 1):
            where = f"{label} line {lineno}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield where, [f"{where}: (document): not UTF-8 text"]
                continue
            if not text.strip():
                continue
            try:
                yield where, load(text, where)
            except PatientError as err:
                yield where, _problem_lines(where, err)


def _read_json_folder(folder: Path, load: Loader = load_patient) -> Iterator[_Read]:
    for file in sorted(p for p in folder.iterdir() if p.is_file()):
        if file.name.endswith(".jsonl"):
            yield from _read_jsonl(file, file.name, load)
        elif file.name.endswith(".json"):
            where = file.name
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                yield where, [f"{where}: (document): cannot read ({type(err).__name__})"]
                continue
            try:
                yield where, load(text, where)
            except PatientError as err:
                yield where, _problem_lines(where, err)


# --------------------------------------------------------------------------- FHIR bulk

_ENTRY_PATH = re.compile(r"^entry\[(\d+)\]\.resource\.?(.*)$")
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([^/]+)$")


def _patient_ref(resource: dict) -> str | None:
    """The id of the Patient a resource belongs to (``subject`` or ``patient``)."""
    for key in ("subject", "patient"):
        node = resource.get(key)
        if isinstance(node, dict) and isinstance(node.get("reference"), str):
            m = _PATIENT_REF.search(node["reference"])
            if m:
                return m.group(1)
    return None


def _ndjson_lines(file: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per non-blank line; text None when not UTF-8."""
    with file.open("rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                yield lineno, None
                continue
            if text:
                yield lineno, text


def _read_fhir_ndjson(folder: Path, chunk_size: int,
                      skipped: list[SkippedPatient] | None) -> Iterator[_Read]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(".ndjson"))
    patient_files = [f for f in files if _is_patient_ndjson(f.name)]
    other_files = [f for f in files if f not in patient_files]
    names = [f.name for f in patient_files + other_files]
    cohort_problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="trialmatch-ndjson-") as tmp:
        buckets: list[Any] = []
        chunk_of: dict[str, int] = {}

        def bucket(k: int) -> Any:
            while len(buckets) <= k:
                buckets.append(open(Path(tmp) / f"{len(buckets)}.tsv", "w",  # noqa: SIM115
                                    encoding="utf-8"))
            return buckets[k]

        # Index pass 1: patients, in file order, define the chunks.
        for fi, lineno, where, text, resource in _decoded(patient_files, 0, cohort_problems):
            if resource.get("resourceType") != "Patient":
                cohort_problems.append(f"{where}: resourceType: must be Patient in this file")
                continue
            pid = resource.get("id")
            if not isinstance(pid, str) or not pid:
                cohort_problems.append(f"{where}: Patient.id: required")
                continue
            if pid in chunk_of:
                cohort_problems.append(f"{where}: Patient.id: "
                                       "the same id as an earlier Patient")
                continue
            k = len(chunk_of) // chunk_size
            chunk_of[pid] = k
            bucket(k).write(f"{fi}\t{lineno}\t{text}\n")
        # Index pass 2: every other resource goes to its patient's chunk.
        for fi, lineno, where, text, resource in _decoded(other_files, len(patient_files),
                                                          cohort_problems):
            rtype = resource.get("resourceType")
            pid = _patient_ref(resource)
            if pid is None:
                if rtype in _PATIENT_RESOURCES:
                    cohort_problems.append(f"{where}: {rtype}.subject.reference: "
                                           "required (a reference to Patient/<id>)")
                continue  # Practitioner, Organization, ...: not about a patient
            k = chunk_of.get(pid)
            if k is None:
                cohort_problems.append(f"{where}: {rtype}.subject.reference: "
                                       "no Patient with this id in the export")
                continue
            bucket(k).write(f"{fi}\t{lineno}\t{text}\n")
        for handle in buckets:
            handle.close()
        if cohort_problems:
            if skipped is None:
                raise CohortError(cohort_problems)
            skipped.extend(SkippedPatient(p.split(": ", 1)[0], [p]) for p in cohort_problems)
        # Per chunk: one Bundle per patient, resources in file order.
        for k in range(len(buckets)):
            yield from _convert_bucket(Path(tmp) / f"{k}.tsv", names)


def _decoded(files: list[Path], first: int, problems: list[str]
             ) -> Iterator[tuple[int, int, str, str, dict]]:
    """Every line of ``files`` as (file number from ``first``, line number, its
    place for messages, its text, the decoded resource); an undecodable line
    becomes a problem and is skipped."""
    for fi, file in enumerate(files, start=first):
        for lineno, text in _ndjson_lines(file):
            where = f"{file.name} line {lineno}"
            resource = _json_resource(text)
            if isinstance(resource, str):
                problems.append(f"{where}: (resource): {resource}")
                continue
            yield fi, lineno, where, text, resource


_PATIENT_RESOURCES = {"Observation", "Condition", "MedicationRequest", "MedicationStatement",
                      "MedicationAdministration", "Procedure"}


def _json_resource(text: str | None) -> dict | str:
    """The decoded resource, or a problem message."""
    if text is None:
        return "not UTF-8 text"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg}) at column {exc.colno}"
    if not isinstance(obj, dict) or not isinstance(obj.get("resourceType"), str):
        return "must be a FHIR resource (an object with resourceType)"
    return obj


def _convert_bucket(bucket: Path, names: list[str]) -> Iterator[_Read]:
    groups: dict[str, list[tuple[str, dict]]] = {}  # patient id -> [(where, resource)]
    with bucket.open(encoding="utf-8") as handle:
        for line in handle:
            fi, lineno, text = line.rstrip("\n").split("\t", 2)
            resource = json.loads(text)
            where = f"{names[int(fi)]} line {lineno}"
            pid = resource["id"] if resource["resourceType"] == "Patient" \
                else _patient_ref(resource)
            groups.setdefault(pid, []).append((where, resource))
    for entries in groups.values():
        where = entries[0][0]
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": r} for _, r in entries]}
        try:
            from matcher.fhir_in import bundle_to_patient

            yield where, bundle_to_patient(bundle)
        except PatientError as err:
            yield where, [_fhir_problem(entries, path, message)
                          for path, message in err.problems]


def _fhir_problem(entries: list[tuple[str, dict]], path: str, message: str) -> str:
    """``entry[3].resource.valueInteger`` -> ``Observation.ndjson line 12:
    Observation.valueInteger``."""
    m = _ENTRY_PATH.match(path)
    if m and int(m.group(1)) < len(entries):
        where, resource = entries[int(m.group(1))]
        rest = m.group(2)
        return f"{where}: {resource['resourceType']}{'.' + rest if rest else ''}: {message}"
    return f"{entries[0][0]}: {path}: {message}"


# --------------------------------------------------------------------------- tables


@dataclass
class _Table:
    name: str          # patients, labs, ...
    file: Path
    columns: list[Column]
    key: str           # document list it fills ("" for patients)

    @property
    def is_csv(self) -> bool:
        return self.file.suffix == ".csv"

    def where(self, row: int) -> str:
        # CSV: line numbers (the header is line 1); Parquet: 1-based row numbers.
        return f"{self.file.name} line {row + 1}" if self.is_csv else f"{self.file.name} row {row}"

    def source(self) -> str:
        path = str(self.file).replace("'", "''")
        if self.is_csv:
            # all_varchar: every cell is typed here, so a bad cell is named by row.
            # row_number() OVER () streams in file order (insertion order is kept).
            return (f"(SELECT row_number() OVER () AS _row, * FROM read_csv('{path}', "
                    "header=true, all_varchar=true))")
        return (f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row "
                f"FROM read_parquet('{path}', file_row_number=true))")


def _find_tables(folder: Path) -> list[_Table]:
    tables: list[_Table] = []
    problems: list[str] = []
    for name, (key, columns) in TABLES.items():
        found = [folder / f"{name}.{ext}" for ext in ("csv", "parquet")
                 if (folder / f"{name}.{ext}").is_file()]
        if len(found) > 1:
            problems.append(f"{folder.name}: {name}: both a CSV and a Parquet file; keep one")
        elif found:
            tables.append(_Table(name, found[0], columns, key))
    if problems:
        raise CohortError(problems)
    return tables


def _read_tables(folder: Path, chunk_size: int, skipped: list[SkippedPatient] | None,
                 fast: bool = False) -> Iterator[_Read]:
    import duckdb

    tables = _find_tables(folder)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")  # never draw on the user's terminal
    problems: list[str] = []
    for t in tables:
        try:
            con.execute(f"CREATE VIEW v_{t.name} AS SELECT * FROM {t.source()}")
            present = [r[0] for r in con.execute(f"DESCRIBE v_{t.name}").fetchall()]
        except duckdb.Error as err:
            raise CohortError([f"{t.file.name}: cannot read "
                               f"({str(err).splitlines()[0][:200]})"]) from None
        known = {c.name for c in t.columns} | {"patient_id", "_row"}
        expected = ", ".join(["patient_id"] + [c.name for c in t.columns])
        for col in present:
            if col not in known:
                problems.append(f"{t.file.name}: column {col}: unknown column "
                                f"(expected {expected})")
        if "patient_id" not in present:
            problems.append(f"{t.file.name}: column patient_id: required")
        t.columns = [c for c in t.columns if c.name in present]
    if problems:
        raise CohortError(problems)
    patients = tables[0]
    assert patients.name == "patients"
    row_problems: list[str] = []
    for row, in con.execute("SELECT _row FROM v_patients WHERE patient_id IS NULL "
                            "OR trim(CAST(patient_id AS VARCHAR)) = '' ORDER BY _row").fetchall():
        row_problems.append(f"{patients.where(row)}: patient_id: required")
    for row, first in con.execute(
            "SELECT _row, first_value(_row) OVER (PARTITION BY patient_id ORDER BY _row) "
            "FROM v_patients WHERE patient_id IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY _row) > 1 "
            "ORDER BY _row").fetchall():
        row_problems.append(f"{patients.where(row)}: patient_id: the same patient_id as "
                            f"{patients.where(first).split(' ', 1)[1]}")
    for t in tables[1:]:
        for row, in con.execute(
                f"SELECT _row FROM v_{t.name} c WHERE NOT EXISTS (SELECT 1 FROM v_patients p "
                "WHERE CAST(p.patient_id AS VARCHAR) = CAST(c.patient_id AS VARCHAR)) "
                "ORDER BY _row").fetchall():
            row_problems.append(f"{t.where(row)}: patient_id: no such patient in "
                                f"{patients.file.name}")
    if row_problems:
        if skipped is None:
            raise CohortError(row_problems)
        skipped.extend(SkippedPatient(p.split(": ", 1)[0], [p]) for p in row_problems)
    # Chunk numbers by patient order; first occurrence of an id only.
    con.execute(
        "CREATE TABLE _ids AS SELECT CAST(patient_id AS VARCHAR) AS pid, _row, "
        f"(row_number() OVER (ORDER BY _row) - 1) // {int(chunk_size)} AS _chunk "
        "FROM v_patients WHERE patient_id IS NOT NULL AND trim(CAST(patient_id AS VARCHAR)) <> '' "
        "QUALIFY row_number() OVER (PARTITION BY patient_id ORDER BY _row) = 1")
    streams = {t.name: _TableStream(con, t) for t in tables}
    while True:
        rows = streams["patients"].take_chunk()
        if rows is None:
            break
        chunk = rows[0]["_chunk"]
        items: dict[str, dict[str, list[dict]]] = {}
        for t in tables[1:]:
            for r in streams[t.name].take(chunk):
                items.setdefault(r["patient_id"], {}).setdefault(t.name, []).append(r)
        for prow in rows:
            yield _table_patient(tables, prow, items.get(prow["patient_id"], {}), fast)


class _TableStream:
    """Rows of one table joined to their chunk number, in chunk order, fetched in batches."""

    def __init__(self, con: Any, table: _Table):
        cursor = con.cursor()
        if table.name == "patients":
            query = ("SELECT i._chunk, CAST(p.patient_id AS VARCHAR) AS patient_id, p.* "
                     "EXCLUDE (patient_id) FROM v_patients p JOIN _ids i USING (_row) "
                     "ORDER BY p._row")
        else:
            query = (f"SELECT i._chunk, CAST(c.patient_id AS VARCHAR) AS patient_id, c.* "
                     f"EXCLUDE (patient_id) FROM v_{table.name} c "
                     "JOIN _ids i ON i.pid = CAST(c.patient_id AS VARCHAR) "
                     "ORDER BY i._chunk, c._row")
        self.reader = cursor.execute(query).to_arrow_reader(20_000)
        self.buffer: list[dict] = []
        self.pos = 0
        self.done = False

    def _peek(self) -> dict | None:
        while self.pos >= len(self.buffer):
            if self.done:
                return None
            try:
                self.buffer = self.reader.read_next_batch().to_pylist()
            except StopIteration:
                self.done = True
                return None
            self.pos = 0
        return self.buffer[self.pos]

    def take(self, chunk: int) -> Iterator[dict]:
        while (row := self._peek()) is not None and row["_chunk"] == chunk:
            self.pos += 1
            yield row

    def take_chunk(self) -> list[dict] | None:
        first = self._peek()
        if first is None:
            return None
        return list(self.take(first["_chunk"]))


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _cell(value: Any, col: Column) -> tuple[Any, str | None]:
    """A table cell as the document's value, or a problem message.  Empty CSV
    cells and Parquet NULLs (and NaN, which pandas writes for missing) are absent."""
    if value is None:
        return None, None
    if isinstance(value, float) and math.isnan(value):
        return None, None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None, None
        if col.type == "int":
            try:
                return int(value), None
            except ValueError:
                return None, "must be an integer"
        if col.type == "float":
            try:
                number = float(value)
            except ValueError:
                return None, "must be a number"
            if not math.isfinite(number):
                return None, "must be a finite number"
            return number, None
        if col.type == "bool":
            low = value.lower()
            if low in _TRUE:
                return True, None
            if low in _FALSE:
                return False, None
            return None, "must be true or false"
        if col.type == "list":
            return [part.strip() for part in value.split(";") if part.strip()], None
        return value, None
    # Typed (Parquet) cells.
    if col.type == "int" and isinstance(value, float) and value.is_integer():
        return int(value), None
    if col.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value), None
    if col.type == "date" and hasattr(value, "date") and callable(value.date):
        return value.date(), None  # a timestamp column: its calendar date
    if col.type == "list" and isinstance(value, list):
        return [str(v) for v in value], None
    if col.type == "str" and not isinstance(value, str):
        return str(value), None
    return value, None


def _table_patient(tables: list[_Table], prow: dict, items: dict[str, list[dict]],
                   fast: bool = False) -> _Read:
    patients = tables[0]
    where = patients.where(prow["_row"])
    problems: list[str] = []
    origin: dict[str, tuple[_Table, int]] = {}  # document path prefix -> (table, row)
    doc: dict[str, Any] = {"id": prow["patient_id"]}
    for col in patients.columns:
        value, problem = _cell(prow.get(col.name), col)
        if problem:
            problems.append(f"{where}: {col.name}: {problem}")
        elif value is not None:
            set_path(doc, col.path, value)
    for t in tables[1:]:
        rows = items.get(t.name, [])
        if not rows:
            continue
        out = doc.setdefault(t.key, [])
        for row in rows:
            item: dict[str, Any] = {}
            for col in t.columns:
                value, problem = _cell(row.get(col.name), col)
                if problem:
                    problems.append(f"{t.where(row['_row'])}: {col.name}: {problem}")
                elif value is not None:
                    set_path(item, col.path, value)
            origin[f"{t.key}[{len(out)}]"] = (t, row["_row"])
            out.append(item)
    if problems:
        return where, problems
    record = fast_patient(doc) if fast else None
    if record is not None:
        return where, record
    try:
        return where, parse_patient(doc)
    except PatientError as err:
        return where, [_table_problem(patients, where, origin, path, message)
                       for path, message in err.problems]


def _table_problem(patients: _Table, where: str, origin: dict[str, tuple[_Table, int]],
                   path: str, message: str) -> str:
    """``labs[3].unit`` -> ``labs.csv line 12: unit``; ``birth_date`` -> the patients row."""
    m = re.match(r"^([a-z_]+\[\d+\])\.?(.*)$", path)
    if m and m.group(1) in origin:
        table, row = origin[m.group(1)]
        column = column_for_path(table.name, m.group(2)) if m.group(2) else None
        return f"{table.where(row)}: {column or '(row)'}: {message}"
    column = column_for_path(patients.name, path)
    return f"{where}: {column or path}: {message}"

