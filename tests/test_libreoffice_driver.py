"""Tests of the LibreOffice test harness (tests/libreoffice.py + tests/lo_driver.py).

They build a small protected workbook with xlsxwriter, then let a real
headless LibreOffice type into it, recalculate, tamper with it and print it.
One soffice serves the whole session (fixture ``libreoffice``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

# Import the SAME module object that conftest.py loads as a plugin
# (``pytest_plugins = ["libreoffice"]``, tests/ on sys.path), so that every
# test shares its one session office.  Fall back to the package path.
try:
    from libreoffice import (
        LibreOffice,
        LibreOfficeError,
        LockedCellError,
        ValidationRejectedError,
        libreoffice_fixture,  # "libreoffice" fixture, also without the conftest plugin
        require_libreoffice,
    )
except ImportError:
    from tests.libreoffice import (  # type: ignore[no-redef]
        LibreOffice,
        LibreOfficeError,
        LockedCellError,
        ValidationRejectedError,
        libreoffice_fixture,  # noqa: F401
        require_libreoffice,
    )

pytestmark = pytest.mark.libreoffice

PASSWORD = "pw"
LEGACY_HASH_PW = "CF75"  # Excel's 16-bit password hash of "pw" (what xlsxwriter writes)


def _add_structure_protection(path: Path) -> None:
    """xlsxwriter cannot lock the workbook structure: patch workbook.xml."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                text = re.sub(
                    r"(<workbookPr[^>]*/>)",
                    rf'\1<workbookProtection workbookPassword="{LEGACY_HASH_PW}" lockStructure="1"/>',
                    data.decode("utf-8"),
                    count=1,
                )
                data = text.encode("utf-8")
            zout.writestr(item, data)
    tmp.replace(path)


def build_workbook(path: Path) -> Path:
    """Two printable protected sheets + a very hidden _meta sheet.

    Return!B2 (pbp_a, number >= 0 validated), B3 (pbp_b), B5 (pbp_name),
    B6 (pbp_date, date format), B8 (pbp_general, General format) are unlocked
    inputs; B4 = B2+B3 carries a WRONG cached value (999) so that
    recalculation is provable; B7 = B6+1.
    """
    wb = xlsxwriter.Workbook(str(path))
    unlocked = wb.add_format({"locked": False})
    date_input = wb.add_format({"locked": False, "num_format": "dd/mm/yyyy"})
    date_out = wb.add_format({"num_format": "dd/mm/yyyy"})

    ret = wb.add_worksheet("Return")
    ret.write("A1", "Title")
    ret.write("A2", "a")
    ret.write_number("B2", 1, unlocked)
    ret.write("A3", "b")
    ret.write_number("B3", 2, unlocked)
    ret.write("A4", "sum")
    ret.write_formula("B4", "=B2+B3", None, 999)  # stale cached value on purpose
    ret.write("A5", "name")
    ret.write_blank("B5", None, unlocked)
    ret.write("A6", "date")
    ret.write_blank("B6", None, date_input)
    ret.write_formula("B7", '=IF(B6="","",B6+1)', date_out, "")
    ret.write("A8", "general")
    ret.write_blank("B8", None, unlocked)
    ret.data_validation(
        "B2",
        {
            "validate": "decimal",
            "criteria": ">=",
            "value": 0,
            "error_type": "stop",
            "error_message": "must not be negative",
        },
    )
    ret.set_paper(9)  # A4
    ret.fit_to_pages(1, 0)
    ret.protect(PASSWORD)
    wb.define_name("pbp_a", "=Return!$B$2")
    wb.define_name("pbp_b", "=Return!$B$3")
    wb.define_name("pbp_name", "=Return!$B$5")
    wb.define_name("pbp_date", "=Return!$B$6")
    wb.define_name("pbp_general", "=Return!$B$8")

    for name, rows in (("Long", 200), ("Short", 20)):
        sheet = wb.add_worksheet(name)
        for row in range(rows):
            sheet.write(row, 0, f"line {row + 1}")
            sheet.write_number(row, 1, row)
        sheet.set_paper(9)  # normal 100 % scale, no fitting
        sheet.protect(PASSWORD)

    for name, fit in (("Wide", True), ("WideNoFit", False)):
        sheet = wb.add_worksheet(name)
        for row in range(10):
            for col in range(20):
                sheet.write(row, col, f"r{row}c{col} wide text")
        sheet.set_column(0, 19, 20)
        sheet.set_paper(9)
        if fit:
            sheet.fit_to_pages(1, 0)  # one page wide, as many tall as needed
        sheet.protect(PASSWORD)

    meta = wb.add_worksheet("_meta")
    meta.write("A1", "schema")
    meta.write("B1", 1)
    meta.very_hidden()
    wb.close()
    _add_structure_protection(path)
    return path


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return build_workbook(tmp_path / "source.xlsx")


def _values(path: Path, sheet: str = "Return") -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(path, data_only=True)[sheet]


