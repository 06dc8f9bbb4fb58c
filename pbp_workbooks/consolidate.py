"""The LA's consolidated picture of a period, from the official return of each provision.

The official return is the latest accepted version in the ledger (``status.status_rows``
decides which one). Its inputs come from the ledger's ``values_json`` and every formula
field is recomputed with ``calc.compute``: cached values in a received file are never
used. Money stays Decimal from the ledger to the cell; float only hands a value to
xlsxwriter. A provision without an accepted return is never dropped and never
zero-filled: its row is there, its figures are blank, and its label says why.

Outputs (``consolidate``), in ``reports/<year> Q<n>/`` unless ``--out`` says otherwise:

- ``PBP consolidated <year> Q<n>.xlsx`` -- Summary (per partnership, totals, median,
  RAG with a text label, charts), By category, Categories (a tidy Excel table with
  filters: partnership x category x reporting quarter), Items over £30k, Balances
  (surplus plans, possible claw-back), Placements, Returns status, Data quality, About;
- two tidy CSV files for BI tools (``... - categories.csv``, ``... - partnerships.csv``);
- a headteacher summary workbook per partnership (``summary - <Partnership>.xlsx``,
  see summary.py).

Text that came from a return is always written with ``write_string`` (and the workbook
has ``strings_to_formulas`` off), so ``=HYPERLINK(...)`` typed into a commentary stays
text. In the CSV files a text cell that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR
gets a leading apostrophe (``'=HYPERLINK(...)``); numeric columns are plain numbers, so a
negative amount keeps its minus sign.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from . import __version__, calc, suppression
from . import roster as roster_mod
from . import spec as spec_mod
from .config import Thresholds
from .errors import ConfigError, UsageError
from .filenames import safe_file_name
from .ledger import Ledger, Received, received_for
from .periods import QUARTER_MONTHS, FinancialYear
from .spec import Spec
from .status import status_rows
from .workspace import Workspace

_Date = date  # a field of Item is called 'date'

KIND = "quarterly"
CSV_DANGER = ("=", "+", "-", "@", "\t", "\r")
SURPLUS_USES = (("cpd", "CPD"), ("future", "Future proofing"), ("contingency", "Contingency"), ("other", "Other"))

MONEY_FMT = "£#,##0.00;[Red]-£#,##0.00"
PCT_FMT = "0.0%"
DATE_FMT = "dd/mm/yyyy"
HEADER_FILL = "#D9E1F2"
RAG_FILLS = {"Green": ("#C6EFCE", "#006100"), "Amber": ("#FFEB9C", "#7F6000"), "Red": ("#FFC7CE", "#9C0006"),
             "No data": ("#E7E6E6", "#404040")}
WORKBOOK_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                    "strings_to_numbers": False}


# =========================================================================== figures


def _dec(v: Any) -> Decimal | None:
    return v if isinstance(v, Decimal) else None


def sum_known(values: Iterable[Decimal | None]) -> Decimal | None:
    """Sum of the known values; None when there are none (never a made-up zero)."""
    known = [v for v in values if v is not None]
    return sum(known, Decimal("0.00")) if known else None


def ratio(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    budget: Decimal | None
    actual: tuple[Decimal | None, ...]  # Q1..Q4; None for quarters after the return's own
    to_date: Decimal | None
    forecast: Decimal | None
    outturn: Decimal | None
    variance: Decimal | None
    commentary: str | None


@dataclass(frozen=True)
class Item:
    row: str
    date: _Date | None
    description: str | None
    supplier: str | None
    category: str | None
    amount: Decimal | None
    partnership_signatory: str | None
    partnership_signed: _Date | None
    host_signatory: str | None
    host_signed: _Date | None

    @property
    def signed_by_both(self) -> bool:
        return None not in (self.partnership_signatory, self.partnership_signed, self.host_signatory,
                            self.host_signed)


@dataclass(frozen=True)
class Figures:
    """Everything the outputs show for one official return, recomputed from its inputs."""

    quarter: int
    allocation: Decimal | None
    balance_bf: Decimal | None
    other_income: Decimal | None
    other_income_description: str | None
    total_income: Decimal | None
    budget: Decimal | None
    actual: tuple[Decimal | None, ...]  # totals for Q1..Q4
    to_date: Decimal | None
    forecast: Decimal | None
    outturn: Decimal | None
    variance: Decimal | None
    forecast_balance: Decimal | None
    surplus: tuple[Decimal | None, ...]  # in SURPLUS_USES order
    surplus_other_description: str | None
    planned_total: Decimal | None
    surplus_approach: str | None
    recovery_plan: str | None
    placements: int | None
    mdm_held: str | None
    categories: tuple[Category, ...]
    items: tuple[Item, ...]
    threshold: Decimal | None  # surplus_plan_pct of the allocation
    unplanned: Decimal | None
    surplus_flag: str
    clawback: bool
    rag: str  # Green | Amber | Red
    rag_reason: str

    @property
    def variance_pct(self) -> Decimal | None:
        return ratio(self.variance, self.budget)

    @property
    def balance_pct(self) -> Decimal | None:
        return ratio(self.forecast_balance, self.allocation)

    @property
    def spent_pct(self) -> Decimal | None:
        return ratio(self.to_date, self.budget)

    @property
    def rag_label(self) -> str:
        return rag_label(self.rag)


def rag_label(rag: str) -> str:
    return {"Green": "Green – on track", "Amber": "Amber – needs watching", "Red": "Red – action needed"}.get(
        rag, "No data – no accepted return")


def gbp(v: Decimal | None, pence: bool = True) -> str:
    if v is None:
        return "blank"
    sign = "-" if v < 0 else ""
    return f"{sign}£{abs(v):,.2f}" if pence else f"{sign}£{abs(v):,.0f}"


def pct_text(v: Decimal | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def assess(balance: Decimal | None, allocation: Decimal | None, planned: Decimal | None, budget: Decimal | None,
           variance: Decimal | None, th: Thresholds) -> tuple[Decimal | None, Decimal | None, str, bool, str, str]:
    """(threshold, unplanned surplus, surplus flag, possible claw-back, RAG, reason).

    Claw-back (toolkit section 4: the LA may claw back surplus balances): the forecast
    balance is above ``surplus_plan_pct`` of the allocation AND the part of it with no
    planned use (balance - planned uses) is itself above that threshold -- no plan, or
    a plan too small to matter.

    RAG: Red when a deficit is forecast. Amber when a claw-back is possible, or the
    forecast outturn is off budget by more than ``variance_commentary_pct`` % and
    ``variance_commentary_min`` pounds (the same test that needs a commentary).
    Green otherwise, including a surplus whose use is planned.
    """
    if balance is None or allocation is None:
        return None, None, "No data", False, "No data", "no accepted return"
    threshold = (allocation * th.surplus_plan_pct / 100).quantize(Decimal("0.01"))
    planned = planned or Decimal(0)
    unplanned = max(balance - planned, Decimal(0)) if balance > 0 else Decimal("0.00")
    clawback = balance > threshold and unplanned > threshold
    if balance < 0:
        flag = "Deficit: recovery plan needed"
    elif clawback:
        flag = ("Possible claw-back: no planned use" if planned == 0
                else f"Possible claw-back: {gbp(unplanned)} not planned")
    elif balance > threshold:
        flag = "Surplus planned"
    else:
        flag = f"Within {th.surplus_plan_pct}% of allocation"
    off_budget = (variance is not None and budget is not None and abs(variance) > th.variance_commentary_min
                  and abs(variance) * 100 > abs(budget) * th.variance_commentary_pct)
    if balance < 0:
        return threshold, unplanned, flag, clawback, "Red", f"a deficit of {gbp(-balance, False)} is forecast"
    if clawback:
        return (threshold, unplanned, flag, clawback, "Amber",
                f"{gbp(unplanned, False)} of the forecast surplus has no planned use (the LA may claw it back)")
    if off_budget:
        assert variance is not None
        word = "over" if variance > 0 else "under"
        return (threshold, unplanned, flag, clawback, "Amber",
                f"the forecast outturn is {gbp(abs(variance), False)} {word} budget "
                f"({pct_text(ratio(variance, budget))})")
    reason = "spending is close to budget" + (" and the surplus has a planned use" if balance > threshold else "")
    return threshold, unplanned, flag, clawback, "Green", reason


def figures(spec: Spec, values: dict[str, Any], quarter: int, th: Thresholds) -> Figures:
    """Figures of one return from ``values`` = inputs + fields computed by calc.compute."""
    exp = next(s for s in spec.sections if s.key == "exp")
    items_sec = next(s for s in spec.sections if s.key == "items")
    cats = []
    for key, label in zip(exp.row_keys, exp.row_labels, strict=True):
        g = lambda c, k=key: values.get(f"exp_{k}_{c}")  # noqa: E731
        commentary = g("commentary")
        cats.append(Category(key, label, _dec(g("budget")), tuple(_dec(g(f"q{q}")) for q in (1, 2, 3, 4)),
                             _dec(g("to_date")), _dec(g("forecast")), _dec(g("outturn")), _dec(g("variance")),
                             commentary if isinstance(commentary, str) and commentary != "" else None))
    items = []
    for key in items_sec.row_keys:
        g = lambda c, k=key: values.get(f"items_{k}_{c}")  # noqa: E731
        raw = [g(c) for c in items_sec.col_keys]
        if all(v is None or v == "" for v in raw):
            continue
        txt = lambda v: None if v is None or v == "" else str(v)  # noqa: E731
        dt = lambda v: v if isinstance(v, date) else None  # noqa: E731
        items.append(Item(key, dt(g("date")), txt(g("description")), txt(g("supplier")), txt(g("category")),
                          _dec(g("amount")), txt(g("partnership_signatory")), dt(g("partnership_signed")),
                          txt(g("host_signatory")), dt(g("host_signed"))))
    allocation, balance = _dec(values.get("dsg_allocation")), _dec(values.get("forecast_balance"))
    budget, variance = _dec(values.get("exp_total_budget")), _dec(values.get("exp_total_variance"))
    planned = _dec(values.get("surplus_planned_total"))
    threshold, unplanned, flag, clawback, rag, reason = assess(balance, allocation, planned, budget, variance, th)
    text = lambda n: values.get(n) if isinstance(values.get(n), str) and values.get(n) != "" else None  # noqa: E731
    placements = values.get("placements_outside_ks")
    return Figures(
        quarter=quarter, allocation=allocation, balance_bf=_dec(values.get("balance_bf")),
        other_income=_dec(values.get("other_income")), other_income_description=text("other_income_description"),
        total_income=_dec(values.get("total_income")), budget=budget,
        actual=tuple(_dec(values.get(f"exp_total_q{q}")) if q <= quarter else None for q in (1, 2, 3, 4)),
        to_date=_dec(values.get("exp_total_to_date")), forecast=_dec(values.get("exp_total_forecast")),
        outturn=_dec(values.get("exp_total_outturn")), variance=variance, forecast_balance=balance,
        surplus=tuple(_dec(values.get(f"surplus_{k}")) for k, _ in SURPLUS_USES),
        surplus_other_description=text("surplus_other_description"), planned_total=planned,
        surplus_approach=text("surplus_approach"), recovery_plan=text("recovery_plan"),
        placements=placements if isinstance(placements, int) else None, mdm_held=text("placements_mdm_held"),
        categories=tuple(cats), items=tuple(items), threshold=threshold, unplanned=unplanned, surplus_flag=flag,
        clawback=clawback, rag=rag, rag_reason=reason)


def decode(spec: Spec, values_json: str) -> dict[str, Any]:
    """The ledger's values_json (text) back into typed inputs, by the spec's field types."""
    raw = json.loads(values_json)
    out: dict[str, Any] = {}
    for f in spec.fields:
        if f.formula is not None:
            continue
        v = raw.get(f.name)
        if v is None:
            out[f.name] = None
        elif f.type in ("money", "signed_money", "percent", "number"):
            try:
                out[f.name] = Decimal(str(v))
            except InvalidOperation:
                out[f.name] = str(v)  # calc then reports #VALUE!, as Excel would
        elif f.type == "integer":
            out[f.name] = int(v) if isinstance(v, int) or str(v).lstrip("-").isdigit() else str(v)
        elif f.type == "date":
            try:
                out[f.name] = date.fromisoformat(str(v)[:10])
            except ValueError:
                out[f.name] = str(v)
        else:
            out[f.name] = str(v)
    return out


def recompute(spec: Spec, values_json: str, quarter: int, th: Thresholds) -> Figures:
    """One official return: inputs from the ledger, every formula field by calc.compute."""
    return figures(spec, calc.compute(spec, decode(spec, values_json)), quarter, th)


# =========================================================================== loading


@dataclass(frozen=True)
class Official:
    version: int
    status: str
    received_at: str
    original_name: str
    archive_path: str
    sha256: str


@dataclass
class Line:
    """One provision in one reporting quarter: its status and, if accepted, its figures."""

    provision: roster_mod.Provision
    quarter: int
    status: dict[str, Any]  # the status_rows row
    official: Official | None = None
    figures: Figures | None = None

    @property
    def partnership(self) -> str:
        return self.provision.partnership

    @property
    def state(self) -> str:
        """accepted | accepted_with_warnings | rejected | missing | not issued"""
        return str(self.status["state"])

    @property
    def label(self) -> str:
        return status_label(self.status, self.official if self.figures is not None else None, "return")



def status_label(s: dict[str, Any], official: Official | None, what: str) -> str:
    """The returns-status words shown for a provision (never colour alone)."""
    late = " (late)" if s["late"] else ""
    if official is not None:
        text = ("Accepted with warnings" if official.status == "accepted_with_warnings" else "Accepted") + \
            f" v{official.version}{late}"
        if (s["latest_version"] or 0) > official.version:
            text += f"; v{s['latest_version']} {str(s['latest_status']).replace('_', ' ')}"
        return text
    if s["state"] == "rejected":
        return f"REJECTED (v{s['latest_version']}) – no accepted {what}{late}"
    if s["state"] == "not issued":
        return "NOT ISSUED"
    return f"MISSING{late}"

@dataclass
class Consolidation:
    ws_root: Path
    la_name: str
    year: FinancialYear
    quarter: int  # the headline period
    quarters: list[int]  # reporting quarters shown (issued or received), ending with the headline
    thresholds: Thresholds
    spec: Spec
    provisions: list[roster_mod.Provision]
    lines: dict[tuple[str, int], Line]
    status: list[dict[str, Any]]
    findings: list[dict[str, Any]]  # the data-quality log, one row per finding
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    annual: AnnualOverview | None = None  # the year's accepted annual reports, when asked for and there are any

    @property
    def period(self) -> str:
        return f"{self.year} Q{self.quarter}"

    @property
    def period_long(self) -> str:
        return f"{self.year} Quarter {self.quarter} ({QUARTER_MONTHS[self.quarter]})"

    @property
    def categories(self) -> list[tuple[str, str]]:
        exp = next(s for s in self.spec.sections if s.key == "exp")
        return list(zip(exp.row_keys, exp.row_labels, strict=True))

    def headline(self) -> list[Line]:
        return [self.lines[(p.partnership, self.quarter)] for p in self.provisions]

    def accepted(self) -> list[Figures]:
        return [ln.figures for ln in self.headline() if ln.figures is not None]

    def la_total(self, get: Callable[[Figures], Decimal | None]) -> Decimal | None:
        return sum_known(get(f) for f in self.accepted())

    def la_median(self, get: Callable[[Figures], Decimal | None]) -> Decimal | None:
        known = [v for v in (get(f) for f in self.accepted()) if v is not None]
        return statistics.median(known) if known else None


def latest_quarter(ws: Workspace, fy: FinancialYear) -> int:
    with Ledger(ws.ledger_path) as ledger:
        row = ledger.conn.execute(
            "SELECT MAX(q) FROM (SELECT MAX(quarter) AS q FROM issued WHERE kind = ? AND year = ?"
            " UNION ALL SELECT MAX(quarter) FROM received WHERE kind = ? AND year = ?)",
            (KIND, str(fy), KIND, str(fy))).fetchone()
    if row is None or row[0] is None:
        raise UsageError(f"no quarterly returns have been issued for {fy}: nothing to consolidate "
                         f"(run 'pbp generate quarterly --year {fy} --quarter N' first)")
    return int(row[0])


def _received_row(cur_row: Any) -> Received:
    return Received(**{k: cur_row[k] for k in Received.__dataclass_fields__})


def _provisions(ws: Workspace, ledger: Ledger, status: list[dict[str, Any]], fy: FinancialYear
                ) -> list[roster_mod.Provision]:
    """The roster's provisions, in roster order (status_rows lists them), with the URN and
    provision name the LA issued this year's workbooks with; the roster is read again
    only for a provision that has not been issued anything this year."""
    order = list(dict.fromkeys((r["partnership"], r["host_school"]) for r in status))
    known: dict[str, tuple[str, str]] = {}
    for row in ledger.conn.execute("SELECT partnership, urn, prefill_json FROM issued WHERE kind = ? AND year = ?"
                                   " ORDER BY id", (KIND, str(fy))):
        provision = json.loads(row["prefill_json"] or "{}").get("provision")
        if isinstance(provision, str):
            known[row["partnership"]] = (row["urn"], provision)
    if all(p in known for p, _ in order):
        return [roster_mod.Provision(p, host, *known[p]) for p, host in order]
    return list(roster_mod.load(ws.roster_path).provisions)


def load(ws: Workspace, fy: FinancialYear, quarter: int | None = None, *, annual: bool | None = None
         ) -> Consolidation:
    """The period's consolidation. ``annual`` (default: when no quarter is given) adds the
    annual overview if the LA has accepted at least one annual report for the year."""
    spec = spec_mod.load(KIND)
    cfg = ws.config
    if annual is None:
        annual = quarter is None
    if quarter is None:
        quarter = latest_quarter(ws, fy)
    all_status = status_rows(ws, fy, None)
    status = [r for r in all_status if r["kind"] == KIND and r["quarter"] <= quarter]
    active = {r["quarter"] for r in status if r["issued"] or r["received"]}
    quarters = sorted(active | {quarter})
    status = [r for r in status if r["quarter"] in quarters]
    by_key = {(r["partnership"], r["quarter"]): r for r in status}
    lines: dict[tuple[str, int], Line] = {}
    findings: list[dict[str, Any]] = []
    with Ledger(ws.ledger_path) as ledger:
        provisions = _provisions(ws, ledger, status, fy)
        for q in quarters:
            received = received_for(ledger, KIND, str(fy), q)
            by_version = {(r.partnership, r.version): r for r in received}
            for prov in provisions:
                row = by_key[(prov.partnership, q)]
                line = Line(prov, q, row)
                lines[(prov.partnership, q)] = line
                rec = by_version.get((prov.partnership, row["official_version"]))
                if row["official_version"] and rec is not None and rec.values_json:
                    line.official = Official(rec.version or 0, rec.status, rec.received_at, rec.original_name,
                                             rec.archive_path, rec.sha256)
                    line.figures = recompute(spec, rec.values_json, q, cfg.thresholds)
            for rec in received:
                official = by_key.get((rec.partnership or "", q), {}).get("official_version")
                findings.extend(_finding_rows(rec, f"{fy} Q{q}", official))
        # files the LA could not attribute to a return at all belong in the log too
        for raw in ledger.conn.execute("SELECT * FROM received WHERE partnership IS NULL ORDER BY id").fetchall():
            findings.extend(_finding_rows(_received_row(raw), "unidentified file", None))
        overview = load_annual(ledger, fy, provisions, [r for r in all_status if r["kind"] == ANNUAL]) \
            if annual else None
    return Consolidation(ws.root, cfg.la_name, fy, quarter, quarters, cfg.thresholds, spec, provisions, lines, status,
                         findings, annual=overview)


def _finding_rows(rec: Received, period: str, official_version: int | None) -> list[dict[str, Any]]:
    base = {"period": period, "partnership": rec.partnership, "version": rec.version, "file": rec.original_name,
            "received_at": rec.received_at, "file_status": rec.status,
            "official": official_version is not None and rec.version == official_version}
    out = []
    for f in json.loads(rec.findings_json or "[]"):
        out.append({**base, "code": f.get("code"), "severity": f.get("severity"), "sheet": f.get("sheet"),
                    "cell": f.get("cell"), "name": f.get("name"),
                    "value": None if f.get("value") is None else str(f.get("value")), "message": f.get("message")})
    return out


# =========================================================================== writing helpers


class Book:
    """An xlsxwriter workbook where text is always text: every string goes through write_string."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        self._formats: dict[tuple[tuple[str, Any], ...], Any] = {}

    def fmt(self, **props: Any) -> Any:
        key = tuple(props.items())
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self.wb.add_format({"font_name": "Arial", "font_size": 10, "valign": "top",
                                                             **props})
        return found

    def close(self) -> None:
        self.wb.close()


