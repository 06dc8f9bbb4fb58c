"""Every validation rule, on real .xlsx files: it fires on a return made to break it, in the
cell a finance officer has to fix, with a message that says what is wrong, and it stays
quiet on a clean return.

Returns are made as an officer would make them: the issued workbook (``pbp generate``)
is opened with openpyxl, values are typed into the cells their defined names point at,
and the copy is validated by the LA's pipeline (``validate_paths`` with the ledger, or
``pbp validate --json``).
"""

from __future__ import annotations

import os
import re
import sqlite3
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import by_hand
import openpyxl
import pytest
from fill import (
    clean_values,
    fill_openpyxl,
    issued_allocation,
    name_cells,
    put,
    save_numbers_as_excel_does,
    validate_cli,
    validate_files,
    workspace_env,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.workbook.workbook import Workbook

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.money import format_gbp
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import SAMPLE_PROVISIONS
from pbp_workbooks.cli.main import main
from pbp_workbooks.intake.reader import read_return
from pbp_workbooks.intake.schemas import EMAIL
from pbp_workbooks.spec import calc, registry, rules
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.findings import FileReport, Finding
from pbp_workbooks.spec.model import Field
from pbp_workbooks.workbook.generate import period_sources, prefill
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter

SPEC = spec_mod.load("quarterly")
ROWS = next(s for s in SPEC.sections if s.key == "exp").row_keys  # expenditure categories
YEAR = "2025-26"
FY = FinancialYear.parse(YEAR)
QUARTER = 2
PARAMS = Thresholds().params()
PARTNERSHIPS = ("North", "East", "South", "West", "Central")


# ---------------------------------------------------------------- fixtures (once per module)


@dataclass
class Issued:
    """A workspace with the Q2 workbooks generated and recorded in its ledger."""

    root: Path
    files: dict[str, Path]  # partnership -> issued workbook
    cells: dict[str, tuple[str, str]]  # defined name -> (sheet, cell), read from the issued North workbook
    allocations: dict[str, Decimal]  # partnership -> DSG allocation pre-filled in its workbook

    def clean(self, partnership: str = "North", seed: int = 0) -> dict[str, Any]:
        return clean_values(SPEC, QUARTER, self.allocations[partnership], seed=seed)


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    root = tmp_path_factory.mktemp("rules") / "ws"
    assert main(["init", str(root), "--password", "rules-pw"]) == 0
    with workspace_env(root):
        assert main(["generate", "quarterly", "--year", YEAR, "--quarter", str(QUARTER)]) == 0
    files = {}
    for path in (root / "outbox" / f"{YEAR} Q{QUARTER}").glob("*.xlsx"):
        files[path.name.split(" - ")[1]] = path
    assert sorted(files) == sorted(PARTNERSHIPS)
    return Issued(root, files, name_cells(files["North"]), {p: issued_allocation(f) for p, f in files.items()})


@pytest.fixture(scope="module")
def clean_returns(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One clean return per partnership, seeds 0..4."""
    out = tmp_path_factory.mktemp("clean")
    paths = []
    for seed, partnership in enumerate(PARTNERSHIPS):
        dst = out / f"clean {partnership} seed {seed}.xlsx"
        fill_openpyxl(issued.files[partnership], dst, issued.clean(partnership, seed))
        paths.append(dst)
    return paths


@pytest.fixture(scope="module")
def clean_reports(issued: Issued, clean_returns: list[Path]) -> list[FileReport]:
    return validate_files(clean_returns, issued.root)


# ---------------------------------------------------------------- helpers


def where(issued: Issued, name: str) -> tuple[str, str]:
    return issued.cells[name]


def label_cell(path: Path, text: str) -> tuple[str, str]:
    """Where a fixed label sits on the Return sheet of the issued workbook."""
    ws = openpyxl.load_workbook(path)["Return"]
    hits = [c.coordinate for row in ws.iter_rows() for c in row if c.value == text]
    assert len(hits) == 1, (text, hits)
    return "Return", hits[0]


def sheet_xml(path: Path, sheet: str) -> bytes:
    """The worksheet XML of ``sheet`` (sheets are in workbook order: Instructions, Return, ...)."""
    index = openpyxl.load_workbook(path, read_only=True).sheetnames.index(sheet) + 1
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml")


def no_duplicates(report: FileReport) -> None:
    counts = Counter((f.code, f.sheet, f.cell) for f in report.findings)
    assert [k for k, n in counts.items() if n > 1] == [], report.findings


def of(report: FileReport, code: str) -> list[Finding]:
    return [f for f in report.findings if f.code == code]


def severity_of(code: str) -> str:
    return "error" if code.split("-")[1].startswith("E") else "warning"


def item_row(n: int, *, amount: Decimal, category: str, signed: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {
        f"items_{n}_date": FY.start + (FY.quarter_end(QUARTER) - FY.start) // 2,
        f"items_{n}_description": "Sensory room refit",
        f"items_{n}_supplier": "Calm Spaces Ltd",
        f"items_{n}_category": category,
        f"items_{n}_amount": amount,
    }
    if signed:
        row.update({f"items_{n}_partnership_signatory": "Jo Okafor", f"items_{n}_partnership_signed": date(2025, 6, 20),
                    f"items_{n}_host_signatory": "Kim Lewis", f"items_{n}_host_signed": date(2025, 6, 23)})
    return row


# ---------------------------------------------------------------- clean returns


def test_clean_returns_are_accepted_with_no_findings(clean_reports: list[FileReport]) -> None:
    assert len(clean_reports) == 5
    for report in clean_reports:
        assert report.findings == [], (report.file, [f.one_line() for f in report.findings])
        assert report.status == "accepted", report.file
        assert report.identity is not None and report.identity["quarter"] == QUARTER
    assert sorted(r.identity["partnership"] for r in clean_reports if r.identity) == sorted(PARTNERSHIPS)


def test_clean_returns_through_pbp_validate_json(issued: Issued, clean_returns: list[Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, reports = validate_cli(clean_returns, capsys, issued.root)
    assert code == 0
    assert [(r["status"], r["findings"]) for r in reports] == [("accepted", [])] * 5
    assert {r["return"]["partnership"] for r in reports} == set(PARTNERSHIPS)


def test_clean_values_are_only_what_a_person_can_type(issued: Issued) -> None:
    values = issued.clean()
    assert values, "the sample fills the return"
    assert all(SPEC[k].is_open(QUARTER) for k in values)
    assert "dsg_allocation" not in values and "exp_teaching_staff_q3" not in values
    assert "total_income" not in values  # formulas are the workbook's own


# ---------------------------------------------------------------- one case per rule


@dataclass
class Case:
    """How to break a clean North return so that ``code`` fires, where, and what it must say."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)  # typed over the clean values (None clears)
    edit: Callable[[Workbook], object] | None = None  # any other change made with openpyxl
    at: tuple[str | None, str | None] | None = None  # (sheet, cell) of the finding
    name: str | None = None  # defined name of the finding's cell (sets ``at`` when ``at`` is None)
    says: tuple[str, ...] = ()  # fragments the message must contain
    build: Callable[[Path], None] | None = None  # make the file from nothing instead
    isolated: bool = False  # the only finding (warnings: so the return is accepted with warnings)


# The day the rule cases are validated (PBP_TODAY): the clean returns are signed in October 2025.
VALIDATED_ON = date(2025, 11, 3)


@contextmanager
def validated_on(day: date) -> Iterator[None]:
    old = os.environ.get("PBP_TODAY")
    os.environ["PBP_TODAY"] = day.isoformat()
    try:
        yield
    finally:
        if old is None:
            del os.environ["PBP_TODAY"]
        else:
            os.environ["PBP_TODAY"] = old


Maker = Callable[[Issued, dict[str, Any]], Case]  # (workspace, clean North values of seed 0) -> Case
CASES: dict[str, Maker] = {}  # case id ("<code>" or "<code>-<variant>") -> how to make it


def case(case_id: str) -> Callable[[Maker], Maker]:
    def register(fn: Maker) -> Maker:
        assert case_id not in CASES
        CASES[case_id] = fn
        return fn

    return register


def set_meta(key: str, value: str) -> Callable[[Workbook], None]:
    def edit(wb: Workbook) -> None:
        ws = wb["_meta"]
        row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == key)
        ws.cell(row, 2).value = value

    return edit


# ---- cross-field rules (validators/quarterly.toml)


@case("Q-E201")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    broken = {"exp_teaching_staff_forecast": Decimal(0), "exp_teaching_staff_commentary": None}
    variance = by_hand.variance({**v, **broken}, "teaching_staff")
    assert abs(variance) > 1000
    # (the surplus this leaves is above the LA's threshold: Q-W217 may say so too)
    return Case("Q-E201", broken, name="exp_teaching_staff_commentary",
                says=("Teaching staff", format_gbp(abs(variance)), "Commentary"))


@case("Q-E202")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    assert v["exp_other_budget"] > 0
    return Case("Q-E202", {"other_description": None}, name="other_description", isolated=True,
                says=("'Other' spending", "what it was for"))


@case("Q-E203")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    assert v["items_1_amount"] >= 30000
    return Case("Q-E203", {"items_1_host_signatory": None}, name="items_1_host_signatory", isolated=True,
                says=("Item 1", format_gbp(v["items_1_amount"]), "host school signatory",
                      f"Blank: Item 1: Host school signatory ({iss.cells['items_1_host_signatory'][1]})."))


@case("Q-E204")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E204", {"items_1_supplier": None}, name="items_1_supplier", isolated=True,
                says=("Item 1 is only partly filled in", "supplier", "Blank: Item 1: Supplier"))


