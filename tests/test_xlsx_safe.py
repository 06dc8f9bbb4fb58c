"""Tests for pbp_workbooks.intake.xlsx_safe: real files only (a third-party corpus and files
built here with zipfile, xlsxwriter and openpyxl), each asserting the code and wording."""

from __future__ import annotations

import io
import os
import random
import shutil
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Protection
from openpyxl.workbook.defined_name import DefinedName

from pbp_workbooks.base.errors import UnreadableFile
from pbp_workbooks.intake import xlsx_safe
from pbp_workbooks.intake.xlsx_safe import Limits, RawWorkbook, open_workbook, sniff
from pbp_workbooks.spec import registry

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "third-party"

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WB_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
DEFAULT = Limits()


# --------------------------------------------------------------------------- helpers


def refuse(path: Path, limits: Limits = DEFAULT) -> UnreadableFile:
    """Open and read every sheet; return the UnreadableFile it must raise."""
    with pytest.raises(UnreadableFile) as info:
        read_all(path, limits)
    err = info.value
    assert_one_line(err)
    return err


def read_all(path: Path, limits: Limits = DEFAULT) -> RawWorkbook:
    wb = open_workbook(path, limits)
    for s in wb.sheets:
        wb.sheet(s.name)
    return wb


def assert_one_line(err: UnreadableFile) -> None:
    assert err.code in registry.codes("file"), err.code
    assert str(err) == err.reason
    assert "\n" not in err.reason and "\r" not in err.reason
    assert 0 < len(err.reason) < 300, err.reason
    assert "Traceback" not in err.reason


def sheet_doc(body: str, extra: str = "", ns: str = MAIN_NS) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>{body}</sheetData>{extra}</worksheet>'


