"""LibreOffice UNO driver for the workbook tests.

This script runs under Debian's system interpreter (``/usr/bin/python3``),
because that is the interpreter the ``uno`` module (package ``python3-uno``)
belongs to.  It is NOT imported by the project's (pyenv) Python: the pytest
side (``tests/libreoffice.py``) starts one headless ``soffice`` per session
and runs this script as a subprocess for every operation::

    /usr/bin/python3 -I tests/lo_driver.py --pipe NAME <op> [options]

Each run connects to the running office, loads the document hidden, does its
work, closes the document and exits.

Protocol
    success: exit status 0 and ONE line of JSON on stdout
             (``{"ok": true, ...}``)
    failure: non-zero exit status and ONE line of JSON on stderr
             (``{"error": "<kind>", "message": "...", ...}``);
             exit 2 for expected errors (locked cell, unknown name, ...),
             exit 3 for unexpected ones (UNO exceptions, crashes).

Operations
    ping       wait (up to --wait seconds) until the office accepts connections
    terminate  ask the office to quit
    fill       type values into input cells (defined names or "Sheet!A1"),
               as a person would: refuses locked cells of protected sheets,
               cells on hidden sheets and values that a STOP data validation
               rejects; recalculates; saves as .xlsx
    tamper     unprotect a sheet with its password, insert a row and/or set
               values/formulas anywhere on it, re-protect, recalculate, save
    recalc     open, recalculate, save as .xlsx
    read       recalculate and return the values of cells / defined names
    pdf        recalculate and export ONE sheet to PDF (see ``op_pdf``)

Values are passed as tagged JSON objects:
    {"t": "str", "v": "text"}        entered as text (XCell.setString)
    {"t": "num", "v": 1.5}           entered as a number (XCell.setValue)
    {"t": "date", "v": "2025-07-15"} a date serial; see ``_write_value``
    {"t": "datetime", "v": "2025-07-15T13:45:00"}
    {"t": "time", "v": "13:45:00"}
    {"t": "formula", "v": "=B2+B3"}  Excel (OOXML) syntax; tamper only
    {"t": "none"}                    clear the cell, like pressing Delete

UNO API notes (LibreOffice 7.4, checked against the running office):
  * The UNO API does NOT enforce sheet protection: ``setValue``/``setString``
    on a locked cell of a protected sheet silently succeed.  This driver
    therefore checks ``Spreadsheet.isProtected()`` and the cell's
    ``CellProtection.IsLocked`` itself and raises ``locked_cell``.
  * The UNO API does not apply data validation either.  We ask LibreOffice
    to judge the value with the detective function ``XSheetAuditing
    .showInvalid()`` (it works on protected sheets), look for the circle it
    anchors on our cell, and remove the marks again with ``clearArrows()``.
  * ``XCell.setFormula`` uses the API grammar (``;`` separators).  Formulas
    in Excel syntax (``,`` separators, ``Sheet!A1``, ``_xlfn.`` prefixes)
    are compiled with a ``com.sun.star.sheet.FormulaParser`` set to the
    OOXML formula language and stored with ``XCell.setTokens``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, NoReturn

try:
    import uno
    from com.sun.star.beans import PropertyValue
    from com.sun.star.connection import NoConnectException
    from com.sun.star.lang import IllegalArgumentException, Locale
    from com.sun.star.sheet.AddressConvention import XL_OOX
    from com.sun.star.sheet.FormulaLanguage import OOXML
    from com.sun.star.sheet.FormulaMapGroup import ALL_EXCEPT_SPECIAL
    from com.sun.star.sheet.ValidationAlertStyle import STOP
    from com.sun.star.sheet.ValidationType import ANY
    from com.sun.star.table import CellAddress
    from com.sun.star.table.CellContentType import EMPTY, FORMULA, TEXT
    from com.sun.star.uno import Exception as UnoException
except ImportError as exc:  # pragma: no cover - depends on the host
    sys.stderr.write(
        json.dumps(
            {
                "error": "no_uno",
                "message": f"cannot import the LibreOffice UNO bridge under {sys.executable}: {exc}",
            }
        )
        + "\n"
    )
    sys.exit(3)

XLSX_FILTER = "Calc MS Excel 2007 XML"
PDF_FILTER = "calc_pdf_Export"

# com.sun.star.sheet.CellFlags: what pressing Delete removes (keeps formats).
_CLEAR_CONTENT = 1 | 2 | 4 | 16  # VALUE | DATETIME | STRING | FORMULA
# com.sun.star.util.NumberFormat bits
_NF_DATE = 2
_NF_TIME = 4
_NF_DATETIME = 6

_ADDRESS_RE = re.compile(r"^(?:'(?P<quoted>(?:[^']|'')+)'|(?P<plain>[^!']+))!(?P<cell>\$?[A-Za-z]{1,3}\$?[0-9]+)$")
_CELL_RE = re.compile(r"^\$?[A-Za-z]{1,3}\$?[0-9]+$")


class DriverError(Exception):
    """An expected failure, reported as JSON with exit status 2."""

    def __init__(self, kind: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


# --------------------------------------------------------------------------
# small UNO helpers


def _pv(name: str, value: Any) -> PropertyValue:
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def _url(path: str) -> str:
    return str(uno.systemPathToFileUrl(os.path.abspath(path)))


def _uno_error_name(exc: BaseException) -> str:
    return str(getattr(exc, "typeName", "") or type(exc).__name__)


def _col_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def connect(connection: str, wait: float) -> Any:
    """Return the remote component context, retrying until ``wait`` seconds passed."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + wait
    while True:
        try:
            return resolver.resolve(f"uno:{connection};urp;StarOffice.ComponentContext")
        except NoConnectException as exc:
            if time.monotonic() >= deadline:
                raise DriverError(
                    "connect_failed",
                    f"cannot connect to soffice at {connection}: {exc.Message}",
                ) from None
            time.sleep(0.05)


