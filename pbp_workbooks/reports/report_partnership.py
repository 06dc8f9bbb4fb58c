"""``pbp report partnership``: one termly report workbook per partnership (toolkit sections 1, 5 and 7).

The host school reports termly to its Neighbourhood Partnership on the use of the grant,
and to its governing body in line with its financial reporting; placements outside key
stage are included. One workbook per partnership for a reporting quarter
(``PBP partnership report <year> Q<n> - <Partnership>.xlsx``), one sheet, printed on A4:

- the data's status: which official returns it rests on (version, when received), and
  each quarter whose return is missing or rejected, said in words;
- budget against actual to date and forecast, by category (the official return of the
  quarter: its restated actuals per quarter), with a chart;
- the balance and the surplus plan, and the financial status (figures.assess);
- the items over the large-item threshold with their signatories;
- placements outside key stage, quarter by quarter from each quarter's official return
  (small numbers suppressed as in every published output: suppression.py).

Figures come from consolidation.load (each official return recomputed from its inputs);
a return that is missing or rejected is never zero-filled: its figures are blank and the
report says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base.filenames import safe_file_name, write_atomic
from pbp_workbooks.base.periods import QUARTER_MONTHS
from pbp_workbooks.base.printing import Printing
from pbp_workbooks.reports import suppression
from pbp_workbooks.reports.consolidation import Consolidation, Line
from pbp_workbooks.reports.figures import Figures, gbp, pct_text, ratio
from pbp_workbooks.reports.la_workbook import BY_CATEGORY_COLS
from pbp_workbooks.reports.sheets import (
    HEADER_FILL,
    MONEY_FMT,
    RAG_FILLS,
    Book,
    Col,
    cell,
    flag_overspend,
    put,
    put_count,
    put_formula,
    put_header,
    put_text,
    wrapped_height,
)
from pbp_workbooks.spec.rules import threshold_text

SHEET = "Report"
CATEGORY_COLS = [*BY_CATEGORY_COLS, Col("Commentary (the host school's words)", "text", 44)]


def file_name(c: Consolidation, partnership: str) -> str:
    return safe_file_name(f"PBP partnership report {c.period} - {partnership}") + ".xlsx"


def printing(c: Consolidation, partnership: str) -> Printing:
    return Printing(f"PBP partnership report {c.period} - {partnership}", c.period_long,
                    f"{partnership} Neighbourhood Partnership – PBP termly report")


@dataclass(frozen=True)
class Placements:
    """Placements outside key stage per reporting quarter (None: no accepted return) and
    in the year so far, as published: a count, suppression.MARKER, or None."""

    quarters: tuple[tuple[int, int | str | None, str | None], ...]  # quarter, placements, meeting held
    year: int | str | None
    gaps: tuple[int, ...]  # quarters with no accepted return


def placements(c: Consolidation, partnership: str) -> Placements:
    lines = [c.lines[(partnership, q)] for q in c.quarters]
    known = [(ln.quarter, ln.figures.placements or 0) for ln in lines if ln.figures is not None]
    values = [n for _, n in known]
    hidden = suppression.protect([*values, sum(values)], [list(range(len(values) + 1))]) if known else []
    shown = {q: suppression.shown(n, h) for (q, n), h in zip(known, hidden, strict=False)}
    rows = tuple((ln.quarter, shown.get(ln.quarter), ln.figures.mdm_held if ln.figures else None) for ln in lines)
    year = suppression.shown(sum(values), hidden[-1]) if known else None
    return Placements(rows, year, tuple(ln.quarter for ln in lines if ln.figures is None))


def write_partnership_reports(c: Consolidation, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_report(c, ln, folder / file_name(c, ln.partnership)) for ln in c.headline()]


def write_report(c: Consolidation, line: Line, path: Path) -> Path:
    def build(tmp: Path) -> None:
        book = Book(tmp, printing(c, line.partnership))
        book.wb.set_properties({"title": f"PBP partnership report {c.period} - {line.partnership}",
                                "author": c.la_name, "company": c.la_name})
        ws = book.wb.add_worksheet(SHEET)
        _Report(book, ws, c, line).write()
        book.close()

    return write_atomic(path, build)


class _Report:
    def __init__(self, book: Book, ws: Any, c: Consolidation, line: Line) -> None:
        self.book, self.ws, self.c, self.line = book, ws, c, line
        self.r = 0

    # ---- small helpers
    def heading(self, text: str) -> None:
        self.r += 1
        self.ws.write_string(self.r, 0, text, self.book.fmt(bold=True, font_size=12, font_color="#1F4E78"))
        self.r += 1

    def note(self, text: str) -> None:
        self.ws.merge_range(self.r, 0, self.r, 6, "", self.book.fmt(italic=True, font_color="#595959", text_wrap=True))
        self.ws.write_string(self.r, 0, text, self.book.fmt(italic=True, font_color="#595959", text_wrap=True))
        self.ws.set_row(self.r, 14 * max(1, -(-len(text) // 150)))
        self.r += 1

    def pair(self, label: str, kind: str, value: Any, **extra: Any) -> None:
        put_text(self.ws, self.r, 0, label, self.book.fmt(border=1, text_wrap=True))
        if kind == "text":  # a sentence runs on to the right rather than wrapping in a money column
            put_text(self.ws, self.r, 1, value, self.book.fmt(border=1, **extra))
        else:
            put(self.book, self.ws, self.r, 1, kind, value, border=1, **extra)
        self.r += 1

    # ---- the sheet
    def write(self) -> None:
        c, ln, ws, book = self.c, self.line, self.ws, self.book
        prov = ln.provision
        ws.hide_gridlines(2)
        for j, col in enumerate(CATEGORY_COLS):
            ws.set_column(j, j, col.width)
        ws.write_string(0, 0, f"{ln.partnership} Neighbourhood Partnership – report on the PBP grant, {c.period_long}",
                        book.fmt(bold=True, font_size=16))
        ws.write_string(1, 0, f"For the partnership's termly meeting and the governing body of {prov.host_school} "
                              f"(host school, URN {prov.urn}). Provision: {prov.provision}.", book.fmt(font_size=11))
        ws.write_string(2, 0, f"Prepared by {c.la_name} on {c.generated_at:%d %B %Y} from the quarterly returns the LA "
                              "accepted; every total is recalculated from the return's own figures.",
                        book.fmt(italic=True, font_color="#595959"))
        self.r = 3
        self.data_status()
        f = ln.figures
        if f is None:
            self.heading("Budget, spending and balance")
            ws.write_string(self.r, 0, f"No figures: the LA has no accepted {c.period} return from {ln.partnership} "
                                       f"({ln.label}). Nothing is shown as zero; the figures appear once the return "
                                       "is accepted.", book.fmt(bold=True, font_color="#9C0006"))
            self.r += 1
        else:
            self.status(f)
            self.categories(f)
            self.balance(f)
            self.items(f)
        self.placements()
        self.r += 1
        self.note(f"Thresholds (the LA's pbp.toml): a surplus above {c.thresholds.surplus_plan_pct}% of the allocation "
                  f"needs a planned use; single items of {threshold_text('large_item', c.thresholds.large_item)} or "
                  "more need two signatories (toolkit sections 4 and 5). " + suppression.LEGEND)
        book.page(ws, titles=(0, 0))

    def data_status(self) -> None:
        c, ws, book = self.c, self.ws, self.book
        self.heading("The returns this report rests on")
        hdr = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True)
        for j, h in ((0, "Quarter"), (1, "Official return"), (2, ""), (3, "Received"), (4, "File as sent")):
            ws.write_string(self.r, j, h, hdr)
        self.r += 1
        for q in self.c.quarters:
            ln = c.lines[(self.line.partnership, q)]
            o = ln.official if ln.figures is not None else None
            put_text(ws, self.r, 0, f"Q{q} ({QUARTER_MONTHS[q]})", book.fmt(border=1))
            # one line each: the label and the file name run on to the right rather than wrap
            put_text(ws, self.r, 1, ln.label, book.fmt(**({} if o else {"bold": True, "font_color": "#9C0006"})))
            put(book, ws, self.r, 3, "date", date.fromisoformat(o.received_at[:10]) if o else None, border=1)
            put_text(ws, self.r, 4, o.original_name if o else "no accepted return",
                     book.fmt(**({} if o else {"italic": True})))
            self.r += 1
        headline = "The money figures below" if self.line.figures is not None else "This report"
        self.note(f"{headline} come from the {c.period} return (its actuals for earlier quarters as restated in it). "
                  "A quarter without an accepted return is said above and left blank below, never counted as zero.")

    def status(self, f: Figures) -> None:
        ws, book = self.ws, self.book
        self.heading("Financial status")
        bg, fg = RAG_FILLS[f.rag]
        ws.merge_range(self.r, 0, self.r, 2, f.rag_label, book.fmt(bold=True, font_size=14, bg_color=bg,
                                                                   font_color=fg, border=2, align="center"))
        self.r += 1
        q = self.c.quarter
        bal = f.forecast_balance or Decimal(0)
        end = (f"a surplus of {gbp(bal)} ({pct_text(f.balance_pct)} of the allocation)" if bal > 0 else
               f"a deficit of {gbp(-bal)}" if bal < 0 else "a balance of exactly zero")
        text = (f"By the end of Q{q} the provision spent {gbp(f.to_date)}, {pct_text(f.spent_pct)} of its "
                f"{gbp(f.budget)} budget; it forecasts spending {gbp(f.outturn)} in the year and ending it with {end}: "
                f"{f.rag_reason}.")
        ws.merge_range(self.r, 0, self.r, 6, "", book.fmt(text_wrap=True, font_size=11))
        ws.write_string(self.r, 0, text, book.fmt(text_wrap=True, font_size=11))
        ws.set_row(self.r, 32)
        self.r += 1

    def categories(self, f: Figures) -> None:
        ws, book, c = self.ws, self.book, self.c
        self.heading("Budget against actual to date and forecast, by category")
        put_header(book, ws, self.r, CATEGORY_COLS)
        first = self.r + 1
        for i, cat in enumerate(f.categories):
            r = first + i
            put(book, ws, r, 0, "text", cat.label)
            vals = [cat.budget, *cat.actual, cat.to_date, cat.forecast, cat.outturn, cat.variance]
            for j, v in enumerate(vals, start=1):
                put(book, ws, r, j, "money", v)
            put(book, ws, r, 10, "pct", ratio(cat.variance, cat.budget))
            put(book, ws, r, 11, "text", cat.commentary)
            height = wrapped_height(cat.commentary, CATEGORY_COLS[11].width)
            if height:
                ws.set_row(r, height)
        last = first + len(f.categories) - 1
        tot = last + 1
        put_text(ws, tot, 0, "Total", book.fmt(bold=True, top=1))
        for j, v in enumerate([f.budget, *f.actual, f.to_date, f.forecast, f.outturn, f.variance], start=1):
            if v is None:
                ws.write_blank(tot, j, None, book.fmt(top=1))
            else:
                put_formula(ws, tot, j, f"=SUM({cell(first, j)}:{cell(last, j)})",
                            book.fmt(num_format=MONEY_FMT, bold=True, top=1), v)
        put_formula(ws, tot, 10, f'=IF(N({cell(tot, 1)})=0,"",{cell(tot, 9)}/{cell(tot, 1)})',
                    book.fmt(num_format="0.0%", bold=True, top=1), f.variance_pct)
        ws.write_blank(tot, 11, None, book.fmt(top=1))
        flag_overspend(book.wb, ws, first, 9, tot, 9)
        self.r = tot + 1
        self.note(f"Actual Q1 to Q{c.quarter}: spent in each quarter; forecast: the rest of the year; outturn = actual "
                  "to date + forecast; variance = outturn - budget (+ over budget, in red).")
        chart = book.wb.add_chart({"type": "bar"})
        for col, colour, name in ((1, "#9DC3E6", "Annual budget"), (6, "#2E75B6", "Actual to date"),
                                  (8, "#1F4E78", "Forecast outturn")):
            chart.add_series({"name": name, "categories": [SHEET, first, 0, last, 0],
                              "values": [SHEET, first, col, last, col], "fill": {"color": colour}})
        chart.set_title({"name": "Budget, actual to date and forecast outturn by category", "name_font": {"size": 12}})
        chart.set_x_axis({"num_format": '£#,##0,"k"', "major_gridlines": {"visible": True,
                                                                         "line": {"color": "#D9D9D9"}}})
        chart.set_y_axis({"reverse": True, "interval_unit": 1, "num_font": {"size": 8}})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 900, "height": 440})
        ws.insert_chart(self.r + 1, 0, chart)
        self.r += 24  # the chart's rows

    def balance(self, f: Figures) -> None:
        ws, c = self.ws, self.c
        self.heading("Balance and planned use of surplus (toolkit section 4)")
        self.pair("Balance brought forward from last year", "money", f.balance_bf)
        self.pair(f"DSG allocation {c.year}", "money", f.allocation)
        self.pair("Other income" + (f" ({f.other_income_description})" if f.other_income_description else ""),
                  "money", f.other_income)
        self.pair("Total income available", "money", f.total_income, bold=True)
        self.pair("Forecast outturn (spend for the year)", "money", f.outturn)
        self.pair("Forecast year-end balance", "money", f.forecast_balance, bold=True)
        self.pair("Forecast balance as % of the allocation", "pct", f.balance_pct)
        self.pair(f"A surplus above this needs a planned use ({c.thresholds.surplus_plan_pct}% of the allocation)",
                  "money", f.threshold)
        uses = c.spec.roles("surplus_uses")
        for i, (name, amount) in enumerate(zip(uses, f.surplus, strict=True)):
            last = i == len(uses) - 1  # the last use is 'other', described in words
            extra = f" ({f.surplus_other_description})" if last and f.surplus_other_description else ""
            self.pair(f"{c.spec[name].label}{extra}", "money", amount)
        self.pair("Total planned use of surplus", "money", f.planned_total, bold=True)
        self.pair("Surplus with no planned use", "money", f.unplanned)
        self.pair("Surplus plan", "text", f.surplus_flag, bold=True)
        if f.surplus_approach:
            self.pair("How the surplus is shared across the partnership", "text", f.surplus_approach)
        if f.recovery_plan:
            self.pair("Recovery plan (deficit)", "text", f.recovery_plan)
        ws.set_column(1, 1, max(CATEGORY_COLS[1].width, 16))

    def items(self, f: Figures) -> None:
        ws, book, c = self.ws, self.book, self.c
        self.heading(f"Single items of {threshold_text('large_item', c.thresholds.large_item)} or more "
                     "(toolkit section 5)")
        cols = [Col("Item", "text"), Col("Date", "date"), Col("Description", "text"), Col("Supplier", "text"),
                Col("Category", "text"), Col("Amount", "money"), Col("Partnership signatory", "text"),
                Col("Signed", "date"), Col("Host school signatory", "text"), Col("Signed", "date"),
                Col("Signed by both?", "text")]
        hdr = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True)
        for j, col in enumerate(cols):
            ws.write_string(self.r, j, col.header, hdr)
        self.r += 1
        if not f.items:
            put_text(ws, self.r, 0, "None listed in the return.", book.fmt(italic=True))
            self.r += 1
        for it in f.items:
            vals = [f"Item {it.row}", it.date, it.description, it.supplier, it.category, it.amount,
                    it.partnership_signatory, it.partnership_signed, it.host_signatory, it.host_signed,
                    "Yes" if it.signed_by_both else "NO"]
            for j, (col, v) in enumerate(zip(cols, vals, strict=True)):
                extra = {"bold": True, "font_color": "#9C0006"} if v == "NO" else {}
                put(book, ws, self.r, j, col.kind, v, border=1, **extra)
            self.r += 1

    def placements(self) -> None:
        ws, book = self.ws, self.book
        p = placements(self.c, self.line.partnership)
        self.heading("Pupils placed outside their key stage (toolkit section 7)")
        hdr = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True)
        for j, h in enumerate(["Quarter", "Placements", "Multidisciplinary meeting held for each?"]):
            ws.write_string(self.r, j, h, hdr)
        self.r += 1
        for q, n, mdm in p.quarters:
            put_text(ws, self.r, 0, f"Q{q}", book.fmt(border=1))
            if q in p.gaps:
                put_text(ws, self.r, 1, "no accepted return", book.fmt(border=1, italic=True, font_color="#9C0006"))
            else:
                put_count(book, ws, self.r, 1, n, border=1)
            put_text(ws, self.r, 2, (mdm or "") if n else ("not needed" if q not in p.gaps else ""),
                     book.fmt(border=1))
            self.r += 1
        put_text(ws, self.r, 0, "Year so far", book.fmt(border=1, bold=True))
        put_count(book, ws, self.r, 1, p.year, border=1, bold=True)
        put_text(ws, self.r, 2, f"not counted: {', '.join(f'Q{q}' for q in p.gaps)} (no accepted return)"
                 if p.gaps else "", book.fmt(border=1, italic=True))
        self.r += 1


__all__ = ["Placements", "file_name", "placements", "write_partnership_reports", "write_report"]
