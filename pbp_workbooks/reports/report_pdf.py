"""``--pdf`` on the report commands: each report workbook printed to PDF by headless LibreOffice.

The PDF is what the workbook's own print setup makes (printing.py: A4, one page wide, a
header naming the report and the period on every page, page numbers in the footer), so
what a person prints from Excel and the PDF agree. LibreOffice runs once for the whole
batch, with a private profile in a temporary folder (it never touches, or waits for, a
LibreOffice the user has open), and writes into a temporary folder first: a PDF appears
beside its workbook only once it is complete. ``PBP_SOFFICE`` names the program when it
is not on the PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pbp_workbooks.base.errors import ConfigError, PbpError

TIMEOUT = 600  # seconds for the whole batch


def soffice() -> str | None:
    """The LibreOffice program, or None when it is not installed."""
    configured = os.environ.get("PBP_SOFFICE")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return None


def to_pdf(workbooks: Sequence[Path]) -> list[Path]:
    """A PDF beside each workbook (same name, .pdf). Raises a one-line error when LibreOffice
    is not installed or does not produce a PDF."""
    program = soffice()
    if program is None:
        raise ConfigError("cannot write the PDFs: LibreOffice is not installed (install it, e.g. apt-get install "
                          "libreoffice-calc-nogui, or set PBP_SOFFICE); the report workbooks were written and can be "
                          "printed from Excel")
    if not workbooks:
        return []
    with tempfile.TemporaryDirectory(prefix="pbp-pdf-") as tmp:
        profile, out = Path(tmp) / "profile", Path(tmp) / "out"
        out.mkdir()
        cmd = [program, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--nologo",
               "--convert-to", "pdf", "--outdir", str(out), *map(str, workbooks)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise PbpError(f"LibreOffice did not finish printing the PDFs within {TIMEOUT} seconds; the report "
                           "workbooks were written") from None
        except OSError as err:
            raise ConfigError(f"cannot run LibreOffice ({program}): {err.strerror}") from None
        written = []
        for wb in workbooks:
            made = out / (wb.stem + ".pdf")
            if not made.is_file() or made.stat().st_size == 0:
                why = (done.stderr or done.stdout).strip().splitlines()
                raise PbpError(f"LibreOffice did not print {wb.name} to PDF"
                               + (f" ({why[-1]})" if why else f" (exit code {done.returncode})"))
            target = wb.with_suffix(".pdf")
            shutil.move(str(made), str(target.with_name(target.name + ".part")))
            os.replace(target.with_name(target.name + ".part"), target)
            written.append(target)
        return written
