"""Every configuration problem is exit 2 with one line naming the file: pbp.toml (broken,
or a key nobody knows), the ledger (damaged or locked), the workspace folder itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.ledger import store as ledger_mod

# every command that works inside a workspace, with arguments that would otherwise succeed
COMMANDS = [
    ["generate", "quarterly", "--year", "2025-26", "--quarter", "3"],
    ["status", "--year", "2025-26"],
    ["consolidate", "--year", "2025-26", "--quarter", "2", "--no-summaries"],
    ["validate", "FILE"],
    ["ingest", "FILE"],
]


def run(cmd: list[str], file: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    rc = main([str(file) if a == "FILE" else a for a in cmd])
    return rc, capsys.readouterr().err


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("pbp: "), err
    assert "Traceback" not in err and "internal error" not in err, err
    return err


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c[0])
def test_broken_pbp_toml_stops_every_command(workspace: Workspace, q2_files: list[Path], cmd: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    workspace.config_path.write_text("[thresholds\nlarge_item = 30000\n")
    rc, err = run(cmd, q2_files[0], capsys)
    assert rc == 2
    assert f"{workspace.config_path} is not valid TOML" in one_line(err)


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c[0])
def test_a_misspelt_setting_is_named_with_the_nearest_known_one(workspace: Workspace, q2_files: list[Path],
                                                                cmd: list[str],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    text = workspace.config_path.read_text()
    workspace.config_path.write_text(text.replace("large_item = 30000", "large_itme = 30000"))
    rc, err = run(cmd, q2_files[0], capsys)
    assert rc == 2
    assert one_line(err) == (f"pbp: {workspace.config_path}: [thresholds] large_itme is not a known setting; "
                             "did you mean large_item?\n")


def test_an_unknown_section_and_a_key_with_nothing_near(workspace: Workspace,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    good = workspace.config_path.read_text()
    workspace.config_path.write_text(good.replace("[limits]", "[limit]"))
    rc, err = run(["status", "--year", "2025-26"], Path(), capsys)
    assert rc == 2 and "[limit] is not a known section; did you mean [limits]?" in one_line(err)
    workspace.config_path.write_text(good + "\n[folders]\n")  # a table defined twice: not valid TOML
    rc, err = run(["status", "--year", "2025-26"], Path(), capsys)
    assert rc == 2 and "is not valid TOML" in one_line(err)
    workspace.config_path.write_text(good.replace("outbox = ", "colour = 'blue'\noutbox = "))
    rc, err = run(["status", "--year", "2025-26"], Path(), capsys)
    assert rc == 2 and "[folders] colour is not a known setting; the settings there are outbox, feedback, reports" \
        in one_line(err)


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c[0])
def test_a_damaged_ledger_is_named(workspace: Workspace, q2_files: list[Path], cmd: list[str],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    for companion in workspace.state_dir.glob("ledger.sqlite-*"):
        companion.unlink()
    workspace.ledger_path.write_bytes(b"this is not a database, it was overwritten by mistake" * 100)
    rc, err = run(cmd, q2_files[0], capsys)
    assert rc == 2
    assert f"pbp: {workspace.ledger_path} is damaged or is not a pbp ledger" in one_line(err)
    assert "restore it from a backup" in err


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c[0])
def test_a_locked_ledger_is_named(workspace: Workspace, q2_files: list[Path], cmd: list[str],
                                  capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_mod, "DEFAULT_TIMEOUT", 0.3)
    holder = sqlite3.connect(workspace.ledger_path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        rc, err = run(cmd, q2_files[0], capsys)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert rc == 2
    assert f"pbp: {workspace.ledger_path} is locked by another program" in one_line(err)


@pytest.mark.parametrize("cmd", [["status", "--year", "2025-26"], ["validate", "FILE"]], ids=lambda c: c[0])
def test_pbp_workspace_that_does_not_exist(tmp_path: Path, cmd: list[str], capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nonexistent"
    monkeypatch.setenv("PBP_WORKSPACE", str(missing))
    monkeypatch.chdir(tmp_path)
    rc, err = run(cmd, tmp_path / "return.xlsx", capsys)
    assert rc == 2
    assert one_line(err) == (f"pbp: PBP_WORKSPACE={missing}: no such folder; set it to the workspace folder "
                             "(the one holding pbp.toml) or unset it\n")