def put_text(ws: Any, r: int, c: int, v: Any, f: Any = None) -> None:
    if v is None or v == "":
        ws.write_blank(r, c, None, f)
    else:
        ws.write_string(r, c, str(v), f)


def put_num(ws: Any, r: int, c: int, v: Decimal | int | None, f: Any = None) -> None:
    if v is None:
        ws.write_blank(r, c, None, f)
    else:
        ws.write_number(r, c, float(v), f)  # serialising an exact value, not arithmetic


def put_date(ws: Any, r: int, c: int, v: date | None, f: Any = None) -> None:
    if v is None:
        ws.write_blank(r, c, None, f)
    else:
        ws.write_datetime(r, c, datetime(v.year, v.month, v.day), f)


def put_formula(ws: Any, r: int, c: int, formula: str, f: Any, value: Decimal | int | str | None) -> None:
    """A formula with its cached value computed in Python (viewers that never recalculate show it)."""
    cached: Any = "" if value is None else (float(value) if isinstance(value, Decimal | int) else value)
    ws.write_formula(r, c, formula, f, cached)


_KIND_FORMATS: dict[str, dict[str, Any]] = {
    "money": {"num_format": MONEY_FMT}, "pct": {"num_format": PCT_FMT}, "int": {"num_format": "0"},
    "date": {"num_format": DATE_FMT, "align": "left"}, "text": {"text_wrap": True},
}
_WRITERS: dict[str, Callable[..., None]] = {
    "money": put_num, "pct": put_num, "int": put_num, "date": put_date, "text": put_text,
}


