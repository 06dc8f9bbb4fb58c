"""Every use of xlsxwriter's private internals, in one place.

xlsxwriter has no public hooks for what the writer and stamping need, so these lean on
names it does not document (``Worksheet._write_cell``, ``_prepare_formula``, ``row_info``
/ ``col_info`` (``RowInfo``/``ColumnInfo``, new in 3.3), ``Format._get_xf_index``,
``Workbook._write_workbook_pr``, the ``defined_names`` list, ``XMLwriter``'s escaping and
``_datetime_to_excel_datetime``). They can change in any xlsxwriter release: pyproject
allows only the versions tested, CI runs the lowest and the newest, and
tests/test_stamp.py (a stamped workbook is the written one, cell by cell) with
tests/test_golden.py (the issued workbook byte for byte) fail when one moves. No other
module touches xlsxwriter's private names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import xlsxwriter
from xlsxwriter.utility import _datetime_to_excel_datetime, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter


class Hole(NamedTuple):
    """A cell left open in a prototype workbook (see stamp.py): what goes there, where,
    with which cell style, and its formula if it has one."""

    key: tuple[Any, ...]  # ("field", name) | ("check", index) | ("status",)
    ref: str
    xf: int | None
    formula: str | None


HOLE_MARK = "\ue002{}\ue003"  # private-use characters: no spreadsheet text contains them


class HoleWorksheet(Worksheet):
    """Our formulas use only classic functions: skip xlsxwriter's ~30 regex passes per
    formula that look for dynamic-array functions (a third of the writing time).

    In a prototype (``pbp_holes`` set), the cells listed there are not written: a marker
    stands in their place and the cell's style and formula are recorded in ``pbp_found``."""

    pbp_holes: dict[tuple[int, int], tuple[Any, ...]] | None = None
    pbp_found: list[Hole]

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:  # type: ignore[override]
        return formula[1:] if formula.startswith("=") else formula

    def _write_cell(self, row: int, col: int, cell: Any) -> None:
        key = self.pbp_holes.get((row, col)) if self.pbp_holes is not None else None
        if key is None:
            super()._write_cell(row, col, cell)  # type: ignore[misc]
            return
        fmt = cell.format
        if fmt is None and row in self.row_info and self.row_info[row].row_format:  # as xlsxwriter chooses it
            fmt = self.row_info[row].row_format
        elif fmt is None and col in self.col_info:
            fmt = self.col_info[col].column_format
        self.fh.write(HOLE_MARK.format(len(self.pbp_found)))  # type: ignore[attr-defined]
        self.pbp_found.append(Hole(key, xl_rowcol_to_cell(row, col), fmt._get_xf_index() if fmt else None,
                                   getattr(cell, "formula", None)))


_CHECKED_NAMES: set[str] = set()  # workbook-level defined names xlsxwriter has accepted once


class LockedWorkbook(xlsxwriter.Workbook):
    """xlsxwriter has no workbook-structure protection; add <workbookProtection>.

    define_name checks a name with five regular expressions each time; a spec's ~230
    names are the same in every workbook, so each is checked once per process."""

    worksheet_class = HoleWorksheet
    structure_password: str | None = None

    def define_name(self, name: str, formula: str) -> int:  # type: ignore[override]
        if name in _CHECKED_NAMES:
            self.defined_names.append([name, -1, formula.lstrip("="), False])
            return 0
        result = super().define_name(name, formula)
        if result == 0 and "!" not in name:
            _CHECKED_NAMES.add(name)
        return result

    def _write_workbook_pr(self) -> None:  # type: ignore[override]
        super()._write_workbook_pr()  # type: ignore[misc]
        if self.structure_password is not None:
            attrs = [("workbookPassword", legacy_hash(self.structure_password)), ("lockStructure", "1")]
            self._xml_empty_tag("workbookProtection", attrs)  # type: ignore[attr-defined]


def legacy_hash(password: str) -> str:
    """ECMA-376 Part 4 §14.7.1 legacy password hash (the one sheetProtection uses)."""
    digest = 0
    for char in password[::-1]:
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password) ^ 0xCE4B
    return f"{digest:X}"


def excel_serial(dt: datetime) -> float:
    """A date-time as the serial number xlsxwriter writes for it (1900 date system)."""
    return float(_datetime_to_excel_datetime(dt, False, False))


escape_control = XMLwriter._escape_control_characters  # control characters as xlsxwriter escapes them (_x0001_)
