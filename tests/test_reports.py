"""`pbp report partnership` and `pbp report schools-forum` on real files.

Every figure in the reports is worked out here again from the input cells of the returns
that were accepted (read by defined name with openpyxl, summed by tests/by_hand.py; no
call to calc, figures or the consolidation code) and must equal the report to the penny.
A missing or rejected return is said in words and its figures are blank, never zero.

Partnership reports (scenario of test_consolidate, 2025-26 Q2): North -- Q1 and Q2 accepted;
West -- Q2 accepted, Q1 never sent; South -- Q1 accepted, Q2 rejected; Central -- nothing.
Schools Forum (2025-26): Q4 returns accepted from North, East and South, West's missing,
Central's rejected; annual reports accepted from North, East and West, South's never sent,
Central's rejected.
"""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import by_hand
import openpyxl
import pytest
from fill import clean_values, fill_openpyxl, read_inputs, workspace_env
from test_consolidate import PARTNERSHIPS, Scenario, allocation, build_scenario, pence

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import annual_samples
from pbp_workbooks.ledger.history import typed_values
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.reports.suppression import MARKER, THRESHOLD
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("quarterly")
ANNUAL = spec_mod.load("annual")
ROWS = next(s for s in SPEC.sections if s.key == "exp").row_keys
LABELS = dict(zip(ROWS, next(s for s in SPEC.sections if s.key == "exp").row_labels, strict=True))
KPIS = next(s for s in ANNUAL.sections if s.key == "kpi").row_keys
BETTER = {"attendance": "higher", "reintegration": "higher", "incidents": "lower", "self_esteem": "higher",
          "stay_weeks": "lower", "exclusions": "lower"}
YEAR = "2025-26"
FY = FinancialYear.parse(YEAR)
CENT = Decimal("0.01")


def money(v: Any) -> Decimal:
    return Decimal(v).quantize(CENT)


def report_path(root: Path, partnership: str) -> Path:
    return root / "reports" / f"{YEAR} Q2" / "partnership reports" / f"PBP partnership report {YEAR} Q2 - {partnership}.xlsx"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PBP_WORKSPACE", raising=False)
        sc = build_scenario(tmp_path_factory.mktemp("reports"))
        with workspace_env(sc.ws.root):
            assert main(["report", "partnership", "--year", YEAR, "--quarter", "2"]) == 0
        return sc


def cells(path: Path) -> list[list[Any]]:
    ws = openpyxl.load_workbook(path, data_only=True)["Report"]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def row_after(rows: list[list[Any]], heading: str) -> int:
    """Index of the first row after the row whose column A is ``heading``."""
    return next(i for i, r in enumerate(rows) if r[0] == heading) + 1


def label_value(rows: list[list[Any]], label: str) -> Any:
    return next(r[1] for r in rows if r[0] == label)


# --------------------------------------------------------------------------- partnership reports


def test_one_report_per_partnership(scenario: Scenario) -> None:
    for p in PARTNERSHIPS:
        assert report_path(scenario.ws.root, p).is_file(), p


@pytest.mark.parametrize("partnership", ["North", "East", "West"])
def test_budget_against_actual_by_category_reconciles(scenario: Scenario, partnership: str) -> None:
    v = read_inputs(scenario.accepted[(2, partnership)])
    rows = cells(report_path(scenario.ws.root, partnership))
    head = next(i for i, r in enumerate(rows) if r[0] == "Category")
    assert rows[head][1:10] == ["Annual budget", "Actual Q1", "Actual Q2", "Actual Q3", "Actual Q4", "Actual to date",
                               "Forecast rest of year", "Forecast outturn", "Variance (+ over budget, − under)"]
    body = {r[0]: r for r in rows[head + 1:head + 1 + len(ROWS) + 1]}
    assert list(body) == [*LABELS.values(), "Total"]
    for key, label in LABELS.items():
        r = body[label]
        assert pence(r[1]) == money(by_hand.amount(v, f"exp_{key}_budget"))
        assert pence(r[2]) == money(by_hand.amount(v, f"exp_{key}_q1"))
        assert pence(r[3]) == money(by_hand.amount(v, f"exp_{key}_q2"))
        assert r[4] is None and r[5] is None  # later quarters are blank, not zero
        assert pence(r[6]) == money(by_hand.to_date(v, key))
        assert pence(r[7]) == money(by_hand.amount(v, f"exp_{key}_forecast"))
        assert pence(r[8]) == money(by_hand.outturn(v, key))
        assert pence(r[9]) == money(by_hand.variance(v, key))
    total = body["Total"]
    assert pence(total[6]) == money(sum(by_hand.to_date(v, k) for k in ROWS))
    assert pence(total[8]) == money(sum(by_hand.outturn(v, k) for k in ROWS))
    assert pence(total[9]) == money(sum(by_hand.variance(v, k) for k in ROWS))


