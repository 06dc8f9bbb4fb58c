"""The year-end surplus decision (issue #15): issued one per partnership from the accepted
year-end balance and the roster's member schools, its allocations recomputed here
independently (whole numbers, not the project's code) and adding up to the penny, every
rule firing and staying quiet on real files, a member school changed on the way back, and
``pbp surplus model``."""

from __future__ import annotations

import csv
import json
import math
import shutil
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fill import clean_values, fill_openpyxl, read_meta
from hypothesis import given, settings
from hypothesis import strategies as st
from surplus_world import YEAR, accept_annual_reports

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.errors import SpecError
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.intake.ingest import ingest
from pbp_workbooks.intake.validation import rule_findings
from pbp_workbooks.ledger import history
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import calc
from pbp_workbooks.spec import model as spec_mod

SPEC = spec_mod.load("surplus")
PARAMS = Thresholds().params()
ROWS = 20
FACTORS = ("roll", "fsm", "pp", "send", "deprivation", "equal")


# ---------------------------------------------------------------- the allocations, worked out independently


def counts(school: dict[str, Any]) -> dict[str, int]:
    """A school's count for each factor: the roster's figures, need = 11 - IDACI decile, 1 each."""
    idaci = school.get("idaci") or 0
    return {"roll": school.get("roll") or 0, "fsm": school.get("fsm") or 0, "pp": school.get("pp") or 0,
            "send": school.get("send") or 0, "deprivation": 11 - idaci if idaci else 0, "equal": 1}


def expected_allocations(schools: list[dict[str, Any]], pence: int, weights: dict[str, int]) -> list[int]:
    """The allocations in pence, by the method the spec states, in plain integers: each factor's
    part of A x W/100 x count/total in 1/100,000ths of a penny (rounded down), whole pence
    kept, the pence left one each to the largest remainders (the earlier school on a tie)."""
    table = [counts(s) for s in schools]
    totals = {f: sum(c[f] for c in table) for f in FACTORS}
    units = [sum(pence * weights.get(f, 0) * c[f] * 100_000 // (100 * totals[f]) for f in FACTORS if totals[f])
             for c in table]
    whole = [u // 100_000 for u in units]
    left = pence - sum(whole)
    order = sorted(range(len(schools)), key=lambda i: (-(units[i] % 100_000), i))
    return [w + (1 if order.index(i) < left else 0) for i, w in enumerate(whole)]


def decision_inputs(schools: list[dict[str, Any]], pence: int, weights: dict[str, int]) -> dict[str, Any]:
    """A decision's cells: the member school rows as the LA fills them, the amount and the weights."""
    values: dict[str, Any] = {"distribute_amount": Decimal(pence) / 100}
    values.update({f"weight_{f}": Decimal(weights.get(f, 0)) / 100 for f in FACTORS})
    for n, s in enumerate(schools, start=1):
        values.update({f"school_{n}_name": s["school"], f"school_{n}_urn": s["urn"]})
        values.update({f"school_{n}_{k}": s.get(k) for k in ("roll", "fsm", "pp", "send", "idaci")})
    return values


def workbook_allocations(schools: list[dict[str, Any]], pence: int, weights: dict[str, int]) -> list[int]:
    values = calc.compute(SPEC, decision_inputs(schools, pence, weights))
    return [int(values[f"school_{n}_allocation"] * 100) for n in range(1, len(schools) + 1)]


def school(i: int, roll: int, fsm: int = 0, pp: int = 0, send: int = 0, idaci: int | None = None) -> dict[str, Any]:
    return {"school": f"School {i}", "urn": str(900000 + i), "roll": roll, "fsm": fsm, "pp": pp, "send": send,
            "idaci": idaci}


SAMPLE = [school(1, 180, 32, 39, 23, 1), school(2, 291, 55, 66, 37, 3), school(3, 402, 80, 96, 52, 5),
          school(4, 513, 107, 128, 66, 7)]


@pytest.mark.parametrize(("schools", "pence", "weights"), [
    (SAMPLE, 1_234_567, {"roll": 40, "fsm": 30, "send": 30}),  # odd pence
    (SAMPLE, 1, {"equal": 100}),  # one penny among four schools: the first
    (SAMPLE, 3, {"equal": 100}),  # three pence: the first three (all remainders tie)
    (SAMPLE, 999_999, {"deprivation": 50, "pp": 25, "equal": 25}),
    ([school(1, 250, 10, 10, 5, 2)], 1_000_001, {"roll": 40, "fsm": 30, "send": 30}),  # one school: all of it
    ([school(1, 100), school(2, 200, send=7), school(3, 300)], 500_003, {"send": 100}),  # one school has SEND
    ([school(1, 100), school(2, 200), school(3, 300, fsm=1)], 1_000_000, {"fsm": 60, "roll": 40}),
    ([school(i, 1) for i in range(1, 21)], 99_999_999, {"equal": 34, "roll": 66}),  # twenty rows, ties everywhere
])
def test_allocations_recomputed_independently_add_up_to_the_penny(schools: list[dict[str, Any]], pence: int,
                                                                  weights: dict[str, int]) -> None:
    got = workbook_allocations(schools, pence, weights)
    assert got == expected_allocations(schools, pence, weights)
    assert sum(got) == pence
    exact = exact_shares(schools, pence, weights)
    assert all(abs(g - e) < 1 for g, e in zip(got, exact, strict=True)), (got, exact)


def exact_shares(schools: list[dict[str, Any]], pence: int, weights: dict[str, int]) -> list[float]:
    table = [counts(s) for s in schools]
    totals = {f: sum(c[f] for c in table) for f in FACTORS}
    return [sum(pence * weights.get(f, 0) / 100 * c[f] / totals[f] for f in FACTORS if totals[f]) for c in table]


def test_one_penny_goes_to_the_largest_remainder_then_the_earlier_row() -> None:
    # shares 1/6, 1/3, 1/2 of 5p: 0.833, 1.667, 2.5 -> whole 0, 1, 2 and 2p left: remainders .833, .667, .5
    schools = [school(1, 1), school(2, 2), school(3, 3)]
    assert workbook_allocations(schools, 5, {"roll": 100}) == [1, 2, 2]
    # equal thirds of 100p: every remainder the same, the first row gets the penny
    assert workbook_allocations(schools, 100, {"equal": 100}) == [34, 33, 33]


@st.composite
def rosters(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, ROWS))
    out = []
    for i in range(1, n + 1):
        roll = draw(st.integers(0, 1000))
        out.append(school(i, roll, draw(st.integers(0, roll)), draw(st.integers(0, roll)), draw(st.integers(0, roll)),
                          draw(st.one_of(st.none(), st.integers(1, 10)))))
    return out


@st.composite
def whole_weights(draw: st.DrawFn) -> dict[str, int]:
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(FACTORS) - 1, max_size=len(FACTORS) - 1)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    return dict(zip(FACTORS, parts, strict=True))


