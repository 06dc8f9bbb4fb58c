"""The demo's last stage: Q3 returns arrive by email. The schools fill in their Q3 workbooks
and email them; the LA saves the messages out of its mailbox as .eml files into
``mailbox/2025-26 Q3/`` and ingests that folder, which leaves a reply draft for each message
in ``replies/2025-26 Q3/``; then ``pbp chase`` writes reminder drafts for the returns still
missing or rejected. The messages are built with the standard library's email package, with
fixed dates, ids and boundaries, so every run gives the same files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.spec import model as spec_mod

MAILBOX = "mailbox"
QUARTER = 3
# partnership -> what their email brings (the others send a clean return)
Q3_MAIL = {
    "South": "a return with an invalid email address",
    "Central": "an email with the workbook forgotten",
    "West": "no email at all",
}


def _email(prov: roster_mod.Provision, n: int, subject: str, body: str,
           attachment: tuple[str, bytes] | None) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"{prov.host_school} finance <{prov.contact_email}>"
    m["To"] = "schools.finance@example.gov.uk"
    m["Subject"] = subject
    sent = datetime(2025, 10, 20, 9, 0, tzinfo=UTC) + timedelta(days=n, minutes=17 * n)
    m["Date"] = sent.strftime("%a, %d %b %Y %H:%M:%S +0000")
    m["Message-ID"] = f"<q3-{n}@{(prov.contact_email or 'school.example').split('@')[-1]}>"
    m.set_content(body)
    if attachment is not None:
        name, data = attachment
        m.add_attachment(data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         filename=name)
        m.set_boundary(f"pbp-demo-{n}")
    return m


def run_mailbox(ws: Workspace, root: Path, fy: FinancialYear, q2_final: dict[str, dict[str, Any]],
                out: Callable[[str], None], rel: Callable[[Any], str]) -> Path:
    """Steps E1-E3; returns the mailbox folder."""
    from pbp_workbooks.demo.run import (
        _issued,
        _print_reports,
        carried_over,
        carry_forward,
        sample_values,
        type_into,
        typed,
    )
    from pbp_workbooks.intake.ingest import ingest
    from pbp_workbooks.reports.reminders import who, write_reminders
    from pbp_workbooks.workbook.generate import generate

    spec = spec_mod.load("quarterly")
    params = ws.config.thresholds.params()
    roster = roster_mod.load(ws.roster_path)
    issued = generate(ws, "quarterly", fy, QUARTER, None)
    carried = carried_over(ws, spec, fy, QUARTER)
    mailbox = root / MAILBOX / f"{fy} Q{QUARTER}"
    mailbox.mkdir(parents=True, exist_ok=True)
    filled = root / MAILBOX / ".filled"  # the schools' own copies, before they attach them
    for n, prov in enumerate(roster.provisions, 1):
        p = prov.partnership
        what = Q3_MAIL.get(p)
        if what == "no email at all":
            continue
        subject = f"PBP Quarterly Return {fy} Q{QUARTER} - {p}"
        if what == "an email with the workbook forgotten":
            msg = _email(prov, n, subject, "Please find our Q3 return attached.", None)
        else:
            fresh = sample_values(spec, fy, QUARTER, roster.allocation(p, fy), params, seed=500 + n)
            v = carry_forward(spec, q2_final[p], fresh, QUARTER, params, seed=600 + n, carried=carried.get(p))
            if what == "a return with an invalid email address":
                v["email"] = "bursar at southmead"  # Q-E108
            src = _issued(issued, p)
            copy = filled / src.name
            type_into(src, copy, typed(spec, v, QUARTER))
            msg = _email(prov, n, subject, f"Dear Schools Finance,\n\nOur Q3 return is attached.\n\n{prov.host_school}",
                         (src.name, copy.read_bytes()))
        (mailbox / f"{n:02d} {p} - {subject}.eml").write_bytes(bytes(msg))
    for f in filled.glob("*.xlsx"):
        f.unlink()
    filled.rmdir()
    out(f"[E1/3] Q{QUARTER}: {len(issued)} workbooks issued; the schools email theirs back and the LA saves the messages "
        f"out of its mailbox as .eml files: {rel(mailbox)}/")
    for p, what in Q3_MAIL.items():
        out(f"        {p}: {what}")
    out(f"[E2/3] Q{QUARTER}: ingest the mailbox folder (each attached workbook as if saved by hand; a reply draft "
        "for each email)")
    reports = ingest(ws, [mailbox])
    _print_reports(out, reports, rel)
    replies = sorted({r.extra["email"]["reply"] for r in reports if r.extra.get("email", {}).get("reply")})
    for reply in replies:
        out(f"        reply draft: {reply}")
    chased = write_reminders(ws, who(ws, fy, QUARTER))
    out(f"[E3/3] pbp chase --year {fy} --quarter {QUARTER}: {len(chased)} reminder drafts for the returns still "
        "missing or rejected")
    for c in chased:
        out(f"        {c.partnership:<8} {c.reason.split(';')[0]}: {rel(c.draft)}")
    return mailbox
