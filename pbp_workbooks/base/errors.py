"""One exception hierarchy; the CLI maps it to messages and exit codes in one place."""

from __future__ import annotations


class PbpError(Exception):
    """A problem the user can fix. ``str(err)`` is one line meant for a person."""

    exit_code = 1


class UsageError(PbpError):
    """Bad command-line use (exit 2)."""

    exit_code = 2


class ConfigError(PbpError):
    """pbp.toml, the roster or the workspace is wrong (exit 2)."""

    exit_code = 2


class SpecError(PbpError):
    """A template spec or rule file is malformed: a bug in the shipped data (exit 2)."""

    exit_code = 2


class UnreadableFile(PbpError):
    """A received file cannot be read as a return at all.

    ``code`` is a stable rule code (``F-E...``), ``reason`` the one-line message that
    tells the sender what to do.
    """

    exit_code = 1

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Interrupted(PbpError):
    """Ctrl-C: the work stopped at a safe point; the message says how far it got (exit 130)."""

    exit_code = 130