@pytest.mark.parametrize("partnership", ["North", "East", "West"])
def test_balance_surplus_plan_and_items_reconcile(scenario: Scenario, partnership: str) -> None:
    v = read_inputs(scenario.accepted[(2, partnership)])
    rows = cells(report_path(scenario.ws.root, partnership))
    assert pence(label_value(rows, "Total income available")) == money(by_hand.income(v))
    assert pence(label_value(rows, "Forecast year-end balance")) == money(by_hand.forecast_balance(v, ROWS))
    assert pence(label_value(rows, "Total planned use of surplus")) == money(by_hand.surplus_planned(v))
    assert pence(label_value(rows, f"DSG allocation {YEAR}")) == allocation(partnership)
    first = row_after(rows, "Item")
    listed = [r for r in rows[first:] if isinstance(r[0], str) and r[0].startswith("Item ")]
    expected = [money(by_hand.amount(v, f"items_{n}_amount")) for n in range(1, 10)
                if v.get(f"items_{n}_amount") not in (None, "")]
    assert [pence(r[5]) for r in listed] == expected


def test_placements_per_quarter_from_each_quarters_return(scenario: Scenario) -> None:
    for p in ("North", "West"):
        rows = cells(report_path(scenario.ws.root, p))
        first = next(i for i, r in enumerate(rows) if r[0] == "Quarter" and r[1] == "Placements") + 1
        got = {rows[first][0]: rows[first][1], rows[first + 1][0]: rows[first + 1][1]}
        for q in (1, 2):
            if (q, p) not in scenario.accepted:
                assert got[f"Q{q}"] == "no accepted return", (p, q)
                continue
            n = int(read_inputs(scenario.accepted[(q, p)]).get("placements_outside_ks") or 0)
            assert got[f"Q{q}"] in ((MARKER,) if 1 <= n < THRESHOLD else (n, MARKER)), (p, q, n)
        assert rows[first + 2][0] == "Year so far"


def test_data_status_names_the_returns_and_the_gaps(scenario: Scenario) -> None:
    rows = cells(report_path(scenario.ws.root, "West"))
    status = {r[0][:2]: r[1] for r in rows[row_after(rows, "Quarter"):][:2]}
    assert status["Q1"].startswith("MISSING") and status["Q2"].startswith("Accepted v1")
    rows = cells(report_path(scenario.ws.root, "North"))
    status = {r[0][:2]: (r[1].removesuffix(" (late)"), r[4]) for r in rows[row_after(rows, "Quarter"):][:2]}
    assert status["Q1"] == ("Accepted v1", scenario.accepted[(1, "North")].name)
    assert status["Q2"] == ("Accepted v1", scenario.accepted[(2, "North")].name)


@pytest.mark.parametrize("partnership", ["South", "Central"])
def test_a_missing_or_rejected_return_gives_no_figures_never_zero(scenario: Scenario, partnership: str) -> None:
    rows = cells(report_path(scenario.ws.root, partnership))
    text = " ".join(str(x) for r in rows for x in r if x is not None)
    assert "No figures: the LA has no accepted 2025-26 Q2 return" in text
    assert ("REJECTED" if partnership == "South" else "MISSING") in text
    assert "Category" not in [r[0] for r in rows]
    numbers = [x for r in rows for x in r if isinstance(x, int | float) and not isinstance(x, bool)]
    # only South's Q1 placements (a count from its accepted Q1 return) may be a number
    assert len(numbers) <= (2 if partnership == "South" else 0), numbers


