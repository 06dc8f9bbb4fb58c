"""Safe, low-level reader for .xlsx returns sent in by schools.

Threat model
------------
Files come by e-mail from dozens of people using different programs.  Most are honest
but many are broken (truncated, re-packed, saved in the wrong format) and a few may be
hostile.  Reading one must never: follow a symlink, read an unbounded amount from disk,
extract anything to disk, trust sizes declared inside the zip, inflate more than a fixed
budget (zip bombs), resolve a DTD or entity (billion laughs, XXE), build a DOM of a
large part, or let an unexpected exception escape as a traceback.  Every refusal is an
:class:`~pbp_workbooks.base.errors.UnreadableFile` with a stable ``F-E...`` code from
the rule registry (``validators/common.toml``, ``[[file]]``) and a one-line message telling the sender what to do.

How
---
The file is checked with ``lstat`` (regular file, size limit) and read once into memory
through an ``O_NOFOLLOW`` descriptor.  The bytes are classified cheaply (OLE2: encrypted
OOXML vs legacy .xls vs other; zip; PDF/HTML/CSV/...).  Zip entries are vetted (names,
duplicates, encryption, compression method, declared sizes) before any is opened; parts
are inflated in 64 KiB chunks with running per-part, total and ratio budgets and fed
straight into expat with DTDs and entities refused.  Sheets are parsed lazily and cached.
Nothing here uses openpyxl.

The reader is split by what it handles: ``problems`` (limits and F- codes), ``package`` (the
bytes, their format and the zip), ``xml_parts`` (a handler per XML part) and ``workbook``
(RawWorkbook and the entry points below).
"""

from .problems import Limits, col_letters, problem
from .workbook import RawWorkbook, open_workbook, read_bounded, sniff, zip_entries
from .xml_parts import RawCell, RawSheet, SheetInfo

__all__ = [
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
