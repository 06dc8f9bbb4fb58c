"""pbp ingest and status on real files: archive, versions, duplicates, feedback round trip."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from fill import clean_values, cli_json, fill_openpyxl

from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")


def north(files: list[Path]) -> Path:
    return next(f for f in files if " - North - " in f.name)


run_json = cli_json


@pytest.fixture
def clean_north(q2_files: list[Path], tmp_path: Path) -> Path:
    out = tmp_path / "inbox" / north(q2_files).name
    out.parent.mkdir()
    fill_openpyxl(north(q2_files), out, clean_values(SPEC, 2, Decimal("412500.00"), seed=11))
    return out


def test_ingest_archives_records_and_accepts(workspace, clean_north: Path, capsys) -> None:
    before = clean_north.read_bytes()
    code, reports = run_json(capsys, "ingest", str(clean_north))
    assert code == 0
    [r] = reports
    assert r["status"] == "accepted" and r["findings"] == []
    assert r["return"]["partnership"] == "North" and r["return"]["quarter"] == 2
    assert r["version"] == 1
    sha = hashlib.sha256(before).hexdigest()
    archived = workspace.root / r["archived"]
    assert archived.read_bytes() == before and sha in archived.name
    assert clean_north.read_bytes() == before
    con = sqlite3.connect(workspace.ledger_path)
    assert con.execute("SELECT sha256, original_name, status, version, partnership FROM received").fetchall() == [
        (sha, clean_north.name, "accepted", 1, "North")]


def test_an_archive_that_cannot_be_written_stops_ingest_without_blaming_the_file(
        workspace, clean_north: Path, capsys) -> None:
    """Disk full or no permission on the LA's side is a workspace problem (exit 2, one line),
    not 'the school's file cannot be read'; nothing is recorded and the file is untouched."""
    before = clean_north.read_bytes()
    shutil.rmtree(workspace.archive_dir)
    workspace.archive_dir.write_text("not a folder")  # as root, permissions would not stop a write
    code = main(["ingest", str(clean_north)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "archive" in err and "F-E" not in err and "Traceback" not in err, err
    assert clean_north.read_bytes() == before
    assert sqlite3.connect(workspace.ledger_path).execute("SELECT COUNT(*) FROM received").fetchone() == (0,)


def test_the_same_bytes_twice_are_recognised(workspace, clean_north: Path, tmp_path: Path, capsys) -> None:
    assert main(["ingest", str(clean_north)]) == 0
    assert "accepted" in capsys.readouterr().out
    copy = tmp_path / "copy of the same return.xlsx"
    shutil.copy(clean_north, copy)
    code, [r] = run_json(capsys, "ingest", str(copy))
    assert code == 0 and r["new"] is False and r["duplicate_of"] == clean_north.name
    con = sqlite3.connect(workspace.ledger_path)
    assert con.execute("SELECT COUNT(*) FROM received").fetchone() == (1,)


def test_resubmission_becomes_version_2_and_official(workspace, q2_files: list[Path], tmp_path: Path, capsys) -> None:
    values = clean_values(SPEC, 2, Decimal("412500.00"), seed=12)
    first = tmp_path / "north v1.xlsx"
    fill_openpyxl(north(q2_files), first, {**values, "email": "finance at school"})
    code, [r1] = run_json(capsys, "ingest", str(first))
    assert code == 1 and r1["status"] == "rejected" and r1["version"] == 1
    assert [f["code"] for f in r1["findings"]] == ["Q-E108"]
    assert r1["findings"][0]["cell"] == SPEC["email"].cell
    # the school corrects the feedback workbook and sends it back
    feedback = Path(r1["feedback"])
    assert feedback.exists()
    second = tmp_path / "north v2.xlsx"
    fill_openpyxl(feedback, second, {"email": "bursar@northfield.example.sch.uk"})
    code, [r2] = run_json(capsys, "ingest", str(second))
    assert code == 0, r2
    assert r2["status"] == "accepted" and r2["version"] == 2
    code, rows = run_json(capsys, "status", "--year", "2025-26", "--quarter", "2")
    row = next(x for x in rows if x["partnership"] == "North")
    assert (row["state"], row["official_version"], row["received"]) == ("accepted", 2, 2)
    east = next(x for x in rows if x["partnership"] == "East")
    assert (east["state"], east["official_version"], east["received"]) == ("missing", None, 0)


def test_feedback_workbook_marks_cells_and_lists_issues(workspace, q2_files: list[Path], tmp_path: Path, capsys) -> None:
    values = clean_values(SPEC, 2, Decimal("412500.00"), seed=13)
    bad = tmp_path / "bad.xlsx"
    fill_openpyxl(north(q2_files), bad, {**values, "placements_outside_ks": 1, "placements_mdm_held": "No",
                                         "prepared_by": None})
    code, [r] = run_json(capsys, "ingest", str(bad))
    assert code == 1
    wb = openpyxl.load_workbook(r["feedback"])
    assert wb.sheetnames[:3] == ["Instructions", "Return", "Checks"] and "Issues" in wb.sheetnames
    ws = wb["Return"]
    mdm = ws[SPEC["placements_mdm_held"].cell]
    assert mdm.value == "No"  # the officer's own value
    assert "Q-E211" in mdm.comment.text
    assert mdm.fill.fgColor.rgb == "FFF4B6B6"
    assert "Q-E101" in ws[SPEC["prepared_by"].cell].comment.text
    issues = wb["Issues"]
    rows = [[c.value for c in row] for row in issues.iter_rows(min_row=5)]
    assert {row[0] for row in rows} == {"Q-E101", "Q-E211"}
    link = next(row for row in issues.iter_rows(min_row=5) if row[0].value == "Q-E211")[2]
    assert link.hyperlink.location == f"Return!{SPEC['placements_mdm_held'].cell}"
    assert ws.protection.sheet and wb.security.lockStructure


def test_renamed_file_is_identified_by_its_content(workspace, q2_files: list[Path], tmp_path: Path, capsys) -> None:
    renamed = tmp_path / "PBP Quarterly Return 2025-26 Q2 - South - Southmead C of E Primary.xlsx"
    fill_openpyxl(north(q2_files), renamed, clean_values(SPEC, 2, Decimal("412500.00"), seed=14))
    code, [r] = run_json(capsys, "ingest", str(renamed))
    assert code == 0 and r["return"]["partnership"] == "North"


def test_validate_records_nothing(workspace, clean_north: Path, capsys) -> None:
    code, [r] = run_json(capsys, "validate", str(clean_north))
    assert code == 0 and r["status"] == "accepted"
    con = sqlite3.connect(workspace.ledger_path)
    assert con.execute("SELECT COUNT(*) FROM received").fetchone() == (0,)
    assert not any((workspace.root / ".pbp" / "archive").rglob("*.xlsx"))


def test_folders_are_walked_and_lock_files_skipped(workspace, clean_north: Path, capsys) -> None:
    (clean_north.parent / "~$lock.xlsx").write_bytes(b"lock")
    code, reports = run_json(capsys, "ingest", str(clean_north.parent))
    assert code == 0 and [Path(r["file"]).name for r in reports] == [clean_north.name]


def test_text_from_a_return_never_becomes_a_formula_in_feedback(workspace, q2_files: list[Path], tmp_path: Path,
                                                                  capsys) -> None:
    import zipfile

    values = clean_values(SPEC, 2, Decimal("412500.00"), seed=15)
    evil = {"exp_transport_commentary": '=HYPERLINK("http://example.invalid","x")', "role": "+1+1",
            "other_description": "@SUM(A1)", "surplus_other_description": "-2+3"}
    bad = tmp_path / "evil.xlsx"
    fill_openpyxl(north(q2_files), bad, {**values, **evil, "email": "not an email"})
    code, [r] = run_json(capsys, "ingest", str(bad))
    assert code == 1 and r["feedback"]
    ws = openpyxl.load_workbook(r["feedback"])["Return"]
    for name, text in evil.items():
        c = ws[SPEC[name].cell]
        assert (c.value, c.data_type) == (text, "s"), name
    with zipfile.ZipFile(r["feedback"]) as zf:
        sheet = zf.read("xl/worksheets/sheet2.xml").decode()
    assert "HYPERLINK" not in sheet and "SUM(A1)" not in sheet  # only in shared strings, never in <f>


def test_a_large_batch_in_worker_processes_gives_what_one_process_gives(workspace, q2_files: list[Path],
                                                                         tmp_path: Path, monkeypatch, capsys) -> None:
    """A large batch is read, checked and given its feedback workbooks by worker processes
    (drafts renamed into view as each file is recorded): the reports, ledger rows and
    feedback workbooks are those of the same batch in one process."""
    from pbp_workbooks.intake import validation

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(validation.PARALLEL_FROM + 1):
        src = q2_files[i % len(q2_files)]
        values = clean_values(SPEC, 2, Decimal("412500.00"), seed=100 + i)
        if i % 3 == 0:
            values["email"] = "not an email"
        fill_openpyxl(src, inbox / f"{i:02d} {src.name}", values)
    twin = Path(shutil.copytree(workspace.root, tmp_path / "twin"))
    pool = validation.pool_for(validation.PARALLEL_FROM + 1)
    assert pool is not None  # this batch is one the workers take
    pool.shutdown()

    def when(v: object) -> object:  # the time a workbook was generated (hidden _meta) differs by a second
        return re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", "<generated at>", v) if isinstance(v, str) else v

    def outcome(root: Path) -> tuple[int, list[dict], list[tuple], dict[str, list]]:
        code, reports = run_json(capsys, "ingest", str(inbox))
        for r in reports:
            r.pop("received_at")
            if r.get("feedback"):
                r["feedback"] = str(Path(r["feedback"]).relative_to(root))
        con = sqlite3.connect(root / ".pbp" / "ledger.sqlite")
        rows = con.execute("SELECT id, sha256, original_name, archive_path, kind, year, quarter, partnership, token,"
                           " version, status, findings_json, values_json FROM received ORDER BY id").fetchall()
        books = {str(p.relative_to(root)): [[when(c.value) for c in row] for ws in openpyxl.load_workbook(p)
                                            for row in ws.iter_rows()]
                 for p in sorted((root / "feedback").rglob("*")) if p.is_file()}
        return code, reports, rows, books

    parallel = outcome(workspace.root)
    monkeypatch.setattr(validation, "PARALLEL_FROM", 10**6)
    monkeypatch.chdir(twin)
    serial = outcome(twin)
    assert parallel == serial
    code, reports, _rows, books = parallel
    assert code == 1 and len(books) == sum(1 for r in reports if r.get("feedback")) >= 5
    assert not [p for p in workspace.root.rglob("*") if p.name.endswith(".tmp")]  # no draft left behind


def test_validate_outside_a_workspace_says_the_token_was_not_checked(workspace, clean_north: Path, tmp_path: Path,
                                                                    monkeypatch, capsys) -> None:
    inside = main(["validate", str(clean_north)])
    assert inside == 0 and "token not checked" not in capsys.readouterr().out
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["validate", str(clean_north)]) == 0
    out = capsys.readouterr().out
    assert f"OK   accepted: {clean_north} [North 2025-26 Q2]; token not checked (no workspace)\n" in out
    code, [r] = run_json(capsys, "validate", str(clean_north))
    assert code == 0 and r["status"] == "accepted" and r["token_checked"] is False


def test_a_duplicate_says_where_its_bytes_are_archived(workspace, clean_north: Path, tmp_path: Path, capsys) -> None:
    code, [first] = run_json(capsys, "ingest", str(clean_north))
    assert code == 0 and first["new"] is True
    again = tmp_path / "again.xlsx"
    shutil.copyfile(clean_north, again)
    code, [dup] = run_json(capsys, "ingest", str(again))
    assert code == 0 and dup["new"] is False and dup["duplicate_of"] == clean_north.name
    assert dup["archived"] == first["archived"] and (workspace.root / dup["archived"]).read_bytes() == again.read_bytes()
