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

SURPLUS_USES = (("cpd", "CPD"), ("future", "Future proofing"), ("contingency", "Contingency"), ("other", "Other"))


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
    surplus: tuple[Decimal | None, ...]  # in SURPLUS_USES order
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
    balance, allocation = _dec(values.get("forecast_balance")), _dec(values.get("dsg_allocation"))
    if balance is None or allocation is None:
        return None, None, "No data", False, "No data", "no accepted return"
    budget, variance = _dec(values.get("exp_total_budget")), _dec(values.get("exp_total_variance"))
    planned = _dec(values.get("surplus_planned_total")) or Decimal(0)
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
    """Figures of one return from ``values`` = inputs + fields computed by calc.compute."""
    exp = next(s for s in spec.sections if s.key == "exp")
    items_sec = next(s for s in spec.sections if s.key == "items")
    cats = []
    for key, label in zip(exp.row_keys, exp.row_labels, strict=True):
        g = lambda c, k=key: values.get(f"exp_{k}_{c}")  # noqa: E731
        commentary = g("commentary")
        cats.append(Category(key, label, _dec(g("budget")), tuple(_dec(g(f"q{q}")) for q in (1, 2, 3, 4)),
                             _dec(g("to_date")), _dec(g("forecast")), _dec(g("outturn")), _dec(g("variance")),
                             commentary if isinstance(commentary, str) and commentary != "" else None))
    items = []
    for key in items_sec.row_keys:
        g = lambda c, k=key: values.get(f"items_{k}_{c}")  # noqa: E731
        raw = [g(c) for c in items_sec.col_keys]
        if all(v is None or v == "" for v in raw):
            continue
        txt = lambda v: None if v is None or v == "" else str(v)  # noqa: E731
        dt = lambda v: v if isinstance(v, date) else None  # noqa: E731
        items.append(Item(key, dt(g("date")), txt(g("description")), txt(g("supplier")), txt(g("category")),
                          _dec(g("amount")), txt(g("partnership_signatory")), dt(g("partnership_signed")),
                          txt(g("host_signatory")), dt(g("host_signed"))))
    allocation, balance = _dec(values.get("dsg_allocation")), _dec(values.get("forecast_balance"))
    budget, variance = _dec(values.get("exp_total_budget")), _dec(values.get("exp_total_variance"))
    planned = _dec(values.get("surplus_planned_total"))
    threshold, unplanned, flag, clawback, rag, reason = assess(spec, values, th)
    text = lambda n: values.get(n) if isinstance(values.get(n), str) and values.get(n) != "" else None  # noqa: E731
    placements = values.get("placements_outside_ks")
    return Figures(
        quarter=quarter, allocation=allocation, balance_bf=_dec(values.get("balance_bf")),
        other_income=_dec(values.get("other_income")), other_income_description=text("other_income_description"),
        total_income=_dec(values.get("total_income")), budget=budget,
        actual=tuple(_dec(values.get(f"exp_total_q{q}")) if q <= quarter else None for q in (1, 2, 3, 4)),
        to_date=_dec(values.get("exp_total_to_date")), forecast=_dec(values.get("exp_total_forecast")),
        outturn=_dec(values.get("exp_total_outturn")), variance=variance, forecast_balance=balance,
        surplus=tuple(_dec(values.get(f"surplus_{k}")) for k, _ in SURPLUS_USES),
        surplus_other_description=text("surplus_other_description"), planned_total=planned,
        surplus_approach=text("surplus_approach"), recovery_plan=text("recovery_plan"),
        placements=placements if isinstance(placements, int) else None, mdm_held=text("placements_mdm_held"),
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
