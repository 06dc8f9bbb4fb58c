"""What the LA already accepted: earlier official returns, used to pre-fill new workbooks
and for the cross-return rules (brought-forward balance, restated prior quarters; for the
annual report, its budget summary against the accepted Q4 return and its placements
outside key stage against the year's quarterly returns)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from pbp_workbooks.base.money import format_gbp
from pbp_workbooks.base.periods import FinancialYear
from pbp_workbooks.ledger.store import Ledger, official
from pbp_workbooks.spec import calc, registry
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.findings import Finding
from pbp_workbooks.spec.model import Spec

# A field whose source is ``ledger.q4.<name>`` starts from <name> (an input or a formula)
# of the Q4 quarterly return the LA accepted for the same year and partnership.
Q4_SOURCE = "ledger.q4."

def _declared(code: str) -> tuple[str, str]:
    """A cross-return rule's severity and message, as validators/<kind>.toml declares it."""
    declared = registry.rule(code)
    return declared.severity, declared.message


def typed_values(spec: Spec, values_json: str | None) -> dict[str, Any]:
    """A received return's stored inputs, with their spec types back."""
    raw = json.loads(values_json or "{}")
    out: dict[str, Any] = {}
    for name, v in raw.items():
        if name not in spec.by_name or v is None:
            out[name] = v
            continue
        t = spec[name].type
        if t in ("money", "signed_money", "number", "percent"):
            out[name] = Decimal(str(v))
        elif t == "integer":
            out[name] = int(v)
        elif t == "date" and isinstance(v, str):
            out[name] = date.fromisoformat(v[:10])
        else:
            out[name] = v
    return out


def official_values(ledger: Ledger, spec: Spec, year: str, quarter: int | None, partnership: str) -> dict[str, Any] | None:
    rec = official(ledger, spec.kind, year, quarter, partnership)
    return None if rec is None else typed_values(spec, rec.values_json)


def expected_prior(ledger: Ledger, spec: Spec, fy: FinancialYear, quarter: int | None,
                   partnership: str) -> dict[str, Any]:
    """Values a new return for ``quarter`` should start from: each earlier quarter's actuals
    and the budgets from the most recent accepted return that covers them, and the
    balance brought forward from last year's accepted Q4 closing balance. A return without
    quarters (the annual report) starts from the accepted Q4 return: ``annual_prefill``."""
    if quarter is None:
        return annual_prefill(ledger, spec, fy, partnership)
    if spec.kind != "quarterly":
        return {}
    out: dict[str, Any] = {}
    spending = spec.grid("spending")
    latest: dict[str, Any] | None = None
    for q in range(quarter - 1, 0, -1):
        vals = official_values(ledger, spec, str(fy), q, partnership) if spending is not None else None
        if spending is None or vals is None:
            continue
        if latest is None:
            latest = vals
            for row, _label in spending.rows:
                out[spending.cell(row, "budget")] = vals.get(spending.cell(row, "budget"))
        for row, _label in spending.rows:
            for name in spending.cells(row, "actuals")[:q]:
                if name not in out and vals.get(name) is not None:
                    out[name] = vals[name]
    if latest is not None:
        out.update(carried_rows(spec, latest))
    closing = closing_balance(ledger, fy.previous(), partnership)
    brought_forward = spec.role("brought_forward")
    if closing is not None and brought_forward is not None:
        out[brought_forward] = closing[0]
    return {k: v for k, v in out.items() if v is not None}


def carried_rows(spec: Spec, accepted: dict[str, Any]) -> dict[str, Any]:
    """The rows of each ``carried`` grid (the year's items register) of the latest earlier
    return the LA accepted, which holds the year's register to date: every row with
    something in it, in order, from row 1 (gaps closed). They come pre-filled and locked in
    the next return; rows beyond the grid's length are left out (it is long enough for a
    busy year: the spec's ``rows``)."""
    out: dict[str, Any] = {}
    for section in spec.sections:
        if section.kind != "grid" or not carried_names(spec, section.key):
            continue
        filled = [rk for rk in section.row_keys
                  if any(not _blank(accepted.get(f"{section.key}_{rk}_{ck}")) for ck in section.col_keys)]
        for src, dst in zip(filled, section.row_keys, strict=False):
            for ck in section.col_keys:
                v = accepted.get(f"{section.key}_{src}_{ck}")
                if not _blank(v):
                    out[f"{section.key}_{dst}_{ck}"] = v
    return out


