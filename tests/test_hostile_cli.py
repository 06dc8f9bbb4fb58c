"""`pbp validate` and `pbp ingest`, end to end as real processes, on files nobody here made.

Every file of the third-party corpus (../shared/corpus/third-party, never copied into the
project) and a representative set of hostile files built on the fly go through both
commands as subprocesses with a timeout (a hang fails the test), stdin closed, in a
workspace made with `pbp init`. Each must give exit code 1, valid JSON, a clear one-line
reason, no traceback; `ingest` must archive the exact bytes and record them in the ledger.
The safe reader itself is tested file by file in tests/test_xlsx_safe.py; here the
question is what the finance officer (or a script) sees.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "third-party"
TIMEOUT = 30  # seconds for one command; a hang fails the test
WORKERS = max(2, min(4, os.cpu_count() or 2))

FINDING_KEYS = ["code", "severity", "sheet", "cell", "name", "value", "message"]
REPORT_KEYS = {"file", "status", "return", "findings"}
SAVE_AS_XLSX = "save it as Excel Workbook (.xlsx)"


# --------------------------------------------------------------------------- running pbp


@dataclass
class Run:
    args: list[str]
    rc: int
    out: str
    err: str
    data: Any = None  # the parsed --json output

    def where(self) -> str:
        return f"pbp {' '.join(self.args)}\n--- rc {self.rc}\n--- stdout\n{self.out[:3000]}\n--- stderr\n{self.err[:3000]}"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PBP_WORKSPACE", "PBP_DEBUG")}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


def pbp(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = TIMEOUT) -> Run:
    """Run `python -m pbp_workbooks ARGS` as a separate process, stdin closed."""
    argv = [str(a) for a in args]
    proc = subprocess.run([sys.executable, "-m", "pbp_workbooks", *argv], cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, env=env or clean_env())
    run = Run(argv, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace"))
    if "--json" in argv and run.out.strip():
        try:
            run.data = json.loads(run.out)
        except json.JSONDecodeError as err:
            pytest.fail(f"--json output is not valid JSON ({err})\n{run.where()}")
    return run


def init_workspace(root: Path) -> Path:
    run = pbp("init", root.name, "--password", "test-pw", cwd=root.parent)
    assert run.rc == 0, run.where()
    return root.resolve()


def generate_q2(ws: Path) -> list[Path]:
    run = pbp("generate", "quarterly", "--year", "2025-26", "--quarter", "2", cwd=ws)
    assert run.rc == 0, run.where()
    files = sorted((ws / "outbox" / "2025-26 Q2").glob("*.xlsx"))
    assert len(files) == 5
    return files


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def received(ws: Path) -> dict[str, sqlite3.Row]:
    """The ledger's `received` table, by sha256."""
    con = sqlite3.connect(ws / ".pbp" / "ledger.sqlite", timeout=30)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("SELECT * FROM received").fetchall()
    finally:
        con.close()
    by_sha = {r["sha256"]: r for r in rows}
    assert len(by_sha) == len(rows), "a sha256 is recorded twice"
    return by_sha


def assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.err and "Traceback" not in run.out, run.where()
    assert "internal error" not in run.err, run.where()


def assert_report_shape(report: dict[str, Any]) -> None:
    assert set(report) >= REPORT_KEYS, report
    assert report["status"] in ("accepted", "accepted_with_warnings", "rejected", "unreadable")
    for f in report["findings"]:
        assert list(f) == FINDING_KEYS, f
        assert f["severity"] in ("error", "warning")
        assert isinstance(f["message"], str) and f["message"].strip()


def assert_one_line(message: str) -> None:
    assert "\n" not in message and "\r" not in message, repr(message)
    assert 0 < len(message) < 400, message
    assert "Traceback" not in message


