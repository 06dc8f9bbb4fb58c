"""Sheet-writing helpers shared by the LA workbook (la_workbook.py, annual_sheets.py) and the summaries (summary.py).

``Book`` is an xlsxwriter workbook where text is always text: every string goes through
``write_string`` and the workbook has ``strings_to_formulas`` off, so ``=HYPERLINK(...)``
typed into a commentary stays text. The ``put_*`` functions write one cell (blank for
None, never a made-up zero; money as a number only at the last step); ``Col`` and
``put_header`` describe and write a table's header row. The number formats and the
fills that go with a status word are here too.

Printing: every sheet of every workbook the tool writes prints on A4, fitted to the page
width, with its title rows repeated on every page and a footer naming the workbook, the
period and the page (``print_setup``, the one place this is decided). A ``Book`` given
``Printing`` applies it (printing.py) to each of its visible sheets when it closes; a sheet
says how it differs (portrait, one page tall, which rows repeat) with ``Book.page``, and a
table's header row written by ``put_header`` is the row repeated unless the sheet says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base.printing import Page, Printing, print_setup

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
    """An xlsxwriter workbook where text is always text: every string goes through write_string.

    Every visible sheet gets ``print_setup`` with ``printing`` when the book closes."""

    def __init__(self, path: Path, printing: Printing) -> None:
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        self._formats: dict[tuple[tuple[str, Any], ...], Any] = {}
        self.printing = printing
        self.pages: dict[str, Page] = {}

    def page(self, ws: Any, *, titles: tuple[int, int] | None = None, portrait: bool | None = None,
             tall: int | None = None) -> Page:
        """How ``ws`` prints (see Page); what is not given keeps its value."""
        pg = self.pages.setdefault(ws.name, Page())
        if titles is not None:
            pg.titles = titles
        if portrait is not None:
            pg.portrait = portrait
        if tall is not None:
            pg.tall = tall
        return pg

    def fmt(self, **props: Any) -> Any:
        key = tuple(props.items())
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self.wb.add_format({"font_name": "Arial", "font_size": 10, "valign": "top",
                                                             **props})
        return found

    def close(self) -> None:
        for ws in self.wb.worksheets():
            if not ws.hidden:
                print_setup(ws, self.printing, self.pages.get(ws.name))
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
    page = book.page(ws)
    if page.titles is None:  # the sheet's (first) table header repeats on every printed page
        page.titles = (row, row)


def put(book: Book, ws: Any, r: int, c: int, kind: str, v: Any, **extra: Any) -> None:
    """One cell of a ``Col.kind`` (text | money | pct | int | date | datetime), in that kind's format."""
    _WRITERS[kind](ws, r, c, v, book.fmt(**_KIND_FORMATS[kind], **extra))


def wrapped_height(text: str | None, width: float, line: float = 13) -> float | None:
    """A row height that shows ``text`` wrapped in a column ``width`` characters wide (spreadsheet
    files do not store an automatic height, and some programs do not work one out), or None
    when it fits on one line."""
    if not text:
        return None
    lines = sum(max(1, -(-len(part) // max(1, int(width * 1.1)))) for part in str(text).split("\n"))
    return line * lines + 2 if lines > 1 else None


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
