"""The year's surplus decisions as the LA consolidates them: per partnership, the balance,
what was kept and for what, what was shared, what is undecided and may be clawed back;
and the payments to member schools (school, URN, partnership, amount) for the finance system.

Added to the consolidation beside the annual overview (``pbp consolidate`` without
--quarter) once any surplus decision was issued or received for the year. Its outputs: the
LA workbook's Surplus and Surplus payments sheets (surplus_sheets.py), the payments CSV
(csv_export.py) and the headteacher summaries' Surplus sheet (summary.py). Every figure is
recomputed from the official (latest accepted) decision's inputs, never read from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from . import calc
from . import roster as roster_mod
from . import spec as spec_mod
from .figures import decode
from .ledger import Ledger, received_for
from .periods import FinancialYear
from .sources import member_rows
from .status import Official, ProvisionLine

SURPLUS = "surplus"
GRID = "school"
KEPT = ("kept_cpd", "kept_future", "kept_contingency", "kept_strategic")


@dataclass(frozen=True)
class Payment:
    partnership: str
    school: str
    urn: str
    amount: Decimal
    version: int


@dataclass
class SurplusLine(ProvisionLine):
    """One provision's surplus decision: its status and, once one is accepted, its values."""

    values: dict[str, Any] | None = None  # inputs + formula fields (calc.compute)
    what: ClassVar[str] = "surplus decision"

    def has_data(self) -> bool:
        return self.values is not None

    def money(self, name: str) -> Decimal | None:
        v = (self.values or {}).get(name)
        return v if isinstance(v, Decimal) else None

    def text(self, name: str) -> Any:
        return (self.values or {}).get(name)

    def payments(self, rows: int) -> list[Payment]:
        """The allocations to member schools, in row order (none of 0.00 is left out: every school
        the partnership shared among is listed)."""
        if self.values is None or self.official is None or not (self.money("distribute_amount") or 0) > 0:
            return []
        out = []
        for n in range(1, rows + 1):
            urn, amount = self.values.get(f"{GRID}_{n}_urn"), self.values.get(f"{GRID}_{n}_allocation")
            if urn in (None, "") or not isinstance(amount, Decimal):
                continue
            out.append(Payment(self.partnership, str(self.values.get(f"{GRID}_{n}_name") or ""), str(urn), amount,
                               self.official.version))
        return out


@dataclass
class SurplusOverview:
    year: FinancialYear
    lines: list[SurplusLine]
    rows: int  # member school rows in the spec

    def accepted(self) -> list[SurplusLine]:
        return [ln for ln in self.lines if ln.values is not None]

    def line(self, partnership: str) -> SurplusLine | None:
        return next((ln for ln in self.lines if ln.partnership == partnership), None)

    def payments(self) -> list[Payment]:
        return [p for ln in self.lines for p in ln.payments(self.rows)]

    def total(self, name: str) -> Decimal:
        return sum((ln.money(name) or Decimal(0) for ln in self.accepted()), Decimal(0))


def load_surplus(ledger: Ledger, fy: FinancialYear, provisions: list[roster_mod.Provision],
                 status: list[dict[str, Any]]) -> SurplusOverview | None:
    """The year's surplus decisions, official = latest accepted version; None when none was
    issued or received for the year."""
    if SURPLUS not in spec_mod.available() or not any(r["issued"] or r["received"] for r in status):
        return None
    spec = spec_mod.load(SURPLUS)
    by_partnership = {r["partnership"]: r for r in status}
    by_version = {(r.partnership, r.version): r for r in received_for(ledger, SURPLUS, str(fy), None)}
    lines = []
    for prov in provisions:
        row = by_partnership.get(prov.partnership) or {
            "state": "not issued", "late": False, "latest_version": None, "latest_status": None,
            "official_version": None}
        line = SurplusLine(prov, row)
        rec = by_version.get((prov.partnership, row["official_version"]))
        if row["official_version"] and rec is not None and rec.values_json:
            line.official = Official(rec.version or 0, rec.status, rec.received_at, rec.original_name,
                                     rec.archive_path, rec.sha256)
            line.values = calc.compute(spec, decode(spec, rec.values_json))
        lines.append(line)
    return SurplusOverview(fy, lines, member_rows(spec))
