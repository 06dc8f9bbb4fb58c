"""Receive returns: archive every file byte for byte, validate, record, write feedback.

Order per file, chosen so that a process killed at any moment leaves either a complete
record or none: (1) copy into the content-addressed archive (temporary file + rename),
(2) validate the archived copy, (3) write its feedback workbook, if it needs one, to a
hidden temporary file, (4) in one ledger transaction: take the next version, rename the
feedback workbook to its name with that version, record the file. Running ingest again
finishes the job; the same bytes are recognised and never counted twice. The input file
is only read. Files are archived a few at a time (threads: fsync waits for the disk);
a large batch is read, checked and given its feedback workbooks by one process per
core, each file as soon as it is archived; the ledger stays with the parent.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbp_workbooks.base import filenames
from pbp_workbooks.base.errors import ConfigError, Interrupted, PbpError, UnreadableFile
from pbp_workbooks.base.filenames import fit as _fit
from pbp_workbooks.base.filenames import safe_file_name
from pbp_workbooks.base.interrupts import pause_point, sigint_ignored
from pbp_workbooks.base.periods import period_folder
from pbp_workbooks.base.roster import Roster
from pbp_workbooks.base.roster import load as load_roster
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.intake.feedback import Draft
from pbp_workbooks.intake.feedback import draft as draft_feedback
from pbp_workbooks.intake.validation import Checked, Reader, check_with_ledger, limits_from, pool_for, validate_batch
from pbp_workbooks.intake.xlsx_safe import Limits, problem, sniff
from pbp_workbooks.ledger.store import Ledger, Received, received_by_sha, record_received
from pbp_workbooks.spec.findings import FileReport, Finding

if TYPE_CHECKING:
    from pbp_workbooks.base.pools import QuietPool
    from pbp_workbooks.intake.mail_ingest import Letter

_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")
_COPY_CHUNK = 1 << 20


@dataclass
class Incoming:
    path: Path
    display: str
    sha256: str | None = None
    archived: Path | None = None
    previous: Received | None = None
    report: FileReport | None = None
    draft: _Draft | None = None
    name: str | None = None  # the file's own name when it is not the path's: an email attachment's
    message: Letter | None = None  # set on a message file (.eml, .msg): archived, recorded with its attachments

    @property
    def original_name(self) -> str:
        return self.name or Path(self.display).name


def expand(paths: Sequence[Path]) -> list[Incoming]:
    """Files as given; folders are walked (sorted), skipping hidden files and Office lock files."""
    return [Incoming(p, display) for p, display in filenames.expand(paths)]


def archive(ws: Workspace, item: Incoming) -> None:
    """Copy a regular file into .pbp/archive/<aa>/<sha256><suffix>, hashing as it goes."""
    st = item.path.lstat()
    if not stat.S_ISREG(st.st_mode):
        raise OSError("not a regular file")
    suffix = item.path.suffix.lower() if _SUFFIX.match(item.path.suffix) else ""
    tmp = ws.archive_dir / f".incoming-{os.getpid()}-{id(item)}.tmp"
    digest = hashlib.sha256()
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(item.path, flags)  # an OSError here is the received file's problem
    try:
        with os.fdopen(fd, "rb") as src:
            with _writing_archive():
                ws.archive_dir.mkdir(parents=True, exist_ok=True)
                dst = tmp.open("wb")
            with dst:
                while chunk := src.read(_COPY_CHUNK):
                    digest.update(chunk)
                    with _writing_archive():
                        dst.write(chunk)
                with _writing_archive():
                    dst.flush()
                    os.fsync(dst.fileno())
        sha = digest.hexdigest()
        final = ws.archive_dir / sha[:2] / f"{sha}{suffix}"
        with _writing_archive():
            final.parent.mkdir(exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                os.replace(tmp, final)
                final.chmod(0o444)
    finally:
        if tmp.exists():
            tmp.unlink()
    item.sha256, item.archived = sha, final


@contextlib.contextmanager
def _writing_archive() -> Iterator[None]:
    """A failure to write the LA's own archive (disk full, no permission) is not the school's
    file being unreadable: it stops the ingest, with nothing recorded for the file."""
    try:
        yield
    except OSError as err:
        raise ConfigError(f"cannot write to the archive folder .pbp/archive: {err.strerror or err}; "
                          "free some space or fix its permissions, then run pbp ingest again") from None


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


# Hidden temporary files: archive copies (.incoming-<pid>-<n>.tmp) and feedback workbooks
# (drafts .draft-<n>-<sha>.<pid>.tmp, and the writer's own .<name>.<pid>.tmp). A killed run
# can leave one behind; it is never read (hidden names are skipped) and is removed by a later
# ingest once it is surely abandoned. Age, not the process id, decides: the workspace may be
# shared by several computers.
_TEMPORARY = re.compile(r"^\.(incoming-\d+-\d+|.+\.\d+)\.tmp$")
STALE_AFTER = 3600.0  # seconds; a live temporary exists for well under a second


def sweep_temporaries(ws: Workspace, *, older_than: float = STALE_AFTER) -> None:
    cutoff = datetime.now(UTC).timestamp() - older_than
    folders = [ws.archive_dir, ws.folder("feedback")]
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            if Path(root) == ws.archive_dir:
                dirs.clear()  # content-addressed subfolders never hold temporaries
            for name in files:
                path = Path(root) / name
                try:
                    if _TEMPORARY.match(name) and path.lstat().st_mtime < cutoff:
                        path.unlink()
                except OSError:  # gone already, or not ours to remove: harmless either way
                    continue


def ingest(ws: Workspace, paths: Sequence[Path], *, progress: Any = None) -> list[FileReport]:
    """Every file given, archived, checked and recorded. Ctrl-C stops at a safe point: the
    workers finish the file in hand, drafts are removed, and Interrupted says how many files
    were recorded; running the same command again finishes (recorded bytes are recognised)."""
    cfg = ws.config
    limits = limits_from(cfg)
    params = cfg.thresholds.params()
    from pbp_workbooks.intake.mail_ingest import Mailroom

    mailroom = Mailroom(ws, limits)
    items = expand(paths)
    reports: list[FileReport] = []
    sweep_temporaries(ws)
    pool = pool_for(len(items))  # one process per core for a large batch: reading, then feedback workbooks
    drafts: list[_Draft] = []
    archiving = _archived(ws, [])  # replaced once the messages are opened; closed in any case
    recorded = 0
    try:
        items = mailroom.open(items, pool)  # a message file is followed by the workbooks attached to it
        archiving = _archived(ws, items)
        with Ledger(ws.ledger_path) as ledger:
            reader = Reader(limits, params, pool)  # workers read each file as soon as it is archived
            new_items: list[Incoming] = []
            for n, (item, failed) in enumerate(_iter(archiving, progress, "Archiving", len(items)), start=1):
                if n == len(items) // 2:
                    pause_point("archiving")
                if failed:
                    item.report = _not_a_file(item, limits)
                    continue
                assert item.sha256 is not None and item.archived is not None
                if item.message is not None:
                    continue  # a message file: recorded with its attachments once they are
                item.previous = received_by_sha(ledger.conn, item.sha256)
                if item.previous is None:
                    new_items.append(item)
                    reader.add(item.archived, item.display)
            roster_once = functools.cache(lambda: _roster_or_none(ws))  # for due dates on feedback

            def each(c: Checked) -> None:  # the parent's share of the checks, while workers still read
                check_with_ledger(c, ledger)
                if any((c.report.findings, c.closed, c.rules, c.issued, c.history)):
                    roster_once()  # sure to be needed: load it now rather than after the batch

            pause_point("reading")
            fresh: list[tuple[Incoming, Checked]] = list(zip(new_items, reader.results(each), strict=True))
            validate_batch([c for _, c in fresh], ledger=ledger, params=params)
            roster = roster_once() if any(c.report.findings for _, c in fresh) else None
            # feedback workbooks are drafted (in parallel) before recording starts; each is
            # renamed to its final name inside the transaction that records its file
            for n, (item, checked) in enumerate(fresh):
                draft = _draft(ws, ledger, item, checked, roster, pool, n)
                if draft is not None:
                    drafts.append(draft)
                    item.draft = draft
            for item, checked in _iter(fresh, progress, "Recording", len(fresh)):
                if recorded == len(fresh) // 2:
                    pause_point("recording")
                item.report = checked.report
                _record(ws, ledger, item, checked)
                recorded += 1
            for item in items:
                if item.report is None and item.previous is not None:
                    item.report = _duplicate(item, item.previous)
            mailroom.answer(ledger, roster_once)  # messages recorded, reply drafts written
            for item in items:
                assert item.report is not None or item.message is not None
                if item.report is not None:
                    reports.append(item.report)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after recording {recorded} of {len(items)} files; run the same command "
                          "again to finish (files already recorded are recognised, not counted twice)") from None
    finally:
        with sigint_ignored():
            mailroom.close()
            archiving.close()  # the archive threads stop taking new files
            if pool is not None:
                pool.stop()  # waits for a draft still being written, then...
            for draft in drafts:  # ...removes every draft that did not become a feedback workbook
                draft.path.unlink(missing_ok=True)
    return reports


ARCHIVE_THREADS = 4  # fsync waits for the disk; a few at once share its flushes (1,000 files: 3.3 s -> 1.4 s)


def _archived(ws: Workspace, items: Sequence[Incoming]) -> Generator[tuple[Incoming, bool], None, None]:
    """Archive the items a few at a time, yielding each (item, failed) in the order given."""

    def one(item: Incoming) -> bool:
        try:
            archive(ws, item)
        except OSError:
            return True
        return False

    pool = ThreadPoolExecutor(max_workers=ARCHIVE_THREADS)
    try:
        yield from zip(items, pool.map(one, items), strict=True)
    finally:
        pool.shutdown(cancel_futures=True)


@dataclass
class _Draft:
    """A feedback workbook written ahead to a hidden temporary file in its final folder."""

    path: Path
    folder: Path
    job: Draft
    future: Future[Path] | None = None

    def ready(self) -> Path:
        if self.future is None:
            self.job.write(self.path)
        else:
            self.future.result()
        return self.path


def _draft(ws: Workspace, ledger: Ledger, item: Incoming, checked: Checked, roster: Roster | None,
           pool: QuietPool | None, n: int) -> _Draft | None:
    ident = _identity(checked)
    if checked.data is None or not checked.report.findings or ident is None:
        return None
    year, quarter = ident[1], ident[2]
    folder = ws.folder("feedback") / period_folder(year, quarter, checked.data.spec.period_label)
    assert item.sha256 is not None
    draft = _Draft(folder / f".draft-{n}-{item.sha256[:12]}.{os.getpid()}.tmp", folder,
                   draft_feedback(ws, ledger, checked, roster))
    if pool is not None:
        draft.future = pool.submit(draft.job.write, draft.path)
    return draft


def _iter(items: Iterable[Any], progress: Any, label: str, total: int) -> Iterable[Any]:
    return progress(items, total, label) if progress else items


def _not_a_file(item: Incoming, limits: Limits) -> FileReport:
    """Why a path could not be archived, in the words `pbp validate` uses for it."""
    try:
        sniff(item.path, limits)
        err = problem("F-E001", "cannot be read")
    except UnreadableFile as found:
        err = found
    return FileReport(item.display, "unreadable", None, [Finding(err.code, "error", err.reason)],
                      {"archived": False})


def _duplicate(item: Incoming, prev: Received) -> FileReport:
    findings = [Finding(**f) for f in json.loads(prev.findings_json)]
    identity = None
    if prev.partnership:
        identity = {"kind": prev.kind, "year": prev.year, "quarter": prev.quarter, "partnership": prev.partnership,
                    "token": prev.token, **({"urn": prev.subject} if prev.subject else {})}
    return FileReport(item.display, prev.status, identity, findings,
                      {"duplicate_of": prev.original_name, "version": prev.version, "received_at": prev.received_at,
                       "sha256": prev.sha256, "archived": prev.archive_path, "new": False})


def _roster_or_none(ws: Workspace) -> Roster | None:
    try:
        return load_roster(ws.roster_path)
    except PbpError:  # feedback then goes without a due date; ingesting must not stop
        return None


def _identity(checked: Checked) -> tuple[str, str, int | None, str, str, str] | None:
    """(kind, year, quarter, partnership, token, subject) the file is recorded under, if it has
    one; the subject is the member school's URN for a return issued to each member school."""
    report, data = checked.report, checked.data
    ident = report.identity if data is not None else None
    if data is None or ident is None or any(f.code in ("T-E003", "T-E004") for f in report.findings):
        return None
    subject = str(ident.get("urn") or "") if data.spec.per_school else ""
    return data.spec.kind, ident["year"], ident["quarter"], ident["partnership"], ident["token"], subject


