"""The annual overview of `pbp consolidate` (no --quarter) and small-number suppression.

Scenario (2025-26): Q1 quarterly returns issued (none back yet); annual reports issued to
all five partnerships; North, East and South send clean reports (South with 3 pupils in
EYFS), West's is rejected (pupils by gender do not add up), Central never sends one.
Every figure of the overview is recomputed here from the input cells of the ingested
files (openpyxl, by defined name), not by the package's calc or consolidation code.
"""

from __future__ import annotations

import csv
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fill import fill_openpyxl, read_inputs, workspace_env
from hypothesis import given, settings
from hypothesis import strategies as st

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.demo import annual_samples
from pbp_workbooks.ledger.history import typed_values
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.reports import suppression
from pbp_workbooks.reports.suppression import MARKER
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("annual")
YEAR = "2025-26"
FY = FinancialYear.parse(YEAR)
PARTNERSHIPS = ["North", "East", "South", "West", "Central"]
ACCEPTED = ["North", "East", "South"]
BREAKDOWNS = {s.key: s for s in SPEC.sections if s.key in ("gender", "ethnicity", "send", "keystage")}
KPI = next(s for s in SPEC.sections if s.key == "kpi")
METHODS = next(s for s in SPEC.sections if s.key == "methods")
BETTER = {"attendance": "higher", "reintegration": "higher", "incidents": "lower", "self_esteem": "higher",
          "stay_weeks": "lower", "exclusions": "lower"}


# --------------------------------------------------------------------------- suppression, property-style

breakdowns = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8)


@settings(max_examples=400, deadline=None)
@given(breakdowns)
def test_a_published_total_never_gives_back_a_suppressed_cell(counts: list[int]) -> None:
    s = suppression.suppress(counts)
    hidden = [n for n, h in zip(counts, s.cells, strict=True) if h]
    for n, h in zip(counts, s.cells, strict=True):
        if 1 <= n <= 4:
            assert h, (counts, s)  # every small count is suppressed
        if n == 0:
            assert not h, (counts, s)  # zero stays 0
    if 1 <= sum(counts) <= 4:
        assert s.total
    if not s.total:
        # 0 or at least 2 suppressed, and not all of them 1 (each is known to be >= 1)
        assert len(hidden) != 1, (counts, s)
        assert not hidden or sum(hidden) > len(hidden), (counts, s)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=9), min_size=2, max_size=5))
def test_no_suppressed_cell_is_determined_by_the_published_numbers(counts: list[int]) -> None:
    """Brute force: every way of filling the suppressed cells (each >= 1, zero is shown)
    that agrees with the published total leaves each suppressed cell with 2+ possible values."""
    s = suppression.suppress(counts)
    if s.total:
        return
    total = sum(counts)
    idx = [i for i, h in enumerate(s.cells) if h]
    visible = sum(n for n, h in zip(counts, s.cells, strict=True) if not h)
    solutions = [combo for combo in itertools.product(range(1, total + 1), repeat=len(idx))
                 if sum(combo) + visible == total]
    for k in range(len(idx)):
        assert len({combo[k] for combo in solutions}) >= 2 or not idx, (counts, s)


def test_secondary_suppression_picks_the_next_smallest() -> None:
    assert suppression.apply([3, 10, 7]) == (["c", 10, "c"], 20)
    assert suppression.apply([0, 12, 9]) == ([0, 12, 9], 21)
    assert suppression.apply([3, 0, 0]) == (["c", 0, 0], "c")  # a total of 1 to 4 is itself suppressed
    assert suppression.apply([2, 2, 30]) == (["c", "c", 30], 34)
    assert suppression.apply([1, 1, 30]) == (["c", "c", "c"], 32)  # 1 + 1 = 2 would give both away


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=5).flatmap(
    lambda m: st.lists(st.lists(st.integers(min_value=0, max_value=30), min_size=m, max_size=m), min_size=1,
                       max_size=5)))
