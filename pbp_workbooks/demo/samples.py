"""Realistic filled-in values for a return, for the demo, the docs and the tests.

Values are driven by the spec (every open input gets a plausible value of its type)
and then made consistent with the rules, so a sample is clean unless a problem is
asked for. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pbp_workbooks.base.money import round_pence
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.spec import calc, rules
from pbp_workbooks.spec.model import Spec

# Share of the budget per expenditure row (percent); rows not listed get 1%.
BUDGET_SHARE = {
    "teaching_staff": 38, "support_staff": 30, "supply_agency": 3, "training_cpd": 3,
    "curriculum_resources": 3, "visits_visitors": 1.5, "therapeutic_services": 6, "outreach": 5,
    "premises_equipment": 2, "transport": 1.5, "management_overhead": 5, "other": 2,
}
PEOPLE = ["Sam Patel", "Alex Morgan", "Jo Okafor", "Chris Walsh", "Priya Shah", "Dan Evans", "Kim Lewis"]
COMMENTARY = [
    "Vacancy filled later than planned; saving expected to continue.",
    "Additional 1:1 support for two pupils with high SEMH need.",
    "Training booked for the spring term instead of the autumn.",
    "Therapist sessions increased after a review of pupil needs.",
]


def _pounds(x: float) -> Decimal:
    return round_pence(Decimal(str(round(x, 2))))


def filled_values(spec: Spec, fy: FinancialYear, quarter: int, prefilled: dict[str, Any], *,
                  seed: int, params: dict[str, Any]) -> dict[str, Any]:
    """A clean, plausible quarterly return: passes every rule with these params."""
    rng = random.Random(seed)
    allocation = prefilled.get("dsg_allocation") or Decimal("400000")
    v: dict[str, Any] = dict(prefilled)
    person = rng.choice(PEOPLE)
    v.update(
        prepared_by=person, role="School Business Manager",
        email=person.lower().replace(" ", ".") + "@school.example.sch.uk",
        date_prepared=min(fy.quarter_end(quarter) + timedelta(days=12), fy.window("return")[1]),
        balance_bf=_pounds(float(allocation) * rng.uniform(0.01, 0.06)),
        other_income=Decimal("0.00"),
        placements_outside_ks=0, placements_at_end=0,
        headteacher_name=rng.choice(PEOPLE), signoff_date=fy.quarter_end(quarter) + timedelta(days=20),
        declaration="Yes", overhead_agreed="Yes", overhead_agreed_date=date(fy.start_year, 4, 20),
    )
    exp = next(s for s in spec.sections if s.key == "exp")
    for row in exp.row_keys:
        budget = _pounds(float(allocation) * BUDGET_SHARE.get(row, 1) / 100)
        v[f"exp_{row}_budget"] = budget
        for q in range(1, 5):
            name = f"exp_{row}_q{q}"
            if spec[name].is_open(quarter):
                v[name] = _pounds(float(budget) / 4 * rng.uniform(0.9, 1.08))
        v[f"exp_{row}_forecast"] = _pounds(float(budget) / 4 * (4 - quarter) * rng.uniform(0.95, 1.03))
    v["other_description"] = "Pupil voice survey and family learning sessions."
    values = calc.compute(spec, v)
    # A £30k+ item inside the biggest category, signed by both parties.
    teaching_to_date = values["exp_teaching_staff_to_date"]
    if teaching_to_date >= Decimal(30000):
        first, second = rng.choice(PEOPLE), rng.choice(PEOPLE)
        if second == first:  # two signatures are two different people (Q-E214)
            second = PEOPLE[(PEOPLE.index(first) + 1) % len(PEOPLE)]
        v.update(items_1_date=fy.start + timedelta(days=40), items_1_description="Behaviour specialist teacher (fixed term)",
                 items_1_supplier="Northway Education Staffing Ltd", items_1_category=exp.row_labels[0],
                 items_1_amount=_pounds(float(min(teaching_to_date, Decimal(36000))) * 0.99),
                 items_1_partnership_signatory=first, items_1_partnership_signed=fy.start + timedelta(days=35),
                 items_1_host_signatory=second, items_1_host_signed=fy.start + timedelta(days=36))
    return make_clean(spec, v, params, rng)


def make_clean(spec: Spec, v: dict[str, Any], params: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Fill in what the rules ask for: commentaries, surplus plan, recovery plan."""
    values = calc.compute(spec, v)
    for rule in rules.expand(spec):
        if rule.code.endswith("201") and calc.failing(calc.Check("", rule.when, rule.cells, rule.code), values, params):
            v[rule.cells[0]] = rng.choice(COMMENTARY)
    values = calc.compute(spec, v)
    balance = values["forecast_balance"]
    if balance > 0:
        cpd = round_pence(balance * Decimal("0.4"))
        future = round_pence(balance * Decimal("0.3"))
        v.update(surplus_cpd=cpd, surplus_future=future, surplus_contingency=balance - cpd - future,
                 surplus_approach="Strategic plan")
    elif balance < 0:
        v["recovery_plan"] = "Supply cover reduced from January; outreach sessions re-phased into next year."
    return v
