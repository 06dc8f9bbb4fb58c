"""roster.xlsx: the LA's provisions, allocations, due dates and member schools.

LA staff maintain it in Excel, so it is read by column heading (columns may be moved)
and every mistake is reported with its sheet and cell. ``SHEETS`` is the one
definition of its layout: ``pbp init`` writes it (with an Instructions sheet made from
it), ``check`` reads it and lists every problem (``pbp roster check``), and ``load``,
which every other command uses, stops on the first with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base.addresses import EMAIL
from pbp_workbooks.base.errors import ConfigError, UsageError
from pbp_workbooks.base.money import format_gbp, parse_text_number, to_decimal
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.printing import Page, Printing, print_setup


@dataclass(frozen=True)
class Column:
    heading: str  # row 1 of the sheet, exactly (capitals do not matter)
    key: str
    kind: str  # text | email | urn | year | period | date | money | count | key_stages
    required: bool
    help: str  # what to enter, for the Instructions sheet
    may_be_absent: bool = False  # a column added in a later release: a roster without it is read as all blank


@dataclass(frozen=True)
class SheetDef:
    name: str
    purpose: str
    columns: tuple[Column, ...]


KIND_HELP = {
    "text": "",
    "urn": "six digits",
    "year": "a financial year, like 2025-26",
    "period": "Q1, Q2, Q3, Q4 or Annual",
    "date": "a date, like 30/10/2025",
    "money": "pounds and pence, like 412500.00",
    "count": "a whole number (0 or more)",
    "email": "an email address, like bursar@school.sch.uk",
    "key_stages": "a key stage or a range of them: EYFS, KS1, KS2, like EYFS-KS2 or KS2",
}

KEY_STAGES = ("EYFS", "KS1", "KS2")  # the primary phase, youngest first

_PARTNERSHIP = "The Neighbourhood Partnership, spelt as on the Provisions sheet (capitals do not matter)."
_YEAR_HELP = "The financial year (1 April to 31 March)."

SHEETS: tuple[SheetDef, ...] = (
    SheetDef("Provisions", "One row per Neighbourhood Partnership: its Primary Behaviour Provision and the host school "
             "that runs it. Each quarter, one workbook is issued per row.", (
                 Column("Partnership", "partnership", "text", True,
                        "The partnership's name, e.g. North. Each partnership once; the other sheets use this name."),
                 Column("Host school", "host_school", "text", True,
                        "The school that runs the provision and sends the returns."),
                 Column("Host school URN", "urn", "urn", True,
                        "The host school's Unique Reference Number. Format the column as Text so Excel keeps any "
                        "leading zero. Each URN once."),
                 Column("Provision name", "provision", "text", True, "The provision's name, as printed on its workbooks."),
                 Column("Finance contact email", "contact_email", "email", False,
                        "Who fills in the returns at the host school: reminders (pbp chase) are addressed to it."),
                 Column("SLA start date", "sla_start", "date", False,
                        "When the partnership's Service Level Agreement with the host school started (toolkit "
                        "section 2).", may_be_absent=True),
                 Column("SLA last reviewed", "sla_reviewed", "date", False,
                        "When the partnership last reviewed its SLA (toolkit section 2: 'reviewed on a regular "
                        "basis'). pbp status lists the SLA reviews that are due.", may_be_absent=True),
                 Column("Key stages served", "key_stages", "key_stages", False,
                        "The key stages the provision is for. A return reporting pupils placed outside them, with no "
                        "placement outside key stage recorded, gets a warning. Blank: not checked.", may_be_absent=True),
             )),
    SheetDef("Allocations", "The DSG behaviour allocation of each partnership for each financial year: one row per "
             "partnership and year. A year's workbooks can be issued once every partnership has its row.", (
                 Column("Partnership", "partnership", "text", True, _PARTNERSHIP),
                 Column("Financial year", "year", "year", True, _YEAR_HELP),
                 Column("DSG allocation", "allocation", "money", True,
                        "The year's allocation; not negative. It is pre-filled, locked, in that year's workbooks."),
             )),
    SheetDef("Due dates", "When each return is due: one row per financial year and return. A return with no row "
             "has no due date, and is never shown as late.", (
                 Column("Financial year", "year", "year", True, _YEAR_HELP),
                 Column("Return", "period", "period", True, "Which return: a quarter or the annual report."),
                 Column("Due date", "due", "date", True,
                        "Printed on the workbooks; pbp status shows a return as late after this date."),
             )),
    SheetDef("Member schools", "The primary schools of each partnership, for modelling how a surplus is shared: one "
             "row per school. Optional: a partnership may have none listed.", (
                 Column("Partnership", "partnership", "text", True, _PARTNERSHIP),
                 Column("School", "school", "text", True, "The member school's name."),
                 Column("URN", "urn", "urn", True, "The member school's Unique Reference Number. Each URN once."),
                 Column("Pupil roll", "roll", "count", True, "Pupils on roll."),
                 Column("FSM pupils", "fsm", "count", False, "Pupils eligible for free school meals."),
                 Column("PP pupils", "pp", "count", False, "Pupils attracting the pupil premium."),
                 Column("SEND pupils", "send", "count", False, "Pupils with special educational needs."),
                 Column("Deprivation index (IDACI decile)", "idaci_decile", "count", False, "1 (most deprived) to 10."),
             )),
)

INSTRUCTIONS_SHEET = "Instructions"

HOW_TO: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Add a partnership", (
        "1. Provisions: a row with the partnership, its host school, the host school's URN and the provision name.",
        "2. Allocations: a row for the partnership for each financial year you will issue workbooks for.",
        "3. Member schools (optional): a row for each of its member schools.",
        "Then run pbp roster check. Running pbp generate again for a period already issued issues the new "
        "partnership's workbook and leaves the others as they were.",
    )),
    ("Add a school to a partnership", (
        "Member schools: a row with the partnership's name, the school, its URN and its pupil roll.",
    )),
    ("Add a financial year", (
        "1. Allocations: a row for every partnership for the new year.",
        "2. Due dates: a row for each of Q1, Q2, Q3, Q4 and Annual of the new year.",
    )),
)

PERIODS = ("Q1", "Q2", "Q3", "Q4", "Annual")


@dataclass(frozen=True)
class Provision:
    partnership: str
    host_school: str
    urn: str
    provision: str
    contact_email: str | None = None
    sla_start: date | None = None
    sla_reviewed: date | None = None
    key_stages: tuple[str, ...] | None = None  # e.g. ("KS1", "KS2"); None: not recorded


@dataclass
class Roster:
    provisions: list[Provision]
    allocations: dict[tuple[str, str], Decimal]
    due_dates: dict[tuple[str, str], date]
    members: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None

    def provision(self, partnership: str) -> Provision | None:
        for p in self.provisions:
            if p.partnership.casefold() == partnership.casefold():
                return p
        return None

    def allocation(self, partnership: str, year: FinancialYear) -> Decimal:
        try:
            return self.allocations[(partnership, str(year))]
        except KeyError:
            raise ConfigError(
                f"roster.xlsx, sheet Allocations: there is no DSG allocation for {partnership} in {year}; "
                "add a row for it"
            ) from None

    def due(self, year: FinancialYear, period: str) -> date | None:
        return self.due_dates.get((str(year), period))


def parse_key_stages(text: str) -> tuple[str, ...] | None:
    """'EYFS-KS2' -> ('EYFS', 'KS1', 'KS2'); 'KS2' -> ('KS2',); 'EYFS, KS1' -> both; None if
    it is not key stages (spaces, capitals and 'to' for the dash do not matter)."""
    s = re.sub(r"\s+", "", text.upper().replace("–", "-").replace("—", "-")).replace("TO", "-")
    stages: list[str] = []
    for part in filter(None, s.replace(";", ",").split(",")):
        ends = part.split("-")
        if len(ends) > 2 or any(e not in KEY_STAGES for e in ends):
            return None
        lo, hi = KEY_STAGES.index(ends[0]), KEY_STAGES.index(ends[-1])
        if lo > hi:
            return None
        stages += [k for k in KEY_STAGES[lo:hi + 1] if k not in stages]
    return tuple(k for k in KEY_STAGES if k in stages) or None


def key_stage_text(stages: tuple[str, ...] | None) -> str | None:
    """('EYFS', 'KS1', 'KS2') -> 'EYFS-KS2'; ('KS2',) -> 'KS2'; a gap is listed: 'EYFS, KS2'."""
    if not stages:
        return None
    idx = [KEY_STAGES.index(k) for k in stages]
    if idx == list(range(idx[0], idx[-1] + 1)):
        return stages[0] if len(stages) == 1 else f"{stages[0]}-{stages[-1]}"
    return ", ".join(stages)


# ----------------------------------------------------------------------- sample LA

SAMPLE_PROVISIONS = [
    Provision("North", "Northfield Primary School", "990101", "The Harbour (North PBP)", "bursar@northfield.example.sch.uk",
              date(2023, 9, 1), date(2026, 7, 10), ("EYFS", "KS1", "KS2")),
    Provision("East", "Eastgate Community Primary", "990202", "Rainbow Room (East PBP)", "finance@eastgate.example.sch.uk",
              date(2023, 9, 1), date(2024, 6, 20), ("KS1", "KS2")),
    Provision("South", "Southmead C of E Primary", "990303", "The Lighthouse (South PBP)", "sbm@southmead.example.sch.uk",
              date(2024, 4, 1), None, ("KS2",)),
    Provision("West", "Westbrook Junior School", "990404", "Oak Tree Base (West PBP)", "office@westbrook.example.sch.uk",
              date(2023, 9, 1), date(2026, 10, 2), ("KS2",)),
    Provision("Central", "St Anne's Catholic Primary", "990505", "The Nest (Central PBP)", "finance@stannes.example.sch.uk",
              None, None, ("EYFS", "KS1", "KS2")),
]
SAMPLE_ALLOCATIONS = {
    "North": ("398500.00", "412500.00", "420750.00"),
    "East": ("351200.00", "364800.00", "372100.00"),
    "South": ("420000.00", "436900.00", "445600.00"),
    "West": ("305750.00", "318250.00", "324600.00"),
    "Central": ("466300.00", "482150.00", "491800.00"),
}
SAMPLE_YEARS = ("2024-25", "2025-26", "2026-27")
ROSTER_PRINTING = Printing("roster.xlsx", f"financial years {SAMPLE_YEARS[0]} to {SAMPLE_YEARS[-1]}",
                           "PBP roster: provisions, allocations, due dates, member schools")
_MEMBER_NAMES = ["Ashdown", "Birchwood", "Cedar Park", "Dovecote", "Elmhurst", "Foxley", "Greenacre"]


def sample_rows(due_dates: Mapping[tuple[str, str], date] | None = None) -> dict[str, list[list[Any]]]:
    """The sample LA. ``due_dates`` replaces the due date of a (year, period)."""
    due_dates = due_dates or {}
    rows: dict[str, list[list[Any]]] = {sd.name: [] for sd in SHEETS}
    for p in SAMPLE_PROVISIONS:
        rows["Provisions"].append([p.partnership, p.host_school, p.urn, p.provision, p.contact_email, p.sla_start,
                                   p.sla_reviewed, key_stage_text(p.key_stages)])
        for y, amount in zip(SAMPLE_YEARS, SAMPLE_ALLOCATIONS[p.partnership], strict=True):
            rows["Allocations"].append([p.partnership, y, Decimal(amount)])
    for y in SAMPLE_YEARS:
        fy = FinancialYear.parse(y)
        for q in (1, 2, 3, 4):
            end = fy.quarter_end(q)
            due = date(end.year + (end.month == 12), (end.month % 12) + 1, 1)
            due = date(due.year, due.month, 28 if due.month == 2 else 30)
            rows["Due dates"].append([y, f"Q{q}", due_dates.get((y, f"Q{q}"), due)])
        rows["Due dates"].append([y, "Annual", due_dates.get((y, "Annual"), date(fy.start_year + 1, 5, 31))])
    for i, p in enumerate(SAMPLE_PROVISIONS):
        for j, stem in enumerate(_MEMBER_NAMES[: 4 + (i % 3)]):
            roll = 180 + 37 * ((i * 7 + j * 3) % 11)
            rows["Member schools"].append([
                p.partnership, f"{stem} {p.partnership} Primary", str(980000 + i * 10 + j),
                roll, roll * (18 + j) // 100, roll * (22 + j) // 100, roll * (13 + i) // 100, 1 + (i + j * 2) % 10,
            ])
    return rows


def instruction_lines() -> list[tuple[str, tuple[str, str, str] | None]]:
    """The Instructions sheet, line by line: (text, None) or ('', (column, required, what to enter))
    for a row of a sheet's column table. Made from SHEETS, so it cannot disagree with the reader."""
    out: list[tuple[str, tuple[str, str, str] | None]] = [
        ("The LA's roster: who is issued workbooks, their allocations, when returns are due", None),
        ("pbp reads the sheets below by name and their columns by the heading in row 1: keep the sheet names and "
         "headings as they are. Columns may be moved, and extra columns and sheets (like this one) are ignored; "
         "empty rows are skipped. After editing, run  pbp roster check  : it lists every problem with its sheet "
         "and cell, or says what the roster holds.", None),
    ]
    for sd in SHEETS:
        out.append(("", None))
        out.append((f"Sheet {sd.name}", None))
        out.append((sd.purpose, None))
        out.append(("", ("Column", "Required?", "What to enter")))
        for c in sd.columns:
            kind = f" ({KIND_HELP[c.kind]})" if KIND_HELP[c.kind] else ""
            out.append(("", (c.heading, "required" if c.required else "optional", c.help + kind)))
    for title, steps in HOW_TO:
        out.append(("", None))
        out.append((title, None))
        out.extend((step, None) for step in steps)
    return out


