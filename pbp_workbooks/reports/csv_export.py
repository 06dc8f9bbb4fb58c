"""Tidy CSV files for BI tools, next to the LA workbook: categories, partnerships and (with the
annual overview) annual, described by a ``datapackage.json`` (Frictionless Data Package).

UTF-8 with a byte-order mark, comma-separated, one header row, one row per fact (the
categories file has the rows of the workbook's Categories table, la_workbook.category_rows).
Numeric columns are plain numbers, so a negative amount keeps its minus sign; money always
has two decimals (``-4867.76``, ``412500.00``). A text cell that starts with ``=``, ``+``,
``-``, ``@``, TAB or CR gets a leading apostrophe (``'=HYPERLINK(...)``). Pupil counts of 1
to 4 are shown as the suppression marker; the annual file has the annual overview's
suppressed counts (annual_overview.py).

Each file's columns are declared once, below (``Table``/``Column``): the CSV header, the
cell formats and the Table Schema in ``datapackage.json`` (types, constraints, primary and
foreign keys) all come from those declarations, so ``frictionless validate datapackage.json``
checks the files against what they claim to be.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base.filenames import write_atomic
from pbp_workbooks.reports import suppression
from pbp_workbooks.reports.annual_overview import BREAKDOWNS, KPI, METHODS, kpi_better, kpi_status
from pbp_workbooks.reports.consolidation import Consolidation
from pbp_workbooks.reports.status import STATES

CSV_DANGER = ("=", "+", "-", "@", "\t", "\r")
PENNY = Decimal("0.01")
DATAPACKAGE = "datapackage.json"


def csv_text(v: str) -> str:
    """Neutralise a text cell for spreadsheet programs: a leading apostrophe before = + - @ TAB CR."""
    return "'" + v if v.startswith(CSV_DANGER) else v


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, date):
        return v.isoformat()
    return csv_text(str(v))


def money_cell(v: Any) -> str:
    """Pounds with two decimals, always (rounded half up to the penny)."""
    if isinstance(v, Decimal | int) and not isinstance(v, bool):
        return str(Decimal(v).quantize(PENNY, rounding=ROUND_HALF_UP))
    return _csv_cell(v)


# kind -> the Table Schema field properties it declares
_SUPPRESSED = {"missingValues": ["", suppression.MARKER]}
KINDS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "year": {"type": "string", "constraints": {"pattern": "[0-9]{4}-[0-9]{2}"}},
    "urn": {"type": "string", "constraints": {"pattern": "[0-9]{6}"}},
    "quarter": {"type": "integer", "constraints": {"minimum": 1, "maximum": 4}},
    "version": {"type": "integer", "constraints": {"minimum": 1}},
    "timestamp": {"type": "datetime"},
    "money": {"type": "number"},
    "number": {"type": "number"},
    "integer": {"type": "integer", "constraints": {"minimum": 0}},
    "count": {"type": "integer", "constraints": {"minimum": 0}, **_SUPPRESSED},
    "share": {"type": "number", "constraints": {"minimum": 0, "maximum": 1}, **_SUPPRESSED},
    "flag": {"type": "boolean", "trueValues": ["yes"], "falseValues": ["no"]},
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # a key of KINDS
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()  # the only values allowed (more can be given when writing)

    def field(self, choices: Sequence[str] = ()) -> dict[str, Any]:
        spec = KINDS[self.kind]
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               **{k: v for k, v in spec.items() if k != "constraints"}}
        constraints = dict(spec.get("constraints", {}))
        if self.required:
            constraints["required"] = True
        allowed = list(choices or self.choices)
        if allowed:
            constraints["enum"] = allowed
        if constraints:
            out["constraints"] = constraints
        return out

    def cell(self, v: Any) -> str:
        return money_cell(v) if self.kind == "money" else _csv_cell(v)


@dataclass(frozen=True)
class Table:
    name: str  # the resource name, and the end of the file name
    title: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()  # (fields, table, its fields)

    @property
    def keys(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self, choices: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
        choices = choices or {}
        out: dict[str, Any] = {"fields": [c.field(choices.get(c.name, ())) for c in self.columns]}
        if self.primary_key:
            out["primaryKey"] = list(self.primary_key)
        if self.foreign_keys:
            out["foreignKeys"] = [{"fields": list(f), "reference": {"resource": t, "fields": list(r)}}
                                  for f, t, r in self.foreign_keys]
        return out


def _m(name: str, description: str) -> Column:
    return Column(name, "money", f"{description} (pounds)")


PROVISION_COLUMNS = (
    Column("year", "year", "Financial year, e.g. 2025-26", required=True),
    Column("reporting_quarter", "quarter", "The quarter the return reports on (1-4)", required=True),
    Column("partnership", "text", "Partnership name, as in the roster", required=True),
    Column("host_school", "text", "The partnership's host school", required=True),
    Column("urn", "urn", "The host school's unique reference number", required=True),
    Column("provision", "text", "The provision's name", required=True),
    Column("return_status", "text", "The official return's state; a provision without an accepted return is "
           "listed with blank figures, never zero", required=True, choices=STATES),
    Column("version", "version", "The official (latest accepted) version of the return; blank when none"),
)

CATEGORIES = Table("categories", "Expenditure by category, partnership and reporting quarter", (
    *PROVISION_COLUMNS,
    Column("category_key", "text", "Expenditure category, as a stable key", required=True),
    Column("category", "text", "Expenditure category, as the workbook labels it", required=True),
    _m("budget", "Annual budget"),
    _m("actual_in_quarter", "Actual spend in the reporting quarter"),
    _m("actual_to_date", "Actual spend from April to the end of the reporting quarter"),
    _m("forecast_rest_of_year", "Forecast spend for the rest of the year"),
    _m("forecast_outturn", "Forecast outturn: actual to date plus forecast"),
    _m("variance", "Forecast outturn minus budget (negative: underspend)"),
    Column("commentary", "text", "The partnership's explanation of the variance"),
), primary_key=("year", "reporting_quarter", "partnership", "category_key"),
    foreign_keys=((("year", "reporting_quarter", "partnership"), "partnerships",
                   ("year", "reporting_quarter", "partnership")),))

PARTNERSHIPS = Table("partnerships", "Income, expenditure, balances and status by partnership and reporting quarter", (
    *PROVISION_COLUMNS,
    Column("received_at", "timestamp", "When the LA received the official version (UTC)"),
    _m("dsg_allocation", "High-needs DSG allocation for the year"),
    _m("balance_bf", "Balance brought forward from last year"),
    _m("other_income", "Other income"),
    _m("total_income", "Allocation plus balance brought forward plus other income"),
    _m("budget", "Total annual budget"),
    *(_m(f"actual_q{q}", f"Actual spend in quarter {q}") for q in (1, 2, 3, 4)),
    _m("actual_to_date", "Actual spend to the end of the reporting quarter"),
    _m("forecast_rest_of_year", "Forecast spend for the rest of the year"),
    _m("forecast_outturn", "Forecast outturn"),
    _m("variance", "Forecast outturn minus budget"),
    _m("forecast_balance", "Total income minus forecast outturn (negative: a deficit)"),
    _m("surplus_cpd", "Planned use of the surplus: training and CPD"),
    _m("surplus_future", "Planned use of the surplus: future provision"),
    _m("surplus_contingency", "Planned use of the surplus: contingency"),
    _m("surplus_other", "Planned use of the surplus: other"),
    _m("surplus_planned_total", "Planned use of the surplus in total"),
    _m("surplus_plan_threshold", "The surplus above which a planned use is needed"),
    _m("unplanned_surplus", "Forecast surplus without a planned use"),
    Column("possible_clawback", "flag", "Whether the unplanned surplus could be clawed back (yes/no)"),
    Column("financial_status", "text", "RAG rating in words"),
    Column("placements_outside_ks", "count", f"Pupils placed outside their key stage ('{suppression.MARKER}': "
           "1 to 4, suppressed)"),
    Column("placements_mdm_held", "text", "Whether a multidisciplinary meeting agreed those placements"),
), primary_key=("year", "reporting_quarter", "partnership"))

ANNUAL = Table("annual", "The year's annual reports: pupils, delivery and KPIs by partnership (published figures)", (
    Column("year", "year", "Financial year, e.g. 2025-26", required=True),
    Column("partnership", "text", "Partnership name, or 'LA total'", required=True),
    Column("host_school", "text", "The partnership's host school"),
    Column("urn", "urn", "The host school's unique reference number"),
    Column("provision", "text", "The provision's name"),
    Column("return_status", "text", "The official annual report's state (for the LA total: how many were "
           "accepted)", required=True),
    Column("version", "version", "The official version of the annual report"),
    Column("section", "text", "Section of the report: delivery, a pupil breakdown, methods or kpi"),
    Column("item_key", "text", "The row within the section, as a stable key"),
    Column("item", "text", "The row within the section, as the report labels it"),
    Column("pupils", "count", f"Pupils ('{suppression.MARKER}': 1 to 4, or a count that would reveal one, "
           "suppressed)"),
    Column("share", "share", "Share of the pupils supported (0 to 1)"),
    Column("sessions", "integer", "Sessions delivered"),
    Column("target", "number", "KPI target"),
    Column("actual", "number", "KPI actual"),
    Column("better_when", "text", "Whether a higher or a lower KPI value is better", choices=("higher", "lower")),
    Column("kpi_status", "text", "Whether the KPI target was met"),
))

SLA_REVIEW = Table("sla-review", "The year's SLA reviews (toolkit Appendix 1): every answer each member school gave", (
    Column("year", "year", "Review year (financial year), e.g. 2025-26", required=True),
    Column("partnership", "text", "Partnership name", required=True),
    Column("school", "text", "The member school that answered", required=True),
    Column("urn", "urn", "The member school's unique reference number", required=True),
    Column("question_key", "text", "The question, as a stable key (the workbook's defined name)", required=True),
    Column("question", "text", "The question or statement, as the workbook asks it", required=True),
    Column("answer", "text", "The school's answer: one of the five for a statement, else its own words",
           required=True),
    Column("version", "version", "The official (latest accepted) version of the school's review"),
), primary_key=("year", "urn", "question_key"))



def partnership_rows(c: Consolidation) -> list[dict[str, Any]]:
    out = []
    for ln in c.all_lines():
        q, prov = ln.quarter, ln.provision
        f = ln.figures
        row: dict[str, Any] = {k: None for k in PARTNERSHIPS.keys}
        row.update(year=str(c.year), reporting_quarter=q, partnership=prov.partnership,
                   host_school=prov.host_school, urn=prov.urn, provision=prov.provision, return_status=ln.state)
        if f is not None and ln.official is not None:
            row.update(version=ln.official.version, received_at=ln.official.received_at,
                       dsg_allocation=f.allocation, balance_bf=f.balance_bf, other_income=f.other_income,
                       total_income=f.total_income, budget=f.budget,
                       actual_q1=f.actual[0], actual_q2=f.actual[1], actual_q3=f.actual[2], actual_q4=f.actual[3],
                       actual_to_date=f.to_date, forecast_rest_of_year=f.forecast, forecast_outturn=f.outturn,
                       variance=f.variance, forecast_balance=f.forecast_balance,
                       surplus_cpd=f.surplus[0], surplus_future=f.surplus[1], surplus_contingency=f.surplus[2],
                       surplus_other=f.surplus[3], surplus_planned_total=f.planned_total,
                       surplus_plan_threshold=f.threshold, unplanned_surplus=f.unplanned,
                       possible_clawback=f.clawback, financial_status=f.rag_label,
                       placements_outside_ks=(suppression.MARKER if f.placements is not None
                                              and suppression.is_small(f.placements) else f.placements),
                       placements_mdm_held=f.mdm_held)
        out.append(row)
    return out


def write_csv(path: Path, table: Table, rows: Sequence[dict[str, Any]]) -> Path:
    """UTF-8 with a byte-order mark (so Excel shows £ and – correctly), comma-separated, one header row."""

    def build(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(table.keys)
            for row in rows:
                w.writerow([c.cell(row[c.name]) for c in table.columns])

    return write_atomic(path, build)


def write_datapackage(folder: Path, c: Consolidation, files: Sequence[tuple[Table, Path]]) -> Path:
    """``datapackage.json`` beside the CSV files: a Frictionless Data Package describing each one."""
    choices = {"category_key": [k for k, _ in c.categories], "category": [label for _, label in c.categories]}
    package = {
        "name": f"pbp-consolidated-{c.year}-q{c.quarter}",
        "title": f"PBP consolidated {c.period} – {c.la_name}",
        "description": "Primary Behaviour Provisions: each provision's official (latest accepted) return, "
                       "consolidated by the LA. Missing and rejected returns are listed with blank figures.",
        "created": c.generated_at.isoformat().replace("+00:00", "Z"),
        "resources": [{
            "name": table.name, "title": table.title, "path": path.name, "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8", "schema": table.schema(choices if table is CATEGORIES else None),
        } for table, path in files],
    }
    text = json.dumps(package, indent=2, ensure_ascii=False) + "\n"

    def build(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return write_atomic(folder / DATAPACKAGE, build)


def annual_rows(c: Consolidation) -> list[dict[str, Any]]:
    """The annual overview as tidy rows (a published output: the same suppressed counts as the sheets)."""
    a = c.annual
    if a is None:
        return []
    out: list[dict[str, Any]] = []
    pupils = a.spec.role("pupils") or ""
    placements = a.spec.role("out_of_key_stage") or ""
    # both published under the section that holds the pupils supported ("delivery")
    delivery = a.spec[pupils].section if pupils else ""
    pupils_item = {"section": delivery, "item_key": pupils, "item": "Pupils supported"}
    placements_item = {"section": delivery, "item_key": placements, "item": "Pupils placed outside their key stage"}
    for ln in a.lines:
        prov, v = ln.provision, ln.values
        base: dict[str, Any] = {k: None for k in ANNUAL.keys}
        base.update(year=str(c.year), partnership=prov.partnership, host_school=prov.host_school, urn=prov.urn,
                    provision=prov.provision, return_status=ln.state,
                    version=ln.official.version if ln.official and v is not None else None)
        if v is None:
            out.append(base)
            continue
        p = prov.partnership
        out.append({**base, **pupils_item, "pupils": a.pupils(p)})
        for b in BREAKDOWNS:
            for k, label in a.rows(b):
                out.append({**base, "section": a.section_key(b), "item_key": k, "item": label, "pupils": a.cell(b, k, p),
                            "share": a.share(b, k, p)})
        for k, label in a.rows(METHODS):
            out.append({**base, "section": a.section_key(METHODS), "item_key": k, "item": label,
                        "pupils": a.methods(k, p), "sessions": a.grid_value(v, METHODS, k, "sessions")})
        out.append({**base, **placements_item, "pupils": a.placements(p)})
        for k, label in a.rows(KPI):
            better = kpi_better(a.spec, k)
            target, actual = a.grid_value(v, KPI, k, "target"), a.grid_value(v, KPI, k, "actual")
            out.append({**base, "section": a.section_key(KPI), "item_key": k, "item": label, "target": target,
                        "actual": actual, "better_when": better, "kpi_status": kpi_status(target, actual, better)})
    la: dict[str, Any] = {k: None for k in ANNUAL.keys}
    la.update(year=str(c.year), partnership="LA total", return_status=f"{len(a.accepted())} accepted")
    out.append({**la, **pupils_item, "pupils": a.la_pupils()})
    for b in BREAKDOWNS:
        for k, label in a.rows(b):
            out.append({**la, "section": a.section_key(b), "item_key": k, "item": label, "pupils": a.la_cell(b, k),
                        "share": a.la_share(b, k)})
    for k, label in a.rows(METHODS):
        out.append({**la, "section": a.section_key(METHODS), "item_key": k, "item": label,
                    "pupils": a.la_methods(k)})
    out.append({**la, **placements_item, "pupils": a.la_placements()})
    return out
