"""The demo's surplus round (after the annual reports are accepted): the LA models North's
allocations with ``pbp surplus model``, issues a surplus decision to every partnership from
its accepted year-end balance, the partnerships decide (one agrees before it consulted, so
its decision is rejected, and corrects its feedback workbook), and the consolidation gains
the Surplus sheet, the payments table and CSV, and the summaries' Surplus sheet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.money import round_pence
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.ledger import history
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook import surplus

# partnership -> (approach, weights in whole percent); the strategic plan shares nothing
DECISIONS: dict[str, tuple[str, dict[str, int]]] = {
    "North": ("Needs-based", {"roll": 40, "fsm": 30, "send": 30}),
    "East": ("Equity-based", {"equal": 100}),
    "South": ("Combination", {"deprivation": 50, "pp": 25, "equal": 25}),
    "West": ("Needs-based", {"roll": 60, "pp": 40}),
    "Central": ("Strategic plan", {}),
}
# who agrees before consulting the governing body (S-E209), and the date they correct it to
SURPLUS_PROBLEM = ("South", "agreed the decision before the governing body was consulted",
                   {"governors_consulted_date": date(2026, 5, 6)})


def decision_values(partnership: str, balance: Decimal, fy: FinancialYear) -> dict[str, Any]:
    """What a partnership types: 20% kept for CPD, 10% each for future proofing and contingency,
    the rest shared by its weights (or, under the strategic plan, kept for it)."""
    approach, weights = DECISIONS[partnership]
    cpd, future = round_pence(balance * Decimal("0.2")), round_pence(balance * Decimal("0.1"))
    rest = balance - cpd - 2 * future
    strategic = approach == "Strategic plan"
    end = fy.end
    values: dict[str, Any] = {
        "prepared_by": "Sam Okafor", "email": f"sbm@{partnership.lower()}.example.sch.uk", "approach": approach,
        "approach_criteria": f"{approach}: agreed at the partnership meeting after every school gave its view.",
        "kept_cpd": cpd, "kept_future": future, "kept_contingency": future,
        "kept_strategic": rest if strategic else Decimal(0), "distribute_amount": Decimal(0) if strategic else rest,
        "schools_consulted": "Yes", "schools_consulted_date": date(end.year, 4, 21),
        "governors_consulted": "Yes", "governors_consulted_date": date(end.year, 4, 23),
        "agreed_date": date(end.year, 5, 12), "chair": "Pat Reid",
    }
    if strategic:
        values["strategic_items"] = "A family support worker for every school of the partnership (fixed term, 2026-27)."
    values.update({f"weight_{k}": Decimal(weights.get(k, 0)) / 100 for k in surplus.factors(surplus.spec())})
    if partnership == SURPLUS_PROBLEM[0]:
        values["governors_consulted_date"] = date(end.year, 5, 20)  # after the agreement: S-E209
    return values


def run_surplus(ws: Workspace, root: Path, fy: FinancialYear, out: Callable[[str], None],
                rel: Callable[[Any], str], returns: str, type_into: Callable[[Path, Path, dict[str, Any]], None],
                print_reports: Callable[..., None]) -> Any:
    """The surplus round (steps S1-S4), ending with the consolidation's surplus sheets."""
    from pbp_workbooks.intake.ingest import ingest
    from pbp_workbooks.reports.consolidate import consolidate
    from pbp_workbooks.workbook.generate import generate

    roster = roster_mod.load(ws.roster_path)
    with Ledger(ws.ledger_path) as ledger:
        closing = history.closing_balance(ledger, fy, "North")
    assert closing is not None
    weights = {k: Decimal(DECISIONS["North"][1].get(k, 0)) / 100 for k in surplus.factors(surplus.spec())}
    out(f"[S1/4] Year-end surplus {fy}: the LA models North's {closing[0]:,.2f} shared by pupil roll 40%, FSM 30%, "
        f"SEND 30% (pbp surplus model --year {fy} --partnership North --weights roll=40,fsm=30,send=30):")
    for line in surplus.table(surplus.model(roster, "North", closing[0], weights), closing[0]):
        out(f"        {line}")
    issued = generate(ws, surplus.KIND, fy, None, None)
    out(f"[S2/4] {len(issued)} surplus decision workbooks issued into {rel(issued[0].parent)}/ (year-end balance from "
        "the accepted annual reports, the member schools from the roster)")
    spec = spec_mod.load(surplus.KIND)
    with Ledger(ws.ledger_path) as ledger:
        prefills = {i.partnership: history.typed_values(spec, i.prefill_json)
                    for i in ledger.issued_for(surplus.KIND, str(fy), None)}
    sent = []
    for path in issued:
        partnership = next(p for p in DECISIONS if f" - {p} - " in path.name)
        dst = root / returns / f"{fy} Surplus" / path.name
        type_into(path, dst, decision_values(partnership, prefills[partnership]["year_end_balance"], fy))
        sent.append(dst)
    who, what, fix = SURPLUS_PROBLEM
    out(f"[S3/4] The partnerships decide; {who} {what}:")
    reports = ingest(ws, sent)
    print_reports(out, reports, rel)
    corrected = []
    for r in reports:
        if not r.ok and r.identity and "feedback" in r.extra:
            dst = root / returns / f"{fy} Surplus corrected" / Path(r.file).name
            type_into(Path(r.extra["feedback"]), dst, fix)
            corrected.append(dst)
    out(f"        {who} corrects the date in its FEEDBACK workbook and sends it back")
    print_reports(out, ingest(ws, corrected), rel)
    result = consolidate(ws, fy, None, None)
    s = result.data.surplus
    assert s is not None
    out(f"[S4/4] Consolidated: sheets Surplus and Surplus payments, {rel(result.csv[-1])}:")
    for ln in s.lines:
        paid = ln.payments()
        kept = ln.kept_total()
        shared = ln.amount("shared") or Decimal(0)
        out(f"        {ln.partnership:<8} {ln.label:<14} kept {kept:>10,.2f}  shared {shared:>10,.2f} among "
            f"{len(paid)} schools (payments add up to {sum((p.amount for p in paid), Decimal(0)):,.2f})")
    return result