def same_findings(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Equal as multisets (the order of field findings is not part of the contract)."""
    return sorted(json.dumps(f, sort_keys=True) for f in a) == sorted(json.dumps(f, sort_keys=True) for f in b)


def single_report(run: Run, file: Path | str) -> dict[str, Any]:
    assert_no_traceback(run)
    assert isinstance(run.data, list) and len(run.data) == 1, run.where()
    report = run.data[0]
    assert_report_shape(report)
    assert report["file"] == str(file), (report["file"], str(file))
    return report


# --------------------------------------------------------------------------- hostile files built here

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
BOOK_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
SST_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"

LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + f']><sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>'
)


def minimal_parts(shared_strings: str | None = None) -> dict[str, str]:
    """A complete one-sheet SpreadsheetML package, part name -> XML."""
    sst_rel = (f'<Relationship Id="rId2" Type="{R_NS}/sharedStrings" Target="sharedStrings.xml"/>'
               if shared_strings is not None else "")
    sst_ct = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_CT}"/>' if shared_strings is not None else ""
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CT_NS}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{BOOK_CT}"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEET_CT}"/>{sst_ct}</Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS_NS}">'
            f'<Relationship Id="rId1" Type="{R_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{R_NS}">'
            '<sheets><sheet name="Return" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS_NS}">'
            f'<Relationship Id="rId1" Type="{R_NS}/worksheet" Target="worksheets/sheet1.xml"/>{sst_rel}'
            "</Relationships>"),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}"><sheetData>'
            '<row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
            if shared_strings is not None else f'<worksheet xmlns="{MAIN_NS}"><sheetData/></worksheet>'),
    }
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    return parts


def write_zip(path: Path, parts: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(zipfile.ZipInfo(name), content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _stream_spaces(zf: zipfile.ZipFile, part: str, head: bytes, tail: bytes, mib: int) -> None:
    with zf.open(part, "w") as fh:
        fh.write(head)
        block = b" " * 2**20
        for _ in range(mib):
            fh.write(block)
        fh.write(tail)


def write_bomb(path: Path, mib: int = 300, *, good: Path | None = None, part: str = "sheet", level: int = 1) -> Path:
    """A decompression bomb: `mib` MiB of spaces in one part, deflated (about 1.3 MB at level 1,
    300 KB at level 6 for 300 MiB). With `good` (a generated return) the bomb is its Return
    sheet, so the reader gets past the identity checks and must inflate it; otherwise a minimal
    package whose only sheet (part="sheet") or shared strings (part="strings") is the bomb."""
    if good is not None:
        with zipfile.ZipFile(good) as zf:
            parts: dict[str, str | bytes] = {i.filename: zf.read(i) for i in zf.infolist()}
            book, rels = zf.read("xl/workbook.xml").decode(), zf.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(r'<sheet name="Return" sheetId="\d+" r:id="(rId\d+)"', book)
        assert rid is not None
        target = re.search(rf'Id="{rid.group(1)}" Type="[^"]+" Target="([^"]+)"', rels)
        assert target is not None
        name, head, tail = f"xl/{target.group(1)}", f'<worksheet xmlns="{MAIN_NS}"><sheetData>', "</sheetData></worksheet>"
    elif part == "strings":
        parts = dict(minimal_parts(shared_strings=""))
        name, head, tail = "xl/sharedStrings.xml", f'<sst xmlns="{MAIN_NS}"><si><t>', "</t></si></sst>"
    else:
        parts = dict(minimal_parts())
        name = "xl/worksheets/sheet1.xml"
        head, tail = f'<worksheet xmlns="{MAIN_NS}"><sheetData>', "</sheetData></worksheet>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for n, content in parts.items():
            if n != name:
                zf.writestr(n, content)
        _stream_spaces(zf, name, head.encode(), tail.encode(), mib)
    return path


def lie_about_sizes(data: bytes, member: bytes, size: int = 1000) -> bytes:
    """Patch the declared uncompressed size of `member` (local and central headers)."""
    out = bytearray(data)
    patched = 0
    for sig, name_len_at, size_at, header_len in ((b"PK\x03\x04", 26, 22, 30), (b"PK\x01\x02", 28, 24, 46)):
        i = out.find(sig)
        while i >= 0:
            n = int.from_bytes(out[i + name_len_at: i + name_len_at + 2], "little")
            if bytes(out[i + header_len: i + header_len + n]) == member:
                out[i + size_at: i + size_at + 4] = size.to_bytes(4, "little")
                patched += 1
            i = out.find(sig, i + 4)
    assert patched == 2
    return bytes(out)


def with_cell(src: Path, dst: Path, **values: Any) -> Path:
    """A copy of a generated return with input cells (by defined name) set through openpyxl."""
    wb = openpyxl.load_workbook(src)
    for name, value in values.items():
        ((sheet, ref),) = wb.defined_names[name].destinations
        wb[sheet][ref.replace("$", "")].value = value
    wb.save(dst)
    return dst


@dataclass(frozen=True)
class Case:
    """A hostile input: what both commands must say about it."""

    name: str
    build: Callable[[Path, Path], None]  # (target path, a good generated return)
    status: str
    code: str
    fragment: str
    archived: bool = True  # ingest keeps the bytes and records them (False: nothing to keep)
    ours: bool = False  # one of our returns (identity read, feedback written)
    alone: str | None = None  # given on its own, both commands refuse it (exit 2) saying this; beside others, a report


def _bytes(data: bytes) -> Callable[[Path, Path], None]:
    return lambda p, _good: p.write_bytes(data)


def _truncated(p: Path, good: Path) -> None:
    data = good.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _zip_slip(p: Path, good: Path) -> None:
    with zipfile.ZipFile(good) as zf:
        parts: dict[str, str | bytes] = {i.filename: zf.read(i) for i in zf.infolist()}
    parts["../../evil.xml"] = "<x/>"
    write_zip(p, parts)


def _long_text(p: Path, good: Path) -> None:
    """A real return whose 'Role' input holds 40,000 characters (Excel stops at 32,767;
    openpyxl cuts to that too, so the text is lengthened in the zip)."""
    marker = "Q" * 1000
    tmp = with_cell(good, p.with_suffix(".tmp.xlsx"), role=marker)
    with zipfile.ZipFile(tmp) as zf:
        parts: dict[str, str | bytes] = {i.filename: zf.read(i) for i in zf.infolist()}
    tmp.unlink()
    (part,) = [n for n, xml in parts.items() if isinstance(xml, bytes) and marker.encode() in xml]
    parts[part] = parts[part].replace(marker.encode(), b"Q" * 40_000)  # type: ignore[union-attr]
    write_zip(p, parts)


def _bomb(p: Path, good: Path) -> None:
    write_bomb(p, 300, good=good)


def _lying_bomb(p: Path, good: Path) -> None:
    """The same bomb, its declared size patched down to 1,000 bytes in both zip headers."""
    src = p.parent / "zip bomb.xlsx"
    if not src.exists():
        _bomb(src, good)
    with zipfile.ZipFile(src) as zf:
        (member,) = [i.filename for i in zf.infolist() if i.file_size > 2**20]
    p.write_bytes(lie_about_sizes(src.read_bytes(), member.encode()))


def _bomb_in_strings(p: Path, _good: Path) -> None:
    write_bomb(p, 60, part="strings")


def _bomb_never_opened(p: Path, _good: Path) -> None:
    """A minimal workbook whose only sheet is a bomb that lies about its size: it passes the
    zip directory checks, but the workbook is not ours, so the sheet is never inflated."""
    tmp = write_bomb(p.with_suffix(".tmp"), 60)
    p.write_bytes(lie_about_sizes(tmp.read_bytes(), b"xl/worksheets/sheet1.xml"))
    tmp.unlink()


def _laughs(p: Path, _good: Path) -> None:
    write_zip(p, dict(minimal_parts(shared_strings=LAUGHS)))


def _symlink(p: Path, good: Path) -> None:
    p.symlink_to(good)


def _folder(p: Path, _good: Path) -> None:
    p.mkdir()
    (p / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden files are skipped: nothing to take


def _copy(p: Path, good: Path) -> None:
    shutil.copyfile(good, p)


def _edited(p: Path, good: Path) -> None:
    with_cell(good, p, prepared_by="Zoë Ångström-Łukasz", role="Business manager")


def _fifo(p: Path, _good: Path) -> None:
    os.mkfifo(p)


def _nothing(p: Path, _good: Path) -> None:
    pass


UNICODE_NAME = 'Return "Q2" – Ünïcödé.xlsx'
LONG_UNICODE_NAME = "Ü" * 120 + ".xlsx"  # 245 bytes: a legal name, longer than any feedback name can be

CASES = [
    Case("empty.xlsx", _bytes(b""), "unreadable", "F-E003", "empty (0 bytes)"),
    Case("truncated.xlsx", _truncated, "unreadable", "F-E017", "damaged or incomplete"),
    Case("random bytes.xlsx", _bytes(random.Random(7).randbytes(5000)), "unreadable", "F-E011", "not an Excel workbook"),
    Case("figures csv.xlsx", _bytes(b"School,Amount\r\nHillside,1234.56\r\n"), "unreadable", "F-E008", SAVE_AS_XLSX),
    Case("saved page.xlsx", _bytes(b"<html><body><table><tr><td>1</td></tr></table></body></html>"),
         "unreadable", "F-E009", "web page (HTML)"),
    Case("zip bomb.xlsx", _bomb, "unreadable", "F-E022", "unpacks to far more data"),
    Case("zip bomb lying sizes.xlsx", _lying_bomb, "unreadable", "F-E017", "damaged or incomplete"),
    Case("zip bomb in strings.xlsx", _bomb_in_strings, "unreadable", "F-E022", "unpacks to far more data"),
    # not a template: refused on its identity before the bomb sheet is ever inflated
    Case("zip bomb never opened.xlsx", _bomb_never_opened, "rejected", "T-E001", "not a return template"),
    Case("billion laughs.xlsx", _laughs, "unreadable", "F-E023", "DTD or entities"),
    Case("zip slip.xlsx", _zip_slip, "unreadable", "F-E018", "refused for safety"),
    Case("forty thousand.xlsx", _long_text, "unreadable", "F-E028", "more text than Excel allows"),
    Case("link to a return.xlsx", _symlink, "unreadable", "F-E002", "symbolic link", archived=False),
    Case("Return Q2 folder.xlsx", _folder, "unreadable", "F-E001", "folder", archived=False,
         alone="pbp: no files found in "),
    Case("pipe.xlsx", _fifo, "unreadable", "F-E001", "not a regular file", archived=False),
    Case("does not exist.xlsx", _nothing, "unreadable", "F-E001", "does not exist", archived=False),
    Case(UNICODE_NAME, _copy, "rejected", "Q-E101", "is blank. Fill it in", ours=True),
    Case(LONG_UNICODE_NAME, _edited, "rejected", "Q-E101", "is blank. Fill it in", ours=True),
]
CASE_IDS = [c.name for c in CASES]


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file()) if CORPUS.is_dir() else []


def require_corpus() -> None:
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"third-party corpus missing at {CORPUS} (required on CI)")
        pytest.skip(f"third-party corpus not found at {CORPUS}")


# What each corpus file must be told (code), by name, else by suffix, and the words that say it.
CORPUS_CODES = {
    "pass_protected.xlsx": "F-E005",  # an OLE2 container with EncryptedPackage, named .xlsx
    "pass_protected.xlsb": "F-E005",
    "strict_iso_paths.xlsx": "F-E015",
    "issue_530.xlsx": "F-E018",  # entry names with backslashes
    "README.md": "F-E008",
}
SUFFIX_CODES = {".xls": "F-E006", ".ods": "F-E012", ".xlsb": "F-E013", ".xlsm": "F-E014", ".xlsx": "T-E001"}
FRAGMENTS = {
    "F-E005": "password-protected",
    "F-E006": SAVE_AS_XLSX,
    "F-E008": SAVE_AS_XLSX,
    "F-E012": SAVE_AS_XLSX,
    "F-E013": SAVE_AS_XLSX,
    "F-E014": "macro-enabled",
    "F-E015": "Strict Open XML",
    "F-E018": "refused for safety",
    "T-E001": "not a return template issued by the LA",
}


def expected_code(path: Path) -> str | None:
    return CORPUS_CODES.get(path.name) or SUFFIX_CODES.get(path.suffix.lower())


# --------------------------------------------------------------------------- the lab: every command run once


@dataclass
class Lab:
    ws: Path
    inbox: Path
    good: Path
    validate: dict[str, Run]  # by file name
    ingest: dict[str, Run]
    paths: dict[str, Path]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    root = tmp_path_factory.mktemp("hostile")
    ws = init_workspace(root / "ws")
    good = generate_q2(ws)[2]  # North
    inbox = root / "inbox"
    inbox.mkdir()
    paths: dict[str, Path] = {}
    for case in CASES:
        paths[case.name] = inbox / case.name
        case.build(paths[case.name], good)
    for p in corpus_files():
        paths[p.name] = p
    assert len(paths) == len(CASES) + len(corpus_files()), "a hostile case shares a name with a corpus file"

    def both(name: str) -> tuple[str, Run, Run]:
        return name, pbp("validate", "--json", paths[name], cwd=ws), pbp("ingest", "--json", paths[name], cwd=ws)

    with ThreadPoolExecutor(WORKERS) as pool:  # several ingests at once: they share the ledger, as in real life
        results = list(pool.map(both, paths))
    return Lab(ws, inbox, good, {n: v for n, v, _ in results}, {n: i for n, _, i in results}, paths)


# --------------------------------------------------------------------------- the corpus, file by file


def check_ingested(lab: Lab, run: Run, path: Path) -> sqlite3.Row:
    """The file's exact bytes are in the archive and the ledger has one row for them."""
    digest = sha256(path)
    report = run.data[0]
    assert report["sha256"] == digest, run.where()
    row = received(lab.ws).get(digest)
    assert row is not None, f"{path.name} is not in the ledger's received table"
    assert row["status"] == report["status"]
    archived = lab.ws / row["archive_path"]
    assert archived.is_file() and archived.parent.parent == lab.ws / ".pbp" / "archive"
    assert sha256(archived) == digest
    if report.get("new"):
        assert report["archived"] == row["archive_path"] and row["original_name"] == path.name
    else:  # the same bytes arrived under another name first (issue644.xlsx / issue_644.xlsx)
        assert report["duplicate_of"] == row["original_name"]
    assert same_findings(json.loads(row["findings_json"]), report["findings"])
    return row


def check_corpus_report(run: Run, path: Path) -> dict[str, Any]:
    assert run.rc == 1, run.where()
    assert run.err == "", run.where()
    report = single_report(run, path)
    assert report["status"] in ("unreadable", "rejected"), run.where()
    assert report["return"] is None
    findings = report["findings"]
    assert len(findings) == 1, findings  # one clear reason, not a cascade
    finding = findings[0]
    assert finding["severity"] == "error"
    assert_one_line(finding["message"])
    assert (report["status"] == "unreadable") == finding["code"].startswith("F-")
    code = expected_code(path)
    if code is not None:
        assert finding["code"] == code, f"{path.name}: {finding}"
        assert FRAGMENTS[code] in finding["message"], finding["message"]
    return report


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in corpus_files()] or ["<corpus missing>"])
def test_corpus_file_validate(lab: Lab, name: str) -> None:
    require_corpus()
    check_corpus_report(lab.validate[name], CORPUS / name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in corpus_files()] or ["<corpus missing>"])