def build_xlsx(
    path: Path,
    sheets: list[tuple[str, str]] | None = None,
    *,
    shared_strings: str | None = None,
    styles: str | None = None,
    workbook_inner: str = "",
    ns: str = MAIN_NS,
    extra_parts: dict[str, str | bytes] | None = None,
    extra_types: str = "",
    sheet_states: dict[str, str] | None = None,
) -> Path:
    """Write a minimal but complete SpreadsheetML package by hand."""
    sheets = sheets if sheets is not None else [("Sheet1", sheet_doc(""))]
    sheet_states = sheet_states or {}
    overrides = [f'<Override PartName="/xl/workbook.xml" ContentType="{WB_CT}"/>']
    sheet_entries = []
    rels = []
    parts: dict[str, str | bytes] = {}
    for i, (name, xml) in enumerate(sheets, start=1):
        state = f' state="{sheet_states[name]}"' if name in sheet_states else ""
        esc = name.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        sheet_entries.append(f'<sheet name="{esc}" sheetId="{i}"{state} r:id="rId{i}"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="{R_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>')
        parts[f"xl/worksheets/sheet{i}.xml"] = xml
        overrides.append(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        )
    n = len(sheets)
    if shared_strings is not None:
        n += 1
        rels.append(f'<Relationship Id="rId{n}" Type="{R_NS}/sharedStrings" Target="sharedStrings.xml"/>')
        parts["xl/sharedStrings.xml"] = shared_strings
    if styles is not None:
        n += 1
        rels.append(f'<Relationship Id="rId{n}" Type="{R_NS}/styles" Target="styles.xml"/>')
        parts["xl/styles.xml"] = styles
    parts["[Content_Types].xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CT_NS}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{''.join(overrides)}{extra_types}</Types>"
    )
    parts["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS_NS}">'
        f'<Relationship Id="rId1" Type="{R_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}" xmlns:r="{R_NS}">'
        f"<sheets>{''.join(sheet_entries)}</sheets>{workbook_inner}</workbook>"
    )
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS_NS}">{"".join(rels)}</Relationships>'
    )
    parts.update(extra_parts or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return path


def make_xlsxwriter_book(path: Path) -> Path:
    """A realistic return-like workbook written by xlsxwriter."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_size(1200, 800)
    unlocked = wb.add_format({"locked": False, "num_format": "#,##0.00"})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy", "locked": False})
    ws = wb.add_worksheet("Return")
    ws.protect()
    ws.write_string("A1", "School name")
    ws.write_string("A2", "School name")  # repeated -> one shared string
    ws.write_string("B1", "Hillside Primary", unlocked)
    ws.write_number("B5", 1234.56, unlocked)
    ws.write_number("B6", 100, unlocked)
    ws.write_formula("B7", "=B5+B6", None, 1334.56)
    ws.write_datetime("B8", datetime(2024, 3, 31), date_fmt)
    ws.write_boolean("C1", True)
    ws.write_blank("D9", None, unlocked)
    my = wb.add_worksheet("My Sheet")
    my.write_string("A1", "Notes")
    hidden = wb.add_worksheet("Lists")
    hidden.hide()
    very = wb.add_worksheet("Control")
    very.very_hidden()
    very.write_string("A1", "v3")
    wb.define_name("Amount", "=Return!$B$5")
    wb.define_name("Notes", "='My Sheet'!$A$1")
    wb.define_name("Broken", "=#REF!")
    wb.define_name("Block", "=Return!$B$5:$B$7")
    wb.define_name("Single", "=Return!$B$6:$B$6")
    wb.define_name("Constant", "=42")
    wb.define_name("Return!LocalName", "=Return!$A$1")
    ws.print_area("A1:D10")
    wb.close()
    return path


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")


def require_corpus() -> None:
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"third-party corpus missing at {CORPUS} (required on CI)")
        pytest.skip(f"third-party corpus not found at {CORPUS}")


@pytest.fixture()
def good_xlsx(tmp_path: Path) -> Path:
    return make_xlsxwriter_book(tmp_path / "good.xlsx")


def patch_zip_flags(data: bytes, bits: int) -> bytes:
    """OR ``bits`` into the general-purpose flags of every local and central header."""
    out = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = out.find(sig)
        while i >= 0:
            out[i + off] |= bits
            i = out.find(sig, i + 4)
    return bytes(out)


# --------------------------------------------------------------------------- 1. the corpus

EXPECTED_CODES = {
    "pass_protected.xlsx": "F-E005",  # really an OLE2 container with EncryptedPackage
    "pass_protected.xlsb": "F-E005",
    "strict_iso_paths.xlsx": "F-E015",  # Strict OOXML (purl.oclc.org namespaces)
    "issue_530.xlsx": "F-E018",  # entries named with backslashes (docProps\\app.xml)
}
# A guard against hangs, not a speed target (those are in benchmarks/bomb.py): generous,
# so a loaded CI machine never fails it.
HANG = 20.0
SUFFIX_CODES = {".xls": "F-E006", ".ods": "F-E012", ".xlsb": "F-E013", ".xlsm": "F-E014"}


@pytest.mark.parametrize("name", [p.name for p in corpus_files()] or ["<corpus missing>"])
def test_corpus_file_is_read_or_refused_cleanly(name: str) -> None:
    require_corpus()
    path = CORPUS / name
    start = time.perf_counter()
    code: str | None = None
    try:
        read_all(path)
    except UnreadableFile as err:
        assert_one_line(err)
        code = err.code
    elapsed = time.perf_counter() - start
    assert elapsed < HANG, f"{name} took {elapsed:.2f}s"
    expected = EXPECTED_CODES.get(name) or SUFFIX_CODES.get(path.suffix.lower())
    if expected is not None:
        assert code == expected, f"{name}: got {code}, expected {expected}"
    else:
        assert code is None or code in registry.codes("file")


def test_corpus_contents_of_some_readable_files() -> None:
    require_corpus()
    wb = read_all(CORPUS / "any_sheets.xlsx")
    assert [(s.name, s.state, s.kind) for s in wb.sheets] == [
        ("Visible", "visible", "worksheet"),
        ("Hidden", "hidden", "worksheet"),
        ("VeryHidden", "veryHidden", "worksheet"),
        ("Chart", "visible", "chartsheet"),
    ]
    assert wb.sheet("Visible").cells["B3"].value == 6.0
    # phonetic runs (<rPh>) are not part of the text
    assert read_all(CORPUS / "rph.xlsx").sheet("Sheet1").cells["A1"].value == "課きく\u3000毛こ"
    # _x000D_ escapes are decoded, in shared and in inline strings
    for name in ("has_x000D_.xlsx", "has_x000D_inline.xlsx"):
        assert read_all(CORPUS / name).sheet("Sheet1").cells["A1"].value == "ABC\r\nDEF"
    cells = read_all(CORPUS / "errors.xlsx").sheet("Feuil1").cells
    assert (cells["A1"].type, cells["A1"].value, cells["A1"].formula) == ("e", "#DIV/0!", "5/0")
    shared = read_all(CORPUS / "issue_565_multi_axis_shared.xlsx").sheet("Sheet1").cells
    assert shared["C1"].shared and shared["C1"].formula == "B1"


# --------------------------------------------------------------------------- 2. paths


def test_missing_path(tmp_path: Path) -> None:
    err = refuse(tmp_path / "nope.xlsx")
    assert err.code == "F-E001" and "does not exist" in err.reason


def test_directory(tmp_path: Path) -> None:
    err = refuse(tmp_path)
    assert err.code == "F-E001" and "folder" in err.reason


def test_symlink_refused_even_to_a_good_file(tmp_path: Path, good_xlsx: Path) -> None:
    link = tmp_path / "link.xlsx"
    link.symlink_to(good_xlsx)
    err = refuse(link)
    assert err.code == "F-E002" and "symbolic link" in err.reason
    with pytest.raises(UnreadableFile) as info:
        sniff(link, Limits())
    assert info.value.code == "F-E002"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")
def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    start = time.perf_counter()
    err = refuse(fifo)
    assert err.code == "F-E001" and "not a regular file" in err.reason
    assert time.perf_counter() - start < HANG


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    err = refuse(path)
    assert err.code == "F-E003" and "empty" in err.reason


def test_too_large_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    with path.open("wb") as fh:  # sparse: 30 MB on paper, nothing to read first
        fh.truncate(30 * 2**20)
    err = refuse(path)
    assert err.code == "F-E004" and "30.0 MB" in err.reason and "20.0 MB" in err.reason


@pytest.mark.parametrize(
    "name",
    ["my return 'final' \"v2\".xlsx", "résumé école € 日本.xlsx", "spaces  and\ttab.xlsx", "new\nline.xlsx"],
)
def test_odd_file_names(tmp_path: Path, good_xlsx: Path, name: str) -> None:
    path = tmp_path / name
    shutil.copyfile(good_xlsx, path)
    wb = read_all(path)
    assert wb.resolve_name("Amount") == ("Return", "B5")
    broken = tmp_path / ("broken " + name)
    broken.write_bytes(good_xlsx.read_bytes()[:500])
    err = refuse(broken)
    assert err.code == "F-E017"


def test_file_is_read_once_and_not_modified(tmp_path: Path, good_xlsx: Path) -> None:
    before = (good_xlsx.read_bytes(), good_xlsx.stat().st_mtime_ns)
    wb = open_workbook(good_xlsx)
    assert (good_xlsx.read_bytes(), good_xlsx.stat().st_mtime_ns) == before
    good_xlsx.unlink()  # sheets are parsed lazily from the bytes already in memory
    assert wb.sheet("Return").cells["B5"].value == 1234.56


# --------------------------------------------------------------------------- 2. not a zip


def test_truncated_zip(tmp_path: Path, good_xlsx: Path) -> None:
    data = good_xlsx.read_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(data[: len(data) // 2])
    err = refuse(path)
    assert err.code == "F-E017" and "damaged or incomplete" in err.reason


def test_corrupt_member_data(tmp_path: Path, good_xlsx: Path) -> None:
    with zipfile.ZipFile(good_xlsx) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data = bytearray(good_xlsx.read_bytes())
    for i in range(offset + 20, offset + 60):
        data[i] ^= 0x5A
    path = tmp_path / "crc.xlsx"
    path.write_bytes(bytes(data))
    err = refuse(path)
    assert err.code in ("F-E017", "F-E024")
    assert "damaged" in err.reason


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.xlsx"
    path.write_bytes(random.Random(7).randbytes(5000))
    err = refuse(path)
    assert err.code == "F-E011" and "no format we recognise" in err.reason


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "return.xlsx"
    path.write_text("School,Amount\nHillside,1234.56\n", encoding="utf-8")
    err = refuse(path)
    assert err.code == "F-E008" and "CSV" in err.reason


def test_utf16_unicode_text_export(tmp_path: Path) -> None:
    path = tmp_path / "unicode.xlsx"
    path.write_bytes("School\tAmount\r\nHillside\t1234.56\r\n".encode("utf-16"))
    err = refuse(path)
    assert err.code == "F-E008"


def test_html(tmp_path: Path) -> None:
    path = tmp_path / "report.xls"
    path.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>")
    err = refuse(path)
    assert err.code == "F-E009" and "web page (HTML)" in err.reason


def test_xml_spreadsheet_2003(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_text('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>')
    err = refuse(path)
    assert err.code == "F-E011" and "XML Spreadsheet 2003" in err.reason


def test_pdf(tmp_path: Path) -> None:
    path = tmp_path / "return.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    err = refuse(path)
    assert err.code == "F-E010" and "PDF" in err.reason


def test_picture(tmp_path: Path) -> None:
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    err = refuse(path)
    assert err.code == "F-E011" and "picture" in err.reason


def test_ole2_with_garbage(tmp_path: Path) -> None:
    path = tmp_path / "ole.xls"
    path.write_bytes(OLE_MAGIC + random.Random(3).randbytes(4000))
    err = refuse(path)
    assert err.code == "F-E011" and "old-style Office file" in err.reason


def test_ole2_damaged_directory_still_recognised_as_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "enc.xlsx"
    path.write_bytes(OLE_MAGIC + bytes(600) + "EncryptedPackage".encode("utf-16-le") + bytes(600))
    err = refuse(path)
    assert err.code == "F-E005" and "password-protected" in err.reason


# --------------------------------------------------------------------------- 2. zip problems


def write_zip(path: Path, entries: Sequence[tuple[str, bytes | str]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", method) as zf:
            for name, content in entries:
                zf.writestr(zipfile.ZipInfo(name), content, compress_type=method)
    return path


@pytest.mark.parametrize(
    "evil", ["../evil.xml", "xl/../../evil.xml", "/etc/evil.xml", "C:/evil.xml", "xl\\worksheets\\sheet1.xml"]
)
def test_unsafe_entry_names(tmp_path: Path, evil: str) -> None:
    good = build_xlsx(tmp_path / "base.xlsx")
    with zipfile.ZipFile(good) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    path = write_zip(tmp_path / "evil.xlsx", [*entries, (evil, "<x/>")])
    err = refuse(path)
    assert err.code == "F-E018" and "refused for safety" in err.reason
    assert not (tmp_path.parent / "evil.xml").exists()


def test_duplicate_entries(tmp_path: Path) -> None:
    good = build_xlsx(tmp_path / "base.xlsx")
    with zipfile.ZipFile(good) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    path = write_zip(tmp_path / "dup.xlsx", [*entries, ("xl/workbook.xml", "<workbook/>")])
    err = refuse(path)
    assert err.code == "F-E019" and "'xl/workbook.xml' twice" in err.reason


def test_zip_encrypted_members(tmp_path: Path) -> None:
    good = build_xlsx(tmp_path / "base.xlsx")
    path = tmp_path / "zipcrypto.xlsx"
    path.write_bytes(patch_zip_flags(good.read_bytes(), 0x1))
    err = refuse(path)
    assert err.code == "F-E020" and "zip password" in err.reason


def test_unusual_compression(tmp_path: Path) -> None:
    good = build_xlsx(tmp_path / "base.xlsx")
    with zipfile.ZipFile(good) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    path = write_zip(tmp_path / "bz.xlsx", entries, zipfile.ZIP_BZIP2)
    err = refuse(path)
    assert err.code == "F-E021" and "bzip2" in err.reason


def test_too_many_zip_entries(tmp_path: Path) -> None:
    parts = {f"xl/media/junk{i}.bin": b"x" for i in range(30)}
    path = build_xlsx(tmp_path / "many.xlsx", extra_parts=dict(parts))
    err = refuse(path, Limits(max_zip_entries=20))
    assert err.code == "F-E022" and "entries" in err.reason


def test_ods_docx_and_plain_zips(tmp_path: Path) -> None:
    ods = write_zip(
        tmp_path / "a.xlsx",
        [("mimetype", "application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", "<x/>")],
    )
    assert refuse(ods).code == "F-E012"
    docx = write_zip(
        tmp_path / "b.xlsx",
        [
            (
                "[Content_Types].xml",
                f'<Types xmlns="{CT_NS}"><Override PartName="/word/document.xml" ContentType='
                '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
            ),
            ("word/document.xml", "<w/>"),
        ],
    )
    err = refuse(docx)
    assert err.code == "F-E007" and "Word document" in err.reason
    wrapped = write_zip(tmp_path / "c.xlsx", [("return.xlsx", b"PK..."), ("notes.txt", "hi")])
    err = refuse(wrapped)
    assert err.code == "F-E016" and "it contains return.xlsx" in err.reason
    no_book = write_zip(tmp_path / "d.xlsx", [("[Content_Types].xml", f'<Types xmlns="{CT_NS}"/>')])
    err = refuse(no_book)
    assert err.code == "F-E016" and "no workbook inside" in err.reason


def test_xlsb_and_macro_content(tmp_path: Path) -> None:
    xlsb = build_xlsx(tmp_path / "b.xlsx", extra_parts={"xl/workbook.bin": b"\x83\x01\x00"})
    assert refuse(xlsb).code == "F-E013"
    macro_ct = build_xlsx(
        tmp_path / "m1.xlsx",
        extra_types='<Override PartName="/xl/x.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/>',
    )
    err = refuse(macro_ct)
    assert err.code == "F-E014" and "macro-enabled" in err.reason
    vba = build_xlsx(tmp_path / "m2.xlsx", extra_parts={"xl/vbaProject.bin": OLE_MAGIC + bytes(100)})
    assert refuse(vba).code == "F-E014"


def test_strict_namespace(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "strict.xlsx", [("S", sheet_doc("", ns=STRICT_NS))], ns=STRICT_NS)
    err = refuse(path)
    assert err.code == "F-E015" and "Strict Open XML" in err.reason


# --------------------------------------------------------------------------- 2. bombs


def write_bomb(path: Path, spaces: int) -> Path:
    """A sheet part of ``spaces`` blanks inside <sheetData>, streamed so the test never
    holds it in memory."""
    build_xlsx(path)  # base package
    with zipfile.ZipFile(path) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist() if "sheet1" not in i.filename]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries:
            zf.writestr(name, content)
        with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode())
            block = b" " * 2**20
            for _ in range(spaces // len(block)):
                fh.write(block)
            fh.write(b"</sheetData></worksheet>")
    return path


def measure_refusal(path: Path) -> tuple[UnreadableFile, float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(UnreadableFile) as info:
            read_all(path)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_one_line(info.value)
    return info.value, elapsed, peak


@pytest.fixture(scope="module")
def bomb300(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", 300 * 2**20)


def test_zip_bomb_300mb_of_spaces(bomb300: Path) -> None:
    path = bomb300
    assert path.stat().st_size < 2 * 2**20
    err, elapsed, peak = measure_refusal(path)
    assert err.code == "F-E022" and "unpacks to" in err.reason
    assert elapsed < HANG, elapsed
    assert peak < 200 * 2**20, peak


def test_zip_bomb_under_part_limit_caught_by_ratio(tmp_path: Path) -> None:
    path = write_bomb(tmp_path / "bomb40.xlsx", 40 * 2**20)
    err, elapsed, peak = measure_refusal(path)
    assert err.code == "F-E022" and "compressed more than 200 to 1" in err.reason
    assert elapsed < HANG and peak < 200 * 2**20


def test_zip_bomb_with_lying_sizes(tmp_path: Path, bomb300: Path) -> None:
    """Declared size patched down to 1000 bytes: no more than that is ever inflated."""
    path = tmp_path / "liar.xlsx"
    data = bytearray(bomb300.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    i = data.find(b"PK\x01\x02")
    patched = 0
    while i >= 0:
        fn_len = int.from_bytes(data[i + 28 : i + 30], "little")
        if bytes(data[i + 46 : i + 46 + fn_len]) == name:
            data[i + 24 : i + 28] = (1000).to_bytes(4, "little")
            patched += 1
        i = data.find(b"PK\x01\x02", i + 4)
    assert patched == 1
    path.write_bytes(bytes(data))
    err, elapsed, peak = measure_refusal(path)
    assert err.code == "F-E017" and "checksum" in err.reason
    assert elapsed < HANG and peak < 200 * 2**20


def test_total_inflated_budget(tmp_path: Path) -> None:
    parts: dict[str, str | bytes] = {f"xl/media/image{i}.bin": os.urandom(200_000) for i in range(6)}
    path = build_xlsx(tmp_path / "total.xlsx", extra_parts=parts)
    err = refuse(path, Limits(max_inflated_bytes=1_000_000))
    assert err.code == "F-E022" and "in total" in err.reason


# --------------------------------------------------------------------------- 2. XML attacks

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + f']><sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>'
)


def test_billion_laughs_in_shared_strings(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "lol.xlsx", shared_strings=LAUGHS)
    start = time.perf_counter()
    err = refuse(path)
    assert err.code == "F-E023" and "DTD or entities" in err.reason and "sharedStrings" in err.reason
    assert time.perf_counter() - start < HANG


def test_external_entity_never_resolved(tmp_path: Path) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&x;</t></is></c>'
        "</row></sheetData></worksheet>"
    )
    path = build_xlsx(tmp_path / "xxe.xlsx", [("S", xxe)])
    err = refuse(path)
    assert err.code == "F-E023" and "root:" not in err.reason


def test_external_dtd_reference(tmp_path: Path) -> None:
    doc = f'<?xml version="1.0"?><!DOCTYPE workbook SYSTEM "http://example.invalid/x.dtd"><workbook xmlns="{MAIN_NS}"/>'
    path = build_xlsx(tmp_path / "dtd.xlsx", extra_parts={"xl/workbook.xml": doc})
    err = refuse(path)
    assert err.code == "F-E023" and "xl/workbook.xml" in err.reason


def test_malformed_xml(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "bad.xlsx", [("S", f'<worksheet xmlns="{MAIN_NS}"><sheetData><row>')])
    err = refuse(path)
    assert err.code == "F-E024" and "xl/worksheets/sheet1.xml" in err.reason and "not valid XML" in err.reason


# --------------------------------------------------------------------------- 2. content limits


def test_sixty_sheets(tmp_path: Path) -> None:
    path = build_xlsx(tmp_path / "s60.xlsx", [(f"S{i}", sheet_doc("")) for i in range(60)])
    err = refuse(path)
    assert err.code == "F-E025" and "more than 50" in err.reason


def test_300k_cells(tmp_path: Path) -> None:
    rows = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J"))
        + "</row>"
        for r in range(1, 30_001)
    )
    path = build_xlsx(tmp_path / "big.xlsx", [("S", sheet_doc(rows))])
    start = time.perf_counter()
    err = refuse(path)
    assert err.code == "F-E026" and "more than 200,000 cells" in err.reason
    # a guard against a hang, not a speed target (benchmarks/bomb.py measures speed): the
    # 3 s this said before failed on a loaded 2-core machine
    assert time.perf_counter() - start < HANG


def test_cell_budget_spans_sheets(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(1, 61))
    path = build_xlsx(tmp_path / "two.xlsx", [("A", sheet_doc(rows)), ("B", sheet_doc(rows))])
    wb = open_workbook(path, Limits(max_cells=100))
    assert len(wb.sheet("A").cells) == 60
    with pytest.raises(UnreadableFile) as info:
        wb.sheet("B")
    assert info.value.code == "F-E026"


def test_long_shared_string(tmp_path: Path) -> None:
    sst = f'<sst xmlns="{MAIN_NS}"><si><t>{"x" * 40_000}</t></si></sst>'
    body = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    path = build_xlsx(tmp_path / "long.xlsx", [("S", sheet_doc(body))], shared_strings=sst)
    err = refuse(path)
    assert err.code == "F-E028" and "32,767" in err.reason and "40,000 characters" in err.reason


def test_long_inline_string(tmp_path: Path) -> None:
    body = f'<row r="1"><c r="B2" t="inlineStr"><is><t>{"y" * 40_000}</t></is></c></row>'
    path = build_xlsx(tmp_path / "long.xlsx", [("Return", sheet_doc(body))])
    err = refuse(path)
    assert err.code == "F-E028" and "Return!B2" in err.reason


def test_string_at_the_limit_is_fine(tmp_path: Path) -> None:
    body = f'<row r="1"><c r="A1" t="inlineStr"><is><t>{"z" * 32_767}</t></is></c></row>'
    path = build_xlsx(tmp_path / "edge.xlsx", [("S", sheet_doc(body))])
    value = read_all(path).sheet("S").cells["A1"].value
    assert isinstance(value, str) and len(value) == 32_767


def test_huge_value_text_is_cut_off_early(tmp_path: Path) -> None:
    body = f'<row r="7"><c r="C7"><v>{"9" * 300_000}</v></c></row>'
    err = refuse(build_xlsx(tmp_path / "v.xlsx", [("Data", sheet_doc(body))]))
    assert err.code == "F-E028" and "Data!C7: too many characters" in err.reason


def test_excel_escapes_and_phonetic_runs(tmp_path: Path) -> None:
    sst = (
        f'<sst xmlns="{MAIN_NS}"><si><t>a_x000D__x000A_b _x005F_x0041_ _xD83D__xDE00_</t></si>'
        '<si><r><t>Ka</t></r><r><t>nji</t></r><rPh sb="0" eb="1"><t>KANA</t></rPh></si></sst>'
    )
    body = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="inlineStr"><is><t>x</t><rPh><t>y</t></rPh></is></c>'
        '<c r="D1" t="str"><f>A1&amp;"&lt;"</f><v>q_x0009_r</v></c></row>'
    )
    cells = read_all(build_xlsx(tmp_path / "esc.xlsx", [("S", sheet_doc(body))], shared_strings=sst)).sheet("S").cells
    assert cells["A1"].value == "a\r\nb _x0041_ \U0001f600"
    assert cells["B1"].value == "Kanji"
    assert cells["C1"].value == "x"
    assert (cells["D1"].value, cells["D1"].formula, cells["D1"].type) == ("q\tr", 'A1&"<"', "str")


def test_resolve_name_quoting(tmp_path: Path) -> None:
    names = (
        "<definedNames>"
        "<definedName name=\"Quoted\">'It''s here'!$C$3</definedName>"
        '<definedName name="Relative">Data!D4</definedName>'
        '<definedName name="TwoAreas">Data!$A$1,Data!$B$2</definedName>'
        '<definedName name="External">[1]Data!$A$1</definedName>'
        '<definedName name="NoSheet">Gone!$A$1</definedName>'
        '<definedName name="OffGrid">Data!$XFE$1</definedName>'
        '<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">Data!$A$1:$B$9</definedName>'
        "</definedNames>"
    )
    wb = read_all(
        build_xlsx(
            tmp_path / "names.xlsx",
            [("Data", sheet_doc("")), ("It's here", sheet_doc(""))],
            workbook_inner=names,
            sheet_states={"It's here": "veryHidden"},
        )
    )
    assert wb.resolve_name("quoted") == ("It's here", "C3")
    assert wb.resolve_name("Relative") == ("Data", "D4")
    for name in ("TwoAreas", "External", "NoSheet", "OffGrid"):
        assert wb.resolve_name(name) is None, name
    assert wb.builtin_names == {"Data!_xlnm._FilterDatabase": "Data!$A$1:$B$9"}
    assert wb.sheets[1].state == "veryHidden"


def test_nan_and_inf_become_error_cells(tmp_path: Path) -> None:
    body = (
        '<row r="1"><c r="A1"><v>NaN</v></c><c r="B1"><v>INF</v></c><c r="C1"><v>-inf</v></c>'
        '<c r="D1"><v>1e999</v></c><c r="E1"><v>12abc</v></c><c r="F1"><v>1_000</v></c>'
        '<c r="G1"><v> 0.1 </v></c><c r="H1" t="b"><v>2</v></c></row>'
    )
    path = build_xlsx(tmp_path / "nan.xlsx", [("S", sheet_doc(body))])
    cells = read_all(path).sheet("S").cells
    for ref in ("A1", "B1", "C1", "D1"):
        assert (cells[ref].type, cells[ref].value) == ("e", "#NUM!"), ref
    assert cells["A1"].raw == "NaN"
    assert (cells["E1"].type, cells["E1"].value) == ("e", "#VALUE!")
    assert (cells["F1"].type, cells["F1"].value) == ("e", "#VALUE!")  # float() would accept it
    assert (cells["G1"].type, cells["G1"].value, cells["G1"].raw) == ("n", 0.1, " 0.1 ")
    assert (cells["H1"].type, cells["H1"].value) == ("e", "#VALUE!")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('<row r="1"><c r="XFE1"><v>1</v></c></row>', "XFE1"),
        ('<row r="1048577"><c r="A1048577"><v>1</v></c></row>', "1048577"),
        ('<row r="1"><c r="A0"><v>1</v></c></row>', "A0"),
        ('<row r="1"><c r="1A"><v>1</v></c></row>', "1A"),
    ],
)
def test_cells_outside_the_grid(tmp_path: Path, body: str, fragment: str) -> None:
    path = build_xlsx(tmp_path / "grid.xlsx", [("S", sheet_doc(body))])
    err = refuse(path)
    assert err.code == "F-E027" and fragment in err.reason


def test_huge_dimension_alone_is_fine(tmp_path: Path) -> None:
    doc = (
        f'<worksheet xmlns="{MAIN_NS}"><dimension ref="A1:XFD1048576"/><sheetData>'
        '<row r="3"><c r="C3"><v>5</v></c></row></sheetData></worksheet>'
    )
    sheet = read_all(build_xlsx(tmp_path / "dim.xlsx", [("S", doc)])).sheet("S")
    assert (sheet.max_row, sheet.max_col, list(sheet.cells)) == (3, 3, ["C3"])


def test_cells_without_r_attributes(tmp_path: Path) -> None:
    body = (
        "<row><c><v>1</v></c><c><v>2</v></c></row>"
        '<row r="5"><c r="C5"><v>3</v></c><c><v>4</v></c></row>'
        "<row><c><v>5</v></c></row>"
    )
    sheet = read_all(build_xlsx(tmp_path / "nor.xlsx", [("S", sheet_doc(body))])).sheet("S")
    assert {k: c.value for k, c in sheet.cells.items()} == {"A1": 1.0, "B1": 2.0, "C5": 3.0, "D5": 4.0, "A6": 5.0}
    assert (sheet.max_row, sheet.max_col) == (6, 4)


def test_missing_shared_string_and_missing_sheet_part(tmp_path: Path) -> None:
    sst = f'<sst xmlns="{MAIN_NS}"><si><t>only</t></si></sst>'
    body = '<row r="1"><c r="A1" t="s"><v>5</v></c></row>'
    err = refuse(build_xlsx(tmp_path / "sst.xlsx", [("S", sheet_doc(body))], shared_strings=sst))
    assert err.code == "F-E029" and "missing text 5" in err.reason
    base = build_xlsx(tmp_path / "base.xlsx")
    with zipfile.ZipFile(base) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist() if "worksheets" not in i.filename]
    err = refuse(write_zip(tmp_path / "nosheet.xlsx", entries))
    assert err.code == "F-E029" and "part of sheet 'Sheet1' is missing" in err.reason


def test_doctype_in_a_sheet_part_is_refused(tmp_path: Path) -> None:
    """Even a DOCTYPE that declares nothing: the sheet reader never sees a DTD."""
    doc = f'<?xml version="1.0"?><!DOCTYPE worksheet><worksheet xmlns="{MAIN_NS}"><sheetData/></worksheet>'
    err = refuse(build_xlsx(tmp_path / "dt.xlsx", [("S", doc)]))
    assert err.code == "F-E023" and "xl/worksheets/sheet1.xml" in err.reason


def test_strict_element_in_shared_strings(tmp_path: Path) -> None:
    sst = f'<sst xmlns="{MAIN_NS}"><si><t>a</t></si><x:si xmlns:x="{STRICT_NS}"><x:t>b</x:t></x:si></sst>'
    err = refuse(build_xlsx(tmp_path / "sst.xlsx", shared_strings=sst))
    assert err.code == "F-E015"


def test_remembered_references_and_empty_cells(tmp_path: Path) -> None:
    """Cell references and empty cells are looked up, not worked out again: a refusal is
    never remembered, lower-case references still come out upper-case, and equal empty
    cells are equal whatever their position."""
    styles = (
        f'<styleSheet xmlns="{MAIN_NS}"><cellXfs count="2"><xf numFmtId="0"/>'
        '<xf numFmtId="0"><protection locked="0"/></xf></cellXfs></styleSheet>'
    )
    body = (
        '<row r="2"><c r="b2" s="1"/><c r="C2" s="1"/><c r="D2" t="s" s="1"/><c r="E2" t="n"/><c r="F2"><v></v></c></row>'
    )
    for _ in range(2):
        cells = read_all(build_xlsx(tmp_path / "e.xlsx", [("S", sheet_doc(body))], styles=styles)).sheet("S").cells
        assert list(cells) == ["B2", "C2", "D2", "E2", "F2"]
        assert tuple(cells["B2"]) == tuple(cells["C2"]) == (None, None, None, None, False, 1, False)
        assert tuple(cells["D2"]) == (None, None, "s", None, False, 1, False)
        assert tuple(cells["E2"]) == (None, None, "n", None, False, 0, True)
        assert tuple(cells["F2"]) == (None, None, None, None, False, 0, True)
    for _ in range(2):  # the same bad reference twice: refused both times, same words
        err = refuse(build_xlsx(tmp_path / "g.xlsx", [("S", sheet_doc('<row r="1"><c r="xfe1"/></row>'))]))
        assert err.code == "F-E027" and "xfe1 on sheet S" in err.reason
        err = refuse(build_xlsx(tmp_path / "h.xlsx", [("S", sheet_doc('<row r="1"><c r="AAAA1"/></row>'))]))
        assert err.code == "F-E027" and "'AAAA1' on sheet S" in err.reason
    err = refuse(build_xlsx(tmp_path / "t.xlsx", [("S", sheet_doc('<row r="1"><c r="A1" t="zz"/></row>'))]))
    assert err.code == "F-E029" and "unknown type 'zz'" in err.reason


# --------------------------------------------------------------------------- 3. positive


def test_xlsxwriter_workbook_reads_back(good_xlsx: Path) -> None:
    wb = read_all(good_xlsx)
    assert [(s.name, s.state) for s in wb.sheets] == [
        ("Return", "visible"),
        ("My Sheet", "visible"),
        ("Lists", "hidden"),
        ("Control", "veryHidden"),
    ]
    assert wb.structure_protected is False
    assert wb.defined_names["Amount"] == "Return!$B$5"
    assert wb.resolve_name("Amount") == ("Return", "B5")
    assert wb.resolve_name("amount") == ("Return", "B5")
    assert wb.resolve_name("Notes") == ("My Sheet", "A1")
    assert wb.resolve_name("Single") == ("Return", "B6")
    assert wb.resolve_name("Broken") is None
    assert wb.resolve_name("Block") is None
    assert wb.resolve_name("Constant") is None
    assert wb.resolve_name("Nope") is None
    assert "LocalName" not in wb.defined_names
    assert wb.local_names == {"Return!LocalName": "Return!$A$1"}
    assert wb.builtin_names == {"Return!_xlnm.Print_Area": "Return!$A$1:$D$10"}

    ret = wb.sheet("Return")
    assert ret.protected is True
    assert wb.sheet("My Sheet").protected is False
    c = ret.cells
    assert (c["A1"].value, c["A1"].type, c["A1"].locked) == ("School name", "s", True)
    assert c["A2"].value == "School name"
    assert (c["B1"].value, c["B1"].locked) == ("Hillside Primary", False)
    assert (c["B5"].value, c["B5"].raw, c["B5"].type, c["B5"].locked) == (1234.56, "1234.56", "n", False)
    assert wb.number_format(c["B5"].style) == "#,##0.00"
    assert (c["B7"].formula, c["B7"].value, c["B7"].shared, c["B7"].locked) == ("B5+B6", 1334.56, False, True)
    assert c["B8"].value == float((date(2024, 3, 31) - date(1899, 12, 30)).days)
    assert wb.is_date_style(c["B8"].style) and not wb.is_date_style(c["B5"].style)
    assert (c["C1"].value, c["C1"].type) == (True, "b")
    assert (c["D9"].value, c["D9"].type, c["D9"].locked) == (None, None, False)
    assert (ret.max_row, ret.max_col) == (9, 4)
    assert wb.sheet("Control").cells["A1"].value == "v3"
    assert wb.sheet("return") is ret  # case-insensitive, cached
    with pytest.raises(KeyError):
        wb.sheet("No such sheet")


def test_structure_protection_and_shared_formulas(tmp_path: Path) -> None:
    body = (
        '<row r="1"><c r="A1"><f t="shared" ref="A1:A3" si="0">B1*2</f><v>2</v></c></row>'
        '<row r="2"><c r="A2"><f t="shared" si="0"/><v>4</v></c></row>'
        '<row r="3"><c r="A3"><f t="shared" si="0"/><v>6</v></c></row>'
    )
    path = build_xlsx(
        tmp_path / "sf.xlsx",
        [("S", sheet_doc(body, '<sheetProtection sheet="1" objects="1"/>'))],
        workbook_inner='<workbookProtection lockStructure="1"/>',
    )
    wb = read_all(path)
    assert wb.structure_protected is True
    cells = wb.sheet("S").cells
    assert (cells["A1"].formula, cells["A1"].shared) == ("B1*2", False)
    assert (cells["A3"].formula, cells["A3"].shared, cells["A3"].value) == ("B1*2", True, 6.0)
    assert wb.sheet("S").protected


def test_locked_follows_excel_semantics(tmp_path: Path) -> None:
    styles = (
        f'<styleSheet xmlns="{MAIN_NS}"><cellStyleXfs count="1"><xf numFmtId="0"><protection locked="0"/></xf>'
        '</cellStyleXfs><cellXfs count="4">'
        '<xf numFmtId="0" xfId="0"/>'  # no <protection>: locked (Excel default)
        '<xf numFmtId="0" xfId="0" applyProtection="1"><protection locked="0"/></xf>'
        '<xf numFmtId="0" xfId="0"><protection locked="false" hidden="1"/></xf>'  # apply flag absent
        '<xf numFmtId="0" xfId="0" applyProtection="1"><protection hidden="1"/></xf>'  # locked defaults to 1
        "</cellXfs></styleSheet>"
    )
    body = '<row r="1"><c r="A1" s="0"/><c r="B1" s="1"/><c r="C1" s="2"/><c r="D1" s="3"/><c r="E1" s="99"/></row>'
    cells = read_all(build_xlsx(tmp_path / "lock.xlsx", [("S", sheet_doc(body))], styles=styles)).sheet("S").cells
    assert {k: c.locked for k, c in cells.items()} == {"A1": True, "B1": False, "C1": False, "D1": True, "E1": True}


def test_openpyxl_saved_file(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Data"
    ws["A1"] = "Hello"
    ws["B2"] = 12.5
    ws["B2"].protection = Protection(locked=False)
    ws["C3"] = CellRichText(["plain ", TextBlock(InlineFont(b=True), "bold")])
    ws["D4"] = "=B2*2"
    ws.protection.sheet = True
    wb.defined_names["Amount"] = DefinedName("Amount", attr_text="Data!$B$2")
    hidden = wb.create_sheet("Hid")
    hidden.sheet_state = "hidden"
    path = tmp_path / "openpyxl.xlsx"
    wb.save(path)

    book = read_all(path)
    assert [(s.name, s.state) for s in book.sheets] == [("Data", "visible"), ("Hid", "hidden")]
    assert book.resolve_name("Amount") == ("Data", "B2")
    sheet = book.sheet("Data")
    assert sheet.protected
    c = sheet.cells
    assert (c["A1"].value, c["A1"].type, c["A1"].locked) == ("Hello", "inlineStr", True)
    assert (c["B2"].value, c["B2"].locked) == (12.5, False)
    assert c["C3"].value == "plain bold"
    assert (c["D4"].formula, c["D4"].value) == ("B2*2", None)


def test_sniff_accepts_good_and_refuses_bad(tmp_path: Path, good_xlsx: Path) -> None:
    sniff(good_xlsx, Limits())  # no exception: a plausible workbook
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n")
    with pytest.raises(UnreadableFile) as info:
        sniff(csv, Limits())
    assert info.value.code == "F-E008"


# --------------------------------------------------------------------------- catalogue & catch-all


def test_catalogue_is_well_formed() -> None:
    assert "F-E099" in registry.codes("file")
    for code in sorted(registry.codes("file")):
        title, message = registry.rule(code).title, registry.rule(code).message
        assert code.startswith("F-E") and len(code) == 6 and code[3:].isdigit()
        assert title and "\n" not in title and "\n" not in message
        assert message.count("{detail}") <= 1
        filled = xlsx_safe.problem(code, "d" * 500)
        assert_one_line(filled)


def test_unexpected_exception_becomes_f_e099(good_xlsx: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(text: str) -> str:
        raise ZeroDivisionError("boom\nsecond line")

    monkeypatch.setattr(xlsx_safe.xml_parts, "_unescape", boom)  # used for every text and formula
    err = refuse(good_xlsx)
    assert err.code == "F-E099" and "(ZeroDivisionError: boom second line)" in err.reason


# --------------------------------------------------------------------------- fuzzing


def _base_parts() -> dict[str, bytes]:
    buf = io.BytesIO()
    xw = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = xw.add_worksheet("Return")
    ws.write("A1", "Name")
    ws.write("B2", 12.5, xw.add_format({"locked": False}))
    ws.write_formula("C3", "=B2*2", None, 25)
    xw.define_name("Amount", "=Return!$B$2")
    xw.close()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


BASE_PARTS = _base_parts()


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in BASE_PARTS.items():
            zf.writestr(name, content)
    return buf.getvalue()


ZIP_BYTES = _zip_bytes()
FUZZ_TARGETS = sorted(n for n in BASE_PARTS if n.endswith((".xml", ".rels")))


def _iter_mutated(parts: dict[str, bytes], target: str, pos: int, junk: bytes, cut: int) -> Iterator[tuple[str, bytes]]:
    for name, content in parts.items():
        if name == target:
            p = pos % (len(content) + 1)
            content = content[:p] + junk + content[p + cut :]
        yield name, content


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(FUZZ_TARGETS),
    pos=st.integers(min_value=0, max_value=5000),
    junk=st.binary(max_size=12) | st.sampled_from([b"<", b">", b"&", b'"', b"<!DOCTYPE x>", b"\xff\xfe", b'r="ZZZ9"']),
    cut=st.integers(min_value=0, max_value=8),
)
def test_fuzzed_parts_never_escape(tmp_path: Path, target: str, pos: int, junk: bytes, cut: int) -> None:
    path = tmp_path / "fuzz.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in _iter_mutated(BASE_PARTS, target, pos, junk, cut):
            zf.writestr(name, content)
    try:
        read_all(path)
    except UnreadableFile as err:
        assert_one_line(err)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_zip_bytes_never_escape(tmp_path: Path, data: st.DataObject) -> None:
    raw = bytearray(ZIP_BYTES)
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(1, len(raw)))]
    path = tmp_path / "fuzzbytes.xlsx"
    path.write_bytes(bytes(raw))
    try:
        read_all(path)
    except UnreadableFile as err:
        assert_one_line(err)
