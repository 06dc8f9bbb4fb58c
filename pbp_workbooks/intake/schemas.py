"""Field rules as pandera schemas derived from the spec: one ``DataFrameSchema`` per spec and
period, with one ``Column`` per input the officer may fill in, checked by pandera's own checks.

The schema's frame is wide: one row per return, one column per open input (the column is the
input's defined name). Its types and checks come from the spec:

=================  ==================  ===========================================  ========
input type         column dtype        checks                                       code
=================  ==================  ===========================================  ========
money              Int64 (pence)       ``in_range(min, max)`` in whole pence        E103
integer            Int64               ``in_range(min, max)``                       E103
number, percent    Float64             ``in_range(min, max)``                       E103
date               datetime64[ns]      ``in_range(first, last day of the window)``  E107
text, email        string              ``str_length(max_value=max_length)``         E105
email              string              ``str_matches(EMAIL)``                       E108
choice, yesno      string              ``isin(choices)``                            E106
=================  ==================  ===========================================  ========

A required input's column is not nullable (E101 where it is blank); an optional one is. A
period's schema holds only the inputs open in it: a later quarter's column is not part of an
earlier quarter's schema (a figure typed there is Q-E104, found without pandera), so "required"
means required in that period. Date windows depend on the financial year, so a schema is built
per (spec, quarter, year), once, and cached.

A batch of returns is validated with ONE ``validate(lazy=True)`` call; each failure case is
one cell and one check, and becomes one finding with the same code and message as the
rule's template (findings.FIELD_RULES). The frame's rows are worked out without pandas
(validation.frame_row, in the worker that read the file); here they become columns.

``pbp spec KIND --format pandera`` prints a schema as YAML (``DataFrameSchema.to_yaml``), with
``coerce`` on; an analyst loads it back with ``DataFrameSchema.from_yaml`` and validates a frame
of returns read from a CSV file.

pandas and pandera are imported here only, so commands that do not validate stay fast to start.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from pbp_workbooks.base.money import to_pence
from pbp_workbooks.base.periods import QUARTER_MONTHS, FinancialYear
from pbp_workbooks.intake.validation import FrameRow, frame_row, open_fields
from pbp_workbooks.spec import expr
from pbp_workbooks.spec.findings import Finding, field_finding
from pbp_workbooks.spec.model import Field, Spec

# One email address, as the workbook's Checks sheet can test it in a formula (expr.not_email):
# one @, no spaces, a dot after the @ with something either side. The LA asks no more than
# the workbook can show, so "Ready to send" and the LA's verdict agree.
EMAIL = expr.EMAIL.pattern

# Each input type's column: its dtype (validation.frame_row puts a value in that form) and
# what an analyst reads about it in the exported schema.
COLUMNS: dict[str, tuple[str, str]] = {
    "money": ("Int64", "an amount of money in whole pence (125050 is 1,250.50 pounds)"),
    "signed_money": ("Int64", "an amount of money in whole pence, may be negative (125050 is 1,250.50 pounds)"),
    "integer": ("Int64", "a whole number"),
    "number": ("Float64", "a number"),
    "percent": ("Float64", "a number"),
    "date": ("datetime64[ns]", "a date"),
    "text": ("string", "text"),
    "email": ("string", "an email address"),
    "choice": ("string", "one of the choices"),
    "yesno": ("string", "Yes or No"),
}
# A blank required input fails pandera's own nullable check: no check number, this name.
_NOT_NULLABLE = "not_nullable"


@dataclass(frozen=True)
class FieldSchema:
    """A period's schema, and the rule (E1xx suffix) behind each check of each column,
    in the column's check order (pandera's ``check_number``)."""

    schema: pa.DataFrameSchema
    rules: dict[str, tuple[str, ...]]


def _checks(f: Field, fy: FinancialYear, quarter: int | None) -> list[tuple[str, pa.Check]]:
    """The pandera checks of one input, each with the field rule it stands for."""
    if f.type in ("money", "signed_money"):
        assert f.min is not None and f.max is not None
        return [("E103", pa.Check.in_range(to_pence(f.min), to_pence(f.max)))]
    if f.type == "integer":
        return [("E103", pa.Check.in_range(int(f.min or 0), int(f.max if f.max is not None else 10**6)))]
    if f.type in ("number", "percent"):
        if f.min is None or f.max is None:
            return []
        return [("E103", pa.Check.in_range(float(f.min), float(f.max)))]
    if f.type == "date":
        first, last = fy.window(f.window or "year", quarter)
        return [("E107", pa.Check.in_range(pd.Timestamp(first), pd.Timestamp(last)))]
    out: list[tuple[str, pa.Check]] = []
    if f.max_length is not None:
        out.append(("E105", pa.Check.str_length(max_value=f.max_length)))
    if f.type == "email":
        out.append(("E108", pa.Check.str_matches(EMAIL)))
    if f.choices:
        out.append(("E106", pa.Check.isin(list(f.choices))))
    return out


def _description(f: Field, quarter: int | None) -> str:
    need = "required" if f.is_required(quarter) else "optional"
    opens = f", open from Q{f.quarter}" if f.quarter is not None else ""
    return f"Cell {f.sheet}!{f.cell} (defined name {f.name}): {COLUMNS[f.type][1]}, {need}{opens}."


@cache
def field_schema(spec: Spec, quarter: int | None, year: str) -> FieldSchema:
    fy = FinancialYear.parse(year)
    columns: dict[str, pa.Column] = {}
    rules: dict[str, tuple[str, ...]] = {}
    for f in open_fields(spec, quarter):
        checks = _checks(f, fy, quarter)
        columns[f.name] = pa.Column(COLUMNS[f.type][0], [c for _, c in checks], nullable=not f.is_required(quarter),
                                    title=f.label, description=_description(f, quarter))
        rules[f.name] = tuple(code for code, _ in checks)
    period = f"{year} Q{quarter} ({QUARTER_MONTHS[quarter]})" if quarter else year
    codes = ", ".join(f"{spec.code_prefix}-{c}" for c in sorted({"E101"}.union(*rules.values())))
    return FieldSchema(pa.DataFrameSchema(
        columns, name=f"{spec.id} {spec.version} {period}", title=f"{spec.title}, {period}",
        description=(f"The field rules ({codes}) of the {spec.short_title}, {period}: one row per return, one "
                     "column per input open in this period, named by its defined name. Money is in whole pence. "
                     "Other columns are ignored."),
        strict=False), rules)


def schema(spec: Spec, quarter: int | None, year: str) -> pa.DataFrameSchema:
    """The period's field rules as a pandera schema (built once per spec and period)."""
    return field_schema(spec, quarter, year).schema


