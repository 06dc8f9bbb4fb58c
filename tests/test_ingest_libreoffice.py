"""Returns filled and saved by LibreOffice, as a school using it would send them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fill import clean_values, fill_openpyxl
from libreoffice import LibreOffice

from pbp_workbooks.cli.main import main
from pbp_workbooks.intake.reader import read_return
from pbp_workbooks.spec import model as spec_mod

pytestmark = pytest.mark.libreoffice
SPEC = spec_mod.load("quarterly")


def north(files: list[Path]) -> Path:
    return next(f for f in files if " - North - " in f.name)


def ingest_json(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, dict]:
    code = main(["ingest", str(path), "--json"])
    [report] = json.loads(capsys.readouterr().out)
    return code, report


def test_openpyxl_and_libreoffice_copies_read_identically(libreoffice: LibreOffice, q2_files: list[Path],
                                                          tmp_path: Path) -> None:
    values = clean_values(SPEC, 2, Decimal("412500.00"), seed=21)
    values["other_income_description"] = "Café £ contributions — ünïcode"
    by_openpyxl, by_lo = tmp_path / "openpyxl.xlsx", tmp_path / "lo.xlsx"
    fill_openpyxl(north(q2_files), by_openpyxl, values)
    libreoffice.fill(north(q2_files), by_lo, values)
    a, b = read_return(by_openpyxl), read_return(by_lo)
    assert a.values == b.values
    assert a.meta == b.meta
    assert a.findings == [] and b.findings == []
    for name, v in values.items():
        assert b.values[name] == v, name


def test_libreoffice_return_is_accepted_and_feedback_round_trip(libreoffice: LibreOffice, workspace,
                                                                q2_files: list[Path], tmp_path: Path, capsys) -> None:
    values = clean_values(SPEC, 2, Decimal("412500.00"), seed=22)
    broken = dict(values, exp_support_staff_commentary=None, exp_support_staff_forecast=Decimal("90000.00"))
    first = tmp_path / "north-lo.xlsx"
    libreoffice.fill(north(q2_files), first, broken)
    code, r1 = ingest_json(capsys, first)
    assert code == 1 and {f["code"] for f in r1["findings"]} >= {"Q-E201"}
    # the officer opens the feedback workbook in LibreOffice, fixes the cells and saves
    fixed = tmp_path / "north-fixed.xlsx"
    corrections: dict[str, object] = {"exp_support_staff_commentary": "Two support staff appointed for the spring."}
    if any(f["code"] == "Q-E207" for f in r1["findings"]) or any(f["code"] == "Q-E208" for f in r1["findings"]):
        corrections["exp_support_staff_forecast"] = values["exp_support_staff_forecast"]
    libreoffice.fill(Path(r1["feedback"]), fixed, corrections)
    code, r2 = ingest_json(capsys, fixed)
    assert code == 0, r2["findings"]
    assert r2["version"] == 2 and r2["status"] in ("accepted", "accepted_with_warnings")


def test_unprotect_and_insert_a_row_is_caught(libreoffice: LibreOffice, workspace, q2_files: list[Path],
                                              tmp_path: Path, capsys) -> None:
    filled = tmp_path / "filled.xlsx"
    fill_openpyxl(north(q2_files), filled, clean_values(SPEC, 2, Decimal("412500.00"), seed=23))
    tampered = tmp_path / "tampered.xlsx"
    libreoffice.tamper(filled, tampered, "test-pw", sheet="Return", insert_rows_before=SPEC["balance_bf"].row + 1)
    code, r = ingest_json(capsys, tampered)
    assert code == 1
    [t] = [f for f in r["findings"] if f["code"] == "T-E005"]  # reported once, where the layout first moved
    assert t["cell"] == SPEC["balance_bf"].cell and "inserted" in t["message"]


def test_edited_formula_is_caught(libreoffice: LibreOffice, workspace, q2_files: list[Path], tmp_path: Path,
                                  capsys) -> None:
    filled = tmp_path / "filled.xlsx"
    fill_openpyxl(north(q2_files), filled, clean_values(SPEC, 2, Decimal("412500.00"), seed=24))
    tampered = tmp_path / "formula.xlsx"
    cell = SPEC["exp_total_outturn"].cell
    libreoffice.tamper(filled, tampered, "test-pw", sheet="Return", set_cells={cell: "=100"})
    code, r = ingest_json(capsys, tampered)
    assert code == 1
    [t] = [f for f in r["findings"] if f["code"] == "T-E005"]
    assert t["cell"] == cell and "Forecast outturn" in t["message"]
