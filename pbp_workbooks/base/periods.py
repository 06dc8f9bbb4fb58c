"""The LA-maintained schools' financial calendar: 1 April - 31 March, written 2025-26."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta

from pbp_workbooks.base.errors import UsageError

_YEAR = re.compile(r"^(\d{4})-(\d{2})$")

QUARTER_MONTHS = {1: "April to June", 2: "July to September", 3: "October to December", 4: "January to March"}


@dataclass(frozen=True, order=True)
class FinancialYear:
    start_year: int

    @classmethod
    def parse(cls, text: str) -> FinancialYear:
        m = _YEAR.match(text.strip())
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            raise UsageError(f"'{text}' is not a financial year: write it like 2025-26")
        return cls(int(m.group(1)))

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        return cls(day.year if day.month >= 4 else day.year - 1)

    def __str__(self) -> str:
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def start(self) -> date:
        return date(self.start_year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.start_year + 1, 3, 31)

    @property
    def academic_year(self) -> tuple[str, date, date]:
        """The last academic year complete within this financial year: 2024-25, 1 September
        2024 to 31 July 2025 for 2025-26 (schools keep attendance and exclusions by it)."""
        y = self.start_year - 1
        return f"{y}-{(y + 1) % 100:02d}", date(y, 9, 1), date(y + 1, 7, 31)

    def describe(self) -> dict[str, str]:
        """The year's periods as the annual report names them ({financial_year}, {academic_year})."""
        name, first, last = self.academic_year
        return {"financial_year": f"the financial year {self} ({_day(self.start)} to {_day(self.end)})",
                "academic_year": f"the academic year {name} ({_day(first)} to {_day(last)})"}

    def previous(self) -> FinancialYear:
        return FinancialYear(self.start_year - 1)

    def quarter_end(self, quarter: int) -> date:
        return {1: date(self.start_year, 6, 30), 2: date(self.start_year, 9, 30),
                3: date(self.start_year, 12, 31), 4: date(self.start_year + 1, 3, 31)}[quarter]

    def quarter_start(self, quarter: int) -> date:
        return {1: date(self.start_year, 4, 1), 2: date(self.start_year, 7, 1),
                3: date(self.start_year, 10, 1), 4: date(self.start_year + 1, 1, 1)}[quarter]

    def period(self, quarter: int | None) -> tuple[date, date]:
        """The first and last day a return covers: its quarter, or the whole year."""
        if quarter is None:
            return self.start, self.end
        return self.quarter_start(quarter), self.quarter_end(quarter)

    def window(self, name: str, quarter: int | None = None) -> tuple[date, date]:
        """Date windows a field can be constrained to (an earlier date is an error).

        ``year``: inside the financial year. ``return``: from the start of the year to
        six months after it ends (a Q4 return is prepared and signed after 31 March).
        ``period``: a date the return itself is prepared, signed or approved on: not before
        its period (the quarter, or the year) starts, and no later than ``return`` allows.
        A ``period`` date before the period ends is a warning, and one more than a week
        after the day of validation an error (validation.period_date_findings).
        """
        if name == "year":
            return self.start, self.end
        if name == "return":
            return self.start, self.end + timedelta(days=183)
        if name == "period":
            return self.period(quarter)[0], self.end + timedelta(days=183)
        if name == "any":
            return date(2000, 1, 1), date(2099, 12, 31)
        raise ValueError(f"unknown date window {name!r}")


FUTURE_DAYS = 7  # a return's own dates may be this many days after the day it is checked, no more


def today() -> date:
    """The day of validation: PBP_TODAY (YYYY-MM-DD) where set, so a test or a rerun of an
    old batch can fix it; else the computer's date."""
    fixed = os.environ.get("PBP_TODAY", "").strip()
    if fixed:
        try:
            return date.fromisoformat(fixed)
        except ValueError:
            raise UsageError(f"PBP_TODAY='{fixed}' is not a date: write it like 2026-01-31") from None
    return date.today()


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def fill_period(text: str, fy: FinancialYear) -> str:
    """A text with the year's periods in it: "{financial_year}" becomes "the financial year
    2025-26 (1 April 2025 to 31 March 2026)"; other braces are left as they are."""
    for key, value in fy.describe().items():
        text = text.replace("{" + key + "}", value)
    return text


def parse_quarter(text: str | int) -> int:
    try:
        q = int(str(text).strip().upper().lstrip("Q"))
    except ValueError:
        q = 0
    if q not in (1, 2, 3, 4):
        raise UsageError(f"'{text}' is not a quarter: use 1, 2, 3 or 4")
    return q


def period_folder(year: str, quarter: int | None, label: str = "Annual") -> str:
    """The name of a period's folder under outbox/, feedback/ and replies/: '2025-26 Q2', '2025-26 Annual'
    ('2025-26 SLA review' for a yearly return whose spec names its period so: ``Spec.period_label``)."""
    return f"{year} {f'Q{quarter}' if quarter else label}"