@settings(max_examples=150)
@given(schools=rosters(), pence=st.integers(1, 100_000_000), weights=whole_weights())
def test_any_roster_and_weights_add_up_to_the_penny(schools: list[dict[str, Any]], pence: int,
                                                     weights: dict[str, int]) -> None:
    got = workbook_allocations(schools, pence, weights)
    assert got == expected_allocations(schools, pence, weights)
    table = [counts(s) for s in schools]
    shareable = all(sum(c[f] for c in table) > 0 for f in FACTORS if weights[f])
    assert sum(got) <= pence
    if shareable:  # otherwise part of the amount has nobody to go to: rule S-E203
        assert sum(got) == pence
        exact = exact_shares(schools, pence, weights)
        assert all(abs(g - e) < 1 + 1e-6 for g, e in zip(got, exact, strict=True))


# ---------------------------------------------------------------- issuing


@pytest.fixture(scope="module")
def accepted_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose annual reports are all accepted (built once, copied per test)."""
    root = tmp_path_factory.mktemp("surplus-world") / "ws"
    assert main(["init", str(root), "--password", "test-pw"]) == 0
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        accept_annual_reports(Workspace(root.resolve()))
    return root


@pytest.fixture
def world(accepted_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(accepted_world, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("PBP_WORKSPACE", raising=False)
    return Workspace(root.resolve())


def issued(ws: Workspace, partnership: str = "North") -> Path:
    return next((ws.root / "outbox" / f"{YEAR} Surplus").glob(f"* - {partnership} - *.xlsx"))


def test_one_workbook_per_partnership_prefilled_and_locked(world: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "surplus", "--year", YEAR]) == 0
    files = sorted((world.root / "outbox" / f"{YEAR} Surplus").glob("*.xlsx"))
    assert len(files) == 5
    roster = roster_mod.load(world.roster_path)
    with Ledger(world.ledger_path) as ledger:
        balance, source = history.closing_balance(ledger, history.FinancialYear.parse(YEAR), "North") or (None, "")
    ws = openpyxl.load_workbook(issued(world))["Decision"]
    assert Decimal(str(ws[SPEC["year_end_balance"].cell].value)) == balance
    assert ws[SPEC["balance_source"].cell].value == source == "the 2025-26 annual report the LA accepted"
    allocation = roster.allocation("North", history.FinancialYear.parse(YEAR))
    assert Decimal(str(ws[SPEC["clawback_threshold"].cell].value)) == allocation * 5 / 100
    members = [m for m in roster.members if m["partnership"] == "North"]
    for n, m in enumerate(members, start=1):
        row = {k: ws[SPEC[f"school_{n}_{k}"].cell].value for k in ("name", "urn", "roll", "fsm", "pp", "send", "idaci")}
        assert row == {"name": m["school"], "urn": m["urn"], "roll": m["roll"], "fsm": m["fsm"], "pp": m["pp"],
                       "send": m["send"], "idaci": m["idaci_decile"]}
    assert ws[SPEC[f"school_{len(members) + 1}_name"].cell].value is None
    for f in SPEC.fields:
        assert ws[f.cell].protection.locked is (not f.is_input), f.name
    assert read_meta(issued(world))["kind"] == "surplus"
    # a bar chart of the allocations, drawn from the allocation cells (so it follows what is typed)
    with zipfile.ZipFile(issued(world)) as z:
        [chart] = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    first, last = SPEC["school_1_allocation"], SPEC[f"school_{ROWS}_allocation"]
    assert f"Decision!${first.cell[0]}${first.row + 1}:${last.cell[0]}${last.row + 1}" in chart
    assert "Allocation to each member school" in chart


def test_balance_from_the_accepted_q4_return_else_not_issued_yet(workspace: Workspace,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """No annual report yet: North's accepted Q4 return gives its balance; the others wait."""
    assert main(["generate", "surplus", "--year", YEAR]) == 2
    assert ("North, East, South, West and Central: no year-end balance yet (it comes from the year's annual report "
            "the LA accepted, else its accepted Q4 return)") in capsys.readouterr().err
    assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "4"]) == 0
    src = next((workspace.root / "outbox" / f"{YEAR} Q4").glob("* - North - *.xlsx"))
    quarterly = spec_mod.load("quarterly")
    allocation = Decimal(str(openpyxl.load_workbook(src)["Return"][quarterly["dsg_allocation"].cell].value))
    fill_openpyxl(src, workspace.root / "in" / src.name, clean_values(quarterly, 4, allocation, seed=3))
    [report] = ingest(workspace, [workspace.root / "in" / src.name])
    assert report.ok, [f.message for f in report.findings]
    capsys.readouterr()
    assert main(["generate", "surplus", "--year", YEAR]) == 0
    out = capsys.readouterr().out
    assert "1 workbook(s) written" in out
    assert "Not issued yet: East, South, West and Central: no year-end balance yet" in out
    ws = openpyxl.load_workbook(issued(workspace))["Decision"]
    assert ws[SPEC["balance_source"].cell].value == "the 2025-26 Q4 return the LA accepted"
    with Ledger(workspace.ledger_path) as ledger:
        q4 = history.official_values(ledger, quarterly, YEAR, 4, "North")
    assert q4 is not None
    forecast = calc.compute(quarterly, q4)["forecast_balance"]
    assert Decimal(str(ws[SPEC["year_end_balance"].cell].value)) == forecast


