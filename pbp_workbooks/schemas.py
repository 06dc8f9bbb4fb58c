"""Field rules as a pandera schema, derived from the spec (one schema per spec and period).

A batch of returns is validated as ONE long frame (one row per return and open input,
carrying that input's constraints from the spec as columns) with ``lazy=True``: every
problem of every file comes back from a single pandera call, and each failure case is
one cell. A wide frame (one column per input) costs pandera ~2.5 ms per column, 0.3 s
per call for the quarterly return; the long frame has a handful of columns. pandas and
pandera are imported here only, so commands that don't validate stay fast to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from . import expr
from .findings import FIELD_RULES, Finding, field_finding
from .money import to_pence
from .periods import FinancialYear
from .spec import Field, Spec
from .validation import LongRows, long_rows, open_fields

# One email address, as the workbook's Checks sheet can test it in a formula (expr.not_email):
# one @, no spaces, a dot after the @ with something either side. The LA asks no more than
# the workbook can show, so "Ready to send" and the LA's verdict agree.
EMAIL = expr.EMAIL.pattern
MONEY = ("money", "signed_money")
TEXT = ("text", "email", "choice", "yesno")


_NUMERIC = {"money", "signed_money", "integer", "number"}


@dataclass(frozen=True)
class _Layout:
    """The open inputs of one template and period, with their constraints as columns."""

    fields: tuple[Field, ...]
    constraints: pd.DataFrame  # one row per field: lo, hi, dlo, dhi, maxlen, required, ...
    allowed: frozenset[str]  # "<field>\u241f<choice>" for every choice field


@cache
def _layout(spec: Spec, quarter: int | None, year: str) -> _Layout:
    fy = FinancialYear.parse(year)
    fields = open_fields(spec, quarter)
    rows = []
    for f in fields:
        lo: Any = None
        hi: Any = None
        dlo: Any = None
        dhi: Any = None
        if f.type in MONEY:
            assert f.min is not None and f.max is not None
            lo, hi = to_pence(f.min), to_pence(f.max)
        elif f.type == "integer":
            lo, hi = int(f.min or 0), int(f.max if f.max is not None else 10**6)
        elif f.type == "number":
            assert f.min is not None and f.max is not None
            lo, hi = float(f.min), float(f.max)
        elif f.type == "date":
            d0, d1 = fy.window(f.window or "year")
            dlo, dhi = pd.Timestamp(d0), pd.Timestamp(d1)
        rows.append({"field": f.name, "numeric": f.type in _NUMERIC, "is_date": f.type == "date",
                     "lo": lo, "hi": hi, "dlo": dlo, "dhi": dhi,
                     "maxlen": f.max_length if f.type not in _NUMERIC and f.type != "date" else None,
                     "required": f.is_required(quarter), "is_email": f.type == "email",
                     "has_choices": bool(f.choices) and f.type not in _NUMERIC})
    constraints = pd.DataFrame(rows).astype({"field": "string", "lo": "Float64", "hi": "Float64", "maxlen": "Int64",
                                             "dlo": "datetime64[ns]", "dhi": "datetime64[ns]"})
    allowed = frozenset(f"{f.name}\u241f{c}" for f in fields if f.choices for c in f.choices)
    return _Layout(fields, constraints, allowed)


# Frame-wide checks on the long frame; each row is one input of one return. A check is
# true where the row is fine. Their names are the field-rule suffixes.
def _required(df: pd.DataFrame) -> pd.Series:
    return ~(df["required"] & df["blank"])


def _range(df: pd.DataFrame) -> pd.Series:
    ok = (df["val"] >= df["lo"]) & (df["val"] <= df["hi"])
    return (df["blank"] | ~df["numeric"] | ok).fillna(True).astype(bool)


def _dates(df: pd.DataFrame) -> pd.Series:
    ok = (df["date"] >= df["dlo"]) & (df["date"] <= df["dhi"])
    return (df["blank"] | ~df["is_date"] | ok.fillna(False)).astype(bool)


def _length(df: pd.DataFrame) -> pd.Series:
    return (df["text"].isna() | df["maxlen"].isna() | (df["text"].str.len() <= df["maxlen"])).fillna(True).astype(bool)


def _email(df: pd.DataFrame) -> pd.Series:
    return (~df["is_email"] | df["text"].isna() | df["text"].str.fullmatch(EMAIL)).fillna(False).astype(bool)


def _choice_check(allowed: frozenset[str]) -> Any:
    def check(df: pd.DataFrame) -> pd.Series:
        key = df["field"] + "\u241f" + df["text"]
        return (~df["has_choices"] | df["text"].isna() | key.isin(list(allowed))).fillna(False).astype(bool)

    return check


@cache
def schema(spec: Spec, quarter: int | None, year: str) -> pa.DataFrameSchema:
    layout = _layout(spec, quarter, year)
    checks = [pa.Check(_required, name="E101"), pa.Check(_range, name="E103"), pa.Check(_dates, name="E107"),
              pa.Check(_length, name="E105"), pa.Check(_email, name="E108"),
              pa.Check(_choice_check(layout.allowed), name="E106")]
    return pa.DataFrameSchema(
        {"ret": pa.Column("int64"), "field": pa.Column("string"), "val": pa.Column("Float64", nullable=True),
         "date": pa.Column("datetime64[ns]", nullable=True), "text": pa.Column("string", nullable=True)},
        checks=checks, name=f"{spec.id} {year} Q{quarter}", strict=False)


def warm_up() -> None:
    """pandera registers its pandas backend (importing its built-in checks, and hypothesis
    where installed: ~0.2 s) on the first validate(). Doing it now lets ingest pay for it
    while its workers are still reading."""
    pa.DataFrameSchema({}).validate(pd.DataFrame())


def frame(spec: Spec, quarter: int | None, year: str, rows: Sequence[dict[str, Any]],
          encoded: Sequence[LongRows] | None = None) -> pd.DataFrame:
    """The batch in long form: one row per (return, open input), with its constraints.
    ``encoded``: each return's rows already worked out (validation.long_rows, in a worker)."""
    layout = _layout(spec, quarter, year)
    n = len(layout.fields)
    if encoded is None:
        encoded = [long_rows(spec, quarter, r) for r in rows]
    val: list[float | None] = []
    dates: list[date | None] = []
    text: list[str | None] = []
    blank: list[bool] = []
    for e in encoded:
        val.extend(e.val)
        dates.extend(e.date)
        text.extend(e.text)
        blank.extend(e.blank)
    df = layout.constraints.iloc[np.tile(np.arange(n), len(rows))].reset_index(drop=True)
    df["ret"] = np.repeat(np.arange(len(rows), dtype="int64"), n)
    df["val"] = pd.array(val, dtype="Float64")
    df["date"] = pd.to_datetime(pd.Series(dates, dtype="object"))
    df["text"] = pd.array(text, dtype="string")
    df["blank"] = blank
    return df


def validate(spec: Spec, quarter: int | None, year: str, rows: Sequence[dict[str, Any]],
             encoded: Sequence[LongRows] | None = None) -> list[list[Finding]]:
    """Field findings for each return of the batch, in order: one pandera call, one finding
    per cell and rule."""
    sch = schema(spec, quarter, year)
    df = frame(spec, quarter, year, rows, encoded)
    out: list[list[Finding]] = [[] for _ in rows]
    if df.empty:
        return out
    try:
        sch.validate(df, lazy=True)
    except SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna() & fc["check"].isin(FIELD_RULES.keys())]
        seen: set[tuple[int, str, str]] = set()
        rets, names = df["ret"].to_numpy(), df["field"].to_numpy()
        for suffix, idx in zip(fc["check"], fc["index"], strict=True):
            ret, name = int(rets[int(idx)]), str(names[int(idx)])
            if (ret, name, suffix) in seen:
                continue
            seen.add((ret, name, suffix))
            out[ret].append(field_finding(spec, suffix, spec[name], rows[ret].get(name), year))
    return out
