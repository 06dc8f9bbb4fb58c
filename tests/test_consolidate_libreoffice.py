"""LibreOffice opens the consolidated workbook and a headteacher summary, recalculates every
formula itself, and each result equals the value Python computed (and cached in the file)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from libreoffice import LibreOffice
from test_consolidate import Scenario, build_scenario

pytestmark = pytest.mark.libreoffice


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PBP_WORKSPACE", raising=False)
        yield build_scenario(tmp_path_factory.mktemp("consolidate-lo"))


def python_values(path: Path) -> dict[tuple[str, str], Any]:
    """Every formula cell -> the value Python computed for it (the cached value we wrote)."""
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    return {(ws.title, c.coordinate): cached[ws.title][c.coordinate].value
            for ws in formulas.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"}


def same(lo: Any, py: Any) -> bool:
    if py in (None, ""):
        return lo in (None, "")
    if isinstance(py, int | float) and not isinstance(py, bool):
        if not isinstance(lo, int | float):
            return False
        return abs(Decimal(repr(lo)) - Decimal(repr(py))) <= Decimal("1e-9") * max(1, abs(Decimal(repr(py))))
    return bool(lo == py)


def stale_copy(src: Path, dst: Path) -> None:
    """The same workbook with every cached formula result replaced by 0, so that only a real
    recalculation by LibreOffice can bring the right values back."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"(</f>)<v>[^<]*</v>", rb"\1<v>0</v>", data)
            zout.writestr(item, data)


def recalc_and_compare(libreoffice: LibreOffice, src: Path, tmp: Path, at_least: int) -> None:
    expected = python_values(src)
    assert len(expected) >= at_least
    assert any(isinstance(py, float) and py != 0 for py in expected.values())
    stale, out = tmp / f"stale-{src.name}", tmp / f"recalculated-{src.name}"
    stale_copy(src, stale)
    assert all(v in (0, "0") for v in python_values(stale).values())
    libreoffice.recalc(stale, out)
    got = openpyxl.load_workbook(out, data_only=True)
    wrong = {k: (got[k[0]][k[1]].value, py) for k, py in expected.items() if not same(got[k[0]][k[1]].value, py)}
    assert not wrong, wrong


def test_consolidated_formulas_agree_with_python(libreoffice: LibreOffice, scenario: Scenario, tmp_path: Path) -> None:
    recalc_and_compare(libreoffice, scenario.workbook, tmp_path, at_least=60)


def test_summary_formulas_agree_with_python(libreoffice: LibreOffice, scenario: Scenario, tmp_path: Path) -> None:
    recalc_and_compare(libreoffice, scenario.folder / "summary - East.xlsx", tmp_path, at_least=12)
