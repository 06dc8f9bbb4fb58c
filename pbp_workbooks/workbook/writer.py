"""The writer: one locked, pre-filled workbook from a spec, an identity and values.

Everything placed on the sheets comes from the spec (fields, labels, layout) and the
rule file (Checks). Formulas carry cached values computed in Python (calc.compute),
so viewers that never recalculate still show the truth. Used for issued workbooks
and, with findings, for feedback workbooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from pbp_workbooks import __version__
from pbp_workbooks.base.filenames import write_atomic
from pbp_workbooks.base.periods import QUARTER_MONTHS, FinancialYear, fill_period
from pbp_workbooks.base.printing import Page, Printing, print_setup
from pbp_workbooks.spec import calc, expr, rules
from pbp_workbooks.spec.model import CHART_ROWS, Field, Spec, quote_sheet
from pbp_workbooks.workbook.xlsxwriter_internals import Hole, LockedWorkbook

INPUT_FILL = "#FFF2CC"
PREFILL_FILL = "#EDEDED"
CLOSED_FILL = "#BFBFBF"
SECTION_FILL = "#1F4E78"
HEADER_FILL = "#D9E1F2"
PROBLEM_FILL = "#F4B6B6"
WARNING_FILL = "#FFD966"

NUM_FORMATS = {
    "money": "£#,##0.00",
    "signed_money": "£#,##0.00;[Red]-£#,##0.00",
    "integer": "0",
    "number": "General",
    "percent": "0.0%",
    "date": "dd/mm/yyyy",
    "text": "@",
    "email": "@",
}

META_KEYS = ("template_id", "template_version", "kind", "financial_year", "quarter", "partnership",
             "host_school", "urn", "provision", "issue_token", "generated_at", "generator")
META_SHEET = "_meta"
CHECKS_SHEET = "Checks"
INSTRUCTIONS_SHEET = "Instructions"
ISSUES_SHEET = "Issues"
INSTRUCTIONS_WIDTH = 100  # characters: well inside a landscape A4 page, so no viewer has to scale it
HEADER_LIMIT = 255  # characters (UTF-16 units) Excel allows in a page header
CHECK_FIRST_ROW = 6  # 0-based row of the first check line
STATUS_NAME = "checks_status"
_FORMULA_CACHE: dict[tuple[Any, ...], str] = {}
_VALIDATION_CACHE: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}


@dataclass(frozen=True)
class Identity:
    """Whose return a workbook is. Written to _meta and checked on return."""

    template_id: str
    template_version: str
    kind: str
    financial_year: str
    quarter: int | None
    partnership: str
    host_school: str
    urn: str
    provision: str
    issue_token: str

    def period_label(self) -> str:
        return f"{self.financial_year} Q{self.quarter}" if self.quarter else self.financial_year


@dataclass(frozen=True)
class Mark:
    """A finding to show on a feedback workbook."""

    field: str | None
    code: str
    severity: str
    message: str
    also: tuple[str, ...] = ()  # other cells that caused it, marked the same way


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        self.cache: dict[tuple[tuple[str, Any], ...], Any] = {}

    def __call__(self, **props: Any) -> Any:
        key = tuple(sorted(props.items()))
        if key not in self.cache:
            self.cache[key] = self.wb.add_format({"font_name": "Arial", "font_size": 10, "valign": "vcenter",
                                                  **props})
        return self.cache[key]


def _excel_value(f: Field, v: Any) -> Any:
    if isinstance(v, calc.CalcError):
        return v.code
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return float(v)  # serialisation of an exact value, not arithmetic
    if isinstance(v, bool):
        return "Yes" if v else "No"
    return v


def _input_message(f: Field, fy: FinancialYear, quarter: int | None) -> tuple[str, str]:
    what = {
        "money": "Enter an amount in pounds and pence, e.g. 1250.00.",
        "signed_money": "Enter an amount in pounds and pence; a negative number for a deficit.",
        "integer": "Enter a whole number.",
        "percent": "Enter a percentage, e.g. 40%.",
        "number": f"Enter a number from {f.min:,} to {f.max:,}." if f.type == "number" else "",
        "text": f"Type up to {f.max_length} characters.",
        "email": "Enter an email address, e.g. name@school.sch.uk.",
        "date": "Enter a date as dd/mm/yyyy.",
        "choice": "Choose from the list.",
        "yesno": "Choose Yes or No.",
    }[f.type]
    if f.type == "date" and f.window:
        lo, hi = fy.window(f.window, quarter)
        if f.window != "any":
            what = f"Enter a date between {lo:%d/%m/%Y} and {hi:%d/%m/%Y}."
    text = " ".join(p for p in (f.help, what, "Required." if f.required else "") if p)
    # A grid cell's row is labelled on the left; titling by column lets a column's cells
    # share one data validation (far smaller files, faster to write).
    label = f.column_label or f.label
    title = label if len(label) <= 32 else label[:31] + "…"
    return title, text[:255]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def header_escape(text: str) -> str:
    return text.replace("&", "&&")  # header codes start with '&'


def _row_height(text: str, style: Mapping[str, Any]) -> int:
    """Row heights are not computed by the file format: size an Instructions line for its wrapped text."""
    wraps = max(1, -(-len(text) // int(INSTRUCTIONS_WIDTH * 1.1)))
    return 20 if style.get("font_size") else 14 * wraps + 2


def render_formula(spec: Spec, formula: expr.Expr, sheet: str, params: Mapping[str, Any] | None = None) -> str:
    """The Excel formula (with '=') for an expression placed on ``sheet``."""

    def ref(name: str) -> str:
        if name in spec.by_name:
            f = spec[name]
            cell = xl_rowcol_to_cell(f.row, f.col)
            return cell if f.sheet == sheet else f"{quote_sheet(f.sheet)}!{cell}"
        if params is not None and name in params:
            return str(params[name])
        raise KeyError(name)

    def typed_by_hand(name: str) -> bool:
        return name in spec.by_name and spec[name].formula is None

    return "=" + expr.to_excel(formula, ref, typed_by_hand)


class WorkbookWriter:
    def __init__(self, spec: Spec, identity: Identity, *, password: str, params: Mapping[str, Any],
                 la_name: str, contact: str, due: date | None, generated_at: datetime) -> None:
        self.spec = spec
        self.identity = identity
        self.password = password
        self.params = dict(params)
        self.la_name = la_name
        self.contact = contact
        self.due = due
        self.generated_at = generated_at
        self.fy = FinancialYear.parse(identity.financial_year)
        self.quarter = identity.quarter
        self._prototype = False
        self.holes: list[Hole] = []
        self._lock: frozenset[str] = frozenset()  # inputs written locked: rows carried over (history.carried_rows)

    # ------------------------------------------------------------------ public

    def write(self, path: Path, inputs: Mapping[str, Any], marks: Sequence[Mark] = (),
              lock: frozenset[str] = frozenset()) -> None:
        """Write atomically: a temporary file in the same folder, then rename. ``lock``: inputs
        written locked and grey, as pre-filled (the year's items carried over)."""
        self._lock = lock
        try:
            write_atomic(path, lambda tmp: self._build(tmp, inputs, marks))
        finally:
            self._lock = frozenset()

    def prototype(self) -> bytes:
        """The workbook with no values: every value cell (inputs, formulas, checks) is a
        hole, listed in ``self.holes`` and marked in the sheet XML. See stamp.py."""
        self._prototype = True
        self.holes = []
        buf = BytesIO()
        try:
            self._build(buf, {}, ())
        finally:
            self._prototype = False
        return buf.getvalue()

    def layout(self) -> tuple[Any, ...]:
        """What of the layout depends on the identity: the row heights of the Instructions
        lines and whether a sheet's header had to be shortened."""
        heights = tuple(_row_height(text, style) for text, style in self._instruction_lines(0))
        headers = tuple(self._header(t) == self._header(t, shorten=False)
                        for t in (INSTRUCTIONS_SHEET, self.spec.sheet, CHECKS_SHEET))
        return heights, headers

    def cell_value(self, f: Field, values: Mapping[str, Any]) -> Any:
        """What a field's cell shows: a formula's cached result, an input's value, or
        nothing for an input of a quarter that is not open yet."""
        value = values.get(f.name)
        if f.role == "formula" or f.is_open(self.quarter) or f.role == "prefilled":
            return _excel_value(f, value)
        return ""

    def check_results(self, values: Mapping[str, Any], check_list: Sequence[calc.Check]) -> tuple[list[Any], str]:
        """Each check's cached result ("Fix"/"Look"/"OK" or an error) and the status line,
        as the formulas say: every error check that is not "OK" is a problem."""
        outcomes = [calc.check_result(ch, values, self.params) for ch in check_list]
        problems = sum(1 for ch, r in zip(check_list, outcomes, strict=True) if ch.severity == "error" and r != calc.OK)
        results = [r.code if isinstance(r, calc.CalcError) else r for r in outcomes]
        return results, calc.status_text(problems)

    # ------------------------------------------------------------------ build

    def _hole(self, ws: Worksheet, row: int, col: int, key: tuple[Any, ...]) -> bool:
        if self._prototype:
            holes = ws.pbp_holes  # type: ignore[attr-defined]
            holes[(row, col)] = key
        return self._prototype

    def _build(self, target: Path | BytesIO, inputs: Mapping[str, Any], marks: Sequence[Mark]) -> None:
        spec = self.spec
        values = calc.compute(spec, inputs)
        wb = LockedWorkbook(target if isinstance(target, BytesIO) else str(target),
                       {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                        "strings_to_urls": False})
        wb.structure_password = self.password
        fmt = _Formats(wb)
        wb.set_properties({
            "title": f"{spec.short_title} {self.identity.period_label()} - {self.identity.partnership}",
            "subject": spec.title,
            "author": self.la_name,
            "company": self.la_name,
            "comments": f"Generated by pbp-workbooks {__version__}; template {spec.id} v{spec.version}",
            "created": self.generated_at.replace(tzinfo=None),
        })
        wb.set_calc_mode("auto")
        instructions = wb.add_worksheet(INSTRUCTIONS_SHEET)
        ret = wb.add_worksheet(spec.sheet)
        checks = wb.add_worksheet(CHECKS_SHEET)
        issues = wb.add_worksheet(ISSUES_SHEET) if marks else None
        meta = wb.add_worksheet(META_SHEET)
        if self._prototype:
            for sheet in wb.worksheets():
                sheet.pbp_holes = {}
                sheet.pbp_found = self.holes
        lists = self._write_meta(wb, meta, fmt)
        by_field: dict[str, list[Mark]] = {}
        for m in marks:
            for name in (m.field, *m.also) if m.field else ():
                by_field.setdefault(name, []).append(m)
        self._write_return(wb, ret, fmt, values, lists, by_field)
        check_list = calc.checks(spec, self.quarter, str(self.fy))
        self._write_checks(wb, checks, fmt, values, check_list)
        self._write_instructions(instructions, fmt, len(check_list))
        if issues is not None:
            self._write_issues(issues, fmt, marks)
            issues.activate()
        else:
            instructions.activate()
        wb.close()

    def _header(self, title: str, *, shorten: bool = True) -> str:
        """The page header: return and period, whose it is, the sheet. Excel allows 255
        characters, so a very long school name is shortened to fit."""
        ident = self.identity
        left = f"&L&B{header_escape(self.spec.short_title)} {header_escape(ident.period_label())}"
        right = f"&R{header_escape(title)}"
        centre = f"{ident.partnership} - {ident.host_school}"
        room = HEADER_LIMIT - _utf16_len(left + right + "&C")
        if shorten and _utf16_len(header_escape(centre)) > room:
            while centre and _utf16_len(header_escape(centre) + "…") > room:
                centre = centre[:-1]
            centre = centre.rstrip() + "…"
        return f"{left}&C{header_escape(centre)}{right}"

    def _print_setup(self, ws: Worksheet, last_row: int, last_col: int, title: str, titles: tuple[int, int],
                     portrait: bool = False) -> None:
        """printing.print_setup (A4, one page wide, ``titles`` rows repeated, a footer naming the
        return, period and page), then this return's own header (whose it is, the sheet)."""
        period = self.identity.period_label()  # the footer is the same for every provision (stamp.py)
        print_setup(ws, Printing(self.spec.short_title, period,
                                 note=f"Template {self.spec.id} v{self.spec.version}"), Page(titles, portrait))
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.print_area(0, 0, last_row, last_col)
        ws.set_header(self._header(title))

    def _protect(self, ws: Worksheet) -> None:
        ws.protect(self.password, {"select_locked_cells": True, "select_unlocked_cells": True,
                                   "format_columns": True, "format_rows": True})

    # ------------------------------------------------------------------ Return

    def _write_return(self, wb: xlsxwriter.Workbook, ws: Worksheet, fmt: _Formats, values: Mapping[str, Any],
                      lists: Mapping[str, str], marks: Mapping[str, list[Mark]]) -> None:
        spec = self.spec
        for i, w in enumerate(spec.widths):
            ws.set_column(i, i, w)
        ws.set_default_row(16)
        ident = self.identity
        total_width = sum(spec.widths)
        styles: dict[str, dict[str, Any]] = {
            "title": {"bold": True, "font_size": 14},
            "section": {"bold": True, "font_color": "#FFFFFF", "bg_color": SECTION_FILL},
            "help": {"italic": True, "font_color": "#404040", "text_wrap": True, "valign": "top"},
            "label": {"text_wrap": True},
            "header": {"bold": True, "text_wrap": True, "bg_color": HEADER_FILL, "border": 1, "align": "center"},
            "total_label": {"bold": True, "top": 1},
        }
        for t in spec.texts:
            f = fmt(**styles[t.style])
            # help lines may name the LA's thresholds ({large_item}) and the year's periods
            # ({financial_year}); locked labels may not, as the reader checks them against the spec
            text = fill_period(rules.fill_thresholds(t.text, self.params), self.fy) if t.style == "help" else t.text
            if t.span > 1:
                ws.merge_range(t.row, t.col, t.row, t.col + t.span - 1, text, f)
            else:
                ws.write_string(t.row, t.col, text, f)
            if t.style == "help":
                ws.set_row(t.row, 14 * max(1, -(-len(text) * 11 // (total_width * 10))))
            elif t.style == "header":
                ws.set_row(t.row, 40)
            elif t.style == "title":
                ws.set_row(t.row, 22)
        ws.write_string(1, 0, f"{ident.partnership} - {ident.host_school} (URN {ident.urn}) - "
                              f"{ident.financial_year} {self._quarter_text()}", fmt(bold=True))
        self._validations: dict[str, tuple[dict[str, Any], list[str]]] = {}
        for f in spec.fields:
            self._write_field(wb, ws, fmt, f, values.get(f.name), lists, marks.get(f.name, []))
        self._flush_validations(ws)
        ws.freeze_panes(4, 1)
        ws.hide_gridlines(2)
        charted = self._write_charts(wb, ws)
        self._print_setup(ws, spec.last_row + CHART_ROWS * charted, spec.last_col, spec.sheet, (0, 1),
                          spec.orientation == "portrait")
        ws.set_first_sheet()
        self._protect(ws)

    def _write_charts(self, wb: xlsxwriter.Workbook, ws: Worksheet) -> int:
        """Each grid's bar chart (``chart`` in the spec), below the sheet's last row: its labels and
        values are the grid's cells, so it follows what is typed. The number of charts."""
        charted = [s for s in self.spec.sections if s.chart is not None]
        sheet = self.spec.sheet
        for i, s in enumerate(charted):
            assert s.chart is not None
            title, labels, values = s.chart
            first, last = (self.spec[f"{s.key}_{r}_{values}"] for r in (s.row_keys[0], s.row_keys[-1]))
            label_col = self.spec[f"{s.key}_{s.row_keys[0]}_{labels}"].col
            ch = wb.add_chart({"type": "bar"})
            ch.add_series({"name": first.column_label or values,
                           "categories": [sheet, first.row, label_col, last.row, label_col],
                           "values": [sheet, first.row, first.col, last.row, first.col],
                           "fill": {"color": SECTION_FILL}})
            ch.set_title({"name": title, "name_font": {"size": 12}})
            ch.set_y_axis({"reverse": True, "num_font": {"size": 8}})
            ch.set_x_axis({"num_format": NUM_FORMATS.get(first.type, "General")})
            ch.set_legend({"none": True})
            ch.set_size({"width": 900, "height": 16 * (CHART_ROWS - 1)})
            ws.insert_chart(self.spec.last_row + 2 + i * CHART_ROWS, 0, ch, {"object_position": 3})
        return len(charted)

    def _quarter_text(self) -> str:
        q = self.quarter
        return f"Quarter {q} ({QUARTER_MONTHS[q]})" if q else self.spec.period_label

    def _write_field(self, wb: xlsxwriter.Workbook, ws: Worksheet, fmt: _Formats, f: Field, value: Any,
                     lists: Mapping[str, str], marks: list[Mark]) -> None:
        num = NUM_FORMATS.get(f.type)
        props: dict[str, Any] = {"border": 1, "border_color": "#A6A6A6"}
        if num:
            props["num_format"] = num
        if f.type in ("text", "email", "choice") or f.lines > 1:
            props["text_wrap"] = True
            props["valign"] = "top" if f.lines > 1 else "vcenter"
        role = "prefilled" if f.name in self._lock else f.role
        open_ = f.is_open(self.quarter)
        if role == "formula":
            props.update(bold=f.emphasis)
        elif role == "prefilled":
            props.update(bg_color=PREFILL_FILL)
        elif open_:
            props.update(bg_color=INPUT_FILL, locked=False)
        else:
            props.update(bg_color=CLOSED_FILL)
        if marks:
            worst = "error" if any(m.severity == "error" for m in marks) else "warning"
            props.update(bg_color=PROBLEM_FILL if worst == "error" else WARNING_FILL, border=2,
                         border_color="#C00000" if worst == "error" else "#BF8F00")
        cf = fmt(**props)
        r, c = f.row, f.col
        if f.lines > 1:
            ws.set_row(r, 16 * f.lines)
        if f.span > 1:
            ws.merge_range(r, c, r, c + f.span - 1, "", cf)
        if self._hole(ws, r, c, ("field", f.name)):
            value = None  # the prototype holds no values
        if role == "formula":
            assert f.formula is not None
            ws.write_formula(r, c, self._formula_text(f.name, f.formula, f.sheet), cf,
                             self.cell_value(f, {f.name: value}))
        else:
            self._write_value(ws, r, c, f, self.cell_value(f, {f.name: value}), cf)
        if f.flag_over:  # an overspend in red; an underspend is not a problem
            ref = xl_rowcol_to_cell(r, c)
            ws.conditional_format(r, c, r, c, {"type": "formula", "criteria": f"=AND(ISNUMBER({ref}),{ref}>0)",
                                               "format": fmt(font_color="#C00000", bold=True)})
        if open_:
            self._validation(ws, f, lists)
        if marks:
            text = "\n".join(f"{m.code} ({m.severity}): {m.message}" for m in marks)
            ws.write_comment(r, c, text, {"x_scale": 2.5, "y_scale": 1.5 + 0.5 * len(marks), "author": "LA check"})
        ws_name = quote_sheet(f.sheet)
        wb.define_name(f.name, f"={ws_name}!{xl_rowcol_to_cell(r, c, True, True)}")

    @staticmethod
    def _write_value(ws: Worksheet, r: int, c: int, f: Field, v: Any, cf: Any) -> None:
        if v == "" or v is None:
            ws.write_blank(r, c, None, cf)
        elif isinstance(v, datetime | date):
            ws.write_datetime(r, c, v if isinstance(v, datetime) else datetime(v.year, v.month, v.day), cf)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            ws.write_number(r, c, v, cf)
        else:
            ws.write_string(r, c, str(v), cf)

    def _formula_text(self, key: str, formula: expr.Expr, sheet: str) -> str:
        """Excel text of a formula, rendered once per spec, period and thresholds."""
        cache_key = (id(self.spec), self.quarter, tuple(sorted(self.params.items())), key, formula.source)
        text = _FORMULA_CACHE.get(cache_key)
        if text is None:
            text = _FORMULA_CACHE[cache_key] = render_formula(self.spec, formula, sheet, self.params)
        return text

    def _validation(self, ws: Worksheet, f: Field, lists: Mapping[str, str]) -> None:
        # a date's window may follow the quarter (window "period")
        key = (self.spec.id, self.spec.version, str(self.fy), self.quarter, f.name, lists.get(f.name))
        cached = _VALIDATION_CACHE.get(key)
        if cached is None:
            cached = _VALIDATION_CACHE[key] = self._validation_options(f, lists)
        self._validations.setdefault(cached[0], (cached[1], []))[1].append(f.cell)

    def _validation_options(self, f: Field, lists: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
        """A field's data validation and input message, and a key shared by fields with the same."""
        title, message = _input_message(f, self.fy, self.quarter)
        opts: dict[str, Any] = {"input_title": title, "input_message": message, "error_type": "stop",
                                "ignore_blank": True}
        cell = xl_rowcol_to_cell(f.row, f.col)
        if f.type in ("money", "signed_money"):
            assert f.min is not None and f.max is not None
            opts.update(validate="decimal", criteria="between", minimum=float(f.min), maximum=float(f.max),
                        error_title="Not an amount",
                        error_message=f"Enter an amount between {f.min:,} and {f.max:,} pounds, with no £ sign.")
        elif f.type == "number":
            assert f.min is not None and f.max is not None
            opts.update(validate="decimal", criteria="between", minimum=float(f.min), maximum=float(f.max),
                        error_title="Not a number in range",
                        error_message=f"Enter a number from {f.min:,} to {f.max:,}, without % signs or words.")
        elif f.type == "percent":
            assert f.min is not None and f.max is not None
            opts.update(validate="decimal", criteria="between", minimum=float(f.min), maximum=float(f.max),
                        error_title="Not a percentage in range",
                        error_message=f"Enter a percentage from {f.min:.0%} to {f.max:.0%}, e.g. 40%.")
        elif f.type == "integer":
            opts.update(validate="integer", criteria="between", minimum=int(f.min or 0),
                        maximum=int(f.max if f.max is not None else 100000), error_title="Not a whole number",
                        error_message=f"Enter a whole number from {int(f.min or 0)} to {int(f.max or 100000)}.")
        elif f.type == "date":
            lo, hi = self.fy.window(f.window or "year", self.quarter)
            opts.update(validate="date", criteria="between", minimum=datetime(lo.year, lo.month, lo.day),
                        maximum=datetime(hi.year, hi.month, hi.day), error_title="Date out of range",
                        error_message=f"Enter a date between {lo:%d/%m/%Y} and {hi:%d/%m/%Y}.")
        elif f.type in ("choice", "yesno"):
            assert f.choices is not None
            source: Any = lists.get(f.name) or list(f.choices)
            opts.update(validate="list", source=source, error_title="Choose from the list",
                        error_message="Pick one of the options in the drop-down list.")
        elif f.type == "email":
            opts.update(validate="custom",
                        value=f'=AND(LEN({cell})<=254,ISNUMBER(FIND("@",{cell})),'
                              f'ISNUMBER(FIND(".",{cell},FIND("@",{cell}))))',
                        error_title="Not an email address", error_message="Enter an email address like name@school.sch.uk.")
        else:
            opts.update(validate="length", criteria="<=", value=f.max_length or 500, error_title="Too long",
                        error_message=f"Keep this to {f.max_length} characters or fewer.")
        return repr(sorted(opts.items())), opts

    def _flush_validations(self, ws: Worksheet) -> None:
        """One data validation per distinct rule, over every cell that shares it."""
        for opts, cells in self._validations.values():
            first = cells[0]
            if len(cells) > 1:
                opts = {**opts, "multi_range": " ".join(cells)}
            ws.data_validation(first, opts)
        self._validations = {}

    # ------------------------------------------------------------------ Checks

    def _write_checks(self, wb: xlsxwriter.Workbook, ws: Worksheet, fmt: _Formats, values: Mapping[str, Any],
                      check_list: Sequence[calc.Check]) -> None:
        ws.set_column(0, 0, 70)
        ws.set_column(1, 1, 14)
        ws.set_column(2, 2, 12)
        ws.write_string(0, 0, "Checks", fmt(bold=True, font_size=14))
        ws.write_string(1, 0, "These checks update as you fill in the Return sheet. Fix every line that says "
                              "'Fix' before you send the return; the LA runs the same checks when it arrives. "
                              "'Look' lines are accepted, but the LA may ask about them.",
                        fmt(text_wrap=True, italic=True))
        ws.set_row(1, 30)
        ws.write_string(3, 0, "Status", fmt(bold=True, font_size=12))
        first, last = CHECK_FIRST_ROW, CHECK_FIRST_ROW + len(check_list) - 1
        n_errors = sum(1 for ch in check_list if ch.severity == "error")  # errors come first (calc.checks)
        rng = f"B{first + 1}:B{first + n_errors}"
        results, status = self.check_results(values, check_list)
        for i, ch in enumerate(check_list):
            r = first + i
            self._hole(ws, r, 1, ("check", i))
            ws.write_string(r, 0, ch.label, fmt(text_wrap=True, border=1, border_color="#A6A6A6"))
            body = self._formula_text(f"check:{i}", ch.when, CHECKS_SHEET)[1:]
            word = calc.FIX if ch.severity == "error" else calc.LOOK
            ws.write_formula(r, 1, f'=IF({body},"{word}","OK")', fmt(bold=True, align="center", border=1,
                                                                     border_color="#A6A6A6"), results[i])
            target = self.spec[ch.cells[0]]
            ws.write_url(r, 2, f"internal:{quote_sheet(target.sheet)}!{target.cell}",
                         fmt(font_color="#0563C1", underline=1, border=1, border_color="#A6A6A6"),
                         string=f"Go to {target.cell}", tip=f"{ch.code}")
        self._hole(ws, 3, 1, ("status",))
        # Every error check that is not "OK" is a problem, including one Excel cannot compute
        # (#VALUE!): the status never says "Ready to send" where the LA would reject.
        n = f'({n_errors}-COUNTIF({rng},"OK"))' if n_errors else "0"
        ws.write_formula(3, 1, f'=IF({n}=0,"Ready to send",IF({n}=1,"1 problem to fix",{n}&" problems to fix"))',
                         fmt(bold=True, font_size=12, border=2), status)
        wb.define_name(STATUS_NAME, f"={CHECKS_SHEET}!$B$4")
        ws.write_row(first - 1, 0, ["Check", "Result", "Where"], fmt(bold=True, bg_color=HEADER_FILL, border=1))
        ws.conditional_format(first, 1, last, 1, {"type": "cell", "criteria": "==", "value": '"Fix"',
                                                  "format": fmt(bg_color=PROBLEM_FILL, font_color="#9C0006")})
        ws.conditional_format(first, 1, last, 1, {"type": "cell", "criteria": "==", "value": '"Look"',
                                                  "format": fmt(bg_color=WARNING_FILL, font_color="#9C5700")})
        ws.conditional_format(first, 1, last, 1, {"type": "cell", "criteria": "==", "value": '"OK"',
                                                  "format": fmt(bg_color="#C6EFCE", font_color="#006100")})
        ws.freeze_panes(first, 0)
        self._print_setup(ws, last, 2, CHECKS_SHEET, (first - 1, first - 1))
        self._protect(ws)

    # ------------------------------------------------------------------ others

    def _write_instructions(self, ws: Worksheet, fmt: _Formats, n_checks: int) -> None:
        ws.set_column(0, 0, INSTRUCTIONS_WIDTH)
        lines = self._instruction_lines(n_checks)
        for i, (text, style) in enumerate(lines):
            ws.write_string(i, 0, text, fmt(text_wrap=True, valign="top", **style))
            ws.set_row(i, _row_height(text, style))
        ws.hide_gridlines(2)
        self._print_setup(ws, len(lines) - 1, 0, INSTRUCTIONS_SHEET, (0, 0))
        self._protect(ws)

    def _instruction_lines(self, n_checks: int) -> list[tuple[str, dict[str, Any]]]:
        spec, ident = self.spec, self.identity
        due = f"by {self.due:%A %d %B %Y}" if self.due else "by the date the LA has given you"
        th = self.params
        lines: list[tuple[str, dict[str, Any]]] = [
            (spec.title, {"bold": True, "font_size": 14}),
            (f"{ident.partnership} Neighbourhood Partnership - {ident.host_school} - {ident.provision}", {"bold": True}),
            (f"{ident.financial_year} {self._quarter_text()}. Return it to {spec.return_to} ({self.contact}) {due}.", {}),
            ("", {}),
            ("How to fill it in", {"bold": True}),
        ]
        steps = [step.format(**{k: f"{v:,}" for k, v in th.items()}, **self.fy.describe()) for step in spec.instructions]
        steps += [f"Look at the Checks sheet ({n_checks} checks): it must say 'Ready to send'.",
                  "Save it as an Excel Workbook (.xlsx) and email it back. Keep the file as it is: do not rename the "
                  "sheets, insert rows or remove the protection - the LA's system reads each cell by its name."]
        lines += [(f"{i}. {step}", {}) for i, step in enumerate(steps, start=1)]
        lines += [
            ("", {}),
            ("What is in the return", {"bold": True}),
        ]
        for s in spec.sections:
            helps = fill_period(rules.fill_thresholds(s.help, self.params), self.fy)
            lines.append((f"- {s.title}" + (f": {helps}" if s.help else ""), {}))
        lines += [("", {}), (f"Based on the {spec.toolkit}. Template {spec.id} version {spec.version}.",
                             {"italic": True, "font_color": "#595959"})]
        return lines

    def _write_meta(self, wb: xlsxwriter.Workbook, ws: Worksheet, fmt: _Formats) -> dict[str, str]:
        ident = self.identity
        values = {
            "template_id": self.spec.id, "template_version": self.spec.version, "kind": self.spec.kind,
            "financial_year": ident.financial_year, "quarter": str(ident.quarter or ""),
            "partnership": ident.partnership, "host_school": ident.host_school, "urn": ident.urn,
            "provision": ident.provision, "issue_token": ident.issue_token,
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "generator": f"pbp-workbooks {__version__}",
        }
        ws.write_row(0, 0, ["key", "value"])
        for i, k in enumerate(META_KEYS, start=1):
            ws.write_string(i, 0, k)
            ws.write_string(i, 1, values[k])
            wb.define_name(f"pbp_meta_{k}", f"={META_SHEET}!$B${i + 1}")
        lists: dict[str, str] = {}
        col = 3
        for f in self.spec.fields:
            if f.choices and sum(len(c) + 1 for c in f.choices) > 200 and f.is_input:
                key = tuple(f.choices)
                existing = next((v for k, v in lists.items() if tuple(self.spec[k].choices or ()) == key), None)
                if existing:
                    lists[f.name] = existing
                    continue
                for j, choice in enumerate(f.choices):
                    ws.write_string(j, col, choice)
                letter = xl_rowcol_to_cell(0, col, True, True).rstrip("1")
                lists[f.name] = f"={META_SHEET}!{letter}1:{letter}{len(f.choices)}"
                col += 1
        ws.very_hidden()
        self._protect(ws)
        return lists

    def _write_issues(self, ws: Worksheet, fmt: _Formats, marks: Sequence[Mark]) -> None:
        ws.set_column(0, 0, 10)
        ws.set_column(1, 1, 10)
        ws.set_column(2, 2, 12)
        ws.set_column(3, 3, 100)
        ws.write_string(0, 0, "Problems found in the return you sent", fmt(bold=True, font_size=14))
        errors = sum(m.severity == "error" for m in marks)
        ws.write_string(1, 0, (f"{errors} must be fixed before the LA can accept the return; " if errors else
                               "The LA accepted the return; ") + f"{len(marks) - errors} are for you to look at. "
                        "The cells are marked in red (must fix) or amber (please look) on the Return sheet, "
                        "with a note. Fix them in this workbook and send it back.", fmt(text_wrap=True, italic=True))
        ws.set_row(1, 30)
        ws.write_row(3, 0, ["Code", "Severity", "Cell", "What to do"], fmt(bold=True, bg_color=HEADER_FILL, border=1))
        for i, m in enumerate(marks, start=4):
            ws.write_string(i, 0, m.code, fmt(border=1))
            ws.write_string(i, 1, m.severity, fmt(border=1, bold=m.severity == "error"))
            if m.field and m.field in self.spec.by_name:
                f = self.spec[m.field]
                ws.write_url(i, 2, f"internal:{quote_sheet(f.sheet)}!{f.cell}",
                             fmt(font_color="#0563C1", underline=1, border=1), string=f.cell)
            else:
                ws.write_string(i, 2, "", fmt(border=1))
            ws.write_string(i, 3, m.message, fmt(text_wrap=True, border=1))
        self._print_setup(ws, 3 + len(marks), 3, ISSUES_SHEET, (3, 3))
        self._protect(ws)
