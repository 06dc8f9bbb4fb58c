"""A generated workbook compared with a checked-in expected file, part by part.

Any change to what the writer produces shows up here. When the change is intended,
regenerate with: PBP_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py tests/test_spec.py
That mode cannot approve a field that moved without a new template version: each
version's layout is recorded once (tests/golden/layout-<template>-<version>.json) and
never rewritten (tests/test_spec.py, test_layout_changes_need_a_new_version).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from xlsx_compare import differences

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import SAMPLE_PROVISIONS
from pbp_workbooks.demo import samples
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.generate import period_sources, prefill
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter

GOLDEN = Path(__file__).parent / "golden"


def build(path: Path, *, filled: bool) -> None:
    spec = spec_mod.load("quarterly")
    fy = FinancialYear.parse("2025-26")
    prov = SAMPLE_PROVISIONS[0]
    values = prefill(spec, period_sources(prov, fy, 2, Decimal("412500.00")))
    params = Thresholds().params()
    if filled:
        values = samples.filled_values(spec, fy, 2, values, seed=7, params=params)
    identity = Identity(
        spec.id,
        spec.version,
        spec.kind,
        "2025-26",
        2,
        prov.partnership,
        prov.host_school,
        prov.urn,
        prov.provision,
        "0123456789abcdef",
    )
    WorkbookWriter(
        spec,
        identity,
        password="golden",
        params=params,
        la_name="Sample Borough Council",
        contact="schools.finance@example.gov.uk",
        due=fy.quarter_end(2).replace(month=10, day=31),
        generated_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    ).write(path, values)


def check(tmp_path: Path, name: str, filled: bool) -> None:
    got = tmp_path / name
    build(got, filled=filled)
    expected = GOLDEN / name
    if os.environ.get("PBP_UPDATE_GOLDEN"):
        expected.write_bytes(got.read_bytes())
    assert expected.exists(), f"no golden file {expected}; run with PBP_UPDATE_GOLDEN=1"
    assert differences(got, expected) == []


def test_blank_issued_workbook_matches_golden(tmp_path: Path) -> None:
    check(tmp_path, "quarterly-2025-26-Q2-north-blank.xlsx", filled=False)


def test_filled_workbook_matches_golden(tmp_path: Path) -> None:
    check(tmp_path, "quarterly-2025-26-Q2-north-filled.xlsx", filled=True)


def test_comparison_catches_a_changed_cell(tmp_path: Path) -> None:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    build(a, filled=False)
    build(b, filled=True)
    diffs = differences(a, b)
    assert any(d.startswith("xl/worksheets/sheet2.xml differs") for d in diffs)
