from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="returned workbooks, emails carrying them (.eml, Outlook .msg), or folders of them")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")


def run(args: argparse.Namespace) -> int:
    from ..ingest import ingest
    from ..progress import progress
    from ..workspace import find
    from ._output import emit

    ws = find()
    reports = ingest(ws, args.paths, progress=progress)
    return emit(reports, args.json)
