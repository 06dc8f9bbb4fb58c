from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", required=True, help="financial year, e.g. 2025-26")
    p.add_argument("--quarter", help="1-4: the period to consolidate (default: the latest quarter issued, plus the annual "
                        "overview when the LA has accepted annual reports for the year)")
    p.add_argument("--out", type=Path,
                   help="output folder (default: the workspace's reports folder, reports/<year> Q<n>/)")
    p.add_argument("--no-summaries", action="store_true", help="skip the headteacher summary workbooks")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.base.errors import Interrupted
    from pbp_workbooks.base.periods import FinancialYear, parse_quarter
    from pbp_workbooks.base.progress import progress
    from pbp_workbooks.base.workspace import find
    from pbp_workbooks.reports.consolidate import consolidate

    fy = FinancialYear.parse(args.year)
    quarter = parse_quarter(args.quarter) if args.quarter is not None else None
    ws = find()
    try:
        out = consolidate(ws, fy, quarter, args.out, summaries=not args.no_summaries, progress=progress)
    except KeyboardInterrupt:
        raise Interrupted("interrupted: consolidate records nothing, and each file it wrote is complete; run the "
                          "same command again to finish") from None
    data = out.data
    lines = data.headline()
    print(f"Consolidated {data.period} from the official (latest accepted) returns:")
    shown = 40
    for ln in lines[:shown]:
        f = ln.figures
        figures = (f"outturn £{f.outturn:,.2f}, balance £{f.forecast_balance:,.2f}, {f.rag_label}"
                   if f is not None and f.outturn is not None and f.forecast_balance is not None else "no figures")
        print(f"  {ln.partnership:<14} {ln.label:<34} {figures}")
    if len(lines) > shown:
        print(f"  ... and {len(lines) - shown} more (see the workbook's Summary sheet)")
    accepted = sum(1 for ln in lines if ln.figures is not None)
    print(f"{accepted} of {len(lines)} provisions included; {len(lines) - accepted} shown as missing or rejected.")
    print(f"workbook:  {out.workbook}")
    for p in out.csv:
        print(f"csv:       {p}")
    print(f"schema:    {out.datapackage}  (Frictionless Data Package: 'frictionless validate' checks the CSV)")
    if data.annual is not None:
        a = data.annual
        print(f"annual:    overview of {len(a.accepted())} of {len(a.lines)} accepted annual reports (sheets Annual KPIs, "
              "Annual pupils, Annual delivery; small numbers suppressed)")
    if data.sla is not None:
        s = data.sla
        replied = sum(1 for r in s.schools if r.replied)
        print(f"sla:       SLA reviews from {replied} of {len(s.schools)} member schools (sheet SLA review; "
              f"{len(s.not_replied())} not replied)")
    if out.summaries:
        print(f"summaries: {len(out.summaries)} in {out.folder}")
    return 0
