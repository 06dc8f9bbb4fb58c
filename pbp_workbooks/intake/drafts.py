"""Reply and reminder drafts: .eml files with ``X-Unsent: 1``, which Outlook and Thunderbird
open as a draft ready to send. No mail server: a person reads, edits and sends them from
their own mail program.

Text that came from a message (subject, names) is cleaned to one line before it goes into a
header, so a received subject cannot add headers to the draft; addresses are checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr
from pathlib import Path

from pbp_workbooks.base.config import Config
from pbp_workbooks.base.filenames import write_atomic
from pbp_workbooks.intake.mail_intake import clean
from pbp_workbooks.spec.findings import FileReport, Finding

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_POLICY = compat32.clone(linesep="\r\n", max_line_length=998)
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in a text editor, 7-bit safe
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")


@dataclass(frozen=True)
class Signer:
    """Who a draft is from: the finance team for quarterly returns, the Head of Inclusion
    Services for annual reports (they receive them: toolkit Appendix 3)."""

    name: str
    address: str
    signature: str

    @classmethod
    def for_kind(cls, cfg: Config, kind: str | None) -> Signer:
        if kind == "annual":
            return cls(cfg.inclusion_head, cfg.inclusion_head_email,
                       f"{cfg.inclusion_head}\nHead of Inclusion Services\n{cfg.la_name}")
        return cls(f"{cfg.la_name} schools finance", cfg.finance_contact, f"Schools Finance Team\n{cfg.la_name}")


def _address(name: str | None, addr: str) -> str:
    return formataddr((clean(name or "", 80), addr), charset="utf-8")


def _header(text: str) -> str | Header:
    return text if text.isascii() else Header(text, "utf-8")


def when(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def finding_line(f: Finding) -> str:
    """One finding as a reply says it: where, then what to do."""
    where = f"{f.sheet} sheet, cell {f.cell}" if f.sheet and f.cell else (f"{f.sheet} sheet" if f.sheet else "the file")
    return f"     - {where}: {f.message} [{f.code}]"


def compose(signer: Signer, to: str | None, to_name: str | None, subject: str, body: str, *,
            in_reply_to: str | None = None, attachments: tuple[Path, ...] = ()) -> Message:
    """A draft: From the signer, To the address (left out when there is none or it is not an
    address), the body signed, each attachment byte for byte. Built with the email package's
    compat32 classes: a third of the time of EmailMessage, which parses every header it is given."""
    text = MIMEText(f"{body.rstrip()}\n\nKind regards,\n\n{signer.signature}\n", "plain", _UTF8_QP)  # type: ignore[arg-type]
    msg: Message = text
    if attachments:
        msg = MIMEMultipart()
        msg.attach(text)
        for path in attachments:
            part = MIMEApplication(path.read_bytes(), XLSX_TYPE[1])
            name: str | tuple[str, str, str] = path.name if path.name.isascii() else ("utf-8", "", path.name)
            part.add_header("Content-Disposition", "attachment", filename=name)
            msg.attach(part)
    msg["X-Unsent"] = "1"
    msg["From"] = _address(signer.name, signer.address)
    if to and _ADDRESS.fullmatch(to):
        msg["To"] = _address(to_name, to)
    # "=?...?=" in a received subject is text here, not an encoded word to decode again
    msg["Subject"] = _header(clean(subject, 250).replace("=?", "= ?"))  # type: ignore[assignment]
    if in_reply_to and re.fullmatch(r"<[^<>\s]{1,250}>", in_reply_to):
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    return msg


def reply_subject(subject: str | None) -> str:
    subject = clean(subject or "", 200)
    if not subject:
        return "Re: your return"
    return subject if re.match(r"(?i)re\s*:", subject) else f"Re: {subject}"


def render(msg: Message) -> bytes:
    """The draft as an .eml file's bytes: CRLF line ends, as mail programs save them. Headers are
    not folded at 78 characters (a SHOULD of RFC 5322, not a MUST)."""
    return msg.as_bytes(policy=_POLICY)


def save(data: bytes, path: Path) -> Path:
    """Write a rendered draft whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda tmp: _write_bytes(tmp, data))


def write(msg: Message, path: Path) -> Path:
    return save(render(msg), path)


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


# --------------------------------------------------------------------------- replies to returns

_VERDICT = {
    "accepted": "accepted. Thank you: nothing more is needed.",
    "accepted_with_warnings": "accepted, with {n} to check (no need to send it again unless a figure is wrong):",
    "rejected": "rejected. Please correct the following and send the return again:",
    "unreadable": "it could not be read as a return:",
}


@dataclass(frozen=True)
class Outcome:
    """One workbook taken from a message, as its reply tells it."""

    attachment: str
    report: FileReport
    what: str | None  # "the PBP Quarterly Return 2025-26 Q2 for The Harbour (North PBP), Northfield Primary School"
    due: date | None = None
    feedback: Path | None = None


def _points(n: int) -> str:
    return "1 point" if n == 1 else f"{n} points"


def outcome_text(n: int, o: Outcome) -> list[str]:
    r = o.report
    lines = [f"{n}. {o.attachment}"]
    version = r.extra.get("version")
    if r.extra.get("duplicate_of"):
        got = str(r.extra.get("received_at") or "")[:10]
        on = f" on {when(date.fromisoformat(got))}" if re.fullmatch(r"\d{4}-\d\d-\d\d", got) else ""
        lines.append(f"   We had already received this exact file{on} ({o.what or 'not a return'}"
                     f"{f', version {version}' if version else ''}, {r.status.replace('_', ' ')}); nothing new was "
                     "recorded.")
        return lines
    if o.what:
        lines.append(f"   {o.what[0].upper()}{o.what[1:]}" + (f", recorded as version {version}." if version else "."))
    lines.append("   Verdict: " + _VERDICT[r.status].format(n=_points(len(r.findings))))
    lines += [finding_line(f) for f in r.findings]
    if o.feedback is not None:
        by = f" by {when(o.due)}" if o.due and r.status == "rejected" else ""
        lines.append(f"   The attached feedback workbook \"{o.feedback.name}\" marks each of these cells and lists them on "
                     f"its Issues sheet" + (f": correct it and send it back to us{by}." if r.status == "rejected"
                                            else "."))
    return lines


def reply_body(to_name: str | None, sent: date | None, subject: str | None, outcomes: list[Outcome],
               problems: list[Finding]) -> str:
    of = f" of {when(sent)}" if sent else ""
    about = f" (\"{clean(subject, 120)}\")" if subject else ""
    parts = [f"Dear {clean(to_name or '', 80) or 'colleague'},", ""]
    if outcomes:
        n = len(outcomes)
        parts.append(f"Thank you for your email{of}{about}. We received {'1 workbook' if n == 1 else f'{n} workbooks'}"
                     "; this is what we found.")
    else:
        parts.append(f"Thank you for your email{of}{about}.")
    for i, o in enumerate(outcomes, 1):
        parts += ["", *outcome_text(i, o)]
    if problems:
        parts += ["", "About the email itself:" if outcomes else "We could not take a return from it:"]
        parts += [f"  - {p.message}" for p in problems]
    return "\n".join(parts)
