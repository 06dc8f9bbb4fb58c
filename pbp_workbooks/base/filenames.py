"""File names: the files a command was given, names a person can read and every file
system accepts, and writing a file so that it appears whole or not at all."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from pbp_workbooks.base.errors import UsageError

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')


def safe_file_name(text: str) -> str:
    return _UNSAFE.sub("-", text).strip(" .")[:180]


def fit(name: str, max_bytes: int = 200) -> str:
    """Cut a file name to max_bytes of UTF-8: names are limited in bytes (255), not characters,
    and a writer's temporary file adds a few more."""
    return name.encode("utf-8")[:max_bytes].decode("utf-8", "ignore").rstrip(" .")


def write_atomic(path: Path, build: Callable[[Path], None]) -> Path:
    """``build`` writes a hidden temporary beside ``path`` (``.<name>.<pid>.tmp``, the pattern
    ingest sweeps after a crash), which then replaces ``path`` in one step."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        build(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def expand(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """(path, shown) for each file given; folders are walked (sorted), skipping hidden files
    and Office lock files. A folder with no file to take is listed itself, so it gets a report
    ("a folder with no files in it") beside the other files; given nothing else, it is a
    UsageError (exit 2): "no files found in FOLDER"."""
    out: list[tuple[Path, str]] = []
    empty: list[str] = []
    for p in paths:
        try:
            st = p.lstat()
        except OSError:
            out.append((p, shown(p)))
            continue
        if stat.S_ISDIR(st.st_mode):
            before = len(out)
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith((".", "~$")):
                        continue
                    full = Path(root) / name
                    out.append((full, shown(full)))
            if len(out) == before:  # nothing in it to take: say so rather than stay silent
                out.append((p, shown(p)))
                empty.append(shown(p))
        else:
            out.append((p, shown(p)))
    if empty and len(out) == len(empty):
        raise UsageError(f"no files found in {', '.join(empty)}")
    return out


def shown(path: Path) -> str:
    """The path as text that can be printed, stored in the ledger and sent as JSON. A name
    that is not valid UTF-8 (made on another system) shows U+FFFD for the bytes it cannot."""
    text = str(path)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
