"""How validate and ingest print their reports (human table or DESIGN §9 JSON) and exit."""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from ..findings import FileReport

SYMBOL = {"accepted": "OK  ", "accepted_with_warnings": "OK! ", "rejected": "FAIL", "unreadable": "FAIL"}


_CONTROL = re.compile("[\x00-\x1f\x7f\u2028\u2029]")


def _line(text: str) -> str:
    """One line whatever it holds: a control character (a line break typed in a cell, in a
    file name) is shown escaped, e.g. '1,200\\n(approx)', never obeyed."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _is_utf(stream: Any) -> bool:
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name.startswith("utf")
    except LookupError:
        return False


def emit(reports: Sequence[FileReport], as_json: bool) -> int:
    # A console that cannot show every character (a Windows code page, LANG=C) gets escapes
    # instead of an error after the work is done: \uXXXX in JSON, \xNN / \uXXXX in text.
    utf = _is_utf(sys.stdout)
    if as_json:
        json.dump([r.to_json() for r in reports], sys.stdout, indent=2, ensure_ascii=not utf)
        sys.stdout.write("\n")
    else:
        if not utf and hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")
        for r in reports:
            who = ""
            if r.identity:
                q = r.identity.get("quarter")
                who = f" [{r.identity.get('partnership')} {r.identity.get('year')}{f' Q{q}' if q else ''}"
                if r.extra.get("version"):
                    who += f", version {r.extra['version']}"
                who += "]"
            dup = " (already received: not counted again)" if r.extra.get("duplicate_of") else ""
            if r.extra.get("token_checked") is False:
                dup += "; token not checked (no workspace)"
            print(_line(f"{SYMBOL[r.status]} {r.status.replace('_', ' ')}: {r.file}{who}{dup}"))
            for f in r.findings:
                where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else "file"
                print(_line(f"     {f.code} {f.severity:<7} {where:<12} {f.message}"))
            if r.extra.get("feedback"):
                print(_line(f"     feedback workbook: {r.extra['feedback']}"))
        counts: dict[str, int] = {}
        for r in reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()) or "no files"
        print(f"{len(reports)} file(s): {summary}.")
    return 0 if reports and all(r.ok for r in reports) else 1
