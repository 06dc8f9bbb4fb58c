"""The feedback workbook shows what was sent, exactly as typed, in every problem cell, and
marks the cells that caused each finding (not a rule's first cell)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from fill import clean_values, fill_openpyxl, name_ref

from pbp_workbooks.cli.main import main
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")
RED = "FFF4B6B6"


def north(files: list[Path]) -> Path:
    return next(f for f in files if " - North - " in f.name)


def ingest(capsys: pytest.CaptureFixture[str], path: Path) -> dict:
    capsys.readouterr()
    main(["ingest", str(path), "--json"])
    [report] = json.loads(capsys.readouterr().out)
    return report


def marked(ws, name: str) -> bool:
    c = ws[SPEC[name].cell]
    return c.comment is not None and c.fill.fgColor.rgb == RED


@pytest.fixture
def values() -> dict:
    v = clean_values(SPEC, 2, Decimal("412500.00"), seed=21)
    assert v["items_1_amount"] >= 30000 and v["items_1_host_signed"] is not None
    return v


def test_every_problem_cell_shows_what_was_sent(workspace, q2_files: list[Path], tmp_path: Path, values: dict,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    sent = tmp_path / "typed.xlsx"

    def edit(wb) -> None:
        for name, value in (("placements_outside_ks", 2.5), ("other_income", "5000 pounds"),
                            ("balance_bf", "£1,200.50"), ("prepared_by", '=HYPERLINK("http://x","Jo")'),
                            ("exp_transport_forecast", "#REF!")):
            sheet, cell = name_ref(wb, name)
            wb[sheet][cell] = value  # as Excel stores it: a number, text, a formula, an error

    fill_openpyxl(north(q2_files), sent, values, edit=edit)
    r = ingest(capsys, sent)
    codes = {(f["code"], f["name"]) for f in r["findings"]}
    assert {("Q-E102", "placements_outside_ks"), ("Q-E102", "other_income"), ("Q-W109", "balance_bf"),
            ("Q-E110", "prepared_by"), ("Q-E102", "exp_transport_forecast")} <= codes, codes
    ws = openpyxl.load_workbook(r["feedback"])["Return"]
    shown = {name: ws[SPEC[name].cell] for name in ("placements_outside_ks", "other_income", "balance_bf",
                                                     "prepared_by", "exp_transport_forecast")}
    assert shown["placements_outside_ks"].value == 2.5  # was blank
    assert shown["other_income"].value == "5000 pounds"
    assert shown["balance_bf"].value == "£1,200.50"  # as typed, so the warning can be seen
    assert (shown["prepared_by"].value, shown["prepared_by"].data_type) == ('=HYPERLINK("http://x","Jo")', "s")
    assert shown["exp_transport_forecast"].value == "#REF!"
    for name, c in shown.items():
        assert c.comment is not None, name


def test_a_missing_host_signature_date_marks_that_cell_only(workspace, q2_files: list[Path], tmp_path: Path,
                                                            values: dict, capsys: pytest.CaptureFixture[str]) -> None:
    sent = tmp_path / "unsigned.xlsx"
    fill_openpyxl(north(q2_files), sent, {**values, "items_1_host_signed": None})
    r = ingest(capsys, sent)
    [f] = [f for f in r["findings"] if f["code"] == "Q-E203"]
    assert (f["name"], f["cell"]) == ("items_1_host_signed", SPEC["items_1_host_signed"].cell)
    assert f["message"].endswith(f"Blank: Item 1: Date signed ({SPEC['items_1_host_signed'].cell}).")
    ws = openpyxl.load_workbook(r["feedback"])["Return"]
    assert marked(ws, "items_1_host_signed")
    for filled in ("items_1_partnership_signatory", "items_1_partnership_signed", "items_1_host_signatory"):
        assert not marked(ws, filled), filled


def test_every_blank_cell_of_a_rule_is_named_and_marked(workspace, q2_files: list[Path], tmp_path: Path,
                                                        values: dict, capsys: pytest.CaptureFixture[str]) -> None:
    sent = tmp_path / "host missing.xlsx"
    fill_openpyxl(north(q2_files), sent, {**values, "items_1_host_signatory": None, "items_1_host_signed": None})
    r = ingest(capsys, sent)
    [f] = [f for f in r["findings"] if f["code"] == "Q-E203"]  # one finding for the rule
    host, day = SPEC["items_1_host_signatory"], SPEC["items_1_host_signed"]
    assert f["cell"] == host.cell
    assert f"Blank: Item 1: Host school signatory ({host.cell}); Item 1: Date signed ({day.cell})." in f["message"]
    wb = openpyxl.load_workbook(r["feedback"])
    ws = wb["Return"]
    assert marked(ws, "items_1_host_signatory") and marked(ws, "items_1_host_signed")
    assert not marked(ws, "items_1_partnership_signatory") and not marked(ws, "items_1_partnership_signed")
    issues = [row for row in wb["Issues"].iter_rows(min_row=5, values_only=True) if row[0] == "Q-E203"]
    assert len(issues) == 1  # one line per finding, linking to its first cell


def test_a_rule_about_figures_still_marks_its_first_cell(workspace, q2_files: list[Path], tmp_path: Path,
                                                         values: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """Q-E212 (declaration 'No'): nothing is blank; the rule's own cell is marked, as before."""
    sent = tmp_path / "no declaration.xlsx"
    fill_openpyxl(north(q2_files), sent, {**values, "declaration": "No"})
    r = ingest(capsys, sent)
    [f] = [f for f in r["findings"] if f["code"] == "Q-E212"]
    assert f["name"] == "declaration" and "Blank:" not in f["message"]
    assert marked(openpyxl.load_workbook(r["feedback"])["Return"], "declaration")
