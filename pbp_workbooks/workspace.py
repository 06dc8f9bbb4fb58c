"""The LA officer's workspace folder: pbp.toml, roster.xlsx and .pbp/ (ledger, archive)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from . import config
from .errors import ConfigError

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


def find(start: Path | None = None) -> Workspace:
    """The workspace holding ``start`` (default: $PBP_WORKSPACE or the current folder),
    looking upwards like git does."""
    env = os.environ.get("PBP_WORKSPACE")
    here = (start or Path(env or ".")).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_NAME).is_file():
            return Workspace(candidate)
    raise ConfigError(f"no pbp.toml in {here} or above: run 'pbp init DIR' first, then work inside DIR")
