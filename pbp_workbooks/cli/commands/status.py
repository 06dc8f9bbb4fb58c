from __future__ import annotations

import argparse
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", required=True, help="financial year, e.g. 2025-26")
    p.add_argument("--quarter", help="1-4 (default: every quarter and the annual report)")
    p.add_argument("--trail", action="store_true",
                   help="also show when and how each version arrived (by email: from whom, subject, attachment)")
    p.add_argument("--json", action="store_true", help="machine-readable output (always carries the trail)")


def run(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from pbp_workbooks.base.periods import FinancialYear, parse_quarter
    from pbp_workbooks.base.workspace import find
    from pbp_workbooks.ledger.mail_trail import arrival_line
    from pbp_workbooks.reports.reminders import chase_reason
    from pbp_workbooks.reports.status import state_text, status_rows
    from pbp_workbooks.spec.model import available, load

    fy = FinancialYear.parse(args.year)
    quarter = parse_quarter(args.quarter) if args.quarter is not None else None
    ws = find()
    rows = status_rows(ws, fy, quarter)
    today = datetime.now(UTC).date()
    per_school = {k for k in available() if load(k).per_school}
    for r in rows:
        # why pbp chase would send a reminder, or null (it writes to the provisions' finance contacts:
        # a return issued to each member school is not chased)
        r["chase"] = None if r["kind"] in per_school else chase_reason(r, today)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'period':<18} {'partnership':<12} {'state':<24} {'official':>8} {'received':>8}  due         late")
    for r in rows:
        official = f"v{r['official_version']}" if r["official_version"] else "-"
        state = state_text(r)
        print(f"{r['period']:<18} {r['partnership']:<12} {state:<24} {official:>8} {r['received']:>8}  "
              f"{r['due'] or '-':<11} {'LATE' if r['late'] else ''}"
              + (f"  {r['school']} ({r['urn']})" if r["kind"] in per_school else ""))
        if args.trail:
            for v in r["versions"]:
                print(f"    {arrival_line(v)}")
    done = sum(1 for r in rows if r["official_version"])
    print(f"{done} of {len(rows)} returns accepted; {sum(r['state'] == 'missing' for r in rows)} missing; "
          f"{sum(r['late'] for r in rows)} late.")
    chase = [r for r in rows if r["chase"]]
    if chase:
        periods = sorted({(r["quarter"] or 5, r["period"]) for r in chase})
        how = "; ".join(f"pbp chase --year {fy} " + (f"--quarter {q}" if q != 5 else "--annual") for q, _ in periods)
        print(f"{len(chase)} would be chased (missing or rejected): {how}")
    if quarter is None:
        _sla_reviews_due(ws, today)
    return 0


def _sla_reviews_due(ws: Any, today: Any) -> None:
    """The partnerships whose SLA review is due (toolkit section 2), from the roster's dates."""
    from pbp_workbooks.base.roster import load as load_roster
    from pbp_workbooks.reports.sla import reviews_due

    months = ws.config.sla_review_months
    dues = reviews_due(load_roster(ws.roster_path).provisions, today, months)
    due = [d for d in dues if d.due]
    print(f"SLA reviews (a review is due {months} months after the last one, or after the SLA started; "
          f"roster.xlsx, sheet Provisions): {len(due)} of {len(dues)} due.")
    for d in due:
        print(f"  {d.partnership:<12} {d.text()}")
