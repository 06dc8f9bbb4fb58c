"""Checks a consolidation's CSV export against its datapackage.json with the real
``frictionless validate`` command (PyPI frictionless), and what a schema cannot say."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from pbp_workbooks.reports.csv_export import ANNUAL, CATEGORIES, DATAPACKAGE, PARTNERSHIPS, SLA_REVIEW

MONEY = re.compile(r"-?[0-9]+\.[0-9]{2}")
TABLES = {t.name: t for t in (CATEGORIES, PARTNERSHIPS, ANNUAL, SLA_REVIEW)}


def frictionless_validate(package: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-m", "frictionless", "validate", "--json", package.name],
                         cwd=package.parent, capture_output=True, text=True, timeout=600)
    report: dict[str, Any] = json.loads(run.stdout)
    assert (run.returncode == 0) == report["valid"], run.stderr
    return report


def errors(report: dict[str, Any]) -> list[tuple[str, str]]:
    out = [(e["type"], e["message"]) for e in report["errors"]]
    for task in report["tasks"]:
        out += [(e["type"], e["message"]) for e in task["errors"]]
    return out


def check_package(folder: Path) -> dict[str, Any]:
    """datapackage.json passes frictionless validate; each CSV's header is its schema's
    fields; money has two decimals in every cell. Returns the package."""
    package: dict[str, Any] = json.loads((folder / DATAPACKAGE).read_text(encoding="utf-8"))
    report = frictionless_validate(folder / DATAPACKAGE)
    assert report["valid"], errors(report)[:10]
    assert [t["name"] for t in report["tasks"]] == [r["name"] for r in package["resources"]]
    for resource in package["resources"]:
        table = TABLES[resource["name"]]
        with (folder / resource["path"]).open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == [f["name"] for f in resource["schema"]["fields"]] == table.keys
        assert len(rows) > 1
        money = [i for i, c in enumerate(table.columns) if c.kind == "money"]
        for row in rows[1:]:
            for i in money:
                assert row[i] == "" or MONEY.fullmatch(row[i]), (resource["path"], rows[0][i], row[i])
    return package
