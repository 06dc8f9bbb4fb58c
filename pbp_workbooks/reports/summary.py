"""Headteacher summary workbooks: one per partnership, readable in thirty seconds.

First sheet (Summary): the financial status as words and colour ("Green – on track"),
one plain-English sentence, four big headline figures, the partnership against the LA
total and median, and three native Excel charts (budget vs forecast outturn by
category, spend by quarter, balance brought forward vs forecast at year end). The
Figures sheet holds the numbers the charts draw (totals are live formulas with cached
values). Counts of pupils from 1 to 4 are shown as "fewer than 5" so that no child can be
identified. Everything that came from a return is written as text, never as a formula.

When the consolidation has the annual overview (``pbp consolidate`` without --quarter and
an accepted annual report for the year), an Annual sheet follows: KPIs against targets
with a word for each ("Met" / "Not met" / "No data", colour only as a help), the pupil
profile (gender, ethnicity, SEND, key stage: counts and shares, next to the LA's shares)
and service delivery. It is a published sheet: its pupil counts are the LA overview's,
suppressed with the same pattern (suppression.py: "c" for 1 to 4 pupils, and a second
cell hidden wherever the first could be worked out from the total). With the year's
surplus decisions, a Surplus sheet shows what the partnership decided and each member
school's allocation (surplus_summary.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.filenames import safe_file_name, write_atomic
from pbp_workbooks.base.interrupts import pause_point
from pbp_workbooks.base.periods import QUARTER_MONTHS
from pbp_workbooks.reports import suppression
from pbp_workbooks.reports.annual_overview import BREAKDOWNS, KPI, METHODS, count_or_zero, kpi_better, kpi_status
from pbp_workbooks.reports.consolidation import Consolidation
from pbp_workbooks.reports.figures import Figures, gbp, pct_text, ratio
from pbp_workbooks.reports.sheets import (
    KPI_FILLS,
    MONEY_FMT,
    PCT_FMT,
    RAG_FILLS,
    Book,
    Printing,
    cell,
    flag_overspend,
    put_count,
    put_date,
    put_formula,
    put_num,
    put_share,
    put_text,
)
from pbp_workbooks.reports.suppression import Count
from pbp_workbooks.reports.surplus_summary import SurplusSummary, surplus_summary, write_surplus_sheet

PARALLEL_FROM = 20
SUPPRESS_BELOW = suppression.THRESHOLD  # pupil counts 1..4 are shown as "fewer than 5": plain words in a sentence
ROUND_MONEY = "£#,##0;[Red]-£#,##0"


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    kind: str  # money | pct
    get: Callable[[Figures], Decimal | None]


MEASURES = (
    Measure("allocation", "DSG allocation", "money", lambda f: f.allocation),
    Measure("to_date", "Spent to date", "money", lambda f: f.to_date),
    Measure("spent_pct", "Spent to date as % of budget", "pct", lambda f: f.spent_pct),
    Measure("outturn", "Forecast outturn (spend for the year)", "money", lambda f: f.outturn),
    Measure("variance_pct", "Forecast outturn against budget", "pct", lambda f: f.variance_pct),
    Measure("balance", "Forecast year-end balance", "money", lambda f: f.forecast_balance),
    Measure("balance_pct", "Forecast balance as % of allocation", "pct", lambda f: f.balance_pct),
)


def measure(f: Figures, m: Measure) -> Decimal | None:
    v = m.get(f)
    return v if isinstance(v, Decimal) else None


@dataclass(frozen=True)
class LaPicture:
    n_total: int
    n_accepted: int
    total: dict[str, Decimal | None]
    median: dict[str, Decimal | None]
    placements: int  # in every accepted return of the year so far


def la_picture(c: Consolidation) -> LaPicture:
    total: dict[str, Decimal | None] = {}
    median: dict[str, Decimal | None] = {}
    for m in MEASURES:
        median[m.key] = c.la_median(functools.partial(measure, m=m))
        if m.kind == "money":
            total[m.key] = c.la_total(functools.partial(measure, m=m))
    total["spent_pct"] = ratio(c.la_total(lambda f: f.to_date), c.la_total(lambda f: f.budget))
    total["variance_pct"] = ratio(c.la_total(lambda f: f.variance), c.la_total(lambda f: f.budget))
    total["balance_pct"] = ratio(c.la_total(lambda f: f.forecast_balance), c.la_total(lambda f: f.allocation))
    placements = sum(ln.figures.placements or 0 for ln in c.lines.values() if ln.figures is not None)
    return LaPicture(len(c.provisions), len(c.accepted()), total, median, placements)


@dataclass(frozen=True)
class AnnualSummary:
    """One partnership's annual report as its summary shows it (counts already suppressed)."""

    year: str
    label: str
    accepted: bool
    # indicator, target, actual, better when, status word, commentary
    kpis: tuple[tuple[str, Decimal | None, Decimal | None, str, str, str | None], ...] = ()
    # breakdown title, ((group, pupils, share, LA share), ...), pupils supported
    profiles: tuple[tuple[str, tuple[tuple[str, Count, Decimal | str | None, Decimal | str | None], ...], Count],
                    ...] = ()
    delivery: tuple[tuple[str, Count | Decimal], ...] = ()
    methods: tuple[tuple[str, Count, int | None], ...] = ()  # method, pupils, sessions


