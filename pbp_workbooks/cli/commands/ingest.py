from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="returned workbooks, emails carrying them (.eml, Outlook .msg), or folders of them")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.base.progress import progress
    from pbp_workbooks.base.workspace import find
    from pbp_workbooks.cli.commands._output import emit
    from pbp_workbooks.intake.ingest import ingest

    ws = find()
    reports = ingest(ws, args.paths, progress=progress)
    return emit(reports, args.json)