def carried_names(spec: Spec, section: str | None = None) -> frozenset[str]:
    """The cells that are locked when pre-filled from an earlier accepted return."""
    return frozenset(f.name for f in spec.fields if f.source == spec_mod.CARRIED
                     and (section is None or f.section == section))


def locked_carried(spec: Spec, prefill: dict[str, Any]) -> frozenset[str]:
    """Of a workbook's pre-filled values, the carried-over cells: written locked (grey)."""
    return frozenset(n for n in carried_names(spec) if not _blank(prefill.get(n)))


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def closing_balance(ledger: Ledger, fy: FinancialYear, partnership: str) -> tuple[Decimal, str] | None:
    """A year's closing balance and where it comes from: the accepted annual report's
    year-end balance (where the year-end figure is corrected), else the accepted Q4
    return's forecast balance (toolkit section 4: accurate carry-forward records)."""
    annual = spec_mod.load("annual")
    report = official_values(ledger, annual, str(fy), None, partnership)
    closing = annual.role("closing_balance")
    if report is not None and closing is not None:
        value = calc.compute(annual, report)[closing]
        if isinstance(value, Decimal):
            return value, f"the {fy} annual report the LA accepted"
    quarterly = spec_mod.load("quarterly")
    q4 = official_values(ledger, quarterly, str(fy), 4, partnership)
    forecast = quarterly.role("year_end_forecast")
    if q4 is not None and forecast is not None:
        value = calc.compute(quarterly, q4)[forecast]
        if isinstance(value, Decimal):
            return value, f"the {fy} Q4 return the LA accepted"
    return None


def cross_return_findings(ledger: Ledger, spec: Spec, identity: dict[str, Any], values: dict[str, Any]) -> list[Finding]:
    if spec.kind != "quarterly" and identity.get("quarter") is None and identity.get("partnership") \
            and identity.get("year"):
        return annual_findings(ledger, spec, identity, values)
    if spec.kind != "quarterly" or not identity.get("quarter") or not identity.get("partnership"):
        return []
    fy = FinancialYear.parse(identity["year"])
    quarter = int(identity["quarter"])
    expected = expected_prior(ledger, spec, fy, quarter, identity["partnership"])
    out: list[Finding] = []
    closing = closing_balance(ledger, fy.previous(), identity["partnership"])
    brought_forward = spec.role("brought_forward")
    got_bf = values.get(brought_forward) if brought_forward else None
    if closing is not None and brought_forward and isinstance(got_bf, Decimal) and got_bf != closing[0]:
        bf, source = closing
        f = spec[brought_forward]
        sev, msg = _declared("Q-E301")
        out.append(Finding("Q-E301", sev, msg.format(value=format_gbp(got_bf), expected=format_gbp(bf),
                                                     difference=format_gbp(got_bf - bf), source=source),
                           f.sheet, f.cell, f.name, str(got_bf)))
    spending = spec.grid("spending")
    for row, label in spending.rows if spending is not None else ():
        assert spending is not None
        commentary = values.get(spending.cell(row, "commentary"))
        for name in spending.cells(row, "actuals")[:quarter - 1]:
            want, got = expected.get(name), values.get(name)
            if want is None or not isinstance(got, Decimal | type(None)) or (got or Decimal(0)) == want:
                continue
            code = "Q-W303" if isinstance(commentary, str) and commentary.strip() else "Q-E302"
            sev, msg = _declared(code)
            f = spec[name]
            shown = format_gbp(got) if got is not None else "blank"
            out.append(Finding(code, sev, msg.format(label=f.label, value=shown, expected=format_gbp(want),
                                                     difference=format_gbp((got or Decimal(0)) - want), row=label),
                               f.sheet, f.cell, f.name, None if got is None else str(got)))
    out.extend(carried_changed(ledger, spec, identity, values))
    return out


def carried_changed(ledger: Ledger, spec: Spec, identity: dict[str, Any], values: dict[str, Any]) -> list[Finding]:
    """Q-E304: a carried-over row (the year's items register) changed from what the workbook
    was issued with. Each changed cell is reported, at its cell."""
    issued = ledger.issued_by_token(str(identity.get("token") or ""))
    if issued is None:
        return []
    prefill = typed_values(spec, issued.prefill_json)
    sev, msg = _declared("Q-E304")
    out = []
    for name in sorted(locked_carried(spec, prefill), key=lambda n: (spec[n].row, spec[n].col)):
        f, want, got = spec[name], prefill[name], values.get(name)
        if _same_value(want, got):
            continue
        row = f.label[: -len(f.column_label) - 2] if f.column_label else f.label
        out.append(Finding("Q-E304", sev, msg.format(row=row, column=f.column_label or f.label,
                                                     expected=calc.format_value(f, want),
                                                     value=calc.format_value(f, got)),
                           f.sheet, f.cell, f.name, None if got is None else str(got)))
    return out


