"""The annual overview's three sheets in the LA workbook: Annual KPIs, Annual pupils, Annual delivery.

They are PUBLISHED sheets (``PUBLISHED_SHEETS``): every pupil count in them is the
overview's suppressed one (annual_overview.py), written with ``sheets.put_count`` /
``put_share`` as a number, the suppression marker or blank. A provision without an
accepted annual report is shown as MISSING / REJECTED, never as zero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pbp_workbooks.reports import suppression
from pbp_workbooks.reports.annual_overview import (
    BREAKDOWNS,
    KPI,
    METHODS,
    AnnualLine,
    count_or_zero,
    kpi_better,
    kpi_status,
)
from pbp_workbooks.reports.consolidation import Consolidation
from pbp_workbooks.reports.sheets import (
    HEADER_FILL,
    KPI_FILLS,
    Book,
    Col,
    put,
    put_count,
    put_header,
    put_heading,
    put_num,
    put_share,
    put_text,
)

PUBLISHED_SHEETS = ("Annual KPIs", "Annual pupils", "Annual delivery")


def _annual_heading(book: Book, ws: Any, c: Consolidation, title: str) -> None:
    assert c.annual is not None
    n, acc = len(c.annual.lines), len(c.annual.accepted())
    put_heading(book, ws, f"{title} – annual reports {c.year}",
                f"{acc} of {n} provisions have an accepted annual report (its latest accepted version). "
                "A provision without one is shown as MISSING / REJECTED, never as zero.")
    ws.write_string(2, 0, "Published sheet: small numbers of pupils are suppressed. " + suppression.LEGEND,
                    book.fmt(italic=True, font_color="#595959"))


def _missing_row(book: Book, ws: Any, r: int, ln: AnnualLine, first_blank: int, last_blank: int) -> None:
    put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
    put(book, ws, r, 1, "text", ln.label, bold=True, font_color="#9C0006")
    for col in range(first_blank, last_blank + 1):
        ws.write_blank(r, col, None, book.fmt(bg_color="#F2F2F2"))


KPI_COLS = [Col("Partnership", "text", 14), Col("Annual report", "text", 24), Col("Indicator", "text", 40),
            Col("Better when", "text", 10), Col("Target", "text", 10), Col("Actual", "text", 10),
            Col("Target met?", "text", 12), Col("Commentary", "text", 60)]


def _write_annual_kpis(book: Book, c: Consolidation) -> None:
    a = c.annual
    assert a is not None
    ws = book.wb.add_worksheet("Annual KPIs")
    _annual_heading(book, ws, c, "Key performance indicators against targets")
    first = 5
    put_header(book, ws, first - 1, KPI_COLS)
    r = first
    met = total = 0
    for ln in a.lines:
        if ln.values is None:
            _missing_row(book, ws, r, ln, 2, 5)
            put_text(ws, r, 6, "No data", book.fmt(bold=True))
            put_text(ws, r, 7, "No accepted annual report: no KPIs.")
            r += 1
            continue
        for key, label in a.rows(KPI):
            v = ln.values
            better = kpi_better(a.spec, key)
            status = kpi_status(a.grid_value(v, KPI, key, "target"), a.grid_value(v, KPI, key, "actual"), better)
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label)
            put_text(ws, r, 2, label)
            put_text(ws, r, 3, better)
            for col, column in ((4, "target"), (5, "actual")):
                x = a.grid_value(v, KPI, key, column)
                put_num(ws, r, col, x if isinstance(x, Decimal | int) else None, book.fmt(num_format="0.0##"))
            put_text(ws, r, 6, status, book.fmt(bold=True))
            put(book, ws, r, 7, "text", a.grid_value(v, KPI, key, "commentary") or None)
            met += status == "Met"
            total += status != "No data"
            r += 1
    for word, (bg, fg) in KPI_FILLS.items():
        ws.conditional_format(first, 6, max(first, r - 1), 6, {
            "type": "cell", "criteria": "equal to", "value": f'"{word}"',
            "format": book.wb.add_format({"bg_color": bg, "font_color": fg, "bold": True})})
    ws.write_string(r + 1, 0, f"{met} of {total} KPI targets met in the accepted annual reports.", book.fmt(bold=True))
    ws.freeze_panes(first, 1)
    ws.autofilter(first - 1, 0, max(first, r - 1), len(KPI_COLS) - 1)


def _write_annual_pupils(book: Book, c: Consolidation) -> None:
    a = c.annual
    assert a is not None
    ws = book.wb.add_worksheet("Annual pupils")
    _annual_heading(book, ws, c, "Pupil profiles")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 26)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 20, 11)
    hdr = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True, valign="vcenter")
    r = 4
    for b in BREAKDOWNS:
        groups = a.rows(b)
        ws.write_string(r, 0, a.title(b).replace("Service delivery: p", "P"),
                        book.fmt(bold=True, font_size=12))
        r += 1
        heads = ["Partnership", "Annual report", "Pupils supported"]
        for _k, label in groups:
            heads += [f"{label}: pupils", f"{label}: share"]
        for j, h in enumerate(heads):
            ws.write_string(r, j, h, hdr)
        ws.set_row(r, 44)
        r += 1
        for ln in a.lines:
            if ln.values is None:
                _missing_row(book, ws, r, ln, 2, len(heads) - 1)
                r += 1
                continue
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label)
            put_count(book, ws, r, 2, a.pupils(ln.partnership))
            for j, (k, _label) in enumerate(groups):
                put_count(book, ws, r, 3 + 2 * j, a.cell(b, k, ln.partnership))
                put_share(book, ws, r, 4 + 2 * j, a.share(b, k, ln.partnership))
            r += 1
        ws.write_string(r, 0, "LA total", book.fmt(bold=True, top=1))
        ws.write_string(r, 1, f"{len(a.accepted())} accepted reports", book.fmt(top=1))
        put_count(book, ws, r, 2, a.la_pupils(), bold=True, top=1)
        for j, (k, _label) in enumerate(groups):
            put_count(book, ws, r, 3 + 2 * j, a.la_cell(b, k), bold=True, top=1)
            put_share(book, ws, r, 4 + 2 * j, a.la_share(b, k), bold=True, top=1)
        r += 3
    ws.freeze_panes(4, 1)


DELIVERY_COLS = [Col("Partnership", "text", 14), Col("Annual report", "text", 24), Col("Pupils supported", "int", 10),
                 Col("Schools supported", "int", 10), Col("Schools in the partnership", "int", 10),
                 Col("Average length of stay (weeks)", "text", 11)]


def _write_annual_delivery(book: Book, c: Consolidation) -> None:
    a = c.annual
    assert a is not None
    ws = book.wb.add_worksheet("Annual delivery")
    _annual_heading(book, ws, c, "Service delivery")
    methods = a.rows(METHODS)
    cols = list(DELIVERY_COLS)
    for _k, label in methods:
        cols += [Col(f"{label}: pupils", "int", 11), Col(f"{label}: sessions", "int", 11)]
    cols += [Col("Pupils placed outside their key stage", "int", 12),
             Col("Multidisciplinary meeting held before each?", "text", 14)]
    first = 5
    put_header(book, ws, first - 1, cols)
    r = first
    for ln in a.lines:
        if ln.values is None:
            _missing_row(book, ws, r, ln, 2, len(cols) - 1)
            r += 1
            continue
        v, p = ln.values, ln.partnership
        put_text(ws, r, 0, p, book.fmt(bold=True))
        put(book, ws, r, 1, "text", ln.label)
        put_count(book, ws, r, 2, a.pupils(p))
        put(book, ws, r, 3, "int", a.value(v, "schools_supported_count"))
        put(book, ws, r, 4, "int", a.value(v, "member_school_count"))
        stay = a.value(v, "average_stay")
        put_num(ws, r, 5, stay if isinstance(stay, Decimal | int) else None, book.fmt(num_format="0.0"))
        for j, (k, _label) in enumerate(methods):
            put_count(book, ws, r, 6 + 2 * j, a.methods(k, p))
            put(book, ws, r, 7 + 2 * j, "int", a.grid_value(v, METHODS, k, "sessions"))
        put_count(book, ws, r, 6 + 2 * len(methods), a.placements(p))
        put(book, ws, r, 7 + 2 * len(methods), "text",
             a.value(v, "mdm_held") if count_or_zero(a.value(v, "out_of_key_stage")) else "not needed")
        r += 1
    acc = [ln.values for ln in a.accepted() if ln.values is not None]
    top = {"bold": True, "top": 1}
    ws.write_string(r, 0, "LA total", book.fmt(**top))
    ws.write_string(r, 1, f"{len(acc)} accepted reports", book.fmt(top=1))
    put_count(book, ws, r, 2, a.la_pupils(), **top)
    put_count(book, ws, r, 3, sum(count_or_zero(a.value(v, "schools_supported_count")) for v in acc), **top)
    put_count(book, ws, r, 4, sum(count_or_zero(a.value(v, "member_school_count")) for v in acc), **top)
    stays: list[Decimal] = [Decimal(x) for v in acc if isinstance(x := a.value(v, "average_stay"), Decimal | int)]
    put_num(ws, r, 5, sum(stays, Decimal(0)) / len(stays) if stays else None, book.fmt(num_format="0.0", **top))
    for j, (k, _label) in enumerate(methods):
        put_count(book, ws, r, 6 + 2 * j, a.la_methods(k), **top)
        put_count(book, ws, r, 7 + 2 * j, sum(count_or_zero(a.grid_value(v, METHODS, k, "sessions")) for v in acc), **top)
    put_count(book, ws, r, 6 + 2 * len(methods), a.la_placements(), **top)
    ws.write_string(r + 2, 0, "LA average length of stay: the mean of the partnerships' averages. A pupil supported "
                              "in more than one way counts under each delivery method.", book.fmt(italic=True))
    ws.freeze_panes(first, 1)


def write_annual_sheets(book: Book, c: Consolidation) -> None:
    _write_annual_kpis(book, c)
    _write_annual_pupils(book, c)
    _write_annual_delivery(book, c)
