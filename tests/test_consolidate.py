"""pbp consolidate on real files: every figure is recomputed here, independently, from the
input cells of the returns that were accepted (read by defined name with openpyxl; no
call to calc or to the consolidation code), and must equal the workbook and the CSV to
the penny. Rejected and missing returns are shown as such; text typed into a return
comes out as text, never as a formula; charts and the Excel table point at the data.

Scenario (2025-26): Q1 -- North, East, South accepted; West and Central never sent.
Q2 -- North and West accepted; East accepted with injection strings in its text;
South rejected (invalid email) and never corrected; Central missing.
"""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import openpyxl
import pytest
from datapackage_check import check_package, errors, frictionless_validate
from fill import clean_values, fill_openpyxl, read_inputs, workspace_env

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import SAMPLE_ALLOCATIONS
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import run as demo
from pbp_workbooks.intake.ingest import ingest
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.generate import generate

SPEC = spec_mod.load("quarterly")
FY = FinancialYear.parse("2025-26")
PARAMS = Thresholds().params()
PENNY = Decimal("0.01")
PARTNERSHIPS = ["North", "East", "South", "West", "Central"]
CATEGORIES = next(s for s in SPEC.sections if s.key == "exp")
INJECTIONS = {
    "exp_teaching_staff_commentary": '=HYPERLINK("http://x")',
    "exp_support_staff_commentary": "+1",
    "exp_supply_agency_commentary": "-1+2",
    "exp_training_cpd_commentary": "@SUM(A1)",
    "items_1_description": "\tX",
    # A person's carriage return: openpyxl writes a raw CR, which XML turns into LF, so type
    # it the way Excel stores one (_x000D_); the LA's reader decodes it to "\r".
    "items_1_supplier": "_x000D_Y",
    "surplus_other_description": "=1+1",
}
INJECTED = {k: v.replace("_x000D_", "\r") for k, v in INJECTIONS.items()}
_ESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def ooxml_text(v: Any) -> Any:
    """openpyxl does not decode ST_Xstring escapes (_x000D_ is a CR in Excel); decode them."""
    return _ESC.sub(lambda m: chr(int(m.group(1), 16)), v) if isinstance(v, str) else v


def pence(v: Any) -> Decimal | None:
    """A number read from a cell, to the penny (floats via repr: the digits that were written)."""
    if v is None or v == "":
        return None
    return (Decimal(repr(v)) if isinstance(v, float) else Decimal(v)).quantize(PENNY)


@dataclass
class Scenario:
    ws: Workspace
    sent: dict[tuple[int, str], Path]  # (quarter, partnership) -> the file ingested
    accepted: dict[tuple[int, str], Path]
    folder: Path

    @property
    def workbook(self) -> Path:
        return self.folder / "PBP consolidated 2025-26 Q2.xlsx"

    def csv(self, which: str) -> Path:
        return self.folder / f"PBP consolidated 2025-26 Q2 - {which}.csv"


def allocation(partnership: str) -> Decimal:
    return Decimal(SAMPLE_ALLOCATIONS[partnership][1])


def issued(files: list[Path], partnership: str) -> Path:
    return next(f for f in files if f" - {partnership} - " in f.name)


