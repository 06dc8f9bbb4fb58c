"""Validate received files: file, template/identity, field (pandera), cross-field rules.

Everything is collected lazily (every problem in one pass) and a batch of returns
goes through pandera as one frame per (template, period).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pbp_workbooks.base.errors import UnreadableFile
from pbp_workbooks.base.money import format_gbp, to_pence
from pbp_workbooks.base.periods import FUTURE_DAYS, FinancialYear, today
from pbp_workbooks.intake.reader import NotOurTemplate, ReturnData, read_workbook
from pbp_workbooks.intake.xlsx_safe import Limits, open_workbook
from pbp_workbooks.ledger.store import Ledger
from pbp_workbooks.spec import calc, expr, registry, rules
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.findings import FileReport, Finding, field_finding, template_finding
from pbp_workbooks.spec.model import Field, Spec

if TYPE_CHECKING:
    from pbp_workbooks.base.pools import QuietPool

@dataclass
class Checked:
    report: FileReport
    data: ReturnData | None = None
    values: dict[str, Any] | None = None  # inputs + computed fields
    # Findings that need only the file itself (closed quarters; cross-field rules), worked
    # out where the file was read, which may be a worker process. validate_batch adds them
    # to the report in their usual place, among the findings that need the ledger or the batch.
    closed: list[Finding] | None = None
    rules: list[Finding] | None = None
    row: FrameRow | None = None  # its row of the field-rule frame
    # Findings that need the ledger but not the rest of the batch (identity against the issue
    # record; cross-return), worked out in the parent as soon as the file is read.
    issued: list[Finding] | None = None
    history: list[Finding] | None = None


def limits_from(config: Any | None) -> Limits:
    if config is None:
        return Limits()
    lim = config.limits
    return Limits(max_file_bytes=lim.max_file_mb * 2**20, max_inflated_bytes=lim.max_inflated_mb * 2**20,
                  max_cells=lim.max_cells, max_sheets=lim.max_sheets)


def read_one(path: Path, display: str, limits: Limits, params: dict[str, Any] | None = None) -> Checked:
    """Read one file; with ``params``, also run the checks that need only that file."""
    report = FileReport(file=display)
    try:
        wb = open_workbook(path, limits)
        data = read_workbook(wb)
    except UnreadableFile as err:
        report.status = "unreadable"
        report.findings.append(Finding(err.code, "error", err.reason))
        return Checked(report)
    except NotOurTemplate as err:
        report.findings.append(err.finding)
        return Checked(report.settle())
    report.identity = data.identity_json()
    report.findings.extend(data.findings)
    checked = Checked(report, data)
    if params is not None:
        check_alone(checked, params)
    return checked


def check_alone(c: Checked, params: dict[str, Any]) -> None:
    """The checks of one return that need neither the ledger nor the rest of the batch."""
    assert c.data is not None
    c.closed = closed_quarter_findings(c.data) + period_date_findings(c.data)
    c.values = calc.compute(c.data.spec, c.data.values)
    # Only the reader's findings can mark an input unread (E102, T-E006): the same set as
    # when this ran after the identity and field rules.
    c.rules = rule_findings(c.data.spec, c.values, params, unread=_unread(c), quarter=c.data.quarter)
    c.row = frame_row(c.data.spec, c.data.quarter, c.data.values)


@cache
def open_fields(spec: Spec, quarter: int | None) -> tuple[Field, ...]:
    """The inputs the field rules check for a period (later quarters stay locked)."""
    return tuple(f for f in spec.fields if f.is_open(quarter))


# One return's row of the frame the field rules check (schemas.frame): a value per open input,
# in the form its column wants. A plain tuple, so a worker can make it without pandas.
FrameRow = tuple[Any, ...]

# Beyond these a value cannot sit in the frame's column (int64; datetime64[ns] holds 1677 to
# 2262). It is out of every range the spec allows anyway: it is put in as the nearest value
# the column holds, still outside the range, and reported as typed.
_INT_LIMIT = 2**62
_FIRST_DAY, _LAST_DAY = date(1700, 1, 1), date(2199, 12, 31)


def frame_row(spec: Spec, quarter: int | None, values: dict[str, Any]) -> FrameRow:
    return tuple(_frame_value(f.type, values.get(f.name)) for f in open_fields(spec, quarter))


def _frame_value(ftype: str, v: Any) -> Any:
    if v is None:
        return None
    if ftype in ("money", "signed_money", "integer"):
        if abs(v) > _INT_LIMIT:  # so far out that it cannot even be rounded to pence
            return _INT_LIMIT if v > 0 else -_INT_LIMIT
        n = int(v) if ftype == "integer" else to_pence(v)
        return max(-_INT_LIMIT, min(_INT_LIMIT, n))
    if ftype in ("number", "percent"):
        return float(v)
    if ftype == "date":
        if not isinstance(v, date):
            return None
        return min(max(v.date() if isinstance(v, datetime) else v, _FIRST_DAY), _LAST_DAY)
    text = str(v)
    return text if text.strip() else None  # only spaces: blank


PARALLEL_FROM = 16  # starting two workers costs ~30 ms, reading one file ~10 ms
_CHUNK = 16  # files per task sent to a worker: ~0.15 s of work, small enough to balance the cores


def workers() -> int:
    return min(os.cpu_count() or 1, 8)


def pool_for(n_files: int) -> QuietPool | None:
    """One process per core for a large batch (parsing is CPU-bound); None for a small one.
    Its workers ignore Ctrl-C: the parent stops them (``stop()``)."""
    if n_files < PARALLEL_FROM or workers() < 2:
        return None
    from pbp_workbooks.base.pools import QuietPool  # with multiprocessing: only when it is used

    return QuietPool(workers(), initializer=_leave_with, initargs=(os.getpid(),))


def _leave_with(parent: int) -> None:
    """A worker whose parent was killed (SIGKILL: no chance to stop its pool) would wait for
    work forever; this one notices within a second and exits. A feedback workbook it was
    writing stays a hidden temporary, which a later ingest sweeps."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