def test_corpus_file_ingest_archives_and_records(lab: Lab, name: str) -> None:
    require_corpus()
    path = CORPUS / name
    report = check_corpus_report(lab.ingest[name], path)
    # same verdict as validate
    assert report["status"] == lab.validate[name].data[0]["status"]
    assert same_findings(report["findings"], lab.validate[name].data[0]["findings"])
    check_ingested(lab, lab.ingest[name], path)


def test_whole_corpus_in_one_ingest(tmp_path: Path) -> None:
    require_corpus()
    files = corpus_files()
    ws = init_workspace(tmp_path / "ws")
    run = pbp("ingest", "--json", *files, cwd=ws, timeout=60)
    assert run.rc == 1 and run.err == "", run.where()
    assert_no_traceback(run)
    assert [r["file"] for r in run.data] == [str(p) for p in files]
    digests = {p: sha256(p) for p in files}
    rows = received(ws)
    assert set(rows) == set(digests.values())  # every distinct file recorded, nothing else
    for p, report in zip(files, run.data, strict=True):
        assert_report_shape(report)
        assert report["status"] in ("unreadable", "rejected")
        assert sha256(ws / rows[digests[p]]["archive_path"]) == digests[p]
    firsts = [r for r in run.data if r.get("new")]
    assert len(firsts) == len(rows)  # a second copy of the same bytes is reported, not counted
    for r in run.data:
        if not r.get("new"):
            assert r["duplicate_of"] in {p.name for p in files} and r["file"] != r["duplicate_of"]
    # a second run records nothing new and says so
    again = pbp("ingest", "--json", *files, cwd=ws, timeout=60)
    assert again.rc == 1 and all(r["new"] is False for r in again.data), again.where()
    assert set(received(ws)) == set(rows)


