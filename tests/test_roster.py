"""roster.xlsx mistakes get one line naming the sheet and the cell."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from pbp_workbooks import roster
from pbp_workbooks.cli import main
from pbp_workbooks.errors import ConfigError
from pbp_workbooks.periods import FinancialYear


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
        ("Provisions", "C3", "990101", "sheet Provisions, row 3: duplicate URN 990101 (also row 2)"),
        ("Provisions", "C2", "12AB", "sheet Provisions, cell C2: '12AB' is not a URN"),
        ("Due dates", "C2", "soon", "sheet Due dates, cell C2: 'soon' is not a date"),
        ("Member schools", "D2", -4, "sheet Member schools, cell D2: -4 is not a whole number"),
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
