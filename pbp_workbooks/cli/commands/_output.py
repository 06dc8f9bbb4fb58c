"""How validate and ingest print their reports (human table or DESIGN §9 JSON) and exit."""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from pbp_workbooks.spec.findings import FileReport
from pbp_workbooks.spec.recipients import whose

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
        replies: set[str] = set()
        for r in reports:
            who = ""
            if r.identity:
                q = r.identity.get("quarter")
                who = f" [{whose(r.identity)} {r.identity.get('year')}{f' Q{q}' if q else ''}"
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
            _email_lines(r.extra.get("email"), replies)
        counts: dict[str, int] = {}
        for r in reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()) or "no files"
        print(f"{len(reports)} file(s): {summary}.")
        if replies:
            print(f"{len(replies)} reply draft(s) (.eml, listed above): open each in your mail program, check it and "
                  "send it.")
    return 0 if reports and all(r.ok for r in reports) else 1


def _email_lines(email: dict[str, Any] | None, replies: set[str]) -> None:
    """Where a file came from when it came by email, the message's oddities, and its reply draft (once)."""
    if not email:
        return
    sender = email.get("from") or "no sender"
    print(_line(f"     email from {sender}" + (f", {email['subject']!r}" if email.get("subject") else "")
                + (f", sent {email['date'][:16].replace('T', ' ')}" if email.get("date") else "")))
    for note in email.get("notes") or ():
        print(_line(f"     note: {note}"))
    reply = email.get("reply")
    if reply and reply not in replies:
        replies.add(reply)
        print(_line(f"     reply draft: {reply}"))

