"""The ledger's schema version is read on open and migrations run in order, once, in
one transaction; a workspace made by the first release (tests/fixtures/ledger-v1/,
built by commit 2de012c) opens with today's code with everything kept."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pbp_workbooks.base.errors import ConfigError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.ledger import store as ledger_mod
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.reports.consolidation import load

FIXTURE = Path(__file__).parent / "fixtures" / "ledger-v1"
YEAR = "2025-26"


@pytest.fixture
def old_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("PBP_WORKSPACE", raising=False)
    return Workspace(root.resolve())


# the first release's columns (a later migration may add columns: migration 3 adds ``subject``)
FIRST_COLUMNS = {
    "issued": "id, template, template_version, kind, year, quarter, partnership, host_school, urn, token, file_name, "
              "sha256, issued_at, prefill_json",
    "received": "id, sha256, original_name, archive_path, received_at, kind, year, quarter, partnership, token, "
                "version, status, findings_json, values_json",
}


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the first release's tables, in the first release's columns, read without pbp's code."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT {cols} FROM {t} ORDER BY rowid").fetchall() for t, cols in FIRST_COLUMNS.items()}
    finally:
        conn.close()


def version_of(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
    finally:
        conn.close()


def test_the_fixture_is_a_first_release_ledger(tmp_path: Path) -> None:
    assert sorted(p.name for p in (FIXTURE / ".pbp").iterdir()) == ["ledger.sqlite"]  # no -wal: nothing uncommitted
    path = Path(shutil.copy(FIXTURE / ".pbp" / "ledger.sqlite", tmp_path))  # a WAL reader would leave -shm files
    assert version_of(path) == 1
    before = rows(path)
    assert len(before["issued"]) == 15 and len(before["received"]) == 20


def test_a_first_release_workspace_opens_with_everything_kept(old_ws: Workspace, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    before = rows(old_ws.ledger_path)
    assert main(["status", "--year", YEAR, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    got = {(r["period"], r["partnership"]): (r["state"], r["received"], r["official_version"]) for r in status}
    assert got[(f"{YEAR} Q1", "West")] == ("missing", 0, None)
    assert got[(f"{YEAR} Q2", "North")] == ("accepted_with_warnings", 1, 1)
    for p in ("East", "South", "West", "Central"):
        assert got[(f"{YEAR} Q2", p)] == ("accepted", 2, 2)
    assert got[(f"{YEAR} annual", "East")] == ("accepted", 2, 2)
    assert got[(f"{YEAR} Q3", "North")] == ("not issued", 0, None)

    assert main(["consolidate", "--year", YEAR, "--quarter", "2", "--out", "out"]) == 0
    with (old_ws.root / "out" / f"PBP consolidated {YEAR} Q2 - partnerships.csv").open(encoding="utf-8-sig") as fh:
        lines = {(r["reporting_quarter"], r["partnership"]): r for r in csv.DictReader(fh)}
    # the figures the first release's own consolidation printed for this ledger
    expected = {("1", "North"): ("1", "21152.28"), ("1", "East"): ("1", "22692.45"), ("1", "South"): ("1", "24697.88"),
                ("1", "West"): ("", ""), ("1", "Central"): ("1", "36166.39"),
                ("2", "North"): ("1", "56847.29"), ("2", "East"): ("2", "12541.24"), ("2", "South"): ("2", "26412.40"),
                ("2", "West"): ("2", "9579.93"), ("2", "Central"): ("2", "30809.54")}
    assert {k: (r["version"], r["forecast_balance"]) for k, r in lines.items()} == expected

    log = load(old_ws, FinancialYear.parse(YEAR), 2).findings
    assert sorted((f["period"], f["partnership"] or "", f["version"] or 0, f["code"]) for f in log) == [
        (f"{YEAR} Q2", "Central", 1, "Q-E211"), (f"{YEAR} Q2", "East", 1, "Q-E201"), (f"{YEAR} Q2", "North", 1, "Q-W213"),
        (f"{YEAR} Q2", "South", 1, "Q-E108"), (f"{YEAR} Q2", "West", 1, "Q-E203"), ("unidentified file", "", 0, "F-E008")]

    assert rows(old_ws.ledger_path) == before  # every row, every column, byte for byte
    assert version_of(old_ws.ledger_path) == ledger_mod.SCHEMA_VERSION
    conn = sqlite3.connect(f"file:{old_ws.ledger_path}?mode=ro", uri=True)
    try:  # migration 3: every return the first release recorded was issued to a provision (no subject)
        for table in FIRST_COLUMNS:
            assert conn.execute(f"SELECT DISTINCT subject FROM {table}").fetchall() == [("",)], table
    finally:
        conn.close()


def test_a_new_workspace_has_every_migration(workspace: Workspace) -> None:
    assert version_of(workspace.ledger_path) == ledger_mod.SCHEMA_VERSION
    conn = sqlite3.connect(workspace.ledger_path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert {"meta", "issued", "received"} <= tables


def _add_migrations(monkeypatch: pytest.MonkeyPatch, *extra: ledger_mod.Migration) -> None:
    migrations = [*ledger_mod.MIGRATIONS, *extra]
    monkeypatch.setattr(ledger_mod, "MIGRATIONS", migrations)
    monkeypatch.setattr(ledger_mod, "SCHEMA_VERSION", migrations[-1][0])


def test_later_migrations_run_in_order_once_and_keep_every_row(old_ws: Workspace,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = rows(old_ws.ledger_path)
    calls: list[int] = []

    def backfill(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("INSERT INTO email (message_id, received_at) SELECT 'issued-' || token, issued_at FROM issued")

    _add_migrations(
        monkeypatch,
        (2, "the emails the LA received",
         "CREATE TABLE email (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, received_at TEXT NOT NULL);"
         " CREATE INDEX email_when ON email (received_at)"),
        (3, "one email per issued workbook (a function, after the table exists)", backfill))
    with Ledger(old_ws.ledger_path) as ledger:
        assert ledger.conn.execute("SELECT COUNT(*) FROM email").fetchone()[0] == 15
    with Ledger(old_ws.ledger_path):
        pass
    assert calls == [1]
    assert version_of(old_ws.ledger_path) == 3
    assert rows(old_ws.ledger_path) == before


def _disk_gone(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO email (message_id, received_at) VALUES ('a', 'b')")
    raise RuntimeError("disk gone")


def _duplicate_key(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO email (message_id, received_at) VALUES ('a', 'b')")
    conn.execute("INSERT INTO meta VALUES ('schema_version', 'again')")  # a bug in a migration


@pytest.mark.parametrize(("broken", "error"), [(_disk_gone, RuntimeError), (_duplicate_key, sqlite3.IntegrityError)])
def test_a_failing_migration_changes_nothing(old_ws: Workspace, monkeypatch: pytest.MonkeyPatch, broken: Any,
                                             error: type[Exception]) -> None:
    _add_migrations(monkeypatch, (2, "emails", "CREATE TABLE email (message_id TEXT, received_at TEXT)"),
                    (3, "broken", broken))
    with pytest.raises(error):  # a bug in a migration is not reported as a damaged ledger
        Ledger(old_ws.ledger_path)
    assert version_of(old_ws.ledger_path) == 1
    conn = sqlite3.connect(old_ws.ledger_path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'email'").fetchone() is None
    conn.close()


def test_a_ledger_from_a_newer_version_is_refused(old_ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(old_ws.ledger_path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = old_ws.ledger_path.read_bytes()
    assert main(["status", "--year", YEAR]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "newer pbp-workbooks" in err and "schema 99" in err and "pip install -U pbp-workbooks" in err
    assert main(["ingest", str(FIXTURE / "roster.xlsx")]) == 2  # nothing written to it either
    assert old_ws.ledger_path.read_bytes() == before


@pytest.mark.parametrize("content", [b"this is not a database, it was overwritten by mistake\n" * 100,
                                     b"SQLite format 3\x00" + b"\x00" * 4000])
def test_a_ledger_that_is_not_a_database_stops_with_one_line(old_ws: Workspace, content: bytes,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    old_ws.ledger_path.write_bytes(content)
    assert main(["status", "--year", YEAR]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "ledger" in err, err


def test_a_non_numeric_schema_version_is_refused(old_ws: Workspace) -> None:
    conn = sqlite3.connect(old_ws.ledger_path)
    conn.execute("UPDATE meta SET value = 'one' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="schema version 'one'"):
        Ledger(old_ws.ledger_path)


def test_migration_sql_splits_into_whole_statements() -> None:
    sql = """CREATE TABLE a (x TEXT DEFAULT ';');
    CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 'y;z'; DELETE FROM a WHERE 0; END;
    """
    assert ledger_mod.statements(sql) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 'y;z'; DELETE FROM a WHERE 0; END;"]
    with pytest.raises(ValueError, match="incomplete"):
        ledger_mod.statements("CREATE TABLE b (x TEXT DEFAULT 'unclosed)")
