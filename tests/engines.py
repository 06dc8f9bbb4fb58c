"""What each spreadsheet program computes for a return's formulas, beside the project's Python.

A finance officer fills the workbook in Microsoft Excel, so a formula is proven only when
the Python evaluator (``calc``), LibreOffice, Gnumeric (``ssconvert --recalc``) and an
Excel-semantics engine (the ``formulas`` package) agree on it. This module reads a filled
.xlsx the way each of them sees it, as ``{(sheet, cell): value}`` for every formula cell of
the spec, every Checks line and the status cell, and compares two such readings.

Values are normalised: numbers as ``Decimal``, text as ``str``, blank as ``""``, any error
as ``ERROR``; Python's exact Decimals are compared with the programs' doubles to 1e-9
relative (money is rounded to pence by the formulas themselves, so pence agree exactly).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from pbp_workbooks.spec import calc
from pbp_workbooks.spec.model import Spec
from pbp_workbooks.workbook.writer import CHECK_FIRST_ROW, CHECKS_SHEET

ERROR = "#ERROR"
Cells = dict[tuple[str, str], Any]


def formula_cells(spec: Spec, quarter: int | None, year: str = "2025-26") -> list[tuple[str, str]]:
    """Every cell that holds a formula: formula fields, each Checks line, the status."""
    out = [(f.sheet, f.cell) for f in spec.fields if f.formula is not None]
    n = len(calc.checks(spec, quarter, year))
    out += [(CHECKS_SHEET, f"B{CHECK_FIRST_ROW + 1 + i}") for i in range(n)]
    out.append((CHECKS_SHEET, "B4"))
    return out


def norm(v: Any) -> Any:
    if v is None or v == "":
        return ""
    if isinstance(v, calc.CalcError):
        return ERROR
    if isinstance(v, bool):
        return v
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int | float):
        return Decimal(repr(float(v))) if math.isfinite(v) else ERROR
    if isinstance(v, str) and v.startswith("#") and v.rstrip("!?/0A").upper() in (
            "#VALUE", "#DIV", "#N/", "#NUM", "#REF", "#NAME", "#NULL", "#ERROR"):
        return ERROR
    return v if isinstance(v, str) else str(v)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return abs(a - b) <= Decimal("1e-9") * max(Decimal(1), abs(a), abs(b))
    return bool(a == b)


def differences(expected: Cells, got: Cells, what: str) -> list[str]:
    return [f"{sheet}!{cell}: Python {expected[(sheet, cell)]!r}, {what} {got.get((sheet, cell))!r}"
            for sheet, cell in expected if not same(expected[(sheet, cell)], got.get((sheet, cell)))]


# ---------------------------------------------------------------- the cells as typed, and Python's view


def raw_inputs(path: Path, spec: Spec) -> dict[str, Any]:
    """Every non-formula field's cell exactly as stored (no parsing of text, unlike the
    reader): what a spreadsheet program's formulas see."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, Any] = {}
    for f in spec.fields:
        if f.formula is not None:
            continue
        v = wb[f.sheet][f.cell].value
        if isinstance(v, float):
            v = Decimal(repr(v))
        elif isinstance(v, int) and not isinstance(v, bool):
            v = Decimal(v)
        elif isinstance(v, datetime):
            v = v.date()
        out[f.name] = v
    wb.close()
    return out


def python_cells(spec: Spec, quarter: int | None, inputs: Mapping[str, Any], params: Mapping[str, Any],
                 year: str = "2025-26") -> Cells:
    """What the project's Python says every formula cell shows for these cell values."""
    values = calc.compute(spec, inputs)
    out: Cells = {(f.sheet, f.cell): norm(values[f.name]) for f in spec.fields if f.formula is not None}
    check_list = calc.checks(spec, quarter, year)
    outcomes = [calc.check_result(ch, values, params) for ch in check_list]
    for i, r in enumerate(outcomes):
        out[(CHECKS_SHEET, f"B{CHECK_FIRST_ROW + 1 + i}")] = norm(r)
    problems = sum(1 for ch, r in zip(check_list, outcomes, strict=True) if ch.severity == "error" and r != calc.OK)
    out[(CHECKS_SHEET, "B4")] = calc.status_text(problems)
    return out


# ---------------------------------------------------------------- the programs


