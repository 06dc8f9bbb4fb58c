"""What a spec's ``source`` names can be filled from, beyond one provision's roster row and
the period: the roster's member schools, row by row; the LA's claw-back threshold; the
year's closing balance from the LA's accepted returns. Used by ``generate`` (pre-filled,
locked cells) and by ``pbp surplus model``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.config import Thresholds
from pbp_workbooks.base.errors import ConfigError
from pbp_workbooks.base.money import round_pence
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec.model import Spec

MEMBER = "roster.member."  # roster.member.<n>.<column of the Member schools sheet>
LEDGER = "ledger."  # a value from the LA's accepted returns: without it the workbook waits
YEAR_END = ("ledger.year_end_balance", "ledger.year_end_source")  # the closing balance and where it comes from


def members_of(roster: roster_mod.Roster, partnership: str) -> list[dict[str, Any]]:
    """The partnership's member schools, in roster order."""
    return [m for m in roster.members if str(m["partnership"]).casefold() == partnership.casefold()]


def member_rows(spec: Spec) -> int:
    """How many member schools the spec has rows for (its highest ``roster.member.<n>``)."""
    rows = [int(f.source[len(MEMBER):].split(".")[0]) for f in spec.fields
            if f.source and f.source.startswith(MEMBER)]
    return max(rows, default=0)


def member_sources(spec: Spec, roster: roster_mod.Roster, partnership: str) -> dict[str, Any]:
    """``roster.member.<n>.<column>`` for each member school; ConfigError if the spec has
    fewer rows than the partnership has schools (none may be left out of a share)."""
    rows = member_rows(spec)
    if not rows:
        return {}
    members = members_of(roster, partnership)
    if len(members) > rows:
        raise ConfigError(f"roster.xlsx, sheet Member schools: {partnership} has {len(members)} member schools, "
                          f"but the {spec.short_title} has rows for {rows}")
    return {f"{MEMBER}{n}.{k}": v for n, m in enumerate(members, start=1) for k, v in m.items()}


def la_sources(thresholds: Thresholds, allocation: Decimal) -> dict[str, Any]:
    """The LA's claw-back threshold: surplus_plan_pct of the year's allocation (toolkit s.4)."""
    return {"la.clawback_threshold": round_pence(allocation * thresholds.surplus_plan_pct / 100)}


def ledger_sources(spec: Spec, ledger: Ledger, fy: FinancialYear, partnership: str) -> dict[str, Any]:
    """The year's closing balance and where it comes from, when the spec asks for it."""
    if not any(f.source in YEAR_END for f in spec.fields):
        return {}
    from pbp_workbooks.ledger.history import closing_balance

    closing = closing_balance(ledger, fy, partnership)
    if closing is None:
        return {}
    return dict(zip(YEAR_END, closing, strict=True))


def waiting_for(spec: Spec, sources: dict[str, Any]) -> str | None:
    """Why a workbook cannot be issued yet: the first locked cell whose ``ledger.`` source has
    no value (its label, and its help saying where it comes from), or None."""
    for f in spec.fields:
        if f.locked and f.source and f.source.startswith(LEDGER) and f.source not in sources:
            why = f" ({f.help[0].lower()}{f.help[1:].rstrip('.')})" if f.help else ""
            return f"no {f.label[0].lower()}{f.label[1:]} yet{why}"
    return None
