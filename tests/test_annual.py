"""The annual report to stakeholders (toolkit Appendix 3), made by the same machinery as the
quarterly return: generated, reopened with openpyxl, filled as a partnership would fill it,
validated by the LA's pipeline, pre-filled from and checked against the accepted quarterly
returns, ingested, reported in status and sent back as a feedback workbook."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import by_hand
import openpyxl
import pytest
from fill import clean_values, cli_json, fill_openpyxl, name_cells, validate_cli, validate_files, workspace_env
from openpyxl.worksheet.cell_range import CellRange

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.money import format_gbp
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.resources import data_dir
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import annual_samples
from pbp_workbooks.ledger.history import typed_values
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import calc, registry, rules
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.findings import FileReport, Finding

SPEC = spec_mod.load("annual")
QSPEC = spec_mod.load("quarterly")
SPEND_ROWS = next(s for s in SPEC.sections if s.key == "spend").row_keys  # the annual spending categories
YEAR = "2025-26"
FY = FinancialYear.parse(YEAR)
PARAMS = Thresholds().params()
PARTNERSHIPS = ("North", "East", "South", "West", "Central")
NARRATIVES = ("overall_summary", "staff_changes", "staff_training", "curriculum", "evaluation", "quality_assurance",
              "safeguarding", "partnerships", "communication", "contingency", "future_proofing")


# ---------------------------------------------------------------- helpers


def generate_annual(root: Path) -> dict[str, Path]:
    with workspace_env(root):
        assert main(["generate", "annual", "--year", YEAR]) == 0
    files = {p.name.split(" - ")[1]: p for p in (root / "outbox" / f"{YEAR} Annual").glob("*.xlsx")}
    assert sorted(files) == sorted(PARTNERSHIPS)
    return files


def issued_prefill(root: Path, partnership: str) -> dict[str, Any]:
    """What the LA put in a partnership's issued annual report (the ledger's record of it)."""
    with Ledger(Workspace(root).ledger_path) as ledger:
        [issued] = [i for i in ledger.issued_for("annual", YEAR, None) if i.partnership == partnership]
    return typed_values(SPEC, issued.prefill_json)


def clean_annual(root: Path, partnership: str, seed: int, **kw: Any) -> dict[str, Any]:
    """A clean annual report for a partnership: only the inputs a person types."""
    values = annual_samples.filled_values(SPEC, FY, issued_prefill(root, partnership), seed=seed, params=PARAMS,
                                          **kw)
    return {k: v for k, v in values.items() if SPEC[k].is_input}


def of(report: FileReport | dict[str, Any], code: str) -> list[Any]:
    findings = report.findings if isinstance(report, FileReport) else report["findings"]
    return [f for f in findings if (f.code if isinstance(f, Finding) else f["code"]) == code]


def ingest_json(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[dict[str, Any]]]:
    return cli_json(capsys, "ingest", *paths)


# ---------------------------------------------------------------- the issued workbooks (once per module)


@dataclass
class Issued:
    root: Path
    files: dict[str, Path]
    cells: dict[str, tuple[str, str]]  # defined name -> (sheet, cell) in the issued North workbook


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    root = tmp_path_factory.mktemp("annual") / "ws"
    assert main(["init", str(root), "--password", "annual-pw"]) == 0
    files = generate_annual(root)
    return Issued(root, files, name_cells(files["North"]))


def test_one_report_per_partnership_named_for_a_person(issued: Issued) -> None:
    names = sorted(p.name for p in issued.files.values())
    assert "PBP Annual Report 2025-26 - North - Northfield Primary School.xlsx" in names
    assert all(n.startswith("PBP Annual Report 2025-26 - ") for n in names)
    con = sqlite3.connect(Workspace(issued.root).ledger_path)
    rows = con.execute("SELECT kind, year, quarter, template FROM issued").fetchall()
    assert rows == [("annual", YEAR, None, "pbp-annual-report")] * 5


def test_sections_follow_appendix_3(issued: Issued) -> None:
    order = ["details", "summary", "budget", "spend", "spend_notes", "surplus", "staffing", "delivery", "gender",
             "ethnicity", "send", "keystage", "exceptions", "methods", "curriculum", "kpi", "kpi_notes", "evaluation",
             "quality", "partnerships", "communication", "contingency", "future", "signoff"]
    assert [s.key for s in SPEC.sections] == order
    ws = openpyxl.load_workbook(issued.files["North"])["Report"]
    titles = [c.value for c in ws["A"] if c.value in {s.title for s in SPEC.sections}]
    assert titles == [s.title for s in SPEC.sections]
    # the budget summary has the quarterly return's twelve categories, in its order
    spend = next(s for s in SPEC.sections if s.key == "spend")
    exp = next(s for s in QSPEC.sections if s.key == "exp")
    assert (spend.row_keys, spend.row_labels) == (exp.row_keys, exp.row_labels)
    by_key = {s.key: s for s in SPEC.sections}
    assert by_key["ethnicity"].row_labels == ("White", "Mixed / Multiple ethnic groups", "Asian / Asian British",
                                              "Black / African / Caribbean / Black British", "Other ethnic group",
                                              "Unclassified / refused")
    assert by_key["send"].row_keys == ("none", "sen_support", "ehcp")
    assert by_key["keystage"].row_keys == ("eyfs", "ks1", "ks2")
    assert by_key["methods"].row_keys == ("individual", "group", "in_reach", "outreach")
    assert by_key["kpi"].row_keys == ("attendance", "reintegration", "incidents", "self_esteem", "stay_weeks",
                                      "exclusions")
    assert by_key["kpi"].col_keys == ("target", "actual", "commentary")
    assert SPEC.code_prefix == "A" and SPEC.sheet == "Report"


def test_every_sheet_and_the_structure_are_protected(issued: Issued) -> None:
    wb = openpyxl.load_workbook(issued.files["North"])
    assert wb.sheetnames == ["Instructions", "Report", "Checks", "_meta"]
    assert wb.security is not None and wb.security.lockStructure and wb.security.workbookPassword
    for ws in wb.worksheets:
        assert ws.protection.sheet and ws.protection.password, ws.title
    assert wb["_meta"].sheet_state == "veryHidden"
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(min_row=2, max_col=2, values_only=True) if r[0]}
    assert (meta["template_id"], meta["kind"], meta["financial_year"], meta["quarter"]) == (
        "pbp-annual-report", "annual", YEAR, "")
    assert meta["partnership"] == "North" and len(meta["issue_token"]) == 16


def test_pupils_outside_the_key_stages_served_need_a_placement_recorded(issued: Issued, tmp_path: Path) -> None:
    """Toolkit section 7, issue #12 item 13: South's provision serves KS2 only (the roster's Key
    stages served, pre-filled and locked in its report). Pupils in KS1 with no placement outside
    key stage recorded is A-W224 at the KS1 pupils; with the placements recorded it is quiet. The
    Checks sheet says "Look" and "OK" likewise."""
    ws = openpyxl.load_workbook(issued.files["South"])["Report"]
    assert [ws[SPEC[f"keystage_{k}_served"].cell].value for k in ("eyfs", "ks1", "ks2")] == ["No", "No", "Yes"]
    assert ws[SPEC["keystage_ks1_served"].cell].protection.locked
    values = clean_annual(issued.root, "South", seed=3)
    assert values["keystage_eyfs_pupils"] == values["keystage_ks1_pupils"] == 0  # the sample keeps to KS2
    moved = {"keystage_ks1_pupils": 2, "keystage_ks2_pupils": values["keystage_ks2_pupils"] - 2}
    recorded = {**moved, "placements_outside_ks": 2, "placements_mdm_held": "Yes",
                "placements_details": "Two Year 2 pupils, agreed at multidisciplinary meetings in May and June."}
    paths = []
    for name, typed in (("clean", {}), ("ks1", moved), ("recorded", recorded)):
        paths.append(tmp_path / f"{name}.xlsx")
        fill_openpyxl(issued.files["South"], paths[-1], {**values, **typed})
    clean, ks1, placed = validate_files(paths, issued.root)
    assert clean.findings == [] and placed.findings == [], [f.one_line() for f in (*clean.findings, *placed.findings)]
    [w] = ks1.findings
    assert (w.code, w.severity, w.name, w.cell) == ("A-W224", "warning", "keystage_ks1_pupils",
                                                    SPEC["keystage_ks1_pupils"].cell)
    assert "Key stage 1 (Years 1-2): 2 pupils" in w.message and "does not serve this key stage" in w.message
    assert ks1.status == "accepted_with_warnings"
    [line] = [c for c in calc.checks(SPEC, None, YEAR) if c.code == "A-W224" and "keystage_ks1_pupils" in c.cells]
    prefill = issued_prefill(issued.root, "South")
    assert calc.check_result(line, calc.compute(SPEC, {**prefill, **values, **moved}), PARAMS) == "Look"
    assert calc.check_result(line, calc.compute(SPEC, {**prefill, **values, **recorded}), PARAMS) == "OK"


def test_every_count_says_which_year_it_covers(issued: Issued) -> None:
    """Issue #12 item 15: the budget summary and the counts of pupils cover the financial year
    (toolkit Appendix 3: "Budget Summary – for the year (FY)"); the KPIs the academic year, and
    the report says so with the dates, in its Instructions and above each section."""
    wb = openpyxl.load_workbook(issued.files["North"])
    texts = [c.value for ws in (wb["Instructions"], wb["Report"]) for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    fy, ay = "the financial year 2025-26 (1 April 2025 to 31 March 2026)", \
        "the academic year 2024-25 (1 September 2024 to 31 July 2025)"
    assert any(fy in t and ay in t and "key performance indicators" in t for t in texts)  # the Instructions
    assert "Budget summary for the financial year" in texts and any(t.startswith(f"For {fy}.") for t in texts)
    assert "Performance monitoring: key performance indicators (academic year)" in texts
    assert any(t.startswith(f"For {ay}, the last complete academic year") for t in texts)
    assert "Pupils supported in the financial year" in texts and "Service delivery (financial year)" in texts
    assert not any("{" in t for t in texts)
    assert FinancialYear.parse("2026-27").academic_year[0] == "2025-26"


def test_the_report_is_sent_to_the_head_of_inclusion_services(issued: Issued, tmp_path: Path) -> None:
    """Toolkit Appendix 3: the annual report goes to the Head of Inclusion Services, named in
    pbp.toml; the quarterly return (Appendix 5) goes to the schools' finance team."""
    from pbp_workbooks.base.config import load as load_config

    cfg = load_config(issued.root / "pbp.toml")
    assert cfg.inclusion_head == "Dr Alex Morgan" and cfg.inclusion_head_email != cfg.finance_contact

    def sent_to(path: Path) -> str:
        texts = [c.value for row in openpyxl.load_workbook(path)["Instructions"].iter_rows() for c in row
                 if isinstance(c.value, str) and "Return it to" in c.value]
        assert len(texts) == 1, texts
        return texts[0]

    annual = sent_to(issued.files["North"])
    assert f"Return it to the LA's Head of Inclusion Services (Dr Alex Morgan, {cfg.inclusion_head_email})" in annual
    assert cfg.finance_contact not in annual
    root = tmp_path / "ws"
    shutil.copytree(issued.root, root)  # issuing a quarter here must not change the module's workspace
    with workspace_env(root):
        assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "1"]) == 0
    quarterly = sent_to(next((root / "outbox" / f"{YEAR} Q1").glob("* - North - *.xlsx")))
    assert f"Return it to the LA schools' finance team ({cfg.finance_contact})" in quarterly
    assert cfg.inclusion_head not in quarterly and cfg.inclusion_head_email not in quarterly
    # every placeholder filled in ("items over {large_item}" in the list of sections was not)
    path = next((root / "outbox" / f"{YEAR} Q1").glob("* - North - *.xlsx"))
    texts = [c.value for row in openpyxl.load_workbook(path)["Instructions"].iter_rows() for c in row
             if isinstance(c.value, str)]
    assert not [t for t in texts if "{" in t] and any("over £30,000 this year" in t for t in texts)


