"""Cross-return rules and pre-filling from the LA's accepted returns."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import by_hand
import openpyxl
import pytest
from fill import clean_values, fill_openpyxl

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import samples
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
    v2.update({k: v for k, v in v1.items() if k.endswith("_q1") or k.endswith("_budget") or k.startswith("items_")})
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


def item(n: int, description: str, amount: str, day: date) -> dict[str, object]:
    return {f"items_{n}_date": day, f"items_{n}_description": description, f"items_{n}_supplier": "Calm Spaces Ltd",
            f"items_{n}_category": "Premises and equipment", f"items_{n}_amount": Decimal(amount),
            f"items_{n}_partnership_signatory": "Jo Okafor", f"items_{n}_partnership_signed": day - timedelta(days=5),
            f"items_{n}_host_signatory": "Kim Lewis", f"items_{n}_host_signed": day - timedelta(days=4)}


def consistent(values: dict[str, object]) -> dict[str, object]:
    """A return whose figures were changed, with the surplus plan or recovery plan they now need."""
    v = {k: x for k, x in values.items() if not k.startswith("surplus_") and k != "recovery_plan"}
    v = samples.make_clean(SPEC, {**v, "dsg_allocation": ALLOC["2025-26"]}, Thresholds().params(), random.Random(0))
    return {k: x for k, x in v.items() if k != "dsg_allocation"}


def test_the_items_register_is_the_years_register(workspace, tmp_path: Path, capsys) -> None:
    """Issue #12 item 12: Q1's items (rows 1 and 3: the gap is closed) come pre-filled and
    locked in Q2, which has room for 10; a new Q2 item goes below them; changing a carried
    row is Q-E304 at its cell; the LA's register lists each item once, with the quarter it
    was first reported in. (The items are larger than the category's spending so far: Q-W220
    warnings, which do not stop a return being accepted.)"""
    items = next(s for s in SPEC.sections if s.key == "items")
    assert len(items.row_keys) == 10
    q1 = generate(workspace, "2025-26", 1)
    v1 = clean_values(SPEC, 1, ALLOC["2025-26"], seed=36)
    v1 = {k: v for k, v in v1.items() if not k.startswith("items_")}
    v1.update(item(1, "Sensory room refit", "31000.00", date(2025, 5, 12)))
    v1.update(item(3, "Minibus lease", "30500.50", date(2025, 6, 2)))
    fill_openpyxl(q1, tmp_path / "q1.xlsx", v1)
    r1 = ingest(tmp_path / "q1.xlsx", capsys)
    assert r1["status"] in ("accepted", "accepted_with_warnings"), r1["findings"]
    q2 = generate(workspace, "2025-26", 2)
    ws = openpyxl.load_workbook(q2)["Return"]
    assert [ws[SPEC[f"items_{n}_description"].cell].value for n in (1, 2, 3)] == ["Sensory room refit",
                                                                                 "Minibus lease", None]
    assert ws[SPEC["items_2_amount"].cell].value == 30500.5
    assert ws[SPEC["items_2_partnership_signed"].cell].is_date
    assert ws[SPEC["items_1_amount"].cell].protection.locked and ws[SPEC["items_2_host_signed"].cell].protection.locked
    assert not ws[SPEC["items_3_amount"].cell].protection.locked  # this quarter's items go here
    # the date prepared may not be before the quarter: Q2's data validation starts on 1 July, not
    # on Q1's 1 April (issued earlier in the same process)
    [dv] = [d for d in ws.data_validations.dataValidation if SPEC["date_prepared"].cell in str(d.sqref).split()]
    assert int(dv.formula1) == (date(2025, 7, 1) - date(1899, 12, 30)).days
    v2 = clean_values(SPEC, 2, ALLOC["2025-26"], seed=37)
    v2 = {k: v for k, v in v2.items() if not k.startswith("items_")}  # carried rows are left as issued
    v2.update({k: v for k, v in v1.items() if k.endswith("_q1") or k.endswith("_budget")})
    v2.update(item(3, "Outdoor classroom", "42000.00", date(2025, 8, 20)))
    v2 = consistent(v2)
    fill_openpyxl(q2, tmp_path / "q2 changed.xlsx", {**v2, "items_2_amount": Decimal("35000.00")})
    changed = ingest(tmp_path / "q2 changed.xlsx", capsys)
    [f] = [f for f in changed["findings"] if f["code"] == "Q-E304"]
    assert (f["cell"], f["severity"]) == (SPEC["items_2_amount"].cell, "error")
    assert "Item 2 came from the earlier return" in f["message"] and "Amount was changed from £30,500.50 to " \
        "£35,000.00" in f["message"]
    fill_openpyxl(q2, tmp_path / "q2.xlsx", v2)
    r2 = ingest(tmp_path / "q2.xlsx", capsys)
    assert r2["status"] in ("accepted", "accepted_with_warnings"), r2["findings"]
    assert not [f for f in r2["findings"] if f["code"] == "Q-E304"]
    assert main(["consolidate", "--year", "2025-26", "--quarter", "2"]) == 0
    book = next((workspace.root / "reports").rglob("PBP consolidated *.xlsx"))
    reg = openpyxl.load_workbook(book)["Items over £30,000"]
    head = [c.value for c in next(r for r in reg.iter_rows() if r[0].value == "Partnership")]
    rows = [dict(zip(head, (c.value for c in r), strict=False)) for r in reg.iter_rows() if r[0].value == "North"]
    assert [(r["Description"], r["First reported"], r["Amount"]) for r in rows] == [
        ("Sensory room refit", "Q1", 31000), ("Minibus lease", "Q1", 30500.5), ("Outdoor classroom", "Q2", 42000)]
