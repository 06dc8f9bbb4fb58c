"""LibreOffice as the partnership's spreadsheet: it fills an annual report as a person would,
recalculates and saves it; the totals and the Checks sheet it computes agree with Python, the
LA accepts the file it saved, its data validation refuses what the LA would, and the Report
sheet prints on a few A4 pages.

LibreOffice runs with OOXMLRecalcMode=always and calculateAll() before saving, so the values
read back are LibreOffice's own results, not the cached values we wrote.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from engines import assert_programs_agree
from fill import validate_files
from libreoffice import LibreOffice, ValidationRejectedError

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import annual_samples
from pbp_workbooks.ledger.history import typed_values
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import calc
from pbp_workbooks.spec import model as spec_mod

pytestmark = pytest.mark.libreoffice

SPEC = spec_mod.load("annual")
YEAR = "2025-26"
FY = FinancialYear.parse(YEAR)
PARAMS = Thresholds().params()


@pytest.fixture
def north(workspace: Workspace) -> Path:
    assert main(["generate", "annual", "--year", YEAR]) == 0
    return next((workspace.root / "outbox" / f"{YEAR} Annual").glob("* - North - *.xlsx"))


def prefilled(workspace: Workspace) -> dict[str, Any]:
    with Ledger(workspace.ledger_path) as ledger:
        [issued] = [i for i in ledger.issued_for("annual", YEAR, None) if i.partnership == "North"]
    return typed_values(SPEC, issued.prefill_json)


def typed_inputs(values: dict[str, Any]) -> dict[str, Any]:
    """Only what a person can type: the inputs they fill (a blank is left alone)."""
    return {k: v for k, v in values.items() if SPEC[k].is_input and v is not None}


def read_back(path: Path) -> tuple[dict[str, Any], Any, list[Any]]:
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[SPEC.sheet]
    got = {f.name: ws[f.cell].value for f in SPEC.fields if f.formula is not None}
    checks = wb["Checks"]
    results = [checks.cell(row=7 + i, column=2).value for i in range(len(calc.checks(SPEC, None, "2025-26")))]
    return got, checks["B4"].value, results


def assert_same(name: str, lo: Any, py: Any) -> None:
    if py is None:
        assert lo in (None, ""), name
    elif isinstance(py, Decimal):
        assert isinstance(lo, int | float), (name, lo)
        places = 6 if SPEC[name].type == "percent" else 2
        assert round(Decimal(repr(lo)), places) == round(py, places), (name, lo, py)
    else:
        assert lo == py, name


def fill_and_compare(libreoffice: LibreOffice, src: Path, out: Path, values: dict[str, Any]) -> tuple[str, list[Any]]:
    libreoffice.fill(src, out, typed_inputs(values))
    got, status, results = read_back(out)
    expected = calc.compute(SPEC, values)
    assert got.keys() == {f.name for f in SPEC.fields if f.formula is not None}
    for name, value in got.items():
        assert_same(name, value, expected[name])
    outcomes = [calc.check_result(ch, expected, PARAMS) for ch in calc.checks(SPEC, None, "2025-26")]
    assert results == [r.code if isinstance(r, calc.CalcError) else r for r in outcomes]
    assert_programs_agree(out, SPEC, None, PARAMS)  # ... and Gnumeric, on the file LibreOffice saved
    return status, results


def test_filled_report_totals_and_checks_agree_with_python(libreoffice: LibreOffice, workspace: Workspace,
                                                           north: Path, tmp_path: Path) -> None:
    values = annual_samples.filled_values(SPEC, FY, prefilled(workspace), seed=3, params=PARAMS, placements=1, ehcp=1)
    out = tmp_path / "clean.xlsx"
    status, results = fill_and_compare(libreoffice, north, out, values)
    assert status == "Ready to send" and set(results) == {"OK"}
    got, _, _ = read_back(out)
    assert got["gender_total_pupils"] == values["pupils_supported"]  # a total LibreOffice computed
    assert got["keystage_total_pupils"] == values["pupils_supported"]
    assert got["year_end_balance"] != 412500  # recalculated: the issued file cached the allocation
    # the file LibreOffice saved is read by name and accepted by the LA as it stands
    [report] = validate_files([out], workspace)
    assert (report.status, report.findings) == ("accepted", [])


def test_problems_show_in_the_checks_sheet_as_python_sees_them(libreoffice: LibreOffice, workspace: Workspace,
                                                                north: Path, tmp_path: Path) -> None:
    values = annual_samples.filled_values(SPEC, FY, prefilled(workspace), seed=4, params=PARAMS, ehcp=0)
    values.update(
        gender_boys_pupils=values["gender_boys_pupils"] + 1,           # A-E201: gender does not add up
        send_ehcp_pupils=1, send_none_pupils=values["send_none_pupils"] - 1,  # A-E205: EHCP, no explanation
        kpi_attendance_actual=Decimal("0.91"),                           # A-W220: a fraction, not a percentage
        staff_fte=Decimal(values["staff_headcount"] + 2),                # A-W217
        prepared_by=None,                                                # required (A-E101)
    )
    status, results = fill_and_compare(libreoffice, north, tmp_path / "problems.xlsx", values)
    assert status == "3 problems to fix"  # the two warnings say "Look": the LA accepts them
    lines = list(zip(calc.checks(SPEC, None, "2025-26"), results, strict=True))
    assert {ch.label for ch, r in lines if r == "Fix"} == {
        "Details: fill in every required yellow cell", "Pupils by gender add up to pupils supported",
        "Explain the exceptional circumstances of pupils with an EHCP"}
    assert {ch.label for ch, r in lines if r == "Look"} == {"Attendance entered as a percentage (0-100)",
                                                           "FTE no more than the headcount"}
    [report] = validate_files([tmp_path / "problems.xlsx"], workspace)
    assert sorted(f.code for f in report.findings) == ["A-E101", "A-E201", "A-E205", "A-W217", "A-W220"]


def test_data_validation_refuses_what_the_la_would(libreoffice: LibreOffice, north: Path, tmp_path: Path) -> None:
    with pytest.raises(ValidationRejectedError):
        libreoffice.fill(north, tmp_path / "a.xlsx", {"kpi_attendance_actual": 104.5})  # a percentage over 100
    with pytest.raises(ValidationRejectedError):
        libreoffice.fill(north, tmp_path / "b.xlsx", {"curriculum": "x" * 1501})  # narrative too long
    libreoffice.fill(north, tmp_path / "c.xlsx", {"kpi_attendance_actual": 100, "curriculum": "x" * 1500})


def test_report_prints_on_a_few_a4_pages(libreoffice: LibreOffice, workspace: Workspace, north: Path,
                                         tmp_path: Path) -> None:
    blank = libreoffice.pdf_pages(north, tmp_path / "blank.pdf", SPEC.sheet)
    assert 2 <= blank <= 6
    # full narrative boxes do not grow the report: the rows are sized for their limits
    values = annual_samples.filled_values(SPEC, FY, prefilled(workspace), seed=5, params=PARAMS)
    for f in SPEC.inputs():
        if f.type == "text" and (f.max_length or 0) >= 1000:
            values[f.name] = ("The provision worked closely with partnership schools this term. " * 40)[:f.max_length]
    libreoffice.fill(north, tmp_path / "full.xlsx", typed_inputs(values))
    assert libreoffice.pdf_pages(tmp_path / "full.xlsx", tmp_path / "full.pdf", SPEC.sheet) == blank
    # the Checks sheet lists each section's required cells, typed numbers and limits, then the rules
    assert libreoffice.pdf_pages(north, tmp_path / "checks.pdf", "Checks") <= 3
