"""Ctrl-C, as a terminal sends it (SIGINT to the whole process group, workers included), in
each phase of `pbp ingest` (archiving, reading, recording), of `pbp generate` and of
`pbp consolidate`: exit 130, one line saying how far it got and "run the same command
again to finish", no traceback, no process left behind, a consistent ledger, and running
the same command again finishes the job.

A command is stopped in a known phase by the test hook of pbp_workbooks/interrupts.py
(PBP_PAUSE_AT=<phase>: it writes PBP_PAUSE_FILE and waits there); the batches are large
enough for worker processes to be running when the signal comes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from fill import clean_values, fill_openpyxl
from test_hostile_cli import clean_env, init_workspace, pbp, sha256

from pbp_workbooks.base.roster import SAMPLE_ALLOCATIONS
from pbp_workbooks.intake import validation
from pbp_workbooks.spec import model as spec_mod

pytestmark = pytest.mark.slow  # real processes and signals: run in CI and by the README command

SPEC = spec_mod.load("quarterly")
FILES = 40
WAIT = 120  # seconds for a command to reach its pause, or to finish, on a loaded machine


@dataclass
class Stopped:
    rc: int
    out: str
    err: str


def interrupt_at(phase: str, argv: list[str], ws: Path, tmp: Path) -> Stopped:
    """Run pbp in its own process group, wait until it pauses in ``phase``, press Ctrl-C."""
    marker = tmp / f"paused-{phase}"
    out, err = tmp / f"{phase}.out", tmp / f"{phase}.err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "pbp_workbooks", *argv], cwd=ws, stdin=subprocess.DEVNULL,
                                stdout=o, stderr=e, start_new_session=True,
                                env=clean_env(PBP_PAUSE_AT=phase, PBP_PAUSE_FILE=str(marker)))
    try:
        deadline = time.monotonic() + WAIT
        while not marker.exists():
            assert proc.poll() is None, f"pbp ended before the {phase} phase:\n{err.read_text()}"
            assert time.monotonic() < deadline, f"pbp never reached the {phase} phase"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rc = proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert_group_gone(proc.pid)
    return Stopped(rc, out.read_text("utf-8"), err.read_text("utf-8", "replace"))


def assert_group_gone(pgid: int) -> None:
    """No process of the command's group (its workers) is left running."""
    deadline = time.monotonic() + 10
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            pytest.fail("a worker process was left running after the interrupt")
        time.sleep(0.05)


def one_line(stopped: Stopped, pattern: str) -> re.Match[str]:
    assert stopped.rc == 130, stopped
    assert "Traceback" not in stopped.err and "KeyboardInterrupt" not in stopped.err, stopped.err
    assert stopped.err.count("\n") == 1, stopped.err
    m = re.fullmatch(pattern, stopped.err.rstrip("\n"))
    assert m, stopped.err
    assert "run the same command again to finish" in stopped.err
    return m


def ledger_rows(ws: Path, table: str) -> list[sqlite3.Row]:
    con = sqlite3.connect(ws / ".pbp" / "ledger.sqlite")
    con.row_factory = sqlite3.Row
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return con.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    finally:
        con.close()


def no_temporaries(ws: Path) -> None:
    visible = [p for p in ws.rglob("*") if p.name.endswith(".tmp") and not p.name.startswith(".")]
    assert visible == [], visible


# --------------------------------------------------------------------------- ingest


@dataclass
class Batch:
    template: Path  # a workspace with Q2 issued, nothing received
    inbox: Path  # FILES returns, some with problems (so feedback workbooks are drafted)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    root = tmp_path_factory.mktemp("interrupt")
    ws = init_workspace(root / "ws")
    run = pbp("generate", "quarterly", "--year", "2025-26", "--quarter", "2", cwd=ws)
    assert run.rc == 0, run.where()
    issued = sorted((ws / "outbox" / "2025-26 Q2").glob("*.xlsx"))
    inbox = root / "inbox"
    for i in range(FILES):
        src = issued[i % len(issued)]
        partnership = src.name.split(" - ")[1]
        values = clean_values(SPEC, 2, Decimal(SAMPLE_ALLOCATIONS[partnership][1]), seed=300 + i)
        if i % 4 == 0:
            values["email"] = "not an email"
        fill_openpyxl(src, inbox / f"{i:02d} {src.name}", values)
    assert validation.pool_for(FILES) is not None or (os.cpu_count() or 1) < 2  # workers will be running
    return Batch(ws, inbox)