# ---------------------------------------------------------------- a filled decision: rules, versions, identity


def good_values(**change: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "prepared_by": "Jo Bloggs", "email": "jo.bloggs@northfield.example.sch.uk", "approach": "Needs-based",
        "approach_criteria": "Roll, FSM and SEND, agreed by all schools", "kept_cpd": Decimal("2000"),
        "kept_future": Decimal("1000.50"), "kept_contingency": Decimal("500"), "kept_strategic": Decimal(0),
        "distribute_amount": Decimal("12345.67"), "weight_roll": Decimal("0.4"), "weight_fsm": Decimal("0.3"),
        "weight_pp": Decimal(0), "weight_send": Decimal("0.3"), "weight_deprivation": Decimal(0),
        "weight_equal": Decimal(0), "schools_consulted": "Yes", "schools_consulted_date": date(2026, 4, 20),
        "governors_consulted": "Yes", "governors_consulted_date": date(2026, 4, 22),
        "agreed_date": date(2026, 5, 10), "chair": "Sam Chair"}
    values.update(change)
    return values


def codes(reports: list[Any]) -> list[str]:
    return sorted(f.code for r in reports for f in r.findings)


def test_a_clean_decision_is_accepted_and_its_allocations_add_up(world: Workspace) -> None:
    assert main(["generate", "surplus", "--year", YEAR]) == 0
    dst = world.root / "in" / "north.xlsx"
    fill_openpyxl(issued(world), dst, good_values())
    [report] = ingest(world, [dst])
    assert report.status == "accepted", [f.message for f in report.findings]
    assert report.identity is not None and report.identity["kind"] == "surplus"


