"""The received bytes: read once without following links, told apart by format (OLE2, zip,
PDF, HTML, CSV ...), and, for a zip, vetted entry by entry and inflated under running budgets."""

from __future__ import annotations

import codecs
import errno
import io
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Generator
from pathlib import Path
from xml.parsers import expat

from pbp_workbooks.base.errors import UnreadableFile

from .problems import _CHUNK, _RATIO_FLOOR, Limits, _clean, _mb, problem
from .xml_parts import _STRICT_REL_PREFIX, _ContentTypes, _Handler, _new_parser, _Rels, _resolve_target

# --------------------------------------------------------------------------- file access


def _read_file(path: Path, limits: Limits) -> bytes:
    """Read the whole file once, refusing anything but a bounded regular file."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise problem("F-E001", "does not exist") from None
    except NotADirectoryError:
        raise problem("F-E001", "does not exist") from None
    except OSError as exc:
        raise problem("F-E001", f"cannot be examined ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISLNK(st.st_mode):
        raise problem("F-E002")
    if stat.S_ISDIR(st.st_mode):
        raise problem("F-E001", "is a folder with no files in it (hidden files and ~$ lock files are skipped)")
    if not stat.S_ISREG(st.st_mode):
        raise problem("F-E001", "is not a regular file (a device, pipe or socket)")
    _check_size(st.st_size, limits)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if getattr(os, "O_NOFOLLOW", 0) and exc.errno == errno.ELOOP:
            raise problem("F-E002") from None
        raise problem("F-E001", f"cannot be opened ({exc.strerror or type(exc).__name__})") from None
    try:
        st2 = os.fstat(fd)
        if not stat.S_ISREG(st2.st_mode) or (st2.st_ino, st2.st_dev) != (st.st_ino, st.st_dev):
            raise problem("F-E001", "changed while it was being opened")
        _check_size(st2.st_size, limits)
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, limits.max_file_bytes + 1 - total))
            except OSError as exc:
                raise problem("F-E001", f"cannot be read ({exc.strerror or type(exc).__name__})") from None
            if not chunk:
                break
            total += len(chunk)
            if total > limits.max_file_bytes:
                raise problem("F-E004", f"more than {_mb(limits.max_file_bytes)}")
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if not data:
        raise problem("F-E003")
    return data


def _check_size(size: int, limits: Limits) -> None:
    if size == 0:
        raise problem("F-E003")
    if size > limits.max_file_bytes:
        raise problem("F-E004", f"{_mb(size)}; the limit is {_mb(limits.max_file_bytes)}")


# --------------------------------------------------------------------------- non-zip formats

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_FREE = 0xFFFFFFFF
_OLE_END = 0xFFFFFFFE
_OLE_NAMES_OF_INTEREST = (
    "EncryptionInfo",
    "EncryptedPackage",
    "Workbook",
    "Book",
    "WordDocument",
    "PowerPoint Document",
    "__substg1.0_",
    "__properties_version1.0",
)


def _ole_directory_names(data: bytes) -> set[str]:
    """Stream/storage names from an OLE2 compound file's directory (bounded walk)."""
    if len(data) < 512:
        return set()
    sector_shift = struct.unpack_from("<H", data, 0x1E)[0]
    if sector_shift not in (9, 12):
        return set()
    ssize = 1 << sector_shift
    nsectors = max(0, (len(data) - 512) // ssize)

    def sector(n: int) -> bytes:
        if n >= nsectors:
            raise ValueError("sector out of range")
        off = 512 + n * ssize
        return data[off : off + ssize]

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s not in (_OLE_FREE, _OLE_END)]
    difat = struct.unpack_from("<I", data, 0x44)[0]
    seen: set[int] = set()
    while difat not in (_OLE_FREE, _OLE_END) and difat not in seen and len(seen) < nsectors:
        seen.add(difat)
        entries = struct.unpack(f"<{ssize // 4}I", sector(difat))
        fat_sectors.extend(s for s in entries[:-1] if s not in (_OLE_FREE, _OLE_END))
        difat = entries[-1]
    per_sector = ssize // 4

    def next_sector(n: int) -> int:
        """FAT lookup for sector ``n`` without materialising the whole FAT."""
        idx, slot = divmod(n, per_sector)
        if idx >= len(fat_sectors):
            return _OLE_END
        return int(struct.unpack_from("<I", sector(fat_sectors[idx]), slot * 4)[0])

    names: set[str] = set()
    cur = struct.unpack_from("<I", data, 0x30)[0]
    visited: set[int] = set()
    while cur not in (_OLE_FREE, _OLE_END) and cur not in visited and len(visited) <= nsectors:
        visited.add(cur)
        block = sector(cur)
        for off in range(0, ssize, 128):
            entry = block[off : off + 128]
            if len(entry) < 128:
                break
            name_len = struct.unpack_from("<H", entry, 0x40)[0]
            if 2 <= name_len <= 64 and entry[0x42] in (1, 2, 5):
                names.add(entry[: name_len - 2].decode("utf-16-le", "replace"))
        cur = next_sector(cur)
    return names


