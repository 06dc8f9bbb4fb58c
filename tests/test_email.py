"""Returns that arrive by email: .eml messages built here with the email package, and the two
real Outlook .msg files in ../shared/corpus/email/; reply drafts parsed back with email.parser."""

from __future__ import annotations

import io
import os
import sqlite3
import zipfile
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from conftest import SHARED
from fill import clean_values, cli_json, fill_openpyxl

from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
CORPUS = SHARED / "corpus" / "email"
ALLOCATION = {"North": Decimal("412500.00"), "South": Decimal("436900.00")}


def issued(files: list[Path], partnership: str) -> Path:
    return next(f for f in files if f" - {partnership} - " in f.name)


@pytest.fixture
def returns(q2_files: list[Path], tmp_path: Path) -> dict[str, bytes]:
    """North's clean Q2 return and South's with an invalid email address (rejected), as bytes."""
    out = {}
    for i, (who, fix) in enumerate((("North", {}), ("South", {"email": "bursar at southmead"}))):
        path = tmp_path / "filled" / f"{who}.xlsx"
        fill_openpyxl(issued(q2_files, who), path, {**clean_values(SPEC, 2, ALLOCATION[who], seed=20 + i), **fix})
        out[who] = path.read_bytes()
    return out


def message(attachments: list[tuple[str | None, bytes]] | None = None, *,
            sender: str | None = "Jo Bursar <jo@north.example.sch.uk>", subject: str = "Q2 return",
            date: str | None = "Tue, 14 Oct 2025 09:12:00 +0100", body: str = "Attached.",
            maintype: str = XLSX[0], subtype: str = XLSX[1]) -> EmailMessage:
    m = EmailMessage()
    if sender is not None:
        m["From"] = sender
    m["To"] = "schools.finance@example.gov.uk"
    m["Subject"] = subject
    if date is not None:
        m["Date"] = date
    m["Message-ID"] = "<q2.north@north.example.sch.uk>"
    m.set_content(body)
    for name, data in attachments or []:
        if name is None:
            m.add_attachment(data, maintype=maintype, subtype=subtype)
        else:
            m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m


def save(tmp_path: Path, name: str, m: EmailMessage | bytes) -> Path:
    path = tmp_path / "mailbox" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(m if isinstance(m, bytes) else bytes(m))
    return path


def ingest(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[dict]]:
    return cli_json(capsys, "ingest", *paths)


def draft(ws: Workspace, report: dict) -> EmailMessage:
    path = ws.root / report["email"]["reply"]
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())  # type: ignore[return-value]


def ledger(ws: Workspace, sql: str) -> list[tuple]:
    with sqlite3.connect(ws.ledger_path) as con:
        return con.execute(sql).fetchall()


def test_one_attachment_is_ingested_as_if_saved_by_hand_and_answered(workspace, returns, tmp_path, capsys) -> None:
    eml = save(tmp_path, "north.eml", message([("North Q2.xlsx", returns["North"])]))
    code, [r] = ingest(capsys, eml)
    assert code == 0 and r["status"] == "accepted" and r["version"] == 1
    assert r["file"] == f"{eml} › North Q2.xlsx"
    assert (workspace.root / r["archived"]).read_bytes() == returns["North"]  # the same archive as a file saved by hand
    assert r["email"]["from"] == "jo@north.example.sch.uk" and r["email"]["subject"] == "Q2 return"
    assert r["email"]["date"] == "2025-10-14T09:12:00+01:00" and r["email"]["attachment"] == "North Q2.xlsx"
    [(sender, name, sent, subject, archived)] = ledger(
        workspace, "SELECT sender, sender_name, sent_at, subject, archive_path FROM messages")
    assert (sender, name, sent, subject) == ("jo@north.example.sch.uk", "Jo Bursar", "2025-10-14T09:12:00+01:00",
                                             "Q2 return")
    assert (workspace.root / archived).read_bytes() == eml.read_bytes()  # the message itself is archived too
    assert ledger(workspace, "SELECT r.original_name, a.attachment_name, r.version FROM message_attachments a "
                             "JOIN received r ON r.id = a.received") == [("North Q2.xlsx", "North Q2.xlsx", 1)]
    reply = draft(workspace, r)
    assert r["email"]["reply"].startswith("replies/2025-26 Q2/North v1 reply")
    assert reply["X-Unsent"] == "1" and reply["To"] == "Jo Bursar <jo@north.example.sch.uk>"
    assert reply["Subject"] == "Re: Q2 return" and reply["In-Reply-To"] == "<q2.north@north.example.sch.uk>"
    text = reply.get_body(("plain",)).get_content()
    assert "Dear Jo Bursar" in text and "14 October 2025" in text and "2025-26 Q2" in text
    assert "The Harbour (North PBP)" in text and "Verdict: accepted" in text
    assert list(reply.iter_attachments()) == []  # nothing to fix: no feedback workbook