@case("Q-W205")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-W205", item_row(2, amount=Decimal("12000.00"), category="Support staff", signed=False),
                name="items_2_amount", isolated=True, says=("Item 2", "£12,000.00", "not over £30,000"))


@case("Q-E206")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    broken = {"exp_teaching_staff_forecast": Decimal(0), "exp_teaching_staff_commentary": "Two posts left unfilled.",
              "surplus_cpd": None, "surplus_future": None, "surplus_contingency": None}
    balance = by_hand.forecast_balance({**v, **broken, "dsg_allocation": iss.allocations["North"]}, ROWS)
    assert balance > iss.allocations["North"] * Decimal("0.05")
    return Case("Q-E206", broken, name="surplus_cpd", isolated=True,
                says=(f"surplus of {format_gbp(balance)}", "CPD"))


@case("Q-E207")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    balance = by_hand.forecast_balance({**v, "dsg_allocation": iss.allocations["North"]}, ROWS)
    broken = {"surplus_other": balance, "surplus_other_description": "New minibus"}
    return Case("Q-E207", broken, name="surplus_planned_total", isolated=True,
                says=(format_gbp(by_hand.surplus_planned({**v, **broken})), f"forecast surplus of {format_gbp(balance)}"))


@case("Q-E208")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    broken = {"exp_teaching_staff_forecast": v["exp_teaching_staff_forecast"] + Decimal("100000"),
              "exp_teaching_staff_commentary": "Two extra teachers from January.",
              "surplus_cpd": None, "surplus_future": None, "surplus_contingency": None, "surplus_approach": None,
              "recovery_plan": None}
    balance = by_hand.forecast_balance({**v, **broken, "dsg_allocation": iss.allocations["North"]}, ROWS)
    assert balance < 0
    return Case("Q-E208", broken, name="recovery_plan", isolated=True,
                says=(f"deficit of {format_gbp(-balance)}", "recovery plan"))


@case("Q-E209")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E209", {"overhead_agreed": "No"}, name="overhead_agreed", isolated=True,
                says=("overhead contribution", "agreed by the Neighbourhood Partnership", "Answer Yes"))


@case("Q-W210")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-W210", {"overhead_agreed_date": None}, name="overhead_agreed_date", isolated=True,
                says=("date the partnership agreed",))


@case("Q-E211")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E211", {"placements_outside_ks": 2, "placements_mdm_held": "No"}, name="placements_mdm_held",
                isolated=True, says=("outside their key stage", "multidisciplinary meeting"))


@case("Q-W205-at-the-threshold")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """An item of exactly the threshold is not over it: it needs no signatures, but does not
    belong in the table either (a warning)."""
    row = item_row(2, amount=Decimal("30000.00"), category="Support staff", signed=False)
    return Case("Q-W205", row, name="items_2_amount", isolated=True, says=("£30,000.00", "not over £30,000"))


@case("Q-E214")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    same = " " + str(v["items_1_partnership_signatory"]).upper().replace(" ", "  ")  # case and spacing differ
    return Case("Q-E214", {"items_1_host_signatory": same},
                name="items_1_host_signatory", isolated=True, says=("Item 1", "same person", "two different people"))


@case("Q-W215")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    later = v["items_1_date"] + timedelta(days=3)
    return Case("Q-W215", {"items_1_host_signed": later}, name="items_1_partnership_signed", isolated=True,
                says=("Item 1", "signed after its date of spend", "before the spend"))


@case("Q-W216")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """A credit note in Q2 bigger than Q1's spend: the negative quarter is accepted, the
    negative actual to date is a warning."""
    q1 = v.get("exp_transport_q1") or Decimal(0)
    credit = -(q1 + Decimal("250.00"))
    return Case("Q-W216", {"exp_transport_q2": credit, "exp_transport_forecast": Decimal(0),
                           "exp_transport_commentary": "Refund of a cancelled coach contract."},
                name="exp_transport_to_date", says=("Transport", "-£250.00", "below zero"))


@case("Q-W217")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    broken = {"exp_teaching_staff_forecast": Decimal(0), "exp_teaching_staff_commentary": "Two posts left unfilled.",
              "surplus_cpd": Decimal("1000.00"), "surplus_future": None, "surplus_contingency": None}
    return Case("Q-W217", broken, name="surplus_planned_total", isolated=True,
                says=("£1,000.00", "above the LA's threshold of 5%", "claw back"))