def test_tables_protect_every_row_and_column(rows: list[list[int]]) -> None:
    t = suppression.suppress_table(rows)
    lines = [([*r, sum(r)], [*t.cells[i], t.row_totals[i]]) for i, r in enumerate(rows)]
    cols = [[r[j] for r in rows] for j in range(len(rows[0]))]
    lines += [([*c, sum(c)], [*(t.cells[i][j] for i in range(len(rows))), t.col_totals[j]])
              for j, c in enumerate(cols)]
    for values, hidden in lines:
        assert all(h for v, h in zip(values, hidden, strict=True) if 1 <= v <= 4)
        assert not any(h for v, h in zip(values, hidden, strict=True) if v == 0)
        assert sum(hidden) != 1, (rows, t)


# --------------------------------------------------------------------------- the scenario


def issued_prefill(root: Path, partnership: str) -> dict[str, Any]:
    with Ledger(Workspace(root).ledger_path) as ledger:
        [issued] = [i for i in ledger.issued_for("annual", YEAR, None) if i.partnership == partnership]
    return typed_values(SPEC, issued.prefill_json)


class Scenario:
    def __init__(self, root: Path) -> None:
        assert main(["init", str(root), "--password", "pw"]) == 0
        self.root = root.resolve()
        with workspace_env(self.root):
            assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "1"]) == 0
            assert main(["generate", "annual", "--year", YEAR]) == 0
        files = {p.name.split(" - ")[1]: p for p in (self.root / "outbox" / f"{YEAR} Annual").glob("*.xlsx")}
        self.sent: dict[str, Path] = {}
        params = Thresholds().params()
        for i, p in enumerate(["North", "East", "South", "West"]):
            v = annual_samples.filled_values(SPEC, FY, issued_prefill(self.root, p), seed=40 + i, params=params,
                                             ehcp=0)
            v = {k: x for k, x in v.items() if SPEC[k].is_input}
            if p == "South":  # a 3-pupil group
                v["keystage_ks2_pupils"] += v["keystage_eyfs_pupils"] - 3
                v["keystage_eyfs_pupils"] = 3
            if p == "West":
                v["gender_girls_pupils"] += 1  # A-E201: rejected
            self.sent[p] = root / "inbox" / files[p].name
            fill_openpyxl(files[p], self.sent[p], v)
        with workspace_env(self.root):
            assert main(["ingest", *map(str, self.sent.values())]) == 1  # West rejected
            assert main(["consolidate", "--year", YEAR]) == 0
        self.folder = self.root / "reports" / f"{YEAR} Q1"
        self.inputs = {p: read_inputs(self.sent[p]) for p in ACCEPTED}

    @property
    def workbook(self) -> Path:
        return self.folder / f"PBP consolidated {YEAR} Q1.xlsx"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PBP_WORKSPACE", raising=False)
        return Scenario(tmp_path_factory.mktemp("annual-consolidate") / "ws")


@pytest.fixture(scope="module")
def book(scenario: Scenario) -> openpyxl.Workbook:
    return openpyxl.load_workbook(scenario.workbook, data_only=True)


def blocks(ws: Any) -> list[tuple[str, list[str], dict[str, tuple[Any, ...]]]]:
    """(title, header, {partnership or 'LA total': row}) for each table of a sheet."""
    out = []
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    for i, r in enumerate(rows):
        if r and r[0] == "Partnership":
            body: dict[str, tuple[Any, ...]] = {}
            for row in rows[i + 1:]:
                if not row or row[0] is None:
                    break
                body[str(row[0])] = row
                if row[0] == "LA total":
                    break
            out.append((str(rows[i - 1][0]) if i else "", [str(h) for h in r if h is not None], body))
    return out


def exact(p: str, name: str, inputs: dict[str, dict[str, Any]]) -> int:
    v = inputs[p][name]
    return int(v or 0)


