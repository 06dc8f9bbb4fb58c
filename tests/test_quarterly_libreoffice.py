"""LibreOffice as the real client: fill the inputs as a person would, recalculate, save,
read back; and print the Return sheet to PDF.

LibreOffice runs with OOXMLRecalcMode=always and calculateAll() before saving, so the
values read back are LibreOffice's own results, not the cached values we wrote.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from engines import assert_programs_agree
from libreoffice import LibreOffice

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.demo import samples
from pbp_workbooks.spec import calc
from pbp_workbooks.spec import model as spec_mod

pytestmark = pytest.mark.libreoffice

SPEC = spec_mod.load("quarterly")
FY = FinancialYear.parse("2025-26")
PARAMS = Thresholds().params()


def north(files: list[Path]) -> Path:
    return next(f for f in files if " - North - " in f.name)


def typed_inputs(values: dict[str, Any], quarter: int) -> dict[str, Any]:
    """Only what a person can type: the open inputs."""
    return {k: v for k, v in values.items() if SPEC[k].is_open(quarter) and v is not None}


def read_back(path: Path) -> tuple[dict[str, Any], Any, list[Any]]:
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb["Return"]
    got = {f.name: ws[f.cell].value for f in SPEC.fields if f.formula is not None}
    checks = wb["Checks"]
    results = [checks.cell(row=calc_row + 1, column=2).value
               for calc_row in range(6, 6 + len(calc.checks(SPEC, 2, "2025-26")))]
    return got, checks["B4"].value, results


def assert_same(field: str, lo: Any, py: Any) -> None:
    if py is None:
        assert lo in (None, ""), field
    elif isinstance(py, Decimal):
        assert isinstance(lo, int | float), (field, lo)
        places = 6 if SPEC[field].type == "percent" else 2
        assert round(Decimal(repr(lo)), places) == round(py, places), (field, lo, py)
    else:
        assert lo == py, field


def fill_and_compare(libreoffice: LibreOffice, src: Path, tmp_path: Path, inputs: dict[str, Any],
                     name: str) -> tuple[str, list[Any]]:
    out = tmp_path / name
    libreoffice.fill(src, out, typed_inputs(inputs, 2))
    got, status, results = read_back(out)
    expected = calc.compute(SPEC, inputs)
    for field, value in got.items():
        assert_same(field, value, expected[field])
    outcomes = [calc.check_result(ch, expected, PARAMS) for ch in calc.checks(SPEC, 2, "2025-26")]
    assert results == [r.code if isinstance(r, calc.CalcError) else r for r in outcomes]
    assert_programs_agree(out, SPEC, 2, PARAMS)  # ... and Gnumeric, on the file LibreOffice saved
    return status, results


def test_filled_return_totals_and_checks_agree_with_python(libreoffice: LibreOffice, q2_files: list[Path],
                                                           tmp_path: Path) -> None:
    src = north(q2_files)
    pre = {"dsg_allocation": Decimal("412500.00")}
    values = samples.filled_values(SPEC, FY, 2, pre, seed=3, params=PARAMS)
    status, results = fill_and_compare(libreoffice, src, tmp_path, values, "clean.xlsx")
    assert status == "Ready to send"
    assert set(results) == {"OK"}
    # recalculation really happened: the issued file cached a balance equal to the allocation
    issued = openpyxl.load_workbook(src, data_only=True)["Return"]
    assert issued[SPEC["forecast_balance"].cell].value == 412500
    filled = openpyxl.load_workbook(tmp_path / "clean.xlsx", data_only=True)["Return"]
    assert filled[SPEC["forecast_balance"].cell].value != 412500


def test_problems_show_in_the_checks_sheet_as_python_sees_them(libreoffice: LibreOffice, q2_files: list[Path],
                                                                tmp_path: Path) -> None:
    pre = {"dsg_allocation": Decimal("412500.00")}
    values = samples.filled_values(SPEC, FY, 2, pre, seed=5, params=PARAMS)
    values.update(
        exp_transport_q2=Decimal("9000.00"),       # a large variance ...
        exp_transport_commentary=None,            # ... without commentary (Q-E201)
        placements_outside_ks=2, placements_mdm_held="No",   # Q-E211
        prepared_by=None,                          # a required field left blank
        surplus_cpd=Decimal("999999.00"),          # planned uses of a surplus, with a deficit forecast (Q-E218)
    )
    status, results = fill_and_compare(libreoffice, north(q2_files), tmp_path, values, "problems.xlsx")
    assert status == "5 problems to fix"
    failing = {ch.label for ch, r in zip(calc.checks(SPEC, 2, "2025-26"), results, strict=True) if r == "Fix"}
    assert failing == {"Details: fill in every required yellow cell", "Transport: explain the variance",
                       "No planned uses of a surplus with a deficit", "Recovery plan for the deficit",
                       "Multidisciplinary meeting for each placement"}


def test_return_sheet_prints_on_at_most_three_a4_pages(libreoffice: LibreOffice, q2_files: list[Path],
                                                       tmp_path: Path) -> None:
    pages = libreoffice.pdf_pages(north(q2_files), tmp_path / "return.pdf", "Return")
    assert 1 <= pages <= 3
    # the Checks sheet lists each section's required cells, typed numbers and limits, then the rules
    # (six for each of the items register's ten rows: four pages)
    assert libreoffice.pdf_pages(north(q2_files), tmp_path / "checks.pdf", "Checks") <= 4
