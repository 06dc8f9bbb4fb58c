"""The SLA review (toolkit Appendix 1, issue 16): one workbook per member school, ingested,
validated, versioned per school, consolidated (sheet, CSV, data package), and when each
partnership's review is due. Real workspaces, real workbooks, real ledgers on disk."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fill import fill_openpyxl, read_meta, validate_files
from openpyxl.worksheet.cell_range import CellRange

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import sla_samples
from pbp_workbooks.ledger.store import Ledger, official
from pbp_workbooks.reports import sla
from pbp_workbooks.spec import model as spec_mod

YEAR = "2025-26"
FY = FinancialYear.parse(YEAR)
SPEC = spec_mod.load("sla-review")
ANSWERS = ["Strongly agree", "Agree", "Neutral", "Disagree", "Strongly disagree"]
STATEMENTS = ["statements_vision_answer", "statements_characteristics_answer", "statements_practice_answer"]
OUTBOX = Path("outbox") / f"{YEAR} SLA review"


def _issue(ws: Workspace) -> dict[str, Path]:
    """Every member school's workbook, by URN."""
    assert main(["generate", "sla-review", "--year", YEAR]) == 0
    return {read_meta(p)["urn"]: p for p in sorted((ws.root / OUTBOX).glob("*.xlsx"))}


def _members(ws: Workspace) -> list[dict[str, Any]]:
    return roster_mod.load(ws.roster_path).members


def _answers(i: int) -> dict[str, Any]:
    """A clean review whose statements cycle through the answers (3a filled: no warning)."""
    return {"completed_by": "Jo Okafor", "role": "Headteacher", "date_completed": date(2026, 2, 3),
            **{name: ANSWERS[(i + j) % 5] for j, name in enumerate(STATEMENTS)},
            "how_do_you_know": "Visits to the provision and the termly partnership meetings.",
            "strengths": f"Strength number {i}", "changes": "=HYPERLINK(\"http://x\")" if i == 0 else None}


# ------------------------------------------------------------------ the workbooks


def test_one_workbook_per_member_school_with_its_identity(workspace: Workspace) -> None:
    files = _issue(workspace)
    members = _members(workspace)
    assert len(members) >= 20 and set(files) == {m["urn"] for m in members}
    for m in members:
        path = files[m["urn"]]
        assert path.name == f"PBP SLA Review {YEAR} - {m['partnership']} - {m['school']}.xlsx"
        meta = read_meta(path)
        assert (meta["template_id"], meta["kind"], meta["partnership"], meta["host_school"], meta["financial_year"],
                meta["quarter"]) == ("pbp-sla-review", "sla-review", m["partnership"], m["school"], YEAR, "")
        ws = openpyxl.load_workbook(path)["Review"]
        for name, want in (("partnership", m["partnership"]), ("host_school", m["school"]), ("urn", m["urn"]),
                           ("financial_year", YEAR)):
            cell = ws[SPEC[name].cell]
            assert cell.value == want and cell.protection.locked is not False, name
    with Ledger(workspace.ledger_path) as ledger:
        issued = ledger.issued_for("sla-review", YEAR, None)
    assert sorted(i.subject for i in issued) == sorted(m["urn"] for m in members)
    assert all(i.subject == i.urn for i in issued)


def test_statements_are_drop_downs_with_exactly_the_five_answers(workspace: Workspace) -> None:
    path = next(iter(_issue(workspace).values()))
    ws = openpyxl.load_workbook(path)["Review"]
    lists: dict[str, str] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for r, c in CellRange(rng.coord).cells:
                lists[ws.cell(r, c).coordinate] = dv.formula1 if dv.type == "list" else ""
    for name in STATEMENTS:
        f = SPEC[name]
        assert f.choices == tuple(ANSWERS) and f.required
        assert ws[f.cell].protection.locked is False
        assert lists[f.cell] == '"' + ",".join(ANSWERS) + '"', name