def test_only_inputs_are_unlocked(issued: Issued) -> None:
    ws = openpyxl.load_workbook(issued.files["North"])["Report"]
    inputs = {f.cell for f in SPEC.inputs()}
    merged_tails = {ws.cell(r, c).coordinate for m in ws.merged_cells.ranges if m.start_cell.coordinate in inputs
                    for r, c in m.cells} - inputs
    seen = set()
    for row in ws.iter_rows(min_row=1, max_row=SPEC.last_row + 1, max_col=SPEC.last_col + 1):
        for cell in row:
            if cell.coordinate in inputs:
                assert cell.protection.locked is False, cell.coordinate
                assert cell.fill.fgColor.rgb == "FFFFF2CC", cell.coordinate
                seen.add(cell.coordinate)
            elif cell.coordinate not in merged_tails and (cell.value is not None or cell.has_style):
                assert cell.protection.locked is not False, f"{cell.coordinate} should be locked"
    assert seen == inputs
    for name in ("dsg_allocation", "partnership", "partnership_schools", "total_income", "gender_total_pupils",
                 "year_end_balance", "overhead_contribution"):
        assert ws[SPEC[name].cell].protection.locked is not False, name


def test_defined_names_resolve_to_the_spec_cells(issued: Issued) -> None:
    wb = openpyxl.load_workbook(issued.files["North"])
    for f in SPEC.fields:
        assert wb.defined_names[f.name].attr_text == f.abs_ref, f.name
    assert {n: c for n, c in issued.cells.items() if n in SPEC.by_name} == {f.name: (f.sheet, f.cell)
                                                                             for f in SPEC.fields}