def _load_specs() -> None:
    """Load every shipped spec and its rules (~0.1 s): the reader looks at all of them to
    recognise a file, and a forked worker that inherits them does not build its own."""
    for kind in spec_mod.available():
        rules.expand(spec_mod.load(kind))


def _read_chunk(jobs: list[tuple[Path, str, Limits, dict[str, Any]]]) -> list[Checked]:
    return [read_one(*job) for job in jobs]


class Reader:
    """Reads files as they are added: with a pool, workers start on the first files while
    the caller is still archiving the rest. ``results()`` gives them back in order."""

    def __init__(self, limits: Limits, params: dict[str, Any], pool: QuietPool | None) -> None:
        self.limits, self.params, self.pool = limits, params, pool
        self._pending: list[tuple[Path, str, Limits, dict[str, Any]]] = []
        self._parts: list[Future[list[Checked]] | list[Checked]] = []

    def add(self, path: Path, display: str) -> None:
        self._pending.append((path, display, self.limits, self.params))
        if self.pool is not None and len(self._pending) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            assert self.pool is not None
            if not self._parts:  # the workers start (fork) on the first chunk: let them inherit the specs
                _load_specs()
            self._parts.append(self.pool.submit(_read_chunk, self._pending))
            self._pending = []

    def results(self, each: Callable[[Checked], object] | None = None) -> list[Checked]:
        """All files read, in order; ``each`` is called on each one as soon as it is back."""
        if self.pool is None:
            self._parts.append(_read_chunk(self._pending))
        else:
            self._flush()
            if self._parts:  # pandas + pandera, imported while the workers read
                from pbp_workbooks.intake import schemas

                schemas.warm_up()
        self._pending = []
        out: list[Checked] = []
        for part in self._parts:
            for c in part.result() if isinstance(part, Future) else part:
                if each is not None:
                    each(c)
                out.append(c)
        self._parts = []
        return out


def read_many(paths: Sequence[tuple[Path, str]], limits: Limits, params: dict[str, Any] | None = None) -> list[Checked]:
    """Read files (and, with ``params``, run their own checks); a large batch in parallel."""
    if params is None:
        return [read_one(p, display, limits) for p, display in paths]
    pool = pool_for(len(paths))
    try:
        reader = Reader(limits, params, pool)
        for p, display in paths:
            reader.add(p, display)
        return reader.results()
    finally:
        if pool is not None:
            pool.stop()


def validate_paths(paths: Sequence[tuple[Path, str]], *, ledger: Ledger | None, params: dict[str, Any],
                   limits: Limits) -> list[Checked]:
    checked = read_many(paths, limits, params)
    validate_batch(checked, ledger=ledger, params=params)
    return checked


def check_with_ledger(c: Checked, ledger: Ledger | None) -> None:
    """The checks of one return that need the ledger but not the rest of the batch: its
    identity, then (unless that is in doubt) how it compares with earlier returns. Nothing
    in this batch is recorded before validate_batch, so running them as each file comes
    back sees the same ledger."""
    if c.data is None:
        return
    c.issued = identity_findings(c.data, ledger)
    c.history = []
    # only the reader and the identity check give T-E codes (field and cross-field rules
    # carry the spec's prefix), so this is the same test as after every other check
    if ledger is not None and c.report.identity and not any(f.code.startswith("T-E")
                                                            for f in (*c.report.findings, *c.issued)):
        from pbp_workbooks.ledger.history import cross_return_findings

        c.history = cross_return_findings(ledger, c.data.spec, c.report.identity, c.data.values)