def _same_value(want: Any, got: Any) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return want.strip() == got.strip()
    return bool(want == got)


# --------------------------------------------------------------------------- annual report


def annual_prefill(ledger: Ledger, spec: Spec, fy: FinancialYear, partnership: str) -> dict[str, Any]:
    """The annual report's budget summary from the Q4 quarterly return the LA accepted for
    the same year: every field with a ``ledger.q4.<name>`` source gets <name>'s value there
    (inputs as accepted, formulas such as a category's actual to date recomputed).

    The cells stay editable inputs, not locked: the annual report is often issued before
    the Q4 return arrives (then there is nothing to pre-fill and the partnership types the
    figures), year-end closedown can still move a figure, and a later corrected Q4 return
    may supersede the one used here. A difference is reported as a warning (A-W302) for the
    LA to look at, never silently overwritten and never a reason to reject the report."""
    sourced = {f.name: f.source[len(Q4_SOURCE):] for f in spec.fields
               if f.source and f.source.startswith(Q4_SOURCE) and f.formula is None}
    if not sourced or "quarterly" not in spec_mod.available():
        return {}
    quarterly = spec_mod.load("quarterly")
    q4 = official_values(ledger, quarterly, str(fy), 4, partnership)
    if q4 is None:
        return {}
    accepted = calc.compute(quarterly, q4)
    out: dict[str, Any] = {}
    for name, source in sourced.items():
        v = accepted.get(source)
        if v is None or isinstance(v, calc.CalcError) or (isinstance(v, str) and not v.strip()):
            continue
        out[name] = v
    return out


def annual_findings(ledger: Ledger, spec: Spec, identity: dict[str, Any], values: dict[str, Any]) -> list[Finding]:
    """A-W301 (placements outside key stage against the year's quarterly returns) and
    A-W302 (budget summary against the accepted Q4 return)."""
    fy = FinancialYear.parse(identity["year"])
    partnership = identity["partnership"]
    out: list[Finding] = []
    mine = spec.role("out_of_key_stage")
    got = values.get(mine) if mine else None
    quarterly = spec_mod.load("quarterly") if "quarterly" in spec_mod.available() else None
    theirs = quarterly.role("out_of_key_stage") if quarterly else None
    if mine and theirs and quarterly and isinstance(got, int):
        counted: list[int] = []
        total = 0
        for q in (1, 2, 3, 4):
            vals = official_values(ledger, quarterly, str(fy), q, partnership)
            if vals is None:
                continue
            counted.append(q)
            n = vals.get(theirs)
            total += n if isinstance(n, int) else 0
        # with a quarter still missing the report can only have more than the sum so far
        if counted and (got != total if len(counted) == 4 else got < total):
            f = spec[mine]
            sev, msg = _declared("A-W301")
            missing = [f"Q{q}" for q in (1, 2, 3, 4) if q not in counted]
            quarters = _join([f"Q{q}" for q in counted]) + (
                f" ({_join(missing)} {'is' if len(missing) == 1 else 'are'} not in yet)" if missing else "")
            out.append(Finding("A-W301", sev, msg.format(value=got, expected=total, quarters=quarters),
                               f.sheet, f.cell, f.name, got))
    expected = annual_prefill(ledger, spec, fy, partnership)
    for name, want in expected.items():
        f = spec[name]
        if f.type not in ("money", "signed_money") or not isinstance(want, Decimal):
            continue
        have = values.get(name)
        if have is None and f.required:
            continue  # reported as blank (A-E101)
        if not isinstance(have, Decimal | type(None)) or (have or Decimal(0)) == want:
            continue
        sev, msg = _declared("A-W302")
        shown = format_gbp(have) if have is not None else "blank"
        out.append(Finding("A-W302", sev, msg.format(label=f.label, value=shown, expected=format_gbp(want),
                                                     difference=format_gbp((have or Decimal(0)) - want)),
                           f.sheet, f.cell, f.name, None if have is None else str(have)))
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
