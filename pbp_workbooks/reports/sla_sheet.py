"""The LA workbook's SLA review sheet: the year's reviews from the member schools (sla.py).

Per partnership and statement, how many schools gave each answer, how many replied and
how many have not; the same for all partnerships; a stacked bar chart of the answers; each
partnership's SLA dates and whether its review is due; and every school's state (who has
not replied) and answers to the statements (the free-text answers are in the SLA review CSV). Counts are of schools and
are written as numbers with SUM formulas (their cached values computed here).
"""

from __future__ import annotations

import re
from typing import Any

from pbp_workbooks.reports.consolidation import Consolidation
from pbp_workbooks.reports.sheets import HEADER_FILL, Book, cell, put, put_formula, put_heading, put_text
from pbp_workbooks.reports.sla import Question, SlaOverview

SHEET = "SLA review"
# one colour per answer, in the spec's order (agree ... disagree); more answers repeat the last
ANSWER_COLOURS = ("#1E7B34", "#8BC68F", "#BFBFBF", "#F4B183", "#C00000")


def _statement_no(i: int) -> str:
    return f"Statement {i + 1}"


def _unnumbered(text: str) -> str:
    """A statement's words without the number the workbook shows in front of it ("1. The ...")."""
    return re.sub(r"^\s*\d+[a-z]?[.)]\s*", "", text)


def write_sla_sheet(book: Book, c: Consolidation) -> None:
    sla = c.sla
    assert sla is not None
    ws = book.wb.add_worksheet(SHEET)
    statements = sla.statements
    choices = list(statements[0].choices or ()) if statements else []
    put_heading(book, ws, f"SLA review (toolkit Appendix 1) – {sla.year}, from each member school",
                "Counts are schools, from each school's latest accepted review. A school with no accepted review is "
                "listed as not replied and never counted as an answer. The free-text answers are in the SLA review "
                "CSV file.")
    r = 3
    for i, q in enumerate(statements):
        ws.write_string(r, 0, f"{_statement_no(i)}: {_unnumbered(q.text)}", book.fmt(italic=True))
        r += 1
    cols = ["Partnership", "Statement", *choices, "Replied", "Not replied", "Schools"]
    first = r + 1
    _header(book, ws, first - 1, cols)
    r = first
    for partnership in [*sla.partnerships, None]:
        if partnership is None:
            last_partnership = r - 1  # the chart shows the partnerships, not the LA total
        for i, q in enumerate(statements):
            _count_row(book, ws, r, sla, partnership, i, q)
            r += 1
    last = r - 1
    ws.freeze_panes(first, 2)
    ws.autofilter(first - 1, 0, last, len(cols) - 1)
    if statements:
        chart = book.wb.add_chart({"type": "bar", "subtype": "stacked"})
        for j in range(len(choices)):
            chart.add_series({"name": [SHEET, first - 1, 2 + j], "categories": [SHEET, first, 0, last_partnership, 1],
                              "values": [SHEET, first, 2 + j, last_partnership, 2 + j],
                              "fill": {"color": ANSWER_COLOURS[min(j, len(ANSWER_COLOURS) - 1)]}, "gap": 40})
        chart.set_title({"name": f"SLA review {sla.year}: answers by partnership and statement (schools)"})
        chart.set_x_axis({"num_format": "0", "major_unit": 1, "min": 0})
        chart.set_y_axis({"reverse": True, "num_font": {"size": 8}})
        chart.set_legend({"position": "bottom"})
        height = max(360, 22 * (last_partnership - first + 1) + 120)
        chart.set_size({"width": 820, "height": height})
        ws.insert_chart(last + 2, 0, chart)
        r = last + 3 + height // 20
    r = _write_dues(book, ws, sla, r + 1)
    _write_schools(book, ws, sla, statements, r + 1)
    # one set of widths for the three tables: names, then answers (counts, statements), then counts
    for col, width in enumerate((16, 28, 17, 22, 17, 17, 17, 12, 12, 12)):
        ws.set_column(col, col, width)
    # printed like every sheet (sheets.Book: A4 landscape, fitted to the width, header and footer); the
    # row repeated on each page is the title, not the first table's header: the later tables have their own


def _count_row(book: Book, ws: Any, r: int, sla: SlaOverview, partnership: str | None, i: int, q: Question
               ) -> None:
    bold = {"bold": True} if partnership is None else {}
    put_text(ws, r, 0, partnership or "All partnerships", book.fmt(bold=True))
    put(book, ws, r, 1, "text", _statement_no(i), **bold)
    counts = sla.counts(partnership, q)
    for j, v in enumerate(counts.values()):
        put(book, ws, r, 2 + j, "int", v, **bold)
    k = 2 + len(counts)
    put_formula(ws, r, k, f"=SUM({cell(r, 2)}:{cell(r, k - 1)})",
                book.fmt(num_format="0", bold=True), sum(counts.values()))
    missing = len(sla.not_replied(partnership))
    put(book, ws, r, k + 1, "int", missing, **({"bold": True, "font_color": "#9C0006"} if missing else bold))
    schools = sla.schools if partnership is None else sla.of(partnership)
    put(book, ws, r, k + 2, "int", len(schools), **bold)


DUE_COLS = ["Partnership", "SLA start", "Last reviewed", "Next review due", "Review"]


def _header(book: Book, ws: Any, row: int, headers: list[str]) -> None:
    """A table's header row (the sheet's column widths are set once, for all its tables)."""
    hf = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True, valign="vcenter")
    for c, h in enumerate(headers):
        ws.write_string(row, c, h, hf)
    ws.set_row(row, 30)


def _write_dues(book: Book, ws: Any, sla: SlaOverview, r: int) -> int:
    ws.write_string(r, 0, "When each partnership's SLA review is due (roster.xlsx, sheet Provisions; pbp.toml "
                          "[la] sla_review_months)", book.fmt(bold=True))
    _header(book, ws, r + 1, DUE_COLS)
    r += 2
    for d in sla.dues:
        put_text(ws, r, 0, d.partnership, book.fmt(bold=True))
        put(book, ws, r, 1, "date", d.sla_start)
        put(book, ws, r, 2, "date", d.last_reviewed)
        put(book, ws, r, 3, "date", d.next_due)
        put(book, ws, r, 4, "text", d.state.upper() if d.due else d.state,
            **({"bold": True, "font_color": "#9C0006"} if d.due else {}))
        r += 1
    return r


def _write_schools(book: Book, ws: Any, sla: SlaOverview, statements: list[Question], r: int) -> None:
    ws.write_string(r, 0, "Each school's review: who has replied, and the answers to the statements",
                    book.fmt(bold=True))
    _header(book, ws, r + 1, ["Partnership", "School", "URN", "Review",
                              *(_statement_no(i) for i in range(len(statements))), "Version"])
    r += 2
    for s in sla.schools:
        put_text(ws, r, 0, s.partnership, book.fmt(bold=True))
        put(book, ws, r, 1, "text", s.school)
        put(book, ws, r, 2, "text", s.urn)
        put(book, ws, r, 3, "text", s.state, **({} if s.replied else {"bold": True, "font_color": "#9C0006"}))
        for i, q in enumerate(statements):
            put(book, ws, r, 4 + i, "text", s.values.get(q.name) if s.values else None)
        put(book, ws, r, 4 + len(statements), "int", s.official.version if s.official else None)
        r += 1
