from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", type=Path, default=Path("pbp-demo"),
                   help="folder for the demo (default: ./pbp-demo); must be new, empty or a previous demo")
    p.add_argument("--pdf", action="store_true", help="also print the reports to PDF with LibreOffice (slower)")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.demo.run import run_demo

    return run_demo(args.dir, pdf=args.pdf)