def formulas_cells(path: Path, cells: Iterable[tuple[str, str]]) -> Cells:
    """Recalculated by the ``formulas`` package, which follows Excel's rules."""
    import formulas

    model = formulas.ExcelModel().loads(str(path)).finish()
    solution = model.calculate()
    by_ref: dict[tuple[str, str], Any] = {}
    for key, value in solution.items():
        sheet_part, _, ref = key.rpartition("!")
        if ":" in ref:
            continue
        sheet = sheet_part.split("]", 1)[-1].strip("'").upper()
        try:
            v = value.value[0, 0]
        except (AttributeError, IndexError, TypeError):
            v = value
        by_ref[(sheet, ref.replace("$", "").upper())] = v
    out: Cells = {}
    for sheet, cell in cells:
        v = by_ref.get((sheet.upper(), cell))
        out[(sheet, cell)] = _norm_formulas(v)
    return out


def _norm_formulas(v: Any) -> Any:
    if v is None:
        return ""
    name = type(v).__name__
    if name == "XlError":
        return ERROR
    if name in ("EmptyValue",) or str(v) == "empty":
        return ""
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    return norm(v)


def gnumeric_available() -> str | None:
    return shutil.which("ssconvert")


def require_gnumeric() -> None:
    if gnumeric_available():
        return
    if os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}:
        pytest.fail("Gnumeric (ssconvert) is required on CI: apt-get install gnumeric", pytrace=False)
    pytest.skip("Gnumeric (ssconvert) is not installed: apt-get install gnumeric")


def gnumeric_cells(path: Path, cells: Iterable[tuple[str, str]]) -> Cells:
    """Recalculated by Gnumeric (``ssconvert --recalc``), which follows Excel's rules."""
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / "recalculated.xlsx"
        subprocess.run(["ssconvert", "--recalc", str(path), str(out_path)], check=True, capture_output=True,
                       timeout=120, env={**os.environ, "HOME": tmp})
        return saved_values(out_path, cells)


def saved_values(path: Path, cells: Iterable[tuple[str, str]]) -> Cells:
    """The values a program saved with the formulas (after it recalculated them)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    out: Cells = {}
    for sheet, cell in cells:
        v = wb[sheet][cell].value
        out[(sheet, cell)] = "" if v is None else norm(v.date() if isinstance(v, datetime) else v)
    wb.close()
    return out


def as_cell_value(v: Any) -> Any:
    """A drawn input as openpyxl writes it into a cell."""
    if isinstance(v, Decimal):
        return float(v) if v != v.to_integral_value() else int(v)
    if isinstance(v, date) and not isinstance(v, datetime):
        return datetime(v.year, v.month, v.day)
    return v


def assert_programs_agree(path: Path, spec: Spec, quarter: int | None, params: Mapping[str, Any],
                          year: str = "2025-26", *, saved_by: str = "LibreOffice") -> None:
    """A file a program saved after recalculating (LibreOffice, in the spreadsheet-program
    tests): its saved values, Gnumeric's recalculation of the same file and the project's
    Python agree on every formula cell, Checks line and the status."""
    require_gnumeric()
    cells = formula_cells(spec, quarter, year)
    python = python_cells(spec, quarter, raw_inputs(path, spec), params, year)
    problems = differences(python, saved_values(path, cells), saved_by)
    problems += differences(python, gnumeric_cells(path, cells), "Gnumeric")
    assert not problems, "\n".join(problems[:20])


def formulas_recalc(model: Any, book: str, spec: Spec, inputs: Mapping[str, Any],
                    cells: Iterable[tuple[str, str]]) -> Cells:
    """A loaded ``formulas`` model of an issued workbook (``book``: its file name), recalculated
    with these cell values (defined name -> value as stored): the same reading as
    ``formulas_cells`` of a file holding them, without loading the model again (~10 s)."""
    import numpy as np
    import schedula as sh

    given: dict[str, Any] = {}
    for name, v in inputs.items():
        f = spec[name]
        cv = as_cell_value(v)
        if isinstance(cv, datetime):
            cv = float((cv - datetime(1899, 12, 30)).days)
        given[f"'[{book}]{f.sheet.upper()}'!{f.cell}"] = np.array([[sh.EMPTY if cv is None else cv]], object)
    solution = model.calculate(inputs=given)
    out: Cells = {}
    for sheet, cell in cells:
        got = solution.get(f"'[{book}]{sheet.upper()}'!{cell}")
        out[(sheet, cell)] = _norm_formulas(got.value[0, 0] if got is not None and hasattr(got, "value") else got)
    return out
