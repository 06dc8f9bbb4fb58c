from __future__ import annotations

import argparse


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

    fy = FinancialYear.parse(args.year)
    quarter = parse_quarter(args.quarter) if args.quarter is not None else None
    rows = status_rows(find(), fy, quarter)
    today = datetime.now(UTC).date()
    for r in rows:
        r["chase"] = chase_reason(r, today)  # why pbp chase would send a reminder, or null
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'period':<16} {'partnership':<12} {'state':<24} {'official':>8} {'received':>8}  due         late")
    for r in rows:
        official = f"v{r['official_version']}" if r["official_version"] else "-"
        state = state_text(r)
        print(f"{r['period']:<16} {r['partnership']:<12} {state:<24} {official:>8} {r['received']:>8}  "
              f"{r['due'] or '-':<11} {'LATE' if r['late'] else ''}")
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
    return 0