def test_every_input_has_a_message_and_a_data_validation(issued: Issued) -> None:
    ws = openpyxl.load_workbook(issued.files["North"])["Report"]
    validated: dict[str, Any] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for r, c in CellRange(rng.coord).cells:
                validated[openpyxl.utils.get_column_letter(c) + str(r)] = dv
    kinds = {"money": "decimal", "signed_money": "decimal", "integer": "whole", "number": "decimal",
             "date": "date", "choice": "list", "yesno": "list", "email": "custom", "text": "textLength"}
    for f in SPEC.inputs():
        dv = validated.get(f.cell)
        assert dv is not None, f"no data validation on {f.name} ({f.cell})"
        assert dv.showInputMessage and dv.prompt and dv.type == kinds[f.type], f.name
        assert dv.errorStyle in (None, "stop"), f.name
    # percentages are numbers from 0 to 100; other indicators have their own range
    for name in ("kpi_attendance_target", "kpi_attendance_actual", "kpi_reintegration_actual"):
        dv = validated[SPEC[name].cell]
        assert (Decimal(dv.formula1), Decimal(dv.formula2)) == (0, 100), name
    assert Decimal(validated[SPEC["kpi_incidents_actual"].cell].formula2) == 100000
    assert Decimal(validated[SPEC["avg_stay_weeks"].cell].formula2) == 104
    assert validated[SPEC["overall_summary"].cell].formula1 == "2000"
    assert validated[SPEC["curriculum"].cell].formula1 == "1500"


def test_narratives_wrap_span_the_width_and_print(issued: Issued) -> None:
    ws = openpyxl.load_workbook(issued.files["North"])["Report"]
    merged = {m.start_cell.coordinate: m for m in ws.merged_cells.ranges}
    for name in (*NARRATIVES, "budget_commentary", "placements_details", "ehcp_explanation", "recovery_plan"):
        f = SPEC[name]
        assert f.type == "text" and 1000 <= (f.max_length or 0) <= 2000, name
        cell = ws[f.cell]
        assert cell.alignment.wrap_text and cell.alignment.vertical == "top", name
        m = merged[f.cell]
        assert (m.min_col, m.max_col) == (2, SPEC.last_col + 1), name  # B to the last column
        assert ws.row_dimensions[f.row + 1].height >= 100, name  # several lines high
    assert SPEC["overall_summary"].max_length == 2000 and SPEC["staff_changes"].max_length == 1500
    # KPI commentary: one wide cell per indicator
    kpi = merged[SPEC["kpi_attendance_commentary"].cell]
    assert (kpi.min_col, kpi.max_col) == (4, SPEC.last_col + 1)
    assert ws.page_setup.orientation == "portrait" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToHeight) == 0
    assert "PBP Annual Report 2025-26" in ws.oddHeader.left.text
    assert ws.print_area is not None


def _guarded(cell: str) -> str:
    return f"IF(ISTEXT({cell})+ISLOGICAL({cell}),#VALUE!,{cell})"


def test_totals_are_formulas_with_their_values_cached(issued: Issued) -> None:
    wb = openpyxl.load_workbook(issued.files["North"])
    ws = wb["Report"]
    for grid in ("gender", "ethnicity", "send", "keystage"):
        rows = next(s for s in SPEC.sections if s.key == grid).row_keys
        # every typed cell is read through the guard that makes text #VALUE! in every program
        cells = ",".join(_guarded(SPEC[f"{grid}_{r}_pupils"].cell) for r in rows)
        assert ws[SPEC[f"{grid}_total_pupils"].cell].value == f"=SUM({cells})", grid
    assert ws[SPEC["spend_total_actual"].cell].value == "=ROUND(SUM(" + ",".join(
        _guarded(SPEC[f"spend_{r}_actual"].cell)
        for r in next(s for s in SPEC.sections if s.key == "spend").row_keys) + "),2)"
    cached = openpyxl.load_workbook(issued.files["North"], data_only=True)["Report"]
    assert cached[SPEC["dsg_allocation"].cell].value == 412500
    assert cached[SPEC["total_income"].cell].value == 412500
    assert cached[SPEC["year_end_balance"].cell].value == 412500
    assert cached[SPEC["partnership_schools"].cell].value == 5  # four member schools and the host school
    assert cached[SPEC["gender_total_pupils"].cell].value == 0
    checks = openpyxl.load_workbook(issued.files["North"], data_only=True)["Checks"]
    assert checks["B4"].value.endswith("problems to fix")
    rows = sum(1 for r in range(7, 200) if checks.cell(r, 2).value in ("OK", "Fix", "Look"))
    assert len(calc.checks(SPEC, None, "2025-26")) == rows