@pytest.mark.parametrize("phase", ["archiving", "reading", "recording"])
def test_ctrl_c_during_ingest(batch: Batch, tmp_path: Path, phase: str) -> None:
    ws = Path(shutil.copytree(batch.template, tmp_path / "ws"))
    stopped = interrupt_at(phase, ["ingest", str(batch.inbox)], ws, tmp_path)
    m = one_line(stopped, rf"pbp: interrupted after recording (\d+) of {FILES} files; run the same command again to "
                          r"finish \(files already recorded are recognised, not counted twice\)")
    assert stopped.out == ""
    recorded = int(m.group(1))
    rows = ledger_rows(ws, "received")
    assert len(rows) == recorded == (FILES // 2 if phase == "recording" else 0)
    for row in rows:  # each record is whole: its archived bytes are there
        assert sha256(ws / row["archive_path"]) == row["sha256"]
    no_temporaries(ws)
    # the same command again finishes: every file recorded once, versions 1..n per provision
    again = pbp("ingest", batch.inbox, cwd=ws, timeout=WAIT)
    assert again.rc == 1 and again.err == "", again.where()
    rows = ledger_rows(ws, "received")
    assert sorted(r["sha256"] for r in rows) == sorted(sha256(p) for p in batch.inbox.iterdir())
    versions: dict[str, list[int]] = {}
    for r in rows:
        versions.setdefault(r["partnership"], []).append(r["version"])
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in versions.values()), versions
    feedback = [p for p in (ws / "feedback").rglob("*.xlsx")]
    assert len(feedback) == sum(1 for r in rows if r["status"] != "accepted")
    no_temporaries(ws)


# --------------------------------------------------------------------------- generate and consolidate


def big_roster(ws: Path, n: int) -> None:
    """n provisions (enough for generate to use worker processes), each with a 2025-26 allocation."""
    wb = openpyxl.load_workbook(ws / "roster.xlsx")
    provisions, allocations = wb["Provisions"], wb["Allocations"]
    for i in range(6, n + 1):
        provisions.append([f"Partnership {i:02d}", f"Host School {i:02d}", f"{970000 + i}", f"Provision {i:02d}"])
        allocations.append([f"Partnership {i:02d}", "2025-26", 300000 + i])
    wb.save(ws / "roster.xlsx")


def test_ctrl_c_during_generate(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    big_roster(ws, 24)
    argv = ["generate", "quarterly", "--year", "2025-26", "--quarter", "1"]
    stopped = interrupt_at("issuing", argv, ws, tmp_path)
    m = one_line(stopped, r"pbp: interrupted after issuing (\d+) of 24 workbooks \(each recorded in the ledger\); "
                          r"run the same command again to finish")
    issued = ledger_rows(ws, "issued")
    outbox = sorted((ws / "outbox" / "2025-26 Q1").glob("*.xlsx"))
    assert len(issued) == int(m.group(1)) == 12
    assert sorted(r["file_name"] for r in issued) == [p.name for p in outbox]  # each workbook written is recorded
    no_temporaries(ws)
    again = pbp(*argv, cwd=ws, timeout=WAIT)
    assert again.rc == 0 and "12 workbook(s) written" in again.out, again.where()
    assert len(ledger_rows(ws, "issued")) == 24 == len(list((ws / "outbox" / "2025-26 Q1").glob("*.xlsx")))


def test_ctrl_c_during_consolidate(batch: Batch, tmp_path: Path) -> None:
    ws = Path(shutil.copytree(batch.template, tmp_path / "ws"))
    assert pbp("ingest", batch.inbox, cwd=ws, timeout=WAIT).rc == 1
    argv = ["consolidate", "--year", "2025-26", "--quarter", "2"]
    stopped = interrupt_at("summaries", argv, ws, tmp_path)
    one_line(stopped, r"pbp: interrupted: consolidate records nothing, and each file it wrote is complete; run the "
                      r"same command again to finish")
    no_temporaries(ws)
    again = pbp(*argv, cwd=ws, timeout=WAIT)
    assert again.rc == 0 and "summaries: 5 in" in again.out, again.where()
