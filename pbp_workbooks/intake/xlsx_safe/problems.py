"""Limits on a received file, the F- codes a refusal carries, and small text helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pbp_workbooks.base.errors import UnreadableFile

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

#: code -> (title, message).  A message may contain one ``{detail}`` placeholder that is
#: filled in when the problem is raised; everything else is the literal text sent back.
FILE_PROBLEMS: dict[str, tuple[str, str]] = {
    "F-E001": (
        "not a file",
        "This path {detail}. Give the path of the .xlsx file itself.",
    ),
    "F-E002": (
        "symbolic link",
        ("This path is a symbolic link, which is never followed for safety. Give the path of the real .xlsx file."),
    ),
    "F-E003": (
        "empty file",
        (
            "This file is empty (0 bytes); it was probably not saved or attached properly. "
            "Save the return again in Excel and resend it."
        ),
    ),
    "F-E004": (
        "file too large",
        (
            "This file is too large to be a return ({detail}). Check you attached the right "
            "file; remove pictures or pasted data and send it again."
        ),
    ),
    "F-E005": (
        "password-protected (encrypted)",
        (
            "This file is password-protected (encrypted). Remove the password in Excel "
            "(File > Info > Protect Workbook) and send it again."
        ),
    ),
    "F-E006": (
        "old Excel 97-2003 .xls",
        ("This is an old Excel 97-2003 .xls file. Open the template you were sent and save it as Excel Workbook (.xlsx)."),
    ),
    "F-E007": (
        "another kind of document",
        ("This is {detail}, not an Excel workbook. Send the completed return template saved as Excel Workbook (.xlsx)."),
    ),
    "F-E008": (
        "text or CSV file",
        (
            "This is a text or CSV file, not an Excel workbook. Enter the figures in the "
            "template you were sent and save it as Excel Workbook (.xlsx)."
        ),
    ),
    "F-E009": (
        "web page (HTML)",
        (
            "This is a web page (HTML) with a spreadsheet name, not an Excel workbook. Enter "
            "the figures in the template you were sent and save it as Excel Workbook (.xlsx)."
        ),
    ),
    "F-E010": (
        "PDF document",
        (
            "This is a PDF document, not an Excel workbook. Send the completed template "
            "itself, saved as Excel Workbook (.xlsx), not a printout or PDF of it."
        ),
    ),
    "F-E011": (
        "unrecognised format",
        ("This file is not an Excel workbook ({detail}). Send the completed template saved as Excel Workbook (.xlsx)."),
    ),
    "F-E012": (
        "OpenDocument spreadsheet (.ods)",
        (
            "This is an OpenDocument spreadsheet (.ods), e.g. from LibreOffice. Open the "
            "template you were sent and save it as Excel Workbook (.xlsx)."
        ),
    ),
    "F-E013": (
        "Excel binary workbook (.xlsb)",
        ("This is an Excel Binary Workbook (.xlsb). Open the template you were sent and save it as Excel Workbook (.xlsx)."),
    ),
    "F-E014": (
        "macro-enabled workbook",
        (
            "This looks like a macro-enabled workbook (.xlsm); save it as Excel Workbook "
            "(.xlsx) from the template you were sent."
        ),
    ),
    "F-E015": (
        "Strict Open XML",
        (
            "This workbook was saved as Strict Open XML Spreadsheet; save it as Excel "
            "Workbook (.xlsx) from the template you were sent and send it again."
        ),
    ),
    "F-E016": (
        "zip archive, not a workbook",
        (
            "This is a zip archive, not an Excel workbook ({detail}). Send the .xlsx return "
            "itself, saved from the template you were sent."
        ),
    ),
    "F-E017": (
        "damaged file",
        (
            "This file is damaged or incomplete ({detail}); it may have been cut off in "
            "transfer. Save it again in Excel as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E018": (
        "unsafe entry names",
        (
            "This file was packed with an entry name Excel never writes ({detail}) and is "
            "refused for safety. Save the return from Excel as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E019": (
        "duplicate entries",
        (
            "This file contains the part {detail} twice, which Excel never writes. Save the "
            "return from Excel as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E020": (
        "zip-encrypted contents",
        (
            "The contents of this file are encrypted with a zip password, which Excel does "
            "not use. Send the return as a normal Excel Workbook (.xlsx)."
        ),
    ),
    "F-E021": (
        "unusual compression",
        (
            "This file was packed with a compression method Excel does not use ({detail}). "
            "Save it from Excel as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E022": (
        "expands too much",
        (
            "This file unpacks to far more data than a return can hold ({detail}); it may be "
            "damaged or malformed. Send the completed template saved as Excel Workbook (.xlsx)."
        ),
    ),
    "F-E023": (
        "XML declarations refused",
        (
            "This file contains XML declarations (DTD or entities) that Excel never writes "
            "({detail}). Save the return from Excel as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E024": (
        "malformed XML",
        (
            "This file is damaged: part {detail} is not valid XML. Open it in Excel, save it "
            "as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E025": (
        "too many sheets",
        (
            "This workbook has too many sheets to be a return ({detail}). Use the template "
            "you were sent without adding sheets."
        ),
    ),
    "F-E026": (
        "too much data",
        (
            "This workbook holds too much data to be a return ({detail}). Use the template "
            "you were sent, without pasted data or extra sheets."
        ),
    ),
    "F-E027": (
        "cell outside Excel's grid",
        (
            "This file refers to a cell Excel cannot have ({detail}), so it was not written "
            "correctly. Save it from Excel as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E028": (
        "text too long",
        (
            "A cell holds more text than Excel allows in one cell ({detail}). Shorten it in "
            "the template and send the return again."
        ),
    ),
    "F-E029": (
        "broken workbook structure",
        (
            "This workbook is incomplete or inconsistent ({detail}). Open it in Excel, save "
            "it as Excel Workbook (.xlsx) and resend it."
        ),
    ),
    "F-E099": (
        "unreadable file",
        (
            "This file could not be read as an Excel workbook ({detail}). Save it as Excel "
            "Workbook (.xlsx) from the template you were sent."
        ),
    ),
}

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")


def _clean(text: object, limit: int = 60) -> str:
    """Make user-controlled text safe for a one-line message."""
    s = _CONTROL.sub(" ", str(text)).strip()
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def problem(code: str, detail: str = "") -> UnreadableFile:
    """Build the :class:`UnreadableFile` for ``code`` with ``detail`` filled in."""
    template = FILE_PROBLEMS[code][1]
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
