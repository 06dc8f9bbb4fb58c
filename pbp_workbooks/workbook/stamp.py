"""Stamping: a batch of issued workbooks from one rendered prototype.

The workbooks of one batch (one template, period, LA and time) differ only in the
provision's identity text and in the cells that hold values. xlsxwriter takes ~30 ms to
build a workbook, nearly all of it the same each time; so the writer builds one
prototype with a marker wherever an identity string or a value cell goes (writer.Hole),
and each provision's workbook is the prototype's parts with the markers filled in:
the same cells, styles, protection, validations and names, byte for byte elsewhere.

A value cell is written as xlsxwriter writes it, except that text is an inline string
rather than an entry in the shared-strings part (so that part stays the same for
everyone). tests/test_stamp.py compares stamped and directly written workbooks cell by
cell. An identity the prototype's layout does not fit (a header over Excel's 255
characters, a name long enough to wrap onto another Instructions line, leading spaces
or control characters) is written directly by the writer instead.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from pbp_workbooks.base.filenames import write_atomic
from pbp_workbooks.spec import calc
from pbp_workbooks.spec.model import Spec
from pbp_workbooks.workbook.writer import Identity, WorkbookWriter, header_escape
from pbp_workbooks.workbook.xlsxwriter_internals import Hole, escape_control, excel_serial

# The identity strings that differ between the workbooks of a batch.
SLOTS = ("partnership", "host_school", "urn", "provision", "issue_token")
_SLOT = "\ue000{}\ue001"
_HEADER_SLOT = "\ue004{}\ue001"  # the same slot inside a page header, where '&' is doubled
_PIECE = re.compile("\ue002(\\d+)\ue003|([\ue000\ue004])(\\w+)\ue001")
_HEADERS = re.compile(r"<(odd|even|first)(Header|Footer)>.*?</\1\2>", re.S)
_ERRORS = frozenset(("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"))
# what the placeholders can't stand for: control characters (and xlsxwriter's escapes of
# them), and the private-use characters the markers are made of
_UNFIT = re.compile("[\x00-\x1f\ue000-\ue004]|_x[0-9A-Fa-f]{4}_")


def _text(s: str) -> str:
    """Element text as xlsxwriter escapes it."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Stamp:
    def __init__(self, spec: Spec, *, financial_year: str, quarter: int | None, **common: Any) -> None:
        self.spec = spec
        self.common = common
        placeholder = Identity(spec.id, spec.version, spec.kind, financial_year, quarter,
                               *(_SLOT.format(k) for k in SLOTS))
        self.placeholder = placeholder
        self.writer = WorkbookWriter(spec, placeholder, **common)
        data = self.writer.prototype()
        self.holes: list[Hole] = self.writer.holes
        self.check_list = calc.checks(spec, quarter, financial_year)
        self._layout = self.writer.layout()
        # Each part: bytes when it is the same for everyone, else the pieces to fill.
        self.parts: list[tuple[str, bytes | list[str | tuple[str, Any]]]] = []
        with zipfile.ZipFile(BytesIO(data)) as zf:
            for info in zf.infolist():
                raw = zf.read(info)
                text = raw.decode("utf-8")
                if not _PIECE.search(text):
                    self.parts.append((info.filename, raw))
                    continue
                text = _HEADERS.sub(lambda m: m[0].replace("\ue000", "\ue004"), text)
                pieces: list[str | tuple[str, Any]] = []
                at = 0
                for m in _PIECE.finditer(text):
                    pieces.append(text[at:m.start()])
                    if m[1] is not None:
                        pieces.append(("cell", int(m[1])))
                    else:
                        if m[3] not in SLOTS:
                            raise AssertionError(f"unknown slot {m[3]!r} in {info.filename}")
                        pieces.append(("header" if m[2] == "\ue004" else "text", m[3]))
                    at = m.end()
                pieces.append(text[at:])
                self.parts.append((info.filename, pieces))
        assert len(self.holes) == sum(1 for _, p in self.parts if isinstance(p, list)
                                      for x in p if isinstance(x, tuple) and x[0] == "cell")

    # ------------------------------------------------------------------ public

    def fits(self, identity: Identity) -> bool:
        """Whether a workbook stamped for this identity is the one the writer would build."""
        p = self.placeholder
        if (identity.template_id, identity.template_version, identity.kind, identity.financial_year,
                identity.quarter) != (p.template_id, p.template_version, p.kind, p.financial_year, p.quarter):
            return False
        for k in SLOTS:
            s = getattr(identity, k)
            if s != s.strip() or _UNFIT.search(s) or len(s) > 1000:
                return False
        return WorkbookWriter(self.spec, identity, **self.common).layout() == self._layout

    def write(self, path: Path, identity: Identity, inputs: Mapping[str, Any],
              lock: frozenset[str] = frozenset()) -> bytes:
        """Write the provision's workbook atomically; returns its bytes. A workbook with
        inputs to lock (rows carried over) has cells styled unlike the prototype's: the
        writer builds it."""
        if lock or not self.fits(identity):
            WorkbookWriter(self.spec, identity, **self.common).write(path, inputs, lock=lock)
            return path.read_bytes()
        data = self.render(identity, inputs)

        def build(tmp: Path) -> None:
            tmp.write_bytes(data)

        write_atomic(path, build)
        return data

    def render(self, identity: Identity, inputs: Mapping[str, Any]) -> bytes:
        values = calc.compute(self.spec, inputs)
        results, status = self.writer.check_results(values, self.check_list)
        cells = [self._cell(h, values, results, status) for h in self.holes]
        texts = {k: escape_control(_text(getattr(identity, k))) for k in SLOTS}
        headers = {k: _text(header_escape(getattr(identity, k))) for k in SLOTS}
        buf = BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, part in self.parts:
                if isinstance(part, list):
                    out = []
                    for piece in part:
                        if isinstance(piece, str):
                            out.append(piece)
                        elif piece[0] == "cell":
                            out.append(cells[piece[1]])
                        else:
                            out.append((headers if piece[0] == "header" else texts)[piece[1]])
                    part = "".join(out).encode("utf-8")
                info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))  # as xlsxwriter dates its parts
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, part)
        return buf.getvalue()

    # ------------------------------------------------------------------ cells

    def _cell(self, hole: Hole, values: Mapping[str, Any], results: list[str], status: str) -> str:
        key = hole.key
        if key[0] == "field":
            value = self.writer.cell_value(self.spec[key[1]], values)
        elif key[0] == "check":
            value = results[key[1]]
        else:
            value = status
        return cell_xml(hole, value)


def cell_xml(hole: Hole, value: Any) -> str:
    """The <c> element xlsxwriter writes for this value (text as an inline string)."""
    attrs = f' r="{hole.ref}"' + (f' s="{hole.xf}"' if hole.xf is not None else "")
    if hole.formula is not None:
        if isinstance(value, bool):
            attrs, value = attrs + ' t="b"', int(value)
        elif isinstance(value, str) and value:
            attrs += ' t="e"' if value in _ERRORS else ' t="str"'
        shown = _text(value) if isinstance(value, str) else value
        return f"<c{attrs}><f>{_text(hole.formula)}</f><v>{shown}</v></c>"
    if value is None or value == "":
        return f"<c{attrs}/>"
    if isinstance(value, datetime | date):
        dt = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
        value = excel_serial(dt)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"<c{attrs}><v>{value:.16G}</v></c>"
    text = escape_control(str(value))
    space = ' xml:space="preserve"' if re.search(r"^\s|\s$", text) else ""
    return f'<c{attrs} t="inlineStr"><is><t{space}>{_text(text)}</t></is></c>'
