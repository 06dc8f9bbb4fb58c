"""Stamped workbooks (generate's fast path) are the workbooks the writer builds directly.

Compared cell by cell through openpyxl (values, formulas, cached results, styles,
protection), and part by part for everything that is not a sheet or the shared strings.
This is also the guard on xlsxwriter's private internals, all of them used in
pbp_workbooks/xlsxwriter_internals.py and nowhere else (checked here too): an xlsxwriter
release that moves one makes these tests fail.
"""

from __future__ import annotations

import ast
import warnings
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from xlsx_compare import parts

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import SAMPLE_PROVISIONS
from pbp_workbooks.demo import annual_samples, samples
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.generate import period_sources, prefill
from pbp_workbooks.workbook.stamp import Stamp
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter
from pbp_workbooks.workbook.xlsxwriter_internals import LockedWorkbook, escape_control, excel_serial, legacy_hash

COMMON: dict[str, Any] = {"password": "stamp-pw", "params": Thresholds().params(), "la_name": "Sample & Borough",
                          "contact": "finance@example.gov.uk", "due": date(2025, 10, 31),
                          "generated_at": datetime(2026, 11, 23, 9, 0, tzinfo=UTC)}


def _identity(spec: spec_mod.Spec, quarter: int | None, partnership: str, host: str,
              token: str = "0123456789abcdef") -> Identity:
    prov = SAMPLE_PROVISIONS[0]
    return Identity(spec.id, spec.version, spec.kind, "2025-26", quarter, partnership, host, prov.urn, prov.provision,
                    token)


def _sheet_cells(path: Path, data_only: bool) -> dict[str, dict[str, tuple[Any, ...]]]:
    wb = openpyxl.load_workbook(path, data_only=data_only)
    out = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and not c.has_style:
                    continue
                cells[c.coordinate] = (c.value, c.number_format, *(repr(x) for x in (c.font, c.fill, c.border,
                                                                                     c.alignment, c.protection)))
        out[ws.title] = cells
    return out


def _sheet_setup(path: Path) -> dict[str, tuple[Any, ...]]:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        dvs = sorted((str(dv.sqref), dv.type, dv.formula1, dv.formula2, dv.prompt, dv.error)
                     for dv in ws.data_validations.dataValidation)
        out[ws.title] = (ws.sheet_state, ws.protection.sheet, ws.protection.password, sorted(map(str, ws.merged_cells)),
                         dvs, ws.freeze_panes, ws.oddHeader.center.text, ws.oddHeader.left.text,
                         ws.oddFooter.left.text, ws.print_area, ws.page_setup.orientation,
                         {k: d.height for k, d in ws.row_dimensions.items()},
                         {k: d.width for k, d in ws.column_dimensions.items()})
    return {**out, "names": sorted((n, d.attr_text) for n, d in wb.defined_names.items()),
            "title": wb.properties.title}