def cell(r: int, c: int, absolute: bool = False) -> str:
    from xlsxwriter.utility import xl_rowcol_to_cell

    return xl_rowcol_to_cell(r, c, absolute, absolute)


def col_range(c: int, r1: int, r2: int) -> str:
    return f"{cell(r1, c)}:{cell(r2, c)}"


def write_atomic(path: Path, build: Callable[[Path], None]) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        build(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _rag_formats(book: Book, ws: Any, first: int, last: int, col: int) -> None:
    for word, (bg, fg) in RAG_FILLS.items():
        ws.conditional_format(first, col, last, col, {"type": "text", "criteria": "begins with", "value": word,
                                                      "format": book.wb.add_format({"bg_color": bg, "font_color": fg,
                                                                                    "bold": True})})


# =========================================================================== the workbook


@dataclass(frozen=True)
class Col:
    header: str
    kind: str  # text | money | pct | int | date
    width: float = 14


def put_header(book: Book, ws: Any, row: int, cols: Sequence[Col]) -> None:
    hf = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True, valign="vcenter")
    for c, col in enumerate(cols):
        ws.write_string(row, c, col.header, hf)
        ws.set_column(c, c, col.width)
    ws.set_row(row, 42)


def put(book: Book, ws: Any, r: int, c: int, kind: str, v: Any, **extra: Any) -> None:
    """One cell of a ``Col.kind`` (text | money | pct | int | date), in that kind's format."""
    _WRITERS[kind](ws, r, c, v, book.fmt(**_KIND_FORMATS[kind], **extra))


def _received_date(line: Line) -> date | None:
    return date.fromisoformat(line.official.received_at[:10]) if line.official else None


SUMMARY_COLS = [
    Col("Partnership", "text", 14), Col("Host school", "text", 26), Col("Return", "text", 24),
    Col("Version", "int", 8), Col("Received", "date", 11), Col("DSG allocation", "money", 14),
    Col("Balance brought forward", "money", 14), Col("Other income", "money", 13), Col("Total income", "money", 14),
    Col("Annual budget", "money", 14), Col("Actual to date", "money", 14), Col("Forecast outturn", "money", 14),
    Col("Variance (outturn − budget)", "money", 14), Col("Variance %", "pct", 9),
    Col("Forecast year-end balance", "money", 14), Col("Balance % of allocation", "pct", 10),
    Col("Financial status", "text", 22), Col("Why", "text", 44), Col("Surplus plan", "text", 30),
]
SUMMARY_FIRST_ROW = 5  # 0-based row of the first partnership


def summary_money(f: Figures) -> list[Decimal | None]:
    """Summary columns 5..12 and 14 (the summed ones), in column order."""
    return [f.allocation, f.balance_bf, f.other_income, f.total_income, f.budget, f.to_date, f.outturn, f.variance]