def test_spec_json_for_bi_tools(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "annual", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["template"] == "pbp-annual-report" and data["version"] == SPEC.version
    by_name = {f["name"]: f for f in data["fields"]}
    assert by_name.keys() == SPEC.by_name.keys()
    attendance = by_name["kpi_attendance_actual"]
    assert (attendance["type"], attendance["min"], attendance["max"], attendance["sheet"]) == ("number", "0", "100",
                                                                                             "Report")
    assert by_name["kpi_incidents_actual"]["max"] == "100000"
    assert by_name["spend_transport_budget"]["source"] == "ledger.q4.exp_transport_budget"
    assert by_name["spend_transport_actual"]["source"] == "ledger.q4.exp_transport_to_date"
    assert by_name["overall_summary"]["max_length"] == 2000 and by_name["overall_summary"]["required"]
    assert "open_from_quarter" not in json.dumps(data)
    assert main(["spec", "annual"]) == 0
    assert "pupils_supported" in capsys.readouterr().out


def test_q4_sources_name_fields_of_the_quarterly_return() -> None:
    sourced = [f for f in SPEC.fields if f.source and f.source.startswith("ledger.q4.")]
    assert len(sourced) > 24
    for f in sourced:
        q = QSPEC[f.source.removeprefix("ledger.q4.")]
        assert f.is_input and not f.locked, f.name  # pre-filled but editable
        assert q.type == f.type or {q.type, f.type} <= {"money", "signed_money"}, f.name


# ---------------------------------------------------------------- clean reports


@pytest.fixture(scope="module")
def clean_returns(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("clean-annual")
    paths = []
    for seed, partnership in enumerate(PARTNERSHIPS):
        dst = out / f"clean {partnership}.xlsx"
        fill_openpyxl(issued.files[partnership], dst, clean_annual(issued.root, partnership, seed))
        paths.append(dst)
    return paths


def test_clean_reports_are_accepted_with_no_findings(issued: Issued, clean_returns: list[Path]) -> None:
    reports = validate_files(clean_returns, issued.root)
    for report in reports:
        assert report.findings == [], (report.file, [f.one_line() for f in report.findings])
        assert report.status == "accepted"
        assert report.identity is not None and report.identity["kind"] == "annual"
        assert report.identity["quarter"] is None and report.identity["year"] == YEAR
    assert sorted(r.identity["partnership"] for r in reports if r.identity) == sorted(PARTNERSHIPS)


def test_clean_reports_through_pbp_validate_json(issued: Issued, clean_returns: list[Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, reports = validate_cli(clean_returns, capsys, issued.root)
    assert code == 0
    assert [(r["status"], r["findings"]) for r in reports] == [("accepted", [])] * 5


def test_samples_are_clean_for_many_seeds() -> None:
    pre = {"dsg_allocation": Decimal("364800.00"), "partnership_schools": 6, "provision": "Rainbow Room (East PBP)"}
    for seed in range(40):
        values = annual_samples.filled_values(SPEC, FY, pre, seed=seed, params=PARAMS, placements=seed % 3)
        computed = calc.compute(SPEC, values)
        failing = [ch.label for ch in calc.checks(SPEC, None, "2025-26") if calc.failing(ch, computed, PARAMS)]
        assert failing == [], (seed, failing)
        assert computed["gender_total_pupils"] == values["pupils_supported"]
        assert all(len(values[n]) <= (SPEC[n].max_length or 0) for n in NARRATIVES)


# ---------------------------------------------------------------- one case per rule


@dataclass
class Case:
    """How to break a clean North report so that ``code`` fires, where, and what it must say.
    A case is made from the typed values and all the inputs (with the pre-filled ones); the
    amounts it expects are worked out by hand (tests/by_hand.py), never by calc.compute."""

    code: str
    values: dict[str, Any]
    name: str  # defined name of the cell the finding points at
    says: tuple[str, ...] = ()
    also: frozenset[str] = field(default_factory=frozenset)  # other codes the same change rightly causes


CASES: dict[str, Callable[[dict[str, Any], dict[str, Any]], Case]] = {}


def case(case_id: str) -> Callable[[Callable[[dict[str, Any], dict[str, Any]], Case]],
                                    Callable[[dict[str, Any], dict[str, Any]], Case]]:
    def register(fn: Callable[[dict[str, Any], dict[str, Any]], Case]) -> Callable[[dict[str, Any], dict[str, Any]], Case]:
        CASES[case_id] = fn
        return fn

    return register


def _breakdown(code: str, grid: str, row: str, what: str) -> Callable[[dict[str, Any], dict[str, Any]], Case]:
    """One pupil too many in one row of a breakdown: the finding points at its total."""

    def make(v: dict[str, Any], c: dict[str, Any]) -> Case:
        key = f"{grid}_{row}_pupils"
        n = v["pupils_supported"]
        return Case(code, {key: v[key] + 1}, f"{grid}_total_pupils", (f"pupils by {what} add up to {n + 1}",
                                                                      f"but {n} pupils were supported"))

    return make


for _code, _grid, _row, _what in (("A-E201", "gender", "boys", "gender"), ("A-E202", "ethnicity", "white", "ethnicity"),
                                  ("A-E203", "send", "sen_support", "SEND status"),
                                  ("A-E204", "keystage", "ks2", "key stage")):
    CASES[_code] = _breakdown(_code, _grid, _row, _what)


@case("A-E205")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    broken = {"send_ehcp_pupils": 1, "send_none_pupils": v["send_none_pupils"] + v["send_ehcp_pupils"] - 1,
              "ehcp_explanation": None}
    return Case("A-E205", broken, "ehcp_explanation", ("Pupils with an EHCP supported in the year: 1", "section 9"))


@case("A-E206")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E206", {"placements_outside_ks": 2, "placements_mdm_held": "Yes"}, "placements_details",
                ("Pupils placed outside their key stage: 2", "best interests"))


@case("A-E207")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E207", {"placements_outside_ks": 1, "placements_mdm_held": "No",
                           "placements_details": annual_samples.PLACEMENT_DETAILS}, "placements_mdm_held",
                ("multidisciplinary meeting", "section 7"))


@case("A-E208")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    n = v["pupils_supported"]
    return Case("A-E208", {"placements_outside_ks": n + 1, "placements_mdm_held": "Yes",
                           "placements_details": annual_samples.PLACEMENT_DETAILS}, "placements_outside_ks",
                (f"outside their key stage ({n + 1})", f"supported in the year ({n})"))


@case("A-E209")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    n = v["pupils_supported"]
    return Case("A-E209", {"methods_group_pupils": n + 3}, "methods_group_pupils",
                (f"Group sessions: {n + 3} pupils", f"the {n} pupils supported"))


@case("A-E210")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    assert v["spend_other_budget"] > 0
    return Case("A-E210", {"other_description": None}, "other_description", ("'Other' spending",))


@case("A-W211")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-W211", {"other_income": Decimal("1800.00"), "other_income_description": None},
                "other_income_description", ("other income of £1,800.00",))