def to_yaml(spec: Spec, quarter: int | None, year: str) -> str:
    """The schema as YAML for analysts, with ``coerce`` on: their frames come from CSV files
    and spreadsheets, where dates and numbers may be text. (The validator's own frame is
    built in each column's type: converting it again would cost ~0.05 s a call for nothing.)"""
    exported = copy.deepcopy(schema(spec, quarter, year))
    exported.coerce = True
    text = exported.to_yaml()
    assert text is not None
    return text


def warm_up() -> None:
    """pandera registers its pandas backend (importing its built-in checks, and hypothesis
    where installed: ~0.2 s) on the first validate(). Doing it now lets ingest pay for it
    while its workers are still reading."""
    pa.DataFrameSchema({}).validate(pd.DataFrame())


def frame(spec: Spec, quarter: int | None, rows: Sequence[FrameRow]) -> pd.DataFrame:
    """The batch as the schema's frame: one row per return, one column per open input."""
    fields = open_fields(spec, quarter)
    columns = zip(*rows, strict=True) if rows else (() for _ in fields)
    return pd.DataFrame({f.name: pd.array(column, dtype=COLUMNS[f.type][0])
                         for f, column in zip(fields, columns, strict=True)}, index=pd.RangeIndex(len(rows)))


def validate(spec: Spec, quarter: int | None, year: str, values: Sequence[dict[str, Any]],
             encoded: Sequence[FrameRow] | None = None) -> list[list[Finding]]:
    """Field findings for each return of the batch, in order: one pandera call, one finding
    per cell and rule. ``encoded``: each return's frame row, already made (in a worker)."""
    compiled = field_schema(spec, quarter, year)
    if encoded is None:
        encoded = [frame_row(spec, quarter, v) for v in values]
    out: list[list[Finding]] = [[] for _ in values]
    if not values or not compiled.rules:
        return out
    try:
        compiled.schema.validate(frame(spec, quarter, encoded), lazy=True)
    except SchemaErrors as err:
        fc = err.failure_cases
        for name, check, number, ret in zip(fc["column"], fc["check"], fc["check_number"], fc["index"], strict=True):
            if check == _NOT_NULLABLE:
                suffix = "E101"
            elif pd.notna(number) and pd.notna(ret):
                suffix = compiled.rules[name][int(number)]
            else:  # a column missing or of the wrong type: the frame was built wrong, not the return
                raise RuntimeError(f"field-rule frame for {spec.id}: {check} failed on column {name}") from None
            out[int(ret)].append(field_finding(spec, suffix, spec[name], values[int(ret)].get(name), year,
                                                       quarter))
    return out