def desktop(ctx: Any) -> Any:
    return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


@contextmanager
def opened(ctx: Any, path: str) -> Iterator[Any]:
    """Load ``path`` hidden (macros off, links not updated) and always close it."""
    if not os.path.isfile(path):
        raise DriverError("load_failed", f"no such file: {path}")
    props = [
        _pv("Hidden", True),
        _pv("MacroExecutionMode", 0),  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
        _pv("UpdateDocMode", 0),  # com.sun.star.document.UpdateDocMode.NO_UPDATE
    ]
    if path.lower().endswith(".xlsx"):
        props.append(_pv("FilterName", XLSX_FILTER))
    doc = desktop(ctx).loadComponentFromURL(_url(path), "_blank", 0, tuple(props))
    if doc is None or not doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
        if doc is not None:
            doc.close(True)
        raise DriverError("load_failed", f"LibreOffice could not open {path} as a spreadsheet")
    try:
        yield doc
    finally:
        try:
            doc.close(True)
        except UnoException:  # CloseVetoException, DisposedException: force it
            doc.dispose()


def store_xlsx(doc: Any, dst: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    doc.storeToURL(_url(dst), (_pv("FilterName", XLSX_FILTER), _pv("Overwrite", True)))


# --------------------------------------------------------------------------
# addressing


@dataclass
class Target:
    key: str  # what the caller asked for
    sheet: Any
    sheet_name: str
    cell: Any
    label: str  # "Sheet!B12"


def _sheet(doc: Any, name: str) -> Any:
    sheets = doc.Sheets
    if not sheets.hasByName(name):
        raise DriverError(
            "unknown_sheet",
            f"no sheet named {name!r} (sheets: {list(sheets.getElementNames())})",
            sheet=name,
        )
    return sheets.getByName(name)


def _cell_target(doc: Any, key: str, sheet_name: str, ref: str) -> Target:
    sheet = _sheet(doc, sheet_name)
    try:
        rng = sheet.getCellRangeByName(ref.replace("$", ""))
    except UnoException as exc:
        raise DriverError("bad_reference", f"{key!r}: bad cell reference {ref!r}") from exc
    addr = rng.getRangeAddress()
    cell = sheet.getCellByPosition(addr.StartColumn, addr.StartRow)
    label = f"{sheet_name}!{_col_letters(addr.StartColumn)}{addr.StartRow + 1}"
    return Target(key, sheet, sheet_name, cell, label)


def _find_name(doc: Any, name: str) -> Any:
    named = doc.NamedRanges
    if named.hasByName(name):
        return named.getByName(name)
    for candidate in named.getElementNames():  # Excel names are case-insensitive
        if candidate.lower() == name.lower():
            return named.getByName(candidate)
    for sheet_name in doc.Sheets.getElementNames():  # sheet-scoped names
        local = getattr(doc.Sheets.getByName(sheet_name), "NamedRanges", None)
        if local is not None:
            for candidate in local.getElementNames():
                if candidate.lower() == name.lower():
                    return local.getByName(candidate)
    raise DriverError(
        "unknown_name",
        f"no defined name {name!r} (names: {sorted(named.getElementNames())})",
        name=name,
    )


def resolve(doc: Any, key: str, default_sheet: str | None = None) -> Target:
    """``key`` is a defined name, ``Sheet!A1`` (``'My sheet'!$A$1``) or, with
    ``default_sheet``, a bare ``A1``."""
    match = _ADDRESS_RE.match(key)
    if match:
        sheet_name = match["plain"] if match["plain"] is not None else match["quoted"].replace("''", "'")
        return _cell_target(doc, key, sheet_name, match["cell"])
    if default_sheet is not None and _CELL_RE.match(key):
        return _cell_target(doc, key, default_sheet, key)
    named = _find_name(doc, key)
    cells = named.getReferredCells()
    if cells is None:
        raise DriverError(
            "bad_reference",
            f"defined name {key!r} ({named.Content}) does not refer to cells",
            name=key,
        )
    addr = cells.getRangeAddress()
    if addr.StartColumn != addr.EndColumn or addr.StartRow != addr.EndRow:
        raise DriverError(
            "bad_reference",
            f"defined name {key!r} refers to a range ({named.Content}), not a single cell",
            name=key,
        )
    sheet = doc.Sheets.getByIndex(addr.Sheet)
    sheet_name = sheet.getName()
    cell = sheet.getCellByPosition(addr.StartColumn, addr.StartRow)
    label = f"{sheet_name}!{_col_letters(addr.StartColumn)}{addr.StartRow + 1}"
    return Target(key, sheet, sheet_name, cell, label)


# --------------------------------------------------------------------------
# values


def _null_date(doc: Any) -> dt.date:
    null = doc.NullDate  # 1899-12-30 for the 1900 date system, 1904-01-01 otherwise
    return dt.date(null.Year, null.Month, null.Day)


def _ensure_format(doc: Any, cell: Any, need: int, pattern: str) -> None:
    """Keep the cell's number format if it already shows dates/times;
    otherwise apply ``pattern`` -- what LibreOffice's own input line does
    when a person types an ISO date into a General cell."""
    formats = doc.NumberFormats
    with suppress(UnoException):  # unknown key: treat as General
        if (formats.getByKey(cell.NumberFormat).Type & need) == need:
            return
    locale = Locale("en", "US", "")
    key = formats.queryKey(pattern, locale, False)
    if key == -1:
        key = formats.addNew(pattern, locale)
    cell.NumberFormat = key


def _set_formula(doc: Any, target: Target, formula: str) -> None:
    """Compile an Excel-syntax formula (commas, Sheet!A1, _xlfn.*) and store it."""
    parser = doc.createInstance("com.sun.star.sheet.FormulaParser")
    mapper = doc.createInstance("com.sun.star.sheet.FormulaOpCodeMapper")
    parser.FormulaConvention = XL_OOX
    parser.OpCodeMap = mapper.getAvailableMappings(OOXML, ALL_EXCEPT_SPECIAL)
    addr = target.cell.getCellAddress()
    try:
        tokens = parser.parseFormula(formula, CellAddress(addr.Sheet, addr.Column, addr.Row))
        target.cell.setTokens(tokens)
    except UnoException as exc:
        raise DriverError(
            "bad_formula",
            f"{target.label}: cannot set formula {formula!r}: {exc}",
            cell=target.label,
        ) from exc


def _write_value(doc: Any, target: Target, spec: dict[str, Any], *, allow_formula: bool) -> None:
    kind = spec.get("t")
    value = spec.get("v")
    cell = target.cell
    if kind == "str":
        cell.setString(str(value))
    elif kind == "num":
        number = float(value)
        if not math.isfinite(number):
            raise DriverError(
                "bad_value",
                f"{target.label}: cannot enter {value!r}",
                cell=target.label,
            )
        cell.setValue(number)
    elif kind == "date":
        serial = (dt.date.fromisoformat(str(value)) - _null_date(doc)).days
        cell.setValue(float(serial))
        _ensure_format(doc, cell, _NF_DATE, "YYYY-MM-DD")
    elif kind == "datetime":
        stamp = dt.datetime.fromisoformat(str(value))
        base = dt.datetime.combine(_null_date(doc), dt.time())
        cell.setValue((stamp.replace(tzinfo=None) - base) / dt.timedelta(days=1))
        _ensure_format(doc, cell, _NF_DATETIME, "YYYY-MM-DD HH:MM:SS")
    elif kind == "time":
        moment = dt.time.fromisoformat(str(value))
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
        cell.setValue(seconds / 86400.0)
        _ensure_format(doc, cell, _NF_TIME, "HH:MM:SS")
    elif kind == "none":
        cell.clearContents(_CLEAR_CONTENT)
    elif kind == "formula" and allow_formula:
        _set_formula(doc, target, str(value))
    else:
        raise DriverError(
            "bad_value",
            f"{target.label}: unsupported value {spec!r}",
            cell=target.label,
        )


def _read_value(cell: Any) -> Any:
    kind = cell.getType()
    if kind == EMPTY:
        return None
    if kind == TEXT:
        return cell.getString()
    if kind == FORMULA:
        if cell.getError():
            return cell.getString()  # "#DIV/0!", "#NAME?", "Err:502", ...
        result_type = cell.FormulaResultType2  # com.sun.star.sheet.FormulaResult
        if result_type == 2:  # STRING
            return cell.getString()
    return cell.getValue()


def _check_typable(target: Target) -> None:
    """Raise if a person could not type into this cell."""
    if not target.sheet.IsVisible:
        raise DriverError(
            "hidden_sheet",
            f"{target.key!r} -> {target.label}: the sheet is hidden, a person cannot type there",
            cell=target.label,
        )
    if target.sheet.isProtected() and target.cell.CellProtection.IsLocked:
        raise DriverError(
            "locked_cell",
            f"{target.key!r} -> {target.label}: the cell is locked and the sheet is protected",
            cell=target.label,
        )


def _check_validation(target: Target, spec: dict[str, Any]) -> None:
    """Raise if the cell's data validation would refuse what was typed (STOP alert)."""
    if spec.get("t") == "none":
        return  # pressing Delete is never validated
    validation = target.cell.Validation
    if validation.Type == ANY or not validation.ShowErrorMessage:
        return
    if validation.ErrorAlertStyle != STOP:
        return  # WARNING/INFO alerts let the person click "OK" and keep the value
    sheet = target.sheet
    try:
        sheet.showInvalid()  # circles every invalid cell on the sheet's draw page
        page = sheet.DrawPage
        wanted = target.cell.AbsoluteName
        invalid = False
        for index in range(page.getCount()):
            shape = page.getByIndex(index)
            anchor = getattr(shape, "Anchor", None)
            if (
                shape.getShapeType() == "com.sun.star.drawing.EllipseShape"
                and anchor is not None
                and getattr(anchor, "AbsoluteName", None) == wanted
            ):
                invalid = True
                break
    finally:
        sheet.clearArrows()
    if invalid:
        raise DriverError(
            "validation_rejected",
            f"{target.key!r} -> {target.label}: data validation rejects {spec.get('v')!r}"
            + (f" ({validation.ErrorMessage})" if validation.ErrorMessage else ""),
            cell=target.label,
        )


# --------------------------------------------------------------------------
# operations


def op_fill(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = json.loads(args.values_json)
    cells: dict[str, str] = {}
    with opened(ctx, args.src) as doc:
        for key, spec in values.items():
            target = resolve(doc, key)
            _check_typable(target)
            _write_value(doc, target, spec, allow_formula=False)
            if args.validate:
                _check_validation(target, spec)
            cells[key] = target.label
        doc.calculateAll()
        store_xlsx(doc, args.dst)
    return {"cells": cells}


def op_tamper(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    set_cells: dict[str, dict[str, Any]] = json.loads(args.set_json or "{}")
    with opened(ctx, args.src) as doc:
        sheet = _sheet(doc, args.sheet)
        was_protected = bool(sheet.isProtected())
        if was_protected:
            try:
                sheet.unprotect(args.password)
            except IllegalArgumentException:
                raise DriverError(
                    "wrong_password",
                    f"the password does not unprotect sheet {args.sheet!r}",
                ) from None
        if args.insert_rows_before is not None:
            if args.insert_rows_before < 1:
                raise DriverError("bad_value", "insert_rows_before is a 1-based row number")
            sheet.getRows().insertByIndex(args.insert_rows_before - 1, 1)
        cells: dict[str, str] = {}
        for key, spec in set_cells.items():
            target = resolve(doc, key, default_sheet=args.sheet)
            if target.sheet_name != args.sheet:
                raise DriverError(
                    "bad_reference",
                    f"{key!r} -> {target.label} is not on the unprotected sheet {args.sheet!r}",
                )
            _write_value(doc, target, spec, allow_formula=True)
            cells[key] = target.label
        if was_protected:
            sheet.protect(args.password)
        doc.calculateAll()
        store_xlsx(doc, args.dst)
    return {"cells": cells}


def op_recalc(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    with opened(ctx, args.src) as doc:
        doc.calculateAll()
        store_xlsx(doc, args.dst)
    return {}


def op_read(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    keys: list[str] = json.loads(args.cells_json)
    with opened(ctx, args.src) as doc:
        doc.calculateAll()
        values = {key: _read_value(resolve(doc, key).cell) for key in keys}
    return {"values": values}


def op_pdf(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Export ONE sheet to PDF.

    Method: the Calc PDF filter's ``FilterData`` property ``Selection`` is set
    to the sheet object itself.  LibreOffice then lays out exactly that sheet
    with the sheet's own page style -- paper size, orientation, margins,
    scaling / fit-to-width, print ranges -- as File > Export as PDF would, so
    the PDF's page count is the number of pages the sheet prints on.  The
    caller counts the pages of the resulting file (``pdfinfo``).  As a
    cross-check we also return ``XRenderable.getRendererCount`` for the same
    selection (the count the print dialog uses).
    """
    with opened(ctx, args.src) as doc:
        sheet = _sheet(doc, args.sheet)
        if not sheet.IsVisible:
            raise DriverError("hidden_sheet", f"sheet {args.sheet!r} is hidden and does not print")
        doc.calculateAll()
        os.makedirs(os.path.dirname(os.path.abspath(args.pdf)), exist_ok=True)
        filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", (_pv("Selection", sheet),))
        doc.storeToURL(
            _url(args.pdf),
            (
                _pv("FilterName", PDF_FILTER),
                _pv("FilterData", filter_data),
                _pv("Overwrite", True),
            ),
        )
        renderer_pages = int(doc.getRendererCount(sheet, (_pv("IsPrinter", True),)))
    return {"renderer_pages": renderer_pages}


def op_ping(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    desktop(ctx)
    return {}


def op_terminate(ctx: Any, args: argparse.Namespace) -> dict[str, Any]:
    with suppress(UnoException):  # the bridge is torn down while the office quits
        desktop(ctx).terminate()
    return {}


OPS = {
    "ping": op_ping,
    "terminate": op_terminate,
    "fill": op_fill,
    "tamper": op_tamper,
    "recalc": op_recalc,
    "read": op_read,
    "pdf": op_pdf,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pipe", help="name of the soffice --accept=pipe,name=NAME pipe")
    where.add_argument("--port", type=int, help="soffice --accept=socket,host=127.0.0.1,port=PORT")
    parser.add_argument("--wait", type=float, default=0.0, help="retry connecting this many seconds")
    sub = parser.add_subparsers(dest="op", required=True)
    sub.add_parser("ping")
    sub.add_parser("terminate")
    fill = sub.add_parser("fill")
    fill.add_argument("--src", required=True)
    fill.add_argument("--dst", required=True)
    fill.add_argument("--values-json", required=True)
    fill.add_argument("--no-validate", dest="validate", action="store_false")
    tamper = sub.add_parser("tamper")
    tamper.add_argument("--src", required=True)
    tamper.add_argument("--dst", required=True)
    tamper.add_argument("--password", required=True)
    tamper.add_argument("--sheet", required=True)
    tamper.add_argument("--set-json")
    tamper.add_argument("--insert-rows-before", type=int)
    recalc = sub.add_parser("recalc")
    recalc.add_argument("--src", required=True)
    recalc.add_argument("--dst", required=True)
    read = sub.add_parser("read")
    read.add_argument("--src", required=True)
    read.add_argument("--cells-json", required=True)
    pdf = sub.add_parser("pdf")
    pdf.add_argument("--src", required=True)
    pdf.add_argument("--pdf", required=True)
    pdf.add_argument("--sheet", required=True)
    return parser


def _fail(status: int, payload: dict[str, Any]) -> NoReturn:
    sys.stderr.write(json.dumps(payload, ensure_ascii=True, default=str) + "\n")
    sys.stderr.flush()
    os._exit(status)  # skip interpreter teardown of the UNO bridge


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    connection = f"pipe,name={args.pipe}" if args.pipe else f"socket,host=127.0.0.1,port={args.port}"
    try:
        ctx = connect(connection, args.wait)
        result = OPS[args.op](ctx, args)
    except DriverError as exc:
        _fail(2, {"error": exc.kind, "message": exc.message, "op": args.op, **exc.details})
    except Exception as exc:  # noqa: BLE001 - report anything as one JSON line
        _fail(
            3,
            {
                "error": "internal",
                "message": f"{_uno_error_name(exc)}: {getattr(exc, 'Message', None) or exc}",
                "op": args.op,
                "traceback": traceback.format_exc(limit=6)[-2000:],
            },
        )
    sys.stdout.write(json.dumps({"ok": True, **result}, ensure_ascii=True) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
