"""Per provision and period: issued, received, accepted / with warnings / rejected,
version, official version, missing, late against the roster's due date. Also the
official return a status row points at (``Official``) and the words the LA outputs
show for a provision's status (``status_label``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.ledger.mail_trail import arrivals_by_subject
from pbp_workbooks.ledger.store import Ledger, received_for
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import Spec
from pbp_workbooks.spec.recipients import key_of, recipients

# A provision's state for a period, as status_rows gives it.
STATES = ("accepted", "accepted_with_warnings", "rejected", "missing", "not issued")


def periods(quarter: int | None) -> list[tuple[str, int | None]]:
    """The returns a status covers: a quarter's quarterly returns, or (no quarter) every
    quarter and every yearly return whose spec is shipped (``spec.available()``)."""
    if quarter is not None:
        return [("quarterly", quarter)]
    out: list[tuple[str, int | None]] = [("quarterly", q) for q in (1, 2, 3, 4)]
    out.extend((kind, None) for kind in spec_mod.available() if kind != "quarterly")
    return out


def status_rows(ws: Workspace, fy: FinancialYear, quarter: int | None, today: date | None = None) -> list[dict[str, Any]]:
    """One row per recipient (a provision, or a member school for a per-school return) and period."""
    roster = roster_mod.load(ws.roster_path)
    today = today or datetime.now(UTC).date()
    rows: list[dict[str, Any]] = []
    with Ledger(ws.ledger_path) as ledger:
        for kind, q in periods(quarter):
            spec = spec_mod.load(kind)
            issued = {key_of(i.partnership, i.subject): i for i in ledger.issued_for(kind, str(fy), q)}
            received: dict[tuple[str, str], list[Any]] = {}
            for r in received_for(ledger, kind, str(fy), q):
                received.setdefault(key_of(r.partnership, r.subject), []).append(r)
            due = roster.due(fy, spec.period_name(q))
            trail = {key_of(p, s): found for (p, s), found in arrivals_by_subject(ledger, kind, str(fy), q).items()}
            for unit in recipients(spec, roster):
                key = unit.key
                got = received.get(key, [])
                accepted = [r for r in got if r.status in ("accepted", "accepted_with_warnings")]
                official = max(accepted, key=lambda r: r.version) if accepted else None
                latest = max(got, key=lambda r: r.version) if got else None
                if official is not None:
                    state = official.status
                    late = due is not None and date.fromisoformat(official.received_at[:10]) > due
                elif latest is not None:
                    state = "rejected"
                    late = due is not None and today > due
                else:
                    state = "missing" if key in issued else "not issued"
                    late = due is not None and today > due and key in issued
                rows.append({
                    "period": f"{fy} Q{q}" if q else f"{fy} {spec.period_label.lower()}", "kind": kind,
                    "year": str(fy), "quarter": q,
                    "partnership": unit.partnership, "host_school": unit.provision.host_school,
                    # the school the return is for (the host school, or a member school) and its URN
                    "school": unit.school, "urn": unit.urn,
                    "issued": issued[key].issued_at if key in issued else None,
                    "received": len(got), "latest_version": latest.version if latest else None,
                    "latest_status": latest.status if latest else None,
                    "official_version": official.version if official else None,
                    "state": state, "due": due.isoformat() if due else None, "late": bool(late),
                    "versions": [a.to_json() for a in trail.get(key, [])],  # how each arrived
                })
    return rows


def state_text(row: dict[str, Any]) -> str:
    """The state of one status row in words, e.g. 'accepted with warnings', 'rejected (v2)'."""
    if row["state"] == "rejected":
        return f"rejected (v{row['latest_version']})"
    return str(row["state"]).replace("_", " ")


@dataclass(frozen=True)
class Official:
    version: int
    status: str
    received_at: str
    original_name: str
    archive_path: str
    sha256: str


def status_label(s: dict[str, Any], official: Official | None, what: str) -> str:
    """The returns-status words shown for a provision (never colour alone)."""
    late = " (late)" if s["late"] else ""
    if official is not None:
        text = ("Accepted with warnings" if official.status == "accepted_with_warnings" else "Accepted") + \
            f" v{official.version}{late}"
        if (s["latest_version"] or 0) > official.version:
            text += f"; v{s['latest_version']} {str(s['latest_status']).replace('_', ' ')}"
        return text
    if s["state"] == "rejected":
        return f"REJECTED (v{s['latest_version']}) – no accepted {what}{late}"
    if s["state"] == "not issued":
        return "NOT ISSUED"
    return f"MISSING{late}"


@dataclass
class ProvisionLine:
    """One provision's return for a period in a consolidation: its status row and, once one
    is accepted, the official version (quarterly ``consolidation.Line`` and
    ``annual_overview.AnnualLine`` add what they read from it)."""

    provision: roster_mod.Provision
    status: dict[str, Any]  # the status_rows row
    official: Official | None = field(default=None, kw_only=True)
    what: ClassVar[str] = "return"  # as the status words name it

    @property
    def partnership(self) -> str:
        return self.provision.partnership

    @property
    def state(self) -> str:
        """accepted | accepted_with_warnings | rejected | missing | not issued"""
        return str(self.status["state"])

    def has_data(self) -> bool:
        """Whether the official return's contents were read (so it counts as accepted)."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        return status_label(self.status, self.official if self.has_data() else None, self.what)


@dataclass
class YearlyLine(ProvisionLine):
    """A provision's return for a year (annual report, surplus decision): its status and, once one
    is accepted, the official version's values (inputs and formula fields)."""

    values: dict[str, Any] | None = None

    def has_data(self) -> bool:
        return self.values is not None


Y = TypeVar("Y", bound=YearlyLine)


def yearly_lines(ledger: Ledger, spec: Spec, fy: FinancialYear, provisions: list[roster_mod.Provision],
                 status: list[dict[str, Any]], line: type[Y]) -> list[Y]:
    """One line per provision for a yearly return: its status row, and the official version's
    values recomputed from its stored inputs (cached results in a received file are never used)."""
    from pbp_workbooks.reports.figures import decode
    from pbp_workbooks.spec import calc

    by_partnership = {r["partnership"]: r for r in status}
    by_version = {(r.partnership, r.version): r for r in received_for(ledger, spec.kind, str(fy), None)}
    out = []
    for prov in provisions:
        row = by_partnership.get(prov.partnership) or {
            "state": "not issued", "late": False, "latest_version": None, "latest_status": None,
            "official_version": None}
        ln = line(prov, row)
        rec = by_version.get((prov.partnership, row["official_version"]))
        if row["official_version"] and rec is not None and rec.values_json:
            ln.official = Official(rec.version or 0, rec.status, rec.received_at, rec.original_name,
                                   rec.archive_path, rec.sha256)
            ln.values = calc.compute(spec, decode(spec, rec.values_json))
        out.append(ln)
    return out
