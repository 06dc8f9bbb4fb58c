"""The email trail in the ledger: every message file ingested, and which received file came
attached to which message under what name (tables ``messages`` and ``message_attachments``,
created with the ledger: ``ledger.EMAIL_TRAIL_SCHEMA``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pbp_workbooks.ledger.store import Ledger, now
from pbp_workbooks.spec.findings import Finding


@dataclass(frozen=True)
class MessageRecord:
    id: int
    sha256: str
    original_name: str
    archive_path: str
    format: str
    sender: str | None
    sender_name: str | None
    sent_at: str | None
    date_text: str | None
    subject: str | None
    message_id: str | None
    received_at: str
    findings_json: str
    notes_json: str
    reply_path: str | None


def _record(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(**{k: row[k] for k in MessageRecord.__dataclass_fields__})


def message_by_sha(conn: sqlite3.Connection, sha256: str) -> MessageRecord | None:
    row = conn.execute("SELECT * FROM messages WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else _record(row)


class MessageFacts(Protocol):
    """What the trail keeps of a parsed message (intake's ``mail_intake.Mail`` has these)."""

    @property
    def format(self) -> str: ...
    @property
    def sender(self) -> str | None: ...
    @property
    def sender_name(self) -> str | None: ...
    @property
    def date(self) -> datetime | None: ...
    @property
    def date_text(self) -> str | None: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def problems(self) -> Sequence[Finding]: ...
    @property
    def notes(self) -> Sequence[str]: ...


def record_message(ledger: Ledger, *, sha256: str, original_name: str, archive_path: str, mail: MessageFacts,
                   attachments: Sequence[tuple[str, str]],
                   before_insert: Callable[[], str | None] | None = None) -> tuple[MessageRecord, bool]:
    """Record a message file once, with a link to the received record of each attachment
    ((received sha256, attachment name)), in one transaction. Returns (record, new).
    ``before_insert()`` runs inside it, only for a new message, and returns the reply
    draft's path: the draft exists exactly when the message is recorded."""
    with ledger.transaction() as c:
        existing = message_by_sha(c, sha256)
        if existing is not None:
            return existing, False
        reply = before_insert() if before_insert is not None else None
        cur = c.execute(
            "INSERT INTO messages (sha256, original_name, archive_path, format, sender, sender_name, sent_at, date_text,"
            " subject, message_id, received_at, findings_json, notes_json, reply_path)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (sha256, original_name, archive_path, mail.format, mail.sender, mail.sender_name,
             mail.date.isoformat() if mail.date else None, mail.date_text, mail.subject, mail.message_id, now(),
             json.dumps([f.to_json() for f in mail.problems]), json.dumps(mail.notes), reply))
        message = cur.lastrowid
        for received_sha, name in attachments:
            row = c.execute("SELECT id FROM received WHERE sha256 = ?", (received_sha,)).fetchone()
            if row is not None:
                c.execute("INSERT OR IGNORE INTO message_attachments (message, received, attachment_name)"
                          " VALUES (?,?,?)", (message, row[0], name))
        return _record(c.execute("SELECT * FROM messages WHERE id = ?", (message,)).fetchone()), True


@dataclass(frozen=True)
class Arrival:
    """How one received version arrived: by email (sender, date, subject, attachment) or as a file."""

    partnership: str
    version: int | None
    status: str
    received_at: str
    file: str
    sender: str | None = None
    sender_name: str | None = None
    sent_at: str | None = None
    subject: str | None = None
    attachment: str | None = None
    message_file: str | None = None

    def to_json(self) -> dict[str, Any]:
        email = None
        if self.message_file is not None:
            email = {"from": self.sender, "sender_name": self.sender_name, "date": self.sent_at,
                     "subject": self.subject, "attachment": self.attachment, "message_file": self.message_file}
        return {"version": self.version, "status": self.status, "received_at": self.received_at, "file": self.file,
                "email": email}


def arrival_line(v: dict[str, Any]) -> str:
    """One version's arrival (``Arrival.to_json()``) in words, for ``pbp status --trail``."""
    when = str(v["received_at"])[:16].replace("T", " ")
    how = f"file {v['file']!r}"
    email = v.get("email")
    if email:
        who = email["from"] or "no sender"
        if email.get("sender_name"):
            who = f"{email['sender_name']} <{who}>"
        how = (f"email from {who}" + (f", {email['subject']!r}" if email.get("subject") else "")
               + f", attachment {email['attachment']!r}")
    return f"v{v['version']} {str(v['status']).replace('_', ' ')}: received {when} UTC, {how}"


def arrivals(ledger: Ledger, kind: str, year: str, quarter: int | None) -> dict[str, list[Arrival]]:
    """Per partnership, each version of the period's returns in order, with the first email it came in."""
    out: dict[str, list[Arrival]] = {}
    for (partnership, _subject), found in arrivals_by_subject(ledger, kind, year, quarter).items():
        out.setdefault(partnership, []).extend(found)
    return out


def arrivals_by_subject(ledger: Ledger, kind: str, year: str, quarter: int | None
                        ) -> dict[tuple[str, str], list[Arrival]]:
    """As ``arrivals``, per (partnership, subject): a return issued to each member school has its
    own versions (ledger migration 3)."""
    rows = ledger.conn.execute(
        "SELECT r.partnership, r.subject AS recipient, r.version, r.status, r.received_at, r.original_name, m.sender,"
        " m.sender_name, m.sent_at, m.subject, a.attachment_name, m.original_name AS message_file"
        " FROM received r"
        " LEFT JOIN message_attachments a ON a.received = r.id"
        " AND a.message = (SELECT MIN(message) FROM message_attachments WHERE received = r.id)"
        " LEFT JOIN messages m ON m.id = a.message"
        " WHERE r.kind = ? AND r.year = ? AND r.quarter IS ? ORDER BY r.partnership, r.subject, r.version",
        (kind, year, quarter)).fetchall()
    out: dict[tuple[str, str], list[Arrival]] = {}
    for r in rows:
        out.setdefault((r["partnership"], r["recipient"]), []).append(Arrival(
            r["partnership"], r["version"], r["status"], r["received_at"], r["original_name"], r["sender"],
            r["sender_name"], r["sent_at"], r["subject"], r["attachment_name"], r["message_file"]))
    return out
