"""The field rules are a pandera schema per spec and period: one Column per open input with
pandera's built-in checks, one validate call per batch, and a YAML export the LA's analysts
load back with ``DataFrameSchema.from_yaml``."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from fill import clean_values, fill_openpyxl, issued_allocation, validate_files, workspace_env
from pandera.errors import SchemaErrors

from pbp_workbooks.cli.main import main
from pbp_workbooks.intake import schemas
from pbp_workbooks.intake.validation import frame_row
from pbp_workbooks.spec import model as spec_mod

QUARTERLY = spec_mod.load("quarterly")
ANNUAL = spec_mod.load("annual")
YEAR = "2025-26"
BUILT_IN = {"in_range", "str_length", "str_matches", "isin"}


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A workspace with the Q2 workbooks issued; (workspace, North's workbook)."""
    root = tmp_path_factory.mktemp("schemas") / "ws"
    assert main(["init", str(root), "--password", "schemas-pw"]) == 0
    with workspace_env(root):
        assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "2"]) == 0
    north = next((root / "outbox" / f"{YEAR} Q2").glob("* - North - *.xlsx"))
    return root, north


def test_each_open_input_is_a_column_with_pandera_built_in_checks() -> None:
    sch = schemas.schema(QUARTERLY, 2, YEAR)
    open_inputs = [f for f in QUARTERLY.inputs() if f.quarter is None or f.quarter <= 2]
    assert list(sch.columns) == [f.name for f in open_inputs]
    assert "exp_teaching_staff_q2" in sch.columns and "exp_teaching_staff_q3" not in sch.columns
    assert sch.checks == []  # no frame-wide checks: every rule sits on its column
    for f in open_inputs:
        col = sch.columns[f.name]
        assert col.nullable is (not f.required), f.name
        assert {c.name for c in col.checks} <= BUILT_IN and col.checks, f.name
        assert col.title == f.label
    money = sch.columns["exp_teaching_staff_budget"]
    assert (str(money.dtype), money.checks[0].statistics) == (
        "Int64", {"min_value": 0, "max_value": 10_000_000 * 100, "include_min": True, "include_max": True})
    email = sch.columns["email"]
    assert [c.name for c in email.checks] == ["str_length", "str_matches"]
    assert email.checks[1].statistics == {"pattern": schemas.EMAIL}
    assert sch.columns["surplus_approach"].checks[0].statistics["allowed_values"] == list(
        QUARTERLY["surplus_approach"].choices or ())
    when = sch.columns["date_prepared"].checks[0].statistics
    # prepared in Q2 (from 1 July) and no later than six months after the year ends
    assert (when["min_value"], when["max_value"]) == (pd.Timestamp("2025-07-01"), pd.Timestamp("2026-09-30"))


def test_a_later_quarter_is_required_once_it_is_open() -> None:
    assert "exp_teaching_staff_q3" not in schemas.schema(QUARTERLY, 2, YEAR).columns
    assert schemas.schema(QUARTERLY, 3, YEAR).columns["exp_teaching_staff_q3"].nullable is False


def test_a_schema_is_built_once_per_spec_and_period() -> None:
    assert schemas.schema(QUARTERLY, 2, YEAR) is schemas.schema(QUARTERLY, 2, YEAR)
    assert schemas.schema(QUARTERLY, 2, YEAR) is not schemas.schema(QUARTERLY, 3, YEAR)
    annual = schemas.schema(ANNUAL, None, YEAR)
    assert list(annual.columns) == [f.name for f in ANNUAL.inputs()]
    assert schemas.schema(ANNUAL, None, "2026-27") is not annual  # date windows follow the year


def same_schema(a: pa.DataFrameSchema, b: pa.DataFrameSchema) -> bool:
    """Equal column by column: dtype, nullable, and each check's name and statistics; the
    export alone converts types (coerce). (pandera's own == also compares the code behind
    each built-in check, which changes as its backends register themselves.)"""
    def shape(s: pa.DataFrameSchema) -> list[Any]:
        return [(name, str(c.dtype), c.nullable, c.title, c.description, [(k.name, k.statistics) for k in c.checks])
                for name, c in s.columns.items()] + [s.name, s.title, s.description, s.strict, s.checks]

    return shape(a) == shape(b)


def yaml_of(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["spec", *args, "--format", "pandera"]) == 0
    return capsys.readouterr().out


