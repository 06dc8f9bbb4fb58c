"""The headteacher summary's Surplus sheet: what the partnership decided about the year-end
balance, and each member school's allocation (with a bar chart), from the surplus decision
the LA accepted. Added to each summary when the consolidation has the year's surplus
decisions (surplus_overview.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pbp_workbooks.reports.consolidation import Consolidation
from pbp_workbooks.reports.figures import gbp
from pbp_workbooks.reports.sheets import MONEY_FMT, PCT_FMT, Book, put_num, put_text
from pbp_workbooks.reports.surplus_overview import kept


@dataclass(frozen=True)
class SurplusSummary:
    year: str
    label: str  # the decision's status words
    accepted: bool
    balance: Decimal | None = None
    source: str = ""
    approach: str = ""
    agreed: date | None = None
    kept: tuple[tuple[str, Decimal | None], ...] = ()  # (use, amount)
    shared: Decimal | None = None
    undecided: Decimal | None = None
    clawback: Decimal | None = None
    schools: tuple[tuple[str, str, Decimal, Decimal], ...] = ()  # (school, URN, share, allocation)


def surplus_summary(c: Consolidation, partnership: str) -> SurplusSummary | None:
    s = c.surplus
    ln = s.line(partnership) if s is not None else None
    if s is None or ln is None:
        return None
    if ln.values is None:
        return SurplusSummary(str(c.year), ln.label, False)
    agreed = ln.text("agreed_on")
    return SurplusSummary(
        str(c.year), ln.label, True, ln.amount("closing_balance"), str(ln.text("closing_balance_from") or ""),
        str(ln.text("decision_approach") or ""), agreed if isinstance(agreed, date) else None,
        tuple((label, ln.money(field)) for field, label in kept()), ln.amount("shared"), ln.amount("not_decided"),
        ln.amount("claw_back_possible"), tuple(ln.schools()))


def sentence(partnership: str, s: SurplusSummary) -> str:
    if not s.accepted:
        return f"The LA has no accepted surplus decision from {partnership} for {s.year} yet ({s.label})."
    kept = sum((a or Decimal(0) for _, a in s.kept), Decimal(0))
    out = (f"{partnership} ended {s.year} with {gbp(s.balance, False)} ({s.source}). The partnership agreed "
           f"({s.approach.lower() or 'no approach given'}) to keep {gbp(kept, False)} for the provision and share "
           f"{gbp(s.shared, False)} among {len(s.schools)} member schools")
    if s.undecided and s.undecided > 0:
        out += f"; {gbp(s.undecided, False)} is not decided"
        if s.clawback and s.clawback > 0:
            out += f", of which the LA may claw back {gbp(s.clawback, False)}"
    return out + "."


def write_surplus_sheet(book: Book, ws: Any, partnership: str, la_name: str, s: SurplusSummary) -> None:
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 36)
    ws.set_column(1, 3, 14)
    ws.write_string(0, 0, f"{partnership} – year-end surplus {s.year}", book.fmt(bold=True, font_size=16))
    ws.write_string(1, 0, f"From the surplus decision the LA accepted. Prepared by {la_name}.",
                    book.fmt(italic=True, font_color="#595959"))
    ws.merge_range(3, 0, 3, 3, sentence(partnership, s), book.fmt(text_wrap=True, font_size=11))
    ws.set_row(3, 64)
    if not s.accepted:
        return
    hdr = book.fmt(bold=True, bg_color="#D9E1F2", border=1, text_wrap=True, align="center")
    money = book.fmt(border=1, num_format=MONEY_FMT)
    box = book.fmt(border=1)
    r = 5
    ws.write_string(r, 0, "Kept for the provision (toolkit section 4)", hdr)
    ws.write_string(r, 1, "Amount", hdr)
    r += 1
    for label, amount in s.kept:
        ws.write_string(r, 0, label, box)
        put_num(ws, r, 1, amount, money)
        r += 1
    r += 1
    for j, h in enumerate(["Member school", "URN", "Share", "Allocation"]):
        ws.write_string(r, j, h, hdr)
    r += 1
    first = r
    for school, urn, share, amount in s.schools:
        put_text(ws, r, 0, school, box)
        put_text(ws, r, 1, urn, box)
        put_num(ws, r, 2, share, book.fmt(border=1, num_format=PCT_FMT))
        put_num(ws, r, 3, amount, book.fmt(border=1, num_format=MONEY_FMT, bold=True))
        r += 1
    ws.write_string(r, 0, "Shared among the member schools", book.fmt(border=1, bold=True))
    ws.write_blank(r, 1, None, box)
    ws.write_blank(r, 2, None, box)
    put_num(ws, r, 3, s.shared, book.fmt(border=1, num_format=MONEY_FMT, bold=True))
    if s.schools:
        ch = book.wb.add_chart({"type": "bar"})
        ch.add_series({"name": "Allocation", "categories": [ws.name, first, 0, r - 1, 0],
                       "values": [ws.name, first, 3, r - 1, 3], "fill": {"color": "#2E75B6"}})
        ch.set_title({"name": "Allocation to each member school", "name_font": {"size": 12}})
        ch.set_x_axis({"num_format": "£#,##0"})
        ch.set_y_axis({"reverse": True, "num_font": {"size": 8}})
        ch.set_legend({"none": True})
        ch.set_size({"width": 560, "height": 60 + 28 * len(s.schools)})
        ws.insert_chart(r + 2, 0, ch)
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
