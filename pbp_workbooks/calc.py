"""Compute every formula field from the inputs, exactly (Decimal), and the Checks list.

Used by the writer for cached values (so a viewer that never recalculates shows the
truth) and by the validator (which never trusts a returned file's cached results).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from . import expr, rules
from .money import format_gbp
from .spec import Field, Spec


class CalcError:
    """Stands for a formula that cannot be computed (Excel would show #VALUE!)."""

    def __repr__(self) -> str:
        return "#VALUE!"


VALUE_ERROR = CalcError()


def _lookup(values: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    def get(name: str) -> Any:
        if name in values:
            v = values[name]
            if v is VALUE_ERROR:
                raise ValueError("depends on a cell that cannot be calculated")
            if isinstance(v, date):  # dates only take part in blank() tests
                return v.isoformat()
            return v
        return params.get(name)

    return get


def compute(spec: Spec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """All field values: inputs as given (missing = blank) plus every formula field."""
    out: dict[str, Any] = {f.name: inputs.get(f.name) for f in spec.fields if f.formula is None}
    get = _lookup(out, {})
    for f in spec.formula_order:
        assert f.formula is not None
        try:
            out[f.name] = expr.evaluate(f.formula, get)
        except (ValueError, ZeroDivisionError):
            out[f.name] = VALUE_ERROR
    return out


@dataclass(frozen=True)
class Check:
    """One line of the Checks sheet: true condition = a problem to fix."""

    label: str
    when: expr.Expr
    cells: tuple[str, ...]
    code: str


@cache
def checks(spec: Spec, quarter: int | None) -> tuple[Check, ...]:
    """The Checks sheet's lines for a period: required inputs per section, then rules."""
    out: list[Check] = []
    for section in spec.sections:
        required = [f.name for f in spec.fields if f.section == section.key and f.is_required(quarter)]
        if required:
            out.append(Check(f"{section.title}: fill in every required yellow cell",
                             expr.parse(f"count_blank({', '.join(required)}) > 0"), tuple(required),
                             f"{spec.code_prefix}-E101"))
    for rule in rules.expand(spec):
        if rule.check:
            label = rules.render(rule.check, rule, lambda n: spec[n].label)
            out.append(Check(label, rule.when, rule.cells, rule.code))
    return tuple(out)


def failing(check: Check, values: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    try:
        return bool(expr.evaluate(check.when, _lookup(values, params)))
    except (ValueError, ZeroDivisionError):
        return True


def format_value(f: Field, v: Any) -> str:
    if v is None or v == "":
        return "blank"
    if v is VALUE_ERROR:
        return "#VALUE!"
    if f.type in ("money", "signed_money") and isinstance(v, Decimal):
        return format_gbp(v)
    if f.type == "percent" and isinstance(v, Decimal):
        return f"{v * 100:.1f}%"
    if f.type == "number" and isinstance(v, Decimal):
        return f"{v.normalize():f}"  # 12.0 -> 12, 92.50 -> 92.5, 100 -> 100
    if isinstance(v, date):
        return v.strftime("%d/%m/%Y")
    return str(v)
