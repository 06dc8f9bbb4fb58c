from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", required=True, help="financial year, e.g. 2025-26")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--quarter", help="1-4: chase the quarterly returns for this quarter")
    which.add_argument("--annual", action="store_true", help="chase the annual reports for the year")
    p.add_argument("--json", action="store_true", help="print who is chased and why, as JSON")
    p.add_argument("--dry-run", action="store_true", help="say who would be chased; write no drafts")


def run(args: argparse.Namespace) -> int:
    import json

    from pbp_workbooks.base.periods import FinancialYear, parse_quarter
    from pbp_workbooks.base.workspace import find
    from pbp_workbooks.reports.reminders import who, write_reminders

    fy = FinancialYear.parse(args.year)
    quarter = None if args.annual else parse_quarter(args.quarter)
    ws = find()
    chases = who(ws, fy, quarter)
    if not args.dry_run:
        chases = write_reminders(ws, chases)
    if args.json:
        print(json.dumps([c.to_json(ws.root) for c in chases], indent=2, ensure_ascii=False))
        return 0
    period = f"{fy} Q{quarter}" if quarter else f"{fy} annual report"
    if not chases:
        print(f"Nobody to chase for {period}: every return issued has been received and accepted.")
        return 0
    verb = "would be chased" if args.dry_run else "chased"
    for c in chases:
        data = c.to_json(ws.root)
        print(f"{c.partnership:<12} {c.reason}")
        print(f"             to {c.to or '(no finance contact in roster.xlsx: fill in To)'}; attached: "
              f"{data['attachment'] or 'nothing (the workbook was not found)'}")
        if data["draft"]:
            print(f"             reminder draft: {data['draft']}")
    print(f"{len(chases)} provision(s) {verb} for {period}."
          + ("" if args.dry_run else " Open each draft in your mail program, check it and send it."))
    return 0
