"""The LA's consolidated picture of a period (``Consolidation``), loaded from the official return of each provision.

The official return is the latest accepted version in the ledger (``status.status_rows``
decides which one). Its inputs come from the ledger's ``values_json`` and every formula
field is recomputed with ``calc.compute`` (figures.py): cached values in a received file
are never used. Money stays Decimal from the ledger to the cell; float only hands a value
to xlsxwriter. A provision without an accepted return is never dropped and never
zero-filled: its line is there, its figures are blank, and its label says why. The
data-quality log (every finding on every file received for the year) and, when asked
for, the annual overview (annual_overview.py) are loaded with it.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.errors import UsageError
from pbp_workbooks.base.periods import QUARTER_MONTHS, FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.ledger.store import Ledger, Received, received_for
from pbp_workbooks.reports.annual_overview import ANNUAL, AnnualOverview, load_annual
from pbp_workbooks.reports.figures import Figures, recompute, sum_known
from pbp_workbooks.reports.sla import KIND as SLA
from pbp_workbooks.reports.sla import SlaOverview, load_sla
from pbp_workbooks.reports.status import Official, ProvisionLine, status_rows
from pbp_workbooks.reports.surplus_overview import SURPLUS, SurplusOverview, load_surplus
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import Spec

KIND = "quarterly"


@dataclass
class Line(ProvisionLine):
    """One provision in one reporting quarter: its status and, if accepted, its figures."""

    quarter: int
    figures: Figures | None = None

    def has_data(self) -> bool:
        return self.figures is not None


@dataclass
class Consolidation:
    ws_root: Path
    la_name: str
    year: FinancialYear
    quarter: int  # the headline period
    quarters: list[int]  # reporting quarters shown (issued or received), ending with the headline
    thresholds: Thresholds
    spec: Spec
    provisions: list[roster_mod.Provision]
    lines: dict[tuple[str, int], Line]
    status: list[dict[str, Any]]
    findings: list[dict[str, Any]]  # the data-quality log, one row per finding
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    annual: AnnualOverview | None = None  # the year's accepted annual reports, when asked for and there are any
    surplus: SurplusOverview | None = None  # the year's surplus decisions, asked for with the annual overview
    sla: SlaOverview | None = None  # the year's SLA reviews from the member schools, when any were issued

    @property
    def period(self) -> str:
        return f"{self.year} Q{self.quarter}"

    @property
    def period_long(self) -> str:
        return f"{self.year} Quarter {self.quarter} ({QUARTER_MONTHS[self.quarter]})"

    @property
    def categories(self) -> list[tuple[str, str]]:
        spending = self.spec.grid("spending")
        return list(spending.rows) if spending is not None else []

    def headline(self) -> list[Line]:
        return [self.lines[(p.partnership, self.quarter)] for p in self.provisions]

    def register_line(self, partnership: str) -> Line:
        """Where a provision's items register for the year to date is: its latest accepted
        return up to the headline quarter (each return lists the year's items, those of
        earlier quarters carried over), else the headline quarter's line (which says why)."""
        for q in sorted((q for q in self.quarters if q <= self.quarter), reverse=True):
            ln = self.lines.get((partnership, q))
            if ln is not None and ln.figures is not None:
                return ln
        return self.lines[(partnership, self.quarter)]

    def first_reported(self, partnership: str, item: Any) -> int | None:
        """The first quarter whose accepted return lists the same item (date, description,
        supplier and amount): where a carried-over row was first reported."""
        for q in sorted(self.quarters):
            ln = self.lines.get((partnership, q))
            if ln is not None and ln.figures is not None and any(
                    (i.date, i.description, i.supplier, i.amount) == (item.date, item.description, item.supplier,
                                                                       item.amount) for i in ln.figures.items):
                return q
        return None

    def all_lines(self) -> list[Line]:
        """Every reporting quarter's lines, quarter by quarter, in roster order."""
        return [self.lines[(p.partnership, q)] for q in self.quarters for p in self.provisions]

    def accepted(self) -> list[Figures]:
        return [ln.figures for ln in self.headline() if ln.figures is not None]

    def la_total(self, get: Callable[[Figures], Decimal | None]) -> Decimal | None:
        return sum_known(get(f) for f in self.accepted())

    def la_median(self, get: Callable[[Figures], Decimal | None]) -> Decimal | None:
        known = [v for v in (get(f) for f in self.accepted()) if v is not None]
        return statistics.median(known) if known else None


def latest_quarter(ws: Workspace, fy: FinancialYear) -> int:
    with Ledger(ws.ledger_path) as ledger:
        row = ledger.conn.execute(
            "SELECT MAX(q) FROM (SELECT MAX(quarter) AS q FROM issued WHERE kind = ? AND year = ?"
            " UNION ALL SELECT MAX(quarter) FROM received WHERE kind = ? AND year = ?)",
            (KIND, str(fy), KIND, str(fy))).fetchone()
    if row is None or row[0] is None:
        raise UsageError(f"no quarterly returns have been issued for {fy}: nothing to consolidate "
                         f"(run 'pbp generate quarterly --year {fy} --quarter N' first)")
    return int(row[0])


