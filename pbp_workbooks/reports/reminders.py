"""Chasing: which provisions' returns for a period are missing or rejected, and a reminder
draft for each (``pbp chase``), to the finance contact in the roster, with the workbook to
send back attached: the latest feedback workbook for a rejected return, else the workbook
the LA issued. ``pbp status`` counts them with ``chase_reason``."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.filenames import fit, safe_file_name
from pbp_workbooks.base.periods import FinancialYear, period_folder
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.intake import drafts
from pbp_workbooks.ledger.store import Ledger, received_for
from pbp_workbooks.reports.status import status_rows
from pbp_workbooks.spec import model as spec_mod


def chase_reason(row: dict[str, Any], today: date) -> str | None:
    """Why a status row's provision would be chased (None: it would not be)."""
    if row["state"] == "missing":
        what = "nothing received"
    elif row["state"] == "rejected":
        what = f"version {row['latest_version']} rejected, no version accepted"
    else:
        return None
    due = date.fromisoformat(row["due"]) if row["due"] else None
    if due is None:
        return f"{what}; no due date in the roster"
    if today > due:
        days = (today - due).days
        return f"{what}; late: was due {drafts.when(due)} ({days} day{'s' if days != 1 else ''} ago)"
    return f"{what}; due {drafts.when(due)}"


@dataclass(frozen=True)
class Chase:
    kind: str
    year: str
    quarter: int | None
    partnership: str
    host_school: str
    provision: str
    state: str
    reason: str
    due: date | None
    late: bool
    to: str | None
    attachment: Path | None
    attachment_is: str  # "feedback workbook" | "issued workbook" | "nothing"
    findings: int = 0  # errors in the rejected version
    sent_on: str | None = None  # when the rejected version arrived
    draft: Path | None = None

    @property
    def period(self) -> str:
        return f"{self.year} Q{self.quarter}" if self.quarter else f"{self.year} annual"

    @property
    def title_period(self) -> str:
        """The period after the return's title: 'PBP Quarterly Return 2025-26 Q2', 'PBP Annual Report 2025-26'."""
        return f"{self.year} Q{self.quarter}" if self.quarter else self.year

    def to_json(self, root: Path) -> dict[str, Any]:
        def rel(p: Path | None) -> str | None:
            if p is None:
                return None
            try:
                return str(p.relative_to(root))
            except ValueError:
                return str(p)

        return {"period": self.period, "kind": self.kind, "year": self.year, "quarter": self.quarter,
                "partnership": self.partnership, "host_school": self.host_school, "state": self.state,
                "reason": self.reason, "due": self.due.isoformat() if self.due else None, "late": self.late,
                "to": self.to, "attachment": rel(self.attachment), "attachment_is": self.attachment_is,
                "draft": rel(self.draft)}


def who(ws: Workspace, fy: FinancialYear, quarter: int | None, today: date | None = None) -> list[Chase]:
    """The provisions to chase for the quarter (``quarter=None``: the annual report)."""
    today = today or datetime.now(UTC).date()
    roster = roster_mod.load(ws.roster_path)
    kind = "quarterly" if quarter else "annual"
    rows = [r for r in status_rows(ws, fy, quarter, today) if r["kind"] == kind and r["quarter"] == quarter]
    out: list[Chase] = []
    with Ledger(ws.ledger_path) as ledger:
        issued = {i.partnership: i for i in ledger.issued_for(kind, str(fy), quarter)}
        latest = {r.partnership: r for r in received_for(ledger, kind, str(fy), quarter)}  # by id: the last wins
    folder = period_folder(str(fy), quarter)
    for row in rows:
        reason = chase_reason(row, today)
        if reason is None:
            continue
        prov = roster.provision(row["partnership"])
        attachment, attachment_is, errors, sent_on = None, "nothing", 0, None
        if row["state"] == "rejected" and row["partnership"] in latest:
            rec = latest[row["partnership"]]
            errors = sum(1 for f in json.loads(rec.findings_json) if f.get("severity") == "error")
            sent_on = rec.received_at[:10]
            attachment = _feedback(ws, folder, row["partnership"], rec.version)
            attachment_is = "feedback workbook" if attachment else attachment_is
        if attachment is None and row["partnership"] in issued:
            path = ws.folder("outbox") / folder / issued[row["partnership"]].file_name
            if path.is_file():
                attachment, attachment_is = path, "issued workbook"
        out.append(Chase(kind, str(fy), quarter, row["partnership"], row["host_school"],
                         prov.provision if prov else row["partnership"], row["state"], reason,
                         date.fromisoformat(row["due"]) if row["due"] else None, bool(row["late"]),
                         prov.contact_email if prov else None, attachment, attachment_is, errors, sent_on))
    return out


def _feedback(ws: Workspace, folder: str, partnership: str, version: int | None) -> Path | None:
    found = sorted((ws.folder("feedback") / folder).glob(f"{safe_file_name(partnership)} v{version} feedback - *.xlsx"))
    return found[-1] if found else None


def reminder_body(c: Chase, title: str, today: date) -> str:
    what = f"the {title} {c.title_period} for {c.provision}, {c.host_school}"
    due = ""
    if c.due is not None:
        due = (f"It was due on {drafts.when(c.due)}." if today > c.due else f"It is due on {drafts.when(c.due)}.")
    lines = ["Dear colleague,", ""]
    if c.state == "rejected":
        sent = f" that we received on {drafts.when(date.fromisoformat(c.sent_on))}" if c.sent_on else ""
        problems = f"it has {c.findings} problem{'s' if c.findings != 1 else ''} to fix" if c.findings else \
            "it has problems to fix"
        lines.append(f"We could not accept {what}{sent}: {problems}. {due}".rstrip())
        if c.attachment_is == "feedback workbook":
            lines += ["", "The attached feedback workbook marks each problem cell and lists them on its Issues sheet: "
                          "correct it and send it back by replying to this email."]
    else:
        lines.append(f"We have not yet received {what}. {due}".rstrip())
        if c.attachment_is == "issued workbook":
            lines += ["", "The workbook we sent is attached again: fill in the yellow cells, check that its Checks sheet "
                          "says \"Ready to send\", and send it back by replying to this email."]
    if c.attachment is None:
        lines += ["", "If you need the workbook again, reply to this email and we will send it."]
    return "\n".join(lines)


def write_reminders(ws: Workspace, chases: list[Chase], today: date | None = None) -> list[Chase]:
    """A reminder draft for each chase in replies/<period>/; the chases with their draft paths."""
    today = today or datetime.now(UTC).date()
    out = []
    for c in chases:
        title = spec_mod.load(c.kind).short_title
        subject = (f"{'Action needed' if c.state == 'rejected' else 'Reminder'}: {title} {c.title_period} - {c.partnership}"
                   + (f" - due {drafts.when(c.due)}" if c.due else ""))
        msg = drafts.compose(drafts.Signer.for_kind(ws.config, c.kind), c.to, None, subject,
                             reminder_body(c, title, today),
                             attachments=(c.attachment,) if c.attachment is not None else ())
        name = fit(safe_file_name(f"{c.partnership} reminder {today.isoformat()}")) + ".eml"
        path = ws.folder("replies") / period_folder(c.year, c.quarter) / name
        out.append(replace(c, draft=drafts.write(msg, path)))
    return out