def test_two_attachments_each_ingested_and_the_reply_carries_the_feedback_workbook(workspace, returns, tmp_path,
                                                                                   capsys) -> None:
    eml = save(tmp_path, "both.eml", message([("North.xlsx", returns["North"]), ("South.xlsx", returns["South"])]))
    code, reports = ingest(capsys, eml)
    assert code == 1
    assert [(r["return"]["partnership"], r["status"]) for r in reports] == [("North", "accepted"),
                                                                             ("South", "rejected")]
    assert reports[0]["email"]["reply"] == reports[1]["email"]["reply"]  # one message, one reply
    feedback = Path(reports[1]["feedback"])
    assert feedback.name == "South v1 feedback - South.xlsx"
    reply = draft(workspace, reports[0])
    [att] = list(reply.iter_attachments())
    assert att.get_filename() == feedback.name and att.get_content() == feedback.read_bytes()  # byte for byte
    text = reply.get_body(("plain",)).get_content()
    assert "Verdict: rejected" in text and "Return sheet, cell B15" in text and "[Q-E108]" in text
    assert "We received 2 workbooks" in text
    assert len(ledger(workspace, "SELECT * FROM message_attachments")) == 2


def test_an_email_with_no_workbook_says_what_it_has(workspace, tmp_path, capsys) -> None:
    eml = save(tmp_path, "pdf.eml", message([("Q2 return.pdf", b"%PDF-1.4 a printout")], maintype="application",
                                            subtype="pdf"))
    code, [r] = ingest(capsys, eml)
    assert code == 1 and r["status"] == "unreadable" and r["return"] is None
    [f] = r["findings"]
    assert f["code"] == "M-E001" and "no workbook attached" in f["message"] and "'Q2 return.pdf' (a PDF)" in f["message"]
    assert (workspace.root / r["archived"]).read_bytes() == eml.read_bytes()
    reply = draft(workspace, r)
    assert r["email"]["reply"].startswith("replies/unidentified/")
    assert "no workbook attached" in reply.get_body(("plain",)).get_content()
    code, [again] = ingest(capsys, eml)  # the same message again: recognised, not recorded twice
    assert again["new"] is False and len(ledger(workspace, "SELECT * FROM messages")) == 1


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_workbooks_inside_a_zip_attachment_are_ingested(workspace, returns, tmp_path, capsys) -> None:
    z = _zip({"returns/North.xlsx": returns["North"], "notes.txt": b"hello", "South.xlsx": returns["South"]})
    eml = save(tmp_path, "zip.eml", message([("returns.zip", z)], maintype="application", subtype="zip"))
    code, reports = ingest(capsys, eml)
    assert code == 1  # South's is rejected
    assert sorted((r["email"]["attachment"], r["status"]) for r in reports) == [
        ("returns.zip › North.xlsx", "accepted"), ("returns.zip › South.xlsx", "rejected")]


def test_a_zip_bomb_attachment_is_refused_under_the_xlsx_limits(workspace, tmp_path, capsys) -> None:
    bomb = _zip({"big.xlsx": b"\0" * (60 * 2**20)})  # 60 MB of zeros: over the 50 MB a part may unpack to
    eml = save(tmp_path, "bomb.eml", message([("returns.zip", bomb)], maintype="application", subtype="zip"))
    code, [r] = ingest(capsys, eml)
    assert code == 1 and [f["code"] for f in r["findings"]] == ["M-E004"]
    assert "'returns.zip'" in r["findings"][0]["message"] and "expands too much" in r["findings"][0]["message"]


def test_a_workbook_in_a_forwarded_message_is_ingested(workspace, returns, tmp_path, capsys) -> None:
    inner = message([("North.xlsx", returns["North"])], subject="Q2 return from Northfield")
    outer = message(sender="Colleague <colleague@la.example.gov.uk>", subject="Fwd: Q2 return from Northfield")
    outer.add_attachment(inner)  # message/rfc822
    eml = save(tmp_path, "fwd.eml", outer)
    code, [r] = ingest(capsys, eml)
    assert code == 0 and r["status"] == "accepted"
    assert r["email"]["attachment"] == "Q2 return from Northfield › North.xlsx"
    assert r["email"]["from"] == "colleague@la.example.gov.uk"  # the reply goes to whoever sent us the message