def annual_summary(c: Consolidation, partnership: str) -> AnnualSummary | None:
    a = c.annual
    if a is None:
        return None
    ln = a.line(partnership)
    v = ln.values
    if v is None:
        return AnnualSummary(str(c.year), ln.label, False)
    dec = lambda x: x if isinstance(x, Decimal) else (Decimal(x) if isinstance(x, int) else None)  # noqa: E731
    kpis = []
    for key, label in a.rows(KPI):
        better = kpi_better(a.spec, key)
        t, act = a.grid_value(v, KPI, key, "target"), a.grid_value(v, KPI, key, "actual")
        comment = a.grid_value(v, KPI, key, "commentary")
        kpis.append((label, dec(t), dec(act), better, kpi_status(t, act, better),
                     comment if isinstance(comment, str) and comment else None))
    profiles = []
    for b in BREAKDOWNS:
        groups = tuple((label, a.cell(b, k, partnership), a.share(b, k, partnership), a.la_share(b, k))
                       for k, label in a.rows(b))
        profiles.append((a.title(b).replace("Service delivery: p", "P"), groups, a.pupils(partnership)))
    stay = a.value(v, "average_stay")
    delivery = (("Pupils supported", a.pupils(partnership)),
                ("Schools supported", count_or_zero(a.value(v, "schools_supported_count"))),
                ("Schools in the partnership", count_or_zero(a.value(v, "member_school_count"))),
                ("Average length of stay (weeks)", dec(stay)),
                ("Pupils placed outside their key stage", a.placements(partnership)))
    methods = tuple((label, a.methods(k, partnership), count_or_zero(a.grid_value(v, METHODS, k, "sessions")))
                    for k, label in a.rows(METHODS))
    return AnnualSummary(str(c.year), ln.label, True, tuple(kpis), tuple(profiles), delivery, methods)


@dataclass(frozen=True)
class SummaryInput:
    path: str
    la_name: str
    year: str
    quarter: int
    partnership: str
    host_school: str
    provision: str
    label: str
    state: str
    version: int | None
    received: date | None
    figures: Figures | None
    placements_year: str  # placements in the accepted returns of the year so far, small counts suppressed
    la: LaPicture
    categories: tuple[str, ...]
    thresholds: Thresholds
    annual: AnnualSummary | None = None
    surplus: SurplusSummary | None = None  # the year's surplus decision, with the annual overview

    @property
    def period_long(self) -> str:
        return f"{self.year} Quarter {self.quarter} ({QUARTER_MONTHS[self.quarter]})"


