"""The ledger: a SQLite database in .pbp/ recording every issued and received workbook.

WAL mode and a busy timeout let two commands share it; every change is one
transaction, so a killed process leaves either the whole record or none of it.

**Schema versions and migrations.** ``meta.schema_version`` says which of ``MIGRATIONS``
a ledger has had. Opening a ledger reads it and applies the missing migrations in
order, all in one transaction with the new version number (a crash leaves the ledger
as it was); a ledger newer than this code is refused (``ConfigError``, exit 2) rather
than written to by code that does not know its tables. A new workspace is migration 1
onwards, like any other.

To change the schema, append one entry to ``MIGRATIONS`` and never edit a released one::

    (2, "the emails the LA received",
     "CREATE TABLE email (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, received_at TEXT NOT NULL)"),

The third item is SQL (statements separated by ``;``) or a function taking the open
``sqlite3.Connection`` (for a change SQL alone cannot express, e.g. rewriting stored
JSON). ``SCHEMA_VERSION`` follows from the list. Add a test opening a ledger of the
previous version (``tests/fixtures/ledger-v1/`` was made by the first release).
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

from pbp_workbooks.base.errors import ConfigError

BASELINE = """
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

# Migration 2, the email trail (issue 14): every message file ingested (.eml, .msg), and which
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


# Migration 3, returns issued to each member school (the SLA review, issue 16): ``subject`` is the
# school a workbook is for when its spec is issued per member school (the school's URN), and ''
# for the returns issued once per provision. Versions are counted per partnership and subject.
SUBJECT_SCHEMA = """
ALTER TABLE issued ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE received ADD COLUMN subject TEXT NOT NULL DEFAULT '';
DROP INDEX IF EXISTS received_version;
CREATE UNIQUE INDEX received_version ON received (kind, year, quarter, partnership, subject, version);
DROP INDEX IF EXISTS issued_period;
CREATE INDEX issued_period ON issued (kind, year, quarter, partnership, subject);
"""


Migration = tuple[int, str, str | Callable[[sqlite3.Connection], None]]

