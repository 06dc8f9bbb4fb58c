"""Where ingest meets the mailbox. A message file given to ``pbp ingest`` (.eml, Outlook
.msg) is archived like any received file, and opens into the workbooks attached to it: each
is written to a private spool folder under a made-up name (``.pbp/spool-*/3.xlsx``, never a
name from the message) and from there goes the way of a workbook saved by hand (archive,
versions, verdicts, feedback). Once they are recorded, each message is recorded with a link
to each of its attachments' records and answered with a reply draft in
``replies/<period>/``.

Crash safety follows ingest's: a message is recorded (with its reply draft) only after its
attachments, in one transaction; running ingest again finishes the job.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbp_workbooks.base.errors import ConfigError, UnreadableFile
from pbp_workbooks.base.filenames import fit, safe_file_name
from pbp_workbooks.base.periods import FinancialYear, period_folder
from pbp_workbooks.base.roster import Roster
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.intake import drafts
from pbp_workbooks.intake.mail_intake import Attachment, Mail, is_message, mail_problem, read_mail, too_large
from pbp_workbooks.intake.xlsx_safe import Limits, read_bounded
from pbp_workbooks.ledger.mail_trail import MessageRecord, message_by_sha, record_message
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.findings import FileReport, Finding

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from pbp_workbooks.intake.ingest import Incoming

DRAFT_THREADS = 4
UNIDENTIFIED = "unidentified"  # replies/ folder for messages that carried no return we could place
STALE_AFTER = 3600.0


@dataclass
class Letter:
    """One message file being ingested: what it holds and the items made from its attachments."""

    item: Incoming
    mail: Mail
    attachments: list[Incoming] = field(default_factory=list)


class Mailroom:
    def __init__(self, ws: Workspace, limits: Limits) -> None:
        self.ws, self.limits = ws, limits
        self.max_bytes = ws.config.limits.max_message_mb * 2**20
        self.letters: list[Letter] = []
        self.spool: Path | None = None

    # ------------------------------------------------------------------ before archiving

    def open(self, items: list[Incoming], pool: ProcessPoolExecutor | None = None) -> list[Incoming]:
        """The items with each message file followed by one item per workbook attached to it.
        With a pool, the messages are read (and their attachments spooled) by its workers."""
        from pbp_workbooks.intake.ingest import Incoming

        messages = [i for i in items if is_message(i.path.name)]
        if not messages:
            return items
        _sweep(self.ws)
        try:
            self.ws.state_dir.mkdir(exist_ok=True)
            self.spool = Path(tempfile.mkdtemp(prefix="spool-", dir=self.ws.state_dir))
        except OSError as err:
            raise _spool_error(err) from None
        try:
            jobs = [_Job(i.path, n, self.spool, self.max_bytes, self.limits) for n, i in enumerate(messages)]
            if pool is None:
                opened = list(map(open_message, jobs))
            else:
                from pbp_workbooks.intake.validation import workers

                chunk = max(1, min(32, len(jobs) // (4 * workers())))
                opened = list(pool.map(open_message, jobs, chunksize=chunk))
            by_item = dict(zip(map(id, messages), opened, strict=True))
            out: list[Incoming] = []
            for item in items:
                out.append(item)
                if id(item) not in by_item:
                    continue
                mail, files = by_item[id(item)]
                letter = Letter(item, mail)
                item.message = letter
                self.letters.append(letter)
                for name, path in files:
                    part = Incoming(path, f"{item.display} › {name}", name=name)
                    letter.attachments.append(part)
                    out.append(part)
            return out
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.spool is not None:
            shutil.rmtree(self.spool, ignore_errors=True)
            self.spool = None

    # ------------------------------------------------------------------ after recording

    def answer(self, ledger: Ledger, roster: Callable[[], Roster | None]) -> None:
        """Record each message (with its links) and write its reply draft; tell each attachment's
        report which email it came in, and give a message its own report when it has a problem.
        Drafts are written a few at a time (threads: writing files waits on the disk); each
        message is recorded, in its own transaction, once its draft exists."""
        todo = [letter for letter in self.letters if letter.item.archived is not None and letter.item.sha256]
        known = {id(letter): message_by_sha(ledger.conn, str(letter.item.sha256)) for letter in todo}
        with ThreadPoolExecutor(max_workers=DRAFT_THREADS) as threads:
            writing: dict[int, tuple[Path, Future[Path]]] = {}
            for letter in todo:
                if known[id(letter)] is None:
                    path = self._reply_path(letter)
                    data = drafts.render(self._reply(letter, roster()))
                    writing[id(letter)] = (path, threads.submit(drafts.save, data, path))
            for letter in todo:
                self._record(ledger, letter, known[id(letter)], writing.get(id(letter)))

    def _record(self, ledger: Ledger, letter: Letter, previous: MessageRecord | None,
                reply: tuple[Path, Future[Path]] | None) -> None:
        item = letter.item
        assert item.archived is not None and item.sha256 is not None
        if previous is None and reply is not None:
            path, written = reply

            def reply_written() -> str:
                written.result()  # the draft exists before the message is recorded
                return str(path.relative_to(self.ws.root))

            # another ingest may record the same message meanwhile: it then writes the same draft
            rec, new = record_message(
                ledger, sha256=item.sha256, original_name=Path(item.display).name,
                archive_path=str(item.archived.relative_to(self.ws.root)), mail=letter.mail,
                attachments=[(a.sha256, a.name or "") for a in letter.attachments if a.sha256],
                before_insert=reply_written)
        else:
            assert previous is not None
            rec, new = previous, False
        info = _email_info(letter, rec.reply_path)
        for a in letter.attachments:
            if a.report is not None:
                a.report.extra["email"] = {**info, "attachment": a.name}
        if letter.mail.problems:
            extra: dict[str, Any] = {"email": info, "archived": rec.archive_path, "sha256": rec.sha256, "new": new}
            if not new:
                extra["duplicate_of"] = rec.original_name
            item.report = FileReport(item.display, "unreadable", None, list(letter.mail.problems), extra)

    def _reply_path(self, letter: Letter) -> Path:
        first = next((a.report for a in letter.attachments if a.report is not None and a.report.identity), None)
        stem = Path(letter.item.display).stem
        assert letter.item.sha256 is not None
        if first is None or first.identity is None:
            folder, name = UNIDENTIFIED, f"reply - {stem} {letter.item.sha256[:8]}"
        else:
            ident = first.identity
            kind = ident.get("kind") or "quarterly"
            label = spec_mod.load(kind).period_label if kind in spec_mod.available() else "Annual"
            folder = period_folder(ident["year"], ident.get("quarter"), label)
            version = first.extra.get("version")
            name = f"{ident['partnership']}{f' v{version}' if version else ''} reply - {stem}"
        return self.ws.folder("replies") / folder / (fit(safe_file_name(name)) + ".eml")

    def _reply(self, letter: Letter, roster: Roster | None) -> Any:
        mail = letter.mail
        outcomes = [_outcome(a, roster) for a in letter.attachments if a.report is not None]
        kind = next((o.report.identity.get("kind") for o in outcomes if o.report.identity), None)
        body = drafts.reply_body(mail.sender_name, mail.date.date() if mail.date else None, mail.subject, outcomes,
                                 mail.problems)
        attach = tuple(o.feedback for o in outcomes if o.feedback is not None and o.feedback.is_file())
        return drafts.compose(drafts.Signer.for_kind(self.ws.config, kind), mail.sender, mail.sender_name,
                              drafts.reply_subject(mail.subject), body, in_reply_to=mail.message_id,
                              attachments=attach)


@dataclass(frozen=True)
class _Job:
    """One message file to open (picklable: a worker may do it)."""

    path: Path
    n: int  # its attachments are spooled as <n>-<k><suffix>
    spool: Path
    max_bytes: int
    limits: Limits


def open_message(job: _Job) -> tuple[Mail, list[tuple[str, Path]]]:
    """Read one message file and spool its workbooks; (the mail without their bytes, [(name, spooled path)])."""
    mail = _read(job)
    files: list[tuple[str, Path]] = []
    for k, att in enumerate(mail.workbooks):
        path = job.spool / f"{job.n}-{k}{att.suffix}"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(att.data)
        except OSError as err:  # the LA's disk, not the school's email
            raise _spool_error(err) from None
        files.append((att.name, path))
    mail.workbooks = [Attachment(a.name, b"") for a in mail.workbooks]  # the bytes are in the spool now
    return mail, files


def _read(job: _Job) -> Mail:
    fmt = "msg" if job.path.name.lower().endswith(".msg") else "eml"
    try:
        data = read_bounded(job.path, Limits(max_file_bytes=job.max_bytes))
    except UnreadableFile as err:
        if err.code == "F-E004":
            size = _size(job.path)
            return too_large(fmt, f"{size / 2**20:.1f} MB; the limit is {job.max_bytes // 2**20} MB, "
                                  "set by max_message_mb in pbp.toml" if size else "over the limit")
        if err.code == "F-E003":
            return Mail(fmt, problems=[mail_problem("M-E003", "it is empty (0 bytes)")])
        return Mail(fmt, problems=[Finding(err.code, "error", err.reason)])  # the path itself: reported as such
    return read_mail(job.path.name, data, job.limits)


def _spool_error(err: OSError) -> ConfigError:
    return ConfigError(f"cannot write email attachments to the .pbp folder: {err.strerror or err}; free some space "
                       "or fix its permissions, then run pbp ingest again")


def _outcome(a: Incoming, roster: Roster | None) -> drafts.Outcome:
    report = a.report
    assert report is not None
    ident = report.identity
    what, due = None, None
    if ident and ident.get("partnership") and ident.get("year"):
        kind, year, quarter = ident.get("kind") or "quarterly", ident["year"], ident.get("quarter")
        title = spec_mod.load(kind).short_title if kind in spec_mod.available() else "return"
        prov = roster.provision(ident["partnership"]) if roster is not None else None
        whom = f"{prov.provision}, {prov.host_school}" if prov is not None else ident["partnership"]
        if kind in spec_mod.available() and spec_mod.load(kind).per_school and ident.get("host_school"):
            whom = f"{ident['host_school']} ({ident['partnership']})"  # a member school's own return
        what = f"the {title} {year}{f' Q{quarter}' if quarter else ''} for {whom}"
        if roster is not None:
            due = roster.due(FinancialYear.parse(year), spec_mod.load(kind).period_name(quarter)
                             if kind in spec_mod.available() else f"Q{quarter}" if quarter else "Annual")
    feedback = report.extra.get("feedback")
    return drafts.Outcome(a.name or Path(a.display).name, report, what, due, Path(feedback) if feedback else None)


def _email_info(letter: Letter, reply: str | None) -> dict[str, Any]:
    m = letter.mail
    return {"message": letter.item.display, "from": m.sender, "sender_name": m.sender_name,
            "date": m.date.isoformat() if m.date else None, "date_text": m.date_text, "subject": m.subject,
            "reply": reply, "notes": list(m.notes)}


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _sweep(ws: Workspace) -> None:
    """Spool folders a killed ingest left behind (they hold copies of archived attachments)."""
    cutoff = datetime.now(UTC).timestamp() - STALE_AFTER
    try:
        old = [p for p in ws.state_dir.glob("spool-*") if p.is_dir() and p.lstat().st_mtime < cutoff]
    except OSError:
        return
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
