from __future__ import annotations

import argparse
from pathlib import Path

from pbp_workbooks.base.errors import ConfigError
from pbp_workbooks.base.workspace import CONFIG_NAME, Workspace


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="folder for the workspace (created if missing)")
    p.add_argument("--password", help="sheet protection password (default: a random one)")


def run(args: argparse.Namespace) -> int:
    from pbp_workbooks.base import config, roster
    from pbp_workbooks.ledger.store import Ledger

    root: Path = args.dir
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} exists and is not a folder")
    if (root / CONFIG_NAME).exists():
        raise ConfigError(f"{root} is already a pbp workspace ({CONFIG_NAME} exists); nothing was changed")
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root.resolve())
    ws.state_dir.mkdir(exist_ok=True)
    ws.archive_dir.mkdir(exist_ok=True)
    if not ws.roster_path.exists():
        roster.write_sample(ws.roster_path)
    Ledger(ws.ledger_path).close()
    ws.config_path.write_text(config.default_text(args.password), encoding="utf-8")
    print(f"Created a pbp workspace in {ws.root}")
    print(f"  {CONFIG_NAME}      settings: thresholds, protection password, folders, email addresses")
    print("  roster.xlsx   the LA's provisions, allocations, due dates and member schools (sample data: edit it)")
    print("  .pbp/         the ledger (ledger.sqlite) and the archive of received files")
    print(f"Next: cd {root} && pbp generate quarterly --year 2025-26 --quarter 2")
    return 0
