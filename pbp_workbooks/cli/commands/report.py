"""``pbp report partnership|schools-forum``: the reports the toolkit asks for, as workbooks (and PDFs with --pdf)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="report", metavar="REPORT", required=True)
    part = sub.add_parser("partnership", help="one termly report per partnership, for its meeting and the host "
                                              "school's governing body", description=(
        "One report workbook per partnership for a quarter: budget against actual to date and forecast by "
        "category, the balance and surplus plan, items over the large-item threshold, placements outside key "
        "stage, a chart, and which returns it rests on (from the official quarterly returns)."))
    part.add_argument("--year", required=True, help="financial year, e.g. 2025-26")
    part.add_argument("--quarter", required=True, help="1-4: the quarter reported on")
    forum = sub.add_parser("schools-forum", help="the LA's annual monitoring report to Schools Forum on spend and "
                                                 "impact", description=(
        "The annual report to Schools Forum across partnerships: allocation, spend and balance from the official "
        "Q4 returns; KPIs met and pupils supported from the annual reports (small numbers suppressed); charts."))
    forum.add_argument("--year", required=True, help="financial year, e.g. 2025-26")
    for sp, default in ((part, "reports/<year> Q<n>/partnership reports/"), (forum, "reports/<year>/")):
        sp.add_argument("--out", type=Path, help=f"output folder (default: {default} in the workspace)")
        sp.add_argument("--pdf", action="store_true", help="also print each report to PDF (A4) with LibreOffice")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.base.errors import Interrupted
    from pbp_workbooks.base.periods import FinancialYear, parse_quarter
    from pbp_workbooks.base.workspace import find
    from pbp_workbooks.reports.report_make import forum_report, partnership_reports
    from pbp_workbooks.reports.report_pdf import to_pdf

    fy = FinancialYear.parse(args.year)
    ws = find()
    try:
        if args.report == "partnership":
            data, written = partnership_reports(ws, fy, parse_quarter(args.quarter), args.out)
            print(f"Partnership reports for {data.period}, from the official (latest accepted) returns:")
            for ln in data.headline():
                lines = [data.lines[(ln.partnership, q)] for q in data.quarters]
                rests = ", ".join(f"Q{x.quarter} v{x.official.version}" if x.figures and x.official else
                                  f"Q{x.quarter} none" for x in lines)
                print(f"  {ln.partnership:<14} {ln.label:<34} rests on: {rests}")
        else:
            forum, path = forum_report(ws, fy, args.out)
            written = [path]
            n = len(forum.lines)
            print(f"Schools Forum report {fy}: money from {sum(1 for x in forum.lines if x.q4)} of {n} Q4 returns"
                  + ("" if forum.q4_issued else " (Q4 not issued yet)")
                  + f", KPIs and pupils from {sum(1 for x in forum.lines if x.kpis)} of {n} annual reports")
        for path in written:
            print(f"workbook:  {path}", flush=True)
        for path in to_pdf(written) if args.pdf else []:
            print(f"pdf:       {path}")
    except KeyboardInterrupt:
        raise Interrupted("interrupted: report records nothing, and each file it wrote is complete; run the same "
                          "command again to finish") from None
    return 0
