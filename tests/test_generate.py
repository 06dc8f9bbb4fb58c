"""Generated quarterly workbooks, reopened with openpyxl: protection, names, validation, meta."""

from __future__ import annotations

import hashlib
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.cell_range import CellRange

from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")


def north(files: list[Path]) -> Path:
    return next(f for f in files if " - North - " in f.name)


def test_one_workbook_per_provision_named_for_a_person(q2_files: list[Path]) -> None:
    names = [f.name for f in q2_files]
    assert "PBP Quarterly Return 2025-26 Q2 - North - Northfield Primary School.xlsx" in names
    assert all(n.startswith("PBP Quarterly Return 2025-26 Q2 - ") for n in names)


def test_every_sheet_and_the_structure_are_protected(q2_files: list[Path]) -> None:
    wb = openpyxl.load_workbook(north(q2_files))
    assert wb.sheetnames == ["Instructions", "Return", "Checks", "_meta"]
    assert wb.security is not None and wb.security.lockStructure
    assert wb.security.workbookPassword  # hashed, not empty
    for ws in wb.worksheets:
        assert ws.protection.sheet, ws.title
        assert ws.protection.password, ws.title
    assert wb["_meta"].sheet_state == "veryHidden"


def test_only_open_inputs_are_unlocked(q2_files: list[Path]) -> None:
    ws = openpyxl.load_workbook(north(q2_files))["Return"]
    open_cells = {f.cell for f in SPEC.fields if f.is_open(2)}
    assert open_cells, "the spec has inputs"
    # the rest of a merged input (a wide text box) belongs to its top-left input cell
    merged_tails = {
        c.coordinate
        for m in ws.merged_cells.ranges
        if m.start_cell.coordinate in open_cells
        for c in (ws.cell(r, col) for r, col in m.cells)
        if c.coordinate != m.start_cell.coordinate
    }
    seen_unlocked = set()
    for row in ws.iter_rows(min_row=1, max_row=SPEC.last_row + 1, max_col=SPEC.last_col + 1):
        for cell in row:
            if cell.coordinate in open_cells:
                assert cell.protection.locked is False, cell.coordinate
                seen_unlocked.add(cell.coordinate)
            elif cell.coordinate not in merged_tails and (cell.value is not None or cell.has_style):
                assert cell.protection.locked is not False, f"{cell.coordinate} should be locked"
    assert seen_unlocked == open_cells
    # Q3 and Q4 actuals are locked in a Q2 return; Q1 and Q2 are open.
    assert ws[SPEC["exp_teaching_staff_q3"].cell].protection.locked is True
    assert ws[SPEC["exp_teaching_staff_q1"].cell].protection.locked is False


def test_inputs_share_one_colour_and_carry_messages_and_validation(q2_files: list[Path]) -> None:
    ws = openpyxl.load_workbook(north(q2_files))["Return"]
    colours = {ws[f.cell].fill.fgColor.rgb for f in SPEC.fields if f.is_open(2)}
    assert colours == {"FFFFF2CC"}
    validated: dict[str, object] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for r, c in CellRange(rng.coord).cells:
                validated[openpyxl.utils.get_column_letter(c) + str(r)] = dv
    for f in SPEC.fields:
        if not f.is_open(2):
            continue
        dv = validated.get(f.cell)
        assert dv is not None, f"no data validation on {f.name} ({f.cell})"
        assert dv.showInputMessage and dv.prompt, f.name
        expected = {
            "money": "decimal",
            "signed_money": "decimal",
            "integer": "whole",
            "date": "date",
            "choice": "list",
            "yesno": "list",
            "email": "custom",
            "text": "textLength",
        }[f.type]
        assert dv.type == expected, f.name
    money = validated[SPEC["exp_teaching_staff_budget"].cell]
    assert Decimal(money.formula1) == 0 and Decimal(money.formula2) == spec_mod.MONEY_MAX
    when = validated[SPEC["date_prepared"].cell]
    assert when.type == "date"