def test_free_text_questions_are_generous_wrapping_cells_that_print(workspace: Workspace) -> None:
    path = next(iter(_issue(workspace).values()))
    ws = openpyxl.load_workbook(path)["Review"]
    merged = {m.start_cell.coordinate: m for m in ws.merged_cells.ranges}
    for name in ("how_do_you_know", "strengths", "changes", "additional_comments"):
        f = SPEC[name]
        cell = ws[f.cell]
        assert f.type == "text" and f.max_length == 1000 and not f.required, name
        assert cell.alignment.wrap_text and cell.alignment.vertical == "top", name
        m = merged[f.cell]
        assert (m.min_col, m.max_col) == (2, SPEC.last_col + 1), name
        # ten lines across six columns: 1,000 characters of Arial 10 fill about six (measured in
        # LibreOffice's PDF, tests/test_sla_libreoffice.py prints full boxes)
        assert ws.row_dimensions[f.row + 1].height >= 150 and f.lines == 10 and f.span == 6, name
    assert ws.page_setup.orientation == "portrait" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_area is not None and str(SPEC.last_row + 1) in ws.print_area
    assert "PBP SLA Review 2025-26" in ws.oddHeader.left.text


def test_kinds_come_from_the_spec_files(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert "sla-review" in spec_mod.available() and SPEC.per_school and SPEC.period_label == "SLA review"
    assert main(["generate", "sla-review", "--year", YEAR, "--quarter", "2"]) == 2
    assert "no quarter" in capsys.readouterr().err
    assert main(["spec", "sla-review", "--json"]) == 0
    fields = {f["name"]: f for f in json.loads(capsys.readouterr().out)["fields"]}
    assert fields["statements_vision_answer"]["choices"] == ANSWERS
    assert fields["host_school"]["source"] == "roster.school" and fields["host_school"]["label"] == "School"


def test_a_partnership_with_no_member_schools_is_named(workspace: Workspace, capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    rows = roster_mod.sample_rows()
    rows["Member schools"] = [r for r in rows["Member schools"] if r[0] != "East"]
    _write_roster(workspace, rows)
    files = _issue(workspace)
    assert len(files) == len(_members(workspace))
    assert "No member schools on the roster for East" in capsys.readouterr().out
    rows["Member schools"] = []
    _write_roster(workspace, rows)
    with Ledger(workspace.ledger_path) as ledger:
        ledger.conn.execute("DELETE FROM issued")
    assert main(["generate", "sla-review", "--year", YEAR]) == 2
    err = capsys.readouterr().err
    assert "no member schools" in err and "Member schools sheet" in err and err.count("\n") == 1


def _write_roster(ws: Workspace, rows: dict[str, list[list[Any]]]) -> None:
    orig = roster_mod.sample_rows
    roster_mod.sample_rows = lambda due_dates=None: rows  # type: ignore[assignment]
    try:
        roster_mod.write_sample(ws.roster_path)
    finally:
        roster_mod.sample_rows = orig  # type: ignore[assignment]


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize(("case", "values", "codes"), [
    ("clean", {}, []),
    ("statement unanswered", {"statements_characteristics_answer": None}, ["R-E101"]),
    ("every statement unanswered", {n: None for n in STATEMENTS}, ["R-E101"] * 3),
    ("not one of the answers", {"statements_vision_answer": "Mostly"}, ["R-E106"]),
    ("disagree without how you know", {"statements_practice_answer": "Disagree", "how_do_you_know": None},
     ["R-W201"]),
    ("strongly disagree without how you know",
     {"statements_vision_answer": "Strongly disagree", "statements_practice_answer": "Disagree",
      "how_do_you_know": "   "}, ["R-W201", "R-W201"]),
    ("disagree and says how", {"statements_practice_answer": "Disagree"}, []),
    ("agree without how you know", {n: "Agree" for n in STATEMENTS} | {"how_do_you_know": None}, []),
    ("neutral without how you know", {n: "Neutral" for n in STATEMENTS} | {"how_do_you_know": None}, []),
])
def test_each_rule_fires_and_stays_quiet(workspace: Workspace, tmp_path: Path, case: str, values: dict[str, Any],
                                        codes: list[str]) -> None:
    src = next(iter(_issue(workspace).values()))
    base = _answers(1) | {n: "Agree" for n in STATEMENTS}
    dst = tmp_path / "returned.xlsx"
    fill_openpyxl(src, dst, base | values)
    [report] = validate_files([dst], workspace)
    assert sorted(f.code for f in report.findings) == sorted(codes), [f.message for f in report.findings]
    assert report.status == ("rejected" if any("-E" in c for c in codes) else
                             "accepted_with_warnings" if codes else "accepted")
    for f in report.findings:
        if f.code == "R-W201":
            assert f.cell == SPEC["how_do_you_know"].cell and "Say how you know in 3a" in f.message
            assert "you answered 'Disagree'" in f.message or "you answered 'Strongly disagree'" in f.message
        if f.code == "R-E101":
            assert f.name in STATEMENTS and "is blank" in f.message


def test_an_identity_changed_to_another_school_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    files = _issue(workspace)
    a, b = list(files)[:2]
    dst = tmp_path / "swapped.xlsx"
    fill_openpyxl(files[a], dst, _answers(0) | {"host_school": "Some Other Primary"})
    [report] = validate_files([dst], workspace)
    assert report.status == "rejected" and [f.code for f in report.findings] == ["T-E004"]
    assert b not in report.findings[0].message


# ------------------------------------------------------------------ ingest, versions, consolidation


def test_fill_ingest_version_and_consolidate_with_counts_checked(workspace: Workspace, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    files = _issue(workspace)
    assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "1"]) == 0
    members = _members(workspace)
    sent: dict[str, dict[str, Any]] = {}
    # every school but the last two of each partnership replies; one sends a wrong answer first
    by_partnership: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        by_partnership.setdefault(m["partnership"], []).append(m)
    silent = {m["urn"] for ms in by_partnership.values() for m in ms[-2:]}
    inbox = tmp_path / "inbox"
    for i, m in enumerate(members):
        if m["urn"] in silent:
            continue
        values = _answers(i)
        fill_openpyxl(files[m["urn"]], inbox / f"{m['urn']}.xlsx", values)
        sent[m["urn"]] = values
    first = members[0]["urn"]
    fill_openpyxl(files[first], tmp_path / "first-v1.xlsx", _answers(0) | {"statements_vision_answer": None})
    assert main(["ingest", str(tmp_path / "first-v1.xlsx")]) == 1  # v1 rejected (R-E101)
    capsys.readouterr()
    assert main(["ingest", str(inbox), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    versions = {r["return"]["urn"]: r["version"] for r in out}
    assert versions.pop(first) == 2 and set(versions.values()) == {1}  # versions are per school
    assert all(r["return"]["kind"] == "sla-review" for r in out)
    with Ledger(workspace.ledger_path) as ledger:
        rec = official(ledger, "sla-review", YEAR, None, members[0]["partnership"], first)
        assert rec is not None and rec.version == 2 and rec.subject == first
        assert official(ledger, "sla-review", YEAR, None, members[0]["partnership"]) is None
    assert (workspace.root / "feedback" / f"{YEAR} SLA review").is_dir()

    assert main(["status", "--year", YEAR, "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["kind"] == "sla-review"]
    assert len(rows) == len(members) and all(r["chase"] is None for r in rows)
    assert {r["urn"]: r["state"] for r in rows} == {m["urn"]: "missing" if m["urn"] in silent else "accepted"
                                                    for m in members}

    assert main(["consolidate", "--year", YEAR, "--no-summaries"]) == 0
    text = capsys.readouterr().out
    assert f"SLA reviews from {len(sent)} of {len(members)} member schools" in text
    folder = workspace.root / "reports" / f"{YEAR} Q1"
    # the sheet: per partnership and statement, the counts of each answer, checked against what was written
    ws = openpyxl.load_workbook(folder / f"PBP consolidated {YEAR} Q1.xlsx")["SLA review"]
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Partnership")
    legend = [ws.cell(r, 1).value for r in range(1, header) if str(ws.cell(r, 1).value or "").startswith("Statement")]
    assert len(legend) == 3 and legend[0].startswith("Statement 1: The current Service Level Agreement")  # not "1: 1. The"
    heads = [ws.cell(header, c).value for c in range(1, 11)]
    assert heads == ["Partnership", "Statement", *ANSWERS, "Replied", "Not replied", "Schools"]
    seen = 0
    for r in range(header + 1, header + 1 + 3 * (len(by_partnership) + 1)):
        partnership, statement = ws.cell(r, 1).value, ws.cell(r, 2).value
        name = STATEMENTS[int(statement.split()[-1]) - 1]
        schools = members if partnership == "All partnerships" else by_partnership[partnership]
        got = Counter(sent[m["urn"]][name] for m in schools if m["urn"] in sent)
        assert [ws.cell(r, 3 + j).value for j in range(5)] == [got.get(a, 0) for a in ANSWERS], (partnership, name)
        assert ws.cell(r, 8).value == f"=SUM(C{r}:G{r})"
        assert ws.cell(r, 9).value == sum(1 for m in schools if m["urn"] not in sent)
        assert ws.cell(r, 10).value == len(schools)
        seen += 1
    assert seen == 3 * (len(by_partnership) + 1)
    assert len(ws._charts) == 1
    # the CSV: every answer given, as written
    with (folder / f"PBP consolidated {YEAR} Q1 - sla review.csv").open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert list(lines[0]) == ["year", "partnership", "school", "urn", "question_key", "question", "answer", "version"]
    expected = {(urn, k): str(v) for urn, vals in sent.items() for k, v in vals.items()
                if k in {q.name for q in sla.questions(SPEC)} and v is not None}
    got_csv = {(ln["urn"], ln["question_key"]): ln["answer"] for ln in lines}
    expected = {k: ("'" + v if v.startswith("=") else v) for k, v in expected.items()}
    assert got_csv == expected
    assert {ln["version"] for ln in lines if ln["urn"] == first} == {"2"}
    assert next(ln["question"] for ln in lines if ln["question_key"] == STATEMENTS[0]).startswith(
        "1. The current Service Level Agreement reflects the vision")
    package = json.loads((folder / "datapackage.json").read_text())
    res = next(r for r in package["resources"] if r["name"] == "sla-review")
    assert res["path"] == f"PBP consolidated {YEAR} Q1 - sla review.csv"
    assert [f["name"] for f in res["schema"]["fields"]] == list(lines[0])
    assert res["schema"]["primaryKey"] == ["year", "urn", "question_key"]


def test_no_sla_sheet_when_no_review_was_issued(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "1"]) == 0
    assert main(["consolidate", "--year", YEAR, "--no-summaries"]) == 0
    folder = workspace.root / "reports" / f"{YEAR} Q1"
    assert "SLA review" not in openpyxl.load_workbook(folder / f"PBP consolidated {YEAR} Q1.xlsx").sheetnames
    assert not list(folder.glob("*sla review.csv"))


def test_sample_answers_are_clean_unless_asked(workspace: Workspace, tmp_path: Path) -> None:
    files = list(_issue(workspace).values())[:6]
    for seed, src in enumerate(files):
        dst = tmp_path / f"{seed}.xlsx"
        fill_openpyxl(src, dst, sla_samples.filled_values(SPEC, FY, seed=seed, disagree=seed % 2 == 0 or None))
        [report] = validate_files([dst], workspace)
        assert report.findings == [], (seed, [f.message for f in report.findings])


# ------------------------------------------------------------------ when a review is due


def test_reviews_due_from_the_roster_dates() -> None:
    today = date(2026, 12, 6)
    p = roster_mod.Provision("North", "H", "990101", "P")
    cases = [
        (p, None),  # no dates: not recorded, counted as due
        (roster_mod.Provision("A", "H", "1", "P", None, date(2025, 1, 1), date(2025, 12, 7)), date(2026, 12, 7)),
        (roster_mod.Provision("B", "H", "1", "P", None, date(2025, 1, 1), date(2025, 12, 6)), date(2026, 12, 6)),
        (roster_mod.Provision("C", "H", "1", "P", None, date(2024, 2, 29), None), date(2025, 2, 28)),
    ]
    got = [sla.review_due(prov, today, 12) for prov, _ in cases]
    assert [d.next_due for d in got] == [want for _, want in cases]
    assert [d.state for d in got] == ["not recorded", "not due", "due", "due"]
    assert "never reviewed; the SLA started 29/02/2024" in got[3].text()
    assert sla.review_due(cases[3][0], today, 36).state == "not due"  # pbp.toml [la] sla_review_months
    assert sla.add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)


def test_status_lists_the_reviews_due(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    text = workspace.root.joinpath("pbp.toml").read_text().replace("sla_review_months = 12", "sla_review_months = 6")
    workspace.root.joinpath("pbp.toml").write_text(text)
    r = roster_mod.load(workspace.roster_path)
    assert (r.provisions[0].sla_start, r.provisions[0].sla_reviewed) == (date(2023, 9, 1), date(2026, 7, 10))
    assert main(["status", "--year", YEAR]) == 0
    out = capsys.readouterr().out
    assert "a review is due 6 months after the last one" in out
    due = [d for d in sla.reviews_due(r.provisions, date.today(), 6) if d.due]
    assert f"{len(due)} of 5 due." in out
    for d in due:
        assert f"  {d.partnership:<12} {d.text()}" in out
    assert "Central      not recorded" in out


def test_a_roster_without_the_sla_columns_still_loads(workspace: Workspace) -> None:
    wb = openpyxl.load_workbook(workspace.roster_path)
    ws = wb["Provisions"]
    heads = [c.value for c in ws[1]]
    ws.delete_cols(heads.index("SLA start date") + 1, 2)
    wb.save(workspace.roster_path)
    checked = roster_mod.check(workspace.roster_path)
    assert checked.problems == []
    assert all(p.sla_start is None and p.sla_reviewed is None for p in checked.roster.provisions)


def test_a_bad_sla_date_is_named_by_its_cell(workspace: Workspace) -> None:
    wb = openpyxl.load_workbook(workspace.roster_path)
    ws = wb["Provisions"]
    col = [c.value for c in ws[1]].index("SLA last reviewed") + 1
    ws.cell(3, col).value = "last summer"
    wb.save(workspace.roster_path)
    [problem] = roster_mod.check(workspace.roster_path).problems
    assert str(problem).startswith(f"roster.xlsx, sheet Provisions, cell {openpyxl.utils.get_column_letter(col)}3:")
    assert "'last summer' is not a date" in str(problem)


def test_reissue_supersedes_per_school(workspace: Workspace, tmp_path: Path) -> None:
    issued = _issue(workspace)
    urn = next(iter(issued))
    old = {urn: Path(shutil.copy(issued[urn], tmp_path / "issued-first.xlsx"))}  # the outbox copy is replaced
    assert main(["generate", "sla-review", "--year", YEAR]) == 2  # every school has one: refused
    assert main(["generate", "sla-review", "--year", YEAR, "--reissue"]) == 0
    new = {read_meta(p)["urn"]: p for p in sorted((workspace.root / OUTBOX).glob("*.xlsx"))}
    assert read_meta(new[urn])["issue_token"] != read_meta(old[urn])["issue_token"]
    fill_openpyxl(old[urn], tmp_path / "old.xlsx", _answers(3))
    fill_openpyxl(new[urn], tmp_path / "new.xlsx", _answers(3))
    reports = validate_files([tmp_path / "old.xlsx", tmp_path / "new.xlsx"], workspace)
    assert [[f.code for f in r.findings] for r in reports] == [["T-E008"], []]