# Each rule with the values that make it fire; good_values() keeps every one quiet.
RULE_CASES: dict[str, dict[str, Any]] = {
    "S-E201": {"weight_send": Decimal("0.2")},
    "S-E202": {"weight_roll": Decimal("0.395"), "weight_send": Decimal("0.305")},
    "S-E203": {"weight_send": Decimal(0), "weight_pp": Decimal("0.3"),  # no school has PP pupils
               **{f"school_{n}_pp": 0 for n in range(1, 5)}},
    "S-E204": {"distribute_amount": Decimal("100000")},
    "S-E205": {"approach": "Strategic plan"},
    "S-E206": {"kept_strategic": Decimal("100")},
    "S-W207": {"year_end_balance": Decimal("30000")},  # above the £20,625 threshold, £14,153.83 undecided
    "S-E208": {"governors_consulted": "No"},
    "S-E209": {"schools_consulted_date": date(2026, 5, 11)},
    "S-W210": {"agreed_date": date(2026, 3, 30), "schools_consulted_date": date(2026, 3, 1),
               "governors_consulted_date": date(2026, 3, 2)},
}


def decision(world_values: dict[str, Any], prefilled: dict[str, Any]) -> dict[str, Any]:
    return calc.compute(SPEC, {**prefilled, **world_values})


@pytest.mark.parametrize("code", sorted(RULE_CASES))
def test_every_rule_fires_and_stays_quiet(code: str) -> None:
    prefilled = decision_inputs(SAMPLE, 0, {})
    prefilled.update(year_end_balance=Decimal("16776.43"), clawback_threshold=Decimal("20625.00"),
                     year_end=date(2026, 3, 31))
    del prefilled["distribute_amount"]
    for k in FACTORS:
        del prefilled[f"weight_{k}"]
    quiet = decision(good_values(), prefilled)
    assert code not in {f.code for f in rule_findings(SPEC, quiet, PARAMS)}
    loud = decision(good_values(**RULE_CASES[code]), prefilled)
    found = {f.code: f for f in rule_findings(SPEC, loud, PARAMS)}
    assert code in found, sorted(found)
    assert found[code].message and "{" not in found[code].message


