"""Drive a real LibreOffice (headless) from the tests.

The project's interpreter (pyenv) cannot import ``uno``: the UNO bridge
belongs to Debian's ``/usr/bin/python3``.  So this module, imported by
pytest, starts ONE headless ``soffice`` listening on a private named pipe
and runs ``tests/lo_driver.py`` under ``/usr/bin/python3`` for every
operation (connect, open hidden, work, close).

Usage in tests (``tests/conftest.py`` loads this module as a plugin with
``pytest_plugins = ["libreoffice"]``, which provides the session fixture)::

    from libreoffice import LibreOffice  # same module object as the plugin

    @pytest.mark.libreoffice
    def test_something(libreoffice: LibreOffice, tmp_path: Path) -> None:
        libreoffice.fill(src, tmp_path / "filled.xlsx", {"pbp_prepared_by": "Alice"})

All fixtures of one module object share one office process
(``session_libreoffice()``), however many test modules import the fixture.
Import it as ``libreoffice`` (not ``tests.libreoffice``) so there is only
one module object, hence one office.

Every office gets a private profile (``-env:UserInstallation``) whose
``registrymodifications.xcu`` makes Calc ALWAYS recalculate OOXML/ODF files
on load: by default LibreOffice keeps the cached values stored in an .xlsx,
so conversions and PDFs would silently show stale numbers.  The driver also
calls ``calculateAll()`` before every save/export/read.

Environment knobs: ``PBP_SOFFICE`` (soffice binary), ``PBP_UNO_PYTHON``
(interpreter with ``uno``, default ``/usr/bin/python3``),
``PBP_LO_TIMEOUT`` (seconds per operation, default 120).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import decimal
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import pytest

__all__ = [
    "LibreOffice",
    "LibreOfficeError",
    "LockedCellError",
    "ValidationRejectedError",
    "libreoffice_fixture",
    "release_session_libreoffice",
    "require_libreoffice",
    "session_libreoffice",
    "soffice_available",
    "unavailable_reason",
]

DRIVER = Path(__file__).with_name("lo_driver.py")
UNO_PYTHON = os.environ.get("PBP_UNO_PYTHON", "/usr/bin/python3")
DEFAULT_OP_TIMEOUT = float(os.environ.get("PBP_LO_TIMEOUT", "120"))
START_TIMEOUT = 60.0

# Private-profile settings, written before the first start.
#   OOXMLRecalcMode/ODFRecalcMode 0 = "always recalculate" on load
#   UseLocking false: no ".~lock.*#" files next to the workbooks
#   MacroSecurityLevel 3: never run macros
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">\
<prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting">\
<prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
</oor:items>
"""