def test_the_chart_draws_the_category_rows(scenario: Scenario) -> None:
    path = report_path(scenario.ws.root, "North")
    rows = cells(path)
    first = next(i for i, r in enumerate(rows) if r[0] == "Category") + 2  # 1-based first category row
    last = first + len(ROWS) - 1
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/charts/chart1.xml").decode()
    assert f"Report!$A${first}:$A${last}" in xml
    for col in ("B", "G", "I"):
        assert f"Report!${col}${first}:${col}${last}" in xml


# --------------------------------------------------------------------------- Schools Forum


class Forum:
    def __init__(self, root: Path) -> None:
        assert main(["init", str(root), "--password", "pw"]) == 0
        self.root = root.resolve()
        with workspace_env(self.root):
            assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "4"]) == 0
            assert main(["generate", "annual", "--year", YEAR]) == 0
        q4 = {p.name.split(" - ")[1]: p for p in (self.root / "outbox" / f"{YEAR} Q4").glob("*.xlsx")}
        annual = {p.name.split(" - ")[1]: p for p in (self.root / "outbox" / f"{YEAR} Annual").glob("*.xlsx")}
        self.q4: dict[str, Path] = {}
        for i, p in enumerate(["North", "East", "South", "Central"]):
            v = clean_values(SPEC, 4, allocation(p), seed=900 + i)
            if p == "Central":
                v["email"] = "not an email"  # rejected
            self.q4[p] = root / "inbox" / "q4" / q4[p].name
            fill_openpyxl(q4[p], self.q4[p], v)
        self.annual: dict[str, Path] = {}
        params = Thresholds().params()
        with Ledger(Workspace(self.root).ledger_path) as ledger:
            issued = {i.partnership: i for i in ledger.issued_for("annual", YEAR, None)}
        for i, p in enumerate(["North", "East", "West", "Central"]):
            v = annual_samples.filled_values(ANNUAL, FY, typed_values(ANNUAL, issued[p].prefill_json), seed=70 + i,
                                             params=params, ehcp=0, placements=2 if p == "East" else 0)
            v = {k: x for k, x in v.items() if ANNUAL[k].is_input}
            if p == "Central":
                v["gender_girls_pupils"] += 1  # pupils by gender do not add up: rejected
            self.annual[p] = root / "inbox" / "annual" / annual[p].name
            fill_openpyxl(annual[p], self.annual[p], v)
        with workspace_env(self.root):
            assert main(["ingest", *map(str, self.q4.values()), *map(str, self.annual.values())]) == 1
            assert main(["report", "schools-forum", "--year", YEAR]) == 0
            assert main(["consolidate", "--year", YEAR]) == 0
        self.path = self.root / "reports" / YEAR / f"PBP Schools Forum report {YEAR}.xlsx"


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> Forum:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PBP_WORKSPACE", raising=False)
        return Forum(tmp_path_factory.mktemp("forum") / "ws")


def forum_table(path: Path) -> tuple[list[Any], dict[str, list[Any]]]:
    rows = cells(path)
    head = next(i for i, r in enumerate(rows) if r[0] == "Partnership")
    body = {str(r[0]): r for r in rows[head + 1:head + 1 + len(PARTNERSHIPS) + 1]}
    return rows[head], body


def test_forum_money_comes_from_the_q4_returns(forum: Forum) -> None:
    header, body = forum_table(forum.path)
    assert list(body) == [*PARTNERSHIPS, "LA total"]
    col = {h: j for j, h in enumerate(header) if h}
    totals = {"alloc": Decimal(0), "spend": Decimal(0), "balance": Decimal(0)}
    for p in ("North", "East", "South"):
        v = read_inputs(forum.q4[p])
        r = body[p]
        spend = money(sum(by_hand.to_date(v, k) for k in ROWS))
        balance = money(by_hand.forecast_balance(v, ROWS))
        assert pence(r[col["DSG allocation"]]) == allocation(p)
        assert pence(r[col["Spend for the year (Q1–Q4)"]]) == spend
        assert pence(r[col["Year-end balance"]]) == balance
        assert r[col["Q4 return"]].startswith("Accepted v1")
        totals["alloc"] += allocation(p)
        totals["spend"] += spend
        totals["balance"] += balance
    for p, word in (("West", "MISSING"), ("Central", "REJECTED")):
        r = body[p]
        assert r[col["Q4 return"]].startswith(word)
        assert [r[col[h]] for h in ("DSG allocation", "Spend for the year (Q1–Q4)", "Year-end balance")] == \
            [None, None, None]  # blank, never zero
    la = body["LA total"]
    assert pence(la[col["DSG allocation"]]) == totals["alloc"]
    assert pence(la[col["Spend for the year (Q1–Q4)"]]) == totals["spend"]
    assert pence(la[col["Year-end balance"]]) == totals["balance"]


