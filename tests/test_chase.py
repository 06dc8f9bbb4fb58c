"""pbp chase: reminder drafts for the missing and rejected returns; pbp status: the email trail."""

from __future__ import annotations

from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from fill import clean_values, cli_json, fill_openpyxl

from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    code, data = cli_json(capsys, *argv)
    assert code in (0, 1)
    return data


def parse(path: Path) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())  # type: ignore[return-value]


@pytest.fixture
def q2_in(workspace: Workspace, q2_files: list[Path], tmp_path: Path, capsys) -> list[dict]:
    """North's clean return arrives by email; South's, rejected, as a file saved by hand."""
    north = next(f for f in q2_files if " - North - " in f.name)
    south = next(f for f in q2_files if " - South - " in f.name)
    fill_openpyxl(north, tmp_path / "n.xlsx", clean_values(SPEC, 2, Decimal("412500.00"), seed=3))
    fill_openpyxl(south, tmp_path / "inbox" / "south.xlsx",
                  {**clean_values(SPEC, 2, Decimal("436900.00"), seed=4), "email": "nope"})
    m = EmailMessage()
    m["From"], m["Subject"], m["Date"] = "Jo <jo@north.example.sch.uk>", "Q2", "Mon, 13 Oct 2025 10:00:00 +0100"
    m.set_content("attached")
    m.add_attachment((tmp_path / "n.xlsx").read_bytes(), maintype="application", subtype="octet-stream",
                     filename="Q2 North.xlsx")
    (tmp_path / "inbox" / "north.eml").write_bytes(bytes(m))
    return run_json(capsys, "ingest", str(tmp_path / "inbox"))


def test_chase_drafts_exactly_the_missing_and_rejected(workspace: Workspace, q2_in, capsys) -> None:
    chased = run_json(capsys, "chase", "--year", "2025-26", "--quarter", "2")
    assert {c["partnership"]: c["state"] for c in chased} == {
        "East": "missing", "South": "rejected", "West": "missing", "Central": "missing"}
    south = next(c for c in chased if c["partnership"] == "South")
    assert south["attachment_is"] == "feedback workbook" and south["to"] == "sbm@southmead.example.sch.uk"
    draft = parse(workspace.root / south["draft"])
    assert south["draft"].startswith("replies/2025-26 Q2/South reminder ")
    assert draft["X-Unsent"] == "1" and draft["To"] == "sbm@southmead.example.sch.uk"
    assert draft["From"] == "Sample Borough Council schools finance <schools.finance@example.gov.uk>"
    [att] = list(draft.iter_attachments())
    assert att.get_content() == (workspace.root / south["attachment"]).read_bytes()
    assert south["attachment"].startswith("feedback/2025-26 Q2/South v1 feedback")
    text = draft.get_body(("plain",)).get_content()
    assert "could not accept" in text and "1 problem to fix" in text and "30 October 2025" in text
    east = parse(workspace.root / next(c["draft"] for c in chased if c["partnership"] == "East"))
    [att] = list(east.iter_attachments())
    assert att.get_filename() == "PBP Quarterly Return 2025-26 Q2 - East - Eastgate Community Primary.xlsx"
    assert "We have not yet received" in east.get_body(("plain",)).get_content()


def test_dry_run_writes_nothing_and_status_counts_the_chase(workspace: Workspace, q2_in, capsys) -> None:
    chased = run_json(capsys, "chase", "--year", "2025-26", "--quarter", "2", "--dry-run")
    assert len(chased) == 4 and all(c["draft"] is None for c in chased)
    assert not (workspace.root / "replies" / "2025-26 Q2").exists() or not list(
        (workspace.root / "replies" / "2025-26 Q2").glob("* reminder *"))
    capsys.readouterr()
    assert main(["status", "--year", "2025-26", "--quarter", "2", "--trail"]) == 0
    out = capsys.readouterr().out
    assert "4 would be chased (missing or rejected): pbp chase --year 2025-26 --quarter 2" in out
    assert "v1 accepted: received" in out
    assert "email from Jo <jo@north.example.sch.uk>, 'Q2', attachment 'Q2 North.xlsx'" in out
    assert "v1 rejected: received" in out and "file 'south.xlsx'" in out


def test_status_json_carries_the_email_trail(workspace: Workspace, q2_in, capsys) -> None:
    rows = {r["partnership"]: r for r in run_json(capsys, "status", "--year", "2025-26", "--quarter", "2")}
    [v] = rows["North"]["versions"]
    assert v["version"] == 1 and v["status"] == "accepted" and v["file"] == "Q2 North.xlsx"
    assert v["email"] == {"from": "jo@north.example.sch.uk", "sender_name": "Jo", "date": "2025-10-13T10:00:00+01:00",
                          "subject": "Q2", "attachment": "Q2 North.xlsx", "message_file": "north.eml"}
    [s] = rows["South"]["versions"]
    assert s["email"] is None and s["file"] == "south.xlsx"
    assert rows["East"]["versions"] == []
    assert rows["North"]["chase"] is None
    east = rows["East"]["chase"]  # the sample roster's Q2 2025-26 is due 30 October 2025: long past
    assert east.startswith("nothing received; late: was due 30 October 2025 (") and east.endswith(" days ago)")
    assert rows["South"]["chase"].startswith("version 1 rejected, no version accepted")


def test_annual_reminders_come_from_the_head_of_inclusion_services(workspace: Workspace, capsys) -> None:
    assert main(["generate", "annual", "--year", "2025-26"]) == 0
    chased = run_json(capsys, "chase", "--year", "2025-26", "--annual")
    assert [c["partnership"] for c in chased] == ["North", "East", "South", "West", "Central"]
    assert all(c["kind"] == "annual" and c["attachment_is"] == "issued workbook" for c in chased)
    draft = parse(workspace.root / chased[0]["draft"])
    assert draft["From"] == "Dr Alex Morgan <inclusion.services@example.gov.uk>"  # pbp init's sample values
    assert chased[0]["draft"].startswith("replies/2025-26 Annual/")
    text = draft.get_body(("plain",)).get_content()
    assert "the PBP Annual Report 2025-26 for The Harbour (North PBP)" in text and "Head of Inclusion Services" in text


def test_nothing_to_chase_before_anything_is_issued(workspace: Workspace, capsys) -> None:
    assert main(["chase", "--year", "2025-26", "--quarter", "1"]) == 0
    assert "Nobody to chase" in capsys.readouterr().out
