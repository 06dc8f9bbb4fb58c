"""pbp.toml: the LA workspace's settings, with safe defaults for everything."""

from __future__ import annotations

import difflib
import secrets
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base.errors import ConfigError


@dataclass(frozen=True)
class Thresholds:
    variance_commentary_pct: Decimal = Decimal(10)
    variance_commentary_min: Decimal = Decimal(1000)
    surplus_plan_pct: Decimal = Decimal(5)
    large_item: Decimal = Decimal(30000)

    def params(self) -> dict[str, Decimal]:
        """The names rule conditions may use."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Limits:
    max_file_mb: int = 20
    max_inflated_mb: int = 100
    max_cells: int = 200_000
    max_sheets: int = 50
    max_message_mb: int = 30  # an email (.eml, .msg) carrying returns: base64 makes it a third larger


@dataclass(frozen=True)
class Config:
    la_name: str = "Sample Borough Council"
    finance_contact: str = "schools.finance@example.gov.uk"
    # who receives the annual reports (toolkit Appendix 3): their workbooks name them, and reply and
    # reminder drafts about them come from here
    inclusion_head: str = "Head of Inclusion Services"
    inclusion_head_email: str = "inclusion.services@example.gov.uk"
    # a partnership's SLA review is due when its last review (or, never reviewed, the SLA's start) is
    # this many months ago or more (toolkit section 2: "reviewed on a regular basis")
    sla_review_months: int = 12
    password: str = "pbp"
    thresholds: Thresholds = field(default_factory=Thresholds)
    limits: Limits = field(default_factory=Limits)
    outbox: str = "outbox"
    feedback: str = "feedback"
    reports: str = "reports"
    replies: str = "replies"

    def return_contact(self, kind: str) -> str:
        """Who a return of this kind is sent to, as its workbook says after the spec's
        ``return_to``: annual reports go to the Head of Inclusion Services (toolkit
        Appendix 3), quarterly returns to the schools' finance team (Appendix 5)."""
        if kind == "annual":
            return f"{self.inclusion_head}, {self.inclusion_head_email}"
        return self.finance_contact


def default_text(password: str | None = None) -> str:
    pw = password or secrets.token_urlsafe(9)
    return f'''# pbp-workbooks settings for this local authority's workspace.

[la]
name = "Sample Borough Council"
# Where host schools send their quarterly returns; printed on every quarterly workbook.
finance_contact = "schools.finance@example.gov.uk"
# The Head of Inclusion Services receives the annual reports: the annual workbook says to
# send it to this name and address, and reply and reminder drafts about one come from here.
inclusion_head = "Dr Alex Morgan"
inclusion_head_email = "inclusion.services@example.gov.uk"
# A partnership's SLA review is due (pbp status) this many months after its last review,
# or after the SLA started if it was never reviewed (roster.xlsx, sheet Provisions).
sla_review_months = 12

[thresholds]
# A category's variance needs a commentary when it is more than this % of its budget
# and more than variance_commentary_min pounds.
variance_commentary_pct = 10
variance_commentary_min = 1000
# A forecast surplus above this % of the DSG allocation needs a planned use (toolkit s.4).
surplus_plan_pct = 5
# Single items of spend at or above this many pounds need two signatures (toolkit s.5).
large_item = 30000

[protection]
# Sheet and workbook-structure password of every generated workbook. It stops
# accidental edits of the locked layout; it is not a secret from a determined user.
password = "{pw}"

[folders]
# Relative to this folder.
outbox = "outbox"        # generated workbooks to send out
feedback = "feedback"    # feedback workbooks for returns with problems
reports = "reports"      # consolidated and summary workbooks
replies = "replies"      # reply and reminder e-mail drafts (.eml) to open and send

[limits]
# Received files over these limits are refused without being opened.
max_file_mb = 20
max_inflated_mb = 100
max_cells = 200000
max_sheets = 50
# An e-mail (.eml, Outlook .msg) bigger than this is archived but not opened.
max_message_mb = 30
'''


