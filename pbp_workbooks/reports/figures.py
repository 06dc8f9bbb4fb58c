"""One official quarterly return's figures: what the LA outputs show for it, and its RAG assessment.

``recompute`` turns the ledger's stored inputs (``values_json``, decoded by ``decode``
with the spec's field types) into ``Figures``: every formula field is recomputed with
``calc.compute`` and cached values in a received file are never used. Money stays
Decimal; a blank stays None (``sum_known`` never makes up a zero). ``assess`` gives the
surplus flag, the possible claw-back and the RAG status with its reason; ``gbp`` and
``pct_text`` are how the outputs write money and percentages in sentences.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.spec import calc, expr, registry
from pbp_workbooks.spec.model import Spec

_Date = date  # a field of Item is called 'date'



def _dec(v: Any) -> Decimal | None:
    return v if isinstance(v, Decimal) else None


def sum_known(values: Iterable[Decimal | None]) -> Decimal | None:
    """Sum of the known values; None when there are none (never a made-up zero)."""
    known = [v for v in values if v is not None]
    return sum(known, Decimal("0.00")) if known else None


def ratio(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    budget: Decimal | None
    actual: tuple[Decimal | None, ...]  # Q1..Q4; None for quarters after the return's own
    to_date: Decimal | None
    forecast: Decimal | None
    outturn: Decimal | None
    variance: Decimal | None
    commentary: str | None


@dataclass(frozen=True)
class Item:
    row: str
    date: _Date | None
    description: str | None
    supplier: str | None
    category: str | None
    amount: Decimal | None
    partnership_signatory: str | None
    partnership_signed: _Date | None
    host_signatory: str | None
    host_signed: _Date | None

    @property
    def signed_by_both(self) -> bool:
        return None not in (self.partnership_signatory, self.partnership_signed, self.host_signatory,
                            self.host_signed)


@dataclass(frozen=True)
class Figures:
    """Everything the outputs show for one official return, recomputed from its inputs."""

    quarter: int
    allocation: Decimal | None
    balance_bf: Decimal | None
    other_income: Decimal | None
    other_income_description: str | None
    total_income: Decimal | None
    budget: Decimal | None
    actual: tuple[Decimal | None, ...]  # totals for Q1..Q4
    to_date: Decimal | None
    forecast: Decimal | None
    outturn: Decimal | None
    variance: Decimal | None
    forecast_balance: Decimal | None
    surplus: tuple[Decimal | None, ...]  # the spec's surplus_uses, in order
    surplus_other_description: str | None
    planned_total: Decimal | None
    surplus_approach: str | None
    recovery_plan: str | None
    placements: int | None
    mdm_held: str | None
    categories: tuple[Category, ...]
    items: tuple[Item, ...]
    threshold: Decimal | None  # surplus_plan_pct of the allocation
    unplanned: Decimal | None
    surplus_flag: str
    clawback: bool
    rag: str  # Green | Amber | Red
    rag_reason: str

    @property
    def variance_pct(self) -> Decimal | None:
        return ratio(self.variance, self.budget)

    @property
    def balance_pct(self) -> Decimal | None:
        return ratio(self.forecast_balance, self.allocation)

    @property
    def spent_pct(self) -> Decimal | None:
        return ratio(self.to_date, self.budget)

    @property
    def rag_label(self) -> str:
        return rag_label(self.rag)


def rag_label(rag: str) -> str:
    return {"Green": "Green – on track", "Amber": "Amber – needs watching", "Red": "Red – action needed"}.get(
        rag, "No data – no accepted return")


def gbp(v: Decimal | None, pence: bool = True) -> str:
    if v is None:
        return "blank"
    sign = "-" if v < 0 else ""
    return f"{sign}£{abs(v):,.2f}" if pence else f"{sign}£{abs(v):,.0f}"


def pct_text(v: Decimal | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def assess(spec: Spec, values: Mapping[str, Any], th: Thresholds
           ) -> tuple[Decimal | None, Decimal | None, str, bool, str, str]:
    """(threshold, unplanned surplus, surplus flag, possible claw-back, RAG, reason) of one return,
    from ``values`` = its inputs and computed fields.

    The RAG rating is the first of the spec's ratings (``[[rating]]`` in validators/<kind>.toml,
    read through the rule registry) whose condition holds, Green when none does: Red when a
    deficit is forecast; Amber when a claw-back is possible (toolkit section 4: the forecast
    balance is above ``surplus_plan_pct`` of the allocation AND so is the part of it with no
    planned use), or when the forecast outturn is off budget by more than the LA allows without
    a commentary. Green includes a surplus whose use is planned.
    """
    def by_role(role: str) -> Decimal | None:
        return _dec(spec.value(values, role))

    balance, allocation = by_role("year_end_forecast"), by_role("allocation")
    if balance is None or allocation is None:
        return None, None, "No data", False, "No data", "no accepted return"
    spending = spec.grid("spending")
    budget = _dec(values.get(spending.total("budget"))) if spending else None
    variance = _dec(values.get(spending.total("variance"))) if spending else None
    planned = by_role("surplus_planned") or Decimal(0)
    threshold = (allocation * th.surplus_plan_pct / 100).quantize(Decimal("0.01"))
    unplanned = max(balance - planned, Decimal(0)) if balance > 0 else Decimal("0.00")
    env = {**th.params(), **values}
    held = [r for r in registry.ratings(spec) if expr.evaluate(r.when, env) is True]
    clawback = any(r.means == "clawback" for r in held)
    if balance < 0:
        flag = "Deficit: recovery plan needed"
    elif clawback:
        flag = ("Possible claw-back: no planned use" if planned == 0
                else f"Possible claw-back: {gbp(unplanned)} not planned")
    elif balance > threshold:
        flag = "Surplus planned"
    else:
        flag = f"Within {th.surplus_plan_pct}% of allocation"
    if held:
        words = {"deficit": gbp(-balance, False), "unplanned": gbp(unplanned, False),
                 "variance": gbp(abs(variance), False) if variance is not None else "blank",
                 "direction": "over" if variance is not None and variance > 0 else "under",
                 "variance_pct": pct_text(ratio(variance, budget))}
        return threshold, unplanned, flag, clawback, held[0].rating, held[0].reason.format(**words)
    reason = "spending is close to budget" + (" and the surplus has a planned use" if balance > threshold else "")
    return threshold, unplanned, flag, clawback, "Green", reason


def figures(spec: Spec, values: dict[str, Any], quarter: int, th: Thresholds) -> Figures:
    """Figures of one return from ``values`` = inputs + fields computed by calc.compute. Fields are
    found by their roles in the spec (``[roles]``), never by name."""
    def by_role(role: str) -> Any:
        return spec.value(values, role)

    def text(role: str) -> str | None:
        v = by_role(role)
        return v if isinstance(v, str) and v != "" else None

    def dt(v: Any) -> date | None:
        return v if isinstance(v, date) else None

    def txt(v: Any) -> str | None:
        return None if v is None or v == "" else str(v)

    spending, register = spec.grid("spending"), spec.grid("large_items")
    if spending is None or register is None:
        raise ValueError(f"{spec.id} has no spending grid or large-items register: it has no quarterly figures")
    cats = []
    for key, label in spending.rows:
        g = lambda role, k=key: values.get(spending.cell(k, role))  # noqa: E731
        commentary = g("commentary")
        cats.append(Category(key, label, _dec(g("budget")),
                             tuple(_dec(values.get(n)) for n in spending.cells(key, "actuals")),
                             _dec(g("to_date")), _dec(g("forecast")), _dec(g("outturn")), _dec(g("variance")),
                             commentary if isinstance(commentary, str) and commentary != "" else None))
    items = []
    for key, _label in register.rows:
        g = lambda role, k=key: values.get(register.cell(k, role))  # noqa: E731
        raw = [values.get(n) for n in register.row_cells(key)]
        if all(v is None or v == "" for v in raw):
            continue
        items.append(Item(key, dt(g("date")), txt(g("description")), txt(g("supplier")), txt(g("category")),
                          _dec(g("amount")), txt(g("partnership_signatory")), dt(g("partnership_signed")),
                          txt(g("host_signatory")), dt(g("host_signed"))))
    allocation, balance = _dec(by_role("allocation")), _dec(by_role("year_end_forecast"))
    budget, variance = _dec(values.get(spending.total("budget"))), _dec(values.get(spending.total("variance")))
    planned = _dec(by_role("surplus_planned"))
    threshold, unplanned, flag, clawback, rag, reason = assess(spec, values, th)
    placements = by_role("out_of_key_stage")
    actual_totals = spending.totals("actuals")
    return Figures(
        quarter=quarter, allocation=allocation, balance_bf=_dec(by_role("brought_forward")),
        other_income=_dec(by_role("income_other")), other_income_description=text("income_other_source"),
        total_income=_dec(by_role("income_total")), budget=budget,
        actual=tuple(_dec(values.get(n)) if q <= quarter else None for q, n in enumerate(actual_totals, 1)),
        to_date=_dec(values.get(spending.total("to_date"))), forecast=_dec(values.get(spending.total("forecast"))),
        outturn=_dec(values.get(spending.total("outturn"))), variance=variance, forecast_balance=balance,
        surplus=tuple(_dec(values.get(n)) for n in spec.roles("surplus_uses")),
        surplus_other_description=text("surplus_other_use"), planned_total=planned,
        surplus_approach=text("surplus_distribution"), recovery_plan=text("deficit_recovery"),
        placements=placements if isinstance(placements, int) else None, mdm_held=text("mdm_held"),
        categories=tuple(cats), items=tuple(items), threshold=threshold, unplanned=unplanned, surplus_flag=flag,
        clawback=clawback, rag=rag, rag_reason=reason)


def decode(spec: Spec, values_json: str) -> dict[str, Any]:
    """The ledger's values_json (text) back into typed inputs, by the spec's field types."""
    raw = json.loads(values_json)
    out: dict[str, Any] = {}
    for f in spec.fields:
        if f.formula is not None:
            continue
        v = raw.get(f.name)
        if v is None:
            out[f.name] = None
        elif f.type in ("money", "signed_money", "percent", "number"):
            try:
                out[f.name] = Decimal(str(v))
            except InvalidOperation:
                out[f.name] = str(v)  # calc then reports #VALUE!, as Excel would
        elif f.type == "integer":
            out[f.name] = int(v) if isinstance(v, int) or str(v).lstrip("-").isdigit() else str(v)
        elif f.type == "date":
            try:
                out[f.name] = date.fromisoformat(str(v)[:10])
            except ValueError:
                out[f.name] = str(v)
        else:
            out[f.name] = str(v)
    return out


def recompute(spec: Spec, values_json: str, quarter: int, th: Thresholds) -> Figures:
    """One official return: inputs from the ledger, every formula field by calc.compute."""
    return figures(spec, calc.compute(spec, decode(spec, values_json)), quarter, th)
