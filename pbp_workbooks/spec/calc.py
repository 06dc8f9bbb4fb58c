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

from pbp_workbooks.base.money import format_gbp
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.spec import expr, rules
from pbp_workbooks.spec.model import NUMERIC, Field, Spec


class CalcError:
    """Stands for a formula that cannot be computed: Excel shows #VALUE! (text or a logical
    used as a number) or #DIV/0!."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __repr__(self) -> str:
        return self.code


VALUE_ERROR = CalcError("#VALUE!")
DIV0_ERROR = CalcError("#DIV/0!")


def _lookup(values: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
    def get(name: str) -> Any:
        if name in values:
            v = values[name]
            if isinstance(v, CalcError):
                raise ValueError("depends on a cell that cannot be calculated")
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
        except ValueError:
            out[f.name] = VALUE_ERROR
        except ZeroDivisionError:
            out[f.name] = DIV0_ERROR
    return out


@dataclass(frozen=True)
class Check:
    """One line of the Checks sheet: true condition = a problem ("Fix" for an error, "Look"
    for a warning, which the LA accepts)."""

    label: str
    when: expr.Expr
    cells: tuple[str, ...]
    code: str
    severity: str = "error"


def limit_terms(f: Field, fy: FinancialYear, quarter: int | None = None) -> list[str]:
    """The field rules a formula can test (ranges, whole numbers, whole pence, dates in their window,
    lengths, choices, email addresses), as expression-language terms that are 1 for a
    problem: the same limits the LA's field rules apply (schemas.py, findings.py)."""
    if f.type in NUMERIC and f.min is not None and f.max is not None:
        pence = [f"not_pence({f.name})"] if f.type in ("money", "signed_money") else []
        return [f"outside({f.name}, {f.min}, {f.max}{', 1' if f.type == 'integer' else ''})", *pence]
    if f.type == "date":
        lo, hi = fy.window(f.window or "year", quarter)
        return [f"outside({f.name}, {(lo - expr.EXCEL_EPOCH).days}, {(hi - expr.EXCEL_EPOCH).days})"]
    terms = []
    if f.type in ("choice", "yesno") and f.choices:
        terms.append(f"not_one_of({f.name}, {', '.join(repr(c) for c in f.choices)})")
    if f.type == "email":
        terms.append(f"not_email({f.name})")
    if f.max_length is not None and f.type in ("text", "email"):
        terms.append(f"too_long({f.name}, {f.max_length})")
    return terms


PART_SIZE = 24  # cells per Checks line: a grid's line stays far below Excel's 8,192 characters


def _parts(title: str, items: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """A section's cells in lines of at most PART_SIZE: "Expenditure (part 1 of 4)"."""
    chunks = [items[i:i + PART_SIZE] for i in range(0, len(items), PART_SIZE)]
    if len(chunks) <= 1:
        return [(title, chunks[0])] if chunks else []
    return [(f"{title} (part {i} of {len(chunks)})", c) for i, c in enumerate(chunks, 1)]


def _period_date_checks(spec: Spec, section: str, open_: list[Field], fy: FinancialYear,
                        quarter: int | None) -> list[Check]:
    """The return's own dates (window ``period``) dated before its period ends: a warning, as
    the LA gives (W112). The day-of-validation limit (E113) needs today's date, which a
    workbook's formula would show differently on each day it is opened: the LA checks it."""
    names = [f.name for f in open_ if f.type == "date" and f.window == "period"]
    if not names:
        return []
    end, (_lo, hi) = fy.period(quarter)[1], fy.window("period", quarter)
    first, last = (end - expr.EXCEL_EPOCH).days, (hi - expr.EXCEL_EPOCH).days
    title = next(s.title for s in spec.sections if s.key == section)
    return [Check(f"{title}: dated once the period is over ({end:%d/%m/%Y} or later)",
                  expr.parse(" + ".join(f"outside({n}, {first}, {last})" for n in names) + " > 0", rules.types(spec)),
                  tuple(names), f"{spec.code_prefix}-W112", "warning")]


@cache
def checks(spec: Spec, quarter: int | None, year: str) -> tuple[Check, ...]:
    """The Checks sheet's lines for a period: per section, required inputs, numbers typed
    as numbers and values within their limits; then the rules. Errors first, then warnings
    (the status counts errors)."""
    fy = FinancialYear.parse(year)
    out: list[Check] = []
    for section in spec.sections:
        open_ = [f for f in spec.fields if f.section == section.key and f.is_open(quarter)]
        required = [f.name for f in open_ if f.is_required(quarter)]
        if required:
            out.append(Check(f"{section.title}: fill in every required yellow cell",
                             expr.parse(f"count_blank({', '.join(required)}) > 0", rules.types(spec)),
                             tuple(required), f"{spec.code_prefix}-E101"))
        typed = [f.name for f in open_ if f.type in NUMERIC or f.type == "date"]
        for part, names in _parts(section.title, [(n, n) for n in typed]):
            out.append(Check(f"{part}: amounts, numbers and dates typed as such, not as text",
                             expr.parse(f"count_text({', '.join(t for _, t in names)}) > 0", rules.types(spec)),
                             tuple(n for n, _ in names), f"{spec.code_prefix}-E102"))
        limited = [(f.name, t) for f in open_ for t in limit_terms(f, fy, quarter)]
        for part, terms in _parts(section.title, limited):
            out.append(Check(f"{part}: every value within its limits (each cell's note says them)",
                             expr.parse(" + ".join(t for _, t in terms) + " > 0", rules.types(spec)),
                             tuple(dict.fromkeys(n for n, _ in terms)), f"{spec.code_prefix}-E103"))
        out.extend(_period_date_checks(spec, section.key, open_, fy, quarter))
    for rule in rules.expand(spec):
        if rule.check and rule.applies(quarter):
            label = rules.render(rule.check, rule, lambda n: spec[n].label)
            out.append(Check(label, rule.when, rule.cells, rule.code, rule.severity))
    return tuple(sorted(out, key=lambda c: c.severity != "error"))


def failing(check: Check, values: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """A problem, or a check that cannot be computed (counted as a problem: the workbook's
    status must never say "Ready to send" where the LA would reject)."""
    return check_result(check, values, params) != OK


OK, FIX, LOOK = "OK", "Fix", "Look"


def check_result(check: Check, values: Mapping[str, Any], params: Mapping[str, Any]) -> str | CalcError:
    """What the check's cell on the Checks sheet shows: "OK", "Fix" (an error), "Look" (a
    warning) or the error Excel shows when the condition cannot be computed."""
    try:
        problem = expr.evaluate(check.when, _lookup(values, params))
    except ValueError:
        return VALUE_ERROR
    except ZeroDivisionError:
        return DIV0_ERROR
    if not problem:
        return OK
    return FIX if check.severity == "error" else LOOK


def status_text(problems: int) -> str:
    """The Checks sheet's status line for a number of error checks not "OK"."""
    return "Ready to send" if problems == 0 else "1 problem to fix" if problems == 1 else f"{problems} problems to fix"


def format_value(f: Field, v: Any) -> str:
    if v is None or v == "":
        return "blank"
    if isinstance(v, CalcError):
        return v.code
    if f.type in ("money", "signed_money") and isinstance(v, Decimal):
        return format_gbp(v)
    if f.type == "percent" and isinstance(v, Decimal):
        return f"{v * 100:.1f}%"
    if f.type == "number" and isinstance(v, Decimal):
        return f"{v.normalize():f}"  # 12.0 -> 12, 92.50 -> 92.5, 100 -> 100
    if isinstance(v, date):
        return v.strftime("%d/%m/%Y")
    return str(v)
