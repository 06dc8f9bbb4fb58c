"""`pbp demo DIR`: the whole loop runs in-process, deterministically, and leaves every artefact."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from datapackage_check import check_package

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo.run import ANNUAL_PROBLEM, MARKER, PROBLEMS, RETURNS, prepare
from pbp_workbooks.reports.status import status_rows


def run_demo(root: Path) -> str:
    """``pbp demo ROOT`` in-process; returns what it printed."""
    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buf):
        mp.delenv("PBP_WORKSPACE", raising=False)
        assert main(["demo", str(root)]) == 0
    return buf.getvalue()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("demo") / "pbp-demo"
    return root, run_demo(root)


def test_demo_runs_end_to_end_and_leaves_everything(demo_dir: tuple[Path, str]) -> None:
    root, out = demo_dir
    assert (root / MARKER).is_file() and (root / "pbp.toml").is_file()
    sent = root / RETURNS
    assert len(list((sent / "2025-26 Q1").glob("*.xlsx"))) == 4  # West's Q1 never arrives
    assert len(list((sent / "2025-26 Q2").glob("*.xlsx"))) == 5
    corrected = sorted((sent / "2025-26 Q2 corrected").glob("*.xlsx"))
    assert len(corrected) == len(PROBLEMS) == 4
    feedback = sorted((root / "feedback" / "2025-26 Q2").glob("*.xlsx"))
    assert {f.name.split(" ")[0] for f in feedback} == {"North", "East", "South", "West", "Central"}
    assert all("Issues" in openpyxl.load_workbook(f, read_only=True).sheetnames for f in feedback)
    rows = status_rows(Workspace(root.resolve()), FinancialYear.parse("2025-26"), 2)
    official = {r["partnership"]: (r["state"], r["official_version"], r["received"]) for r in rows}
    assert official == {"North": ("accepted_with_warnings", 1, 1), "East": ("accepted", 2, 2),
                        "South": ("accepted", 2, 2), "West": ("accepted", 2, 2), "Central": ("accepted", 2, 2)}
    # the sample year is past, so the demo's roster makes its returns due ahead of today: none is late
    assert not any(r["late"] for r in rows) and all(r["due"] > date.today().isoformat() for r in rows)
    assert "(late)" not in out
    reports = root / "reports" / "2025-26 Q2"
    assert (reports / "PBP consolidated 2025-26 Q2.xlsx").is_file()
    assert (reports / "PBP consolidated 2025-26 Q2 - categories.csv").is_file()
    assert len(list(reports.glob("summary - *.xlsx"))) == 5
    # it says what it is doing, and where things are
    for text in ("[1/8]", "[8/8]", "Q-E201", "Q-E108", "Q-E203", "Q-E211", "Where everything is", "Done in"):
        assert text in out, text


def test_demo_shows_the_problems_it_planted(demo_dir: tuple[Path, str]) -> None:
    root, _out = demo_dir
    wb = openpyxl.load_workbook(root / "reports" / "2025-26 Q2" / "PBP consolidated 2025-26 Q2.xlsx", data_only=True)
    summary = {r[0]: r for r in wb["Summary"].iter_rows(min_row=6, max_row=10, values_only=True)}
    assert summary["North"][18].startswith("Possible claw-back")  # a surplus with too small a plan
    assert summary["North"][16].startswith("Amber")
    log = [r for r in wb["Data quality"].iter_rows(min_row=5, values_only=True) if r[0]]
    assert {r[7] for r in log} == {"Q-W213", "Q-W217", "Q-E201", "Q-E108", "Q-E203", "Q-E211"}
    q1 = [r for r in wb["Categories"].iter_rows(min_row=2, values_only=True) if r[0] == 1 and r[1] == "West"]
    assert q1 and all(r[3].startswith("MISSING") and r[5] is None for r in q1)


def test_demo_runs_the_annual_report_too(demo_dir: tuple[Path, str]) -> None:
    root, out = demo_dir
    ws = Workspace(root.resolve())
    rows = [r for r in status_rows(ws, FinancialYear.parse("2025-26"), None) if r["kind"] == "annual"]
    who = ANNUAL_PROBLEM[0]
    assert {r["partnership"]: (r["state"], r["official_version"]) for r in rows} == {
        p: ("accepted", 2 if p == who else 1) for p in ("North", "East", "South", "West", "Central")}
    assert len(list((root / RETURNS / "2025-26 Annual").glob("*.xlsx"))) == 5
    assert len(list((root / RETURNS / "2025-26 Annual corrected").glob("*.xlsx"))) == 1
    wb = openpyxl.load_workbook(root / "reports" / "2025-26 Q2" / "PBP consolidated 2025-26 Q2.xlsx", data_only=True)
    assert {"Annual KPIs", "Annual pupils", "Annual delivery"} <= set(wb.sheetnames)
    kpis = [r for r in wb["Annual KPIs"].iter_rows(min_row=6, values_only=True) if r[0]]
    assert {r[0] for r in kpis if r[6] in ("Met", "Not met")} == {"North", "East", "South", "West", "Central"}
    pupils = [r for r in wb["Annual pupils"].iter_rows(values_only=True) if r[0] in ("North", "LA total")]
    assert pupils and all(isinstance(r[2], int) and r[2] > 0 for r in pupils)
    summary = openpyxl.load_workbook(root / "reports" / "2025-26 Q2" / "summary - North.xlsx", read_only=True)
    assert "Annual" in summary.sheetnames
    assert (root / "reports" / "2025-26 Q2" / "PBP consolidated 2025-26 Q2 - annual.csv").is_file()
    for text in ("[A1/5]", "[A5/5]", "A-E201", "annual overview"):
        assert text in out, text


def test_demo_runs_an_sla_review_round(demo_dir: tuple[Path, str]) -> None:
    root, out = demo_dir
    ws = Workspace(root.resolve())
    rows = [r for r in status_rows(ws, FinancialYear.parse("2025-26"), None) if r["kind"] == "sla-review"]
    members = roster_mod.load(ws.roster_path).members
    assert len(rows) == len(members) == len(list((root / "outbox" / "2025-26 SLA review").glob("*.xlsx")))
    states = [r["state"] for r in rows]
    partnerships = {r["partnership"] for r in rows}
    assert states.count("missing") == len(partnerships)  # the last school of each never replies
    assert states.count("accepted_with_warnings") == 1 and "rejected" not in states
    assert sorted(r["official_version"] for r in rows if r["official_version"] == 2) == [2]  # corrected
    wb = openpyxl.load_workbook(root / "reports" / "2025-26 Q2" / "PBP consolidated 2025-26 Q2.xlsx")
    assert "SLA review" in wb.sheetnames
    answers = (root / "reports" / "2025-26 Q2" / "PBP consolidated 2025-26 Q2 - sla review.csv").read_text(
        encoding="utf-8-sig")
    assert answers.count("statements_vision_answer") == len(members) - len(partnerships)
    for text in ("[S1/4]", "[S4/4]", "R-E101", "R-W201", "SLA reviews due"):
        assert text in out, text


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    assert main(["demo", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err and "Traceback" not in err
    assert (target / "precious.txt").read_text() == "keep me"


def test_a_previous_demo_is_cleared_and_remade(tmp_path: Path) -> None:
    target = tmp_path / "old-demo"
    (target / "reports").mkdir(parents=True)
    (target / MARKER).write_text("x")
    (target / "reports" / "old.xlsx").write_text("old")
    prepare(target)
    assert sorted(p.name for p in target.iterdir()) == [MARKER]


def test_demo_is_deterministic(demo_dir: tuple[Path, str], tmp_path: Path) -> None:
    """A second run gives the same figures, statuses and findings (only times and issue tokens differ)."""
    root, out = demo_dir
    again = tmp_path / "again"
    out2 = run_demo(again)
    name = Path("reports", "2025-26 Q2", "PBP consolidated 2025-26 Q2 - categories.csv")
    first = (root / name).read_bytes()
    assert first == (again / name).read_bytes()
    assert len(first.decode("utf-8-sig").splitlines()) == 1 + 2 * 5 * 12

    def strip(text: str) -> list[str]:
        text = text.replace(str(root.resolve()), "").replace(str(again.resolve()), "")
        return [ln for ln in text.splitlines() if not ln.startswith(("Done in", "pbp demo:"))]

    assert strip(out) == strip(out2)
    annual = Path("reports", "2025-26 Q2", "PBP consolidated 2025-26 Q2 - annual.csv")
    assert (root / annual).read_bytes() == (again / annual).read_bytes()


def test_every_workbook_the_demo_writes_passes_an_ooxml_conformance_check(demo_dir: tuple[Path, str],
                                                                          tmp_path: Path) -> None:
    """Issued, feedback, consolidated and summary workbooks, checked against the OOXML
    schemas by openxml-audit for Microsoft 365: Excel must open each one clean. (The
    returns the "schools" sent were saved by openpyxl, not by us, and are left out.)"""
    import json
    import shutil
    import subprocess
    import sys

    root, _ = demo_dir
    kinds = {"issued": root / "outbox", "feedback": root / "feedback", "reports": root / "reports"}
    files = {k: sorted(d.rglob("*.xlsx")) for k, d in kinds.items()}
    assert all(files.values()), {k: len(v) for k, v in files.items()}
    audit = shutil.which("openxml-audit", path=str(Path(sys.executable).parent)) or shutil.which("openxml-audit")
    assert audit, "openxml-audit is part of the test extra"
    # one of each kind per folder is enough to catch a writer change; all of them take minutes
    sample = [p for paths in files.values() for p in {p.parent: p for p in paths}.values()]
    summaries = [p for p in files["reports"] if p.name.startswith("summary - ")]
    sample += summaries[:1]
    for i, p in enumerate(sample):
        shutil.copyfile(p, tmp_path / f"{i} {p.name}")
    done = subprocess.run([audit, "-f", "microsoft365", "-o", "json", "-m", "0", "-r", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    results = json.loads(done.stdout)
    assert len(results) == len(sample)
    bad = {r["file"]: [e.get("description", e) for e in r["errors"]][:3] for r in results if r["error_count"]}
    assert not bad, bad


def test_demo_csv_exports_are_a_valid_frictionless_data_package(demo_dir: tuple[Path, str]) -> None:
    root, out = demo_dir
    reports = root / "reports" / "2025-26 Q2"
    package = check_package(reports)
    assert [r["name"] for r in package["resources"]] == ["categories", "partnerships", "annual", "sla-review"]
    annual = (reports / "PBP consolidated 2025-26 Q2 - annual.csv").read_text(encoding="utf-8-sig")
    assert ",c,c," in annual  # suppressed counts and shares: declared missing values, not type errors
    assert "reports/2025-26 Q2/datapackage.json" in out


def test_demo_ends_with_returns_arriving_by_email(demo_dir: tuple[Path, str], capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Q3 arrives as .eml files saved from the mailbox; each leaves a reply draft; pbp chase drafts
    reminders for exactly the missing and rejected returns."""
    import json
    from email import policy
    from email.parser import BytesParser

    from pbp_workbooks.demo.mailbox import MAILBOX, Q3_MAIL

    root, out = demo_dir
    mails = sorted((root / MAILBOX / "2025-26 Q3").glob("*.eml"))
    assert len(mails) == 4  # West never writes
    replies = sorted((root / "replies").rglob("*reply - *.eml"))
    assert len(replies) == 4
    for path in replies:
        draft = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert draft["X-Unsent"] == "1" and draft["Subject"].startswith("Re: PBP Quarterly Return 2025-26 Q3")
    monkeypatch.chdir(root)
    monkeypatch.delenv("PBP_WORKSPACE", raising=False)
    capsys.readouterr()
    assert main(["chase", "--year", "2025-26", "--quarter", "3", "--json", "--dry-run"]) == 0
    chased = json.loads(capsys.readouterr().out)
    assert {c["partnership"]: c["state"] for c in chased} == {"South": "rejected", "Central": "missing",
                                                             "West": "missing"} == {p: ("rejected" if p == "South" else
                                                                                        "missing") for p in Q3_MAIL}
    assert {c["partnership"]: c["attachment_is"] for c in chased} == {
        "South": "feedback workbook", "Central": "issued workbook", "West": "issued workbook"}
    assert len(list((root / "replies" / "2025-26 Q3").glob("* reminder *.eml"))) == 3  # the demo's own chase
    assert main(["status", "--year", "2025-26", "--quarter", "3", "--trail"]) == 0
    status = capsys.readouterr().out
    assert "3 would be chased" in status and "email from Northfield Primary School finance" in status
    for text in ("[E1/3]", "[E3/3]", "M-E001", "reply draft: replies/2025-26 Q3/"):
        assert text in out, text