def build_scenario(root: Path) -> Scenario:
    assert main(["init", str(root / "ws"), "--password", "test-pw"]) == 0
    ws = Workspace((root / "ws").resolve())
    inbox = root / "inbox"
    sent: dict[tuple[int, str], Path] = {}
    q1_files = generate(ws, "quarterly", FY, 1, None)
    q1_values = {}
    for i, p in enumerate(PARTNERSHIPS):
        q1_values[p] = clean_values(SPEC, 1, allocation(p), seed=500 + i)
        if p == "East":  # the item's text is carried into Q2 (the year's items register, locked there)
            q1_values[p].update({k: v for k, v in INJECTIONS.items() if k.startswith("items_")})
        if p in ("North", "East", "South"):
            sent[(1, p)] = inbox / "Q1" / issued(q1_files, p).name
            fill_openpyxl(issued(q1_files, p), sent[(1, p)], q1_values[p])
    reports = ingest(ws, [sent[(1, p)] for p in ("North", "East", "South")])
    assert [r.status for r in reports] == ["accepted"] * 3, [r.findings for r in reports]
    q2_files = generate(ws, "quarterly", FY, 2, None)
    carried = demo.carried_over(ws, SPEC, FY, 2)  # Q1's items, locked in Q2 where Q1 was accepted
    for i, p in enumerate(["North", "East", "South", "West"]):
        fresh = clean_values(SPEC, 2, allocation(p), seed=600 + i)
        values = demo.typed(SPEC, demo.carry_forward(SPEC, q1_values[p], fresh, 2, PARAMS, seed=700 + i,
                                                     carried=carried[p]), 2)
        if p == "East":
            values.update({k: v for k, v in INJECTIONS.items() if not k.startswith("items_")})
        if p == "South":
            values["email"] = "bursar at southmead"
        sent[(2, p)] = inbox / "Q2" / issued(q2_files, p).name
        fill_openpyxl(issued(q2_files, p), sent[(2, p)], values)
    reports = ingest(ws, [sent[(2, p)] for p in ("North", "East", "South", "West")])
    got = {r.identity["partnership"]: r for r in reports if r.identity}
    assert {p: r.status for p, r in got.items()} == {"North": "accepted", "East": "accepted", "South": "rejected",
                                                     "West": "accepted"}, {p: r.findings for p, r in got.items()}
    with workspace_env(ws.root):
        assert main(["consolidate", "--year", "2025-26", "--quarter", "2"]) == 0
    accepted = {k: v for k, v in sent.items() if k != (2, "South")}
    return Scenario(ws, sent, accepted, ws.root / "reports" / "2025-26 Q2")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PBP_WORKSPACE", raising=False)
        yield build_scenario(tmp_path_factory.mktemp("consolidate"))


# --------------------------------------------------------------------------- the independent recomputation


@dataclass
class Expected:
    """Figures of one accepted return, from its input cells only."""

    quarter: int
    inputs: dict[str, Any]

    def money(self, name: str) -> Decimal:
        return pence(self.inputs.get(name)) or Decimal("0.00")

    def cat(self, key: str) -> dict[str, Decimal]:
        actual = [self.money(f"exp_{key}_q{q}") for q in range(1, self.quarter + 1)]
        to_date = sum(actual, Decimal("0.00"))
        forecast = self.money(f"exp_{key}_forecast")
        budget = self.money(f"exp_{key}_budget")
        return {"budget": budget, "actual_in_quarter": actual[-1], "to_date": to_date, "forecast": forecast,
                "outturn": to_date + forecast, "variance": to_date + forecast - budget}

    def total(self, what: str) -> Decimal:
        return sum((self.cat(k)[what] for k in CATEGORIES.row_keys), Decimal("0.00"))

    @property
    def total_income(self) -> Decimal:
        return self.money("dsg_allocation") + self.money("balance_bf") + self.money("other_income")

    @property
    def balance(self) -> Decimal:
        return self.total_income - self.total("outturn")

    @property
    def planned(self) -> Decimal:
        return sum((self.money(f"surplus_{k}") for k in ("cpd", "future", "contingency", "other")), Decimal("0.00"))


@pytest.fixture(scope="module")
def expected(scenario: Scenario) -> dict[tuple[int, str], Expected]:
    return {k: Expected(k[0], read_inputs(p)) for k, p in scenario.accepted.items()}


@pytest.fixture(scope="module")
def book(scenario: Scenario) -> openpyxl.Workbook:
    return openpyxl.load_workbook(scenario.workbook, data_only=True)


def rows_by_label(ws: Any, col: int = 1) -> dict[str, int]:
    return {str(ws.cell(row=r, column=col).value): r for r in range(1, ws.max_row + 1)
            if ws.cell(row=r, column=col).value is not None}


def header_cols(ws: Any, row: int) -> dict[str, int]:
    return {str(c.value): c.column for c in ws[row] if c.value is not None}


