"""The ledger: a SQLite database in .pbp/ recording every issued and received workbook.

WAL mode and a busy timeout let two commands share it; every change is one
transaction, so a killed process leaves either the whole record or none of it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS issued (
    id INTEGER PRIMARY KEY,
    template TEXT NOT NULL,
    template_version TEXT NOT NULL,
    kind TEXT NOT NULL,
    year TEXT NOT NULL,
    quarter INTEGER,
    partnership TEXT NOT NULL,
    host_school TEXT NOT NULL,
    urn TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    prefill_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS issued_period ON issued (kind, year, quarter, partnership);
CREATE TABLE IF NOT EXISTS received (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    original_name TEXT NOT NULL,
    archive_path TEXT NOT NULL,
    received_at TEXT NOT NULL,
    kind TEXT,
    year TEXT,
    quarter INTEGER,
    partnership TEXT,
    token TEXT,
    version INTEGER,
    status TEXT NOT NULL,
    findings_json TEXT NOT NULL,
    values_json TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS received_once ON received (sha256);
CREATE UNIQUE INDEX IF NOT EXISTS received_version ON received (kind, year, quarter, partnership, version);
"""

# ---- The email trail (issue 14): NEW tables only, nothing above changes. At merge this
# block becomes one numbered migration. Every message file ingested (.eml, .msg), and which
# received file came attached to which message, under what attachment name. Read and written
# by mail_ledger.py.
EMAIL_TRAIL_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    archive_path TEXT NOT NULL,
    format TEXT NOT NULL,
    sender TEXT,
    sender_name TEXT,
    sent_at TEXT,
    date_text TEXT,
    subject TEXT,
    message_id TEXT,
    received_at TEXT NOT NULL,
    findings_json TEXT NOT NULL,
    notes_json TEXT NOT NULL,
    reply_path TEXT
);
CREATE TABLE IF NOT EXISTS message_attachments (
    message INTEGER NOT NULL REFERENCES messages (id),
    received INTEGER NOT NULL REFERENCES received (id),
    attachment_name TEXT NOT NULL,
    PRIMARY KEY (message, received)
);
CREATE INDEX IF NOT EXISTS message_attachments_received ON message_attachments (received);
"""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Issued:
    template: str
    template_version: str
    kind: str
    year: str
    quarter: int | None
    partnership: str
    host_school: str
    urn: str
    token: str
    file_name: str
    sha256: str
    issued_at: str
    prefill_json: str = "{}"


class Ledger:
    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        if not path.parent.is_dir():
            raise ConfigError(f"{path.parent} is missing: is this a pbp workspace? Run 'pbp init'")
        self.path = path
        self.conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self._retry(lambda: self.conn.execute("PRAGMA journal_mode=WAL"))
        # WAL + NORMAL: a killed process never loses a committed transaction; only a
        # power cut could lose the last few, and received files stay in the archive.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        with self.transaction() as c:
            for stmt in filter(str.strip, (SCHEMA + EMAIL_TRAIL_SCHEMA).split(";")):
                c.execute(stmt)
            c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    @staticmethod
    def _retry(fn: Any, attempts: int = 50) -> Any:
        for i in range(attempts):
            try:
                return fn()
            except sqlite3.OperationalError as err:
                if ("locked" not in str(err) and "busy" not in str(err)) or i == attempts - 1:
                    raise
                time.sleep(0.05 * (i + 1))
        return None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; a concurrent writer waits (busy timeout) instead of failing."""
        self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ issued

    def record_issued(self, rows: list[Issued]) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO issued (template, template_version, kind, year, quarter, partnership, host_school,"
                " urn, token, file_name, sha256, issued_at, prefill_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(r.template, r.template_version, r.kind, r.year, r.quarter, r.partnership, r.host_school,
                  r.urn, r.token, r.file_name, r.sha256, r.issued_at, r.prefill_json) for r in rows],
            )

    def issued_by_token(self, token: str) -> Issued | None:
        row = self.conn.execute("SELECT * FROM issued WHERE token = ?", (token,)).fetchone()
        return None if row is None else _issued(row)

    def issued_for(self, kind: str, year: str, quarter: int | None) -> list[Issued]:
        rows = self.conn.execute(
            "SELECT * FROM issued WHERE kind = ? AND year = ? AND quarter IS ? ORDER BY id", (kind, year, quarter)
        ).fetchall()
        return [_issued(r) for r in rows]


def _issued(row: sqlite3.Row) -> Issued:
    return Issued(**{k: row[k] for k in Issued.__dataclass_fields__})


@dataclass(frozen=True)
class Received:
    id: int
    sha256: str
    original_name: str
    archive_path: str
    received_at: str
    kind: str | None
    year: str | None
    quarter: int | None
    partnership: str | None
    token: str | None
    version: int | None
    status: str
    findings_json: str
    values_json: str | None


def _received(row: sqlite3.Row) -> Received:
    return Received(**{k: row[k] for k in Received.__dataclass_fields__})


def received_by_sha(conn: sqlite3.Connection, sha256: str) -> Received | None:
    row = conn.execute("SELECT * FROM received WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else _received(row)


def record_received(ledger: Ledger, *, sha256: str, original_name: str, archive_path: str, kind: str | None,
                    year: str | None, quarter: int | None, partnership: str | None, token: str | None,
                    status: str, findings_json: str, values_json: str | None,
                    before_insert: Callable[[int | None], object] | None = None) -> tuple[Received, bool]:
    """Record a received file once. Returns (record, new). The check for the same bytes
    and the next version number are taken inside one write transaction, so two
    ingests running at once cannot both record a file or reuse a version.
    ``before_insert(version)`` runs inside that transaction, only for a new file: what it
    writes (the feedback workbook) carries the version the record gets, and a failure
    there records nothing."""
    with ledger.transaction() as c:
        existing = received_by_sha(c, sha256)
        if existing is not None:
            return existing, False
        version = None
        if partnership is not None:
            row = c.execute("SELECT MAX(version) FROM received WHERE kind IS ? AND year IS ? AND quarter IS ?"
                            " AND partnership IS ?", (kind, year, quarter, partnership)).fetchone()
            version = (row[0] or 0) + 1
        if before_insert is not None:
            before_insert(version)
        cur = c.execute(
            "INSERT INTO received (sha256, original_name, archive_path, received_at, kind, year, quarter, partnership,"
            " token, version, status, findings_json, values_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (sha256, original_name, archive_path, now(), kind, year, quarter, partnership, token, version, status,
             findings_json, values_json))
        row = c.execute("SELECT * FROM received WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _received(row), True


def received_for(ledger: Ledger, kind: str, year: str, quarter: int | None) -> list[Received]:
    rows = ledger.conn.execute("SELECT * FROM received WHERE kind = ? AND year = ? AND quarter IS ? ORDER BY id",
                               (kind, year, quarter)).fetchall()
    return [_received(r) for r in rows]


def official(ledger: Ledger, kind: str, year: str, quarter: int | None, partnership: str) -> Received | None:
    """The latest accepted version: the LA's official return for that provision and period."""
    row = ledger.conn.execute(
        "SELECT * FROM received WHERE kind = ? AND year = ? AND quarter IS ? AND partnership = ?"
        " AND status IN ('accepted', 'accepted_with_warnings') ORDER BY version DESC LIMIT 1",
        (kind, year, quarter, partnership)).fetchone()
    return None if row is None else _received(row)
