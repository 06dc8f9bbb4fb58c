"""`pbp ingest` killed at random moments, and two ingests at once, over a real batch.

The batch: 20 issued quarterly workbooks (Q1-Q4, five provisions), four of them filled in
again through openpyxl (new bytes, same identity: a second version each) and six files of
the third-party corpus (or more refills when the corpus is absent): 30 files. A clean
single run in a copy of the same workspace is the reference. Every run is a real process.

Invariants checked after every kill: the ledger opens and passes `PRAGMA integrity_check`;
each `received` row's archive file exists with the row's sha256; no sha256 twice; versions
unique per identity. After a final run to completion, and after two overlapping runs at
once: the same files recorded as by the reference run, versions 1..n per identity.

Temporary files: a killed run may leave a hidden (dot-named) temporary in .pbp/archive or in
a feedback folder. They are never shown to the user (hidden, and skipped when a folder is
ingested), never mistaken for a received file, and removed by a later ingest once they are
more than an hour old (age decides, not the process id: a workspace can be shared by
several computers). Nothing named *.tmp is ever visible.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_hostile_cli import clean_env, corpus_files, init_workspace, pbp, received, sha256, with_cell

pytestmark = pytest.mark.slow  # subprocesses and SIGKILL rounds: run in CI, not on every save

SEED = 20261123
ROUNDS = 5  # random kills between 0.2 and 2.5 s, plus one kill just after the first record
RUN_TIMEOUT = 180  # a whole batch, on a loaded machine


@dataclass
class Batch:
    template: Path  # a workspace with the four quarters issued and nothing received
    files: list[Path]  # the 30 files, in the order a folder walk takes them
    reference: dict[str, tuple[Any, ...]]  # sha256 -> (kind, year, quarter, partnership, version, status)


def identity_row(row: sqlite3.Row) -> tuple[Any, ...]:
    return (row["kind"], row["year"], row["quarter"], row["partnership"], row["version"], row["status"])


def copy_workspace(batch: Batch, dst: Path) -> Path:
    shutil.copytree(batch.template, dst)
    return dst


def start_ingest(ws: Path, *paths: Path, out: Path) -> subprocess.Popen[bytes]:
    with out.open("wb") as stdout, out.with_suffix(".err").open("wb") as stderr:
        return subprocess.Popen([sys.executable, "-m", "pbp_workbooks", "ingest", "--json", *map(str, paths)],
                                cwd=ws, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                env=clean_env(PBP_DEBUG="1"))  # a bug shows its traceback (and fails)


def finish(proc: subprocess.Popen[bytes], out: Path) -> tuple[int, list[dict[str, Any]], str]:
    rc = proc.wait(timeout=RUN_TIMEOUT)
    err = out.with_suffix(".err").read_text("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err
    assert "locked" not in err and "busy" not in err, err
    assert err == "", err
    return rc, json.loads(out.read_text("utf-8")), err


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    root = tmp_path_factory.mktemp("crash")
    template = init_workspace(root / "template")
    for quarter in (1, 2, 3, 4):
        run = pbp("generate", "quarterly", "--year", "2025-26", "--quarter", str(quarter), cwd=template)
        assert run.rc == 0, run.where()
    issued = sorted((template / "outbox").rglob("*.xlsx"))
    assert len(issued) == 20
    inbox = root / "inbox"
    inbox.mkdir()
    files: list[Path] = []
    for i, src in enumerate(issued):
        files.append(inbox / f"{len(files) + 1:02d} {src.name}")
        shutil.copyfile(src, files[-1])
        if i % 5 == 1:  # the school sends a second, different copy of some of them
            files.append(with_cell(src, inbox / f"{len(files) + 1:02d} resent {src.name}",
                                   prepared_by=f"Officer {i}", role="School Business Manager"))
    corpus = [p for p in corpus_files() if p.suffix in (".xlsx", ".xls", ".ods", ".xlsm")][:: 9][:6]
    for p in corpus:
        files.append(inbox / f"{len(files) + 1:02d} {p.name}")
        shutil.copyfile(p, files[-1])
    i = 0
    while len(files) < 30:  # no corpus here: more refilled copies instead
        files.append(with_cell(issued[i], inbox / f"{len(files) + 1:02d} extra {issued[i].name}", prepared_by=f"X{i}"))
        i += 1
    assert len(files) == 30 and len({sha256(p) for p in files}) == 30  # all different bytes
    assert sorted(inbox.iterdir()) == files
    # the reference: one clean run over the whole folder in a copy of the workspace
    ws = shutil.copytree(template, root / "reference")
    proc = start_ingest(ws, inbox, out=root / "reference.json")
    rc, reports, _ = finish(proc, root / "reference.json")
    assert rc == 1 and len(reports) == 30 and all(r["new"] for r in reports)
    reference = {sha: identity_row(row) for sha, row in received(ws).items()}
    assert len(reference) == 30
    return Batch(template, files, reference)


# --------------------------------------------------------------------------- invariants


def check_ledger(ws: Path) -> dict[str, sqlite3.Row]:
    """What any later command relies on, true at every moment."""
    con = sqlite3.connect(ws / ".pbp" / "ledger.sqlite", timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        dup_versions = con.execute(
            "SELECT kind, year, quarter, partnership, version, COUNT(*) FROM received WHERE partnership IS NOT NULL"
            " GROUP BY kind, year, quarter, partnership, version HAVING COUNT(*) > 1").fetchall()
        assert dup_versions == []
    finally:
        con.close()
    rows = received(ws)  # asserts each sha256 once
    for sha, row in rows.items():
        archived = ws / row["archive_path"]
        assert archived.is_file(), f"{row['original_name']}: archive file missing"
        assert sha256(archived) == sha, f"{row['original_name']}: archive file differs from the record"
    return rows


def check_versions(rows: dict[str, sqlite3.Row]) -> None:
    """Versions of each identity are 1..n: no gap, no duplicate."""
    by_identity: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in rows.values():
        if row["partnership"] is not None:
            by_identity[(row["kind"], row["year"], row["quarter"], row["partnership"])].append(row["version"])
    for identity, versions in by_identity.items():
        assert sorted(versions) == list(range(1, len(versions) + 1)), (identity, versions)


def check_same_as_reference(rows: dict[str, sqlite3.Row], batch: Batch, *, exact_versions: bool) -> None:
    assert set(rows) == set(batch.reference)
    for sha, row in rows.items():
        got, want = identity_row(row), batch.reference[sha]
        if exact_versions:
            assert got == want, (row["original_name"], got, want)
        else:  # which run got which version may differ; the rest may not
            assert got[:4] + got[5:] == want[:4] + want[5:], (row["original_name"], got, want)
    check_versions(rows)


def temporaries(ws: Path) -> list[Path]:
    return [p for p in ws.rglob("*") if p.name.endswith(".tmp") or ".tmp." in p.name]


def check_temporaries_hidden(ws: Path) -> None:
    for p in temporaries(ws):
        assert p.name.startswith("."), f"visible temporary file {p}"
        assert p.parent == ws / ".pbp" / "archive" or (ws / "feedback") in p.parents, p
    assert not [p for p in (ws / "feedback").rglob("*") if p.is_file() and not p.name.startswith(".")
                and p.suffix != ".xlsx"]


def ledger_count(ws: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{ws / '.pbp' / 'ledger.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT COUNT(*) FROM received").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


# --------------------------------------------------------------------------- crash safety


def test_killed_ingest_leaves_a_consistent_ledger_and_a_rerun_completes(batch: Batch, tmp_path: Path) -> None:
    ws = copy_workspace(batch, tmp_path / "ws")
    inbox = batch.files[0].parent
    rng = random.Random(SEED)
    # None: kill just after the first new record; first, so there is something left to record
    # however fast this machine is. Then kills at random moments.
    delays: list[float | None] = [None] + [round(rng.uniform(0.2, 2.5), 2) for _ in range(ROUNDS)]
    killed = 0
    killed_while_recording = 0
    for n, delay in enumerate(delays):
        before = ledger_count(ws)
        proc = start_ingest(ws, inbox, out=tmp_path / f"round{n}.json")
        if delay is None:
            deadline = time.monotonic() + RUN_TIMEOUT
            while proc.poll() is None and ledger_count(ws) == before and time.monotonic() < deadline:
                time.sleep(0.02)
        else:
            time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=RUN_TIMEOUT)
        rows = check_ledger(ws)
        if proc.returncode == -signal.SIGKILL and before < len(rows) < 30:
            killed_while_recording += 1
        check_versions(rows)
        assert len(rows) >= before  # nothing recorded is ever lost
        check_temporaries_hidden(ws)
    assert killed >= 1, "the runs finished before they could be killed"
    assert killed_while_recording >= 1, "no kill landed while files were being recorded"
    # a stale temporary left by a killed run on another day, as the sweep will find it
    stale = [ws / ".pbp" / "archive" / ".incoming-99999-1.tmp",
             ws / "feedback" / "2025-26 Q2" / ".North v9 feedback - x.xlsx.99999.tmp"]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half a file")
        os.utime(p, (time.time() - 7200, time.time() - 7200))
    # the next run finishes the job: every file recorded once, as a clean run records it
    rc, reports, _ = finish(start_ingest(ws, inbox, out=tmp_path / "final.json"), tmp_path / "final.json")
    assert rc == 1 and len(reports) == 30
    assert Counter(r["new"] for r in reports)[True] == 30 - len(rows)
    rows = check_ledger(ws)
    check_same_as_reference(rows, batch, exact_versions=True)
    assert not any(p.exists() for p in stale)
    check_temporaries_hidden(ws)
    # every file the ledger lists as rejected with an identity has its feedback workbook
    final = {r["sha256"]: r for r in reports}
    for sha, row in rows.items():
        if row["partnership"] is not None and row["status"] == "rejected" and final[sha]["new"]:
            assert Path(final[sha]["feedback"]).is_file()


def test_a_run_after_a_kill_ignores_fresh_temporaries(batch: Batch, tmp_path: Path) -> None:
    """A temporary that may belong to a run still going (on this or another computer) is
    left alone, and never taken for a received file."""
    ws = copy_workspace(batch, tmp_path / "ws")
    fresh = ws / ".pbp" / "archive" / ".incoming-4242-7.tmp"
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(batch.files[0].read_bytes()[:1000])
    run = pbp("ingest", "--json", batch.files[-1], cwd=ws)
    assert run.rc == 1 and run.err == "", run.where()
    assert fresh.exists() and len(received(ws)) == 1


# --------------------------------------------------------------------------- concurrency


def test_two_overlapping_ingests_at_once_record_each_file_once(batch: Batch, tmp_path: Path) -> None:
    ws = copy_workspace(batch, tmp_path / "ws")
    folders = {"A": (tmp_path / "A", batch.files[:20]), "B": (tmp_path / "B", batch.files[9:])}
    for folder, files in folders.values():
        folder.mkdir()
        for f in files:
            shutil.copyfile(f, folder / f.name)
    procs = {k: start_ingest(ws, folder, out=tmp_path / f"{k}.json") for k, (folder, _) in folders.items()}
    results = {k: finish(p, tmp_path / f"{k}.json") for k, p in procs.items()}
    for k, (rc, reports, _) in results.items():
        assert rc == 1, k  # the batch holds rejected files
        assert [Path(r["file"]).name for r in reports] == [f.name for f in folders[k][1]]
    rows = check_ledger(ws)
    check_same_as_reference(rows, batch, exact_versions=False)
    # each file was new to exactly one of the runs; the other one said it had it already
    all_reports = results["A"][1] + results["B"][1]
    new = Counter(r["sha256"] for r in all_reports if r["new"])
    assert set(new) == set(rows) and set(new.values()) == {1}
    for r in all_reports:
        row = rows[r["sha256"]]
        assert r["status"] == row["status"]
        if not r["new"]:
            assert r["version"] == row["version"]
    # each new rejected return of ours got a feedback workbook named with its own version
    named = []
    for r in all_reports:
        if r["new"] and r.get("feedback"):
            feedback = Path(r["feedback"])
            assert feedback.is_file()
            assert f" v{r['version']} feedback - " in feedback.name, (feedback.name, r["version"])
            named.append(feedback)
    on_disk = [p for p in (ws / "feedback").rglob("*.xlsx") if not p.name.startswith(".")]
    assert sorted(on_disk) == sorted(named), "a feedback workbook nobody reported (a stray from the race)"
    check_temporaries_hidden(ws)