def test_validate_outside_a_workspace(tmp_path: Path, lab: Lab) -> None:
    """No pbp.toml here or above: validate still checks (everything but the issue token)."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    files = [*corpus_files()[:3], lab.good]
    run = pbp("validate", "--json", *files, cwd=outside)
    assert run.rc == 1 and run.err == "", run.where()
    assert [r["file"] for r in run.data] == [str(p) for p in files]
    assert run.data[-1]["status"] == "rejected" and run.data[-1]["return"]["partnership"] == "North"
    if corpus_files():
        assert run.data[0]["status"] in ("unreadable", "rejected")
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------- hostile files, built here


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_hostile_file_validate(lab: Lab, case: Case) -> None:
    path = lab.paths[case.name]
    run = lab.validate[case.name]
    if case.alone is not None:
        assert run.rc == 2 and run.err == f"{case.alone}{path}\n" and run.out == "", run.where()
        return
    assert run.rc == 1 and run.err == "", run.where()
    report = single_report(run, path)
    assert report["status"] == case.status, run.where()
    codes = [f["code"] for f in report["findings"]]
    assert case.code in codes, run.where()
    message = next(f["message"] for f in report["findings"] if f["code"] == case.code)
    assert case.fragment in message, message
    if case.status == "unreadable":
        assert len(codes) == 1
        assert_one_line(message)
    assert (report["return"] or {}).get("partnership") == ("North" if case.ours else None)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_hostile_file_ingest(lab: Lab, case: Case) -> None:
    path = lab.paths[case.name]
    run = lab.ingest[case.name]
    if case.alone is not None:
        assert run.rc == 2 and run.err == f"{case.alone}{path}\n" and run.out == "", run.where()
        return
    assert run.rc == 1 and run.err == "", run.where()
    report = single_report(run, path)
    assert report["status"] == case.status
    assert same_findings(report["findings"], lab.validate[case.name].data[0]["findings"])
    assert case.code in [f["code"] for f in report["findings"]]
    if case.archived:
        row = check_ingested(lab, run, path)
        if case.ours:  # identity recorded, feedback written next to the others
            assert (row["partnership"], row["quarter"], row["version"]) == ("North", 2, row["version"])
            feedback = Path(report["feedback"])
            assert feedback.is_file() and feedback.parent.parent == lab.ws / "feedback"
            assert len(feedback.name.encode()) <= 255
    else:
        assert report["archived"] is False and "sha256" not in report
        assert len(received(lab.ws)) > 0  # the ledger is fine, this file is just not in it
    if case.name == "zip slip.xlsx":
        root = lab.ws.parent
        assert not list(root.rglob("evil.xml")) and not (root.parent / "evil.xml").exists()


def test_no_temporary_files_left_and_nothing_outside_the_workspace(lab: Lab) -> None:
    assert not [p for p in lab.ws.rglob("*") if p.name.endswith(".tmp")]
    assert sorted(p.name for p in lab.inbox.iterdir()) == sorted(c.name for c in CASES if c.build is not _nothing)


def fresh_copy(lab: Lab, ws: Path) -> Path:
    """The lab's workspace as it was before anything was received (same issued tokens)."""
    shutil.copytree(lab.ws, ws, ignore=shutil.ignore_patterns("archive", "feedback"))
    con = sqlite3.connect(ws / ".pbp" / "ledger.sqlite")
    con.execute("DELETE FROM received")
    con.commit()
    con.close()
    return ws