def validate_batch(checked: Sequence[Checked], *, ledger: Ledger | None, params: dict[str, Any]) -> None:
    """Every check on a batch of files; each file's findings in one order: the reader's,
    identity, closed quarters, field rules (pandera, one frame per template and period),
    cross-field rules, cross-return."""
    readable = [c for c in checked if c.data is not None]
    for c in readable:
        if c.rules is None:  # read without its own checks: run them here
            check_alone(c, params)
        if c.issued is None:
            check_with_ledger(c, ledger)
    for c in readable:
        assert c.closed is not None and c.issued is not None
        c.report.findings.extend(c.issued)
        c.report.findings.extend(c.closed)
    # field rules: one pandera call per template and period
    groups: dict[tuple[Spec, int | None, str], list[Checked]] = defaultdict(list)
    for c in readable:
        assert c.data is not None
        groups[(c.data.spec, c.data.quarter, c.data.meta.get("financial_year", ""))].append(c)
    if groups:
        from pbp_workbooks.intake import schemas  # pandas + pandera: imported only when there is something to validate

        for (spec, quarter, year), members in groups.items():
            values = [m.data.values for m in members if m.data is not None]
            encoded = [m.row for m in members if m.row is not None]
            found_all = schemas.validate(spec, quarter, year, values, encoded if len(encoded) == len(values) else None)
            for member, found in zip(members, found_all, strict=True):
                # a cell the reader could not understand is reported once, by the reader
                assert member.data is not None
                skip = _unread(member)
                member.report.findings.extend(f for f in found if f.name not in skip)
    for c in readable:
        assert c.rules is not None and c.history is not None
        c.report.findings.extend(c.rules)
        c.report.findings.extend(c.history)
    for c in checked:
        c.report.settle()


def identity_findings(data: ReturnData, ledger: Ledger | None) -> list[Finding]:
    spec, meta = data.spec, data.meta
    out: list[Finding] = []
    issued = None
    if ledger is not None:
        issued = ledger.issued_by_token(meta.get("issue_token", ""))
        if issued is None:
            return [template_finding("T-E003", sheet="_meta", value=meta.get("issue_token"))]
        who = f"{issued.partnership} ({issued.host_school}, URN {issued.urn}) for {issued.year}" + (
            f" Q{issued.quarter}" if issued.quarter else "")
        newer = ledger.superseded_by(issued.token)
        if newer is not None:
            day = newer.issued_at[:10]
            return [template_finding("T-E008", sheet="_meta", value=meta.get("issue_token"), issued=who,
                                     detail=f"{day[8:10]}/{day[5:7]}/{day[:4]}")]
        for key, expected in (("partnership", issued.partnership), ("host_school", issued.host_school),
                              ("urn", issued.urn), ("financial_year", issued.year),
                              ("quarter", str(issued.quarter or "")), ("template_id", issued.template)):
            if meta.get(key, "") != expected:
                out.append(template_finding("T-E004", sheet="_meta", value=meta.get(key), issued=who,
                                            detail=f"Its hidden identity says {key.replace('_', ' ')} "
                                                   f"'{meta.get(key)}'."))
                return out
        prefill = json.loads(issued.prefill_json or "{}")
    else:
        who = f"{meta.get('partnership')} ({meta.get('host_school')})"
        prefill = {}
    expected_cells = {"partnership": meta.get("partnership"), "host_school": meta.get("host_school"),
                      "urn": meta.get("urn"), "provision": meta.get("provision"),
                      "financial_year": meta.get("financial_year")}
    for f in spec.fields:
        if not f.locked:
            continue
        want = prefill.get(f.name, expected_cells.get(f.name))
        if want is None:
            continue
        got = data.values.get(f.name)
        if not _same(f.type, got, want):
            shown = format_gbp(got) if f.type in ("money", "signed_money") and got is not None else got
            detail = f"{f.label} was cleared." if got is None else f"{f.label} was changed to '{shown}'."
            out.append(template_finding("T-E004", sheet=f.sheet, cell=f.cell, name=f.name, value=got, issued=who,
                                        detail=detail))
    return out


def _same(ftype: str, got: Any, want: Any) -> bool:
    """Equal as values of the field's type (412500 and "412500.00" are the same money)."""
    if ftype in ("money", "signed_money", "integer", "number", "percent"):
        try:
            return got is not None and Decimal(str(got)) == Decimal(str(want))
        except ArithmeticError:
            return False
    return str(got if got is not None else "") == str(want)


