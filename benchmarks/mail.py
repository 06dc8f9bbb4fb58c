"""Benchmark: ingest 1,000 .eml messages each carrying a return, against ingesting the same
1,000 workbooks directly. Target (issue 14): the messages take <= 1.3x the workbooks.

Each run ingests into a fresh copy of the same workspace (issued workbooks recorded, nothing
received); runs alternate between the two, so both see the same load. Prints the median of
each and their ratio; the email runs also write 1,000 reply drafts (100 with a feedback
workbook attached) and archive the 1,000 messages beside the workbooks.

    python benchmarks/mail.py [N] [RUNS]

(Not named email.py: the script's folder comes first on sys.path and would hide the email package.)
"""

from __future__ import annotations

import contextlib
import io
import resource
import shutil
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from ingest import make_returns

from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.intake.ingest import ingest


def as_email(workbook: Path, n: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Finance officer {n} <finance{n}@school{n}.example.sch.uk>"
    m["To"] = "schools.finance@example.gov.uk"
    m["Subject"] = f"PBP Quarterly Return 2025-26 Q2 - {workbook.stem}"
    m["Date"] = "Tue, 14 Oct 2025 09:12:00 +0100"
    m["Message-ID"] = f"<return-{n}@school{n}.example.sch.uk>"
    m.set_content("Dear Schools Finance,\n\nOur Q2 return is attached.\n\nThe finance officer")
    m.add_attachment(workbook.read_bytes(), maintype="application",
                     subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=workbook.name)
    return bytes(m)


def cpu() -> float:
    """CPU seconds of this process and of its finished children (ingest's worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(pristine: Path, runs_dir: Path, label: str, inputs: Path) -> tuple[float, float, list[str]]:
    """(wall seconds, CPU seconds, statuses) of one ingest into a fresh copy of the workspace."""
    root = runs_dir / label
    shutil.copytree(pristine, root)
    c, t = cpu(), time.perf_counter()
    reports = ingest(Workspace(root), [inputs])
    took, used = time.perf_counter() - t, cpu() - c
    shutil.rmtree(root)
    return took, used, [r.status for r in reports]


def run(n: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with contextlib.redirect_stdout(io.StringIO()):  # init and generate say what they wrote
            ws, files = make_returns(Path(tmp), n)
        mailbox = Path(tmp) / "mailbox"
        mailbox.mkdir()
        for i, f in enumerate(files):
            (mailbox / f"{f.stem}.eml").write_bytes(as_email(f, i))
        pristine = Path(tmp) / "pristine"
        shutil.copytree(ws.root, pristine)
        runs_dir = Path(tmp) / "runs"
        runs_dir.mkdir()
        direct: list[float] = []
        emails: list[float] = []
        direct_cpu: list[float] = []
        emails_cpu: list[float] = []
        for i in range(runs):
            took, used, direct_status = timed(pristine, runs_dir, f"direct-{i}", Path(tmp) / "inbox")
            direct.append(took)
            direct_cpu.append(used)
            took, used, email_status = timed(pristine, runs_dir, f"email-{i}", mailbox)
            emails.append(took)
            emails_cpu.append(used)
        assert sorted(direct_status) == sorted(email_status), "the messages must give the same verdicts"
        size = sum(f.stat().st_size for f in mailbox.iterdir()) / len(files) / 1024
    d, e = statistics.median(direct), statistics.median(emails)
    print(f"ingest {n} workbooks directly: median {d:.2f} s of {runs} runs ({', '.join(f'{x:.2f}' for x in direct)})")
    print(f"ingest the same {n} as .eml messages (~{size:.0f} KB each; archived, replies drafted): median {e:.2f} s "
          f"({', '.join(f'{x:.2f}' for x in emails)})")
    print(f"ratio {e / d:.2f}x (target <= 1.3x): {'met' if e / d <= 1.3 else 'NOT met'}")
    dc, ec = statistics.median(direct_cpu), statistics.median(emails_cpu)
    print(f"CPU (this process and its workers), which load from other programs disturbs less than wall time: "
          f"median {dc:.2f} s directly, {ec:.2f} s as messages; ratio {ec / dc:.2f}x")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