def test_one_batch_with_problems_everywhere_still_records_the_rest(tmp_path: Path, lab: Lab) -> None:
    """A batch mixing every hostile file with good ones: nothing stops the batch."""
    ws = fresh_copy(lab, tmp_path / "ws")
    files = [lab.paths[c.name] for c in CASES] + [lab.good]
    run = pbp("ingest", "--json", *files, cwd=ws, timeout=60)
    assert run.rc == 1 and run.err == "", run.where()
    assert [r["file"] for r in run.data] == [str(p) for p in files]
    keep = [p for c, p in zip(CASES, files, strict=False) if c.archived] + [lab.good]
    assert set(received(ws)) == {sha256(p) for p in keep}


def test_path_as_given_is_reported_exactly(lab: Lab) -> None:
    """Quotes, dashes, accents and spaces survive into JSON, the ledger and the feedback name."""
    report = lab.ingest[UNICODE_NAME].data[0]
    assert report["file"] == str(lab.inbox / UNICODE_NAME)
    assert received(lab.ws)[report["sha256"]]["original_name"] == UNICODE_NAME
    assert "Ünïcödé" in Path(report["feedback"]).name


# --------------------------------------------------------------------------- human output and odd consoles

FINDING_LINE = re.compile(r"^     [A-Z]-[EW]\d{3} (error|warning) ")
HEADER_LINE = re.compile(r"^(OK  |OK! |FAIL) (accepted|accepted with warnings|rejected|unreadable): ")


