"""Compare two .xlsx files part by part, as XlsxWriter's own tests do, ignoring timestamps."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

_TIMESTAMPS = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        out = {}
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename == "docProps/core.xml":
                data = _TIMESTAMPS.sub(b"", data)
            out[info.filename] = data
        return out


def differences(got: Path, expected: Path) -> list[str]:
    a, b = parts(got), parts(expected)
    problems = []
    for name in sorted(a.keys() | b.keys()):
        if name not in a:
            problems.append(f"missing part {name}")
        elif name not in b:
            problems.append(f"unexpected part {name}")
        elif a[name] != b[name]:
            x, y = a[name].decode("utf-8", "replace"), b[name].decode("utf-8", "replace")
            i = next((k for k in range(min(len(x), len(y))) if x[k] != y[k]), min(len(x), len(y)))
            problems.append(
                f"{name} differs at {i}: got ...{x[max(0, i - 60) : i + 60]!r}... "
                f"expected ...{y[max(0, i - 60) : i + 60]!r}..."
            )
    return problems
