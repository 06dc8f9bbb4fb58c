from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="returned workbooks to check")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.base.errors import ConfigError
    from pbp_workbooks.base.filenames import expand
    from pbp_workbooks.base.workspace import NoWorkspace, find
    from pbp_workbooks.cli.commands._output import emit
    from pbp_workbooks.intake.validation import limits_from, validate_paths
    from pbp_workbooks.ledger.store import Ledger

    try:
        ws = find()
    except NoWorkspace:  # outside a workspace: check everything but the issue token
        from pbp_workbooks.base.config import Config

        cfg, ledger = Config(), None
    else:  # inside one: its settings and records, or a clear error (exit 2), never silent defaults
        cfg = ws.config
        if not ws.ledger_path.is_file():  # validate records nothing: it must not create a ledger either
            raise ConfigError(f"{ws.ledger_path} is missing: it holds the LA's record of issued workbooks. "
                              "Restore it from a backup, or run 'pbp init' in a new folder")
        ledger = Ledger(ws.ledger_path)
    try:
        checked = validate_paths(expand(args.files), ledger=ledger,
                                 params=cfg.thresholds.params(), limits=limits_from(cfg))
    finally:
        if ledger is not None:
            ledger.close()
    if ledger is None:  # say so: "accepted" outside a workspace does not mean the LA issued it
        for c in checked:
            if c.report.identity is not None:
                c.report.extra["token_checked"] = False
    return emit([c.report for c in checked], args.json)