@case("Q-E218")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    broken = {"exp_teaching_staff_forecast": v["exp_teaching_staff_forecast"] + Decimal("100000"),
              "exp_teaching_staff_commentary": "Two extra teachers from January.", "recovery_plan": "Cut supply."}
    balance = by_hand.forecast_balance({**v, **broken, "dsg_allocation": iss.allocations["North"]}, ROWS)
    assert balance < 0
    return Case("Q-E218", broken, name="surplus_planned_total", isolated=True,
                says=(f"deficit of {format_gbp(-balance)}", "no surplus to plan"))


@case("Q-E212")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E212", {"declaration": "No"}, name="declaration", isolated=True,
                says=("headteacher has not confirmed the declaration",))


@case("Q-W213")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-W213", {"other_income": Decimal("2500.00")}, name="other_income_description", isolated=True,
                says=("other income of £2,500.00",))


# ---- python rules ([[python_rule]] in validators/quarterly.toml)


@case("Q-W220")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    to_date = by_hand.to_date(v, "transport")
    assert to_date < 31000
    return Case("Q-W220", item_row(2, amount=Decimal("31000.00"), category="Transport"), name="items_2_amount",
                isolated=True, says=("Item 2 (£31,000.00)", "Transport", format_gbp(to_date)))


# ---- field rules ([[field]] in validators/common.toml, derived from the spec)


@case("Q-E101")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E101", {"prepared_by": None}, name="prepared_by", isolated=True,
                says=("Prepared by (name) is blank",))


@case("Q-E101-money")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E101", {"exp_support_staff_q2": None}, name="exp_support_staff_q2",
                says=("Support staff: Actual Q2 is blank", "enter 0"))


@case("Q-E102-money")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E102", {"balance_bf": "about 300"}, name="balance_bf",
                says=("Balance brought forward from last year", "'about 300' is not an amount of money"))


@case("Q-E102-date")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E102", {"date_prepared": "next Tuesday"}, name="date_prepared", isolated=True,
                says=("Date prepared", "'next Tuesday' is not a date", "dd/mm/yyyy"))


@case("Q-E103-too-big")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E103", {"exp_teaching_staff_budget": Decimal("20000000")}, name="exp_teaching_staff_budget",
                says=("Teaching staff: Annual budget", "£20,000,000.00", "£0.00 to £10,000,000.00"))


@case("Q-E103-negative")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E103", {"other_income": Decimal("-50.00")}, name="other_income",
                says=("Other income this year", "-£50.00", "outside the allowed range"))


@case("Q-E103-integer")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E103", {"placements_outside_ks": 150, "placements_mdm_held": "Yes"}, name="placements_outside_ks",
                isolated=True, says=("New placements outside key stage this quarter", "150", "0 to 100"))


@case("Q-E104")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    # the Q3 cell is locked in a Q2 return; openpyxl writes into it anyway
    return Case("Q-E104", {"exp_teaching_staff_q3": Decimal("5000.00")}, name="exp_teaching_staff_q3",
                says=("Teaching staff: Actual Q3", "£5,000.00", "must be left blank"))


@case("Q-E105")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E105", {"prepared_by": "Sam " * 25 + "Patel"}, name="prepared_by", isolated=True,
                says=("Prepared by (name) is 105 characters long", "100 or fewer"))


@case("Q-E106")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E106", {"surplus_approach": "Whatever the head decides"}, name="surplus_approach", isolated=True,
                says=("'Whatever the head decides' is not one of the choices", "Needs-based", "Combination"))


@case("Q-E106-category")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E106", {"items_1_category": "Catering"}, name="items_1_category", isolated=True,
                says=("Item 1: Category", "'Catering'", "Teaching staff"))


@case("Q-E107")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E107", {"date_prepared": date(2020, 1, 1)}, name="date_prepared", isolated=True,
                says=("Date prepared", "01/01/2020", "between 01/07/2025 and 30/09/2026"))


@case("Q-E107-before-the-quarter")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """Signed off before the quarter it reports on had started."""
    return Case("Q-E107", {"signoff_date": date(2025, 6, 30)}, name="signoff_date", isolated=True,
                says=("Date signed off", "30/06/2025", "between 01/07/2025 and"))


@case("Q-W112")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-W112", {"date_prepared": date(2025, 9, 1)}, name="date_prepared", isolated=True,
                says=("Date prepared", "01/09/2025", "before the end of the period", "30/09/2025"))


@case("Q-E113")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """More than a week after the day of validation (VALIDATED_ON in this batch)."""
    return Case("Q-E113", {"signoff_date": VALIDATED_ON + timedelta(days=8)}, name="signoff_date", isolated=True,
                says=("Date signed off", f"{VALIDATED_ON + timedelta(days=8):%d/%m/%Y}", "more than 7 days after",
                      f"({VALIDATED_ON:%d/%m/%Y})"))


@case("Q-E108")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("Q-E108", {"email": "sam.patel at northfield"}, name="email", isolated=True,
                says=("Email address", "'sam.patel at northfield' is not a valid email address"))


@case("Q-W109")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    # the same amount as the clean return, typed as text the way people do
    typed = f"£{v['balance_bf']:,.2f}"
    return Case("Q-W109", {"balance_bf": typed}, name="balance_bf", isolated=True,
                says=(f"the text '{typed}'", f"read as {format_gbp(v['balance_bf'])}"))


@case("Q-E111")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """Fractions of a penny: reported at the cell (the workbook's Checks say so too)."""
    return Case("Q-E111", {"other_income": Decimal("20000.123"), "other_income_description": "Partner schools"},
                name="other_income", isolated=True, says=("Other income this year", "20000.123",
                                                          "fractions of a penny", "20000.12"))


@case("Q-E103-huge")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """£1e30 typed in a money cell is out of range at its cell (it was an internal error)."""
    return Case("Q-E103", {"exp_transport_q2": Decimal("1e30")}, name="exp_transport_q2",
                says=("Transport: Actual Q2", "outside the allowed range"))


# ---- template rules ([[template]] in validators/common.toml)


