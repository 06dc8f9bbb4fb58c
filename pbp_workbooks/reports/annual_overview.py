"""The annual overview: the year's accepted annual reports, and the published pupil counts drawn from them.

Added to the consolidation when it is asked for without --quarter and the LA has accepted
at least one annual report for the year. Its outputs -- the LA workbook's three sheets
(Annual KPIs, Annual pupils, Annual delivery: annual_sheets.py), the annual CSV
(csv_export.py) and the headteacher summaries' Annual sheet (summary.py) -- are
PUBLISHED: they may be circulated to the partnerships and the Behaviour Partnership
Board, so every pupil count in them goes through suppression.py. There is one
suppression pattern for the whole overview (``_suppress_annual``), shared by all of
them, so that no two published outputs can be combined to undo it. The other sheets of
the LA workbook are LA-internal and keep exact counts (see About).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.reports import suppression
from pbp_workbooks.reports.status import YearlyLine, yearly_lines
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import Grid, Spec

ANNUAL = "annual"
# the roles (in the annual spec's [roles]) of the grids the overview publishes
BREAKDOWNS = ("by_gender", "by_ethnicity", "by_send", "by_key_stage")
METHODS = "delivery_methods"
KPI = "kpis"


def kpi_better(spec: Spec, key: str) -> str:
    """'higher' or 'lower': which way is better for a KPI row (the spec's rows_lower_is_better)."""
    kpis = spec.grid(KPI)
    return "lower" if kpis is not None and key in kpis.row_sets.get("lower_is_better", ()) else "higher"


def grid(spec: Spec, role: str) -> Grid:
    g = spec.grid(role)
    if g is None:
        raise SpecError(f"{spec.id} has no {role} grid in its [roles]")
    return g


def kpi_status(target: Any, actual: Any, better: str) -> str:
    """'Met' / 'Not met' / 'No data': a word, never a colour alone."""
    if not isinstance(target, Decimal | int) or not isinstance(actual, Decimal | int):
        return "No data"
    return "Met" if (actual >= target if better == "higher" else actual <= target) else "Not met"


def count_or_zero(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


@dataclass
class AnnualLine(YearlyLine):
    """One provision's annual report: its status and, if one was accepted, its values."""

    what: ClassVar[str] = "annual report"


@dataclass
class AnnualOverview:
    year: FinancialYear
    spec: Spec
    lines: list[AnnualLine]
    hidden: dict[tuple[str, ...], bool]  # suppression pattern, see _suppress_annual

    def accepted(self) -> list[AnnualLine]:
        return [ln for ln in self.lines if ln.values is not None]

    def rows(self, role: str) -> list[tuple[str, str]]:
        """(row key, label) of the grid with this role."""
        return list(grid(self.spec, role).rows)

    def title(self, role: str) -> str:
        return grid(self.spec, role).section.title

    def section_key(self, role: str) -> str:
        """The grid's section in the spec (what the CSV calls it)."""
        return grid(self.spec, role).section.key

    def value(self, values: dict[str, Any], role: str) -> Any:
        """A field by its role in one report's values (None when the spec has no such role)."""
        return self.spec.value(values, role)

    def grid_value(self, values: dict[str, Any], role: str, row: str, column: str) -> Any:
        return values.get(grid(self.spec, role).cell(row, column))

    def line(self, partnership: str) -> AnnualLine:
        return next(ln for ln in self.lines if ln.partnership == partnership)

    # ---- published values: a count, or suppression.MARKER
    def _pub(self, key: tuple[str, ...], n: int | None) -> int | str | None:
        return suppression.shown(n, self.hidden.get(key, False))

    def _share(self, n: int, total: int, *keys: tuple[str, ...]) -> Decimal | str | None:
        if any(self.hidden.get(k, False) for k in keys):
            return suppression.MARKER
        return None if total == 0 else Decimal(n) / Decimal(total)

    def pupils(self, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub(("pupils", p), count_or_zero(self.value(v, "pupils")))

    def cell(self, b: str, row: str, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub(("cell", b, row, p),
                                                count_or_zero(self.grid_value(v, b, row, "pupils")))

    def share(self, b: str, row: str, p: str) -> Decimal | str | None:
        v = self.line(p).values
        if v is None:
            return None
        return self._share(count_or_zero(self.grid_value(v, b, row, "pupils")), count_or_zero(self.value(v, "pupils")),
                           ("cell", b, row, p), ("pupils", p))

    def la_pupils(self) -> int | str:
        return self._pub(("grand",), sum(count_or_zero(self.value(ln.values, "pupils")) for ln in self.accepted()
                                         if ln.values)) or 0

    def la_count(self, b: str, row: str) -> int:
        return sum(count_or_zero(self.grid_value(ln.values, b, row, "pupils")) for ln in self.accepted() if ln.values)

    def la_cell(self, b: str, row: str) -> int | str | None:
        return self._pub(("col", b, row), self.la_count(b, row))

    def la_share(self, b: str, row: str) -> Decimal | str | None:
        grand = sum(count_or_zero(self.value(ln.values, "pupils")) for ln in self.accepted() if ln.values)
        return self._share(self.la_count(b, row), grand, ("col", b, row), ("grand",))

    def methods(self, row: str, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub((METHODS, row, p),
                                                count_or_zero(self.grid_value(v, METHODS, row, "pupils")))

    def la_methods(self, row: str) -> int | str | None:
        return self._pub(("method_total", row), sum(count_or_zero(self.grid_value(ln.values, METHODS, row, "pupils"))
                                                    for ln in self.accepted() if ln.values))

    def placements(self, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub(("out_of_key_stage", p),
                                                count_or_zero(self.value(v, "out_of_key_stage")))

    def la_placements(self) -> int | str | None:
        return self._pub(("out_of_key_stage_total",), sum(count_or_zero(self.value(ln.values, "out_of_key_stage"))
                                                          for ln in self.accepted() if ln.values))


def _suppress_annual(spec: Spec, lines: list[AnnualLine]) -> dict[tuple[str, ...], bool]:
    """One suppression pattern for everything the overview publishes: per breakdown a
    partnership x group table whose row totals are the pupils supported (shared by the
    four breakdowns), whose column totals are the LA's, and whose grand total is the LA's
    pupils supported; the pupils per delivery method and the placements outside key stage
    with their LA totals."""
    acc = [ln for ln in lines if ln.values is not None]
    values: list[int] = []
    keys: list[tuple[str, ...]] = []
    idx: dict[tuple[str, ...], int] = {}

    def add(key: tuple[str, ...], v: int) -> int:
        idx[key] = len(values)
        values.append(v)
        keys.append(key)
        return idx[key]

    def get(ln: AnnualLine, name: str | None) -> int:
        assert ln.values is not None
        return count_or_zero(ln.values.get(name)) if name is not None else 0

    relations: list[list[int]] = []
    rows_of = {role: grid(spec, role).section.row_keys for role in (*BREAKDOWNS, METHODS)}
    pupils = [add(("pupils", ln.partnership), get(ln, spec.role("pupils"))) for ln in acc]
    grand = add(("grand",), sum(values[i] for i in pupils))
    relations.append([*pupils, grand])
    for b in BREAKDOWNS:
        cols = []
        cells: dict[tuple[str, str], int] = {}
        for row in rows_of[b]:
            for ln in acc:
                cells[(row, ln.partnership)] = add(("cell", b, row, ln.partnership),
                                                   get(ln, grid(spec, b).cell(row, "pupils")))
            members = [cells[(row, ln.partnership)] for ln in acc]
            cols.append(add(("col", b, row), sum(values[i] for i in members)))
            relations.append([*members, cols[-1]])
        for ln, total in zip(acc, pupils, strict=True):
            relations.append([*(cells[(row, ln.partnership)] for row in rows_of[b]), total])
        relations.append([*cols, grand])
    for row in rows_of[METHODS]:  # a pupil can count under several methods: no row total
        members = [add((METHODS, row, ln.partnership), get(ln, grid(spec, METHODS).cell(row, "pupils"))) for ln in acc]
        relations.append([*members, add(("method_total", row), sum(values[i] for i in members))])
    members = [add(("out_of_key_stage", ln.partnership), get(ln, spec.role("out_of_key_stage"))) for ln in acc]
    relations.append([*members, add(("out_of_key_stage_total",), sum(values[i] for i in members))])
    hidden = suppression.protect(values, relations)
    return dict(zip(keys, hidden, strict=True))


def load_annual(ledger: Ledger, fy: FinancialYear, provisions: list[roster_mod.Provision],
                status: list[dict[str, Any]]) -> AnnualOverview | None:
    """The year's annual reports, official = latest accepted version; None when none was accepted."""
    if ANNUAL not in spec_mod.available():
        return None
    spec = spec_mod.load(ANNUAL)
    lines = yearly_lines(ledger, spec, fy, provisions, status, AnnualLine)
    if not any(ln.values is not None for ln in lines):
        return None
    return AnnualOverview(fy, spec, lines, _suppress_annual(spec, lines))
