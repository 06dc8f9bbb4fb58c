"""roster.xlsx: the LA's provisions, allocations, due dates and member schools.

LA staff maintain it in Excel, so it is read by column heading (columns may be moved)
and every mistake is reported with its sheet and cell. ``SHEETS`` is the one
definition of its layout: ``pbp init`` writes it and ``load`` reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .money import parse_text_number, to_decimal
from .periods import FinancialYear

# sheet -> [(heading, key, type, required)]
SHEETS: dict[str, list[tuple[str, str, str, bool]]] = {
    "Provisions": [
        ("Partnership", "partnership", "text", True),
        ("Host school", "host_school", "text", True),
        ("Host school URN", "urn", "urn", True),
        ("Provision name", "provision", "text", True),
        ("Finance contact email", "contact_email", "text", False),
    ],
    "Allocations": [
        ("Partnership", "partnership", "text", True),
        ("Financial year", "year", "year", True),
        ("DSG allocation", "allocation", "money", True),
    ],
    "Due dates": [
        ("Financial year", "year", "year", True),
        ("Return", "period", "period", True),
        ("Due date", "due", "date", True),
    ],
    "Member schools": [
        ("Partnership", "partnership", "text", True),
        ("School", "school", "text", True),
        ("URN", "urn", "urn", True),
        ("Pupil roll", "roll", "count", True),
        ("FSM pupils", "fsm", "count", False),
        ("PP pupils", "pp", "count", False),
        ("SEND pupils", "send", "count", False),
        ("Deprivation index (IDACI decile)", "idaci_decile", "count", False),
    ],
}

PERIODS = ("Q1", "Q2", "Q3", "Q4", "Annual")


@dataclass(frozen=True)
class Provision:
    partnership: str
    host_school: str
    urn: str
    provision: str
    contact_email: str | None = None


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


# ----------------------------------------------------------------------- sample LA

SAMPLE_PROVISIONS = [
    Provision("North", "Northfield Primary School", "990101", "The Harbour (North PBP)", "bursar@northfield.example.sch.uk"),
    Provision("East", "Eastgate Community Primary", "990202", "Rainbow Room (East PBP)", "finance@eastgate.example.sch.uk"),
    Provision("South", "Southmead C of E Primary", "990303", "The Lighthouse (South PBP)", "sbm@southmead.example.sch.uk"),
    Provision("West", "Westbrook Junior School", "990404", "Oak Tree Base (West PBP)", "office@westbrook.example.sch.uk"),
    Provision("Central", "St Anne's Catholic Primary", "990505", "The Nest (Central PBP)", "finance@stannes.example.sch.uk"),
]
SAMPLE_ALLOCATIONS = {
    "North": ("398500.00", "412500.00", "420750.00"),
    "East": ("351200.00", "364800.00", "372100.00"),
    "South": ("420000.00", "436900.00", "445600.00"),
    "West": ("305750.00", "318250.00", "324600.00"),
    "Central": ("466300.00", "482150.00", "491800.00"),
}
SAMPLE_YEARS = ("2024-25", "2025-26", "2026-27")
_MEMBER_NAMES = ["Ashdown", "Birchwood", "Cedar Park", "Dovecote", "Elmhurst", "Foxley", "Greenacre"]


def sample_rows(due_dates: Mapping[tuple[str, str], date] | None = None) -> dict[str, list[list[Any]]]:
    """The sample LA. ``due_dates`` replaces the due date of a (year, period)."""
    due_dates = due_dates or {}
    rows: dict[str, list[list[Any]]] = {name: [] for name in SHEETS}
    for p in SAMPLE_PROVISIONS:
        rows["Provisions"].append([p.partnership, p.host_school, p.urn, p.provision, p.contact_email])
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


def write_sample(path: Path, due_dates: Mapping[tuple[str, str], date] | None = None) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True})
    money = wb.add_format({"num_format": "£#,##0.00"})
    day = wb.add_format({"num_format": "dd/mm/yyyy"})
    text = wb.add_format({"num_format": "@"})
    data = sample_rows(due_dates)
    for sheet, columns in SHEETS.items():
        ws = wb.add_worksheet(sheet)
        for c, (heading, _key, _kind, _req) in enumerate(columns):
            ws.write_string(0, c, heading, bold)
            ws.set_column(c, c, max(14, len(heading) + 2))
        for r, row in enumerate(data[sheet], start=1):
            for c, value in enumerate(row):
                kind = columns[c][2]
                if value is None:
                    continue
                if kind == "money":
                    ws.write_number(r, c, float(value), money)
                elif kind == "date":
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
                elif kind in ("urn", "year", "text", "period"):
                    ws.write_string(r, c, str(value), text if kind in ("urn", "year") else None)
                else:
                    ws.write_number(r, c, value)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(data[sheet]), len(columns) - 1)
    wb.close()


# ----------------------------------------------------------------------- reading

_URN = re.compile(r"^\d{6}$")


def _where(sheet: str, row: int, col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"roster.xlsx, sheet {sheet}, cell {letters}{row}"


def _convert(value: Any, kind: str, where: str) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            value = None
    if value is None:
        return None
    if kind == "text":
        return str(value)
    if kind == "urn":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        s = str(value)
        if not _URN.match(s):
            raise ConfigError(f"{where}: {s!r} is not a URN (six digits)")
        return s
    if kind == "year":
        return str(FinancialYear.parse(str(value)))
    if kind == "period":
        s = str(value).strip().capitalize() if not str(value).upper().startswith("Q") else str(value).upper()
        if s not in PERIODS:
            raise ConfigError(f"{where}: {value!r} is not a return; use one of {', '.join(PERIODS)}")
        return s
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        raise ConfigError(f"{where}: {value!r} is not a date; enter it like 31/10/2025")
    if kind == "money":
        if isinstance(value, bool):
            raise ConfigError(f"{where}: {value!r} is not an amount of money")
        if isinstance(value, int | float):
            d = to_decimal(value)
        else:
            parsed = parse_text_number(str(value))
            if parsed.value is None or not parsed.certain:
                raise ConfigError(f"{where}: {value!r} is not an amount of money; enter a number like 412500.00")
            d = parsed.value
        if d < 0 or d.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ConfigError(f"{where}: {value!r} is not a valid allocation (pounds and pence, not negative)")
        return d
    if kind == "count":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where}: {value!r} is not a whole number")
        return value
    raise AssertionError(kind)


def load(path: Path) -> Roster:
    """Read the roster with python-calamine (a fast reader: a 1,000-provision roster reads in
    milliseconds, where openpyxl took seconds)."""
    from python_calamine import CalamineWorkbook

    if not path.is_file():
        raise ConfigError(f"{path} is missing: run 'pbp init' or put the LA's roster there")
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
    except Exception as err:  # noqa: BLE001 - any unreadable roster is one message
        raise ConfigError(f"{path.name} cannot be opened as an Excel workbook ({type(err).__name__}); "
                          "save it as .xlsx") from None
    tables: dict[str, list[dict[str, Any]]] = {}
    try:
        for sheet, columns in SHEETS.items():
            if sheet not in names:
                raise ConfigError(f"roster.xlsx has no sheet called {sheet!r}")
            try:
                grid = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except Exception as err:  # noqa: BLE001
                raise ConfigError(f"roster.xlsx, sheet {sheet} cannot be read ({type(err).__name__})") from None
            rows = iter(grid)
            header = [str(h).strip().casefold() if h not in (None, "") else "" for h in next(rows, ())]
            index: dict[str, int] = {}
            for heading, key, _kind, _req in columns:
                if heading.casefold() not in header:
                    raise ConfigError(f"roster.xlsx, sheet {sheet}: no column headed {heading!r} in row 1")
                index[key] = header.index(heading.casefold())
            out: list[dict[str, Any]] = []
            for r, raw in enumerate(rows, start=2):
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw):
                    continue
                rec: dict[str, Any] = {}
                for heading, key, kind, required in columns:
                    c = index[key]
                    where = _where(sheet, r, c + 1)
                    v = _convert(raw[c] if c < len(raw) else None, kind, where)
                    if v is None and required:
                        raise ConfigError(f"{where}: {heading} is missing")
                    rec[key] = v
                rec["_row"] = r
                out.append(rec)
            tables[sheet] = out
    finally:
        wb.close()
    return _assemble(tables, path)


def _assemble(tables: dict[str, list[dict[str, Any]]], path: Path) -> Roster:
    provisions: list[Provision] = []
    seen_p: dict[str, int] = {}
    seen_urn: dict[str, tuple[str, int]] = {}
    for rec in tables["Provisions"]:
        key = rec["partnership"].casefold()
        if key in seen_p:
            raise ConfigError(f"roster.xlsx, sheet Provisions, row {rec['_row']}: partnership "
                              f"{rec['partnership']!r} is listed twice (also row {seen_p[key]})")
        seen_p[key] = rec["_row"]
        if rec["urn"] in seen_urn:
            raise ConfigError(f"roster.xlsx, sheet Provisions, row {rec['_row']}: duplicate URN {rec['urn']} "
                              f"(also row {seen_urn[rec['urn']][1]})")
        seen_urn[rec["urn"]] = ("Provisions", rec["_row"])
        provisions.append(Provision(rec["partnership"], rec["host_school"], rec["urn"], rec["provision"],
                                    rec["contact_email"]))
    if not provisions:
        raise ConfigError("roster.xlsx, sheet Provisions: no provisions listed")
    names = {p.partnership.casefold(): p.partnership for p in provisions}
    allocations: dict[tuple[str, str], Decimal] = {}
    for rec in tables["Allocations"]:
        canonical = names.get(rec["partnership"].casefold())
        if canonical is None:
            raise ConfigError(f"roster.xlsx, sheet Allocations, row {rec['_row']}: partnership "
                              f"{rec['partnership']!r} is not on the Provisions sheet")
        k = (canonical, rec["year"])
        if k in allocations:
            raise ConfigError(f"roster.xlsx, sheet Allocations, row {rec['_row']}: a second allocation for "
                              f"{canonical} in {rec['year']}")
        allocations[k] = rec["allocation"]
    due: dict[tuple[str, str], date] = {}
    for rec in tables["Due dates"]:
        due[(rec["year"], rec["period"])] = rec["due"]
    members: list[dict[str, Any]] = []
    seen_member: dict[str, int] = {}
    for rec in tables["Member schools"]:
        if rec["partnership"].casefold() not in names:
            raise ConfigError(f"roster.xlsx, sheet Member schools, row {rec['_row']}: partnership "
                              f"{rec['partnership']!r} is not on the Provisions sheet")
        if rec["urn"] in seen_member:
            raise ConfigError(f"roster.xlsx, sheet Member schools, row {rec['_row']}: duplicate URN "
                              f"{rec['urn']} (also row {seen_member[rec['urn']]})")
        seen_member[rec["urn"]] = rec["_row"]
        members.append(rec)
    return Roster(provisions, allocations, due, members, path)
