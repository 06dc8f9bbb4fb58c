"""Who a return is issued to, from the roster: each provision (its host school fills the
return in), or each member school of every partnership when the spec says
``issued_to = "member school"`` (the SLA review, toolkit Appendix 1).

A ``Recipient`` is one workbook of a period: ``generate`` issues one each, ``status`` has a
row each, and the ledger keeps each one's versions apart by ``subject`` (the member
school's URN; '' for a provision). The identity written into the workbook names the
school it is for in ``host_school`` and ``urn``: the host school for a provision's return,
the member school for a per-school one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pbp_workbooks.base.roster import Provision, Roster
from pbp_workbooks.spec.model import Spec


@dataclass(frozen=True)
class Recipient:
    provision: Provision
    school: str  # the school that fills the workbook in
    urn: str
    subject: str = ""  # the member school's URN for a per-school return, else ''

    @property
    def partnership(self) -> str:
        return self.provision.partnership

    @property
    def key(self) -> tuple[str, str]:
        """How the ledger tells its workbooks apart within a period (partnership in any case, subject)."""
        return self.partnership.casefold(), self.subject

    @property
    def label(self) -> str:
        """'North', or 'North - Ashdown North Primary' for a member school."""
        return f"{self.partnership} - {self.school}" if self.subject else self.partnership

    def sources(self) -> dict[str, Any]:
        """The spec sources naming the school the workbook is for."""
        return {"roster.school": self.school, "roster.school_urn": self.urn}


def recipients(spec: Spec, roster: Roster) -> list[Recipient]:
    """In roster order: provisions as on the Provisions sheet; member schools grouped by
    partnership in that order, then as on the Member schools sheet."""
    if not spec.per_school:
        return [Recipient(p, p.host_school, p.urn) for p in roster.provisions]
    out: list[Recipient] = []
    for p in roster.provisions:
        for m in roster.members:
            if str(m["partnership"]).casefold() == p.partnership.casefold():
                out.append(Recipient(p, str(m["school"]), str(m["urn"]), str(m["urn"])))
    return out


def key_of(partnership: str | None, subject: str | None) -> tuple[str, str]:
    """A ledger row's ``Recipient.key``."""
    return (partnership or "").casefold(), subject or ""


def whose(identity: dict[str, Any]) -> str:
    """Whose return a file is, for people: the partnership, and the school for a return
    issued to each member school ('North - Ashdown North Primary')."""
    from pbp_workbooks.spec.model import available, load

    kind = identity.get("kind")
    if kind in available() and load(str(kind)).per_school and identity.get("host_school"):
        return f"{identity.get('partnership')} - {identity['host_school']}"
    return str(identity.get("partnership"))
