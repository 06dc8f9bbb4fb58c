"""Every sheet of every workbook the tool writes prints well: A4, fitted to the page width,
title rows repeated, and a footer naming the workbook, the period and the page.

The demo writes every kind of workbook (roster, issued, feedback, consolidated, summaries,
reports); each sheet a person can see is read here from the file's XML, not through
the code that wrote it. The returns the "schools" sent are theirs, not the tool's.
"""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from pbp_workbooks.base.printing import Printing, footer, header
from pbp_workbooks.cli.main import main

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PERIOD = re.compile(r"20\d\d-\d\d")
TOOL_FOLDERS = ("outbox", "feedback", "reports")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("printing") / "pbp-demo"
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()):
        mp.delenv("PBP_WORKSPACE", raising=False)
        assert main(["demo", str(root)]) == 0
    return root


def sheets(path: Path) -> list[tuple[int, str, str, ET.Element]]:
    """(index, name, state, worksheet XML) of every sheet, in workbook order."""
    with zipfile.ZipFile(path) as zf:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels}
        out = []
        for i, s in enumerate(book.findall("m:sheets/m:sheet", NS)):
            part = target[s.get(REL)].lstrip("/")
            part = part if part.startswith("xl/") else f"xl/{part}"
            out.append((i, s.get("name", ""), s.get("state", "visible"), ET.fromstring(zf.read(part))))
        return out


def print_titles(path: Path) -> dict[int, str]:
    with zipfile.ZipFile(path) as zf:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
    return {int(d.get("localSheetId", "-1")): d.text or "" for d in book.findall("m:definedNames/m:definedName", NS)
            if d.get("name") == "_xlnm.Print_Titles"}


def problems(path: Path) -> list[str]:
    found = []
    titles = print_titles(path)
    for i, name, state, ws in sheets(path):
        if state != "visible":
            continue
        where = f"{path.name}!{name}"
        setup = ws.find("m:pageSetup", NS)
        fit = ws.find("m:sheetPr/m:pageSetUpPr", NS)
        if setup is None or setup.get("paperSize") != "9":
            found.append(f"{where}: not A4")
        if fit is None or fit.get("fitToPage") != "1" or (setup is not None and setup.get("fitToWidth", "1") != "1"):
            found.append(f"{where}: not fitted to one page wide")
        if not re.fullmatch(r"(?:'[^']+'|[^!]+)!\$\d+:\$\d+", titles.get(i, "")):
            found.append(f"{where}: no title rows repeated ({titles.get(i)!r})")
        foot = ws.findtext("m:headerFooter/m:oddFooter", "", NS)
        head = ws.findtext("m:headerFooter/m:oddHeader", "", NS)
        if "&P" not in foot or not PERIOD.search(foot) or not foot.startswith("&L") or len(foot) < 20:
            found.append(f"{where}: the footer does not name the workbook, period and page ({foot!r})")
        if not PERIOD.search(head):
            found.append(f"{where}: the header does not name the period ({head!r})")
    return found


def tool_workbooks(root: Path) -> list[Path]:
    files = [root / "roster.xlsx"]
    for folder in TOOL_FOLDERS:
        files.extend(sorted((root / folder).rglob("*.xlsx")))
    return files


def test_every_sheet_of_every_workbook_the_tool_writes_prints_well(demo: Path) -> None:
    files = tool_workbooks(demo)
    kinds = {f.relative_to(demo).parts[0] for f in files}
    assert kinds == {"roster.xlsx", *TOOL_FOLDERS}
    names = " ".join(f.name for f in files)
    for kind in ("PBP consolidated", "summary - ", "feedback", "Quarterly Return", "Annual Report",
                 "PBP partnership report", "PBP Schools Forum report"):
        assert kind in names, kind
    n_sheets = sum(1 for f in files for s in sheets(f) if s[2] == "visible")
    assert n_sheets > 4 * len(files) // 2
    assert [p for f in files for p in problems(f)] == []


def test_a_sheet_without_a_print_setup_is_caught(demo: Path, tmp_path: Path) -> None:
    """The check above can fail: the same workbook with one sheet's page setup taken out."""
    src = next((demo / "reports").rglob("PBP consolidated *.xlsx"))
    bad = tmp_path / src.name
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = re.sub(rb"<pageSetup [^>]*/>", b"", data)
                data = re.sub(rb"<oddFooter>.*?</oddFooter>", b"", data)
            zout.writestr(info, data)
    found = problems(bad)
    assert len(found) == 2 and all("!By category:" in p for p in found), found


def test_header_and_footer_are_escaped_and_fit_excels_limit() -> None:
    p = Printing("Smith & Jones " * 30, "2025-26 Q2", "R&D " * 80)
    assert len(footer(p)) <= 255 and len(header(p)) <= 255
    assert "Smith && Jones" in footer(p) and "R&&D" in header(p)
    assert footer(Printing("PBP consolidated 2025-26 Q2", "2025-26 Q2")) == \
        "&LPBP consolidated 2025-26 Q2 – 2025-26 Q2&CPage &P of &N&R&A"