def check_human(run: Run, reports: Sequence[dict[str, Any]]) -> None:
    """One header line per file, one line per finding, optional feedback lines, one summary."""
    lines = run.out.splitlines()
    kinds = []
    for line in lines[:-1]:
        if HEADER_LINE.match(line):
            kinds.append("file")
        elif FINDING_LINE.match(line):
            kinds.append("finding")
        else:
            assert line.startswith("     feedback workbook: "), f"unexpected line {line!r}\n{run.out[:4000]}"
    assert kinds.count("file") == len(reports), run.out[:4000]
    assert kinds.count("finding") == sum(len(r["findings"]) for r in reports), run.out[:4000]
    assert re.match(rf"^{len(reports)} file\(s\): ", lines[-1]), lines[-1]


def test_human_output_is_one_line_per_finding(tmp_path: Path, lab: Lab) -> None:
    ws = fresh_copy(lab, tmp_path / "ws")
    multiline = with_cell(lab.good, lab.inbox.parent / "multi\nline name.xlsx", prepared_by="Sam\nPatel",
                          exp_teaching_staff_budget="1,200\n(approx)")
    files = [lab.paths[c.name] for c in CASES] + corpus_files()[:5] + [multiline]
    as_json = pbp("validate", "--json", *files, cwd=ws)
    human = pbp("validate", *files, cwd=ws)
    assert human.rc == as_json.rc == 1 and human.err == "", human.where()
    assert_no_traceback(human)
    check_human(human, as_json.data)
    assert "'1,200\\n(approx)'" in human.out  # a line break typed in a cell is shown, not obeyed
    ingest = pbp("ingest", *files, cwd=ws)
    assert ingest.rc == 1 and ingest.err == "", ingest.where()
    check_human(ingest, as_json.data)
    assert ingest.out.count("     feedback workbook: ") == 3  # the three of ours with problems


