"""Guard rails for an LA officer who runs the commands weeks apart: a period is not issued
twice by accident, an old workbook is refused once a new one replaced it, a period never
issued is not consolidated, an empty folder is not a silent success."""

from __future__ import annotations

import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from fill import clean_values, cli_json, fill_openpyxl, read_meta

from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")
Q2 = ["generate", "quarterly", "--year", "2025-26", "--quarter", "2"]


def north(files: list[Path]) -> Path:
    return next(f for f in files if " - North - " in f.name)


def issued_rows(ws: Workspace) -> list[tuple[str, str]]:
    con = sqlite3.connect(ws.ledger_path)
    try:
        return con.execute("SELECT partnership, token FROM issued ORDER BY id").fetchall()
    finally:
        con.close()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.xlsx"))}


run_json = cli_json


@pytest.fixture
def north_return(q2_files: list[Path], tmp_path: Path) -> Path:
    out = tmp_path / "inbox" / north(q2_files).name
    out.parent.mkdir()
    fill_openpyxl(north(q2_files), out, clean_values(SPEC, 2, Decimal("412500.00"), seed=7))
    return out


def test_issuing_a_period_again_is_refused(workspace: Workspace, q2_files: list[Path], north_return: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    outbox = q2_files[0].parent
    before, tokens = snapshot(outbox), issued_rows(workspace)
    assert main(["ingest", str(north_return)]) == 0
    capsys.readouterr()
    assert main(Q2) == 2
    err = capsys.readouterr().err
    assert err.startswith("pbp: 2025-26 Q2 was already issued on ") and err.count("\n") == 1, err
    assert "(5 workbooks; 1 return received for it so far)" in err
    assert "pbp generate quarterly --year 2025-26 --quarter 2 --reissue" in err
    assert snapshot(outbox) == before and issued_rows(workspace) == tokens


def test_reissue_supersedes_the_old_tokens(workspace: Workspace, q2_files: list[Path], north_return: Path,
                                           tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_blank = tmp_path / "old blank.xlsx"
    shutil.copyfile(north(q2_files), old_blank)
    old_token = read_meta(old_blank)["issue_token"]
    capsys.readouterr()
    assert main([*Q2, "--reissue"]) == 0
    out = capsys.readouterr().out
    assert "5 workbook(s) written" in out and "Re-issued for North, East, South, West, Central" in out
    rows = issued_rows(workspace)
    assert len(rows) == 10 and len({t for _, t in rows}) == 10
    new_token = read_meta(north(q2_files))["issue_token"]
    assert new_token != old_token
    # a return made from the old workbook: refused, with a finding that says why and what to do
    code, [r] = run_json(capsys, "ingest", str(north_return))
    assert code == 1 and r["status"] == "rejected"
    assert [f["code"] for f in r["findings"]] == ["T-E008"], r["findings"]
    assert "The LA issued a new workbook for North (Northfield Primary School, URN 990101) for 2025-26 Q2 on " \
        in r["findings"][0]["message"]
    # ...and its feedback workbook is the new one, with their figures: sending it back is accepted
    feedback = workspace.root / r["feedback"]
    assert read_meta(feedback)["issue_token"] == new_token
    code, [again] = run_json(capsys, "validate", str(feedback))
    assert "T-E008" not in {f["code"] for f in again["findings"]}
    assert code == 0 and again["status"] == "accepted", again["findings"]
    # the workbook issued now is not superseded
    code, [fresh] = run_json(capsys, "validate", str(north(q2_files)))
    assert not {f["code"] for f in fresh["findings"]} & {"T-E003", "T-E008"}
    code, [old] = run_json(capsys, "validate", str(old_blank))
    assert old["findings"][0]["code"] == "T-E008"


def test_an_interrupted_issue_is_finished_by_running_it_again(workspace: Workspace, q2_files: list[Path],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A run stopped after four workbooks (the fifth neither written nor recorded): the same
    command writes the fifth only, and leaves the four already sent alone."""
    con = sqlite3.connect(workspace.ledger_path)
    con.execute("DELETE FROM issued WHERE partnership = 'Central'")
    con.commit()
    con.close()
    central = next(f for f in q2_files if " - Central - " in f.name)
    central.unlink()
    before = snapshot(q2_files[0].parent)
    capsys.readouterr()
    assert main(Q2) == 0
    out = capsys.readouterr().out
    assert "1 workbook(s) written" in out
    assert "Already issued for this period, left as they were: North, East, South, West" in out
    after = snapshot(q2_files[0].parent)
    assert {k: v for k, v in after.items() if k != central.name} == before and central.name in after
    assert [p for p, _ in issued_rows(workspace)] == ["North", "East", "South", "West", "Central"]
    assert main(Q2) == 2


def test_consolidating_a_period_never_issued_is_refused(workspace: Workspace, q2_files: list[Path],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["consolidate", "--year", "2025-26", "--quarter", "3"]) == 2
    err = capsys.readouterr().err
    assert err == ("pbp: 2025-26 Q3 was never issued: there is nothing to consolidate. Quarters issued for "
                   "2025-26: Q2\n")
    assert not (workspace.root / "reports").exists()
    assert main(["consolidate", "--year", "2026-27", "--quarter", "1"]) == 2
    assert "Issue it first: pbp generate quarterly --year 2026-27 --quarter 1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ingest", "validate"])
def test_an_empty_folder_is_named(workspace: Workspace, tmp_path: Path, command: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "inbox"
    empty.mkdir()
    (empty / ".DS_Store").write_bytes(b"\0")  # hidden files are not returns
    capsys.readouterr()
    assert main([command, str(empty)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"pbp: no files found in {empty}\n" and captured.out == ""


def test_an_empty_folder_beside_other_files_gets_its_own_line(workspace: Workspace, north_return: Path,
                                                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "later"
    empty.mkdir()
    code, reports = run_json(capsys, "validate", str(empty), str(north_return))
    assert code == 1 and [r["file"] for r in reports] == [str(empty), str(north_return)]
    assert reports[1]["status"] == "accepted"
    assert reports[0]["findings"][0]["message"].startswith("This path is a folder with no files in it")
