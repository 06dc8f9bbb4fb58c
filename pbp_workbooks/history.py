"""What the LA already accepted: earlier official returns, used to pre-fill new workbooks
and for the cross-return rules (brought-forward balance, restated prior quarters)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from . import calc
from .findings import Finding
from .ledger import Ledger, official
from .money import format_gbp
from .periods import FinancialYear
from .spec import Spec

# code -> (severity, title, message template)
CROSS_RETURN_RULES: dict[str, tuple[str, str, str]] = {
    "Q-E301": ("error", "Balance brought forward differs from last year's closing balance",
               "The balance brought forward ({value}) is not last year's closing balance in the Q4 return the LA "
               "accepted ({expected}; difference {difference}). Enter {expected}, or ask the LA if last year's "
               "return was wrong."),
    "Q-E302": ("error", "Earlier quarter changed without an explanation",
               "{label} is now {value}, but the return the LA accepted said {expected} (difference {difference}). "
               "If this corrects an error, explain it in the Commentary for {row}; otherwise put back {expected}."),
    "Q-W303": ("warning", "Earlier quarter restated",
               "{label} was restated from {expected} to {value} (difference {difference}); the commentary explains "
               "it."),
}


def typed_values(spec: Spec, values_json: str | None) -> dict[str, Any]:
    """A received return's stored inputs, with their spec types back."""
    raw = json.loads(values_json or "{}")
    out: dict[str, Any] = {}
    for name, v in raw.items():
        if name not in spec.by_name or v is None:
            out[name] = v
            continue
        t = spec[name].type
        if t in ("money", "signed_money", "percent"):
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
    balance brought forward from last year's accepted Q4 closing balance."""
    if spec.kind != "quarterly" or quarter is None:
        return {}
    out: dict[str, Any] = {}
    exp = next(s for s in spec.sections if s.key == "exp")
    latest: dict[str, Any] | None = None
    for q in range(quarter - 1, 0, -1):
        vals = official_values(ledger, spec, str(fy), q, partnership)
        if vals is None:
            continue
        if latest is None:
            latest = vals
            for row in exp.row_keys:
                out[f"exp_{row}_budget"] = vals.get(f"exp_{row}_budget")
        for row in exp.row_keys:
            for j in range(1, q + 1):
                name = f"exp_{row}_q{j}"
                if name not in out and vals.get(name) is not None:
                    out[name] = vals[name]
    last_q4 = official_values(ledger, spec, str(fy.previous()), 4, partnership)
    if last_q4 is not None:
        closing = calc.compute(spec, last_q4)["forecast_balance"]
        if isinstance(closing, Decimal):
            out["balance_bf"] = closing
    return {k: v for k, v in out.items() if v is not None}


def cross_return_findings(ledger: Ledger, spec: Spec, identity: dict[str, Any], values: dict[str, Any]) -> list[Finding]:
    if spec.kind != "quarterly" or not identity.get("quarter") or not identity.get("partnership"):
        return []
    fy = FinancialYear.parse(identity["year"])
    quarter = int(identity["quarter"])
    expected = expected_prior(ledger, spec, fy, quarter, identity["partnership"])
    out: list[Finding] = []
    bf = expected.get("balance_bf")
    got_bf = values.get("balance_bf")
    if bf is not None and isinstance(got_bf, Decimal) and got_bf != bf:
        f = spec["balance_bf"]
        sev, _t, msg = CROSS_RETURN_RULES["Q-E301"]
        out.append(Finding("Q-E301", sev, msg.format(value=format_gbp(got_bf), expected=format_gbp(bf),
                                                     difference=format_gbp(got_bf - bf)),
                           f.sheet, f.cell, f.name, str(got_bf)))
    exp = next(s for s in spec.sections if s.key == "exp")
    for row, label in zip(exp.row_keys, exp.row_labels, strict=True):
        commentary = values.get(f"exp_{row}_commentary")
        for j in range(1, quarter):
            name = f"exp_{row}_q{j}"
            want, got = expected.get(name), values.get(name)
            if want is None or not isinstance(got, Decimal | type(None)) or (got or Decimal(0)) == want:
                continue
            code = "Q-W303" if isinstance(commentary, str) and commentary.strip() else "Q-E302"
            sev, _t, msg = CROSS_RETURN_RULES[code]
            f = spec[name]
            shown = format_gbp(got) if got is not None else "blank"
            out.append(Finding(code, sev, msg.format(label=f.label, value=shown, expected=format_gbp(want),
                                                     difference=format_gbp((got or Decimal(0)) - want), row=label),
                               f.sheet, f.cell, f.name, None if got is None else str(got)))
    return out
