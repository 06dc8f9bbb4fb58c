"""The LA's consolidated finance workbook (``PBP consolidated <year> Q<n>.xlsx``): its sheets, and ``write_workbook``.

Summary (per partnership, totals, median, RAG with a text label, charts), By category,
Categories (a tidy Excel table with filters: partnership x category x reporting
quarter), Items over the large-item threshold, Balances (surplus plans, possible claw-back), Placements,
the annual overview's published sheets when there is one (annual_sheets.py), Returns
status, Data quality, About. Totals are live formulas with their values cached
(computed in Python), so viewers that never recalculate show them. Text that came from a
return is always written as text (sheets.Book), never as a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks import __version__
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.filenames import write_atomic
from pbp_workbooks.reports.annual_sheets import PUBLISHED_SHEETS, write_annual_sheets
from pbp_workbooks.reports.consolidation import Consolidation, Line
from pbp_workbooks.reports.figures import Figures, ratio, sum_known
from pbp_workbooks.reports.sheets import (
    HEADER_FILL,
    MONEY_FMT,
    PCT_FMT,
    RAG_FILLS,
    Book,
    Col,
    Printing,
    cell,
    col_range,
    flag_overspend,
    put,
    put_formula,
    put_header,
    put_heading,
    put_num,
    put_text,
    stamp,
)
from pbp_workbooks.reports.sla_sheet import write_sla_sheet
from pbp_workbooks.spec.rules import threshold_text


def _rag_formats(book: Book, ws: Any, first: int, last: int, col: int) -> None:
    for word, (bg, fg) in RAG_FILLS.items():
        ws.conditional_format(first, col, last, col, {"type": "text", "criteria": "begins with", "value": word,
                                                      "format": book.wb.add_format({"bg_color": bg, "font_color": fg,
                                                                                    "bold": True})})


def _received_date(line: Line) -> date | None:
    return date.fromisoformat(line.official.received_at[:10]) if line.official else None


SUMMARY_COLS = [
    Col("Partnership", "text", 14), Col("Host school", "text", 26), Col("Return", "text", 24),
    Col("Version", "int", 8), Col("Received", "date", 11), Col("DSG allocation", "money", 14),
    Col("Balance brought forward", "money", 14), Col("Other income", "money", 13), Col("Total income", "money", 14),
    Col("Annual budget", "money", 14), Col("Actual to date", "money", 14), Col("Forecast outturn", "money", 14),
    Col("Variance (+ over budget, − under)", "money", 14), Col("Variance %", "pct", 9),
    Col("Forecast year-end balance", "money", 14), Col("Balance % of allocation", "pct", 10),
    Col("Financial status", "text", 22), Col("Why", "text", 44), Col("Surplus plan", "text", 30),
]
SUMMARY_FIRST_ROW = 5  # 0-based row of the first partnership


def summary_money(f: Figures) -> list[Decimal | None]:
    """Summary columns 5..12 and 14 (the summed ones), in column order."""
    return [f.allocation, f.balance_bf, f.other_income, f.total_income, f.budget, f.to_date, f.outturn, f.variance]


def _write_summary(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Summary")
    lines = c.headline()
    n = len(lines)
    first, last = SUMMARY_FIRST_ROW, SUMMARY_FIRST_ROW + n - 1
    tot, med = last + 1, last + 2
    accepted = c.accepted()
    put_heading(book, ws, f"Primary Behaviour Provisions – consolidated financial position, {c.period_long}",
                f"{c.la_name}. Each provision's official return (its latest accepted version), "
                "recalculated from its inputs. Blank figures: no accepted return.")
    missing = sum(1 for ln in lines if ln.figures is None)
    ws.write_string(2, 0, f"{len(accepted)} of {n} provisions have an accepted return for {c.period}"
                          + (f"; {missing} without (shown, never counted as zero)." if missing else "."),
                    book.fmt(bold=True))
    put_header(book, ws, first - 1, SUMMARY_COLS)
    for i, ln in enumerate(lines):
        r = first + i
        f = ln.figures
        put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
        put_text(ws, r, 1, ln.provision.host_school, book.fmt(text_wrap=True))
        put_text(ws, r, 2, ln.label, book.fmt(text_wrap=True, bold=f is None,
                                              font_color="#9C0006" if f is None else "#000000"))
        put(book, ws, r, 3, "int", ln.official.version if ln.official and f else None)
        put(book, ws, r, 4, "date", _received_date(ln) if f else None)
        if f is None:
            for col in range(5, 16):
                ws.write_blank(r, col, None, book.fmt(bg_color="#F2F2F2"))
            put_text(ws, r, 16, "No data – " + ("missing" if ln.state in ("missing", "not issued") else ln.state),
                     book.fmt(text_wrap=True))
            put_text(ws, r, 17, "No accepted return: figures are blank, not zero.", book.fmt(text_wrap=True))
            ws.write_blank(r, 18, None)
            continue
        for j, v in enumerate(summary_money(f)):
            put(book, ws, r, 5 + j, "money", v)
        put_formula(ws, r, 13, f'=IF({cell(r, 9)}=0,"",{cell(r, 12)}/{cell(r, 9)})', book.fmt(num_format=PCT_FMT),
                    f.variance_pct)
        put(book, ws, r, 14, "money", f.forecast_balance)
        put_formula(ws, r, 15, f'=IF({cell(r, 5)}=0,"",{cell(r, 14)}/{cell(r, 5)})', book.fmt(num_format=PCT_FMT),
                    f.balance_pct)
        put_text(ws, r, 16, f.rag_label, book.fmt(text_wrap=True))
        put_text(ws, r, 17, f.rag_reason[:1].upper() + f.rag_reason[1:] + ".", book.fmt(text_wrap=True))
        put_text(ws, r, 18, f.surplus_flag, book.fmt(text_wrap=True, bold=f.clawback))
    _rag_formats(book, ws, first, last, 16)
    flag_overspend(book.wb, ws, first, 12, last + 1, 13)  # variance and variance %, the LA total too
    bold_money = book.fmt(num_format=MONEY_FMT, bold=True, top=1)
    bold_pct = book.fmt(num_format=PCT_FMT, bold=True, top=1)
    ws.write_string(tot, 0, f"LA total ({len(accepted)} of {n} with an accepted return)",
                    book.fmt(bold=True, top=1, text_wrap=True))
    ws.write_string(med, 0, "LA median (of those with an accepted return)", book.fmt(bold=True, text_wrap=True))
    getters: dict[int, Callable[[Figures], Decimal | None]] = {
        5: lambda f: f.allocation, 6: lambda f: f.balance_bf, 7: lambda f: f.other_income,
        8: lambda f: f.total_income, 9: lambda f: f.budget, 10: lambda f: f.to_date, 11: lambda f: f.outturn,
        12: lambda f: f.variance, 14: lambda f: f.forecast_balance}
    for col, get in getters.items():
        rng = col_range(col, first, last)
        total = c.la_total(get) if accepted else Decimal(0)
        put_formula(ws, tot, col, f"=SUM({rng})", bold_money, total)
        put_formula(ws, med, col, f'=IF(COUNT({rng})=0,"",MEDIAN({rng}))', book.fmt(num_format=MONEY_FMT),
                    c.la_median(get))
    t_var, t_bud = c.la_total(lambda f: f.variance), c.la_total(lambda f: f.budget)
    t_bal, t_alloc = c.la_total(lambda f: f.forecast_balance), c.la_total(lambda f: f.allocation)
    put_formula(ws, tot, 13, f'=IF({cell(tot, 9)}=0,"",{cell(tot, 12)}/{cell(tot, 9)})', bold_pct,
                ratio(t_var, t_bud))
    put_formula(ws, tot, 15, f'=IF({cell(tot, 5)}=0,"",{cell(tot, 14)}/{cell(tot, 5)})', bold_pct,
                ratio(t_bal, t_alloc))
    for col, get in ((13, lambda f: f.variance_pct), (15, lambda f: f.balance_pct)):
        rng = col_range(col, first, last)
        put_formula(ws, med, col, f'=IF(COUNT({rng})=0,"",MEDIAN({rng}))', book.fmt(num_format=PCT_FMT),
                    c.la_median(get))
    for col in (1, 2, 3, 4, 16, 17, 18):
        ws.write_blank(tot, col, None, book.fmt(top=1))
    note = med + 2
    th = c.thresholds
    for k, text in enumerate([
        "Financial status: Red – a deficit is forecast. Amber – a possible claw-back (see Surplus plan) or a "
        f"forecast outturn more than {th.variance_commentary_pct}% and £{th.variance_commentary_min:,} away from "
        "budget. Green – otherwise. The colour repeats the words; it never replaces them.",
        f"Possible claw-back (toolkit section 4): forecast balance above {th.surplus_plan_pct}% of the allocation and "
        f"the part of it with no planned use also above {th.surplus_plan_pct}% of the allocation.",
        "Totals and medians cover provisions with an accepted return only. See About for the returns used.",
    ]):
        ws.write_string(note + k, 0, text, book.fmt(italic=True, font_color="#404040"))
    ws.freeze_panes(first, 1)
    ws.autofilter(first - 1, 0, last, len(SUMMARY_COLS) - 1)
    chart_row = note + 4
    if accepted:
        ch = book.wb.add_chart({"type": "column"})
        for col, colour in ((5, "#9DC3E6"), (11, "#1F4E78")):
            ch.add_series({"name": ["Summary", first - 1, col], "categories": ["Summary", first, 0, last, 0],
                           "values": ["Summary", first, col, last, col], "fill": {"color": colour}})
        ch.set_title({"name": "DSG allocation and forecast outturn by partnership"})
        ch.set_y_axis({"num_format": "£#,##0", "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        ch.set_legend({"position": "bottom"})
        ch.set_size({"width": 760, "height": 340})
        ws.insert_chart(chart_row, 0, ch)
        ch2 = book.wb.add_chart({"type": "column"})
        ch2.add_series({"name": ["Summary", first - 1, 14], "categories": ["Summary", first, 0, last, 0],
                        "values": ["Summary", first, 14, last, 14], "fill": {"color": "#548235"},
                        "invert_if_negative": False})
        ch2.set_title({"name": "Forecast year-end balance by partnership"})
        ch2.set_y_axis({"num_format": "£#,##0"})
        ch2.set_legend({"none": True})
        ch2.set_size({"width": 620, "height": 340})
        ws.insert_chart(chart_row, 8, ch2)


BY_CATEGORY_COLS = [Col("Category", "text", 36), Col("Annual budget", "money"), Col("Actual Q1", "money"),
                    Col("Actual Q2", "money"), Col("Actual Q3", "money"), Col("Actual Q4", "money"),
                    Col("Actual to date", "money"), Col("Forecast rest of year", "money"),
                    Col("Forecast outturn", "money"), Col("Variance (+ over budget, − under)", "money"),
                    Col("Variance %", "pct", 10)]


def category_totals(c: Consolidation) -> list[tuple[str, list[Decimal | None]]]:
    """LA totals per category for the headline period: budget, Q1..Q4, to date, forecast, outturn, variance."""
    out = []
    accepted = c.accepted()
    for i, (_key, label) in enumerate(c.categories):
        cats = [f.categories[i] for f in accepted]
        row = [sum_known(x.budget for x in cats), *(sum_known(x.actual[q] for x in cats) for q in range(4)),
               sum_known(x.to_date for x in cats), sum_known(x.forecast for x in cats), sum_known(x.outturn for x in cats),
               sum_known(x.variance for x in cats)]
        out.append((label, row))
    return out


def _write_by_category(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("By category")
    n_acc = len(c.accepted())
    put_heading(book, ws, f"Spending by category – LA total, {c.period_long}",
                f"Sum of the {n_acc} accepted returns for {c.period} (of {len(c.provisions)} provisions). "
                "Actual per quarter as restated in those returns.")
    first = 4
    put_header(book, ws, first - 1, BY_CATEGORY_COLS)
    rows = category_totals(c)
    last = first + len(rows) - 1
    tot = last + 1
    for i, (label, vals) in enumerate(rows):
        r = first + i
        put_text(ws, r, 0, label)
        for j, v in enumerate(vals):
            put(book, ws, r, 1 + j, "money", v)
        put_formula(ws, r, 10, f'=IF({cell(r, 1)}=0,"",{cell(r, 9)}/{cell(r, 1)})', book.fmt(num_format=PCT_FMT),
                    ratio(vals[8], vals[0]))
    ws.write_string(tot, 0, "Total", book.fmt(bold=True, top=1))
    totals: list[Decimal | None] = []
    for j in range(9):
        col_vals = [vals[j] for _, vals in rows]
        value = sum_known(col_vals)
        totals.append(value)
        rng = col_range(1 + j, first, last)
        if any(v is not None for v in col_vals):
            put_formula(ws, tot, 1 + j, f"=SUM({rng})", book.fmt(num_format=MONEY_FMT, bold=True, top=1), value)
        else:
            ws.write_blank(tot, 1 + j, None, book.fmt(top=1))
    put_formula(ws, tot, 10, f'=IF({cell(tot, 1)}=0,"",{cell(tot, 9)}/{cell(tot, 1)})',
                book.fmt(num_format=PCT_FMT, bold=True, top=1), ratio(totals[8], totals[0]))
    ws.freeze_panes(first, 1)
    if n_acc:
        ch = book.wb.add_chart({"type": "bar"})
        for col, colour in ((1, "#9DC3E6"), (8, "#1F4E78")):
            ch.add_series({"name": ["By category", first - 1, col], "categories": ["By category", first, 0, last, 0],
                           "values": ["By category", first, col, last, col], "fill": {"color": colour}})
        ch.set_title({"name": "Budget and forecast outturn by category (LA)"})
        ch.set_x_axis({"num_format": "£#,##0"})
        ch.set_y_axis({"reverse": True, "interval_unit": 1, "num_font": {"size": 8}})
        ch.set_legend({"position": "bottom"})
        ch.set_size({"width": 720, "height": 420})
        ws.insert_chart(tot + 2, 0, ch)
        ch2 = book.wb.add_chart({"type": "column"})
        ch2.add_series({"name": "Actual spend (LA)", "categories": ["By category", first - 1, 2, first - 1, 1 + c.quarter],
                        "values": ["By category", tot, 2, tot, 1 + c.quarter], "fill": {"color": "#2E75B6"}})
        ch2.set_title({"name": "LA spend by quarter"})
        ch2.set_y_axis({"num_format": "£#,##0"})
        ch2.set_legend({"none": True})
        ch2.set_size({"width": 480, "height": 300})
        ws.insert_chart(tot + 2, 6, ch2)


CATEGORY_TABLE = "CategoryData"
CATEGORY_COLS = [Col("Reporting quarter", "int", 10), Col("Partnership", "text", 14),
                 Col("Host school", "text", 26), Col("Return status", "text", 24), Col("Category", "text", 32),
                 Col("Annual budget", "money"), Col("Actual in quarter", "money"),
                 Col("Actual to date", "money"), Col("Forecast rest of year", "money"),
                 Col("Forecast outturn", "money"), Col("Variance (+ over, − under)", "money"), Col("Commentary", "text", 50)]


def category_rows(c: Consolidation) -> list[dict[str, Any]]:
    """The tidy fact table: one row per reporting quarter x provision x category."""
    out = []
    for ln in c.all_lines():
        q, prov = ln.quarter, ln.provision
        f = ln.figures
        for i, (key, label) in enumerate(c.categories):
            cat = f.categories[i] if f else None
            out.append({
                "year": str(c.year), "reporting_quarter": q, "partnership": prov.partnership,
                "host_school": prov.host_school, "urn": prov.urn, "provision": prov.provision,
                "return_status": ln.state, "return_label": ln.label,
                "version": ln.official.version if f and ln.official else None,
                "category_key": key, "category": label,
                "budget": cat.budget if cat else None, "actual_in_quarter": cat.actual[q - 1] if cat else None,
                "actual_to_date": cat.to_date if cat else None, "forecast_rest_of_year": cat.forecast if cat else None,
                "forecast_outturn": cat.outturn if cat else None, "variance": cat.variance if cat else None,
                "commentary": cat.commentary if cat else None,
            })
    return out


def _write_categories(book: Book, c: Consolidation, rows: list[dict[str, Any]]) -> None:
    ws = book.wb.add_worksheet("Categories")
    keys = ["reporting_quarter", "partnership", "host_school", "return_label", "category",
            "budget", "actual_in_quarter", "actual_to_date", "forecast_rest_of_year", "forecast_outturn", "variance",
            "commentary"]
    for j, col in enumerate(CATEGORY_COLS):
        ws.set_column(j, j, col.width)
    last = max(len(rows), 1)
    ws.add_table(0, 0, last, len(CATEGORY_COLS) - 1, {
        "name": CATEGORY_TABLE, "style": "Table Style Medium 2", "autofilter": True,
        "columns": [{"header": col.header} for col in CATEGORY_COLS]})
    money = book.fmt(num_format=MONEY_FMT)
    intf = book.fmt(num_format="0")
    plain = book.fmt()
    missing_f = book.fmt(font_color="#9C0006", bold=True)
    for i, row in enumerate(rows, start=1):
        for j, (key, col) in enumerate(zip(keys, CATEGORY_COLS, strict=True)):
            v = row[key]
            if col.kind == "money":
                put_num(ws, i, j, v, money)
            elif col.kind == "int":
                put_num(ws, i, j, v, intf)
            else:
                put_text(ws, i, j, v, missing_f if key == "return_label" and row["version"] is None else plain)
    ws.freeze_panes(1, 3)


ITEM_COLS = [Col("Partnership", "text", 14), Col("Return", "text", 20), Col("Item", "text", 8),
             Col("First reported", "text", 10), Col("Date", "date", 11), Col("Description", "text", 36),
             Col("Supplier", "text", 26),
             Col("Category", "text", 26), Col("Amount", "money"), Col("Partnership signatory", "text", 18),
             Col("Date signed", "date", 11), Col("Host school signatory", "text", 18), Col("Date signed", "date", 11),
             Col("Both signatures", "text", 12)]


def items_sheet_name(th: Thresholds) -> str:
    """The register's sheet, named from the LA's large-item threshold (pbp.toml)."""
    return f"Items over {threshold_text('large_item', th.large_item)}"


def _write_items(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet(items_sheet_name(c.thresholds))
    put_heading(book, ws, f"Register of single items of spend over {threshold_text('large_item', c.thresholds.large_item)}"
                f" – {c.year}, the year to Quarter {c.quarter}",
                "The year's register from each provision's latest official return up to this quarter (each return "
                "lists the year's items; those of earlier quarters are carried over, so each item is listed once, "
                "with the quarter it was first reported in). Toolkit section 5: each needs a Neighbourhood "
                "Partnership signatory and a host school signatory.")
    first = 4
    put_header(book, ws, first - 1, ITEM_COLS)
    r = first
    amounts: list[Decimal | None] = []
    for ln in (c.register_line(p.partnership) for p in c.provisions):
        f = ln.figures
        if f is None:
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label, bold=True, font_color="#9C0006")
            put_text(ws, r, 2, "no accepted return this year", book.fmt(italic=True))
            r += 1
            continue
        if not f.items:
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label)
            put_text(ws, r, 2, "none listed", book.fmt(italic=True))
            r += 1
            continue
        for it in f.items:
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            since = c.first_reported(ln.partnership, it)
            vals = [ln.label, f"Item {it.row}", f"Q{since}" if since else "", it.date, it.description, it.supplier,
                    it.category, it.amount,
                    it.partnership_signatory, it.partnership_signed, it.host_signatory, it.host_signed,
                    "Yes" if it.signed_by_both else "NO"]
            for j, (col, v) in enumerate(zip(ITEM_COLS[1:], vals, strict=True), start=1):
                put(book, ws, r, j, col.kind, v)
            amounts.append(it.amount)
            r += 1
    ws.write_string(r, 0, "Total", book.fmt(bold=True, top=1))
    amount_col = next(j for j, col in enumerate(ITEM_COLS) if col.header == "Amount")
    put_formula(ws, r, amount_col, f"=SUM({col_range(amount_col, first, max(first, r - 1))})",
                book.fmt(num_format=MONEY_FMT, bold=True, top=1), sum_known(amounts) or Decimal(0))
    ws.freeze_panes(first, 1)
    ws.autofilter(first - 1, 0, max(first, r - 1), len(ITEM_COLS) - 1)


BALANCE_COLS = [Col("Partnership", "text", 14), Col("Return", "text", 20), Col("DSG allocation", "money"),
                Col("Forecast year-end balance", "money"), Col("Balance % of allocation", "pct", 10),
                Col("Plan threshold", "money"), Col("Planned: CPD", "money"), Col("Planned: future proofing", "money"),
                Col("Planned: contingency", "money"), Col("Planned: other", "money"),
                Col("Other planned use: what for", "text", 30), Col("Total planned use", "money"),
                Col("Unplanned surplus", "money"), Col("Distribution approach", "text", 16),
                Col("Recovery plan (deficit)", "text", 40), Col("Flag", "text", 30)]


def _write_balances(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Balances")
    th = c.thresholds
    put_heading(book, ws, f"Balances and planned use of surplus – {c.period_long}",
                f"Plan threshold = {th.surplus_plan_pct}% of the DSG allocation (pbp.toml surplus_plan_pct). "
                "Possible claw-back (toolkit section 4): the forecast balance is above the threshold and so "
                "is the part of it with no planned use.")
    first = 4
    put_header(book, ws, first - 1, BALANCE_COLS)
    lines = c.headline()
    last = first + len(lines) - 1
    for i, ln in enumerate(lines):
        r = first + i
        f = ln.figures
        put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
        if f is None:
            put(book, ws, r, 1, "text", ln.label, bold=True, font_color="#9C0006")
            for col in range(2, 15):
                ws.write_blank(r, col, None, book.fmt(bg_color="#F2F2F2"))
            put_text(ws, r, 15, "No data – no accepted return")
            continue
        put(book, ws, r, 1, "text", ln.label)
        put(book, ws, r, 2, "money", f.allocation)
        put(book, ws, r, 3, "money", f.forecast_balance)
        put_formula(ws, r, 4, f'=IF({cell(r, 2)}=0,"",{cell(r, 3)}/{cell(r, 2)})', book.fmt(num_format=PCT_FMT),
                    f.balance_pct)
        put_formula(ws, r, 5, f"=ROUND({cell(r, 2)}*{th.surplus_plan_pct}/100,2)", book.fmt(num_format=MONEY_FMT),
                    f.threshold)
        for j, v in enumerate(f.surplus):
            put(book, ws, r, 6 + j, "money", v)
        put(book, ws, r, 10, "text", f.surplus_other_description)
        put(book, ws, r, 11, "money", f.planned_total)
        put_formula(ws, r, 12, f"=IF({cell(r, 3)}>0,MAX({cell(r, 3)}-{cell(r, 11)},0),0)",
                    book.fmt(num_format=MONEY_FMT), f.unplanned)
        put(book, ws, r, 13, "text", f.surplus_approach)
        put(book, ws, r, 14, "text", f.recovery_plan)
        put(book, ws, r, 15, "text", f.surplus_flag, bold=f.clawback, font_color="#9C0006" if f.clawback else "#000000")
    tot = last + 1
    ws.write_string(tot, 0, "LA total", book.fmt(bold=True, top=1))
    acc = c.accepted()
    for col, get in ((2, lambda f: f.allocation), (3, lambda f: f.forecast_balance), (5, lambda f: f.threshold),
                     (6, lambda f: f.surplus[0]), (7, lambda f: f.surplus[1]), (8, lambda f: f.surplus[2]),
                     (9, lambda f: f.surplus[3]), (11, lambda f: f.planned_total), (12, lambda f: f.unplanned)):
        put_formula(ws, tot, col, f"=SUM({col_range(col, first, last)})",
                    book.fmt(num_format=MONEY_FMT, bold=True, top=1), sum_known(get(f) for f in acc) or Decimal(0))
    put_formula(ws, tot, 4, f'=IF({cell(tot, 2)}=0,"",{cell(tot, 3)}/{cell(tot, 2)})',
                book.fmt(num_format=PCT_FMT, bold=True, top=1),
                ratio(c.la_total(lambda f: f.forecast_balance), c.la_total(lambda f: f.allocation)))
    flagged = sum(1 for f in acc if f.clawback)
    put_text(ws, tot, 15, f"{flagged} possible claw-back(s)", book.fmt(bold=True, top=1))
    ws.freeze_panes(first, 1)


PLACEMENT_COLS = [Col("Reporting quarter", "int", 10), Col("Partnership", "text", 14), Col("Host school", "text", 26),
                  Col("Return", "text", 24), Col("Pupils placed outside key stage this quarter", "int", 16),
                  Col("Multidisciplinary meeting held before each?", "text", 16), Col("Flag", "text", 34)]


def _write_placements(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Placements")
    put_heading(book, ws, f"Placements outside key stage (toolkit section 7) – {c.year}, quarters "
                f"{', '.join(f'Q{q}' for q in c.quarters)}",
                "Each placement needs a multidisciplinary meeting first and must be reported termly and "
                "annually. LA-internal: exact counts (the headteacher summaries suppress small ones).")
    first = 4
    put_header(book, ws, first - 1, PLACEMENT_COLS)
    r = first
    total = 0
    for ln in c.all_lines():
        q, prov = ln.quarter, ln.provision
        f = ln.figures
        put(book, ws, r, 0, "int", q)
        put_text(ws, r, 1, prov.partnership, book.fmt(bold=True))
        put(book, ws, r, 2, "text", prov.host_school)
        if f is None:
            put(book, ws, r, 3, "text", ln.label, bold=True, font_color="#9C0006")
            ws.write_blank(r, 4, None, book.fmt(bg_color="#F2F2F2"))
            ws.write_blank(r, 5, None, book.fmt(bg_color="#F2F2F2"))
            put_text(ws, r, 6, "No data – no accepted return")
        else:
            put(book, ws, r, 3, "text", ln.label)
            put(book, ws, r, 4, "int", f.placements)
            put(book, ws, r, 5, "text", f.mdm_held)
            total += f.placements or 0
            if f.placements and f.mdm_held != "Yes":
                flag = "Meeting not confirmed"
            elif f.placements:
                flag = "Placement(s) reported; meeting held"
            else:
                flag = "None"
            put(book, ws, r, 6, "text", flag)
        r += 1
    ws.write_string(r, 0, "Total", book.fmt(bold=True, top=1))
    put_formula(ws, r, 4, f"=SUM({col_range(4, first, r - 1)})", book.fmt(num_format="0", bold=True, top=1), total)
    ws.freeze_panes(first, 2)
    ws.autofilter(first - 1, 0, r - 1, len(PLACEMENT_COLS) - 1)


STATUS_COLS = [Col("Period", "text", 12), Col("Partnership", "text", 14), Col("Host school", "text", 26),
               Col("Issued", "date", 11), Col("Due", "date", 11), Col("Files received", "int", 9),
               Col("Latest version", "int", 9), Col("Latest status", "text", 20), Col("Official version", "int", 9),
               Col("State", "text", 22), Col("Late", "text", 7)]


def _write_status(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Returns status")
    put_heading(book, ws, f"Returns status – {c.year}, as at {c.generated_at:%d/%m/%Y %H:%M} UTC")
    first = 3
    put_header(book, ws, first - 1, STATUS_COLS)
    order = {p.partnership: i for i, p in enumerate(c.provisions)}
    rows = sorted(c.status, key=lambda s: (s["quarter"], order.get(s["partnership"], 0)))
    for i, s in enumerate(rows):
        r = first + i
        state = s["state"].replace("_", " ")
        vals = [s["period"], s["partnership"], s["host_school"],
                date.fromisoformat(s["issued"][:10]) if s["issued"] else None,
                date.fromisoformat(s["due"]) if s["due"] else None, s["received"], s["latest_version"],
                (s["latest_status"] or "").replace("_", " ") or None, s["official_version"],
                state.upper() if s["state"] in ("missing", "rejected", "not issued") else state,
                "LATE" if s["late"] else "no"]
        for j, (col, v) in enumerate(zip(STATUS_COLS, vals, strict=True)):
            bad = j == 9 and s["state"] in ("missing", "rejected", "not issued")
            put(book, ws, r, j, col.kind, v, **({"bold": True, "font_color": "#9C0006"} if bad else {}))
    ws.freeze_panes(first, 2)
    ws.autofilter(first - 1, 0, first + max(len(rows), 1) - 1, len(STATUS_COLS) - 1)


LOG_COLS = [Col("Period", "text", 12), Col("Partnership", "text", 14), Col("Version", "int", 8),
            Col("File", "text", 36), Col("Received (UTC)", "datetime", 16), Col("File status", "text", 18),
            Col("Official?", "text", 9), Col("Code", "text", 9), Col("Severity", "text", 9), Col("Sheet", "text", 9),
            Col("Cell", "text", 7), Col("Field", "text", 24), Col("Value", "text", 24), Col("Message", "text", 80)]


def _write_log(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Data quality")
    put_heading(book, ws, f"Data-quality log – every finding on every file received for {c.year} "
                f"({', '.join(f'Q{q}' for q in c.quarters)})",
                "Errors made a file rejected; warnings were accepted for the LA to look at. 'Official?' = the "
                "version the consolidation uses.")
    first = 4
    put_header(book, ws, first - 1, LOG_COLS)
    if not c.findings:
        ws.write_string(first, 0, "No findings: every file received was accepted without warnings.")
    for i, fd in enumerate(c.findings):
        r = first + i
        vals = [fd["period"], fd["partnership"], fd["version"], fd["file"], stamp(fd["received_at"]),
                str(fd["file_status"]).replace("_", " "), "Yes" if fd["official"] else "no", fd["code"],
                fd["severity"], fd["sheet"], fd["cell"], fd["name"], fd["value"], fd["message"]]
        for j, (col, v) in enumerate(zip(LOG_COLS, vals, strict=True)):
            extra = {"bold": True, "font_color": "#9C0006"} if j == 8 and v == "error" else {}
            put(book, ws, r, j, col.kind, v, **extra)
    ws.freeze_panes(first, 0)
    ws.autofilter(first - 1, 0, first + max(len(c.findings), 1) - 1, len(LOG_COLS) - 1)


def _write_about(book: Book, c: Consolidation, csv_names: Sequence[str]) -> None:
    ws = book.wb.add_worksheet("About")
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 7, 22)
    th = c.thresholds
    lines: list[tuple[str, dict[str, Any]]] = [
        (f"About this workbook – {c.period_long}", {"bold": True, "font_size": 14}),
        (f"Made by pbp-workbooks {__version__} on {c.generated_at:%d/%m/%Y at %H:%M} UTC for {c.la_name}.", {}),
        ("Source: the ledger of received returns. For each provision and quarter the official return is its latest "
         "accepted version; every total, outturn, variance and balance is recalculated from its inputs (the values "
         "cached in the received file are never used). Money is exact to the penny.", {}),
        ("A provision without an accepted return is listed with blank figures and a MISSING / REJECTED / NOT ISSUED "
         "label: it is never dropped and never counted as zero.", {}),
        (f"Thresholds (pbp.toml): surplus plan {th.surplus_plan_pct}% of allocation; variance commentary "
         f"{th.variance_commentary_pct}% and £{th.variance_commentary_min:,}; large item £{th.large_item:,}.", {}),
        ("Text typed into a return (commentaries, descriptions, names) is stored as text and can never run as a "
         "formula here. In the CSV files such text starting with = + - @ TAB or CR has a leading apostrophe.", {}),
        ("Tidy data for BI tools, next to this workbook: " + "; ".join(csv_names) + ". Pupil counts of 1 to 4 in "
         "the CSV files are shown as 'c' (suppressed).", {}),
        ("Published sheets: " + ", ".join(f"'{n}'" for n in PUBLISHED_SHEETS) + " (when annual reports are in) may "
         "be circulated, so small numbers of pupils are suppressed there (c = 1 to 4 pupils, or hidden so a small "
         "number cannot be worked out from a total). Every other sheet is LA-internal and keeps exact counts.", {}),
        ("", {}),
        ("Returns used", {"bold": True}),
    ]
    for i, (text, style) in enumerate(lines):
        ws.write_string(i, 0, text, book.fmt(**style))
    r = len(lines)
    hdr = ["Period", "Partnership", "Version", "Status", "Received (UTC)", "File as sent", "Archived copy", "SHA-256"]
    for j, h in enumerate(hdr):
        ws.write_string(r, j, h, book.fmt(bold=True, bg_color=HEADER_FILL, border=1))
    for ln in c.all_lines():
        q, prov = ln.quarter, ln.provision
        if ln.official is None or ln.figures is None:
            continue
        r += 1
        o = ln.official
        for j, v in enumerate([f"{c.year} Q{q}", prov.partnership, o.version, o.status.replace("_", " "),
                               stamp(o.received_at), o.original_name, o.archive_path, o.sha256]):
            if isinstance(v, datetime):
                put(book, ws, r, j, "datetime", v)
            elif isinstance(v, int):
                put_num(ws, r, j, v)
            else:
                put_text(ws, r, j, v)


def write_workbook(c: Consolidation, path: Path, csv_names: Sequence[str] = (),
                   rows: list[dict[str, Any]] | None = None) -> Path:
    rows = category_rows(c) if rows is None else rows

    def build(tmp: Path) -> None:
        book = Book(tmp, Printing(f"PBP consolidated {c.period}", c.period_long,
                                  f"{c.la_name} – Primary Behaviour Provisions, consolidated"))
        book.wb.set_properties({"title": f"PBP consolidated {c.period}", "author": c.la_name, "company": c.la_name,
                                "comments": f"pbp-workbooks {__version__}",
                                "created": c.generated_at.replace(tzinfo=None)})
        _write_summary(book, c)
        _write_by_category(book, c)
        _write_categories(book, c, rows)
        _write_items(book, c)
        _write_balances(book, c)
        _write_placements(book, c)
        if c.annual is not None:
            write_annual_sheets(book, c)
        if c.surplus is not None:
            from pbp_workbooks.reports.surplus_sheets import write_surplus_sheets

            write_surplus_sheets(book, c)
        if c.sla is not None:
            write_sla_sheet(book, c)
        _write_status(book, c)
        _write_log(book, c)
        _write_about(book, c, csv_names)
        book.close()

    return write_atomic(path, build)