def test_rules_on_a_real_file_then_the_corrected_version(world: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "surplus", "--year", YEAR]) == 0
    bad = world.root / "in" / "north-v1.xlsx"
    fill_openpyxl(issued(world), bad, good_values(weight_send=Decimal("0.2"), agreed_date=date(2026, 4, 1)))
    [r1] = ingest(world, [bad])
    assert r1.status == "rejected"
    assert codes([r1]) == ["S-E201", "S-E209"]
    msg = next(f.message for f in r1.findings if f.code == "S-E201")
    assert "90.0%" in msg and "£12,345.67" in msg
    assert Path(r1.extra["feedback"]).parent == world.root / "feedback" / f"{YEAR} Surplus"
    good = world.root / "in" / "north-v2.xlsx"
    fill_openpyxl(Path(r1.extra["feedback"]), good, good_values())
    [r2] = ingest(world, [good])
    assert r2.ok and r2.extra["version"] == 2
    capsys.readouterr()
    assert main(["status", "--year", YEAR, "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["kind"] == "surplus"]
    assert [(r["partnership"], r["state"], r["official_version"], r["chase"]) for r in rows] == [
        ("North", "accepted", 2, None), *((p, "missing", None, None) for p in ("East", "South", "West", "Central"))]
    assert rows[0]["period"] == f"{YEAR} surplus"


def test_a_member_school_changed_or_removed_is_an_identity_finding(world: Workspace) -> None:
    assert main(["generate", "surplus", "--year", YEAR]) == 0
    dst = world.root / "in" / "north.xlsx"
    fill_openpyxl(issued(world), dst, {**good_values(), "school_2_name": "Somewhere Else Primary",
                                       "school_3_urn": None, "school_1_roll": 999})
    [report] = ingest(world, [dst])
    assert report.status == "rejected"
    changed = {f.name: f.message for f in report.findings if f.code == "T-E004"}
    assert changed.keys() == {"school_2_name", "school_3_urn", "school_1_roll"}
    assert "School 2: School was changed to 'Somewhere Else Primary'" in changed["school_2_name"]
    assert "School 3: URN was cleared" in changed["school_3_urn"]


# ---------------------------------------------------------------- pbp surplus model


def test_model_prints_what_the_workbook_gives(world: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["surplus", "model", "--year", YEAR, "--partnership", "north", "--weights", "roll=40,fsm=30,send=30",
                 "--amount", "12,345.67", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    roster = roster_mod.load(world.roster_path)
    members = [{**m, "idaci": m["idaci_decile"]} for m in roster.members if m["partnership"] == "North"]
    want = expected_allocations(members, 1_234_567, {"roll": 40, "fsm": 30, "send": 30})
    assert [round(Decimal(s["allocation"]) * 100) for s in data["schools"]] == want
    assert data["total"] == "12345.67" and data["amount_from"] == "--amount"
    assert [s["urn"] for s in data["schools"]] == [m["urn"] for m in members]
    # without --amount: the accepted year-end balance, shared in full
    assert main(["surplus", "model", "--year", YEAR, "--partnership", "North", "--weights", "equal=100"]) == 0
    out = capsys.readouterr().out
    assert "the 2025-26 annual report the LA accepted" in out and out.count("North Primary") == len(members)


@pytest.mark.parametrize(("argv", "says"), [
    (["--partnership", "North", "--weights", "roll=40,fsm=30"], "add up to 70%"),
    (["--partnership", "North", "--weights", "roll=40.5,fsm=59.5"], "whole percentage"),
    (["--partnership", "North", "--weights", "rol=100"], "the factors are roll, fsm, pp, send, deprivation, equal"),
    (["--partnership", "Nowhere", "--weights", "roll=100"], "no partnership called 'Nowhere'"),
    (["--partnership", "North", "--weights", "roll=100", "--amount", "lots"], "not an amount"),
])
def test_model_refuses_bad_arguments_in_one_line(world: Workspace, capsys: pytest.CaptureFixture[str],
                                                 argv: list[str], says: str) -> None:
    assert main(["surplus", "model", "--year", YEAR, *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_nothing_is_float_arithmetic_on_money() -> None:
    """The allocations are whole pence divided by 100 once: exactly two places."""
    values = calc.compute(SPEC, decision_inputs(SAMPLE, 1_234_567, {"roll": 40, "fsm": 30, "send": 30}))
    for n in range(1, 5):
        a = values[f"school_{n}_allocation"]
        assert isinstance(a, Decimal) and a == a.quantize(Decimal("0.01"))
    assert math.isclose(float(values["school_total_share"]), 1.0)


# ---------------------------------------------------------------- for the LA: consolidated workbook, payments, summaries


def test_consolidation_has_the_surplus_sheet_payments_csv_and_summary(world: Workspace,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "surplus", "--year", YEAR]) == 0
    shared = {"North": Decimal("5000.01"), "East": Decimal("777.77")}
    sent = []
    for p, amount in shared.items():
        dst = world.root / "in" / f"{p}.xlsx"
        fill_openpyxl(issued(world, p), dst, good_values(distribute_amount=amount, kept_cpd=Decimal(0),
                                                         kept_future=Decimal(0), kept_contingency=Decimal(0)))
        sent.append(dst)
    assert all(r.ok for r in ingest(world, sent))
    assert main(["generate", "quarterly", "--year", YEAR, "--quarter", "1"]) == 0
    capsys.readouterr()
    assert main(["consolidate", "--year", YEAR]) == 0
    roster = roster_mod.load(world.roster_path)
    n_paid = sum(1 for m in roster.members if m["partnership"] in shared)  # North 4, East 5
    assert f"surplus:   2 of 5 surplus decisions accepted; {n_paid} payments" in capsys.readouterr().out
    folder = world.root / "reports" / f"{YEAR} Q1"
    book = openpyxl.load_workbook(folder / f"PBP consolidated {YEAR} Q1.xlsx")
    sheet = book["Surplus"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=5, max_row=9, values_only=True)}
    assert rows["North"][1] == "Accepted v1" and Decimal(str(rows["North"][9])) == shared["North"]
    assert rows["South"][1] == "MISSING" and rows["South"][2] is None  # blank, never a made-up zero
    with Ledger(world.ledger_path) as ledger:
        balance = history.closing_balance(ledger, history.FinancialYear.parse(YEAR), "East")
    assert balance is not None
    east = rows["East"]
    assert Decimal(str(east[2])) == balance[0] and Decimal(str(east[10])) == balance[0] - shared["East"]
    payments = [r for r in book["Surplus payments"].iter_rows(min_row=5, values_only=True) if r[1]]
    assert len(payments) == n_paid and {r[2] for r in payments} == {"North", "East"}
    with (folder / f"PBP consolidated {YEAR} Q1 - surplus payments.csv").open(encoding="utf-8-sig") as fh:
        lines = list(csv.DictReader(fh))
    for p, amount in shared.items():
        mine = [Decimal(r["amount"]) for r in lines if r["partnership"] == p]
        assert sum(mine) == amount and all(len(r["amount"].split(".")[1]) == 2 for r in lines)
    assert [r["urn"] for r in lines if r["partnership"] == "North"] == [
        m["urn"] for m in roster.members if m["partnership"] == "North"]
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert "surplus_payments" in [r["name"] for r in package["resources"]]
    summary = openpyxl.load_workbook(folder / "summary - North.xlsx")["Surplus"]
    cells = [c for row in summary.iter_rows(values_only=True) for c in row if c is not None]
    assert "Ashdown North Primary" in cells
    assert any(isinstance(c, str) and "share £5,000 among 4 member schools" in c for c in cells)
    allocations = [Decimal(str(r[3])) for r in summary.iter_rows(values_only=True)
                   if isinstance(r[1], str) and r[1].isdigit()]
    assert sum(allocations) == shared["North"]
    assert "Surplus" in openpyxl.load_workbook(folder / "summary - South.xlsx").sheetnames  # says none accepted yet


# ---------------------------------------------------------------- the expression language's sharing functions


@pytest.mark.parametrize(("source", "want"), [
    ("round(2.675, 2)", Decimal("2.68")),  # Excel's ROUND works on the decimal value, not the binary double
    ("round(0 - 2.5, 0)", Decimal(-3)),  # half away from zero
    ("round(0.1 + 0.2, 15)", Decimal("0.300000000000000")),
    ("idiv(99999999 * 100 * 4999, 100 * 99991, 100000)", Decimal(99999999 * 100 * 4999 * 100000 // (100 * 99991))),
    ("idiv(7, 0, 100000)", Decimal(0)),  # a factor nobody has shares nothing
    ("count_greater(3, 1, 5, 3, 9)", Decimal(2)),
    ("count_equal(3, 1, 3, 3)", Decimal(2)),
    ("count_equal(3)", Decimal(0)),
])
def test_sharing_functions_evaluate_exactly(source: str, want: Decimal) -> None:
    from pbp_workbooks.spec import expr

    assert expr.evaluate(expr.parse(source, {}), {}) == want


def test_sharing_functions_render_for_every_program() -> None:
    from pbp_workbooks.spec import expr

    def render(source: str) -> str:
        return expr.to_excel(expr.parse(source, {"n": expr.NUMBER, "d": expr.NUMBER, "a": expr.NUMBER}), str.upper)

    assert render("idiv(n, d, 100000)") == "IF(D=0,0,INT(N/D)*100000+INT((N-INT(N/D)*D)*100000/D))"
    assert render("count_greater(a, n, d)") == "(IF(N>A,1,0)+IF(D>A,1,0))"
    assert render("count_equal(a)") == "0"
    with pytest.raises(SpecError, match="whole number written out"):
        expr.parse("round(n, d)")


def test_more_member_schools_than_rows_is_refused_by_name(workspace: Workspace,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from pbp_workbooks.base.errors import ConfigError
    from pbp_workbooks.workbook.sources import member_sources

    roster = roster_mod.load(workspace.roster_path)
    roster.members = [{"partnership": "North", "school": f"S{i}", "urn": str(970000 + i), "roll": 100}
                      for i in range(ROWS + 1)]
    with pytest.raises(ConfigError, match=f"North has {ROWS + 1} member schools, but the PBP Surplus Decision has "
                                          f"rows for {ROWS}"):
        member_sources(SPEC, roster, "North")
    assert main(["generate", "surplus", "--year", YEAR, "--quarter", "4"]) == 2
    assert "the PBP Surplus Decision has no quarter; leave out --quarter" in capsys.readouterr().err