def closed_quarter_findings(data: ReturnData) -> list[Finding]:
    spec, quarter = data.spec, data.quarter
    out = []
    for f in spec.fields:
        if f.quarter is not None and quarter is not None and f.quarter > quarter and data.values.get(f.name) is not None:
            out.append(field_finding(spec, "E104", f, data.values[f.name], data.meta.get("financial_year", ""), quarter))
    return out


def period_date_findings(data: ReturnData) -> list[Finding]:
    """The return's own dates (prepared, signed off, approved: window ``period``) against its
    period and the day of validation: more than a week ahead is an error (E113), before the
    period ends a warning (W112). A date outside the field's window is E107 (the field rules)."""
    spec, quarter, year = data.spec, data.quarter, data.meta.get("financial_year", "")
    fy = FinancialYear.parse(year)
    start, end = fy.period(quarter)
    last = fy.window("period", quarter)[1]
    latest = today() + timedelta(days=FUTURE_DAYS)
    out = []
    for f in spec.fields:
        v = data.values.get(f.name)
        if f.window != "period" or not f.is_open(quarter) or not isinstance(v, date) or not start <= v <= last:
            continue  # outside the window altogether: E107 says so
        if v > latest:
            out.append(field_finding(spec, "E113", f, v, year, quarter))
        elif v < end:
            out.append(field_finding(spec, "W112", f, v, year, quarter))
    return out


def _unread(c: Checked) -> set[str]:
    """Inputs whose value could not be read (text that is not a number, a deleted name):
    already reported once; no other rule should judge them as blank or zero."""
    assert c.data is not None
    return {f.name for f in c.report.findings
            if f.name and (f.code.endswith(("E102", "E110")) or f.code == "T-E006")}


def depends_on(spec: Spec, names: set[str]) -> set[str]:
    """``names`` plus every formula field computed from any of them."""
    out = set(names)
    for f in spec.formula_order:
        assert f.formula is not None
        if f.formula.names & out:
            out.add(f.name)
    return out


def _blank_culprits(rule: rules.Rule, values: dict[str, Any]) -> list[str]:
    """The rule's cells that caused it by being blank (an item's missing signature date, not its
    partnership signatory, which is filled), in the rule's order; none when it is about figures."""
    tested = expr.blank_tested(rule.when)
    return [n for n in rule.cells if n in tested and _is_blank(values.get(n))]


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def rule_findings(spec: Spec, values: dict[str, Any], params: dict[str, Any],
                  unread: set[str] | frozenset[str] = frozenset(), quarter: int | None = None) -> list[Finding]:
    out: list[Finding] = []
    tainted = depends_on(spec, set(unread)) if unread else set()
    for rule in rules.expand(spec):
        if not rule.applies(quarter):
            continue
        if tainted and (rule.when.names & tainted or set(rule.cells) & tainted):
            continue  # judged on a figure nobody entered: the unreadable cell is reported instead
        check = calc.Check(rule.code, rule.when, rule.cells, rule.code)
        if not calc.failing(check, values, params):
            continue
        message = rules.render(rule.message, rule, lambda n: calc.format_value(spec[n], values.get(n)), params)
        culprits = _blank_culprits(rule, values)
        if culprits and len(expr.blank_tested(rule.when) & set(rule.cells)) > 1:  # say which of its cells
            message += " Blank: " + "; ".join(f"{spec[n].label} ({spec[n].cell})" for n in culprits) + "."
        first = spec[culprits[0] if culprits else rule.cells[0]]
        value = values.get(first.name)
        out.append(Finding(rule.code, rule.severity, message, first.sheet, first.cell, first.name,
                           None if value is None else str(value), tuple(culprits[1:])))
    out.extend(_large_item_vs_category(spec, values, tainted))
    return out


def _large_item_vs_category(spec: Spec, values: dict[str, Any], tainted: set[str]) -> list[Finding]:
    spending, register = spec.grid("spending"), spec.grid("large_items")
    if spending is None or register is None:
        return []
    by_label = {label: key for key, label in spending.rows}
    declared = registry.rule("Q-W220")
    severity, template = declared.severity, declared.message
    out = []
    for key, label in register.rows:
        amount_name = register.cell(key, "amount")
        amount, category = values.get(amount_name), values.get(register.cell(key, "category"))
        row = by_label.get(category) if isinstance(category, str) else None
        if amount is None or row is None or isinstance(amount, str):
            continue
        actual_name = spending.cell(row, "to_date")
        if {amount_name, actual_name} & tainted:
            continue
        actual = values.get(actual_name)
        if isinstance(actual, calc.CalcError) or actual is None or amount <= actual:
            continue
        f = spec[amount_name]
        out.append(Finding("Q-W220", severity, template.format(row=label, amount=format_gbp(amount), category=category,
                                                               actual=format_gbp(actual)), f.sheet, f.cell, f.name,
                           str(amount)))
    return out
