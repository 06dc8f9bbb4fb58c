"""Field rules as pandera schemas, derived from the spec (one schema per spec and quarter).

A batch of returns is validated as ONE frame (one row per return, one column per open
input) with ``lazy=True``, so every problem of every file comes back from a single
pandera call; failure cases are turned into one finding per cell. pandas and pandera
are imported here only, so commands that don't validate stay fast to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from .calc import format_value
from .findings import FIELD_RULES, Finding
from .money import format_gbp, to_pence
from .periods import FinancialYear
from .spec import Field, Spec

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$"
MONEY = ("money", "signed_money")
TEXT = ("text", "email", "choice", "yesno")


@cache
def schema(spec: Spec, quarter: int | None, year: str) -> tuple[pa.DataFrameSchema, dict[tuple[str, int], str]]:
    """The schema, and which rule suffix each (column, check number) stands for."""
    fy = FinancialYear.parse(year)
    columns: dict[str, pa.Column] = {}
    codes: dict[tuple[str, int], str] = {}
    for f in spec.fields:
        if not f.is_open(quarter):
            continue
        checks: list[tuple[pa.Check, str]] = []
        if f.type in MONEY:
            assert f.min is not None and f.max is not None
            checks.append((pa.Check.in_range(to_pence(f.min), to_pence(f.max)), "E103"))
            dtype: Any = "Int64"
        elif f.type == "integer":
            checks.append((pa.Check.in_range(int(f.min or 0), int(f.max if f.max is not None else 10**6)), "E103"))
            dtype = "Int64"
        elif f.type == "number":
            assert f.min is not None and f.max is not None
            checks.append((pa.Check.in_range(float(f.min), float(f.max)), "E103"))
            dtype = "Float64"
        elif f.type == "date":
            lo, hi = fy.window(f.window or "year")
            checks.append((pa.Check.in_range(pd.Timestamp(lo), pd.Timestamp(hi)), "E107"))
            dtype = "datetime64[ns]"
        else:
            dtype = "string"
            if f.max_length:
                checks.append((pa.Check.str_length(max_value=f.max_length), "E105"))
            if f.type == "email":
                checks.append((pa.Check.str_matches(EMAIL), "E108"))
            if f.choices:
                checks.append((pa.Check.isin(list(f.choices)), "E106"))
        for i, (_check, suffix) in enumerate(checks):
            codes[(f.name, i)] = suffix
        columns[f.name] = pa.Column(dtype, [c for c, _ in checks], nullable=not f.is_required(quarter),
                                    required=True, coerce=False)
    return pa.DataFrameSchema(columns, name=f"{spec.id} {year} Q{quarter}", strict=False), codes


def frame(spec: Spec, quarter: int | None, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name in columns:
        f = spec[name]
        col = [r.get(name) for r in rows]
        if f.type in MONEY:
            data[name] = pd.array([None if v is None else to_pence(v) for v in col], dtype="Int64")
        elif f.type == "integer":
            data[name] = pd.array(col, dtype="Int64")
        elif f.type == "number":
            data[name] = pd.array([None if v is None else float(v) for v in col], dtype="Float64")
        elif f.type == "date":
            data[name] = pd.to_datetime(pd.Series([v if isinstance(v, date) else None for v in col], dtype="object"))
        else:
            data[name] = pd.array([None if v is None else str(v) for v in col], dtype="string")
    return pd.DataFrame(data, index=range(len(rows)))


def validate(spec: Spec, quarter: int | None, year: str, rows: Sequence[dict[str, Any]]) -> list[list[Finding]]:
    """Field findings for each row (return) of the batch, in order."""
    sch, codes = schema(spec, quarter, year)
    df = frame(spec, quarter, rows, list(sch.columns))
    out: list[list[Finding]] = [[] for _ in rows]
    try:
        sch.validate(df, lazy=True)
    except SchemaErrors as err:
        seen: set[tuple[int, str, str]] = set()
        fc = err.failure_cases
        for col, check, number, idx in zip(fc["column"], fc["check"], fc["check_number"], fc["index"], strict=True):
            if idx is None or pd.isna(idx) or col not in spec.by_name:
                continue
            suffix = "E101" if check == "not_nullable" else codes.get((col, int(number)), "E103")
            key = (int(idx), col, suffix)
            if key in seen:
                continue
            seen.add(key)
            out[int(idx)].append(field_finding(spec, suffix, spec[col], rows[int(idx)].get(col), year))
    return out


def field_finding(spec: Spec, suffix: str, f: Field, value: Any, year: str) -> Finding:
    severity, _title, template = FIELD_RULES[suffix]
    fmt: dict[str, Any] = {"label": f.label, "value": format_value(f, value)}
    if suffix == "E101":
        fmt["hint"] = " (enter 0 where there is none)" if f.type in MONEY or f.type == "integer" else ""
    elif suffix == "E103":
        if f.type in MONEY:
            fmt["range"] = f"{format_gbp(f.min)} to {format_gbp(f.max)}"
        else:
            fmt["range"] = f"{f.min} to {f.max}"
    elif suffix == "E105":
        fmt.update(value=len(str(value)), max=f.max_length)
    elif suffix == "E106":
        fmt["choices"] = ", ".join(f.choices or ())
    elif suffix == "E107":
        lo, hi = FinancialYear.parse(year).window(f.window or "year")
        fmt.update(start=f"{lo:%d/%m/%Y}", end=f"{hi:%d/%m/%Y}")
    raw = value
    if isinstance(raw, Decimal):
        raw = str(raw)
    elif isinstance(raw, date):
        raw = raw.isoformat()
    return Finding(f"{spec.code_prefix}-{suffix}", severity, template.format(**fmt), f.sheet, f.cell, f.name, raw)