def _classify_ole(data: bytes) -> UnreadableFile:
    try:
        names = _ole_directory_names(data)
    except (ValueError, struct.error, IndexError):
        names = set()
    if not names:  # damaged directory: fall back to a cheap scan for the UTF-16LE names
        names = {n for n in _OLE_NAMES_OF_INTEREST if n.encode("utf-16-le") in data}
    low = {n.lower() for n in names}
    if "encryptioninfo" in low or "encryptedpackage" in low:
        return problem("F-E005")
    if "workbook" in low or "book" in low:
        return problem("F-E006")
    if "worddocument" in low:
        return problem("F-E007", "a Word 97-2003 document (.doc)")
    if "powerpoint document" in low:
        return problem("F-E007", "a PowerPoint 97-2003 presentation (.ppt)")
    if any(n.startswith(("__substg1.0_", "__properties_version1.0")) for n in low):
        return problem("F-E007", "an Outlook e-mail message (.msg); attach the workbook itself")
    return problem("F-E011", "an old-style Office file that is not a workbook, or is damaged")


def _decode_text_head(head: bytes) -> str | None:
    """The head of the file as text if it plausibly is text, else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "ignore")
    else:
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        if b"\x00" in head:
            return None
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            text = head.decode("cp1252", "replace")
    if not text:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    return text if printable >= 0.95 * len(text) else None


def _classify_other(data: bytes) -> UnreadableFile:
    head = data[:4096]
    if b"%PDF-" in head[:1024]:
        return problem("F-E010")
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")):
        return problem("F-E011", "it is a picture")
    if head.startswith((b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh")):
        return problem("F-E011", "it is a compressed archive; send the .xlsx file itself")
    if head.startswith(b"MZ"):
        return problem("F-E011", "it is a program")
    if head.startswith(b"{\\rtf"):
        return problem("F-E007", "a Rich Text (RTF) document")
    text = _decode_text_head(head)
    if text is None:
        return problem("F-E011", "its contents are in no format we recognise")
    low = text.lstrip().lower()
    if "urn:schemas-microsoft-com:office:spreadsheet" in low:
        return problem("F-E011", "it was saved as XML Spreadsheet 2003")
    if low.startswith(("<!doctype html", "<html")) or "<html" in low[:2048] or "<table" in low[:2048]:
        return problem("F-E009")
    if low.startswith("<"):
        return problem("F-E011", "it is an XML data file")
    if "mime-version:" in low[:2048] and "content-type:" in low:
        return problem("F-E007", "a saved e-mail message; attach the workbook itself")
    return problem("F-E008")


# --------------------------------------------------------------------------- zip package

_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    struct.error,
    ValueError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    IndexError,
    KeyError,
)
_ZIP_METHODS = {
    1: "shrink",
    6: "implode",
    9: "Deflate64",
    12: "bzip2",
    14: "LZMA",
    93: "Zstandard",
    95: "XZ",
    98: "PPMd",
    99: "AES",
}


class _Package:
    """A vetted zip held in memory, with inflation budgets shared by all reads."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.limits = limits
        self.inflated = 0
        # zipfile builds a ZipInfo for every central-directory record, whatever the
        # end record claims; each record starts with this signature, so this bounds it.
        count = data.count(b"PK\x01\x02")
        if count > limits.max_zip_entries:
            raise problem("F-E022", f"{count:,} entries; the limit is {limits.max_zip_entries:,}")
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except _ZIP_ERRORS as exc:
            raise problem("F-E017", _zip_detail(exc)) from None
        if len(infos) > limits.max_zip_entries:
            raise problem("F-E022", f"{len(infos):,} entries; the limit is {limits.max_zip_entries:,}")
        self.members: dict[str, zipfile.ZipInfo] = {}
        declared_total = 0
        for info in infos:
            name = info.orig_filename
            if (
                "\\" in name
                or "\x00" in name
                or name.startswith("/")
                or re.match(r"[A-Za-z]:", name)
                or ".." in name.split("/")
            ):
                raise problem("F-E018", f"'{_clean(name, 50)}'")
            key = info.filename.lower()
            if key in self.members:
                raise problem("F-E019", f"'{_clean(info.filename, 50)}'")
            self.members[key] = info
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise problem("F-E020")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                method = _ZIP_METHODS.get(info.compress_type, f"method {info.compress_type}")
                raise problem("F-E021", method)
            self._check_declared(info)
            declared_total += info.file_size
            if declared_total > limits.max_inflated_bytes:
                raise problem(
                    "F-E022",
                    f"over {_mb(limits.max_inflated_bytes)} in total once unpacked",
                )

    def _check_declared(self, info: zipfile.ZipInfo) -> None:
        lim = self.limits
        if info.file_size > lim.max_part_bytes:
            raise problem(
                "F-E022",
                f"{_clean(info.filename, 40)} unpacks to {_mb(info.file_size)}; the limit is {_mb(lim.max_part_bytes)}",
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > lim.max_ratio * max(info.compress_size, 1):
            raise problem(
                "F-E022",
                f"{_clean(info.filename, 40)} is compressed more than {lim.max_ratio} to 1",
            )

    def find(self, name: str) -> zipfile.ZipInfo | None:
        info = self.members.get(name.lower())
        return None if info is None or info.is_dir() else info

    def chunks(self, info: zipfile.ZipInfo) -> Generator[bytes, None, None]:
        """Inflate ``info`` in chunks, enforcing the per-part, total and ratio budgets."""
        lim = self.limits
        name = _clean(info.filename, 40)
        try:
            fh = self.zf.open(info)
        except _ZIP_ERRORS as exc:
            raise problem("F-E017", _zip_detail(exc, info.filename)) from None
        part_total = 0
        ratio_cap = lim.max_ratio * max(info.compress_size, 1)
        with fh:
            while True:
                try:
                    chunk = fh.read(_CHUNK)
                except _ZIP_ERRORS as exc:
                    raise problem("F-E017", _zip_detail(exc, info.filename)) from None
                if not chunk:
                    return
                part_total += len(chunk)
                self.inflated += len(chunk)
                if part_total > lim.max_part_bytes:
                    raise problem("F-E022", f"{name} unpacks to over {_mb(lim.max_part_bytes)}")
                if part_total > _RATIO_FLOOR and part_total > ratio_cap:
                    raise problem("F-E022", f"{name} is compressed more than {lim.max_ratio} to 1")
                if self.inflated > lim.max_inflated_bytes:
                    raise problem("F-E022", f"over {_mb(lim.max_inflated_bytes)} in total once unpacked")
                yield chunk

    def read_small(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        """At most ``cap`` bytes from the start of ``info``."""
        out = bytearray()
        chunks = self.chunks(info)
        try:
            for chunk in chunks:
                out += chunk
                if len(out) > cap:
                    break
        finally:
            chunks.close()
        return bytes(out[:cap])

    def parse(self, info: zipfile.ZipInfo, handler: _Handler) -> None:
        """Stream-parse one part into ``handler``; never builds the whole part in memory."""
        handler.part = info.filename
        parser = _new_parser(_clean(info.filename, 40))
        parser.StartElementHandler = handler.start
        if handler.end is not None:
            parser.EndElementHandler = handler.end
        if handler.chars is not None:
            parser.CharacterDataHandler = handler.chars
        try:
            for chunk in self.chunks(info):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            msg = expat.ErrorString(exc.code) if exc.code else str(exc)
            raise problem("F-E024", f"{_clean(info.filename, 40)} ({msg}, line {exc.lineno})") from None


def _zip_detail(exc: BaseException, member: str | None = None) -> str:
    text = str(exc).lower()
    if "crc" in text:
        what = "a checksum does not match"
    elif "not a zip file" in text or "end of central directory" in text or "truncated" in text:
        what = "the zip archive is incomplete"
    elif isinstance(exc, (EOFError, zlib.error)) or "ended before" in text:
        what = "compressed data is cut short or corrupt"
    else:
        what = "the zip structure is corrupt"
    return f"{what} in {_clean(member, 40)}" if member else what


# --------------------------------------------------------------------------- classification


def _check_bytes(data: bytes, limits: Limits) -> tuple[_Package, str]:
    """Classify the bytes; return the vetted package and its workbook part name."""
    if data.startswith(_OLE_MAGIC):
        raise _classify_ole(data)
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        raise _classify_other(data)
    pkg = _Package(data, limits)
    names = {n for n, i in pkg.members.items() if not i.is_dir()}
    mimetype = pkg.find("mimetype")
    if mimetype is not None:
        kind = pkg.read_small(mimetype, 200).decode("ascii", "replace").strip()
        if kind.startswith("application/vnd.oasis.opendocument.spreadsheet"):
            raise problem("F-E012")
        if kind.startswith("application/vnd.oasis.opendocument"):
            raise problem("F-E007", "an OpenDocument file (e.g. .odt), not a spreadsheet")
    if "xl/workbook.bin" in names:
        raise problem("F-E013")
    ct_info = pkg.find("[Content_Types].xml")
    if ct_info is None:
        if "content.xml" in names and "meta-inf/manifest.xml" in names:
            raise problem("F-E012")
        inner = next((n for n in names if n.endswith((".xlsx", ".xlsm", ".xls", ".csv", ".ods"))), None)
        if inner is not None:
            raise problem("F-E016", f"it contains {_clean(pkg.members[inner].filename, 50)}")
        raise problem("F-E016", "it has no [Content_Types].xml" if names else "it is empty")
    cts = _ContentTypes()
    pkg.parse(ct_info, cts)
    all_ct = [ct.lower() for ct in cts.all()]
    if any("sheet.binary" in ct for ct in all_ct):
        raise problem("F-E013")
    if any("macroenabled" in ct or "vbaproject" in ct or "macrosheet" in ct for ct in all_ct) or any(
        n.endswith("vbaproject.bin") for n in names
    ):
        raise problem("F-E014")
    main = _main_part(pkg)
    if main is None:
        if any("wordprocessingml" in ct for ct in all_ct) or "word/document.xml" in names:
            raise problem("F-E007", "a Word document (.docx)")
        if any("presentationml" in ct for ct in all_ct) or "ppt/presentation.xml" in names:
            raise problem("F-E007", "a PowerPoint presentation (.pptx)")
        raise problem("F-E016", "it has no workbook inside")
    main_ct = cts.overrides.get(main.lower(), "").lower()
    if "wordprocessingml" in main_ct:
        raise problem("F-E007", "a Word document (.docx)")
    if "presentationml" in main_ct:
        raise problem("F-E007", "a PowerPoint presentation (.pptx)")
    return pkg, main


def _main_part(pkg: _Package) -> str | None:
    rels_info = pkg.find("_rels/.rels")
    if rels_info is not None:
        rels = _Rels()
        pkg.parse(rels_info, rels)
        rel = rels.of_type("/officeDocument")
        if rel is not None:
            if rel.type.startswith(_STRICT_REL_PREFIX):
                raise problem("F-E015")
            part = _resolve_target("", rel.target)
            info = pkg.find(part) if part else None
            if info is not None:
                return info.filename
    info = pkg.find("xl/workbook.xml")
    return info.filename if info is not None else None
