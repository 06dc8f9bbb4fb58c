"""The `pbp` command. Sub-commands live in pbp_workbooks/commands/, one module each,
imported only when used (so `pbp --help` stays fast). Errors become exit codes here."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from pbp_workbooks import __version__
from pbp_workbooks.base.errors import PbpError

COMMANDS = {
    "init": "create a workspace: pbp.toml, a sample roster.xlsx and the ledger",
    "generate": "write one locked workbook per provision for a period",
    "validate": "check returned workbooks and report every problem (records nothing)",
    "ingest": "archive, validate and record returned workbooks or the emails carrying them; write feedback and "
              "reply drafts",
    "status": "which provisions have sent what, what was accepted, what is missing or late",
    "chase": "write reminder email drafts for the returns of a period that are missing or rejected",
    "spec": "print a template's fields (defined names, cells, types, rules), or its field rules as a pandera schema",
    "roster": "check roster.xlsx: every problem with its sheet and cell, or what it holds",
    "consolidate": "build the LA consolidated workbook, headteacher summaries and CSV for a period",
    "report": "write the partnership termly reports or the Schools Forum annual report (and PDFs with --pdf)",
    "demo": "run the whole loop on sample data in a new folder (init, generate, fill, ingest, consolidate)",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pbp",
        description="Quarterly returns and annual reports for Primary Behaviour Provisions, in Excel.",
        epilog="Exit codes: 0 all accepted, 1 a file rejected or unreadable, 2 usage or configuration error, "
               "130 interrupted (run the same command again to finish).",
    )
    p.add_argument("--version", action="version", version=f"pbp-workbooks {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(f".commands.{name}", __package__)
        module.add_arguments(sp)
        sp.set_defaults(module=module)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.module.run(args))
    except PbpError as err:
        print(f"pbp: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # a command with nothing to count (validate, status...): nothing half done
        print("pbp: interrupted; nothing was left half done: run the same command again to finish", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as err:
        if type(err).__module__ == "sqlite3" and not os.environ.get("PBP_DEBUG"):  # the ledger failed mid-command
            print(f"pbp: the workspace's ledger (.pbp/ledger.sqlite) could not be used ({err}); nothing more was "
                  "recorded. Run the command again; if this persists, restore the ledger from a backup",
                  file=sys.stderr)
            return 2
        if os.environ.get("PBP_DEBUG"):
            raise
        print(f"pbp: internal error ({type(err).__name__}: {err}); run again with PBP_DEBUG=1 and report it",
              file=sys.stderr)
        return 1
