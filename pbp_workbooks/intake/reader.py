"""The reader: a returned workbook -> its identity and every input, found by defined name.

Never trusts cached formula results: formula cells are only compared with the spec
(to detect a tampered layout); their values are recomputed from the inputs by calc.
Text typed where a number belongs is read when its meaning is certain (a warning)
and reported as an error when it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pbp_workbooks.base.errors import UsageError
from pbp_workbooks.base.money import parse_text_number, pence_places, round_pence
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.intake.xlsx_safe import Limits, RawCell, RawWorkbook, open_workbook
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec import registry
from pbp_workbooks.spec.calc import format_value
from pbp_workbooks.spec.findings import Finding, template_finding
from pbp_workbooks.spec.model import NUMERIC, Field, Spec
from pbp_workbooks.workbook.writer import META_KEYS, META_SHEET, Identity, render_formula

_EXCEL_EPOCH = datetime(1899, 12, 30)
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]{1,3})\$?(\d+)$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00)?)?$")


@dataclass
class ReturnData:
    """What was read from one return."""

    spec: Spec
    meta: dict[str, str]
    values: dict[str, Any]  # every non-formula field: Decimal | int | str | date | None
    # what an input the reader reported held, exactly as typed ('5000 pounds', 2.5 for a whole
    # number, '=HYPERLINK(...)', '#REF!', '£1,200.50'), for the feedback workbook to show
    sent: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def quarter(self) -> int | None:
        q = self.meta.get("quarter") or ""
        return int(q) if q.isdigit() else None

    def identity(self) -> Identity:
        m = self.meta
        return Identity(m["template_id"], m["template_version"], self.spec.kind, m["financial_year"], self.quarter,
                        m["partnership"], m["host_school"], m["urn"], m["provision"], m["issue_token"])

    def identity_json(self) -> dict[str, Any]:
        m = self.meta
        return {"template": m.get("template_id"), "version": m.get("template_version"), "kind": self.spec.kind,
                "year": m.get("financial_year"), "quarter": self.quarter, "partnership": m.get("partnership"),
                "host_school": m.get("host_school"), "urn": m.get("urn"), "provision": m.get("provision"),
                "token": m.get("issue_token")}


class NotOurTemplate(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def split_ref(ref: str) -> tuple[str, str] | None:
    """('Return', 'B13') for a single-cell reference like =Return!$B$13 (sheet quoted or not)."""
    m = _REF.match(ref.lstrip("="))
    if not m:
        return None
    sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
    return sheet, f"{m.group(3)}{m.group(4)}"


def read_meta(wb: RawWorkbook) -> dict[str, str]:
    if not any(s.name == META_SHEET for s in wb.sheets):
        raise NotOurTemplate(template_finding("T-E001", detail="it has no PBP identity sheet"))
    sheet = wb.sheet(META_SHEET)
    meta: dict[str, str] = {}
    for row in range(2, 2 + len(META_KEYS)):
        key = sheet.cells.get(f"A{row}")
        val = sheet.cells.get(f"B{row}")
        if key is not None and isinstance(key.value, str):
            meta[key.value] = "" if val is None or val.value is None else _text(val)
    if "template_id" not in meta:
        raise NotOurTemplate(template_finding("T-E001", detail="its identity sheet is not ours"))
    return meta


def _text(cell: RawCell) -> str:
    v = cell.value
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def spec_for(meta: dict[str, str]) -> Spec:
    """The shipped spec a received file says it was made from; only that one is built (matched
    on the templates' headers, so reading a quarterly return does not build the other specs)."""
    tid = meta.get("template_id", "")
    for kind in spec_mod.available():
        if spec_mod.header(kind).get("id") == tid:
            s = spec_mod.load(kind)
            if meta.get("template_version") != s.version:
                raise NotOurTemplate(template_finding("T-E002", detail=meta.get("template_version") or "unknown"))
            return s
    raise NotOurTemplate(template_finding("T-E001", detail=f"unknown template {tid!r}"))


def _check_period(spec: Spec, meta: dict[str, str]) -> None:
    """The period in the identity sheet must be one: a financial year like 2025-26 and a
    quarter 1-4 (or none, for a return of the year). Anything else was typed over
    the hidden sheet, and only this file is turned away, not the batch it came in."""
    year, quarter = meta.get("financial_year", ""), meta.get("quarter", "")
    try:
        FinancialYear.parse(year)
    except UsageError:
        raise NotOurTemplate(template_finding(
            "T-E001", sheet=META_SHEET, value=year,
            detail=f"its identity sheet gives '{year}' as the financial year, which is not one")) from None
    if quarter not in ("", "1", "2", "3", "4"):
        raise NotOurTemplate(template_finding(
            "T-E001", sheet=META_SHEET, value=quarter,
            detail=f"its identity sheet gives '{quarter}' as the quarter, which is not one"))


def read_return(path: Path, limits: Limits | None = None) -> ReturnData:
    """Raises UnreadableFile (not a readable xlsx) or NotOurTemplate."""
    wb = open_workbook(path, limits or Limits())
    return read_workbook(wb)


def read_workbook(wb: RawWorkbook) -> ReturnData:
    meta = read_meta(wb)
    spec = spec_for(meta)
    _check_period(spec, meta)
    data = ReturnData(spec, meta, {})
    _read_inputs(wb, data)
    _check_layout(wb, data)
    return data


def _field_finding(spec: Spec, suffix: str, f: Field, value: Any, cell: str | None = None, **fmt: Any) -> Finding:
    declared = registry.field_rule(spec, suffix)
    return Finding(declared.code, declared.severity, declared.message.format(label=f.label, value=value, **fmt),
                   f.sheet, cell or f.cell, f.name, value)


@cache
def _input_cells(spec: Spec) -> tuple[tuple[Field, str, str], ...]:
    """(field, sheet, cell) of every non-formula field, worked out once per spec."""
    return tuple((f, f.sheet, f.cell) for f in spec.fields if f.formula is None)


@lru_cache(maxsize=4096)
def _split_short_ref(ref: str) -> tuple[str, str] | None:
    return split_ref(ref)


def _split_ref_cached(ref: str) -> tuple[str, str] | None:
    """split_ref, remembered for short texts: every return from one template has the same defined names."""
    return _split_short_ref(ref) if len(ref) <= 300 else split_ref(ref)


def _read_inputs(wb: RawWorkbook, data: ReturnData) -> None:
    spec = data.spec
    moved = False
    sheet_names = {s.name for s in wb.sheets}
    defined = wb.defined_names
    values = data.values
    sheets: dict[str, dict[str, RawCell]] = {}
    for f, f_sheet, f_cell in _input_cells(spec):
        ref = defined.get(f.name)
        loc = _split_ref_cached(ref) if ref else None
        if loc is None or loc[0] not in sheet_names:
            data.findings.append(template_finding("T-E006", sheet=f_sheet, cell=f_cell, name=f.name, label=f.label))
            values[f.name] = None
            continue
        sheet, cell = loc
        if (sheet != f_sheet or cell != f_cell) and not moved:
            moved = True  # one finding where the layout first moved; values are still read by name
            data.findings.append(template_finding("T-E005", sheet=f_sheet, cell=f_cell, name=f.name,
                                                  detail=f"'{f.label}' has moved to {cell}; rows or columns were "
                                                         "inserted or deleted"))
        cells = sheets.get(sheet)
        if cells is None:
            cells = sheets[sheet] = wb.sheet(sheet).cells
        raw = cells.get(cell)
        values[f.name] = _convert(spec, f, raw, cell, data)


def _convert(spec: Spec, f: Field, raw: RawCell | None, cell: str, data: ReturnData) -> Any:
    if raw is not None and raw.formula is not None:  # its cached result is not what they typed: never used
        typed = f"={raw.formula}"
        data.findings.append(_field_finding(spec, "E110", f, typed, cell))
        data.sent[f.name] = typed
        return None
    if raw is None or raw.value is None or (isinstance(raw.value, str) and not raw.value.strip()):
        return None
    v = raw.value
    if raw.type == "e":
        data.findings.append(_field_finding(spec, "E102", f, v, cell, what=_what(f), how=_how(f)))
        data.sent[f.name] = v
        return None
    t = f.type
    if t in NUMERIC:
        if isinstance(v, bool):  # TRUE/FALSE is not an amount (the workbook's own checks say #VALUE!)
            data.findings.append(_field_finding(spec, "E102", f, v, cell, what=_what(f), how=_how(f)))
            return None
        number: Decimal | None
        if isinstance(v, float):
            # Excel stores a typed 19.99 as 19.989999999999998 (17 significant digits): the
            # shortest repr of the double gives back what the person typed.
            number = Decimal(repr(v))
        else:
            parsed = parse_text_number(str(v))
            data.sent[f.name] = str(v)
            if parsed.value is None or not parsed.certain:
                data.findings.append(_field_finding(spec, "E102", f, v, cell, what=_what(f), how=_how(f)))
                return None
            number = parsed.value
            data.findings.append(_field_finding(spec, "W109", f, v, cell, read=format_value(f, number)))
        assert number is not None
        if t in ("money", "signed_money") and not pence_places(number):
            # reported at its cell, and read (and kept in the ledger) as the nearest penny:
            # a rejected return's figures are still shown, never a fraction of a penny
            rounded = round_pence(number)
            data.findings.append(_field_finding(spec, "E111", f, v, cell, read=f"{rounded:f}"))
            data.sent.setdefault(f.name, v)
            return rounded
        if t == "integer":
            if number != number.to_integral_value():
                data.findings.append(_field_finding(spec, "E102", f, v, cell, what=_what(f), how=_how(f)))
                data.sent.setdefault(f.name, number)  # 2.5 placements: shown as 2.5, not blank
                return None
            return int(number)
        return number
    if t == "date":
        if isinstance(v, float):
            if not 1 <= v < 2958466:
                data.findings.append(_field_finding(spec, "E102", f, v, cell, what=_what(f), how=_how(f)))
                data.sent[f.name] = Decimal(repr(v))
                return None
            return (_EXCEL_EPOCH + timedelta(days=int(v))).date()
        d = _parse_date(str(v).strip())
        if d is None:
            data.findings.append(_field_finding(spec, "E102", f, v, cell, what=_what(f), how=_how(f)))
            data.sent[f.name] = str(v)
        return d
    if isinstance(v, float):
        text = str(int(v)) if v.is_integer() else repr(v)
    elif isinstance(v, bool):
        text = "TRUE" if v else "FALSE"
    else:
        text = str(v)
    if t in ("choice", "yesno") and f.choices:
        folded = {c.casefold(): c for c in f.choices}
        return folded.get(text.strip().casefold(), text)
    return text.strip() if t == "email" else text


def _parse_date(s: str) -> date | None:
    m = _DMY.match(s)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = _ISO.match(s)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def _what(f: Field) -> str:
    return {"date": "a date", "integer": "a whole number", "number": "a number",
            "percent": "a percentage"}.get(f.type, "an amount of money")


def _how(f: Field) -> str:
    if f.type == "date":
        return "Enter it as dd/mm/yyyy."
    if f.type == "integer":
        return "Enter a whole number."
    if f.type == "number":
        return "Enter a number like 92.5, without % signs or words."
    if f.type == "percent":
        return "Enter a percentage like 40%."
    return "Enter a number like 1250.00, without £ signs, commas or words."


def _norm_formula(text: str | None) -> str:
    """Remembered for short texts: returns from one template carry the same formulas."""
    if text is not None and len(text) <= 1000:
        return _norm_short_formula(text)
    return re.sub(r"\s+|\$", "", (text or "").lstrip("=")).upper()


@lru_cache(maxsize=4096)
def _norm_short_formula(text: str) -> str:
    return re.sub(r"\s+|\$", "", text.lstrip("=")).upper()


@cache
def _expected_formulas(spec: Spec) -> tuple[tuple[Field, str, str], ...]:
    """(field, cell, normalised formula) of every formula field, worked out once per spec."""
    return tuple((f, f.cell, _norm_formula(render_formula(spec, f.formula, f.sheet))) for f in spec.fields
                 if f.formula is not None)


@cache
def _layout_texts(spec: Spec) -> tuple[tuple[str, str, str], ...]:
    """(cell, text, stripped text) of the labels and headings that must be exactly as issued."""
    return tuple((t.cell, t.text, t.text.strip()) for t in spec.texts
                 if t.style in ("label", "header", "section", "total_label"))


_SHIFTS = tuple((dr, dc) for dr in range(-10, 11) for dc in range(-3, 4) if (dr, dc) != (0, 0))


@cache
def _label_places(spec: Spec) -> tuple[tuple[int, int], ...]:
    """(row, column) of each of _layout_texts(spec), 1-based."""
    return tuple(_row_col(cell) for cell, _text, _stripped in _layout_texts(spec))


def _row_col(cell: str) -> tuple[int, int]:
    letters = cell.rstrip("0123456789")
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(cell[len(letters):]), col


def _cell_name(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def _moved(spec: Spec, cells: dict[str, RawCell], first: int) -> bool:
    """Whether the label expected at ``first`` and the next two are all found at one other
    place: rows or columns were inserted or deleted there (not a label typed over)."""
    texts = _layout_texts(spec)[first:first + 3]
    places = _label_places(spec)[first:first + 3]
    for dr, dc in _SHIFTS:
        for (_cell, _text, stripped), (row, col) in zip(texts, places, strict=True):
            if row + dr < 1 or col + dc < 1:
                break
            got = cells.get(_cell_name(row + dr, col + dc))
            if got is None or got.value is None or str(got.value).strip() != stripped:
                break
        else:
            return True
    return False


def _check_layout(wb: RawWorkbook, data: ReturnData) -> None:
    """Labels and formulas of the locked layout must be exactly as issued: each one changed
    in place is reported at its own cell; a row or column inserted or deleted is one
    finding where the layout first moves (everything after it moved with it)."""
    spec = data.spec
    names = {s.name for s in wb.sheets}
    if spec.sheet not in names:
        data.findings.append(template_finding("T-E005", sheet=spec.sheet, cell="A1",
                                              detail=f"the {spec.sheet} sheet is missing"))
        return
    sheet = wb.sheet(spec.sheet)
    if not sheet.protected:
        data.findings.append(template_finding("T-W007", sheet=spec.sheet))
    if any(f.code == "T-E005" for f in data.findings):
        return  # already known to be moved: one finding says where
    cells = sheet.cells
    for i, (cell, text, stripped) in enumerate(_layout_texts(spec)):
        got = cells.get(cell)
        got_text = "" if got is None or got.value is None else str(got.value)
        if got_text.strip() != stripped:
            if _moved(spec, cells, i):
                data.findings.append(template_finding(
                    "T-E005", sheet=spec.sheet, cell=cell, value=got_text,
                    detail=f"expected '{text}', found '{got_text[:60]}'; rows or columns were inserted or deleted"))
                return  # one finding is enough: the rest shifted with it
            data.findings.append(template_finding("T-E005", sheet=spec.sheet, cell=cell, value=got_text,
                                                  detail=f"expected '{text}', found '{got_text[:60]}'"))
    for f, cell, expected in _expected_formulas(spec):
        got = cells.get(cell)
        if got is None or _norm_formula(got.formula) != expected:
            data.findings.append(template_finding(
                "T-E005", sheet=spec.sheet, cell=cell, name=f.name,
                value=None if got is None else (got.formula or got.value),
                detail=f"the formula for '{f.label}' was changed or removed"))


__all__ = ["NotOurTemplate", "ReturnData", "read_return", "read_workbook"]
