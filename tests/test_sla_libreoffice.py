"""LibreOffice as a member school's spreadsheet: it fills an SLA review as a person would and
saves it; the LA reads the file it saved by name and accepts it (or warns, as the Checks sheet
LibreOffice computed says); its drop-downs refuse an answer that is not one of the five; the
review prints on one A4 page, full boxes included."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from fill import validate_files
from libreoffice import LibreOffice, ValidationRejectedError

from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import sla_samples
from pbp_workbooks.spec import model as spec_mod

pytestmark = pytest.mark.libreoffice

SPEC = spec_mod.load("sla-review")
YEAR = "2025-26"
FY = FinancialYear.parse(YEAR)


@pytest.fixture
def review(workspace: Workspace) -> Path:
    assert main(["generate", "sla-review", "--year", YEAR]) == 0
    return next((workspace.root / "outbox" / f"{YEAR} SLA review").glob("* - North - *.xlsx"))


def test_filled_in_libreoffice_and_accepted(libreoffice: LibreOffice, workspace: Workspace, review: Path,
                                            tmp_path: Path) -> None:
    values = sla_samples.filled_values(SPEC, FY, seed=1, disagree=False)
    libreoffice.fill(review, tmp_path / "clean.xlsx", values)
    assert openpyxl.load_workbook(tmp_path / "clean.xlsx", data_only=True)["Checks"]["B4"].value == "Ready to send"
    [report] = validate_files([tmp_path / "clean.xlsx"], workspace)
    assert (report.status, report.findings) == ("accepted", [])

    values = values | {"statements_practice_answer": "Strongly disagree"}
    values.pop("how_do_you_know", None)
    libreoffice.fill(review, tmp_path / "disagree.xlsx", values)
    checks = openpyxl.load_workbook(tmp_path / "disagree.xlsx", data_only=True)["Checks"]
    assert checks["B4"].value == "Ready to send"  # a warning says "Look": the LA accepts it
    looks = [checks.cell(r, 1).value for r in range(7, 7 + 20) if checks.cell(r, 2).value == "Look"]
    assert looks == ["Say how you know (3a) when you disagree: 3. The current Service Level Agreement reflects the "
                     "day-to-day practice in the Behaviour Provision"]
    [report] = validate_files([tmp_path / "disagree.xlsx"], workspace)
    assert report.status == "accepted_with_warnings" and [f.code for f in report.findings] == ["R-W201"]


def test_drop_downs_refuse_other_answers(libreoffice: LibreOffice, review: Path, tmp_path: Path) -> None:
    with pytest.raises(ValidationRejectedError):
        libreoffice.fill(review, tmp_path / "a.xlsx", {"statements_vision_answer": "Mostly agree"})
    with pytest.raises(ValidationRejectedError):
        libreoffice.fill(review, tmp_path / "b.xlsx", {"strengths": "x" * 1001})
    libreoffice.fill(review, tmp_path / "c.xlsx", {"statements_vision_answer": "Strongly disagree",
                                                   "strengths": "x" * 1000})


def test_the_review_prints_on_one_a4_page_with_full_boxes(libreoffice: LibreOffice, review: Path,
                                                          tmp_path: Path) -> None:
    assert libreoffice.pdf_pages(review, tmp_path / "blank.pdf", SPEC.sheet) == 1
    full = {f.name: ("We have seen the provision's outreach work in our classrooms this year. " * 20)[:f.max_length]
            for f in SPEC.inputs() if f.type == "text" and (f.max_length or 0) >= 1000}
    libreoffice.fill(review, tmp_path / "full.xlsx", full)
    assert libreoffice.pdf_pages(tmp_path / "full.xlsx", tmp_path / "full.pdf", SPEC.sheet) == 1
