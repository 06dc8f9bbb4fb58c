"""Make returned workbooks the way a finance officer would, and validate them like the LA does.

``fill_openpyxl`` types values into an issued workbook (found by defined name, never by a
hard-coded cell), ``edit_workbook`` lets a test break it in any other way, and
``validate_files`` / ``validate_cli`` check the result through the package's own pipeline
(the Python API or ``pbp validate --json``).
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.workbook.workbook import Workbook

from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace, find
from pbp_workbooks.demo import samples
from pbp_workbooks.intake.reader import split_ref
from pbp_workbooks.intake.validation import validate_paths
from pbp_workbooks.intake.xlsx_safe import Limits
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec.findings import FileReport
from pbp_workbooks.spec.model import Spec


def name_ref(wb: Workbook, name: str) -> tuple[str, str]:
    """(sheet, cell) a workbook-scope defined name points at, e.g. ('Return', 'B13')."""
    dn = wb.defined_names[name]
    loc = split_ref(dn.attr_text)
    if loc is None:
        raise ValueError(f"defined name {name} is not a single cell: {dn.attr_text}")
    return loc


def name_cells(path: Path) -> dict[str, tuple[str, str]]:
    """Every single-cell defined name of a workbook file -> (sheet, cell)."""
    return _single_cells(openpyxl.load_workbook(path))


def read_inputs(path: Path) -> dict[str, Any]:
    """Every single-cell defined name's value, as openpyxl reads the file (formulas as text)."""
    wb = openpyxl.load_workbook(path)
    return {name: wb[sheet][ref].value for name, (sheet, ref) in _single_cells(wb).items()}


def _single_cells(wb: Workbook) -> dict[str, tuple[str, str]]:
    out = {}
    for name in wb.defined_names:
        try:
            out[name] = name_ref(wb, name)
        except ValueError:
            continue
    return out


def cell_value(v: Any) -> Any:
    """What openpyxl should store for a value typed by a person: a Decimal as a float (the
    double Excel would hold), a date as a date cell (serial number with a date format, as
    Excel stores a typed date), text as text; None clears the cell."""
    return float(v) if isinstance(v, Decimal) else v


def put(wb: Workbook, name: str, value: Any) -> None:
    """Write one value into the cell the defined name points at (None clears it)."""
    sheet, cell = name_ref(wb, name)
    c = wb[sheet][cell]
    c.value = cell_value(value)
    if isinstance(value, str) and value.startswith("="):
        c.data_type = "s"  # text, as when an officer types a leading apostrophe; not a formula


def fill_openpyxl(src: Path, dst: Path, values: dict[str, object], *,
                  edit: Callable[[Workbook], object] | None = None) -> None:
    """Open an issued workbook, type ``values`` (defined name -> value) and save it as ``dst``.

    Protection is left as it is: openpyxl ignores it when writing, as a person with the
    unlocked input cells would never need to remove it. ``edit(wb)``, if given, runs
    after the values are typed (to break the workbook in some other way).
    """
    wb = openpyxl.load_workbook(src)
    for name, value in values.items():
        put(wb, name, value)
    if edit is not None:
        edit(wb)
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)


def edit_workbook(src: Path, dst: Path, edit: Callable[[Workbook], object]) -> None:
    """Open ``src`` with openpyxl, let ``edit(wb)`` change anything, save as ``dst``."""
    wb = openpyxl.load_workbook(src)
    edit(wb)
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)


def save_numbers_as_excel_does(path: Path) -> None:
    """Rewrite every typed number of the worksheets the way Excel saves it: 17 significant
    digits (a typed 19.99 is stored as ``<v>19.989999999999998</v>``), in place."""
    tmp = path.with_name(path.name + ".excel.tmp")
    number = re.compile(rb'(<c\b[^>]*\bt="n"[^>]*>)<v>([^<]+)</v>')
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = number.sub(lambda m: m.group(1) + b"<v>" + b"%.17g" % float(m.group(2)) + b"</v>", data)
            zout.writestr(item, data)
    tmp.replace(path)


def read_meta(path: Path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["_meta"]
    return {r[0]: r[1] for r in ws.iter_rows(min_row=2, max_col=2, values_only=True) if r[0]}


def issued_allocation(path: Path) -> Decimal:
    """The DSG allocation pre-filled in an issued workbook (cell found by its defined name)."""
    wb = openpyxl.load_workbook(path)
    sheet, cell = name_ref(wb, "dsg_allocation")
    return Decimal(str(wb[sheet][cell].value))


def clean_values(spec: Spec, quarter: int, allocation: Decimal, seed: int, *, year: str = "2025-26",
                 params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A clean sample return (``samples.filled_values``), only the inputs a person could type in
    this quarter: pre-filled, formula and later-quarter cells are left as issued."""
    fy = FinancialYear.parse(year)
    prefilled = {"dsg_allocation": allocation}
    values = samples.filled_values(spec, fy, quarter, prefilled, seed=seed,
                                   params=params if params is not None else Thresholds().params())
    return {k: v for k, v in values.items() if k in spec.by_name and spec[k].is_open(quarter)}


def _root(workspace: Workspace | Path | None) -> Path:
    if workspace is None:
        return find().root  # $PBP_WORKSPACE or the current folder (the conftest fixture chdirs there)
    return workspace.root if isinstance(workspace, Workspace) else Path(workspace)


def validate_files(paths: Sequence[Path], workspace: Workspace | Path | None = None, *,
                   params: dict[str, Any] | None = None) -> list[FileReport]:
    """``validation.validate_paths`` with the workspace's ledger and the default thresholds."""
    with Ledger(Workspace(_root(workspace)).ledger_path) as ledger:
        checked = validate_paths([(Path(p), str(p)) for p in paths], ledger=ledger,
                                 params=params if params is not None else Thresholds().params(), limits=Limits())
    return [c.report for c in checked]


@contextmanager
def workspace_env(root: Path) -> Iterator[None]:
    """PBP_WORKSPACE=root for the duration, restored (or removed) afterwards."""
    old = os.environ.get("PBP_WORKSPACE")
    os.environ["PBP_WORKSPACE"] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PBP_WORKSPACE", None)
        else:
            os.environ["PBP_WORKSPACE"] = old


def cli_json(capsys: Any, *argv: str | Path) -> tuple[int, Any]:
    """``pbp ARGV... --json`` in this process: (exit code, the parsed JSON it printed)."""
    from pbp_workbooks.cli.main import main

    capsys.readouterr()
    code = main([*map(str, argv), "--json"])
    return code, json.loads(capsys.readouterr().out)


def validate_cli(paths: Sequence[Path], capsys: Any,
                 workspace: Workspace | Path | None = None) -> tuple[int, list[dict[str, Any]]]:
    """``pbp validate --json FILE...`` inside the workspace: (exit code, parsed JSON array)."""
    from pbp_workbooks.cli.main import main

    capsys.readouterr()
    with workspace_env(_root(workspace)):
        code = main(["validate", "--json", *map(str, paths)])
    return code, json.loads(capsys.readouterr().out)
