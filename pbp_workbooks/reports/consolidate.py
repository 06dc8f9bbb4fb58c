"""``pbp consolidate``: load the period's consolidation and write all its outputs.

Outputs (``consolidate``), in ``reports/<year> Q<n>/`` unless ``--out`` says otherwise:

- ``PBP consolidated <year> Q<n>.xlsx`` -- Summary (per partnership, totals, median,
  RAG with a text label, charts), By category, Categories (a tidy Excel table with
  filters: partnership x category x reporting quarter), Items over the large-item threshold, Balances
  (surplus plans, possible claw-back), Placements, Returns status, Data quality, About
  (la_workbook.py; with the annual overview, also its published sheets: annual_sheets.py);
- two tidy CSV files for BI tools (``... - categories.csv``, ``... - partnerships.csv``),
  ``... - annual.csv`` with the annual overview and ``... - sla review.csv`` with the year's SLA
  reviews (sla.py), described by ``datapackage.json``
  (a Frictionless Data Package: types, constraints, keys; csv_export.py);
- a headteacher summary workbook per partnership (``summary - <Partnership>.xlsx``,
  see summary.py).

What is consolidated, and from which returns: consolidation.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbp_workbooks.base.errors import ConfigError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.reports.consolidation import Consolidation, load
from pbp_workbooks.reports.csv_export import (
    ANNUAL,
    CATEGORIES,
    PARTNERSHIPS,
    SLA_REVIEW,
    annual_rows,
    partnership_rows,
    write_csv,
    write_datapackage,
)
from pbp_workbooks.reports.la_workbook import category_rows, write_workbook
from pbp_workbooks.reports.summary import write_summaries


@dataclass
class Outputs:
    folder: Path
    workbook: Path
    csv: list[Path]
    datapackage: Path  # datapackage.json: the CSV files' Table Schemas
    summaries: list[Path]
    data: Consolidation


def output_folder(ws: Workspace, fy: FinancialYear, quarter: int, out: Path | None) -> Path:
    folder = out or ws.folder("reports") / f"{fy} Q{quarter}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the output folder {folder}: {err.strerror}") from None
    return folder


def consolidate(ws: Workspace, fy: FinancialYear, quarter: int | None = None, out: Path | None = None, *,
                summaries: bool = True, progress: Any = None, annual: bool | None = None) -> Outputs:
    """``annual`` (default: when no quarter is given) adds the annual overview -- sheets,
    CSV and the summaries' Annual sheet -- if an annual report for the year was accepted."""
    data = load(ws, fy, quarter, annual=annual)
    folder = output_folder(ws, fy, data.quarter, out)
    stem = f"PBP consolidated {data.period}"
    csv_paths = [folder / f"{stem} - categories.csv", folder / f"{stem} - partnerships.csv"]
    tables = [CATEGORIES, PARTNERSHIPS]
    if data.annual is not None:
        csv_paths.append(folder / f"{stem} - annual.csv")
        tables.append(ANNUAL)
    if data.sla is not None:
        csv_paths.append(folder / f"{stem} - sla review.csv")
        tables.append(SLA_REVIEW)
    rows = category_rows(data)
    workbook = write_workbook(data, folder / f"{stem}.xlsx", [p.name for p in csv_paths], rows)
    write_csv(csv_paths[0], CATEGORIES, rows)
    write_csv(csv_paths[1], PARTNERSHIPS, partnership_rows(data))
    if data.annual is not None:
        write_csv(csv_paths[2], ANNUAL, annual_rows(data))
    if data.sla is not None:
        write_csv(csv_paths[-1], SLA_REVIEW, data.sla.answer_rows())
    datapackage = write_datapackage(folder, data, list(zip(tables, csv_paths, strict=True)))
    written: list[Path] = []
    if summaries:
        written = write_summaries(data, folder, progress=progress)
    return Outputs(folder, workbook, csv_paths, datapackage, written, data)

