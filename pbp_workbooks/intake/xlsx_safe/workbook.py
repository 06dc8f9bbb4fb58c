"""RawWorkbook, a received .xlsx opened lazily, and the entry points the rest of intake uses."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from .package import _check_bytes, _Package, _read_file
from .problems import _MAX_COL, _MAX_ROW, Limits, _clean, _col_number, _guard, problem
from .xml_parts import (
    RawSheet,
    SheetInfo,
    SheetKind,
    SheetState,
    _Rels,
    _rels_name,
    _resolve_target,
    _SharedStringsReader,
    _SheetReader,
    _StylesReader,
    _WorkbookReader,
)

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


_DEFAULT_LIMITS = Limits()


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


# --------------------------------------------------------------------------- entry points


def sniff(path: Path, limits: Limits = _DEFAULT_LIMITS) -> None:
    """Raise :class:`UnreadableFile` unless ``path`` is a plausible .xlsx workbook.

    Checks the path, the size, the format (OLE2, zip, text...), the zip's entries and
    budgets, the content types and the main relationship.  Does not read the sheets.
    """
    _guard(lambda: _check_bytes(_read_file(path, limits), limits))


def open_workbook(path: Path, limits: Limits = _DEFAULT_LIMITS) -> RawWorkbook:
    """Read ``path`` once into memory, vet it (as :func:`sniff`) and open it.

    The file is never touched again, and never modified.  Sheets are parsed lazily by
    :meth:`RawWorkbook.sheet`.  Every problem is an :class:`UnreadableFile`.
    """

    def run() -> RawWorkbook:
        data = _read_file(path, limits)
        pkg, main = _check_bytes(data, limits)
        return RawWorkbook(pkg, main, limits)

    return _guard(run)


def read_bounded(path: Path, limits: Limits = _DEFAULT_LIMITS) -> bytes:
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