def test_defined_names_resolve_to_the_spec_cells(q2_files: list[Path]) -> None:
    wb = openpyxl.load_workbook(north(q2_files))
    for f in SPEC.fields:
        dn = wb.defined_names[f.name]
        assert dn.attr_text == f.abs_ref, f.name


def test_formats_freeze_panes_and_print_setup(q2_files: list[Path]) -> None:
    ws = openpyxl.load_workbook(north(q2_files))["Return"]
    assert ws[SPEC["exp_teaching_staff_budget"].cell].number_format == "£#,##0.00"
    assert ws[SPEC["total_income"].cell].number_format == "£#,##0.00;[Red]-£#,##0.00"
    assert ws.freeze_panes == "B5"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (None, 1) and int(ws.page_setup.fitToHeight) == 0  # OOXML default width 1
    assert "PBP Quarterly Return" in ws.oddHeader.left.text
    assert "North" in ws.oddHeader.center.text


def test_meta_holds_the_identity(q2_files: list[Path]) -> None:
    wb = openpyxl.load_workbook(north(q2_files))
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(min_row=2, max_col=2, values_only=True) if r[0]}
    assert meta["template_id"] == "pbp-quarterly-return"
    assert meta["template_version"] == SPEC.version
    assert meta["partnership"] == "North"
    assert meta["urn"] == "990101"
    assert meta["financial_year"] == "2025-26"
    assert meta["quarter"] == "2"
    assert len(meta["issue_token"]) == 16


def test_prefilled_values_and_cached_formula_results(q2_files: list[Path]) -> None:
    wb = openpyxl.load_workbook(north(q2_files), data_only=True)
    ws = wb["Return"]
    assert ws[SPEC["partnership"].cell].value == "North"
    assert ws[SPEC["dsg_allocation"].cell].value == 412500
    # a viewer that never recalculates sees the right totals, not 0
    assert ws[SPEC["total_income"].cell].value == 412500
    assert ws[SPEC["forecast_balance"].cell].value == 412500
    assert wb["Checks"]["B4"].value.endswith("problems to fix")


def test_issued_workbooks_are_in_the_ledger(q2_files: list[Path], workspace) -> None:
    con = sqlite3.connect(workspace.ledger_path)
    rows = con.execute("SELECT partnership, token, file_name, sha256, quarter, year FROM issued").fetchall()
    assert len(rows) == 5
    by_file = {r[2]: r for r in rows}
    for f in q2_files:
        row = by_file[f.name]
        assert row[3] == hashlib.sha256(f.read_bytes()).hexdigest()
        assert row[4] == 2 and row[5] == "2025-26"
        meta = openpyxl.load_workbook(f)["_meta"]
        token = next(r[1] for r in meta.iter_rows(values_only=True) if r[0] == "issue_token")
        assert token == row[1]


def test_generate_needs_a_quarter_and_a_real_year(workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "quarterly", "--year", "2025-26"]) == 2
    assert "needs --quarter" in capsys.readouterr().err
    assert main(["generate", "quarterly", "--year", "2025", "--quarter", "2"]) == 2
    assert "not a financial year" in capsys.readouterr().err
    assert main(["generate", "quarterly", "--year", "2025-26", "--quarter", "5"]) == 2
    assert "not a quarter" in capsys.readouterr().err


def test_generate_outside_a_workspace(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PBP_WORKSPACE", raising=False)
    assert main(["generate", "quarterly", "--year", "2025-26", "--quarter", "1"]) == 2
    err = capsys.readouterr().err
    assert "pbp init" in err and err.count("\n") == 1


def test_out_folder_is_respected(workspace, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert main(["generate", "quarterly", "--year", "2025-26", "--quarter", "4", "--out", str(out)]) == 0
    files = list(out.glob("*.xlsx"))
    assert len(files) == 5
    ws = openpyxl.load_workbook(files[0])["Return"]
    assert all(ws[SPEC[f"exp_other_q{q}"].cell].protection.locked is False for q in (1, 2, 3, 4))
    assert not list(out.glob(".*tmp")), "no temporary files left behind"
