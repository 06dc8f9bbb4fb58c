"""Safe, low-level reader for .xlsx returns sent in by schools.

Threat model
------------
Files come by e-mail from dozens of people using different programs.  Most are honest
but many are broken (truncated, re-packed, saved in the wrong format) and a few may be
hostile.  Reading one must never: follow a symlink, read an unbounded amount from disk,
extract anything to disk, trust sizes declared inside the zip, inflate more than a fixed
budget (zip bombs), resolve a DTD or entity (billion laughs, XXE), build a DOM of a
large part, or let an unexpected exception escape as a traceback.  Every refusal is an
:class:`~pbp_workbooks.errors.UnreadableFile` with a stable ``F-E...`` code from
:data:`FILE_PROBLEMS` and a one-line message telling the sender what to do.

How
---
The file is checked with ``lstat`` (regular file, size limit) and read once into memory
through an ``O_NOFOLLOW`` descriptor.  The bytes are classified cheaply (OLE2: encrypted
OOXML vs legacy .xls vs other; zip; PDF/HTML/CSV/...).  Zip entries are vetted (names,
duplicates, encryption, compression method, declared sizes) before any is opened; parts
are inflated in 64 KiB chunks with running per-part, total and ratio budgets and fed
straight into expat with DTDs and entities refused.  Sheets are parsed lazily and cached.
Nothing here uses openpyxl.
"""

from __future__ import annotations

import codecs
import errno
import io
import math
import os
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, TypeVar
from urllib.parse import unquote
from xml.parsers import expat

from pbp_workbooks.errors import UnreadableFile

__all__ = [
    "FILE_PROBLEMS",
    "Limits",
    "RawCell",
    "RawSheet",
    "RawWorkbook",
    "SheetInfo",
    "col_letters",
    "open_workbook",
    "problem",
    "read_bounded",
    "sniff",
    "zip_entries",
]

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


# --------------------------------------------------------------------------- data model

SheetState = Literal["visible", "hidden", "veryHidden"]
SheetKind = Literal["worksheet", "chartsheet", "dialogsheet"]
CellType = Literal["n", "s", "str", "inlineStr", "b", "e", "d"]
CellValue = str | float | bool | None


@dataclass(frozen=True, slots=True)
class SheetInfo:
    """One entry of the workbook's sheet list."""

    name: str
    state: SheetState
    part: str  # zip member name, resolved through the workbook relationships
    kind: SheetKind = "worksheet"


class RawCell(NamedTuple):
    """One ``<c>`` element (an immutable named tuple: cheap to build 200,000 of).

    ``value``: shared/inline strings resolved; numbers as float; booleans as bool; error
    cells (and NaN/INF numbers) as the error text, e.g. ``"#NUM!"``; ``t="d"`` cells as
    the ISO text.  ``raw``: the ``<v>`` text (the resolved text for ``s``/``inlineStr``)
    so callers can parse money exactly with ``Decimal``.  ``formula``: the ``<f>`` text
    without a leading ``=``; followers of a shared formula carry the master's text and
    ``shared=True``.  ``locked``: the cell-format protection (Excel default: locked).
    """

    value: CellValue
    raw: str | None
    type: CellType | None
    formula: str | None
    shared: bool
    style: int
    locked: bool


@dataclass(slots=True)
class RawSheet:
    """A parsed worksheet: only the cells present in the XML."""

    name: str
    protected: bool
    cells: dict[str, RawCell]
    max_row: int
    max_col: int


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


# --------------------------------------------------------------------------- file access


def _read_file(path: Path, limits: Limits) -> bytes:
    """Read the whole file once, refusing anything but a bounded regular file."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise problem("F-E001", "does not exist") from None
    except NotADirectoryError:
        raise problem("F-E001", "does not exist") from None
    except OSError as exc:
        raise problem("F-E001", f"cannot be examined ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISLNK(st.st_mode):
        raise problem("F-E002")
    if stat.S_ISDIR(st.st_mode):
        raise problem("F-E001", "is a folder with no files in it (hidden files and ~$ lock files are skipped)")
    if not stat.S_ISREG(st.st_mode):
        raise problem("F-E001", "is not a regular file (a device, pipe or socket)")
    _check_size(st.st_size, limits)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if getattr(os, "O_NOFOLLOW", 0) and exc.errno == errno.ELOOP:
            raise problem("F-E002") from None
        raise problem("F-E001", f"cannot be opened ({exc.strerror or type(exc).__name__})") from None
    try:
        st2 = os.fstat(fd)
        if not stat.S_ISREG(st2.st_mode) or (st2.st_ino, st2.st_dev) != (st.st_ino, st.st_dev):
            raise problem("F-E001", "changed while it was being opened")
        _check_size(st2.st_size, limits)
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, limits.max_file_bytes + 1 - total))
            except OSError as exc:
                raise problem("F-E001", f"cannot be read ({exc.strerror or type(exc).__name__})") from None
            if not chunk:
                break
            total += len(chunk)
            if total > limits.max_file_bytes:
                raise problem("F-E004", f"more than {_mb(limits.max_file_bytes)}")
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if not data:
        raise problem("F-E003")
    return data


def _check_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise problem("F-E003")
    if size > limits.max_file_bytes:
        raise problem("F-E004", f"{_mb(size)}; the limit is {_mb(limits.max_file_bytes)}")


# --------------------------------------------------------------------------- non-zip formats

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_FREE = 0xFFFFFFFF
_OLE_END = 0xFFFFFFFE
_OLE_NAMES_OF_INTEREST = (
    "EncryptionInfo",
    "EncryptedPackage",
    "Workbook",
    "Book",
    "WordDocument",
    "PowerPoint Document",
    "__substg1.0_",
    "__properties_version1.0",
)


def _ole_directory_names(data: bytes) -> set[str]:
    """Stream/storage names from an OLE2 compound file's directory (bounded walk)."""
    if len(data) < 512:
        return set()
    sector_shift = struct.unpack_from("<H", data, 0x1E)[0]
    if sector_shift not in (9, 12):
        return set()
    ssize = 1 << sector_shift
    nsectors = max(0, (len(data) - 512) // ssize)

    def sector(n: int) -> bytes:
        if n >= nsectors:
            raise ValueError("sector out of range")
        off = 512 + n * ssize
        return data[off : off + ssize]

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s not in (_OLE_FREE, _OLE_END)]
    difat = struct.unpack_from("<I", data, 0x44)[0]
    seen: set[int] = set()
    while difat not in (_OLE_FREE, _OLE_END) and difat not in seen and len(seen) < nsectors:
        seen.add(difat)
        entries = struct.unpack(f"<{ssize // 4}I", sector(difat))
        fat_sectors.extend(s for s in entries[:-1] if s not in (_OLE_FREE, _OLE_END))
        difat = entries[-1]
    per_sector = ssize // 4

    def next_sector(n: int) -> int:
        """FAT lookup for sector ``n`` without materialising the whole FAT."""
        idx, slot = divmod(n, per_sector)
        if idx >= len(fat_sectors):
            return _OLE_END
        return int(struct.unpack_from("<I", sector(fat_sectors[idx]), slot * 4)[0])

    names: set[str] = set()
    cur = struct.unpack_from("<I", data, 0x30)[0]
    visited: set[int] = set()
    while cur not in (_OLE_FREE, _OLE_END) and cur not in visited and len(visited) <= nsectors:
        visited.add(cur)
        block = sector(cur)
        for off in range(0, ssize, 128):
            entry = block[off : off + 128]
            if len(entry) < 128:
                break
            name_len = struct.unpack_from("<H", entry, 0x40)[0]
            if 2 <= name_len <= 64 and entry[0x42] in (1, 2, 5):
                names.add(entry[: name_len - 2].decode("utf-16-le", "replace"))
        cur = next_sector(cur)
    return names


