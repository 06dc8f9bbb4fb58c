"""``pbp report schools-forum``: the LA's annual monitoring report to Schools Forum on spend and impact.

Toolkit section 1 ("Evidence of need"): annual monitoring reports to Schools Forum on the
spend and impact of the provisions. One workbook for the year
(``PBP Schools Forum report <year>.xlsx``), one sheet, printed on A4:

- per partnership and for the LA: the DSG allocation, the spend for the year and the
  year-end balance from the official **Q4 return** (recomputed from its inputs:
  consolidation.load), its financial status; the KPIs met and the pupils and schools
  supported from the official **annual report** (annual_overview.py);
- each KPI across the partnerships, met or not met, in words;
- three charts (allocation and spend, year-end balance, KPIs met).

It is a published report, so pupil counts are the annual overview's, suppressed with the
same pattern as the LA workbook's published sheets and the annual CSV (suppression.py),
so no two published outputs can be combined to undo it. A partnership without an
accepted Q4 return or annual report keeps its line, with blanks and the reason; nothing
is counted as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base.errors import UsageError
from pbp_workbooks.base.filenames import safe_file_name, write_atomic
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.printing import Printing
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.reports import suppression
from pbp_workbooks.reports.annual_overview import KPI, AnnualOverview, count_or_zero, kpi_better, kpi_status
from pbp_workbooks.reports.consolidation import Consolidation, load
from pbp_workbooks.reports.figures import Figures, ratio, sum_known
from pbp_workbooks.reports.sheets import (
    KPI_FILLS,
    MONEY_FMT,
    PCT_FMT,
    RAG_FILLS,
    Book,
    Col,
    cell,
    put,
    put_count,
    put_formula,
    put_header,
    put_num,
    put_text,
    wrapped_height,
)
from pbp_workbooks.reports.suppression import Count

SHEET = "Report"
@dataclass(frozen=True)
class ForumLine:
    partnership: str
    host_school: str
    q4_label: str
    q4: Figures | None  # the official Q4 return's figures
    annual_label: str
    kpis: tuple[tuple[str, str], ...]  # (indicator, Met | Not met | No data); empty without an annual report
    pupils: Count
    schools: int | None
    placements: Count
    annual_balance: Decimal | None  # the annual report's year-end balance (checked against the year-end accounts)

    @property
    def kpis_met(self) -> int | None:
        return sum(1 for _, s in self.kpis if s == "Met") if self.kpis else None

    @property
    def kpis_known(self) -> int | None:
        return sum(1 for _, s in self.kpis if s != "No data") if self.kpis else None


@dataclass(frozen=True)
class Forum:
    la_name: str
    year: FinancialYear
    q4_issued: bool
    lines: tuple[ForumLine, ...]
    la_pupils: Count
    la_placements: Count
    indicators: tuple[str, ...]
    data: Consolidation

    @property
    def period(self) -> str:
        return f"{self.year} (April {self.year.start_year} to March {self.year.start_year + 1})"

    def total(self, get: Any) -> Decimal | None:
        return sum_known(get(ln.q4) for ln in self.lines if ln.q4 is not None)


def _annual_line(a: AnnualOverview | None, partnership: str) -> tuple[str, tuple[tuple[str, str], ...], Count,
                                                                     int | None, Count, Decimal | None]:
    if a is None:
        return "no accepted annual report", (), None, None, None, None
    ln = a.line(partnership)
    v = ln.values
    if v is None:
        return ln.label, (), None, None, None, None
    kpis = tuple((label, kpi_status(a.grid_value(v, KPI, key, "target"), a.grid_value(v, KPI, key, "actual"),
                                    kpi_better(a.spec, key))) for key, label in a.rows(KPI))
    closing = a.value(v, "closing_balance")
    return (ln.label, kpis, a.pupils(partnership), count_or_zero(a.value(v, "schools_supported_count")),
            a.placements(partnership), closing if isinstance(closing, Decimal) else None)


def load_forum(ws: Workspace, fy: FinancialYear) -> Forum:
    """The year's official Q4 returns and annual reports. Q4 not issued yet: the money
    columns are blank and say so; the KPIs and pupils still come from the annual reports."""
    try:
        c = load(ws, fy, 4, annual=True)
        q4_issued = True
    except UsageError:
        c = load(ws, fy, None, annual=True)  # no quarter issued at all: its own clear message
        q4_issued = False
    a = c.annual
    lines = []
    for prov in c.provisions:
        q4line = c.lines.get((prov.partnership, 4)) if q4_issued else None
        q4_label = q4line.label if q4line is not None else "Q4 NOT ISSUED"
        label, kpis, pupils, schools, placements, closing = _annual_line(a, prov.partnership)
        lines.append(ForumLine(prov.partnership, prov.host_school, q4_label,
                               q4line.figures if q4line is not None else None, label, kpis, pupils, schools,
                               placements, closing))
    indicators = tuple(label for _, label in a.rows(KPI)) if a is not None else ()
    return Forum(c.la_name, fy, q4_issued, tuple(lines), a.la_pupils() if a else None,
                 a.la_placements() if a else None, indicators, c)


def file_name(fy: FinancialYear) -> str:
    return safe_file_name(f"PBP Schools Forum report {fy}") + ".xlsx"


COLS = [Col("Partnership", "text", 14), Col("Host school", "text", 24), Col("Q4 return", "text", 18),
        Col("DSG allocation", "money", 14), Col("Spend for the year (Q1–Q4)", "money", 14),
        Col("Year-end balance", "money", 14), Col("Balance % of allocation", "pct", 10),
        Col("Financial status", "text", 20), Col("Annual report", "text", 18), Col("KPI targets met", "int", 9),
        Col("KPIs with a target and a result", "int", 10), Col("Pupils supported", "int", 9),
        Col("Schools supported", "int", 9), Col("Pupils placed outside key stage", "int", 10),
        Col("Note", "text", 40)]
FIRST = 6  # 0-based row of the first partnership


def write_forum_report(f: Forum, path: Path) -> Path:
    def build(tmp: Path) -> None:
        book = Book(tmp, Printing(f"PBP Schools Forum report {f.year}", f"financial year {f.period}",
                                  f"{f.la_name} – Primary Behaviour Provisions: annual report to Schools Forum"))
        book.wb.set_properties({"title": f"PBP Schools Forum report {f.year}", "author": f.la_name,
                                "company": f.la_name})
        ws = book.wb.add_worksheet(SHEET)
        _write(book, ws, f)
        book.close()

    return write_atomic(path, build)


def _write(book: Book, ws: Any, f: Forum) -> None:
    ws.hide_gridlines(2)
    n = len(f.lines)
    n_q4 = sum(1 for ln in f.lines if ln.q4 is not None)
    n_annual = sum(1 for ln in f.lines if ln.kpis)
    ws.write_string(0, 0, f"Primary Behaviour Provisions: spend and impact, {f.period}",
                    book.fmt(bold=True, font_size=16))
    ws.write_string(1, 0, f"Annual monitoring report to Schools Forum by {f.la_name} (toolkit section 1), made on "
                          f"{f.data.generated_at:%d %B %Y}.", book.fmt(font_size=11))
    q4_text = (f"{n_q4} of {n} partnerships have an accepted Q4 return" if f.q4_issued else
               f"Q4 returns for {f.year} have not been issued yet, so there are no year-end money figures")
    ws.write_string(2, 0, f"Money: the official (latest accepted) Q4 return of each partnership, recalculated from its "
                          f"figures: {q4_text}. KPIs and pupils: the official annual report ({n_annual} of {n}). A "
                          "partnership without one is shown with blanks and the reason, never as zero.",
                    book.fmt(italic=True, font_color="#595959"))
    ws.write_string(3, 0, "Published report: small numbers of pupils are suppressed. " + suppression.LEGEND,
                    book.fmt(italic=True, font_color="#595959"))
    put_header(book, ws, FIRST - 1, COLS)
    for i, ln in enumerate(f.lines):
        r = FIRST + i
        q = ln.q4
        put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
        put(book, ws, r, 1, "text", ln.host_school)
        put(book, ws, r, 2, "text", ln.q4_label, **({} if q else {"bold": True, "font_color": "#9C0006"}))
        for j, v in ((3, q.allocation if q else None), (4, q.to_date if q else None),
                     (5, q.forecast_balance if q else None)):
            put(book, ws, r, j, "money", v)
        put(book, ws, r, 6, "pct", q.balance_pct if q else None)
        put(book, ws, r, 7, "text", q.rag_label if q else None)
        put(book, ws, r, 8, "text", ln.annual_label, **({} if ln.kpis else {"bold": True, "font_color": "#9C0006"}))
        put(book, ws, r, 9, "int", ln.kpis_met)
        put(book, ws, r, 10, "int", ln.kpis_known)
        put_count(book, ws, r, 11, ln.pupils)
        put(book, ws, r, 12, "int", ln.schools)
        put_count(book, ws, r, 13, ln.placements)
        note = ""
        if q is not None and ln.annual_balance is not None and q.forecast_balance is not None \
                and ln.annual_balance != q.forecast_balance:
            note = (f"The annual report gives the year-end balance as £{ln.annual_balance:,.2f} "
                    f"(£{ln.annual_balance - q.forecast_balance:+,.2f} against the Q4 return).")
        put(book, ws, r, 14, "text", note)
        height = wrapped_height(note, COLS[14].width)
        if height:
            ws.set_row(r, height)
    last = FIRST + n - 1
    tot = last + 1
    bold_money = book.fmt(num_format=MONEY_FMT, bold=True, top=1)
    put_text(ws, tot, 0, "LA total", book.fmt(bold=True, top=1))
    for j in range(1, len(COLS)):
        ws.write_blank(tot, j, None, book.fmt(top=1))
    for j, get in ((3, lambda x: x.allocation), (4, lambda x: x.to_date), (5, lambda x: x.forecast_balance)):
        v = f.total(get)
        if v is not None:
            put_formula(ws, tot, j, f"=SUM({cell(FIRST, j)}:{cell(last, j)})", bold_money, v)
    la_pct = ratio(f.total(lambda x: x.forecast_balance), f.total(lambda x: x.allocation))
    put_num(ws, tot, 6, la_pct, book.fmt(num_format=PCT_FMT, bold=True, top=1))
    for j, vals in ((9, [ln.kpis_met for ln in f.lines]), (10, [ln.kpis_known for ln in f.lines]),
                    (12, [ln.schools for ln in f.lines])):
        known = [v for v in vals if v is not None]
        if known:
            put_formula(ws, tot, j, f"=SUM({cell(FIRST, j)}:{cell(last, j)})", book.fmt(num_format="0", bold=True,
                                                                                       top=1), sum(known))
    put_count(book, ws, tot, 11, f.la_pupils if n_annual else None, bold=True, top=1)
    put_count(book, ws, tot, 13, f.la_placements if n_annual else None, bold=True, top=1)
    for word, (bg, fg) in RAG_FILLS.items():
        ws.conditional_format(FIRST, 7, last, 7, {"type": "text", "criteria": "begins with", "value": word,
                                                  "format": book.wb.add_format({"bg_color": bg, "font_color": fg})})
    r = tot + 2
    r = _kpi_grid(book, ws, f, r)
    _charts(book, ws, f, r + 1)


def _kpi_grid(book: Book, ws: Any, f: Forum, r: int) -> int:
    ws.write_string(r, 0, "Impact: key performance indicators against each partnership's targets",
                    book.fmt(bold=True, font_size=12, font_color="#1F4E78"))
    r += 1
    if not f.indicators:
        ws.write_string(r, 0, f"No accepted annual report for {f.year} yet: the KPIs appear here once one is accepted.",
                        book.fmt(italic=True))
        return r + 1
    hdr = book.fmt(bold=True, bg_color="#D9E1F2", border=1, text_wrap=True, align="center")
    ws.merge_range(r, 0, r, 1, "Indicator", hdr)
    for j, ln in enumerate(f.lines, start=2):
        ws.write_string(r, j, ln.partnership, hdr)
    ws.write_string(r, 2 + len(f.lines), "Met by", hdr)
    r += 1
    first = r
    for i, indicator in enumerate(f.indicators):
        ws.merge_range(r, 0, r, 1, indicator, book.fmt(border=1, text_wrap=True))
        met = known = 0
        for j, ln in enumerate(f.lines, start=2):
            word = ln.kpis[i][1] if ln.kpis else "No data"
            ws.write_string(r, j, word, book.fmt(border=1, align="center"))
            met += word == "Met"
            known += word != "No data"
        ws.write_string(r, 2 + len(f.lines), f"{met} of {known}", book.fmt(border=1, align="center", bold=True))
        r += 1
    for word, (bg, fg) in KPI_FILLS.items():
        ws.conditional_format(first, 2, r - 1, 1 + len(f.lines), {
            "type": "cell", "criteria": "equal to", "value": f'"{word}"',
            "format": book.wb.add_format({"bg_color": bg, "font_color": fg, "bold": True})})
    ws.write_string(r, 0, "Met: the result reached the partnership's own target (higher is better for attendance, "
                          "reintegration and self-esteem; lower for incidents, length of stay and exclusions). "
                          "No data: no accepted annual report.", book.fmt(italic=True, font_color="#595959"))
    return r + 1


def _charts(book: Book, ws: Any, f: Forum, r: int) -> None:
    last = FIRST + len(f.lines) - 1
    cats = [SHEET, FIRST, 0, last, 0]
    ch = book.wb.add_chart({"type": "column"})
    for col, colour in ((3, "#9DC3E6"), (4, "#1F4E78")):
        ch.add_series({"name": [SHEET, FIRST - 1, col], "categories": cats, "values": [SHEET, FIRST, col, last, col],
                       "fill": {"color": colour}})
    ch.set_title({"name": "DSG allocation and spend for the year", "name_font": {"size": 12}})
    ch.set_y_axis({"num_format": "£#,##0", "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    ch.set_legend({"position": "bottom"})
    ch.set_size({"width": 620, "height": 320})
    ws.insert_chart(r, 0, ch)
    ch2 = book.wb.add_chart({"type": "column"})
    ch2.add_series({"name": [SHEET, FIRST - 1, 5], "categories": cats, "values": [SHEET, FIRST, 5, last, 5],
                    "fill": {"color": "#548235"}, "invert_if_negative": True,
                    "data_labels": {"value": True, "num_format": "£#,##0"}})
    ch2.set_title({"name": "Year-end balance", "name_font": {"size": 12}})
    ch2.set_y_axis({"num_format": "£#,##0"})
    ch2.set_legend({"none": True})
    ch2.set_size({"width": 480, "height": 320})
    ws.insert_chart(r, 6, ch2)
    ch3 = book.wb.add_chart({"type": "bar"})
    for col, colour in ((10, "#D9D9D9"), (9, "#2E75B6")):
        ch3.add_series({"name": [SHEET, FIRST - 1, col], "categories": cats, "values": [SHEET, FIRST, col, last, col],
                        "fill": {"color": colour}})
    ch3.set_title({"name": "KPI targets met", "name_font": {"size": 12}})
    ch3.set_x_axis({"min": 0, "major_unit": 1})
    ch3.set_y_axis({"reverse": True})
    ch3.set_legend({"position": "bottom"})
    ch3.set_size({"width": 520, "height": 320})
    ws.insert_chart(r, 11, ch3)


__all__ = ["Forum", "ForumLine", "file_name", "load_forum", "write_forum_report"]