SUMMARY_MEASURES = {
    "DSG allocation": lambda e: e.money("dsg_allocation"),
    "Balance brought forward": lambda e: e.money("balance_bf"),
    "Other income": lambda e: e.money("other_income"),
    "Total income": lambda e: e.total_income,
    "Annual budget": lambda e: e.total("budget"),
    "Actual to date": lambda e: e.total("to_date"),
    "Forecast outturn": lambda e: e.total("outturn"),
    "Variance (+ over budget, − under)": lambda e: e.total("variance"),
    "Forecast year-end balance": lambda e: e.balance,
}


def test_summary_reconciles_to_the_penny(book, expected) -> None:
    ws = book["Summary"]
    rows = rows_by_label(ws)
    cols = header_cols(ws, rows["Partnership"])
    q2 = {p: e for (q, p), e in expected.items() if q == 2}
    assert set(q2) == {"North", "East", "West"}
    for p, e in q2.items():
        for label, get in SUMMARY_MEASURES.items():
            assert pence(ws.cell(rows[p], cols[label]).value) == get(e), (p, label)
        assert ws.cell(rows[p], cols["Return"]).value.startswith("Accepted")
    total_row = next(r for label, r in rows.items() if label.startswith("LA total"))
    assert ws.cell(total_row, 1).value.startswith("LA total (3 of 5")
    for label, get in SUMMARY_MEASURES.items():
        assert pence(ws.cell(total_row, cols[label]).value) == sum(map(get, q2.values())), label
    median_row = next(r for label, r in rows.items() if label.startswith("LA median"))
    for label, get in SUMMARY_MEASURES.items():
        values = sorted(map(get, q2.values()))
        assert pence(ws.cell(median_row, cols[label]).value) == values[1], label  # three accepted: the middle one
    # variance % of the total is total variance / total budget, exactly
    var = sum(e.total("variance") for e in q2.values()) / sum(e.total("budget") for e in q2.values())
    assert abs(Decimal(repr(ws.cell(total_row, cols["Variance %"]).value)) - var) < Decimal("1e-12")


def test_rejected_and_missing_are_shown_blank_never_zero(book) -> None:
    ws = book["Summary"]
    rows = rows_by_label(ws)
    cols = header_cols(ws, rows["Partnership"])
    assert ws.cell(rows["South"], cols["Return"]).value.startswith("REJECTED (v1)")
    assert ws.cell(rows["Central"], cols["Return"]).value.startswith("MISSING")
    for p in ("South", "Central"):
        for label in SUMMARY_MEASURES:
            assert ws.cell(rows[p], cols[label]).value is None, (p, label)
        assert ws.cell(rows[p], cols["Financial status"]).value.startswith("No data")
    status = book["Returns status"]
    states = {(r[0], r[1]): r[9] for r in status.iter_rows(min_row=4, values_only=True) if r[0]}
    assert states[("2025-26 Q2", "South")] == "REJECTED" and states[("2025-26 Q2", "Central")] == "MISSING"
    assert states[("2025-26 Q1", "West")] == "MISSING" and states[("2025-26 Q2", "East")] == "accepted"


