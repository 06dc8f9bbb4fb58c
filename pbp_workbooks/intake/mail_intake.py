"""E-mail messages that carry returns, read into who sent them, when, the subject and the
workbooks attached: an .eml with the standard library's ``email`` package, an Outlook .msg
with extract-msg (imported only when one arrives).

Workbooks are found wherever a mail client would show them: attached to the message, inside
a .zip attachment (opened under the same entry and size limits as an xlsx, by
``xlsx_safe.zip_entries``) or inside an attached message (a forward), a few levels deep.
Anything else attached (pictures, PDFs, signatures) is named, not taken.

Nothing here writes a file. An attachment's name is text for people (the ledger, the
reply): it is cleaned of control characters and of any folder part, and never used as a
path. Every problem is a finding with an ``M-`` code or a note; nothing raises.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any

from pbp_workbooks.base.errors import UnreadableFile
from pbp_workbooks.intake.xlsx_safe import Limits, zip_entries
from pbp_workbooks.spec import registry
from pbp_workbooks.spec.findings import Finding

MESSAGE_SUFFIXES = (".eml", ".msg")
# Spreadsheets of any kind are taken: the workbook path says what is wrong with an .xls or a .csv.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv")
WORKBOOK_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel",
    "application/vnd.ms-excel.sheet.macroenabled.12", "application/vnd.ms-excel.sheet.binary.macroenabled.12",
    "application/vnd.oasis.opendocument.spreadsheet", "text/csv",
})
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed", "application/x-zip"})
MAX_DEPTH = 3  # a message attached to a message attached to a message
MAX_PARTS = 500  # MIME parts walked in one message, nested messages included

logging.getLogger("extract_msg").addHandler(logging.NullHandler())  # its warnings are ours to report, not print


def mail_problem(code: str, detail: str) -> Finding:
    return Finding(code, "error", registry.rule(code).message.replace("{detail}", clean(detail, 200)))


def is_message(name: str) -> bool:
    return name.lower().endswith(MESSAGE_SUFFIXES)


@dataclass(frozen=True)
class Attachment:
    """A workbook found in a message: ``name`` for people ('returns.zip › North.xlsx')."""

    name: str
    data: bytes

    @property
    def suffix(self) -> str:
        """The archive copy's suffix: the name's, when it is a plain one."""
        s = PurePosixPath(self.name.rsplit(" › ", 1)[-1]).suffix.lower()
        return s if re.fullmatch(r"\.[a-z0-9]{1,8}", s) else ""


@dataclass
class Mail:
    """What one message file holds. ``problems`` (M- findings) say why nothing, or not
    everything, could be taken; ``notes`` are oddities that stop nothing."""

    format: str  # eml | msg
    sender: str | None = None  # the address replies go to
    sender_name: str | None = None
    date: datetime | None = None
    date_text: str | None = None
    subject: str | None = None
    message_id: str | None = None
    workbooks: list[Attachment] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # everything else attached, in words
    notes: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)

    def settle(self) -> Mail:
        if not self.workbooks and not self.problems:
            if not self.others:
                has = "it has no attachments at all"
            elif len(self.others) == 1:
                has = f"its only attachment is {self.others[0]}"
            else:
                has = f"its {len(self.others)} attachments are {_listed(self.others)}"
            self.problems.append(mail_problem("M-E001", has))
        if self.sender is None and not any(p.code in ("M-E002", "M-E003") for p in self.problems):
            self.notes.append("it has no sender address: the reply draft has no recipient; fill it in before sending")
        return self


# --------------------------------------------------------------------------- text from headers

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]+")


def clean(text: str, limit: int = 200) -> str:
    """One line of printable text (control and direction-changing characters removed)."""
    s = " ".join(_CONTROL.sub(" ", text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _decode_bytes(raw: bytes, charset: str | None) -> str:
    for cs in (charset, "utf-8"):
        if cs and cs != "unknown-8bit":
            try:
                return raw.decode(cs)
            except (LookupError, UnicodeDecodeError):
                continue
    return raw.decode("cp1252", "replace")


def header_text(value: Any) -> str | None:
    """A header as text, whatever its encoding (RFC 2047 words, raw 8-bit bytes, an unknown
    charset); None when absent or blank."""
    if value is None:
        return None
    try:
        chunks = decode_header(value)
    except Exception:  # a malformed encoded word: keep the text as it came  # noqa: BLE001
        chunks = [(str(value), None)]
    text = "".join(_decode_bytes(c, cs) if isinstance(c, bytes) else str(c) for c, cs in chunks)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return clean(text, 300) or None


def sender_of(from_text: str | None, reply_to: str | None = None) -> tuple[str | None, str | None]:
    """(address, name) replies go to: the Reply-To address if it is one, else From's."""
    name = None
    for text in (reply_to, from_text):
        if not text:
            continue
        for display, addr in getaddresses([text]):
            addr = addr.strip()
            if re.fullmatch(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+", addr):
                if name is None:
                    name = clean(display, 80) or None
                return addr, name
    return None, None


def parse_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else None  # "-0000" (zone unknown) is not a time we can place


def attachment_name(raw: str | None, n: int) -> str:
    """The name shown for an attachment: its last path component, cleaned; a made-up one if it has none."""
    text = clean(raw or "", 300)
    text = re.split(r"[/\\]", text)[-1].strip().lstrip(".").strip()
    return clean(text, 120) if text else f"attachment {n} (no name)"


def _kind_of(name: str, ctype: str) -> str:
    low = name.lower()
    if ctype.startswith("image/") or low.endswith((".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".bmp")):
        return "a picture"
    if ctype == "application/pdf" or low.endswith(".pdf"):
        return "a PDF"
    if low.endswith((".doc", ".docx", ".rtf", ".odt")) or "word" in ctype:
        return "a document"
    if low.endswith((".ics", ".vcs")) or ctype == "text/calendar":
        return "a calendar invitation"
    return "a file"


def _listed(others: list[str]) -> str:
    shown = others[:6]
    more = f" and {len(others) - 6} more" if len(others) > 6 else ""
    return ", ".join(shown) + more


def _is_workbook(name: str, ctype: str, data: bytes) -> bool:
    if name.lower().endswith(WORKBOOK_SUFFIXES) or ctype in WORKBOOK_TYPES:
        return True
    # a workbook sent under another name or none ("ATT00001.bin"): an xlsx is a zip with xl/ inside
    return data.startswith(b"PK\x03\x04") and b"xl/workbook" in data


def _is_zip(name: str, ctype: str, data: bytes) -> bool:
    return data.startswith((b"PK\x03\x04", b"PK\x05\x06")) and (name.lower().endswith(".zip") or ctype in ZIP_TYPES)


# --------------------------------------------------------------------------- one attachment, wherever it came from


class _Walk:
    """Collects what a message holds into a Mail, counting the parts it walks."""

    def __init__(self, mail: Mail, limits: Limits) -> None:
        self.mail, self.limits, self.parts = mail, limits, 0

    def take(self, prefix: str, raw_name: str | None, ctype: str, data: bytes | None, depth: int) -> None:
        """One attached file: a workbook, a zip of them, a message, or something else to name."""
        self.parts += 1
        name = attachment_name(raw_name, self.parts)
        shown = prefix + name
        if raw_name and name != clean(raw_name, 300):
            self.mail.notes.append(f"the attachment name {clean(raw_name, 80)!r} was sent with a folder part or hidden "
                                   f"characters; it is shown as {name!r} and never used as a path")
        if data is None:
            self.mail.others.append(f"{shown!r} ({_kind_of(name, ctype)} that could not be read)")
            return
        low = name.lower()
        if ctype == "message/rfc822" or low.endswith(".eml"):
            self.nested(shown, lambda: message_from_bytes(data, policy=compat32), "eml", depth)
        elif low.endswith(".msg") and data.startswith(b"\xd0\xcf\x11\xe0"):
            self.nested(shown, lambda: _open_msg(data), "msg", depth)
        elif _is_workbook(name, ctype, data):
            self.mail.workbooks.append(Attachment(shown, data))
        elif _is_zip(name, ctype, data):
            self.unzip(shown, data)
        else:
            self.mail.others.append(f"{shown!r} ({_kind_of(name, ctype)})")

    def unzip(self, shown: str, data: bytes) -> None:
        try:
            entries = zip_entries(data, self.limits, lambda n: n.lower().endswith(WORKBOOK_SUFFIXES))
        except UnreadableFile as err:
            title = registry.rule(err.code).title
            self.mail.problems.append(mail_problem("M-E004", f"{shown!r} ({title}, {err.code})"))
            return
        if not entries:
            self.mail.others.append(f"{shown!r} (a zip file with no workbook in it)")
        for entry, content in entries:
            self.mail.workbooks.append(Attachment(f"{shown} › {attachment_name(entry, self.parts)}", content))

    def nested(self, shown: str, parse: Callable[[], Any], fmt: str, depth: int) -> None:
        if depth >= MAX_DEPTH:
            self.mail.others.append(f"{shown!r} (a message nested more than {MAX_DEPTH} deep, not opened)")
            return
        try:
            inner = parse()
        except Exception as err:  # noqa: BLE001 - a damaged attached message is named, not a crash
            self.mail.others.append(f"{shown!r} (an attached message that could not be read: {clean(str(err), 60)})")
            return
        prefix = f"{shown} › "
        if fmt == "eml":
            self.eml_parts(inner, prefix, depth + 1)
        else:
            try:
                self.msg_parts(inner, prefix, depth + 1)
            finally:
                inner.close()

    # ------------------------------------------------------------------ .eml

    def eml_parts(self, msg: Message, prefix: str, depth: int) -> None:
        stack = [msg]
        while stack:
            part = stack.pop(0)
            if self.parts >= MAX_PARTS:
                self.mail.notes.append(f"it has more than {MAX_PARTS} parts; only the first {MAX_PARTS} were looked at")
                return
            ctype = part.get_content_type().lower()
            payload: Any = part.get_payload()
            if ctype == "message/rfc822" and isinstance(payload, list):
                inner = payload[0] if payload and isinstance(payload[0], Message) else None
                self.parts += 1
                if inner is None:
                    continue
                label = attachment_name(part.get_filename() or header_text(inner.get("Subject"))
                                        or "attached message", self.parts)
                if depth >= MAX_DEPTH:
                    self.mail.others.append(f"{prefix + label!r} (a message nested more than {MAX_DEPTH} deep, not "
                                            "opened)")
                else:
                    self.eml_parts(inner, f"{prefix}{label} › ", depth + 1)
                continue
            if part.is_multipart():
                stack[0:0] = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
                continue
            filename = _filename(part)
            disposition = (part.get_content_disposition() or "").lower()
            if filename is None and disposition != "attachment" and ctype.startswith("text/"):
                continue  # the message's own text (a one-part message whose body is a workbook is taken)
            data = part.get_payload(decode=True)
            self.take(prefix, filename, ctype, data if isinstance(data, bytes) else None, depth)

    # ------------------------------------------------------------------ .msg

    def msg_parts(self, msg: Any, prefix: str, depth: int) -> None:
        from extract_msg.enums import AttachmentType

        for att in list(getattr(msg, "attachments", None) or []):
            if self.parts >= MAX_PARTS:
                return
            raw_name = _first(att, "longFilename", "shortFilename", "displayName")
            ctype = (getattr(att, "mimetype", None) or "").lower()
            kind = getattr(att, "type", None)
            data = _safely(lambda a=att: a.data)  # type: ignore[misc]
            if kind == AttachmentType.MSG and data is not None and not isinstance(data, bytes):
                self.parts += 1
                label = attachment_name(raw_name or _first(data, "subject") or "attached message", self.parts)
                if depth >= MAX_DEPTH:
                    self.mail.others.append(f"{prefix + label!r} (a message nested more than {MAX_DEPTH} deep)")
                else:
                    self.msg_parts(data, f"{prefix}{label} › ", depth + 1)
                continue
            self.take(prefix, raw_name, ctype, data if isinstance(data, bytes) else None, depth)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename() or part.get_param("name", header="content-type")
    except Exception:  # noqa: BLE001 - a malformed parameter: treat as no name
        return None
    if isinstance(name, tuple):  # RFC 2231 (charset, language, value)
        name = _decode_bytes(name[2].encode("latin-1", "replace"), name[0])
    return header_text(name) if name else None


def _first(obj: Any, *names: str) -> str | None:
    for n in names:
        v = _safely(lambda n=n: getattr(obj, n, None))  # type: ignore[misc]
        if isinstance(v, str) and v.strip():
            return v
    return None


def _safely(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - extract-msg raises many kinds on damaged files
        return None


# --------------------------------------------------------------------------- whole messages


def read_eml(data: bytes, limits: Limits) -> Mail:
    mail = Mail("eml")
    try:
        msg = message_from_bytes(data, policy=compat32)
    except Exception as err:  # noqa: BLE001 - the email package is lenient; anything left is "unreadable"
        mail.problems.append(mail_problem("M-E003", f"{type(err).__name__}"))
        return mail
    if not msg.keys():
        mail.problems.append(mail_problem("M-E003", "it has no email headers"))
        return mail
    mail.sender, mail.sender_name = sender_of(header_text(msg.get("From")), header_text(msg.get("Reply-To")))
    mail.date_text = header_text(msg.get("Date"))
    mail.date = parse_date(mail.date_text)
    mail.subject = header_text(msg.get("Subject"))
    mail.message_id = _message_id(header_text(msg.get("Message-ID")))
    walk = _Walk(mail, limits)
    try:
        walk.eml_parts(msg, "", 0)
    except RecursionError:
        mail.problems.append(mail_problem("M-E003", "its parts are nested too deeply"))
    defects = {type(d).__name__ for part in msg.walk() for d in part.defects} | {type(d).__name__ for d in msg.defects}
    if defects:
        mail.notes.append(f"its MIME structure is damaged ({', '.join(sorted(defects)[:3])}); what could be read "
                          "was taken")
    _note_date(mail)
    return mail


def _open_msg(data: bytes) -> Any:
    import extract_msg

    return extract_msg.openMsg(data, strict=False, delayAttachments=True)


def read_msg(data: bytes, limits: Limits) -> Mail:
    mail = Mail("msg")
    try:
        msg = _open_msg(data)
    except Exception as err:  # noqa: BLE001 - not an Outlook message, or a damaged one
        mail.problems.append(mail_problem("M-E003", f"not an Outlook message: {clean(str(err), 80)}"))
        return mail
    try:
        header = _safely(lambda: msg.header)
        head = (lambda k: header_text(_safely(lambda: header.get(k)))) if header is not None else (lambda k: None)
        sender = _safely(lambda: msg.sender)  # "Name <address>", or an Exchange name with no address in it
        for text in (sender if isinstance(sender, str) else None, head("From")):
            mail.sender, mail.sender_name = sender_of(text, head("Reply-To"))
            if mail.sender:
                break
        when = _safely(lambda: msg.date)
        mail.date = when if isinstance(when, datetime) and when.tzinfo is not None else None
        mail.date_text = head("Date") or (when.isoformat() if isinstance(when, datetime) else None)
        subject = _safely(lambda: msg.subject)
        mail.subject = clean(subject, 300) if isinstance(subject, str) and subject.strip() else None
        mail.message_id = _message_id(_first(msg, "messageId") or head("Message-ID"))
        _Walk(mail, limits).msg_parts(msg, "", 0)
    except Exception as err:  # noqa: BLE001 - keep what was read; say what stopped it
        mail.problems.append(mail_problem("M-E003", f"the Outlook message is damaged: {clean(str(err), 80)}"))
    finally:
        _safely(msg.close)
    _note_date(mail)
    return mail


def _note_date(mail: Mail) -> None:
    if mail.date is None:
        said = f"the date {mail.date_text!r} could not be read" if mail.date_text else "it carries no date"
        mail.notes.append(f"{said}; the time it was ingested is used")


def _message_id(text: str | None) -> str | None:
    if not text:
        return None
    m = re.search(r"<[^<>\s]{1,250}>", text)
    return m.group() if m else None


def read_mail(name: str, data: bytes, limits: Limits) -> Mail:
    """The message in ``data`` (``name`` says which kind: .msg or .eml), settled: a message
    with no workbook has its M-E001."""
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") or name.lower().endswith(".msg"):
        mail = read_msg(data, limits)
    else:
        mail = read_eml(data, limits)
    return mail.settle()


def too_large(fmt: str, size_text: str) -> Mail:
    return Mail(fmt, problems=[mail_problem("M-E002", size_text)]).settle()