def test_annual_sheets_are_added_after_the_quarterly_ones(book: openpyxl.Workbook) -> None:
    names = book.sheetnames
    assert {"Annual KPIs", "Annual pupils", "Annual delivery"} <= set(names)
    assert names.index("Annual KPIs") > names.index("Placements") and names[0] == "Summary"
    about = " ".join(str(c.value) for c in book["About"]["A"] if c.value)
    assert "Published sheets" in about and "LA-internal" in about


def test_pupil_profiles_equal_the_reports_with_small_numbers_suppressed(book: openpyxl.Workbook,
                                                                         scenario: Scenario) -> None:
    tables = blocks(book["Annual pupils"])
    assert len(tables) == 4
    inputs = scenario.inputs
    for (_title, header, body), (key, sec) in zip(tables, BREAKDOWNS.items(), strict=True):
        assert header[:3] == ["Partnership", "Annual report", "Pupils supported"]
        assert list(body) == [*PARTNERSHIPS, "LA total"]
        assert body["West"][1].startswith("REJECTED") and body["Central"][1].startswith("MISSING")
        assert all(v is None for v in body["West"][2:]) and all(v is None for v in body["Central"][2:])
        grand = sum(exact(p, "pupils_supported", inputs) for p in ACCEPTED)
        columns: dict[str, list[tuple[int, Any]]] = {}
        for p in [*ACCEPTED, "LA total"]:
            row = body[p]
            total = grand if p == "LA total" else exact(p, "pupils_supported", inputs)
            assert row[2] in (total, MARKER) and (row[2] == MARKER) == (1 <= total <= 4 or row[2] == MARKER)
            line = []
            for j, g in enumerate(sec.row_keys):
                n = (sum(exact(q, f"{key}_{g}_pupils", inputs) for q in ACCEPTED) if p == "LA total"
                     else exact(p, f"{key}_{g}_pupils", inputs))
                got, share = row[3 + 2 * j], row[4 + 2 * j]
                if 1 <= n <= 4:
                    assert got == MARKER, (p, key, g, n)
                if n == 0:
                    assert got == 0
                assert got in (n, MARKER)
                if got == MARKER or row[2] == MARKER:
                    assert share == MARKER  # the share would give the count (or the total) away
                else:
                    assert share == pytest.approx(n / total)
                line.append((n, got))
                if p != "LA total":
                    columns.setdefault(g, []).append((n, got))
            if row[2] != MARKER:  # a published total: never exactly one suppressed cell in its line
                assert sum(1 for _n, got in line if got == MARKER) != 1, (p, key, line)
        for j, g in enumerate(sec.row_keys):  # columns against the published LA totals
            if body["LA total"][3 + 2 * j] != MARKER:
                assert sum(1 for _n, got in columns[g] if got == MARKER) != 1, (key, g, columns[g])


def test_kpis_against_targets_with_a_word(book: openpyxl.Workbook, scenario: Scenario) -> None:
    ws = book["Annual KPIs"]
    rows = [r for r in ws.iter_rows(min_row=6, values_only=True) if r[0] in PARTNERSHIPS]
    labels = dict(zip(KPI.row_labels, KPI.row_keys, strict=True))
    seen = set()
    for r in rows:
        p = r[0]
        if p in ("West", "Central"):
            assert r[1].startswith("REJECTED" if p == "West" else "MISSING") and r[6] == "No data"
            assert r[4] is None and r[5] is None
            seen.add(p)
            continue
        key = labels[r[2]]
        target = Decimal(repr(scenario.inputs[p][f"kpi_{key}_target"]))
        actual = Decimal(repr(scenario.inputs[p][f"kpi_{key}_actual"]))
        assert Decimal(repr(r[4])) == target and Decimal(repr(r[5])) == actual
        met = actual >= target if BETTER[key] == "higher" else actual <= target
        assert r[3] == BETTER[key] and r[6] == ("Met" if met else "Not met")
        seen.add((p, key))
    assert len(seen) == 3 * 6 + 2