def _classify_ole(data: bytes) -> UnreadableFile:
    try:
        names = _ole_directory_names(data)
    except (ValueError, struct.error, IndexError):
        names = set()
    if not names:  # damaged directory: fall back to a cheap scan for the UTF-16LE names
        names = {n for n in _OLE_NAMES_OF_INTEREST if n.encode("utf-16-le") in data}
    low = {n.lower() for n in names}
    if "encryptioninfo" in low or "encryptedpackage" in low:
        return problem("F-E005")
    if "workbook" in low or "book" in low:
        return problem("F-E006")
    if "worddocument" in low:
        return problem("F-E007", "a Word 97-2003 document (.doc)")
    if "powerpoint document" in low:
        return problem("F-E007", "a PowerPoint 97-2003 presentation (.ppt)")
    if any(n.startswith(("__substg1.0_", "__properties_version1.0")) for n in low):
        return problem("F-E007", "an Outlook e-mail message (.msg); attach the workbook itself")
    return problem("F-E011", "an old-style Office file that is not a workbook, or is damaged")


def _decode_text_head(head: bytes) -> str | None:
    """The head of the file as text if it plausibly is text, else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "ignore")
    else:
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        if b"\x00" in head:
            return None
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            text = head.decode("cp1252", "replace")
    if not text:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    return text if printable >= 0.95 * len(text) else None


def _classify_other(data: bytes) -> UnreadableFile:
    head = data[:4096]
    if b"%PDF-" in head[:1024]:
        return problem("F-E010")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return problem("F-E011", "it is a picture")
    if head.startswith((b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh")):
        return problem("F-E011", "it is a compressed archive; send the .xlsx file itself")
    if head.startswith(b"MZ"):
        return problem("F-E011", "it is a program")
    if head.startswith(b"{\\rtf"):
        return problem("F-E007", "a Rich Text (RTF) document")
    text = _decode_text_head(head)
    if text is None:
        return problem("F-E011", "its contents are in no format we recognise")
    low = text.lstrip().lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in low:
        return problem("F-E011", "it was saved as XML Spreadsheet 2003")
    if low.startswith(("<!doctype html", "<html")) or "<html" in low[:2048] or "<table" in low[:2048]:
        return problem("F-E009")
    if low.startswith("<"):
        return problem("F-E011", "it is an XML data file")
    if "mime-version:" in low[:2048] and "content-type:" in low:
        return problem("F-E007", "a saved e-mail message; attach the workbook itself")
    return problem("F-E008")


# --------------------------------------------------------------------------- XML plumbing

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_STRICT_REL_PREFIX = "http://purl.oclc.org/ooxml/"
_SHEET_NS = ("", _MAIN_NS)


class _Handler:
    """Base for streaming readers: ``start``/``end``/``chars`` receive expat events.

    ``end`` and ``chars`` may be None when a reader needs no such events: expat then does
    not call into Python for them at all (each callback costs about as much as the parse)."""

    part = ""
    end: Callable[[str], None] | None = None
    chars: Callable[[str], None] | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        raise NotImplementedError


def _split(tag: str) -> tuple[str, str]:
    ns, sep, local = tag.rpartition(" ")
    return (ns, local) if sep else ("", tag)


#: expat's "namespace local" tag -> (local name, local name if in the transitional main
#: namespace or none else "", in the Strict namespace); a bounded cache, filled by _tag.
_TAGS: dict[str, tuple[str, str, bool]] = {}


def _tag(tag: str) -> tuple[str, str, bool]:
    ns, local = _split(tag)
    known = (local, local if ns in _SHEET_NS else "", ns == _STRICT_NS)
    if len(_TAGS) < 10_000:
        _TAGS[tag] = known
    return known


def _new_parser(part: str) -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator=" ")

    def refuse(*_args: object) -> None:
        raise problem("F-E023", part)

    def refuse_entity_ref(*_args: object) -> int:
        raise problem("F-E023", part)

    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.NotationDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_entity_ref
    parser.buffer_text = True
    parser.buffer_size = _CHUNK
    return parser


# --------------------------------------------------------------------------- zip package

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    struct.error,
    ValueError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    IndexError,
    KeyError,
)
_ZIP_METHODS = {
    1: "shrink",
    6: "implode",
    9: "Deflate64",
    12: "bzip2",
    14: "LZMA",
    93: "Zstandard",
    95: "XZ",
    98: "PPMd",
    99: "AES",
}


class _Package:
    """A vetted zip held in memory, with inflation budgets shared by all reads."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.limits = limits
        self.inflated = 0
        # zipfile builds a ZipInfo for every central-directory record, whatever the
        # end record claims; each record starts with this signature, so this bounds it.
        count = data.count(b"PK\x01\x02")
        if count > limits.max_zip_entries:
            raise problem("F-E022", f"{count:,} entries; the limit is {limits.max_zip_entries:,}")
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except _ZIP_ERRORS as exc:
            raise problem("F-E017", _zip_detail(exc)) from None
        if len(infos) > limits.max_zip_entries:
            raise problem("F-E022", f"{len(infos):,} entries; the limit is {limits.max_zip_entries:,}")
        self.members: dict[str, zipfile.ZipInfo] = {}
        declared_total = 0
        for info in infos:
            name = info.orig_filename
            if (
                "\\" in name
                or "\x00" in name
                or name.startswith("/")
                or re.match(r"[A-Za-z]:", name)
                or ".." in name.split("/")
            ):
                raise problem("F-E018", f"'{_clean(name, 50)}'")
            key = info.filename.lower()
            if key in self.members:
                raise problem("F-E019", f"'{_clean(info.filename, 50)}'")
            self.members[key] = info
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise problem("F-E020")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                method = _ZIP_METHODS.get(info.compress_type, f"method {info.compress_type}")
                raise problem("F-E021", method)
            self._check_declared(info)
            declared_total += info.file_size
            if declared_total > limits.max_inflated_bytes:
                raise problem(
                    "F-E022",
                    f"over {_mb(limits.max_inflated_bytes)} in total once unpacked",
                )

    def _check_declared(self, info: zipfile.ZipInfo) -> None:
        lim = self.limits
        if info.file_size > lim.max_part_bytes:
            raise problem(
                "F-E022",
                f"{_clean(info.filename, 40)} unpacks to {_mb(info.file_size)}; the limit is {_mb(lim.max_part_bytes)}",
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > lim.max_ratio * max(info.compress_size, 1):
            raise problem(
                "F-E022",
                f"{_clean(info.filename, 40)} is compressed more than {lim.max_ratio} to 1",
            )

    def find(self, name: str) -> zipfile.ZipInfo | None:
        info = self.members.get(name.lower())
        return None if info is None or info.is_dir() else info

    def chunks(self, info: zipfile.ZipInfo) -> Generator[bytes, None, None]:
        """Inflate ``info`` in chunks, enforcing the per-part, total and ratio budgets."""
        lim = self.limits
        name = _clean(info.filename, 40)
        try:
            fh = self.zf.open(info)
        except _ZIP_ERRORS as exc:
            raise problem("F-E017", _zip_detail(exc, info.filename)) from None
        part_total = 0
        ratio_cap = lim.max_ratio * max(info.compress_size, 1)
        with fh:
            while True:
                try:
                    chunk = fh.read(_CHUNK)
                except _ZIP_ERRORS as exc:
                    raise problem("F-E017", _zip_detail(exc, info.filename)) from None
                if not chunk:
                    return
                part_total += len(chunk)
                self.inflated += len(chunk)
                if part_total > lim.max_part_bytes:
                    raise problem("F-E022", f"{name} unpacks to over {_mb(lim.max_part_bytes)}")
                if part_total > _RATIO_FLOOR and part_total > ratio_cap:
                    raise problem("F-E022", f"{name} is compressed more than {lim.max_ratio} to 1")
                if self.inflated > lim.max_inflated_bytes:
                    raise problem("F-E022", f"over {_mb(lim.max_inflated_bytes)} in total once unpacked")
                yield chunk

    def read_small(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        """At most ``cap`` bytes from the start of ``info``."""
        out = bytearray()
        chunks = self.chunks(info)
        try:
            for chunk in chunks:
                out += chunk
                if len(out) > cap:
                    break
        finally:
            chunks.close()
        return bytes(out[:cap])

    def parse(self, info: zipfile.ZipInfo, handler: _Handler) -> None:
        """Stream-parse one part into ``handler``; never builds the whole part in memory."""
        handler.part = info.filename
        parser = _new_parser(_clean(info.filename, 40))
        parser.StartElementHandler = handler.start
        if handler.end is not None:
            parser.EndElementHandler = handler.end
        if handler.chars is not None:
            parser.CharacterDataHandler = handler.chars
        try:
            for chunk in self.chunks(info):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            msg = expat.ErrorString(exc.code) if exc.code else str(exc)
            raise problem("F-E024", f"{_clean(info.filename, 40)} ({msg}, line {exc.lineno})") from None


def _zip_detail(exc: BaseException, member: str | None = None) -> str:
    text = str(exc).lower()
    if "crc" in text:
        what = "a checksum does not match"
    elif "not a zip file" in text or "end of central directory" in text or "truncated" in text:
        what = "the zip archive is incomplete"
    elif isinstance(exc, (EOFError, zlib.error)) or "ended before" in text:
        what = "compressed data is cut short or corrupt"
    else:
        what = "the zip structure is corrupt"
    return f"{what} in {_clean(member, 40)}" if member else what


# --------------------------------------------------------------------------- small readers


class _ContentTypes(_Handler):
    def __init__(self) -> None:
        self.defaults: dict[str, str] = {}
        self.overrides: dict[str, str] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = (_TAGS.get(tag) or _tag(tag))[0]
        if local == "Default":
            self.defaults[attrs.get("Extension", "").lower()] = attrs.get("ContentType", "")
        elif local == "Override":
            self.overrides[attrs.get("PartName", "").lstrip("/").lower()] = attrs.get("ContentType", "")

    def all(self) -> list[str]:
        return [*self.defaults.values(), *self.overrides.values()]


@dataclass(slots=True)
class _Rel:
    type: str
    target: str
    external: bool


class _Rels(_Handler):
    def __init__(self) -> None:
        self.rels: dict[str, _Rel] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if (_TAGS.get(tag) or _tag(tag))[0] == "Relationship" and len(self.rels) < 100_000:
            self.rels[attrs.get("Id", "")] = _Rel(
                attrs.get("Type", ""),
                attrs.get("Target", ""),
                attrs.get("TargetMode", "").lower() == "external",
            )

    def of_type(self, suffix: str) -> _Rel | None:
        for rel in self.rels.values():
            if rel.type.endswith(suffix) and not rel.external:
                return rel
        return None


def _rels_name(part: str) -> str:
    folder, _, base = part.rpartition("/")
    return f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"


def _resolve_target(source_part: str, target: str) -> str | None:
    """Zip member name for a relationship target, or None if it escapes the package."""
    target = unquote(target.split("#", 1)[0]).replace("\\", "/")
    if target.startswith("/"):
        joined = target.lstrip("/")
    else:
        joined = posixpath.join(posixpath.dirname(source_part), target)
    norm = posixpath.normpath(joined)
    if norm.startswith(("..", "/")) or norm in ("", "."):
        return None
    return norm


class _WorkbookReader(_Handler):
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.seen_root = False
        self.sheets: list[tuple[str, str, str]] = []  # name, state, r:id
        self.names: list[tuple[str, str | None, str]] = []  # name, localSheetId, text
        self.structure_protected = False
        sheets = self.sheets
        names = self.names
        max_sheets = limits.max_sheets
        name: tuple[str, str | None] | None = None  # the <definedName> being read
        buf: list[str] | None = None
        buf_len = 0

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal name, buf, buf_len
            _local, main, strict = _TAGS.get(tag) or _tag(tag)
            if not self.seen_root:
                self.seen_root = True
                if strict:
                    raise problem("F-E015")
                if main != "workbook":
                    raise problem("F-E029", "the workbook part is not a spreadsheet workbook")
                return
            if main == "definedName":
                name = (attrs.get("name", ""), attrs.get("localSheetId"))
                buf = []
                buf_len = 0
            elif main == "sheet":
                rid = next((v for k, v in attrs.items() if k.endswith(" id")), "")
                sheets.append((attrs.get("name", ""), attrs.get("state", "visible"), rid))
                if len(sheets) > max_sheets:
                    raise problem("F-E025", f"more than {max_sheets}")
            elif main == "workbookProtection":
                self.structure_protected = _is_true(attrs.get("lockStructure"))

        def end(tag: str) -> None:
            nonlocal name, buf
            if name is not None and (_TAGS.get(tag) or _tag(tag))[0] == "definedName":
                assert buf is not None
                names.append((name[0], name[1], "".join(buf)))
                name = None
                buf = None

        def chars(data: str) -> None:
            nonlocal buf_len
            if buf is not None:
                buf_len += len(data)
                if buf_len > 65_536:
                    raise problem("F-E029", "a defined name's formula is far too long")
                buf.append(data)

        self.start = start  # type: ignore[method-assign]
        self.end = end
        self.chars = chars


class _StylesReader(_Handler):
    def __init__(self) -> None:
        self.locked: list[bool] = []
        self.num_fmt_ids: list[int] = []
        self.num_fmts: dict[int, str] = {}
        locked = self.locked
        num_fmt_ids = self.num_fmt_ids
        num_fmts = self.num_fmts
        in_cellxfs = False
        in_xf = False

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal in_cellxfs, in_xf
            main = (_TAGS.get(tag) or _tag(tag))[1]
            if main == "xf":
                if in_cellxfs:
                    in_xf = True
                    locked.append(True)
                    try:
                        num_fmt_ids.append(int(attrs.get("numFmtId", "0")))
                    except ValueError:
                        num_fmt_ids.append(0)
            elif main == "protection":
                # Excel uses a cell xf's own protection whatever applyProtection says (it is
                # only consulted against the parent style, whose values would be equal).
                if in_xf:
                    locked[-1] = attrs.get("locked", "1").strip().lower() not in ("0", "false")
            elif main == "cellXfs":
                in_cellxfs = True
            elif main == "numFmt":
                fid = attrs.get("numFmtId", "").strip()
                if fid.isdigit() and fid.isascii() and len(fid) <= 9:
                    num_fmts[int(fid)] = attrs.get("formatCode", "")[:1000]

        def end(tag: str) -> None:
            nonlocal in_cellxfs, in_xf
            local = (_TAGS.get(tag) or _tag(tag))[0]
            if local == "xf":
                in_xf = False
            elif local == "cellXfs":
                in_cellxfs = False

        self.start = start  # type: ignore[method-assign]
        self.end = end


class _RichTextCollector:
    """Collects the text of ``<t>`` elements inside ``<is>``, skipping ``<rPh>``."""

    def __init__(self, max_chars: int) -> None:
        self.max_raw = max_chars * 7 + 64  # room for _xHHHH_ escapes before decoding
        self.parts: list[str] | None = None
        self.capturing = False
        self.in_rph = 0
        self.length = 0

    def begin(self) -> None:
        self.parts = []
        self.length = 0
        self.capturing = False
        self.in_rph = 0

    def finish(self) -> str:
        text = "".join(self.parts or ())
        self.parts = None
        self.capturing = False
        return _unescape(text)

    def add(self, data: str) -> bool:
        """Returns False when the raw text is over budget."""
        assert self.parts is not None
        self.length += len(data)
        self.parts.append(data)
        return self.length <= self.max_raw


class _SharedStringsReader(_Handler):
    """The text of each ``<si>``: its ``<t>`` elements, without phonetic runs (``<rPh>``)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.strings: list[str] = []
        strings = self.strings
        max_chars = limits.max_string_chars
        max_raw = max_chars * 7 + 64  # room for _xHHHH_ escapes before decoding
        max_strings = limits.max_cells
        parts: list[str] | None = None  # the text of the <si> being read
        capturing = False
        in_rph = 0
        length = 0

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal parts, capturing, in_rph, length
            _local, main, strict = _TAGS.get(tag) or _tag(tag)
            if main == "t":
                if parts is not None and not in_rph:
                    capturing = True
            elif main == "si":
                parts = []
                length = 0
                capturing = False
                in_rph = 0
            elif main == "rPh":
                if parts is not None:
                    in_rph += 1
            elif strict:
                raise problem("F-E015")

        def end(tag: str) -> None:
            nonlocal parts, capturing, in_rph
            if parts is None:
                return
            local = (_TAGS.get(tag) or _tag(tag))[0]
            if local == "t":
                capturing = False
            elif local == "si":
                text = _unescape("".join(parts))
                parts = None
                capturing = False
                if len(text) > max_chars:
                    raise problem("F-E028", _too_long(f"shared text {len(strings)}", limits, len(text)))
                strings.append(text)
                if len(strings) > max_strings:
                    raise problem("F-E026", f"more than {max_strings:,} different texts")
            elif local == "rPh":
                in_rph -= 1

        def chars(data: str) -> None:
            nonlocal length
            if capturing:
                assert parts is not None
                length += len(data)
                parts.append(data)
                if length > max_raw:
                    raise problem("F-E028", _too_long(f"shared text {len(strings)}", limits))

        self.start = start  # type: ignore[method-assign]
        self.end = end
        self.chars = chars


# --------------------------------------------------------------------------- sheet reader


class _SheetReader(_Handler):
    """Streams one worksheet into RawCells.

    This is the hot loop (a few expat callbacks per cell), so the handlers are closures
    over local state rather than methods working on attributes, a cell is finished inline
    in the end handler, and what repeats from cell to cell (a reference's row and column,
    a style's lock, an empty cell) is looked up rather than worked out again."""

    def __init__(self, wb: RawWorkbook, info: SheetInfo) -> None:
        self.cells: dict[str, RawCell] = {}
        self.protected = False
        self.max_row = 0
        self.max_col = 0
        self.cells_read = 0
        limits = wb._limits
        sheet_name = _clean(info.name, 31)
        max_chars = limits.max_string_chars
        max_raw = max_chars * 7 + 64  # room for _xHHHH_ escapes before decoding
        cells_left = limits.max_cells - wb._cells_read
        strings = wb._strings
        n_strings = len(strings)
        locked_of = wb._locked
        n_styles = len(locked_of)
        cells = self.cells
        names: dict[str, str] = dict(_SHEET_TAGS)
        shared_masters: dict[str, str] = {}
        rich = _RichTextCollector(max_chars)
        new_cell = _new_cell
        isfinite = math.isfinite
        ref_cache = _REF_CACHE
        styles: dict[str | None, tuple[int, bool]] = {}  # the s attribute -> (style, locked)
        empty: dict[tuple[str | None, str | None], RawCell] = {}  # (t, s) -> the cell without value or formula

        row = col = max_row = max_col = 0
        cattrs: dict[str, str] | None = None  # attributes of the <c> being read
        text: str | None = None  # characters of the <v>/<f> being read
        v: str | None = None
        f: str | None = None
        f_attrs: dict[str, str] | None = None
        inline: str | None = None
        in_is = False

        def name_of(tag: str) -> str:
            ns, local = _split(tag)
            if ns == _STRICT_NS:
                raise problem("F-E015")
            result = local if ns in _SHEET_NS else ""
            if len(names) < 10_000:
                names[tag] = result
            return result

        def current_ref() -> str:
            r = cattrs.get("r") if cattrs is not None else None
            return _clean(r, 12) if r else f"a cell in row {row}"

        def bad_ref(what: str) -> UnreadableFile:
            return problem("F-E027", f"{_clean(what, 16)} on sheet {sheet_name}")

        def style_of(s: str | None) -> tuple[int, bool]:
            style = int(s) if s is not None and s.isdigit() and s.isascii() and len(s) <= 9 else 0
            found = (style, locked_of[style] if style < n_styles else True)
            if len(styles) < 10_000:
                styles[s] = found
            return found

        def start(tag: str, attrs: dict[str, str]) -> None:
            nonlocal cattrs, text, v, f, f_attrs, inline, row, col, in_is
            local = names.get(tag)
            if local is None:
                local = name_of(tag)
            if local == "c":
                cattrs = attrs
                v = f = f_attrs = inline = None
            elif local == "v":
                if cattrs is not None:
                    text = ""
            elif local == "row":
                if cattrs is not None:
                    return
                r = attrs.get("r")
                if r is None:
                    row += 1
                elif r.isdigit() and r.isascii() and len(r) <= 8:
                    row = int(r)
                else:
                    raise bad_ref(f"row '{r}'")
                if not 1 <= row <= _MAX_ROW:
                    raise bad_ref(f"row {row}")
                col = 0
            elif not local:
                return
            elif cattrs is not None:
                if local == "f":
                    f_attrs = attrs
                    text = ""
                elif local == "is":
                    in_is = True
                    rich.begin()
                elif in_is:
                    if local == "t" and not rich.in_rph:
                        rich.capturing = True
                    elif local == "rPh":
                        rich.in_rph += 1
            elif local == "sheetProtection":
                self.protected = _is_true(attrs.get("sheet"))

        def end(tag: str) -> None:
            nonlocal cattrs, text, v, f, inline, in_is, row, col, max_row, max_col, cells_left
            if cattrs is None:
                return
            local = names.get(tag)
            if local is None:
                local = name_of(tag)
            if local == "v":
                v = text
                text = None
                return
            if local != "c":
                if not local:
                    return
                if local == "f":
                    f = text
                    text = None
                elif local == "t":
                    rich.capturing = False
                elif local == "rPh":
                    if in_is:
                        rich.in_rph -= 1
                elif local == "is":
                    inline = rich.finish()
                    in_is = False
                return
            # </c>: the cell is complete
            attrs = cattrs
            cattrs = None
            r = attrs.get("r")
            if r is None:
                if row == 0:
                    row = 1
                col += 1
                if col > _MAX_COL:
                    raise bad_ref(f"column {col}")
                ref = f"{col_letters(col)}{row}"
            else:
                known = ref_cache.get(r) or _parse_ref(r)
                if isinstance(known, str):
                    raise bad_ref(known)
                col, row, ref = known
            if row > max_row:
                max_row = row
            if col > max_col:
                max_col = col
            t = attrs.get("t")
            s = attrs.get("s")
            if v is None and f_attrs is None and inline is None and t in _EMPTY_TYPES:
                cell = empty.get((t, s))
                if cell is None:
                    style, locked = styles.get(s) or style_of(s)
                    cell = new_cell(RawCell, (None, None, _EMPTY_TYPES[t], None, False, style, locked))
                    if len(empty) < 1_000:
                        empty[(t, s)] = cell
                cells[ref] = cell
                cells_left -= 1
                if cells_left < 0:
                    raise problem("F-E026", f"more than {limits.max_cells:,} cells")
                return
            value: CellValue = None
            raw: str | None = v
            ctype: str | None = t
            if t is None or t == "n":
                if not v or v.isspace():
                    ctype = "n" if t == "n" else None
                    raw = None
                else:
                    ctype = "n"
                    # float() also takes "1_000", "nan", "inf" and non-ASCII digits
                    if "_" in v or not v.isascii():
                        ctype, value = "e", "#VALUE!"
                    else:
                        try:
                            value = float(v)
                        except ValueError:
                            ctype, value = "e", "#VALUE!"
                        else:
                            if not isfinite(value):
                                ctype, value = "e", "#NUM!"
            elif t == "s":
                if v is not None and v.strip():
                    sv = v.strip()
                    idx = int(sv) if sv.isdigit() and sv.isascii() and len(sv) <= 9 else -1
                    if not 0 <= idx < n_strings:
                        raise problem("F-E029", f"cell {sheet_name}!{ref} refers to missing text {_clean(v, 12)}")
                    value = raw = strings[idx]
            elif t == "str":
                if v is not None:
                    value = raw = _unescape(v)
            elif t == "inlineStr":
                value = raw = inline if inline is not None else (_unescape(v) if v is not None else None)
            elif t == "b":
                if v is not None:
                    b = v.strip().lower()
                    if b in ("1", "true"):
                        value = True
                    elif b in ("0", "false"):
                        value = False
                    else:
                        ctype, value = "e", "#VALUE!"
            elif t in ("e", "d"):
                value = v.strip() if v is not None else None
            else:
                raise problem("F-E029", f"cell {sheet_name}!{ref} has unknown type '{_clean(t, 12)}'")
            if value.__class__ is str and len(value) > max_chars:
                raise problem("F-E028", _too_long(f"{sheet_name}!{ref}", limits, len(value)))
            formula: str | None = None
            shared = False
            if f_attrs is not None:
                formula = _unescape(f or "")
                if f_attrs.get("t") == "shared":
                    si = f_attrs.get("si", "")
                    if "ref" in f_attrs and formula:
                        shared_masters[si] = formula
                    else:
                        shared = True
                        if not formula:
                            formula = shared_masters.get(si)
            style, locked = styles.get(s) or style_of(s)
            cells[ref] = new_cell(RawCell, (value, raw, ctype, formula, shared, style, locked))
            cells_left -= 1
            if cells_left < 0:
                raise problem("F-E026", f"more than {limits.max_cells:,} cells")

        def chars(data: str) -> None:
            nonlocal text
            if text is not None:
                text += data
                if len(text) > max_raw:
                    raise problem("F-E028", _too_long(f"{sheet_name}!{current_ref()}", limits))
            elif rich.capturing and not rich.add(data):
                raise problem("F-E028", _too_long(f"{sheet_name}!{current_ref()}", limits))

        def finish() -> None:
            self.max_row = max_row
            self.max_col = max_col
            self.cells_read = limits.max_cells - wb._cells_read - cells_left

        self.start = start  # type: ignore[method-assign]
        self.end = end
        self.chars = chars
        self.finish = finish


_SHEET_TAGS: dict[str, str] = {
    **{f"{_MAIN_NS} {n}": n for n in ("c", "v", "f", "row", "is", "t", "rPh", "sheetProtection")},
    **{n: n for n in ("c", "v", "f", "row", "is", "t", "rPh", "sheetProtection")},
}
_new_cell = tuple.__new__
_DIGITS = "0123456789"
#: t attribute -> the type of a cell with neither value nor formula (other types are refused)
_EMPTY_TYPES: dict[str | None, str | None] = {
    None: None, "n": "n", "s": "s", "str": "str", "inlineStr": "inlineStr", "b": "b", "e": "e", "d": "d",
}
#: a cell's r attribute -> (column, row, upper-case reference), for references inside the grid
_REF_CACHE: dict[str, tuple[int, int, str]] = {}


def _parse_ref(r: str) -> tuple[int, int, str] | str:
    """(column, row, "AB12") for a cell reference inside Excel's grid (remembered), else
    the text to quote in the F-E027 refusal."""
    letters = r.rstrip(_DIGITS)
    digits = r[len(letters) :]
    if not (0 < len(letters) <= 3 and 0 < len(digits) <= 7 and letters.isalpha() and letters.isascii()):
        return f"'{r}'"
    col = _COL_CACHE.get(letters) or _col_number(letters)
    row = int(digits)
    if col > _MAX_COL or not 1 <= row <= _MAX_ROW:
        return r
    known = (col, row, r if letters.isupper() else r.upper())
    if len(_REF_CACHE) < 50_000:
        _REF_CACHE[r] = known
    return known


# --------------------------------------------------------------------------- the workbook

_SINGLE_REF_RE = re.compile(
    r"\s*=?\s*(?:'((?:[^']|'')+)'|([^'!:\[\]\s]+))!"
    r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})(?::\$?([A-Za-z]{1,3})\$?([0-9]{1,7}))?\s*"
)
_BUILTIN_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_BUILTIN_FORMATS: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0 ;(#,##0)",
    38: "#,##0 ;[Red](#,##0)",
    39: "#,##0.00;(#,##0.00)",
    40: "#,##0.00;[Red](#,##0.00)",
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}
_FORMAT_NOISE_RE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


class RawWorkbook:
    """A vetted workbook: sheet list, names and styles read; sheets parsed on demand.

    Built only by :func:`open_workbook`.  Name dictionaries map to the formula text as
    stored (no leading ``=``).  ``defined_names``: workbook-scope user names.
    ``builtin_names``: the ``_xlnm.*`` names, keyed ``"_xlnm.X"`` at workbook scope and
    ``"Sheet!_xlnm.X"`` when sheet-scoped (Print_Area, _FilterDatabase...).
    ``local_names``: sheet-scoped user names keyed ``"Sheet!Name"``.
    """

    sheets: list[SheetInfo]
    defined_names: dict[str, str]
    builtin_names: dict[str, str]
    local_names: dict[str, str]
    structure_protected: bool  # <workbookProtection lockStructure="1">

    def __init__(self, pkg: _Package, main_part: str, limits: Limits) -> None:
        self._pkg = pkg
        self._limits = limits
        self._cells_read = 0
        self._cache: dict[str, RawSheet] = {}
        self._strings: list[str] = []
        self._locked: list[bool] = []
        self._num_fmt_ids: list[int] = []
        self._num_fmts: dict[int, str] = {}
        self.main_part = main_part
        self.sheets = []
        self.defined_names = {}
        self.builtin_names = {}
        self.local_names = {}
        self.structure_protected = False
        self._load()

    # -- loading

    def _member(self, name: str, what: str) -> zipfile.ZipInfo:
        info = self._pkg.find(name)
        if info is None:
            raise problem("F-E029", f"{what} is missing")
        return info

    def _load(self) -> None:
        pkg = self._pkg
        wb = _WorkbookReader(self._limits)
        pkg.parse(self._member(self.main_part, "the workbook part"), wb)
        self.structure_protected = wb.structure_protected
        rels = _Rels()
        rels_info = pkg.find(_rels_name(self.main_part))
        if rels_info is None:
            raise problem("F-E029", "the list of sheet parts is missing")
        pkg.parse(rels_info, rels)
        if not wb.sheets:
            raise problem("F-E029", "it has no sheets")
        seen: set[str] = set()
        for name, state, rid in wb.sheets:
            if not name:
                raise problem("F-E029", "a sheet has no name")
            if name.lower() in seen:
                raise problem("F-E029", f"two sheets are called '{_clean(name, 31)}'")
            seen.add(name.lower())
            rel = rels.rels.get(rid)
            if rel is None or rel.external:
                raise problem("F-E029", f"sheet '{_clean(name, 31)}' has no part")
            kind: SheetKind
            rtype = rel.type.rsplit("/", 1)[-1].lower()
            if "macrosheet" in rtype:
                raise problem("F-E014")
            if rtype == "chartsheet":
                kind = "chartsheet"
            elif rtype == "dialogsheet":
                kind = "dialogsheet"
            else:
                kind = "worksheet"
            part = _resolve_target(self.main_part, rel.target)
            info = pkg.find(part) if part else None
            if info is None:
                raise problem("F-E029", f"the part of sheet '{_clean(name, 31)}' is missing")
            st: SheetState = state if state in ("visible", "hidden", "veryHidden") else "visible"  # type: ignore[assignment]
            self.sheets.append(SheetInfo(name, st, info.filename, kind))
        for name, local_id, text in wb.names:
            text = text.strip()
            if local_id is None:
                target = self.builtin_names if name.lower().startswith("_xlnm.") else self.defined_names
                target[name] = text
                continue
            try:
                sheet_name = self.sheets[int(local_id)].name
            except (ValueError, IndexError):
                continue
            target = self.builtin_names if name.lower().startswith("_xlnm.") else self.local_names
            target[f"{sheet_name}!{name}"] = text
        self._name_index = {k.lower(): k for k in self.defined_names}
        self._styles(rels)
        self._shared_strings(rels)

    def _styles(self, rels: _Rels) -> None:
        part = self._related(rels, "/styles", "styles.xml")
        if part is None:
            return
        reader = _StylesReader()
        self._pkg.parse(part, reader)
        self._locked = reader.locked
        self._num_fmt_ids = reader.num_fmt_ids
        self._num_fmts = reader.num_fmts

    def _shared_strings(self, rels: _Rels) -> None:
        part = self._related(rels, "/sharedStrings", "sharedStrings.xml")
        if part is None:
            return
        reader = _SharedStringsReader(self._limits)
        self._pkg.parse(part, reader)
        self._strings = reader.strings

    def _related(self, rels: _Rels, suffix: str, default: str) -> zipfile.ZipInfo | None:
        rel = rels.of_type(suffix)
        if rel is not None:
            part = _resolve_target(self.main_part, rel.target)
            info = self._pkg.find(part) if part else None
            if info is None:
                raise problem("F-E029", f"{_clean(rel.target, 40)} is missing")
            return info
        return self._pkg.find(posixpath.join(posixpath.dirname(self.main_part), default))

    # -- API

    def sheet_info(self, name: str) -> SheetInfo:
        """The :class:`SheetInfo` called ``name`` (case-insensitive); KeyError if none."""
        for info in self.sheets:
            if info.name == name:
                return info
        low = name.lower()
        for info in self.sheets:
            if info.name.lower() == low:
                return info
        raise KeyError(name)

    def sheet(self, name: str) -> RawSheet:
        """Parse (once) and return the sheet called ``name``; KeyError if there is none."""
        info = self.sheet_info(name)
        cached = self._cache.get(info.name)
        if cached is not None:
            return cached
        sheet = _guard(lambda: self._parse_sheet(info))
        self._cache[info.name] = sheet
        return sheet

    def _parse_sheet(self, info: SheetInfo) -> RawSheet:
        reader = _SheetReader(self, info)
        part = self._pkg.find(info.part)
        if part is None:  # pragma: no cover - checked at open
            raise problem("F-E029", f"the part of sheet '{_clean(info.name, 31)}' is missing")
        self._pkg.parse(part, reader)
        reader.finish()
        self._cells_read += reader.cells_read
        return RawSheet(info.name, reader.protected, reader.cells, reader.max_row, reader.max_col)

    def resolve_name(self, name: str) -> tuple[str, str] | None:
        """``("Return", "B5")`` for a workbook-scope name that is one cell, else None."""
        key = self._name_index.get(name.lower())
        if key is None:
            return None
        m = _SINGLE_REF_RE.fullmatch(self.defined_names[key])
        if m is None:
            return None
        sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
        col1, row1 = m.group(3).upper(), int(m.group(4))
        if m.group(5) is not None and (m.group(5).upper(), int(m.group(6))) != (col1, row1):
            return None
        if not (1 <= _col_number(col1) <= _MAX_COL and 1 <= row1 <= _MAX_ROW):
            return None
        try:
            info = self.sheet_info(sheet)
        except KeyError:
            return None
        return info.name, f"{col1}{row1}"

    def number_format(self, style: int) -> str:
        """The number format code of cell style ``style`` ("General" if unknown)."""
        if not 0 <= style < len(self._num_fmt_ids):
            return "General"
        fid = self._num_fmt_ids[style]
        return self._num_fmts.get(fid) or _BUILTIN_FORMATS.get(fid, "General")

    def is_date_style(self, style: int) -> bool:
        """True when numbers in cells of ``style`` are shown as dates or times."""
        if not 0 <= style < len(self._num_fmt_ids):
            return False
        fid = self._num_fmt_ids[style]
        if fid in _BUILTIN_DATE_FORMATS:
            return True
        code = self._num_fmts.get(fid)
        if not code:
            return False
        stripped = _FORMAT_NOISE_RE.sub("", code.split(";", 1)[0]).lower()
        return any(ch in stripped for ch in "dmyhs")


# --------------------------------------------------------------------------- classification


def _check_bytes(data: bytes, limits: Limits) -> tuple[_Package, str]:
    """Classify the bytes; return the vetted package and its workbook part name."""
    if data.startswith(_OLE_MAGIC):
        raise _classify_ole(data)
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        raise _classify_other(data)
    pkg = _Package(data, limits)
    names = {n for n, i in pkg.members.items() if not i.is_dir()}
    mimetype = pkg.find("mimetype")
    if mimetype is not None:
        kind = pkg.read_small(mimetype, 200).decode("ascii", "replace").strip()
        if kind.startswith("application/vnd.oasis.opendocument.spreadsheet"):
            raise problem("F-E012")
        if kind.startswith("application/vnd.oasis.opendocument"):
            raise problem("F-E007", "an OpenDocument file (e.g. .odt), not a spreadsheet")
    if "xl/workbook.bin" in names:
        raise problem("F-E013")
    ct_info = pkg.find("[Content_Types].xml")
    if ct_info is None:
        if "content.xml" in names and "meta-inf/manifest.xml" in names:
            raise problem("F-E012")
        inner = next((n for n in names if n.endswith((".xlsx", ".xlsm", ".xls", ".csv", ".ods"))), None)
        if inner is not None:
            raise problem("F-E016", f"it contains {_clean(pkg.members[inner].filename, 50)}")
        raise problem("F-E016", "it has no [Content_Types].xml" if names else "it is empty")
    cts = _ContentTypes()
    pkg.parse(ct_info, cts)
    all_ct = [ct.lower() for ct in cts.all()]
    if any("sheet.binary" in ct for ct in all_ct):
        raise problem("F-E013")
    if any("macroenabled" in ct or "vbaproject" in ct or "macrosheet" in ct for ct in all_ct) or any(
        n.endswith("vbaproject.bin") for n in names
    ):
        raise problem("F-E014")
    main = _main_part(pkg)
    if main is None:
        if any("wordprocessingml" in ct for ct in all_ct) or "word/document.xml" in names:
            raise problem("F-E007", "a Word document (.docx)")
        if any("presentationml" in ct for ct in all_ct) or "ppt/presentation.xml" in names:
            raise problem("F-E007", "a PowerPoint presentation (.pptx)")
        raise problem("F-E016", "it has no workbook inside")
    main_ct = cts.overrides.get(main.lower(), "").lower()
    if "wordprocessingml" in main_ct:
        raise problem("F-E007", "a Word document (.docx)")
    if "presentationml" in main_ct:
        raise problem("F-E007", "a PowerPoint presentation (.pptx)")
    return pkg, main


def _main_part(pkg: _Package) -> str | None:
    rels_info = pkg.find("_rels/.rels")
    if rels_info is not None:
        rels = _Rels()
        pkg.parse(rels_info, rels)
        rel = rels.of_type("/officeDocument")
        if rel is not None:
            if rel.type.startswith(_STRICT_REL_PREFIX):
                raise problem("F-E015")
            part = _resolve_target("", rel.target)
            info = pkg.find(part) if part else None
            if info is not None:
                return info.filename
    info = pkg.find("xl/workbook.xml")
    return info.filename if info is not None else None


# --------------------------------------------------------------------------- entry points


def sniff(path: Path, limits: Limits = Limits()) -> None:
    """Raise :class:`UnreadableFile` unless ``path`` is a plausible .xlsx workbook.

    Checks the path, the size, the format (OLE2, zip, text...), the zip's entries and
    budgets, the content types and the main relationship.  Does not read the sheets.
    """
    _guard(lambda: _check_bytes(_read_file(path, limits), limits))


def open_workbook(path: Path, limits: Limits = Limits()) -> RawWorkbook:
    """Read ``path`` once into memory, vet it (as :func:`sniff`) and open it.

    The file is never touched again, and never modified.  Sheets are parsed lazily by
    :meth:`RawWorkbook.sheet`.  Every problem is an :class:`UnreadableFile`.
    """

    def run() -> RawWorkbook:
        data = _read_file(path, limits)
        pkg, main = _check_bytes(data, limits)
        return RawWorkbook(pkg, main, limits)

    return _guard(run)


def read_bounded(path: Path, limits: Limits = Limits()) -> bytes:
    """The whole of a regular file, read as a return is (never through a symbolic link, at
    most ``limits.max_file_bytes``): for an e-mail message that carries returns."""
    return _guard(lambda: _read_file(path, limits))


def zip_entries(data: bytes, limits: Limits, wanted: Callable[[str], bool]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each entry of a zip archive whose name ``wanted`` accepts, opened under
    the limits an xlsx's parts are (entry count and names, encryption, compression method,
    size once unpacked and ratio): for a .zip attached to an e-mail. Every refusal is an
    :class:`UnreadableFile` with its ``F-`` code."""

    def run() -> list[tuple[str, bytes]]:
        if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise problem("F-E017", "it is not a zip archive")
        pkg = _Package(data, limits)
        return [(info.filename, b"".join(pkg.chunks(info)))
                for info in pkg.members.values() if not info.is_dir() and wanted(info.filename)]

    return _guard(run)
