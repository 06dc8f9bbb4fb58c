"""Excel is the client: every formula cell, every Checks line and the status cell of the
quarterly and annual workbooks mean the same in Python, in an Excel-semantics engine (the
``formulas`` package) and in Gnumeric (``ssconvert --recalc``), for any inputs a person
could type or paste: numbers of any sign and size, sub-penny amounts, blanks, numbers typed
as text, plain text, dates, wrong choices.

Hypothesis draws the inputs; they are typed into the issued workbook with openpyxl and
Gnumeric recalculates the saved file; the ``formulas`` model of the same workbook is
loaded once per template and given the same cell values. LibreOffice joins them on the
rule cases in tests/test_excel_engines_libreoffice.py.

One known difference between the engines is kept out of the draws, not papered over: the
``formulas`` package rounds binary doubles, so ROUND(1.005,2) is 1 there and 1.01 in Excel,
Gnumeric and Python. Sub-penny amounts are drawn as pence plus 1 to 4 ten-thousandths, so
no sum of a return's cells lands on an exact half penny.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from engines import (
    as_cell_value,
    differences,
    formula_cells,
    formulas_recalc,
    gnumeric_cells,
    python_cells,
    raw_inputs,
    require_gnumeric,
)
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import SAMPLE_PROVISIONS
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import NUMERIC, Field, Spec
from pbp_workbooks.workbook.generate import period_sources, prefill
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter

PARAMS = Thresholds().params()
EXAMPLES = int(os.environ.get("PBP_DIFF_EXAMPLES", "8"))
FY = FinancialYear.parse("2025-26")


@dataclass
class Template:
    spec: Spec
    quarter: int | None
    path: Path  # the issued workbook
    model: Any  # its formulas.ExcelModel, loaded once
    book: str  # the workbook's name as the model spells it


def issue(kind: str, quarter: int | None, path: Path) -> None:
    spec = spec_mod.load(kind)
    prov = SAMPLE_PROVISIONS[0]
    values = prefill(spec, period_sources(prov, FY, quarter, Decimal("412500.00")))
    identity = Identity(spec.id, spec.version, spec.kind, "2025-26", quarter, prov.partnership, prov.host_school,
                        prov.urn, prov.provision, "0123456789abcdef")
    WorkbookWriter(spec, identity, password="pw", params=PARAMS, la_name="Sample Borough Council",
                   contact="finance@example.gov.uk", due=date(2026, 1, 31),
                   generated_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC)).write(path, values)


_TEMPLATES: dict[str, Template] = {}


def template(kind: str, quarter: int | None, tmp_root: Path) -> Template:
    import formulas

    key = f"{kind}-{quarter}"
    if key not in _TEMPLATES:
        path = tmp_root / f"{key}.xlsx"
        issue(kind, quarter, path)
        model = formulas.ExcelModel().loads(str(path)).finish()
        _TEMPLATES[key] = Template(spec_mod.load(kind), quarter, path, model, path.name)
    return _TEMPLATES[key]


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engines")


# ---------------------------------------------------------------- what a person could put in a cell

_pennies = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
_sub_penny = st.builds(lambda p, j: p + (j if p >= 0 else -j) * Decimal("0.0001"), _pennies, st.integers(1, 4))
_large = st.integers(min_value=-10**14, max_value=10**14).map(Decimal)
_text_numbers = st.sampled_from(["300", "1,200", "£5", "(500)", " 42 ", "-3.50", "1e3", "50%", "0"])
_plain_text = st.sampled_from(["about 300", "n/a", " ", "TBC", "=1+1"])


def value_for(f: Field) -> st.SearchStrategy[Any]:
    if f.type in NUMERIC:
        return st.one_of(st.none(), _pennies, _pennies.map(abs), _sub_penny, _large, _text_numbers, _plain_text,
                         st.just(Decimal(0)), st.just(Decimal(30000)))
    if f.type == "date":
        return st.one_of(st.none(), st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.just("next week"))
    if f.choices:
        return st.one_of(st.none(), st.sampled_from(f.choices), st.sampled_from(f.choices).map(str.upper),
                         st.just("Maybe"))
    return st.one_of(st.none(), st.text("ab cXYZ'\"", min_size=1, max_size=6), st.just(" "))


def draw_inputs(data: st.DataObject, t: Template) -> dict[str, Any]:
    return {f.name: data.draw(value_for(f), label=f.name) for f in t.spec.fields if f.is_open(t.quarter)}


def type_into(t: Template, values: dict[str, Any], dst: Path) -> None:
    wb = openpyxl.load_workbook(t.path)
    for name, v in values.items():
        f = t.spec[name]
        cell = wb[f.sheet][f.cell]
        cell.value = as_cell_value(v)
        if isinstance(v, str):
            cell.data_type = "s"  # typed text stays text, even "=1+1" (as after a leading apostrophe)
    wb.save(dst)


@pytest.mark.parametrize(("kind", "quarter"), [("quarterly", 4), ("quarterly", 2), ("annual", None)])
@settings(max_examples=EXAMPLES, phases=(Phase.explicit, Phase.reuse, Phase.generate))  # no shrinking: 2 s an example
@given(data=st.data())
def test_python_agrees_with_excel_semantics(kind: str, quarter: int | None, tmp_root: Path, data: st.DataObject) -> None:
    require_gnumeric()
    t = template(kind, quarter, tmp_root)
    values = draw_inputs(data, t)
    filled = tmp_root / f"filled-{kind}-{quarter}.xlsx"
    type_into(t, values, filled)
    cells = formula_cells(t.spec, quarter)
    python = python_cells(t.spec, quarter, raw_inputs(filled, t.spec), PARAMS)
    problems = differences(python, formulas_recalc(t.model, t.book, t.spec, values, cells), "formulas")
    problems += differences(python, gnumeric_cells(filled, cells), "Gnumeric")
    assert not problems, "\n".join(problems[:20])