def not_ours(path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Return"
    wb.active["A1"] = "My own quarterly return"
    wb.active["B13"] = "Sam Patel"
    wb.save(path)


@case("T-E001")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("T-E001", build=not_ours, at=(None, None), isolated=True,
                says=("not a return template issued by the LA", "no PBP identity sheet"))


@case("T-E002")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("T-E002", edit=set_meta("template_version", "0.9"), at=(None, None), isolated=True,
                says=("version 0.9 of the template", "current template"))


@case("T-E001-meta-year")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """A financial year typed over in the hidden identity sheet: that file is turned away, the
    rest of the batch (every other case here is validated with it) is not."""
    return Case("T-E001", edit=set_meta("financial_year", "20x5-26"), at=("_meta", None), isolated=True,
                says=("not a return template issued by the LA", "'20x5-26' as the financial year"))


@case("T-E001-meta-quarter")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("T-E001", edit=set_meta("quarter", "7"), at=("_meta", None), isolated=True,
                says=("'7' as the quarter",))


@case("T-E003")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("T-E003", edit=set_meta("issue_token", "0123456789abcdef"), at=("_meta", None), isolated=True,
                says=("issue token is not in the LA's records",))


@case("T-E008")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    """A workbook issued before the current one (as if North's Q2 was issued, then re-issued)."""
    con = sqlite3.connect(iss.root / ".pbp" / "ledger.sqlite")
    with con:
        con.execute("INSERT OR IGNORE INTO issued (id, template, template_version, kind, year, quarter, partnership,"
                    " host_school, urn, token, file_name, sha256, issued_at, prefill_json) SELECT -1, template,"
                    " template_version, kind, year, quarter, partnership, host_school, urn, 'feedfacefeedface',"
                    " file_name, sha256, '2025-06-01T09:00:00.000000Z', prefill_json FROM issued"
                    " WHERE partnership = 'North' AND kind = 'quarterly' AND quarter = ?", (QUARTER,))
    con.close()
    return Case("T-E008", edit=set_meta("issue_token", "feedfacefeedface"), at=("_meta", None), isolated=True,
                says=("The LA issued a new workbook for North (Northfield Primary School, URN 990101) for 2025-26 Q2 on",
                      "which replaces this one"))


@case("T-E004-cell")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("T-E004", {"partnership": "South"}, name="partnership", isolated=True,
                says=("Neighbourhood Partnership was changed to 'South'",
                      "issued this workbook to North (Northfield Primary School, URN 990101) for 2025-26 Q2"))


@case("T-E004-meta")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    return Case("T-E004", edit=set_meta("partnership", "South"), at=("_meta", None), isolated=True,
                says=("hidden identity says partnership 'South'", "issued this workbook to North"))


@case("T-E005-label")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    sheet, cell = label_cell(iss.files["North"], "Teaching staff")

    def edit(wb: Workbook) -> None:
        wb[sheet][cell] = "Teaching staff (incl. agency)"

    return Case("T-E005", edit=edit, at=(sheet, cell), isolated=True,
                says=("expected 'Teaching staff'", "'Teaching staff (incl. agency)'", "do not unprotect"))


@case("T-E005-formula")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    def edit(wb: Workbook) -> None:
        put(wb, "total_income", 500000)  # a typed number over the locked formula

    return Case("T-E005", edit=edit, name="total_income", isolated=True,
                says=("formula for 'Total income available' was changed or removed", "edit formulas"))


def test_every_locked_cell_typed_over_is_reported_at_its_own_cell(issued: Issued, tmp_path: Path) -> None:
    """Sheet unprotected, three formulas and a label typed over in place: four findings, one
    at each cell (not just the first one), in one pass."""
    sheet, label = label_cell(issued.files["North"], "Support staff")

    def edit(wb: Workbook) -> None:
        wb["Return"].protection.sheet = False
        for name, value in (("total_income", 500000), ("exp_teaching_staff_to_date", 1), ("forecast_balance", 0)):
            put(wb, name, value)
        wb[sheet][label] = "Support staff (TAs)"

    dst = tmp_path / "typed over.xlsx"
    fill_openpyxl(issued.files["North"], dst, issued.clean("North", 0), edit=edit)
    [report] = validate_files([dst], issued.root)
    t = [(f.sheet, f.cell) for f in of(report, "T-E005")]
    assert sorted(t) == sorted([(sheet, label), *(where(issued, n) for n in ("total_income",
                                                                         "exp_teaching_staff_to_date",
                                                                         "forecast_balance"))]), t
    assert [f.code for f in report.findings if f.code != "T-E005"] == ["T-W007"]


def test_rows_inserted_without_moving_the_names_are_one_finding(issued: Issued, tmp_path: Path) -> None:
    """A tool that inserts rows but leaves the defined names where they were: every label below
    has moved, and that is one finding where the layout first moves, not one per label."""

    def edit(wb: Workbook) -> None:
        ws = wb["Return"]
        ws.insert_rows(next(c.row for c in ws["A"] if c.value == "Sign-off"), 2)

    dst = tmp_path / "rows inserted.xlsx"
    fill_openpyxl(issued.files["North"], dst, issued.clean("North", 0), edit=edit)
    [report] = validate_files([dst], issued.root)
    [t] = of(report, "T-E005")
    assert "rows or columns were inserted or deleted" in t.message
    assert "expected 'Sign-off'" in t.message


def insert_row_before(title: str) -> Callable[[Workbook], None]:
    """What Excel does when a row is inserted above ``title``: everything below moves down
    one row, and so do the defined names that point there."""

    def edit(wb: Workbook) -> None:
        ws = wb["Return"]
        row = next(c.row for c in ws["A"] if c.value == title)
        merged = [r for r in ws.merged_cells.ranges if r.min_row >= row]
        for r in merged:
            ws.merged_cells.remove(r)
        ws.insert_rows(row)
        for r in merged:
            r.shift(row_shift=1)
            ws.merged_cells.add(r)
        for dn in list(wb.defined_names.values()):
            sheet, ref = dn.attr_text.split("!")
            col, at = ref.lstrip("$").split("$")
            if sheet == "Return" and int(at) >= row:
                dn.attr_text = f"Return!${col}${int(at) + 1}"

    return edit


@case("T-E005-row-inserted")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    sheet, cell = where(iss, "headteacher_name")
    moved = f"{cell[0]}{int(cell[1:]) + 1}"
    return Case("T-E005", edit=insert_row_before("Sign-off"), at=(sheet, cell),
                says=("'Headteacher (name)' has moved to " + moved, "insert rows"))


@case("Q-E110")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    def edit(wb: Workbook) -> None:  # typed as a formula (no apostrophe): was reported as "is blank"
        sheet, cell = iss.cells["prepared_by"]
        wb[sheet][cell] = '=HYPERLINK("http://example.org","Jo Bloggs")'

    return Case("Q-E110", edit=edit, name="prepared_by", isolated=True,
                says=("Prepared by (name): the cell holds a formula (=HYPERLINK(", "type the value, not a formula"))


@case("T-E006")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    def edit(wb: Workbook) -> None:
        del wb.defined_names["other_income_description"]

    return Case("T-E006", edit=edit, name="other_income_description", isolated=True,
                says=("'Other income: where it came from' (defined name other_income_description) is missing",))


@case("T-W007")
def _(iss: Issued, v: dict[str, Any]) -> Case:
    def edit(wb: Workbook) -> None:
        wb["Return"].protection.sheet = False

    return Case("T-W007", edit=edit, at=("Return", None), isolated=True, says=("Return sheet is no longer protected",))


def make(issued: Issued, c: Case, dst: Path, base: dict[str, Any]) -> Path:
    if c.build is not None:
        c.build(dst)
    else:
        fill_openpyxl(issued.files["North"], dst, {**base, **c.values}, edit=c.edit)
    return dst


@pytest.fixture(scope="module")
def broken(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Case, FileReport]]:
    """Every case's return, made once and validated in ONE batch, as ``pbp ingest`` does with a
    folder of returns (one pandera frame for all): each file must still get only its own findings."""
    out = tmp_path_factory.mktemp("broken")
    base = issued.clean("North", 0)
    cases = {case_id: maker(issued, base) for case_id, maker in CASES.items()}
    paths = [make(issued, c, out / f"{case_id}.xlsx", base) for case_id, c in cases.items()]
    with validated_on(VALIDATED_ON):
        reports = validate_files(paths, issued.root)
    return {case_id: (c, r) for (case_id, c), r in zip(cases.items(), reports, strict=True)}