class LibreOfficeError(RuntimeError):
    """An operation failed; ``kind`` is the driver's error kind (e.g.
    ``locked_cell``, ``unknown_name``, ``soffice_died``, ``timeout``)."""

    def __init__(
        self,
        message: str,
        kind: str = "error",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.details: dict[str, Any] = dict(details or {})


class LockedCellError(LibreOfficeError):
    """Typing into a locked cell of a protected sheet (a person cannot)."""


class ValidationRejectedError(LibreOfficeError):
    """A data validation with a STOP alert refuses the value."""


_ERROR_CLASSES: dict[str, type[LibreOfficeError]] = {
    "locked_cell": LockedCellError,
    "validation_rejected": ValidationRejectedError,
}


# --------------------------------------------------------------------------
# availability


def _soffice_binary() -> str | None:
    configured = os.environ.get("PBP_SOFFICE")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in ("soffice", "libreoffice"):
        found = shutil.which(candidate)
        if found:
            return found
    fallback = "/usr/lib/libreoffice/program/soffice"
    return fallback if os.access(fallback, os.X_OK) else None


@functools.cache
def unavailable_reason() -> str | None:
    """``None`` if LibreOffice can be driven here, else why not."""
    if _soffice_binary() is None:
        return "no soffice binary on PATH (apt-get install libreoffice-calc-nogui)"
    if not os.access(UNO_PYTHON, os.X_OK):
        return f"{UNO_PYTHON} not found (the UNO bridge needs Debian's python3 + python3-uno)"
    try:
        probe = subprocess.run(
            [
                UNO_PYTHON,
                "-I",
                "-c",
                "import uno; from com.sun.star.beans import PropertyValue",
            ],
            stdin=subprocess.DEVNULL,
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            env=_clean_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {UNO_PYTHON}: {exc}"
    if probe.returncode != 0:
        return f"{UNO_PYTHON} cannot import uno (apt-get install python3-uno): {probe.stderr.strip()[-300:]}"
    if not DRIVER.is_file():
        return f"driver script missing: {DRIVER}"
    return None


def soffice_available() -> bool:
    """True if the soffice binary and ``/usr/bin/python3`` with ``uno`` are present."""
    return unavailable_reason() is None


def _clean_env() -> dict[str, str]:
    """Environment for child processes: no pyenv/venv Python settings leaking
    into Debian's interpreter, no display, no interactive prompts."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "PYTHONPATH",
            "PYTHONHOME",
            "PYTHONSTARTUP",
            "PYTHONUSERBASE",
            "VIRTUAL_ENV",
        }
    }
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env["SAL_USE_VCLPLUGIN"] = "svp"  # headless VCL backend, never needs X
    env.setdefault("HOME", tempfile.gettempdir())
    return env


def _encode(value: object, *, formulas: bool) -> dict[str, Any]:
    """Tag a Python value for the driver (see lo_driver.py)."""
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        raise TypeError("booleans are not supported: enter 1/0 or a string")
    if isinstance(value, str):
        if formulas and value.startswith("="):
            return {"t": "formula", "v": value}
        return {"t": "str", "v": value}
    if isinstance(value, int | float | decimal.Decimal):
        return {"t": "num", "v": float(value)}
    if isinstance(value, dt.datetime):
        return {"t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"t": "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {"t": "time", "v": value.isoformat()}
    raise TypeError(f"cannot enter a {type(value).__name__}: {value!r}")


def _count_pdf_pages(pdf: Path) -> int:
    """Page count via poppler's ``pdfinfo``; falls back to counting page
    objects (LibreOffice writes uncompressed ``/Type /Page`` dictionaries)."""
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo:
        out = subprocess.run(
            [pdfinfo, str(pdf)],
            check=False,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        match = re.search(r"^Pages:\s+(\d+)\s*$", out.stdout, re.MULTILINE)
        if out.returncode == 0 and match:
            return int(match.group(1))
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))


# --------------------------------------------------------------------------
# the office


class LibreOffice:
    """One headless soffice process; each method runs one driver subprocess.

    Use as a context manager (or call ``start()``/``close()``).  If the
    office dies between operations it is restarted on the next call; if it
    dies during one, that call raises ``LibreOfficeError(kind="soffice_died")``.
    """

    def __init__(
        self,
        *,
        soffice: str | None = None,
        uno_python: str = UNO_PYTHON,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.soffice = soffice or _soffice_binary() or "soffice"
        self.uno_python = uno_python
        self.op_timeout = op_timeout
        self.start_timeout = start_timeout
        self.pipe_name = ""
        self.start_seconds: float | None = None  # how long the last start took
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log: Any = None
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """Process id (and process-group id) of the launched soffice."""
        return self._proc.pid if self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        with self._lock:
            if self.is_running():
                return
            self._kill()  # leftovers of an office that died
            self._cleanup()
            started = time.monotonic()
            self._workdir = Path(tempfile.mkdtemp(prefix="pbp-lo-"))
            profile = self._workdir / "profile"
            (profile / "user").mkdir(parents=True)
            (profile / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
            self.pipe_name = f"pbp_lo_{os.getpid()}_{uuid.uuid4().hex[:12]}"
            self._log = open(self._workdir / "soffice.log", "wb")  # noqa: SIM115 - closed in _cleanup
            cmd = [
                self.soffice,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--invisible",
                "--norestore",
                "--nologo",
                "--nodefault",
                "--nolockcheck",
                f"--accept=pipe,name={self.pipe_name};urp;StarOffice.ComponentContext",
            ]
            try:
                self._proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    cwd=self._workdir,
                    env=_clean_env(),
                    start_new_session=True,  # own process group: killpg gets soffice.bin too
                )
            except OSError as exc:
                self._cleanup()
                raise LibreOfficeError(f"cannot launch {self.soffice}: {exc}", "start_failed") from exc
            _LIVE.add(self)
            self._wait_ready(started)
            self.start_seconds = time.monotonic() - started

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.start_timeout
        last_error = ""
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                log = self._log_tail()
                self._cleanup()
                raise LibreOfficeError(
                    f"soffice exited with status {code} during start-up. Log:\n{log}",
                    "start_failed",
                )
            if time.monotonic() >= deadline:
                log = self._log_tail()
                self._kill()
                self._cleanup()
                raise LibreOfficeError(
                    f"soffice not ready after {self.start_timeout:.0f}s ({last_error}). Log:\n{log}",
                    "start_failed",
                )
            try:
                self._driver(["--wait", "1", "ping"], timeout=15)
                return
            except LibreOfficeError as exc:
                last_error = str(exc)
                time.sleep(0.05)

    def close(self) -> None:
        """Quit the office (politely, then SIGTERM, then SIGKILL) and delete its profile."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                with contextlib.suppress(LibreOfficeError):
                    self._driver(["terminate"], timeout=10)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=10)
            self._kill()
            self._cleanup()
            _LIVE.discard(self)

    def _kill(self) -> None:
        """Kill the whole process group (the launcher script, oosplash, soffice.bin)."""
        proc = self._proc
        if proc is None:
            return
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_alive(proc.pid):
                proc.poll()
                time.sleep(0.05)
            if not _group_alive(proc.pid):
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def _cleanup(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._proc = None

    def _log_tail(self, limit: int = 2000) -> str:
        if self._workdir is None:
            return ""
        try:
            if self._log is not None:
                self._log.flush()
            return (self._workdir / "soffice.log").read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    # -- driver calls --------------------------------------------------------

    def _driver(self, argv: list[str], timeout: float) -> dict[str, Any]:
        cmd = [self.uno_python, "-I", str(DRIVER), "--pipe", self.pipe_name, *argv]
        try:
            done = subprocess.run(
                cmd,
                check=False,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                env=_clean_env(),
            )
        except subprocess.TimeoutExpired as exc:
            raise LibreOfficeError(f"lo_driver {argv[0]} timed out after {timeout:.0f}s", "timeout") from exc
        except OSError as exc:
            raise LibreOfficeError(f"cannot run {self.uno_python}: {exc}", "no_uno") from exc
        stdout = done.stdout.decode("utf-8", "replace").strip()
        stderr = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode == 0:
            try:
                return dict(json.loads(stdout.splitlines()[-1]))
            except (ValueError, IndexError) as exc:
                raise LibreOfficeError(f"lo_driver: unreadable output {stdout!r}", "internal") from exc
        payload: dict[str, Any] = {}
        for line in reversed(stderr.splitlines()):
            if line.startswith("{"):
                try:
                    payload = dict(json.loads(line))
                    break
                except ValueError:
                    continue
        kind = str(payload.get("error", "internal"))
        message = str(payload.get("message") or stderr[-2000:] or f"exit status {done.returncode}")
        raise _ERROR_CLASSES.get(kind, LibreOfficeError)(message, kind, payload)

    def _run(self, argv: list[str], timeout: float | None = None) -> dict[str, Any]:
        with self._lock:
            if not self.is_running():
                self.start()  # never started, or died since the last call: (re)start
            try:
                return self._driver(argv, timeout or self.op_timeout)
            except LibreOfficeError as exc:
                assert self._proc is not None
                if exc.kind == "timeout":
                    self._kill()  # a hung office would poison every later test
                    self._cleanup()
                    raise
                if self._proc.poll() is not None:
                    log = self._log_tail()
                    code = self._proc.returncode
                    self._cleanup()
                    raise LibreOfficeError(
                        f"soffice died (status {code}) during {argv[0]}: {exc}. Log:\n{log}",
                        "soffice_died",
                        exc.details,
                    ) from exc
                raise

    # -- public API ----------------------------------------------------------

    def fill(
        self,
        src: Path,
        dst: Path,
        values: Mapping[str, object],
        *,
        validate: bool = True,
    ) -> None:
        """Type ``values`` into the workbook as a person would, recalculate, save .xlsx.

        Keys are defined names (``pbp_prepared_by``) or addresses (``Return!B12``).
        ``str`` -> text, ``int``/``float``/``Decimal`` -> number, ``date`` ->
        date serial (a General cell gets the format YYYY-MM-DD, a date-formatted
        cell keeps its format), ``datetime``/``time`` likewise, ``None`` ->
        clear the cell (contents only, like Delete).  Raises ``LockedCellError``
        for a locked cell on a protected sheet, ``LibreOfficeError`` (kind
        ``hidden_sheet``) for cells on hidden sheets and, unless
        ``validate=False``, ``ValidationRejectedError`` when the cell's data
        validation has a STOP alert that refuses the value.
        """
        encoded = {key: _encode(value, formulas=False) for key, value in values.items()}
        argv = [
            "fill",
            "--src",
            str(src),
            "--dst",
            str(dst),
            "--values-json",
            json.dumps(encoded),
        ]
        if not validate:
            argv.append("--no-validate")
        self._run(argv)

    def tamper(
        self,
        src: Path,
        dst: Path,
        password: str,
        *,
        sheet: str,
        set_cells: Mapping[str, object] | None = None,
        insert_rows_before: int | None = None,
    ) -> None:
        """Unprotect ``sheet`` with ``password``, first insert a row before
        1-based row ``insert_rows_before`` (if given), then set ``set_cells``
        (keys ``A1`` on that sheet, ``Sheet!A1`` or defined names; a ``str``
        starting with ``=`` is an Excel-syntax formula), re-protect, recalc, save."""
        argv = [
            "tamper",
            "--src",
            str(src),
            "--dst",
            str(dst),
            "--password",
            password,
            "--sheet",
            sheet,
        ]
        if set_cells:
            encoded = {key: _encode(value, formulas=True) for key, value in set_cells.items()}
            argv += ["--set-json", json.dumps(encoded)]
        if insert_rows_before is not None:
            argv += ["--insert-rows-before", str(int(insert_rows_before))]
        self._run(argv)

    def recalc(self, src: Path, dst: Path) -> None:
        """Open, ``calculateAll()``, save as .xlsx."""
        self._run(["recalc", "--src", str(src), "--dst", str(dst)])

    def read_values(self, src: Path, cells: list[str]) -> dict[str, object]:
        """What LibreOffice computes (after recalculation) for ``Sheet!A1`` cells
        or defined names: ``float`` for numbers/dates, ``str`` for text and
        error values (``#DIV/0!``), ``None`` for empty cells."""
        result = self._run(["read", "--src", str(src), "--cells-json", json.dumps(list(cells))])
        return dict(result["values"])

    def pdf_pages(self, src: Path, pdf: Path, sheet: str) -> int:
        """Export ``sheet`` alone to ``pdf`` (recalculated) and return its page count.

        Method: the Calc PDF export filter gets ``FilterData``
        ``Selection=<the sheet object>``, so LibreOffice lays out exactly that
        sheet with the sheet's own print setup (paper, orientation, margins,
        fit-to-width, print area), as File > Export as PDF does for one sheet;
        we count the pages of the file with ``pdfinfo``.  The driver also
        reports ``XRenderable.getRendererCount`` for the same selection and
        the two must agree.  Hidden sheets raise (they do not print).
        """
        result = self._run(["pdf", "--src", str(src), "--pdf", str(pdf), "--sheet", sheet])
        pages = _count_pdf_pages(Path(pdf))
        renderer_pages = int(result.get("renderer_pages", pages))
        if pages != renderer_pages:
            raise LibreOfficeError(
                f"{pdf}: PDF has {pages} pages but LibreOffice's renderer counts {renderer_pages}",
                "page_count_mismatch",
            )
        return pages


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _group_alive(pgid: int) -> bool:
    if Path("/proc/self/stat").exists():
        return bool(_group_members(pgid))  # zombies (unreaped in containers) do not count
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------
# session sharing + pytest fixture

_LIVE: set[LibreOffice] = set()
_SHARED: LibreOffice | None = None
_SHARED_USERS = 0
_SHARED_LOCK = threading.Lock()


@atexit.register
def _close_all() -> None:
    for office in list(_LIVE):
        office.close()


def session_libreoffice() -> LibreOffice:
    """The process-wide shared office (started on first use).  Pair every call
    with ``release_session_libreoffice()``; the last release closes it."""
    global _SHARED, _SHARED_USERS
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = LibreOffice()
        _SHARED_USERS += 1
        office = _SHARED
    try:
        office.start()
    except BaseException:
        release_session_libreoffice()
        raise
    return office


def release_session_libreoffice() -> None:
    global _SHARED, _SHARED_USERS
    with _SHARED_LOCK:
        _SHARED_USERS = max(0, _SHARED_USERS - 1)
        if _SHARED_USERS or _SHARED is None:
            return
        office, _SHARED = _SHARED, None
    office.close()


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_libreoffice() -> None:
    """Skip the calling test/fixture if LibreOffice/UNO is not installed --
    except on CI (``CI=true``), where that fails loudly instead."""
    reason = unavailable_reason()
    if reason is None:
        return
    if _on_ci():
        pytest.fail(
            f"LibreOffice is required on CI (CI=true) but unavailable: {reason}",
            pytrace=False,
        )
    pytest.skip(f"LibreOffice unavailable: {reason}")


@pytest.fixture(scope="session", name="libreoffice")
def libreoffice_fixture() -> Iterator[LibreOffice]:
    """Session-wide headless LibreOffice shared by all tests (one soffice).

    Skips when LibreOffice/UNO is missing, fails instead when ``CI=true``."""
    require_libreoffice()
    office = session_libreoffice()
    try:
        yield office
    finally:
        release_session_libreoffice()
