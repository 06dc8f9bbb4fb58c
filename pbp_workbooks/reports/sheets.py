"""Sheet-writing helpers shared by the LA workbook (la_workbook.py, annual_sheets.py) and the summaries (summary.py).

``Book`` is an xlsxwriter workbook where text is always text: every string goes through
``write_string`` and the workbook has ``strings_to_formulas`` off, so ``=HYPERLINK(...)``
typed into a commentary stays text. The ``put_*`` functions write one cell (blank for
None, never a made-up zero; money as a number only at the last step); ``Col`` and
``put_header`` describe and write a table's header row. The number formats and the
fills that go with a status word are here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

MONEY_FMT = "£#,##0.00;[Red]-£#,##0.00"
PCT_FMT = "0.0%"
DATE_FMT = "dd/mm/yyyy"
DATETIME_FMT = "dd/mm/yyyy hh:mm"
HEADER_FILL = "#D9E1F2"
RAG_FILLS = {"Green": ("#C6EFCE", "#006100"), "Amber": ("#FFEB9C", "#7F6000"), "Red": ("#FFC7CE", "#9C0006"),
             "No data": ("#E7E6E6", "#404040")}
KPI_FILLS = {"Met": ("#C6EFCE", "#006100"), "Not met": ("#FFC7CE", "#9C0006"), "No data": ("#E7E6E6", "#404040")}
WORKBOOK_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                    "strings_to_numbers": False}


class Book:
    """An xlsxwriter workbook where text is always text: every string goes through write_string."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        self._formats: dict[tuple[tuple[str, Any], ...], Any] = {}

    def fmt(self, **props: Any) -> Any:
        key = tuple(props.items())
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self.wb.add_format({"font_name": "Arial", "font_size": 10, "valign": "top",
                                                             **props})
        return found

    def close(self) -> None:
        self.wb.close()


def put_text(ws: Any, r: int, c: int, v: Any, f: Any = None) -> None:
    if v is None or v == "":
        ws.write_blank(r, c, None, f)
    else:
        ws.write_string(r, c, str(v), f)


def put_num(ws: Any, r: int, c: int, v: Decimal | int | None, f: Any = None) -> None:
    if v is None:
        ws.write_blank(r, c, None, f)
    else:
        ws.write_number(r, c, float(v), f)  # serialising an exact value, not arithmetic


def put_date(ws: Any, r: int, c: int, v: date | None, f: Any = None) -> None:
    if v is None:
        ws.write_blank(r, c, None, f)
    else:
        ws.write_datetime(r, c, datetime(v.year, v.month, v.day), f)


def put_datetime(ws: Any, r: int, c: int, v: datetime | None, f: Any = None) -> None:
    """A moment (the ledger's UTC times) as a real Excel date and time."""
    if v is None:
        ws.write_blank(r, c, None, f)
    else:
        ws.write_datetime(r, c, v.replace(tzinfo=None), f)


def stamp(text: str | None) -> datetime | None:
    """A time the ledger recorded (ISO 8601 text, UTC) as a datetime."""
    return datetime.fromisoformat(text) if text else None


def put_formula(ws: Any, r: int, c: int, formula: str, f: Any, value: Decimal | int | str | None) -> None:
    """A formula with its cached value computed in Python (viewers that never recalculate show it)."""
    cached: Any = "" if value is None else (float(value) if isinstance(value, Decimal | int) else value)
    ws.write_formula(r, c, formula, f, cached)


_KIND_FORMATS: dict[str, dict[str, Any]] = {
    "money": {"num_format": MONEY_FMT}, "pct": {"num_format": PCT_FMT}, "int": {"num_format": "0"},
    "date": {"num_format": DATE_FMT, "align": "left"}, "datetime": {"num_format": DATETIME_FMT, "align": "left"},
    "text": {"text_wrap": True},
}
_WRITERS: dict[str, Callable[..., None]] = {
    "money": put_num, "pct": put_num, "int": put_num, "date": put_date, "datetime": put_datetime, "text": put_text,
}


def cell(r: int, c: int, absolute: bool = False) -> str:
    from xlsxwriter.utility import xl_rowcol_to_cell

    return xl_rowcol_to_cell(r, c, absolute, absolute)


def col_range(c: int, r1: int, r2: int) -> str:
    return f"{cell(r1, c)}:{cell(r2, c)}"


def put_heading(book: Book, ws: Any, title: str, note: str | None = None) -> None:
    """A sheet's title (row 1) and the italic line under it that says what it holds."""
    ws.write_string(0, 0, title, book.fmt(bold=True, font_size=14))
    if note is not None:
        ws.write_string(1, 0, note, book.fmt(italic=True))


@dataclass(frozen=True)
class Col:
    header: str
    kind: str  # text | money | pct | int | date | datetime
    width: float = 14


def put_header(book: Book, ws: Any, row: int, cols: Sequence[Col]) -> None:
    hf = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True, valign="vcenter")
    for c, col in enumerate(cols):
        ws.write_string(row, c, col.header, hf)
        ws.set_column(c, c, col.width)
    ws.set_row(row, 42)


def put(book: Book, ws: Any, r: int, c: int, kind: str, v: Any, **extra: Any) -> None:
    """One cell of a ``Col.kind`` (text | money | pct | int | date | datetime), in that kind's format."""
    _WRITERS[kind](ws, r, c, v, book.fmt(**_KIND_FORMATS[kind], **extra))


def put_count(book: Book, ws: Any, r: int, c: int, v: int | str | None, **extra: Any) -> None:
    """A published pupil count: a number, the suppression marker (text, right-aligned) or blank."""
    if isinstance(v, str):
        ws.write_string(r, c, v, book.fmt(align="right", **extra))
    else:
        put_num(ws, r, c, v, book.fmt(num_format="0", **extra))


def put_share(book: Book, ws: Any, r: int, c: int, v: Decimal | str | None, **extra: Any) -> None:
    if isinstance(v, str):
        ws.write_string(r, c, v, book.fmt(align="right", **extra))
    else:
        put_num(ws, r, c, v, book.fmt(num_format=PCT_FMT, **extra))


OVERSPEND_FONT = {"font_color": "#C00000", "bold": True}


def flag_overspend(wb: Any, ws: Any, r1: int, c1: int, r2: int, c2: int) -> None:
    """A positive variance (outturn over budget) in red, as in the returns; an underspend is
    not a problem and stays plain. Only numbers are flagged ("" > 0 is TRUE in Excel)."""
    top = cell(r1, c1)
    ws.conditional_format(r1, c1, r2, c2, {"type": "formula", "criteria": f"=AND(ISNUMBER({top}),{top}>0)",
                                           "format": wb.add_format(OVERSPEND_FONT)})
