"""How every sheet of every workbook the tool writes prints: one helper, ``print_setup``.

A4, fitted to the page width (as many pages tall as needed, unless a sheet asks for one
page), the sheet's title rows repeated at the top of every page, a header with the
workbook's title and period, and a footer naming the workbook, the period and the page
("Page 2 of 5"). Used by the issued and feedback workbooks (writer.py), the roster
(roster.py) and, through ``sheets.Book``, the LA workbook, the summaries and the reports.
Only xlsxwriter's public page-setup calls are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

A4 = 9  # the paper size code of OOXML (pageSetup paperSize) and of xlsxwriter's set_paper
HEADER_ROOM = 250  # Excel allows 255 characters in a page header or footer, codes included


@dataclass(frozen=True)
class Printing:
    """What every printed page of one workbook names. ``workbook`` and ``period`` are in the
    footer; ``title`` (default: the workbook) and the period are in the header; ``note`` is
    the footer's right-hand part (default: the sheet's name)."""

    workbook: str
    period: str
    title: str | None = None
    note: str | None = None


@dataclass
class Page:
    """How one sheet prints: the rows repeated at the top of every page (0-based first and
    last; default the first row), portrait or landscape, and how many pages tall it may
    be (0: as many as needed)."""

    titles: tuple[int, int] | None = None
    portrait: bool = False
    tall: int = 0


def escape(text: str, room: int) -> str:
    """Text for a page header or footer ('&' starts a code there), shortened to ``room`` characters."""
    if len(text) > room:
        text = text[:room - 1].rstrip() + "…"
    return text.replace("&", "&&")


def header(printing: Printing) -> str:
    return f"&L&B{escape(printing.title or printing.workbook, 150)}&R{escape(printing.period, 60)}"


def footer(printing: Printing) -> str:
    note = "&A" if printing.note is None else escape(printing.note, 40)
    return f"&L{escape(printing.workbook, 100)} – {escape(printing.period, 50)}&CPage &P of &N&R{note}"


def print_setup(ws: Any, printing: Printing, page: Page | None = None) -> None:
    """A4, fitted to the page width, title rows repeated, header and footer, on one xlsxwriter worksheet."""
    page = page or Page()
    ws.set_paper(A4)
    if page.portrait:
        ws.set_portrait()
    else:
        ws.set_landscape()
    ws.fit_to_pages(1, page.tall)
    first, last = page.titles or (0, 0)
    ws.repeat_rows(first, last)
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.7)
    ws.set_header(header(printing))
    ws.set_footer(footer(printing))
