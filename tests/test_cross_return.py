"""Cross-return rules and pre-filling from the LA's accepted returns."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import by_hand
import openpyxl
import pytest
from fill import clean_values, fill_openpyxl

from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")
ROWS = next(s for s in SPEC.sections if s.key == "exp").row_keys
ALLOC = {"2024-25": Decimal("398500.00"), "2025-26": Decimal("412500.00")}


def generate(ws, year: str, quarter: int) -> Path:
    assert main(["generate", "quarterly", "--year", year, "--quarter", str(quarter)]) == 0
    return next((ws.root / "outbox" / f"{year} Q{quarter}").glob("* - North - *.xlsx"))


def ingest(path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    main(["ingest", str(path), "--json"])
    [report] = json.loads(capsys.readouterr().out)
    return report


def cell(path: Path, name: str) -> object:
    return openpyxl.load_workbook(path)["Return"][SPEC[name].cell].value


def test_q2_is_prefilled_from_the_accepted_q1_return(workspace, tmp_path: Path, capsys) -> None:
    q1 = generate(workspace, "2025-26", 1)
    values = clean_values(SPEC, 1, ALLOC["2025-26"], seed=31)
    fill_openpyxl(q1, tmp_path / "q1.xlsx", values)
    assert ingest(tmp_path / "q1.xlsx", capsys)["status"] == "accepted"
    q2 = generate(workspace, "2025-26", 2)
    assert Decimal(str(cell(q2, "exp_teaching_staff_q1"))) == values["exp_teaching_staff_q1"]
    assert Decimal(str(cell(q2, "exp_teaching_staff_budget"))) == values["exp_teaching_staff_budget"]
    assert cell(q2, "exp_teaching_staff_q2") is None
    east = next((workspace.root / "outbox" / "2025-26 Q2").glob("* - East - *.xlsx"))
    assert openpyxl.load_workbook(east)["Return"][SPEC["exp_teaching_staff_q1"].cell].value is None


def test_restated_prior_quarter_needs_a_commentary(workspace, tmp_path: Path, capsys) -> None:
    q1 = generate(workspace, "2025-26", 1)
    v1 = clean_values(SPEC, 1, ALLOC["2025-26"], seed=32)
    fill_openpyxl(q1, tmp_path / "q1.xlsx", v1)
    assert ingest(tmp_path / "q1.xlsx", capsys)["status"] == "accepted"
    q2 = generate(workspace, "2025-26", 2)
    v2 = clean_values(SPEC, 2, ALLOC["2025-26"], seed=33)
    v2.update({k: v for k, v in v1.items() if k.endswith("_q1") or k.endswith("_budget")})
    restated = v1["exp_transport_q1"] + Decimal("125.50")
    fill_openpyxl(q2, tmp_path / "q2.xlsx", {**v2, "exp_transport_q1": restated, "exp_transport_commentary": None})
    report = ingest(tmp_path / "q2.xlsx", capsys)
    [f] = [f for f in report["findings"] if f["code"] == "Q-E302"]
    assert f["cell"] == SPEC["exp_transport_q1"].cell and "£125.50" in f["message"]
    assert report["status"] == "rejected"
    fill_openpyxl(q2, tmp_path / "q2b.xlsx", {**v2, "exp_transport_q1": restated,
                                              "exp_transport_commentary": "Q1 invoice for taxis was posted late."})
    report = ingest(tmp_path / "q2b.xlsx", capsys)
    assert [f["code"] for f in report["findings"]] == ["Q-W303"]
    assert report["status"] == "accepted_with_warnings"


def test_balance_brought_forward_is_last_years_q4_closing_balance(workspace, tmp_path: Path, capsys) -> None:
    q4 = generate(workspace, "2024-25", 4)
    v4 = clean_values(SPEC, 4, ALLOC["2024-25"], seed=34, year="2024-25")
    fill_openpyxl(q4, tmp_path / "q4.xlsx", v4)
    assert ingest(tmp_path / "q4.xlsx", capsys)["status"] in ("accepted", "accepted_with_warnings")
    closing = by_hand.forecast_balance({**v4, "dsg_allocation": ALLOC["2024-25"]}, ROWS)  # income - outturn
    q1 = generate(workspace, "2025-26", 1)
    assert Decimal(str(cell(q1, "balance_bf"))) == closing  # pre-filled, still editable
    v1 = clean_values(SPEC, 1, ALLOC["2025-26"], seed=35)
    fill_openpyxl(q1, tmp_path / "q1.xlsx", {**v1, "balance_bf": closing + Decimal("10.00")})
    report = ingest(tmp_path / "q1.xlsx", capsys)
    [f] = [f for f in report["findings"] if f["code"] == "Q-E301"]
    assert f["cell"] == SPEC["balance_bf"].cell and "difference £10.00" in f["message"]
    v1 = clean_values(SPEC, 1, ALLOC["2025-26"], seed=35)
    fill_openpyxl(q1, tmp_path / "q1-ok.xlsx", {**v1, "balance_bf": closing})
    report = ingest(tmp_path / "q1-ok.xlsx", capsys)
    assert not [f for f in report["findings"] if f["code"] == "Q-E301"]