def test_pandera_yaml_loads_back_and_checks_an_analysts_csv(capsys: pytest.CaptureFixture[str]) -> None:
    """An analyst's frame: clean returns as CSV (dates and text as text, money in pence),
    read with pandas; then three cells broken by hand."""
    text = yaml_of(capsys, "quarterly", "--year", YEAR, "--quarter", "2")
    loaded = pa.DataFrameSchema.from_yaml(text)
    assert same_schema(loaded, schemas.schema(QUARTERLY, 2, YEAR))
    assert loaded.coerce  # an analyst's CSV holds dates and numbers as text
    rows = [frame_row(QUARTERLY, 2, clean_values(QUARTERLY, 2, Decimal("412500.00"), seed=s)) for s in range(3)]
    csv = schemas.frame(QUARTERLY, 2, rows).to_csv(index=False)
    df = pd.read_csv(io.StringIO(csv))
    assert df["date_prepared"].dtype != "datetime64[ns]"  # text in the CSV: the schema converts it
    loaded.validate(df, lazy=True)
    df.loc[0, "email"] = "finance at northfield"
    df.loc[1, "exp_teaching_staff_budget"] = -100
    df.loc[2, "declaration"] = "Maybe"
    with pytest.raises(SchemaErrors) as err:
        loaded.validate(df, lazy=True)
    fc = err.value.failure_cases
    assert sorted(zip(fc["column"], fc["index"], strict=True)) == [
        ("declaration", 2), ("email", 0), ("exp_teaching_staff_budget", 1)]


def test_pandera_yaml_for_the_annual_report_and_its_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    loaded = pa.DataFrameSchema.from_yaml(yaml_of(capsys, "annual", "--year", YEAR))
    assert same_schema(loaded, schemas.schema(ANNUAL, None, YEAR))
    assert main(["spec", "annual", "--format", "pandera", "--quarter", "2"]) == 2
    assert "has no quarter" in capsys.readouterr().err
    assert main(["spec", "quarterly", "--year", YEAR]) == 2
    assert "--format pandera" in capsys.readouterr().err
    assert main(["spec", "quarterly", "--format", "pandera", "--year", "2025"]) == 2
    assert "not a financial year" in capsys.readouterr().err


def test_a_batch_is_one_pandera_call_and_findings_stay_with_their_file(
        issued: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, north = issued
    allocation = issued_allocation(north)
    broken: list[dict[str, Any]] = [{}, {"email": "nope"}, {"prepared_by": None, "declaration": "Maybe"}, {}]
    paths = []
    for i, change in enumerate(broken):
        paths.append(tmp_path / f"return {i}.xlsx")
        fill_openpyxl(north, paths[-1], {**clean_values(QUARTERLY, 2, allocation, seed=i), **change})
    calls: list[int] = []
    validate = pa.DataFrameSchema.validate

    def counted(self: pa.DataFrameSchema, df: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(df))
        return validate(self, df, *args, **kwargs)

    monkeypatch.setattr(pa.DataFrameSchema, "validate", counted)
    reports = validate_files(paths, root)
    assert calls == [4]  # one frame, one row per return
    assert [sorted((f.code, f.name) for f in r.findings) for r in reports] == [
        [], [("Q-E108", "email")], [("Q-E101", "prepared_by"), ("Q-E106", "declaration")], []]
    [blank] = [f for f in reports[2].findings if f.code == "Q-E101"]
    assert blank.message == "Prepared by (name) is blank. Fill it in."


def test_values_beyond_what_a_column_can_hold_are_out_of_range(issued: tuple[Path, Path], tmp_path: Path) -> None:
    """A date in the year 9999 and £10^20 do not fit datetime64[ns] or int64: reported as typed."""
    root, north = issued
    path = tmp_path / "far out.xlsx"
    values = {**clean_values(QUARTERLY, 2, issued_allocation(north), seed=0),
              "date_prepared": date(9999, 12, 31), "other_income": Decimal("1e20")}
    fill_openpyxl(north, path, values)
    [report] = validate_files([path], root)
    by_name = {f.name: f for f in report.findings}
    assert (by_name["date_prepared"].code, by_name["other_income"].code) == ("Q-E107", "Q-E103")
    assert "31/12/9999 is not between 01/07/2025 and 30/09/2026" in by_name["date_prepared"].message
    assert "£100,000,000,000,000,000,000.00 is outside the allowed range" in by_name["other_income"].message


@pytest.mark.parametrize(("argv", "imports_pandas"), [
    (["--help"], False), (["spec", "quarterly"], False), (["spec", "quarterly", "--json"], False),
    (["spec", "quarterly", "--format", "pandera", "--year", YEAR], True)])
def test_pandas_and_pandera_are_imported_only_when_needed(argv: list[str], imports_pandas: bool) -> None:
    code = ("import sys\nfrom pbp_workbooks.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n"
            "    pass\nprint(sorted({'pandas', 'pandera'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == str(["pandas", "pandera"] if imports_pandas else [])