def _assert_same(stamped: Path, direct: Path) -> None:
    a, b = parts(stamped), parts(direct)
    assert list(a) == list(b)  # the same parts in the same order
    for name in a:
        if not (name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml"):
            assert a[name] == b[name], name
    assert _sheet_setup(stamped) == _sheet_setup(direct)
    for data_only in (False, True):  # formulas, then the cached results a viewer shows
        got, want = _sheet_cells(stamped, data_only), _sheet_cells(direct, data_only)
        assert got.keys() == want.keys()
        for sheet in want:
            diff = {k: (got[sheet].get(k), want[sheet].get(k)) for k in got[sheet].keys() | want[sheet].keys()
                    if got[sheet].get(k) != want[sheet].get(k)}
            assert not diff, (sheet, data_only, sorted(diff.items())[:3])


@pytest.mark.parametrize("partnership,host", [
    ("North", "Northfield Primary School"),
    ("East & <West>", "St Mary & St John's \"CE\" Primary"),  # characters XML and page headers escape
    ("Central", "École Élan – Ünïcode Academy"),
])
def test_stamped_quarterly_workbook_is_the_written_one(tmp_path: Path, partnership: str, host: str) -> None:
    spec = spec_mod.load("quarterly")
    fy = FinancialYear.parse("2025-26")
    stamp = Stamp(spec, financial_year="2025-26", quarter=2, **COMMON)
    identity = _identity(spec, 2, partnership, host)
    values = prefill(spec, period_sources(SAMPLE_PROVISIONS[0], fy, 2, Decimal("412500.00")))
    values["exp_teaching_staff_q1"] = Decimal("10234.56")  # an earlier quarter's actual, as prior_actuals prefills it
    for name, inputs in (("blank", values), ("filled", samples.filled_values(spec, fy, 2, values, seed=5,
                                                                              params=COMMON["params"]))):
        assert stamp.fits(identity)
        stamp.write(tmp_path / f"s-{name}.xlsx", identity, inputs)
        WorkbookWriter(spec, identity, **COMMON).write(tmp_path / f"d-{name}.xlsx", inputs)
        _assert_same(tmp_path / f"s-{name}.xlsx", tmp_path / f"d-{name}.xlsx")


def test_stamped_annual_report_is_the_written_one(tmp_path: Path) -> None:
    spec = spec_mod.load("annual")
    fy = FinancialYear.parse("2025-26")
    stamp = Stamp(spec, financial_year="2025-26", quarter=None, **COMMON)
    identity = _identity(spec, None, "South", "Southgate Junior School")
    issued = prefill(spec, period_sources(SAMPLE_PROVISIONS[2], fy, None, Decimal("398000")))
    values = annual_samples.filled_values(spec, fy, issued, seed=2, params=COMMON["params"])
    stamp.write(tmp_path / "s.xlsx", identity, values)
    WorkbookWriter(spec, identity, **COMMON).write(tmp_path / "d.xlsx", values)
    _assert_same(tmp_path / "s.xlsx", tmp_path / "d.xlsx")


@pytest.mark.parametrize("host", [
    "The " + "Very " * 40 + "Long Primary School",  # wraps onto another Instructions line; header too long
    " Leading Space Primary",
    "Tab\tPrimary",
    "Marker \ue000partnership\ue001 Primary",
])
def test_an_identity_the_prototype_does_not_fit_is_written_directly(tmp_path: Path, host: str) -> None:
    spec = spec_mod.load("quarterly")
    stamp = Stamp(spec, financial_year="2025-26", quarter=2, **COMMON)
    identity = _identity(spec, 2, "West", host)
    assert not stamp.fits(identity)
    stamp.write(tmp_path / "s.xlsx", identity, {})
    WorkbookWriter(spec, identity, **COMMON).write(tmp_path / "d.xlsx", {})
    assert parts(tmp_path / "s.xlsx") == parts(tmp_path / "d.xlsx")


def test_a_stamp_refuses_another_period(tmp_path: Path) -> None:
    spec = spec_mod.load("quarterly")
    stamp = Stamp(spec, financial_year="2025-26", quarter=2, **COMMON)
    assert not stamp.fits(_identity(spec, 3, "North", "Northfield Primary School"))


def test_a_very_long_school_name_is_shortened_in_the_page_header(tmp_path: Path) -> None:
    spec = spec_mod.load("quarterly")
    host = "The " + "Very " * 60 + "Long Primary School & Nursery"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # xlsxwriter warns, and drops the header, past 255 characters
        WorkbookWriter(spec, _identity(spec, 2, "West", host), **COMMON).write(tmp_path / "d.xlsx", {})
    for ws in openpyxl.load_workbook(tmp_path / "d.xlsx").worksheets[:3]:
        centre = ws.oddHeader.center.text
        assert centre.startswith("West - The Very Very") and centre.endswith("…"), centre


PACKAGE = Path(__file__).resolve().parents[1] / "pbp_workbooks"


def _private_uses(tree: ast.AST) -> list[str]:
    """xlsxwriter's private names a module imports, and the xlsxwriter classes it subclasses."""
    found: list[str] = []
    xlsxwriter_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xlsxwriter"):
            for alias in node.names:
                xlsxwriter_names.add(alias.asname or alias.name)
                if alias.name.startswith("_"):
                    found.append(f"imports {node.module}.{alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                text = ast.unparse(base)
                if text.startswith("xlsxwriter.") or text in xlsxwriter_names:
                    found.append(f"class {node.name}({text})")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                and ast.unparse(node.value).split(".")[0] in xlsxwriter_names | {"xlsxwriter"}:
            found.append(ast.unparse(node))
    return found


def test_only_xlsxwriter_internals_touches_xlsxwriter_private_names() -> None:
    uses = {p.name: _private_uses(ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(PACKAGE.rglob("*.py"))}
    assert uses.pop("xlsxwriter_internals.py"), "the internals module no longer uses any: update this test"
    assert {name: found for name, found in uses.items() if found} == {}


def test_the_internals_still_do_what_they_are_used_for(tmp_path: Path) -> None:
    assert legacy_hash("pw") == "CF75"  # Excel's hash of "pw", as sheetProtection carries it
    assert escape_control("a\x01b") == "a_x0001_b"
    assert excel_serial(datetime(2025, 4, 1)) == 45748.0
    wb = LockedWorkbook(str(tmp_path / "locked.xlsx"))
    wb.structure_password = "pw"
    wb.add_worksheet("One")
    wb.define_name("amount", "=One!$A$1")
    wb.close()
    with zipfile.ZipFile(tmp_path / "locked.xlsx") as zf:
        xml = zf.read("xl/workbook.xml").decode()
    assert '<workbookProtection workbookPassword="CF75" lockStructure="1"/>' in xml
    assert '<definedName name="amount">One!$A$1</definedName>' in xml
