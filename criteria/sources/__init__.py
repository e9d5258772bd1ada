"""Reading trial files: ClinicalTrials.gov API v2 JSON, legacy XML, compiled trials,
and the research-corpus shapes (legacy-subset JSONL, TrialGPT trial_info and corpus).

Public API::

    read_trial_file(path)     -> list[Trial | CompiledTrial]   (format detected by content)
    read_trial_paths(paths)   -> list[Trial | CompiledTrial]   (files and folders)
    parse_study_v2(obj)       -> Trial
    parse_legacy_xml(text)    -> Trial
    seeds_dir(), load_seed_trials()                            (the bundled library)

Every problem with a file is a ``TrialFileError`` naming the file (and the
line / column, or the field path, when known); no raw tracebacks.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from criteria.sources.ages import parse_age
from criteria.sources.corpus import (
    corpus_doc_to_trial,
    is_corpus_doc,
    is_legacy_record,
    is_trialgpt_info,
    is_trialgpt_info_map,
    legacy_record_to_trial,
    trialgpt_info_map_to_trials,
    trialgpt_info_to_trial,
)
from criteria.sources.ctgov_json import (
    RecordError,
    normalize_phases,
    normalize_sex,
    normalize_status,
    study_to_trial,
    validation_summary,
)
from criteria.sources.ctgov_xml import XmlError, legacy_xml_to_trial
from criteria.trial import CompiledTrial, Trial

__all__ = [
    "TrialFileError",
    "load_seed_trials",
    "normalize_phases",
    "normalize_sex",
    "normalize_status",
    "parse_age",
    "parse_legacy_xml",
    "parse_study_v2",
    "read_trial_file",
    "read_trial_paths",
    "seeds_dir",
]

COMPILED_FORMAT_PREFIX = "trialmatch.compiled-trial"
FOLDER_SUFFIXES = (".json", ".jsonl", ".xml")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")

TrialRecord = Trial | CompiledTrial


class TrialFileError(Exception):
    """A trial file that cannot be read.

    ``path`` names the file; ``line`` (and ``column``) locate the problem in
    JSONL / broken JSON / broken XML when known; ``reason`` is the bare message.
    """

    def __init__(
        self, path: str | Path, reason: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = reason
        where = self.path
        if line is not None:
            where += f", line {line}"
            if column is not None:
                where += f", column {column}"
        super().__init__(f"{where}: {reason}")


# --------------------------------------------------------------------------- single records


def parse_study_v2(obj: dict[str, Any], source: str = "") -> Trial:
    """One ClinicalTrials.gov API v2 study object as a Trial.

    Raises TrialFileError (path = ``source`` or ``"<study>"``) naming the bad field.
    """
    try:
        return study_to_trial(obj, source)
    except RecordError as exc:
        raise TrialFileError(source or "<study>", str(exc)) from None


def parse_legacy_xml(text: str | bytes, source: str = "") -> Trial:
    """One legacy ``<clinical_study>`` XML document as a Trial.

    DOCTYPE / ENTITY declarations are refused (TrialFileError).
    """
    try:
        return legacy_xml_to_trial(text, source)
    except XmlError as exc:
        raise TrialFileError(source or "<xml>", str(exc), exc.line, exc.column) from None
    except RecordError as exc:
        raise TrialFileError(source or "<xml>", str(exc)) from None


# --------------------------------------------------------------------------- JSON values


def _compiled(obj: dict[str, Any], field: str) -> CompiledTrial:
    try:
        return CompiledTrial.model_validate(obj)
    except ValidationError as exc:
        prefix = f"{field}: " if field else ""
        raise RecordError(f"{prefix}invalid compiled trial: {validation_summary(exc)}") from None


def _records_from_json(value: Any, source: str, field: str = "") -> list[TrialRecord]:
    """Trials in one decoded JSON value (compiled trial, v2 study, v2 page, a corpus
    record -- legacy subset, TrialGPT trial_info or corpus document -- or a list)."""
    pre = f"{field}." if field else ""
    if isinstance(value, list):
        out: list[TrialRecord] = []
        for i, item in enumerate(value):
            if isinstance(item, list):
                raise RecordError("nested list; expected a trial object", f"{field}[{i}]")
            out.extend(_records_from_json(item, source, f"{field}[{i}]"))
        return out
    if not isinstance(value, dict):
        raise RecordError(
            f"expected a JSON object or list of objects, got {type(value).__name__}",
            field or None,
        )
    fmt = value.get("format")
    if isinstance(fmt, str) and fmt.startswith(COMPILED_FORMAT_PREFIX):
        return [_compiled(value, field)]
    if "protocolSection" in value:
        return [study_to_trial(value, source, field)]
    if "studies" in value:
        studies = value["studies"]
        if not isinstance(studies, list):
            raise RecordError("expected a list of studies", f"{pre}studies")
        return [
            study_to_trial(study, source, f"{pre}studies[{i}]") for i, study in enumerate(studies)
        ]
    if fmt is None:
        if is_legacy_record(value):
            return [legacy_record_to_trial(value, source, field)]
        if is_trialgpt_info(value):
            return [trialgpt_info_to_trial(value, source, field)]
        if is_corpus_doc(value):
            return [corpus_doc_to_trial(value, source, field)]
        if is_trialgpt_info_map(value):
            return list(trialgpt_info_map_to_trials(value, source, field))
    if fmt is not None:
        raise RecordError(
            f"unknown format {fmt!r} (expected {COMPILED_FORMAT_PREFIX}/...)", f"{pre}format"
        )
    keys = ", ".join(sorted(map(str, value))[:8]) or "none"
    raise RecordError(
        'not a trial record: expected a compiled trial ("format": '
        f'"{COMPILED_FORMAT_PREFIX}/1"), an API v2 study ("protocolSection"), a page '
        '("studies"), a legacy-subset record ("nct_id"), a TrialGPT trial ("NCT_ID") or a '
        f'corpus document ("_id", "text"); keys found: {keys}',
        field or None,
    )


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrialFileError(path, f"not UTF-8 text (byte offset {exc.start})") from None


def _load_json(text: str, path: str, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if line is None:
            raise TrialFileError(path, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        raise TrialFileError(path, f"invalid JSON: {exc.msg}", line, exc.colno) from None
    except RecursionError:
        raise TrialFileError(path, "invalid JSON: nested too deeply", line) from None


def _read_jsonl(text: str, path: str) -> list[TrialRecord]:
    out: list[TrialRecord] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        value = _load_json(raw, path, number)
        try:
            out.extend(_records_from_json(value, path))
        except RecordError as exc:
            raise TrialFileError(path, str(exc), number) from None
    return out


# --------------------------------------------------------------------------- files


def read_trial_file(path: Path | str) -> list[TrialRecord]:
    """All trials in one file; the format is detected by content.

    * JSON object with ``"format": "trialmatch.compiled-trial/..."`` -> CompiledTrial
      (a list of them is also accepted);
    * JSON with ``"protocolSection"`` (a study) or ``"studies"`` (a page) -> API v2;
    * XML whose root is ``<clinical_study>`` -> legacy XML;
    * a legacy-subset record (``nct_id``, ``eligibility_criteria``, ...), a TrialGPT
      trial_info record (``NCT_ID``, ``inclusion_criteria``, ...) or a whole
      ``{nct_id: trial_info}`` map, a TrialGPT corpus document (``_id``, ``text``);
    * ``.jsonl`` / ``.ndjson`` -> one JSON value per line (any of the above).

    Anything else raises TrialFileError.
    """
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise TrialFileError(name, "no such file or directory")
    if p.is_dir():
        raise TrialFileError(name, "is a directory, not a trial file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise TrialFileError(name, f"cannot read: {exc.strerror or exc}") from None

    if p.suffix.lower() in _JSONL_SUFFIXES:
        return _read_jsonl(_decode(data, name), name)

    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return [parse_legacy_xml(data, name)]
    if head in (b"{", b"["):
        text = _decode(data, name)
        value = _load_json(text, name)
        try:
            return _records_from_json(value, name)
        except RecordError as exc:
            raise TrialFileError(name, str(exc)) from None
    if not head:
        raise TrialFileError(name, "file is empty")
    raise TrialFileError(
        name, "not a trial file: expected ClinicalTrials.gov JSON/XML or a compiled trial (JSON)"
    )


def _folder_files(folder: Path) -> list[Path]:
    found = []
    for f in folder.rglob("*"):
        rel = f.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # hidden files and folders (.git, .ipynb_checkpoints, ...)
        if f.suffix.lower() in FOLDER_SUFFIXES and f.is_file():
            found.append(f)
    return sorted(found, key=lambda f: f.relative_to(folder).as_posix())


def read_trial_paths(paths: Iterable[Path | str]) -> list[TrialRecord]:
    """Trials from files and folders (folders: *.json, *.jsonl, *.xml, recursively, sorted).

    A missing path raises TrialFileError.
    """
    out: list[TrialRecord] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            for f in _folder_files(p):
                out.extend(read_trial_file(f))
        elif p.exists():
            out.extend(read_trial_file(p))
        else:
            raise TrialFileError(str(path), "no such file or directory")
    return out


# --------------------------------------------------------------------------- bundled library


def seeds_dir() -> Path:
    """Folder of the bundled trial library.

    Installed wheel: ``<matcher package>/seeds`` (force-included from the
    top-level ``seeds/``); source checkout: ``<repo>/seeds``.
    """
    try:
        spec = importlib.util.find_spec("matcher")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        installed = Path(spec.origin).resolve().parent / "seeds"
        if installed.is_dir():
            return installed
    return Path(__file__).resolve().parents[2] / "seeds"


def load_seed_trials() -> list[Trial]:
    """The bundled seed trials (one API v2 JSON file per trial)."""
    folder = seeds_dir()
    if not folder.is_dir():
        raise TrialFileError(str(folder), "bundled seed library not found")
    trials: list[Trial] = []
    seen: dict[str, str] = {}
    for f in _folder_files(folder):
        for record in read_trial_file(f):
            trial = record.trial if isinstance(record, CompiledTrial) else record
            if trial.trial_id in seen:
                raise TrialFileError(
                    str(f), f"duplicate trial id {trial.trial_id} (also in {seen[trial.trial_id]})"
                )
            seen[trial.trial_id] = f.name
            trials.append(trial)
    return trials
