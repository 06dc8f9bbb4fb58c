"""Expected figures worked out by hand from a return's inputs, as a finance officer would
with a calculator: plain Decimal sums of the input cells, written here without calc.compute
or the expression language (the code under test), so a rule test cannot agree with a wrong
formula. Blank cells count as 0; every figure is in pounds and pence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

SURPLUS_PARTS = ("surplus_cpd", "surplus_future", "surplus_contingency", "surplus_other")


def amount(values: Mapping[str, Any], name: str) -> Decimal:
    v = values.get(name)
    return Decimal(0) if v is None or v == "" else Decimal(v)


def total(values: Mapping[str, Any], names: Iterable[str]) -> Decimal:
    return sum((amount(values, n) for n in names), Decimal(0))


# ---- the quarterly return: to date = Q1 + Q2 + Q3 + Q4; outturn = to date + forecast; variance = outturn - budget


def to_date(values: Mapping[str, Any], row: str) -> Decimal:
    return total(values, (f"exp_{row}_q{q}" for q in (1, 2, 3, 4)))


def outturn(values: Mapping[str, Any], row: str) -> Decimal:
    return to_date(values, row) + amount(values, f"exp_{row}_forecast")


def variance(values: Mapping[str, Any], row: str) -> Decimal:
    return outturn(values, row) - amount(values, f"exp_{row}_budget")


def income(values: Mapping[str, Any]) -> Decimal:
    """Total income available: DSG allocation + balance brought forward + other income."""
    return total(values, ("dsg_allocation", "balance_bf", "other_income"))


def forecast_balance(values: Mapping[str, Any], rows: Iterable[str]) -> Decimal:
    """Income less the forecast outturn of every category."""
    return income(values) - sum((outturn(values, r) for r in rows), Decimal(0))


def surplus_planned(values: Mapping[str, Any]) -> Decimal:
    return total(values, SURPLUS_PARTS)


# ---- the annual report: year-end balance = income - the year's actual spend


def year_end_balance(values: Mapping[str, Any], rows: Iterable[str]) -> Decimal:
    return income(values) - total(values, (f"spend_{r}_actual" for r in rows))