@pytest.mark.parametrize("case_id", list(CASES))
def test_rule_fires_where_it_should(case_id: str, issued: Issued, broken: dict[str, tuple[Case, FileReport]],
                                    clean_reports: list[FileReport]) -> None:
    """The code fires, at the exact cell, with the words the officer needs; the status follows
    from its severity; and the same rule says nothing about any clean return."""
    c, report = broken[case_id]
    assert c.code == code_of(case_id)
    assert report.file.endswith(f"{case_id}.xlsx")
    found = of(report, c.code)
    assert found, f"{c.code} did not fire: {[f.one_line() for f in report.findings]}"
    sheet, cell = c.at if c.at is not None else where(issued, c.name or "")
    hits = [f for f in found if (f.sheet, f.cell) == (sheet, cell)]
    assert hits, f"{c.code} points at {[(f.sheet, f.cell) for f in found]}, not {(sheet, cell)}"
    finding = hits[0]
    if c.name is not None:
        assert finding.name == c.name
    assert finding.severity == severity_of(c.code)
    for fragment in c.says:
        assert fragment in finding.message, finding.message
    assert "{" not in finding.message and "None" not in finding.message, finding.message
    if c.isolated:
        assert [f.code for f in report.findings] == [c.code], [f.one_line() for f in report.findings]
    assert report.status == ("rejected" if finding.severity == "error" else "accepted_with_warnings")
    no_duplicates(report)
    # ... and the rule is quiet on every clean return
    for clean in clean_reports:
        assert c.code not in {f.code for f in clean.findings}


def code_of(case_id: str) -> str:
    return "-".join(case_id.split("-")[:2])


def test_every_rule_code_has_a_case() -> None:
    """A new quarterly rule in the registry (validators/quarterly.toml, or a template or field rule in
    validators/common.toml) needs a case here. (Cross-return rules need a ledger history:
    tests/test_cross_return.py; the RAG ratings are tested in tests/test_consolidate.py.)"""
    quarterly = {e.code for e in registry.entries() if e.kind == "quarterly"}
    codes = {c for c in quarterly if registry.rule(c).level in ("cross-field", "field")}
    codes |= registry.codes("template")
    assert {r.code for r in rules.expand(SPEC)} <= codes
    assert codes - Q4_ONLY == {code_of(k) for k in CASES}  # the cases are Q2 returns


Q4_ONLY = {d.code for d in rules.definitions("quarterly") if d.quarters == (4,)}


def test_year_end_forecast_must_be_zero() -> None:
    """Q-E219, in a Q4 return only: an error at each category whose forecast is not £0; the
    Checks sheet of a Q4 workbook has the line, a Q2 workbook's does not."""
    from pbp_workbooks.intake.validation import rule_findings

    assert {"Q-E219"} == Q4_ONLY
    fy_values = clean_values(SPEC, 4, Decimal("412500.00"), seed=2)
    fy_values = {**fy_values, **{f.name: Decimal(0) for f in SPEC.fields if f.grid_col == "forecast" and f.is_input}}
    clean = calc.compute(SPEC, {**fy_values, "dsg_allocation": Decimal("412500.00")})
    assert "Q-E219" not in {f.code for f in rule_findings(SPEC, clean, PARAMS, quarter=4)}
    left = calc.compute(SPEC, {**fy_values, "dsg_allocation": Decimal("412500.00"),
                               "exp_transport_forecast": Decimal("120.50")})
    found = [f for f in rule_findings(SPEC, left, PARAMS, quarter=4) if f.code == "Q-E219"]
    assert [(f.name, f.severity) for f in found] == [("exp_transport_forecast", "error")]
    assert "Transport" in found[0].message and "£120.50" in found[0].message and "£0" in found[0].message
    assert "Q-E219" not in {f.code for f in rule_findings(SPEC, left, PARAMS, quarter=2)}
    q4_lines = [ch for ch in calc.checks(SPEC, 4, YEAR) if ch.code == "Q-E219"]
    assert len(q4_lines) == 12 and not [ch for ch in calc.checks(SPEC, 2, YEAR) if ch.code == "Q-E219"]
    transport = next(ch for ch in q4_lines if ch.cells == ("exp_transport_forecast",))
    assert calc.check_result(transport, left, PARAMS) == "Fix" and calc.check_result(transport, clean, PARAMS) == "OK"