def _record(ws: Workspace, ledger: Ledger, item: Incoming, checked: Checked) -> None:
    report, data = checked.report, checked.data
    assert item.sha256 is not None and item.archived is not None
    kind, year, quarter, partnership, token, subject = _identity(checked) or (None, None, None, None, None, "")
    values_json = None
    if data is not None:
        values_json = json.dumps({k: _json_value(v) for k, v in data.values.items()}, sort_keys=True)
    feedback_path: Path | None = None
    draft = item.draft
    if draft is not None:
        draft.ready()  # written (by a worker) before the transaction, so the ledger is not held waiting

    def feedback(version: int | None) -> None:
        """Named with the version being recorded, and renamed into view inside the recording
        transaction: a second ingest that is recording the same file meanwhile shows none."""
        nonlocal feedback_path
        if draft is not None:
            who = f"{partnership} - {report.identity['host_school']}" if subject and report.identity else partnership
            name = _fit(safe_file_name(f"{who} v{version} feedback - {Path(item.original_name).stem}")) + ".xlsx"
            os.replace(draft.path, draft.folder / name)
            feedback_path = draft.folder / name

    rec, new = record_received(
        ledger, sha256=item.sha256, original_name=item.original_name,
        archive_path=str(item.archived.relative_to(ws.root)), kind=kind, year=year, quarter=quarter,
        partnership=partnership, token=token, status=report.status,
        findings_json=json.dumps([_finding_dict(f) for f in report.findings]), values_json=values_json,
        subject=subject or "", before_insert=feedback)
    if not new:  # another ingest recorded the same bytes a moment ago
        item.report = _duplicate(item, rec)
        return
    report.extra.update({"version": rec.version, "sha256": rec.sha256, "archived": rec.archive_path, "new": True,
                         "received_at": rec.received_at})
    if feedback_path is not None:
        report.extra["feedback"] = str(feedback_path)


def _finding_dict(f: Finding) -> dict[str, Any]:
    v = f.value
    return {"code": f.code, "severity": f.severity, "message": f.message, "sheet": f.sheet, "cell": f.cell,
            "name": f.name, "value": None if v is None else (v if isinstance(v, int | float) else str(v))}
