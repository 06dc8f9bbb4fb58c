"""`pbp demo`: the whole quarterly loop on sample data, in a folder of its own.

init -> generate Q1 -> schools fill it in (one never arrives) -> ingest -> generate Q2
-> schools fill it in, four with a deliberate problem -> ingest (feedback workbooks) ->
status and findings -> the schools correct the FEEDBACK workbooks and send them back ->
ingest (version 2 becomes official) -> consolidate -> headteacher summaries. Then the
annual report: generate it for the year (Q4 is not in the demo, so nothing is pre-filled
from it) -> partnerships fill it in (``annual_samples.filled_values``), one with pupils by
gender that do not add up -> ingest -> that partnership corrects its feedback workbook ->
ingest -> consolidate without --quarter: the LA workbook gains the annual overview and
each headteacher summary an Annual sheet. Then the year-end surplus (``demo/surplus.py``):
modelled, issued from the accepted balances, decided (one agreed before consulting:
rejected, then corrected), consolidated into the Surplus sheets, payments CSV and the
summaries' Surplus sheet. Then the SLA review round (demo_sla.py): a
review to every member school, answers ingested, consolidated. Last, the Q3 returns arrive by email
(``demo_mailbox``): ingested from .eml files, answered with reply drafts, and the missing
and rejected ones chased with reminder drafts. Then the reports: the partnerships' termly
reports for Q2 and the Schools Forum report for the year (PDFs too with ``--pdf``).

Schools' answers are typed into the issued workbooks by defined name with openpyxl,
as a person with Excel would fill the yellow cells. Values come from
``samples.filled_values`` with fixed seeds, so every run gives the same figures and
the same findings. No network, nothing outside the folder is touched.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbp_workbooks.base import config
from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.errors import UsageError
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.demo import annual_samples, samples
from pbp_workbooks.intake.reader import split_ref
from pbp_workbooks.ledger import history
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.reports.status import state_text
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.findings import FileReport
from pbp_workbooks.spec.model import Spec
from pbp_workbooks.spec.recipients import whose

MARKER = ".pbp-demo"
YEAR = "2025-26"
PASSWORD = "demo"
DUE_IN_DAYS = 14
RETURNS = "returns-sent-by-schools"
NEVER_SENT_Q1 = "West"

# The problems some schools send in Q2, and how they fix them in the feedback workbook.
# partnership -> (what goes wrong, the values they type when correcting it)
PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "East": ("a large variance on Transport without a commentary",
             {"exp_transport_commentary": "+£6,000: new taxi contract for two pupils from September, agreed by the "
                                          "partnership."}),
    "South": ("an invalid email address",
              {"email": "sbm@southmead.example.sch.uk"}),
    "West": ("an item over £30,000 without the host school's signature",
             {"items_1_host_signatory": "Kim Lewis", "items_1_host_signed": date(2025, 5, 9)}),
    "Central": ("a placement outside key stage without the multidisciplinary meeting",
                {"placements_mdm_held": "Yes"}),
}


# --------------------------------------------------------------------------- typing into workbooks


def name_cell(wb: Any, name: str) -> tuple[str, str]:
    """(sheet, cell) of a single-cell workbook-scope defined name."""
    loc = split_ref(wb.defined_names[name].attr_text)
    if loc is None:
        raise ValueError(f"defined name {name} is not a single cell")
    return loc


def type_into(src: Path, dst: Path, values: dict[str, Any]) -> None:
    """Open a workbook, type ``values`` (defined name -> value; None clears) and save as ``dst``."""
    import openpyxl

    wb = openpyxl.load_workbook(src)
    for name, value in values.items():
        sheet, ref = name_cell(wb, name)
        c = wb[sheet][ref]
        if isinstance(value, Decimal):
            c.value = float(value)  # openpyxl stores repr(float): the LA reads the same digits back
        elif isinstance(value, date) and not isinstance(value, datetime):
            c.value = value
            c.number_format = "dd/mm/yyyy"
        else:
            c.value = value
        if isinstance(value, str) and value.startswith("="):
            c.data_type = "s"  # typed text, as after a leading apostrophe: never a formula
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)


def typed(spec: Spec, values: dict[str, Any], quarter: int) -> dict[str, Any]:
    """Only what a person can type in this quarter's workbook: the open inputs."""
    return {k: v for k, v in values.items() if k in spec.by_name and spec[k].is_open(quarter)}


