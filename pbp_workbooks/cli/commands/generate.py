from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from pbp_workbooks.spec.model import available

    p.add_argument("kind", choices=available(), help="which return (one per template spec)")
    p.add_argument("--year", required=True, help="financial year, e.g. 2025-26")
    p.add_argument("--quarter", help="1-4 (quarterly returns only)")
    p.add_argument("--out", type=Path, help="output folder (default: the workspace's outbox/<period>)")
    p.add_argument("--reissue", action="store_true",
                   help="issue new workbooks for a period already issued: the ones sent before are superseded, and "
                        "a return made from one of them is refused")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.base.errors import UsageError
    from pbp_workbooks.base.periods import FinancialYear, parse_quarter
    from pbp_workbooks.base.workspace import find
    from pbp_workbooks.workbook.generate import generate

    fy = FinancialYear.parse(args.year)
    if args.kind == "quarterly":
        if args.quarter is None:
            raise UsageError("a quarterly return needs --quarter 1, 2, 3 or 4")
        quarter: int | None = parse_quarter(args.quarter)
    else:
        if args.quarter is not None:
            raise UsageError(f"the {args.kind} return has no quarter; leave out --quarter")
        quarter = None
    ws = find()
    written = generate(ws, args.kind, fy, quarter, args.out, reissue=args.reissue)
    for path in written:
        print(path)
    print(f"{len(written)} workbook(s) written and recorded in the ledger.")
    if written.unlisted:
        print(f"No member schools on the roster for {', '.join(written.unlisted)}: none issued there (add them on the "
              "roster's Member schools sheet, then run the same command again).")
    if written.kept:
        print(f"Already issued for this period, left as they were: {', '.join(written.kept)} "
              "(--reissue replaces them).")
    if written.replaced:
        print(f"Re-issued for {', '.join(written.replaced)}: the workbooks sent before are superseded, and a return "
              "made from one of them is refused (T-E008).")
    return 0
