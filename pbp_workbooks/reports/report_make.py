"""Making the reports (``pbp report``, the demo): load the data and write the workbooks where they belong.
The contents are report_partnership.py and report_forum.py; the PDFs (``--pdf``) report_pdf.py."""

from __future__ import annotations

from pathlib import Path

from pbp_workbooks.base.errors import ConfigError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.reports.consolidation import Consolidation, load
from pbp_workbooks.reports.report_forum import Forum, file_name, load_forum, write_forum_report
from pbp_workbooks.reports.report_partnership import write_partnership_reports

PARTNERSHIP_FOLDER = "partnership reports"


def _folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the output folder {path}: {err.strerror}") from None
    return path


def partnership_reports(ws: Workspace, fy: FinancialYear, quarter: int, out: Path | None = None
                        ) -> tuple[Consolidation, list[Path]]:
    """One report per partnership for the quarter, in ``reports/<year> Q<n>/partnership reports/``."""
    data = load(ws, fy, quarter, annual=False)
    folder = _folder(out or ws.folder("reports") / data.period / PARTNERSHIP_FOLDER)
    return data, write_partnership_reports(data, folder)


def forum_report(ws: Workspace, fy: FinancialYear, out: Path | None = None) -> tuple[Forum, Path]:
    """The year's Schools Forum report, in ``reports/<year>/``."""
    forum = load_forum(ws, fy)
    folder = _folder(out or ws.folder("reports") / str(fy))
    return forum, write_forum_report(forum, folder / file_name(fy))
