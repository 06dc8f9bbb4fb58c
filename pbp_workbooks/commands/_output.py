"""How validate and ingest print their reports (human table or DESIGN §9 JSON) and exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from ..findings import FileReport

SYMBOL = {"accepted": "OK  ", "accepted_with_warnings": "OK! ", "rejected": "FAIL", "unreadable": "FAIL"}


def emit(reports: Sequence[FileReport], as_json: bool) -> int:
    if as_json:
        json.dump([r.to_json() for r in reports], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for r in reports:
            who = ""
            if r.identity:
                q = r.identity.get("quarter")
                who = f" [{r.identity.get('partnership')} {r.identity.get('year')}{f' Q{q}' if q else ''}"
                if r.extra.get("version"):
                    who += f", version {r.extra['version']}"
                who += "]"
            dup = " (already received: not counted again)" if r.extra.get("duplicate_of") else ""
            print(f"{SYMBOL[r.status]} {r.status.replace('_', ' ')}: {r.file}{who}{dup}")
            for f in r.findings:
                where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else "file"
                print(f"     {f.code} {f.severity:<7} {where:<12} {f.message}")
            if r.extra.get("feedback"):
                print(f"     feedback workbook: {r.extra['feedback']}")
        counts: dict[str, int] = {}
        for r in reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()) or "no files"
        print(f"{len(reports)} file(s): {summary}.")
    return 0 if reports and all(r.ok for r in reports) else 1
