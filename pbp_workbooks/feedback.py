"""Feedback workbooks: the same locked template, regenerated with the officer's own values,
problem cells marked (fill + comment with code and message) and an Issues sheet that
links to each one. It keeps the issued identity and token, so the corrected workbook
is accepted when it comes back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import PbpError
from .ledger import Ledger
from .periods import FinancialYear
from .roster import Roster
from .roster import load as load_roster
from .validation import Checked
from .workspace import Workspace
from .writer import Identity, Mark, WorkbookWriter


def write_feedback(ws: Workspace, ledger: Ledger | None, checked: Checked, path: Path,
                   roster: Roster | None = None) -> Path:
    data = checked.data
    assert data is not None
    cfg = ws.config
    identity = data.identity()
    inputs: dict[str, Any] = dict(data.values)
    inputs.update(data.raw_text)  # show what they typed, so they can see what to fix
    issued = ledger.issued_by_token(identity.issue_token) if ledger is not None else None
    if issued is not None:  # the LA's identity and pre-filled values, whatever the file says
        identity = Identity(issued.template, issued.template_version, issued.kind, issued.year, issued.quarter,
                            issued.partnership, issued.host_school, issued.urn, identity.provision, issued.token)
        for name, value in json.loads(issued.prefill_json or "{}").items():
            if name in data.spec.by_name and data.spec[name].locked:
                inputs[name] = data.values.get(name) if value is None else _typed(data.spec[name].type, value)
    due = None
    try:
        roster = roster or load_roster(ws.roster_path)
        due = roster.due(FinancialYear.parse(identity.financial_year),
                         f"Q{identity.quarter}" if identity.quarter else "Annual")
    except PbpError:  # a roster problem must not stop feedback being written
        due = None
    marks = [Mark(f.name if f.name in data.spec.by_name else None, f.code, f.severity, f.message)
             for f in checked.report.findings]
    writer = WorkbookWriter(data.spec, identity, password=cfg.password, params=cfg.thresholds.params(),
                            la_name=cfg.la_name, contact=cfg.finance_contact, due=due,
                            generated_at=datetime.now(UTC).replace(microsecond=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.write(path, inputs, marks)
    return path


def _typed(ftype: str, value: Any) -> Any:
    from decimal import Decimal

    if ftype in ("money", "signed_money") and value is not None:
        return Decimal(str(value))
    return value