def test_category_table_is_tidy_filtered_and_reconciles(scenario, book, expected) -> None:
    ws = book["Categories"]
    table = ws.tables["CategoryData"]
    assert table.autoFilter is not None and table.autoFilter.ref == table.ref
    n = 2 * 5 * len(CATEGORIES.row_keys)  # quarters x provisions x categories: nobody is dropped
    assert table.ref == f"A1:L{n + 1}"
    head = {c.value: i for i, c in enumerate(ws[1])}
    label_to_key = dict(zip(CATEGORIES.row_labels, CATEGORIES.row_keys, strict=True))
    seen = set()
    for row in ws.iter_rows(min_row=2, max_row=n + 1, values_only=True):
        q, p, cat = row[head["Reporting quarter"]], row[head["Partnership"]], row[head["Category"]]
        seen.add((q, p, cat))
        e = expected.get((q, p))
        got = {k: pence(row[head[h]]) for k, h in (("budget", "Annual budget"), ("actual_in_quarter", "Actual in quarter"),
                                                   ("to_date", "Actual to date"), ("forecast", "Forecast rest of year"),
                                                   ("outturn", "Forecast outturn"),
                                                   ("variance", "Variance (+ over, − under)"))}
        if e is None:
            assert set(got.values()) == {None}, (q, p, cat)
            assert row[head["Return status"]].startswith(("MISSING", "REJECTED"))
        else:
            assert got == e.cat(label_to_key[cat]), (q, p, cat)
    assert len(seen) == n
    # the LA totals by category (headline quarter) are the sums over the accepted Q2 returns
    bc = book["By category"]
    rows = rows_by_label(bc)
    cols = header_cols(bc, rows["Category"])
    q2 = [e for (q, _p), e in expected.items() if q == 2]
    for key, label in zip(CATEGORIES.row_keys, CATEGORIES.row_labels, strict=True):
        assert pence(bc.cell(rows[label], cols["Annual budget"]).value) == sum(e.cat(key)["budget"] for e in q2)
        assert pence(bc.cell(rows[label], cols["Forecast outturn"]).value) == sum(e.cat(key)["outturn"] for e in q2)
        assert pence(bc.cell(rows[label], cols["Actual Q1"]).value) == sum(e.money(f"exp_{key}_q1") for e in q2)
    assert pence(bc.cell(rows["Total"], cols["Actual to date"]).value) == sum(e.total("to_date") for e in q2)
    assert bc.cell(rows["Total"], cols["Actual Q3"]).value is None  # a closed quarter is blank, not 0


def test_items_balances_and_placements_reconcile(book, expected) -> None:
    q2 = {p: e for (q, p), e in expected.items() if q == 2}
    items = book["Items over £30,000"]
    rows = [r for r in items.iter_rows(min_row=5, values_only=True) if r[0]]
    listed = {(r[0], r[2]): pence(r[8]) for r in rows if r[2] and r[2].startswith("Item ")}
    # the year's register: each provision's latest accepted return (South's Q2 was rejected: its Q1)
    latest = {**{p: e for (q, p), e in expected.items() if q == 1}, **q2}
    want = {(p, f"Item {k}"): e.money(f"items_{k}_amount") for p, e in latest.items() for k in range(1, 11)
            if e.inputs.get(f"items_{k}_amount") is not None}
    assert listed == want and ("South", "Item 1") in want
    total = next(r for r in rows if r[0] == "Total")
    assert pence(total[8]) == sum(want.values())
    assert {r[0]: r[2] for r in rows if r[0] == "Central"} == {"Central": "no accepted return this year"}
    assert {r[3] for r in rows if r[0] in ("North", "East") and r[2]} == {"Q1"}  # carried over, listed once
    bal = book["Balances"]
    brow = rows_by_label(bal)
    cols = header_cols(bal, brow["Partnership"])
    for p, e in q2.items():
        assert pence(bal.cell(brow[p], cols["Forecast year-end balance"]).value) == e.balance
        assert pence(bal.cell(brow[p], cols["Total planned use"]).value) == e.planned
        unplanned = max(e.balance - e.planned, Decimal("0.00"))
        assert pence(bal.cell(brow[p], cols["Unplanned surplus"]).value) == unplanned
        threshold = e.money("dsg_allocation") * 5 / 100
        flag = bal.cell(brow[p], cols["Flag"]).value
        assert flag.startswith("Possible claw-back") == (e.balance > threshold and unplanned > threshold), p
    assert pence(bal.cell(brow["LA total"], cols["Forecast year-end balance"]).value) == sum(
        e.balance for e in q2.values())
    pl = book["Placements"]
    prow = [r for r in pl.iter_rows(min_row=5, values_only=True) if r[0] is not None]
    total = next(r for r in prow if r[0] == "Total")
    assert total[4] == sum(int(e.inputs["placements_outside_ks"]) for e in expected.values())


