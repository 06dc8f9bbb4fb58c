"""Realistic filled-in values for an annual report (toolkit Appendix 3), for the demo, the
docs and the tests: the annual counterpart of ``samples.filled_values``.

The budget summary keeps whatever was pre-filled from the accepted Q4 return and makes
up the rest from the DSG allocation; pupil numbers are drawn once and every breakdown is
a partition of them; the narratives are plausible paragraphs of the kind a partnership
writes, with no pupil named. The result passes every field and cross-field rule with the
given thresholds (and the cross-return ones when ``placements`` matches the quarterly
returns). Deterministic for a given seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pbp_workbooks.base.money import round_pence
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.demo.samples import BUDGET_SHARE, PEOPLE, _pounds
from pbp_workbooks.spec import calc
from pbp_workbooks.spec.model import Spec

ROLES = ("School Business Manager", "Provision Lead", "Deputy Headteacher (Inclusion)")
CHAIRS = ("Helen Brooks", "Marcus Reid", "Aisha Rahman", "Tom Fletcher", "Grace Adeyemi")

NARRATIVES: dict[str, tuple[str, ...]] = {
    "overall_summary": (
        "{provision} supported {pupils} pupils from {schools} of the partnership's schools this year, through "
        "in-reach places, group work and outreach to classrooms. Attendance of supported pupils rose to "
        "{attendance}% and {reintegration}% of the pupils who left the provision returned full time to their home "
        "school. Recorded behaviour incidents fell over the year as the Zones of Regulation curriculum became "
        "established and outreach staff worked alongside class teachers before problems escalated. The budget "
        "was managed within the allocation and the partnership agreed how the year-end balance will be used. "
        "Next year the partnership will extend outreach to early years settings, review the referral panel's "
        "criteria with SENCos and strengthen the transition work with secondary schools for Year 6 pupils.",
        "This was a year of consolidation for {provision}. {pupils} pupils received support, most of them for a "
        "single term, and the provision worked with {schools} partnership schools. Staffing was stable after the "
        "autumn, pupils' attendance while at the provision averaged {attendance}%, and {reintegration}% of pupils "
        "who completed a placement returned successfully to their home school. Headteachers told us that the "
        "joint planning meetings with home schools made reintegration smoother. The main challenges were rising "
        "referrals in key stage 1 and the cost of therapeutic services; both are addressed in the plan for next "
        "year, which the partnership approved at its summer meeting.",
    ),
    "budget_commentary": (
        "Spending was close to budget overall. Support staff costs were slightly lower because a vacancy was "
        "filled in October; the saving paid for additional therapeutic sessions agreed by the partnership in "
        "January. Figures match the Q4 return accepted by the LA.",
        "The year ended close to budget. Supply costs were higher than planned in the spring term because of "
        "staff absence, offset by lower transport costs after routes were shared between schools. All figures "
        "agree with the Q4 return.",
    ),
    "staff_changes": (
        "The team is a teacher in charge, two higher level teaching assistants and three behaviour support "
        "assistants. One teaching assistant left in July and the post was filled in October; the gap was covered "
        "by an agency assistant known to the pupils, so that routines were not disrupted. Sickness absence was "
        "low apart from one long-term absence in the spring term, covered by redeploying an outreach assistant "
        "and reducing outreach sessions for six weeks. Staff wellbeing is reviewed termly with the host school's "
        "headteacher.",
        "Staffing was stable this year. A second teacher joined in September on a fixed-term contract funded from "
        "last year's surplus to lead outreach. Absence was mainly short-term sickness in the winter months and "
        "was covered internally. Supervision sessions for all staff were introduced in January.",
    ),
    "staff_training": (
        "All staff completed the host school's safeguarding update and Team Teach refresher training. Two "
        "assistants completed Emotion Coaching training, which is now used in every session and has reduced the "
        "time pupils need to settle after an incident. The teacher in charge completed the National Award for "
        "SEN Coordination modules on assessment, and shared the learning with partnership SENCos at the spring "
        "network meeting. Training was included in the host school's whole-school programme, as the toolkit "
        "expects.",
        "Training this year focused on trauma-informed practice (three days for all staff), the Zones of "
        "Regulation and safer recruitment for the teacher in charge. Staff report greater confidence in "
        "de-escalation, and incident records show fewer physical interventions than last year.",
    ),
    "curriculum": (
        "Pupils follow a personalised social, emotional and behavioural curriculum built on the Zones of "
        "Regulation and the Boxall Profile, alongside the academic curriculum planned with their home school. "
        "Mornings focus on English and mathematics in small groups; afternoons on social skills, emotional "
        "literacy and practical learning, including cooking, gardening and design and technology projects. "
        "Educational visits this year included the local library, a farm and the museum, and visitors included "
        "the school nurse and a local sports coach. Resources bought this year were sensory equipment, reading "
        "books matched to pupils' reading ages and materials for the nurture breakfast.",
        "The curriculum combines daily literacy and numeracy set by the home school with the provision's own "
        "programme for self-awareness, self-regulation, empathy and social skills, using PATHS and MindUP. "
        "Forest school sessions ran every week in the summer term. Visits and visitors were chosen to build "
        "confidence in new situations before pupils return to their home school.",
    ),
    "evaluation": (
        "Effectiveness is measured through termly Boxall Profile assessments, attendance and incident data, "
        "learning walks by the host school's senior leaders and reviews with home schools at the end of each "
        "placement. The partnership's data review in January showed that pupils placed for more than two terms "
        "made less progress than those on shorter placements, so placements now have a review point at six "
        "weeks and a planned return date agreed with the home school and parents.",
        "The provision is evaluated through pupil progress data, attendance, behaviour records and the views of "
        "pupils, parents and home schools. An external audit by a partnership headteacher in the spring term "
        "led to clearer exit criteria and a shorter referral form.",
    ),
    "quality_assurance": (
        "The service level agreement was reviewed in the autumn term using the toolkit's review template. The "
        "host school's finance audit found the provision's budget properly ring-fenced and reported to the "
        "governing body each term. Quarterly financial returns were sent to the LA on time and accepted. "
        "Learning walks and file checks found individual plans in place for every pupil.",
        "Quality assurance included the annual SLA review, a governors' visit, termly finance reports to the "
        "partnership and moderation of Boxall assessments with another provision. Actions from last year's "
        "review have all been completed.",
    ),
    "safeguarding": (
        "The host school's designated safeguarding lead oversees the provision and all concerns are recorded on "
        "CPOMS and shared with the pupil's home school on the same day. The annual safeguarding audit found "
        "policies up to date, the single central record complete and all staff trained in Keeping Children Safe "
        "in Education. Home schools' DSLs attend review meetings, and there were no concerns about practice "
        "raised by schools or parents this year.",
        "Safeguarding arrangements were audited by the LA's safeguarding in education adviser in the spring term "
        "with no actions. Concerns are logged on CPOMS and shared with home schools promptly; the provision "
        "took part in joint training with partnership DSLs.",
    ),
    "partnerships": (
        "The provision worked with the educational psychology service, CAMHS, the school nursing team, early "
        "help and a speech and language therapist commissioned for two days a month. Joint planning with CAMHS "
        "shortened waiting times for two pupils, and the therapist's advice is now built into every pupil's plan. "
        "Parents attended a termly coffee morning run with the family support worker.",
        "External partners this year were the educational psychology service, occupational therapy, early help "
        "and a local charity providing mentoring. Their input informed individual plans and helped families to "
        "access support at home.",
    ),
    "communication": (
        "The teacher in charge reports to the partnership's headteachers each half term and to the host "
        "school's governing body each term. Home schools receive a weekly update for each pupil and attend "
        "review meetings. Pupil and parent surveys in the summer term were very positive: parents valued the "
        "daily contact and pupils said the provision helped them to calm down and make friends. Staff at home "
        "schools asked for more outreach in the spring term, which has been planned for next year.",
        "Updates were shared through half-termly reports to the partnership, the SENCo network and newsletters "
        "to parents. Feedback from pupils, parents and home schools was gathered at the end of each placement "
        "and is summarised in the provision's self-evaluation.",
    ),
    "contingency": (
        "An unexpected rise in transport costs in the autumn, when two pupils needed taxis, was met from the "
        "contingency held from last year's surplus. A long-term staff absence was covered by redeploying "
        "outreach staff rather than agency cover, which kept the budget on track.",
        "Energy costs recharged by the host school rose during the year; the partnership agreed to meet them "
        "from the contingency reserve. No other unexpected costs arose and there were no changes in funding.",
    ),
    "future_proofing": (
        "The host school and partnership set a three-year budget that keeps a contingency of about 3% of the "
        "allocation. Any surplus will be used for CPD and outreach as agreed by the partnership. If funding "
        "decreased, the partnership would keep the in-reach places and reduce outreach first, and would review "
        "the overhead contribution with the host school.",
        "The partnership reviews the budget each spring with the host school's business manager. The planned "
        "use of the surplus protects staffing for next year. A scenario for a 5% cut in funding has been agreed: "
        "fewer group sessions and a shared therapist with a neighbouring partnership.",
    ),
}

KPI_COMMENTS = {
    "attendance": "Close to target; two pupils with long-term medical needs lowered the average.",
    "reintegration": "Most pupils returned full time to their home school within two terms.",
    "incidents": "Fewer incidents from the spring term as the new curriculum bedded in.",
    "self_esteem": "Average improvement of four points between entry and exit assessments.",
    "stay_weeks": "Six-week review points have shortened placements.",
    "exclusions": "No permanent exclusions of supported pupils.",
}

EHCP_EXPLANATION = ("One pupil with an EHCP attended for six weeks while the LA consulted on a specialist "
                    "placement. The SEND team, the home school and parents agreed this at a multi-agency meeting as "
                    "the only safe option in the interim; the home school's EHCP funding paid for the additional "
                    "support.")
PLACEMENT_DETAILS = ("A Year 2 pupil attended the key stage 2 provision for one term after a multidisciplinary meeting "
                     "agreed that no key stage 1 place was available and that staying in class was not safe. "
                     "The placement was reviewed every three weeks and the pupil returned to their home school.")


def _split(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """``total`` split into len(weights) whole numbers roughly in proportion; sums exactly."""
    raw = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(weights)), key=lambda i: raw[i] - parts[i] + rng.random() * 0.01, reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def filled_values(spec: Spec, fy: FinancialYear, prefilled: dict[str, Any], *, seed: int,
                  params: dict[str, Any], placements: int = 0, ehcp: int | None = None) -> dict[str, Any]:
    """A clean, plausible annual report. ``prefilled`` holds the values the LA put in the
    issued workbook (roster details, allocation and, where there was an accepted Q4 return,
    the budget summary): they are kept as they are. ``placements`` is the number of pupils
    placed outside their key stage; ``ehcp`` the number with an EHCP (random if None)."""
    rng = random.Random(seed)
    v: dict[str, Any] = dict(prefilled)
    allocation = v.get("dsg_allocation") or Decimal("400000.00")
    partnership = str(v.get("partnership") or "the partnership")
    provision = str(v.get("provision") or "The provision")
    person = rng.choice(PEOPLE)
    year_end = fy.end
    v.setdefault("prepared_by", person)
    v.setdefault("role", rng.choice(ROLES))
    v.setdefault("email", person.lower().replace(" ", ".") + "@school.example.sch.uk")
    v.setdefault("date_prepared", year_end + timedelta(days=40 + rng.randint(0, 10)))
    # ---- budget summary: keep the Q4 figures, otherwise make them up around the allocation
    v.setdefault("balance_bf", _pounds(float(allocation) * rng.uniform(0.01, 0.05)))
    v.setdefault("other_income", Decimal("0.00"))
    spend = next(s for s in spec.sections if s.key == "spend")
    for row in spend.row_keys:
        budget = v.setdefault(f"spend_{row}_budget", _pounds(float(allocation) * BUDGET_SHARE.get(row, 1) / 100))
        v.setdefault(f"spend_{row}_actual", _pounds(float(budget) * rng.uniform(0.93, 1.04)))
    v.setdefault("other_description", "Pupil voice survey and family learning sessions.")
    v.setdefault("budget_commentary", rng.choice(NARRATIVES["budget_commentary"]))
    # ---- staffing
    headcount = rng.randint(5, 9)
    v.update(staff_headcount=headcount,
             staff_fte=Decimal(str(round(headcount * rng.uniform(0.7, 0.95), 1))),
             staff_absence_days=Decimal(rng.randint(8, 60)))
    # ---- service delivery: one set of pupils, every breakdown a partition of it
    pupils = rng.randint(18, 42)
    schools_max = int(v.get("partnership_schools") or 6)
    schools = rng.randint(min(3, schools_max), schools_max)
    stay = Decimal(rng.randint(18, 30)) / 2  # half weeks: 9.0 to 15.0
    v.update(pupils_supported=pupils, schools_supported=schools, avg_stay_weeks=stay)
    girls, boys = _split(rng, pupils, [1, 3])
    v.update(gender_girls_pupils=girls, gender_boys_pupils=boys, gender_not_recorded_pupils=0)
    eth = _split(rng, pupils, [55, 8, 22, 10, 3, 2])
    for key, n in zip(("white", "mixed", "asian", "black", "other", "unclassified"), eth, strict=True):
        v[f"ethnicity_{key}_pupils"] = n
    n_ehcp = rng.choice((0, 0, 1)) if ehcp is None else ehcp
    none, support = _split(rng, pupils - n_ehcp, [1, 2])
    v.update(send_none_pupils=none, send_sen_support_pupils=support, send_ehcp_pupils=n_ehcp)
    if n_ehcp:
        v["ehcp_explanation"] = EHCP_EXPLANATION
    # pupils only in the key stages the provision serves (LA roster), unless placed outside them
    served: list[float] = [0 if v.get(f"keystage_{k}_served") == "No" and not placements else w
              for k, w in (("eyfs", 1), ("ks1", 5), ("ks2", 14))]
    eyfs, ks1, ks2 = _split(rng, pupils, served)
    v.update(keystage_eyfs_pupils=eyfs, keystage_ks1_pupils=ks1, keystage_ks2_pupils=ks2)
    v["placements_outside_ks"] = placements
    if placements:
        v.update(placements_mdm_held="Yes", placements_details=PLACEMENT_DETAILS)
    for key, share, per_pupil in (("individual", 0.6, 18), ("group", 0.8, 30), ("in_reach", 0.7, 40),
                                  ("outreach", 0.5, 12)):
        n = max(1, round(pupils * share * rng.uniform(0.85, 1.1)))
        v[f"methods_{key}_pupils"] = min(n, pupils)
        v[f"methods_{key}_sessions"] = n * per_pupil + rng.randint(0, 20)
    # ---- curriculum and KPIs
    attendance = Decimal(str(round(rng.uniform(86, 95), 1)))
    reintegration = Decimal(rng.randint(65, 90))
    v.update(
        kpi_attendance_target=Decimal(92), kpi_attendance_actual=attendance,
        kpi_reintegration_target=Decimal(75), kpi_reintegration_actual=reintegration,
        kpi_incidents_target=Decimal(120), kpi_incidents_actual=Decimal(rng.randint(70, 150)),
        kpi_self_esteem_target=Decimal(20), kpi_self_esteem_actual=Decimal(str(round(rng.uniform(17, 24), 1))),
        kpi_stay_weeks_target=Decimal(12), kpi_stay_weeks_actual=stay,
        kpi_exclusions_target=Decimal(2), kpi_exclusions_actual=Decimal(rng.randint(0, 3)),
        self_esteem_measure="Rosenberg Self-Esteem Scale (0-30), at entry and exit",
    )
    for key, text in KPI_COMMENTS.items():
        v[f"kpi_{key}_commentary"] = text
    fill = {"provision": provision, "partnership": partnership, "pupils": pupils, "schools": schools,
            "attendance": attendance, "reintegration": reintegration}
    for key in ("overall_summary", "staff_changes", "staff_training", "curriculum", "evaluation",
                "quality_assurance", "safeguarding", "partnerships", "communication", "contingency",
                "future_proofing"):
        v[key] = rng.choice(NARRATIVES[key]).format(**fill)
    # ---- sign-off
    v.update(partnership_chair=rng.choice(CHAIRS), partnership_approved=year_end + timedelta(days=52),
             headteacher_name=rng.choice(PEOPLE), signoff_date=year_end + timedelta(days=55), declaration="Yes")
    return make_clean(spec, fy, v, params)


def make_clean(spec: Spec, fy: FinancialYear, v: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """What the rules ask for once the money is known: overhead agreement, surplus plan or
    recovery plan (values pre-filled from the Q4 return are kept when they already do).
    A surplus always gets a plan, so the result is clean whatever ``params`` says."""
    values = calc.compute(spec, v)
    if (values.get("overhead_contribution") or 0) > 0:
        v["overhead_agreed"] = "Yes"
        v.setdefault("overhead_agreed_date", date(fy.start_year, 4, 20))
    if (values.get("other_income") or 0) > 0:
        v.setdefault("other_income_description", "Contributions from partnership schools for extra outreach.")
    balance = values["year_end_balance"]
    if isinstance(balance, Decimal) and balance > 0:
        planned = values["surplus_planned_total"]
        if not isinstance(planned, Decimal) or planned == 0 or planned > balance:
            cpd = round_pence(balance * Decimal("0.4"))
            future = round_pence(balance * Decimal("0.3"))
            v.update(surplus_cpd=cpd, surplus_future=future, surplus_contingency=balance - cpd - future,
                     surplus_other=None, surplus_approach=v.get("surplus_approach") or "Strategic plan")
    elif isinstance(balance, Decimal) and balance < 0:
        for name in ("surplus_cpd", "surplus_future", "surplus_contingency", "surplus_other"):
            v[name] = None
        v.setdefault("recovery_plan", "Supply cover reduced from April; outreach sessions re-phased into next year; "
                                      "the partnership will review the overhead contribution in the autumn.")
    return v