def _num(section: dict[str, Any], key: str, default: Decimal, where: str) -> Decimal:
    v = section.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float | Decimal):
        raise ConfigError(f"[{where}] {key} must be a number, not {v!r}")
    d = Decimal(str(v))
    if d < 0:
        raise ConfigError(f"[{where}] {key} cannot be negative")
    return d


def _int(section: dict[str, Any], key: str, default: int, where: str) -> int:
    v = section.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ConfigError(f"[{where}] {key} must be a whole number above 0, not {v!r}")
    return v


def _str(section: dict[str, Any], key: str, default: str, where: str) -> str:
    v = section.get(key, default)
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"[{where}] {key} must be some text")
    return v


# Every setting pbp.toml may hold, by section: anything else is a mistake (a misspelt key
# would otherwise be ignored and its default used without a word).
KNOWN: dict[str, tuple[str, ...]] = {
    "la": ("name", "finance_contact", "inclusion_head", "inclusion_head_email", "sla_review_months"),
    "thresholds": tuple(Thresholds.__dataclass_fields__),
    "protection": ("password",),
    "folders": ("outbox", "feedback", "reports", "replies"),
    "limits": tuple(Limits.__dataclass_fields__),
}


def _nearest(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else f"the settings there are {', '.join(known)}"


def _check_names(data: dict[str, Any]) -> None:
    for name, sec in data.items():
        if name not in KNOWN:
            close = difflib.get_close_matches(name, tuple(KNOWN), n=1, cutoff=0.6)
            hint = f"did you mean [{close[0]}]?" if close else f"the sections are {', '.join(f'[{k}]' for k in KNOWN)}"
            raise ConfigError(f"[{name}] is not a known section; {hint}")
        if not isinstance(sec, dict):
            raise ConfigError(f"[{name}] must be a table")
        for key in sec:
            if key not in KNOWN[name]:
                raise ConfigError(f"[{name}] {key} is not a known setting; {_nearest(key, KNOWN[name])}")


def load(path: Path) -> Config:
    """The settings, or a ConfigError whose one line starts with the file's path."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing: run 'pbp init' to create a workspace") from None
    except OSError as err:
        raise ConfigError(f"{path} cannot be read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid TOML: it is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from None
    try:
        return _settings(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _settings(data: dict[str, Any]) -> Config:
    _check_names(data)
    la, th, pr, fo, li = (data.get(k, {}) for k in KNOWN)
    d = Thresholds()
    password = _str(pr, "password", "", "protection")
    if len(password) > 255:
        raise ConfigError("[protection] password is too long (255 characters at most)")
    return Config(
        la_name=_str(la, "name", Config.la_name, "la"),
        finance_contact=_str(la, "finance_contact", Config.finance_contact, "la"),
        inclusion_head=_str(la, "inclusion_head", Config.inclusion_head, "la"),
        inclusion_head_email=_str(la, "inclusion_head_email", Config.inclusion_head_email, "la"),
        sla_review_months=_int(la, "sla_review_months", Config.sla_review_months, "la"),
        password=password,
        thresholds=Thresholds(
            variance_commentary_pct=_num(th, "variance_commentary_pct", d.variance_commentary_pct, "thresholds"),
            variance_commentary_min=_num(th, "variance_commentary_min", d.variance_commentary_min, "thresholds"),
            surplus_plan_pct=_num(th, "surplus_plan_pct", d.surplus_plan_pct, "thresholds"),
            large_item=_num(th, "large_item", d.large_item, "thresholds"),
        ),
        limits=Limits(
            max_file_mb=_int(li, "max_file_mb", Limits.max_file_mb, "limits"),
            max_inflated_mb=_int(li, "max_inflated_mb", Limits.max_inflated_mb, "limits"),
            max_cells=_int(li, "max_cells", Limits.max_cells, "limits"),
            max_sheets=_int(li, "max_sheets", Limits.max_sheets, "limits"),
            max_message_mb=_int(li, "max_message_mb", Limits.max_message_mb, "limits"),
        ),
        outbox=_str(fo, "outbox", Config.outbox, "folders"),
        feedback=_str(fo, "feedback", Config.feedback, "folders"),
        reports=_str(fo, "reports", Config.reports, "folders"),
        replies=_str(fo, "replies", Config.replies, "folders"),
    )
