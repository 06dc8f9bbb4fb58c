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

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.reports.status import YearlyLine, yearly_lines
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import Spec

SURPLUS = "surplus"
SCHOOLS = "member_schools"  # the role of the spec's grid of member schools


def spec() -> Spec:
    return spec_mod.load(SURPLUS)


def name(role: str) -> str:
    """The defined name of the surplus spec's field with this role."""
    found = spec().role(role)
    if found is None:
        raise SpecError(f"{spec().id}: no field has the role {role!r}")
    return found


def kept() -> tuple[tuple[str, str], ...]:
    """(defined name, label) of each amount kept for the provision, by use (toolkit section 4)."""
    return tuple((n, spec()[n].label) for n in spec().roles("kept"))


@dataclass(frozen=True)
class Payment:
    partnership: str
    school: str
    urn: str
    amount: Decimal
    version: int


@dataclass
class SurplusLine(YearlyLine):
    """One provision's surplus decision: its status and, once one is accepted, its values."""

    what: ClassVar[str] = "surplus decision"

    def money(self, field: str) -> Decimal | None:
        """A money field's value (by defined name: ask ``name(role)`` for it)."""
        v = (self.values or {}).get(field)
        return v if isinstance(v, Decimal) else None

    def amount(self, role: str) -> Decimal | None:
        return self.money(name(role))

    def text(self, role: str) -> Any:
        return (self.values or {}).get(name(role))

    def kept_total(self) -> Decimal:
        return sum((self.money(n) or Decimal(0) for n, _ in kept()), Decimal(0))

    def schools(self) -> list[tuple[str, str, Decimal, Decimal]]:
        """(school, URN, share, allocation) of every member school row, top to bottom."""
        grid = spec().grid(SCHOOLS)
        if self.values is None or grid is None:
            return []
        out = []
        for row, _label in grid.rows:
            urn, amount = self.values.get(grid.cell(row, "urn")), self.values.get(grid.cell(row, "allocation"))
            share = self.values.get(grid.cell(row, "share"))
            if urn in (None, "") or not isinstance(amount, Decimal):
                continue
            out.append((str(self.values.get(grid.cell(row, "name")) or ""), str(urn),
                        share if isinstance(share, Decimal) else Decimal(0), amount))
        return out

    def payments(self) -> list[Payment]:
        """The allocations to member schools, in row order (one of 0.00 too: every school the
        partnership shared among is listed); none when nothing was shared."""
        if self.official is None or not (self.amount("shared") or 0) > 0:
            return []
        return [Payment(self.partnership, school, urn, amount, self.official.version)
                for school, urn, _share, amount in self.schools()]


@dataclass
class SurplusOverview:
    year: FinancialYear
    lines: list[SurplusLine]

    def accepted(self) -> list[SurplusLine]:
        return [ln for ln in self.lines if ln.values is not None]

    def line(self, partnership: str) -> SurplusLine | None:
        return next((ln for ln in self.lines if ln.partnership == partnership), None)

    def payments(self) -> list[Payment]:
        return [p for ln in self.lines for p in ln.payments()]

    def total(self, field: str) -> Decimal:
        return sum((ln.money(field) or Decimal(0) for ln in self.accepted()), Decimal(0))


def load_surplus(ledger: Ledger, fy: FinancialYear, provisions: list[roster_mod.Provision],
                 status: list[dict[str, Any]]) -> SurplusOverview | None:
    """The year's surplus decisions, official = latest accepted version; None when none was
    issued or received for the year."""
    if SURPLUS not in spec_mod.available() or not any(r["issued"] or r["received"] for r in status):
        return None
    lines = yearly_lines(ledger, spec(), fy, provisions, status, SurplusLine)
    return SurplusOverview(fy, lines)