# The annual report's deliberate problem: partnership -> (what goes wrong, field, how much is added).
ANNUAL_PROBLEM = ("East", "pupils by gender that do not add up to the pupils supported", "gender_girls_pupils", 2)


# --------------------------------------------------------------------------- sample values


def clean(spec: Spec, v: dict[str, Any], params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Re-plan after a change: forget the surplus/recovery plan and let samples.make_clean redo it."""
    for k in ("surplus_cpd", "surplus_future", "surplus_contingency", "surplus_other", "surplus_approach",
              "recovery_plan"):
        v[k] = None
    return samples.make_clean(spec, v, params, random.Random(seed))


def carry_forward(spec: Spec, earlier: dict[str, Any], later: dict[str, Any], quarter: int, params: dict[str, Any],
                  seed: int, carried: dict[str, Any] | None = None) -> dict[str, Any]:
    """A later quarter's return consistent with the earlier one: same budgets, same balance
    brought forward and the same actuals for the quarters already reported. ``carried``: the
    items register rows its workbook was issued with (locked; history.carried_rows), which
    take the place of the sample's own."""
    v = dict(later)
    for f in spec.fields:
        if f.grid_col == "budget" or (f.quarter is not None and f.quarter < quarter):
            v[f.name] = earlier.get(f.name)
        elif f.source == spec_mod.CARRIED and carried:
            v[f.name] = carried.get(f.name)
    v["balance_bf"] = earlier.get("balance_bf")
    return clean(spec, v, params, seed)


def carried_over(ws: Workspace, spec: Spec, fy: FinancialYear, quarter: int) -> dict[str, dict[str, Any]]:
    """Each partnership's items register rows as its workbook for the quarter was issued."""
    with Ledger(ws.ledger_path) as ledger:
        issued = ledger.issued_for(spec.kind, str(fy), quarter)
    out = {}
    for i in issued:
        prefill = history.typed_values(spec, i.prefill_json)
        out[i.partnership] = {n: prefill[n] for n in history.locked_carried(spec, prefill)}
    return out


def sample_values(spec: Spec, fy: FinancialYear, quarter: int, allocation: Decimal, params: dict[str, Any],
                  seed: int) -> dict[str, Any]:
    return samples.filled_values(spec, fy, quarter, {"dsg_allocation": allocation}, seed=seed, params=params)


def with_problem(spec: Spec, partnership: str, v: dict[str, Any], params: dict[str, Any], seed: int) -> dict[str, Any]:
    """The deliberate Q2 mistakes (see PROBLEMS), and North's accepted return with a warning
    and a surplus whose plan is too small (a possible claw-back)."""
    v = dict(v)
    if partnership == "North":
        v["exp_teaching_staff_forecast"] -= Decimal("30000.00")
        v["other_income"] = Decimal("2500.00")
        v["other_income_description"] = None  # Q-W213: accepted with a warning
        v = clean(spec, v, params, seed)
        v["exp_teaching_staff_commentary"] = ("-£30,000: the teacher vacancy from January will not be filled; cover "
                                              "comes from the support team.")
        v.update(surplus_cpd=Decimal("5000.00"), surplus_future=None, surplus_contingency=None,
                 surplus_approach="Strategic plan")
    elif partnership == "East":
        v["exp_transport_q2"] += Decimal("6000.00")
        v = clean(spec, v, params, seed)
        v["exp_transport_commentary"] = None  # Q-E201
    elif partnership == "South":
        v["email"] = "bursar at southmead.example.sch.uk"  # Q-E108
    elif partnership == "West":
        if v.get("items_1_amount") is None:
            raise AssertionError("the sample West return has no large item")  # pragma: no cover
        v["items_1_host_signatory"] = None  # Q-E203
        v["items_1_host_signed"] = None
    elif partnership == "Central":
        v["placements_outside_ks"] = 1
        v["placements_mdm_held"] = "No"  # Q-E211
    return v


# --------------------------------------------------------------------------- the run


def prepare(root: Path) -> None:
    """Create DIR, or clear a previous demo there; refuse anything else that is not empty."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise UsageError(f"{root} is not empty and is not a previous pbp demo; give a new or empty folder")
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("Made by 'pbp demo'. Running 'pbp demo' on this folder again deletes and remakes it.\n",
                               encoding="utf-8")


def init_workspace(root: Path) -> Workspace:
    ws = Workspace(root.resolve())
    ws.state_dir.mkdir(exist_ok=True)
    ws.archive_dir.mkdir(exist_ok=True)
    # The sample year is in the past; its returns arrive now, so the demo's roster gives
    # them due dates two weeks ahead: they arrive on time, as most returns do.
    due = date.today() + timedelta(days=DUE_IN_DAYS)
    roster_mod.write_sample(ws.roster_path, {(YEAR, p): due for p in ("Q1", "Q2", "Q3", "Q4", "Annual")})
    Ledger(ws.ledger_path).close()
    ws.config_path.write_text(config.default_text(PASSWORD), encoding="utf-8")
    return ws


def run_demo(root: Path, say: Callable[[str], None] | None = None, *, pdf: bool = False) -> int:
    from pbp_workbooks.intake.ingest import ingest
    from pbp_workbooks.reports.consolidate import consolidate
    from pbp_workbooks.reports.status import status_rows
    from pbp_workbooks.workbook.generate import generate

    def out(text: str = "") -> None:
        (say or _print)(text)

    started = time.monotonic()
    prepare(root)
    ws = init_workspace(root)
    rel = lambda p: _rel(Path(p), ws.root)  # noqa: E731
    fy = FinancialYear.parse(YEAR)
    spec = spec_mod.load("quarterly")
    params = ws.config.thresholds.params()
    roster = roster_mod.load(ws.roster_path)
    out(f"pbp demo: the whole quarterly loop for {YEAR} on sample data, in {ws.root}")
    out(f"[1/8] Workspace: pbp.toml, roster.xlsx ({len(roster.provisions)} sample partnerships; {YEAR} returns due "
        f"{roster.due(fy, 'Q2'):%d %B %Y}), .pbp/ledger.sqlite")

    # ---- Q1
    issued_q1 = generate(ws, "quarterly", fy, 1, None)
    out(f"[2/8] Q1: {len(issued_q1)} workbooks issued into {rel(issued_q1[0].parent)}/")
    q1_values: dict[str, dict[str, Any]] = {}
    sent_q1: list[Path] = []
    for i, prov in enumerate(roster.provisions):
        alloc = roster.allocation(prov.partnership, fy)
        q1_values[prov.partnership] = sample_values(spec, fy, 1, alloc, params, seed=100 + i)
        if prov.partnership == NEVER_SENT_Q1:
            continue
        src = _issued(issued_q1, prov.partnership)
        dst = root / RETURNS / f"{fy} Q1" / src.name
        type_into(src, dst, typed(spec, q1_values[prov.partnership], 1))
        sent_q1.append(dst)
    out(f"[3/8] Q1: {len(sent_q1)} schools filled theirs in ({NEVER_SENT_Q1}'s never arrives): "
        f"{rel(root / RETURNS / f'{fy} Q1')}/")
    reports = ingest(ws, sent_q1)
    _print_reports(out, reports, rel)

    # ---- Q2, first round
    issued_q2 = generate(ws, "quarterly", fy, 2, None)
    carried_q2 = carried_over(ws, spec, fy, 2)
    q2_values: dict[str, dict[str, Any]] = {}
    sent_q2: list[Path] = []
    for i, prov in enumerate(roster.provisions):
        alloc = roster.allocation(prov.partnership, fy)
        fresh = sample_values(spec, fy, 2, alloc, params, seed=200 + i)
        v = carry_forward(spec, q1_values[prov.partnership], fresh, 2, params, seed=300 + i,
                          carried=carried_q2.get(prov.partnership))
        v = with_problem(spec, prov.partnership, v, params, seed=400 + i)
        q2_values[prov.partnership] = v
        src = _issued(issued_q2, prov.partnership)
        dst = root / RETURNS / f"{fy} Q2" / src.name
        type_into(src, dst, typed(spec, v, 2))
        sent_q2.append(dst)
    out(f"[4/8] Q2: {len(issued_q2)} workbooks issued; all five come back, four with a mistake: "
        f"{rel(root / RETURNS / f'{fy} Q2')}/")
    for partnership, (what, _fix) in PROBLEMS.items():
        out(f"        {partnership}: {what}")
    out("[5/8] Q2: ingest (validate, archive, record; feedback workbooks for returns with problems)")
    reports = ingest(ws, sent_q2)
    _print_reports(out, reports, rel)

    out("[6/8] Returns status after the first round")
    rows = [r for r in status_rows(ws, fy, None) if r["kind"] == "quarterly" and r["quarter"] in (1, 2)]
    _print_status(out, rows)

    # ---- corrections, made in the feedback workbooks
    corrected: list[Path] = []
    for r in reports:
        if r.ok or not r.identity or "feedback" not in r.extra:
            continue
        partnership = r.identity["partnership"]
        _what, fix = PROBLEMS[partnership]
        dst = root / RETURNS / f"{fy} Q2 corrected" / Path(r.file).name
        type_into(Path(r.extra["feedback"]), dst, fix)
        corrected.append(dst)
    out(f"[7/8] {len(corrected)} schools correct their FEEDBACK workbooks and send them back: "
        f"{rel(root / RETURNS / f'{fy} Q2 corrected')}/")
    reports2 = ingest(ws, corrected)
    _print_reports(out, reports2, rel)
    rows = status_rows(ws, fy, 2)
    _print_status(out, rows)

    # ---- consolidation
    result = consolidate(ws, fy, 2, None)
    out(f"[8/8] Consolidated {result.data.period} and wrote {len(result.summaries)} headteacher summaries:")
    for ln in result.data.headline():
        f = ln.figures
        if f is not None and f.forecast_balance is not None:
            out(f"        {ln.partnership:<8} {ln.label:<30} forecast balance £{f.forecast_balance:>11,.2f}  "
                f"{f.rag_label}; {f.surplus_flag}")
        else:
            out(f"        {ln.partnership:<8} {ln.label}")
    out("")
    annual = run_annual(ws, root, fy, out, rel)
    out("")
    from pbp_workbooks.demo.surplus import run_surplus

    surplus = run_surplus(ws, root, fy, out, rel, RETURNS, type_into, _print_reports)
    from pbp_workbooks.demo.sla import run_sla

    reviews = run_sla(ws, root, fy, out, rel, RETURNS)
    out("")
    from pbp_workbooks.demo.mailbox import run_mailbox

    q2_final = {p: {**v, **(PROBLEMS[p][1] if p in PROBLEMS else {})} for p, v in q2_values.items()}
    mailbox = run_mailbox(ws, root, fy, q2_final, out, rel)
    out("")
    made = run_reports(ws, fy, out, rel, pdf=pdf)
    out("")
    out("Where everything is:")
    out(f"  {rel(ws.folder('outbox'))}/                  the workbooks the LA issued (Q1, Q2)")
    out(f"  {RETURNS}/  the returns the schools sent back (and the corrected ones)")
    out(f"  {rel(ws.folder('feedback'))}/                feedback workbooks for returns with problems")
    out(f"  {rel(result.workbook)}")
    for p in result.csv:
        out(f"  {rel(p)}")
    out(f"  {rel(result.datapackage)}  what each CSV column holds (Frictionless Data Package)")
    out(f"  {rel(result.folder)}/summary - <Partnership>.xlsx  ({len(result.summaries)} headteacher summaries)")
    out("  .pbp/ledger.sqlite, .pbp/archive/  every file received, byte for byte")
    out(f"  {rel(annual.workbook)}  sheets {', '.join(PUBLISHED)}: the annual overview (published: small "
        "numbers suppressed)")
    for p in annual.csv[2:]:
        out(f"  {rel(p)}")
    out(f"  {RETURNS}/{fy} Annual/ (and '{fy} Annual corrected/')  the annual reports the partnerships sent")
    out(f"  {RETURNS}/{fy} Surplus/ (and '{fy} Surplus corrected/')  the surplus decisions; "
        f"{rel(surplus.csv[-1])}  the payments to member schools")
    out(f"  {rel(reviews.workbook)}  sheet 'SLA review'; {rel(reviews.csv[-1])}: every answer")
    out(f"  {RETURNS}/{fy} SLA review/  the SLA reviews the member schools sent")
    out(f"  {rel(mailbox)}/  the Q3 returns as they arrived: emails (.eml) saved from the LA's mailbox")
    out(f"  {rel(ws.folder('replies'))}/{fy} Q3/  reply and reminder drafts (.eml): open one in Outlook or Thunderbird "
        "and it is ready to send")
    out(f"  {rel(made[0].parent)}/  the partnerships' termly reports for {fy} Q2 (toolkit sections 1, 5 and 7)")
    out(f"  {rel(made[-1])}  the annual report to Schools Forum on spend and impact"
        + ("" if pdf else "  (pbp demo --pdf also prints each report to PDF)"))
    out(f"Done in {time.monotonic() - started:.1f} s. Try: cd {root} && pbp status --year {YEAR} --quarter 3 --trail")
    return 0


PUBLISHED = ("Annual KPIs", "Annual pupils", "Annual delivery")


def run_reports(ws: Workspace, fy: FinancialYear, out: Callable[[str], None], rel: Callable[[Any], str], *,
                pdf: bool = False) -> list[Path]:
    """The reports (steps R1-R2): the partnerships' termly reports for Q2 and the Schools Forum report."""
    from pbp_workbooks.reports.report_make import forum_report, partnership_reports
    from pbp_workbooks.reports.report_pdf import to_pdf

    _data, written = partnership_reports(ws, fy, 2)
    out(f"[R1/2] pbp report partnership --year {fy} --quarter 2: {len(written)} termly reports for the partnerships "
        f"and their host schools' governing bodies in {rel(written[0].parent)}/")
    forum, path = forum_report(ws, fy)
    n = len(forum.lines)
    out(f"[R2/2] pbp report schools-forum --year {fy}: KPIs and pupils from {sum(1 for x in forum.lines if x.kpis)} "
        f"of {n} annual reports; no Q4 return in the demo, so the year-end money is blank and says so: {rel(path)}")
    written.append(path)
    if pdf:
        pdfs = to_pdf(written)
        out(f"        --pdf: {len(pdfs)} PDFs printed by LibreOffice beside the workbooks")
    return written


def run_annual(ws: Workspace, root: Path, fy: FinancialYear, out: Callable[[str], None],
               rel: Callable[[Any], str]) -> Any:
    """The annual report loop (steps A1-A5), ending with the consolidation's annual overview."""
    from pbp_workbooks.intake.ingest import ingest
    from pbp_workbooks.reports.consolidate import consolidate
    from pbp_workbooks.workbook.generate import generate

    aspec = spec_mod.load("annual")
    qspec = spec_mod.load("quarterly")
    params = ws.config.thresholds.params()
    roster = roster_mod.load(ws.roster_path)
    issued = generate(ws, "annual", fy, None, None)
    out(f"[A1/5] Annual report {fy}: {len(issued)} workbooks issued into {rel(issued[0].parent)}/ (no Q4 return in "
        "the demo, so the partnerships type the budget summary)")
    who, what, name, extra = ANNUAL_PROBLEM
    sent: list[Path] = []
    fixes: dict[str, dict[str, Any]] = {}
    with Ledger(ws.ledger_path) as ledger:
        prefills = {i.partnership: history.typed_values(aspec, i.prefill_json)
                    for i in ledger.issued_for("annual", str(fy), None)}
        placements = {}
        for prov in roster.provisions:
            got = [history.official_values(ledger, qspec, str(fy), q, prov.partnership) for q in (1, 2, 3, 4)]
            placements[prov.partnership] = sum(v.get("placements_outside_ks") or 0 for v in got if v is not None)
    for i, prov in enumerate(roster.provisions):
        p = prov.partnership
        values = annual_samples.filled_values(aspec, fy, prefills[p], seed=900 + i, params=params,
                                              placements=placements[p], ehcp=0)
        v = {k: x for k, x in values.items() if k in aspec.by_name and aspec[k].is_input}
        if p == who:
            fixes[p] = {name: v[name]}
            v[name] += extra
        src = _issued(issued, p)
        dst = root / RETURNS / f"{fy} Annual" / src.name
        type_into(src, dst, v)
        sent.append(dst)
    out(f"[A2/5] All {len(sent)} partnerships fill theirs in; {who} sends {what}: "
        f"{rel(root / RETURNS / f'{fy} Annual')}/")
    reports = ingest(ws, sent)
    _print_reports(out, reports, rel)
    corrected: list[Path] = []
    for r in reports:
        if r.ok or not r.identity or "feedback" not in r.extra:
            continue
        dst = root / RETURNS / f"{fy} Annual corrected" / Path(r.file).name
        type_into(Path(r.extra["feedback"]), dst, fixes[r.identity["partnership"]])
        corrected.append(dst)
    out(f"[A3/5] {len(corrected)} partnership corrects its FEEDBACK workbook and sends it back")
    _print_reports(out, ingest(ws, corrected), rel)
    result = consolidate(ws, fy, None, None)
    a = result.data.annual
    assert a is not None
    out(f"[A4/5] Consolidated {result.data.period} with the annual overview ({len(a.accepted())} of {len(a.lines)} "
        "annual reports accepted):")
    from pbp_workbooks.reports.annual_overview import KPI, kpi_better, kpi_status

    for ln in a.lines:
        if ln.values is None:
            out(f"        {ln.partnership:<8} {ln.label}")
            continue
        statuses = [kpi_status(a.grid_value(ln.values, KPI, k, "target"), a.grid_value(ln.values, KPI, k, "actual"),
                               kpi_better(a.spec, k)) for k, _ in a.rows(KPI)]
        out(f"        {ln.partnership:<8} {ln.label:<20} pupils supported {a.pupils(ln.partnership)!s:>3}; "
            f"KPI targets met {statuses.count('Met')} of {len(statuses)}")
    out(f"[A5/5] {len(result.summaries)} headteacher summaries now have an Annual sheet; pupil counts of 1 to 4 are "
        "shown as 'c' (and a second count where the first could be worked out from the total)")
    return result


def _print(text: str) -> None:
    print(text, flush=True)


def _rel(p: Path, root: Path) -> str:
    try:
        return str(p.resolve().relative_to(root))
    except ValueError:
        return str(p)


def _issued(paths: list[Path], partnership: str) -> Path:
    return next(p for p in paths if f" - {partnership} - " in p.name)


def _print_reports(out: Callable[[str], None], reports: list[FileReport], rel: Callable[[Any], str]) -> None:
    for r in reports:
        who = whose(r.identity) if r.identity else "?"
        version = f" v{r.extra['version']}" if r.extra.get("version") else ""
        out(f"        {'OK  ' if r.ok else 'FAIL'} {who:<8} {r.status.replace('_', ' ')}{version}")
        for f in r.findings:
            where = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else "file"
            out(f"             {f.code} {f.severity:<7} {where:<10} {f.message}")
        if r.extra.get("feedback"):
            out(f"             feedback workbook: {rel(r.extra['feedback'])}")
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    out("        " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()))


def _print_status(out: Callable[[str], None], rows: list[dict[str, Any]]) -> None:
    out(f"        {'period':<12} {'partnership':<12} {'state':<24} {'official':>8} {'received':>8}")
    for r in rows:
        official = f"v{r['official_version']}" if r["official_version"] else "-"
        state = state_text(r)
        out(f"        {r['period']:<12} {r['partnership']:<12} {state:<24} {official:>8} {r['received']:>8}")
