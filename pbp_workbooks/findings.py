"""Findings are data: one object renders to the CLI, JSON, feedback workbooks and the catalogue.

Codes that are not in the rule files live here, with their message templates:
``T-`` template and identity rules (any return type) and the field rules that every
spec gets, written once with the spec's code prefix (``Q-E101``, ``A-E101`` ...).
File-level codes (``F-``) live with the safe reader (xlsx_safe.FILE_PROBLEMS).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import Field, Spec

# code -> (severity, title, message template)
TEMPLATE_RULES: dict[str, tuple[str, str, str]] = {
    "T-E001": ("error", "Not a PBP return template",
               "This workbook is not a return template issued by the LA ({detail}). Fill in the template you were "
               "sent and send that file back."),
    "T-E002": ("error", "Unsupported template version",
               "This return was made from version {detail} of the template, which the LA no longer accepts. "
               "Ask the LA for the current template and copy your figures into it."),
    "T-E003": ("error", "Not issued by the LA",
               "This workbook's issue token is not in the LA's records, so it was not issued for this period. "
               "Use the workbook the LA sent you for this period."),
    "T-E004": ("error", "Identity changed",
               "{detail} The LA issued this workbook to {issued}. Use the workbook issued to your provision and do "
               "not change the details."),
    "T-E005": ("error", "Locked layout altered",
               "The locked part of the {sheet} sheet was changed at {cell} ({detail}). Copy your figures into a fresh "
               "copy of the template: do not unprotect the sheets, insert rows or edit formulas."),
    "T-E006": ("error", "Input cell missing",
               "The cell for '{label}' (defined name {name}) is missing or broken. Copy your figures into a fresh "
               "copy of the template."),
    "T-E008": ("error", "Workbook replaced by a newer one",
               "The LA issued a new workbook for {issued} on {detail}, which replaces this one. Copy your figures "
               "into the new workbook (or into the feedback workbook, which is the new one with your figures) and "
               "send that back."),
    "T-W007": ("warning", "Sheet protection removed",
               "The {sheet} sheet is no longer protected. The LA checked its locked cells, but please do not remove "
               "the protection."),
}

# suffix -> (severity, title, message template); the code is <prefix>-<suffix>
FIELD_RULES: dict[str, tuple[str, str, str]] = {
    "E101": ("error", "Required field blank", "{label} is blank. Fill it in{hint}."),
    "E102": ("error", "Not a number or date", "{label}: '{value}' is not {what}. {how}"),
    "E103": ("error", "Out of range", "{label}: {value} is outside the allowed range ({range})."),
    "E104": ("error", "Entered in a later quarter",
             "{label}: figures for quarters after this one must be left blank; move {value} to the right quarter."),
    "E105": ("error", "Text too long", "{label} is {value} characters long; keep it to {max} or fewer."),
    "E106": ("error", "Not one of the choices", "{label}: '{value}' is not one of the choices ({choices}). "
             "Choose from the drop-down list."),
    "E107": ("error", "Date out of range", "{label}: {value} is not between {start} and {end}."),
    "E108": ("error", "Invalid email address", "{label}: '{value}' is not a valid email address."),
    "E110": ("error", "Formula in an input cell",
             "{label}: the cell holds a formula ({value}); type the value, not a formula."),
    "E111": ("error", "Fractions of a penny",
             "{label}: {value} has fractions of a penny. Enter pounds and pence, with no more than two decimal "
             "places (for example {read})."),
    "W112": ("warning", "Dated before the period ends",
             "{label}: {value} is before the end of the period the return covers ({end}). A return is prepared "
             "and signed once its period is over: check the date."),
    "E113": ("error", "Dated in the future",
             "{label}: {value} is more than {days} days after the day the LA checked the return ({today}). "
             "Enter the date it actually happened."),
    "W109": ("warning", "Number typed as text",
             "{label}: the cell holds the text '{value}', read as {read}. Type numbers without £ signs or commas."),
}


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
    severity, _title, template = TEMPLATE_RULES[code]
    return Finding(code, severity, template.format(sheet=sheet, cell=cell, name=name, **fmt), sheet, cell, name, value)


def field_finding(spec: Spec, suffix: str, f: Field, value: Any, year: str, quarter: int | None = None) -> Finding:
    """A field-rule finding (``<prefix>-<suffix>``) with its message. Here, not with the pandera
    schema, so checks that run in worker processes (E104) need neither pandas nor pandera."""
    from .calc import format_value
    from .money import format_gbp
    from .periods import FUTURE_DAYS, FinancialYear, today

    severity, _title, template = FIELD_RULES[suffix]
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
    return Finding(f"{spec.code_prefix}-{suffix}", severity, template.format(**fmt), f.sheet, f.cell, f.name, raw)