def test_console_that_cannot_show_unicode(lab: Lab, tmp_path: Path) -> None:
    """A non-UTF-8 console (Windows code page, LANG=C): the output degrades, the command does not."""
    ws = fresh_copy(lab, tmp_path / "ws")
    files = [lab.paths[UNICODE_NAME], lab.paths[LONG_UNICODE_NAME]]
    env = clean_env(PYTHONIOENCODING="ascii")
    run = pbp("validate", "--json", *files, cwd=ws, env=env)
    assert run.rc == 1 and run.err == "", run.where()
    assert run.out.isascii() and [r["file"] for r in run.data] == [str(p) for p in files]
    human = pbp("validate", *files, cwd=ws, env=env)
    assert human.rc == 1 and human.err == "" and human.out.isascii(), human.where()
    check_human(human, run.data)
    ingest = pbp("ingest", "--json", *files, cwd=ws, env=env)
    assert ingest.rc == 1 and ingest.err == "" and ingest.out.isascii(), ingest.where()
    assert all(r["new"] is True for r in ingest.data)


# --------------------------------------------------------------------------- usage errors


def test_usage_errors_exit_2_without_traceback(tmp_path: Path, lab: Lab) -> None:
    no_args = pbp("validate", cwd=lab.ws)
    assert no_args.rc == 2 and "usage:" in no_args.err and "Traceback" not in no_args.err
    outside = pbp("ingest", "--json", lab.good, cwd=tmp_path)
    assert outside.rc == 2 and "pbp init" in outside.err and outside.out == "", outside.where()
    assert_no_traceback(outside)
    assert not (tmp_path / ".pbp").exists()


