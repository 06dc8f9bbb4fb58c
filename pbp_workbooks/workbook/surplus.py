"""The year-end surplus decision's allocations in Python: what the workbook gives.

The allocations are formula fields of the ``surplus`` spec (workbook_templates/surplus.toml),
so Python computes them with the same expressions the workbook's cells hold (calc.compute):
``pbp surplus model`` fills a decision in memory, with the roster's member schools, the
amount and the weights, and reads the allocations back. Nothing here knows the factors: a
weight is any ``weight_<factor>`` input of the spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.errors import UsageError
from pbp_workbooks.base.money import format_gbp
from pbp_workbooks.spec import calc
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import Spec
from pbp_workbooks.workbook.generate import prefill
from pbp_workbooks.workbook.sources import member_sources, members_of

KIND = "surplus"
WEIGHT = "weight_"  # a weight's defined name is weight_<factor> (the spec's weights role)
SCHOOLS = "member_schools"  # the role of the spec's grid of member schools


def spec() -> Spec:
    return spec_mod.load(KIND)


def factors(s: Spec) -> list[str]:
    """The factors a weight can be given to, in the spec's order (roll, fsm, ...)."""
    return [name.removeprefix(WEIGHT) for name in s.roles("weights")]


def parse_weights(text: str, s: Spec) -> dict[str, Decimal]:
    """``roll=40,fsm=30,send=30`` -> each factor's weight as a fraction (0.4), the others 0.
    Whole percentages adding up to 100, as the workbook's rules ask."""
    known = factors(s)
    out = {k: Decimal(0) for k in known}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in known:
            raise UsageError(f"--weights: {part!r} is not FACTOR=PERCENT; the factors are {', '.join(known)}")
        try:
            pct = Decimal(value.strip().rstrip("%"))
        except InvalidOperation:
            raise UsageError(f"--weights: {value.strip()!r} is not a percentage") from None
        if pct != pct.to_integral_value() or not 0 <= pct <= 100:
            raise UsageError(f"--weights: {key}={value.strip()}: give a whole percentage from 0 to 100")
        out[key] = pct / 100
    total = sum(out.values(), Decimal(0)) * 100
    if total != 100:
        raise UsageError(f"--weights add up to {total.normalize():f}%, not 100%")
    return out


@dataclass(frozen=True)
class Allocation:
    row: int
    school: str
    urn: str
    share: Decimal  # a fraction of the amount (0.125)
    amount: Decimal  # pounds and pence

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "name": self.school, "urn": self.urn,
                "share": str(self.share.quantize(Decimal("0.000001"))), "allocation": f"{self.amount:.2f}"}


def allocations(s: Spec, values: dict[str, Any]) -> list[Allocation]:
    """The allocation of every member school row of a decision (its inputs and pre-filled
    cells), computed as the workbook's formulas compute it."""
    computed = calc.compute(s, values)
    grid = s.grid(SCHOOLS)
    assert grid is not None
    out = []
    for n, (row, _label) in enumerate(grid.rows, start=1):
        urn = computed.get(grid.cell(row, "urn"))
        if urn in (None, ""):
            continue
        amount, share = computed[grid.cell(row, "allocation")], computed[grid.cell(row, "share")]
        if not isinstance(amount, Decimal) or not isinstance(share, Decimal):
            raise UsageError(f"the allocation of row {n} cannot be worked out ({amount!r})")
        out.append(Allocation(n, str(computed[grid.cell(row, "name")]), str(urn), share, amount))
    return out


def model(roster: roster_mod.Roster, partnership: str, amount: Decimal, weights: dict[str, Decimal]) -> list[Allocation]:
    """The allocations the partnership's decision workbook would give for sharing ``amount``
    with these weights among its member schools on the roster."""
    s = spec()
    if not members_of(roster, partnership):
        raise UsageError(f"roster.xlsx lists no member schools for {partnership}: add them on the Member schools "
                         "sheet")
    values = prefill(s, member_sources(s, roster, partnership))
    shared = s.role("shared")
    assert shared is not None
    values[shared] = amount
    values.update({f"{WEIGHT}{k}": v for k, v in weights.items()})
    return allocations(s, values)


def table(rows: list[Allocation], amount: Decimal) -> list[str]:
    """The allocations as lines of text, with their total."""
    width = max([len(r.school) for r in rows] + [6])
    lines = [f"{'School':<{width}}  {'URN':<8} {'Share':>8} {'Allocation':>13}"]
    lines += [f"{r.school:<{width}}  {r.urn:<8} {r.share * 100:>7.2f}% {format_gbp(r.amount):>13}" for r in rows]
    total = sum((r.amount for r in rows), Decimal(0))
    lines.append(f"{'Total':<{width}}  {'':<8} {'':>8} {format_gbp(total):>13}")
    if total != amount:  # only when a weighted factor has no pupils at any school
        lines.append(f"The allocations add up to {format_gbp(total)}, not {format_gbp(amount)}: a factor with a "
                     "weight has none at every member school.")
    return lines
