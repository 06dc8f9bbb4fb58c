"""Tidy CSV files for BI tools, next to the LA workbook: categories, partnerships and (with the annual overview) annual.

UTF-8 with a byte-order mark, comma-separated, one header row, one row per fact (the
categories file has the rows of the workbook's Categories table, la_workbook.category_rows).
Numeric columns are plain numbers, so a negative amount keeps its minus sign; money
(``CSV_MONEY_KEYS``) always has two decimals (``412500.00``, never ``412500.0``). A text cell
that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading apostrophe
(``'=HYPERLINK(...)``). Pupil counts of 1 to 4 are shown as the suppression marker; the
annual file has the annual overview's suppressed counts (annual_overview.py).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import suppression
from .annual_overview import BREAKDOWNS, KPI, KPI_BETTER, METHODS, kpi_status
from .consolidation import Consolidation
from .filenames import write_atomic

CSV_DANGER = ("=", "+", "-", "@", "\t", "\r")


def csv_text(v: str) -> str:
    """Neutralise a text cell for spreadsheet programs: a leading apostrophe before = + - @ TAB CR."""
    return "'" + v if v.startswith(CSV_DANGER) else v


PENNY = Decimal("0.01")


def _csv_cell(v: Any, money: bool = False) -> str:
    if v is None:
        return ""
    if money and isinstance(v, Decimal | int) and not isinstance(v, bool):
        return str(Decimal(v).quantize(PENNY) + 0)  # + 0: never "-0.00"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, date):
        return v.isoformat()
    return csv_text(str(v))


CSV_CATEGORY_KEYS = ["year", "reporting_quarter", "partnership", "host_school", "urn", "provision", "return_status",
                     "version", "category_key", "category", "budget", "actual_in_quarter", "actual_to_date",
                     "forecast_rest_of_year", "forecast_outturn", "variance", "commentary"]
CSV_PARTNERSHIP_KEYS = ["year", "reporting_quarter", "partnership", "host_school", "urn", "provision", "return_status",
                        "version", "received_at", "dsg_allocation", "balance_bf", "other_income", "total_income",
                        "budget", "actual_q1", "actual_q2", "actual_q3", "actual_q4", "actual_to_date",
                        "forecast_rest_of_year", "forecast_outturn", "variance", "forecast_balance",
                        "surplus_cpd", "surplus_future", "surplus_contingency", "surplus_other", "surplus_planned_total",
                        "surplus_plan_threshold", "unplanned_surplus", "possible_clawback", "financial_status",
                        "placements_outside_ks", "placements_mdm_held"]
CSV_MONEY_KEYS = frozenset({
    "budget", "actual_in_quarter", "actual_to_date", "forecast_rest_of_year", "forecast_outturn", "variance",
    "dsg_allocation", "balance_bf", "other_income", "total_income", "actual_q1", "actual_q2", "actual_q3", "actual_q4",
    "forecast_balance", "surplus_cpd", "surplus_future", "surplus_contingency", "surplus_other",
    "surplus_planned_total", "surplus_plan_threshold", "unplanned_surplus"})


def partnership_rows(c: Consolidation) -> list[dict[str, Any]]:
    out = []
    for ln in c.all_lines():
        q, prov = ln.quarter, ln.provision
        f = ln.figures
        row: dict[str, Any] = {k: None for k in CSV_PARTNERSHIP_KEYS}
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


def write_csv(path: Path, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> Path:
    """UTF-8 with a byte-order mark (so Excel shows £ and – correctly), comma-separated, one header row."""

    def build(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(keys)
            for row in rows:
                w.writerow([_csv_cell(row[k], k in CSV_MONEY_KEYS) for k in keys])

    return write_atomic(path, build)


CSV_ANNUAL_KEYS = ["year", "partnership", "host_school", "urn", "provision", "return_status", "version", "section",
                   "item_key", "item", "pupils", "share", "sessions", "target", "actual", "better_when", "kpi_status"]


def annual_rows(c: Consolidation) -> list[dict[str, Any]]:
    """The annual overview as tidy rows (a published output: the same suppressed counts as the sheets)."""
    a = c.annual
    if a is None:
        return []
    out: list[dict[str, Any]] = []
    for ln in a.lines:
        prov, v = ln.provision, ln.values
        base: dict[str, Any] = {k: None for k in CSV_ANNUAL_KEYS}
        base.update(year=str(c.year), partnership=prov.partnership, host_school=prov.host_school, urn=prov.urn,
                    provision=prov.provision, return_status=ln.state,
                    version=ln.official.version if ln.official and v is not None else None)
        if v is None:
            out.append(base)
            continue
        p = prov.partnership
        out.append({**base, "section": "delivery", "item_key": "pupils_supported", "item": "Pupils supported",
                    "pupils": a.pupils(p)})
        for b in BREAKDOWNS:
            for k, label in a.rows(b):
                out.append({**base, "section": b, "item_key": k, "item": label, "pupils": a.cell(b, k, p),
                            "share": a.share(b, k, p)})
        for k, label in a.rows(METHODS):
            out.append({**base, "section": METHODS, "item_key": k, "item": label, "pupils": a.methods(k, p),
                        "sessions": v.get(f"methods_{k}_sessions")})
        out.append({**base, "section": "delivery", "item_key": "placements_outside_ks",
                    "item": "Pupils placed outside their key stage", "pupils": a.placements(p)})
        for k, label in a.rows(KPI):
            better = KPI_BETTER.get(k, "higher")
            out.append({**base, "section": KPI, "item_key": k, "item": label, "target": v.get(f"kpi_{k}_target"),
                        "actual": v.get(f"kpi_{k}_actual"), "better_when": better,
                        "kpi_status": kpi_status(v.get(f"kpi_{k}_target"), v.get(f"kpi_{k}_actual"), better)})
    la: dict[str, Any] = {k: None for k in CSV_ANNUAL_KEYS}
    la.update(year=str(c.year), partnership="LA total", return_status=f"{len(a.accepted())} accepted")
    out.append({**la, "section": "delivery", "item_key": "pupils_supported", "item": "Pupils supported",
                "pupils": a.la_pupils()})
    for b in BREAKDOWNS:
        for k, label in a.rows(b):
            out.append({**la, "section": b, "item_key": k, "item": label, "pupils": a.la_cell(b, k),
                        "share": a.la_share(b, k)})
    for k, label in a.rows(METHODS):
        out.append({**la, "section": METHODS, "item_key": k, "item": label, "pupils": a.la_methods(k)})
    out.append({**la, "section": "delivery", "item_key": "placements_outside_ks",
                "item": "Pupils placed outside their key stage", "pupils": a.la_placements()})
    return out
