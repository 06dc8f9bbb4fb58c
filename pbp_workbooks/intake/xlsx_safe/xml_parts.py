"""Streaming expat handlers for the parts of an .xlsx: content types, relationships, workbook,
styles, shared strings and sheets (cells, merges, validations, protection). No DTDs, no entities."""

from __future__ import annotations

import math
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple
from urllib.parse import unquote
from xml.parsers import expat

from pbp_workbooks.base.errors import UnreadableFile

from .problems import (
    _CHUNK,
    _COL_CACHE,
    _MAX_COL,
    _MAX_ROW,
    Limits,
    _clean,
    _col_number,
    _is_true,
    _too_long,
    _unescape,
    col_letters,
    problem,
)

if TYPE_CHECKING:
    from .workbook import RawWorkbook

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
