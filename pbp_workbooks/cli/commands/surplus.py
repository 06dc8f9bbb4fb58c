from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    m = sub.add_parser("model", help="print the allocations a partnership's surplus decision would give, before issuing it",
                       description="The allocation to each member school that the surplus decision workbook would "
                                   "give for these weights, to the penny.")
    m.add_argument("--year", required=True, help="financial year, e.g. 2025-26")
    m.add_argument("--partnership", required=True, help="the partnership, as on the roster")
    m.add_argument("--weights", required=True,
                   help="whole percentages adding up to 100, e.g. roll=40,fsm=30,send=30 (factors: roll, fsm, pp, "
                        "send, deprivation, equal)")
    m.add_argument("--amount", help="the amount to share, in pounds (default: the year-end balance of the "
                                    "partnership's accepted annual report, else its accepted Q4 return)")
    m.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    import json
    from decimal import Decimal

    from pbp_workbooks.base import roster as roster_mod
    from pbp_workbooks.base.errors import UsageError
    from pbp_workbooks.base.money import format_gbp, parse_text_number, round_pence
    from pbp_workbooks.base.periods import FinancialYear
    from pbp_workbooks.base.workspace import find
    from pbp_workbooks.ledger.history import closing_balance
    from pbp_workbooks.ledger.store import Ledger
    from pbp_workbooks.workbook import surplus

    fy = FinancialYear.parse(args.year)
    ws = find()
    roster = roster_mod.load(ws.roster_path)
    prov = roster.provision(args.partnership)
    if prov is None:
        raise UsageError(f"there is no partnership called {args.partnership!r} on the roster; choose one of "
                         f"{', '.join(p.partnership for p in roster.provisions)}")
    weights = surplus.parse_weights(args.weights, surplus.spec())
    if args.amount is not None:
        parsed = parse_text_number(args.amount)
        if parsed.value is None or not parsed.certain or parsed.value <= 0:
            raise UsageError(f"--amount {args.amount!r} is not an amount of money above 0")
        amount, source = round_pence(parsed.value), "--amount"
    else:
        with Ledger(ws.ledger_path) as ledger:
            closing = closing_balance(ledger, fy, prov.partnership)
        if closing is None or closing[0] <= 0:
            why = "has no accepted annual report or Q4 return" if closing is None else \
                f"ended the year with {format_gbp(closing[0])}"
            raise UsageError(f"{prov.partnership} {why} for {fy}: give the amount to share with --amount")
        amount, source = closing
    rows = surplus.model(roster, prov.partnership, amount, weights)
    if args.json:
        print(json.dumps({"year": str(fy), "partnership": prov.partnership, "amount": f"{amount:.2f}",
                          "amount_from": source, "weights": {k: str(v) for k, v in weights.items()},
                          "schools": [r.to_json() for r in rows],
                          "total": f"{sum((r.amount for r in rows), Decimal(0)):.2f}"}, indent=2))
        return 0
    shown = ", ".join(f"{k} {v * 100:.0f}%" for k, v in weights.items() if v)
    print(f"{prov.partnership} {fy}: sharing {format_gbp(amount)} ({source}) by {shown}")
    for line in surplus.table(rows, amount):
        print(line)
    return 0