def suppressed(n: int | None) -> str:
    if n is None:
        return "not known"
    if n == 0:
        return "none"
    return f"fewer than {SUPPRESS_BELOW}" if n < SUPPRESS_BELOW else str(n)


def sentence(s: SummaryInput) -> str:
    f = s.figures
    if f is None:
        return (f"The LA has no accepted return from {s.partnership} for {s.year} Q{s.quarter} yet ({s.label}), so "
                f"there are no figures to show; the LA picture below covers the {s.la.n_accepted} provisions that have "
                "one.")
    quarters = "Q1" if s.quarter == 1 else f"Q1–Q{s.quarter}"
    bal = f.forecast_balance or Decimal(0)
    end = (f"a surplus of {gbp(bal, False)} ({pct_text(f.balance_pct)} of its allocation)" if bal > 0 else
           f"a deficit of {gbp(-bal, False)}" if bal < 0 else "a balance of exactly zero")
    return (f"{f.rag_label}: in {quarters} the provision spent {gbp(f.to_date, False)}, {pct_text(f.spent_pct)} of its "
            f"{gbp(f.budget, False)} budget, and expects to end the year with {end} – {f.rag_reason}.")


def summary_file_name(partnership: str) -> str:
    return safe_file_name(f"summary - {partnership}") + ".xlsx"


def inputs(c: Consolidation, folder: Path) -> list[SummaryInput]:
    la = la_picture(c)
    out = []
    for ln in c.headline():
        year_lines = [c.lines[(ln.partnership, q)] for q in c.quarters]
        known = [y.figures.placements or 0 for y in year_lines if y.figures is not None]
        gaps = [f"Q{y.quarter}" for y in year_lines if y.figures is None]
        placements = suppressed(sum(known)) if known else "not known"
        if known and gaps:
            placements += f" (no accepted {' or '.join(gaps)} return)"
        out.append(SummaryInput(
            str(folder / summary_file_name(ln.partnership)), c.la_name, str(c.year), c.quarter, ln.partnership,
            ln.provision.host_school, ln.provision.provision, ln.label, ln.state,
            ln.official.version if ln.official and ln.figures else None,
            date.fromisoformat(ln.official.received_at[:10]) if ln.official and ln.figures else None,
            ln.figures, placements, la, tuple(label for _, label in c.categories), c.thresholds,
            annual_summary(c, ln.partnership), surplus_summary(c, ln.partnership)))
    return out