@case("A-E212")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    actual = v["spend_teaching_staff_actual"] - Decimal("60000.00")
    broken = {"spend_teaching_staff_actual": actual, "surplus_cpd": None, "surplus_future": None,
              "surplus_contingency": None, "surplus_other": None}
    balance = by_hand.year_end_balance({**c, **broken}, SPEND_ROWS)
    assert balance > c["dsg_allocation"] * Decimal("0.05")
    return Case("A-E212", broken, "surplus_cpd", (f"surplus of {format_gbp(balance)}", "section 4"))


@case("A-E213")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    balance = by_hand.year_end_balance(c, SPEND_ROWS)
    assert balance > 0
    broken = {"surplus_other": balance, "surplus_other_description": "New minibus"}
    return Case("A-E213", broken, "surplus_planned_total", (format_gbp(by_hand.surplus_planned({**c, **broken})),
                                                            f"year-end surplus of {format_gbp(balance)}"))


@case("A-E214")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    actual = v["spend_teaching_staff_actual"] + Decimal("150000.00")
    broken = {"spend_teaching_staff_actual": actual, "surplus_cpd": None, "surplus_future": None,
              "surplus_contingency": None, "surplus_other": None, "recovery_plan": None}
    balance = by_hand.year_end_balance({**c, **broken}, SPEND_ROWS)
    assert balance < 0
    return Case("A-E214", broken, "recovery_plan", (f"deficit of {format_gbp(-balance)}", "recovery plan"))


@case("A-E223")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    actual = v["spend_teaching_staff_actual"] + Decimal("150000.00")
    broken = {"spend_teaching_staff_actual": actual, "recovery_plan": "Staffing cut from September."}
    balance = by_hand.year_end_balance({**c, **broken}, SPEND_ROWS)
    assert balance < 0 and by_hand.surplus_planned(c) > 0
    return Case("A-E223", broken, "surplus_planned_total", (f"deficit of {format_gbp(-balance)}", "no surplus to plan"))


@case("A-E215")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    overhead = by_hand.amount(c, "spend_management_overhead_actual")  # the overhead contribution
    assert overhead > 0
    return Case("A-E215", {"overhead_agreed": "No"}, "overhead_agreed",
                (format_gbp(overhead), "agreed by the Neighbourhood Partnership"))


@case("A-W216")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-W216", {"overhead_agreed_date": None}, "overhead_agreed_date", ("date the partnership agreed",))


@case("A-W217")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    fte = Decimal(v["staff_headcount"]) + Decimal("0.5")
    return Case("A-W217", {"staff_fte": fte}, "staff_fte", (f"({fte})", f"headcount ({v['staff_headcount']})"))


@case("A-W218")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-W218", {"schools_supported": 7}, "schools_supported", ("7 schools supported", "lists 5 schools"))


@case("A-W219")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    weeks = calc.format_value(SPEC["avg_stay_weeks"], v["avg_stay_weeks"])
    kpi = calc.format_value(SPEC["avg_stay_weeks"], v["avg_stay_weeks"] + 2)
    return Case("A-W219", {"kpi_stay_weeks_actual": v["avg_stay_weeks"] + 2}, "kpi_stay_weeks_actual",
                (f"KPI says {kpi} weeks", f"length of stay of {weeks} weeks"))


@case("A-W220")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-W220", {"kpi_attendance_actual": Decimal("0.93")}, "kpi_attendance_actual",
                ("actual 0.93", "0 to 100"))


@case("A-W221")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-W221", {"kpi_reintegration_target": Decimal("0.75")}, "kpi_reintegration_actual",
                ("target 0.75", "75 for 75%"))


@case("A-E222")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E222", {"declaration": "No"}, "declaration", ("declaration has not been confirmed",))


# field rules: derived from the spec with the annual prefix


@case("A-E101")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E101", {"future_proofing": None}, "future_proofing", ("How the host school", "is blank"))


@case("A-E101-kpi")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E101", {"kpi_exclusions_actual": None}, "kpi_exclusions_actual",
                ("Exclusions of supported pupils (number): Actual is blank",))


@case("A-E102")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E102", {"staff_fte": "six and a bit"}, "staff_fte", ("'six and a bit' is not a number", "% signs"))


@case("A-E103")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E103", {"kpi_attendance_actual": Decimal("104.5")}, "kpi_attendance_actual",
                ("Attendance of supported pupils (%): Actual", "104.5", "0 to 100"))


@case("A-E103-reintegration")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E103", {"kpi_reintegration_target": Decimal("-5")}, "kpi_reintegration_target",
                ("-5", "0 to 100"))


@case("A-E105")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E105", {"curriculum": "We taught. " * 140}, "curriculum", ("1540 characters", "1500 or fewer"))


@case("A-E106")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E106", {"surplus_approach": "First come, first served"}, "surplus_approach", ("Needs-based",))


@case("A-E107")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E107", {"signoff_date": date(2025, 1, 10)}, "signoff_date", ("10/01/2025", "01/04/2025"))


@case("A-E108")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E108", {"email": "chair at partnership"}, "email", ("not a valid email address",))


@case("A-W112")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    """The partnership approved the annual report before the year it reports on had ended."""
    return Case("A-W112", {"partnership_approved": date(2026, 3, 20)}, "partnership_approved",
                ("20/03/2026", "before the end of the period", "31/03/2026"))


@case("A-E107-approved")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-E107", {"partnership_approved": date(2025, 3, 31)}, "partnership_approved",
                ("31/03/2025", "between 01/04/2025 and"))


@case("A-W109")
def _(v: dict[str, Any], c: dict[str, Any]) -> Case:
    return Case("A-W109", {"staff_absence_days": "14"}, "staff_absence_days", ("holds the text '14'",))


