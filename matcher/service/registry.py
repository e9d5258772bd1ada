"""The trial registry: an embedded SQLite database in the service's data folder.

Holds trials (their current version), every version of each trial's source text
with its compiled criteria, curated override files, and API keys (hashed).
No patient data is ever written here.

Every write is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) on a
database in WAL mode with ``synchronous=FULL``: an acknowledged write survives
the process being killed, and a write cut short leaves no trace.

``generation`` counts committed writes that change what is matched, so the
server can rebuild its in-memory evaluation plans only when something changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from criteria.overrides import OverrideFile, apply_overrides, parse_overrides
from criteria.trial import CompiledTrial, Trial

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id TEXT PRIMARY KEY,
    current_version INTEGER NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trial_versions (
    trial_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    source_format TEXT NOT NULL,
    source_text TEXT NOT NULL,
    compiled_json TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (trial_id, version)
);
CREATE TABLE IF NOT EXISTS overrides (
    trial_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    parsed_json TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (trial_id, version)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL,
    created TEXT NOT NULL
);
"""

KEY_PREFIX = "tm_"


def default_data_dir() -> Path:
    """The per-user data folder: ``$XDG_DATA_HOME/trialmatch`` or
    ``~/.local/share/trialmatch``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "trialmatch"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def content_hash(trial: Trial) -> str:
    """What makes a new version: the registry facts and the eligibility text."""
    body = json.dumps(trial.model_dump(exclude={"source"}), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _digest(salt: bytes, secret: str) -> bytes:
    # Keys are 256-bit random secrets, so a salted SHA-256 is enough (no
    # password-style stretching needed) and keeps every request cheap.
    return hashlib.sha256(salt + secret.encode()).digest()


@dataclass(frozen=True)
class PutResult:
    trial_id: str
    version: int
    changed: bool  # False: same content as the current version, nothing written


@dataclass(frozen=True)
class TrialRow:
    trial_id: str
    version: int
    title: str
    status: str
    updated: str
    source_format: str
    source_text: str
    compiled: CompiledTrial
    overrides: dict[str, Any] | None  # the current override file, as parsed


class Registry:
    """One registry in ``data_dir`` (created on first use).  Thread-safe: one
    SQLite connection per thread."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / "registry.sqlite3"
        self._local = threading.local()
        db = self._db()
        db.executescript(SCHEMA)  # idempotent; autocommit mode, one statement at a time
        db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")

    # ------------------------------------------------------------------ connections

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ------------------------------------------------------------------ trials

    def generation(self) -> int:
        row = self._db().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0])

    def count(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    def put_trial(self, compiled: CompiledTrial, source_format: str, source_text: str
                  ) -> PutResult:
        """Store a compiled trial; a new version only when its content changed."""
        trial = compiled.trial
        digest = content_hash(trial)
        with self._write() as db:
            row = db.execute(
                "SELECT t.current_version, v.content_hash FROM trials t JOIN trial_versions v"
                " ON v.trial_id = t.id AND v.version = t.current_version WHERE t.id = ?",
                (trial.trial_id,)).fetchone()
            if row is not None and row[1] == digest:
                return PutResult(trial.trial_id, int(row[0]), changed=False)
            version = 1 if row is None else int(row[0]) + 1
            now = _now()
            db.execute("INSERT INTO trial_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (trial.trial_id, version, digest, source_format, source_text,
                        compiled.model_dump_json(), now))
            db.execute("INSERT INTO trials VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
                       " current_version = excluded.current_version, title = excluded.title,"
                       " status = excluded.status, updated = excluded.updated",
                       (trial.trial_id, version, trial.title, trial.status, now))
            self._bump(db)
        return PutResult(trial.trial_id, version, changed=True)

    def list_trials(self) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT t.id, t.current_version, t.title, t.status, t.updated,"
            " (SELECT COUNT(*) FROM overrides o WHERE o.trial_id = t.id) FROM trials t"
            " ORDER BY t.id").fetchall()
        return [{"trial_id": r[0], "version": r[1], "title": r[2], "status": r[3],
                 "updated": r[4], "has_overrides": r[5] > 0} for r in rows]

    def exists(self, trial_id: str) -> bool:
        return self._db().execute("SELECT 1 FROM trials WHERE id = ?",
                                  (trial_id,)).fetchone() is not None

    def get_trial(self, trial_id: str) -> TrialRow | None:
        db = self._db()
        row = db.execute(
            "SELECT t.current_version, t.title, t.status, t.updated, v.source_format,"
            " v.source_text, v.compiled_json FROM trials t JOIN trial_versions v"
            " ON v.trial_id = t.id AND v.version = t.current_version WHERE t.id = ?",
            (trial_id,)).fetchone()
        if row is None:
            return None
        return TrialRow(trial_id, int(row[0]), row[1], row[2], row[3], row[4], row[5],
                        CompiledTrial.model_validate_json(row[6]), self._override_json(trial_id))

    def versions(self, trial_id: str) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT version, content_hash, source_format, created FROM trial_versions"
            " WHERE trial_id = ? ORDER BY version", (trial_id,)).fetchall()
        return [{"version": r[0], "content_hash": r[1], "source_format": r[2], "created": r[3]}
                for r in rows]

    def compiled_trials(self) -> list[CompiledTrial]:
        """Every trial's current version with its curated overrides applied."""
        db = self._db()
        rows = db.execute(
            "SELECT v.compiled_json, (SELECT o.parsed_json FROM overrides o WHERE o.trial_id ="
            " t.id ORDER BY o.version DESC LIMIT 1) FROM trials t JOIN trial_versions v"
            " ON v.trial_id = t.id AND v.version = t.current_version ORDER BY t.id").fetchall()
        out: list[CompiledTrial] = []
        for compiled_json, override_json in rows:
            compiled = CompiledTrial.model_validate_json(compiled_json)
            if override_json is not None:
                doc = parse_overrides(json.loads(override_json), "registry")
                compiled = apply_overrides(compiled, doc)
            out.append(compiled)
        return out

    # ------------------------------------------------------------------ overrides

    def _override_json(self, trial_id: str) -> dict[str, Any] | None:
        row = self._db().execute(
            "SELECT parsed_json FROM overrides WHERE trial_id = ? ORDER BY version DESC LIMIT 1",
            (trial_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put_overrides(self, doc: OverrideFile, body: str) -> int:
        """Store a (validated) override file as the trial's current overrides."""
        parsed = doc.model_dump(mode="json")
        with self._write() as db:
            row = db.execute("SELECT COALESCE(MAX(version), 0) FROM overrides WHERE trial_id = ?",
                             (doc.trial_id,)).fetchone()
            version = int(row[0]) + 1
            db.execute("INSERT INTO overrides VALUES (?, ?, ?, ?, ?)",
                       (doc.trial_id, version, body, json.dumps(parsed), _now()))
            self._bump(db)
        return version

    # ------------------------------------------------------------------ API keys

    def create_key(self, name: str) -> str:
        """A new key; only its salted digest is stored.  Returned once."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._write() as db:
            db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?)",
                       (key_id, name, salt, _digest(salt, secret), _now()))
        return f"{KEY_PREFIX}{key_id}.{secret}"

    def key_name(self, key: str) -> str | None:
        """The name of a valid key, else None."""
        if not key.startswith(KEY_PREFIX) or "." not in key:
            return None
        key_id, _, secret = key[len(KEY_PREFIX):].partition(".")
        row = self._db().execute("SELECT name, salt, digest FROM api_keys WHERE key_id = ?",
                                 (key_id,)).fetchone()
        if row is None:
            return None
        return row[0] if hmac.compare_digest(_digest(row[1], secret), row[2]) else None

    def list_keys(self) -> list[dict[str, str]]:
        rows = self._db().execute("SELECT key_id, name, created FROM api_keys ORDER BY created")
        return [{"key_id": r[0], "name": r[1], "created": r[2]} for r in rows]