def test_file_name_that_is_not_utf8(tmp_path: Path, lab: Lab) -> None:
    """A name made on another system (Latin-1 bytes, e.g. unzipped from a Windows archive):
    shown with U+FFFD, recorded, never a crash that stops the batch."""
    try:
        odd = tmp_path / os.fsdecode(b"R\xe9sum\xe9 Q2 return.xlsx")
        shutil.copyfile(lab.paths[LONG_UNICODE_NAME], odd)
    except (OSError, UnicodeError):
        pytest.skip("this file system only takes UTF-8 names")
    shown = str(tmp_path / "R\ufffdsum\ufffd Q2 return.xlsx")
    ws = fresh_copy(lab, tmp_path / "ws")
    run = pbp("validate", "--json", odd, cwd=ws)
    assert run.rc == 1 and run.err == "" and run.data[0]["file"] == shown, run.where()
    human = pbp("validate", odd, cwd=ws)
    assert human.rc == 1 and human.err == "" and "R\ufffdsum\ufffd Q2 return.xlsx" in human.out, human.where()
    ingest = pbp("ingest", "--json", odd, lab.paths["empty.xlsx"], cwd=ws)
    assert ingest.rc == 1 and ingest.err == "", ingest.where()
    assert [r["file"] for r in ingest.data] == [shown, str(lab.paths["empty.xlsx"])]
    rows = received(ws)
    assert rows[sha256(odd)]["original_name"] == "R\ufffdsum\ufffd Q2 return.xlsx"
    assert len(rows) == 2 and Path(ingest.data[0]["feedback"]).is_file()