@pytest.mark.parametrize("name", ["../../../outside.xlsx", "/tmp/absolute.xlsx", "C:\\Windows\\evil.xlsx",
                                  "\x1b[31mred\x07.xlsx", "..", None])
def test_hostile_attachment_names_are_never_paths(workspace, returns, tmp_path, capsys, name) -> None:
    eml = save(tmp_path, "hostile.eml", message([(name, returns["North"])]))
    before = {p for p in tmp_path.parent.rglob("*") if workspace.root not in p.parents}
    code, [r] = ingest(capsys, eml)
    assert r["status"] == "accepted" and code == 0  # still identified by its content
    after = {p for p in tmp_path.parent.rglob("*") if workspace.root not in p.parents}
    assert after == before  # nothing written outside the workspace
    assert not Path("/tmp/absolute.xlsx").exists()
    shown = r["email"]["attachment"]
    assert "/" not in shown and "\\" not in shown and not any(ord(c) < 32 for c in shown)
    [(original,)] = ledger(workspace, "SELECT original_name FROM received")
    assert original == shown
    assert not list((workspace.state_dir).glob("spool-*"))  # the spool is gone


def test_malformed_messages_get_a_verdict_not_a_traceback(workspace, returns, tmp_path, capsys) -> None:
    truncated = bytes(message([("North.xlsx", returns["North"])]))[:4000]  # boundary never closed, base64 cut short
    garbage_headers = (b"From: \xff\xfe\x00bad\r\nSubject: =?x-unknown?B?////?= \xe9t\xe9\r\nDate: yesterday-ish\r\n"
                       b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n")
    no_sender = b"Date: not a date\n" + bytes(message([("North.xlsx", returns["North"])], sender=None, date=None))
    paths = [save(tmp_path, "truncated.eml", truncated), save(tmp_path, "garbage.eml", garbage_headers),
             save(tmp_path, "nosender.eml", no_sender), save(tmp_path, "binary.eml", os.urandom(3000)),
             save(tmp_path, "empty.eml", b"")]
    code, reports = ingest(capsys, *paths)
    assert code == 1
    by_file = {Path(r["file"].split(" › ")[0]).name: r for r in reports}
    assert set(by_file) == {"truncated.eml", "garbage.eml", "nosender.eml", "binary.eml", "empty.eml"}
    assert by_file["truncated.eml"]["status"] in ("unreadable", "rejected")  # the workbook cut short: a verdict
    assert [f["code"] for f in by_file["garbage.eml"]["findings"]] == ["M-E001"]
    nosender = by_file["nosender.eml"]
    assert nosender["status"] == "accepted" and nosender["email"]["from"] is None and nosender["email"]["date"] is None
    assert any("no sender" in n for n in nosender["email"]["notes"])
    assert any("'not a date' could not be read" in n for n in nosender["email"]["notes"])
    assert "To" not in draft(workspace, nosender)  # a draft for a person to address
    assert by_file["binary.eml"]["findings"][0]["code"] in ("M-E001", "M-E003")
    assert [f["code"] for f in by_file["empty.eml"]["findings"]] == ["M-E003"]
    assert len(ledger(workspace, "SELECT * FROM messages")) == 5  # every message archived and recorded


def test_a_message_over_the_size_limit_is_archived_not_opened(workspace, tmp_path, capsys) -> None:
    cfg = workspace.config_path.read_text(encoding="utf-8").replace("max_message_mb = 30", "max_message_mb = 1")
    workspace.config_path.write_text(cfg, encoding="utf-8")
    eml = save(tmp_path, "big.eml", message([("big.xlsx", os.urandom(900_000))]))  # ~1.2 MB once base64
    code, [r] = ingest(capsys, eml)
    assert code == 1 and [f["code"] for f in r["findings"]] == ["M-E002"]
    assert "the limit is 1 MB" in r["findings"][0]["message"]
    assert (workspace.root / r["archived"]).read_bytes() == eml.read_bytes()


def test_the_real_outlook_files_get_a_clear_verdict(workspace, capsys) -> None:
    code, reports = ingest(capsys, CORPUS / "unicode.msg", CORPUS / "strangeDate.msg")
    assert code == 1
    tiffs, strange = reports
    [f] = tiffs["findings"]
    assert f["code"] == "M-E001"
    assert "'import OleFileIO.tif' (a picture)" in f["message"] and "'raised value error.tif' (a picture)" in f["message"]
    assert tiffs["email"]["from"] == "brizhou@gmail.com" and tiffs["email"]["subject"] == "Test for TIF files"
    assert tiffs["email"]["date"] == "2013-11-18T08:26:24+00:00"
    assert draft(workspace, tiffs)["To"] == "Brian Zhou <brizhou@gmail.com>"
    assert [f["code"] for f in strange["findings"]] == ["M-E001"] and "no attachments" in strange["findings"][0]["message"]
    assert strange["email"]["from"] is None and strange["email"]["date"] is None
    assert any("no sender" in n for n in strange["email"]["notes"])
    assert "To" not in draft(workspace, strange)
    assert ledger(workspace, "SELECT original_name, format, sender FROM messages ORDER BY id") == [
        ("unicode.msg", "msg", "brizhou@gmail.com"), ("strangeDate.msg", "msg", None)]


def test_human_output_names_the_sender_and_the_reply_draft(workspace, returns, tmp_path, capsys) -> None:
    eml = save(tmp_path, "north.eml", message([("North.xlsx", returns["North"])]))
    assert main(["ingest", str(eml)]) == 0
    out = capsys.readouterr().out
    assert "email from jo@north.example.sch.uk, 'Q2 return'" in out
    assert "reply draft: replies/2025-26 Q2/North v1 reply - north.eml" in out


def test_a_saved_message_attached_as_a_file_is_opened_too(workspace, returns, tmp_path, capsys) -> None:
    inner = bytes(message([("North.xlsx", returns["North"])], subject="Original"))
    outer = message([("original message.eml", inner)], maintype="application", subtype="octet-stream",
                    subject="Fwd: Original")
    code, [r] = ingest(capsys, save(tmp_path, "fwd-file.eml", outer))
    assert code == 0 and r["email"]["attachment"] == "original message.eml › North.xlsx"


def test_the_email_settings_are_checked(workspace, capsys) -> None:
    text = workspace.config_path.read_text(encoding="utf-8")
    assert 'inclusion_head = "Dr Alex Morgan"' in text and "max_message_mb = 30" in text  # pbp init's sample values
    workspace.config_path.write_text(text.replace("max_message_mb = 30", "max_message_mb = 0"), encoding="utf-8")
    assert main(["ingest", str(CORPUS / "unicode.msg")]) == 2
    assert "max_message_mb must be a whole number above 0" in capsys.readouterr().err


def test_a_large_mailbox_opened_by_the_workers_gives_what_one_process_gives(workspace, returns, tmp_path, capsys,
                                                                            monkeypatch) -> None:
    import shutil

    from pbp_workbooks.intake import validation

    for i in range(validation.PARALLEL_FROM + 2):
        atts = [] if i % 5 == 0 else [(f"North {i}.xlsx", returns["North"])] + (
            [("South.xlsx", returns["South"])] if i % 3 == 0 else [])
        save(tmp_path, f"{i:02d}.eml", message(atts, subject=f"message {i}"))
    twin = Path(shutil.copytree(workspace.root, tmp_path / "twin"))

    def outcome(root: Path) -> tuple[list[tuple], list[tuple]]:
        monkeypatch.chdir(root)
        _code, reports = ingest(capsys, tmp_path / "mailbox")
        rows = ledger(Workspace(root), "SELECT m.original_name, m.subject, a.attachment_name, r.status, r.version "
                                       "FROM messages m LEFT JOIN message_attachments a ON a.message = m.id "
                                       "LEFT JOIN received r ON r.id = a.received ORDER BY m.original_name, 3")
        return [(r["file"].replace(str(root), ""), r["status"], r.get("new")) for r in reports], rows

    pooled = outcome(workspace.root)
    monkeypatch.setattr(validation, "PARALLEL_FROM", 10**6)
    assert outcome(twin) == pooled
    assert len(pooled[0]) == 4 + 14 + 4  # 4 without a workbook; 14 with North's; 4 of them also with South's
    assert not list(workspace.state_dir.glob("spool-*"))


def test_a_message_whose_whole_body_is_the_workbook_is_taken(workspace, returns, tmp_path, capsys) -> None:
    """Some sending programs (scanners, finance systems) send the file as the message itself, with no name."""
    import base64

    raw = (b"From: system@north.example.sch.uk\r\nSubject: Return\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(returns["North"]))
    code, [r] = ingest(capsys, save(tmp_path, "bare.eml", raw))
    assert code == 0 and r["status"] == "accepted" and r["email"]["attachment"] == "attachment 1 (no name)"