def test_forum_kpis_and_pupils_come_from_the_annual_reports(forum: Forum) -> None:
    header, body = forum_table(forum.path)
    col = {h: j for j, h in enumerate(header) if h}
    published = _published_pupils(forum)
    met_total = 0
    for p in ("North", "East", "West"):
        v = read_inputs(forum.annual[p])
        met = sum(1 for k in KPIS if (v[f"kpi_{k}_actual"] >= v[f"kpi_{k}_target"] if BETTER[k] == "higher"
                                      else v[f"kpi_{k}_actual"] <= v[f"kpi_{k}_target"]))
        r = body[p]
        assert r[col["KPI targets met"]] == met and r[col["KPIs with a target and a result"]] == len(KPIS)
        met_total += met
        pupils = int(v["pupils_supported"])
        shown = r[col["Pupils supported"]]
        assert shown == MARKER if 1 <= pupils < THRESHOLD else shown in (pupils, MARKER)
        assert shown == published[p]  # the same suppression as the LA workbook's published sheets
        assert r[col["Schools supported"]] == int(v["schools_supported"])
        assert r[col["Pupils placed outside key stage"]] == (MARKER if p == "East" else 0)  # 2 pupils: suppressed
    for p in ("South", "Central"):
        r = body[p]
        assert r[col["KPI targets met"]] is None and r[col["Pupils supported"]] is None
        assert r[col["Annual report"]].startswith("MISSING" if p == "South" else "REJECTED")
    assert body["LA total"][col["KPI targets met"]] == met_total


def _published_pupils(forum: Forum) -> dict[str, Any]:
    """Pupils supported as the consolidated workbook's published Annual delivery sheet shows them."""
    wb = openpyxl.load_workbook(forum.root / "reports" / f"{YEAR} Q4" / f"PBP consolidated {YEAR} Q4.xlsx",
                                data_only=True)
    rows = [list(r) for r in wb["Annual delivery"].iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(rows) if r[0] == "Partnership")
    j = rows[head].index("Pupils supported")
    return {r[0]: r[j] for r in rows[head + 1:] if r[0] in PARTNERSHIPS}


def test_forum_kpi_grid_says_met_or_not_in_words(forum: Forum) -> None:
    rows = cells(forum.path)
    head = next(i for i, r in enumerate(rows) if r[0] == "Indicator")
    assert rows[head][2:8] == [*PARTNERSHIPS, "Met by"]
    grid = rows[head + 1:head + 1 + len(KPIS)]
    for i, k in enumerate(KPIS):
        for j, p in enumerate(PARTNERSHIPS, start=2):
            if p not in ("North", "East", "West"):
                assert grid[i][j] == "No data"
                continue
            v = read_inputs(forum.annual[p])
            a, t = v[f"kpi_{k}_actual"], v[f"kpi_{k}_target"]
            assert grid[i][j] == ("Met" if (a >= t if BETTER[k] == "higher" else a <= t) else "Not met")
        assert grid[i][7] == f"{sum(1 for x in grid[i][2:7] if x == 'Met')} of 3"


def test_forum_charts_draw_the_partnership_rows(forum: Forum) -> None:
    rows = cells(forum.path)
    first = next(i for i, r in enumerate(rows) if r[0] == "Partnership") + 2
    last = first + len(PARTNERSHIPS) - 1
    with zipfile.ZipFile(forum.path) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
    assert len(charts) == 3
    for xml in charts:
        assert f"Report!$A${first}:$A${last}" in xml