# (number, what it adds, SQL or a function). Append only; numbers run 1, 2, 3 ...
MIGRATIONS: list[Migration] = [
    (1, "issued and received workbooks (the first release's schema)", BASELINE),
    (2, "the email trail: messages ingested and the workbooks attached to them", EMAIL_TRAIL_SCHEMA),
    (3, "returns issued to each member school: the school (subject) of an issued and a received workbook",
     SUBJECT_SCHEMA),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def statements(sql: str) -> list[str]:
    """Split a migration's SQL into complete statements (a ';' inside a trigger body or a
    string does not end one)."""
    out: list[str] = []
    pending = ""
    for part in sql.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement in a ledger migration: {pending.strip()[:60]!r}")
    return out


def schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The ledger's migration number: 0 for a new (empty) database."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        return 0
    try:
        return int(row[0])
    except ValueError:
        raise ConfigError(f"{path} has schema version {row[0]!r}, not a number: it was not written by pbp-workbooks;"
                          " restore it from a backup") from None


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the ledger to ``SCHEMA_VERSION``; call inside a write transaction."""
    found = schema_version(conn, path)
    if found > SCHEMA_VERSION:
        raise ConfigError(f"{path} was written by a newer pbp-workbooks (ledger schema {found}; this version reads up "
                          f"to {SCHEMA_VERSION}): upgrade pbp-workbooks with 'pip install -U pbp-workbooks'")
    if found == SCHEMA_VERSION:
        return
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for number, _what, change in MIGRATIONS:
        if number <= found:
            continue
        if callable(change):
            change(conn)
        else:
            for stmt in statements(change):
                conn.execute(stmt)
    conn.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (str(SCHEMA_VERSION),))


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
    subject: str = ""  # the member school's URN for a return issued per member school, else ''


DEFAULT_TIMEOUT = 30.0  # seconds to wait for another command that holds the ledger


def ledger_error(path: Path, err: sqlite3.Error) -> ConfigError:
    """A ledger that cannot be used, in one line naming it (a configuration error, exit 2)."""
    text = str(err)
    if "locked" in text or "busy" in text:
        return ConfigError(f"{path} is locked by another program (another pbp command, a backup or a sync tool): "
                           "wait for it to finish, then run the command again")
    if isinstance(err, sqlite3.DatabaseError) and ("not a database" in text or "malformed" in text):
        return ConfigError(f"{path} is damaged or is not a pbp ledger ({text}): restore it from a backup; "
                           "the files received are kept byte for byte in .pbp/archive/")
    return ConfigError(f"{path} cannot be used ({text}): check it is the workspace's ledger and that you may "
                       "write to it")


class Ledger:
    def __init__(self, path: Path, *, timeout: float | None = None) -> None:
        if not path.parent.is_dir():
            raise ConfigError(f"{path.parent} is missing: is this a pbp workspace? Run 'pbp init'")
        self.path = path
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        try:
            self.conn = sqlite3.connect(path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as err:
            raise ledger_error(path, err) from None
        self.conn.row_factory = sqlite3.Row
        try:
            self._open(path)
        except sqlite3.IntegrityError:  # a bug in a migration, not a damaged or locked ledger
            self.conn.close()
            raise
        except sqlite3.Error as err:
            self.conn.close()
            raise ledger_error(path, err) from None
        except BaseException:
            self.conn.close()
            raise

    def _open(self, path: Path) -> None:
        self._retry(lambda: self.conn.execute("PRAGMA journal_mode=WAL"))
        # WAL + NORMAL: a killed process never loses a committed transaction; only a
        # power cut could lose the last few, and received files stay in the archive.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        # Read the version without a write lock (the usual case: nothing to do), then
        # migrate under one; the version is read again there, as another process may have
        # migrated in between.
        if self._retry(lambda: schema_version(self.conn, path)) != SCHEMA_VERSION:
            with self.transaction() as c:
                migrate(c, path)

    def _retry(self, fn: Any) -> Any:
        """``fn``, tried again while another connection holds the ledger, for ``timeout`` seconds
        in all; then a ConfigError that says so."""
        deadline = time.monotonic() + self.timeout
        i = 0
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                if time.monotonic() >= deadline:
                    raise ledger_error(self.path, err) from None
                i += 1
                time.sleep(min(0.05 * i, 1.0))

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

    def record_issued(self, rows: list[Issued], before_commit: Callable[[], object] | None = None) -> None:
        """Record issued workbooks in one transaction. ``before_commit`` runs inside it (generate
        puts the workbook in place there): if it fails, nothing is recorded."""
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO issued (template, template_version, kind, year, quarter, partnership, host_school,"
                " urn, token, file_name, sha256, issued_at, prefill_json, subject)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(r.template, r.template_version, r.kind, r.year, r.quarter, r.partnership, r.host_school,
                  r.urn, r.token, r.file_name, r.sha256, r.issued_at, r.prefill_json, r.subject) for r in rows],
            )
            if before_commit is not None:
                before_commit()

    def issued_by_token(self, token: str) -> Issued | None:
        row = self.conn.execute("SELECT * FROM issued WHERE token = ?", (token,)).fetchone()
        return None if row is None else _issued(row)

    def superseded_by(self, token: str) -> Issued | None:
        """The workbook that replaced the one issued with ``token`` (``pbp generate --reissue``):
        the latest issued after it for the same provision and period. Derived from the issue
        records, so nothing is stored twice."""
        row = self.conn.execute(
            "SELECT later.* FROM issued AS old JOIN issued AS later ON later.kind = old.kind AND later.year = old.year"
            " AND later.quarter IS old.quarter AND later.partnership = old.partnership COLLATE NOCASE"
            " AND later.subject = old.subject"
            " AND later.id > old.id WHERE old.token = ? ORDER BY later.id DESC LIMIT 1", (token,)).fetchone()
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
    subject: str = ""  # as Issued.subject


def _received(row: sqlite3.Row) -> Received:
    return Received(**{k: row[k] for k in Received.__dataclass_fields__})


def received_by_sha(conn: sqlite3.Connection, sha256: str) -> Received | None:
    row = conn.execute("SELECT * FROM received WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else _received(row)


def record_received(ledger: Ledger, *, sha256: str, original_name: str, archive_path: str, kind: str | None,
                    year: str | None, quarter: int | None, partnership: str | None, token: str | None,
                    status: str, findings_json: str, values_json: str | None, subject: str = "",
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
                            " AND partnership IS ? AND subject = ?", (kind, year, quarter, partnership, subject)
                            ).fetchone()
            version = (row[0] or 0) + 1
        if before_insert is not None:
            before_insert(version)
        cur = c.execute(
            "INSERT INTO received (sha256, original_name, archive_path, received_at, kind, year, quarter, partnership,"
            " token, version, status, findings_json, values_json, subject) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (sha256, original_name, archive_path, now(), kind, year, quarter, partnership, token, version, status,
             findings_json, values_json, subject))
        row = c.execute("SELECT * FROM received WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _received(row), True


def received_for(ledger: Ledger, kind: str, year: str, quarter: int | None) -> list[Received]:
    rows = ledger.conn.execute("SELECT * FROM received WHERE kind = ? AND year = ? AND quarter IS ? ORDER BY id",
                               (kind, year, quarter)).fetchall()
    return [_received(r) for r in rows]


def official(ledger: Ledger, kind: str, year: str, quarter: int | None, partnership: str,
             subject: str = "") -> Received | None:
    """The latest accepted version: the LA's official return for that provision (or member
    school: ``subject``) and period."""
    row = ledger.conn.execute(
        "SELECT * FROM received WHERE kind = ? AND year = ? AND quarter IS ? AND partnership = ? AND subject = ?"
        " AND status IN ('accepted', 'accepted_with_warnings') ORDER BY version DESC LIMIT 1",
        (kind, year, quarter, partnership, subject)).fetchone()
    return None if row is None else _received(row)
