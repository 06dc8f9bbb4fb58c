"""Realistic answers to the SLA review (toolkit Appendix 1), for the demo, the docs and the
tests: what one member school might write. Driven by the spec: every statement (a choice
field outside the details section) gets one of its answers, every free-text question a
plausible sentence, and a school that disagrees says how it knows, so a sample is clean
unless a problem is asked for. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.demo.samples import PEOPLE
from pbp_workbooks.reports.sla import questions
from pbp_workbooks.spec.model import Spec

ROLES = ("Headteacher", "SENCo", "Deputy Headteacher", "Inclusion Lead")
# how often each answer is drawn, in the spec's order (Strongly agree ... Strongly disagree)
WEIGHTS = (30, 40, 15, 10, 5)
TEXTS: dict[str, tuple[str, ...]] = {
    "how_do_you_know": (
        "Our SENCo attends the termly partnership meeting and has visited the provision twice this year; the "
        "referral criteria in the SLA no longer match how places are offered in practice.",
        "From the reintegration meetings for our two pupils: the SLA promises outreach follow-up that did not "
        "happen this year because of staffing.",
    ),
    "strengths": (
        "Clear referral process and quick response from the provision's outreach staff.",
        "The SLA sets out roles well, and the termly reports to the partnership are useful.",
        "Good communication with home schools during and after a placement.",
    ),
    "changes": (
        "Add a section on transition to secondary school for Year 6 pupils.",
        "Say how outreach time is shared between the partnership's schools.",
        "",
    ),
    "additional_comments": ("", "Thank you to the provision's team for their work this year.", ""),
}


def filled_values(spec: Spec, fy: FinancialYear, *, seed: int, disagree: bool | None = None) -> dict[str, Any]:
    """One school's answers. ``disagree``: True makes one statement 'Disagree' (with 3a
    answered), False keeps every answer Neutral or better; None draws them."""
    rng = random.Random(seed)
    v: dict[str, Any] = {"completed_by": rng.choice(PEOPLE), "role": rng.choice(ROLES),
                         "date_completed": date(fy.start_year + 1, 2, 1 + rng.randrange(27))}
    statements = [q for q in questions(spec) if q.choices is not None]
    for q in statements:
        choices = list(q.choices or ())
        answer = rng.choices(choices, weights=WEIGHTS[:len(choices)])[0]
        if disagree is not None and choices.index(answer) > 2:
            answer = choices[rng.randrange(3)]
        v[q.name] = answer
    if disagree and statements:
        q = rng.choice(statements)
        v[q.name] = (q.choices or ())[3]
    for q in questions(spec):
        if q.choices is None:
            v[q.name] = rng.choice(TEXTS.get(q.name, ("",))) or None
    if any((v.get(q.name) in (q.choices or ())[3:]) for q in statements):
        v["how_do_you_know"] = rng.choice(TEXTS["how_do_you_know"])
    elif "how_do_you_know" in v and rng.random() < 0.5:
        v["how_do_you_know"] = None
    return {k: x for k, x in v.items() if x is not None}
