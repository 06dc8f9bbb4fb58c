"""Feedback workbooks: the same locked template, regenerated with the officer's own values,
problem cells marked (fill + comment with code and message) and an Issues sheet that
links to each one. It keeps the issued identity and token, so the corrected workbook
is accepted when it comes back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pbp_workbooks.base.errors import PbpError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import Roster
from pbp_workbooks.base.roster import load as load_roster
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.intake.validation import Checked
from pbp_workbooks.ledger.history import locked_carried, typed_values
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec.model import Spec
from pbp_workbooks.workbook.writer import Identity, Mark, WorkbookWriter


@dataclass(frozen=True)
class Draft:
    """Everything one feedback workbook is made from. It can be pickled, so a worker process
    can write it while the ledger stays with the parent."""

    spec: Spec
    identity: Identity
    inputs: dict[str, Any]
    marks: list[Mark]
    password: str
    params: dict[str, Any]
    la_name: str
    contact: str
    due: date | None
    generated_at: datetime
    lock: frozenset[str] = frozenset()  # rows carried over, locked as issued

    def write(self, path: Path) -> Path:
        writer = WorkbookWriter(self.spec, self.identity, password=self.password, params=self.params,
                                la_name=self.la_name, contact=self.contact, due=self.due,
                                generated_at=self.generated_at)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer.write(path, self.inputs, self.marks, self.lock)
        return path


def draft(ws: Workspace, ledger: Ledger | None, checked: Checked, roster: Roster | None = None) -> Draft:
    """What the feedback workbook for ``checked`` holds: the LA's identity and pre-filled
    values from the ledger, the due date from the roster, the findings as marks."""
    data = checked.data
    assert data is not None
    cfg = ws.config
    identity = data.identity()
    inputs: dict[str, Any] = dict(data.values)
    inputs.update(data.sent)  # what they typed in each cell the reader reported, so they can see what to fix
    issued = ledger.issued_by_token(identity.issue_token) if ledger is not None else None
    lock: frozenset[str] = frozenset()
    if issued is not None and ledger is not None:  # made from a superseded workbook: answer with the new one
        issued = ledger.superseded_by(issued.token) or issued
    if issued is not None:  # the LA's identity and pre-filled values, whatever the file says
        identity = Identity(issued.template, issued.template_version, issued.kind, issued.year, issued.quarter,
                            issued.partnership, issued.host_school, issued.urn, identity.provision, issued.token)
        prefill = json.loads(issued.prefill_json or "{}")
        for name, value in prefill.items():
            if name in data.spec.by_name and data.spec[name].locked:
                inputs[name] = data.values.get(name) if value is None else _typed(data.spec[name].type, value)
        carried = typed_values(data.spec, issued.prefill_json)
        lock = locked_carried(data.spec, carried)
        for name in lock:  # locked as issued: the feedback workbook puts back any change (Q-E304)
            inputs[name] = carried[name]
    due = None
    try:
        roster = roster or load_roster(ws.roster_path)
        due = roster.due(FinancialYear.parse(identity.financial_year), data.spec.period_name(identity.quarter))
    except PbpError:  # a roster problem must not stop feedback being written
        due = None
    marks = [Mark(f.name if f.name in data.spec.by_name else None, f.code, f.severity, f.message,
                  tuple(n for n in f.also if n in data.spec.by_name))
             for f in checked.report.findings]
    return Draft(data.spec, identity, inputs, marks, password=cfg.password, params=cfg.thresholds.params(),
                 la_name=cfg.la_name, contact=cfg.return_contact(data.spec.kind), due=due,
                 generated_at=datetime.now(UTC).replace(microsecond=0), lock=lock)


def _typed(ftype: str, value: Any) -> Any:
    from decimal import Decimal

    if ftype in ("money", "signed_money") and value is not None:
        return Decimal(str(value))
    return value
