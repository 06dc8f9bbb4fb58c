"""The SLA review (toolkit section 2 and Appendix 1): when each partnership's review is due,
and the year's reviews from the member schools, consolidated.

**Due.** The roster's Provisions sheet records each partnership's SLA start date and the
date it was last reviewed. A review is *due* once ``[la] sla_review_months`` (pbp.toml,
default 12) have passed since the last review or, for an SLA never reviewed, since it
started; with neither date on the roster it is shown as *not recorded* (and counted as
due: nobody can say it was reviewed). ``pbp status`` lists them; the consolidated
workbook's SLA review sheet shows every partnership's dates.

**The reviews.** The return issued to each member school (``workbook_templates/sla-review.toml``)
is consolidated from each school's official (latest accepted) version. The questions are
the spec's inputs outside its first (details) section, in the spec's order: each choice
field is a *statement* whose answers are counted per partnership; every answer given
(statements and free text) is a row of the tidy CSV. A school with no accepted review is
listed as not replied, never counted as an answer.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.roster import Provision
from pbp_workbooks.ledger.store import Ledger, received_for
from pbp_workbooks.reports.figures import decode
from pbp_workbooks.reports.status import Official
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import Spec

KIND = "sla-review"


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later (the month's last day where it has no such day)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ReviewDue:
    """When a partnership's SLA review is next due, from the roster's dates."""

    partnership: str
    sla_start: date | None
    last_reviewed: date | None
    next_due: date | None  # None: the roster has neither date
    due: bool

    @property
    def state(self) -> str:
        if self.next_due is None:
            return "not recorded"
        return "due" if self.due else "not due"

    def text(self) -> str:
        """In words, e.g. 'due since 20/06/2025 (last reviewed 20/06/2024)'."""
        if self.next_due is None:
            return "not recorded: the roster has no SLA start date or last review date (sheet Provisions)"
        since = (f"last reviewed {self.last_reviewed:%d/%m/%Y}" if self.last_reviewed else
                 f"never reviewed; the SLA started {self.sla_start:%d/%m/%Y}")
        return f"{'due since' if self.due else 'next due'} {self.next_due:%d/%m/%Y} ({since})"


def review_due(p: Provision, today: date, months: int) -> ReviewDue:
    since = p.sla_reviewed or p.sla_start
    if since is None:
        return ReviewDue(p.partnership, p.sla_start, p.sla_reviewed, None, True)
    next_due = add_months(since, months)
    return ReviewDue(p.partnership, p.sla_start, p.sla_reviewed, next_due, today >= next_due)


def reviews_due(provisions: list[Provision], today: date, months: int) -> list[ReviewDue]:
    return [review_due(p, today, months) for p in provisions]


# ----------------------------------------------------------------------- the year's reviews


@dataclass(frozen=True)
class Question:
    name: str  # the spec field
    text: str  # as the workbook asks it
    choices: tuple[str, ...] | None  # a statement's answers; None for free text


def questions(spec: Spec) -> list[Question]:
    """The spec's inputs outside its first section, in order. A grid with one column is
    asked by its row label (the statement); any other field by its label."""
    first = spec.sections[0].key
    out: list[Question] = []
    for f in spec.inputs():
        if f.section == first:
            continue
        section = next(s for s in spec.sections if s.key == f.section)
        text = f.label
        if f.grid_row is not None and len(section.col_keys) == 1:
            text = section.row_labels[section.row_keys.index(f.grid_row)]
        out.append(Question(f.name, text, f.choices if f.type == "choice" else None))
    return out


@dataclass
class SchoolReview:
    """One member school's review for the year: its status row and, once accepted, its answers."""

    partnership: str
    school: str
    urn: str
    status: dict[str, Any]
    official: Official | None = None
    values: dict[str, Any] | None = None

    @property
    def replied(self) -> bool:
        return self.values is not None

    @property
    def state(self) -> str:
        """accepted | accepted with warnings | rejected (vN) | missing | not issued"""
        s = self.status
        return f"rejected (v{s['latest_version']})" if s["state"] == "rejected" else str(s["state"]).replace("_", " ")


@dataclass
class SlaOverview:
    year: FinancialYear
    spec: Spec
    partnerships: list[str]  # roster order
    schools: list[SchoolReview]
    dues: list[ReviewDue] = field(default_factory=list)

    @property
    def questions(self) -> list[Question]:
        return questions(self.spec)

    @property
    def statements(self) -> list[Question]:
        return [q for q in self.questions if q.choices is not None]

    def of(self, partnership: str) -> list[SchoolReview]:
        return [s for s in self.schools if s.partnership == partnership]

    def counts(self, partnership: str | None, question: Question) -> dict[str, int]:
        """How many schools (of one partnership, or all: None) gave each answer, in the answers' order."""
        got = Counter(s.values.get(question.name) for s in self.schools
                      if s.values is not None and (partnership is None or s.partnership == partnership))
        return {choice: got.get(choice, 0) for choice in question.choices or ()}

    def not_replied(self, partnership: str | None = None) -> list[SchoolReview]:
        return [s for s in self.schools if not s.replied and (partnership is None or s.partnership == partnership)]

    def answer_rows(self) -> list[dict[str, Any]]:
        """Every answer given, one row each (the tidy CSV): partnership, school, URN, question, answer."""
        out = []
        for s in self.schools:
            if s.values is None:
                continue
            for q in self.questions:
                v = s.values.get(q.name)
                if v is None or (isinstance(v, str) and not v.strip()):
                    continue
                out.append({"year": str(self.year), "partnership": s.partnership, "school": s.school, "urn": s.urn,
                            "question_key": q.name, "question": q.text, "answer": str(v),
                            "version": s.official.version if s.official else None})
        return out


def load_sla(ledger: Ledger, fy: FinancialYear, status: list[dict[str, Any]], provisions: list[Provision],
             today: date, months: int) -> SlaOverview | None:
    """The year's SLA reviews (``status``: status_rows of the kind), or None when none was issued
    or received for the year."""
    if KIND not in spec_mod.available():
        return None
    rows = [r for r in status if r["kind"] == KIND]
    if not any(r["issued"] or r["received"] for r in rows):
        return None
    spec = spec_mod.load(KIND)
    by_version = {(r.partnership, r.subject, r.version): r for r in received_for(ledger, KIND, str(fy), None)}
    schools = []
    for row in rows:
        s = SchoolReview(row["partnership"], row["school"], row["urn"], row)
        rec = by_version.get((row["partnership"], row["urn"], row["official_version"]))
        if row["official_version"] and rec is not None and rec.values_json:
            s.official = Official(rec.version or 0, rec.status, rec.received_at, rec.original_name, rec.archive_path,
                                  rec.sha256)
            s.values = decode(spec, rec.values_json)
        schools.append(s)
    return SlaOverview(fy, spec, [p.partnership for p in provisions], schools, reviews_due(provisions, today, months))