def test_findings_through_pbp_validate_json(issued: Issued, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI reports the same finding, in the documented JSON shape, and exits 1 on a rejected file."""
    base = issued.clean("North", 0)
    bad = tmp_path / "declaration.xlsx"
    fill_openpyxl(issued.files["North"], bad, {**base, "declaration": "No"})
    warn = tmp_path / "overhead date.xlsx"
    fill_openpyxl(issued.files["North"], warn, {**base, "overhead_agreed_date": None})
    code, reports = validate_cli([bad], capsys, issued.root)
    assert code == 1
    [r] = reports
    assert r["status"] == "rejected" and r["return"]["partnership"] == "North"
    sheet, cell = where(issued, "declaration")
    assert r["findings"] == [{"code": "Q-E212", "severity": "error", "sheet": sheet, "cell": cell, "name": "declaration",
                              "value": "No", "message": r["findings"][0]["message"]}]
    code, [w] = validate_cli([warn], capsys, issued.root)
    assert code == 0 and w["status"] == "accepted_with_warnings"
    assert [f["code"] for f in w["findings"]] == ["Q-W210"]


def test_a_row_inserted_does_not_shift_values(issued: Issued, tmp_path: Path) -> None:
    """Values are read by defined name: after a row insert they are still the ones typed."""
    base = issued.clean("North", 0)
    path = tmp_path / "inserted.xlsx"
    fill_openpyxl(issued.files["North"], path, base, edit=insert_row_before("Sign-off"))
    data = read_return(path)
    for name in ("headteacher_name", "signoff_date", "declaration", "prepared_by"):
        assert data.values[name] == base[name], name


# ---------------------------------------------------------------- many problems, one pass


def test_every_problem_of_a_broken_return_comes_back_in_one_pass(issued: Issued, tmp_path: Path) -> None:
    base = issued.clean("North", 0)
    broken = {
        "prepared_by": None,  # Q-E101
        "role": "School Business Manager " * 5,  # Q-E105
        "email": "finance at northfield",  # Q-E108
        "date_prepared": date(2024, 12, 1),  # Q-E107
        "balance_bf": "about 300",  # Q-E102
        "other_income": "£1,250.00",  # Q-W109 and Q-W213 (no description)
        "exp_teaching_staff_budget": Decimal("20000000"),  # Q-E103 and Q-E201 (no commentary)
        "exp_support_staff_q3": Decimal("1000.00"),  # Q-E104
        "other_description": None,  # Q-E202
        "overhead_agreed": "Not yet",  # Q-E106 and Q-E209
        "items_1_host_signed": None,  # Q-E203
        **item_row(2, amount=Decimal("9000.00"), category="Transport", signed=False),
        "items_2_supplier": None,  # Q-E204 and Q-W205
        "placements_outside_ks": 3, "placements_mdm_held": "No",  # Q-E211
        "declaration": "No",  # Q-E212
        "partnership": "Northfield",  # T-E004 (locked cell)
    }

    def edit(wb: Workbook) -> None:
        wb["Return"].protection.sheet = False  # T-W007
        del wb.defined_names["surplus_other_description"]  # T-E006

    path = tmp_path / "many problems.xlsx"
    fill_openpyxl(issued.files["North"], path, {**base, **broken}, edit=edit)
    [report] = validate_files([path], issued.root)
    got = {(f.code, f.cell) for f in report.findings}

    def at(code: str, name: str) -> tuple[str, str]:
        return code, where(issued, name)[1]

    expected = {
        at("Q-E101", "prepared_by"), at("Q-E105", "role"), at("Q-E108", "email"), at("Q-E107", "date_prepared"),
        at("Q-E102", "balance_bf"), at("Q-W109", "other_income"), at("Q-W213", "other_income_description"),
        at("Q-E103", "exp_teaching_staff_budget"), at("Q-E201", "exp_teaching_staff_commentary"),
        at("Q-E104", "exp_support_staff_q3"), at("Q-E202", "other_description"), at("Q-E106", "overhead_agreed"),
        at("Q-E209", "overhead_agreed"), at("Q-E203", "items_1_host_signed"), at("Q-E204", "items_2_supplier"),
        at("Q-W205", "items_2_amount"), at("Q-E211", "placements_mdm_held"), at("Q-E212", "declaration"),
        at("T-E004", "partnership"), ("T-W007", None), at("T-E006", "surplus_other_description"),
    }
    assert expected - got == set(), [f.one_line() for f in report.findings]
    assert report.status == "rejected"
    no_duplicates(report)
    # a cell the reader could not understand is reported once (Q-E102), not also as blank
    assert [f.code for f in report.findings if f.name == "balance_bf"] == ["Q-E102"]


def test_a_batch_keeps_each_files_findings_apart(issued: Issued, clean_returns: list[Path], tmp_path: Path) -> None:
    """Field rules run as one pandera frame for the batch: findings stay with their file."""
    base = issued.clean("North", 0)
    bad = tmp_path / "bad email.xlsx"
    fill_openpyxl(issued.files["North"], bad, {**base, "email": "nope"})
    reports = validate_files([clean_returns[1], bad, clean_returns[3]], issued.root)
    assert [r.status for r in reports] == ["accepted", "rejected", "accepted"]
    assert [(f.code, f.name) for f in reports[1].findings] == [("Q-E108", "email")]


# ---------------------------------------------------------------- numbers typed as text


READ_WHERE_CERTAIN = [("£1,200.50", "1200.50"), ("1,200", "1200"), (" 300 ", "300"), ("(500)", "-500"),
                      ("-£20", "-20"), ("£ 1,250.00 ", "1250.00"), ("1200.5", "1200.5")]
REPORTED_WHERE_UNCERTAIN = ["1.200,50", "1,20", "1,2,3", "£1.2k", "300 pounds approx", "1,200.505"]
SPACED_DIGITS = ["12 00", "1 2 3"]


@dataclass
class Typed:
    cell_of: dict[str, str]  # typed text -> defined name of the money cell it was typed into
    report: FileReport
    values: dict[str, Any]  # as read_return reads them
    findings: list[Finding]  # read_return's own findings


@pytest.fixture(scope="module")
def typed(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> Typed:
    """One return with each text typed into a money cell of its own (read once, validated once)."""
    texts = [t for t, _ in READ_WHERE_CERTAIN] + REPORTED_WHERE_UNCERTAIN + SPACED_DIGITS
    money = [f.name for f in SPEC.inputs() if f.type in ("money", "signed_money") and f.is_open(QUARTER)]
    cell_of = dict(zip(texts, money, strict=False))
    assert len(cell_of) == len(texts)
    path = tmp_path_factory.mktemp("typed") / "typed numbers.xlsx"
    fill_openpyxl(issued.files["North"], path, {**issued.clean(), **{name: t for t, name in cell_of.items()}})
    data = read_return(path)
    return Typed(cell_of, validate_files([path], issued.root)[0], data.values, data.findings)


@pytest.mark.parametrize(("text", "read"), READ_WHERE_CERTAIN)
def test_numbers_typed_as_text_are_read_where_certain(text: str, read: str, typed: Typed, issued: Issued) -> None:
    name = typed.cell_of[text]
    assert typed.values[name] == Decimal(read) and isinstance(typed.values[name], Decimal)
    [w] = [f for f in typed.findings if f.name == name]
    assert (w.code, w.severity, (w.sheet, w.cell)) == ("Q-W109", "warning", where(issued, name))
    assert f"'{text}'" in w.message and f"read as {format_gbp(Decimal(read))}" in w.message
    assert "Q-E102" not in {f.code for f in typed.report.findings if f.name == name}


@pytest.mark.parametrize("text", REPORTED_WHERE_UNCERTAIN)
def test_numbers_typed_as_text_are_reported_where_uncertain(text: str, typed: Typed, issued: Issued) -> None:
    name = typed.cell_of[text]
    assert typed.values[name] is None
    [f] = [f for f in typed.report.findings if f.name == name]  # once: not also "blank" or out of range
    assert (f.code, f.severity, (f.sheet, f.cell)) == ("Q-E102", "error", where(issued, name))
    assert f"'{text}' is not an amount of money" in f.message and "without £ signs" in f.message
    assert typed.report.status == "rejected"


@pytest.mark.parametrize("text", SPACED_DIGITS)
def test_digits_split_by_spaces_are_reported_not_guessed(text: str, typed: Typed) -> None:
    name = typed.cell_of[text]
    assert [f.code for f in typed.report.findings if f.name == name] == ["Q-E102"]


# ---------------------------------------------------------------- property: what is typed is what is read


@pytest.fixture(scope="module")
def blank_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An issued North Q2 workbook, made with the writer directly (as tests/test_golden.py does)."""
    path = tmp_path_factory.mktemp("prop") / "issued.xlsx"
    prov = SAMPLE_PROVISIONS[0]
    values = prefill(SPEC, period_sources(prov, FY, QUARTER, Decimal("412500.00")))
    identity = Identity(SPEC.id, SPEC.version, SPEC.kind, YEAR, QUARTER, prov.partnership, prov.host_school, prov.urn,
                        prov.provision, "0123456789abcdef")
    WorkbookWriter(SPEC, identity, password="prop", params=PARAMS, la_name="Sample Borough Council",
                   contact="schools.finance@example.gov.uk", due=date(2025, 10, 31),
                   generated_at=datetime(2026, 11, 23, 9, 0)).write(path, values)
    return path


# Text a person can type into a cell: letters, marks, digits, punctuation, symbols, spaces and
# line breaks (Alt+Enter); no other control characters: Excel does not let you type them.
_TYPED = st.characters(categories=("L", "M", "N", "P", "S", "Zs"), include_characters="\n")


def _not_an_escape(text: str) -> bool:
    # Excel itself writes a typed "_x0041_" as "_x005F_x0041_"; openpyxl does not, so skip it
    return re.search(r"_x[0-9A-Fa-f]{4}_", text) is None


def value_strategy(f: Field) -> st.SearchStrategy[Any]:
    if f.type in ("money", "signed_money"):
        assert f.min is not None and f.max is not None
        pence = st.integers(int(f.min * 100), int(f.max * 100))
        return pence.map(lambda p: Decimal(p).scaleb(-2))
    if f.type == "integer":
        return st.integers(int(f.min or 0), int(f.max if f.max is not None else 10**6))
    if f.type == "date":
        lo, hi = FY.window(f.window or "year")
        return st.dates(lo, hi)
    if f.type in ("choice", "yesno"):
        return st.sampled_from(f.choices or ())
    if f.type == "email":
        return st.from_regex(EMAIL, fullmatch=True).filter(lambda s: len(s) <= (f.max_length or 254))
    assert f.type == "text", f.type
    return st.text(_TYPED, min_size=1, max_size=f.max_length or 500).filter(lambda s: s.strip() != "" and
                                                                             _not_an_escape(s))


INPUTS = list(SPEC.inputs())  # later-quarter cells too: the reader reads them all
MONEY_INPUTS = [f for f in INPUTS if f.type in ("money", "signed_money")]
OTHER_INPUTS = [f for f in INPUTS if f not in MONEY_INPUTS]
PROPERTY = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def typed_inputs(fields: list[Field]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def draw_values(draw: st.DrawFn) -> dict[str, Any]:
        chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=8, unique_by=lambda f: f.name))
        return {f.name: draw(value_strategy(f)) for f in chosen}

    return draw_values()