def test_possible_clawback_is_flagged_for_an_unplanned_surplus(tmp_path: Path) -> None:
    """The RAG ratings on their own (validators/quarterly.toml [[rating]], through the registry):
    above the threshold with too small a plan -> claw-back; a deficit -> Red; off budget -> Amber."""
    from pbp_workbooks.reports.figures import assess

    th = Thresholds()
    alloc = Decimal("400000.00")  # threshold £20,000

    def rate(balance: str, planned: str | None, variance: str = "0") -> tuple:
        values = {"forecast_balance": Decimal(balance), "dsg_allocation": alloc, "exp_total_budget": alloc,
                  "exp_total_variance": Decimal(variance),
                  "surplus_planned_total": None if planned is None else Decimal(planned)}
        return assess(spec_mod.load("quarterly"), values, th)

    assert rate("50000", "0")[3] is True
    assert rate("50000", "35000")[3] is False  # £15k unplanned
    assert rate("50000", "25000")[3] is True  # £25k unplanned
    assert rate("50000", "25000")[4:] == ("Amber", "£25,000 of the forecast surplus has no planned use (the LA may "
                                          "claw it back)")
    assert rate("19000", "0")[3] is False
    assert rate("20000.01", "0")[3] is True and rate("20000.00", "0")[3] is False  # over the threshold, not at it
    assert rate("-1.00", None)[4:] == ("Red", "a deficit of £1 is forecast")
    assert rate("50000", "50000")[4] == "Green"
    assert rate("1000", None, "45000")[4:] == ("Amber", "the forecast outturn is £45,000 over budget (11.2%)")
    assert rate("1000", None, "-45000")[4:] == ("Amber", "the forecast outturn is £45,000 under budget (-11.2%)")
    assert rate("1000", None, "1000")[4] == "Green"  # £1,000 off budget is not over the LA's £1,000 minimum


def test_data_quality_log_lists_findings_of_every_file(book) -> None:
    ws = book["Data quality"]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[0]]
    south = [r for r in rows if r[1] == "South" and r[0] == "2025-26 Q2"]
    assert [(r[7], r[8], r[6]) for r in south] == [("Q-E108", "error", "no")]
    assert south[0][12] == "bursar at southmead"


ISO_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$")


def test_dates_are_real_dates_in_every_sheet(scenario: Scenario, book) -> None:
    """Summary, Returns status, Data quality, About and the headteacher summaries: a date or a
    time is an Excel date (sortable, shown dd/mm/yyyy), never ISO text."""
    books = {scenario.workbook.name: book}
    for path in sorted(scenario.folder.glob("summary - *.xlsx")):
        books[path.name] = openpyxl.load_workbook(path, data_only=True)
    assert len(books) == 6
    for name, wb in books.items():
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if ws.title == "Data quality" and cell.column == 13:
                        continue  # the Value column: what the school typed, as typed
                    assert not (isinstance(cell.value, str) and ISO_TEXT.match(cell.value)), \
                        (name, ws.title, cell.coordinate, cell.value)
    log = book["Data quality"]
    assert log["E4"].value == "Received (UTC)"
    received = [r[4] for r in log.iter_rows(min_row=5, values_only=True) if r[0]]
    assert received and all(isinstance(v, datetime) for v in received), received[:3]
    assert log["E5"].number_format == "dd/mm/yyyy hh:mm"


# --------------------------------------------------------------------------- text stays text


