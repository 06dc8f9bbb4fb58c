"""A workspace whose 2025-26 annual reports the LA has accepted: what a surplus round starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.demo import annual_samples
from pbp_workbooks.demo.run import type_into
from pbp_workbooks.intake.ingest import ingest
from pbp_workbooks.ledger import history
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.workbook.generate import generate

YEAR = "2025-26"


def accept_annual_reports(ws: Workspace, partnerships: set[str] | None = None) -> dict[str, Any]:
    """Issue, fill in and ingest the year's annual reports (of ``partnerships``, default all);
    each partnership's accepted year-end balance."""
    fy = FinancialYear.parse(YEAR)
    aspec = spec_mod.load("annual")
    issued = generate(ws, "annual", fy, None, None)
    roster = roster_mod.load(ws.roster_path)
    with Ledger(ws.ledger_path) as ledger:
        prefills = {i.partnership: history.typed_values(aspec, i.prefill_json)
                    for i in ledger.issued_for("annual", YEAR, None)}
    sent: list[Path] = []
    for i, prov in enumerate(roster.provisions):
        if partnerships is not None and prov.partnership not in partnerships:
            continue
        values = annual_samples.filled_values(aspec, fy, prefills[prov.partnership], seed=900 + i,
                                              params=ws.config.thresholds.params(), placements=0, ehcp=0)
        v = {k: x for k, x in values.items() if k in aspec.by_name and aspec[k].is_input}
        src = next(p for p in issued if f" - {prov.partnership} - " in p.name)
        dst = ws.root / "returned" / src.name
        type_into(src, dst, v)
        sent.append(dst)
    reports = ingest(ws, sent)
    assert all(r.ok for r in reports), [(r.file, [f.message for f in r.findings]) for r in reports]
    with Ledger(ws.ledger_path) as ledger:
        return {p: history.closing_balance(ledger, fy, p) for p in prefills}