def _received_row(cur_row: Any) -> Received:
    return Received(**{k: cur_row[k] for k in Received.__dataclass_fields__})


def _provisions(ws: Workspace, ledger: Ledger, status: list[dict[str, Any]], fy: FinancialYear
                ) -> list[roster_mod.Provision]:
    """The roster's provisions, in roster order (status_rows lists them), with the URN and
    provision name the LA issued this year's workbooks with; the roster is read again
    only for a provision that has not been issued anything this year."""
    order = list(dict.fromkeys((r["partnership"], r["host_school"]) for r in status))
    known: dict[str, tuple[str, str]] = {}
    for row in ledger.conn.execute("SELECT partnership, urn, prefill_json FROM issued WHERE kind = ? AND year = ?"
                                   " ORDER BY id", (KIND, str(fy))):
        provision = json.loads(row["prefill_json"] or "{}").get("provision")
        if isinstance(provision, str):
            known[row["partnership"]] = (row["urn"], provision)
    if all(p in known for p, _ in order):
        return [roster_mod.Provision(p, host, *known[p]) for p, host in order]
    return list(roster_mod.load(ws.roster_path).provisions)


def load(ws: Workspace, fy: FinancialYear, quarter: int | None = None, *, annual: bool | None = None
         ) -> Consolidation:
    """The period's consolidation. ``annual`` (default: when no quarter is given) adds the
    annual overview if the LA has accepted at least one annual report for the year."""
    spec = spec_mod.load(KIND)
    cfg = ws.config
    if annual is None:
        annual = quarter is None
    if quarter is None:
        quarter = latest_quarter(ws, fy)
    all_status = status_rows(ws, fy, None)
    if not any(r["issued"] for r in all_status if r["kind"] == KIND and r["quarter"] == quarter):
        issued = sorted({r["quarter"] for r in all_status if r["kind"] == KIND and r["issued"]})
        raise UsageError(f"{fy} Q{quarter} was never issued: there is nothing to consolidate. "
                         + (f"Quarters issued for {fy}: {', '.join(f'Q{q}' for q in issued)}" if issued else
                            f"Issue it first: pbp generate quarterly --year {fy} --quarter {quarter}"))
    status = [r for r in all_status if r["kind"] == KIND and r["quarter"] <= quarter]
    active = {r["quarter"] for r in status if r["issued"] or r["received"]}
    quarters = sorted(active | {quarter})
    status = [r for r in status if r["quarter"] in quarters]
    by_key = {(r["partnership"], r["quarter"]): r for r in status}
    lines: dict[tuple[str, int], Line] = {}
    findings: list[dict[str, Any]] = []
    with Ledger(ws.ledger_path) as ledger:
        provisions = _provisions(ws, ledger, status, fy)
        for q in quarters:
            received = received_for(ledger, KIND, str(fy), q)
            by_version = {(r.partnership, r.version): r for r in received}
            for prov in provisions:
                row = by_key[(prov.partnership, q)]
                line = Line(prov, row, q)
                lines[(prov.partnership, q)] = line
                rec = by_version.get((prov.partnership, row["official_version"]))
                if row["official_version"] and rec is not None and rec.values_json:
                    line.official = Official(rec.version or 0, rec.status, rec.received_at, rec.original_name,
                                             rec.archive_path, rec.sha256)
                    line.figures = recompute(spec, rec.values_json, q, cfg.thresholds)
            for rec in received:
                official = by_key.get((rec.partnership or "", q), {}).get("official_version")
                findings.extend(_finding_rows(rec, f"{fy} Q{q}", official))
        # files the LA could not attribute to a return at all belong in the log too
        for raw in ledger.conn.execute("SELECT * FROM received WHERE partnership IS NULL ORDER BY id").fetchall():
            findings.extend(_finding_rows(_received_row(raw), "unidentified file", None))
        overview = load_annual(ledger, fy, provisions, [r for r in all_status if r["kind"] == ANNUAL]) \
            if annual else None
        surplus = load_surplus(ledger, fy, provisions, [r for r in all_status if r["kind"] == SURPLUS]) \
            if annual else None
        sla = load_sla(ledger, fy, all_status, roster_mod.load(ws.roster_path).provisions,
                       datetime.now(UTC).date(), cfg.sla_review_months) \
            if any(r["kind"] == SLA and (r["issued"] or r["received"]) for r in all_status) else None
    return Consolidation(ws.root, cfg.la_name, fy, quarter, quarters, cfg.thresholds, spec, provisions, lines, status,
                         findings, annual=overview, sla=sla, surplus=surplus)


def _finding_rows(rec: Received, period: str, official_version: int | None) -> list[dict[str, Any]]:
    base = {"period": period, "partnership": rec.partnership, "version": rec.version, "file": rec.original_name,
            "received_at": rec.received_at, "file_status": rec.status,
            "official": official_version is not None and rec.version == official_version}
    out = []
    for f in json.loads(rec.findings_json or "[]"):
        out.append({**base, "code": f.get("code"), "severity": f.get("severity"), "sheet": f.get("sheet"),
                    "cell": f.get("cell"), "name": f.get("name"),
                    "value": None if f.get("value") is None else str(f.get("value")), "message": f.get("message")})
    return out