def sheet_xml(path: Path) -> dict[str, ET.Element]:
    """Sheet name -> parsed worksheet XML."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    with zipfile.ZipFile(path) as z:
        wbx = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels}
        out = {}
        for s in wbx.find("m:sheets", ns):
            rid = s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
            out[s.get("name")] = ET.fromstring(z.read("xl/" + target[rid].lstrip("/").removeprefix("xl/")))
    return out


def assert_plain_strings(path: Path, wanted: set[str], *, at_least: int) -> None:
    wb = openpyxl.load_workbook(path)
    xml = sheet_xml(path)
    m = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    found = 0
    for ws in wb.worksheets:
        cells = {c.get("r"): c for c in xml[ws.title].iter(f"{m}c")}
        for row in ws.iter_rows():
            for c in row:
                value = ooxml_text(c.value)
                if value in wanted:
                    found += 1
                    assert c.data_type == "s", (ws.title, c.coordinate, value)
                    node = cells[c.coordinate]
                    assert node.find(f"{m}f") is None and node.get("t") == "s", (ws.title, c.coordinate)
        for f in xml[ws.title].iter(f"{m}f"):  # and no formula anywhere is one of them
            assert "=" + (f.text or "") not in wanted and (f.text or "") not in {"HYPERLINK(\"http://x\")", "1+1"}
    assert found >= at_least, found


def test_injection_strings_stay_plain_text_in_the_workbook(scenario) -> None:
    assert_plain_strings(scenario.workbook, set(INJECTED.values()), at_least=len(INJECTED))


def test_injection_strings_stay_plain_text_in_the_summary(scenario) -> None:
    wanted = {INJECTED[k] for k in ("exp_teaching_staff_commentary", "exp_support_staff_commentary",
                                    "exp_supply_agency_commentary", "exp_training_cpd_commentary",
                                    "items_1_description", "items_1_supplier")}
    assert_plain_strings(scenario.folder / "summary - East.xlsx", wanted, at_least=len(wanted))


# --------------------------------------------------------------------------- charts


CHART_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$([A-Z]+)\$(\d+)(?::\$([A-Z]+)\$(\d+))?$")


def chart_refs(path: Path) -> list[list[tuple[str, str, int, str, int]]]:
    """For every chart part: its <c:f> references as (sheet, col1, row1, col2, row2)."""
    out = []
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        for n in names:
            root = ET.fromstring(z.read(n))
            refs = []
            for f in root.iter("{http://schemas.openxmlformats.org/drawingml/2006/chart}f"):
                m = CHART_REF.match(f.text or "")
                assert m, f.text
                sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
                refs.append((sheet, m.group(3), int(m.group(4)), m.group(5) or m.group(3), int(m.group(6) or m.group(4))))
            out.append(refs)
    return out


def test_consolidated_charts_point_at_the_data_rows(scenario, book) -> None:
    charts = chart_refs(scenario.workbook)
    assert len(charts) == 4
    summary_rows = rows_by_label(book["Summary"])
    partner_rows = sorted(summary_rows[p] for p in PARTNERSHIPS)
    cat_rows = sorted(rows_by_label(book["By category"])[label] for label in CATEGORIES.row_labels)
    total_row = rows_by_label(book["By category"])["Total"]
    for refs in charts:
        ranges = [r for r in refs if r[2] != r[4] or r[1] != r[3]]  # ranges (not a series-name cell)
        assert ranges
        for sheet, c1, r1, c2, r2 in ranges:
            if sheet == "Summary":
                assert (r1, r2) == (partner_rows[0], partner_rows[-1]) and c1 == c2
            else:
                assert sheet == "By category"
                if c1 == c2:
                    assert (r1, r2) == (cat_rows[0], cat_rows[-1])
                else:  # spend by quarter: Actual Q1..Q2 of the header (categories) and of the Total row (values)
                    assert (c1, c2, r1) == ("C", "D", r2)
                    assert r1 in (total_row - len(cat_rows) - 1, total_row)
    assert any(r == ("By category", "C", total_row, "D", total_row) for refs in charts for r in refs)
    header = book["By category"]
    assert (header[f"C{total_row - len(cat_rows) - 1}"].value, header[f"D{total_row - len(cat_rows) - 1}"].value) == (
        "Actual Q1", "Actual Q2")


def test_summary_workbooks_have_charts_on_the_data(scenario) -> None:
    for p in PARTNERSHIPS:
        assert (scenario.folder / f"summary - {p}.xlsx").exists()
    path = scenario.folder / "summary - North.xlsx"
    wb = openpyxl.load_workbook(path, data_only=True)
    assert wb.sheetnames[0] == "Summary"
    assert wb["Summary"]["B5"].value.split(" – ")[0] in ("Green", "Amber", "Red")  # words, not colour alone
    figs = wb["Figures"]
    labels = rows_by_label(figs)
    cat_rows = sorted(labels[label] for label in CATEGORIES.row_labels)
    charts = chart_refs(path)
    assert len(charts) == 3
    by_cat, by_quarter, balance = charts
    assert {(s, c1, r1, r2) for s, c1, r1, _c2, r2 in by_cat} == {
        ("Figures", "A", cat_rows[0], cat_rows[-1]), ("Figures", "B", cat_rows[0], cat_rows[-1]),
        ("Figures", "I", cat_rows[0], cat_rows[-1])}
    spend = sorted(labels[k] for k in ("Q1 actual", "Q2 actual", "Q3–Q4 forecast"))
    assert {(c1, r1, r2) for _s, c1, r1, _c2, r2 in by_quarter} == {("A", spend[0], spend[-1]),
                                                                   ("B", spend[0], spend[-1])}
    bal = sorted(labels[k] for k in ("Brought forward from last year", "Forecast at year end"))
    assert {(c1, r1, r2) for _s, c1, r1, _c2, r2 in balance} == {("A", bal[0], bal[-1]), ("B", bal[0], bal[-1])}
    # the missing partnership still gets a summary, saying so, without figures or charts
    central = scenario.folder / "summary - Central.xlsx"
    cw = openpyxl.load_workbook(central)
    assert cw["Summary"]["B5"].value == "No data – return missing"
    assert chart_refs(central) == []


def test_summary_first_sheet_matches_the_return(scenario, expected) -> None:
    wb = openpyxl.load_workbook(scenario.folder / "summary - West.xlsx", data_only=True)
    ws = wb["Summary"]
    e = expected[(2, "West")]
    tiles = {ws.cell(8, c).value: pence(ws.cell(9, c).value) for c in range(1, 5)}
    assert tiles == {"DSG allocation 2025-26": e.money("dsg_allocation"), "Spent to date": e.total("to_date"),
                     "Forecast outturn": e.total("outturn"), "Forecast year-end balance": e.balance}
    sentence = ws["A6"].value
    assert "spent £" in sentence and sentence.endswith(".")
    rows = rows_by_label(ws)
    # West's Q1 return never came: the year's count says so (and small counts are suppressed)
    assert ws.cell(rows["Pupils placed outside their key stage this year"], 2).value == "none (no accepted Q1 return)"


# --------------------------------------------------------------------------- CSV


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_export_reconciles_and_neutralises_text(scenario, expected) -> None:
    rows = read_csv(scenario.csv("categories"))
    assert len(rows) == 2 * 5 * len(CATEGORIES.row_keys)
    label_to_key = dict(zip(CATEGORIES.row_labels, CATEGORIES.row_keys, strict=True))
    for r in rows:
        e = expected.get((int(r["reporting_quarter"]), r["partnership"]))
        nums = {k: (Decimal(r[c]) if r[c] else None) for k, c in (
            ("budget", "budget"), ("actual_in_quarter", "actual_in_quarter"), ("to_date", "actual_to_date"),
            ("forecast", "forecast_rest_of_year"), ("outturn", "forecast_outturn"), ("variance", "variance"))}
        if e is None:
            assert set(nums.values()) == {None} and r["return_status"] in ("missing", "rejected")
        else:
            assert nums == e.cat(label_to_key[r["category"]])
    east = {r["category_key"]: r["commentary"] for r in rows if r["partnership"] == "East" and r["reporting_quarter"] == "2"}
    assert east["teaching_staff"] == "'" + '=HYPERLINK("http://x")'
    assert east["support_staff"] == "'+1" and east["supply_agency"] == "'-1+2" and east["training_cpd"] == "'@SUM(A1)"
    parts = read_csv(scenario.csv("partnerships"))
    for r in parts:
        e = expected.get((int(r["reporting_quarter"]), r["partnership"]))
        if e is None:
            assert r["forecast_balance"] == "" and r["dsg_allocation"] == ""
            continue
        assert Decimal(r["forecast_balance"]) == e.balance
        assert Decimal(r["actual_to_date"]) == e.total("to_date")
        assert Decimal(r["variance"]) == e.total("variance")  # negative numbers keep their minus sign
    assert {r["return_status"] for r in parts if r["reporting_quarter"] == "2"} == {"accepted", "rejected", "missing"}


def test_csv_export_is_a_valid_frictionless_data_package(scenario) -> None:
    package = check_package(scenario.folder)
    categories, partnerships = package["resources"]
    assert categories["schema"]["primaryKey"] == ["year", "reporting_quarter", "partnership", "category_key"]
    assert categories["schema"]["foreignKeys"][0]["reference"]["resource"] == "partnerships"
    keys = next(f for f in categories["schema"]["fields"] if f["name"] == "category_key")
    assert keys["constraints"]["enum"] == list(CATEGORIES.row_keys)
    assert partnerships["schema"]["primaryKey"] == ["year", "reporting_quarter", "partnership"]


@pytest.mark.parametrize(("file", "old", "new", "error"), [
    ("categories", ",accepted,", ",acepted,", "constraint-error"),  # not a state
    ("partnerships", ",accepted,", ",accepted,x", "type-error"),  # a version that is not a number
    ("categories", ",North,", ",Nowhere,", "foreign-key"),  # a category line without its partnership line
])
def test_frictionless_finds_a_csv_that_breaks_its_schema(scenario, tmp_path: Path, file: str, old: str, new: str,
                                                          error: str) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(scenario.folder, folder, ignore=shutil.ignore_patterns("*.xlsx"))
    path = folder / scenario.csv(file).name
    text = path.read_text(encoding="utf-8-sig")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8-sig")
    report = frictionless_validate(folder / "datapackage.json")
    assert not report["valid"] and error in {t for t, _ in errors(report)}, errors(report)


def test_csv_neutralising_rule() -> None:
    from pbp_workbooks.reports.csv_export import csv_text

    for s in ('=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\tX", "\rY"):
        assert csv_text(s) == "'" + s
    assert csv_text("Normal text") == "Normal text"


# --------------------------------------------------------------------------- the command


def test_consolidate_command_defaults_and_errors(scenario, capsys, tmp_path: Path) -> None:
    with workspace_env(scenario.ws.root):
        assert main(["consolidate", "--year", "2025-26", "--out", str(tmp_path / "out"), "--no-summaries"]) == 0
        out = capsys.readouterr().out
        assert "Consolidated 2025-26 Q2" in out and "MISSING" in out
        assert (tmp_path / "out" / "PBP consolidated 2025-26 Q2.xlsx").exists()
        assert not list((tmp_path / "out").glob("summary - *.xlsx"))
        assert main(["consolidate", "--year", "2024-25"]) == 2
        assert "nothing to consolidate" in capsys.readouterr().err
        assert main(["consolidate", "--year", "2025-26", "--quarter", "7"]) == 2


def test_help_lists_the_new_commands(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "consolidate" in out and "demo" in out


def test_texts_about_the_large_item_threshold_follow_pbp_toml() -> None:
    """An LA whose threshold is £25,000: the register's sheet and the rule messages say so."""
    from pbp_workbooks.base.config import Thresholds
    from pbp_workbooks.reports.la_workbook import items_sheet_name
    from pbp_workbooks.spec import rules

    th = Thresholds(large_item=Decimal(25000))
    assert items_sheet_name(th) == "Items over £25,000" and items_sheet_name(Thresholds()) == "Items over £30,000"
    spec = spec_mod.load("quarterly")
    q_w205 = next(r for r in rules.expand(spec) if r.code == "Q-W205")
    text = rules.render(q_w205.message, q_w205, lambda n: "£12,000.00", th.params())
    assert "not over £25,000" in text and "30,000" not in text
    assert rules.fill_thresholds("over {large_item} ({variance_commentary_pct})", th.params()) == "over £25,000 (10%)"
