"""Limits on a received file, the F- codes a refusal carries, and small text helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pbp_workbooks.base.errors import UnreadableFile
from pbp_workbooks.spec import registry

# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """Resource budgets for reading one file.  Exceeding any one refuses the file."""

    max_file_bytes: int = 20 * 2**20  # file on disk
    max_inflated_bytes: int = 100 * 2**20  # sum of all parts actually inflated
    max_part_bytes: int = 50 * 2**20  # one part inflated
    max_ratio: int = 200  # inflated/compressed for any part over 1 MB inflated
    max_cells: int = 200_000  # cells in all sheets read (also caps shared strings)
    max_sheets: int = 50
    max_string_chars: int = 32_767  # Excel's own cell limit; longer strings -> error
    max_zip_entries: int = 10_000  # entries in the zip directory


_RATIO_FLOOR = 1 * 2**20  # the ratio limit applies to parts bigger than this
_CHUNK = 64 * 2**10
_MAX_ROW = 1_048_576
_MAX_COL = 16_384

# --------------------------------------------------------------------------- problems

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")


def _clean(text: object, limit: int = 60) -> str:
    """Make user-controlled text safe for a one-line message."""
    s = _CONTROL.sub(" ", str(text)).strip()
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def problem(code: str, detail: str = "") -> UnreadableFile:
    """Build the :class:`UnreadableFile` for ``code`` with ``detail`` filled in."""
    template = registry.rule(code).message  # validators/common.toml [[file]]
    reason = template.replace("{detail}", _clean(detail, 120)) if "{detail}" in template else template
    reason = _CONTROL.sub(" ", reason)
    return UnreadableFile(code, reason)


def _too_long(where: str, limits: Limits, length: int | None = None) -> str:
    size = f"{length:,} characters" if length is not None else "too many characters"
    return f"{where}: {size}; the limit is {limits.max_string_chars:,}"


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


T = TypeVar("T")


def _guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; anything but UnreadableFile becomes the F-E099 catch-all."""
    try:
        return fn()
    except UnreadableFile:
        raise
    except Exception as exc:  # the whole point: no traceback escapes
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise problem("F-E099", _clean(detail, 90)) from exc


# --------------------------------------------------------------------------- helpers

_COL_CACHE: dict[str, int] = {}
_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_TRUE = frozenset({"1", "true", "on"})


def _col_number(letters: str) -> int:
    n = _COL_CACHE.get(letters)
    if n is None:
        n = 0
        for ch in letters.upper():
            n = n * 26 + (ord(ch) - 64)
        if len(_COL_CACHE) < 20_000:
            _COL_CACHE[letters] = n
    return n


def col_letters(n: int) -> str:
    """1 -> "A", 16384 -> "XFD"."""
    s = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


def _unescape(s: str) -> str:
    """Decode Excel's ``_xHHHH_`` escapes (``_x005F_`` protects a literal one)."""
    if "_x" not in s:
        return s
    out = _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), s)
    if _SURROGATE_RE.search(out):  # pair up escaped UTF-16 halves; replace lone ones
        out = out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return out


def _is_true(v: str | None) -> bool:
    return v is not None and v.strip().lower() in _TRUE
