"""Findings are data: one object renders to the CLI, JSON, feedback workbooks and the catalogue.

Every code, its severity and its message template are declared in the rule registry
(``registry``, from ``validators/*.toml``); ``template_finding`` and ``field_finding`` fill
them in for the template rules (``T-``) and the field rules every spec gets (``Q-E101`` ...).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pbp_workbooks.spec import registry

if TYPE_CHECKING:
    from pbp_workbooks.spec.model import Field, Spec


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # error | warning
    message: str
    sheet: str | None = None
    cell: str | None = None
    name: str | None = None
    value: Any = None
    # the other inputs that caused it (a rule on several cells: the ones blank or wrong besides
    # ``name``), marked on the feedback workbook too; the message names them
    also: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        v = d["value"]
        d["value"] = None if v is None else (v if isinstance(v, int | float | bool) and not isinstance(v, bool)
                                             else str(v))
        return {k: d[k] for k in ("code", "severity", "sheet", "cell", "name", "value", "message")}

    def one_line(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.sheet and self.cell else (self.sheet or "file")
        return f"{self.code} {self.severity:7} {where:14} {self.message}"


@dataclass
class FileReport:
    """The outcome for one received file (DESIGN §9 JSON)."""

    file: str
    status: str = "accepted"  # accepted | accepted_with_warnings | rejected | unreadable
    identity: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def settle(self) -> FileReport:
        """Fix the status from the findings, and put the findings in reading order (file and
        template problems first, then top to bottom, left to right), the same every run."""
        self.findings.sort(key=_reading_order)
        if self.status == "unreadable":
            return self
        if any(f.severity == "error" for f in self.findings):
            self.status = "rejected"
        elif self.findings:
            self.status = "accepted_with_warnings"
        else:
            self.status = "accepted"
        return self

    @property
    def ok(self) -> bool:
        return self.status in ("accepted", "accepted_with_warnings")

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "status": self.status, "return": self.identity,
                "findings": [f.to_json() for f in self.findings], **self.extra}


def _reading_order(f: Finding) -> tuple[int, str, int, int, str]:
    m = re.match(r"^([A-Z]+)(\d+)$", f.cell or "")
    if m is None:
        return (0, f.sheet or "", 0, 0, f.code)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return (1, f.sheet or "", int(m.group(2)), col, f.code)


def template_finding(code: str, *, sheet: str | None = None, cell: str | None = None, name: str | None = None,
                     value: Any = None, **fmt: Any) -> Finding:
    declared = registry.rule(code)
    severity, template = declared.severity, declared.message
    return Finding(code, severity, template.format(sheet=sheet, cell=cell, name=name, **fmt), sheet, cell, name, value)


def field_finding(spec: Spec, suffix: str, f: Field, value: Any, year: str, quarter: int | None = None) -> Finding:
    """A field-rule finding (``<prefix>-<suffix>``) with its message. Here, not with the pandera
    schema, so checks that run in worker processes (E104) need neither pandas nor pandera."""
    from pbp_workbooks.base.money import format_gbp
    from pbp_workbooks.base.periods import FUTURE_DAYS, FinancialYear, today
    from pbp_workbooks.spec.calc import format_value

    declared = registry.field_rule(spec, suffix)
    severity, template = declared.severity, declared.message
    fmt: dict[str, Any] = {"label": f.label, "value": format_value(f, value)}
    if suffix == "E101":
        fmt["hint"] = " (enter 0 where there is none)" if f.type in ("money", "signed_money", "integer") else ""
    elif suffix == "E103":
        if f.type in ("money", "signed_money"):
            fmt["range"] = f"{format_gbp(f.min)} to {format_gbp(f.max)}"
        else:
            fmt["range"] = f"{f.min} to {f.max}"
    elif suffix == "E105":
        fmt.update(value=len(str(value)), max=f.max_length)
    elif suffix == "E106":
        fmt["choices"] = ", ".join(f.choices or ())
    elif suffix == "E107":
        lo, hi = FinancialYear.parse(year).window(f.window or "year", quarter)
        fmt.update(start=f"{lo:%d/%m/%Y}", end=f"{hi:%d/%m/%Y}")
    elif suffix == "W112":
        fmt["end"] = f"{FinancialYear.parse(year).period(quarter)[1]:%d/%m/%Y}"
    elif suffix == "E113":
        fmt.update(days=FUTURE_DAYS, today=f"{today():%d/%m/%Y}")
    raw = value
    if isinstance(raw, Decimal):
        raw = str(raw)
    elif isinstance(raw, date):
        raw = raw.isoformat()
    return Finding(declared.code, severity, template.format(**fmt), f.sheet, f.cell, f.name, raw)