def test_forum_before_q4_is_issued_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("PBP_WORKSPACE", raising=False)
    assert main(["init", str(tmp_path / "ws"), "--password", "pw"]) == 0
    with workspace_env(tmp_path / "ws"):
        assert main(["report", "schools-forum", "--year", YEAR]) == 2  # nothing issued at all
        assert "no quarterly returns have been issued for 2025-26" in capsys.readouterr().err
        assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "1"]) == 0
        capsys.readouterr()
        assert main(["report", "schools-forum", "--year", YEAR]) == 0
    assert "(Q4 not issued yet)" in capsys.readouterr().out
    _header, body = forum_table(tmp_path / "ws" / "reports" / YEAR / f"PBP Schools Forum report {YEAR}.xlsx")
    assert all(body[p][2] == "Q4 NOT ISSUED" and body[p][3] is None for p in PARTNERSHIPS)


# --------------------------------------------------------------------------- errors and PDFs


def test_report_errors_are_one_line(scenario: Scenario, capsys, tmp_path: Path) -> None:
    with workspace_env(scenario.ws.root):
        assert main(["report", "partnership", "--year", YEAR, "--quarter", "3"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Q3 was never issued" in err
        blocker = tmp_path / "file"
        blocker.write_text("x")
        assert main(["report", "schools-forum", "--year", YEAR, "--out", str(blocker / "sub")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot create the output folder" in err


def test_pdf_without_libreoffice_is_a_clear_one_line_error(scenario: Scenario, capsys, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBP_SOFFICE", str(tmp_path / "no-soffice"))
    out = tmp_path / "out"
    with workspace_env(scenario.ws.root):
        assert main(["report", "partnership", "--year", YEAR, "--quarter", "2", "--out", str(out), "--pdf"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "LibreOffice is not installed" in err and "Traceback" not in err
    assert len(list(out.glob("*.xlsx"))) == 5 and not list(out.glob("*.pdf"))  # the workbooks are there


def pdf_pages(path: Path) -> list[str]:
    """Each page's text, as poppler's pdftotext reads it; and every page must be A4."""
    import subprocess

    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "99", str(path)], capture_output=True, text=True,
                          check=True).stdout
    n = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])  # type: ignore[index]
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info, re.M)
    assert len(sizes) == n and all(sorted((round(float(w)), round(float(h)))) == [595, 842] for w, h in sizes), sizes
    return [subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(path), "-"], capture_output=True,
                           text=True, check=True).stdout for i in range(1, n + 1)]


@pytest.mark.libreoffice
def test_pdfs_are_a4_with_the_report_and_period_on_every_page(scenario: Scenario, forum: Forum, tmp_path: Path,
                                                              capsys) -> None:
    from libreoffice import unavailable_reason

    if unavailable_reason():
        pytest.skip(unavailable_reason() or "")
    out = tmp_path / "partnership"
    with workspace_env(scenario.ws.root):
        assert main(["report", "partnership", "--year", YEAR, "--quarter", "2", "--out", str(out), "--pdf"]) == 0
    with workspace_env(forum.root):
        assert main(["report", "schools-forum", "--year", YEAR, "--out", str(tmp_path / "forum"), "--pdf"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("pdf:       ") == 6
    pdfs = sorted(out.glob("*.pdf"))
    assert [p.stem for p in pdfs] == sorted(p.stem for p in out.glob("*.xlsx")) and len(pdfs) == 5
    for pdf, title, period in [
        *((p, f"{p.stem.rsplit(' - ', 1)[1]} Neighbourhood Partnership – PBP termly report",
           "2025-26 Quarter 2 (July to September)") for p in pdfs),
        (tmp_path / "forum" / f"PBP Schools Forum report {YEAR}.pdf", "Primary Behaviour Provisions: annual report to "
         "Schools Forum", "2025-26 (April 2025 to March 2026)")]:
        pages = pdf_pages(pdf)
        assert 1 <= len(pages) <= 4, (pdf.name, len(pages))
        for i, text in enumerate(pages, start=1):
            assert title in text and period in text, (pdf.name, i, text[:300])
            assert f"Page {i} of {len(pages)}" in text, (pdf.name, i)
    north = pdf_pages(out / f"PBP partnership report {YEAR} Q2 - North.pdf")
    assert len(north) >= 2  # the category table, chart, balance, items and placements do not fit on one page
    whole = "".join(north)
    for heading in ("The returns this report rests on", "Budget against actual to date and forecast, by category",
                    "Balance and planned use of surplus", "Pupils placed outside their key stage"):
        assert heading in whole, heading