@dataclass
class Broken:
    cases: dict[str, Case]
    reports: dict[str, FileReport]
    clean: FileReport


@pytest.fixture(scope="module")
def broken(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> Broken:
    """Every case made from the same clean North report and validated in one batch."""
    out = tmp_path_factory.mktemp("broken-annual")
    values = clean_annual(issued.root, "North", seed=0)
    inputs = {**issued_prefill(issued.root, "North"), **values}  # with what the LA pre-filled
    cases = {cid: make(values, inputs) for cid, make in CASES.items()}
    paths = {}
    for cid, c in cases.items():
        paths[cid] = out / f"{cid}.xlsx"
        fill_openpyxl(issued.files["North"], paths[cid], {**values, **c.values})
    clean = out / "clean.xlsx"
    fill_openpyxl(issued.files["North"], clean, values)
    reports = validate_files([*paths.values(), clean], issued.root)
    return Broken(cases, dict(zip(paths, reports[:-1], strict=True)), reports[-1])


# rules that need a partnership other than North: tested on their own below
TESTED_ALONE = {"A-W224": "test_pupils_outside_the_key_stages_served_need_a_placement_recorded"}


def test_every_annual_rule_has_a_case() -> None:
    assert set(TESTED_ALONE) <= {d.code for d in rules.definitions("annual")}
    assert all(name in globals() for name in TESTED_ALONE.values())
    codes = {d.code for d in rules.definitions("annual")} - set(TESTED_ALONE) | {
        f"A-{s}" for s in ("E101", "E102", "E103", "E105", "E106", "E107", "E108", "W109", "W112")}
    assert codes <= {cid.split("-")[0] + "-" + cid.split("-")[1] for cid in CASES}
    # the cross-return rules are tested against real accepted returns below
    assert {c for c in registry.codes("cross-return") if c.startswith("A-")} == {"A-W301", "A-W302"}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_rule_fires_where_the_problem_is(broken: Broken, issued: Issued, case_id: str) -> None:
    c = broken.cases[case_id]
    report = broken.reports[case_id]
    hits = of(report, c.code)
    assert hits, (case_id, [f.one_line() for f in report.findings])
    sheet, cell = issued.cells[c.name]
    hit = next((f for f in hits if f.cell == cell), None)
    assert hit is not None, (case_id, [(f.cell, f.message) for f in hits], cell)
    assert hit.sheet == sheet == "Report" and hit.name == c.name
    assert hit.severity == ("error" if c.code[2] == "E" else "warning")
    for fragment in c.says:
        assert fragment in hit.message, (case_id, fragment, hit.message)
    assert {f.code for f in report.findings} <= {c.code, *c.also}, [f.one_line() for f in report.findings]
    assert report.status == ("rejected" if c.code[2] == "E" else "accepted_with_warnings")
    assert not of(broken.clean, c.code)


def test_the_clean_north_report_is_quiet(broken: Broken) -> None:
    assert broken.clean.findings == [] and broken.clean.status == "accepted"


# ---------------------------------------------------------------- against the accepted quarterly returns


def _quarterly_returns(root: Path, tmp: Path, placements: dict[int, int]) -> list[Path]:
    """Clean North quarterly returns for ``placements`` (quarter -> pupils placed outside key stage)."""
    out = []
    alloc = Decimal("412500.00")
    for q, n in placements.items():
        with workspace_env(root):
            assert main(["generate", "quarterly", "--year", YEAR, "--quarter", str(q)]) == 0
        src = next((root / "outbox" / f"{YEAR} Q{q}").glob("* - North - *.xlsx"))
        values = clean_values(QSPEC, q, alloc, seed=40 + q)
        values.update(placements_outside_ks=n, placements_mdm_held="Yes" if n else None)
        fill_openpyxl(src, tmp / f"north q{q}.xlsx", values)
        out.append(tmp / f"north q{q}.xlsx")
    return out


def test_budget_summary_is_prefilled_from_the_accepted_q4_return(workspace: Workspace, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    [q4] = _quarterly_returns(workspace.root, tmp_path, {4: 0})
    code, [r] = ingest_json(capsys, q4)
    assert code == 0 and r["status"] == "accepted", r["findings"]
    q4 = {**typed_values(QSPEC, json.dumps(_values_of(workspace, "quarterly", 4))), "dsg_allocation": Decimal("412500.00")}
    exp_rows = next(s for s in QSPEC.sections if s.key == "exp").row_keys
    accepted = {**q4, "forecast_balance": by_hand.forecast_balance(q4, exp_rows),  # worked out by hand
                **{f"exp_{row}_to_date": by_hand.to_date(q4, row) for row in exp_rows}}
    files = generate_annual(workspace.root)
    ws = openpyxl.load_workbook(files["North"])["Report"]
    for row in next(s for s in SPEC.sections if s.key == "spend").row_keys:
        budget, actual = ws[SPEC[f"spend_{row}_budget"].cell], ws[SPEC[f"spend_{row}_actual"].cell]
        assert Decimal(repr(budget.value)) == accepted[f"exp_{row}_budget"], row
        assert Decimal(repr(actual.value)) == accepted[f"exp_{row}_to_date"], row
        assert budget.protection.locked is False and actual.protection.locked is False  # editable
    for name in ("balance_bf", "surplus_cpd", "surplus_future", "surplus_contingency"):
        assert Decimal(repr(ws[SPEC[name].cell].value)) == accepted[name], name
    assert ws[SPEC["overhead_agreed"].cell].value == "Yes"
    cached = openpyxl.load_workbook(files["North"], data_only=True)["Report"]
    assert Decimal(repr(cached[SPEC["year_end_balance"].cell].value)) == accepted["forecast_balance"]
    # a partnership without an accepted Q4 return types its own figures
    east = openpyxl.load_workbook(files["East"])["Report"]
    assert east[SPEC["spend_teaching_staff_budget"].cell].value is None
    # the pre-filled report, completed as it stands, is accepted without a warning
    values = clean_annual(workspace.root, "North", seed=5)
    assert values["spend_transport_actual"] == accepted["exp_transport_to_date"]
    fill_openpyxl(files["North"], tmp_path / "annual.xlsx", values)
    code, [r] = ingest_json(capsys, tmp_path / "annual.xlsx")
    assert (code, r["status"], r["findings"]) == (0, "accepted", [])
    # a figure changed since the Q4 return: a warning with both figures and the difference
    # (lower spend: the planned uses of the surplus still fit in it)
    changed = values["spend_transport_actual"] - Decimal("250.00")
    fill_openpyxl(files["North"], tmp_path / "annual v2.xlsx", {**values, "spend_transport_actual": changed})
    code, [r] = ingest_json(capsys, tmp_path / "annual v2.xlsx")
    assert code == 0 and r["status"] == "accepted_with_warnings" and r["version"] == 2
    [w] = r["findings"]
    assert (w["code"], w["severity"], w["cell"], w["name"]) == ("A-W302", "warning", SPEC["spend_transport_actual"].cell,
                                                               "spend_transport_actual")
    for fragment in (f"is {format_gbp(changed)}", f"says {format_gbp(values['spend_transport_actual'])}",
                     "difference -£250.00"):
        assert fragment in w["message"]


def _values_of(ws: Workspace, kind: str, quarter: int | None) -> dict[str, Any]:
    con = sqlite3.connect(ws.ledger_path)
    [(values_json,)] = con.execute("SELECT values_json FROM received WHERE kind = ? AND quarter IS ? AND status LIKE"
                                   " 'accepted%' ORDER BY version DESC LIMIT 1", (kind, quarter)).fetchall()
    return json.loads(values_json)


def test_placements_outside_key_stage_agree_with_the_quarterly_returns(workspace: Workspace, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # Q3 and Q4 first (a batch, so neither is checked against the other's actuals); with
    # Q1 and Q2 still missing, only a report below their sum is certainly wrong
    code, reports = ingest_json(capsys, *_quarterly_returns(workspace.root, tmp_path, {3: 2, 4: 1}))
    assert code == 0 and [r["status"] for r in reports] == ["accepted", "accepted"], reports
    files = generate_annual(workspace.root)
    base = clean_annual(workspace.root, "North", seed=6, placements=3)
    made = {}
    for n in (2, 3, 4, 5):
        made[n] = tmp_path / f"annual {n}.xlsx"
        fill_openpyxl(files["North"], made[n], {**base, "placements_outside_ks": n})

    def check() -> dict[int, FileReport]:
        return dict(zip(made, validate_files(list(made.values()), workspace), strict=True))

    reports_a = check()
    [w] = reports_a[2].findings
    assert (w.code, w.severity, w.cell, w.name) == ("A-W301", "warning", SPEC["placements_outside_ks"].cell,
                                                    "placements_outside_ks")
    assert "gives 2 pupils" in w.message and "Q3 and Q4 (Q1 and Q2 are not in yet) add up to 3" in w.message
    assert reports_a[2].status == "accepted_with_warnings"
    assert [reports_a[n].findings for n in (3, 4, 5)] == [[], [], []]
    # once the whole year is in, the report must say exactly what the quarters said
    code, reports_q = ingest_json(capsys, *_quarterly_returns(workspace.root, tmp_path, {1: 0, 2: 1}))
    assert code == 0 and {r["status"] for r in reports_q} == {"accepted"}, reports_q
    reports_b = check()
    assert reports_b[4].findings == [] and reports_b[4].status == "accepted"
    for n in (2, 3, 5):
        [w] = reports_b[n].findings
        assert w.code == "A-W301" and f"gives {n} pupils" in w.message, n
        assert "Q1, Q2, Q3 and Q4 add up to 4" in w.message and "not in yet" not in w.message


# ---------------------------------------------------------------- ingest, status and feedback


def test_ingest_status_and_feedback_for_an_annual_report(workspace: Workspace, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    files = generate_annual(workspace.root)
    values = clean_annual(workspace.root, "North", seed=7)
    boys = values["gender_boys_pupils"]
    first = tmp_path / "inbox" / "north annual.xlsx"
    fill_openpyxl(files["North"], first, {**values, "gender_boys_pupils": boys + 2, "ehcp_explanation": None,
                                          "send_ehcp_pupils": 1,
                                          "send_none_pupils": values["send_none_pupils"] + values["send_ehcp_pupils"] - 1})
    code, [r] = ingest_json(capsys, first)
    assert code == 1 and r["status"] == "rejected" and r["version"] == 1
    assert r["return"]["kind"] == "annual" and r["return"]["quarter"] is None
    assert r["return"]["template"] == "pbp-annual-report" and r["return"]["partnership"] == "North"
    assert sorted(f["code"] for f in r["findings"]) == ["A-E201", "A-E205"]
    assert (workspace.root / r["archived"]).read_bytes() == first.read_bytes()
    feedback = Path(r["feedback"])
    assert feedback.exists() and feedback.parent.name == f"{YEAR} Annual"
    wb = openpyxl.load_workbook(feedback)
    assert wb.sheetnames[:3] == ["Instructions", "Report", "Checks"] and "Issues" in wb.sheetnames
    report = wb["Report"]
    marked = report[SPEC["gender_total_pupils"].cell]
    assert marked.comment is not None and "A-E201" in marked.comment.text
    assert report[SPEC["ehcp_explanation"].cell].comment is not None
    assert report[SPEC["overall_summary"].cell].value == values["overall_summary"]  # their own words kept
    issues = [row for row in wb["Issues"].iter_rows(min_row=5, values_only=True) if row[0]]
    assert sorted(row[0] for row in issues) == ["A-E201", "A-E205"]
    # status: the annual period is listed, rejected, for North only
    capsys.readouterr()
    assert main(["status", "--year", YEAR, "--json"]) == 0
    rows = [row for row in json.loads(capsys.readouterr().out) if row["kind"] == "annual"]
    assert [row["partnership"] for row in rows] == list(PARTNERSHIPS)
    north = next(row for row in rows if row["partnership"] == "North")
    assert (north["state"], north["quarter"], north["period"], north["due"]) == ("rejected", None, f"{YEAR} annual",
                                                                                 "2026-05-31")
    assert {row["state"] for row in rows if row["partnership"] != "North"} == {"missing"}
    # the partnership fixes the feedback workbook and sends it back: version 2, the official one
    second = tmp_path / "inbox" / "north annual v2.xlsx"
    fill_openpyxl(feedback, second, {"gender_boys_pupils": boys,
                                     "ehcp_explanation": annual_samples.EHCP_EXPLANATION})
    code, [r2] = ingest_json(capsys, second)
    assert (code, r2["status"], r2["version"], r2["findings"]) == (0, "accepted", 2, [])
    assert "feedback" not in r2
    assert main(["status", "--year", YEAR, "--json"]) == 0
    north = next(row for row in json.loads(capsys.readouterr().out)
                 if row["kind"] == "annual" and row["partnership"] == "North")
    assert (north["state"], north["official_version"], north["received"]) == ("accepted", 2, 2)


def test_generate_annual_refuses_a_quarter(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "annual", "--year", YEAR, "--quarter", "2"]) == 2
    assert "no quarter" in capsys.readouterr().err


def test_spec_file_ships_and_declares_its_prefix() -> None:
    with (data_dir("workbook_templates") / "annual.toml").open("rb") as fh:
        data = tomllib.load(fh)
    assert data["template"]["code_prefix"] == "A" and data["template"]["kind"] == "annual"
    assert "annual" in spec_mod.available()
    assert len(SPEC.instructions) >= 5


# ---------------------------------------------------------------- the machinery the annual spec needed


def _tiny(**sheet: Any) -> dict[str, Any]:
    return {
        "template": {"id": "t", "version": "1", "kind": "t", "code_prefix": "T", "title": "T", "short_title": "T",
                     "return_to": "x", "toolkit": "x", "file_name": "x"},
        "sheet": {"name": "S", "widths": [30, 10, 10, 10, 10], **sheet},
        "section": [{"key": "g", "title": "G", "kind": "grid",
                     "row": [{"key": "pct", "label": "A percentage", "max": 100, "help": "0 to 100"},
                             {"key": "count", "label": "A count"}],
                     "column": [{"key": "value", "label": "Value", "type": "number", "source": "ledger.q4.x_{row}"},
                                {"key": "note", "label": "Note", "type": "text", "span": 3, "lines": 2}]}],
    }


def test_number_type_row_ranges_wide_columns_and_orientation() -> None:
    s = spec_mod.build(_tiny(orientation="portrait"), "tiny")
    pct, count, note = s["g_pct_value"], s["g_count_value"], s["g_pct_note"]
    assert (pct.type, pct.min, pct.max, pct.help) == ("number", 0, 100, "0 to 100")
    assert (count.min, count.max) == (0, spec_mod.NUMBER_MAX)  # a row without limits keeps the column's
    assert (pct.source, count.source) == ("ledger.q4.x_pct", "ledger.q4.x_count")
    assert (note.col, note.span, note.lines, note.max) == (2, 3, 2, None)  # text is not narrowed
    assert [t.span for t in s.texts if t.style == "header" and t.text == "Note"] == [3]
    assert s.orientation == "portrait" and spec_mod.build(_tiny(), "tiny").orientation == "landscape"
    with pytest.raises(SpecError, match="orientation"):
        spec_mod.build(_tiny(orientation="sideways"), "tiny")
    wide = _tiny()
    wide["section"][0]["column"][1]["span"] = 4  # 1 + 4 columns on a sheet with 4 beside the labels
    with pytest.raises(SpecError, match="do not fit"):
        spec_mod.build(wide, "tiny")
    assert calc.format_value(pct, Decimal("92.50")) == "92.5" and calc.format_value(pct, Decimal("12.0")) == "12"


def test_next_years_balance_brought_forward_follows_the_annual_report(workspace: Workspace, tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Toolkit section 4 (accurate carry-forward records): the annual report is where the
    year-end figure is corrected, so next year's balance brought forward is checked against
    its year-end balance where the LA accepted one, else the Q4 return's; the finding says which."""
    from pbp_workbooks.ledger.history import expected_prior

    [q4] = _quarterly_returns(workspace.root, tmp_path, {4: 0})
    assert ingest_json(capsys, q4)[1][0]["status"] == "accepted"
    q4_closing = calc.compute(QSPEC, {**typed_values(QSPEC, json.dumps(_values_of(workspace, "quarterly", 4))),
                                      "dsg_allocation": Decimal("412500.00")})["forecast_balance"]
    next_year = "2026-27"
    with workspace_env(workspace.root):
        assert main(["generate", "quarterly", "--year", next_year, "--quarter", "1"]) == 0
    src = next((workspace.root / "outbox" / f"{next_year} Q1").glob("* - North - *.xlsx"))
    assert Decimal(repr(openpyxl.load_workbook(src)["Return"][QSPEC["balance_bf"].cell].value)) == q4_closing
    values = clean_values(QSPEC, 1, Decimal("412500.00"), seed=61, year=next_year)

    def send(name: str, balance_bf: Decimal) -> dict[str, Any]:
        fill_openpyxl(src, tmp_path / name, {**values, "balance_bf": balance_bf})
        _, [r] = ingest_json(capsys, tmp_path / name)
        return r

    [f] = of(send("q1 from q4.xlsx", q4_closing + Decimal("1.00")), "Q-E301")
    assert f"{YEAR} Q4 return the LA accepted" in f["message"] and "difference £1.00" in f["message"]
    # the annual report corrects the year's spending: its year-end balance is £250 higher
    files = generate_annual(workspace.root)
    annual = clean_annual(workspace.root, "North", seed=5)
    annual["spend_transport_actual"] -= Decimal("250.00")
    fill_openpyxl(files["North"], tmp_path / "annual.xlsx", annual)
    _, [a] = ingest_json(capsys, tmp_path / "annual.xlsx")
    assert a["status"] == "accepted_with_warnings", a["findings"]
    year_end = q4_closing + Decimal("250.00")
    with Ledger(workspace.ledger_path) as ledger:  # what a Q1 issued from now on is pre-filled with
        assert expected_prior(ledger, QSPEC, FinancialYear.parse(next_year), 1, "North")["balance_bf"] == year_end
    [f] = of(send("q1 from annual.xlsx", q4_closing), "Q-E301")
    assert f"{YEAR} annual report the LA accepted" in f["message"] and format_gbp(year_end) in f["message"]
    assert not of(send("q1 right.xlsx", year_end), "Q-E301")