def _write_summary(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Summary")
    lines = c.headline()
    n = len(lines)
    first, last = SUMMARY_FIRST_ROW, SUMMARY_FIRST_ROW + n - 1
    tot, med = last + 1, last + 2
    accepted = c.accepted()
    ws.write_string(0, 0, f"Primary Behaviour Provisions – consolidated financial position, {c.period_long}",
                    book.fmt(bold=True, font_size=14))
    ws.write_string(1, 0, f"{c.la_name}. Each provision's official return (its latest accepted version), "
                          "recalculated from its inputs. Blank figures: no accepted return.", book.fmt(italic=True))
    missing = sum(1 for ln in lines if ln.figures is None)
    ws.write_string(2, 0, f"{len(accepted)} of {n} provisions have an accepted return for {c.period}"
                          + (f"; {missing} without (shown, never counted as zero)." if missing else "."),
                    book.fmt(bold=True))
    put_header(book, ws, first - 1, SUMMARY_COLS)
    for i, ln in enumerate(lines):
        r = first + i
        f = ln.figures
        put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
        put_text(ws, r, 1, ln.provision.host_school, book.fmt(text_wrap=True))
        put_text(ws, r, 2, ln.label, book.fmt(text_wrap=True, bold=f is None,
                                              font_color="#9C0006" if f is None else "#000000"))
        put(book, ws, r, 3, "int", ln.official.version if ln.official and f else None)
        put(book, ws, r, 4, "date", _received_date(ln) if f else None)
        if f is None:
            for col in range(5, 16):
                ws.write_blank(r, col, None, book.fmt(bg_color="#F2F2F2"))
            put_text(ws, r, 16, "No data – " + ("missing" if ln.state in ("missing", "not issued") else ln.state),
                     book.fmt(text_wrap=True))
            put_text(ws, r, 17, "No accepted return: figures are blank, not zero.", book.fmt(text_wrap=True))
            ws.write_blank(r, 18, None)
            continue
        for j, v in enumerate(summary_money(f)):
            put(book, ws, r, 5 + j, "money", v)
        put_formula(ws, r, 13, f'=IF(N({cell(r, 9)})=0,"",{cell(r, 12)}/{cell(r, 9)})', book.fmt(num_format=PCT_FMT),
                    f.variance_pct)
        put(book, ws, r, 14, "money", f.forecast_balance)
        put_formula(ws, r, 15, f'=IF(N({cell(r, 5)})=0,"",{cell(r, 14)}/{cell(r, 5)})', book.fmt(num_format=PCT_FMT),
                    f.balance_pct)
        put_text(ws, r, 16, f.rag_label, book.fmt(text_wrap=True))
        put_text(ws, r, 17, f.rag_reason[:1].upper() + f.rag_reason[1:] + ".", book.fmt(text_wrap=True))
        put_text(ws, r, 18, f.surplus_flag, book.fmt(text_wrap=True, bold=f.clawback))
    _rag_formats(book, ws, first, last, 16)
    bold_money = book.fmt(num_format=MONEY_FMT, bold=True, top=1)
    bold_pct = book.fmt(num_format=PCT_FMT, bold=True, top=1)
    ws.write_string(tot, 0, f"LA total ({len(accepted)} of {n} with an accepted return)",
                    book.fmt(bold=True, top=1, text_wrap=True))
    ws.write_string(med, 0, "LA median (of those with an accepted return)", book.fmt(bold=True, text_wrap=True))
    getters: dict[int, Callable[[Figures], Decimal | None]] = {
        5: lambda f: f.allocation, 6: lambda f: f.balance_bf, 7: lambda f: f.other_income,
        8: lambda f: f.total_income, 9: lambda f: f.budget, 10: lambda f: f.to_date, 11: lambda f: f.outturn,
        12: lambda f: f.variance, 14: lambda f: f.forecast_balance}
    for col, get in getters.items():
        rng = col_range(col, first, last)
        total = c.la_total(get) if accepted else Decimal(0)
        put_formula(ws, tot, col, f"=SUM({rng})", bold_money, total)
        put_formula(ws, med, col, f'=IF(COUNT({rng})=0,"",MEDIAN({rng}))', book.fmt(num_format=MONEY_FMT),
                    c.la_median(get))
    t_var, t_bud = c.la_total(lambda f: f.variance), c.la_total(lambda f: f.budget)
    t_bal, t_alloc = c.la_total(lambda f: f.forecast_balance), c.la_total(lambda f: f.allocation)
    put_formula(ws, tot, 13, f'=IF(N({cell(tot, 9)})=0,"",{cell(tot, 12)}/{cell(tot, 9)})', bold_pct,
                ratio(t_var, t_bud))
    put_formula(ws, tot, 15, f'=IF(N({cell(tot, 5)})=0,"",{cell(tot, 14)}/{cell(tot, 5)})', bold_pct,
                ratio(t_bal, t_alloc))
    for col, get in ((13, lambda f: f.variance_pct), (15, lambda f: f.balance_pct)):
        rng = col_range(col, first, last)
        put_formula(ws, med, col, f'=IF(COUNT({rng})=0,"",MEDIAN({rng}))', book.fmt(num_format=PCT_FMT),
                    c.la_median(get))
    for col in (1, 2, 3, 4, 16, 17, 18):
        ws.write_blank(tot, col, None, book.fmt(top=1))
    note = med + 2
    th = c.thresholds
    for k, text in enumerate([
        "Financial status: Red – a deficit is forecast. Amber – a possible claw-back (see Surplus plan) or a "
        f"forecast outturn more than {th.variance_commentary_pct}% and £{th.variance_commentary_min:,} away from "
        "budget. Green – otherwise. The colour repeats the words; it never replaces them.",
        f"Possible claw-back (toolkit section 4): forecast balance above {th.surplus_plan_pct}% of the allocation and "
        f"the part of it with no planned use also above {th.surplus_plan_pct}% of the allocation.",
        "Totals and medians cover provisions with an accepted return only. See About for the returns used.",
    ]):
        ws.write_string(note + k, 0, text, book.fmt(italic=True, font_color="#404040"))
    ws.freeze_panes(first, 1)
    ws.autofilter(first - 1, 0, last, len(SUMMARY_COLS) - 1)
    chart_row = note + 4
    if accepted:
        ch = book.wb.add_chart({"type": "column"})
        for col, colour in ((5, "#9DC3E6"), (11, "#1F4E78")):
            ch.add_series({"name": ["Summary", first - 1, col], "categories": ["Summary", first, 0, last, 0],
                           "values": ["Summary", first, col, last, col], "fill": {"color": colour}})
        ch.set_title({"name": "DSG allocation and forecast outturn by partnership"})
        ch.set_y_axis({"num_format": "£#,##0", "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        ch.set_legend({"position": "bottom"})
        ch.set_size({"width": 760, "height": 340})
        ws.insert_chart(chart_row, 0, ch)
        ch2 = book.wb.add_chart({"type": "column"})
        ch2.add_series({"name": ["Summary", first - 1, 14], "categories": ["Summary", first, 0, last, 0],
                        "values": ["Summary", first, 14, last, 14], "fill": {"color": "#548235"},
                        "invert_if_negative": False})
        ch2.set_title({"name": "Forecast year-end balance by partnership"})
        ch2.set_y_axis({"num_format": "£#,##0"})
        ch2.set_legend({"none": True})
        ch2.set_size({"width": 620, "height": 340})
        ws.insert_chart(chart_row, 8, ch2)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(first - 1)


BY_CATEGORY_COLS = [Col("Category", "text", 36), Col("Annual budget", "money"), Col("Actual Q1", "money"),
                    Col("Actual Q2", "money"), Col("Actual Q3", "money"), Col("Actual Q4", "money"),
                    Col("Actual to date", "money"), Col("Forecast rest of year", "money"),
                    Col("Forecast outturn", "money"), Col("Variance (outturn − budget)", "money"),
                    Col("Variance %", "pct", 10)]


def category_totals(c: Consolidation) -> list[tuple[str, list[Decimal | None]]]:
    """LA totals per category for the headline period: budget, Q1..Q4, to date, forecast, outturn, variance."""
    out = []
    accepted = c.accepted()
    for i, (_key, label) in enumerate(c.categories):
        cats = [f.categories[i] for f in accepted]
        row = [sum_known(x.budget for x in cats), *(sum_known(x.actual[q] for x in cats) for q in range(4)),
               sum_known(x.to_date for x in cats), sum_known(x.forecast for x in cats), sum_known(x.outturn for x in cats),
               sum_known(x.variance for x in cats)]
        out.append((label, row))
    return out


def _write_by_category(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("By category")
    ws.write_string(0, 0, f"Spending by category – LA total, {c.period_long}", book.fmt(bold=True, font_size=14))
    n_acc = len(c.accepted())
    ws.write_string(1, 0, f"Sum of the {n_acc} accepted returns for {c.period} (of {len(c.provisions)} provisions). "
                          "Actual per quarter as restated in those returns.", book.fmt(italic=True))
    first = 4
    put_header(book, ws, first - 1, BY_CATEGORY_COLS)
    rows = category_totals(c)
    last = first + len(rows) - 1
    tot = last + 1
    for i, (label, vals) in enumerate(rows):
        r = first + i
        put_text(ws, r, 0, label)
        for j, v in enumerate(vals):
            put(book, ws, r, 1 + j, "money", v)
        put_formula(ws, r, 10, f'=IF(N({cell(r, 1)})=0,"",{cell(r, 9)}/{cell(r, 1)})', book.fmt(num_format=PCT_FMT),
                    ratio(vals[8], vals[0]))
    ws.write_string(tot, 0, "Total", book.fmt(bold=True, top=1))
    totals: list[Decimal | None] = []
    for j in range(9):
        col_vals = [vals[j] for _, vals in rows]
        value = sum_known(col_vals)
        totals.append(value)
        rng = col_range(1 + j, first, last)
        if any(v is not None for v in col_vals):
            put_formula(ws, tot, 1 + j, f"=SUM({rng})", book.fmt(num_format=MONEY_FMT, bold=True, top=1), value)
        else:
            ws.write_blank(tot, 1 + j, None, book.fmt(top=1))
    put_formula(ws, tot, 10, f'=IF(N({cell(tot, 1)})=0,"",{cell(tot, 9)}/{cell(tot, 1)})',
                book.fmt(num_format=PCT_FMT, bold=True, top=1), ratio(totals[8], totals[0]))
    ws.freeze_panes(first, 1)
    if n_acc:
        ch = book.wb.add_chart({"type": "bar"})
        for col, colour in ((1, "#9DC3E6"), (8, "#1F4E78")):
            ch.add_series({"name": ["By category", first - 1, col], "categories": ["By category", first, 0, last, 0],
                           "values": ["By category", first, col, last, col], "fill": {"color": colour}})
        ch.set_title({"name": "Budget and forecast outturn by category (LA)"})
        ch.set_x_axis({"num_format": "£#,##0"})
        ch.set_y_axis({"reverse": True, "interval_unit": 1, "num_font": {"size": 8}})
        ch.set_legend({"position": "bottom"})
        ch.set_size({"width": 720, "height": 420})
        ws.insert_chart(tot + 2, 0, ch)
        ch2 = book.wb.add_chart({"type": "column"})
        ch2.add_series({"name": "Actual spend (LA)", "categories": ["By category", first - 1, 2, first - 1, 1 + c.quarter],
                        "values": ["By category", tot, 2, tot, 1 + c.quarter], "fill": {"color": "#2E75B6"}})
        ch2.set_title({"name": "LA spend by quarter"})
        ch2.set_y_axis({"num_format": "£#,##0"})
        ch2.set_legend({"none": True})
        ch2.set_size({"width": 480, "height": 300})
        ws.insert_chart(tot + 2, 6, ch2)


CATEGORY_TABLE = "CategoryData"
CATEGORY_COLS = [Col("Reporting quarter", "int", 10), Col("Partnership", "text", 14),
                 Col("Host school", "text", 26), Col("Return status", "text", 24), Col("Category", "text", 32),
                 Col("Annual budget", "money"), Col("Actual in quarter", "money"),
                 Col("Actual to date", "money"), Col("Forecast rest of year", "money"),
                 Col("Forecast outturn", "money"), Col("Variance", "money"), Col("Commentary", "text", 50)]


def category_rows(c: Consolidation) -> list[dict[str, Any]]:
    """The tidy fact table: one row per reporting quarter x provision x category."""
    out = []
    for q in c.quarters:
        for prov in c.provisions:
            ln = c.lines[(prov.partnership, q)]
            f = ln.figures
            for i, (key, label) in enumerate(c.categories):
                cat = f.categories[i] if f else None
                out.append({
                    "year": str(c.year), "reporting_quarter": q, "partnership": prov.partnership,
                    "host_school": prov.host_school, "urn": prov.urn, "provision": prov.provision,
                    "return_status": ln.state, "return_label": ln.label,
                    "version": ln.official.version if f and ln.official else None,
                    "category_key": key, "category": label,
                    "budget": cat.budget if cat else None, "actual_in_quarter": cat.actual[q - 1] if cat else None,
                    "actual_to_date": cat.to_date if cat else None, "forecast_rest_of_year": cat.forecast if cat else None,
                    "forecast_outturn": cat.outturn if cat else None, "variance": cat.variance if cat else None,
                    "commentary": cat.commentary if cat else None,
                })
    return out


def _write_categories(book: Book, c: Consolidation, rows: list[dict[str, Any]]) -> None:
    ws = book.wb.add_worksheet("Categories")
    keys = ["reporting_quarter", "partnership", "host_school", "return_label", "category",
            "budget", "actual_in_quarter", "actual_to_date", "forecast_rest_of_year", "forecast_outturn", "variance",
            "commentary"]
    for j, col in enumerate(CATEGORY_COLS):
        ws.set_column(j, j, col.width)
    last = max(len(rows), 1)
    ws.add_table(0, 0, last, len(CATEGORY_COLS) - 1, {
        "name": CATEGORY_TABLE, "style": "Table Style Medium 2", "autofilter": True,
        "columns": [{"header": col.header} for col in CATEGORY_COLS]})
    money = book.fmt(num_format=MONEY_FMT)
    intf = book.fmt(num_format="0")
    plain = book.fmt()
    missing_f = book.fmt(font_color="#9C0006", bold=True)
    for i, row in enumerate(rows, start=1):
        for j, (key, col) in enumerate(zip(keys, CATEGORY_COLS, strict=True)):
            v = row[key]
            if col.kind == "money":
                put_num(ws, i, j, v, money)
            elif col.kind == "int":
                put_num(ws, i, j, v, intf)
            else:
                put_text(ws, i, j, v, missing_f if key == "return_label" and row["version"] is None else plain)
    ws.freeze_panes(1, 3)


ITEM_COLS = [Col("Partnership", "text", 14), Col("Return", "text", 20), Col("Item", "text", 8),
             Col("Date", "date", 11), Col("Description", "text", 36), Col("Supplier", "text", 26),
             Col("Category", "text", 26), Col("Amount", "money"), Col("Partnership signatory", "text", 18),
             Col("Date signed", "date", 11), Col("Host school signatory", "text", 18), Col("Date signed", "date", 11),
             Col("Both signatures", "text", 12)]


def _write_items(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Items over £30k")
    ws.write_string(0, 0, f"Register of single items of spend of £{c.thresholds.large_item:,} or more – "
                          f"{c.period_long}", book.fmt(bold=True, font_size=14))
    ws.write_string(1, 0, "From the items table of each official return (toolkit section 5: each needs a Neighbourhood "
                          "Partnership signatory and a host school signatory).", book.fmt(italic=True))
    first = 4
    put_header(book, ws, first - 1, ITEM_COLS)
    r = first
    amounts: list[Decimal | None] = []
    for ln in c.headline():
        f = ln.figures
        if f is None:
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label, bold=True, font_color="#9C0006")
            put_text(ws, r, 2, "no accepted return", book.fmt(italic=True))
            r += 1
            continue
        if not f.items:
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label)
            put_text(ws, r, 2, "none listed", book.fmt(italic=True))
            r += 1
            continue
        for it in f.items:
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            vals = [ln.label, f"Item {it.row}", it.date, it.description, it.supplier, it.category, it.amount,
                    it.partnership_signatory, it.partnership_signed, it.host_signatory, it.host_signed,
                    "Yes" if it.signed_by_both else "NO"]
            for j, (col, v) in enumerate(zip(ITEM_COLS[1:], vals, strict=True), start=1):
                put(book, ws, r, j, col.kind, v)
            amounts.append(it.amount)
            r += 1
    ws.write_string(r, 0, "Total", book.fmt(bold=True, top=1))
    put_formula(ws, r, 7, f"=SUM({col_range(7, first, max(first, r - 1))})",
                book.fmt(num_format=MONEY_FMT, bold=True, top=1), sum_known(amounts) or Decimal(0))
    ws.freeze_panes(first, 1)
    ws.autofilter(first - 1, 0, max(first, r - 1), len(ITEM_COLS) - 1)


BALANCE_COLS = [Col("Partnership", "text", 14), Col("Return", "text", 20), Col("DSG allocation", "money"),
                Col("Forecast year-end balance", "money"), Col("Balance % of allocation", "pct", 10),
                Col("Plan threshold", "money"), Col("Planned: CPD", "money"), Col("Planned: future proofing", "money"),
                Col("Planned: contingency", "money"), Col("Planned: other", "money"),
                Col("Other planned use: what for", "text", 30), Col("Total planned use", "money"),
                Col("Unplanned surplus", "money"), Col("Distribution approach", "text", 16),
                Col("Recovery plan (deficit)", "text", 40), Col("Flag", "text", 30)]


def _write_balances(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Balances")
    th = c.thresholds
    ws.write_string(0, 0, f"Balances and planned use of surplus – {c.period_long}", book.fmt(bold=True, font_size=14))
    ws.write_string(1, 0, f"Plan threshold = {th.surplus_plan_pct}% of the DSG allocation (pbp.toml surplus_plan_pct). "
                          "Possible claw-back (toolkit section 4): the forecast balance is above the threshold and so "
                          "is the part of it with no planned use.", book.fmt(italic=True))
    first = 4
    put_header(book, ws, first - 1, BALANCE_COLS)
    lines = c.headline()
    last = first + len(lines) - 1
    for i, ln in enumerate(lines):
        r = first + i
        f = ln.figures
        put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
        if f is None:
            put(book, ws, r, 1, "text", ln.label, bold=True, font_color="#9C0006")
            for col in range(2, 15):
                ws.write_blank(r, col, None, book.fmt(bg_color="#F2F2F2"))
            put_text(ws, r, 15, "No data – no accepted return")
            continue
        put(book, ws, r, 1, "text", ln.label)
        put(book, ws, r, 2, "money", f.allocation)
        put(book, ws, r, 3, "money", f.forecast_balance)
        put_formula(ws, r, 4, f'=IF(N({cell(r, 2)})=0,"",{cell(r, 3)}/{cell(r, 2)})', book.fmt(num_format=PCT_FMT),
                    f.balance_pct)
        put_formula(ws, r, 5, f"=ROUND({cell(r, 2)}*{th.surplus_plan_pct}/100,2)", book.fmt(num_format=MONEY_FMT),
                    f.threshold)
        for j, v in enumerate(f.surplus):
            put(book, ws, r, 6 + j, "money", v)
        put(book, ws, r, 10, "text", f.surplus_other_description)
        put(book, ws, r, 11, "money", f.planned_total)
        put_formula(ws, r, 12, f"=IF({cell(r, 3)}>0,MAX({cell(r, 3)}-{cell(r, 11)},0),0)",
                    book.fmt(num_format=MONEY_FMT), f.unplanned)
        put(book, ws, r, 13, "text", f.surplus_approach)
        put(book, ws, r, 14, "text", f.recovery_plan)
        put(book, ws, r, 15, "text", f.surplus_flag, bold=f.clawback, font_color="#9C0006" if f.clawback else "#000000")
    tot = last + 1
    ws.write_string(tot, 0, "LA total", book.fmt(bold=True, top=1))
    acc = c.accepted()
    for col, get in ((2, lambda f: f.allocation), (3, lambda f: f.forecast_balance), (5, lambda f: f.threshold),
                     (6, lambda f: f.surplus[0]), (7, lambda f: f.surplus[1]), (8, lambda f: f.surplus[2]),
                     (9, lambda f: f.surplus[3]), (11, lambda f: f.planned_total), (12, lambda f: f.unplanned)):
        put_formula(ws, tot, col, f"=SUM({col_range(col, first, last)})",
                    book.fmt(num_format=MONEY_FMT, bold=True, top=1), sum_known(get(f) for f in acc) or Decimal(0))
    put_formula(ws, tot, 4, f'=IF(N({cell(tot, 2)})=0,"",{cell(tot, 3)}/{cell(tot, 2)})',
                book.fmt(num_format=PCT_FMT, bold=True, top=1),
                ratio(c.la_total(lambda f: f.forecast_balance), c.la_total(lambda f: f.allocation)))
    flagged = sum(1 for f in acc if f.clawback)
    put_text(ws, tot, 15, f"{flagged} possible claw-back(s)", book.fmt(bold=True, top=1))
    ws.freeze_panes(first, 1)


PLACEMENT_COLS = [Col("Reporting quarter", "int", 10), Col("Partnership", "text", 14), Col("Host school", "text", 26),
                  Col("Return", "text", 24), Col("Pupils placed outside key stage this quarter", "int", 16),
                  Col("Multidisciplinary meeting held before each?", "text", 16), Col("Flag", "text", 34)]


def _write_placements(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Placements")
    ws.write_string(0, 0, f"Placements outside key stage (toolkit section 7) – {c.year}, quarters "
                          f"{', '.join(f'Q{q}' for q in c.quarters)}", book.fmt(bold=True, font_size=14))
    ws.write_string(1, 0, "Each placement needs a multidisciplinary meeting first and must be reported termly and "
                          "annually. LA-internal: exact counts (the headteacher summaries suppress small ones).",
                    book.fmt(italic=True))
    first = 4
    put_header(book, ws, first - 1, PLACEMENT_COLS)
    r = first
    total = 0
    for q in c.quarters:
        for prov in c.provisions:
            ln = c.lines[(prov.partnership, q)]
            f = ln.figures
            put(book, ws, r, 0, "int", q)
            put_text(ws, r, 1, prov.partnership, book.fmt(bold=True))
            put(book, ws, r, 2, "text", prov.host_school)
            if f is None:
                put(book, ws, r, 3, "text", ln.label, bold=True, font_color="#9C0006")
                ws.write_blank(r, 4, None, book.fmt(bg_color="#F2F2F2"))
                ws.write_blank(r, 5, None, book.fmt(bg_color="#F2F2F2"))
                put_text(ws, r, 6, "No data – no accepted return")
            else:
                put(book, ws, r, 3, "text", ln.label)
                put(book, ws, r, 4, "int", f.placements)
                put(book, ws, r, 5, "text", f.mdm_held)
                total += f.placements or 0
                if f.placements and f.mdm_held != "Yes":
                    flag = "Meeting not confirmed"
                elif f.placements:
                    flag = "Placement(s) reported; meeting held"
                else:
                    flag = "None"
                put(book, ws, r, 6, "text", flag)
            r += 1
    ws.write_string(r, 0, "Total", book.fmt(bold=True, top=1))
    put_formula(ws, r, 4, f"=SUM({col_range(4, first, r - 1)})", book.fmt(num_format="0", bold=True, top=1), total)
    ws.freeze_panes(first, 2)
    ws.autofilter(first - 1, 0, r - 1, len(PLACEMENT_COLS) - 1)


STATUS_COLS = [Col("Period", "text", 12), Col("Partnership", "text", 14), Col("Host school", "text", 26),
               Col("Issued", "date", 11), Col("Due", "date", 11), Col("Files received", "int", 9),
               Col("Latest version", "int", 9), Col("Latest status", "text", 20), Col("Official version", "int", 9),
               Col("State", "text", 22), Col("Late", "text", 7)]


def _write_status(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Returns status")
    ws.write_string(0, 0, f"Returns status – {c.year}, as at {c.generated_at:%d/%m/%Y %H:%M} UTC",
                    book.fmt(bold=True, font_size=14))
    first = 3
    put_header(book, ws, first - 1, STATUS_COLS)
    order = {p.partnership: i for i, p in enumerate(c.provisions)}
    rows = sorted(c.status, key=lambda s: (s["quarter"], order.get(s["partnership"], 0)))
    for i, s in enumerate(rows):
        r = first + i
        state = s["state"].replace("_", " ")
        vals = [s["period"], s["partnership"], s["host_school"],
                date.fromisoformat(s["issued"][:10]) if s["issued"] else None,
                date.fromisoformat(s["due"]) if s["due"] else None, s["received"], s["latest_version"],
                (s["latest_status"] or "").replace("_", " ") or None, s["official_version"],
                state.upper() if s["state"] in ("missing", "rejected", "not issued") else state,
                "LATE" if s["late"] else "no"]
        for j, (col, v) in enumerate(zip(STATUS_COLS, vals, strict=True)):
            bad = j == 9 and s["state"] in ("missing", "rejected", "not issued")
            put(book, ws, r, j, col.kind, v, **({"bold": True, "font_color": "#9C0006"} if bad else {}))
    ws.freeze_panes(first, 2)
    ws.autofilter(first - 1, 0, first + max(len(rows), 1) - 1, len(STATUS_COLS) - 1)


LOG_COLS = [Col("Period", "text", 12), Col("Partnership", "text", 14), Col("Version", "int", 8),
            Col("File", "text", 36), Col("Received", "text", 20), Col("File status", "text", 18),
            Col("Official?", "text", 9), Col("Code", "text", 9), Col("Severity", "text", 9), Col("Sheet", "text", 9),
            Col("Cell", "text", 7), Col("Field", "text", 24), Col("Value", "text", 24), Col("Message", "text", 80)]


def _write_log(book: Book, c: Consolidation) -> None:
    ws = book.wb.add_worksheet("Data quality")
    ws.write_string(0, 0, f"Data-quality log – every finding on every file received for {c.year} "
                          f"({', '.join(f'Q{q}' for q in c.quarters)})", book.fmt(bold=True, font_size=14))
    ws.write_string(1, 0, "Errors made a file rejected; warnings were accepted for the LA to look at. 'Official?' = the "
                          "version the consolidation uses.", book.fmt(italic=True))
    first = 4
    put_header(book, ws, first - 1, LOG_COLS)
    if not c.findings:
        ws.write_string(first, 0, "No findings: every file received was accepted without warnings.")
    for i, fd in enumerate(c.findings):
        r = first + i
        vals = [fd["period"], fd["partnership"], fd["version"], fd["file"], fd["received_at"],
                str(fd["file_status"]).replace("_", " "), "Yes" if fd["official"] else "no", fd["code"],
                fd["severity"], fd["sheet"], fd["cell"], fd["name"], fd["value"], fd["message"]]
        for j, (col, v) in enumerate(zip(LOG_COLS, vals, strict=True)):
            extra = {"bold": True, "font_color": "#9C0006"} if j == 8 and v == "error" else {}
            put(book, ws, r, j, col.kind, v, **extra)
    ws.freeze_panes(first, 0)
    ws.autofilter(first - 1, 0, first + max(len(c.findings), 1) - 1, len(LOG_COLS) - 1)


def _write_about(book: Book, c: Consolidation, csv_names: Sequence[str]) -> None:
    ws = book.wb.add_worksheet("About")
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 14)
    ws.set_column(2, 7, 22)
    th = c.thresholds
    lines: list[tuple[str, dict[str, Any]]] = [
        (f"About this workbook – {c.period_long}", {"bold": True, "font_size": 14}),
        (f"Made by pbp-workbooks {__version__} on {c.generated_at:%d/%m/%Y at %H:%M} UTC for {c.la_name}.", {}),
        ("Source: the ledger of received returns. For each provision and quarter the official return is its latest "
         "accepted version; every total, outturn, variance and balance is recalculated from its inputs (the values "
         "cached in the received file are never used). Money is exact to the penny.", {}),
        ("A provision without an accepted return is listed with blank figures and a MISSING / REJECTED / NOT ISSUED "
         "label: it is never dropped and never counted as zero.", {}),
        (f"Thresholds (pbp.toml): surplus plan {th.surplus_plan_pct}% of allocation; variance commentary "
         f"{th.variance_commentary_pct}% and £{th.variance_commentary_min:,}; large item £{th.large_item:,}.", {}),
        ("Text typed into a return (commentaries, descriptions, names) is stored as text and can never run as a "
         "formula here. In the CSV files such text starting with = + - @ TAB or CR has a leading apostrophe.", {}),
        ("Tidy data for BI tools, next to this workbook: " + "; ".join(csv_names) + ". Pupil counts of 1 to 4 in "
         "the CSV files are shown as 'c' (suppressed).", {}),
        ("Published sheets: " + ", ".join(f"'{n}'" for n in PUBLISHED_SHEETS) + " (when annual reports are in) may "
         "be circulated, so small numbers of pupils are suppressed there (c = 1 to 4 pupils, or hidden so a small "
         "number cannot be worked out from a total). Every other sheet is LA-internal and keeps exact counts.", {}),
        ("", {}),
        ("Returns used", {"bold": True}),
    ]
    for i, (text, style) in enumerate(lines):
        ws.write_string(i, 0, text, book.fmt(**style))
    r = len(lines)
    hdr = ["Period", "Partnership", "Version", "Status", "Received", "File as sent", "Archived copy", "SHA-256"]
    for j, h in enumerate(hdr):
        ws.write_string(r, j, h, book.fmt(bold=True, bg_color=HEADER_FILL, border=1))
    for q in c.quarters:
        for prov in c.provisions:
            ln = c.lines[(prov.partnership, q)]
            if ln.official is None or ln.figures is None:
                continue
            r += 1
            o = ln.official
            for j, v in enumerate([f"{c.year} Q{q}", prov.partnership, o.version, o.status.replace("_", " "),
                                   o.received_at, o.original_name, o.archive_path, o.sha256]):
                if isinstance(v, int):
                    put_num(ws, r, j, v)
                else:
                    put_text(ws, r, j, v)


def write_workbook(c: Consolidation, path: Path, csv_names: Sequence[str] = (),
                   rows: list[dict[str, Any]] | None = None) -> Path:
    rows = category_rows(c) if rows is None else rows

    def build(tmp: Path) -> None:
        book = Book(tmp)
        book.wb.set_properties({"title": f"PBP consolidated {c.period}", "author": c.la_name, "company": c.la_name,
                                "comments": f"pbp-workbooks {__version__}",
                                "created": c.generated_at.replace(tzinfo=None)})
        _write_summary(book, c)
        _write_by_category(book, c)
        _write_categories(book, c, rows)
        _write_items(book, c)
        _write_balances(book, c)
        _write_placements(book, c)
        if c.annual is not None:
            write_annual_sheets(book, c)
        _write_status(book, c)
        _write_log(book, c)
        _write_about(book, c, csv_names)
        book.close()

    return write_atomic(path, build)


# =========================================================================== the annual overview
#
# Added to the LA workbook when the consolidation is asked for without --quarter and the
# LA has accepted at least one annual report for the year. Its three sheets (Annual KPIs,
# Annual pupils, Annual delivery) are PUBLISHED sheets: they may be circulated to the
# partnerships and the Behaviour Partnership Board, so every pupil count in them goes
# through suppression.py (one suppression pattern for the whole overview, also used by
# the headteacher summaries' Annual sheet and the annual CSV, so that no two published
# outputs can be combined to undo it). The other sheets of the LA workbook are
# LA-internal and keep exact counts (see About).

ANNUAL = "annual"
BREAKDOWNS = ("gender", "ethnicity", "send", "keystage")
METHODS = "methods"
KPI = "kpi"
# which way is better for each KPI of the annual spec's grid (the spec says nothing about it)
KPI_BETTER = {"attendance": "higher", "reintegration": "higher", "incidents": "lower", "self_esteem": "higher",
              "stay_weeks": "lower", "exclusions": "lower"}
KPI_FILLS = {"Met": ("#C6EFCE", "#006100"), "Not met": ("#FFC7CE", "#9C0006"), "No data": ("#E7E6E6", "#404040")}
PUBLISHED_SHEETS = ("Annual KPIs", "Annual pupils", "Annual delivery")


def kpi_status(target: Any, actual: Any, better: str) -> str:
    """'Met' / 'Not met' / 'No data': a word, never a colour alone."""
    if not isinstance(target, Decimal | int) or not isinstance(actual, Decimal | int):
        return "No data"
    return "Met" if (actual >= target if better == "higher" else actual <= target) else "Not met"


def count_or_zero(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


@dataclass
class AnnualLine:
    """One provision's annual report: its status and, if one was accepted, its values."""

    provision: roster_mod.Provision
    status: dict[str, Any]
    official: Official | None = None
    values: dict[str, Any] | None = None  # inputs + formula fields (calc.compute)

    @property
    def partnership(self) -> str:
        return self.provision.partnership

    @property
    def state(self) -> str:
        return str(self.status["state"])

    @property
    def label(self) -> str:
        return status_label(self.status, self.official if self.values is not None else None, "annual report")


@dataclass
class AnnualOverview:
    year: FinancialYear
    spec: Spec
    lines: list[AnnualLine]
    hidden: dict[tuple[str, ...], bool]  # suppression pattern, see _suppress_annual

    def accepted(self) -> list[AnnualLine]:
        return [ln for ln in self.lines if ln.values is not None]

    def rows(self, section: str) -> list[tuple[str, str]]:
        sec = next(s for s in self.spec.sections if s.key == section)
        return list(zip(sec.row_keys, sec.row_labels, strict=True))

    def title(self, section: str) -> str:
        return next(s for s in self.spec.sections if s.key == section).title

    def line(self, partnership: str) -> AnnualLine:
        return next(ln for ln in self.lines if ln.partnership == partnership)

    # ---- published values: a count, or suppression.MARKER
    def _pub(self, key: tuple[str, ...], n: int | None) -> int | str | None:
        return suppression.shown(n, self.hidden.get(key, False))

    def _share(self, n: int, total: int, *keys: tuple[str, ...]) -> Decimal | str | None:
        if any(self.hidden.get(k, False) for k in keys):
            return suppression.MARKER
        return None if total == 0 else Decimal(n) / Decimal(total)

    def pupils(self, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub(("pupils", p), count_or_zero(v.get("pupils_supported")))

    def cell(self, b: str, row: str, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub(("cell", b, row, p), count_or_zero(v.get(f"{b}_{row}_pupils")))

    def share(self, b: str, row: str, p: str) -> Decimal | str | None:
        v = self.line(p).values
        if v is None:
            return None
        return self._share(count_or_zero(v.get(f"{b}_{row}_pupils")), count_or_zero(v.get("pupils_supported")),
                           ("cell", b, row, p), ("pupils", p))

    def la_pupils(self) -> int | str:
        return self._pub(("grand",), sum(count_or_zero(ln.values.get("pupils_supported")) for ln in self.accepted()
                                         if ln.values)) or 0

    def la_count(self, b: str, row: str) -> int:
        return sum(count_or_zero(ln.values.get(f"{b}_{row}_pupils")) for ln in self.accepted() if ln.values)

    def la_cell(self, b: str, row: str) -> int | str | None:
        return self._pub(("col", b, row), self.la_count(b, row))

    def la_share(self, b: str, row: str) -> Decimal | str | None:
        grand = sum(count_or_zero(ln.values.get("pupils_supported")) for ln in self.accepted() if ln.values)
        return self._share(self.la_count(b, row), grand, ("col", b, row), ("grand",))

    def methods(self, row: str, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub((METHODS, row, p), count_or_zero(v.get(f"methods_{row}_pupils")))

    def la_methods(self, row: str) -> int | str | None:
        return self._pub(("methods_total", row), sum(count_or_zero(ln.values.get(f"methods_{row}_pupils"))
                                                     for ln in self.accepted() if ln.values))

    def placements(self, p: str) -> int | str | None:
        v = self.line(p).values
        return None if v is None else self._pub(("placements", p), count_or_zero(v.get("placements_outside_ks")))

    def la_placements(self) -> int | str | None:
        return self._pub(("placements_total",), sum(count_or_zero(ln.values.get("placements_outside_ks"))
                                                    for ln in self.accepted() if ln.values))


def _suppress_annual(spec: Spec, lines: list[AnnualLine]) -> dict[tuple[str, ...], bool]:
    """One suppression pattern for everything the overview publishes: per breakdown a
    partnership x group table whose row totals are the pupils supported (shared by the
    four breakdowns), whose column totals are the LA's, and whose grand total is the LA's
    pupils supported; the pupils per delivery method and the placements outside key stage
    with their LA totals."""
    acc = [ln for ln in lines if ln.values is not None]
    values: list[int] = []
    keys: list[tuple[str, ...]] = []
    idx: dict[tuple[str, ...], int] = {}

    def add(key: tuple[str, ...], v: int) -> int:
        idx[key] = len(values)
        values.append(v)
        keys.append(key)
        return idx[key]

    def get(ln: AnnualLine, name: str) -> int:
        assert ln.values is not None
        return count_or_zero(ln.values.get(name))

    relations: list[list[int]] = []
    rows_of = {s.key: s.row_keys for s in spec.sections}
    pupils = [add(("pupils", ln.partnership), get(ln, "pupils_supported")) for ln in acc]
    grand = add(("grand",), sum(values[i] for i in pupils))
    relations.append([*pupils, grand])
    for b in BREAKDOWNS:
        cols = []
        cells: dict[tuple[str, str], int] = {}
        for row in rows_of[b]:
            for ln in acc:
                cells[(row, ln.partnership)] = add(("cell", b, row, ln.partnership), get(ln, f"{b}_{row}_pupils"))
            members = [cells[(row, ln.partnership)] for ln in acc]
            cols.append(add(("col", b, row), sum(values[i] for i in members)))
            relations.append([*members, cols[-1]])
        for ln, total in zip(acc, pupils, strict=True):
            relations.append([*(cells[(row, ln.partnership)] for row in rows_of[b]), total])
        relations.append([*cols, grand])
    for row in rows_of[METHODS]:  # a pupil can count under several methods: no row total
        members = [add((METHODS, row, ln.partnership), get(ln, f"methods_{row}_pupils")) for ln in acc]
        relations.append([*members, add(("methods_total", row), sum(values[i] for i in members))])
    members = [add(("placements", ln.partnership), get(ln, "placements_outside_ks")) for ln in acc]
    relations.append([*members, add(("placements_total",), sum(values[i] for i in members))])
    hidden = suppression.protect(values, relations)
    return dict(zip(keys, hidden, strict=True))


def load_annual(ledger: Ledger, fy: FinancialYear, provisions: list[roster_mod.Provision],
                status: list[dict[str, Any]]) -> AnnualOverview | None:
    """The year's annual reports, official = latest accepted version; None when none was accepted."""
    if ANNUAL not in spec_mod.available():
        return None
    spec = spec_mod.load(ANNUAL)
    by_partnership = {r["partnership"]: r for r in status}
    received = received_for(ledger, ANNUAL, str(fy), None)
    by_version = {(r.partnership, r.version): r for r in received}
    lines = []
    for prov in provisions:
        row = by_partnership.get(prov.partnership) or {
            "state": "not issued", "late": False, "latest_version": None, "latest_status": None,
            "official_version": None}
        line = AnnualLine(prov, row)
        rec = by_version.get((prov.partnership, row["official_version"]))
        if row["official_version"] and rec is not None and rec.values_json:
            line.official = Official(rec.version or 0, rec.status, rec.received_at, rec.original_name,
                                     rec.archive_path, rec.sha256)
            line.values = calc.compute(spec, decode(spec, rec.values_json))
        lines.append(line)
    if not any(ln.values is not None for ln in lines):
        return None
    return AnnualOverview(fy, spec, lines, _suppress_annual(spec, lines))


def put_count(book: Book, ws: Any, r: int, c: int, v: int | str | None, **extra: Any) -> None:
    """A published pupil count: a number, the suppression marker (text, right-aligned) or blank."""
    if isinstance(v, str):
        ws.write_string(r, c, v, book.fmt(align="right", **extra))
    else:
        put_num(ws, r, c, v, book.fmt(num_format="0", **extra))


def put_share(book: Book, ws: Any, r: int, c: int, v: Decimal | str | None, **extra: Any) -> None:
    if isinstance(v, str):
        ws.write_string(r, c, v, book.fmt(align="right", **extra))
    else:
        put_num(ws, r, c, v, book.fmt(num_format=PCT_FMT, **extra))


def _annual_heading(book: Book, ws: Any, c: Consolidation, title: str) -> None:
    assert c.annual is not None
    ws.write_string(0, 0, f"{title} – annual reports {c.year}", book.fmt(bold=True, font_size=14))
    n, acc = len(c.annual.lines), len(c.annual.accepted())
    ws.write_string(1, 0, f"{acc} of {n} provisions have an accepted annual report (its latest accepted version). "
                          "A provision without one is shown as MISSING / REJECTED, never as zero.",
                    book.fmt(italic=True))
    ws.write_string(2, 0, "Published sheet: small numbers of pupils are suppressed. " + suppression.LEGEND,
                    book.fmt(italic=True, font_color="#595959"))


def _missing_row(book: Book, ws: Any, r: int, ln: AnnualLine, first_blank: int, last_blank: int) -> None:
    put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
    put(book, ws, r, 1, "text", ln.label, bold=True, font_color="#9C0006")
    for col in range(first_blank, last_blank + 1):
        ws.write_blank(r, col, None, book.fmt(bg_color="#F2F2F2"))


KPI_COLS = [Col("Partnership", "text", 14), Col("Annual report", "text", 24), Col("Indicator", "text", 40),
            Col("Better when", "text", 10), Col("Target", "text", 10), Col("Actual", "text", 10),
            Col("Target met?", "text", 12), Col("Commentary", "text", 60)]


def _write_annual_kpis(book: Book, c: Consolidation) -> None:
    a = c.annual
    assert a is not None
    ws = book.wb.add_worksheet("Annual KPIs")
    _annual_heading(book, ws, c, "Key performance indicators against targets")
    first = 5
    put_header(book, ws, first - 1, KPI_COLS)
    r = first
    met = total = 0
    for ln in a.lines:
        if ln.values is None:
            _missing_row(book, ws, r, ln, 2, 5)
            put_text(ws, r, 6, "No data", book.fmt(bold=True))
            put_text(ws, r, 7, "No accepted annual report: no KPIs.")
            r += 1
            continue
        for key, label in a.rows(KPI):
            v = ln.values
            better = KPI_BETTER.get(key, "higher")
            status = kpi_status(v.get(f"kpi_{key}_target"), v.get(f"kpi_{key}_actual"), better)
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label)
            put_text(ws, r, 2, label)
            put_text(ws, r, 3, better)
            for col, name in ((4, f"kpi_{key}_target"), (5, f"kpi_{key}_actual")):
                x = v.get(name)
                put_num(ws, r, col, x if isinstance(x, Decimal | int) else None, book.fmt(num_format="0.0##"))
            put_text(ws, r, 6, status, book.fmt(bold=True))
            put(book, ws, r, 7, "text", v.get(f"kpi_{key}_commentary") or None)
            met += status == "Met"
            total += status != "No data"
            r += 1
    for word, (bg, fg) in KPI_FILLS.items():
        ws.conditional_format(first, 6, max(first, r - 1), 6, {
            "type": "cell", "criteria": "equal to", "value": f'"{word}"',
            "format": book.wb.add_format({"bg_color": bg, "font_color": fg, "bold": True})})
    ws.write_string(r + 1, 0, f"{met} of {total} KPI targets met in the accepted annual reports.", book.fmt(bold=True))
    ws.freeze_panes(first, 1)
    ws.autofilter(first - 1, 0, max(first, r - 1), len(KPI_COLS) - 1)


def _write_annual_pupils(book: Book, c: Consolidation) -> None:
    a = c.annual
    assert a is not None
    ws = book.wb.add_worksheet("Annual pupils")
    _annual_heading(book, ws, c, "Pupil profiles")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 26)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 20, 11)
    hdr = book.fmt(bold=True, bg_color=HEADER_FILL, border=1, text_wrap=True, valign="vcenter")
    r = 4
    for b in BREAKDOWNS:
        groups = a.rows(b)
        ws.write_string(r, 0, a.title(b).replace("Service delivery: p", "P"),
                        book.fmt(bold=True, font_size=12))
        r += 1
        heads = ["Partnership", "Annual report", "Pupils supported"]
        for _k, label in groups:
            heads += [f"{label}: pupils", f"{label}: share"]
        for j, h in enumerate(heads):
            ws.write_string(r, j, h, hdr)
        ws.set_row(r, 44)
        r += 1
        for ln in a.lines:
            if ln.values is None:
                _missing_row(book, ws, r, ln, 2, len(heads) - 1)
                r += 1
                continue
            put_text(ws, r, 0, ln.partnership, book.fmt(bold=True))
            put(book, ws, r, 1, "text", ln.label)
            put_count(book, ws, r, 2, a.pupils(ln.partnership))
            for j, (k, _label) in enumerate(groups):
                put_count(book, ws, r, 3 + 2 * j, a.cell(b, k, ln.partnership))
                put_share(book, ws, r, 4 + 2 * j, a.share(b, k, ln.partnership))
            r += 1
        ws.write_string(r, 0, "LA total", book.fmt(bold=True, top=1))
        ws.write_string(r, 1, f"{len(a.accepted())} accepted reports", book.fmt(top=1))
        put_count(book, ws, r, 2, a.la_pupils(), bold=True, top=1)
        for j, (k, _label) in enumerate(groups):
            put_count(book, ws, r, 3 + 2 * j, a.la_cell(b, k), bold=True, top=1)
            put_share(book, ws, r, 4 + 2 * j, a.la_share(b, k), bold=True, top=1)
        r += 3
    ws.freeze_panes(4, 1)


DELIVERY_COLS = [Col("Partnership", "text", 14), Col("Annual report", "text", 24), Col("Pupils supported", "int", 10),
                 Col("Schools supported", "int", 10), Col("Schools in the partnership", "int", 10),
                 Col("Average length of stay (weeks)", "text", 11)]


def _write_annual_delivery(book: Book, c: Consolidation) -> None:
    a = c.annual
    assert a is not None
    ws = book.wb.add_worksheet("Annual delivery")
    _annual_heading(book, ws, c, "Service delivery")
    methods = a.rows(METHODS)
    cols = list(DELIVERY_COLS)
    for _k, label in methods:
        cols += [Col(f"{label}: pupils", "int", 11), Col(f"{label}: sessions", "int", 11)]
    cols += [Col("Pupils placed outside their key stage", "int", 12),
             Col("Multidisciplinary meeting held before each?", "text", 14)]
    first = 5
    put_header(book, ws, first - 1, cols)
    r = first
    for ln in a.lines:
        if ln.values is None:
            _missing_row(book, ws, r, ln, 2, len(cols) - 1)
            r += 1
            continue
        v, p = ln.values, ln.partnership
        put_text(ws, r, 0, p, book.fmt(bold=True))
        put(book, ws, r, 1, "text", ln.label)
        put_count(book, ws, r, 2, a.pupils(p))
        put(book, ws, r, 3, "int", v.get("schools_supported"))
        put(book, ws, r, 4, "int", v.get("partnership_schools"))
        stay = v.get("avg_stay_weeks")
        put_num(ws, r, 5, stay if isinstance(stay, Decimal | int) else None, book.fmt(num_format="0.0"))
        for j, (k, _label) in enumerate(methods):
            put_count(book, ws, r, 6 + 2 * j, a.methods(k, p))
            put(book, ws, r, 7 + 2 * j, "int", v.get(f"methods_{k}_sessions"))
        put_count(book, ws, r, 6 + 2 * len(methods), a.placements(p))
        put(book, ws, r, 7 + 2 * len(methods), "text",
             v.get("placements_mdm_held") if count_or_zero(v.get("placements_outside_ks")) else "not needed")
        r += 1
    acc = [ln.values for ln in a.accepted() if ln.values is not None]
    top = {"bold": True, "top": 1}
    ws.write_string(r, 0, "LA total", book.fmt(**top))
    ws.write_string(r, 1, f"{len(acc)} accepted reports", book.fmt(top=1))
    put_count(book, ws, r, 2, a.la_pupils(), **top)
    put_count(book, ws, r, 3, sum(count_or_zero(v.get("schools_supported")) for v in acc), **top)
    put_count(book, ws, r, 4, sum(count_or_zero(v.get("partnership_schools")) for v in acc), **top)
    stays = [v["avg_stay_weeks"] for v in acc if isinstance(v.get("avg_stay_weeks"), Decimal | int)]
    put_num(ws, r, 5, sum(stays, Decimal(0)) / len(stays) if stays else None, book.fmt(num_format="0.0", **top))
    for j, (k, _label) in enumerate(methods):
        put_count(book, ws, r, 6 + 2 * j, a.la_methods(k), **top)
        put_count(book, ws, r, 7 + 2 * j, sum(count_or_zero(v.get(f"methods_{k}_sessions")) for v in acc), **top)
    put_count(book, ws, r, 6 + 2 * len(methods), a.la_placements(), **top)
    ws.write_string(r + 2, 0, "LA average length of stay: the mean of the partnerships' averages. A pupil supported "
                              "in more than one way counts under each delivery method.", book.fmt(italic=True))
    ws.freeze_panes(first, 1)


def write_annual_sheets(book: Book, c: Consolidation) -> None:
    _write_annual_kpis(book, c)
    _write_annual_pupils(book, c)
    _write_annual_delivery(book, c)


CSV_ANNUAL_KEYS = ["year", "partnership", "host_school", "urn", "provision", "return_status", "version", "section",
                   "item_key", "item", "pupils", "share", "sessions", "target", "actual", "better_when", "kpi_status"]


def annual_rows(c: Consolidation) -> list[dict[str, Any]]:
    """The annual overview as tidy rows (a published output: the same suppressed counts as the sheets)."""
    a = c.annual
    if a is None:
        return []
    out: list[dict[str, Any]] = []
    for ln in a.lines:
        prov, v = ln.provision, ln.values
        base: dict[str, Any] = {k: None for k in CSV_ANNUAL_KEYS}
        base.update(year=str(c.year), partnership=prov.partnership, host_school=prov.host_school, urn=prov.urn,
                    provision=prov.provision, return_status=ln.state,
                    version=ln.official.version if ln.official and v is not None else None)
        if v is None:
            out.append(base)
            continue
        p = prov.partnership
        out.append({**base, "section": "delivery", "item_key": "pupils_supported", "item": "Pupils supported",
                    "pupils": a.pupils(p)})
        for b in BREAKDOWNS:
            for k, label in a.rows(b):
                out.append({**base, "section": b, "item_key": k, "item": label, "pupils": a.cell(b, k, p),
                            "share": a.share(b, k, p)})
        for k, label in a.rows(METHODS):
            out.append({**base, "section": METHODS, "item_key": k, "item": label, "pupils": a.methods(k, p),
                        "sessions": v.get(f"methods_{k}_sessions")})
        out.append({**base, "section": "delivery", "item_key": "placements_outside_ks",
                    "item": "Pupils placed outside their key stage", "pupils": a.placements(p)})
        for k, label in a.rows(KPI):
            better = KPI_BETTER.get(k, "higher")
            out.append({**base, "section": KPI, "item_key": k, "item": label, "target": v.get(f"kpi_{k}_target"),
                        "actual": v.get(f"kpi_{k}_actual"), "better_when": better,
                        "kpi_status": kpi_status(v.get(f"kpi_{k}_target"), v.get(f"kpi_{k}_actual"), better)})
    la: dict[str, Any] = {k: None for k in CSV_ANNUAL_KEYS}
    la.update(year=str(c.year), partnership="LA total", return_status=f"{len(a.accepted())} accepted")
    out.append({**la, "section": "delivery", "item_key": "pupils_supported", "item": "Pupils supported",
                "pupils": a.la_pupils()})
    for b in BREAKDOWNS:
        for k, label in a.rows(b):
            out.append({**la, "section": b, "item_key": k, "item": label, "pupils": a.la_cell(b, k),
                        "share": a.la_share(b, k)})
    for k, label in a.rows(METHODS):
        out.append({**la, "section": METHODS, "item_key": k, "item": label, "pupils": a.la_methods(k)})
    out.append({**la, "section": "delivery", "item_key": "placements_outside_ks",
                "item": "Pupils placed outside their key stage", "pupils": a.la_placements()})
    return out


# =========================================================================== CSV


def csv_text(v: str) -> str:
    """Neutralise a text cell for spreadsheet programs: a leading apostrophe before = + - @ TAB CR."""
    return "'" + v if v.startswith(CSV_DANGER) else v


def _csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, date):
        return v.isoformat()
    return csv_text(str(v))


CSV_CATEGORY_KEYS = ["year", "reporting_quarter", "partnership", "host_school", "urn", "provision", "return_status",
                     "version", "category_key", "category", "budget", "actual_in_quarter", "actual_to_date",
                     "forecast_rest_of_year", "forecast_outturn", "variance", "commentary"]
CSV_PARTNERSHIP_KEYS = ["year", "reporting_quarter", "partnership", "host_school", "urn", "provision", "return_status",
                        "version", "received_at", "dsg_allocation", "balance_bf", "other_income", "total_income",
                        "budget", "actual_q1", "actual_q2", "actual_q3", "actual_q4", "actual_to_date",
                        "forecast_rest_of_year", "forecast_outturn", "variance", "forecast_balance",
                        "surplus_cpd", "surplus_future", "surplus_contingency", "surplus_other", "surplus_planned_total",
                        "surplus_plan_threshold", "unplanned_surplus", "possible_clawback", "financial_status",
                        "placements_outside_ks", "placements_mdm_held"]


def partnership_rows(c: Consolidation) -> list[dict[str, Any]]:
    out = []
    for q in c.quarters:
        for prov in c.provisions:
            ln = c.lines[(prov.partnership, q)]
            f = ln.figures
            row: dict[str, Any] = {k: None for k in CSV_PARTNERSHIP_KEYS}
            row.update(year=str(c.year), reporting_quarter=q, partnership=prov.partnership,
                       host_school=prov.host_school, urn=prov.urn, provision=prov.provision, return_status=ln.state)
            if f is not None and ln.official is not None:
                row.update(version=ln.official.version, received_at=ln.official.received_at,
                           dsg_allocation=f.allocation, balance_bf=f.balance_bf, other_income=f.other_income,
                           total_income=f.total_income, budget=f.budget,
                           actual_q1=f.actual[0], actual_q2=f.actual[1], actual_q3=f.actual[2], actual_q4=f.actual[3],
                           actual_to_date=f.to_date, forecast_rest_of_year=f.forecast, forecast_outturn=f.outturn,
                           variance=f.variance, forecast_balance=f.forecast_balance,
                           surplus_cpd=f.surplus[0], surplus_future=f.surplus[1], surplus_contingency=f.surplus[2],
                           surplus_other=f.surplus[3], surplus_planned_total=f.planned_total,
                           surplus_plan_threshold=f.threshold, unplanned_surplus=f.unplanned,
                           possible_clawback=f.clawback, financial_status=f.rag_label,
                           placements_outside_ks=(suppression.MARKER if f.placements is not None
                                                  and suppression.is_small(f.placements) else f.placements),
                           placements_mdm_held=f.mdm_held)
            out.append(row)
    return out


def write_csv(path: Path, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> Path:
    """UTF-8 with a byte-order mark (so Excel shows £ and – correctly), comma-separated, one header row."""

    def build(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(keys)
            for row in rows:
                w.writerow([_csv_cell(row[k]) for k in keys])

    return write_atomic(path, build)


# =========================================================================== the command


@dataclass
class Outputs:
    folder: Path
    workbook: Path
    csv: list[Path]
    summaries: list[Path]
    data: Consolidation


def output_folder(ws: Workspace, fy: FinancialYear, quarter: int, out: Path | None) -> Path:
    folder = out or ws.folder("reports") / f"{fy} Q{quarter}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the output folder {folder}: {err.strerror}") from None
    return folder


def consolidate(ws: Workspace, fy: FinancialYear, quarter: int | None = None, out: Path | None = None, *,
                summaries: bool = True, progress: Any = None, annual: bool | None = None) -> Outputs:
    """``annual`` (default: when no quarter is given) adds the annual overview -- sheets,
    CSV and the summaries' Annual sheet -- if an annual report for the year was accepted."""
    data = load(ws, fy, quarter, annual=annual)
    folder = output_folder(ws, fy, data.quarter, out)
    stem = f"PBP consolidated {data.period}"
    csv_paths = [folder / f"{stem} - categories.csv", folder / f"{stem} - partnerships.csv"]
    if data.annual is not None:
        csv_paths.append(folder / f"{stem} - annual.csv")
    rows = category_rows(data)
    workbook = write_workbook(data, folder / f"{stem}.xlsx", [p.name for p in csv_paths], rows)
    write_csv(csv_paths[0], CSV_CATEGORY_KEYS, rows)
    write_csv(csv_paths[1], CSV_PARTNERSHIP_KEYS, partnership_rows(data))
    if data.annual is not None:
        write_csv(csv_paths[2], CSV_ANNUAL_KEYS, annual_rows(data))
    written: list[Path] = []
    if summaries:
        from .summary import write_summaries

        written = write_summaries(data, folder, progress=progress)
    return Outputs(folder, workbook, csv_paths, written, data)


def summary_file_name(partnership: str) -> str:
    return safe_file_name(f"summary - {partnership}") + ".xlsx"