def test_service_delivery(book: openpyxl.Workbook, scenario: Scenario) -> None:
    [(_t, header, body)] = blocks(book["Annual delivery"])
    col = {h: i for i, h in enumerate(header)}
    for p in ACCEPTED:
        row, v = body[p], scenario.inputs[p]
        assert row[col["Schools supported"]] == v["schools_supported"]
        assert row[col["Average length of stay (weeks)"]] == pytest.approx(v["avg_stay_weeks"])
        for k, label in zip(METHODS.row_keys, METHODS.row_labels, strict=True):
            n, got = v[f"methods_{k}_pupils"], row[col[f"{label}: pupils"]]
            assert got == MARKER if 1 <= n <= 4 else got in (n, MARKER)
            assert row[col[f"{label}: sessions"]] == v[f"methods_{k}_sessions"]
        n = v["placements_outside_ks"] or 0
        assert row[col["Pupils placed outside their key stage"]] in ((MARKER,) if 1 <= n <= 4 else (n, MARKER))
    assert body["West"][1].startswith("REJECTED") and body["Central"][1].startswith("MISSING")
    assert body["LA total"][col["Schools supported"]] == sum(scenario.inputs[p]["schools_supported"] for p in ACCEPTED)


def test_summary_suppresses_a_three_pupil_group(scenario: Scenario) -> None:
    wb = openpyxl.load_workbook(scenario.folder / "summary - South.xlsx", data_only=True)
    assert wb.sheetnames == ["Summary", "Figures", "Annual"]
    rows = [r for r in wb["Annual"].iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r[0] == "Pupils by key stage")
    block = rows[start + 1:start + 4]
    total_row = rows[start + 4]
    assert block[0][0].startswith("EYFS") and block[0][1] == MARKER and block[0][2] == MARKER
    assert total_row[0].startswith("Total") and total_row[1] == scenario.inputs["South"]["pupils_supported"]
    visible = [r[1] for r in block if r[1] != MARKER]
    hidden = [r for r in block if r[1] == MARKER]
    assert len(hidden) >= 2  # total - visible cells is the sum of two or more cells, not the 3
    assert total_row[1] - sum(visible) != 3
    statuses = {r[4] for r in rows if r[0] in KPI.row_labels}
    assert statuses <= {"Met", "Not met"} and statuses
    # a partnership without an accepted annual report says so
    west = openpyxl.load_workbook(scenario.folder / "summary - West.xlsx", data_only=True)["Annual"]
    assert "No accepted annual report" in west["A2"].value and "REJECTED" in west["A2"].value


def test_annual_csv_is_suppressed_too(scenario: Scenario) -> None:
    path = scenario.folder / f"PBP consolidated {YEAR} Q1 - annual.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    south = {(r["section"], r["item_key"]): r for r in rows if r["partnership"] == "South"}
    assert south[("keystage", "eyfs")]["pupils"] == MARKER and south[("keystage", "eyfs")]["share"] == MARKER
    for r in rows:
        if r["pupils"] not in ("", MARKER):
            assert not 1 <= int(r["pupils"]) <= 4, r
    assert {r["return_status"] for r in rows if r["partnership"] in ("West", "Central")} == {"rejected", "missing"}


def test_with_a_quarter_there_is_no_annual_overview(scenario: Scenario, tmp_path: Path) -> None:
    with workspace_env(scenario.root):
        assert main(["consolidate", "--year", YEAR, "--quarter", "1", "--out", str(tmp_path), "--no-summaries"]) == 0
    wb = openpyxl.load_workbook(tmp_path / f"PBP consolidated {YEAR} Q1.xlsx", read_only=True)
    assert "Annual KPIs" not in wb.sheetnames
    assert not (tmp_path / f"PBP consolidated {YEAR} Q1 - annual.csv").exists()