def write_sample(path: Path, due_dates: Mapping[tuple[str, str], date] | None = None) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True})
    money = wb.add_format({"num_format": "£#,##0.00"})
    day = wb.add_format({"num_format": "dd/mm/yyyy"})
    text = wb.add_format({"num_format": "@"})
    _write_instructions(wb)
    data = sample_rows(due_dates)
    for sd in SHEETS:
        columns = sd.columns
        ws = wb.add_worksheet(sd.name)
        for c, col in enumerate(columns):
            ws.write_string(0, c, col.heading, bold)
            ws.set_column(c, c, max(14, len(col.heading) + 2))
        for r, row in enumerate(data[sd.name], start=1):
            for c, value in enumerate(row):
                kind = columns[c].kind
                if value is None:
                    continue
                if kind == "money":
                    ws.write_number(r, c, float(value), money)
                elif kind == "date":
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
                elif kind in ("urn", "year", "text", "period", "email", "key_stages"):
                    ws.write_string(r, c, str(value), text if kind in ("urn", "year") else None)
                else:
                    ws.write_number(r, c, value)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(data[sd.name]), len(columns) - 1)
        print_setup(ws, ROSTER_PRINTING, Page((0, 0)))  # the headings repeat on every page
    wb.close()


def _write_instructions(wb: Any) -> None:
    ws = wb.add_worksheet(INSTRUCTIONS_SHEET)
    title = wb.add_format({"bold": True, "font_size": 14})
    heading = wb.add_format({"bold": True, "font_size": 12})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    cell = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 11)
    ws.set_column(2, 2, 90)
    headings = {f"Sheet {sd.name}" for sd in SHEETS} | {t for t, _ in HOW_TO}
    for r, (line, row) in enumerate(instruction_lines()):
        if row is not None:
            fmt = head if row[0] == "Column" else cell
            for c, v in enumerate(row):
                ws.write_string(r, c, v, fmt)
            ws.set_row(r, 15 * (1 + len(row[2]) // 95))
        elif r == 0:
            ws.write_string(r, 0, line, title)
        elif line in headings:
            ws.write_string(r, 0, line, heading)
        elif line:
            ws.merge_range(r, 0, r, 2, line, wrap)
            ws.set_row(r, 15 * (1 + len(line) // 150))
    print_setup(ws, ROSTER_PRINTING, Page((0, 0)))
    ws.activate()


# ----------------------------------------------------------------------- reading

_URN = re.compile(r"^\d{6}$")


class _Bad(Exception):
    """One cell's problem (the text after its sheet and cell)."""


@dataclass(frozen=True)
class Problem:
    """One mistake in the roster, where it is and what is wrong."""

    where: str  # "roster.xlsx, sheet Allocations, cell C5"
    text: str
    at: tuple[int, int, int] = field(default=(0, 0, 0), compare=False)  # (sheet, row, column): listing order

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


@dataclass
class Checked:
    """What ``check`` found: the roster (usable only when there are no problems), every problem,
    and notes on what looks incomplete but is allowed."""

    roster: Roster
    problems: list[Problem]
    notes: list[str]

    def summary(self) -> str:
        r = self.roster
        years = sorted({y for _p, y in r.allocations})
        due_years = sorted({y for y, _p in r.due_dates})
        name = r.path.name if r.path else "roster.xlsx"
        return (f"{name} holds {len(r.provisions)} partnerships ({', '.join(p.partnership for p in r.provisions)}); "
                f"DSG allocations for {', '.join(years) or 'no year'}; due dates for {', '.join(due_years) or 'no year'}; "
                f"{len(r.members)} member schools.")


def _col_letter(col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _convert(value: Any, kind: str) -> Any:
    """The cell's value as ``kind``, or _Bad saying why not."""
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            value = None
    if value is None:
        return None
    if kind == "text":
        return str(value)
    if kind == "email":
        s = str(value)
        if EMAIL.match(s) is None:
            raise _Bad(f"{s!r} is not an email address; enter one like bursar@school.sch.uk")
        return s
    if kind == "key_stages":
        stages = parse_key_stages(str(value))
        if stages is None:
            raise _Bad(f"{value!r} is not a key stage or a range of them; use {', '.join(KEY_STAGES)}, "
                       "like EYFS-KS2 or KS2")
        return stages
    if kind == "urn":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        s = str(value)
        if not _URN.match(s):
            raise _Bad(f"{s!r} is not a URN (six digits)")
        return s
    if kind == "year":
        try:
            return str(FinancialYear.parse(str(value)))
        except UsageError:
            raise _Bad(f"{value!r} is not a financial year; write it like 2025-26") from None
    if kind == "period":
        s = str(value).strip().capitalize() if not str(value).upper().startswith("Q") else str(value).upper()
        if s not in PERIODS:
            raise _Bad(f"{value!r} is not a return; use one of {', '.join(PERIODS)}")
        return s
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        raise _Bad(f"{value!r} is not a date; enter it like 31/10/2025")
    if kind == "money":
        if isinstance(value, bool):
            raise _Bad(f"{value!r} is not an amount of money")
        if isinstance(value, int | float):
            d = to_decimal(value)
        else:
            parsed = parse_text_number(str(value))
            if parsed.value is None or not parsed.certain:
                raise _Bad(f"{value!r} is not an amount of money; enter a number like 412500.00")
            d = parsed.value
        if d < 0 or d.as_tuple().exponent < -2:  # type: ignore[operator]
            raise _Bad(f"{value!r} is not a valid allocation (pounds and pence, not negative)")
        return d
    if kind == "count":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _Bad(f"{value!r} is not a whole number")
        return value
    raise AssertionError(kind)


def load(path: Path) -> Roster:
    """The roster, or a ConfigError with its first problem (every command that needs the
    roster uses this; ``pbp roster check`` lists them all, in the same words)."""
    found = check(path)
    if found.problems:
        more = len(found.problems) - 1
        raise ConfigError(str(found.problems[0]) + (
            f" (and {more} more {'problem' if more == 1 else 'problems'}: run 'pbp roster check' to list them)"
            if more else ""))
    return found.roster


def check(path: Path) -> Checked:
    """Read the roster with python-calamine (a fast reader: a 1,000-provision roster reads in
    milliseconds, where openpyxl took seconds) and check everything: every problem, not the
    first. A file that cannot be opened at all is a ConfigError."""
    from python_calamine import CalamineWorkbook

    if not path.is_file():
        raise ConfigError(f"{path} is missing: run 'pbp init' or put the LA's roster there")
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
    except Exception as err:  # noqa: BLE001 - any unreadable roster is one message
        raise ConfigError(f"{path.name} cannot be opened as an Excel workbook ({type(err).__name__}); "
                          "save it as .xlsx") from None
    fname = path.name
    problems: list[Problem] = []
    read_as: list[Problem] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    try:
        for sd in SHEETS:
            tables[sd.name] = []
            if sd.name not in names:
                problems.append(Problem(fname, f"there is no sheet called {sd.name!r} (see the Instructions sheet)",
                                        (SHEETS.index(sd), 0, 0)))
                continue
            try:
                grid = wb.get_sheet_by_name(sd.name).to_python(skip_empty_area=False)
            except Exception as err:  # noqa: BLE001
                problems.append(Problem(f"{fname}, sheet {sd.name}", f"cannot be read ({type(err).__name__})",
                                        (SHEETS.index(sd), 0, 0)))
                continue
            tables[sd.name] = _read_rows(fname, sd, grid, problems, read_as)
    finally:
        wb.close()
    found = _assemble(tables, path, problems)
    found.problems.sort(key=lambda p: p.at)
    found.notes[:0] = [str(p) for p in sorted(read_as, key=lambda p: p.at)]
    return found


def _read_rows(fname: str, sd: SheetDef, grid: list[list[Any]], problems: list[Problem],
               read_as: list[Problem]) -> list[dict[str, Any]]:
    """The sheet's rows; a bad cell is a problem, money typed as text and read for certain
    goes in ``read_as`` (a note with its sheet, row and column: the roster is still usable)."""
    rows = iter(grid)
    header = [str(h).strip().casefold() if h not in (None, "") else "" for h in next(rows, ())]
    index: dict[str, int] = {}
    for col in sd.columns:
        if col.heading.casefold() not in header and col.may_be_absent:
            continue
        if col.heading.casefold() not in header:
            problems.append(Problem(f"{fname}, sheet {sd.name}", f"no column headed {col.heading!r} in row 1",
                                    (SHEETS.index(sd), 1, 0)))
        else:
            index[col.key] = header.index(col.heading.casefold())
    if len(index) < sum(not c.may_be_absent for c in sd.columns):
        return []  # its rows cannot be read without every column
    out: list[dict[str, Any]] = []
    for r, raw in enumerate(rows, start=2):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
            continue
        rec: dict[str, Any] = {"_row": r}
        for col in sd.columns:
            if col.key not in index:  # a column that may be absent, and is
                rec[col.key] = None
                continue
            c = index[col.key]
            where = f"{fname}, sheet {sd.name}, cell {_col_letter(c + 1)}{r}"
            at = (SHEETS.index(sd), r, c + 1)
            rec[f"_at_{col.key}"] = (where, at)
            cell = raw[c] if c < len(raw) else None
            try:
                v = _convert(cell, col.kind)
                if col.kind == "money" and isinstance(cell, str) and v is not None:
                    read_as.append(Problem(where, f"{col.heading} (row {r}, column {_col_letter(c + 1)}) holds the "
                                                  f"text {cell.strip()!r}, read as {format_gbp(v)}; type the "
                                                  "amount as a number, without £ signs or commas", at))
            except _Bad as bad:
                problems.append(Problem(where, str(bad), at))
                v = None
                rec["_bad"] = True
            else:
                if v is None and col.required:
                    problems.append(Problem(where, f"{col.heading} is missing", at))
                    rec["_bad"] = True
            rec[col.key] = v
        out.append(rec)
    return out


def _assemble(tables: dict[str, list[dict[str, Any]]], path: Path, problems: list[Problem]) -> Checked:
    """The roster from its rows, with every problem across them (duplicates, names that match
    no partnership) and notes on gaps that are allowed. A row with a bad cell is still used to
    know its partnership's name, so one mistake is reported once, not again on every sheet."""
    fname = path.name
    provisions: list[Provision] = []
    seen_p: dict[str, int] = {}
    seen_urn: dict[str, int] = {}
    for rec in tables["Provisions"]:
        if rec["partnership"] is None:
            continue
        key = rec["partnership"].casefold()
        if key in seen_p:
            problems.append(_at(rec, "partnership", f"partnership {rec['partnership']!r} is listed twice "
                                                            f"(also row {seen_p[key]})"))
            continue
        seen_p[key] = rec["_row"]
        if rec["urn"] is not None and rec["urn"] in seen_urn:
            problems.append(_at(rec, "urn", f"duplicate URN {rec['urn']} (also row {seen_urn[rec['urn']]})"))
        elif rec["urn"] is not None:
            seen_urn[rec["urn"]] = rec["_row"]
        provisions.append(Provision(rec["partnership"], rec["host_school"], rec["urn"], rec["provision"],
                                    rec["contact_email"], rec["sla_start"], rec["sla_reviewed"], rec["key_stages"]))
    if not provisions and not any(p.where.startswith(f"{fname}, sheet Provisions") for p in problems):
        problems.append(Problem(f"{fname}, sheet Provisions", "no provisions listed: add a row per partnership",
                                (0, 1, 0)))
    names = {p.partnership.casefold(): p.partnership for p in provisions}

    def partnership_of(rec: dict[str, Any]) -> str | None:
        if rec["partnership"] is None:
            return None
        canonical = names.get(rec["partnership"].casefold())
        if canonical is None and names:
            problems.append(_at(rec, "partnership", f"partnership {rec['partnership']!r} is not on the "
                                                            f"Provisions sheet (spell it as it is there)"))
        return canonical

    allocations: dict[tuple[str, str], Decimal] = {}
    alloc_row: dict[tuple[str, str], int] = {}
    for rec in tables["Allocations"]:
        canonical = partnership_of(rec)
        if canonical is None or rec["year"] is None:
            continue
        k = (canonical, rec["year"])
        if k in alloc_row:
            problems.append(_at(rec, "year", f"a second allocation for {canonical} in {rec['year']} "
                                                     f"(also row {alloc_row[k]})"))
            continue
        alloc_row[k] = rec["_row"]
        if rec["allocation"] is not None:
            allocations[k] = rec["allocation"]
    due: dict[tuple[str, str], date] = {}
    due_row: dict[tuple[str, str], int] = {}
    for rec in tables["Due dates"]:
        if rec["year"] is None or rec["period"] is None:
            continue
        k = (rec["year"], rec["period"])
        if k in due_row:
            problems.append(_at(rec, "period", f"a second due date for {k[0]} {k[1]} (also row {due_row[k]})"))
            continue
        due_row[k] = rec["_row"]
        if rec["due"] is not None:
            due[k] = rec["due"]
    members: list[dict[str, Any]] = []
    seen_member: dict[str, int] = {}
    for rec in tables["Member schools"]:
        partnership_of(rec)
        if rec["urn"] is not None and rec["urn"] in seen_member:
            problems.append(_at(rec, "urn", f"duplicate URN {rec['urn']} (also row {seen_member[rec['urn']]})"))
            continue
        if rec["urn"] is not None:
            seen_member[rec["urn"]] = rec["_row"]
        members.append({k: v for k, v in rec.items() if not k.startswith("_at_") and k != "_bad"})
    roster = Roster(provisions, allocations, due, members, path)
    return Checked(roster, problems, _notes(roster))


def _at(rec: dict[str, Any], key: str, text: str) -> Problem:
    """A problem at the cell of ``rec`` that holds ``key``."""
    where, at = rec[f"_at_{key}"]
    return Problem(where, text, at)


def _notes(r: Roster) -> list[str]:
    """Gaps that are allowed (a partnership that joined later has no allocation for earlier
    years), said so the LA can check they are meant."""
    notes: list[str] = []
    years = sorted({y for _p, y in r.allocations})
    for y in years:
        missing = [p.partnership for p in r.provisions if (p.partnership, y) not in r.allocations]
        if missing:
            notes.append(f"no DSG allocation for {', '.join(missing)} in {y}: that year's workbooks cannot be issued "
                         "until there is one")
        periods = [p for p in PERIODS if (y, p) not in r.due_dates]
        if periods:
            notes.append(f"no due date for {', '.join(periods)} of {y} (those returns are never shown as late)")
    with_members = {str(m["partnership"]).casefold() for m in r.members}
    bare = [p.partnership for p in r.provisions if p.partnership.casefold() not in with_members]
    if bare and r.members:
        notes.append(f"no member schools listed for {', '.join(bare)}")
    return notes