def write_summaries(c: Consolidation, folder: Path, *, progress: Any = None) -> list[Path]:
    jobs = inputs(c, folder)
    pause_point("summaries")
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_FROM or workers < 2:
        done: Iterable[Path] = map(write_summary, jobs)
        return list(progress(done, len(jobs), "Summaries") if progress else done)
    from pbp_workbooks.base.pools import QuietPool

    pool = QuietPool(workers)
    try:
        done = pool.map(write_summary, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
        return list(progress(done, len(jobs), "Summaries") if progress else done)
    finally:
        pool.stop()  # after Ctrl-C too: the workers end the summary in hand, none is left behind


# --------------------------------------------------------------------------- the workbook

FIG = "Figures"
FIG_FIRST = 4  # 0-based row of the first category on Figures


@dataclass
class _Layout:
    """Where the Figures sheet put things (for charts and cross-sheet formulas)."""

    cat_first: int = FIG_FIRST
    cat_last: int = FIG_FIRST
    total: int = FIG_FIRST
    spend_first: int = 0
    spend_last: int = 0
    bal_first: int = 0


def write_summary(s: SummaryInput) -> Path:
    def build(tmp: Path) -> None:
        book = Book(tmp, Printing(f"PBP summary {s.year} Q{s.quarter} - {s.partnership}", s.period_long,
                                  f"{s.partnership} – PBP money summary"))
        book.wb.set_properties({"title": f"PBP summary {s.year} Q{s.quarter} - {s.partnership}", "author": s.la_name,
                                "company": s.la_name})
        summary = book.wb.add_worksheet("Summary")
        figures = book.wb.add_worksheet(FIG)
        layout = _figures_sheet(book, figures, s) if s.figures is not None else None
        if layout is None:
            figures.write_string(0, 0, "No accepted return yet: no figures.", book.fmt(bold=True))
        _summary_sheet(book, summary, s, layout)
        if s.annual is not None:
            _annual_sheet(book, book.wb.add_worksheet("Annual"), s, s.annual)
        if s.surplus is not None:
            write_surplus_sheet(book, book.wb.add_worksheet("Surplus"), s.partnership, s.la_name, s.surplus)
        summary.activate()
        book.close()

    return write_atomic(Path(s.path), build)


def _summary_sheet(book: Book, ws: Any, s: SummaryInput, layout: _Layout | None) -> None:
    f = s.figures
    book.page(ws, portrait=True, tall=1, titles=(0, 1))  # one page, as it is read
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 40)
    for col in range(1, 5):
        ws.set_column(col, col, 22)
    ws.set_column(5, 8, 14)
    ws.write_string(0, 0, f"{s.partnership} Neighbourhood Partnership – {s.provision}", book.fmt(bold=True, font_size=16))
    ws.write_string(1, 0, f"Primary Behaviour Provision money summary, {s.period_long}. Host school: {s.host_school}.",
                    book.fmt(font_size=11))
    source = (f"From the return the LA accepted on {s.received:%d %B %Y} (version {s.version}). " if s.received else
              "No accepted return yet. ") + f"Prepared by {s.la_name}."
    ws.write_string(2, 0, source, book.fmt(italic=True, font_color="#595959"))
    ws.write_string(4, 0, "Status", book.fmt(bold=True, font_size=14, valign="vcenter"))
    rag = f.rag if f else "No data"
    bg, fg = RAG_FILLS[rag]
    label = f.rag_label if f else ("No data – return missing" if s.state in ("missing", "not issued")
                                   else "No data – return rejected")
    ws.merge_range(4, 1, 4, 3, label, book.fmt(bold=True, font_size=16, bg_color=bg, font_color=fg, border=2,
                                               valign="vcenter", align="center"))
    ws.set_row(4, 30)
    ws.merge_range(5, 0, 5, 4, "", book.fmt(text_wrap=True, font_size=12, valign="top"))
    ws.write_string(5, 0, sentence(s), book.fmt(text_wrap=True, font_size=12, valign="top"))
    ws.set_row(5, 50)
    # the four headline figures
    tiles: list[tuple[str, Decimal | None, str]] = []
    if f is not None:
        over = "over" if (f.variance or 0) > 0 else "under"
        tiles = [
            (f"DSG allocation {s.year}", f.allocation,
             f"plus {gbp(f.balance_bf, False)} brought forward" if f.balance_bf is not None else ""),
            ("Spent to date", f.to_date, f"{pct_text(f.spent_pct)} of the {gbp(f.budget, False)} budget"),
            ("Forecast outturn", f.outturn,
             f"{gbp(abs(f.variance or Decimal(0)), False)} {over} budget ({pct_text(f.variance_pct)})"),
            ("Forecast year-end balance", f.forecast_balance, f"{pct_text(f.balance_pct)} of the allocation"),
        ]
    else:
        tiles = [(t, None, "no accepted return") for t in
                 (f"DSG allocation {s.year}", "Spent to date", "Forecast outturn", "Forecast year-end balance")]
    tile_box = {"border": 1, "border_color": "#A6A6A6", "align": "center", "valign": "vcenter"}
    for j, (title, value, sub) in enumerate(tiles):
        ws.write_string(7, j, title, book.fmt(bold=True, bg_color="#DDEBF7", text_wrap=True, **tile_box))
        put_num(ws, 8, j, value, book.fmt(bold=True, font_size=18, num_format=ROUND_MONEY, **tile_box))
        put_text(ws, 9, j, sub, book.fmt(italic=True, font_color="#404040", text_wrap=True, **tile_box))
    ws.set_row(8, 30)
    ws.set_row(9, 28)
    # against the LA
    ws.write_string(11, 0, f"How {s.partnership} compares with the LA", book.fmt(bold=True, font_size=12))
    hdr = book.fmt(bold=True, bg_color="#D9E1F2", border=1, text_wrap=True, align="center")
    for j, h in enumerate(["Measure", s.partnership, "LA total", "LA median"]):
        ws.write_string(12, j, h, hdr)
    r = 13
    for m in MEASURES:
        ws.write_string(r, 0, m.label, book.fmt(border=1, text_wrap=True))
        num = book.fmt(border=1, num_format=MONEY_FMT if m.kind == "money" else PCT_FMT)
        put_num(ws, r, 1, measure(f, m) if f else None, book.fmt(border=1, bold=True,
                                                                    num_format=MONEY_FMT if m.kind == "money"
                                                                    else PCT_FMT))
        put_num(ws, r, 2, s.la.total.get(m.key), num)
        put_num(ws, r, 3, s.la.median.get(m.key), num)
        r += 1
    ws.write_string(r, 0, "Pupils placed outside their key stage this year", book.fmt(border=1))
    put_text(ws, r, 1, s.placements_year, book.fmt(border=1, bold=True, align="right", text_wrap=True))
    put_text(ws, r, 2, suppressed(s.la.placements), book.fmt(border=1, align="right"))
    ws.write_blank(r, 3, None, book.fmt(border=1))
    ws.set_row(r, 28)
    r += 1
    ws.write_string(r, 0, f"LA total and median: the {s.la.n_accepted} of {s.la.n_total} provisions with an accepted "
                          f"return for {s.year} Q{s.quarter}. Counts of 1 to {SUPPRESS_BELOW - 1} pupils are shown as "
                          f"'fewer than {SUPPRESS_BELOW}'.", book.fmt(italic=True, font_color="#595959"))
    ws.write_string(r + 1, 0, "Financial status: Red – a deficit is forecast; Amber – a surplus the LA could claw back "
                              "or spending well away from budget; Green – on track. The numbers are on the Figures "
                              "sheet.", book.fmt(italic=True, font_color="#595959"))
    if f is None or layout is None:
        return
    chart_row = r + 3
    ch = book.wb.add_chart({"type": "bar"})
    for col, colour, name in ((1, "#9DC3E6", "Annual budget"), (8, "#1F4E78", "Forecast outturn")):
        ch.add_series({"name": name, "categories": [FIG, layout.cat_first, 0, layout.cat_last, 0],
                       "values": [FIG, layout.cat_first, col, layout.cat_last, col], "fill": {"color": colour}})
    ch.set_title({"name": "Budget and forecast outturn by category", "name_font": {"size": 12}})
    ch.set_x_axis({"num_format": '£#,##0,"k"', "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    ch.set_y_axis({"reverse": True, "interval_unit": 1, "num_font": {"size": 8}})
    ch.set_legend({"position": "bottom"})
    ch.set_size({"width": 560, "height": 560})
    ws.insert_chart(chart_row, 0, ch)
    ch2 = book.wb.add_chart({"type": "column"})
    ch2.add_series({"name": "Spend", "categories": [FIG, layout.spend_first, 0, layout.spend_last, 0],
                    "values": [FIG, layout.spend_first, 1, layout.spend_last, 1], "fill": {"color": "#2E75B6"},
                    "data_labels": {"value": True, "num_format": "£#,##0"}})
    ch2.set_title({"name": "Spend by quarter (actual, then forecast)", "name_font": {"size": 12}})
    ch2.set_y_axis({"num_format": "£#,##0"})
    ch2.set_legend({"none": True})
    ch2.set_size({"width": 440, "height": 300})
    ws.insert_chart(chart_row, 3, ch2)
    ch3 = book.wb.add_chart({"type": "column"})
    ch3.add_series({"name": "Balance", "categories": [FIG, layout.bal_first, 0, layout.bal_first + 1, 0],
                    "values": [FIG, layout.bal_first, 1, layout.bal_first + 1, 1], "fill": {"color": "#548235"},
                    "invert_if_negative": True, "data_labels": {"value": True, "num_format": "£#,##0"}})
    ch3.set_title({"name": "Balance: brought forward and forecast at year end", "name_font": {"size": 12}})
    ch3.set_y_axis({"num_format": "£#,##0"})
    ch3.set_legend({"none": True})
    ch3.set_size({"width": 440, "height": 300})
    ws.insert_chart(chart_row + 16, 3, ch3)


def _figures_sheet(book: Book, ws: Any, s: SummaryInput) -> _Layout:
    f = s.figures
    assert f is not None
    lay = _Layout()
    book.page(ws, titles=(0, FIG_FIRST - 1))
    widths = [36, 14, 13, 13, 13, 13, 14, 14, 14, 14, 50]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.write_string(0, 0, f"Figures behind the summary – {s.partnership}, {s.year} Q{s.quarter}",
                    book.fmt(bold=True, font_size=14))
    ws.write_string(1, 0, f"From the return accepted on {s.received:%d/%m/%Y} (version {s.version}), recalculated by "
                          "the LA. Commentary is the host school's own words.", book.fmt(italic=True))
    hdr = book.fmt(bold=True, bg_color="#D9E1F2", border=1, text_wrap=True, valign="vcenter")
    heads = ["Category", "Annual budget", "Actual Q1", "Actual Q2", "Actual Q3", "Actual Q4", "Actual to date",
             "Forecast rest of year", "Forecast outturn", "Variance (+ over budget, − under)", "Commentary"]
    for j, h in enumerate(heads):
        ws.write_string(FIG_FIRST - 1, j, h, hdr)
    ws.set_row(FIG_FIRST - 1, 32)
    money = book.fmt(num_format=MONEY_FMT)
    for i, cat in enumerate(f.categories):
        r = FIG_FIRST + i
        put_text(ws, r, 0, cat.label)
        for j, v in enumerate([cat.budget, *cat.actual, cat.to_date, cat.forecast, cat.outturn, cat.variance], start=1):
            put_num(ws, r, j, v, money)
        put_text(ws, r, 10, cat.commentary, book.fmt(text_wrap=True))
    lay.cat_last = FIG_FIRST + len(f.categories) - 1
    lay.total = tot = lay.cat_last + 1
    ws.write_string(tot, 0, "Total", book.fmt(bold=True, top=1))
    totals = [f.budget, *f.actual, f.to_date, f.forecast, f.outturn, f.variance]
    bold_money = book.fmt(num_format=MONEY_FMT, bold=True, top=1)
    for j, v in enumerate(totals, start=1):
        if v is None:
            ws.write_blank(tot, j, None, book.fmt(top=1))
        else:
            put_formula(ws, tot, j, f"=SUM({cell(FIG_FIRST, j)}:{cell(lay.cat_last, j)})", bold_money, v)
    ws.write_blank(tot, 10, None, book.fmt(top=1))
    flag_overspend(book.wb, ws, FIG_FIRST, 9, tot, 9)
    # spend by quarter: actuals so far, then the forecast for the rest of the year
    r = tot + 2
    ws.write_string(r, 0, "Spend by quarter", book.fmt(bold=True, font_size=12))
    ws.write_string(r + 1, 0, "Period", hdr)
    ws.write_string(r + 1, 1, "Amount", hdr)
    lay.spend_first = r + 2
    r = lay.spend_first
    for q in range(1, s.quarter + 1):
        ws.write_string(r, 0, f"Q{q} actual")
        put_formula(ws, r, 1, f"={cell(tot, 1 + q)}", money, f.actual[q - 1])
        r += 1
    if s.quarter < 4:
        ws.write_string(r, 0, f"Q{s.quarter + 1}–Q4 forecast" if s.quarter < 3 else "Q4 forecast")
        put_formula(ws, r, 1, f"={cell(tot, 7)}", money, f.forecast)
        r += 1
    lay.spend_last = r - 1
    # balance
    r += 1
    ws.write_string(r, 0, "Balance", book.fmt(bold=True, font_size=12))
    ws.write_string(r + 1, 0, "Item", hdr)
    ws.write_string(r + 1, 1, "Amount", hdr)
    b = lay.bal_first = r + 2
    ws.write_string(b, 0, "Brought forward from last year")
    put_num(ws, b, 1, f.balance_bf, money)
    ws.write_string(b + 1, 0, "Forecast at year end")
    put_formula(ws, b + 1, 1, f"=ROUND({cell(b, 1)}+{cell(b + 2, 1)}+{cell(b + 3, 1)}-{cell(b + 4, 1)},2)",
                book.fmt(num_format=MONEY_FMT, bold=True), f.forecast_balance)
    ws.write_string(b + 2, 0, "DSG allocation")
    put_num(ws, b + 2, 1, f.allocation, money)
    ws.write_string(b + 3, 0, "Other income")
    put_num(ws, b + 3, 1, f.other_income, money)
    ws.write_string(b + 4, 0, "Forecast outturn")
    put_formula(ws, b + 4, 1, f"={cell(tot, 8)}", money, f.outturn)
    ws.write_string(b + 5, 0, "Planned use of surplus")
    put_num(ws, b + 5, 1, f.planned_total, money)
    ws.write_string(b + 6, 0, "Surplus with no planned use")
    put_num(ws, b + 6, 1, f.unplanned, money)
    ws.write_string(b + 7, 0, "Surplus plan")
    put_text(ws, b + 7, 1, f.surplus_flag)
    if f.recovery_plan:
        ws.write_string(b + 8, 0, "Recovery plan")
        put_text(ws, b + 8, 1, f.recovery_plan)
    # large items
    r = b + 10
    ws.write_string(r, 0, f"Items of £{s.thresholds.large_item:,} or more", book.fmt(bold=True, font_size=12))
    for j, h in enumerate(["Description", "Amount", "Date", "Supplier", "Category", "Signed by both?"]):
        ws.write_string(r + 1, j, h, hdr)
    r += 2
    if not f.items:
        ws.write_string(r, 0, "None listed", book.fmt(italic=True))
        r += 1
    for it in f.items:
        put_text(ws, r, 0, it.description)
        put_num(ws, r, 1, it.amount, money)
        put_date(ws, r, 2, it.date, book.fmt(num_format="dd/mm/yyyy", align="left"))
        put_text(ws, r, 3, it.supplier)
        put_text(ws, r, 4, it.category)
        put_text(ws, r, 5, "Yes" if it.signed_by_both else "No")
        r += 1
    r += 1
    ws.write_string(r, 0, "Pupils placed outside their key stage", book.fmt(bold=True, font_size=12))
    ws.write_string(r + 1, 0, "This year, from the accepted returns")
    put_text(ws, r + 1, 1, s.placements_year, book.fmt(align="right"))
    ws.write_string(r + 2, 0, "Multidisciplinary meeting held before each (this quarter)")
    put_text(ws, r + 2, 1, f.mdm_held if f.placements else "not needed", book.fmt(align="right"))
    ws.freeze_panes(FIG_FIRST, 1)
    return lay


def _annual_sheet(book: Book, ws: Any, s: SummaryInput, a: AnnualSummary) -> None:
    book.page(ws, portrait=True, titles=(0, 0))
    ws.hide_gridlines(2)
    ws.set_column(0, 0, 44)
    ws.set_column(1, 4, 13)
    ws.set_column(5, 5, 60)
    ws.write_string(0, 0, f"{s.partnership} – annual report {a.year}", book.fmt(bold=True, font_size=16))
    ws.write_string(1, 0, (f"From the annual report the LA accepted ({a.label})." if a.accepted else
                           f"No accepted annual report: {a.label}.") + f" Prepared by {s.la_name}.",
                    book.fmt(italic=True, font_color="#595959"))
    ws.write_string(2, 0, suppression.LEGEND, book.fmt(italic=True, font_color="#595959"))
    if not a.accepted:
        ws.write_string(4, 0, "No data – the KPIs, pupil profile and service delivery appear here once the LA has "
                              "accepted the annual report.", book.fmt(bold=True, font_size=12))
        return
    hdr = book.fmt(bold=True, bg_color="#D9E1F2", border=1, text_wrap=True, align="center")
    box = book.fmt(border=1, text_wrap=True)
    r = 4
    ws.write_string(r, 0, "Key performance indicators against targets", book.fmt(bold=True, font_size=12))
    r += 1
    for j, h in enumerate(["Indicator", "Target", "Actual", "Better when", "Target met?", "Commentary"]):
        ws.write_string(r, j, h, hdr)
    r += 1
    first = r
    for label, target, actual, better, status, comment in a.kpis:
        ws.write_string(r, 0, label, box)
        put_num(ws, r, 1, target, book.fmt(border=1, num_format="0.0##"))
        put_num(ws, r, 2, actual, book.fmt(border=1, num_format="0.0##", bold=True))
        ws.write_string(r, 3, better, book.fmt(border=1, align="center"))
        ws.write_string(r, 4, status, book.fmt(border=1, bold=True, align="center"))
        put_text(ws, r, 5, comment, box)
        r += 1
    for word, (bg, fg) in KPI_FILLS.items():
        ws.conditional_format(first, 4, r - 1, 4, {"type": "cell", "criteria": "equal to", "value": f'"{word}"',
                                                   "format": book.wb.add_format({"bg_color": bg, "font_color": fg,
                                                                                 "bold": True})})
    met = sum(1 for k in a.kpis if k[4] == "Met")
    known = sum(1 for k in a.kpis if k[4] != "No data")
    ws.write_string(r, 0, f"{met} of {known} targets met.", book.fmt(bold=True))
    r += 2
    ws.write_string(r, 0, "Service delivery", book.fmt(bold=True, font_size=12))
    r += 1
    for label, value in a.delivery:
        ws.write_string(r, 0, label, box)
        if isinstance(value, Decimal):
            put_num(ws, r, 1, value, book.fmt(border=1, num_format="0.0", bold=True))
        else:
            put_count(book, ws, r, 1, value, border=1, bold=True)
        r += 1
    for j, h in enumerate(["Delivery method", "Pupils", "Sessions"]):
        ws.write_string(r, j, h, hdr)
    r += 1
    for label, pupils, sessions in a.methods:
        ws.write_string(r, 0, label, box)
        put_count(book, ws, r, 1, pupils, border=1)
        put_num(ws, r, 2, sessions, book.fmt(border=1, num_format="0"))
        r += 1
    ws.write_string(r, 0, "A pupil supported in more than one way counts under each method.",
                    book.fmt(italic=True, font_color="#595959"))
    r += 2
    ws.write_string(r, 0, "Pupil profile", book.fmt(bold=True, font_size=12))
    r += 1
    for title, groups, total in a.profiles:
        for j, h in enumerate([title, "Pupils", "Share", "LA share"]):
            ws.write_string(r, j, h, hdr)
        r += 1
        for label, pupils, share, la_share in groups:
            ws.write_string(r, 0, label, box)
            put_count(book, ws, r, 1, pupils, border=1)
            put_share(book, ws, r, 2, share, border=1)
            put_share(book, ws, r, 3, la_share, border=1)
            r += 1
        ws.write_string(r, 0, "Total (pupils supported)", book.fmt(border=1, bold=True))
        put_count(book, ws, r, 1, total, border=1, bold=True)
        ws.write_blank(r, 2, None, book.fmt(border=1))
        ws.write_blank(r, 3, None, book.fmt(border=1))
        r += 2


__all__ = ["AnnualSummary", "LaPicture", "SummaryInput", "annual_summary", "inputs", "la_picture", "sentence",
           "write_summaries", "write_summary"]
