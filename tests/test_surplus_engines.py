"""The surplus decision's allocations are the same in every program: the project's Python,
an Excel-semantics engine (the ``formulas`` package), Gnumeric and (``-m libreoffice``)
LibreOffice, for Hypothesis-drawn rosters, amounts and weights; and the same as the
independent whole-number recomputation of tests/test_surplus.py.

The allocation formulas keep every quantity a whole number below 2**53 (expr.idiv), so no
program's rounding of doubles or snapping to 15 digits can rank a remainder differently.
Weights are drawn as whole percentages, or off by a quarter of a percent (rule S-E202):
never an exact half, which the ``formulas`` package rounds from the binary double (see
tests/test_excel_semantics.py).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from engines import (
    as_cell_value,
    assert_programs_agree,
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
from libreoffice import LibreOffice
from test_surplus import FACTORS, ROWS, SAMPLE, decision_inputs, expected_allocations, good_values, rosters

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import SAMPLE_PROVISIONS
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.generate import period_sources, prefill
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter

SPEC = spec_mod.load("surplus")
PARAMS = Thresholds().params()
FY = FinancialYear.parse("2025-26")
EXAMPLES = int(os.environ.get("PBP_DIFF_EXAMPLES", "8"))
CELLS = formula_cells(SPEC, None)


def issue(path: Path) -> dict[str, Any]:
    """North's decision workbook as the LA issues it (sample roster schools, balance known)."""
    prov = SAMPLE_PROVISIONS[0]
    values = prefill(SPEC, period_sources(prov, FY, None, Decimal("412500.00")))
    values.update({k: v for k, v in decision_inputs(SAMPLE, 0, {}).items() if k.startswith("school_")})
    values.update(year_end_balance=Decimal("16776.43"), balance_source="the 2025-26 annual report the LA accepted",
                  clawback_threshold=Decimal("20625.00"))
    identity = Identity(SPEC.id, SPEC.version, SPEC.kind, "2025-26", None, prov.partnership, prov.host_school,
                        prov.urn, prov.provision, "0123456789abcdef")
    WorkbookWriter(SPEC, identity, password="pw", params=PARAMS, la_name="Sample Borough Council",
                   contact="finance@example.gov.uk", due=None,
                   generated_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC)).write(path, values)
    return values


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    import formulas

    path = tmp_path_factory.mktemp("surplus-engines") / "surplus-north.xlsx"
    issue(path)
    return path, formulas.ExcelModel().loads(str(path)).finish()


@st.composite
def weights(draw: st.DrawFn) -> dict[str, Decimal]:
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(FACTORS) - 1, max_size=len(FACTORS) - 1)))
    parts = [Decimal(b - a) for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    if draw(st.booleans()) and draw(st.booleans()):  # now and then not whole (S-E202), or not 100% (S-E201)
        i = draw(st.integers(0, len(parts) - 1))
        parts[i] += draw(st.sampled_from([Decimal("0.25"), Decimal("-0.25"), Decimal(7), Decimal(-3)]))
        parts[i] = max(parts[i], Decimal(0))
    return {f: p / 100 for f, p in zip(FACTORS, parts, strict=True)}


def cells_for(schools: list[dict[str, Any]], pence: int, w: dict[str, Decimal]) -> dict[str, Any]:
    """Every cell a case sets: the school rows (the unused ones cleared), the amount, the weights."""
    values = decision_inputs(schools, pence, {})
    values.update({f"weight_{f}": v for f, v in w.items()})
    for n in range(len(schools) + 1, ROWS + 1):
        values.update({f"school_{n}_{k}": None for k in ("name", "urn", "roll", "fsm", "pp", "send", "idaci")})
    return {**good_values(distribute_amount=values["distribute_amount"]), **values}


def type_into(src: Path, dst: Path, values: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(src)
    for name, v in values.items():
        f = SPEC[name]
        wb[f.sheet][f.cell].value = as_cell_value(v)
    wb.save(dst)


@settings(max_examples=EXAMPLES, phases=(Phase.explicit, Phase.reuse, Phase.generate))  # no shrinking: slow examples
@given(schools=rosters(), pence=st.integers(1, 100_000_000), w=weights())
def test_every_program_gives_the_same_allocations(issued: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory,
                                                  schools: list[dict[str, Any]], pence: int,
                                                  w: dict[str, Decimal]) -> None:
    require_gnumeric()
    src, model = issued
    values = cells_for(schools, pence, w)
    filled = tmp_path_factory.mktemp("filled") / "filled.xlsx"
    type_into(src, filled, values)
    python = python_cells(SPEC, None, raw_inputs(filled, SPEC), PARAMS)
    problems = differences(python, formulas_recalc(model, src.name, SPEC, values, CELLS), "formulas")
    problems += differences(python, gnumeric_cells(filled, CELLS), "Gnumeric")
    assert not problems, "\n".join(problems[:20])
    if all(v * 100 == int(v * 100) for v in w.values()):  # whole percentages: the independent recomputation
        want = expected_allocations(schools, pence, {f: int(v * 100) for f, v in w.items()})
        got = [python[(SPEC.sheet, SPEC[f"school_{n}_allocation"].cell)] for n in range(1, len(schools) + 1)]
        assert [int(g * 100) for g in got] == want


@pytest.mark.libreoffice
def test_libreoffice_fills_a_decision_and_agrees(libreoffice: LibreOffice, tmp_path: Path) -> None:
    """LibreOffice types the decision in, recalculates and saves it: its allocations, totals and
    Checks equal Python's and Gnumeric's, and add up to the amount shared."""
    src = tmp_path / "issued.xlsx"
    issue(src)
    for i, (pence, w) in enumerate([(1_234_567, {"roll": 40, "fsm": 30, "send": 30}),
                                    (100, {"equal": 100}), (999_999, {"deprivation": 50, "pp": 25, "equal": 25})]):
        typed = good_values(distribute_amount=Decimal(pence) / 100,
                            **{f"weight_{f}": Decimal(w.get(f, 0)) / 100 for f in FACTORS})
        out = tmp_path / f"lo-{i}.xlsx"
        libreoffice.fill(src, out, {k: v for k, v in typed.items() if isinstance(v, str | Decimal | date)})
        assert_programs_agree(out, SPEC, None, PARAMS)
        saved = openpyxl.load_workbook(out, data_only=True)[SPEC.sheet]
        got = [round(Decimal(repr(saved[SPEC[f"school_{n}_allocation"].cell].value)) * 100) for n in range(1, 5)]
        assert got == expected_allocations(SAMPLE, pence, w) and sum(got) == pence