# --------------------------------------------------------------------------
# recalculation


def test_source_has_stale_cached_value(workbook: Path) -> None:
    assert _values(workbook)["B4"].value == 999  # the premise of the next tests


def test_recalc_replaces_stale_cached_values(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "recalc.xlsx"
    libreoffice.recalc(workbook, out)
    assert _values(out)["B4"].value == 3


def test_read_values(libreoffice: LibreOffice, workbook: Path) -> None:
    got = libreoffice.read_values(workbook, ["Return!B4", "Return!A1", "pbp_name", "'Long'!B200", "_meta!B1"])
    assert got == {"Return!B4": 3, "Return!A1": "Title", "pbp_name": None, "'Long'!B200": 199, "_meta!B1": 1}


# --------------------------------------------------------------------------
# fill


def test_fill_numbers_text_dates_by_defined_name(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "filled.xlsx"
    libreoffice.fill(
        workbook,
        out,
        {
            "pbp_a": 10,
            "pbp_b": Decimal("2.5"),
            "pbp_name": "Alice",
            "pbp_date": dt.date(2025, 7, 15),
            "pbp_general": dt.date(2025, 1, 31),
        },
    )
    ws = _values(out)
    assert ws["B4"].value == 12.5  # recalculated, not the stale 999
    assert ws["B5"].value == "Alice"
    assert ws["B6"].value == dt.datetime(2025, 7, 15)
    assert ws["B6"].number_format == "dd/mm/yyyy"  # the cell's own format is kept
    assert ws["B7"].value == dt.datetime(2025, 7, 16)  # dependent formula sees a date serial
    assert ws["B8"].value == dt.datetime(2025, 1, 31)  # General cell gets a date format
    assert ws["B8"].is_date

    # Still locked down after LibreOffice saved it.
    formulas = openpyxl.load_workbook(out)["Return"]
    assert formulas.protection.sheet
    assert formulas["B4"].value == "=B2+B3"
    assert formulas["B4"].protection.locked
    assert not formulas["B2"].protection.locked


def test_fill_by_cell_address_text_stays_text_and_none_clears(
    libreoffice: LibreOffice, workbook: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first.xlsx"
    libreoffice.fill(workbook, first, {"Return!B5": "007", "'Return'!$B$2": 5.25})
    ws = _values(first)
    assert ws["B5"].value == "007"  # a str is text, not the number 7
    assert ws["B4"].value == 7.25

    second = tmp_path / "second.xlsx"
    libreoffice.fill(first, second, {"pbp_b": None, "pbp_name": None})
    ws = _values(second)
    assert ws["B3"].value is None
    assert ws["B5"].value is None
    assert ws["B4"].value == 5.25


def test_fill_locked_cell_raises(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.xlsx"
    with pytest.raises(LockedCellError, match=r"Return!A1.*locked"):
        libreoffice.fill(workbook, out, {"pbp_a": 5, "Return!A1": "typed over a label"})
    with pytest.raises(LockedCellError, match=r"Return!B4"):
        libreoffice.fill(workbook, out, {"Return!B4": 1})  # the formula cell
    assert not out.exists()


def test_fill_hidden_sheet_unknown_name_and_ranges_raise(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.xlsx"
    with pytest.raises(LibreOfficeError, match="hidden") as hidden:
        libreoffice.fill(workbook, out, {"_meta!C1": "x"})
    assert hidden.value.kind == "hidden_sheet"
    with pytest.raises(LibreOfficeError, match="pbp_missing") as unknown:
        libreoffice.fill(workbook, out, {"pbp_missing": 1})
    assert unknown.value.kind == "unknown_name"
    with pytest.raises(LibreOfficeError) as sheet:
        libreoffice.fill(workbook, out, {"Nope!A1": 1})
    assert sheet.value.kind == "unknown_sheet"
    with pytest.raises(TypeError):
        libreoffice.fill(workbook, out, {"pbp_a": object()})
    assert not out.exists()


def test_fill_respects_stop_data_validation(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "invalid.xlsx"
    with pytest.raises(ValidationRejectedError, match="must not be negative"):
        libreoffice.fill(workbook, out, {"pbp_a": -1})
    assert not out.exists()
    libreoffice.fill(workbook, out, {"pbp_a": -1}, validate=False)  # a script could, a person could not
    assert _values(out)["B4"].value == 1


# --------------------------------------------------------------------------
# tamper


def test_tamper_inserts_row_and_sets_formula(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "tampered.xlsx"
    libreoffice.tamper(
        workbook,
        out,
        PASSWORD,
        sheet="Return",
        insert_rows_before=2,
        set_cells={"A1": "hacked", "C3": "=IF(B3>0,B3*100,0)", "Return!B4": 40},
    )
    ws = _values(out)
    assert ws["A1"].value == "hacked"
    assert ws["A2"].value is None and ws["B2"].value is None  # the inserted row
    assert ws["A3"].value == "a" and ws["B3"].value == 1  # old row 2 moved down
    assert ws["C3"].value == 100  # Excel-syntax formula (commas) computed
    assert ws["B5"].value == 41  # old B4 "=B2+B3" moved and followed its inputs

    book = openpyxl.load_workbook(out)
    sheet = book["Return"]
    assert sheet["B5"].value == "=B3+B4"
    assert sheet["C3"].value == "=IF(B3>0,B3*100,0)"
    assert sheet.protection.sheet  # re-protected ...
    assert sheet.protection.password == LEGACY_HASH_PW.lower()  # ... with the same password
    assert book.defined_names["pbp_a"].attr_text == "Return!$B$3"  # names follow the insert


def test_tamper_wrong_password_raises(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    with pytest.raises(LibreOfficeError) as err:
        libreoffice.tamper(workbook, tmp_path / "x.xlsx", "not-it", sheet="Return", set_cells={"A1": "x"})
    assert err.value.kind == "wrong_password"


# --------------------------------------------------------------------------
# PDF


def test_pdf_pages_follow_length_and_print_setup(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    pages = {
        sheet: libreoffice.pdf_pages(workbook, tmp_path / f"{sheet}.pdf", sheet)
        for sheet in ("Return", "Long", "Short", "Wide", "WideNoFit")
    }
    assert pages["Short"] == 1
    assert pages["Long"] > pages["Short"]  # 200 rows at 100 % do not fit one A4 page
    assert pages["Long"] >= 3
    assert pages["Return"] == 1
    assert pages["Wide"] == 1  # fit-to-width (1 x N) honoured
    assert pages["WideNoFit"] > 1  # same content at 100 % spills across pages
    assert all((tmp_path / f"{sheet}.pdf").stat().st_size > 0 for sheet in pages)


def test_pdf_of_hidden_sheet_raises(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    with pytest.raises(LibreOfficeError) as err:
        libreoffice.pdf_pages(workbook, tmp_path / "meta.pdf", "_meta")
    assert err.value.kind == "hidden_sheet"


# --------------------------------------------------------------------------
# what survives a LibreOffice round trip (documents LibreOffice 7.4 behaviour)


def test_round_trip_keeps_protection_names_and_validation(libreoffice: LibreOffice, workbook: Path, tmp_path: Path) -> None:
    out = tmp_path / "roundtrip.xlsx"
    libreoffice.recalc(workbook, out)
    book = openpyxl.load_workbook(out)
    assert {name: book.defined_names[name].attr_text for name in ("pbp_a", "pbp_date")} == {
        "pbp_a": "Return!$B$2",
        "pbp_date": "Return!$B$6",
    }
    assert all(book[name].protection.sheet for name in ("Return", "Long", "Short"))
    validations = book["Return"].data_validations.dataValidation
    assert [str(v.sqref) for v in validations] == ["B2"]
    # The _meta sheet stays out of sight, but LibreOffice cannot express
    # "very hidden": it comes back merely "hidden".
    assert book["_meta"].sheet_state in {"hidden", "veryHidden"}


# --------------------------------------------------------------------------
# process handling


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_restart_after_crash_and_no_process_left_after_close(workbook: Path, tmp_path: Path) -> None:
    require_libreoffice()
    office = LibreOffice()
    with office:
        assert office.is_running()
        assert office.start_seconds is not None and office.start_seconds < 60
        pipe = office.pipe_name
        assert _processes_mentioning(pipe)  # the launcher/oosplash and soffice.bin
        first_pid = office.pid
        assert first_pid is not None

        os.killpg(first_pid, signal.SIGKILL)  # soffice crashes between two operations
        deadline = time.monotonic() + 10
        while office.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not office.is_running()
        out = tmp_path / "after-crash.xlsx"
        office.recalc(workbook, out)  # transparently restarted
        assert _values(out)["B4"].value == 3
        assert office.pid != first_pid
        pipe = office.pipe_name

        # A hung operation is cut off, and the (possibly hung) office is killed.
        office.op_timeout = 0.001
        with pytest.raises(LibreOfficeError) as err:
            office.read_values(workbook, ["Return!B4"])
        assert err.value.kind == "timeout"
        assert not office.is_running()
        assert _processes_mentioning(pipe) == []
        office.op_timeout = 60
        office.start()
        pipe = office.pipe_name
    assert not office.is_running()
    assert _processes_mentioning(pipe) == []  # launcher, oosplash and soffice.bin all gone


def test_start_failure_is_reported_not_hung(tmp_path: Path) -> None:
    false = shutil.which("false") or "/bin/false"
    office = LibreOffice(soffice=false, start_timeout=20)
    started = time.monotonic()
    with pytest.raises(LibreOfficeError, match="exited with status") as err:
        office.start()
    assert err.value.kind == "start_failed"
    assert time.monotonic() - started < 10
    office.close()
    assert not office.is_running()
