"""The demo's SLA review round (toolkit Appendix 1, steps S1-S4): a review workbook issued to
every member school of every partnership; most fill it in (``sla_samples.filled_values``),
one disagrees without saying how it knows (accepted, with a warning), one leaves a
statement unanswered (rejected) and answers it in its feedback workbook, and the last
school of each partnership never replies; then the consolidation gains its SLA review
sheet and CSV, and ``pbp status`` lists the partnerships whose review is due.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.demo import sla_samples
from pbp_workbooks.reports.sla import KIND, reviews_due
from pbp_workbooks.spec import model as spec_mod

# member-school index (in roster order) -> what goes wrong, and the value they type to fix it
UNANSWERED = 1
DISAGREES = 2


def run_sla(ws: Workspace, root: Path, fy: FinancialYear, out: Callable[[str], None], rel: Callable[[Any], str],
            returns: str) -> Any:
    from pbp_workbooks.demo.run import _print_reports, type_into
    from pbp_workbooks.intake.ingest import ingest
    from pbp_workbooks.reports.consolidate import consolidate
    from pbp_workbooks.workbook.generate import generate

    spec = spec_mod.load(KIND)
    roster = roster_mod.load(ws.roster_path)
    issued = generate(ws, KIND, fy, None, None)
    out(f"[S1/4] SLA review {fy}: {len(issued)} workbooks issued, one to each member school, into "
        f"{rel(issued[0].parent)}/")
    by_urn = {str(m["urn"]): m for m in roster.members}
    last = {str(m["partnership"]).casefold(): str(m["urn"]) for m in roster.members}  # each partnership's last
    sent: list[Path] = []
    fixes: dict[str, dict[str, Any]] = {}
    statement = next(q.name for q in _statements(spec))
    folder = root / returns / f"{fy} SLA review"
    for i, path in enumerate(issued):
        urn = next(u for u, m in by_urn.items() if f" - {m['school']}.xlsx" in path.name)
        if last[str(by_urn[urn]["partnership"]).casefold()] == urn:
            continue  # never replies
        values = sla_samples.filled_values(spec, fy, seed=700 + i, disagree=i == DISAGREES or None)
        if i == DISAGREES:
            values.pop("how_do_you_know", None)
        if i == UNANSWERED:
            fixes[urn] = {statement: values.pop(statement)}
        type_into(path, folder / path.name, values)
        sent.append(folder / path.name)
    out(f"[S2/4] {len(sent)} schools send their review back (the last school of each partnership never does); one "
        f"disagrees without saying how it knows, one leaves a statement unanswered: {rel(folder)}/")
    reports = ingest(ws, sent)
    _print_reports(out, [r for r in reports if r.findings], rel)
    out(f"        the other {sum(1 for r in reports if not r.findings)} accepted with no findings")
    corrected: list[Path] = []
    for r in reports:
        if r.ok or not r.identity or "feedback" not in r.extra:
            continue
        dst = root / returns / f"{fy} SLA review corrected" / Path(r.file).name
        type_into(Path(r.extra["feedback"]), dst, fixes[str(r.identity["urn"])])
        corrected.append(dst)
    out(f"[S3/4] {len(corrected)} school answers the statement in its FEEDBACK workbook and sends it back")
    _print_reports(out, ingest(ws, corrected), rel)
    result = consolidate(ws, fy, None, None, summaries=False)
    s = result.data.sla
    assert s is not None
    out(f"[S4/4] Consolidated: sheet 'SLA review' and {rel(result.csv[-1])}: reviews from "
        f"{sum(1 for x in s.schools if x.replied)} of {len(s.schools)} schools")
    for q in s.statements[:1]:
        for partnership in s.partnerships:
            counts = ", ".join(f"{n} {a.lower()}" for a, n in s.counts(partnership, q).items() if n)
            out(f"        {partnership:<8} statement 1: {counts}; not replied {len(s.not_replied(partnership))}")
    due = [d for d in reviews_due(roster.provisions, datetime.now(UTC).date(), ws.config.sla_review_months) if d.due]
    out("        SLA reviews due (roster dates; pbp status lists them): "
        + "; ".join(f"{d.partnership} {d.state}" for d in due))
    return result


def _statements(spec: spec_mod.Spec) -> list[Any]:
    from pbp_workbooks.reports.sla import questions

    return [q for q in questions(spec) if q.choices is not None]
