"""The LA workbook's surplus sheets (with the year's surplus decisions: surplus_overview.py).

Surplus: per partnership, the year-end balance and where it came from, the LA's claw-back
threshold, what was kept by use (toolkit section 4), what was shared among the member
schools, what is undecided and how much of it the LA may claw back, with an LA total.
Surplus payments: one line per member school of an accepted decision (school, URN,
partnership, amount), an Excel table with a total that equals the amounts shared, for the
finance system (the same lines as the payments CSV).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pbp_workbooks.reports.consolidation import Consolidation
from pbp_workbooks.reports.sheets import MONEY_FMT, Book, Col, col_range, put, put_formula, put_header, put_heading, put_text
from pbp_workbooks.reports.surplus_overview import SurplusOverview, kept, name

SURPLUS_SHEET = "Surplus"
PAYMENTS_SHEET = "Surplus payments"



def _columns() -> tuple[list[Col], dict[int, str]]:
    """The Surplus sheet's columns, and the defined name of the money field in each money column."""
    uses = kept()
    cols = [Col("Partnership", "text", 14), Col("Surplus decision", "text", 24), Col("Year-end balance", "money", 14),
            Col("Balance from", "text", 26), Col("Claw-back threshold", "money", 14),
            *(Col(label, "money", 13) for _, label in uses), Col("Shared among member schools", "money", 14),
            Col("Undecided", "money", 13), Col("Possible claw-back", "money", 13), Col("Approach", "text", 16),
            Col("Agreed on", "date", 11), Col("Member schools paid", "int", 10)]
    shared = 5 + len(uses)
    money = {2: name("closing_balance"), 4: name("claw_back_limit"), **{5 + i: n for i, (n, _) in enumerate(uses)},
             shared: name("shared"), shared + 1: name("not_decided"), shared + 2: name("claw_back_possible")}
    return cols, money
PAYMENT_COLS = [Col("School", "text", 30), Col("URN", "text", 10), Col("Partnership", "text", 14),
                Col("Amount", "money", 14), Col("Decision version", "int", 10)]


def write_surplus_sheets(book: Book, c: Consolidation) -> None:
    s = c.surplus
    assert s is not None
    _write_surplus(book, s, str(c.year))
    _write_payments(book, s, str(c.year))


def _write_surplus(book: Book, s: SurplusOverview, year: str) -> None:
    ws = book.wb.add_worksheet(SURPLUS_SHEET)
    put_heading(book, ws, f"Year-end surplus decisions – {year}",
                "From each partnership's surplus decision the LA accepted (toolkit sections 3 and 4), recomputed from "
                "its inputs. Possible claw-back: the part of a balance above the LA's threshold that the partnership "
                "has not decided on.")
    first = 4
    cols, money_cols = _columns()
    put_header(book, ws, first - 1, cols)
    clawback, approach = money_cols[len(cols) - 4], len(cols) - 3
    for i, ln in enumerate(s.lines):
        r = first + i
        put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
        if ln.values is None:
            put(book, ws, r, 1, "text", ln.label, bold=True, font_color="#9C0006")
            continue
        put(book, ws, r, 1, "text", ln.label)
        for col, field in money_cols.items():
            put(book, ws, r, col, "money", ln.money(field))
        put(book, ws, r, 3, "text", ln.text("closing_balance_from"))
        put(book, ws, r, approach, "text", ln.text("decision_approach"))
        put(book, ws, r, approach + 1, "date", ln.text("agreed_on"))
        put(book, ws, r, approach + 2, "int", len(ln.payments()))
        if (ln.money(clawback) or 0) > 0:
            ws.write_number(r, approach - 1, float(ln.money(clawback) or 0),
                            book.fmt(num_format=MONEY_FMT, bold=True, font_color="#9C0006"))
    last = first + len(s.lines) - 1
    tot = last + 1
    ws.write_string(tot, 0, "LA total", book.fmt(bold=True, top=1))
    ws.write_string(tot, 1, f"{len(s.accepted())} of {len(s.lines)} accepted", book.fmt(bold=True, top=1))
    for col, field in money_cols.items():
        if col == 4:  # thresholds are not added up
            continue
        put_formula(ws, tot, col, f"=SUM({col_range(col, first, last)})",
                    book.fmt(num_format=MONEY_FMT, bold=True, top=1), s.total(field))
    ws.freeze_panes(first, 1)


def _write_payments(book: Book, s: SurplusOverview, year: str) -> None:
    ws = book.wb.add_worksheet(PAYMENTS_SHEET)
    payments = s.payments()
    put_heading(book, ws, f"Surplus payments to member schools – {year}",
                "One line per member school of each accepted surplus decision: the allocations add up to the amount "
                "each partnership shared, to the penny. The same lines are in the surplus payments CSV.")
    first = 4  # the table's header row is first - 1
    for c, col in enumerate(PAYMENT_COLS):
        ws.set_column(c, c, col.width)
    data: list[list[Any]] = [[p.school, p.urn, p.partnership, float(p.amount), p.version] for p in payments]
    last = first + max(len(data), 1) - 1
    money = book.fmt(num_format=MONEY_FMT)
    total = sum((p.amount for p in payments), Decimal(0))
    ws.add_table(first - 1, 0, last + 1, len(PAYMENT_COLS) - 1, {
        "name": "SurplusPayments", "style": "Table Style Light 9", "total_row": True,
        "columns": [{"header": PAYMENT_COLS[0].header, "total_string": "Total"},
                    {"header": PAYMENT_COLS[1].header}, {"header": PAYMENT_COLS[2].header},
                    {"header": PAYMENT_COLS[3].header, "total_function": "sum", "format": money,
                     "total_value": float(total)},
                    {"header": PAYMENT_COLS[4].header}],
    })
    for i, p in enumerate(payments):  # text as text, whatever it holds
        r = first + i
        put_text(ws, r, 0, p.school)
        put_text(ws, r, 1, p.urn)
        put_text(ws, r, 2, p.partnership)
        ws.write_number(r, 3, float(p.amount), money)
        ws.write_number(r, 4, p.version)
    ws.set_row(first - 1, 30)
    ws.freeze_panes(first, 0)
