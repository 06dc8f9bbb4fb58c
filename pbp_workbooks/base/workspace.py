"""The LA officer's workspace folder: pbp.toml, roster.xlsx and .pbp/ (ledger, archive)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pbp_workbooks.base import config
from pbp_workbooks.base.errors import ConfigError

CONFIG_NAME = "pbp.toml"
ROSTER_NAME = "roster.xlsx"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def roster_path(self) -> Path:
        return self.root / ROSTER_NAME

    @property
    def state_dir(self) -> Path:
        return self.root / ".pbp"

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / "ledger.sqlite"

    @property
    def archive_dir(self) -> Path:
        return self.state_dir / "archive"

    @cached_property
    def config(self) -> config.Config:
        return config.load(self.config_path)

    def folder(self, name: str) -> Path:
        return self.root / getattr(self.config, name)


class NoWorkspace(ConfigError):
    """No pbp.toml here or above (``pbp validate`` can still work without one)."""


def find(start: Path | None = None) -> Workspace:
    """The workspace holding ``start`` (default: $PBP_WORKSPACE or the current folder),
    looking upwards like git does. Its pbp.toml is read here, so every command stops on a
    broken one (exit 2, naming the file) before doing anything."""
    env = os.environ.get("PBP_WORKSPACE")
    if start is None and env:
        given = Path(env)
        if not given.is_dir():
            what = "is not a folder" if given.exists() else "no such folder"
            raise ConfigError(f"PBP_WORKSPACE={env}: {what}; set it to the workspace folder (the one holding "
                              f"{CONFIG_NAME}) or unset it")
    here = (start or Path(env or ".")).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            ws = Workspace(candidate)
            ws.config  # noqa: B018 - read now: a broken pbp.toml stops every command
            return ws
    raise NoWorkspace(f"no pbp.toml in {here} or above: run 'pbp init DIR' first, then work inside DIR")
