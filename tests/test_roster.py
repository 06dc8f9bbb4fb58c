"""roster.xlsx mistakes get one line naming the sheet and the cell."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pbp_workbooks.base import roster
from pbp_workbooks.base.errors import ConfigError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.cli.main import main


def edit(path: Path, sheet: str, cell: str, value: object) -> None:
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


def test_sample_roster_reads_back(workspace) -> None:
    r = roster.load(workspace.roster_path)
    assert [p.partnership for p in r.provisions] == ["North", "East", "South", "West", "Central"]
    assert r.allocation("North", FinancialYear.parse("2025-26")) == Decimal("412500.00")
    assert r.due(FinancialYear.parse("2025-26"), "Q2").isoformat() == "2025-10-30"
    assert len({m["urn"] for m in r.members}) == len(r.members) >= 20
    assert all(len(p.urn) == 6 for p in r.provisions)


@pytest.mark.parametrize(
    ("sheet", "cell", "value", "message"),
    [
        ("Allocations", "C5", None, "sheet Allocations, cell C5: DSG allocation is missing"),
        ("Allocations", "C2", "four hundred", "sheet Allocations, cell C2: 'four hundred' is not an amount of money"),
        ("Provisions", "C3", "990101", "sheet Provisions, cell C3: duplicate URN 990101 (also row 2)"),
        ("Allocations", "B3", "2025/26", "sheet Allocations, cell B3: '2025/26' is not a financial year"),
        ("Provisions", "C2", "12AB", "sheet Provisions, cell C2: '12AB' is not a URN"),
        ("Due dates", "C2", "soon", "sheet Due dates, cell C2: 'soon' is not a date"),
        ("Member schools", "D2", -4, "sheet Member schools, cell D2: -4 is not a whole number"),
        ("Provisions", "E3", "finance at eastgate", "sheet Provisions, cell E3: 'finance at eastgate' is not an email "
                                                     "address"),
        ("Provisions", "H4", "KS3", "sheet Provisions, cell H4: 'KS3' is not a key stage or a range of them"),
    ],
)
def test_roster_mistakes_name_the_cell(workspace, capsys, sheet: str, cell: str, value: object, message: str) -> None:
    edit(workspace.roster_path, sheet, cell, value)
    assert main(["generate", "quarterly", "--year", "2025-26", "--quarter", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (workspace.root / "outbox").exists(), "nothing is written from a bad roster"


def test_text_money_with_pound_sign_is_understood(workspace) -> None:
    edit(workspace.roster_path, "Allocations", "C2", "£398,500.00")
    assert roster.load(workspace.roster_path).allocation("North", FinancialYear.parse("2024-25")) == Decimal("398500.00")


def test_text_money_is_read_where_certain_and_reported_with_its_sheet_row_and_column(workspace, capsys) -> None:
    """Issue #12 item 16: "£412,500" is read, and pbp roster check says where it was typed as
    text (a note: the roster is still usable); an amount whose meaning is unclear is a problem."""
    edit(workspace.roster_path, "Allocations", "C3", "£412,500")
    assert roster.load(workspace.roster_path).allocation("North", FinancialYear.parse("2025-26")) == Decimal("412500")
    assert main(["roster", "check"]) == 0
    out = capsys.readouterr().out
    assert ("note: roster.xlsx, sheet Allocations, cell C3: DSG allocation (row 3, column C) holds the text '£412,500', "
            "read as £412,500.00; type the amount as a number, without £ signs or commas") in out
    edit(workspace.roster_path, "Allocations", "C3", "412.500,00")
    assert main(["roster", "check"]) == 2
    assert "sheet Allocations, cell C3: '412.500,00' is not an amount of money" in capsys.readouterr().out


def test_key_stages_served_are_read_and_the_column_may_be_absent(workspace) -> None:
    r = roster.load(workspace.roster_path)
    assert {p.partnership: p.key_stages for p in r.provisions} == {
        "North": ("EYFS", "KS1", "KS2"), "East": ("KS1", "KS2"), "South": ("KS2",), "West": ("KS2",),
        "Central": ("EYFS", "KS1", "KS2")}
    edit(workspace.roster_path, "Provisions", "H3", "eyfs to ks1")
    assert roster.load(workspace.roster_path).provisions[1].key_stages == ("EYFS", "KS1")
    wb = openpyxl.load_workbook(workspace.roster_path)  # a roster made before the column existed
    provisions = wb["Provisions"]
    provisions.delete_cols(next(c.column for c in provisions[1] if c.value == "Key stages served"))
    wb.save(workspace.roster_path)
    assert [p.key_stages for p in roster.load(workspace.roster_path).provisions] == [None] * 5


def test_missing_allocation_for_the_year(workspace, capsys) -> None:
    assert main(["generate", "quarterly", "--year", "2030-31", "--quarter", "1"]) == 2
    assert "no DSG allocation for North in 2030-31" in capsys.readouterr().err


def test_missing_sheet_and_column(workspace) -> None:
    wb = openpyxl.load_workbook(workspace.roster_path)
    wb["Allocations"]["C1"] = "Money"
    wb.save(workspace.roster_path)
    with pytest.raises(ConfigError, match="no column headed 'DSG allocation'"):
        roster.load(workspace.roster_path)
    wb["Allocations"]["C1"] = "DSG allocation"
    del wb["Due dates"]
    wb.save(workspace.roster_path)
    with pytest.raises(ConfigError, match="no sheet called 'Due dates'"):
        roster.load(workspace.roster_path)


def test_roster_that_is_not_a_workbook(workspace) -> None:
    workspace.roster_path.write_text("partnership,urn\n")
    with pytest.raises(ConfigError, match="cannot be opened as an Excel workbook"):
        roster.load(workspace.roster_path)


def test_init_refuses_an_existing_workspace(workspace, capsys) -> None:
    assert main(["init", str(workspace.root)]) == 2
    assert "already a pbp workspace" in capsys.readouterr().err


# --------------------------------------------------------------------------- the roster explains itself


def test_roster_opens_on_instructions_made_from_the_column_definitions(workspace) -> None:
    wb = openpyxl.load_workbook(workspace.roster_path)
    assert wb.sheetnames == ["Instructions", *(sd.name for sd in roster.SHEETS)]
    assert wb.active.title == "Instructions"
    rows = [tuple(c.value for c in row) for row in wb["Instructions"].iter_rows()]
    text = [r[0] for r in rows if r[0]]
    for sd in roster.SHEETS:
        assert f"Sheet {sd.name}" in text and sd.purpose in text
        for col in sd.columns:
            found = [r for r in rows if r[0] == col.heading and r[2] and r[2].startswith(col.help)]
            assert found and {r[1] for r in found} == {"required" if col.required else "optional"}, col
    for how in ("Add a partnership", "Add a school to a partnership", "Add a financial year"):
        assert how in text
    assert any("pbp roster check" in t for t in text)


def test_roster_check_says_what_a_good_roster_holds(workspace, capsys) -> None:
    assert main(["roster", "check"]) == 0
    out = capsys.readouterr().out
    assert out == ("roster.xlsx holds 5 partnerships (North, East, South, West, Central); DSG allocations for "
                   "2024-25, 2025-26, 2026-27; due dates for 2024-25, 2025-26, 2026-27; 24 member schools.\n")


def test_roster_check_lists_every_problem_and_commands_give_the_first(workspace, capsys) -> None:
    wb = openpyxl.load_workbook(workspace.roster_path)
    wb["Provisions"]["C3"] = "990101"
    wb["Allocations"]["C2"] = "four hundred"
    wb["Allocations"]["C5"] = None
    wb["Due dates"]["B3"] = "Q9"
    wb["Member schools"]["A4"] = "Nrth"
    wb.save(workspace.roster_path)
    assert main(["roster", "check"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "roster.xlsx, sheet Provisions, cell C3: duplicate URN 990101 (also row 2)",
        "roster.xlsx, sheet Allocations, cell C2: 'four hundred' is not an amount of money; enter a number like "
        "412500.00",
        "roster.xlsx, sheet Allocations, cell C5: DSG allocation is missing",
        "roster.xlsx, sheet Due dates, cell B3: 'Q9' is not a return; use one of Q1, Q2, Q3, Q4, Annual",
        "roster.xlsx, sheet Member schools, cell A4: partnership 'Nrth' is not on the Provisions sheet (spell it as "
        "it is there)",
        f"5 problems in {workspace.roster_path}: fix them in Excel (its Instructions sheet says what each column "
        "holds) and run 'pbp roster check' again.",
    ]
    first = f"pbp: {out[0]} (and 4 more problems: run 'pbp roster check' to list them)\n"
    for argv in (["generate", "quarterly", "--year", "2025-26", "--quarter", "1"], ["status", "--year", "2025-26"]):
        assert main(argv) == 2, argv
        assert capsys.readouterr().err == first, argv


def test_roster_check_notes_gaps_that_are_allowed(workspace, capsys) -> None:
    wb = openpyxl.load_workbook(workspace.roster_path)
    ws = wb["Allocations"]
    row = next(r for r in range(2, ws.max_row + 1)
               if (ws.cell(r, 1).value, ws.cell(r, 2).value) == ("Central", "2024-25"))
    ws.delete_rows(row)
    wb.save(workspace.roster_path)
    assert main(["roster", "check"]) == 0
    out = capsys.readouterr().out
    assert "note: no DSG allocation for Central in 2024-25: that year's workbooks cannot be issued until there is " \
           "one\n" in out


def test_roster_check_outside_a_workspace(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PBP_WORKSPACE", raising=False)
    assert main(["roster", "check"]) == 2
    assert "no pbp.toml in" in capsys.readouterr().err
