"""Where the shipped data folders are: inside the installed wheel, or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent  # pbp_workbooks/


def data_dir(name: str) -> Path:
    """``workbook_templates`` or ``validators``.

    A wheel carries them as ``pbp_workbooks/_data/<name>`` (pyproject force-include);
    an editable install or a checkout finds them beside the package.
    """
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name} folder is missing from this installation")