def type_and_read(blank_workbook: Path, tmp_path: Path, values: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "typed.xlsx"
    fill_openpyxl(blank_workbook, path, values)
    data = read_return(path)
    assert [f.one_line() for f in data.findings if f.name in values] == []
    return {name: data.values[name] for name in values}


@settings(PROPERTY, max_examples=25)
@given(values=typed_inputs(OTHER_INPUTS))
@example(values={"prepared_by": "  Zoë O'Brien-Łukasz  ", "recovery_plan": "Line one\nLine two\n", "role": "=SUM(A1)",
                 "email": "a.b+c@x-y.sch.uk", "surplus_approach": "Combination", "placements_outside_ks": 100,
                 "date_prepared": date(2026, 9, 30), "items_5_host_signed": date(2025, 4, 1)})
def test_any_valid_value_typed_reads_back_equal(values: dict[str, Any], blank_workbook: Path, tmp_path: Path) -> None:
    """Text (exactly as typed: the reader does not strip it, only a blank cell is None),
    whole numbers, dates in the window, choices and email addresses."""
    got = type_and_read(blank_workbook, tmp_path, values)
    for name, value in values.items():
        assert got[name] == value and type(got[name]) is type(value), (name, value, got[name])


@settings(PROPERTY, max_examples=12)
@given(values=typed_inputs(MONEY_INPUTS))
@example(values={"balance_bf": Decimal("66.21"), "exp_other_q2": Decimal("19.99")})  # openpyxl: 66.20999999999999
def test_any_valid_amount_typed_reads_back_exactly(values: dict[str, Any], blank_workbook: Path,
                                                   tmp_path: Path) -> None:
    """Pounds and pence, exactly as typed (a Decimal with at most two places), whatever digits
    the program that saved the file used for the double."""
    got = type_and_read(blank_workbook, tmp_path, values)
    for name, value in values.items():
        assert isinstance(got[name], Decimal), (name, got[name])
        assert got[name] == value and got[name].as_tuple().exponent >= -2, (name, value, got[name])


def test_the_properties_cover_every_input_type() -> None:
    assert {f.type for f in INPUTS} == {"money", "signed_money", "integer", "text", "date", "choice", "email", "yesno"}
    assert len(MONEY_INPUTS) + len(OTHER_INPUTS) == len(INPUTS)


# ---------------------------------------------------------------- regressions of bugs found and fixed


def test_amounts_saved_by_excel_read_as_typed(issued: Issued, tmp_path: Path) -> None:
    """Excel saves a typed 19.99 as <v>19.989999999999998</v> (17 significant digits)."""
    path = tmp_path / "saved by excel.xlsx"
    values = {**issued.clean(), "balance_bf": Decimal("19.99"), "exp_other_q2": Decimal("1234.56")}
    fill_openpyxl(issued.files["North"], path, values)
    save_numbers_as_excel_does(path)
    assert b"<v>19.989999999999998</v>" in sheet_xml(path, "Return")
    data = read_return(path)
    assert (data.values["balance_bf"], data.values["exp_other_q2"]) == (Decimal("19.99"), Decimal("1234.56"))


def test_a_pence_allocation_saved_by_excel_is_not_an_identity_change(tmp_path: Path) -> None:
    """£412,500.10 comes back from Excel as 412500.09999999998: still the allocation the LA issued."""
    root = tmp_path / "ws"
    assert main(["init", str(root), "--password", "pence"]) == 0
    roster = openpyxl.load_workbook(root / "roster.xlsx")
    rows = [r for r in roster["Allocations"].iter_rows() if (r[0].value, r[1].value) == ("North", YEAR)]
    rows[0][2].value = 412500.10
    roster.save(root / "roster.xlsx")
    with workspace_env(root):
        assert main(["generate", "quarterly", "--year", YEAR, "--quarter", str(QUARTER)]) == 0
    src = next((root / "outbox" / f"{YEAR} Q{QUARTER}").glob("* - North - *.xlsx"))
    path = tmp_path / "north.xlsx"
    fill_openpyxl(src, path, clean_values(SPEC, QUARTER, Decimal("412500.10"), seed=0))
    assert validate_files([path], root)[0].findings == []  # as openpyxl saves it: fine
    save_numbers_as_excel_does(path)
    assert b"<v>412500.09999999998</v>" in sheet_xml(path, "Return")
    report = validate_files([path], root)[0]
    assert [f.one_line() for f in report.findings] == []
    assert report.status == "accepted"


def test_a_broken_name_is_not_also_reported_blank(issued: Issued, tmp_path: Path) -> None:
    def edit(wb: Workbook) -> None:
        del wb.defined_names["prepared_by"]

    path = tmp_path / "broken name.xlsx"
    fill_openpyxl(issued.files["North"], path, issued.clean(), edit=edit)
    report = validate_files([path], issued.root)[0]
    assert [f.code for f in report.findings] == ["T-E006"]


def test_an_unreadable_amount_does_not_invent_other_problems(issued: Issued, tmp_path: Path) -> None:
    path = tmp_path / "about 300.xlsx"
    fill_openpyxl(issued.files["North"], path, {**issued.clean(), "balance_bf": "about 300"})
    report = validate_files([path], issued.root)[0]
    assert [f.code for f in report.findings] == ["Q-E102"], [f.one_line() for f in report.findings]


# ---------------------------------------------------------------- the workbook's own Checks agree with the LA
#
# Every rule case and every clean return, recalculated by Gnumeric and by the formulas
# package (both follow Excel's rules; LibreOffice joins them in
# tests/test_excel_engines_libreoffice.py): the Checks lines and the status must be what
# the project's Python computes from the same cells, and "Ready to send" must be shown
# exactly when the LA accepts the return.

# Findings the workbook can check itself: field rules and cross-field rules. Template,
# file and cross-return rules need the LA's ledger or the file's structure.
# A date more than a week after the day of validation (E113) needs today's date, which a formula
# would show differently each day the workbook is opened: the LA checks it, the workbook does not.
def workbook_checkable(code: str) -> bool:
    return code.startswith(f"{SPEC.code_prefix}-") and code[3] in "12" and code != f"{SPEC.code_prefix}-E113"


def engine_cases(broken: dict[str, tuple[Case, FileReport]]) -> list[tuple[str, Path, FileReport]]:
    out = []
    for case_id, (c, report) in broken.items():
        if case_id == "Q-E103-huge":
            continue  # £1e30: Excel, LibreOffice and Gnumeric compute with it; the formulas package gives #NUM!
        if c.build is None and c.edit is None and all(workbook_checkable(f.code) for f in report.findings):
            out.append((case_id, Path(report.file), report))
    return out


def test_ready_to_send_exactly_when_the_la_accepts(issued: Issued, broken: dict[str, tuple[Case, FileReport]],
                                                   clean_returns: list[Path], clean_reports: list[FileReport]) -> None:
    """Python's status line (the cached value every viewer shows, and what Excel computes)
    says "Ready to send" exactly when ``pbp validate`` accepts, for every rule case whose
    findings the workbook can check itself. One deliberate exception: a number typed as
    text that the LA can read (Q-W109) is accepted with a warning, while the workbook asks
    for it to be retyped, as no spreadsheet formula can read "£1,250.00" the same way in
    every program."""
    from engines import python_cells, raw_inputs

    cases = [*engine_cases(broken), *(("clean", p, r) for p, r in zip(clean_returns, clean_reports, strict=True))]
    assert len(cases) > 25
    for case_id, path, report in cases:
        status = python_cells(SPEC, QUARTER, raw_inputs(path, SPEC), PARAMS)[("Checks", "B4")]
        if "W109" in case_id:
            assert report.status == "accepted_with_warnings" and status != "Ready to send", case_id
            continue
        assert (status == "Ready to send") == (report.status != "rejected"), (case_id, status, report.status)


def test_rule_cases_give_the_same_checks_in_gnumeric_and_formulas(
        issued: Issued, broken: dict[str, tuple[Case, FileReport]], clean_returns: list[Path]) -> None:
    """Every shipped rule's "fires" and "stays quiet" cases: Gnumeric and the formulas engine
    compute every formula cell, Checks line and status as the project's Python does."""
    import formulas
    from engines import (
        differences,
        formula_cells,
        formulas_recalc,
        gnumeric_cells,
        python_cells,
        raw_inputs,
        require_gnumeric,
    )

    require_gnumeric()
    issued_path = issued.files["North"]
    model = formulas.ExcelModel().loads(str(issued_path)).finish()
    cells = formula_cells(SPEC, QUARTER)
    paths = [(case_id, path) for case_id, path, _ in engine_cases(broken)] + [("clean", p) for p in clean_returns]
    problems: list[str] = []
    for case_id, path in paths:
        raw = raw_inputs(path, SPEC)
        python = python_cells(SPEC, QUARTER, raw, PARAMS)
        problems += [f"{case_id}: {p}" for p in differences(python, gnumeric_cells(path, cells), "Gnumeric")]
        seen = formulas_recalc(model, issued_path.name, SPEC, raw, cells)
        problems += [f"{case_id}: {p}" for p in differences(python, seen, "formulas")]
    assert not problems, "\n".join(problems[:30])


@pytest.mark.libreoffice
def test_rule_cases_give_the_same_checks_in_libreoffice(
        libreoffice: Any, issued: Issued, broken: dict[str, tuple[Case, FileReport]], clean_returns: list[Path],
        tmp_path: Path) -> None:
    """LibreOffice recalculates every rule case and clean return: its Checks lines, status and
    formula cells are what Python computes (and so what Gnumeric and the formulas engine do)."""
    from engines import differences, formula_cells, python_cells, raw_inputs, saved_values

    cells = formula_cells(SPEC, QUARTER)
    paths = [(case_id, path) for case_id, path, _ in engine_cases(broken)] + [("clean", p) for p in clean_returns]
    problems: list[str] = []
    for i, (case_id, path) in enumerate(paths):
        out = tmp_path / f"{i}.xlsx"
        libreoffice.recalc(path, out)
        python = python_cells(SPEC, QUARTER, raw_inputs(path, SPEC), PARAMS)
        problems += [f"{case_id}: {p}" for p in differences(python, saved_values(out, cells), "LibreOffice")]
    assert not problems, "\n".join(problems[:30])


def test_one_tampered_file_does_not_stop_an_ingest_and_pence_are_stored_rounded(issued: Issued, tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """pbp ingest of a batch with a tampered identity sheet, £1e30 in a cell and £20,000.123:
    each file gets its verdict (exit 1, not 2), the ledger keeps the pence amount as
    20000.12 (never the fraction of a penny) and the clean file is accepted."""
    import json
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(issued.root, root)
    base = issued.clean("North", 0)
    files = {"year": ({}, set_meta("financial_year", "20x5-26")),
             "huge": ({"exp_transport_q2": Decimal("1e30")}, None),
             "pence": ({"other_income": Decimal("20000.123"), "other_income_description": "Partner schools"}, None)}
    paths = []
    for name, (values, edit) in files.items():
        paths.append(tmp_path / f"{name}.xlsx")
        fill_openpyxl(issued.files["North"], paths[-1], {**base, **values}, edit=edit)
    clean = tmp_path / "clean.xlsx"
    fill_openpyxl(issued.files["South"], clean, issued.clean("South", 1))
    capsys.readouterr()
    with workspace_env(root):
        code = main(["ingest", "--json", *map(str, [*paths, clean])])
    out = capsys.readouterr()
    assert code == 1, out.err
    assert "internal error" not in out.err and "not a financial year" not in out.err
    reports = {Path(r["file"]).stem: r for r in json.loads(out.out)}
    assert {k: r["status"] for k, r in reports.items()} == {"year": "rejected", "huge": "rejected",
                                                            "pence": "rejected", "clean": "accepted"}
    assert [f["code"] for f in reports["year"]["findings"]] == ["T-E001"]
    assert "Q-E103" in {f["code"] for f in reports["huge"]["findings"]}
    con = sqlite3.connect(root / ".pbp" / "ledger.sqlite")
    stored = [json.loads(v) for (v,) in con.execute("SELECT values_json FROM received WHERE values_json LIKE "
                                                    "'%20000.1%'")]
    con.close()
    assert [v["other_income"] for v in stored] == ["20000.12"]
